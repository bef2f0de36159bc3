/* SPDX-License-Identifier: MIT */
/* The adaptive active set's controller: see mcs/sched_adapt.h. */
#include "mcs/sched_adapt.h"

#include <string.h>

void sched_adapt_cfg_default(struct sched_adapt_cfg *cfg)
{
	cfg->epoch_ns = 100u * 1000000ull;
	cfg->pairs = 4;
	cfg->hold_min = 4;
	cfg->hold_max = 128;
	cfg->margin_pct = 8;
	cfg->min_done = 64;
}

static unsigned clampu(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void sched_adapt_init(struct sched_adapt *a, const struct sched_adapt_cfg *cfg,
		      uint64_t now_ns)
{
	memset(a, 0, sizeof(*a));
	if (cfg)
		a->cfg = *cfg;
	else
		sched_adapt_cfg_default(&a->cfg);
	if (!a->cfg.epoch_ns)
		a->cfg.epoch_ns = 1;
	a->cfg.pairs = clampu(a->cfg.pairs, 1, SADAPT_PAIRS_MAX);
	a->cfg.hold_min = clampu(a->cfg.hold_min, 1, 1u << 20);
	a->cfg.hold_max = clampu(a->cfg.hold_max, a->cfg.hold_min, 1u << 20);
	a->cfg.margin_pct = clampu(a->cfg.margin_pct, 0, 99);
	a->k = 1;
	a->dir = 1;
	a->hold = a->hold_left = a->cfg.hold_min;
	a->epoch_start = now_ns;
}

/* Counters and epoch start from here on; what came before is not
 * measured. */
static void prime(struct sched_adapt *a, uint64_t now, uint64_t done, uint64_t lat)
{
	a->last_done = done;
	a->last_lat = lat;
	a->epoch_start = now;
	a->primed = true;
}

static uint64_t median64(const uint64_t *v, unsigned n)
{
	uint64_t s[SADAPT_PAIRS_MAX > SADAPT_RECENT ? SADAPT_PAIRS_MAX : SADAPT_RECENT];

	memcpy(s, v, n * sizeof(*v));
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && s[j - 1] > s[j]; j--) {
			uint64_t t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static uint32_t median32(const uint32_t *v, unsigned n)
{
	uint64_t w[SADAPT_PAIRS_MAX] = { 0 };

	for (unsigned i = 0; i < n && i < SADAPT_PAIRS_MAX; i++)
		w[i] = v[i];
	return (uint32_t)median64(w, n);
}

/* p / b in per mille, saturating. */
static uint32_t permille(uint64_t p, uint64_t b)
{
	uint64_t r = b ? p * 1000u / b : (p ? 1000000u : 1000u);

	return r > 1000000u ? 1000000u : (uint32_t)r;
}

/* +1: the probe did better than the base, -1: worse, 0: the same within
 * the margin. Completions first (a closed loop turns a better k into
 * more of them), then latency (an open loop completes the same whatever
 * k). */
static int verdict(uint32_t r_done, uint32_t r_lat, unsigned margin_pct)
{
	uint32_t m = margin_pct * 10u;

	if (r_done > 1000u + m)
		return 1;
	if (r_done < 1000u - m)
		return -1;
	if (r_lat < 1000u - m)
		return 1;
	if (r_lat > 1000u + m)
		return -1;
	return 0;
}

static bool can_go(const struct sched_adapt *a, int d)
{
	return d > 0 ? a->k < a->usable : a->k > 1;
}

static void probe_start(struct sched_adapt *a)
{
	int d = can_go(a, a->dir) ? a->dir : -a->dir;

	if (!can_go(a, d)) {
		a->hold_left = a->hold;          /* one connection: nothing to try */
		return;
	}
	a->dir = d;
	a->probing = true;
	a->pending = false;
	a->npairs = 0;
	a->base_k = a->k;
	a->probe_k = (unsigned)((int)a->k + d);
	a->k = a->probe_k;
	a->probes++;
}

/* Back to steady at k; what the recent epochs said no longer applies. */
static void steady(struct sched_adapt *a, unsigned k)
{
	a->probing = false;
	a->pending = false;
	a->k = k;
	a->nrecent = 0;
	a->rpos = 0;
}

static void probe_end(struct sched_adapt *a)
{
	uint32_t rd = median32(a->r_done, a->npairs), rl = median32(a->r_lat, a->npairs);
	int c = verdict(rd, rl, a->cfg.margin_pct);

	a->last_r_done = rd;
	a->last_r_lat = rl;
	if (c == 0 && a->probe_k > a->base_k && a->probe_k < a->usable) {
		/* A tie going up: look one further, still against k. Some
		 * targets gain nothing from the second connection and a lot
		 * from the fourth (istgt: 2 like 1, 4 several times 1). */
		a->probe_k++;
		a->k = a->probe_k;
		a->npairs = 0;
		a->pending = false;
		a->probes++;
		return;
	}
	if (c > 0 || (c == 0 && a->probe_k < a->base_k)) {
		/* Won: go on the same way at once (the other way is where
		 * it came from). */
		a->kept++;
		steady(a, a->probe_k);
		a->hold = a->cfg.hold_min;
		a->hold_left = a->hold;
		if (can_go(a, a->dir))
			probe_start(a);
		return;
	}
	steady(a, a->base_k);
	a->dir = -a->dir;
	a->hold = a->hold * 2 > a->cfg.hold_max ? a->cfg.hold_max : a->hold * 2;
	a->hold_left = a->hold;
}

/* After half of its pairs (at least two), a probe whose completions
 * were lower by more than the margin in every pair so far has lost
 * whatever the rest would say about latency (completions decide
 * first), and a majority of the pairs already disagrees with it: it
 * ends there. Against a target that extra connections slow down (tgt)
 * that halves the time spent at the worse k. The pairs seen were P B
 * and B P, so the switch's tail fell on both sides. */
static bool clearly_lost(const struct sched_adapt *a)
{
	uint32_t m = a->cfg.margin_pct * 10u;

	if (a->npairs < 2 || a->npairs * 2 < a->cfg.pairs)
		return false;
	for (unsigned i = 0; i < a->npairs; i++)
		if (a->r_done[i] >= 1000u - m)
			return false;
	return true;
}

/* One epoch of a probe. The halves of a pair run in the order P B, then
 * B P, P B, B P: a switch comes after every first half and never after a
 * second, so the epoch right after a switch (whose start still carries
 * the old set's tail and the reactors' rebalancing) is the probe's in one
 * pair and the base's in the next, and no order bias survives the
 * median. */
static void probe_epoch(struct sched_adapt *a, uint64_t done, uint64_t mean)
{
	bool on_probe = a->k == a->probe_k;

	if (!a->pending) {
		a->pend_done = done;
		a->pend_lat = mean;
		a->pending = true;
		a->k = on_probe ? a->base_k : a->probe_k;
		return;
	}
	uint64_t pd = on_probe ? done : a->pend_done, pl = on_probe ? mean : a->pend_lat;
	uint64_t bd = on_probe ? a->pend_done : done, bl = on_probe ? a->pend_lat : mean;
	a->r_done[a->npairs] = permille(pd, bd);
	a->r_lat[a->npairs] = permille(pl, bl);
	a->npairs++;
	a->pending = false;
	if (a->npairs >= a->cfg.pairs)
		probe_end(a);
	else if (clearly_lost(a)) {
		a->cut_short++;
		probe_end(a);
	}
}

static void epoch(struct sched_adapt *a, uint64_t done, uint64_t mean)
{
	if (!done || done < a->cfg.min_done) {
		/* Idle: nothing to compare; a probe goes back without a
		 * verdict. */
		if (a->probing) {
			steady(a, a->base_k);
			a->hold_left = a->hold;
		}
		a->nrecent = 0;
		a->rpos = 0;
		return;
	}
	if (a->probing) {
		probe_epoch(a, done, mean);
		return;
	}
	if (a->nrecent >= SADAPT_RECENT) {
		/* The load changed: what was learnt may no longer hold. */
		uint64_t med = median64(a->recent, a->nrecent);
		if (done * 2 < med || done > med * 2) {
			a->hold = a->cfg.hold_min;
			if (a->hold_left > a->hold)
				a->hold_left = a->hold;
		}
	}
	a->recent[a->rpos] = done;
	a->rpos = (a->rpos + 1) % SADAPT_RECENT;
	if (a->nrecent < SADAPT_RECENT)
		a->nrecent++;
	if (a->hold_left)
		a->hold_left--;
	if (!a->hold_left)
		probe_start(a);
}

unsigned sched_adapt_step(struct sched_adapt *a, uint64_t now_ns, unsigned usable,
			  uint64_t done, uint64_t lat_sum_ns)
{
	if (usable != a->usable) {
		a->usable = usable;
		steady(a, clampu(a->probing ? a->base_k : a->k, 1, usable ? usable : 1));
		if (a->hold_left > a->cfg.hold_min)
			a->hold_left = a->cfg.hold_min;
		prime(a, now_ns, done, lat_sum_ns);
		return a->k;
	}
	if (!a->primed) {
		prime(a, now_ns, done, lat_sum_ns);
		return a->k;
	}
	uint64_t elapsed = now_ns - a->epoch_start;
	if (now_ns < a->epoch_start || elapsed < a->cfg.epoch_ns)
		return a->k;
	if (done < a->last_done || lat_sum_ns < a->last_lat) {
		prime(a, now_ns, done, lat_sum_ns);  /* counters dropped */
		return a->k;
	}
	/* Per epoch of nominal length: a late call does not look busier. */
	uint64_t n = done - a->last_done;
	uint64_t d = n * a->cfg.epoch_ns / elapsed;
	uint64_t l = lat_sum_ns - a->last_lat;
	prime(a, now_ns, done, lat_sum_ns);
	epoch(a, d, n ? l / n : 0);
	return a->k;
}
