/* SPDX-License-Identifier: MIT */
/*
 * Periodic discovery. A run is a child process (fork, no exec: it needs
 * only the configuration, the login code and libisns) that asks each
 * SendTargets portal, then each iSNS server (mcsid_isns.c), in turn and
 * writes one message per portal or server on a socket; the daemon's loop
 * stays free meanwhile, and what a peer sent is parsed in the child. The
 * daemon then records what was found in the configuration as discovered
 * targets, the same way for both sources.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "mcs/login_io.h"
#include "proto/discovery.h"
#include "proto/text.h"
#include "supervisor/daemon/mcsid.h"
#include "supervisor/secrets.h"

#define DISC_TEXT_MAX   (1u << 20)
#define DISC_TARGETS    1024u
#define DISC_ADDRS      4096u
#define DISC_RX         (1u << 20)
#define DISC_PORTAL_MS  60000       /* per portal, for the whole run's deadline */
#define DISC_ISNS_MS    90000       /* per iSNS server (two tries: connect + call) */

/* ---- the child ------------------------------------------------------------ */

struct disc_bufs {
	char *text;
	struct disc_target *targets;
	struct disc_address *addrs;
	uint8_t *rx;
	char *out;
};

static void portal_str(const struct url_portal *p, char *buf, size_t cap)
{
	if (url_format_portal(p, buf, cap) < 0 && cap)
		buf[0] = '\0';
}

/* Discovery credentials: the discovery secret, else the initiator's. */
static int disc_creds(const struct mcsid *d, struct lgio_target *t, struct secrets **sec)
{
	const struct cfg *c = d->cfg;
	char path[PATH_MAX];
	struct cfg_error err;

	if (c->discovery.auth != CFG_AUTH_CHAP)
		return 0;
	if (secrets_path(d->cfg_path, path, sizeof(path)) ||
	    secrets_load(path, sec, &err))
		return -EACCES;
	enum secret_scope sc = secrets_has(*sec, SECRET_DISCOVERY, NULL)
			       ? SECRET_DISCOVERY : SECRET_INITIATOR;
	if (secrets_get(*sec, sc, NULL, &t->chap_secret, &t->chap_secret_len))
		return -EACCES;
	t->chap = true;
	t->chap_name = c->discovery.chap_name ? c->discovery.chap_name
					       : cfg_initiator_chap_name(c);
	return 0;
}

static int ask_portal(const struct mcsid *d, const struct url_portal *p,
		      struct disc_bufs *b, struct disc_result *res, const char **why)
{
	struct lgio_target t;
	struct lgio_status st;
	struct ctl_conn c;
	struct secrets *sec = NULL;
	int rc;

	lgio_target_init(&t);
	t.portal = *p;
	t.initiator_name = d->cfg->initiator.node_name;
	t.initiator_alias = d->cfg->initiator.alias;
	if ((rc = disc_creds(d, &t, &sec))) {
		*why = "discovery CHAP is configured but no secret is usable";
		return rc;
	}
	memset(&st, 0, sizeof(st));
	rc = lgio_login(&t, &c, b->rx, DISC_RX, &st);
	secrets_destroy(sec);
	if (rc) {
		*why = st.message ? st.message : strerror(-rc);
		return rc;
	}
	int len = lgio_sendtargets(&c, b->text, DISC_TEXT_MAX);
	ctl_logout(&c);
	ctl_close(&c);
	if (len < 0) {
		*why = "SendTargets failed";
		return len;
	}
	*res = (struct disc_result){ .targets = b->targets, .max_targets = DISC_TARGETS,
				     .addrs = b->addrs, .max_addrs = DISC_ADDRS };
	rc = disc_parse_sendtargets(b->text, (size_t)len, res, why);
	return rc == -ENOSPC ? 0 : rc;     /* keep what fitted */
}

/* What the answer had that we could not use, for the daemon's log: the
 * counts and the first invalid target name, escaped here (the name may
 * hold terminal escapes or bytes that are not UTF-8). */
static void skipped_json(struct json_w *w, const struct disc_result *res)
{
	char esc[4 * 223 + 1];

	if (res->skipped)
		json_w_u64(w, "skipped-addresses", res->skipped);
	if (res->skipped_names) {
		json_w_u64(w, "skipped-names", res->skipped_names);
		json_w_str(w, "first-bad-name",
			   text_escape(esc, sizeof(esc), res->bad_name,
				       res->bad_name_len > 223 ? 223 : res->bad_name_len));
	}
}

