/* SPDX-License-Identifier: MIT */
/*
 * A connection: its thread, its full-feature phase dispatcher and the
 * helpers every module uses to answer on it.
 */
#ifndef TT_CONN_H
#define TT_CONN_H

#include "io.h"
#include "proto/pdu.h"

/* Creates a connection for an accepted socket (takes fd) and starts its
 * thread. Returns 0 or -errno (fd closed). */
int conn_start(struct tt_server *srv, int fd, const struct tt_portal *portal);

/* Sets StatSN (taking the next one when advance), ExpCmdSN and MaxCmdSN. */
void conn_stamp(struct tt_conn *c, uint8_t *hdr, bool advance);

/* Queues a Reject carrying the offending header. */
void conn_reject(struct tt_conn *c, const uint8_t *bhs, enum reject_reason r);

/* Marks the connection for closing after the current batch is flushed. */
void conn_drop(struct tt_conn *c, const char *why);

/* Wakes the connection's thread (another thread changed its work). */
void conn_wake(struct tt_conn *c);

/* Runs one delivered, in-order non-Data PDU (SCSI Command, NOP-Out, TMF,
 * Text, Logout, SNACK). Returns 0 or -EPROTO. */
int conn_dispatch(struct tt_conn *c, const struct tt_rxpdu *p);

/* printf-style log line carrying the peer address. level 0 is always
 * shown, higher levels with -v. */
void conn_log(const struct tt_conn *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t tt_now_ns(void);

#endif
