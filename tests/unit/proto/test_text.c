/* SPDX-License-Identifier: MIT */
/* key=value\0 text: iteration, validation, appending, numbers, escaping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/text.h"

/* A text literal with its embedded NULs; the trailing NUL of the C
 * string is not part of it. */
#define T(s) s, sizeof(s) - 1

static int next(struct text_iter *it, struct text_pair *p, const char **why)
{
	*why = NULL;
	return text_next(it, p, why);
}

static void test_iter_pairs(void **state)
{
	(void)state;
	struct text_iter it;
	struct text_pair p;
	const char *why;

	text_iter_init(&it, T("InitiatorName=iqn.1994-05.com.redhat:x\0"
			      "TargetAlias=\0X-com.example.a+b@c_d=1\0"
			      "X#org.iana.key=2\0iSCSIProtocolLevel=1\0"));
	assert_int_equal(next(&it, &p, &why), 1);
	assert_true(text_key_is(&p, "InitiatorName"));
	assert_false(text_key_is(&p, "Initiator"));
	assert_false(text_key_is(&p, "InitiatorNameX"));
	assert_int_equal(p.value_len, strlen("iqn.1994-05.com.redhat:x"));
	assert_memory_equal(p.value, "iqn.1994-05.com.redhat:x", p.value_len);

	assert_int_equal(next(&it, &p, &why), 1);
	assert_true(text_key_is(&p, "TargetAlias"));
	assert_int_equal(p.value_len, 0);   /* empty values are allowed */

	assert_int_equal(next(&it, &p, &why), 1);
	assert_true(text_key_is(&p, "X-com.example.a+b@c_d"));
	assert_int_equal(next(&it, &p, &why), 1);
	assert_true(text_key_is(&p, "X#org.iana.key"));
	/* RFC 7144's key starts with a lowercase letter */
	assert_int_equal(next(&it, &p, &why), 1);
	assert_true(text_key_is(&p, "iSCSIProtocolLevel"));
	assert_int_equal(next(&it, &p, &why), 0);
	assert_int_equal(next(&it, &p, &why), 0);   /* stays at the end */
}

static void test_iter_empty_and_padding(void **state)
{
	(void)state;
	struct text_iter it;
	struct text_pair p;
	const char *why;

	text_iter_init(&it, "", 0);
	assert_int_equal(next(&it, &p, &why), 0);

	/* padding counted into DataSegmentLength */
	text_iter_init(&it, T("A=1\0\0\0\0"));
	assert_int_equal(next(&it, &p, &why), 1);
	assert_int_equal(next(&it, &p, &why), 0);

	/* an empty pair followed by more text is malformed */
	text_iter_init(&it, T("A=1\0\0B=2\0"));
	assert_int_equal(next(&it, &p, &why), 1);
	assert_int_equal(next(&it, &p, &why), -EPROTO);
	assert_string_equal(why, "empty key=value pair");
}

static void test_iter_malformed(void **state)
{
	(void)state;
	static const struct { const char *s; size_t len; const char *why; } bad[] = {
		{ T("A=1"), "key=value pair not terminated by NUL" },
		{ T("A\0"), "key=value pair without '='" },
		{ T("=1\0"), "empty key" },
		{ T("-Key=1\0"), "key has characters outside the RFC 7143 key alphabet" },
		{ T("1Key=1\0"), "key has characters outside the RFC 7143 key alphabet" },
		{ T("Key!=1\0"), "key has characters outside the RFC 7143 key alphabet" },
		{ T("Ke y=1\0"), "key has characters outside the RFC 7143 key alphabet" },
		{ T("Key#=1\0"), "key has characters outside the RFC 7143 key alphabet" },
		{ T("A\xc3\xa9=1\0"), "key has characters outside the RFC 7143 key alphabet" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct text_iter it;
		struct text_pair p;
		const char *why;
		text_iter_init(&it, bad[i].s, bad[i].len);
		assert_int_equal(next(&it, &p, &why), -EPROTO);
		assert_string_equal(why, bad[i].why);
	}
}

static void test_iter_limits(void **state)
{
	(void)state;
	static char buf[TEXT_MAX_VALUE + 200];
	struct text_iter it;
	struct text_pair p;
	const char *why;

	/* 63-byte key: fine; 64: too long */
	memset(buf, 'K', 63);
	memcpy(buf + 63, "=v", 3);
	text_iter_init(&it, buf, 66);
	assert_int_equal(next(&it, &p, &why), 1);
	assert_int_equal(p.key_len, 63);
	memset(buf, 'K', 64);
	memcpy(buf + 64, "=v", 3);
	text_iter_init(&it, buf, 67);
	assert_int_equal(next(&it, &p, &why), -EPROTO);
	assert_string_equal(why, "key longer than 63 bytes");

	/* value of exactly TEXT_MAX_VALUE: fine; one more: refused */
	memcpy(buf, "CHAP_C=", 7);
	memset(buf + 7, 'a', TEXT_MAX_VALUE);
	buf[7 + TEXT_MAX_VALUE] = '\0';
	text_iter_init(&it, buf, 8 + TEXT_MAX_VALUE);
	assert_int_equal(next(&it, &p, &why), 1);
	assert_int_equal(p.value_len, TEXT_MAX_VALUE);
	memset(buf + 7, 'a', TEXT_MAX_VALUE + 1);
	buf[8 + TEXT_MAX_VALUE] = '\0';
	text_iter_init(&it, buf, 9 + TEXT_MAX_VALUE);
	assert_int_equal(next(&it, &p, &why), -EPROTO);
	assert_string_equal(why, "value longer than 8192 bytes");
}

static void test_append(void **state)
{
	(void)state;
	char buf[64];
	size_t len = 0;

	assert_int_equal(text_append(buf, sizeof(buf), &len, "AuthMethod", "None,CHAP"), 0);
	assert_int_equal(text_append_u32(buf, sizeof(buf), &len, "MaxBurstLength", 16776192), 0);
	assert_int_equal(text_append_u32(buf, sizeof(buf), &len, "E", 0), 0);
	static const char want[] = "AuthMethod=None,CHAP\0MaxBurstLength=16776192\0E=0\0";
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);

	/* exactly full, then one byte short: -ENOSPC, nothing written */
	char small[8];
	len = 0;
	memset(small, 'z', sizeof(small));
	assert_int_equal(text_append(small, 8, &len, "Key", "val"), 0);
	assert_int_equal(len, 8);
	len = 0;
	memset(small, 'z', sizeof(small));
	assert_int_equal(text_append(small, 7, &len, "Key", "val"), -ENOSPC);
	assert_int_equal(len, 0);
	assert_int_equal(small[0], 'z');
	len = 9;   /* length beyond capacity */
	assert_int_equal(text_append(small, 8, &len, "A", ""), -ENOSPC);
	assert_int_equal(text_append_u32(small, 8, &(size_t){ 0 }, "Key", 4294967295u), -ENOSPC);
}

