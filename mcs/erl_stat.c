/* SPDX-License-Identifier: MIT */
/*
 * The StatSN tracker. Invariants: only StatSNs in [ack, ack + window) have
 * bits set (a bit is cleared as ack passes it, so the slot is clean when
 * the ring comes round), held is a subset of rcvd, ack itself has not
 * arrived or is held, and high >= ack.
 */
#include "mcs/erl_stat.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proto/serial.h"

static inline bool bit_get(const uint64_t *map, uint32_t sn)
{
	uint32_t i = sn % ERL_STAT_WINDOW;

	return (map[i / 64] >> (i % 64)) & 1u;
}

static inline void bit_set(uint64_t *map, uint32_t sn)
{
	uint32_t i = sn % ERL_STAT_WINDOW;

	map[i / 64] |= 1ull << (i % 64);
}

static inline void bit_clear(uint64_t *map, uint32_t sn)
{
	uint32_t i = sn % ERL_STAT_WINDOW;

	map[i / 64] &= ~(1ull << (i % 64));
}

void erl_stat_init(struct erl_stat *s, uint32_t expstatsn)
{
	memset(s, 0, sizeof(*s));
	s->ack = s->high = s->req_upto = expstatsn;
}

static void stat_raise_high(struct erl_stat *s, uint32_t end)
{
	if (sn_gt(end, s->high))
		s->high = end;
}

static void stat_advance(struct erl_stat *s)
{
	while (bit_get(s->rcvd, s->ack) && !bit_get(s->held, s->ack)) {
		bit_clear(s->rcvd, s->ack);
		s->ack++;
	}
}

/* sn within [ack, ack + window). */
static bool stat_in_window(const struct erl_stat *s, uint32_t sn)
{
	return !sn_lt(sn, s->ack) && sn - s->ack < ERL_STAT_WINDOW;
}

enum erl_stat_verdict erl_stat_rx(struct erl_stat *s, uint32_t sn, bool hold)
{
	if (sn_lt(sn, s->ack))
		return ERL_STAT_DUP;
	if (!stat_in_window(s, sn))
		return ERL_STAT_FAR;
	if (bit_get(s->rcvd, sn))
		return ERL_STAT_DUP;
	stat_raise_high(s, sn + 1u);
	if (sn == s->ack && !hold) {
		/* In order: the common case. */
		s->ack++;
		stat_advance(s);
		return ERL_STAT_NEW;
	}
	bit_set(s->rcvd, sn);
	if (hold)
		bit_set(s->held, sn);
	return ERL_STAT_NEW;
}

void erl_stat_next(struct erl_stat *s, uint32_t sn)
{
	stat_raise_high(s, sn);
}

void erl_stat_lost(struct erl_stat *s, uint32_t sn)
{
	if (sn_lt(sn, s->ack) || (stat_in_window(s, sn) && bit_get(s->rcvd, sn)))
		return;
	stat_raise_high(s, sn + 1u);
}

int erl_stat_release(struct erl_stat *s, uint32_t sn)
{
	if (!stat_in_window(s, sn) || !bit_get(s->held, sn))
		return -EINVAL;
	bit_clear(s->held, sn);
	stat_advance(s);
	return 0;
}

static unsigned stat_runs(const struct erl_stat *s, uint32_t from,
			  struct erl_run *out, unsigned max, uint32_t *stop)
{
	uint32_t p = from;
	unsigned n = 0;

	while (sn_lt(p, s->high) && n < max) {
		if (stat_in_window(s, p) && bit_get(s->rcvd, p)) {
			p++;
			continue;
		}
		uint32_t beg = p;
		while (sn_lt(p, s->high)) {
			if (!stat_in_window(s, p)) {
				p = s->high;   /* beyond the window: all missing */
				break;
			}
			if (bit_get(s->rcvd, p))
				break;
			p++;
		}
		out[n++] = (struct erl_run){ beg, p - beg };
	}
	*stop = p;
	return n;
}

unsigned erl_stat_gaps(const struct erl_stat *s, struct erl_run *out, unsigned max)
{
	uint32_t stop;

	return stat_runs(s, s->ack, out, max, &stop);
}

unsigned erl_stat_snack(struct erl_stat *s, uint64_t now, uint64_t retry_ns,
			struct erl_run *out, unsigned max)
{
	bool retry = s->req_ns && now >= s->req_ns && now - s->req_ns >= retry_ns;
	uint32_t from = s->req_upto, stop;
	unsigned n;

	if (max == 0)
		return 0;
	if (retry || sn_lt(from, s->ack))
		from = s->ack;
	n = stat_runs(s, from, out, max, &stop);
	if (n) {
		s->req_upto = stop;
		s->req_ns = now ? now : 1;
	}
	return n;
}
