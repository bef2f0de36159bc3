/* SPDX-License-Identifier: MIT */
/*
 * The SCSI commands a block host sends through a session (SPC-4, SBC-3):
 * CDB builders and parsers for the responses it needs to find, identify
 * and size its logical units.
 *
 * Builders write a complete CDB (reserved bytes zeroed, CONTROL 0) into a
 * caller buffer of cap bytes and return its length (6, 10, 12 or 16), or
 * -ENOSPC (cap too small) or -EINVAL (an argument the CDB cannot carry).
 *
 * Parsers read data a target sent: every length is checked against the
 * buffer, and malformed or inconsistent data gives -EPROTO with *why set
 * to a static reason (why may be NULL). Output that points into the
 * buffer borrows it. Pure code: no I/O, no allocation.
 */
#ifndef MCSI_PROTO_SCSI_H
#define MCSI_PROTO_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCSI_CDB_MAX        16u

enum scsi_opcode {
	SCSI_OP_TEST_UNIT_READY    = 0x00,
	SCSI_OP_INQUIRY            = 0x12,
	SCSI_OP_READ_CAPACITY10    = 0x25,
	SCSI_OP_READ10             = 0x28,
	SCSI_OP_WRITE10            = 0x2a,
	SCSI_OP_SYNC_CACHE10       = 0x35,
	SCSI_OP_WRITE_SAME10       = 0x41,
	SCSI_OP_UNMAP              = 0x42,
	SCSI_OP_READ16             = 0x88,
	SCSI_OP_WRITE16            = 0x8a,
	SCSI_OP_SYNC_CACHE16       = 0x91,
	SCSI_OP_WRITE_SAME16       = 0x93,
	SCSI_OP_SERVICE_ACTION_IN16 = 0x9e,
	SCSI_OP_REPORT_LUNS        = 0xa0,
};
#define SCSI_SA_READ_CAPACITY16 0x10u

/* ---- status byte (SAM-5) ------------------------------------------------ */

enum scsi_status {
	SCSI_STATUS_GOOD                 = 0x00,
	SCSI_STATUS_CHECK_CONDITION      = 0x02,
	SCSI_STATUS_CONDITION_MET        = 0x04,
	SCSI_STATUS_BUSY                 = 0x08,
	SCSI_STATUS_RESERVATION_CONFLICT = 0x18,
	SCSI_STATUS_TASK_SET_FULL        = 0x28,
	SCSI_STATUS_ACA_ACTIVE           = 0x30,
	SCSI_STATUS_TASK_ABORTED         = 0x40,
};
/* Static name ("CHECK CONDITION"), or "UNKNOWN" for other values. */
const char *scsi_status_name(uint8_t status);
/* True for BUSY and TASK SET FULL: the target had no room for the command
 * and the same command may be sent again later. */
bool scsi_status_retryable(uint8_t status);

/* ---- CDB builders ------------------------------------------------------- */

/* Flags for READ/WRITE (byte 1): force unit access, disable page out. */
#define SCSI_RW_FUA         0x08u
#define SCSI_RW_DPO         0x10u
/* Flags for WRITE SAME (byte 1): deallocate instead of writing, anchor;
 * NDOB (no Data-Out buffer, zeroes) exists in WRITE SAME(16) only. */
#define SCSI_WS_UNMAP       0x08u
#define SCSI_WS_ANCHOR      0x10u
#define SCSI_WS_NDOB        0x01u

int scsi_build_test_unit_ready(uint8_t *cdb, size_t cap);
/* Standard INQUIRY data, alloc_len bytes at most (36 is the minimum a host
 * should ask for). */
int scsi_build_inquiry(uint8_t *cdb, size_t cap, uint16_t alloc_len);
/* INQUIRY with EVPD=1 for one vital product data page. */
int scsi_build_inquiry_vpd(uint8_t *cdb, size_t cap, uint8_t page,
			   uint16_t alloc_len);
/* REPORT LUNS (12 bytes) with SELECT REPORT select (0 = all LUNs the
 * initiator can address); -EINVAL if alloc_len < 16 (SPC-4 forbids it). */
int scsi_build_report_luns(uint8_t *cdb, size_t cap, uint8_t select,
			   uint32_t alloc_len);
int scsi_build_read_capacity10(uint8_t *cdb, size_t cap);
/* SERVICE ACTION IN(16) / READ CAPACITY(16); 32 bytes is the full data. */
int scsi_build_read_capacity16(uint8_t *cdb, size_t cap, uint32_t alloc_len);

