/* SPDX-License-Identifier: MIT */
/*
 * Sense data: the unit attentions and ILLEGAL REQUEST that tgt 1.0.85 and
 * istgt 0.4 sent on loopback (as iSCSI SCSI Response data segments), hand-
 * built fixed and descriptor sense per SPC-4 4.5, the names (checked
 * against sg3_utils' sg_decode_sense when the table was written) and the
 * classification a host acts on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/sense.h"
#include "pdu_hex.h"

/* Data segments: SenseLength, then sense. */
static const char tgt_ua_seg[] = "0012 700006000000000a00000000290000000000";
static const char istgt_ua_seg[] = "0012 f00006000000000a00000000290000000000";
static const char tgt_inval_cdb_seg[] =
	"0012 700005000000000a00000000240000000000";

static int parse_hex(const char *hex, struct sense_info *s, const char **why)
{
	uint8_t buf[300];
	size_t n = hex_decode(hex, buf, sizeof(buf));
	return sense_parse(buf, n, s, why);
}

static void test_captured(void **state)
{
	(void)state;
	uint8_t seg[64];
	struct sense_info s;
	char text[128];
	size_t n = hex_decode(tgt_ua_seg, seg, sizeof(seg));

	assert_int_equal(sense_parse_iscsi(seg, n, &s, NULL), 0);
	assert_int_equal(s.response_code, 0x70);
	assert_false(s.descriptor);
	assert_false(s.deferred);
	assert_int_equal(s.key, SENSE_KEY_UNIT_ATTENTION);
	assert_int_equal(s.asc, 0x29);
	assert_int_equal(s.ascq, 0x00);
	assert_false(s.info_valid);
	assert_false(s.sks_valid);
	assert_int_equal(sense_classify(&s), SENSE_UA_RETRY);
	assert_true(sense_class_retryable(SENSE_UA_RETRY));
	assert_int_equal(sense_format(&s, text, sizeof(text)),
			 (int)strlen("UNIT ATTENTION: POWER ON, RESET, OR BUS "
				     "DEVICE RESET OCCURRED (29/00)"));
	assert_string_equal(text, "UNIT ATTENTION: POWER ON, RESET, OR BUS "
			    "DEVICE RESET OCCURRED (29/00)");

	/* istgt sets VALID with an INFORMATION of 0. */
	n = hex_decode(istgt_ua_seg, seg, sizeof(seg));
	assert_int_equal(sense_parse_iscsi(seg, n, &s, NULL), 0);
	assert_int_equal(s.response_code, 0x70);
	assert_true(s.info_valid);
	assert_true(s.info == 0);
	assert_int_equal(s.key, SENSE_KEY_UNIT_ATTENTION);
	assert_int_equal(sense_format(&s, text, sizeof(text)),
			 (int)strlen("UNIT ATTENTION: POWER ON, RESET, OR BUS "
				     "DEVICE RESET OCCURRED (29/00) info 0x0"));
	assert_string_equal(text, "UNIT ATTENTION: POWER ON, RESET, OR BUS "
			    "DEVICE RESET OCCURRED (29/00) info 0x0");

	/* tgt's answer to an unsupported VPD page. */
	n = hex_decode(tgt_inval_cdb_seg, seg, sizeof(seg));
	assert_int_equal(sense_parse_iscsi(seg, n, &s, NULL), 0);
	assert_int_equal(s.key, SENSE_KEY_ILLEGAL_REQUEST);
	assert_int_equal(s.asc, 0x24);
	assert_int_equal(sense_classify(&s), SENSE_ILLEGAL_REQUEST);
	assert_false(sense_class_retryable(SENSE_ILLEGAL_REQUEST));
	sense_format(&s, text, sizeof(text));
	assert_string_equal(text, "ILLEGAL REQUEST: INVALID FIELD IN CDB (24/00)");
}

