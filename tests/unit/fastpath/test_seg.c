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

static uint8_t wire[1u << 17];

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

static const struct seg_rx_ops rx_ops = { .on_header = on_header, .on_pdu = on_pdu };

static size_t build_two(bool hd, bool dd, uint8_t *payload, uint32_t len)
{
	static uint8_t h1[PDU_BHS_LEN + 4] __attribute__((aligned(8)));
	static uint8_t h2[PDU_BHS_LEN + 4] __attribute__((aligned(8)));
	static uint8_t first[sizeof(wire)];
	struct iovec d = { payload, len };
	struct seg_data sd = { &d, 1, 0 };
	struct seg_tx t;
	size_t n;

	make_bhs(h1, PDU_OP_DATA_IN, 1);
	make_bhs(h2, PDU_OP_NOP_IN, 2);
	assert_int_equal(seg_tx_init(&t, h1, 0, &sd, len, hd, dd), 0);
	n = tx_all(&t, 16, 1u << 20);
	memcpy(first, wire, n);
	assert_int_equal(seg_tx_init(&t, h2, 0, NULL, 0, hd, dd), 0);
	size_t m = tx_all(&t, 16, 1u << 20);
	memmove(wire + n, wire, m);
	memcpy(wire, first, n);
	return n + m;
}

/* Feeds the stream through fill/advance, at most chunk bytes per call.
 * Returns 0 or the first error; *calls counts the "system calls". */
static int rx_feed_n(struct seg_rx *r, size_t total, size_t chunk, const char **why,
		     unsigned *calls)
{
	size_t off = 0;
	struct iovec v[8];

	while (off < total) {
		int n = seg_rx_fill(r, v, 8);
		size_t moved = 0;
		assert_true(n >= 1);
		for (int i = 0; i < n && moved < chunk && off + moved < total; i++) {
			size_t k = v[i].iov_len;
			if (k > chunk - moved)
				k = chunk - moved;
			if (k > total - off - moved)
				k = total - off - moved;
			memcpy(v[i].iov_base, wire + off + moved, k);
			moved += k;
		}
		assert_true(moved > 0);
		if (calls)
			(*calls)++;
		int rc = seg_rx_advance(r, moved, why);
		if (rc < 0)
			return rc;
		off += moved;
	}
	return 0;
}

static int rx_feed(struct seg_rx *r, size_t total, size_t chunk, const char **why)
{
	return rx_feed_n(r, total, chunk, why, NULL);
}

/* Staging for the receive tests: big enough for every read-ahead used. */
static uint8_t hbuf[SEG_HDR_MAX] __attribute__((aligned(8)));
static uint8_t stage[65536] __attribute__((aligned(8)));

static void rx_case(bool hd, bool dd, size_t chunk, uint32_t ahead)
{
	uint8_t payload[301], out[400];
	struct rx_ctx c = { .dst = { { out, 100 }, { out + 100, 0 }, { out + 100, 300 } } };
	struct seg_rx r;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i ^ 0x5a);
	memset(out, 0xee, sizeof(out));
	size_t total = build_two(hd, dd, payload, sizeof(payload));
	seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), ahead, hd, dd);
	assert_int_equal(rx_feed(&r, total, chunk, &why), 0);
	assert_int_equal(c.headers, 2);
	assert_int_equal(c.pdus, 2);
	assert_true(seg_rx_idle(&r));
	/* Placed at offset 2 of the scatter list, nothing else touched. */
	assert_int_equal(out[0], 0xee);
	assert_int_equal(out[1], 0xee);
	assert_memory_equal(out + 2, payload, sizeof(payload));
	assert_int_equal(out[2 + sizeof(payload)], 0xee);
	/* Without read-ahead no data byte passes through staging. */
	if (ahead == 0)
		assert_int_equal(r.copied, 0);
}

static void test_rx_stream(void **state)
{
	(void)state;
	static const uint32_t aheads[] = { 0, 64, 4096 };
	for (unsigned i = 0; i < 3; i++) {
		rx_case(false, false, 1u << 20, aheads[i]);
		rx_case(true, true, 1u << 20, aheads[i]);
		rx_case(true, true, 1, aheads[i]);
		rx_case(false, true, 7, aheads[i]);
		rx_case(true, false, 49, aheads[i]);
		rx_case(true, true, 53, aheads[i]);
	}
}

