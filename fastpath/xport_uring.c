/* SPDX-License-Identifier: MIT */
/*
 * The io_uring transport: send/recv SQEs on fixed files, submitted in one
 * io_uring_enter() per reactor turn together with the wait for
 * completions, so a turn that sends commands and receives responses costs
 * one system call. Wake-ups from other threads arrive as a completed read
 * on an eventfd.
 */
#include "fastpath/xport.h"

#include <errno.h>
#include <stdlib.h>

#ifdef MCSI_HAVE_URING
#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { UR_SEND = 1, UR_RECV = 2, UR_WAKE = 3, UR_DELAY = 4, UR_TAGS = 7 };
#define UR_LAZY_MS 2                  /* longest sleep through a lazy send */

struct xport_uring {
	struct xport base;
	struct io_uring ring;
	int evfd;
	uint64_t evbuf;
	bool ev_armed;
	bool can_delay;               /* linked timeouts with skipped CQEs */
	bool can_zc;                  /* zero-copy sendmsg */
	unsigned lazy_sends;          /* posted since the last wait */
	unsigned nfixed;
	uint8_t *fixed_used;          /* nfixed flags */
};

static struct xport_uring *ur_of(struct xport *x)
{
	return (struct xport_uring *)x;
}

static struct io_uring_sqe *ur_sqe(struct xport_uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		/* Ring full: hand the queued SQEs over and retry. */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static int ur_create(const struct xport_cfg *cfg, struct xport **out)
{
	struct xport_uring *u = calloc(1, sizeof(*u));
	unsigned depth = cfg && cfg->depth ? cfg->depth : 8;
	unsigned entries = 4;
	int rc;

	if (!u)
		return -ENOMEM;
	while (entries < depth * 2 + 4)
		entries <<= 1;
	/* Completions are only needed when the reactor asks for them:
	 * cooperative task work saves an interrupt per completion. Older
	 * kernels refuse the flags; then plain rings do. */
	rc = io_uring_queue_init(entries, &u->ring, IORING_SETUP_SUBMIT_ALL |
				 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(entries, &u->ring, 0);
	if (rc < 0) {
		free(u);
		return rc;
	}
	struct io_uring_probe *p = io_uring_get_probe_ring(&u->ring);
	if (!p || !io_uring_opcode_supported(p, IORING_OP_SENDMSG) ||
	    !io_uring_opcode_supported(p, IORING_OP_RECVMSG) ||
	    !io_uring_opcode_supported(p, IORING_OP_ASYNC_CANCEL)) {
		if (p)
			io_uring_free_probe(p);
		io_uring_queue_exit(&u->ring);
		free(u);
		return -ENOSYS;
	}
	u->can_delay = (u->ring.features & IORING_FEAT_CQE_SKIP) &&
		       io_uring_opcode_supported(p, IORING_OP_TIMEOUT);
	u->can_zc = cfg && cfg->zerocopy &&
		    io_uring_opcode_supported(p, IORING_OP_SENDMSG_ZC);
	io_uring_free_probe(p);
	u->evfd = eventfd(0, EFD_CLOEXEC);
	if (u->evfd < 0) {
		rc = -errno;
		io_uring_queue_exit(&u->ring);
		free(u);
		return rc;
	}
	/* Fixed files save the per-SQE file lookup; optional. */
	u->nfixed = depth + 1;
	u->fixed_used = calloc(u->nfixed, 1);
	if (!u->fixed_used ||
	    io_uring_register_files_sparse(&u->ring, u->nfixed) < 0)
		u->nfixed = 0;
	u->base.ops = &xport_uring_ops;
	*out = &u->base;
	return 0;
}

static void ur_destroy(struct xport *x)
{
	struct xport_uring *u = ur_of(x);

	io_uring_queue_exit(&u->ring);
	close(u->evfd);
	free(u->fixed_used);
	free(u);
}

static int ur_attach(struct xport *x, struct xport_conn *xc)
{
	struct xport_uring *u = ur_of(x);

	xc->send_busy = xc->recv_busy = false;
	xc->detaching = xc->zc_notif_wait = false;
	xc->fixed = -1;
	for (unsigned i = 0; i < u->nfixed; i++) {
		if (u->fixed_used[i])
			continue;
		if (io_uring_register_files_update(&u->ring, i, &xc->fd, 1) == 1) {
			u->fixed_used[i] = 1;
			xc->fixed = (int)i;
		}
		break;
	}
	return 0;
}

static void ur_prep(struct xport_conn *xc, struct io_uring_sqe *sqe)
{
	if (xc->fixed >= 0) {
		sqe->fd = xc->fixed;
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	}
}

static void ur_complete(struct xport_uring *u, uint64_t data, int res,
			unsigned flags)
{
	struct xport_conn *xc = (struct xport_conn *)(uintptr_t)(data & ~(uint64_t)UR_TAGS);

	switch (data & UR_TAGS) {
	case UR_WAKE:
		u->ev_armed = false;
		break;
	case UR_SEND:
		/* A zero-copy send completes twice: the result (with F_MORE),
		 * then the notification that the pages are ours again. */
		if (flags & IORING_CQE_F_MORE) {
			xc->sres = res;
			xc->zc_notif_wait = true;
			break;
		}
		if (flags & IORING_CQE_F_NOTIF)
			res = (int)xc->sres;
		xc->zc_notif_wait = false;
		xc->send_busy = false;
		if (!xc->detaching)
			xc->on_send(xc, res);
		break;
	case UR_RECV:
		xc->recv_busy = false;
		if (!xc->detaching)
			xc->on_recv(xc, res);
		break;
	default:                       /* cancel results */
		break;
	}
}

static void ur_detach(struct xport *x, struct xport_conn *xc)
{
	struct xport_uring *u = ur_of(x);

	xc->detaching = true;
	/* A cancel can miss: a receive linked behind a delay that has just
	 * fired sits in this thread's task work, and is only issued after
	 * the cancel looked for it; on a silent peer it would then wait
	 * forever. A shut-down socket ends every receive and send at once,
	 * issued now or later; the connection is being closed anyway. */
	if (xc->send_busy || xc->recv_busy)
		shutdown(xc->fd, SHUT_RDWR);
	static const int tags[] = { UR_SEND, UR_DELAY, UR_RECV };
	for (unsigned i = 0; i < 3; i++) {
		int tag = tags[i];
		bool busy = tag == UR_SEND ? xc->send_busy : xc->recv_busy;
		struct io_uring_sqe *sqe;
		if (!busy || !(sqe = ur_sqe(u)))
			continue;
		io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)xc | (uint64_t)tag, 0);
		io_uring_sqe_set_data64(sqe, 0);
	}
	/* Wait for the cancelled operations; other connections' completions
	 * met on the way are dispatched as usual. */
	bool reset = false;
	while (xc->send_busy || xc->recv_busy) {
		struct io_uring_cqe *cqe;
		/* A zero-copy send ends with the kernel's notification, when
		 * its data is freed: with a peer that takes nothing, not
		 * before TCP gives up (minutes). Disconnecting (connect to
		 * AF_UNSPEC: a reset, both queues purged) frees it now. */
		if (xc->send_busy && xc->zc_notif_wait && !reset) {
			struct sockaddr unspec = { .sa_family = AF_UNSPEC };
			connect(xc->fd, &unspec, sizeof(unspec));
			reset = true;
		}
		if (io_uring_submit_and_wait(&u->ring, 1) < 0 &&
		    io_uring_peek_cqe(&u->ring, &cqe) != 0)
			break;
		while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
			uint64_t data = io_uring_cqe_get_data64(cqe);
			int res = cqe->res;
			unsigned flags = cqe->flags;
			io_uring_cqe_seen(&u->ring, cqe);
			ur_complete(u, data, res, flags);
		}
	}
	if (xc->fixed >= 0) {
		int minus1 = -1;
		io_uring_register_files_update(&u->ring, (unsigned)xc->fixed, &minus1, 1);
		u->fixed_used[xc->fixed] = 0;
		xc->fixed = -1;
	}
}

