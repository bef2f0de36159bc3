/* SPDX-License-Identifier: MIT */
/*
 * Transports behind one operations table: io_uring (default where the
 * kernel has it), sendmsg/recvmsg + epoll, and an in-memory fake for unit
 * tests. The model is a proactor: a connection has at most one send and one
 * receive in flight; each is posted with an iovec list and completes later,
 * inside xport_reap() after an xport_wait(), through the connection's
 * callbacks. One engine
 * (struct xport) belongs to one reactor thread; only xport_wake() may be
 * called from other threads.
 */
#ifndef MCSI_FASTPATH_XPORT_H
#define MCSI_FASTPATH_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

struct xport;
struct xport_conn;

/* Completion callbacks. res is the byte count, 0 for end of stream
 * (receive only), or -errno. */
typedef void (*xport_done_fn)(struct xport_conn *xc, ssize_t res);

/* Embedded in the owner's connection; the caller sets fd, on_send and
 * on_recv before xport_attach(). The rest is the backend's. */
struct xport_conn {
	int fd;
	xport_done_fn on_send, on_recv;
	bool send_busy, recv_busy;
	/* Set by the owner before send(): nothing waits for this send's
	 * completion (no more data queued behind it), so a backend may
	 * sleep through it instead of waking up only to see it done. */
	bool send_lazy;
	/* Set by the owner: large sends may be zero-copy (the pages stay
	 * borrowed until the kernel's notification; on loopback the kernel
	 * copies anyway, so the owner leaves it off there). */
	bool zerocopy;
	bool want_out, want_in;         /* epoll: waiting for readiness */
	int fixed;                      /* io_uring: fixed file index or -1 */
	struct msghdr smsg, rmsg;       /* the posted iovec lists */
	int64_t delay_ts[2];            /* io_uring: a delayed receive's timeout */
	bool detaching;
	bool zc_notif_wait;             /* io_uring: a zero-copy send's result came,
					 * its notification has not */
	ssize_t sres, rres;             /* results waiting for dispatch */
	bool sready, rready;
	struct xport_conn *ready_next;  /* backend's completion list */
	void *priv;                     /* the fake's per-connection state */
	uint64_t sends, recvs;          /* system calls or SQEs, for stats */
	uint64_t zc_sends;              /* of them zero-copy */
};

struct xport_cfg {
	unsigned depth;                 /* connections x 2 + a few */
	bool zerocopy;                  /* io_uring: send_zc for large writes */
};

/* Sends of at least this many bytes go zero-copy where allowed: below it,
 * pinning pages and the extra notification cost more than the copy. */
#define XPORT_ZC_MIN (64u * 1024u)

struct xport_ops {
	const char *name;
	/* Returns 0 and a new engine, or -errno (-ENOSYS: not available). */
	int (*create)(const struct xport_cfg *cfg, struct xport **out);
	void (*destroy)(struct xport *x);
	int (*attach)(struct xport *x, struct xport_conn *xc);
	/* Cancels what is in flight and forgets the connection; no callback
	 * runs for it afterwards. For closing only: the socket may be shut
	 * down (io_uring: so that nothing in flight can outlive the call),
	 * but the fd is not closed. */
	void (*detach)(struct xport *x, struct xport_conn *xc);
	/* Post a send / receive. The iovec array and the memory it points to
	 * are borrowed until the completion. -EBUSY if one is in flight. */
	int (*send)(struct xport *x, struct xport_conn *xc,
		    const struct iovec *iov, int cnt);
	int (*recv)(struct xport *x, struct xport_conn *xc,
		    const struct iovec *iov, int cnt);
	/* The same, but the receive starts delay_us from now: what arrives
	 * meanwhile is taken by one receive and one wake-up instead of one
	 * each. A hint: NULL in backends without timers. */
	int (*recv_after)(struct xport *x, struct xport_conn *xc,
			  const struct iovec *iov, int cnt, unsigned delay_us);
	/* Submits what was posted and waits up to timeout_ms (-1 forever,
	 * 0 poll) for completions, without running any callback: the caller
	 * learns it is awake before it runs them with reap(). Returns 0, or
	 * -errno (not for a timeout or an interruption). */
	int (*wait)(struct xport *x, int timeout_ms);
	/* Runs the callbacks of the completions gathered so far. Returns
	 * their number (wake-ups included). */
	int (*reap)(struct xport *x);
	/* Hands what was posted to the kernel without waiting (after work
	 * done outside wait(), before the caller sleeps in its own poll). */
	int (*flush)(struct xport *x);
	/* Makes a concurrent or later wait() return. Thread-safe. */
	int (*wake)(struct xport *x);
	/* A descriptor that polls readable when wait(0) has work: for an
	 * application's event loop. */
	int (*pollfd)(struct xport *x);
};

