/* SPDX-License-Identifier: MIT */
/* ERL 2 connection recovery on the reactors: see conn_erl2.h. */
#include "mcs/conn_erl2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcs/conn.h"
#include "mcs/conn_sm.h"
#include "mcs/erl_task.h"
#include "mcs/reactor.h"
#include "mcs/sess_erl2.h"
#include "mcs/sess_mcs.h"
#include "mcs/sess_rec.h"
#include "mcs/sess_sm.h"
#include "proto/serial.h"

#define MS_NS 1000000ull

bool conn_erl2_pending(const struct mcsi_session *s)
{
	return s->erl2 && atomic_load_explicit(&s->erl2->active, memory_order_acquire) > 0;
}

static bool task_writes(const struct task *t)
{
	return t->cmd && (t->cmd->dir == MCSI_DIR_WRITE || t->cmd->dir == MCSI_DIR_BIDI);
}

static bool task_reads(const struct task *t)
{
	return t->cmd && (t->cmd->dir == MCSI_DIR_READ || t->cmd->dir == MCSI_DIR_BIDI);
}

bool conn_erl2_stale_drop(const struct mcsi_session *s, uint16_t cid)
{
	struct sess_erl2 *e = s->erl2;
	uint64_t now = sess_now_ns();

	if (!e)
		return false;
	for (unsigned i = 0; i < ERL2_EPS; i++)
		if (atomic_load(&e->ep[i].owner) && e->ep[i].cid == cid)
			return true;
	for (unsigned i = 0; i < 8; i++)
		if (atomic_load(&e->recent[i].cid) == cid &&
		    now - atomic_load(&e->recent[i].ns) < ERL2_STALE_MS * MS_NS)
			return true;
	return false;
}

uint32_t conn_erl2_expdatasn(const struct task *t)
{
	return task_writes(t) && !task_reads(t) ? t->exp_r2tsn : t->exp_datasn;
}

bool conn_erl2_r2t_resync(struct task *t, uint32_t sn)
{
	if (t->erl2 < ERL2_T_REASSIGNING || !sn_gt(sn, t->exp_r2tsn))
		return false;
	t->exp_r2tsn = sn;
	return true;
}

/* The command timeout again, from now (none while a task is held). */
static void task_rearm(struct reactor *r, struct task *t)
{
	unsigned ms = t->cmd->timeout_ms ? t->cmd->timeout_ms : r->sess->cfg.cmd_timeout_ms;

	t->deadline_ns = ms ? r->now + ms * MS_NS : 0;
}

/* ---- holding a failed connection's tasks ------------------------------------ */

static unsigned erl2_hold(struct reactor *r, struct conn *c)
{
	struct mcsi_cmd *head = NULL, **tail = &head;
	unsigned held = 0;

	for (uint32_t i = 0; i < r->tt.n; i++) {
		struct task *t = &r->tt.tasks[i];
		if (t->conn != c || (t->state != TASK_QUEUED && t->state != TASK_ACTIVE))
			continue;
		reactor_task_off_conn(c, t);
		if (t->kind != TASK_SCSI) {
			/* A TMF, ping or logout of a dead connection means
			 * nothing on another one: its requester decides. */
			reactor_finish(r, t, -ECONNRESET);
			continue;
		}
		if (t->abort_state) {
			t->retry = false;
			t->cmd->res.err = -ETIMEDOUT;
			reactor_finish(r, t, -ETIMEDOUT);
			continue;
		}
		if (t->state == TASK_QUEUED && t->erl2 != ERL2_T_RETRY) {
			/* Never sent (no CmdSN): routed again, on any
			 * connection. */
			struct mcsi_cmd *cmd = reactor_task_unbind(r, t);
			cmd_priv(cmd)->next = NULL;
			*tail = cmd;
			tail = &cmd_priv(cmd)->next;
			continue;
		}
		t->state = TASK_ACTIVE;
		t->erl2 = ERL2_T_HELD;
		t->deadline_ns = 0;          /* no timeout while it waits */
		t->nr2t = t->r2t_head = t->r2t_built = 0;
		held++;
	}
	c->ping = NULL;
	c->text = NULL;
	if (head) {
		*tail = r->backlog;
		if (!r->backlog)
			r->backlog_tail = tail;
		r->backlog = head;
	}
	return held;
}

