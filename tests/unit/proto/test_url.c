/* SPDX-License-Identifier: MIT */
/* iSCSI names, portals, the CLI target form and iscsi:// URLs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/url.h"

static int norm(const char *s, char out[URL_NAME_MAX + 1], const char **why)
{
	return url_name_normalize(s, strlen(s), out, why);
}

static void test_names_valid(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } ok[] = {
		{ "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309",
		  "iqn.2001-04.com.example:storage:diskarrays-sn-a8675309" },
		{ "iqn.2001-04.com.example", "iqn.2001-04.com.example" },
		{ "IQN.2000-01.COM.Synology:DS918.Target-1",
		  "iqn.2000-01.com.synology:ds918.target-1" },
		{ "iqn.2003-01.org.linux-iscsi.debian.x8664:sn.2f0d8f8ca8a1",
		  "iqn.2003-01.org.linux-iscsi.debian.x8664:sn.2f0d8f8ca8a1" },
		{ "iqn.1991-05.com.microsoft:host::x..y",
		  "iqn.1991-05.com.microsoft:host::x..y" },
		{ "eui.02004567A425678D", "eui.02004567a425678d" },
		{ "naa.52004567BA64678D", "naa.52004567ba64678d" },
		{ "naa.62004567BA64678D0123456789ABCDEF",
		  "naa.62004567ba64678d0123456789abcdef" },
	};
	char out[URL_NAME_MAX + 1];
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(norm(ok[i].in, out, &why), 0);
		assert_string_equal(out, ok[i].out);
	}
}

static void test_names_invalid(void **state)
{
	(void)state;
	static const struct { const char *in, *why; } bad[] = {
		{ "", "empty iSCSI name" },
		{ "iqn", "must start with" },
		{ "foo.2001-04.com.example", "must start with" },
		{ "iqn.01-04.com.example", "date" },
		{ "iqn.2001-4.com.example", "date" },
		{ "iqn.2001-04com.example", "date" },
		{ "iqn.2001-13.com.example", "month" },
		{ "iqn.2001-00.com.example", "month" },
		{ "iqn.2001-04.", "empty label" },
		{ "iqn.2001-04.com..example", "empty label" },
		{ "iqn.2001-04.com.example.:x", "empty label" },
		{ "iqn.2001-04.:x", "empty label" },
		{ "iqn.2001-04.com.example:", "ends with ':'" },
		{ "iqn.2001-04.com.example:disk 1", "may contain only" },
		{ "iqn.2001-04.com.example:disk_1", "may contain only" },
		{ "iqn.2001-04.com.example:\"x\"", "may contain only" },
		{ "iqn.2001-04.com.ex\xc3\xa4mple", "non-ASCII" },
		{ "eui.02004567A425678", "16 hex" },
		{ "eui.02004567A425678DX", "16 hex" },
		{ "eui.02004567A425678G", "16 hex" },
		{ "naa.52004567BA64678D01", "16 or 32" },
	};
	char out[URL_NAME_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		strcpy(out, "junk");
		assert_int_equal(norm(bad[i].in, out, &why), -EINVAL);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: reason '%s' lacks '%s'", bad[i].in, why,
				 bad[i].why);
		assert_string_equal(out, "");
	}
	/* An embedded NUL is a bad character, not an end of string. */
	const char *why;
	assert_int_equal(url_name_normalize("iqn.2001-04.com.x\0y", 19, out,
					    &why), -EINVAL);
}

static void test_name_length(void **state)
{
	(void)state;
	char name[300], out[URL_NAME_MAX + 1];
	const char *why;

	strcpy(name, "iqn.2001-04.com.example:");
	size_t n = strlen(name);
	memset(name + n, 'a', URL_NAME_MAX - n);
	name[URL_NAME_MAX] = '\0';
	assert_int_equal(norm(name, out, &why), 0);
	assert_int_equal(strlen(out), 223);
	name[URL_NAME_MAX] = 'a';
	name[URL_NAME_MAX + 1] = '\0';
	assert_int_equal(norm(name, out, &why), -EINVAL);
	assert_non_null(strstr(why, "223"));
}

static void test_name_in_place(void **state)
{
	(void)state;
	char buf[URL_NAME_MAX + 1] = "IQN.2001-04.Com.Example:Disk";
	const char *why;

	assert_int_equal(url_name_normalize(buf, strlen(buf), buf, &why), 0);
	assert_string_equal(buf, "iqn.2001-04.com.example:disk");
}

static void portal_ok(const char *in, const char *host, unsigned port,
		      bool has_port, enum url_host_kind kind, const char *fmt)
{
	struct url_portal p;
	const char *why = "unset";
	char buf[URL_PORTAL_STRMAX];

	if (url_parse_portal(in, strlen(in), &p, &why) != 0)
		fail_msg("%s: %s", in, why);
	assert_string_equal(p.host, host);
	assert_int_equal(p.port, port);
	assert_int_equal(p.has_port, has_port);
	assert_int_equal(p.kind, kind);
	assert_int_equal(url_format_portal(&p, buf, sizeof(buf)),
			 (int)strlen(fmt));
	assert_string_equal(buf, fmt);
}

