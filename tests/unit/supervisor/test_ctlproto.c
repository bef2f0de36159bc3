/* SPDX-License-Identifier: MIT */
/* The control protocol: framing, requests, replies, launch messages and
 * state files, with golden bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/ctlproto.h"

static void test_frame(void **state)
{
	uint8_t buf[16] = { 0 };
	const uint8_t *p;
	uint32_t n;
	(void)state;

	cp_frame_header(buf, 0x01020304);
	assert_memory_equal(buf, "\x01\x02\x03\x04", 4);
	cp_frame_header(buf, 3);
	memcpy(buf + 4, "abcX", 4);
	assert_int_equal(cp_frame_get(buf, 3, &p, &n), 0);      /* short header */
	assert_int_equal(cp_frame_get(buf, 6, &p, &n), 0);      /* short payload */
	assert_int_equal(cp_frame_get(buf, 8, &p, &n), 7);
	assert_int_equal(n, 3);
	assert_ptr_equal(p, buf + 4);
	cp_frame_header(buf, 0);
	assert_int_equal(cp_frame_get(buf, 8, &p, &n), -EPROTO);
	cp_frame_header(buf, CP_FRAME_MAX + 1);
	assert_int_equal(cp_frame_get(buf, 4, &p, &n), -EMSGSIZE);
	cp_frame_header(buf, CP_FRAME_MAX);
	assert_int_equal(cp_frame_get(buf, 8, &p, &n), 0);
}

static void test_request_golden(void **state)
{
	struct cp_request r = { .op = CP_OP_LOGIN, .has_target = true,
				.has_portal = true };
	char buf[512];
	const char *why = NULL;
	(void)state;

	strcpy(r.target, "iqn.2001-04.com.example:disk1");
	assert_int_equal(url_parse_portal("[::1]:3261", 10, &r.portal, &why), 0);
	int len = cp_request_encode(&r, buf, sizeof(buf));
	const char *want = "{\"op\":\"login\",\"target\":\"iqn.2001-04.com.example:disk1\","
			   "\"portal\":\"[::1]:3261\"}";
	assert_string_equal(buf, want);
	assert_int_equal(len, (int)strlen(want));

	struct cp_request d;
	assert_int_equal(cp_request_decode(buf, (size_t)len, &d, &why), 0);
	assert_int_equal(d.op, CP_OP_LOGIN);
	assert_true(d.has_target && d.has_portal && !d.has_lun);
	assert_string_equal(d.target, r.target);
	assert_string_equal(d.portal.host, "::1");
	assert_int_equal(d.portal.port, 3261);

	/* io carries its numbers; a target is dropped where it means nothing. */
	struct cp_request io = { .op = CP_OP_IO, .has_lun = true, .lun = 2,
				 .lba = 1ull << 40, .blocks = 8, .seed = 7,
				 .write = true, .has_target = true };
	len = cp_request_encode(&io, buf, sizeof(buf));
	assert_string_equal(buf, "{\"op\":\"io\",\"lun\":2,\"lba\":1099511627776,"
				 "\"blocks\":8,\"seed\":7,\"write\":true}");
	assert_int_equal(cp_request_decode(buf, (size_t)len, &d, &why), 0);
	assert_int_equal(d.op, CP_OP_IO);
	assert_true(d.lba == 1ull << 40);
	assert_int_equal(d.blocks, 8);
	assert_int_equal(d.seed, 7);
	assert_true(d.write);

	/* The encoder refuses what would not decode. */
	struct cp_request bad = { .op = CP_OP_LOGOUT };
	assert_int_equal(cp_request_encode(&bad, buf, sizeof(buf)), -EINVAL);
	io.blocks = CP_IO_MAX_BLOCKS + 1;
	assert_int_equal(cp_request_encode(&io, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cp_request_encode(&r, buf, 20), -ENOSPC);
}

static void test_request_decode(void **state)
{
	struct cp_request r;
	const char *why;
	char s[64];
	(void)state;

#define OK(txt) assert_int_equal(cp_request_decode(txt, strlen(txt), &r, &why), 0)
#define BAD(txt) do { why = NULL; \
	assert_int_equal(cp_request_decode(txt, strlen(txt), &r, &why), -EPROTO); \
	assert_non_null(why); } while (0)

	OK("{\"op\":\"status\"}");
	assert_int_equal(r.op, CP_OP_STATUS);
	OK("{\"op\":\"list-sessions\",\"future\":[1,{\"x\":2}]}");  /* unknown ignored */
	assert_int_equal(r.op, CP_OP_LIST_SESSIONS);
	OK("{\"target\":\"IQN.2001-04.COM.Example:D\",\"op\":\"logout\"}");
	assert_string_equal(r.target, "iqn.2001-04.com.example:d");    /* normalized */
	OK("{\"op\":\"list-luns\",\"target\":\"iqn.2001-04.com.example:d\",\"lun\":16383}");
	assert_int_equal(r.lun, 16383);

	BAD("[\"op\"]");
	BAD("{}");
	BAD("{\"op\":\"shutdown\"}");
	BAD("{\"op\":1}");
	BAD("{\"op\":\"login\"}");                                /* no target */
	BAD("{\"op\":\"login\",\"target\":\"nonsense\"}");
	BAD("{\"op\":\"login\",\"target\":\"iqn.2001-04.com.example:d\",\"portal\":\"[::1\"}");
	BAD("{\"op\":\"login\",\"target\":\"iqn.2001-04.com.example:d\",\"portal\":7}");
	BAD("{\"op\":\"list-luns\",\"target\":\"iqn.2001-04.com.example:d\",\"lun\":16384}");
	BAD("{\"op\":\"list-luns\",\"target\":\"iqn.2001-04.com.example:d\",\"lun\":-1}");
	BAD("{\"op\":\"io\",\"blocks\":1}");                      /* no lun */
	BAD("{\"op\":\"io\",\"lun\":0}");                         /* no blocks */
	BAD("{\"op\":\"io\",\"lun\":0,\"blocks\":2049}");
	BAD("{\"op\":\"io\",\"lun\":0,\"blocks\":1,\"write\":1}");
	BAD("{\"op\":\"status\"");
	/* A name at the limit fits; one byte more does not. */
	char big[300];
	memset(s, 0, sizeof(s));
	snprintf(big, sizeof(big), "{\"op\":\"logout\",\"target\":\"iqn.2001-04.com.example:%0*d\"}",
		 223 - 24, 0);
	OK(big);
	assert_int_equal(strlen(r.target), 223);
	snprintf(big, sizeof(big), "{\"op\":\"logout\",\"target\":\"iqn.2001-04.com.example:%0*d\"}",
		 224 - 24, 0);
	BAD(big);
	/* Too many values for a request. */
	char many[1024] = "{\"op\":\"status\",\"x\":[";
	for (int i = 0; i < 120; i++)
		strcat(many, i ? ",1" : "1");
	strcat(many, "]}");
	BAD(many);
#undef OK
#undef BAD
}

