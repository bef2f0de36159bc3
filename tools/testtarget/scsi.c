/* SPDX-License-Identifier: MIT */
/* Command decoding and the data-moving commands (READ, WRITE, VERIFY,
 * WRITE SAME, UNMAP, COMPARE AND WRITE, SYNCHRONIZE CACHE, PRE-FETCH). */
#include "scsi.h"

#include <errno.h>
#include <string.h>

#include "luns.h"

void scsi_set_sense(struct scsi_cmd *c, enum scsi_sense_key key, unsigned asc)
{
	c->status = SAM_CHECK_CONDITION;
	memset(c->sense, 0, sizeof(c->sense));
	c->sense[0] = 0x70;                    /* current, fixed format */
	c->sense[2] = (uint8_t)key;
	c->sense[7] = SCSI_SENSE_LEN - 8;
	c->sense[12] = (uint8_t)(asc >> 8);
	c->sense[13] = (uint8_t)asc;
	c->sense_len = SCSI_SENSE_LEN;
	c->phase = SCSI_PHASE_NONE;
	c->din_len = 0;
}

enum rw_kind { RW_READ, RW_WRITE, RW_VERIFY, RW_WRITE_VERIFY, RW_PREFETCH,
	       RW_SYNC, RW_WRITE_SAME, RW_CAW };

struct rw_decode {
	enum rw_kind kind;
	uint64_t lba;
	uint32_t n;
	uint8_t protect;              /* RD/WR/VRPROTECT */
};

static bool scsi_decode_rw(const uint8_t *cdb, struct rw_decode *d)
{
	d->protect = cdb[1] >> 5;
	switch (cdb[0]) {
	case 0x08: case 0x0a:                  /* READ(6), WRITE(6) */
		d->kind = cdb[0] == 0x08 ? RW_READ : RW_WRITE;
		d->lba = (uint64_t)(cdb[1] & 0x1f) << 16 | scsi_get16(cdb + 2);
		d->n = cdb[4] ? cdb[4] : 256;
		d->protect = 0;
		return true;
	case 0x28: case 0x2a: case 0x2e: case 0x2f: case 0x34: case 0x35:
	case 0x41:
		d->lba = scsi_get32(cdb + 2);
		d->n = scsi_get16(cdb + 7);
		break;
	case 0xa8: case 0xaa: case 0xae: case 0xaf:
		d->lba = scsi_get32(cdb + 2);
		d->n = scsi_get32(cdb + 6);
		break;
	case 0x88: case 0x8a: case 0x8e: case 0x8f: case 0x90: case 0x91:
	case 0x93:
		d->lba = scsi_get64(cdb + 2);
		d->n = scsi_get32(cdb + 10);
		break;
	case 0x89:
		d->lba = scsi_get64(cdb + 2);
		d->n = cdb[13];
		break;
	default:
		return false;
	}
	switch (cdb[0]) {
	case 0x28: case 0xa8: case 0x88: d->kind = RW_READ; break;
	case 0x2a: case 0xaa: case 0x8a: d->kind = RW_WRITE; break;
	case 0x2e: case 0xae: case 0x8e: d->kind = RW_WRITE_VERIFY; break;
	case 0x2f: case 0xaf: case 0x8f: d->kind = RW_VERIFY; break;
	case 0x34: case 0x90: d->kind = RW_PREFETCH; d->protect = 0; break;
	case 0x35: case 0x91: d->kind = RW_SYNC; d->protect = 0; break;
	case 0x41: case 0x93: d->kind = RW_WRITE_SAME; break;
	default: d->kind = RW_CAW; break;
	}
	return true;
}

static bool scsi_range_ok(const struct tt_lun *l, uint64_t lba, uint64_t n)
{
	uint64_t blocks = lun_blocks(l);
	return lba <= blocks && n <= blocks - lba;
}

static int scsi_want_out(struct scsi_cmd *c, uint32_t len, bool finish)
{
	c->phase = SCSI_PHASE_OUT;
	c->dout_len = len;
	c->need_finish = finish;
	if (!finish)
		return 0;
	if (len > c->buf_cap)
		return -ENOBUFS;
	c->dout = c->buf;
	return 0;
}

