/* SPDX-License-Identifier: MIT */
/*
 * The session: what all its connections share. The CmdSN counter and the
 * [ExpCmdSN, MaxCmdSN] window are session-wide and lock-free: any reactor
 * reserves a CmdSN with one compare-and-swap against the window, and any
 * connection's target PDU widens the window (serial arithmetic, RFC 7143
 * 4.2.2.1) with another. Nothing here assumes one connection: MC/S adds
 * connections to reactors through sess_add_conn().
 */
#ifndef MCSI_MCS_SESS_H
#define MCSI_MCS_SESS_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mcs/connset.h"
#include "mcs/erl_sess.h"
#include "mcs/sched.h"
#include "mcs/sched_adapt.h"
#include "mcsi/mcsi.h"
#include "proto/neg.h"
#include "proto/serial.h"

#define SESS_MAX_QUEUES  16u
#define SESS_PEER_MAX    272
#define SESS_ERR_MAX     512

struct reactor;
struct conn;
struct sess_rec;
struct sess_mcs;
struct sess_erl2;
struct ctl_conn;

/* A logged-in connection as the login layer hands it over. */
struct sess_handoff {
	int fd;                          /* connected socket; ownership passes */
	struct iscsi_params params;      /* negotiated */
	uint8_t isid[6];
	uint16_t tsih, cid;
	uint32_t cmdsn;                  /* next CmdSN to use */
	uint32_t expcmdsn, maxcmdsn;
	uint32_t expstatsn;              /* next StatSN expected */
	char peer[SESS_PEER_MAX];        /* "host:port", for messages */
};

struct sess_cfg {
	unsigned queues;                 /* 0: application-driven, one queue */
	unsigned queue_depth;
	unsigned cmd_timeout_ms, nop_interval_ms, nop_timeout_ms;
	unsigned ua_retries;
	unsigned rx_readahead;           /* bytes; 0: headers only (no copy) */
	unsigned coalesce_us;            /* longest receive delay; 0: none */
	bool zerocopy;                   /* zero-copy sends of large writes */
	const char *transport;           /* NULL: auto */
	mcsi_event_fn event;
	void *event_priv;
	mcsi_log_fn log;
	void *log_priv;
	uint32_t default_lun;
	unsigned connections;            /* MC/S: connections wished (>= 1) */
	enum sched_policy policy;        /* MC/S scheduling */
	struct sess_rec *rec;            /* session reinstatement, or NULL:
					  * owned by the session */
};

/* SESS_RECOVERING: every connection is lost and the session is being
 * reinstated (mcs/sess_rec.h); commands are held, not failed. SESS_FAILED:
 * lost for good (no recovery, or it gave up). */
enum sess_state { SESS_LIVE = 0, SESS_CLOSING, SESS_CLOSED, SESS_FAILED, SESS_RECOVERING };

struct mcsi_session {
	struct sess_cfg cfg;
	struct iscsi_params params;
	uint8_t isid[6];
	uint16_t tsih;
	_Atomic uint32_t cmdsn;          /* next CmdSN */
	_Atomic uint64_t window;         /* ExpCmdSN << 32 | MaxCmdSN */
	_Atomic int state;               /* enum sess_state */
	/* Events the connections' RFC state machines refused (a defect of
	 * ours if ever above 0; mcs/conn_sm.h). */
	_Atomic uint32_t rfc_illegal;
	enum erl_sstate rfc;             /* RFC 7143 8.3 state, under lock:
					  * mcs/sess_sm.h */
	struct reactor *q[SESS_MAX_QUEUES];
	unsigned nq;
	bool threaded;
	pthread_mutex_t lock;            /* error text, close handshake */
	pthread_cond_t cond;
	char err[SESS_ERR_MAX];
	/* MC/S (docs/design/mcs.md): the connections and how commands are
	 * spread over them; what adding one needs (mcs/sess_mcs.h). */
	struct connset cs;
	struct sched_cfg sched;
	/* Policy "adaptive": the active-set controller, driven by queue 0's
	 * reactor only (mcs/reactor_adapt.h). */
	struct sched_adapt adapt;
	struct sess_mcs *mcs;
	/* ERL 2 connection recovery (mcs/sess_erl2.h), or NULL. */
	struct sess_erl2 *erl2;
};

