/* SPDX-License-Identifier: MIT */
/*
 * MC/S on the data path (mcs/sess_mcs.c with reactor.c, conn*.c): two
 * connections of one session on the fake transport, driven in application
 * mode. One CmdSN stream over both, the window reopened by a PDU on the
 * other connection, allegiance, removal with Logout reason 1 while the
 * session stays up, async event 2 naming the other connection, and the
 * ERL 0 failure of one connection failing the session once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "ft.h"
#include "mcs/sess_mcs.h"

static struct ft F;
static uint8_t buf[8][4096];

/* ---- a second connection and per-connection I/O ------------------------- */

static struct conn *conn_of_cid(uint16_t cid)
{
	return ft_conn_cid(&F, cid, false);
}

/* Opens a session of MaxConnections 4 and adds CID 2 on the same reactor. */
static void open_two(uint32_t maxcmdsn)
{
	struct iscsi_params p;
	int slot;

	ft_default_params(&p);
	p.max_connections = 4;
	ft_open(&F, &p);
	slot = ft_add_conn(&F, &p, 2, maxcmdsn);
	assert_non_null(conn_of_cid(2));
	assert_int_equal(conn_of_cid(2)->slot, slot);
	assert_int_equal(F.events[F.nevents - 1], MCSI_EV_CONN_ADDED);
	assert_int_equal(atomic_load(&F.s->cs.nup), 2);
}

static void inject_on(struct conn *c, uint8_t *h, const void *data, uint32_t len)
{
	ft_on(&F, c);
	ft_inject(&F, h, data, len);
}

/* A SCSI Response GOOD for itt on c, with the window's values. */
static void rsp_on(struct conn *c, uint32_t itt)
{
	ft_on(&F, c);
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
}

static void nop_in_on(struct conn *c)
{
	ft_on(&F, c);
	ft_nop_in(&F, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0);
}

/* ---- tests ------------------------------------------------------------- */

/* Commands spread over both connections, and their CmdSNs form one
 * stream: every CmdSN from 10 on exactly once, whichever connection. */
static void test_one_cmdsn_stream(void **state)
{
	(void)state;
	struct ft_cmd fc[8];
	struct ft_pdu pdu;
	bool seen[8] = { false };
	unsigned per[2] = { 0, 0 };
	uint32_t itt[8];
	struct conn *cn[8];

	open_two(41);
	for (unsigned i = 0; i < 8; i++)
		ft_submit_read(&F, &fc[i], buf[i], 512, i);
	unsigned got = 0;
	for (unsigned k = 0; k < 2; k++) {
		struct conn *c = conn_of_cid((uint16_t)(k + 1));
		while (ft_recv_on(&F, c, &pdu)) {
			assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
			uint32_t sn = ft_bhs32(&pdu, 24);
			assert_true(sn >= 10 && sn < 18);
			assert_false(seen[sn - 10]);
			seen[sn - 10] = true;
			itt[got] = pdu_itt(pdu.bhs);
			cn[got++] = c;
			per[k]++;
		}
	}
	assert_int_equal(got, 8);
	/* Least queue depth over two equal connections: an even spread. */
	assert_int_equal(per[0], 4);
	assert_int_equal(per[1], 4);
	for (unsigned i = 0; i < got; i++)
		rsp_on(cn[i], itt[i]);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(fc[i].done, 1);
		assert_int_equal(fc[i].c.res.err, 0);
	}
	struct mcsi_conn_stats cs[4];
	assert_int_equal(mcsi_get_conn_stats(F.s, cs, 4), 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(cs[i].commands, 4);
		assert_int_equal(cs[i].lat_count, 4);
		assert_int_equal(cs[i].depth, 0);
	}
	assert_string_equal(cs[0].portal, "");       /* no sess_mcs_create() here */
	ft_close(&F);
}

/* The window is closed; a NOP-In on the other connection opens it and the
 * waiting command goes out on its own connection. */
static void test_window_opened_by_other_connection(void **state)
{
	(void)state;
	struct ft_cmd a, b;
	struct ft_pdu pdu;

	open_two(41);
	/* Close the window: MaxCmdSN stays 41, take CmdSNs up to it. */
	atomic_store(&F.s->cmdsn, 42);
	ft_submit_read(&F, &a, buf[0], 512, 0);
	ft_submit_read(&F, &b, buf[1], 512, 1);
	assert_false(ft_recv_on(&F, conn_of_cid(1), &pdu));
	assert_false(ft_recv_on(&F, conn_of_cid(2), &pdu));
	assert_true(F.s->q[0]->window_waiters);
	/* MaxCmdSN 43 arrives on connection 2 (whichever holds a). */
	F.maxcmdsn = 43;
	nop_in_on(conn_of_cid(2));
	unsigned sent = 0;
	for (uint16_t cid = 1; cid <= 2; cid++)
		while (ft_recv_on(&F, conn_of_cid(cid), &pdu)) {
			assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
			sent++;
		}
	assert_int_equal(sent, 2);
	ft_close(&F);
}

