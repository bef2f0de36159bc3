/* SPDX-License-Identifier: MIT */
/*
 * proto/serial.h: RFC 1982 serial arithmetic with SERIAL_BITS = 32, at the
 * edges where plain comparison goes wrong: wrap-around, the undefined
 * distance of exactly 2^31, and the CmdSN window (RFC 7143 4.2.2.1).
 */
#include "proto/serial.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_basic_order(void **state)
{
	(void)state;

	assert_true(sn_lt(0, 1));
	assert_false(sn_lt(1, 0));
	assert_true(sn_gt(1, 0));
	assert_false(sn_lt(5, 5));
	assert_false(sn_gt(5, 5));
	assert_true(sn_le(5, 5));
	assert_true(sn_ge(5, 5));
	assert_true(sn_le(4, 5));
	assert_false(sn_ge(4, 5));
}

static void test_wrap(void **state)
{
	(void)state;

	/* 0xffffffff + 1 = 0: the larger integer is the earlier number. */
	assert_true(sn_lt(0xffffffffu, 0));
	assert_true(sn_gt(0, 0xffffffffu));
	assert_false(sn_lt(0, 0xffffffffu));
	assert_true(sn_lt(0xfffffff0u, 0x10));
	assert_true(sn_le(0xffffffffu, 0));
	assert_true(sn_ge(0, 0xffffffffu));
}

static void test_half_space(void **state)
{
	(void)state;

	/* 2^31 - 1 apart: still ordered. */
	assert_true(sn_lt(0, 0x7fffffffu));
	assert_true(sn_gt(0x7fffffffu, 0));
	assert_true(sn_lt(0x80000000u, 0xffffffffu));
	/* Exactly 2^31 apart: undefined, false both ways. */
	assert_false(sn_lt(0, 0x80000000u));
	assert_false(sn_gt(0, 0x80000000u));
	assert_false(sn_lt(0x80000000u, 0));
	assert_false(sn_gt(0x80000000u, 0));
	assert_false(sn_le(0, 0x80000000u));
	assert_false(sn_ge(0, 0x80000000u));
	assert_false(sn_lt(0x12345678u, 0x92345678u));
	assert_false(sn_lt(0x92345678u, 0x12345678u));
	/* 2^31 + 1 ahead is 2^31 - 1 behind. */
	assert_true(sn_lt(0x80000001u, 0));
	assert_false(sn_lt(0, 0x80000001u));
}

static void test_forward_distances(void **state)
{
	static const uint32_t bases[] = { 0, 1, 0x7fffffffu, 0x80000000u,
					  0xfffffffeu, 0xffffffffu, 0x5a5a5a5au };
	static const uint32_t dists[] = { 1, 2, 1000, 0x40000000u,
					  0x7ffffffeu, 0x7fffffffu };
	(void)state;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		for (size_t j = 0; j < sizeof(dists) / sizeof(dists[0]); j++) {
			uint32_t a = bases[i], b = a + dists[j];

			assert_true(sn_lt(a, b));
			assert_true(sn_gt(b, a));
			assert_false(sn_lt(b, a));
			assert_false(sn_gt(a, b));
			assert_true(sn_le(a, b));
			assert_false(sn_ge(a, b));
		}
	}
}

static void test_window(void **state)
{
	(void)state;

	assert_true(sn_in_window(10, 10, 20));
	assert_true(sn_in_window(15, 10, 20));
	assert_true(sn_in_window(20, 10, 20));
	assert_false(sn_in_window(9, 10, 20));
	assert_false(sn_in_window(21, 10, 20));
	/* Across the wrap. */
	assert_true(sn_in_window(0xfffffffeu, 0xfffffffeu, 2));
	assert_true(sn_in_window(0xffffffffu, 0xfffffffeu, 2));
	assert_true(sn_in_window(0, 0xfffffffeu, 2));
	assert_true(sn_in_window(2, 0xfffffffeu, 2));
	assert_false(sn_in_window(3, 0xfffffffeu, 2));
	assert_false(sn_in_window(0xfffffffdu, 0xfffffffeu, 2));
	/* A window of one. */
	assert_true(sn_in_window(7, 7, 7));
	assert_false(sn_in_window(8, 7, 7));
	/* MaxCmdSN = ExpCmdSN - 1: closed, nothing fits. */
	assert_false(sn_in_window(10, 10, 9));
	assert_false(sn_in_window(9, 10, 9));
	assert_false(sn_in_window(0, 0, 0xffffffffu));
	assert_false(sn_in_window(0xffffffffu, 0, 0xffffffffu));
}

static void test_window_valid(void **state)
{
	(void)state;

	assert_true(sn_window_valid(10, 10));
	assert_true(sn_window_valid(10, 9));          /* closed */
	assert_true(sn_window_valid(10, 1000));
	assert_false(sn_window_valid(10, 8));         /* MaxCmdSN behind */
	assert_false(sn_window_valid(10, 0));
	assert_true(sn_window_valid(0, 0xffffffffu)); /* closed, wrapped */
	assert_false(sn_window_valid(0, 0xfffffffeu));
	assert_true(sn_window_valid(0xffffffffu, 5));
	/* Widest window still ordered: 2^31 - 1 past ExpCmdSN - 1. */
	assert_true(sn_window_valid(0, 0x7ffffffeu));
	/* One more is 2^31 past ExpCmdSN - 1: undefined, so not valid. */
	assert_false(sn_window_valid(0, 0x7fffffffu));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_order),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_half_space),
		cmocka_unit_test(test_forward_distances),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_window_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
