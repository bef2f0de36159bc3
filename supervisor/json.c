/* SPDX-License-Identifier: MIT */
/* The control protocol's JSON reader and writer (json.h). */
#include "supervisor/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proto/text.h"

/* ---- reader ------------------------------------------------------------ */

struct jp {
	const char *s;
	size_t len, pos;
	struct json_tok *toks;
	size_t max, n;
	const char *why;
};

static void skip_ws(struct jp *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int fail(struct jp *p, const char *why)
{
	p->why = why;
	return -EPROTO;
}

static int new_tok(struct jp *p, enum json_type type, size_t *idx)
{
	if (p->n >= p->max) {
		p->why = "too many JSON values";
		return -ENOSPC;
	}
	*idx = p->n++;
	memset(&p->toks[*idx], 0, sizeof(p->toks[*idx]));
	p->toks[*idx].type = (uint8_t)type;
	p->toks[*idx].start = (uint32_t)p->pos;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t k;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2; cp = c & 0x1fu; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3; cp = c & 0x0fu; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4; cp = c & 0x07u; min = 0x10000;
	} else {
		return 0;
	}
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

static int parse_string(struct jp *p, size_t *idx)
{
	int rc;

	p->pos++;                                   /* the opening quote */
	if ((rc = new_tok(p, JSON_STRING, idx)))
		return rc;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->toks[*idx].len = (uint32_t)(p->pos - p->toks[*idx].start);
			p->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(p, "control character in a JSON string");
		if (c == '\\') {
			if (++p->pos >= p->len)
				break;
			char e = p->s[p->pos];
			if (e == 'u') {
				if (p->len - p->pos < 5)
					return fail(p, "short \\u escape");
				for (int i = 1; i <= 4; i++)
					if (text_hex_digit(p->s[p->pos + (size_t)i]) < 0)
						return fail(p, "bad \\u escape");
				p->pos += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || e == '\0')
				return fail(p, "unknown escape in a JSON string");
			p->pos++;
			continue;
		}
		size_t k = utf8_len((const unsigned char *)p->s + p->pos,
				    p->len - p->pos);
		if (k == 0)
			return fail(p, "invalid UTF-8 in a JSON string");
		p->pos += k;
	}
	return fail(p, "unterminated JSON string");
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(struct jp *p, size_t *idx)
{
	int rc = new_tok(p, JSON_NUMBER, idx);
	if (rc)
		return rc;
	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !is_digit(p->s[p->pos]))
		return fail(p, "bad JSON number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return fail(p, "bad JSON number fraction");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return fail(p, "bad JSON number exponent");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	p->toks[*idx].len = (uint32_t)(p->pos - p->toks[*idx].start);
	return 0;
}

static int parse_word(struct jp *p, const char *w, enum json_type type)
{
	size_t n = strlen(w), idx;
	if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0)
		return fail(p, "unexpected character in JSON");
	int rc = new_tok(p, type, &idx);
	if (rc)
		return rc;
	p->pos += n;
	p->toks[idx].len = (uint32_t)n;
	p->toks[idx].next = (uint32_t)p->n;
	return 0;
}

static int parse_value(struct jp *p, unsigned depth);

static int parse_container(struct jp *p, unsigned depth, bool obj)
{
	size_t idx;
	int rc;
	char close = obj ? '}' : ']';

	if (depth >= JSON_MAX_DEPTH)
		return fail(p, "JSON nested too deeply");
	if ((rc = new_tok(p, obj ? JSON_OBJECT : JSON_ARRAY, &idx)))
		return rc;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		goto done;
	}
	for (;;) {
		skip_ws(p);
		if (obj) {
			size_t k;
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, "JSON object key is not a string");
			if ((rc = parse_string(p, &k)))
				return rc;
			p->toks[k].next = (uint32_t)p->n;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return fail(p, "missing ':' in a JSON object");
			p->pos++;
		}
		if ((rc = parse_value(p, depth + 1)))
			return rc;
		p->toks[idx].count++;
		skip_ws(p);
		if (p->pos >= p->len)
			return fail(p, "unterminated JSON container");
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] != close)
			return fail(p, "expected ',' or the end of a JSON container");
		p->pos++;
		break;
	}
done:
	p->toks[idx].len = (uint32_t)(p->pos - p->toks[idx].start);
	p->toks[idx].next = (uint32_t)p->n;
	return 0;
}

static int parse_value(struct jp *p, unsigned depth)
{
	size_t idx;
	int rc;

	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "missing JSON value");
	switch (p->s[p->pos]) {
	case '{': return parse_container(p, depth, true);
	case '[': return parse_container(p, depth, false);
	case '"':
		if ((rc = parse_string(p, &idx)))
			return rc;
		p->toks[idx].next = (uint32_t)p->n;
		return 0;
	case 't': return parse_word(p, "true", JSON_TRUE);
	case 'f': return parse_word(p, "false", JSON_FALSE);
	case 'n': return parse_word(p, "null", JSON_NULL);
	default:
		if ((rc = parse_number(p, &idx)))
			return rc;
		p->toks[idx].next = (uint32_t)p->n;
		return 0;
	}
}

