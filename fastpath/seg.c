/* SPDX-License-Identifier: MIT */
#include "fastpath/seg.h"

#include <errno.h>

#include "proto/digest.h"

static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Finds the iovec holding byte off of a scatter list; checks that len
 * bytes from there exist. */
static int seg_locate(const struct seg_data *d, size_t len, int *di, size_t *dio)
{
	size_t off = d->off;
	int i = 0;

	while (i < d->iovcnt && off >= d->iov[i].iov_len) {
		off -= d->iov[i].iov_len;
		i++;
	}
	*di = i;
	*dio = off;
	size_t avail = 0;
	for (int j = i; j < d->iovcnt && avail < len + off; j++)
		avail += d->iov[j].iov_len;
	return avail >= len + off || len == 0 ? 0 : -EINVAL;
}

/* ---- send ------------------------------------------------------------ */

int seg_tx_init(struct seg_tx *t, uint8_t *hdr, uint32_t ahs_len,
		const struct seg_data *d, uint32_t data_len, bool hdigest,
		bool ddigest)
{
	static const struct seg_data none;
	uint32_t base = PDU_BHS_LEN + ahs_len;

	t->hdr = hdr;
	t->data = d ? *d : none;
	t->data_len = data_len;
	pdu_set_dsl(hdr, data_len);
	if (seg_locate(&t->data, data_len, &t->di, &t->dio) < 0)
		return -EINVAL;
	t->hdr_len = base;
	if (hdigest) {
		digest_store(hdr + base, digest_crc32c(hdr, base));
		t->hdr_len += PDU_DIGEST_LEN;
	}
	t->tail_len = 0;
	if (data_len > 0) {
		uint32_t pad = pdu_pad(data_len);
		memset(t->tail, 0, sizeof(t->tail));
		t->tail_len = (uint8_t)pad;
		if (ddigest) {
			uint32_t dg;
			if (digest_iov(t->data.iov, t->data.iovcnt, t->data.off,
				       data_len, pad, &dg) < 0)
				return -EINVAL;
			digest_store(t->tail + pad, dg);
			t->tail_len = (uint8_t)(pad + PDU_DIGEST_LEN);
		}
	}
	t->pos = 0;
	t->total = t->hdr_len + data_len + t->tail_len;
	return 0;
}

int seg_tx_fill(const struct seg_tx *t, struct iovec *iov, int max)
{
	uint32_t pos = t->pos, dend = t->hdr_len + t->data_len;
	int n = 0;

	if (max <= 0)
		return 0;
	if (pos < t->hdr_len) {
		iov[n++] = (struct iovec){ t->hdr + pos, t->hdr_len - pos };
		pos = t->hdr_len;
	}
	if (pos < dend) {
		size_t left = dend - pos, o = t->dio;
		for (int i = t->di; left > 0 && n < max; i++, o = 0) {
			size_t len = min_sz(t->data.iov[i].iov_len - o, left);
			if (len == 0)
				continue;
			iov[n++] = (struct iovec){
				(uint8_t *)t->data.iov[i].iov_base + o, len };
			left -= len;
		}
		if (left > 0)
			return n;
		pos = dend;
	}
	if (pos < t->total && n < max)
		iov[n++] = (struct iovec){ (void *)(t->tail + (pos - dend)),
					   t->total - pos };
	return n;
}

size_t seg_tx_advance(struct seg_tx *t, size_t n)
{
	size_t used = min_sz(n, t->total - t->pos), k = used;
	uint32_t dend = t->hdr_len + t->data_len;

	if (t->pos < t->hdr_len) {
		size_t h = min_sz(k, t->hdr_len - t->pos);
		t->pos += (uint32_t)h;
		k -= h;
	}
	while (k > 0 && t->pos < dend) {
		size_t avail = t->data.iov[t->di].iov_len - t->dio;
		size_t take = min_sz(min_sz(avail, k), dend - t->pos);
		t->dio += take;
		t->pos += (uint32_t)take;
		k -= take;
		if (t->dio == t->data.iov[t->di].iov_len) {
			t->di++;
			t->dio = 0;
		}
	}
	t->pos += (uint32_t)k;
	return used;
}

/* ---- receive --------------------------------------------------------- */

static uint32_t seg_rx_initial(const struct seg_rx *r)
{
	return PDU_BHS_LEN + (r->hdigest ? PDU_DIGEST_LEN : 0);
}

void seg_rx_init(struct seg_rx *r, const struct seg_rx_ops *ops, void *ctx,
		 uint8_t *hdr0, uint8_t *hdr1, bool hdigest, bool ddigest)
{
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->ctx = ctx;
	r->hdr[0] = hdr0;
	r->hdr[1] = hdr1;
	r->hdigest = hdigest;
	r->ddigest = ddigest;
	r->stage = SEG_HDR;
	r->want = seg_rx_initial(r);
}

