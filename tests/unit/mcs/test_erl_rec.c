/* SPDX-License-Identifier: MIT */
/* The recovery driver of one failed connection, poll by poll: Time2Wait
 * before anything, the cleanup chosen for each ERL and number of
 * survivors, back-off after a failed attempt, a refused method not asked
 * again, Time2Retain running out (M1), the replacement timeout reported
 * once, and the facts handed to erl_task_plan() after each outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "mcs/erl_rec.h"

#define S ERL_NS_PER_S
#define MS ERL_NS_PER_MS
#define T0 (5000 * S)

static struct erl_rec_cfg cfg(unsigned erl)
{
	return (struct erl_rec_cfg){
		.erl = erl, .time2wait_s = 2, .time2retain_s = 20,
		.replacement_ms = 120000, .retry_min_ms = 1000, .retry_max_ms = 8000,
		.max_reissues = 3,
	};
}

static enum erl_rec_do poll(struct erl_rec *r, uint64_t now, unsigned surv,
			    uint64_t want_when)
{
	uint64_t when = 1;
	enum erl_rec_do d = erl_rec_poll(r, now, surv, &when);

	if (want_when != UINT64_MAX)
		assert_int_equal(when, want_when);
	return d;
}

#define ANY UINT64_MAX

/* ERL 0 with other connections up: still session reinstatement (the
 * caller closes the survivors), after Time2Wait. */
static void test_erl0_with_survivors(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(0);
	struct erl_cleanup_facts f;
	int err;

	assert_int_equal(erl_rec_start(&r, &c, T0), 0);
	assert_int_equal(r.cst, ERL_S8_CLEANUP_WAIT);
	/* Time2Wait first; the nearest deadline is its end. */
	assert_int_equal(poll(&r, T0, 2, T0 + 2 * S), ERL_DO_NOTHING);
	assert_int_equal(poll(&r, T0 + 2 * S, 2, ANY), ERL_DO_REINSTATE_SESSION);
	assert_int_equal(r.cst, ERL_R2_IN_CLEANUP);
	/* In flight: only the replacement deadline remains to poll for. */
	assert_int_equal(poll(&r, T0 + 3 * S, 2, T0 + 120 * S), ERL_DO_NOTHING);
	assert_int_equal(erl_rec_result(&r, T0 + 3 * S, ERL_RES_OK, 50, &f), 0);
	assert_true(erl_rec_done(&r));
	assert_true(f.new_session);
	struct erl_task_facts t = { .scsi = true, .has_cmdsn = true, .cmdsn = 60 };
	assert_int_equal(erl_task_plan(&t, &f, &err), ERL_TA_REISSUE);
	/* Done: nothing more, ever. */
	assert_int_equal(poll(&r, T0 + 500 * S, 2, 0), ERL_DO_NOTHING);
	assert_int_equal(erl_rec_result(&r, T0 + 500 * S, ERL_RES_OK, 0, &f), -EINVAL);
}

/* ERL 2 but DefaultTime2Retain 0: nothing to reassign; the CID is closed
 * from a survivor and its commands retried (holes) or re-issued. */
static void test_erl2_nothing_retained(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(2);
	struct erl_cleanup_facts f;
	int err;

	c.time2retain_s = 0;
	erl_rec_start(&r, &c, T0);
	assert_int_equal(poll(&r, T0 + 2 * S, 1, ANY), ERL_DO_LOGOUT_CLOSE);
	assert_int_equal(erl_rec_result(&r, T0 + 3 * S, ERL_RES_OK, 50, &f), 0);
	assert_true(f.cleaned);
	assert_false(f.new_session);
	assert_false(f.tasks_kept);
	assert_int_equal(f.expcmdsn, 50);
	struct erl_task_facts t = { .scsi = true, .has_cmdsn = true, .cmdsn = 49 };
	assert_int_equal(erl_task_plan(&t, &f, &err), ERL_TA_REISSUE);
	t.cmdsn = 50;
	assert_int_equal(erl_task_plan(&t, &f, &err), ERL_TA_RETRY);
}

/* ERL 0, the only connection: session reinstatement until the target is
 * back; the replacement timeout is reported once meanwhile. */