int json_parse(const char *s, size_t len, struct json_tok *toks, size_t max,
	       size_t *n, const char **why)
{
	struct jp p = { .s = s, .len = len, .toks = toks, .max = max };
	int rc;

	*n = 0;
	if (len > UINT32_MAX) {
		*why = "JSON text too long";
		return -EPROTO;
	}
	rc = parse_value(&p, 0);
	if (rc == 0) {
		skip_ws(&p);
		if (p.pos != len)
			rc = fail(&p, "text after the JSON value");
	}
	if (rc) {
		*why = p.why;
		return rc;
	}
	*n = p.n;
	return 0;
}

int json_get(const char *s, const struct json_tok *toks, size_t obj,
	     const char *key)
{
	if (toks[obj].type != JSON_OBJECT)
		return -ENOENT;
	size_t i = obj + 1;
	for (uint32_t m = 0; m < toks[obj].count; m++) {
		if (json_str_eq(s, &toks[i], key))
			return (int)(i + 1);
		i = toks[i + 1].next;
	}
	return -ENOENT;
}

int json_elem(const struct json_tok *toks, size_t arr, size_t i)
{
	bool obj = toks[arr].type == JSON_OBJECT;
	if ((!obj && toks[arr].type != JSON_ARRAY) || i >= toks[arr].count)
		return -ENOENT;
	size_t k = arr + 1;
	for (size_t m = 0; m < i; m++)
		k = toks[k + (obj ? 1 : 0)].next;
	return (int)(k + (obj ? 1 : 0));
}

/* Appends code point cp as UTF-8. */
static int put_utf8(char *dst, size_t cap, size_t *o, uint32_t cp)
{
	char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (char)cp; k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6); b[1] = (char)(0x80 | (cp & 0x3f)); k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12); b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f)); k = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18); b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f)); b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*o + k >= cap)
		return -ENOSPC;
	memcpy(dst + *o, b, k);
	*o += k;
	return 0;
}

static uint32_t hex4(const char *h)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 4 | (uint32_t)text_hex_digit(h[i]);
	return v;
}

int json_str(const char *s, const struct json_tok *t, char *dst, size_t cap,
	     size_t *out_len)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	size_t o = 0;

	if (t->type != JSON_STRING)
		return -EINVAL;
	if (cap == 0)
		return -ENOSPC;
	const char *p = s + t->start, *end = p + t->len;
	while (p < end) {
		if (*p != '\\') {
			if (o + 1 >= cap)
				return -ENOSPC;
			dst[o++] = *p++;
			continue;
		}
		p++;
		if (*p != 'u') {
			if (o + 1 >= cap)
				return -ENOSPC;
			dst[o++] = to[strchr(from, *p) - from];
			p++;
			continue;
		}
		uint32_t cp = hex4(p + 1);
		p += 5;
		if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' &&
		    p[1] == 'u') {
			uint32_t lo = hex4(p + 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
		}
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;                /* a lone surrogate */
		if (put_utf8(dst, cap, &o, cp))
			return -ENOSPC;
	}
	dst[o] = '\0';
	if (out_len)
		*out_len = o;
	return 0;
}

bool json_str_eq(const char *s, const struct json_tok *t, const char *lit)
{
	size_t n = strlen(lit);
	if (t->type != JSON_STRING)
		return false;
	/* Keys and words are plain ASCII: compare raw when there is no escape. */
	if (!memchr(s + t->start, '\\', t->len))
		return t->len == n && memcmp(s + t->start, lit, n) == 0;
	char buf[256];
	size_t len;
	if (n >= sizeof(buf) || json_str(s, t, buf, sizeof(buf), &len))
		return false;
	return len == n && memcmp(buf, lit, n) == 0;
}

