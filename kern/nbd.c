/* SPDX-License-Identifier: MIT */
/* NBD server: see nbd.h. Sockets and threads here; the protocol itself is
 * in nbd_proto.c. */
#include "kern/nbd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "kern/nbd_proto.h"
#include "kern/pool.h"

#define NBD_MAX_EXPORTS 64
#define NBD_HANDSHAKE_MS 30000

struct nbd_export {
	char *name;
	struct kern_backend *b;
};

struct nbd_conn;

/* One request in flight, with pool buffer of the same index. */
struct nbd_slot {
	struct kern_io io;
	struct iovec iov;
	struct nbd_conn *c;
	uint64_t cookie;
	unsigned idx;
};

struct nbd_conn {
	struct kern_nbd *srv;
	int fd;
	struct kern_backend *b;
	struct nbdp_export exp;
	pthread_mutex_t send_lock;
	atomic_bool dead;           /* a send failed: stop reading */
	struct kern_pool *pool;
	struct nbd_slot *slots;
	struct nbd_conn *next;
};

struct kern_nbd {
	int lfd[2];                 /* UNIX, TCP; -1 if unused */
	int wake[2];                /* pipe: stop the accept thread */
	char *unix_path;
	unsigned qd, max_conns, max_io;
	pthread_t acceptor;
	bool accepting;
	pthread_mutex_t lock;       /* exports, connections */
	pthread_cond_t gone;
	struct nbd_export exps[NBD_MAX_EXPORTS];
	unsigned nexp;
	struct nbd_conn *conns;
	unsigned nconns;
	bool stopping;
};

/* ---- socket helpers ------------------------------------------------------- */

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, MSG_WAITALL);

		if (n == 0)
			return -ECONNRESET;
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

