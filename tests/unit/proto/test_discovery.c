/* SPDX-License-Identifier: MIT */
/* SendTargets: TargetAddress values, response parsing, request building
 * and the joining of responses split with F=0 and the Continue bit. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/discovery.h"
#include "proto/pdu.h"

#define T(s) s, sizeof(s) - 1

static void test_address(void **state)
{
	(void)state;
	static const struct {
		const char *in, *host;
		uint16_t port;
		int32_t tpgt;
		enum url_host_kind kind;
	} ok[] = {
		{ "192.0.2.1:3260,1", "192.0.2.1", 3260, 1, URL_HOST_IPV4 },
		{ "192.0.2.1", "192.0.2.1", 3260, -1, URL_HOST_IPV4 },
		{ "192.0.2.1,7", "192.0.2.1", 3260, 7, URL_HOST_IPV4 },
		{ "[2001:DB8:0::1]:3261,2", "2001:db8::1", 3261, 2, URL_HOST_IPV6 },
		{ "[::1]", "::1", 3260, -1, URL_HOST_IPV6 },
		{ "[::ffff:192.0.2.1]:860,0", "::ffff:192.0.2.1", 860, 0, URL_HOST_IPV6 },
		{ "Storage.Example.COM:860,65535", "storage.example.com", 860, 65535,
		  URL_HOST_NAME },
		/* tgt's unbracketed redirect addresses: the last group is the
		 * port when the rest is an IPv6 literal. */
		{ "::1:13261", "::1", 13261, -1, URL_HOST_IPV6 },
		{ "2001:db8::1:3260,1", "2001:db8::1", 3260, 1, URL_HOST_IPV6 },
		{ "fe80::1", "fe80::1", 3260, -1, URL_HOST_IPV6 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct disc_address a;
		const char *why = NULL;
		assert_int_equal(disc_parse_address(ok[i].in, strlen(ok[i].in), &a, &why), 0);
		assert_string_equal(a.portal.host, ok[i].host);
		assert_int_equal(a.portal.port, ok[i].port);
		assert_int_equal(a.tpgt, ok[i].tpgt);
		assert_int_equal(a.portal.kind, ok[i].kind);
	}
	static const char *const bad[] = {
		"", ",1", "192.0.2.1:0,1", "::1:99999", "zz::1:3260", "192.0.2.1:3260,",
		"192.0.2.1:3260,65536", "192.0.2.1:3260,x", "[::1", "[::1]3260",
		"192.0.2.1:99999", "192.0.2.1:", "bad host:3260", "[zz::1]:3260",
		"192.0.2.1:3260,1,2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct disc_address a;
		const char *why = NULL;
		assert_int_equal(disc_parse_address(bad[i], strlen(bad[i]), &a, &why), -EPROTO);
		assert_non_null(why);
	}
	/* the length bounds the value */
	struct disc_address a;
	const char *why;
	assert_int_equal(disc_parse_address("10.1.1.1:3260,1junk", 15, &a, &why), 0);
	assert_int_equal(a.tpgt, 1);
}

struct res {
	struct disc_target t[4];
	struct disc_address a[6];
	struct disc_result r;
};

static void res_init(struct res *x, size_t max_t, size_t max_a)
{
	memset(x, 0, sizeof(*x));
	x->r.targets = x->t;
	x->r.max_targets = max_t;
	x->r.addrs = x->a;
	x->r.max_addrs = max_a;
}

static void assert_name(const struct disc_target *t, const char *name)
{
	assert_int_equal(t->name_len, strlen(name));
	assert_memory_equal(t->name, name, t->name_len);
}

static const char listing[] =
	"TargetName=iqn.2001-04.com.example:disk1\0"
	"TargetAddress=192.0.2.1:3260,1\0"
	"TargetAddress=[2001:db8::1]:3260,1\0"
	"TargetAlias=first disk\0"
	"TargetName=iqn.2001-04.com.example:disk2\0"
	"TargetName=eui.02004567A425678D\0"
	"TargetAddress=198.51.100.7:3261,2\0";

