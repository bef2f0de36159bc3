/* SPDX-License-Identifier: MIT */
/* Opening the further connections of a session through a fake login:
 * CIDs and TSIH, the session's CmdSN, going round the portal group, the
 * MaxConnections bound (ours and the target's 0x0206 / 0x0208), portals
 * that cannot be reached, and the portal list from SendTargets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "mcs/login_nonlead.h"
#include "proto/login.h"

#define TSIH 0x1234

struct call {
	char host[URL_PORTAL_STRMAX + 8];
	uint16_t cid, tsih;
	uint32_t cmdsn;
	const struct iscsi_params *session;
};

/* The fake: answers each login from a script indexed by attempt. */
struct fake {
	struct call calls[32];
	unsigned n;
	int script[32];          /* 0: success; else -errno */
	uint8_t cls[32], det[32];
	uint16_t bad_tsih_at;    /* 1-based attempt that gets another TSIH */
};

static int fake_login(void *arg, const struct lgio_target *t,
		      const struct iscsi_params *session, uint32_t cmdsn,
		      struct ctl_conn *c, uint8_t *rx, size_t rx_cap,
		      struct lgio_status *st)
{
	struct fake *f = arg;
	unsigned i = f->n++;

	(void)rx_cap;
	memset(st, 0, sizeof(*st));
	snprintf(f->calls[i].host, sizeof(f->calls[i].host), "%s:%u", t->portal.host,
		 t->portal.port);
	f->calls[i].cid = t->cid;
	f->calls[i].tsih = t->tsih;
	f->calls[i].cmdsn = cmdsn;
	f->calls[i].session = session;
	if (f->script[i]) {
		st->status_class = f->cls[i];
		st->status_detail = f->det[i];
		st->message = f->cls[i] ? login_status_message(f->cls[i], f->det[i]) : NULL;
		return f->script[i];
	}
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->cid = t->cid;
	c->tsih = f->bad_tsih_at == i + 1 ? TSIH + 1 : t->tsih;
	c->rx = rx;
	return 0;
}

static struct fake F;
static struct connset CS;
static struct nlogin_ops OPS = { fake_login, &F };
static struct lgio_target LEAD;
static struct iscsi_params SESSION;
static struct url_portal PORTALS[3];
static uint32_t CMDSN;
static uint8_t RX[8][16];

static uint32_t cmdsn_now(void *arg)
{
	return *(uint32_t *)arg;
}

static void portal(struct url_portal *p, const char *host, uint16_t port)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = port;
	p->has_port = true;
}

static struct nlogin_req setup(uint32_t max_conns, unsigned nportals)
{
	memset(&F, 0, sizeof(F));
	lgio_target_init(&LEAD);
	LEAD.target_name = "iqn.2026-01.test:t";
	LEAD.initiator_name = "iqn.2026-01.test:i";
	portal(&LEAD.portal, "10.0.0.2", 3260);
	portal(&PORTALS[0], "10.0.0.1", 3260);
	portal(&PORTALS[1], "10.0.0.2", 3260);
	portal(&PORTALS[2], "10.0.0.3", 3260);
	neg_params_default(&SESSION);
	SESSION.max_connections = max_conns;
	CMDSN = 77;
	assert_int_equal(cset_init(&CS, max_conns, 2), 0);
	assert_true(cset_add_lead(&CS, 0, 0) >= 0);
	struct nlogin_req r = {
		.lead = &LEAD, .session = &SESSION, .tsih = TSIH,
		.portals = PORTALS, .nportals = nportals,
		.cmdsn = cmdsn_now, .cmdsn_arg = &CMDSN,
	};
	return r;
}

static void set_rx(struct nlogin_conn *out, unsigned n)
{
	memset(out, 0, sizeof(*out) * n);
	for (unsigned i = 0; i < n; i++) {
		out[i].rx = RX[i];
		out[i].rx_cap = sizeof(RX[i]);
	}
}

static void test_opens_round_the_portal_group(void **state)
{
	(void)state;
	struct nlogin_req req = setup(4, 3);
	struct nlogin_conn out[8];
	struct nlogin_result res;

	set_rx(out, 8);
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 3, &res), 0);
	assert_int_equal(res.opened, 3);
	assert_int_equal(res.err, 0);
	assert_null(res.message);
	/* Starting after the leading connection's portal (10.0.0.2). */
	assert_string_equal(F.calls[0].host, "10.0.0.3:3260");
	assert_string_equal(F.calls[1].host, "10.0.0.1:3260");
	assert_string_equal(F.calls[2].host, "10.0.0.2:3260");
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(F.calls[i].cid, i + 1);
		assert_int_equal(F.calls[i].tsih, TSIH);
		assert_int_equal(F.calls[i].cmdsn, 77);
		assert_ptr_equal(F.calls[i].session, &SESSION);
		assert_int_equal(out[i].tk.cid, i + 1);
		assert_false(cset_usable(&CS, out[i].tk.slot));    /* LOGIN */
		assert_int_equal(cset_publish(&CS, out[i].tk.slot), 0);
	}
	assert_int_equal(out[0].tk.queue, 1);
	assert_int_equal(out[1].tk.queue, 0);
	/* The next login carries the session's CmdSN of that moment. */
	CMDSN = 0xffffffffu;
	assert_int_equal(cset_leave(&CS, out[2].tk.slot), 0);
	assert_int_equal(cset_release(&CS, out[2].tk.slot), 0);
	unsigned next = 0;
	assert_int_equal(nlogin_open_one(&CS, &req, &OPS, -1, &next, &out[3], &res), 0);
	assert_int_equal(F.calls[3].cmdsn, 0xffffffffu);
	assert_int_equal(F.calls[3].cid, 4);
}

