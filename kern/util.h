/* SPDX-License-Identifier: MIT */
/* Small filesystem and process helpers for kern/ (not on the I/O path). */
#ifndef MCSI_KERN_UTIL_H
#define MCSI_KERN_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: creates path and its missing parents with mode. Returns 0
 * (also when it exists as a directory), -ENOTDIR, or -errno. */
int kern_mkdirs(const char *path, mode_t mode);

/* 1 if path is the root of a mount, 0 if not, or -errno (-ENOENT). */
int kern_is_mountpoint(const char *path);

/* Finds the mount whose mountpoint is path (canonical, as in
 * /proc/self/mountinfo) and copies its source and fs type. Returns 0,
 * -ENOENT (not a mountpoint), -ENAMETOOLONG, or -errno. */
int kern_mount_source(const char *path, char *source, size_t source_len,
		      char *fstype, size_t fstype_len);

/* The reverse: the mountpoint where source (e.g. "/dev/loop3") is
 * mounted (the first one listed). Returns 0, -ENOENT, -ENAMETOOLONG. */
int kern_mount_target(const char *source, char *mountpoint, size_t len);

/* Runs argv[0] (searched in PATH) with argv, stdin from /dev/null and
 * stdout to stderr, and waits. Returns its exit status (0..255), or
 * -errno if it could not run (-ENOENT: no such program) or died of a
 * signal (-EINTR). */
int kern_run(char *const argv[]);

#endif
