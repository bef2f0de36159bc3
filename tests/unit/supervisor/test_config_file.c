/* SPDX-License-Identifier: MIT */
/* mcsi.conf: parsing with line-numbered errors, writing, atomic save,
 * first-run node name. Works in a mkdtemp() directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/url.h"
#include "supervisor/config.h"

struct fixture {
	char dir[64];
	char path[128];
};

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	struct stat st;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/mcsi-config-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/mcsi.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rm_tree(f->dir);
	free(f);
	return 0;
}

static void put_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static char *get_file(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static struct cfg *parse_ok(const char *text)
{
	struct cfg *c = NULL;
	struct cfg_error err = { 0, "" };
	if (cfg_parse(text, strlen(text), "t.conf", &c, &err) != 0)
		fail_msg("parse failed: %s", err.msg);
	return c;
}

static const char example[] =
	"# Site configuration for host web-01.\n"
	"# Managed by hand and by iscsictl.\n"
	"\n"
	"[initiator]\n"
	"node-name = iqn.2026-11.org.mcsi:web-01-1a2b3c4d\n"
	"node-alias = \"Web server #1\"\n"
	"authentication = CHAP\n"
	"chap-name = web-01\n"
	"\n"
	"[discovery]\n"
	"sendtargets = enable\n"
	"interval = 600   # ten minutes\n"
	"portal = 192.0.2.10\n"
	"portal = [2001:db8::10]:3260\n"
	"\n"
	"[target \"iqn.2001-04.com.example:storage.disk1\"]\n"
	"alias = Database LUNs\n"
	"config-type = static\n"
	"portal = 192.0.2.10:3260 interface=eth1\n"
	"portal = 192.0.2.11:3260 interface=eth2\n"
	"auto-login = yes\n"
	"persistent = yes\n"
	"max-connections = 2\n"
	"error-recovery-level = 2\n"
	"header-digest = CRC32C\n"
	"data-digest = prefer-None\n"
	"authentication = CHAP\n"
	"chap-name = iqn.2001-04.com.example:storage\n"
	"\n"
	"[target \"eui.02004567A425678D\"]\n"
	"config-type = discovered\n"
	"portal = san.example.com\n";

static void test_parse_example(void **state)
{
	(void)state;
	struct cfg *c = parse_ok(example);

	assert_string_equal(c->initiator.node_name,
			    "iqn.2026-11.org.mcsi:web-01-1a2b3c4d");
	assert_string_equal(c->initiator.alias, "Web server #1");
	assert_int_equal(c->initiator.auth, CFG_AUTH_CHAP);
	assert_string_equal(c->initiator.chap_name, "web-01");
	assert_true(c->discovery.sendtargets);
	assert_int_equal(c->discovery.interval, 600);
	assert_int_equal(c->discovery.portals.n, 2);
	assert_string_equal(c->discovery.portals.v[1].host, "2001:db8::10");
	assert_int_equal(c->n_targets, 2);

	const struct cfg_target *t = &c->targets[0];
	assert_string_equal(t->name, "iqn.2001-04.com.example:storage.disk1");
	assert_int_equal(t->line, 16);
	assert_string_equal(t->alias, "Database LUNs");
	assert_int_equal(t->portals.n, 2);
	assert_string_equal(t->portals.v[0].iface, "eth1");
	assert_true(t->auto_login && t->persistent);
	assert_int_equal(t->max_connections, 2);
	assert_int_equal(t->erl, 2);
	assert_int_equal(t->header_digest, CFG_DIGEST_CRC32C);
	assert_int_equal(t->data_digest, CFG_DIGEST_PREFER_NONE);
	assert_int_equal(t->auth, CFG_AUTH_CHAP);

	t = &c->targets[1];
	assert_string_equal(t->name, "eui.02004567a425678d");
	assert_int_equal(t->origin, CFG_ORIGIN_DISCOVERED);
	assert_int_equal(t->portals.v[0].port, 3260);
	assert_string_equal(c->header, "# Site configuration for host web-01.\n"
			    "# Managed by hand and by iscsictl.\n");
	cfg_destroy(c);
}

static void test_errors_have_lines(void **state)
{
	(void)state;
	static const struct { const char *text; unsigned line; const char *msg; }
	bad[] = {
		{ "node-name = iqn.2001-04.com.x\n", 1, "outside of any section" },
		{ "[initiator]\n\n# c\nnode-nam = x\n", 4,
		  "unknown key 'node-nam' in [initiator] (known: node-name, "
		  "node-alias, authentication, chap-name, quirks)" },
		{ "[initiator]\n[iniator]\n", 2, "unknown section [iniator]" },
		{ "[initiator \"x\"]\n", 1, "takes no name" },
		{ "[target]\n", 1, "needs the target name" },
		{ "[initiator]\n[discovery]\n[initiator]\n", 3,
		  "duplicate section [initiator] (first on line 1)" },
		{ "[discovery]\ninterval = 60\n\ninterval = 90\n", 4,
		  "duplicate key 'interval' (first on line 2)" },
		{ "[discovery]\ninterval = 5\n", 2, "interval = '5': expected a "
		  "number in 30..32767" },
		{ "[discovery]\nportal = 192.0.2.1\nportal = 192.0.2.1:3260\n", 3,
		  "duplicate portal" },
		{ "[discovery]\nportal = 192.0.2.1 iface=eth0\n", 2,
		  "expected interface=NAME" },
		{ "[target \"iqn.2001-04.com.example:a\"]\nportal = fe80::1\n", 2,
		  "brackets" },
		{ "[target \"iqn.2001-04.com.example:a\"]\n"
		  "[target \"IQN.2001-04.com.example:A\"]\n", 2,
		  "duplicate section [target \"iqn.2001-04.com.example:a\"] "
		  "(first on line 1)" },
		{ "[target \"iqn.2001-04.com.example:a\"]\nauto-login = sure\n", 2,
		  "auto-login = 'sure': expected no or yes" },
		{ "[target \"iqn.2001-04.com.example:a\"]\nalias \"x\" = y\n", 2,
		  "unexpected quoted text" },
		{ "[initiator]\nnode-alias = \"unterminated\n", 2,
		  "missing closing quote" },
		{ "[initiator]\nnode-alias = \"bad \\q escape\"\n", 2,
		  "unknown escape" },
		{ "[initiator]\nnode-alias = \"a\\x00b\"\n", 2, "NUL byte" },
		{ "[initiator]\r\nnode-alias = \"a\\nb\"\r\n", 2, "control" },
		/* Mutual CHAP without initiator CHAP: located at the target. */
		{ "[initiator]\n\n[target \"iqn.2001-04.com.example:a\"]\n"
		  "authentication = CHAP\n", 3, "needs [initiator] "
		  "authentication = CHAP" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg *c = (struct cfg *)0x1;
		struct cfg_error err = { 0, "" };
		int rc = cfg_parse(bad[i].text, strlen(bad[i].text), "t.conf", &c,
				   &err);
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(err.line, bad[i].line);
		char where[32];
		snprintf(where, sizeof(where), "t.conf:%u: ", bad[i].line);
		if (strncmp(err.msg, where, strlen(where)) ||
		    !strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s%s'", i, err.msg, where,
				 bad[i].msg);
		assert_ptr_equal(c, (struct cfg *)0x1);  /* untouched */
	}
}

