/* SPDX-License-Identifier: MIT */
/*
 * Task-set TMFs in a session of two connections (mcs/reactor_tmf.c), on
 * the fake transport in application mode: a LUN RESET sent on connection
 * 1 ends connection 1's affected commands when its response arrives;
 * connection 2's end only after its fence (NOP-Out ping, NOP-In), so that
 * a response the target sent there first is still taken; a command sent
 * after the TMF (higher CmdSN) is not touched; every command completes
 * exactly once with the right error, and the fence request completes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ft.h"
#include "mcs/sess_mcs.h"

static struct ft F;
static uint8_t buf[8][4096];
/* CIDs 1 and 2 on one reactor. */
static void open_two(void)
{
	struct iscsi_params p;

	ft_default_params(&p);
	p.max_connections = 2;
	ft_open(&F, &p);
	ft_add_conn(&F, &p, 2, 41);
}

static void rsp_on(struct conn *c, uint32_t itt)
{
	ft_on(&F, c);
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
}

static void nop_answer_on(struct conn *c, uint32_t itt)
{
	ft_on(&F, c);
	ft_nop_in(&F, itt, PDU_RESERVED_TAG, 0);
}

static void count_done(struct mcsi_cmd *cmd, void *priv)
{
	(void)cmd;
	(*(int *)priv)++;
}

static void submit_internal(struct mcsi_cmd *cmd, int *done)
{
	cmd->done = count_done;
	cmd->priv = done;
	reactor_count_submit(F.s->q[0]);
	reactor_submit(F.s->q[0], cmd);
	ft_turn(&F);
}

static void test_lun_reset_two_connections(void **state)
{
	(void)state;
	struct ft_cmd fc[5];
	struct ft_pdu pdu;
	uint32_t itt[5], sn[5];
	struct conn *on[5];

	open_two();
	struct conn *c1 = ft_conn_cid(&F, 1, false), *c2 = ft_conn_cid(&F, 2, false);
	for (unsigned i = 0; i < 4; i++)
		ft_submit_read(&F, &fc[i], buf[i], 512, i);
	unsigned n = 0;
	for (unsigned k = 0; k < 2; k++)
		while (ft_recv_on(&F, k ? c2 : c1, &pdu)) {
			struct task *t = task_lookup(&F.s->q[0]->tt, pdu_itt(pdu.bhs));
			assert_non_null(t);
			for (unsigned i = 0; i < 4; i++)
				if (t->cmd == &fc[i].c) {
					itt[i] = t->itt;
					sn[i] = t->cmdsn;
					on[i] = k ? c2 : c1;
				}
			n++;
		}
	assert_int_equal(n, 4);

	/* LUN RESET from the API path (CMD_OP_TMF): on connection 1. */
	struct mcsi_cmd tmf;
	int tmf_done = 0;
	memset(&tmf, 0, sizeof(tmf));
	tmf.lun = 0;
	cmd_priv(&tmf)->op = CMD_OP_TMF;
	cmd_priv(&tmf)->arg = TMF_LUN_RESET;
	submit_internal(&tmf, &tmf_done);
	assert_true(ft_recv_on(&F, c1, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_TMF_REQ);
	uint32_t tmf_itt = pdu_itt(pdu.bhs), tmf_sn = ft_bhs32(&pdu, 24);
	assert_int_equal(tmf_sn, 14);

	/* A read sent after the TMF: CmdSN 14, not affected. */
	ft_submit_read(&F, &fc[4], buf[4], 512, 4);
	struct task *t4 = cmd_priv(&fc[4].c)->task;
	itt[4] = t4->itt;
	on[4] = t4->conn;
	sn[4] = t4->cmdsn;
	assert_int_equal(sn[4], 14);
	while (ft_recv_on(&F, c1, &pdu) || ft_recv_on(&F, c2, &pdu))
		;

	/* The TMF Response on connection 1: its affected reads end now. */
	ft_on(&F, c1);
	ft_simple_rsp(&F, PDU_OP_TMF_RSP, tmf_itt, TMF_RSP_COMPLETE);
	assert_int_equal(tmf_done, 1);
	assert_int_equal(tmf.res.err, 0);
	assert_int_equal(cmd_priv(&tmf)->sn, 14);
	for (unsigned i = 0; i < 4; i++) {
		if (on[i] == c1) {
			assert_int_equal(fc[i].done, 1);
			assert_int_equal(fc[i].c.res.err, -ECANCELED);
		} else {
			assert_int_equal(fc[i].done, 0);       /* not before its fence */
		}
	}
	/* The target had answered one of connection 2's reads before the
	 * reset: that response arrives now and is taken, not refused. */
	int late = -1;
	for (unsigned i = 0; i < 4 && late < 0; i++)
		if (on[i] == c2)
			late = (int)i;
	assert_true(late >= 0);
	rsp_on(c2, itt[late]);
	assert_int_equal(fc[late].done, 1);
	assert_int_equal(fc[late].c.res.err, 0);
	assert_int_equal(c2->state, CONN_UP);

	/* The fence: a ping on each connection; NOP-In ends the rest. */
	struct reactor_fence f = { .lun = 0, .tmf_sn = 14 };
	struct mcsi_cmd fence;
	int fence_done = 0;
	memset(&fence, 0, sizeof(fence));
	cmd_priv(&fence)->op = CMD_OP_TMF_FENCE;
	cmd_priv(&fence)->ptr = &f;
	submit_internal(&fence, &fence_done);
	uint32_t ping[2];
	for (unsigned k = 0; k < 2; k++) {
		assert_true(ft_recv_on(&F, k ? c2 : c1, &pdu));
		assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_NOP_OUT);
		ping[k] = pdu_itt(pdu.bhs);
	}
	nop_answer_on(c1, ping[0]);
	assert_int_equal(fence_done, 0);
	nop_answer_on(c2, ping[1]);
	assert_int_equal(fence_done, 1);
	assert_int_equal(f.fenced, 2);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(fc[i].done, 1);             /* exactly once */
		if ((int)i != late)
			assert_int_equal(fc[i].c.res.err, -ECANCELED);
	}
	/* The read sent after the TMF is still open, and completes GOOD. */
	assert_int_equal(fc[4].done, 0);
	rsp_on(on[4], itt[4]);
	assert_int_equal(fc[4].done, 1);
	assert_int_equal(fc[4].c.res.err, 0);
	assert_int_equal(atomic_load(&F.s->state), SESS_LIVE);
	ft_close(&F);
}

