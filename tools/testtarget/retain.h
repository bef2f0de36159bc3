/* SPDX-License-Identifier: MIT */
/*
 * Session retention at ErrorRecoveryLevel 2 (RFC 7143 sections 6.3.4,
 * 7.1.4 and 8.3, the target's Q5 IN_CONTINUE): when the last connection of
 * a session fails, the session, its CmdSN window and its connection's
 * unfinished tasks are kept for DefaultTime2Retain, so that a login with
 * the old ISID and TSIH (the old CID: connection reinstatement, or a new
 * one) continues it and takes the tasks over with TASK REASSIGN.
 *
 *   LIVE --last connection fails, ERL 2, Time2Retain > 0--> RETAINED
 *   RETAINED --a login with its TSIH reaches full feature phase--> LIVE
 *   RETAINED --Time2Retain over / reinstatement (TSIH 0, same ISID) /
 *              target exit--> GONE (freed with its tasks)
 *   LIVE --last connection ends otherwise, or ERL 0/1--> GONE (as before)
 *
 * A RETAINED session holds one reference (the one its last connection
 * had); leaving RETAINED gives it back. Locks: srv->lock, then s->lock.
 */
#ifndef TT_RETAIN_H
#define TT_RETAIN_H

#include <stdbool.h>

#include "target.h"

/* sess_detach(), srv->lock and s->lock held, c just removed from s.
 * failed: c ended without a logout that closes it (its tasks were kept
 * for reassignment). Returns true when s is now RETAINED: c's reference became the
 * retention's, the caller must not drop it. */
bool retain_last_conn(struct tt_session *s, const struct tt_conn *c, bool failed);

/* A login with s's TSIH was accepted for joining (srv->lock and s->lock
 * held): if s is RETAINED and cid is the last connection's, that
 * connection's StatSN numbering goes on on c. */
void retain_join(struct tt_session *s, struct tt_conn *c, uint16_t cid);

/* sess_attach(), srv->lock and s->lock held: c reached full feature phase
 * in s. A RETAINED s is LIVE again and its retention's reference is
 * dropped (the login holds another, so s is never freed here). */
void retain_continue(struct tt_session *s, const struct tt_conn *c);

/* srv->lock held: s was reinstated. A RETAINED s becomes GONE and its
 * reference is dropped; when that was the last, s is unlinked from the
 * server and pushed on *doomed (through next) for sess_free() once the
 * lock is released. Other states are left to the caller. */
void retain_end(struct tt_server *srv, struct tt_session *s, struct tt_session **doomed);

/* Frees the RETAINED sessions whose Time2Retain is over (any thread, no
 * lock held). Returns the milliseconds until the next one ends, or -1
 * when none is retained (a poll() timeout). */
int retain_expire(struct tt_server *srv);

/* Target exit: frees every RETAINED session. */
void retain_shutdown(struct tt_server *srv);

#endif
