/* SPDX-License-Identifier: MIT */
/* iscsictl's configuration verbs: add, remove, modify, list (config). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "proto/url.h"
#include "tools/iscsictl/ctx.h"
#include "tools/iscsictl/out.h"

/* -Option → file key, and the sections where it is valid. */
struct opt_map {
	const char *opt, *key;
	unsigned sections;   /* 1 << enum cfg_section */
};

#define S_I (1u << CFG_SECT_INITIATOR)
#define S_D (1u << CFG_SECT_DISCOVERY)
#define S_T (1u << CFG_SECT_TARGET)

static const struct opt_map opt_map[] = {
	{ "-node-name", "node-name", S_I },
	{ "-node-alias", "node-alias", S_I },
	{ "-authentication", "authentication", S_I | S_D | S_T },
	{ "-CHAP-name", "chap-name", S_I | S_D | S_T },
	{ "-SendTargets", "sendtargets", S_D },
	{ "-iSNS", "isns", S_D },
	{ "-interval", "interval", S_D },
	{ "-auto-login", "auto-login", S_T },
	{ "-persistent", "persistent", S_T },
	{ "-auto-mount", "auto-mount", S_T },
	{ "-MaxConnections", "max-connections", S_T },
	{ "-Scheduling", "scheduling", S_T },
	{ "-ErrorRecoveryLevel", "error-recovery-level", S_T },
	{ "-ReplacementTimeout", "replacement-timeout", S_T },
	{ "-Quirks", "quirks", S_I | S_T },
	{ "-HeaderDigest", "header-digest", S_T },
	{ "-DataDigest", "data-digest", S_T },
	{ "-alias", "alias", S_T },
};

static const char *section_verb(enum cfg_section s)
{
	return s == CFG_SECT_INITIATOR ? "initiator-config"
	       : s == CFG_SECT_DISCOVERY ? "discovery-config" : "target-config";
}

/* macOS spells booleans enable/disable; the file says yes/no for some
 * keys and enable/disable for others. Accept both everywhere. */
static const char *bool_value(const char *key, const char *v)
{
	bool enable_key = strcmp(key, "sendtargets") == 0 || strcmp(key, "isns") == 0;
	bool yes_key = strcmp(key, "auto-login") == 0 || strcmp(key, "persistent") == 0 ||
		       strcmp(key, "auto-mount") == 0;
	if (yes_key && strcmp(v, "enable") == 0)
		return "yes";
	if (yes_key && strcmp(v, "disable") == 0)
		return "no";
	if (enable_key && strcmp(v, "yes") == 0)
		return "enable";
	if (enable_key && strcmp(v, "no") == 0)
		return "disable";
	/* Digests may be written as the offer list they stand for. */
	if (strcasecmp(v, "CRC32C,None") == 0)
		return "prefer-CRC32C";
	if (strcasecmp(v, "None,CRC32C") == 0)
		return "prefer-None";
	return v;
}

static enum secret_scope secret_scope_of(enum cfg_section s)
{
	return s == CFG_SECT_INITIATOR ? SECRET_INITIATOR
	       : s == CFG_SECT_DISCOVERY ? SECRET_DISCOVERY : SECRET_TARGET;
}

/* -CHAP-secret: from the terminal (no echo, asked twice), from standard
 * input, or, only when explicitly asked for, from the next argument. */
static int read_secret(struct ictx *x, enum cfg_section s, const char *target,
		       const char *argv_value)
{
	size_t cap = SECRET_MAX + 1, len = 0;
	char *buf = secrets_mem_alloc(cap);
	const char *why = NULL;
	int rc;

	if (!buf)
		return -ENOMEM;
	if (argv_value) {
		len = strlen(argv_value);
		rc = secrets_check_length(len, &why);
		if (rc > 0)
			rc = 0;   /* a warning (short secret), kept in why */
		if (rc == 0)
			memcpy(buf, argv_value, len);
		fprintf(stderr, "iscsictl: warning: a secret on the command line "
				"is visible to other users in ps(1)\n");
	} else {
		bool tty = isatty(STDIN_FILENO);
		rc = secrets_read(STDIN_FILENO, tty ? STDERR_FILENO : -1,
				  "CHAP secret: ", tty, buf, cap, &len, &why);
	}
	if (rc == 0 && why)
		fprintf(stderr, "iscsictl: warning: %s\n", why);
	if (rc) {
		fprintf(stderr, "iscsictl: CHAP secret: %s\n", why ? why : strerror(-rc));
	} else {
		rc = ictx_secrets(x);
		if (rc == 0)
			rc = secrets_set(x->sec, secret_scope_of(s), target, buf, len);
		if (rc == 0)
			rc = ictx_save_secrets(x);
	}
	secrets_mem_free(buf, cap);
	return rc;
}

