/* SPDX-License-Identifier: MIT */
/*
 * The control protocol as a peer could send it: frames, then each
 * payload as a request, a reply, a launch message, a state file and plain
 * JSON. Nothing may crash; a refusal always has a reason; whatever a
 * decoder accepts must encode and decode back to the same thing, and a
 * JSON document re-written by the writer must parse to the same shape.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/ctlproto.h"
#include "supervisor/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKS 512

/* Re-writes the value at t[i] with the writer (strings decoded and
 * re-escaped). Returns the index after it. */
static size_t rewrite(const char *s, const struct json_tok *t, size_t i,
		      struct json_w *w, const char *key, char *scratch)
{
	size_t len, k;
	switch (t[i].type) {
	case JSON_NULL: json_w_null(w, key); return i + 1;
	case JSON_TRUE: json_w_bool(w, key, true); return i + 1;
	case JSON_FALSE: json_w_bool(w, key, false); return i + 1;
	case JSON_NUMBER: json_w_raw(w, key, s + t[i].start, t[i].len); return i + 1;
	case JSON_STRING:
		if (json_str(s, &t[i], scratch, 65536, &len))
			abort();
		json_w_strn(w, key, scratch, len);
		return i + 1;
	case JSON_ARRAY:
		json_w_arr(w, key);
		for (k = i + 1; k < t[i].next;)
			k = rewrite(s, t, k, w, NULL, scratch);
		json_w_end(w);
		return t[i].next;
	default:
		json_w_obj(w, key);
		for (k = i + 1; k < t[i].next;) {
			char name[65536];
			size_t nlen;
			if (json_str(s, &t[k], name, sizeof(name), &nlen))
				abort();
			/* Keys with NULs cannot be passed as C strings: stop here. */
			if (strlen(name) != nlen) {
				w->err = -EINVAL;
				return t[i].next;
			}
			k = rewrite(s, t, k + 1, w, name, scratch);
		}
		json_w_end(w);
		return t[i].next;
	}
}

static void check_json(const char *s, size_t len)
{
	static struct json_tok t[TOKS], t2[TOKS];
	static char out[1 << 18], scratch[65536];
	const char *why = NULL;
	size_t n, n2;

	int rc = json_parse(s, len, t, TOKS, &n, &why);
	if (rc) {
		if (!why || (rc != -EPROTO && rc != -ENOSPC))
			abort();
		return;
	}
	if (len > 60000)
		return;
	struct json_w w;
	json_w_init(&w, out, sizeof(out));
	rewrite(s, t, 0, &w, NULL, scratch);
	int olen = json_w_finish(&w);
	if (olen == -EINVAL)
		return;                    /* a key with a NUL */
	if (olen < 0)
		abort();
	if (json_parse(out, (size_t)olen, t2, TOKS, &n2, &why) || n2 != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (t[i].type != t2[i].type || t[i].count != t2[i].count ||
		    t[i].next != t2[i].next)
			abort();
}

/* The port is always written, so has_port may differ after a cycle. */
static int portal_cmp(const struct url_portal *a, const struct url_portal *b)
{
	return strcmp(a->host, b->host) || a->port != b->port || a->kind != b->kind;
}

static void check_request(const char *s, size_t len)
{
	struct cp_request r, r2;
	char buf[2048];
	const char *why = NULL;

	if (cp_request_decode(s, len, &r, &why)) {
		if (!why)
			abort();
		return;
	}
	int n = cp_request_encode(&r, buf, sizeof(buf));
	if (n < 0 || cp_request_decode(buf, (size_t)n, &r2, &why))
		abort();
	if (r.op != r2.op || r.has_target != r2.has_target ||
	    strcmp(r.target, r2.target) || r.has_lun != r2.has_lun || r.lun != r2.lun)
		abort();
	if (r.op == CP_OP_LOGIN && (r.has_portal != r2.has_portal ||
				    (r.has_portal && portal_cmp(&r.portal, &r2.portal))))
		abort();
	if (r.op == CP_OP_IO && (r.lba != r2.lba || r.blocks != r2.blocks ||
				 r.seed != r2.seed || r.write != r2.write))
		abort();
}

static void check_launch(const char *s, size_t len)
{
	struct cp_launch l, l2;
	struct cp_launch_secrets sec, sec2;
	char buf[4096];
	const char *why = NULL;

	if (cp_launch_decode(s, len, &l, &sec, &why)) {
		if (!why || sec.chap_len || sec.target_len)
			abort();
		return;
	}
	int n = cp_launch_encode(&l, &sec, buf, sizeof(buf));
	if (n < 0 || cp_launch_decode(buf, (size_t)n, &l2, &sec2, &why))
		abort();
	if (portal_cmp(&l.portal, &l2.portal))
		abort();
	l2.portal = l.portal;
	if (memcmp(&l, &l2, sizeof(l)) != 0 || sec.chap_len != sec2.chap_len ||
	    memcmp(sec.chap, sec2.chap, sec.chap_len) ||
	    sec.target_len != sec2.target_len ||
	    memcmp(sec.target, sec2.target, sec.target_len))
		abort();
}

static void check_state(const char *s, size_t len)
{
	struct cp_state st, st2;
	char buf[2048];
	const char *why = NULL;

	if (cp_state_decode(s, len, &st, &why)) {
		if (!why)
			abort();
		return;
	}
	int n = cp_state_encode(&st, buf, sizeof(buf));
	if (n < 0 || cp_state_decode(buf, (size_t)n, &st2, &why) ||
	    portal_cmp(&st.portal, &st2.portal))
		abort();
	st2.portal = st.portal;
	if (memcmp(&st, &st2, sizeof(st)) != 0)
		abort();
}

static void check_reply(const char *s, size_t len)
{
	static struct json_tok t[TOKS];
	struct cp_reply r;
	const char *why = NULL;

	if (cp_reply_parse(s, len, t, TOKS, &r, &why)) {
		if (!why)
			abort();
		return;
	}
	if (!r.ok && (r.err >= 0 || r.err < -4095))
		abort();
}

static void check_payload(const char *s, size_t len)
{
	check_json(s, len);
	check_request(s, len);
	check_reply(s, len);
	check_launch(s, len);
	check_state(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	uint32_t plen;
	size_t off = 0;
	int rc;

	/* The bytes as a stream of frames... */
	while ((rc = cp_frame_get(data + off, size - off, &p, &plen)) > 0) {
		if (p != data + off + CP_HDR_LEN || (size_t)rc != CP_HDR_LEN + plen)
			abort();
		check_payload((const char *)p, plen);
		off += (size_t)rc;
	}
	if (rc < 0 && rc != -EMSGSIZE && rc != -EPROTO)
		abort();
	/* ...and as one payload. */
	check_payload((const char *)data, size);
	return 0;
}
