/* SPDX-License-Identifier: MIT */
/* ERL 1 on a connection's data path: see conn_erl1.h. */
#include "mcs/conn_erl1.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "mcs/conn.h"
#include "mcs/conn_erl2.h"
#include "mcs/erl_pdu.h"
#include "mcs/erl_task.h"
#include "mcs/reactor.h"
#include "proto/pdu.h"
#include "proto/scsi.h"
#include "proto/serial.h"

#define E1_RUNS 4u

void conn_erl1_init(struct conn *c)
{
	memset(&c->e1, 0, sizeof(c->e1));
	c->e1.on = c->params.error_recovery_level >= 1;
	erl_stat_init(&c->e1.stat, c->exp_statsn);
}

/* Every target PDU carries its StatSN (or the next one) at bytes 24-27. */
static uint32_t hdr_statsn(const uint8_t *hdr)
{
	return pdu_get32(&((const struct pdu_bhs *)(const void *)hdr)->bhs_spec2[1]);
}

static struct task *e1_task(struct conn *c, uint32_t itt)
{
	struct task *t = task_lookup(&c->r->tt, itt);

	return t && t->kind == TASK_SCSI && t->conn == c && t->state == TASK_ACTIVE ? t : NULL;
}

static bool task_reads(const struct task *t)
{
	return t->cmd->dir == MCSI_DIR_READ || t->cmd->dir == MCSI_DIR_BIDI;
}

static void e1_fault(struct conn *c, struct task *t)
{
	if (t && !t->fault_ns)
		t->fault_ns = c->r->now;
	c->e1.busy = true;
}

/* A SNACK to send; a full queue drops it (the scan asks again). */
static void e1_queue(struct conn *c, const void *bhs)
{
	if (c->e1.nq >= CONN_ERL1_SNACKS)
		return;
	memcpy(c->e1.q[c->e1.nq++].bhs, bhs, PDU_BHS_LEN);
}

/* Data/R2T SNACKs for what t misses (new gaps, or all again after the
 * retry time). */
static void e1_task_snacks(struct conn *c, struct task *t, uint32_t want)
{
	struct erl_run runs[E1_RUNS];
	uint8_t b[PDU_BHS_LEN] __attribute__((aligned(8)));
	unsigned n = erl_din_snack(&t->din, c->r->now, CONN_ERL1_RETRY_NS, want, runs, E1_RUNS);

	for (unsigned i = 0; i < n; i++) {
		/* A run up to the last PDU known goes as "all from BegRun":
		 * LIO 6.1 refuses one that names the last DataSN exactly
		 * (off by one) and drops the connection; copies of what we
		 * have go to scratch. */
		uint32_t end = t->din.total_known ? t->din.total : t->din.high;
		if (runs[i].runlength && runs[i].begrun + runs[i].runlength == end)
			runs[i].runlength = 0;
		erl_build_data_snack(b, t->lun, t->itt, runs[i].begrun, runs[i].runlength,
				     c->exp_statsn);
		e1_queue(c, b);
		c->e1.st.snack_data++;
		sess_log(c->sess, 4, "%s: ERL 1: Data SNACK for ITT 0x%08x DataSN %u+%u",
			 c->peer, t->itt, runs[i].begrun, runs[i].runlength);
	}
	if (n)
		e1_fault(c, t);
}

static void e1_stat_snacks(struct conn *c)
{
	struct erl_run runs[E1_RUNS];
	uint8_t b[PDU_BHS_LEN] __attribute__((aligned(8)));
	unsigned n = erl_stat_snack(&c->e1.stat, c->r->now, CONN_ERL1_RETRY_NS, runs, E1_RUNS);

	for (unsigned i = 0; i < n; i++) {
		erl_build_status_snack(b, runs[i].begrun, runs[i].runlength, c->exp_statsn);
		e1_queue(c, b);
		c->e1.st.snack_status++;
		sess_log(c->sess, 4, "%s: ERL 1: Status SNACK for StatSN %u+%u", c->peer,
			 runs[i].begrun, runs[i].runlength);
	}
	if (n) {
		if (!c->e1.stat_fault_ns)
			c->e1.stat_fault_ns = c->r->now;
		e1_fault(c, NULL);
	}
}

/* The recovery time of something that was lost: from the fault (the
 * task's, or the connection's last bad header) to now. */
