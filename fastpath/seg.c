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
		 uint8_t *hdr, uint8_t *buf, uint32_t cap, uint32_t ahead,
		 bool hdigest, bool ddigest)
{
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->ctx = ctx;
	r->hdr = hdr;
	r->buf = buf;
	r->cap = cap;
	r->ahead = ahead < cap ? ahead : cap;
	r->hdigest = hdigest;
	r->ddigest = ddigest;
	r->stage = SEG_HDR;
}

/* Bytes of the next header still missing from buf[head, tail): all of the
 * BHS (+ digest) until the BHS is there, then its AHS too. */
static uint32_t seg_rx_hdr_missing(const struct seg_rx *r)
{
	uint32_t have = r->tail - r->head, want = seg_rx_initial(r);

	if (have >= PDU_BHS_LEN)
		want += pdu_ahs_bytes(r->buf + r->head);
	return have < want ? want - have : 0;
}

/* Room asked for in staging after the current PDU (buf is empty then). */
static uint32_t seg_rx_ahead(const struct seg_rx *r)
{
	if (r->ahead == 0 || r->direct_only)
		return seg_rx_initial(r);
	return r->ahead > seg_rx_initial(r) ? r->ahead : seg_rx_initial(r);
}

int seg_rx_fill(struct seg_rx *r, struct iovec *iov, int max)
{
	int n = 0;

	if (max <= 0)
		return 0;
	if (r->stage == SEG_SKIP) {
		/* Discarded bytes land in staging (nothing is buffered: the
		 * parse consumed it all) and are dropped there. */
		uint32_t want = r->skip + (r->ahead ? r->ahead : 0);
		r->head = r->tail = 0;
		iov[0] = (struct iovec){ r->buf, want < r->cap ? want : r->cap };
		return 1;
	}
	if (r->stage == SEG_HDR) {
		/* Only part of a header can be left over: move it to the
		 * front so that the read-ahead gets the whole buffer. */
		if (r->head > 0) {
			memmove(r->buf, r->buf + r->head, r->tail - r->head);
			r->tail -= r->head;
			r->head = 0;
		}
		uint32_t miss = seg_rx_hdr_missing(r);
		uint32_t want = r->ahead && !r->direct_only ? r->ahead : miss;
		if (want < miss)
			want = miss;
		if (want > r->cap - r->tail)
			want = r->cap - r->tail;
		iov[0] = (struct iovec){ r->buf + r->tail, want };
		return 1;
	}
	/* Direct: staging is empty while a segment is received in place. */
	r->head = r->tail = 0;
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
		if (r->trail_len > 0 && n < max)
			iov[n++] = (struct iovec){ r->trail, r->trail_len };
		else if (r->trail_len > 0)
			return n;
	} else {
		iov[n++] = (struct iovec){ r->trail + r->trail_got,
					   (size_t)(r->trail_len - r->trail_got) };
	}
	if (n < max)
		iov[n++] = (struct iovec){ r->buf, seg_rx_ahead(r) };
	return n;
}

static int seg_rx_pdu_done(struct seg_rx *r, const char **why)
{
	r->pdus++;
	r->stage = SEG_HDR;
	return r->ops->on_pdu(r->ctx, r->hdr, why);
}

/* The header is complete at buf + head: copy it out (it must outlive the
 * staging bytes), check it, and ask where its data goes. */
