/* SPDX-License-Identifier: MIT */
/*
 * The block backend behind every kernel-facing export (FUSE file, NBD,
 * multipath group): an operations table with asynchronous I/O in byte
 * units, so that the exporters neither know nor care whether the blocks
 * live in RAM (tests), in an iSCSI session (kern/mcsi_bk.c) or behind
 * several sessions at once (kern/mpath.c).
 *
 * A request (struct kern_io) belongs to the caller. From submit until its
 * done callback starts, the backend owns it and borrows its iovec array and
 * the buffers behind it; nothing is copied.
 */
#ifndef MCSI_KERN_BACKEND_H
#define MCSI_KERN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum kern_op {
	KERN_OP_READ = 0,
	KERN_OP_WRITE,
	KERN_OP_FLUSH,          /* SYNCHRONIZE CACHE over the whole LUN */
	KERN_OP_UNMAP,          /* deallocate; content afterwards unspecified */
	KERN_OP_WRITE_ZEROES,   /* content afterwards reads as zeroes */
};

struct kern_io;
typedef void (*kern_io_fn)(struct kern_io *io);

struct kern_io {
	uint8_t op;                 /* enum kern_op */
	uint64_t offset;            /* bytes; a multiple of the block size */
	uint64_t len;               /* bytes; a multiple of the block size; 0 for FLUSH */
	const struct iovec *iov;    /* READ/WRITE: holds exactly len bytes */
	int iovcnt;
	kern_io_fn done;            /* required */
	void *priv;                 /* the caller's */
	int err;                    /* set before done: 0 or -errno (below) */
	/* Scratch for a backend that stacks on others (multipath) while the
	 * request is submitted to it; leaf backends never touch it. */
	uintptr_t stack[4];
};

/*
 * Errors in io->err:
 *   -EIO          the device reported an error (medium, SCSI status)
 *   -EINVAL       malformed request (alignment, beyond the end)
 *   -EOPNOTSUPP   the device does not do this operation
 *   -ENOSPC       write beyond the end
 *   path errors:  -ENOTCONN -ECONNRESET -ETIMEDOUT -ECANCELED -EPIPE
 *                 -ESHUTDOWN -EHOSTUNREACH: the path to the device failed,
 *                 another path may still succeed (kern_err_is_path()).
 */

/* What the device looks like now; it may change (resize). */
struct kern_geometry {
	uint64_t blocks;            /* number of logical blocks */
	uint32_t block_size;        /* bytes, a power of two >= 512 */
	uint32_t max_io;            /* bytes per READ/WRITE; 0: no limit */
	uint64_t max_unmap;         /* bytes per UNMAP/WRITE_ZEROES; 0: no limit */
	bool can_unmap;             /* UNMAP works */
	bool unmap_zeroes;          /* unmapped blocks read as zeroes (LBPRZ) */
	bool read_only;
};

struct kern_backend;

struct kern_backend_ops {
	/* Queues io. Returns 0 and then calls io->done exactly once (possibly
	 * before returning, possibly on another thread), or returns -errno
	 * (-EINVAL malformed, -ENOTCONN path down) without calling done. */
	int (*submit)(struct kern_backend *b, struct kern_io *io);
	/* Fills g with the current geometry. Never blocks on I/O. */
	void (*geometry)(struct kern_backend *b, struct kern_geometry *g);
	/* Re-reads the geometry from the device (blocking; may be NULL). */
	int (*rescan)(struct kern_backend *b);
	/* Frees b; no request may be in flight. */
	void (*destroy)(struct kern_backend *b);
};

/* Embedded at the start of (or anywhere in) each implementation. */
struct kern_backend {
	const struct kern_backend_ops *ops;
	/* Who the device is, for multipath grouping: the VPD 0x83 designator
	 * ("naa.600...") or for RAM backends a name given at creation. Owned
	 * by the backend, constant for its life. */
	const char *identity;
};

static inline int kern_submit(struct kern_backend *b, struct kern_io *io)
{
	return b->ops->submit(b, io);
}

static inline void kern_geometry(struct kern_backend *b, struct kern_geometry *g)
{
	b->ops->geometry(b, g);
}

static inline uint64_t kern_size(struct kern_backend *b)
{
	struct kern_geometry g;

	b->ops->geometry(b, &g);
	return g.blocks * g.block_size;
}

/* Frees b (NULL is a no-op). */
void kern_backend_destroy(struct kern_backend *b);

/* Re-reads the geometry; 0 when the backend has nothing to re-read. */
int kern_backend_rescan(struct kern_backend *b);

/* True for the errors that say "this path failed", after which the same
 * request may succeed on another path to the same device. */
bool kern_err_is_path(int err);

/* Checks io against g: op known, offset and length aligned and inside
 * the device, iovec total == len for READ/WRITE. Returns 0, -EINVAL, or
 * -ENOSPC (a write that starts beyond the end). For backends. */
int kern_io_check(const struct kern_io *io, const struct kern_geometry *g);

/* Sum of the iovec lengths. */
size_t kern_iov_len(const struct iovec *iov, int iovcnt);

/* Submits io and waits for its completion; io->done and io->priv are
 * overwritten. Returns io->err (or the submission's -errno). Must not be
 * called from a completion callback. */
int kern_io_run(struct kern_backend *b, struct kern_io *io);

/* Blocking conveniences over kern_io_run(); buffers are borrowed. */
int kern_pread(struct kern_backend *b, void *buf, uint64_t len, uint64_t off);
int kern_pwrite(struct kern_backend *b, const void *buf, uint64_t len, uint64_t off);
int kern_flush(struct kern_backend *b);

/* Deallocates (zero = false) or zeroes (zero = true) [off, off+len), in
 * pieces no larger than the geometry allows. Zeroing falls back to
 * writing zero buffers when the backend has no WRITE_ZEROES. Blocking. */
int kern_discard(struct kern_backend *b, uint64_t off, uint64_t len, bool zero);

#endif
