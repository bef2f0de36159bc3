/* SPDX-License-Identifier: MIT */
/*
 * proto/pdu.c and proto/pdu_names.c: LUN encoding, the initiator builders
 * and stamps, against golden headers written out by hand from the figures
 * of RFC 7143 section 11 (one 4-byte row per group), plus the RFC's own
 * READ(10) example from appendix B.4.
 */
#include "proto/pdu.h"
#include "proto/digest.h"
#include "unit/proto/pdu_hex.h"

#include <errno.h>

#define BHS_WORDS (PDU_BHS_LEN / 4)

/* ---- LUN --------------------------------------------------------------- */

static void lun_bytes(uint32_t lun, uint8_t out[8])
{
	pdu_put_lun(out, lun);
}

static void test_lun_encode(void **state)
{
	uint8_t b[8];
	(void)state;

	lun_bytes(0, b);
	assert_hex(b, "00000000 00000000", 8);
	lun_bytes(5, b);
	assert_hex(b, "00050000 00000000", 8);
	lun_bytes(255, b);
	assert_hex(b, "00ff0000 00000000", 8);
	/* Flat space addressing: method 01b, 14 bits. */
	lun_bytes(256, b);
	assert_hex(b, "41000000 00000000", 8);
	lun_bytes(300, b);
	assert_hex(b, "412c0000 00000000", 8);
	lun_bytes(0x3fff, b);
	assert_hex(b, "7fff0000 00000000", 8);
	/* Extended flat space: 0xd2 then 24 bits. */
	lun_bytes(0x4000, b);
	assert_hex(b, "d2004000 00000000", 8);
	lun_bytes(PDU_LUN_MAX, b);
	assert_hex(b, "d2ffffff 00000000", 8);
	/* Out of range: "logical unit not specified". */
	lun_bytes(PDU_LUN_MAX + 1, b);
	assert_hex(b, "ffffffff ffffffff", 8);
	assert_true(pdu_lun_encode(0x12) == 0x0012000000000000ull);
}

static void test_lun_decode(void **state)
{
	static const uint32_t luns[] = { 0, 1, 63, 64, 255, 256, 300, 0x3fff,
					 0x4000, 0x123456, PDU_LUN_MAX };
	uint8_t b[8];
	(void)state;

	for (size_t i = 0; i < sizeof(luns) / sizeof(luns[0]); i++) {
		lun_bytes(luns[i], b);
		assert_int_equal(pdu_lun_decode(b), luns[i]);
	}
	/* Forms that are not a single-level number. */
	static const char *const bad[] = {
		"01050000 00000000",  /* peripheral, bus 1 */
		"00050001 00000000",  /* a second level */
		"41000000 00000001",  /* flat with trailing bytes */
		"80010000 00000000",  /* logical unit addressing */
		"c1000000 00000000",  /* extended, other method */
		"d2000001 00010000",  /* extended flat with trailing bytes */
		"ffffffff ffffffff",  /* not specified */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hex_decode(bad[i], b, sizeof(b)), 8);
		assert_int_equal(pdu_lun_decode(b), PDU_LUN_INVALID);
	}
}

/* ---- SCSI Command ------------------------------------------------------ */

/* RFC 7143 appendix B.4: "iSCSI - Read (10) Command PDU", CRC 56 3a 96 d9. */
#define RFC_READ10 \
	"01c00000 00000000 00000000 00000000" \
	"14000000 00000400 00000014 00000018" \
	"28000000 00000000 02000000 00000000"

static void test_scsi_cmd_rfc_example(void **state)
{
	static const uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0 };
	uint32_t bhs[BHS_WORDS];
	uint8_t wire[4];
	struct pdu_scsi_cmd_args a = {
		.lun = 0, .itt = 0x14000000, .edtl = 1024, .cdb = cdb,
		.cdb_len = sizeof(cdb), .read = true, .final = true,
		.attr = SCSI_ATTR_UNTAGGED,
	};
	(void)state;

	memset(bhs, 0xa5, sizeof(bhs));  /* the builder must clear it */
	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	pdu_stamp_cmdsn(bhs, 0x14, 0x18);
	assert_hex(bhs, RFC_READ10, PDU_BHS_LEN);
	digest_store(wire, digest_crc32c(bhs, PDU_BHS_LEN));
	assert_hex(wire, "563a96d9", 4);
}