static int ur_send(struct xport *x, struct xport_conn *xc,
		   const struct iovec *iov, int cnt)
{
	struct io_uring_sqe *sqe;

	if (xc->send_busy)
		return -EBUSY;
	if (!(sqe = ur_sqe(ur_of(x))))
		return -EAGAIN;
	/* MSG_WAITALL: the kernel finishes a partial send itself, so a
	 * send normally completes once, whole. */
	size_t total = 0;
	for (int i = 0; i < cnt && total < XPORT_ZC_MIN; i++)
		total += iov[i].iov_len;
	if (xc->zerocopy && ur_of(x)->can_zc && total >= XPORT_ZC_MIN) {
		/* Large Data-Out: the NIC reads the caller's pages. */
		xc->smsg = (struct msghdr){ .msg_iov = (struct iovec *)iov,
					    .msg_iovlen = (size_t)cnt };
		io_uring_prep_sendmsg_zc(sqe, xc->fd, &xc->smsg, MSG_NOSIGNAL | MSG_WAITALL);
		xc->zc_sends++;
	} else if (cnt == 1) {
		io_uring_prep_send(sqe, xc->fd, iov[0].iov_base, iov[0].iov_len,
				   MSG_NOSIGNAL | MSG_WAITALL);
	} else {
		xc->smsg = (struct msghdr){ .msg_iov = (struct iovec *)iov,
					    .msg_iovlen = (size_t)cnt };
		io_uring_prep_sendmsg(sqe, xc->fd, &xc->smsg, MSG_NOSIGNAL | MSG_WAITALL);
	}
	ur_prep(xc, sqe);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)xc | UR_SEND);
	xc->send_busy = true;
	xc->sends++;
	if (xc->send_lazy && sqe->opcode != IORING_OP_SENDMSG_ZC)
		ur_of(x)->lazy_sends++;
	return 0;
}

