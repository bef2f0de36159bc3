/* SPDX-License-Identifier: MIT */
/* The configuration model: defaults, targets, portals, keys, validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "supervisor/config.h"

static const char T1[] = "iqn.2001-04.com.example:disk1";

static int setup(void **state)
{
	struct cfg *c;
	if (cfg_create(&c))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	cfg_destroy(*state);
	return 0;
}

static void get_eq(const struct cfg *c, enum cfg_section s, const char *t,
		   const char *key, const char *want)
{
	char buf[300];
	assert_int_equal(cfg_get(c, s, t, key, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_defaults(void **state)
{
	struct cfg *c = *state;
	struct cfg_target *t;
	struct cfg_error err;

	assert_null(c->initiator.node_name);
	assert_int_equal(c->initiator.auth, CFG_AUTH_NONE);
	assert_false(c->discovery.sendtargets);
	assert_int_equal(c->discovery.interval, 300);
	assert_int_equal(cfg_target_add(c, T1, &t, &err), 0);
	assert_string_equal(t->name, T1);
	assert_int_equal(t->origin, CFG_ORIGIN_STATIC);
	assert_int_equal(t->max_connections, CFG_MAXCONN_DEFAULT);
	assert_int_equal(t->erl, 2);
	assert_false(t->auto_login);
	assert_false(t->persistent);
	assert_int_equal(t->header_digest, CFG_DIGEST_NONE);
	assert_int_equal(t->portals.n, 0);
	get_eq(c, CFG_SECT_DISCOVERY, NULL, "sendtargets", "disable");
	get_eq(c, CFG_SECT_TARGET, T1, "header-digest", "None");
	get_eq(c, CFG_SECT_TARGET, T1, "alias", "");
	assert_int_equal(cfg_validate(c, &err), 0);
}

static void test_targets(void **state)
{
	struct cfg *c = *state;
	struct cfg_target *t;
	struct cfg_error err;

	assert_int_equal(cfg_target_add(c, "IQN.2001-04.COM.Example:Disk1", &t,
					&err), 0);
	assert_string_equal(t->name, T1);
	assert_int_equal(cfg_target_add(c, T1, &t, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already"));
	assert_int_equal(cfg_target_add(c, "disk1", &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid target name 'disk1'"));
	assert_int_equal(cfg_target_add(c, "eui.02004567A425678D", &t, &err), 0);
	assert_int_equal(c->n_targets, 2);
	assert_non_null(cfg_target_find(c, "EUI.02004567a425678d"));
	assert_null(cfg_target_find(c, "iqn.2001-04.com.example:disk2"));
	assert_null(cfg_target_find(c, "not a name"));

	assert_int_equal(cfg_target_remove(c, "Iqn.2001-04.com.example:DISK1"), 0);
	assert_int_equal(cfg_target_remove(c, T1), -ENOENT);
	assert_int_equal(c->n_targets, 1);
	assert_string_equal(c->targets[0].name, "eui.02004567a425678d");

	/* Many targets: the array grows and every pointer stays right. */
	char name[64];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "iqn.2001-04.com.example:t%d", i);
		assert_int_equal(cfg_target_add(c, name, &t, &err), 0);
		assert_int_equal(cfg_portal_add(&t->portals, "192.0.2.1", NULL,
						&err), 0);
	}
	assert_int_equal(cfg_target_remove(c, "iqn.2001-04.com.example:t7"), 0);
	assert_int_equal(c->n_targets, 40);
	t = cfg_target_find(c, "iqn.2001-04.com.example:t39");
	assert_non_null(t);
	assert_int_equal(t->portals.n, 1);
}