/* A fence ping that is never answered ends at its deadline: the fence
 * request completes (mcsi_lun_reset() returns), and that connection's
 * affected command is left to its own command timeout, not ended blind. */
static void test_fence_ping_times_out(void **state)
{
	(void)state;
	struct ft_cmd fc[2];
	struct ft_pdu pdu;

	open_two();
	struct conn *c1 = ft_conn_cid(&F, 1, false), *c2 = ft_conn_cid(&F, 2, false);
	ft_submit_read(&F, &fc[0], buf[0], 512, 0);
	ft_submit_read(&F, &fc[1], buf[1], 512, 1);
	while (ft_recv_on(&F, c1, &pdu) || ft_recv_on(&F, c2, &pdu))
		;
	struct reactor_fence f = { .lun = 0, .tmf_sn = 12 };
	struct mcsi_cmd fence;
	int fence_done = 0;
	memset(&fence, 0, sizeof(fence));
	cmd_priv(&fence)->op = CMD_OP_TMF_FENCE;
	cmd_priv(&fence)->ptr = &f;
	submit_internal(&fence, &fence_done);
	uint32_t ping1 = 0;
	assert_true(ft_recv_on(&F, c1, &pdu));
	ping1 = pdu_itt(pdu.bhs);
	assert_true(ft_recv_on(&F, c2, &pdu));
	struct task *p2 = task_lookup(&F.s->q[0]->tt, pdu_itt(pdu.bhs));
	assert_non_null(p2);
	assert_true(reactor_tmf_is_fence(p2));
	nop_answer_on(c1, ping1);
	assert_int_equal(fence_done, 0);
	/* Connection 2 never answers: its ping's deadline passes. */
	p2->deadline_ns = 1;
	F.s->q[0]->next_scan = 0;
	ft_turn(&F);
	assert_int_equal(fence_done, 1);
	assert_int_equal(f.fenced, 2);
	unsigned open_reads = 0;
	for (unsigned i = 0; i < 2; i++) {
		struct task *t = cmd_priv(&fc[i].c)->task;
		if (fc[i].done == 0) {
			assert_true(t->conn == c2);  /* not ended without a fence */
			open_reads++;
		} else {
			assert_int_equal(fc[i].c.res.err, -ECANCELED);
		}
	}
	assert_int_equal(open_reads, 1);
	assert_int_equal(c2->state, CONN_UP);
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lun_reset_two_connections),
		cmocka_unit_test(test_fence_ping_times_out),
	};
	return ft_run_both(tests);
}
