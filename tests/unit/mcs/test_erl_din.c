/* SPDX-License-Identifier: MIT */
/* The input PDU tracker: DataSN/R2TSN sequences in order, reordered, with
 * duplicates, discarded PDUs (data digest errors) and PDUs beyond the
 * window; the SNACK runs asked for (and not asked twice before the retry
 * time); the count from the status, including LIO's "0"; DataACK only
 * without holes; TASK REASSIGN and R-Data restarts; serial wrap-around;
 * and a randomized target that loses, repeats and reorders PDUs until the
 * tracker's SNACKs have brought every one of them in exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mcs/erl_din.h"

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

static void commit(struct erl_din *d, uint32_t sn, uint32_t len, int rc)
{
	assert_int_equal(erl_din_commit(d, sn, len), rc);
}

static void test_in_order(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[4];

	erl_din_init(&d);
	for (uint32_t sn = 0; sn < 8; sn++) {
		assert_int_equal(erl_din_check(&d, sn), ERL_DIN_NEXT);
		commit(&d, sn, 8192, 0);
	}
	assert_int_equal(d.exp, 8);
	assert_int_equal(erl_din_bytes(&d), 65536);
	assert_int_equal(erl_din_gaps(&d, r, 4), 0);
	/* Without a count, complete as far as known (and by bytes). */
	assert_true(erl_din_complete(&d, ERL_BYTES_UNKNOWN));
	assert_true(erl_din_complete(&d, 65536));
	assert_false(erl_din_complete(&d, 65537));
	assert_int_equal(erl_din_status(&d, 8), 0);
	assert_true(erl_din_complete(&d, ERL_BYTES_UNKNOWN));
	assert_int_equal(erl_din_snack(&d, 5 * MS, 100 * MS, 65536, r, 4), 0);
}

static void test_reordered(void **state)
{
	(void)state;
	struct erl_din d;

	erl_din_init(&d);
	commit(&d, 0, 100, 0);
	assert_int_equal(erl_din_check(&d, 2), ERL_DIN_AHEAD);
	commit(&d, 2, 300, 0);
	assert_int_equal(erl_din_check(&d, 3), ERL_DIN_AHEAD);
	commit(&d, 3, 400, 0);
	assert_int_equal(d.exp, 1);
	assert_int_equal(erl_din_bytes(&d), 800);
	assert_false(erl_din_complete(&d, ERL_BYTES_UNKNOWN));
	/* The hole fills: exp moves past everything that waited. */
	assert_int_equal(erl_din_check(&d, 1), ERL_DIN_NEXT);
	commit(&d, 1, 200, 0);
	assert_int_equal(d.exp, 4);
	assert_int_equal(d.bytes, 1000);
	assert_int_equal(d.ahead, 0);
	assert_true(erl_din_complete(&d, 1000));
}

static void test_duplicates(void **state)
{
	(void)state;
	struct erl_din d;

	erl_din_init(&d);
	commit(&d, 0, 10, 0);
	commit(&d, 1, 10, 0);
	assert_int_equal(erl_din_check(&d, 1), ERL_DIN_DUP);
	commit(&d, 1, 10, -EALREADY);
	commit(&d, 0, 10, -EALREADY);
	commit(&d, 5, 10, 0);
	assert_int_equal(erl_din_check(&d, 5), ERL_DIN_DUP);
	commit(&d, 5, 10, -EALREADY);
	/* A number far in the past (serial) is a duplicate, not a gap. */
	assert_int_equal(erl_din_check(&d, 0xfffffff0u), ERL_DIN_DUP);
	assert_int_equal(erl_din_bytes(&d), 30);
	/* A lost report for what arrived changes nothing. */
	erl_din_lost(&d, 1);
	erl_din_lost(&d, 5);
	assert_int_equal(d.high, 6);
}

