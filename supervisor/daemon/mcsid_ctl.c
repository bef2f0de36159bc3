/* SPDX-License-Identifier: MIT */
/* mcsid's control socket: who may connect, requests, replies. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "mcsi/version.h"
#include "proto/text.h"
#include "supervisor/daemon/dutil.h"
#include "supervisor/daemon/mcsid.h"

static bool allowed(const struct mcsid *d, uid_t uid, gid_t gid)
{
	return uid == 0 || uid == geteuid() ||
	       (d->o.allow_uid_set && uid == d->o.allow_uid) ||
	       (d->o.allow_gid_set && gid == d->o.allow_gid);
}

void cli_accept(struct mcsid *d)
{
	for (;;) {
		int fd = accept4(d->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		pid_t pid;
		uid_t uid;
		gid_t gid;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (usock_peer(fd, &pid, &uid, &gid) < 0 || !allowed(d, uid, gid)) {
			log_warn("refused a control connection from pid %d uid %u", (int)pid,
				 (unsigned)uid);
			char msg[96];
			snprintf(msg, sizeof(msg), "permission denied: uid %u may not "
				 "control mcsid", (unsigned)uid);
			int n = cp_reply_error(d->reply, CP_FRAME_MAX, -EACCES, msg);
			if (n > 0)
				usock_send_frame(fd, d->reply, (size_t)n, 1000);
			close(fd);
			continue;
		}
		struct mclient *c = calloc(1, sizeof(*c));
		uint8_t *buf = malloc(MCSID_CLIENT_BUF);
		if (!c || !buf) {
			free(c);
			free(buf);
			close(fd);
			continue;
		}
		c->src.kind = SRC_CLIENT;
		c->src.fd = fd;
		c->pid = pid;
		c->uid = uid;
		c->rb.buf = buf;
		c->rb.cap = MCSID_CLIENT_BUF;
		if (mcsid_watch(d, &c->src) < 0) {
			close(fd);
			free(buf);
			free(c);
			continue;
		}
		c->next = d->clients;
		d->clients = c;
		log_debug("control connection from pid %d uid %u", (int)pid, (unsigned)uid);
	}
}

void cli_close(struct mcsid *d, struct mclient *c)
{
	struct mclient **pp = &d->clients;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	sess_forget_client(d, c);
	mcsid_unwatch(d, &c->src);
	close(c->src.fd);
	free(c->rb.buf);
	free(c);
}

void cli_reply(struct mcsid *d, struct mclient *c, const char *buf, int len)
{
	c->waiting = WAIT_NONE;
	if (len < 0) {
		len = cp_reply_error(d->reply, CP_FRAME_MAX, -EOVERFLOW,
				     "the reply does not fit in a message");
		buf = d->reply;
	}
	int rc = usock_send_frame(c->src.fd, buf, (size_t)len, MCSID_REPLY_MS);
	if (rc)
		log_debug("reply to pid %d: %s", (int)c->pid, strerror(-rc));
}

void cli_reply_error(struct mcsid *d, struct mclient *c, int err, const char *msg)
{
	cli_reply(d, c, d->reply, cp_reply_error(d->reply, CP_FRAME_MAX, err, msg));
}

const char *sess_state_name(enum ms_state s)
{
	static const char *const names[] = {
		[MS_STARTING] = "logging-in", [MS_UP] = "logged-in",
		[MS_STOPPING] = "logging-out", [MS_BACKOFF] = "reconnecting",
	};
	return names[s];
}

/* MC/S: the session process's connections, from the file it refreshes
 * every second (sessiond.h: sd_write_conns()); nothing when absent. */
static void sess_conns_json(struct json_w *w, const struct msess *s)
{
	char path[PATH_MAX + 8], buf[16384];
	size_t len = 0;

	if (snprintf(path, sizeof(path), "%s.conns", s->state_path) >= (int)sizeof(path) ||
	    du_read_file(path, buf, sizeof(buf), &len) != 0)
		return;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	/* Our own writer's array; anything else (a torn or foreign file)
	 * is left out rather than passed on. */
	if (len >= 2 && buf[0] == '[' && buf[len - 1] == ']')
		json_w_raw(w, "connections", buf, len);
}

