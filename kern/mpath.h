/* SPDX-License-Identifier: MIT */
/*
 * Multipath: backends that report the same identity (the VPD 0x83
 * designator: the same LUN reached through different portals, sessions or
 * targets) are grouped into one backend, which is what gets exported.
 *
 * A request goes to one healthy path (the first one added: failover, or
 * each in turn: round robin). When it completes with a path error
 * (kern_err_is_path()), the path is marked failed and the same request is
 * sent again on another healthy path, so the caller sees no error as long
 * as one path works; other errors (a medium error, say) are the device's
 * and are returned as they are. A failed path is tried again after
 * retry_ms, or at once when kern_mpath_set_up() says it is back.
 */
#ifndef MCSI_KERN_MPATH_H
#define MCSI_KERN_MPATH_H

#include <stdbool.h>

#include "kern/backend.h"

#define KERN_MPATH_MAX_PATHS 8

struct kern_mpath;

struct kern_mpath_opts {
	bool round_robin;           /* false: failover only (active/passive) */
	unsigned retry_ms;          /* when to try a failed path again; 0: 5000 */
};

/* opts is borrowed (NULL: defaults). Returns 0, -ENOMEM. */
int kern_mpath_create(const struct kern_mpath_opts *opts, struct kern_mpath **out);

/* Frees every group. No request may be in flight and nothing may use the
 * groups' backends any more; the paths are not destroyed. NULL: no-op. */
void kern_mpath_destroy(struct kern_mpath *m);

/* Adds path (borrowed until kern_mpath_remove()) to the group of its
 * identity, creating the group if it is the first. *lun receives the
 * group's backend (owned by m: never kern_backend_destroy() it). Returns
 * 0, -EEXIST (already added), -EINVAL (no identity, or a block size
 * different from the group's), -ENOSPC (KERN_MPATH_MAX_PATHS), -ENOMEM. */
int kern_mpath_add(struct kern_mpath *m, struct kern_backend *path,
		   struct kern_backend **lun);

/* Takes path out of its group, waiting for its requests in flight to
 * complete (or fail over). The group stays, with fewer paths (with none,
 * its requests fail with -ENOTCONN until a path joins again). Returns 0 or
 * -ENOENT. Must not be called from a completion callback. */
int kern_mpath_remove(struct kern_mpath *m, struct kern_backend *path);

/* Marks path healthy (up) or failed (down) now, for a supervisor that
 * knows (connection re-established or lost). Returns 0 or -ENOENT. */
int kern_mpath_set_up(struct kern_mpath *m, struct kern_backend *path, bool up);

/* Counts of a group's paths: total and healthy. lun must come from
 * kern_mpath_add(). */
void kern_mpath_count(struct kern_backend *lun, unsigned *paths, unsigned *up);

#endif
