/* SPDX-License-Identifier: MIT */
/* The initiator's connection state machine against the transitions listed
 * in RFC 7143 sections 8.1.3 and 8.2, written out here independently of the
 * table in mcs/erl_conn.c: every legal (state, event) pair moves where the
 * RFC says with the expected actions, every other pair is refused and
 * leaves the state alone, and whole lives of a connection walk through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mcs/erl_conn.h"

#define GONE (ERL_CA_CLOSE | ERL_CA_RELEASE)
#define FAILED (ERL_CA_CLOSE | ERL_CA_HOLD_TASKS)

struct want {
	enum erl_cstate from;
	enum erl_cevent ev;
	enum erl_cstate to;
	const char *rfc;
	unsigned actions;
};

static const struct want legal[] = {
	{ ERL_S1_FREE, ERL_CE_CONNECT, ERL_S2_XPT_WAIT, "T1", ERL_CA_CONNECT },
	{ ERL_S2_XPT_WAIT, ERL_CE_XPT_UP, ERL_S4_IN_LOGIN, "T4", ERL_CA_LOGIN },
	{ ERL_S2_XPT_WAIT, ERL_CE_XPT_FAIL, ERL_S1_FREE, "T2", GONE },
	{ ERL_S2_XPT_WAIT, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T2", GONE },
	{ ERL_S4_IN_LOGIN, ERL_CE_LOGIN_OK, ERL_S5_LOGGED_IN, "T5", ERL_CA_FFP },
	{ ERL_S4_IN_LOGIN, ERL_CE_LOGIN_FAIL, ERL_S1_FREE, "T7", GONE },
	{ ERL_S4_IN_LOGIN, ERL_CE_XPT_FAIL, ERL_S1_FREE, "T7", GONE },
	{ ERL_S4_IN_LOGIN, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T7", GONE },
	{ ERL_S5_LOGGED_IN, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T8",
	  GONE | ERL_CA_DROP_TASKS },
	{ ERL_S5_LOGGED_IN, ERL_CE_LOGOUT_READY, ERL_S6_IN_LOGOUT, "T9",
	  ERL_CA_QUIESCE | ERL_CA_SEND_LOGOUT },
	{ ERL_S5_LOGGED_IN, ERL_CE_LOGOUT_ASKED, ERL_S7_LOGOUT_REQUESTED, "T11",
	  ERL_CA_QUIESCE },
	{ ERL_S5_LOGGED_IN, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, "T15", FAILED },
	{ ERL_S6_IN_LOGOUT, ERL_CE_LOGOUT_OK, ERL_S1_FREE, "T13",
	  GONE | ERL_CA_DROP_TASKS },
	{ ERL_S6_IN_LOGOUT, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T13",
	  GONE | ERL_CA_DROP_TASKS },
	{ ERL_S6_IN_LOGOUT, ERL_CE_LOGOUT_ASKED, ERL_S6_IN_LOGOUT, "T14", 0 },
	{ ERL_S6_IN_LOGOUT, ERL_CE_LOGOUT_FAIL, ERL_S8_CLEANUP_WAIT, "T17", FAILED },
	{ ERL_S6_IN_LOGOUT, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, "T17", FAILED },
	{ ERL_S7_LOGOUT_REQUESTED, ERL_CE_LOGOUT_READY, ERL_S6_IN_LOGOUT, "T10",
	  ERL_CA_SEND_LOGOUT },
	{ ERL_S7_LOGOUT_REQUESTED, ERL_CE_LOGOUT_ASKED, ERL_S7_LOGOUT_REQUESTED,
	  "T12", 0 },
	{ ERL_S7_LOGOUT_REQUESTED, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, "T16",
	  FAILED },
	{ ERL_S7_LOGOUT_REQUESTED, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T18",
	  GONE | ERL_CA_DROP_TASKS },
	{ ERL_S8_CLEANUP_WAIT, ERL_CE_CLEANUP_START, ERL_R2_IN_CLEANUP, "M2", 0 },
	{ ERL_S8_CLEANUP_WAIT, ERL_CE_STATE_TIMEOUT, ERL_S1_FREE, "M1",
	  ERL_CA_RELEASE | ERL_CA_DROP_TASKS },
	{ ERL_S8_CLEANUP_WAIT, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "M1",
	  ERL_CA_RELEASE | ERL_CA_DROP_TASKS },
	{ ERL_R2_IN_CLEANUP, ERL_CE_CLEANUP_OK, ERL_S1_FREE, "M4",
	  ERL_CA_RELEASE | ERL_CA_RECOVER_TASKS },
	{ ERL_R2_IN_CLEANUP, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "M4",
	  ERL_CA_RELEASE | ERL_CA_DROP_TASKS },
	{ ERL_R2_IN_CLEANUP, ERL_CE_CLEANUP_FAIL, ERL_S8_CLEANUP_WAIT, "M3", 0 },
};

static const struct want *find(enum erl_cstate st, enum erl_cevent ev)
{
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
		if (legal[i].from == st && legal[i].ev == ev)
			return &legal[i];
	return NULL;
}

/* Every pair of the whole state x event space, illegal ones included. */
static void test_every_pair(void **state)
{
	(void)state;
	unsigned nlegal = 0;

	for (unsigned s = 0; s <= ERL_CSTATE_MAX + 1; s++) {
		for (unsigned e = 0; e <= ERL_CEVENT_MAX + 1; e++) {
			enum erl_cstate st = (enum erl_cstate)s;
			struct erl_cstep step;
			const struct want *w = find(st, (enum erl_cevent)e);

			memset(&step, 0xa5, sizeof(step));
			int rc = erl_conn_step(&st, (enum erl_cevent)e, &step);
			if (!w) {
				assert_int_equal(rc, -EINVAL);
				assert_int_equal(st, s);
				continue;
			}
			nlegal++;
			assert_int_equal(rc, 0);
			assert_int_equal(st, w->to);
			assert_int_equal(step.from, w->from);
			assert_int_equal(step.to, w->to);
			assert_string_equal(step.rfc, w->rfc);
			assert_int_equal(step.actions, w->actions);
		}
	}
	assert_int_equal(nlegal, sizeof(legal) / sizeof(legal[0]));
}

