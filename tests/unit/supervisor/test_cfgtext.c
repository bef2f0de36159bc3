/* SPDX-License-Identifier: MIT */
/* The line syntax shared by mcsi.conf and the secrets file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/cfgtext.h"

static int one(const char *text, struct cfgtext_line *l, const char **why)
{
	struct cfgtext_iter it;
	cfgtext_init(&it, text, strlen(text));
	return cfgtext_next(&it, l, why);
}

static void expect_tok(const char *p, size_t len, const char *want)
{
	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void test_kinds(void **state)
{
	(void)state;
	struct cfgtext_line l;
	const char *why;

	assert_int_equal(one("", &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_END);
	assert_int_equal(one("   \t", &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_BLANK);
	assert_int_equal(one("  # x = y", &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_BLANK);
	assert_int_equal(one("; old style", &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_BLANK);

	assert_int_equal(one(" [ initiator ]  # c", &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_SECTION);
	expect_tok(l.name, l.name_len, "initiator");
	assert_null(l.arg);

	assert_int_equal(one("[target \"iqn.x:a]b\"]", &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_SECTION);
	expect_tok(l.name, l.name_len, "target");
	expect_tok(l.arg, l.arg_len, "\"iqn.x:a]b\"");

	assert_int_equal(one("  max-connections=4", &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_PAIR);
	expect_tok(l.name, l.name_len, "max-connections");
	expect_tok(l.value, l.value_len, "4");

	/* A blank then '#' starts a comment: "#1" needs quotes. */
	assert_int_equal(one("alias = my disk #1 # comment  ", &l, &why), 0);
	expect_tok(l.value, l.value_len, "my disk");
	assert_int_equal(one("alias = a#b", &l, &why), 0);
	expect_tok(l.value, l.value_len, "a#b");
	assert_int_equal(one("alias =", &l, &why), 0);
	expect_tok(l.value, l.value_len, "");
	assert_int_equal(one("alias = \"x \\\" # y\"  # c", &l, &why), 0);
	expect_tok(l.value, l.value_len, "\"x \\\" # y\"");

	assert_int_equal(one("target \"iqn.x\" = \"s\"\r", &l, &why), 0);
	expect_tok(l.arg, l.arg_len, "\"iqn.x\"");
	expect_tok(l.value, l.value_len, "\"s\"");
}

static void test_errors(void **state)
{
	(void)state;
	static const struct { const char *in, *why; } bad[] = {
		{ "[", "section name" },
		{ "[initiator", "']'" },
		{ "[initiator] x", "after ']'" },
		{ "[target \"x]", "closing quote" },
		{ "= 3", "key name" },
		{ "key 3", "'='" },
		{ "key", "'='" },
		{ "k\xc3\xa9y = 1", "'='" },
		{ "key = \"abc", "closing quote" },
		{ "key = \"abc\" def", "after the closing quote" },
		{ "key \"a = 1", "closing quote" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfgtext_line l;
		const char *why = NULL;
		assert_int_equal(one(bad[i].in, &l, &why), -EINVAL);
		if (!why || !strstr(why, bad[i].why))
			fail_msg("%s: '%s' lacks '%s'", bad[i].in,
				 why ? why : "(null)", bad[i].why);
	}
}

static void test_line_numbers(void **state)
{
	(void)state;
	static const char text[] = "# a\r\n\n[s]\nk = v\nbad line\nk = w";
	struct cfgtext_iter it;
	struct cfgtext_line l;
	const char *why;
	unsigned kinds[8], n = 0;

	cfgtext_init(&it, text, sizeof(text) - 1);
	for (;;) {
		int rc = cfgtext_next(&it, &l, &why);
		if (rc) {
			assert_int_equal(l.no, 5);
			break;
		}
		kinds[n++] = l.kind;
		assert_int_equal(l.no, n);
	}
	assert_int_equal(n, 4);
	assert_int_equal(kinds[0], CFGTEXT_BLANK);
	assert_int_equal(kinds[2], CFGTEXT_SECTION);
	assert_int_equal(kinds[3], CFGTEXT_PAIR);
	/* The last line has no newline and still counts. */
	assert_int_equal(cfgtext_next(&it, &l, &why), 0);
	assert_int_equal(l.no, 6);
	expect_tok(l.value, l.value_len, "w");
	assert_int_equal(cfgtext_next(&it, &l, &why), 0);
	assert_int_equal(l.kind, CFGTEXT_END);
}

static void test_nul_and_long(void **state)
{
	(void)state;
	static const char text[] = "k = a\0b\n";
	static char big[CFGTEXT_MAX_LINE + 16];
	struct cfgtext_iter it;
	struct cfgtext_line l;
	const char *why;

	cfgtext_init(&it, text, sizeof(text) - 1);
	assert_int_equal(cfgtext_next(&it, &l, &why), -EINVAL);
	assert_non_null(strstr(why, "NUL"));

	memset(big, 'a', sizeof(big));
	memcpy(big, "k = ", 4);
	cfgtext_init(&it, big, CFGTEXT_MAX_LINE);
	assert_int_equal(cfgtext_next(&it, &l, &why), 0);
	cfgtext_init(&it, big, CFGTEXT_MAX_LINE + 1);
	assert_int_equal(cfgtext_next(&it, &l, &why), -EINVAL);
	assert_non_null(strstr(why, "4096"));
}

static void test_decode(void **state)
{
	(void)state;
	char out[64];
	size_t n;
	const char *why;

	static const char q[] = "\"a\\\\b\\\"c\\n\\t\\r\\x00\\xfF\"";
	assert_int_equal(cfgtext_decode(q, strlen(q), out, &n, &why), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "a\\b\"c\n\t\r\0\xff", 10);

	assert_int_equal(cfgtext_decode("bare word", 9, out, &n, &why), 0);
	assert_string_equal(out, "bare word");
	assert_int_equal(cfgtext_decode("\"\"", 2, out, &n, &why), 0);
	assert_int_equal(n, 0);

	static const char *const bad[] = {
		"\"\\q\"", "\"\\x4\"", "\"\\xg0\"", "\"abc\\\"", "\"", "\"a\x01\"",
		"a\x01", "a\x7f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cfgtext_decode(bad[i], strlen(bad[i]), out, &n,
						&why), -EINVAL);
}

