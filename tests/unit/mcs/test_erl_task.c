/* SPDX-License-Identifier: MIT */
/* Recovery decisions: how a failed connection is cleaned up (every
 * combination of ERL, survivors, Time2Retain, preference and a failed
 * reinstatement), what becomes of each of its tasks (hole plugging by
 * CmdSN against the cleanup's ExpCmdSN, across serial wrap), how a TASK
 * REASSIGN response is read (RFC codes and LIO's), what each Reject asks,
 * and which sense means "issue it again". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "mcs/erl_task.h"
#include "proto/pdu.h"

/* ---- cleanup plan -------------------------------------------------------- */

static enum erl_recovery plan(unsigned erl, unsigned survivors, bool retained,
			      bool prefer_logout, bool reinstate_failed)
{
	struct erl_fail_facts f = { erl, survivors, retained, prefer_logout,
				    reinstate_failed };
	return erl_recovery_plan(&f);
}

static void test_recovery_plan_all(void **state)
{
	(void)state;
	for (unsigned erl = 0; erl <= 2; erl++)
	for (unsigned surv = 0; surv <= 2; surv++)
	for (int ret = 0; ret <= 1; ret++)
	for (int pref = 0; pref <= 1; pref++)
	for (int rfail = 0; rfail <= 1; rfail++) {
		enum erl_recovery got = plan(erl, surv, ret, pref, rfail);
		enum erl_recovery want;

		if (erl < 2)
			want = ERL_REC_SESSION_REINSTATE;
		else if (surv == 0)
			want = ret && !rfail ? ERL_REC_CONN_REINSTATE
					     : ERL_REC_SESSION_REINSTATE;
		else if (!ret)
			want = ERL_REC_LOGOUT_CLOSE;
		else if (pref)
			want = ERL_REC_LOGOUT_RECOVERY;
		else
			want = rfail ? ERL_REC_LOGOUT_CLOSE : ERL_REC_CONN_REINSTATE;
		assert_int_equal(got, want);
	}
}

static void test_recovery_plan_cases(void **state)
{
	(void)state;
	/* The issue's scenarios, spelled out. */
	assert_int_equal(plan(0, 0, true, false, false), ERL_REC_SESSION_REINSTATE);
	assert_int_equal(plan(1, 0, true, false, false), ERL_REC_SESSION_REINSTATE);
	/* ERL 0/1: session recovery even with survivors. */
	assert_int_equal(plan(0, 3, true, false, false), ERL_REC_SESSION_REINSTATE);
	assert_int_equal(plan(1, 3, true, true, false), ERL_REC_SESSION_REINSTATE);
	assert_int_equal(plan(2, 3, true, false, false), ERL_REC_CONN_REINSTATE);
	assert_int_equal(plan(2, 3, true, true, false), ERL_REC_LOGOUT_RECOVERY);
	assert_int_equal(plan(2, 0, true, true, false), ERL_REC_CONN_REINSTATE);
	assert_int_equal(plan(2, 0, false, false, false), ERL_REC_SESSION_REINSTATE);
	assert_int_equal(plan(2, 0, true, false, true), ERL_REC_SESSION_REINSTATE);
	assert_int_equal(plan(2, 1, false, true, false), ERL_REC_LOGOUT_CLOSE);
}

/* ---- per task --------------------------------------------------------------- */

static const struct erl_cleanup_facts erl2 = {
	.erl = 2, .cleaned = true, .tasks_kept = true, .retained = true,
	.expcmdsn = 100, .max_reissues = 3,
};

static struct erl_task_facts scsi(uint32_t cmdsn)
{
	return (struct erl_task_facts){ .scsi = true, .has_cmdsn = true, .cmdsn = cmdsn };
}

static enum erl_task_action tplan(struct erl_task_facts t,
				  struct erl_cleanup_facts c, int *err)
{
	*err = 0;
	return erl_task_plan(&t, &c, err);
}

