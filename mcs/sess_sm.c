/* SPDX-License-Identifier: MIT */
/* A session's RFC 7143 state, moved by erl_sess_step(): see sess_sm.h. */
#include "mcs/sess_sm.h"

#include <pthread.h>
#include <stdatomic.h>

#include "mcs/sess.h"

int sess_sm(struct mcsi_session *s, enum erl_sevent ev)
{
	struct erl_sstep step;

	pthread_mutex_lock(&s->lock);
	enum erl_sstate from = s->rfc ? s->rfc : ERL_Q1_FREE;
	enum erl_sstate st = from;
	int rc = erl_sess_step(&st, ev, &step);
	if (rc == 0)
		s->rfc = st;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		atomic_fetch_add(&s->rfc_illegal, 1);
		sess_log(s, 4, "session: event %s is not allowed in state %s "
			 "(RFC 7143 8.3); ignored", erl_sevent_name(ev), erl_sstate_name(from));
		return rc;
	}
	if (from != st)
		sess_log(s, 7, "session: %s -> %s (%s, %s)", erl_sstate_name(from),
			 erl_sstate_name(st), erl_sevent_name(ev), step.rfc);
	return 0;
}

/* s->lock held: applies ev when s is in from. */
static bool sm_from_locked(struct mcsi_session *s, enum erl_sstate from, enum erl_sevent ev,
			   struct erl_sstep *step)
{
	enum erl_sstate st = s->rfc ? s->rfc : ERL_Q1_FREE;

	if (st != from || erl_sess_step(&st, ev, step) < 0)
		return false;
	s->rfc = st;
	return true;
}

static void sm_log_step(struct mcsi_session *s, enum erl_sevent ev, const struct erl_sstep *step)
{
	if (step->from != step->to)
		sess_log(s, 7, "session: %s -> %s (%s, %s)", erl_sstate_name(step->from),
			 erl_sstate_name(step->to), erl_sevent_name(ev), step->rfc);
}

bool sess_sm_from(struct mcsi_session *s, enum erl_sstate from, enum erl_sevent ev)
{
	struct erl_sstep step;

	pthread_mutex_lock(&s->lock);
	bool done = sm_from_locked(s, from, ev, &step);
	pthread_mutex_unlock(&s->lock);
	if (done)
		sm_log_step(s, ev, &step);
	return done;
}

bool sess_sm_conn_lost(struct mcsi_session *s)
{
	struct erl_sstep step;
	unsigned up = 0;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < (int)CSET_MAX; i++)
		if (cset_usable(&s->cs, i))
			up++;
	enum erl_sevent ev = up ? ERL_SE_CONN_LOST : ERL_SE_LAST_CONN_LOST;
	bool done = sm_from_locked(s, ERL_Q3_LOGGED_IN, ev, &step);
	pthread_mutex_unlock(&s->lock);
	if (done)
		sm_log_step(s, ev, &step);
	return done && ev == ERL_SE_LAST_CONN_LOST;
}

enum erl_sstate sess_sm_state(struct mcsi_session *s)
{
	pthread_mutex_lock(&s->lock);
	enum erl_sstate st = s->rfc ? s->rfc : ERL_Q1_FREE;
	pthread_mutex_unlock(&s->lock);
	return st;
}
