/* SPDX-License-Identifier: MIT */
/*
 * Task management functions that act on a task set (ABORT TASK SET,
 * CLEAR TASK SET, LUN RESET, TARGET WARM/COLD RESET) in a session of
 * several connections.
 *
 * The target ends the affected tasks on every connection of the session
 * (RFC 7143 11.5.1): the SCSI tasks with a CmdSN below the TMF's (an
 * immediate TMF carries the next CmdSN), and usually sends nothing more
 * for them. On the connection that carried the TMF, its response comes
 * after whatever the target sent for those tasks, so they end when it
 * arrives (reactor_tmf_sweep()). On another connection the order between
 * that connection's PDUs and the TMF Response is not given: a response
 * the target sent for an affected task may still be on its way there,
 * and ending the task first would make that response one for an unknown
 * ITT (a protocol error that closes the connection). So every connection
 * gets a fence: a NOP-Out ping, whose NOP-In the target sends after
 * anything it queued on that connection before; when it arrives, the
 * affected tasks still open on that connection end with -ECANCELED. Each
 * task ends once (reactor_finish() ignores a finished task), on its own
 * reactor, and a connection that fails meanwhile fails its tasks itself.
 * A ping left unanswered ends after FENCE_MS: that connection's affected
 * tasks are then left to their own command timeouts, and the caller
 * returns.
 */
#include "mcs/reactor.h"

#include <errno.h>
#include <string.h>

#include "proto/serial.h"

static bool tmf_affects(const struct task *t, uint32_t lun, bool all, uint32_t tmf_sn)
{
	if (t->kind != TASK_SCSI || (!all && t->lun != lun))
		return false;
	if (t->state == TASK_QUEUED)
		return true;             /* never sent: ends with the set */
	return t->state == TASK_ACTIVE && sn_lt(t->cmdsn, tmf_sn);
}

void reactor_tmf_sweep(struct reactor *r, struct conn *c, uint32_t lun, bool all,
		       uint32_t tmf_sn, uint32_t timed_out_itt)
{
	for (uint32_t i = 0; i < r->tt.n; i++) {
		struct task *t = &r->tt.tasks[i];
		if (t->conn != c || !tmf_affects(t, lun, all, tmf_sn))
			continue;
		int err = t->itt == timed_out_itt || t->abort_state ? -ETIMEDOUT : -ECANCELED;
		t->retry = false;
		t->cmd->res.err = err;
		reactor_finish(r, t, err);
	}
}

bool reactor_tmf_sets(enum tmf_function fn)
{
	switch (fn) {
	case TMF_ABORT_TASK_SET: case TMF_CLEAR_TASK_SET: case TMF_LUN_RESET:
	case TMF_TARGET_WARM_RESET: case TMF_TARGET_COLD_RESET:
		return true;
	default:
		return false;
	}
}

#define FENCE_MS 10000u                 /* as long as a TMF may take */

/* A fence's NOP-In arrived (err 0), its connection went or it timed out
 * (err < 0). */
static void fence_done(struct task *t, int err)
{
	struct mcsi_cmd *cmd = t->ctl_priv;
	struct reactor_fence *f = cmd_priv(cmd)->ptr;
	struct reactor *r = t->conn->r;

	if (err == 0)
		reactor_tmf_sweep(r, t->conn, f->lun, f->all, f->tmf_sn, PDU_RESERVED_TAG);
	f->fenced++;
	if (--f->pending == 0)
		reactor_complete(r, cmd, 0);
}

bool reactor_tmf_is_fence(const struct task *t)
{
	return t->kind == TASK_NOP && t->ctl_done == fence_done;
}

void reactor_tmf_fence(struct reactor *r, struct mcsi_cmd *cmd)
{
	struct reactor_fence *f = cmd_priv(cmd)->ptr;

	f->pending = 1;                  /* held until every ping is queued */
	for (unsigned i = 0; i < r->nconns; i++) {
		struct conn *c = r->conns[i];
		if (!conn_usable(c) && c->state != CONN_DRAIN)
			continue;        /* failing or gone: its tasks end there */
		struct task *t = task_alloc(&r->tt, TASK_NOP);
		if (!t) {
			/* No task to ping with: the affected tasks end by
			 * their own command timeouts instead. */
			f->skipped++;
			continue;
		}
		t->ctl_done = fence_done;
		t->ctl_priv = cmd;
		t->deadline_ns = r->now + FENCE_MS * 1000000ull;
		f->pending++;
		conn_queue_ctl(c, t);
		conn_tx_kick(c);
	}
	if (--f->pending == 0)
		reactor_complete(r, cmd, 0);
}

int sess_tmf_fence(struct mcsi_session *s, enum tmf_function fn, uint32_t lun,
		   uint32_t tmf_sn)
{
	struct reactor_fence f = {
		.lun = lun, .tmf_sn = tmf_sn,
		.all = fn == TMF_TARGET_WARM_RESET || fn == TMF_TARGET_COLD_RESET,
	};
	int rc = 0;

	for (unsigned q = 0; q < s->nq; q++) {
		struct mcsi_cmd cmd;
		memset(&cmd, 0, sizeof(cmd));
		cmd_priv(&cmd)->op = CMD_OP_TMF_FENCE;
		cmd_priv(&cmd)->ptr = &f;
		int r = sess_run_cmd(s, q, &cmd);
		if (r < 0 && rc == 0)
			rc = r;
	}
	if (f.skipped)
		sess_log(s, 4, "task management: %u connection(s) not fenced (no free task); "
			 "their affected commands end by timeout", f.skipped);
	return rc;
}
