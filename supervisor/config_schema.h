/* SPDX-License-Identifier: MIT */
/*
 * Internal to config.c (the model: keys, values, targets, portals) and
 * config_file.c (the file syntax: parse, format, load, save). Not for
 * other modules: they use config.h.
 *
 * Each section is a table of keys; a key names a field of the section's
 * struct by offset and says how its value is spelled. The parser, the
 * writer, cfg_set() and cfg_get() all go through these tables, so a key
 * is added in one place.
 */
#ifndef MCSI_SUPERVISOR_CONFIG_SCHEMA_H
#define MCSI_SUPERVISOR_CONFIG_SCHEMA_H

#include "supervisor/config.h"

enum cfg_key_kind {
	CFG_K_NAME,     /* iSCSI name (char *) */
	CFG_K_TEXT,     /* UTF-8 text value (char *), empty = unset (NULL) */
	CFG_K_BOOL,     /* yes | no (bool) */
	CFG_K_ENABLE,   /* enable | disable (bool) */
	CFG_K_UINT,     /* decimal in [min, max] (uint32_t) */
	CFG_K_AUTH,     /* enum cfg_auth */
	CFG_K_DIGEST,   /* enum cfg_digest */
	CFG_K_ORIGIN,   /* enum cfg_origin */
	CFG_K_SCHED,    /* enum cfg_sched */
	CFG_K_QUIRKS,   /* on | off, empty = unset (enum cfg_quirks) */
	CFG_K_PORTAL,   /* repeated; each line appends (struct cfg_portals);
			 * min: the default port (0: 3260), max 1: a server
			 * of another service, no interface= */
};

struct cfg_key {
	const char *name;
	enum cfg_key_kind kind;
	size_t off;             /* of the field in the section's struct */
	uint32_t min, max;
};

#define CFG_KEY_MAX 24      /* keys per section, for duplicate checks */

/* The section's table, ended by a NULL name, in file order. */
const struct cfg_key *cfg_schema(enum cfg_section s);
const char *cfg_section_name(enum cfg_section s);
const struct cfg_key *cfg_key_find(enum cfg_section s, const char *name,
				   size_t len);
/* "a, b, c" for error messages. */
void cfg_key_list(enum cfg_section s, char *buf, size_t cap);

/* Sets key k in the struct at base from len decoded bytes (v[len] is a
 * NUL). Returns 0, -EINVAL / -EEXIST (duplicate portal) with a reason in
 * why, or -ENOMEM. */
int cfg_key_set(void *base, const struct cfg_key *k, const char *v,
		size_t len, char *why, size_t why_cap);
/* The value in file syntax, unquoted ("" for an unset string). Returns 0,
 * -ENOSPC, or -ENOENT for a portal key. */
int cfg_key_get(const void *base, const struct cfg_key *k, char *buf,
		size_t cap);

/* Appends a target with defaults under an already normalized name.
 * Returns 0 and *out, or -ENOMEM. */
int cfg_target_append(struct cfg *c, const char *name, struct cfg_target **out);

/* cfg_validate() with messages located in where (a path, or NULL). */
int cfg_validate_at(const struct cfg *c, const char *where,
		    struct cfg_error *err);

#endif
