/* SPDX-License-Identifier: MIT */
#include "supervisor/daemon/dutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "supervisor/afile.h"

int du_dir_checked(const char *path, mode_t mode, const char **why)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		*why = "cannot create the directory";
		return -errno;
	}
	if (lstat(path, &st) < 0) {
		*why = "cannot stat the directory";
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a directory (or a symbolic link)";
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		*why = "the directory belongs to another user";
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		*why = "group or others may write to the directory";
		return -EPERM;
	}
	return 0;
}

int du_signalfd(const int *sigs, size_t n, int *out)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

int du_signal_read(int fd)
{
	struct signalfd_siginfo si;
	for (;;) {
		ssize_t n = read(fd, &si, sizeof(si));
		if (n == (ssize_t)sizeof(si))
			return (int)si.ssi_signo;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return n < 0 ? -errno : -EIO;
	}
}

int du_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n;

	if (!path || !path[0])
		return 0;
	n = strlen(path);
	if (n >= sizeof(a.sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memcpy(a.sun_path, path, n);
	if (path[0] == '@')
		a.sun_path[0] = '\0';            /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	int rc = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&a,
			alen) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int du_read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int rc = afile_read_fd(fd, buf, cap - 1, len);
	close(fd);
	if (rc == 0)
		buf[*len] = '\0';
	return rc;
}

int du_path(char *buf, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
