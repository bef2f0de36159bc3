/* SPDX-License-Identifier: MIT */
/*
 * One connection's StatSN sequence at ERL >= 1 (RFC 7143 sections 4.2.2.2,
 * 7.9 and 11.16): which statuses arrived, which are missing (a header
 * digest error, or a response discarded for a data digest error) and the
 * Status SNACKs that ask for them, and the ExpStatSN to send.
 *
 * ExpStatSN acknowledges every status below it, after which the target may
 * forget them; it therefore advances only over statuses that arrived and
 * are not held. A status is held while its task still misses Data-In (its
 * status was in a Data-In whose data was lost, or a SCSI Response whose
 * ExpDataSN shows a gap): the target must keep the data until the Data
 * SNACK is answered. Up to ERL_STAT_WINDOW statuses from ExpStatSN on are
 * tracked; one further out means the connection cannot recover in place
 * (the caller drops it: connection or session recovery). Recording a
 * status in order costs a few instructions (ring bitmaps, no shifting).
 *
 * Which PDUs carry a StatSN: SCSI Response, Data-In with the S bit, NOP-In
 * answering our ping, Task Management, Logout and Text Responses, Reject
 * and Async (erl_stat_rx()). R2T and a NOP-In with ITT 0xffffffff carry
 * the next StatSN without consuming it (erl_stat_next()). The StatSN
 * field of a Data-In without the S bit is reserved and must be ignored
 * (LIO copies the status's StatSN into resent ones).
 *
 * Pure: no I/O, no clocks (times are passed in), no allocation.
 */
#ifndef MCSI_MCS_ERL_STAT_H
#define MCSI_MCS_ERL_STAT_H

#include <stdbool.h>
#include <stdint.h>

#include "mcs/erl_din.h"                 /* struct erl_run */

/* StatSNs tracked from ExpStatSN on: more than a connection's commands
 * in flight (a queue's depth plus its control tasks), so that statuses
 * arriving while one is held or missing never overflow it. */
#define ERL_STAT_WINDOW 1024u

struct erl_stat {
	uint32_t ack;                    /* ExpStatSN */
	uint32_t high;                   /* one past the highest StatSN known
					  * to exist */
	/* Ring bitmaps indexed by StatSN % ERL_STAT_WINDOW, meaningful for
	 * [ack, ack + window): arrived, and arrived but held. */
	uint64_t rcvd[ERL_STAT_WINDOW / 64];
	uint64_t held[ERL_STAT_WINDOW / 64];
	uint32_t req_upto;               /* missing below were asked for */
	uint64_t req_ns;                 /* when (0: never) */
};

enum erl_stat_verdict {
	ERL_STAT_NEW = 0,   /* recorded: process the PDU */
	ERL_STAT_DUP,       /* arrived before (a retransmission): its status
			     * part is ignored */
	ERL_STAT_FAR,       /* too far ahead: the connection must go */
};

/* expstatsn: the ExpStatSN after login (the Login Response's StatSN + 1). */
void erl_stat_init(struct erl_stat *s, uint32_t expstatsn);

/* A status-carrying PDU with StatSN sn arrived (header and data good).
 * hold: its task still misses Data-In: record it but do not acknowledge
 * it (nor anything after it) until erl_stat_release(). */
enum erl_stat_verdict erl_stat_rx(struct erl_stat *s, uint32_t sn, bool hold);

/* A PDU says sn is the next StatSN (R2T, NOP-In with ITT 0xffffffff):
 * every StatSN below it exists. */
void erl_stat_next(struct erl_stat *s, uint32_t sn);

/* A status-carrying PDU with StatSN sn was discarded (data digest error
 * in a response): it exists and is missing. */
void erl_stat_lost(struct erl_stat *s, uint32_t sn);

/* The held status sn may be acknowledged now (its data is complete, or
 * its task was given up). Returns 0, or -EINVAL when sn is not held. */
int erl_stat_release(struct erl_stat *s, uint32_t sn);

/* The ExpStatSN to put in the next PDU. */
static inline uint32_t erl_stat_expstatsn(const struct erl_stat *s)
{
	return s->ack;
}

/* Runs of missing StatSNs below the highest known; changes nothing. */
unsigned erl_stat_gaps(const struct erl_stat *s, struct erl_run *out, unsigned max);

/* The Status SNACK runs to send now: gaps not asked for yet, or all again
 * once retry_ns passed since the last request. Returns how many (<= max). */
unsigned erl_stat_snack(struct erl_stat *s, uint64_t now, uint64_t retry_ns,
			struct erl_run *out, unsigned max);

#endif