static void test_portals_valid(void **state)
{
	(void)state;
	portal_ok("192.0.2.10", "192.0.2.10", 3260, false, URL_HOST_IPV4,
		  "192.0.2.10:3260");
	portal_ok("192.0.2.10:3261", "192.0.2.10", 3261, true, URL_HOST_IPV4,
		  "192.0.2.10:3261");
	portal_ok("Storage.Example.COM", "storage.example.com", 3260, false,
		  URL_HOST_NAME, "storage.example.com:3260");
	portal_ok("san-1.example.com.:65535", "san-1.example.com", 65535, true,
		  URL_HOST_NAME, "san-1.example.com:65535");
	portal_ok("3par-array", "3par-array", 3260, false, URL_HOST_NAME,
		  "3par-array:3260");
	portal_ok("[::1]", "::1", 3260, false, URL_HOST_IPV6, "[::1]:3260");
	portal_ok("[2001:DB8:0:0::0001]:860", "2001:db8::1", 860, true,
		  URL_HOST_IPV6, "[2001:db8::1]:860");
	portal_ok("[fe80::1%eth0]:3260", "fe80::1%eth0", 3260, true,
		  URL_HOST_IPV6, "[fe80::1%eth0]:3260");
	portal_ok("[fe80::1%25eth0]", "fe80::1%eth0", 3260, false,
		  URL_HOST_IPV6, "[fe80::1%eth0]:3260");
	/* A zone that starts with "25" keeps its RFC 6874 escape. */
	portal_ok("[fe80::1%2525x]", "fe80::1%25x", 3260, false,
		  URL_HOST_IPV6, "[fe80::1%2525x]:3260");
	portal_ok("[fe80::1%25]", "fe80::1%25", 3260, false,
		  URL_HOST_IPV6, "[fe80::1%2525]:3260");
	portal_ok("[::ffff:192.0.2.1]", "::ffff:192.0.2.1", 3260, false,
		  URL_HOST_IPV6, "[::ffff:192.0.2.1]:3260");
}

static void test_portals_invalid(void **state)
{
	(void)state;
	static const struct { const char *in, *why; } bad[] = {
		{ "", "empty portal" },
		{ ":3260", "empty host" },
		{ "host:", "missing port" },
		{ "host:0", "1..65535" },
		{ "host:65536", "1..65535" },
		{ "host:123456", "1..65535" },
		{ "host:+80", "1..65535" },
		{ "host:80x", "1..65535" },
		{ "::1", "brackets" },
		{ "fe80::1:3260", "brackets" },
		{ "[::1", "missing ']'" },
		{ "[::1]3260", "after ']'" },
		{ "[::1]:", "missing port" },
		{ "[]", "invalid IPv6" },
		{ "[1.2.3.4]", "invalid IPv6" },
		{ "[::g]", "invalid IPv6" },
		{ "[fe80::1%]", "zone" },
		{ "[fe80::1%eth/0]", "zone" },
		{ "[fe80::1%abcdefghijklmnop]", "zone" },
		{ "1.2.3", "IPv4" },
		{ "127.1", "IPv4" },
		{ "0x7f.0.0.1", "IPv4" },
		{ "256.1.1.1", "IPv4" },
		{ "01.2.3.4", "IPv4" },
		{ "host..example", "empty label" },
		{ "host name", "invalid character" },
		{ "host/x", "invalid character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct url_portal p;
		const char *why = NULL;
		assert_int_equal(url_parse_portal(bad[i].in, strlen(bad[i].in),
						  &p, &why), -EINVAL);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: reason '%s' lacks '%s'", bad[i].in, why,
				 bad[i].why);
	}
	/* A 64-character label. */
	char big[80];
	struct url_portal p;
	const char *why;
	memset(big, 'a', 64);
	big[64] = '\0';
	assert_int_equal(url_parse_portal(big, 64, &p, &why), -EINVAL);
	assert_non_null(strstr(why, "63"));
	assert_int_equal(url_parse_portal(big, 63, &p, &why), 0);
}

static void test_format_portal_nospc(void **state)
{
	(void)state;
	struct url_portal p;
	const char *why;
	char buf[8];

	assert_int_equal(url_parse_portal("192.0.2.10", 10, &p, &why), 0);
	assert_int_equal(url_format_portal(&p, buf, sizeof(buf)), -ENOSPC);
	assert_string_equal(buf, "");
}