static int modify(struct ictx *x, enum cfg_section s, const char *target,
		  int argc, char **argv)
{
	struct cfg_error err = { 0 };
	bool changed = false;

	if (argc == 0) {
		ctl_usage_error("modify", "nothing to modify");
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-CHAP-secret") == 0) {
			const char *v = NULL;
			if (i + 2 < argc + 1 && i + 1 < argc &&
			    strcmp(argv[i + 1], "--insecure-secret-argument") == 0) {
				if (i + 2 >= argc) {
					ctl_usage_error("modify", "--insecure-secret-argument needs a value");
					return EXIT_USAGE;
				}
				v = argv[i + 2];
				i += 2;
			} else if (i + 1 < argc && argv[i + 1][0] != '-') {
				ctl_usage_error("modify", "-CHAP-secret takes no value on the command "
						"line (it would show in ps); it is read from the terminal "
						"or standard input");
				return EXIT_USAGE;
			}
			if (read_secret(x, s, target, v))
				return EXIT_FAIL;
			continue;
		}
		const struct opt_map *m = NULL;
		for (size_t j = 0; j < sizeof(opt_map) / sizeof(opt_map[0]); j++)
			if (strcmp(opt_map[j].opt, argv[i]) == 0)
				m = &opt_map[j];
		if (!m || !(m->sections & (1u << s))) {
			ctl_usage_error("modify", "%s is not an option of %s", argv[i],
					section_verb(s));
			return EXIT_USAGE;
		}
		if (i + 1 >= argc) {
			ctl_usage_error("modify", "%s needs a value", argv[i]);
			return EXIT_USAGE;
		}
		const char *v = bool_value(m->key, argv[++i]);
		if (cfg_set(x->cfg, s, target, m->key, v, &err)) {
			fprintf(stderr, "iscsictl: %s\n", err.msg);
			return EXIT_FAIL;
		}
		changed = true;
	}
	if (changed && ictx_save_cfg(x))
		return EXIT_FAIL;
	return EXIT_OK;
}

int cmd_modify(const struct ctl_opts *o, int argc, char **argv)
{
	struct ictx x;
	enum cfg_section s;
	const char *target = NULL;
	int first = 1;

	if (argc < 1) {
		ctl_usage_error("modify", "modify what?");
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "initiator-config") == 0) {
		s = CFG_SECT_INITIATOR;
	} else if (strcmp(argv[0], "discovery-config") == 0) {
		s = CFG_SECT_DISCOVERY;
	} else if (strcmp(argv[0], "target-config") == 0) {
		s = CFG_SECT_TARGET;
		if (argc < 2 || argv[1][0] == '-') {
			ctl_usage_error("modify", "target-config needs the target's name");
			return EXIT_USAGE;
		}
		target = argv[1];
		first = 2;
	} else {
		ctl_usage_error("modify", "cannot modify '%s'", argv[0]);
		return EXIT_USAGE;
	}
	if (ictx_open(&x, o))
		return EXIT_FAIL;
	char name[URL_NAME_MAX + 1];
	const char *why;
	if (target) {
		if (url_name_normalize(target, strlen(target), name, &why)) {
			fprintf(stderr, "iscsictl: '%s': %s\n", target, why);
			ictx_close(&x);
			return EXIT_USAGE;
		}
		if (!cfg_target_find(x.cfg, name)) {
			fprintf(stderr, "iscsictl: no target %s in %s (add it first)\n",
				name, x.cfg_path);
			ictx_close(&x);
			return EXIT_FAIL;
		}
		target = name;
	}
	int rc = modify(&x, s, target, argc - first, argv + first);
	ictx_close(&x);
	return rc;
}

