/* SPDX-License-Identifier: MIT */
/*
 * The PDUs of recovery, complete with their sequence numbers, over the
 * builders of proto/pdu.h: the four SNACK types (RFC 7143 section 11.16),
 * TASK REASSIGN (11.5), Logout of a CID from another connection (11.14),
 * and the judgment of a header whose digest failed: can the stream skip
 * over its PDU and carry on (ERL >= 1), or must the connection go?
 *
 * Each builder writes a whole 48-byte BHS at bhs (4-byte aligned, as in a
 * tx slot); nothing is kept. Pure: no I/O, no allocation.
 */
#ifndef MCSI_MCS_ERL_PDU_H
#define MCSI_MCS_ERL_PDU_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/pdu.h"

/* Data/R2T SNACK: input PDUs [begrun, begrun + runlength) of task itt
 * again (runlength 0: all from begrun). */
void erl_build_data_snack(void *bhs, uint32_t lun, uint32_t itt, uint32_t begrun,
			  uint32_t runlength, uint32_t expstatsn);

/* Status SNACK: StatSNs [begrun, begrun + runlength) again. ITT and TTT
 * are 0xffffffff, the LUN zero. */
void erl_build_status_snack(void *bhs, uint32_t begrun, uint32_t runlength,
			    uint32_t expstatsn);

/* DataACK: every Data-In below begrun arrived. ttt and lun are those of
 * the Data-In that had the A bit; ITT is 0xffffffff, RunLength 0. */
void erl_build_dataack(void *bhs, uint32_t lun, uint32_t ttt, uint32_t begrun,
		       uint32_t expstatsn);

/* R-Data SNACK: all unacknowledged Data-In of task itt again, cut for the
 * current MaxRecvDataSegmentLength; the target copies snack_tag into the
 * final SCSI Response. BegRun and RunLength are 0. Returns 0, or -EINVAL
 * for a tag of 0 or 0xffffffff (RFC 7143 11.16). */
int erl_build_rdata_snack(void *bhs, uint32_t lun, uint32_t itt,
			  uint32_t snack_tag, uint32_t expstatsn);

/* TASK REASSIGN (immediate) for task ref_itt, from TMF task itt on the
 * connection that is to take it over: lun must be the task's (LIO
 * refuses another), expdatasn from erl_din_reassign(). RefCmdSN carries
 * the task's CmdSN. cmdsn is the session's next CmdSN (not advanced),
 * expstatsn that of the sending connection. */
void erl_build_task_reassign(void *bhs, uint32_t lun, uint32_t itt,
			     uint32_t ref_itt, uint32_t ref_cmdsn,
			     uint32_t expdatasn, uint32_t cmdsn, uint32_t expstatsn);

/* Logout (immediate) of connection cid, sent on another connection of the
 * session: reason LOGOUT_CLOSE_CONNECTION or LOGOUT_REMOVE_FOR_RECOVERY.
 * ExpStatSN is the last one of the connection being logged out (RFC 7143
 * 11.14): the target discards what it acknowledges. */
void erl_build_logout_cid(void *bhs, enum logout_reason reason, uint32_t itt,
			  uint16_t cid, uint32_t cmdsn, uint32_t cid_expstatsn);

/*
 * A target PDU's header digest failed: RFC 7143 section 7.8 lets the
 * receiver skip to the next PDU if it can find it. Without markers the
 * only guide is the damaged header itself, so it is trusted only as far
 * as it is plausible: a target opcode, no AHS (targets send none), a
 * DataSegmentLength within max_recv_dsl and 0 where the opcode has no
 * data. Returns 0 and sets *skip to the bytes that follow the header
 * digest (data segment, padding, data digest if ddigest), or -EPROTO
 * (*why set) when the header cannot be trusted: close the connection.
 * The caller verifies the next header's digest before acting on it, and
 * drops the connection after two failed headers in a row.
 */
int erl_skip_len(const void *bhs, bool ddigest, uint32_t max_recv_dsl,
		 uint32_t *skip, const char **why);

#endif