static void test_target_form(void **state)
{
	(void)state;
	struct url_target t;
	const char *why;
	const char *s = "IQN.2001-04.com.example:disk1,[fd00::10]:3261";

	assert_int_equal(url_parse_target(s, strlen(s), &t, &why), 0);
	assert_string_equal(t.name, "iqn.2001-04.com.example:disk1");
	assert_true(t.has_portal);
	assert_string_equal(t.portal.host, "fd00::10");
	assert_int_equal(t.portal.port, 3261);

	s = "iqn.2001-04.com.example:disk1";
	assert_int_equal(url_parse_target(s, strlen(s), &t, &why), 0);
	assert_false(t.has_portal);

	s = "iqn.2001-04.com.example:disk1,";
	assert_int_equal(url_parse_target(s, strlen(s), &t, &why), -EINVAL);
	assert_string_equal(why, "empty portal");
	s = "iqn.2001-04.com.example:disk1,a,b";
	assert_int_equal(url_parse_target(s, strlen(s), &t, &why), -EINVAL);
	s = "disk1,192.0.2.1";
	assert_int_equal(url_parse_target(s, strlen(s), &t, &why), -EINVAL);
	assert_non_null(strstr(why, "iqn."));
}

static int parse(const char *s, struct url_iscsi *u, const char **why)
{
	return url_parse_iscsi(s, strlen(s), u, why);
}

static void test_url_full(void **state)
{
	(void)state;
	struct url_iscsi u;
	const char *why = NULL;

	assert_int_equal(parse("iscsi://alice%s3cr%25t%40%2F@[::1]:3261/"
			       "iqn.2001-04.com.example%3Adisk1/7", &u, &why), 0);
	assert_string_equal(u.user, "alice");
	assert_true(u.has_password);
	assert_string_equal(u.password, "s3cr%t@/");
	assert_string_equal(u.portal.host, "::1");
	assert_int_equal(u.portal.port, 3261);
	assert_string_equal(u.target, "iqn.2001-04.com.example:disk1");
	assert_true(u.has_lun);
	assert_int_equal(u.lun, 7);

	url_iscsi_wipe(&u);
	assert_string_equal(u.password, "");
	assert_false(u.has_password);
}

static void test_url_forms(void **state)
{
	(void)state;
	struct url_iscsi u;
	const char *why;

	/* libiscsi's own example; the scheme is case-insensitive. */
	assert_int_equal(parse("ISCSI://192.0.2.1/iqn.2001-04.com.example/0",
			       &u, &why), 0);
	assert_false(u.has_user);
	assert_int_equal(u.portal.port, 3260);
	assert_false(u.portal.has_port);
	assert_true(u.has_lun);
	assert_int_equal(u.lun, 0);

	/* LUN is optional, a bare portal too. */
	assert_int_equal(parse("iscsi://host/iqn.2001-04.com.example", &u,
			       &why), 0);
	assert_true(u.has_target);
	assert_false(u.has_lun);
	assert_int_equal(parse("iscsi://host:3261", &u, &why), 0);
	assert_false(u.has_target);
	assert_int_equal(u.portal.port, 3261);
	assert_int_equal(parse("iscsi://host/", &u, &why), 0);
	assert_false(u.has_target);

	/* A user that is itself an iqn: '%' wins over ':' (libiscsi). */
	assert_int_equal(parse("iscsi://iqn.2026-11.org.mcsi:h%deadbeef@h/"
			       "iqn.2001-04.com.example/1", &u, &why), 0);
	assert_string_equal(u.user, "iqn.2026-11.org.mcsi:h");
	assert_string_equal(u.password, "deadbeef");

	/* Without '%', ':' separates user and password (RFC 3986). */
	assert_int_equal(parse("iscsi://bob:pw@h/iqn.2001-04.com.example", &u,
			       &why), 0);
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.password, "pw");

	/* A user alone: the caller may prompt for the password. */
	assert_int_equal(parse("iscsi://bob@h/iqn.2001-04.com.example", &u,
			       &why), 0);
	assert_true(u.has_user);
	assert_false(u.has_password);

	/* '@' inside the password: the last '@' before the path counts. */
	assert_int_equal(parse("iscsi://bob%a@b@h/iqn.2001-04.com.example",
			       &u, &why), 0);
	assert_string_equal(u.password, "a@b");
	assert_string_equal(u.portal.host, "h");

	assert_int_equal(parse("iscsi://h/iqn.2001-04.com.example/16383", &u,
			       &why), 0);
	assert_int_equal(u.lun, 16383);
}

