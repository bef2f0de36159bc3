/* SPDX-License-Identifier: MIT */
/* Loop device attach/detach: see loop.h. */
#include "kern/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastpath/log.h"

static int configure(int lfd, int ffd, const char *file, uint32_t bs, bool ro)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (uint32_t)ffd;
	cfg.block_size = bs;
	cfg.info.lo_flags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR |
			    (ro ? LO_FLAGS_READ_ONLY : 0);
	snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", file);
	return ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0 ? 0 : -errno;
}

int kern_loop_attach(const char *file, uint32_t block_size, bool read_only,
		     char *dev, bool *direct_io)
{
	uint32_t bs = block_size ? block_size : 512;
	struct loop_info64 info;
	int ctl, ffd, lfd = -EBUSY, rc = -EBUSY;

	if (bs < 512 || bs > 4096 || (bs & (bs - 1)))
		return -EINVAL;
	ffd = open(file, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (ffd < 0)
		return -errno;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		rc = -errno;
		close(ffd);
		return rc;
	}
	/* Another process may take the device we were given: try again. */
	for (int tries = 0; tries < 32 && rc == -EBUSY; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0) {
			rc = -errno;
			break;
		}
		snprintf(dev, KERN_LOOP_NAME_MAX, "/dev/loop%d", n);
		lfd = open(dev, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0) {
			rc = -errno;
			break;
		}
		rc = configure(lfd, ffd, file, bs, read_only);
		if (rc) {
			close(lfd);
			lfd = -1;
		}
	}
	close(ctl);
	close(ffd);
	if (rc) {
		log_err("kern: cannot attach a loop device to %s: %s", file, strerror(-rc));
		return rc;
	}
	*direct_io = ioctl(lfd, LOOP_GET_STATUS64, &info) == 0 &&
		     (info.lo_flags & LO_FLAGS_DIRECT_IO);
	if (!*direct_io)
		log_warn("kern: %s: the kernel refused direct I/O on %s", dev, file);
	return lfd;
}

int kern_loop_detach(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return errno == ENXIO || errno == ENOENT ? 0 : -errno;
	if (ioctl(fd, LOOP_CLR_FD, 0) != 0 && errno != ENXIO)
		rc = -errno;
	close(fd);
	return rc;
}

int kern_loop_set_capacity(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, LOOP_SET_CAPACITY, 0) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int kern_loop_backing_file(const char *dev, char *path, size_t len)
{
	const char *base = strrchr(dev, '/');
	char sys[96];
	ssize_t n;
	int fd;

	base = base ? base + 1 : dev;
	if (strncmp(base, "loop", 4) != 0 || strchr(base, '.'))
		return -ENXIO;
	snprintf(sys, sizeof(sys), "/sys/block/%s/loop/backing_file", base);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENXIO;
	n = read(fd, path, len);
	close(fd);
	if (n <= 0)
		return -ENXIO;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	while (n > 0 && path[n - 1] == '\n')
		n--;
	path[n] = '\0';
	return 0;
}