/* Received 0 1 4 5 7, then a status counting 10. */
static void test_gaps_and_status(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[8];
	const uint32_t got[] = { 0, 1, 4, 5, 7 };

	erl_din_init(&d);
	for (size_t i = 0; i < 5; i++)
		commit(&d, got[i], 512, 0);
	expect_runs(r, erl_din_gaps(&d, r, 8),
		    (const struct erl_run[]){ { 2, 2 }, { 6, 1 } }, 2);
	assert_int_equal(erl_din_status(&d, 10), 0);
	expect_runs(r, erl_din_gaps(&d, r, 8),
		    (const struct erl_run[]){ { 2, 2 }, { 6, 1 }, { 8, 2 } }, 3);
	/* max bounds the answer. */
	expect_runs(r, erl_din_gaps(&d, r, 2),
		    (const struct erl_run[]){ { 2, 2 }, { 6, 1 } }, 2);
	/* A status that contradicts what arrived is a protocol error. */
	assert_int_equal(erl_din_status(&d, 11), -EPROTO);
	assert_int_equal(erl_din_status(&d, 10), 0);
	struct erl_din e;
	erl_din_init(&e);
	commit(&e, 3, 1, 0);
	assert_int_equal(erl_din_status(&e, 3), -EPROTO);
	assert_false(e.total_known);
}

/* A Data-In whose data digest failed is discarded and asked for again. */
static void test_digest_error(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[4];

	erl_din_init(&d);
	commit(&d, 0, 8192, 0);
	erl_din_lost(&d, 1);               /* discarded: exists, missing */
	assert_false(erl_din_complete(&d, ERL_BYTES_UNKNOWN));
	expect_runs(r, erl_din_snack(&d, 10 * MS, 50 * MS, ERL_BYTES_UNKNOWN, r, 4),
		    (const struct erl_run[]){ { 1, 1 } }, 1);
	/* The last PDU (with status) digest-failed as well. */
	commit(&d, 2, 8192, 0);
	erl_din_lost(&d, 3);
	assert_int_equal(erl_din_status(&d, 4), 0);
	/* Only the new gap is asked for; 1 is already on its way. */
	expect_runs(r, erl_din_snack(&d, 20 * MS, 50 * MS, ERL_BYTES_UNKNOWN, r, 4),
		    (const struct erl_run[]){ { 3, 1 } }, 1);
	assert_int_equal(erl_din_snack(&d, 30 * MS, 50 * MS, ERL_BYTES_UNKNOWN, r, 4), 0);
	/* No answer in time: both asked again. */
	expect_runs(r, erl_din_snack(&d, 70 * MS, 50 * MS, ERL_BYTES_UNKNOWN, r, 4),
		    (const struct erl_run[]){ { 1, 1 }, { 3, 1 } }, 2);
	commit(&d, 3, 100, 0);
	commit(&d, 1, 8192, 0);
	assert_true(erl_din_complete(&d, ERL_BYTES_UNKNOWN));
	assert_int_equal(erl_din_bytes(&d), 3 * 8192 + 100);
}

static void test_snack_bounded_by_max(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[2];

	erl_din_init(&d);
	for (uint32_t sn = 1; sn < 12; sn += 2)     /* 0 2 4 6 8 10 missing */
		commit(&d, sn, 1, 0);
	expect_runs(r, erl_din_snack(&d, MS, 100 * MS, ERL_BYTES_UNKNOWN, r, 2),
		    (const struct erl_run[]){ { 0, 1 }, { 2, 1 } }, 2);
	expect_runs(r, erl_din_snack(&d, 2 * MS, 100 * MS, ERL_BYTES_UNKNOWN, r, 2),
		    (const struct erl_run[]){ { 4, 1 }, { 6, 1 } }, 2);
	expect_runs(r, erl_din_snack(&d, 3 * MS, 100 * MS, ERL_BYTES_UNKNOWN, r, 2),
		    (const struct erl_run[]){ { 8, 1 }, { 10, 1 } }, 2);
	assert_int_equal(erl_din_snack(&d, 4 * MS, 100 * MS, ERL_BYTES_UNKNOWN, r, 2), 0);
	assert_int_equal(erl_din_snack(&d, 5 * MS, 100 * MS, ERL_BYTES_UNKNOWN, r, 0), 0);
}

