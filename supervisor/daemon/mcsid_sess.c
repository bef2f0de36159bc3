/* SPDX-License-Identifier: MIT */
/*
 * mcsid's session processes: launching one per target, hearing how the
 * login went, noticing its exit, reconnecting with backoff, forwarding
 * requests to it. Adoption at start-up is in mcsid_adopt.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "supervisor/daemon/dutil.h"
#include "supervisor/daemon/mcsid.h"
#include "supervisor/daemon/mcsid_launch.h"

#define LAUNCH_BUF (CP_FRAME_MAX + CP_HDR_LEN)

struct msess *sess_find(struct mcsid *d, const char *target)
{
	for (struct msess *s = d->sessions; s; s = s->next)
		if (strcmp(s->target, target) == 0)
			return s;
	return NULL;
}

struct msess *sess_new(struct mcsid *d, const char *target)
{
	struct msess *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->target, sizeof(s->target), "%s", target);
	s->launch.kind = SRC_LAUNCH;
	s->launch.fd = -1;
	s->pidfd.kind = SRC_PIDFD;
	s->pidfd.fd = -1;
	backoff_init(&s->bo, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
	s->next = d->sessions;
	d->sessions = s;
	return s;
}

static void close_src(struct mcsid *d, struct src *src)
{
	if (src->fd < 0)
		return;
	mcsid_unwatch(d, src);
	close(src->fd);
	src->fd = -1;
}

static void close_launch(struct mcsid *d, struct msess *s)
{
	close_src(d, &s->launch);
	free(s->rb.buf);
	s->rb.buf = NULL;
	s->rb.len = s->rb.cap = 0;
}

/* Gives a held logout answer to its client, if it is still there. */
static void logout_answer_give(struct mcsid *d, struct msess *s)
{
	struct mclient *c = s->logout_client;
	char *reply = s->logout_answer;

	s->logout_client = NULL;
	s->logout_answer = NULL;
	if (c && reply)
		cli_reply_async(d, c, reply, s->logout_answer_len);
	free(reply);
}

/* Holds the answer to a logout that went well until the session process
 * has exited. Returns false (the caller answers at once) if it cannot. */
static bool logout_answer_hold(struct msess *s, struct mclient *c, const char *buf, int len)
{
	if (s->pidfd.fd < 0 || s->logout_client || len <= 0 ||
	    !(s->logout_answer = malloc((size_t)len)))
		return false;
	memcpy(s->logout_answer, buf, (size_t)len);
	s->logout_answer_len = len;
	s->logout_client = c;
	s->deadline = usock_now_ms() + MCSID_EXIT_MS;
	return true;
}

/* Forgets a session (its process, if any, is left alone). A client still
 * waiting for its login hears why; one waiting for its logout hears that
 * it went well. */
static void sess_free(struct mcsid *d, struct msess *s, int err, const char *why)
{
	struct msess **pp = &d->sessions;
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	for (struct proxy *p = d->proxies; p; p = p->next)
		if (p->sess == s)
			p->sess = NULL;
	close_launch(d, s);
	close_src(d, &s->pidfd);
	if (s->waiter) {
		struct mclient *c = s->waiter;
		s->waiter = NULL;
		cli_reply_async(d, c, d->reply, cp_reply_error(d->reply, CP_FRAME_MAX,
							       err, why));
	}
	logout_answer_give(d, s);
	free(s);
}

void sess_free_all(struct mcsid *d)
{
	while (d->sessions) {
		d->sessions->waiter = NULL;
		d->sessions->logout_client = NULL;
		sess_free(d, d->sessions, -ECANCELED, NULL);
	}
	while (d->proxies) {
		struct proxy *p = d->proxies;
		d->proxies = p->next;
		close_src(d, &p->src);
		free(p->rb.buf);
		free(p);
	}
}

void sess_forget_client(struct mcsid *d, struct mclient *c)
{
	for (struct msess *s = d->sessions; s; s = s->next) {
		if (s->waiter == c)
			s->waiter = NULL;
		if (s->logout_client == c)
			s->logout_client = NULL;
	}
	for (struct proxy *p = d->proxies; p; p = p->next)
		if (p->client == c)
			p->client = NULL;
}

