/* SPDX-License-Identifier: MIT */
/*
 * Fault injection. Rules come from the control socket or a script file
 * (same line protocol, docs/testtarget.md) and are checked by the
 * connection threads at fixed points: before a PDU is queued for sending
 * (fault_tx), when a PDU arrives (fault_rx), at login (fault_login), and
 * once per loop turn for one-shot actions such as "send an Async now"
 * (fault_poll). All state is in struct tt_faults under its own mutex.
 */
#ifndef TT_FAULTS_H
#define TT_FAULTS_H

#include "target.h"

struct fault_tx {
	bool drop_before, drop_after;
	bool corrupt_hd, corrupt_dd;
	uint32_t delay_ms;
	uint32_t truncate_hdr;        /* send only this many header bytes */
	uint32_t extra_len;           /* overlong: zeros beyond the data */
};

/* DISCARD: handle the PDU as if its header digest had failed (ERL >= 1:
 * dropped without a word; ERL 0: the connection closes). */
enum fault_rx_action { FAULT_RX_NONE, FAULT_RX_DROP, FAULT_RX_REJECT, FAULT_RX_DISCARD };

/* Creates the fault state. Returns NULL on allocation failure. */
struct tt_faults *fault_create(void);
void fault_destroy(struct tt_faults *f);

/* Applies one command line of the protocol. Writes a one-line answer
 * (starting "ok" or "err") to out. srv is needed for commands that act on
 * LUNs and connections. Returns 0 or -EINVAL. */
int fault_command(struct tt_server *srv, const char *line, char *out, size_t cap);

/* Loads a script: one command per line, '#' comments. Returns 0 or
 * -errno (with the failing line number in *lineno). */
int fault_load_script(struct tt_server *srv, const char *path, unsigned *lineno);

/* Send path: may edit hdr (malformed-PDU rules) and fills *out. */
void fault_tx(struct tt_conn *c, uint8_t *hdr, uint32_t len, struct fault_tx *out);
/* Receive path: drop the connection, discard this PDU as if its header
 * were damaged, or answer it with a Reject (*reason) instead of
 * processing it. */
enum fault_rx_action fault_rx(struct tt_conn *c, const uint8_t *bhs, unsigned *reason);
/* Login: returns true and the status to answer with when a refusal rule
 * applies to this login. */
bool fault_login(struct tt_server *srv, uint8_t *cls, uint8_t *detail);
/* A connection entering full feature phase: one-shot sends requested
 * before now are not for it. */
void fault_conn_init(struct tt_conn *c);
/* Called by a connection in full feature phase once per loop turn: sends
 * the PDUs that were requested for it (Reject, Async, NOP-In). */
void fault_poll(struct tt_conn *c);
/* Current redirection, if any: copies "addr:port" into buf. */
bool fault_redirect(struct tt_server *srv, char *buf, size_t cap, bool *permanent);

#endif
