/* SPDX-License-Identifier: MIT */
#include "uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef TT_HAVE_URING
#include <liburing.h>

enum { URING_SEND = 1, URING_RECV = 2 };

struct tt_uring {
	struct io_uring ring;
	struct msghdr msg;
	struct iovec *iov;            /* unsent part of c->iov */
	int niov;
	bool send_pending, recv_pending;
};

int uring_init(struct tt_conn *c)
{
	int mode = c->srv->cfg->io_mode;
	if (mode == 1 || (mode == 0 && !c->srv->cfg->fast))
		return 0;
	struct tt_uring *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	/* Completions are reaped only by this thread, in io_uring_enter():
	 * no task-work interrupts (kernel 6.1+), else the default setup. */
	int rc = io_uring_queue_init(8, &u->ring, IORING_SETUP_SINGLE_ISSUER |
				     IORING_SETUP_DEFER_TASKRUN);
	if (rc < 0)
		rc = io_uring_queue_init(8, &u->ring, 0);
	if (rc < 0) {
		free(u);
		return 0;                      /* no io_uring here: plain path */
	}
	c->ring = u;
	return 0;
}

void uring_fini(struct tt_conn *c)
{
	struct tt_uring *u = c->ring;
	if (!u)
		return;
	/* Waits for the cancelled requests: the buffers stay alive until
	 * this returns. */
	io_uring_queue_exit(&u->ring);
	free(u);
	c->ring = NULL;
}

static void uring_prep_send(struct tt_uring *u, int fd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	memset(&u->msg, 0, sizeof(u->msg));
	u->msg.msg_iov = u->iov;
	u->msg.msg_iovlen = (size_t)u->niov;
	io_uring_prep_sendmsg(sqe, fd, &u->msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, URING_SEND);
	u->send_pending = true;
}

/* A send completed with res bytes: resubmit the rest of a short write. */
static int uring_sent(struct tt_conn *c, struct tt_uring *u, int res)
{
	if (res < 0) {
		u->send_pending = false;
		return res;
	}
	size_t left = (size_t)res;
	while (u->niov > 0 && left >= u->iov->iov_len) {
		left -= u->iov->iov_len;
		u->iov++;
		u->niov--;
	}
	if (u->niov > 0) {
		u->iov->iov_base = (uint8_t *)u->iov->iov_base + left;
		u->iov->iov_len -= left;
		uring_prep_send(u, c->fd);
		return 0;
	}
	u->send_pending = false;
	return 0;
}

int uring_flush_and_fill(struct tt_conn *c, int timeout_ms)
{
	struct tt_uring *u = c->ring;
	int got = 0, err = 0;
	bool timed_out = false;

	if (c->niov) {
		u->iov = c->iov;
		u->niov = c->niov;
		uring_prep_send(u, c->fd);
	}
	if (!u->recv_pending) {
		if (c->rx_pos == c->rx_len) {
			c->rx_pos = c->rx_len = 0;
		} else if (c->rx_pos > 0 && c->rx_cap - c->rx_len < c->rx_cap / 2) {
			memmove(c->rx, c->rx + c->rx_pos, c->rx_len - c->rx_pos);
			c->rx_len -= c->rx_pos;
			c->rx_pos = 0;
		}
		if (c->rx_len == c->rx_cap)
			return -ENOBUFS;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
		io_uring_prep_recv(sqe, c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
		io_uring_sqe_set_data64(sqe, URING_RECV);
		u->recv_pending = true;
	}
	/* Until the batch is out and input came (or the wait timed out). */
	while (u->send_pending || (!got && !err && !timed_out && u->recv_pending)) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (timeout_ms % 1000) * 1000000LL };
		int rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1,
							  u->send_pending ? NULL : &ts, NULL);
		if (rc == -ETIME || rc == -EINTR) {
			timed_out = true;      /* a wakeup counts as one */
			if (!u->send_pending)
				break;
			continue;
		}
		if (rc < 0 && rc != -EAGAIN) {
			err = rc;
			break;
		}
		unsigned head, n = 0;
		io_uring_for_each_cqe(&u->ring, head, cqe) {
			n++;
			if (io_uring_cqe_get_data64(cqe) == URING_SEND) {
				int e = uring_sent(c, u, cqe->res);
				if (e)
					err = e;
			} else {
				u->recv_pending = false;
				if (cqe->res > 0) {
					c->rx_len += (size_t)cqe->res;
					got += cqe->res;
				} else if (cqe->res == 0) {
					err = -ECONNRESET;
				} else if (cqe->res != -EAGAIN && cqe->res != -EINTR) {
					err = cqe->res;
				}
			}
		}
		io_uring_cq_advance(&u->ring, n);
		if (err && u->send_pending)
			break;                 /* the socket is gone */
	}
	if (c->niov && !u->send_pending) {
		c->niov = 0;
		io_flush(c);                   /* arena and released tasks */
	}
	if (got)
		return got;
	return err;
}

#else

int uring_init(struct tt_conn *c)
{
	(void)c;
	return 0;
}

void uring_fini(struct tt_conn *c)
{
	(void)c;
}

int uring_flush_and_fill(struct tt_conn *c, int timeout_ms)
{
	int rc = io_flush(c);
	return rc < 0 ? rc : io_fill(c, timeout_ms);
}

#endif