static void test_scsi_cmd_write(void **state)
{
	static const uint8_t cdb[10] = { 0x2a, 0, 0, 0, 0x10, 0, 0, 0, 0x80, 0 };
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_cmd_args a = {
		.lun = 300, .itt = 0x0a0b0c0d, .edtl = 0x10000, .cdb = cdb,
		.cdb_len = sizeof(cdb), .write = true, .final = false,
		.attr = SCSI_ATTR_SIMPLE, .immediate_len = 512,
	};
	(void)state;

	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	pdu_stamp_cmdsn(bhs, 0x01020304, 0xfffffffe);
	assert_hex(bhs,
		   "01210000 00000200 412c0000 00000000"
		   "0a0b0c0d 00010000 01020304 fffffffe"
		   "2a000000 10000000 80000000 00000000", PDU_BHS_LEN);
	/* ExpStatSN alone leaves CmdSN as it was. */
	pdu_stamp_expstatsn(bhs, 7);
	assert_int_equal(pdu_get32(&((struct bhs_scsi_cmd *)bhs)->cmd_cmdsn),
			 0x01020304);
	assert_int_equal(pdu_get32(&((struct bhs_scsi_cmd *)bhs)->cmd_expstatsn), 7);
}

static void test_scsi_cmd_bidi_attrs(void **state)
{
	static const uint8_t cdb[16] = { 0x53 };
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_cmd_args a = {
		.lun = 1, .itt = 2, .edtl = 4096, .cdb = cdb, .cdb_len = 16,
		.read = true, .write = true, .final = true,
		.attr = SCSI_ATTR_ACA,
	};
	(void)state;

	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	assert_hex(bhs,
		   "01e40000 00000000 00010000 00000000"
		   "00000002 00001000 00000000 00000000"
		   "53000000 00000000 00000000 00000000", PDU_BHS_LEN);
}

static void test_scsi_cmd_invalid(void **state)
{
	uint8_t cdb[17] = { 0 };
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_cmd_args a = { .cdb = cdb, .cdb_len = 17, .final = true };
	(void)state;

	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), -EINVAL);
	a.cdb_len = 6;
	a.cdb = NULL;
	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), -EINVAL);
	a.cdb = cdb;
	a.attr = (enum scsi_task_attr)5;
	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), -EINVAL);
	a.attr = SCSI_ATTR_SIMPLE;
	a.immediate_len = PDU_MAX_DSL + 1;
	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), -EINVAL);
	a.immediate_len = PDU_MAX_DSL;
	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	assert_int_equal(pdu_dsl(bhs), PDU_MAX_DSL);
}

/* ---- AHS --------------------------------------------------------------- */

static void test_ext_cdb_and_bidi_ahs(void **state)
{
	uint8_t cdb[32];
	uint32_t bhs[BHS_WORDS];
	uint32_t ahs[64];
	struct pdu_scsi_cmd_args a = {
		.lun = 0, .itt = 9, .edtl = 512, .cdb = NULL, .cdb_len = 0,
		.read = true, .write = true, .final = true,
		.attr = SCSI_ATTR_SIMPLE,
	};
	struct pdu_ahs_info info;
	const char *why = NULL;
	int n1, n2;
	(void)state;

	for (unsigned i = 0; i < sizeof(cdb); i++)
		cdb[i] = (uint8_t)(0x80 + i);
	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	n1 = pdu_build_ext_cdb_ahs(bhs, ahs, sizeof(ahs), cdb, sizeof(cdb));
	assert_int_equal(n1, 20);
	n2 = pdu_build_bidi_ahs(bhs, (uint8_t *)ahs + n1, sizeof(ahs) - (size_t)n1,
				0x00012345);
	assert_int_equal(n2, 8);
	/* TotalAHSLength 7 words; the BHS holds the first 16 CDB bytes. */
	assert_hex(bhs,
		   "01e10000 07000000 00000000 00000000"
		   "00000009 00000200 00000000 00000000"
		   "80818283 84858687 88898a8b 8c8d8e8f", PDU_BHS_LEN);
	/* AHSLength = CDB length - 15 = 17; then bidi: AHSLength 5. */
	assert_hex(ahs,
		   "00110100 90919293 94959697 98999a9b 9c9d9e9f"
		   "00050200 00012345", 28);
	assert_int_equal(pdu_parse_ahs((const uint8_t *)ahs, pdu_ahs_bytes(bhs),
				       &info, &why), 0);
	assert_int_equal(info.ext_cdb_len, 16);
	assert_memory_equal(info.ext_cdb, cdb + 16, 16);
	assert_true(info.has_bidi);
	assert_int_equal(info.bidi_read_len, 0x12345);
}

