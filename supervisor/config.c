/* SPDX-License-Identifier: MIT */
#include "supervisor/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/url.h"
#include "supervisor/config_schema.h"

/* ---- the key tables -------------------------------------------------- */

/* File order is table order. */
static const struct cfg_key initiator_keys[] = {
	{ "node-name",      CFG_K_NAME, offsetof(struct cfg_initiator, node_name), 0, 0 },
	{ "node-alias",     CFG_K_TEXT, offsetof(struct cfg_initiator, alias), 0, 0 },
	{ "authentication", CFG_K_AUTH, offsetof(struct cfg_initiator, auth), 0, 0 },
	{ "chap-name",      CFG_K_TEXT, offsetof(struct cfg_initiator, chap_name), 0, 0 },
	{ "quirks",         CFG_K_QUIRKS, offsetof(struct cfg_initiator, quirks), 0, 0 },
	{ NULL, CFG_K_TEXT, 0, 0, 0 },
};

static const struct cfg_key discovery_keys[] = {
	{ "sendtargets",    CFG_K_ENABLE, offsetof(struct cfg_discovery, sendtargets), 0, 0 },
	{ "interval",       CFG_K_UINT, offsetof(struct cfg_discovery, interval),
	  CFG_INTERVAL_MIN, CFG_INTERVAL_MAX },
	{ "authentication", CFG_K_AUTH, offsetof(struct cfg_discovery, auth), 0, 0 },
	{ "chap-name",      CFG_K_TEXT, offsetof(struct cfg_discovery, chap_name), 0, 0 },
	{ "portal",         CFG_K_PORTAL, offsetof(struct cfg_discovery, portals), 0, 0 },
	{ "isns",           CFG_K_ENABLE, offsetof(struct cfg_discovery, isns), 0, 0 },
	{ "isns-server",    CFG_K_PORTAL, offsetof(struct cfg_discovery, isns_servers),
	  CFG_ISNS_PORT, 1 },
	{ NULL, CFG_K_TEXT, 0, 0, 0 },
};

static const struct cfg_key target_keys[] = {
	{ "alias",          CFG_K_TEXT, offsetof(struct cfg_target, alias), 0, 0 },
	{ "config-type",    CFG_K_ORIGIN, offsetof(struct cfg_target, origin), 0, 0 },
	{ "portal",         CFG_K_PORTAL, offsetof(struct cfg_target, portals), 0, 0 },
	{ "auto-login",     CFG_K_BOOL, offsetof(struct cfg_target, auto_login), 0, 0 },
	{ "persistent",     CFG_K_BOOL, offsetof(struct cfg_target, persistent), 0, 0 },
	{ "auto-mount",     CFG_K_BOOL, offsetof(struct cfg_target, auto_mount), 0, 0 },
	{ "max-connections", CFG_K_UINT, offsetof(struct cfg_target, max_connections),
	  1, CFG_MAXCONN_MAX },
	{ "scheduling",     CFG_K_SCHED, offsetof(struct cfg_target, sched), 0, 0 },
	{ "error-recovery-level", CFG_K_UINT, offsetof(struct cfg_target, erl),
	  0, CFG_ERL_MAX },
	{ "replacement-timeout", CFG_K_UINT, offsetof(struct cfg_target, replacement_timeout),
	  0, CFG_REPLACEMENT_MAX },
	{ "default-time2wait", CFG_K_UINT, offsetof(struct cfg_target, time2wait), 0, 3600 },
	{ "default-time2retain", CFG_K_UINT, offsetof(struct cfg_target, time2retain), 0, 3600 },
	{ "quirks",         CFG_K_QUIRKS, offsetof(struct cfg_target, quirks), 0, 0 },
	{ "header-digest",  CFG_K_DIGEST, offsetof(struct cfg_target, header_digest), 0, 0 },
	{ "data-digest",    CFG_K_DIGEST, offsetof(struct cfg_target, data_digest), 0, 0 },
	{ "authentication", CFG_K_AUTH, offsetof(struct cfg_target, auth), 0, 0 },
	{ "chap-name",      CFG_K_TEXT, offsetof(struct cfg_target, chap_name), 0, 0 },
	{ NULL, CFG_K_TEXT, 0, 0, 0 },
};

