/* SPDX-License-Identifier: MIT */
#include "mcs/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "proto/digest.h"
#include "proto/pdu.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (rc < 0 && errno != EINPROGRESS) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (rc < 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		rc = poll(&pfd, 1, timeout_ms);
		if (rc <= 0) {
			close(fd);
			return rc == 0 ? -ETIMEDOUT : -errno;
		}
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			close(fd);
			return -err;
		}
	}
	int flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int net_connect(const struct url_portal *p, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	char port[8];

	snprintf(port, sizeof(port), "%u", p->port);
	int rc = getaddrinfo(p->host, port, &hints, &res);
	if (rc == EAI_ADDRFAMILY || rc == EAI_FAMILY) {
		/* AI_ADDRCONFIG hides ::1 on hosts with only loopback v6. */
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(p->host, port, &hints, &res);
	}
	if (rc != 0)
		return rc == EAI_SYSTEM ? -errno : -ENOENT;

	int64_t deadline = now_ms() + timeout_ms;
	int fd = -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int left = (int)(deadline - now_ms());
		if (left <= 0) {
			fd = -ETIMEDOUT;
			break;
		}
		fd = connect_one(ai, left);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

/* Moves all of iov, waiting at most until deadline. */
static int xfer_all(int fd, struct iovec *iov, int cnt, bool out, int64_t deadline)
{
	while (cnt > 0) {
		if (iov->iov_len == 0) {
			iov++;
			cnt--;
			continue;
		}
		int left = (int)(deadline - now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		int rc = poll(&pfd, 1, left);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (rc == 0)
			return -ETIMEDOUT;
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
		ssize_t n = out ? sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT)
				: recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0 && !out)
			return -ECONNRESET;
		size_t done = (size_t)n;
		while (cnt > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

int net_send_pdu(int fd, const struct net_pdu *p, const struct net_conn_opts *o)
{
	static const uint8_t zeros[4];
	uint8_t hd[4], dd[4];
	struct iovec iov[6];
	int n = 0;
	uint32_t len = pdu_dsl(p->bhs);

	if (len > p->data_len)
		return -EINVAL;
	iov[n++] = (struct iovec){ (void *)p->bhs, PDU_BHS_LEN };
	if (p->ahs_len)
		iov[n++] = (struct iovec){ p->ahs, p->ahs_len };
	if (o->header_digest) {
		uint32_t crc = digest_update(DIGEST_SEED, p->bhs, PDU_BHS_LEN);
		crc = digest_update(crc, p->ahs, p->ahs_len);
		digest_store(hd, digest_final(crc));
		iov[n++] = (struct iovec){ hd, 4 };
	}
	if (len) {
		uint32_t pad = pdu_pad(len);
		iov[n++] = (struct iovec){ p->data, len };
		if (pad)
			iov[n++] = (struct iovec){ (void *)zeros, pad };
		if (o->data_digest) {
			uint32_t crc = digest_update(DIGEST_SEED, p->data, len);
			crc = digest_update(crc, zeros, pad);
			digest_store(dd, digest_final(crc));
			iov[n++] = (struct iovec){ dd, 4 };
		}
	}
	return xfer_all(fd, iov, n, true, now_ms() + o->timeout_ms);
}

int net_recv_pdu(int fd, struct net_pdu *p, const struct net_conn_opts *o,
		 const char **why)
{
	int64_t deadline = now_ms() + o->timeout_ms;
	struct iovec iov = { p->bhs, PDU_BHS_LEN };
	int rc = xfer_all(fd, &iov, 1, false, deadline);
	if (rc)
		return rc;

	uint32_t ahs = pdu_ahs_bytes(p->bhs), len = pdu_dsl(p->bhs);
	if (ahs) {
		*why = "target sent an AHS";
		return -EPROTO;
	}
	if (len > o->max_recv_dsl || len > p->data_cap) {
		*why = "data segment longer than our MaxRecvDataSegmentLength";
		return -EPROTO;
	}
	p->ahs_len = 0;
	if (o->header_digest) {
		uint8_t hd[4];
		iov = (struct iovec){ hd, 4 };
		rc = xfer_all(fd, &iov, 1, false, deadline);
		if (rc)
			return rc;
		if (digest_load(hd) != digest_crc32c(p->bhs, PDU_BHS_LEN)) {
			*why = "header digest mismatch";
			return -EBADMSG;
		}
	}
	p->data_len = len;
	if (len == 0)
		return 0;

	uint8_t pad[4], dd[4];
	struct iovec div[3] = { { p->data, len }, { pad, pdu_pad(len) }, { dd, 4 } };
	rc = xfer_all(fd, div, o->data_digest ? 3 : 2, false, deadline);
	if (rc)
		return rc;
	if (o->data_digest) {
		uint32_t crc = digest_update(DIGEST_SEED, p->data, len);
		crc = digest_update(crc, pad, pdu_pad(len));
		if (digest_load(dd) != digest_final(crc)) {
			*why = "data digest mismatch";
			return -EBADMSG;
		}
	}
	return 0;
}
