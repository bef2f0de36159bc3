/* SPDX-License-Identifier: MIT */
/* Session reinstatement at ERL 0: see sess_rec.h. */
#include "mcs/sess_rec.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcs/conn.h"
#include "mcs/erl_timer.h"
#include "mcs/reactor.h"
#include "mcs/sess.h"
#include "mcs/sess_desc.h"
#include "mcs/sess_mcs.h"
#include "mcs/sess_sm.h"
#include "proto/url.h"

#define MS_NS 1000000ull

enum rec_ready { REC_NONE = 0, REC_LOGGED_IN, REC_GAVE_UP };

struct sess_rec {
	struct sess_desc *desc;
	struct mcsi_session *s;
	char target[URL_NAME_MAX + 1];   /* for messages (the URL may hold a
					  * password) */
	char portal[URL_PORTAL_STRMAX];
	uint32_t replacement_ms;
	pthread_t thread;
	bool started;
	pthread_mutex_t m;
	pthread_cond_t cv;               /* CLOCK_MONOTONIC */
	/* under m */
	bool stop;
	bool lost;                       /* a loss waits for the thread */
	uint64_t since_ns;               /* the session was lost at */
	int lost_err;
	char why[256];                   /* the loss, for the give-up message */
	bool reinstated;                 /* at least once */
	uint64_t done_at;                /* commands completed then */
	unsigned fruitless;              /* losses in a row without progress */
	uint64_t take_by;                /* reactor 0 takes the login over by */
	struct sess_handoff h;           /* REC_LOGGED_IN */
	_Atomic int give_err;            /* REC_GAVE_UP */
	char give_why[160];
	_Atomic int ready;               /* enum rec_ready, for reactor 0 */
};

/* ---- creation ------------------------------------------------------------ */

int sess_rec_create(struct sess_desc *d, uint32_t replacement_ms, struct sess_rec **out)
{
	struct sess_rec *rec = calloc(1, sizeof(*rec));
	pthread_condattr_t ca;

	if (!rec)
		return -ENOMEM;
	rec->desc = sess_desc_get(d);
	const char *url = d->url;
	struct url_iscsi u;
	const char *why = NULL;
	if (url_parse_iscsi(url, strlen(url), &u, &why) == 0) {
		snprintf(rec->target, sizeof(rec->target), "%s", u.target);
		if (url_format_portal(&u.portal, rec->portal, sizeof(rec->portal)) < 0)
			rec->portal[0] = '\0';
	}
	url_iscsi_wipe(&u);
	rec->replacement_ms = replacement_ms;
	rec->h.fd = -1;
	pthread_mutex_init(&rec->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rec->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&rec->ready, REC_NONE);
	*out = rec;
	return 0;
}

void sess_rec_destroy(struct sess_rec *rec)
{
	if (!rec)
		return;
	if (atomic_load(&rec->ready) == REC_LOGGED_IN && rec->h.fd >= 0)
		close(rec->h.fd);
	sess_desc_put(rec->desc);
	pthread_mutex_destroy(&rec->m);
	pthread_cond_destroy(&rec->cv);
	free(rec);
}

/* ---- the recovery thread --------------------------------------------------- */

/* Sleeps on rec->cv (m held) until ns on the monotonic clock or stop. */
static void rec_sleep_until(struct sess_rec *rec, uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (!rec->stop && sess_now_ns() < ns)
		pthread_cond_timedwait(&rec->cv, &rec->m, &ts);
}

static void rec_wake_reactors(struct mcsi_session *s)
{
	for (unsigned q = 0; q < s->nq; q++)
		if (s->q[q])
			xport_wake(s->q[q]->x);
}

/* The two ends of an episode, m held: a logged-in connection for reactor 0
 * to take over, or giving up. */
static void rec_post_login_locked(struct sess_rec *rec, struct mcsi_session *s,
				  const struct sess_handoff *h)
{
	rec->h = *h;
	rec->take_by = sess_now_ns() + 2000 * MS_NS;
	atomic_store(&rec->ready, REC_LOGGED_IN);
	rec_wake_reactors(s);
}

static void rec_post_give_up_locked(struct sess_rec *rec, struct mcsi_session *s,
				    int err, const char *why)
{
	snprintf(rec->give_why, sizeof(rec->give_why), "%s", why);
	rec->give_err = err;
	atomic_store(&rec->ready, REC_GAVE_UP);
	rec_wake_reactors(s);
}

