/* SPDX-License-Identifier: MIT */
/*
 * Loop devices over LUN files: attach with direct I/O (so that no page
 * cache sits between the filesystem and the LUN, and nothing is cached
 * twice) and the LUN's logical block size, in one LOOP_CONFIGURE.
 */
#ifndef MCSI_KERN_LOOP_H
#define MCSI_KERN_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERN_LOOP_NAME_MAX 32   /* "/dev/loop<N>" */

/* Attaches a free loop device to file with the given logical block size
 * (512..4096; 0: 512) and direct I/O, autoclear set, read-only if asked.
 * Writes the device path into dev (KERN_LOOP_NAME_MAX bytes) and returns
 * the open device fd (owned by the caller): the device detaches itself
 * when the last fd and mount on it go, so hold the fd until the device is
 * mounted or no longer needed. *direct_io tells whether the kernel
 * accepted direct I/O (it may fall back to buffered). Returns the fd or
 * -errno (-ENOENT file, -EINVAL block size, -EBUSY no free device). */
int kern_loop_attach(const char *file, uint32_t block_size, bool read_only,
		     char *dev, bool *direct_io);

/* Detaches dev (LOOP_CLR_FD). 0 also when it is not attached (any more).
 * With autoclear the detach completes when the last opener closes. */
int kern_loop_detach(const char *dev);

/* Re-reads the backing file's size (LOOP_SET_CAPACITY) after a resize. */
int kern_loop_set_capacity(const char *dev);

/* The backing file of dev, from sysfs. Returns 0, -ENXIO (not a
 * loop device, or not attached), -ENAMETOOLONG. */
int kern_loop_backing_file(const char *dev, char *path, size_t len);

#endif
