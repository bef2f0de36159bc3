/* SPDX-License-Identifier: MIT */
/*
 * The initiator's connection state machine: RFC 7143 section 8.1 (standard
 * connection states S1-S8, transitions T1-T18) and section 8.2 (connection
 * cleanup: R1 = S8 CLEANUP_WAIT, R2 IN_CLEANUP, R3 = S1 FREE, transitions
 * M1-M4), as one transition table. An event either moves the connection,
 * naming the RFC transition and the actions the caller must take, or is
 * illegal in that state (-EINVAL; the caller ignores it and may log it).
 * docs/design/recovery.md says which code raises each event.
 *
 * Pure: no I/O, no clocks, no allocation.
 */
#ifndef MCSI_MCS_ERL_CONN_H
#define MCSI_MCS_ERL_CONN_H

#include <stdint.h>

enum erl_cstate {
	ERL_S1_FREE = 1,
	ERL_S2_XPT_WAIT,          /* TCP connect in progress */
	ERL_S3_XPT_UP,            /* target only: never entered by an initiator */
	ERL_S4_IN_LOGIN,
	ERL_S5_LOGGED_IN,         /* full feature phase */
	ERL_S6_IN_LOGOUT,         /* Logout sent, waiting for its response */
	ERL_S7_LOGOUT_REQUESTED,  /* target asked for a logout (Async 1) */
	ERL_S8_CLEANUP_WAIT,      /* failed; = R1 of the cleanup diagram */
	ERL_R2_IN_CLEANUP,        /* Logout for it / reinstatement login sent */
};
#define ERL_CSTATE_MAX ERL_R2_IN_CLEANUP

enum erl_cevent {
	/* the caller starts a TCP connect (T1) */
	ERL_CE_CONNECT = 1,
	/* the TCP connection is up (T4) */
	ERL_CE_XPT_UP,
	/* the transport failed: connect error or timeout, reset, peer
	 * closed, send/receive error, NOP-Out ping unanswered, Async 2 or 3
	 * for this connection, or a defect we close the connection for
	 * (T2, T7, T15, T16, T17) */
	ERL_CE_XPT_FAIL,
	/* final Login Response with status class 0 (T5) */
	ERL_CE_LOGIN_OK,
	/* Login refused or timed out (T7) */
	ERL_CE_LOGIN_FAIL,
	/* ready to log out: Logout goes out now (T9, T10) */
	ERL_CE_LOGOUT_READY,
	/* Async 1, the target asks for a logout (T11, T12, T14) */
	ERL_CE_LOGOUT_ASKED,
	/* Logout Response 0 for this connection (T13) */
	ERL_CE_LOGOUT_OK,
	/* Logout Response != 0, or no response in time (T17) */
	ERL_CE_LOGOUT_FAIL,
	/* a "close the session" Logout succeeded on another connection, or
	 * the session was reinstated: nothing of this connection is left at
	 * the target (T2, T7, T8, T13, T18, M1, M4) */
	ERL_CE_SESSION_CLOSED,
	/* cleanup started for this failed CID: Logout (reason 1 or 2) sent
	 * on another connection, or a reinstatement login with this CID
	 * started (M2) */
	ERL_CE_CLEANUP_START,
	/* that Logout succeeded, or the reinstatement login reached full
	 * feature phase (M4) */
	ERL_CE_CLEANUP_OK,
	/* it failed or timed out (M3) */
	ERL_CE_CLEANUP_FAIL,
	/* connection state timeout: DefaultTime2Retain ran out (M1) */
	ERL_CE_STATE_TIMEOUT,
};
#define ERL_CEVENT_MAX ERL_CE_STATE_TIMEOUT

/* What the caller does after a transition (bits, in this order). */
enum erl_caction {
	ERL_CA_CONNECT       = 1u << 0,  /* start the TCP connect */
	ERL_CA_LOGIN         = 1u << 1,  /* send the first Login request */
	ERL_CA_FFP           = 1u << 2,  /* the connection may carry commands */
	ERL_CA_QUIESCE       = 1u << 3,  /* no new commands here; those in
					  * flight finish */
	ERL_CA_SEND_LOGOUT   = 1u << 4,  /* Logout (reason 0 or 1) on it */
	ERL_CA_CLOSE         = 1u << 5,  /* close the socket */
	ERL_CA_HOLD_TASKS    = 1u << 6,  /* keep its tasks (and their data)
					  * for recovery; start the clocks
					  * (erl_timer.h) */
	ERL_CA_RECOVER_TASKS = 1u << 7,  /* the target cleaned up: apply
					  * erl_task_plan() to its tasks */
	ERL_CA_DROP_TASKS    = 1u << 8,  /* the target kept nothing: what is
					  * left is re-issued or failed */
	ERL_CA_RELEASE       = 1u << 9,  /* free the slot and the CID */
};

struct erl_cstep {
	enum erl_cstate from, to;
	const char *rfc;                 /* "T15", "M4", ...: static */
	unsigned actions;                /* enum erl_caction bits */
};

/* Applies ev to *st. Returns 0 with *st moved and *out filled, or -EINVAL
 * when ev is illegal in *st (nothing changes; out is untouched). out may
 * be NULL. */
int erl_conn_step(enum erl_cstate *st, enum erl_cevent ev, struct erl_cstep *out);

/* Static names for logs ("LOGGED_IN", "XPT_FAIL"); "?" when out of range. */
const char *erl_cstate_name(enum erl_cstate st);
const char *erl_cevent_name(enum erl_cevent ev);

#endif
