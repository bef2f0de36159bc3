/* SPDX-License-Identifier: MIT */
/*
 * The login phase of a connection, target side (RFC 7143 sections 6 and
 * 11.12-11.13): stages, authentication (None, CHAP one-way and mutual),
 * operational negotiation, redirection and the decision to create, join
 * or reinstate a session.
 */
#ifndef TT_LOGIN_H
#define TT_LOGIN_H

#include "io.h"
#include "proto/chap.h"

enum tt_chap_state { CHAP_IDLE, CHAP_WANT_A, CHAP_WANT_R };

struct tt_login {
	bool started;
	uint8_t isid[6];
	uint16_t tsih, cid;
	uint32_t itt, cmdsn;
	char *initiator;              /* owned */
	struct tt_target *tgt;
	bool discovery;
	bool auth_required, auth_done, auth_none;
	enum tt_chap_state chap;
	enum chap_alg alg;
	uint8_t chap_id;
	uint8_t challenge[CHAP_CHALLENGE_LEN];
	struct tt_params p;
	bool declared;                /* our MaxRecvDataSegmentLength sent */
	bool tpgt_sent;
	struct tt_session *join;      /* non-leading: the session (ref held) */
	size_t len;                   /* request text gathered so far */
	uint8_t buf[TT_LOGIN_BUF];
	char rsp[8192];
	size_t rsp_len;
};

/* Allocates the login state. Returns 0 or -ENOMEM. */
int login_begin(struct tt_conn *c);
/* Frees it (drops a session reference it holds). */
void login_end(struct tt_conn *c);

/* Handles one PDU received during the login phase. Returns 0 (login goes
 * on), 1 (the connection entered full feature phase), or a negative errno
 * when the connection must close after the batch is flushed. */
int login_pdu(struct tt_conn *c, const struct tt_rxpdu *p);

#endif