/* PDUs more than ERL_DIN_WINDOW past the first gap are discarded and
 * asked for with the gap. */
static void test_beyond_window(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[4];

	erl_din_init(&d);
	commit(&d, 0, 1, 0);
	assert_int_equal(erl_din_check(&d, 1 + ERL_DIN_WINDOW), ERL_DIN_AHEAD);
	assert_int_equal(erl_din_check(&d, 2 + ERL_DIN_WINDOW), ERL_DIN_FAR);
	commit(&d, 1 + ERL_DIN_WINDOW, 1, 0);
	commit(&d, 2 + ERL_DIN_WINDOW, 1, -ERANGE);
	commit(&d, 40, 1, -ERANGE);
	expect_runs(r, erl_din_gaps(&d, r, 4),
		    (const struct erl_run[]){ { 1, ERL_DIN_WINDOW },
					      { 2 + ERL_DIN_WINDOW, 40 - 1 - ERL_DIN_WINDOW } }, 2);
	/* Filling the gap brings the far ones into the window. */
	for (uint32_t sn = 1; sn <= ERL_DIN_WINDOW; sn++)
		commit(&d, sn, 1, 0);
	assert_int_equal(d.exp, 2 + ERL_DIN_WINDOW);
	assert_int_equal(erl_din_check(&d, 40), ERL_DIN_AHEAD);
	expect_runs(r, erl_din_gaps(&d, r, 4),
		    (const struct erl_run[]){ { 2 + ERL_DIN_WINDOW, 40 - 1 - ERL_DIN_WINDOW } }, 1);
}

/* LIO answers a Status SNACK with ExpDataSN 0: the count is unknown, and
 * the bytes tell that the tail is missing. */
static void test_unsaid_count_tail(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[4];

	erl_din_init(&d);
	for (uint32_t sn = 0; sn < 4; sn++)
		commit(&d, sn, 8192, 0);
	assert_int_equal(erl_din_status(&d, 0), 0);
	assert_false(d.total_known);
	assert_false(erl_din_complete(&d, 65536));
	expect_runs(r, erl_din_snack(&d, MS, 100 * MS, 65536, r, 4),
		    (const struct erl_run[]){ { 4, 0 } }, 1);
	assert_int_equal(erl_din_snack(&d, 2 * MS, 100 * MS, 65536, r, 4), 0);
	expect_runs(r, erl_din_snack(&d, 200 * MS, 100 * MS, 65536, r, 4),
		    (const struct erl_run[]){ { 4, 0 } }, 1);
	for (uint32_t sn = 4; sn < 8; sn++)
		commit(&d, sn, 8192, 0);
	assert_true(erl_din_complete(&d, 65536));
	/* With a known gap the tail is not guessed at. */
	struct erl_din e;
	erl_din_init(&e);
	commit(&e, 0, 10, 0);
	commit(&e, 2, 10, 0);
	expect_runs(r, erl_din_snack(&e, MS, 100 * MS, 100, r, 4),
		    (const struct erl_run[]){ { 1, 1 } }, 1);
}

static void test_dataack(void **state)
{
	(void)state;
	struct erl_din d;
	uint32_t beg = 0, ttt = 0;

	erl_din_init(&d);
	commit(&d, 0, 100, 0);
	commit(&d, 2, 100, 0);
	commit(&d, 3, 100, 0);
	erl_din_ack_asked(&d, 3, 0x1234);
	assert_false(erl_din_ack_due(&d, &beg, &ttt));    /* hole at 1 */
	commit(&d, 1, 100, 0);
	assert_true(erl_din_ack_due(&d, &beg, &ttt));
	assert_int_equal(beg, 4);
	assert_int_equal(ttt, 0x1234);
	assert_false(erl_din_ack_due(&d, &beg, &ttt));    /* once */
	/* An A bit while a discarded PDU is known missing waits too. */
	commit(&d, 4, 100, 0);
	erl_din_lost(&d, 5);
	erl_din_ack_asked(&d, 4, 7);
	assert_false(erl_din_ack_due(&d, &beg, &ttt));
	commit(&d, 5, 100, 0);
	assert_true(erl_din_ack_due(&d, &beg, &ttt));
	assert_int_equal(beg, 6);
	assert_int_equal(ttt, 7);
	/* R-Data: the target resends from the last DataACK, recut. */
	commit(&d, 6, 100, 0);
	commit(&d, 8, 100, 0);
	erl_din_rdata(&d);
	assert_int_equal(d.exp, 6);
	assert_int_equal(erl_din_bytes(&d), 600);
	assert_int_equal(d.high, 6);
	commit(&d, 6, 250, 0);
	assert_int_equal(erl_din_bytes(&d), 850);
}

