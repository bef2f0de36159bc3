/* SPDX-License-Identifier: MIT */
/*
 * The initiator's rows of RFC 7143 sections 8.1.3 (standard connection
 * state diagram for an initiator) and 8.2 (connection cleanup), as data.
 * A cell with to == 0 is an illegal event for that state.
 */
#include "mcs/erl_conn.h"

#include <errno.h>
#include <stddef.h>

struct erl_crow {
	uint8_t to;
	const char *rfc;
	uint16_t actions;
};

#define ROW(st, ev, next, name, act) \
	[st][ev] = { (uint8_t)(next), name, (uint16_t)(act) }

/* A connection that is gone for good: socket closed, slot free. */
#define GONE (ERL_CA_CLOSE | ERL_CA_RELEASE)
/* A connection that failed: the socket goes, the tasks stay. */
#define FAILED (ERL_CA_CLOSE | ERL_CA_HOLD_TASKS)

static const struct erl_crow erl_ctab[ERL_CSTATE_MAX + 1][ERL_CEVENT_MAX + 1] = {
	ROW(ERL_S1_FREE, ERL_CE_CONNECT, ERL_S2_XPT_WAIT, "T1", ERL_CA_CONNECT),

	ROW(ERL_S2_XPT_WAIT, ERL_CE_XPT_UP, ERL_S4_IN_LOGIN, "T4", ERL_CA_LOGIN),
	ROW(ERL_S2_XPT_WAIT, ERL_CE_XPT_FAIL, ERL_S1_FREE, "T2", GONE),
	ROW(ERL_S2_XPT_WAIT, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T2", GONE),

	ROW(ERL_S4_IN_LOGIN, ERL_CE_LOGIN_OK, ERL_S5_LOGGED_IN, "T5", ERL_CA_FFP),
	ROW(ERL_S4_IN_LOGIN, ERL_CE_LOGIN_FAIL, ERL_S1_FREE, "T7", GONE),
	ROW(ERL_S4_IN_LOGIN, ERL_CE_XPT_FAIL, ERL_S1_FREE, "T7", GONE),
	ROW(ERL_S4_IN_LOGIN, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T7", GONE),

	ROW(ERL_S5_LOGGED_IN, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T8",
	    GONE | ERL_CA_DROP_TASKS),
	ROW(ERL_S5_LOGGED_IN, ERL_CE_LOGOUT_READY, ERL_S6_IN_LOGOUT, "T9",
	    ERL_CA_QUIESCE | ERL_CA_SEND_LOGOUT),
	ROW(ERL_S5_LOGGED_IN, ERL_CE_LOGOUT_ASKED, ERL_S7_LOGOUT_REQUESTED, "T11",
	    ERL_CA_QUIESCE),
	ROW(ERL_S5_LOGGED_IN, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, "T15", FAILED),

	ROW(ERL_S6_IN_LOGOUT, ERL_CE_LOGOUT_OK, ERL_S1_FREE, "T13",
	    GONE | ERL_CA_DROP_TASKS),
	ROW(ERL_S6_IN_LOGOUT, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T13",
	    GONE | ERL_CA_DROP_TASKS),
	ROW(ERL_S6_IN_LOGOUT, ERL_CE_LOGOUT_ASKED, ERL_S6_IN_LOGOUT, "T14", 0),
	ROW(ERL_S6_IN_LOGOUT, ERL_CE_LOGOUT_FAIL, ERL_S8_CLEANUP_WAIT, "T17", FAILED),
	ROW(ERL_S6_IN_LOGOUT, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, "T17", FAILED),

	ROW(ERL_S7_LOGOUT_REQUESTED, ERL_CE_LOGOUT_READY, ERL_S6_IN_LOGOUT, "T10",
	    ERL_CA_SEND_LOGOUT),
	ROW(ERL_S7_LOGOUT_REQUESTED, ERL_CE_LOGOUT_ASKED, ERL_S7_LOGOUT_REQUESTED,
	    "T12", 0),
	ROW(ERL_S7_LOGOUT_REQUESTED, ERL_CE_XPT_FAIL, ERL_S8_CLEANUP_WAIT, "T16",
	    FAILED),
	ROW(ERL_S7_LOGOUT_REQUESTED, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "T18",
	    GONE | ERL_CA_DROP_TASKS),

	/* Cleanup (section 8.2): S8 is R1, S1 is R3. The socket is closed
	 * already; what is left is the target's state for this CID. */
	ROW(ERL_S8_CLEANUP_WAIT, ERL_CE_CLEANUP_START, ERL_R2_IN_CLEANUP, "M2", 0),
	ROW(ERL_S8_CLEANUP_WAIT, ERL_CE_STATE_TIMEOUT, ERL_S1_FREE, "M1",
	    ERL_CA_RELEASE | ERL_CA_DROP_TASKS),
	ROW(ERL_S8_CLEANUP_WAIT, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "M1",
	    ERL_CA_RELEASE | ERL_CA_DROP_TASKS),
	ROW(ERL_R2_IN_CLEANUP, ERL_CE_CLEANUP_OK, ERL_S1_FREE, "M4",
	    ERL_CA_RELEASE | ERL_CA_RECOVER_TASKS),
	ROW(ERL_R2_IN_CLEANUP, ERL_CE_SESSION_CLOSED, ERL_S1_FREE, "M4",
	    ERL_CA_RELEASE | ERL_CA_DROP_TASKS),
	ROW(ERL_R2_IN_CLEANUP, ERL_CE_CLEANUP_FAIL, ERL_S8_CLEANUP_WAIT, "M3", 0),
};

int erl_conn_step(enum erl_cstate *st, enum erl_cevent ev, struct erl_cstep *out)
{
	const struct erl_crow *row;

	if ((unsigned)*st > ERL_CSTATE_MAX || (unsigned)ev > ERL_CEVENT_MAX)
		return -EINVAL;
	row = &erl_ctab[*st][ev];
	if (row->to == 0)
		return -EINVAL;
	if (out)
		*out = (struct erl_cstep){ *st, (enum erl_cstate)row->to, row->rfc,
					   row->actions };
	*st = (enum erl_cstate)row->to;
	return 0;
}

const char *erl_cstate_name(enum erl_cstate st)
{
	static const char *const names[ERL_CSTATE_MAX + 1] = {
		[ERL_S1_FREE] = "FREE",
		[ERL_S2_XPT_WAIT] = "XPT_WAIT",
		[ERL_S3_XPT_UP] = "XPT_UP",
		[ERL_S4_IN_LOGIN] = "IN_LOGIN",
		[ERL_S5_LOGGED_IN] = "LOGGED_IN",
		[ERL_S6_IN_LOGOUT] = "IN_LOGOUT",
		[ERL_S7_LOGOUT_REQUESTED] = "LOGOUT_REQUESTED",
		[ERL_S8_CLEANUP_WAIT] = "CLEANUP_WAIT",
		[ERL_R2_IN_CLEANUP] = "IN_CLEANUP",
	};

	return (unsigned)st <= ERL_CSTATE_MAX && names[st] ? names[st] : "?";
}

const char *erl_cevent_name(enum erl_cevent ev)
{
	static const char *const names[ERL_CEVENT_MAX + 1] = {
		[ERL_CE_CONNECT] = "CONNECT",
		[ERL_CE_XPT_UP] = "XPT_UP",
		[ERL_CE_XPT_FAIL] = "XPT_FAIL",
		[ERL_CE_LOGIN_OK] = "LOGIN_OK",
		[ERL_CE_LOGIN_FAIL] = "LOGIN_FAIL",
		[ERL_CE_LOGOUT_READY] = "LOGOUT_READY",
		[ERL_CE_LOGOUT_ASKED] = "LOGOUT_ASKED",
		[ERL_CE_LOGOUT_OK] = "LOGOUT_OK",
		[ERL_CE_LOGOUT_FAIL] = "LOGOUT_FAIL",
		[ERL_CE_SESSION_CLOSED] = "SESSION_CLOSED",
		[ERL_CE_CLEANUP_START] = "CLEANUP_START",
		[ERL_CE_CLEANUP_OK] = "CLEANUP_OK",
		[ERL_CE_CLEANUP_FAIL] = "CLEANUP_FAIL",
		[ERL_CE_STATE_TIMEOUT] = "STATE_TIMEOUT",
	};

	return (unsigned)ev <= ERL_CEVENT_MAX && names[ev] ? names[ev] : "?";
}