static void test_iscsi_segment(void **state)
{
	(void)state;
	uint8_t seg[64];
	struct sense_info s;
	const char *why = NULL;
	size_t n = hex_decode(tgt_ua_seg, seg, sizeof(seg));

	/* istgt's CHECK CONDITION without sense; SenseLength 0. */
	assert_int_equal(sense_parse_iscsi(seg, 0, &s, &why), -ENODATA);
	assert_int_equal(sense_parse_iscsi((const uint8_t *)"\0\0", 2, &s, &why),
			 -ENODATA);
	assert_int_equal(sense_parse_iscsi(seg, 1, &s, &why), -EPROTO);
	/* Shorter than SenseLength. */
	why = NULL;
	assert_int_equal(sense_parse_iscsi(seg, n - 1, &s, &why), -EPROTO);
	assert_non_null(why);
	/* Response data after the sense is not sense. */
	seg[n] = 0xff;
	assert_int_equal(sense_parse_iscsi(seg, n + 1, &s, NULL), 0);
	assert_int_equal(s.asc, 0x29);
	/* SenseLength counts only the sense: a 2-byte sense is too short
	 * for the fixed header, even with more bytes after it. */
	seg[1] = 2;
	assert_int_equal(sense_parse_iscsi(seg, n, &s, &why), -EPROTO);
}

static void test_fixed(void **state)
{
	(void)state;
	struct sense_info s;
	const char *why = NULL;
	char text[128];

	/* Medium error at LBA 0x123456, FRU 0x42. */
	assert_int_equal(parse_hex("f0000300 1234560a 00000000 11004200 0000",
				   &s, NULL), 0);
	assert_true(s.info_valid);
	assert_true(s.info == 0x123456);
	assert_int_equal(s.key, SENSE_KEY_MEDIUM_ERROR);
	assert_int_equal(s.fru, 0x42);
	assert_int_equal(sense_classify(&s), SENSE_MEDIUM_ERROR);
	sense_format(&s, text, sizeof(text));
	assert_string_equal(text,
			    "MEDIUM ERROR: UNRECOVERED READ ERROR (11/00) info 0x123456");

	/* INFORMATION without VALID is not information. */
	assert_int_equal(parse_hex("70000300 1234560a 00000000 11000000 0000",
				   &s, NULL), 0);
	assert_false(s.info_valid);
	assert_true(s.info == 0);

	/* Sense-key specific: field pointer to CDB byte 2. */
	assert_int_equal(parse_hex("70000500 0000000a 00000000 24000000 0002",
				   &s, NULL), 0);
	assert_false(s.sks_valid);
	assert_int_equal(parse_hex("70000500 0000000a 00000000 240000c0 0002",
				   &s, NULL), 0);
	assert_true(s.sks_valid);
	assert_int_equal(s.sks[0], 0xc0);
	assert_int_equal(s.sks[2], 0x02);
	assert_true(s.cmd_info_valid);

	/* Deferred: about an earlier write. */
	assert_int_equal(parse_hex("71000300 0000000a 00000000 0c000000 0000",
				   &s, NULL), 0);
	assert_true(s.deferred);
	assert_int_equal(sense_classify(&s), SENSE_DEFERRED);
	sense_format(&s, text, sizeof(text));
	assert_string_equal(text, "MEDIUM ERROR: WRITE ERROR (0c/00) deferred");

	/* Flags in byte 2. */
	assert_int_equal(parse_hex("7000e000 00000000", &s, NULL), 0);
	assert_true(s.filemark && s.eom && s.ili);
	assert_int_equal(s.key, 0);

	/* ADDITIONAL SENSE LENGTH 0: no ASC even though bytes follow. */
	assert_int_equal(parse_hex("70000600 00000000 00000000 29000000 0000",
				   &s, NULL), 0);
	assert_int_equal(s.key, SENSE_KEY_UNIT_ATTENTION);
	assert_int_equal(s.asc, 0);
	assert_false(s.cmd_info_valid);
	/* Cut short by the sender after ASC/ASCQ. */
	assert_int_equal(parse_hex("70000600 0000000a 00000000 2a09", &s, NULL), 0);
	assert_int_equal(s.asc, 0x2a);
	assert_int_equal(s.ascq, 0x09);
	assert_false(s.sks_valid);
	assert_int_equal(sense_classify(&s), SENSE_UA_CAPACITY);

	/* Too short, unknown response codes. */
	why = NULL;
	assert_int_equal(parse_hex("70000600 000000", &s, &why), -EPROTO);
	assert_non_null(why);
	assert_int_equal(parse_hex("", &s, NULL), -EPROTO);
	assert_int_equal(parse_hex("7f000600 0000000a 00000000 29000000 0000",
				   &s, NULL), -EPROTO);
	assert_int_equal(parse_hex("00000600 0000000a 00000000 29000000 0000",
				   &s, NULL), -EPROTO);
	assert_int_equal(parse_hex("74000600 0000000a 00000000 29000000 0000",
				   &s, NULL), -EPROTO);
}