void sess_rec_post_login(struct mcsi_session *s, const struct sess_handoff *h)
{
	struct sess_rec *rec = s->cfg.rec;

	pthread_mutex_lock(&rec->m);
	rec_post_login_locked(rec, s, h);
	pthread_mutex_unlock(&rec->m);
}

void sess_rec_post_give_up(struct mcsi_session *s, int err, const char *why)
{
	struct sess_rec *rec = s->cfg.rec;

	pthread_mutex_lock(&rec->m);
	rec_post_give_up_locked(rec, s, err, why);
	pthread_mutex_unlock(&rec->m);
}

/* A login error no retry can fix: our credentials or our request. */
static bool rec_fatal(int err)
{
	return err == -EACCES || err == -EINVAL || err == -EPROTO;
}

/* One episode, from a loss to a logged-in connection handed to reactor 0
 * (true) or to giving up. Called and returns with m held. */
static bool rec_episode(struct sess_rec *rec)
{
	struct mcsi_session *s = rec->s;
	uint64_t deadline = rec->since_ns + rec->replacement_ms * MS_NS;
	uint32_t t2w = s->params.default_time2wait;
	unsigned attempt = 0;

	/* RFC 7143 13.15: no reinstatement before DefaultTime2Wait. */
	if (t2w > 3600)
		t2w = 3600;
	uint64_t start = rec->since_ns + (uint64_t)t2w * 1000000000ull;
	rec_sleep_until(rec, start < deadline ? start : deadline);
	for (;;) {
		struct sess_handoff h;
		const char *msg = NULL;
		uint32_t lun = 0;
		int rc;

		if (rec->stop)
			return false;
		memset(&h, 0, sizeof(h));
		h.fd = -1;
		pthread_mutex_unlock(&rec->m);
		rc = sess_login_as(rec->desc->url, &rec->desc->opts, s->isid, &h, &lun, &msg);
		pthread_mutex_lock(&rec->m);
		if (rc == 0 && rec->stop) {
			close(h.fd);
			return false;
		}
		if (rc == 0) {
			rec_post_login_locked(rec, s, &h);
			return true;
		}
		uint64_t now = sess_now_ns();
		if (rec_fatal(rc) || now >= deadline) {
			char why[sizeof(rec->give_why)];
			snprintf(why, sizeof(why), "%s%s%s%s%s",
				 rec_fatal(rc) ? "the target refused the login: " :
				 "not reinstated within the replacement timeout; last login: ",
				 strerror(-rc), msg ? " (" : "", msg ? msg : "", msg ? ")" : "");
			rec_post_give_up_locked(rec, s, rec_fatal(rc) ? rc : -ETIMEDOUT, why);
			return false;
		}
		uint64_t wait = erl_backoff_ns(attempt++, SESS_REC_RETRY_MIN_MS,
					       SESS_REC_RETRY_MAX_MS);
		sess_log(s, 6, "reinstatement login failed: %s%s%s; next attempt in %llu ms",
			 strerror(-rc), msg ? ": " : "", msg ? msg : "",
			 (unsigned long long)(wait / MS_NS));
		rec_sleep_until(rec, now + wait < deadline ? now + wait : deadline);
	}
}

/* MC/S: once reactor 0 took the leading connection over, the others are
 * logged in again (non-leading logins into the new session). Called and
 * returns with m held. */
static void rec_more_conns(struct sess_rec *rec)
{
	struct mcsi_session *s = rec->s;
	uint64_t until = sess_now_ns() + 5000 * MS_NS;

	if (s->cfg.connections <= 1)
		return;
	while (!rec->stop && atomic_load(&rec->ready) == REC_LOGGED_IN &&
	       sess_now_ns() < until)
		rec_sleep_until(rec, sess_now_ns() + 10 * MS_NS);
	if (rec->stop || atomic_load(&s->state) != SESS_LIVE)
		return;
	pthread_mutex_unlock(&rec->m);
	unsigned n = sess_add_conns(s, s->cfg.connections - 1);
	pthread_mutex_lock(&rec->m);
	sess_log(s, 6, "reinstated session: %u of %u more connections logged in again",
		 n, s->cfg.connections - 1);
}