static void test_portals(void **state)
{
	struct cfg *c = *state;
	struct cfg_target *t;
	struct cfg_error err;
	struct cfg_portals *ps;

	assert_int_equal(cfg_target_add(c, T1, &t, &err), 0);
	ps = &t->portals;
	assert_int_equal(cfg_portal_add(ps, "192.0.2.10", NULL, &err), 0);
	assert_int_equal(cfg_portal_add(ps, "192.0.2.10:3260", NULL, &err),
			 -EEXIST);
	assert_int_equal(cfg_portal_add(ps, "[2001:db8::0001]:3261", NULL, &err),
			 0);
	assert_int_equal(cfg_portal_add(ps, "[2001:DB8::1]:3261", NULL, &err),
			 -EEXIST);
	/* One portal through two local interfaces: two MC/S paths. */
	assert_int_equal(cfg_portal_add(ps, "192.0.2.10", "eth1", &err), 0);
	assert_int_equal(cfg_portal_add(ps, "192.0.2.10", "eth2", &err), 0);
	assert_int_equal(cfg_portal_add(ps, "192.0.2.10", "eth2", &err), -EEXIST);
	assert_int_equal(ps->n, 4);
	assert_string_equal(ps->v[1].host, "2001:db8::1");
	assert_true(ps->v[1].ipv6);
	assert_int_equal(ps->v[1].port, 3261);
	assert_string_equal(ps->v[2].iface, "eth1");

	assert_int_equal(cfg_portal_add(ps, "::1", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "brackets"));
	assert_int_equal(cfg_portal_add(ps, "192.0.2.11", "eth/0", &err),
			 -EINVAL);
	assert_int_equal(cfg_portal_add(ps, "192.0.2.11", "a-very-long-ifname",
					&err), -EINVAL);

	char buf[80];
	assert_int_equal(cfg_portal_format(&ps->v[1], buf, sizeof(buf)), 18);
	assert_string_equal(buf, "[2001:db8::1]:3261");
	assert_int_equal(cfg_portal_format(&ps->v[3], buf, sizeof(buf)), 30);
	assert_string_equal(buf, "192.0.2.10:3260 interface=eth2");
	assert_int_equal(cfg_portal_format(&ps->v[3], buf, 20), -ENOSPC);

	/* Removal: one interface, then all that remain for host:port. */
	assert_int_equal(cfg_portal_remove(ps, "192.0.2.10", "eth1", &err), 1);
	assert_int_equal(cfg_portal_remove(ps, "192.0.2.10:3260", NULL, &err), 2);
	assert_int_equal(cfg_portal_remove(ps, "192.0.2.10", NULL, &err), -ENOENT);
	assert_int_equal(cfg_portal_remove(ps, "[", NULL, &err), -EINVAL);
	assert_int_equal(ps->n, 1);

	ps = &c->discovery.portals;
	assert_int_equal(cfg_portal_add(ps, "SAN.example.com:860", NULL, &err), 0);
	assert_string_equal(ps->v[0].host, "san.example.com");
	assert_int_equal(cfg_portal_remove(ps, "san.example.com:860", NULL, &err),
			 1);
}

static void test_set_get(void **state)
{
	struct cfg *c = *state;
	struct cfg_target *t;
	struct cfg_error err;

	assert_int_equal(cfg_target_add(c, T1, &t, &err), 0);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "auto-login", "YES",
				 &err), 0);
	assert_true(t->auto_login);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "max-connections", "8",
				 &err), 0);
	assert_int_equal(t->max_connections, 8);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "header-digest",
				 "prefer-crc32c", &err), 0);
	assert_int_equal(t->header_digest, CFG_DIGEST_PREFER_CRC32C);
	get_eq(c, CFG_SECT_TARGET, T1, "header-digest", "prefer-CRC32C");
	assert_string_equal(cfg_digest_offer(t->header_digest), "CRC32C,None");
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "config-type",
				 "discovered", &err), 0);
	assert_int_equal(t->origin, CFG_ORIGIN_DISCOVERED);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "alias", "Disk \"one\"",
				 &err), 0);
	assert_string_equal(t->alias, "Disk \"one\"");
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "alias", "", &err), 0);
	assert_null(t->alias);

	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "interval", "30",
				 &err), 0);
	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "interval", "32767",
				 &err), 0);
	assert_int_equal(c->discovery.interval, 32767);
	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "sendtargets",
				 "enable", &err), 0);
	assert_true(c->discovery.sendtargets);
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "node-name",
				 "IQN.2026-11.org.mcsi:Host-1", &err), 0);
	assert_string_equal(c->initiator.node_name, "iqn.2026-11.org.mcsi:host-1");
	assert_string_equal(cfg_initiator_chap_name(c),
			    "iqn.2026-11.org.mcsi:host-1");
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "chap-name",
				 "caf\xc3\xa9", &err), 0);
	assert_string_equal(cfg_initiator_chap_name(c), "caf\xc3\xa9");
}

