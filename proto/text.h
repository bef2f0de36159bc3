/* SPDX-License-Identifier: MIT */
/*
 * iSCSI text format (RFC 7143 section 6): "key=value" pairs, each ended by
 * a NUL byte, in the data segment of Login and Text PDUs. A pair may span
 * PDUs (Continue bit); the caller concatenates the segments first.
 *
 * Pure code, no allocation: the caller owns every buffer.
 */
#ifndef MCSI_PROTO_TEXT_H
#define MCSI_PROTO_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXT_MAX_KEY     63     /* RFC: key names are at most 63 bytes */
#define TEXT_MAX_VALUE   8192   /* RFC: values at most 255 bytes, except
				 * binary CHAP values, bounded here */

/* Iterator over a text segment. Values point into the caller's buffer. */
struct text_iter {
	const char *buf;
	size_t len, pos;
};
struct text_pair {
	const char *key;  size_t key_len;
	const char *value; size_t value_len;
};

void text_iter_init(struct text_iter *it, const void *buf, size_t len);
/* Returns 1 and fills *p for the next pair, 0 at the end, or -EPROTO for a
 * malformed pair (no '=', empty or overlong key, a key with bytes outside
 * the RFC's key alphabet, a value over TEXT_MAX_VALUE, a pair not ended
 * by NUL) with *why set. */
int text_next(struct text_iter *it, struct text_pair *p, const char **why);

/* Appends "key=value\0" to buf (length *len, capacity cap). Returns 0 or
 * -ENOSPC (buf unchanged). */
int text_append(char *buf, size_t cap, size_t *len, const char *key,
		const char *value);
int text_append_u32(char *buf, size_t cap, size_t *len, const char *key,
		    uint32_t value);

/* Helpers for values. */
/* The value of one hexadecimal digit (either case), or -1. */
static inline int text_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
bool text_key_is(const struct text_pair *p, const char *key);
/* Parses a decimal or 0x-hex number value (RFC "numerical-value");
 * -EINVAL if malformed or above max. */
int text_parse_u32(const char *v, size_t len, uint32_t max, uint32_t *out);
/* Writes a printable, escaped copy of an untrusted string for logs
 * (non-printables become \xNN); always NUL-terminates. Returns dst. */
char *text_escape(char *dst, size_t cap, const char *src, size_t len);

#endif