/* One message to the daemon: {"portal": ps, "source": "isns" (iSNS
 * only), "ok": ..., "targets": [{"name", "portals": [...]}], counts of
 * what was skipped} or the error. The same for both sources, so that the
 * daemon records their targets alike. */
static void send_answer(int fd, struct disc_bufs *b, const char *ps, bool isns,
			int rc, const char *why, const struct disc_result *res,
			size_t no_portal)
{
	struct json_w w;

	json_w_init(&w, b->out, CP_FRAME_MAX);
	json_w_obj(&w, NULL);
	json_w_str(&w, "portal", ps);
	if (isns)
		json_w_str(&w, "source", "isns");
	json_w_bool(&w, "ok", rc == 0);
	if (rc) {
		json_w_u64(&w, "errno", (uint64_t)-rc);
		json_w_str(&w, "error", why);
	} else {
		json_w_arr(&w, "targets");
		for (size_t i = 0; i < res->n_targets; i++) {
			const struct disc_target *t = &res->targets[i];
			json_w_obj(&w, NULL);
			json_w_strn(&w, "name", t->name, t->name_len);
			json_w_arr(&w, "portals");
			for (size_t k = 0; k < t->n_addrs; k++) {
				char a[URL_PORTAL_STRMAX];
				portal_str(&res->addrs[t->first_addr + k].portal, a, sizeof(a));
				json_w_str(&w, NULL, a);
			}
			if (t->n_addrs == 0)
				json_w_str(&w, NULL, ps);   /* the discovery portal */
			json_w_end(&w);
			json_w_end(&w);
		}
		json_w_end(&w);
		skipped_json(&w, res);
		if (no_portal)
			json_w_u64(&w, "no-portal", no_portal);
	}
	json_w_end(&w);
	int n = json_w_finish(&w);
	if (n > 0)
		usock_send_frame(fd, b->out, (size_t)n, 10000);
}

static void child_portal(const struct mcsid *d, const struct cfg_portal *cp, int fd,
			 struct disc_bufs *b)
{
	struct cfg_portal np = *cp;
	struct url_portal p;
	struct disc_result res;
	char ps[URL_PORTAL_STRMAX];
	const char *why = "unusable portal";
	int rc = -EINVAL;

	np.iface = NULL;
	if (cfg_portal_format(&np, ps, sizeof(ps)) >= 0 &&
	    url_parse_portal(ps, strlen(ps), &p, &why) == 0)
		rc = ask_portal(d, &p, b, &res, &why);
	send_answer(fd, b, ps, false, rc, why, &res, 0);
}

static void child_isns(const struct mcsid *d, const struct cfg_portal *cp, int fd,
		       struct disc_bufs *b)
{
	struct disc_result res = { .targets = b->targets, .max_targets = DISC_TARGETS,
				   .addrs = b->addrs, .max_addrs = DISC_ADDRS };
	char ps[URL_PORTAL_STRMAX];
	const char *why = "unusable server address";
	size_t no_portal = 0;
	int rc = -EINVAL;

	if (cfg_portal_format(cp, ps, sizeof(ps)) >= 0)
		rc = isns_discover(ps, d->cfg->initiator.node_name, &res, b->text,
				   DISC_TEXT_MAX, &no_portal, &why);
	send_answer(fd, b, ps, true, rc, why, &res, no_portal);
}

static void child(const struct mcsid *d, int fd)
{
	struct disc_bufs b = {
		.text = malloc(DISC_TEXT_MAX),
		.targets = calloc(DISC_TARGETS, sizeof(*b.targets)),
		.addrs = calloc(DISC_ADDRS, sizeof(*b.addrs)),
		.rx = malloc(DISC_RX),
		.out = malloc(CP_FRAME_MAX),
	};
	if (!b.text || !b.targets || !b.addrs || !b.rx || !b.out)
		_exit(1);
	const struct cfg_discovery *cd = &d->cfg->discovery;
	for (size_t i = 0; cd->sendtargets && i < cd->portals.n; i++)
		child_portal(d, &cd->portals.v[i], fd, &b);
	for (size_t i = 0; cd->isns && i < cd->isns_servers.n; i++)
		child_isns(d, &cd->isns_servers.v[i], fd, &b);
	_exit(0);
}

