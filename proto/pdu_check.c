/* SPDX-License-Identifier: MIT */
/*
 * The gates for received headers (RFC 7143 section 11): what a peer put in
 * a BHS that can be judged without session state, and the AHS walk.
 *
 * Rules common to many opcodes are data (one table per direction, indexed
 * by opcode); what is particular to one opcode is a small function that
 * returns the defect or NULL. Reserved bits and fields are never judged:
 * section 11 requires receivers to ignore them, and rejecting them would
 * only break interoperability with targets that leave garbage there.
 */
#include "proto/pdu.h"

#include <errno.h>

enum rule {
	R_KNOWN    = 1u << 0,  /* an opcode of this direction */
	R_F1       = 1u << 1,  /* the F bit is fixed to 1 */
	R_NO_DATA  = 1u << 2,  /* the RFC defines no data segment */
	R_ITT_RSVD = 1u << 3,  /* ITT must be 0xffffffff */
	R_ITT_TASK = 1u << 4,  /* ITT names a task: never 0xffffffff */
	R_AHS      = 1u << 5,  /* may carry additional header segments */
	R_LOGIN    = 1u << 6,  /* the one PDU of the login phase */
};

struct op_rule {
	unsigned rules;
	const char *(*check)(const void *bhs);  /* defect or NULL */
};

static bool flag(const void *bhs, unsigned bits)
{
	return ((const struct pdu_bhs *)bhs)->bhs_flags & bits;
}

/* ---- target PDUs ------------------------------------------------------- */

static const char *chk_nop_in(const void *bhs)
{
	const struct bhs_nop_in *n = bhs;

	/* An answer to our ping (ITT valid) carries no ping of its own. */
	if (pdu_get32(&n->nopi_itt) != PDU_RESERVED_TAG &&
	    pdu_get32(&n->nopi_ttt) != PDU_RESERVED_TAG)
		return "NOP-In: both ITT and TTT are set";
	return NULL;
}

static const char *chk_scsi_rsp(const void *bhs)
{
	const struct bhs_scsi_rsp *r = bhs;

	if (flag(bhs, SCSI_RSP_OVERFLOW) && flag(bhs, SCSI_RSP_UNDERFLOW))
		return "SCSI Response: both overflow and underflow";
	if (flag(bhs, SCSI_RSP_BIDI_OVERFLOW) && flag(bhs, SCSI_RSP_BIDI_UNDERFLOW))
		return "SCSI Response: both bidi overflow and underflow";
	/* 0x02-0x7f are reserved; 0x80-0xff are vendor specific. */
	if (r->rsp_response > SCSI_RSP_TARGET_FAILURE && r->rsp_response < 0x80)
		return "SCSI Response: reserved response code";
	return NULL;
}

static const char *chk_tmf_rsp(const void *bhs)
{
	uint8_t rsp = ((const struct bhs_tmf_rsp *)bhs)->tmfr_response;

	if (rsp > TMF_RSP_SUCCEEDED && rsp != TMF_RSP_REJECTED)
		return "TMF Response: reserved response code";
	return NULL;
}

static bool stage_valid(unsigned stage)
{
	return stage == LOGIN_STAGE_SECURITY || stage == LOGIN_STAGE_OPERATIONAL ||
	       stage == LOGIN_STAGE_FULL_FEATURE;
}

/* Transit, Continue and the stages, common to both login directions. */
static const char *chk_login_flags(const void *bhs)
{
	unsigned flags = ((const struct pdu_bhs *)bhs)->bhs_flags;
	unsigned csg = (flags & LOGIN_CSG_MASK) >> LOGIN_CSG_SHIFT;
	unsigned nsg = flags & LOGIN_NSG_MASK;

	if ((flags & LOGIN_TRANSIT) && (flags & LOGIN_CONTINUE))
		return "Login: both T and C bits set";
	if (!stage_valid(csg) || csg == LOGIN_STAGE_FULL_FEATURE)
		return "Login: invalid current stage";
	/* NSG is reserved without T. With T, the stage only moves forward. */
	if ((flags & LOGIN_TRANSIT) && (!stage_valid(nsg) || nsg <= csg))
		return "Login: invalid next stage";
	return NULL;
}

#define LOGIN_CLASS_MAX 3u   /* success, redirection, initiator, target */

