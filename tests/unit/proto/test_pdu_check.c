/* SPDX-License-Identifier: MIT */
/*
 * proto/pdu_check.c: every rule of both gates, each once accepted and once
 * rejected with its reason, starting from a header the builders make and
 * changing one field; and the AHS walk.
 */
#include "proto/pdu.h"
#include "unit/proto/pdu_hex.h"

#include <errno.h>

#define BHS_WORDS (PDU_BHS_LEN / 4)
#define MAX_DSL   8192u

static const struct pdu_limits ffp = { .max_recv_dsl = MAX_DSL };
static const struct pdu_limits login = { .max_recv_dsl = MAX_DSL, .in_login = true };

/* want NULL: accepted. Otherwise -EPROTO with exactly that reason. */
static void expect_gate(int (*gate)(const void *, const struct pdu_limits *,
				    const char **),
			const void *bhs, const struct pdu_limits *lim,
			const char *want)
{
	const char *why = NULL;
	int rc = gate(bhs, lim, &why);

	if (!want) {
		if (rc != 0)
			fail_msg("rejected: %s", why ? why : "(no reason)");
		return;
	}
	assert_int_equal(rc, -EPROTO);
	assert_non_null(why);
	assert_string_equal(why, want);
	/* The reason pointer is optional. */
	assert_int_equal(gate(bhs, lim, NULL), -EPROTO);
}

#define TGT(bhs, lim, want) expect_gate(pdu_check_target_pdu, bhs, lim, want)
#define INI(bhs, lim, want) expect_gate(pdu_check_initiator_pdu, bhs, lim, want)

static struct pdu_bhs *H(uint32_t *bhs) { return (struct pdu_bhs *)bhs; }

#define R_UNKNOWN   "opcode unknown for this direction"
#define R_IN_LOGIN  "non-login PDU during the login phase"
#define R_AFTER     "login PDU after the login phase"
#define R_AHS       "AHS on an opcode that has none"
#define R_DSL       "DataSegmentLength exceeds MaxRecvDataSegmentLength"
#define R_NO_DATA   "data segment on an opcode that has none"
#define R_F1        "F bit clear where it is fixed to 1"
#define R_ITT_RSVD  "ITT must be 0xffffffff"
#define R_ITT_TASK  "ITT 0xffffffff where a task is named"

/* ---- generic rules, target gate ---------------------------------------- */

static bool in_set(unsigned op, const unsigned *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == op)
			return true;
	return false;
}

static void test_opcode_direction(void **state)
{
	static const unsigned tgt[] = { 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
					0x26, 0x31, 0x32, 0x3f };
	static const unsigned ini[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
					0x06, 0x10 };
	uint32_t bhs[BHS_WORDS] = { 0 };
	(void)state;

	for (unsigned op = 0; op < 64; op++) {
		const char *why = NULL;

		H(bhs)->bhs_opcode = (uint8_t)op;
		int rc = pdu_check_target_pdu(bhs, &ffp, &why);
		bool unknown = rc == -EPROTO && strcmp(why, R_UNKNOWN) == 0;
		assert_int_equal(unknown, !in_set(op, tgt, 10));

		why = NULL;
		rc = pdu_check_initiator_pdu(bhs, &ffp, &why);
		unknown = rc == -EPROTO && strcmp(why, R_UNKNOWN) == 0;
		assert_int_equal(unknown, !in_set(op, ini, 8));
	}
}

static void test_reserved_bits_ignored(void **state)
{
	uint32_t bhs[BHS_WORDS];
	uint8_t *b = (uint8_t *)bhs;
	(void)state;

	pdu_build_r2t(bhs, 0, 1, 2, 0, 0, 512);
	b[0] |= 0xc0;                 /* byte 0 bits 7 and 6: reserved */
	b[1] |= 0x7f;                 /* byte 1 after F: reserved */
	b[2] = b[3] = 0xff;
	TGT(bhs, &ffp, NULL);

	pdu_build_nop_in(bhs, 0, 1, PDU_RESERVED_TAG, 0);
	memset(b + 36, 0xff, 12);
	TGT(bhs, &ffp, NULL);

	/* Reject: byte 3 and bytes 8-15 reserved. */
	pdu_build_reject(bhs, REJECT_PROTOCOL_ERROR, 0, PDU_BHS_LEN);
	b[3] = 0x5a;
	memset(b + 8, 0x5a, 8);
	TGT(bhs, &ffp, NULL);
}

