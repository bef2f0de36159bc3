/* SPDX-License-Identifier: MIT */
/* Listening sockets (IPv4 and IPv6 portals) and the control socket. */
#ifndef TT_NET_H
#define TT_NET_H

#include "target.h"

/* Binds and listens on every portal; a port of 0 becomes the port the
 * kernel picked, and each portal's text is set to "addr:port" ("[v6]:port").
 * Returns 0 or -errno (portals opened so far are closed). */
int net_listen_all(struct tt_config *cfg);
void net_close_all(struct tt_config *cfg);
/* Accepts a pending connection on pt and starts its thread. */
void net_accept(struct tt_server *srv, const struct tt_portal *pt);

/* Opens the control socket (UNIX stream) at path. Returns fd or -errno. */
int net_ctl_open(const char *path);
/* Reads what a control client sent and answers each complete line.
 * Returns 0, or -1 when the client went away (caller closes fd). */
int net_ctl_serve(struct tt_server *srv, int fd);

#endif