static void test_task_plan_erl2(void **state)
{
	(void)state;
	int err;

	/* Below the cleanup's ExpCmdSN: the target has it: reassign. */
	assert_int_equal(tplan(scsi(99), erl2, &err), ERL_TA_REASSIGN);
	assert_int_equal(tplan(scsi(0), erl2, &err), ERL_TA_REASSIGN);
	/* At or above: a hole the target waits for: same PDU again. */
	assert_int_equal(tplan(scsi(100), erl2, &err), ERL_TA_RETRY);
	assert_int_equal(tplan(scsi(150), erl2, &err), ERL_TA_RETRY);
	/* Never took a CmdSN (window closed): just moves. */
	struct erl_task_facts t = scsi(0);
	t.has_cmdsn = false;
	assert_int_equal(tplan(t, erl2, &err), ERL_TA_MOVE);
	/* Finished: untouched. */
	t = scsi(99);
	t.done = true;
	assert_int_equal(tplan(t, erl2, &err), ERL_TA_KEEP);
	/* Cleanup not done: wait (no retry on another connection before
	 * the failed one is logged out, RFC 7143 7.2.1). */
	struct erl_cleanup_facts c = erl2;
	c.cleaned = false;
	assert_int_equal(tplan(scsi(150), c, &err), ERL_TA_WAIT);
	assert_int_equal(tplan(scsi(50), c, &err), ERL_TA_WAIT);
	/* Past Time2Retain, or a cleanup that terminated the tasks
	 * (Logout reason 1): re-issued. */
	c = erl2;
	c.retained = false;
	assert_int_equal(tplan(scsi(50), c, &err), ERL_TA_REISSUE);
	c = erl2;
	c.tasks_kept = false;
	assert_int_equal(tplan(scsi(50), c, &err), ERL_TA_REISSUE);
	assert_int_equal(tplan(scsi(100), c, &err), ERL_TA_RETRY);
}

static void test_task_plan_erl0_and_new_session(void **state)
{
	(void)state;
	int err;
	struct erl_cleanup_facts c = {
		.erl = 0, .cleaned = true, .expcmdsn = 10, .max_reissues = 2,
	};

	assert_int_equal(tplan(scsi(9), c, &err), ERL_TA_REISSUE);
	assert_int_equal(tplan(scsi(10), c, &err), ERL_TA_RETRY);
	c.erl = 1;
	assert_int_equal(tplan(scsi(9), c, &err), ERL_TA_REISSUE);
	/* A reinstated session: every command again, CmdSN irrelevant. */
	c.new_session = true;
	assert_int_equal(tplan(scsi(9), c, &err), ERL_TA_REISSUE);
	assert_int_equal(tplan(scsi(10), c, &err), ERL_TA_REISSUE);
	/* Until the budget is spent. */
	struct erl_task_facts t = scsi(9);
	t.reissues = 2;
	assert_int_equal(tplan(t, c, &err), ERL_TA_FAIL);
	assert_int_equal(err, -EIO);
	t.reissues = 1;
	assert_int_equal(tplan(t, c, &err), ERL_TA_REISSUE);
}

static void test_task_plan_fails(void **state)
{
	(void)state;
	int err;
	struct erl_task_facts t = scsi(5);

	t.aborting = true;
	assert_int_equal(tplan(t, erl2, &err), ERL_TA_FAIL);
	assert_int_equal(err, -ETIMEDOUT);
	t = (struct erl_task_facts){ .scsi = false, .has_cmdsn = true, .cmdsn = 5 };
	assert_int_equal(tplan(t, erl2, &err), ERL_TA_FAIL);
	assert_int_equal(err, -ECONNRESET);
	/* Even before cleanup: nobody waits for them. */
	struct erl_cleanup_facts c = erl2;
	c.cleaned = false;
	assert_int_equal(tplan(t, c, &err), ERL_TA_FAIL);
}

