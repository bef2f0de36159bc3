/* SPDX-License-Identifier: MIT */
/*
 * Whole-file reads and crash-safe replacement of small control files
 * (mcsi.conf, the secrets file): a reader never sees a half-written file,
 * and after a crash the old or the new version is there, not neither.
 */
#ifndef MCSI_SUPERVISOR_AFILE_H
#define MCSI_SUPERVISOR_AFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replaces path with len bytes of buf: creates a temporary in the same
 * directory with open(O_CREAT | O_EXCL | O_NOFOLLOW, mode), then fchmod()s
 * it to mode so the umask cannot change it, writes, fsync()s, renames it
 * over path and fsync()s the directory. The temporary is removed on any
 * failure. The new file belongs to the caller's effective uid and gid.
 * Returns 0 or -errno (from the failing call; path is then unchanged).
 */
int afile_write(const char *path, const void *buf, size_t len, mode_t mode);

/* Reads fd to its end into buf (cap bytes). Returns 0 with *len set,
 * -EFBIG if there is more than cap bytes, or -errno from read(). Retries
 * on EINTR. */
int afile_read_fd(int fd, void *buf, size_t cap, size_t *len);

#endif
