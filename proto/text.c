/* SPDX-License-Identifier: MIT */
/*
 * key=value\0 text (RFC 7143 section 6.1). The iterator judges only the
 * framing and the key alphabet; what a value may contain depends on the
 * key and is judged by the negotiation table (neg.c) or the SendTargets
 * parser (discovery.c).
 */
#include "proto/text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void text_iter_init(struct text_iter *it, const void *buf, size_t len)
{
	it->buf = buf;
	it->len = len;
	it->pos = 0;
}

/* RFC 7143 section 6.1: a key holds letters, digits, '.', '-', '+', '@'
 * and '_'; "X-" (vendor) and "X#" (IANA-registered) keys follow the same
 * alphabet after the prefix. A standard-label is said to start with a
 * capital letter, yet RFC 7144 registered "iSCSIProtocolLevel": any
 * letter may start a key. */
static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' ||
	       c == '@' || c == '_';
}

static bool key_ok(const char *k, size_t n)
{
	if (!((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (i == 1 && k[0] == 'X' && k[1] == '#')
			continue;
		if (!key_char_ok(k[i]))
			return false;
	}
	return true;
}

int text_next(struct text_iter *it, struct text_pair *p, const char **why)
{
	const char *start = it->buf + it->pos;
	size_t left = it->len - it->pos;

	if (left == 0)
		return 0;
	/* Some targets count their padding into DataSegmentLength: NUL bytes
	 * up to the end carry no pair and are accepted as the end. */
	if (start[0] == '\0') {
		for (size_t i = 0; i < left; i++) {
			if (start[i] != '\0') {
				*why = "empty key=value pair";
				return -EPROTO;
			}
		}
		it->pos = it->len;
		return 0;
	}
	const char *nul = memchr(start, '\0', left);
	if (!nul) {
		*why = "key=value pair not terminated by NUL";
		return -EPROTO;
	}
	size_t pair_len = (size_t)(nul - start);
	const char *eq = memchr(start, '=', pair_len);
	if (!eq) {
		*why = "key=value pair without '='";
		return -EPROTO;
	}
	size_t key_len = (size_t)(eq - start);
	if (key_len == 0) {
		*why = "empty key";
		return -EPROTO;
	}
	if (key_len > TEXT_MAX_KEY) {
		*why = "key longer than 63 bytes";
		return -EPROTO;
	}
	if (!key_ok(start, key_len)) {
		*why = "key has characters outside the RFC 7143 key alphabet";
		return -EPROTO;
	}
	size_t value_len = pair_len - key_len - 1;
	if (value_len > TEXT_MAX_VALUE) {
		*why = "value longer than 8192 bytes";
		return -EPROTO;
	}
	p->key = start;
	p->key_len = key_len;
	p->value = eq + 1;
	p->value_len = value_len;
	it->pos += pair_len + 1;
	return 1;
}

int text_append(char *buf, size_t cap, size_t *len, const char *key,
		const char *value)
{
	size_t k = strlen(key), v = strlen(value);
	size_t need = k + 1 + v + 1;

	if (*len > cap || cap - *len < need)
		return -ENOSPC;
	char *p = buf + *len;
	memcpy(p, key, k);
	p[k] = '=';
	memcpy(p + k + 1, value, v);
	p[k + 1 + v] = '\0';
	*len += need;
	return 0;
}

int text_append_u32(char *buf, size_t cap, size_t *len, const char *key,
		    uint32_t value)
{
	char num[11];

	snprintf(num, sizeof(num), "%u", (unsigned)value);
	return text_append(buf, cap, len, key, num);
}

bool text_key_is(const struct text_pair *p, const char *key)
{
	size_t n = strlen(key);
	return p->key_len == n && memcmp(p->key, key, n) == 0;
}

int text_parse_u32(const char *v, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t acc = 0;

	if (len == 0)
		return -EINVAL;
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		/* hex-constant; leading zeros allowed, so no length cap
		 * beyond the value check */
		for (size_t i = 2; i < len; i++) {
			int d = text_hex_digit(v[i]);
			if (d < 0)
				return -EINVAL;
			acc = acc * 16 + (unsigned)d;
			if (acc > max)
				return -EINVAL;
		}
	} else {
		/* decimal-constant. The RFC grammar has no leading zeros,
		 * but "08192" means only one thing and is accepted. */
		for (size_t i = 0; i < len; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -EINVAL;
			acc = acc * 10 + (unsigned)(v[i] - '0');
			if (acc > max)
				return -EINVAL;
		}
	}
	*out = (uint32_t)acc;
	return 0;
}

char *text_escape(char *dst, size_t cap, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (cap == 0)
		return dst;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
