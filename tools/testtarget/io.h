/* SPDX-License-Identifier: MIT */
/*
 * Framing on a connection's socket: a resumable receive buffer that yields
 * whole PDUs in place, and a transmit batch (iovec list plus a scratch
 * arena for headers, digests and small payloads) written with one
 * sendmsg() per flush. Owned by the connection's thread.
 */
#ifndef TT_IO_H
#define TT_IO_H

#include "target.h"

struct tt_rxpdu {
	uint8_t *bhs;                 /* 48 bytes, 4-byte aligned, in c->rx */
	uint8_t *ahs;
	uint32_t ahs_len;
	uint8_t *data;
	uint32_t dsl;
	bool hd_bad, dd_bad;          /* digest mismatches */
};

/* Allocates the buffers for a connection (sized from cfg limits).
 * Returns 0 or -ENOMEM. */
int io_init(struct tt_conn *c);
void io_fini(struct tt_conn *c);

/* Returns 1 and fills *p with the next complete PDU in the receive buffer,
 * 0 when more bytes are needed, -EPROTO (with *why) for a segment longer
 * than we accept. p stays valid until the next io_fill(). */
int io_next_pdu(struct tt_conn *c, struct tt_rxpdu *p, const char **why);

/* Reads what the socket has, waiting at most timeout_ms (-1: forever).
 * Returns the bytes read, 0 on timeout or wakeup, -ECONNRESET at EOF, or
 * -errno. */
int io_fill(struct tt_conn *c, int timeout_ms);

/* Reserves a 48-byte header slot in the batch, followed by extra scratch
 * bytes at hdr + 64 (valid until the flush). Flushes first when the batch
 * is full. Returns NULL only if the flush failed (connection is dead). */
uint8_t *io_hdr(struct tt_conn *c, size_t extra);

/* Queues the PDU whose header io_hdr() returned, with a data segment of len
 * bytes at data (borrowed until the flush; NULL means zeros). Adds padding
 * and the digests the connection negotiated. Applies send-side faults. */
void io_queue(struct tt_conn *c, uint8_t *hdr, const void *data, uint32_t len);

/* Writes the queued iovecs but keeps the arena (slots still in use). */
int io_flush_keep_arena(struct tt_conn *c);

/* Writes the batch. Returns 0 or -errno; releases the tasks waiting on the
 * flush either way. */
int io_flush(struct tt_conn *c);

#endif
