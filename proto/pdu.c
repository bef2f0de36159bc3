/* SPDX-License-Identifier: MIT */
/*
 * LUN encoding and the initiator-side PDU builders (RFC 7143 section 11).
 * Every field is written through the overlays and pdu_put32()/pdu_put16();
 * no byte offsets appear here.
 */
#include "proto/pdu.h"

#include <errno.h>

/* ---- LUN --------------------------------------------------------------- */

/* SAM-5 address methods, in the top two bits of LUN byte 0. */
#define LUN_METHOD_PERIPHERAL 0x00u
#define LUN_METHOD_FLAT       0x40u
#define LUN_METHOD_MASK       0xc0u
/* Extended addressing, length code 01b (4 bytes), extended flat space. */
#define LUN_EXT_FLAT          0xd2u
#define LUN_FLAT_MAX          0x3fffu

uint64_t pdu_lun_encode(uint32_t lun)
{
	if (lun <= 0xffu)
		return (uint64_t)lun << 48;
	if (lun <= LUN_FLAT_MAX)
		return (uint64_t)(LUN_METHOD_FLAT | lun >> 8) << 56 |
		       (uint64_t)(lun & 0xffu) << 48;
	if (lun <= PDU_LUN_MAX)
		return (uint64_t)LUN_EXT_FLAT << 56 | (uint64_t)lun << 32;
	/* "Logical unit not specified": refused by the target instead of
	 * silently addressing another LU. */
	return UINT64_MAX;
}

uint32_t pdu_lun_decode(const uint8_t lun[8])
{
	uint8_t b0 = lun[0];

	if (b0 == LUN_EXT_FLAT) {
		/* Four bytes of first level; the rest must be empty. */
		for (int i = 4; i < 8; i++)
			if (lun[i])
				return PDU_LUN_INVALID;
		return (uint32_t)lun[1] << 16 | (uint32_t)lun[2] << 8 | lun[3];
	}
	for (int i = 2; i < 8; i++)
		if (lun[i])
			return PDU_LUN_INVALID;
	switch (b0 & LUN_METHOD_MASK) {
	case LUN_METHOD_PERIPHERAL:
		/* A non-zero bus identifier names a LU behind another level. */
		return b0 ? PDU_LUN_INVALID : lun[1];
	case LUN_METHOD_FLAT:
		return (uint32_t)(b0 & 0x3fu) << 8 | lun[1];
	default:
		return PDU_LUN_INVALID;
	}
}

/* ---- initiator builders ------------------------------------------------ */

static void bhs_start(void *bhs, uint8_t opcode, uint8_t flags)
{
	struct pdu_bhs *h = bhs;

	memset(h, 0, PDU_BHS_LEN);
	h->bhs_opcode = opcode;
	h->bhs_flags = flags;
}

int pdu_build_scsi_cmd(void *bhs, const struct pdu_scsi_cmd_args *a)
{
	struct bhs_scsi_cmd *c = bhs;
	uint8_t flags;

	if (a->cdb_len > sizeof(c->cmd_cdb) || (a->cdb_len && !a->cdb) ||
	    (unsigned)a->attr > SCSI_ATTR_ACA || a->immediate_len > PDU_MAX_DSL)
		return -EINVAL;
	flags = (uint8_t)a->attr;
	if (a->final)
		flags |= PDU_FINAL;
	if (a->read)
		flags |= SCSI_CMD_READ;
	if (a->write)
		flags |= SCSI_CMD_WRITE;
	bhs_start(bhs, PDU_OP_SCSI_CMD, flags);
	pdu_set_dsl(bhs, a->immediate_len);
	pdu_put_lun(c->cmd_lun, a->lun);
	pdu_put32(&c->cmd_itt, a->itt);
	pdu_put32(&c->cmd_edtl, a->edtl);
	if (a->cdb_len)
		memcpy(c->cmd_cdb, a->cdb, a->cdb_len);
	return 0;
}

/* Adds an AHS of ahs_bytes (a multiple of 4) to TotalAHSLength. */
static int ahs_account(struct bhs_scsi_cmd *c, size_t ahs_bytes)
{
	size_t words = c->cmd_ahs_len + ahs_bytes / 4;

	if (words > 0xffu)
		return -EINVAL;
	c->cmd_ahs_len = (uint8_t)words;
	return 0;
}

#define CDB_MAX_LEN 260u   /* SPC: the longest variable-length CDB */

