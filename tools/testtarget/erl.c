/* SPDX-License-Identifier: MIT */
#include "erl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "proto/pdu.h"
#include "proto/serial.h"
#include "task.h"

int erl_init(struct tt_conn *c)
{
	if (c->p.erl == 0)
		return 0;
	c->retain = calloc(TT_RETAIN, sizeof(*c->retain));
	return c->retain ? 0 : -ENOMEM;
}

static void erl_orphan(struct tt_conn *c, struct tt_task *t, uint64_t until)
{
	struct tt_session *s = c->sess;
	struct tt_task *o = malloc(sizeof(*o));
	if (!o)
		return;
	*o = *t;
	t->heap = NULL;                        /* moved */
	o->retain_until = until;
	/* The task's scsi_cmd points into its own buffer: re-aim it. */
	if (o->sc.buf == t->buf)
		o->sc.buf = o->buf;
	if (o->sc.din == t->buf)
		o->sc.din = o->buf;
	if (o->sc.dout == t->buf)
		o->sc.dout = o->buf;
	o->sc.cdb = o->cdb;
	pthread_mutex_lock(&s->lock);
	o->dnext = s->orphans;
	s->orphans = o;
	pthread_mutex_unlock(&s->lock);
}

void erl_fini(struct tt_conn *c, bool keep_tasks)
{
	if (keep_tasks && c->sess && c->p.erl >= 2 && c->tasks) {
		uint64_t until = tt_now_ns() + (uint64_t)c->p.time2retain * 1000000000ull;
		unsigned n = 0;
		for (int i = 0; i < TT_TASKS; i++) {
			struct tt_task *t = &c->tasks[i];
			if (t->state == TASK_DATA_OUT || t->state == TASK_DONE) {
				erl_orphan(c, t, until);
				n++;
			}
		}
		if (n)
			conn_log(c, 1, "%u tasks kept for reassignment (%us)", n,
				 c->p.time2retain);
	}
	free(c->retain);
	c->retain = NULL;
}

void erl_retain_status(struct tt_conn *c, const uint8_t *hdr, uint32_t dlen)
{
	if (!c->retain)
		return;
	const struct bhs_scsi_rsp *r = (const void *)hdr;
	uint32_t sn = pdu_get32(&r->rsp_statsn);
	struct tt_retained *e = &c->retain[sn % TT_RETAIN];
	e->statsn = sn;
	if (pdu_opcode(hdr) == PDU_OP_DATA_IN) {
		/* Status SNACK answers with a SCSI Response, not the data. */
		const struct bhs_data_in *d = (const void *)hdr;
		struct pdu_scsi_rsp_args a = {
			.itt = pdu_itt(hdr), .status = d->din_status,
			.flags = (uint8_t)(d->din_flags & (DATA_IN_OVERFLOW | DATA_IN_UNDERFLOW)),
			.residual = pdu_get32(&d->din_residual),
			.expdatasn = pdu_get32(&d->din_datasn) + 1,
		};
		pdu_build_scsi_rsp(e->pdu, &a);
		memcpy(e->pdu + 24, hdr + 24, 12);
		e->len = 48;
		return;
	}
	if (dlen > sizeof(e->pdu) - 48)
		dlen = 0;
	memcpy(e->pdu, hdr, 48);
	memcpy(e->pdu + 48, hdr + 64, dlen);
	e->len = 48 + dlen;
}

void erl_task_done(struct tt_conn *c, struct tt_task *t)
{
	if (c->p.erl == 0) {
		task_release(c, t);
		return;
	}
	t->state = TASK_DONE;
	t->statsn = c->statsn - 1;
	t->dnext = NULL;
	if (c->done_tail)
		c->done_tail->dnext = t;
	else
		c->done_head = t;
	c->done_tail = t;
	/* Never starve the pool for retention's sake. */
	if (!c->free_tasks && c->done_head) {
		struct tt_task *old = c->done_head;
		c->done_head = old->dnext;
		if (!c->done_head)
			c->done_tail = NULL;
		task_release(c, old);
	}
}

void erl_task_forget(struct tt_conn *c, struct tt_task *t)
{
	struct tt_task **pp = &c->done_head, *prev = NULL;
	while (*pp && *pp != t) {
		prev = *pp;
		pp = &(*pp)->dnext;
	}
	if (!*pp)
		return;
	*pp = t->dnext;
	if (c->done_tail == t)
		c->done_tail = prev;
}

