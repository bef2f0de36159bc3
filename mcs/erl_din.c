/* SPDX-License-Identifier: MIT */
/*
 * The input PDU tracker. Invariant: exp has not arrived (it is the first
 * missing number), bit i of ahead stands for exp + 1 + i, and high >= exp.
 * The common case, every PDU in order, touches exp and bytes only.
 */
#include "mcs/erl_din.h"

#include <errno.h>
#include <string.h>

#include "proto/serial.h"

void erl_din_init(struct erl_din *d)
{
	memset(d, 0, sizeof(*d));
}

/* The end of the numbers the target is known to have sent. */
static uint32_t din_limit(const struct erl_din *d)
{
	return d->total_known ? d->total : d->high;
}

/* p >= exp (serial): has it arrived? Beyond the window: never known. */
static bool din_has(const struct erl_din *d, uint32_t p)
{
	uint32_t off = p - d->exp;

	if (off == 0 || off > ERL_DIN_WINDOW)
		return false;
	return (d->ahead >> (off - 1u)) & 1u;
}

static void din_raise_high(struct erl_din *d, uint32_t end)
{
	if (sn_gt(end, d->high))
		d->high = end;
}

enum erl_din_verdict erl_din_check(const struct erl_din *d, uint32_t sn)
{
	uint32_t off;

	if (sn_lt(sn, d->exp))
		return ERL_DIN_DUP;
	off = sn - d->exp;
	if (off == 0)
		return ERL_DIN_NEXT;
	if (off > ERL_DIN_WINDOW)
		return ERL_DIN_FAR;
	return din_has(d, sn) ? ERL_DIN_DUP : ERL_DIN_AHEAD;
}

/* exp arrived: move past it and past what arrived after it. */
static void din_advance(struct erl_din *d, uint32_t len)
{
	d->bytes += len;
	d->exp++;
	for (;;) {
		/* Bit 0 stood for the old exp + 1, which is the new exp. */
		bool got = d->ahead & 1u;
		uint32_t l = d->ahead_len[0];

		d->ahead >>= 1;
		memmove(&d->ahead_len[0], &d->ahead_len[1],
			(ERL_DIN_WINDOW - 1u) * sizeof(d->ahead_len[0]));
		d->ahead_len[ERL_DIN_WINDOW - 1u] = 0;
		if (!got)
			break;
		d->bytes += l;
		d->exp++;
	}
}

int erl_din_commit(struct erl_din *d, uint32_t sn, uint32_t len)
{
	switch (erl_din_check(d, sn)) {
	case ERL_DIN_NEXT:
		din_raise_high(d, sn + 1u);
		if (d->ahead == 0) {
			/* In order, nothing pending: the fast case. */
			d->bytes += len;
			d->exp++;
		} else {
			din_advance(d, len);
		}
		return 0;
	case ERL_DIN_AHEAD: {
		uint32_t i = sn - d->exp - 1u;
		d->ahead |= 1u << i;
		d->ahead_len[i] = len;
		din_raise_high(d, sn + 1u);
		return 0;
	}
	case ERL_DIN_FAR:
		din_raise_high(d, sn + 1u);   /* it exists; asked for later */
		return -ERANGE;
	case ERL_DIN_DUP:
	default:
		return -EALREADY;
	}
}

void erl_din_lost(struct erl_din *d, uint32_t sn)
{
	if (erl_din_check(d, sn) == ERL_DIN_DUP)
		return;
	din_raise_high(d, sn + 1u);
}

int erl_din_status(struct erl_din *d, uint32_t count)
{
	if (count == 0)
		return 0;                     /* "not said" (LIO) */
	if (d->total_known)
		return count == d->total ? 0 : -EPROTO;
	if (sn_lt(count, d->high))
		return -EPROTO;               /* fewer than arrived */
	d->total = count;
	d->total_known = true;
	din_raise_high(d, count);
	return 0;
}