static void ep_end(struct sess_erl2 *e, struct erl2_ep *ep)
{
	ep->c = NULL;
	ep->via = NULL;
	ep->stage = ERL2_ST_IDLE;
	atomic_store(&ep->owner, 0);
	atomic_fetch_sub(&e->active, 1);
}

bool conn_erl2_lost(struct conn *c, int err, const char *reason)
{
	struct mcsi_session *s = c->sess;
	struct sess_erl2 *e = s->erl2;
	struct reactor *r = c->r;

	if (!e || s->params.error_recovery_level < 2 || err == -EPROTO ||
	    atomic_load(&s->state) != SESS_LIVE || c->slot < 0 || c->slot >= (int)CSET_MAX)
		return false;
	uint32_t sw = atomic_load(&s->cs.slot[c->slot].sw);
	if (cset_state_of(sw) == CSET_LEAVING && c->inflight == 0)
		return false;            /* logging out anyway: nothing to recover */
	struct erl2_ep *ep = NULL;
	for (unsigned i = 0; i < ERL2_EPS && !ep; i++) {
		unsigned free_ = 0;
		if (atomic_compare_exchange_strong(&e->ep[i].owner, &free_, r->index + 1))
			ep = &e->ep[i];
	}
	if (!ep)
		return false;
	cset_fail(&s->cs, c->slot);
	/* The others carry on (Q3); with none left the session failed (N3)
	 * and a login with its TSIH will continue it (N5, erl2_done()). */
	sess_sm_conn_lost(s);
	uint64_t now = r->now ? r->now : sess_now_ns();
	ep->c = c;
	ep->stage = ERL2_ST_WAIT;
	ep->since = now;
	ep->when = 0;
	ep->err = err;
	ep->cid = c->cid;
	ep->slot = c->slot;
	ep->logout_done = false;
	ep->via = NULL;
	pthread_mutex_lock(&e->m);
	snprintf(ep->portal, sizeof(ep->portal), "%s", sess_mcs_portal(s, c->slot));
	if (!ep->portal[0])
		snprintf(ep->portal, sizeof(ep->portal), "%s", c->peer);
	pthread_mutex_unlock(&e->m);
	struct erl_rec_cfg cfg = {
		.erl = 2,
		.time2wait_s = s->params.default_time2wait,
		.time2retain_s = s->params.default_time2retain,
		.retry_min_ms = ERL2_RETRY_MIN_MS, .retry_max_ms = ERL2_RETRY_MAX_MS,
		.prefer_logout = e->prefer_logout,
		.max_reissues = ERL2_MAX_REISSUES,
	};
	erl_rec_start(&ep->rec, &cfg, now);
	if (e->close_only)
		ep->rec.reinstate_failed = true;   /* erl_rec then asks for reason 1 */
	atomic_fetch_add(&e->active, 1);
	ep->held = erl2_hold(r, c);
	sess_log(s, 4, "%s: connection %u lost (%s): %u commands held for connection "
		 "recovery (ErrorRecoveryLevel 2, DefaultTime2Wait %u s, DefaultTime2Retain %u s)",
		 c->peer, c->cid, reason, ep->held, cfg.time2wait_s, cfg.time2retain_s);
	return true;
}

/* ---- giving way to session recovery, or failing -------------------------------- */

static void erl2_fail_tasks(struct reactor *r, struct conn *c, int err)
{
	for (uint32_t i = 0; i < r->tt.n; i++) {
		struct task *t = &r->tt.tasks[i];
		if (t->conn != c || (t->state != TASK_QUEUED && t->state != TASK_ACTIVE))
			continue;
		t->erl2 = ERL2_T_NONE;
		t->retry = false;
		if (t->kind == TASK_SCSI)
			t->cmd->res.err = err;
		reactor_finish(r, t, err);
	}
}

