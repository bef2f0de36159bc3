/* SPDX-License-Identifier: MIT */
/*
 * The transmit side of a connection. Work waits on three queues (control
 * PDUs, SCSI commands, Data-Out); conn_tx_kick() turns it into PDU headers
 * in a ring of preallocated slots, each with a segment cursor over the
 * caller's buffers. conn_tx_flush(), once per reactor turn, hands every
 * slot built during the turn to one sendmsg() (or one io_uring SQE), so
 * the PDUs of many commands share a system call. A partial send resumes
 * in the first unsent slot.
 */
#include "mcs/conn.h"

#include <errno.h>
#include <string.h>

#include "mcs/conn_erl2.h"
#include "mcs/erl_pdu.h"
#include "mcs/reactor.h"
#include "proto/pdu.h"
#include "proto/serial.h"

static inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static inline struct tx_slot *slot_at(struct conn *c, uint32_t i)
{
	return &c->slots[i % CONN_TX_SLOTS];
}

static inline uint32_t slots_free(const struct conn *c)
{
	return CONN_TX_SLOTS - (c->tx_tail - c->tx_head);
}

static struct tx_slot *slot_get(struct conn *c, struct task *t)
{
	struct tx_slot *s = slot_at(c, c->tx_tail++);

	s->task = t;
	s->r2t_final = false;
	if (t)
		t->tx_refs++;
	return s;
}

void conn_task_unref(struct conn *c, struct task *t)
{
	if (--t->tx_refs == 0 && t->state == TASK_DONE)
		reactor_task_done(c->r, t);
}

static void slot_put(struct conn *c, struct tx_slot *s)
{
	struct task *t = s->task;

	s->task = NULL;
	if (!t)
		return;
	if (s->r2t_final) {
		/* The R2T is answered once its last Data-Out is on the wire. */
		s->r2t_final = false;
		t->r2t_head = (uint8_t)((t->r2t_head + 1u) % TASK_MAX_R2T);
		t->nr2t--;
		t->r2t_built--;
	}
	conn_task_unref(c, t);
}

/* ---- queues ----------------------------------------------------------- */

static void q_push(struct task ***tail, struct task *t)
{
	t->next = NULL;
	**tail = t;
	*tail = &t->next;
}

static struct task *q_pop(struct task **head, struct task ***tail)
{
	struct task *t = *head;

	if (t) {
		*head = t->next;
		if (!*head)
			*tail = head;
		t->next = NULL;
	}
	return t;
}

static void q_remove(struct task **head, struct task ***tail, struct task *t)
{
	struct task **pp = head, *prev = NULL;

	while (*pp && *pp != t) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = t->next;
	if (*tail == &t->next)
		*tail = prev ? &prev->next : head;
	t->next = NULL;
}

void conn_queue_cmd(struct conn *c, struct task *t)
{
	t->conn = c;
	t->state = TASK_QUEUED;
	q_push(&c->cmdq_tail, t);
}

void conn_queue_cmd_front(struct conn *c, struct task *t)
{
	t->next = c->cmdq;
	c->cmdq = t;
	if (!t->next)
		c->cmdq_tail = &t->next;
}

void conn_queue_ctl(struct conn *c, struct task *t)
{
	t->conn = c;
	t->state = TASK_QUEUED;
	q_push(&c->ctlq_tail, t);
}

void conn_queue_dout(struct conn *c, struct task *t)
{
	if (t->in_dout)
		return;
	t->in_dout = true;
	q_push(&c->doutq_tail, t);
}

void conn_unqueue(struct conn *c, struct task *t)
{
	if (t->in_dout) {
		q_remove(&c->doutq, &c->doutq_tail, t);
		t->in_dout = false;
	} else if (t->state == TASK_QUEUED) {
		q_remove(&c->cmdq, &c->cmdq_tail, t);
		q_remove(&c->ctlq, &c->ctlq_tail, t);
	}
}

int conn_queue_nop_reply(struct conn *c, uint32_t ttt, const uint8_t lun[8])
{
	if (c->nnop_reply >= CONN_NOP_REPLIES)
		return -ENOSPC;
	c->nop_reply[c->nnop_reply].ttt = ttt;
	memcpy(c->nop_reply[c->nnop_reply].lun, lun, 8);
	c->nnop_reply++;
	return 0;
}

/* ---- building PDUs ------------------------------------------------------ */