static void e1_recovered(struct conn *c, uint64_t since, const char *what, uint32_t itt)
{
	uint64_t t0 = since;

	if (c->e1.hdr_fault_ns && (!t0 || c->e1.hdr_fault_ns < t0))
		t0 = c->e1.hdr_fault_ns;
	c->e1.hdr_fault_ns = 0;
	if (!t0)
		return;
	uint64_t dt = c->r->now > t0 ? c->r->now - t0 : 0;
	c->e1.st.recovered++;
	c->e1.st.rec_ns_sum += dt;
	if (dt > c->e1.st.rec_ns_max)
		c->e1.st.rec_ns_max = dt;
	sess_log(c->sess, 4, "%s: ERL 1: %s ITT 0x%08x recovered in %llu.%03llu ms", c->peer,
		 what, itt, (unsigned long long)(dt / 1000000u),
		 (unsigned long long)(dt / 1000u % 1000u));
}

/* A status-carrying PDU: record its StatSN. Returns 1 (new), 0 (a
 * duplicate: drop its status part) or -EBADMSG (too far ahead). */
static int e1_stat_rx(struct conn *c, uint32_t sn, bool hold, const char **why)
{
	bool gap_fill = sn_lt(sn, c->e1.stat.high);
	enum erl_stat_verdict v = erl_stat_rx(&c->e1.stat, sn, hold);

	if (v == ERL_STAT_FAR) {
		*why = "StatSN too far ahead to recover in place";
		return -EBADMSG;
	}
	c->exp_statsn = erl_stat_expstatsn(&c->e1.stat);
	if (v == ERL_STAT_DUP) {
		c->e1.st.dup_dropped++;
		return 0;
	}
	if (gap_fill && c->e1.stat_fault_ns) {
		e1_recovered(c, c->e1.stat_fault_ns, "status of", 0);
		c->e1.stat_fault_ns = 0;
	}
	e1_stat_snacks(c);
	return 1;
}

/* t's held status may be acknowledged and t completed: its data is in
 * (or it is to be issued again). */
static void e1_held_done(struct conn *c, struct task *t)
{
	(void)erl_stat_release(&c->e1.stat, t->held_statsn);
	c->exp_statsn = erl_stat_expstatsn(&c->e1.stat);
	t->held = false;
	t->cmd->res.data_in = t->rx_bytes;
	e1_recovered(c, t->fault_ns, "read", t->itt);
	t->fault_ns = 0;
	e1_stat_snacks(c);
	reactor_finish(c->r, t, t->cmd->res.err);
}

/* Bytes a read should have received by its status: EDTL less the
 * underflow residual for a good status; unknown otherwise. */
static uint32_t e1_want(const struct task *t, bool good, bool underflow, uint32_t residual)
{
	if (!good)
		return ERL_BYTES_UNKNOWN;
	if (!underflow)
		return t->rlen;
	return residual <= t->rlen ? t->rlen - residual : ERL_BYTES_UNKNOWN;
}

/* After a Data-In of t: DataACK if due, then the held status or SNACKs. */
static void e1_din_progress(struct conn *c, struct task *t)
{
	uint32_t beg, ttt;
	uint8_t b[PDU_BHS_LEN] __attribute__((aligned(8)));

	if (erl_din_ack_due(&t->din, &beg, &ttt)) {
		erl_build_dataack(b, t->lun, ttt, beg, c->exp_statsn);
		e1_queue(c, b);
		c->e1.st.dataack++;
	}
	if (t->held) {
		if (t->retry || erl_din_complete(&t->din, t->held_want))
			e1_held_done(c, t);
		else
			e1_task_snacks(c, t, t->held_want);
		return;
	}
	e1_task_snacks(c, t, ERL_BYTES_UNKNOWN);
}

