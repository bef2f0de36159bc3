/* SPDX-License-Identifier: MIT */
/*
 * SCSI CDB builders against golden bytes (SPC-4/SBC-3 layouts; the
 * INQUIRY, REPORT LUNS and READ CAPACITY ones also equal what libiscsi
 * 1.19 put on the wire), and the response parsers against responses
 * captured from tgt 1.0.85 and istgt 0.4 on loopback plus hand-built
 * edge cases.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/pdu.h"
#include "proto/scsi.h"
#include "pdu_hex.h"

/* ---- captured responses ------------------------------------------------- */

/* tgt, LUN 1 (rdwr file), INQUIRY alloc 66. */
static const char tgt_inq[] =
	"000005123d00000249455420202020205649525455414c2d4449534b20202020"
	"303030310000000000000000000000000000000000000000000004c009600300"
	"0000";
/* tgt, LUN 0 (its controller), INQUIRY alloc 64. */
static const char tgt_inq_lun0[] =
	"0c0005123d0000024945542020202020436f6e74726f6c6c6572202020202020"
	"303030310000000000000000000000000000000000000000000004c0096001fb";
/* istgt, INQUIRY alloc 96. */
static const char istgt_inq[] =
	"001005025b00100246726565425344206953435349204449534b202020202020"
	"3030303120202020202020202020202020202020202020200000096003000320"
	"0040000000000000000000000000000000000000000000000000000000000000";
static const char tgt_vpd00[] = "00000006008083b0b1b2";
static const char istgt_vpd00[] = "0000000900808385868788b0b1";
static const char tgt_vpd80[] =
	"0080002420202020202020202020202020202020202020202020202020202020"
	"2020626561663131";
static const char istgt_vpd80[] = "008000083130303030303031";
/* tgt VPD 0x83: T10 vendor ID, NAA 3, NAA 6 (76 bytes), and the same page
 * cut at the 64 bytes of the first request. */
static const char tgt_vpd83[] =
	"0083004802010024494554202020202030303031303030310000000000000000"
	"0000000000000000000000000103000830000001000000010103001060000000"
	"000000000e00000000010001";
static const char tgt_vpd83_cut[] =
	"0083004802010024494554202020202030303031303030310000000000000000"
	"0000000000000000000000000103000830000001000000010103001060000000";
/* istgt VPD 0x83: NAA 3, T10 (LU); SCSI name strings of the target device
 * and port (unpadded, unterminated), relative port, TPG, LU group. */
static const char istgt_vpd83[] =
	"008300ad0103000830000000bd431c5903010038467265654253442069534353"
	"49204449534b2020202020203130303030303031202020202020202020202020"
	"20202020202020202020202053a8001e69716e2e323032342d30312e74657374"
	"2e636861706361703a6469736b315398002769716e2e323032342d30312e7465"
	"73742e636861706361703a6469736b312c742c30783030303151940004000000"
	"0151950004000000015196000400000001";
static const char tgt_luns[] =
	"000000100000000000000000000000000001000000000000";
static const char tgt_luns_cut[] = "00000010000000000000000000000000";
static const char istgt_luns[] = "00000008000000000000000000000000";
static const char tgt_rc16[] =
	"000000000001ffff000002000003000000000000000000000000000000000000";
static const char istgt_rc16[] =
	"000000000000ffff000002000000000000000000000000000000000000000000";
static const char tgt_rc10[] = "0001ffff00000200";

static size_t H(const char *hex, uint8_t *buf, size_t cap)
{
	return hex_decode(hex, buf, cap);
}

/* ---- builders ----------------------------------------------------------- */

static void test_status(void **state)
{
	(void)state;
	assert_string_equal(scsi_status_name(0x00), "GOOD");
	assert_string_equal(scsi_status_name(0x02), "CHECK CONDITION");
	assert_string_equal(scsi_status_name(0x04), "CONDITION MET");
	assert_string_equal(scsi_status_name(0x08), "BUSY");
	assert_string_equal(scsi_status_name(0x18), "RESERVATION CONFLICT");
	assert_string_equal(scsi_status_name(0x28), "TASK SET FULL");
	assert_string_equal(scsi_status_name(0x30), "ACA ACTIVE");
	assert_string_equal(scsi_status_name(0x40), "TASK ABORTED");
	assert_string_equal(scsi_status_name(0x01), "UNKNOWN");
	assert_string_equal(scsi_status_name(0xff), "UNKNOWN");
	assert_true(scsi_status_retryable(SCSI_STATUS_BUSY));
	assert_true(scsi_status_retryable(SCSI_STATUS_TASK_SET_FULL));
	assert_false(scsi_status_retryable(SCSI_STATUS_GOOD));
	assert_false(scsi_status_retryable(SCSI_STATUS_CHECK_CONDITION));
	assert_false(scsi_status_retryable(SCSI_STATUS_RESERVATION_CONFLICT));
}

/* Fills the CDB buffer with junk first so that zeroing is tested too. */
#define CDB(call, want_len, want_hex) do {                              \
	uint8_t cdb[SCSI_CDB_MAX + 4];                                  \
	memset(cdb, 0xa5, sizeof(cdb));                                 \
	assert_int_equal(call, want_len);                               \
	assert_hex(cdb, want_hex, want_len);                            \
	assert_int_equal(cdb[want_len], 0xa5);                          \
} while (0)

