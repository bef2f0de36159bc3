/* SPDX-License-Identifier: MIT */
/*
 * The kernel-export hook of a session process. A session's LUNs are
 * presented to the kernel (kern/: FUSE files, loop devices, mounts, NBD)
 * by the process that holds the session, so that the export lives and
 * dies with the I/O path and never with mcsid. With kern/ built in, the
 * default export ("kern") puts one FUSE file per disk LUN under
 * <run-dir>/luns/<iqn>/lun<N> (a loop device and a filesystem go on top
 * with `iscsictl mount`); without it, the export presents nothing.
 *
 * Every hook runs on the session process's main thread; priv is the
 * export's own state (from create). A hook may block (a mount, a flush).
 */
#ifndef MCSI_SUPERVISOR_DAEMON_SESSIOND_EXPORT_H
#define MCSI_SUPERVISOR_DAEMON_SESSIOND_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcsi/mcsi.h"
#include "supervisor/daemon/sessiond.h"
#include "supervisor/json.h"

struct sd_export_ops {
	const char *name;
	/* Creates the export's state. run_dir and target are borrowed for
	 * the call. Returns 0 and *priv, or -errno (the session then logs
	 * out). */
	int (*create)(const char *run_dir, const char *target, void **priv);
	/* After login and the LUN scan: present the LUNs (s and luns are
	 * borrowed until detach; luns may change, see update). Returns 0 or
	 * -errno (the login is then undone). */
	int (*attach)(void *priv, mcsi_session *s, const struct lunscan_lun *luns,
		      size_t n);
	/* After a rescan: luns is the new list (LUNs added, gone, resized). */
	int (*update)(void *priv, const struct lunscan_lun *luns, size_t n);
	/* Called every SD_EXPORT_POLL_MS on the main thread, and at once
	 * after the target sent an asynchronous SCSI event: looks for LUNs
	 * added or gone (REPORT LUNS) and resized (READ CAPACITY), and deals
	 * with resizes itself. Returns 1 when the LUN list changed (the
	 * session then rescans and calls update), 0, or -errno. May be NULL. */
	int (*poll)(void *priv);
	/* Adds export members to LUN lun's record in "list luns" replies:
	 * "file", "loop", "mount", "nbd". */
	void (*describe)(void *priv, uint32_t lun, struct json_w *w);
	/* Before logout (alive: flush caches, unmount, then remove) or after
	 * the session was lost (!alive: remove without I/O). */
	void (*detach)(void *priv, bool alive);
	void (*destroy)(void *priv);
};

#define SD_EXPORT_POLL_MS 3000

/* The LUN directory of a session: <run_dir>/luns/<target>. Returns 0 or
 * -ENAMETOOLONG. */
int sd_export_dir(char *buf, size_t cap, const char *run_dir, const char *target);

/* The export used by this build: "kern" when kern/ is built in, else the
 * one that presents nothing. */
const struct sd_export_ops *sd_export_ops_default(void);

#endif
