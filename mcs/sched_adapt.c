/* SPDX-License-Identifier: MIT */
/* The adaptive active set's controller: see mcs/sched_adapt.h. */
#include "mcs/sched_adapt.h"

#include <string.h>

void sched_adapt_cfg_default(struct sched_adapt_cfg *cfg)
{
	cfg->epoch_ns = 200u * 1000000ull;
	cfg->window = 3;
	cfg->settle_epochs = 1;
	cfg->hold_min = 4;
	cfg->hold_max = 64;
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
	a->cfg.window = clampu(a->cfg.window, 1, SADAPT_WINDOW_MAX);
	a->cfg.hold_min = clampu(a->cfg.hold_min, 1, 1u << 20);
	a->cfg.hold_max = clampu(a->cfg.hold_max, a->cfg.hold_min, 1u << 20);
	a->cfg.margin_pct = clampu(a->cfg.margin_pct, 0, 99);
	a->k = 1;
	a->dir = 1;
	a->hold = a->hold_left = a->cfg.hold_min;
	a->epoch_start = now_ns;
	a->phase = SADAPT_SETTLE;
	a->settle_left = a->cfg.settle_epochs;
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

/* k changed (or the set did): the epochs that follow mix the old
 * connections' tail with the new choice, so they are thrown away. */
static void restart(struct sched_adapt *a)
{
	a->phase = a->cfg.settle_epochs ? SADAPT_SETTLE : SADAPT_MEASURE;
	a->settle_left = a->cfg.settle_epochs;
	a->nwin = 0;
	a->wpos = 0;
}

static uint64_t median(const uint64_t *v, unsigned n)
{
	uint64_t s[SADAPT_WINDOW_MAX];

	memcpy(s, v, n * sizeof(*v));
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && s[j - 1] > s[j]; j--) {
			uint64_t t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static struct sadapt_fig figures(const struct sched_adapt *a)
{
	return (struct sadapt_fig){ .done = median(a->win_done, a->nwin),
				    .lat_ns = median(a->win_lat, a->nwin) };
}

/* +1: p did better than b, -1: worse, 0: the same within the margin.
 * Completions first (a closed loop turns a better k into more of them),
 * then latency (an open loop completes the same whatever k). */
static int compare(const struct sadapt_fig *p, const struct sadapt_fig *b, unsigned m)
{
	if (p->done * 100u > b->done * (100u + m))
		return 1;
	if (p->done * 100u < b->done * (100u - m))
		return -1;
	if (p->lat_ns * 100u < b->lat_ns * (100u - m))
		return 1;
	if (p->lat_ns * 100u > b->lat_ns * (100u + m))
		return -1;
	return 0;
}

static void set_k(struct sched_adapt *a, unsigned k)
{
	a->k = k;
	restart(a);
}

static void probe_start(struct sched_adapt *a)
{
	int d = a->dir;

	if ((d > 0 && a->k >= a->usable) || (d < 0 && a->k <= 1))
		d = -d;
	if ((d > 0 && a->k >= a->usable) || (d < 0 && a->k <= 1)) {
		a->hold_left = a->hold;          /* one connection: nothing to try */
		return;
	}
	a->base = figures(a);
	a->base_k = a->k;
	a->dir = d;
	a->probing = true;
	a->probes++;
	set_k(a, (unsigned)((int)a->k + d));
}

static void probe_end(struct sched_adapt *a)
{
	struct sadapt_fig p = figures(a);
	int c = compare(&p, &a->base, a->cfg.margin_pct);
	bool fewer = a->k < a->base_k;

	a->probing = false;
	if (c > 0 || (c == 0 && fewer)) {
		/* Kept: its window is this k's; go on the same way at once. */
		a->kept++;
		a->hold = a->cfg.hold_min;
		a->hold_left = 0;
		return;
	}
	a->dir = -a->dir;
	a->hold = a->hold * 2 > a->cfg.hold_max ? a->cfg.hold_max : a->hold * 2;
	a->hold_left = a->hold;
	set_k(a, a->base_k);
}

/* A probe that cannot be measured (the load stopped) goes back
 * without a verdict. */
static void probe_abort(struct sched_adapt *a)
{
	a->probing = false;
	a->hold_left = a->hold;
	set_k(a, a->base_k);
}

static void epoch(struct sched_adapt *a, uint64_t done, uint64_t mean)
{
	if (a->phase == SADAPT_SETTLE) {
		if (a->settle_left)
			a->settle_left--;
		if (!a->settle_left)
			a->phase = SADAPT_MEASURE;
		return;
	}
	if (!done || done < a->cfg.min_done) {
		a->nwin = 0;                     /* idle: nothing to compare */
		a->wpos = 0;
		if (a->probing)
			probe_abort(a);
		return;
	}
	if (!a->probing && a->nwin >= a->cfg.window) {
		/* The load changed: what was learnt may no longer hold. */
		uint64_t med = median(a->win_done, a->nwin);
		if (done * 2 < med || done > med * 2) {
			a->hold = a->cfg.hold_min;
			if (a->hold_left > a->hold)
				a->hold_left = a->hold;
		}
	}
	a->win_done[a->wpos] = done;
	a->win_lat[a->wpos] = mean;
	a->wpos = (a->wpos + 1) % a->cfg.window;
	if (a->nwin < a->cfg.window)
		a->nwin++;
	if (a->probing) {
		if (a->nwin < a->cfg.window)
			return;
		probe_end(a);            /* kept: hold_left 0, the next at once */
	} else if (a->hold_left) {
		a->hold_left--;
	}
	if (!a->probing && !a->hold_left && a->nwin >= a->cfg.window)
		probe_start(a);
}

unsigned sched_adapt_step(struct sched_adapt *a, uint64_t now_ns, unsigned usable,
			  uint64_t done, uint64_t lat_sum_ns)
{
	if (usable != a->usable) {
		a->usable = usable;
		if (a->probing) {
			a->probing = false;
			a->k = a->base_k;
		}
		a->k = clampu(a->k, 1, usable ? usable : 1);
		if (a->hold_left > a->cfg.hold_min)
			a->hold_left = a->cfg.hold_min;
		restart(a);
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
	uint64_t d = (done - a->last_done) * a->cfg.epoch_ns / elapsed;
	uint64_t n = done - a->last_done;
	uint64_t l = lat_sum_ns - a->last_lat;
	prime(a, now_ns, done, lat_sum_ns);
	/* The mean latency from the raw counts; the completions scaled. */
	epoch(a, d, n ? l / n : 0);
	return a->k;
}
