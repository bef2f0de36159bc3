/* SPDX-License-Identifier: MIT */
/*
 * One connection of a session in full feature phase: its socket behind a
 * transport, the receive stream (segment cursor) and the transmit ring of
 * PDU headers, StatSN/ExpStatSN, and the queues of tasks that wait for the
 * window or have Data-Out to send. A connection belongs to one reactor and
 * is only touched by that reactor's thread. Every PDU of a task goes out
 * on the task's connection (allegiance).
 *
 * Any malformed target PDU closes the connection with conn_fail(), which
 * names the peer and the defect and fails the connection's tasks; the
 * session decides about recovery (ERL 0 today: the session fails).
 */
#ifndef MCSI_MCS_CONN_H
#define MCSI_MCS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fastpath/seg.h"
#include "fastpath/xport.h"
#include "mcs/conn_erl1.h"
#include "mcs/erl_conn.h"
#include "mcs/sess.h"
#include "mcs/task.h"

#define CONN_TX_SLOTS    128u    /* PDU headers queued for sending */
#define CONN_TX_IOV      256     /* iovecs per send system call */
#define CONN_RX_IOV      64
#define CONN_RX_AHEAD_MAX (1u << 20)  /* largest staging read-ahead */
#define CONN_SLOT_HDR    320u    /* BHS + extended CDB AHS + digest */
#define CONN_NOP_REPLIES 8u
#define CONN_COALESCE_MIN 8u     /* commands in flight before receives wait */
#define CONN_COALESCE_DIV 2u     /* wait for this fraction of them */
#define CONN_COALESCE_STEP 8u    /* µs: smallest increase of the delay */

struct tx_slot {
	uint8_t hdr[CONN_SLOT_HDR] __attribute__((aligned(8)));
	struct seg_tx seg;
	struct task *task;           /* holds a tx_ref, or NULL */
	bool r2t_final;              /* last Data-Out answering an R2T */
};

enum conn_state {
	CONN_UP = 0,
	CONN_DRAIN,                  /* the target asked for a logout: no new
				      * commands, logout when idle */
	CONN_LOGOUT,                 /* Logout sent */
	CONN_CLOSED,                 /* logged out */
	CONN_FAILED,
};

struct conn_stats {
	uint64_t commands, reads, writes, bytes_in, bytes_out;
	uint64_t pdus_in, pdus_out, r2ts, nops_out, nops_in, retries, timeouts;
};

struct conn {
	struct mcsi_session *sess;
	struct reactor *r;
	struct iscsi_params params;
	uint16_t cid;
	int fd;
	enum conn_state state;
	enum erl_cstate rfc;         /* its RFC 7143 state: mcs/conn_sm.h */
	uint32_t rfc_illegal;        /* events the RFC machine refused */
	char peer[SESS_PEER_MAX];
	struct xport_conn xc;

	uint32_t exp_statsn;

	/* receive */
	struct seg_rx rx;
	struct iovec riov[CONN_RX_IOV];
	uint8_t *rx_hdr;             /* SEG_HDR_MAX: the current header */
	uint8_t *rx_buf;             /* staging for headers and read-ahead */
	uint8_t *scratch;            /* max_recv_dsl: non-payload segments */
	struct iovec scratch_iov;
	uint64_t last_rx_ns;

	/* transmit */
	struct tx_slot *slots;       /* CONN_TX_SLOTS ring */
	uint32_t tx_head, tx_tail;   /* head: oldest unsent; tail: next free */
	uint32_t tx_inflight;        /* slots covered by the posted send */
	struct iovec siov[CONN_TX_IOV];
	struct task *cmdq, **cmdq_tail;   /* SCSI commands waiting to go */
	struct task *ctlq, **ctlq_tail;   /* immediate TMF / NOP / logout */
	struct task *doutq, **doutq_tail; /* tasks with Data-Out to send */
	struct { uint32_t ttt; uint8_t lun[8]; } nop_reply[CONN_NOP_REPLIES];
	unsigned nnop_reply;

	/* receive coalescing: see conn_rx_post() */
	uint32_t inflight;           /* SCSI commands sent, not finished */
	uint32_t r2t_waiters;        /* writes that still expect an R2T */
	uint32_t rx_delay_us;        /* current delay of coalescing receives */
	uint32_t rx_want;            /* PDUs the posted receive should find */
	uint64_t rx_prev_pdus;       /* rx.pdus when it was posted */

	/* services */
	struct task *ping;           /* NOP-Out ping in flight */
	struct task *text;           /* renegotiation in progress */
	uint64_t logout_by_ns;       /* CONN_DRAIN: the target's deadline */
	struct conn_stats st;
	/* MC/S: the connection-set slot (mcs/connset.h); the API command
	 * waiting for this connection's removal (Logout reason 1) and
	 * whether the reactor frees it once it is closed. */
	int slot;
	struct mcsi_cmd *leave_cmd;
	bool reap;
	int fail_err;
	char why[160];               /* reason text of the last defect */
	struct conn_erl1 e1;         /* ERL >= 1: recovery in place */
};