/* READ/WRITE(10): -EINVAL if lba > 0xffffffff, blocks > 0xffff or flags
 * outside SCSI_RW_*. A transfer length of 0 moves no data. */
int scsi_build_read10(uint8_t *cdb, size_t cap, uint64_t lba,
		      uint32_t blocks, unsigned flags);
int scsi_build_write10(uint8_t *cdb, size_t cap, uint64_t lba,
		       uint32_t blocks, unsigned flags);
int scsi_build_read16(uint8_t *cdb, size_t cap, uint64_t lba,
		      uint32_t blocks, unsigned flags);
int scsi_build_write16(uint8_t *cdb, size_t cap, uint64_t lba,
		       uint32_t blocks, unsigned flags);
/* The I/O path's choice: the 10-byte form when lba and blocks fit, the
 * 16-byte form otherwise (cap must allow for it). */
int scsi_build_rw(uint8_t *cdb, size_t cap, bool write, uint64_t lba,
		  uint32_t blocks, unsigned flags);

/* SYNCHRONIZE CACHE: blocks 0 means from lba to the end of the medium;
 * immed asks for status before the flush completes. (10): -EINVAL if
 * lba > 0xffffffff or blocks > 0xffff. */
int scsi_build_sync_cache10(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, bool immed);
int scsi_build_sync_cache16(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, bool immed);

/* UNMAP: the CDB carries only the parameter list length; the list itself
 * (the Data-Out buffer) comes from scsi_build_unmap_params(). */
int scsi_build_unmap(uint8_t *cdb, size_t cap, uint16_t param_len,
		     bool anchor);
struct scsi_unmap_desc {
	uint64_t lba;
	uint32_t blocks;
};
/* The parameter list length is 16 bits: 8 header bytes + 16 per
 * descriptor leaves room for 4095. */
#define SCSI_UNMAP_MAX_DESC 4095u
/* Writes the UNMAP parameter list for n descriptors (8 + 16 n bytes) into
 * buf. Returns its length, -ENOSPC, or -EINVAL (n > SCSI_UNMAP_MAX_DESC). */
int scsi_build_unmap_params(uint8_t *buf, size_t cap,
			    const struct scsi_unmap_desc *d, size_t n);

/* WRITE SAME: the Data-Out buffer is one logical block (none with NDOB).
 * blocks 0 asks for the whole medium from lba where the LU allows it.
 * (10): -EINVAL for NDOB, lba > 0xffffffff or blocks > 0xffff. */
int scsi_build_write_same10(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, unsigned flags);
int scsi_build_write_same16(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, unsigned flags);

/* ---- standard INQUIRY data ---------------------------------------------- */

enum scsi_qualifier {
	SCSI_PQ_CONNECTED     = 0,   /* a device of this type is attached */
	SCSI_PQ_NOT_CONNECTED = 1,   /* supported, nothing attached now */
	SCSI_PQ_NO_LUN        = 3,   /* no logical unit at this LUN */
};
enum scsi_type {
	SCSI_TYPE_DISK        = 0x00,
	SCSI_TYPE_TAPE        = 0x01,
	SCSI_TYPE_CDROM       = 0x05,
	SCSI_TYPE_OPTICAL     = 0x07,
	SCSI_TYPE_CHANGER     = 0x08,
	SCSI_TYPE_ARRAY_CTRL  = 0x0c,   /* tgt's LUN 0 */
	SCSI_TYPE_ENCLOSURE   = 0x0d,
	SCSI_TYPE_ZBC         = 0x14,   /* host-managed zoned */
	SCSI_TYPE_WELL_KNOWN  = 0x1e,
	SCSI_TYPE_UNKNOWN     = 0x1f,
};
/* Static name of a peripheral device type ("disk", "array controller"),
 * or "other" for a type without one. */
const char *scsi_type_name(uint8_t type);

struct scsi_inquiry {
	uint8_t qualifier;        /* enum scsi_qualifier */
	uint8_t device_type;      /* enum scsi_type */
	uint8_t version;          /* 5 SPC-3, 6 SPC-4, 7 SPC-5, 0 none */
	uint8_t response_format;  /* 2 for any current device */
	uint8_t tpgs;             /* ALUA: 0 no, 1 implicit, 2 explicit, 3 both */
	bool removable, normaca, hisup, sccs, acc, tpc, protect;
	bool encserv, multip, cmdque;
	/* Trimmed of the spaces (and NULs) that pad them; bytes outside
	 * printable ASCII read as '?'. Always NUL-terminated. */
	char vendor[9], product[17], revision[5];
};
/* Parses standard INQUIRY data. It needs the 36 bytes through PRODUCT
 * REVISION LEVEL, within both len and ADDITIONAL LENGTH + 5; longer data
 * is ignored. */