static void *rec_main(void *arg)
{
	struct sess_rec *rec = arg;

	pthread_mutex_lock(&rec->m);
	while (!rec->stop) {
		if (!rec->lost) {
			pthread_cond_wait(&rec->cv, &rec->m);
			continue;
		}
		rec->lost = false;
		bool ok = rec_episode(rec);
		/* Losses noted meanwhile were of the old session. */
		rec->lost = false;
		if (ok)
			rec_more_conns(rec);
	}
	pthread_mutex_unlock(&rec->m);
	return NULL;
}

int sess_rec_start(struct mcsi_session *s)
{
	struct sess_rec *rec = s->cfg.rec;
	int rc;

	rec->s = s;
	if ((rc = pthread_create(&rec->thread, NULL, rec_main, rec)) != 0)
		return -rc;
	rec->started = true;
	return 0;
}

void sess_rec_stop(struct mcsi_session *s)
{
	struct sess_rec *rec = s->cfg.rec;

	if (!rec || !rec->started)
		return;
	pthread_mutex_lock(&rec->m);
	rec->stop = true;
	pthread_cond_broadcast(&rec->cv);
	pthread_mutex_unlock(&rec->m);
	pthread_join(rec->thread, NULL);
	rec->started = false;
}

/* ---- the reactor side ------------------------------------------------------ */

/* Commands completed so far on every queue (progress since a
 * reinstatement). */
static uint64_t rec_completed(const struct mcsi_session *s)
{
	uint64_t n = 0;

	for (unsigned q = 0; q < s->nq; q++)
		if (s->q[q])
			n += atomic_load(&s->q[q]->completed);
	return n;
}

/* Takes t off its failed connection and frees it; its command goes back
 * to be routed again as a new one (new ITT, new CmdSN, the whole command). */
static struct mcsi_cmd *rec_unbind(struct reactor *r, struct task *t)
{
	reactor_task_off_conn(t->conn, t);
	return reactor_task_unbind(r, t);
}

/* Puts c's SCSI commands at the front of r's backlog: those the target
 * had seen first, in their CmdSN order, then those never sent. A command
 * being aborted after its timeout fails with -ETIMEDOUT instead. */
static void rec_hold(struct reactor *r, struct conn *c)
{
	struct task *sent = NULL, *unsent = NULL, **ut = &unsent;

	for (uint32_t i = 0; i < r->tt.n; i++) {
		struct task *t = &r->tt.tasks[i], **pp = &sent;
		if (t->kind != TASK_SCSI || t->conn != c ||
		    (t->state != TASK_QUEUED && t->state != TASK_ACTIVE))
			continue;
		if (t->abort_state) {
			t->retry = false;
			t->cmd->res.err = -ETIMEDOUT;
			reactor_finish(r, t, -ETIMEDOUT);
			continue;
		}
		conn_unqueue(c, t);        /* frees t->next for the lists */
		if (t->state == TASK_QUEUED) {
			t->next = NULL;
			*ut = t;
			ut = &t->next;
			continue;
		}
		while (*pp && sn_le((*pp)->cmdsn, t->cmdsn))
			pp = &(*pp)->next;
		t->next = *pp;
		*pp = t;
	}
	struct mcsi_cmd *head = NULL, **tail = &head;
	/* Sent ones, then unsent ones. */
	struct task *lists[2] = { sent, unsent };
	for (unsigned k = 0; k < 2; k++) {
		struct task *t = lists[k];
		while (t) {
			struct task *nx = t->next;
			struct mcsi_cmd *cmd = rec_unbind(r, t);
			cmd_priv(cmd)->next = NULL;
			*tail = cmd;
			tail = &cmd_priv(cmd)->next;
			t = nx;
		}
	}
	if (!head)
		return;
	*tail = r->backlog;
	if (!r->backlog)
		r->backlog_tail = tail;
	r->backlog = head;
}

