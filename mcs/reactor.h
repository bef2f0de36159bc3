/* SPDX-License-Identifier: MIT */
/*
 * A reactor: one thread (or the application's loop) that owns a set of
 * connections, a task table and a transport engine. Commands reach it from
 * any thread through a lock-free inbox; everything else it touches is its
 * own. Timers (command timeouts, NOP-Out keepalive) run from its turn.
 */
#ifndef MCSI_MCS_REACTOR_H
#define MCSI_MCS_REACTOR_H

#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fastpath/mpsc.h"
#include "fastpath/xport.h"
#include "mcs/conn.h"
#include "mcs/rstat.h"
#include "mcs/sess.h"
#include "mcs/task.h"

#define REACTOR_MAX_CONNS 8u
#define REACTOR_CTL_TASKS 16u    /* tasks kept for TMF, pings and logout */

/* What mcsi keeps in struct mcsi_cmd.internal while a command is
 * submitted. Internal requests (task management, logout from the API)
 * travel through the same inbox with op != CMD_OP_SCSI. */
enum cmd_op {
	CMD_OP_SCSI = 0, CMD_OP_TMF, CMD_OP_LOGOUT,
	CMD_OP_ADD_CONN,                 /* ptr: struct reactor_add; arg unused */
	CMD_OP_DROP_CONN,                /* arg: connection-set slot to log out
					  * (reason 1) once its commands are done;
					  * ptr: struct reactor_drop or NULL */
	CMD_OP_QUIESCE,                  /* completes once this queue has no
					  * command with a CmdSN in flight */
	CMD_OP_TMF_FENCE,                /* ptr: struct reactor_fence; ends the
					  * tasks a task-set TMF affected on
					  * this queue's connections */
};

/* CMD_OP_TMF_FENCE (reactor_tmf.c): what the TMF affected. */
struct reactor_fence {
	uint32_t lun, tmf_sn;            /* the TMF's LUN and CmdSN */
	bool all;                        /* every LUN (target reset) */
	unsigned pending;                /* pings in flight on this queue */
	unsigned fenced, skipped;        /* connections, for the caller */
};

/* CMD_OP_DROP_CONN: what the remover gets back. */
struct reactor_drop {
	int fd;                          /* a duplicate of the connection's
					  * socket (or -1), taken before its
					  * Logout: the caller waits on it for
					  * the target's close, then closes it */
};

/* CMD_OP_ADD_CONN: a logged-in connection for this reactor. */
struct reactor_add {
	const struct sess_handoff *h;    /* fd passes to the reactor */
	int slot;                        /* its connection-set slot (LOGIN) */
};

#define CMD_NO_SLOT (-1)

struct cmd_priv {
	struct mpsc_node node;
	struct mcsi_cmd *next;           /* backlog */
	struct task *task;
	union {
		struct mcsi_cmd *ref;    /* CMD_OP_TMF: command to abort */
		void *ptr;               /* CMD_OP_ADD_CONN */
	};
	uint32_t op, arg;                /* enum cmd_op; TMF function / reason */
	/* MC/S: the connection-set slot chosen for a SCSI command (its
	 * depth counts it) or CMD_NO_SLOT; slot + 1 is stored so that a
	 * zeroed cmd_priv means "none". */
	int16_t slot1;
	uint16_t flags;                  /* CMD_F_* */
	uint32_t sn;                     /* CMD_OP_TMF: the TMF's CmdSN, set
					  * when it completes */
};

/* Submitted from a callback on the reactor of the queue it was given to:
 * under least queue depth it stays on that queue's connections (its
 * completion freed the room), so work never bounces between reactors. */
#define CMD_F_LOCAL 0x1u
static_assert(sizeof(struct cmd_priv) <= sizeof(((struct mcsi_cmd *)0)->internal),
	      "cmd_priv fits in mcsi_cmd.internal");

static inline struct cmd_priv *cmd_priv(struct mcsi_cmd *c)
{
	return (struct cmd_priv *)(void *)c->internal;
}

static inline struct mcsi_cmd *cmd_of_node(struct mpsc_node *n)
{
	return (struct mcsi_cmd *)(void *)((char *)n - offsetof(struct mcsi_cmd, internal));
}

