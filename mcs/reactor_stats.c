/* SPDX-License-Identifier: MIT */
/* Per-queue statistics published by each reactor: see mcs/rstat.h. */
#include "mcs/rstat.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "mcs/reactor.h"

static void sums_add_conn(struct rstat_sums *s, const struct conn *c)
{
	const struct conn_stats *st = &c->st;

	s->v[RS_COMMANDS] += st->commands;
	s->v[RS_READS] += st->reads;
	s->v[RS_WRITES] += st->writes;
	s->v[RS_BYTES_IN] += st->bytes_in;
	s->v[RS_BYTES_OUT] += st->bytes_out;
	s->v[RS_PDUS_IN] += st->pdus_in;
	s->v[RS_PDUS_OUT] += st->pdus_out;
	s->v[RS_SENDS] += c->xc.sends;
	s->v[RS_RECVS] += c->xc.recvs;
	s->v[RS_R2TS] += st->r2ts;
	s->v[RS_NOPS_OUT] += st->nops_out;
	s->v[RS_NOPS_IN] += st->nops_in;
	s->v[RS_RETRIES] += st->retries;
	s->v[RS_TIMEOUTS] += st->timeouts;
}

void rstat_retire(struct reactor *r, const struct conn *c)
{
	sums_add_conn(&r->retired, c);
}

static void sums_of(const struct reactor *r, struct rstat_sums *s)
{
	*s = r->retired;
	s->v[RS_CONNS] = 0;
	for (unsigned i = 0; i < r->nconns; i++)
		sums_add_conn(s, r->conns[i]);
	s->v[RS_CONNS] = r->nconns;
}

void rstat_publish(struct reactor *r)
{
	struct rstat_pub *p = &r->pub;
	struct rstat_sums s;
	uint32_t seq = atomic_load_explicit(&p->seq, memory_order_relaxed);

	sums_of(r, &s);
	/* Sequence-lock writer: odd, the values, even again. */
	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (unsigned i = 0; i < RS_N; i++)
		atomic_store_explicit(&p->v[i], s.v[i], memory_order_relaxed);
	atomic_store_explicit(&p->seq, seq + 2, memory_order_release);
}

void rstat_read(const struct rstat_pub *p, struct rstat_sums *out)
{
	for (;;) {
		uint32_t a = atomic_load_explicit(&p->seq, memory_order_acquire);
		if (a & 1u)
			continue;
		for (unsigned i = 0; i < RS_N; i++)
			out->v[i] = atomic_load_explicit(&p->v[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&p->seq, memory_order_relaxed) == a)
			return;
	}
}

static bool on_reactor_of(const struct mcsi_session *s)
{
	uintptr_t self = (uintptr_t)pthread_self();

	for (unsigned q = 0; q < s->nq; q++)
		if (s->q[q] && atomic_load_explicit(&s->q[q]->owner, memory_order_relaxed) == self)
			return true;
	return false;
}

/* Asks r for fresh sums and waits (bounded) until a publication that
 * started after the request is complete. */
static void pub_refresh(struct reactor *r)
{
	uint32_t s0 = atomic_load_explicit(&r->pub.seq, memory_order_acquire);
	/* Even: the next publication ends at s0 + 2. Odd: one is under way
	 * and may predate the request; the one after it ends at s0 + 3. */
	uint32_t want = s0 + ((s0 & 1u) ? 3u : 2u);
	struct timespec step = { 0, 20000 };      /* 20 µs */
	uint64_t until = sess_now_ns() + RSTAT_WAIT_MS * 1000000ull;

	reactor_request(r, REACTOR_REQ_STATS);
	while ((int32_t)(atomic_load_explicit(&r->pub.seq, memory_order_acquire) - want) < 0) {
		if (sess_now_ns() >= until)
			return;              /* stuck or stopped: the last sums */
		nanosleep(&step, NULL);
	}
}

int rstat_collect(struct mcsi_session *s, struct mcsi_stats *st)
{
	struct rstat_sums sum, one;
	bool callback = on_reactor_of(s);

	memset(&sum, 0, sizeof(sum));
	memset(st, 0, sizeof(*st));
	st->queues = s->nq;
	for (unsigned q = 0; q < s->nq; q++) {
		struct reactor *r = s->q[q];
		if (!r)
			continue;
		st->transport = xport_name(r->x);
		uintptr_t owner = atomic_load_explicit(&r->owner, memory_order_relaxed);
		if (!r->threaded || owner == (uintptr_t)pthread_self())
			rstat_publish(r);        /* our own thread drives it */
		else if (!callback)
			pub_refresh(r);
		else
			reactor_request(r, REACTOR_REQ_STATS);  /* for next time */
		rstat_read(&r->pub, &one);
		for (unsigned i = 0; i < RS_N; i++)
			sum.v[i] += one.v[i];
	}
	st->commands = sum.v[RS_COMMANDS];
	st->reads = sum.v[RS_READS];
	st->writes = sum.v[RS_WRITES];
	st->bytes_in = sum.v[RS_BYTES_IN];
	st->bytes_out = sum.v[RS_BYTES_OUT];
	st->pdus_in = sum.v[RS_PDUS_IN];
	st->pdus_out = sum.v[RS_PDUS_OUT];
	st->syscalls_send = sum.v[RS_SENDS];
	st->syscalls_recv = sum.v[RS_RECVS];
	st->r2ts = sum.v[RS_R2TS];
	st->nops_out = sum.v[RS_NOPS_OUT];
	st->nops_in = sum.v[RS_NOPS_IN];
	st->retries = sum.v[RS_RETRIES];
	st->timeouts = sum.v[RS_TIMEOUTS];
	st->connections = (unsigned)sum.v[RS_CONNS];
	return 0;
}