static int ur_prep_recv(struct xport_conn *xc, struct io_uring_sqe *sqe,
			const struct iovec *iov, int cnt)
{
	if (cnt == 1) {
		io_uring_prep_recv(sqe, xc->fd, iov[0].iov_base, iov[0].iov_len, 0);
	} else {
		xc->rmsg = (struct msghdr){ .msg_iov = (struct iovec *)iov,
					    .msg_iovlen = (size_t)cnt };
		io_uring_prep_recvmsg(sqe, xc->fd, &xc->rmsg, 0);
	}
	ur_prep(xc, sqe);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)xc | UR_RECV);
	xc->recv_busy = true;
	xc->recvs++;
	return 0;
}

static int ur_recv(struct xport *x, struct xport_conn *xc,
		   const struct iovec *iov, int cnt)
{
	struct io_uring_sqe *sqe;

	if (xc->recv_busy)
		return -EBUSY;
	if (!(sqe = ur_sqe(ur_of(x))))
		return -EAGAIN;
	return ur_prep_recv(xc, sqe, iov, cnt);
}

/* A timeout linked in front of the receive: the receive is issued when it
 * fires (-ETIME counts as success for the link, and its own CQE is
 * skipped), so no socket wake-up reaches this thread in between. */
static int ur_recv_after(struct xport *x, struct xport_conn *xc,
			 const struct iovec *iov, int cnt, unsigned delay_us)
{
	struct xport_uring *u = ur_of(x);
	struct io_uring_sqe *t, *sqe;

	if (!u->can_delay)
		return ur_recv(x, xc, iov, cnt);
	if (xc->recv_busy)
		return -EBUSY;
	/* Both SQEs must go into the same submission, and neither may be
	 * taken alone (an SQE taken is submitted, prepared or not). */
	if (io_uring_sq_space_left(&u->ring) < 2)
		io_uring_submit(&u->ring);
	if (io_uring_sq_space_left(&u->ring) < 2)
		return -EAGAIN;
	t = io_uring_get_sqe(&u->ring);
	sqe = io_uring_get_sqe(&u->ring);
	xc->delay_ts[0] = delay_us / 1000000u;
	xc->delay_ts[1] = (int64_t)(delay_us % 1000000u) * 1000;
	io_uring_prep_timeout(t, (struct __kernel_timespec *)(void *)xc->delay_ts, 0,
			      IORING_TIMEOUT_ETIME_SUCCESS);
	io_uring_sqe_set_flags(t, IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS);
	io_uring_sqe_set_data64(t, (uint64_t)(uintptr_t)xc | UR_DELAY);
	return ur_prep_recv(xc, sqe, iov, cnt);
}