int seg_rx_fill(const struct seg_rx *r, struct iovec *iov, int max)
{
	int n = 0;

	if (max <= 0)
		return 0;
	if (r->stage == SEG_HDR) {
		iov[0] = (struct iovec){ r->hdr[r->cur] + r->got, r->want - r->got };
		return 1;
	}
	if (r->stage == SEG_DATA) {
		size_t left = r->data_len - r->got, o = r->dio;
		for (int i = r->di; left > 0 && n < max; i++, o = 0) {
			size_t len = min_sz(r->dst.iov[i].iov_len - o, left);
			if (len == 0)
				continue;
			iov[n++] = (struct iovec){
				(uint8_t *)r->dst.iov[i].iov_base + o, len };
			left -= len;
		}
		if (left > 0)
			return n;
		if (r->tail_len > 0 && n < max)
			iov[n++] = (struct iovec){ (void *)r->tail, r->tail_len };
	} else {
		iov[n++] = (struct iovec){ (void *)(r->tail + r->got),
					   (size_t)(r->tail_len - r->got) };
	}
	/* Read ahead into the next PDU's header: one readv() per PDU. */
	if (n < max)
		iov[n++] = (struct iovec){ r->hdr[r->cur ^ 1u], seg_rx_initial(r) };
	return n;
}

static int seg_rx_pdu_done(struct seg_rx *r, const char **why)
{
	const uint8_t *h = r->hdr[r->cur];

	r->pdus++;
	r->cur ^= 1u;
	r->stage = SEG_HDR;
	r->got = 0;
	r->want = seg_rx_initial(r);
	return r->ops->on_pdu(r->ctx, h, why);
}

static int seg_rx_header_done(struct seg_rx *r, const char **why)
{
	uint8_t *h = r->hdr[r->cur];
	uint32_t base = PDU_BHS_LEN + pdu_ahs_bytes(h);
	int rc;

	if (r->hdigest &&
	    digest_crc32c(h, base) != digest_load(h + base)) {
		*why = "header digest mismatch";
		return -EBADMSG;
	}
	r->data_len = pdu_dsl(h);
	r->dst = (struct seg_data){ 0 };
	rc = r->ops->on_header(r->ctx, h, base, &r->dst, why);
	if (rc < 0)
		return rc;
	if (r->data_len == 0)
		return seg_rx_pdu_done(r, why);
	if (seg_locate(&r->dst, r->data_len, &r->di, &r->dio) < 0) {
		*why = "data segment does not fit the buffer chosen for it";
		return -EPROTO;
	}
	r->stage = SEG_DATA;
	r->got = 0;
	r->crc = DIGEST_SEED;
	r->tail_len = (uint8_t)(pdu_pad(r->data_len) +
				(r->ddigest ? PDU_DIGEST_LEN : 0));
	return 0;
}

static int seg_rx_tail_done(struct seg_rx *r, const char **why)
{
	if (r->ddigest) {
		uint32_t pad = pdu_pad(r->data_len);
		uint32_t crc = digest_final(digest_update(r->crc, r->tail, pad));
		if (crc != digest_load(r->tail + pad)) {
			*why = "data digest mismatch";
			return -EBADMSG;
		}
	}
	return seg_rx_pdu_done(r, why);
}

int seg_rx_advance(struct seg_rx *r, size_t n, const char **why)
{
	int rc;

	while (n > 0) {
		if (r->stage == SEG_HDR) {
			size_t take = min_sz(n, r->want - r->got);
			r->got += (uint32_t)take;
			n -= take;
			if (r->got >= PDU_BHS_LEN)
				r->want = seg_rx_initial(r) +
					  pdu_ahs_bytes(r->hdr[r->cur]);
			if (r->got < r->want)
				continue;
			rc = seg_rx_header_done(r, why);
		} else if (r->stage == SEG_DATA) {
			const struct iovec *v = &r->dst.iov[r->di];
			size_t take = min_sz(min_sz(v->iov_len - r->dio, n),
					     r->data_len - r->got);
			if (r->ddigest)
				r->crc = digest_update(r->crc,
					(const uint8_t *)v->iov_base + r->dio, take);
			r->dio += take;
			r->got += (uint32_t)take;
			n -= take;
			if (r->dio == v->iov_len) {
				r->di++;
				r->dio = 0;
			}
			if (r->got < r->data_len)
				continue;
			if (r->tail_len > 0) {
				r->stage = SEG_TAIL;
				r->got = 0;
				continue;
			}
			rc = seg_rx_pdu_done(r, why);
		} else {
			size_t take = min_sz(n, (size_t)(r->tail_len - r->got));
			r->got += (uint32_t)take;
			n -= take;
			if (r->got < r->tail_len)
				continue;
			rc = seg_rx_tail_done(r, why);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}
