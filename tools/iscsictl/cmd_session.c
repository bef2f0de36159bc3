/* SPDX-License-Identifier: MIT */
/* iscsictl's session verbs: discover, probe, login, logout, list luns,
 * list sessions. login, logout and the lists go through mcsid when it
 * runs (client.h) and work directly, without a daemon, when it does not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcs/login_io.h"
#include "mcs/scan.h"
#include "proto/scsi.h"
#include "proto/discovery.h"
#include "proto/text.h"
#include "proto/url.h"
#include "tools/iscsictl/client.h"
#include "tools/iscsictl/ctx.h"
#include "tools/iscsictl/out.h"

#define RX_CAP (1u << 20)

/* A target as the user named it, resolved against the configuration. */
struct resolved {
	struct lgio_target t;
	char name[URL_NAME_MAX + 1];
	struct url_iscsi url;         /* when given as a URL */
	bool from_url;
	uint32_t lun;
	bool has_lun;
};

static void print_failure(const char *what, const struct lgio_target *t,
			  const struct lgio_status *st, int rc)
{
	char portal[URL_PORTAL_STRMAX];
	url_format_portal(st->portal.host[0] ? &st->portal : &t->portal, portal,
			  sizeof(portal));
	if (st->message && st->status_class)
		fprintf(stderr, "iscsictl: %s %s at %s: %s (status 0x%02x%02x)\n",
			what, t->target_name ? t->target_name : "(discovery)",
			portal, st->message, st->status_class, st->status_detail);
	else
		fprintf(stderr, "iscsictl: %s %s at %s: %s\n", what,
			t->target_name ? t->target_name : "(discovery)", portal,
			st->message ? st->message : strerror(-rc));
}

static void wishes_from_cfg(struct iscsi_wishes *w, const struct cfg_target *ct)
{
	static const enum iscsi_digest_pref map[] = {
		[CFG_DIGEST_NONE] = ISCSI_DIGEST_NONE,
		[CFG_DIGEST_CRC32C] = ISCSI_DIGEST_CRC_ONLY,
		[CFG_DIGEST_PREFER_CRC32C] = ISCSI_DIGEST_PREFER_CRC,
		[CFG_DIGEST_PREFER_NONE] = ISCSI_DIGEST_PREFER_NONE,
	};
	w->max_connections = ct->max_connections;
	w->error_recovery_level = ct->erl;
	w->header_digest = map[ct->header_digest];
	w->data_digest = map[ct->data_digest];
}

/* Credentials: ours from the initiator (or discovery) section, the
 * target's from its own section when it is set to CHAP (mutual). */
static int creds_from_cfg(struct ictx *x, struct resolved *r, bool discovery)
{
	const struct cfg *c = x->cfg;
	enum cfg_auth auth = discovery ? c->discovery.auth : c->initiator.auth;
	const char *name = cfg_initiator_chap_name(c);

	if (discovery && c->discovery.chap_name)
		name = c->discovery.chap_name;
	if (auth == CFG_AUTH_CHAP) {
		enum secret_scope sc = discovery ? SECRET_DISCOVERY : SECRET_INITIATOR;
		if (ictx_secrets(x))
			return -EIO;
		if (discovery && !secrets_has(x->sec, sc, NULL))
			sc = SECRET_INITIATOR;
		if (secrets_get(x->sec, sc, NULL, &r->t.chap_secret,
				&r->t.chap_secret_len)) {
			fprintf(stderr, "iscsictl: authentication is CHAP but no CHAP secret "
					"is set (iscsictl modify %s -CHAP-secret)\n",
				discovery ? "discovery-config" : "initiator-config");
			return -ENOENT;
		}
		r->t.chap = true;
		r->t.chap_name = name;
	}
	const struct cfg_target *ct = discovery ? NULL : cfg_target_find(c, r->name);
	if (ct && ct->auth == CFG_AUTH_CHAP) {
		if (!r->t.chap) {
			fprintf(stderr, "iscsictl: mutual CHAP for %s needs the initiator's "
					"CHAP too (modify initiator-config -authentication CHAP)\n",
				r->name);
			return -EINVAL;
		}
		if (ictx_secrets(x) ||
		    secrets_get(x->sec, SECRET_TARGET, r->name, &r->t.target_secret,
				&r->t.target_secret_len)) {
			fprintf(stderr, "iscsictl: %s: mutual CHAP needs the target's secret "
					"(modify target-config %s -CHAP-secret)\n", r->name, r->name);
			return -ENOENT;
		}
		r->t.mutual = true;
		r->t.target_chap_name = ct->chap_name ? ct->chap_name : r->name;
	}
	return 0;
}