static void test_reply(void **state)
{
	char buf[256];
	struct json_tok t[32];
	struct cp_reply r;
	const char *why;
	(void)state;

	int len = cp_reply_error(buf, sizeof(buf), -ENOENT, "no session to \"x\"");
	assert_string_equal(buf, "{\"ok\":false,\"errno\":2,\"error\":\"no session to \\\"x\\\"\"}");
	assert_int_equal(cp_reply_parse(buf, (size_t)len, t, 32, &r, &why), 0);
	assert_false(r.ok);
	assert_int_equal(r.err, -ENOENT);
	assert_string_equal(r.error, "no session to \"x\"");

	struct json_w w;
	cp_reply_ok_begin(&w, buf, sizeof(buf));
	json_w_u64(&w, "pid", 42);
	json_w_end(&w);
	len = json_w_finish(&w);
	assert_string_equal(buf, "{\"ok\":true,\"pid\":42}");
	assert_int_equal(cp_reply_parse(buf, (size_t)len, t, 32, &r, &why), 0);
	assert_true(r.ok);
	assert_int_equal(r.err, 0);
	uint64_t pid;
	assert_int_equal(json_get_u64(buf, t, 0, "pid", 100, &pid), 0);
	assert_int_equal(pid, 42);

	static const char *const bad[] = {
		"{\"errno\":2}", "{\"ok\":\"yes\"}", "{\"ok\":false}",
		"{\"ok\":false,\"errno\":0}", "{\"ok\":false,\"errno\":5000}", "[]",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(cp_reply_parse(bad[k], strlen(bad[k]), t, 32, &r, &why),
				 -EPROTO);
	/* An unreadable message does not hide the error. */
	const char *ctl = "{\"ok\":false,\"errno\":13,\"error\":\"a\\u0001b\"}";
	assert_int_equal(cp_reply_parse(ctl, strlen(ctl), t, 32, &r, &why), 0);
	assert_int_equal(r.err, -EACCES);
	assert_string_equal(r.error, "(unreadable message)");
}

static void test_launch(void **state)
{
	struct cp_launch l = { .chap = true, .mutual = true, .header_digest = true,
			       .replacement_ms = 5000, .erl = CP_ERL_DEFAULT };
	struct cp_launch_secrets s = { 0 }, s2;
	struct cp_launch d;
	char buf[1024];
	const char *why = NULL;
	(void)state;

	strcpy(l.target, "iqn.2001-04.com.example:disk1");
	assert_int_equal(url_parse_portal("10.0.0.1", 8, &l.portal, &why), 0);
	strcpy(l.initiator, "iqn.2026-11.org.mcsi:host-1");
	strcpy(l.chap_name, "user");
	strcpy(l.target_chap_name, "tgt");
	memcpy(s.chap, "se\"cret\x01", 8);
	s.chap_len = 8;
	memcpy(s.target, "other", 5);
	s.target_len = 5;
	int len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_string_equal(buf,
		"{\"target\":\"iqn.2001-04.com.example:disk1\",\"portal\":\"10.0.0.1:3260\","
		"\"initiator\":\"iqn.2026-11.org.mcsi:host-1\",\"header-digest\":true,"
		"\"data-digest\":false,\"replacement-timeout-ms\":5000,\"chap-name\":\"user\","
		"\"chap-secret\":\"se\\\"cret\\u0001\",\"target-chap-name\":\"tgt\","
		"\"target-secret\":\"other\"}");
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_string_equal(d.target, l.target);
	assert_int_equal(d.portal.port, 3260);
	assert_true(d.chap && d.mutual && d.header_digest && !d.data_digest);
	assert_int_equal(d.replacement_ms, 5000);
	assert_int_equal(d.erl, CP_ERL_DEFAULT);
	assert_int_equal(s2.chap_len, 8);
	assert_memory_equal(s2.chap, s.chap, 8);
	assert_int_equal(s2.target_len, 5);
	assert_string_equal(d.target_chap_name, "tgt");

	/* A launch from an older mcsid (no replacement timeout): the default. */
	const char *old = "{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
			  "\"initiator\":\"iqn.2001-04.a:b\"}";
	assert_int_equal(cp_launch_decode(old, strlen(old), &d, &s2, &why), 0);
	assert_int_equal(d.replacement_ms, CP_REPLACEMENT_MS_DEFAULT);
	assert_int_equal(d.erl, CP_ERL_DEFAULT);

	/* A lower ErrorRecoveryLevel travels; above 2 is refused. */
	l.erl = 0;
	len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"error-recovery-level\":0"));
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_int_equal(d.erl, 0);
	const char *erl3 = "{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
			  "\"initiator\":\"iqn.2001-04.a:b\",\"error-recovery-level\":3}";
	assert_int_equal(cp_launch_decode(erl3, strlen(erl3), &d, &s2, &why), -EPROTO);
	l.erl = CP_ERL_DEFAULT;

	/* DefaultTime2Wait / Retain travel when set, absent (0) otherwise;
	 * above 3600 is refused. */
	assert_null(strstr(buf, "time2"));
	assert_int_equal(d.time2wait, 0);
	l.time2wait = 5;
	l.time2retain = 30;
	len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"default-time2wait\":5"));
	assert_non_null(strstr(buf, "\"default-time2retain\":30"));
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_int_equal(d.time2wait, 5);
	assert_int_equal(d.time2retain, 30);
	const char *t2w = "{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
			  "\"initiator\":\"iqn.2001-04.a:b\",\"default-time2wait\":3601}";
	assert_int_equal(cp_launch_decode(t2w, strlen(t2w), &d, &s2, &why), -EPROTO);
	l.time2wait = l.time2retain = 0;

	/* Target quirks off travels as "no-quirks": true; absent (an older
	 * mcsid too) means on; anything but a flag is refused. */
	len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_null(strstr(buf, "quirks"));
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_false(d.no_quirks);
	l.no_quirks = true;
	len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"no-quirks\":true"));
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_true(d.no_quirks);
	const char *nq = "{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
			 "\"initiator\":\"iqn.2001-04.a:b\",\"no-quirks\":\"yes\"}";
	assert_int_equal(cp_launch_decode(nq, strlen(nq), &d, &s2, &why), -EPROTO);
	l.no_quirks = false;

	/* MC/S: the other configured portals travel as one list; absent
	 * when empty (the golden above has none); a bad item is refused. */
	strcpy(l.portals, "10.0.0.2:3260,[fe80::1]:3261");
	len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"portals\":\"10.0.0.2:3260,[fe80::1]:3261\""));
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_string_equal(d.portals, l.portals);
	l.portals[0] = '\0';
	const char *badp = "{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
			   "\"initiator\":\"iqn.2001-04.a:b\",\"portals\":\"h1,,h2\"}";
	assert_int_equal(cp_launch_decode(badp, strlen(badp), &d, &s2, &why), -EPROTO);

	/* MC/S scheduling: a policy name travels, absent means adaptive;
	 * anything but a name is refused. */
	assert_null(strstr(buf, "\"sched\""));
	strcpy(l.sched, "round-robin");
	len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"sched\":\"round-robin\""));
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_string_equal(d.sched, "round-robin");
	l.sched[0] = '\0';
	const char *bads = "{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
			   "\"initiator\":\"iqn.2001-04.a:b\",\"sched\":\"rr;x\"}";
	assert_int_equal(cp_launch_decode(bads, strlen(bads), &d, &s2, &why), -EPROTO);

	/* No CHAP: no secret members at all. */
	l.chap = l.mutual = false;
	len = cp_launch_encode(&l, &s, buf, sizeof(buf));
	assert_null(strstr(buf, "secret"));
	assert_int_equal(cp_launch_decode(buf, (size_t)len, &d, &s2, &why), 0);
	assert_false(d.chap || d.mutual);
	assert_int_equal(s2.chap_len, 0);

	/* A NUL in a secret cannot reach the session API: refused early. */
	l.chap = true;
	s.chap[2] = '\0';
	assert_int_equal(cp_launch_encode(&l, &s, buf, sizeof(buf)), -EINVAL);
	l.mutual = true;
	l.chap = false;
	assert_int_equal(cp_launch_encode(&l, &s, buf, sizeof(buf)), -EINVAL);

	static const char *const bad[] = {
		"{\"portal\":\"h\",\"initiator\":\"iqn.2001-04.a:b\"}",
		"{\"target\":\"iqn.2001-04.a:b\",\"initiator\":\"iqn.2001-04.a:b\"}",
		"{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\"}",
		"{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\",\"initiator\":\"iqn.2001-04.a:b\","
		"\"chap-secret\":\"x\"}",                       /* no CHAP name */
		"{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\",\"initiator\":\"iqn.2001-04.a:b\","
		"\"chap-name\":\"u\",\"chap-secret\":\"a\\u0000b\"}",
		"{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\",\"initiator\":\"iqn.2001-04.a:b\","
		"\"target-chap-name\":\"t\",\"target-secret\":\"x\"}",   /* mutual only */
		"{\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\",\"initiator\":\"iqn.2001-04.a:b\","
		"\"alias\":\"a\\nb\"}",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&s2, 0x55, sizeof(s2));
		if (cp_launch_decode(bad[k], strlen(bad[k]), &d, &s2, &why) != -EPROTO)
			fail_msg("accepted %s", bad[k]);
		/* Whatever was decoded of a secret is wiped. */
		assert_int_equal(s2.chap_len, 0);
		assert_int_equal(s2.chap[0], 0);
	}
}

