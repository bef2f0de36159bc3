/* SPDX-License-Identifier: MIT */
#include "tmf.h"

#include "conn.h"
#include "erl.h"
#include "proto/pdu.h"
#include "proto/serial.h"
#include "session.h"
#include "task.h"

static void tmf_respond(struct tt_conn *c, uint32_t itt, unsigned response)
{
	uint8_t *h = io_hdr(c, 0);
	if (!h)
		return;
	pdu_build_tmf_rsp(h, itt, (enum tmf_response)response);
	conn_stamp(c, h, true);
	io_queue(c, h, NULL, 0);
}

int tmf_handle(struct tt_conn *c, const struct tt_rxpdu *p)
{
	const struct bhs_tmf_req *r = (const void *)p->bhs;
	unsigned fn = r->tmf_function & 0x7f;
	uint32_t itt = pdu_itt(p->bhs), ref = pdu_get32(&r->tmf_ref_itt);
	uint32_t lun = pdu_lun_decode(r->tmf_lun);
	unsigned resp = TMF_RSP_COMPLETE;
	struct tt_task *t, *resume = NULL;

	if (c->sess->discovery) {
		tmf_respond(c, itt, TMF_RSP_REJECTED);
		return 0;
	}
	bool lun_ok = lun < TT_MAX_LUNS && c->sess->tgt->luns[lun];
	switch (fn) {
	case TMF_ABORT_TASK:
		t = task_find(c, ref);
		if (t && t->lun_id == lun)
			task_abort(c, t);
		else if (!t)
			resp = TMF_RSP_NO_TASK;
		else
			resp = TMF_RSP_NO_TASK;
		break;
	case TMF_ABORT_TASK_SET:
	case TMF_CLEAR_TASK_SET:
	case TMF_LUN_RESET:
		if (!lun_ok) {
			resp = TMF_RSP_NO_LUN;
			break;
		}
		task_abort_all(c, lun);
		/* SAM: a logical unit reset is reported to every I_T nexus,
		 * the one that asked included. */
		if (fn == TMF_LUN_RESET)
			sess_raise_ua(c->srv, c->sess->tgt, lun, TT_UA_LUN_RESET);
		break;
	case TMF_CLEAR_ACA:
		if (!lun_ok)
			resp = TMF_RSP_NO_LUN;
		break;
	case TMF_TARGET_WARM_RESET:
	case TMF_TARGET_COLD_RESET:
		task_abort_all(c, UINT32_MAX);
		sess_raise_ua(c->srv, c->sess->tgt, UINT32_MAX, TT_UA_POWER_ON);
		if (fn == TMF_TARGET_COLD_RESET) {
			/* Cold reset ends every connection after the answer. */
			tmf_respond(c, itt, TMF_RSP_COMPLETE);
			sess_close_all(c->sess, c);
			c->closing = true;
			return 0;
		}
		break;
	case TMF_TASK_REASSIGN:
		resp = erl_reassign(c, ref, &resume);
		break;
	default:
		resp = TMF_RSP_NOT_SUPPORTED;
		break;
	}
	conn_log(c, 1, "TMF %u ref 0x%x lun %u: %s", fn, ref, lun,
		 pdu_tmf_response_name(resp));
	tmf_respond(c, itt, resp);
	if (resume)
		task_resume(c, resume, pdu_get32(&r->tmf_expdatasn));
	return 0;
}
