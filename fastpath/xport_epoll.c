/* SPDX-License-Identifier: MIT */
/*
 * The portable transport: non-blocking sendmsg()/recvmsg() driven by a
 * level-triggered epoll set. A send is tried at once (the socket buffer
 * usually has room) and waits for EPOLLOUT only when it is full; a receive
 * waits for EPOLLIN. Completions are queued and run in reap(), never from
 * inside send()/recv()/wait(), so callers are not re-entered.
 */
#include "fastpath/xport.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EP_BATCH 64

struct xport_epoll {
	struct xport base;
	int epfd, evfd;
	struct xport_conn *ready;        /* completions to dispatch */
	struct xport_conn **tail;
	unsigned wakes;                  /* eventfd reads not yet reaped */
};

static struct xport_epoll *ep_of(struct xport *x)
{
	return (struct xport_epoll *)x;
}

static void ep_queue(struct xport_epoll *e, struct xport_conn *xc)
{
	for (struct xport_conn *p = e->ready; p; p = p->ready_next)
		if (p == xc)
			return;
	xc->ready_next = NULL;
	*e->tail = xc;
	e->tail = &xc->ready_next;
}

static void ep_unqueue(struct xport_epoll *e, struct xport_conn *xc)
{
	struct xport_conn **pp = &e->ready;

	while (*pp && *pp != xc)
		pp = &(*pp)->ready_next;
	if (*pp)
		*pp = xc->ready_next;
	e->tail = &e->ready;
	while (*e->tail)
		e->tail = &(*e->tail)->ready_next;
}

static int ep_mod(struct xport_epoll *e, struct xport_conn *xc)
{
	struct epoll_event ev = {
		.events = EPOLLIN | (xc->want_out ? EPOLLOUT : 0u),
		.data.ptr = xc,
	};
	return epoll_ctl(e->epfd, EPOLL_CTL_MOD, xc->fd, &ev) < 0 ? -errno : 0;
}

static int ep_create(const struct xport_cfg *cfg, struct xport **out)
{
	struct xport_epoll *e = calloc(1, sizeof(*e));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	(void)cfg;
	if (!e)
		return -ENOMEM;
	e->base.ops = &xport_epoll_ops;
	e->tail = &e->ready;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->epfd < 0 || e->evfd < 0 ||
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) < 0) {
		int rc = -errno;
		if (e->epfd >= 0)
			close(e->epfd);
		if (e->evfd >= 0)
			close(e->evfd);
		free(e);
		return rc;
	}
	*out = &e->base;
	return 0;
}

static void ep_destroy(struct xport *x)
{
	struct xport_epoll *e = ep_of(x);

	close(e->epfd);
	close(e->evfd);
	free(e);
}

static int ep_attach(struct xport *x, struct xport_conn *xc)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = xc };

	xc->send_busy = xc->recv_busy = false;
	xc->sready = xc->rready = false;
	xc->want_out = xc->want_in = false;
	xc->detaching = false;
	if (epoll_ctl(ep_of(x)->epfd, EPOLL_CTL_ADD, xc->fd, &ev) < 0)
		return -errno;
	return 0;
}

static void ep_detach(struct xport *x, struct xport_conn *xc)
{
	struct xport_epoll *e = ep_of(x);

	epoll_ctl(e->epfd, EPOLL_CTL_DEL, xc->fd, NULL);
	ep_unqueue(e, xc);
	xc->send_busy = xc->recv_busy = false;
	xc->sready = xc->rready = false;
	xc->detaching = true;
}

static void ep_try_send(struct xport_epoll *e, struct xport_conn *xc)
{
	ssize_t n = sendmsg(xc->fd, &xc->smsg, MSG_NOSIGNAL | MSG_DONTWAIT);

	xc->sends++;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (!xc->want_out) {
			xc->want_out = true;
			ep_mod(e, xc);
		}
		return;
	}
	if (xc->want_out) {
		xc->want_out = false;
		ep_mod(e, xc);
	}
	xc->sres = n < 0 ? -errno : n;
	xc->sready = true;
	ep_queue(e, xc);
}

