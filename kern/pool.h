/* SPDX-License-Identifier: MIT */
/*
 * A fixed set of equal, page-aligned I/O buffers, allocated once, so that
 * the exporters never allocate per request. Taking a buffer blocks while
 * all are in use: that is the exporters' back-pressure.
 */
#ifndef MCSI_KERN_POOL_H
#define MCSI_KERN_POOL_H

#include <stddef.h>

struct kern_pool;

/* count buffers of size bytes (rounded up to pages), mapped lazily so
 * that untouched buffers cost no memory. Returns 0 or -EINVAL/-ENOMEM. */
int kern_pool_create(unsigned count, size_t size, struct kern_pool **out);
/* No buffer may be taken. NULL is a no-op. */
void kern_pool_destroy(struct kern_pool *p);

/* Takes a free buffer, waiting for one; returns its index. */
unsigned kern_pool_get(struct kern_pool *p);
/* Takes a free buffer without waiting: its index, or -EAGAIN. */
int kern_pool_tryget(struct kern_pool *p);
/* Returns buffer idx (taken with get) to the pool. Any thread. */
void kern_pool_put(struct kern_pool *p, unsigned idx);

void *kern_pool_buf(const struct kern_pool *p, unsigned idx);
size_t kern_pool_size(const struct kern_pool *p);
unsigned kern_pool_count(const struct kern_pool *p);

#endif
