/* SPDX-License-Identifier: MIT */
/*
 * The reactor: takes commands from its inbox, binds each to a task and a
 * connection, drives the transport, and runs the timers: NOP-Out keepalive
 * with a dead-peer deadline, and command timeouts that escalate from ABORT
 * TASK to LUN RESET to dropping the connection.
 */
#include "mcs/reactor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcs/conn_erl2.h"
#include "mcs/conn_sm.h"
#include "mcs/reactor_adapt.h"
#include "mcs/sess_rec.h"
#include "proto/pdu.h"

#define SCAN_NS     (100u * 1000000ull)
#define MS_NS       1000000ull

int reactor_create(struct mcsi_session *s, unsigned index, const char *transport,
		   unsigned depth, struct reactor **out)
{
	/* aligned: the in-flight counters sit on their own cache lines */
	struct reactor *r = aligned_alloc(64, (sizeof(*r) + 63u) & ~(size_t)63u);
	struct xport_cfg xcfg = { .depth = REACTOR_MAX_CONNS * 2 + 4,
				  .zerocopy = s->cfg.zerocopy };
	int rc;

	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->sess = s;
	r->index = index;
	sched_cursor_init(&r->cur, index);
	r->scsi_max = depth;
	r->backlog_tail = &r->backlog;
	r->local_tail = &r->local;
	mpsc_init(&r->inbox);
	if ((rc = task_table_init(&r->tt, depth + REACTOR_CTL_TASKS, index)) < 0 ||
	    (rc = xport_create(transport, &xcfg, &r->x)) < 0) {
		task_table_fini(&r->tt);
		free(r);
		return rc;
	}
	r->now = sess_now_ns();
	*out = r;
	return 0;
}

void reactor_destroy(struct reactor *r)
{
	if (!r)
		return;
	xport_destroy(r->x);
	task_table_fini(&r->tt);
	free(r);
}

int reactor_add_conn(struct reactor *r, struct conn *c)
{
	if (r->nconns >= REACTOR_MAX_CONNS)
		return -ENOSPC;
	r->conns[r->nconns++] = c;
	return 0;
}

void reactor_remove_conn(struct reactor *r, struct conn *c)
{
	for (unsigned i = 0; i < r->nconns; i++) {
		if (r->conns[i] == c) {
			rstat_retire(r, c);      /* its counters still count */
			r->conns[i] = r->conns[--r->nconns];
			return;
		}
	}
}

/* The session's scheduling policy over the connection set (mcs/sched.h),
 * from this queue's point of view. The view is re-read only when the
 * membership moved; otherwise only the depths. */
static int reactor_pick_slot(struct reactor *r, bool local)
{
	struct connset *cs = &r->sess->cs;
	struct sched_cfg cfg = r->sess->sched;

	if (r->view.n == 0 || cset_gen(cs) != r->view.gen) {
		cset_view(cs, &r->view);
		r->rebalance = 2 * r->scsi_max;
	} else {
		cset_refresh_depths(cs, &r->view);
	}
	/* A resubmission from one of our callbacks: its completion freed
	 * the room here, and depths swing by a receive batch between turns,
	 * so it stays on our connections, except for a while after the
	 * membership changed (a connection joined or left, the session was
	 * reinstated), when the load spreads out again. Comparing depths
	 * across queues all the time bounced commands between the reactors,
	 * a cross-CPU wake-up each: with four connections on two queues, 10
	 * to 12 us of CPU per 4 KiB read instead of 5 to 7. Commands from
	 * other threads use the plain slack. */
	if (local && (cfg.policy == SCHED_LEAST_DEPTH || cfg.policy == SCHED_ADAPTIVE)) {
		if (r->rebalance > 0)
			r->rebalance--;
		else
			cfg.slack = UINT32_MAX / 2;
	}
	return sched_pick(&cfg, &r->view, r->index, &r->cur);
}