/* Sets up c over a handed-over socket (ownership of fd passes) on reactor
 * r and posts the first receive. Returns 0 or -errno. */
int conn_init(struct conn *c, struct mcsi_session *s, struct reactor *r,
	      const struct sess_handoff *h);
/* Detaches the socket, closes it and frees the buffers; tasks must be gone. */
void conn_fini(struct conn *c);

/* Closes the connection after an error: detaches and closes the socket,
 * logs "<peer>: <reason>" once, raises MCSI_EV_CONN_FAILED, then either
 * holds its SCSI tasks for recovery (ERL 2: mcs/conn_erl2.h; session
 * reinstatement: mcs/sess_rec.h) or fails every task of the connection
 * with err. Safe from any callback of c. */
void conn_fail(struct conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* After a successful logout: closes the socket without reporting. */
void conn_closed(struct conn *c);

static inline bool conn_usable(const struct conn *c) { return c->state == CONN_UP; }

/* ---- transmit (conn_tx.c) ----------------------------------------------- */

/* Queues a SCSI task (state QUEUED) for its command PDU. */
void conn_queue_cmd(struct conn *c, struct task *t);
/* Puts t, on no queue, back at the head of c's command queue: its PDU
 * goes out before any other (a closed window, an ERL 1 retry). Leaves
 * t->state to the caller. */
void conn_queue_cmd_front(struct conn *c, struct task *t);
/* Queues an immediate control task (TMF, NOP ping, logout). */
void conn_queue_ctl(struct conn *c, struct task *t);
/* Puts t on the Data-Out queue if it is not there. */
void conn_queue_dout(struct conn *c, struct task *t);
/* Removes t from the Data-Out and command queues. */
void conn_unqueue(struct conn *c, struct task *t);
/* Queues the answer to a target NOP-In ping. Returns 0 or -ENOSPC. */
int conn_queue_nop_reply(struct conn *c, uint32_t ttt, const uint8_t lun[8]);
/* Builds PDUs for queued work into free slots. */
void conn_tx_kick(struct conn *c);
/* Posts one send for every slot not yet sent, unless a send is in
 * flight (its completion leaves the rest for the next flush). The reactor
 * calls it once per turn, before it waits. */
void conn_tx_flush(struct conn *c);
/* Drops a reference a slot held on t, finishing t if it was waiting. */
void conn_task_unref(struct conn *c, struct task *t);
/* Drops every queued slot (connection gone). */
void conn_tx_release_all(struct conn *c);
/* Queues a PDU without data (a SNACK) whose complete BHS is bhs (copied).
 * Returns false when no tx slot is free. */
bool conn_tx_raw(struct conn *c, const void *bhs);
/* The transport's send-completion callback for connections. */
void conn_tx_sent(struct xport_conn *xc, ssize_t res);

static inline struct conn *conn_of_xc(struct xport_conn *xc)
{
	return (struct conn *)((char *)xc - offsetof(struct conn, xc));
}

/* ---- services the target asks for (conn_svc.c) ------------------------- */

/* Async event 1: stop taking commands on c and log it out once its
 * commands are done, or after secs seconds (the target's Parameter3). */
void conn_logout_requested(struct conn *c, unsigned secs);
/* From the reactor's turn: sends the Logout of a draining connection when
 * it is due. */
void conn_svc_poll(struct conn *c);
/* The target closed c (end of stream) while c's own Logout (close the
 * connection) was out and no command was in flight on c: the connection
 * is gone as asked and nothing is lost, so the Logout counts as done
 * (istgt 0.4 can close before its sender thread writes the Logout
 * Response: docs/design/mcs.md section 7). Returns whether that was the
 * case; if not, c is untouched and its loss is a failure as before. */
bool conn_logout_closed(struct conn *c);
/* Async event 4: starts a Text Request exchange on c (RFC 7143 11.9.1)
 * unless one is in progress. */
void conn_renegotiate(struct conn *c);
/* A Text Response for c's exchange: applies the target's declarations,
 * continues while the target has more. Returns 0 or -EPROTO with *why. */
int conn_text_rsp(struct conn *c, const struct bhs_text_rsp *r, const char **why);

/* ---- receive (conn_rx.c) ------------------------------------------------- */

extern const struct seg_rx_ops conn_rx_ops;
/* Posts the next receive unless one is in flight. The reactor calls it
 * after conn_tx_flush(), so that the coalescing delay counts the commands
 * just sent. */
void conn_rx_post(struct conn *c);
/* The transport's receive-completion callback for connections. */
void conn_rx_done(struct xport_conn *xc, ssize_t res);

#endif
