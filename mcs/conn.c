/* SPDX-License-Identifier: MIT */
/* Connection life cycle and failure. */
#include "mcs/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mcs/conn_erl2.h"
#include "mcs/conn_sm.h"
#include "mcs/reactor.h"
#include "mcs/sess_mcs.h"

#define HDR_BUF ((SEG_HDR_MAX + 63u) & ~63u)

/* Zero-copy sends to a loopback peer are copied by the kernel anyway,
 * after pinning the pages and with an extra notification: not worth it. */
static bool conn_peer_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ss;
		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

int conn_init(struct conn *c, struct mcsi_session *s, struct reactor *r,
	      const struct sess_handoff *h)
{
	int rc, fl;

	memset(c, 0, sizeof(*c));
	c->sess = s;
	c->r = r;
	c->params = h->params;
	c->cid = h->cid;
	c->fd = h->fd;
	c->exp_statsn = h->expstatsn;
	conn_erl1_init(c);
	snprintf(c->peer, sizeof(c->peer), "%s", h->peer[0] ? h->peer : "target");
	c->cmdq_tail = &c->cmdq;
	c->ctlq_tail = &c->ctlq;
	c->doutq_tail = &c->doutq;
	c->xc.fd = -1;
	c->xc.on_send = conn_tx_sent;
	c->xc.on_recv = conn_rx_done;
	if (c->params.max_recv_dsl < 512 || c->params.max_recv_dsl > PDU_MAX_DSL ||
	    c->params.max_xmit_dsl < 512 || c->params.max_xmit_dsl > PDU_MAX_DSL) {
		rc = -EINVAL;
		goto fail;
	}
	uint32_t ahead = s->cfg.rx_readahead;
	if (ahead > CONN_RX_AHEAD_MAX)
		ahead = CONN_RX_AHEAD_MAX;
	uint32_t cap = (ahead > SEG_HDR_MAX ? ahead : SEG_HDR_MAX) + 63u;
	cap &= ~63u;
	c->rx_hdr = aligned_alloc(64, HDR_BUF);
	c->rx_buf = aligned_alloc(64, cap);
	c->scratch = malloc(c->params.max_recv_dsl);
	c->slots = aligned_alloc(64, ((CONN_TX_SLOTS * sizeof(struct tx_slot)) + 63u) & ~(size_t)63u);
	if (!c->rx_hdr || !c->rx_buf || !c->scratch || !c->slots) {
		rc = -ENOMEM;
		goto fail;
	}
	memset(c->slots, 0, CONN_TX_SLOTS * sizeof(struct tx_slot));
	c->scratch_iov = (struct iovec){ c->scratch, c->params.max_recv_dsl };
	/* Touch the staging buffer now: a first-touch fault costs more
	 * than a receive. */
	memset(c->rx_buf, 0, cap);
	seg_rx_init(&c->rx, &conn_rx_ops, c, c->rx_hdr, c->rx_buf, cap, ahead,
		    c->params.header_digest, c->params.data_digest);
	/* epoll needs a non-blocking socket; io_uring does not mind. */
	fl = fcntl(c->fd, F_GETFL);
	if (fl >= 0)
		fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	c->xc.fd = c->fd;
	c->xc.zerocopy = s->cfg.zerocopy && !conn_peer_is_loopback(c->fd);
	if ((rc = reactor_add_conn(r, c)) < 0)
		goto fail;
	if ((rc = xport_attach(r->x, &c->xc)) < 0) {
		reactor_remove_conn(r, c);
		goto fail;
	}
	conn_sm_logged_in(c);
	c->last_rx_ns = r->now ? r->now : sess_now_ns();
	conn_rx_post(c);
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->rx_hdr);
	free(c->rx_buf);
	free(c->scratch);
	free(c->slots);
	c->rx_hdr = c->rx_buf = c->scratch = NULL;
	c->slots = NULL;
	c->state = CONN_FAILED;
	return rc;
}

static void conn_close_socket(struct conn *c)
{
	if (c->fd < 0)
		return;
	xport_detach(c->r->x, &c->xc);
	close(c->fd);
	c->fd = -1;
}

/* Fails every task with allegiance to c. */
static void conn_fail_tasks(struct conn *c, int err)
{
	struct task_table *tt = &c->r->tt;

	for (uint32_t i = 0; i < tt->n; i++) {
		struct task *t = &tt->tasks[i];
		if (t->state == TASK_FREE || t->state == TASK_DONE || t->conn != c)
			continue;
		t->retry = false;
		if (t->kind == TASK_SCSI)
			t->cmd->res.err = err;
		reactor_finish(c->r, t, err);
	}
	c->ping = NULL;
}

void conn_fini(struct conn *c)
{
	if (!c->slots)
		return;
	conn_sm_gone(c);
	conn_close_socket(c);
	conn_tx_release_all(c);
	conn_fail_tasks(c, -ECANCELED);
	reactor_remove_conn(c->r, c);
	if (c->r->x->ops == &xport_fake_ops)
		xport_fake_release(&c->xc);
	free(c->rx_hdr);
	free(c->rx_buf);
	free(c->scratch);
	free(c->slots);
	c->rx_hdr = c->rx_buf = c->scratch = NULL;
	c->slots = NULL;
}

void conn_fail(struct conn *c, int err, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (c->state == CONN_FAILED || c->state == CONN_CLOSED)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	c->state = CONN_FAILED;
	c->fail_err = err;
	conn_sm(c, ERL_CE_XPT_FAIL);
	int st = atomic_load(&c->sess->state);
	if (st == SESS_CLOSED || (st == SESS_CLOSING && sess_mcs_logging_out(c->sess))) {
		/* The session logged out (or its Logout is on its way): the
		 * target closes every connection. */
		conn_close_socket(c);
		conn_tx_release_all(c);
		conn_fail_tasks(c, -ECANCELED);
		return;
	}
	sess_error(c->sess, "%s: connection %u closed: %s", c->peer, c->cid, reason);
	conn_close_socket(c);
	conn_tx_release_all(c);
	struct mcsi_event ev = {
		.type = MCSI_EV_CONN_FAILED, .cid = c->cid, .err = err,
		.reason = reason,
	};
	sess_event(c->sess, &ev);
	/* What the session does about it (ERL 0: reinstate or fail, and
	 * the other connections go too) is mcs/sess_mcs.c's decision; held
	 * SCSI tasks are off c when it returns. */
	if (conn_erl2_lost(c, err, reason))
		return;                  /* ERL 2: its tasks wait for recovery */
	sess_conn_lost(c, err, reason);
	conn_fail_tasks(c, err);
}

void conn_closed(struct conn *c)
{
	if (c->rfc == ERL_S6_IN_LOGOUT)
		conn_sm(c, ERL_CE_LOGOUT_OK);
	else
		conn_sm_gone(c);
	c->state = CONN_CLOSED;
	conn_close_socket(c);
	conn_tx_release_all(c);
	conn_fail_tasks(c, -ECANCELED);
}