/* A whole Data-In (bad: its data digest failed). */
static int e1_data_in(struct conn *c, const struct bhs_data_in *d, bool bad, const char **why)
{
	struct task *t = e1_task(c, pdu_get32(&d->din_itt));
	uint32_t datasn = pdu_get32(&d->din_datasn), dsl = pdu_dsl(d);

	if (!t)
		return 0;               /* its header was checked: cannot happen */
	if (bad) {
		if (erl_din_check(&t->din, datasn) <= ERL_DIN_AHEAD) {
			erl_din_lost(&t->din, datasn);
			e1_fault(c, t);
		}
		c->e1.st.data_dropped++;
		sess_log(c->sess, 4, "%s: ERL 1: data digest error in Data-In ITT 0x%08x "
			 "DataSN %u: asking for it again", c->peer, t->itt, datasn);
	} else if (erl_din_commit(&t->din, datasn, dsl) == -EALREADY) {
		c->e1.st.dup_dropped++;
	}
	t->exp_datasn = t->din.exp;
	t->rx_bytes = erl_din_bytes(&t->din);
	if (!bad && (d->din_flags & DATA_IN_ACK))
		erl_din_ack_asked(&t->din, datasn, pdu_get32(&d->din_ttt));
	if (!(d->din_flags & DATA_IN_STATUS)) {
		e1_din_progress(c, t);
		return 0;
	}
	if (t->held) {
		/* A resent copy: its status is the one held. A target that
		 * numbers it anew leaves a StatSN to account for. */
		int rc = bad ? 1 : e1_stat_rx(c, hdr_statsn((const void *)d), false, why);
		if (rc < 0)
			return rc;
		e1_din_progress(c, t);
		return 0;
	}
	if (erl_din_status(&t->din, datasn + 1) < 0) {
		*why = "Data-In status counts fewer PDUs than arrived";
		return -EPROTO;
	}
	bool under = (d->din_flags & DATA_IN_UNDERFLOW) != 0;
	bool over = (d->din_flags & DATA_IN_OVERFLOW) != 0;
	uint32_t want = e1_want(t, d->din_status == SCSI_STATUS_GOOD, under,
				pdu_get32(&d->din_residual));
	bool complete = !bad && (t->retry || erl_din_complete(&t->din, want));
	int rc = e1_stat_rx(c, hdr_statsn((const void *)d), !complete, why);
	if (rc < 0)
		return rc;             /* a duplicate StatSN: see e1_scsi_rsp() */
	if (complete) {
		if (t->fault_ns) {
			e1_recovered(c, t->fault_ns, "read", t->itt);
			t->fault_ns = 0;
		}
		e1_din_progress(c, t);  /* a DataACK for the A bit */
		return 1;               /* rx_data_in() completes it */
	}
	/* The status, taken from the header, waits for the data. */
	struct mcsi_result *res = &t->cmd->res;
	res->flags = (under ? MCSI_RES_UNDERFLOW : 0) | (over ? MCSI_RES_OVERFLOW : 0);
	res->residual = res->flags ? pdu_get32(&d->din_residual) : 0;
	res->sense_len = 0;
	res->response = SCSI_RSP_COMPLETED;
	res->status = d->din_status;
	res->err = d->din_status != SCSI_STATUS_GOOD ? -EIO : 0;
	t->held = true;
	t->held_statsn = hdr_statsn((const void *)d);
	t->held_want = want;
	c->e1.st.held++;
	e1_fault(c, t);
	e1_din_progress(c, t);
	return 0;
}

/* A SCSI Response: hold it while its read misses data. */
static int e1_scsi_rsp(struct conn *c, const struct bhs_scsi_rsp *r, const char **why)
{
	struct task *t = e1_task(c, pdu_get32(&r->rsp_itt));
	uint32_t sn = pdu_get32(&r->rsp_statsn);
	bool complete = true;
	uint32_t want = ERL_BYTES_UNKNOWN;

	if (!t || t->held) {
		/* A status asked for again that is already here, or that we
		 * asked for and whose task is done (a resent copy numbered
		 * anew was taken for it): drop it. Otherwise the normal
		 * handler judges the ITT. */
		bool asked = sn_lt(sn, c->e1.stat.high);
		int rc = e1_stat_rx(c, sn, false, why);
		return rc < 0 ? rc : t || asked ? 0 : rc;
	}
	if (task_reads(t) && !t->retry) {
		if (erl_din_status(&t->din, pdu_get32(&r->rsp_expdatasn)) < 0) {
			*why = "SCSI Response ExpDataSN below a DataSN that arrived";
			return -EPROTO;
		}
		want = e1_want(t, r->rsp_response == SCSI_RSP_COMPLETED &&
			       r->rsp_status == SCSI_STATUS_GOOD,
			       (r->rsp_flags & SCSI_RSP_UNDERFLOW) != 0,
			       pdu_get32(&r->rsp_residual));
		complete = erl_din_complete(&t->din, want);
	}
	int rc = e1_stat_rx(c, sn, !complete, why);
	if (rc < 0)
		return rc;
	/* A StatSN seen before on a command still waiting for its status:
	 * the target numbered something wrong, but this status is the
	 * only one this command gets. */
	if (!complete) {
		t->held = true;
		t->held_statsn = sn;
		t->held_want = want;
		c->e1.st.held++;
		e1_fault(c, t);
	} else if (t->fault_ns) {
		e1_recovered(c, t->fault_ns, "command", t->itt);
		t->fault_ns = 0;
	}
	return 1;
}

