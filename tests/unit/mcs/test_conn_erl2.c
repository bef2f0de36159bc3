/* SPDX-License-Identifier: MIT */
/*
 * ERL 2 connection recovery on the data path (mcs/conn_erl2.c with
 * sess_erl2.c, reactor.c, conn*.c): sessions at ErrorRecoveryLevel 2 over
 * the fake transport, driven in application mode, the test standing in
 * for the target and for the login thread. A connection dies: its commands
 * are held (nothing completed), the CID is reinstated (or logged out with
 * reason 2 from a survivor), and each command is reassigned (TASK REASSIGN:
 * reads resume from ExpDataSN, writes answer the target's R2Ts again),
 * retried with its ITT and CmdSN (a CmdSN hole) or re-issued (refused);
 * past DefaultTime2Retain the session is reinstated instead. Every command
 * completes exactly once, with the right data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>
#include <unistd.h>

#include "ft.h"
#include "mcs/conn_erl2.h"
#include "mcs/sess_erl2.h"
#include "mcs/sess_mcs.h"
#include "mcs/sess_sm.h"

#define LEN 16384u

static struct ft F;
static struct sess_erl2 *E;
static uint8_t rbuf[4][LEN], wbuf[LEN], pat[LEN];

/* ---- per-connection I/O ----------------------------------------------------- */

/* The usable connection with this CID (there is one at most). */
static struct conn *conn_of_cid(uint16_t cid)
{
	return ft_conn_cid(&F, cid, true);
}

static void data_in_on(struct conn *c, uint32_t itt, uint32_t datasn, uint32_t off,
		       const void *data, uint32_t len, bool status)
{
	ft_on(&F, c);
	ft_data_in(&F, itt, datasn, off, data, len, status ? 0x81 : 0, 0, 0);
}

/* A whole read of LEN bytes from pat, in two Data-In, the second with status. */
static void read_done_on(struct conn *c, uint32_t itt)
{
	data_in_on(c, itt, 0, 0, pat, LEN / 2, false);
	data_in_on(c, itt, 1, LEN / 2, pat + LEN / 2, LEN / 2, true);
}

static void rsp_on(struct conn *c, uint32_t itt)
{
	ft_on(&F, c);
	ft_rsp(&F, itt, 0, 0, 0, NULL, 0);
}

static void simple_rsp_on(struct conn *c, uint8_t op, uint32_t itt, uint8_t response)
{
	ft_on(&F, c);
	ft_simple_rsp(&F, op, itt, response);
}

static void r2t_on(struct conn *c, uint32_t itt, uint32_t ttt, uint32_t r2tsn,
		   uint32_t off, uint32_t len)
{
	ft_on(&F, c);
	ft_r2t(&F, itt, ttt, r2tsn, off, len);
}

/* A Logout Response on c with its Time2Wait and Time2Retain fields. */
static void logout_rsp_on(struct conn *c, uint32_t itt, uint8_t response, uint16_t t2w,
			  uint16_t t2r)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_LOGOUT_RSP, 0x80, response };
	struct bhs_logout_rsp *lr = (void *)h;

	pdu_put32(&lr->lgor_itt, itt);
	ft_stamp(&F, h, true);
	pdu_put16(&lr->lgor_time2wait, t2w);
	pdu_put16(&lr->lgor_time2retain, t2r);
	ft_on(&F, c);
	ft_inject(&F, h, NULL, 0);
}

/* ---- sessions ------------------------------------------------------------------ */

/* A session at ERL 2 (Time2Wait 0, Time2Retain t2r) with CIDs 1 and, if
 * two, 2 on the same reactor; ERL 2 recovery without a login thread. */