static void test_ext_cdb_padding(void **state)
{
	uint8_t cdb[17];
	uint32_t bhs[BHS_WORDS];
	uint8_t ahs[16];
	struct pdu_scsi_cmd_args a = { .cdb_len = 0, .final = true };
	(void)state;

	for (unsigned i = 0; i < sizeof(cdb); i++)
		cdb[i] = (uint8_t)(i + 1);
	memset(ahs, 0xee, sizeof(ahs));
	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	/* 17 bytes: AHSLength 2, one CDB byte, three bytes of padding. */
	assert_int_equal(pdu_build_ext_cdb_ahs(bhs, ahs, sizeof(ahs), cdb, 17), 8);
	assert_hex(ahs, "00020100 11000000", 8);
	assert_int_equal(((struct pdu_bhs *)bhs)->bhs_ahs_len, 2);
}

static void test_ahs_builders_invalid(void **state)
{
	uint8_t cdb[261] = { 0 };
	uint32_t bhs[BHS_WORDS];
	uint8_t ahs[300];
	struct pdu_scsi_cmd_args a = { .final = true };
	(void)state;

	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	assert_int_equal(pdu_build_ext_cdb_ahs(bhs, ahs, sizeof(ahs), cdb, 16), -EINVAL);
	assert_int_equal(pdu_build_ext_cdb_ahs(bhs, ahs, sizeof(ahs), cdb, 261), -EINVAL);
	assert_int_equal(pdu_build_ext_cdb_ahs(bhs, ahs, 7, cdb, 17), -EINVAL);
	assert_int_equal(pdu_build_bidi_ahs(bhs, ahs, 7, 1), -EINVAL);
	assert_int_equal(((struct pdu_bhs *)bhs)->bhs_ahs_len, 0);
	/* The largest CDB fits in 248 bytes of AHS. */
	assert_int_equal(pdu_build_ext_cdb_ahs(bhs, ahs, 248, cdb, 260), 248);
	/* Only on a SCSI Command. */
	pdu_build_data_out(bhs, 0, 1, 2, 0, 0, 0, true);
	assert_int_equal(pdu_build_bidi_ahs(bhs, ahs, sizeof(ahs), 1), -EINVAL);
	assert_int_equal(pdu_build_ext_cdb_ahs(bhs, ahs, sizeof(ahs), cdb, 20), -EINVAL);
}

/* ---- the other initiator PDUs ------------------------------------------ */

