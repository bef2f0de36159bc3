/* SPDX-License-Identifier: MIT */
#include "luns.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int lun_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end != '\0' && *end != ':')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* FNV-1a: a stable identifier per (target, LUN) without any global state. */
static uint64_t lun_hash(const char *target, uint32_t id)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = target; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((id >> (8 * i)) & 0xff)) * 0x100000001b3ull;
	return h;
}

static void lun_make_ids(struct tt_lun *l, const char *target)
{
	uint64_t h = lun_hash(target, l->id);
	/* NAA 3: locally assigned, 60 bits of our own choosing. */
	h = (h & 0x0fffffffffffffffull) | 0x3000000000000000ull;
	for (int i = 0; i < 8; i++)
		l->naa[i] = (uint8_t)(h >> (56 - 8 * i));
	snprintf(l->serial, sizeof(l->serial), "MCSI%016" PRIx64,
		 lun_hash(target, l->id ^ 0x5a5a5a5au));
}

/* Room to grow: four times the initial size, at least 1 GiB of address
 * space (MAP_NORESERVE: untouched pages cost nothing). */
static size_t lun_reservation(uint64_t bytes)
{
	uint64_t r = bytes * 4;
	if (r < (1ull << 30))
		r = 1ull << 30;
	return (size_t)r;
}

int lun_add_spec(struct tt_target *t, const char *spec, bool prefault,
		 const char **why)
{
	char kind[8] = "";
	unsigned long id;
	char *end;
	const char *p;

	id = strtoul(spec, &end, 10);
	if (end == spec || *end != ':' || id >= TT_MAX_LUNS) {
		*why = "LUN number missing or too large";
		return -EINVAL;
	}
	p = end + 1;
	size_t kl = strcspn(p, ":");
	if (kl == 0 || kl >= sizeof(kind)) {
		*why = "LUN kind must be ram or null";
		return -EINVAL;
	}
	memcpy(kind, p, kl);
	p += kl;
	if (*p != ':') {
		*why = "LUN size missing";
		return -EINVAL;
	}
	p++;
	uint64_t bytes;
	if (lun_parse_size(p, &bytes) || bytes == 0) {
		*why = "bad LUN size";
		return -EINVAL;
	}
	p += strcspn(p, ":");
	uint32_t bs = 512;
	bool ro = false;
	while (*p == ':') {
		p++;
		if (!strncmp(p, "ro", 2) && (p[2] == '\0' || p[2] == ':')) {
			ro = true;
		} else {
			unsigned long v = strtoul(p, &end, 10);
			if (end == p || (v != 512 && v != 4096)) {
				*why = "block size must be 512 or 4096";
				return -EINVAL;
			}
			bs = (uint32_t)v;
		}
		p += strcspn(p, ":");
	}
	if (t->luns[id]) {
		*why = "LUN number used twice";
		return -EEXIST;
	}
	struct tt_lun *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->id = (uint32_t)id;
	l->block_size = bs;
	l->readonly = ro;
	atomic_init(&l->blocks, bytes / bs);
	if (!strcmp(kind, "ram")) {
		l->kind = TT_LUN_RAM;
		l->reserved = lun_reservation(bytes);
		l->mem = mmap(NULL, l->reserved, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (l->mem == MAP_FAILED) {
			free(l);
			*why = "cannot reserve memory for the RAM LUN";
			return -ENOMEM;
		}
		if (prefault)
			memset(l->mem, 0, (size_t)bytes);
	} else if (!strcmp(kind, "null")) {
		l->kind = TT_LUN_NULL;
	} else {
		free(l);
		*why = "LUN kind must be ram or null";
		return -EINVAL;
	}
	if (bytes / bs == 0) {
		*why = "LUN smaller than one block";
		if (l->mem)
			munmap(l->mem, l->reserved);
		free(l);
		return -EINVAL;
	}
	lun_make_ids(l, t->name);
	t->luns[id] = l;
	atomic_fetch_add(&t->lun_gen, 1);
	return 0;
}

int lun_resize(struct tt_lun *l, uint64_t new_bytes)
{
	uint64_t nb = new_bytes / l->block_size;
	uint64_t old = lun_blocks(l);
	if (nb == 0)
		return -EINVAL;
	if (l->kind == TT_LUN_RAM) {
		if (new_bytes > l->reserved)
			return -ENOSPC;
		/* Blocks beyond the old end may hold data from before a shrink:
		 * a grown LUN reads zeros there. */
		if (nb > old)
			lun_unmap(l, old, nb - old);
	}
	atomic_store_explicit(&l->blocks, nb, memory_order_release);
	return 0;
}

void lun_unmap(struct tt_lun *l, uint64_t lba, uint64_t n)
{
	if (l->kind != TT_LUN_RAM || n == 0)
		return;
	size_t off = (size_t)(lba * l->block_size);
	size_t len = (size_t)(n * l->block_size);
	size_t pg = 4096;
	size_t a = (off + pg - 1) & ~(pg - 1);
	size_t b = (off + len) & ~(pg - 1);
	if (a < b) {
		memset(l->mem + off, 0, a - off);
		/* Give whole pages back: they read as zeros again. */
		if (madvise(l->mem + a, b - a, MADV_DONTNEED) != 0)
			memset(l->mem + a, 0, b - a);
		memset(l->mem + b, 0, off + len - b);
	} else {
		memset(l->mem + off, 0, len);
	}
}

void lun_destroy_all(struct tt_target *t)
{
	for (unsigned i = 0; i < TT_MAX_LUNS; i++) {
		struct tt_lun *l = t->luns[i];
		if (!l)
			continue;
		if (l->mem)
			munmap(l->mem, l->reserved);
		free(l);
		t->luns[i] = NULL;
	}
}
