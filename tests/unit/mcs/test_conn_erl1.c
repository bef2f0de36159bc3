/* SPDX-License-Identifier: MIT */
/* ERL 1 on the data path (mcs/conn_erl1.c) over the fake transport: the
 * target's PDUs are damaged on their way (a bit flipped after the digests
 * were computed) and the initiator must recover in place: the SNACKs it
 * sends (golden bytes), the statuses it holds, data exact, nothing
 * completed twice, and at ERL 0 the strict behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

#include "ft.h"
#include "proto/scsi.h"

static struct ft F;
static uint8_t buf[65536], src[65536];

static void fill_src(void)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 131 + 7);
}

static void erl_params(struct iscsi_params *p, unsigned erl, bool digests)
{
	ft_default_params(p);
	p->error_recovery_level = erl;
	p->header_digest = p->data_digest = digests;
}

static uint32_t open_read(struct ft_cmd *fc, const struct iscsi_params *p, uint32_t len)
{
	struct ft_pdu pdu;

	ft_open(&F, p);
	fill_src();
	memset(buf, 0, sizeof(buf));
	ft_submit_read(&F, fc, buf, len, 8);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
	return pdu_itt(pdu.bhs);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The next initiator PDU is this SNACK, byte for byte (RFC 7143 11.16:
 * LUN 0, reserved fields zero, no data). */
static void expect_snack(uint8_t type, uint32_t itt, uint32_t ttt, uint32_t begrun,
			 uint32_t runlength, uint32_t expstatsn)
{
	struct ft_pdu p;
	uint8_t want[48] = { 0x10, (uint8_t)(0x80 | type) };

	put32(want + 16, itt);
	put32(want + 20, ttt);
	put32(want + 28, expstatsn);
	put32(want + 40, begrun);
	put32(want + 44, runlength);
	assert_true(ft_recv(&F, &p));
	assert_memory_equal(p.bhs, want, 48);
	assert_int_equal(p.dsl, 0);
}

/* The next initiator PDU is a NOP-Out ping; returns its ITT. */
static uint32_t expect_ping(void)
{
	struct ft_pdu p;

	assert_true(ft_recv(&F, &p));
	assert_int_equal(pdu_opcode(p.bhs), PDU_OP_NOP_OUT);
	assert_int_equal(ft_bhs32(&p, 20), PDU_RESERVED_TAG);    /* TTT */
	return pdu_itt(p.bhs);
}

static void expect_nothing(void)
{
	struct ft_pdu p;

	assert_false(ft_recv(&F, &p));
}

/* Flips a bit of the PDU batched so far: in its header (after the
 * digest was computed) or in its data segment. */
static void damage(size_t off)
{
	assert_true(off < F.batch_len);
	F.batch[off] ^= 0x10;
}
#define HDR_BYTE 47u
#define DATA_BYTE (48u + 4u + 100u)

