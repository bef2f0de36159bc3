/* SPDX-License-Identifier: MIT */
/* Session retention at ERL 2: see retain.h. */
#include "retain.h"

#include <stdarg.h>
#include <stdio.h>

#include "conn.h"
#include "session.h"

#define NS_PER_MS 1000000ull

__attribute__((format(printf, 3, 4)))
static void retain_log(const struct tt_session *s, int level, const char *fmt, ...)
{
	if (level > s->srv->cfg->verbose)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mcsi-testtarget: [session TSIH %u] %s\n", s->tsih, line);
}

static unsigned retain_tasks(const struct tt_session *s)
{
	unsigned n = 0;
	for (const struct tt_task *t = s->orphans; t; t = t->dnext)
		n++;
	return n;
}

bool retain_last_conn(struct tt_session *s, const struct tt_conn *c, bool failed)
{
	/* Below ERL 2 the RFC has no continuation (a connection's loss is
	 * the session's); Time2Retain 0 says nothing is kept. */
	if (s->nconns || !failed || s->state != TT_SESS_LIVE || s->discovery ||
	    s->p.erl < 2 || s->p.time2retain == 0)
		return false;
	s->state = TT_SESS_RETAINED;
	s->retained_at = tt_now_ns();
	s->retain_until = s->retained_at + (uint64_t)s->p.time2retain * 1000 * NS_PER_MS;
	s->retain_cid = c->cid;
	s->retain_statsn = c->statsn;
	retain_log(s, 1, "last connection (CID %u) failed: session retained for %u s "
		   "with %u tasks (ERL 2)", c->cid, s->p.time2retain, retain_tasks(s));
	return true;
}

void retain_join(struct tt_session *s, struct tt_conn *c, uint16_t cid)
{
	if (s->state == TT_SESS_RETAINED && cid == s->retain_cid)
		c->statsn = s->retain_statsn;
}

void retain_continue(struct tt_session *s, const struct tt_conn *c)
{
	if (s->state != TT_SESS_RETAINED)
		return;
	s->state = TT_SESS_LIVE;
	s->refs--;                     /* the login's reference stays */
	uint64_t ms = (tt_now_ns() - s->retained_at) / NS_PER_MS;
	retain_log(s, 1, "session continued by CID %u (%s) %llu ms after its last "
		   "connection failed, %u tasks to reassign", c->cid,
		   c->cid == s->retain_cid ? "connection reinstatement" : "a new CID",
		   (unsigned long long)ms, retain_tasks(s));
}

/* srv->lock held: RETAINED -> GONE, the retention's reference dropped. */
static void retain_drop(struct tt_server *srv, struct tt_session *s,
			struct tt_session **doomed, const char *why)
{
	pthread_mutex_lock(&s->lock);
	s->state = TT_SESS_GONE;
	unsigned n = retain_tasks(s);
	pthread_mutex_unlock(&s->lock);
	retain_log(s, 1, "retention ends (%s): session freed with %u tasks", why, n);
	if (--s->refs)
		return;                  /* a login still looks at it */
	struct tt_session **pp = &srv->sessions;
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	s->next = *doomed;
	*doomed = s;
}

void retain_end(struct tt_server *srv, struct tt_session *s, struct tt_session **doomed)
{
	if (s->state == TT_SESS_RETAINED)
		retain_drop(srv, s, doomed, "session reinstated");
}

static void retain_free_all(struct tt_session *doomed)
{
	while (doomed) {
		struct tt_session *s = doomed;
		doomed = s->next;
		sess_free(s);
	}
}

int retain_expire(struct tt_server *srv)
{
	struct tt_session *doomed = NULL;
	uint64_t now = tt_now_ns(), next = 0;

	pthread_mutex_lock(&srv->lock);
	for (struct tt_session *s = srv->sessions, *nx; s; s = nx) {
		nx = s->next;
		if (s->state != TT_SESS_RETAINED)
			continue;
		if (now >= s->retain_until)
			retain_drop(srv, s, &doomed, "DefaultTime2Retain is over");
		else if (!next || s->retain_until < next)
			next = s->retain_until;
	}
	pthread_mutex_unlock(&srv->lock);
	retain_free_all(doomed);
	if (!next)
		return -1;
	/* Rounded up: waking a little late is harmless, early is a spin. */
	uint64_t ms = (next - now + NS_PER_MS - 1) / NS_PER_MS;
	return ms > 60000 ? 60000 : (int)ms;
}

void retain_shutdown(struct tt_server *srv)
{
	struct tt_session *doomed = NULL;

	pthread_mutex_lock(&srv->lock);
	for (struct tt_session *s = srv->sessions, *nx; s; s = nx) {
		nx = s->next;
		if (s->state == TT_SESS_RETAINED)
			retain_drop(srv, s, &doomed, "target exit");
	}
	pthread_mutex_unlock(&srv->lock);
	retain_free_all(doomed);
}
