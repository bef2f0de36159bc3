/* SPDX-License-Identifier: MIT */
#include "task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "proto/pdu.h"
#include "proto/serial.h"
#include "erl.h"
#include "session.h"

/* TTT layout: task index (8 bits), R2T slot (4 bits), generation (20). */
#define TTT_TASK(ttt)  ((ttt) & 0xffu)
#define TTT_SLOT(ttt)  (((ttt) >> 8) & 0xfu)

static unsigned itt_bucket(uint32_t itt) { return (itt ^ (itt >> 8)) & (TT_TASKS - 1); }

int task_pool_init(struct tt_conn *c)
{
	c->tasks = calloc(TT_TASKS, sizeof(*c->tasks));
	if (!c->tasks)
		return -ENOMEM;
	for (int i = TT_TASKS - 1; i >= 0; i--) {
		c->tasks[i].index = (uint16_t)i;
		c->tasks[i].next = c->free_tasks;
		c->free_tasks = &c->tasks[i];
	}
	return 0;
}

void task_pool_fini(struct tt_conn *c)
{
	if (!c->tasks)
		return;
	for (int i = 0; i < TT_TASKS; i++)
		free(c->tasks[i].heap);
	free(c->tasks);
	c->tasks = NULL;
}

static struct tt_task *task_alloc(struct tt_conn *c)
{
	struct tt_task *t = c->free_tasks;
	if (!t)
		return NULL;
	c->free_tasks = t->next;
	t->next = t->hnext = NULL;
	t->gen = (uint16_t)((t->gen + 1) & 0xfff);
	t->r2t_active = 0;
	t->nholes = 0;
	t->datasn = 0;
	t->r2tsn = 0;
	t->got = t->xfer = 0;
	t->unsol_open = false;
	t->unsol_datasn = t->unsol_high = 0;
	t->next_off = 0;
	for (int i = 0; i < TT_MAX_R2T; i++)
		t->r2t[i].active = false;
	t->dout_ns = tt_now_ns();
	t->dout_timed_out = false;
	return t;
}

void task_free(struct tt_conn *c, struct tt_task *t)
{
	free(t->heap);
	t->heap = NULL;
	t->state = TASK_FREE;
	t->next = c->free_tasks;
	c->free_tasks = t;
}

static void task_hash_add(struct tt_conn *c, struct tt_task *t)
{
	unsigned b = itt_bucket(t->itt);
	t->hnext = c->hash[b];
	c->hash[b] = t;
}

static void task_hash_del(struct tt_conn *c, struct tt_task *t)
{
	struct tt_task **pp = &c->hash[itt_bucket(t->itt)];
	while (*pp && *pp != t)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = t->hnext;
	t->hnext = NULL;
}

struct tt_task *task_find(struct tt_conn *c, uint32_t itt)
{
	for (struct tt_task *t = c->hash[itt_bucket(itt)]; t; t = t->hnext)
		if (t->itt == itt)
			return t;
	return NULL;
}

void task_release(struct tt_conn *c, struct tt_task *t)
{
	if (t->state == TASK_DATA_OUT || t->state == TASK_DONE)
		task_hash_del(c, t);
	t->state = TASK_FREE;
	t->next = c->release;
	c->release = t;
}

static void task_residual(uint32_t want, uint32_t edtl, uint8_t *flags,
			  uint32_t *residual, uint8_t under, uint8_t over)
{
	*flags = 0;
	*residual = 0;
	if (want < edtl) {
		*flags = under;
		*residual = edtl - want;
	} else if (want > edtl) {
		*flags = over;
		*residual = want - edtl;
	}
}