/* The held tasks go with a session reinstatement (ERL 0 path: re-issued on
 * the new session), or fail when there is none. */
static void erl2_to_session(struct reactor *r, struct sess_erl2 *e, struct erl2_ep *ep,
			    const char *why)
{
	struct mcsi_session *s = r->sess;
	struct conn *c = ep->c;
	bool held;

	for (uint32_t i = 0; i < r->tt.n; i++)
		if (r->tt.tasks[i].conn == c)
			r->tt.tasks[i].erl2 = ERL2_T_NONE;
	if (atomic_load(&s->state) == SESS_LIVE)
		sess_log(s, 4, "%s: connection %u not recovered (%s): recovering the session",
			 c->peer, ep->cid, why);
	if (c->slot >= 0) {
		held = sess_conn_lost(c, ep->err, why);
	} else {
		held = sess_rec_lost(c, ep->err, why);
		for (unsigned q = 0; held && q < s->nq; q++)
			if (s->q[q])
				reactor_request(s->q[q], REACTOR_REQ_FAIL_ALL);
	}
	if (!held)
		erl2_fail_tasks(r, c, ep->err);
	/* c stays FAILED on r: the reinstatement frees it (sess_rec_poll), or
	 * sess_destroy() does. */
	ep_end(e, ep);
}

/* ---- carrying out the cleanup's outcome ------------------------------------------ */

/* t's command counts against the depth of n's slot from now on. */
static void erl2_move(struct reactor *r, struct task *t, struct conn *n)
{
	struct cmd_priv *p = cmd_priv(t->cmd);

	if (p->slot1)
		cset_unsubmitted(&r->sess->cs, p->slot1 - 1);
	p->slot1 = 0;
	if (n->slot >= 0) {
		cset_submitted(&r->sess->cs, n->slot);
		p->slot1 = (int16_t)(n->slot + 1);
	}
	t->conn = n;
}

/* As a new command: new ITT and CmdSN, the whole command again. */
static void erl2_reissue(struct reactor *r, struct task *t)
{
	t->erl2 = ERL2_T_NONE;
	t->erl2_reissues++;
	t->retry = true;
	task_rearm(r, t);
	memset(&t->cmd->res, 0, sizeof(t->cmd->res));
	/* reactor_task_done() queues it again; should its connection be gone
	 * by then, the command fails instead of completing without data. */
	reactor_finish(r, t, -EIO);
}

static void erl2_reassign_done(struct task *tmf, int err);

/* TASK REASSIGN of t on n: reads resume from the ExpDataSN asked for
 * (erl_din_reassign(): the first missing Data-In, or the last one again
 * when none is missing; what arrives again lands at its offset and
 * overwrites the same bytes), writes forget their R2Ts and answer the
 * target's new ones from the caller's buffer; no unsolicited data again. */
static void erl2_reassign(struct reactor *r, struct task *t, struct conn *n)
{
	if (task_reads(t)) {
		t->exp_datasn = erl_din_reassign(&t->din, true);
		t->rx_bytes = erl_din_bytes(&t->din);
	}
	if (task_writes(t)) {
		t->nr2t = t->r2t_head = t->r2t_built = 0;
		t->unsol_sent = t->unsol_end;
		t->r2t_asked = 0;
	}
	t->state = TASK_ACTIVE;
	t->counted = true;
	n->inflight++;
	t->erl2 = ERL2_T_REASSIGNING;
	if (reactor_tmf(r, n, TMF_TASK_REASSIGN, t->lun, t, erl2_reassign_done, NULL) < 0)
		erl2_reissue(r, t);
}

/* Retries go to the front of n's command queue in CmdSN order: the
 * target waits for the lowest, and commands behind it may wait for the
 * window it holds shut. */