struct xport {
	const struct xport_ops *ops;
};

extern const struct xport_ops xport_epoll_ops;
extern const struct xport_ops xport_uring_ops;   /* -ENOSYS without liburing */
extern const struct xport_ops xport_fake_ops;

/* Creates an engine by name ("io_uring", "epoll", "fake"), or the default
 * (io_uring when the kernel allows it, else epoll) when name is NULL or
 * "auto". Returns 0, -ENOENT for an unknown name, or the backend's error. */
int xport_create(const char *name, const struct xport_cfg *cfg, struct xport **out);

static inline void xport_destroy(struct xport *x) { if (x) x->ops->destroy(x); }
static inline const char *xport_name(const struct xport *x) { return x->ops->name; }
static inline int xport_attach(struct xport *x, struct xport_conn *xc)
{
	return x->ops->attach(x, xc);
}
static inline void xport_detach(struct xport *x, struct xport_conn *xc)
{
	x->ops->detach(x, xc);
}
static inline int xport_send(struct xport *x, struct xport_conn *xc,
			     const struct iovec *iov, int cnt)
{
	return x->ops->send(x, xc, iov, cnt);
}
static inline int xport_recv(struct xport *x, struct xport_conn *xc,
			     const struct iovec *iov, int cnt)
{
	return x->ops->recv(x, xc, iov, cnt);
}
static inline int xport_recv_after(struct xport *x, struct xport_conn *xc,
				   const struct iovec *iov, int cnt, unsigned delay_us)
{
	if (delay_us == 0 || !x->ops->recv_after)
		return x->ops->recv(x, xc, iov, cnt);
	return x->ops->recv_after(x, xc, iov, cnt, delay_us);
}
/* True when the backend can delay receives. */
static inline bool xport_can_delay(const struct xport *x)
{
	return x->ops->recv_after != NULL;
}
static inline int xport_wait(struct xport *x, int timeout_ms)
{
	return x->ops->wait(x, timeout_ms);
}
static inline int xport_reap(struct xport *x) { return x->ops->reap(x); }
static inline int xport_flush(struct xport *x) { return x->ops->flush(x); }
static inline int xport_wake(struct xport *x) { return x->ops->wake(x); }
static inline int xport_pollfd(struct xport *x) { return x->ops->pollfd(x); }

/* ---- the fake, for unit tests ------------------------------------------
 * Sends land in a per-connection buffer the test reads back; receives are
 * served from bytes the test injects, at most chunk bytes per completion
 * (0 = unlimited), so tests can exercise partial I/O.
 */
/* Copies out and removes up to cap bytes the initiator sent. */
size_t xport_fake_take(struct xport_conn *xc, void *buf, size_t cap);
/* Bytes sent and not yet taken. */
size_t xport_fake_pending(const struct xport_conn *xc);
/* Queues bytes for the initiator to receive. Returns 0 or -ENOMEM. */
int xport_fake_inject(struct xport_conn *xc, const void *buf, size_t len);
/* The next receive completes with 0 (peer closed) or -err. */
void xport_fake_close(struct xport_conn *xc, int err);
/* Limits bytes per completion (send and receive). */
void xport_fake_chunk(struct xport_conn *xc, size_t chunk);
/* The delay_us of the last receive posted (0 for xport_recv()). */
unsigned xport_fake_last_delay(const struct xport_conn *xc);
/* Frees the fake's buffers of a detached connection. */
void xport_fake_release(struct xport_conn *xc);

#endif
