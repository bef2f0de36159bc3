/* SPDX-License-Identifier: MIT */
#include "mcs/erl_task.h"

#include <errno.h>

#include "proto/pdu.h"
#include "proto/serial.h"

enum erl_recovery erl_recovery_plan(const struct erl_fail_facts *f)
{
	/* Below ERL 2 a connection failure has one remedy, session
	 * recovery (RFC 7143 section 7, the recovery hierarchy): the survivors are closed too and
	 * every command is re-issued on the new instance. Keeping them
	 * would leave the failed connection's CmdSN holes unplugged. */
	if (f->erl < 2)
		return ERL_REC_SESSION_REINSTATE;
	if (f->survivors == 0)
		/* Session continuation: a login with the old TSIH. */
		return f->retained && !f->reinstate_failed ? ERL_REC_CONN_REINSTATE
							   : ERL_REC_SESSION_REINSTATE;
	if (!f->retained)
		/* Nothing left to reassign: close the CID from a survivor,
		 * retry or re-issue there. */
		return ERL_REC_LOGOUT_CLOSE;
	if (f->prefer_logout)
		return ERL_REC_LOGOUT_RECOVERY;
	/* Reinstating the CID cleans up and replaces the connection in
	 * one step, and is the ERL 2 cleanup that LIO survives; when it is
	 * refused (LIO counts the dead connection against MaxConnections:
	 * 0x0206), a reason-1 logout still works there. */
	return f->reinstate_failed ? ERL_REC_LOGOUT_CLOSE : ERL_REC_CONN_REINSTATE;
}

static enum erl_task_action reissue_or_fail(const struct erl_task_facts *t,
					    const struct erl_cleanup_facts *c, int *err)
{
	if (t->reissues >= c->max_reissues) {
		*err = -EIO;
		return ERL_TA_FAIL;
	}
	return ERL_TA_REISSUE;
}

enum erl_task_action erl_task_plan(const struct erl_task_facts *t,
				   const struct erl_cleanup_facts *c, int *err)
{
	if (t->done)
		return ERL_TA_KEEP;
	if (!t->scsi) {
		/* A TMF, ping or logout of a dead connection means nothing
		 * on another one: its requester decides again. */
		*err = -ECONNRESET;
		return ERL_TA_FAIL;
	}
	if (t->aborting) {
		*err = -ETIMEDOUT;
		return ERL_TA_FAIL;
	}
	if (!c->cleaned)
		return ERL_TA_WAIT;
	if (!t->has_cmdsn)
		return ERL_TA_MOVE;
	if (c->new_session)
		return reissue_or_fail(t, c, err);
	/* The target discarded what it had not acknowledged by ExpCmdSN
	 * (RFC 7143 11.14): that CmdSN is a hole it waits for. */
	if (sn_ge(t->cmdsn, c->expcmdsn))
		return ERL_TA_RETRY;
	if (c->erl >= 2 && c->tasks_kept && c->retained)
		return ERL_TA_REASSIGN;
	return reissue_or_fail(t, c, err);
}

enum erl_reassign_next erl_reassign_next(uint8_t response, bool strict)
{
	if (strict) {
		switch (response) {
		case TMF_RSP_COMPLETE: return ERL_RN_RESUME;
		case TMF_RSP_NO_TASK: return ERL_RN_REISSUE;
		case TMF_RSP_TASK_ALLEGIANT: return ERL_RN_RECLEANUP;
		default: return ERL_RN_SESSION;
		}
	}
	switch (response) {
	case TMF_RSP_COMPLETE:           /* LIO: "no such task" */
	case TMF_RSP_REJECTED:           /* LIO: "reassigned" */
		return ERL_RN_PROBE;
	case TMF_RSP_NO_TASK:
		return ERL_RN_REISSUE;
	case TMF_RSP_NO_LUN:             /* LIO: "still allegiant" */
	case TMF_RSP_TASK_ALLEGIANT:
		return ERL_RN_RECLEANUP;
	default:
		return ERL_RN_SESSION;
	}
}

static enum erl_reject_action reject_snack(unsigned erl, uint8_t reason,
					   uint8_t snack_type)
{
	if (erl == 0)
		return ERL_RJ_CLOSE;         /* we never send one at ERL 0 */
	if (reason == REJECT_INVALID_DATA_ACK || snack_type == SNACK_DATA_ACK)
		return ERL_RJ_IGNORE;        /* it only frees target memory */
	switch (snack_type) {
	case SNACK_DATA_R2T:
	case SNACK_RDATA:
		return ERL_RJ_DATA_LOST;
	default:
		/* A status that cannot come back: only connection
		 * recovery brings the task's outcome back. */
		return ERL_RJ_CLOSE;
	}
}

enum erl_reject_action erl_reject_plan(unsigned erl, uint8_t reason,
				       uint8_t opcode, uint8_t snack_type, int *err)
{
	opcode &= PDU_OPCODE_MASK;
	if (opcode == PDU_OP_SNACK)
		return reject_snack(erl, reason, snack_type);
	switch (reason) {
	case REJECT_DIGEST_ERROR:
		switch (opcode) {
		case PDU_OP_SCSI_CMD:
			/* Immediate data damaged: the command was dropped
			 * and its CmdSN is a hole (RFC 7143 7.8). */
			return ERL_RJ_RETRY_CMD;
		case PDU_OP_DATA_OUT:
			return ERL_RJ_WAIT_R2T;
		default:
			*err = -EIO;
			return ERL_RJ_FAIL_TASK;
		}
	case REJECT_INVALID_DATA_ACK:
		return ERL_RJ_IGNORE;
	case REJECT_TASK_IN_PROGRESS:
		if (opcode == PDU_OP_SCSI_CMD)
			return ERL_RJ_IGNORE;    /* a retry; the original runs */
		break;
	case REJECT_CMD_NOT_SUPPORTED:
		*err = -EOPNOTSUPP;
		return ERL_RJ_FAIL_TASK;
	default:
		break;
	}
	if (opcode == PDU_OP_DATA_OUT)
		return ERL_RJ_CLOSE;         /* data gone, nobody asks again */
	*err = -EPROTO;
	return ERL_RJ_FAIL_TASK;
}

#define SENSE_ABORTED_COMMAND 0x0bu

bool erl_sense_retryable(uint8_t sense_key, uint8_t asc, uint8_t ascq)
{
	if (sense_key != SENSE_ABORTED_COMMAND)
		return false;
	return (asc == 0x47 && ascq == 0x05) || (asc == 0x11 && ascq == 0x13);
}
