/* SPDX-License-Identifier: MIT */
/* Reads over the fake transport: Data-In placement, status in Data-In and
 * in SCSI Response, residuals, sense, UNIT ATTENTION retry, and every
 * malformed target PDU that must close the connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ft.h"

static struct ft F;
static uint8_t buf[65536], src[65536];

static void fill_src(void)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 131 + 7);
}

static uint32_t open_and_read(struct ft_cmd *fc, uint32_t len, bool digests)
{
	struct iscsi_params p;
	struct ft_pdu pdu;

	ft_default_params(&p);
	p.header_digest = p.data_digest = digests;
	ft_open(&F, &p);
	fill_src();
	memset(buf, 0, sizeof(buf));
	ft_submit_read(&F, fc, buf, len, 8);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
	assert_int_equal(pdu.bhs[1] & 0xe0, 0x80 | SCSI_CMD_READ);   /* F, R */
	assert_int_equal(ft_bhs32(&pdu, 20), len);                   /* EDTL */
	assert_int_equal(ft_bhs32(&pdu, 24), 10);                    /* CmdSN */
	assert_int_equal(ft_bhs32(&pdu, 28), 100);                   /* ExpStatSN */
	assert_int_equal(pdu.bhs[32], 0x28);                         /* READ(10) */
	return pdu_itt(pdu.bhs);
}

static void test_read_status_in_data_in(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 4096, false);

	ft_data_in(&F, itt, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(fc.c.res.status, 0);
	assert_int_equal(fc.c.res.data_in, 4096);
	assert_memory_equal(buf, src, 4096);
	assert_int_equal(ft_conn(&F)->exp_statsn, 101);
	ft_close(&F);
}

static void test_read_sequence_then_response_underflow(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 16384, true);

	/* Out of order offsets are fine; DataSN must be in order. */
	ft_data_in(&F, itt, 0, 8192, src + 8192, 4096, 0, 0, 0);
	ft_data_in(&F, itt, 1, 0, src, 8192, 0x80, 0, 0);
	assert_int_equal(fc.done, 0);
	ft_rsp(&F, itt, 0, SCSI_RSP_UNDERFLOW, 4096, NULL, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(fc.c.res.flags, MCSI_RES_UNDERFLOW);
	assert_int_equal(fc.c.res.residual, 4096);
	assert_int_equal(fc.c.res.data_in, 12288);
	assert_memory_equal(buf, src, 12288);
	ft_close(&F);
}

static void test_read_overflow_in_data_in(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 512, false);

	ft_data_in(&F, itt, 0, 0, src, 512, 0x80 | DATA_IN_STATUS | DATA_IN_OVERFLOW, 0, 512);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.flags, MCSI_RES_OVERFLOW);
	assert_int_equal(fc.c.res.residual, 512);
	ft_close(&F);
}

static void test_check_condition_sense(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 512, false);
	uint8_t sense[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0x00 };

	ft_rsp(&F, itt, 0x02, 0, 0, sense, sizeof(sense));
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, -EIO);
	assert_int_equal(fc.c.res.status, 2);
	assert_int_equal(fc.c.res.sense_key, 5);
	assert_int_equal(fc.c.res.asc, 0x21);
	assert_int_equal(fc.c.res.sense_len, 18);
	ft_close(&F);
}