static unsigned slot_queue(const struct reactor *r, int slot)
{
	return atomic_load_explicit(&r->sess->cs.slot[slot].queue, memory_order_relaxed);
}

/*
 * The connection for a new SCSI command (allegiance starts here): the
 * slot the command already holds if its connection is ours and UP, else
 * a new pick. A pick on another queue forwards the command there (its
 * reactor honours the slot) and returns NULL with *moved set; NULL
 * without it: no connection is UP.
 */
static struct conn *reactor_route(struct reactor *r, struct mcsi_cmd *cmd, bool *moved)
{
	struct mcsi_session *s = r->sess;
	struct cmd_priv *p = cmd_priv(cmd);

	*moved = false;
	for (unsigned tries = 0; tries < 4; tries++) {
		if (p->slot1) {
			int slot = p->slot1 - 1;
			struct conn *c = r->slot_conn[slot];
			if (c && conn_usable(c) && cset_usable(&s->cs, slot))
				return c;
			unsigned q = slot_queue(r, slot);
			if (!c && q != r->index && q < s->nq && cset_usable(&s->cs, slot)) {
				reactor_submit(s->q[q], cmd);
				*moved = true;
				return NULL;
			}
			cset_unsubmitted(&s->cs, slot);
			p->slot1 = 0;
		}
		int slot = reactor_pick_slot(r, (p->flags & CMD_F_LOCAL) != 0);
		if (slot < 0)
			return NULL;
		cset_submitted(&s->cs, slot);
		p->slot1 = (int16_t)(slot + 1);
	}
	return NULL;
}

void reactor_request(struct reactor *r, uint32_t bits)
{
	atomic_fetch_or(&r->ctl_req, bits);
	xport_wake(r->x);
}

void reactor_window_kick(struct reactor *r)
{
	atomic_store(&r->window_kick, true);
	xport_wake(r->x);
}

uint64_t sess_inflight(const struct mcsi_session *s)
{
	uint64_t sub = 0, done = 0;

	/* Completions first: a command counted in `completed` was counted
	 * in some queue's `submitted` before, so the difference never goes
	 * below the true count minus what completes meanwhile. */
	for (unsigned q = 0; q < s->nq; q++)
		if (s->q[q])
			done += atomic_load(&s->q[q]->completed);
	for (unsigned q = 0; q < s->nq; q++)
		if (s->q[q])
			sub += atomic_load(&s->q[q]->submitted);
	return sub - done;
}

static inline uintptr_t self_id(void)
{
	return (uintptr_t)pthread_self();
}

void reactor_submit(struct reactor *r, struct mcsi_cmd *cmd)
{
	if (atomic_load_explicit(&r->owner, memory_order_relaxed) == self_id()) {
		/* A callback resubmits: no atomics, no wake-up; the turn
		 * takes it before it waits again. */
		cmd_priv(cmd)->next = NULL;
		*r->local_tail = cmd;
		r->local_tail = &cmd_priv(cmd)->next;
		return;
	}
	mpsc_push(&r->inbox, &cmd_priv(cmd)->node);
	atomic_thread_fence(memory_order_seq_cst);
	/* Only the first submitter after the reactor went to sleep pays
	 * for the wake-up. */
	if (atomic_load_explicit(&r->sleeping, memory_order_relaxed) &&
	    atomic_exchange(&r->sleeping, false))
		xport_wake(r->x);
}

/* ---- completing ---------------------------------------------------------- */

void reactor_complete(struct reactor *r, struct mcsi_cmd *cmd, int err)
{
	struct cmd_priv *p = cmd_priv(cmd);

	if (err)
		cmd->res.err = err;
	if (p->slot1) {
		/* Chosen but never run on its connection. */
		cset_unsubmitted(&r->sess->cs, p->slot1 - 1);
		p->slot1 = 0;
	}
	atomic_store_explicit(&r->completed,
			      atomic_load_explicit(&r->completed, memory_order_relaxed) + 1,
			      memory_order_release);
	r->completions++;
	cmd->done(cmd, cmd->priv);
}

