/* SPDX-License-Identifier: MIT */
/*
 * Target-side PDU builders (RFC 7143 section 11), for the project's test
 * target. The initiator never sends these; they live apart so that the
 * initiator's code stays free of them.
 */
#include "proto/pdu.h"

static void bhs_start(void *bhs, uint8_t opcode, uint8_t flags)
{
	struct pdu_bhs *h = bhs;

	memset(h, 0, PDU_BHS_LEN);
	h->bhs_opcode = opcode;
	h->bhs_flags = flags;
}

#define RSP_FLAG_BITS (SCSI_RSP_BIDI_OVERFLOW | SCSI_RSP_BIDI_UNDERFLOW | \
		       SCSI_RSP_OVERFLOW | SCSI_RSP_UNDERFLOW)

void pdu_build_scsi_rsp(void *bhs, const struct pdu_scsi_rsp_args *a)
{
	struct bhs_scsi_rsp *r = bhs;

	bhs_start(bhs, PDU_OP_SCSI_RSP,
		  (uint8_t)(PDU_FINAL | (a->flags & RSP_FLAG_BITS)));
	r->rsp_response = a->response;
	r->rsp_status = a->status;
	pdu_set_dsl(bhs, a->len);
	pdu_put32(&r->rsp_itt, a->itt);
	pdu_put32(&r->rsp_snack_tag, a->snack_tag);
	pdu_put32(&r->rsp_expdatasn, a->expdatasn);
	pdu_put32(&r->rsp_bidi_residual, a->bidi_residual);
	pdu_put32(&r->rsp_residual, a->residual);
}

void pdu_build_data_in(void *bhs, const struct pdu_data_in_args *a)
{
	struct bhs_data_in *d = bhs;
	unsigned flags = 0;

	/* Status travels only on the last PDU of the sequence: S implies F. */
	if (a->final || a->has_status)
		flags |= PDU_FINAL;
	if (a->ack)
		flags |= DATA_IN_ACK;
	if (a->has_status)
		flags |= DATA_IN_STATUS |
			 (a->residual_flags & (DATA_IN_OVERFLOW | DATA_IN_UNDERFLOW));
	bhs_start(bhs, PDU_OP_DATA_IN, (uint8_t)flags);
	if (a->has_status) {
		d->din_status = a->status;
		pdu_put32(&d->din_residual, a->residual);
	}
	pdu_set_dsl(bhs, a->len);
	pdu_put_lun(d->din_lun, a->lun);
	pdu_put32(&d->din_itt, a->itt);
	pdu_put32(&d->din_ttt, a->ttt);
	pdu_put32(&d->din_datasn, a->datasn);
	pdu_put32(&d->din_offset, a->offset);
}

void pdu_build_r2t(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
		   uint32_t r2tsn, uint32_t offset, uint32_t desired)
{
	struct bhs_r2t *r = bhs;

	bhs_start(bhs, PDU_OP_R2T, PDU_FINAL);
	pdu_put_lun(r->r2t_lun, lun);
	pdu_put32(&r->r2t_itt, itt);
	pdu_put32(&r->r2t_ttt, ttt);
	pdu_put32(&r->r2t_r2tsn, r2tsn);
	pdu_put32(&r->r2t_offset, offset);
	pdu_put32(&r->r2t_desired, desired);
}

void pdu_build_nop_in(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
		      uint32_t len)
{
	struct bhs_nop_in *n = bhs;

	bhs_start(bhs, PDU_OP_NOP_IN, PDU_FINAL);
	pdu_set_dsl(bhs, len);
	pdu_put_lun(n->nopi_lun, lun);
	pdu_put32(&n->nopi_itt, itt);
	pdu_put32(&n->nopi_ttt, ttt);
}

void pdu_build_tmf_rsp(void *bhs, uint32_t itt, enum tmf_response response)
{
	struct bhs_tmf_rsp *t = bhs;

	bhs_start(bhs, PDU_OP_TMF_RSP, PDU_FINAL);
	t->tmfr_response = (uint8_t)response;
	pdu_put32(&t->tmfr_itt, itt);
}

void pdu_build_text_rsp(void *bhs, uint32_t itt, uint32_t ttt, uint32_t len,
			bool final, bool cont)
{
	struct bhs_text_rsp *t = bhs;

	bhs_start(bhs, PDU_OP_TEXT_RSP,
		  (uint8_t)((final ? PDU_FINAL : 0) | (cont ? TEXT_CONTINUE : 0)));
	pdu_set_dsl(bhs, len);
	pdu_put32(&t->txtr_itt, itt);
	pdu_put32(&t->txtr_ttt, ttt);
}