static void test_state(void **state)
{
	struct cp_state st = { .pid = 4242, .state = CP_SESS_UP, .since = 1700000000 };
	struct cp_state d;
	char buf[512];
	const char *why = NULL;
	(void)state;

	strcpy(st.target, "iqn.2001-04.com.example:disk1");
	assert_int_equal(url_parse_portal("127.0.0.1:3260", 14, &st.portal, &why), 0);
	strcpy(st.socket, "/run/mcsi/sessions/4242.sock");
	int len = cp_state_encode(&st, buf, sizeof(buf));
	assert_string_equal(buf, "{\"pid\":4242,\"state\":\"up\",\"target\":"
				 "\"iqn.2001-04.com.example:disk1\",\"portal\":\"127.0.0.1:3260\","
				 "\"socket\":\"/run/mcsi/sessions/4242.sock\",\"since\":1700000000}");
	assert_int_equal(cp_state_decode(buf, (size_t)len, &d, &why), 0);
	assert_int_equal(d.pid, 4242);
	assert_int_equal(d.state, CP_SESS_UP);
	assert_string_equal(d.socket, st.socket);
	assert_true(d.since == 1700000000);

	st.state = CP_SESS_LOST;
	strcpy(st.error, "connection reset");
	len = cp_state_encode(&st, buf, sizeof(buf));
	assert_int_equal(cp_state_decode(buf, (size_t)len, &d, &why), 0);
	assert_int_equal(d.state, CP_SESS_LOST);
	assert_string_equal(d.error, "connection reset");

	static const char *const bad[] = {
		"{\"pid\":1,\"state\":\"up\",\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
		"\"socket\":\"/s\",\"since\":0}",                   /* pid 1 */
		"{\"pid\":9,\"state\":\"zombie\",\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
		"\"socket\":\"/s\",\"since\":0}",
		"{\"pid\":9,\"state\":\"up\",\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
		"\"socket\":\"rel\",\"since\":0}",
		"{\"pid\":9,\"state\":\"up\",\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
		"\"socket\":\"/a\\u0000b\",\"since\":0}",
		"{\"pid\":9,\"state\":\"up\",\"target\":\"iqn.2001-04.a:b\",\"portal\":\"h\","
		"\"socket\":\"/s\"}",
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		if (cp_state_decode(bad[k], strlen(bad[k]), &d, &why) != -EPROTO)
			fail_msg("accepted %s", bad[k]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_request_golden),
		cmocka_unit_test(test_request_decode),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_launch),
		cmocka_unit_test(test_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