static void task_send_rsp(struct tt_conn *c, struct tt_task *t, uint32_t want)
{
	struct pdu_scsi_rsp_args a = {
		.itt = t->itt, .response = SCSI_RSP_COMPLETED,
		.status = t->sc.status, .expdatasn = t->datasn,
	};
	uint32_t dlen = t->sc.sense_len ? 2u + t->sc.sense_len : 0;
	uint8_t *h = io_hdr(c, dlen);
	if (!h)
		return;
	task_residual(want, t->edtl, &a.flags, &a.residual,
		      SCSI_RSP_UNDERFLOW, SCSI_RSP_OVERFLOW);
	a.len = dlen;
	pdu_build_scsi_rsp(h, &a);
	conn_stamp(c, h, true);
	if (dlen) {
		uint8_t *d = h + 64;
		d[0] = 0;
		d[1] = t->sc.sense_len;
		memcpy(d + 2, t->sc.sense, t->sc.sense_len);
		io_queue(c, h, d, dlen);
	} else {
		io_queue(c, h, NULL, 0);
	}
	erl_retain_status(c, h, dlen);
}

/* Data-In for [from, to) of the task's data, DataSN numbered from datasn;
 * the last PDU carries the status when the command has no sense. */
static uint32_t task_data_in_range(struct tt_conn *c, struct tt_task *t,
				   uint32_t from, uint32_t to, uint32_t datasn,
				   bool with_status)
{
	uint32_t total = t->sc.din_len < t->edtl ? t->sc.din_len : t->edtl;
	uint32_t mrdsl = t->din_dsl, mbl = c->p.max_burst;
	const uint8_t *src = t->sc.din;
	uint32_t off = from;

	while (off < to) {
		uint32_t in_burst = off % mbl;
		uint32_t n = to - off;
		if (n > mrdsl)
			n = mrdsl;
		if (n > mbl - in_burst)
			n = mbl - in_burst;
		bool last = off + n == total;
		struct pdu_data_in_args a = {
			.lun = t->lun_id, .itt = t->itt, .ttt = PDU_RESERVED_TAG,
			.datasn = datasn++, .offset = off, .len = n,
			.final = last || in_burst + n == mbl,
			.has_status = last && with_status,
			.status = t->sc.status,
		};
		if (a.has_status)
			task_residual(t->sc.din_len, t->edtl, &a.residual_flags,
				      &a.residual, DATA_IN_UNDERFLOW, DATA_IN_OVERFLOW);
		uint8_t *h = io_hdr(c, 0);
		if (!h)
			return datasn;
		pdu_build_data_in(h, &a);
		conn_stamp(c, h, a.has_status);
		io_queue(c, h, src ? src + off : NULL, n);
		if (a.has_status)
			erl_retain_status(c, h, 0);
		off += n;
	}
	return datasn;
}

static void task_complete_read(struct tt_conn *c, struct tt_task *t)
{
	uint32_t total = t->sc.din_len < t->edtl ? t->sc.din_len : t->edtl;
	if (!t->r_bit)
		total = 0;
	/* Kept so that SNACK and TASK REASSIGN number PDUs the same way. */
	t->din_dsl = c->p.send_dsl;
	bool collapse = t->sc.status == SAM_GOOD && t->sc.sense_len == 0 && total;

	if (total)
		t->datasn = task_data_in_range(c, t, 0, total, 0, collapse);
	if (!collapse)
		task_send_rsp(c, t, t->sc.din_len);
	erl_task_done(c, t);
}

static void task_send_r2t(struct tt_conn *c, struct tt_task *t, struct tt_r2t *r)
{
	uint8_t *h = io_hdr(c, 0);
	if (!h)
		return;
	pdu_build_r2t(h, t->lun_id, t->itt, r->ttt, r->r2tsn, r->off, r->len);
	conn_stamp(c, h, false);
	io_queue(c, h, NULL, 0);
}

static bool task_issue_r2t(struct tt_conn *c, struct tt_task *t, uint32_t off,
			   uint32_t len)
{
	for (unsigned i = 0; i < TT_MAX_R2T; i++) {
		struct tt_r2t *r = &t->r2t[i];
		if (r->active)
			continue;
		r->active = true;
		r->ttt = t->index | i << 8 | (uint32_t)t->gen << 12;
		r->r2tsn = t->r2tsn++;
		t->datasn++;
		r->off = off;
		r->len = len;
		r->got = 0;
		r->datasn = 0;
		t->r2t_active++;
		t->dout_ns = tt_now_ns();
		task_send_r2t(c, t, r);
		return true;
	}
	return false;
}

