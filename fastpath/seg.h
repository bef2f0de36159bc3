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
 * Receive is a stream: when the current PDU's layout is known, the fill
 * also covers the next PDU's BHS (and header digest), so one readv() takes
 * the tail of this PDU and the head of the next. The BHS goes into one of
 * two alternating header buffers so the previous header stays readable
 * while its PDU completes. The CRC32C of data and padding is folded in as
 * bytes are advanced over.
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
};

enum seg_stage { SEG_HDR, SEG_DATA, SEG_TAIL };

struct seg_rx {
	const struct seg_rx_ops *ops;
	void *ctx;
	bool hdigest, ddigest;
	uint8_t *hdr[2];           /* alternating header buffers */
	unsigned cur;              /* which one holds the current header */
	enum seg_stage stage;
	uint32_t got, want;        /* bytes of the current stage */
	uint32_t data_len;
	struct seg_data dst;
	int di;
	size_t dio;
	uint32_t crc;
	uint8_t tail[8];           /* received pad + data digest */
	uint8_t tail_len;
	uint64_t pdus;             /* PDUs completed, for tests and stats */
};

/* Prepares a receive stream. hdr0 and hdr1 are buffers of SEG_HDR_MAX
 * bytes, 8-byte aligned, borrowed for the cursor's life. */
void seg_rx_init(struct seg_rx *r, const struct seg_rx_ops *ops, void *ctx,
		 uint8_t *hdr0, uint8_t *hdr1, bool hdigest, bool ddigest);

/* Writes iovecs for the next bytes to receive (at most max): the rest of
 * the current PDU and, once its layout is known, the start of the next
 * header. Returns the count (always >= 1 when max >= 1). */
int seg_rx_fill(const struct seg_rx *r, struct iovec *iov, int max);

/* Consumes n received bytes (which landed where the last fill said),
 * calling on_header and on_pdu as PDUs complete. Returns 0, -EBADMSG on a
 * digest mismatch, or the callbacks' error; *why names the cause. After an
 * error the stream is unusable. */
int seg_rx_advance(struct seg_rx *r, size_t n, const char **why);

/* True between PDUs (no partial PDU received). */
static inline bool seg_rx_idle(const struct seg_rx *r)
{
	return r->stage == SEG_HDR && r->got == 0;
}

#endif
