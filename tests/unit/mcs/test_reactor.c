/* SPDX-License-Identifier: MIT */
/* Session services over the fake transport: the CmdSN window closed and
 * reopened, NOP exchanges both ways, keepalive timeout, async events,
 * Reject, command timeout escalating to ABORT TASK and LUN RESET, TMF
 * responses, logout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include "ft.h"

static struct ft F;
static uint8_t buf[8192];

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_window_closed_and_reopened(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a, b;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open(&F, &p);
	/* Window [10, 10]: one command may go. */
	F.s->window = (uint64_t)10 << 32 | 10;
	ft_submit_read(&F, &a, buf, 512, 0);
	ft_submit_read(&F, &b, buf + 512, 512, 1);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(ft_bhs32(&pdu, 24), 10);
	assert_false(ft_recv(&F, &pdu));          /* CmdSN 11 waits */
	/* A stale or invalid window update changes nothing. */
	F.expcmdsn = 12;
	F.maxcmdsn = 9;                            /* MaxCmdSN < ExpCmdSN - 1 */
	ft_nop_in(&F, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0);
	assert_false(ft_recv(&F, &pdu));
	/* Reopened by any target PDU. */
	F.expcmdsn = 11;
	F.maxcmdsn = 11;
	ft_nop_in(&F, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(ft_bhs32(&pdu, 24), 11);
	ft_close(&F);
}

static void test_window_reopened_by_response(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a, b;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open(&F, &p);
	F.s->window = (uint64_t)10 << 32 | 10;
	ft_submit_read(&F, &a, buf, 512, 0);
	ft_submit_read(&F, &b, buf + 512, 512, 1);
	assert_true(ft_recv(&F, &pdu));
	uint32_t itt = pdu_itt(pdu.bhs);
	assert_false(ft_recv(&F, &pdu));
	F.expcmdsn = 11;
	F.maxcmdsn = 11;
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
	assert_int_equal(a.done, 1);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(ft_bhs32(&pdu, 24), 11);
	ft_close(&F);
}

static void test_target_nop_answered(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open(&F, &p);
	ft_nop_in(&F, PDU_RESERVED_TAG, 0xabcd, 3);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_NOP_OUT);
	assert_true(pdu_is_immediate(pdu.bhs));
	assert_int_equal(pdu_itt(pdu.bhs), PDU_RESERVED_TAG);
	assert_int_equal(ft_bhs32(&pdu, 20), 0xabcd);
	assert_int_equal(pdu_lun_decode(pdu.bhs + 8), 3);
	assert_int_equal(ft_bhs32(&pdu, 24), 10);   /* CmdSN not advanced */
	/* A NOP-In with both tags reserved needs no answer. */
	ft_nop_in(&F, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0);
	assert_false(ft_recv(&F, &pdu));
	ft_close(&F);
}

static void test_keepalive_ping_and_dead_peer(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open_cfg(&F, &p, 0, 1, 50);
	sleep_ms(120);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_NOP_OUT);
	assert_int_not_equal(pdu_itt(pdu.bhs), PDU_RESERVED_TAG);
	assert_int_equal(ft_bhs32(&pdu, 20), PDU_RESERVED_TAG);
	ft_nop_in(&F, pdu_itt(pdu.bhs), PDU_RESERVED_TAG, 0);   /* answered */
	assert_null(ft_conn(&F)->ping);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	/* Next ping goes unanswered: the connection is declared dead. */
	for (int i = 0; i < 10 && ft_conn(&F)->state == CONN_UP; i++) {
		sleep_ms(60);
		ft_turn(&F);
	}
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	assert_non_null(strstr(mcsi_last_error(F.s), "NOP-Out ping"));
	ft_close(&F);
}

/* MC/S keepalive: while a command is in flight on one connection, no
 * connection of the session is pinged, however long it has been idle
 * (istgt drops an immediate NOP-Out whose CmdSN is not its ExpCmdSN); once
 * the session is idle, scans ping every connection again. */