static void test_our_limit_stops_before_the_network(void **state)
{
	(void)state;
	struct nlogin_req req = setup(4, 0);
	struct nlogin_conn out[8];
	struct nlogin_result res;

	set_rx(out, 8);
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 5, &res), -EUSERS);
	assert_int_equal(res.opened, 3);
	assert_int_equal(res.attempts, 3);
	assert_int_equal(F.n, 3);                       /* nothing sent for #4 */
	assert_string_equal(res.message,
			    "the session already has MaxConnections connections");
	assert_int_equal(res.limit, 4);
	/* Without portals: the leading connection's portal. */
	assert_string_equal(F.calls[2].host, "10.0.0.2:3260");
}

static void test_target_refuses_too_many(void **state)
{
	(void)state;
	struct nlogin_req req = setup(8, 0);
	struct nlogin_conn out[8];
	struct nlogin_result res;

	set_rx(out, 8);
	F.script[2] = -EUSERS;
	F.cls[2] = 2;
	F.det[2] = 6;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 7, &res), -EUSERS);
	assert_int_equal(res.opened, 2);
	assert_int_equal(res.st.status_class, 2);
	assert_int_equal(res.st.status_detail, 6);
	assert_string_equal(res.message,
			    "the target refused another connection: too many connections");
	/* The target holds 3 (lead + 2) although 8 were negotiated: from now
	 * on we stop at 3 ourselves, and the refused CID is free. */
	assert_int_equal(res.limit, 3);
	assert_int_equal(atomic_load(&CS.used), 3);
	assert_int_equal(cset_find(&CS, 3), -ENOENT);
	unsigned next = 0;
	assert_int_equal(nlogin_open_one(&CS, &req, &OPS, -1, &next, &out[2], &res), -EUSERS);
	assert_int_equal(F.n, 3);
}

static void test_target_cannot_include(void **state)
{
	(void)state;
	struct nlogin_req req = setup(4, 0);
	struct nlogin_conn out[8];
	struct nlogin_result res;

	set_rx(out, 8);
	F.script[0] = -EBUSY;                   /* istgt over its limit */
	F.cls[0] = 2;
	F.det[0] = 8;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 3, &res), -EBUSY);
	assert_int_equal(res.opened, 0);
	assert_string_equal(res.message, "the target refused another connection: "
			    "cannot include it in the session");
	assert_int_equal(res.limit, 1);
	assert_int_equal(atomic_load(&CS.used), 1);
}

/* A connection that just logged out may still count at the target for a
 * moment (istgt): one more try after settle_ms before the limit is
 * believed. */
static void test_refusal_tried_again_after_settling(void **state)
{
	(void)state;
	struct nlogin_req req = setup(4, 3);
	struct nlogin_conn out[8];
	struct nlogin_result res;

	set_rx(out, 8);
	req.settle_ms = 5;
	F.script[0] = -EBUSY;
	F.cls[0] = 2;
	F.det[0] = 8;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 2, &res), 0);
	assert_int_equal(res.opened, 2);
	assert_int_equal(F.n, 3);
	/* Same CID, same portal the second time. */
	assert_int_equal(F.calls[1].cid, F.calls[0].cid);
	assert_string_equal(F.calls[1].host, F.calls[0].host);
	assert_int_equal(res.limit, 4);

	/* Refused again: now it is the limit. */
	req = setup(8, 0);
	req.settle_ms = 5;
	F.script[1] = F.script[2] = -EUSERS;
	F.cls[1] = F.cls[2] = 2;
	F.det[1] = F.det[2] = 6;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 3, &res), -EUSERS);
	assert_int_equal(res.opened, 1);
	assert_int_equal(F.n, 3);
	assert_int_equal(res.limit, 2);
	/* Other refusals are not tried again. */
	req = setup(8, 0);
	req.settle_ms = 5;
	F.script[0] = -EACCES;
	F.cls[0] = 2;
	F.det[0] = 1;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 1, &res), -EACCES);
	assert_int_equal(F.n, 1);
}

