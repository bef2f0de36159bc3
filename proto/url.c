/* SPDX-License-Identifier: MIT */
#include "proto/url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/text.h"

static char fold(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_hex(char c) { return text_hex_digit(c) >= 0; }
static unsigned hex_val(char c) { return (unsigned)text_hex_digit(c); }

static bool fail(const char **why, const char *reason)
{
	*why = reason;
	return false;
}

/* ---- iSCSI names ---------------------------------------------------- */

/* The ASCII part of the RFC 3722 profile's output alphabet. */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '.' ||
	       c == ':';
}

static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

/* "iqn." yyyy "-" mm "." reversed-domain [":" unique]; s is folded. */
static bool check_iqn(const char *s, size_t len, const char **why)
{
	if (len < 12 || !is_digit(s[4]) || !is_digit(s[5]) || !is_digit(s[6]) ||
	    !is_digit(s[7]) || s[8] != '-' || !is_digit(s[9]) ||
	    !is_digit(s[10]) || s[11] != '.')
		return fail(why, "iqn. name needs a date as iqn.yyyy-mm.");
	unsigned month = (unsigned)(s[9] - '0') * 10 + (unsigned)(s[10] - '0');
	if (month < 1 || month > 12)
		return fail(why, "iqn. name has a month outside 01..12");

	/* The naming authority runs to the first ':' (or the end). */
	size_t i = 12, label = 0;
	for (; i < len && s[i] != ':'; i++) {
		if (s[i] == '.') {
			if (label == 0)
				break;
			label = 0;
		} else if (s[i] == '-' || (s[i] >= 'a' && s[i] <= 'z') ||
			   is_digit(s[i])) {
			label++;
		} else {
			return fail(why, "iqn. naming authority must be a "
					 "reversed domain name");
		}
	}
	if (label == 0)
		return fail(why, "iqn. naming authority has an empty label");
	if (i < len && i + 1 == len)
		return fail(why, "iqn. name ends with ':' and nothing after it");
	return true;
}

int url_name_normalize(const char *s, size_t len, char out[URL_NAME_MAX + 1],
		       const char **why)
{
	bool ok = true;
	char prefix[4];

	if (len == 0) {
		ok = fail(why, "empty iSCSI name");
	} else if (len > URL_NAME_MAX) {
		ok = fail(why, "iSCSI name longer than 223 bytes");
	} else {
		for (size_t i = 0; i < len && ok; i++) {
			if ((unsigned char)s[i] >= 0x80)
				ok = fail(why, "non-ASCII iSCSI names are not "
					       "supported");
			else if (!name_char(fold(s[i])))
				ok = fail(why, "iSCSI names may contain only "
					       "a-z, 0-9, '-', '.' and ':'");
		}
	}
	if (ok && len < 4)
		ok = fail(why, "iSCSI name must start with iqn., eui. or naa.");
	if (ok) {
		for (size_t i = 0; i < 4; i++)
			prefix[i] = fold(s[i]);
		if (memcmp(prefix, "eui.", 4) == 0) {
			if (len != 20 || !all_hex(s + 4, 16))
				ok = fail(why, "eui. name needs exactly 16 hex "
					       "digits");
		} else if (memcmp(prefix, "naa.", 4) == 0) {
			if ((len != 20 && len != 36) || !all_hex(s + 4, len - 4))
				ok = fail(why, "naa. name needs 16 or 32 hex "
					       "digits");
		} else if (memcmp(prefix, "iqn.", 4) != 0) {
			ok = fail(why, "iSCSI name must start with iqn., eui. "
				       "or naa.");
		}
	}
	if (ok && prefix[0] == 'i') {
		/* check_iqn reads folded bytes: fold into out first. */
		char tmp[URL_NAME_MAX + 1];
		for (size_t i = 0; i < len; i++)
			tmp[i] = fold(s[i]);
		tmp[len] = '\0';
		ok = check_iqn(tmp, len, why);
	}
	if (!ok) {
		if (out != s)
			out[0] = '\0';
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = fold(s[i]);
	out[len] = '\0';
	return 0;
}

/* ---- portals -------------------------------------------------------- */

static bool parse_port(const char *s, size_t len, uint16_t *port,
		       const char **why)
{
	unsigned v = 0;

	if (len == 0)
		return fail(why, "missing port number after ':'");
	if (len > 5)
		return fail(why, "port must be a number in 1..65535");
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return fail(why, "port must be a number in 1..65535");
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return fail(why, "port must be a number in 1..65535");
	*port = (uint16_t)v;
	return true;
}

static bool zone_char(char c)
{
	c = fold(c);
	return (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '_' ||
	       c == '-' || c == '~';
}

/* Inside the brackets: an IPv6 literal, optionally "%25zone" (RFC 6874) or
 * the bare "%zone" that people type. */
static bool parse_ipv6(const char *s, size_t len, struct url_portal *p,
		       const char **why)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *pct = memchr(s, '%', len);
	size_t alen = pct ? (size_t)(pct - s) : len;
	const char *zone = NULL;
	size_t zlen = 0;

	if (pct) {
		zone = pct + 1;
		zlen = len - alen - 1;
		if (zlen > 2 && zone[0] == '2' && zone[1] == '5') {
			zone += 2;
			zlen -= 2;
		}
		if (zlen == 0 || zlen > URL_ZONE_MAX)
			return fail(why, "IPv6 zone must be 1..15 characters");
		for (size_t i = 0; i < zlen; i++)
			if (!zone_char(zone[i]))
				return fail(why, "invalid character in IPv6 "
						 "zone");
	}
	if (alen == 0 || alen >= sizeof(addr))
		return fail(why, "invalid IPv6 address");
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET6, addr, bin) != 1)
		return fail(why, "invalid IPv6 address");
	if (!inet_ntop(AF_INET6, bin, p->host, sizeof(p->host)))
		return fail(why, "invalid IPv6 address");
	if (zone) {
		size_t hl = strlen(p->host);
		p->host[hl] = '%';
		memcpy(p->host + hl + 1, zone, zlen);
		p->host[hl + 1 + zlen] = '\0';
	}
	p->kind = URL_HOST_IPV6;
	return true;
}

