/* SPDX-License-Identifier: MIT */
/* Helpers shared by mcsid and mcsi-sessiond: directories with checked
 * permissions, signals through signalfd, service notification. */
#ifndef MCSI_SUPERVISOR_DAEMON_DUTIL_H
#define MCSI_SUPERVISOR_DAEMON_DUTIL_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#define DU_RUN_DIR_DEFAULT "/run/mcsi"

/*
 * Makes sure path is a directory we can trust for sockets and state files:
 * creates it with mode when missing (parents must exist), then refuses
 * (-EPERM) a directory that is a symlink, is not owned by our euid, or
 * that group or others may write to. Returns 0 or -errno; *why (static)
 * says what was wrong.
 */
int du_dir_checked(const char *path, mode_t mode, const char **why);

/* Blocks the n signals in sigs and returns a non-blocking, close-on-exec
 * signalfd for them in *out. Returns 0 or -errno. */
int du_signalfd(const int *sigs, size_t n, int *out);
/* Reads one signal from a signalfd: returns its number, 0 when none is
 * pending, or -errno. */
int du_signal_read(int fd);

/* Sends msg ("READY=1", "STOPPING=1", "STATUS=...") to the service
 * manager when $NOTIFY_SOCKET names one; does nothing otherwise.
 * Returns 0 or -errno. */
int du_notify(const char *msg);

/* Reads a whole small file (at most cap - 1 bytes, NUL-terminated).
 * Returns 0 with *len, -EFBIG, or -errno. */
int du_read_file(const char *path, char *buf, size_t cap, size_t *len);

/* path = dir "/" name; -ENAMETOOLONG when it does not fit cap. */
int du_path(char *buf, size_t cap, const char *dir, const char *name);

#endif
