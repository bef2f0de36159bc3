/* SPDX-License-Identifier: MIT */
/* The adaptive active set's glue: see mcs/reactor_adapt.h. */
#include "mcs/reactor_adapt.h"

#include "mcs/reactor.h"

void reactor_adapt_init(struct mcsi_session *s, uint64_t now_ns)
{
	if (s->sched.policy != SCHED_ADAPTIVE)
		return;
	sched_adapt_init(&s->adapt, NULL, now_ns);
	/* Before the first measurement: one connection, never slower than
	 * a session without MC/S. */
	cset_set_active(&s->cs, s->adapt.k);
}

void reactor_adapt_scan(struct reactor *r)
{
	struct mcsi_session *s = r->sess;
	struct cset_snap snap;
	uint64_t done = 0, lat = 0;
	unsigned up = 0;

	if (r->index != 0 || s->sched.policy != SCHED_ADAPTIVE)
		return;
	/* Every connection's counters, the failed and leaving ones too, so
	 * that the sums only go back when a slot is recycled (which the
	 * controller notices and skips). */
	cset_snapshot(&s->cs, &snap);
	for (unsigned i = 0; i < snap.n; i++) {
		if (snap.conn[i].state == CSET_UP)
			up++;
		done += snap.conn[i].lat_count;
		lat += snap.conn[i].lat_sum_ns;
	}
	struct sched_adapt *a = &s->adapt;
	bool probing = a->probing;
	unsigned from = a->base_k, to = a->probe_k;
	uint64_t kept = a->kept;
	cset_set_active(&s->cs, sched_adapt_step(a, r->now, up, done, lat));
	if (probing && (!a->probing || a->kept != kept))
		sess_log(s, 7, "MC/S adaptive: %u -> %u connections %s (completions %u, "
			 "latency %u per mille of %u connections'); now %u",
			 from, to, a->kept != kept ? "kept" : "not kept", a->last_r_done,
			 a->last_r_lat, from, a->probing ? a->base_k : a->k);
}
