/* SPDX-License-Identifier: MIT */
/* Recovery deadlines: Time2Wait, Time2Retain counted after Time2Wait, the
 * replacement timeout, restatement by Async 2/3 and by a Logout Response
 * (whose zeros are ignored: LIO), the next deadline for the reactor, and
 * login back-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mcs/erl_timer.h"

#define S ERL_NS_PER_S
#define MS ERL_NS_PER_MS
#define T0 (1000 * S)       /* an arbitrary monotonic time */

static void test_start(void **state)
{
	(void)state;
	struct erl_clock c;

	/* RFC 7143 defaults: Time2Wait 2, Time2Retain 20; open-iscsi's
	 * replacement timeout 120 s. */
	erl_clock_start(&c, T0, 2, 20, ERL_REPLACEMENT_MS_DEFAULT);
	assert_int_equal(c.failed_ns, T0);
	assert_false(erl_clock_may_act(&c, T0));
	assert_false(erl_clock_may_act(&c, T0 + 2 * S - 1));
	assert_true(erl_clock_may_act(&c, T0 + 2 * S));
	assert_true(erl_clock_retained(&c, T0 + 21 * S));
	assert_true(erl_clock_retained(&c, T0 + 22 * S - 1));
	assert_false(erl_clock_retained(&c, T0 + 22 * S));
	assert_false(erl_clock_replaced(&c, T0 + 120 * S - 1));
	assert_true(erl_clock_replaced(&c, T0 + 120 * S));
	/* The reactor wakes for each deadline in turn. */
	assert_int_equal(erl_clock_next(&c, T0), T0 + 2 * S);
	assert_int_equal(erl_clock_next(&c, T0 + 2 * S), T0 + 22 * S);
	assert_int_equal(erl_clock_next(&c, T0 + 22 * S), T0 + 120 * S);
	assert_int_equal(erl_clock_next(&c, T0 + 120 * S), 0);
}

static void test_nothing_retained(void **state)
{
	(void)state;
	struct erl_clock c;

	erl_clock_start(&c, T0, 0, 0, 0);
	assert_true(erl_clock_may_act(&c, T0));
	assert_false(erl_clock_retained(&c, T0));
	assert_false(erl_clock_replaced(&c, T0 + 1000000 * S));   /* never */
	assert_int_equal(erl_clock_next(&c, T0), 0);
}

static void test_async_restates(void **state)
{
	(void)state;
	struct erl_clock c;

	erl_clock_start(&c, T0, 2, 20, 60000);
	/* Async 2 at T0 + 1 s: Time2Wait 5, Time2Retain 10 from then. */
	erl_clock_async(&c, T0 + S, 5, 10);
	assert_false(erl_clock_may_act(&c, T0 + 5 * S));
	assert_true(erl_clock_may_act(&c, T0 + 6 * S));
	assert_true(erl_clock_retained(&c, T0 + 15 * S));
	assert_false(erl_clock_retained(&c, T0 + 16 * S));
	/* The replacement timeout is ours: unchanged. */
	assert_true(erl_clock_replaced(&c, T0 + 60 * S));
	/* Time2Retain 0 in an Async: the target kept nothing. */
	erl_clock_async(&c, T0 + 2 * S, 0, 0);
	assert_false(erl_clock_retained(&c, T0 + 2 * S));
}

static void test_logout_restates_but_ignores_zeros(void **state)
{
	(void)state;
	struct erl_clock c;

	erl_clock_start(&c, T0, 2, 20, 0);
	/* LIO: 0/0 although the tasks can still be reassigned. */
	erl_clock_logout(&c, T0 + 3 * S, 0, 0);
	assert_true(erl_clock_may_act(&c, T0 + 3 * S));
	assert_true(erl_clock_retained(&c, T0 + 21 * S));
	/* A target that states its times: from the response on. */
	erl_clock_logout(&c, T0 + 3 * S, 1, 9);
	assert_false(erl_clock_may_act(&c, T0 + 4 * S - 1));
	assert_true(erl_clock_may_act(&c, T0 + 4 * S));
	assert_true(erl_clock_retained(&c, T0 + 13 * S - 1));
	assert_false(erl_clock_retained(&c, T0 + 13 * S));
	/* Only Time2Retain stated: counted from the existing Time2Wait end. */
	erl_clock_start(&c, T0, 2, 20, 0);
	erl_clock_logout(&c, T0 + S, 0, 5);
	assert_int_equal(c.retain_until, T0 + 7 * S);
	/* ... or from now when Time2Wait is over. */
	erl_clock_logout(&c, T0 + 10 * S, 0, 5);
	assert_int_equal(c.retain_until, T0 + 15 * S);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(erl_backoff_ns(0, 500, 30000), 500 * MS);
	assert_int_equal(erl_backoff_ns(1, 500, 30000), 1000 * MS);
	assert_int_equal(erl_backoff_ns(3, 500, 30000), 4000 * MS);
	assert_int_equal(erl_backoff_ns(6, 500, 30000), 30000 * MS);
	assert_int_equal(erl_backoff_ns(1000, 500, 30000), 30000 * MS);
	/* A maximum below the minimum: the minimum. */
	assert_int_equal(erl_backoff_ns(5, 800, 100), 800 * MS);
	assert_int_equal(erl_backoff_ns(3, 0, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_nothing_retained),
		cmocka_unit_test(test_async_restates),
		cmocka_unit_test(test_logout_restates_but_ignores_zeros),
		cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
