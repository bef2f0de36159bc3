/* SPDX-License-Identifier: MIT */
/*
 * The connection set of an MC/S session (docs/design/mcs.md): which
 * connections the session has (CID, state, owning queue, weight), the
 * negotiated MaxConnections bound, and what each connection carries
 * (commands, payload bytes, queue depth, latency), readable at any time as
 * a snapshot.
 *
 * No lock anywhere:
 *  - Membership changes (reserve, publish, leave, fail, release) are rare
 *    and may come from any thread: each is one compare-and-swap on the
 *    slot's state word, and the MaxConnections bound is a CAS on `used`,
 *    so two threads adding connections at once can never exceed it (tgt
 *    does not enforce MaxConnections; we do).
 *  - The state word carries a generation that every transition bumps, so
 *    a snapshot detects a slot that was recycled while it read it and
 *    reads it again (a per-slot sequence lock without a writer lock).
 *  - Counters have one writer, the reactor that owns the connection
 *    (plain load + store, no locked instruction); the queue depth is the
 *    exception: submitters add to the depth of the connection they chose
 *    and the owner subtracts, a per-connection atomic that only CPUs
 *    sending to that connection touch.
 *  - Commands that find the CmdSN window closed register their queue in
 *    one bit mask; whichever connection's PDU reopens the window wakes
 *    exactly the queues whose bit is set (cset_window_wait/opened).
 *
 * Pure bookkeeping: no sockets, no threads, no clocks, no allocation.
 */
#ifndef MCSI_MCS_CONNSET_H
#define MCSI_MCS_CONNSET_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CSET_MAX         16u    /* connections one session can hold */
#define CSET_MAX_QUEUES  64u    /* queue bits in the window-waiter mask */

/* A slot's life: FREE -> CLAIMED -> LOGIN -> UP -> LEAVING -> FREE, with
 * FAILED reachable from LOGIN, UP and LEAVING. CLAIMED is internal (the
 * reserver writes the slot's fields) and never reported. */
enum cset_state {
	CSET_FREE = 0,
	CSET_CLAIMED,
	CSET_LOGIN,       /* counted against MaxConnections, logging in */
	CSET_UP,          /* full feature phase: new commands may go here */
	CSET_LEAVING,     /* logout (reason 1) started: no new commands */
	CSET_FAILED,      /* dead; still counted until released */
};

struct cset_slot {
	_Atomic uint32_t sw;             /* generation << 8 | enum cset_state */
	_Atomic uint32_t depth;          /* submitted here and not finished */
	_Atomic uint32_t weight;         /* scheduling weight (sched.h) */
	/* Written while CLAIMED, read by snapshots: relaxed atomics so that
	 * a reader racing a recycle reads stale values, never torn ones. */
	_Atomic uint16_t cid;
	_Atomic uint8_t queue;
	_Atomic bool lead;
	/* One writer: the reactor that owns the connection. */
	_Atomic uint64_t commands, bytes_in, bytes_out, lat_sum_ns, lat_count;
} __attribute__((aligned(64)));

struct connset {
	uint32_t negotiated;             /* MaxConnections as negotiated */
	_Atomic uint32_t limit;          /* min(negotiated, CSET_MAX, learned) */
	unsigned nqueues;
	_Atomic uint32_t used;           /* slots not FREE (CLAIMED included) */
	_Atomic uint32_t nup;            /* slots UP */
	_Atomic uint32_t next_cid;
	_Atomic uint32_t gen;            /* membership changes so far */
	/* Nonzero while a connection logs out alone: no queue takes a new
	 * CmdSN (cset_pause(); read on every reservation, written rarely). */
	_Atomic uint32_t paused;
	/* Scheduling policy "adaptive" (mcs/sched_adapt.h): new commands go
	 * to the first `active` UP connections (slot order); 0: all.
	 * Written rarely (cset_set_active()), read with the view. */
	_Atomic uint32_t active;
	_Atomic uint64_t win_waiters __attribute__((aligned(64)));
	struct cset_slot slot[CSET_MAX];
};

/* Sets up an empty set for a session that negotiated max_conns
 * (MaxConnections, 1-65535) and runs nqueues reactor queues (1-64).
 * Returns 0 or -EINVAL. */
int cset_init(struct connset *cs, uint32_t max_conns, unsigned nqueues);

/* Registers the leading connection (already logged in) on queue: UP at
 * once. Further CIDs are allocated after lead_cid. Returns the slot index,
 * -EBUSY if the set is not empty, -EINVAL for a queue out of range. */
int cset_add_lead(struct connset *cs, uint16_t lead_cid, unsigned queue);