uint32_t erl_din_bytes(const struct erl_din *d)
{
	uint32_t n = d->bytes;

	for (uint32_t a = d->ahead, i = 0; a; a >>= 1, i++)
		if (a & 1u)
			n += d->ahead_len[i];
	return n;
}

bool erl_din_complete(const struct erl_din *d, uint32_t want_bytes)
{
	if (d->total_known)
		return d->exp == d->total;
	if (d->exp != d->high)
		return false;
	return want_bytes == ERL_BYTES_UNKNOWN || d->bytes >= want_bytes;
}

/* Runs of missing numbers in [from, limit), at most max; *stop is where
 * the scan ended (limit unless out ran full). */
static unsigned din_runs(const struct erl_din *d, uint32_t from, uint32_t limit,
			 struct erl_run *out, unsigned max, uint32_t *stop)
{
	uint32_t p = from;
	unsigned n = 0;

	while (sn_lt(p, limit) && n < max) {
		if (din_has(d, p)) {
			p++;
			continue;
		}
		uint32_t beg = p;
		while (sn_lt(p, limit) && !din_has(d, p)) {
			if (p - d->exp > ERL_DIN_WINDOW) {
				p = limit;    /* untracked: all missing */
				break;
			}
			p++;
		}
		out[n++] = (struct erl_run){ beg, p - beg };
	}
	*stop = p;
	return n;
}

unsigned erl_din_gaps(const struct erl_din *d, struct erl_run *out, unsigned max)
{
	uint32_t stop;

	return din_runs(d, d->exp, din_limit(d), out, max, &stop);
}

unsigned erl_din_snack(struct erl_din *d, uint64_t now, uint64_t retry_ns,
		       uint32_t want_bytes, struct erl_run *out, unsigned max)
{
	bool retry = d->req_ns && now >= d->req_ns && now - d->req_ns >= retry_ns;
	uint32_t from = d->req_upto, stop;
	unsigned n;

	if (max == 0)
		return 0;
	if (retry || sn_lt(from, d->exp))
		from = d->exp;
	n = din_runs(d, from, din_limit(d), out, max, &stop);
	if (n)
		d->req_upto = stop;
	/* The count was not said, nothing known is missing, yet data is
	 * short: what is missing is at the end. */
	if (n < max && !d->total_known && want_bytes != ERL_BYTES_UNKNOWN &&
	    d->exp == d->high && d->bytes < want_bytes && (!d->tail_asked || retry)) {
		out[n++] = (struct erl_run){ d->high, 0 };
		d->tail_asked = true;
	}
	if (n)
		d->req_ns = now ? now : 1;
	return n;
}

void erl_din_ack_asked(struct erl_din *d, uint32_t sn, uint32_t ttt)
{
	d->ack_pending = true;
	d->ack_sn = sn;
	d->ack_ttt = ttt;
}

bool erl_din_ack_due(struct erl_din *d, uint32_t *begrun, uint32_t *ttt)
{
	/* RFC 7143 11.16: postponed while there are holes. */
	if (!d->ack_pending || d->exp != d->high || !sn_gt(d->exp, d->ack_sn))
		return false;
	d->ack_pending = false;
	d->acked = d->exp;
	d->acked_bytes = d->bytes;
	*begrun = d->exp;
	*ttt = d->ack_ttt;
	return true;
}

/* Forget everything beyond exp: the target resends from there. */
static void din_restart(struct erl_din *d)
{
	d->ahead = 0;
	memset(d->ahead_len, 0, sizeof(d->ahead_len));
	d->high = d->exp;
	d->total = 0;
	d->total_known = false;
	d->req_upto = d->exp;
	d->req_ns = 0;
	d->tail_asked = false;
	d->ack_pending = false;
}

uint32_t erl_din_reassign(struct erl_din *d, bool read)
{
	bool all_in = d->exp == d->high;

	din_restart(d);
	if (read && all_in && sn_gt(d->exp, d->acked))
		return d->exp - 1u;
	return d->exp;
}

void erl_din_rdata(struct erl_din *d)
{
	d->exp = d->acked;
	d->bytes = d->acked_bytes;
	din_restart(d);
}