/* The target-only state is never entered, and nothing leaves it. */
static void test_xpt_up_is_target_only(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++) {
		assert_int_not_equal(legal[i].to, ERL_S3_XPT_UP);
		assert_int_not_equal(legal[i].from, ERL_S3_XPT_UP);
	}
	enum erl_cstate st = ERL_S3_XPT_UP;
	assert_int_equal(erl_conn_step(&st, ERL_CE_LOGIN_OK, NULL), -EINVAL);
}

static void walk(enum erl_cstate *st, enum erl_cevent ev, enum erl_cstate to,
		 unsigned must_have)
{
	struct erl_cstep step;

	assert_int_equal(erl_conn_step(st, ev, &step), 0);
	assert_int_equal(*st, to);
	assert_int_equal(step.actions & must_have, must_have);
}

static void test_clean_life(void **state)
{
	(void)state;
	enum erl_cstate st = ERL_S1_FREE;

	walk(&st, ERL_CE_CONNECT, ERL_S2_XPT_WAIT, ERL_CA_CONNECT);
	walk(&st, ERL_CE_XPT_UP, ERL_S4_IN_LOGIN, ERL_CA_LOGIN);
	walk(&st, ERL_CE_LOGIN_OK, ERL_S5_LOGGED_IN, ERL_CA_FFP);
	/* A login event once logged in is a caller bug: refused. */
	assert_int_equal(erl_conn_step(&st, ERL_CE_LOGIN_OK, NULL), -EINVAL);
	walk(&st, ERL_CE_LOGOUT_READY, ERL_S6_IN_LOGOUT, ERL_CA_SEND_LOGOUT);
	walk(&st, ERL_CE_LOGOUT_OK, ERL_S1_FREE, GONE);
}

