/* SPDX-License-Identifier: MIT */
/* The control protocol's JSON reader and writer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/json.h"

#define P(s) json_parse(s, strlen(s), t, 64, &n, &why)

static void test_parse_tree(void **state)
{
	struct json_tok t[64];
	size_t n;
	const char *why = NULL;
	const char *s = " {\"a\": [1, -2.5e3, \"x\"], \"b\": {\"c\": true}, \"d\": null } ";
	(void)state;

	assert_int_equal(P(s), 0);
	assert_int_equal(n, 12);
	assert_int_equal(t[0].type, JSON_OBJECT);
	assert_int_equal(t[0].count, 3);
	assert_int_equal(t[0].next, 12);
	int a = json_get(s, t, 0, "a");
	assert_int_equal(a, 2);
	assert_int_equal(t[a].type, JSON_ARRAY);
	assert_int_equal(t[a].count, 3);
	assert_int_equal(t[a].next, 6);
	assert_int_equal(json_elem(t, (size_t)a, 2), 5);
	assert_int_equal(t[5].type, JSON_STRING);
	assert_int_equal(json_elem(t, (size_t)a, 3), -ENOENT);
	int b = json_get(s, t, 0, "b");
	assert_int_equal(t[b].type, JSON_OBJECT);
	bool v = false;
	assert_int_equal(json_get_bool(s, t, (size_t)b, "c", &v), 0);
	assert_true(v);
	assert_int_equal(t[json_get(s, t, 0, "d")].type, JSON_NULL);
	assert_int_equal(json_get(s, t, 0, "zz"), -ENOENT);
	/* The second member's value of the object, by position. */
	assert_int_equal(json_elem(t, 0, 1), b);
	int64_t i;
	assert_int_equal(json_i64(s, &t[4], &i), -EINVAL);   /* -2.5e3 */
	assert_int_equal(json_i64(s, &t[3], &i), 0);
	assert_int_equal(i, 1);
}

static void test_parse_refusals(void **state)
{
	static const char *const bad[] = {
		"", "   ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{1:2}", "[01]",
		"[1.]", "[1e]", "[-]", "tru", "nul", "\"abc", "\"a\\q\"", "\"\\u12g4\"",
		"\"\\u12\"", "\"a\nb\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
		"\"\xf4\x90\x80\x80\"", "[1] 2", "{\"a\":1,}", "[\"a\":1]",
	};
	struct json_tok t[64];
	size_t n;
	const char *why;
	(void)state;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		why = NULL;
		if (json_parse(bad[k], strlen(bad[k]), t, 64, &n, &why) != -EPROTO)
			fail_msg("accepted '%s'", bad[k]);
		assert_non_null(why);
	}
	/* Depth: 32 arrays are fine, 33 are not. */
	char deep[80];
	memset(deep, '[', 32);
	memset(deep + 32, ']', 32);
	assert_int_equal(json_parse(deep, 64, t, 64, &n, &why), 0);
	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	assert_int_equal(json_parse(deep, 66, t, 64, &n, &why), -EPROTO);
	/* Token budget. */
	assert_int_equal(json_parse("[1,2,3]", 7, t, 3, &n, &why), -ENOSPC);
	assert_int_equal(json_parse("[1,2,3]", 7, t, 4, &n, &why), 0);
}

