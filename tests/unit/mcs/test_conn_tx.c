/* SPDX-License-Identifier: MIT */
/* Writes over the fake transport: immediate data, unsolicited Data-Out,
 * R2T sequences (one and several outstanding), Data-Out split by the
 * target's MaxRecvDataSegmentLength, F bit and DataSN per sequence, and
 * malformed R2Ts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ft.h"

static struct ft F;
static uint8_t src[1u << 17], got[1u << 17];

static void fill_src(void)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 29 + 3);
}

/* Opens, submits a write of len, returns the command PDU. */
static uint32_t start_write(struct ft_cmd *fc, const struct iscsi_params *p,
			    uint32_t len, struct ft_pdu *cmd)
{
	ft_open(&F, p);
	fill_src();
	memset(got, 0, sizeof(got));
	ft_submit_write(&F, fc, src, len, 0);
	assert_true(ft_recv(&F, cmd));
	assert_int_equal(pdu_opcode(cmd->bhs), PDU_OP_SCSI_CMD);
	assert_true(cmd->bhs[1] & SCSI_CMD_WRITE);
	assert_int_equal(ft_bhs32(cmd, 20), len);
	if (cmd->dsl)
		memcpy(got, cmd->data, cmd->dsl);
	return pdu_itt(cmd->bhs);
}

/* Reads one Data-Out and checks its fields; stores its data in got. */
static void expect_dout(uint32_t itt, uint32_t ttt, uint32_t datasn,
			uint32_t off, uint32_t len, bool final)
{
	struct ft_pdu d;

	assert_true(ft_recv(&F, &d));
	assert_int_equal(pdu_opcode(d.bhs), PDU_OP_DATA_OUT);
	assert_int_equal(pdu_itt(d.bhs), itt);
	assert_int_equal(ft_bhs32(&d, 20), ttt);
	assert_int_equal(ft_bhs32(&d, 36), datasn);
	assert_int_equal(ft_bhs32(&d, 40), off);
	assert_int_equal(d.dsl, len);
	assert_int_equal(!!(d.bhs[1] & PDU_FINAL), final);
	memcpy(got + off, d.data, len);
}

static void finish_ok(struct ft_cmd *fc, uint32_t itt, uint32_t len)
{
	struct ft_pdu extra;

	assert_false(ft_recv(&F, &extra));        /* nothing else sent */
	assert_int_equal(fc->done, 0);
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
	assert_int_equal(fc->done, 1);
	assert_int_equal(fc->c.res.err, 0);
	assert_memory_equal(got, src, len);
	ft_close(&F);
}

static void test_immediate_data_only(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd;

	ft_default_params(&p);
	uint32_t itt = start_write(&fc, &p, 4096, &cmd);
	assert_int_equal(cmd.dsl, 4096);
	assert_true(cmd.bhs[1] & PDU_FINAL);      /* no unsolicited Data-Out */
	finish_ok(&fc, itt, 4096);
}

static void test_r2t_single_outstanding(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd;

	ft_default_params(&p);
	p.immediate_data = false;
	uint32_t itt = start_write(&fc, &p, 65536, &cmd);
	assert_int_equal(cmd.dsl, 0);
	assert_true(cmd.bhs[1] & PDU_FINAL);
	ft_r2t(&F, itt, 0x1234, 0, 0, 32768);
	for (uint32_t i = 0; i < 4; i++)
		expect_dout(itt, 0x1234, i, i * 8192, 8192, i == 3);
	ft_r2t(&F, itt, 0x1235, 1, 32768, 32768);
	for (uint32_t i = 0; i < 4; i++)   /* DataSN restarts per sequence */
		expect_dout(itt, 0x1235, i, 32768 + i * 8192, 8192, i == 3);
	finish_ok(&fc, itt, 65536);
}

static void test_unsolicited_then_r2t(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd;

	ft_default_params(&p);
	p.initial_r2t = false;
	p.first_burst_length = 20000;
	p.max_xmit_dsl = 8192;
	uint32_t itt = start_write(&fc, &p, 40000, &cmd);
	assert_int_equal(cmd.dsl, 8192);          /* immediate: one PDU's worth */
	assert_false(cmd.bhs[1] & PDU_FINAL);     /* unsolicited Data-Out follows */
	expect_dout(itt, PDU_RESERVED_TAG, 0, 8192, 8192, false);
	expect_dout(itt, PDU_RESERVED_TAG, 1, 16384, 20000 - 16384, true);
	ft_r2t(&F, itt, 7, 0, 20000, 20000);
	expect_dout(itt, 7, 0, 20000, 8192, false);
	expect_dout(itt, 7, 1, 28192, 8192, false);
	expect_dout(itt, 7, 2, 36384, 40000 - 36384, true);
	finish_ok(&fc, itt, 40000);
}