/* What cset_reserve() hands out for one non-leading login. */
struct cset_ticket {
	int slot;
	uint16_t cid;
	unsigned queue;
};

/*
 * Reserves a slot for a new connection before its login starts: counts it
 * against MaxConnections, gives it a CID no other connection of the set
 * uses (never the most recently freed ones first: CIDs go round the
 * 16-bit space), and assigns it a queue (queue < 0: the queue with the
 * fewest connections). The slot is LOGIN until cset_publish() or
 * cset_cancel(). Returns 0; -EUSERS when the session already has `limit`
 * connections (counting those logging in or out); -EINVAL for a queue out
 * of range.
 */
int cset_reserve(struct connset *cs, int queue, struct cset_ticket *tk);

/* The login of a reserved slot failed: the slot is free again. */
void cset_cancel(struct connset *cs, int slot);

/* The login succeeded and the connection is attached to its queue: new
 * commands may be scheduled on it. Returns 0 or -EINVAL (not LOGIN). */
int cset_publish(struct connset *cs, int slot);

/* Starts the clean removal of one connection (Logout reason 1): the
 * scheduler stops choosing it; commands already there finish. Returns 0,
 * -EBUSY when it is the last UP connection (that is a session logout),
 * -EINVAL when the slot is not UP. */
int cset_leave(struct connset *cs, int slot);

/* The connection died (or its login did). Returns the state it was in
 * (CSET_FREE/CSET_FAILED when there was nothing to fail). */
enum cset_state cset_fail(struct connset *cs, int slot);

/* A LEAVING or FAILED connection is gone: its slot and CID are free and
 * it no longer counts against MaxConnections. Returns 0 or -EINVAL. */
int cset_release(struct connset *cs, int slot);

/* The target refused a connection although we were under the negotiated
 * limit (0x0206 / 0x0208): from now on the limit is what the session has
 * without the refused one. Call it before cset_cancel() of the refused
 * slot. Returns the new limit. */
uint32_t cset_learn_limit(struct connset *cs);

/* The slot of the connection with this CID (not FREE), or -ENOENT. */
int cset_find(const struct connset *cs, uint16_t cid);

/* Sets a connection's scheduling weight (sched.h: priority for failover
 * and weighted paths). Returns 0 or -EINVAL. */
int cset_set_weight(struct connset *cs, int slot, uint32_t weight);

/* The adaptive scheduler's active set: new commands go to the first k UP
 * connections in slot order (0: all). A change moves the membership
 * generation, so every submitter re-reads its view. One writer at a
 * time (queue 0's reactor). */
void cset_set_active(struct connset *cs, uint32_t k);

/* ---- snapshots ----------------------------------------------------------- */

struct cset_conn {
	int slot;
	uint16_t cid;
	uint8_t state;                   /* enum cset_state, never FREE/CLAIMED */
	uint8_t queue;
	bool lead;
	uint32_t weight;
	uint32_t depth;
	uint64_t commands, bytes_in, bytes_out, lat_sum_ns, lat_count;
};

struct cset_snap {
	uint32_t negotiated, limit, used, gen;
	uint32_t active;                 /* cset_set_active(): 0 all */
	unsigned nqueues;
	unsigned n;                      /* conn[0..n), in slot order */
	/* The entries a new command may go to: conn[0..active_end), i.e.
	 * up to the `active`-th UP one (all n when active is 0 or exceeds
	 * the UP ones). Set with the snapshot, so that the scheduler does
	 * not walk the entries per pick; a snapshot built or changed by
	 * hand sets it with cset_snap_active_end(). */
	unsigned active_end;
	struct cset_conn conn[CSET_MAX];
};

/* active_end computed from s's entries and `active` (what cset_snapshot()
 * and cset_view() store). Any thread; s is only read. */
unsigned cset_snap_active_end(const struct cset_snap *s);

/* Copies the set: every connection that is not FREE, each entry
 * consistent in itself (a slot recycled during the copy is read again).
 * Counters are racy against their writers but never go back. Any
 * thread. */
void cset_snapshot(const struct connset *cs, struct cset_snap *out);

/* As cset_snapshot() without the five traffic counters (left 0): what the
 * scheduler reads on the submission path. */
void cset_view(const struct connset *cs, struct cset_snap *out);

/* The membership generation: changes whenever a snapshot would differ in
 * anything but counters, so that a cached snapshot can be kept until it
 * moves. */
static inline uint32_t cset_gen(const struct connset *cs)
{
	return atomic_load_explicit(&cs->gen, memory_order_acquire);
}

/* Re-reads only the queue depths of a snapshot (the scheduler's input
 * between membership changes). */
