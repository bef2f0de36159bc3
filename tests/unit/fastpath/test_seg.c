/* SPDX-License-Identifier: MIT */
/* Segment cursor: send and receive layouts, resumption after partial I/O,
 * CRC folding, zero-copy placement into the caller's scatter list. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "fastpath/seg.h"
#include "proto/digest.h"

static uint8_t wire[8192];

/* Sends one PDU through the cursor, max_iov iovecs and at most chunk
 * bytes per "system call". Returns the bytes produced. */
static size_t tx_all(struct seg_tx *t, int max_iov, size_t chunk)
{
	size_t off = 0;
	struct iovec v[16];

	while (!seg_tx_done(t)) {
		int n = seg_tx_fill(t, v, max_iov);
		size_t moved = 0;
		assert_true(n > 0);
		for (int i = 0; i < n && moved < chunk; i++) {
			size_t k = v[i].iov_len < chunk - moved ? v[i].iov_len : chunk - moved;
			memcpy(wire + off + moved, v[i].iov_base, k);
			moved += k;
		}
		assert_int_equal(seg_tx_advance(t, moved), moved);
		off += moved;
	}
	return off;
}

static void make_bhs(uint8_t *h, uint8_t op, uint32_t itt)
{
	memset(h, 0, PDU_BHS_LEN);
	h[0] = op;
	h[1] = 0x80;
	pdu_put32(&((struct pdu_bhs *)h)->bhs_itt, itt);
}

static void test_tx_layout_digests(void **state)
{
	(void)state;
	uint8_t hdr[PDU_BHS_LEN + 4] __attribute__((aligned(8)));
	uint8_t a[3] = { 1, 2, 3 }, b[4] = { 4, 5, 6, 7 };
	struct iovec d[2] = { { a, 3 }, { b, 4 } };
	struct seg_data sd = { d, 2, 1 };            /* start at byte 1 */
	struct seg_tx t;

	make_bhs(hdr, PDU_OP_DATA_OUT, 7);
	assert_int_equal(seg_tx_init(&t, hdr, 0, &sd, 5, true, true), 0);
	/* 48 BHS + 4 hdigest + 5 data + 3 pad + 4 ddigest */
	assert_int_equal(t.total, 64);
	size_t n = tx_all(&t, 16, 1000);
	assert_int_equal(n, 64);
	assert_int_equal(pdu_dsl(wire), 5);
	assert_int_equal(digest_load(wire + 48), digest_crc32c(wire, 48));
	uint8_t expect[8] = { 2, 3, 4, 5, 6, 0, 0, 0 };
	assert_memory_equal(wire + 52, expect, 8);
	assert_int_equal(digest_load(wire + 60), digest_crc32c(expect, 8));
}

static void test_tx_resume(void **state)
{
	(void)state;
	uint8_t hdr[PDU_BHS_LEN + 4] __attribute__((aligned(8)));
	uint8_t buf[1000];
	struct iovec d[3] = { { buf, 300 }, { buf + 300, 0 }, { buf + 300, 700 } };
	struct seg_data sd = { d, 3, 0 };
	struct seg_tx t;
	uint8_t ref[2000];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	make_bhs(hdr, PDU_OP_DATA_OUT, 9);
	assert_int_equal(seg_tx_init(&t, hdr, 0, &sd, 999, false, true), 0);
	size_t n = tx_all(&t, 16, 1u << 20);
	memcpy(ref, wire, n);
	/* Same bytes with 1-byte writes and 1-iovec fills. */
	assert_int_equal(seg_tx_init(&t, hdr, 0, &sd, 999, false, true), 0);
	assert_int_equal(tx_all(&t, 1, 1), n);
	assert_memory_equal(ref, wire, n);
	assert_int_equal(seg_tx_init(&t, hdr, 0, &sd, 999, false, true), 0);
	assert_int_equal(tx_all(&t, 2, 13), n);
	assert_memory_equal(ref, wire, n);
	/* A list too short for the data is refused. */
	assert_int_equal(seg_tx_init(&t, hdr, 0, &sd, 1001, false, false), -EINVAL);
}