static void open_erl2(bool two, bool logout, uint32_t t2r)
{
	struct iscsi_params p;

	ft_rx_forget_all(&F);
	ft_default_params(&p);
	p.error_recovery_level = 2;
	p.max_connections = 4;
	p.default_time2wait = 0;
	p.default_time2retain = t2r;
	ft_open(&F, &p);
	if (two)
		ft_add_conn(&F, &p, 2, 41);
	E = calloc(1, sizeof(*E));
	assert_non_null(E);
	E->s = F.s;
	E->prefer_logout = logout;
	for (unsigned i = 0; i < ERL2_EPS; i++)
		E->ep[i].h.fd = -1;
	pthread_mutex_init(&E->m, NULL);
	pthread_cond_init(&E->cv, NULL);
	F.s->erl2 = E;                   /* no thread: the test logs in */
	for (unsigned i = 0; i < LEN; i++)
		pat[i] = (uint8_t)(i * 7 + 3), wbuf[i] = (uint8_t)(i * 13 + 1);
}

/* Stands in for the login thread: the reinstatement of cid succeeds
 * (rc 0) or fails with rc. Returns whether a login was asked for. */
static bool login_answer(uint16_t cid, int rc)
{
	struct erl2_ep *ep = NULL;

	ft_turn(&F);
	pthread_mutex_lock(&E->m);
	for (unsigned i = 0; i < ERL2_EPS && !ep; i++)
		if (E->ep[i].login_want)
			ep = &E->ep[i];
	if (ep) {
		assert_int_equal(ep->cid, cid);
		ep->login_want = false;
		memset(&ep->h, 0, sizeof(ep->h));
		ep->h.fd = -1;
		ep->login_rc = rc;
		if (rc == 0) {
			ep->h.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			ep->h.params = F.p;
			ep->h.cid = cid;
			ep->h.tsih = F.s->tsih;
			ep->h.expcmdsn = F.expcmdsn;
			ep->h.maxcmdsn = F.maxcmdsn;
			ep->h.expstatsn = 900;
			strcpy(ep->h.peer, "127.0.0.1:3262");
		}
		atomic_store(&ep->login_done, true);
	}
	pthread_mutex_unlock(&E->m);
	ft_turn(&F);
	return ep != NULL;
}

/* The reinstated connection pings first; the answer carries ExpCmdSN exp. */
static struct conn *reinstated(uint16_t cid, uint32_t exp)
{
	struct ft_pdu p;

	assert_true(login_answer(cid, 0));
	struct conn *n = conn_of_cid(cid);
	assert_non_null(n);
	assert_true(ft_recv_on(&F, n, &p));
	assert_int_equal(pdu_opcode(p.bhs), PDU_OP_NOP_OUT);
	F.expcmdsn = exp;
	ft_on(&F, n);
	ft_nop_in(&F, pdu_itt(p.bhs), PDU_RESERVED_TAG, 0);
	return n;
}

/* The command PDUs sent on c: ITTs and CmdSNs. Returns how many. */
static unsigned cmds_on(struct conn *c, uint32_t *itt, uint32_t *sn, unsigned max)
{
	struct ft_pdu p;
	unsigned n = 0;

	while (n < max && ft_recv_on(&F, c, &p)) {
		if (pdu_opcode(p.bhs) != PDU_OP_SCSI_CMD)
			continue;
		itt[n] = pdu_itt(p.bhs);
		sn[n++] = ft_bhs32(&p, 24);
	}
	return n;
}

static void cut(struct conn *c)
{
	ft_rx_forget(&F, c);
	conn_fail(c, -ECONNRESET, "cut by the test");
}

/* ---- tests --------------------------------------------------------------------- */

/* Reads on a connection that dies: held, nothing completed; the CID is
 * reinstated; TASK REASSIGN for each with its ITT, CmdSN and the ExpDataSN
 * where its data stopped; the target's answer 0 (LIO-tolerant: probe) and
 * the Data-In from there complete each read exactly once with the right
 * bytes. */
