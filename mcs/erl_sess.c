/* SPDX-License-Identifier: MIT */
/*
 * The initiator's rows of RFC 7143 section 8.3 (session state diagram for
 * an initiator: Q1 -N1-> Q3, Q3 -N2-> Q1, Q3 -N3-> Q4, Q4 -N4-> Q1,
 * Q4 -N5-> Q3) plus the rows that carry initiator policy ("-"). A cell
 * with to == 0 is an illegal event for that state.
 */
#include "mcs/erl_sess.h"

#include <errno.h>
#include <stdint.h>

struct erl_srow {
	uint8_t to;
	const char *rfc;
	uint16_t actions;
};

#define ROW(st, ev, next, name, act) \
	[st][ev] = { (uint8_t)(next), name, (uint16_t)(act) }

static const struct erl_srow erl_stab[ERL_SSTATE_MAX + 1][ERL_SEVENT_MAX + 1] = {
	ROW(ERL_Q1_FREE, ERL_SE_CONN_UP, ERL_Q3_LOGGED_IN, "N1", ERL_SA_ACCEPT_IO),
	/* Q1 after a state timeout, while recovery goes on: the leading
	 * login of the new instance. */
	ROW(ERL_Q1_FREE, ERL_SE_REINSTATED, ERL_Q3_LOGGED_IN, "N1",
	    ERL_SA_ACCEPT_IO | ERL_SA_REISSUE_ALL),
	ROW(ERL_Q1_FREE, ERL_SE_REPLACEMENT_TIMEOUT, ERL_Q1_FREE, "-", ERL_SA_FAIL_IO),
	ROW(ERL_Q1_FREE, ERL_SE_CLOSED, ERL_Q1_FREE, "-",
	    ERL_SA_FAIL_IO | ERL_SA_RELEASE),

	ROW(ERL_Q3_LOGGED_IN, ERL_SE_CONN_UP, ERL_Q3_LOGGED_IN, "-", 0),
	ROW(ERL_Q3_LOGGED_IN, ERL_SE_CONN_LOST, ERL_Q3_LOGGED_IN, "-",
	    ERL_SA_CONN_RECOVERY),
	ROW(ERL_Q3_LOGGED_IN, ERL_SE_LAST_CONN_LOST, ERL_Q4_FAILED, "N3",
	    ERL_SA_HOLD_IO | ERL_SA_START_CLOCKS | ERL_SA_SESS_RECOVERY),
	ROW(ERL_Q3_LOGGED_IN, ERL_SE_CLOSED, ERL_Q1_FREE, "N2", ERL_SA_RELEASE),

	ROW(ERL_Q4_FAILED, ERL_SE_CONTINUED, ERL_Q3_LOGGED_IN, "N5",
	    ERL_SA_ACCEPT_IO | ERL_SA_REASSIGN),
	ROW(ERL_Q4_FAILED, ERL_SE_REINSTATED, ERL_Q3_LOGGED_IN, "N4,N1",
	    ERL_SA_ACCEPT_IO | ERL_SA_REISSUE_ALL),
	ROW(ERL_Q4_FAILED, ERL_SE_STATE_TIMEOUT, ERL_Q1_FREE, "N4",
	    ERL_SA_HOLD_IO | ERL_SA_SESS_RECOVERY),
	ROW(ERL_Q4_FAILED, ERL_SE_REPLACEMENT_TIMEOUT, ERL_Q4_FAILED, "-",
	    ERL_SA_FAIL_IO),
	ROW(ERL_Q4_FAILED, ERL_SE_CLOSED, ERL_Q1_FREE, "N4",
	    ERL_SA_FAIL_IO | ERL_SA_RELEASE),
};

int erl_sess_step(enum erl_sstate *st, enum erl_sevent ev, struct erl_sstep *out)
{
	const struct erl_srow *row;

	if ((unsigned)*st > ERL_SSTATE_MAX || (unsigned)ev > ERL_SEVENT_MAX)
		return -EINVAL;
	row = &erl_stab[*st][ev];
	if (row->to == 0)
		return -EINVAL;
	if (out)
		*out = (struct erl_sstep){ *st, (enum erl_sstate)row->to, row->rfc,
					   row->actions };
	*st = (enum erl_sstate)row->to;
	return 0;
}

const char *erl_sstate_name(enum erl_sstate st)
{
	static const char *const names[ERL_SSTATE_MAX + 1] = {
		[ERL_Q1_FREE] = "FREE",
		[ERL_Q2_ACTIVE] = "ACTIVE",
		[ERL_Q3_LOGGED_IN] = "LOGGED_IN",
		[ERL_Q4_FAILED] = "FAILED",
		[ERL_Q5_IN_CONTINUE] = "IN_CONTINUE",
	};

	return (unsigned)st <= ERL_SSTATE_MAX && names[st] ? names[st] : "?";
}

const char *erl_sevent_name(enum erl_sevent ev)
{
	static const char *const names[ERL_SEVENT_MAX + 1] = {
		[ERL_SE_CONN_UP] = "CONN_UP",
		[ERL_SE_CONN_LOST] = "CONN_LOST",
		[ERL_SE_LAST_CONN_LOST] = "LAST_CONN_LOST",
		[ERL_SE_CONTINUED] = "CONTINUED",
		[ERL_SE_REINSTATED] = "REINSTATED",
		[ERL_SE_CLOSED] = "CLOSED",
		[ERL_SE_STATE_TIMEOUT] = "STATE_TIMEOUT",
		[ERL_SE_REPLACEMENT_TIMEOUT] = "REPLACEMENT_TIMEOUT",
	};

	return (unsigned)ev <= ERL_SEVENT_MAX && names[ev] ? names[ev] : "?";
}
