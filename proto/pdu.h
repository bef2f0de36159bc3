/* SPDX-License-Identifier: MIT */
/*
 * iSCSI wire format (RFC 7143 section 11): Basic Header Segment overlays for
 * every opcode, AHS, padding and the validation of what a peer sends.
 *
 * Overlays are read and written in place; every multi-byte field is
 * big-endian and is accessed only through pdu_get32()/pdu_put32() and
 * friends. Each overlay prefixes its fields with its own short name so that
 * reading the wrong overlay looks wrong. Buffers holding a BHS must be
 * 4-byte aligned (pool buffers are).
 *
 * Pure code: no I/O, no allocation, no clocks.
 */
#ifndef MCSI_PROTO_PDU_H
#define MCSI_PROTO_PDU_H

#include <assert.h>
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PDU_BHS_LEN        48u
#define PDU_DIGEST_LEN     4u
#define PDU_MAX_AHS_LEN    (255u * 4u)  /* TotalAHSLength is in 4-byte words */
#define PDU_MAX_DSL        0xffffffu    /* DataSegmentLength is 24 bits */
#define PDU_RESERVED_TAG   0xffffffffu  /* ITT/TTT meaning "none" */

enum pdu_opcode {
	/* initiator → target */
	PDU_OP_NOP_OUT     = 0x00,
	PDU_OP_SCSI_CMD    = 0x01,
	PDU_OP_TMF_REQ     = 0x02,
	PDU_OP_LOGIN_REQ   = 0x03,
	PDU_OP_TEXT_REQ    = 0x04,
	PDU_OP_DATA_OUT    = 0x05,
	PDU_OP_LOGOUT_REQ  = 0x06,
	PDU_OP_SNACK       = 0x10,
	/* target → initiator */
	PDU_OP_NOP_IN      = 0x20,
	PDU_OP_SCSI_RSP    = 0x21,
	PDU_OP_TMF_RSP     = 0x22,
	PDU_OP_LOGIN_RSP   = 0x23,
	PDU_OP_TEXT_RSP    = 0x24,
	PDU_OP_DATA_IN     = 0x25,
	PDU_OP_LOGOUT_RSP  = 0x26,
	PDU_OP_R2T         = 0x31,
	PDU_OP_ASYNC       = 0x32,
	PDU_OP_REJECT      = 0x3f,
};

/* Byte 0 */
#define PDU_OPCODE_MASK    0x3fu
#define PDU_IMMEDIATE      0x40u
/* Byte 1 */
#define PDU_FINAL          0x80u

/* SCSI Command flags (byte 1) */
#define SCSI_CMD_READ      0x40u
#define SCSI_CMD_WRITE     0x20u
#define SCSI_CMD_ATTR_MASK 0x07u
enum scsi_task_attr {
	SCSI_ATTR_UNTAGGED = 0, SCSI_ATTR_SIMPLE = 1, SCSI_ATTR_ORDERED = 2,
	SCSI_ATTR_HEAD_OF_QUEUE = 3, SCSI_ATTR_ACA = 4,
};

/* SCSI Response / Data-In flags (byte 1) */
#define SCSI_RSP_BIDI_OVERFLOW  0x10u
#define SCSI_RSP_BIDI_UNDERFLOW 0x08u
#define SCSI_RSP_OVERFLOW       0x04u
#define SCSI_RSP_UNDERFLOW      0x02u
#define DATA_IN_ACK             0x40u
#define DATA_IN_OVERFLOW        0x04u
#define DATA_IN_UNDERFLOW       0x02u
#define DATA_IN_STATUS          0x01u

/* Text / Login flags (byte 1) */
#define TEXT_CONTINUE      0x40u
#define LOGIN_TRANSIT      0x80u
#define LOGIN_CONTINUE     0x40u
#define LOGIN_CSG_SHIFT    2
#define LOGIN_CSG_MASK     0x0cu
#define LOGIN_NSG_MASK     0x03u
enum login_stage {
	LOGIN_STAGE_SECURITY = 0, LOGIN_STAGE_OPERATIONAL = 1,
	LOGIN_STAGE_FULL_FEATURE = 3,
};

