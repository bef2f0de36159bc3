/* SPDX-License-Identifier: MIT */
/*
 * Session reinstatement (ERL 0, RFC 7143 6.3.5 and docs/design/recovery.md
 * section 6): when a session loses its last connection, its commands are
 * held (a write is never completed before the target's status), a login
 * thread waits DefaultTime2Wait and logs in again with the same ISID and
 * TSIH 0, retrying with back-off, and the reactor puts the new connection
 * in place and issues every held command again as new (new ITT, new CmdSN,
 * the whole command). Past the replacement timeout the held commands fail
 * with -ETIMEDOUT and new ones with -ENOTCONN.
 *
 * Threads: sess_rec_lost() and sess_rec_poll() run on the reactor that
 * owns the connection or the commands; the login runs on
 * the session's recovery thread (logins block), which hands its result to
 * reactor 0 through a mutex and a wake-up. Events (MCSI_EV_SESSION_LOST,
 * _REINSTATED, _FAILED) are raised on reactor 0.
 *
 * What is not recovered: a target that broke the protocol (-EPROTO: a
 * malformed PDU is a target defect, not a path fault; the session fails
 * as before), and a session lost SESS_REC_MAX_FRUITLESS times in a row
 * without completing a single command in between (a target that drops
 * the connection on a command would keep it re-issued for ever): the
 * session then fails as before, its commands with the connection's error.
 */
#ifndef MCSI_MCS_SESS_REC_H
#define MCSI_MCS_SESS_REC_H

#include <stdbool.h>
#include <stdint.h>

#include "mcsi/mcsi.h"

#define SESS_REC_MAX_FRUITLESS 3u
#define SESS_REC_RETRY_MIN_MS 250u      /* login back-off */
#define SESS_REC_RETRY_MAX_MS 5000u

struct mcsi_session;
struct reactor;
struct conn;
struct sess_rec;
struct sess_handoff;

/* Prepares the reinstatement of a session about to be opened as d says
 * (the session's login description, mcs/sess_desc.h: rec takes a
 * reference, dropped by sess_rec_destroy()); replacement_ms > 0. Returns
 * 0 and *out (owned by the caller until handed to the session in
 * sess_cfg.rec), or -ENOMEM. */
struct sess_desc;
int sess_rec_create(struct sess_desc *d, uint32_t replacement_ms, struct sess_rec **out);

/* Starts the recovery thread of s (s->cfg.rec). Returns 0 or -errno. */
int sess_rec_start(struct mcsi_session *s);

/* Stops and joins the recovery thread (an attempt in progress finishes
 * its login first, bounded by the login timeout). Call before the
 * reactors stop. NULL rec is fine. */
void sess_rec_stop(struct mcsi_session *s);

/* Wipes the login description and frees rec (a logged-in connection not
 * yet taken over is closed). NULL is fine. */
void sess_rec_destroy(struct sess_rec *rec);

/* On c's reactor, from conn_fail() (sess_conn_lost()), when the session
 * is lost with c (ERL 0/1: any connection): decides whether it recovers.
 * If so, takes c's SCSI commands off c (their tasks freed; a command being
 * aborted after its timeout fails with -ETIMEDOUT) and puts them at the
 * front of c's reactor's backlog in their old CmdSN order, where they wait
 * while the session is SESS_RECOVERING and are then routed again as new
 * commands; moves the session to SESS_RECOVERING, wakes the recovery
 * thread and returns true: the caller fails only c's remaining (control)
 * tasks and leaves the session state alone. Returns false when there is
 * no recovery (no rec, err is -EPROTO, the session is closing or failed,
 * or too many fruitless reinstatements): the caller fails as before. */
bool sess_rec_lost(struct conn *c, int err, const char *reason);

/* Each turn of every reactor, one atomic load while the session is
 * live: while it recovers, frees the reactor's failed connections (their
 * connection-set slots first) and, on reactor 0, takes over a reinstated
 * connection (a new leading connection in an empty set) or the
 * recovery's giving up; once it gave up, fails the backlog with its error
 * (-ETIMEDOUT past the replacement timeout). */
void sess_rec_poll(struct reactor *r);

/* What the recovery thread hands to reactor 0 at the end of an episode
 * (any thread; tests stand in for the login with them): a logged-in
 * connection (ownership of h->fd passes), or giving up with err (-errno)
 * and why (copied). */
void sess_rec_post_login(struct mcsi_session *s, const struct sess_handoff *h);
void sess_rec_post_give_up(struct mcsi_session *s, int err, const char *why);

/* Waits (bounded by the replacement timeout) while s is recovering with
 * commands in flight, so that a close lets them finish. */
void sess_rec_settle(struct mcsi_session *s);

#endif