static int send_full(int fd, struct iovec *iov, int cnt)
{
	while (cnt) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int discard_bytes(int fd, uint64_t len)
{
	uint8_t junk[4096];

	while (len) {
		size_t n = len < sizeof(junk) ? (size_t)len : sizeof(junk);
		int rc = read_full(fd, junk, n);

		if (rc)
			return rc;
		len -= n;
	}
	return 0;
}

/* ---- transmission --------------------------------------------------------- */

static void reply(struct nbd_conn *c, uint64_t cookie, uint32_t err,
		  void *data, size_t len)
{
	uint8_t h[NBDP_REPLY_LEN];
	struct iovec v[2] = { { h, sizeof(h) }, { data, len } };

	nbdp_simple_reply(h, err, cookie);
	pthread_mutex_lock(&c->send_lock);
	if (!atomic_load(&c->dead) && send_full(c->fd, v, err || !len ? 1 : 2) != 0) {
		atomic_store(&c->dead, true);
		shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&c->send_lock);
}

static void slot_done(struct kern_io *io)
{
	struct nbd_slot *s = io->priv;
	struct nbd_conn *c = s->c;

	reply(c, s->cookie, nbdp_error(io->err), s->iov.iov_base,
	      io->op == KERN_OP_READ ? io->len : 0);
	kern_pool_put(c->pool, s->idx);
}

static void export_refresh(struct nbd_conn *c)
{
	struct kern_geometry g;

	kern_geometry(c->b, &g);
	c->exp.size = g.blocks * g.block_size;
}

/* One request whose header was read. Returns 0 to go on, -errno to end. */
static int serve_req(struct nbd_conn *c, const struct nbdp_req *r)
{
	uint32_t err;
	struct nbd_slot *s;
	int rc;

	export_refresh(c);
	err = nbdp_check_req(r, &c->exp);
	if (r->type == NBD_CMD_WRITE && r->len > NBDP_PAYLOAD_MAX)
		return -EPROTO;
	if (err) {
		if (r->type == NBD_CMD_WRITE && (rc = discard_bytes(c->fd, r->len)))
			return rc;
		reply(c, r->cookie, err, NULL, 0);
		return 0;
	}
	if (r->type == NBD_CMD_TRIM || r->type == NBD_CMD_WRITE_ZEROES) {
		/* Rare and possibly huge: done here, in pieces, blocking. */
		uint64_t mask = c->exp.min_block - 1;
		uint64_t start = (r->offset + mask) & ~mask;
		uint64_t end = (r->offset + r->len) & ~mask;

		rc = end > start ? kern_discard(c->b, start, end - start,
						r->type == NBD_CMD_WRITE_ZEROES) : 0;
		if (rc == -EOPNOTSUPP && r->type == NBD_CMD_TRIM)
			rc = 0;   /* TRIM is advisory */
		reply(c, r->cookie, nbdp_error(rc), NULL, 0);
		return 0;
	}
	s = &c->slots[kern_pool_get(c->pool)];
	memset(&s->io, 0, sizeof(s->io));
	s->cookie = r->cookie;
	s->io.offset = r->offset;
	s->io.len = r->len;
	s->io.done = slot_done;
	s->io.priv = s;
	s->iov.iov_base = kern_pool_buf(c->pool, s->idx);
	s->iov.iov_len = r->len;
	if (r->type == NBD_CMD_FLUSH) {
		s->io.op = KERN_OP_FLUSH;
		s->io.offset = s->io.len = 0;
	} else {
		s->io.op = r->type == NBD_CMD_READ ? KERN_OP_READ : KERN_OP_WRITE;
		s->io.iov = &s->iov;
		s->io.iovcnt = 1;
	}
	if (r->type == NBD_CMD_WRITE) {
		rc = read_full(c->fd, s->iov.iov_base, r->len);
		if (rc) {
			kern_pool_put(c->pool, s->idx);
			return rc;
		}
	}
	rc = kern_submit(c->b, &s->io);
	if (rc) {
		s->io.err = rc;
		slot_done(&s->io);
	}
	return 0;
}

static void transmit(struct nbd_conn *c)
{
	uint8_t h[NBDP_REQ_LEN];
	struct nbdp_req r;

	for (;;) {
		if (read_full(c->fd, h, sizeof(h)) != 0 || atomic_load(&c->dead))
			break;
		if (nbdp_parse_req(h, &r) != 0) {
			log_warn("kern: nbd: bad request magic: connection closed");
			break;
		}
		if (r.type == NBD_CMD_DISC || serve_req(c, &r) != 0)
			break;
	}
	/* Requests in flight still reply (or fail to): wait for them. */
	for (unsigned i = 0; i < kern_pool_count(c->pool); i++)
		(void)kern_pool_get(c->pool);
}

/* ---- handshake ------------------------------------------------------------ */

static int exports_snapshot(struct kern_nbd *n, struct nbdp_export *e,
			    struct kern_backend **b)
{
	unsigned cnt;

	pthread_mutex_lock(&n->lock);
	cnt = n->nexp;
	for (unsigned i = 0; i < cnt; i++) {
		struct kern_geometry g;

		kern_geometry(n->exps[i].b, &g);
		memset(&e[i], 0, sizeof(e[i]));
		e[i].name = n->exps[i].name;
		e[i].size = g.blocks * g.block_size;
		e[i].flags = NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_WRITE_ZEROES |
			     NBD_FLAG_CAN_MULTI_CONN |
			     (g.can_unmap ? NBD_FLAG_SEND_TRIM : 0) |
			     (g.read_only ? NBD_FLAG_READ_ONLY : 0);
		e[i].min_block = g.block_size;
		e[i].pref_block = g.block_size > 4096 ? g.block_size : 4096;
		e[i].max_block = g.max_io && g.max_io < n->max_io ? g.max_io : n->max_io;
		b[i] = n->exps[i].b;
	}
	pthread_mutex_unlock(&n->lock);
	return (int)cnt;
}

/* The export chosen from a snapshot may have been removed since: bind the
 * connection to it only if it is still there (under the lock that
 * kern_nbd_remove() takes, which refuses a backend a connection holds). */
static int bind_export(struct nbd_conn *c, const struct nbdp_export *e,
		       struct kern_backend *b)
{
	struct kern_nbd *n = c->srv;
	bool still = false;

	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < n->nexp && !still; i++)
		still = n->exps[i].b == b;
	if (still) {
		c->exp = *e;
		c->exp.name = NULL;         /* the snapshot's name is not ours */
		c->b = b;
	}
	pthread_mutex_unlock(&n->lock);
	return still ? 0 : -ECONNRESET;
}

