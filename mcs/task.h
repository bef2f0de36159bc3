/* SPDX-License-Identifier: MIT */
/*
 * Tasks and the per-queue task table. A task is one exchange with the
 * target that has an Initiator Task Tag: a SCSI command, a task management
 * function, a NOP-Out ping or a logout. Tasks come from a table owned by one
 * reactor (no locks), preallocated at session start.
 *
 * The ITT is [generation:10][queue:6][slot:16]: a lookup is one array index,
 * the queue bits say which reactor owns the task (MC/S), and the generation
 * catches a target that answers a task that was already completed and
 * reused.
 */
#ifndef MCSI_MCS_TASK_H
#define MCSI_MCS_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mcs/erl_din.h"

#define TASK_SLOT_BITS   16u
#define TASK_QUEUE_BITS  6u
#define TASK_GEN_SHIFT   (TASK_SLOT_BITS + TASK_QUEUE_BITS)
#define TASK_MAX_SLOTS   (1u << TASK_SLOT_BITS)
#define TASK_MAX_QUEUES  (1u << TASK_QUEUE_BITS)
#define TASK_MAX_R2T     16u    /* MaxOutstandingR2T we can track per task */

struct conn;
struct mcsi_cmd;

enum task_kind { TASK_SCSI = 1, TASK_TMF, TASK_NOP, TASK_LOGOUT, TASK_TEXT };

enum task_state {
	TASK_FREE = 0,
	TASK_QUEUED,      /* waiting for the CmdSN window or a tx slot */
	TASK_ACTIVE,      /* command sent, waiting for the target */
	TASK_DONE,        /* finished, waiting for tx slots to drain */
};

/* One R2T being answered: a Data-Out sequence. */
struct task_r2t {
	uint32_t ttt, offset, len, sent, datasn;
};

struct task {
	uint32_t itt;
	uint8_t kind, state;
	/* Ring of outstanding R2Ts: an R2T stays outstanding until its last
	 * Data-Out has been sent; the first r2t_built of them have all
	 * their Data-Out PDUs built already. */
	uint8_t r2t_head, nr2t, r2t_built;
	struct conn *conn;                /* allegiance */
	struct task *next;                /* conn's queues */
	bool in_dout;                     /* on the conn's Data-Out queue */
	bool counted;                     /* in its connection's inflight */
	bool awaits_r2t;                  /* in its connection's r2t_waiters */
	uint32_t r2t_asked;               /* bytes R2Ts asked for so far */
	bool retry;                       /* re-issue when the slots drain */
	uint32_t tx_refs;                 /* tx slots still pointing here */
	uint32_t cmdsn;
	uint32_t lun;
	uint64_t start_ns, deadline_ns;

	/* SCSI */
	struct mcsi_cmd *cmd;
	uint32_t wlen;                    /* bytes to write */
	uint32_t imm_len;                 /* immediate data */
	uint32_t unsol_end, unsol_sent, unsol_datasn;
	uint32_t exp_r2tsn;
	struct task_r2t r2t[TASK_MAX_R2T];
	const struct iovec *riov;         /* read buffers */
	int riovcnt;
	uint32_t rlen;
	uint32_t exp_datasn, rx_bytes;
	uint8_t ua_left;
	uint8_t abort_state;              /* 0, 1: ABORT TASK sent, 2: LUN RESET */
	int result;                       /* -errno decided while draining */
	/* ERL 2 (mcs/conn_erl2.h): enum erl2_task_state, re-issues after a
	 * connection loss, and the probe deadline / progress mark. */
	uint8_t erl2, erl2_reissues;
	uint32_t erl2_mark;
	uint64_t erl2_by;
	/* ERL 1 (mcs/conn_erl1.h): the input PDU sequence (at ERL >= 1
	 * exp_datasn and rx_bytes follow it), and a status that arrived
	 * while Data-In is missing: held (not acknowledged, not completed)
	 * until the data is complete. */
	struct erl_din din;
	bool held;
	uint32_t held_statsn, held_want;
	uint64_t fault_ns;                /* when its recovery began (0: none) */

	/* TMF / NOP / logout */
	uint8_t tmf_fn;
	uint8_t tmf_response;
	uint32_t ref_itt, ref_cmdsn;      /* ABORT TASK: the task aborted */
	uint32_t text_ttt;                /* Text: the target's TTT to answer */
	uint8_t text_rounds;              /* Text Requests sent */
	void (*ctl_done)(struct task *t, int err);
	void *ctl_priv;
};

struct task_table {
	struct task *tasks;
	uint32_t n, nfree, live;
	uint32_t *free;                   /* stack of free slots */
	unsigned queue;
};

/* Allocates n tasks (n <= TASK_MAX_SLOTS) for queue (< TASK_MAX_QUEUES).
 * Returns 0 or -ENOMEM / -EINVAL. */
int task_table_init(struct task_table *tt, uint32_t n, unsigned queue);
void task_table_fini(struct task_table *tt);

/* Returns a zeroed task with a fresh ITT, or NULL when none is free. */
struct task *task_alloc(struct task_table *tt, enum task_kind kind);
/* Returns t to the table; its ITT becomes stale. */
void task_free(struct task_table *tt, struct task *t);

/* The live task with this ITT, or NULL (unknown, stale or other queue). */
static inline struct task *task_lookup(struct task_table *tt, uint32_t itt)
{
	uint32_t slot = itt & (TASK_MAX_SLOTS - 1u);
	struct task *t;

	if (slot >= tt->n || ((itt >> TASK_SLOT_BITS) & (TASK_MAX_QUEUES - 1u)) != tt->queue)
		return 0;
	t = &tt->tasks[slot];
	return t->itt == itt && t->state != TASK_FREE ? t : 0;
}

/* Which queue an ITT belongs to. */
static inline unsigned task_itt_queue(uint32_t itt)
{
	return (itt >> TASK_SLOT_BITS) & (TASK_MAX_QUEUES - 1u);
}

/* Gives t a new ITT (same slot, next generation), e.g. before re-issuing
 * it, so that late PDUs for the old one are recognised as stale. */
void task_renew_itt(struct task *t);

#endif
