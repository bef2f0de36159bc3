/* SPDX-License-Identifier: MIT */
/*
 * The configuration shared by iscsictl and mcsid: one human-editable file
 * (docs/config.md) modelled on the macOS iSCSIInitiator preferences:
 *
 *     [initiator]            node name, alias, CHAP use and name
 *     [discovery]            SendTargets on/off, interval, discovery portals
 *     [target "<iqn>"]       one per target: portals, login and session
 *                            parameters, mutual CHAP name
 *
 * CHAP secrets live apart (secrets.h). The model is control plane and
 * allocates; read its fields directly, change them only through the
 * functions below so that every value stays valid and normalized (names
 * lowercase, portals canonical). One writer at a time: there is no
 * locking here, the daemon owns the file while it runs.
 */
#ifndef MCSI_SUPERVISOR_CONFIG_H
#define MCSI_SUPERVISOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisor/cfgtext.h"

#define CFG_DEFAULT_PATH      "/etc/mcsi/mcsi.conf"
#define CFG_ENV_PATH          "MCSI_CONFIG"
#define CFG_FILE_MODE         0644
#define CFG_MAX_FILE          (1u << 20)
#define CFG_NODE_NAME_PREFIX  "iqn.2026-11.org.mcsi:"

/* Limits, from the RFC or the macOS model. */
#define CFG_INTERVAL_MIN      30u
#define CFG_INTERVAL_MAX      32767u
#define CFG_INTERVAL_DEFAULT  300u
#define CFG_MAXCONN_DEFAULT   1u   /* connections wished (MC/S); the target
				       * answers the min */
#define CFG_MAXCONN_MAX       65535u
#define CFG_ERL_MAX           2u
#define CFG_REPLACEMENT_DEFAULT 120u     /* s, as open-iscsi */
#define CFG_REPLACEMENT_MAX   86400u
#define CFG_TEXT_MAX          255u /* alias and CHAP names: RFC text values */
#define CFG_ISNS_PORT         3205u /* iSNS servers (RFC 4171), when not given */

enum cfg_auth { CFG_AUTH_NONE, CFG_AUTH_CHAP };

/* What we offer for HeaderDigest / DataDigest. */
enum cfg_digest {
	CFG_DIGEST_NONE,            /* "None" */
	CFG_DIGEST_CRC32C,          /* "CRC32C": required */
	CFG_DIGEST_PREFER_CRC32C,   /* "CRC32C,None" */
	CFG_DIGEST_PREFER_NONE,     /* "None,CRC32C" */
};

/* A target added by hand stays; a discovered one may be replaced by the
 * next discovery. */
enum cfg_origin { CFG_ORIGIN_STATIC, CFG_ORIGIN_DISCOVERED };

/* Known target defects the session library works around (mcs/quirks.h,
 * mcsi_opts.quirks): "on" or "off"; unset (not written to the file) in a
 * [target] means the [initiator] value, unset there means on. */
enum cfg_quirks { CFG_QUIRKS_UNSET, CFG_QUIRKS_ON, CFG_QUIRKS_OFF };

/* MC/S: which connection a new command goes to (mcsi_opts.sched_policy,
 * whose names these are; the first is the default). */
enum cfg_sched {
	CFG_SCHED_ADAPTIVE,         /* "adaptive" */
	CFG_SCHED_LEAST_DEPTH,      /* "least-queue-depth" */
	CFG_SCHED_ROUND_ROBIN,      /* "round-robin" */
	CFG_SCHED_FAILOVER,         /* "failover-only" */
	CFG_SCHED_WEIGHTED,         /* "weighted-paths" */
};

/* The policy's name as mcsi_opts.sched_policy takes it (static). */
const char *cfg_sched_name(enum cfg_sched s);

enum cfg_section { CFG_SECT_INITIATOR, CFG_SECT_DISCOVERY, CFG_SECT_TARGET };

struct cfg_portal {
	char *host;       /* canonical, as url_parse_portal() leaves it */
	uint16_t port;
	bool ipv6;
	char *iface;      /* local interface to bind to, or NULL for any */
};

struct cfg_portals {
	struct cfg_portal *v;
	size_t n, cap;
};

struct cfg_initiator {
	char *node_name;          /* normalized iSCSI name, NULL if unset */
	char *alias;              /* InitiatorAlias, or NULL */
	enum cfg_auth auth;       /* CHAP: we authenticate to targets */
	char *chap_name;          /* CHAP_N we send; NULL means node_name */
	enum cfg_quirks quirks;   /* the default of every target */
};