/* CmdSN compared serially: a session whose CmdSN wrapped. */
static void test_task_plan_serial(void **state)
{
	(void)state;
	int err;
	struct erl_cleanup_facts c = erl2;

	c.expcmdsn = 2;                     /* wrapped past 0xffffffff */
	assert_int_equal(tplan(scsi(0xfffffff0u), c, &err), ERL_TA_REASSIGN);
	assert_int_equal(tplan(scsi(1), c, &err), ERL_TA_REASSIGN);
	assert_int_equal(tplan(scsi(2), c, &err), ERL_TA_RETRY);
	c.expcmdsn = 0xfffffffeu;
	assert_int_equal(tplan(scsi(3), c, &err), ERL_TA_RETRY);
	assert_int_equal(tplan(scsi(0xfffffffdu), c, &err), ERL_TA_REASSIGN);
}

/* ---- TASK REASSIGN responses ---------------------------------------------- */

static void test_reassign_strict(void **state)
{
	(void)state;
	assert_int_equal(erl_reassign_next(TMF_RSP_COMPLETE, true), ERL_RN_RESUME);
	assert_int_equal(erl_reassign_next(TMF_RSP_NO_TASK, true), ERL_RN_REISSUE);
	assert_int_equal(erl_reassign_next(TMF_RSP_TASK_ALLEGIANT, true), ERL_RN_RECLEANUP);
	assert_int_equal(erl_reassign_next(TMF_RSP_NO_REASSIGN, true), ERL_RN_SESSION);
	assert_int_equal(erl_reassign_next(TMF_RSP_NOT_SUPPORTED, true), ERL_RN_SESSION);
	assert_int_equal(erl_reassign_next(TMF_RSP_REJECTED, true), ERL_RN_SESSION);
	assert_int_equal(erl_reassign_next(TMF_RSP_NO_LUN, true), ERL_RN_SESSION);
}

/* What LIO 6.1 answered in docs/design/recovery.md's experiment:
 * reassigned -> 255, unknown -> 0, still allegiant -> 2. */
static void test_reassign_tolerant(void **state)
{
	(void)state;
	assert_int_equal(erl_reassign_next(255, false), ERL_RN_PROBE);
	assert_int_equal(erl_reassign_next(0, false), ERL_RN_PROBE);
	assert_int_equal(erl_reassign_next(2, false), ERL_RN_RECLEANUP);
	/* An RFC target's codes still lead somewhere sensible. */
	assert_int_equal(erl_reassign_next(TMF_RSP_NO_TASK, false), ERL_RN_REISSUE);
	assert_int_equal(erl_reassign_next(TMF_RSP_TASK_ALLEGIANT, false), ERL_RN_RECLEANUP);
	assert_int_equal(erl_reassign_next(TMF_RSP_NO_REASSIGN, false), ERL_RN_SESSION);
	assert_int_equal(erl_reassign_next(TMF_RSP_NOT_SUPPORTED, false), ERL_RN_SESSION);
	assert_int_equal(erl_reassign_next(TMF_RSP_AUTH_FAILED, false), ERL_RN_SESSION);
	assert_int_equal(erl_reassign_next(42, false), ERL_RN_SESSION);
}

/* ---- Reject ------------------------------------------------------------------ */

static enum erl_reject_action rj(unsigned erl, uint8_t reason, uint8_t op,
				 uint8_t type, int *err)
{
	*err = 0;
	return erl_reject_plan(erl, reason, op, type, err);
}