static const char *chk_login_rsp(const void *bhs)
{
	const struct bhs_login_rsp *l = bhs;

	if (l->lgnr_status_class > LOGIN_CLASS_MAX)
		return "Login Response: reserved status class";
	/* A failed login ends the connection anyway; judging its stage bits
	 * would hide the status that says why it failed. */
	if (l->lgnr_status_class != 0)
		return NULL;
	if (l->lgnr_version_active != 0)
		return "Login Response: version-active is not 0";
	return chk_login_flags(bhs);
}

static const char *chk_text_rsp(const void *bhs)
{
	const struct bhs_text_rsp *t = bhs;

	if (flag(bhs, TEXT_CONTINUE) && flag(bhs, PDU_FINAL))
		return "Text Response: both C and F bits set";
	/* With F the TTT is ignored; without, it is how we continue. */
	if (!flag(bhs, PDU_FINAL) && pdu_get32(&t->txtr_ttt) == PDU_RESERVED_TAG)
		return "Text Response: F bit clear without a TTT";
	return NULL;
}

static const char *chk_data_in(const void *bhs)
{
	const struct bhs_data_in *d = bhs;
	bool status = flag(bhs, DATA_IN_STATUS);

	if (status && !flag(bhs, PDU_FINAL))
		return "Data-In: S bit without F bit";
	if (flag(bhs, DATA_IN_OVERFLOW) && flag(bhs, DATA_IN_UNDERFLOW))
		return "Data-In: both overflow and underflow";
	if (!status && flag(bhs, DATA_IN_OVERFLOW | DATA_IN_UNDERFLOW))
		return "Data-In: residual flag without S bit";
	if (!status && d->din_status != 0)
		return "Data-In: status without S bit";
	if (flag(bhs, DATA_IN_ACK) && pdu_get32(&d->din_ttt) == PDU_RESERVED_TAG)
		return "Data-In: A bit without a TTT";
	return NULL;
}

static const char *chk_r2t(const void *bhs)
{
	const struct bhs_r2t *r = bhs;

	/* The initiator echoes the TTT in Data-Out, where 0xffffffff means
	 * unsolicited data. */
	if (pdu_get32(&r->r2t_ttt) == PDU_RESERVED_TAG)
		return "R2T: TTT is 0xffffffff";
	if (pdu_get32(&r->r2t_desired) == 0)
		return "R2T: desired data transfer length is 0";
	return NULL;
}

static const char *chk_async(const void *bhs)
{
	uint8_t ev = ((const struct bhs_async *)bhs)->async_event;

	if (ev > ASYNC_RENEGOTIATE && ev != ASYNC_VENDOR)
		return "Async: reserved event code";
	return NULL;
}

static const char *chk_logout_rsp(const void *bhs)
{
	if (((const struct bhs_logout_rsp *)bhs)->lgor_response >
	    LOGOUT_RSP_CLEANUP_FAILED)
		return "Logout Response: reserved response code";
	return NULL;
}

static const char *chk_reject(const void *bhs)
{
	uint8_t reason = ((const struct bhs_reject *)bhs)->rej_reason;

	if (reason < REJECT_DIGEST_ERROR || reason > REJECT_WAITING_FOR_LOGOUT)
		return "Reject: reserved reason code";
	/* The data segment carries the complete header of the bad PDU. */
	if (pdu_dsl(bhs) < PDU_BHS_LEN)
		return "Reject: data segment shorter than a BHS";
	return NULL;
}

static const struct op_rule target_rules[64] = {
	[PDU_OP_NOP_IN]     = { R_KNOWN | R_F1, chk_nop_in },
	[PDU_OP_SCSI_RSP]   = { R_KNOWN | R_F1 | R_ITT_TASK, chk_scsi_rsp },
	[PDU_OP_TMF_RSP]    = { R_KNOWN | R_F1 | R_NO_DATA | R_ITT_TASK, chk_tmf_rsp },
	[PDU_OP_LOGIN_RSP]  = { R_KNOWN | R_LOGIN, chk_login_rsp },
	[PDU_OP_TEXT_RSP]   = { R_KNOWN | R_ITT_TASK, chk_text_rsp },
	[PDU_OP_DATA_IN]    = { R_KNOWN | R_ITT_TASK, chk_data_in },
	[PDU_OP_LOGOUT_RSP] = { R_KNOWN | R_F1 | R_NO_DATA | R_ITT_TASK, chk_logout_rsp },
	[PDU_OP_R2T]        = { R_KNOWN | R_F1 | R_NO_DATA | R_ITT_TASK, chk_r2t },
	[PDU_OP_ASYNC]      = { R_KNOWN | R_F1 | R_ITT_RSVD, chk_async },
	[PDU_OP_REJECT]     = { R_KNOWN | R_F1 | R_ITT_RSVD, chk_reject },
};

