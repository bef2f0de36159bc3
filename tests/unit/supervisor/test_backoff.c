/* SPDX-License-Identifier: MIT */
/* Re-login backoff: doubling, the cap, the jitter bounds, reset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "supervisor/backoff.h"

static void test_init(void **state)
{
	struct backoff b;
	(void)state;
	assert_int_equal(backoff_init(&b, 0, 10), -EINVAL);
	assert_int_equal(backoff_init(&b, 10, 9), -EINVAL);
	assert_int_equal(backoff_init(&b, 10, 10), 0);
	assert_int_equal(backoff_step(&b), 10);
}

static void test_doubling_and_cap(void **state)
{
	struct backoff b;
	static const uint32_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000,
					 64000, 120000, 120000, 120000 };
	(void)state;

	backoff_init(&b, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(backoff_step(&b), want[i]);
		/* rnd 0 gives the lower bound, UINT32_MAX-ish some value within. */
		assert_int_equal(backoff_next(&b, 0), want[i] / 2);
	}
	/* Far past 32 doublings nothing overflows. */
	for (int i = 0; i < 100; i++)
		backoff_next(&b, 12345);
	assert_int_equal(backoff_step(&b), BACKOFF_CAP_MS);

	struct backoff big;
	backoff_init(&big, 3000000000u, UINT32_MAX);
	backoff_next(&big, 0);
	assert_int_equal(backoff_step(&big), UINT32_MAX);
	uint32_t d = backoff_next(&big, UINT32_MAX);
	assert_true(d >= UINT32_MAX / 2);
}

static void test_jitter_bounds(void **state)
{
	struct backoff b;
	uint32_t lo = UINT32_MAX, hi = 0;
	(void)state;

	/* Every rnd lands in [step/2, step]; both ends are reachable. */
	for (uint32_t r = 0; r < 5000; r++) {
		backoff_init(&b, 1000, 120000);
		b.attempt = 2;                  /* step 4000 */
		uint32_t d = backoff_next(&b, r * 2654435761u);
		assert_true(d >= 2000 && d <= 4000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(lo < 2100 && hi > 3900);
	backoff_init(&b, 1000, 120000);
	b.attempt = 2;
	assert_int_equal(backoff_next(&b, 2000), 4000);
	/* Odd steps keep both bounds. */
	backoff_init(&b, 3, 3);
	assert_int_equal(backoff_next(&b, 0), 1);
	assert_int_equal(backoff_next(&b, 2), 3);
}

static void test_reset(void **state)
{
	struct backoff b;
	(void)state;
	backoff_init(&b, 500, 60000);
	for (int i = 0; i < 6; i++)
		backoff_next(&b, 7);
	assert_int_equal(backoff_step(&b), 32000);
	backoff_reset(&b);
	assert_int_equal(backoff_step(&b), 500);
	assert_int_equal(b.attempt, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_doubling_and_cap),
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