static void test_unit_attention_retried(void **state)
{
	(void)state;
	struct ft_cmd fc;
	struct ft_pdu pdu;
	uint32_t itt = open_and_read(&fc, 4096, false);
	uint8_t ua[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00 };

	F.expcmdsn = 11;
	ft_rsp(&F, itt, 0x02, 0, 0, ua, sizeof(ua));
	assert_int_equal(fc.done, 0);
	/* ... and still reported to the application, with its sense. */
	assert_int_equal(F.nevents, 1);
	assert_int_equal(F.events[0], MCSI_EV_SCSI_EVENT);
	assert_int_equal(F.last_ev.sense_len, 18);
	/* Re-issued: next CmdSN, a new ITT (the old one is stale). */
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
	assert_int_equal(ft_bhs32(&pdu, 24), 11);
	uint32_t itt2 = pdu_itt(pdu.bhs);
	assert_int_not_equal(itt2, itt);
	ft_data_in(&F, itt2, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_memory_equal(buf, src, 4096);
	struct mcsi_stats st;
	mcsi_get_stats(F.s, &st);
	assert_int_equal(st.retries, 1);
	ft_close(&F);
}

/* The connection must close with err, naming the peer and the reason. */
static void expect_closed(struct ft_cmd *fc, int err, const char *reason)
{
	assert_int_equal(fc->done, 1);
	assert_int_equal(fc->c.res.err, err);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	assert_non_null(strstr(mcsi_last_error(F.s), "127.0.0.1:3260"));
	if (!strstr(mcsi_last_error(F.s), reason))
		fail_msg("error \"%s\" lacks \"%s\"", mcsi_last_error(F.s), reason);
	assert_int_equal(atomic_load(&F.s->state), SESS_FAILED);
	/* The connection's failure, then (ERL 0, no reinstatement) the
	 * session's. */
	assert_true(F.nevents >= 2);
	assert_int_equal(F.events[F.nevents - 2], MCSI_EV_CONN_FAILED);
	assert_int_equal(F.events[F.nevents - 1], MCSI_EV_SESSION_FAILED);
	/* Submitting now fails cleanly. */
	struct ft_cmd fc2;
	fc2.v = (struct iovec){ buf, 512 };
	mcsi_prep_read(&fc2.c, 0, 0, 1, &fc2.v, 1);
	fc2.c.done = ft_done;
	assert_int_equal(mcsi_submit(F.s, &fc2.c), -ENOTCONN);
	ft_close(&F);
}

static void test_bad_unknown_itt(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 4096, false);

	ft_data_in(&F, itt ^ 0x00400000u, 0, 0, src, 512, 0, 0, 0);  /* other gen */
	expect_closed(&fc, -EPROTO, "unknown ITT");
}

static void test_bad_datasn_gap(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 4096, false);

	ft_data_in(&F, itt, 0, 0, src, 512, 0, 0, 0);
	ft_data_in(&F, itt, 2, 512, src, 512, 0, 0, 0);
	expect_closed(&fc, -EPROTO, "DataSN gap");
}

static void test_bad_beyond_length(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 4096, false);

	ft_data_in(&F, itt, 0, 3584, src, 1024, 0, 0, 0);
	expect_closed(&fc, -EPROTO, "beyond the expected length");
	assert_int_equal(buf[4095], 0);           /* nothing was written */
}

static void test_bad_segment_too_long(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 16384, false);

	ft_data_in(&F, itt, 0, 0, src, 8196, 0, 0, 0);   /* our MRDSL is 8192 */
	expect_closed(&fc, -EPROTO, "MaxRecvDataSegmentLength");
}

static void test_bad_data_digest(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 4096, true);

	F.p.data_digest = false;                  /* inject a wrong digest */
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_DATA_IN, 0x81 };
	pdu_put32(&((struct bhs_data_in *)h)->din_itt, itt);
	ft_stamp(&F, h, true);
	uint8_t data[4096 + 4];
	memcpy(data, src, 4096);
	memset(data + 4096, 0x55, 4);
	pdu_set_dsl(h, 4096);
	uint8_t wire[48 + 4 + sizeof(data)];
	memcpy(wire, h, 48);
	digest_store(wire + 48, digest_crc32c(h, 48));
	memcpy(wire + 52, data, sizeof(data));
	xport_fake_inject(ft_xc(&F), wire, sizeof(wire));
	ft_turn(&F);
	expect_closed(&fc, -EBADMSG, "data digest mismatch");
}

static void test_bad_header_digest(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 4096, true);
	uint8_t h[48 + 4] __attribute__((aligned(8))) = { PDU_OP_SCSI_RSP, 0x80 };

	pdu_put32(&((struct bhs_scsi_rsp *)h)->rsp_itt, itt);
	digest_store(h + 48, digest_crc32c(h, 48) ^ 1u);
	xport_fake_inject(ft_xc(&F), h, sizeof(h));
	ft_turn(&F);
	expect_closed(&fc, -EBADMSG, "header digest mismatch");
}