/* A DNS name (letters, digits, '-', '_'; labels of 1..63) or a dotted
 * quad. A name whose last label is numeric, or looks hexadecimal, is
 * taken for an IPv4 literal: getaddrinfo() would read "127.1" or "0x7f.1"
 * as one, so we insist on the one unambiguous spelling. */
static bool parse_hostname(const char *s, size_t len, struct url_portal *p,
			   const char **why)
{
	size_t label = 0, last = 0;

	if (len == 0)
		return fail(why, "empty host name");
	if (len > 1 && s[len - 1] == '.')
		len--;  /* a fully qualified "host.example." */
	if (len > 253)
		return fail(why, "host name longer than 253 characters");
	for (size_t i = 0; i < len; i++) {
		char c = fold(s[i]);
		p->host[i] = c;
		if (c == '.') {
			if (label == 0)
				return fail(why, "host name has an empty label");
			label = 0;
			last = i + 1;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' ||
		      c == '_'))
			return fail(why, "invalid character in host name");
		if (++label > 63)
			return fail(why, "host name label longer than 63 "
					 "characters");
	}
	if (label == 0)
		return fail(why, "host name has an empty label");
	p->host[len] = '\0';

	bool numeric = true;
	for (size_t i = last; i < len; i++)
		numeric = numeric && is_digit(s[i]);
	if (len - last >= 2 && s[last] == '0' && fold(s[last + 1]) == 'x')
		numeric = true;
	if (!numeric) {
		p->kind = URL_HOST_NAME;
		return true;
	}
	unsigned char bin[4];
	if (inet_pton(AF_INET, p->host, bin) != 1)
		return fail(why, "invalid IPv4 address (use a dotted quad)");
	inet_ntop(AF_INET, bin, p->host, sizeof(p->host));
	p->kind = URL_HOST_IPV4;
	return true;
}

