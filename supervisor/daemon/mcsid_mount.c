/* SPDX-License-Identifier: MIT */
/*
 * auto-mount: after mcsid's auto-login of a target whose configuration
 * says auto-mount = yes, every disk LUN file the session process presents
 * that holds a filesystem is mounted on KERN_MNT_ROOT/<iqn>/lun<N>, as
 * `iscsictl mount` would do it (kern/mount.h: a direct-I/O loop device,
 * libblkid, mount(2)). Never formats: a LUN without a filesystem is left
 * alone with a log line.
 *
 * Attaching a loop device and mounting can take seconds, and the daemon's
 * loop must not wait: the work runs in a child process (reaped by the
 * daemon's SIGCHLD handling like any other child), which logs one line
 * per LUN and exits. `iscsictl logout` unmounts first, as for mounts made
 * by hand.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "supervisor/daemon/mcsid.h"
#include "supervisor/json.h"
#ifdef MCSI_HAVE_KERN
#include "kern/mount.h"
#endif

#ifdef MCSI_HAVE_KERN
static void mount_one(const char *target, const char *json, const struct json_tok *t,
		      int e)
{
	char file[PATH_MAX] = "", mounted[PATH_MAX] = "", type[32] = "", mnt[PATH_MAX];
	uint64_t lun = 0;
	struct kern_mount_info info;

	json_get_u64(json, t, (size_t)e, "lun", UINT32_MAX, &lun);
	json_get_str(json, t, (size_t)e, "file", file, sizeof(file));
	json_get_str(json, t, (size_t)e, "mount", mounted, sizeof(mounted));
	json_get_str(json, t, (size_t)e, "type", type, sizeof(type));
	if (!file[0] || strcmp(type, "disk") != 0)
		return;                         /* not presented as a file */
	if (mounted[0]) {
		log_peer_info(target, "auto-mount: LUN %u is already mounted on %s",
			      (unsigned)lun, mounted);
		return;
	}
	int n = snprintf(mnt, sizeof(mnt), "%s/%s/lun%u", KERN_MNT_ROOT, target,
			 (unsigned)lun);
	if (n < 0 || (size_t)n >= sizeof(mnt))
		return;
	struct kern_mount_req req = { .lun_file = file, .mountpoint = mnt };
	int rc = kern_mount(&req, &info);
	if (rc == 0)
		log_peer_info(target, "auto-mount: LUN %u mounted on %s (%s, %s)",
			      (unsigned)lun, mnt, info.fstype, info.loop_dev);
	else if (rc == -ENOMEDIUM)
		log_peer_info(target, "auto-mount: LUN %u holds no filesystem: not mounted",
			      (unsigned)lun);
	else
		log_peer_warn(target, "auto-mount: LUN %u on %s: %s%s", (unsigned)lun, mnt,
			      strerror(-rc), rc == -EMEDIUMTYPE
			      ? " (partitioned, or not a filesystem: not touched)" : "");
}
#endif

void mcsid_automount(struct mcsid *d, const char *target, const char *json,
		     const struct json_tok *t, int luns)
{
	const struct cfg_target *ct = cfg_target_find(d->cfg, target);

	if (!ct || !ct->auto_mount || luns < 0 || t[luns].count == 0)
		return;
#ifdef MCSI_HAVE_KERN
	pid_t pid = fork();
	if (pid < 0) {
		log_peer_warn(target, "auto-mount: fork: %s", strerror(errno));
		return;
	}
	if (pid > 0)
		return;
	for (uint32_t i = 0; i < t[luns].count; i++) {
		int e = json_elem(t, (size_t)luns, i);
		if (e >= 0)
			mount_one(target, json, t, e);
	}
	_exit(0);
#else
	log_peer_warn(target, "auto-mount: this mcsid was built without kern/ (FUSE, blkid)");
#endif
}
