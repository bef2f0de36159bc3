/* SPDX-License-Identifier: MIT */
/* mcsi_open()'s checks of its options, made before anything goes on the
 * network: each bad option is -EINVAL and no session comes back. The URL
 * names a port nothing listens on, so an option that passed the checks
 * would show as a connection error instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "mcsi/mcsi.h"

#define URL "iscsi://127.0.0.1:1/iqn.2026-11.org.mcsi:nobody"

static int open_with(const struct mcsi_opts *o)
{
	mcsi_session *s = (mcsi_session *)(uintptr_t)1;
	int rc = mcsi_open(URL, o, &s);

	if (rc == 0)
		mcsi_close(s);
	return rc;
}

static void test_bad_options(void **state)
{
	(void)state;
	struct mcsi_opts o;

	mcsi_opts_init(&o);
	o.error_recovery_level = 3;
	assert_int_equal(open_with(&o), -EINVAL);

	mcsi_opts_init(&o);
	o.time2wait_s = 3601;
	assert_int_equal(open_with(&o), -EINVAL);

	mcsi_opts_init(&o);
	o.time2retain_s = 3601;
	assert_int_equal(open_with(&o), -EINVAL);

	mcsi_opts_init(&o);
	o.sched_policy = "fastest";
	assert_int_equal(open_with(&o), -EINVAL);

	mcsi_opts_init(&o);
	o.size = 12;                     /* no struct this program knows */
	assert_int_equal(open_with(&o), -EINVAL);
	assert_int_equal(mcsi_open(NULL, NULL, NULL), -EINVAL);
}

/* Options in range get as far as the connection (refused here). */
static void test_good_options_reach_the_network(void **state)
{
	(void)state;
	struct mcsi_opts o;

	mcsi_opts_init(&o);
	o.time2wait_s = 5;
	o.time2retain_s = 3600;
	o.replacement_timeout_ms = 0;
	int rc = open_with(&o);
	assert_true(rc < 0);
	assert_int_not_equal(rc, -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_good_options_reach_the_network),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