static const struct cfg_key *const section_keys[] = {
	[CFG_SECT_INITIATOR] = initiator_keys,
	[CFG_SECT_DISCOVERY] = discovery_keys,
	[CFG_SECT_TARGET] = target_keys,
};

static const char *const section_names[] = {
	[CFG_SECT_INITIATOR] = "initiator",
	[CFG_SECT_DISCOVERY] = "discovery",
	[CFG_SECT_TARGET] = "target",
};

/* Canonical spellings first: the writer uses them. */
static const char *const auth_names[] = { "None", "CHAP", NULL };
static const char *const digest_names[] = {
	"None", "CRC32C", "prefer-CRC32C", "prefer-None", NULL };
static const char *const origin_names[] = { "static", "discovered", NULL };
static const char *const bool_names[] = { "no", "yes", NULL };
static const char *const enable_names[] = { "disable", "enable", NULL };
/* enum cfg_quirks less one: UNSET is the empty value. */
static const char *const quirks_names[] = { "on", "off", NULL };
static const char *const sched_names[] = {
	"adaptive", "least-queue-depth", "round-robin", "failover-only", "weighted-paths", NULL };

const char *cfg_sched_name(enum cfg_sched s)
{
	return (unsigned)s <= CFG_SCHED_WEIGHTED ? sched_names[s] : sched_names[0];
}

static const char *const *enum_names(enum cfg_key_kind k)
{
	switch (k) {
	case CFG_K_AUTH:   return auth_names;
	case CFG_K_DIGEST: return digest_names;
	case CFG_K_ORIGIN: return origin_names;
	case CFG_K_BOOL:   return bool_names;
	case CFG_K_ENABLE: return enable_names;
	case CFG_K_SCHED:  return sched_names;
	case CFG_K_QUIRKS: return quirks_names;
	default:           return NULL;
	}
}

const struct cfg_key *cfg_schema(enum cfg_section s)
{
	return (unsigned)s <= CFG_SECT_TARGET ? section_keys[s] : NULL;
}

const char *cfg_section_name(enum cfg_section s)
{
	return (unsigned)s <= CFG_SECT_TARGET ? section_names[s] : "?";
}

const struct cfg_key *cfg_key_find(enum cfg_section s, const char *name,
				   size_t len)
{
	const struct cfg_key *keys = cfg_schema(s);
	if (!keys)
		return NULL;
	for (const struct cfg_key *k = keys; k->name; k++)
		if (strlen(k->name) == len && memcmp(k->name, name, len) == 0)
			return k;
	return NULL;
}

const char *cfg_key_name(enum cfg_section s, size_t i)
{
	if ((unsigned)s > CFG_SECT_TARGET)
		return NULL;
	const struct cfg_key *keys = section_keys[s];
	for (size_t j = 0; j <= i; j++)
		if (!keys[j].name)
			return NULL;
	return keys[i].name;
}

/* "a, b, c": the known keys, for error messages. */
void cfg_key_list(enum cfg_section s, char *buf, size_t cap)
{
	const struct cfg_key *keys = cfg_schema(s);
	size_t n = 0;
	buf[0] = '\0';
	for (const struct cfg_key *k = keys; k->name && n < cap; k++) {
		int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "",
				 k->name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* ---- values ---------------------------------------------------------- */

static bool utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], need;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; cp = c & 0x07;
		} else {
			return false;
		}
		if (i + need >= len)
			return false;
		for (unsigned j = 1; j <= need; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3fu);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += need + 1;
	}
	return true;
}

static int check_text(const char *v, size_t len, const char **why)
{
	if (len > CFG_TEXT_MAX) {
		*why = "longer than 255 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f) {
			*why = "control characters are not allowed";
			return -EINVAL;
		}
	}
	if (!utf8_ok((const unsigned char *)v, len)) {
		*why = "not valid UTF-8";
		return -EINVAL;
	}
	return 0;
}