/* Resolves "<iqn>[,<portal>]", an iscsi:// URL, or (discovery) a portal. */
static int resolve(struct ictx *x, const char *arg, bool discovery,
		   struct resolved *r)
{
	const char *why = NULL;

	memset(r, 0, sizeof(*r));
	lgio_target_init(&r->t);
	r->t.timeout_ms = x->opts->timeout_ms;
	r->t.initiator_name = x->cfg->initiator.node_name;
	r->t.initiator_alias = x->cfg->initiator.alias;

	if (strncasecmp(arg, "iscsi://", 8) == 0) {
		if (url_parse_iscsi(arg, strlen(arg), &r->url, &why)) {
			fprintf(stderr, "iscsictl: '%s': %s\n", arg, why);
			return -EINVAL;
		}
		r->from_url = true;
		r->t.portal = r->url.portal;
		if (!discovery && !r->url.has_target) {
			fprintf(stderr, "iscsictl: '%s' names no target\n", arg);
			return -EINVAL;
		}
		snprintf(r->name, sizeof(r->name), "%s", r->url.target);
		r->lun = r->url.lun;
		r->has_lun = r->url.has_lun;
	} else if (discovery) {
		if (url_parse_portal(arg, strlen(arg), &r->t.portal, &why)) {
			fprintf(stderr, "iscsictl: portal '%s': %s\n", arg, why);
			return -EINVAL;
		}
	} else {
		struct url_target ut;
		if (url_parse_target(arg, strlen(arg), &ut, &why)) {
			fprintf(stderr, "iscsictl: target '%s': %s\n", arg, why);
			return -EINVAL;
		}
		snprintf(r->name, sizeof(r->name), "%s", ut.name);
		const struct cfg_target *ct = cfg_target_find(x->cfg, ut.name);
		if (ut.has_portal) {
			r->t.portal = ut.portal;
		} else if (ct && ct->portals.n > 0) {
			snprintf(r->t.portal.host, sizeof(r->t.portal.host), "%s",
				 ct->portals.v[0].host);
			r->t.portal.port = ct->portals.v[0].port;
			r->t.portal.kind = ct->portals.v[0].ipv6 ? URL_HOST_IPV6 : URL_HOST_NAME;
		} else {
			fprintf(stderr, "iscsictl: no portal for %s: give <iqn>,<portal> or "
					"add it (iscsictl add target <iqn>,<portal>)\n", ut.name);
			return -EINVAL;
		}
	}
	if (!discovery) {
		r->t.target_name = r->name;
		const struct cfg_target *ct = cfg_target_find(x->cfg, r->name);
		if (ct)
			wishes_from_cfg(&r->t.wishes, ct);
	}
	if (r->from_url && r->url.has_header_digest) {
		static const enum iscsi_digest_pref map[] = {
			ISCSI_DIGEST_NONE, ISCSI_DIGEST_CRC_ONLY,
			ISCSI_DIGEST_PREFER_NONE, ISCSI_DIGEST_PREFER_CRC,
		};
		r->t.wishes.header_digest = map[r->url.header_digest];
	}
	if (r->from_url && r->url.has_user) {
		r->t.chap = true;
		r->t.chap_name = r->url.user;
		r->t.chap_secret = r->url.password;
		r->t.chap_secret_len = strlen(r->url.password);
		if (r->url.has_target_password) {
			r->t.mutual = true;
			r->t.target_chap_name = r->url.has_target_user ? r->url.target_user : NULL;
			r->t.target_secret = r->url.target_password;
			r->t.target_secret_len = strlen(r->url.target_password);
		}
		return 0;
	}
	return creds_from_cfg(x, r, discovery);
}

static void resolved_fini(struct resolved *r)
{
	url_iscsi_wipe(&r->url);
}