void erl_ack(struct tt_conn *c, uint32_t exp_statsn)
{
	while (c->done_head && sn_lt(c->done_head->statsn, exp_statsn)) {
		struct tt_task *t = c->done_head;
		c->done_head = t->dnext;
		if (!c->done_head)
			c->done_tail = NULL;
		task_release(c, t);
	}
}

static void erl_resend_status(struct tt_conn *c, uint32_t begrun, uint32_t runlength)
{
	uint32_t end = runlength ? begrun + runlength : c->statsn;
	for (uint32_t sn = begrun; sn_lt(sn, end); sn++) {
		struct tt_retained *e = &c->retain[sn % TT_RETAIN];
		if (e->statsn != sn || !e->len)
			continue;
		uint8_t *h = io_hdr(c, e->len - 48);
		if (!h)
			return;
		memcpy(h, e->pdu, 48);
		uint32_t exp = atomic_load(&c->sess->exp_cmdsn);
		pdu_stamp_statsn(h, sn, exp, exp + c->sess->window - 1);
		memcpy(h + 64, e->pdu + 48, e->len - 48);
		io_queue(c, h, e->len > 48 ? h + 64 : NULL, e->len - 48);
	}
}

int erl_snack(struct tt_conn *c, const struct tt_rxpdu *p)
{
	const struct bhs_snack *s = (const void *)p->bhs;
	unsigned type = s->snk_type & 0x0f;
	uint32_t beg = pdu_get32(&s->snk_begrun), run = pdu_get32(&s->snk_runlength);

	if (c->p.erl == 0) {
		conn_reject(c, p->bhs, REJECT_PROTOCOL_ERROR);
		return 0;
	}
	switch (type) {
	case SNACK_STATUS:
		erl_resend_status(c, beg, run);
		return 0;
	case SNACK_DATA_ACK:
		return 0;                      /* we never ask for DataACK */
	case SNACK_DATA_R2T:
	case SNACK_RDATA: {
		struct tt_task *t = task_find(c, pdu_itt(p->bhs));
		if (!t) {
			conn_reject(c, p->bhs, REJECT_SNACK_REJECT);
			return 0;
		}
		if (t->w_bit && t->state == TASK_DATA_OUT) {
			for (uint32_t sn = beg; run == 0 ? sn_lt(sn, t->r2tsn) : sn_lt(sn, beg + run); sn++)
				task_resend_r2t(c, t, sn);
			return 0;
		}
		if (type == SNACK_RDATA) {
			/* R-Data: cut again with today's MaxRecvDataSegmentLength. */
			t->din_dsl = c->p.send_dsl;
			if (task_resend_data_in(c, t, 0, 0) == 0) {
				/* Status again, with the SNACK tag. */
				uint8_t *h = io_hdr(c, 0);
				if (!h)
					return 0;
				struct pdu_scsi_rsp_args a = {
					.itt = t->itt, .status = t->sc.status,
					.expdatasn = t->datasn,
					.snack_tag = pdu_get32(&s->snk_ttt),
				};
				pdu_build_scsi_rsp(h, &a);
				conn_stamp(c, h, true);
				io_queue(c, h, NULL, 0);
			}
			return 0;
		}
		if (task_resend_data_in(c, t, beg, run))
			conn_reject(c, p->bhs, REJECT_SNACK_REJECT);
		return 0;
	}
	default:
		conn_reject(c, p->bhs, REJECT_INVALID_PDU_FIELD);
		return 0;
	}
}

unsigned erl_reassign(struct tt_conn *c, uint32_t itt, struct tt_task **out)
{
	struct tt_session *s = c->sess;
	struct tt_task *o = NULL;
	uint64_t now = tt_now_ns();

	*out = NULL;

	if (c->p.erl < 2)
		return TMF_RSP_NO_REASSIGN;
	pthread_mutex_lock(&s->lock);
	for (struct tt_task **pp = &s->orphans; *pp;) {
		struct tt_task *t = *pp;
		if (t->retain_until < now) {   /* Time2Retain ran out */
			*pp = t->dnext;
			free(t->heap);
			free(t);
			continue;
		}
		if (t->itt == itt && !o) {
			*pp = t->dnext;
			o = t;
			continue;
		}
		pp = &t->dnext;
	}
	pthread_mutex_unlock(&s->lock);
	if (!o)
		return TMF_RSP_NO_TASK;
	if (task_find(c, itt)) {
		free(o->heap);
		free(o);
		return TMF_RSP_TASK_ALLEGIANT;
	}
	*out = task_adopt(c, o);
	if (!*out)
		free(o->heap);
	free(o);
	return *out ? TMF_RSP_COMPLETE : TMF_RSP_REJECTED;
}
