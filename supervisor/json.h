/* SPDX-License-Identifier: MIT */
/*
 * A small JSON codec for the control protocol (ctlproto.h): mcsid's
 * replies, iscsictl's requests, the session processes' state files.
 *
 * The reader is a tokenizer in the manner of a flat parse tree: it checks
 * the whole text against RFC 8259 (strings, escapes and UTF-8 included,
 * nesting at most JSON_MAX_DEPTH) and fills a caller array of tokens that
 * point into the text; nothing is allocated and nothing is decoded until
 * asked for. The writer appends to a caller buffer and remembers the first
 * failure, so that a reply is built with straight-line code and checked
 * once at the end.
 *
 * Pure code: no I/O, no allocation, no global state.
 */
#ifndef MCSI_SUPERVISOR_JSON_H
#define MCSI_SUPERVISOR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32u

enum json_type {
	JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING,
	JSON_ARRAY, JSON_OBJECT,
};

/* One value. A string's start/len cover its raw contents between the
 * quotes (escapes undecoded); a number's its text; a container's the text
 * from its bracket to the closing one. In an object, keys are tokens too:
 * each member is a STRING key token followed by its value's subtree. */
struct json_tok {
	uint8_t type;             /* enum json_type */
	uint32_t start, len;
	uint32_t count;           /* ARRAY: elements; OBJECT: members */
	uint32_t next;            /* index of the token after this subtree */
};

/*
 * Parses one JSON value of len bytes (whitespace around it allowed,
 * nothing else after it). Fills toks[0..*n) in document order; toks[0] is
 * the root. Returns 0; -EPROTO with *why (static) for malformed text,
 * invalid UTF-8, nesting deeper than JSON_MAX_DEPTH or text over 4 GiB;
 * -ENOSPC when max tokens do not suffice.
 */
int json_parse(const char *s, size_t len, struct json_tok *toks, size_t max,
	       size_t *n, const char **why);

/* The value of member key in the object at toks[obj]: its token index, or
 * -ENOENT (also when toks[obj] is not an object). With duplicate keys the
 * first wins. */
int json_get(const char *s, const struct json_tok *toks, size_t obj,
	     const char *key);

/* Index of the i-th element of the array (or i-th member value of the
 * object) at toks[arr], or -ENOENT. Linear: iterate with toks[i].next. */
int json_elem(const struct json_tok *toks, size_t arr, size_t i);

/* Decodes a STRING token into dst (escapes resolved, \u0000 included, so
 * the result may hold NULs), NUL-terminated; *out_len (may be NULL) gets
 * the length without the NUL. Returns 0, -EINVAL (not a string) or
 * -ENOSPC. */
int json_str(const char *s, const struct json_tok *t, char *dst, size_t cap,
	     size_t *out_len);
/* True if t is a string whose decoded value equals lit. */
bool json_str_eq(const char *s, const struct json_tok *t, const char *lit);
/* An integral NUMBER within range (no fraction or exponent). Returns 0,
 * -EINVAL (not an integer) or -ERANGE. */
int json_u64(const char *s, const struct json_tok *t, uint64_t max,
	     uint64_t *out);
int json_i64(const char *s, const struct json_tok *t, int64_t *out);
/* TRUE/FALSE. Returns 0 or -EINVAL. */
int json_bool(const struct json_tok *t, bool *out);

/* Convenience for objects: member key as a string, integer or boolean.
 * Return 0, -ENOENT (absent; *out untouched) or the error of the
 * conversion. */
int json_get_str(const char *s, const struct json_tok *toks, size_t obj,
		 const char *key, char *dst, size_t cap);
int json_get_u64(const char *s, const struct json_tok *toks, size_t obj,
		 const char *key, uint64_t max, uint64_t *out);
int json_get_bool(const char *s, const struct json_tok *toks, size_t obj,
		  const char *key, bool *out);

/* ---- writer -------------------------------------------------------------- */

struct json_w {
	char *buf;
	size_t cap, len;
	int err;                  /* first failure: -ENOSPC or -EINVAL */
	unsigned depth;
	uint64_t nonempty;        /* bit d: the container at depth d has a member */
	uint64_t is_obj;          /* bit d: the container at depth d is an object */
};

/* Writes into buf (cap bytes, at least 1); the text stays NUL-terminated
 * while it fits. */
void json_w_init(struct json_w *w, char *buf, size_t cap);
/* key names the member inside an object and must be NULL elsewhere (the
 * root, array elements); a mismatch sets err to -EINVAL. */
void json_w_obj(struct json_w *w, const char *key);
void json_w_arr(struct json_w *w, const char *key);
void json_w_end(struct json_w *w);          /* closes the innermost one */
void json_w_str(struct json_w *w, const char *key, const char *v);
/* len bytes of v, any bytes: quotes, backslash and control characters are
 * escaped, invalid UTF-8 bytes become \u00XX (their Latin-1 reading) so
 * the output is always valid JSON. */
void json_w_strn(struct json_w *w, const char *key, const char *v, size_t len);
void json_w_u64(struct json_w *w, const char *key, uint64_t v);
void json_w_i64(struct json_w *w, const char *key, int64_t v);
void json_w_bool(struct json_w *w, const char *key, bool v);
void json_w_null(struct json_w *w, const char *key);
/* Inserts already valid JSON text (a subtree taken from another
 * document) as the member's value. The caller vouches for it. */
void json_w_raw(struct json_w *w, const char *key, const char *v, size_t len);
/* Returns the length of the document, or -ENOSPC / -EINVAL (a container
 * left open, a key where none belongs). */
int json_w_finish(struct json_w *w);

#endif