static void test_erl0_alone(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(0);
	struct erl_cleanup_facts f;

	erl_rec_start(&r, &c, T0);
	assert_int_equal(poll(&r, T0 + 2 * S, 0, ANY), ERL_DO_REINSTATE_SESSION);
	assert_int_equal(erl_rec_result(&r, T0 + 3 * S, ERL_RES_UNREACHABLE, 0, &f), -EAGAIN);
	/* Back-off: 1 s, then 2 s, 4 s, 8 s, 8 s ... */
	assert_int_equal(poll(&r, T0 + 3 * S, 0, T0 + 4 * S), ERL_DO_NOTHING);
	uint64_t t = T0 + 4 * S;
	uint64_t gaps[] = { 2, 4, 8, 8, 8 };
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(poll(&r, t, 0, ANY), ERL_DO_REINSTATE_SESSION);
		assert_int_equal(erl_rec_result(&r, t, ERL_RES_UNREACHABLE, 0, &f), -EAGAIN);
		assert_int_equal(poll(&r, t, 0, ANY), ERL_DO_NOTHING);
		t += gaps[i] * S;
	}
	/* Past Time2Retain with no survivor: no M1, recovery goes on. */
	assert_true(t > T0 + 22 * S);
	assert_int_equal(poll(&r, T0 + 119 * S, 0, ANY), ERL_DO_REINSTATE_SESSION);
	assert_int_equal(erl_rec_result(&r, T0 + 119 * S, ERL_RES_REFUSED, 0, &f), -EAGAIN);
	assert_int_equal(poll(&r, T0 + 120 * S, 0, ANY), ERL_DO_REPLACEMENT);
	assert_int_equal(poll(&r, T0 + 121 * S, 0, ANY), ERL_DO_NOTHING);
	assert_int_equal(poll(&r, T0 + 200 * S, 0, ANY), ERL_DO_REINSTATE_SESSION);
	assert_int_equal(erl_rec_result(&r, T0 + 200 * S, ERL_RES_OK, 7, &f), 0);
	assert_true(f.new_session);
	assert_false(f.tasks_kept);
	assert_true(erl_rec_done(&r));
}

/* ERL 2 with survivors: reinstating the CID (what LIO survives); when the
 * target refuses it, Logout reason 1 from a survivor. */
static void test_erl2_reinstate_then_close(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(2);
	struct erl_cleanup_facts f;

	erl_rec_start(&r, &c, T0);
	assert_int_equal(poll(&r, T0 + 2 * S, 1, ANY), ERL_DO_REINSTATE_CONN);
	assert_int_equal(erl_rec_result(&r, T0 + 2 * S, ERL_RES_REFUSED, 0, &f), -EAGAIN);
	assert_int_equal(poll(&r, T0 + 3 * S, 1, ANY), ERL_DO_LOGOUT_CLOSE);
	assert_int_equal(erl_rec_result(&r, T0 + 3 * S, ERL_RES_OK, 9, &f), 0);
	assert_false(f.tasks_kept);
	assert_true(f.retained);
}

static void test_erl2_reinstate_ok(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(2);
	struct erl_cleanup_facts f;
	int err;

	erl_rec_start(&r, &c, T0);
	/* A transport failure is not a refusal: the same method again. */
	assert_int_equal(poll(&r, T0 + 2 * S, 1, ANY), ERL_DO_REINSTATE_CONN);
	assert_int_equal(erl_rec_result(&r, T0 + 2 * S, ERL_RES_UNREACHABLE, 0, &f), -EAGAIN);
	assert_int_equal(poll(&r, T0 + 3 * S, 1, ANY), ERL_DO_REINSTATE_CONN);
	assert_int_equal(erl_rec_result(&r, T0 + 3 * S, ERL_RES_OK, 100, &f), 0);
	assert_true(f.tasks_kept);
	assert_true(f.retained);
	struct erl_task_facts t = { .scsi = true, .has_cmdsn = true, .cmdsn = 99 };
	assert_int_equal(erl_task_plan(&t, &f, &err), ERL_TA_REASSIGN);
	t.cmdsn = 100;
	assert_int_equal(erl_task_plan(&t, &f, &err), ERL_TA_RETRY);
}

/* ERL 2, Logout reason 2 preferred; the target says "recovery not
 * supported": reinstatement next. A CID the target forgot: cleaned, but
 * nothing to reassign. */
static void test_erl2_prefer_logout(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(2);
	struct erl_cleanup_facts f;

	c.prefer_logout = true;
	erl_rec_start(&r, &c, T0);
	assert_int_equal(poll(&r, T0 + 2 * S, 3, ANY), ERL_DO_LOGOUT_RECOVERY);
	assert_int_equal(erl_rec_result(&r, T0 + 2 * S, ERL_RES_OK, 5, &f), 0);
	assert_true(f.tasks_kept);

	erl_rec_start(&r, &c, T0);
	assert_int_equal(poll(&r, T0 + 2 * S, 3, ANY), ERL_DO_LOGOUT_RECOVERY);
	assert_int_equal(erl_rec_result(&r, T0 + 2 * S, ERL_RES_REFUSED, 0, &f), -EAGAIN);
	assert_int_equal(poll(&r, T0 + 3 * S, 3, ANY), ERL_DO_REINSTATE_CONN);
	assert_int_equal(erl_rec_result(&r, T0 + 3 * S, ERL_RES_CID_UNKNOWN, 6, &f), 0);
	assert_true(f.cleaned);
	assert_false(f.tasks_kept);
}