/* Whether a lost or failed session should come back by itself. */
static bool want_retry(struct mcsid *d, const struct msess *s)
{
	mcsid_config_refresh(d, false);
	const struct cfg_target *ct = cfg_target_find(d->cfg, s->target);
	return (ct && ct->persistent) || s->auto_login;
}

static void schedule_retry(struct mcsid *d, struct msess *s)
{
	uint32_t delay = backoff_next(&s->bo, mcsid_random());
	s->state = MS_BACKOFF;
	s->retry_at = usock_now_ms() + delay;
	log_peer_info(s->target, "next login attempt in %u ms", delay);
	(void)d;
}

/* A login that did not come up: retry or forget, then tell the waiter
 * (last: answering may run the client's next request). */
static void login_failed(struct mcsid *d, struct msess *s, int err, const char *why)
{
	char msg[CP_TEXT_MAX + 1];
	struct mclient *c = s->waiter;

	snprintf(msg, sizeof(msg), "%s", why);
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
	log_peer_err(s->target, "login failed: %s", msg);
	close_launch(d, s);
	s->waiter = NULL;
	if (want_retry(d, s))
		schedule_retry(d, s);
	else
		sess_free(d, s, err, msg);
	if (c)
		cli_reply_async(d, c, d->reply, cp_reply_error(d->reply, CP_FRAME_MAX,
							       err, msg));
}

/* Resolves the launch message and starts the session process. Returns 0
 * or -errno with msg (the entry is unchanged then). */
static int start_login(struct mcsid *d, struct msess *s, char *msg, size_t cap)
{
	struct launch_spec spec;
	int rc;

	mcsid_config_refresh(d, false);
	rc = launch_prepare(d, s, &spec, msg, cap);
	if (rc == 0) {
		char portal[URL_PORTAL_STRMAX];
		url_format_portal(&spec.l.portal, portal, sizeof(portal));
		log_peer_info(s->target, "logging in at %s%s", portal,
			      spec.l.chap ? (spec.l.mutual ? " with mutual CHAP" : " with CHAP") : "");
		rc = launch_spawn(d, s, &spec, msg, cap);
	}
	launch_spec_wipe(&spec);
	if (rc)
		return rc;
	s->rb.buf = malloc(LAUNCH_BUF);
	s->rb.cap = LAUNCH_BUF;
	s->rb.len = 0;
	if (!s->rb.buf || mcsid_watch(d, &s->launch) || mcsid_watch(d, &s->pidfd)) {
		snprintf(msg, cap, "out of memory");
		pidfd_send_signal(s->pidfd.fd, SIGKILL, NULL, 0);
		close_launch(d, s);
		close(s->pidfd.fd);
		s->pidfd.fd = -1;
		return -ENOMEM;
	}
	s->state = MS_STARTING;
	s->deadline = usock_now_ms() + MCSID_LOGIN_MS;
	return 0;
}

int sess_login(struct mcsid *d, const char *target, const struct url_portal *portal,
	       struct mclient *waiter, bool auto_login, char *msg, size_t cap)
{
	struct msess *s = sess_find(d, target);
	bool fresh = !s;
	int rc;

	if (s && s->state == MS_BACKOFF && s->pidfd.fd >= 0) {
		snprintf(msg, cap, "the last session process is still exiting");
		return -EBUSY;
	}
	if (s && s->state != MS_BACKOFF) {
		snprintf(msg, cap, "%s (session process %d)",
			 s->state == MS_UP ? "already logged in" : sess_state_name(s->state),
			 (int)s->pid);
		return s->state == MS_UP ? -EALREADY : -EBUSY;
	}
	if (!s && !(s = sess_new(d, target))) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	if (portal) {
		s->portal = *portal;
		s->portal_given = true;
	}
	s->auto_login = s->auto_login || auto_login;
	if ((rc = start_login(d, s, msg, cap))) {
		if (fresh)
			sess_free(d, s, rc, msg);
		return rc;
	}
	if (waiter) {
		s->waiter = waiter;
		waiter->waiting = WAIT_LOGIN;
	}
	return 0;
}

