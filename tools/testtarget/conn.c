/* SPDX-License-Identifier: MIT */
/* A connection's thread: login, then the full feature phase loop. */
#include "conn.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>

#include "discovery.h"
#include "erl.h"
#include "faults.h"
#include "login.h"
#include "negotiate.h"
#include "proto/pdu.h"
#include "proto/serial.h"
#include "session.h"
#include "task.h"
#include "tmf.h"
#include "uring.h"

uint64_t tt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void conn_log(const struct tt_conn *c, int level, const char *fmt, ...)
{
	if (level > c->srv->cfg->verbose)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mcsi-testtarget: [%s cid %u] %s\n", c->peer, c->cid, line);
}

void conn_stamp(struct tt_conn *c, uint8_t *hdr, bool advance)
{
	uint32_t exp = atomic_load_explicit(&c->sess->exp_cmdsn, memory_order_relaxed);
	pdu_stamp_statsn(hdr, advance ? c->statsn++ : c->statsn, exp,
			 exp + c->sess->window - 1);
}

void conn_reject(struct tt_conn *c, const uint8_t *bhs, enum reject_reason r)
{
	uint8_t *h = io_hdr(c, 48);
	if (!h)
		return;
	pdu_build_reject(h, r, 0, 48);
	conn_stamp(c, h, true);
	memcpy(h + 64, bhs, 48);
	io_queue(c, h, h + 64, 48);
	conn_log(c, 1, "reject %s: %s", pdu_opcode_name(bhs[0]),
		 pdu_reject_reason_name(r));
}

void conn_drop(struct tt_conn *c, const char *why)
{
	conn_log(c, 0, "dropping connection: %s", why);
	c->closing = true;
}

void conn_wake(struct tt_conn *c)
{
	/* Interrupts the blocking recv() with EINTR; a wakeup that races
	 * ahead of the recv() is caught by the receive timeout. */
	pthread_kill(c->thread, SIGUSR1);
}

static void conn_nop_in_reply(struct tt_conn *c, const struct tt_rxpdu *p)
{
	const struct bhs_nop_out *n = (const void *)p->bhs;
	uint32_t len = p->dsl < c->p.send_dsl ? p->dsl : c->p.send_dsl;
	uint8_t *h = io_hdr(c, 0);
	if (!h)
		return;
	pdu_build_nop_in(h, pdu_lun_decode(n->nopo_lun), pdu_itt(p->bhs),
			 PDU_RESERVED_TAG, len);
	memcpy(((struct bhs_nop_in *)(void *)h)->nopi_lun, n->nopo_lun, 8);
	conn_stamp(c, h, true);
	io_queue(c, h, len ? p->data : NULL, len);
}

static int conn_logout(struct tt_conn *c, const struct tt_rxpdu *p)
{
	const struct bhs_logout_req *r = (const void *)p->bhs;
	unsigned reason = r->lgo_reason & 0x7f;
	uint16_t cid = pdu_get16(&r->lgo_cid);
	enum logout_response resp = LOGOUT_RSP_OK;
	bool close_self = false;

	switch (reason) {
	case LOGOUT_CLOSE_SESSION:
		sess_close_all(c->sess, c);
		close_self = true;
		break;
	case LOGOUT_CLOSE_CONNECTION:
	case LOGOUT_REMOVE_FOR_RECOVERY:
		if (reason == LOGOUT_REMOVE_FOR_RECOVERY && c->p.erl < 2) {
			resp = LOGOUT_RSP_RECOVERY_UNSUPPORTED;
			break;
		}
		if (cid == c->cid)
			close_self = true;
		else if (!sess_close_cid(c->sess, cid, c, reason == LOGOUT_REMOVE_FOR_RECOVERY))
			resp = LOGOUT_RSP_CID_NOT_FOUND;
		break;
	default:
		conn_reject(c, p->bhs, REJECT_INVALID_PDU_FIELD);
		return 0;
	}
	uint8_t *h = io_hdr(c, 0);
	if (!h)
		return 0;
	bool recovery = c->p.erl > 0 && reason != LOGOUT_CLOSE_SESSION;
	pdu_build_logout_rsp(h, pdu_itt(p->bhs), resp,
			     recovery ? (uint16_t)c->p.time2wait : 0,
			     recovery ? (uint16_t)c->p.time2retain : 0);
	conn_stamp(c, h, true);
	io_queue(c, h, NULL, 0);
	conn_log(c, 1, "logout reason %u cid %u: %u", reason, cid, resp);
	if (close_self) {
		c->state = CONN_LOGGED_OUT;
		c->closing = true;
		/* Reason 2 keeps the tasks for reassignment. */
		c->keep_tasks = reason == LOGOUT_REMOVE_FOR_RECOVERY;
	}
	return 0;
}