/* ---- initiator PDUs ---------------------------------------------------- */

static const char *chk_nop_out(const void *bhs)
{
	/* A NOP-Out that wants no answer does not take a CmdSN. */
	if (pdu_itt(bhs) == PDU_RESERVED_TAG && !pdu_is_immediate(bhs))
		return "NOP-Out: ITT 0xffffffff without the I bit";
	return NULL;
}

static const char *chk_scsi_cmd(const void *bhs)
{
	const struct bhs_scsi_cmd *c = bhs;
	bool w = flag(bhs, SCSI_CMD_WRITE);

	if ((c->cmd_flags & SCSI_CMD_ATTR_MASK) > SCSI_ATTR_ACA)
		return "SCSI Command: reserved task attribute";
	if (!w && !flag(bhs, PDU_FINAL))
		return "SCSI Command: both W and F bits clear";
	if (!w && !flag(bhs, SCSI_CMD_READ) && pdu_get32(&c->cmd_edtl) != 0)
		return "SCSI Command: transfer length without R or W";
	if (!w && pdu_dsl(bhs) != 0)
		return "SCSI Command: immediate data without W bit";
	return NULL;
}

static const char *chk_tmf_req(const void *bhs)
{
	unsigned fn = ((const struct bhs_tmf_req *)bhs)->tmf_function & 0x7fu;

	if (fn < TMF_ABORT_TASK || fn > TMF_QUERY_ASYNC_EVENT)
		return "TMF Request: reserved function";
	return NULL;
}

static const char *chk_login_req(const void *bhs)
{
	const struct bhs_login_req *l = bhs;

	if (!pdu_is_immediate(bhs))
		return "Login Request: I bit clear";
	if (l->lgn_version_min > l->lgn_version_max)
		return "Login Request: version-min above version-max";
	return chk_login_flags(bhs);
}

static const char *chk_text_req(const void *bhs)
{
	if (flag(bhs, TEXT_CONTINUE) && flag(bhs, PDU_FINAL))
		return "Text Request: both C and F bits set";
	return NULL;
}

static const char *chk_logout_req(const void *bhs)
{
	if ((((const struct bhs_logout_req *)bhs)->lgo_reason & 0x7fu) >
	    LOGOUT_REMOVE_FOR_RECOVERY)
		return "Logout Request: reserved reason code";
	return NULL;
}

static const char *chk_snack(const void *bhs)
{
	const struct bhs_snack *s = bhs;
	unsigned type = s->snk_type & 0x0fu;
	bool itt_rsvd = pdu_itt(bhs) == PDU_RESERVED_TAG;

	if (type > SNACK_RDATA)
		return "SNACK: reserved type";
	/* Status SNACK and DataACK name no task; the other two do. */
	if (type == SNACK_STATUS || type == SNACK_DATA_ACK) {
		if (!itt_rsvd)
			return "SNACK: ITT must be 0xffffffff for this type";
	} else if (itt_rsvd) {
		return "SNACK: ITT 0xffffffff for a data SNACK";
	}
	if ((type == SNACK_DATA_ACK || type == SNACK_RDATA) &&
	    pdu_get32(&s->snk_runlength) != 0)
		return "SNACK: RunLength must be 0 for this type";
	return NULL;
}

static const struct op_rule initiator_rules[64] = {
	[PDU_OP_NOP_OUT]    = { R_KNOWN | R_F1, chk_nop_out },
	[PDU_OP_SCSI_CMD]   = { R_KNOWN | R_AHS | R_ITT_TASK, chk_scsi_cmd },
	[PDU_OP_TMF_REQ]    = { R_KNOWN | R_F1 | R_NO_DATA | R_ITT_TASK, chk_tmf_req },
	[PDU_OP_LOGIN_REQ]  = { R_KNOWN | R_LOGIN, chk_login_req },
	[PDU_OP_TEXT_REQ]   = { R_KNOWN | R_ITT_TASK, chk_text_req },
	[PDU_OP_DATA_OUT]   = { R_KNOWN | R_ITT_TASK, NULL },
	[PDU_OP_LOGOUT_REQ] = { R_KNOWN | R_F1 | R_NO_DATA | R_ITT_TASK, chk_logout_req },
	[PDU_OP_SNACK]      = { R_KNOWN | R_F1 | R_NO_DATA, chk_snack },
};

