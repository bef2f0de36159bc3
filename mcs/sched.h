/* SPDX-License-Identifier: MIT */
/*
 * Scheduling policies of an MC/S session, after the Windows initiator's
 * set: which connection gets a new command, and which one takes over when
 * a connection fails or leaves. Pure decisions over a connection-set
 * snapshot (mcs/connset.h): no state but the caller's cursor, so a
 * submitter keeps its own cursor and no two CPUs share one.
 *
 *   round robin        each usable connection in turn
 *   least queue depth  the connection with the fewest commands outstanding
 *                      (submitted and not finished), preferring the
 *                      submitter's own queue within `slack` (the default)
 *   failover only      one active connection, the rest standby: the
 *                      usable connection of least weight (ties: the
 *                      leading connection, then the lowest CID); a
 *                      standby takes over when it fails, and the active
 *                      one takes its role back when it returns
 *   weighted paths     the usable connections of least weight share the
 *                      commands in turn; heavier ones are used only when
 *                      no lighter one is usable (Windows' "weighted
 *                      paths"; weights 0 and 1 give "round robin with
 *                      subset")
 *   adaptive           least queue depth over the first k UP connections
 *                      (slot order; snapshot field `active`), k chosen by
 *                      measurement (mcs/sched_adapt.h): the rest stay
 *                      logged in for failover. The default with more than
 *                      one connection: whether more connections pay
 *                      depends on the target (docs/perf.md).
 *
 * Weights are set per connection with cset_set_weight(); lower is
 * preferred; all connections start at 0.
 *
 * Why least queue depth is the default (Windows defaults to round robin):
 *  1. Locality. A submitter's command stays on its own CPU's queue while
 *     that queue is at most `slack` commands busier than the least busy
 *     connection: no cross-CPU wake-up, the reactor's task table and
 *     connection stay in its cache. Round robin sends N-1 of every N
 *     commands to another CPU's reactor.
 *  2. Unequal connections. When one connection is slower (its target
 *     thread shares a busy CPU, a longer path, TCP retransmissions), its
 *     depth grows and new commands go elsewhere. Round robin keeps giving
 *     it 1/N of the commands, so the session runs at N times the slowest
 *     connection.
 *  3. With equal connections it spreads like round robin: ties rotate
 *     through the cursor, so a single submitter at queue depth 32 over 4
 *     connections ends with 10, 8, 7 and 7 commands on them.
 * Its cost is reading the depth counters of the usable connections, and
 * only when the local queue holds more than `slack` commands.
 */
#ifndef MCSI_MCS_SCHED_H
#define MCSI_MCS_SCHED_H

#include <stdint.h>

#include "mcs/connset.h"

enum sched_policy {
	SCHED_LEAST_DEPTH = 0,   /* the default */
	SCHED_ROUND_ROBIN,
	SCHED_FAILOVER,
	SCHED_WEIGHTED,
	SCHED_ADAPTIVE,
};

#define SCHED_DEFAULT_SLACK 2u
#define SCHED_NO_QUEUE      (~0u)   /* local_queue when locality does not matter */

struct sched_cfg {
	enum sched_policy policy;
	/* Least queue depth: how many more commands the submitter's own
	 * queue may hold than the least busy connection before a command
	 * goes to another queue. 0 with SCHED_NO_QUEUE: Windows' plain
	 * least queue depth. */
	uint32_t slack;
};

/* SCHED_LEAST_DEPTH with SCHED_DEFAULT_SLACK. */
void sched_cfg_default(struct sched_cfg *cfg);

/* Where a submitter's rotation stands (round robin and ties). One per
 * submitter or queue; never shared between CPUs. */
struct sched_cursor {
	uint32_t next;                   /* slot to look at first */
};

/* Starts a cursor; seed spreads submitters (e.g. their queue index). */
static inline void sched_cursor_init(struct sched_cursor *c, unsigned seed)
{
	c->next = seed % CSET_MAX;
}

/*
 * Chooses the connection for a new command among the UP connections of s,
 * for a submitter on local_queue (SCHED_NO_QUEUE: none). Advances *cur.
 * Returns the slot (struct cset_conn.slot) or -ENOTCONN when no
 * connection is UP. The caller adds the command to that slot's depth
 * (cset_submitted()) and submits it to the slot's queue.
 */
int sched_pick(const struct sched_cfg *cfg, const struct cset_snap *s,
	       unsigned local_queue, struct sched_cursor *cur);

/*
 * The connection in failed_slot failed or is leaving: which UP connection
 * takes over its role. Failover only and weighted paths: the next by
 * weight (the new active one); round robin and least queue depth: the
 * least busy one, which the failed connection's submitters should use
 * until their own queue has a connection again. Returns the slot or
 * -ENOTCONN when no other connection is UP.
 */
int sched_takeover(const struct sched_cfg *cfg, const struct cset_snap *s,
		   int failed_slot);

/* Adaptive: whether the connection in snapshot entry i is one of the
 * first s->active UP connections (every UP one when active is 0). */
bool sched_in_active_set(const struct cset_snap *s, unsigned i);

/* "least-queue-depth", "round-robin", "failover-only", "weighted-paths",
 * "adaptive". */
const char *sched_policy_name(enum sched_policy p);
/* Parses those names (and "lqd", "rr", "failover", "weighted", "auto"),
 * case insensitive. Returns 0 or -EINVAL. */
int sched_policy_parse(const char *name, enum sched_policy *out);

#endif