static void test_mcs_keepalive_waits_for_idle_session(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_pdu pdu;
	struct ft_cmd fc;

	ft_default_params(&p);
	p.max_connections = 4;
	ft_open_cfg(&F, &p, 0, 50, 5000);      /* ping after 50 ms idle */
	ft_add_conn(&F, &p, 2, 41);
	struct conn *a = ft_conn_cid(&F, 1, true), *b = ft_conn_cid(&F, 2, true);
	assert_non_null(a);
	assert_non_null(b);
	ft_submit_read(&F, &fc, buf, 4096, 0);
	struct conn *busy = ft_recv_on(&F, a, &pdu) ? a : ft_recv_on(&F, b, &pdu) ? b : NULL;
	assert_non_null(busy);
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
	uint32_t itt = pdu_itt(pdu.bhs);
	struct conn *other = busy == a ? b : a;
	for (int i = 0; i < 3; i++) {                /* scans every 100 ms */
		sleep_ms(110);
		assert_false(ft_recv_on(&F, other, &pdu));
		assert_false(ft_recv_on(&F, busy, &pdu));
	}
	assert_null(other->ping);
	assert_null(busy->ping);
	ft_on(&F, busy);
	ft_data_in(&F, itt, 0, 0, buf, 4096, 0x81, 0, 0);
	assert_int_equal(fc.done, 1);
	sleep_ms(110);
	struct conn *both[2] = { other, busy };
	for (int i = 0; i < 2; i++) {
		assert_true(ft_recv_on(&F, both[i], &pdu));
		assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_NOP_OUT);
		assert_int_not_equal(pdu_itt(pdu.bhs), PDU_RESERVED_TAG);
		assert_non_null(both[i]->ping);
		ft_on(&F, both[i]);
		ft_nop_in(&F, pdu_itt(pdu.bhs), PDU_RESERVED_TAG, 0);
		assert_null(both[i]->ping);
	}
	ft_on(&F, NULL);
	ft_close(&F);
}

static void test_async_events(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a;
	uint8_t sense[18] = { 0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x3f, 0x0e };

	ft_default_params(&p);
	ft_open(&F, &p);
	ft_async(&F, ASYNC_SCSI_EVENT, 0, sense, sizeof(sense));
	assert_int_equal(F.events[0], MCSI_EV_SCSI_EVENT);
	assert_int_equal(F.last_ev.sense_len, 18);
	ft_async(&F, ASYNC_VENDOR, 0, NULL, 0);   /* vendor-specific: ignored */
	assert_int_equal(F.nevents, 1);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	assert_int_equal(ft_conn(&F)->exp_statsn, 102);
	ft_submit_read(&F, &a, buf, 512, 0);
	ft_async(&F, ASYNC_CONN_DROP, 0, NULL, 0);
	assert_int_equal(F.events[1], MCSI_EV_CONN_DROP);
	assert_int_equal(F.events[2], MCSI_EV_CONN_FAILED);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, -ECONNRESET);
	ft_close(&F);
}

/* Async event 1: the connection drains (no new command), logs out when its
 * last command is answered, and the session ends cleanly. */
static void test_async_logout_requested(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a, b;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open(&F, &p);
	ft_submit_read(&F, &a, buf, 512, 0);
	assert_true(ft_recv(&F, &pdu));
	uint32_t itt = pdu_itt(pdu.bhs);
	ft_async(&F, ASYNC_LOGOUT_REQUEST, 20, NULL, 0);
	assert_int_equal(F.events[0], MCSI_EV_LOGOUT_REQUESTED);
	assert_int_equal(F.last_ev.param[2], 20);
	assert_int_equal(ft_conn(&F)->state, CONN_DRAIN);
	ft_submit_read(&F, &b, buf + 512, 512, 1);    /* no connection for it */
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c.res.err, -ENOTCONN);
	assert_false(ft_recv(&F, &pdu));              /* nothing before the answer */
	ft_data_in(&F, itt, 0, 0, buf, 512, 0x80 | DATA_IN_STATUS, 0, 0);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, 0);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_LOGOUT_REQ);
	assert_int_equal(pdu.bhs[1] & 0x7f, LOGOUT_CLOSE_SESSION);
	ft_simple_rsp(&F, PDU_OP_LOGOUT_RSP, pdu_itt(pdu.bhs), LOGOUT_RSP_OK);
	assert_int_equal(ft_conn(&F)->state, CONN_CLOSED);
	assert_int_equal(atomic_load(&F.s->state), SESS_CLOSED);
	assert_int_equal(mcsi_submit(F.s, &b.c), -ENOTCONN);
	ft_close(&F);
}