/* Creates a session from a handed-over connection. cfg is copied (its
 * strings must outlive the session; cfg->rec is taken over, freed on
 * failure too). On success takes ownership of h->fd
 * and starts the reactor threads (cfg->queues of them; none for 0).
 * Returns 0 or -errno (h->fd is closed on failure too). */
int sess_create(const struct sess_handoff *h, const struct sess_cfg *cfg,
		struct mcsi_session **out);

/* Stops the reactors (no logout), fails what is left with -ECANCELED,
 * closes every connection and frees s. */
void sess_destroy(struct mcsi_session *s);

/* Cleanly logs out: waits for commands in flight, then Logout on every
 * connection. Returns 0 or -errno. */
int sess_logout(struct mcsi_session *s);

/* Runs one command or internal request on queue q and waits for it
 * (drives the reactor itself when there are no threads). Not from a
 * callback. Returns cmd->res.err. */
int sess_run_cmd(struct mcsi_session *s, unsigned q, struct mcsi_cmd *cmd);

/* Logs in to url with opts (mcs/open.c over mcs/login_io.h) and fills *h
 * (and *lun from the URL). Returns 0 or the login's -errno. */
int sess_login(const char *url, const struct mcsi_opts *opts,
	       struct sess_handoff *h, uint32_t *lun);
struct url_iscsi;
struct lgio_target;
/* Parses url into *u and describes the login it asks for in *t (names,
 * CHAP, wishes from o, MaxConnections = o->connections); t borrows from
 * u, o and iname (iname_cap bytes: the default initiator name). Returns
 * 0 or -EINVAL; wipe u with url_iscsi_wipe() after the login (done on
 * failure). */
int sess_target_prepare(const char *url, const struct mcsi_opts *o,
			struct url_iscsi *u, struct lgio_target *t, char *iname,
			size_t iname_cap);
/* As sess_login(), with the given ISID (6 bytes; NULL: a random one) and
 * without printing: *msg gets the login layer's static explanation of a
 * failure (or NULL). Session reinstatement logs in with the session's
 * ISID and TSIH 0 (RFC 7143 6.3.5). */
int sess_login_as(const char *url, const struct mcsi_opts *opts, const uint8_t *isid,
		  struct sess_handoff *h, uint32_t *lun, const char **msg);
/* Fills h from a connection the login layer logged in; its fd passes to
 * h (c->fd becomes -1). */
void sess_handoff_take(struct sess_handoff *h, struct ctl_conn *c);

/* ---- CmdSN and the window ---------------------------------------------- */

static inline uint32_t sess_win_exp(uint64_t w) { return (uint32_t)(w >> 32); }
static inline uint32_t sess_win_max(uint64_t w) { return (uint32_t)w; }

/* Takes the next CmdSN if the window is open: 0 and *sn, or -EAGAIN. */
static inline int sess_cmdsn_reserve(struct mcsi_session *s, uint32_t *sn)
{
	uint32_t c = atomic_load_explicit(&s->cmdsn, memory_order_relaxed);

	for (;;) {
		uint64_t w = atomic_load_explicit(&s->window, memory_order_acquire);
		if (!sn_le(c, sess_win_max(w)))
			return -EAGAIN;
		if (atomic_compare_exchange_weak_explicit(&s->cmdsn, &c, c + 1,
				memory_order_acq_rel, memory_order_relaxed)) {
			*sn = c;
			return 0;
		}
	}
}

/* The CmdSN an immediate PDU carries (not advanced). */
static inline uint32_t sess_cmdsn_peek(struct mcsi_session *s)
{
	return atomic_load_explicit(&s->cmdsn, memory_order_acquire);
}

/* Applies a target PDU's ExpCmdSN/MaxCmdSN. Returns true when the window
 * grew (commands waiting for it may go). */
bool sess_window_update(struct mcsi_session *s, uint32_t exp, uint32_t max);

/* ---- errors, events, logs ------------------------------------------------ */

/* Records the error text (for mcsi_last_error()) and logs it once. */
void sess_error(struct mcsi_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sess_log(struct mcsi_session *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sess_event(struct mcsi_session *s, const struct mcsi_event *ev);

uint64_t sess_now_ns(void);

#endif