static void test_data_digest_error_data_snack(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 3 * 8192);
	ft_data_in(&F, itt, 0, 0, src, 8192, 0, 0, 0);
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 1, 8192, src + 8192, 8192, 0, 0, 0);
	damage(DATA_BYTE);
	ft_batch_end(&F);
	/* The run reaches the last DataSN known: "all from 1" (LIO 6.1
	 * refuses a RunLength that names the last one exactly). */
	expect_snack(SNACK_DATA_R2T, itt, PDU_RESERVED_TAG, 1, 0, 100);
	/* The status arrives with DataSN 1 still missing: held, and
	 * not acknowledged. */
	ft_data_in(&F, itt, 2, 16384, src + 16384, 8192, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(fc.done, 0);
	assert_int_equal(ft_conn(&F)->exp_statsn, 100);
	expect_nothing();
	/* The retransmission overwrites the damaged bytes. */
	ft_data_in(&F, itt, 1, 8192, src + 8192, 8192, 0, 0, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(fc.c.res.data_in, 3 * 8192);
	assert_memory_equal(buf, src, 3 * 8192);
	assert_int_equal(ft_conn(&F)->exp_statsn, 101);
	assert_int_equal(ft_conn(&F)->e1.st.data_dropped, 1);
	assert_int_equal(ft_conn(&F)->e1.st.snack_data, 1);
	assert_int_equal(ft_conn(&F)->e1.st.recovered, 1);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_close(&F);
}

static void test_data_digest_error_in_status_pdu(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	/* The only Data-In carries the status, and its data is damaged:
	 * the status is taken from the header and held; the resent copy
	 * (the same StatSN) completes the command, once. */
	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 4096);
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	damage(DATA_BYTE);
	ft_batch_end(&F);
	expect_snack(SNACK_DATA_R2T, itt, PDU_RESERVED_TAG, 0, 0, 100);
	assert_int_equal(fc.done, 0);
	F.statsn = 100;                      /* an exact replica */
	ft_data_in(&F, itt, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(fc.c.res.data_in, 4096);
	assert_memory_equal(buf, src, 4096);
	assert_int_equal(ft_conn(&F)->exp_statsn, 101);
	/* The status asked for again by a crossing Status SNACK: dropped. */
	F.statsn = 100;
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_close(&F);
}

static void test_header_digest_error_gap(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 2 * 8192);
	/* DataSN 0's header is damaged: the PDU is skipped whole. */
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 0, 0, src, 8192, 0, 0, 0);
	damage(HDR_BYTE);
	ft_batch_end(&F);
	uint32_t ping = expect_ping();
	assert_int_equal(ft_conn(&F)->e1.st.hdr_skipped, 1);
	/* The next one shows the gap. */
	ft_data_in(&F, itt, 1, 8192, src + 8192, 8192, 0x80 | DATA_IN_STATUS, 0, 0);
	expect_snack(SNACK_DATA_R2T, itt, PDU_RESERVED_TAG, 0, 1, 100);
	assert_int_equal(fc.done, 0);
	ft_nop_in(&F, ping, PDU_RESERVED_TAG, 0);     /* StatSN 101, no gap */
	expect_nothing();
	ft_data_in(&F, itt, 0, 0, src, 8192, 0, 0, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_memory_equal(buf, src, 2 * 8192);
	assert_int_equal(ft_conn(&F)->exp_statsn, 102);
	ft_close(&F);
}

static void test_lost_status_status_snack(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	/* The only Data-In (with the status) is lost to a header digest
	 * error: nothing else of the command comes. The ping's answer
	 * shows the StatSN gap; the status comes back as a SCSI Response
	 * (LIO: ExpDataSN 0), which shows the data missing. */
	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 4096);
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	damage(HDR_BYTE);
	ft_batch_end(&F);
	uint32_t ping = expect_ping();
	ft_nop_in(&F, ping, PDU_RESERVED_TAG, 0);     /* StatSN 101: 100 is missing */
	expect_snack(SNACK_STATUS, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 100, 1, 100);
	assert_int_equal(ft_conn(&F)->e1.st.snack_status, 1);
	uint32_t next = F.statsn;
	F.statsn = 100;
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
	F.statsn = next;
	assert_int_equal(fc.done, 0);
	expect_snack(SNACK_DATA_R2T, itt, PDU_RESERVED_TAG, 0, 0, 100);
	F.statsn = 100;
	ft_data_in(&F, itt, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	F.statsn = next;
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(fc.c.res.data_in, 4096);
	assert_memory_equal(buf, src, 4096);
	assert_int_equal(ft_conn(&F)->exp_statsn, 102);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_close(&F);
}