static void test_cdb_inquiry(void **state)
{
	(void)state;
	uint8_t small[5];

	CDB(scsi_build_test_unit_ready(cdb, sizeof(cdb)), 6, "000000000000");
	CDB(scsi_build_inquiry(cdb, sizeof(cdb), 36), 6, "120000002400");
	CDB(scsi_build_inquiry(cdb, sizeof(cdb), 0x1234), 6, "120000123400");
	CDB(scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x00, 64), 6,
	    "120100004000");
	CDB(scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x80, 64), 6,
	    "120180004000");
	CDB(scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x83, 0xffff), 6,
	    "120183ffff00");
	CDB(scsi_build_report_luns(cdb, sizeof(cdb), 0, 16), 12,
	    "a0000000 00000000 00100000");
	CDB(scsi_build_report_luns(cdb, sizeof(cdb), 2, 0x01020304), 12,
	    "a0000200 00000102 03040000");
	CDB(scsi_build_read_capacity10(cdb, sizeof(cdb)), 10,
	    "25000000 00000000 0000");
	CDB(scsi_build_read_capacity16(cdb, sizeof(cdb), 32), 16,
	    "9e100000 00000000 00000000 00200000");

	assert_int_equal(scsi_build_inquiry(small, 5, 36), -ENOSPC);
	assert_int_equal(scsi_build_test_unit_ready(small, 5), -ENOSPC);
	assert_int_equal(scsi_build_read_capacity16(small, 5, 32), -ENOSPC);
	uint8_t c12[12];
	assert_int_equal(scsi_build_report_luns(c12, 11, 0, 16), -ENOSPC);
	assert_int_equal(scsi_build_report_luns(c12, 12, 0, 15), -EINVAL);
}

static void test_cdb_rw(void **state)
{
	(void)state;

	CDB(scsi_build_read10(cdb, sizeof(cdb), 0x12345678, 0x9abc,
			      SCSI_RW_FUA), 10, "28081234 5678009a bc00");
	CDB(scsi_build_write10(cdb, sizeof(cdb), 0, 8, 0), 10,
	    "2a000000 00000000 0800");
	CDB(scsi_build_write10(cdb, sizeof(cdb), 0xffffffff, 0xffff,
			       SCSI_RW_FUA | SCSI_RW_DPO), 10,
	    "2a18ffff ffff00ff ff00");
	CDB(scsi_build_read16(cdb, sizeof(cdb), 0x0102030405060708ull,
			      0x11223344, SCSI_RW_FUA), 16,
	    "88080102 03040506 07081122 33440000");
	CDB(scsi_build_write16(cdb, sizeof(cdb), 0xfffffffffffffffeull, 1, 0),
	    16, "8a00ffff ffffffff fffe0000 00010000");
	CDB(scsi_build_write16(cdb, sizeof(cdb), 7, 0xffffffff, SCSI_RW_FUA),
	    16, "8a080000 00000000 0007ffff ffff0000");

	/* What the 10-byte forms cannot carry. */
	uint8_t c[16];
	assert_int_equal(scsi_build_read10(c, 16, 0x100000000ull, 1, 0),
			 -EINVAL);
	assert_int_equal(scsi_build_write10(c, 16, 0, 0x10000, 0), -EINVAL);
	assert_int_equal(scsi_build_read10(c, 16, 0, 1, 0x04), -EINVAL);
	assert_int_equal(scsi_build_read16(c, 16, 0, 1, 0x80), -EINVAL);
	assert_int_equal(scsi_build_read10(c, 9, 0, 1, 0), -ENOSPC);
	assert_int_equal(scsi_build_write16(c, 15, 0, 1, 0), -ENOSPC);

	/* The I/O path picks the smallest form that fits. */
	CDB(scsi_build_rw(cdb, sizeof(cdb), false, 0xffffffff, 0xffff, 0), 10,
	    "2800ffff ffff00ff ff00");
	CDB(scsi_build_rw(cdb, sizeof(cdb), true, 0x100000000ull, 1,
			  SCSI_RW_FUA), 16,
	    "8a080000 00010000 00000000 00010000");
	CDB(scsi_build_rw(cdb, sizeof(cdb), false, 0, 0x10000, 0), 16,
	    "88000000 00000000 00000001 00000000");
	assert_int_equal(scsi_build_rw(c, 10, false, 0, 0x10000, 0), -ENOSPC);
	assert_int_equal(scsi_build_rw(c, 10, true, 0, 8, 0), 10);
}

static void test_cdb_cache_unmap_ws(void **state)
{
	(void)state;

	CDB(scsi_build_sync_cache10(cdb, sizeof(cdb), 0, 0, true), 10,
	    "35020000 00000000 0000");
	CDB(scsi_build_sync_cache10(cdb, sizeof(cdb), 0x80, 0x100, false), 10,
	    "35000000 00800001 0000");
	CDB(scsi_build_sync_cache16(cdb, sizeof(cdb), 0x100000000ull, 0x10000,
				    false), 16,
	    "91000000 00010000 00000001 00000000");
	CDB(scsi_build_sync_cache16(cdb, sizeof(cdb), 0, 0, true), 16,
	    "91020000 00000000 00000000 00000000");
	CDB(scsi_build_unmap(cdb, sizeof(cdb), 24, false), 10,
	    "42000000 00000000 1800");
	CDB(scsi_build_unmap(cdb, sizeof(cdb), 0xfff8, true), 10,
	    "42010000 000000ff f800");
	CDB(scsi_build_write_same10(cdb, sizeof(cdb), 0x10, 0x20,
				    SCSI_WS_UNMAP), 10,
	    "41080000 00100000 2000");
	CDB(scsi_build_write_same10(cdb, sizeof(cdb), 0, 0, 0), 10,
	    "41000000 00000000 0000");
	CDB(scsi_build_write_same16(cdb, sizeof(cdb), 0x200000000ull, 0x100000,
				    SCSI_WS_UNMAP | SCSI_WS_NDOB), 16,
	    "93090000 00020000 00000010 00000000");
	CDB(scsi_build_write_same16(cdb, sizeof(cdb), 1, 2,
				    SCSI_WS_UNMAP | SCSI_WS_ANCHOR), 16,
	    "93180000 00000000 00010000 00020000");

	uint8_t c[16];
	assert_int_equal(scsi_build_sync_cache10(c, 16, 0x100000000ull, 0,
						 false), -EINVAL);
	assert_int_equal(scsi_build_sync_cache10(c, 16, 0, 0x10000, false),
			 -EINVAL);
	assert_int_equal(scsi_build_write_same10(c, 16, 0, 1, SCSI_WS_NDOB),
			 -EINVAL);
	assert_int_equal(scsi_build_write_same10(c, 16, 0, 0x10000, 0),
			 -EINVAL);
	assert_int_equal(scsi_build_write_same16(c, 16, 0, 1, 0x02), -EINVAL);
	assert_int_equal(scsi_build_unmap(c, 9, 24, false), -ENOSPC);
}