static void test_login_phase_gating(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_login_rsp_args la = { .csg = LOGIN_STAGE_SECURITY,
		.nsg = LOGIN_STAGE_OPERATIONAL, .transit = true };
	struct pdu_login_args lr = { .csg = LOGIN_STAGE_SECURITY,
		.nsg = LOGIN_STAGE_OPERATIONAL, .transit = true };
	(void)state;

	pdu_build_login_rsp(bhs, &la);
	TGT(bhs, &login, NULL);
	TGT(bhs, &ffp, R_AFTER);
	pdu_build_nop_in(bhs, 0, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0);
	TGT(bhs, &ffp, NULL);
	TGT(bhs, &login, R_IN_LOGIN);
	pdu_build_reject(bhs, REJECT_PROTOCOL_ERROR, 0, PDU_BHS_LEN);
	TGT(bhs, &login, R_IN_LOGIN);

	pdu_build_login(bhs, &lr);
	INI(bhs, &login, NULL);
	INI(bhs, &ffp, R_AFTER);
	pdu_build_text(bhs, 1, PDU_RESERVED_TAG, 0, true, false);
	INI(bhs, &ffp, NULL);
	INI(bhs, &login, R_IN_LOGIN);
}

static void test_ahs_only_on_scsi_cmd(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_rsp_args ra = { .itt = 1 };
	struct pdu_scsi_cmd_args ca = { .itt = 1, .final = true };
	(void)state;

	pdu_build_scsi_rsp(bhs, &ra);
	H(bhs)->bhs_ahs_len = 1;
	TGT(bhs, &ffp, R_AHS);

	assert_int_equal(pdu_build_scsi_cmd(bhs, &ca), 0);
	H(bhs)->bhs_ahs_len = 255;
	INI(bhs, &ffp, NULL);
	pdu_build_data_out(bhs, 0, 1, PDU_RESERVED_TAG, 0, 0, 512, true);
	H(bhs)->bhs_ahs_len = 2;
	INI(bhs, &ffp, R_AHS);
}

static void test_dsl_limit(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_limits zero = { .max_recv_dsl = 0 };
	(void)state;

	pdu_build_nop_in(bhs, 0, 1, PDU_RESERVED_TAG, MAX_DSL);
	TGT(bhs, &ffp, NULL);
	pdu_set_dsl(bhs, MAX_DSL + 1);
	TGT(bhs, &ffp, R_DSL);
	pdu_set_dsl(bhs, PDU_MAX_DSL);
	TGT(bhs, &ffp, R_DSL);
	pdu_set_dsl(bhs, 1);
	TGT(bhs, &zero, R_DSL);
	pdu_set_dsl(bhs, 0);
	TGT(bhs, &zero, NULL);

	pdu_build_data_out(bhs, 0, 1, 2, 0, 0, MAX_DSL + 1, true);
	INI(bhs, &ffp, R_DSL);
	pdu_set_dsl(bhs, MAX_DSL);
	INI(bhs, &ffp, NULL);
}

static void test_target_no_data(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_r2t(bhs, 0, 1, 2, 0, 0, 512);
	pdu_set_dsl(bhs, 4);
	TGT(bhs, &ffp, R_NO_DATA);
	pdu_build_tmf_rsp(bhs, 1, TMF_RSP_COMPLETE);
	pdu_set_dsl(bhs, 1);
	TGT(bhs, &ffp, R_NO_DATA);
	pdu_build_logout_rsp(bhs, 1, LOGOUT_RSP_OK, 0, 0);
	pdu_set_dsl(bhs, 48);
	TGT(bhs, &ffp, R_NO_DATA);
	/* Data is fine where the RFC defines it. */
	pdu_build_async(bhs, 0, ASYNC_SCSI_EVENT, 0, 0, 0, 0, 20);
	TGT(bhs, &ffp, NULL);
	pdu_build_nop_in(bhs, 0, PDU_RESERVED_TAG, 5, 16);
	TGT(bhs, &ffp, NULL);
}

static void test_target_f_bit_fixed(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_rsp_args ra = { .itt = 1 };
	(void)state;

	pdu_build_nop_in(bhs, 0, 1, PDU_RESERVED_TAG, 0);
	H(bhs)->bhs_flags = 0;
	TGT(bhs, &ffp, R_F1);
	pdu_build_scsi_rsp(bhs, &ra);
	H(bhs)->bhs_flags &= (uint8_t)~PDU_FINAL;
	TGT(bhs, &ffp, R_F1);
	pdu_build_tmf_rsp(bhs, 1, TMF_RSP_COMPLETE);
	H(bhs)->bhs_flags = 0;
	TGT(bhs, &ffp, R_F1);
	pdu_build_logout_rsp(bhs, 1, LOGOUT_RSP_OK, 0, 0);
	H(bhs)->bhs_flags = 0;
	TGT(bhs, &ffp, R_F1);
	pdu_build_r2t(bhs, 0, 1, 2, 0, 0, 512);
	H(bhs)->bhs_flags = 0;
	TGT(bhs, &ffp, R_F1);
	pdu_build_async(bhs, 0, ASYNC_CONN_DROP, 0, 0, 0, 0, 0);
	H(bhs)->bhs_flags = 0;
	TGT(bhs, &ffp, R_F1);
	pdu_build_reject(bhs, REJECT_PROTOCOL_ERROR, 0, PDU_BHS_LEN);
	H(bhs)->bhs_flags = 0;
	TGT(bhs, &ffp, R_F1);
}