static void test_damaged_response_status_snack(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	static const uint8_t sense[18] = { 0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24 };

	/* CHECK CONDITION with sense, its data segment damaged. */
	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 4096);
	ft_batch_begin(&F);
	ft_rsp(&F, itt, SCSI_STATUS_CHECK_CONDITION, 0, 0, sense, sizeof(sense));
	damage(48 + 4 + 5);
	ft_batch_end(&F);
	assert_int_equal(fc.done, 0);
	expect_snack(SNACK_STATUS, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 100, 1, 100);
	F.statsn = 100;
	ft_rsp(&F, itt, SCSI_STATUS_CHECK_CONDITION, 0, 0, sense, sizeof(sense));
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, -EIO);
	assert_int_equal(fc.c.res.sense_key, 0x05);
	assert_int_equal(fc.c.res.asc, 0x24);
	assert_int_equal(ft_conn(&F)->exp_statsn, 101);
	ft_close(&F);
}

static void test_dataack(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	/* No header digest here: the TTT is patched into the batch. */
	erl_params(&p, 1, false);
	uint32_t itt = open_read(&fc, &p, 2 * 8192);
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 0, 0, src, 8192, DATA_IN_ACK, 0, 0);
	put32(F.batch + 20, 0x1234);
	ft_batch_end(&F);
	expect_snack(SNACK_DATA_ACK, PDU_RESERVED_TAG, 0x1234, 1, 0, 100);
	assert_int_equal(ft_conn(&F)->e1.st.dataack, 1);
	ft_data_in(&F, itt, 1, 8192, src + 8192, 8192, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(fc.done, 1);
	assert_memory_equal(buf, src, 2 * 8192);
	ft_close(&F);
}

static void expect_dout(uint32_t itt, uint32_t ttt, uint32_t datasn, uint32_t off,
			uint32_t len, bool final, struct ft_pdu *d)
{
	assert_true(ft_recv(&F, d));
	assert_int_equal(pdu_opcode(d->bhs), PDU_OP_DATA_OUT);
	assert_int_equal(pdu_itt(d->bhs), itt);
	assert_int_equal(ft_bhs32(d, 20), ttt);
	assert_int_equal(ft_bhs32(d, 36), datasn);
	assert_int_equal(ft_bhs32(d, 40), off);
	assert_int_equal(d->dsl, len);
	assert_int_equal((d->bhs[1] & PDU_FINAL) != 0, final);
	assert_memory_equal(d->data, src + off, len);
}

static void test_reject_data_out_recovery_r2t(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd, d0, d1;

	erl_params(&p, 1, true);
	p.immediate_data = false;
	ft_open(&F, &p);
	fill_src();
	ft_submit_write(&F, &fc, src, 16384, 0);
	assert_true(ft_recv(&F, &cmd));
	uint32_t itt = pdu_itt(cmd.bhs);
	ft_r2t(&F, itt, 7, 0, 0, 16384);
	expect_dout(itt, 7, 0, 0, 8192, false, &d0);
	expect_dout(itt, 7, 1, 8192, 8192, true, &d1);
	/* LIO's order: the recovery R2T for the damaged PDU's range, then
	 * the Reject. */
	ft_r2t(&F, itt, 8, 1, 8192, 8192);
	expect_dout(itt, 8, 0, 8192, 8192, true, &d1);
	ft_reject(&F, REJECT_DIGEST_ERROR, d1.bhs);
	assert_int_equal(fc.done, 0);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	assert_int_equal(ft_conn(&F)->e1.st.recovery_r2t, 1);
	/* The test target's order: Reject first, then the R2T. */
	ft_reject(&F, REJECT_DIGEST_ERROR, d0.bhs);
	ft_r2t(&F, itt, 9, 2, 0, 8192);
	expect_dout(itt, 9, 0, 0, 8192, true, &d0);
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	expect_nothing();
	ft_close(&F);
}

/* An R2T lost on the way (its header digest failed, skipped): the
 * target's Data-Out timeout runs before our R2T SNACK and it asks again
 * with a recovery R2T of the next R2TSN. That is answered, not taken for
 * a gap; a copy of the lost R2T that comes later is dropped; the write
 * completes once, and the connection stays up. At ERL 0 the same R2TSN
 * gap closes the connection (test_erl0_stays_strict's rule). */