/* ---- the gate ---------------------------------------------------------- */

static const char *check_rules(const void *bhs, const struct op_rule *r,
			       const struct pdu_limits *lim)
{
	unsigned rules = r->rules;

	if (!(rules & R_KNOWN))
		return "opcode unknown for this direction";
	if (lim->in_login && !(rules & R_LOGIN))
		return "non-login PDU during the login phase";
	if (!lim->in_login && (rules & R_LOGIN))
		return "login PDU after the login phase";
	if (!(rules & R_AHS) && pdu_ahs_bytes(bhs) != 0)
		return "AHS on an opcode that has none";
	if (pdu_dsl(bhs) > lim->max_recv_dsl)
		return "DataSegmentLength exceeds MaxRecvDataSegmentLength";
	if ((rules & R_NO_DATA) && pdu_dsl(bhs) != 0)
		return "data segment on an opcode that has none";
	if ((rules & R_F1) && !flag(bhs, PDU_FINAL))
		return "F bit clear where it is fixed to 1";
	if ((rules & R_ITT_RSVD) && pdu_itt(bhs) != PDU_RESERVED_TAG)
		return "ITT must be 0xffffffff";
	if ((rules & R_ITT_TASK) && pdu_itt(bhs) == PDU_RESERVED_TAG)
		return "ITT 0xffffffff where a task is named";
	return r->check ? r->check(bhs) : NULL;
}

static int gate(const void *bhs, const struct op_rule table[64],
		const struct pdu_limits *lim, const char **why)
{
	const char *defect = check_rules(bhs, &table[pdu_opcode(bhs)], lim);

	if (!defect)
		return 0;
	if (why)
		*why = defect;
	return -EPROTO;
}

int pdu_check_target_pdu(const void *bhs, const struct pdu_limits *lim,
			 const char **why)
{
	return gate(bhs, target_rules, lim, why);
}

int pdu_check_initiator_pdu(const void *bhs, const struct pdu_limits *lim,
			    const char **why)
{
	return gate(bhs, initiator_rules, lim, why);
}

/* ---- AHS --------------------------------------------------------------- */

#define AHS_TYPE_MASK     0x3fu  /* the two high bits are reserved */
#define AHS_FIXED_LEN     3u     /* AHSLength + AHSType */
#define AHS_BIDI_AHSLEN   5u     /* reserved byte + 4-byte length */
#define AHS_EXT_CDB_MAX   244u   /* a 260-byte CDB less the BHS's 16 */

static int ahs_fail(const char **why, const char *defect)
{
	if (why)
		*why = defect;
	return -EPROTO;
}

int pdu_parse_ahs(const uint8_t *ahs, size_t ahs_len, struct pdu_ahs_info *out,
		  const char **why)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (ahs_len % 4 != 0)
		return ahs_fail(why, "AHS: length not a multiple of 4");
	while (off < ahs_len) {
		const uint8_t *h = ahs + off;
		size_t left = ahs_len - off;
		size_t len = (size_t)h[0] << 8 | h[1];
		size_t span = AHS_FIXED_LEN + len;

		span += pdu_pad((uint32_t)span);
		if (span > left)
			return ahs_fail(why, "AHS: runs past TotalAHSLength");
		switch (h[2] & AHS_TYPE_MASK) {
		case AHS_EXTENDED_CDB:
			if (out->ext_cdb)
				return ahs_fail(why, "AHS: extended CDB twice");
			/* Reserved byte, then at least one CDB byte. */
			if (len < 2 || len - 1 > AHS_EXT_CDB_MAX)
				return ahs_fail(why, "AHS: bad extended CDB length");
			out->ext_cdb = h + 4;
			out->ext_cdb_len = len - 1;
			break;
		case AHS_BIDI_READ_LENGTH:
			if (out->has_bidi)
				return ahs_fail(why, "AHS: bidi read length twice");
			if (len != AHS_BIDI_AHSLEN)
				return ahs_fail(why, "AHS: bad bidi read length AHS length");
			out->has_bidi = true;
			out->bidi_read_len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
					     (uint32_t)h[6] << 8 | h[7];
			break;
		default:
			return ahs_fail(why, "AHS: unknown type");
		}
		off += span;
	}
	return 0;
}
