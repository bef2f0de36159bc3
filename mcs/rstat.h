/* SPDX-License-Identifier: MIT */
/*
 * Session statistics without reading another thread's connections.
 *
 * Each reactor sums the counters of its own connections (and of those it
 * already freed) and publishes the sums under a sequence lock when asked
 * (REACTOR_REQ_STATS, through reactor_request(): an atomic OR and a
 * wake-up). mcsi_get_stats() asks every queue, waits briefly for fresh
 * sums and adds them up. The I/O path is unchanged: connections keep
 * their plain counters, which only their reactor touches; nothing is
 * locked and no other thread follows a pointer into a reactor's
 * connection list (a connection removed meanwhile cannot be read after
 * its free).
 */
#ifndef MCSI_MCS_RSTAT_H
#define MCSI_MCS_RSTAT_H

#include <stdatomic.h>
#include <stdint.h>

struct reactor;
struct conn;
struct mcsi_session;
struct mcsi_stats;

enum rstat_id {
	RS_COMMANDS, RS_READS, RS_WRITES, RS_BYTES_IN, RS_BYTES_OUT,
	RS_PDUS_IN, RS_PDUS_OUT, RS_SENDS, RS_RECVS, RS_R2TS,
	RS_NOPS_OUT, RS_NOPS_IN, RS_RETRIES, RS_TIMEOUTS, RS_CONNS,
	RS_N
};

/* Reactor-private sums (one writer, no atomics). */
struct rstat_sums {
	uint64_t v[RS_N];
};

/* What a reactor published: seq is odd while it writes. */
struct rstat_pub {
	_Atomic uint32_t seq;
	_Atomic uint64_t v[RS_N];
} __attribute__((aligned(64)));

/* ctl_req bit (mcs/reactor.h): publish the sums now. */
#define REACTOR_REQ_STATS (1u << 30)

/* On r's thread: adds c's counters to the sums of connections r freed
 * (c is about to go). */
void rstat_retire(struct reactor *r, const struct conn *c);

/* On r's thread: publishes the sums of r's connections, the freed ones
 * included. */
void rstat_publish(struct reactor *r);

/* Any thread: a consistent copy of what p's reactor published last (a
 * sequence-lock reader: retries while a publication is under way). */
void rstat_read(const struct rstat_pub *p, struct rstat_sums *out);

/*
 * Any thread: the session's counters, summed over every queue, into *st.
 * Each queue publishes fresh sums on request; the caller waits for them
 * up to RSTAT_WAIT_MS per queue, except on a reactor thread of s (a
 * callback), where it takes what the other queues published last instead
 * of waiting. Queues without a thread (application-driven sessions) are
 * summed in the caller's thread, which must then be the one that drives
 * the session. Counters are monotonic; connections that were removed
 * still count (st->connections counts the present ones). Returns 0.
 */
int rstat_collect(struct mcsi_session *s, struct mcsi_stats *st);

#define RSTAT_WAIT_MS 100u

#endif
