/* SPDX-License-Identifier: MIT */
/*
 * The LUN filesystem: a FUSE mount (libfuse3 low-level API) whose root
 * directory holds one regular file per LUN ("lun0", "lun1", ...). Each
 * file is as large as its LUN and is opened with direct I/O, so that every
 * read and write goes to the backend without a page cache copy:
 *
 *   read        async; the backend fills a pool buffer that the reply
 *               hands to the kernel (fuse_reply_data), no extra copy
 *   write_buf   the request buffer libfuse received goes to the backend as
 *               it is; the worker thread waits for the completion
 *   flush/fsync SYNCHRONIZE CACHE
 *   fallocate   PUNCH_HOLE|KEEP_SIZE → UNMAP (or WRITE SAME with UNMAP when
 *               unmapped blocks do not read as zeroes); ZERO_RANGE → zeroes
 *   getattr     size = current capacity: a resized LUN shows a new size
 *
 * Reads may be unaligned (the enclosing blocks are read); writes must be
 * aligned to the LUN's block size, as on a block device opened O_DIRECT.
 * The session loop is multi-threaded and runs on threads of its own.
 */
#ifndef MCSI_KERN_FS_H
#define MCSI_KERN_FS_H

#include <stdbool.h>

#include "kern/backend.h"

struct kern_fs;

struct kern_fs_opts {
	const char *mountpoint;     /* directory; created (with parents) if missing */
	const char *fsname;         /* source shown in /proc/mounts; NULL: "mcsi" */
	unsigned threads;           /* max FUSE worker threads; 0: 32 */
	unsigned max_io;            /* bytes per FUSE request; 0: 1 MiB */
	unsigned read_buffers;      /* reads in flight; 0: 64 */
	unsigned max_luns;          /* 0: 256 */
	bool allow_other;           /* let users other than the mounter in */
};

/* Mounts an empty LUN filesystem on opts->mountpoint and starts serving
 * it. opts is borrowed. Returns 0 and a new kern_fs, -EINVAL, -ENOMEM,
 * -EBUSY (something is mounted there), or -errno from mount(2). */
int kern_fs_create(const struct kern_fs_opts *opts, struct kern_fs **out);

/* Unmounts (lazily, if busy), stops the loop, waits for I/O in flight and
 * frees fs. The backends are not destroyed. NULL is a no-op. */
void kern_fs_destroy(struct kern_fs *fs);

/* Publishes backend b as file `name` ("lun3"; no '/'). b is borrowed
 * until kern_fs_remove() succeeds or fs is destroyed. Returns 0, -EEXIST,
 * -ENOSPC (max_luns), -EINVAL (name, or b's max_io below the FUSE request
 * size), -ENOMEM. */
int kern_fs_add(struct kern_fs *fs, const char *name, struct kern_backend *b);

/* Unpublishes `name`. Returns 0, -ENOENT, or -EBUSY while the file is
 * open (mounted through a loop device, for example). */
int kern_fs_remove(struct kern_fs *fs, const char *name);

/* Tells the kernel that `name`'s size may have changed (after a rescan),
 * so that stat() sees it at once. Returns 0 or -ENOENT. */
int kern_fs_changed(struct kern_fs *fs, const char *name);

/* The mountpoint (borrowed, lives as long as fs). */
const char *kern_fs_mountpoint(const struct kern_fs *fs);

#endif
