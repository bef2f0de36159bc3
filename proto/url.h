/* SPDX-License-Identifier: MIT */
/*
 * iSCSI names, portals and URLs as users type them.
 *
 *  - iSCSI names (RFC 7143 section 4.2.7, RFC 3720 section 3.2.6):
 *    "iqn.yyyy-mm.reversed.domain[:anything]", "eui." + 16 hex digits,
 *    "naa." + 16 or 32 hex digits; at most 223 bytes. Names compare after
 *    the stringprep profile of RFC 3722, which folds case: we fold ASCII
 *    to lowercase and accept only the ASCII subset (a-z 0-9 - . :), so a
 *    normalized name is always safe to print, log and store unquoted.
 *  - Portals: "host[:port]" or "[ipv6[%zone]][:port]", port 3260 unless
 *    given. IP literals are canonicalized (inet_ntop), host names folded to
 *    lowercase, so two spellings of one portal compare equal with strcmp.
 *  - The CLI's target form "<name>[,<portal>]" (macOS iscsictl).
 *  - libiscsi's URL "iscsi://[user[%password]@]host[:port]/<name>[/<lun>]".
 *
 * Pure code: no allocation, no I/O. Results go into caller-provided structs
 * with bounded fields. Every parser returns 0 or -EINVAL and then sets *why
 * to a static, human-readable reason.
 */
#ifndef MCSI_PROTO_URL_H
#define MCSI_PROTO_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define URL_DEFAULT_PORT 3260u
#define URL_NAME_MAX     223u    /* iSCSI name, bytes (RFC 7143 6.1) */
#define URL_HOST_MAX     255u    /* host name or literal, without brackets */
#define URL_USER_MAX     255u    /* CHAP name: a text value, 255 bytes */
#define URL_PASSWORD_MAX 255u
#define URL_LUN_MAX      16383u  /* single-level flat addressing */
#define URL_ZONE_MAX     15u     /* IFNAMSIZ - 1 */
/* Room for url_format_portal(): "[" host "]:" 5 digits NUL. */
#define URL_PORTAL_STRMAX (URL_HOST_MAX + 9u)

enum url_host_kind { URL_HOST_NAME, URL_HOST_IPV4, URL_HOST_IPV6 };

struct url_portal {
	/* Canonical host: a lowercase DNS name, a dotted quad, or an IPv6
	 * address without brackets followed by "%zone" when a zone was
	 * given. NUL-terminated. */
	char host[URL_HOST_MAX + 1];
	uint16_t port;               /* URL_DEFAULT_PORT when not given */
	bool has_port;               /* the input named a port */
	enum url_host_kind kind;
};

/* "<name>[,<portal>]" */
struct url_target {
	char name[URL_NAME_MAX + 1]; /* normalized */
	struct url_portal portal;    /* valid when has_portal */
	bool has_portal;
};

/* "iscsi://[user[%password]@]host[:port][/<name>[/<lun>]]" */
struct url_iscsi {
	struct url_portal portal;
	char target[URL_NAME_MAX + 1];  /* normalized, valid if has_target */
	char user[URL_USER_MAX + 1];
	char password[URL_PASSWORD_MAX + 1];  /* wipe with url_iscsi_wipe() */
	uint32_t lun;
	bool has_target, has_lun, has_user, has_password;
	/* Query arguments (libiscsi): ?target_user=U&target_password=P for
	 * mutual CHAP, &header_digest=none|crc32c|none-crc32c|crc32c-none
	 * (0..3 in that order). */
	char target_user[URL_USER_MAX + 1];
	char target_password[URL_PASSWORD_MAX + 1];
	int header_digest;
	bool has_target_user, has_target_password, has_header_digest;
};

/*
 * Validates an iSCSI name of len bytes and writes its normalized form
 * (ASCII lowercase, NUL-terminated) into out; out may be s itself but
 * must not otherwise overlap it. Returns 0, or -EINVAL with *why set (out
 * then holds an empty string).
 */
int url_name_normalize(const char *s, size_t len, char out[URL_NAME_MAX + 1],
		       const char **why);

/* Parses a portal "host[:port]" / "[v6[%zone]][:port]" of len bytes.
 * An unbracketed IPv6 literal is refused (its last group would read as a
 * port). Returns 0 or -EINVAL with *why set; *p is undefined on error. */
int url_parse_portal(const char *s, size_t len, struct url_portal *p,
		     const char **why);

/* Parses the CLI's "<name>[,<portal>]". Returns 0 or -EINVAL, *why set. */
int url_parse_target(const char *s, size_t len, struct url_target *t,
		     const char **why);

/*
 * Parses an iscsi:// URL (scheme case-insensitive). The target path and the
 * LUN are optional, but a '/' must be followed by what it announces. The
 * userinfo follows libiscsi: the first '%' separates user and password (or,
 * when there is no '%', the first ':'); the user is taken literally and the
 * password is percent-decoded (RFC 3986), so a password containing '%',
 * '@' or '/' is written %25, %40, %2F. The target path is percent-decoded
 * too. Fragments are refused; the query arguments above are accepted
 * and any other is refused. Returns 0 or -EINVAL with
 * *why set; on error *u holds no password (it is wiped).
 */
int url_parse_iscsi(const char *s, size_t len, struct url_iscsi *u,
		    const char **why);

/* Clears the password (explicit_bzero) and the rest of *u. */
void url_iscsi_wipe(struct url_iscsi *u);

/* Writes "host:port" or "[v6]:port" (always with the port) into buf.
 * Returns the length, or -ENOSPC when cap is too small (buf then holds
 * an empty string if cap > 0). */
int url_format_portal(const struct url_portal *p, char *buf, size_t cap);

#endif
