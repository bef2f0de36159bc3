/* SPDX-License-Identifier: MIT */
/*
 * iscsictl's side of the mcsid control socket (supervisor/ctlproto.h).
 * When mcsid runs, login, logout, list sessions and list luns go through
 * it: the daemon keeps the session after iscsictl exits. When it does not
 * run, the verbs keep working directly (cmd_session.c).
 *
 * The socket is $MCSI_SOCKET, else $MCSI_RUN_DIR/mcsid.sock, else
 * /run/mcsi/mcsid.sock.
 */
#ifndef MCSI_ISCSICTL_CLIENT_H
#define MCSI_ISCSICTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "supervisor/ctlproto.h"
#include "tools/iscsictl/iscsictl.h"

/* One request to mcsid and its parsed reply; text and toks are malloc'd
 * and freed by client_reply_free(). */
struct client_reply {
	char *text;
	size_t len;
	struct json_tok *toks;
	struct cp_reply r;
};

/* Connects, sends req, waits up to timeout_ms for the reply and parses
 * it. Returns 0 (see c->r.ok) or -errno (already printed). */
int client_request(const struct cp_request *req, int timeout_ms,
		   struct client_reply *c);
void client_reply_free(struct client_reply *c);

/* "<iqn>[,<portal>]" or an iscsi:// URL into a request (r->lun and
 * r->has_lun from the URL). A URL carrying credentials is refused unless
 * creds_ok. Returns 0 or -EINVAL (printed). */
int client_parse_target(const char *arg, struct cp_request *r, bool creds_ok);

/* Connects to mcsid. Returns 0 and *fd; -ENOENT or -ECONNREFUSED when
 * mcsid does not run (see client_absent()); -EPERM when the socket file
 * belongs to neither root nor us (not trusted); -EACCES; other -errno. */
int client_connect(int *fd);
/* True for the connect errors that mean "no daemon": use the direct path. */
bool client_absent(int err);
/* Prints "iscsictl: cannot reach mcsid at PATH: reason" for other errors. */
void client_connect_error(int err);

/* The verbs through mcsid; each takes fd (closes it) and returns an exit
 * code. arg is "<iqn>[,<portal>]" or an iscsi:// URL. */
int client_login(const struct ctl_opts *o, int fd, const char *arg);
int client_logout(const struct ctl_opts *o, int fd, const char *arg);
int client_list_sessions(const struct ctl_opts *o, int fd);
/* Returns -1 (nothing printed) when mcsid has no session to the target,
 * so that the caller can scan it directly instead. */
int client_list_luns(const struct ctl_opts *o, int fd, const char *arg);

#endif
