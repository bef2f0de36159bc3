/* SPDX-License-Identifier: MIT */
/*
 * CHAP secrets, kept apart from mcsi.conf in a file only root can read
 * (default /etc/mcsi/secrets, mode 0600):
 *
 *     # comment
 *     initiator = "our secret, answered to targets"
 *     discovery = "our secret on discovery sessions"
 *     target "iqn.2001-04.com.example:disk1" = "the target's, mutual CHAP"
 *
 * Values use the quoted syntax of cfgtext.h, so any byte can be written
 * (\xHH). In memory every secret lives in pages that are excluded from
 * core dumps (MADV_DONTDUMP) and locked when the limit allows (mlock), and
 * is wiped (explicit_bzero) before the pages are returned. Nothing here
 * prints a secret: listings show secrets_display().
 */
#ifndef MCSI_SUPERVISOR_SECRETS_H
#define MCSI_SUPERVISOR_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "supervisor/cfgtext.h"

#define SECRETS_DEFAULT_PATH "/etc/mcsi/secrets"
#define SECRETS_ENV_PATH     "MCSI_SECRETS"
#define SECRETS_FILE_MODE    0600
#define SECRETS_MAX_FILE     (256u << 10)

/* RFC 7143 12.1.3 asks for secrets of at least 96 bits; many initiators
 * and arrays stop at 16 bytes. */
#define SECRET_MIN             1u
#define SECRET_MAX             255u
#define SECRET_RECOMMENDED_MIN 12u

enum secret_scope {
	SECRET_INITIATOR,   /* ours, sent to targets (CHAP) */
	SECRET_DISCOVERY,   /* ours, on discovery sessions */
	SECRET_TARGET,      /* a target's, checked in mutual CHAP */
};

struct secrets;

/* An empty store. Returns 0 and *out (caller owns: secrets_destroy), or
 * -ENOMEM. */
int secrets_create(struct secrets **out);
/* Wipes every secret and frees the store. NULL is fine. */
void secrets_destroy(struct secrets *s);

/*
 * Which file to use: $MCSI_SECRETS if set and non-empty, else "secrets" in
 * the directory of config_path (so --config /x/mcsi.conf uses
 * /x/secrets), else SECRETS_DEFAULT_PATH when config_path is NULL.
 * Returns 0 or -ENAMETOOLONG.
 */
int secrets_path(const char *config_path, char *buf, size_t cap);

/*
 * Reads path. Before reading a byte, refuses (-EPERM, err tells the user
 * to chmod 600) a file that group or others may access, or that belongs
 * to neither root nor the caller's euid; -EINVAL for something that is not
 * a regular file. -ENOENT if it does not exist (start with an empty store).
 * Syntax errors give -EINVAL with the line number; the message never
 * quotes a value. Returns 0 and *out (caller owns) on success.
 */
int secrets_load(const char *path, struct secrets **out, struct cfg_error *err);

/* Parses a secrets file held in memory (the caller wipes buf). name labels
 * messages. Returns 0 and *out, -EINVAL (err filled) or -ENOMEM. */
int secrets_parse(const char *buf, size_t len, const char *name,
		  struct secrets **out, struct cfg_error *err);

/* Writes the store to path atomically with mode 0600 whatever the umask
 * (afile_write: O_CREAT|O_EXCL temporary + rename). The serialized text
 * only ever sits in non-dumpable memory. Returns 0 or -errno (err). */
int secrets_save(const struct secrets *s, const char *path,
		 struct cfg_error *err);

/* Sets (adds or replaces) the secret of a scope; target is the iSCSI name
 * for SECRET_TARGET, ignored otherwise. The bytes are copied. Returns 0,
 * -EINVAL (length outside 1..255, bad target name) or -ENOMEM. */
int secrets_set(struct secrets *s, enum secret_scope scope, const char *target,
		const void *secret, size_t len);
/* Returns 0, or -ENOENT if there was none. */
int secrets_remove(struct secrets *s, enum secret_scope scope,
		   const char *target);
/* Borrows a secret: *secret (NUL-terminated, may contain NULs, len bytes)
 * stays valid until the next set/remove/destroy. Returns 0 or -ENOENT. */
int secrets_get(const struct secrets *s, enum secret_scope scope,
		const char *target, const char **secret, size_t *len);
bool secrets_has(const struct secrets *s, enum secret_scope scope,
		 const char *target);
/* What a listing shows instead of the value: "<specified>" or "<none>". */
const char *secrets_display(const struct secrets *s, enum secret_scope scope,
			    const char *target);

/* Number of entries, and the i-th one's scope and target (NULL unless
 * SECRET_TARGET) for listings. Returns 0 or -ENOENT past the end. */
size_t secrets_count(const struct secrets *s);
int secrets_entry(const struct secrets *s, size_t i, enum secret_scope *scope,
		  const char **target);

/*
 * Length rules for a CHAP secret: returns -EINVAL outside 1..255 bytes,
 * 1 (a warning in *why) below 12 bytes, else 0 (*why NULL).
 */
int secrets_check_length(size_t len, const char **why);

/*
 * Reads one secret. On a terminal (in_fd isatty): writes prompt to out_fd,
 * turns echo off, reads a line, restores the terminal, and with confirm
 * asks again and compares. SIGINT, SIGQUIT, SIGTSTP, SIGTERM and SIGHUP are
 * held off meanwhile (signalfd) so the terminal is always restored; one of
 * them ends the read with -ECANCELED. Elsewhere (a pipe, a file): reads up
 * to a newline or EOF, no prompt. A trailing "\n" or "\r\n" is dropped.
 * buf (cap >= SECRET_MAX + 1 to admit every valid length) receives the
 * NUL-terminated secret; keep it in secrets_mem_alloc() memory.
 * Returns 0 with *len and *why (NULL, or a warning for a short secret), or
 * -EINVAL (empty, too long, the two entries differ), -ECANCELED, -EIO /
 * -errno, each with *why set. buf is wiped on error.
 */
int secrets_read(int in_fd, int out_fd, const char *prompt, bool confirm,
		 char *buf, size_t cap, size_t *len, const char **why);

/* Memory for secrets outside the store (a prompt's buffer): whole pages,
 * MADV_DONTDUMP, mlock when allowed, zeroed. Returns NULL on failure.
 * secrets_mem_free wipes and unmaps (len as allocated; NULL is fine). */
void *secrets_mem_alloc(size_t len);
void secrets_mem_free(void *p, size_t len);

#endif