static void test_parse_u32(void **state)
{
	(void)state;
	static const struct { const char *s; uint32_t max, want; } ok[] = {
		{ "0", 10, 0 }, { "8192", 16777215, 8192 },
		{ "0x2000", 16777215, 8192 }, { "0X2000", 16777215, 8192 },
		{ "0x00000000002000", 16777215, 8192 }, { "08192", 16777215, 8192 },
		{ "4294967295", 0xffffffffu, 0xffffffffu },
		{ "0xffffffff", 0xffffffffu, 0xffffffffu }, { "3600", 3600, 3600 },
	};
	static const struct { const char *s; uint32_t max; } bad[] = {
		{ "", 10 }, { "0x", 10 }, { "-1", 10 }, { "+1", 10 }, { " 1", 10 },
		{ "1 ", 10 }, { "12a", 100 }, { "0xg", 100 }, { "3601", 3600 },
		{ "4294967296", 0xffffffffu }, { "0x100000000", 0xffffffffu },
		{ "99999999999999999999999", 0xffffffffu }, { "0b1", 10 },
		{ "1.5", 10 }, { "Yes", 10 },
	};
	uint32_t v;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(text_parse_u32(ok[i].s, strlen(ok[i].s), ok[i].max, &v), 0);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		assert_int_equal(text_parse_u32(bad[i].s, strlen(bad[i].s), bad[i].max, &v),
				 -EINVAL);
		assert_int_equal(v, 12345);
	}
	/* the length bounds the parse, not a NUL */
	assert_int_equal(text_parse_u32("123456", 3, 1000, &v), 0);
	assert_int_equal(v, 123);
}

static void test_escape(void **state)
{
	(void)state;
	char out[64];

	assert_string_equal(text_escape(out, sizeof(out), "iqn.x:y", 7), "iqn.x:y");
	assert_string_equal(text_escape(out, sizeof(out), "a\nb\x01\\\x7f\xff", 7),
			    "a\\x0ab\\x01\\\\\\x7f\\xff");
	/* embedded NUL is shown, not a terminator */
	assert_string_equal(text_escape(out, sizeof(out), "a\0b", 3), "a\\x00b");
	/* truncation never cuts an escape in half */
	assert_string_equal(text_escape(out, 4, "abcdef", 6), "abc");
	assert_string_equal(text_escape(out, 5, "ab\x01", 3), "ab");
	assert_string_equal(text_escape(out, 7, "ab\x01", 3), "ab\\x01");
	assert_string_equal(text_escape(out, 1, "abc", 3), "");
	out[0] = 'q';
	assert_ptr_equal(text_escape(out, 0, "abc", 3), out);
	assert_int_equal(out[0], 'q');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iter_pairs),
		cmocka_unit_test(test_iter_empty_and_padding),
		cmocka_unit_test(test_iter_malformed),
		cmocka_unit_test(test_iter_limits),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_parse_u32),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
