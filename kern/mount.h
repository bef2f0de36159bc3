/* SPDX-License-Identifier: MIT */
/*
 * Mounting a LUN: loop device (direct I/O, the LUN's block size) over the
 * LUN file, filesystem detection with libblkid, mkfs only when asked and
 * only on a LUN without any signature, mount(2). And the way back: sync,
 * umount, detach, SYNCHRONIZE CACHE (fsync of the LUN file, which the LUN
 * filesystem turns into one), so that no data is lost.
 *
 * These are what `iscsictl mount` / `iscsictl unmount` run; they need
 * root (CAP_SYS_ADMIN) and keep no state in the process: a mount made by
 * one process can be undone by another, from the mountpoint alone.
 */
#ifndef MCSI_KERN_MOUNT_H
#define MCSI_KERN_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/loop.h"

/* Where `iscsictl mount` and mcsid's auto-mount put a LUN by default:
 * KERN_MNT_ROOT/<iSCSI name>/lun<N>. */
#define KERN_MNT_ROOT "/mnt/mcsi"

struct kern_mount_req {
	const char *lun_file;       /* the LUN's file (or any file) */
	const char *mountpoint;     /* created with parents if missing */
	uint32_t block_size;        /* 0: the file's st_blksize (the LUN
	                             * filesystem reports the block size there) */
	const char *mkfs_type;      /* NULL: never create a filesystem; "ext4":
	                             * run mkfs.ext4 if the LUN has no signature */
	const char *fstype;         /* NULL: what blkid finds */
	const char *options;        /* filesystem mount data, NULL for none */
	bool read_only;
};

struct kern_mount_info {
	char loop_dev[KERN_LOOP_NAME_MAX];
	char fstype[32];
	uint32_t block_size;
	bool direct_io;             /* the loop device does direct I/O */
	bool created;               /* mkfs ran */
};

/* What kern_probe() found. */
enum kern_probe_result {
	KERN_PROBE_EMPTY = 0,       /* no signature at all */
	KERN_PROBE_FS,              /* a filesystem (type filled in) */
	KERN_PROBE_PARTITIONED,     /* a partition table (type filled in) */
	KERN_PROBE_OTHER,           /* RAID member, LVM PV, swap, crypto... */
};

/* Looks for signatures on dev with libblkid. Fills type (e.g. "ext4",
 * "dos", "gpt", "LVM2_member"). Returns an enum kern_probe_result, or
 * -EUCLEAN (several conflicting signatures), -ENOENT, -errno. */
int kern_probe(const char *dev, char *type, size_t type_len);

/* Attaches, probes, optionally creates, and mounts. req is borrowed;
 * info (may be NULL) receives what was done. Everything done is undone
 * when a later step fails. Returns 0 or:
 *   -ENOENT       lun_file missing
 *   -ENOMEDIUM    no filesystem and no mkfs_type asked
 *   -EMEDIUMTYPE  a partition table or a non-filesystem signature: never
 *                 formatted over, not mounted
 *   -EUCLEAN      conflicting signatures
 *   -EINVAL       bad request (mkfs_type/fstype characters, block size)
 *   -ENOEXEC      mkfs.TYPE failed or is missing
 *   -EBUSY        mountpoint busy; or -errno from mount(2). */
int kern_mount(const struct kern_mount_req *req, struct kern_mount_info *info);

/* Unmounts mountpoint: syncfs, umount, detach its loop device, then fsync
 * the LUN file behind it (SYNCHRONIZE CACHE). Returns 0, -ENOENT (nothing
 * mounted there), -EBUSY (in use: nothing was changed), or -errno. */
int kern_unmount(const char *mountpoint);

/* Where a LUN file is in use, for `iscsictl list luns`: the loop device
 * attached to it (first found) and where that device is mounted. Either
 * output is "" when there is none. Returns 0 or -errno. */
int kern_mount_lookup(const char *lun_file, char *loop_dev, size_t loop_len,
		      char *mountpoint, size_t mnt_len);

/* After the LUN behind mountpoint's loop device changed size: makes the
 * loop device (and so the filesystem's device) see it. The filesystem is
 * not grown. Returns 0 or -errno. */
int kern_mount_resize(const char *mountpoint);

#endif
