/* SPDX-License-Identifier: MIT */
/* Multipath groups with failover and round robin: see mpath.h.
 *
 * Paths live in fixed slots so that the I/O path reads them without a
 * lock: a dispatcher raises the slot's in-flight count before it looks at
 * the state, and removal sets the state first and then waits for the count
 * to drain, so a removed slot is never used. */
#include "kern/mpath.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fastpath/log.h"

enum mp_state { MP_EMPTY = 0, MP_UP, MP_FAILED, MP_REMOVING };

struct mp_path {
	struct kern_backend *_Atomic b;
	atomic_int state;
	_Atomic uint64_t failed_at;     /* ms, monotonic */
	atomic_uint inflight;
};

struct mp_group {
	struct kern_backend kb;         /* the exported LUN */
	struct kern_mpath *m;
	char *identity;
	uint32_t block_size;
	struct mp_path paths[KERN_MPATH_MAX_PATHS];
	atomic_uint rr;
	atomic_uint nslots;             /* slots ever used: round robin's modulus */
	struct mp_group *next;
};

struct kern_mpath {
	pthread_mutex_t lock;           /* the group list and slot allocation */
	struct mp_group *groups;
	bool round_robin;
	unsigned retry_ms;
};

/* io->stack while a group owns the request */
#define ST_DONE  0      /* the caller's done */
#define ST_PRIV  1      /* the caller's priv */
#define ST_TRIED 2      /* bit i: path i failed this request */
#define ST_PATH  3      /* path the request is on */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct mp_group *to_group(struct kern_backend *b)
{
	return (struct mp_group *)b;
}

static void path_failed(struct mp_group *g, unsigned i, int err)
{
	int up = MP_UP;

	atomic_store(&g->paths[i].failed_at, now_ms());
	if (atomic_compare_exchange_strong(&g->paths[i].state, &up, MP_FAILED))
		log_warn("kern: multipath %s: path %u failed (%s), failing over",
			 g->identity, i, strerror(-err));
}

/* Whether path i may take a request now: healthy, or failed long enough
 * ago to deserve another try. */
static bool usable(struct mp_group *g, unsigned i, uint64_t *now)
{
	int st = atomic_load(&g->paths[i].state);

	if (st == MP_UP)
		return true;
	if (st != MP_FAILED)
		return false;
	if (!*now)
		*now = now_ms();
	return *now - atomic_load(&g->paths[i].failed_at) >= g->m->retry_ms;
}

static void restore(struct kern_io *io)
{
	io->done = (kern_io_fn)io->stack[ST_DONE];
	io->priv = (void *)io->stack[ST_PRIV];
}

static void mp_done(struct kern_io *io);

/* Sends io on a path it has not failed on. Returns 0 (the path owns it),
 * or the error to give the caller (io restored). */
static int dispatch(struct mp_group *g, struct kern_io *io, int last_err)
{
	unsigned slots = atomic_load(&g->nslots);
	unsigned start = g->m->round_robin && slots ? atomic_fetch_add(&g->rr, 1) % slots : 0;
	uint64_t now = 0;

	for (unsigned k = 0; k < slots; k++) {
		unsigned i = (start + k) % slots;
		struct mp_path *p = &g->paths[i];
		int rc;

		if (io->stack[ST_TRIED] & (1u << i))
			continue;
		atomic_fetch_add(&p->inflight, 1);
		if (!usable(g, i, &now)) {
			atomic_fetch_sub(&p->inflight, 1);
			continue;
		}
		io->stack[ST_PATH] = i;
		io->done = mp_done;
		io->priv = g;
		rc = kern_submit(atomic_load(&p->b), io);
		if (rc == 0)
			return 0;
		atomic_fetch_sub(&p->inflight, 1);
		if (!kern_err_is_path(rc)) {
			restore(io);
			return rc;
		}
		path_failed(g, i, rc);
		io->stack[ST_TRIED] |= 1u << i;
		last_err = rc;
	}
	restore(io);
	return last_err;
}

