/* SPDX-License-Identifier: MIT */
/* Scheduling policies over connection-set snapshots: round robin, least
 * queue depth with CPU locality, failover only, weighted paths, takeover
 * on failure, and the policies' names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "mcs/sched.h"

/* A snapshot by hand: slot i holds CID 10 + i. */
static void snap_init(struct cset_snap *s, unsigned n)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->nqueues = 4;
	for (unsigned i = 0; i < n; i++) {
		s->conn[i].slot = (int)i;
		s->conn[i].cid = (uint16_t)(10 + i);
		s->conn[i].state = CSET_UP;
		s->conn[i].queue = (uint8_t)(i % 4);
	}
	s->conn[0].lead = true;
	s->active_end = n;
}

/* After a change of the entries' states or of `active`, as the
 * snapshot functions do. */
static void snap_fix(struct cset_snap *s)
{
	s->active_end = cset_snap_active_end(s);
}

static struct sched_cfg cfg_of(enum sched_policy p, uint32_t slack)
{
	struct sched_cfg c = { p, slack };
	return c;
}

static void test_nothing_usable(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	enum sched_policy all[] = { SCHED_LEAST_DEPTH, SCHED_ROUND_ROBIN,
				    SCHED_FAILOVER, SCHED_WEIGHTED, SCHED_ADAPTIVE };

	sched_cursor_init(&cur, 0);
	snap_init(&s, 0);
	for (unsigned i = 0; i < 5; i++) {
		struct sched_cfg c = cfg_of(all[i], 2);
		assert_int_equal(sched_pick(&c, &s, 0, &cur), -ENOTCONN);
	}
	snap_init(&s, 3);
	s.conn[0].state = CSET_LEAVING;
	s.conn[1].state = CSET_FAILED;
	s.conn[2].state = CSET_LOGIN;
	for (unsigned i = 0; i < 5; i++) {
		struct sched_cfg c = cfg_of(all[i], 2);
		assert_int_equal(sched_pick(&c, &s, 0, &cur), -ENOTCONN);
		assert_int_equal(sched_takeover(&c, &s, 0), -ENOTCONN);
	}
}

static void test_round_robin(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	struct sched_cfg c = cfg_of(SCHED_ROUND_ROBIN, 0);

	snap_init(&s, 5);
	s.conn[1].state = CSET_LEAVING;
	s.conn[3].state = CSET_FAILED;
	/* Depth does not matter to round robin. */
	s.conn[0].depth = 100;
	sched_cursor_init(&cur, 0);
	int want[] = { 0, 2, 4, 0, 2, 4, 0 };
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(sched_pick(&c, &s, 0, &cur), want[i]);
	/* A cursor seeded elsewhere starts elsewhere: submitters spread. */
	sched_cursor_init(&cur, 3);
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 4);
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 0);
	/* Slots with gaps (entries are slots 2, 5, 9). */
	snap_init(&s, 3);
	s.conn[0].slot = 2;
	s.conn[1].slot = 5;
	s.conn[2].slot = 9;
	sched_cursor_init(&cur, 6);
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 9);
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 2);
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 5);
}

static void test_least_depth_locality(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	struct sched_cfg c;

	sched_cfg_default(&c);
	assert_int_equal(c.policy, SCHED_LEAST_DEPTH);
	assert_int_equal(c.slack, SCHED_DEFAULT_SLACK);
	snap_init(&s, 4);                /* slot i on queue i */
	sched_cursor_init(&cur, 0);
	s.conn[0].depth = 2;
	s.conn[1].depth = 0;
	s.conn[2].depth = 0;
	s.conn[3].depth = 0;
	/* Within the slack the submitter's own queue wins. */
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 0);
	/* Beyond it the least busy connection does. */
	s.conn[0].depth = 3;
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 1);
	/* Relative, not absolute: others busy too. */
	s.conn[0].depth = 12;
	s.conn[1].depth = 10;
	s.conn[2].depth = 11;
	s.conn[3].depth = 10;
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 0);
	s.conn[0].depth = 13;
	int p = sched_pick(&c, &s, 0, &cur);
	assert_true(p == 1 || p == 3);
	/* Ties rotate. */
	int q = sched_pick(&c, &s, 0, &cur);
	assert_true((q == 1 || q == 3) && q != p);
	/* No connection on the submitter's queue: plain least depth. */
	s.conn[2].depth = 1;
	assert_int_equal(sched_pick(&c, &s, 7, &cur), 2);
	/* The local queue's connection is leaving: never chosen. */
	s.conn[2].state = CSET_LEAVING;
	s.conn[2].depth = 0;
	assert_int_not_equal(sched_pick(&c, &s, 2, &cur), 2);
}

