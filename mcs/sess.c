/* SPDX-License-Identifier: MIT */
#include "mcs/sess.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcs/conn.h"
#include "mcs/reactor.h"
#include "mcs/reactor_adapt.h"
#include "mcs/sess_erl2.h"
#include "mcs/sess_mcs.h"
#include "mcs/sess_rec.h"
#include "mcs/sess_sm.h"

uint64_t sess_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool sess_window_update(struct mcsi_session *s, uint32_t exp, uint32_t max)
{
	uint64_t old = atomic_load_explicit(&s->window, memory_order_acquire), nw;

	/* RFC 7143 4.2.2.1: ignore a pair with MaxCmdSN < ExpCmdSN - 1;
	 * otherwise each value only moves forward. Several connections
	 * update concurrently, with PDUs that may be older than others. */
	if (!sn_window_valid(exp, max))
		return false;
	do {
		uint32_t oexp = sess_win_exp(old), omax = sess_win_max(old);
		uint32_t nexp = sn_gt(exp, oexp) ? exp : oexp;
		uint32_t nmax = sn_gt(max, omax) ? max : omax;
		if (nexp == oexp && nmax == omax)
			return false;
		nw = (uint64_t)nexp << 32 | nmax;
	} while (!atomic_compare_exchange_weak_explicit(&s->window, &old, nw,
			memory_order_acq_rel, memory_order_acquire));
	return sess_win_max(nw) != sess_win_max(old);
}

__attribute__((format(printf, 3, 0)))
static void sess_vlog(struct mcsi_session *s, int level, const char *fmt, va_list ap)
{
	char msg[SESS_ERR_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (s->cfg.log)
		s->cfg.log(s->cfg.log_priv, level, msg);
	else if (level <= 4)
		fprintf(stderr, "mcsi: %s\n", msg);
}

void sess_log(struct mcsi_session *s, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sess_vlog(s, level, fmt, ap);
	va_end(ap);
}

void sess_error(struct mcsi_session *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->lock);
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&s->lock);
	sess_log(s, 3, "%s", s->err);
}

void sess_event(struct mcsi_session *s, const struct mcsi_event *ev)
{
	if (s->cfg.event)
		s->cfg.event(s, ev, s->cfg.event_priv);
}

int sess_create(const struct sess_handoff *h, const struct sess_cfg *cfg,
		struct mcsi_session **out)
{
	/* aligned: the connection set's slots are cache-line aligned */
	struct mcsi_session *s = aligned_alloc(64, (sizeof(*s) + 63u) & ~(size_t)63u);
	struct conn *c = calloc(1, sizeof(*c));
	int rc;