static void slot_seal(struct conn *c, struct tx_slot *s, uint32_t ahs_len,
		      const struct seg_data *d, uint32_t len)
{
	/* The lists were checked at submission: cannot fail here. */
	(void)seg_tx_init(&s->seg, s->hdr, ahs_len, d, len,
			  c->params.header_digest, c->params.data_digest);
	c->st.pdus_out++;
}

static void tx_nop_reply(struct conn *c, unsigned i)
{
	struct tx_slot *s = slot_get(c, NULL);
	struct bhs_nop_out *n = (struct bhs_nop_out *)s->hdr;

	/* Answer a target ping: same TTT and LUN, ITT reserved, immediate. */
	pdu_build_nop_out(s->hdr, 0, PDU_RESERVED_TAG, c->nop_reply[i].ttt, 0, true);
	memcpy(n->nopo_lun, c->nop_reply[i].lun, 8);
	pdu_stamp_cmdsn(s->hdr, sess_cmdsn_peek(c->sess), c->exp_statsn);
	slot_seal(c, s, 0, NULL, 0);
	c->st.nops_out++;
}

static void tx_ctl(struct conn *c, struct task *t)
{
	struct tx_slot *s = slot_get(c, t);

	t->cmdsn = sess_cmdsn_peek(c->sess);
	switch (t->kind) {
	case TASK_TMF: {
		/* The aborted task may have finished meanwhile: look it up
		 * by ITT, never through a saved pointer. */
		struct task *ref = task_lookup(&c->r->tt, t->ref_itt);
		pdu_build_tmf(s->hdr, (enum tmf_function)t->tmf_fn, t->lun, t->itt,
			      t->ref_itt, t->ref_cmdsn,
			      !ref ? 0 : t->tmf_fn == TMF_ABORT_TASK ? ref->exp_datasn :
			      t->tmf_fn == TMF_TASK_REASSIGN ? conn_erl2_expdatasn(ref) : 0);
		break;
	}
	case TASK_NOP:
		pdu_build_nop_out(s->hdr, 0, t->itt, PDU_RESERVED_TAG, 0, true);
		c->st.nops_out++;
		break;
	case TASK_LOGOUT:
		if (t->ref_itt & CONN_ERL2_OTHER_CID) {
			/* ERL 2: another connection's CID, with its ExpStatSN. */
			erl_build_logout_cid(s->hdr, (enum logout_reason)t->tmf_fn, t->itt,
					     (uint16_t)t->ref_itt, t->cmdsn, t->ref_cmdsn);
			slot_seal(c, s, 0, NULL, 0);
			t->state = TASK_ACTIVE;
			return;
		}
		pdu_build_logout(s->hdr, (enum logout_reason)t->tmf_fn, t->itt, c->cid);
		break;
	default:
		break;
	}
	pdu_stamp_cmdsn(s->hdr, t->cmdsn, c->exp_statsn);
	slot_seal(c, s, 0, NULL, 0);
	t->state = TASK_ACTIVE;
}

/* Immediate and unsolicited data (RFC 7143 13.10, 13.11, 13.14): with
 * ImmediateData, up to FirstBurstLength (and one PDU) rides in the command;
 * with InitialR2T=No, Data-Out follows up to FirstBurstLength in all. */
static void plan_unsolicited(struct conn *c, struct task *t)
{
	const struct iscsi_params *p = &c->params;
	uint32_t fb = min_u32(p->first_burst_length, t->wlen);

	t->imm_len = p->immediate_data ? min_u32(fb, p->max_xmit_dsl) : 0;
	t->unsol_end = p->initial_r2t ? t->imm_len : fb;
	t->unsol_sent = t->imm_len;
	t->unsol_datasn = 0;
}

/* A CmdSN from the session's window, or -EAGAIN: then this queue is
 * registered as waiting (any connection's PDU that opens the window wakes
 * it, connset.h), and the window is looked at once more in case it opened
 * in between. A session paused around a connection logout (cset_pause())
 * counts as a closed window. */
static int tx_reserve(struct conn *c, uint32_t *sn)
{
	if (!cset_paused(&c->sess->cs) && sess_cmdsn_reserve(c->sess, sn) == 0)
		return 0;
	c->r->window_waiters = true;
	cset_window_wait(&c->sess->cs, c->r->index);
	if (cset_paused(&c->sess->cs))
		return -EAGAIN;
	return sess_cmdsn_reserve(c->sess, sn);
}

/* An empty Text Request (renegotiation, conn_svc.c): ordered like a
 * command, so it takes a CmdSN and waits for the window. */