struct cfg_discovery {
	bool sendtargets;         /* periodic SendTargets discovery */
	uint32_t interval;        /* seconds */
	enum cfg_auth auth;       /* CHAP on discovery sessions */
	char *chap_name;          /* NULL means the initiator's */
	struct cfg_portals portals;
	bool isns;                /* iSNS queries in the same periodic run */
	struct cfg_portals isns_servers; /* "host:port", never an interface */
};

struct cfg_target {
	char *name;               /* normalized iSCSI name */
	char *alias;
	enum cfg_origin origin;
	struct cfg_portals portals;
	bool auto_login;          /* log in when mcsid starts */
	bool persistent;          /* reconnect after a connection loss */
	bool auto_mount;          /* mount its filesystems after auto-login */
	uint32_t max_connections; /* 1..65535 */
	enum cfg_sched sched;     /* MC/S scheduling policy */
	uint32_t erl;             /* 0..2 */
	/* Seconds the session library reinstates a lost session before it
	 * fails its I/O and gives up (mcsi_opts.replacement_timeout_ms);
	 * only then does mcsid log in again. 0: give up at once. */
	uint32_t replacement_timeout;
	/* DefaultTime2Wait / DefaultTime2Retain offered, seconds (0: the
	 * RFC's 2 and 20): mcsi_opts.time2wait_s, time2retain_s. */
	uint32_t time2wait, time2retain;
	enum cfg_quirks quirks;   /* UNSET: the [initiator] value */
	enum cfg_digest header_digest, data_digest;
	enum cfg_auth auth;       /* CHAP: mutual, the target proves itself */
	char *chap_name;          /* the name the target must answer with */
	unsigned line;            /* of its [target] header when loaded, else 0 */
};

struct cfg {
	char *header;             /* leading comment block, kept on save */
	struct cfg_initiator initiator;
	struct cfg_discovery discovery;
	struct cfg_target *targets;
	size_t n_targets, cap_targets;
};

/* ---- lifecycle, load, save ------------------------------------------ */

/* A configuration with every default and no node name. Returns 0 and
 * *out (the caller owns it: cfg_destroy()) or -ENOMEM. */
int cfg_create(struct cfg **out);
void cfg_destroy(struct cfg *c);

/* Which file to use: option if not NULL (--config), else $MCSI_CONFIG if
 * set and non-empty, else CFG_DEFAULT_PATH. Borrowed from the argument,
 * the environment or a literal. */
const char *cfg_path(const char *option);

/*
 * Parses a whole file held in memory. name labels error messages (the
 * path, or e.g. "<stdin>"). Unknown sections and keys, repeated keys,
 * sections or portals, and bad values are refused with the line number.
 * The result is validated (cfg_validate). Returns 0 and *out (owned by the
 * caller), -EINVAL with err filled, or -ENOMEM.
 */
int cfg_parse(const char *buf, size_t len, const char *name, struct cfg **out,
	      struct cfg_error *err);

/* Reads and parses path. -ENOENT if it does not exist; -EFBIG beyond
 * CFG_MAX_FILE; other -errno from open/read; err is always filled on
 * failure. */
int cfg_load(const char *path, struct cfg **out, struct cfg_error *err);

/* Checks the rules that span keys (mutual CHAP needs the initiator to use
 * CHAP too). Returns 0 or -EINVAL with err filled. */
int cfg_validate(const struct cfg *c, struct cfg_error *err);

/* Serializes c in the file format, header first (a default header when c
 * has none). Returns 0 with *out (malloc'd, NUL-terminated, caller
 * frees) and *len, or -ENOMEM. */
int cfg_format(const struct cfg *c, char **out, size_t *len);

/* Validates, formats and atomically replaces path (mode 0644; see
 * afile_write). Returns 0, -EINVAL (validation; err filled) or -errno
 * (err filled). */
int cfg_save(const struct cfg *c, const char *path, struct cfg_error *err);

/*
 * What the daemon and the CLI call: loads path, or starts from defaults
 * when it does not exist; when no node name is configured, generates one
 * (cfg_generate_node_name) and saves the file so that the name stays the
 * same from then on. *generated tells whether that happened (may be NULL).
 * Returns 0 and *out, or -errno with err filled (then nothing is saved).
 */