static int replace_str(char **field, const char *v, size_t len)
{
	char *copy = NULL;
	if (len > 0) {
		copy = strndup(v, len);
		if (!copy)
			return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int parse_uint(const char *v, size_t len, uint32_t min, uint32_t max,
		      uint32_t *out)
{
	uint64_t x = 0;
	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x < min || x > max)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

static int parse_enum(const char *const *names, const char *v, size_t len)
{
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], v, len) == 0)
			return i;
	return -1;
}

/* Linux interface names: 1..15 bytes, no '/', ':', blanks; not . or .. */
static bool iface_ok(const char *s, size_t len)
{
	if (len == 0 || len > 15 || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '/' || s[i] == ':')
			return false;
	return true;
}

/* ---- portals ---------------------------------------------------------- */

static void portal_free(struct cfg_portal *p)
{
	free(p->host);
	free(p->iface);
	memset(p, 0, sizeof(*p));
}

static void portals_free(struct cfg_portals *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		portal_free(&ps->v[i]);
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static bool same_iface(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int portal_insert(struct cfg_portals *ps, const struct url_portal *u,
			 const char *iface, size_t iface_len)
{
	char *ifc = iface_len ? strndup(iface, iface_len) : NULL;

	for (size_t i = 0; i < ps->n; i++) {
		if (ps->v[i].port == u->port && strcmp(ps->v[i].host, u->host) == 0 &&
		    same_iface(ps->v[i].iface, ifc)) {
			free(ifc);
			return -EEXIST;
		}
	}
	if (iface_len && !ifc)
		return -ENOMEM;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 4;
		struct cfg_portal *v = realloc(ps->v, cap * sizeof(*v));
		if (!v) {
			free(ifc);
			return -ENOMEM;
		}
		ps->v = v;
		ps->cap = cap;
	}
	char *host = strdup(u->host);
	if (!host) {
		free(ifc);
		return -ENOMEM;
	}
	ps->v[ps->n++] = (struct cfg_portal){
		.host = host, .port = u->port, .ipv6 = u->kind == URL_HOST_IPV6,
		.iface = ifc,
	};
	return 0;
}

/* "host[:port] [interface=NAME]", the value of a portal line (port:
 * the default when not 0; no_iface: a server of another service, which
 * takes no interface). why points at a static reason or, for -EEXIST, is
 * left alone. */
static int portal_parse_add(struct cfg_portals *ps, const char *v, size_t len,
			    uint32_t port, bool no_iface, const char **why)
{
	struct url_portal u;
	size_t plen = 0;

	while (plen < len && v[plen] != ' ' && v[plen] != '\t')
		plen++;
	if (url_parse_portal(v, plen, &u, why))
		return -EINVAL;
	if (port && !u.has_port)
		u.port = (uint16_t)port;
	size_t i = plen;
	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	const char *ifc = NULL;
	size_t ilen = 0;
	if (i < len && no_iface) {
		*why = "unknown text after the server address";
		return -EINVAL;
	}
	if (i < len) {
		static const char opt[] = "interface=";
		if (len - i < sizeof(opt) - 1 ||
		    memcmp(v + i, opt, sizeof(opt) - 1) != 0) {
			*why = "unknown text after the portal (expected "
			       "interface=NAME)";
			return -EINVAL;
		}
		ifc = v + i + sizeof(opt) - 1;
		ilen = len - i - (sizeof(opt) - 1);
		if (!iface_ok(ifc, ilen)) {
			*why = "invalid interface name";
			return -EINVAL;
		}
	}
	int rc = portal_insert(ps, &u, ifc, ilen);
	if (rc == -EEXIST)
		*why = "duplicate portal";
	return rc;
}

int cfg_portal_add(struct cfg_portals *ps, const char *portal,
		   const char *iface, struct cfg_error *err)
{
	struct url_portal u;
	const char *why;
	size_t ilen = iface ? strlen(iface) : 0;
	char shown[80];

	if (url_parse_portal(portal, strlen(portal), &u, &why))
		return cfgtext_error(err, NULL, 0, "portal '%s': %s",
				     cfgtext_printable(shown, sizeof(shown),
						       portal, strlen(portal)),
				     why);
	if (iface && !iface_ok(iface, ilen))
		return cfgtext_error(err, NULL, 0, "invalid interface name '%s'",
				     cfgtext_printable(shown, sizeof(shown),
						       iface, ilen));
	int rc = portal_insert(ps, &u, iface, ilen);
	if (rc == -EEXIST)
		cfgtext_error(err, NULL, 0, "portal %s is already there",
			      portal);
	else if (rc)
		cfgtext_error(err, NULL, 0, "%s", strerror(-rc));
	return rc;
}

int cfg_server_add(struct cfg_portals *ps, const char *server, uint16_t port,
		   struct cfg_error *err)
{
	const char *why = NULL;
	char shown[80];
	int rc = portal_parse_add(ps, server, strlen(server), port, true, &why);

	if (rc == -EEXIST)
		cfgtext_error(err, NULL, 0, "server %s is already there",
			      cfgtext_printable(shown, sizeof(shown), server,
						strlen(server)));
	else if (rc)
		cfgtext_error(err, NULL, 0, "server '%s': %s",
			      cfgtext_printable(shown, sizeof(shown), server,
						strlen(server)),
			      rc == -ENOMEM ? strerror(ENOMEM) : why);
	return rc;
}

int cfg_server_remove(struct cfg_portals *ps, const char *server, uint16_t port,
		      struct cfg_error *err)
{
	struct url_portal u;
	const char *why;
	char shown[80];

	if (url_parse_portal(server, strlen(server), &u, &why))
		return cfgtext_error(err, NULL, 0, "server '%s': %s",
				     cfgtext_printable(shown, sizeof(shown),
						       server, strlen(server)),
				     why);
	if (!u.has_port)
		u.port = port;
	char canon[URL_PORTAL_STRMAX];
	if (url_format_portal(&u, canon, sizeof(canon)) < 0)
		return -ENOENT;
	return cfg_portal_remove(ps, canon, NULL, err);
}

int cfg_portal_remove(struct cfg_portals *ps, const char *portal,
		      const char *iface, struct cfg_error *err)
{
	struct url_portal u;
	const char *why;
	char shown[80];
	int removed = 0;

	if (url_parse_portal(portal, strlen(portal), &u, &why))
		return cfgtext_error(err, NULL, 0, "portal '%s': %s",
				     cfgtext_printable(shown, sizeof(shown),
						       portal, strlen(portal)),
				     why);
	for (size_t i = 0; i < ps->n;) {
		struct cfg_portal *p = &ps->v[i];
		if (p->port == u.port && strcmp(p->host, u.host) == 0 &&
		    (!iface || same_iface(p->iface, iface))) {
			portal_free(p);
			memmove(p, p + 1, (ps->n - i - 1) * sizeof(*p));
			ps->n--;
			removed++;
		} else {
			i++;
		}
	}
	if (!removed)
		return -ENOENT;
	return removed;
}

int cfg_portal_format(const struct cfg_portal *p, char *buf, size_t cap)
{
	struct url_portal u = {
		.port = p->port, .kind = p->ipv6 ? URL_HOST_IPV6 : URL_HOST_NAME,
	};
	snprintf(u.host, sizeof(u.host), "%s", p->host);
	int n = url_format_portal(&u, buf, cap);
	if (n < 0 || !p->iface)
		return n;
	int m = snprintf(buf + n, cap - (size_t)n, " interface=%s", p->iface);
	return (m < 0 || (size_t)m >= cap - (size_t)n) ? -ENOSPC : n + m;
}

/* ---- setting and getting keys by table ------------------------------- */

/* Sets key k of the struct at base from a decoded value (v[len] == NUL).
 * Fills why (a buffer: some reasons carry the allowed range). */
int cfg_key_set(void *base, const struct cfg_key *k, const char *v,
		size_t len, char *why, size_t why_cap)
{
	char *field = (char *)base + k->off;
	const char *reason = NULL;
	int rc = 0;

	if (memchr(v, '\0', len)) {
		snprintf(why, why_cap, "NUL byte in value");
		return -EINVAL;
	}
	switch (k->kind) {
	case CFG_K_NAME: {
		char name[URL_NAME_MAX + 1];
		rc = url_name_normalize(v, len, name, &reason);
		if (rc == 0)
			rc = replace_str((char **)(void *)field, name,
					 strlen(name));
		break;
	}
	case CFG_K_TEXT:
		rc = check_text(v, len, &reason);
		if (rc == 0)
			rc = replace_str((char **)(void *)field, v, len);
		break;
	case CFG_K_UINT:
		rc = parse_uint(v, len, k->min, k->max, (uint32_t *)(void *)field);
		if (rc) {
			snprintf(why, why_cap, "expected a number in %u..%u",
				 (unsigned)k->min, (unsigned)k->max);
			return rc;
		}
		break;
	case CFG_K_PORTAL:
		rc = portal_parse_add((struct cfg_portals *)(void *)field, v, len,
				      k->min, k->max == 1, &reason);
		break;
	case CFG_K_QUIRKS:
		if (len == 0) {              /* back to the default */
			*(enum cfg_quirks *)(void *)field = CFG_QUIRKS_UNSET;
			break;
		}
		/* fall through */
	default: {
		const char *const *names = enum_names(k->kind);
		int e = parse_enum(names, v, len);
		if (e < 0) {
			size_t n = 0;
			for (int i = 0; names[i] && n < why_cap; i++) {
				int w = snprintf(why + n, why_cap - n, "%s%s",
						 i == 0 ? "expected " :
						 names[i + 1] ? ", " : " or ",
						 names[i]);
				n += w > 0 ? (size_t)w : 0;
			}
			return -EINVAL;
		}
		if (k->kind == CFG_K_BOOL || k->kind == CFG_K_ENABLE)
			*(bool *)(void *)field = e == 1;
		else if (k->kind == CFG_K_AUTH)
			*(enum cfg_auth *)(void *)field = (enum cfg_auth)e;
		else if (k->kind == CFG_K_DIGEST)
			*(enum cfg_digest *)(void *)field = (enum cfg_digest)e;
		else if (k->kind == CFG_K_SCHED)
			*(enum cfg_sched *)(void *)field = (enum cfg_sched)e;
		else if (k->kind == CFG_K_QUIRKS)
			*(enum cfg_quirks *)(void *)field = (enum cfg_quirks)(e + 1);
		else
			*(enum cfg_origin *)(void *)field = (enum cfg_origin)e;
		break;
	}
	}
	if (rc == -ENOMEM)
		snprintf(why, why_cap, "out of memory");
	else if (rc && reason)
		snprintf(why, why_cap, "%s", reason);
	return rc;
}

/* The value of key k in file syntax, unquoted; "" for an unset string. */
int cfg_key_get(const void *base, const struct cfg_key *k, char *buf,
		size_t cap)
{
	const char *field = (const char *)base + k->off;
	const char *s = NULL;
	int n;

	switch (k->kind) {
	case CFG_K_NAME:
	case CFG_K_TEXT:
		s = *(char *const *)(const void *)field;
		s = s ? s : "";
		break;
	case CFG_K_UINT:
		n = snprintf(buf, cap, "%u", *(const uint32_t *)(const void *)field);
		return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
	case CFG_K_BOOL:
	case CFG_K_ENABLE:
		s = enum_names(k->kind)[*(const bool *)(const void *)field ? 1 : 0];
		break;
	case CFG_K_AUTH:
		s = auth_names[*(const enum cfg_auth *)(const void *)field];
		break;
	case CFG_K_DIGEST:
		s = digest_names[*(const enum cfg_digest *)(const void *)field];
		break;
	case CFG_K_ORIGIN:
		s = origin_names[*(const enum cfg_origin *)(const void *)field];
		break;
	case CFG_K_SCHED:
		s = cfg_sched_name(*(const enum cfg_sched *)(const void *)field);
		break;
	case CFG_K_QUIRKS: {
		enum cfg_quirks q = *(const enum cfg_quirks *)(const void *)field;
		s = q == CFG_QUIRKS_UNSET ? "" : quirks_names[q == CFG_QUIRKS_OFF];
		break;
	}
	case CFG_K_PORTAL:
		return -ENOENT;
	}
	n = snprintf(buf, cap, "%s", s);
	return (n < 0 || (size_t)n >= cap) ? -ENOSPC : 0;
}

/* ---- lifecycle -------------------------------------------------------- */

static void target_defaults(struct cfg_target *t)
{
	memset(t, 0, sizeof(*t));
	t->origin = CFG_ORIGIN_STATIC;
	t->max_connections = CFG_MAXCONN_DEFAULT;
	t->erl = 2;                        /* the most the target accepts */
	t->replacement_timeout = CFG_REPLACEMENT_DEFAULT;
	t->header_digest = CFG_DIGEST_NONE;
	t->data_digest = CFG_DIGEST_NONE;
	t->auth = CFG_AUTH_NONE;
}

static void target_free(struct cfg_target *t)
{
	free(t->name);
	free(t->alias);
	free(t->chap_name);
	portals_free(&t->portals);
}

int cfg_create(struct cfg **out)
{
	struct cfg *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->initiator.auth = CFG_AUTH_NONE;
	c->discovery.sendtargets = false;
	c->discovery.interval = CFG_INTERVAL_DEFAULT;
	c->discovery.auth = CFG_AUTH_NONE;
	*out = c;
	return 0;
}

void cfg_destroy(struct cfg *c)
{
	if (!c)
		return;
	free(c->header);
	free(c->initiator.node_name);
	free(c->initiator.alias);
	free(c->initiator.chap_name);
	free(c->discovery.chap_name);
	portals_free(&c->discovery.portals);
	portals_free(&c->discovery.isns_servers);
	for (size_t i = 0; i < c->n_targets; i++)
		target_free(&c->targets[i]);
	free(c->targets);
	free(c);
}

const char *cfg_path(const char *option)
{
	if (option)
		return option;
	const char *env = getenv(CFG_ENV_PATH);
	return (env && env[0]) ? env : CFG_DEFAULT_PATH;
}

/* ---- targets ---------------------------------------------------------- */

static struct cfg_target *find_normalized(const struct cfg *c, const char *n)
{
	for (size_t i = 0; i < c->n_targets; i++)
		if (strcmp(c->targets[i].name, n) == 0)
			return &c->targets[i];
	return NULL;
}

struct cfg_target *cfg_target_find(const struct cfg *c, const char *name)
{
	char n[URL_NAME_MAX + 1];
	const char *why;

	if (url_name_normalize(name, strlen(name), n, &why))
		return NULL;
	return find_normalized(c, n);
}

/* Appends a target with defaults; name already normalized. */
int cfg_target_append(struct cfg *c, const char *name,
			 struct cfg_target **out)
{
	if (c->n_targets == c->cap_targets) {
		size_t cap = c->cap_targets ? c->cap_targets * 2 : 4;
		struct cfg_target *v = realloc(c->targets, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->targets = v;
		c->cap_targets = cap;
	}
	struct cfg_target *t = &c->targets[c->n_targets];
	target_defaults(t);
	t->name = strdup(name);
	if (!t->name)
		return -ENOMEM;
	c->n_targets++;
	*out = t;
	return 0;
}

int cfg_target_add(struct cfg *c, const char *name, struct cfg_target **out,
		   struct cfg_error *err)
{
	char n[URL_NAME_MAX + 1], shown[80];
	const char *why;

	if (url_name_normalize(name, strlen(name), n, &why))
		return cfgtext_error(err, NULL, 0, "invalid target name '%s': %s",
				     cfgtext_printable(shown, sizeof(shown), name,
						       strlen(name)), why);
	if (find_normalized(c, n)) {
		cfgtext_error(err, NULL, 0, "target %s is already configured", n);
		return -EEXIST;
	}
	int rc = cfg_target_append(c, n, out);
	if (rc)
		cfgtext_error(err, NULL, 0, "out of memory");
	return rc;
}

int cfg_target_remove(struct cfg *c, const char *name)
{
	struct cfg_target *t = cfg_target_find(c, name);
	if (!t)
		return -ENOENT;
	size_t i = (size_t)(t - c->targets);
	target_free(t);
	memmove(t, t + 1, (c->n_targets - i - 1) * sizeof(*t));
	c->n_targets--;
	return 0;
}

/* The struct and key table for a section. */
static void *section_base(const struct cfg *c, enum cfg_section s,
			  const char *target, struct cfg_target **t)
{
	switch (s) {
	case CFG_SECT_INITIATOR:
		return (void *)&c->initiator;
	case CFG_SECT_DISCOVERY:
		return (void *)&c->discovery;
	case CFG_SECT_TARGET:
		*t = target ? cfg_target_find(c, target) : NULL;
		return *t;
	}
	return NULL;
}

int cfg_set(struct cfg *c, enum cfg_section s, const char *target,
	    const char *key, const char *value, struct cfg_error *err)
{
	struct cfg_target *t = NULL;
	char why[160], shown[80];

	if ((unsigned)s > CFG_SECT_TARGET)
		return cfgtext_error(err, NULL, 0, "no such section");
	void *base = section_base(c, s, target, &t);
	if (!base) {
		cfgtext_error(err, NULL, 0, "target %s is not configured",
			      target ? cfgtext_printable(shown, sizeof(shown),
							 target, strlen(target))
				     : "(none)");
		return -ENOENT;
	}
	const struct cfg_key *k = cfg_key_find(s, key, strlen(key));
	if (!k || k->kind == CFG_K_PORTAL) {
		char known[256];
		cfg_key_list(s, known, sizeof(known));
		cfgtext_error(err, NULL, 0, "unknown key '%s' for [%s]%s "
			      "(known: %s)", cfgtext_printable(shown,
			      sizeof(shown), key, strlen(key)), section_names[s],
			      k ? ": add or remove portals instead" : "", known);
		return -ENOENT;
	}
	int rc = cfg_key_set(base, k, value, strlen(value), why, sizeof(why));
	if (rc)
		cfgtext_error(err, NULL, 0, "%s = '%s': %s", k->name,
			      cfgtext_printable(shown, sizeof(shown), value,
						strlen(value)), why);
	return rc;
}

int cfg_get(const struct cfg *c, enum cfg_section s, const char *target,
	    const char *key, char *buf, size_t cap)
{
	struct cfg_target *t = NULL;

	if ((unsigned)s > CFG_SECT_TARGET)
		return -ENOENT;
	const void *base = section_base(c, s, target, &t);
	const struct cfg_key *k = cfg_key_find(s, key, strlen(key));
	if (!base || !k)
		return -ENOENT;
	return cfg_key_get(base, k, buf, cap);
}

const char *cfg_digest_offer(enum cfg_digest d)
{
	switch (d) {
	case CFG_DIGEST_CRC32C:        return "CRC32C";
	case CFG_DIGEST_PREFER_CRC32C: return "CRC32C,None";
	case CFG_DIGEST_PREFER_NONE:   return "None,CRC32C";
	case CFG_DIGEST_NONE:          break;
	}
	return "None";
}

const char *cfg_initiator_chap_name(const struct cfg *c)
{
	return c->initiator.chap_name ? c->initiator.chap_name
				      : c->initiator.node_name;
}

bool cfg_quirks_off(const struct cfg *c, const struct cfg_target *t)
{
	enum cfg_quirks q = t && t->quirks != CFG_QUIRKS_UNSET ? t->quirks : c->initiator.quirks;

	return q == CFG_QUIRKS_OFF;
}

/* ---- validation ------------------------------------------------------- */

int cfg_validate_at(const struct cfg *c, const char *where,
		    struct cfg_error *err)
{
	for (size_t i = 0; i < c->n_targets; i++) {
		const struct cfg_target *t = &c->targets[i];
		if (t->auth == CFG_AUTH_CHAP && c->initiator.auth != CFG_AUTH_CHAP)
			return cfgtext_error(err, where, t->line,
				"[target \"%s\"]: authentication = CHAP (mutual "
				"CHAP) needs [initiator] authentication = CHAP",
				t->name);
	}
	if (c->discovery.auth == CFG_AUTH_CHAP && !c->discovery.chap_name &&
	    !cfg_initiator_chap_name(c))
		return cfgtext_error(err, where, 0, "[discovery]: authentication "
				     "= CHAP needs a chap-name or an initiator "
				     "node-name");
	return 0;
}

int cfg_validate(const struct cfg *c, struct cfg_error *err)
{
	return cfg_validate_at(c, NULL, err);
}

