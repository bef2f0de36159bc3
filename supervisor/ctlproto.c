/* SPDX-License-Identifier: MIT */
/* The control protocol's framing and messages (ctlproto.h). */
#include "supervisor/ctlproto.h"

#include <errno.h>
#include <string.h>

/* Requests, launch messages and state files are small and flat. */
#define SMALL_TOKENS 96u

static const char *const op_names[CP_OP_COUNT_] = {
	[CP_OP_STATUS] = "status",
	[CP_OP_LIST_SESSIONS] = "list-sessions",
	[CP_OP_LIST_LUNS] = "list-luns",
	[CP_OP_LOGIN] = "login",
	[CP_OP_LOGOUT] = "logout",
	[CP_OP_RESCAN] = "rescan",
	[CP_OP_RELOAD] = "reload",
	[CP_OP_IO] = "io",
};

const char *cp_op_name(enum cp_op op)
{
	return (unsigned)op < CP_OP_COUNT_ ? op_names[op] : NULL;
}

/* ---- framing ------------------------------------------------------------ */

void cp_frame_header(uint8_t hdr[CP_HDR_LEN], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int cp_frame_get(const uint8_t *buf, size_t len, const uint8_t **payload,
		 uint32_t *plen)
{
	if (len < CP_HDR_LEN)
		return 0;
	uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
		     (uint32_t)buf[2] << 8 | buf[3];
	if (n > CP_FRAME_MAX)
		return -EMSGSIZE;
	if (n == 0)
		return -EPROTO;
	if (len - CP_HDR_LEN < n)
		return 0;
	*payload = buf + CP_HDR_LEN;
	*plen = n;
	return (int)(CP_HDR_LEN + n);
}

/* ---- shared field helpers ----------------------------------------------- */

static int get_name(const char *s, const struct json_tok *t, size_t obj,
		    const char *key, char out[URL_NAME_MAX + 1], bool *has,
		    const char **why)
{
	char raw[URL_NAME_MAX + 2];
	int rc = json_get_str(s, t, obj, key, raw, sizeof(raw));
	if (rc == -ENOENT) {
		if (has)
			*has = false;
		return 0;
	}
	if (rc) {
		*why = "an iSCSI name must be a string of at most 223 bytes";
		return -EPROTO;
	}
	if (url_name_normalize(raw, strlen(raw), out, why))
		return -EPROTO;
	if (has)
		*has = true;
	return 0;
}

static int get_portal(const char *s, const struct json_tok *t, size_t obj,
		      const char *key, struct url_portal *p, bool *has,
		      const char **why)
{
	char raw[URL_PORTAL_STRMAX + 1];
	int rc = json_get_str(s, t, obj, key, raw, sizeof(raw));
	if (rc == -ENOENT) {
		*has = false;
		return 0;
	}
	if (rc) {
		*why = "a portal must be a string \"host:port\"";
		return -EPROTO;
	}
	if (url_parse_portal(raw, strlen(raw), p, why))
		return -EPROTO;
	*has = true;
	return 0;
}

/* A text member: absent is "", present must be a string without NULs or
 * control characters that fits. */
static int get_text(const char *s, const struct json_tok *t, size_t obj,
		    const char *key, char *out, size_t cap, const char **why)
{
	size_t len;
	int i = json_get(s, t, obj, key);

	out[0] = '\0';
	if (i == -ENOENT)
		return 0;
	if (json_str(s, &t[i], out, cap, &len)) {
		*why = "a text value is not a string or is too long";
		return -EPROTO;
	}
	for (size_t k = 0; k < len; k++) {
		if ((unsigned char)out[k] < 0x20 || out[k] == 0x7f) {
			out[0] = '\0';
			*why = "control character in a text value";
			return -EPROTO;
		}
	}
	return 0;
}

static int get_uint(const char *s, const struct json_tok *t, size_t obj,
		    const char *key, uint64_t max, uint64_t *out, bool *has,
		    const char **why)
{
	int rc = json_get_u64(s, t, obj, key, max, out);
	if (rc == -ENOENT) {
		*has = false;
		return 0;
	}
	if (rc) {
		*why = "a number is malformed or out of range";
		return -EPROTO;
	}
	*has = true;
	return 0;
}

static int get_flag(const char *s, const struct json_tok *t, size_t obj,
		    const char *key, bool *out, const char **why)
{
	int rc = json_get_bool(s, t, obj, key, out);
	if (rc == -ENOENT) {
		*out = false;
		return 0;
	}
	if (rc) {
		*why = "a flag is not true or false";
		return -EPROTO;
	}
	return 0;
}

static int parse_object(const char *buf, size_t len, struct json_tok *t,
			size_t max, const char **why)
{
	size_t n;
	int rc = json_parse(buf, len, t, max, &n, why);
	if (rc == -ENOSPC)
		*why = "message has too many values";
	if (rc)
		return -EPROTO;
	if (t[0].type != JSON_OBJECT) {
		*why = "message is not a JSON object";
		return -EPROTO;
	}
	return 0;
}

static void w_portal(struct json_w *w, const char *key, const struct url_portal *p)
{
	char b[URL_PORTAL_STRMAX];
	if (url_format_portal(p, b, sizeof(b)) < 0)
		w->err = -EINVAL;
	else
		json_w_str(w, key, b);
}

/* ---- requests ----------------------------------------------------------- */

static bool op_needs_target(enum cp_op op)
{
	return op == CP_OP_LOGIN || op == CP_OP_LOGOUT || op == CP_OP_LIST_LUNS;
}

static bool op_takes_target(enum cp_op op)
{
	return op_needs_target(op) || op == CP_OP_RESCAN || op == CP_OP_STATUS ||
	       op == CP_OP_LIST_SESSIONS;
}

int cp_request_encode(const struct cp_request *r, char *buf, size_t cap)
{
	struct json_w w;
	const char *name = cp_op_name(r->op);

	if (!name || (op_needs_target(r->op) && !r->has_target))
		return -EINVAL;
	if (r->op == CP_OP_IO &&
	    (!r->has_lun || r->blocks == 0 || r->blocks > CP_IO_MAX_BLOCKS))
		return -EINVAL;
	json_w_init(&w, buf, cap);
	json_w_obj(&w, NULL);
	json_w_str(&w, "op", name);
	if (r->has_target && op_takes_target(r->op))
		json_w_str(&w, "target", r->target);
	if (r->has_portal && r->op == CP_OP_LOGIN)
		w_portal(&w, "portal", &r->portal);
	if (r->has_lun)
		json_w_u64(&w, "lun", r->lun);
	if (r->op == CP_OP_IO) {
		json_w_u64(&w, "lba", r->lba);
		json_w_u64(&w, "blocks", r->blocks);
		json_w_u64(&w, "seed", r->seed);
		json_w_bool(&w, "write", r->write);
	}
	json_w_end(&w);
	return json_w_finish(&w);
}

int cp_request_decode(const char *buf, size_t len, struct cp_request *r,
		      const char **why)
{
	struct json_tok t[SMALL_TOKENS];
	uint64_t v;
	bool has;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = parse_object(buf, len, t, SMALL_TOKENS, why)))
		return rc;
	int i = json_get(buf, t, 0, "op");
	if (i < 0) {
		*why = "request has no \"op\"";
		return -EPROTO;
	}
	r->op = CP_OP_COUNT_;
	for (unsigned k = 0; k < CP_OP_COUNT_; k++)
		if (json_str_eq(buf, &t[i], op_names[k]))
			r->op = (enum cp_op)k;
	if (r->op == CP_OP_COUNT_) {
		*why = "unknown request";
		return -EPROTO;
	}
	if ((rc = get_name(buf, t, 0, "target", r->target, &r->has_target, why)) ||
	    (rc = get_portal(buf, t, 0, "portal", &r->portal, &r->has_portal, why)))
		return rc;
	v = 0;
	if ((rc = get_uint(buf, t, 0, "lun", URL_LUN_MAX, &v, &r->has_lun, why)))
		return rc;
	r->lun = r->has_lun ? (uint32_t)v : 0;
	if (op_needs_target(r->op) && !r->has_target) {
		*why = "request needs a \"target\"";
		return -EPROTO;
	}
	/* Members an op does not use are dropped, as the encoder drops them. */
	if (!op_takes_target(r->op)) {
		r->has_target = false;
		memset(r->target, 0, sizeof(r->target));
	}
	if (r->op != CP_OP_LOGIN) {
		r->has_portal = false;
		memset(&r->portal, 0, sizeof(r->portal));
	}
	if (r->op != CP_OP_IO)
		return 0;
	if (!r->has_lun) {
		*why = "io needs a \"lun\"";
		return -EPROTO;
	}
	v = 0;
	if ((rc = get_uint(buf, t, 0, "lba", UINT64_MAX, &r->lba, &has, why)) ||
	    (rc = get_uint(buf, t, 0, "blocks", CP_IO_MAX_BLOCKS, &v, &has, why)))
		return rc;
	if (v == 0) {
		*why = "io needs \"blocks\" from 1 to 2048";
		return -EPROTO;
	}
	r->blocks = (uint32_t)v;
	if ((rc = get_uint(buf, t, 0, "seed", UINT32_MAX, &v, &has, why)))
		return rc;
	r->seed = has ? (uint32_t)v : 0;
	return get_flag(buf, t, 0, "write", &r->write, why);
}