/* Every byte string survives encode then lex-and-decode. */
static void roundtrip(const char *v, size_t len, unsigned flags,
		      const char *want_token)
{
	char tok[600], line[700], out[600];
	size_t need = cfgtext_encode(NULL, 0, v, len, flags), n;
	struct cfgtext_line l;
	const char *why;

	assert_true(need < sizeof(tok));
	assert_int_equal(cfgtext_encode(tok, sizeof(tok), v, len, flags), need);
	assert_int_equal(strlen(tok), need);
	if (want_token)
		assert_string_equal(tok, want_token);
	snprintf(line, sizeof(line), "key = %s # trailing", tok);
	assert_int_equal(one(line, &l, &why), 0);
	assert_int_equal(cfgtext_decode(l.value, l.value_len, out, &n, &why), 0);
	assert_int_equal(n, len);
	assert_memory_equal(out, v, len);
}

static void test_encode(void **state)
{
	(void)state;
	roundtrip("plain", 5, 0, "plain");
	roundtrip("two words", 9, 0, "two words");
	roundtrip("", 0, 0, "\"\"");
	roundtrip(" lead", 5, 0, "\" lead\"");
	roundtrip("trail ", 6, 0, "\"trail \"");
	roundtrip("a#b", 3, 0, "\"a#b\"");
	roundtrip("\"q", 2, 0, "\"\\\"q\"");
	roundtrip("b\\s", 3, 0, "b\\s");
	roundtrip("tab\there", 8, 0, "\"tab\\there\"");
	roundtrip("caf\xc3\xa9", 5, 0, "caf\xc3\xa9");
	roundtrip("caf\xc3\xa9", 5, CFGTEXT_ESCAPE_8BIT, "\"caf\\xc3\\xa9\"");
	roundtrip("x", 1, CFGTEXT_QUOTE, "\"x\"");
	roundtrip("a\0b\n\x7f", 5, 0, "\"a\\x00b\\n\\x7f\"");

	uint8_t all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	roundtrip((const char *)all, 256, 0, NULL);
	roundtrip((const char *)all, 128, CFGTEXT_ESCAPE_8BIT, NULL);

	/* Truncation: snprintf-like, always terminated. */
	char small[4];
	assert_int_equal(cfgtext_encode(small, sizeof(small), "abcdef", 6, 0), 6);
	assert_string_equal(small, "abc");
}

static void test_error_and_printable(void **state)
{
	(void)state;
	struct cfg_error err;
	char buf[16];

	assert_int_equal(cfgtext_error(&err, "f.conf", 7, "bad %s", "x"),
			 -EINVAL);
	assert_string_equal(err.msg, "f.conf:7: bad x");
	assert_int_equal(err.line, 7);
	cfgtext_error(&err, NULL, 3, "y");
	assert_string_equal(err.msg, "line 3: y");
	cfgtext_error(&err, "p", 0, "z");
	assert_string_equal(err.msg, "p: z");

	assert_string_equal(cfgtext_printable(buf, sizeof(buf), "a\nb", 3),
			    "a\\x0ab");
	assert_string_equal(cfgtext_printable(buf, sizeof(buf),
					      "0123456789abcdefghij", 20),
			    "0123456789ab...");
	assert_string_equal(cfgtext_printable(buf, sizeof(buf),
					      "0123456789abcde", 15),
			    "0123456789abcde");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_nul_and_long),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_error_and_printable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
