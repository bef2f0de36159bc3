/* SPDX-License-Identifier: MIT */
/* Recovery PDUs against golden bytes written from the figures of RFC 7143
 * sections 11.5 (TMF Request), 11.14 (Logout Request) and 11.16 (SNACK),
 * each also accepted by the target-side gate pdu_check_initiator_pdu();
 * and the judgment of a header whose digest failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mcs/erl_pdu.h"
#include "unit/proto/pdu_hex.h"

static uint32_t bhs_buf[PDU_BHS_LEN / 4];

static uint8_t *fresh(void)
{
	memset(bhs_buf, 0xee, sizeof(bhs_buf));   /* builders must clear it */
	return (uint8_t *)bhs_buf;
}

static void gate_accepts(const void *bhs)
{
	struct pdu_limits lim = { .max_recv_dsl = 8192 };
	const char *why = NULL;

	if (pdu_check_initiator_pdu(bhs, &lim, &why) != 0)
		fail_msg("rejected by the target gate: %s", why ? why : "?");
}

static void test_data_snack(void **state)
{
	(void)state;
	uint8_t *b = fresh();

	erl_build_data_snack(b, 5, 0x01020304, 2, 3, 0x11223344);
	assert_hex(b,
		"10 80 00 00 | 00 000000 | 0005000000000000"
		"01020304 | ffffffff | 00000000 | 11223344 | 00000000 00000000"
		"00000002 | 00000003", PDU_BHS_LEN);
	gate_accepts(b);
	/* RunLength 0: everything from BegRun. */
	erl_build_data_snack(b, 0, 7, 9, 0, 1);
	assert_hex(b + 40, "00000009 00000000", 8);
	gate_accepts(b);
}

static void test_status_snack(void **state)
{
	(void)state;
	uint8_t *b = fresh();

	erl_build_status_snack(b, 0x10, 2, 0x0a0b0c0d);
	assert_hex(b,
		"10 81 00 00 | 00 000000 | 0000000000000000"
		"ffffffff | ffffffff | 00000000 | 0a0b0c0d | 00000000 00000000"
		"00000010 | 00000002", PDU_BHS_LEN);
	gate_accepts(b);
}

static void test_dataack(void **state)
{
	(void)state;
	uint8_t *b = fresh();

	/* As LIO's final Data-In asks: TTT 0 is a valid tag. */
	erl_build_dataack(b, 1, 0, 8, 0x55);
	assert_hex(b,
		"10 82 00 00 | 00 000000 | 0001000000000000"
		"ffffffff | 00000000 | 00000000 | 00000055 | 00000000 00000000"
		"00000008 | 00000000", PDU_BHS_LEN);
	gate_accepts(b);
}

static void test_rdata_snack(void **state)
{
	(void)state;
	uint8_t *b = fresh();

	assert_int_equal(erl_build_rdata_snack(b, 300, 0xabcd, 0x77, 4), 0);
	/* LUN 300: flat space addressing. */
	assert_hex(b,
		"10 83 00 00 | 00 000000 | 412c000000000000"
		"0000abcd | 00000077 | 00000000 | 00000004 | 00000000 00000000"
		"00000000 | 00000000", PDU_BHS_LEN);
	gate_accepts(b);
	assert_int_equal(erl_build_rdata_snack(b, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(erl_build_rdata_snack(b, 0, 1, PDU_RESERVED_TAG, 0), -EINVAL);
}

static void test_task_reassign(void **state)
{
	(void)state;
	uint8_t *b = fresh();

	erl_build_task_reassign(b, 0, 0x00400002, 0x03010000, 0x1000, 3,
				0x1005, 0x2000);
	assert_hex(b,
		"42 88 00 00 | 00 000000 | 0000000000000000"
		"00400002 | 03010000 | 00001005 | 00002000"
		"00001000 | 00000003 | 00000000 00000000", PDU_BHS_LEN);
	gate_accepts(b);
}

static void test_logout_cid(void **state)
{
	(void)state;
	uint8_t *b = fresh();

	erl_build_logout_cid(b, LOGOUT_REMOVE_FOR_RECOVERY, 0x99, 0, 0x200, 0x3344);
	assert_hex(b,
		"46 82 00 00 | 00 000000 | 0000000000000000"
		"00000099 | 0000 0000 | 00000200 | 00003344"
		"00000000 00000000 00000000 00000000", PDU_BHS_LEN);
	gate_accepts(b);
	erl_build_logout_cid(b, LOGOUT_CLOSE_CONNECTION, 0x9a, 0x0102, 1, 2);
	assert_hex(b, "46 81", 2);
	assert_hex(b + 20, "0102 0000 | 00000001 | 00000002", 12);
	gate_accepts(b);
}

/* ---- damaged headers ------------------------------------------------------- */

static void hdr(uint8_t *b, uint8_t opcode, uint32_t dsl, uint8_t ahs)
{
	memset(b, 0, PDU_BHS_LEN);
	b[0] = opcode;
	b[1] = PDU_FINAL;
	b[4] = ahs;
	pdu_set_dsl(b, dsl);
}

static void test_skip_len(void **state)
{
	(void)state;
	uint8_t *b = fresh();
	uint32_t skip = 0;
	const char *why = NULL;

	hdr(b, PDU_OP_DATA_IN, 8192, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), 0);
	assert_int_equal(skip, 8192 + 4);
	assert_int_equal(erl_skip_len(b, false, 8192, &skip, &why), 0);
	assert_int_equal(skip, 8192);
	/* Padding, then the data digest. */
	hdr(b, PDU_OP_SCSI_RSP, 22, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), 0);
	assert_int_equal(skip, 24 + 4);
	/* No data segment: no data digest either. */
	hdr(b, PDU_OP_R2T, 0, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), 0);
	assert_int_equal(skip, 0);
	hdr(b, PDU_OP_NOP_IN, 0, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), 0);
	assert_int_equal(skip, 0);

	/* Implausible: the connection goes. */
	skip = 12345;
	hdr(b, PDU_OP_DATA_IN, 8193, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), -EPROTO);
	assert_non_null(why);
	assert_int_equal(skip, 12345);
	hdr(b, PDU_OP_R2T, 4, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), -EPROTO);
	hdr(b, PDU_OP_TMF_RSP, 48, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), -EPROTO);
	hdr(b, PDU_OP_DATA_IN, 100, 1);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), -EPROTO);
	hdr(b, PDU_OP_SCSI_CMD, 0, 0);           /* an initiator opcode */
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), -EPROTO);
	hdr(b, PDU_OP_LOGIN_RSP, 0, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), -EPROTO);
	hdr(b, 0x3e, 0, 0);
	assert_int_equal(erl_skip_len(b, true, 8192, &skip, &why), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_snack),
		cmocka_unit_test(test_status_snack),
		cmocka_unit_test(test_dataack),
		cmocka_unit_test(test_rdata_snack),
		cmocka_unit_test(test_task_reassign),
		cmocka_unit_test(test_logout_cid),
		cmocka_unit_test(test_skip_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
