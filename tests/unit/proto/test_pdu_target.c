/* SPDX-License-Identifier: MIT */
/*
 * proto/pdu_target.c: the target-side builders, against golden headers
 * written out by hand from the figures of RFC 7143 section 11, and each
 * built PDU through the initiator's gate.
 */
#include "proto/pdu.h"
#include "unit/proto/pdu_hex.h"

#define BHS_WORDS (PDU_BHS_LEN / 4)

static const struct pdu_limits ffp = { .max_recv_dsl = 262144 };

static void assert_accepted(const void *bhs, bool in_login)
{
	struct pdu_limits lim = ffp;
	const char *why = NULL;

	lim.in_login = in_login;
	if (pdu_check_target_pdu(bhs, &lim, &why) != 0)
		fail_msg("rejected: %s", why);
}

static void test_scsi_rsp(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_rsp_args a = {
		.itt = 0x14000000, .response = SCSI_RSP_COMPLETED,
		.status = 0x02, .flags = SCSI_RSP_UNDERFLOW, .residual = 512,
		.len = 20,
	};
	(void)state;

	memset(bhs, 0xa5, sizeof(bhs));
	pdu_build_scsi_rsp(bhs, &a);
	pdu_stamp_statsn(bhs, 0x10, 0x20, 0x40);
	assert_hex(bhs,
		   "21820002 00000014 00000000 00000000"
		   "14000000 00000000 00000010 00000020"
		   "00000040 00000000 00000000 00000200", PDU_BHS_LEN);
	assert_accepted(bhs, false);

	/* Bidi residuals, ExpDataSN and a SNACK tag; bit 0 is not a flag. */
	a = (struct pdu_scsi_rsp_args){
		.itt = 1, .response = SCSI_RSP_TARGET_FAILURE,
		.flags = SCSI_RSP_BIDI_OVERFLOW | SCSI_RSP_OVERFLOW | 0x01,
		.bidi_residual = 7, .residual = 9, .expdatasn = 3,
		.snack_tag = 0xabcdef01,
	};
	pdu_build_scsi_rsp(bhs, &a);
	assert_hex(bhs,
		   "21940100 00000000 00000000 00000000"
		   "00000001 abcdef01 00000000 00000000"
		   "00000000 00000003 00000007 00000009", PDU_BHS_LEN);
	assert_accepted(bhs, false);
}