static const char *digest_name(bool crc) { return crc ? "CRC32C" : "None"; }

static void print_params(struct out *o, const struct iscsi_params *p)
{
	out_str(o, "HeaderDigest", digest_name(p->header_digest));
	out_str(o, "DataDigest", digest_name(p->data_digest));
	out_u64(o, "MaxConnections", p->max_connections);
	out_u64(o, "ErrorRecoveryLevel", p->error_recovery_level);
	out_bool(o, "InitialR2T", p->initial_r2t);
	out_bool(o, "ImmediateData", p->immediate_data);
	out_u64(o, "MaxRecvDataSegmentLength", p->max_recv_dsl);
	out_u64(o, "TargetMaxRecvDataSegmentLength", p->max_xmit_dsl);
	out_u64(o, "MaxBurstLength", p->max_burst_length);
	out_u64(o, "FirstBurstLength", p->first_burst_length);
	out_u64(o, "MaxOutstandingR2T", p->max_outstanding_r2t);
	out_u64(o, "DefaultTime2Wait", p->default_time2wait);
	out_u64(o, "DefaultTime2Retain", p->default_time2retain);
}

static void print_lun(struct out *o, const struct lunscan_lun *l)
{
	out_record_begin(o, NULL);
	out_u64(o, "lun", l->lun);
	out_str(o, "type", scsi_type_name(l->device_type));
	out_str(o, "vendor", l->vendor);
	out_str(o, "product", l->product);
	out_str(o, "revision", l->revision);
	out_str(o, "serial", l->serial);
	out_str(o, "designator", l->designator);
	if (l->has_capacity) {
		out_u64(o, "blocks", l->blocks);
		out_u64(o, "block-size", l->block_size);
		out_u64(o, "capacity-bytes", l->blocks * l->block_size);
		out_bool(o, "thin-provisioned", l->thin);
	}
	out_record_end(o);
}

/* Logs in, runs fn on the full-feature connection, logs out. */
static int with_session(const struct ctl_opts *o, const char *arg, bool discovery,
			int (*fn)(struct ictx *, struct resolved *, struct ctl_conn *,
				  const struct lgio_status *))
{
	struct ictx x;
	struct resolved r;
	struct lgio_status st;
	struct ctl_conn c;
	int rc = EXIT_FAIL;

	if (ictx_open(&x, o))
		return EXIT_FAIL;
	uint8_t *rx = malloc(RX_CAP);
	if (!rx || resolve(&x, arg, discovery, &r)) {
		free(rx);
		ictx_close(&x);
		return rx ? EXIT_USAGE : EXIT_FAIL;
	}
	int err = lgio_login(&r.t, &c, rx, RX_CAP, &st);
	if (err) {
		print_failure("login to", &r.t, &st, err);
	} else {
		rc = fn(&x, &r, &c, &st);
		if (ctl_logout(&c) != 0 && rc == EXIT_OK)
			fprintf(stderr, "iscsictl: warning: logout was not acknowledged\n");
		ctl_close(&c);
	}
	resolved_fini(&r);
	free(rx);
	ictx_close(&x);
	return rc;
}

