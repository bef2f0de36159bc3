/* SPDX-License-Identifier: MIT */
/*
 * The in-memory transport for unit tests: what the initiator sends piles
 * up in a buffer the test reads (xport_fake_take()); what it receives is
 * what the test injected. Allocation is fine here: this is never on a
 * production path.
 */
#include "fastpath/xport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX_CONNS 16

struct fake_buf {
	uint8_t *p;
	size_t len, off, cap;
};

struct fake_conn {
	struct fake_buf tx, rx;
	size_t chunk;
	int close_err;        /* 1: EOF, <0: error, 0: open */
	unsigned last_delay;  /* delay_us of the last receive posted */
};

struct xport_fake {
	struct xport base;
	struct xport_conn *conns[FAKE_MAX_CONNS];
	unsigned wakes;
};

static struct xport_fake *fk_of(struct xport *x)
{
	return (struct xport_fake *)x;
}

static int buf_put(struct fake_buf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

static int fk_create(const struct xport_cfg *cfg, struct xport **out)
{
	struct xport_fake *f = calloc(1, sizeof(*f));

	(void)cfg;
	if (!f)
		return -ENOMEM;
	f->base.ops = &xport_fake_ops;
	*out = &f->base;
	return 0;
}

static void fk_free_conn(struct xport_conn *xc)
{
	struct fake_conn *c = xc->priv;

	if (c) {
		free(c->tx.p);
		free(c->rx.p);
		free(c);
		xc->priv = NULL;
	}
}

static void fk_destroy(struct xport *x)
{
	free(fk_of(x));
}

static int fk_attach(struct xport *x, struct xport_conn *xc)
{
	struct xport_fake *f = fk_of(x);

	for (unsigned i = 0; i < FAKE_MAX_CONNS; i++) {
		if (f->conns[i])
			continue;
		if (!xc->priv && !(xc->priv = calloc(1, sizeof(struct fake_conn))))
			return -ENOMEM;
		f->conns[i] = xc;
		xc->send_busy = xc->recv_busy = false;
		xc->sready = xc->rready = false;
		xc->detaching = false;
		return 0;
	}
	return -ENOSPC;
}

/* The test keeps reading what was sent after a detach, so the buffers
 * live until the next attach of the same xport_conn or
 * xport_fake_release(). */
static void fk_detach(struct xport *x, struct xport_conn *xc)
{
	struct xport_fake *f = fk_of(x);

	for (unsigned i = 0; i < FAKE_MAX_CONNS; i++)
		if (f->conns[i] == xc)
			f->conns[i] = NULL;
	xc->detaching = true;
	xc->send_busy = xc->recv_busy = false;
}

static int fk_send(struct xport *x, struct xport_conn *xc,
		   const struct iovec *iov, int cnt)
{
	struct fake_conn *c = xc->priv;
	size_t limit = c->chunk ? c->chunk : SIZE_MAX, done = 0;

	(void)x;
	if (xc->send_busy)
		return -EBUSY;
	xc->send_busy = true;
	xc->sends++;
	for (int i = 0; i < cnt && done < limit; i++) {
		size_t n = iov[i].iov_len < limit - done ? iov[i].iov_len : limit - done;
		if (buf_put(&c->tx, iov[i].iov_base, n) < 0)
			return -ENOMEM;
		done += n;
	}
	xc->sres = c->close_err < 0 ? c->close_err : (ssize_t)done;
	xc->sready = true;
	return 0;
}

static int fk_recv(struct xport *x, struct xport_conn *xc,
		   const struct iovec *iov, int cnt)
{
	(void)x;
	if (xc->recv_busy)
		return -EBUSY;
	xc->recv_busy = true;
	xc->rmsg = (struct msghdr){ .msg_iov = (struct iovec *)iov,
				    .msg_iovlen = (size_t)cnt };
	if (xc->priv)
		((struct fake_conn *)xc->priv)->last_delay = 0;
	return 0;
}

/* No timers here: the delay is only recorded, for tests of the policy. */
static int fk_recv_after(struct xport *x, struct xport_conn *xc,
			 const struct iovec *iov, int cnt, unsigned delay_us)
{
	int rc = fk_recv(x, xc, iov, cnt);

	if (rc == 0 && xc->priv)
		((struct fake_conn *)xc->priv)->last_delay = delay_us;
	return rc;
}

static bool fk_deliver(struct xport_conn *xc)
{
	struct fake_conn *c = xc->priv;
	size_t avail = c->rx.len - c->rx.off;
	size_t limit = c->chunk ? c->chunk : SIZE_MAX, done = 0;

	if (!xc->recv_busy)
		return false;
	if (avail == 0) {
		if (!c->close_err)
			return false;
		xc->recv_busy = false;
		xc->recvs++;
		xc->on_recv(xc, c->close_err > 0 ? 0 : c->close_err);
		return true;
	}
	for (size_t i = 0; i < xc->rmsg.msg_iovlen && done < avail && done < limit; i++) {
		size_t n = xc->rmsg.msg_iov[i].iov_len;
		if (n > avail - done)
			n = avail - done;
		if (n > limit - done)
			n = limit - done;
		memcpy(xc->rmsg.msg_iov[i].iov_base, c->rx.p + c->rx.off + done, n);
		done += n;
	}
	c->rx.off += done;
	if (c->rx.off == c->rx.len)
		c->rx.off = c->rx.len = 0;
	xc->recv_busy = false;
	xc->recvs++;
	xc->on_recv(xc, (ssize_t)done);
	return true;
}

static int fk_wait(struct xport *x, int timeout_ms)
{
	(void)x;
	(void)timeout_ms;          /* never sleeps: the test is the peer */
	return 0;
}

static int fk_reap(struct xport *x)
{
	struct xport_fake *f = fk_of(x);
	int n = (int)f->wakes;

	f->wakes = 0;
	for (unsigned i = 0; i < FAKE_MAX_CONNS; i++) {
		struct xport_conn *xc = f->conns[i];
		if (xc && xc->sready) {
			xc->sready = false;
			xc->send_busy = false;
			n++;
			xc->on_send(xc, xc->sres);
		}
		xc = f->conns[i];
		if (xc && fk_deliver(xc))
			n++;
	}
	return n;
}

static int fk_flush(struct xport *x)
{
	(void)x;
	return 0;
}

static int fk_wake(struct xport *x)
{
	fk_of(x)->wakes++;
	return 0;
}

static int fk_pollfd(struct xport *x)
{
	(void)x;
	return -1;
}

const struct xport_ops xport_fake_ops = {
	.name = "fake",
	.create = fk_create,
	.destroy = fk_destroy,
	.attach = fk_attach,
	.detach = fk_detach,
	.send = fk_send,
	.recv = fk_recv,
	.recv_after = fk_recv_after,
	.wait = fk_wait,
	.reap = fk_reap,
	.flush = fk_flush,
	.wake = fk_wake,
	.pollfd = fk_pollfd,
};

size_t xport_fake_take(struct xport_conn *xc, void *buf, size_t cap)
{
	struct fake_conn *c = xc->priv;
	size_t n;

	if (!c || c->tx.len == c->tx.off)
		return 0;                /* tx.p may still be NULL: nothing sent */
	n = c->tx.len - c->tx.off;
	if (n > cap)
		n = cap;
	memcpy(buf, c->tx.p + c->tx.off, n);
	c->tx.off += n;
	if (c->tx.off == c->tx.len)
		c->tx.off = c->tx.len = 0;
	return n;
}

size_t xport_fake_pending(const struct xport_conn *xc)
{
	const struct fake_conn *c = xc->priv;

	return c ? c->tx.len - c->tx.off : 0;
}

int xport_fake_inject(struct xport_conn *xc, const void *buf, size_t len)
{
	struct fake_conn *c = xc->priv;

	return c ? buf_put(&c->rx, buf, len) : -ENOTCONN;
}

void xport_fake_close(struct xport_conn *xc, int err)
{
	struct fake_conn *c = xc->priv;

	if (c)
		c->close_err = err ? err : 1;
}

void xport_fake_chunk(struct xport_conn *xc, size_t chunk)
{
	struct fake_conn *c = xc->priv;

	if (c)
		c->chunk = chunk;
}

unsigned xport_fake_last_delay(const struct xport_conn *xc)
{
	const struct fake_conn *c = xc->priv;

	return c ? c->last_delay : 0;
}

void xport_fake_release(struct xport_conn *xc)
{
	fk_free_conn(xc);
}