/* ... and logs out at the target's deadline even with commands left,
 * which then fail. */
static void test_async_logout_deadline(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open(&F, &p);
	ft_submit_read(&F, &a, buf, 512, 0);
	assert_true(ft_recv(&F, &pdu));
	ft_async(&F, ASYNC_LOGOUT_REQUEST, 1, NULL, 0);
	assert_false(ft_recv(&F, &pdu));
	sleep_ms(1100);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_LOGOUT_REQ);
	ft_simple_rsp(&F, PDU_OP_LOGOUT_RSP, pdu_itt(pdu.bhs), LOGOUT_RSP_OK);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, -ECANCELED);
	ft_close(&F);
}

/* Async event 4: an empty Text Request (a command: it takes a CmdSN),
 * continued with the target's TTT until its final response; a declared
 * MaxRecvDataSegmentLength limits immediate data from then on. */
static void test_async_renegotiate(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd w;
	struct ft_pdu pdu;
	static const char mrdsl[] = "MaxRecvDataSegmentLength=16384";
	static const char other[] = "X-vendor=1";
	static uint8_t wbuf[32768];

	ft_default_params(&p);
	ft_open(&F, &p);
	ft_async(&F, ASYNC_RENEGOTIATE, 0, NULL, 0);
	assert_int_equal(F.events[0], MCSI_EV_RENEGOTIATE);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_TEXT_REQ);
	assert_int_equal(pdu.bhs[1] & 0xc0, 0x80);           /* F, not C */
	assert_int_equal(ft_bhs32(&pdu, 20), PDU_RESERVED_TAG);   /* TTT */
	assert_int_equal(ft_bhs32(&pdu, 24), 10);            /* CmdSN */
	assert_int_equal(pdu.dsl, 0);
	uint32_t itt = pdu_itt(pdu.bhs);
	ft_text_rsp(&F, itt, 0x77, false, mrdsl, sizeof(mrdsl));
	assert_int_equal(ft_conn(&F)->params.max_xmit_dsl, 16384);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_TEXT_REQ);
	assert_int_equal(pdu_itt(pdu.bhs), itt);             /* same exchange */
	assert_int_equal(ft_bhs32(&pdu, 20), 0x77);
	assert_int_equal(ft_bhs32(&pdu, 24), 11);
	ft_text_rsp(&F, itt, PDU_RESERVED_TAG, true, other, sizeof(other));
	assert_null(ft_conn(&F)->text);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_submit_write(&F, &w, wbuf, sizeof(wbuf), 0);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
	assert_int_equal(pdu.dsl, 16384);
	assert_int_equal(ft_bhs32(&pdu, 24), 12);
	/* A Text Response nobody asked for breaks the protocol. */
	ft_text_rsp(&F, itt, PDU_RESERVED_TAG, true, NULL, 0);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	ft_close(&F);
}

static void test_reject_command(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open(&F, &p);
	ft_submit_read(&F, &a, buf, 512, 0);
	assert_true(ft_recv(&F, &pdu));
	ft_reject(&F, REJECT_CMD_NOT_SUPPORTED, pdu.bhs);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, -EOPNOTSUPP);
	assert_int_equal(F.events[0], MCSI_EV_REJECT);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_close(&F);
}