static void test_reject(void **state)
{
	(void)state;
	int err;

	/* Digest errors: the command is retried (same CmdSN), lost
	 * Data-Out comes back through a recovery R2T, at every ERL. */
	for (unsigned erl = 0; erl <= 2; erl++) {
		assert_int_equal(rj(erl, REJECT_DIGEST_ERROR, PDU_OP_SCSI_CMD, 0, &err),
				 ERL_RJ_RETRY_CMD);
		assert_int_equal(rj(erl, REJECT_DIGEST_ERROR, PDU_OP_DATA_OUT, 0, &err),
				 ERL_RJ_WAIT_R2T);
	}
	/* The immediate bit of the rejected header is ignored. */
	assert_int_equal(rj(1, REJECT_DIGEST_ERROR, PDU_OP_SCSI_CMD | PDU_IMMEDIATE, 0, &err),
			 ERL_RJ_RETRY_CMD);
	assert_int_equal(rj(1, REJECT_DIGEST_ERROR, PDU_OP_NOP_OUT, 0, &err),
			 ERL_RJ_FAIL_TASK);
	assert_int_equal(err, -EIO);
	/* SNACKs. */
	assert_int_equal(rj(1, REJECT_SNACK_REJECT, PDU_OP_SNACK, SNACK_DATA_R2T, &err),
			 ERL_RJ_DATA_LOST);
	assert_int_equal(rj(2, REJECT_PROTOCOL_ERROR, PDU_OP_SNACK, SNACK_RDATA, &err),
			 ERL_RJ_DATA_LOST);
	assert_int_equal(rj(1, REJECT_SNACK_REJECT, PDU_OP_SNACK, SNACK_STATUS, &err),
			 ERL_RJ_CLOSE);
	assert_int_equal(rj(1, REJECT_PROTOCOL_ERROR, PDU_OP_SNACK, SNACK_DATA_ACK, &err),
			 ERL_RJ_IGNORE);
	assert_int_equal(rj(1, REJECT_INVALID_DATA_ACK, PDU_OP_SNACK, SNACK_DATA_ACK, &err),
			 ERL_RJ_IGNORE);
	assert_int_equal(rj(0, REJECT_SNACK_REJECT, PDU_OP_SNACK, SNACK_DATA_R2T, &err),
			 ERL_RJ_CLOSE);
	/* The rest as before ERL 1/2 existed. */
	assert_int_equal(rj(1, REJECT_CMD_NOT_SUPPORTED, PDU_OP_SCSI_CMD, 0, &err),
			 ERL_RJ_FAIL_TASK);
	assert_int_equal(err, -EOPNOTSUPP);
	assert_int_equal(rj(2, REJECT_INVALID_PDU_FIELD, PDU_OP_TMF_REQ, 0, &err),
			 ERL_RJ_FAIL_TASK);
	assert_int_equal(err, -EPROTO);
	assert_int_equal(rj(2, REJECT_PROTOCOL_ERROR, PDU_OP_DATA_OUT, 0, &err),
			 ERL_RJ_CLOSE);
	assert_int_equal(rj(2, REJECT_TASK_IN_PROGRESS, PDU_OP_SCSI_CMD, 0, &err),
			 ERL_RJ_IGNORE);
	assert_int_equal(rj(2, REJECT_TASK_IN_PROGRESS, PDU_OP_TMF_REQ, 0, &err),
			 ERL_RJ_FAIL_TASK);
	assert_int_equal(rj(1, REJECT_INVALID_DATA_ACK, PDU_OP_SCSI_CMD, 0, &err),
			 ERL_RJ_IGNORE);
}

static void test_sense(void **state)
{
	(void)state;
	assert_true(erl_sense_retryable(0x0b, 0x47, 0x05));
	assert_true(erl_sense_retryable(0x0b, 0x11, 0x13));
	assert_false(erl_sense_retryable(0x03, 0x11, 0x13));   /* MEDIUM ERROR */
	assert_false(erl_sense_retryable(0x0b, 0x0c, 0x0c));   /* our bug */
	assert_false(erl_sense_retryable(0x06, 0x29, 0x00));   /* UA */
	assert_false(erl_sense_retryable(0x0b, 0x47, 0x00));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recovery_plan_all),
		cmocka_unit_test(test_recovery_plan_cases),
		cmocka_unit_test(test_task_plan_erl2),
		cmocka_unit_test(test_task_plan_erl0_and_new_session),
		cmocka_unit_test(test_task_plan_fails),
		cmocka_unit_test(test_task_plan_serial),
		cmocka_unit_test(test_reassign_strict),
		cmocka_unit_test(test_reassign_tolerant),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_sense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