void reactor_task_off_conn(struct conn *c, struct task *t)
{
	conn_unqueue(c, t);
	if (t->counted) {
		t->counted = false;
		c->inflight--;
	}
	if (t->awaits_r2t) {
		t->awaits_r2t = false;
		c->r2t_waiters--;
	}
}

struct mcsi_cmd *reactor_task_unbind(struct reactor *r, struct task *t)
{
	struct mcsi_cmd *cmd = t->cmd;
	struct cmd_priv *p = cmd_priv(cmd);

	if (p->slot1) {
		cset_unsubmitted(&r->sess->cs, p->slot1 - 1);
		p->slot1 = 0;
	}
	p->task = NULL;
	t->state = TASK_DONE;
	t->retry = false;
	task_free(&r->tt, t);
	r->scsi_live--;
	memset(&cmd->res, 0, sizeof(cmd->res));
	return cmd;
}

void reactor_finish(struct reactor *r, struct task *t, int err)
{
	if (t->state == TASK_DONE || t->state == TASK_FREE)
		return;
	if (t->conn) {
		conn_unqueue(t->conn, t);
		if (t->conn->text == t)
			t->conn->text = NULL;
		if (t->counted) {
			t->counted = false;
			t->conn->inflight--;
		}
		if (t->awaits_r2t) {
			t->awaits_r2t = false;
			t->conn->r2t_waiters--;
		}
	}
	t->result = err;
	t->state = TASK_DONE;
	if (t->tx_refs == 0)
		reactor_task_done(r, t);
}

static void task_reset_for_retry(struct task *t)
{
	conn_erl1_zombie_add(t->conn, t->itt);   /* late PDUs for it: dropped */
	task_renew_itt(t);
	t->retry = false;
	t->nr2t = t->r2t_head = t->r2t_built = 0;
	t->exp_r2tsn = t->exp_datasn = t->rx_bytes = 0;
	erl_din_init(&t->din);
	t->held = false;
	t->r2t_asked = 0;
	t->abort_state = 0;
	memset(&t->cmd->res, 0, sizeof(t->cmd->res));
}

void reactor_task_done(struct reactor *r, struct task *t)
{
	if (t->kind == TASK_SCSI) {
		struct mcsi_cmd *cmd = t->cmd;
		if (t->retry && t->conn && conn_usable(t->conn) &&
		    atomic_load(&r->sess->state) != SESS_FAILED) {
			task_reset_for_retry(t);
			conn_queue_cmd(t->conn, t);
			return;
		}
		int err = t->result;
		struct cmd_priv *p = cmd_priv(cmd);
		if (p->slot1) {
			cset_count_done(&r->sess->cs, p->slot1 - 1, r->now - t->start_ns);
			p->slot1 = 0;
		}
		p->task = NULL;
		task_free(&r->tt, t);
		r->scsi_live--;
		reactor_complete(r, cmd, err);
		return;
	}
	void (*fn)(struct task *, int) = t->ctl_done;
	int err = t->result;
	t->state = TASK_FREE;          /* callbacks must not queue it again */
	if (fn)
		fn(t, err);
	t->state = TASK_DONE;
	task_free(&r->tt, t);
}

/* ---- control tasks ------------------------------------------------------- */

int reactor_tmf(struct reactor *r, struct conn *c, enum tmf_function fn,
		uint32_t lun, const struct task *ref,
		void (*done)(struct task *t, int err), void *priv)
{
	struct task *t;

	if (!c || !conn_usable(c))
		return -ENOTCONN;
	if (!(t = task_alloc(&r->tt, TASK_TMF)))
		return -EAGAIN;
	t->tmf_fn = (uint8_t)fn;
	t->lun = lun;
	t->ref_itt = ref ? ref->itt : PDU_RESERVED_TAG;
	t->ref_cmdsn = ref ? ref->cmdsn : 0;
	t->ctl_done = done;
	t->ctl_priv = priv;
	unsigned ms = r->sess->cfg.cmd_timeout_ms;
	t->deadline_ns = r->now + (ms && ms < 10000 ? ms : 10000) * MS_NS;
	conn_queue_ctl(c, t);
	return 0;
}