static void test_unmap_params(void **state)
{
	(void)state;
	static const struct scsi_unmap_desc d[] = {
		{ 0x1000, 0x800 }, { 0x123456789aull, 0xffffffff },
	};
	uint8_t buf[64];

	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(scsi_build_unmap_params(buf, sizeof(buf), d, 2), 40);
	assert_hex(buf, "00260020 00000000"
			"00000000 00001000 00000800 00000000"
			"00000012 3456789a ffffffff 00000000", 40);
	assert_int_equal(buf[40], 0xa5);
	assert_int_equal(scsi_build_unmap_params(buf, 39, d, 2), -ENOSPC);
	assert_int_equal(scsi_build_unmap_params(buf, 24, d, 1), 24);
	assert_hex(buf, "00160010 00000000 00000000 00001000 00000800 00000000",
		   24);
	/* No descriptors: an 8-byte header saying so. */
	assert_int_equal(scsi_build_unmap_params(buf, 8, NULL, 0), 8);
	assert_hex(buf, "00060000 00000000", 8);

	/* The most descriptors the 16-bit lengths can describe. */
	static struct scsi_unmap_desc many[SCSI_UNMAP_MAX_DESC + 1];
	static uint8_t big[8 + 16 * (SCSI_UNMAP_MAX_DESC + 1)];
	many[SCSI_UNMAP_MAX_DESC - 1].lba = 0xabcdef;
	assert_int_equal(scsi_build_unmap_params(big, sizeof(big), many,
						 SCSI_UNMAP_MAX_DESC), 65528);
	assert_hex(big, "fff6fff0", 4);
	assert_hex(big + 8 + 16 * (SCSI_UNMAP_MAX_DESC - 1),
		   "00000000 00abcdef", 8);
	assert_int_equal(scsi_build_unmap_params(big, sizeof(big), many,
						 SCSI_UNMAP_MAX_DESC + 1),
			 -EINVAL);
}

/* ---- INQUIRY ------------------------------------------------------------ */

static void test_inquiry_tgt(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct scsi_inquiry inq;
	const char *why = NULL;
	size_t n = H(tgt_inq, buf, sizeof(buf));

	assert_int_equal(n, 66);
	assert_int_equal(scsi_parse_inquiry(buf, n, &inq, &why), 0);
	assert_int_equal(inq.qualifier, SCSI_PQ_CONNECTED);
	assert_int_equal(inq.device_type, SCSI_TYPE_DISK);
	assert_int_equal(inq.version, 5);
	assert_int_equal(inq.response_format, 2);
	assert_true(inq.hisup);
	assert_true(inq.cmdque);
	assert_false(inq.removable);
	assert_false(inq.normaca);
	assert_false(inq.multip);
	assert_false(inq.protect);
	assert_int_equal(inq.tpgs, 0);
	assert_string_equal(inq.vendor, "IET");
	assert_string_equal(inq.product, "VIRTUAL-DISK");
	assert_string_equal(inq.revision, "0001");

	n = H(tgt_inq_lun0, buf, sizeof(buf));
	assert_int_equal(scsi_parse_inquiry(buf, n, &inq, NULL), 0);
	assert_int_equal(inq.device_type, SCSI_TYPE_ARRAY_CTRL);
	assert_string_equal(scsi_type_name(inq.device_type), "array controller");
	assert_string_equal(inq.product, "Controller");
}

static void test_inquiry_istgt(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct scsi_inquiry inq;
	size_t n = H(istgt_inq, buf, sizeof(buf));

	assert_int_equal(n, 96);
	assert_int_equal(scsi_parse_inquiry(buf, n, &inq, NULL), 0);
	assert_int_equal(inq.device_type, SCSI_TYPE_DISK);
	/* istgt sets byte 1 bit 4, which is not RMB. */
	assert_false(inq.removable);
	assert_false(inq.hisup);
	assert_true(inq.multip);
	assert_true(inq.cmdque);
	assert_string_equal(inq.vendor, "FreeBSD");
	assert_string_equal(inq.product, "iSCSI DISK");
	assert_string_equal(inq.revision, "0001");
	/* Cut at 64 bytes by the allocation length: still enough. */
	assert_int_equal(scsi_parse_inquiry(buf, 64, &inq, NULL), 0);
	assert_string_equal(inq.product, "iSCSI DISK");
}