/* The launch answer: the session is up (or the login failed). */
static void launch_answer(struct mcsid *d, struct msess *s, const char *p, uint32_t len)
{
	struct json_tok *t = malloc(CP_TOKENS_MAX * sizeof(*t));
	struct cp_reply r;
	const char *why = NULL;

	if (!t || cp_reply_parse(p, len, t, CP_TOKENS_MAX, &r, &why)) {
		free(t);
		login_failed(d, s, -EPROTO, why ? why : "out of memory");
		return;
	}
	if (!r.ok) {
		free(t);
		login_failed(d, s, r.err, r.error);
		return;
	}
	if (json_get_str(p, t, 0, "socket", s->socket, sizeof(s->socket)) ||
	    s->socket[0] != '/') {
		free(t);
		login_failed(d, s, -EPROTO, "the session process named no socket");
		return;
	}
	uint64_t since = 0;
	json_get_u64(p, t, 0, "since", INT64_MAX, &since);
	s->since = (int64_t)since;
	int luns = json_get(p, t, 0, "luns");
	s->nluns = luns >= 0 ? t[luns].count : 0;
	char name[24];
	snprintf(name, sizeof(name), "%d.json", (int)s->pid);
	du_path(s->state_path, sizeof(s->state_path), d->sessions_dir, name);
	s->state = MS_UP;
	bool auto_login = s->auto_login;
	s->auto_login = false;
	s->last_error[0] = '\0';
	backoff_reset(&s->bo);
	/* p lives in the launch buffer: keep it past the channel's close,
	 * which must come first (answering may run the client's next
	 * request). */
	uint8_t *keep = s->rb.buf;
	s->rb.buf = NULL;
	close_launch(d, s);
	log_peer_info(s->target, "logged in: session process %d, %u LUNs", (int)s->pid,
		      s->nluns);
	if (auto_login)
		mcsid_automount(d, s->target, p, t, luns);
	if (s->waiter) {
		struct mclient *c = s->waiter;
		struct json_w w;
		s->waiter = NULL;
		cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
		json_w_obj(&w, "session");
		cli_sess_json(&w, s, usock_now_ms());
		json_w_end(&w);
		if (luns >= 0)
			json_w_raw(&w, "luns", p + t[luns].start, t[luns].len);
		json_w_end(&w);
		cli_reply_async(d, c, d->reply, json_w_finish(&w));
	}
	free(t);
	free(keep);
}

void sess_launch_readable(struct mcsid *d, struct msess *s)
{
	char *p;
	uint32_t len;
	int n = usock_rbuf_fill(s->launch.fd, &s->rb);

	if (n == -EAGAIN)
		return;
	int f = n > 0 ? usock_rbuf_frame(&s->rb, &p, &len) : 0;
	if (f == 1) {
		launch_answer(d, s, p, len);
	} else if (n <= 0 || f < 0) {
		login_failed(d, s, -EIO, n == 0 ? "the session process exited during login"
						: "the session process sent a malformed answer");
	}
}

/* How the process ended, from its wait status (0: not ours to wait
 * for, an adopted session; unknown). */
static void exit_text(char *out, size_t cap, int waited, int status)
{
	if (waited <= 0)
		snprintf(out, cap, "the session process exited");
	else if (WIFSIGNALED(status))
		snprintf(out, cap, "the session process was killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, cap, "the session process exited with status %d",
			 WEXITSTATUS(status));
}

/* The process of an UP session exited: its state file says why, unless
 * it was killed. */