/* TASK REASSIGN: ExpDataSN is the first gap; what came after it is
 * resent and must not be counted twice. */
static void test_reassign(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[4];

	erl_din_init(&d);
	commit(&d, 0, 8192, 0);
	commit(&d, 1, 8192, 0);
	commit(&d, 2, 8192, 0);
	commit(&d, 5, 8192, 0);
	erl_din_lost(&d, 6);
	assert_int_equal(erl_din_status(&d, 8), 0);
	assert_int_equal(erl_din_reassign(&d, true), 3);
	assert_int_equal(erl_din_bytes(&d), 3 * 8192);
	assert_false(d.total_known);
	assert_int_equal(erl_din_gaps(&d, r, 4), 0);
	for (uint32_t sn = 3; sn < 8; sn++) {
		assert_int_equal(erl_din_check(&d, sn), ERL_DIN_NEXT);
		commit(&d, sn, 8192, 0);
	}
	assert_int_equal(erl_din_status(&d, 8), 0);
	assert_true(erl_din_complete(&d, 65536));
	assert_int_equal(erl_din_bytes(&d), 65536);
	/* A write: R2TSN 0 and 1 came, ExpDataSN 2 is the next R2TSN. */
	erl_din_init(&d);
	commit(&d, 0, 0, 0);
	commit(&d, 1, 0, 0);
	assert_int_equal(erl_din_reassign(&d, false), 2);
	/* LIO re-solicits the rest of R2T 1 with R2TSN 2, then goes on. */
	assert_int_equal(erl_din_check(&d, 2), ERL_DIN_NEXT);
}

/* A read whose Data-In all arrived, only the status is missing: the last
 * PDU is asked for again (LIO cannot resend a status alone) and dropped
 * as a duplicate when it comes. */
static void test_reassign_all_data_in(void **state)
{
	(void)state;
	struct erl_din d;
	uint32_t beg, ttt;

	erl_din_init(&d);
	commit(&d, 0, 8192, 0);
	commit(&d, 1, 8192, 0);
	assert_int_equal(erl_din_reassign(&d, true), 1);
	assert_int_equal(d.exp, 2);
	assert_int_equal(erl_din_check(&d, 1), ERL_DIN_DUP);
	commit(&d, 1, 8192, -EALREADY);
	assert_int_equal(erl_din_status(&d, 2), 0);
	assert_true(erl_din_complete(&d, 16384));
	/* Never below the last DataACK (the target would refuse it). */
	erl_din_init(&d);
	commit(&d, 0, 10, 0);
	commit(&d, 1, 10, 0);
	erl_din_ack_asked(&d, 1, 5);
	assert_true(erl_din_ack_due(&d, &beg, &ttt));
	assert_int_equal(beg, 2);
	assert_int_equal(erl_din_reassign(&d, true), 2);
	/* Nothing arrived at all: ExpDataSN 0. */
	erl_din_init(&d);
	assert_int_equal(erl_din_reassign(&d, true), 0);
	/* A write never asks for an R2T again (LIO calls that a bad ERL 2
	 * implementation and fails the command). */
	erl_din_init(&d);
	commit(&d, 0, 0, 0);
	assert_int_equal(erl_din_reassign(&d, false), 1);
}