/* ERL 2, survivors, the cleanup never gets through: at Time2Retain the
 * target has dropped the state itself (M1). */
static void test_erl2_state_timeout(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(2);
	struct erl_cleanup_facts f;
	int err;

	erl_rec_start(&r, &c, T0);
	uint64_t t = T0 + 2 * S;
	while (t < T0 + 22 * S) {
		uint64_t when = 0;
		enum erl_rec_do d = erl_rec_poll(&r, t, 1, &when);
		if (d == ERL_DO_REINSTATE_CONN)
			erl_rec_result(&r, t, ERL_RES_UNREACHABLE, 0, &f);
		else
			assert_int_equal(d, ERL_DO_NOTHING);
		assert_true(when != 0 && when <= T0 + 22 * S);
		t = when;
	}
	assert_int_equal(poll(&r, t, 1, ANY), ERL_DO_DROP_TASKS);
	assert_true(erl_rec_done(&r));
	erl_rec_drop_facts(&r, 300, &f);
	struct erl_task_facts tk = { .scsi = true, .has_cmdsn = true, .cmdsn = 299 };
	assert_int_equal(erl_task_plan(&tk, &f, &err), ERL_TA_REISSUE);
	tk.cmdsn = 300;
	assert_int_equal(erl_task_plan(&tk, &f, &err), ERL_TA_RETRY);
}

/* ERL 2 alone: continuation by reinstating the CID within Time2Retain,
 * then session reinstatement. */
static void test_erl2_alone(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(2);
	struct erl_cleanup_facts f;

	erl_rec_start(&r, &c, T0);
	assert_int_equal(poll(&r, T0 + 2 * S, 0, ANY), ERL_DO_REINSTATE_CONN);
	assert_int_equal(erl_rec_result(&r, T0 + 2 * S, ERL_RES_UNREACHABLE, 0, &f), -EAGAIN);
	assert_int_equal(poll(&r, T0 + 22 * S, 0, ANY), ERL_DO_REINSTATE_SESSION);
	assert_int_equal(erl_rec_result(&r, T0 + 22 * S, ERL_RES_OK, 1, &f), 0);
	assert_true(f.new_session);
	/* The target refused the continuation (session gone): likewise. */
	erl_rec_start(&r, &c, T0);
	assert_int_equal(poll(&r, T0 + 2 * S, 0, ANY), ERL_DO_REINSTATE_CONN);
	assert_int_equal(erl_rec_result(&r, T0 + 2 * S, ERL_RES_REFUSED, 0, &f), -EAGAIN);
	assert_int_equal(poll(&r, T0 + 3 * S, 0, ANY), ERL_DO_REINSTATE_SESSION);
}

static void test_times_restated(void **state)
{
	(void)state;
	struct erl_rec r;
	struct erl_rec_cfg c = cfg(2);

	erl_rec_start(&r, &c, T0);
	erl_rec_async(&r, T0 + S, 5, 10);       /* Async 2: wait 5 s */
	assert_int_equal(poll(&r, T0 + 3 * S, 1, T0 + 6 * S), ERL_DO_NOTHING);
	assert_int_equal(poll(&r, T0 + 6 * S, 1, ANY), ERL_DO_REINSTATE_CONN);
	/* LIO's 0/0 in a Logout Response changes nothing. */
	erl_rec_logout_times(&r, T0 + 7 * S, 0, 0);
	assert_true(erl_clock_retained(&r.clock, T0 + 15 * S));
	assert_false(erl_clock_retained(&r.clock, T0 + 16 * S));
	/* No ERL above 2. */
	c.erl = 3;
	assert_int_equal(erl_rec_start(&r, &c, T0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erl0_with_survivors),
		cmocka_unit_test(test_erl2_nothing_retained),
		cmocka_unit_test(test_erl0_alone),
		cmocka_unit_test(test_erl2_reinstate_then_close),
		cmocka_unit_test(test_erl2_reinstate_ok),
		cmocka_unit_test(test_erl2_prefer_logout),
		cmocka_unit_test(test_erl2_state_timeout),
		cmocka_unit_test(test_erl2_alone),
		cmocka_unit_test(test_times_restated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
