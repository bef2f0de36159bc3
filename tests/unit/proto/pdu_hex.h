/* SPDX-License-Identifier: MIT */
/*
 * Golden-vector helpers for the PDU tests: expected headers are written as
 * hex, one 4-byte row per group like the figures of RFC 7143 section 11,
 * and compared byte by byte with a readable dump on mismatch.
 */
#ifndef MCSI_TESTS_PDU_HEX_H
#define MCSI_TESTS_PDU_HEX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proto/text.h"

/* Decodes hex digits, skipping blanks; fails the test on anything else. */
static inline size_t hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '|')
			continue;
		int v = text_hex_digit(*s);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

static inline void hex_dump(const char *label, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s:", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 4 ? "" : " ", p[i]);
	fprintf(stderr, "\n");
}

/* got must equal the bytes spelled by want_hex, exactly n of them. */
static inline void assert_hex(const void *got, const char *want_hex, size_t n)
{
	uint8_t want[512];
	size_t len = hex_decode(want_hex, want, sizeof(want));

	assert_int_equal(len, n);
	if (memcmp(got, want, n) != 0) {
		hex_dump("want", want, n);
		hex_dump("got ", got, n);
		fail_msg("bytes differ");
	}
}

#endif
