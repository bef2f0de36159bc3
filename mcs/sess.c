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
	struct mcsi_session *s = calloc(1, sizeof(*s));
	struct conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!s || !c) {
		free(s);
		free(c);
		close(h->fd);
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
	/* One queue per connection until MC/S brings more connections. */
	s->nq = 1;
	s->threaded = cfg->queues > 0;
	rc = reactor_create(s, 0, cfg->transport, s->cfg.queue_depth, &s->q[0]);
	if (rc < 0) {
		close(h->fd);
		goto fail;
	}
	rc = conn_init(c, s, s->q[0], h);
	if (rc < 0)
		goto fail;
	if (s->threaded && (rc = reactor_start(s->q[0])) < 0) {
		sess_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
fail:
	free(c);
	reactor_destroy(s->q[0]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	return rc;
}

static void cancel_cmd(struct mcsi_session *s, struct mcsi_cmd *cmd)
{
	cmd->res.err = -ECANCELED;
	atomic_fetch_sub(&s->inflight, 1);
	cmd->done(cmd, cmd->priv);
}

void sess_destroy(struct mcsi_session *s)
{
	if (!s)
		return;
	atomic_store(&s->state, SESS_CLOSED);
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
		while ((n = mpsc_pop(&r->inbox)))
			cancel_cmd(s, cmd_of_node(n));
		reactor_destroy(r);
	}
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
	atomic_fetch_add(&s->inflight, 1);
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

	if (!atomic_compare_exchange_strong(&s->state, &live, SESS_CLOSING))
		return atomic_load(&s->state) == SESS_FAILED ? -ENOTCONN : -EALREADY;
	/* Let what is in flight finish (bounded by the command timeouts). */
	deadline = sess_now_ns() + (uint64_t)(s->cfg.cmd_timeout_ms + 15000) * 1000000ull;
	while (atomic_load(&s->inflight) > 0 && sess_now_ns() < deadline &&
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
	int rc = sess_run_cmd(s, 0, &cmd);
	atomic_store(&s->state, SESS_CLOSED);
	return rc;
}