int url_parse_portal(const char *s, size_t len, struct url_portal *p,
		     const char **why)
{
	const char *port = NULL;
	size_t port_len = 0;
	bool ok;

	p->host[0] = '\0';
	p->port = (uint16_t)URL_DEFAULT_PORT;
	p->has_port = false;
	p->kind = URL_HOST_NAME;
	if (len == 0) {
		*why = "empty portal";
		return -EINVAL;
	}
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', len);
		if (!rb) {
			*why = "missing ']' after IPv6 address";
			return -EINVAL;
		}
		size_t used = (size_t)(rb - s) + 1;
		if (used < len) {
			if (s[used] != ':') {
				*why = "unexpected characters after ']'";
				return -EINVAL;
			}
			port = s + used + 1;
			port_len = len - used - 1;
		}
		ok = parse_ipv6(s + 1, used - 2, p, why);
	} else {
		const char *colon = memchr(s, ':', len);
		size_t hlen = len;
		if (colon) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
			port_len = len - hlen - 1;
			if (memchr(port, ':', port_len)) {
				*why = "IPv6 address must be in brackets, "
				       "e.g. [::1]:3260";
				return -EINVAL;
			}
		}
		ok = parse_hostname(s, hlen, p, why);
	}
	if (ok && port) {
		ok = parse_port(port, port_len, &p->port, why);
		p->has_port = ok;
	}
	if (!ok) {
		p->host[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

int url_format_portal(const struct url_portal *p, char *buf, size_t cap)
{
	int n;

	if (p->kind == URL_HOST_IPV6) {
		/* A zone is written after a bare '%', unless it starts with
		 * "25": then RFC 6874's "%25" keeps it from being misread. */
		const char *pct = strchr(p->host, '%');
		int alen = pct ? (int)(pct - p->host) : (int)strlen(p->host);
		const char *zone = pct ? pct + 1 : "";
		bool esc = pct && zone[0] == '2' && zone[1] == '5';
		n = snprintf(buf, cap, "[%.*s%s%s]:%u", alen, p->host,
			     pct ? (esc ? "%25" : "%") : "", zone,
			     (unsigned)p->port);
	} else {
		n = snprintf(buf, cap, "%s:%u", p->host, (unsigned)p->port);
	}
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

int url_parse_target(const char *s, size_t len, struct url_target *t,
		     const char **why)
{
	const char *comma = memchr(s, ',', len);
	size_t nlen = comma ? (size_t)(comma - s) : len;
	int rc;

	t->has_portal = false;
	rc = url_name_normalize(s, nlen, t->name, why);
	if (rc == 0 && comma) {
		rc = url_parse_portal(comma + 1, len - nlen - 1, &t->portal, why);
		t->has_portal = rc == 0;
	}
	if (rc)
		t->name[0] = '\0';
	return rc;
}

/* ---- iscsi:// URLs -------------------------------------------------- */

/* RFC 3986 percent-decoding into out (cap bytes, NUL-terminated). A
 * decoded NUL is refused: every consumer treats these as C strings. */
static bool pct_decode(const char *s, size_t len, char *out, size_t cap,
		       size_t *n, const char *too_long, const char **why)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len || !is_hex(s[i + 1]) ||
			    !is_hex(s[i + 2]))
				return fail(why, "'%' must be followed by two "
						 "hex digits");
			c = (char)(hex_val(s[i + 1]) << 4 | hex_val(s[i + 2]));
			i += 2;
			if (c == '\0')
				return fail(why, "%00 is not allowed");
		} else if ((unsigned char)c < 0x20 || c == 0x7f) {
			return fail(why, "control character in URL");
		}
		if (o + 1 >= cap)
			return fail(why, too_long);
		out[o++] = c;
	}
	out[o] = '\0';
	*n = o;
	return true;
}