void cli_sess_json(struct json_w *w, const struct msess *s, int64_t now)
{
	char portal[URL_PORTAL_STRMAX];

	url_format_portal(&s->portal, portal, sizeof(portal));
	json_w_str(w, "target", s->target);
	json_w_str(w, "portal", portal);
	json_w_str(w, "state", sess_state_name(s->state));
	if (s->pidfd.fd >= 0)
		json_w_i64(w, "pid", s->pid);
	if (s->state == MS_UP || s->state == MS_STOPPING) {
		json_w_str(w, "socket", s->socket);
		json_w_i64(w, "since", s->since);
		json_w_u64(w, "luns", s->nluns);
		json_w_bool(w, "adopted", s->adopted);
		sess_conns_json(w, s);
	}
	if (s->state == MS_BACKOFF)
		json_w_i64(w, "retry-in-ms", s->retry_at > now ? s->retry_at - now : 0);
	if (s->last_error[0])
		json_w_str(w, "last-error", s->last_error);
}

static int reply_status(struct mcsid *d)
{
	struct json_w w;
	unsigned n = 0;

	for (struct msess *s = d->sessions; s; s = s->next)
		n++;
	cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
	json_w_i64(&w, "pid", getpid());
	json_w_str(&w, "version", mcsi_version());
	json_w_str(&w, "config", d->cfg_path);
	json_w_str(&w, "run-dir", d->o.run_dir);
	json_w_str(&w, "initiator", d->cfg->initiator.node_name);
	json_w_u64(&w, "sessions", n);
	json_w_obj(&w, "discovery");
	json_w_bool(&w, "sendtargets", d->cfg->discovery.sendtargets);
	json_w_u64(&w, "interval", d->cfg->discovery.interval);
	json_w_u64(&w, "portals", d->cfg->discovery.portals.n);
	json_w_bool(&w, "isns", d->cfg->discovery.isns);
	json_w_u64(&w, "isns-servers", d->cfg->discovery.isns_servers.n);
	json_w_bool(&w, "running", d->disc.pid != 0);
	json_w_i64(&w, "last", d->disc_last);
	json_w_end(&w);
	json_w_end(&w);
	return json_w_finish(&w);
}

static int reply_sessions(struct mcsid *d, const struct cp_request *r)
{
	struct json_w w;
	int64_t now = usock_now_ms();

	cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
	json_w_arr(&w, "sessions");
	for (struct msess *s = d->sessions; s; s = s->next) {
		if (r->has_target && strcmp(r->target, s->target) != 0)
			continue;
		json_w_obj(&w, NULL);
		cli_sess_json(&w, s, now);
		json_w_end(&w);
	}
	json_w_end(&w);
	json_w_end(&w);
	return json_w_finish(&w);
}

static struct msess *up_session(struct mcsid *d, const char *target, char *msg,
				size_t cap)
{
	struct msess *s = sess_find(d, target);
	if (!s)
		snprintf(msg, cap, "no session");
	else if (s->state != MS_UP)
		snprintf(msg, cap, "the session is %s", sess_state_name(s->state));
	return s && s->state == MS_UP ? s : NULL;
}