/* ---- the daemon's side ------------------------------------------------------ */

int disc_start(struct mcsid *d)
{
	int sv[2];

	if (d->disc.pid)
		return 0;
	mcsid_config_refresh(d, false);
	const struct cfg_discovery *cd = &d->cfg->discovery;
	size_t n_st = cd->sendtargets ? cd->portals.n : 0;
	size_t n_isns = cd->isns ? cd->isns_servers.n : 0;
	if (n_st + n_isns == 0)
		return -ENOENT;
	d->disc.rb.buf = malloc(CP_FRAME_MAX + CP_HDR_LEN);
	if (!d->disc.rb.buf)
		return -ENOMEM;
	d->disc.rb.cap = CP_FRAME_MAX + CP_HDR_LEN;
	d->disc.rb.len = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail;
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (pid == 0) {
		/* Hold nothing of the daemon's (its listening socket above all:
		 * a restarted mcsid must find it free). */
		if (sv[1] != 3 && dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		child(d, 3);
	}
	close(sv[1]);
	d->disc.pid = pid;
	d->disc.pidfd = pidfd_open(pid, 0);
	d->disc.src.kind = SRC_DISC;
	d->disc.src.fd = sv[0];
	d->disc.deadline = usock_now_ms() + (int64_t)n_st * DISC_PORTAL_MS +
			   (int64_t)n_isns * DISC_ISNS_MS;
	d->disc.portals_ok = d->disc.portals_failed = 0;
	d->disc.isns_ok = d->disc.isns_failed = 0;
	d->disc.found = d->disc.added = d->disc.changed = 0;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	mcsid_watch(d, &d->disc.src);
	log_info("discovery on %zu SendTargets portals and %zu iSNS servers (process %d)",
		 n_st, n_isns, (int)pid);
	return 0;
fail:
	free(d->disc.rb.buf);
	d->disc.rb.buf = NULL;
	return -errno;
}

/* Makes the discovered target's portals those reported. Returns 1 if
 * anything changed. */
static int sync_portals(struct cfg_target *ct, char (*ps)[URL_PORTAL_STRMAX], size_t n)
{
	struct cfg_error err;
	bool same = ct->portals.n == n;

	for (size_t i = 0; same && i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < ct->portals.n && !found; k++) {
			char cur[URL_PORTAL_STRMAX + 32];
			found = cfg_portal_format(&ct->portals.v[k], cur, sizeof(cur)) >= 0 &&
				strcmp(cur, ps[i]) == 0;
		}
		same = found;
	}
	if (same)
		return 0;
	while (ct->portals.n > 0) {
		char cur[URL_PORTAL_STRMAX + 32];
		struct cfg_portal p = ct->portals.v[0];
		p.iface = NULL;
		if (cfg_portal_format(&p, cur, sizeof(cur)) < 0 ||
		    cfg_portal_remove(&ct->portals, cur, NULL, &err) < 0)
			break;
	}
	for (size_t i = 0; i < n; i++)
		cfg_portal_add(&ct->portals, ps[i], NULL, &err);
	return 1;
}

/* Records one target from a portal's answer. */
static void record(struct mcsid *d, const char *msg, const struct json_tok *t, int obj)
{
	char raw[URL_NAME_MAX + 2], name[URL_NAME_MAX + 1];
	char ps[16][URL_PORTAL_STRMAX];
	struct cfg_error err;
	struct cfg_target *ct;
	const char *why;
	size_t n = 0;

	if (json_get_str(msg, t, (size_t)obj, "name", raw, sizeof(raw)) ||
	    url_name_normalize(raw, strlen(raw), name, &why))
		return;
	int arr = json_get(msg, t, (size_t)obj, "portals");
	for (uint32_t i = 0; arr >= 0 && i < t[arr].count && n < 16; i++) {
		struct url_portal p;
		int e = json_elem(t, (size_t)arr, i);
		if (json_str(msg, &t[e], raw, sizeof(raw), NULL) ||
		    url_parse_portal(raw, strlen(raw), &p, &why) ||
		    url_format_portal(&p, ps[n], sizeof(ps[n])) < 0)
			continue;
		n++;
	}
	d->disc.found++;
	ct = cfg_target_find(d->cfg, name);
	if (!ct) {
		if (cfg_target_add(d->cfg, name, &ct, &err) ||
		    cfg_set(d->cfg, CFG_SECT_TARGET, name, "config-type", "discovered", &err))
			return;
		sync_portals(ct, ps, n);
		d->disc.added++;
		log_peer_info(name, "discovered");
	} else if (ct->origin == CFG_ORIGIN_DISCOVERED && sync_portals(ct, ps, n)) {
		d->disc.changed++;
		log_peer_info(name, "discovered portals changed");
	}
}