int reactor_logout(struct reactor *r, struct conn *c, enum logout_reason reason,
		   void (*done)(struct task *t, int err), void *priv)
{
	struct task *t;

	if (!c || (!conn_usable(c) && c->state != CONN_DRAIN))
		return -ENOTCONN;
	if (!(t = task_alloc(&r->tt, TASK_LOGOUT)))
		return -EAGAIN;
	t->tmf_fn = (uint8_t)reason;
	t->ctl_done = done;
	t->ctl_priv = priv;
	t->deadline_ns = r->now + 10000 * MS_NS;
	conn_queue_ctl(c, t);
	c->state = CONN_LOGOUT;
	conn_sm(c, ERL_CE_LOGOUT_READY);
	return 0;
}

static int tmf_err(const struct task *t, int err)
{
	if (err)
		return err;
	switch (t->tmf_response) {
	case TMF_RSP_COMPLETE: return 0;
	case TMF_RSP_NO_TASK: case TMF_RSP_NO_LUN: return -ENOENT;
	case TMF_RSP_NOT_SUPPORTED: return -EOPNOTSUPP;
	case TMF_RSP_AUTH_FAILED: return -EPERM;
	default: return -EIO;
	}
}

/* The escalation after a command timeout: ABORT TASK, then LUN RESET,
 * then the connection goes. */
static void timeout_tmf_done(struct task *tmf, int err)
{
	struct conn *c = tmf->conn;
	struct reactor *r = c->r;
	struct task *t = task_lookup(&r->tt, tmf->ref_itt);

	err = tmf_err(tmf, err);
	if (tmf->tmf_fn == TMF_ABORT_TASK) {
		if (!t || t->state != TASK_ACTIVE)
			return;
		if (err == 0 || err == -ENOENT) {
			/* Aborted, or unknown to the target: either way no
			 * answer will come. */
			t->retry = false;
			t->cmd->res.err = -ETIMEDOUT;
			conn_erl1_zombie_add(t->conn, t->itt);
			reactor_finish(r, t, -ETIMEDOUT);
			return;
		}
		t->abort_state = 2;
		t->deadline_ns = r->now + 10000 * MS_NS;
		if (reactor_tmf(r, c, TMF_LUN_RESET, t->lun, t, timeout_tmf_done, NULL) < 0)
			conn_fail(c, -ETIMEDOUT, "cannot escalate a timed-out command to LUN RESET");
		return;
	}
	if (err == 0) {
		reactor_tmf_sweep(r, c, tmf->lun, false, tmf->cmdsn, tmf->ref_itt);
		return;
	}
	conn_fail(c, -ETIMEDOUT, "LUN RESET after a command timeout failed (%d)", err);
}

static void ping_done(struct task *t, int err)
{
	(void)t;
	(void)err;
}

/* ---- timers -------------------------------------------------------------- */

/* Whether the session has nothing in flight, summed over every queue's
 * counters (sess_inflight()) at most once per scan: *memo is -1 until a
 * connection first needs the answer. */
static bool scan_sess_idle(const struct mcsi_session *s, int *memo)
{
	if (*memo < 0)
		*memo = sess_inflight(s) == 0;
	return *memo != 0;
}