static int ep_send(struct xport *x, struct xport_conn *xc,
		   const struct iovec *iov, int cnt)
{
	if (xc->send_busy)
		return -EBUSY;
	xc->send_busy = true;
	xc->smsg = (struct msghdr){ .msg_iov = (struct iovec *)iov,
				    .msg_iovlen = (size_t)cnt };
	ep_try_send(ep_of(x), xc);
	return 0;
}

static int ep_recv(struct xport *x, struct xport_conn *xc,
		   const struct iovec *iov, int cnt)
{
	(void)x;
	if (xc->recv_busy)
		return -EBUSY;
	xc->recv_busy = true;
	xc->want_in = true;
	xc->rmsg = (struct msghdr){ .msg_iov = (struct iovec *)iov,
				    .msg_iovlen = (size_t)cnt };
	return 0;
}

static void ep_try_recv(struct xport_epoll *e, struct xport_conn *xc)
{
	ssize_t n = recvmsg(xc->fd, &xc->rmsg, MSG_DONTWAIT);

	xc->recvs++;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	xc->want_in = false;
	xc->rres = n < 0 ? -errno : n;
	xc->rready = true;
	ep_queue(e, xc);
}

static int ep_dispatch(struct xport_epoll *e)
{
	int n = 0;

	while (e->ready) {
		struct xport_conn *xc = e->ready;
		e->ready = xc->ready_next;
		if (!e->ready)
			e->tail = &e->ready;
		if (xc->sready) {
			xc->sready = false;
			xc->send_busy = false;
			n++;
			xc->on_send(xc, xc->sres);
		}
		/* The send callback may have detached the connection. */
		if (xc->rready && !xc->detaching) {
			xc->rready = false;
			xc->recv_busy = false;
			n++;
			xc->on_recv(xc, xc->rres);
		}
	}
	return n;
}

static int ep_wake(struct xport *x);

static int ep_wait(struct xport *x, int timeout_ms)
{
	struct xport_epoll *e = ep_of(x);
	struct epoll_event evs[EP_BATCH];
	int n;

	if (e->ready)
		timeout_ms = 0;
	n = epoll_wait(e->epfd, evs, EP_BATCH, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct xport_conn *xc = evs[i].data.ptr;
		if (!xc) {
			uint64_t v;
			if (read(e->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
			e->wakes++;
			continue;
		}
		if ((evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
		    xc->want_out && xc->send_busy && !xc->sready)
			ep_try_send(e, xc);
		if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
		    xc->want_in && xc->recv_busy && !xc->rready)
			ep_try_recv(e, xc);
	}
	return 0;
}

static int ep_reap(struct xport *x)
{
	struct xport_epoll *e = ep_of(x);
	int n = (int)e->wakes;

	e->wakes = 0;
	return n + ep_dispatch(e);
}

/* Completed sends sit in the ready list, which an outside poll() on the
 * epoll fd cannot see: make the fd readable so the next reap runs them. */
static int ep_flush(struct xport *x)
{
	return ep_of(x)->ready ? ep_wake(x) : 0;
}

static int ep_wake(struct xport *x)
{
	uint64_t one = 1;

	return write(ep_of(x)->evfd, &one, sizeof(one)) < 0 ? -errno : 0;
}

static int ep_pollfd(struct xport *x)
{
	return ep_of(x)->epfd;
}

const struct xport_ops xport_epoll_ops = {
	.name = "epoll",
	.create = ep_create,
	.destroy = ep_destroy,
	.attach = ep_attach,
	.detach = ep_detach,
	.send = ep_send,
	.recv = ep_recv,
	.wait = ep_wait,
	.reap = ep_reap,
	.flush = ep_flush,
	.wake = ep_wake,
	.pollfd = ep_pollfd,
};