enum scsi_rsp_code { SCSI_RSP_COMPLETED = 0x00, SCSI_RSP_TARGET_FAILURE = 0x01 };

enum tmf_function {
	TMF_ABORT_TASK = 1, TMF_ABORT_TASK_SET = 2, TMF_CLEAR_ACA = 3,
	TMF_CLEAR_TASK_SET = 4, TMF_LUN_RESET = 5, TMF_TARGET_WARM_RESET = 6,
	TMF_TARGET_COLD_RESET = 7, TMF_TASK_REASSIGN = 8,
	/* RFC 7144 (SAM-4/5 functions): valid codes that a target may
	 * answer with TMF_RSP_NOT_SUPPORTED. */
	TMF_QUERY_TASK = 9, TMF_QUERY_TASK_SET = 10, TMF_IT_NEXUS_RESET = 11,
	TMF_QUERY_ASYNC_EVENT = 12,
};
enum tmf_response {
	TMF_RSP_COMPLETE = 0, TMF_RSP_NO_TASK = 1, TMF_RSP_NO_LUN = 2,
	TMF_RSP_TASK_ALLEGIANT = 3, TMF_RSP_NO_REASSIGN = 4,
	TMF_RSP_NOT_SUPPORTED = 5, TMF_RSP_AUTH_FAILED = 6,
	TMF_RSP_SUCCEEDED = 7,        /* RFC 7144: answer to the QUERY functions */
	TMF_RSP_REJECTED = 255,
};

enum logout_reason {
	LOGOUT_CLOSE_SESSION = 0, LOGOUT_CLOSE_CONNECTION = 1,
	LOGOUT_REMOVE_FOR_RECOVERY = 2,
};
enum logout_response {
	LOGOUT_RSP_OK = 0, LOGOUT_RSP_CID_NOT_FOUND = 1,
	LOGOUT_RSP_RECOVERY_UNSUPPORTED = 2, LOGOUT_RSP_CLEANUP_FAILED = 3,
};

enum snack_type {
	SNACK_DATA_R2T = 0, SNACK_STATUS = 1, SNACK_DATA_ACK = 2, SNACK_RDATA = 3,
};

enum async_event {
	ASYNC_SCSI_EVENT = 0, ASYNC_LOGOUT_REQUEST = 1, ASYNC_CONN_DROP = 2,
	ASYNC_SESSION_DROP = 3, ASYNC_RENEGOTIATE = 4, ASYNC_VENDOR = 255,
};

enum reject_reason {
	REJECT_DIGEST_ERROR = 0x02, REJECT_SNACK_REJECT = 0x03,
	REJECT_PROTOCOL_ERROR = 0x04, REJECT_CMD_NOT_SUPPORTED = 0x05,
	REJECT_IMMEDIATE_REJECTED = 0x06, REJECT_TASK_IN_PROGRESS = 0x07,
	REJECT_INVALID_DATA_ACK = 0x08, REJECT_INVALID_PDU_FIELD = 0x09,
	REJECT_OUT_OF_RESOURCES = 0x0a, REJECT_NEGOTIATION_RESET = 0x0b,
	REJECT_WAITING_FOR_LOGOUT = 0x0c,
};

enum ahs_type { AHS_EXTENDED_CDB = 1, AHS_BIDI_READ_LENGTH = 2 };

/* ---- overlays ---------------------------------------------------------- */

/* Fields common to every PDU. */
struct pdu_bhs {
	uint8_t  bhs_opcode, bhs_flags, bhs_spec1[2];
	uint8_t  bhs_ahs_len, bhs_dsl[3];
	uint8_t  bhs_lun[8];
	uint32_t bhs_itt;
	uint32_t bhs_spec2[7];
};

struct bhs_scsi_cmd {
	uint8_t  cmd_opcode, cmd_flags, cmd_rsvd[2];
	uint8_t  cmd_ahs_len, cmd_dsl[3];
	uint8_t  cmd_lun[8];
	uint32_t cmd_itt, cmd_edtl, cmd_cmdsn, cmd_expstatsn;
	uint8_t  cmd_cdb[16];
};