struct reactor {
	struct mcsi_session *sess;
	unsigned index;
	struct xport *x;
	struct task_table tt;
	unsigned scsi_live, scsi_max;
	struct mpsc inbox;
	struct mcsi_cmd *local, **local_tail;       /* submitted on our thread */
	struct mcsi_cmd *backlog, **backlog_tail;   /* no task free yet */
	/* The thread running the reactor (pthread_self() as an integer),
	 * 0 when none: its submissions skip the inbox and the wake-up. */
	_Atomic uintptr_t owner;
	struct conn *conns[REACTOR_MAX_CONNS];
	unsigned nconns;
	/* MC/S: this reactor's connections by connection-set slot, and the
	 * scheduler's cursor and cached view (reactor-private). */
	struct conn *slot_conn[CSET_MAX];
	struct sched_cursor cur;
	struct cset_snap view;
	unsigned rebalance;              /* picks left that may move work */
	/* Another thread asks something of this reactor: window_kick (a
	 * PDU on another queue's connection opened the CmdSN window),
	 * ctl_req (REACTOR_REQ_*: drop connections). Set, then wake. */
	_Atomic bool window_kick;
	_Atomic uint32_t ctl_req;
	/* CMD_OP_QUIESCE waiting for this queue's commands (reactor_conn.c),
	 * and its deadline (ns). */
	struct mcsi_cmd *quiesce;
	uint64_t quiesce_by;
	/* mcsi_get_stats(): sums published on request (mcs/rstat.h), and
	 * the counters of connections this reactor freed (reactor-private). */
	struct rstat_pub pub;
	struct rstat_sums retired;
	/* Commands in flight through this queue: submitters of this queue's
	 * CPU add to `submitted`, the reactor that completes a command adds
	 * to its own `completed` (one writer); sess_inflight() sums them. */
	_Atomic uint64_t submitted __attribute__((aligned(64)));
	_Atomic uint64_t completed __attribute__((aligned(64)));
	pthread_t thread;
	bool threaded;
	_Atomic bool stop;
	_Atomic bool sleeping;
	uint64_t now;                    /* ns, refreshed every turn */
	uint64_t next_scan;
	bool window_waiters;             /* commands blocked on the window */
	unsigned completions;            /* in this turn */
};

/* Creates a reactor for s with a transport engine. Returns 0 or -errno. */
int reactor_create(struct mcsi_session *s, unsigned index, const char *transport,
		   unsigned depth, struct reactor **out);
/* Frees r; its connections must have been removed. */
void reactor_destroy(struct reactor *r);

/* Connection-set hooks (MC/S): c belongs to r from now on. */
int reactor_add_conn(struct reactor *r, struct conn *c);
void reactor_remove_conn(struct reactor *r, struct conn *c);

/* ctl_req bits: the low CSET_MAX bits name slots whose connection is
 * dropped (conn_fail) by its reactor; REACTOR_REQ_FAIL_ALL drops all;
 * REACTOR_REQ_STATS (mcs/rstat.h) publishes the queue's counters. */
#define REACTOR_REQ_FAIL_ALL (1u << 31)

/* Any thread: asks r to drop connections (ctl_req bits) at its next
 * turn, with err. */
void reactor_request(struct reactor *r, uint32_t bits);
/* Any thread: a PDU on another queue's connection opened the window for
 * commands waiting on r. */
void reactor_window_kick(struct reactor *r);
/* Completes a command that has no task (never started, or taken off a
 * lost connection) with err: runs its done callback on r. */
void reactor_complete(struct reactor *r, struct mcsi_cmd *cmd, int err);
/* Commands submitted to s and not completed yet (all queues). */
uint64_t sess_inflight(const struct mcsi_session *s);
/* Any thread: counts a submission through queue q. */
static inline void reactor_count_submit(struct reactor *r)
{
	atomic_fetch_add_explicit(&r->submitted, 1, memory_order_relaxed);
}

/* Any thread: queue a command for r. From r's own thread (a completion
 * callback) this is a list append; from another thread one atomic
 * exchange, plus an eventfd write when r is asleep. */
void reactor_submit(struct reactor *r, struct mcsi_cmd *cmd);

/* One turn: take new commands and build their PDUs, post one send per
 * connection, wait up to timeout_ms (only if nothing is left to do), run
 * the completions and timers, then build and post what they produced.
 * Returns completions or -errno. */
int reactor_turn(struct reactor *r, int timeout_ms);
/* Milliseconds until the next timer (-1: none). */
int reactor_next_timeout(struct reactor *r);

int reactor_start(struct reactor *r);
void reactor_stop(struct reactor *r);

/* Ends t with err (SCSI: cmd->res is filled already): off the queues,
 * and completed at once or when the tx slots pointing to it drain. */
void reactor_finish(struct reactor *r, struct task *t, int err);
/* Recovery of a failed connection: takes t off c's send queues and its
 * in-flight and R2T counts. */
