/* SPDX-License-Identifier: MIT */
#include "supervisor/afile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory holding path, for the fsync that makes the rename
 * durable. */
static int open_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash)
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* "<path>.tmp-<random>": unpredictable, so another user cannot pre-create
 * it, and O_EXCL refuses it if they did. */
static int open_temp(const char *path, mode_t mode, char *tmp, size_t cap)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		uint32_t r;
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint32_t)getpid() ^ ((uint32_t)attempt << 24);
		int n = snprintf(tmp, cap, "%s.tmp-%08x", path, r);
		if (n < 0 || (size_t)n >= cap)
			return -ENAMETOOLONG;
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				   O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int afile_write(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd = open_temp(path, mode, tmp, sizeof(tmp));
	int rc = 0;

	if (fd < 0)
		return fd;
	if (fchmod(fd, mode) != 0)
		rc = -errno;
	if (rc == 0)
		rc = write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	int dfd = open_parent(path);
	if (dfd >= 0) {
		/* The file is in place; a failed directory sync only
		 * weakens durability, so it is not reported as failure. */
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int afile_read_fd(int fd, void *buf, size_t cap, size_t *len)
{
	char *p = buf;
	size_t got = 0;

	for (;;) {
		char probe;
		ssize_t n = got < cap ? read(fd, p + got, cap - got) :
					read(fd, &probe, 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		if (got >= cap) {
			explicit_bzero(&probe, sizeof(probe));
			return -EFBIG;
		}
		got += (size_t)n;
	}
	*len = got;
	return 0;
}