static void test_reinstate_reassign_reads(void **state)
{
	(void)state;
	struct ft_cmd fc[4];
	uint32_t itt[4], sn[4];

	open_erl2(false, false, 20);
	struct conn *c1 = conn_of_cid(1);
	for (unsigned i = 0; i < 3; i++)
		ft_submit_read(&F, &fc[i], rbuf[i], LEN, i);
	assert_int_equal(cmds_on(c1, itt, sn, 4), 3);
	/* Half of the first read arrives, then the cut. */
	data_in_on(c1, itt[0], 0, 0, pat, LEN / 2, false);
	assert_int_equal(c1->rfc, ERL_S5_LOGGED_IN);
	cut(c1);
	assert_int_equal(c1->rfc, ERL_S8_CLEANUP_WAIT);       /* T15 */
	ft_turn(&F);
	/* Time2Wait 0: the reinstatement login is asked for at once. */
	assert_int_equal(c1->rfc, ERL_R2_IN_CLEANUP);         /* M2 */
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(fc[i].done, 0);
	assert_true(conn_erl2_pending(F.s));
	assert_int_equal(atomic_load(&F.s->state), SESS_LIVE);
	/* A command submitted meanwhile waits (no connection is up). */
	ft_submit_read(&F, &fc[3], rbuf[3], LEN, 3);
	assert_int_equal(fc[3].done, 0);

	struct conn *n = reinstated(1, sn[2] + 1);
	struct ft_pdu p;
	unsigned tmfs = 0, news = 0;
	uint32_t tmf_itt[3], new_itt = 0;
	while (ft_recv_on(&F, n, &p)) {
		if (pdu_opcode(p.bhs) == PDU_OP_SCSI_CMD) {
			new_itt = pdu_itt(p.bhs);
			news++;
			continue;
		}
		const struct bhs_tmf_req *t = (const void *)p.bhs;
		assert_int_equal(pdu_opcode(p.bhs), PDU_OP_TMF_REQ);
		assert_int_equal(t->tmf_function & 0x7f, TMF_TASK_REASSIGN);
		unsigned k = 0;
		while (k < 3 && itt[k] != pdu_get32(&t->tmf_ref_itt))
			k++;
		assert_true(k < 3);
		assert_int_equal(pdu_get32(&t->tmf_refcmdsn), sn[k]);
		/* Where the data stopped; for the first, nothing is missing
		 * so the last Data-In is asked for again (LIO cannot resend
		 * the status alone), and its copy is discarded. */
		assert_int_equal(pdu_get32(&t->tmf_expdatasn), 0);
		tmf_itt[tmfs++] = pdu_itt(p.bhs);
	}
	assert_int_equal(tmfs, 3);
	assert_int_equal(news, 1);           /* the one that waited */
	for (unsigned i = 0; i < 3; i++)
		simple_rsp_on(n, PDU_OP_TMF_RSP, tmf_itt[i], TMF_RSP_COMPLETE);
	assert_true(ft_saw(&F, MCSI_EV_CONN_RECOVERED));
	assert_int_equal(F.last_ev.param[1], 3);
	uint8_t junk[LEN / 2];
	memset(junk, 0xee, sizeof(junk));
	data_in_on(n, itt[0], 0, 0, junk, LEN / 2, false);   /* the copy */
	data_in_on(n, itt[0], 1, LEN / 2, pat + LEN / 2, LEN / 2, true);
	for (unsigned i = 1; i < 3; i++)
		read_done_on(n, itt[i]);
	read_done_on(n, new_itt);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(fc[i].done, 1);
		assert_int_equal(fc[i].c.res.err, 0);
		assert_memory_equal(rbuf[i], pat, LEN);
	}
	/* The old connection is freed; no recovery left. */
	ft_turn(&F);
	assert_false(conn_erl2_pending(F.s));
	assert_int_equal(F.s->q[0]->nconns, 1);
	ft_close(&F);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fc[i].done, 1);   /* not again at close */
}

/* A write whose connection dies before its R2T: after the reassignment
 * the target solicits it again with R2TSNs of its own; the write answers
 * from the caller's buffer and completes once. */
