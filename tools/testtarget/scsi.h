/* SPDX-License-Identifier: MIT */
/*
 * SCSI block device emulation (SPC-4 / SBC-3 subset) over a tt_lun. Pure:
 * no I/O, no allocation; the transport owns the buffers.
 *
 * A command runs in two steps. scsi_prepare() decodes the CDB and says what
 * the transport must move: nothing (status is final), Data-In from a
 * buffer, or Data-Out into a buffer. For commands whose Data-Out needs work
 * after it arrived (UNMAP, WRITE SAME, VERIFY with BYTCHK, COMPARE AND
 * WRITE), the transport calls scsi_finish() once every byte is in.
 */
#ifndef TT_SCSI_H
#define TT_SCSI_H

#include "tt.h"

enum scsi_status {
	SAM_GOOD = 0x00, SAM_CHECK_CONDITION = 0x02, SAM_BUSY = 0x08,
	SAM_RESERVATION_CONFLICT = 0x18, SAM_TASK_SET_FULL = 0x28,
	SAM_TASK_ABORTED = 0x40,
};
enum scsi_sense_key {
	SK_NO_SENSE = 0, SK_NOT_READY = 2, SK_MEDIUM_ERROR = 3,
	SK_ILLEGAL_REQUEST = 5, SK_UNIT_ATTENTION = 6, SK_DATA_PROTECT = 7,
	SK_ABORTED_COMMAND = 0x0b, SK_MISCOMPARE = 0x0e,
};
/* ASC << 8 | ASCQ */
enum scsi_asc {
	ASC_INVALID_OPCODE = 0x2000, ASC_LBA_OUT_OF_RANGE = 0x2100,
	ASC_INVALID_FIELD_CDB = 0x2400, ASC_LUN_NOT_SUPPORTED = 0x2500,
	ASC_INVALID_FIELD_PARAM = 0x2600, ASC_PARAM_LIST_LENGTH = 0x1a00,
	ASC_WRITE_PROTECTED = 0x2700, ASC_POWER_ON = 0x2900,
	ASC_LUN_RESET = 0x2903,       /* BUS DEVICE RESET FUNCTION OCCURRED */
	ASC_CAPACITY_CHANGED = 0x2a09, ASC_REPORTED_LUNS_CHANGED = 0x3f0e,
	ASC_MISCOMPARE_VERIFY = 0x1d00, ASC_DIGEST_ERROR = 0x4703,
	ASC_INITIATOR_DETECTED_ERROR = 0x4800,
};

enum scsi_phase { SCSI_PHASE_NONE, SCSI_PHASE_IN, SCSI_PHASE_OUT };

#define SCSI_SENSE_LEN 18

/* Limits reported in the Block Limits VPD page and enforced. */
#define SCSI_MAX_TRANSFER     0x10000u    /* blocks */
#define SCSI_MAX_WRITE_SAME   0x10000u
#define SCSI_MAX_UNMAP_LBAS   0x10000u
#define SCSI_MAX_UNMAP_DESC   64u

struct scsi_cmd {
	/* in */
	const uint8_t *cdb;           /* 16 bytes (extended CDBs: rejected) */
	struct tt_target *tgt;
	struct tt_lun *lun;           /* NULL: no such LUN */
	uint32_t edtl;                /* Expected Data Transfer Length */
	uint8_t *buf;                 /* transport's scratch, buf_cap bytes */
	size_t buf_cap;
	/* out */
	enum scsi_phase phase;
	uint8_t status;
	uint8_t sense[SCSI_SENSE_LEN];
	uint8_t sense_len;
	const uint8_t *din;           /* Data-In source (LUN memory, buf or
				       * zeros when NULL) */
	uint32_t din_len;             /* bytes the command wants to return */
	uint8_t *dout;                /* Data-Out sink; NULL: discard */
	uint32_t dout_len;            /* bytes the command expects */
	bool need_finish;             /* call scsi_finish() after Data-Out */
	/* decoded, for scsi_finish() */
	uint8_t op;
	uint64_t lba;
	uint32_t nblocks;
};

/* Fills the out fields of c. Returns 0, or -ENOBUFS when the command needs
 * a Data-Out buffer larger than buf_cap (c->dout_len says how large): the
 * caller supplies a bigger buf and calls again. */
int scsi_prepare(struct scsi_cmd *c);
/* Completes a command that set need_finish; sets status and sense. */
void scsi_finish(struct scsi_cmd *c);

/* Sets CHECK CONDITION with fixed-format sense. */
void scsi_set_sense(struct scsi_cmd *c, enum scsi_sense_key key, unsigned asc);

/* INQUIRY, MODE SENSE, READ CAPACITY, REPORT LUNS and the VPD pages
 * (scsi_info.c). Each writes the response into c->buf and sets din. */
void scsi_inquiry(struct scsi_cmd *c);
void scsi_mode_sense(struct scsi_cmd *c, bool ten);
void scsi_read_capacity(struct scsi_cmd *c, bool sixteen);
void scsi_report_luns(struct scsi_cmd *c);

/* Big-endian helpers for CDBs and parameter data. */
static inline uint16_t scsi_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t scsi_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t scsi_get64(const uint8_t *p)
{
	return (uint64_t)scsi_get32(p) << 32 | scsi_get32(p + 4);
}
static inline void scsi_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void scsi_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void scsi_put64(uint8_t *p, uint64_t v)
{
	scsi_put32(p, (uint32_t)(v >> 32));
	scsi_put32(p + 4, (uint32_t)v);
}

#endif