static int do_discover(struct ictx *x, struct resolved *r, struct ctl_conn *c,
		       const struct lgio_status *st)
{
	enum { MAX_T = 1024, MAX_A = 4096 };
	size_t cap = 1u << 20;
	char *text = malloc(cap);
	struct disc_target *targets = calloc(MAX_T, sizeof(*targets));
	struct disc_address *addrs = calloc(MAX_A, sizeof(*addrs));
	int rc = EXIT_FAIL;
	(void)st;

	if (!text || !targets || !addrs)
		goto out;
	int len = lgio_sendtargets(c, text, cap);
	if (len < 0) {
		fprintf(stderr, "iscsictl: %s: SendTargets failed: %s\n", c->peer,
			len == -ENOSPC ? "the answer is longer than 1 MiB" : strerror(-len));
		goto out;
	}
	struct disc_result res = { .targets = targets, .max_targets = MAX_T,
				   .addrs = addrs, .max_addrs = MAX_A };
	const char *why = NULL;
	if (disc_parse_sendtargets(text, (size_t)len, &res, &why)) {
		fprintf(stderr, "iscsictl: %s: the SendTargets answer is malformed: %s\n",
			c->peer, why);
		goto out;
	}
	struct out o;
	out_init(&o, stdout, x->opts->json);
	out_list_begin(&o, "targets");
	for (size_t i = 0; i < res.n_targets; i++) {
		const struct disc_target *t = &res.targets[i];
		out_record_begin(&o, NULL);
		out_strn(&o, "name", t->name, t->name_len);
		out_sublist_begin(&o, "portals");
		for (size_t j = 0; j < t->n_addrs; j++) {
			const struct disc_address *a = &res.addrs[t->first_addr + j];
			char buf[URL_PORTAL_STRMAX + 16];
			int n = url_format_portal(&a->portal, buf, sizeof(buf));
			if (n > 0 && a->tpgt >= 0)
				snprintf(buf + n, sizeof(buf) - (size_t)n, ",%d", a->tpgt);
			out_item(&o, buf);
		}
		if (t->n_addrs == 0) {
			char buf[URL_PORTAL_STRMAX];
			url_format_portal(&r->t.portal, buf, sizeof(buf));
			out_item(&o, buf);
		}
		out_sublist_end(&o);
		out_record_end(&o);
	}
	out_list_end(&o);
	out_done(&o);
	if (!x->opts->json && res.n_targets == 0)
		printf("no targets\n");
	if (res.skipped)
		fprintf(stderr, "iscsictl: warning: %zu unreadable TargetAddress values skipped\n",
			res.skipped);
	if (res.skipped_names) {
		char esc[4 * 223 + 1];
		fprintf(stderr, "iscsictl: warning: %s: %zu target(s) with an invalid name "
			"skipped, first \"%s\"\n", c->peer, res.skipped_names,
			text_escape(esc, sizeof(esc), res.bad_name,
				    res.bad_name_len > 223 ? 223 : res.bad_name_len));
	}
	rc = EXIT_OK;
out:
	free(text);
	free(targets);
	free(addrs);
	return rc;
}

int cmd_discover(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc != 1) {
		ctl_usage_error("discover", "discover takes one portal");
		return EXIT_USAGE;
	}
	return with_session(o, argv[0], true, do_discover);
}

static int print_luns(struct ictx *x, struct resolved *r, struct ctl_conn *c,
		      struct out *o)
{
	struct lunscan_lun *luns = calloc(LUNSCAN_MAX_LUNS, sizeof(*luns));
	size_t n = 0;
	int rc;
	(void)x;

	if (!luns)
		return -ENOMEM;
	if (r->has_lun) {
		rc = scan_lun(c, r->lun, &luns[0]);
		n = rc == 0;
	} else {
		rc = scan_luns(c, luns, LUNSCAN_MAX_LUNS, &n);
	}
	if (rc == 0) {
		out_sublist_begin(o, "luns");
		for (size_t i = 0; i < n; i++)
			print_lun(o, &luns[i]);
		out_sublist_end(o);
	} else {
		fprintf(stderr, "iscsictl: LUN scan of %s failed: %s\n", r->name,
			strerror(-rc));
	}
	free(luns);
	return rc;
}

static int do_login(struct ictx *x, struct resolved *r, struct ctl_conn *c,
		    const struct lgio_status *st)
{
	struct out o;
	char portal[URL_PORTAL_STRMAX];

	url_format_portal(&st->portal, portal, sizeof(portal));
	out_init(&o, stdout, x->opts->json);
	out_list_begin(&o, "sessions");
	out_record_begin(&o, NULL);
	out_str(&o, "target", r->name);
	out_str(&o, "portal", portal);
	out_str(&o, "authentication", st->auth ? st->auth : "None");
	out_u64(&o, "redirects", st->redirects);
	out_u64(&o, "tsih", c->tsih);
	print_params(&o, &c->params);
	int rc = print_luns(x, r, c, &o);
	out_record_end(&o);
	out_list_end(&o);
	out_done(&o);
	return rc ? EXIT_FAIL : EXIT_OK;
}