/* A target PDU announcing an AHS (targets send none) is refused on its
 * BHS, not after waiting for AHS bytes that never come. */
static void test_bad_ahs_announced(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt = open_and_read(&fc, 4096, false);
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_SCSI_RSP, 0x80 };

	pdu_put32(&((struct bhs_scsi_rsp *)h)->rsp_itt, itt);
	h[4] = 255;
	xport_fake_inject(ft_xc(&F), h, sizeof(h));
	ft_turn(&F);
	expect_closed(&fc, -EPROTO, "AHS");
}

static void test_bad_opcode_and_eof(void **state)
{
	(void)state;
	struct ft_cmd fc;
	open_and_read(&fc, 4096, false);
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_LOGIN_RSP, 0x80 };

	ft_inject(&F, h, NULL, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, -EPROTO);
	ft_close(&F);

	open_and_read(&fc, 4096, false);
	xport_fake_close(ft_xc(&F), 0);
	ft_turn(&F);
	expect_closed(&fc, -ECONNRESET, "closed the connection");
}

static void test_partial_receives(void **state)
{
	(void)state;
	struct ft_cmd fc;
	struct iscsi_params p;
	struct ft_pdu pdu;

	ft_default_params(&p);
	p.header_digest = p.data_digest = true;
	ft_open(&F, &p);
	fill_src();
	xport_fake_chunk(ft_xc(&F), 5);           /* 5 bytes per completion */
	memset(buf, 0, sizeof(buf));
	ft_submit_read(&F, &fc, buf, 8192, 0);
	for (int i = 0; i < 100 && !ft_recv(&F, &pdu); i++)
		;
	uint32_t itt = pdu_itt(pdu.bhs);
	ft_data_in(&F, itt, 0, 0, src, 8192, 0x80 | DATA_IN_STATUS, 0, 0);
	for (int i = 0; i < 4000 && !fc.done; i++)
		ft_turn(&F);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_memory_equal(buf, src, 8192);
	ft_close(&F);
}

/* Eight responses that arrive together: one receive with read-ahead (and
 * each payload copied once), one per PDU or more without (none copied). */
static void test_batch_of_responses(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc[8];
	struct ft_pdu pdu;
	uint32_t itt[8];

	ft_default_params(&p);
	ft_open(&F, &p);
	fill_src();
	memset(buf, 0, sizeof(buf));
	for (unsigned i = 0; i < 8; i++)
		ft_submit_read(&F, &fc[i], buf + i * 4096, 4096, i * 8);
	for (unsigned i = 0; i < 8; i++) {
		assert_true(ft_recv(&F, &pdu));
		itt[i] = pdu_itt(pdu.bhs);
	}
	uint64_t recvs = ft_xc(&F)->recvs, copied = ft_conn(&F)->rx.copied;
	ft_batch_begin(&F);
	for (unsigned i = 0; i < 8; i++)
		ft_data_in(&F, itt[i], 0, 0, src + i * 512, 4096,
			   0x80 | DATA_IN_STATUS, 0, 0);
	ft_batch_end(&F);
	for (unsigned k = 0; k < 100 && !fc[7].done; k++)
		ft_turn(&F);                      /* a receive per PDU without */
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(fc[i].done, 1);
		assert_int_equal(fc[i].c.res.err, 0);
		assert_memory_equal(buf + i * 4096, src + i * 512, 4096);
	}
	uint64_t used = ft_xc(&F)->recvs - recvs;
	if (ft_readahead) {
		assert_int_equal(used, 1);
		assert_int_equal(ft_conn(&F)->rx.copied - copied, 8 * 4096);
	} else {
		assert_true(used >= 8);
		assert_int_equal(ft_conn(&F)->rx.copied, 0);
	}
	ft_close(&F);
}

/* Receive coalescing: with 8 or more commands in flight, a receive that
 * finds fewer than half of them answered makes the next one wait
 * longer (up to coalesce_us, 500 here), one that finds more makes it
 * wait less; no waiting while a write waits for an R2T, with fewer
 * commands in flight, or without read-ahead (one PDU per receive). */
