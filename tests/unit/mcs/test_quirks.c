/* SPDX-License-Identifier: MIT */
/* Known target defects: what a login offers a LIO target, and that every
 * other target gets exactly what was asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mcs/quirks.h"

#define LIO "iqn.2003-01.org.linux-iscsi.lio:erl2"

static void test_lio_erl2_becomes_1(void **state)
{
	(void)state;
	struct quirk_offer o = { .erl = 2, .connections = 1, .time2wait = 0 };

	assert_non_null(quirks_apply(LIO, &o));
	assert_int_equal(o.erl, 1);
	assert_int_equal(o.time2wait, 0);        /* one connection: no wait */
	/* Case does not matter in an IQN's fixed part. */
	o.erl = 2;
	assert_non_null(quirks_apply("IQN.2003-01.ORG.LINUX-ISCSI.host.x8664:sn.1", &o));
	assert_int_equal(o.erl, 1);
}

static void test_lio_mcs_waits_longer(void **state)
{
	(void)state;
	struct quirk_offer o = { .erl = 1, .connections = 2, .time2wait = 0 };

	assert_non_null(quirks_apply(LIO, &o));
	assert_int_equal(o.erl, 1);
	assert_int_equal(o.time2wait, 5);
	/* The caller's own Time2Wait stands. */
	o = (struct quirk_offer){ .erl = 2, .connections = 4, .time2wait = 3 };
	assert_non_null(quirks_apply(LIO, &o));
	assert_int_equal(o.erl, 1);
	assert_int_equal(o.time2wait, 3);
	/* ERL 0 or 1 with one connection: nothing to change. */
	o = (struct quirk_offer){ .erl = 0, .connections = 1, .time2wait = 0 };
	assert_null(quirks_apply(LIO, &o));
	assert_int_equal(o.erl, 0);
}

static void test_others_untouched(void **state)
{
	(void)state;
	const char *names[] = {
		"iqn.2026-11.org.mcsi.test:tt", "iqn.2001-04.com.example:storage",
		"iqn.2003-01.org.linux-iscs.lio:x", "eui.0123456789abcdef", "", NULL,
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct quirk_offer o = { .erl = 2, .connections = 4, .time2wait = 0 };
		assert_null(quirks_apply(names[i], &o));
		assert_int_equal(o.erl, 2);
		assert_int_equal(o.connections, 4);
		assert_int_equal(o.time2wait, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lio_erl2_becomes_1),
		cmocka_unit_test(test_lio_mcs_waits_longer),
		cmocka_unit_test(test_others_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