/* A Data-In for a task of connection 1 arriving on connection 2 is a
 * protocol error on 2; at ERL 0 the session fails, every command with it,
 * and MCSI_EV_SESSION_FAILED comes once. */
static void test_allegiance_and_erl0_failure(void **state)
{
	(void)state;
	struct ft_cmd a, b;
	struct ft_pdu pdu;

	open_two(41);
	ft_submit_read(&F, &a, buf[0], 512, 0);
	ft_submit_read(&F, &b, buf[1], 512, 1);
	struct conn *c1 = conn_of_cid(1), *c2 = conn_of_cid(2);
	assert_true(ft_recv_on(&F, c1, &pdu) || ft_recv_on(&F, c2, &pdu));
	struct conn *owner = cmd_priv(&a.c)->task ? cmd_priv(&a.c)->task->conn : NULL;
	assert_non_null(owner);
	struct conn *other = owner == c1 ? c2 : c1;
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_DATA_IN, 0 };
	struct bhs_data_in *d = (void *)h;
	pdu_put32(&d->din_itt, ((struct task *)cmd_priv(&a.c)->task)->itt);
	pdu_put32(&d->din_ttt, PDU_RESERVED_TAG);
	ft_stamp(&F, h, false);
	inject_on(other, h, buf[2], 512);
	assert_int_equal(other->state, CONN_FAILED);
	assert_int_equal(owner->state, CONN_FAILED);      /* dropped with the session */
	assert_int_equal(atomic_load(&F.s->state), SESS_FAILED);
	assert_int_equal(a.done, 1);
	assert_int_equal(b.done, 1);
	assert_int_not_equal(a.c.res.err, 0);
	assert_int_not_equal(b.c.res.err, 0);
	unsigned failed = 0;
	for (unsigned i = 0; i < F.nevents; i++)
		failed += F.events[i] == MCSI_EV_SESSION_FAILED;
	assert_int_equal(failed, 1);
	assert_non_null(strstr(mcsi_last_error(F.s), "ErrorRecoveryLevel 0"));
	struct ft_cmd c;
	c.v = (struct iovec){ buf[3], 512 };
	mcsi_prep_read(&c.c, 0, 0, 1, &c.v, 1);
	c.c.done = ft_done;
	assert_int_equal(mcsi_submit(F.s, &c.c), -ENOTCONN);
	ft_close(&F);
}

static void drop_done(struct mcsi_cmd *cmd, void *priv)
{
	(void)cmd;
	(*(int *)priv)++;
}

/* Asks queue 0's reactor to remove the connection in slot, as
 * sess_remove_conn() does; *dropped counts the answers. */
static void ask_drop(struct mcsi_cmd *drop, int slot, int *dropped)
{
	memset(drop, 0, sizeof(*drop));
	cmd_priv(drop)->op = CMD_OP_DROP_CONN;
	cmd_priv(drop)->arg = (uint32_t)slot;
	drop->done = drop_done;
	drop->priv = dropped;
	reactor_count_submit(F.s->q[0]);
	reactor_submit(F.s->q[0], drop);
	ft_turn(&F);
}

/* Removal: the command in flight on the leaving connection finishes
 * first, a queued one moves to the other connection, then Logout reason 1
 * for its CID goes out on it; the session stays up. */
