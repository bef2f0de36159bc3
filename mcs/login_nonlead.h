/* SPDX-License-Identifier: MIT */
/*
 * Opening the further connections of an MC/S session: non-leading logins
 * (same ISID and TSIH, a new CID from the connection set) over the portals
 * of the session's target portal group, never more than the negotiated
 * MaxConnections (mcs/connset.h counts them, whether or not the target
 * does), with a clear reason when the target refuses one.
 *
 * The login itself goes through an operations table: nlogin_ops_blocking
 * (mcs/login_nonlead_io.h, blocking sockets) today, lgio_login() once
 * struct lgio_target can carry the session, a fake in the unit tests.
 */
#ifndef MCSI_MCS_LOGIN_NONLEAD_H
#define MCSI_MCS_LOGIN_NONLEAD_H

#include <stddef.h>
#include <stdint.h>

#include "mcs/connset.h"
#include "mcs/ctl.h"
#include "mcs/login_io.h"
#include "proto/discovery.h"
#include "proto/neg.h"

#define NLOGIN_MAX_PORTALS 16u

/* What every further connection of the session logs in with. Pointers
 * are borrowed for the calls that get the request. */
struct nlogin_req {
	/* The leading login's description: names, credentials, wishes,
	 * ISID, timeout; its portal is the one used when nportals is 0.
	 * Its tsih and cid are ignored. */
	const struct lgio_target *lead;
	const struct iscsi_params *session;  /* negotiated on the lead */
	uint16_t tsih;                       /* the session's, from the target */
	/* Portals of the session's portal group (nlogin_portals()); new
	 * connections go round them. */
	const struct url_portal *portals;
	unsigned nportals;
	/* The session's current CmdSN, read at each login (a joining
	 * connection carries it, RFC 7143 section 11.12.8). */
	uint32_t (*cmdsn)(void *arg);
	void *cmdsn_arg;
	/* A refusal for too many connections is tried once more after this
	 * many ms (0: never) before the limit is believed: a target may
	 * count a connection that just logged out for a moment longer
	 * (istgt does, up to about a second). */
	unsigned settle_ms;
};

/* One login: returns 0 with c in full feature phase or -errno, as
 * lgio_login(); rx is borrowed by c. */
struct nlogin_ops {
	int (*login)(void *arg, const struct lgio_target *t,
		     const struct iscsi_params *session, uint32_t cmdsn,
		     struct ctl_conn *c, uint8_t *rx, size_t rx_cap,
		     struct lgio_status *st);
	void *arg;
};

/* Logs in with nlio_login() (blocking sockets). */
extern const struct nlogin_ops nlogin_ops_blocking;

/* A further connection, logged in. Its connection-set slot is LOGIN
 * until the caller attaches it to its queue and calls cset_publish(), or
 * drops it (nlogin_drop()). */
struct nlogin_conn {
	struct ctl_conn ctl;            /* owns the socket */
	struct cset_ticket tk;          /* slot, CID, queue */
	unsigned portal;                /* index in req->portals */
	uint8_t *rx;                    /* the caller's scratch, set before */
	size_t rx_cap;                  /* the call: >= NLIO_SCRATCH */
};

/* Why nlogin_open() stopped. nlogin_open() zeroes it; nlogin_open_one()
 * adds to opened and attempts (zero them before a first call). */
struct nlogin_result {
	unsigned opened;                /* connections logged in */
	unsigned attempts;              /* logins tried */
	int err;                        /* 0, or what stopped it */
	const char *message;            /* static reason, NULL when err is 0 */
	struct lgio_status st;          /* of the last login tried */
	uint32_t limit;                 /* the set's limit afterwards */
};

/*
 * Picks from a SendTargets answer the portals of `target` that belong to
 * portal group tpgt (the TargetPortalGroupTag of the leading login),
 * with `lead` first when it is among them. With tpgt < 0 (the target
 * never declared it) only `lead` is safe: a session must stay in one
 * portal group. Returns how many were written to out (at most cap, at
 * least 1: lead itself when the answer does not list it).
 */
unsigned nlogin_portals(const struct disc_result *r, const char *target, int32_t tpgt,
			const struct url_portal *lead, struct url_portal *out, unsigned cap);

/*
 * Opens one further connection: reserves a slot and CID (queue < 0: the
 * queue with the fewest connections), logs in at portal *next (advanced),
 * moving on to the next portal of the group when one cannot be reached.
 * out->rx and out->rx_cap must be set. Returns 0, or -errno with
 * res->message:
 *   -EUSERS   the session has MaxConnections connections (nothing sent),
 *             or the target refused with 0x0206 (too many connections)
 *   -EBUSY    the target refused with 0x0208 (cannot include the
 *             connection in the session)
 *   -ENOENT   the target no longer knows the session (0x020a)
 *   other     as lgio_login() (-EACCES, -ETIMEDOUT, -EPROTO, ...)
 * A refusal for too many connections is tried once more after
 * req->settle_ms; if the target refuses again, the set's limit drops to
 * what the session has (cset_learn_limit()), so later attempts stop
 * locally.
 */
int nlogin_open_one(struct connset *cs, const struct nlogin_req *req,
		    const struct nlogin_ops *ops, int queue, unsigned *next,
		    struct nlogin_conn *out, struct nlogin_result *res);

/*
 * Opens up to n further connections (out[0..n), rx set in each), going
 * round the portals starting after the leading one. Stops at the first
 * refusal. Returns 0 when all n were opened, else the error of the one
 * that stopped it; res->opened says how many of out[] are logged in
 * either way (the caller owns them).
 */
int nlogin_open(struct connset *cs, const struct nlogin_req *req,
		const struct nlogin_ops *ops, struct nlogin_conn *out, unsigned n,
		struct nlogin_result *res);

/*
 * Removes a further connection cleanly: Logout reason 1 for its CID, sent
 * on `via` (another connection of the session), or on the connection
 * itself when via is NULL, which is what every target handles (tgt closes
 * the connection a logout arrives on, whatever CID it names). Then closes
 * its socket and frees its slot. An UP connection goes LEAVING first.
 * cmdsn is the session's current CmdSN. Returns -EBUSY for the last UP
 * connection (nothing done: that is a session logout); otherwise 0 or the
 * logout's -errno, the socket closed and the slot freed either way.
 */
int nlogin_drop(struct connset *cs, struct ctl_conn *via, struct nlogin_conn *nc,
		uint32_t cmdsn);

#endif