static void test_reassigned_write_answers_recovery_r2t(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt, sn;
	struct ft_pdu p;

	open_erl2(false, false, 20);
	struct conn *c1 = conn_of_cid(1);
	ft_submit_write(&F, &fc, wbuf, LEN, 0);
	assert_int_equal(cmds_on(c1, &itt, &sn, 1), 1);
	r2t_on(c1, itt, 0x77, 0, 8192, 8192);  /* answered? cut before */
	cut(c1);
	struct conn *n = reinstated(1, sn + 1);
	assert_true(ft_recv_on(&F, n, &p));
	const struct bhs_tmf_req *t = (const void *)p.bhs;
	assert_int_equal(t->tmf_function & 0x7f, TMF_TASK_REASSIGN);
	assert_int_equal(pdu_get32(&t->tmf_ref_itt), itt);
	assert_int_equal(pdu_get32(&t->tmf_expdatasn), 1);   /* next R2TSN */
	simple_rsp_on(n, PDU_OP_TMF_RSP, pdu_itt(p.bhs), TMF_RSP_COMPLETE);
	/* The target starts over (the test target does: RAM is idempotent). */
	r2t_on(n, itt, 0x99, 5, 0, LEN);
	uint32_t got = 0;
	while (ft_recv_on(&F, n, &p)) {
		assert_int_equal(pdu_opcode(p.bhs), PDU_OP_DATA_OUT);
		const struct bhs_data_out *d = (const void *)p.bhs;
		assert_int_equal(pdu_get32(&d->dout_ttt), 0x99);
		uint32_t off = pdu_get32(&d->dout_offset);
		assert_memory_equal(p.data, wbuf + off, p.dsl);
		got += p.dsl;
	}
	assert_int_equal(got, LEN);
	assert_int_equal(fc.done, 0);
	rsp_on(n, itt);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	ft_close(&F);
	assert_int_equal(fc.done, 1);
}

/* The target does not know the task (TASK REASSIGN answered 1): the
 * command is issued again with a new ITT and a new CmdSN. */
static void test_refused_reassign_reissues(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt, sn, itt2, sn2;
	struct ft_pdu p;

	open_erl2(false, false, 20);
	ft_submit_read(&F, &fc, rbuf[0], LEN, 0);
	assert_int_equal(cmds_on(conn_of_cid(1), &itt, &sn, 1), 1);
	cut(conn_of_cid(1));
	struct conn *n = reinstated(1, sn + 1);
	assert_true(ft_recv_on(&F, n, &p));
	assert_int_equal(pdu_opcode(p.bhs), PDU_OP_TMF_REQ);
	simple_rsp_on(n, PDU_OP_TMF_RSP, pdu_itt(p.bhs), TMF_RSP_NO_TASK);
	assert_int_equal(cmds_on(n, &itt2, &sn2, 1), 1);
	assert_int_not_equal(itt2, itt);
	assert_int_equal(itt2 & 0xffff, itt & 0xffff);       /* same slot */
	assert_true(sn_gt(sn2, sn));
	assert_int_equal(fc.done, 0);
	read_done_on(n, itt2);
	assert_int_equal(fc.done, 1);
	assert_memory_equal(rbuf[0], pat, LEN);
	ft_close(&F);
}

/* A command the target never got (its CmdSN is the target's ExpCmdSN):
 * the same PDU again, same ITT and CmdSN, which plugs the hole; no TASK
 * REASSIGN. */
static void test_cmdsn_hole_retried(void **state)
{
	(void)state;
	struct ft_cmd fc[2];
	uint32_t itt[2], sn[2], itt2[2], sn2[2];

	open_erl2(false, false, 20);
	ft_submit_read(&F, &fc[0], rbuf[0], LEN, 0);
	ft_submit_read(&F, &fc[1], rbuf[1], LEN, 1);
	assert_int_equal(cmds_on(conn_of_cid(1), itt, sn, 2), 2);
	cut(conn_of_cid(1));
	struct conn *n = reinstated(1, sn[0]);         /* neither arrived */
	assert_int_equal(cmds_on(n, itt2, sn2, 2), 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(itt2[i], itt[i]);
		assert_int_equal(sn2[i], sn[i]);            /* in CmdSN order */
	}
	assert_int_equal(F.last_ev.type, MCSI_EV_CONN_RECOVERED);
	assert_int_equal(F.last_ev.param[1], 0);
	assert_int_equal(F.last_ev.param[2], 2);
	for (unsigned i = 0; i < 2; i++)
		read_done_on(n, itt[i]);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(fc[i].done, 1);
		assert_memory_equal(rbuf[i], pat, LEN);
	}
	ft_close(&F);
}