static void portal_answer(struct mcsid *d, const char *msg, uint32_t len)
{
	struct json_tok *t = malloc(CP_TOKENS_MAX * sizeof(*t));
	char portal[URL_PORTAL_STRMAX] = "?", err[CP_TEXT_MAX + 1] = "";
	size_t n;
	const char *why = NULL;
	bool ok = false;

	if (!t || json_parse(msg, len, t, CP_TOKENS_MAX, &n, &why) ||
	    t[0].type != JSON_OBJECT) {
		log_warn("discovery: unreadable answer from the discovery process");
		free(t);
		return;
	}
	char source[8] = "";
	json_get_str(msg, t, 0, "portal", portal, sizeof(portal));
	json_get_str(msg, t, 0, "source", source, sizeof(source));
	json_get_bool(msg, t, 0, "ok", &ok);
	bool isns = strcmp(source, "isns") == 0;
	const char *kind = isns ? "iSNS" : "SendTargets";
	if (!ok) {
		json_get_str(msg, t, 0, "error", err, sizeof(err));
		log_peer_warn(portal, "%s discovery failed: %s", kind, err);
		if (isns)
			d->disc.isns_failed++;
		else
			d->disc.portals_failed++;
		free(t);
		return;
	}
	if (isns)
		d->disc.isns_ok++;
	else
		d->disc.portals_ok++;
	int arr = json_get(msg, t, 0, "targets");
	for (uint32_t i = 0; arr >= 0 && i < t[arr].count; i++)
		record(d, msg, t, json_elem(t, (size_t)arr, i));
	log_peer_info(portal, "%s: %u targets", kind, arr >= 0 ? t[arr].count : 0);
	uint64_t addrs = 0, names = 0, no_portal = 0;
	char bad[4 * 223 + 1] = "";
	json_get_u64(msg, t, 0, "skipped-addresses", UINT32_MAX, &addrs);
	json_get_u64(msg, t, 0, "skipped-names", UINT32_MAX, &names);
	json_get_u64(msg, t, 0, "no-portal", UINT32_MAX, &no_portal);
	json_get_str(msg, t, 0, "first-bad-name", bad, sizeof(bad));
	if (addrs && isns)
		log_peer_warn(portal, "iSNS: %llu portal group(s) without a usable TCP portal "
			      "skipped", (unsigned long long)addrs);
	else if (addrs)
		log_peer_warn(portal, "SendTargets: %llu unreadable TargetAddress values skipped",
			      (unsigned long long)addrs);
	if (names)
		log_peer_warn(portal, "%s: %llu target(s) with an invalid name skipped, "
			      "first \"%s\"", kind, (unsigned long long)names, bad);
	if (no_portal)
		log_peer_warn(portal, "iSNS: %llu target(s) without a usable portal skipped",
			      (unsigned long long)no_portal);
	free(t);
}

