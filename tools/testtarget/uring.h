/* SPDX-License-Identifier: MIT */
/*
 * The --fast transport: a connection's transmit batch and its next receive
 * submitted together to an io_uring, one io_uring_enter() per loop turn
 * where the plain path needs a sendmsg() and a recv(). Without liburing
 * (or without --fast) the connection uses io.c's blocking calls.
 */
#ifndef TT_URING_H
#define TT_URING_H

#include "io.h"

/* Sets the ring up when the target runs with --fast and liburing is
 * there; called by the connection's own thread (the only submitter).
 * Returns 0 (also when not used) or -errno. */
int uring_init(struct tt_conn *c);
/* Cancels what is in flight and frees the ring (socket closed first). */
void uring_fini(struct tt_conn *c);
static inline bool uring_active(const struct tt_conn *c) { return c->ring != NULL; }

/* Writes the whole batch (io_flush() semantics) and waits at most
 * timeout_ms for input, in one system call when possible. Returns the
 * bytes received, 0 on timeout or wakeup, -ECONNRESET at EOF, -errno. */
int uring_flush_and_fill(struct tt_conn *c, int timeout_ms);

#endif
