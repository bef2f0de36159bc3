/* SPDX-License-Identifier: MIT */
/* kern/mcsi_bk.c: REPORT LUNS parsing (the session part needs a target:
 * see tests/interop once sessions run). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kern/mcsi_bk.h"

static void test_report_luns(void **state)
{
	static const uint8_t d[] = {
		0, 0, 0, 32, 0, 0, 0, 0,
		0x00, 0x00, 0, 0, 0, 0, 0, 0,     /* LUN 0, peripheral */
		0x00, 0x05, 0, 0, 0, 0, 0, 0,     /* LUN 5 */
		0x41, 0x02, 0, 0, 0, 0, 0, 0,     /* flat: 0x102 */
		0xc1, 0x00, 0, 0, 0, 0, 0, 0,     /* extended addressing: skipped */
	};
	uint32_t luns[8];
	size_t n;

	(void)state;
	assert_int_equal(kern_parse_report_luns(d, sizeof(d), luns, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(luns[0], 0);
	assert_int_equal(luns[1], 5);
	assert_int_equal(luns[2], 0x102);
	/* cut by the allocation length, and a small output array */
	assert_int_equal(kern_parse_report_luns(d, 8 + 16, luns, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kern_parse_report_luns(d, sizeof(d), luns, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(kern_parse_report_luns(d, 7, luns, 8, &n), -EPROTO);
}

static void test_bad_list_length(void **state)
{
	static const uint8_t d[] = { 0, 0, 0, 12, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	uint32_t luns[4];
	size_t n;

	(void)state;
	assert_int_equal(kern_parse_report_luns(d, sizeof(d), luns, 4, &n), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_luns),
		cmocka_unit_test(test_bad_list_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