static void test_target_itt(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_rsp_args ra = { .itt = PDU_RESERVED_TAG };
	struct pdu_data_in_args da = { .itt = PDU_RESERVED_TAG,
				       .ttt = PDU_RESERVED_TAG };
	(void)state;

	pdu_build_async(bhs, 0, ASYNC_CONN_DROP, 0, 0, 0, 0, 0);
	H(bhs)->bhs_itt = htobe32(5);
	TGT(bhs, &ffp, R_ITT_RSVD);
	pdu_build_reject(bhs, REJECT_PROTOCOL_ERROR, 0, PDU_BHS_LEN);
	H(bhs)->bhs_itt = 0;
	TGT(bhs, &ffp, R_ITT_RSVD);

	pdu_build_scsi_rsp(bhs, &ra);
	TGT(bhs, &ffp, R_ITT_TASK);
	pdu_build_data_in(bhs, &da);
	TGT(bhs, &ffp, R_ITT_TASK);
	pdu_build_r2t(bhs, 0, PDU_RESERVED_TAG, 2, 0, 0, 512);
	TGT(bhs, &ffp, R_ITT_TASK);
	pdu_build_tmf_rsp(bhs, PDU_RESERVED_TAG, TMF_RSP_COMPLETE);
	TGT(bhs, &ffp, R_ITT_TASK);
	pdu_build_logout_rsp(bhs, PDU_RESERVED_TAG, LOGOUT_RSP_OK, 0, 0);
	TGT(bhs, &ffp, R_ITT_TASK);
	pdu_build_text_rsp(bhs, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0, true, false);
	TGT(bhs, &ffp, R_ITT_TASK);
}

/* ---- per-opcode rules, target gate ------------------------------------- */

static void test_nop_in_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	/* A window update: neither tag. */
	pdu_build_nop_in(bhs, 0, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0);
	TGT(bhs, &ffp, NULL);
	pdu_build_nop_in(bhs, 0, 1, 2, 0);
	TGT(bhs, &ffp, "NOP-In: both ITT and TTT are set");
}

static void test_scsi_rsp_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	struct pdu_scsi_rsp_args a = { .itt = 1 };
	(void)state;

	a.flags = SCSI_RSP_OVERFLOW | SCSI_RSP_UNDERFLOW;
	pdu_build_scsi_rsp(bhs, &a);
	TGT(bhs, &ffp, "SCSI Response: both overflow and underflow");
	a.flags = SCSI_RSP_BIDI_OVERFLOW | SCSI_RSP_BIDI_UNDERFLOW;
	pdu_build_scsi_rsp(bhs, &a);
	TGT(bhs, &ffp, "SCSI Response: both bidi overflow and underflow");
	a.flags = SCSI_RSP_BIDI_UNDERFLOW | SCSI_RSP_OVERFLOW;
	pdu_build_scsi_rsp(bhs, &a);
	TGT(bhs, &ffp, NULL);

	static const struct { uint8_t code; bool ok; } codes[] = {
		{ 0x00, true }, { 0x01, true }, { 0x02, false }, { 0x7f, false },
		{ 0x80, true }, { 0xff, true },
	};
	a.flags = 0;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		a.response = codes[i].code;
		pdu_build_scsi_rsp(bhs, &a);
		TGT(bhs, &ffp, codes[i].ok ? NULL :
		    "SCSI Response: reserved response code");
	}
}

static void test_tmf_rsp_rules(void **state)
{
	static const struct { unsigned code; bool ok; } codes[] = {
		{ 0, true }, { 6, true }, { 7, true }, { 8, false },
		{ 254, false }, { 255, true },
	};
	uint32_t bhs[BHS_WORDS];
	(void)state;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		pdu_build_tmf_rsp(bhs, 1, (enum tmf_response)codes[i].code);
		TGT(bhs, &ffp, codes[i].ok ? NULL :
		    "TMF Response: reserved response code");
	}
}

static void login_rsp(uint32_t *bhs, unsigned flags, uint8_t cls)
{
	struct pdu_login_rsp_args a = { .status_class = cls };

	pdu_build_login_rsp(bhs, &a);
	H(bhs)->bhs_flags = (uint8_t)flags;
}

