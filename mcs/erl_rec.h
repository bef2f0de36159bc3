/* SPDX-License-Identifier: MIT */
/*
 * The recovery of one failed connection, from CLEANUP_WAIT to done: the
 * connection state machine (erl_conn.h) in S8/R2, its clocks (erl_timer.h)
 * and the choice of cleanup (erl_task.h), driven by polls. The reactor
 * calls erl_rec_poll() when a deadline passes or the set of surviving
 * connections changes, carries out the one action it returns, and reports
 * the outcome of a cleanup exchange with erl_rec_result(); what comes back
 * from that is what erl_task_plan() needs for each of the connection's
 * tasks. With no survivors the same object drives session recovery
 * (continuation by reinstating this CID, or reinstatement of the session).
 *
 * Pure: no I/O, no clocks (now is passed in), no allocation.
 */
#ifndef MCSI_MCS_ERL_REC_H
#define MCSI_MCS_ERL_REC_H

#include <stdbool.h>
#include <stdint.h>

#include "mcs/erl_conn.h"
#include "mcs/erl_task.h"
#include "mcs/erl_timer.h"

struct erl_rec_cfg {
	unsigned erl;                    /* negotiated ErrorRecoveryLevel */
	uint32_t time2wait_s, time2retain_s;   /* negotiated */
	uint32_t replacement_ms;         /* 0: never fail I/O */
	uint32_t retry_min_ms, retry_max_ms;   /* back-off between attempts */
	bool prefer_logout;              /* ERL 2: Logout reason 2 first */
	unsigned max_reissues;           /* per task (erl_task_plan) */
};

enum erl_rec_do {
	ERL_DO_NOTHING = 0,       /* wait: *when says until when (0: an event) */
	ERL_DO_LOGOUT_CLOSE,      /* send Logout reason 1 for the CID on a
				   * surviving connection */
	ERL_DO_LOGOUT_RECOVERY,   /* send Logout reason 2 for the CID on a
				   * surviving connection */
	ERL_DO_REINSTATE_CONN,    /* log in a new TCP connection with the
				   * CID, ISID and TSIH */
	ERL_DO_REINSTATE_SESSION, /* leading login: ISID, TSIH 0; survivors
				   * (ERL < 2) are closed first, and every
				   * command is re-issued */
	ERL_DO_DROP_TASKS,        /* Time2Retain is over, nothing was cleaned
				   * up: apply erl_task_plan() with the facts
				   * erl_rec_drop_facts() gives */
	ERL_DO_REPLACEMENT,       /* the replacement timeout ran out (reported
				   * once): with no survivor, fail I/O */
};

struct erl_rec {
	struct erl_rec_cfg cfg;
	enum erl_cstate cst;             /* S8, R2, S1 (done) */
	struct erl_clock clock;
	enum erl_recovery how;           /* the attempt in flight */
	unsigned attempts;
	uint64_t next_try;               /* back-off: no attempt before */
	bool reinstate_failed, replacement_told;
};

/* The connection failed at now (its state machine took T15/T16/T17 to
 * CLEANUP_WAIT). Returns 0, or -EINVAL for an ERL above 2. */
int erl_rec_start(struct erl_rec *r, const struct erl_rec_cfg *cfg, uint64_t now);

/* Async 2/3 or a Logout Response restated Time2Wait/Time2Retain. */
void erl_rec_async(struct erl_rec *r, uint64_t now, uint16_t t2w, uint16_t t2r);
void erl_rec_logout_times(struct erl_rec *r, uint64_t now, uint16_t t2w, uint16_t t2r);

/* What to do now, given how many connections are still LOGGED_IN. A
 * returned cleanup action has been started (the state machine is in
 * IN_CLEANUP until erl_rec_result()). *when: the next deadline to poll
 * again at, 0 when only an event can change anything. */
enum erl_rec_do erl_rec_poll(struct erl_rec *r, uint64_t now, unsigned survivors,
			     uint64_t *when);

/* How the cleanup exchange started by the last poll ended. */
enum erl_rec_outcome {
	ERL_RES_OK = 1,           /* Logout Response 0, or the reinstatement
				   * login reached full feature phase */
	ERL_RES_CID_UNKNOWN,      /* Logout Response 1: the target had
				   * already forgotten the connection */
	ERL_RES_UNREACHABLE,      /* no answer: connect or transport failure,
				   * timeout; the same method again later */
	ERL_RES_REFUSED,          /* the target said no: login refused
				   * (e.g. 0x020a, the session is gone),
				   * Logout Response 2 or 3 */
};

/* Reports the outcome, with the response's ExpCmdSN for OK and
 * CID_UNKNOWN. On success fills *facts for erl_task_plan() and returns 0;
 * otherwise schedules another attempt (back-off; a refused method is not
 * tried again while another remains) and returns -EAGAIN. Returns -EINVAL
 * when no attempt is in flight. */
int erl_rec_result(struct erl_rec *r, uint64_t now, enum erl_rec_outcome res,
		   uint32_t expcmdsn, struct erl_cleanup_facts *facts);

/* After ERL_DO_DROP_TASKS: the facts for erl_task_plan(), with the
 * session's current ExpCmdSN (the holes below it are none of ours). */
void erl_rec_drop_facts(const struct erl_rec *r, uint32_t session_expcmdsn,
			struct erl_cleanup_facts *facts);

static inline bool erl_rec_done(const struct erl_rec *r)
{
	return r->cst == ERL_S1_FREE;
}

#endif
