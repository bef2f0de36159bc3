/* SPDX-License-Identifier: MIT */
/*
 * MC/S on the reactor: connections that join (a logged-in socket handed
 * over through the inbox), leave (drain, re-route what has no CmdSN yet,
 * Logout reason 1, free) or are dropped at another thread's request.
 * Everything here runs on the reactor that owns the connection.
 */
#include "mcs/reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS_NS 1000000ull

int reactor_add_handoff(struct reactor *r, const struct reactor_add *a)
{
	struct mcsi_session *s = r->sess;
	struct conn *c;
	int rc;

	/* Logged in to a session that was lost meanwhile: the reinstated
	 * one logs its further connections in again (sess_rec.c). */
	if (atomic_load(&s->state) != SESS_LIVE) {
		close(a->h->fd);
		return -ENOTCONN;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		close(a->h->fd);
		return -ENOMEM;
	}
	if ((rc = conn_init(c, s, r, a->h)) < 0) {   /* closes the fd */
		free(c);
		return rc;
	}
	c->slot = a->slot;
	r->slot_conn[a->slot] = c;
	sess_window_update(s, a->h->expcmdsn, a->h->maxcmdsn);
	if ((rc = cset_publish(&s->cs, a->slot)) < 0) {
		r->slot_conn[a->slot] = NULL;
		conn_fini(c);
		free(c);
		return rc;
	}
	struct mcsi_event ev = { .type = MCSI_EV_CONN_ADDED, .cid = c->cid };
	sess_event(s, &ev);
	return 0;
}

/* Commands queued on c that have no CmdSN yet go back through the
 * scheduler (c is leaving): they lose their task and slot and are taken
 * again from this reactor's local list. */
static void reactor_reroute(struct reactor *r, struct conn *c)
{
	struct task *t;

	while ((t = c->cmdq)) {
		reactor_task_off_conn(c, t);
		if (t->kind != TASK_SCSI) {
			reactor_finish(r, t, -ECANCELED);
			continue;
		}
		/* our thread: the local list */
		reactor_submit(r, reactor_task_unbind(r, t));
	}
}

void reactor_conn_leave(struct reactor *r, struct conn *c, uint64_t by_ns)
{
	struct connset *cs = &r->sess->cs;

	if (c->state == CONN_UP) {
		c->state = CONN_DRAIN;
		c->logout_by_ns = by_ns;
	}
	/* The last connection cannot leave alone: its logout ends the
	 * session, and its queued commands wait for that (-ECANCELED). */
	if (cset_usable(cs, c->slot) && cset_leave(cs, c->slot) < 0)
		return;
	reactor_reroute(r, c);
}

void reactor_conn_left(struct conn *c, int err)
{
	struct mcsi_cmd *cmd = c->leave_cmd;

	if (c->state != CONN_CLOSED && c->state != CONN_FAILED)
		conn_closed(c);
	c->reap = true;
	if (cmd) {
		c->leave_cmd = NULL;
		reactor_complete(c->r, cmd, err);
	}
}

int reactor_leave(struct reactor *r, struct mcsi_cmd *cmd, uint32_t slot)
{
	struct conn *c = slot < CSET_MAX ? r->slot_conn[slot] : NULL;

	if (!c || c->leave_cmd)
		return -ENOENT;
	if (c->state != CONN_UP && c->state != CONN_DRAIN)
		return -ENOTCONN;
	c->leave_cmd = cmd;
	struct reactor_drop *d = cmd_priv(cmd)->ptr;
	if (d) {
		/* The remover waits on this duplicate for the target's close
		 * after the Logout Response (our close of c->fd then sends
		 * nothing while it is open). */
		d->fd = c->fd >= 0 ? fcntl(c->fd, F_DUPFD_CLOEXEC, 0) : -1;
	}
	/* In-flight commands finish first, within the command timeout. */
	unsigned ms = r->sess->cfg.cmd_timeout_ms ? r->sess->cfg.cmd_timeout_ms : 30000;
	reactor_conn_leave(r, c, r->now + ms * MS_NS);
	return 0;
}

static bool reactor_quiet(const struct reactor *r)
{
	for (unsigned i = 0; i < r->nconns; i++)
		if (r->conns[i]->inflight > 0)
			return false;
	return true;
}

void reactor_quiesce(struct reactor *r, struct mcsi_cmd *cmd)
{
	if (r->quiesce) {
		reactor_complete(r, cmd, -EBUSY);
		return;
	}
	unsigned ms = r->sess->cfg.cmd_timeout_ms ? r->sess->cfg.cmd_timeout_ms : 30000;
	r->quiesce = cmd;
	r->quiesce_by = r->now + ms * MS_NS;
	reactor_quiesce_poll(r);
}

void reactor_quiesce_poll(struct reactor *r)
{
	struct mcsi_cmd *cmd = r->quiesce;
	bool quiet = reactor_quiet(r);

	if (!quiet && r->now < r->quiesce_by)
		return;
	r->quiesce = NULL;
	reactor_complete(r, cmd, quiet ? 0 : -ETIMEDOUT);
}

/* A connection that logged out alone (or failed while leaving) is freed
 * and its slot and CID released. */
void reactor_reap(struct reactor *r, struct conn *c)
{
	struct mcsi_session *s = r->sess;
	int slot = c->slot;
	struct mcsi_event ev = { .type = MCSI_EV_CONN_REMOVED, .cid = c->cid };

	if (c->leave_cmd) {
		struct mcsi_cmd *cmd = c->leave_cmd;
		c->leave_cmd = NULL;
		reactor_complete(r, cmd, c->fail_err ? c->fail_err : -ECONNRESET);
	}
	if (slot >= 0 && slot < (int)CSET_MAX && r->slot_conn[slot] == c) {
		r->slot_conn[slot] = NULL;
		cset_release(&s->cs, slot);
	}
	conn_fini(c);
	free(c);
	sess_conn_logged_out(s);
	sess_event(s, &ev);
}

/* Requests from other threads (reactor_request()). */
void reactor_requests(struct reactor *r, uint32_t req)
{
	for (unsigned i = 0; i < r->nconns; i++) {
		struct conn *c = r->conns[i];
		if (req & REACTOR_REQ_FAIL_ALL)
			conn_fail(c, -ECONNRESET, "the session is lost: another of its "
				  "connections failed below ErrorRecoveryLevel 2");
		else if (c->slot >= 0 && (req & (1u << c->slot)))
			conn_fail(c, -ECONNRESET, "the target dropped this connection "
				  "(async event 2 received on another connection)");
	}
	if (req & REACTOR_REQ_STATS)
		rstat_publish(r);
}