static void test_lost_r2t_overtaken_by_recovery_r2t(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd, d0, d1;

	erl_params(&p, 1, true);
	p.immediate_data = false;
	ft_open(&F, &p);
	fill_src();
	ft_submit_write(&F, &fc, src, 16384, 0);
	assert_true(ft_recv(&F, &cmd));
	uint32_t itt = pdu_itt(cmd.bhs);
	/* R2T 0, damaged: skipped; a ping goes to find a lost status. */
	ft_batch_begin(&F);
	ft_r2t(&F, itt, 7, 0, 0, 16384);
	damage(HDR_BYTE);
	ft_batch_end(&F);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	uint32_t ping = expect_ping();
	ft_nop_in(&F, ping, PDU_RESERVED_TAG, 0);
	/* The target's recovery R2T for the same range: R2TSN 1. */
	ft_r2t(&F, itt, 8, 1, 0, 16384);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	assert_int_equal(ft_conn(&F)->e1.st.r2t_ahead, 1);
	expect_dout(itt, 8, 0, 0, 8192, false, &d0);
	expect_dout(itt, 8, 1, 8192, 8192, true, &d1);
	assert_memory_equal(d0.data, src, 8192);
	assert_memory_equal(d1.data, src + 8192, 8192);
	/* A copy of R2T 0 (our SNACK crossed the recovery R2T): dropped. */
	ft_r2t(&F, itt, 7, 0, 0, 16384);
	expect_nothing();
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_close(&F);
}

/* The final unsolicited Data-Out was lost at the target (its header
 * damaged there): the target's recovery R2T after its Data-Out timeout
 * is answered from the caller's buffer, and the commands behind go on. */
static void test_unsolicited_final_lost_recovery_r2t(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc, fc2;
	struct ft_pdu cmd, d, cmd2;

	erl_params(&p, 1, true);
	p.initial_r2t = false;
	p.first_burst_length = 32768;
	ft_open(&F, &p);
	fill_src();
	/* Two writes at once: the one behind a write with unsolicited data
	 * is sent too (both go through the connection's queues). */
	struct ft_cmd *w[2] = { &fc, &fc2 };
	for (unsigned i = 0; i < 2; i++) {
		w[i]->v = (struct iovec){ src, i ? 4096u : 32768u };
		w[i]->done = 0;
		mcsi_prep_write(&w[i]->c, 0, i * 64u, (uint32_t)w[i]->v.iov_len / 512u,
				&w[i]->v, 1);
		w[i]->c.done = ft_done;
		w[i]->c.priv = w[i];
		assert_int_equal(mcsi_submit(F.s, &w[i]->c), 0);   /* the same turn */
	}
	assert_true(ft_recv(&F, &cmd));
	assert_int_equal(cmd.dsl, 8192);
	uint32_t itt = pdu_itt(cmd.bhs);
	assert_true(ft_recv(&F, &cmd2));
	assert_int_equal(pdu_opcode(cmd2.bhs), PDU_OP_SCSI_CMD);
	assert_int_equal(cmd2.dsl, 4096);
	expect_dout(itt, PDU_RESERVED_TAG, 0, 8192, 8192, false, &d);
	expect_dout(itt, PDU_RESERVED_TAG, 1, 16384, 8192, false, &d);
	expect_dout(itt, PDU_RESERVED_TAG, 2, 24576, 8192, true, &d);
	F.expcmdsn = 12;
	ft_rsp(&F, pdu_itt(cmd2.bhs), 0, 0, 0, NULL, 0);
	ft_r2t(&F, itt, 0x77, 0, 24576, 8192);
	expect_dout(itt, 0x77, 0, 24576, 8192, true, &d);
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(fc2.done, 1);
	expect_nothing();
	ft_close(&F);
}

