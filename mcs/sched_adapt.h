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
 *  - after a change of k, settle_epochs are thrown away (the commands
 *    already on the old connections finish there);
 *  - window epochs at k give its figures (medians: one noisy epoch does
 *    not decide); after hold epochs at k, k-1 or k+1 is probed for a
 *    window of its own and kept when it did better:
 *      more completions by more than margin_pct (a closed-loop load
 *      shows a better k as more completions), or the same completions
 *      (within the margin) and a mean latency lower by more than the
 *      margin (an open-loop load completes what it is given whatever k;
 *      only its latency tells);
 *    k-1 is also kept on a tie (fewer connections: less CPU per I/O);
 *  - a kept probe goes on in the same direction at once; a failed one
 *    doubles hold (up to hold_max) so a settled session probes rarely;
 *    the next probe tries the other direction; a load change (an epoch
 *    with half or twice the window's completions) brings hold back to
 *    hold_min.
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

#define SADAPT_WINDOW_MAX 8u

struct sched_adapt_cfg {
	uint64_t epoch_ns;          /* 200 ms */
	unsigned window;            /* epochs measured per choice: 3 (1-8) */
	unsigned settle_epochs;     /* thrown away after a change: 1 */
	unsigned hold_min;          /* epochs at k before a probe: 4 */
	unsigned hold_max;          /* ... after failed probes, at most: 64 */
	unsigned margin_pct;        /* what counts as better: 8 % */
	uint64_t min_done;          /* completions of a busy epoch: 64 */
};

/* The defaults above. */
void sched_adapt_cfg_default(struct sched_adapt_cfg *cfg);

struct sadapt_fig {
	uint64_t done;              /* completions per epoch (median) */
	uint64_t lat_ns;            /* mean latency (median of epochs) */
};

enum sadapt_phase { SADAPT_SETTLE = 0, SADAPT_MEASURE };

struct sched_adapt {
	struct sched_adapt_cfg cfg;
	unsigned k;                 /* connections in use */
	unsigned usable;            /* as of the last step */
	unsigned base_k;            /* while probing: the k to go back to */
	bool probing;
	int dir;                    /* next probe: +1 or -1 */
	enum sadapt_phase phase;
	unsigned settle_left;
	unsigned hold, hold_left;
	uint64_t epoch_start;
	uint64_t last_done, last_lat;   /* cumulative counters at epoch start */
	bool primed;                /* last_* hold values */
	unsigned nwin;              /* epochs in win[] (ring) */
	unsigned wpos;
	uint64_t win_done[SADAPT_WINDOW_MAX], win_lat[SADAPT_WINDOW_MAX];
	struct sadapt_fig base;     /* while probing: base_k's figures */
	/* What happened, for tests and statistics. */
	uint64_t probes, kept;
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