static void test_coalescing_delay(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc[16], wr;
	struct ft_pdu pdu;
	uint32_t itt[16];
	unsigned d, prev = 0;

	ft_default_params(&p);
	ft_queue_depth = 32;
	ft_open(&F, &p);
	ft_queue_depth = 8;
	fill_src();
	for (unsigned i = 0; i < 16; i++)
		ft_submit_read(&F, &fc[i], buf + i * 512, 512, i);
	for (unsigned i = 0; i < 16; i++) {
		assert_true(ft_recv(&F, &pdu));
		itt[i] = pdu_itt(pdu.bhs);
	}
	assert_int_equal(xport_fake_last_delay(ft_xc(&F)), 0);
	/* One response per receive, half (6 to 8) wanted: growing. */
	for (unsigned i = 0; i < 4; i++) {
		ft_data_in(&F, itt[i], 0, 0, src, 512, 0x80 | DATA_IN_STATUS, 0, 0);
		d = xport_fake_last_delay(ft_xc(&F));
		/* (The first receive was posted with nothing in flight.) */
		if (ft_readahead)
			assert_true((i == 0 || d > prev) && d <= 500);
		else
			assert_int_equal(d, 0);
		prev = d;
	}
	if (ft_readahead)
		assert_true(prev >= 3 * CONN_COALESCE_STEP);
	assert_int_equal(ft_conn(&F)->inflight, 12);

	/* A 64 KiB write needs an R2T (8 KiB immediate): no waiting. */
	ft_submit_write(&F, &wr, src, 65536, 100);
	assert_true(ft_recv(&F, &pdu));
	uint32_t witt = pdu_itt(pdu.bhs);
	ft_nop_in(&F, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0);
	assert_int_equal(ft_conn(&F)->r2t_waiters, 1);
	assert_int_equal(xport_fake_last_delay(ft_xc(&F)), 0);
	ft_r2t(&F, witt, 0x1234, 0, 8192, 65536 - 8192);   /* all the rest */
	assert_int_equal(ft_conn(&F)->r2t_waiters, 0);
	prev = xport_fake_last_delay(ft_xc(&F));
	assert_int_equal(prev, ft_conn(&F)->rx_delay_us);
	if (ft_readahead)
		assert_true(prev > 0);

	/* Eight at once, more than wanted: shorter. */
	ft_batch_begin(&F);
	for (unsigned i = 4; i < 12; i++)
		ft_data_in(&F, itt[i], 0, 0, src, 512, 0x80 | DATA_IN_STATUS, 0, 0);
	ft_batch_end(&F);
	for (unsigned k = 0; k < 100 && !fc[11].done; k++)
		ft_turn(&F);
	assert_int_equal(fc[11].done, 1);
	/* 5 in flight now (4 reads and the write): below 8, receive at once. */
	assert_int_equal(ft_conn(&F)->inflight, 5);
	assert_int_equal(xport_fake_last_delay(ft_xc(&F)), 0);
	if (ft_readahead)
		assert_true(ft_conn(&F)->rx_delay_us < prev);
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_status_in_data_in),
		cmocka_unit_test(test_read_sequence_then_response_underflow),
		cmocka_unit_test(test_read_overflow_in_data_in),
		cmocka_unit_test(test_check_condition_sense),
		cmocka_unit_test(test_unit_attention_retried),
		cmocka_unit_test(test_bad_unknown_itt),
		cmocka_unit_test(test_bad_datasn_gap),
		cmocka_unit_test(test_bad_beyond_length),
		cmocka_unit_test(test_bad_segment_too_long),
		cmocka_unit_test(test_bad_data_digest),
		cmocka_unit_test(test_bad_header_digest),
		cmocka_unit_test(test_bad_ahs_announced),
		cmocka_unit_test(test_bad_opcode_and_eof),
		cmocka_unit_test(test_partial_receives),
		cmocka_unit_test(test_batch_of_responses),
		cmocka_unit_test(test_coalescing_delay),
	};
	return ft_run_both(tests);
}