static int ur_wait(struct xport *x, int timeout_ms)
{
	struct xport_uring *u = ur_of(x);
	struct io_uring_cqe *cqe;
	int rc;

	if (!u->ev_armed) {
		struct io_uring_sqe *sqe = ur_sqe(u);
		if (sqe) {
			io_uring_prep_read(sqe, u->evfd, &u->evbuf, sizeof(u->evbuf), 0);
			io_uring_sqe_set_data64(sqe, UR_WAKE);
			u->ev_armed = true;
		}
	}
	/* A lazy send almost always completes inline, and its CQE alone
	 * would end the wait at once: wait for one more CQE per lazy send,
	 * but never long, in case one of them does not complete inline
	 * while the peer waits for us. */
	unsigned nr = 1 + u->lazy_sends;
	u->lazy_sends = 0;
	if (nr > 1 && (timeout_ms < 0 || timeout_ms > UR_LAZY_MS))
		timeout_ms = UR_LAZY_MS;
	if (io_uring_cq_ready(&u->ring) > 0 || timeout_ms == 0) {
		if (io_uring_sq_ready(&u->ring) == 0)
			return 0;
		rc = io_uring_submit(&u->ring);
	} else if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&u->ring, nr);
	} else {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};
		rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, nr, &ts, NULL);
	}
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
		return rc;
	return 0;
}

static int ur_reap(struct xport *x)
{
	struct xport_uring *u = ur_of(x);
	struct io_uring_cqe *cqe;
	int n = 0;

	/* One CQE at a time: a callback may detach a connection, which
	 * consumes that connection's remaining CQEs itself. */
	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		unsigned flags = cqe->flags;
		io_uring_cqe_seen(&u->ring, cqe);
		if (data != 0)
			n++;
		ur_complete(u, data, res, flags);
	}
	return n;
}

static int ur_flush(struct xport *x)
{
	struct xport_uring *u = ur_of(x);

	if (io_uring_sq_ready(&u->ring) == 0)
		return 0;
	int rc = io_uring_submit(&u->ring);
	return rc < 0 ? rc : 0;
}

static int ur_wake(struct xport *x)
{
	uint64_t one = 1;

	return write(ur_of(x)->evfd, &one, sizeof(one)) < 0 ? -errno : 0;
}

static int ur_pollfd(struct xport *x)
{
	return ur_of(x)->ring.ring_fd;
}

const struct xport_ops xport_uring_ops = {
	.name = "io_uring",
	.create = ur_create,
	.destroy = ur_destroy,
	.attach = ur_attach,
	.detach = ur_detach,
	.send = ur_send,
	.recv = ur_recv,
	.recv_after = ur_recv_after,
	.wait = ur_wait,
	.reap = ur_reap,
	.flush = ur_flush,
	.wake = ur_wake,
	.pollfd = ur_pollfd,
};

#else /* !MCSI_HAVE_URING */

static int ur_create(const struct xport_cfg *cfg, struct xport **out)
{
	(void)cfg;
	(void)out;
	return -ENOSYS;
}

const struct xport_ops xport_uring_ops = {
	.name = "io_uring",
	.create = ur_create,
};

#endif
