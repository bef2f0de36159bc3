/* SPDX-License-Identifier: MIT */
/*
 * The control path: one logged-in connection driven one request at a time
 * with blocking I/O and a deadline per PDU. Discovery (SendTargets), probing,
 * LUN scanning (INQUIRY, REPORT LUNS, READ CAPACITY) and logout run here;
 * bulk I/O belongs to the fast path, which can take the socket over after
 * login (ctl_handoff()).
 */
#ifndef MCSI_MCS_CTL_H
#define MCSI_MCS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcs/net.h"
#include "proto/neg.h"
#include "proto/pdu.h"

#define CTL_PEER_MAX   URL_PORTAL_STRMAX
#define CTL_SENSE_MAX  252

struct ctl_conn {
	int fd;
	struct net_conn_opts opts;
	struct iscsi_params params;       /* negotiated at login */
	uint8_t isid[6];
	uint16_t tsih, cid;
	uint32_t cmdsn, expcmdsn, maxcmdsn;
	uint32_t expstatsn;               /* next StatSN we expect */
	uint32_t next_itt;
	bool discovery;
	char peer[CTL_PEER_MAX];          /* "host:port", for messages */
	/* The stream is in an unknown state (a protocol or digest error, a
	 * timeout, EOF): every later request fails with -ENOTCONN instead
	 * of writing to it (RFC 7143: the connection must be dropped). */
	bool broken;
	uint8_t *rx;                      /* scratch for received segments */
	size_t rx_cap;
};

/* Result of one SCSI command: the transport outcome is the return value of
 * ctl_scsi(); the SCSI outcome is here. */
struct ctl_scsi_result {
	uint8_t status;                   /* SCSI status byte */
	uint8_t response;                 /* iSCSI response (0 = completed) */
	uint32_t residual;                /* underflow: bytes not transferred */
	bool overflow, underflow;
	uint32_t received;                /* Data-In bytes placed in buf */
	uint8_t sense[CTL_SENSE_MAX];
	uint32_t sense_len;
};

/* Initializes a control connection over a connected, logged-in socket.
 * Takes ownership of fd (closed by ctl_close()). The scratch buffer rx is
 * borrowed and must hold the largest segment we accept (params' MRDSL). */
void ctl_init(struct ctl_conn *c, int fd, uint8_t *rx, size_t rx_cap);

/* Runs one SCSI command that reads up to len bytes into buf (len may be 0
 * for no data). Answers NOP-Ins and logs Async events that arrive in
 * between. Returns 0 when a SCSI status was received (see res->status),
 * -ETIMEDOUT, -ECONNRESET, -EPROTO (the target broke the protocol; the
 * connection must be closed), -EBADMSG (digest error). */
int ctl_scsi_read(struct ctl_conn *c, uint32_t lun, const uint8_t *cdb,
		  size_t cdb_len, void *buf, uint32_t len,
		  struct ctl_scsi_result *res);

/* As ctl_scsi_read(), retrying a few times on UNIT ATTENTION (tgt reports
 * one on the first command after login) and BUSY. */
int ctl_scsi_read_retry(struct ctl_conn *c, uint32_t lun, const uint8_t *cdb,
			size_t cdb_len, void *buf, uint32_t len,
			struct ctl_scsi_result *res);

/* Sends a Text request carrying text (may exceed one PDU: sent with C) and
 * collects the whole response text, following C-bit continuations, into
 * out (capacity cap). Returns the response length or -errno (-ENOSPC if
 * the answer does not fit). */
int ctl_text(struct ctl_conn *c, const char *text, size_t len, char *out,
	     size_t cap);

/* Logs out (reason: close the session) and waits for the response.
 * Returns 0, or -errno (-ENOTCONN at once when the connection is broken);
 * the socket is left open for ctl_close(). */
int ctl_logout(struct ctl_conn *c);

/* Logs out with any reason for connection cid (which may be another of
 * the session's connections, RFC 7143 section 11.14), immediate, with
 * c->cmdsn, answering NOP-In pings met meanwhile. *response (may be NULL)
 * gets the target's Logout response code, 0xff if none arrived. Returns
 * 0, -ENOENT (the target does not know cid), -EIO (another refusal),
 * -ENOTCONN (c is broken), or the transport's -errno. */
int ctl_logout_conn(struct ctl_conn *c, enum logout_reason reason, uint16_t cid,
		    uint8_t *response);

/* Closes the socket. */
void ctl_close(struct ctl_conn *c);

#endif