static void test_login_rsp_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	login_rsp(bhs, 0x81, 0);                /* T, CSG 0 -> NSG 1 */
	TGT(bhs, &login, NULL);
	login_rsp(bhs, 0x83, 0);                /* T, CSG 0 -> NSG 3 */
	TGT(bhs, &login, NULL);
	login_rsp(bhs, 0x87, 0);                /* T, CSG 1 -> NSG 3 */
	TGT(bhs, &login, NULL);
	login_rsp(bhs, 0x44, 0);                /* C, CSG 1 */
	TGT(bhs, &login, NULL);
	login_rsp(bhs, 0x07, 0);                /* NSG ignored without T */
	TGT(bhs, &login, NULL);

	login_rsp(bhs, 0xc1, 0);
	TGT(bhs, &login, "Login: both T and C bits set");
	login_rsp(bhs, 0x08, 0);                /* CSG 2 */
	TGT(bhs, &login, "Login: invalid current stage");
	login_rsp(bhs, 0x0c, 0);                /* CSG 3 */
	TGT(bhs, &login, "Login: invalid current stage");
	login_rsp(bhs, 0x82, 0);                /* NSG 2 */
	TGT(bhs, &login, "Login: invalid next stage");
	login_rsp(bhs, 0x85, 0);                /* CSG 1 -> NSG 1 */
	TGT(bhs, &login, "Login: invalid next stage");
	login_rsp(bhs, 0x84, 0);                /* CSG 1 -> NSG 0 */
	TGT(bhs, &login, "Login: invalid next stage");
	login_rsp(bhs, 0x80, 0);                /* CSG 0 -> NSG 0 */
	TGT(bhs, &login, "Login: invalid next stage");

	login_rsp(bhs, 0x81, 4);
	TGT(bhs, &login, "Login Response: reserved status class");
	login_rsp(bhs, 0x81, 0);
	((struct bhs_login_rsp *)bhs)->lgnr_version_active = 1;
	TGT(bhs, &login, "Login Response: version-active is not 0");
	/* A failure's status matters more than its stage bits. */
	login_rsp(bhs, 0xca, 2);
	((struct bhs_login_rsp *)bhs)->lgnr_version_active = 1;
	TGT(bhs, &login, NULL);
	login_rsp(bhs, 0x00, 1);                /* redirect */
	TGT(bhs, &login, NULL);
	login_rsp(bhs, 0x00, 3);
	TGT(bhs, &login, NULL);
}

static void test_text_rsp_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_text_rsp(bhs, 1, 5, 0, true, true);
	TGT(bhs, &ffp, "Text Response: both C and F bits set");
	pdu_build_text_rsp(bhs, 1, PDU_RESERVED_TAG, 0, false, false);
	TGT(bhs, &ffp, "Text Response: F bit clear without a TTT");
	/* With F the TTT is to be ignored, whatever it holds. */
	pdu_build_text_rsp(bhs, 1, 5, 0, true, false);
	TGT(bhs, &ffp, NULL);
	pdu_build_text_rsp(bhs, 1, 5, 0, false, false);
	TGT(bhs, &ffp, NULL);
}

static void data_in(uint32_t *bhs, unsigned flags, uint8_t status, uint32_t ttt)
{
	struct pdu_data_in_args a = { .itt = 1, .ttt = ttt, .len = 512 };

	pdu_build_data_in(bhs, &a);
	H(bhs)->bhs_flags = (uint8_t)flags;
	((struct bhs_data_in *)bhs)->din_status = status;
}

static void test_data_in_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	const uint32_t none = PDU_RESERVED_TAG;
	(void)state;

	data_in(bhs, 0x00, 0, none);
	TGT(bhs, &ffp, NULL);
	data_in(bhs, 0x80, 0, none);
	TGT(bhs, &ffp, NULL);
	data_in(bhs, 0x81, 0x02, none);         /* F S, check condition */
	TGT(bhs, &ffp, NULL);
	data_in(bhs, 0x83, 0, none);            /* F S U */
	TGT(bhs, &ffp, NULL);
	data_in(bhs, 0x85, 0, none);            /* F S O */
	TGT(bhs, &ffp, NULL);

	data_in(bhs, 0x01, 0, none);
	TGT(bhs, &ffp, "Data-In: S bit without F bit");
	data_in(bhs, 0x87, 0, none);
	TGT(bhs, &ffp, "Data-In: both overflow and underflow");
	data_in(bhs, 0x82, 0, none);
	TGT(bhs, &ffp, "Data-In: residual flag without S bit");
	data_in(bhs, 0x04, 0, none);
	TGT(bhs, &ffp, "Data-In: residual flag without S bit");
	data_in(bhs, 0x80, 0x02, none);
	TGT(bhs, &ffp, "Data-In: status without S bit");

	data_in(bhs, 0xc0, 0, 0x10);            /* F A with a TTT */
	TGT(bhs, &ffp, NULL);
	data_in(bhs, 0xc0, 0, none);
	TGT(bhs, &ffp, "Data-In: A bit without a TTT");
}

