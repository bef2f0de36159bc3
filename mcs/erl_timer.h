/* SPDX-License-Identifier: MIT */
/*
 * The clocks of recovery, as deadlines computed from times passed in (ns on
 * the caller's monotonic clock; nothing here reads a clock):
 *
 *  - DefaultTime2Wait: no Logout for a failed connection, reinstatement
 *    login or TASK REASSIGN before failure + Time2Wait (RFC 7143 13.15);
 *  - DefaultTime2Retain: the target keeps the failed connection's tasks
 *    until Time2Wait + Time2Retain after the failure (13.16); past it,
 *    they are gone (connection state timeout, session state timeout);
 *  - the replacement timeout (ours, like open-iscsi's replacement_timeout,
 *    120 s by default): past it, outstanding and new I/O fail while the
 *    session goes on trying to come back;
 *  - login retry back-off.
 *
 * An Async Message 2/3 (Parameter2/3) or a Logout Response (Time2Wait/
 * Time2Retain) may restate both times from the moment they arrive. A zero
 * in a Logout Response is ignored: LIO answers reason-2 logouts with 0/0
 * while it still holds the tasks (docs/design/recovery.md, "LIO").
 *
 * Pure: no I/O, no clocks, no allocation.
 */
#ifndef MCSI_MCS_ERL_TIMER_H
#define MCSI_MCS_ERL_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define ERL_NS_PER_S  1000000000ull
#define ERL_NS_PER_MS 1000000ull
#define ERL_REPLACEMENT_MS_DEFAULT 120000u   /* as open-iscsi */

struct erl_clock {
	uint64_t failed_ns;              /* when the failure was seen */
	uint64_t wait_until;             /* Time2Wait ends */
	uint64_t retain_until;           /* Time2Retain ends (0: nothing kept) */
	uint64_t replace_until;          /* replacement timeout (0: never) */
};

/* Starts the clocks at now for a failure, with the negotiated
 * DefaultTime2Wait/DefaultTime2Retain (seconds) and the replacement
 * timeout (ms, 0: never). Time2Retain 0 means nothing is kept. */
void erl_clock_start(struct erl_clock *c, uint64_t now, uint32_t time2wait_s,
		     uint32_t time2retain_s, uint32_t replacement_ms);

/* Async Message 2 (drop connection) or 3 (drop all connections) arrived
 * at now with Parameter2 = Time2Wait and Parameter3 = Time2Retain. */
void erl_clock_async(struct erl_clock *c, uint64_t now, uint16_t time2wait_s,
		     uint16_t time2retain_s);

/* A Logout Response (code 0 to reason 2, or a refusal: code 2 or 3)
 * arrived at now with these fields; zeros leave the deadlines as they
 * are. */
void erl_clock_logout(struct erl_clock *c, uint64_t now, uint16_t time2wait_s,
		      uint16_t time2retain_s);

/* Time2Wait is over: cleanup, reinstatement and reassignment may start. */
static inline bool erl_clock_may_act(const struct erl_clock *c, uint64_t now)
{
	return now >= c->wait_until;
}

/* The target still holds the tasks (TASK REASSIGN possible). */
static inline bool erl_clock_retained(const struct erl_clock *c, uint64_t now)
{
	return c->retain_until != 0 && now < c->retain_until;
}

/* The replacement timeout ran out: fail I/O. */
static inline bool erl_clock_replaced(const struct erl_clock *c, uint64_t now)
{
	return c->replace_until != 0 && now >= c->replace_until;
}

/* The next deadline after now (for the reactor's wait), or 0 if none. */
uint64_t erl_clock_next(const struct erl_clock *c, uint64_t now);

/* Delay before login attempt n (0 = first after the failure):
 * min_ms * 2^n, at most max_ms; in ns. */
uint64_t erl_backoff_ns(unsigned attempt, uint32_t min_ms, uint32_t max_ms);

#endif
