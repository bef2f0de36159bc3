/* SPDX-License-Identifier: MIT */
/* Descriptive commands: INQUIRY and its VPD pages, MODE SENSE, READ
 * CAPACITY, REPORT LUNS. Each builds its answer in c->buf. */
#include "scsi.h"

#include <string.h>

#include "luns.h"

#define VENDOR   "MCSI    "
#define PRODUCT  "testtarget      "
#define REVISION "0001"

static void scsi_answer(struct scsi_cmd *c, uint32_t len, uint32_t alloc)
{
	c->din = c->buf;
	c->din_len = len < alloc ? len : alloc;
	c->phase = c->din_len ? SCSI_PHASE_IN : SCSI_PHASE_NONE;
}

static uint32_t inq_standard(struct scsi_cmd *c)
{
	uint8_t *b = c->buf;
	memset(b, 0, 96);
	b[0] = c->lun ? 0x00 : 0x7f;           /* disk, or no LUN here */
	b[2] = 0x06;                           /* SPC-4 */
	b[3] = 0x12;                           /* HiSup, format 2 */
	b[4] = 96 - 5;
	b[7] = 0x02;                           /* CmdQue */
	memcpy(b + 8, VENDOR, 8);
	memcpy(b + 16, PRODUCT, 16);
	memcpy(b + 32, REVISION, 4);
	/* Version descriptors: SAM-5, iSCSI, SPC-4, SBC-3. */
	scsi_put16(b + 58, 0x00a0);
	scsi_put16(b + 60, 0x0960);
	scsi_put16(b + 62, 0x0460);
	scsi_put16(b + 64, 0x04c0);
	return 96;
}

static uint32_t vpd_device_id(struct scsi_cmd *c)
{
	uint8_t *b = c->buf;
	uint32_t n = 4;
	/* NAA designator, associated with the LUN: stable per (target, LUN). */
	b[n++] = 0x01;                         /* binary */
	b[n++] = 0x03;                         /* LUN, NAA */
	b[n++] = 0;
	b[n++] = 8;
	memcpy(b + n, c->lun->naa, 8);
	n += 8;
	/* T10 vendor id: vendor + serial. */
	size_t sl = strlen(c->lun->serial);
	b[n++] = 0x02;                         /* ASCII */
	b[n++] = 0x01;                         /* LUN, T10 vendor id */
	b[n++] = 0;
	b[n++] = (uint8_t)(8 + sl);
	memcpy(b + n, VENDOR, 8);
	memcpy(b + n + 8, c->lun->serial, sl);
	n += (uint32_t)(8 + sl);
	scsi_put16(b + 2, (uint16_t)(n - 4));
	return n;
}

static uint32_t vpd_block_limits(struct scsi_cmd *c)
{
	uint8_t *b = c->buf;
	memset(b + 4, 0, 60);
	scsi_put16(b + 2, 0x3c);
	b[5] = 1;                              /* MAX COMPARE AND WRITE LENGTH */
	scsi_put16(b + 6, 1);                  /* OPTIMAL TRANSFER GRANULARITY */
	scsi_put32(b + 8, SCSI_MAX_TRANSFER);  /* MAXIMUM TRANSFER LENGTH */
	scsi_put32(b + 12, 128);               /* OPTIMAL TRANSFER LENGTH */
	scsi_put32(b + 20, SCSI_MAX_UNMAP_LBAS);
	scsi_put32(b + 24, SCSI_MAX_UNMAP_DESC);
	scsi_put32(b + 28, 1);                 /* OPTIMAL UNMAP GRANULARITY */
	scsi_put64(b + 36, SCSI_MAX_WRITE_SAME);
	return 64;
}

static void scsi_vpd(struct scsi_cmd *c, uint8_t page, uint32_t alloc)
{
	static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
	uint8_t *b = c->buf;
	uint32_t n;

	if (!c->lun) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		return;
	}
	memset(b, 0, 4);
	b[1] = page;
	switch (page) {
	case 0x00:
		memcpy(b + 4, pages, sizeof(pages));
		n = 4 + sizeof(pages);
		b[3] = sizeof(pages);
		break;
	case 0x80: {
		size_t sl = strlen(c->lun->serial);
		memcpy(b + 4, c->lun->serial, sl);
		b[3] = (uint8_t)sl;
		n = 4 + (uint32_t)sl;
		break;
	}
	case 0x83:
		n = vpd_device_id(c);
		break;
	case 0xb0:
		n = vpd_block_limits(c);
		break;
	case 0xb1:                             /* block device characteristics */
		memset(b + 4, 0, 60);
		scsi_put16(b + 2, 0x3c);
		scsi_put16(b + 4, 1);          /* non-rotating medium */
		n = 64;
		break;
	case 0xb2:                             /* logical block provisioning */
		memset(b + 4, 0, 4);
		b[3] = 4;
		b[5] = 0xe4;                   /* LBPU, LBPWS, LBPWS10, LBPRZ */
		b[6] = 0x02;                   /* thin provisioned */
		n = 8;
		break;
	default:
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	scsi_answer(c, n, alloc);
}

