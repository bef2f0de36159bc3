/* SPDX-License-Identifier: MIT */
/* Buffer pool: see pool.h. A mutex-protected stack of free indexes; the
 * exporters take one buffer per request, so contention is one lock per
 * request, far below the cost of the I/O itself. */
#include "kern/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct kern_pool {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	uint8_t *mem;
	size_t size;
	unsigned count;
	unsigned nfree;
	unsigned *free;     /* stack of free indexes */
};

int kern_pool_create(unsigned count, size_t size, struct kern_pool **out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct kern_pool *p;

	if (count == 0 || size == 0 || size > SIZE_MAX / count - page)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->size = (size + page - 1) & ~(page - 1);
	p->count = count;
	p->free = calloc(count, sizeof(*p->free));
	p->mem = mmap(NULL, p->size * count, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!p->free || p->mem == MAP_FAILED) {
		if (p->mem != MAP_FAILED && p->mem)
			munmap(p->mem, p->size * count);
		free(p->free);
		free(p);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < count; i++)
		p->free[i] = count - 1 - i;
	p->nfree = count;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	*out = p;
	return 0;
}

void kern_pool_destroy(struct kern_pool *p)
{
	if (!p)
		return;
	munmap(p->mem, p->size * p->count);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p->free);
	free(p);
}

unsigned kern_pool_get(struct kern_pool *p)
{
	unsigned idx;

	pthread_mutex_lock(&p->lock);
	while (p->nfree == 0)
		pthread_cond_wait(&p->freed, &p->lock);
	idx = p->free[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return idx;
}

int kern_pool_tryget(struct kern_pool *p)
{
	int idx = -EAGAIN;

	pthread_mutex_lock(&p->lock);
	if (p->nfree)
		idx = (int)p->free[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return idx;
}

void kern_pool_put(struct kern_pool *p, unsigned idx)
{
	pthread_mutex_lock(&p->lock);
	p->free[p->nfree++] = idx;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

void *kern_pool_buf(const struct kern_pool *p, unsigned idx)
{
	return p->mem + (size_t)idx * p->size;
}

size_t kern_pool_size(const struct kern_pool *p)
{
	return p->size;
}

unsigned kern_pool_count(const struct kern_pool *p)
{
	return p->count;
}