struct bhs_scsi_rsp {
	uint8_t  rsp_opcode, rsp_flags, rsp_response, rsp_status;
	uint8_t  rsp_ahs_len, rsp_dsl[3];
	uint8_t  rsp_rsvd[8];
	uint32_t rsp_itt, rsp_snack_tag, rsp_statsn, rsp_expcmdsn, rsp_maxcmdsn;
	uint32_t rsp_expdatasn, rsp_bidi_residual, rsp_residual;
};

struct bhs_tmf_req {
	uint8_t  tmf_opcode, tmf_function, tmf_rsvd[2];
	uint8_t  tmf_ahs_len, tmf_dsl[3];
	uint8_t  tmf_lun[8];
	uint32_t tmf_itt, tmf_ref_itt, tmf_cmdsn, tmf_expstatsn;
	uint32_t tmf_refcmdsn, tmf_expdatasn, tmf_rsvd2[2];
};

struct bhs_tmf_rsp {
	uint8_t  tmfr_opcode, tmfr_flags, tmfr_response, tmfr_rsvd;
	uint8_t  tmfr_ahs_len, tmfr_dsl[3];
	uint8_t  tmfr_rsvd2[8];
	uint32_t tmfr_itt, tmfr_rsvd3, tmfr_statsn, tmfr_expcmdsn, tmfr_maxcmdsn;
	uint32_t tmfr_rsvd4[3];
};

struct bhs_data_out {
	uint8_t  dout_opcode, dout_flags, dout_rsvd[2];
	uint8_t  dout_ahs_len, dout_dsl[3];
	uint8_t  dout_lun[8];
	uint32_t dout_itt, dout_ttt, dout_rsvd2, dout_expstatsn, dout_rsvd3;
	uint32_t dout_datasn, dout_offset, dout_rsvd4;
};

struct bhs_data_in {
	uint8_t  din_opcode, din_flags, din_rsvd, din_status;
	uint8_t  din_ahs_len, din_dsl[3];
	uint8_t  din_lun[8];
	uint32_t din_itt, din_ttt, din_statsn, din_expcmdsn, din_maxcmdsn;
	uint32_t din_datasn, din_offset, din_residual;
};

struct bhs_r2t {
	uint8_t  r2t_opcode, r2t_flags, r2t_rsvd[2];
	uint8_t  r2t_ahs_len, r2t_dsl[3];
	uint8_t  r2t_lun[8];
	uint32_t r2t_itt, r2t_ttt, r2t_statsn, r2t_expcmdsn, r2t_maxcmdsn;
	uint32_t r2t_r2tsn, r2t_offset, r2t_desired;
};

struct bhs_async {
	uint8_t  async_opcode, async_flags, async_rsvd[2];
	uint8_t  async_ahs_len, async_dsl[3];
	uint8_t  async_lun[8];
	uint32_t async_itt, async_rsvd2, async_statsn, async_expcmdsn;
	uint32_t async_maxcmdsn;
	uint8_t  async_event, async_vcode;
	uint16_t async_param1, async_param2, async_param3;
	uint32_t async_rsvd3;
};

struct bhs_text_req {
	uint8_t  txt_opcode, txt_flags, txt_rsvd[2];
	uint8_t  txt_ahs_len, txt_dsl[3];
	uint8_t  txt_lun[8];
	uint32_t txt_itt, txt_ttt, txt_cmdsn, txt_expstatsn, txt_rsvd2[4];
};

struct bhs_text_rsp {
	uint8_t  txtr_opcode, txtr_flags, txtr_rsvd[2];
	uint8_t  txtr_ahs_len, txtr_dsl[3];
	uint8_t  txtr_lun[8];
	uint32_t txtr_itt, txtr_ttt, txtr_statsn, txtr_expcmdsn, txtr_maxcmdsn;
	uint32_t txtr_rsvd2[3];
};