static bool parse_userinfo(const char *s, size_t len, struct url_iscsi *u,
			   const char **why)
{
	const char *sep = memchr(s, '%', len);
	size_t n;

	if (!sep)
		sep = memchr(s, ':', len);
	size_t ulen = sep ? (size_t)(sep - s) : len;
	if (ulen == 0)
		return fail(why, "empty user name before '@'");
	if (ulen > URL_USER_MAX)
		return fail(why, "user name longer than 255 bytes");
	for (size_t i = 0; i < ulen; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(why, "control character in user name");
	memcpy(u->user, s, ulen);
	u->user[ulen] = '\0';
	u->has_user = true;
	if (!sep)
		return true;
	if (ulen + 1 == len)
		return fail(why, "empty password");
	if (!pct_decode(sep + 1, len - ulen - 1, u->password,
			sizeof(u->password), &n,
			"password longer than 255 bytes", why))
		return false;
	u->has_password = true;
	return true;
}

static bool parse_path(const char *s, size_t len, struct url_iscsi *u,
		       const char **why)
{
	char name[URL_NAME_MAX + 2];
	const char *slash = memchr(s, '/', len);
	size_t nlen = slash ? (size_t)(slash - s) : len, n;

	if (nlen == 0) {
		if (slash)
			return fail(why, "empty target name");
		return true;  /* "iscsi://host/": a portal only */
	}
	if (!pct_decode(s, nlen, name, sizeof(name), &n,
			"iSCSI name longer than 223 bytes", why))
		return false;
	if (url_name_normalize(name, n, u->target, why))
		return false;
	u->has_target = true;
	if (!slash)
		return true;

	const char *lun = slash + 1;
	size_t llen = len - nlen - 1;
	uint32_t v = 0;
	if (llen == 0)
		return fail(why, "missing LUN after '/'");
	for (size_t i = 0; i < llen; i++) {
		if (!is_digit(lun[i]))
			return fail(why, "LUN must be a decimal number");
		v = v * 10 + (uint32_t)(lun[i] - '0');
		if (v > URL_LUN_MAX)
			return fail(why, "LUN out of range 0..16383");
	}
	u->lun = v;
	u->has_lun = true;
	return true;
}

/* libiscsi's query arguments: target_user and target_password (mutual
 * CHAP), header_digest (none, crc32c, none-crc32c, crc32c-none). Unknown
 * arguments are refused rather than ignored. */
static bool parse_query(const char *s, size_t len, struct url_iscsi *u,
			const char **why)
{
	while (len > 0) {
		const char *amp = memchr(s, '&', len);
		size_t alen = amp ? (size_t)(amp - s) : len, n;
		const char *eq = memchr(s, '=', alen);
		if (!eq || eq == s)
			return fail(why, "URL argument without a name or '='");
		size_t klen = (size_t)(eq - s), vlen = alen - klen - 1;
		const char *v = eq + 1;
		if (klen == 11 && memcmp(s, "target_user", 11) == 0) {
			if (!pct_decode(v, vlen, u->target_user, sizeof(u->target_user),
					&n, "target_user longer than 255 bytes", why))
				return false;
			if (n == 0)
				return fail(why, "empty target_user");
			u->has_target_user = true;
		} else if (klen == 15 && memcmp(s, "target_password", 15) == 0) {
			if (!pct_decode(v, vlen, u->target_password,
					sizeof(u->target_password), &n,
					"target_password longer than 255 bytes", why))
				return false;
			if (n == 0)
				return fail(why, "empty target_password");
			u->has_target_password = true;
		} else if (klen == 13 && memcmp(s, "header_digest", 13) == 0) {
			static const char *const names[] = {
				"none", "crc32c", "none-crc32c", "crc32c-none",
			};
			u->header_digest = -1;
			for (int i = 0; i < 4; i++)
				if (vlen == strlen(names[i]) &&
				    strncasecmp(v, names[i], vlen) == 0)
					u->header_digest = i;
			if (u->header_digest < 0)
				return fail(why, "header_digest must be none, crc32c, "
						 "none-crc32c or crc32c-none");
			u->has_header_digest = true;
		} else {
			return fail(why, "unknown URL argument (known: target_user, "
					 "target_password, header_digest)");
		}
		if (!amp)
			break;
		len -= alen + 1;
		s = amp + 1;
	}
	return true;
}

int url_parse_iscsi(const char *s, size_t len, struct url_iscsi *u,
		    const char **why)
{
	static const char scheme[] = "iscsi://";
	const size_t sl = sizeof(scheme) - 1;

	memset(u, 0, sizeof(*u));
	if (len < sl || strncasecmp(s, scheme, sl) != 0) {
		*why = "URL must start with iscsi://";
		return -EINVAL;
	}
	s += sl;
	len -= sl;
	if (memchr(s, '#', len)) {
		*why = "'#' is not supported in iscsi:// URLs (percent-encode it "
		       "in a password as %23)";
		return -EINVAL;
	}
	const char *q = memchr(s, '?', len);
	if (q) {
		if (!parse_query(q + 1, len - (size_t)(q - s) - 1, u, why)) {
			url_iscsi_wipe(u);
			return -EINVAL;
		}
		len = (size_t)(q - s);
	}

	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	const char *at = memrchr(s, '@', alen);
	bool ok = true;

	if (slash && memchr(slash, '@', len - alen)) {
		ok = fail(why, "'@' after the host: percent-encode '/' in the "
			       "password as %2F");
	} else if (at) {
		ok = parse_userinfo(s, (size_t)(at - s), u, why);
	}
	size_t hstart = at ? (size_t)(at - s) + 1 : 0;
	if (ok && url_parse_portal(s + hstart, alen - hstart, &u->portal, why))
		ok = false;
	if (ok && slash)
		ok = parse_path(slash + 1, len - alen - 1, u, why);
	if (!ok) {
		url_iscsi_wipe(u);
		return -EINVAL;
	}
	return 0;
}

void url_iscsi_wipe(struct url_iscsi *u)
{
	explicit_bzero(u, sizeof(*u));
}