static void test_least_depth_plain(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	struct sched_cfg c = cfg_of(SCHED_LEAST_DEPTH, 0);

	snap_init(&s, 3);
	sched_cursor_init(&cur, 0);
	s.conn[0].depth = 5;
	s.conn[1].depth = 4;
	s.conn[2].depth = 6;
	assert_int_equal(sched_pick(&c, &s, SCHED_NO_QUEUE, &cur), 1);
	s.conn[1].depth = 7;
	assert_int_equal(sched_pick(&c, &s, SCHED_NO_QUEUE, &cur), 0);
}

/* One submitter on queue 0 filling queue depth 32 over 4 equal
 * connections: the default spreads it, close to round robin. */
static void test_least_depth_spreads_one_submitter(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	struct sched_cfg c;

	sched_cfg_default(&c);
	snap_init(&s, 4);
	sched_cursor_init(&cur, 0);
	for (int i = 0; i < 32; i++) {
		int slot = sched_pick(&c, &s, 0, &cur);
		assert_true(slot >= 0);
		s.conn[slot].depth++;
	}
	uint32_t lo = 99, hi = 0;
	for (unsigned i = 0; i < 4; i++) {
		lo = s.conn[i].depth < lo ? s.conn[i].depth : lo;
		hi = s.conn[i].depth > hi ? s.conn[i].depth : hi;
	}
	assert_true(lo >= 7);
	assert_true(hi - lo <= c.slack + 1);
	assert_true(s.conn[0].depth == hi);   /* the local one holds the most */

	/* One connection slow to answer (its depth stays high): new commands
	 * avoid it, where round robin would keep feeding it. */
	s.conn[1].depth = 40;
	unsigned to_slow = 0;
	for (int i = 0; i < 30; i++) {
		int slot = sched_pick(&c, &s, 0, &cur);
		to_slow += slot == 1;
		s.conn[slot].depth++;
	}
	assert_int_equal(to_slow, 0);
}

static void test_failover_only(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	struct sched_cfg c = cfg_of(SCHED_FAILOVER, 0);

	snap_init(&s, 3);
	sched_cursor_init(&cur, 0);
	s.conn[0].depth = 50;
	/* All at weight 0: the leading connection is active, whatever the
	 * depths and the submitter's queue. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(sched_pick(&c, &s, 2, &cur), 0);
	/* It fails: the standby with the lowest CID takes over. */
	assert_int_equal(sched_takeover(&c, &s, 0), 1);
	s.conn[0].state = CSET_FAILED;
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 1);
	/* ... and the next when that one fails too. */
	assert_int_equal(sched_takeover(&c, &s, 1), 2);
	/* The leading connection back (a new login): it is active again. */
	s.conn[0].state = CSET_UP;
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 0);
	/* Weights choose the active one: lower is preferred. */
	s.conn[0].weight = 5;
	s.conn[1].weight = 3;
	s.conn[2].weight = 1;
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 2);
	assert_int_equal(sched_takeover(&c, &s, 2), 1);
}

static void test_weighted_paths(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	struct sched_cfg c = cfg_of(SCHED_WEIGHTED, 0);

	snap_init(&s, 4);
	sched_cursor_init(&cur, 0);
	s.conn[0].weight = 2;
	s.conn[1].weight = 0;
	s.conn[2].weight = 1;
	s.conn[3].weight = 0;
	/* The two of least weight share the work in turn. */
	int want[] = { 1, 3, 1, 3 };
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(sched_pick(&c, &s, 0, &cur), want[i]);
	/* Heavier paths only when no lighter one is usable. */
	s.conn[1].state = CSET_FAILED;
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 3);
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 3);
	assert_int_equal(sched_takeover(&c, &s, 3), 2);
	s.conn[3].state = CSET_LEAVING;
	assert_int_equal(sched_pick(&c, &s, 0, &cur), 2);
	/* Among equal weights, takeover prefers the less busy. */
	s.conn[1].state = CSET_UP;
	s.conn[3].state = CSET_UP;
	s.conn[1].depth = 9;
	s.conn[3].depth = 2;
	assert_int_equal(sched_takeover(&c, &s, 0), 3);
}

