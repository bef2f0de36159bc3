/* SPDX-License-Identifier: MIT */
/* The initiator's session state machine against RFC 7143 section 8.3 (N1-N5,
 * written out here independently of mcs/erl_sess.c) plus the initiator's
 * policy rows: every pair of the state x event space, and the lives of a
 * session through failure, continuation, reinstatement and the replacement
 * timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mcs/erl_sess.h"

struct want {
	enum erl_sstate from;
	enum erl_sevent ev;
	enum erl_sstate to;
	const char *rfc;
	unsigned actions;
};

static const struct want legal[] = {
	{ ERL_Q1_FREE, ERL_SE_CONN_UP, ERL_Q3_LOGGED_IN, "N1", ERL_SA_ACCEPT_IO },
	{ ERL_Q1_FREE, ERL_SE_REINSTATED, ERL_Q3_LOGGED_IN, "N1",
	  ERL_SA_ACCEPT_IO | ERL_SA_REISSUE_ALL },
	{ ERL_Q1_FREE, ERL_SE_REPLACEMENT_TIMEOUT, ERL_Q1_FREE, "-", ERL_SA_FAIL_IO },
	{ ERL_Q1_FREE, ERL_SE_CLOSED, ERL_Q1_FREE, "-", ERL_SA_FAIL_IO | ERL_SA_RELEASE },
	{ ERL_Q3_LOGGED_IN, ERL_SE_CONN_UP, ERL_Q3_LOGGED_IN, "-", 0 },
	{ ERL_Q3_LOGGED_IN, ERL_SE_CONN_LOST, ERL_Q3_LOGGED_IN, "-",
	  ERL_SA_CONN_RECOVERY },
	{ ERL_Q3_LOGGED_IN, ERL_SE_LAST_CONN_LOST, ERL_Q4_FAILED, "N3",
	  ERL_SA_HOLD_IO | ERL_SA_START_CLOCKS | ERL_SA_SESS_RECOVERY },
	{ ERL_Q3_LOGGED_IN, ERL_SE_CLOSED, ERL_Q1_FREE, "N2", ERL_SA_RELEASE },
	{ ERL_Q4_FAILED, ERL_SE_CONTINUED, ERL_Q3_LOGGED_IN, "N5",
	  ERL_SA_ACCEPT_IO | ERL_SA_REASSIGN },
	{ ERL_Q4_FAILED, ERL_SE_REINSTATED, ERL_Q3_LOGGED_IN, "N4,N1",
	  ERL_SA_ACCEPT_IO | ERL_SA_REISSUE_ALL },
	{ ERL_Q4_FAILED, ERL_SE_STATE_TIMEOUT, ERL_Q1_FREE, "N4",
	  ERL_SA_HOLD_IO | ERL_SA_SESS_RECOVERY },
	{ ERL_Q4_FAILED, ERL_SE_REPLACEMENT_TIMEOUT, ERL_Q4_FAILED, "-",
	  ERL_SA_FAIL_IO },
	{ ERL_Q4_FAILED, ERL_SE_CLOSED, ERL_Q1_FREE, "N4",
	  ERL_SA_FAIL_IO | ERL_SA_RELEASE },
};

static const struct want *find(enum erl_sstate st, enum erl_sevent ev)
{
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
		if (legal[i].from == st && legal[i].ev == ev)
			return &legal[i];
	return NULL;
}

static void test_every_pair(void **state)
{
	(void)state;
	unsigned nlegal = 0;

	for (unsigned s = 0; s <= ERL_SSTATE_MAX + 1; s++) {
		for (unsigned e = 0; e <= ERL_SEVENT_MAX + 1; e++) {
			enum erl_sstate st = (enum erl_sstate)s;
			struct erl_sstep step;
			const struct want *w = find(st, (enum erl_sevent)e);
			int rc = erl_sess_step(&st, (enum erl_sevent)e, &step);

			if (!w) {
				assert_int_equal(rc, -EINVAL);
				assert_int_equal(st, s);
				continue;
			}
			nlegal++;
			assert_int_equal(rc, 0);
			assert_int_equal(st, w->to);
			assert_int_equal(step.from, w->from);
			assert_string_equal(step.rfc, w->rfc);
			assert_int_equal(step.actions, w->actions);
		}
	}
	assert_int_equal(nlegal, sizeof(legal) / sizeof(legal[0]));
}

static void test_target_states_unreachable(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++) {
		assert_true(legal[i].to != ERL_Q2_ACTIVE && legal[i].to != ERL_Q5_IN_CONTINUE);
		assert_true(legal[i].from != ERL_Q2_ACTIVE && legal[i].from != ERL_Q5_IN_CONTINUE);
	}
}

static unsigned step(enum erl_sstate *st, enum erl_sevent ev, enum erl_sstate to)
{
	struct erl_sstep s;

	assert_int_equal(erl_sess_step(st, ev, &s), 0);
	assert_int_equal(*st, to);
	return s.actions;
}

/* ERL 2, MC/S: one connection goes (recovered on the others), then the
 * last one: I/O is held, continuation brings the old tasks back. */