/* Target names are quoted in the file; escapes decode before the name is
 * checked, and whatever is refused is shown escaped, never raw. */
static void test_weird_target_names(void **state)
{
	(void)state;
	struct cfg *c = parse_ok(
		"[target \"IQN.2001-04.COM.Example:A.B-C::D\"]\n"
		"[target \"iqn.2001-04.com.example:\\x41\\x62\"]\n"
		"[target   \"naa.52004567BA64678D\"  ]   # spaced\n");
	assert_string_equal(c->targets[0].name,
			    "iqn.2001-04.com.example:a.b-c::d");
	assert_string_equal(c->targets[1].name, "iqn.2001-04.com.example:ab");
	assert_string_equal(c->targets[2].name, "naa.52004567ba64678d");
	cfg_destroy(c);

	static const struct { const char *text, *msg; } bad[] = {
		{ "[target \"iqn.2001-04.com.example:a\\\"b\"]\n",
		  "invalid target name \"iqn.2001-04.com.example:a\"b\"" },
		{ "[target \"iqn.2001-04.com.example:a\\nb\"]\n",
		  "invalid target name \"iqn.2001-04.com.example:a\\x0ab\"" },
		{ "[target \"iqn.2001-04.com.example:a]b\"]\n", "may contain only" },
		{ "[target \"iqn.2001-04.com.example:\xc3\xa9\"]\n", "non-ASCII" },
		{ "[target \"\"]\n", "empty iSCSI name" },
		{ "[target \"iqn.2001-04.com.example:a\\x00\"]\n", "may contain" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg_error err = { 0, "" };
		assert_int_equal(cfg_parse(bad[i].text, strlen(bad[i].text), NULL,
					   &c, &err), -EINVAL);
		assert_int_equal(err.line, 1);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s' lacks '%s'", err.msg, bad[i].msg);
		for (const char *p = err.msg; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
}

static char *format(const struct cfg *c)
{
	char *out;
	size_t len;
	assert_int_equal(cfg_format(c, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_format_golden(void **state)
{
	(void)state;
	struct cfg *c;
	struct cfg_target *t;
	struct cfg_error err;

	assert_int_equal(cfg_create(&c), 0);
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "node-name",
				 "iqn.2026-11.org.mcsi:h-00000000", &err), 0);
	assert_int_equal(cfg_set(c, CFG_SECT_INITIATOR, NULL, "node-alias",
				 " \"Q\" \\ #1 ", &err), 0);
	assert_int_equal(cfg_target_add(c, "iqn.2001-04.com.example:d", &t, &err),
			 0);
	assert_int_equal(cfg_portal_add(&t->portals, "[fe80::1%25eth0]", "eth0",
					&err), 0);
	assert_int_equal(cfg_server_add(&c->discovery.isns_servers, "iSNS.example",
					CFG_ISNS_PORT, &err), 0);
	char *out = format(c);
	assert_string_equal(out,
		"# mcsi configuration: read by mcsid, changed by iscsictl, fine to\n"
		"# edit by hand. Format and keys: docs/config.md. CHAP secrets are\n"
		"# never kept here but in the secrets file next to it (mode 0600).\n"
		"\n[initiator]\n"
		"node-name = iqn.2026-11.org.mcsi:h-00000000\n"
		"node-alias = \" \\\"Q\\\" \\\\ #1 \"\n"
		"authentication = None\n"
		"\n[discovery]\n"
		"sendtargets = disable\n"
		"interval = 300\n"
		"authentication = None\n"
		"isns = disable\n"
		"isns-server = isns.example:3205\n"
		"\n[target \"iqn.2001-04.com.example:d\"]\n"
		"config-type = static\n"
		"portal = [fe80::1%eth0]:3260 interface=eth0\n"
		"auto-login = no\n"
		"persistent = no\n"
		"auto-mount = no\n"
		"max-connections = 1\n"
		"scheduling = adaptive\n"
		"error-recovery-level = 2\n"
		"replacement-timeout = 120\n"
		"default-time2wait = 0\n"
		"default-time2retain = 0\n"
		"header-digest = None\n"
		"data-digest = None\n"
		"authentication = None\n");
	/* And it reads back to the same text. */
	struct cfg *back = parse_ok(out);
	char *again = format(back);
	assert_string_equal(again, out);
	assert_string_equal(back->initiator.alias, " \"Q\" \\ #1 ");
	free(again);
	free(out);
	cfg_destroy(back);
	cfg_destroy(c);
}

static void test_roundtrip_files(void **state)
{
	struct fixture *f = *state;
	struct cfg *c;
	struct cfg_target *t;
	struct cfg_error err;
	struct stat st;

	put_file(f->path, example);
	assert_int_equal(cfg_load(f->path, &c, &err), 0);

	/* Modify: what iscsictl's verbs do. */
	assert_int_equal(cfg_target_add(c, "iqn.2001-04.com.example:new", &t,
					&err), 0);
	assert_int_equal(cfg_portal_add(&t->portals, "192.0.2.20:3261", NULL,
					&err), 0);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, "iqn.2001-04.com.example:new",
				 "alias", "caf\xc3\xa9 \"new\"", &err), 0);
	assert_int_equal(cfg_target_remove(c, "EUI.02004567a425678d"), 0);
	t = cfg_target_find(c, "iqn.2001-04.com.example:storage.disk1");
	assert_int_equal(cfg_portal_remove(&t->portals, "192.0.2.11", NULL, &err),
			 1);
	assert_int_equal(cfg_portal_add(&c->discovery.portals, "192.0.2.99", NULL,
					&err), 0);
	assert_int_equal(cfg_set(c, CFG_SECT_DISCOVERY, NULL, "interval", "30",
				 &err), 0);

	mode_t old = umask(077);
	assert_int_equal(cfg_save(c, f->path, &err), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	char *saved = format(c);
	cfg_destroy(c);

	char *text = get_file(f->path);
	assert_string_equal(text, saved);
	/* The header comment survives; the data follow it. */
	assert_int_equal(strncmp(text, "# Site configuration for host web-01.\n"
				 "# Managed by hand and by iscsictl.\n\n"
				 "[initiator]\n", 86), 0);

	assert_int_equal(cfg_load(f->path, &c, &err), 0);
	char *reloaded = format(c);
	assert_string_equal(reloaded, saved);
	assert_int_equal(c->n_targets, 2);
	assert_int_equal(c->discovery.interval, 30);
	assert_int_equal(c->discovery.portals.n, 3);
	t = cfg_target_find(c, "iqn.2001-04.com.example:new");
	assert_non_null(t);
	assert_string_equal(t->alias, "caf\xc3\xa9 \"new\"");
	assert_int_equal(t->portals.v[0].port, 3261);
	free(reloaded);
	free(saved);
	cfg_destroy(c);
}

static void test_save_refuses_invalid(void **state)
{
	struct fixture *f = *state;
	struct cfg *c;
	struct cfg_target *t;
	struct cfg_error err;

	assert_int_equal(cfg_create(&c), 0);
	assert_int_equal(cfg_target_add(c, "iqn.2001-04.com.example:a", &t, &err),
			 0);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, t->name, "authentication",
				 "CHAP", &err), 0);
	assert_int_equal(cfg_save(c, f->path, &err), -EINVAL);
	assert_int_equal(access(f->path, F_OK), -1);
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/no/such/dir/mcsi.conf", f->dir);
	assert_int_equal(cfg_set(c, CFG_SECT_TARGET, t->name, "authentication",
				 "None", &err), 0);
	assert_int_equal(cfg_save(c, bad, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot save"));
	cfg_destroy(c);
}

static void test_load_errors(void **state)
{
	struct fixture *f = *state;
	struct cfg *c;
	struct cfg_error err;

	assert_int_equal(cfg_load(f->path, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, f->path));
	assert_int_equal(cfg_load(f->dir, &c, &err), -EINVAL);

	put_file(f->path, "[initiator]\nnode-name = iqn.x\n");
	assert_int_equal(cfg_load(f->path, &c, &err), -EINVAL);
	char want[200];
	snprintf(want, sizeof(want), "%s:2: node-name = 'iqn.x': ", f->path);
	assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);

	FILE *fp = fopen(f->path, "w");
	for (unsigned i = 0; i < CFG_MAX_FILE / 15 + 1; i++)
		fputs("# padding line\n", fp);
	fclose(fp);
	assert_int_equal(cfg_load(f->path, &c, &err), -EFBIG);
}

static void test_open_generates_and_persists(void **state)
{
	struct fixture *f = *state;
	struct cfg *c;
	struct cfg_error err;
	struct stat st;
	bool gen = false;
	char path[160], name[URL_NAME_MAX + 1], norm[URL_NAME_MAX + 1];
	const char *why;

	/* First run: /etc/mcsi does not exist yet either. */
	snprintf(path, sizeof(path), "%s/etc-mcsi/mcsi.conf", f->dir);
	assert_int_equal(cfg_open(path, &c, &gen, &err), 0);
	assert_true(gen);
	assert_non_null(c->initiator.node_name);
	assert_int_equal(strncmp(c->initiator.node_name, CFG_NODE_NAME_PREFIX,
				 strlen(CFG_NODE_NAME_PREFIX)), 0);
	assert_int_equal(url_name_normalize(c->initiator.node_name,
					    strlen(c->initiator.node_name), norm,
					    &why), 0);
	assert_string_equal(norm, c->initiator.node_name);
	strcpy(name, c->initiator.node_name);
	cfg_destroy(c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* Second run: the same name, nothing written. */
	assert_int_equal(cfg_open(path, &c, &gen, &err), 0);
	assert_false(gen);
	assert_string_equal(c->initiator.node_name, name);
	cfg_destroy(c);

	/* An existing file without a node name gets one, keeps the rest. */
	put_file(f->path, "# mine\n[discovery]\ninterval = 45\n");
	assert_int_equal(cfg_open(f->path, &c, &gen, &err), 0);
	assert_true(gen);
	cfg_destroy(c);
	assert_non_null(strstr(get_file(f->path), "# mine\n"));
	assert_non_null(strstr(get_file(f->path), "interval = 45\n"));
	assert_non_null(strstr(get_file(f->path), "node-name = iqn.2026-11."));

	/* A broken file is reported, not overwritten. */
	put_file(f->path, "[initiator]\nbogus = 1\n");
	assert_int_equal(cfg_open(f->path, &c, &gen, &err), -EINVAL);
	assert_string_equal(get_file(f->path), "[initiator]\nbogus = 1\n");
}

static void test_node_name_format(void **state)
{
	(void)state;
	static const uint8_t rnd[4] = { 0x0a, 0x1b, 0x2c, 0x3d };
	char buf[URL_NAME_MAX + 1], norm[URL_NAME_MAX + 1];
	const char *why;

	assert_int_equal(cfg_format_node_name(buf, sizeof(buf),
					      "Web-01.example.com", rnd), 0);
	assert_string_equal(buf, "iqn.2026-11.org.mcsi:web-01-0a1b2c3d");
	assert_int_equal(cfg_format_node_name(buf, sizeof(buf), "", rnd), 0);
	assert_string_equal(buf, "iqn.2026-11.org.mcsi:host-0a1b2c3d");
	assert_int_equal(cfg_format_node_name(buf, sizeof(buf), "my_box\xc3\xa9",
					      rnd), 0);
	assert_string_equal(buf, "iqn.2026-11.org.mcsi:my-box---0a1b2c3d");
	char longhost[200];
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	assert_int_equal(cfg_format_node_name(buf, sizeof(buf), longhost, rnd), 0);
	assert_int_equal(strlen(buf), strlen(CFG_NODE_NAME_PREFIX) + 64 + 9);
	assert_int_equal(url_name_normalize(buf, strlen(buf), norm, &why), 0);
	assert_int_equal(cfg_format_node_name(buf, 20, "h", rnd), -ENOSPC);
}

static void test_path_choice(void **state)
{
	(void)state;
	unsetenv(CFG_ENV_PATH);
	assert_string_equal(cfg_path(NULL), CFG_DEFAULT_PATH);
	setenv(CFG_ENV_PATH, "", 1);
	assert_string_equal(cfg_path(NULL), CFG_DEFAULT_PATH);
	setenv(CFG_ENV_PATH, "/x/env.conf", 1);
	assert_string_equal(cfg_path(NULL), "/x/env.conf");
	assert_string_equal(cfg_path("/y/opt.conf"), "/y/opt.conf");
	unsetenv(CFG_ENV_PATH);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_parse_example), T(test_errors_have_lines),
		T(test_weird_target_names), T(test_format_golden),
		T(test_roundtrip_files), T(test_save_refuses_invalid),
		T(test_load_errors), T(test_open_generates_and_persists),
		T(test_node_name_format), T(test_path_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
