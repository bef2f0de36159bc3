/* SPDX-License-Identifier: MIT */
/*
 * Blocking socket helpers for the control path: connecting to a portal and
 * moving whole PDUs with a deadline. Login, discovery and LUN scanning run
 * here, one PDU at a time; the full-feature data path (fastpath/) takes the
 * socket over afterwards.
 */
#ifndef MCSI_MCS_NET_H
#define MCSI_MCS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto/url.h"

/* Connects a TCP socket to the portal within timeout_ms, trying every
 * address the name resolves to. Sets TCP_NODELAY and close-on-exec.
 * Returns the fd, or -errno (-ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH,
 * -ENOENT when the name does not resolve). */
int net_connect(const struct url_portal *p, int timeout_ms);

/* A PDU as the control path moves it: BHS, optional AHS and data in
 * caller buffers. Digests are added and checked here when enabled. */
struct net_pdu {
	uint8_t bhs[48] __attribute__((aligned(8)));
	uint8_t *ahs;       /* may be NULL when ahs_len is 0 */
	uint32_t ahs_len;
	uint8_t *data;      /* caller buffer of data_cap bytes */
	uint32_t data_cap;
	uint32_t data_len;  /* in: bytes to send; out: bytes received */
};

struct net_conn_opts {
	bool header_digest, data_digest;
	uint32_t max_recv_dsl;   /* refuse received segments above this */
	int timeout_ms;          /* per PDU */
};

/* Sends one PDU (DataSegmentLength must already be set in the BHS).
 * Returns 0 or -errno. */
int net_send_pdu(int fd, const struct net_pdu *p, const struct net_conn_opts *o);

/* Receives one PDU into p (AHS is received into p->ahs when it fits,
 * else -EPROTO). Returns 0, -ETIMEDOUT, -ECONNRESET on EOF, -EBADMSG on a
 * digest mismatch, -EPROTO on a segment that exceeds our limits (*why). */
int net_recv_pdu(int fd, struct net_pdu *p, const struct net_conn_opts *o,
		 const char **why);

#endif