static void test_sendtargets(void **state)
{
	(void)state;
	struct res x;
	const char *why = NULL;

	res_init(&x, 4, 6);
	assert_int_equal(disc_parse_sendtargets(T(listing), &x.r, &why), 0);
	assert_int_equal(x.r.n_targets, 3);
	assert_int_equal(x.r.n_addrs, 3);
	assert_int_equal(x.r.skipped, 0);
	assert_name(&x.t[0], "iqn.2001-04.com.example:disk1");
	assert_int_equal(x.t[0].first_addr, 0);
	assert_int_equal(x.t[0].n_addrs, 2);
	assert_string_equal(x.a[0].portal.host, "192.0.2.1");
	assert_string_equal(x.a[1].portal.host, "2001:db8::1");
	assert_int_equal(x.a[1].portal.kind, URL_HOST_IPV6);
	assert_name(&x.t[1], "iqn.2001-04.com.example:disk2");
	assert_int_equal(x.t[1].n_addrs, 0);   /* the discovery portal */
	assert_name(&x.t[2], "eui.02004567A425678D");
	assert_int_equal(x.t[2].first_addr, 2);
	assert_int_equal(x.t[2].n_addrs, 1);
	assert_int_equal(x.a[2].portal.port, 3261);
	assert_int_equal(x.a[2].tpgt, 2);

	/* the arrays bound the result; what fits stays valid */
	res_init(&x, 1, 6);
	assert_int_equal(disc_parse_sendtargets(T(listing), &x.r, &why), -ENOSPC);
	assert_int_equal(x.r.n_targets, 1);
	assert_int_equal(x.r.n_addrs, 2);
	res_init(&x, 4, 1);
	assert_int_equal(disc_parse_sendtargets(T(listing), &x.r, &why), -ENOSPC);
	assert_int_equal(x.r.n_addrs, 1);

	/* an empty answer: no targets */
	res_init(&x, 4, 6);
	assert_int_equal(disc_parse_sendtargets("", 0, &x.r, &why), 0);
	assert_int_equal(x.r.n_targets, 0);

	/* one unreadable portal is skipped, the others stay */
	res_init(&x, 4, 6);
	assert_int_equal(disc_parse_sendtargets(T(
		"TargetName=iqn.2001-04.com.example:a\0"
		"TargetAddress=zz::1:3260,1\0TargetAddress=192.0.2.9,1\0"), &x.r, &why), 0);
	assert_int_equal(x.r.skipped, 1);
	assert_int_equal(x.t[0].n_addrs, 1);
	assert_string_equal(x.a[0].portal.host, "192.0.2.9");
}

/* A name that is empty, has a space or a control character (an ANSI
 * escape meant for the operator's terminal) is skipped with its addresses;
 * the other targets stay, and the first bad name is kept for a warning. */