static int do_list_luns(struct ictx *x, struct resolved *r, struct ctl_conn *c,
			const struct lgio_status *st)
{
	struct out o;
	(void)st;
	out_init(&o, stdout, x->opts->json);
	out_list_begin(&o, "targets");
	out_record_begin(&o, NULL);
	out_str(&o, "target", r->name);
	int rc = print_luns(x, r, c, &o);
	out_record_end(&o);
	out_list_end(&o);
	out_done(&o);
	return rc ? EXIT_FAIL : EXIT_OK;
}

/* Connects to mcsid: 1 with *fd when it runs, 0 when it does not (go
 * direct), -1 when it runs but cannot be used (printed). */
static int daemon_fd(int *fd)
{
	int rc = client_connect(fd);
	if (rc == 0)
		return 1;
	if (client_absent(rc))
		return 0;
	client_connect_error(rc);
	return -1;
}

int cmd_login(const struct ctl_opts *o, int argc, char **argv)
{
	int fd;

	if (argc != 1) {
		ctl_usage_error("login", "login takes one target");
		return EXIT_USAGE;
	}
	switch (daemon_fd(&fd)) {
	case 1: return client_login(o, fd, argv[0]);
	case 0: return with_session(o, argv[0], false, do_login);
	default: return EXIT_FAIL;
	}
}

int cmd_logout(const struct ctl_opts *o, int argc, char **argv)
{
	int fd;

	if (argc != 1) {
		ctl_usage_error("logout", "logout takes one target");
		return EXIT_USAGE;
	}
	switch (daemon_fd(&fd)) {
	case 1: return client_logout(o, fd, argv[0]);
	case 0: break;
	default: return EXIT_FAIL;
	}
	fprintf(stderr, "iscsictl: no session to %s: without the mcsid daemon, "
			"sessions end when iscsictl exits\n", argv[0]);
	return EXIT_FAIL;
}

int cmd_probe(const struct ctl_opts *o, int argc, char **argv)
{
	struct ictx x;
	struct resolved r;
	struct lgio_status st;
	int rc = EXIT_FAIL;

	if (argc != 1) {
		ctl_usage_error("probe", "probe takes one target");
		return EXIT_USAGE;
	}
	if (ictx_open(&x, o))
		return EXIT_FAIL;
	uint8_t *rx = malloc(RX_CAP);
	if (rx && resolve(&x, argv[0], false, &r) == 0) {
		int err = lgio_probe(&r.t, rx, RX_CAP, &st);
		if (err) {
			print_failure("probe of", &r.t, &st, err);
		} else {
			struct out out;
			out_init(&out, stdout, o->json);
			out_list_begin(&out, "targets");
			out_record_begin(&out, NULL);
			out_str(&out, "target", r.name);
			out_str(&out, "authentication", st.auth);
			out_record_end(&out);
			out_list_end(&out);
			out_done(&out);
			rc = EXIT_OK;
		}
		resolved_fini(&r);
	}
	free(rx);
	ictx_close(&x);
	return rc;
}

int cmd_list_config(const struct ctl_opts *o, int argc, char **argv);

int cmd_list(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc < 1) {
		ctl_usage_error("list", "list what?");
		return EXIT_USAGE;
	}
	int fd, rc;
	if (strcmp(argv[0], "luns") == 0) {
		if (argc != 2) {
			ctl_usage_error("list", "list luns <target>");
			return EXIT_USAGE;
		}
		/* mcsid's session when there is one, else a login of our own. */
		switch (daemon_fd(&fd)) {
		case 1:
			if ((rc = client_list_luns(o, fd, argv[1])) >= 0)
				return rc;
			break;
		case 0:
			break;
		default:
			return EXIT_FAIL;
		}
		return with_session(o, argv[1], false, do_list_luns);
	}
	if (strcmp(argv[0], "sessions") == 0) {
		if (argc != 1) {
			ctl_usage_error("list", "list sessions takes no argument");
			return EXIT_USAGE;
		}
		switch (daemon_fd(&fd)) {
		case 1:
			return client_list_sessions(o, fd);
		case 0:
			if (o->json)
				printf("{\"sessions\":[]}\n");
			else
				printf("no sessions (mcsid is not running)\n");
			return EXIT_OK;
		default:
			return EXIT_FAIL;
		}
	}
	return cmd_list_config(o, argc, argv);
}