/* Moves a write forward: solicits what is missing, or completes it. */
static void task_advance(struct tt_conn *c, struct tt_task *t)
{
	if (t->unsol_open)
		return;
	if (t->next_off < t->unsol_high)
		t->next_off = t->unsol_high;
	while (t->r2t_active < c->p.max_r2t && t->r2t_active < TT_MAX_R2T) {
		if (t->nholes) {
			t->nholes--;
			task_issue_r2t(c, t, t->holes_off[t->nholes], t->holes_len[t->nholes]);
			continue;
		}
		if (t->next_off >= t->xfer)
			break;
		uint32_t n = t->xfer - t->next_off;
		if (n > c->p.max_burst)
			n = c->p.max_burst;
		task_issue_r2t(c, t, t->next_off, n);
		t->next_off += n;
	}
	if (t->r2t_active || t->nholes || t->next_off < t->xfer)
		return;
	if (t->sc.need_finish && t->sc.status == SAM_GOOD)
		scsi_finish(&t->sc);
	task_send_rsp(c, t, t->sc.phase == SCSI_PHASE_OUT ? t->sc.dout_len : 0);
	erl_task_done(c, t);
}

static void task_place(struct tt_task *t, uint32_t off, const uint8_t *data, uint32_t len)
{
	if (off >= t->xfer)
		return;
	uint32_t n = t->xfer - off < len ? t->xfer - off : len;
	if (t->sc.dout)
		memcpy(t->sc.dout + off, data, n);
	t->got += n;
}

static void task_add_hole(struct tt_task *t, uint32_t off, uint32_t len)
{
	if (t->nholes < 8 && len) {
		t->holes_off[t->nholes] = off;
		t->holes_len[t->nholes] = len;
		t->nholes++;
	}
}

