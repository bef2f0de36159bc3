/* SPDX-License-Identifier: MIT */
/*
 * The initiator's session state machine (RFC 7143 section 8.3): Q1 FREE,
 * Q3 LOGGED_IN, Q4 FAILED and transitions N1-N5, as a transition table
 * with the actions the caller takes. Q2 ACTIVE and Q5 IN_CONTINUE are the
 * target's and never entered here. Beyond the RFC, two initiator policies
 * ride on the same table: I/O is held (not failed) while the session is
 * being recovered, and failed once the replacement timeout runs out
 * (erl_timer.h), while recovery carries on in the background.
 *
 * Pure: no I/O, no clocks, no allocation.
 */
#ifndef MCSI_MCS_ERL_SESS_H
#define MCSI_MCS_ERL_SESS_H

enum erl_sstate {
	ERL_Q1_FREE = 1,
	ERL_Q2_ACTIVE,            /* target only */
	ERL_Q3_LOGGED_IN,
	ERL_Q4_FAILED,
	ERL_Q5_IN_CONTINUE,       /* target only */
};
#define ERL_SSTATE_MAX ERL_Q5_IN_CONTINUE

enum erl_sevent {
	/* a connection of this session instance reached LOGGED_IN: the
	 * leading login (N1) or one more connection */
	ERL_SE_CONN_UP = 1,
	/* a connection left LOGGED_IN abnormally, others are still up */
	ERL_SE_CONN_LOST,
	/* the last LOGGED_IN connection failed: session failure (N3) */
	ERL_SE_LAST_CONN_LOST,
	/* a login with the session's TSIH reached LOGGED_IN while it was
	 * failed: session continuation (N5) */
	ERL_SE_CONTINUED,
	/* a leading login (TSIH 0) with the same ISID succeeded: the old
	 * instance is cleared (N4) and a new one is LOGGED_IN (N1) */
	ERL_SE_REINSTATED,
	/* graceful close (N2), or the application closed a failed session
	 * (N4) */
	ERL_SE_CLOSED,
	/* DefaultTime2Retain ran out with no connection left: the target
	 * has discarded the session (N4) */
	ERL_SE_STATE_TIMEOUT,
	/* our replacement timeout ran out (not an RFC event) */
	ERL_SE_REPLACEMENT_TIMEOUT,
};
#define ERL_SEVENT_MAX ERL_SE_REPLACEMENT_TIMEOUT

enum erl_saction {
	ERL_SA_ACCEPT_IO     = 1u << 0,  /* commands are scheduled again */
	ERL_SA_HOLD_IO       = 1u << 1,  /* new commands wait, not failed */
	ERL_SA_FAIL_IO       = 1u << 2,  /* outstanding and new commands fail */
	ERL_SA_START_CLOCKS  = 1u << 3,  /* Time2Wait, Time2Retain, replacement */
	ERL_SA_CONN_RECOVERY = 1u << 4,  /* recover the failed connection on
					  * the survivors (erl_recovery_plan) */
	ERL_SA_SESS_RECOVERY = 1u << 5,  /* recover the session: continuation
					  * at ERL 2 within Time2Retain, else
					  * reinstatement (erl_recovery_plan) */
	ERL_SA_REASSIGN      = 1u << 6,  /* the old instance's tasks continue:
					  * retry / TASK REASSIGN */
	ERL_SA_REISSUE_ALL   = 1u << 7,  /* a new instance: every outstanding
					  * command is re-issued as new */
	ERL_SA_RELEASE       = 1u << 8,  /* the session is gone */
};

struct erl_sstep {
	enum erl_sstate from, to;
	const char *rfc;                 /* "N3", "N4,N1", "-" (no RFC
					  * transition): static */
	unsigned actions;                /* enum erl_saction bits */
};

/* Applies ev to *st. Returns 0 with *st moved and *out filled (out may be
 * NULL), or -EINVAL when ev is illegal in *st (nothing changes). */
int erl_sess_step(enum erl_sstate *st, enum erl_sevent ev, struct erl_sstep *out);

const char *erl_sstate_name(enum erl_sstate st);
const char *erl_sevent_name(enum erl_sevent ev);

#endif