static void test_continuation(void **state)
{
	(void)state;
	enum erl_sstate st = ERL_Q1_FREE;

	assert_true(step(&st, ERL_SE_CONN_UP, ERL_Q3_LOGGED_IN) & ERL_SA_ACCEPT_IO);
	assert_int_equal(step(&st, ERL_SE_CONN_UP, ERL_Q3_LOGGED_IN), 0);
	assert_int_equal(step(&st, ERL_SE_CONN_LOST, ERL_Q3_LOGGED_IN),
			 ERL_SA_CONN_RECOVERY);
	unsigned a = step(&st, ERL_SE_LAST_CONN_LOST, ERL_Q4_FAILED);
	assert_true(a & ERL_SA_HOLD_IO);
	assert_false(a & ERL_SA_FAIL_IO);
	/* A plain CONN_UP while failed would mean a login outside recovery. */
	assert_int_equal(erl_sess_step(&st, ERL_SE_CONN_UP, NULL), -EINVAL);
	a = step(&st, ERL_SE_CONTINUED, ERL_Q3_LOGGED_IN);
	assert_true(a & ERL_SA_REASSIGN);
	assert_false(a & ERL_SA_REISSUE_ALL);
}

/* ERL 0: the target stays away past the replacement timeout (I/O fails,
 * recovery goes on), then past Time2Retain, then comes back: a new
 * instance, everything re-issued, I/O accepted again. */
static void test_replacement_timeout_then_reinstatement(void **state)
{
	(void)state;
	enum erl_sstate st = ERL_Q3_LOGGED_IN;

	step(&st, ERL_SE_LAST_CONN_LOST, ERL_Q4_FAILED);
	assert_int_equal(step(&st, ERL_SE_REPLACEMENT_TIMEOUT, ERL_Q4_FAILED),
			 ERL_SA_FAIL_IO);
	unsigned a = step(&st, ERL_SE_STATE_TIMEOUT, ERL_Q1_FREE);
	assert_true(a & ERL_SA_SESS_RECOVERY);
	assert_int_equal(step(&st, ERL_SE_REPLACEMENT_TIMEOUT, ERL_Q1_FREE),
			 ERL_SA_FAIL_IO);
	a = step(&st, ERL_SE_REINSTATED, ERL_Q3_LOGGED_IN);
	assert_int_equal(a, ERL_SA_ACCEPT_IO | ERL_SA_REISSUE_ALL);
	/* Continuation is only for a failed instance. */
	assert_int_equal(erl_sess_step(&st, ERL_SE_CONTINUED, NULL), -EINVAL);
}

static void test_close(void **state)
{
	(void)state;
	enum erl_sstate st = ERL_Q3_LOGGED_IN;
	struct erl_sstep s;

	assert_int_equal(erl_sess_step(&st, ERL_SE_CLOSED, &s), 0);
	assert_string_equal(s.rfc, "N2");
	assert_int_equal(s.actions, ERL_SA_RELEASE);
	st = ERL_Q4_FAILED;
	assert_int_equal(erl_sess_step(&st, ERL_SE_CLOSED, &s), 0);
	assert_string_equal(s.rfc, "N4");
	assert_true(s.actions & ERL_SA_FAIL_IO);
}

static void test_names(void **state)
{
	(void)state;
	for (unsigned s = 1; s <= ERL_SSTATE_MAX; s++)
		assert_string_not_equal(erl_sstate_name((enum erl_sstate)s), "?");
	for (unsigned e = 1; e <= ERL_SEVENT_MAX; e++)
		assert_string_not_equal(erl_sevent_name((enum erl_sevent)e), "?");
	assert_string_equal(erl_sstate_name(ERL_Q4_FAILED), "FAILED");
	assert_string_equal(erl_sevent_name(ERL_SE_CONTINUED), "CONTINUED");
	assert_string_equal(erl_sstate_name((enum erl_sstate)0), "?");
	assert_string_equal(erl_sevent_name((enum erl_sevent)42), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_target_states_unreachable),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_replacement_timeout_then_reinstatement),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
