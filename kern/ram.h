/* SPDX-License-Identifier: MIT */
/*
 * A RAM backend for tests and benchmarks of the exporters: the blocks live
 * in an anonymous mapping reserved up to a maximum size (so that resizing
 * never moves them). Several "paths" can share one store, each with its
 * own injected failure, to test multipath.
 */
#ifndef MCSI_KERN_RAM_H
#define MCSI_KERN_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "kern/backend.h"

struct kern_ram_opts {
	uint64_t blocks;            /* initial size in blocks (> 0) */
	uint32_t block_size;        /* 512 .. 65536, power of two; 0: 512 */
	uint64_t max_blocks;        /* reservation for resizes; 0: blocks */
	uint32_t max_io;            /* bytes per request advertised; 0: none */
	const char *identity;       /* copied; NULL: "ram.<address>" */
	bool async;                 /* complete on a worker thread, not inline */
};

/* Creates a RAM device and its first path. opts is borrowed. Returns 0
 * and a backend the caller owns, -EINVAL, or -ENOMEM. */
int kern_ram_create(const struct kern_ram_opts *opts, struct kern_backend **out);

/* A second path to the store of ram (a backend from kern_ram_create() or
 * this function), with the same identity and its own failure state. The
 * store lives until its last path is destroyed. */
int kern_ram_add_path(struct kern_backend *ram, struct kern_backend **out);

/* After `after` more requests, every request on this path fails with err
 * (a negative errno: a path error such as -ENOTCONN, or -EIO). Requests
 * submitted once failing are refused with err by submit in async mode and
 * completed with err in inline mode; requests queued in async mode when
 * the failure starts complete with err. err == 0 heals the path. */
void kern_ram_fail(struct kern_backend *b, int err, uint64_t after);

/* Changes the device size (every path sees it). Returns 0 or -EINVAL
 * (beyond the reservation). */
int kern_ram_resize(struct kern_backend *b, uint64_t blocks);

/* Requests completed on this path, successful or not. */
uint64_t kern_ram_completed(struct kern_backend *b);

/* The store's memory, for tests to compare against (borrowed). */
const uint8_t *kern_ram_data(struct kern_backend *b);

#endif