static void test_inquiry_edges(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct scsi_inquiry inq;
	const char *why = NULL;
	size_t n = H(tgt_inq, buf, sizeof(buf));

	assert_int_equal(scsi_parse_inquiry(buf, 35, &inq, &why), -EPROTO);
	assert_non_null(why);
	assert_int_equal(scsi_parse_inquiry(buf, 4, &inq, &why), -EPROTO);
	assert_int_equal(scsi_parse_inquiry(buf, 0, &inq, NULL), -EPROTO);
	/* ADDITIONAL LENGTH below 31 leaves the strings outside the data
	 * even though the buffer runs on. */
	buf[4] = 30;
	assert_int_equal(scsi_parse_inquiry(buf, n, &inq, &why), -EPROTO);
	buf[4] = 31;
	assert_int_equal(scsi_parse_inquiry(buf, n, &inq, NULL), 0);

	/* No LU at this LUN; flags; strings with padding at both ends and
	 * bytes that cannot be printed. */
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x7f;                  /* qualifier 3, type 0x1f */
	buf[1] = 0x80;                  /* RMB */
	buf[2] = 0x06;
	buf[3] = 0x32;                  /* NORMACA, HISUP, format 2 */
	buf[4] = 31;
	buf[5] = 0xf9;                  /* SCCS ACC TPGS=3 3PC PROTECT */
	buf[6] = 0x50;                  /* ENCSERV MULTIP */
	memcpy(buf + 8, " AB\x01\x80   ", 8);
	memcpy(buf + 16, "\0\0product x     ", 16);
	memcpy(buf + 32, "    ", 4);
	assert_int_equal(scsi_parse_inquiry(buf, 36, &inq, NULL), 0);
	assert_int_equal(inq.qualifier, SCSI_PQ_NO_LUN);
	assert_int_equal(inq.device_type, SCSI_TYPE_UNKNOWN);
	assert_true(inq.removable && inq.normaca && inq.hisup && inq.sccs);
	assert_true(inq.acc && inq.tpc && inq.protect && inq.encserv);
	assert_true(inq.multip);
	assert_false(inq.cmdque);
	assert_int_equal(inq.tpgs, 3);
	assert_int_equal(inq.version, 6);
	assert_string_equal(inq.vendor, "AB??");
	assert_string_equal(inq.product, "product x");
	assert_string_equal(inq.revision, "");
	buf[5] = 0x10;                  /* implicit ALUA only */
	assert_int_equal(scsi_parse_inquiry(buf, 36, &inq, NULL), 0);
	assert_int_equal(inq.tpgs, 1);
	assert_false(inq.sccs || inq.acc || inq.tpc || inq.protect);
	buf[5] = 0x20;
	assert_int_equal(scsi_parse_inquiry(buf, 36, &inq, NULL), 0);
	assert_int_equal(inq.tpgs, 2);
	assert_string_equal(scsi_type_name(0x00), "disk");
	assert_string_equal(scsi_type_name(0x1f), "unknown");
	assert_string_equal(scsi_type_name(0x13), "other");
}

/* ---- VPD ---------------------------------------------------------------- */

static void test_vpd_supported(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct scsi_vpd_pages p;
	const char *why = NULL;
	size_t n = H(tgt_vpd00, buf, sizeof(buf));

	assert_int_equal(scsi_parse_vpd_supported(buf, n, &p, NULL), 0);
	assert_true(scsi_vpd_has(&p, 0x00));
	assert_true(scsi_vpd_has(&p, 0x80));
	assert_true(scsi_vpd_has(&p, 0x83));
	assert_true(scsi_vpd_has(&p, 0xb0));
	assert_true(scsi_vpd_has(&p, 0xb2));
	assert_false(scsi_vpd_has(&p, 0x86));
	assert_false(scsi_vpd_has(&p, 0xff));
	assert_false(scsi_vpd_has(&p, 0x01));

	n = H(istgt_vpd00, buf, sizeof(buf));
	assert_int_equal(scsi_parse_vpd_supported(buf, n, &p, NULL), 0);
	assert_true(scsi_vpd_has(&p, 0x86));
	assert_true(scsi_vpd_has(&p, 0x88));
	assert_false(scsi_vpd_has(&p, 0xb2));

	assert_int_equal(scsi_vpd_page_len(buf, n, 0x00, NULL), 13);
	/* Truncated: the caller learns the size to ask for. */
	assert_int_equal(scsi_parse_vpd_supported(buf, n - 1, &p, &why),
			 -EMSGSIZE);
	assert_non_null(why);
	assert_int_equal(scsi_vpd_page_len(buf, n - 1, 0x00, NULL), 13);
	assert_int_equal(scsi_parse_vpd_supported(buf, 3, &p, NULL), -EPROTO);
	assert_int_equal(scsi_vpd_page_len(buf, 3, 0x00, NULL), -EPROTO);
	/* The wrong page. */
	assert_int_equal(scsi_vpd_page_len(buf, n, 0x80, &why), -EPROTO);
	buf[1] = 0x80;
	assert_int_equal(scsi_parse_vpd_supported(buf, n, &p, NULL), -EPROTO);
	/* A list without page 0x00 itself. */
	H("00000002 8083", buf, sizeof(buf));
	assert_int_equal(scsi_parse_vpd_supported(buf, 6, &p, NULL), -EPROTO);
}

