/* SPDX-License-Identifier: MIT */
/*
 * SCSI tasks on a connection: the per-connection pool, Data-In, R2T and
 * Data-Out handling, and the SCSI Response. A task lives from its command's
 * delivery (in CmdSN order) until the flush after its status is queued.
 */
#ifndef TT_TASK_H
#define TT_TASK_H

#include "io.h"

/* Allocates the pool (TT_TASKS tasks). Returns 0 or -ENOMEM. */
int task_pool_init(struct tt_conn *c);
/* Frees the pool; every task is dropped. */
void task_pool_fini(struct tt_conn *c);
/* Returns t to the pool (it must be out of the ITT hash). */
void task_free(struct tt_conn *c, struct tt_task *t);
/* Takes t out of the ITT hash and frees it after the next flush (its
 * buffers may still be in the transmit batch). */
void task_release(struct tt_conn *c, struct tt_task *t);
struct tt_task *task_find(struct tt_conn *c, uint32_t itt);

/* Runs a SCSI Command that has been delivered in order. p is the command
 * PDU (bhs, AHS and immediate data). Returns 0, or -EPROTO when the
 * connection must be dropped. */
int task_scsi_cmd(struct tt_conn *c, const struct tt_rxpdu *p);
/* Handles a Data-Out PDU. Returns 0 or -EPROTO (drop the connection). */
int task_data_out(struct tt_conn *c, const struct tt_rxpdu *p);

/* Ends a task without status (ABORT TASK and friends). */
void task_abort(struct tt_conn *c, struct tt_task *t);
/* Aborts every task of the connection (lun == UINT32_MAX: all LUNs). */
unsigned task_abort_all(struct tt_conn *c, uint32_t lun);

/* Resends the Data-In PDUs [begrun, begrun + runlength) of a read task
 * (runlength 0: to the end) and, when end_status, its status again. Used
 * by Data/R2T and R-Data SNACKs. Returns 0 or -ENOENT. */
int task_resend_data_in(struct tt_conn *c, struct tt_task *t, uint32_t begrun,
			uint32_t runlength);
/* Takes over a task copied from a failed connection (TASK REASSIGN):
 * returns the new task (o's heap buffer moves to it), or NULL when the
 * pool is empty. */
struct tt_task *task_adopt(struct tt_conn *c, struct tt_task *o);
/* Resumes an adopted task: Data-In from expdatasn and status for a read,
 * R2Ts for everything for an unfinished write, status for a finished
 * one. */
void task_resume(struct tt_conn *c, struct tt_task *t, uint32_t expdatasn);

/* ERL >= 1, once per loop turn: a write that got no Data-Out for
 * TT_DATAOUT_TIMEOUT_MS (its last PDU was lost, e.g. to a header digest
 * error here, and nothing else would come) is asked for what it misses
 * with a recovery R2T (new R2TSN and TTT), as LIO's DataOutTimeout does;
 * late PDUs of the abandoned sequence are dropped. */
void task_dataout_poll(struct tt_conn *c);

/* Resends R2T number r2tsn of a write task. Returns 0 or -ENOENT. */
int task_resend_r2t(struct tt_conn *c, struct tt_task *t, uint32_t r2tsn);

#endif