bool conn_erl1_hold(struct conn *c, struct task *t)
{
	if (!c->e1.on || !t->held)
		return false;
	t->cmd->res.data_in = t->rx_bytes;
	e1_task_snacks(c, t, t->held_want);
	return true;
}

/* The StatSN of a response to a task (or of an Async / Reject): a
 * duplicate is a resent copy, dropped, unless it answers a task that is
 * still waiting (a target that numbered wrong: the answer still counts). */
static int e1_stat_live(struct conn *c, const uint8_t *hdr, uint32_t sn, const char **why)
{
	int rc = e1_stat_rx(c, sn, false, why);
	uint32_t itt = pdu_itt(hdr);

	if (rc != 0 || itt == PDU_RESERVED_TAG)
		return rc;
	struct task *t = task_lookup(&c->r->tt, itt);
	return t && t->conn == c && t->state == TASK_ACTIVE ? 1 : 0;
}

int conn_erl1_pdu(struct conn *c, const uint8_t *hdr, const char **why)
{
	uint32_t sn = hdr_statsn(hdr);

	if (!c->e1.on)
		return 1;
	c->e1.bad_hdrs = 0;
	switch (pdu_opcode(hdr)) {
	case PDU_OP_DATA_IN:
		return e1_data_in(c, (const void *)hdr, false, why);
	case PDU_OP_SCSI_RSP:
		return e1_scsi_rsp(c, (const void *)hdr, why);
	case PDU_OP_R2T: {
		/* Carries the next StatSN without taking one. */
		erl_stat_next(&c->e1.stat, sn);
		e1_stat_snacks(c);
		/* A copy of one we have (an R2T SNACK crossed it): it is
		 * answered already. */
		struct task *t = e1_task(c, pdu_itt(hdr));
		const struct bhs_r2t *r = (const void *)hdr;
		if (t && sn_lt(pdu_get32(&r->r2t_r2tsn), t->exp_r2tsn)) {
			c->e1.st.dup_dropped++;
			return 0;
		}
		return 1;
	}
	case PDU_OP_NOP_IN:
		if (pdu_itt(hdr) == PDU_RESERVED_TAG) {
			erl_stat_next(&c->e1.stat, sn);
			e1_stat_snacks(c);
			return 1;
		}
		return e1_stat_live(c, hdr, sn, why);
	default:
		return e1_stat_live(c, hdr, sn, why);
	}
}

int conn_erl1_data_in_hdr(struct conn *c, struct task *t, const struct bhs_data_in *d,
			  struct seg_data *dst, const char **why)
{
	uint32_t dsl = pdu_dsl(d), off = pdu_get32(&d->din_offset);

	if (dsl > t->rlen || off > t->rlen - dsl) {
		*why = "Data-In beyond the expected length";
		return -EPROTO;
	}
	if ((d->din_flags & DATA_IN_STATUS) && !(d->din_flags & PDU_FINAL)) {
		*why = "Data-In with status but without the F bit";
		return -EPROTO;
	}
	c->st.bytes_in += dsl;
	cset_count_bytes(&c->sess->cs, c->slot, dsl, 0);
	switch (erl_din_check(&t->din, pdu_get32(&d->din_datasn))) {
	case ERL_DIN_NEXT:
	case ERL_DIN_AHEAD:
		*dst = (struct seg_data){ t->riov, t->riovcnt, off };
		break;
	default:
		/* A copy we have, or too far out: never over good data. */
		*dst = (struct seg_data){ &c->scratch_iov, 1, 0 };
		break;
	}
	return 0;
}

/* ---- the segment cursor's error hooks ------------------------------------ */

static void e1_ping_done(struct task *t, int err)
{
	(void)t;
	(void)err;
}