static void reactor_scan(struct reactor *r)
{
	struct mcsi_session *s = r->sess;
	uint64_t now = r->now;
	int idle = -1;

	for (unsigned i = 0; i < r->nconns; i++) {
		struct conn *c = r->conns[i];
		if (!conn_usable(c))
			continue;
		conn_erl1_scan(c, now);
		if (c->ping && now > c->ping->deadline_ns) {
			conn_fail(c, -ETIMEDOUT, "no answer to a NOP-Out ping within %u ms",
				  s->cfg.nop_timeout_ms);
			continue;
		}
		/* MC/S: an idle connection is pinged only while the session
		 * has nothing in flight. istgt 0.4 requires an immediate
		 * NOP-Out's CmdSN to equal its ExpCmdSN and drops the
		 * connection otherwise, which it is not while commands of
		 * other connections are on their way (an idle connection
		 * beside busy ones: the adaptive policy's standbys, or light
		 * loads); the busy session shows the target alive meanwhile. */
		if (s->cfg.nop_interval_ms && !c->ping &&
		    now - c->last_rx_ns >= s->cfg.nop_interval_ms * MS_NS &&
		    (atomic_load_explicit(&s->cs.nup, memory_order_relaxed) <= 1 ||
		     scan_sess_idle(s, &idle))) {
			struct task *t = task_alloc(&r->tt, TASK_NOP);
			if (t) {
				t->ctl_done = ping_done;
				t->deadline_ns = now + s->cfg.nop_timeout_ms * MS_NS;
				conn_queue_ctl(c, t);
				c->ping = t;
				conn_tx_kick(c);
			}
		}
	}
	for (uint32_t i = 0; i < r->tt.n; i++) {
		struct task *t = &r->tt.tasks[i];
		if (t->state == TASK_FREE || t->state == TASK_DONE ||
		    !t->deadline_ns || now <= t->deadline_ns)
			continue;
		if (t->kind == TASK_TMF || t->kind == TASK_LOGOUT || reactor_tmf_is_fence(t)) {
			reactor_finish(r, t, -ETIMEDOUT);
			continue;
		}
		if (t->kind != TASK_SCSI)
			continue;
		if (t->state == TASK_QUEUED) {
			/* Never sent (window closed): nothing to abort. */
			uint64_t w = atomic_load(&s->window);
			sess_log(s, 4, "%s: command ITT 0x%08x timed out waiting for the CmdSN "
				 "window (next CmdSN %u, ExpCmdSN %u, MaxCmdSN %u)",
				 t->conn->peer, t->itt, sess_cmdsn_peek(s),
				 sess_win_exp(w), sess_win_max(w));
			t->cmd->res.err = -ETIMEDOUT;
			reactor_finish(r, t, -ETIMEDOUT);
			t->conn->st.timeouts++;
			continue;
		}
		if (t->abort_state == 0) {
			t->abort_state = 1;
			t->conn->st.timeouts++;
			t->deadline_ns = 0;    /* the TMF has its own deadline */
			sess_log(s, 4, "%s: command ITT 0x%08x timed out, aborting",
				 t->conn->peer, t->itt);
			if (reactor_tmf(r, t->conn, TMF_ABORT_TASK, t->lun, t,
					timeout_tmf_done, NULL) < 0)
				conn_fail(t->conn, -ETIMEDOUT, "cannot abort a timed-out command");
			else
				conn_tx_kick(t->conn);
		}
	}
}

int reactor_next_timeout(struct reactor *r)
{
	uint64_t now = sess_now_ns();

	if (r->next_scan <= now)
		return 0;
	return (int)((r->next_scan - now + MS_NS - 1) / MS_NS);
}

/* ---- the turn ------------------------------------------------------------ */

static int validate(const struct mcsi_cmd *cmd, uint32_t *wlen, uint32_t *rlen);

