/* SPDX-License-Identifier: MIT */
/*
 * LUN backing stores: RAM (anonymous memory, reads of never-written or
 * unmapped blocks return zeros) and null (reads return zeros, writes are
 * dropped). A RAM LUN reserves address space for growth when it is created
 * so that its memory never moves: connection threads keep pointers into it
 * in their transmit batches while a resize runs.
 */
#ifndef TT_LUNS_H
#define TT_LUNS_H

#include "tt.h"

/* Parses "ID:ram:SIZE[:BS][:ro]" or "ID:null:SIZE[:BS]" (SIZE with K/M/G/T
 * suffix, BS 512 or 4096) and creates the LUN for target. Returns 0,
 * -EINVAL (bad spec, *why says what), -EEXIST (LUN number taken) or
 * -ENOMEM. */
int lun_add_spec(struct tt_target *t, const char *spec, bool prefault,
		 const char **why);

/* Changes the number of blocks. Growing a RAM LUN past its reservation
 * fails with -ENOSPC; new blocks read as zeros. Returns 0 or -errno. */
int lun_resize(struct tt_lun *l, uint64_t new_bytes);

/* Frees every LUN of t. Only at shutdown, when no thread uses them. */
void lun_destroy_all(struct tt_target *t);

/* Deallocates [lba, lba + n) (UNMAP / WRITE SAME with UNMAP). The caller
 * has checked the range. */
void lun_unmap(struct tt_lun *l, uint64_t lba, uint64_t n);

static inline uint64_t lun_blocks(const struct tt_lun *l)
{
	return atomic_load_explicit(&l->blocks, memory_order_acquire);
}

/* Parses a size with an optional K/M/G/T suffix (powers of 1024). */
int lun_parse_size(const char *s, uint64_t *out);

#endif