static void test_takeover_spreads(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cfg rr = cfg_of(SCHED_ROUND_ROBIN, 0);
	struct sched_cfg lqd = cfg_of(SCHED_LEAST_DEPTH, 2);

	snap_init(&s, 4);
	s.conn[0].depth = 0;      /* the failed one: never the answer */
	s.conn[1].depth = 6;
	s.conn[2].depth = 3;
	s.conn[3].depth = 4;
	assert_int_equal(sched_takeover(&rr, &s, 0), 2);
	assert_int_equal(sched_takeover(&lqd, &s, 0), 2);
	assert_int_equal(sched_takeover(&lqd, &s, 2), 0);
}

/* Adaptive: least queue depth over the first `active` UP connections in
 * slot order; the others are never picked, whatever their depth. */
static void test_adaptive_active_set(void **state)
{
	(void)state;
	struct cset_snap s;
	struct sched_cursor cur;
	struct sched_cfg c = cfg_of(SCHED_ADAPTIVE, SCHED_DEFAULT_SLACK);
	unsigned hits[4] = { 0 };

	snap_init(&s, 4);                /* slot i on queue i */
	sched_cursor_init(&cur, 0);
	s.active = 2;
	snap_fix(&s);
	/* A submitter on queue 3 (outside the set) and one on queue 0 at
	 * QD32: everything lands on slots 0 and 1. */
	for (int i = 0; i < 64; i++) {
		int slot = sched_pick(&c, &s, i % 2 ? 3u : 0u, &cur);
		assert_true(slot == 0 || slot == 1);
		s.conn[slot].depth++;
		hits[slot]++;
	}
	assert_true(hits[0] >= 24 && hits[1] >= 24);
	assert_true(sched_in_active_set(&s, 0) && sched_in_active_set(&s, 1));
	assert_false(sched_in_active_set(&s, 2) || sched_in_active_set(&s, 3));
	/* Slot 1 fails: the set is the first two UP ones, slots 0 and 2. */
	s.conn[1].state = CSET_FAILED;
	snap_fix(&s);
	s.conn[0].depth = 9;
	s.conn[2].depth = 0;
	s.conn[3].depth = 0;
	assert_int_equal(sched_pick(&c, &s, 3, &cur), 2);
	assert_true(sched_in_active_set(&s, 2));
	assert_false(sched_in_active_set(&s, 1) || sched_in_active_set(&s, 3));
	/* k = 1: one connection however busy. */
	s.active = 1;
	snap_fix(&s);
	assert_int_equal(sched_pick(&c, &s, 2, &cur), 0);
	/* 0, or more than are UP: all of them, as least queue depth. */
	s.active = 0;
	snap_fix(&s);
	assert_int_equal(sched_pick(&c, &s, SCHED_NO_QUEUE, &cur), 2);
	s.conn[2].depth = 5;
	s.active = 9;
	snap_fix(&s);
	assert_int_equal(sched_pick(&c, &s, SCHED_NO_QUEUE, &cur), 3);
	assert_true(sched_in_active_set(&s, 3));
	s.conn[0].state = s.conn[2].state = s.conn[3].state = CSET_FAILED;
	snap_fix(&s);
	assert_int_equal(sched_pick(&c, &s, 0, &cur), -ENOTCONN);
}

static void test_policy_names(void **state)
{
	(void)state;
	enum sched_policy p;
	enum sched_policy all[] = { SCHED_LEAST_DEPTH, SCHED_ROUND_ROBIN,
				    SCHED_FAILOVER, SCHED_WEIGHTED, SCHED_ADAPTIVE };

	assert_int_equal(sched_policy_parse("Auto", &p), 0);
	assert_int_equal(p, SCHED_ADAPTIVE);
	assert_string_equal(sched_policy_name(SCHED_ADAPTIVE), "adaptive");
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(sched_policy_parse(sched_policy_name(all[i]), &p), 0);
		assert_int_equal(p, all[i]);
	}
	assert_string_equal(sched_policy_name(SCHED_FAILOVER), "failover-only");
	assert_int_equal(sched_policy_parse("RR", &p), 0);
	assert_int_equal(p, SCHED_ROUND_ROBIN);
	assert_int_equal(sched_policy_parse("lqd", &p), 0);
	assert_int_equal(p, SCHED_LEAST_DEPTH);
	assert_int_equal(sched_policy_parse("random", &p), -EINVAL);
	assert_int_equal(sched_policy_parse(NULL, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_usable),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_least_depth_locality),
		cmocka_unit_test(test_least_depth_plain),
		cmocka_unit_test(test_least_depth_spreads_one_submitter),
		cmocka_unit_test(test_failover_only),
		cmocka_unit_test(test_weighted_paths),
		cmocka_unit_test(test_takeover_spreads),
		cmocka_unit_test(test_adaptive_active_set),
		cmocka_unit_test(test_policy_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