int cmd_add(const struct ctl_opts *o, int argc, char **argv)
{
	struct ictx x;
	struct cfg_error err = { 0 };
	const char *why;
	int rc = EXIT_FAIL;

	if (argc != 2) {
		ctl_usage_error("add", "add target <iqn>,<portal> | add discovery-portal <portal> | "
				"add discovery-isns <host>[:port]");
		return EXIT_USAGE;
	}
	if (ictx_open(&x, o))
		return EXIT_FAIL;
	if (strcmp(argv[0], "target") == 0) {
		struct url_target t;
		if (url_parse_target(argv[1], strlen(argv[1]), &t, &why)) {
			fprintf(stderr, "iscsictl: '%s': %s\n", argv[1], why);
			rc = EXIT_USAGE;
		} else if (!t.has_portal) {
			ctl_usage_error("add", "a static target needs a portal: <iqn>,<host>[:port]");
			rc = EXIT_USAGE;
		} else {
			struct cfg_target *ct = cfg_target_find(x.cfg, t.name);
			char portal[URL_PORTAL_STRMAX];
			url_format_portal(&t.portal, portal, sizeof(portal));
			if (!ct && cfg_target_add(x.cfg, t.name, &ct, &err))
				fprintf(stderr, "iscsictl: %s\n", err.msg);
			else if (cfg_portal_add(&ct->portals, portal, NULL, &err))
				fprintf(stderr, "iscsictl: %s\n", err.msg);
			else if (ictx_save_cfg(&x) == 0)
				rc = EXIT_OK;
		}
	} else if (strcmp(argv[0], "discovery-portal") == 0) {
		if (cfg_portal_add(&x.cfg->discovery.portals, argv[1], NULL, &err))
			fprintf(stderr, "iscsictl: %s\n", err.msg);
		else if (ictx_save_cfg(&x) == 0)
			rc = EXIT_OK;
	} else if (strcmp(argv[0], "discovery-isns") == 0) {
		if (cfg_server_add(&x.cfg->discovery.isns_servers, argv[1], CFG_ISNS_PORT, &err))
			fprintf(stderr, "iscsictl: %s\n", err.msg);
		else if (ictx_save_cfg(&x) == 0)
			rc = EXIT_OK;
	} else {
		ctl_usage_error("add", "cannot add '%s'", argv[0]);
		rc = EXIT_USAGE;
	}
	ictx_close(&x);
	return rc;
}

int cmd_remove(const struct ctl_opts *o, int argc, char **argv)
{
	struct ictx x;
	struct cfg_error err = { 0 };
	const char *why;
	int rc = EXIT_FAIL;

	if (argc != 2) {
		ctl_usage_error("remove", "remove target <iqn>[,<portal>] | remove discovery-portal "
				"<portal> | remove discovery-isns <host>[:port]");
		return EXIT_USAGE;
	}
	if (ictx_open(&x, o))
		return EXIT_FAIL;
	if (strcmp(argv[0], "target") == 0) {
		struct url_target t;
		struct cfg_target *ct = NULL;
		if (url_parse_target(argv[1], strlen(argv[1]), &t, &why)) {
			fprintf(stderr, "iscsictl: '%s': %s\n", argv[1], why);
			rc = EXIT_USAGE;
		} else if (!(ct = cfg_target_find(x.cfg, t.name))) {
			fprintf(stderr, "iscsictl: no target %s in %s\n", t.name, x.cfg_path);
		} else if (t.has_portal) {
			char portal[URL_PORTAL_STRMAX];
			url_format_portal(&t.portal, portal, sizeof(portal));
			if (cfg_portal_remove(&ct->portals, portal, NULL, &err) < 0)
				fprintf(stderr, "iscsictl: %s has no portal %s\n", t.name, portal);
			else if (ictx_save_cfg(&x) == 0)
				rc = EXIT_OK;
		} else {
			cfg_target_remove(x.cfg, t.name);
			/* Its secret goes with it. */
			if (ictx_secrets(&x) == 0 &&
			    secrets_remove(x.sec, SECRET_TARGET, t.name) == 0)
				ictx_save_secrets(&x);
			if (ictx_save_cfg(&x) == 0)
				rc = EXIT_OK;
		}
	} else if (strcmp(argv[0], "discovery-portal") == 0) {
		if (cfg_portal_remove(&x.cfg->discovery.portals, argv[1], NULL, &err) < 0)
			fprintf(stderr, "iscsictl: no discovery portal %s\n", argv[1]);
		else if (ictx_save_cfg(&x) == 0)
			rc = EXIT_OK;
	} else if (strcmp(argv[0], "discovery-isns") == 0) {
		int n = cfg_server_remove(&x.cfg->discovery.isns_servers, argv[1],
					  CFG_ISNS_PORT, &err);
		if (n == -EINVAL)
			fprintf(stderr, "iscsictl: %s\n", err.msg);
		else if (n < 0)
			fprintf(stderr, "iscsictl: no iSNS server %s\n", argv[1]);
		else if (ictx_save_cfg(&x) == 0)
			rc = EXIT_OK;
	} else {
		ctl_usage_error("remove", "cannot remove '%s'", argv[0]);
		rc = EXIT_USAGE;
	}
	ictx_close(&x);
	return rc;
}

/* Prints every key of a section (portals as a list), and the secret's
 * presence, never its value. */