static void mp_done(struct kern_io *io)
{
	struct mp_group *g = io->priv;
	unsigned i = (unsigned)io->stack[ST_PATH];
	int err = io->err;

	if (kern_err_is_path(err)) {
		path_failed(g, i, err);
		io->stack[ST_TRIED] |= 1u << i;
		atomic_fetch_sub(&g->paths[i].inflight, 1);
		err = dispatch(g, io, err);
		if (err == 0)
			return;     /* on its way again, on another path */
		io->err = err;
		io->done(io);
		return;
	}
	if (err == 0 && atomic_load(&g->paths[i].state) == MP_FAILED) {
		/* A retry on a failed path worked: it is back. */
		int failed = MP_FAILED;

		if (atomic_compare_exchange_strong(&g->paths[i].state, &failed, MP_UP))
			log_info("kern: multipath %s: path %u is back", g->identity, i);
	}
	atomic_fetch_sub(&g->paths[i].inflight, 1);
	restore(io);
	io->done(io);
}

static int mp_submit(struct kern_backend *b, struct kern_io *io)
{
	if (!io->done)
		return -EINVAL;
	io->stack[ST_DONE] = (uintptr_t)io->done;
	io->stack[ST_PRIV] = (uintptr_t)io->priv;
	io->stack[ST_TRIED] = 0;
	return dispatch(to_group(b), io, -ENOTCONN);
}

static void mp_geometry(struct kern_backend *b, struct kern_geometry *geo)
{
	struct mp_group *g = to_group(b);
	int best = -1;

	/* A healthy path's view, else any path's. */
	for (unsigned i = 0; i < KERN_MPATH_MAX_PATHS; i++) {
		int st = atomic_load(&g->paths[i].state);

		if (st == MP_UP) {
			best = (int)i;
			break;
		}
		if (st == MP_FAILED && best < 0)
			best = (int)i;
	}
	if (best >= 0) {
		struct mp_path *p = &g->paths[best];

		atomic_fetch_add(&p->inflight, 1);
		if (atomic_load(&p->state) != MP_REMOVING && atomic_load(&p->b)) {
			kern_geometry(atomic_load(&p->b), geo);
			atomic_fetch_sub(&p->inflight, 1);
			return;
		}
		atomic_fetch_sub(&p->inflight, 1);
	}
	memset(geo, 0, sizeof(*geo));
	geo->block_size = g->block_size;
}

static int mp_rescan(struct kern_backend *b)
{
	struct mp_group *g = to_group(b);
	int rc = -ENOTCONN;

	pthread_mutex_lock(&g->m->lock);
	for (unsigned i = 0; i < KERN_MPATH_MAX_PATHS; i++) {
		int st = atomic_load(&g->paths[i].state);

		if ((st == MP_UP || st == MP_FAILED) &&
		    kern_backend_rescan(atomic_load(&g->paths[i].b)) == 0)
			rc = 0;
	}
	pthread_mutex_unlock(&g->m->lock);
	return rc;
}

static void mp_destroy(struct kern_backend *b)
{
	(void)b;    /* groups belong to their kern_mpath */
}

static const struct kern_backend_ops mp_ops = {
	.submit = mp_submit,
	.geometry = mp_geometry,
	.rescan = mp_rescan,
	.destroy = mp_destroy,
};

int kern_mpath_create(const struct kern_mpath_opts *o, struct kern_mpath **out)
{
	struct kern_mpath *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->round_robin = o && o->round_robin;
	m->retry_ms = o && o->retry_ms ? o->retry_ms : 5000;
	*out = m;
	return 0;
}

