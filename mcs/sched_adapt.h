/* SPDX-License-Identifier: MIT */
/*
 * The adaptive active set of an MC/S session (scheduling policy
 * "adaptive", docs/design/mcs.md section 9): every connection stays logged
 * in (failover and visibility are unchanged), but new commands go only to
 * the first k usable connections, and this controller chooses k by
 * measuring what each choice gives.
 *
 * Why measure instead of a fixed rule: how many connections pay depends
 * on the target. tgt serves every connection from one thread, and QD32
 * over four connections makes its batches per system call four times
 * smaller: 4 connections give 36 k 4K IOPS where one gives 52 k. istgt
 * runs a thread per connection and gains five times with four.
 *
 * The loop, one epoch (epoch_ns) at a time:
 *  - per epoch: the commands completed and their mean latency, from
 *    cumulative counters the caller passes; an epoch with fewer than
 *    min_done completions is idle and decides nothing;
 *  - after hold epochs at k, k+1 or k-1 is probed in pairs of epochs,
 *    one at the probe, one at k (`pairs` of them, in the order P B, B P,
 *    P B, B P, so that whatever a switch costs falls on both). Each pair
 *    gives the ratio probe / base of completions and of mean latency, and
 *    the medians of those ratios decide. Pairing is what makes it work
 *    on a shared machine: the others' builds and guests swing a
 *    second's IOPS by 30 %, which hits both halves of a pair alike,
 *    whereas a window at k followed by a window at k+1 compared the
 *    load of two moments. Switching costs almost nothing: what is in
 *    flight on the old connections (a millisecond's worth at QD32)
 *    finishes there while new commands go to the new set;
 *  - the probe wins on more completions by more than margin_pct (a
 *    closed-loop load shows a better k as more completions), or, with
 *    the same completions (within the margin), on a mean latency lower by
 *    more than the margin (an open-loop load completes what it is given
 *    whatever k; only its latency tells); k-1 also wins a tie (fewer
 *    connections: less CPU per I/O); k+1 on a tie is not kept, but k+2
 *    is probed against k next (istgt gains nothing from a second
 *    connection and several times from four);
 *  - a probe with fewer completions by more than the margin in every
 *    pair of its first half (at least two pairs) ends there, lost: a
 *    k that slows the target down costs half as long to rule out;
 *  - a probe that wins is kept and the next one goes on in the same
 *    direction at once; a lost one doubles hold (up to hold_max), so a
 *    settled session probes rarely, and the next probe tries the other
 *    direction; a load change (an epoch with half or twice the recent
 *    completions) brings hold back to hold_min.
 * It starts at k = 1, so a session is never slower than one connection
 * for longer than the climb takes.
 *
 * Pure logic: no clocks (the caller passes the time), no threads, no
 * allocation. One controller per session, driven by one thread.
 */
#ifndef MCSI_MCS_SCHED_ADAPT_H
#define MCSI_MCS_SCHED_ADAPT_H

#include <stdbool.h>
#include <stdint.h>

#define SADAPT_PAIRS_MAX 8u
#define SADAPT_RECENT    3u

struct sched_adapt_cfg {
	uint64_t epoch_ns;          /* 100 ms */
	unsigned pairs;             /* probe / base epoch pairs per probe: 4 (1-8) */
	unsigned hold_min;          /* epochs at k before a probe: 4 */
	unsigned hold_max;          /* ... after lost probes, at most: 128 */
	unsigned margin_pct;        /* what counts as better: 8 % */
	uint64_t min_done;          /* completions of a busy epoch: 64 */
};

/* The defaults above. */
void sched_adapt_cfg_default(struct sched_adapt_cfg *cfg);

struct sched_adapt {
	struct sched_adapt_cfg cfg;
	unsigned k;                 /* connections in use (this epoch) */
	unsigned usable;            /* as of the last step */
	bool probing;
	unsigned base_k, probe_k;   /* while probing */
	int dir;                    /* next probe: +1 or -1 */
	unsigned hold, hold_left;
	uint64_t epoch_start;
	uint64_t last_done, last_lat;   /* cumulative counters at epoch start */
	bool primed;                /* last_* hold values */
	/* Steady: the last epochs' completions (load changes). */
	unsigned nrecent, rpos;
	uint64_t recent[SADAPT_RECENT];
	/* Probing: the probe epoch waiting for its partner, the pairs'
	 * ratios probe / base in per mille. */
	bool pending;
	uint64_t pend_done, pend_lat;
	unsigned npairs;
	uint32_t r_done[SADAPT_PAIRS_MAX], r_lat[SADAPT_PAIRS_MAX];
	/* What happened, for logs and tests: the last probe's median ratios
	 * (per mille) and counts. */
	uint32_t last_r_done, last_r_lat;
	uint64_t probes, kept;
	uint64_t cut_short;         /* probes ended after half their pairs */
};

/* Starts a controller at k = 1 at time now_ns. cfg NULL: the defaults;
 * values out of range are clamped. */
void sched_adapt_init(struct sched_adapt *a, const struct sched_adapt_cfg *cfg,
		      uint64_t now_ns);

/*
 * Feeds the controller: the time, how many connections are usable now,
 * and two cumulative counters of the session (commands completed, sum of
 * their latencies in ns), which may go back when a connection's counters
 * are dropped (that epoch is thrown away). Call it as often as convenient
 * (every 100 ms or more often); it acts when an epoch is over. A change
 * of `usable` restarts the measurement (k stays, clamped to usable).
 * Returns the k to use (1 <= k <= max(usable, 1)).
 */
unsigned sched_adapt_step(struct sched_adapt *a, uint64_t now_ns, unsigned usable,
			  uint64_t done, uint64_t lat_sum_ns);

#endif