static void test_reject_command_retried(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	struct ft_pdu cmd, again;

	/* Immediate data damaged: the target dropped the command; it goes
	 * again with the same ITT, CmdSN and data. */
	erl_params(&p, 1, true);
	ft_open(&F, &p);
	fill_src();
	ft_submit_write(&F, &fc, src, 4096, 0);
	assert_true(ft_recv(&F, &cmd));
	assert_int_equal(cmd.dsl, 4096);
	ft_reject(&F, REJECT_DIGEST_ERROR, cmd.bhs);
	assert_true(ft_recv(&F, &again));
	assert_int_equal(pdu_opcode(again.bhs), PDU_OP_SCSI_CMD);
	assert_int_equal(pdu_itt(again.bhs), pdu_itt(cmd.bhs));
	assert_int_equal(ft_bhs32(&again, 24), ft_bhs32(&cmd, 24));     /* CmdSN */
	assert_int_equal(again.dsl, 4096);
	assert_memory_equal(again.data, src, 4096);
	ft_rsp(&F, pdu_itt(cmd.bhs), 0, 0, 0, NULL, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_int_equal(ft_conn(&F)->e1.st.cmd_retry, 1);
	ft_close(&F);
}

/* Turns the reactor until the initiator sends a PDU or ms pass (the CmdSN
 * hole check runs on the 100 ms scan, on the real clock). */
static bool recv_within(struct ft_pdu *p, unsigned ms)
{
	for (unsigned waited = 0; waited <= ms; waited += 10) {
		if (ft_recv(&F, p))
			return true;
		usleep(10000);
	}
	return false;
}

static void test_cmdsn_hole_command_retried(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd w, r;
	struct ft_pdu cmd, rd, ping, again;

	/* The write's header arrived damaged at the target, which dropped it
	 * without a word: its CmdSN (10) stays the target's ExpCmdSN, and
	 * the read behind it (11) waits there. */
	erl_params(&p, 1, true);
	ft_open(&F, &p);
	fill_src();
	memset(buf, 0, sizeof(buf));
	ft_submit_write(&F, &w, src, 4096, 0);
	ft_submit_read(&F, &r, buf, 4096, 8);
	assert_true(ft_recv(&F, &cmd));
	assert_true(ft_recv(&F, &rd));
	assert_int_equal(ft_bhs32(&cmd, 24), 10);
	assert_int_equal(ft_bhs32(&rd, 24), 11);
	/* Half a second later a ping checks it... */
	assert_true(recv_within(&ping, 1500));
	assert_int_equal(pdu_opcode(ping.bhs), PDU_OP_NOP_OUT);
	assert_int_equal(ft_conn(&F)->e1.st.hole_pings, 1);
	/* ...whose answer still says ExpCmdSN 10: the write goes again,
	 * same ITT, CmdSN and immediate data. */
	ft_nop_in(&F, pdu_itt(ping.bhs), PDU_RESERVED_TAG, 0);
	assert_true(recv_within(&again, 500));
	assert_int_equal(pdu_opcode(again.bhs), PDU_OP_SCSI_CMD);
	assert_int_equal(pdu_itt(again.bhs), pdu_itt(cmd.bhs));
	assert_int_equal(ft_bhs32(&again, 24), 10);
	assert_int_equal(again.dsl, 4096);
	assert_memory_equal(again.data, src, 4096);
	assert_int_equal(ft_conn(&F)->e1.st.cmd_lost, 1);
	/* The hole is filled: both run, each completes once. */
	F.expcmdsn = 12;
	ft_rsp(&F, pdu_itt(cmd.bhs), 0, 0, 0, NULL, 0);
	ft_data_in(&F, pdu_itt(rd.bhs), 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(w.done, 1);
	assert_int_equal(w.c.res.err, 0);
	assert_int_equal(r.done, 1);
	assert_int_equal(r.c.res.err, 0);
	assert_memory_equal(buf, src, 4096);
	expect_nothing();
	ft_close(&F);
}

static void test_cmdsn_slow_command_one_ping(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd r;
	struct ft_pdu cmd, ping, none;

	/* A slow command: the ping's answer shows the target has it
	 * (ExpCmdSN 11); it is not sent again, and not pinged again. */
	erl_params(&p, 1, true);
	ft_open(&F, &p);
	fill_src();
	memset(buf, 0, sizeof(buf));
	ft_submit_read(&F, &r, buf, 4096, 8);
	assert_true(ft_recv(&F, &cmd));
	assert_true(recv_within(&ping, 1500));
	assert_int_equal(pdu_opcode(ping.bhs), PDU_OP_NOP_OUT);
	F.expcmdsn = 11;
	ft_nop_in(&F, pdu_itt(ping.bhs), PDU_RESERVED_TAG, 0);
	assert_false(recv_within(&none, 1000));
	assert_int_equal(ft_conn(&F)->e1.st.hole_pings, 1);
	assert_int_equal(ft_conn(&F)->e1.st.cmd_lost, 0);
	ft_data_in(&F, pdu_itt(cmd.bhs), 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(r.done, 1);
	assert_memory_equal(buf, src, 4096);
	ft_close(&F);

	/* At ERL 0 nothing of this runs (the command timeout stays). */
	erl_params(&p, 0, true);
	ft_open(&F, &p);
	ft_submit_read(&F, &r, buf, 4096, 8);
	assert_true(ft_recv(&F, &cmd));
	assert_false(recv_within(&none, 800));
	ft_close(&F);
}

/* A command re-issued with a new ITT (here after a UNIT ATTENTION): PDUs
 * the target still sends for the old ITT are dropped, the connection stays
 * up, nothing lands in the caller's buffer, and their StatSN still counts
 * (at ERL 1 no Status SNACK follows); at ERL 0 and 1. */
static void test_abandoned_itt_dropped(void **state)
{
	(void)state;
	static const uint8_t ua[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29 };
	uint8_t junk[4096];

	memset(junk, 0xee, sizeof(junk));
	for (unsigned erl = 0; erl <= 1; erl++) {
		struct iscsi_params p;
		struct ft_cmd fc;
		struct ft_pdu again;

		erl_params(&p, erl, erl == 1);
		uint32_t old = open_read(&fc, &p, 4096);
		ft_rsp(&F, old, SCSI_STATUS_CHECK_CONDITION, 0, 0, ua, sizeof(ua));
		assert_true(ft_recv(&F, &again));
		assert_int_equal(pdu_opcode(again.bhs), PDU_OP_SCSI_CMD);
		uint32_t itt = pdu_itt(again.bhs);
		assert_int_not_equal(itt, old);
		/* Late PDUs for the old ITT: data, an R2T, a status. */
		ft_data_in(&F, old, 0, 0, junk, 4096, 0, 0, 0);
		ft_r2t(&F, old, 5, 0, 0, 4096);
		ft_rsp(&F, old, 0, 0, 0, NULL, 0);
		assert_int_equal(ft_conn(&F)->state, CONN_UP);
		assert_int_equal(ft_conn(&F)->e1.st.zombie_dropped, 3);
		assert_int_equal(ft_conn(&F)->exp_statsn, 102);
		assert_int_equal(fc.done, 0);
		ft_data_in(&F, itt, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
		assert_int_equal(fc.done, 1);
		assert_int_equal(fc.c.res.err, 0);
		assert_memory_equal(buf, src, 4096);
		assert_int_equal(ft_conn(&F)->exp_statsn, 103);
		expect_nothing();
		ft_close(&F);
	}
}

static void test_two_bad_headers_close(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 3 * 8192);
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 0, 0, src, 8192, 0, 0, 0);
	damage(HDR_BYTE);
	size_t first = F.batch_len;
	ft_data_in(&F, itt, 1, 8192, src + 8192, 8192, 0, 0, 0);
	damage(first + HDR_BYTE);
	ft_batch_end(&F);
	for (int i = 0; i < 4; i++)          /* one header per receive without read-ahead */
		ft_turn(&F);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, -EBADMSG);
	ft_close(&F);
}

static void test_implausible_header_close(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	/* A damaged DataSegmentLength beyond MaxRecvDataSegmentLength: the
	 * next PDU cannot be found. */
	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 8192);
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 0, 0, src, 8192, 0, 0, 0);
	damage(5);
	ft_batch_end(&F);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	assert_int_equal(fc.c.res.err, -EBADMSG);
	ft_close(&F);
}

