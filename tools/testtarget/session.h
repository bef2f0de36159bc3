/* SPDX-License-Identifier: MIT */
/*
 * Sessions: creation, joining (MC/S), reinstatement, the session-wide
 * CmdSN window that orders commands across connections, and unit
 * attentions.
 */
#ifndef TT_SESSION_H
#define TT_SESSION_H

#include "io.h"

struct tt_login;

/* A non-leading login (TSIH != 0): checks that the session exists for this
 * initiator and ISID, accepts this portal group and has room. Takes a
 * reference held in l->join. Returns 0 or a login status (class << 8 |
 * detail) with *why. */
unsigned sess_check_join(struct tt_conn *c, struct tt_login *l, const char **why);

/* Final login step: creates the session (leading login, reinstating an
 * older one with the same initiator and ISID) or joins l->join, replacing
 * a connection with the same CID. Sets c->sess and c->p and *tsih.
 * Returns 0 or a login status with *why. */
unsigned sess_attach(struct tt_conn *c, struct tt_login *l, uint16_t *tsih,
		     const char **why);

/* Removes the connection from its session (thread exit). failed: it ended
 * without a logout that closes it, and its tasks were kept for TASK
 * REASSIGN; the last such connection of an ERL 2 session leaves the
 * session retained for continuation (retain.h) instead of ending it. */
void sess_detach(struct tt_conn *c, bool failed);
/* Drops a reference (a connection's, a pending login's, a retention's);
 * the last one unlinks and frees the session. */
void sess_put(struct tt_session *s);
/* Frees an unlinked session with no reference left, and the tasks it kept. */
void sess_free(struct tt_session *s);

/* CmdSN gate for a command PDU: returns 1 when it must be delivered now,
 * 0 when it was held for later (out of order, in the window) or dropped
 * (outside the window), -ENOMEM. */
int sess_sequence(struct tt_conn *c, const struct tt_rxpdu *p);
/* Delivers held commands whose CmdSN came up. Returns 0 or -EPROTO. */
int sess_run_pending(struct tt_conn *c);
/* An unsolicited Data-Out for a held command: keeps a copy. Returns true
 * when it was taken. */
bool sess_hold_data_out(struct tt_conn *c, const struct tt_rxpdu *p);
/* Frees held commands (connection end). */
void sess_drop_pending(struct tt_conn *c);

/* Reports and clears a pending unit attention for the command's LUN.
 * Returns true when sc now carries it. */
bool sess_check_ua(struct tt_session *s, struct scsi_cmd *sc);
/* Raises ua on LUN lun (UINT32_MAX: all LUNs) of target t in every
 * session. */
void sess_raise_ua(struct tt_server *srv, const struct tt_target *t,
		   uint32_t lun, unsigned ua);

/* Closes every connection of s except keep (logout reason 0, reset). */
void sess_close_all(struct tt_session *s, struct tt_conn *keep);
/* Closes connection cid of s (unless it is self); its tasks stay for
 * TASK REASSIGN only when keep_tasks (logout reason 2). Returns true if
 * the CID exists. */
bool sess_close_cid(struct tt_session *s, uint16_t cid, struct tt_conn *self,
		    bool keep_tasks);

#endif
