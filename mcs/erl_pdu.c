/* SPDX-License-Identifier: MIT */
#include "mcs/erl_pdu.h"

#include <errno.h>

void erl_build_data_snack(void *bhs, uint32_t lun, uint32_t itt, uint32_t begrun,
			  uint32_t runlength, uint32_t expstatsn)
{
	pdu_build_snack(bhs, SNACK_DATA_R2T, lun, itt, PDU_RESERVED_TAG, begrun,
			runlength);
	pdu_stamp_expstatsn(bhs, expstatsn);
}

void erl_build_status_snack(void *bhs, uint32_t begrun, uint32_t runlength,
			    uint32_t expstatsn)
{
	pdu_build_snack(bhs, SNACK_STATUS, 0, PDU_RESERVED_TAG, PDU_RESERVED_TAG,
			begrun, runlength);
	pdu_stamp_expstatsn(bhs, expstatsn);
}

void erl_build_dataack(void *bhs, uint32_t lun, uint32_t ttt, uint32_t begrun,
		       uint32_t expstatsn)
{
	pdu_build_snack(bhs, SNACK_DATA_ACK, lun, PDU_RESERVED_TAG, ttt, begrun, 0);
	pdu_stamp_expstatsn(bhs, expstatsn);
}

int erl_build_rdata_snack(void *bhs, uint32_t lun, uint32_t itt,
			  uint32_t snack_tag, uint32_t expstatsn)
{
	if (snack_tag == 0 || snack_tag == PDU_RESERVED_TAG)
		return -EINVAL;
	pdu_build_snack(bhs, SNACK_RDATA, lun, itt, snack_tag, 0, 0);
	pdu_stamp_expstatsn(bhs, expstatsn);
	return 0;
}

void erl_build_task_reassign(void *bhs, uint32_t lun, uint32_t itt,
			     uint32_t ref_itt, uint32_t ref_cmdsn,
			     uint32_t expdatasn, uint32_t cmdsn, uint32_t expstatsn)
{
	pdu_build_tmf(bhs, TMF_TASK_REASSIGN, lun, itt, ref_itt, ref_cmdsn, expdatasn);
	pdu_stamp_cmdsn(bhs, cmdsn, expstatsn);
}

void erl_build_logout_cid(void *bhs, enum logout_reason reason, uint32_t itt,
			  uint16_t cid, uint32_t cmdsn, uint32_t cid_expstatsn)
{
	pdu_build_logout(bhs, reason, itt, cid);
	pdu_stamp_cmdsn(bhs, cmdsn, cid_expstatsn);
}

int erl_skip_len(const void *bhs, bool ddigest, uint32_t max_recv_dsl,
		 uint32_t *skip, const char **why)
{
	const struct pdu_bhs *h = bhs;
	uint32_t dsl = pdu_dsl(bhs);

	switch (pdu_opcode(bhs)) {
	case PDU_OP_R2T:
	case PDU_OP_TMF_RSP:
	case PDU_OP_LOGOUT_RSP:
		if (dsl != 0) {
			*why = "damaged header: data segment on a PDU without one";
			return -EPROTO;
		}
		break;
	case PDU_OP_NOP_IN:
	case PDU_OP_SCSI_RSP:
	case PDU_OP_TEXT_RSP:
	case PDU_OP_DATA_IN:
	case PDU_OP_ASYNC:
	case PDU_OP_REJECT:
		break;
	default:
		/* Login responses cannot come in full feature phase. */
		*why = "damaged header: not a target opcode";
		return -EPROTO;
	}
	if (h->bhs_ahs_len != 0) {
		*why = "damaged header: AHS from a target";
		return -EPROTO;
	}
	if (dsl > max_recv_dsl) {
		*why = "damaged header: segment longer than MaxRecvDataSegmentLength";
		return -EPROTO;
	}
	*skip = dsl + pdu_pad(dsl) + (dsl && ddigest ? PDU_DIGEST_LEN : 0);
	return 0;
}