/* Logout reason 2 from the survivor (same reactor): the Logout names the
 * dead CID and carries its ExpStatSN; then TASK REASSIGN on the survivor,
 * which keeps running. */
static void test_logout_from_survivor(void **state)
{
	(void)state;
	struct ft_cmd fc[4];
	uint32_t itt[4], sn[4];
	struct ft_pdu p;

	open_erl2(true, true, 20);
	struct conn *c1 = conn_of_cid(1), *c2 = conn_of_cid(2);
	for (unsigned i = 0; i < 4; i++)
		ft_submit_read(&F, &fc[i], rbuf[i], LEN, i);
	unsigned n1 = cmds_on(c1, itt, sn, 4);
	assert_true(n1 >= 1);
	uint32_t itt2[4], sn2[4];
	unsigned n2 = cmds_on(c2, itt2, sn2, 4);
	assert_int_equal(n1 + n2, 4);
	uint32_t c1_expstatsn = c1->exp_statsn;
	cut(c1);
	assert_true(ft_recv_on(&F, c2, &p));
	const struct bhs_logout_req *lo = (const void *)p.bhs;
	assert_int_equal(pdu_opcode(p.bhs), PDU_OP_LOGOUT_REQ);
	assert_int_equal(lo->lgo_reason & 0x7f, LOGOUT_REMOVE_FOR_RECOVERY);
	assert_int_equal(pdu_get16(&lo->lgo_cid), 1);
	assert_int_equal(pdu_get32(&lo->lgo_expstatsn), c1_expstatsn);
	F.expcmdsn = sn[n1 - 1] > sn2[n2 - 1] ? sn[n1 - 1] + 1 : sn2[n2 - 1] + 1;
	simple_rsp_on(c2, PDU_OP_LOGOUT_RSP, pdu_itt(p.bhs), LOGOUT_RSP_OK);
	assert_true(conn_usable(c2));                /* not closed by it */
	unsigned tmfs = 0;
	while (ft_recv_on(&F, c2, &p)) {
		assert_int_equal(pdu_opcode(p.bhs), PDU_OP_TMF_REQ);
		simple_rsp_on(c2, PDU_OP_TMF_RSP, pdu_itt(p.bhs), TMF_RSP_COMPLETE);
		tmfs++;
	}
	assert_int_equal(tmfs, n1);
	assert_int_equal(E->add, 1);     /* a connection to add in its place */
	for (unsigned i = 0; i < n1; i++)
		read_done_on(c2, itt[i]);
	for (unsigned i = 0; i < n2; i++)
		read_done_on(c2, itt2[i]);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(fc[i].done, 1);
		assert_memory_equal(rbuf[i], pat, LEN);
	}
	ft_close(&F);
}

/* Four reads over CIDs 1 and 2 (reason-2 Logouts preferred), CID 1 cut:
 * the Logout of CID 1 arrives on CID 2. */
struct logout_case {
	struct ft_cmd fc[4];
	uint32_t itt[4], sn[4], itt2[4], sn2[4];
	unsigned n1, n2;                 /* reads on CID 1, on CID 2 */
	struct conn *c2;
	uint32_t logout_itt;
};

static void reads_then_logout(struct logout_case *x)
{
	struct ft_pdu p;

	open_erl2(true, true, 20);
	struct conn *c1 = conn_of_cid(1);
	x->c2 = conn_of_cid(2);
	for (unsigned i = 0; i < 4; i++)
		ft_submit_read(&F, &x->fc[i], rbuf[i], LEN, i);
	x->n1 = cmds_on(c1, x->itt, x->sn, 4);
	x->n2 = cmds_on(x->c2, x->itt2, x->sn2, 4);
	assert_true(x->n1 >= 1);
	assert_int_equal(x->n1 + x->n2, 4);
	cut(c1);
	assert_true(ft_recv_on(&F, x->c2, &p));
	assert_int_equal(pdu_opcode(p.bhs), PDU_OP_LOGOUT_REQ);
	x->logout_itt = pdu_itt(p.bhs);
	F.expcmdsn = 14;                 /* all four reached the target */
}

