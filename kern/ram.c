/* SPDX-License-Identifier: MIT */
/* RAM backend: see ram.h. */
#include "kern/ram.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_RING 1024u  /* async requests queued per path */

struct ram_store {
	atomic_uint refs;
	uint8_t *mem;
	size_t reserved;
	_Atomic uint64_t blocks;
	uint32_t block_size;
	uint32_t max_io;
	char *identity;
};

struct ram_path {
	struct kern_backend kb;
	struct ram_store *st;
	bool async;
	_Atomic int fail_err;
	_Atomic int64_t fail_budget;   /* requests left before failing */
	atomic_bool failing;
	_Atomic uint64_t completed;
	/* async mode: a bounded ring served by one worker thread */
	pthread_t worker;
	pthread_mutex_t lock;
	pthread_cond_t more, space;
	struct kern_io **ring;
	unsigned head, tail;
	bool stop;
};

static struct ram_path *to_path(struct kern_backend *b)
{
	return (struct ram_path *)b;
}

static void geometry(struct kern_backend *b, struct kern_geometry *g)
{
	struct ram_store *st = to_path(b)->st;

	memset(g, 0, sizeof(*g));
	g->blocks = atomic_load(&st->blocks);
	g->block_size = st->block_size;
	g->max_io = st->max_io;
	g->can_unmap = true;
	g->unmap_zeroes = true;
}

static void copy_iov(uint8_t *mem, const struct iovec *iov, int iovcnt, bool to_mem)
{
	for (int i = 0; i < iovcnt; i++) {
		if (to_mem)
			memcpy(mem, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, mem, iov[i].iov_len);
		mem += iov[i].iov_len;
	}
}

/* Zeroes a range, giving whole pages back to the kernel. */
static void zero_range(uint8_t *mem, uint64_t off, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t a = (off + page - 1) & ~(page - 1);
	uint64_t e = (off + len) & ~(page - 1);

	if (e > a && e - a >= 16 * page) {
		memset(mem + off, 0, a - off);
		if (madvise(mem + a, e - a, MADV_DONTNEED) != 0)
			memset(mem + a, 0, e - a);
		memset(mem + e, 0, off + len - e);
	} else {
		memset(mem + off, 0, len);
	}
}

/* Runs io against the store; returns its result. */
static int execute(struct ram_path *p, struct kern_io *io)
{
	struct kern_geometry g;
	int rc;

	geometry(&p->kb, &g);
	rc = kern_io_check(io, &g);
	if (rc)
		return rc;
	switch (io->op) {
	case KERN_OP_READ:
		copy_iov(p->st->mem + io->offset, io->iov, io->iovcnt, false);
		break;
	case KERN_OP_WRITE:
		copy_iov(p->st->mem + io->offset, io->iov, io->iovcnt, true);
		break;
	case KERN_OP_UNMAP:
	case KERN_OP_WRITE_ZEROES:
		zero_range(p->st->mem, io->offset, io->len);
		break;
	default:
		break;  /* FLUSH: RAM is always stable */
	}
	return 0;
}

static void complete(struct ram_path *p, struct kern_io *io, int err)
{
	io->err = err;
	atomic_fetch_add(&p->completed, 1);
	io->done(io);
}

/* Counts one request against the failure budget; returns its error. */
static int charge(struct ram_path *p)
{
	int err = atomic_load(&p->fail_err);

	if (err == 0)
		return 0;
	if (atomic_load(&p->failing) || atomic_fetch_sub(&p->fail_budget, 1) <= 0) {
		atomic_store(&p->failing, true);
		return err;
	}
	return 0;
}

