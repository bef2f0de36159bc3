/* SPDX-License-Identifier: MIT */
/*
 * The segment cursor: one resumable walk over the byte layout of a PDU
 *
 *     BHS | AHS | header digest | data (scatter list) | pad | data digest
 *
 * shared by the send and the receive side. The cursor never copies
 * payload: it describes the remaining bytes as iovecs (seg_*_fill()) that
 * point into the header buffer, the caller's scatter list and a small tail
 * buffer for padding and digest, and it is told afterwards how many bytes
 * the system call moved (seg_*_advance()). Partial I/O resumes exactly where
 * it stopped.
 *
 * Receive is a stream read into a staging buffer: one recvmsg() takes as
 * many PDUs as have arrived, and they are parsed in place. A long data
 * segment is received into its destination directly (the same recvmsg()
 * then reads ahead into staging what follows it); only the part of a
 * segment that arrived in the read-ahead is copied, and a read-ahead of 0
 * turns that off. The CRC32C of data and padding is folded in as bytes
 * are placed.
 *
 * Pure code: no I/O, no allocation.
 */
#ifndef MCSI_FASTPATH_SEG_H
#define MCSI_FASTPATH_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proto/pdu.h"

/* Largest header: BHS + the largest AHS + header digest. */
#define SEG_HDR_MAX (PDU_BHS_LEN + PDU_MAX_AHS_LEN + PDU_DIGEST_LEN)

/* Where a data segment lives: off bytes into a scatter list. */
struct seg_data {
	const struct iovec *iov;
	int iovcnt;
	size_t off;
};

/* ---- send ------------------------------------------------------------ */

struct seg_tx {
	uint8_t *hdr;              /* BHS + AHS, then room for the digest */
	uint32_t hdr_len;          /* BHS + AHS + header digest bytes */
	uint32_t data_len;
	struct seg_data data;
	uint8_t tail[8];           /* pad zeros, then data digest */
	uint8_t tail_len;
	uint32_t pos, total;       /* bytes sent / to send */
	int di;                    /* data position: iovec index ... */
	size_t dio;                /* ... and offset in it */
};

/* Prepares a cursor to send one PDU whose BHS+AHS (ahs_len bytes of AHS,
 * TotalAHSLength already set in the BHS) is in hdr, a buffer of at least
 * PDU_BHS_LEN + ahs_len + 4 bytes (the header digest is written after the
 * AHS when hdigest). The data segment is data_len bytes of the scatter list
 * d (borrowed until the PDU is sent); DataSegmentLength is set here. The
 * data digest is computed now, over the caller's buffers: it has to be on
 * the wire right after the data, in the same system call. Returns 0, or
 * -EINVAL if the scatter list is shorter than off + data_len. */
int seg_tx_init(struct seg_tx *t, uint8_t *hdr, uint32_t ahs_len,
		const struct seg_data *d, uint32_t data_len, bool hdigest,
		bool ddigest);

/* Writes iovecs for the bytes not yet sent into iov (at most max).
 * Returns the number written (0 when the PDU is done). */
int seg_tx_fill(const struct seg_tx *t, struct iovec *iov, int max);

/* Records that n more bytes were sent. Returns the bytes of n that this
 * PDU consumed (n may cover the following PDUs of a batch too). */
size_t seg_tx_advance(struct seg_tx *t, size_t n);

static inline bool seg_tx_done(const struct seg_tx *t) { return t->pos == t->total; }

/* ---- receive --------------------------------------------------------- */

