/* SPDX-License-Identifier: MIT */
/* The StatSN tracker: ExpStatSN only over statuses that arrived and are not
 * held; gaps from a later status, from a NOP-In/R2T "next StatSN" and from
 * a discarded response; Status SNACK runs asked once, again after the
 * retry time; duplicates of retransmitted statuses; the window limit;
 * serial wrap; and a randomized connection that loses, repeats and holds
 * statuses until every one is acknowledged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mcs/erl_stat.h"

#define MS 1000000ull

static void expect_runs(const struct erl_run *got, unsigned n,
			const struct erl_run *want, unsigned nwant)
{
	assert_int_equal(n, nwant);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(got[i].begrun, want[i].begrun);
		assert_int_equal(got[i].runlength, want[i].runlength);
	}
}

static void test_in_order_and_dup(void **state)
{
	(void)state;
	struct erl_stat s;
	struct erl_run r[4];

	erl_stat_init(&s, 100);
	assert_int_equal(erl_stat_expstatsn(&s), 100);
	for (uint32_t sn = 100; sn < 110; sn++)
		assert_int_equal(erl_stat_rx(&s, sn, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 110);
	assert_int_equal(erl_stat_rx(&s, 105, false), ERL_STAT_DUP);
	assert_int_equal(erl_stat_rx(&s, 109, false), ERL_STAT_DUP);
	assert_int_equal(erl_stat_gaps(&s, r, 4), 0);
	assert_int_equal(erl_stat_snack(&s, MS, 10 * MS, r, 4), 0);
}

/* A header digest error swallowed StatSN 3 and 4: the next status shows
 * the gap; ExpStatSN waits there; the retransmissions fill it. */
