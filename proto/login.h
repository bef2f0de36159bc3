/* SPDX-License-Identifier: MIT */
/*
 * The login phase (RFC 7143 sections 6.3, 11.12, 11.13) as a pure,
 * caller-allocated state machine: bytes in, the next Login request or a
 * decision out. No sockets, clocks or allocation; the driver (mcs/login_io)
 * moves the PDUs and owns the deadline.
 *
 *     login_init(&l, &cfg);
 *     for (;;) {
 *             login_next_pdu(&l, bhs, data, cap, &len);   send BHS + data
 *             (receive one Login response: BHS + data segment)
 *             login_recv_pdu(&l, rbhs, rdata, rlen, &ev);
 *             if (ev != LOGIN_EV_SEND) break;             DONE, REDIRECT
 *     }                                                    or FAILED
 *
 * Stages: security (AuthMethod None or CHAP, one-way or mutual), then
 * operational (the negotiation table, neg.h), then full feature phase.
 * Text longer than a login PDU may carry (8192 bytes, or less if the target
 * declared less) goes out in several requests with the Continue bit; a
 * target's responses with the Continue bit are acknowledged with empty
 * requests and joined in the caller's rx buffer. Every request of one
 * login carries the same ITT and CmdSN (LIO requires the former).
 *
 * Secrets are borrowed for the life of the login, never copied into the
 * context and never passed to the warn hook; buffers that held
 * secret-derived bytes are wiped.
 */
#ifndef MCSI_PROTO_LOGIN_H
#define MCSI_PROTO_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/chap.h"
#include "proto/discovery.h"
#include "proto/neg.h"

#define LOGIN_MAX_TEXT   65536u  /* most of a target's text we join */
#define LOGIN_MIN_RX     8192u   /* rx_cap: at least one full login PDU */
#define LOGIN_MIN_TX     8192u   /* tx_cap: our text for one round */
#define LOGIN_PDU_TEXT   8192u   /* data segment limit while logging in */
#define LOGIN_MAX_ROUNDS 32u     /* request/response rounds in one login */

enum login_auth {
	LOGIN_AUTH_NONE,      /* offer "None" */
	LOGIN_AUTH_OPTIONAL,  /* offer "None,CHAP": one-way CHAP if the
			       * target asks for it */
	LOGIN_AUTH_CHAP,      /* offer "CHAP": one-way CHAP required */
	LOGIN_AUTH_MUTUAL,    /* offer "CHAP": and the target must prove
			       * itself with our challenge */
};

struct login_config {
	const char *initiator_name;   /* required */
	const char *initiator_alias;  /* NULL: not declared */
	const char *target_name;      /* NULL: discovery session */
	uint8_t isid[6];
	uint16_t tsih;                /* 0: leading login; else joins that
				       * session (non-leading) */
	uint16_t cid;
	uint32_t itt, cmdsn, expstatsn;
	enum login_auth auth;
	/* CHAP (borrowed): our name and secret, and for mutual CHAP the
	 * target's secret and, if not NULL, the name it must give. */
	const char *chap_name;
	const char *chap_secret;
	size_t chap_secret_len;
	const char *target_chap_name;
	const char *target_chap_secret;
	size_t target_chap_secret_len;
	/* CHAP_A offer (enum chap_alg values), in preference order; none:
	 * SHA3-256, SHA-1, MD5, SHA-256 (SHA-256 last because tgt reads 7
	 * as SHA-1). */
	const uint8_t *chap_algs;
	size_t n_chap_algs;
	/* The mutual CHAP challenge (CHAP_CHALLENGE_LEN bytes) we sent in an
	 * earlier login of the same attempt, before a redirection, or NULL
	 * (borrowed). A target that offers it back as its own challenge is
	 * reflecting it to have us compute its answer (RFC 7143 12.1.3):
	 * the login fails with -EACCES. See login_sent_challenge(). */
	const uint8_t *sent_challenge;
	const struct iscsi_wishes *wishes;  /* NULL: neg_wishes_default() */
	const struct iscsi_params *session; /* non-leading: the session's
					     * negotiated values (required) */
	char *rx_buf;                 /* >= LOGIN_MIN_RX, target's text */
	size_t rx_cap;
	char *tx_buf;                 /* >= LOGIN_MIN_TX, our text */
	size_t tx_cap;
	/* Optional hooks. make_challenge defaults to chap_make_challenge()
	 * (tests make it deterministic). warn reports tolerated deviations;
	 * what is static, detail a static key name or NULL. */
	int (*make_challenge)(void *arg, uint8_t *challenge, size_t len,
			      uint8_t *id);
	void (*warn)(void *arg, const char *what, const char *detail);
	void *hook_arg;
};

enum login_event {
	LOGIN_EV_SEND,      /* call login_next_pdu() and send it */
	LOGIN_EV_DONE,      /* full feature phase: login_params() */
	LOGIN_EV_REDIRECT,  /* log in again at login_redirect() */
	LOGIN_EV_FAILED,    /* login_error(), login_status() */
};

/* Warnings (login_warnings()): the NEG_WARN_* bits plus these. */
#define LOGIN_WARN_STATSN  0x100u  /* unexpected StatSN, resynchronized */
#define LOGIN_WARN_NO_TPGT 0x200u  /* normal session without a
				    * TargetPortalGroupTag */