struct seg_rx_ops {
	/* A header arrived and its digest (if any) checked. hdr holds the
	 * BHS and hdr_len - 48 bytes of AHS. Return 0 and set *dst to where
	 * the data segment (pdu_dsl(hdr) bytes) must go, or -EPROTO with
	 * *why. Called for every PDU, with or without data. */
	int (*on_header)(void *ctx, const uint8_t *hdr, uint32_t hdr_len,
			 struct seg_data *dst, const char **why);
	/* The whole PDU arrived (data digest checked). Return 0 or -errno
	 * with *why; an error stops the stream. */
	int (*on_pdu)(void *ctx, const uint8_t *hdr, const char **why);
	/* Optional: a BHS that announces an AHS arrived, before the cursor
	 * waits for the AHS (and before any digest check): a peer that
	 * never sends the AHS it announced is refused at once instead of
	 * stalling the stream. Return 0 or -EPROTO with *why. */
	int (*on_bhs)(void *ctx, const uint8_t *bhs, const char **why);
	/* Optional (ERL >= 1, RFC 7143 7.8): the header digest failed; hdr
	 * holds the damaged header as received. Return 0 and set *skip to
	 * the bytes that follow the header (data, pad, data digest): the
	 * cursor discards them and expects a header; or -errno with *why to
	 * stop the stream. NULL: the stream stops with -EBADMSG. */
	int (*on_bad_header)(void *ctx, const uint8_t *hdr, uint32_t hdr_len,
			     uint32_t *skip, const char **why);
	/* Optional (ERL >= 1): the data digest of a PDU whose header was
	 * good failed. Its data was placed where on_header said and is
	 * garbage; on_pdu is not called. Return 0 to go on with the
	 * stream, or -errno with *why. NULL: -EBADMSG. */
	int (*on_bad_data)(void *ctx, const uint8_t *hdr, const char **why);
};

enum seg_stage { SEG_HDR, SEG_DATA, SEG_TAIL, SEG_SKIP };

/* Data segments longer than this are received straight into their
 * buffers, and after one of them only the next header is read ahead. */
#define SEG_RX_DIRECT_MIN 16384u

struct seg_rx {
	const struct seg_rx_ops *ops;
	void *ctx;
	bool hdigest, ddigest;
	uint8_t *hdr;              /* the current header, copied out of buf */
	uint8_t *buf;              /* staging: headers and read-ahead */
	uint32_t cap;              /* its size */
	uint32_t ahead;            /* read-ahead; 0: one header at a time */
	uint32_t head, tail;       /* buf[head, tail): received, unparsed */
	enum seg_stage stage;      /* SEG_HDR: a header is next, in buf */
	bool direct_only;          /* last segment was long: header-only read-ahead */
	bool bhs_judged;           /* on_bhs ran for the pending header */
	uint32_t data_len, got;    /* current data segment, bytes placed */
	struct seg_data dst;
	int di;
	size_t dio;
	uint32_t crc;
	uint8_t trail[8];          /* received pad + data digest */
	uint8_t trail_len, trail_got;
	uint32_t skip;             /* SEG_SKIP: bytes still to discard */
	uint64_t pdus;             /* PDUs completed */
	uint64_t copied;           /* data bytes copied out of staging */
};

/* Prepares a receive stream. hdr is a buffer of SEG_HDR_MAX bytes; buf is
 * the staging buffer of cap >= SEG_HDR_MAX bytes; both 8-byte aligned and
 * borrowed for the cursor's life. ahead bounds how many bytes beyond the
 * current PDU one receive may ask for (clamped to cap): with 0, the
 * stream asks for exactly one header at a time and a data segment is
 * never copied; otherwise whatever arrives in the read-ahead is parsed in
 * place, and the part of a data segment found there is copied to its
 * destination (at most cap bytes per receive), while the rest of the
 * segment is received into the destination directly. */
void seg_rx_init(struct seg_rx *r, const struct seg_rx_ops *ops, void *ctx,
		 uint8_t *hdr, uint8_t *buf, uint32_t cap, uint32_t ahead,
		 bool hdigest, bool ddigest);

/* Writes iovecs for the next receive (at most max, max >= 1): the rest
 * of the current data segment, its pad and digest, then room in the
 * staging buffer. Returns the count (>= 1). */
int seg_rx_fill(struct seg_rx *r, struct iovec *iov, int max);

/* Consumes n received bytes (which landed where the last fill said),
 * calling on_header and on_pdu for every PDU they complete. Returns 0,
 * -EBADMSG on a digest mismatch, -EPROTO, or the callbacks' error; *why
 * names the cause. After an error the stream is unusable. */
int seg_rx_advance(struct seg_rx *r, size_t n, const char **why);

/* True when the next receive may take several PDUs (read-ahead on, and
 * the last data segment was short). */
static inline bool seg_rx_batching(const struct seg_rx *r)
{
	return r->ahead > 0 && !r->direct_only;
}

/* True between PDUs with nothing buffered. */
static inline bool seg_rx_idle(const struct seg_rx *r)
{
	return r->stage == SEG_HDR && r->head == r->tail;
}

#endif