static void test_gap_from_later_status(void **state)
{
	(void)state;
	struct erl_stat s;
	struct erl_run r[4];

	erl_stat_init(&s, 3);
	assert_int_equal(erl_stat_rx(&s, 5, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 6, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 3);
	expect_runs(r, erl_stat_snack(&s, 10 * MS, 100 * MS, r, 4),
		    (const struct erl_run[]){ { 3, 2 } }, 1);
	assert_int_equal(erl_stat_snack(&s, 20 * MS, 100 * MS, r, 4), 0);
	assert_int_equal(erl_stat_rx(&s, 4, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 3);
	assert_int_equal(erl_stat_rx(&s, 3, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 7);
	/* The target resent 5 too: a duplicate. */
	assert_int_equal(erl_stat_rx(&s, 5, false), ERL_STAT_DUP);
}

/* An idle connection: only the NOP-In's "next StatSN" reveals that the
 * last status was lost. */
static void test_gap_from_next(void **state)
{
	(void)state;
	struct erl_stat s;
	struct erl_run r[4];

	erl_stat_init(&s, 10);
	assert_int_equal(erl_stat_rx(&s, 10, false), ERL_STAT_NEW);
	erl_stat_next(&s, 11);                 /* nothing missing */
	assert_int_equal(erl_stat_gaps(&s, r, 4), 0);
	erl_stat_next(&s, 13);                 /* 11 and 12 were lost */
	expect_runs(r, erl_stat_gaps(&s, r, 4),
		    (const struct erl_run[]){ { 11, 2 } }, 1);
	/* An older "next" changes nothing. */
	erl_stat_next(&s, 12);
	expect_runs(r, erl_stat_gaps(&s, r, 4),
		    (const struct erl_run[]){ { 11, 2 } }, 1);
}

/* A SCSI Response whose sense digest failed is discarded: its StatSN is
 * asked for again; an unsolicited Reject/Async likewise. */
static void test_lost_response(void **state)
{
	(void)state;
	struct erl_stat s;
	struct erl_run r[4];

	erl_stat_init(&s, 0);
	erl_stat_lost(&s, 0);
	assert_int_equal(erl_stat_rx(&s, 1, false), ERL_STAT_NEW);
	expect_runs(r, erl_stat_snack(&s, MS, 100 * MS, r, 4),
		    (const struct erl_run[]){ { 0, 1 } }, 1);
	/* Not answered in time: asked again. */
	expect_runs(r, erl_stat_snack(&s, 200 * MS, 100 * MS, r, 4),
		    (const struct erl_run[]){ { 0, 1 } }, 1);
	assert_int_equal(erl_stat_rx(&s, 0, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 2);
	/* Lost reports for what arrived are ignored. */
	erl_stat_lost(&s, 1);
	erl_stat_lost(&s, 0);
	assert_int_equal(s.high, 2);
}

/* The status of a read arrived but a Data-In is missing: it is held, so
 * that ExpStatSN does not let the target drop the data; statuses after
 * it are not acknowledged either until it is released. */
static void test_hold_release(void **state)
{
	(void)state;
	struct erl_stat s;

	/* In order, held at once: ExpStatSN stays. */
	erl_stat_init(&s, 20);
	assert_int_equal(erl_stat_rx(&s, 20, true), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 20);
	assert_int_equal(erl_stat_rx(&s, 20, false), ERL_STAT_DUP);
	assert_int_equal(erl_stat_rx(&s, 21, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 22, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 20);
	assert_int_equal(erl_stat_release(&s, 21), -EINVAL);   /* not held */
	assert_int_equal(erl_stat_release(&s, 20), 0);
	assert_int_equal(erl_stat_expstatsn(&s), 23);
	assert_int_equal(erl_stat_release(&s, 20), -EINVAL);   /* passed */

	/* Behind a gap; the gap fills first, the hold still stops it. */
	erl_stat_init(&s, 30);
	assert_int_equal(erl_stat_rx(&s, 31, true), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 30, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 32, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 31);
	assert_int_equal(erl_stat_release(&s, 33), -EINVAL);   /* not arrived */
	assert_int_equal(erl_stat_release(&s, 31), 0);
	assert_int_equal(erl_stat_expstatsn(&s), 33);
	/* A hold does not make it missing: no SNACK for it. */
	struct erl_run r[2];
	erl_stat_init(&s, 40);
	assert_int_equal(erl_stat_rx(&s, 40, true), ERL_STAT_NEW);
	assert_int_equal(erl_stat_gaps(&s, r, 2), 0);
}

static void test_window(void **state)
{
	(void)state;
	struct erl_stat s;
	struct erl_run r[4];
	const uint32_t W = ERL_STAT_WINDOW;

	erl_stat_init(&s, 0);
	assert_int_equal(erl_stat_rx(&s, W - 1, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, W, false), ERL_STAT_FAR);
	expect_runs(r, erl_stat_gaps(&s, r, 4),
		    (const struct erl_run[]){ { 0, W - 1 } }, 1);
	/* "next" far ahead: all beyond the window counts as missing. */
	erl_stat_next(&s, W + 100);
	expect_runs(r, erl_stat_gaps(&s, r, 4),
		    (const struct erl_run[]){ { 0, W - 1 }, { W, 100 } }, 2);
	/* The ring comes round: once ack moves, the slots are clean. */
	for (uint32_t sn = 0; sn < W - 1; sn++)
		assert_int_equal(erl_stat_rx(&s, sn, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), W);
	assert_int_equal(erl_stat_rx(&s, W, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 2 * W, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 2 * W + 1, false), ERL_STAT_FAR);
	assert_int_equal(erl_stat_expstatsn(&s), W + 1);
	expect_runs(r, erl_stat_gaps(&s, r, 4),
		    (const struct erl_run[]){ { W + 1, W - 1 } }, 1);
}

static void test_snack_bounded(void **state)
{
	(void)state;
	struct erl_stat s;
	struct erl_run r[1];

	erl_stat_init(&s, 0);
	erl_stat_rx(&s, 1, false);
	erl_stat_rx(&s, 3, false);
	erl_stat_rx(&s, 5, false);
	expect_runs(r, erl_stat_snack(&s, MS, 100 * MS, r, 1),
		    (const struct erl_run[]){ { 0, 1 } }, 1);
	expect_runs(r, erl_stat_snack(&s, 2 * MS, 100 * MS, r, 1),
		    (const struct erl_run[]){ { 2, 1 } }, 1);
	expect_runs(r, erl_stat_snack(&s, 3 * MS, 100 * MS, r, 1),
		    (const struct erl_run[]){ { 4, 1 } }, 1);
	assert_int_equal(erl_stat_snack(&s, 4 * MS, 100 * MS, r, 1), 0);
	assert_int_equal(erl_stat_snack(&s, 5 * MS, 100 * MS, r, 0), 0);
}

static void test_serial_wrap(void **state)
{
	(void)state;
	struct erl_stat s;
	struct erl_run r[2];

	erl_stat_init(&s, 0xfffffffeu);
	assert_int_equal(erl_stat_rx(&s, 0xfffffffeu, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 1, false), ERL_STAT_NEW);
	expect_runs(r, erl_stat_gaps(&s, r, 2),
		    (const struct erl_run[]){ { 0xffffffffu, 2 } }, 1);
	assert_int_equal(erl_stat_rx(&s, 0xfffffff0u, false), ERL_STAT_DUP);
	assert_int_equal(erl_stat_rx(&s, 0xffffffffu, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_rx(&s, 0, false), ERL_STAT_NEW);
	assert_int_equal(erl_stat_expstatsn(&s), 2);
}

/* ---- randomized ------------------------------------------------------------ */

static uint32_t rng = 0x2545f491u;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng % n;
}

#define N 3000u

static void test_random(void **state)
{
	(void)state;
	for (unsigned round = 0; round < 20; round++) {
		struct erl_stat s;
		unsigned got[N];
		bool held[N];
		uint64_t now = 0;
		uint32_t base = rnd(1000) + (round & 1 ? 0xffffff00u : 0);

		memset(got, 0, sizeof(got));
		memset(held, 0, sizeof(held));
		erl_stat_init(&s, base);
		for (uint32_t i = 0; i < N; i++) {
			uint32_t sn = base + i;
			/* Keep within the window: the target would stall
			 * with that many unacknowledged statuses. */
			while (sn - erl_stat_expstatsn(&s) >= ERL_STAT_WINDOW) {
				struct erl_run r[4];
				unsigned n;
				now += 30 * MS;
				n = erl_stat_snack(&s, now, 20 * MS, r, 4);
				for (unsigned k = 0; k < n; k++)
					for (uint32_t j = 0; j < r[k].runlength; j++) {
						uint32_t x = r[k].begrun + j;
						if (erl_stat_rx(&s, x, false) == ERL_STAT_NEW)
							got[x - base]++;
					}
				/* Held statuses get their data eventually. */
				for (uint32_t j = 0; j < N; j++)
					if (held[j] && rnd(2) == 0) {
						assert_int_equal(erl_stat_release(&s, base + j), 0);
						held[j] = false;
					}
			}
			if (rnd(7) == 0) {               /* header digest error */
				if (rnd(2) == 0)
					erl_stat_lost(&s, sn);
				continue;
			}
			/* Some statuses must wait for their data. */
			held[i] = rnd(9) == 0;
			assert_int_equal(erl_stat_rx(&s, sn, held[i]), ERL_STAT_NEW);
			got[i]++;
			if (rnd(11) == 0)                /* a duplicate */
				assert_int_equal(erl_stat_rx(&s, sn, false), ERL_STAT_DUP);
		}
		erl_stat_next(&s, base + N);
		for (unsigned turns = 0; erl_stat_expstatsn(&s) != base + N; turns++) {
			struct erl_run r[4];
			now += 30 * MS;
			unsigned n = erl_stat_snack(&s, now, 20 * MS, r, 4);
			for (unsigned k = 0; k < n; k++)
				for (uint32_t j = 0; j < r[k].runlength; j++) {
					uint32_t x = r[k].begrun + j;
					if (erl_stat_rx(&s, x, false) == ERL_STAT_NEW)
						got[x - base]++;
				}
			for (uint32_t j = 0; j < N; j++)
				if (held[j]) {
					assert_int_equal(erl_stat_release(&s, base + j), 0);
					held[j] = false;
				}
			assert_true(turns < 100);
		}
		for (uint32_t i = 0; i < N; i++)
			assert_int_equal(got[i], 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_dup),
		cmocka_unit_test(test_gap_from_later_status),
		cmocka_unit_test(test_gap_from_next),
		cmocka_unit_test(test_lost_response),
		cmocka_unit_test(test_hold_release),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_snack_bounded),
		cmocka_unit_test(test_serial_wrap),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