static int scsi_rw(struct scsi_cmd *c)
{
	struct rw_decode d = { 0 };
	struct tt_lun *l = c->lun;
	uint32_t bs = l->block_size;

	if (!scsi_decode_rw(c->cdb, &d)) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return 0;
	}
	c->lba = d.lba;
	c->nblocks = d.n;
	if (d.protect) {
		/* No protection information on these LUNs. */
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	if (d.kind == RW_WRITE_SAME) {
		bool ndob = c->op == 0x93 && (c->cdb[1] & 0x01);
		bool unmap = c->cdb[1] & 0x08;
		if (d.n == 0)                  /* WSNZ = 0: to the end */
			d.n = (uint32_t)(lun_blocks(l) - (d.lba < lun_blocks(l) ? d.lba : lun_blocks(l)));
		c->nblocks = d.n;
		/* MAXIMUM WRITE SAME LENGTH in the Block Limits page. */
		if ((c->cdb[1] & 0x10) || (ndob && !unmap) || d.n > SCSI_MAX_WRITE_SAME) {
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
			return 0;
		}
		if (!scsi_range_ok(l, d.lba, d.n)) {
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
			return 0;
		}
		if (l->readonly) {
			scsi_set_sense(c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
			return 0;
		}
		if (ndob) {
			lun_unmap(l, d.lba, d.n);
			return 0;
		}
		return scsi_want_out(c, bs, true);
	}
	if (d.n > SCSI_MAX_TRANSFER && d.kind != RW_PREFETCH && d.kind != RW_SYNC) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	if (!scsi_range_ok(l, d.lba, d.n)) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return 0;
	}
	uint64_t bytes = (uint64_t)d.n * bs;
	if (bytes > UINT32_MAX) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	bool writes = d.kind == RW_WRITE || d.kind == RW_WRITE_VERIFY ||
		      d.kind == RW_CAW;
	if (writes && l->readonly) {
		scsi_set_sense(c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		return 0;
	}
	uint8_t *at = l->mem ? l->mem + d.lba * bs : NULL;
	switch (d.kind) {
	case RW_READ:
		c->phase = d.n ? SCSI_PHASE_IN : SCSI_PHASE_NONE;
		c->din = at;                   /* NULL on a null LUN: zeros */
		c->din_len = (uint32_t)bytes;
		return 0;
	case RW_WRITE:
	case RW_WRITE_VERIFY:
		if (d.n == 0)
			return 0;
		c->dout = at;
		return scsi_want_out(c, (uint32_t)bytes, false);
	case RW_VERIFY: {
		unsigned bytchk = (c->cdb[1] >> 1) & 3;
		if (bytchk == 2) {
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
			return 0;
		}
		if (bytchk == 0 || d.n == 0)
			return 0;
		return scsi_want_out(c, bytchk == 3 ? bs : (uint32_t)bytes, true);
	}
	case RW_CAW:
		if (d.n == 0) {
			/* Nothing to compare, yet the initiator sends data. */
			if (c->edtl)
				scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
			return 0;
		}
		if (d.n > 1) {   /* MAXIMUM COMPARE AND WRITE LENGTH is 1 */
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
			return 0;
		}
		return scsi_want_out(c, 2 * (uint32_t)bytes, true);
	case RW_PREFETCH:
	case RW_SYNC:
	default:
		return 0;
	}
}

static int scsi_unmap_prepare(struct scsi_cmd *c)
{
	uint32_t len = scsi_get16(c->cdb + 7);
	if (c->cdb[1] & 0x01) {                /* ANCHOR */
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	if (c->lun->readonly) {
		scsi_set_sense(c, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
		return 0;
	}
	if (len == 0)
		return 0;
	return scsi_want_out(c, len, true);
}

static void scsi_unmap_finish(struct scsi_cmd *c)
{
	const uint8_t *p = c->buf;
	uint32_t len = c->dout_len;
	if (len < 8)
		return;                        /* nothing to unmap */
	uint32_t dlen = scsi_get16(p + 2);
	if (dlen > len - 8)
		dlen = len - 8;
	dlen -= dlen % 16;
	if (dlen / 16 > SCSI_MAX_UNMAP_DESC) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_PARAM);
		return;
	}
	for (uint32_t off = 8; off < 8 + dlen; off += 16) {
		uint64_t lba = scsi_get64(p + off);
		uint32_t n = scsi_get32(p + off + 8);
		if (n > SCSI_MAX_UNMAP_LBAS) {
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_PARAM);
			return;
		}
		if (!scsi_range_ok(c->lun, lba, n)) {
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
			return;
		}
	}
	for (uint32_t off = 8; off < 8 + dlen; off += 16)
		lun_unmap(c->lun, scsi_get64(p + off), scsi_get32(p + off + 8));
}