static void lost(struct mcsid *d, struct msess *s, int waited, int status)
{
	char buf[2048];
	size_t len;
	struct cp_state st;
	const char *why = NULL;

	exit_text(s->last_error, sizeof(s->last_error), waited, status);
	if (du_read_file(s->state_path, buf, sizeof(buf), &len) == 0 &&
	    cp_state_decode(buf, len, &st, &why) == 0 && st.pid == s->pid &&
	    st.state == CP_SESS_LOST)
		snprintf(s->last_error, sizeof(s->last_error), "%s", st.error);
	unlink(s->state_path);
	char conns[sizeof(s->state_path) + 8];
	if (snprintf(conns, sizeof(conns), "%s.conns", s->state_path) < (int)sizeof(conns))
		unlink(conns);                /* MC/S: sessiond.h sd_write_conns() */
	unlink(s->socket);
	log_peer_warn(s->target, "session lost (process %d): %s", (int)s->pid,
		      s->last_error);
	if (want_retry(d, s))
		schedule_retry(d, s);
	else
		sess_free(d, s, -ENOTCONN, s->last_error);
}

void sess_exited(struct mcsid *d, struct msess *s)
{
	int status = 0;

	close_src(d, &s->pidfd);
	pid_t w = waitpid(s->pid, &status, WNOHANG);   /* ours unless adopted */
	switch (s->state) {
	case MS_STARTING:
		/* The launch channel's end reports the failure. */
		break;
	case MS_UP:
		lost(d, s, w == s->pid, status);
		break;
	case MS_STOPPING:
		log_peer_info(s->target, "session ended (process %d)", (int)s->pid);
		sess_free(d, s, -ENOTCONN, "logged out");
		break;
	case MS_BACKOFF:
		break;
	}
}

int sess_logout(struct mcsid *d, struct msess *s, struct mclient *c,
		char *msg, size_t cap)
{
	struct cp_request r = { .op = CP_OP_LOGOUT, .has_target = true };
	int rc;

	switch (s->state) {
	case MS_BACKOFF: {
		struct json_w w;
		log_peer_info(s->target, "reconnection cancelled");
		s->waiter = NULL;
		sess_free(d, s, -ECANCELED, NULL);
		cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
		json_w_bool(&w, "cancelled", true);
		json_w_end(&w);
		cli_reply(d, c, d->reply, json_w_finish(&w));
		return 0;
	}
	case MS_UP:
		break;
	default:
		snprintf(msg, cap, "the session is %s", sess_state_name(s->state));
		return -EBUSY;
	}
	snprintf(r.target, sizeof(r.target), "%s", s->target);
	s->state = MS_STOPPING;
	if ((rc = sess_proxy(d, s, &r, c))) {
		s->state = MS_UP;
		snprintf(msg, cap, "the session process does not answer: %s",
			 strerror(-rc));
	}
	return rc;
}

int sess_proxy(struct mcsid *d, struct msess *s, const struct cp_request *r,
	       struct mclient *c)
{
	char req[1024];
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int fd, rc;

	int len = cp_request_encode(r, req, sizeof(req));
	if (len < 0)
		return len;
	if ((rc = usock_connect(s->socket, &fd)))
		return rc;
	/* The socket must be the one of the process we know. */
	if ((rc = usock_peer(fd, &pid, &uid, &gid)) == 0 && pid != s->pid)
		rc = -ESTALE;
	if (rc == 0)
		rc = usock_send_frame(fd, req, (size_t)len, 2000);
	struct proxy *p = rc ? NULL : calloc(1, sizeof(*p));
	if (p) {
		p->rb.buf = malloc(LAUNCH_BUF);
		p->rb.cap = LAUNCH_BUF;
	}
	if (rc || !p || !p->rb.buf || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		if (p)
			free(p->rb.buf);
		free(p);
		close(fd);
		return rc ? rc : -ENOMEM;
	}
	p->src.kind = SRC_PROXY;
	p->src.fd = fd;
	p->client = c;
	p->sess = s;
	p->op = r->op;
	p->deadline = usock_now_ms() + MCSID_PROXY_MS;
	if ((rc = mcsid_watch(d, &p->src))) {
		close(fd);
		free(p->rb.buf);
		free(p);
		return rc;
	}
	p->next = d->proxies;
	d->proxies = p;
	if (c)
		c->waiting = WAIT_PROXY;
	return 0;
}

