/* SPDX-License-Identifier: MIT */
/*
 * The adaptive active set's controller against simulated targets:
 *  - "tgt": one thread serves every connection; with a closed QD32 load
 *    its rate falls as connections are added (52, 52, 45, 36 k IOPS, as
 *    measured in docs/perf.md);
 *  - "istgt": a thread per connection; the rate rises (10, 20, 35, 50 k);
 *  - a target whose best is two connections;
 *  - an open-loop light load, where only latency differs;
 *  - noise (each 100 ms of completions off by up to +-6 %), a machine
 *    load that swings every rate by +-30 % over 3 s, idle periods,
 *    connection counts that change, counters that go back.
 * The simulation advances in 100 ms calls, as the reactor's scan does;
 * what completes in an interval follows the k the previous call chose,
 * 2 % of the interval after a change at the old rate (what was in flight
 * on the old connections drains).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcs/sched_adapt.h"

#define TICK_NS  (100u * 1000000ull)
#define QD       32u

struct model {
	double rate[5];          /* completions per second for k = 1..4 */
	double lat_us[5];        /* open loop: latency; 0: closed loop */
	double noise;            /* relative, uniform +- */
	bool idle;
	bool swing;              /* machine load: +-30 %, period 3 s */
};

static const struct model tgt = { { 0, 52000, 52000, 45000, 36000 }, { 0 }, 0, false, false };
static const struct model istgt = { { 0, 10000, 20000, 35000, 50000 }, { 0 }, 0, false, false };
static const struct model plateau = { { 0, 6000, 6500, 20000, 27000 }, { 0 }, 0, false, false };
static const struct model peak2 = { { 0, 30000, 40000, 33000, 28000 }, { 0 }, 0, false, false };

struct sim {
	struct sched_adapt a;
	uint64_t now, done, lat;
	unsigned k, prev_k, usable;
	uint64_t rng;
	unsigned changes;
	uint64_t ticks_at[5];    /* time spent at each k */
	double total;            /* completions, unrounded */
	double total1;           /* what k = 1 would have completed */
	unsigned tick;
};

static double rnd(struct sim *s)   /* [-1, 1) */
{
	s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(s->rng >> 11) / (double)(1ull << 52) - 1.0;
}

static void sim_init(struct sim *s, unsigned usable)
{
	memset(s, 0, sizeof(*s));
	s->rng = 12345;
	s->usable = usable;
	s->now = 1000000000ull;
	sched_adapt_init(&s->a, NULL, s->now);
	s->k = s->prev_k = sched_adapt_step(&s->a, s->now, usable, 0, 0);
}

/* One 100 ms interval of the model at the k in force, then a step. */
static void sim_tick(struct sim *s, const struct model *m)
{
	double r = m->rate[s->k], f = 1.0 + m->noise * rnd(s);
	if (s->k != s->prev_k)
		r = 0.98 * r + 0.02 * m->rate[s->prev_k];
	if (m->swing) {
		/* A triangle: 0.7 .. 1.3 and back every 30 ticks. */
		unsigned ph = s->tick % 30;
		f *= 0.7 + 0.6 * (ph < 15 ? ph / 15.0 : (30 - ph) / 15.0);
	}
	s->tick++;
	r *= f;
	if (m->idle)
		r = 0;
	s->total1 += m->idle ? 0 : m->rate[1] * f / 10.0;
	double n = r / 10.0;
	/* Closed loop: Little's law, QD over the rate; open loop: the
	 * model's latency at this k. */
	double lat_ns = m->lat_us[s->k] > 0 ? m->lat_us[s->k] * 1000.0 * (1.0 + m->noise * rnd(s))
					    : (r > 0 ? QD / r * 1e9 : 0);
	s->done += (uint64_t)n;
	s->lat += (uint64_t)(n * lat_ns);
	s->total += n;
	s->ticks_at[s->k]++;
	s->now += TICK_NS;
	s->prev_k = s->k;
	s->k = sched_adapt_step(&s->a, s->now, s->usable, s->done, s->lat);
	assert_true(s->k >= 1 && s->k <= (s->usable ? s->usable : 1));
	if (s->k != s->prev_k) {
		s->changes++;
		if (getenv("SADAPT_TRACE"))
			fprintf(stderr, "t=%.1f k %u -> %u (probes %llu kept %llu hold %u)\n",
				(double)s->now / 1e9, s->prev_k, s->k,
				(unsigned long long)s->a.probes, (unsigned long long)s->a.kept,
				s->a.hold);
	}
}