/* Runs the option haggling; on success c->b and c->exp are chosen. */
static int handshake(struct nbd_conn *c)
{
	struct nbdp_export exps[NBD_MAX_EXPORTS];
	struct kern_backend *bk[NBD_MAX_EXPORTS];
	uint8_t greet[NBDP_GREETING_LEN], cf[4], oh[NBDP_OPT_HDR_LEN];
	uint8_t data[NBDP_OPT_DATA_MAX], outbuf[4096 + NBD_MAX_EXPORTS * 300];
	uint32_t cflags, opt, len;
	struct iovec v;
	size_t chosen = 0;
	int rc, nexp;

	nbdp_greeting(greet);
	v.iov_base = greet;
	v.iov_len = sizeof(greet);
	rc = send_full(c->fd, &v, 1);
	if (rc == 0)
		rc = read_full(c->fd, cf, sizeof(cf));
	if (rc == 0)
		rc = nbdp_client_flags(cf, &cflags);
	while (rc == 0) {
		struct nbdp_out out = { outbuf, sizeof(outbuf), 0 };

		rc = read_full(c->fd, oh, sizeof(oh));
		if (rc == 0)
			rc = nbdp_opt_header(oh, &opt, &len);
		if (rc)
			break;
		if (len > NBDP_OPT_DATA_MAX) {
			rc = discard_bytes(c->fd, len);
			if (rc == 0)
				rc = nbdp_opt_reply(&out, opt, NBD_REP_ERR_TOO_BIG, NULL, 0);
		} else {
			rc = read_full(c->fd, data, len);
			nexp = exports_snapshot(c->srv, exps, bk);
			if (rc == 0)
				rc = nbdp_handle_opt(exps, (size_t)nexp, cflags, opt, data, len,
						     &out, &chosen);
		}
		if (rc < 0)
			break;
		/* Bound before the client hears that it may start. */
		if (rc == NBDP_TRANSMIT && bind_export(c, &exps[chosen], bk[chosen]))
			return -ECONNRESET;
		v.iov_base = outbuf;
		v.iov_len = out.len;
		if (out.len && send_full(c->fd, &v, 1) != 0)
			return -ECONNRESET;
		if (rc == NBDP_CLOSE)
			return -ECONNRESET;
		if (rc == NBDP_TRANSMIT)
			return 0;
		rc = 0;
	}
	return rc;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_free(struct nbd_conn *c)
{
	kern_pool_destroy(c->pool);
	free(c->slots);
	pthread_mutex_destroy(&c->send_lock);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void *conn_main(void *arg)
{
	struct nbd_conn *c = arg;
	struct kern_nbd *n = c->srv;
	struct timeval tv = { NBD_HANDSHAKE_MS / 1000, 0 }, none = { 0, 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (handshake(c) == 0) {
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
		transmit(c);
	}
	pthread_mutex_lock(&n->lock);
	for (struct nbd_conn **pp = &n->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	n->nconns--;
	pthread_cond_broadcast(&n->gone);
	pthread_mutex_unlock(&n->lock);
	conn_free(c);
	return NULL;
}

static int conn_start(struct kern_nbd *n, int fd)
{
	struct nbd_conn *c = calloc(1, sizeof(*c));
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->srv = n;
	c->fd = fd;
	pthread_mutex_init(&c->send_lock, NULL);
	rc = kern_pool_create(n->qd, n->max_io, &c->pool);
	if (rc == 0) {
		c->slots = calloc(n->qd, sizeof(*c->slots));
		rc = c->slots ? 0 : -ENOMEM;
	}
	for (unsigned i = 0; rc == 0 && i < n->qd; i++) {
		c->slots[i].c = c;
		c->slots[i].idx = i;
	}
	if (rc) {
		conn_free(c);
		return rc;
	}
	pthread_mutex_lock(&n->lock);
	if (n->stopping || n->nconns >= n->max_conns) {
		pthread_mutex_unlock(&n->lock);
		conn_free(c);
		return -EBUSY;
	}
	c->next = n->conns;
	n->conns = c;
	n->nconns++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&t, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		n->conns = c->next;
		n->nconns--;
	}
	pthread_mutex_unlock(&n->lock);
	if (rc)
		conn_free(c);
	return rc;
}

static void *accept_main(void *arg)
{
	struct kern_nbd *n = arg;
	struct pollfd p[3] = {
		{ n->wake[0], POLLIN, 0 }, { n->lfd[0], POLLIN, 0 }, { n->lfd[1], POLLIN, 0 },
	};

	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		for (int i = 1; i < 3; i++) {
			int fd, one = 1;

			if (!(p[i].revents & POLLIN))
				continue;
			fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (i == 2)
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (conn_start(n, fd) != 0)
				log_warn("kern: nbd: connection refused (limit or memory)");
		}
	}
	return NULL;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* A socket file left by a dead server is replaced; anything else is not. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static int listen_tcp(const char *host, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	if (port == 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

int kern_nbd_create(const struct kern_nbd_opts *o, struct kern_nbd **out)
{
	struct kern_nbd *n;
	int rc = 0;

	if (!o->unix_path && !o->tcp_port)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->lfd[0] = n->lfd[1] = n->wake[0] = n->wake[1] = -1;
	n->qd = o->queue_depth ? o->queue_depth : 64;
	n->max_conns = o->max_conns ? o->max_conns : 16;
	n->max_io = o->max_io ? o->max_io : 1u << 20;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->gone, NULL);
	if (o->unix_path) {
		n->unix_path = strdup(o->unix_path);
		rc = n->unix_path ? listen_unix(o->unix_path) : -ENOMEM;
		if (rc >= 0)
			n->lfd[0] = rc;
	}
	if (rc >= 0 && o->tcp_port) {
		rc = listen_tcp(o->tcp_host ? o->tcp_host : "127.0.0.1", o->tcp_port);
		if (rc >= 0)
			n->lfd[1] = rc;
	}
	if (rc >= 0)
		rc = pipe2(n->wake, O_CLOEXEC) == 0 ? 0 : -errno;
	if (rc >= 0) {
		rc = -pthread_create(&n->acceptor, NULL, accept_main, n);
		n->accepting = rc == 0;
	}
	if (rc < 0) {
		log_err("kern: nbd: cannot listen: %s", strerror(-rc));
		kern_nbd_destroy(n);
		return rc;
	}
	*out = n;
	return 0;
}

void kern_nbd_destroy(struct kern_nbd *n)
{
	if (!n)
		return;
	if (n->accepting) {
		if (write(n->wake[1], "x", 1) != 1)
			log_warn("kern: nbd: cannot wake the acceptor");
		pthread_join(n->acceptor, NULL);
	}
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	for (struct nbd_conn *c = n->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (n->nconns)
		pthread_cond_wait(&n->gone, &n->lock);
	pthread_mutex_unlock(&n->lock);
	for (int i = 0; i < 2; i++) {
		if (n->lfd[i] >= 0)
			close(n->lfd[i]);
		if (n->wake[i] >= 0)
			close(n->wake[i]);
	}
	if (n->unix_path && n->lfd[0] >= 0)
		unlink(n->unix_path);
	for (unsigned i = 0; i < n->nexp; i++)
		free(n->exps[i].name);
	free(n->unix_path);
	pthread_cond_destroy(&n->gone);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

int kern_nbd_add(struct kern_nbd *n, const char *name, struct kern_backend *b)
{
	int rc = 0;

	if (!name || strlen(name) > 256)
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < n->nexp; i++)
		if (strcmp(n->exps[i].name, name) == 0)
			rc = -EEXIST;
	if (rc == 0 && n->nexp >= NBD_MAX_EXPORTS)
		rc = -ENOSPC;
	if (rc == 0) {
		n->exps[n->nexp].name = strdup(name);
		if (n->exps[n->nexp].name)
			n->exps[n->nexp++].b = b;
		else
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}

int kern_nbd_remove(struct kern_nbd *n, const char *name)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&n->lock);
	for (unsigned i = 0; i < n->nexp; i++) {
		if (strcmp(n->exps[i].name, name) != 0)
			continue;
		rc = 0;
		for (struct nbd_conn *c = n->conns; c && rc == 0; c = c->next)
			if (c->b == n->exps[i].b)
				rc = -EBUSY;
		if (rc == 0) {
			free(n->exps[i].name);
			n->exps[i] = n->exps[--n->nexp];
		}
		break;
	}
	pthread_mutex_unlock(&n->lock);
	return rc;
}