void cset_refresh_depths(const struct connset *cs, struct cset_snap *s);

/* ---- the data path --------------------------------------------------------- */

static inline enum cset_state cset_state_of(uint32_t sw)
{
	return (enum cset_state)(sw & 0xffu);
}

static inline bool cset_usable(const struct connset *cs, int slot)
{
	return cset_state_of(atomic_load_explicit(&cs->slot[slot].sw,
						  memory_order_acquire)) == CSET_UP;
}

/* A submitter chose this connection for a command (any thread). */
static inline void cset_submitted(struct connset *cs, int slot)
{
	atomic_fetch_add_explicit(&cs->slot[slot].depth, 1, memory_order_relaxed);
}

/* A command left this connection without running on it (re-routed by its
 * reactor because the connection went away before it was sent). */
static inline void cset_unsubmitted(struct connset *cs, int slot)
{
	atomic_fetch_sub_explicit(&cs->slot[slot].depth, 1, memory_order_relaxed);
}

/* Adds v to a counter that only the owning reactor writes: no locked
 * instruction, readers see the old or the new value. */
static inline void cset_add_owned(_Atomic uint64_t *ctr, uint64_t v)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* Owner only: a command PDU went out on the connection. */
static inline void cset_count_cmd(struct connset *cs, int slot)
{
	cset_add_owned(&cs->slot[slot].commands, 1);
}

/* Owner only: payload bytes received (Data-In) and sent (immediate,
 * unsolicited and solicited Data-Out). */
static inline void cset_count_bytes(struct connset *cs, int slot, uint64_t in,
				    uint64_t out)
{
	if (in)
		cset_add_owned(&cs->slot[slot].bytes_in, in);
	if (out)
		cset_add_owned(&cs->slot[slot].bytes_out, out);
}

/* Owner only: a command of this connection finished after lat_ns. */
static inline void cset_count_done(struct connset *cs, int slot, uint64_t lat_ns)
{
	struct cset_slot *s = &cs->slot[slot];

	cset_add_owned(&s->lat_sum_ns, lat_ns);
	cset_add_owned(&s->lat_count, 1);
	atomic_fetch_sub_explicit(&s->depth, 1, memory_order_relaxed);
}

/* ---- the shared CmdSN window ----------------------------------------------- */

/*
 * Queue q found the session's CmdSN window closed. Call this, then try to
 * reserve a CmdSN once more: either that succeeds, or the connection whose
 * PDU opens the window later finds q's bit in cset_window_opened(). (Both
 * sides order their two steps with a full fence, so they cannot both miss
 * each other.)
 */
static inline void cset_window_wait(struct connset *cs, unsigned q)
{
	atomic_fetch_or_explicit(&cs->win_waiters, 1ull << q, memory_order_acq_rel);
	atomic_thread_fence(memory_order_seq_cst);
}

/*
 * After sess_window_update() reported that MaxCmdSN grew (on any
 * connection): the queues waiting for it, whose bits are now clear; the
 * caller kicks them (its own directly, the others by a wake-up). Costs a
 * fence and a load when nobody waits.
 */
static inline uint64_t cset_window_opened(struct connset *cs)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&cs->win_waiters, memory_order_relaxed))
		return 0;
	return atomic_exchange_explicit(&cs->win_waiters, 0, memory_order_acq_rel);
}

/*
 * Pausing the session's commands around a connection logout (Logout
 * reason 1): while paused, no queue takes a new CmdSN; its commands wait
 * as for a closed window and register in the same waiter mask. istgt 0.4
 * needs it: when a connection's logout ends, it clears every queued
 * command of the whole I_T nexus (all connections of the session share
 * the initiator port), so commands in flight on the other connections at
 * that moment are never answered (docs/design/mcs.md section 8).
 *
 * cset_pause() and cset_resume() pair; one pauser at a time (the caller
 * serializes). cset_resume() returns the waiter mask like
 * cset_window_opened(): the caller kicks those queues.
 */
static inline void cset_pause(struct connset *cs)
{
	atomic_store_explicit(&cs->paused, 1u, memory_order_seq_cst);
}

static inline bool cset_paused(const struct connset *cs)
{
	return atomic_load_explicit(&cs->paused, memory_order_acquire) != 0;
}

static inline uint64_t cset_resume(struct connset *cs)
{
	atomic_store_explicit(&cs->paused, 0u, memory_order_seq_cst);
	return atomic_exchange_explicit(&cs->win_waiters, 0, memory_order_acq_rel);
}

/* A static name for a state ("up", "login", ...). */
const char *cset_state_name(enum cset_state st);

#endif
