/* SPDX-License-Identifier: MIT */
#include "mcs/sess_desc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Appends s (may be NULL) at *pos in mem and returns the copy. */
static const char *desc_put(char *mem, size_t *pos, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = mem + *pos;

	memcpy(d, s, n);
	*pos += n;
	return d;
}

static size_t desc_len(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

int sess_desc_create(const char *url, const struct mcsi_opts *o,
		     struct sess_desc **out)
{
	struct sess_desc *d;
	long pg = sysconf(_SC_PAGESIZE);
	size_t need, pos = 0;

	if (!url || !o || !out)
		return -EINVAL;
	need = desc_len(url) + desc_len(o->initiator_name) + desc_len(o->transport) +
	       desc_len(o->chap_user) + desc_len(o->chap_secret) +
	       desc_len(o->chap_target_user) + desc_len(o->chap_target_secret) +
	       desc_len(o->sched_policy) + desc_len(o->portals);
	if (!(d = calloc(1, sizeof(*d))))
		return -ENOMEM;
	d->mem_len = (need + (size_t)pg - 1) & ~((size_t)pg - 1);
	d->mem = mmap(NULL, d->mem_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->mem == MAP_FAILED) {
		free(d);
		return -ENOMEM;
	}
	/* Best effort, as supervisor/secrets.c: a core dump must not show
	 * the secrets; swap should not either when the limit allows. */
	(void)madvise(d->mem, d->mem_len, MADV_DONTDUMP);
	(void)mlock(d->mem, d->mem_len);
	d->opts = *o;
	d->url = desc_put(d->mem, &pos, url);
	d->opts.initiator_name = desc_put(d->mem, &pos, o->initiator_name);
	d->opts.transport = desc_put(d->mem, &pos, o->transport);
	d->opts.chap_user = desc_put(d->mem, &pos, o->chap_user);
	d->opts.chap_secret = desc_put(d->mem, &pos, o->chap_secret);
	d->opts.chap_target_user = desc_put(d->mem, &pos, o->chap_target_user);
	d->opts.chap_target_secret = desc_put(d->mem, &pos, o->chap_target_secret);
	d->opts.sched_policy = desc_put(d->mem, &pos, o->sched_policy);
	d->opts.portals = desc_put(d->mem, &pos, o->portals);
	atomic_init(&d->refs, 1u);
	*out = d;
	return 0;
}

struct sess_desc *sess_desc_get(struct sess_desc *d)
{
	atomic_fetch_add_explicit(&d->refs, 1u, memory_order_relaxed);
	return d;
}

void sess_desc_destroy(struct sess_desc *d)
{
	sess_desc_put(d);
}

void sess_desc_put(struct sess_desc *d)
{
	/* The last holder frees: acq_rel orders the others' reads before. */
	if (!d || atomic_fetch_sub_explicit(&d->refs, 1u, memory_order_acq_rel) != 1u)
		return;
	explicit_bzero(d->mem, d->mem_len);
	munlock(d->mem, d->mem_len);
	munmap(d->mem, d->mem_len);
	explicit_bzero(d, sizeof(*d));
	free(d);
}