int conn_erl1_bad_header(void *ctx, const uint8_t *hdr, uint32_t hdr_len,
			 uint32_t *skip, const char **why)
{
	struct conn *c = ctx;
	struct mcsi_session *s = c->sess;

	if (!c->e1.on || hdr_len != PDU_BHS_LEN)
		return -EBADMSG;
	if (++c->e1.bad_hdrs > 1) {
		*why = "two header digest errors in a row";
		return -EBADMSG;
	}
	if (erl_skip_len(hdr, c->params.data_digest, c->params.max_recv_dsl, skip, why) < 0)
		return -EBADMSG;
	c->e1.st.hdr_skipped++;
	c->e1.hdr_fault_ns = c->r->now;
	c->e1.r2t_probe_ns = c->r->now + CONN_ERL1_RETRY_NS;
	e1_fault(c, NULL);
	sess_log(s, 4, "%s: ERL 1: header digest error: PDU skipped (%u bytes), "
		 "recovering from the gap", c->peer, *skip);
	/* A lost status shows as a StatSN gap in the ping's answer. */
	if (!c->ping) {
		struct task *t = task_alloc(&c->r->tt, TASK_NOP);
		if (t) {
			unsigned ms = s->cfg.nop_timeout_ms ? s->cfg.nop_timeout_ms : 5000;
			t->ctl_done = e1_ping_done;
			t->deadline_ns = c->r->now + ms * 1000000ull;
			conn_queue_ctl(c, t);
			c->ping = t;
		}
	}
	return 0;
}

int conn_erl1_bad_data(void *ctx, const uint8_t *hdr, const char **why)
{
	struct conn *c = ctx;

	if (!c->e1.on)
		return -EBADMSG;
	c->e1.bad_hdrs = 0;
	switch (pdu_opcode(hdr)) {
	case PDU_OP_DATA_IN:
		return e1_data_in(c, (const void *)hdr, true, why);
	case PDU_OP_NOP_IN:
		/* Ping data is echoed by nobody here: the PDU still counts. */
		return conn_rx_ops.on_pdu(c, hdr, why);
	default:
		/* A response (sense, Reject, Async, Text): ask for it again. */
		erl_stat_lost(&c->e1.stat, hdr_statsn(hdr));
		c->e1.st.data_dropped++;
		sess_log(c->sess, 4, "%s: ERL 1: data digest error in %s StatSN %u: asking "
			 "for it again", c->peer, pdu_opcode_name(pdu_opcode(hdr)),
			 hdr_statsn(hdr));
		c->e1.stat_fault_ns = c->r->now;
		e1_stat_snacks(c);
		return 0;
	}
}

/* The target dropped t's command PDU: its CmdSN is a hole only the same
 * PDU fills (same ITT and CmdSN, RFC 7143 7.2.1), so it goes first, with
 * its immediate and unsolicited data again (tx_cmd()). */
static void e1_retry_cmd(struct conn *c, struct task *t, const char *what)
{
	conn_unqueue(c, t);
	t->erl2 = ERL2_T_RETRY;
	t->state = TASK_QUEUED;
	conn_queue_cmd_front(c, t);
	e1_fault(c, t);
	sess_log(c->sess, 4, "%s: ERL 1: command ITT 0x%08x CmdSN %u sent again (%s)",
		 c->peer, t->itt, t->cmdsn, what);
}

int conn_erl1_reject(struct conn *c, const struct bhs_reject *r, const char **why)
{
	const uint8_t *rej = c->scratch;
	int err = 0;

	if (!c->e1.on)
		return 1;
	struct task *t = e1_task(c, pdu_itt(rej));
	enum erl_reject_action a = erl_reject_plan(c->params.error_recovery_level,
						   r->rej_reason, rej[0], rej[1] & 0x0f, &err);
	switch (a) {
	case ERL_RJ_WAIT_R2T:
		/* The recovery R2T (or a CHECK CONDITION) follows. */
		c->e1.st.recovery_r2t++;
		e1_fault(c, t);
		return 0;
	case ERL_RJ_IGNORE:
		return 0;
	case ERL_RJ_DATA_LOST:
		if (t && !task_reads(t))
			return 0;        /* an R2T SNACK for one not sent yet */
		if (t) {
			/* The data cannot come back: issue it again once its
			 * status is here. */
			t->retry = true;
			if (t->held)
				e1_held_done(c, t);
			return 0;
		}
		return 0;
	case ERL_RJ_RETRY_CMD:
		/* Its immediate data was damaged: the target dropped the
		 * command. */
		if (!t || t->erl2 != ERL2_T_NONE || t->nr2t)
			return 1;
		e1_retry_cmd(c, t, "its immediate data was damaged");
		c->e1.st.cmd_retry++;
		return 0;
	case ERL_RJ_CLOSE:
		*why = "the target refused a recovery request";
		return -EBADMSG;
	default:
		return 1;
	}
}