int cfg_open(const char *path, struct cfg **out, bool *generated,
	     struct cfg_error *err);

/* Writes "iqn.2026-11.org.mcsi:<host>-<8 hex>" into buf: host is the short
 * hostname folded to the iSCSI name alphabet (other characters become
 * '-', at most 64 of them, "host" when empty), hex the 4 random bytes.
 * Returns 0 or -ENOSPC. */
int cfg_format_node_name(char *buf, size_t cap, const char *hostname,
			 const uint8_t rnd[4]);
/* Generates one from gethostname() and getrandom() into c when c has no
 * node name. Returns 1 if it did, 0 if there was one, -errno. */
int cfg_generate_node_name(struct cfg *c);

/* ---- changes ------------------------------------------------------- */

/* Looks a target up by name (any case). Returns it or NULL. */
struct cfg_target *cfg_target_find(const struct cfg *c, const char *name);

/* Adds a static target with defaults. Returns 0 and *out (owned by c,
 * valid until the next add/remove), -EEXIST, -EINVAL (bad name; err
 * filled) or -ENOMEM. */
int cfg_target_add(struct cfg *c, const char *name, struct cfg_target **out,
		   struct cfg_error *err);
/* Removes a target and its portals. Returns 0 or -ENOENT. */
int cfg_target_remove(struct cfg *c, const char *name);

/*
 * Adds a portal ("host[:port]" / "[v6][:port]") bound to iface (NULL for
 * any) to a target's or to the discovery portals. The same host:port may
 * appear once per interface: that is how MC/S uses two local NICs toward
 * one target portal. Returns 0, -EEXIST, -EINVAL (err filled) or -ENOMEM.
 */
int cfg_portal_add(struct cfg_portals *ps, const char *portal,
		   const char *iface, struct cfg_error *err);
/* Removes the entries for portal with this iface, or with any iface when
 * iface is NULL. Returns the number removed (> 0), -ENOENT, or -EINVAL
 * (unparsable portal; err filled). */
int cfg_portal_remove(struct cfg_portals *ps, const char *portal,
		      const char *iface, struct cfg_error *err);

/* cfg_portal_add() / cfg_portal_remove() for a server of another service
 * (the iSNS servers: port CFG_ISNS_PORT): "host[:port]" with port as the
 * default, no interface. Same returns. */
int cfg_server_add(struct cfg_portals *ps, const char *server, uint16_t port,
		   struct cfg_error *err);
int cfg_server_remove(struct cfg_portals *ps, const char *server, uint16_t port,
		      struct cfg_error *err);

/* Writes a portal as the file has it: "host:port", "[v6]:port" (IPv6 in
 * brackets, zone after '%'), then " interface=NAME" when bound. Use it
 * for listings. Returns the length or -ENOSPC. */
int cfg_portal_format(const struct cfg_portal *p, char *buf, size_t cap);

/*
 * Sets one key, by the name and with the value syntax it has in the file
 * ("auto-login", "yes"), in section s (target names the target for
 * CFG_SECT_TARGET, NULL otherwise). An empty value resets a string key.
 * "portal" is not a key here: use cfg_portal_add/remove. Returns 0,
 * -ENOENT (unknown key or target), -EINVAL (bad value); err filled.
 */
int cfg_set(struct cfg *c, enum cfg_section s, const char *target,
	    const char *key, const char *value, struct cfg_error *err);

/* Reads one key back in its file syntax (unquoted) into buf. A string key
 * that is unset gives "". Returns 0, -ENOENT or -ENOSPC. */
int cfg_get(const struct cfg *c, enum cfg_section s, const char *target,
	    const char *key, char *buf, size_t cap);

/* The i-th key name of a section (for listing), NULL past the end. */
const char *cfg_key_name(enum cfg_section s, size_t i);

/* ---- for the login code --------------------------------------------- */

/* The HeaderDigest/DataDigest offer: "None", "CRC32C", "CRC32C,None" or
 * "None,CRC32C". */
const char *cfg_digest_offer(enum cfg_digest d);
/* The CHAP name to send: the configured one or the node name. */
const char *cfg_initiator_chap_name(const struct cfg *c);
/* Whether the target quirks are off for t (NULL: a target not in the
 * configuration): its own quirks key, else the [initiator] one, else on. */
bool cfg_quirks_off(const struct cfg *c, const struct cfg_target *t);

#endif