static void test_r2t_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_r2t(bhs, 0, 1, PDU_RESERVED_TAG, 0, 0, 512);
	TGT(bhs, &ffp, "R2T: TTT is 0xffffffff");
	pdu_build_r2t(bhs, 0, 1, 2, 0, 0, 0);
	TGT(bhs, &ffp, "R2T: desired data transfer length is 0");
	pdu_build_r2t(bhs, 0, 1, 0, 0, 0, 1);
	TGT(bhs, &ffp, NULL);
}

static void test_async_rules(void **state)
{
	static const struct { unsigned ev; bool ok; } evs[] = {
		{ 0, true }, { 4, true }, { 5, false }, { 254, false },
		{ 255, true },
	};
	uint32_t bhs[BHS_WORDS];
	(void)state;

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		pdu_build_async(bhs, 0, (enum async_event)evs[i].ev, 0, 0, 0, 0, 0);
		TGT(bhs, &ffp, evs[i].ok ? NULL : "Async: reserved event code");
	}
}

static void test_logout_rsp_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_logout_rsp(bhs, 1, LOGOUT_RSP_CLEANUP_FAILED, 0, 0);
	TGT(bhs, &ffp, NULL);
	pdu_build_logout_rsp(bhs, 1, (enum logout_response)4, 0, 0);
	TGT(bhs, &ffp, "Logout Response: reserved response code");
}

static void test_reject_rules(void **state)
{
	static const struct { unsigned reason; bool ok; } rs[] = {
		{ 0x00, false }, { 0x01, false }, { 0x02, true }, { 0x0b, true },
		{ 0x0c, true }, { 0x0d, false }, { 0xff, false },
	};
	uint32_t bhs[BHS_WORDS];
	(void)state;

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		pdu_build_reject(bhs, (enum reject_reason)rs[i].reason, 0, 48);
		TGT(bhs, &ffp, rs[i].ok ? NULL : "Reject: reserved reason code");
	}
	pdu_build_reject(bhs, REJECT_PROTOCOL_ERROR, 0, 47);
	TGT(bhs, &ffp, "Reject: data segment shorter than a BHS");
	pdu_build_reject(bhs, REJECT_PROTOCOL_ERROR, 0, 0);
	TGT(bhs, &ffp, "Reject: data segment shorter than a BHS");
}

/* ---- initiator gate ---------------------------------------------------- */

static void test_initiator_builders_pass(void **state)
{
	uint32_t bhs[BHS_WORDS];
	static const uint8_t cdb[6] = { 0 };
	struct pdu_scsi_cmd_args ca = { .itt = 1, .cdb = cdb, .cdb_len = 6,
					.final = true };
	struct pdu_login_args la = { .csg = LOGIN_STAGE_OPERATIONAL,
		.nsg = LOGIN_STAGE_FULL_FEATURE, .transit = true, .len = 100 };
	(void)state;

	assert_int_equal(pdu_build_scsi_cmd(bhs, &ca), 0);   /* TEST UNIT READY */
	INI(bhs, &ffp, NULL);
	pdu_build_nop_out(bhs, 0, 1, PDU_RESERVED_TAG, 0, false);
	INI(bhs, &ffp, NULL);
	pdu_build_nop_out(bhs, 3, PDU_RESERVED_TAG, 9, 0, true);
	INI(bhs, &ffp, NULL);
	pdu_build_tmf(bhs, TMF_ABORT_TASK, 0, 2, 1, 0, 0);
	INI(bhs, &ffp, NULL);
	pdu_build_login(bhs, &la);
	INI(bhs, &login, NULL);
	pdu_build_text(bhs, 1, PDU_RESERVED_TAG, 30, false, true);
	INI(bhs, &ffp, NULL);
	pdu_build_data_out(bhs, 0, 1, 2, 0, 0, 512, true);
	INI(bhs, &ffp, NULL);
	pdu_build_logout(bhs, LOGOUT_CLOSE_SESSION, 1, 0);
	INI(bhs, &ffp, NULL);
	pdu_build_snack(bhs, SNACK_DATA_R2T, 0, 1, PDU_RESERVED_TAG, 0, 0);
	INI(bhs, &ffp, NULL);
}