int task_scsi_cmd(struct tt_conn *c, const struct tt_rxpdu *p)
{
	const struct bhs_scsi_cmd *cmd = (const void *)p->bhs;
	struct tt_session *s = c->sess;
	struct tt_task *t = task_alloc(c);

	if (!t) {
		/* Pool exhausted: TASK SET FULL without a task. */
		uint8_t *h = io_hdr(c, 0);
		if (!h)
			return 0;
		struct pdu_scsi_rsp_args a = { .itt = pdu_itt(p->bhs),
					       .status = SAM_TASK_SET_FULL };
		pdu_build_scsi_rsp(h, &a);
		conn_stamp(c, h, true);
		io_queue(c, h, NULL, 0);
		return 0;
	}
	t->itt = pdu_itt(p->bhs);
	/* A new command with the ITT of a finished one acknowledges it. */
	struct tt_task *old = task_find(c, t->itt);
	if (old && old->state == TASK_DONE) {
		erl_task_forget(c, old);
		task_release(c, old);
	}
	t->cmdsn = pdu_get32(&cmd->cmd_cmdsn);
	t->edtl = pdu_get32(&cmd->cmd_edtl);
	t->lun_id = pdu_lun_decode(cmd->cmd_lun);
	t->r_bit = cmd->cmd_flags & SCSI_CMD_READ;
	t->w_bit = cmd->cmd_flags & SCSI_CMD_WRITE;
	memcpy(t->cdb, cmd->cmd_cdb, 16);

	struct scsi_cmd *sc = &t->sc;
	memset(sc, 0, sizeof(*sc));
	sc->cdb = t->cdb;
	sc->tgt = s->tgt;
	sc->lun = t->lun_id < TT_MAX_LUNS ? s->tgt->luns[t->lun_id] : NULL;
	sc->buf = t->buf;
	sc->buf_cap = sizeof(t->buf);
	sc->edtl = t->edtl;
	if (p->ahs_len) {
		/* Extended CDBs: no command of ours needs one. */
		scsi_set_sense(sc, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	} else if (!sess_check_ua(s, sc)) {
		if (scsi_prepare(sc) == -ENOBUFS) {
			t->heap = malloc(sc->dout_len);
			if (!t->heap) {
				scsi_set_sense(sc, SK_ABORTED_COMMAND, 0x5500);
			} else {
				sc->buf = t->heap;
				sc->buf_cap = sc->dout_len;
				scsi_prepare(sc);
			}
		}
	}

	if (!t->w_bit) {
		if (p->dsl) {
			conn_log(c, 1, "immediate data without W bit");
			task_free(c, t);
			return -EPROTO;
		}
		if (sc->phase == SCSI_PHASE_OUT) {
			/* The command wants data the initiator will not send. */
			sc->phase = SCSI_PHASE_NONE;
			sc->need_finish = false;
			t->state = TASK_DONE;
			task_hash_add(c, t);
			task_send_rsp(c, t, sc->dout_len);
			erl_task_done(c, t);
			return 0;
		}
		t->state = TASK_DONE;
		task_hash_add(c, t);
		task_complete_read(c, t);
		return 0;
	}
	/* Write direction: take immediate data, then unsolicited Data-Out,
	 * then solicit the rest. */
	if (p->dsl > c->p.first_burst || p->dsl > t->edtl) {
		conn_log(c, 1, "immediate data beyond FirstBurstLength or EDTL");
		task_free(c, t);
		return -EPROTO;
	}
	if (sc->phase == SCSI_PHASE_OUT)
		t->xfer = sc->dout_len < t->edtl ? sc->dout_len : t->edtl;
	t->state = TASK_DATA_OUT;
	task_hash_add(c, t);
	if (p->dsl) {
		if (p->dd_bad) {
			/* ERL >= 1: ask for it again with a recovery R2T. */
			conn_reject(c, p->bhs, REJECT_DIGEST_ERROR);
			task_add_hole(t, 0, p->dsl < t->xfer ? p->dsl : t->xfer);
		} else {
			task_place(t, 0, p->data, p->dsl);
		}
		t->unsol_high = p->dsl;
	}
	t->unsol_open = !(cmd->cmd_flags & PDU_FINAL);
	if (t->unsol_open && c->p.initial_r2t) {
		conn_log(c, 1, "unsolicited Data-Out announced with InitialR2T=Yes");
		t->unsol_open = false;
	}
	task_advance(c, t);
	return 0;
}

static int task_dout_unsol(struct tt_conn *c, struct tt_task *t,
			   const struct tt_rxpdu *p, uint32_t off, uint32_t datasn)
{
	const struct bhs_data_out *d = (const void *)p->bhs;
	uint32_t limit = c->p.first_burst < t->edtl ? c->p.first_burst : t->edtl;

	if (!t->unsol_open && t->dout_timed_out) {
		conn_log(c, 2, "late unsolicited Data-Out after a Data-Out timeout: dropped");
		return 0;
	}
	t->dout_ns = tt_now_ns();
	if (!t->unsol_open || off + p->dsl > limit) {
		conn_log(c, 1, "unsolicited Data-Out outside the first burst");
		return -EPROTO;
	}
	if (datasn != t->unsol_datasn || off != t->unsol_high) {
		if (c->p.erl == 0) {
			conn_log(c, 1, "Data-Out DataSN %u, expected %u", datasn,
				 t->unsol_datasn);
			return -EPROTO;
		}
		if (off > t->unsol_high)
			task_add_hole(t, t->unsol_high, off - t->unsol_high);
	}
	if (p->dd_bad) {
		conn_reject(c, p->bhs, REJECT_DIGEST_ERROR);
		task_add_hole(t, off, p->dsl);
	} else {
		task_place(t, off, p->data, p->dsl);
	}
	t->unsol_datasn = datasn + 1;
	if (off + p->dsl > t->unsol_high)
		t->unsol_high = off + p->dsl;
	if (d->dout_flags & PDU_FINAL) {
		t->unsol_open = false;
		if (t->unsol_high < limit && c->p.erl > 0)
			task_add_hole(t, t->unsol_high, limit - t->unsol_high);
		task_advance(c, t);
	}
	return 0;
}

int task_data_out(struct tt_conn *c, const struct tt_rxpdu *p)
{
	const struct bhs_data_out *d = (const void *)p->bhs;
	uint32_t itt = pdu_itt(p->bhs), ttt = pdu_get32(&d->dout_ttt);
	uint32_t off = pdu_get32(&d->dout_offset);
	uint32_t datasn = pdu_get32(&d->dout_datasn);
	struct tt_task *t;

	if (ttt == PDU_RESERVED_TAG) {
		t = task_find(c, itt);
		if (!t || t->state != TASK_DATA_OUT) {
			/* Aborted task, or a command that failed early: the
			 * RFC lets us drop its unsolicited data. */
			conn_log(c, 2, "unsolicited Data-Out for unknown ITT 0x%x", itt);
			return 0;
		}
		return task_dout_unsol(c, t, p, off, datasn);
	}
	t = &c->tasks[TTT_TASK(ttt)];
	struct tt_r2t *r = &t->r2t[TTT_SLOT(ttt)];
	if (t->state != TASK_DATA_OUT || !r->active || r->ttt != ttt || t->itt != itt) {
		conn_log(c, 2, "Data-Out for unknown TTT 0x%x", ttt);
		return 0;
	}
	uint32_t next = r->off + r->got;
	t->dout_ns = tt_now_ns();
	if (off < r->off || off + p->dsl > r->off + r->len) {
		conn_log(c, 1, "Data-Out outside its R2T");
		return -EPROTO;
	}
	if (datasn != r->datasn || off != next) {
		if (c->p.erl == 0) {
			conn_log(c, 1, "Data-Out DataSN %u offset %u, expected %u/%u",
				 datasn, off, r->datasn, next);
			return -EPROTO;
		}
		if (off > next)
			task_add_hole(t, next, off - next);
	}
	if (p->dd_bad) {
		conn_reject(c, p->bhs, REJECT_DIGEST_ERROR);
		task_add_hole(t, off, p->dsl);
	} else {
		task_place(t, off, p->data, p->dsl);
	}
	r->datasn = datasn + 1;
	if (off + p->dsl > next)
		r->got = off + p->dsl - r->off;
	if ((d->dout_flags & PDU_FINAL) || r->got >= r->len) {
		if (r->got < r->len) {
			if (c->p.erl == 0) {
				conn_log(c, 1, "R2T sequence ended short");
				return -EPROTO;
			}
			task_add_hole(t, r->off + r->got, r->len - r->got);
		}
		r->active = false;
		t->r2t_active--;
		task_advance(c, t);
	}
	return 0;
}

void task_dataout_poll(struct tt_conn *c)
{
	uint64_t now = tt_now_ns(), limit_ns = TT_DATAOUT_TIMEOUT_MS * 1000000ull;

	if (c->p.erl == 0 || now < c->dout_scan_ns)
		return;
	c->dout_scan_ns = now + limit_ns / 5;
	for (int i = 0; i < TT_TASKS; i++) {
		struct tt_task *t = &c->tasks[i];
		bool moved = false;
		if (t->state != TASK_DATA_OUT || now - t->dout_ns < limit_ns)
			continue;
		if (t->unsol_open) {
			/* The unsolicited sequence's final PDU never came. */
			uint32_t limit = c->p.first_burst < t->edtl ? c->p.first_burst : t->edtl;
			t->unsol_open = false;
			if (t->unsol_high < limit)
				task_add_hole(t, t->unsol_high, limit - t->unsol_high);
			moved = true;
		}
		for (unsigned k = 0; k < TT_MAX_R2T; k++) {
			struct tt_r2t *r = &t->r2t[k];
			if (!r->active)
				continue;
			/* Its Data-Out for this TTT are dropped from now on. */
			if (r->got < r->len)
				task_add_hole(t, r->off + r->got, r->len - r->got);
			r->active = false;
			t->r2t_active--;
			moved = true;
		}
		t->dout_ns = now;
		if (!moved)
			continue;
		t->dout_timed_out = true;
		conn_log(c, 1, "Data-Out timeout: ITT 0x%x asked again with a recovery R2T",
			 t->itt);
		task_advance(c, t);
	}
}

void task_abort(struct tt_conn *c, struct tt_task *t)
{
	if (t->state == TASK_FREE)
		return;
	task_hash_del(c, t);
	erl_task_forget(c, t);
	t->state = TASK_FREE;
	t->next = c->release;
	c->release = t;
}

unsigned task_abort_all(struct tt_conn *c, uint32_t lun)
{
	unsigned n = 0;
	for (int i = 0; i < TT_TASKS; i++) {
		struct tt_task *t = &c->tasks[i];
		if (t->state == TASK_FREE || (lun != UINT32_MAX && t->lun_id != lun))
			continue;
		task_abort(c, t);
		n++;
	}
	return n;
}

int task_resend_data_in(struct tt_conn *c, struct tt_task *t, uint32_t begrun,
			uint32_t runlength)
{
	uint32_t total = t->sc.din_len < t->edtl ? t->sc.din_len : t->edtl;
	uint32_t mrdsl = t->din_dsl, mbl = c->p.max_burst;
	uint32_t sn = 0, off = 0, from = UINT32_MAX, to = total;

	if (t->sc.phase != SCSI_PHASE_IN || !t->r_bit)
		return -ENOENT;
	/* Walk the PDU boundaries to map DataSNs to offsets. */
	while (off < total) {
		uint32_t n = total - off, ib = off % mbl;
		if (n > mrdsl)
			n = mrdsl;
		if (n > mbl - ib)
			n = mbl - ib;
		if (sn == begrun)
			from = off;
		if (runlength && sn == begrun + runlength) {
			to = off;
			break;
		}
		off += n;
		sn++;
	}
	if (from == UINT32_MAX)
		return -ENOENT;
	bool collapse = t->sc.status == SAM_GOOD && t->sc.sense_len == 0;
	task_data_in_range(c, t, from, to, begrun, collapse && to == total);
	return 0;
}

int task_resend_r2t(struct tt_conn *c, struct tt_task *t, uint32_t r2tsn)
{
	for (unsigned i = 0; i < TT_MAX_R2T; i++) {
		struct tt_r2t *r = &t->r2t[i];
		if (r->active && r->r2tsn == r2tsn) {
			task_send_r2t(c, t, r);
			return 0;
		}
	}
	return -ENOENT;
}

struct tt_task *task_adopt(struct tt_conn *c, struct tt_task *o)
{
	struct tt_task *t = task_alloc(c);
	if (!t)
		return NULL;
	uint16_t index = t->index, gen = t->gen;
	*t = *o;
	t->index = index;
	t->gen = gen;
	t->next = t->hnext = t->dnext = NULL;
	if (o->sc.buf == o->buf)
		t->sc.buf = t->buf;
	if (o->sc.din == o->buf)
		t->sc.din = t->buf;
	if (o->sc.dout == o->buf)
		t->sc.dout = t->buf;
	t->sc.cdb = t->cdb;
	o->heap = NULL;
	task_hash_add(c, t);
	return t;
}

void task_resume(struct tt_conn *c, struct tt_task *t, uint32_t expdatasn)
{
	if (t->state == TASK_DATA_OUT) {
		/* Writes to RAM are idempotent: solicit everything again. */
		for (unsigned i = 0; i < TT_MAX_R2T; i++)
			t->r2t[i].active = false;
		t->r2t_active = 0;
		t->nholes = 0;
		t->got = 0;
		t->next_off = 0;
		t->unsol_high = 0;
		t->unsol_open = false;
		task_advance(c, t);
		return;
	}
	uint32_t total = t->sc.din_len < t->edtl ? t->sc.din_len : t->edtl;
	bool collapse = t->sc.status == SAM_GOOD && t->sc.sense_len == 0;
	if (t->r_bit && total && t->sc.phase == SCSI_PHASE_IN) {
		/* Only the Data-In PDUs from expdatasn on, then status. */
		uint32_t mrdsl = t->din_dsl, mbl = c->p.max_burst, sn = 0, off = 0;
		while (off < total && sn != expdatasn) {
			uint32_t n = total - off, ib = off % mbl;
			if (n > mrdsl)
				n = mrdsl;
			if (n > mbl - ib)
				n = mbl - ib;
			off += n;
			sn++;
		}
		if (off < total) {
			t->datasn = task_data_in_range(c, t, off, total, sn, collapse);
			if (collapse) {
				erl_task_done(c, t);
				return;
			}
		}
	}
	task_send_rsp(c, t, t->sc.phase == SCSI_PHASE_OUT ? t->sc.dout_len : t->sc.din_len);
	erl_task_done(c, t);
}