static void test_set_errors(void **state)
{
	struct cfg *c = *state;
	struct cfg_target *t;
	struct cfg_error err;
	static const struct {
		enum cfg_section s;
		const char *key, *value, *msg;
		int rc;
	} bad[] = {
		{ CFG_SECT_DISCOVERY, "interval", "29", "30..32767", -EINVAL },
		{ CFG_SECT_DISCOVERY, "interval", "32768", "30..32767", -EINVAL },
		{ CFG_SECT_DISCOVERY, "interval", "-1", "30..32767", -EINVAL },
		{ CFG_SECT_DISCOVERY, "interval", "99999999999", "30..32767", -EINVAL },
		{ CFG_SECT_DISCOVERY, "sendtargets", "yes", "disable or enable",
		  -EINVAL },
		{ CFG_SECT_TARGET, "max-connections", "0", "1..65535", -EINVAL },
		{ CFG_SECT_TARGET, "error-recovery-level", "3", "0..2", -EINVAL },
		{ CFG_SECT_TARGET, "default-time2wait", "3601", "0..3600", -EINVAL },
		{ CFG_SECT_TARGET, "default-time2retain", "x", "0..3600", -EINVAL },
		{ CFG_SECT_TARGET, "auto-login", "maybe", "no or yes", -EINVAL },
		{ CFG_SECT_TARGET, "quirks", "auto", "expected on or off", -EINVAL },
		{ CFG_SECT_INITIATOR, "quirks", "no", "expected on or off", -EINVAL },
		{ CFG_SECT_TARGET, "data-digest", "crc32",
		  "None, CRC32C, prefer-CRC32C or prefer-None", -EINVAL },
		{ CFG_SECT_TARGET, "authentication", "KRB5", "None or CHAP", -EINVAL },
		{ CFG_SECT_TARGET, "alias", "a\nb", "control", -EINVAL },
		{ CFG_SECT_TARGET, "alias", "\xc3(", "UTF-8", -EINVAL },
		{ CFG_SECT_TARGET, "alias", "\xed\xa0\x80", "UTF-8", -EINVAL },
		{ CFG_SECT_TARGET, "alias", "\xc0\xaf", "UTF-8", -EINVAL },
		{ CFG_SECT_TARGET, "portal", "192.0.2.1", "add or remove portals",
		  -ENOENT },
		{ CFG_SECT_TARGET, "mtu", "9000", "unknown key 'mtu' for [target]",
		  -ENOENT },
		{ CFG_SECT_INITIATOR, "node-name", "host", "iqn.", -EINVAL },
		{ CFG_SECT_INITIATOR, "node-name", "", "empty", -EINVAL },
	};

	assert_int_equal(cfg_target_add(c, T1, &t, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cfg_set(c, bad[i].s, bad[i].s == CFG_SECT_TARGET ? T1 : NULL,
				 bad[i].key, bad[i].value, &err);
		assert_int_equal(rc, bad[i].rc);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s=%s: '%s' lacks '%s'", bad[i].key,
				 bad[i].value, err.msg, bad[i].msg);
	}
	/* Nothing changed. */
	assert_int_equal(c->discovery.interval, 300);
	assert_int_equal(t->max_connections, CFG_MAXCONN_DEFAULT);
	assert_null(t->alias);

	char big[300];
	memset(big, 'x', 256);
	big[256] = '\0';
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "alias", big, &err),
			 -EINVAL);
	big[255] = '\0';
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "alias", big, &err), 0);

	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, "iqn.2001-04.com.example:x",
				 "alias", "a", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not configured"));
	char buf[8];
	assert_int_equal(cfg_get(c, CFG_SECT_TARGET, T1, "nope", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(cfg_get(c, CFG_SECT_TARGET, T1, "alias", buf, sizeof(buf)),
			 -ENOSPC);
}

static void test_validate(void **state)
{
	struct cfg *c = *state;
	struct cfg_target *t;
	struct cfg_error err;

	assert_int_equal(cfg_target_add(c, T1, &t, &err), 0);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "authentication",
				 "CHAP", &err), 0);
	assert_int_equal(cfg_validate(c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "mutual"));
	assert_non_null(strstr(err.msg, T1));
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "authentication",
				 "chap", &err), 0);
	assert_int_equal(cfg_validate(c, &err), 0);

	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "authentication",
				 "CHAP", &err), 0);
	assert_int_equal(cfg_validate(c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "[discovery]"));
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "node-name",
				 "iqn.2026-11.org.mcsi:h", &err), 0);
	assert_int_equal(cfg_validate(c, &err), 0);
}