/* The target sends the four reads' data (CID 1's on n): each completes
 * once with the right bytes. */
static void reads_finish(struct logout_case *x, struct conn *n)
{
	for (unsigned i = 0; i < x->n1; i++)
		read_done_on(n, x->itt[i]);
	for (unsigned i = 0; i < x->n2; i++)
		read_done_on(x->c2, x->itt2[i]);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(x->fc[i].done, 1);
		assert_int_equal(x->fc[i].c.res.err, 0);
		assert_memory_equal(rbuf[i], pat, LEN);
	}
	ft_close(&F);
}

/* The Logout Response's Time2Wait (1 s) and Time2Retain (7 s) replace the
 * negotiated ones (0 and 20): no TASK REASSIGN before Time2Wait from the
 * response, the tasks counted as kept until Time2Retain after it. */
static void test_logout_response_times(void **state)
{
	(void)state;
	struct logout_case x;
	struct ft_pdu p;

	reads_then_logout(&x);
	struct conn *c2 = x.c2;
	uint64_t t0 = sess_now_ns();
	logout_rsp_on(c2, x.logout_itt, LOGOUT_RSP_OK, 1, 7);
	struct erl2_ep *ep = NULL;
	for (unsigned i = 0; i < ERL2_EPS; i++)
		if (E->ep[i].cid == 1 && E->ep[i].c)
			ep = &E->ep[i];
	assert_non_null(ep);
	assert_true(ep->rec.clock.wait_until >= t0 + 1000000000ull);
	assert_true(ep->rec.clock.retain_until >= ep->rec.clock.wait_until + 7000000000ull);
	assert_true(ep->rec.clock.retain_until < t0 + 9000000000ull);    /* not 20 s */
	/* Nothing within Time2Wait... */
	while (sess_now_ns() < t0 + 800000000ull) {
		assert_false(ft_recv_on(&F, c2, &p));
		usleep(20000);
	}
	/* ...then TASK REASSIGN. */
	bool got = false;
	while (!got && sess_now_ns() < t0 + 2500000000ull) {
		got = ft_recv_on(&F, c2, &p);
		if (!got)
			usleep(20000);
	}
	assert_true(got);
	assert_true(sess_now_ns() >= t0 + 1000000000ull);
	unsigned tmfs = 0;
	do {
		assert_int_equal(pdu_opcode(p.bhs), PDU_OP_TMF_REQ);
		simple_rsp_on(c2, PDU_OP_TMF_RSP, pdu_itt(p.bhs), TMF_RSP_COMPLETE);
		tmfs++;
	} while (ft_recv_on(&F, c2, &p));
	assert_int_equal(tmfs, x.n1);
	reads_finish(&x, c2);
}

/* Whether the recovery asks the login thread for a login (not answered). */
static bool login_wanted(void)
{
	bool want = false;

	ft_turn(&F);
	pthread_mutex_lock(&E->m);
	for (unsigned i = 0; i < ERL2_EPS; i++)
		want |= E->ep[i].login_want;
	pthread_mutex_unlock(&E->m);
	return want;
}

/* The Logout (reason 2) of the dead CID is refused with response rsp and
 * Time2Wait t2w (RFC 7143 11.15.2: the minimum wait before the next
 * Logout or login, 0: none): the reinstatement login is asked for no
 * sooner than Time2Wait after the response, yet within the back-off
 * after it; then the tasks are reassigned on the new connection. */