/* ---- receive ------------------------------------------------------------- */

struct rx_ctx {
	struct iovec dst[3];
	int headers, pdus;
	uint32_t last_itt;
	int fail_header;
};

static int on_header(void *ctx, const uint8_t *hdr, uint32_t hdr_len,
		     struct seg_data *dst, const char **why)
{
	struct rx_ctx *c = ctx;

	(void)hdr_len;
	c->headers++;
	c->last_itt = pdu_itt(hdr);
	if (c->fail_header) {
		*why = "refused";
		return -EPROTO;
	}
	*dst = (struct seg_data){ c->dst, 3, 2 };
	return 0;
}

static int on_pdu(void *ctx, const uint8_t *hdr, const char **why)
{
	struct rx_ctx *c = ctx;

	(void)why;
	assert_int_equal(pdu_itt(hdr), c->last_itt);
	c->pdus++;
	return 0;
}

static const struct seg_rx_ops rx_ops = { on_header, on_pdu };

static size_t build_two(bool hd, bool dd, uint8_t *payload, uint32_t len)
{
	static uint8_t h1[PDU_BHS_LEN + 4] __attribute__((aligned(8)));
	static uint8_t h2[PDU_BHS_LEN + 4] __attribute__((aligned(8)));
	struct iovec d = { payload, len };
	struct seg_data sd = { &d, 1, 0 };
	struct seg_tx t;
	size_t n;

	make_bhs(h1, PDU_OP_DATA_IN, 1);
	make_bhs(h2, PDU_OP_NOP_IN, 2);
	assert_int_equal(seg_tx_init(&t, h1, 0, &sd, len, hd, dd), 0);
	n = tx_all(&t, 16, 1u << 20);
	uint8_t first[2048];
	memcpy(first, wire, n);
	assert_int_equal(seg_tx_init(&t, h2, 0, NULL, 0, hd, dd), 0);
	size_t m = tx_all(&t, 16, 1u << 20);
	memmove(wire + n, wire, m);
	memcpy(wire, first, n);
	return n + m;
}

/* Feeds the stream through fill/advance, at most chunk bytes per call. */
static int rx_feed(struct seg_rx *r, size_t total, size_t chunk, const char **why)
{
	size_t off = 0;
	struct iovec v[8];

	while (off < total) {
		int n = seg_rx_fill(r, v, 8);
		size_t moved = 0;
		for (int i = 0; i < n && moved < chunk && off + moved < total; i++) {
			size_t k = v[i].iov_len;
			if (k > chunk - moved)
				k = chunk - moved;
			if (k > total - off - moved)
				k = total - off - moved;
			memcpy(v[i].iov_base, wire + off + moved, k);
			moved += k;
		}
		int rc = seg_rx_advance(r, moved, why);
		if (rc < 0)
			return rc;
		off += moved;
	}
	return 0;
}

