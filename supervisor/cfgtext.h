/* SPDX-License-Identifier: MIT */
/*
 * The line syntax shared by mcsi.conf and the secrets file:
 *
 *     # comment                 (also "; comment"; blank lines are fine)
 *     [section]
 *     [section "argument"]
 *     key = value               (bare value: trimmed, ends at " #")
 *     key = "quoted \"value\""  (escapes \\ \" \n \r \t \xHH)
 *     key "argument" = value    (the secrets file's per-target lines)
 *
 * This module only splits and decodes; what names and keys mean is up to
 * config.c and secrets.c. It never allocates: tokens point into the
 * caller's buffer and decoding writes into a caller buffer, so that the
 * secrets parser can keep every decoded byte in non-dumpable memory.
 */
#ifndef MCSI_SUPERVISOR_CFGTEXT_H
#define MCSI_SUPERVISOR_CFGTEXT_H

#include <stdbool.h>
#include <stddef.h>

#define CFGTEXT_MAX_LINE 4096u

/* A located, formatted error from either file, for the user's eyes:
 * msg reads "path:line: reason" (or "reason" when not from a file). */
struct cfg_error {
	unsigned line;       /* 1-based; 0 when not tied to a line */
	char msg[512];
};

enum cfgtext_kind {
	CFGTEXT_END,         /* no more lines */
	CFGTEXT_BLANK,       /* blank or comment */
	CFGTEXT_SECTION,     /* [name] or [name "arg"] */
	CFGTEXT_PAIR,        /* name = value or name "arg" = value */
};

struct cfgtext_line {
	enum cfgtext_kind kind;
	unsigned no;                       /* 1-based line number */
	const char *text;  size_t text_len;   /* the line without its EOL */
	const char *name;  size_t name_len;   /* [A-Za-z0-9_-]+ */
	const char *arg;   size_t arg_len;    /* raw "..." incl. quotes, or NULL */
	const char *value; size_t value_len;  /* raw value, PAIR only; may be "" */
};

struct cfgtext_iter {
	const char *buf;
	size_t len, pos;
	unsigned line;
};

void cfgtext_init(struct cfgtext_iter *it, const char *buf, size_t len);

/* Splits the next line. Returns 0 with *l filled (kind CFGTEXT_END after
 * the last line), or -EINVAL with *why set and l->no the line at fault
 * (NUL byte, line over CFGTEXT_MAX_LINE, bad name, missing '=' / ']' /
 * closing quote, text after a closing quote or ']'). */
int cfgtext_next(struct cfgtext_iter *it, struct cfgtext_line *l,
		 const char **why);

/* Decodes a raw token (bare or quoted) into dst, which must hold raw_len + 1
 * bytes (decoding never grows). NUL-terminates; *out_len excludes the NUL.
 * A quoted token may decode to bytes of any value, NUL included (\x00);
 * a bare token may not contain control characters. Returns 0 or -EINVAL
 * with *why set (unknown escape, bad \x, control character). */
int cfgtext_decode(const char *raw, size_t raw_len, char *dst,
		   size_t *out_len, const char **why);

#define CFGTEXT_QUOTE       0x1u  /* always quote */
#define CFGTEXT_ESCAPE_8BIT 0x2u  /* write bytes >= 0x80 as \xHH */

/* Encodes len bytes of src as a value token that cfgtext_decode() turns
 * back into the same bytes: bare when that is unambiguous, quoted
 * otherwise (or always, with CFGTEXT_QUOTE). Writes at most cap bytes
 * including a NUL and returns the length the whole token needs (without
 * the NUL), like snprintf: call with cap 0 to size a buffer. */
size_t cfgtext_encode(char *dst, size_t cap, const void *src, size_t len,
		      unsigned flags);

/* True for [A-Za-z0-9_-]. */
bool cfgtext_name_char(char c);

/* Fills err: msg = "<where>:<line>: <formatted reason>" (where omitted
 * when NULL, line omitted when 0). Returns -EINVAL for convenience. */
int cfgtext_error(struct cfg_error *err, const char *where, unsigned line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes a printable, escaped copy of len bytes for an error message
 * (at most cap - 1 bytes, "..." when cut). Returns dst. */
char *cfgtext_printable(char *dst, size_t cap, const char *src, size_t len);

#endif