static void tmf_api_done(struct task *t, int err)
{
	struct mcsi_cmd *cmd = t->ctl_priv;

	cmd->res.err = tmf_err(t, err);
	cmd_priv(cmd)->sn = t->cmdsn;
	/* This connection's affected tasks end now (its response came after
	 * theirs); the other connections' in sess_tmf_fence(). */
	if (cmd->res.err == 0 && reactor_tmf_sets((enum tmf_function)t->tmf_fn))
		reactor_tmf_sweep(t->conn->r, t->conn, t->lun,
				  t->tmf_fn == TMF_TARGET_WARM_RESET ||
				  t->tmf_fn == TMF_TARGET_COLD_RESET,
				  t->cmdsn, PDU_RESERVED_TAG);
	if (cmd->res.err == 0 && t->tmf_fn == TMF_ABORT_TASK) {
		struct task *ref = task_lookup(&t->conn->r->tt, t->ref_itt);
		if (ref && ref->state == TASK_ACTIVE) {
			ref->retry = false;
			ref->cmd->res.err = -ECANCELED;
			reactor_finish(t->conn->r, ref, -ECANCELED);
		}
	}
	reactor_complete(t->conn->r, cmd, cmd->res.err);
}

static void logout_api_done(struct task *t, int err)
{
	struct mcsi_cmd *cmd = t->ctl_priv;

	err = err ? err : (t->tmf_response ? -EIO : 0);
	/* The target closes the session's other connections now: their
	 * end of stream is not a failure. */
	if (err == 0 && t->tmf_fn == LOGOUT_CLOSE_SESSION)
		atomic_store(&t->conn->sess->state, SESS_CLOSED);
	reactor_complete(t->conn->r, cmd, err);
}

/* The first usable connection of r (control requests), or NULL. */
static struct conn *reactor_any_conn(struct reactor *r)
{
	for (unsigned i = 0; i < r->nconns; i++)
		if (conn_usable(r->conns[i]))
			return r->conns[i];
	return r->nconns ? r->conns[0] : NULL;
}

static void start_internal(struct reactor *r, struct mcsi_cmd *cmd)
{
	struct cmd_priv *p = cmd_priv(cmd);
	struct conn *c = reactor_any_conn(r);
	const struct task *ref = NULL;
	int rc;

	if (p->op == CMD_OP_QUIESCE) {
		reactor_quiesce(r, cmd);
		return;
	}
	if (p->op == CMD_OP_TMF_FENCE) {
		reactor_tmf_fence(r, cmd);
		return;
	}
	if (p->op == CMD_OP_ADD_CONN || p->op == CMD_OP_DROP_CONN) {
		rc = p->op == CMD_OP_ADD_CONN ? reactor_add_handoff(r, p->ptr)
					      : reactor_leave(r, cmd, p->arg);
		if (rc < 0 || p->op == CMD_OP_ADD_CONN)
			reactor_complete(r, cmd, rc);
		return;
	}
	if (p->op == CMD_OP_TMF) {
		if (p->ref) {
			struct task *t = cmd_priv(p->ref)->task;
			if (!t || t->cmd != p->ref || t->state != TASK_ACTIVE) {
				reactor_complete(r, cmd, -ENOENT);
				return;
			}
			ref = t;
			c = t->conn;
		}
		rc = reactor_tmf(r, c, (enum tmf_function)p->arg, cmd->lun, ref,
				 tmf_api_done, cmd);
	} else {
		rc = -ENOTCONN;
		for (unsigned i = 0; i < r->nconns && rc == -ENOTCONN; i++)
			rc = reactor_logout(r, r->conns[i], (enum logout_reason)p->arg,
					    logout_api_done, cmd);
	}
	if (rc < 0)
		reactor_complete(r, cmd, rc);
}