static int seg_rx_header(struct seg_rx *r, const char **why)
{
	uint8_t *h = r->hdr;
	uint32_t base = PDU_BHS_LEN + pdu_ahs_bytes(r->buf + r->head);
	uint32_t len = base + (r->hdigest ? PDU_DIGEST_LEN : 0);
	int rc;

	memcpy(h, r->buf + r->head, len);
	r->head += len;
	r->bhs_judged = false;
	if (r->hdigest && digest_crc32c(h, base) != digest_load(h + base)) {
		*why = "header digest mismatch";
		if (!r->ops->on_bad_header)
			return -EBADMSG;
		rc = r->ops->on_bad_header(r->ctx, h, base, &r->skip, why);
		if (rc < 0)
			return rc;
		r->stage = r->skip > 0 ? SEG_SKIP : SEG_HDR;
		return 0;
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
	r->trail_len = (uint8_t)(pdu_pad(r->data_len) +
				(r->ddigest ? PDU_DIGEST_LEN : 0));
	r->trail_got = 0;
	r->direct_only = r->data_len > SEG_RX_DIRECT_MIN;
	return 0;
}

/* Accounts n data bytes at the destination's position; they are already
 * there (received in place), or copied there from src. */
static void seg_rx_place(struct seg_rx *r, const uint8_t *src, size_t n)
{
	while (n > 0) {
		const struct iovec *v = &r->dst.iov[r->di];
		uint8_t *p = (uint8_t *)v->iov_base + r->dio;
		size_t take = min_sz(v->iov_len - r->dio, n);
		if (src) {
			memcpy(p, src, take);
			src += take;
			r->copied += take;
		}
		if (r->ddigest)
			r->crc = digest_update(r->crc, p, take);
		r->dio += take;
		r->got += (uint32_t)take;
		n -= take;
		if (r->dio == v->iov_len) {
			r->di++;
			r->dio = 0;
		}
	}
}

/* The data segment is complete: move on to its pad and digest. */
static int seg_rx_data_done(struct seg_rx *r, const char **why)
{
	if (r->trail_len == 0)
		return seg_rx_pdu_done(r, why);
	r->stage = SEG_TAIL;
	return 0;
}

static int seg_rx_tail_done(struct seg_rx *r, const char **why)
{
	if (r->ddigest) {
		uint32_t pad = pdu_pad(r->data_len);
		uint32_t crc = digest_final(digest_update(r->crc, r->trail, pad));
		if (crc != digest_load(r->trail + pad)) {
			*why = "data digest mismatch";
			if (!r->ops->on_bad_data)
				return -EBADMSG;
			r->pdus++;
			r->stage = SEG_HDR;
			return r->ops->on_bad_data(r->ctx, r->hdr, why);
		}
	}
	return seg_rx_pdu_done(r, why);
}

/* A header is incomplete: if its BHS is there and announces an AHS, let
 * the owner judge the BHS now (once). */
static int seg_rx_bhs(struct seg_rx *r, const char **why)
{
	const uint8_t *b = r->buf + r->head;

	if (!r->ops->on_bhs || r->tail - r->head < PDU_BHS_LEN || pdu_ahs_bytes(b) == 0 ||
	    r->bhs_judged)
		return 0;
	r->bhs_judged = true;
	return r->ops->on_bhs(r->ctx, b, why);
}

/* Walks the staging bytes: headers in place, data copied out. */
static int seg_rx_parse(struct seg_rx *r, const char **why)
{
	int rc = 0;

	while (rc == 0 && r->head < r->tail) {
		uint32_t avail = r->tail - r->head;
		if (r->stage == SEG_HDR) {
			if (seg_rx_hdr_missing(r) > 0) {
				rc = seg_rx_bhs(r, why);
				break;
			}
			rc = seg_rx_header(r, why);
		} else if (r->stage == SEG_SKIP) {
			uint32_t take = r->skip < avail ? r->skip : avail;
			r->head += take;
			r->skip -= take;
			if (r->skip == 0)
				r->stage = SEG_HDR;
		} else if (r->stage == SEG_DATA) {
			uint32_t take = r->data_len - r->got;
			if (take > avail)
				take = avail;
			seg_rx_place(r, r->buf + r->head, take);
			r->head += take;
			if (r->got == r->data_len)
				rc = seg_rx_data_done(r, why);
		} else {
			uint32_t take = (uint32_t)(r->trail_len - r->trail_got);
			if (take > avail)
				take = avail;
			memcpy(r->trail + r->trail_got, r->buf + r->head, take);
			r->trail_got = (uint8_t)(r->trail_got + take);
			r->head += take;
			if (r->trail_got == r->trail_len)
				rc = seg_rx_tail_done(r, why);
		}
	}
	if (r->head == r->tail)
		r->head = r->tail = 0;
	return rc;
}

int seg_rx_advance(struct seg_rx *r, size_t n, const char **why)
{
	int rc = 0;

	/* The bytes filled the direct part of the last fill first. */
	if (r->stage == SEG_DATA && n > 0) {
		size_t take = min_sz(n, r->data_len - r->got);
		seg_rx_place(r, NULL, take);
		n -= take;
		if (r->got == r->data_len)
			rc = seg_rx_data_done(r, why);
	}
	if (rc == 0 && r->stage == SEG_TAIL && n > 0) {
		size_t take = min_sz(n, (size_t)(r->trail_len - r->trail_got));
		r->trail_got = (uint8_t)(r->trail_got + take);
		n -= take;
		if (r->trail_got == r->trail_len)
			rc = seg_rx_tail_done(r, why);
	}
	if (rc < 0)
		return rc;
	/* The rest landed in staging. */
	r->tail += (uint32_t)n;
	return seg_rx_parse(r, why);
}
