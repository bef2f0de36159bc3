/* SPDX-License-Identifier: MIT */
/* Session reinstatement over the fake transport, with the test standing in
 * for the login thread (sess_rec_post_login / _give_up): a lost connection
 * holds its commands (nothing completes, a write included), they wait in
 * the backlog in their CmdSN order with new submissions behind them, the
 * new connection gets them all again with new ITTs and the new session's
 * CmdSNs; giving up fails them with -ETIMEDOUT and new ones with
 * -ENOTCONN; a session lost again and again without completing anything
 * is not reinstated for ever; a protocol violation is not recovered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ft.h"
#include "mcs/sess_rec.h"
#include "mcs/sess_sm.h"
#include "mcs/sess_desc.h"

static struct ft F;
static uint8_t buf[8192];

static void open_rec(void)
{
	struct iscsi_params p;

	ft_default_params(&p);
	ft_open(&F, &p);
	ft_attach_rec(&F);
}

static void post_login(uint32_t cmdsn, uint16_t tsih)
{
	struct sess_handoff h;

	memset(&h, 0, sizeof(h));
	h.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	h.params = F.p;
	h.cid = 0;
	h.tsih = tsih;
	h.cmdsn = h.expcmdsn = cmdsn;
	h.maxcmdsn = cmdsn + 31;
	h.expstatsn = 500;
	strcpy(h.peer, "127.0.0.1:3260");
	F.statsn = 500;
	F.expcmdsn = cmdsn;
	F.maxcmdsn = cmdsn + 31;
	ft_rx_forget_all(&F);
	sess_rec_post_login(F.s, &h);
	ft_turn(&F);
}

static void lose_connection(void)
{
	xport_fake_close(ft_xc(&F), 0);
	ft_turn(&F);
}

static void test_hold_and_reissue(void **state)
{
	(void)state;
	struct ft_cmd a, b, w, late;
	struct ft_pdu pdu;
	uint8_t wbuf[4096];

	open_rec();
	assert_int_equal(sess_sm_state(F.s), ERL_Q3_LOGGED_IN);      /* N1 */
	memset(wbuf, 0x5a, sizeof(wbuf));
	ft_submit_read(&F, &a, buf, 512, 0);
	ft_submit_read(&F, &b, buf + 512, 512, 1);
	ft_submit_write(&F, &w, wbuf, sizeof(wbuf), 8);
	uint32_t old_itt[3];
	for (int i = 0; i < 3; i++) {
		assert_true(ft_recv(&F, &pdu));
		old_itt[i] = ft_bhs32(&pdu, 16);
		assert_int_equal(ft_bhs32(&pdu, 24), 10u + (uint32_t)i);   /* CmdSN */
	}
	lose_connection();
	assert_int_equal(atomic_load(&F.s->state), SESS_RECOVERING);
	assert_int_equal(sess_sm_state(F.s), ERL_Q4_FAILED);         /* N3 */
	assert_true(ft_saw(&F, MCSI_EV_SESSION_LOST));
	/* Held: nothing completes, not even the write without its status. */
	assert_int_equal(a.done + b.done + w.done, 0);
	/* Accepted while recovering; waits behind the held ones. */
	ft_submit_read(&F, &late, buf + 1024, 512, 2);
	assert_int_equal(late.done, 0);

	post_login(1000, 7);
	assert_int_equal(atomic_load(&F.s->state), SESS_LIVE);
	assert_int_equal(sess_sm_state(F.s), ERL_Q3_LOGGED_IN);      /* N4, N1 */
	assert_true(ft_saw(&F, MCSI_EV_SESSION_REINSTATED));
	assert_int_equal(F.s->tsih, 7);
	/* Re-issued whole, in the old order, as new commands: new ITTs, the
	 * new session's CmdSNs; then the one submitted meanwhile. */
	struct ft_cmd *order[] = { &a, &b, &w, &late };
	uint32_t itt[4];
	for (int i = 0; i < 4; i++) {
		assert_true(ft_recv(&F, &pdu));
		assert_int_equal(pdu.bhs[0] & 0x3f, PDU_OP_SCSI_CMD);
		itt[i] = ft_bhs32(&pdu, 16);
		assert_int_equal(ft_bhs32(&pdu, 24), 1000u + (uint32_t)i);
		if (i < 3)
			assert_int_not_equal(itt[i], old_itt[i]);
		/* LBA in the CDB (bytes 2-5 of READ/WRITE(10)). */
		uint32_t lba = (uint32_t)pdu.bhs[34] << 24 | (uint32_t)pdu.bhs[35] << 16 |
			       (uint32_t)pdu.bhs[36] << 8 | pdu.bhs[37];
		assert_int_equal(lba, i == 2 ? 8u : i == 3 ? 2u : (uint32_t)i);
		if (i == 2) {
			/* The write again with its immediate data. */
			assert_true(pdu.dsl > 0);
			assert_memory_equal(pdu.data, wbuf, pdu.dsl);
		}
	}
	for (int i = 0; i < 4; i++)
		ft_rsp(&F, itt[i], 0, 0, 0, NULL, 0);
	ft_turn(&F);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(order[i]->done, 1);
		assert_int_equal(order[i]->c.res.err, 0);
	}
	ft_close(&F);
}

static void test_give_up(void **state)
{
	(void)state;
	struct ft_cmd a;

	open_rec();
	ft_submit_read(&F, &a, buf, 512, 0);
	lose_connection();
	assert_int_equal(a.done, 0);
	sess_rec_post_give_up(F.s, -ETIMEDOUT, "not reinstated within the replacement timeout");
	ft_turn(&F);
	assert_int_equal(sess_sm_state(F.s), ERL_Q4_FAILED);         /* stays, I/O fails */
	assert_int_equal(atomic_load(&F.s->state), SESS_FAILED);
	assert_true(ft_saw(&F, MCSI_EV_SESSION_FAILED));
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, -ETIMEDOUT);
	assert_non_null(strstr(F.s->err, "given up: not reinstated"));
	assert_int_equal(mcsi_submit(F.s, &a.c), -ENOTCONN);
	ft_close(&F);
}

static void test_fruitless_and_protocol(void **state)
{
	(void)state;
	struct ft_cmd a;

	/* Lost, reinstated, lost again before anything completed: three
	 * times is the limit, the fourth loss fails the session. */
	open_rec();
	ft_submit_read(&F, &a, buf, 512, 0);
	for (unsigned k = 0; k < SESS_REC_MAX_FRUITLESS; k++) {
		lose_connection();
		assert_int_equal(atomic_load(&F.s->state), SESS_RECOVERING);
		assert_int_equal(a.done, 0);
		post_login(2000 + 100 * k, (uint16_t)(10 + k));
		assert_int_equal(atomic_load(&F.s->state), SESS_LIVE);
	}
	lose_connection();
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, -ECONNRESET);
	assert_int_equal(atomic_load(&F.s->state), SESS_FAILED);
	ft_close(&F);

	/* A malformed PDU is the target's defect: no reinstatement. */
	open_rec();
	ft_submit_read(&F, &a, buf, 512, 0);
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_LOGIN_RSP, 0x80 };
	ft_inject(&F, h, NULL, 0);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.c.res.err, -EPROTO);
	assert_int_equal(atomic_load(&F.s->state), SESS_FAILED);
	assert_false(ft_saw(&F, MCSI_EV_SESSION_LOST));
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_and_reissue),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_fruitless_and_protocol),
	};
	return ft_run_both(tests);
}
