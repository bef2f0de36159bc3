/* SPDX-License-Identifier: MIT */
/*
 * What a session needs to log in again by itself (session reinstatement,
 * docs/design/recovery.md section 6): the URL and the options it was
 * opened with, deep-copied. The URL may carry a CHAP password and the
 * options carry secrets, so the whole copy lives in pages that are
 * excluded from core dumps (MADV_DONTDUMP), locked when the limit allows
 * (mlock), and wiped (explicit_bzero) before they are returned.
 */
#ifndef MCSI_MCS_SESS_DESC_H
#define MCSI_MCS_SESS_DESC_H

#include <stdatomic.h>
#include <stddef.h>

#include "mcsi/mcsi.h"

/*
 * One per session: mcsi_open() makes it, and each part that logs in again
 * by itself (session reinstatement, ERL 2 connection recovery, MC/S
 * joins) holds a reference, so that the secrets exist once. Read-only
 * after creation, hence shared by their threads without a lock.
 */
struct sess_desc {
	const char *url;            /* in the protected pages */
	struct mcsi_opts opts;      /* strings point into the protected pages;
				     * callbacks and scalars as given */
	void *mem;                  /* the pages */
	size_t mem_len;
	_Atomic unsigned refs;
};

/* Copies url and o (every string, secrets included) into a new
 * description with one reference, the caller's. Both are borrowed for
 * the call. Returns 0 and *out, -EINVAL or -ENOMEM. */
int sess_desc_create(const char *url, const struct mcsi_opts *o,
		     struct sess_desc **out);

/* Takes one more reference to d (any thread). Returns d. */
struct sess_desc *sess_desc_get(struct sess_desc *d);

/* Drops a reference; the last one wipes the copies and frees d. NULL is
 * fine. */
void sess_desc_put(struct sess_desc *d);

/* The same as sess_desc_put() (the creator's reference). */
void sess_desc_destroy(struct sess_desc *d);

#endif