void scsi_inquiry(struct scsi_cmd *c)
{
	uint32_t alloc = scsi_get16(c->cdb + 3);
	if (c->cdb[1] & 0x01) {
		scsi_vpd(c, c->cdb[2], alloc);
		return;
	}
	if (c->cdb[2] != 0) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	scsi_answer(c, inq_standard(c), alloc);
}

/* Mode pages: caching (0x08), control (0x0a), informational exceptions
 * (0x1c). Returns the bytes written at p, 0 for an unknown page. */
static uint32_t mode_page(uint8_t *p, uint8_t page, uint8_t pc)
{
	bool changeable = pc == 1;
	switch (page) {
	case 0x08:
		memset(p, 0, 20);
		p[0] = 0x08;
		p[1] = 18;
		if (!changeable)
			p[2] = 0x04;           /* WCE */
		return 20;
	case 0x0a:
		memset(p, 0, 12);
		p[0] = 0x0a;
		p[1] = 10;
		if (!changeable) {
			p[3] = 0x10;           /* unrestricted reordering */
			scsi_put16(p + 8, 0xffff);  /* busy timeout: unlimited */
		}
		return 12;
	case 0x1c:
		memset(p, 0, 12);
		p[0] = 0x1c;
		p[1] = 10;
		return 12;
	default:
		return 0;
	}
}

void scsi_mode_sense(struct scsi_cmd *c, bool ten)
{
	uint8_t *b = c->buf;
	bool dbd = c->cdb[1] & 0x08;
	uint8_t pc = c->cdb[2] >> 6, page = c->cdb[2] & 0x3f, sub = c->cdb[3];
	uint32_t alloc = ten ? scsi_get16(c->cdb + 7) : c->cdb[4];
	uint32_t hdr = ten ? 8 : 4, n;

	if (pc == 3) {                         /* saved values: none */
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, 0x3900);
		return;
	}
	if (sub != 0 && sub != 0xff) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	memset(b, 0, hdr);
	n = hdr;
	if (!dbd) {
		uint64_t blocks = lun_blocks(c->lun);
		uint32_t bs = c->lun->block_size;
		/* SBC short LBA block descriptor: 4-byte count, 3-byte length. */
		memset(b + n, 0, 8);
		scsi_put32(b + n, blocks > 0xffffffffu ? 0xffffffffu : (uint32_t)blocks);
		b[n + 5] = (uint8_t)(bs >> 16);
		b[n + 6] = (uint8_t)(bs >> 8);
		b[n + 7] = (uint8_t)bs;
		n += 8;
	}
	if (page == 0x3f) {
		static const uint8_t all[] = { 0x08, 0x0a, 0x1c };
		for (size_t i = 0; i < sizeof(all); i++)
			n += mode_page(b + n, all[i], pc);
	} else {
		uint32_t m = mode_page(b + n, page, pc);
		if (m == 0) {
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
			return;
		}
		n += m;
	}
	uint8_t dsp = 0x10;                    /* DPOFUA */
	if (c->lun->readonly)
		dsp |= 0x80;                   /* WP */
	if (ten) {
		scsi_put16(b, (uint16_t)(n - 2));
		b[3] = dsp;
		scsi_put16(b + 6, dbd ? 0 : 8);
	} else {
		b[0] = (uint8_t)(n - 1);
		b[2] = dsp;
		b[3] = dbd ? 0 : 8;
	}
	scsi_answer(c, n, alloc);
}

void scsi_read_capacity(struct scsi_cmd *c, bool sixteen)
{
	uint8_t *b = c->buf;
	uint64_t last = lun_blocks(c->lun) - 1;
	if (!sixteen) {
		if ((c->cdb[8] & 0x01) == 0 && scsi_get32(c->cdb + 2) != 0) {
			/* LBA set without PMI */
			scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
			return;
		}
		scsi_put32(b, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
		scsi_put32(b + 4, c->lun->block_size);
		scsi_answer(c, 8, 8);
		return;
	}
	memset(b, 0, 32);
	scsi_put64(b, last);
	scsi_put32(b + 8, c->lun->block_size);
	b[14] = 0xc0;                          /* LBPME, LBPRZ */
	scsi_answer(c, 32, scsi_get32(c->cdb + 10));
}

void scsi_report_luns(struct scsi_cmd *c)
{
	uint8_t *b = c->buf;
	uint32_t alloc = scsi_get32(c->cdb + 6);
	uint8_t sel = c->cdb[2];
	uint32_t n = 8;

	if (alloc < 16) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	if (sel != 0 && sel != 1 && sel != 2) {
		scsi_set_sense(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	memset(b, 0, 8);
	for (unsigned i = 0; i < TT_MAX_LUNS && sel != 1; i++) {
		if (!c->tgt->luns[i] || n + 8 > c->buf_cap)
			continue;
		memset(b + n, 0, 8);
		b[n + 1] = (uint8_t)i;         /* peripheral addressing, < 256 */
		n += 8;
	}
	scsi_put32(b, n - 8);
	scsi_answer(c, n, alloc);
}