/* ---- replies -------------------------------------------------------------- */

int cp_reply_error(char *buf, size_t cap, int err, const char *msg)
{
	struct json_w w;
	json_w_init(&w, buf, cap);
	json_w_obj(&w, NULL);
	json_w_bool(&w, "ok", false);
	json_w_u64(&w, "errno", (uint64_t)(err < 0 ? -(int64_t)err : err));
	json_w_str(&w, "error", msg ? msg : strerror(err < 0 ? -err : err));
	json_w_end(&w);
	return json_w_finish(&w);
}

void cp_reply_ok_begin(struct json_w *w, char *buf, size_t cap)
{
	json_w_init(w, buf, cap);
	json_w_obj(w, NULL);
	json_w_bool(w, "ok", true);
}

int cp_reply_parse(const char *buf, size_t len, struct json_tok *toks,
		   size_t max, struct cp_reply *r, const char **why)
{
	uint64_t e = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = json_parse(buf, len, toks, max, &r->ntoks, why);
	if (rc)
		return rc;
	if (toks[0].type != JSON_OBJECT) {
		*why = "reply is not a JSON object";
		return -EPROTO;
	}
	if (json_get_bool(buf, toks, 0, "ok", &r->ok)) {
		*why = "reply has no \"ok\"";
		return -EPROTO;
	}
	if (r->ok)
		return 0;
	rc = json_get_u64(buf, toks, 0, "errno", 4095, &e);
	if (rc || e == 0) {
		*why = "failed reply without a valid \"errno\"";
		return -EPROTO;
	}
	r->err = -(int)e;
	if (get_text(buf, toks, 0, "error", r->error, sizeof(r->error), why)) {
		/* A message we cannot show is not worth refusing the reply. */
		strcpy(r->error, "(unreadable message)");
	}
	return 0;
}