static void erl2_queue_retries(struct conn *n, struct task *list)
{
	struct task *rev = NULL;

	while (list) {                   /* list is in ascending CmdSN */
		struct task *nx = list->next;
		list->next = rev;
		rev = list;
		list = nx;
	}
	while (rev) {
		struct task *nx = rev->next;
		rev->state = TASK_QUEUED;
		rev->erl2 = ERL2_T_RETRY;
		rev->next = n->cmdq;
		if (!n->cmdq)
			n->cmdq_tail = &rev->next;
		n->cmdq = rev;
		rev = nx;
	}
}

static void erl2_apply(struct reactor *r, struct erl2_ep *ep,
		       const struct erl_cleanup_facts *f, struct conn *n,
		       unsigned *reassigned, unsigned *other)
{
	struct conn *c = ep->c;
	struct task *retries = NULL;

	*reassigned = *other = 0;
	for (uint32_t i = 0; i < r->tt.n; i++) {
		struct task *t = &r->tt.tasks[i];
		if (t->conn != c || t->kind != TASK_SCSI ||
		    (t->state != TASK_QUEUED && t->state != TASK_ACTIVE))
			continue;
		struct erl_task_facts tf = {
			.scsi = true, .has_cmdsn = true, .cmdsn = t->cmdsn,
			.reissues = t->erl2_reissues,
		};
		int err = 0;
		enum erl_task_action a = erl_task_plan(&tf, f, &err);
		erl2_move(r, t, n);
		switch (a) {
		case ERL_TA_RETRY: {
			/* The same PDU: same ITT and CmdSN, immediate data again. */
			struct task **pp = &retries;
			t->exp_datasn = t->rx_bytes = t->exp_r2tsn = t->r2t_asked = 0;
			task_rearm(r, t);
			while (*pp && sn_le((*pp)->cmdsn, t->cmdsn))
				pp = &(*pp)->next;
			t->next = *pp;
			*pp = t;
			(*other)++;
			break;
		}
		case ERL_TA_REASSIGN:
			erl2_reassign(r, t, n);
			(*reassigned)++;
			break;
		case ERL_TA_FAIL:
			t->erl2 = ERL2_T_NONE;
			t->retry = false;
			t->cmd->res.err = err;
			reactor_finish(r, t, err);
			break;
		default:
			erl2_reissue(r, t);
			(*other)++;
			break;
		}
	}
	erl2_queue_retries(n, retries);
	conn_tx_kick(n);
}

/* The failed connection's slot goes (its commands' depth moved first). */
static void erl2_release_slot(struct reactor *r, struct erl2_ep *ep)
{
	struct conn *c = ep->c;

	if (c->slot >= 0 && c->slot < (int)CSET_MAX) {
		if (r->slot_conn[c->slot] == c)
			r->slot_conn[c->slot] = NULL;
		cset_release(&r->sess->cs, c->slot);
	}
	c->slot = -1;
}

static void erl2_done(struct reactor *r, struct erl2_ep *ep, struct conn *n,
		      unsigned reassigned, unsigned other, int how)
{
	struct mcsi_session *s = r->sess;
	uint64_t ms = (r->now - ep->since) / MS_NS;

	ep->stage = ERL2_ST_REAP;
	struct sess_erl2 *e = s->erl2;
	unsigned k = atomic_fetch_add(&e->recent_next, 1) % 8u;
	atomic_store(&e->recent[k].ns, sess_now_ns());
	atomic_store(&e->recent[k].cid, ep->cid);
	sess_log(s, 4, "%s: connection %u recovered after %llu ms by %s: %u commands "
		 "reassigned, %u retried or re-issued", n->peer, ep->cid,
		 (unsigned long long)ms, how == 1 ? "reinstating it" : "a Logout from connection",
		 reassigned, other);
	/* The first CID back in a session that had none: continuation. */
	if (how == 1 && sess_sm_from(s, ERL_Q4_FAILED, ERL_SE_CONTINUED))
		sess_log(s, 4, "%s: session continued after %llu ms: connection %u logged in "
			 "again with TSIH %u within DefaultTime2Retain (RFC 7143 N5)", n->peer,
			 (unsigned long long)ms, ep->cid, (unsigned)s->tsih);
	struct mcsi_event ev = {
		.type = MCSI_EV_CONN_RECOVERED, .cid = ep->cid, .err = ep->err,
		.code = (uint8_t)how,
		.param = { (unsigned)ms, reassigned, other },
		.reason = how == 1 ? "connection reinstated" : "connection logged out for recovery",
	};
	sess_event(s, &ev);
}

