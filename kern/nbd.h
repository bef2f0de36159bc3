/* SPDX-License-Identifier: MIT */
/*
 * NBD export of backends, on a UNIX socket and/or loopback TCP, so that
 * nbd-client, qemu, libnbd and fio's nbd engine can use a LUN.
 *
 * Hand-written over kern/nbd_proto (see docs/design/kern.md for why not
 * nbdkit): fixed newstyle handshake, simple replies, READ / WRITE / FLUSH /
 * TRIM / WRITE_ZEROES, multi-conn. Each connection has a receiving thread
 * that submits requests asynchronously, so that many are in flight; a
 * read's reply is sent from its completion straight out of the buffer the
 * backend filled.
 */
#ifndef MCSI_KERN_NBD_H
#define MCSI_KERN_NBD_H

#include "kern/backend.h"

struct kern_nbd;

struct kern_nbd_opts {
	const char *unix_path;      /* listen here (replaced if it is a stale socket) */
	const char *tcp_host;       /* NULL: "127.0.0.1" (when tcp_port is set) */
	unsigned tcp_port;          /* 0: no TCP */
	unsigned queue_depth;       /* requests in flight per connection; 0: 64 */
	unsigned max_conns;         /* 0: 16 */
	unsigned max_io;            /* largest READ/WRITE payload; 0: 1 MiB */
};

/* Starts listening. opts is borrowed. Returns 0, -EINVAL (no socket
 * asked), -EADDRINUSE, -ENOMEM, or -errno. */
int kern_nbd_create(const struct kern_nbd_opts *opts, struct kern_nbd **out);

/* Stops accepting, ends every connection (requests in flight complete
 * first) and frees n. The backends are not destroyed. NULL: no-op. */
void kern_nbd_destroy(struct kern_nbd *n);

/* Exports b (borrowed until n is destroyed) as `name`; the first export
 * is also the default one (empty name). Returns 0, -EEXIST, -EINVAL,
 * -ENOSPC, -ENOMEM. */
int kern_nbd_add(struct kern_nbd *n, const char *name, struct kern_backend *b);

/* Stops exporting `name` (its backend may then be destroyed). Returns 0,
 * -ENOENT, or -EBUSY while a client is connected to it (nothing changes;
 * try again after the client went). A client still choosing among the
 * exports cannot pick it any more. */
int kern_nbd_remove(struct kern_nbd *n, const char *name);

#endif