static void test_initiator_generic(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_tmf(bhs, TMF_LUN_RESET, 0, 1, PDU_RESERVED_TAG, 0, 0);
	pdu_set_dsl(bhs, 4);
	INI(bhs, &ffp, R_NO_DATA);
	pdu_build_logout(bhs, LOGOUT_CLOSE_SESSION, 1, 0);
	pdu_set_dsl(bhs, 4);
	INI(bhs, &ffp, R_NO_DATA);
	pdu_build_snack(bhs, SNACK_DATA_R2T, 0, 1, PDU_RESERVED_TAG, 0, 0);
	pdu_set_dsl(bhs, 4);
	INI(bhs, &ffp, R_NO_DATA);

	pdu_build_nop_out(bhs, 0, 1, PDU_RESERVED_TAG, 0, false);
	H(bhs)->bhs_flags = 0;
	INI(bhs, &ffp, R_F1);
	pdu_build_tmf(bhs, TMF_LUN_RESET, 0, 1, PDU_RESERVED_TAG, 0, 0);
	H(bhs)->bhs_flags &= (uint8_t)~PDU_FINAL;
	INI(bhs, &ffp, R_F1);
	pdu_build_logout(bhs, LOGOUT_CLOSE_SESSION, 1, 0);
	H(bhs)->bhs_flags &= (uint8_t)~PDU_FINAL;
	INI(bhs, &ffp, R_F1);
	pdu_build_snack(bhs, SNACK_DATA_R2T, 0, 1, PDU_RESERVED_TAG, 0, 0);
	H(bhs)->bhs_flags &= (uint8_t)~PDU_FINAL;
	INI(bhs, &ffp, R_F1);

	pdu_build_tmf(bhs, TMF_LUN_RESET, 0, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0, 0);
	INI(bhs, &ffp, R_ITT_TASK);
	pdu_build_text(bhs, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0, true, false);
	INI(bhs, &ffp, R_ITT_TASK);
	pdu_build_data_out(bhs, 0, PDU_RESERVED_TAG, 2, 0, 0, 512, true);
	INI(bhs, &ffp, R_ITT_TASK);
	pdu_build_logout(bhs, LOGOUT_CLOSE_SESSION, PDU_RESERVED_TAG, 0);
	INI(bhs, &ffp, R_ITT_TASK);

	/* Data-Out and SNACK: bit 6 of byte 0 is reserved, not the I bit. */
	pdu_build_data_out(bhs, 0, 1, 2, 0, 0, 512, true);
	H(bhs)->bhs_opcode |= PDU_IMMEDIATE;
	INI(bhs, &ffp, NULL);
}

static void test_nop_out_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_nop_out(bhs, 0, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0, false);
	INI(bhs, &ffp, "NOP-Out: ITT 0xffffffff without the I bit");
	pdu_build_nop_out(bhs, 0, PDU_RESERVED_TAG, PDU_RESERVED_TAG, 0, true);
	INI(bhs, &ffp, NULL);
	pdu_build_nop_out(bhs, 0, 5, PDU_RESERVED_TAG, 100, true);
	INI(bhs, &ffp, NULL);
}

static void scsi_cmd(uint32_t *bhs, unsigned flags, uint32_t edtl, uint32_t dsl)
{
	struct pdu_scsi_cmd_args a = { .itt = 1, .edtl = edtl, .final = true,
				       .immediate_len = dsl };

	assert_int_equal(pdu_build_scsi_cmd(bhs, &a), 0);
	H(bhs)->bhs_flags = (uint8_t)flags;
}

static void test_scsi_cmd_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	scsi_cmd(bhs, 0xc1, 512, 0);            /* read */
	INI(bhs, &ffp, NULL);
	scsi_cmd(bhs, 0x21, 4096, 512);         /* write, unsolicited follows */
	INI(bhs, &ffp, NULL);
	scsi_cmd(bhs, 0xe4, 512, 512);          /* bidi, ACA */
	INI(bhs, &ffp, NULL);
	scsi_cmd(bhs, 0x80, 0, 0);              /* no data */
	INI(bhs, &ffp, NULL);

	scsi_cmd(bhs, 0x85, 0, 0);
	INI(bhs, &ffp, "SCSI Command: reserved task attribute");
	scsi_cmd(bhs, 0x87, 0, 0);
	INI(bhs, &ffp, "SCSI Command: reserved task attribute");
	scsi_cmd(bhs, 0x40, 512, 0);
	INI(bhs, &ffp, "SCSI Command: both W and F bits clear");
	scsi_cmd(bhs, 0x80, 512, 0);
	INI(bhs, &ffp, "SCSI Command: transfer length without R or W");
	scsi_cmd(bhs, 0xc0, 512, 512);
	INI(bhs, &ffp, "SCSI Command: immediate data without W bit");
	scsi_cmd(bhs, 0x80, 0, 0);
	H(bhs)->bhs_itt = PDU_RESERVED_TAG;
	INI(bhs, &ffp, R_ITT_TASK);
}

static void test_tmf_req_rules(void **state)
{
	static const struct { unsigned fn; bool ok; } fns[] = {
		{ 0, false }, { 1, true }, { 8, true }, { 12, true },
		{ 13, false }, { 0x7f, false },
	};
	uint32_t bhs[BHS_WORDS];
	(void)state;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		pdu_build_tmf(bhs, (enum tmf_function)fns[i].fn, 0, 1, 2, 0, 0);
		INI(bhs, &ffp, fns[i].ok ? NULL : "TMF Request: reserved function");
	}
}