static int tx_text(struct conn *c, struct task *t)
{
	struct tx_slot *s;
	uint32_t sn;

	if (tx_reserve(c, &sn) < 0)
		return -EAGAIN;
	t->cmdsn = sn;
	t->text_rounds++;
	s = slot_get(c, t);
	pdu_build_text(s->hdr, t->itt, t->text_ttt, 0, true, false);
	pdu_stamp_cmdsn(s->hdr, sn, c->exp_statsn);
	slot_seal(c, s, 0, NULL, 0);
	t->state = TASK_ACTIVE;
	return 0;
}

static int tx_cmd(struct conn *c, struct task *t)
{
	if (t->kind == TASK_TEXT)
		return tx_text(c, t);
	struct mcsi_cmd *cmd = t->cmd;
	struct tx_slot *s;
	uint32_t sn, ahs = 0;
	bool wr = cmd->dir == MCSI_DIR_WRITE || cmd->dir == MCSI_DIR_BIDI;
	bool rd = cmd->dir == MCSI_DIR_READ || cmd->dir == MCSI_DIR_BIDI;

	if (t->erl2 == ERL2_T_RETRY) {
		sn = t->cmdsn;           /* ERL 2: plugs the target's CmdSN hole */
		t->erl2 = ERL2_T_NONE;
	} else if (tx_reserve(c, &sn) < 0) {
		return -EAGAIN;
	}
	t->cmdsn = sn;
	if (!t->counted) {
		t->counted = true;
		c->inflight++;
	}
	if (wr) {
		plan_unsolicited(c, t);
		if (t->unsol_end < t->wlen && !t->awaits_r2t) {
			t->awaits_r2t = true;
			c->r2t_waiters++;
		}
	}
	s = slot_get(c, t);
	struct pdu_scsi_cmd_args a = {
		.lun = cmd->lun, .itt = t->itt,
		.edtl = wr ? t->wlen : t->rlen,
		.cdb = cmd->cdb,
		.cdb_len = cmd->cdb_len > 16 ? 16 : cmd->cdb_len,
		.read = rd, .write = wr,
		.final = !wr || t->unsol_end == t->imm_len,
		.attr = (enum scsi_task_attr)cmd->attr,
		.immediate_len = t->imm_len,
	};
	(void)pdu_build_scsi_cmd(s->hdr, &a);
	if (cmd->cdb_len > 16) {
		int n = pdu_build_ext_cdb_ahs(s->hdr, s->hdr + PDU_BHS_LEN,
					      CONN_SLOT_HDR - PDU_BHS_LEN - 4,
					      cmd->cdb, cmd->cdb_len);
		ahs += n > 0 ? (uint32_t)n : 0;
	}
	if (cmd->dir == MCSI_DIR_BIDI) {
		int n = pdu_build_bidi_ahs(s->hdr, s->hdr + PDU_BHS_LEN + ahs,
					   CONN_SLOT_HDR - PDU_BHS_LEN - 4 - ahs, t->rlen);
		ahs += n > 0 ? (uint32_t)n : 0;
	}
	pdu_stamp_cmdsn(s->hdr, sn, c->exp_statsn);
	struct seg_data d = { cmd->iov, cmd->iovcnt, 0 };
	slot_seal(c, s, ahs, &d, t->imm_len);
	t->state = TASK_ACTIVE;
	c->st.commands++;
	c->st.bytes_out += t->imm_len;
	cset_count_cmd(&c->sess->cs, c->slot);
	cset_count_bytes(&c->sess->cs, c->slot, 0, t->imm_len);
	if (wr) {
		c->st.writes++;
		if (t->unsol_sent < t->unsol_end)
			conn_queue_dout(c, t);
	} else if (rd) {
		c->st.reads++;
	}
	return 0;
}

/* Builds the next Data-Out PDU of t. Returns false when t has nothing
 * more to send now. Unsolicited data goes first, then the R2T sequences in
 * the order they came (DataSequenceInOrder). */
static bool tx_dout(struct conn *c, struct task *t)
{
	uint32_t mx = c->params.max_xmit_dsl, ttt, off, len, datasn;
	bool final;

	if (t->unsol_sent < t->unsol_end) {
		off = t->unsol_sent;
		len = min_u32(mx, t->unsol_end - off);
		ttt = PDU_RESERVED_TAG;
		datasn = t->unsol_datasn++;
		t->unsol_sent += len;
		final = t->unsol_sent == t->unsol_end;
	} else if (t->nr2t > t->r2t_built) {
		struct task_r2t *q = &t->r2t[(t->r2t_head + t->r2t_built) % TASK_MAX_R2T];
		off = q->offset + q->sent;
		len = min_u32(mx, q->len - q->sent);
		ttt = q->ttt;
		datasn = q->datasn++;
		q->sent += len;
		final = q->sent == q->len;
		if (final)
			t->r2t_built++;
	} else {
		return false;
	}
	struct tx_slot *s = slot_get(c, t);
	s->r2t_final = final && ttt != PDU_RESERVED_TAG;
	pdu_build_data_out(s->hdr, t->lun, t->itt, ttt, datasn, off, len, final);
	pdu_stamp_expstatsn(s->hdr, c->exp_statsn);
	struct seg_data d = { t->cmd->iov, t->cmd->iovcnt, off };
	slot_seal(c, s, 0, &d, len);
	c->st.bytes_out += len;
	cset_count_bytes(&c->sess->cs, c->slot, 0, len);
	return true;
}