static void finish(struct mcsid *d)
{
	struct cfg_error err = { 0 };
	struct stat st;
	struct json_w w;

	mcsid_unwatch(d, &d->disc.src);
	close(d->disc.src.fd);
	d->disc.src.fd = -1;
	if (d->disc.pidfd >= 0)
		close(d->disc.pidfd);
	d->disc.pidfd = -1;
	d->disc.pid = 0;
	free(d->disc.rb.buf);
	d->disc.rb.buf = NULL;
	d->disc_last = (int64_t)time(NULL);
	d->disc_next = usock_now_ms() + (int64_t)d->cfg->discovery.interval * 1000;
	if (d->disc.added || d->disc.changed) {
		if (cfg_save(d->cfg, d->cfg_path, &err))
			log_err("discovery results not saved: %s", err.msg);
		else if (stat(d->cfg_path, &st) == 0)
			d->cfg_mtime = st.st_mtim;
	}
	log_info("discovery done: %u portals answered, %u failed; %u iSNS servers answered, "
		 "%u failed; %u targets, %u new, %u changed", d->disc.portals_ok,
		 d->disc.portals_failed, d->disc.isns_ok, d->disc.isns_failed,
		 d->disc.found, d->disc.added, d->disc.changed);
	cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
	json_w_u64(&w, "portals-ok", d->disc.portals_ok);
	json_w_u64(&w, "portals-failed", d->disc.portals_failed);
	json_w_u64(&w, "isns-ok", d->disc.isns_ok);
	json_w_u64(&w, "isns-failed", d->disc.isns_failed);
	json_w_u64(&w, "targets", d->disc.found);
	json_w_u64(&w, "added", d->disc.added);
	json_w_u64(&w, "changed", d->disc.changed);
	json_w_end(&w);
	int len = json_w_finish(&w);
	if (d->disc.portals_ok + d->disc.isns_ok == 0)
		len = cp_reply_error(d->reply, CP_FRAME_MAX, -EHOSTUNREACH,
				     "no discovery portal or iSNS server answered "
				     "(see mcsid's log)");
	/* Serving a client's next request may start another run (clients
	 * then wait for that one) and reuses d->reply: mark who gets this
	 * answer first and answer from a copy. */
	char *copy = len > 0 ? malloc((size_t)len) : NULL;
	if (copy)
		memcpy(copy, d->reply, (size_t)len);
	for (struct mclient *c = d->clients; c; c = c->next)
		if (c->waiting == WAIT_DISCOVERY)
			c->waiting = WAIT_DISCOVERY_DONE;
	for (bool again = true; again;) {
		again = false;
		for (struct mclient *c = d->clients; c; c = c->next) {
			if (c->waiting != WAIT_DISCOVERY_DONE)
				continue;
			if (copy)
				cli_reply_async(d, c, copy, len);
			else
				cli_reply_error(d, c, -ENOMEM, NULL);
			again = true;
			break;
		}
	}
	free(copy);
}

void disc_readable(struct mcsid *d)
{
	char *p;
	uint32_t len;
	int n = usock_rbuf_fill(d->disc.src.fd, &d->disc.rb);

	if (n == -EAGAIN)
		return;
	if (n > 0) {
		/* Merge with edits made to the file since we last read it. */
		mcsid_config_refresh(d, false);
		while (usock_rbuf_frame(&d->disc.rb, &p, &len) == 1) {
			portal_answer(d, p, len);
			usock_rbuf_consume(&d->disc.rb, CP_HDR_LEN + len);
		}
		return;
	}
	finish(d);
}

int64_t disc_timers(struct mcsid *d, int64_t now)
{
	if (d->disc.pid) {
		if (now >= d->disc.deadline) {
			log_warn("discovery process %d takes too long; killing it",
				 (int)d->disc.pid);
			if (d->disc.pidfd >= 0)
				pidfd_send_signal(d->disc.pidfd, SIGKILL, NULL, 0);
			d->disc.deadline = now + 5000;
		}
		return d->disc.deadline - now;
	}
	if (!d->disc_next)
		return -1;
	if (now < d->disc_next)
		return d->disc_next - now;
	if (disc_start(d) == -ENOENT)
		d->disc_next = now + (int64_t)CFG_INTERVAL_DEFAULT * 1000;
	else if (!d->disc.pid)
		d->disc_next = now + 60000;     /* could not start: try later */
	return d->disc.pid ? d->disc.deadline - now : d->disc_next - now;
}

void disc_stop(struct mcsid *d)
{
	if (!d->disc.pid)
		return;
	if (d->disc.pidfd >= 0)
		pidfd_send_signal(d->disc.pidfd, SIGKILL, NULL, 0);
	mcsid_unwatch(d, &d->disc.src);
	close(d->disc.src.fd);
	if (d->disc.pidfd >= 0)
		close(d->disc.pidfd);
	free(d->disc.rb.buf);
	d->disc.pid = 0;
}