static void test_timeout_abort_then_lun_reset(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd a, b;
	struct ft_pdu pdu, tmf;

	ft_default_params(&p);
	ft_open_cfg(&F, &p, 30, 0, 0);
	ft_submit_read(&F, &a, buf, 512, 5);
	assert_true(ft_recv(&F, &pdu));
	uint32_t itt = pdu_itt(pdu.bhs);
	sleep_ms(150);
	assert_true(ft_recv(&F, &tmf));
	assert_int_equal(pdu_opcode(tmf.bhs), PDU_OP_TMF_REQ);
	assert_int_equal(tmf.bhs[1] & 0x7f, TMF_ABORT_TASK);
	assert_int_equal(ft_bhs32(&tmf, 20), itt);            /* RTT */
	assert_int_equal(ft_bhs32(&tmf, 32), 10);             /* RefCmdSN */
	ft_simple_rsp(&F, PDU_OP_TMF_RSP, pdu_itt(tmf.bhs), TMF_RSP_COMPLETE);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, -ETIMEDOUT);

	/* The abort is refused: escalate to LUN RESET, which ends every
	 * command of the LUN. */
	ft_submit_read(&F, &b, buf, 512, 6);
	assert_true(ft_recv(&F, &pdu));
	sleep_ms(150);
	assert_true(ft_recv(&F, &tmf));
	ft_simple_rsp(&F, PDU_OP_TMF_RSP, pdu_itt(tmf.bhs), TMF_RSP_REJECTED);
	assert_true(ft_recv(&F, &tmf));
	assert_int_equal(tmf.bhs[1] & 0x7f, TMF_LUN_RESET);
	assert_int_equal(b.done, 0);
	ft_simple_rsp(&F, PDU_OP_TMF_RSP, pdu_itt(tmf.bhs), TMF_RSP_COMPLETE);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.c.res.err, -ETIMEDOUT);
	assert_int_equal(ft_conn(&F)->state, CONN_UP);
	ft_close(&F);
}

static int tmf_result = 1;
static void tmf_done(struct task *t, int err)
{
	tmf_result = err ? err : t->tmf_response;
}

static void test_tmf_responses(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_pdu tmf;
	static const uint8_t codes[] = { TMF_RSP_COMPLETE, TMF_RSP_NO_LUN,
					 TMF_RSP_NOT_SUPPORTED, TMF_RSP_AUTH_FAILED };

	ft_default_params(&p);
	ft_open(&F, &p);
	for (unsigned i = 0; i < sizeof(codes); i++) {
		tmf_result = -1000;
		assert_int_equal(reactor_tmf(F.s->q[0], ft_conn(&F), TMF_TARGET_WARM_RESET,
					     0, NULL, tmf_done, NULL), 0);
		assert_true(ft_recv(&F, &tmf));
		assert_true(pdu_is_immediate(tmf.bhs));
		assert_int_equal(tmf.bhs[1] & 0x7f, TMF_TARGET_WARM_RESET);
		ft_simple_rsp(&F, PDU_OP_TMF_RSP, pdu_itt(tmf.bhs), codes[i]);
		assert_int_equal(tmf_result, codes[i]);
	}
	/* A response for a TMF that does not exist closes the connection. */
	ft_simple_rsp(&F, PDU_OP_TMF_RSP, 0x77, 0);
	assert_int_equal(ft_conn(&F)->state, CONN_FAILED);
	ft_close(&F);
}

static void test_logout(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_pdu pdu;

	ft_default_params(&p);
	ft_open(&F, &p);
	tmf_result = -1000;
	assert_int_equal(reactor_logout(F.s->q[0], ft_conn(&F), LOGOUT_CLOSE_SESSION,
					tmf_done, NULL), 0);
	assert_true(ft_recv(&F, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_LOGOUT_REQ);
	assert_int_equal(pdu.bhs[1] & 0x7f, LOGOUT_CLOSE_SESSION);
	assert_int_equal(ft_bhs32(&pdu, 28), 100);
	ft_simple_rsp(&F, PDU_OP_LOGOUT_RSP, pdu_itt(pdu.bhs), LOGOUT_RSP_OK);
	assert_int_equal(tmf_result, 0);
	assert_int_equal(ft_conn(&F)->state, CONN_CLOSED);
	assert_int_equal(F.nevents, 0);           /* a clean close, no failure */
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_closed_and_reopened),
		cmocka_unit_test(test_window_reopened_by_response),
		cmocka_unit_test(test_target_nop_answered),
		cmocka_unit_test(test_keepalive_ping_and_dead_peer),
		cmocka_unit_test(test_mcs_keepalive_waits_for_idle_session),
		cmocka_unit_test(test_async_events),
		cmocka_unit_test(test_async_logout_requested),
		cmocka_unit_test(test_async_logout_deadline),
		cmocka_unit_test(test_async_renegotiate),
		cmocka_unit_test(test_reject_command),
		cmocka_unit_test(test_timeout_abort_then_lun_reset),
		cmocka_unit_test(test_tmf_responses),
		cmocka_unit_test(test_logout),
	};
	return ft_run_both(tests);
}
