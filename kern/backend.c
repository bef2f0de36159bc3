/* SPDX-License-Identifier: MIT */
/* Backend helpers shared by every implementation and exporter. */
#include "kern/backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

void kern_backend_destroy(struct kern_backend *b)
{
	if (b)
		b->ops->destroy(b);
}

int kern_backend_rescan(struct kern_backend *b)
{
	return b->ops->rescan ? b->ops->rescan(b) : 0;
}

bool kern_err_is_path(int err)
{
	switch (err) {
	case -ENOTCONN: case -ECONNRESET: case -ETIMEDOUT: case -ECANCELED:
	case -EPIPE: case -ESHUTDOWN: case -EHOSTUNREACH: case -ECONNABORTED:
		return true;
	default:
		return false;
	}
}

size_t kern_iov_len(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int kern_io_check(const struct kern_io *io, const struct kern_geometry *g)
{
	uint64_t size = g->blocks * g->block_size;
	uint64_t mask = g->block_size - 1;

	if (!io->done)
		return -EINVAL;
	switch (io->op) {
	case KERN_OP_FLUSH:
		return 0;
	case KERN_OP_READ:
	case KERN_OP_WRITE:
		if (!io->iov || io->iovcnt <= 0 || kern_iov_len(io->iov, io->iovcnt) != io->len)
			return -EINVAL;
		if (g->max_io && io->len > g->max_io)
			return -EINVAL;
		break;
	case KERN_OP_UNMAP:
	case KERN_OP_WRITE_ZEROES:
		if (g->max_unmap && io->len > g->max_unmap)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if ((io->offset | io->len) & mask || io->len == 0)
		return -EINVAL;
	if (io->op != KERN_OP_READ && g->read_only)
		return -EPERM;
	if (io->offset >= size)
		return io->op == KERN_OP_READ ? -EINVAL : -ENOSPC;
	if (io->len > size - io->offset)
		return -EINVAL;
	return 0;
}

/* A completion to wait on, on the waiter's stack. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void run_done(struct kern_io *io)
{
	struct waiter *w = io->priv;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int kern_io_run(struct kern_backend *b, struct kern_io *io)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
	int rc;

	io->done = run_done;
	io->priv = &w;
	io->err = 0;
	rc = kern_submit(b, io);
	if (rc == 0) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
		rc = io->err;
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return rc;
}

static int rw(struct kern_backend *b, uint8_t op, void *buf, uint64_t len,
	      uint64_t off)
{
	struct iovec v = { buf, len };
	struct kern_io io = { .op = op, .offset = off, .len = len, .iov = &v, .iovcnt = 1 };

	return kern_io_run(b, &io);
}

int kern_pread(struct kern_backend *b, void *buf, uint64_t len, uint64_t off)
{
	return rw(b, KERN_OP_READ, buf, len, off);
}

int kern_pwrite(struct kern_backend *b, const void *buf, uint64_t len, uint64_t off)
{
	/* The backend only reads a WRITE's buffers. */
	return rw(b, KERN_OP_WRITE, (void *)(uintptr_t)buf, len, off);
}

int kern_flush(struct kern_backend *b)
{
	struct kern_io io = { .op = KERN_OP_FLUSH };

	return kern_io_run(b, &io);
}

/* Zeroes by writing a zero buffer, for backends without WRITE_ZEROES. */
static int write_zero_buffers(struct kern_backend *b, const struct kern_geometry *g,
			      uint64_t off, uint64_t len)
{
	uint64_t chunk = g->max_io && g->max_io < (1u << 20) ? g->max_io : 1u << 20;
	void *zero = calloc(1, chunk);
	int rc = 0;

	if (!zero)
		return -ENOMEM;
	while (len && rc == 0) {
		uint64_t n = len < chunk ? len : chunk;

		rc = kern_pwrite(b, zero, n, off);
		off += n;
		len -= n;
	}
	free(zero);
	return rc;
}

int kern_discard(struct kern_backend *b, uint64_t off, uint64_t len, bool zero)
{
	struct kern_geometry g;
	uint64_t piece;
	int rc = 0;

	kern_geometry(b, &g);
	if (!zero && !g.can_unmap)
		return -EOPNOTSUPP;
	piece = g.max_unmap ? g.max_unmap : len;
	while (len && rc == 0) {
		uint64_t n = len < piece ? len : piece;
		struct kern_io io = {
			.op = zero ? KERN_OP_WRITE_ZEROES : KERN_OP_UNMAP,
			.offset = off, .len = n,
		};

		rc = kern_io_run(b, &io);
		if (rc == -EOPNOTSUPP && zero)
			return write_zero_buffers(b, &g, off, len);
		off += n;
		len -= n;
	}
	return rc;
}