static void test_remove_connection(void **state)
{
	(void)state;
	struct ft_cmd a, b;
	struct ft_pdu pdu;

	open_two(41);
	struct conn *c2 = conn_of_cid(2);
	int slot2 = c2->slot;
	/* One command on connection 2 (depth makes the second go there). */
	ft_submit_read(&F, &a, buf[0], 512, 0);
	ft_submit_read(&F, &b, buf[1], 512, 1);
	struct ft_cmd *on2 = ((struct task *)cmd_priv(&a.c)->task)->conn == c2 ? &a : &b;
	struct ft_cmd *on1 = on2 == &a ? &b : &a;
	uint32_t itt2 = ((struct task *)cmd_priv(&on2->c)->task)->itt;
	uint32_t itt1 = ((struct task *)cmd_priv(&on1->c)->task)->itt;
	while (ft_recv_on(&F, c2, &pdu) || ft_recv_on(&F, conn_of_cid(1), &pdu))
		;
	struct mcsi_cmd drop;
	int dropped = 0;
	ask_drop(&drop, slot2, &dropped);
	assert_false(cset_usable(&F.s->cs, slot2));
	/* No logout while its command is in flight. */
	assert_false(ft_recv_on(&F, c2, &pdu));
	rsp_on(c2, itt2);
	assert_int_equal(on2->done, 1);
	assert_true(ft_recv_on(&F, c2, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_LOGOUT_REQ);
	assert_int_equal(pdu.bhs[1] & 0x7f, LOGOUT_CLOSE_CONNECTION);
	assert_int_equal(pdu.bhs[20] << 8 | pdu.bhs[21], 2);          /* CID */
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_LOGOUT_RSP, 0x80 };
	struct bhs_logout_rsp *r = (void *)h;
	pdu_put32(&r->lgor_itt, pdu_itt(pdu.bhs));
	ft_stamp(&F, h, true);
	inject_on(c2, h, NULL, 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(drop.res.err, 0);
	assert_null(conn_of_cid(2));                     /* reaped */
	assert_int_equal(F.events[F.nevents - 1], MCSI_EV_CONN_REMOVED);
	assert_int_equal(atomic_load(&F.s->state), SESS_LIVE);
	assert_int_equal(cset_find(&F.s->cs, 2), -ENOENT);
	/* The session goes on over connection 1. */
	rsp_on(conn_of_cid(1), itt1);
	assert_int_equal(on1->done, 1);
	struct ft_cmd c;
	ft_submit_read(&F, &c, buf[2], 512, 2);
	assert_true(ft_recv_on(&F, conn_of_cid(1), &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
	rsp_on(conn_of_cid(1), pdu_itt(pdu.bhs));
	assert_int_equal(c.done, 1);
	assert_int_equal(c.c.res.err, 0);
	/* The last connection cannot leave alone. */
	assert_int_equal(sess_remove_conn(F.s, 1), -EBUSY);
	ft_close(&F);
}

/* The target closes the leaving connection without its Logout Response
 * (istgt 0.4's sender thread can lose that race) while nothing is in
 * flight on it: the removal is done, the session goes on, and no
 * connection failure is reported. The same end of stream before the
 * Logout went out is a failure, as any other. */
static bool saw_event(int type)
{
	for (unsigned i = 0; i < F.nevents; i++)
		if (F.events[i] == type)
			return true;
	return false;
}

static void test_removal_logout_unanswered(void **state)
{
	(void)state;
	struct ft_pdu pdu;

	open_two(41);
	struct conn *c2 = conn_of_cid(2);
	int slot2 = c2->slot;
	struct mcsi_cmd drop;
	int dropped = 0;
	ask_drop(&drop, slot2, &dropped);
	assert_true(ft_recv_on(&F, c2, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_LOGOUT_REQ);
	assert_int_equal(dropped, 0);
	xport_fake_close(&c2->xc, 0);                   /* FIN, no response */
	ft_turn(&F);
	assert_int_equal(dropped, 1);
	assert_int_equal(drop.res.err, 0);
	assert_false(saw_event(MCSI_EV_CONN_FAILED));
	assert_int_equal(F.events[F.nevents - 1], MCSI_EV_CONN_REMOVED);
	assert_null(conn_of_cid(2));
	assert_int_equal(atomic_load(&F.s->state), SESS_LIVE);
	struct ft_cmd c;
	ft_submit_read(&F, &c, buf[0], 512, 0);
	assert_true(ft_recv_on(&F, conn_of_cid(1), &pdu));
	rsp_on(conn_of_cid(1), pdu_itt(pdu.bhs));
	assert_int_equal(c.done, 1);
	assert_int_equal(c.c.res.err, 0);
	ft_close(&F);

	/* A command in flight on it: the end of stream is a failure. */
	open_two(41);
	c2 = conn_of_cid(2);
	struct ft_cmd a, b;
	ft_submit_read(&F, &a, buf[0], 512, 0);
	ft_submit_read(&F, &b, buf[1], 512, 1);
	while (ft_recv_on(&F, c2, &pdu) || ft_recv_on(&F, conn_of_cid(1), &pdu))
		;
	assert_true(c2->inflight > 0);
	F.nevents = 0;
	xport_fake_close(&c2->xc, 0);
	ft_turn(&F);
	assert_true(saw_event(MCSI_EV_CONN_FAILED));
	ft_close(&F);
}

/* A removal pauses the whole session (istgt clears every queued command
 * of the session when one connection's logout ends; docs/design/mcs.md
 * section 8): while paused no command takes a CmdSN; the quiesce request
 * answers only once nothing with a CmdSN is in flight on ANY connection;
 * the Logout then carries the next CmdSN (= the target's ExpCmdSN); the
 * drop hands back a duplicate of the socket; after the resume the held
 * command goes out with the CmdSN the Logout named. */
static void test_removal_pauses_session(void **state)
{
	(void)state;
	struct ft_cmd a, b, held;
	struct ft_pdu pdu;
	int quiesced = 0, dropped = 0;

	open_two(41);
	struct conn *c1 = conn_of_cid(1), *c2 = conn_of_cid(2);
	int slot2 = c2->slot;
	ft_submit_read(&F, &a, buf[0], 512, 0);
	ft_submit_read(&F, &b, buf[1], 512, 1);
	uint32_t itt[2];
	struct conn *on[2];
	unsigned n = 0;
	for (unsigned k = 0; k < 2; k++)
		while (n < 2 && ft_recv_on(&F, k ? c2 : c1, &pdu)) {
			itt[n] = pdu_itt(pdu.bhs);
			on[n++] = k ? c2 : c1;
		}
	assert_int_equal(n, 2);
	assert_true(on[0] != on[1]);                 /* one on each connection */
	cset_pause(&F.s->cs);
	ft_submit_read(&F, &held, buf[2], 512, 2);
	assert_false(ft_recv_on(&F, c1, &pdu));             /* held: no CmdSN taken */
	assert_false(ft_recv_on(&F, c2, &pdu));
	assert_int_equal(atomic_load(&F.s->cmdsn), 12);
	struct mcsi_cmd q;
	memset(&q, 0, sizeof(q));
	cmd_priv(&q)->op = CMD_OP_QUIESCE;
	q.done = drop_done;
	q.priv = &quiesced;
	reactor_count_submit(F.s->q[0]);
	reactor_submit(F.s->q[0], &q);
	ft_turn(&F);
	assert_int_equal(quiesced, 0);
	/* The staying connection's command counts as much as the leaving one's. */
	unsigned first = on[0] == c1 ? 0 : 1;
	rsp_on(on[first], itt[first]);
	assert_int_equal(quiesced, 0);
	rsp_on(on[1 - first], itt[1 - first]);
	assert_int_equal(quiesced, 1);
	assert_int_equal(q.res.err, 0);
	assert_false(ft_recv_on(&F, c1, &pdu));             /* still paused */
	/* The drop: the socket's duplicate comes back with the command. */
	struct reactor_drop d = { .fd = -1 };
	struct mcsi_cmd drop;
	memset(&drop, 0, sizeof(drop));
	cmd_priv(&drop)->op = CMD_OP_DROP_CONN;
	cmd_priv(&drop)->arg = (uint32_t)slot2;
	cmd_priv(&drop)->ptr = &d;
	drop.done = drop_done;
	drop.priv = &dropped;
	reactor_count_submit(F.s->q[0]);
	reactor_submit(F.s->q[0], &drop);
	ft_turn(&F);
	assert_true(d.fd >= 0);
	assert_true(ft_recv_on(&F, c2, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_LOGOUT_REQ);
	assert_int_equal(ft_bhs32(&pdu, 24), 12);    /* CmdSN: nothing missing */
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_LOGOUT_RSP, 0x80 };
	struct bhs_logout_rsp *r = (void *)h;
	pdu_put32(&r->lgor_itt, pdu_itt(pdu.bhs));
	F.expcmdsn = 12;
	ft_stamp(&F, h, true);
	inject_on(c2, h, NULL, 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(drop.res.err, 0);
	assert_null(conn_of_cid(2));
	close(d.fd);
	assert_false(ft_recv_on(&F, c1, &pdu));             /* until the resume */
	uint64_t m = cset_resume(&F.s->cs);
	assert_true(m & 1u);                         /* queue 0 waited */
	reactor_window_kick(F.s->q[0]);
	assert_true(ft_recv_on(&F, c1, &pdu));
	assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
	assert_int_equal(ft_bhs32(&pdu, 24), 12);
	rsp_on(c1, pdu_itt(pdu.bhs));
	assert_int_equal(held.done, 1);
	assert_int_equal(held.c.res.err, 0);
	ft_close(&F);
}

/* Async event 2 on connection 1 whose Parameter1 names connection 2:
 * connection 2 is dropped, not 1 (which then goes with the session, at
 * ERL 0). */
static void test_async_drop_names_other_cid(void **state)
{
	(void)state;
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_ASYNC, 0x80 };
	struct bhs_async *a = (void *)h;

	open_two(41);
	pdu_put32(&a->async_itt, PDU_RESERVED_TAG);
	ft_stamp(&F, h, true);
	a->async_event = ASYNC_CONN_DROP;
	pdu_put16(&a->async_param1, 2);
	inject_on(conn_of_cid(1), h, NULL, 0);
	ft_turn(&F);
	/* Events: the drop (for CID 2), connection 2 failed, the session
	 * failed, then connection 1 dropped with it. */
	assert_true(F.nevents >= 4);
	assert_int_equal(F.events[0], MCSI_EV_CONN_ADDED);
	assert_int_equal(F.events[1], MCSI_EV_CONN_DROP);
	assert_int_equal(F.events[2], MCSI_EV_CONN_FAILED);
	assert_int_equal(F.events[3], MCSI_EV_SESSION_FAILED);
	assert_int_equal(conn_of_cid(2)->state, CONN_FAILED);
	assert_int_equal(conn_of_cid(1)->state, CONN_FAILED);
	assert_int_equal(atomic_load(&F.s->state), SESS_FAILED);
	ft_close(&F);
}

/* Submitters on four threads at once (the reactor's inbox is their only
 * shared line); the target opens the window one CmdSN per answer. Every
 * command completes, both connections carry commands, and the CmdSNs are
 * 10..73, each exactly once, whichever connection and thread. */
enum { SUB_THREADS = 4, SUB_EACH = 16, SUB_N = SUB_THREADS * SUB_EACH };
static struct ft_cmd sub_cmd[SUB_N];
static uint8_t sub_buf[SUB_N][512];

static void *submitter(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;

	for (unsigned i = t * SUB_EACH; i < (t + 1) * SUB_EACH; i++) {
		struct ft_cmd *fc = &sub_cmd[i];
		fc->v = (struct iovec){ sub_buf[i], 512 };
		fc->done = 0;
		mcsi_prep_read(&fc->c, 0, i, 1, &fc->v, 1);
		fc->c.done = ft_done;
		fc->c.priv = fc;
		if (mcsi_submit(F.s, &fc->c) != 0)
			abort();
	}
	return NULL;
}

static void test_concurrent_submitters(void **state)
{
	(void)state;
	pthread_t th[SUB_THREADS];
	bool seen[SUB_N] = { false };
	unsigned per[2] = { 0, 0 }, answered = 0;
	struct ft_pdu pdu;

	open_two(41);
	for (unsigned t = 0; t < SUB_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, submitter, (void *)(uintptr_t)t), 0);
	for (unsigned round = 0; round < 100000 && answered < SUB_N; round++) {
		for (unsigned k = 0; k < 2; k++) {
			struct conn *c = conn_of_cid((uint16_t)(k + 1));
			while (ft_recv_on(&F, c, &pdu)) {
				assert_int_equal(pdu_opcode(pdu.bhs), PDU_OP_SCSI_CMD);
				uint32_t sn = ft_bhs32(&pdu, 24);
				assert_true(sn >= 10 && sn < 10 + SUB_N);
				assert_false(seen[sn - 10]);
				seen[sn - 10] = true;
				/* Never beyond the window the target gave. */
				assert_true(sn <= F.maxcmdsn);
				per[k]++;
				F.expcmdsn = sn + 1;
				F.maxcmdsn++;
				rsp_on(c, pdu_itt(pdu.bhs));
				answered++;
			}
		}
	}
	for (unsigned t = 0; t < SUB_THREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(answered, SUB_N);
	for (unsigned i = 0; i < SUB_N; i++) {
		assert_true(seen[i]);
		assert_int_equal(sub_cmd[i].done, 1);
		assert_int_equal(sub_cmd[i].c.res.err, 0);
	}
	assert_true(per[0] > 0 && per[1] > 0);
	assert_int_equal(sess_inflight(F.s), 0);
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cmdsn_stream),
		cmocka_unit_test(test_window_opened_by_other_connection),
		cmocka_unit_test(test_allegiance_and_erl0_failure),
		cmocka_unit_test(test_remove_connection),
		cmocka_unit_test(test_removal_logout_unanswered),
		cmocka_unit_test(test_removal_pauses_session),
		cmocka_unit_test(test_async_drop_names_other_cid),
		cmocka_unit_test(test_concurrent_submitters),
	};
	return ft_run_both(tests);
}