int json_u64(const char *s, const struct json_tok *t, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (t->type != JSON_NUMBER)
		return -EINVAL;
	const char *p = s + t->start;
	for (uint32_t i = 0; i < t->len; i++) {
		if (!is_digit(p[i]))
			return p[i] == '-' && i == 0 ? -ERANGE : -EINVAL;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int json_i64(const char *s, const struct json_tok *t, int64_t *out)
{
	uint64_t v;
	int rc;

	if (t->type != JSON_NUMBER)
		return -EINVAL;
	if (s[t->start] != '-') {
		if ((rc = json_u64(s, t, INT64_MAX, &v)))
			return rc;
		*out = (int64_t)v;
		return 0;
	}
	struct json_tok pos = *t;
	pos.start++;
	pos.len--;
	if ((rc = json_u64(s, &pos, (uint64_t)INT64_MAX + 1, &v)))
		return rc;
	*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	return 0;
}

int json_bool(const struct json_tok *t, bool *out)
{
	if (t->type != JSON_TRUE && t->type != JSON_FALSE)
		return -EINVAL;
	*out = t->type == JSON_TRUE;
	return 0;
}

int json_get_str(const char *s, const struct json_tok *toks, size_t obj,
		 const char *key, char *dst, size_t cap)
{
	int i = json_get(s, toks, obj, key);
	return i < 0 ? i : json_str(s, &toks[i], dst, cap, NULL);
}

int json_get_u64(const char *s, const struct json_tok *toks, size_t obj,
		 const char *key, uint64_t max, uint64_t *out)
{
	int i = json_get(s, toks, obj, key);
	return i < 0 ? i : json_u64(s, &toks[i], max, out);
}

int json_get_bool(const char *s, const struct json_tok *toks, size_t obj,
		  const char *key, bool *out)
{
	int i = json_get(s, toks, obj, key);
	return i < 0 ? i : json_bool(&toks[i], out);
}

/* ---- writer ------------------------------------------------------------ */

#define W_MAX_DEPTH 63u

void json_w_init(struct json_w *w, char *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	if (cap)
		buf[0] = '\0';
	else
		w->err = -ENOSPC;
}

static void put(struct json_w *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->len + n >= w->cap) {
		w->err = -ENOSPC;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void put_escaped(struct json_w *w, const char *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	put(w, "\"", 1);
	while (i < len && !w->err) {
		unsigned char c = (unsigned char)v[i];
		size_t run = i;
		/* Copy the longest run that needs no escaping in one go. */
		while (run < len) {
			unsigned char d = (unsigned char)v[run];
			if (d < 0x20 || d == '"' || d == '\\')
				break;
			if (d >= 0x80) {
				size_t k = utf8_len((const unsigned char *)v + run, len - run);
				if (k == 0)
					break;
				run += k;
				continue;
			}
			run++;
		}
		if (run > i) {
			put(w, v + i, run - i);
			i = run;
			continue;
		}
		c = (unsigned char)v[i++];
		char e[7];
		switch (c) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default:
			e[0] = '\\'; e[1] = 'u'; e[2] = '0'; e[3] = '0';
			e[4] = hex[c >> 4]; e[5] = hex[c & 15];
			put(w, e, 6);
		}
	}
	put(w, "\"", 1);
}

/* The separator and key before a value, checking that a key is given
 * exactly where one belongs. */
static void member(struct json_w *w, const char *key)
{
	uint64_t bit = 1ull << w->depth;
	bool in_obj = w->depth > 0 && (w->is_obj & bit);

	if (w->err)
		return;
	if (w->depth == 0 && (w->nonempty & 1)) {
		w->err = -EINVAL;                   /* a second root value */
		return;
	}
	if ((key != NULL) != in_obj) {
		w->err = -EINVAL;
		return;
	}
	if (w->depth > 0 && (w->nonempty & bit))
		put(w, ",", 1);
	w->nonempty |= bit;
	if (key) {
		put_escaped(w, key, strlen(key));
		put(w, ":", 1);
	}
}

static void open_container(struct json_w *w, const char *key, bool obj)
{
	member(w, key);
	if (w->err)
		return;
	if (w->depth >= W_MAX_DEPTH) {
		w->err = -EINVAL;
		return;
	}
	put(w, obj ? "{" : "[", 1);
	w->depth++;
	uint64_t bit = 1ull << w->depth;
	w->nonempty &= ~bit;
	if (obj)
		w->is_obj |= bit;
	else
		w->is_obj &= ~bit;
}

void json_w_obj(struct json_w *w, const char *key) { open_container(w, key, true); }
void json_w_arr(struct json_w *w, const char *key) { open_container(w, key, false); }

void json_w_end(struct json_w *w)
{
	if (w->err)
		return;
	if (w->depth == 0) {
		w->err = -EINVAL;
		return;
	}
	put(w, (w->is_obj >> w->depth) & 1 ? "}" : "]", 1);
	w->depth--;
}

void json_w_strn(struct json_w *w, const char *key, const char *v, size_t len)
{
	member(w, key);
	put_escaped(w, v, len);
}

void json_w_str(struct json_w *w, const char *key, const char *v)
{
	json_w_strn(w, key, v ? v : "", v ? strlen(v) : 0);
}

void json_w_u64(struct json_w *w, const char *key, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);
	member(w, key);
	put(w, b, (size_t)n);
}

void json_w_i64(struct json_w *w, const char *key, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);
	member(w, key);
	put(w, b, (size_t)n);
}

void json_w_bool(struct json_w *w, const char *key, bool v)
{
	member(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_w_null(struct json_w *w, const char *key)
{
	member(w, key);
	put(w, "null", 4);
}

void json_w_raw(struct json_w *w, const char *key, const char *v, size_t len)
{
	member(w, key);
	put(w, v, len);
}

int json_w_finish(struct json_w *w)
{
	if (w->err)
		return w->err;
	if (w->depth != 0 || !(w->nonempty & 1))
		return -EINVAL;
	return (int)w->len;
}