static void test_data_in(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_data_in_args a = {
		.lun = 0, .itt = 1, .ttt = PDU_RESERVED_TAG, .datasn = 0,
		.offset = 0, .len = 1024, .final = false, .has_status = true,
		.status = 0, .residual_flags = DATA_IN_UNDERFLOW,
		.residual = 0x200,
	};
	(void)state;

	/* S implies F even when final was not asked for. */
	pdu_build_data_in(bhs, &a);
	pdu_stamp_statsn(bhs, 5, 6, 7);
	assert_hex(bhs,
		   "25830000 00000400 00000000 00000000"
		   "00000001 ffffffff 00000005 00000006"
		   "00000007 00000000 00000000 00000200", PDU_BHS_LEN);
	assert_accepted(bhs, false);

	/* Without S: status, residual and their flags are not written. */
	a.has_status = false;
	a.status = 0x02;
	a.datasn = 4;
	a.offset = 0x1000;
	a.lun = 2;
	pdu_build_data_in(bhs, &a);
	assert_hex(bhs,
		   "25000000 00000400 00020000 00000000"
		   "00000001 ffffffff 00000000 00000000"
		   "00000000 00000004 00001000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);

	/* The A bit with the TTT that a DataACK SNACK will echo. */
	a.final = true;
	a.ack = true;
	a.ttt = 0x99;
	pdu_build_data_in(bhs, &a);
	assert_int_equal(((struct pdu_bhs *)bhs)->bhs_flags, 0xc0);
	assert_accepted(bhs, false);
}

static void test_r2t(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_r2t(bhs, 1, 5, 0x1000, 2, 0x10000, 0x40000);
	pdu_stamp_statsn(bhs, 0xffffffff, 0, 0x7fffffff);
	assert_hex(bhs,
		   "31800000 00000000 00010000 00000000"
		   "00000005 00001000 ffffffff 00000000"
		   "7fffffff 00000002 00010000 00040000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
}

static void test_nop_in(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_nop_in(bhs, 3, PDU_RESERVED_TAG, 0xabcd, 0);
	pdu_stamp_statsn(bhs, 1, 2, 3);
	assert_hex(bhs,
		   "20800000 00000000 00030000 00000000"
		   "ffffffff 0000abcd 00000001 00000002"
		   "00000003 00000000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
	pdu_build_nop_in(bhs, 0, 7, PDU_RESERVED_TAG, 48);
	assert_hex(bhs,
		   "20800000 00000030 00000000 00000000"
		   "00000007 ffffffff 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
}

static void test_tmf_rsp(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_tmf_rsp(bhs, 0x40, TMF_RSP_NO_TASK);
	pdu_stamp_statsn(bhs, 8, 9, 10);
	assert_hex(bhs,
		   "22800100 00000000 00000000 00000000"
		   "00000040 00000000 00000008 00000009"
		   "0000000a 00000000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
	pdu_build_tmf_rsp(bhs, 0x41, TMF_RSP_REJECTED);
	assert_int_equal(((struct bhs_tmf_rsp *)bhs)->tmfr_response, 0xff);
	assert_accepted(bhs, false);
}

static void test_text_rsp(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_text_rsp(bhs, 1, 5, 100, false, true);
	assert_hex(bhs,
		   "24400000 00000064 00000000 00000000"
		   "00000001 00000005 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
	pdu_build_text_rsp(bhs, 1, PDU_RESERVED_TAG, 3, true, false);
	assert_hex(bhs,
		   "24800000 00000003 00000000 00000000"
		   "00000001 ffffffff 00000000 00000000"
		   "00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
}

static void test_login_rsp(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_login_rsp_args a = {
		.isid = { 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a }, .tsih = 1,
		.itt = 0, .len = 0x20, .csg = LOGIN_STAGE_OPERATIONAL,
		.nsg = LOGIN_STAGE_FULL_FEATURE, .transit = true,
	};
	(void)state;

	pdu_build_login_rsp(bhs, &a);
	pdu_stamp_statsn(bhs, 0x11223344, 2, 33);
	assert_hex(bhs,
		   "23870000 00000020 80123456 789a0001"
		   "00000000 00000000 11223344 00000002"
		   "00000021 00000000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, true);

	/* Authentication failure 0x0201; NSG is not written without T. */
	a.transit = false;
	a.csg = LOGIN_STAGE_SECURITY;
	a.status_class = 2;
	a.status_detail = 1;
	a.len = 0;
	a.tsih = 0;
	a.version_max = 0;
	a.version_active = 0;
	pdu_build_login_rsp(bhs, &a);
	assert_hex(bhs,
		   "23000000 00000000 80123456 789a0000"
		   "00000000 00000000 00000000 00000000"
		   "00000000 02010000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, true);
}

static void test_logout_rsp(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_logout_rsp(bhs, 9, LOGOUT_RSP_OK, 2, 20);
	pdu_stamp_statsn(bhs, 1, 2, 3);
	assert_hex(bhs,
		   "26800000 00000000 00000000 00000000"
		   "00000009 00000000 00000001 00000002"
		   "00000003 00000000 00020014 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
}

static void test_async(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	/* Logout request: Parameter2 Time2Wait, Parameter3 Time2Retain. */
	pdu_build_async(bhs, 3, ASYNC_LOGOUT_REQUEST, 0, 0, 2, 20, 0);
	pdu_stamp_statsn(bhs, 4, 5, 6);
	assert_hex(bhs,
		   "32800000 00000000 00030000 00000000"
		   "ffffffff 00000000 00000004 00000005"
		   "00000006 01000000 00020014 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
	pdu_build_async(bhs, 0, ASYNC_VENDOR, 0x42, 0x0102, 0x0304, 0x0506, 18);
	assert_hex(bhs,
		   "32800000 00000012 00000000 00000000"
		   "ffffffff 00000000 00000000 00000000"
		   "00000000 ff420102 03040506 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
}

static void test_reject(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_reject(bhs, REJECT_PROTOCOL_ERROR, 0, PDU_BHS_LEN);
	pdu_stamp_statsn(bhs, 7, 8, 9);
	assert_hex(bhs,
		   "3f800400 00000030 00000000 00000000"
		   "ffffffff 00000000 00000007 00000008"
		   "00000009 00000000 00000000 00000000", PDU_BHS_LEN);
	assert_accepted(bhs, false);
	pdu_build_reject(bhs, REJECT_SNACK_REJECT, 0x12, 52);
	assert_int_equal(pdu_get32(&((struct bhs_reject *)bhs)->rej_datasn), 0x12);
	assert_accepted(bhs, false);
}

static void test_stamp_statsn_ignores_initiator_pdus(void **state)
{
	uint32_t bhs[BHS_WORDS];
	uint32_t copy[BHS_WORDS];
	(void)state;

	pdu_build_nop_out(bhs, 0, 1, PDU_RESERVED_TAG, 0, false);
	memcpy(copy, bhs, sizeof(copy));
	pdu_stamp_statsn(bhs, 1, 2, 3);
	assert_memory_equal(bhs, copy, sizeof(copy));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scsi_rsp),
		cmocka_unit_test(test_data_in),
		cmocka_unit_test(test_r2t),
		cmocka_unit_test(test_nop_in),
		cmocka_unit_test(test_tmf_rsp),
		cmocka_unit_test(test_text_rsp),
		cmocka_unit_test(test_login_rsp),
		cmocka_unit_test(test_logout_rsp),
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_stamp_statsn_ignores_initiator_pdus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