bool conn_erl1_r2t_ahead(struct conn *c, struct task *t, uint32_t sn)
{
	if (!c->e1.on || t->nr2t || !sn_gt(sn, t->exp_r2tsn) || sn - t->exp_r2tsn > 32)
		return false;
	c->e1.st.r2t_ahead++;
	sess_log(c->sess, 4, "%s: ERL 1: R2T ITT 0x%08x R2TSN %u while %u was expected: taken "
		 "as the target's recovery R2T for the lost one", c->peer, t->itt, sn,
		 t->exp_r2tsn);
	t->exp_r2tsn = sn;
	return true;
}

/* ---- abandoned ITTs -------------------------------------------------------- */

void conn_erl1_zombie_add(struct conn *c, uint32_t itt)
{
	c->e1.zombie[c->e1.zombie_next] = itt;
	c->e1.zombie_next = (c->e1.zombie_next + 1u) % CONN_ZOMBIES;
	if (c->e1.nzombie < CONN_ZOMBIES)
		c->e1.nzombie++;
}

bool conn_erl1_is_zombie(struct conn *c, uint32_t itt)
{
	if (!c->e1.nzombie || task_lookup(&c->r->tt, itt))
		return false;      /* a live task has it (the generation wrapped) */
	for (unsigned i = 0; i < c->e1.nzombie; i++)
		if (c->e1.zombie[i] == itt)
			return true;
	return false;
}

int conn_erl1_zombie_pdu(struct conn *c, const uint8_t *hdr, const char **why)
{
	unsigned op = pdu_opcode(hdr);
	bool status = op == PDU_OP_SCSI_RSP ||
		      (op == PDU_OP_DATA_IN && (hdr[1] & DATA_IN_STATUS));
	uint32_t sn = hdr_statsn(hdr);

	if (!c->e1.nzombie || (op != PDU_OP_DATA_IN && op != PDU_OP_SCSI_RSP &&
			       op != PDU_OP_R2T) || !conn_erl1_is_zombie(c, pdu_itt(hdr)))
		return 1;
	c->e1.st.zombie_dropped++;
	sess_log(c->sess, 6, "%s: %s for abandoned ITT 0x%08x dropped", c->peer,
		 pdu_opcode_name(op), pdu_itt(hdr));
	if (c->e1.on) {
		c->e1.bad_hdrs = 0;
		if (status)
			return e1_stat_rx(c, sn, false, why) < 0 ? -EBADMSG : 0;
		if (op == PDU_OP_R2T)
			erl_stat_next(&c->e1.stat, sn);
		return 0;
	}
	if (status && sn_ge(sn, c->exp_statsn))
		c->exp_statsn = sn + 1;
	return 0;
}

/* ---- sending and timers --------------------------------------------------- */

void conn_erl1_produce(struct conn *c)
{
	unsigned i = 0;

	for (; i < c->e1.nq; i++) {
		pdu_stamp_expstatsn(c->e1.q[i].bhs, c->exp_statsn);
		if (!conn_tx_raw(c, c->e1.q[i].bhs))
			break;
	}
	memmove(&c->e1.q[0], &c->e1.q[i], (c->e1.nq - i) * sizeof(c->e1.q[0]));
	c->e1.nq -= i;
}

/* The command of this connection the target's ExpCmdSN names, if it
 * was sent and is not being retried, reassigned or aborted. */
static struct task *e1_hole_task(struct conn *c, uint32_t exp)
{
	struct task_table *tt = &c->r->tt;
	struct task *t = e1_task(c, c->e1.hole_itt);

	if (t && t->cmdsn == exp)
		return t->erl2 == ERL2_T_NONE && !t->abort_state ? t : NULL;
	for (uint32_t i = 0; i < tt->n; i++) {
		t = &tt->tasks[i];
		if (t->state == TASK_ACTIVE && t->kind == TASK_SCSI && t->conn == c &&
		    t->cmdsn == exp)
			return t->erl2 == ERL2_T_NONE && !t->abort_state ? t : NULL;
	}
	return NULL;
}

