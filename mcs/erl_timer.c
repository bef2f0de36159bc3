/* SPDX-License-Identifier: MIT */
#include "mcs/erl_timer.h"

static void clock_times(struct erl_clock *c, uint64_t now, uint32_t t2w,
			uint32_t t2r)
{
	c->wait_until = now + t2w * ERL_NS_PER_S;
	/* Time2Retain counts after Time2Wait (RFC 7143 13.16). */
	c->retain_until = t2r ? c->wait_until + t2r * ERL_NS_PER_S : 0;
}

void erl_clock_start(struct erl_clock *c, uint64_t now, uint32_t time2wait_s,
		     uint32_t time2retain_s, uint32_t replacement_ms)
{
	c->failed_ns = now;
	clock_times(c, now, time2wait_s, time2retain_s);
	c->replace_until = replacement_ms ? now + replacement_ms * ERL_NS_PER_MS : 0;
}

void erl_clock_async(struct erl_clock *c, uint64_t now, uint16_t time2wait_s,
		     uint16_t time2retain_s)
{
	clock_times(c, now, time2wait_s, time2retain_s);
}

void erl_clock_logout(struct erl_clock *c, uint64_t now, uint16_t time2wait_s,
		      uint16_t time2retain_s)
{
	if (time2wait_s)
		c->wait_until = now + time2wait_s * ERL_NS_PER_S;
	if (time2retain_s)
		c->retain_until = (c->wait_until > now ? c->wait_until : now) +
				  time2retain_s * ERL_NS_PER_S;
}

static void earliest(uint64_t *best, uint64_t t, uint64_t now)
{
	if (t > now && (*best == 0 || t < *best))
		*best = t;
}

uint64_t erl_clock_next(const struct erl_clock *c, uint64_t now)
{
	uint64_t best = 0;

	earliest(&best, c->wait_until, now);
	earliest(&best, c->retain_until, now);
	earliest(&best, c->replace_until, now);
	return best;
}

uint64_t erl_backoff_ns(unsigned attempt, uint32_t min_ms, uint32_t max_ms)
{
	uint64_t ms = min_ms;

	if (max_ms < min_ms)
		max_ms = min_ms;
	for (unsigned i = 0; i < attempt && ms < max_ms; i++)
		ms *= 2;
	if (ms > max_ms)
		ms = max_ms;
	return ms * ERL_NS_PER_MS;
}