static enum erl_rec_outcome login_outcome(int rc)
{
	switch (rc) {
	case -EUSERS: case -EBUSY: case -ENOENT: case -EACCES: case -EINVAL:
		return ERL_RES_REFUSED;
	default:
		return ERL_RES_UNREACHABLE;
	}
}

static void erl2_sync_done(struct task *t, int err)
{
	struct erl2_ep *ep = t->ctl_priv;

	ep->sync_done = true;
	ep->sync_err = err;
}

/* Which of the held commands reached the target is decided by its current
 * ExpCmdSN (RFC 7143 11.14: what it did not acknowledge it discarded, and
 * waits for that CmdSN): asked for with a NOP-Out ping on the reinstated
 * connection, whose NOP-In carries it. */
static void erl2_sync(struct reactor *r, struct sess_erl2 *e, struct erl2_ep *ep)
{
	struct task *t = task_alloc(&r->tt, TASK_NOP);

	if (!t) {
		erl2_to_session(r, e, ep, "no task for a ping");
		return;
	}
	t->ctl_done = erl2_sync_done;
	t->ctl_priv = ep;
	t->deadline_ns = r->now + 10000 * MS_NS;
	ep->sync_done = false;
	ep->stage = ERL2_ST_SYNC;
	conn_queue_ctl(ep->via, t);
	conn_tx_kick(ep->via);
}

static void erl2_sync_result(struct reactor *r, struct sess_erl2 *e, struct erl2_ep *ep)
{
	struct mcsi_session *s = r->sess;
	struct erl_cleanup_facts f;
	struct conn *n = ep->via;

	if (ep->sync_err || !conn_usable(n)) {
		erl2_to_session(r, e, ep, "the reinstated connection failed");
		return;
	}
	uint32_t exp = sess_win_exp(atomic_load(&s->window));
	erl_rec_result(&ep->rec, r->now, ERL_RES_OK, exp, &f);
	unsigned reassigned, other;
	erl2_apply(r, ep, &f, n, &reassigned, &other);
	erl2_done(r, ep, n, reassigned, other, 1);
}

static void erl2_login_result(struct reactor *r, struct sess_erl2 *e, struct erl2_ep *ep)
{
	struct mcsi_session *s = r->sess;
	struct erl_cleanup_facts f;
	struct sess_handoff h;
	struct cset_ticket tk;
	const char *msg = NULL;
	struct conn *n = NULL;
	int rc = sess_erl2_take_login(s, ep, &h, &msg);

	ep->stage = ERL2_ST_WAIT;
	ep->when = 0;
	if (rc < 0) {
		sess_log(s, 4, "%s: reinstating connection %u failed: %s%s%s", ep->portal,
			 ep->cid, strerror(-rc), msg ? ": " : "", msg ? msg : "");
		erl_rec_result(&ep->rec, r->now, login_outcome(rc), 0, &f);
		conn_sm(ep->c, ERL_CE_CLEANUP_FAIL);
		return;
	}
	/* The login with its CID reached full feature phase: the target
	 * has let the old connection go (6.3.4). */
	conn_sm(ep->c, ERL_CE_CLEANUP_OK);
	/* The new connection takes a slot of its own with the old CID. */
	erl2_release_slot(r, ep);
	if ((rc = cset_reserve(&s->cs, (int)r->index, &tk)) == 0) {
		atomic_store(&s->cs.slot[tk.slot].cid, h.cid);
		if (!(n = calloc(1, sizeof(*n))))
			rc = -ENOMEM;
		else if ((rc = conn_init(n, s, r, &h)) < 0)   /* closes the fd */
			free(n);
		h.fd = -1;
		if (rc < 0)
			cset_cancel(&s->cs, tk.slot);
	}
	if (rc < 0) {
		if (h.fd >= 0)
			close(h.fd);
		erl2_to_session(r, e, ep, "the reinstated connection could not start");
		return;
	}
	n->slot = tk.slot;
	r->slot_conn[tk.slot] = n;
	cset_publish(&s->cs, tk.slot);
	ep->via = n;
	erl2_sync(r, e, ep);
}