static void test_unsolicited_without_immediate(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd;

	ft_default_params(&p);
	p.initial_r2t = false;
	p.immediate_data = false;
	p.first_burst_length = 65536;
	uint32_t itt = start_write(&fc, &p, 10000, &cmd);
	assert_int_equal(cmd.dsl, 0);
	assert_false(cmd.bhs[1] & PDU_FINAL);
	expect_dout(itt, PDU_RESERVED_TAG, 0, 0, 8192, false);
	expect_dout(itt, PDU_RESERVED_TAG, 1, 8192, 10000 - 8192, true);
	finish_ok(&fc, itt, 10000);
}

static void test_r2t_multiple_outstanding(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd;

	ft_default_params(&p);
	p.immediate_data = false;
	p.max_outstanding_r2t = 4;
	p.max_xmit_dsl = 16384;
	uint32_t itt = start_write(&fc, &p, 3 * 16384, &cmd);
	/* Three R2Ts before any Data-Out is read back. */
	xport_fake_chunk(ft_xc(&F), 0);
	ft_r2t(&F, itt, 100, 0, 0, 16384);
	ft_r2t(&F, itt, 101, 1, 16384, 16384);
	ft_r2t(&F, itt, 102, 2, 32768, 16384);
	expect_dout(itt, 100, 0, 0, 16384, true);
	expect_dout(itt, 101, 0, 16384, 16384, true);
	expect_dout(itt, 102, 0, 32768, 16384, true);
	struct mcsi_stats st;
	mcsi_get_stats(F.s, &st);
	assert_int_equal(st.r2ts, 3);
	finish_ok(&fc, itt, 3 * 16384);
}

static void expect_closed(struct ft_cmd *fc, const char *reason)
{
	assert_int_equal(fc->done, 1);
	assert_int_equal(fc->c.res.err, -EPROTO);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	if (!strstr(mcsi_last_error(F.s), reason))
		fail_msg("error \"%s\" lacks \"%s\"", mcsi_last_error(F.s), reason);
	ft_close(&F);
}

static void test_bad_r2t(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd;

	ft_default_params(&p);
	p.immediate_data = false;
	uint32_t itt = start_write(&fc, &p, 8192, &cmd);
	ft_r2t(&F, itt, 1, 0, 4096, 8192);
	expect_closed(&fc, "R2T beyond the command's length");

	itt = start_write(&fc, &p, 65536, &cmd);
	/* MaxOutstandingR2T is 1: a second R2T before the first is served
	 * (the first is still queued: the send did not run yet). */
	ft_conn(&F)->xc.send_busy = true;          /* hold the transmit side */
	ft_r2t(&F, itt, 1, 0, 0, 8192);
	ft_r2t(&F, itt, 2, 1, 8192, 8192);
	ft_conn(&F)->xc.send_busy = false;
	expect_closed(&fc, "too many outstanding R2Ts");

	itt = start_write(&fc, &p, 65536, &cmd);
	ft_r2t(&F, itt, 1, 1, 0, 8192);
	expect_closed(&fc, "R2TSN gap");

	struct ft_cmd rd;
	static uint8_t rbuf[4096];
	ft_open(&F, &p);
	ft_submit_read(&F, &rd, rbuf, 4096, 0);
	assert_true(ft_recv(&F, &cmd));
	ft_r2t(&F, pdu_itt(cmd.bhs), 1, 0, 0, 512);
	expect_closed(&rd, "R2T for a command that writes no data");
}

static void test_partial_sends(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd;

	ft_default_params(&p);
	p.header_digest = p.data_digest = true;
	ft_open(&F, &p);
	fill_src();
	memset(got, 0, sizeof(got));
	xport_fake_chunk(ft_xc(&F), 3);            /* 3 bytes per send */
	ft_submit_write(&F, &fc, src, 4096, 0);
	for (int i = 0; i < 3000 && !ft_recv(&F, &cmd); i++)
		;
	assert_int_equal(cmd.dsl, 4096);
	memcpy(got, cmd.data, 4096);
	xport_fake_chunk(ft_xc(&F), 0);
	finish_ok(&fc, pdu_itt(cmd.bhs), 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_immediate_data_only),
		cmocka_unit_test(test_r2t_single_outstanding),
		cmocka_unit_test(test_unsolicited_then_r2t),
		cmocka_unit_test(test_unsolicited_without_immediate),
		cmocka_unit_test(test_r2t_multiple_outstanding),
		cmocka_unit_test(test_bad_r2t),
		cmocka_unit_test(test_partial_sends),
	};
	return ft_run_both(tests);
}