static void *worker(void *arg)
{
	struct ram_path *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct kern_io *io;

		while (p->head == p->tail && !p->stop)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->head == p->tail)
			break;
		io = p->ring[p->tail++ % RAM_RING];
		pthread_cond_signal(&p->space);
		pthread_mutex_unlock(&p->lock);
		if (atomic_load(&p->failing))
			complete(p, io, atomic_load(&p->fail_err));
		else
			complete(p, io, execute(p, io));
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int submit(struct kern_backend *b, struct kern_io *io)
{
	struct ram_path *p = to_path(b);
	int err;

	if (!io->done)
		return -EINVAL;
	err = charge(p);
	if (!p->async) {
		complete(p, io, err ? err : execute(p, io));
		return 0;
	}
	if (err)
		return err;
	pthread_mutex_lock(&p->lock);
	while (p->head - p->tail >= RAM_RING)
		pthread_cond_wait(&p->space, &p->lock);
	p->ring[p->head++ % RAM_RING] = io;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void store_put(struct ram_store *st)
{
	if (atomic_fetch_sub(&st->refs, 1) != 1)
		return;
	munmap(st->mem, st->reserved);
	free(st->identity);
	free(st);
}

static void destroy(struct kern_backend *b)
{
	struct ram_path *p = to_path(b);

	if (p->async) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->more);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->worker, NULL);
		free(p->ring);
	}
	pthread_cond_destroy(&p->more);
	pthread_cond_destroy(&p->space);
	pthread_mutex_destroy(&p->lock);
	store_put(p->st);
	free(p);
}

static const struct kern_backend_ops ram_ops = {
	.submit = submit,
	.geometry = geometry,
	.destroy = destroy,
};

static int path_new(struct ram_store *st, bool async, struct kern_backend **out)
{
	struct ram_path *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->kb.ops = &ram_ops;
	p->kb.identity = st->identity;
	p->st = st;
	p->async = async;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	pthread_cond_init(&p->space, NULL);
	if (async) {
		p->ring = calloc(RAM_RING, sizeof(*p->ring));
		if (!p->ring || pthread_create(&p->worker, NULL, worker, p) != 0) {
			free(p->ring);
			free(p);
			return -ENOMEM;
		}
	}
	atomic_fetch_add(&st->refs, 1);
	*out = &p->kb;
	return 0;
}

int kern_ram_create(const struct kern_ram_opts *o, struct kern_backend **out)
{
	uint32_t bs = o->block_size ? o->block_size : 512;
	uint64_t max = o->max_blocks ? o->max_blocks : o->blocks;
	struct ram_store *st;
	char name[40];
	int rc;

	if (bs < 512 || bs > 65536 || (bs & (bs - 1)) || o->blocks == 0 ||
	    max < o->blocks || max > (UINT64_MAX >> 1) / bs)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->reserved = (size_t)(max * bs);
	st->mem = mmap(NULL, st->reserved, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (st->mem == MAP_FAILED) {
		free(st);
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "ram.%p", (void *)st);
	st->identity = strdup(o->identity ? o->identity : name);
	st->block_size = bs;
	st->max_io = o->max_io;
	atomic_init(&st->blocks, o->blocks);
	atomic_init(&st->refs, 1);   /* the creator's, dropped below */
	rc = st->identity ? path_new(st, o->async, out) : -ENOMEM;
	store_put(st);
	return rc;
}

int kern_ram_add_path(struct kern_backend *ram, struct kern_backend **out)
{
	struct ram_path *p = to_path(ram);

	return path_new(p->st, p->async, out);
}

void kern_ram_fail(struct kern_backend *b, int err, uint64_t after)
{
	struct ram_path *p = to_path(b);

	atomic_store(&p->failing, false);
	atomic_store(&p->fail_budget, (int64_t)after);
	atomic_store(&p->fail_err, err);
	if (err && after == 0)
		atomic_store(&p->failing, true);
}

int kern_ram_resize(struct kern_backend *b, uint64_t blocks)
{
	struct ram_store *st = to_path(b)->st;

	if (blocks == 0 || blocks > st->reserved / st->block_size)
		return -EINVAL;
	atomic_store(&st->blocks, blocks);
	return 0;
}

uint64_t kern_ram_completed(struct kern_backend *b)
{
	return atomic_load(&to_path(b)->completed);
}

const uint8_t *kern_ram_data(struct kern_backend *b)
{
	return to_path(b)->st->mem;
}