	if (s)
		memset(s, 0, sizeof(*s));
	if (!s || !c) {
		free(s);
		free(c);
		close(h->fd);
		sess_rec_destroy(cfg->rec);
		return -ENOMEM;
	}
	s->cfg = *cfg;
	if (!s->cfg.queue_depth)
		s->cfg.queue_depth = 128;
	if (s->cfg.queue_depth > TASK_MAX_SLOTS - REACTOR_CTL_TASKS)
		s->cfg.queue_depth = TASK_MAX_SLOTS - REACTOR_CTL_TASKS;
	s->params = h->params;
	memcpy(s->isid, h->isid, sizeof(s->isid));
	s->tsih = h->tsih;
	atomic_init(&s->cmdsn, h->cmdsn);
	atomic_init(&s->window, (uint64_t)h->expcmdsn << 32 | h->maxcmdsn);
	atomic_init(&s->state, SESS_LIVE);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	sess_sm(s, ERL_SE_CONN_UP);      /* the leading login (N1) */
	/* One reactor per queue, but never more queues than connections
	 * can fill: a queue without a connection would forward every
	 * command. The application-driven mode has one reactor. */
	unsigned nq = cfg->queues ? cfg->queues : 1;
	unsigned conns = cfg->connections ? cfg->connections : 1;
	if (nq > conns)
		nq = conns;
	if (nq > h->params.max_connections)
		nq = h->params.max_connections ? h->params.max_connections : 1;
	if (nq > SESS_MAX_QUEUES)
		nq = SESS_MAX_QUEUES;
	if (nq > CSET_MAX)
		nq = CSET_MAX;
	s->threaded = cfg->queues > 0;
	sched_cfg_default(&s->sched);
	s->sched.policy = cfg->policy;
	if ((rc = cset_init(&s->cs, h->params.max_connections ? h->params.max_connections : 1,
			    nq)) < 0) {
		close(h->fd);
		goto fail;
	}
	reactor_adapt_init(s, sess_now_ns());
	for (s->nq = 0; s->nq < nq; s->nq++) {
		rc = reactor_create(s, s->nq, cfg->transport, s->cfg.queue_depth, &s->q[s->nq]);
		if (rc < 0) {
			close(h->fd);
			goto fail;
		}
	}
	int slot = cset_add_lead(&s->cs, h->cid, 0);
	if (slot < 0) {
		close(h->fd);
		rc = slot;
		goto fail;
	}
	rc = conn_init(c, s, s->q[0], h);
	if (rc < 0)
		goto fail;
	c->slot = slot;
	s->q[0]->slot_conn[slot] = c;
	for (unsigned q = 0; s->threaded && q < s->nq; q++) {
		if ((rc = reactor_start(s->q[q])) < 0) {
			sess_destroy(s);
			return rc;
		}
	}
	*out = s;
	return 0;
fail:
	free(c);
	sess_rec_destroy(cfg->rec);
	for (unsigned q = 0; q < s->nq; q++)
		reactor_destroy(s->q[q]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	return rc;
}

static void cancel_cmd(struct mcsi_session *s, struct mcsi_cmd *cmd)
{
	struct cmd_priv *p = cmd_priv(cmd);

	cmd->res.err = -ECANCELED;
	if (p->slot1) {
		cset_unsubmitted(&s->cs, p->slot1 - 1);
		p->slot1 = 0;
	}
	/* Every reactor is stopped: counting on the first is as good. */
	atomic_fetch_add(&s->q[0]->completed, 1);
	cmd->done(cmd, cmd->priv);
}

void sess_destroy(struct mcsi_session *s)
{
	if (!s)
		return;
	atomic_store(&s->state, SESS_CLOSED);
	sess_sm(s, ERL_SE_CLOSED);       /* N2 or N4; nothing if FREE already */
	sess_rec_stop(s);                /* it wakes the reactors */
	sess_erl2_stop(s);
	for (unsigned q = 0; q < s->nq; q++)
		if (s->q[q])
			reactor_stop(s->q[q]);
	for (unsigned q = 0; q < s->nq; q++) {
		struct reactor *r = s->q[q];
		struct mpsc_node *n;
		if (!r)
			continue;
		while (r->nconns > 0) {
			struct conn *c = r->conns[0];
			conn_fini(c);
			free(c);
		}
		while (r->backlog) {
			struct mcsi_cmd *cmd = r->backlog;
			r->backlog = cmd_priv(cmd)->next;
			cancel_cmd(s, cmd);
		}
		while (r->local) {
			struct mcsi_cmd *cmd = r->local;
			r->local = cmd_priv(cmd)->next;
			cancel_cmd(s, cmd);
		}
		while ((n = mpsc_pop(&r->inbox)))
			cancel_cmd(s, cmd_of_node(n));
		reactor_destroy(r);
	}
	sess_rec_destroy(s->cfg.rec);
	sess_erl2_destroy(s);
	sess_mcs_destroy(s);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

struct sess_waiter {
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool done;
};

static void sess_waiter_done(struct mcsi_cmd *cmd, void *priv)
{
	struct sess_waiter *w = priv;

	(void)cmd;
	pthread_mutex_lock(&w->m);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->m);
}

int sess_run_cmd(struct mcsi_session *s, unsigned q, struct mcsi_cmd *cmd)
{
	struct sess_waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
	struct reactor *r = s->q[q % s->nq];

	cmd->done = sess_waiter_done;
	cmd->priv = &w;
	reactor_count_submit(r);
	reactor_submit(r, cmd);
	if (s->threaded) {
		pthread_mutex_lock(&w.m);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.m);
		pthread_mutex_unlock(&w.m);
	} else {
		while (!w.done) {
			int to = reactor_next_timeout(r);
			if (reactor_turn(r, to < 0 || to > 100 ? 100 : to) < 0)
				break;
		}
	}
	pthread_mutex_destroy(&w.m);
	pthread_cond_destroy(&w.cv);
	return w.done ? cmd->res.err : -EIO;
}

int sess_logout(struct mcsi_session *s)
{
	int live = SESS_LIVE;
	uint64_t deadline;

	/* Commands held for a reinstatement finish first (or fail). */
	sess_rec_settle(s);
	/* MC/S: the other connections log out first, one at a time. */
	sess_mcs_logout_others(s);
	if (!atomic_compare_exchange_strong(&s->state, &live, SESS_CLOSING))
		return live == SESS_FAILED || live == SESS_RECOVERING ? -ENOTCONN : -EALREADY;
	/* Let what is in flight finish (bounded by the command timeouts). */
	deadline = sess_now_ns() + (uint64_t)(s->cfg.cmd_timeout_ms + 15000) * 1000000ull;
	while (sess_inflight(s) > 0 && sess_now_ns() < deadline &&
	       atomic_load(&s->state) == SESS_CLOSING) {
		if (s->threaded)
			usleep(1000);
		else
			reactor_turn(s->q[0], 10);
	}
	if (atomic_load(&s->state) != SESS_CLOSING)
		return -ENOTCONN;
	struct mcsi_cmd cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd_priv(&cmd)->op = CMD_OP_LOGOUT;
	cmd_priv(&cmd)->arg = LOGOUT_CLOSE_SESSION;
	sess_mcs_logout_gap(s);
	/* On a queue that still has a usable connection (MC/S: the
	 * leading one may have been removed). */
	unsigned q = 0;
	struct cset_snap v;
	cset_view(&s->cs, &v);
	for (unsigned i = 0; i < v.n; i++)
		if (v.conn[i].state == CSET_UP && v.conn[i].queue < s->nq) {
			q = v.conn[i].queue;
			break;
		}
	int rc = sess_run_cmd(s, q, &cmd);
	atomic_store(&s->state, SESS_CLOSED);
	sess_sm(s, ERL_SE_CLOSED);       /* N2 */
	return rc;
}
