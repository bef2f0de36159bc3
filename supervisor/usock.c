/* SPDX-License-Identifier: MIT */
/* UNIX control sockets and frame I/O (usock.h). */
#include "supervisor/usock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "supervisor/ctlproto.h"

int64_t usock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill_addr(const char *path, struct sockaddr_un *a)
{
	size_t n = strlen(path);
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, n);
	return 0;
}

int usock_connect(const char *path, int *out)
{
	struct sockaddr_un a;
	int rc = fill_addr(path, &a);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* Removes a socket file that nobody answers on. */
static int clear_stale(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (usock_connect(path, &fd) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int usock_listen(const char *path, mode_t mode, gid_t gid, int *out)
{
	struct sockaddr_un a;
	int rc = fill_addr(path, &a);
	if (rc || (rc = clear_stale(path)))
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	umask(old);
	if (rc == 0 && gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)
		rc = -errno;
	if (rc == 0 && chmod(path, mode) < 0)
		rc = -errno;
	if (rc == 0 && listen(fd, 64) < 0)
		rc = -errno;
	if (rc) {
		if (rc != -EADDRINUSE)
			unlink(path);
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

int usock_peer(int fd, pid_t *pid, uid_t *uid, gid_t *gid)
{
	struct ucred c;
	socklen_t len = sizeof(c);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0)
		return -errno;
	*pid = c.pid;
	*uid = c.uid;
	*gid = c.gid;
	return 0;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	for (;;) {
		int64_t left = deadline - usock_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc)
			return rc;
	}
	return 0;
}

int usock_send_frame(int fd, const void *payload, size_t len, int timeout_ms)
{
	uint8_t hdr[CP_HDR_LEN];
	int64_t deadline = usock_now_ms() + timeout_ms;
	int rc;

	if (len == 0 || len > CP_FRAME_MAX)
		return -EMSGSIZE;
	cp_frame_header(hdr, (uint32_t)len);
	if ((rc = send_all(fd, hdr, sizeof(hdr), deadline)))
		return rc;
	return send_all(fd, payload, len, deadline);
}

static int recv_all(int fd, uint8_t *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc)
			return rc;
	}
	return 0;
}

int usock_recv_frame(int fd, char *buf, size_t cap, size_t *len, int timeout_ms)
{
	uint8_t hdr[CP_HDR_LEN];
	int64_t deadline = usock_now_ms() + timeout_ms;
	int rc;

	if ((rc = recv_all(fd, hdr, sizeof(hdr), deadline)))
		return rc;
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		     (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0)
		return -EPROTO;
	if (n > CP_FRAME_MAX || n >= cap)
		return -EMSGSIZE;
	if ((rc = recv_all(fd, (uint8_t *)buf, n, deadline)))
		return rc;
	buf[n] = '\0';
	*len = n;
	return 0;
}

int usock_rbuf_fill(int fd, struct usock_rbuf *rb)
{
	if (rb->len >= rb->cap)
		return -EMSGSIZE;
	for (;;) {
		ssize_t n = read(fd, rb->buf + rb->len, rb->cap - rb->len);
		if (n >= 0) {
			rb->len += (size_t)n;
			return (int)n;
		}
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

int usock_rbuf_frame(struct usock_rbuf *rb, char **payload, uint32_t *len)
{
	const uint8_t *p;
	int rc = cp_frame_get(rb->buf, rb->len, &p, len);
	if (rc <= 0)
		return rc;
	*payload = (char *)rb->buf + CP_HDR_LEN;
	return 1;
}

void usock_rbuf_consume(struct usock_rbuf *rb, size_t n)
{
	if (n >= rb->len) {
		rb->len = 0;
		return;
	}
	memmove(rb->buf, rb->buf + n, rb->len - n);
	rb->len -= n;
}