static void test_erl0_stays_strict(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;

	erl_params(&p, 0, true);
	uint32_t itt = open_read(&fc, &p, 8192);
	ft_batch_begin(&F);
	ft_data_in(&F, itt, 0, 0, src, 8192, 0x80 | DATA_IN_STATUS, 0, 0);
	damage(DATA_BYTE);
	ft_batch_end(&F);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, -EBADMSG);
	ft_close(&F);

	/* A DataSN gap is a defect at ERL 0. */
	itt = open_read(&fc, &p, 2 * 8192);
	ft_data_in(&F, itt, 1, 8192, src + 8192, 8192, 0, 0, 0);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	assert_int_equal(fc.c.res.err, -EPROTO);
	ft_close(&F);
}

static void test_duplicate_data_in_into_scratch(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc;
	static uint8_t junk[8192];

	/* A late copy of a PDU that arrived must not overwrite good data. */
	erl_params(&p, 1, true);
	uint32_t itt = open_read(&fc, &p, 2 * 8192);
	ft_data_in(&F, itt, 0, 0, src, 8192, 0, 0, 0);
	memset(junk, 0xee, sizeof(junk));
	ft_data_in(&F, itt, 0, 0, junk, 8192, 0, 0, 0);
	assert_int_equal(ft_conn(&F)->e1.st.dup_dropped, 1);
	ft_data_in(&F, itt, 1, 8192, src + 8192, 8192, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.data_in, 2 * 8192);
	assert_memory_equal(buf, src, 2 * 8192);
	ft_close(&F);
}