static bool start_cmd(struct reactor *r, struct mcsi_cmd *cmd)
{
	struct conn *c;
	struct task *t;
	uint32_t wlen = 0, rlen = 0;

	if (cmd_priv(cmd)->op != CMD_OP_SCSI) {
		start_internal(r, cmd);
		return true;
	}
	if (validate(cmd, &wlen, &rlen) < 0) {
		reactor_complete(r, cmd, -EINVAL);
		return true;
	}
	bool moved;
	if (!(c = reactor_route(r, cmd, &moved))) {
		if (moved)
			return true;
		/* Being reinstated: the command waits in the backlog. */
		if (atomic_load(&r->sess->state) == SESS_RECOVERING ||
		    conn_erl2_pending(r->sess))
			return false;
		reactor_complete(r, cmd, -ENOTCONN);
		return true;
	}
	if (r->scsi_live >= r->scsi_max)
		return false;
	if (!(t = task_alloc(&r->tt, TASK_SCSI)))
		return false;
	r->scsi_live++;
	t->cmd = cmd;
	t->lun = cmd->lun;
	t->wlen = wlen;
	t->rlen = rlen;
	if (cmd->dir == MCSI_DIR_READ) {
		t->riov = cmd->iov;
		t->riovcnt = cmd->iovcnt;
	} else if (cmd->dir == MCSI_DIR_BIDI) {
		t->riov = cmd->bidi_iov;
		t->riovcnt = cmd->bidi_iovcnt;
	}
	t->ua_left = (uint8_t)r->sess->cfg.ua_retries;
	t->start_ns = r->now;
	unsigned ms = cmd->timeout_ms ? cmd->timeout_ms : r->sess->cfg.cmd_timeout_ms;
	t->deadline_ns = ms ? r->now + ms * MS_NS : 0;
	cmd_priv(cmd)->task = t;
	conn_queue_cmd(c, t);
	return true;
}

static void reactor_take_one(struct reactor *r, struct mcsi_cmd *cmd)
{
	/* A connection's handoff never waits behind held SCSI commands: they
	 * wait for a reinstatement, which waits for the handoff's slot. */
	if (cmd_priv(cmd)->op == CMD_OP_ADD_CONN) {
		start_internal(r, cmd);
		return;
	}
	if (r->backlog || !start_cmd(r, cmd)) {
		cmd_priv(cmd)->next = NULL;
		*r->backlog_tail = cmd;
		r->backlog_tail = &cmd_priv(cmd)->next;
	}
}

static void reactor_take(struct reactor *r)
{
	struct mpsc_node *n;

	while (r->backlog) {
		struct mcsi_cmd *cmd = r->backlog;
		if (!start_cmd(r, cmd))
			break;
		r->backlog = cmd_priv(cmd)->next;
		if (!r->backlog)
			r->backlog_tail = &r->backlog;
	}
	while (r->local) {
		struct mcsi_cmd *cmd = r->local;
		r->local = cmd_priv(cmd)->next;
		if (!r->local)
			r->local_tail = &r->local;
		reactor_take_one(r, cmd);
	}
	while ((n = mpsc_pop(&r->inbox)))
		reactor_take_one(r, cmd_of_node(n));
}

void reactor_window_opened(struct reactor *r)
{
	atomic_store_explicit(&r->window_kick, false, memory_order_relaxed);
	r->window_waiters = false;
	for (unsigned i = 0; i < r->nconns; i++)
		conn_tx_kick(r->conns[i]);
}

/* Everything that needs no waiting: new commands to tasks, tasks to PDUs,
 * PDUs to one posted send per connection. */
static void reactor_produce(struct reactor *r)
{
	if (r->sess->erl2)
		conn_erl2_poll(r);       /* before sess_rec_poll() frees failed conns */
	if (r->sess->cfg.rec)
		sess_rec_poll(r);
	reactor_take(r);
	if (r->quiesce)
		reactor_quiesce_poll(r);
	for (unsigned i = 0; i < r->nconns; i++) {
		struct conn *c = r->conns[i];
		if (c->reap && (c->state == CONN_CLOSED || c->state == CONN_FAILED)) {
			reactor_reap(r, c);      /* conns[i] is another now */
			i--;
			continue;
		}
		if (c->state == CONN_DRAIN)
			conn_svc_poll(c);
		conn_tx_kick(c);
		conn_tx_flush(c);
		conn_rx_post(c);
	}
}