static void test_vpd_serial(void **state)
{
	(void)state;
	uint8_t buf[64];
	char out[64];
	size_t n = H(tgt_vpd80, buf, sizeof(buf));

	/* tgt right-aligns its serial in 36 bytes. */
	assert_int_equal(scsi_parse_vpd_serial(buf, n, out, sizeof(out), NULL), 6);
	assert_string_equal(out, "beaf11");
	assert_int_equal(scsi_parse_vpd_serial(buf, n, out, 7, NULL), 6);
	assert_int_equal(scsi_parse_vpd_serial(buf, n, out, 6, NULL), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(scsi_parse_vpd_serial(buf, n - 1, out, sizeof(out),
					       NULL), -EMSGSIZE);

	n = H(istgt_vpd80, buf, sizeof(buf));
	assert_int_equal(scsi_parse_vpd_serial(buf, n, out, sizeof(out), NULL), 8);
	assert_string_equal(out, "10000001");

	/* Empty, all padding, and bytes that need escaping. */
	H("00800000", buf, sizeof(buf));
	assert_int_equal(scsi_parse_vpd_serial(buf, 4, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "");
	H("00800004 20200020", buf, sizeof(buf));
	assert_int_equal(scsi_parse_vpd_serial(buf, 8, out, sizeof(out), NULL), 0);
	n = H("00800007 41205f5c0a4201", buf, sizeof(buf));
	assert_int_equal(scsi_parse_vpd_serial(buf, n, out, sizeof(out), NULL),
			 (int)strlen("A_\\x5f\\x5c\\x0aB\\x01"));
	assert_string_equal(out, "A_\\x5f\\x5c\\x0aB\\x01");
	assert_int_equal(scsi_parse_vpd_serial(buf, n, out, 0, NULL), -ENOSPC);
}

static void test_vpd83_tgt(void **state)
{
	(void)state;
	uint8_t buf[256];
	char out[80];
	struct scsi_desig_iter it;
	struct scsi_desig d;
	const char *why = NULL;
	size_t n = H(tgt_vpd83, buf, sizeof(buf));

	assert_int_equal(n, 76);
	assert_int_equal(scsi_desig_iter_init(&it, buf, n, NULL), 0);
	assert_int_equal(scsi_desig_next(&it, &d, NULL), 1);
	assert_int_equal(d.type, SCSI_DESIG_T10);
	assert_int_equal(d.code_set, SCSI_CS_ASCII);
	assert_int_equal(d.assoc, SCSI_ASSOC_LU);
	assert_int_equal(d.len, 36);
	assert_ptr_equal(d.id, buf + 8);
	assert_true(scsi_desig_valid(&d));
	assert_int_equal(scsi_desig_format(&d, out, sizeof(out)), 20);
	assert_string_equal(out, "t10.IET_____00010001");
	assert_int_equal(scsi_desig_next(&it, &d, NULL), 1);
	assert_int_equal(d.type, SCSI_DESIG_NAA);
	assert_int_equal(d.len, 8);
	assert_int_equal(scsi_desig_format(&d, out, sizeof(out)), 20);
	assert_string_equal(out, "naa.3000000100000001");
	assert_int_equal(scsi_desig_next(&it, &d, NULL), 1);
	assert_int_equal(d.type, SCSI_DESIG_NAA);
	assert_int_equal(d.len, 16);
	assert_int_equal(scsi_desig_next(&it, &d, NULL), 0);
	assert_int_equal(scsi_desig_next(&it, &d, NULL), 0);

	/* NAA IEEE Registered Extended beats locally assigned and T10. */
	assert_int_equal(scsi_vpd83_best(buf, n, &d, NULL), 0);
	assert_int_equal(scsi_desig_format(&d, out, sizeof(out)), 36);
	assert_string_equal(out, "naa.60000000000000000e00000000010001");
	assert_int_equal(scsi_desig_format(&d, out, 36), -ENOSPC);
	assert_int_equal(scsi_desig_format(&d, out, 37), 36);

	/* The first request's 64 bytes: asking again is the answer. */
	n = H(tgt_vpd83_cut, buf, sizeof(buf));
	assert_int_equal(scsi_vpd83_best(buf, n, &d, &why), -EMSGSIZE);
	assert_int_equal(scsi_vpd_page_len(buf, n, 0x83, NULL), 76);
}

static void test_vpd83_istgt(void **state)
{
	(void)state;
	uint8_t buf[256];
	char out[80];
	struct scsi_desig_iter it;
	struct scsi_desig d;
	size_t n = H(istgt_vpd83, buf, sizeof(buf));
	static const struct { uint8_t type, assoc, cs; bool piv; int fmt; }
	want[] = {
		{ SCSI_DESIG_NAA, 0, 1, false, 20 },
		{ SCSI_DESIG_T10, 0, 3, false, 36 },   /* UTF-8 */
		{ SCSI_DESIG_NAME, 2, 3, true, 30 },
		{ SCSI_DESIG_NAME, 1, 3, true, 39 },
		{ SCSI_DESIG_REL_PORT, 1, 1, true, -EINVAL },
		{ SCSI_DESIG_TPG, 1, 1, true, -EINVAL },
		{ SCSI_DESIG_LU_GROUP, 1, 1, true, -EINVAL },
	};

	assert_int_equal(n, 177);
	assert_int_equal(scsi_desig_iter_init(&it, buf, n, NULL), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(scsi_desig_next(&it, &d, NULL), 1);
		assert_int_equal(d.type, want[i].type);
		assert_int_equal(d.assoc, want[i].assoc);
		assert_int_equal(d.code_set, want[i].cs);
		assert_int_equal(d.piv, want[i].piv);
		if (want[i].piv)
			assert_int_equal(d.proto, 5);          /* iSCSI */
		assert_int_equal(scsi_desig_format(&d, out, sizeof(out)),
				 want[i].fmt);
		if (i == 1)
			assert_string_equal(out,
					    "t10.FreeBSD_iSCSI_DISK______10000001");
		if (i == 2)
			assert_string_equal(out, "iqn.2024-01.test.chapcap:disk1");
		if (i == 3)
			assert_string_equal(out,
					    "iqn.2024-01.test.chapcap:disk1,t,0x0001");
	}
	assert_int_equal(scsi_desig_next(&it, &d, NULL), 0);

	/* The target's name strings do not name the LU: NAA 3 does. */
	assert_int_equal(scsi_vpd83_best(buf, n, &d, NULL), 0);
	assert_int_equal(scsi_desig_format(&d, out, sizeof(out)), 20);
	assert_string_equal(out, "naa.30000000bd431c59");
}

/* Builds a VPD 0x83 page from designators given as hex. */
static size_t page83(uint8_t *buf, size_t cap, const char *desigs)
{
	size_t n = hex_decode(desigs, buf + 4, cap - 4);
	buf[0] = 0;
	buf[1] = 0x83;
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	return n + 4;
}

static const char *best_of(const char *desigs, char *out, size_t cap)
{
	uint8_t buf[512];
	struct scsi_desig d;
	size_t n = page83(buf, sizeof(buf), desigs);
	int rc = scsi_vpd83_best(buf, n, &d, NULL);

	if (rc)
		return rc == -ENOENT ? "ENOENT" : "error";
	assert_true(scsi_desig_format(&d, out, cap) > 0);
	return out;
}

static void test_vpd83_ranking(void **state)
{
	(void)state;
	char out[128];
	/* Designators, each "hdr hdr 00 len id...". */
	const char *t10 = "02010009 4142434420202020 31";          /* ABCD    1 */
	const char *vs_bin = "01000002 beef";
	const char *vs_txt = "02000003 782079";
	const char *naa3 = "01030008 3000000000000001";
	const char *naa2 = "01030008 2000001122334455";
	const char *naa5 = "01030008 5001405abcdef012";
	const char *naa6 = "01030010 6001405abcdef0123456789abcdef012";
	const char *eui8 = "01020008 0011223344556677";
	const char *eui12 = "0102000c 00112233445566778899aabb";
	const char *eui16 = "01020010 00112233445566778899aabbccddeeff";
	const char *name = "0308000c 69716e2e782e793a7a000000";         /* iqn.x.y:z */
	const char *uuid = "010a0012 1000 00112233445566778899aabbccddeeff";
	const char *md5 = "01070010 00112233445566778899aabbccddeeff";
	char list[1024];

#define BEST(...) do {                                                  \
	snprintf(list, sizeof(list), __VA_ARGS__);                      \
} while (0)
	BEST("%s %s", vs_bin, vs_txt);
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.beef");
	BEST("%s", vs_txt);
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.x_y");
	BEST("%s %s", vs_bin, t10);
	assert_string_equal(best_of(list, out, sizeof(out)), "t10.ABCD____1");
	BEST("%s %s", t10, md5);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "md5.00112233445566778899aabbccddeeff");
	BEST("%s %s %s", md5, naa3, t10);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "naa.3000000000000001");
	BEST("%s %s", naa3, name);
	assert_string_equal(best_of(list, out, sizeof(out)), "iqn.x.y:z");
	BEST("%s %s", name, uuid);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "uuid.00112233-4455-6677-8899-aabbccddeeff");
	BEST("%s %s", uuid, naa2);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "naa.2000001122334455");
	BEST("%s %s", naa2, eui8);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "eui.0011223344556677");
	BEST("%s %s", eui8, eui12);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "eui.00112233445566778899aabb");
	BEST("%s %s %s", eui12, eui16, eui8);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "eui.00112233445566778899aabbccddeeff");
	BEST("%s %s", eui16, naa5);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "naa.5001405abcdef012");
	BEST("%s %s %s %s", t10, naa5, naa6, eui16);
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "naa.6001405abcdef0123456789abcdef012");
	/* Equals: the first wins. */
	BEST("%s %s", naa3, "01030008 3000000000000002");
	assert_string_equal(best_of(list, out, sizeof(out)),
			    "naa.3000000000000001");

	/* Not LU identities: port/target association, malformed ones. */
	BEST("%s", "01130008 5001405abcdef012");               /* port NAA */
	assert_string_equal(best_of(list, out, sizeof(out)), "ENOENT");
	BEST("%s", "01230008 5001405abcdef012");               /* target */
	assert_string_equal(best_of(list, out, sizeof(out)), "ENOENT");
	BEST("%s %s", "01030010 5001405abcdef0123456789abcdef012", t10);
	assert_string_equal(best_of(list, out, sizeof(out)), "t10.ABCD____1");
	BEST("%s %s", "02030008 5001405abcdef012", t10);       /* ASCII NAA */
	assert_string_equal(best_of(list, out, sizeof(out)), "t10.ABCD____1");
	BEST("%s %s", "01030008 4001405abcdef012", t10);       /* NAA 4 */
	assert_string_equal(best_of(list, out, sizeof(out)), "t10.ABCD____1");
	BEST("%s %s", "01020009 001122334455667788", t10);     /* EUI 9 */
	assert_string_equal(best_of(list, out, sizeof(out)), "t10.ABCD____1");
	BEST("%s %s", "02010008 4142434420202020", vs_txt);    /* T10 only vendor */
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.x_y");
	BEST("%s %s", "02080004 69716e2e", vs_txt);            /* name not UTF-8 */
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.x_y");
	BEST("%s %s", "03080004 00000000", vs_txt);            /* empty name */
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.x_y");
	BEST("%s %s", "03080004 20697120", vs_txt);            /* " iq " */
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.x_y");
	/* Padding alone tells no units apart. */
	BEST("%s %s", "0201000c 41424344202020202020 0000", vs_txt);
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.x_y");
	BEST("%s %s", "02000003 200020", vs_bin);
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.beef");
	BEST("%s %s", "010a0012 2000 00112233445566778899aabbccddeeff", vs_txt);
	assert_string_equal(best_of(list, out, sizeof(out)), "vs.x_y");
	BEST("%s", "");
	assert_string_equal(best_of(list, out, sizeof(out)), "ENOENT");
