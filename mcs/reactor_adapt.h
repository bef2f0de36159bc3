/* SPDX-License-Identifier: MIT */
/*
 * The adaptive active set wired to a session (scheduling policy
 * "adaptive", mcs/sched_adapt.h): queue 0's reactor measures on its
 * periodic scan and publishes k in the connection set (cset_set_active());
 * submitters read it with their cached view, so the I/O path takes no
 * lock and no extra shared write.
 */
#ifndef MCSI_MCS_REACTOR_ADAPT_H
#define MCSI_MCS_REACTOR_ADAPT_H

#include <stdint.h>

struct mcsi_session;
struct reactor;

/* At session creation, after cset_init(): starts the controller (k = 1)
 * when the policy is adaptive; otherwise nothing. */
void reactor_adapt_init(struct mcsi_session *s, uint64_t now_ns);

/* From queue 0's scan (every 100 ms): one controller step over the
 * session's completion counters; other queues and policies return. */
void reactor_adapt_scan(struct reactor *r);

#endif