int reactor_turn(struct reactor *r, int timeout_ms)
{
	bool app = !r->threaded;
	int rc;

	if (app) {
		/* The application is here, not asleep in its poll(). */
		atomic_store_explicit(&r->owner, self_id(), memory_order_relaxed);
		atomic_store(&r->sleeping, false);
	}
	r->now = sess_now_ns();
	r->completions = 0;
	if (atomic_load_explicit(&r->ctl_req, memory_order_relaxed))
		reactor_requests(r, atomic_exchange(&r->ctl_req, 0));
	if (atomic_load_explicit(&r->window_kick, memory_order_relaxed))
		reactor_window_opened(r);
	reactor_produce(r);
	if (timeout_ms != 0) {
		/* Announce the sleep, then look once more: a submitter that
		 * pushed before seeing the flag is seen here. */
		atomic_store(&r->sleeping, true);
		atomic_thread_fence(memory_order_seq_cst);
		if (!mpsc_empty(&r->inbox) || r->local ||
		    atomic_load(&r->window_kick) || atomic_load(&r->ctl_req))
			timeout_ms = 0;
		rc = xport_wait(r->x, timeout_ms);
		atomic_store(&r->sleeping, false);
	} else {
		rc = xport_wait(r->x, 0);
	}
	r->now = sess_now_ns();
	xport_reap(r->x);
	if (r->now >= r->next_scan) {
		r->next_scan = r->now + SCAN_NS;
		reactor_scan(r);
		reactor_adapt_scan(r);
	}
	reactor_produce(r);
	if (app)
		atomic_store_explicit(&r->owner, 0, memory_order_relaxed);
	if (rc < 0)
		return rc;
	return (int)r->completions;
}

static void *reactor_main(void *arg)
{
	struct reactor *r = arg;

	atomic_store(&r->owner, self_id());
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed))
		reactor_turn(r, reactor_next_timeout(r));
	atomic_store(&r->owner, 0);
	return NULL;
}

int reactor_start(struct reactor *r)
{
	int rc;

	r->threaded = true;        /* before the thread reads it */
	rc = pthread_create(&r->thread, NULL, reactor_main, r);
	if (rc) {
		r->threaded = false;
		return -rc;
	}
	return 0;
}

void reactor_stop(struct reactor *r)
{
	if (!r->threaded)
		return;
	atomic_store(&r->stop, true);
	xport_wake(r->x);
	pthread_join(r->thread, NULL);
	r->threaded = false;
}

/* Checks a command before it gets a task; computes the data lengths. */
static uint32_t iov_len(const struct iovec *iov, int cnt, bool *bad)
{
	uint64_t n = 0;

	if (cnt < 0 || (cnt > 0 && !iov))
		*bad = true;
	for (int i = 0; i < cnt && !*bad; i++)
		n += iov[i].iov_len;
	if (n > UINT32_MAX)
		*bad = true;
	return (uint32_t)n;
}

static int validate(const struct mcsi_cmd *cmd, uint32_t *wlen, uint32_t *rlen)
{
	bool bad = false;
	uint32_t len = iov_len(cmd->iov, cmd->iovcnt, &bad);

	if (cmd->cdb_len == 0 || cmd->cdb_len > MCSI_CDB_MAX || cmd->attr > 4)
		return -EINVAL;
	switch (cmd->dir) {
	case MCSI_DIR_NONE:
		return cmd->len == 0 ? 0 : -EINVAL;
	case MCSI_DIR_READ:
		*rlen = cmd->len;
		break;
	case MCSI_DIR_WRITE:
		*wlen = cmd->len;
		break;
	case MCSI_DIR_BIDI:
		*wlen = cmd->len;
		*rlen = cmd->bidi_len;
		if (iov_len(cmd->bidi_iov, cmd->bidi_iovcnt, &bad) < cmd->bidi_len)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return bad || len < cmd->len ? -EINVAL : 0;
}