void reactor_task_off_conn(struct conn *c, struct task *t);
/* Frees t (off its connection already) and returns its command, cleared,
 * to be routed again as a new one (new ITT, new CmdSN). */
struct mcsi_cmd *reactor_task_unbind(struct reactor *r, struct task *t);
/* Called when a finished task has no tx slot left. */
void reactor_task_done(struct reactor *r, struct task *t);
void reactor_window_opened(struct reactor *r);
/* A task management function from the reactor itself or the API.
 * done runs on the reactor with 0 or -errno. Returns 0 or -errno. */
int reactor_tmf(struct reactor *r, struct conn *c, enum tmf_function fn,
		uint32_t lun, const struct task *ref,
		void (*done)(struct task *t, int err), void *priv);
/* ---- task-set TMFs over several connections (reactor_tmf.c) ------------- */

/* Whether fn acts on a task set (not one task). */
bool reactor_tmf_sets(enum tmf_function fn);
/* On r: ends c's SCSI tasks that a task-set TMF with CmdSN tmf_sn affected
 * (lun, or every LUN when all): those queued and those sent with a lower
 * CmdSN; -ECANCELED, or -ETIMEDOUT for timed_out_itt and tasks being
 * aborted after a timeout. */
void reactor_tmf_sweep(struct reactor *r, struct conn *c, uint32_t lun, bool all,
		       uint32_t tmf_sn, uint32_t timed_out_itt);
/* CMD_OP_TMF_FENCE on r: a NOP-Out ping on each usable connection; when
 * its NOP-In arrives, that connection's affected tasks end
 * (reactor_tmf_sweep()). cmd completes when every ping is answered or
 * its connection failed. */
void reactor_tmf_fence(struct reactor *r, struct mcsi_cmd *cmd);
/* Whether t is a fence's ping (its deadline ends it with -ETIMEDOUT: that
 * connection's affected tasks then end by their own timeouts). */
bool reactor_tmf_is_fence(const struct task *t);
/* After a task-set TMF fn (lun, CmdSN tmf_sn) succeeded: fences every
 * queue of s in turn (blocking; not from a callback), so that every
 * affected task of every connection has ended, exactly once, when it
 * returns. Returns 0 or a queue's -errno. */
int sess_tmf_fence(struct mcsi_session *s, enum tmf_function fn, uint32_t lun,
		   uint32_t tmf_sn);

/* ---- MC/S (reactor_conn.c), all on r's thread ---------------------------- */

/* CMD_OP_ADD_CONN: a connection for the LOGIN slot a->slot, UP on success
 * (a->h->fd passes, closed on failure). Returns 0 or -errno. */
int reactor_add_handoff(struct reactor *r, const struct reactor_add *a);
/* CMD_OP_DROP_CONN: starts the removal of slot's connection; cmd completes
 * when it logged out. Returns 0 or -ENOENT / -ENOTCONN (cmd not kept). */
int reactor_leave(struct reactor *r, struct mcsi_cmd *cmd, uint32_t slot);
/* CMD_OP_QUIESCE: cmd completes (0) once no connection of r has a SCSI
 * command with a CmdSN in flight, or with -ETIMEDOUT after the command
 * timeout; -EBUSY at once if another one waits. */
void reactor_quiesce(struct reactor *r, struct mcsi_cmd *cmd);
/* From the turn while r->quiesce is set. */
void reactor_quiesce_poll(struct reactor *r);
/* Frees a connection that is closed and marked reap; releases its slot. */
void reactor_reap(struct reactor *r, struct conn *c);
/* Carries out ctl_req bits (drops). */
void reactor_requests(struct reactor *r, uint32_t req);
/* MC/S: c stops taking new commands (its slot leaves the scheduler; not
 * for the session's last connection), its queued commands without a
 * CmdSN go to other connections, and it logs out (reason 1) once its
 * commands are done or at by_ns (conn_svc_poll()). */
void reactor_conn_leave(struct reactor *r, struct conn *c, uint64_t by_ns);
/* The logout of a leaving connection ended (err): c is closed, freed by
 * the reactor's next turn, and the API request waiting for it done. */
void reactor_conn_left(struct conn *c, int err);
/* Records a connection logout (LIO needs a pause before a session
 * logout that follows one); mcs/sess_mcs.c. */
void sess_conn_logged_out(struct mcsi_session *s);

/* Sends Logout (reason) on c; done runs when the answer arrives. */
int reactor_logout(struct reactor *r, struct conn *c, enum logout_reason reason,
		   void (*done)(struct task *t, int err), void *priv);

#endif