static void rx_case(bool hd, bool dd, size_t chunk)
{
	uint8_t h0[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t h1[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t payload[301], out[400];
	struct rx_ctx c = { .dst = { { out, 100 }, { out + 100, 0 }, { out + 100, 300 } } };
	struct seg_rx r;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i ^ 0x5a);
	memset(out, 0xee, sizeof(out));
	size_t total = build_two(hd, dd, payload, sizeof(payload));
	seg_rx_init(&r, &rx_ops, &c, h0, h1, hd, dd);
	assert_int_equal(rx_feed(&r, total, chunk, &why), 0);
	assert_int_equal(c.headers, 2);
	assert_int_equal(c.pdus, 2);
	assert_true(seg_rx_idle(&r));
	/* Placed at offset 2 of the scatter list, nothing else touched. */
	assert_int_equal(out[0], 0xee);
	assert_int_equal(out[1], 0xee);
	assert_memory_equal(out + 2, payload, sizeof(payload));
	assert_int_equal(out[2 + sizeof(payload)], 0xee);
}

static void test_rx_stream(void **state)
{
	(void)state;
	rx_case(false, false, 1u << 20);
	rx_case(true, true, 1u << 20);
	rx_case(true, true, 1);
	rx_case(false, true, 7);
	rx_case(true, false, 49);
}

static void test_rx_readahead_one_call(void **state)
{
	(void)state;
	uint8_t h0[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t h1[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t out[400];
	struct rx_ctx c = { .dst = { { out, 400 }, { out, 0 }, { out, 0 } } };
	struct seg_rx r;
	struct iovec v[8];

	seg_rx_init(&r, &rx_ops, &c, h0, h1, false, false);
	/* Before a header arrives only the BHS is asked for. */
	assert_int_equal(seg_rx_fill(&r, v, 8), 1);
	assert_int_equal(v[0].iov_len, 48);
	make_bhs(h0, PDU_OP_DATA_IN, 5);
	pdu_set_dsl(h0, 10);
	const char *why;
	assert_int_equal(seg_rx_advance(&r, 48, &why), 0);
	/* Data (into out at offset 2), pad, then the next BHS. */
	int n = seg_rx_fill(&r, v, 8);
	assert_int_equal(n, 3);
	assert_ptr_equal(v[0].iov_base, out + 2);
	assert_int_equal(v[0].iov_len, 10);
	assert_int_equal(v[1].iov_len, 2);
	assert_ptr_equal(v[2].iov_base, h1);
	assert_int_equal(v[2].iov_len, 48);
}

static void test_rx_digest_errors(void **state)
{
	(void)state;
	uint8_t h0[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t h1[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t payload[64] = { 1 }, out[400];
	struct rx_ctx c = { .dst = { { out, 400 }, { out, 0 }, { out, 0 } } };
	struct seg_rx r;
	const char *why = NULL;

	size_t total = build_two(true, true, payload, sizeof(payload));
	wire[10] ^= 1;                                /* header bit flip */
	seg_rx_init(&r, &rx_ops, &c, h0, h1, true, true);
	assert_int_equal(rx_feed(&r, total, 1u << 20, &why), -EBADMSG);
	assert_string_equal(why, "header digest mismatch");
	assert_int_equal(c.headers, 0);               /* nothing trusted */

	total = build_two(true, true, payload, sizeof(payload));
	wire[52 + 5] ^= 0x80;                         /* data bit flip */
	memset(&c, 0, sizeof(c));
	c.dst[0] = (struct iovec){ out, 400 };
	c.dst[1] = c.dst[2] = (struct iovec){ out, 0 };
	seg_rx_init(&r, &rx_ops, &c, h0, h1, true, true);
	assert_int_equal(rx_feed(&r, total, 3, &why), -EBADMSG);
	assert_string_equal(why, "data digest mismatch");
	assert_int_equal(c.pdus, 0);

	build_two(false, false, payload, sizeof(payload));
	memset(&c, 0, sizeof(c));
	c.fail_header = 1;
	seg_rx_init(&r, &rx_ops, &c, h0, h1, false, false);
	assert_int_equal(rx_feed(&r, total, 1u << 20, &why), -EPROTO);
	assert_string_equal(why, "refused");
}

static void test_rx_buffer_too_small(void **state)
{
	(void)state;
	uint8_t h0[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t h1[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t payload[64] = { 0 }, out[8];
	struct rx_ctx c = { .dst = { { out, 8 }, { out, 0 }, { out, 0 } } };
	struct seg_rx r;
	const char *why = NULL;

	size_t total = build_two(false, false, payload, sizeof(payload));
	seg_rx_init(&r, &rx_ops, &c, h0, h1, false, false);
	assert_int_equal(rx_feed(&r, total, 1u << 20, &why), -EPROTO);
	assert_non_null(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_layout_digests),
		cmocka_unit_test(test_tx_resume),
		cmocka_unit_test(test_rx_stream),
		cmocka_unit_test(test_rx_readahead_one_call),
		cmocka_unit_test(test_rx_digest_errors),
		cmocka_unit_test(test_rx_buffer_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