static void test_target_asks_for_logout(void **state)
{
	(void)state;
	enum erl_cstate st = ERL_S5_LOGGED_IN;

	walk(&st, ERL_CE_LOGOUT_ASKED, ERL_S7_LOGOUT_REQUESTED, ERL_CA_QUIESCE);
	walk(&st, ERL_CE_LOGOUT_ASKED, ERL_S7_LOGOUT_REQUESTED, 0);
	walk(&st, ERL_CE_LOGOUT_READY, ERL_S6_IN_LOGOUT, ERL_CA_SEND_LOGOUT);
	walk(&st, ERL_CE_LOGOUT_ASKED, ERL_S6_IN_LOGOUT, 0);
	/* The logout fails: the connection is treated as failed. */
	walk(&st, ERL_CE_LOGOUT_FAIL, ERL_S8_CLEANUP_WAIT, FAILED);
}

/* ERL 2: the connection dies, a Logout reason 2 (or a reinstatement
 * login) fails once, is retried and succeeds: its tasks are recovered. */
static void test_failure_and_cleanup(void **state)
{
	(void)state;
	enum erl_cstate st = ERL_S5_LOGGED_IN;
	struct erl_cstep step;

	walk(&st, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, FAILED);
	assert_int_equal(erl_conn_step(&st, ERL_CE_CLEANUP_OK, NULL), -EINVAL);
	walk(&st, ERL_CE_CLEANUP_START, ERL_R2_IN_CLEANUP, 0);
	walk(&st, ERL_CE_CLEANUP_FAIL, ERL_S8_CLEANUP_WAIT, 0);
	walk(&st, ERL_CE_CLEANUP_START, ERL_R2_IN_CLEANUP, 0);
	/* Time2Retain firing during the cleanup exchange is not an RFC
	 * transition: the exchange decides. */
	assert_int_equal(erl_conn_step(&st, ERL_CE_STATE_TIMEOUT, NULL), -EINVAL);
	assert_int_equal(erl_conn_step(&st, ERL_CE_CLEANUP_OK, &step), 0);
	assert_string_equal(step.rfc, "M4");
	assert_true(step.actions & ERL_CA_RECOVER_TASKS);
	assert_false(step.actions & ERL_CA_DROP_TASKS);
	assert_int_equal(st, ERL_S1_FREE);
}

static void test_state_timeout_drops_tasks(void **state)
{
	(void)state;
	enum erl_cstate st = ERL_S7_LOGOUT_REQUESTED;
	struct erl_cstep step;

	walk(&st, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, FAILED);
	assert_int_equal(erl_conn_step(&st, ERL_CE_STATE_TIMEOUT, &step), 0);
	assert_string_equal(step.rfc, "M1");
	assert_true(step.actions & ERL_CA_DROP_TASKS);
	assert_false(step.actions & ERL_CA_RECOVER_TASKS);
	/* A freed connection ignores late timer events. */
	assert_int_equal(erl_conn_step(&st, ERL_CE_STATE_TIMEOUT, NULL), -EINVAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(erl_cstate_name(ERL_S8_CLEANUP_WAIT), "CLEANUP_WAIT");
	assert_string_equal(erl_cstate_name(ERL_R2_IN_CLEANUP), "IN_CLEANUP");
	assert_string_equal(erl_cstate_name((enum erl_cstate)0), "?");
	assert_string_equal(erl_cstate_name((enum erl_cstate)99), "?");
	assert_string_equal(erl_cevent_name(ERL_CE_XPT_FAIL), "XPT_FAIL");
	assert_string_equal(erl_cevent_name((enum erl_cevent)99), "?");
	for (unsigned s = 1; s <= ERL_CSTATE_MAX; s++)
		assert_string_not_equal(erl_cstate_name((enum erl_cstate)s), "?");
	for (unsigned e = 1; e <= ERL_CEVENT_MAX; e++)
		assert_string_not_equal(erl_cevent_name((enum erl_cevent)e), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_xpt_up_is_target_only),
		cmocka_unit_test(test_clean_life),
		cmocka_unit_test(test_target_asks_for_logout),
		cmocka_unit_test(test_failure_and_cleanup),
		cmocka_unit_test(test_state_timeout_drops_tasks),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