bool sess_rec_lost(struct conn *c, int err, const char *reason)
{
	struct mcsi_session *s = c->sess;
	struct sess_rec *rec = s->cfg.rec;
	struct reactor *r = c->r;
	int live = SESS_LIVE;

	if (!rec || err == -EPROTO)
		return false;
	if (atomic_load(&s->state) == SESS_LIVE) {
		/* A session that keeps failing without completing a single
		 * command is not meeting a path fault: the target drops it on
		 * a command. Give up instead of looping. */
		uint64_t done = rec_completed(s);
		pthread_mutex_lock(&rec->m);
		rec->fruitless = rec->reinstated && done == rec->done_at ? rec->fruitless + 1 : 0;
		unsigned f = rec->fruitless;
		pthread_mutex_unlock(&rec->m);
		if (f >= SESS_REC_MAX_FRUITLESS) {
			sess_log(s, 3, "%s: session lost %u times in a row without completing a "
				 "command: not reinstating it again", c->peer, f + 1u);
			return false;
		}
	}
	bool first = atomic_compare_exchange_strong(&s->state, &live, SESS_RECOVERING);
	if (!first && live != SESS_RECOVERING)
		return false;
	/* N3, unless ERL 2 took it already: the session's last connection
	 * failed there and its continuation did not come (conn_erl2.c). */
	if (first && sess_sm_state(s) != ERL_Q4_FAILED)
		sess_sm(s, ERL_SE_LAST_CONN_LOST);
	rec_hold(r, c);
	pthread_mutex_lock(&rec->m);
	if (first) {
		rec->since_ns = r->now ? r->now : sess_now_ns();
		rec->lost_err = err;
		snprintf(rec->why, sizeof(rec->why), "%s", reason);
	}
	rec->lost = true;
	pthread_cond_broadcast(&rec->cv);
	pthread_mutex_unlock(&rec->m);
	if (first) {
		sess_log(s, 4, "%s: session lost (%s); reinstating after DefaultTime2Wait %u s, "
			 "replacement timeout %u ms", c->peer, reason,
			 s->params.default_time2wait, rec->replacement_ms);
		struct mcsi_event ev = {
			.type = MCSI_EV_SESSION_LOST, .cid = c->cid, .err = err,
			.reason = "session lost, reinstating",
		};
		sess_event(s, &ev);
	}
	return true;
}

/* Frees r's failed connections: their connection-set slots first (the
 * reinstated session starts an empty set), the memory once the transport
 * has nothing in flight for them (a late completion must not find freed
 * memory). */
static void rec_reap(struct reactor *r)
{
	struct mcsi_session *s = r->sess;

	for (unsigned i = 0; i < r->nconns;) {
		struct conn *c = r->conns[i];
		if (c->state != CONN_FAILED) {
			i++;
			continue;
		}
		if (c->slot >= 0 && c->slot < (int)CSET_MAX && r->slot_conn[c->slot] == c) {
			r->slot_conn[c->slot] = NULL;
			cset_release(&s->cs, c->slot);
		}
		c->slot = -1;
		if (c->xc.send_busy || c->xc.recv_busy || c->reap) {
			i++;
			continue;
		}
		conn_fini(c);              /* removes it from r->conns */
		free(c);
	}
}

/* Gives the logged-in socket back to the recovery thread as a failure. */
static void rec_take_over_failed(struct sess_rec *rec, struct mcsi_session *s,
				 const struct sess_handoff *h, int rc)
{
	sess_log(s, 4, "%s: cannot take over the reinstated connection (%d)", h->peer, rc);
	pthread_mutex_lock(&rec->m);
	rec->lost = true;
	pthread_cond_broadcast(&rec->cv);
	pthread_mutex_unlock(&rec->m);
}