static void test_strings(void **state)
{
	struct json_tok t[64];
	size_t n, len;
	const char *why;
	char out[64];
	/* Escapes, a surrogate pair (U+1F600), a lone surrogate, raw UTF-8,
	 * and an embedded NUL. */
	const char *s = "[\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\ud83d\\ude00\", "
			"\"\\ud800x\", \"\xc3\xa9\", \"x\\u0000y\"]";
	(void)state;

	assert_int_equal(P(s), 0);
	assert_int_equal(json_str(s, &t[1], out, sizeof(out), &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(out, "a\"\\/\b\f\n\r\t", 9);
	assert_int_equal(json_str(s, &t[2], out, sizeof(out), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "\xf0\x9f\x98\x80", 4);
	assert_int_equal(json_str(s, &t[3], out, sizeof(out), &len), 0);
	assert_string_equal(out, "\xef\xbf\xbdx");
	assert_int_equal(json_str(s, &t[4], out, sizeof(out), &len), 0);
	assert_string_equal(out, "\xc3\xa9");
	assert_int_equal(json_str(s, &t[5], out, sizeof(out), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "x\0y", 3);
	/* Too small: room for the bytes but not the NUL. */
	assert_int_equal(json_str(s, &t[4], out, 2, &len), -ENOSPC);
	assert_int_equal(json_str(s, &t[4], out, 3, &len), 0);
	assert_int_equal(json_str(s, &t[0], out, 3, &len), -EINVAL);
	assert_true(json_str_eq(s, &t[4], "\xc3\xa9"));
	assert_false(json_str_eq(s, &t[4], "e"));
}

static void test_numbers(void **state)
{
	struct json_tok t[64];
	size_t n;
	const char *why;
	uint64_t u;
	int64_t i;
	const char *s = "[0, 18446744073709551615, 18446744073709551616, -1, "
			"-9223372036854775808, 9223372036854775808, 1e2]";
	(void)state;

	assert_int_equal(P(s), 0);
	assert_int_equal(json_u64(s, &t[1], UINT64_MAX, &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(json_u64(s, &t[2], UINT64_MAX, &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(json_u64(s, &t[2], 10, &u), -ERANGE);
	assert_int_equal(json_u64(s, &t[3], UINT64_MAX, &u), -ERANGE);
	assert_int_equal(json_u64(s, &t[4], UINT64_MAX, &u), -ERANGE);
	assert_int_equal(json_i64(s, &t[4], &i), 0);
	assert_int_equal(i, -1);
	assert_int_equal(json_i64(s, &t[5], &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(json_i64(s, &t[6], &i), -ERANGE);
	assert_int_equal(json_u64(s, &t[7], UINT64_MAX, &u), -EINVAL);
}

static void test_writer(void **state)
{
	char buf[256];
	struct json_w w;
	(void)state;

	json_w_init(&w, buf, sizeof(buf));
	json_w_obj(&w, NULL);
	json_w_bool(&w, "ok", true);
	json_w_str(&w, "s", "q\"b\\n\n\x01");
	json_w_strn(&w, "bin", "a\xff\xc3\xa9", 4);
	json_w_arr(&w, "l");
	json_w_u64(&w, NULL, 18446744073709551615ull);
	json_w_i64(&w, NULL, -5);
	json_w_obj(&w, NULL);
	json_w_end(&w);
	json_w_null(&w, NULL);
	json_w_end(&w);
	json_w_raw(&w, "raw", "[1]", 3);
	json_w_end(&w);
	int len = json_w_finish(&w);
	const char *want = "{\"ok\":true,\"s\":\"q\\\"b\\\\n\\n\\u0001\","
			   "\"bin\":\"a\\u00ff\xc3\xa9\",\"l\":[18446744073709551615,-5,{},null],"
			   "\"raw\":[1]}";
	assert_string_equal(buf, want);
	assert_int_equal(len, (int)strlen(want));

	/* What the writer produces, the reader takes. */
	struct json_tok t[32];
	size_t n;
	const char *why;
	assert_int_equal(json_parse(buf, (size_t)len, t, 32, &n, &why), 0);
	char s[32];
	assert_int_equal(json_get_str(buf, t, 0, "s", s, sizeof(s)), 0);
	assert_string_equal(s, "q\"b\\n\n\x01");
}

static void test_writer_misuse(void **state)
{
	char buf[16];
	struct json_w w;
	(void)state;

	json_w_init(&w, buf, sizeof(buf));
	json_w_obj(&w, NULL);
	json_w_u64(&w, NULL, 1);             /* no key in an object */
	assert_int_equal(json_w_finish(&w), -EINVAL);

	json_w_init(&w, buf, sizeof(buf));
	json_w_arr(&w, NULL);
	json_w_u64(&w, "k", 1);              /* a key in an array */
	assert_int_equal(json_w_finish(&w), -EINVAL);

	json_w_init(&w, buf, sizeof(buf));
	json_w_arr(&w, NULL);                /* left open */
	assert_int_equal(json_w_finish(&w), -EINVAL);

	json_w_init(&w, buf, sizeof(buf));
	json_w_u64(&w, NULL, 1);
	json_w_u64(&w, NULL, 2);             /* two roots */
	assert_int_equal(json_w_finish(&w), -EINVAL);

	json_w_init(&w, buf, sizeof(buf));
	json_w_str(&w, NULL, "0123456789abcdef");   /* does not fit */
	assert_int_equal(json_w_finish(&w), -ENOSPC);
	assert_true(strlen(buf) < sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_tree),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_writer_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
