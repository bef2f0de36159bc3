/* SPDX-License-Identifier: MIT */
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "conn.h"
#include "faults.h"

static void net_portal_text(struct tt_portal *pt)
{
	char host[INET6_ADDRSTRLEN];
	if (pt->addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&pt->addr;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(pt->text, sizeof(pt->text), "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&pt->addr;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(pt->text, sizeof(pt->text), "%s:%u", host, ntohs(s4->sin_port));
	}
}

static int net_listen(struct tt_portal *pt)
{
	int fd = socket(pt->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (pt->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&pt->addr, pt->addrlen) < 0 || listen(fd, 64) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	socklen_t len = sizeof(pt->addr);
	getsockname(fd, (struct sockaddr *)&pt->addr, &len);
	pt->fd = fd;
	net_portal_text(pt);
	return 0;
}

int net_listen_all(struct tt_config *cfg)
{
	for (unsigned i = 0; i < cfg->nportals; i++) {
		int rc = net_listen(&cfg->portals[i]);
		if (rc < 0) {
			net_portal_text(&cfg->portals[i]);
			fprintf(stderr, "mcsi-testtarget: cannot listen on %s: %s\n",
				cfg->portals[i].text, strerror(-rc));
			net_close_all(cfg);
			return rc;
		}
	}
	return 0;
}

void net_close_all(struct tt_config *cfg)
{
	for (unsigned i = 0; i < cfg->nportals; i++) {
		if (cfg->portals[i].fd >= 0)
			close(cfg->portals[i].fd);
		cfg->portals[i].fd = -1;
	}
}

void net_accept(struct tt_server *srv, const struct tt_portal *pt)
{
	int fd = accept4(pt->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	int rc = conn_start(srv, fd, pt);
	if (rc < 0)
		fprintf(stderr, "mcsi-testtarget: cannot start a connection: %s\n", strerror(-rc));
}

int net_ctl_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int net_ctl_serve(struct tt_server *srv, int fd)
{
	char buf[1024], out[1024];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* One command per line; a client sends a line and reads the answer. */
	for (char *save, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[l - 1] = '\0';
		fault_command(srv, line, out, sizeof(out) - 1);
		size_t ol = strlen(out);
		out[ol++] = '\n';
		if (send(fd, out, ol, MSG_NOSIGNAL) < 0)
			return -1;
	}
	return 0;
}
