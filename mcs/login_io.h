/* SPDX-License-Identifier: MIT */
/*
 * Logging in over a real socket: connects to a portal, drives the pure
 * login machine (proto/login.h) with blocking I/O, follows redirections
 * (bounded), and leaves a control connection in full feature phase.
 */
#ifndef MCSI_MCS_LOGIN_IO_H
#define MCSI_MCS_LOGIN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcs/ctl.h"
#include "proto/neg.h"
#include "proto/url.h"

#define LGIO_MAX_REDIRECTS 8
/* Scratch a login needs: the target's joined text (C-bit PDUs, 64 KiB),
 * our text (16 KiB) and one received segment (64 KiB). */
#define LGIO_RX_MIN        (64u * 1024 + 16u * 1024 + 64u * 1024)

/* What to log in to and with what. Every pointer is borrowed for the
 * duration of the call; secrets are never copied or logged. */
struct lgio_target {
	struct url_portal portal;
	const char *target_name;        /* NULL: a discovery session */
	const char *initiator_name;
	const char *initiator_alias;    /* may be NULL */
	/* CHAP: we prove ourselves with chap_name/secret when chap is set;
	 * the target proves itself with target_chap_name/secret when mutual
	 * is set too. */
	bool chap, mutual;
	const char *chap_name, *chap_secret;
	size_t chap_secret_len;
	const char *target_chap_name, *target_secret;
	size_t target_secret_len;
	struct iscsi_wishes wishes;
	uint8_t isid[6];
	uint16_t tsih;                  /* 0: a new session; else a
					 * non-leading login joining it */
	uint16_t cid;
	/* Non-leading logins only: the session's negotiated values and its
	 * current CmdSN, which the login request must carry (RFC 7143
	 * section 11.12.8). */
	const struct iscsi_params *session;
	uint32_t cmdsn;
	int timeout_ms;                 /* per PDU and for connect */
};

/* The outcome, for messages: the iSCSI status of the last login
 * response, a static explanation and where we ended up. */
struct lgio_status {
	uint8_t status_class, status_detail;
	const char *message;            /* static; NULL on success */
	struct url_portal portal;       /* the portal logged in to */
	unsigned redirects;
	const char *auth;               /* "None" or the CHAP algorithm */
};

/* Fills t with defaults: wishes from neg_wishes_default(), a random ISID
 * of type "random" (0x80 + 5 random bytes), CID 0, timeout 15 s. */
void lgio_target_init(struct lgio_target *t);

/* Logs in. rx is scratch for received text and segments (at least
 * LGIO_RX_MIN bytes, and the connection's MaxRecvDataSegmentLength),
 * borrowed by c until ctl_close(). Returns 0 with c in full feature phase,
 * or -errno: -ECONNREFUSED/-ETIMEDOUT/-ENOENT (network), -EACCES
 * (authentication failed or the target failed mutual authentication),
 * -ENOENT (target not found), -EBUSY (too many connections, service
 * unavailable), -ELOOP (too many redirections), -EAGAIN (a non-leading
 * login, tsih != 0, was redirected: not followed), -EPROTO (the target
 * broke the protocol); st says why. Each CID logs in with its own ITT
 * range, so connections of one session never share an ITT. */
int lgio_login(const struct lgio_target *t, struct ctl_conn *c, uint8_t *rx,
	       size_t rx_cap, struct lgio_status *st);

/* Sends the first login request offering AuthMethod=None,CHAP and
 * reports what the target chose (st->auth: "None", "CHAP") or why it
 * refused; no credential is sent. Returns 0 or -errno as lgio_login(). */
int lgio_probe(const struct lgio_target *t, uint8_t *rx, size_t rx_cap,
	       struct lgio_status *st);

/* SendTargets=All on a logged-in discovery connection: the whole text
 * answer into out. Returns its length or -errno. */
int lgio_sendtargets(struct ctl_conn *c, char *out, size_t cap);

#endif