#undef BEST
}

static void test_vpd83_malformed(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct scsi_desig_iter it;
	struct scsi_desig d;
	const char *why = NULL;
	size_t n;

	/* A designator longer than the page. */
	n = page83(buf, sizeof(buf), "01030009 3000000000000001");
	assert_int_equal(scsi_desig_iter_init(&it, buf, n, NULL), 0);
	assert_int_equal(scsi_desig_next(&it, &d, &why), -EPROTO);
	assert_non_null(why);
	assert_int_equal(scsi_vpd83_best(buf, n, &d, NULL), -EPROTO);
	/* A page ending inside a designator header. */
	n = page83(buf, sizeof(buf), "01030008 3000000000000001 0103");
	assert_int_equal(scsi_vpd83_best(buf, n, &d, NULL), -EPROTO);
	/* The buffer holds more than the page: the rest is not read. */
	n = page83(buf, sizeof(buf), "01030008 3000000000000001");
	buf[n] = 0x01;
	buf[n + 1] = 0x03;
	buf[n + 2] = 0x00;
	buf[n + 3] = 0x30;
	assert_int_equal(scsi_vpd83_best(buf, n + 4, &d, NULL), 0);
	/* Header problems. */
	assert_int_equal(scsi_desig_iter_init(&it, buf, 3, &why), -EPROTO);
	buf[1] = 0x80;
	assert_int_equal(scsi_desig_iter_init(&it, buf, n, &why), -EPROTO);
	buf[1] = 0x83;
	buf[3] = 0x40;
	assert_int_equal(scsi_desig_iter_init(&it, buf, n, &why), -EMSGSIZE);
	/* Formatting what does not name a LU. */
	d.type = SCSI_DESIG_PROTO_PORT;
	d.code_set = SCSI_CS_BINARY;
	d.len = 4;
	d.id = buf;
	char out[16];
	assert_int_equal(scsi_desig_format(&d, out, sizeof(out)), -EINVAL);
	d.type = 0xf;
	assert_false(scsi_desig_valid(&d));
	assert_int_equal(scsi_desig_format(&d, out, sizeof(out)), -EINVAL);
}