static void test_descriptor(void **state)
{
	(void)state;
	struct sense_info s;
	const char *why = NULL;
	char text[128];

	/* No descriptors. */
	assert_int_equal(parse_hex("72062a09 00000000", &s, NULL), 0);
	assert_true(s.descriptor);
	assert_int_equal(s.response_code, 0x72);
	assert_int_equal(s.key, SENSE_KEY_UNIT_ATTENTION);
	assert_int_equal(sense_classify(&s), SENSE_UA_CAPACITY);

	/* Information (a 64-bit LBA), sense key specific, FRU, block
	 * commands (ILI), and a vendor descriptor that is skipped. */
	assert_int_equal(parse_hex("72031100 00000020"
				   "000a8000 00000001 23456789"
				   "0206 0000c00002 00"
				   "80020102"
				   "03020077"
				   "05020020", &s, NULL), 0);
	assert_int_equal(s.key, SENSE_KEY_MEDIUM_ERROR);
	assert_true(s.info_valid);
	assert_true(s.info == 0x123456789ull);
	assert_true(s.sks_valid);
	assert_int_equal(s.sks[0], 0xc0);
	assert_int_equal(s.fru, 0x77);
	assert_true(s.ili);
	assert_false(s.filemark);
	sense_format(&s, text, sizeof(text));
	assert_string_equal(text, "MEDIUM ERROR: UNRECOVERED READ ERROR (11/00)"
			    " info 0x123456789");

	/* Command-specific and stream commands. */
	assert_int_equal(parse_hex("72000000 00000010"
				   "010a0000 ffffffff fffffffe"
				   "040200c0", &s, NULL), 0);
	assert_true(s.cmd_info_valid);
	assert_true(s.cmd_info == 0xfffffffffffffffeull);
	assert_true(s.filemark && s.eom);
	assert_false(s.info_valid);

	/* Information descriptor without VALID. */
	assert_int_equal(parse_hex("72031100 0000000c"
				   "000a0000 00000001 23456789", &s, NULL), 0);
	assert_false(s.info_valid);

	/* Deferred. */
	assert_int_equal(parse_hex("73040000 00000000", &s, NULL), 0);
	assert_true(s.deferred);
	assert_int_equal(sense_classify(&s), SENSE_DEFERRED);

	/* Cut by the sender in the middle of a descriptor: what is whole
	 * counts. */
	assert_int_equal(parse_hex("72031100 00000018"
				   "03020077"
				   "000a8000 00000001", &s, NULL), 0);
	assert_int_equal(s.fru, 0x77);
	assert_false(s.info_valid);
	assert_int_equal(parse_hex("72031100 00000018 03", &s, NULL), 0);

	/* A complete buffer whose descriptors do not add up. */
	why = NULL;
	assert_int_equal(parse_hex("72031100 0000000c"
				   "000b8000 00000001 23456789", &s, &why),
			 -EPROTO);
	assert_non_null(why);
	assert_int_equal(parse_hex("72031100 00000005 03020077 00", &s, NULL),
			 -EPROTO);
	/* Known descriptors of the wrong length. */
	assert_int_equal(parse_hex("72031100 0000000a"
				   "00088000 00000000 0001", &s, NULL), -EPROTO);
	assert_int_equal(parse_hex("72031100 0000000c"
				   "010a0000 00000000 00000001"
				   , &s, NULL), 0);
	assert_int_equal(parse_hex("72031100 0000000a"
				   "01080000 00000000 0001", &s, NULL), -EPROTO);
	assert_int_equal(parse_hex("72051100 00000006 02040000 c000", &s, NULL),
			 -EPROTO);
	assert_int_equal(parse_hex("72051100 0000000a 02080000 c0000200 0000",
				   &s, NULL), -EPROTO);
	assert_int_equal(parse_hex("72051100 00000003 030100", &s, NULL),
			 -EPROTO);
	assert_int_equal(parse_hex("72051100 00000005 0403000000", &s, NULL),
			 -EPROTO);
	assert_int_equal(parse_hex("72051100 000000", &s, NULL), -EPROTO);
}