/* A command the target dropped without a word (its header was damaged
 * there) leaves its CmdSN as the target's ExpCmdSN for good. Seen for
 * CONN_ERL1_HOLE_NS, a ping goes after it on this connection: the
 * target answers the ping after the command has arrived (one TCP
 * stream), so an answer whose ExpCmdSN still names the command proves
 * the loss; a slow command is acknowledged by it and costs one ping. */
static void e1_hole_scan(struct conn *c, uint64_t now)
{
	struct mcsi_session *s = c->sess;
	uint32_t exp = sess_win_exp(atomic_load(&s->window));
	struct task *t;

	if (c->e1.hole_pinged) {
		if (task_lookup(&c->r->tt, c->e1.hole_ping_itt))
			return;                 /* not answered yet */
		c->e1.hole_pinged = false;
		t = e1_task(c, c->e1.hole_itt);
		if (t && t->cmdsn == exp && t->cmdsn == c->e1.hole_cmdsn &&
		    t->erl2 == ERL2_T_NONE && !t->abort_state) {
			c->e1.hole_ns = 0;
			c->e1.st.cmd_lost++;
			if (!t->fault_ns)       /* the loss counts from the send */
				t->fault_ns = t->start_ns;
			e1_retry_cmd(c, t, "the target's ExpCmdSN stayed at it: lost there");
			conn_tx_kick(c);
			return;
		}
	}
	if (sess_cmdsn_peek(s) == exp || !(t = e1_hole_task(c, exp))) {
		c->e1.hole_ns = 0;          /* nothing outstanding here */
		return;
	}
	if (!c->e1.hole_ns || t->itt != c->e1.hole_itt || t->cmdsn != c->e1.hole_cmdsn) {
		c->e1.hole_itt = t->itt;
		c->e1.hole_cmdsn = t->cmdsn;
		c->e1.hole_ns = now;
		return;
	}
	if (now - c->e1.hole_ns < CONN_ERL1_HOLE_NS || c->ping)
		return;
	struct task *p = task_alloc(&c->r->tt, TASK_NOP);
	if (!p)
		return;
	unsigned ms = s->cfg.nop_timeout_ms ? s->cfg.nop_timeout_ms : 5000;
	p->ctl_done = e1_ping_done;
	p->deadline_ns = now + ms * 1000000ull;
	conn_queue_ctl(c, p);
	c->ping = p;
	c->e1.hole_ping_itt = p->itt;
	c->e1.hole_pinged = true;
	c->e1.hole_ns = now;            /* a slow command: next check later */
	c->e1.st.hole_pings++;
	conn_tx_kick(c);
}

void conn_erl1_scan(struct conn *c, uint64_t now)
{
	struct task_table *tt = &c->r->tt;
	bool pending = false, probe = c->e1.r2t_probe_ns && now >= c->e1.r2t_probe_ns;
	uint8_t b[PDU_BHS_LEN] __attribute__((aligned(8)));

	if (!c->e1.on)
		return;
	e1_hole_scan(c, now);
	if (!c->e1.busy && !probe)
		return;
	if (probe)
		c->e1.r2t_probe_ns = 0;
	for (uint32_t i = 0; i < tt->n; i++) {
		struct task *t = &tt->tasks[i];
		if (t->state != TASK_ACTIVE || t->kind != TASK_SCSI || t->conn != c)
			continue;
		if (probe && t->awaits_r2t && t->nr2t == 0) {
			/* MaxOutstandingR2T 1: nothing else would bring it. */
			erl_build_data_snack(b, t->lun, t->itt, t->exp_r2tsn, 0, c->exp_statsn);
			e1_queue(c, b);
			c->e1.st.snack_r2t++;
			sess_log(c->sess, 4, "%s: ERL 1: R2T SNACK for ITT 0x%08x R2TSN %u+",
				 c->peer, t->itt, t->exp_r2tsn);
		}
		if (t->fault_ns) {
			pending = true;
			if (task_reads(t))
				e1_task_snacks(c, t, t->held ? t->held_want : ERL_BYTES_UNKNOWN);
		}
	}
	struct erl_run run;
	if (erl_stat_gaps(&c->e1.stat, &run, 1)) {
		pending = true;
		e1_stat_snacks(c);
	}
	c->e1.busy = pending;
	if (c->e1.nq)
		conn_tx_kick(c);
}