/* ---- REPORT LUNS -------------------------------------------------------- */

static void test_report_luns(void **state)
{
	(void)state;
	uint8_t buf[64];
	uint64_t luns[4];
	uint32_t total = 0, lun = 99;
	const char *why = NULL;
	size_t n = H(tgt_luns, buf, sizeof(buf));

	assert_int_equal(scsi_parse_report_luns(buf, n, luns, 4, &total, NULL), 2);
	assert_int_equal(total, 2);
	assert_true(luns[0] == 0);
	assert_true(luns[1] == 0x0001000000000000ull);
	assert_int_equal(scsi_lun_decode(luns[0], &lun), 0);
	assert_int_equal(lun, 0);
	assert_int_equal(scsi_lun_decode(luns[1], &lun), 0);
	assert_int_equal(lun, 1);
	/* Room for one only. */
	assert_int_equal(scsi_parse_report_luns(buf, n, luns, 1, &total, NULL), 1);
	assert_int_equal(total, 2);

	/* tgt's answer to the first 16-byte allocation: one of two. */
	n = H(tgt_luns_cut, buf, sizeof(buf));
	assert_int_equal(scsi_parse_report_luns(buf, n, luns, 4, &total, NULL), 1);
	assert_int_equal(total, 2);
	/* A partial entry is not an entry. */
	assert_int_equal(scsi_parse_report_luns(buf, 15, luns, 4, &total, NULL), 0);

	n = H(istgt_luns, buf, sizeof(buf));
	assert_int_equal(scsi_parse_report_luns(buf, n, luns, 4, &total, NULL), 1);
	assert_int_equal(total, 1);

	/* An empty list; a list with slack after it. */
	H("00000000 00000000 0001000000000000", buf, sizeof(buf));
	assert_int_equal(scsi_parse_report_luns(buf, 16, luns, 4, &total, NULL), 0);
	assert_int_equal(total, 0);
	assert_int_equal(scsi_parse_report_luns(buf, 7, luns, 4, &total, &why),
			 -EPROTO);
	H("0000000c 00000000 0001000000000000 00000000", buf, sizeof(buf));
	assert_int_equal(scsi_parse_report_luns(buf, 20, luns, 4, &total, &why),
			 -EPROTO);
	assert_non_null(why);
	/* A huge list length with little data. */
	H("fffffff8 00000000 0001000000000000", buf, sizeof(buf));
	assert_int_equal(scsi_parse_report_luns(buf, 16, luns, 4, &total, NULL), 1);
	assert_int_equal(total, 0x1fffffff);
}