/* ---- launch ----------------------------------------------------------------- */

int cp_launch_encode(const struct cp_launch *l, const struct cp_launch_secrets *s,
		     char *buf, size_t cap)
{
	struct json_w w;

	if ((l->chap && (s->chap_len == 0 || memchr(s->chap, 0, s->chap_len))) ||
	    (l->mutual && (s->target_len == 0 || memchr(s->target, 0, s->target_len))) ||
	    (l->mutual && !l->chap))
		return -EINVAL;
	json_w_init(&w, buf, cap);
	json_w_obj(&w, NULL);
	json_w_str(&w, "target", l->target);
	w_portal(&w, "portal", &l->portal);
	json_w_str(&w, "initiator", l->initiator);
	if (l->alias[0])
		json_w_str(&w, "alias", l->alias);
	json_w_bool(&w, "header-digest", l->header_digest);
	json_w_bool(&w, "data-digest", l->data_digest);
	json_w_i64(&w, "replacement-timeout-ms", l->replacement_ms);
	if (l->connections > 1)
		json_w_u64(&w, "connections", l->connections);
	if (l->erl != CP_ERL_DEFAULT)
		json_w_u64(&w, "error-recovery-level", l->erl);
	if (l->time2wait)
		json_w_u64(&w, "default-time2wait", l->time2wait);
	if (l->time2retain)
		json_w_u64(&w, "default-time2retain", l->time2retain);
	if (l->no_quirks)
		json_w_bool(&w, "no-quirks", true);
	if (l->portals[0])
		json_w_str(&w, "portals", l->portals);
	if (l->sched[0])
		json_w_str(&w, "sched", l->sched);
	if (l->chap) {
		json_w_str(&w, "chap-name", l->chap_name);
		json_w_strn(&w, "chap-secret", s->chap, s->chap_len);
	}
	if (l->mutual) {
		json_w_str(&w, "target-chap-name", l->target_chap_name);
		json_w_strn(&w, "target-secret", s->target, s->target_len);
	}
	json_w_end(&w);
	return json_w_finish(&w);
}