struct bhs_login_req {
	uint8_t  lgn_opcode, lgn_flags, lgn_version_max, lgn_version_min;
	uint8_t  lgn_ahs_len, lgn_dsl[3];
	uint8_t  lgn_isid[6];
	uint16_t lgn_tsih;
	uint32_t lgn_itt;
	uint16_t lgn_cid, lgn_rsvd;
	uint32_t lgn_cmdsn, lgn_expstatsn, lgn_rsvd2[4];
};

struct bhs_login_rsp {
	uint8_t  lgnr_opcode, lgnr_flags, lgnr_version_max, lgnr_version_active;
	uint8_t  lgnr_ahs_len, lgnr_dsl[3];
	uint8_t  lgnr_isid[6];
	uint16_t lgnr_tsih;
	uint32_t lgnr_itt, lgnr_rsvd, lgnr_statsn, lgnr_expcmdsn, lgnr_maxcmdsn;
	uint8_t  lgnr_status_class, lgnr_status_detail, lgnr_rsvd2[2];
	uint32_t lgnr_rsvd3[2];
};

struct bhs_logout_req {
	uint8_t  lgo_opcode, lgo_reason, lgo_rsvd[2];
	uint8_t  lgo_ahs_len, lgo_dsl[3];
	uint8_t  lgo_rsvd2[8];
	uint32_t lgo_itt;
	uint16_t lgo_cid, lgo_rsvd3;
	uint32_t lgo_cmdsn, lgo_expstatsn, lgo_rsvd4[4];
};

struct bhs_logout_rsp {
	uint8_t  lgor_opcode, lgor_flags, lgor_response, lgor_rsvd;
	uint8_t  lgor_ahs_len, lgor_dsl[3];
	uint8_t  lgor_rsvd2[8];
	uint32_t lgor_itt, lgor_rsvd3, lgor_statsn, lgor_expcmdsn, lgor_maxcmdsn;
	uint32_t lgor_rsvd4;
	uint16_t lgor_time2wait, lgor_time2retain;
	uint32_t lgor_rsvd5;
};

struct bhs_snack {
	uint8_t  snk_opcode, snk_type, snk_rsvd[2];
	uint8_t  snk_ahs_len, snk_dsl[3];
	uint8_t  snk_lun[8];
	uint32_t snk_itt, snk_ttt, snk_rsvd2, snk_expstatsn, snk_rsvd3[2];
	uint32_t snk_begrun, snk_runlength;
};

struct bhs_reject {
	uint8_t  rej_opcode, rej_flags, rej_reason, rej_rsvd;
	uint8_t  rej_ahs_len, rej_dsl[3];
	uint8_t  rej_rsvd2[8];
	uint32_t rej_itt, rej_rsvd3, rej_statsn, rej_expcmdsn, rej_maxcmdsn;
	uint32_t rej_datasn, rej_rsvd4[2];
};

struct bhs_nop_out {
	uint8_t  nopo_opcode, nopo_flags, nopo_rsvd[2];
	uint8_t  nopo_ahs_len, nopo_dsl[3];
	uint8_t  nopo_lun[8];
	uint32_t nopo_itt, nopo_ttt, nopo_cmdsn, nopo_expstatsn, nopo_rsvd2[4];
};

struct bhs_nop_in {
	uint8_t  nopi_opcode, nopi_flags, nopi_rsvd[2];
	uint8_t  nopi_ahs_len, nopi_dsl[3];
	uint8_t  nopi_lun[8];
	uint32_t nopi_itt, nopi_ttt, nopi_statsn, nopi_expcmdsn, nopi_maxcmdsn;
	uint32_t nopi_rsvd2[3];
};

/* AHS header (RFC 7143 section 11.2.2). AHSLength counts what follows
 * AHSLength and AHSType, without padding: the reserved byte plus the
 * type-specific bytes. An AHS thus occupies 3 + AHSLength bytes, padded to
 * a multiple of 4 (extended CDB: AHSLength = CDB length - 15; bidi read
 * length: AHSLength = 5, 8 bytes in all). */