int scsi_parse_inquiry(const uint8_t *buf, size_t len,
		       struct scsi_inquiry *inq, const char **why);

/* ---- vital product data ------------------------------------------------- */

enum scsi_vpd_page {
	SCSI_VPD_SUPPORTED    = 0x00,
	SCSI_VPD_SERIAL       = 0x80,
	SCSI_VPD_DEVICE_ID    = 0x83,
	SCSI_VPD_BLOCK_LIMITS = 0xb0,
	SCSI_VPD_BLOCK_CHAR   = 0xb1,
	SCSI_VPD_LBP          = 0xb2,
};

/* Checks a VPD page header (4 bytes, PAGE CODE == page) and returns the
 * length of the whole page as the target has it (4 + PAGE LENGTH), which
 * can exceed len when the allocation length was too small: re-issue the
 * INQUIRY with that allocation length. -EPROTO for a bad header. */
int scsi_vpd_page_len(const uint8_t *buf, size_t len, uint8_t page,
		      const char **why);

/* The VPD parsers below need the whole page: they return -EMSGSIZE (not
 * -EPROTO) when PAGE LENGTH runs past len, so that the caller can ask
 * again with scsi_vpd_page_len() bytes. A multipath identity taken from a
 * truncated page could differ between paths. */

/* VPD 0x00 as a 256-bit set of page codes. */
struct scsi_vpd_pages {
	uint32_t bits[8];
};
static inline bool scsi_vpd_has(const struct scsi_vpd_pages *p, uint8_t page)
{
	return p->bits[page >> 5] >> (page & 31) & 1u;
}
int scsi_parse_vpd_supported(const uint8_t *buf, size_t len,
			     struct scsi_vpd_pages *pages, const char **why);

/* VPD 0x80: the unit serial number, leading and trailing spaces removed
 * (tgt right-aligns it), written to out as an escaped string (see
 * scsi_desig_format()), NUL-terminated. Returns its length, -ENOSPC,
 * -EMSGSIZE or -EPROTO. An empty serial is "" (length 0). */
int scsi_parse_vpd_serial(const uint8_t *buf, size_t len, char *out,
			  size_t cap, const char **why);

/* VPD 0x83 designators (SPC-4 7.8.6). */
enum scsi_code_set {
	SCSI_CS_BINARY = 1, SCSI_CS_ASCII = 2, SCSI_CS_UTF8 = 3,
};
enum scsi_assoc {
	SCSI_ASSOC_LU = 0, SCSI_ASSOC_PORT = 1, SCSI_ASSOC_TARGET = 2,
};
enum scsi_desig_type {
	SCSI_DESIG_VENDOR   = 0x0,
	SCSI_DESIG_T10      = 0x1,
	SCSI_DESIG_EUI64    = 0x2,
	SCSI_DESIG_NAA      = 0x3,
	SCSI_DESIG_REL_PORT = 0x4,
	SCSI_DESIG_TPG      = 0x5,
	SCSI_DESIG_LU_GROUP = 0x6,
	SCSI_DESIG_MD5      = 0x7,
	SCSI_DESIG_NAME     = 0x8,
	SCSI_DESIG_PROTO_PORT = 0x9,
	SCSI_DESIG_UUID     = 0xa,
};
struct scsi_desig {
	uint8_t proto;            /* PROTOCOL IDENTIFIER, 5 = iSCSI */
	uint8_t code_set;         /* enum scsi_code_set */
	uint8_t assoc;            /* enum scsi_assoc */
	uint8_t type;             /* enum scsi_desig_type */
	bool piv;                 /* proto is valid */
	uint8_t len;
	const uint8_t *id;        /* len bytes, borrowed from the page */
};
struct scsi_desig_iter {
	const uint8_t *buf;
	size_t end, pos;
};
/* Checks the page header of VPD 0x83 and positions it at the first
 * designator. Returns 0, -EPROTO or -EMSGSIZE. */
int scsi_desig_iter_init(struct scsi_desig_iter *it, const uint8_t *buf,
			 size_t len, const char **why);
/* Returns 1 and the next designator, 0 at the end of the page, or
 * -EPROTO if a designator runs past the page. Designator contents are
 * not checked here (see scsi_desig_valid()). */
int scsi_desig_next(struct scsi_desig_iter *it, struct scsi_desig *d,
		    const char **why);