static void rec_take_over(struct reactor *r, struct sess_rec *rec)
{
	struct mcsi_session *s = r->sess;
	struct sess_handoff h;
	struct conn *c;
	int rc, slot;

	rec_reap(r);
	/* Another queue may not have released its failed slot yet: its next
	 * turn does; try again then (bounded). */
	if (atomic_load(&s->cs.used) != 0 && r->now < rec->take_by)
		return;
	pthread_mutex_lock(&rec->m);
	h = rec->h;
	rec->h.fd = -1;
	atomic_store(&rec->ready, REC_NONE);
	uint64_t since = rec->since_ns;
	int lost_err = rec->lost_err;
	pthread_mutex_unlock(&rec->m);
	/* The new session: its TSIH, parameters and CmdSN window replace the
	 * old ones; no connection can use them until this one is up. */
	s->tsih = h.tsih;
	s->params = h.params;
	atomic_store(&s->cmdsn, h.cmdsn);
	atomic_store(&s->window, (uint64_t)h.expcmdsn << 32 | h.maxcmdsn);
	if ((slot = cset_add_lead(&s->cs, h.cid, 0)) < 0) {
		close(h.fd);
		rec_take_over_failed(rec, s, &h, slot);
		return;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		close(h.fd);
		rc = -ENOMEM;
	} else if ((rc = conn_init(c, s, r, &h)) < 0) {   /* closes the fd */
		free(c);
	}
	if (rc < 0) {
		cset_fail(&s->cs, slot);
		cset_release(&s->cs, slot);
		rec_take_over_failed(rec, s, &h, rc);
		return;
	}
	c->slot = slot;
	r->slot_conn[slot] = c;
	pthread_mutex_lock(&rec->m);
	rec->reinstated = true;
	rec->done_at = rec_completed(s);
	pthread_mutex_unlock(&rec->m);
	int recovering = SESS_RECOVERING;
	if (atomic_compare_exchange_strong(&s->state, &recovering, SESS_LIVE))
		sess_sm(s, ERL_SE_REINSTATED);               /* N4, N1 */
	rec_wake_reactors(s);            /* their backlogs go now */
	uint64_t ms = (r->now - since) / MS_NS;
	sess_log(s, 4, "%s: session reinstated after %llu ms (TSIH %u)", c->peer,
		 (unsigned long long)ms, h.tsih);
	struct mcsi_event ev = {
		.type = MCSI_EV_SESSION_REINSTATED, .cid = c->cid, .err = lost_err,
		.param = { (unsigned)ms, 0, 0 }, .reason = "session reinstated",
	};
	sess_event(s, &ev);
}

/* Fails r's backlog (commands held or submitted while recovering). */
static void rec_fail_backlog(struct reactor *r, int err)
{
	while (r->backlog) {
		struct mcsi_cmd *cmd = r->backlog;
		r->backlog = cmd_priv(cmd)->next;
		if (!r->backlog)
			r->backlog_tail = &r->backlog;
		if (cmd_priv(cmd)->op == CMD_OP_SCSI)
			cmd->res.err = err;
		reactor_complete(r, cmd, err);
	}
}

static void rec_give_up(struct reactor *r, struct sess_rec *rec)
{
	struct mcsi_session *s = r->sess;

	pthread_mutex_lock(&rec->m);
	atomic_store(&rec->ready, REC_NONE);
	int err = rec->give_err;
	char why[sizeof(rec->why)];
	memcpy(why, rec->why, sizeof(why));
	pthread_mutex_unlock(&rec->m);

	int recovering = SESS_RECOVERING;
	if (atomic_compare_exchange_strong(&s->state, &recovering, SESS_FAILED))
		sess_sm(s, ERL_SE_REPLACEMENT_TIMEOUT);
	sess_error(s, "%s: session to %s lost (%s) and given up: %s",
		   rec->portal, rec->target, why, rec->give_why);
	struct mcsi_event ev = {
		.type = MCSI_EV_SESSION_FAILED, .err = err, .reason = "session not reinstated",
	};
	sess_event(s, &ev);
	rec_fail_backlog(r, err);
	rec_wake_reactors(s);            /* theirs fail at their next turn */
}

void sess_rec_poll(struct reactor *r)
{
	struct mcsi_session *s = r->sess;
	struct sess_rec *rec = s->cfg.rec;
	int st = atomic_load_explicit(&s->state, memory_order_acquire);

	if (st == SESS_LIVE)
		return;                  /* the common case: one load */
	if (st == SESS_RECOVERING) {
		rec_reap(r);
		if (r->index == 0) {
			int rd = atomic_load_explicit(&rec->ready, memory_order_acquire);
			if (rd == REC_LOGGED_IN)
				rec_take_over(r, rec);
			else if (rd == REC_GAVE_UP)
				rec_give_up(r, rec);
		}
		return;
	}
	if (st == SESS_FAILED && rec->give_err && r->backlog)
		rec_fail_backlog(r, rec->give_err);
}

void sess_rec_settle(struct mcsi_session *s)
{
	struct sess_rec *rec = s->cfg.rec;
	uint64_t until = sess_now_ns() + ((rec ? rec->replacement_ms : 0) + 1000ull) * MS_NS;

	while (atomic_load(&s->state) == SESS_RECOVERING && sess_inflight(s) > 0 &&
	       sess_now_ns() < until) {
		if (s->threaded)
			usleep(1000);
		else
			reactor_turn(s->q[0], 10);
	}
}