struct ahs_hdr {
	uint16_t ahs_length;
	uint8_t  ahs_type, ahs_rsvd;
};

#define PDU_OVERLAY_CHECK(type) \
	static_assert(sizeof(struct type) == PDU_BHS_LEN, #type " is 48 bytes")
PDU_OVERLAY_CHECK(pdu_bhs);
PDU_OVERLAY_CHECK(bhs_scsi_cmd);
PDU_OVERLAY_CHECK(bhs_scsi_rsp);
PDU_OVERLAY_CHECK(bhs_tmf_req);
PDU_OVERLAY_CHECK(bhs_tmf_rsp);
PDU_OVERLAY_CHECK(bhs_data_out);
PDU_OVERLAY_CHECK(bhs_data_in);
PDU_OVERLAY_CHECK(bhs_r2t);
PDU_OVERLAY_CHECK(bhs_async);
PDU_OVERLAY_CHECK(bhs_text_req);
PDU_OVERLAY_CHECK(bhs_text_rsp);
PDU_OVERLAY_CHECK(bhs_login_req);
PDU_OVERLAY_CHECK(bhs_login_rsp);
PDU_OVERLAY_CHECK(bhs_logout_req);
PDU_OVERLAY_CHECK(bhs_logout_rsp);
PDU_OVERLAY_CHECK(bhs_snack);
PDU_OVERLAY_CHECK(bhs_reject);
PDU_OVERLAY_CHECK(bhs_nop_out);
PDU_OVERLAY_CHECK(bhs_nop_in);
static_assert(offsetof(struct bhs_login_rsp, lgnr_status_class) == 36, "login status");
static_assert(offsetof(struct bhs_logout_rsp, lgor_time2wait) == 40, "time2wait");
static_assert(offsetof(struct bhs_async, async_event) == 36, "async event");
static_assert(offsetof(struct bhs_snack, snk_begrun) == 40, "begrun");
static_assert(sizeof(struct ahs_hdr) == 4, "AHS header");

/* ---- field access ------------------------------------------------------ */

static inline uint32_t pdu_get32(const uint32_t *f) { return be32toh(*f); }
static inline void pdu_put32(uint32_t *f, uint32_t v) { *f = htobe32(v); }
static inline uint16_t pdu_get16(const uint16_t *f) { return be16toh(*f); }
static inline void pdu_put16(uint16_t *f, uint16_t v) { *f = htobe16(v); }

static inline enum pdu_opcode pdu_opcode(const void *bhs)
{
	return (enum pdu_opcode)(((const struct pdu_bhs *)bhs)->bhs_opcode & PDU_OPCODE_MASK);
}

static inline bool pdu_is_immediate(const void *bhs)
{
	return ((const struct pdu_bhs *)bhs)->bhs_opcode & PDU_IMMEDIATE;
}

static inline uint32_t pdu_dsl(const void *bhs)
{
	const uint8_t *d = ((const struct pdu_bhs *)bhs)->bhs_dsl;
	return (uint32_t)d[0] << 16 | (uint32_t)d[1] << 8 | d[2];
}

static inline void pdu_set_dsl(void *bhs, uint32_t len)
{
	uint8_t *d = ((struct pdu_bhs *)bhs)->bhs_dsl;
	d[0] = (uint8_t)(len >> 16);
	d[1] = (uint8_t)(len >> 8);
	d[2] = (uint8_t)len;
}

/* TotalAHSLength in bytes. */
static inline uint32_t pdu_ahs_bytes(const void *bhs)
{
	return 4u * ((const struct pdu_bhs *)bhs)->bhs_ahs_len;
}

static inline uint32_t pdu_itt(const void *bhs)
{
	return pdu_get32(&((const struct pdu_bhs *)bhs)->bhs_itt);
}

/* Bytes of padding after a data segment of len bytes. */
static inline uint32_t pdu_pad(uint32_t len) { return (4u - (len & 3u)) & 3u; }

/* LUN encoding (SAM-5 single level): peripheral device addressing for
 * 0-255, flat space addressing for 256-16383, extended flat space
 * addressing for 16384-PDU_LUN_MAX. The uint64_t holds the 8 LUN bytes
 * with byte 0 most significant (pdu_put_lun() stores it big-endian).
 * A lun above PDU_LUN_MAX encodes as all 0xff bytes, SAM's "logical unit
 * not specified", which a target refuses rather than aliasing another LU.
 * pdu_lun_decode() returns PDU_LUN_INVALID for any form it cannot map back
 * to a single-level number (other address methods, a non-zero bus, bytes
 * set beyond the first level). */
#define PDU_LUN_MAX        0xffffffu
#define PDU_LUN_INVALID    0xffffffffu
uint64_t pdu_lun_encode(uint32_t lun);
uint32_t pdu_lun_decode(const uint8_t lun[8]);
static inline void pdu_put_lun(uint8_t dst[8], uint32_t lun)
{
	uint64_t v = htobe64(pdu_lun_encode(lun));
	memcpy(dst, &v, 8);
}

/* ---- building initiator PDUs -------------------------------------------
 * Each zeroes the 48 bytes at bhs and fills the fields given. CmdSN and
 * ExpStatSN are stamped separately (pdu_stamp_cmdsn()) when the command
 * enters the window, so that a task can be built before it has one.
 */
struct pdu_scsi_cmd_args {
	uint32_t lun, itt, edtl;      /* Expected Data Transfer Length */
	const uint8_t *cdb;           /* cdb_len bytes; > 16 needs an AHS */
	uint8_t cdb_len;
	bool read, write, final;      /* final: no unsolicited Data-Out follows */
	enum scsi_task_attr attr;
	uint32_t immediate_len;       /* DataSegmentLength (immediate data) */
};
/* A non-immediate SCSI Command. Returns 0, or -EINVAL if cdb_len > 16
 * (use pdu_build_ext_cdb_ahs()), cdb is NULL with cdb_len > 0, attr is not
 * a task attribute or immediate_len exceeds PDU_MAX_DSL. */
int pdu_build_scsi_cmd(void *bhs, const struct pdu_scsi_cmd_args *a);
/* Writes the extended-CDB AHS for a CDB longer than 16 bytes into ahs
 * (17-260 byte CDB: at most 248 bytes of AHS), copies the first 16 CDB
 * bytes into the BHS and adds the AHS to TotalAHSLength, so that the bidi
 * AHS can follow it. cdb is the whole CDB. Returns the AHS length in bytes
 * (a multiple of 4), or -EINVAL (cdb_len outside 17-260, ahs_cap too small,
 * bhs not a SCSI Command, TotalAHSLength would overflow). */
int pdu_build_ext_cdb_ahs(void *bhs, void *ahs, size_t ahs_cap,
			  const uint8_t *cdb, size_t cdb_len);
/* Bidirectional read length AHS (8 bytes), added to TotalAHSLength like the
 * extended-CDB AHS. Returns 8 or -EINVAL. */
int pdu_build_bidi_ahs(void *bhs, void *ahs, size_t ahs_cap, uint32_t read_len);

void pdu_build_data_out(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
			uint32_t datasn, uint32_t offset, uint32_t len, bool final);
/* A ping (itt valid, ttt PDU_RESERVED_TAG) or the answer to a target's
 * ping (itt PDU_RESERVED_TAG, ttt and lun copied from the NOP-In). The RFC
 * requires immediate when itt is PDU_RESERVED_TAG. */
void pdu_build_nop_out(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
		       uint32_t len, bool immediate);
/* Always immediate, so that it overtakes a closed command window. ref_itt
 * must be PDU_RESERVED_TAG for functions other than ABORT TASK and TASK
 * REASSIGN; refcmdsn and expdatasn are written as given. */
void pdu_build_tmf(void *bhs, enum tmf_function fn, uint32_t lun, uint32_t itt,
		   uint32_t ref_itt, uint32_t refcmdsn, uint32_t expdatasn);
/* Non-immediate; LUN zero. */
void pdu_build_text(void *bhs, uint32_t itt, uint32_t ttt, uint32_t len,
		    bool final, bool cont);
/* Immediate (as open-iscsi and FreeBSD send it), F bit set. */
void pdu_build_logout(void *bhs, enum logout_reason reason, uint32_t itt,
		      uint16_t cid);
void pdu_build_snack(void *bhs, enum snack_type type, uint32_t lun,
		     uint32_t itt, uint32_t ttt, uint32_t begrun, uint32_t runlength);

struct pdu_login_args {
	uint8_t isid[6];
	/* opaque, copied as received: host order, pdu_get16(&lgnr_tsih) */
	uint16_t tsih;
	uint16_t cid;
	uint32_t itt, cmdsn, expstatsn, len;
	enum login_stage csg, nsg;
	bool transit, cont;
};
/* Immediate, version-max = version-min = 0; NSG is written only with the
 * transit bit (it is reserved otherwise). */
void pdu_build_login(void *bhs, const struct pdu_login_args *a);

/* Sets CmdSN and ExpStatSN on any initiator PDU that carries them. */
void pdu_stamp_cmdsn(void *bhs, uint32_t cmdsn, uint32_t expstatsn);
/* Sets ExpStatSN only (Data-Out, SNACK). */
void pdu_stamp_expstatsn(void *bhs, uint32_t expstatsn);

/* ---- building target PDUs (the project's test target) ------------------
 * Same conventions: each zeroes the 48 bytes and fills what it is given;
 * StatSN, ExpCmdSN and MaxCmdSN are stamped by pdu_stamp_statsn() as the
 * PDU leaves. Byte 0 never has the immediate bit. A test target that wants
 * to misbehave edits the built header afterwards.
 */
struct pdu_scsi_rsp_args {
	uint32_t itt;
	uint8_t response;             /* enum scsi_rsp_code or 0x80-0xff */
	uint8_t status;               /* SCSI status, when response is 0 */
	uint8_t flags;                /* SCSI_RSP_{BIDI_,}{OVER,UNDER}FLOW */
	uint32_t residual, bidi_residual;
	uint32_t expdatasn;           /* Data-In PDUs sent (0 if none) */
	uint32_t snack_tag;           /* 0 unless answering an R-Data SNACK */
	uint32_t len;                 /* DataSegmentLength: sense + response */
};
void pdu_build_scsi_rsp(void *bhs, const struct pdu_scsi_rsp_args *a);

struct pdu_data_in_args {
	uint32_t lun, itt;
	uint32_t ttt;                 /* PDU_RESERVED_TAG unless ack */
	uint32_t datasn, offset, len;
	bool final, ack;
	bool has_status;              /* S bit; implies final (RFC 7143) */
	uint8_t status;               /* written only with has_status */
	uint8_t residual_flags;       /* DATA_IN_{OVER,UNDER}FLOW, with S only */
	uint32_t residual;            /* written only with has_status */
};
void pdu_build_data_in(void *bhs, const struct pdu_data_in_args *a);

void pdu_build_r2t(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
		   uint32_t r2tsn, uint32_t offset, uint32_t desired);
/* Answer to a ping (itt valid, ttt PDU_RESERVED_TAG), a ping of our own
 * (itt PDU_RESERVED_TAG, ttt valid) or a window update (both reserved). */
void pdu_build_nop_in(void *bhs, uint32_t lun, uint32_t itt, uint32_t ttt,
		      uint32_t len);
void pdu_build_tmf_rsp(void *bhs, uint32_t itt, enum tmf_response response);
void pdu_build_text_rsp(void *bhs, uint32_t itt, uint32_t ttt, uint32_t len,
			bool final, bool cont);

struct pdu_login_rsp_args {
	uint8_t isid[6];
	uint16_t tsih;                /* host order */
	uint32_t itt, len;
	enum login_stage csg, nsg;    /* nsg written only with transit */
	bool transit, cont;
	uint8_t status_class, status_detail;
	uint8_t version_max, version_active;
};
void pdu_build_login_rsp(void *bhs, const struct pdu_login_rsp_args *a);
void pdu_build_logout_rsp(void *bhs, uint32_t itt,
			  enum logout_response response, uint16_t time2wait,
			  uint16_t time2retain);
/* ITT is PDU_RESERVED_TAG; len covers sense data and event data. */
void pdu_build_async(void *bhs, uint32_t lun, enum async_event event,
		     uint8_t vcode, uint16_t param1, uint16_t param2,
		     uint16_t param3, uint32_t len);
/* ITT is PDU_RESERVED_TAG; the data segment (len >= 48) carries the
 * rejected header. datasn is the DataSN/R2TSN for a SNACK reject, else 0. */
void pdu_build_reject(void *bhs, enum reject_reason reason, uint32_t datasn,
		      uint32_t len);
/* Sets StatSN, ExpCmdSN and MaxCmdSN (bytes 24-35 on every target PDU). */
void pdu_stamp_statsn(void *bhs, uint32_t statsn, uint32_t expcmdsn,
		      uint32_t maxcmdsn);

/* ---- validating what a peer sent ---------------------------------------
 * pdu_check_target_pdu() is the initiator's gate for every received BHS:
 * it checks the opcode, the flags and the fields the peer controls that can
 * be judged without session state, and the segment lengths against our
 * limits. Session-state checks (ITT known, DataSN in order, offsets within
 * the task) are the caller's. Returns 0, or -EPROTO with *why (if why is
 * not NULL) set to a static string naming the defect.
 *
 * What is judged: the opcode is one of the direction's; login-phase PDUs
 * only during login and never after; the F bit where the RFC fixes it to 1;
 * the C/F and T/C combinations; no AHS except on a SCSI Command; the
 * DataSegmentLength against lim->max_recv_dsl, and 0 where the PDU has no
 * data segment (TMF, Logout, R2T, SNACK); the reserved ITT 0xffffffff where
 * the RFC requires it (Async, Reject, Status/DataACK SNACK) and its absence
 * where a task is named; code values (task attribute, TMF function and
 * response, logout reason and response, SNACK type, async event, reject
 * reason, SCSI response, login stages and status class). Reserved bits and
 * fields are NOT judged: RFC 7143 section 11 requires a receiver to ignore
 * them (that includes bit 6 of byte 0 where it is not the I bit).
 * lim must not be NULL.
 */
struct pdu_limits {
	uint32_t max_recv_dsl;        /* our MaxRecvDataSegmentLength */
	bool in_login;                /* login phase: only login responses */
};
int pdu_check_target_pdu(const void *bhs, const struct pdu_limits *lim,
			 const char **why);
/* The target side's gate (for the project's test target). */
int pdu_check_initiator_pdu(const void *bhs, const struct pdu_limits *lim,
			    const char **why);

/* Walks the AHS segment: returns 0 and fills the extended-CDB bytes
 * (appended to the 16 in the BHS by the caller) and the bidi read length
 * when present; -EPROTO if an AHS runs past ahs_len or is malformed
 * (ahs_len not a multiple of 4, an AHSLength too short or too long for its
 * type, an unknown AHS type, the same type twice). out is cleared first;
 * ahs stays borrowed (out->ext_cdb points into it). */
struct pdu_ahs_info {
	const uint8_t *ext_cdb;       /* points into ahs, or NULL */
	size_t ext_cdb_len;
	bool has_bidi;
	uint32_t bidi_read_len;
};
int pdu_parse_ahs(const uint8_t *ahs, size_t ahs_len, struct pdu_ahs_info *out,
		  const char **why);

/* Static names for logs; never NULL ("unknown" for values without one).
 * pdu_opcode_name() takes byte 0 as is (the immediate bit is ignored). */
const char *pdu_opcode_name(unsigned opcode);
const char *pdu_reject_reason_name(unsigned reason);
const char *pdu_tmf_response_name(unsigned response);
const char *pdu_async_event_name(unsigned event);

#endif