void kern_mpath_destroy(struct kern_mpath *m)
{
	if (!m)
		return;
	while (m->groups) {
		struct mp_group *g = m->groups;

		m->groups = g->next;
		free(g->identity);
		free(g);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Finds the slot of path. Caller holds m->lock. */
static struct mp_group *find_path(struct kern_mpath *m, struct kern_backend *path,
				  unsigned *slot)
{
	for (struct mp_group *g = m->groups; g; g = g->next)
		for (unsigned i = 0; i < KERN_MPATH_MAX_PATHS; i++)
			if (atomic_load(&g->paths[i].b) == path &&
			    atomic_load(&g->paths[i].state) != MP_EMPTY) {
				*slot = i;
				return g;
			}
	return NULL;
}

static struct mp_group *group_new(struct kern_mpath *m, const char *identity,
				  uint32_t block_size)
{
	struct mp_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->identity = strdup(identity);
	if (!g->identity) {
		free(g);
		return NULL;
	}
	g->kb.ops = &mp_ops;
	g->kb.identity = g->identity;
	g->m = m;
	g->block_size = block_size;
	g->next = m->groups;
	m->groups = g;
	return g;
}

int kern_mpath_add(struct kern_mpath *m, struct kern_backend *path,
		   struct kern_backend **lun)
{
	struct kern_geometry geo;
	struct mp_group *g;
	unsigned slot;
	int rc = 0;

	if (!path->identity || !*path->identity)
		return -EINVAL;
	kern_geometry(path, &geo);
	pthread_mutex_lock(&m->lock);
	if (find_path(m, path, &slot)) {
		rc = -EEXIST;
		goto out;
	}
	for (g = m->groups; g; g = g->next)
		if (strcmp(g->identity, path->identity) == 0)
			break;
	if (!g) {
		g = group_new(m, path->identity, geo.block_size);
		if (!g) {
			rc = -ENOMEM;
			goto out;
		}
	} else if (g->block_size != geo.block_size) {
		log_err("kern: multipath %s: a path with block size %u, not %u: refused",
			g->identity, geo.block_size, g->block_size);
		rc = -EINVAL;
		goto out;
	}
	rc = -ENOSPC;
	for (unsigned i = 0; i < KERN_MPATH_MAX_PATHS; i++) {
		if (atomic_load(&g->paths[i].state) == MP_EMPTY) {
			atomic_store(&g->paths[i].b, path);
			atomic_store(&g->paths[i].state, MP_UP);
			if (atomic_load(&g->nslots) < i + 1)
				atomic_store(&g->nslots, i + 1);
			log_info("kern: multipath %s: path %u added", g->identity, i);
			rc = 0;
			break;
		}
	}
	if (rc == 0)
		*lun = &g->kb;
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int kern_mpath_remove(struct kern_mpath *m, struct kern_backend *path)
{
	struct mp_group *g;
	unsigned i;

	pthread_mutex_lock(&m->lock);
	g = find_path(m, path, &i);
	if (g)
		atomic_store(&g->paths[i].state, MP_REMOVING);
	pthread_mutex_unlock(&m->lock);
	if (!g)
		return -ENOENT;
	/* Requests on it complete (or move to another path) by themselves;
	 * removal is rare, so polling is good enough. */
	while (atomic_load(&g->paths[i].inflight))
		usleep(1000);
	pthread_mutex_lock(&m->lock);
	atomic_store(&g->paths[i].b, NULL);
	atomic_store(&g->paths[i].state, MP_EMPTY);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int kern_mpath_set_up(struct kern_mpath *m, struct kern_backend *path, bool up)
{
	struct mp_group *g;
	unsigned i;

	pthread_mutex_lock(&m->lock);
	g = find_path(m, path, &i);
	if (g && atomic_load(&g->paths[i].state) != MP_REMOVING) {
		atomic_store(&g->paths[i].failed_at, now_ms());
		atomic_store(&g->paths[i].state, up ? MP_UP : MP_FAILED);
	}
	pthread_mutex_unlock(&m->lock);
	return g ? 0 : -ENOENT;
}

void kern_mpath_count(struct kern_backend *lun, unsigned *paths, unsigned *up)
{
	struct mp_group *g = to_group(lun);

	*paths = *up = 0;
	for (unsigned i = 0; i < KERN_MPATH_MAX_PATHS; i++) {
		int st = atomic_load(&g->paths[i].state);

		if (st == MP_UP || st == MP_FAILED)
			(*paths)++;
		if (st == MP_UP)
			(*up)++;
	}
}