static void sim_run(struct sim *s, const struct model *m, unsigned ticks)
{
	for (unsigned i = 0; i < ticks; i++)
		sim_tick(s, m);
}

/* The k the controller stands at (the one a probe would go back to). */
static unsigned settled(const struct sim *s)
{
	return s->a.probing ? s->a.base_k : s->k;
}

/* What a fixed k would have completed over the same time. */
static double fixed(const struct model *m, unsigned k, unsigned ticks)
{
	return m->rate[k] / 10.0 * ticks;
}

/* The timeline without noise, step by step (100 ms epochs, 4 pairs,
 * hold 4): a probe starts after four epochs (0.4 s) and alternates
 * between the probe and the base for eight (0.8 s); a kept probe is
 * followed by the next at once. */
static void test_istgt_climbs_on_schedule(void **state)
{
	(void)state;
	struct sim s;
	unsigned first2 = 0, first3 = 0, first4 = 0;

	sim_init(&s, 4);
	assert_int_equal(s.k, 1);
	for (unsigned t = 1; t <= 41; t++) {
		sim_tick(&s, &istgt);
		if (t == 5)
			assert_int_equal(s.k, 1);    /* the pair's base half */
		if (s.k == 2 && !first2) first2 = t;
		if (s.k == 3 && !first3) first3 = t;
		if (s.k == 4 && !first4) first4 = t;
	}
	assert_int_equal(first2, 4);         /* 0.4 s */
	assert_int_equal(first3, 12);        /* 1.2 s */
	assert_int_equal(first4, 20);        /* 2.0 s */
	/* 4 is kept at 2.8 s; the only probe left, 3, runs from 3.2 s and
	 * is refused at 3.6 s, cut short after two pairs. */
	assert_int_equal(s.k, 4);
	assert_false(s.a.probing);
	/* 35 k against 50 k, the epoch after each switch 2 % the other's:
	 * pairs 710 (P B, both after a switch) and 706 (B P), both below
	 * 920: the median of the two is 708 (0.700 without the drain). */
	assert_int_equal(s.a.last_r_done, 708);
	assert_int_equal(s.a.probes, 4);
	assert_int_equal(s.a.kept, 3);
	assert_int_equal(s.a.cut_short, 1);
	assert_int_equal(s.a.hold, 8);
}

static void test_tgt_stays_at_one(void **state)
{
	(void)state;
	struct sim s;
	struct model m = tgt;
	const unsigned ticks = 600;          /* 60 s */

	m.noise = 0.06;
	sim_init(&s, 4);
	sim_run(&s, &m, ticks);
	assert_int_equal(settled(&s), 1);
	/* Probes of 2 cost nothing on tgt; 3 is looked at after each tie of
	 * 2, half of 0.8 s each time, 4 never. */
	fprintf(stderr, "tgt: ticks at 3: %llu, at 4: %llu, total %.3f of k=1\n",
		(unsigned long long)s.ticks_at[3], (unsigned long long)s.ticks_at[4],
		s.total / s.total1);
	assert_true(s.ticks_at[3] <= 30);
	assert_int_equal(s.ticks_at[4], 0);
	/* Lost probes back off: 8, 16, 32, 64, 128 epochs (each tie of 2
	 * is followed by a probe of 3). */
	assert_true(s.a.probes <= 16);
	assert_int_equal(s.a.kept, 0);
	assert_true(s.total >= 0.97 * fixed(&m, 1, ticks));
}

/* A second connection that slows the target down by 30 % (tgt with
 * four connections in session 3): every probe of 2 ends after two of its
 * four pairs, two epochs at 2 each time, and nothing is lost beyond the
 * margin. */
static void test_worse_probe_cut_short(void **state)
{
	(void)state;
	struct sim s;
	struct model m = { { 0, 50000, 35000, 30000, 25000 }, { 0 }, 0.04, false, false };
	const unsigned ticks = 600;

	sim_init(&s, 4);
	sim_run(&s, &m, ticks);
	assert_int_equal(settled(&s), 1);
	assert_int_equal(s.a.kept, 0);
	assert_true(s.a.probes >= 5);
	assert_int_equal(s.a.cut_short, s.a.probes);
	assert_true(s.ticks_at[2] <= 2 * s.a.probes);
	assert_int_equal(s.ticks_at[3] + s.ticks_at[4], 0);
	assert_true(s.total >= 0.98 * s.total1);
	/* Noise that lets one pair of the first half go the probe's way
	 * keeps it to its four pairs: only a unanimous first half ends it. */
	struct sched_adapt a;
	/* Four epochs at 1, then the probe: P 700, B 1000, B 1000, P 950. */
	static const uint64_t per_epoch[] = { 1000, 1000, 1000, 1000, 700, 1000, 1000, 950 };
	uint64_t t = 0, d = 0;
	sched_adapt_init(&a, NULL, t);
	sched_adapt_step(&a, t, 2, d, 0);
	for (unsigned i = 0; i < sizeof(per_epoch) / sizeof(per_epoch[0]); i++) {
		t += TICK_NS;
		d += per_epoch[i];
		sched_adapt_step(&a, t, 2, d, d * 1000);
	}
	assert_true(a.probing);
	assert_int_equal(a.npairs, 2);
	assert_int_equal(a.cut_short, 0);
}