static int print_section(struct ictx *x, struct out *out, enum cfg_section s,
			 const char *target)
{
	char buf[1024];

	for (size_t i = 0; cfg_key_name(s, i); i++) {
		const char *k = cfg_key_name(s, i);
		if (strcmp(k, "portal") == 0)
			continue;
		if (cfg_get(x->cfg, s, target, k, buf, sizeof(buf)) == 0)
			out_str(out, k, buf);
	}
	const struct cfg_portals *ps = NULL;
	if (s == CFG_SECT_DISCOVERY)
		ps = &x->cfg->discovery.portals;
	else if (s == CFG_SECT_TARGET)
		ps = &cfg_target_find(x->cfg, target)->portals;
	if (ps) {
		out_sublist_begin(out, "portals");
		for (size_t i = 0; i < ps->n; i++)
			if (cfg_portal_format(&ps->v[i], buf, sizeof(buf)) > 0)
				out_item(out, buf);
		out_sublist_end(out);
	}
	if (s == CFG_SECT_DISCOVERY) {
		const struct cfg_portals *is = &x->cfg->discovery.isns_servers;
		out_sublist_begin(out, "isns-servers");
		for (size_t i = 0; i < is->n; i++)
			if (cfg_portal_format(&is->v[i], buf, sizeof(buf)) > 0)
				out_item(out, buf);
		out_sublist_end(out);
	}
	int rc = ictx_secrets(x);
	bool has = rc == 0 && secrets_has(x->sec, secret_scope_of(s), target);
	out_str(out, "chap-secret", rc ? "<unreadable>" : has ? "<specified>" : "<unspecified>");
	return rc;
}

int cmd_list_config(const struct ctl_opts *o, int argc, char **argv);
int cmd_list_config(const struct ctl_opts *o, int argc, char **argv)
{
	struct ictx x;
	struct out out;
	int rc = EXIT_OK;

	if (ictx_open(&x, o))
		return EXIT_FAIL;
	out_init(&out, stdout, o->json);
	const char *what = argv[0];
	if (strcmp(what, "targets") == 0) {
		out_list_begin(&out, "targets");
		for (size_t i = 0; i < x.cfg->n_targets; i++) {
			const struct cfg_target *t = &x.cfg->targets[i];
			out_record_begin(&out, NULL);
			out_str(&out, "name", t->name);
			out_str(&out, "config-type", t->origin == CFG_ORIGIN_STATIC ? "static" : "discovered");
			out_bool(&out, "auto-login", t->auto_login);
			out_bool(&out, "persistent", t->persistent);
			out_bool(&out, "auto-mount", t->auto_mount);
			out_sublist_begin(&out, "portals");
			for (size_t j = 0; j < t->portals.n; j++) {
				char buf[URL_PORTAL_STRMAX + 32];
				if (cfg_portal_format(&t->portals.v[j], buf, sizeof(buf)) > 0)
					out_item(&out, buf);
			}
			out_sublist_end(&out);
			out_record_end(&out);
		}
		out_list_end(&out);
		if (!o->json && x.cfg->n_targets == 0)
			printf("no targets configured (iscsictl add target <iqn>,<portal>)\n");
	} else if (strcmp(what, "initiator-config") == 0 ||
		   strcmp(what, "discovery-config") == 0) {
		enum cfg_section s = what[0] == 'i' ? CFG_SECT_INITIATOR : CFG_SECT_DISCOVERY;
		out_list_begin(&out, what);
		out_record_begin(&out, NULL);
		if (print_section(&x, &out, s, NULL))
			rc = EXIT_FAIL;
		out_record_end(&out);
		out_list_end(&out);
	} else if (strcmp(what, "target-config") == 0) {
		char name[URL_NAME_MAX + 1];
		const char *why;
		if (argc < 2) {
			ctl_usage_error("list", "list target-config <iqn>");
			rc = EXIT_USAGE;
		} else if (url_name_normalize(argv[1], strlen(argv[1]), name, &why)) {
			fprintf(stderr, "iscsictl: '%s': %s\n", argv[1], why);
			rc = EXIT_USAGE;
		} else if (!cfg_target_find(x.cfg, name)) {
			fprintf(stderr, "iscsictl: no target %s in %s\n", name, x.cfg_path);
			rc = EXIT_FAIL;
		} else {
			out_list_begin(&out, "target-config");
			out_record_begin(&out, NULL);
			out_str(&out, "name", name);
			if (print_section(&x, &out, CFG_SECT_TARGET, name))
				rc = EXIT_FAIL;
			out_record_end(&out);
			out_list_end(&out);
		}
	} else {
		ctl_usage_error("list", "cannot list '%s'", what);
		rc = EXIT_USAGE;
	}
	if (rc != EXIT_USAGE)
		out_done(&out);
	ictx_close(&x);
	return rc;
}