static void test_unreachable_portals(void **state)
{
	(void)state;
	struct nlogin_req req = setup(4, 3);
	struct nlogin_conn out[8];
	struct nlogin_result res;

	set_rx(out, 8);
	/* 10.0.0.3 is down: the same connection tries the next portal. */
	F.script[0] = -ECONNREFUSED;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 1, &res), 0);
	assert_int_equal(res.attempts, 2);
	assert_string_equal(F.calls[0].host, "10.0.0.3:3260");
	assert_string_equal(F.calls[1].host, "10.0.0.1:3260");
	assert_int_equal(F.calls[0].cid, F.calls[1].cid);
	assert_int_equal(out[0].portal, 0);

	/* All down: the error, and the slot is free again. */
	req = setup(4, 3);
	F.script[0] = F.script[1] = F.script[2] = -ETIMEDOUT;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 1, &res), -ETIMEDOUT);
	assert_int_equal(res.attempts, 3);
	assert_string_equal(res.message, "no portal of the portal group took the connection");
	assert_int_equal(atomic_load(&CS.used), 1);

	/* A target's refusal is not a portal problem: no other portal. */
	req = setup(4, 3);
	F.script[0] = -ENOENT;
	F.cls[0] = 2;
	F.det[0] = 10;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 1, &res), -ENOENT);
	assert_int_equal(res.attempts, 1);
	assert_string_equal(res.message, "session does not exist");
}

static void test_other_failures(void **state)
{
	(void)state;
	struct nlogin_req req = setup(4, 0);
	struct nlogin_conn out[8];
	struct nlogin_result res;

	set_rx(out, 8);
	F.bad_tsih_at = 2;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 3, &res), -EPROTO);
	assert_int_equal(res.opened, 1);
	assert_string_equal(res.message, "the target put the connection in another session");
	assert_int_equal(atomic_load(&CS.used), 2);

	req = setup(4, 0);
	F.script[0] = -EACCES;
	F.cls[0] = 2;
	F.det[0] = 1;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 2, &res), -EACCES);
	assert_string_equal(res.message, "authentication failed");
	assert_int_equal(res.limit, 4);          /* not a limit problem */

	req = setup(4, 0);
	req.tsih = 0;
	assert_int_equal(nlogin_open(&CS, &req, &OPS, out, 1, &res), -EINVAL);
	assert_int_equal(F.n, 0);
}

static void test_portals_from_sendtargets(void **state)
{
	(void)state;
	static const char text[] =
		"TargetName=iqn.2026-01.test:other\0TargetAddress=10.0.0.9:3260,1\0"
		"TargetName=iqn.2026-01.test:t\0"
		"TargetAddress=10.0.0.1:3260,1\0TargetAddress=10.0.0.2:3260,1\0"
		"TargetAddress=10.0.0.5:3260,2\0TargetAddress=[fd00::1]:3261,1\0"
		"TargetAddress=10.0.0.1:3260,1\0";
	struct disc_target targets[4];
	struct disc_address addrs[8];
	struct disc_result r = { .targets = targets, .max_targets = 4,
				 .addrs = addrs, .max_addrs = 8 };
	const char *why = NULL;
	struct url_portal lead, out[NLOGIN_MAX_PORTALS];

	assert_int_equal(disc_parse_sendtargets(text, sizeof(text) - 1, &r, &why), 0);
	portal(&lead, "10.0.0.2", 3260);
	unsigned n = nlogin_portals(&r, "iqn.2026-01.test:t", 1, &lead, out,
				    NLOGIN_MAX_PORTALS);
	/* Lead first, same group only, no duplicates, other targets' not. */
	assert_int_equal(n, 3);
	assert_string_equal(out[0].host, "10.0.0.2");
	assert_string_equal(out[1].host, "10.0.0.1");
	assert_string_equal(out[2].host, "fd00::1");
	assert_int_equal(out[2].port, 3261);
	/* Group 2 has only 10.0.0.5, but the lead is ours whatever. */
	n = nlogin_portals(&r, "iqn.2026-01.test:t", 2, &lead, out, NLOGIN_MAX_PORTALS);
	assert_int_equal(n, 2);
	assert_string_equal(out[1].host, "10.0.0.5");
	/* No TargetPortalGroupTag declared: only the lead is safe. */
	assert_int_equal(nlogin_portals(&r, "iqn.2026-01.test:t", -1, &lead, out,
					NLOGIN_MAX_PORTALS), 1);
	assert_int_equal(nlogin_portals(&r, "iqn.2026-01.test:t", 1, &lead, out, 2), 2);
	assert_int_equal(nlogin_portals(NULL, "iqn.2026-01.test:t", 1, &lead, out, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opens_round_the_portal_group),
		cmocka_unit_test(test_our_limit_stops_before_the_network),
		cmocka_unit_test(test_target_refuses_too_many),
		cmocka_unit_test(test_target_cannot_include),
		cmocka_unit_test(test_refusal_tried_again_after_settling),
		cmocka_unit_test(test_unreachable_portals),
		cmocka_unit_test(test_other_failures),
		cmocka_unit_test(test_portals_from_sendtargets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
