/* SPDX-License-Identifier: MIT */
/*
 * Exponential backoff with a cap and jitter, for re-logging in to a target
 * after its session was lost: many initiators losing one target at the
 * same moment must not come back in lockstep, and a target that stays
 * down must not be hammered.
 *
 *   delay(n) in [d/2, d],  d = min(cap, base * 2^n)
 *
 * ("equal jitter": never less than half the exponential step, so the
 * backoff still grows; never more than the cap). Pure: the caller supplies
 * the random number and the clock.
 */
#ifndef MCSI_SUPERVISOR_BACKOFF_H
#define MCSI_SUPERVISOR_BACKOFF_H

#include <stdint.h>

#define BACKOFF_BASE_MS  1000u
#define BACKOFF_CAP_MS   120000u

struct backoff {
	uint32_t base_ms, cap_ms;
	unsigned attempt;          /* delays handed out since the last reset */
};

/* base_ms >= 1 and cap_ms >= base_ms, else -EINVAL. */
int backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms);
/* The un-jittered step of the next attempt: min(cap, base * 2^attempt). */
uint32_t backoff_step(const struct backoff *b);
/* The delay before the next attempt, in [step/2, step], and counts the
 * attempt. rnd is any random 32-bit value. */
uint32_t backoff_next(struct backoff *b, uint32_t rnd);
/* After a success: the next failure starts from base again. */
void backoff_reset(struct backoff *b);

#endif
