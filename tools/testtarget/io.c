/* SPDX-License-Identifier: MIT */
#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "task.h"
#include "proto/digest.h"
#include "proto/pdu.h"

#define HDR_SLOT 64u                  /* 48 + header digest, aligned */

int io_init(struct tt_conn *c)
{
	size_t pdu_max = PDU_BHS_LEN + PDU_MAX_AHS_LEN + 8 +
			 c->srv->cfg->lim.max_recv_dsl + 8;
	if (pdu_max < 8192 + 4096)
		pdu_max = 8192 + 4096;   /* login PDUs before limits apply */
	c->rx_cap = 2 * pdu_max + 256 * 1024;
	c->rx = aligned_alloc(64, (c->rx_cap + 63) & ~(size_t)63);
	c->arena = aligned_alloc(64, TT_TX_ARENA);
	if (!c->rx || !c->arena) {
		free(c->rx);
		free(c->arena);
		c->rx = c->arena = NULL;
		return -ENOMEM;
	}
	return 0;
}

void io_fini(struct tt_conn *c)
{
	free(c->rx);
	free(c->arena);
	c->rx = c->arena = NULL;
}

int io_next_pdu(struct tt_conn *c, struct tt_rxpdu *p, const char **why)
{
	size_t avail = c->rx_len - c->rx_pos;
	uint8_t *b = c->rx + c->rx_pos;

	if (avail < PDU_BHS_LEN)
		return 0;
	uint32_t ahs = pdu_ahs_bytes(b), dsl = pdu_dsl(b);
	/* Digests start with the first PDU after the last Login Response. */
	bool ffp = c->state != CONN_LOGIN;
	uint32_t hd = ffp && c->p.hdr_digest ? 4 : 0;
	uint32_t dd = ffp && c->p.data_digest && dsl ? 4 : 0;
	uint32_t limit = c->state == CONN_LOGIN ? 8192 : c->p.recv_dsl;
	/* A Text or Login segment may be larger only if we said so; we
	 * never do: everyone stays within MaxRecvDataSegmentLength. */
	if (dsl > limit) {
		*why = "data segment longer than MaxRecvDataSegmentLength";
		return -EPROTO;
	}
	size_t total = PDU_BHS_LEN + ahs + hd + dsl + pdu_pad(dsl) + dd;
	if (total > c->rx_cap) {
		*why = "PDU larger than the receive buffer";
		return -EPROTO;
	}
	if (avail < total)
		return 0;
	p->bhs = b;
	p->ahs = b + PDU_BHS_LEN;
	p->ahs_len = ahs;
	p->data = b + PDU_BHS_LEN + ahs + hd;
	p->dsl = dsl;
	p->hd_bad = false;
	p->dd_bad = false;
	if (hd) {
		uint32_t want = digest_crc32c(b, PDU_BHS_LEN + ahs);
		p->hd_bad = want != digest_load(b + PDU_BHS_LEN + ahs);
	}
	if (dd) {
		uint32_t pad = pdu_pad(dsl);
		uint32_t crc = digest_update(DIGEST_SEED, p->data, dsl + pad);
		p->dd_bad = digest_final(crc) != digest_load(p->data + dsl + pad);
	}
	c->rx_pos += total;
	return 1;
}

