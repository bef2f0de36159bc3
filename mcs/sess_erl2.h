/* SPDX-License-Identifier: MIT */
/*
 * ERL 2 connection recovery (RFC 7143 sections 6.2, 7.1.4, 8.2;
 * docs/design/recovery.md section 8), the session's part: one record per
 * failed connection (struct erl2_ep, taken by the reactor of the failed
 * connection) and a login thread for connection reinstatement
 * (a login with the session's ISID and TSIH and the failed CID on a new
 * TCP connection, which implicitly logs the old one out, 6.3.4).
 *
 * Threads: an episode's reactor fields belong to the reactor of the failed
 * connection (mcs/conn_erl2.c); the login request and result go through
 * the mutex m; the login thread blocks in the login, never a reactor.
 */
#ifndef MCSI_MCS_SESS_ERL2_H
#define MCSI_MCS_SESS_ERL2_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mcs/connset.h"
#include "mcs/erl_rec.h"
#include "mcs/sess.h"
#include "mcsi/mcsi.h"

#define ERL2_PROBE_MS       5000u  /* LIO's ambiguous TMF answers: resume,
				    * re-issue if nothing comes by then */
#define ERL2_MAX_REISSUES   3u
#define ERL2_RETRY_MIN_MS   250u   /* back-off between cleanup attempts */
#define ERL2_RETRY_MAX_MS   2000u
#define ERL2_LOGIN_TIMEOUT_MS 5000
#define ERL2_STALE_MS       5000u  /* an Async 2 this soon after recovering
				    * its CID is about the old connection */
#define ERL2_EPS            (2u * CSET_MAX)  /* recoveries at once (a
				    * finished one may still wait to be freed) */

enum erl2_stage {
	ERL2_ST_IDLE = 0,
	ERL2_ST_WAIT,              /* CLEANUP_WAIT: erl_rec_poll() decides */
	ERL2_ST_LOGIN,             /* reinstatement login on the thread */
	ERL2_ST_SYNC,              /* reinstated: a NOP-Out ping on the new
				    * connection brings the target's current
				    * ExpCmdSN (the Login Response's is not
				    * reliable: some targets echo our CmdSN) */
	ERL2_ST_LOGOUT,            /* Logout of the CID on a survivor */
	ERL2_ST_REAP,              /* tasks gone: free the old connection */
};

struct conn;
struct reactor;
struct sess_desc;

/* One failed connection being recovered. */
struct erl2_ep {
	/* Which reactor drives it (index + 1; 0: free slot). Any thread
	 * reads it; the owner writes it. */
	_Atomic unsigned owner;
	/* ---- the owning reactor's ---- */
	struct conn *c;                  /* the failed connection */
	enum erl2_stage stage;
	struct erl_rec rec;
	uint64_t since;                  /* failed at (ns) */
	uint64_t when;                   /* poll again at (0: on an event) */
	int err;                         /* why it failed */
	uint16_t cid;
	int slot;                        /* its connection-set slot */
	unsigned held;                   /* tasks held */
	/* Logout of the CID on a survivor: its outcome (set by the
	 * response's callback). */
	bool logout_done;
	uint8_t logout_reason, logout_rsp;
	int logout_err;
	struct conn *via;                /* the survivor it went on, or the
					  * reinstated connection */
	bool sync_done;                  /* ERL2_ST_SYNC: the ping's answer */
	int sync_err;
	/* ---- under sess_erl2.m ---- */
	bool login_want, login_busy;
	int login_rc;                    /* 0: h holds the logged-in socket */
	const char *login_msg;           /* static */
	struct sess_handoff h;
	char portal[SESS_PEER_MAX];      /* where the failed connection went */
	_Atomic bool login_done;         /* for the reactor: result ready */
};

struct sess_erl2 {
	struct mcsi_session *s;
	struct sess_desc *desc;          /* url and options (secrets) */
	bool prefer_logout;              /* Logout reason 2 before reinstating */
	bool close_only;                 /* Logout reason 1, never reassign */
	_Atomic unsigned active;         /* episodes in progress */
	/* CIDs reinstated lately (any reactor writes, any reads). */
	struct {
		_Atomic uint32_t cid;
		_Atomic uint64_t ns;
	} recent[8];
	_Atomic unsigned recent_next;
	/* Per queue, its reactor's: tasks may wait for a probe until then. */
	uint64_t probe_until[SESS_MAX_QUEUES];
	struct erl2_ep ep[ERL2_EPS];
	pthread_t thread;
	bool started;
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool stop;                       /* under m */
	unsigned add;                    /* under m: connections to add */
};

/*
 * Prepares ERL 2 recovery for s, opened as d says (the session's login
 * description, mcs/sess_desc.h: a reference is taken, dropped by
 * sess_erl2_destroy()), and starts its login thread; call after
 * sess_create() when the session negotiated ErrorRecoveryLevel 2.
 * d->opts.erl2_cleanup 1 prefers Logout reason 2 from a survivor. Returns
 * 0 (s->erl2 set) or -errno (the session goes on without ERL 2 recovery:
 * a connection loss is then a session loss, as at ERL 0).
 */
struct sess_desc;
int sess_erl2_create(struct mcsi_session *s, struct sess_desc *d);

/* Stops the login thread (an attempt in progress finishes first, bounded
 * by the login timeout). Call before the reactors stop. NULL is fine. */
void sess_erl2_stop(struct mcsi_session *s);

/* Frees s->erl2 (a logged-in socket not yet taken over is closed) after
 * the connections are gone. NULL is fine. */
void sess_erl2_destroy(struct mcsi_session *s);

/* From a reactor: asks the thread to log in ep's CID again at ep->portal
 * (ep->login_done is set when it is over, and the reactor woken). */
void sess_erl2_request_login(struct mcsi_session *s, struct erl2_ep *ep);

/* From a reactor: a connection was logged out for recovery; the thread
 * adds one (sess_add_conn()) to restore the connection count. */
void sess_erl2_request_add(struct mcsi_session *s);

/* From a reactor, once it took ep's login result: 0 and *h (ownership of
 * h->fd passes), or the login's -errno with *msg. */
int sess_erl2_take_login(struct mcsi_session *s, struct erl2_ep *ep,
			 struct sess_handoff *h, const char **msg);

#endif