static void erl2_logout_done(struct task *t, int err)
{
	struct erl2_ep *ep = t->ctl_priv;

	ep->logout_done = true;
	ep->logout_err = err;
	ep->logout_rsp = t->tmf_response;
}

void conn_erl2_logout_times(struct reactor *r, struct task *t, uint16_t t2w, uint16_t t2r)
{
	struct erl2_ep *ep = t->ctl_priv;
	uint8_t rsp = t->tmf_response;

	if (t->ctl_done != erl2_logout_done || !ep || (!t2w && !t2r))
		return;
	/* RFC 7143 11.15.2/11.15.3: answered 0 to reason 2, they time the
	 * task reassignment; answered 2 or 3 (any reason), the next Logout
	 * or login of the CID. Answered 1, they are invalid. */
	if (rsp == LOGOUT_RSP_OK ? ep->logout_reason != LOGOUT_REMOVE_FOR_RECOVERY
	    : rsp != LOGOUT_RSP_RECOVERY_UNSUPPORTED && rsp != LOGOUT_RSP_CLEANUP_FAILED)
		return;
	erl_rec_logout_times(&ep->rec, r->now, t2w, t2r);
	sess_log(r->sess, 6, "connection %u: the Logout Response (%u) restates Time2Wait %u s, "
		 "Time2Retain %u s", ep->cid, rsp, t2w, t2r);
}

/* A usable connection of r other than c, or NULL. */
static struct conn *erl2_survivor(struct reactor *r, const struct conn *c)
{
	for (unsigned i = 0; i < r->nconns; i++)
		if (r->conns[i] != c && conn_usable(r->conns[i]) &&
		    r->conns[i]->slot >= 0 && cset_usable(&r->sess->cs, r->conns[i]->slot))
			return r->conns[i];
	return NULL;
}

static unsigned erl2_survivors(struct reactor *r, const struct conn *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->nconns; i++)
		if (r->conns[i] != c && conn_usable(r->conns[i]))
			n++;
	return n;
}

static int erl2_send_logout(struct reactor *r, struct erl2_ep *ep, enum logout_reason reason)
{
	struct conn *via = erl2_survivor(r, ep->c);
	struct task *t;

	if (!via)
		return -ENOTCONN;
	if (!(t = task_alloc(&r->tt, TASK_LOGOUT)))
		return -EAGAIN;
	t->tmf_fn = (uint8_t)reason;
	t->ref_itt = CONN_ERL2_OTHER_CID | ep->cid;
	t->ref_cmdsn = ep->c->exp_statsn;
	t->ctl_done = erl2_logout_done;
	t->ctl_priv = ep;
	t->deadline_ns = r->now + 10000 * MS_NS;
	ep->logout_done = false;
	ep->logout_reason = (uint8_t)reason;
	ep->via = via;
	conn_queue_ctl(via, t);
	conn_tx_kick(via);
	sess_log(r->sess, 6, "%s: Logout (reason %u) of connection %u sent on connection %u",
		 via->peer, (unsigned)reason, ep->cid, via->cid);
	return 0;
}

