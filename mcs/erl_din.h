/* SPDX-License-Identifier: MIT */
/*
 * One task's input PDU sequence at ERL >= 1: which Data-In (DataSN) or R2T
 * (R2TSN) numbers arrived, which are missing, and the Data/R2T SNACKs that
 * ask for them again (RFC 7143 sections 7.8, 7.9 and 11.16). R2T and
 * Data-In share one numbering per command (section 11.7), so one tracker
 * serves reads, writes and bidirectional commands.
 *
 * Numbers are judged at header time (erl_din_check(): place the data, or
 * discard it), and recorded once the whole PDU arrived with a good data
 * digest (erl_din_commit()); a PDU whose data digest failed is reported
 * with erl_din_lost() and asked for again. Up to ERL_DIN_WINDOW numbers
 * beyond the first missing one are remembered; PDUs further out are
 * discarded and asked for again later. The target's count of input PDUs
 * (the S bit's DataSN + 1, or a SCSI Response's ExpDataSN) tells whether
 * the tail is complete; a count of 0 is treated as "not said" because
 * LIO sends 0 in resent statuses and for writes.
 *
 * The A bit (DataACK, section 11.16) is answered only when nothing is
 * missing, as the RFC requires; an R-Data SNACK or a TASK REASSIGN makes
 * the target resend from a known point, and the tracker restarts there.
 *
 * Pure: no I/O, no clocks (times are passed in), no allocation. Serial
 * arithmetic throughout (proto/serial.h).
 */
#ifndef MCSI_MCS_ERL_DIN_H
#define MCSI_MCS_ERL_DIN_H

#include <stdbool.h>
#include <stdint.h>

#define ERL_DIN_WINDOW   32u          /* numbers remembered past a gap */
#define ERL_BYTES_UNKNOWN UINT32_MAX

/* A SNACK run: BegRun and RunLength (0: every number from BegRun on). */
struct erl_run {
	uint32_t begrun, runlength;
};

struct erl_din {
	uint32_t exp;                    /* every number below arrived */
	uint32_t bytes;                  /* payload bytes of [0, exp) */
	uint32_t ahead;                  /* bit i: exp + 1 + i arrived */
	uint32_t ahead_len[ERL_DIN_WINDOW];
	uint32_t high;                   /* one past the highest number known
					  * to exist */
	uint32_t total;                  /* the target's count, if known */
	uint32_t req_upto;               /* missing numbers below were asked */
	uint64_t req_ns;                 /* when (0: never) */
	uint32_t acked, acked_bytes;     /* last DataACK BegRun, bytes below */
	uint32_t ack_sn, ack_ttt;        /* pending A bit */
	bool total_known, ack_pending, tail_asked;
};

enum erl_din_verdict {
	ERL_DIN_NEXT = 0,   /* the next in order: place the data */
	ERL_DIN_AHEAD,      /* beyond a gap, within the window: place it */
	ERL_DIN_DUP,        /* arrived before (a retransmission): discard */
	ERL_DIN_FAR,        /* too far beyond a gap: discard, asked later */
};

void erl_din_init(struct erl_din *d);

/* How to treat input PDU number sn. Changes nothing. */
enum erl_din_verdict erl_din_check(const struct erl_din *d, uint32_t sn);

/* PDU sn arrived whole with len payload bytes. Returns 0, -EALREADY for a
 * duplicate or -ERANGE beyond the window (nothing recorded). */
int erl_din_commit(struct erl_din *d, uint32_t sn, uint32_t len);

/* PDU sn arrived but was discarded (data digest error): it exists and is
 * missing. A duplicate or a number beyond the window changes nothing. */
void erl_din_lost(struct erl_din *d, uint32_t sn);

/* The target's count of input PDUs for the command (DataSN + 1 of the
 * Data-In with status, ExpDataSN of a SCSI Response); 0 means "not said"
 * and is ignored. Returns 0, or -EPROTO when count is below a number that
 * arrived or a count given before. */
int erl_din_status(struct erl_din *d, uint32_t count);

/* Payload bytes that arrived, each PDU counted once. */
uint32_t erl_din_bytes(const struct erl_din *d);

/* Every input PDU is in: the count is known and reached, or (count not
 * said) nothing known is missing and, when want_bytes is not
 * ERL_BYTES_UNKNOWN, at least want_bytes arrived. */
bool erl_din_complete(const struct erl_din *d, uint32_t want_bytes);

/* The runs of missing numbers below the count (or the highest number
 * known), into out[0..max). Returns how many. Changes nothing. */
unsigned erl_din_gaps(const struct erl_din *d, struct erl_run *out, unsigned max);

/* The Data/R2T SNACK runs to send now: gaps not asked for yet, or all of
 * them again once retry_ns passed since the last request (now and
 * retry_ns in ns). With the count not said, nothing known missing and
 * fewer than want_bytes in, the tail is asked for as {high, 0}. Marks
 * what it returns as asked. Returns how many runs (<= max). */
unsigned erl_din_snack(struct erl_din *d, uint64_t now, uint64_t retry_ns,
		       uint32_t want_bytes, struct erl_run *out, unsigned max);

/* Data-In sn came with the A bit and Target Transfer Tag ttt. */
void erl_din_ack_asked(struct erl_din *d, uint32_t sn, uint32_t ttt);

/* A DataACK SNACK is due (an A bit is pending and nothing is missing up
 * to the highest number known): returns true once with its BegRun (the
 * next expected DataSN) and TTT, and remembers the point for R-Data. */
bool erl_din_ack_due(struct erl_din *d, uint32_t *begrun, uint32_t *ttt);

/* TASK REASSIGN is about to go: returns its ExpDataSN (for a write, the
 * next R2TSN; for a read, the next DataSN expected) and forgets what
 * arrived beyond the first gap, the count and the pending requests: the
 * target resends from there (RFC 7143 section 11.5.1). For a read with
 * nothing known missing, the last Data-In is asked for again (exp - 1,
 * never below the last DataACK): LIO cannot resend the status alone
 * ("read_data_left is zero") and drops the connection; the duplicate is
 * discarded here. */
uint32_t erl_din_reassign(struct erl_din *d, bool read);

/* An R-Data SNACK went: the target resends everything after the last
 * DataACK, possibly cut differently. Restarts there. */
void erl_din_rdata(struct erl_din *d);

#endif