static void test_data_out(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	memset(bhs, 0xa5, sizeof(bhs));
	pdu_build_data_out(bhs, 1, 0x11, 0x22, 3, 0x2000, 0x1000, true);
	/* Data-Out has no CmdSN: stamping writes ExpStatSN only. */
	pdu_stamp_cmdsn(bhs, 0x99, 0x55);
	assert_hex(bhs,
		   "05800000 00001000 00010000 00000000"
		   "00000011 00000022 00000000 00000055"
		   "00000000 00000003 00002000 00000000", PDU_BHS_LEN);
	pdu_build_data_out(bhs, 0, 0x11, PDU_RESERVED_TAG, 0, 0, 3, false);
	assert_hex(bhs,
		   "05000000 00000003 00000000 00000000"
		   "00000011 ffffffff 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
}

static void test_nop_out(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_nop_out(bhs, 0, 7, PDU_RESERVED_TAG, 0, false);
	pdu_stamp_cmdsn(bhs, 0x100, 0x200);
	assert_hex(bhs,
		   "00800000 00000000 00000000 00000000"
		   "00000007 ffffffff 00000100 00000200"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	/* The answer to a target's ping: immediate, TTT and LUN echoed. */
	pdu_build_nop_out(bhs, 2, PDU_RESERVED_TAG, 0x1234, 16, true);
	assert_hex(bhs,
		   "40800000 00000010 00020000 00000000"
		   "ffffffff 00001234 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
}

static void test_tmf(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_tmf(bhs, TMF_ABORT_TASK, 5, 0x40, 0x30, 0x10, 2);
	pdu_stamp_cmdsn(bhs, 0x11, 0x22);
	assert_hex(bhs,
		   "42810000 00000000 00050000 00000000"
		   "00000040 00000030 00000011 00000022"
		   "00000010 00000002 00000000 00000000", PDU_BHS_LEN);
	pdu_build_tmf(bhs, TMF_LUN_RESET, 0, 0x41, PDU_RESERVED_TAG, 0, 0);
	assert_hex(bhs,
		   "42850000 00000000 00000000 00000000"
		   "00000041 ffffffff 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
}

static void test_text(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_text(bhs, 1, PDU_RESERVED_TAG, 17, true, false);
	pdu_stamp_cmdsn(bhs, 3, 4);
	assert_hex(bhs,
		   "04800000 00000011 00000000 00000000"
		   "00000001 ffffffff 00000003 00000004"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	pdu_build_text(bhs, 1, 0x77, 8192, false, true);
	assert_hex(bhs,
		   "04400000 00002000 00000000 00000000"
		   "00000001 00000077 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
}

static void test_logout(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_logout(bhs, LOGOUT_CLOSE_CONNECTION, 9, 0x0102);
	pdu_stamp_cmdsn(bhs, 0x30, 0x40);
	assert_hex(bhs,
		   "46810000 00000000 00000000 00000000"
		   "00000009 01020000 00000030 00000040"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	pdu_build_logout(bhs, LOGOUT_REMOVE_FOR_RECOVERY, 10, 3);
	assert_hex(bhs,
		   "46820000 00000000 00000000 00000000"
		   "0000000a 00030000 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
}

static void test_snack(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_snack(bhs, SNACK_DATA_R2T, 3, 0x77, PDU_RESERVED_TAG, 4, 2);
	pdu_stamp_expstatsn(bhs, 0x88);
	assert_hex(bhs,
		   "10800000 00000000 00030000 00000000"
		   "00000077 ffffffff 00000000 00000088"
		   "00000000 00000000 00000004 00000002", PDU_BHS_LEN);
	pdu_build_snack(bhs, SNACK_STATUS, 0, PDU_RESERVED_TAG,
			PDU_RESERVED_TAG, 0x10, 0);
	assert_hex(bhs,
		   "10810000 00000000 00000000 00000000"
		   "ffffffff ffffffff 00000000 00000000"
		   "00000000 00000000 00000010 00000000", PDU_BHS_LEN);
}

static void test_login(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_login_args a = {
		.isid = { 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a },
		.tsih = 0, .cid = 0, .itt = 0, .cmdsn = 1, .expstatsn = 0,
		.len = 0x1c0, .csg = LOGIN_STAGE_SECURITY,
		.nsg = LOGIN_STAGE_OPERATIONAL, .transit = true,
	};
	(void)state;

	pdu_build_login(bhs, &a);
	assert_hex(bhs,
		   "43810000 000001c0 80123456 789a0000"
		   "00000000 00000000 00000001 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	/* A non-leading login into an existing session, to full feature. */
	a.tsih = 0x0123;
	a.cid = 0x0203;
	a.itt = 0x01000000;
	a.cmdsn = 0xffffffff;
	a.expstatsn = 0x55;
	a.len = 0;
	a.csg = LOGIN_STAGE_OPERATIONAL;
	a.nsg = LOGIN_STAGE_FULL_FEATURE;
	pdu_build_login(bhs, &a);
	assert_hex(bhs,
		   "43870000 00000000 80123456 789a0123"
		   "01000000 02030000 ffffffff 00000055"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	/* Without T the NSG is reserved and left 0; C is set. */
	a.transit = false;
	a.cont = true;
	a.csg = LOGIN_STAGE_SECURITY;
	pdu_build_login(bhs, &a);
	assert_int_equal(((struct pdu_bhs *)bhs)->bhs_flags, 0x40);
}

static void test_stamp_ignores_target_pdus(void **state)
{
	uint32_t bhs[BHS_WORDS] = { 0 };
	(void)state;

	((struct pdu_bhs *)bhs)->bhs_opcode = PDU_OP_SCSI_RSP;
	pdu_stamp_cmdsn(bhs, 1, 2);
	pdu_stamp_expstatsn(bhs, 3);
	assert_hex(bhs,
		   "21000000 00000000 00000000 00000000"
		   "00000000 00000000 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
}

/* ---- names ------------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;

	assert_string_equal(pdu_opcode_name(PDU_OP_SCSI_CMD), "SCSI Command");
	assert_string_equal(pdu_opcode_name(PDU_OP_LOGIN_REQ | PDU_IMMEDIATE),
			    "Login Request");
	assert_string_equal(pdu_opcode_name(PDU_OP_R2T), "Ready To Transfer");
	assert_string_equal(pdu_opcode_name(PDU_OP_REJECT), "Reject");
	assert_string_equal(pdu_opcode_name(0x3d), "vendor-specific target opcode");
	assert_string_equal(pdu_opcode_name(0x07), "unknown");
	assert_string_equal(pdu_opcode_name(0x33), "unknown");
	assert_string_equal(pdu_opcode_name(0x101), "unknown");
	/* Every defined opcode has a name. */
	static const unsigned ops[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
		0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x31, 0x32, 0x3f };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_string_not_equal(pdu_opcode_name(ops[i]), "unknown");

	assert_string_equal(pdu_reject_reason_name(REJECT_PROTOCOL_ERROR),
			    "protocol error");
	assert_string_equal(pdu_reject_reason_name(REJECT_WAITING_FOR_LOGOUT),
			    "waiting for logout");
	assert_string_equal(pdu_reject_reason_name(0x01), "unknown");
	assert_string_equal(pdu_reject_reason_name(0x0d), "unknown");
	assert_string_equal(pdu_reject_reason_name(1000), "unknown");

	assert_string_equal(pdu_tmf_response_name(TMF_RSP_NO_TASK),
			    "task does not exist");
	assert_string_equal(pdu_tmf_response_name(TMF_RSP_SUCCEEDED),
			    "function succeeded");
	assert_string_equal(pdu_tmf_response_name(TMF_RSP_REJECTED),
			    "function rejected");
	assert_string_equal(pdu_tmf_response_name(8), "unknown");

	assert_string_equal(pdu_async_event_name(ASYNC_LOGOUT_REQUEST),
			    "logout requested");
	assert_string_equal(pdu_async_event_name(ASYNC_VENDOR),
			    "vendor-specific event");
	assert_string_equal(pdu_async_event_name(5), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lun_encode),
		cmocka_unit_test(test_lun_decode),
		cmocka_unit_test(test_scsi_cmd_rfc_example),
		cmocka_unit_test(test_scsi_cmd_write),
		cmocka_unit_test(test_scsi_cmd_bidi_attrs),
		cmocka_unit_test(test_scsi_cmd_invalid),
		cmocka_unit_test(test_ext_cdb_and_bidi_ahs),
		cmocka_unit_test(test_ext_cdb_padding),
		cmocka_unit_test(test_ahs_builders_invalid),
		cmocka_unit_test(test_data_out),
		cmocka_unit_test(test_nop_out),
		cmocka_unit_test(test_tmf),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_logout),
		cmocka_unit_test(test_snack),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_stamp_ignores_target_pdus),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
