/* SPDX-License-Identifier: MIT */
/*
 * ERL 1 on a connection's data path (docs/design/recovery.md sections 5
 * and 7): recovery within the connection, over the pure trackers of
 * mcs/erl_din.h (per task: DataSN / R2TSN) and mcs/erl_stat.h (per
 * connection: StatSN).
 *
 *  - a header digest error: the PDU is skipped (erl_skip_len()), a NOP-Out
 *    ping goes out so that a lost status shows as a StatSN gap, and a
 *    write left waiting for an R2T asks for it (R2T SNACK) if none comes;
 *    a second bad header in a row, or an implausible one, closes the
 *    connection (-EBADMSG: session reinstatement repairs it);
 *  - a Data-In whose data digest failed: its DataSN is asked for again
 *    (Data SNACK); its bytes, already in the caller's buffer, are
 *    overwritten by the retransmission; a status in it is held;
 *  - a Data-In beyond a DataSN gap is placed, the gap asked for; a
 *    duplicate is received into scratch and dropped;
 *  - a status whose data is incomplete is held (not acknowledged, not
 *    completed) until the data is; ExpStatSN never passes a missing or
 *    held status; a StatSN gap asks for the statuses (Status SNACK);
 *  - the A bit is answered with a DataACK once nothing is missing;
 *  - Reject 0x02 of a Data-Out: the target's recovery R2T is answered
 *    from the caller's buffer like any R2T;
 *  - a command the target dropped because its header arrived damaged
 *    there (nobody tells us): its CmdSN stays the target's ExpCmdSN. One
 *    that stays so for CONN_ERL1_HOLE_NS is checked with a NOP-Out ping
 *    sent after it on the same connection; if the ping's answer still
 *    names its CmdSN as ExpCmdSN, the target never got it, and the same
 *    PDU (ITT, CmdSN, immediate and unsolicited data) goes again.
 *
 * Every function runs on the connection's reactor. At ERL 0 (c->e1.on
 * false) the hooks change nothing: the strict checks of conn_rx.c stay.
 */
#ifndef MCSI_MCS_CONN_ERL1_H
#define MCSI_MCS_CONN_ERL1_H

#include <stdbool.h>
#include <stdint.h>

#include "mcs/erl_stat.h"

struct conn;
struct task;
struct seg_data;
struct bhs_data_in;
struct bhs_r2t;
struct bhs_reject;

#define CONN_ERL1_SNACKS   32u   /* SNACKs queued for sending */
#define CONN_ERL1_RETRY_NS (1000u * 1000000ull)  /* ask again after 1 s */
#define CONN_ERL1_HOLE_NS  (500u * 1000000ull)   /* a CmdSN hole this old is checked */
#define CONN_ZOMBIES       32u   /* abandoned ITTs remembered per connection */

struct conn_erl1_snack {
	uint8_t bhs[48] __attribute__((aligned(8)));
};

/* Counters, for tests and logs. */
struct conn_erl1_stats {
	uint64_t hdr_skipped;        /* header digest errors recovered */
	uint64_t data_dropped;       /* data digest errors recovered */
	uint64_t snack_data, snack_r2t, snack_status, dataack;
	uint64_t held;               /* statuses held for missing data */
	uint64_t dup_dropped;        /* retransmitted PDUs dropped */
	uint64_t recovery_r2t;       /* Reject 0x02 of a Data-Out waited out */
	uint64_t r2t_ahead;          /* an R2T past a lost one taken as its recovery R2T */
	uint64_t cmd_retry;          /* Reject 0x02 of a command: sent again */
	uint64_t cmd_lost;           /* a CmdSN hole: the command sent again */
	uint64_t hole_pings;         /* pings sent to check a CmdSN hole */
	uint64_t zombie_dropped;     /* PDUs for an abandoned ITT dropped */
	uint64_t recovered;          /* tasks completed after a SNACK */
	uint64_t rec_ns_sum, rec_ns_max;  /* fault to completion */
};

struct conn_erl1 {
	bool on;                     /* ErrorRecoveryLevel >= 1 */
	unsigned bad_hdrs;           /* header digest errors in a row */
	bool busy;                   /* something to ask again may be pending */
	uint64_t r2t_probe_ns;       /* when to ask waiting writes for an R2T */
	uint64_t hdr_fault_ns;       /* last header skipped, not yet recovered */
	uint64_t stat_fault_ns;      /* first Status SNACK not yet answered */
	/* The command whose CmdSN is the target's ExpCmdSN (the one a
	 * damaged header there would have lost), since when, and the ping
	 * that checks it. */
	uint32_t hole_itt, hole_cmdsn, hole_ping_itt;
	uint64_t hole_ns;            /* 0: none */
	bool hole_pinged;
	/* ITTs this connection used for tasks that were re-issued with a
	 * new ITT or aborted ("zombies", recovery.md section 4): the oldest
	 * is forgotten first. At every ERL. */
	uint32_t zombie[CONN_ZOMBIES];
	unsigned nzombie, zombie_next;
	struct erl_stat stat;
	struct conn_erl1_snack q[CONN_ERL1_SNACKS];
	unsigned nq;
	struct conn_erl1_stats st;
};

