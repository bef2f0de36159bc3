/* SPDX-License-Identifier: MIT */
#include "supervisor/cfgtext.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/text.h"

void cfgtext_init(struct cfgtext_iter *it, const char *buf, size_t len)
{
	it->buf = buf;
	it->len = len;
	it->pos = 0;
	it->line = 0;
}

bool cfgtext_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

static size_t skip_space(const char *s, size_t i, size_t len)
{
	while (i < len && is_space(s[i]))
		i++;
	return i;
}

/* Nothing but blanks and an optional comment from i on. */
static bool only_comment(const char *s, size_t i, size_t len)
{
	i = skip_space(s, i, len);
	return i == len || s[i] == '#' || s[i] == ';';
}

/* Finds the end of a quoted token starting at s[i] == '"'. Returns the
 * index just past the closing quote, or 0 if it is missing. */
static size_t quoted_end(const char *s, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

static size_t name_end(const char *s, size_t i, size_t len)
{
	while (i < len && cfgtext_name_char(s[i]))
		i++;
	return i;
}

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

/* Optional ' "arg"' after a name; sets l->arg. Returns the index after it,
 * or 0 on a missing closing quote. */
static size_t take_arg(struct cfgtext_line *l, const char *s, size_t i,
		       size_t len)
{
	i = skip_space(s, i, len);
	if (i >= len || s[i] != '"')
		return i;
	size_t end = quoted_end(s, i, len);
	if (end == 0)
		return 0;
	l->arg = s + i;
	l->arg_len = end - i;
	return end;
}

static int parse_section(struct cfgtext_line *l, const char *s, size_t len,
			 size_t i, const char **why)
{
	i = skip_space(s, i + 1, len);
	size_t e = name_end(s, i, len);
	if (e == i)
		return bad(why, "expected a section name after '['");
	l->name = s + i;
	l->name_len = e - i;
	i = take_arg(l, s, e, len);
	if (i == 0)
		return bad(why, "missing closing quote");
	i = skip_space(s, i, len);
	if (i >= len || s[i] != ']')
		return bad(why, "expected ']' to close the section header");
	if (!only_comment(s, i + 1, len))
		return bad(why, "unexpected text after ']'");
	l->kind = CFGTEXT_SECTION;
	return 0;
}

static int parse_pair(struct cfgtext_line *l, const char *s, size_t len,
		      size_t i, const char **why)
{
	size_t e = name_end(s, i, len);
	if (e == i)
		return bad(why, "expected a key name (letters, digits, '-')");
	l->name = s + i;
	l->name_len = e - i;
	i = take_arg(l, s, e, len);
	if (i == 0)
		return bad(why, "missing closing quote");
	i = skip_space(s, i, len);
	if (i >= len || s[i] != '=')
		return bad(why, "expected '=' after the key name");
	i = skip_space(s, i + 1, len);
	l->value = s + i;
	if (i < len && s[i] == '"') {
		size_t end = quoted_end(s, i, len);
		if (end == 0)
			return bad(why, "missing closing quote");
		if (!only_comment(s, end, len))
			return bad(why, "unexpected text after the closing "
					"quote");
		l->value_len = end - i;
	} else {
		/* A bare value runs to a '#' that follows a blank. */
		size_t end = i;
		while (end < len && !(s[end] == '#' && end > i &&
				      is_space(s[end - 1])))
			end++;
		while (end > i && is_space(s[end - 1]))
			end--;
		l->value_len = end - i;
	}
	l->kind = CFGTEXT_PAIR;
	return 0;
}

int cfgtext_next(struct cfgtext_iter *it, struct cfgtext_line *l,
		 const char **why)
{
	memset(l, 0, sizeof(*l));
	l->no = it->line + 1;
	if (it->pos >= it->len) {
		l->kind = CFGTEXT_END;
		return 0;
	}
	const char *s = it->buf + it->pos;
	size_t avail = it->len - it->pos;
	const char *nl = memchr(s, '\n', avail);
	size_t len = nl ? (size_t)(nl - s) : avail;

	it->line++;
	it->pos += nl ? len + 1 : len;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	l->text = s;
	l->text_len = len;
	if (len > CFGTEXT_MAX_LINE)
		return bad(why, "line longer than 4096 bytes");
	if (memchr(s, '\0', len))
		return bad(why, "NUL byte in line");

	size_t i = skip_space(s, 0, len);
	if (i == len || s[i] == '#' || s[i] == ';') {
		l->kind = CFGTEXT_BLANK;
		return 0;
	}
	if (s[i] == '[')
		return parse_section(l, s, len, i, why);
	return parse_pair(l, s, len, i, why);
}

int cfgtext_decode(const char *raw, size_t raw_len, char *dst,
		   size_t *out_len, const char **why)
{
	size_t o = 0;

	*out_len = 0;
	dst[0] = '\0';
	if (raw_len == 0 || raw[0] != '"') {
		for (size_t i = 0; i < raw_len; i++) {
			unsigned char c = (unsigned char)raw[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return bad(why, "control character in value "
						"(quote it and write \\xNN)");
			dst[i] = raw[i];
		}
		dst[raw_len] = '\0';
		*out_len = raw_len;
		return 0;
	}
	if (raw_len < 2 || raw[raw_len - 1] != '"')
		return bad(why, "missing closing quote");
	for (size_t i = 1; i + 1 < raw_len; i++) {
		char c = raw[i];
		if ((unsigned char)c < 0x20 && c != '\t')
			return bad(why, "control character in quoted value "
					"(write \\xNN)");
		if (c == '\\') {
			if (i + 2 >= raw_len)
				return bad(why, "'\\' at the end of a quoted "
						"value");
			switch (raw[++i]) {
			case '\\': c = '\\'; break;
			case '"':  c = '"'; break;
			case 'n':  c = '\n'; break;
			case 'r':  c = '\r'; break;
			case 't':  c = '\t'; break;
			case 'x': {
				int hi = i + 2 < raw_len - 1 ? text_hex_digit(raw[i + 1]) : -1;
				int lo = hi >= 0 ? text_hex_digit(raw[i + 2]) : -1;
				if (lo < 0)
					return bad(why, "\\x needs two hex "
							"digits");
				c = (char)(hi << 4 | lo);
				i += 2;
				break;
			}
			default:
				return bad(why, "unknown escape (use \\\\, \\\", "
						"\\n, \\r, \\t or \\xHH)");
			}
		}
		dst[o++] = c;
	}
	dst[o] = '\0';
	*out_len = o;
	return 0;
}

/* A bare token must come back identical: no quotes first, no blanks at
 * the ends, no '#' (it could start a comment), only printable bytes. */
static bool can_be_bare(const unsigned char *s, size_t len, unsigned flags)
{
	if (len == 0 || s[0] == '"' || is_space((char)s[0]) ||
	    is_space((char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '#' ||
		    (s[i] >= 0x80 && (flags & CFGTEXT_ESCAPE_8BIT)))
			return false;
	}
	return true;
}

size_t cfgtext_encode(char *dst, size_t cap, const void *src, size_t len,
		      unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t n = 0;
	char tmp[4];

#define PUT(ch) do { if (n + 1 < cap) dst[n] = (ch); n++; } while (0)
	if (!(flags & CFGTEXT_QUOTE) && can_be_bare(s, len, flags)) {
		for (size_t i = 0; i < len; i++)
			PUT((char)s[i]);
	} else {
		PUT('"');
		for (size_t i = 0; i < len; i++) {
			unsigned char c = s[i];
			size_t k = 0;
			if (c == '"' || c == '\\') {
				tmp[k++] = '\\';
				tmp[k++] = (char)c;
			} else if (c == '\n') {
				tmp[k++] = '\\';
				tmp[k++] = 'n';
			} else if (c == '\t') {
				tmp[k++] = '\\';
				tmp[k++] = 't';
			} else if (c < 0x20 || c == 0x7f ||
				   (c >= 0x80 && (flags & CFGTEXT_ESCAPE_8BIT))) {
				tmp[k++] = '\\';
				tmp[k++] = 'x';
				tmp[k++] = hex[c >> 4];
				tmp[k++] = hex[c & 15];
			} else {
				tmp[k++] = (char)c;
			}
			for (size_t j = 0; j < k; j++)
				PUT(tmp[j]);
		}
		PUT('"');
	}
#undef PUT
	if (cap > 0)
		dst[n < cap ? n : cap - 1] = '\0';
	explicit_bzero(tmp, sizeof(tmp));  /* it held secret bytes */
	return n;
}

int cfgtext_error(struct cfg_error *err, const char *where, unsigned line,
		  const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!err)
		return -EINVAL;
	err->line = line;
	if (where && line)
		n = snprintf(err->msg, sizeof(err->msg), "%s:%u: ", where, line);
	else if (where)
		n = snprintf(err->msg, sizeof(err->msg), "%s: ", where);
	else if (line)
		n = snprintf(err->msg, sizeof(err->msg), "line %u: ", line);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static size_t printable_len(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;
}

char *cfgtext_printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = 0, total = 0;

	if (cap == 0)
		return dst;
	for (size_t i = 0; i < len; i++)
		total += printable_len((unsigned char)src[i]);
	/* When it does not all fit, keep room for "..." at the end. */
	size_t limit = total < cap ? cap : (cap > 4 ? cap - 3 : 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t k = printable_len(c);
		if (n + k + 1 > limit)
			break;
		if (k == 1)
			dst[n] = (char)c;
		else
			snprintf(dst + n, 5, "\\x%02x", c);
		n += k;
	}
	if (total >= cap && cap > 4) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
	return dst;
}