static void scsi_miscompare(struct scsi_cmd *c, uint32_t at)
{
	scsi_set_sense(c, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
	c->sense[0] |= 0x80;                   /* INFORMATION is valid */
	scsi_put32(c->sense + 3, at);
}

void scsi_finish(struct scsi_cmd *c)
{
	struct tt_lun *l = c->lun;
	uint32_t bs = l->block_size;
	uint8_t *at = l->mem ? l->mem + c->lba * bs : NULL;

	switch (c->op) {
	case 0x42:
		scsi_unmap_finish(c);
		return;
	case 0x41: case 0x93:
		if (c->cdb[1] & 0x08) {        /* UNMAP bit: deallocate */
			lun_unmap(l, c->lba, c->nblocks);
			return;
		}
		for (uint32_t i = 0; at && i < c->nblocks; i++)
			memcpy(at + (size_t)i * bs, c->buf, bs);
		return;
	case 0x2f: case 0xaf: case 0x8f: {
		unsigned bytchk = (c->cdb[1] >> 1) & 3;
		for (uint32_t i = 0; i < c->nblocks; i++) {
			const uint8_t *want = c->buf + (bytchk == 3 ? 0 : (size_t)i * bs);
			for (uint32_t j = 0; j < bs; j++) {
				uint8_t have = at ? at[(size_t)i * bs + j] : 0;
				if (have != want[j]) {
					scsi_miscompare(c, i * bs + j);
					return;
				}
			}
		}
		return;
	}
	case 0x89: {
		size_t n = (size_t)c->nblocks * bs;
		for (size_t j = 0; j < n; j++) {
			uint8_t have = at ? at[j] : 0;
			if (have != c->buf[j]) {
				scsi_miscompare(c, (uint32_t)j);
				return;
			}
		}
		if (at)
			memcpy(at, c->buf + n, n);
		return;
	}
	default:
		return;
	}
}

static void scsi_request_sense(struct scsi_cmd *c)
{
	uint32_t alloc = c->cdb[4];
	if (c->cdb[1] & 0x01) {                /* DESC: fixed format only */
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	memset(c->buf, 0, SCSI_SENSE_LEN);
	c->buf[0] = 0x70;
	c->buf[7] = SCSI_SENSE_LEN - 8;
	if (!c->lun) {
		c->buf[2] = SK_ILLEGAL_REQUEST;
		c->buf[12] = ASC_LUN_NOT_SUPPORTED >> 8;
	}
	c->din = c->buf;
	c->din_len = alloc < SCSI_SENSE_LEN ? alloc : SCSI_SENSE_LEN;
	c->phase = c->din_len ? SCSI_PHASE_IN : SCSI_PHASE_NONE;
}

static bool scsi_is_rw(uint8_t op)
{
	switch (op) {
	case 0x08: case 0x0a: case 0x28: case 0x2a: case 0x2e: case 0x2f:
	case 0x34: case 0x35: case 0x41: case 0xa8: case 0xaa: case 0xae:
	case 0xaf: case 0x88: case 0x89: case 0x8a: case 0x8e: case 0x8f:
	case 0x90: case 0x91: case 0x93:
		return true;
	default:
		return false;
	}
}

int scsi_prepare(struct scsi_cmd *c)
{
	c->op = c->cdb[0];
	c->phase = SCSI_PHASE_NONE;
	c->status = SAM_GOOD;
	c->sense_len = 0;
	c->din = NULL;
	c->din_len = 0;
	c->dout = NULL;
	c->dout_len = 0;
	c->need_finish = false;

	/* Commands that work without a LUN. */
	switch (c->op) {
	case 0x12:
		scsi_inquiry(c);
		return 0;
	case 0xa0:
		scsi_report_luns(c);
		return 0;
	case 0x03:
		scsi_request_sense(c);
		return 0;
	default:
		break;
	}
	if (!c->lun) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		return 0;
	}
	if (scsi_is_rw(c->op))
		return scsi_rw(c);
	switch (c->op) {
	case 0x00:                             /* TEST UNIT READY */
	case 0x1b:                             /* START STOP UNIT */
	case 0x1e:                             /* PREVENT ALLOW MEDIUM REMOVAL */
		return 0;
	case 0x1a:
		scsi_mode_sense(c, false);
		return 0;
	case 0x5a:
		scsi_mode_sense(c, true);
		return 0;
	case 0x15: case 0x55: {                /* MODE SELECT: accepted, ignored */
		uint32_t len = c->op == 0x15 ? c->cdb[4] : scsi_get16(c->cdb + 7);
		if (len == 0)
			return 0;
		return scsi_want_out(c, len, true);
	}
	case 0x25:
		scsi_read_capacity(c, false);
		return 0;
	case 0x9e:
		if ((c->cdb[1] & 0x1f) == 0x10) {
			scsi_read_capacity(c, true);
			return 0;
		}
		break;
	case 0x42:
		return scsi_unmap_prepare(c);
	default:
		break;
	}
	scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	return 0;
}