int pdu_build_ext_cdb_ahs(void *bhs, void *ahs, size_t ahs_cap,
			  const uint8_t *cdb, size_t cdb_len)
{
	struct bhs_scsi_cmd *c = bhs;
	struct ahs_hdr *h = ahs;
	size_t ext, total;

	if (!cdb || cdb_len <= sizeof(c->cmd_cdb) || cdb_len > CDB_MAX_LEN ||
	    pdu_opcode(bhs) != PDU_OP_SCSI_CMD)
		return -EINVAL;
	ext = cdb_len - sizeof(c->cmd_cdb);
	total = sizeof(*h) + ext + pdu_pad((uint32_t)ext);
	if (!ahs || ahs_cap < total)
		return -EINVAL;
	if (ahs_account(c, total))
		return -EINVAL;
	memset(ahs, 0, total);
	/* AHSLength counts the reserved byte and the extended CDB bytes. */
	pdu_put16(&h->ahs_length, (uint16_t)(ext + 1));
	h->ahs_type = AHS_EXTENDED_CDB;
	memcpy(h + 1, cdb + sizeof(c->cmd_cdb), ext);
	memcpy(c->cmd_cdb, cdb, sizeof(c->cmd_cdb));
	return (int)total;
}

#define AHS_BIDI_LEN      8u
#define AHS_BIDI_AHSLEN   5u   /* reserved byte + 4-byte length */

int pdu_build_bidi_ahs(void *bhs, void *ahs, size_t ahs_cap, uint32_t read_len)
{
	struct bhs_scsi_cmd *c = bhs;
	struct ahs_hdr *h = ahs;
	uint32_t be = htobe32(read_len);

	if (!ahs || ahs_cap < AHS_BIDI_LEN || pdu_opcode(bhs) != PDU_OP_SCSI_CMD)
		return -EINVAL;
	if (ahs_account(c, AHS_BIDI_LEN))
		return -EINVAL;
	memset(ahs, 0, AHS_BIDI_LEN);
	pdu_put16(&h->ahs_length, AHS_BIDI_AHSLEN);
	h->ahs_type = AHS_BIDI_READ_LENGTH;
	memcpy(h + 1, &be, sizeof(be));
	return AHS_BIDI_LEN;
}

void pdu_build_data_out(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
			uint32_t datasn, uint32_t offset, uint32_t len, bool final)
{
	struct bhs_data_out *d = bhs;

	bhs_start(bhs, PDU_OP_DATA_OUT, final ? PDU_FINAL : 0);
	pdu_set_dsl(bhs, len);
	pdu_put_lun(d->dout_lun, lun);
	pdu_put32(&d->dout_itt, itt);
	pdu_put32(&d->dout_ttt, ttt);
	pdu_put32(&d->dout_datasn, datasn);
	pdu_put32(&d->dout_offset, offset);
}

void pdu_build_nop_out(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
		       uint32_t len, bool immediate)
{
	struct bhs_nop_out *n = bhs;

	bhs_start(bhs, (uint8_t)(PDU_OP_NOP_OUT | (immediate ? PDU_IMMEDIATE : 0)),
		  PDU_FINAL);
	pdu_set_dsl(bhs, len);
	pdu_put_lun(n->nopo_lun, lun);
	pdu_put32(&n->nopo_itt, itt);
	pdu_put32(&n->nopo_ttt, ttt);
}

void pdu_build_tmf(void *bhs, enum tmf_function fn, uint32_t lun, uint32_t itt,
		   uint32_t ref_itt, uint32_t refcmdsn, uint32_t expdatasn)
{
	struct bhs_tmf_req *t = bhs;

	bhs_start(bhs, PDU_OP_TMF_REQ | PDU_IMMEDIATE,
		  (uint8_t)(PDU_FINAL | ((unsigned)fn & 0x7fu)));
	pdu_put_lun(t->tmf_lun, lun);
	pdu_put32(&t->tmf_itt, itt);
	pdu_put32(&t->tmf_ref_itt, ref_itt);
	pdu_put32(&t->tmf_refcmdsn, refcmdsn);
	pdu_put32(&t->tmf_expdatasn, expdatasn);
}

void pdu_build_text(void *bhs, uint32_t itt, uint32_t ttt, uint32_t len,
		    bool final, bool cont)
{
	struct bhs_text_req *t = bhs;

	bhs_start(bhs, PDU_OP_TEXT_REQ,
		  (uint8_t)((final ? PDU_FINAL : 0) | (cont ? TEXT_CONTINUE : 0)));
	pdu_set_dsl(bhs, len);
	pdu_put32(&t->txt_itt, itt);
	pdu_put32(&t->txt_ttt, ttt);
}

void pdu_build_logout(void *bhs, enum logout_reason reason, uint32_t itt,
		      uint16_t cid)
{
	struct bhs_logout_req *l = bhs;

	bhs_start(bhs, PDU_OP_LOGOUT_REQ | PDU_IMMEDIATE,
		  (uint8_t)(PDU_FINAL | ((unsigned)reason & 0x7fu)));
	pdu_put32(&l->lgo_itt, itt);
	pdu_put16(&l->lgo_cid, cid);
}