static void test_rx_no_readahead_layout(void **state)
{
	(void)state;
	uint8_t out[400];
	struct rx_ctx c = { .dst = { { out, 400 }, { out, 0 }, { out, 0 } } };
	struct seg_rx r;
	struct iovec v[8];
	const char *why;

	seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), 0, false, false);
	/* Before a header arrives only the BHS is asked for. */
	assert_int_equal(seg_rx_fill(&r, v, 8), 1);
	assert_ptr_equal(v[0].iov_base, stage);
	assert_int_equal(v[0].iov_len, 48);
	make_bhs(stage, PDU_OP_DATA_IN, 5);
	pdu_set_dsl(stage, 10);
	assert_int_equal(seg_rx_advance(&r, 48, &why), 0);
	assert_int_equal(c.headers, 1);
	/* Data (into out at offset 2), pad, then the next BHS: one call. */
	int n = seg_rx_fill(&r, v, 8);
	assert_int_equal(n, 3);
	assert_ptr_equal(v[0].iov_base, out + 2);
	assert_int_equal(v[0].iov_len, 10);
	assert_int_equal(v[1].iov_len, 2);
	assert_ptr_equal(v[2].iov_base, stage);
	assert_int_equal(v[2].iov_len, 48);
	/* An AHS announced in the BHS is asked for next. */
	seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), 0, true, false);
	make_bhs(stage, PDU_OP_NOP_IN, 6);
	stage[4] = 2;                                 /* 8 bytes of AHS */
	assert_int_equal(seg_rx_advance(&r, 48, &why), 0);
	assert_int_equal(seg_rx_fill(&r, v, 8), 1);
	assert_ptr_equal(v[0].iov_base, stage + 48);
	assert_int_equal(v[0].iov_len, 8 + 4);
}

/* With read-ahead, many small PDUs are parsed from one receive. */
static void test_rx_readahead_batches(void **state)
{
	(void)state;
	uint8_t payload[512], out[400];
	struct rx_ctx c = { .dst = { { out, 400 }, { out, 0 }, { out, 0 } } };
	struct seg_rx r;
	const char *why = NULL;
	unsigned calls = 0;

	memset(payload, 0x11, sizeof(payload));
	size_t one = build_two(false, false, payload, 100);   /* 48+100 + 48 */
	for (unsigned i = 1; i < 20; i++)
		memcpy(wire + i * one, wire, one);
	seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), 4096, false, false);
	struct iovec v[8];
	assert_int_equal(seg_rx_fill(&r, v, 8), 1);
	assert_int_equal(v[0].iov_len, 4096);
	assert_int_equal(rx_feed_n(&r, 20 * one, 1u << 20, &why, &calls), 0);
	assert_int_equal(c.pdus, 40);
	assert_int_equal(calls, 1);
	assert_int_equal(r.copied, 20 * 100);
	assert_true(seg_rx_idle(&r));
}

/* A long segment: what arrived in the read-ahead is copied, the rest is
 * received in place, and after it only one header is read ahead. */
static void test_rx_long_segment_direct(void **state)
{
	(void)state;
	static uint8_t payload[40000], out[40002];
	struct rx_ctx c = { .dst = { { out, 20000 }, { out + 20000, 0 }, { out + 20000, 20002 } } };
	struct seg_rx r;
	struct iovec v[8];
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 1);
	size_t total = build_two(true, true, payload, sizeof(payload));
	seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), 1000, true, true);
	assert_int_equal(seg_rx_fill(&r, v, 8), 1);
	assert_int_equal(v[0].iov_len, 1000);
	memcpy(stage, wire, 1000);
	assert_int_equal(seg_rx_advance(&r, 1000, &why), 0);
	assert_int_equal(r.copied, 1000 - 52);
	/* The rest of the data in place (two pieces), pad + digest, then
	 * one header of read-ahead. */
	int n = seg_rx_fill(&r, v, 8);
	assert_int_equal(n, 4);
	assert_ptr_equal(v[0].iov_base, out + 2 + 948);
	assert_int_equal(v[0].iov_len, 20000 - 2 - 948);
	assert_ptr_equal(v[1].iov_base, out + 20000);
	assert_int_equal(v[1].iov_len, 40000 - (20000 - 2));
	assert_int_equal(v[2].iov_len, 4);           /* digest, no pad */
	assert_ptr_equal(v[3].iov_base, stage);
	assert_int_equal(v[3].iov_len, 52);
	size_t off = 1000;
	for (int i = 0; i < n; i++) {
		memcpy(v[i].iov_base, wire + off, v[i].iov_len);
		off += v[i].iov_len;
	}
	assert_int_equal(off, total);
	assert_int_equal(seg_rx_advance(&r, off - 1000, &why), 0);
	assert_int_equal(c.pdus, 2);
	assert_int_equal(r.copied, 948);
	assert_memory_equal(out + 2, payload, sizeof(payload));
	/* The next header alone is asked for after a long segment. */
	assert_int_equal(seg_rx_fill(&r, v, 8), 1);
	assert_int_equal(v[0].iov_len, 52);
}