static void proxy_done(struct mcsid *d, struct proxy *p, const char *buf, int len)
{
	struct proxy **pp = &d->proxies;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	close_src(d, &p->src);
	/* A logout that failed leaves the session as it was. */
	if (p->op == CP_OP_LOGOUT && p->sess && p->sess->state == MS_STOPPING &&
	    p->sess->pidfd.fd >= 0) {
		struct json_tok t[16];
		struct cp_reply r;
		const char *why;
		if (len < 0 || cp_reply_parse(buf, (size_t)len, t, 16, &r, &why) || !r.ok)
			p->sess->state = MS_UP;
	}
	struct mclient *c = p->client;
	struct msess *s = p->sess;
	bool held = c && p->op == CP_OP_LOGOUT && s && s->state == MS_STOPPING &&
		    logout_answer_hold(s, c, buf, len);
	if (c && !held)
		cli_reply_async(d, c, buf, len);
	free(p->rb.buf);
	free(p);
}

void proxy_readable(struct mcsid *d, struct proxy *p)
{
	char *payload;
	uint32_t len;
	int n = usock_rbuf_fill(p->src.fd, &p->rb);

	if (n == -EAGAIN)
		return;
	int f = n > 0 ? usock_rbuf_frame(&p->rb, &payload, &len) : 0;
	if (f == 1) {
		proxy_done(d, p, payload, (int)len);
	} else if (n <= 0 || f < 0) {
		int e = cp_reply_error(d->reply, CP_FRAME_MAX, -EIO,
				       "the session process closed the connection");
		proxy_done(d, p, d->reply, e);
	}
}

/* Handles at most one due timer per call, because handling one may
 * answer a client and so run its next request, which may change the
 * lists; the loop comes back at once. */
int64_t sess_timers(struct mcsid *d, int64_t now)
{
	int64_t next = -1;
	char msg[CP_TEXT_MAX + 1];

	for (struct msess *s = d->sessions; s; s = s->next) {
		int64_t due = s->state == MS_STARTING ? s->deadline
			      : s->state == MS_BACKOFF ? s->retry_at
			      : s->state == MS_STOPPING && s->logout_answer ? s->deadline : -1;
		if (due < 0)
			continue;
		if (due > now) {
			next = next < 0 || due - now < next ? due - now : next;
			continue;
		}
		if (s->state == MS_STOPPING) {
			log_peer_warn(s->target, "session process %d has not exited %d s after "
				      "its logout", (int)s->pid, MCSID_EXIT_MS / 1000);
			logout_answer_give(d, s);
		} else if (s->state == MS_STARTING) {
			/* Ours and stuck in the login: end it by its pidfd. */
			if (s->pidfd.fd >= 0)
				pidfd_send_signal(s->pidfd.fd, SIGKILL, NULL, 0);
			login_failed(d, s, -ETIMEDOUT, "the login took too long");
		} else if (s->pidfd.fd >= 0) {
			s->retry_at = now + 100;   /* the last process has not exited yet */
		} else if (start_login(d, s, msg, sizeof(msg))) {
			snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
			log_peer_err(s->target, "cannot log in: %s", msg);
			schedule_retry(d, s);
		}
		return 0;
	}
	for (struct proxy *p = d->proxies; p; p = p->next) {
		if (p->deadline <= now) {
			int e = cp_reply_error(d->reply, CP_FRAME_MAX, -ETIMEDOUT,
					       "the session process did not answer in time");
			proxy_done(d, p, d->reply, e);
			return 0;
		}
		if (next < 0 || p->deadline - now < next)
			next = p->deadline - now;
	}
	return next;
}

void sess_auto_login(struct mcsid *d)
{
	char msg[CP_TEXT_MAX + 1];

	mcsid_config_refresh(d, false);
	for (size_t i = 0; i < d->cfg->n_targets; i++) {
		const struct cfg_target *ct = &d->cfg->targets[i];
		char name[URL_NAME_MAX + 1];
		if (!ct->auto_login || sess_find(d, ct->name))
			continue;
		/* A login may reload the configuration under our feet. */
		snprintf(name, sizeof(name), "%s", ct->name);
		if (sess_login(d, name, NULL, NULL, true, msg, sizeof(msg)))
			log_peer_err(name, "auto-login: %s", msg);
	}
}
