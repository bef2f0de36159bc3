/* SPDX-License-Identifier: MIT */
/*
 * Static names of wire code values, for log lines. Tables indexed by code;
 * a hole or an index past the end reads as "unknown".
 */
#include "proto/pdu.h"

#define UNKNOWN "unknown"

static const char *lookup(const char *const *table, size_t n, unsigned code)
{
	return code < n && table[code] ? table[code] : UNKNOWN;
}

#define LOOKUP(table, code) lookup(table, sizeof(table) / sizeof(table[0]), code)

static const char *const opcode_names[64] = {
	[PDU_OP_NOP_OUT]    = "NOP-Out",
	[PDU_OP_SCSI_CMD]   = "SCSI Command",
	[PDU_OP_TMF_REQ]    = "Task Management Request",
	[PDU_OP_LOGIN_REQ]  = "Login Request",
	[PDU_OP_TEXT_REQ]   = "Text Request",
	[PDU_OP_DATA_OUT]   = "SCSI Data-Out",
	[PDU_OP_LOGOUT_REQ] = "Logout Request",
	[PDU_OP_SNACK]      = "SNACK Request",
	[0x1c] = "vendor-specific initiator opcode",
	[0x1d] = "vendor-specific initiator opcode",
	[0x1e] = "vendor-specific initiator opcode",
	[PDU_OP_NOP_IN]     = "NOP-In",
	[PDU_OP_SCSI_RSP]   = "SCSI Response",
	[PDU_OP_TMF_RSP]    = "Task Management Response",
	[PDU_OP_LOGIN_RSP]  = "Login Response",
	[PDU_OP_TEXT_RSP]   = "Text Response",
	[PDU_OP_DATA_IN]    = "SCSI Data-In",
	[PDU_OP_LOGOUT_RSP] = "Logout Response",
	[PDU_OP_R2T]        = "Ready To Transfer",
	[PDU_OP_ASYNC]      = "Asynchronous Message",
	[0x3c] = "vendor-specific target opcode",
	[0x3d] = "vendor-specific target opcode",
	[0x3e] = "vendor-specific target opcode",
	[PDU_OP_REJECT]     = "Reject",
};

const char *pdu_opcode_name(unsigned opcode)
{
	if (opcode > 0xffu)
		return UNKNOWN;
	return LOOKUP(opcode_names, opcode & PDU_OPCODE_MASK);
}

static const char *const reject_names[] = {
	[REJECT_DIGEST_ERROR]        = "data digest error",
	[REJECT_SNACK_REJECT]        = "SNACK reject",
	[REJECT_PROTOCOL_ERROR]      = "protocol error",
	[REJECT_CMD_NOT_SUPPORTED]   = "command not supported",
	[REJECT_IMMEDIATE_REJECTED]  = "immediate command rejected",
	[REJECT_TASK_IN_PROGRESS]    = "task in progress",
	[REJECT_INVALID_DATA_ACK]    = "invalid data ack",
	[REJECT_INVALID_PDU_FIELD]   = "invalid PDU field",
	[REJECT_OUT_OF_RESOURCES]    = "out of resources",
	[REJECT_NEGOTIATION_RESET]   = "negotiation reset",
	[REJECT_WAITING_FOR_LOGOUT]  = "waiting for logout",
};

const char *pdu_reject_reason_name(unsigned reason)
{
	return LOOKUP(reject_names, reason);
}

static const char *const tmf_response_names[] = {
	[TMF_RSP_COMPLETE]       = "function complete",
	[TMF_RSP_NO_TASK]        = "task does not exist",
	[TMF_RSP_NO_LUN]         = "LUN does not exist",
	[TMF_RSP_TASK_ALLEGIANT] = "task still allegiant",
	[TMF_RSP_NO_REASSIGN]    = "task allegiance reassignment not supported",
	[TMF_RSP_NOT_SUPPORTED]  = "function not supported",
	[TMF_RSP_AUTH_FAILED]    = "function authorization failed",
	[TMF_RSP_SUCCEEDED]      = "function succeeded",
};

const char *pdu_tmf_response_name(unsigned response)
{
	if (response == TMF_RSP_REJECTED)
		return "function rejected";
	return LOOKUP(tmf_response_names, response);
}

static const char *const async_event_names[] = {
	[ASYNC_SCSI_EVENT]     = "SCSI asynchronous event",
	[ASYNC_LOGOUT_REQUEST] = "logout requested",
	[ASYNC_CONN_DROP]      = "connection will be dropped",
	[ASYNC_SESSION_DROP]   = "all connections will be dropped",
	[ASYNC_RENEGOTIATE]    = "parameter negotiation requested",
};

const char *pdu_async_event_name(unsigned event)
{
	if (event == ASYNC_VENDOR)
		return "vendor-specific event";
	return LOOKUP(async_event_names, event);
}