void pdu_build_login_rsp(void *bhs, const struct pdu_login_rsp_args *a)
{
	struct bhs_login_rsp *l = bhs;
	unsigned flags = ((unsigned)a->csg << LOGIN_CSG_SHIFT) & LOGIN_CSG_MASK;

	if (a->transit)
		flags |= LOGIN_TRANSIT | ((unsigned)a->nsg & LOGIN_NSG_MASK);
	if (a->cont)
		flags |= LOGIN_CONTINUE;
	bhs_start(bhs, PDU_OP_LOGIN_RSP, (uint8_t)flags);
	l->lgnr_version_max = a->version_max;
	l->lgnr_version_active = a->version_active;
	pdu_set_dsl(bhs, a->len);
	memcpy(l->lgnr_isid, a->isid, sizeof(l->lgnr_isid));
	pdu_put16(&l->lgnr_tsih, a->tsih);
	pdu_put32(&l->lgnr_itt, a->itt);
	l->lgnr_status_class = a->status_class;
	l->lgnr_status_detail = a->status_detail;
}

void pdu_build_logout_rsp(void *bhs, uint32_t itt,
			  enum logout_response response, uint16_t time2wait,
			  uint16_t time2retain)
{
	struct bhs_logout_rsp *l = bhs;

	bhs_start(bhs, PDU_OP_LOGOUT_RSP, PDU_FINAL);
	l->lgor_response = (uint8_t)response;
	pdu_put32(&l->lgor_itt, itt);
	pdu_put16(&l->lgor_time2wait, time2wait);
	pdu_put16(&l->lgor_time2retain, time2retain);
}

void pdu_build_async(void *bhs, uint32_t lun, enum async_event event,
		     uint8_t vcode, uint16_t param1, uint16_t param2,
		     uint16_t param3, uint32_t len)
{
	struct bhs_async *m = bhs;

	bhs_start(bhs, PDU_OP_ASYNC, PDU_FINAL);
	pdu_set_dsl(bhs, len);
	pdu_put_lun(m->async_lun, lun);
	pdu_put32(&m->async_itt, PDU_RESERVED_TAG);
	m->async_event = (uint8_t)event;
	m->async_vcode = vcode;
	pdu_put16(&m->async_param1, param1);
	pdu_put16(&m->async_param2, param2);
	pdu_put16(&m->async_param3, param3);
}

void pdu_build_reject(void *bhs, enum reject_reason reason, uint32_t datasn,
		      uint32_t len)
{
	struct bhs_reject *r = bhs;

	bhs_start(bhs, PDU_OP_REJECT, PDU_FINAL);
	r->rej_reason = (uint8_t)reason;
	pdu_set_dsl(bhs, len);
	pdu_put32(&r->rej_itt, PDU_RESERVED_TAG);
	pdu_put32(&r->rej_datasn, datasn);
}

/* StatSN, ExpCmdSN and MaxCmdSN sit at bytes 24, 28 and 32 in every target
 * PDU; the NOP-In overlay names them. */
#define SAME_AT(a, fa, b, fb) \
	static_assert(offsetof(struct a, fa) == offsetof(struct b, fb), #fa)
SAME_AT(bhs_nop_in, nopi_statsn, bhs_scsi_rsp, rsp_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_tmf_rsp, tmfr_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_login_rsp, lgnr_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_text_rsp, txtr_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_data_in, din_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_logout_rsp, lgor_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_r2t, r2t_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_async, async_statsn);
SAME_AT(bhs_nop_in, nopi_statsn, bhs_reject, rej_statsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_scsi_rsp, rsp_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_tmf_rsp, tmfr_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_login_rsp, lgnr_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_text_rsp, txtr_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_data_in, din_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_logout_rsp, lgor_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_r2t, r2t_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_async, async_maxcmdsn);
SAME_AT(bhs_nop_in, nopi_maxcmdsn, bhs_reject, rej_maxcmdsn);

void pdu_stamp_statsn(void *bhs, uint32_t statsn, uint32_t expcmdsn,
		      uint32_t maxcmdsn)
{
	struct bhs_nop_in *n = bhs;

	if (pdu_opcode(bhs) < PDU_OP_NOP_IN)
		return;   /* an initiator PDU: nothing of the kind to stamp */
	pdu_put32(&n->nopi_statsn, statsn);
	pdu_put32(&n->nopi_expcmdsn, expcmdsn);
	pdu_put32(&n->nopi_maxcmdsn, maxcmdsn);
}