static void test_rx_digest_errors(void **state)
{
	(void)state;
	uint8_t payload[64] = { 1 }, out[400];
	struct rx_ctx c = { .dst = { { out, 400 }, { out, 0 }, { out, 0 } } };
	struct seg_rx r;
	const char *why = NULL;

	for (uint32_t ahead = 0; ahead <= 4096; ahead += 4096) {
		size_t total = build_two(true, true, payload, sizeof(payload));
		wire[10] ^= 1;                        /* header bit flip */
		memset(&c, 0, sizeof(c));
		c.dst[0] = (struct iovec){ out, 400 };
		c.dst[1] = c.dst[2] = (struct iovec){ out, 0 };
		seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), ahead, true, true);
		assert_int_equal(rx_feed(&r, total, 1u << 20, &why), -EBADMSG);
		assert_string_equal(why, "header digest mismatch");
		assert_int_equal(c.headers, 0);       /* nothing trusted */

		total = build_two(true, true, payload, sizeof(payload));
		wire[52 + 5] ^= 0x80;                 /* data bit flip */
		memset(&c, 0, sizeof(c));
		c.dst[0] = (struct iovec){ out, 400 };
		c.dst[1] = c.dst[2] = (struct iovec){ out, 0 };
		seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), ahead, true, true);
		assert_int_equal(rx_feed(&r, total, 3, &why), -EBADMSG);
		assert_string_equal(why, "data digest mismatch");
		assert_int_equal(c.pdus, 0);

		total = build_two(false, false, payload, sizeof(payload));
		memset(&c, 0, sizeof(c));
		c.fail_header = 1;
		seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), ahead, false, false);
		assert_int_equal(rx_feed(&r, total, 1u << 20, &why), -EPROTO);
		assert_string_equal(why, "refused");
	}
}

static int bhs_calls;

static int refuse_bhs(void *ctx, const uint8_t *bhs, const char **why)
{
	(void)ctx;
	bhs_calls++;
	*why = pdu_ahs_bytes(bhs) ? "AHS refused" : "?";
	return -EPROTO;
}

/* A BHS announcing an AHS is shown to on_bhs as soon as it is complete,
 * before the cursor waits for the AHS; without the hook it waits. */
static void test_rx_bhs_hook(void **state)
{
	(void)state;
	static const struct seg_rx_ops ops = { .on_header = on_header, .on_pdu = on_pdu,
					       .on_bhs = refuse_bhs };
	struct rx_ctx c = { 0 };
	struct seg_rx r;
	struct iovec v[4];
	const char *why = NULL;

	for (uint32_t ahead = 0; ahead <= 4096; ahead += 4096) {
		bhs_calls = 0;
		seg_rx_init(&r, &ops, &c, hbuf, stage, sizeof(stage), ahead, false, false);
		seg_rx_fill(&r, v, 4);
		make_bhs(stage, PDU_OP_SCSI_RSP, 3);
		stage[4] = 255;                       /* 1020 bytes of AHS, never sent */
		assert_int_equal(seg_rx_advance(&r, 40, &why), 0);   /* BHS incomplete */
		assert_int_equal(bhs_calls, 0);
		assert_int_equal(seg_rx_advance(&r, 8, &why), -EPROTO);
		assert_string_equal(why, "AHS refused");
		assert_int_equal(bhs_calls, 1);
		assert_int_equal(c.headers, 0);
	}
	/* Without the hook the cursor asks for the AHS. */
	seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), 0, false, false);
	seg_rx_fill(&r, v, 4);
	make_bhs(stage, PDU_OP_SCSI_RSP, 3);
	stage[4] = 255;
	assert_int_equal(seg_rx_advance(&r, 48, &why), 0);
	assert_int_equal(seg_rx_fill(&r, v, 4), 1);
	assert_int_equal(v[0].iov_len, 1020);
}

static void test_rx_buffer_too_small(void **state)
{
	(void)state;
	uint8_t payload[64], out[8] = { 0 };
	struct rx_ctx c = { .dst = { { out, 8 }, { out, 0 }, { out, 0 } } };
	struct seg_rx r;
	const char *why = NULL;

	memset(payload, 0x77, sizeof(payload));
	for (uint32_t ahead = 0; ahead <= 4096; ahead += 4096) {
		size_t total = build_two(false, false, payload, sizeof(payload));
		seg_rx_init(&r, &rx_ops, &c, hbuf, stage, sizeof(stage), ahead, false, false);
		assert_int_equal(rx_feed(&r, total, 1u << 20, &why), -EPROTO);
		assert_non_null(why);
		/* Rejected before a byte of it was placed. */
		assert_int_equal(out[0], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_layout_digests),
		cmocka_unit_test(test_tx_resume),
		cmocka_unit_test(test_rx_stream),
		cmocka_unit_test(test_rx_no_readahead_layout),
		cmocka_unit_test(test_rx_readahead_batches),
		cmocka_unit_test(test_rx_long_segment_direct),
		cmocka_unit_test(test_rx_bhs_hook),
		cmocka_unit_test(test_rx_digest_errors),
		cmocka_unit_test(test_rx_buffer_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