static int get_secret(const char *buf, const struct json_tok *t, const char *key,
		      char *out, size_t cap, size_t *len, bool *has,
		      const char **why)
{
	int i = json_get(buf, t, 0, key);
	*has = i >= 0;
	if (i < 0)
		return 0;
	if (json_str(buf, &t[i], out, cap, len) || *len == 0 || memchr(out, 0, *len)) {
		*why = "a CHAP secret is malformed, empty or too long";
		return -EPROTO;
	}
	return 0;
}

/* "host:port,host:port": every item a portal. */
static int check_portals(const char *list, const char **why)
{
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct url_portal up;
		const char *w = NULL;
		if (n == 0 || url_parse_portal(p, n, &up, &w) < 0) {
			*why = "launch names a malformed portal in its portal list";
			return -EPROTO;
		}
		p += n + (end ? 1 : 0);
	}
	return 0;
}

int cp_launch_decode(const char *buf, size_t len, struct cp_launch *l,
		     struct cp_launch_secrets *s, const char **why)
{
	struct json_tok t[SMALL_TOKENS];
	bool has, has_secret;
	int rc;

	memset(l, 0, sizeof(*l));
	explicit_bzero(s, sizeof(*s));
	if ((rc = parse_object(buf, len, t, SMALL_TOKENS, why)))
		return rc;
	if ((rc = get_name(buf, t, 0, "target", l->target, &has, why)))
		goto out;
	if (!has) {
		*why = "launch names no target";
		rc = -EPROTO;
		goto out;
	}
	if ((rc = get_portal(buf, t, 0, "portal", &l->portal, &has, why)))
		goto out;
	if (!has) {
		*why = "launch names no portal";
		rc = -EPROTO;
		goto out;
	}
	if ((rc = get_name(buf, t, 0, "initiator", l->initiator, &has, why)))
		goto out;
	if (!has) {
		*why = "launch names no initiator";
		rc = -EPROTO;
		goto out;
	}
	if ((rc = get_text(buf, t, 0, "alias", l->alias, sizeof(l->alias), why)) ||
	    (rc = get_flag(buf, t, 0, "header-digest", &l->header_digest, why)) ||
	    (rc = get_flag(buf, t, 0, "data-digest", &l->data_digest, why)))
		goto out;
	uint64_t rms = CP_REPLACEMENT_MS_DEFAULT;
	if ((rc = get_uint(buf, t, 0, "replacement-timeout-ms", UINT32_MAX, &rms, &has, why)))
		goto out;
	l->replacement_ms = has ? (uint32_t)rms : CP_REPLACEMENT_MS_DEFAULT;
	uint64_t nconn = 1;
	if ((rc = get_uint(buf, t, 0, "connections", 65535, &nconn, &has, why)))
		goto out;
	l->connections = has && nconn > 0 ? (uint32_t)nconn : 1;
	uint64_t erl = CP_ERL_DEFAULT;
	if ((rc = get_uint(buf, t, 0, "error-recovery-level", 2, &erl, &has, why)))
		goto out;
	l->erl = (uint8_t)erl;
	uint64_t t2w = 0, t2r = 0;
	if ((rc = get_uint(buf, t, 0, "default-time2wait", 3600, &t2w, &has, why)) ||
	    (rc = get_uint(buf, t, 0, "default-time2retain", 3600, &t2r, &has, why)))
		goto out;
	l->time2wait = (uint16_t)t2w;
	l->time2retain = (uint16_t)t2r;
	if ((rc = get_flag(buf, t, 0, "no-quirks", &l->no_quirks, why)))
		goto out;
	if ((rc = get_text(buf, t, 0, "portals", l->portals, sizeof(l->portals), why)) ||
	    (rc = check_portals(l->portals, why)) ||
	    (rc = get_text(buf, t, 0, "sched", l->sched, sizeof(l->sched), why)))
		goto out;
	/* A policy name: the session library knows which ones exist. */
	for (size_t k = 0; l->sched[k]; k++) {
		if ((l->sched[k] < 'a' || l->sched[k] > 'z') && l->sched[k] != '-') {
			l->sched[0] = '\0';
			*why = "a scheduling policy that is no name";
			rc = -EPROTO;
			goto out;
		}
	}
	if ((rc = get_secret(buf, t, "chap-secret", s->chap, sizeof(s->chap),
			     &s->chap_len, &has_secret, why)) ||
	    (rc = get_text(buf, t, 0, "chap-name", l->chap_name,
			   sizeof(l->chap_name), why)))
		goto out;
	l->chap = has_secret;
	if (!l->chap)
		memset(l->chap_name, 0, sizeof(l->chap_name));   /* no secret, no name */
	if (l->chap && !l->chap_name[0]) {
		*why = "CHAP secret without a CHAP name";
		rc = -EPROTO;
		goto out;
	}
	if ((rc = get_secret(buf, t, "target-secret", s->target, sizeof(s->target),
			     &s->target_len, &has_secret, why)) ||
	    (rc = get_text(buf, t, 0, "target-chap-name", l->target_chap_name,
			   sizeof(l->target_chap_name), why)))
		goto out;
	l->mutual = has_secret;
	if (!l->mutual)
		memset(l->target_chap_name, 0, sizeof(l->target_chap_name));
	if (l->mutual && (!l->chap || !l->target_chap_name[0])) {
		*why = "mutual CHAP needs our CHAP and the target's CHAP name";
		rc = -EPROTO;
	}
out:
	if (rc)
		explicit_bzero(s, sizeof(*s));
	return rc;
}