/* iSNS servers: port 3205 unless given, no interface, in the file as
 * isns-server lines; isns = enable|disable. */
static void test_isns(void **state)
{
	struct cfg *c = *state;
	struct cfg_error err;
	struct cfg_portals *ps = &c->discovery.isns_servers;
	char buf[80];

	get_eq(c, CFG_SECT_DISCOVERY, NULL, "isns", "disable");
	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "isns", "enable",
				 &err), 0);
	assert_true(c->discovery.isns);
	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "isns", "maybe",
				 &err), -EINVAL);
	/* Not a plain key: servers are added and removed. */
	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "isns-server",
				 "192.0.2.1", &err), -ENOENT);
	assert_int_equal(cfg_server_add(ps, "192.0.2.1", CFG_ISNS_PORT, &err), 0);
	assert_int_equal(ps->v[0].port, 3205);
	assert_int_equal(cfg_server_add(ps, "192.0.2.1:3205", CFG_ISNS_PORT, &err),
			 -EEXIST);
	assert_non_null(strstr(err.msg, "already"));
	assert_int_equal(cfg_server_add(ps, "[2001:db8::5]:4000", CFG_ISNS_PORT,
					&err), 0);
	assert_int_equal(cfg_server_add(ps, "192.0.2.2 interface=eth0",
					CFG_ISNS_PORT, &err), -EINVAL);
	assert_int_equal(cfg_server_add(ps, "2001:db8::5", CFG_ISNS_PORT, &err),
			 -EINVAL);
	assert_int_equal(ps->n, 2);
	assert_int_equal(cfg_portal_format(&ps->v[1], buf, sizeof(buf)), 18);
	assert_string_equal(buf, "[2001:db8::5]:4000");
	/* Removal uses the same default port. */
	assert_int_equal(cfg_server_remove(ps, "192.0.2.1:3260", CFG_ISNS_PORT,
					   &err), -ENOENT);
	assert_int_equal(cfg_server_remove(ps, "192.0.2.1", CFG_ISNS_PORT, &err), 1);
	assert_int_equal(cfg_server_remove(ps, "::1", CFG_ISNS_PORT, &err), -EINVAL);
	assert_int_equal(ps->n, 1);
	/* The discovery portals are apart and keep 3260. */
	assert_int_equal(c->discovery.portals.n, 0);

	/* The file's key parses with the same rules. */
	struct cfg *f;
	static const char text[] =
		"[discovery]\nisns = enable\nisns-server = isns.example\n"
		"isns-server = 192.0.2.9:1234\n";
	assert_int_equal(cfg_parse(text, sizeof(text) - 1, "t", &f, &err), 0);
	assert_true(f->discovery.isns);
	assert_int_equal(f->discovery.isns_servers.n, 2);
	assert_int_equal(f->discovery.isns_servers.v[0].port, 3205);
	assert_int_equal(f->discovery.isns_servers.v[1].port, 1234);
	cfg_destroy(f);
	static const char bad[] = "[discovery]\nisns-server = h interface=eth0\n";
	assert_int_equal(cfg_parse(bad, sizeof(bad) - 1, "t", &f, &err), -EINVAL);
	assert_int_equal(err.line, 2);
}

static void test_key_names(void **state)
{
	(void)state;
	assert_string_equal(cfg_key_name(CFG_SECT_INITIATOR, 0), "node-name");
	assert_string_equal(cfg_key_name(CFG_SECT_INITIATOR, 4), "quirks");
	assert_null(cfg_key_name(CFG_SECT_INITIATOR, 5));
	assert_null(cfg_key_name(CFG_SECT_INITIATOR, 400));
	size_t n = 0;
	while (cfg_key_name(CFG_SECT_TARGET, n))
		n++;
	assert_int_equal(n, 17);
	assert_null(cfg_key_name((enum cfg_section)7, 0));
	/* MC/S scheduling: the session library's policy names. */
	assert_string_equal(cfg_sched_name(CFG_SCHED_ADAPTIVE), "adaptive");
	assert_string_equal(cfg_sched_name(CFG_SCHED_FAILOVER), "failover-only");
	struct cfg *f = NULL;
	struct cfg_error err;
	static const char text[] = "[target \"iqn.2026-11.org.example:t\"]\nscheduling = Round-Robin\n";
	assert_int_equal(cfg_parse(text, sizeof(text) - 1, "t", &f, &err), 0);
	assert_int_equal(f->targets[0].sched, CFG_SCHED_ROUND_ROBIN);
	cfg_destroy(f);
	static const char bad[] = "[target \"iqn.2026-11.org.example:t\"]\nscheduling = random\n";
	assert_int_equal(cfg_parse(bad, sizeof(bad) - 1, "t", &f, &err), -EINVAL);
	assert_string_equal(cfg_digest_offer(CFG_DIGEST_NONE), "None");
	assert_string_equal(cfg_digest_offer(CFG_DIGEST_CRC32C), "CRC32C");
	assert_string_equal(cfg_digest_offer(CFG_DIGEST_PREFER_NONE),
			    "None,CRC32C");
}