static void test_sendtargets_bad_names(void **state)
{
	(void)state;
	static const struct { const char *s; size_t len; size_t bad; } cases[] = {
		{ T("TargetName=\0TargetAddress=192.0.2.1,1\0"
		    "TargetName=iqn.2001-04.com.example:ok\0TargetAddress=192.0.2.2,1\0"), 0 },
		{ T("TargetName=iqn.2001-04.com.example:a b\0TargetAddress=192.0.2.1,1\0"
		    "TargetName=iqn.2001-04.com.example:ok\0TargetAddress=192.0.2.2,1\0"), 27 },
		{ T("TargetName=iqn.2001-04.com.example:\x1b[31mred\0"
		    "TargetAddress=192.0.2.1,1\0"
		    "TargetName=iqn.2001-04.com.example:ok\0TargetAddress=192.0.2.2,1\0"), 32 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct res x;
		const char *why = NULL;
		res_init(&x, 4, 6);
		assert_int_equal(disc_parse_sendtargets(cases[i].s, cases[i].len, &x.r, &why), 0);
		assert_int_equal(x.r.n_targets, 1);
		assert_int_equal(x.r.n_addrs, 1);
		assert_int_equal(x.r.skipped_names, 1);
		assert_int_equal(x.r.skipped, 0);
		assert_int_equal(x.r.bad_name_len, cases[i].bad);
		assert_ptr_equal(x.r.bad_name, cases[i].s + 11);
		assert_memory_equal(x.t[0].name, "iqn.2001-04.com.example:ok", 26);
		assert_string_equal(x.a[0].portal.host, "192.0.2.2");
	}
}

static void test_sendtargets_bad(void **state)
{
	(void)state;
	static const struct { const char *s; size_t len; const char *why; } bad[] = {
		{ T("TargetAddress=192.0.2.1:3260,1\0"), "TargetAddress before any TargetName" },
		{ T("SendTargets=Reject\0"), "target refused SendTargets" },
		{ T("SendTargets=NotUnderstood\0"), "target refused SendTargets" },
		{ T("TargetName=iqn.2001-04.com.example:a"), "key=value pair not terminated by NUL" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct res x;
		const char *why = NULL;
		res_init(&x, 4, 6);
		assert_int_equal(disc_parse_sendtargets(bad[i].s, bad[i].len, &x.r, &why), -EPROTO);
		assert_string_equal(why, bad[i].why);
	}
	/* 223 bytes is the longest name */
	char buf[300];
	struct res x;
	const char *why;
	memcpy(buf, "TargetName=", 11);
	memset(buf + 11, 'a', 223);
	buf[11 + 223] = '\0';
	res_init(&x, 4, 6);
	assert_int_equal(disc_parse_sendtargets(buf, 11 + 224, &x.r, &why), 0);
	memset(buf + 11, 'a', 224);
	buf[11 + 224] = '\0';
	assert_int_equal(disc_parse_sendtargets(buf, 11 + 225, &x.r, &why), 0);
	assert_int_equal(x.r.n_targets, 0);
	assert_int_equal(x.r.skipped_names, 1);
}

static void test_build(void **state)
{
	(void)state;
	uint32_t bhs32[12];
	uint8_t *bhs = (uint8_t *)bhs32;
	char data[64];
	size_t len = 99;

	assert_int_equal(disc_build_sendtargets(bhs, data, sizeof(data), &len, 0x1234, "All"), 0);
	static const uint8_t want[48] = {
		0x04, 0x80, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0x12, 0x34, 0xff, 0xff, 0xff, 0xff,
	};
	assert_memory_equal(bhs, want, 48);
	assert_int_equal(len, 16);
	assert_memory_equal(data, "SendTargets=All\0", 16);
	assert_int_equal(disc_build_sendtargets(bhs, data, 15, &len, 1, "All"), -ENOSPC);
	assert_int_equal(disc_build_sendtargets(bhs, data, 64, &len, 1, ""), -EINVAL);

	disc_build_continue(bhs, 0x1234, 0xabcd);
	assert_int_equal(bhs[0], 0x04);
	assert_int_equal(bhs[1], 0x80);
	assert_int_equal(pdu_dsl(bhs), 0);
	assert_int_equal(pdu_itt(bhs), 0x1234);
	assert_int_equal(pdu_get32(&((struct bhs_text_req *)bhs)->txt_ttt), 0xabcd);
}

static void rsp(uint32_t *bhs, uint32_t itt, uint32_t ttt, size_t len, bool final,
		bool cont)
{
	pdu_build_text_rsp(bhs, itt, ttt, (uint32_t)len, final, cont);
}

static void test_rx(void **state)
{
	(void)state;
	uint32_t bhs[12];
	char buf[512];
	struct disc_rx rx;
	bool more = false;
	const char *why = NULL;

	/* tgt splits at its MaxRecvDataSegmentLength without F, mid pair */
	const char *part1 = "TargetName=iqn.2001-04.com.example:disk1\0TargetAddr";
	size_t l1 = strlen(part1) + 1 + strlen("TargetAddr");
	const char part2[] = "ess=192.0.2.1:3260,1\0";

	disc_rx_init(&rx, buf, sizeof(buf), 7);
	rsp(bhs, 7, 0x55, l1, false, true);
	assert_int_equal(disc_rx_feed(&rx, bhs, part1, l1, &more, &why), 0);
	assert_true(more);
	assert_int_equal(rx.ttt, 0x55);
	rsp(bhs, 7, PDU_RESERVED_TAG, sizeof(part2) - 1, true, false);
	assert_int_equal(disc_rx_feed(&rx, bhs, part2, sizeof(part2) - 1, &more, &why), 0);
	assert_false(more);
	assert_true(rx.done);
	assert_int_equal(disc_rx_feed(&rx, bhs, part2, sizeof(part2) - 1, &more, &why), -EINVAL);

	struct res x;
	res_init(&x, 4, 6);
	assert_int_equal(disc_parse_sendtargets(rx.buf, rx.len, &x.r, &why), 0);
	assert_int_equal(x.r.n_targets, 1);
	assert_int_equal(x.r.n_addrs, 1);
	assert_string_equal(x.a[0].portal.host, "192.0.2.1");

	/* what is not the answer */
	disc_rx_init(&rx, buf, sizeof(buf), 7);
	rsp(bhs, 8, PDU_RESERVED_TAG, 0, true, false);
	assert_int_equal(disc_rx_feed(&rx, bhs, NULL, 0, &more, &why), -EPROTO);
	assert_string_equal(why, "Text response for another task");
	rsp(bhs, 7, PDU_RESERVED_TAG, 4, true, false);
	assert_int_equal(disc_rx_feed(&rx, bhs, "abc", 3, &more, &why), -EPROTO);
	assert_string_equal(why, "Text response length does not match its data");
	rsp(bhs, 7, 5, 0, true, true);
	((uint8_t *)bhs)[1] = PDU_FINAL | TEXT_CONTINUE;
	assert_int_equal(disc_rx_feed(&rx, bhs, NULL, 0, &more, &why), -EPROTO);
	assert_string_equal(why, "Text response with both F and C bits");
	rsp(bhs, 7, PDU_RESERVED_TAG, 0, false, false);
	assert_int_equal(disc_rx_feed(&rx, bhs, NULL, 0, &more, &why), -EPROTO);
	assert_string_equal(why, "partial Text response without a Target Transfer Tag");
	pdu_build_nop_in(bhs, 0, 7, PDU_RESERVED_TAG, 0);
	assert_int_equal(disc_rx_feed(&rx, bhs, NULL, 0, &more, &why), -EPROTO);
	assert_string_equal(why, "expected a Text response");

	/* the buffer bounds the joined text */
	char small[8];
	disc_rx_init(&rx, small, sizeof(small), 7);
	rsp(bhs, 7, 9, 6, false, false);
	assert_int_equal(disc_rx_feed(&rx, bhs, "abcdef", 6, &more, &why), 0);
	assert_int_equal(disc_rx_feed(&rx, bhs, "abcdef", 6, &more, &why), -ENOSPC);
	assert_int_equal(rx.len, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_sendtargets),
		cmocka_unit_test(test_sendtargets_bad),
		cmocka_unit_test(test_sendtargets_bad_names),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_rx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
