/* SPDX-License-Identifier: MIT */
/*
 * The StatSN tracker. Invariant: bit 0 of rcvd is clear or bit 0 of held
 * is set (otherwise ack would have moved), held is a subset of rcvd, and
 * high >= ack.
 */
#include "mcs/erl_stat.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proto/serial.h"

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
	while ((s->rcvd & 1u) && !(s->held & 1u)) {
		s->rcvd >>= 1;
		s->held >>= 1;
		s->ack++;
	}
}

/* Bit index of sn, or -1 outside [ack, ack + window). */
static int stat_bit(const struct erl_stat *s, uint32_t sn)
{
	if (sn_lt(sn, s->ack) || sn - s->ack >= ERL_STAT_WINDOW)
		return -1;
	return (int)(sn - s->ack);
}

enum erl_stat_verdict erl_stat_rx(struct erl_stat *s, uint32_t sn)
{
	int b;

	if (sn_lt(sn, s->ack))
		return ERL_STAT_DUP;
	if ((b = stat_bit(s, sn)) < 0)
		return ERL_STAT_FAR;
	if ((s->rcvd >> b) & 1u)
		return ERL_STAT_DUP;
	s->rcvd |= 1ull << b;
	stat_raise_high(s, sn + 1u);
	stat_advance(s);
	return ERL_STAT_NEW;
}

void erl_stat_next(struct erl_stat *s, uint32_t sn)
{
	stat_raise_high(s, sn);
}

void erl_stat_lost(struct erl_stat *s, uint32_t sn)
{
	int b = stat_bit(s, sn);

	if (sn_lt(sn, s->ack) || (b >= 0 && ((s->rcvd >> b) & 1u)))
		return;
	stat_raise_high(s, sn + 1u);
}

int erl_stat_hold(struct erl_stat *s, uint32_t sn)
{
	int b;

	/* A status already acknowledged cannot be held back any more: the
	 * caller must hold before the next PDU carries ExpStatSN, i.e. in
	 * the same receive callback. Those below ack are refused. */
	if ((b = stat_bit(s, sn)) < 0 || !((s->rcvd >> b) & 1u))
		return -EINVAL;
	s->held |= 1ull << b;
	return 0;
}

int erl_stat_release(struct erl_stat *s, uint32_t sn)
{
	int b;

	if ((b = stat_bit(s, sn)) < 0 || !((s->held >> b) & 1u))
		return -EINVAL;
	s->held &= ~(1ull << b);
	stat_advance(s);
	return 0;
}

static unsigned stat_runs(const struct erl_stat *s, uint32_t from,
			  struct erl_run *out, unsigned max, uint32_t *stop)
{
	uint32_t p = from;
	unsigned n = 0;

	while (sn_lt(p, s->high) && n < max) {
		int b = stat_bit(s, p);
		if (b >= 0 && ((s->rcvd >> b) & 1u)) {
			p++;
			continue;
		}
		uint32_t beg = p;
		while (sn_lt(p, s->high)) {
			b = stat_bit(s, p);
			if (b < 0) {
				p = s->high;   /* beyond the window: all missing */
				break;
			}
			if ((s->rcvd >> b) & 1u)
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