/* quirks: per target, defaulting to [initiator]'s, defaulting to on;
 * only what is set is written, and it reads back. */
static void test_quirks(void **state)
{
	struct cfg *c = *state;
	struct cfg_target *t, *u;
	struct cfg_error err;

	assert_int_equal(cfg_target_add(c, T1, &t, &err), 0);
	assert_int_equal(t->quirks, CFG_QUIRKS_UNSET);
	assert_false(cfg_quirks_off(c, t));
	assert_false(cfg_quirks_off(c, NULL));
	get_eq(c, CFG_SECT_TARGET, T1, "quirks", "");
	get_eq(c, CFG_SECT_INITIATOR, NULL, "quirks", "");
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "quirks", "OFF", &err), 0);
	assert_true(cfg_quirks_off(c, t));
	get_eq(c, CFG_SECT_TARGET, T1, "quirks", "off");
	/* The global default: off for every target that does not say. */
	assert_int_equal(cfg_target_add(c, "iqn.2001-04.com.example:disk2", &u, &err), 0);
	assert_false(cfg_quirks_off(c, u));
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "quirks", "off", &err), 0);
	assert_true(cfg_quirks_off(c, u));
	assert_true(cfg_quirks_off(c, NULL));
	/* A target's own on wins; an empty value goes back to the default. */
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "quirks", "on", &err), 0);
	assert_false(cfg_quirks_off(c, t));
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, T1, "quirks", "", &err), 0);
	assert_int_equal(t->quirks, CFG_QUIRKS_UNSET);
	assert_true(cfg_quirks_off(c, t));
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "quirks", "on", &err), 0);
	assert_false(cfg_quirks_off(c, t));

	static const char text[] =
		"[initiator]\nnode-name = iqn.2026-11.org.mcsi:h\nquirks = off\n"
		"[target \"iqn.2026-11.org.example:a\"]\nquirks = On\n"
		"[target \"iqn.2026-11.org.example:b\"]\nalias = b\n";
	struct cfg *f = NULL, *back = NULL;
	assert_int_equal(cfg_parse(text, sizeof(text) - 1, "t", &f, &err), 0);
	assert_false(cfg_quirks_off(f, &f->targets[0]));
	assert_true(cfg_quirks_off(f, &f->targets[1]));
	char *out;
	size_t len;
	assert_int_equal(cfg_format(f, &out, &len), 0);
	const char *a = strstr(out, "quirks = off\n"), *b = strstr(out, "quirks = on\n");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < strstr(out, "[discovery]"));   /* in [initiator] */
	assert_true(b > strstr(out, "example:a"));
	assert_null(strstr(b + 1, "quirks"));            /* target b: unset, left out */
	assert_int_equal(cfg_parse(out, len, "t", &back, &err), 0);
	assert_int_equal(back->initiator.quirks, CFG_QUIRKS_OFF);
	assert_int_equal(back->targets[0].quirks, CFG_QUIRKS_ON);
	assert_int_equal(back->targets[1].quirks, CFG_QUIRKS_UNSET);
	free(out);
	cfg_destroy(back);
	cfg_destroy(f);
	static const char bad[] = "[target \"iqn.2026-11.org.example:t\"]\nquirks = yes\n";
	assert_int_equal(cfg_parse(bad, sizeof(bad) - 1, "t", &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "on or off"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults), T(test_targets), T(test_portals),
		T(test_set_get), T(test_set_errors), T(test_validate),
		T(test_key_names), T(test_isns), T(test_quirks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