static void login_req(uint32_t *bhs, unsigned flags)
{
	struct pdu_login_args a = { .itt = 0 };

	pdu_build_login(bhs, &a);
	H(bhs)->bhs_flags = (uint8_t)flags;
}

static void test_login_req_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	login_req(bhs, 0x81);
	INI(bhs, &login, NULL);
	login_req(bhs, 0x87);
	INI(bhs, &login, NULL);
	login_req(bhs, 0x40);
	INI(bhs, &login, NULL);

	login_req(bhs, 0x81);
	H(bhs)->bhs_opcode = PDU_OP_LOGIN_REQ;
	INI(bhs, &login, "Login Request: I bit clear");
	login_req(bhs, 0x81);
	((struct bhs_login_req *)bhs)->lgn_version_min = 1;
	INI(bhs, &login, "Login Request: version-min above version-max");
	login_req(bhs, 0xc1);
	INI(bhs, &login, "Login: both T and C bits set");
	login_req(bhs, 0x09);
	INI(bhs, &login, "Login: invalid current stage");
	login_req(bhs, 0x8e);
	INI(bhs, &login, "Login: invalid current stage");
	login_req(bhs, 0x86);
	INI(bhs, &login, "Login: invalid next stage");
	login_req(bhs, 0x84);
	INI(bhs, &login, "Login: invalid next stage");
}

static void test_text_req_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_text(bhs, 1, PDU_RESERVED_TAG, 0, true, true);
	INI(bhs, &ffp, "Text Request: both C and F bits set");
	pdu_build_text(bhs, 1, 7, 0, false, false);
	INI(bhs, &ffp, NULL);
}

static void test_logout_req_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	(void)state;

	pdu_build_logout(bhs, LOGOUT_REMOVE_FOR_RECOVERY, 1, 2);
	INI(bhs, &ffp, NULL);
	pdu_build_logout(bhs, (enum logout_reason)3, 1, 2);
	INI(bhs, &ffp, "Logout Request: reserved reason code");
}

static void test_snack_rules(void **state)
{
	uint32_t bhs[BHS_WORDS];
	const uint32_t none = PDU_RESERVED_TAG;
	(void)state;

	pdu_build_snack(bhs, SNACK_DATA_R2T, 0, 1, none, 3, 2);
	INI(bhs, &ffp, NULL);
	pdu_build_snack(bhs, SNACK_STATUS, 0, none, none, 3, 2);
	INI(bhs, &ffp, NULL);
	pdu_build_snack(bhs, SNACK_DATA_ACK, 1, none, 0x10, 4, 0);
	INI(bhs, &ffp, NULL);
	pdu_build_snack(bhs, SNACK_RDATA, 0, 1, 0x20, 0, 0);
	INI(bhs, &ffp, NULL);

	pdu_build_snack(bhs, (enum snack_type)4, 0, 1, none, 0, 0);
	INI(bhs, &ffp, "SNACK: reserved type");
	pdu_build_snack(bhs, SNACK_STATUS, 0, 1, none, 0, 0);
	INI(bhs, &ffp, "SNACK: ITT must be 0xffffffff for this type");
	pdu_build_snack(bhs, SNACK_DATA_ACK, 0, 1, 0x10, 0, 0);
	INI(bhs, &ffp, "SNACK: ITT must be 0xffffffff for this type");
	pdu_build_snack(bhs, SNACK_DATA_R2T, 0, none, none, 0, 0);
	INI(bhs, &ffp, "SNACK: ITT 0xffffffff for a data SNACK");
	pdu_build_snack(bhs, SNACK_RDATA, 0, none, 0x20, 0, 0);
	INI(bhs, &ffp, "SNACK: ITT 0xffffffff for a data SNACK");
	pdu_build_snack(bhs, SNACK_DATA_ACK, 1, none, 0x10, 4, 1);
	INI(bhs, &ffp, "SNACK: RunLength must be 0 for this type");
	pdu_build_snack(bhs, SNACK_RDATA, 0, 1, 0x20, 0, 1);
	INI(bhs, &ffp, "SNACK: RunLength must be 0 for this type");
}

/* ---- AHS walk ---------------------------------------------------------- */

static int parse(const char *hex, struct pdu_ahs_info *info, const char **why)
{
	static uint8_t buf[512];
	size_t n = hex_decode(hex, buf, sizeof(buf));

	*why = NULL;
	return pdu_parse_ahs(buf, n, info, why);
}

static void expect_ahs(const char *hex, const char *want)
{
	struct pdu_ahs_info info;
	const char *why;
	int rc = parse(hex, &info, &why);

	if (!want) {
		if (rc != 0)
			fail_msg("rejected: %s", why);
		return;
	}
	assert_int_equal(rc, -EPROTO);
	assert_string_equal(why, want);
}

