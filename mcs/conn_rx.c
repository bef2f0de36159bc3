/* SPDX-License-Identifier: MIT */
/*
 * The receive side of a connection: the segment cursor's callbacks. Every
 * header is checked (pdu_check_target_pdu() for what needs no state, then
 * the task, DataSN, offsets and R2T limits here) before a byte of its data
 * segment is placed. Data-In goes straight into the command's buffers at
 * its buffer offset; other segments (sense, ping data, rejected headers,
 * async sense) into the connection's scratch buffer.
 */
#include "mcs/conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mcs/conn_erl2.h"
#include "mcs/reactor.h"
#include "proto/pdu.h"
#include "proto/scsi.h"
#include "proto/sense.h"
#include "proto/serial.h"


static const char *rx_why(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *rx_why(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return c->why;
}

/* Status-carrying PDUs advance ExpStatSN (RFC 7143 4.2.2.2). */
static void rx_statsn(struct conn *c, const void *hdr)
{
	uint32_t sn = pdu_get32(&((const struct pdu_bhs *)hdr)->bhs_spec2[1]);

	if (c->e1.on) {                /* ERL >= 1: conn_erl1_pdu() tracked it */
		c->exp_statsn = erl_stat_expstatsn(&c->e1.stat);
		return;
	}
	if (sn_ge(sn, c->exp_statsn))
		c->exp_statsn = sn + 1;
}

static struct task *rx_task(struct conn *c, uint32_t itt, enum task_kind kind,
			    const char *what, const char **why)
{
	struct task *t = task_lookup(&c->r->tt, itt);

	if (!t || t->kind != kind || t->conn != c || t->state != TASK_ACTIVE) {
		*why = rx_why(c, "%s for unknown ITT 0x%08x", what, itt);
		return NULL;
	}
	return t;
}

/* MaxCmdSN grew: the queues whose commands wait for the window go on,
 * whichever connection they are on (connset.h: cset_window_opened). */
static void rx_window_opened(struct conn *c)
{
	struct mcsi_session *s = c->sess;
	uint64_t m = cset_window_opened(&s->cs);

	if (c->r->window_waiters)
		m |= 1ull << c->r->index;
	for (unsigned q = 0; m && q < s->nq; q++) {
		if (!(m & (1ull << q)))
			continue;
		if (s->q[q] == c->r)
			reactor_window_opened(c->r);
		else
			reactor_window_kick(s->q[q]);
	}
}

/* ---- headers ------------------------------------------------------------- */

static int rx_data_in_hdr(struct conn *c, const struct bhs_data_in *d,
			  struct seg_data *dst, const char **why)
{
	uint32_t dsl = pdu_dsl(d), datasn, off;
	struct task *t = rx_task(c, pdu_get32(&d->din_itt), TASK_SCSI, "Data-In", why);

	if (!t)
		return -EPROTO;
	if (t->cmd->dir != MCSI_DIR_READ && t->cmd->dir != MCSI_DIR_BIDI) {
		*why = "Data-In for a command that reads no data";
		return -EPROTO;
	}
	if (c->e1.on)
		return conn_erl1_data_in_hdr(c, t, d, dst, why);
	datasn = pdu_get32(&d->din_datasn);
	if (datasn != t->exp_datasn) {
		*why = rx_why(c, "Data-In DataSN gap on ITT 0x%08x: expected %u, got %u",
			      t->itt, t->exp_datasn, datasn);
		return -EPROTO;
	}
	off = pdu_get32(&d->din_offset);
	if (dsl > t->rlen || off > t->rlen - dsl) {
		*why = rx_why(c, "Data-In beyond the expected length on ITT 0x%08x: "
			      "offset %u + %u > %u", t->itt, off, dsl, t->rlen);
		return -EPROTO;
	}
	if ((d->din_flags & DATA_IN_STATUS) && !(d->din_flags & PDU_FINAL)) {
		*why = "Data-In with status but without the F bit";
		return -EPROTO;
	}
	t->exp_datasn++;
	t->rx_bytes += dsl;
	c->st.bytes_in += dsl;
	cset_count_bytes(&c->sess->cs, c->slot, dsl, 0);
	*dst = (struct seg_data){ t->riov, t->riovcnt, off };
	return 0;
}

static int rx_header(void *ctx, const uint8_t *hdr, uint32_t hdr_len,
		     struct seg_data *dst, const char **why)
{
	struct conn *c = ctx;
	const struct pdu_bhs *b = (const void *)hdr;
	struct pdu_limits lim = { .max_recv_dsl = c->params.max_recv_dsl };
	uint32_t dsl = pdu_dsl(hdr);

	(void)hdr_len;
	if (dsl > c->params.max_recv_dsl) {
		*why = rx_why(c, "%s segment of %u bytes is longer than our "
			      "MaxRecvDataSegmentLength %u",
			      pdu_opcode_name(pdu_opcode(hdr)), dsl,
			      c->params.max_recv_dsl);
		return -EPROTO;
	}
	if (pdu_check_target_pdu(hdr, &lim, why) < 0)
		return -EPROTO;
	c->st.pdus_in++;
	/* Every target PDU in full feature phase carries ExpCmdSN and
	 * MaxCmdSN at the same place. */
	if (sess_window_update(c->sess, pdu_get32(&b->bhs_spec2[2]),
			       pdu_get32(&b->bhs_spec2[3])))
		rx_window_opened(c);
	/* Data-In for an abandoned ITT goes to scratch (conn_erl1_zombie_pdu()). */
	if (pdu_opcode(hdr) == PDU_OP_DATA_IN && !conn_erl1_is_zombie(c, pdu_itt(hdr)))
		return rx_data_in_hdr(c, (const void *)hdr, dst, why);
	if (dsl > 0)
		*dst = (struct seg_data){ &c->scratch_iov, 1, 0 };
	return 0;
}

/* ---- whole PDUs ---------------------------------------------------------- */

/* The sense bytes are the target's: a malformed sense buffer is kept for
 * the caller but decodes to nothing (it is not a protocol error). */
static void rx_decode_sense(struct mcsi_result *res)
{
	struct sense_info si;

	if (sense_parse(res->sense, res->sense_len, &si, NULL) < 0)
		return;
	res->sense_key = si.key;
	res->asc = si.asc;
	res->ascq = si.ascq;
}

static void rx_set_status(struct task *t, uint8_t response, uint8_t status)
{
	struct mcsi_result *res = &t->cmd->res;

	res->response = response;
	res->status = status;
	res->data_in = t->rx_bytes;
	res->err = response != SCSI_RSP_COMPLETED || status != SCSI_STATUS_GOOD ? -EIO : 0;
	if (status == SCSI_STATUS_CHECK_CONDITION &&
	    res->sense_key == SENSE_KEY_UNIT_ATTENTION && t->ua_left > 0 &&
	    !(t->cmd->flags & MCSI_CMD_NO_UA_RETRY)) {
		t->ua_left--;
		t->retry = true;
		t->conn->st.retries++;
		/* The retry hides the UNIT ATTENTION from the caller; the
		 * application still hears of it, as of an asynchronous SCSI
		 * event (REPORTED LUNS DATA HAS CHANGED, CAPACITY DATA HAS
		 * CHANGED, ...: time to rescan). */
		struct mcsi_event ev = {
			.type = MCSI_EV_SCSI_EVENT, .cid = t->conn->cid, .lun = t->cmd->lun,
			.sense = res->sense, .sense_len = res->sense_len,
		};
		sess_event(t->conn->sess, &ev);
	}
}

static int rx_data_in(struct conn *c, const struct bhs_data_in *d)
{
	struct task *t = task_lookup(&c->r->tt, pdu_get32(&d->din_itt));

	if (!(d->din_flags & DATA_IN_STATUS) || !t)
		return 0;
	rx_statsn(c, d);
	struct mcsi_result *res = &t->cmd->res;
	res->flags = 0;
	res->residual = 0;
	if (d->din_flags & DATA_IN_UNDERFLOW)
		res->flags |= MCSI_RES_UNDERFLOW;
	if (d->din_flags & DATA_IN_OVERFLOW)
		res->flags |= MCSI_RES_OVERFLOW;
	if (res->flags)
		res->residual = pdu_get32(&d->din_residual);
	res->sense_len = 0;
	rx_set_status(t, SCSI_RSP_COMPLETED, d->din_status);
	reactor_finish(c->r, t, res->err);
	return 0;
}

static int rx_scsi_rsp(struct conn *c, const struct bhs_scsi_rsp *r, const char **why)
{
	struct task *t = rx_task(c, pdu_get32(&r->rsp_itt), TASK_SCSI, "SCSI Response", why);
	uint32_t dsl = pdu_dsl(r);

	if (!t)
		return -EPROTO;
	rx_statsn(c, r);
	struct mcsi_result *res = &t->cmd->res;
	res->flags = 0;
	if (r->rsp_flags & SCSI_RSP_UNDERFLOW)
		res->flags |= MCSI_RES_UNDERFLOW;
	if (r->rsp_flags & SCSI_RSP_OVERFLOW)
		res->flags |= MCSI_RES_OVERFLOW;
	if (r->rsp_flags & SCSI_RSP_BIDI_UNDERFLOW)
		res->flags |= MCSI_RES_BIDI_UNDERFLOW;
	if (r->rsp_flags & SCSI_RSP_BIDI_OVERFLOW)
		res->flags |= MCSI_RES_BIDI_OVERFLOW;
	res->residual = pdu_get32(&r->rsp_residual);
	res->bidi_residual = pdu_get32(&r->rsp_bidi_residual);
	res->sense_len = 0;
	res->sense_key = res->asc = res->ascq = 0;
	if (dsl >= 2) {
		uint32_t sl = (uint32_t)c->scratch[0] << 8 | c->scratch[1];
		if (sl > dsl - 2) {
			*why = "sense length runs past the data segment";
			return -EPROTO;
		}
		if (sl > MCSI_SENSE_MAX)
			sl = MCSI_SENSE_MAX;
		memcpy(res->sense, c->scratch + 2, sl);   /* sense, not payload */
		res->sense_len = (uint16_t)sl;
		rx_decode_sense(res);
	} else if (dsl == 1) {
		*why = "SCSI Response data segment of 1 byte";
		return -EPROTO;
	}
	rx_set_status(t, r->rsp_response, r->rsp_status);
	if (conn_erl1_hold(c, t))
		return 0;              /* ERL 1: waits for its Data-In */
	reactor_finish(c->r, t, res->err);
	return 0;
}

static int rx_r2t(struct conn *c, const struct bhs_r2t *r, const char **why)
{
	struct task *t = rx_task(c, pdu_get32(&r->r2t_itt), TASK_SCSI, "R2T", why);
	uint32_t sn, off, len, max_r2t;

	if (!t)
		return -EPROTO;
	if (t->cmd->dir != MCSI_DIR_WRITE && t->cmd->dir != MCSI_DIR_BIDI) {
		*why = "R2T for a command that writes no data";
		return -EPROTO;
	}
	sn = pdu_get32(&r->r2t_r2tsn);
	off = pdu_get32(&r->r2t_offset);
	len = pdu_get32(&r->r2t_desired);
	if (sn != t->exp_r2tsn && !conn_erl2_r2t_resync(t, sn) &&
	    !conn_erl1_r2t_ahead(c, t, sn)) {
		*why = rx_why(c, "R2TSN gap on ITT 0x%08x: expected %u, got %u",
			      t->itt, t->exp_r2tsn, sn);
		return -EPROTO;
	}
	if (len == 0 || len > t->wlen || off > t->wlen - len) {
		*why = rx_why(c, "R2T beyond the command's length on ITT 0x%08x: "
			      "offset %u + %u > %u", t->itt, off, len, t->wlen);
		return -EPROTO;
	}
	if (len > c->params.max_burst_length) {
		*why = rx_why(c, "R2T asks for %u bytes, more than MaxBurstLength %u",
			      len, c->params.max_burst_length);
		return -EPROTO;
	}
	max_r2t = c->params.max_outstanding_r2t;
	if (max_r2t > TASK_MAX_R2T)
		max_r2t = TASK_MAX_R2T;
	/* ERL >= 1: only R2Ts not yet fully built count, since a recovery
	 * R2T may come before the last Data-Out's send completion is seen. */
	if ((uint32_t)(t->nr2t - (c->e1.on ? t->r2t_built : 0)) >= max_r2t ||
	    t->nr2t >= TASK_MAX_R2T) {
		*why = rx_why(c, "too many outstanding R2Ts on ITT 0x%08x (limit %u)",
			      t->itt, max_r2t);
		return -EPROTO;
	}
	struct task_r2t *q = &t->r2t[(t->r2t_head + t->nr2t) % TASK_MAX_R2T];
	*q = (struct task_r2t){ .ttt = pdu_get32(&r->r2t_ttt), .offset = off, .len = len };
	t->nr2t++;
	t->exp_r2tsn++;
	t->r2t_asked += len;
	if (t->awaits_r2t && t->unsol_end + t->r2t_asked >= t->wlen) {
		/* The last R2T of this command: nothing more to wait for. */
		t->awaits_r2t = false;
		c->r2t_waiters--;
	}
	c->st.r2ts++;
	conn_queue_dout(c, t);
	return 0;
}

static int rx_nop_in(struct conn *c, const struct bhs_nop_in *n, const char **why)
{
	uint32_t itt = pdu_get32(&n->nopi_itt), ttt = pdu_get32(&n->nopi_ttt);
	struct task *t;

	c->st.nops_in++;
	if (itt == PDU_RESERVED_TAG) {
		/* The target pings: answer with its TTT and LUN. */
		if (ttt != PDU_RESERVED_TAG &&
		    conn_queue_nop_reply(c, ttt, n->nopi_lun) < 0) {
			*why = "too many NOP-In pings left unanswered";
			return -EPROTO;
		}
		return 0;
	}
	if (!(t = rx_task(c, itt, TASK_NOP, "NOP-In", why)))
		return -EPROTO;
	rx_statsn(c, n);
	if (c->ping == t)
		c->ping = NULL;
	reactor_finish(c->r, t, 0);
	return 0;
}

static int rx_tmf_rsp(struct conn *c, const struct bhs_tmf_rsp *r, const char **why)
{
	struct task *t = rx_task(c, pdu_get32(&r->tmfr_itt), TASK_TMF,
				 "Task Management Response", why);

	if (!t)
		return -EPROTO;
	rx_statsn(c, r);
	t->tmf_response = r->tmfr_response;
	reactor_finish(c->r, t, 0);
	return 0;
}

static int rx_logout_rsp(struct conn *c, const struct bhs_logout_rsp *r, const char **why)
{
	struct task *t = rx_task(c, pdu_get32(&r->lgor_itt), TASK_LOGOUT,
				 "Logout Response", why);

	if (!t)
		return -EPROTO;
	rx_statsn(c, r);
	t->tmf_response = r->lgor_response;
	/* ERL 2: the Logout of another connection leaves this one up. */
	bool other = (t->ref_itt & CONN_ERL2_OTHER_CID) != 0;
	if (other)                       /* which responses time what: there */
		conn_erl2_logout_times(c->r, t, pdu_get16(&r->lgor_time2wait),
				       pdu_get16(&r->lgor_time2retain));
	reactor_finish(c->r, t, r->lgor_response == LOGOUT_RSP_OK ? 0 : -EIO);
	if (r->lgor_response == LOGOUT_RSP_OK && !other) {
		conn_closed(c);
		*why = NULL;
		return -ECONNABORTED;  /* stop the stream, not an error */
	}
	return 0;
}

static int rx_async(struct conn *c, const struct bhs_async *a, const char **why)
{
	uint32_t dsl = pdu_dsl(a);
	struct mcsi_event ev = {
		.cid = c->cid,
		.lun = pdu_lun_decode(a->async_lun),
		.code = a->async_vcode,
		.param = { pdu_get16(&a->async_param1), pdu_get16(&a->async_param2),
			   pdu_get16(&a->async_param3) },
	};

	rx_statsn(c, a);
	switch (a->async_event) {
	case ASYNC_SCSI_EVENT:
		ev.type = MCSI_EV_SCSI_EVENT;
		if (dsl >= 2) {
			uint32_t sl = (uint32_t)c->scratch[0] << 8 | c->scratch[1];
			ev.sense = c->scratch + 2;
			ev.sense_len = sl <= dsl - 2 ? sl : dsl - 2;
		}
		sess_event(c->sess, &ev);
		return 0;
	case ASYNC_LOGOUT_REQUEST:
		ev.type = MCSI_EV_LOGOUT_REQUESTED;
		sess_log(c->sess, 4, "%s: target requests a logout within %u s",
			 c->peer, ev.param[2]);
		sess_event(c->sess, &ev);
		conn_logout_requested(c, ev.param[2]);
		return 0;
	case ASYNC_CONN_DROP:
		/* Parameter1 names the connection (MC/S: maybe another). A
		 * CID the session does not have means this one: the target
		 * is dropping something, and this is what it sent it on. */
		if (ev.param[0] != c->cid && conn_erl2_stale_drop(c->sess, (uint16_t)ev.param[0])) {
			sess_log(c->sess, 6, "%s: async event 2 for connection %u ignored: that is "
				 "the connection ERL 2 just recovered", c->peer, ev.param[0]);
			return 0;
		}
		if (ev.param[0] != c->cid) {
			int slot = cset_find(&c->sess->cs, (uint16_t)ev.param[0]);
			unsigned q = slot >= 0 ? atomic_load(&c->sess->cs.slot[slot].queue) : 0;
			if (slot >= 0 && q < c->sess->nq) {
				ev.type = MCSI_EV_CONN_DROP;
				ev.cid = (uint16_t)ev.param[0];
				sess_event(c->sess, &ev);
				sess_log(c->sess, 4, "%s: target drops connection %u (async event 2)",
					 c->peer, ev.param[0]);
				reactor_request(c->sess->q[q], 1u << slot);
				return 0;
			}
		}
		/* fall through */
	case ASYNC_SESSION_DROP:
		ev.type = a->async_event == ASYNC_CONN_DROP ? MCSI_EV_CONN_DROP
							    : MCSI_EV_SESSION_DROP;
		sess_event(c->sess, &ev);
		*why = a->async_event == ASYNC_CONN_DROP
			? "target is dropping the connection (async event 2)"
			: "target is dropping the session (async event 3)";
		return -ECONNRESET;
	case ASYNC_RENEGOTIATE:
		ev.type = MCSI_EV_RENEGOTIATE;
		sess_event(c->sess, &ev);
		conn_renegotiate(c);
		return 0;
	default:
		sess_log(c->sess, 7, "%s: async event %u ignored", c->peer, a->async_event);
		return 0;
	}
}

static int rx_reject(struct conn *c, const struct bhs_reject *r, const char **why)
{
	uint32_t dsl = pdu_dsl(r);
	struct mcsi_event ev = {
		.type = MCSI_EV_REJECT, .cid = c->cid, .code = r->rej_reason,
		.reason = pdu_reject_reason_name(r->rej_reason),
	};

	rx_statsn(c, r);
	sess_event(c->sess, &ev);
	if (dsl < PDU_BHS_LEN) {
		*why = "Reject without the rejected header";
		return -EPROTO;
	}
	unsigned op = pdu_opcode(c->scratch);
	uint32_t itt = pdu_itt(c->scratch);
	sess_log(c->sess, 4, "%s: target rejected %s ITT 0x%08x: %s", c->peer,
		 pdu_opcode_name(op), itt, ev.reason);
	int e1 = conn_erl1_reject(c, r, why);  /* ERL >= 1: recovery R2T, retry */
	if (e1 != 1)
		return e1;
	if (op == PDU_OP_DATA_OUT || op == PDU_OP_SNACK) {
		/* ERL 0: the data is gone and no recovery R2T will come. */
		*why = rx_why(c, "target rejected a %s PDU: %s",
			      pdu_opcode_name(op), ev.reason);
		return -EPROTO;
	}
	struct task *t = task_lookup(&c->r->tt, itt);
	if (!t || t->conn != c || t->state != TASK_ACTIVE)
		return 0;
	int err = r->rej_reason == REJECT_CMD_NOT_SUPPORTED ? -EOPNOTSUPP : -EPROTO;
	if (t->kind == TASK_SCSI) {
		t->cmd->res.err = err;
		t->retry = false;
	}
	if (c->ping == t)
		c->ping = NULL;
	reactor_finish(c->r, t, err);
	return 0;
}

static int rx_pdu_dispatch(struct conn *c, const uint8_t *hdr, const char **why)
{
	int e1 = conn_erl1_zombie_pdu(c, hdr, why);  /* an abandoned ITT: dropped */

	if (e1 != 1)
		return e1;
	e1 = conn_erl1_pdu(c, hdr, why);  /* ERL >= 1: StatSN, DataSN */
	if (e1 != 1)
		return e1;
	switch (pdu_opcode(hdr)) {
	case PDU_OP_DATA_IN:
		return rx_data_in(c, (const void *)hdr);
	case PDU_OP_SCSI_RSP:
		return rx_scsi_rsp(c, (const void *)hdr, why);
	case PDU_OP_R2T:
		return rx_r2t(c, (const void *)hdr, why);
	case PDU_OP_NOP_IN:
		return rx_nop_in(c, (const void *)hdr, why);
	case PDU_OP_TMF_RSP:
		return rx_tmf_rsp(c, (const void *)hdr, why);
	case PDU_OP_LOGOUT_RSP:
		return rx_logout_rsp(c, (const void *)hdr, why);
	case PDU_OP_ASYNC:
		return rx_async(c, (const void *)hdr, why);
	case PDU_OP_REJECT:
		return rx_reject(c, (const void *)hdr, why);
	case PDU_OP_TEXT_RSP:
		rx_statsn(c, hdr);
		return conn_text_rsp(c, (const void *)hdr, why);
	default:
		*why = rx_why(c, "unexpected %s in full feature phase",
			      pdu_opcode_name(pdu_opcode(hdr)));
		return -EPROTO;
	}
}

static int rx_pdu(void *ctx, const uint8_t *hdr, const char **why)
{
	struct conn *c = ctx;
	int rc = rx_pdu_dispatch(c, hdr, why);

	/* A callback may have closed the connection (a failed escalation,
	 * a logout): the PDUs behind this one in the buffer are moot. */
	if (rc == 0 && (c->state == CONN_FAILED || c->state == CONN_CLOSED)) {
		*why = NULL;
		return -ECONNABORTED;
	}
	return rc;
}

/* Targets send no AHS (RFC 7143 11.2.1.2 defines it for SCSI Commands):
 * refuse the BHS before waiting for bytes a hostile peer never sends. */
static int rx_bhs(void *ctx, const uint8_t *bhs, const char **why)
{
	struct conn *c = ctx;
	struct pdu_limits lim = { .max_recv_dsl = c->params.max_recv_dsl };

	if (pdu_check_target_pdu(bhs, &lim, why) < 0)
		return -EPROTO;
	*why = rx_why(c, "%s announces %u bytes of AHS", pdu_opcode_name(pdu_opcode(bhs)),
		      pdu_ahs_bytes(bhs));
	return -EPROTO;
}

const struct seg_rx_ops conn_rx_ops = {
	.on_header = rx_header,
	.on_pdu = rx_pdu,
	.on_bhs = rx_bhs,
	.on_bad_header = conn_erl1_bad_header,
	.on_bad_data = conn_erl1_bad_data,
};

/* Receive coalescing: when the target is the bottleneck, responses trickle
 * in one at a time, and waking up for each costs a context switch and a
 * system call. With enough commands in flight, the next receive is
 * delayed so that it finds about half of them answered; the target still
 * has the other half queued, so it does not run dry (and it gets our next
 * commands in one batch too). The delay is
 * steered by what receives actually find (rx_adjust()), not by a model of
 * the target: our own scheduling delays count too. Only between PDUs (the
 * rest of a PDU is taken at once), only when a receive can take several
 * PDUs, and never while a write waits for an R2T. */
static unsigned rx_delay_us(struct conn *c)
{
	c->rx_want = 0;
	if (!c->sess->cfg.coalesce_us || c->inflight < CONN_COALESCE_MIN ||
	    !seg_rx_idle(&c->rx) || !seg_rx_batching(&c->rx) || c->r2t_waiters > 0)
		return 0;
	c->rx_want = c->inflight / CONN_COALESCE_DIV;
	return c->rx_delay_us;
}

/* After a receive that was meant to find rx_want PDUs: more means the
 * delay can shrink (in proportion), fewer that it may grow, by a quarter
 * or a few microseconds, up to cfg.coalesce_us. */
static void rx_adjust(struct conn *c)
{
	uint64_t got = c->rx.pdus - c->rx_prev_pdus;
	uint32_t d = c->rx_delay_us, max = c->sess->cfg.coalesce_us;

	c->rx_prev_pdus = c->rx.pdus;
	if (!c->rx_want)
		return;
	if (got > c->rx_want)
		d = (uint32_t)(d * c->rx_want / got);
	else if (got < c->rx_want)
		d += d / 4 > CONN_COALESCE_STEP ? d / 4 : CONN_COALESCE_STEP;
	c->rx_delay_us = d < max ? d : max;
}

void conn_rx_post(struct conn *c)
{
	if (c->xc.recv_busy || c->fd < 0 || c->state == CONN_FAILED ||
	    c->state == CONN_CLOSED)
		return;
	int n = seg_rx_fill(&c->rx, c->riov, CONN_RX_IOV);
	int rc = xport_recv_after(c->r->x, &c->xc, c->riov, n, rx_delay_us(c));

	if (rc < 0)
		conn_fail(c, rc, "cannot post a receive (%d)", rc);
}

void conn_rx_done(struct xport_conn *xc, ssize_t res)
{
	struct conn *c = conn_of_xc(xc);
	const char *why = NULL;
	int rc;

	if (res <= 0) {
		if (res == 0 && !conn_logout_closed(c))
			conn_fail(c, -ECONNRESET, "the target closed the connection");
		else if (res < 0)
			conn_fail(c, (int)res, "receive failed: %s", strerror((int)-res));
		return;
	}
	c->last_rx_ns = c->r->now;
	rc = seg_rx_advance(&c->rx, (size_t)res, &why);
	rx_adjust(c);
	if (c->state == CONN_CLOSED || c->state == CONN_FAILED)
		return;
	if (rc < 0) {
		conn_fail(c, rc == -EBADMSG ? -EBADMSG : rc == -ECONNRESET ? -ECONNRESET : -EPROTO,
			  "%s", why ? why : "protocol error");
		return;
	}
	conn_tx_kick(c);
}