/* Answers r now, or starts what will answer it later (c->waiting). */
static void handle(struct mcsid *d, struct mclient *c, const struct cp_request *r)
{
	char msg[CP_TEXT_MAX + 1] = "";
	struct msess *s;
	int rc = 0;

	if (r->op == CP_OP_LOGIN || r->op == CP_OP_LOGOUT || r->op == CP_OP_RESCAN ||
	    r->op == CP_OP_RELOAD)
		log_info("%s%s%s requested by pid %d uid %u", cp_op_name(r->op),
			 r->has_target ? " " : "", r->has_target ? r->target : "",
			 (int)c->pid, (unsigned)c->uid);
	switch (r->op) {
	case CP_OP_STATUS:
		cli_reply(d, c, d->reply, reply_status(d));
		return;
	case CP_OP_LIST_SESSIONS:
		cli_reply(d, c, d->reply, reply_sessions(d, r));
		return;
	case CP_OP_LIST_LUNS:
		if (!(s = up_session(d, r->target, msg, sizeof(msg)))) {
			rc = -ENOENT;
			break;
		}
		rc = sess_proxy(d, s, r, c);
		break;
	case CP_OP_LOGIN:
		rc = sess_login(d, r->target, r->has_portal ? &r->portal : NULL, c, false,
				msg, sizeof(msg));
		break;
	case CP_OP_LOGOUT:
		if (!(s = sess_find(d, r->target))) {
			snprintf(msg, sizeof(msg), "not logged in");
			rc = -ENOENT;
			break;
		}
		rc = sess_logout(d, s, c, msg, sizeof(msg));
		break;
	case CP_OP_RESCAN:
		if (r->has_target) {
			if (!(s = up_session(d, r->target, msg, sizeof(msg))))
				rc = -ENOENT;
			else
				rc = sess_proxy(d, s, r, c);
			break;
		}
		rc = disc_start(d);
		if (rc == 0) {
			c->waiting = WAIT_DISCOVERY;
		} else if (rc == -ENOENT) {
			snprintf(msg, sizeof(msg), "discovery is disabled or has neither "
				 "a SendTargets portal nor an iSNS server (modify "
				 "discovery-config, add discovery-portal or discovery-isns)");
		}
		break;
	case CP_OP_RELOAD:
		rc = mcsid_config_refresh(d, true);
		if (rc == 0) {
			d->disc_next = usock_now_ms();
			struct json_w w;
			cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
			json_w_end(&w);
			cli_reply(d, c, d->reply, json_w_finish(&w));
			return;
		}
		snprintf(msg, sizeof(msg), "the configuration has errors (see mcsid's log)");
		break;
	default:
		rc = -EOPNOTSUPP;
		snprintf(msg, sizeof(msg), "%s is served by session processes, not mcsid",
			 cp_op_name(r->op));
	}
	if (rc)
		cli_reply_error(d, c, rc, msg[0] ? msg : NULL);
}

/* Serves the complete requests buffered for c while it is not waiting.
 * Returns -1 when c was closed. */
static int process(struct mcsid *d, struct mclient *c)
{
	while (c->waiting == WAIT_NONE) {
		char *p;
		uint32_t len;
		int rc = usock_rbuf_frame(&c->rb, &p, &len);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			log_warn("pid %d sent a malformed frame; closing", (int)c->pid);
			cli_reply_error(d, c, rc, "malformed frame");
			cli_close(d, c);
			return -1;
		}
		struct cp_request r;
		const char *why = NULL;
		if (cp_request_decode(p, len, &r, &why)) {
			char esc[100];
			log_warn("bad request from pid %d: %s: %s", (int)c->pid, why,
				 text_escape(esc, sizeof(esc), p, len < 64 ? len : 64));
			cli_reply_error(d, c, -EPROTO, why);
		} else {
			handle(d, c, &r);
		}
		usock_rbuf_consume(&c->rb, CP_HDR_LEN + len);
	}
	return 0;
}

void cli_reply_async(struct mcsid *d, struct mclient *c, const char *buf, int len)
{
	cli_reply(d, c, buf, len);
	process(d, c);
}

void cli_readable(struct mcsid *d, struct mclient *c)
{
	int n = usock_rbuf_fill(c->src.fd, &c->rb);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		/* EOF, an error, or a request larger than we take. */
		cli_close(d, c);
		return;
	}
	process(d, c);
}