int conn_dispatch(struct tt_conn *c, const struct tt_rxpdu *p)
{
	switch (pdu_opcode(p->bhs)) {
	case PDU_OP_SCSI_CMD:
		if (c->sess->discovery) {
			conn_reject(c, p->bhs, REJECT_PROTOCOL_ERROR);
			return 0;
		}
		return task_scsi_cmd(c, p);
	case PDU_OP_DATA_OUT:
		return task_data_out(c, p);
	case PDU_OP_NOP_OUT:
		if (pdu_itt(p->bhs) != PDU_RESERVED_TAG)
			conn_nop_in_reply(c, p);
		return 0;
	case PDU_OP_TMF_REQ:
		return tmf_handle(c, p);
	case PDU_OP_TEXT_REQ:
		return discovery_text(c, p);
	case PDU_OP_LOGOUT_REQ:
		return conn_logout(c, p);
	case PDU_OP_SNACK:
		return erl_snack(c, p);
	default:
		conn_reject(c, p->bhs, REJECT_CMD_NOT_SUPPORTED);
		return 0;
	}
}

/* One PDU in full feature phase: digests, CmdSN ordering, dispatch. */
static int conn_ffp_pdu(struct tt_conn *c, const struct tt_rxpdu *p)
{
	enum pdu_opcode op = pdu_opcode(p->bhs);
	const char *why;
	struct pdu_limits lim = { .max_recv_dsl = c->p.recv_dsl };

	if (p->hd_bad) {
		if (c->p.erl == 0) {
			conn_drop(c, "header digest error");
			return -EPROTO;
		}
		/* The header cannot be trusted: drop it silently. */
		conn_log(c, 1, "header digest error: PDU discarded");
		return 0;
	}
	unsigned reject_reason = 0;
	enum fault_rx_action fa = fault_rx(c, p->bhs, &reject_reason);
	if (fa == FAULT_RX_DROP) {
		conn_drop(c, "fault rule (receive)");
		return -EPROTO;
	}
	if (fa == FAULT_RX_DISCARD) {
		/* What a damaged header leads to: the PDU and its data are
		 * gone, and the initiator is not told (RFC 7143 7.8). */
		if (c->p.erl == 0) {
			conn_drop(c, "header digest error (fault rule)");
			return -EPROTO;
		}
		conn_log(c, 1, "header digest error (fault rule): %s discarded",
			 pdu_opcode_name(p->bhs[0]));
		return 0;
	}
	if (pdu_check_initiator_pdu(p->bhs, &lim, &why)) {
		conn_log(c, 0, "%s: %s", pdu_opcode_name(p->bhs[0]), why);
		if (op == PDU_OP_LOGIN_REQ || op == PDU_OP_DATA_OUT) {
			conn_drop(c, why);
			return -EPROTO;
		}
		conn_reject(c, p->bhs, REJECT_PROTOCOL_ERROR);
		return 0;
	}
	/* ExpStatSN (bytes 28-31 on every initiator PDU that has it). */
	{
		uint32_t es = pdu_get32((const uint32_t *)(const void *)(p->bhs + 28));
		if (sn_le(es, c->statsn)) {
			c->exp_statsn = es;
			if (c->done_head)
				erl_ack(c, es);
		}
	}
	if (p->dd_bad && op != PDU_OP_DATA_OUT) {
		if (c->p.erl == 0) {
			conn_drop(c, "data digest error");
			return -EPROTO;
		}
		conn_reject(c, p->bhs, REJECT_DIGEST_ERROR);
		return 0;
	}
	switch (op) {
	case PDU_OP_DATA_OUT:
		if (p->dd_bad && c->p.erl == 0) {
			conn_drop(c, "data digest error");
			return -EPROTO;
		}
		if (c->pending && sess_hold_data_out(c, p))
			return 0;
		return task_data_out(c, p);
	case PDU_OP_SNACK:
		return erl_snack(c, p);
	case PDU_OP_SCSI_CMD:
	case PDU_OP_NOP_OUT:
	case PDU_OP_TMF_REQ:
	case PDU_OP_TEXT_REQ:
	case PDU_OP_LOGOUT_REQ: {
		memcpy(c->last_rx, p->bhs, 48);
		int rc = sess_sequence(c, p);
		if (rc <= 0)
			return rc == -ENOMEM ? -ENOMEM : 0;
		if (fa == FAULT_RX_REJECT) {
			/* The command counts as received (CmdSN consumed). */
			conn_reject(c, p->bhs, (enum reject_reason)reject_reason);
			return 0;
		}
		return conn_dispatch(c, p);
	}
	default:
		conn_reject(c, p->bhs, REJECT_CMD_NOT_SUPPORTED);
		return 0;
	}
}

static void conn_ping(struct tt_conn *c)
{
	uint8_t *h = io_hdr(c, 0);
	if (!h)
		return;
	pdu_build_nop_in(h, 0, PDU_RESERVED_TAG, ++c->nop_ttt & 0x7fffffff, 0);
	conn_stamp(c, h, false);
	io_queue(c, h, NULL, 0);
}