static void test_statsn_numbered_wrong(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a, b;
	static uint8_t buf2[4096];

	/* The target skips 7 StatSNs on one status, then numbers on from
	 * where it really is: the next status carries a StatSN already
	 * seen. It still completes its command (once); the gap is asked
	 * for, as nothing says it was a mistake. */
	erl_params(&p, 1, true);
	uint32_t itt = open_read(&a, &p, 4096);
	ft_submit_read(&F, &b, buf2, 4096, 16);
	struct ft_pdu cmd;
	assert_true(ft_recv(&F, &cmd));
	uint32_t itt2 = pdu_itt(cmd.bhs);
	F.statsn = 107;
	ft_data_in(&F, itt, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(a.done, 1);
	expect_snack(SNACK_STATUS, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 100, 7, 100);
	F.statsn = 107;
	ft_data_in(&F, itt2, 0, 0, src, 4096, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c.res.err, 0);
	assert_memory_equal(buf2, src, 4096);
	assert_int_equal(a.done, 1);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_digest_error_data_snack),
		cmocka_unit_test(test_data_digest_error_in_status_pdu),
		cmocka_unit_test(test_header_digest_error_gap),
		cmocka_unit_test(test_lost_status_status_snack),
		cmocka_unit_test(test_damaged_response_status_snack),
		cmocka_unit_test(test_dataack),
		cmocka_unit_test(test_reject_data_out_recovery_r2t),
		cmocka_unit_test(test_unsolicited_final_lost_recovery_r2t),
		cmocka_unit_test(test_lost_r2t_overtaken_by_recovery_r2t),
		cmocka_unit_test(test_reject_command_retried),
		cmocka_unit_test(test_cmdsn_hole_command_retried),
		cmocka_unit_test(test_cmdsn_slow_command_one_ping),
		cmocka_unit_test(test_abandoned_itt_dropped),
		cmocka_unit_test(test_two_bad_headers_close),
		cmocka_unit_test(test_implausible_header_close),
		cmocka_unit_test(test_erl0_stays_strict),
		cmocka_unit_test(test_duplicate_data_in_into_scratch),
		cmocka_unit_test(test_statsn_numbered_wrong),
	};
	return ft_run_both(tests);
}