static void test_istgt_uses_four(void **state)
{
	(void)state;
	struct sim s;
	struct model m = istgt;
	const unsigned ticks = 600;

	m.noise = 0.06;
	sim_init(&s, 4);
	sim_run(&s, &m, ticks);
	assert_int_equal(settled(&s), 4);
	/* The climb and the probes of 3 cost under 10 % of running 4. */
	assert_true(s.total >= 0.90 * fixed(&m, 4, ticks));
	assert_true(s.total >= 4.0 * fixed(&m, 1, ticks));
}

/* The machine's load swings every rate by +-30 % over 3 s (the others'
 * builds and guests): pairs of epochs compare k and k+1 under the same
 * load, so the swing neither pushes tgt off one connection nor holds
 * istgt back. */
static void test_load_swings(void **state)
{
	(void)state;
	struct sim s;
	struct model m = tgt;

	m.noise = 0.06;
	m.swing = true;
	sim_init(&s, 4);
	sim_run(&s, &m, 600);
	assert_int_equal(settled(&s), 1);
	fprintf(stderr, "tgt swing: ticks at 3: %llu, at 4: %llu, total %.3f of k=1\n",
		(unsigned long long)s.ticks_at[3], (unsigned long long)s.ticks_at[4],
		s.total / s.total1);
	assert_true(s.ticks_at[3] + s.ticks_at[4] <= 45);
	assert_true(s.total >= 0.97 * s.total1);
	m = istgt;
	m.noise = 0.06;
	m.swing = true;
	sim_init(&s, 4);
	sim_run(&s, &m, 600);
	assert_int_equal(settled(&s), 4);
	assert_true(s.total >= 4.0 * s.total1);
}

/* Two connections no better than one, four much better (istgt as
 * measured): a tie going up looks one further. */
static void test_plateau_is_crossed(void **state)
{
	(void)state;
	struct sim s;
	struct model m = plateau;

	m.noise = 0.06;
	sim_init(&s, 4);
	sim_run(&s, &m, 300);
	assert_int_equal(settled(&s), 4);
	assert_true(s.total >= 3.5 * s.total1);
}

static void test_finds_an_inner_best(void **state)
{
	(void)state;
	struct sim s;
	struct model m = peak2;

	m.noise = 0.04;
	sim_init(&s, 4);
	sim_run(&s, &m, 600);
	assert_int_equal(settled(&s), 2);
	assert_true(s.ticks_at[2] > 500);
}

/* A load that no k improves (all within the margin, noisy): one
 * connection, and k does not flap. */
static void test_flat_noisy_prefers_one(void **state)
{
	(void)state;
	struct sim s;
	struct model m = { { 0, 40000, 40000, 40000, 40000 }, { 0 }, 0.06, false, false };

	sim_init(&s, 4);
	sim_run(&s, &m, 1200);
	assert_int_equal(settled(&s), 1);
	fprintf(stderr, "flat: ticks at 1: %llu of 1200\n", (unsigned long long)s.ticks_at[1]);
	assert_true(s.ticks_at[1] > 1000);
	assert_true(s.a.kept <= 1);
}

/* Open loop: the same completions whatever k; a lower latency with more
 * connections is taken, an equal one is not. */
static void test_open_loop_latency(void **state)
{
	(void)state;
	struct sim s;
	struct model better = { { 0, 5000, 5000, 5000, 5000 }, { 0, 400, 250, 250, 250 }, 0.02,
				false, false };
	struct model same = { { 0, 5000, 5000, 5000, 5000 }, { 0, 200, 200, 200, 200 }, 0.02,
			      false, false };

	sim_init(&s, 4);
	sim_run(&s, &better, 300);
	assert_int_equal(settled(&s), 2);   /* 3 and 4 only tie with 2 */
	assert_int_equal(s.a.kept, 1);
	assert_true(s.ticks_at[2] > 230);
	sim_init(&s, 4);
	sim_run(&s, &same, 300);
	assert_int_equal(settled(&s), 1);
	assert_int_equal(s.a.kept, 0);
}