static void test_url_invalid(void **state)
{
	(void)state;
	static const struct { const char *in, *why; } bad[] = {
		{ "http://h/iqn.2001-04.com.example/0", "iscsi://" },
		{ "iscsi:/h", "iscsi://" },
		{ "iscsi://", "empty portal" },
		{ "iscsi://h/iqn.2001-04.com.example/", "missing LUN" },
		{ "iscsi://h/iqn.2001-04.com.example/x", "decimal" },
		{ "iscsi://h/iqn.2001-04.com.example/-1", "decimal" },
		{ "iscsi://h/iqn.2001-04.com.example/1/", "decimal" },
		{ "iscsi://h/iqn.2001-04.com.example/16384", "out of range" },
		{ "iscsi://h/iqn.2001-04.com.example/99999999999", "out of range" },
		{ "iscsi://h//0", "empty target" },
		{ "iscsi://h/target/0", "iqn." },
		{ "iscsi://h/iqn.2001-04.com.example%3/0", "two hex" },
		{ "iscsi://h/iqn.2001-04.com.example%00/0", "%00" },
		{ "iscsi://u%p%zz@h/iqn.2001-04.com.example", "two hex" },
		{ "iscsi://u%@h/iqn.2001-04.com.example", "empty password" },
		{ "iscsi://%pw@h/iqn.2001-04.com.example", "empty user" },
		{ "iscsi://@h/iqn.2001-04.com.example", "empty user" },
		{ "iscsi://u%a/b@h/iqn.2001-04.com.example", "%2F" },
		{ "iscsi://h/iqn.2001-04.com.example/0?x=1", "unknown URL argument" },
		{ "iscsi://h/iqn.2001-04.com.example/0?target_user", "'='" },
		{ "iscsi://h/iqn.2001-04.com.example/0?target_user=", "empty target_user" },
		{ "iscsi://h/iqn.2001-04.com.example/0?header_digest=md5", "header_digest" },
		{ "iscsi://h/iqn.2001-04.com.example/0#f", "'#'" },
		{ "iscsi://u%p\x01@h/iqn.2001-04.com.example", "control" },
		{ "iscsi://::1/iqn.2001-04.com.example", "brackets" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct url_iscsi u;
		const char *why = NULL;
		memset(&u, 0x55, sizeof(u));
		assert_int_equal(parse(bad[i].in, &u, &why), -EINVAL);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: reason '%s' lacks '%s'", bad[i].in, why,
				 bad[i].why);
		assert_int_equal(u.password[0], 0);
		assert_false(u.has_password);
	}
}

/* libiscsi's query arguments for mutual CHAP and digests. */
static void test_url_query(void **state)
{
	(void)state;
	struct url_iscsi u;
	const char *why = NULL;
	const char *in = "iscsi://bu%bs@127.0.0.1:13260/iqn.2003-01.org.linux-iscsi.lio:mchap/0"
			 "?target_user=benchtarget&target_password=a%26b&header_digest=crc32c-none";
	assert_int_equal(parse(in, &u, &why), 0);
	assert_string_equal(u.user, "bu");
	assert_string_equal(u.password, "bs");
	assert_true(u.has_target_user && u.has_target_password && u.has_header_digest);
	assert_string_equal(u.target_user, "benchtarget");
	assert_string_equal(u.target_password, "a&b");
	assert_int_equal(u.header_digest, 3);
	assert_int_equal(u.lun, 0);
	assert_string_equal(u.target, "iqn.2003-01.org.linux-iscsi.lio:mchap");
	url_iscsi_wipe(&u);
	assert_int_equal(u.target_password[0], 0);
}

static void test_url_long_fields(void **state)
{
	(void)state;
	char url[1200], pw[300];
	struct url_iscsi u;
	const char *why;

	memset(pw, 'p', 255);
	pw[255] = '\0';
	snprintf(url, sizeof(url), "iscsi://u%%%s@h/iqn.2001-04.com.example",
		 pw);
	assert_int_equal(parse(url, &u, &why), 0);
	assert_int_equal(strlen(u.password), 255);
	/* Encoded bytes count once decoded: 255 x "%41" is still 255. */
	char *p = url + snprintf(url, sizeof(url), "iscsi://u%%");
	for (int i = 0; i < 255; i++)
		p += sprintf(p, "%%41");
	strcpy(p, "@h");
	assert_int_equal(parse(url, &u, &why), 0);
	assert_int_equal(strlen(u.password), 255);

	snprintf(url, sizeof(url), "iscsi://u%%%sp@h/iqn.2001-04.com.example",
		 pw);
	assert_int_equal(parse(url, &u, &why), -EINVAL);
	assert_non_null(strstr(why, "password longer"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_valid),
		cmocka_unit_test(test_names_invalid),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_name_in_place),
		cmocka_unit_test(test_portals_valid),
		cmocka_unit_test(test_portals_invalid),
		cmocka_unit_test(test_format_portal_nospc),
		cmocka_unit_test(test_target_form),
		cmocka_unit_test(test_url_full),
		cmocka_unit_test(test_url_forms),
		cmocka_unit_test(test_url_invalid),
		cmocka_unit_test(test_url_query),
		cmocka_unit_test(test_url_long_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