static void conn_loop(struct tt_conn *c)
{
	struct tt_rxpdu p;
	const char *why;
	uint64_t next_ping = 0;
	uint32_t ping_ms = c->srv->cfg->nop_interval_ms;

	for (;;) {
		int rc = 0;
		while (!c->closing && (rc = io_next_pdu(c, &p, &why)) == 1) {
			if (c->state == CONN_LOGIN) {
				rc = login_pdu(c, &p);
				if (rc == 1) {
					c->state = CONN_FFP;
					io_flush(c);   /* last login PDU goes without digests */
					login_end(c);
					fault_conn_init(c);
					if (erl_init(c) < 0) {
						conn_drop(c, "out of memory");
						break;
					}
					conn_log(c, 1, "full feature phase: %s, TSIH %u, ERL %u, digests %s/%s",
						 c->sess->discovery ? "discovery" : c->sess->tgt->name,
						 c->sess->tsih, c->p.erl,
						 c->p.hdr_digest ? "CRC32C" : "None",
						 c->p.data_digest ? "CRC32C" : "None");
				} else if (rc < 0) {
					c->closing = true;
				}
			} else {
				if (conn_ffp_pdu(c, &p) < 0)
					c->closing = true;
			}
		}
		if (rc < 0 && !c->closing)
			conn_drop(c, why);
		if (c->state == CONN_FFP && !c->closing) {
			if (c->pending && sess_run_pending(c) < 0)
				c->closing = true;
			fault_poll(c);
			task_dataout_poll(c);
			if (ping_ms) {
				uint64_t now = tt_now_ns();
				if (now >= next_ping) {
					if (next_ping)
						conn_ping(c);
					next_ping = now + (uint64_t)ping_ms * 1000000ull;
				}
			}
		}
		if (c->closing || atomic_load(&c->stop) || !uring_active(c)) {
			if (io_flush(c) < 0)
				break;
			if (c->closing || atomic_load(&c->stop))
				break;
		}
		int timeout = c->state == CONN_FFP && (c->pending || ping_ms ||
			      (c->sess && c->sess->nconns > 1)) ? 50 : 500;
		rc = uring_active(c) ? uring_flush_and_fill(c, timeout) : io_fill(c, timeout);
		if (rc < 0) {
			if (rc != -ECONNRESET)
				conn_log(c, 1, "receive: %s", strerror(-rc));
			break;
		}
	}
}

static void conn_destroy(struct tt_conn *c)
{
	struct tt_server *srv = c->srv;
	/* A failed connection (not a logout, unless reason 2) of a live
	 * ERL 2 session leaves its tasks for TASK REASSIGN. */
	bool keep = c->sess && !c->sess->discovery && c->sess->state == TT_SESS_LIVE &&
		    (c->state == CONN_FFP || c->keep_tasks) &&
		    !atomic_load(&c->drop_tasks);
	erl_fini(c, keep);
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);    /* ends an io_uring receive */
	uring_fini(c);
	sess_drop_pending(c);
	login_end(c);
	sess_detach(c, keep);
	/* The main thread may shutdown() listed connections at exit: never
	 * let it see a closed (and perhaps reused) descriptor. */
	pthread_mutex_lock(&srv->lock);
	int fd = c->fd;
	c->fd = -1;
	pthread_mutex_unlock(&srv->lock);
	close(fd);
	io_fini(c);
	task_pool_fini(c);
	free(c->text);
	/* libcrypto keeps per-thread state (CHAP's random challenges); free
	 * it before main() can see the list empty and run its exit. */
	OPENSSL_thread_stop();
	pthread_mutex_lock(&srv->lock);
	struct tt_conn **pp = &srv->conns;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	pthread_cond_broadcast(&srv->conns_gone);
	pthread_mutex_unlock(&srv->lock);
	free(c);
}

static void *conn_thread(void *arg)
{
	struct tt_conn *c = arg;
	conn_log(c, 1, "connected on %s", c->portal->text);
	if (uring_init(c) < 0)
		c->closing = true;
	conn_loop(c);
	io_flush(c);
	conn_log(c, 1, "closed");
	conn_destroy(c);
	return NULL;
}

static void conn_peer_name(struct tt_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
		}
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
}

int conn_start(struct tt_server *srv, int fd, const struct tt_portal *portal)
{
	struct tt_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->srv = srv;
	c->fd = fd;
	c->portal = portal;
	c->rcv_timeout_ms = -2;
	tgtneg_defaults(&c->p);
	conn_peer_name(c);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((rc = io_init(c)) < 0 || (rc = task_pool_init(c)) < 0 ||
	    (rc = login_begin(c)) < 0) {
		login_end(c);
		io_fini(c);
		task_pool_fini(c);
		close(fd);
		free(c);
		return rc;
	}
	pthread_mutex_lock(&srv->lock);
	c->next = srv->conns;
	srv->conns = c;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&c->thread, &attr, conn_thread, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		srv->conns = c->next;
		pthread_mutex_unlock(&srv->lock);
		login_end(c);
		io_fini(c);
		task_pool_fini(c);
		close(fd);
		free(c);
		return -rc;
	}
	pthread_mutex_unlock(&srv->lock);
	return 0;
}