/* ---- state files ---------------------------------------------------------- */

const char *cp_sess_state_name(enum cp_sess_state s)
{
	return s == CP_SESS_UP ? "up" : "lost";
}

int cp_state_encode(const struct cp_state *st, char *buf, size_t cap)
{
	struct json_w w;
	json_w_init(&w, buf, cap);
	json_w_obj(&w, NULL);
	json_w_i64(&w, "pid", st->pid);
	json_w_str(&w, "state", cp_sess_state_name(st->state));
	json_w_str(&w, "target", st->target);
	w_portal(&w, "portal", &st->portal);
	json_w_str(&w, "socket", st->socket);
	json_w_i64(&w, "since", st->since);
	if (st->error[0])
		json_w_str(&w, "error", st->error);
	json_w_end(&w);
	return json_w_finish(&w);
}

int cp_state_decode(const char *buf, size_t len, struct cp_state *st,
		    const char **why)
{
	struct json_tok t[SMALL_TOKENS];
	uint64_t v;
	bool has;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = parse_object(buf, len, t, SMALL_TOKENS, why)))
		return rc;
	if ((rc = get_uint(buf, t, 0, "pid", INT32_MAX, &v, &has, why)))
		return rc;
	if (!has || v < 2) {
		*why = "state file has no valid pid";
		return -EPROTO;
	}
	st->pid = (int32_t)v;
	int i = json_get(buf, t, 0, "state");
	if (i >= 0 && json_str_eq(buf, &t[i], "up")) {
		st->state = CP_SESS_UP;
	} else if (i >= 0 && json_str_eq(buf, &t[i], "lost")) {
		st->state = CP_SESS_LOST;
	} else {
		*why = "state file has no valid state";
		return -EPROTO;
	}
	if ((rc = get_name(buf, t, 0, "target", st->target, &has, why)))
		return rc;
	if (!has) {
		*why = "state file names no target";
		return -EPROTO;
	}
	if ((rc = get_portal(buf, t, 0, "portal", &st->portal, &has, why)))
		return rc;
	if (!has) {
		*why = "state file names no portal";
		return -EPROTO;
	}
	size_t slen = 0;
	i = json_get(buf, t, 0, "socket");
	if (i < 0 || json_str(buf, &t[i], st->socket, sizeof(st->socket), &slen) ||
	    st->socket[0] != '/' || strlen(st->socket) != slen) {
		*why = "state file has no valid socket path";
		return -EPROTO;
	}
	i = json_get(buf, t, 0, "since");
	if (i < 0 || json_i64(buf, &t[i], &st->since)) {
		*why = "state file has no valid time";
		return -EPROTO;
	}
	return get_text(buf, t, 0, "error", st->error, sizeof(st->error), why);
}