static void test_ahs_parse_valid(void **state)
{
	struct pdu_ahs_info info;
	const char *why;
	(void)state;

	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(pdu_parse_ahs(NULL, 0, &info, &why), 0);
	assert_null(info.ext_cdb);
	assert_int_equal(info.ext_cdb_len, 0);
	assert_false(info.has_bidi);

	/* Bidi first, then a 2-byte extended CDB; padding is not judged. */
	assert_int_equal(parse("00050200 0000ffff 00030100 abcdeeee",
			       &info, &why), 0);
	assert_true(info.has_bidi);
	assert_int_equal(info.bidi_read_len, 0xffff);
	assert_int_equal(info.ext_cdb_len, 2);
	assert_int_equal(info.ext_cdb[0], 0xab);
	assert_int_equal(info.ext_cdb[1], 0xcd);

	/* The two high bits of AHSType are reserved. */
	assert_int_equal(parse("0005c200 12345678", &info, &why), 0);
	assert_int_equal(info.bidi_read_len, 0x12345678);
	assert_null(info.ext_cdb);
}

static void test_ahs_parse_ext_cdb_limits(void **state)
{
	uint8_t buf[256] = { 0 };
	struct pdu_ahs_info info;
	const char *why = NULL;
	(void)state;

	/* 244 extended bytes (a 260-byte CDB): AHSLength 245, 248 bytes. */
	buf[1] = 245;
	buf[2] = AHS_EXTENDED_CDB;
	assert_int_equal(pdu_parse_ahs(buf, 248, &info, &why), 0);
	assert_int_equal(info.ext_cdb_len, 244);
	assert_ptr_equal(info.ext_cdb, buf + 4);
	buf[1] = 246;
	assert_int_equal(pdu_parse_ahs(buf, 252, &info, &why), -EPROTO);
	assert_string_equal(why, "AHS: bad extended CDB length");
}

static void test_ahs_parse_malformed(void **state)
{
	(void)state;

	expect_ahs("00050200 0000", "AHS: length not a multiple of 4");
	expect_ahs("00110100 00000000", "AHS: runs past TotalAHSLength");
	expect_ahs("00050200", "AHS: runs past TotalAHSLength");
	expect_ahs("ffff0100 00000000", "AHS: runs past TotalAHSLength");
	expect_ahs("00000100", "AHS: bad extended CDB length");
	expect_ahs("00010100", "AHS: bad extended CDB length");
	expect_ahs("00040200 00000000", "AHS: bad bidi read length AHS length");
	expect_ahs("00090200 00000000 00000000", "AHS: bad bidi read length AHS length");
	expect_ahs("00020100 11000000 00020100 22000000", "AHS: extended CDB twice");
	expect_ahs("00050200 00000001 00050200 00000002", "AHS: bidi read length twice");
	expect_ahs("00010000", "AHS: unknown type");
	expect_ahs("00010300", "AHS: unknown type");
	expect_ahs("00013f00", "AHS: unknown type");
	/* A good AHS followed by zero fill is still a malformed AHS. */
	expect_ahs("00050200 00000001 00000000", "AHS: unknown type");

	struct pdu_ahs_info info;
	uint8_t bad[4] = { 0, 1, 3, 0 };
	assert_int_equal(pdu_parse_ahs(bad, 4, &info, NULL), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opcode_direction),
		cmocka_unit_test(test_reserved_bits_ignored),
		cmocka_unit_test(test_login_phase_gating),
		cmocka_unit_test(test_ahs_only_on_scsi_cmd),
		cmocka_unit_test(test_dsl_limit),
		cmocka_unit_test(test_target_no_data),
		cmocka_unit_test(test_target_f_bit_fixed),
		cmocka_unit_test(test_target_itt),
		cmocka_unit_test(test_nop_in_rules),
		cmocka_unit_test(test_scsi_rsp_rules),
		cmocka_unit_test(test_tmf_rsp_rules),
		cmocka_unit_test(test_login_rsp_rules),
		cmocka_unit_test(test_text_rsp_rules),
		cmocka_unit_test(test_data_in_rules),
		cmocka_unit_test(test_r2t_rules),
		cmocka_unit_test(test_async_rules),
		cmocka_unit_test(test_logout_rsp_rules),
		cmocka_unit_test(test_reject_rules),
		cmocka_unit_test(test_initiator_builders_pass),
		cmocka_unit_test(test_initiator_generic),
		cmocka_unit_test(test_nop_out_rules),
		cmocka_unit_test(test_scsi_cmd_rules),
		cmocka_unit_test(test_tmf_req_rules),
		cmocka_unit_test(test_login_req_rules),
		cmocka_unit_test(test_text_req_rules),
		cmocka_unit_test(test_logout_req_rules),
		cmocka_unit_test(test_snack_rules),
		cmocka_unit_test(test_ahs_parse_valid),
		cmocka_unit_test(test_ahs_parse_ext_cdb_limits),
		cmocka_unit_test(test_ahs_parse_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