/* Numbers that wrap around 2^32 (serial arithmetic, RFC 1982). */
static void test_serial_wrap(void **state)
{
	(void)state;
	struct erl_din d;
	struct erl_run r[4];

	erl_din_init(&d);
	d.exp = d.high = d.req_upto = 0xfffffffeu;
	commit(&d, 0xfffffffeu, 1, 0);
	commit(&d, 0x00000001u, 1, 0);       /* 0xffffffff and 0 missing */
	expect_runs(r, erl_din_gaps(&d, r, 4),
		    (const struct erl_run[]){ { 0xffffffffu, 2 } }, 1);
	assert_int_equal(erl_din_check(&d, 0xfffffffdu), ERL_DIN_DUP);
	commit(&d, 0xffffffffu, 1, 0);
	commit(&d, 0, 1, 0);
	assert_int_equal(d.exp, 2);
	assert_int_equal(erl_din_bytes(&d), 4);
}

/* ---- a randomized lossy target ------------------------------------------- */

static uint32_t rng = 0x9e3779b9u;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng % n;
}

#define N 300u

static uint32_t len_of(uint32_t sn) { return 512u + (sn * 37u) % 4096u; }

static void deliver(struct erl_din *d, uint32_t sn, unsigned *times)
{
	/* 10 % of the PDUs digest-fail on the way. */
	if (rnd(10) == 0) {
		erl_din_lost(d, sn);
		return;
	}
	switch (erl_din_check(d, sn)) {
	case ERL_DIN_NEXT:
	case ERL_DIN_AHEAD:
		assert_int_equal(erl_din_commit(d, sn, len_of(sn)), 0);
		times[sn]++;
		break;
	case ERL_DIN_DUP:
		assert_true(times[sn] > 0);
		break;
	case ERL_DIN_FAR:
		erl_din_lost(d, sn);
		break;
	}
}

static void test_random_lossy_target(void **state)
{
	(void)state;

	for (unsigned round = 0; round < 50; round++) {
		struct erl_din d;
		uint32_t order[N];
		unsigned times[N];
		uint64_t want = 0, now = 0;

		erl_din_init(&d);
		memset(times, 0, sizeof(times));
		for (uint32_t i = 0; i < N; i++) {
			order[i] = i;
			want += len_of(i);
		}
		/* Local reordering: swaps within a distance of 6. */
		for (uint32_t i = 0; i + 6 < N; i++) {
			uint32_t j = i + rnd(6), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (uint32_t i = 0; i < N; i++) {
			if (rnd(8) == 0)             /* lost in transit */
				continue;
			deliver(&d, order[i], times);
			if (rnd(12) == 0)            /* sent twice */
				deliver(&d, order[i], times);
		}
		/* The status: the count, unless this round plays LIO. */
		int lio = round % 2;
		assert_int_equal(erl_din_status(&d, lio ? 0 : N), 0);
		/* SNACK until complete; the target resends what is asked. */
		unsigned turns = 0;
		while (!erl_din_complete(&d, (uint32_t)want)) {
			struct erl_run r[4];
			now += 60 * MS;
			unsigned n = erl_din_snack(&d, now, 50 * MS, (uint32_t)want, r, 4);
			assert_true(n > 0);
			for (unsigned k = 0; k < n; k++) {
				uint32_t end = r[k].runlength ? r[k].begrun + r[k].runlength : N;
				assert_true(end <= N);
				for (uint32_t sn = r[k].begrun; sn < end; sn++)
					deliver(&d, sn, times);
			}
			assert_true(++turns < 1000);
		}
		for (uint32_t i = 0; i < N; i++)
			assert_int_equal(times[i], 1);
		assert_int_equal(erl_din_bytes(&d), (uint32_t)want);
		assert_int_equal(d.exp, N);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reordered),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_gaps_and_status),
		cmocka_unit_test(test_digest_error),
		cmocka_unit_test(test_snack_bounded_by_max),
		cmocka_unit_test(test_beyond_window),
		cmocka_unit_test(test_unsaid_count_tail),
		cmocka_unit_test(test_dataack),
		cmocka_unit_test(test_reassign),
		cmocka_unit_test(test_reassign_all_data_in),
		cmocka_unit_test(test_serial_wrap),
		cmocka_unit_test(test_random_lossy_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
