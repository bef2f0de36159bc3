/* SPDX-License-Identifier: MIT */
/*
 * ERL 2 connection recovery on the reactors (docs/design/recovery.md
 * section 8; the session's part is mcs/sess_erl2.h). When a connection of
 * a session at ErrorRecoveryLevel 2 dies, its SCSI tasks are held (their
 * buffers untouched, nothing completed) while the connection sits in
 * CLEANUP_WAIT; erl_rec (mcs/erl_rec.h) decides the cleanup after
 * DefaultTime2Wait: the same CID logs in again on a new TCP connection
 * (default), or a surviving connection of the same reactor sends a Logout
 * of the CID with reason 2. Then each task, per erl_task_plan(): TASK
 * REASSIGN onto the new or surviving connection (reads resume from the
 * ExpDataSN asked for, writes answer the target's R2Ts again), a retry of
 * the command PDU with its ITT and CmdSN (the target never got it: the
 * CmdSN hole is plugged), or a re-issue as a new command (refused
 * reassignment). Past DefaultTime2Retain, or when the CID cannot be
 * cleaned up, the session falls back to session reinstatement
 * (mcs/sess_rec.h).
 *
 * Limits: a task stays on its reactor (its ITT names the queue), so the
 * Logout cleanup needs a survivor on the failed connection's reactor;
 * otherwise the CID is reinstated.
 */
#ifndef MCSI_MCS_CONN_ERL2_H
#define MCSI_MCS_CONN_ERL2_H

#include <stdbool.h>
#include <stdint.h>

#include "mcs/task.h"
#include "mcsi/mcsi.h"

struct conn;
struct reactor;
struct mcsi_session;

/* struct task.erl2 */
enum erl2_task_state {
	ERL2_T_NONE = 0,
	ERL2_T_HELD,          /* its connection failed: waits for the cleanup */
	ERL2_T_RETRY,         /* queued to be sent again with its ITT and CmdSN */
	ERL2_T_REASSIGNING,   /* TASK REASSIGN sent for it */
	ERL2_T_PROBE,         /* LIO's ambiguous answer: re-issued unless a PDU
			       * of it arrives by erl2_by */
	ERL2_T_RESUMED,       /* reassigned: the target's R2TSNs restart
			       * wherever it says */
};

/* A Logout task whose ref_itt has this bit logs out connection
 * (ref_itt & 0xffff), not the one it is sent on; ref_cmdsn then carries
 * that connection's ExpStatSN (RFC 7143 11.14). */
#define CONN_ERL2_OTHER_CID 0x80000000u

/*
 * From conn_fail() on c's reactor, after the socket is closed and the tx
 * slots released: at ERL 2 on a live session, holds c's SCSI tasks
 * (unsent ones go back to the reactor's backlog, control tasks fail with
 * -ECONNRESET), marks c's slot failed and starts its recovery; returns
 * true (conn_fail() is done). False: not ERL 2, the session is not live,
 * a protocol violation (-EPROTO), or a connection leaving with nothing in
 * flight: the session decides as before (sess_conn_lost()).
 */
bool conn_erl2_lost(struct conn *c, int err, const char *reason);

/* Each turn of every reactor, before sess_rec_poll(): drives the
 * recoveries of this reactor's failed connections. One atomic load when
 * there are none. */
void conn_erl2_poll(struct reactor *r);

/* Whether a connection recovery is under way: a command that finds no
 * usable connection then waits in the backlog. Any thread. */
bool conn_erl2_pending(const struct mcsi_session *s);

/* Any thread: an Async 2 naming cid refers to the incarnation that ERL 2
 * is recovering or recovered less than ERL2_STALE_MS ago (LIO sends one
 * for the dead connection when the reinstatement login arrives): it must
 * not drop the new connection. */
bool conn_erl2_stale_drop(const struct mcsi_session *s, uint16_t cid);

/* From rx_logout_rsp() for a Logout task t of another CID (ref_itt has
 * CONN_ERL2_OTHER_CID) with t->tmf_response set, before t finishes: a
 * Logout with reason 2 answered 0 restates Time2Wait (no TASK REASSIGN
 * before it) and Time2Retain (the tasks are kept that long after it) from
 * the response's arrival, instead of the negotiated defaults (RFC 7143
 * 11.15.2); a Logout answered 2 or 3 (refused) restates them for the next
 * attempt, a reinstatement login or another Logout of the CID (11.15.2:
 * not before Time2Wait; the back-off still applies when it is longer).
 * Zeros keep the deadlines (LIO answers 0/0 and still holds the tasks; a
 * refusal's Time2Wait 0 means no wait). Response 1: ignored (invalid). */
void conn_erl2_logout_times(struct reactor *r, struct task *t, uint16_t t2w, uint16_t t2r);

/* ExpDataSN for the TASK REASSIGN of t: the next R2TSN of a write, the
 * DataSN a read resumes at. */
uint32_t conn_erl2_expdatasn(const struct task *t);

/* An R2T with R2TSN sn arrived for t where exp_r2tsn was expected: after
 * a reassignment the target numbers R2Ts from where it stands, which may
 * be ahead of us (an R2T lost with the connection). Returns true when sn
 * is accepted (exp_r2tsn moved to sn). */
bool conn_erl2_r2t_resync(struct task *t, uint32_t sn);

#endif
