/* SPDX-License-Identifier: MIT */
#include "fastpath/xport.h"

#include <errno.h>
#include <string.h>

int xport_create(const char *name, const struct xport_cfg *cfg, struct xport **out)
{
	if (!name || !strcmp(name, "auto")) {
		/* io_uring may be compiled in yet refused at run time
		 * (old kernel, seccomp, io_uring_disabled): fall back. */
		if (xport_uring_ops.create(cfg, out) == 0)
			return 0;
		return xport_epoll_ops.create(cfg, out);
	}
	if (!strcmp(name, "io_uring") || !strcmp(name, "uring"))
		return xport_uring_ops.create(cfg, out);
	if (!strcmp(name, "epoll"))
		return xport_epoll_ops.create(cfg, out);
	if (!strcmp(name, "fake"))
		return xport_fake_ops.create(cfg, out);
	return -ENOENT;
}