/* True if the designator's length and code set match what SPC-4 requires
 * of its type (NAA 8 or 16 bytes by NAA type, EUI-64 8/12/16, ...) and a
 * text one is more than padding (a T10 vendor ID past its vendor name, a
 * SCSI name string from its first byte). */
bool scsi_desig_valid(const struct scsi_desig *d);
/* Picks the designator that names the logical unit itself, the same on
 * every path to it: association LU, valid, and best in the order NAA
 * IEEE Registered Extended > NAA IEEE Registered > EUI-64 (16, 12, 8
 * bytes) > NAA IEEE Extended > UUID > SCSI name string > NAA locally
 * assigned > MD5 > T10 vendor ID > vendor specific; the first of equals.
 * Returns 0, -ENOENT (no such designator), -EPROTO or -EMSGSIZE. */
int scsi_vpd83_best(const uint8_t *buf, size_t len, struct scsi_desig *best,
		    const char **why);
/* Formats a designator as a printable, unambiguous identity string,
 * NUL-terminated: "naa.<hex>", "eui.<hex>", "uuid.<8-4-4-4-12>",
 * "md5.<hex>", "t10.<text>", a SCSI name string as it is ("iqn...",
 * "naa...", "eui..."), "vs.<hex or text>"; text has its padding trimmed,
 * spaces become '_' and any byte outside 0x21..0x7e, '_' and '\' become
 * "\xNN", so distinct designators give distinct strings. Returns the
 * length, -ENOSPC, or -EINVAL (port and group types, which do not name a
 * logical unit, or a designator that fails scsi_desig_valid()). */
int scsi_desig_format(const struct scsi_desig *d, char *out, size_t cap);

/* ---- REPORT LUNS -------------------------------------------------------- */

/* Stores up to max 8-byte LUN entries (as big-endian integers: byte 0 is
 * the top byte) into luns and sets *total to the number the target
 * reports (LUN LIST LENGTH / 8). When the allocation length was short,
 * *total exceeds what len held: re-issue with 8 + 8 * *total bytes.
 * Returns the number stored, or -EPROTO (shorter than the 8-byte header,
 * LUN LIST LENGTH not a multiple of 8). */
int scsi_parse_report_luns(const uint8_t *buf, size_t len, uint64_t *luns,
			   size_t max, uint32_t *total, const char **why);
/* SAM-5 address methods (top two bits of byte 0). */
enum scsi_lun_method {
	SCSI_LUN_PERIPHERAL = 0, SCSI_LUN_FLAT = 1, SCSI_LUN_LOGICAL = 2,
	SCSI_LUN_EXTENDED = 3,
};
static inline enum scsi_lun_method scsi_lun_method(uint64_t raw)
{
	return (enum scsi_lun_method)(raw >> 62);
}
/* Decodes a single-level LUN: peripheral device addressing with bus 0
 * (0..255) or flat space addressing (0..16383), second to fourth levels
 * zero: the forms pdu_lun_encode() writes. Returns 0 and *lun, or
 * -EOPNOTSUPP (other methods, bus numbers, multi-level and well-known
 * LUNs), which a host skips. */
int scsi_lun_decode(uint64_t raw, uint32_t *lun);

/* ---- READ CAPACITY ------------------------------------------------------ */

struct scsi_capacity {
	uint64_t last_lba;          /* RETURNED LOGICAL BLOCK ADDRESS */
	uint32_t block_len;         /* bytes per logical block, never 0 */
	uint32_t blocks_per_phys;   /* 1 << LOGICAL BLOCKS PER PHYSICAL
				     * BLOCK EXPONENT; 1 from (10) */
	uint16_t lowest_aligned;    /* LOWEST ALIGNED LOGICAL BLOCK ADDRESS */
	uint8_t prot_type;          /* 0 none, else P_TYPE + 1 (type 1..3) */
	bool lbpme;                 /* thin provisioned: UNMAP may work */
	bool lbprz;                 /* unmapped blocks read as zeros */
	bool need_rc16;             /* (10) said 0xffffffff: use (16) */
};
/* READ CAPACITY(10) data: 8 bytes. -EPROTO if short or BLOCK LENGTH 0. */
int scsi_parse_read_capacity10(const uint8_t *buf, size_t len,
			       struct scsi_capacity *c, const char **why);
/* READ CAPACITY(16) data: at least the 12 bytes through BLOCK LENGTH;
 * bytes 12..15 (protection, exponent, LBPME/LBPRZ, alignment) read as 0
 * when absent. -EPROTO if short or BLOCK LENGTH 0. */
int scsi_parse_read_capacity16(const uint8_t *buf, size_t len,
			       struct scsi_capacity *c, const char **why);

#endif
