/* SPDX-License-Identifier: MIT */
/* Capped exponential backoff with equal jitter (backoff.h). */
#include "supervisor/backoff.h"

#include <errno.h>

int backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms)
{
	if (base_ms == 0 || cap_ms < base_ms)
		return -EINVAL;
	b->base_ms = base_ms;
	b->cap_ms = cap_ms;
	b->attempt = 0;
	return 0;
}

uint32_t backoff_step(const struct backoff *b)
{
	uint64_t d = b->base_ms;
	/* Doubling past 32 steps cannot stay under a 32-bit cap anyway. */
	for (unsigned i = 0; i < b->attempt && i < 32 && d < b->cap_ms; i++)
		d <<= 1;
	return d > b->cap_ms ? b->cap_ms : (uint32_t)d;
}

uint32_t backoff_next(struct backoff *b, uint32_t rnd)
{
	uint32_t d = backoff_step(b);
	uint32_t half = d / 2;
	if (b->attempt < UINT32_MAX)
		b->attempt++;
	return half + rnd % (d - half + 1);
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