bool conn_tx_raw(struct conn *c, const void *bhs)
{
	if (slots_free(c) == 0)
		return false;
	struct tx_slot *s = slot_get(c, NULL);
	memcpy(s->hdr, bhs, PDU_BHS_LEN);
	slot_seal(c, s, 0, NULL, 0);
	return true;
}

static void tx_produce(struct conn *c)
{
	struct task *t;

	if (c->e1.nq)
		conn_erl1_produce(c);           /* SNACKs first: they unblock tasks */
	while (c->nnop_reply > 0 && slots_free(c) > 0) {
		tx_nop_reply(c, 0);
		memmove(&c->nop_reply[0], &c->nop_reply[1],
			--c->nnop_reply * sizeof(c->nop_reply[0]));
	}
	while (slots_free(c) > 0 && (t = q_pop(&c->ctlq, &c->ctlq_tail)))
		tx_ctl(c, t);
	if (c->state != CONN_UP && c->state != CONN_DRAIN)
		return;
	/* Draining: commands already sent still get their Data-Out. */
	/* Off the queue before tx_cmd(): a write with unsolicited data goes
	 * on the Data-Out queue there, through the same next link. */
	while (c->state == CONN_UP && slots_free(c) > 0 &&
	       (t = q_pop(&c->cmdq, &c->cmdq_tail))) {
		if (tx_cmd(c, t) < 0) {
			conn_queue_cmd_front(c, t);   /* the window: first again */
			break;
		}
	}
	while (slots_free(c) > 0 && (t = c->doutq)) {
		if (!tx_dout(c, t)) {
			q_pop(&c->doutq, &c->doutq_tail);
			t->in_dout = false;
		}
	}
}

/* ---- sending ------------------------------------------------------------ */

void conn_tx_flush(struct conn *c)
{
	int n = 0;
	uint32_t i;

	if (c->xc.send_busy || c->tx_head == c->tx_tail || c->fd < 0 ||
	    c->state == CONN_FAILED || c->state == CONN_CLOSED)
		return;
	for (i = c->tx_head; i != c->tx_tail && n < CONN_TX_IOV; i++)
		n += seg_tx_fill(&slot_at(c, i)->seg, c->siov + n, CONN_TX_IOV - n);
	c->tx_inflight = i - c->tx_head;
	/* Nothing waits for this send to finish unless slots or iovecs ran
	 * out, or Data-Out is still to be built. */
	c->xc.send_lazy = i == c->tx_tail && !c->doutq && !c->cmdq && !c->ctlq &&
			  c->nnop_reply == 0;
	int rc = xport_send(c->r->x, &c->xc, c->siov, n);
	if (rc < 0)
		conn_fail(c, rc, "cannot post a send (%d)", rc);
}

void conn_tx_kick(struct conn *c)
{
	if (c->state == CONN_FAILED || c->state == CONN_CLOSED)
		return;
	tx_produce(c);
}

void conn_tx_sent(struct xport_conn *xc, ssize_t res)
{
	struct conn *c = conn_of_xc(xc);
	size_t n;

	if (res <= 0) {
		conn_fail(c, res < 0 ? (int)res : -ECONNRESET,
			  "send failed: %s", res < 0 ? strerror((int)-res) : "closed");
		return;
	}
	n = (size_t)res;
	while (n > 0 && c->tx_head != c->tx_tail) {
		struct tx_slot *s = slot_at(c, c->tx_head);
		n -= seg_tx_advance(&s->seg, n);
		if (!seg_tx_done(&s->seg))
			break;
		c->tx_head++;
		slot_put(c, s);
	}
	conn_tx_kick(c);
}

void conn_tx_release_all(struct conn *c)
{
	while (c->tx_head != c->tx_tail)
		slot_put(c, slot_at(c, c->tx_head++));
}
