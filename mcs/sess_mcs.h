/* SPDX-License-Identifier: MIT */
/*
 * MC/S on a live session (docs/design/mcs.md sections 6 and 7): adding
 * connections with non-leading logins over the portals of the session's
 * portal group, removing one with Logout reason 1 while the others carry
 * on, and what the loss of one connection does to the session.
 *
 * Threads: adding and removing block (a login, a logout round trip) and
 * run on the caller's thread, never on a reactor or in a callback; the
 * logged-in socket is handed to the owning reactor through its inbox.
 * sess_conn_lost() runs on the reactor of the lost connection.
 */
#ifndef MCSI_MCS_SESS_MCS_H
#define MCSI_MCS_SESS_MCS_H

#include <stdbool.h>
#include <stdint.h>

#include "mcsi/mcsi.h"

struct mcsi_session;
struct conn;
struct sess_handoff;

/* A refusal for too many connections is believed after this pause and a
 * second refusal (istgt counts a logged-out connection for about 1 s). */
#define SESS_MCS_SETTLE_MS     1500u
/* LIO 6.1 crashes when a session logs out within ~0.1 s of a connection
 * logout: the session logout waits this long after the last one. */
#define SESS_MCS_LOGOUT_GAP_MS 200u
/* After a connection's Logout Response, the session stays paused until
 * the target closes that connection, at most this long. */
#define SESS_MCS_CLOSE_WAIT_MS 1000u

/*
 * Prepares s for further connections: a reference to d, the session's
 * login description (the join template: names and secrets,
 * mcs/sess_desc.h; dropped by sess_mcs_destroy()), the leading
 * connection's portal from h, then d->opts.portals, and, when
 * d->opts.connections > 1, the other portals of the target's portal group
 * from SendTargets (only what is known already if discovery fails). Call once after sess_create(). Returns 0 or
 * -ENOMEM / -EINVAL (the session is usable either way, with one
 * connection).
 */
struct sess_desc;
int sess_mcs_create(struct mcsi_session *s, struct sess_desc *d,
		    const struct sess_handoff *h);

/* Parses "host[:port],host[:port]" (mcsi_opts.portals) into out (at
 * most cap; out may be NULL to check only) and *n (may be NULL).
 * Returns 0 or -EINVAL for an empty or malformed item. */
struct url_portal;
int sess_mcs_parse_portals(const char *list, struct url_portal *out, unsigned cap,
			   unsigned *n);

/* Wipes and frees what sess_mcs_create() made. NULL s->mcs is fine. */
void sess_mcs_destroy(struct mcsi_session *s);

/*
 * Opens one more connection (non-leading login: same ISID and TSIH, a
 * new CID) at portal ("host[:port]"; NULL: the next portal of the group)
 * and hands it to the queue with the fewest connections. Blocking; not
 * from a callback. Returns 0 with *cid (may be NULL), or -errno with a
 * log line saying why: -EUSERS (MaxConnections reached: our bound, or the
 * target refused with 0x0206), -EBUSY (0x0208), -ENOENT (the target lost
 * the session), -ENOTCONN (the session is not live), -EINVAL, or the
 * login's error. The session goes on unchanged after a refusal.
 */
int sess_add_conn(struct mcsi_session *s, const char *portal, uint16_t *cid);

/* Hands a logged-in connection (h->fd passes, closed on failure too) to
 * queue's reactor as the connection of slot (reserved with cset_reserve(),
 * in state LOGIN), which goes UP. Blocking (runs on the reactor). Returns
 * 0 or -errno (the slot is cancelled then). */
int sess_attach_conn(struct mcsi_session *s, const struct sess_handoff *h,
		     int slot, unsigned queue);

/* Opens up to n more connections, stopping at the first refusal (logged:
 * the session keeps what it has). Returns how many were opened. */
unsigned sess_add_conns(struct mcsi_session *s, unsigned n);

/*
 * Removes connection cid: no new command goes to it, its queued commands
 * move to other connections; the whole session pauses (no new CmdSN on
 * any connection) until the commands in flight on every connection are
 * answered, cid logs out with reason 1 on itself, and the target has
 * closed it (at most SESS_MCS_CLOSE_WAIT_MS); then it is freed and the
 * session resumes. One removal or join at a time. Blocking. Returns 0,
 * -ENOENT (no such connection), -EBUSY (the last usable one: that is
 * mcsi_close()), -ENOTCONN, or the logout's -errno (the connection is
 * closed either way).
 */
int sess_remove_conn(struct mcsi_session *s, uint16_t cid);

/*
 * From conn_fail() on c's reactor, after c's socket is closed: the
 * session's answer to losing c. A connection that was leaving with
 * nothing in flight is simply gone. Otherwise, at ErrorRecoveryLevel 0,
 * the session cannot go on (a CmdSN c took may never reach the target and
 * would hold every later command of every connection): it is reinstated
 * when it can be (sess_rec_lost(): c's SCSI tasks are held, off c), else
 * it fails once with MCSI_EV_SESSION_FAILED and a log line naming the
 * CID; either way every other connection is dropped by its own reactor.
 * Returns true when c's tasks are held for a reinstatement.
 */
bool sess_conn_lost(struct conn *c, int err, const char *reason);

/* Before a session logout, while the session is LIVE: logs every other
 * connection out (reason 1, sess_remove_conn()), one at a time, so that
 * the session Logout goes out on a session of one connection. LIO 6.1
 * crashes when its session close (iscsit_stop_session) walks connections
 * that close on their own at the same time (docs/design/recovery.md
 * section 9); any target takes this order, at a round trip and the
 * target's close per connection. Stops at the first removal that fails
 * (the session Logout then closes the rest, as before). */
void sess_mcs_logout_others(struct mcsi_session *s);

/* Before a session logout: waits until SESS_MCS_LOGOUT_GAP_MS have passed
 * since the last connection logout, and records that the session logout
 * is on its way (the target then closes the other connections). */
void sess_mcs_logout_gap(struct mcsi_session *s);

/* Whether the session logout is on its way: a connection's end of stream
 * is then the target closing it, not a failure. Any thread. */
bool sess_mcs_logging_out(const struct mcsi_session *s);

/* The portal a connection-set slot's connection went to ("" if none).
 * Any thread; racy against that slot being reused. */
const char *sess_mcs_portal(const struct mcsi_session *s, int slot);

#endif
