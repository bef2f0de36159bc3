/* SPDX-License-Identifier: MIT */
/* iscsictl through mcsid (client.h). */
#include "tools/iscsictl/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/url.h"
#include "supervisor/ctlproto.h"
#include "supervisor/usock.h"
#include "tools/iscsictl/out.h"

#define SOCKET_DEFAULT   "/run/mcsi/mcsid.sock"
#define LOGIN_WAIT_MS    150000   /* mcsid gives a login 120 s */
#define LOGOUT_WAIT_MS   120000
#define QUERY_WAIT_MS    100000   /* list luns goes on to the session */

static int socket_path(char *buf, size_t cap)
{
	const char *s = getenv("MCSI_SOCKET");
	const char *dir = getenv("MCSI_RUN_DIR");
	int n;

	if (s && s[0])
		n = snprintf(buf, cap, "%s", s);
	else if (dir && dir[0])
		n = snprintf(buf, cap, "%s/mcsid.sock", dir);
	else
		n = snprintf(buf, cap, "%s", SOCKET_DEFAULT);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

bool client_absent(int err)
{
	return err == -ENOENT || err == -ECONNREFUSED;
}

int client_connect(int *fd)
{
	char path[108];
	struct stat st;
	int rc = socket_path(path, sizeof(path));

	if (rc)
		return rc;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	/* Whoever owns the socket hears our requests: only root or us. */
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return -EPERM;
	return usock_connect(path, fd);
}

void client_connect_error(int err)
{
	char path[108] = "";
	socket_path(path, sizeof(path));
	fprintf(stderr, "iscsictl: cannot reach mcsid at %s: %s\n", path,
		err == -EPERM ? "the socket belongs to another user; not trusted"
		: err == -EACCES ? "permission denied (mcsid takes requests from root)"
		: strerror(-err));
}

void client_reply_free(struct client_reply *c)
{
	free(c->text);
	free(c->toks);
	c->text = NULL;
	c->toks = NULL;
}

static int call(int fd, const struct cp_request *req, int timeout_ms, struct client_reply *c)
{
	char buf[1024];
	const char *why = NULL;
	int n = cp_request_encode(req, buf, sizeof(buf));
	int rc;

	memset(c, 0, sizeof(*c));
	c->text = malloc(CP_FRAME_MAX + 1);
	c->toks = malloc(CP_TOKENS_MAX * sizeof(*c->toks));
	if (!c->text || !c->toks) {
		rc = -ENOMEM;
		goto fail;
	}
	if (n < 0) {
		rc = n;
		goto fail;
	}
	/* A refused peer may find its answer waiting instead of the request
	 * going through: read the reply whatever the send said. */
	int src = usock_send_frame(fd, buf, (size_t)n, 5000);
	rc = usock_recv_frame(fd, c->text, CP_FRAME_MAX + 1, &c->len, timeout_ms);
	if (rc && src)
		rc = src;
	if (rc == 0 && cp_reply_parse(c->text, c->len, c->toks, CP_TOKENS_MAX, &c->r, &why)) {
		fprintf(stderr, "iscsictl: mcsid sent a malformed reply: %s\n", why);
		client_reply_free(c);
		return -EPROTO;
	}
	if (rc == 0)
		return 0;
fail:
	fprintf(stderr, "iscsictl: mcsid did not answer: %s\n", strerror(-rc));
	client_reply_free(c);
	return rc;
}

int client_request(const struct cp_request *req, int timeout_ms,
		   struct client_reply *c)
{
	int fd, rc;

	memset(c, 0, sizeof(*c));
	if ((rc = client_connect(&fd))) {
		client_connect_error(rc);
		return rc;
	}
	rc = call(fd, req, timeout_ms, c);
	close(fd);
	return rc;
}

/* Prints the members of the object at toks[obj] as out.h fields. */
static void print_members(struct out *o, const char *s, const struct json_tok *t,
			  size_t obj, const char *skip)
{
	char *v = malloc(CP_FRAME_MAX);
	if (!v)
		return;
	size_t k = obj + 1;
	for (uint32_t m = 0; m < t[obj].count; m++, k = t[k + 1].next) {
		char key[64];
		size_t len;
		const struct json_tok *val = &t[k + 1];
		uint64_t u;
		bool b;

		if (json_str(s, &t[k], key, sizeof(key), NULL) || (skip && !strcmp(key, skip)))
			continue;
		switch (val->type) {
		case JSON_STRING:
			if (json_str(s, val, v, CP_FRAME_MAX, &len) == 0)
				out_strn(o, key, v, len);
			break;
		case JSON_NUMBER:
			if (!o->json && strcmp(key, "since") == 0 &&
			    json_u64(s, val, INT64_MAX, &u) == 0) {
				/* People read dates; scripts take --json. */
				time_t when = (time_t)u;
				struct tm tm;
				char date[64];
				if (localtime_r(&when, &tm) &&
				    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", &tm))
					out_str(o, key, date);
			} else if (json_u64(s, val, UINT64_MAX, &u) == 0) {
				out_u64(o, key, u);
			} else {
				out_strn(o, key, s + val->start, val->len);
			}
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			json_bool(val, &b);
			out_bool(o, key, b);
			break;
		case JSON_ARRAY:
			out_sublist_begin(o, key);
			for (uint32_t i = 0; i < val->count; i++) {
				int e = json_elem(t, (size_t)(val - t), i);
				if (t[e].type == JSON_OBJECT) {
					out_record_begin(o, NULL);
					print_members(o, s, t, (size_t)e, NULL);
					out_record_end(o);
				} else if (json_str(s, &t[e], v, CP_FRAME_MAX, NULL) == 0) {
					out_item(o, v);
				}
			}
			out_sublist_end(o);
			break;
		case JSON_OBJECT:
			out_sublist_begin(o, key);
			out_record_begin(o, NULL);
			print_members(o, s, t, (size_t)(val - t), NULL);
			out_record_end(o);
			out_sublist_end(o);
			break;
		default:
			break;
		}
	}
	free(v);
}

int client_parse_target(const char *arg, struct cp_request *r, bool creds_ok)
{
	const char *why = NULL;

	if (strncasecmp(arg, "iscsi://", 8) == 0) {
		struct url_iscsi u;
		if (url_parse_iscsi(arg, strlen(arg), &u, &why) || !u.has_target) {
			fprintf(stderr, "iscsictl: '%s': %s\n", arg, why ? why : "names no target");
			url_iscsi_wipe(&u);
			return -EINVAL;
		}
		bool user = u.has_user;
		snprintf(r->target, sizeof(r->target), "%s", u.target);
		r->portal = u.portal;
		r->has_portal = true;
		r->lun = u.lun;
		r->has_lun = u.has_lun;
		url_iscsi_wipe(&u);
		if (user && !creds_ok) {
			fprintf(stderr, "iscsictl: mcsid does not take credentials in a URL; "
					"configure CHAP (iscsictl modify initiator-config "
					"-authentication CHAP -CHAP-name ... -CHAP-secret)\n");
			return -EINVAL;
		}
	} else {
		struct url_target t;
		if (url_parse_target(arg, strlen(arg), &t, &why)) {
			fprintf(stderr, "iscsictl: target '%s': %s\n", arg, why);
			return -EINVAL;
		}
		snprintf(r->target, sizeof(r->target), "%s", t.name);
		r->portal = t.portal;
		r->has_portal = t.has_portal;
	}
	r->has_target = true;
	return 0;
}

static int failed(const char *target, const struct client_reply *c)
{
	fprintf(stderr, "iscsictl: %s%s%s\n", target ? target : "", target ? ": " : "",
		c->r.error);
	return EXIT_FAIL;
}

int client_login(const struct ctl_opts *o, int fd, const char *arg)
{
	struct cp_request r = { .op = CP_OP_LOGIN };
	struct client_reply c;
	int rc = client_parse_target(arg, &r, false);

	r.has_lun = false;
	if (rc == 0)
		rc = call(fd, &r, LOGIN_WAIT_MS, &c);
	close(fd);
	if (rc)
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (!c.r.ok) {
		rc = failed(r.target, &c);
		client_reply_free(&c);
		return rc;
	}
	struct out out;
	int sess = json_get(c.text, c.toks, 0, "session");
	int luns = json_get(c.text, c.toks, 0, "luns");
	out_init(&out, stdout, o->json);
	out_list_begin(&out, "sessions");
	out_record_begin(&out, NULL);
	if (sess >= 0)
		print_members(&out, c.text, c.toks, (size_t)sess, NULL);
	if (luns >= 0) {
		/* The same shape as the direct login's LUN list. */
		out_sublist_begin(&out, "luns");
		for (uint32_t i = 0; i < c.toks[luns].count; i++) {
			int e = json_elem(c.toks, (size_t)luns, i);
			out_record_begin(&out, NULL);
			print_members(&out, c.text, c.toks, (size_t)e, NULL);
			out_record_end(&out);
		}
		out_sublist_end(&out);
	}
	out_record_end(&out);
	out_list_end(&out);
	out_done(&out);
	client_reply_free(&c);
	return EXIT_OK;
}

int client_logout(const struct ctl_opts *o, int fd, const char *arg)
{
	struct cp_request r = { .op = CP_OP_LOGOUT };
	struct client_reply c;
	int rc = client_parse_target(arg, &r, true);
	(void)o;

	if (rc == 0)
		rc = call(fd, &r, LOGOUT_WAIT_MS, &c);
	close(fd);
	if (rc)
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (!c.r.ok) {
		rc = failed(r.target, &c);
	} else {
		bool cancelled = false;
		json_get_bool(c.text, c.toks, 0, "cancelled", &cancelled);
		printf("%s %s\n", cancelled ? "stopped reconnecting to" : "logged out of",
		       r.target);
		rc = EXIT_OK;
	}
	client_reply_free(&c);
	return rc;
}

int client_list_sessions(const struct ctl_opts *o, int fd)
{
	struct cp_request r = { .op = CP_OP_LIST_SESSIONS };
	struct client_reply c;
	int rc = call(fd, &r, QUERY_WAIT_MS, &c);

	close(fd);
	if (rc)
		return EXIT_FAIL;
	if (!c.r.ok) {
		rc = failed(NULL, &c);
		client_reply_free(&c);
		return rc;
	}
	int arr = json_get(c.text, c.toks, 0, "sessions");
	struct out out;
	out_init(&out, stdout, o->json);
	out_list_begin(&out, "sessions");
	for (uint32_t i = 0; arr >= 0 && i < c.toks[arr].count; i++) {
		out_record_begin(&out, NULL);
		print_members(&out, c.text, c.toks, (size_t)json_elem(c.toks, (size_t)arr, i),
			      NULL);
		out_record_end(&out);
	}
	out_list_end(&out);
	out_done(&out);
	if (!o->json && (arr < 0 || c.toks[arr].count == 0))
		printf("no sessions\n");
	client_reply_free(&c);
	return EXIT_OK;
}

int client_list_luns(const struct ctl_opts *o, int fd, const char *arg)
{
	struct cp_request r = { .op = CP_OP_LIST_LUNS };
	struct client_reply c;
	int rc = client_parse_target(arg, &r, true);

	if (rc == 0)
		rc = call(fd, &r, QUERY_WAIT_MS, &c);
	close(fd);
	if (rc)
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (!c.r.ok) {
		rc = c.r.err == -ENOENT ? -1 : failed(r.target, &c);
		client_reply_free(&c);
		return rc;
	}
	struct out out;
	out_init(&out, stdout, o->json);
	out_list_begin(&out, "targets");
	out_record_begin(&out, NULL);
	print_members(&out, c.text, c.toks, 0, "ok");
	out_record_end(&out);
	out_list_end(&out);
	out_done(&out);
	client_reply_free(&c);
	return EXIT_OK;
}
