/* SPDX-License-Identifier: MIT */
/*
 * Error recovery levels 1 and 2 (RFC 7143 section 7): status and task
 * retention until ExpStatSN acknowledges them, SNACK (Data/R2T, Status,
 * DataACK, R-Data), and at ERL 2 the tasks of a failed connection kept for
 * TASK REASSIGN until DefaultTime2Retain runs out.
 */
#ifndef TT_ERL_H
#define TT_ERL_H

#include "io.h"

/* Allocates the retention ring when the connection negotiated ERL >= 1.
 * Returns 0 or -ENOMEM. */
int erl_init(struct tt_conn *c);
/* Frees it; at ERL 2, hands the connection's unfinished tasks to the
 * session for reassignment (unless the session is closing). */
void erl_fini(struct tt_conn *c, bool keep_tasks);

/* Keeps a copy of a status-carrying PDU (SCSI Response, or a Data-In
 * with status, kept as the equivalent SCSI Response) just stamped. */
void erl_retain_status(struct tt_conn *c, const uint8_t *hdr, uint32_t dlen);
/* A task sent its status: ERL 0 frees it, ERL >= 1 keeps it until
 * acknowledged. */
void erl_task_done(struct tt_conn *c, struct tt_task *t);
/* Takes t out of the retention list (abort). */
void erl_task_forget(struct tt_conn *c, struct tt_task *t);
/* ExpStatSN from the initiator: frees what it acknowledges. */
void erl_ack(struct tt_conn *c, uint32_t exp_statsn);

/* Handles a SNACK. Returns 0 or -EPROTO. */
int erl_snack(struct tt_conn *c, const struct tt_rxpdu *p);
/* TASK REASSIGN: moves task itt from a failed connection of the session to
 * c (*out; the caller resumes it with task_resume() after answering the
 * TMF). Returns a TMF response code. */
unsigned erl_reassign(struct tt_conn *c, uint32_t itt, struct tt_task **out);

#endif