int io_fill(struct tt_conn *c, int timeout_ms)
{
	if (c->rx_pos == c->rx_len) {
		c->rx_pos = c->rx_len = 0;
	} else if (c->rx_pos > 0 && c->rx_cap - c->rx_len < c->rx_cap / 2) {
		/* Keep the partial PDU's start aligned at the buffer start. */
		memmove(c->rx, c->rx + c->rx_pos, c->rx_len - c->rx_pos);
		c->rx_len -= c->rx_pos;
		c->rx_pos = 0;
	}
	if (c->rx_len == c->rx_cap)
		return -ENOBUFS;
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	if (timeout_ms < 0)
		tv.tv_sec = tv.tv_usec = 0;
	/* A blocking recv() with a timeout: one system call per wait. A
	 * wakeup (SIGUSR1 from another thread) interrupts it with EINTR. */
	if (timeout_ms != c->rcv_timeout_ms) {
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		c->rcv_timeout_ms = timeout_ms;
	}
	ssize_t n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
	if (n > 0) {
		c->rx_len += (size_t)n;
		return (int)n;
	}
	if (n == 0)
		return -ECONNRESET;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

uint8_t *io_hdr(struct tt_conn *c, size_t extra)
{
	extra = (extra + 15) & ~(size_t)15;
	if (c->niov + 4 > TT_TX_IOV || c->arena_used + HDR_SLOT + extra + 16 > TT_TX_ARENA) {
		if (io_flush(c) < 0)
			return NULL;
	}
	if (HDR_SLOT + extra + 16 > TT_TX_ARENA)
		return NULL;
	uint8_t *h = c->arena + c->arena_used;
	c->arena_used += HDR_SLOT + extra;
	return h;
}

static void io_push(struct tt_conn *c, const void *p, size_t len)
{
	c->iov[c->niov].iov_base = (void *)p;
	c->iov[c->niov].iov_len = len;
	c->niov++;
	c->tx_bytes += len;
}

void io_queue(struct tt_conn *c, uint8_t *hdr, const void *data, uint32_t len)
{
	struct fault_tx f = { 0 };
	bool hdig = c->p.hdr_digest && c->state != CONN_LOGIN;
	bool ddig = c->p.data_digest && c->state != CONN_LOGIN;

	if (c->closing)
		return;                        /* a fault already cut us off */
	fault_tx(c, hdr, len, &f);
	if (f.drop_before) {
		c->closing = true;
		return;
	}
	uint32_t hlen = PDU_BHS_LEN;
	if (hdig) {
		uint32_t d = digest_crc32c(hdr, PDU_BHS_LEN);
		if (f.corrupt_hd)
			d ^= 0x1;
		digest_store(hdr + PDU_BHS_LEN, d);
		hlen += 4;
	}
	if (f.truncate_hdr)
		hlen = f.truncate_hdr;
	if (f.extra_len) {
		/* Overlong segment: DataSegmentLength beyond the initiator's
		 * MaxRecvDataSegmentLength, the extra bytes zeros. */
		pdu_set_dsl(hdr, len + f.extra_len);
		if (hdig)
			digest_store(hdr + PDU_BHS_LEN, digest_crc32c(hdr, PDU_BHS_LEN));
		io_push(c, hdr, hlen);
		if (len)
			io_push(c, data ? data : c->srv->zeros, len);
		io_push(c, c->srv->zeros, f.extra_len + pdu_pad(len + f.extra_len) +
			(ddig ? 4 : 0));
		c->tx_pdus++;
		return;
	}
	io_push(c, hdr, hlen);
	if (len && !f.truncate_hdr) {
		uint32_t pad = pdu_pad(len);
		const uint8_t *src = data ? data : c->srv->zeros;
		io_push(c, src, len);
		uint8_t *tail = c->arena + c->arena_used;
		size_t tl = 0;
		memset(tail, 0, 8);
		tl += pad;
		if (ddig) {
			uint32_t crc = digest_update(DIGEST_SEED, src, len);
			crc = digest_final(digest_update(crc, tail, pad));
			if (f.corrupt_dd)
				crc ^= 0x1;
			digest_store(tail + pad, crc);
			tl += 4;
		}
		if (tl) {
			io_push(c, tail, tl);
			c->arena_used += 16;
		}
	}
	c->tx_pdus++;
	if (f.drop_after)
		c->closing = true;
	if (f.delay_ms) {
		/* Delays hold the whole batch: flush what came before, then
		 * sleep, so the delay applies to this PDU. */
		struct timespec ts = { .tv_sec = f.delay_ms / 1000,
				       .tv_nsec = (long)(f.delay_ms % 1000) * 1000000L };
		int niov = c->niov;
		struct iovec last[3];
		int k = 0;
		/* This PDU's iovecs are the last ones pushed; keep them. */
		int mine = 1 + (len && !f.truncate_hdr ? 1 : 0) +
			   (len && !f.truncate_hdr && (pdu_pad(len) || ddig) ? 1 : 0);
		for (int i = niov - mine; i < niov; i++)
			last[k++] = c->iov[i];
		c->niov -= mine;
		if (c->niov)
			(void)io_flush_keep_arena(c);
		nanosleep(&ts, NULL);
		for (int i = 0; i < k; i++)
			c->iov[c->niov++] = last[i];
	}
}

/* Writes the iovecs without resetting the arena (the caller still has
 * live slots in it). */
int io_flush_keep_arena(struct tt_conn *c)
{
	struct iovec *iov = c->iov;
	int n = c->niov;

	while (n > 0) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			c->niov = 0;
			return -errno;
		}
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0 && left) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	c->niov = 0;
	return 0;
}

int io_flush(struct tt_conn *c)
{
	int rc = c->niov ? io_flush_keep_arena(c) : 0;
	c->arena_used = 0;
	while (c->release) {
		struct tt_task *t = c->release;
		c->release = t->next;
		task_free(c, t);
	}
	return rc;
}