/* The load changes from istgt-like to tgt-like: the controller backs off
 * less after the change and comes down to one, a tie at a time. */
static void test_load_change_comes_back_down(void **state)
{
	(void)state;
	struct sim s;
	struct model flat = { { 0, 30000, 30000, 30000, 30000 }, { 0 }, 0.03, false, false };

	sim_init(&s, 4);
	sim_run(&s, &istgt, 300);
	assert_int_equal(settled(&s), 4);
	sim_run(&s, &flat, 300);
	assert_int_equal(settled(&s), 1);
}

/* Nothing completes: no probe, no change. A probe that the load leaves
 * goes back without a verdict. */
static void test_idle(void **state)
{
	(void)state;
	struct sim s;
	struct model idle = istgt;

	idle.idle = true;
	sim_init(&s, 4);
	sim_run(&s, &idle, 200);
	assert_int_equal(s.k, 1);
	assert_int_equal(s.a.probes, 0);
	/* Busy until the first probe has started (0.4 s), then idle. */
	sim_init(&s, 4);
	sim_run(&s, &istgt, 4);
	assert_int_equal(s.k, 2);
	sim_run(&s, &idle, 50);
	assert_int_equal(s.k, 1);
	assert_int_equal(s.a.kept, 0);
}

/* Connections come and go: k stays within what is usable, measuring
 * starts again, and counters that go back are not read as a load. */
static void test_usable_changes(void **state)
{
	(void)state;
	struct sim s;

	sim_init(&s, 4);
	sim_run(&s, &istgt, 100);
	assert_int_equal(settled(&s), 4);   /* at 10 s a probe of 3 is on */
	s.usable = 2;
	sim_tick(&s, &istgt);
	assert_int_equal(s.k, 2);
	s.usable = 0;                        /* every connection lost */
	sim_tick(&s, &istgt);
	assert_int_equal(s.k, 1);
	s.usable = 1;
	sim_run(&s, &istgt, 50);
	assert_int_equal(s.k, 1);
	assert_int_equal(s.a.probing, false);
	s.usable = 4;
	s.done /= 2;                         /* a slot's counters dropped */
	s.lat /= 2;
	sim_run(&s, &istgt, 100);
	assert_int_equal(settled(&s), 4);
	/* A late call counts per nominal epoch, not as a busier one. */
	struct sched_adapt a;
	sched_adapt_init(&a, NULL, 0);
	sched_adapt_step(&a, 0, 2, 0, 0);
	uint64_t d = 0;
	for (uint64_t t = 1; t <= 2; t++) {
		d += 1000;
		sched_adapt_step(&a, t * 100000000ull, 2, d, d * 1000);
	}
	assert_int_equal(a.nrecent, 2);
	d += 3000;                                    /* 200 ms late */
	sched_adapt_step(&a, 2 * 100000000ull + 300000000ull, 2, d, d * 1000);
	assert_int_equal(a.nrecent, 3);
	assert_int_equal(a.recent[2], 1000);
	assert_int_equal(a.hold_left, 1);
	assert_int_equal(a.k, 1);
}

static void test_config_clamped(void **state)
{
	(void)state;
	struct sched_adapt a;
	struct sched_adapt_cfg c;

	sched_adapt_cfg_default(&c);
	c.pairs = 50;
	c.hold_max = 0;
	c.epoch_ns = 0;
	sched_adapt_init(&a, &c, 0);
	assert_int_equal(a.cfg.pairs, SADAPT_PAIRS_MAX);
	assert_int_equal(a.cfg.hold_max, a.cfg.hold_min);
	assert_true(a.cfg.epoch_ns > 0);
	assert_int_equal(sched_adapt_step(&a, 0, 3, 0, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_istgt_climbs_on_schedule),
		cmocka_unit_test(test_tgt_stays_at_one),
		cmocka_unit_test(test_worse_probe_cut_short),
		cmocka_unit_test(test_istgt_uses_four),
		cmocka_unit_test(test_load_swings),
		cmocka_unit_test(test_plateau_is_crossed),
		cmocka_unit_test(test_finds_an_inner_best),
		cmocka_unit_test(test_flat_noisy_prefers_one),
		cmocka_unit_test(test_open_loop_latency),
		cmocka_unit_test(test_load_change_comes_back_down),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_usable_changes),
		cmocka_unit_test(test_config_clamped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