static void test_names(void **state)
{
	(void)state;
	static const char *keys[16] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
		"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION",
		"DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC",
		"COPY ABORTED", "ABORTED COMMAND", "RESERVED",
		"VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
	};
	for (uint8_t k = 0; k < 16; k++)
		assert_string_equal(sense_key_name(k), keys[k]);
	assert_string_equal(sense_key_name(16), "UNKNOWN");

	static const struct { uint8_t asc, ascq; const char *name; } pairs[] = {
		{ 0x00, 0x00, "NO ADDITIONAL SENSE INFORMATION" },
		{ 0x04, 0x00, "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE" },
		{ 0x04, 0x01, "LOGICAL UNIT IS IN PROCESS OF BECOMING READY" },
		{ 0x04, 0x02, "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED" },
		{ 0x04, 0x03, "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED" },
		{ 0x04, 0x0a, "LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION" },
		{ 0x04, 0x0b, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE" },
		{ 0x04, 0x0c, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE" },
		{ 0x0c, 0x00, "WRITE ERROR" },
		{ 0x0c, 0x0c, "WRITE ERROR - UNEXPECTED UNSOLICITED DATA" },
		{ 0x11, 0x00, "UNRECOVERED READ ERROR" },
		{ 0x20, 0x00, "INVALID COMMAND OPERATION CODE" },
		{ 0x21, 0x00, "LOGICAL BLOCK ADDRESS OUT OF RANGE" },
		{ 0x24, 0x00, "INVALID FIELD IN CDB" },
		{ 0x25, 0x00, "LOGICAL UNIT NOT SUPPORTED" },
		{ 0x26, 0x00, "INVALID FIELD IN PARAMETER LIST" },
		{ 0x27, 0x00, "WRITE PROTECTED" },
		{ 0x28, 0x00, "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED" },
		{ 0x29, 0x00, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED" },
		{ 0x29, 0x01, "POWER ON OCCURRED" },
		{ 0x29, 0x02, "SCSI BUS RESET OCCURRED" },
		{ 0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED" },
		{ 0x29, 0x04, "DEVICE INTERNAL RESET" },
		{ 0x29, 0x05, "TRANSCEIVER MODE CHANGED TO SINGLE-ENDED" },
		{ 0x29, 0x06, "TRANSCEIVER MODE CHANGED TO LVD" },
		{ 0x29, 0x07, "I_T NEXUS LOSS OCCURRED" },
		{ 0x2a, 0x01, "MODE PARAMETERS CHANGED" },
		{ 0x2a, 0x06, "ASYMMETRIC ACCESS STATE CHANGED" },
		{ 0x2a, 0x09, "CAPACITY DATA HAS CHANGED" },
		{ 0x3a, 0x00, "MEDIUM NOT PRESENT" },
		{ 0x3f, 0x03, "INQUIRY DATA HAS CHANGED" },
		{ 0x3f, 0x0e, "REPORTED LUNS DATA HAS CHANGED" },
		{ 0x44, 0x00, "INTERNAL TARGET FAILURE" },
		{ 0x47, 0x00, "SCSI PARITY ERROR" },
		{ 0x47, 0x05, "PROTOCOL SERVICE CRC ERROR" },
		{ 0x55, 0x03, "INSUFFICIENT RESOURCES" },
		{ 0x5e, 0x00, "LOW POWER CONDITION ON" },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *got = sense_asc_name(pairs[i].asc, pairs[i].ascq);
		if (!got || strcmp(got, pairs[i].name) != 0)
			fail_msg("%02x/%02x: %s", pairs[i].asc, pairs[i].ascq,
				 got ? got : "(null)");
	}
	assert_null(sense_asc_name(0x04, 0xff));
	assert_null(sense_asc_name(0x29, 0x08));
	assert_null(sense_asc_name(0xff, 0xff));
	assert_null(sense_asc_name(0x00, 0x01));

	/* Unknown pair, truncation. */
	struct sense_info s = { .key = 4, .asc = 0x99, .ascq = 0x01 };
	char text[64];
	assert_int_equal(sense_format(&s, text, sizeof(text)), 22);
	assert_string_equal(text, "HARDWARE ERROR (99/01)");
	assert_int_equal(sense_format(&s, text, 22), -ENOSPC);
	assert_int_equal(sense_format(&s, text, 23), 22);
	assert_int_equal(sense_format(&s, text, 0), -ENOSPC);
	s.deferred = true;
	assert_int_equal(sense_format(&s, text, 25), -ENOSPC);
	assert_int_equal(strlen(text), 24);
}

static void test_classify(void **state)
{
	(void)state;
	static const struct {
		uint8_t key, asc, ascq;
		enum sense_class want;
		bool retry;
	} cases[] = {
		{ 0x0, 0x00, 0x00, SENSE_OK, false },
		{ 0x1, 0x5d, 0x00, SENSE_OK, false },
		{ 0xf, 0x00, 0x00, SENSE_OK, false },
		{ 0x6, 0x29, 0x00, SENSE_UA_RETRY, true },
		{ 0x6, 0x29, 0x07, SENSE_UA_RETRY, true },
		{ 0x6, 0x28, 0x00, SENSE_UA_RETRY, true },
		{ 0x6, 0x2a, 0x01, SENSE_UA_RETRY, true },
		{ 0x6, 0x2a, 0x09, SENSE_UA_CAPACITY, true },
		{ 0x6, 0x3f, 0x0e, SENSE_UA_LUNS_CHANGED, true },
		{ 0x6, 0x3f, 0x03, SENSE_UA_INQUIRY_CHANGED, true },
		{ 0x6, 0x3f, 0x05, SENSE_UA_INQUIRY_CHANGED, true },
		{ 0x6, 0x2a, 0x06, SENSE_UA_ALUA_CHANGED, true },
		{ 0x2, 0x04, 0x01, SENSE_NOT_READY_RETRY, true },
		{ 0x2, 0x04, 0x0a, SENSE_NOT_READY_RETRY, true },
		{ 0x2, 0x04, 0x07, SENSE_NOT_READY_RETRY, true },
		{ 0x2, 0x04, 0x0b, SENSE_PATH_UNAVAILABLE, false },
		{ 0x2, 0x04, 0x0c, SENSE_PATH_UNAVAILABLE, false },
		{ 0x2, 0x04, 0x00, SENSE_NOT_READY, false },
		{ 0x2, 0x04, 0x02, SENSE_NOT_READY, false },
		{ 0x2, 0x04, 0x03, SENSE_NOT_READY, false },
		{ 0x2, 0x3a, 0x00, SENSE_NOT_READY, false },
		{ 0x3, 0x11, 0x00, SENSE_MEDIUM_ERROR, false },
		{ 0x3, 0x0c, 0x00, SENSE_MEDIUM_ERROR, false },
		{ 0x4, 0x44, 0x00, SENSE_HARDWARE_ERROR, false },
		{ 0x5, 0x20, 0x00, SENSE_ILLEGAL_REQUEST, false },
		{ 0x5, 0x21, 0x00, SENSE_ILLEGAL_REQUEST, false },
		{ 0x5, 0x25, 0x00, SENSE_ILLEGAL_REQUEST, false },
		{ 0x7, 0x27, 0x00, SENSE_DATA_PROTECT, false },
		{ 0x7, 0x27, 0x07, SENSE_DATA_PROTECT, false },
		{ 0xb, 0x47, 0x05, SENSE_ABORTED_RETRY, true },
		{ 0xb, 0x0c, 0x0c, SENSE_ABORTED_RETRY, true },
		{ 0xe, 0x1d, 0x00, SENSE_MISCOMPARE, false },
		{ 0x8, 0x00, 0x00, SENSE_OTHER, false },
		{ 0x9, 0x00, 0x00, SENSE_OTHER, false },
		{ 0xd, 0x00, 0x00, SENSE_OTHER, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sense_info s = { .response_code = 0x70,
					.key = cases[i].key,
					.asc = cases[i].asc,
					.ascq = cases[i].ascq };
		enum sense_class c = sense_classify(&s);
		if (c != cases[i].want)
			fail_msg("%x %02x/%02x: %s", cases[i].key, cases[i].asc,
				 cases[i].ascq, sense_class_name(c));
		assert_int_equal(sense_class_retryable(c), cases[i].retry);
		assert_non_null(sense_class_name(c));
	}
	assert_string_equal(sense_class_name(SENSE_UA_CAPACITY),
			    "unit attention: capacity changed");
	assert_string_equal(sense_class_name(SENSE_UA_LUNS_CHANGED),
			    "unit attention: LUNs changed");
	assert_false(sense_class_retryable(SENSE_DEFERRED));
	assert_false(sense_class_retryable(SENSE_OK));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured),
		cmocka_unit_test(test_iscsi_segment),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_classify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