static void erl2_logout_result(struct reactor *r, struct sess_erl2 *e, struct erl2_ep *ep)
{
	struct mcsi_session *s = r->sess;
	struct erl_cleanup_facts f;
	enum erl_rec_outcome o;

	/* The response's Time2Wait: no reassignment before it. */
	if (ep->logout_err == 0 && ep->logout_reason == LOGOUT_REMOVE_FOR_RECOVERY &&
	    r->now < ep->rec.clock.wait_until)
		return;
	ep->stage = ERL2_ST_WAIT;
	ep->when = 0;
	if (ep->logout_err == 0)
		o = ERL_RES_OK;
	else if (ep->logout_err == -EIO)
		o = ep->logout_rsp == LOGOUT_RSP_CID_NOT_FOUND ? ERL_RES_CID_UNKNOWN : ERL_RES_REFUSED;
	else
		o = ERL_RES_UNREACHABLE;
	uint32_t exp = sess_win_exp(atomic_load(&s->window));
	int rc = erl_rec_result(&ep->rec, r->now, o, exp, &f);
	/* "CID not found" from a target that dropped the connection when its
	 * socket closed may still hold its tasks for Time2Retain (the test
	 * target does): TASK REASSIGN costs one exchange and tells. */
	if (rc == 0 && o == ERL_RES_CID_UNKNOWN && f.retained &&
	    ep->logout_reason == LOGOUT_REMOVE_FOR_RECOVERY)
		f.tasks_kept = true;
	if (rc == 0 && ep->logout_reason == LOGOUT_CLOSE_CONNECTION)
		sess_conn_logged_out(s);     /* LIO: no session logout right after */
	if (rc < 0) {
		sess_log(s, 4, "connection %u: Logout for recovery failed (%d, response %u)",
			 ep->cid, ep->logout_err, ep->logout_rsp);
		conn_sm(ep->c, ERL_CE_CLEANUP_FAIL);
		return;
	}
	conn_sm(ep->c, ERL_CE_CLEANUP_OK);
	struct conn *n = ep->via && conn_usable(ep->via) ? ep->via : erl2_survivor(r, ep->c);
	if (!n) {
		erl2_to_session(r, e, ep, "no connection left to take its commands");
		return;
	}
	erl2_release_slot(r, ep);
	unsigned reassigned, other;
	erl2_apply(r, ep, &f, n, &reassigned, &other);
	erl2_done(r, ep, n, reassigned, other, 2);
	sess_erl2_request_add(s);        /* the connection count again */
}

/* ---- reassignment answers, probes ---------------------------------------------- */

static uint32_t task_progress(const struct task *t)
{
	return t->exp_datasn + t->exp_r2tsn + t->nr2t + t->rx_bytes;
}

static void erl2_reassign_done(struct task *tmf, int err)
{
	struct reactor *r = tmf->conn->r;
	struct task *t = task_lookup(&r->tt, tmf->ref_itt);

	if (!t || t->erl2 != ERL2_T_REASSIGNING)
		return;
	if (err == -ECONNRESET)
		return;                  /* its new connection failed: held again */
	if (err) {
		erl2_reissue(r, t);
		return;
	}
	switch (erl_reassign_next(tmf->tmf_response, false)) {
	case ERL_RN_RESUME:
		t->erl2 = ERL2_T_RESUMED;
		task_rearm(r, t);
		break;
	case ERL_RN_PROBE:
		t->erl2 = ERL2_T_PROBE;
		t->erl2_mark = task_progress(t);
		t->erl2_by = r->now + ERL2_PROBE_MS * MS_NS;
		task_rearm(r, t);
		if (r->sess->erl2)
			r->sess->erl2->probe_until[r->index] = t->erl2_by + MS_NS;
		break;
	default:
		sess_log(r->sess, 4, "%s: TASK REASSIGN of ITT 0x%08x answered %u: issuing "
			 "the command again", t->conn->peer, t->itt, tmf->tmf_response);
		erl2_reissue(r, t);
		break;
	}
}

/* Tasks whose reassignment LIO answered ambiguously: a PDU of theirs
 * arrived (resumed), or none by the deadline (re-issued). */
static void erl2_probes(struct reactor *r)
{
	for (uint32_t i = 0; i < r->tt.n; i++) {
		struct task *t = &r->tt.tasks[i];
		if (t->erl2 != ERL2_T_PROBE || t->state != TASK_ACTIVE)
			continue;
		if (task_progress(t) != t->erl2_mark)
			t->erl2 = ERL2_T_RESUMED;
		else if (r->now >= t->erl2_by)
			erl2_reissue(r, t);
	}
}