/* From conn_init() once c->params and c->exp_statsn are set. */
void conn_erl1_init(struct conn *c);

/* seg_rx_ops.on_bad_header / on_bad_data for connections (ctx is the
 * conn): at ERL 0 they return -EBADMSG, as without them. */
int conn_erl1_bad_header(void *ctx, const uint8_t *hdr, uint32_t hdr_len,
			 uint32_t *skip, const char **why);
int conn_erl1_bad_data(void *ctx, const uint8_t *hdr, const char **why);

/* At ERL >= 1, from rx_data_in_hdr() once t is known to be a read of
 * this connection: checks offsets and the DataSN (erl_din_check()) and
 * says where the data goes (the caller's buffers, or scratch for a
 * duplicate). Returns 0 or -EPROTO with *why. */
int conn_erl1_data_in_hdr(struct conn *c, struct task *t, const struct bhs_data_in *d,
			  struct seg_data *dst, const char **why);

/* At ERL >= 1, from the PDU dispatch before the opcode's handler: the
 * StatSN bookkeeping of every PDU, all of Data-In, and the hold decision
 * of a SCSI Response. Returns 1 to go on with the normal handler, 0 when
 * the PDU is dealt with (or a duplicate to drop), or -errno with *why
 * (-EPROTO: a defect; -EBADMSG: recovery impossible in place). */
int conn_erl1_pdu(struct conn *c, const uint8_t *hdr, const char **why);

/* From rx_scsi_rsp() after the status is filled in: true when t is held
 * (its data is incomplete; Data SNACKs are queued) and must not finish. */
bool conn_erl1_hold(struct conn *c, struct task *t);

/* At ERL >= 1, from rx_reject() for a rejected Data-Out or SNACK, with
 * the rejected header in c->scratch. Returns 1 for the normal handling,
 * 0 when dealt with (waiting for the recovery R2T), -EBADMSG to close. */
int conn_erl1_reject(struct conn *c, const struct bhs_reject *r, const char **why);

/* From rx_r2t() when R2TSN sn is not the one t expects: at ERL >= 1 with
 * no R2T of t outstanding, an R2TSN ahead (by at most 32) is the target's
 * recovery R2T for data whose R2T we lost: its Data-Out timeout ran
 * before our R2T SNACK (MaxOutstandingR2T is 1 at ERL >= 1, so it cannot
 * be a further R2T). It asks again for what the lost one asked: true,
 * t's numbering moves to sn, and a copy of the lost R2T that our SNACK
 * may still bring is dropped as a duplicate. False: the gap stays a
 * protocol error. */
bool conn_erl1_r2t_ahead(struct conn *c, struct task *t, uint32_t sn);

/* The target may still send PDUs for itt, which c no longer serves (its
 * task was re-issued with a new ITT, or aborted): remember it. */
void conn_erl1_zombie_add(struct conn *c, uint32_t itt);

/* Whether itt is one of c's abandoned ITTs and no live task has it. */
bool conn_erl1_is_zombie(struct conn *c, uint32_t itt);

/* From the PDU dispatch, first: a Data-In, SCSI Response or R2T for an
 * abandoned ITT is dropped without closing the connection (its data went
 * to scratch at header time); a status it carries still counts for
 * ExpStatSN. Returns 1 (not a zombie: go on), 0 (dropped) or -EBADMSG
 * with *why (its StatSN too far ahead, ERL >= 1). */
int conn_erl1_zombie_pdu(struct conn *c, const uint8_t *hdr, const char **why);

/* From tx_produce(): the queued SNACKs into free tx slots. */
void conn_erl1_produce(struct conn *c);

/* From reactor_scan() (every 100 ms): SNACKs not answered within
 * CONN_ERL1_RETRY_NS go again, writes left waiting for an R2T after a
 * lost header ask for it, and a command stuck at the target's ExpCmdSN is
 * checked (ping) and sent again when the target never got it. */
void conn_erl1_scan(struct conn *c, uint64_t now);

#endif
