/* SPDX-License-Identifier: MIT */
/*
 * The decisions of recovery, as functions of plain facts (docs/design/
 * recovery.md gives the reasons):
 *
 *  - erl_recovery_plan(): a connection failed; how is it cleaned up at the
 *    target (session reinstatement, connection reinstatement, Logout of
 *    its CID with reason 1 or 2 from a surviving connection);
 *  - erl_task_plan(): what becomes of each task it carried once that
 *    cleanup is done (retry with the same ITT and CmdSN to plug a CmdSN
 *    hole, TASK REASSIGN, re-issue as a new command, fail);
 *  - erl_reassign_next(): what a TASK REASSIGN response means, tolerating
 *    LIO's mistranslated response codes;
 *  - erl_reject_plan(): what a Reject asks of the initiator;
 *  - erl_sense_retryable(): iSCSI conditions (RFC 7143 11.4.7) after
 *    which a command is simply issued again.
 *
 * Pure: no I/O, no clocks, no allocation.
 */
#ifndef MCSI_MCS_ERL_TASK_H
#define MCSI_MCS_ERL_TASK_H

#include <stdbool.h>
#include <stdint.h>

/* ---- a failed connection ------------------------------------------------ */

enum erl_recovery {
	/* Leading login with the same ISID and TSIH 0 after Time2Wait: the
	 * target drops the old instance; every command is re-issued. Below
	 * ERL 2 the only remedy, survivors or not: the caller closes the
	 * survivors first (their tasks are re-issued too). */
	ERL_REC_SESSION_REINSTATE = 1,
	/* Login with the failed CID (same ISID and TSIH) on a new TCP
	 * connection: an implicit logout of the old one (RFC 7143 6.3.4);
	 * at ERL 2 its tasks stay reassignable. */
	ERL_REC_CONN_REINSTATE,
	/* Logout reason 2 for the CID on a surviving connection; its tasks
	 * stay reassignable (ERL 2). Crashes LIO 6.1 later: not the
	 * default. */
	ERL_REC_LOGOUT_RECOVERY,
	/* Logout reason 1 for the CID on a surviving connection (ERL 2,
	 * nothing reassignable or reinstatement refused); its tasks are
	 * terminated at the target, retried or re-issued on survivors. */
	ERL_REC_LOGOUT_CLOSE,
};

struct erl_fail_facts {
	unsigned erl;                    /* negotiated ErrorRecoveryLevel */
	unsigned survivors;              /* connections still LOGGED_IN */
	bool retained;                   /* within Time2Retain (erl_timer.h) */
	bool prefer_logout;              /* configured: Logout reason 2 first */
	bool reinstate_failed;           /* a reinstatement login of this CID
					  * was refused or timed out */
};

enum erl_recovery erl_recovery_plan(const struct erl_fail_facts *f);

/* ---- its tasks -------------------------------------------------------------- */

enum erl_task_action {
	ERL_TA_KEEP = 0,     /* finished or not affected: nothing to do */
	ERL_TA_WAIT,         /* the target is not cleaned up yet: hold it */
	ERL_TA_MOVE,         /* never took a CmdSN: queue it elsewhere as is */
	ERL_TA_RETRY,        /* the target never saw it: resend the same PDU
			      * (same ITT, CmdSN, CDB) on a live connection,
			      * which plugs the CmdSN hole (RFC 7143 7.2.1) */
	ERL_TA_REASSIGN,     /* TASK REASSIGN on a live connection */
	ERL_TA_REISSUE,      /* the target forgot it: new ITT, new CmdSN */
	ERL_TA_FAIL,         /* complete it with *err */
};

struct erl_task_facts {
	bool scsi;                       /* a SCSI command (else TMF, NOP,
					  * logout, text) */
	bool done;                       /* its completion is decided */
	bool aborting;                   /* timed out: ABORT TASK / LUN RESET
					  * under way */
	bool has_cmdsn;                  /* it took a CmdSN */
	uint32_t cmdsn;
	unsigned reissues;               /* times re-issued already */
};

struct erl_cleanup_facts {
	unsigned erl;
	bool cleaned;                    /* the CID's cleanup succeeded (M4),
					  * or the session was reinstated */
	bool new_session;                /* session reinstatement: nothing of
					  * the old instance is left */
	bool tasks_kept;                 /* the cleanup kept its tasks: ERL 2
					  * with Logout reason 2 or a
					  * reinstatement login */
	bool retained;                   /* within Time2Retain */
	uint32_t expcmdsn;               /* ExpCmdSN in the Logout Response or
					  * the reinstatement Login Response:
					  * every CmdSN below reached the
					  * target */
	unsigned max_reissues;
};

/* The action for one task of the failed connection. *err is set for
 * ERL_TA_FAIL (-ECONNRESET for control tasks, -ETIMEDOUT for a task being
 * aborted, -EIO once max_reissues is reached). */
enum erl_task_action erl_task_plan(const struct erl_task_facts *t,
				   const struct erl_cleanup_facts *c, int *err);

/* ---- TASK REASSIGN responses ----------------------------------------------- */

enum erl_reassign_next {
	ERL_RN_RESUME = 1,   /* reassigned: Data-In from ExpDataSN / R2Ts */
	ERL_RN_PROBE,        /* probably reassigned: resume, and re-issue if no
			      * PDU of the task arrives before the probe
			      * deadline */
	ERL_RN_REISSUE,      /* the target does not know the task */
	ERL_RN_RECLEANUP,    /* still allegiant to the old connection: clean
			      * it up again, then reassign */
	ERL_RN_SESSION,      /* reassignment impossible: session recovery */
};

/* response: the TMF Response code. strict: trust it as RFC 7143 11.6.1
 * defines it; otherwise tolerate LIO 6.1, which sends 255 for a task it
 * did reassign, 0 for one it does not know and 2 for one still allegiant
 * (it passes its iSCSI codes through the SCSI-layer table). */
enum erl_reassign_next erl_reassign_next(uint8_t response, bool strict);

/* ---- Reject ------------------------------------------------------------------ */

enum erl_reject_action {
	ERL_RJ_IGNORE = 1,   /* log it, nothing else */
	ERL_RJ_FAIL_TASK,    /* fail the task the rejected PDU belongs to */
	ERL_RJ_RETRY_CMD,    /* resend the command PDU (same ITT and CmdSN):
			      * the target discarded it */
	ERL_RJ_WAIT_R2T,     /* Data-Out lost: a recovery R2T or a CHECK
			      * CONDITION follows; the task waits */
	ERL_RJ_DATA_LOST,    /* a Data SNACK was refused: the data cannot come
			      * back; re-issue the command once its status
			      * has arrived */
	ERL_RJ_CLOSE,        /* unrecoverable on this connection */
};

/* reason: the Reject reason; opcode: the rejected PDU's opcode (first
 * byte of the Reject's data segment, immediate bit ignored); snack_type:
 * for a rejected SNACK, its type. *err is set for ERL_RJ_FAIL_TASK. */
enum erl_reject_action erl_reject_plan(unsigned erl, uint8_t reason,
				       uint8_t opcode, uint8_t snack_type, int *err);

/* True for CHECK CONDITION sense that reports an iSCSI transport failure
 * after which the command may simply be issued again: ABORTED COMMAND
 * with PROTOCOL SERVICE CRC ERROR (0x47/0x05) or READ ERROR - FAILED
 * RETRANSMISSION REQUEST (0x11/0x13, "SNACK rejected"). */
bool erl_sense_retryable(uint8_t sense_key, uint8_t asc, uint8_t ascq);

#endif