/* ---- the driver -------------------------------------------------------------------- */

static void erl2_reap(struct sess_erl2 *e, struct erl2_ep *ep)
{
	struct conn *c = ep->c;

	/* A late completion of the transport must not find freed memory. */
	if (c->xc.send_busy || c->xc.recv_busy)
		return;
	conn_fini(c);                    /* no task points to it any more */
	free(c);
	ep_end(e, ep);
}

static void erl2_step(struct reactor *r, struct sess_erl2 *e, struct erl2_ep *ep)
{
	struct mcsi_session *s = r->sess;
	int st = atomic_load(&s->state);
	uint64_t when = 0;

	if (ep->stage == ERL2_ST_REAP) {
		erl2_reap(e, ep);
		return;
	}
	if (st == SESS_RECOVERING) {
		erl2_to_session(r, e, ep, "the session is being reinstated");
		return;
	}
	/* Closing: sess_logout() waits for the commands in flight, so the
	 * recovery goes on. */
	if (st != SESS_LIVE && st != SESS_CLOSING) {
		erl2_fail_tasks(r, ep->c, st == SESS_FAILED ? ep->err : -ECANCELED);
		ep_end(e, ep);
		return;
	}
	if (ep->stage == ERL2_ST_LOGIN) {
		if (atomic_load(&ep->login_done))
			erl2_login_result(r, e, ep);
		return;
	}
	if (ep->stage == ERL2_ST_SYNC) {
		if (ep->sync_done)
			erl2_sync_result(r, e, ep);
		return;
	}
	if (ep->stage == ERL2_ST_LOGOUT) {
		if (ep->logout_done)
			erl2_logout_result(r, e, ep);
		return;
	}
	if (ep->when && r->now < ep->when)
		return;
	enum erl_rec_do d = erl_rec_poll(&ep->rec, r->now, erl2_survivors(r, ep->c), &when);
	ep->when = when;
	switch (d) {
	case ERL_DO_NOTHING:
		return;
	case ERL_DO_REINSTATE_CONN:
		ep->stage = ERL2_ST_LOGIN;
		conn_sm(ep->c, ERL_CE_CLEANUP_START);
		sess_log(s, 6, "%s: reinstating connection %u", ep->portal, ep->cid);
		sess_erl2_request_login(s, ep);
		return;
	case ERL_DO_LOGOUT_RECOVERY:
	case ERL_DO_LOGOUT_CLOSE:
		if (erl2_send_logout(r, ep, d == ERL_DO_LOGOUT_RECOVERY ?
				     LOGOUT_REMOVE_FOR_RECOVERY : LOGOUT_CLOSE_CONNECTION) == 0) {
			ep->stage = ERL2_ST_LOGOUT;
			conn_sm(ep->c, ERL_CE_CLEANUP_START);
		} else {
			struct erl_cleanup_facts f;
			erl_rec_result(&ep->rec, r->now, ERL_RES_UNREACHABLE, 0, &f);
		}
		return;
	case ERL_DO_DROP_TASKS:
		conn_sm(ep->c, ERL_CE_STATE_TIMEOUT);
		erl2_to_session(r, e, ep, "DefaultTime2Retain is over");
		return;
	default:
		erl2_to_session(r, e, ep, "the connection cannot be cleaned up");
		return;
	}
}

void conn_erl2_poll(struct reactor *r)
{
	struct sess_erl2 *e = r->sess->erl2;

	if (!e)
		return;
	if (atomic_load_explicit(&e->active, memory_order_acquire)) {
		for (unsigned i = 0; i < ERL2_EPS; i++) {
			struct erl2_ep *ep = &e->ep[i];
			if (atomic_load_explicit(&ep->owner, memory_order_acquire) == r->index + 1)
				erl2_step(r, e, ep);
		}
	}
	if (e->probe_until[r->index] && r->now) {
		erl2_probes(r);
		if (r->now > e->probe_until[r->index])
			e->probe_until[r->index] = 0;
	}
}