static void test_lun_decode(void **state)
{
	(void)state;
	uint32_t lun = 0;

	assert_int_equal(scsi_lun_decode(0x00ff000000000000ull, &lun), 0);
	assert_int_equal(lun, 255);
	assert_int_equal(scsi_lun_decode(0x4100000000000000ull, &lun), 0);
	assert_int_equal(lun, 256);
	assert_int_equal(scsi_lun_decode(0x7fff000000000000ull, &lun), 0);
	assert_int_equal(lun, 16383);
	assert_int_equal(scsi_lun_method(0x7fff000000000000ull), SCSI_LUN_FLAT);
	/* Bus number, second level, logical unit and extended methods, the
	 * REPORT LUNS well-known LUN. */
	assert_int_equal(scsi_lun_decode(0x0101000000000000ull, &lun),
			 -EOPNOTSUPP);
	assert_int_equal(scsi_lun_decode(0x2001000000000000ull, &lun),
			 -EOPNOTSUPP);
	assert_int_equal(scsi_lun_decode(0x0001000100000000ull, &lun),
			 -EOPNOTSUPP);
	assert_int_equal(scsi_lun_decode(0x0000000000000001ull, &lun),
			 -EOPNOTSUPP);
	assert_int_equal(scsi_lun_decode(0x8001000000000000ull, &lun),
			 -EOPNOTSUPP);
	assert_int_equal(scsi_lun_decode(0xc101000000000000ull, &lun),
			 -EOPNOTSUPP);
	assert_int_equal(scsi_lun_method(0xc101000000000000ull),
			 SCSI_LUN_EXTENDED);
	/* Agrees with the encoder the command path uses. */
	static const uint32_t some[] = { 0, 1, 42, 255, 256, 1000, 16383 };
	for (size_t i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
		uint8_t raw[8];
		uint64_t v = 0;
		pdu_put_lun(raw, some[i]);
		for (int b = 0; b < 8; b++)
			v = v << 8 | raw[b];
		assert_int_equal(scsi_lun_decode(v, &lun), 0);
		assert_int_equal(lun, some[i]);
	}
}

/* ---- READ CAPACITY ------------------------------------------------------ */

static void test_read_capacity(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct scsi_capacity c;
	const char *why = NULL;
	size_t n = H(tgt_rc16, buf, sizeof(buf));

	assert_int_equal(scsi_parse_read_capacity16(buf, n, &c, NULL), 0);
	assert_true(c.last_lba == 0x1ffff);
	assert_int_equal(c.block_len, 512);
	assert_int_equal(c.blocks_per_phys, 8);      /* tgt: 4K physical */
	assert_false(c.lbpme);
	assert_false(c.lbprz);
	assert_int_equal(c.prot_type, 0);
	assert_int_equal(c.lowest_aligned, 0);

	n = H(istgt_rc16, buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity16(buf, n, &c, NULL), 0);
	assert_true(c.last_lba == 0xffff);
	assert_int_equal(c.blocks_per_phys, 1);
	/* 12 bytes are enough; the rest reads as zero. */
	H(tgt_rc16, buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity16(buf, 12, &c, NULL), 0);
	assert_int_equal(c.blocks_per_phys, 1);
	assert_int_equal(scsi_parse_read_capacity16(buf, 11, &c, &why), -EPROTO);

	/* Thin provisioned, protection type 2, 4 per physical, aligned 7. */
	n = H("00000001 00000000 00001000 03 02 c007", buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity16(buf, n, &c, NULL), 0);
	assert_true(c.last_lba == 0x100000000ull);
	assert_int_equal(c.block_len, 4096);
	assert_int_equal(c.prot_type, 2);
	assert_int_equal(c.blocks_per_phys, 4);
	assert_true(c.lbpme);
	assert_true(c.lbprz);
	assert_int_equal(c.lowest_aligned, 7);
	/* 2^12 per physical block; P_I_EXPONENT beside it is not part of
	 * the exponent; protection off means no type whatever P_TYPE says. */
	n = H("00000000 00000000 00000200 0e 1c 0000", buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity16(buf, n, &c, NULL), 0);
	assert_int_equal(c.blocks_per_phys, 4096);
	assert_int_equal(c.prot_type, 0);
	assert_false(c.lbpme);
	n = H("00000000 00000000 00000000 00000000", buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity16(buf, n, &c, &why), -EPROTO);

	n = H(tgt_rc10, buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity10(buf, n, &c, NULL), 0);
	assert_true(c.last_lba == 0x1ffff);
	assert_int_equal(c.block_len, 512);
	assert_int_equal(c.blocks_per_phys, 1);
	assert_false(c.need_rc16);
	assert_int_equal(scsi_parse_read_capacity10(buf, 7, &c, NULL), -EPROTO);
	n = H("ffffffff 00000200", buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity10(buf, n, &c, NULL), 0);
	assert_true(c.need_rc16);
	n = H("0001ffff 00000000", buf, sizeof(buf));
	assert_int_equal(scsi_parse_read_capacity10(buf, n, &c, &why), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_cdb_inquiry),
		cmocka_unit_test(test_cdb_rw),
		cmocka_unit_test(test_cdb_cache_unmap_ws),
		cmocka_unit_test(test_unmap_params),
		cmocka_unit_test(test_inquiry_tgt),
		cmocka_unit_test(test_inquiry_istgt),
		cmocka_unit_test(test_inquiry_edges),
		cmocka_unit_test(test_vpd_supported),
		cmocka_unit_test(test_vpd_serial),
		cmocka_unit_test(test_vpd83_tgt),
		cmocka_unit_test(test_vpd83_istgt),
		cmocka_unit_test(test_vpd83_ranking),
		cmocka_unit_test(test_vpd83_malformed),
		cmocka_unit_test(test_report_luns),
		cmocka_unit_test(test_lun_decode),
		cmocka_unit_test(test_read_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