void pdu_build_snack(void *bhs, enum snack_type type, uint32_t lun,
		     uint32_t itt, uint32_t ttt, uint32_t begrun, uint32_t runlength)
{
	struct bhs_snack *s = bhs;

	bhs_start(bhs, PDU_OP_SNACK, (uint8_t)(PDU_FINAL | ((unsigned)type & 0x0fu)));
	pdu_put_lun(s->snk_lun, lun);
	pdu_put32(&s->snk_itt, itt);
	pdu_put32(&s->snk_ttt, ttt);
	pdu_put32(&s->snk_begrun, begrun);
	pdu_put32(&s->snk_runlength, runlength);
}

void pdu_build_login(void *bhs, const struct pdu_login_args *a)
{
	struct bhs_login_req *l = bhs;
	unsigned flags = ((unsigned)a->csg << LOGIN_CSG_SHIFT) & LOGIN_CSG_MASK;

	if (a->transit)
		flags |= LOGIN_TRANSIT | ((unsigned)a->nsg & LOGIN_NSG_MASK);
	if (a->cont)
		flags |= LOGIN_CONTINUE;
	bhs_start(bhs, PDU_OP_LOGIN_REQ | PDU_IMMEDIATE, (uint8_t)flags);
	pdu_set_dsl(bhs, a->len);
	memcpy(l->lgn_isid, a->isid, sizeof(l->lgn_isid));
	pdu_put16(&l->lgn_tsih, a->tsih);
	pdu_put32(&l->lgn_itt, a->itt);
	pdu_put16(&l->lgn_cid, a->cid);
	pdu_put32(&l->lgn_cmdsn, a->cmdsn);
	pdu_put32(&l->lgn_expstatsn, a->expstatsn);
}

/* Every initiator PDU keeps ExpStatSN in bytes 28-31 and, when it has one,
 * CmdSN in bytes 24-27; the SCSI Command overlay names both. */
#define SAME_AT(a, fa, b, fb) \
	static_assert(offsetof(struct a, fa) == offsetof(struct b, fb), #fa)
SAME_AT(bhs_scsi_cmd, cmd_cmdsn, bhs_nop_out, nopo_cmdsn);
SAME_AT(bhs_scsi_cmd, cmd_cmdsn, bhs_tmf_req, tmf_cmdsn);
SAME_AT(bhs_scsi_cmd, cmd_cmdsn, bhs_login_req, lgn_cmdsn);
SAME_AT(bhs_scsi_cmd, cmd_cmdsn, bhs_text_req, txt_cmdsn);
SAME_AT(bhs_scsi_cmd, cmd_cmdsn, bhs_logout_req, lgo_cmdsn);
SAME_AT(bhs_scsi_cmd, cmd_expstatsn, bhs_nop_out, nopo_expstatsn);
SAME_AT(bhs_scsi_cmd, cmd_expstatsn, bhs_tmf_req, tmf_expstatsn);
SAME_AT(bhs_scsi_cmd, cmd_expstatsn, bhs_login_req, lgn_expstatsn);
SAME_AT(bhs_scsi_cmd, cmd_expstatsn, bhs_text_req, txt_expstatsn);
SAME_AT(bhs_scsi_cmd, cmd_expstatsn, bhs_logout_req, lgo_expstatsn);
SAME_AT(bhs_scsi_cmd, cmd_expstatsn, bhs_data_out, dout_expstatsn);
SAME_AT(bhs_scsi_cmd, cmd_expstatsn, bhs_snack, snk_expstatsn);

void pdu_stamp_cmdsn(void *bhs, uint32_t cmdsn, uint32_t expstatsn)
{
	struct bhs_scsi_cmd *c = bhs;

	switch (pdu_opcode(bhs)) {
	case PDU_OP_NOP_OUT:
	case PDU_OP_SCSI_CMD:
	case PDU_OP_TMF_REQ:
	case PDU_OP_LOGIN_REQ:
	case PDU_OP_TEXT_REQ:
	case PDU_OP_LOGOUT_REQ:
		pdu_put32(&c->cmd_cmdsn, cmdsn);
		pdu_put32(&c->cmd_expstatsn, expstatsn);
		break;
	case PDU_OP_DATA_OUT:
	case PDU_OP_SNACK:
		pdu_put32(&c->cmd_expstatsn, expstatsn);
		break;
	default:
		break;
	}
}

void pdu_stamp_expstatsn(void *bhs, uint32_t expstatsn)
{
	switch (pdu_opcode(bhs)) {
	case PDU_OP_NOP_OUT:
	case PDU_OP_SCSI_CMD:
	case PDU_OP_TMF_REQ:
	case PDU_OP_LOGIN_REQ:
	case PDU_OP_TEXT_REQ:
	case PDU_OP_DATA_OUT:
	case PDU_OP_LOGOUT_REQ:
	case PDU_OP_SNACK:
		pdu_put32(&((struct bhs_scsi_cmd *)bhs)->cmd_expstatsn, expstatsn);
		break;
	default:
		break;
	}
}