static void refused_logout_waits(uint8_t rsp, uint16_t t2w)
{
	struct logout_case x;
	struct ft_pdu p;
	const uint64_t s_ns = 1000000000ull, backoff_ns = ERL2_RETRY_MIN_MS * 1000000ull;

	reads_then_logout(&x);
	struct conn *c2 = x.c2;
	uint64_t t0 = sess_now_ns();
	logout_rsp_on(c2, x.logout_itt, rsp, t2w, 0);
	assert_true(conn_usable(c2));
	/* No login and no Logout within Time2Wait (less a margin for the
	 * test's turns)... */
	uint64_t quiet = t0 + t2w * s_ns - (t2w ? 200000000ull : 0);
	while (sess_now_ns() < quiet) {
		assert_false(login_wanted());
		assert_false(ft_recv_on(&F, c2, &p));
		usleep(20000);
	}
	/* ...then one, once the longer of Time2Wait and the back-off is over. */
	uint64_t until = t0 + (t2w * s_ns > backoff_ns ? t2w * s_ns : backoff_ns) + 700000000ull;
	bool want = false;
	while (!(want = login_wanted()) && sess_now_ns() < until)
		usleep(10000);
	assert_true(want);
	assert_true(sess_now_ns() >= t0 + t2w * s_ns);
	assert_false(ft_recv_on(&F, c2, &p));        /* nothing for c1 meanwhile */
	struct conn *n = reinstated(1, 14);
	unsigned tmfs = 0;
	while (ft_recv_on(&F, n, &p)) {
		assert_int_equal(pdu_opcode(p.bhs), PDU_OP_TMF_REQ);
		simple_rsp_on(n, PDU_OP_TMF_RSP, pdu_itt(p.bhs), TMF_RSP_COMPLETE);
		tmfs++;
	}
	assert_int_equal(tmfs, x.n1);
	reads_finish(&x, n);
}

static void test_refused_logout_time2wait(void **state)
{
	(void)state;
	refused_logout_waits(LOGOUT_RSP_RECOVERY_UNSUPPORTED, 1);
}

static void test_refused_logout_time2wait_zero(void **state)
{
	(void)state;
	refused_logout_waits(LOGOUT_RSP_CLEANUP_FAILED, 0);
}

/* No reinstatement works within DefaultTime2Retain (1 s): the session is
 * reinstated instead (ERL 0 path); the command is held, never failed. */
static void test_time2retain_falls_back_to_session(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt, sn;

	open_erl2(false, false, 1);
	ft_attach_rec(&F);               /* no thread: nobody logs in */
	ft_submit_read(&F, &fc, rbuf[0], LEN, 0);
	assert_int_equal(cmds_on(conn_of_cid(1), &itt, &sn, 1), 1);
	cut(conn_of_cid(1));
	unsigned refused = 0;
	uint64_t until = sess_now_ns() + 4000000000ull;
	while (atomic_load(&F.s->state) == SESS_LIVE && sess_now_ns() < until) {
		if (login_answer(1, -ECONNREFUSED))
			refused++;
		usleep(20000);
	}
	assert_true(refused >= 1);
	assert_int_equal(atomic_load(&F.s->state), SESS_RECOVERING);
	assert_true(ft_saw(&F, MCSI_EV_SESSION_LOST));
	assert_false(conn_erl2_pending(F.s));
	assert_int_equal(fc.done, 0);
	assert_non_null(F.s->q[0]->backlog);         /* waits for the new session */
	ft_close(&F);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, -ECANCELED);
}

/* Session continuation (RFC 7143 8.3): the only connection dies, so the
 * session has none left: N3, FAILED (it was left LOGGED_IN). The CID
 * logged in again with the session's TSIH continues it: N5, LOGGED_IN,
 * and the read completes by TASK REASSIGN. */