/* The context: caller-allocated, opaque in use (access it only through
 * the functions below). */
struct login {
	struct login_config cfg;
	struct neg neg;
	struct iscsi_params params;
	struct disc_address redirect;
	uint8_t phase;
	uint8_t csg, nsg;             /* of the request being sent */
	bool transit;                 /* T of our text's last PDU */
	bool req_transit;             /* T of our last text request */
	bool tx_ready, awaiting, sent_cont, rx_cont;
	size_t tx_len, tx_off, rx_len;
	unsigned rounds, pdus;
	bool have_statsn;
	uint32_t statsn, exp_statsn, exp_cmdsn, max_cmdsn;
	uint16_t tsih;
	uint8_t status_class, status_detail;
	uint32_t warnings;
	const char *error;
	int error_key;                /* enum neg_key_id, or -1 */
	enum chap_alg alg;
	uint8_t chap_id;
	bool challenge_sent;          /* challenge[] went out (mutual CHAP) */
	uint8_t challenge[CHAP_CHALLENGE_LEN];
};

/*
 * Checks cfg and prepares the first Login request. cfg is copied; the
 * strings, secrets, wishes, session and buffers it points to are borrowed
 * until the login ends. Returns 0, or -EINVAL with login_error() set
 * (missing name, CHAP without credentials, equal secrets for both
 * directions, a non-leading login without its session, small buffers,
 * wishes out of range).
 */
int login_init(struct login *l, const struct login_config *cfg);

/*
 * Writes the next Login request: 48 bytes of BHS into bhs (4-byte
 * aligned) and up to cap bytes of text into data, *len set to the data
 * segment length (the caller adds padding). Returns 0, -EINVAL when no
 * request is due (not after LOGIN_EV_SEND) or -ENOSPC when cap is 0 and
 * text is pending.
 */
int login_next_pdu(struct login *l, void *bhs, void *data, size_t cap,
		   size_t *len);

/*
 * Feeds one Login response: its BHS and its data segment of len bytes
 * (DataSegmentLength, without padding). *event says what comes next.
 * Returns 0 when the response was handled, including a refusal by the
 * target (LOGIN_EV_FAILED with login_status()); otherwise the login fails
 * (*event = LOGIN_EV_FAILED, login_error() says why): -EPROTO when the
 * target broke the protocol, -EACCES when it failed (or skipped) mutual
 * authentication, -ENOSPC when our answers outgrow tx_buf, -EINVAL when
 * no response was due or len does not match the BHS.
 */
int login_recv_pdu(struct login *l, const void *bhs, const void *data,
		   size_t len, enum login_event *event);

/* ---- results ----------------------------------------------------------- */

/* Negotiated parameters; valid after LOGIN_EV_DONE, else NULL. */
const struct iscsi_params *login_params(const struct login *l);
/* The TSIH the target gave (opaque; tgt's look byte-swapped), valid after
 * LOGIN_EV_DONE. */
uint16_t login_tsih(const struct login *l);

struct login_seq {
	uint32_t statsn;      /* of the last response */
	uint32_t exp_statsn;  /* statsn + 1: our next ExpStatSN */
	uint32_t cmdsn;       /* the first command's CmdSN (login is
			       * immediate: cfg.cmdsn) */
	uint32_t exp_cmdsn, max_cmdsn;  /* the target's window */
};
void login_seq(const struct login *l, struct login_seq *s);

/* Status class and detail of the last response (0/0 unless the target
 * refused or redirected). */
void login_status(const struct login *l, uint8_t *status_class,
		  uint8_t *status_detail);
/* A static, human-readable reason after LOGIN_EV_FAILED or a negative
 * return, else NULL. */
const char *login_error(const struct login *l);
/* The negotiation key the error is about (static), or NULL. */
const char *login_error_key(const struct login *l);
/* LOGIN_WARN_* and NEG_WARN_* bits seen during the login. */
uint32_t login_warnings(const struct login *l);
/* After LOGIN_EV_REDIRECT: copies the mutual CHAP challenge this login
 * sent into out (CHAP_CHALLENGE_LEN bytes) and returns true; false when
 * none was sent or it is gone (wiped at the end of a login). The caller
 * passes it as the next login's cfg.sent_challenge and wipes it after. */
bool login_sent_challenge(const struct login *l, uint8_t *out);
/* After LOGIN_EV_REDIRECT: where to log in again, else NULL. *permanent
 * (may be NULL) tells 0x0102 (moved permanently) from 0x0101. */
const struct disc_address *login_redirect(const struct login *l,
					  bool *permanent);

/* For a status class/detail: a static message ("authentication failed",
 * "target not found", ...), never NULL; the matching -errno (-EACCES,
 * -ENOENT, -EUSERS, -EAGAIN, ...; 0 for success); and whether trying
 * again later may succeed (0x0301, 0x0302, temporary redirects). */
const char *login_status_message(uint8_t status_class, uint8_t status_detail);
int login_status_errno(uint8_t status_class, uint8_t status_detail);
bool login_status_retryable(uint8_t status_class, uint8_t status_detail);

#endif