static void test_continuation_session_states(void **state)
{
	(void)state;
	struct ft_cmd fc;
	uint32_t itt, sn;
	struct ft_pdu p;

	open_erl2(false, false, 20);
	assert_int_equal(sess_sm_state(F.s), ERL_Q3_LOGGED_IN);
	ft_submit_read(&F, &fc, rbuf[0], LEN, 0);
	assert_int_equal(cmds_on(conn_of_cid(1), &itt, &sn, 1), 1);
	cut(conn_of_cid(1));
	assert_int_equal(sess_sm_state(F.s), ERL_Q4_FAILED);          /* N3 */
	struct conn *n = reinstated(1, sn + 1);
	assert_int_equal(sess_sm_state(F.s), ERL_Q3_LOGGED_IN);       /* N5 */
	assert_true(ft_recv_on(&F, n, &p));
	assert_int_equal(pdu_opcode(p.bhs), PDU_OP_TMF_REQ);
	simple_rsp_on(n, PDU_OP_TMF_RSP, pdu_itt(p.bhs), TMF_RSP_COMPLETE);
	read_done_on(n, itt);
	assert_int_equal(fc.done, 1);
	assert_int_equal(fc.c.res.err, 0);
	assert_memory_equal(rbuf[0], pat, LEN);
	assert_int_equal(atomic_load(&F.s->rfc_illegal), 0);
	ft_close(&F);
}

/* Both connections die: the first loss leaves one (Q3), the second is
 * N3; the first CID back continues the session (N5), the second joins
 * it; the continuation refused instead (0x020a: the target ended the
 * session) leads to session reinstatement without an event the RFC
 * machine refuses (N3 is not taken twice). */
static void test_continuation_two_and_refused(void **state)
{
	(void)state;
	struct ft_cmd fc[2];
	uint32_t itt[2], sn[2];

	open_erl2(true, false, 20);
	ft_submit_read(&F, &fc[0], rbuf[0], LEN, 0);
	ft_submit_read(&F, &fc[1], rbuf[1], LEN, 1);
	cmds_on(conn_of_cid(1), itt, sn, 2);
	cmds_on(conn_of_cid(2), itt, sn, 2);
	cut(conn_of_cid(1));
	assert_int_equal(sess_sm_state(F.s), ERL_Q3_LOGGED_IN);
	cut(conn_of_cid(2));
	assert_int_equal(sess_sm_state(F.s), ERL_Q4_FAILED);
	uint32_t exp = F.expcmdsn + 2;
	reinstated(1, exp);
	assert_int_equal(sess_sm_state(F.s), ERL_Q3_LOGGED_IN);
	reinstated(2, exp);
	assert_int_equal(sess_sm_state(F.s), ERL_Q3_LOGGED_IN);
	assert_int_equal(atomic_load(&F.s->rfc_illegal), 0);
	ft_close(&F);

	open_erl2(false, false, 20);
	ft_attach_rec(&F);               /* no thread: nobody logs in */
	ft_submit_read(&F, &fc[0], rbuf[0], LEN, 0);
	assert_int_equal(cmds_on(conn_of_cid(1), itt, sn, 1), 1);
	cut(conn_of_cid(1));
	unsigned refused = 0;
	uint64_t until = sess_now_ns() + 4000000000ull;
	while (atomic_load(&F.s->state) == SESS_LIVE && sess_now_ns() < until) {
		if (login_answer(1, -ENOENT))
			refused++;
		usleep(20000);
	}
	assert_int_equal(refused, 1);    /* refused: not asked again */
	assert_int_equal(atomic_load(&F.s->state), SESS_RECOVERING);
	assert_int_equal(sess_sm_state(F.s), ERL_Q4_FAILED);
	assert_int_equal(atomic_load(&F.s->rfc_illegal), 0);
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reinstate_reassign_reads),
		cmocka_unit_test(test_reassigned_write_answers_recovery_r2t),
		cmocka_unit_test(test_refused_reassign_reissues),
		cmocka_unit_test(test_cmdsn_hole_retried),
		cmocka_unit_test(test_logout_from_survivor),
		cmocka_unit_test(test_logout_response_times),
		cmocka_unit_test(test_refused_logout_time2wait),
		cmocka_unit_test(test_refused_logout_time2wait_zero),
		cmocka_unit_test(test_time2retain_falls_back_to_session),
		cmocka_unit_test(test_continuation_session_states),
		cmocka_unit_test(test_continuation_two_and_refused),
	};
	return ft_run_both(tests);
}
