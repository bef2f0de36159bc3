/* SPDX-License-Identifier: MIT */
#include "mcs/login_io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "proto/login.h"
#include "proto/pdu.h"
#include "proto/text.h"

/* How lgio_login() carves the caller's scratch buffer during login. */
#define LGIO_TEXT_CAP  LOGIN_MAX_TEXT       /* the target's joined text */
#define LGIO_TX_CAP    (16u * 1024)         /* our text */
#define LGIO_SEG_CAP   (64u * 1024)         /* one received segment */
#define LGIO_SCRATCH   (LGIO_TEXT_CAP + LGIO_TX_CAP + LGIO_SEG_CAP)
_Static_assert(LGIO_SCRATCH == LGIO_RX_MIN, "login_io.h states the scratch size");

void lgio_target_init(struct lgio_target *t)
{
	memset(t, 0, sizeof(*t));
	neg_wishes_default(&t->wishes);
	t->isid[0] = 0x80;  /* ISID type "random" (RFC 7143 section 11.12.5) */
	if (getrandom(t->isid + 1, 5, 0) != 5) {
		/* Fall back on something that differs between processes. */
		uint32_t v = (uint32_t)getpid();
		memcpy(t->isid + 1, &v, 4);
	}
	t->timeout_ms = 15000;
}

static void lgio_warn(void *arg, const char *what, const char *detail)
{
	log_peer_warn((const char *)arg, "login: %s%s%s", what,
		      detail ? ": " : "", detail ? detail : "");
}

static enum login_auth auth_mode(const struct lgio_target *t)
{
	if (!t->chap)
		return LOGIN_AUTH_NONE;
	return t->mutual ? LOGIN_AUTH_MUTUAL : LOGIN_AUTH_CHAP;
}

/* The login's ITT, and the first of the control path's after it. Each
 * connection (CID) gets its own range, so that ITTs stay unique within the
 * session when several connections log in. */
static uint32_t lgio_itt_base(uint16_t cid)
{
	return 0x10000000u + ((uint32_t)cid << 12);
}

/* The login machine's configuration for t, scratch carved from rx. */
static void lgio_config(struct login_config *cfg, const struct lgio_target *t,
			uint32_t itt, uint8_t *rx, const char *peer)
{
	*cfg = (struct login_config){
		.initiator_name = t->initiator_name,
		.initiator_alias = t->initiator_alias,
		.target_name = t->target_name,
		.tsih = t->tsih, .cid = t->cid, .itt = itt, .cmdsn = t->cmdsn,
		.session = t->session,
		.auth = auth_mode(t),
		.chap_name = t->chap_name,
		.chap_secret = t->chap_secret,
		.chap_secret_len = t->chap_secret_len,
		.target_chap_name = t->target_chap_name,
		.target_chap_secret = t->target_secret,
		.target_chap_secret_len = t->target_secret_len,
		.wishes = &t->wishes,
		.rx_buf = (char *)rx, .rx_cap = LGIO_TEXT_CAP,
		.tx_buf = (char *)rx + LGIO_TEXT_CAP, .tx_cap = LGIO_TX_CAP,
		.warn = lgio_warn, .hook_arg = (void *)peer,
	};
	memcpy(cfg->isid, t->isid, sizeof(cfg->isid));
}

/* One login attempt on one portal. Returns 0 (DONE), 1 (REDIRECT: *next
 * set) or -errno. */
static int login_once(const struct lgio_target *t, const struct url_portal *portal,
		      struct ctl_conn *c, uint8_t *rx, size_t rx_cap,
		      struct lgio_status *st, struct url_portal *next,
		      uint8_t *sent, bool *have_sent)
{
	char peer[URL_PORTAL_STRMAX];
	struct login l;
	struct login_config cfg;
	uint32_t itt = lgio_itt_base(t->cid);

	url_format_portal(portal, peer, sizeof(peer));
	lgio_config(&cfg, t, itt, rx, peer);
	cfg.sent_challenge = *have_sent ? sent : NULL;
	uint8_t *seg = rx + LGIO_TEXT_CAP + LGIO_TX_CAP;

	int rc = login_init(&l, &cfg);
	if (rc) {
		st->message = login_error(&l);
		return rc;
	}
	int fd = net_connect(portal, t->timeout_ms);
	if (fd < 0) {
		log_peer_err(peer, "cannot connect: %s", strerror(-fd));
		return fd;
	}
	struct net_conn_opts opts = { .max_recv_dsl = LGIO_SEG_CAP,
				      .timeout_ms = t->timeout_ms };
	enum login_event ev = LOGIN_EV_SEND;
	while (ev == LOGIN_EV_SEND) {
		struct net_pdu p = { .data = seg, .data_cap = LGIO_SEG_CAP };
		size_t len = 0;
		rc = login_next_pdu(&l, p.bhs, seg, LGIO_SEG_CAP, &len);
		if (rc)
			break;
		p.data_len = (uint32_t)len;
		rc = net_send_pdu(fd, &p, &opts);
		if (rc) {
			log_peer_err(peer, "login: send failed: %s", strerror(-rc));
			break;
		}
		const char *why = NULL;
		p.data_len = 0;
		rc = net_recv_pdu(fd, &p, &opts, &why);
		if (rc == 0) {
			struct pdu_limits lim = { .max_recv_dsl = LGIO_SEG_CAP,
						  .in_login = true };
			rc = pdu_check_target_pdu(p.bhs, &lim, &why);
		}
		if (rc) {
			st->message = why ? why
				      : rc == -ECONNRESET && !t->chap
					      ? "the target closed the connection (it may "
						"require CHAP authentication)"
				      : rc == -ECONNRESET ? "the target closed the connection"
				      : rc == -ETIMEDOUT ? "no answer from the target"
							 : NULL;
			log_peer_err(peer, "login: %s", st->message ? st->message : strerror(-rc));
			break;
		}
		rc = login_recv_pdu(&l, p.bhs, seg, p.data_len, &ev);
		login_status(&l, &st->status_class, &st->status_detail);
		if (rc) {
			st->message = login_error(&l);
			log_peer_err(peer, "login: %s%s%s", st->message,
				     login_error_key(&l) ? " in " : "",
				     login_error_key(&l) ? login_error_key(&l) : "");
			break;
		}
	}
	if (rc) {
		close(fd);
		return rc;
	}
	if (ev == LOGIN_EV_FAILED) {
		close(fd);
		st->message = login_error(&l);
		if (!st->message)
			st->message = login_status_message(st->status_class, st->status_detail);
		log_peer_err(peer, "login refused: %s (status 0x%02x%02x)", st->message,
			     st->status_class, st->status_detail);
		rc = login_status_errno(st->status_class, st->status_detail);
		return rc ? rc : -EPROTO;
	}
	if (ev == LOGIN_EV_REDIRECT) {
		bool permanent = false;
		const struct disc_address *a = login_redirect(&l, &permanent);
		close(fd);
		/* Remember a mutual challenge we sent: the next portal must
		 * not offer it back (reflection). */
		if (login_sent_challenge(&l, sent))
			*have_sent = true;
		char to[URL_PORTAL_STRMAX];
		url_format_portal(&a->portal, to, sizeof(to));
		log_peer_info(peer, "redirected %s to %s",
			      permanent ? "permanently" : "temporarily", to);
		*next = a->portal;
		return 1;
	}

	/* Full feature phase: hand the connection to the control path. */
	struct login_seq seq;
	login_seq(&l, &seq);
	memset(c, 0, sizeof(*c));
	c->params = *login_params(&l);
	c->opts.header_digest = c->params.header_digest;
	c->opts.data_digest = c->params.data_digest;
	c->opts.max_recv_dsl = c->params.max_recv_dsl;
	c->opts.timeout_ms = t->timeout_ms;
	memcpy(c->isid, t->isid, sizeof(c->isid));
	c->tsih = login_tsih(&l);
	c->cid = t->cid;
	c->cmdsn = seq.cmdsn;
	c->expcmdsn = seq.exp_cmdsn;
	c->maxcmdsn = seq.max_cmdsn;
	c->expstatsn = seq.exp_statsn;
	c->next_itt = itt + 1;
	c->discovery = t->target_name == NULL;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	ctl_init(c, fd, rx, rx_cap);
	st->auth = t->chap ? (t->mutual ? "CHAP (mutual)" : "CHAP") : "None";
	st->status_class = st->status_detail = 0;
	st->message = NULL;
	return 0;
}

int lgio_login(const struct lgio_target *t, struct ctl_conn *c, uint8_t *rx,
	       size_t rx_cap, struct lgio_status *st)
{
	struct url_portal portal = t->portal;
	uint8_t sent[CHAP_CHALLENGE_LEN];
	bool have_sent = false;
	int rc;

	memset(st, 0, sizeof(*st));
	c->fd = -1;
	if (rx_cap < LGIO_SCRATCH || rx_cap < t->wishes.max_recv_dsl) {
		st->message = "scratch buffer too small";
		return -EINVAL;
	}
	for (;;) {
		struct url_portal next;
		st->portal = portal;
		rc = login_once(t, &portal, c, rx, rx_cap, st, &next, sent, &have_sent);
		if (rc <= 0)
			break;
		if (t->tsih != 0) {
			/* A connection joining a session stays in its portal
			 * group: a redirect elsewhere is not followed. */
			st->message = "the target redirected a non-leading login (not followed)";
			rc = -EAGAIN;
			break;
		}
		if (++st->redirects > LGIO_MAX_REDIRECTS) {
			st->message = "too many redirections";
			rc = -ELOOP;
			break;
		}
		portal = next;
	}
	explicit_bzero(sent, sizeof(sent));
	return rc;
}

int lgio_probe(const struct lgio_target *t, uint8_t *rx, size_t rx_cap,
	       struct lgio_status *st)
{
	char peer[URL_PORTAL_STRMAX];
	struct login l;
	struct url_portal portal = t->portal;

	memset(st, 0, sizeof(*st));
	if (rx_cap < LGIO_SCRATCH) {
		st->message = "scratch buffer too small";
		return -EINVAL;
	}
	for (;;) {
		st->portal = portal;
		url_format_portal(&portal, peer, sizeof(peer));
		/* Offer None,CHAP with placeholder credentials: the first
		 * request carries only the offer, and we stop after the
		 * target's first answer, so nothing secret is ever sent. */
		struct lgio_target probe = *t;
		probe.initiator_alias = NULL;
		probe.tsih = 0;
		probe.session = NULL;
		probe.mutual = false;
		probe.target_chap_name = probe.target_secret = NULL;
		probe.target_secret_len = 0;
		probe.chap = true;
		probe.chap_name = "probe";
		probe.chap_secret = "probe-not-sent";
		probe.chap_secret_len = 14;
		struct login_config cfg;
		lgio_config(&cfg, &probe, lgio_itt_base(0), rx, peer);
		cfg.auth = LOGIN_AUTH_OPTIONAL;
		uint8_t *seg = rx + LGIO_TEXT_CAP + LGIO_TX_CAP;
		int rc = login_init(&l, &cfg);
		if (rc) {
			st->message = login_error(&l);
			return rc;
		}
		int fd = net_connect(&portal, t->timeout_ms);
		if (fd < 0)
			return fd;
		struct net_conn_opts opts = { .max_recv_dsl = LGIO_SEG_CAP,
					      .timeout_ms = t->timeout_ms };
		struct net_pdu p = { .data = seg, .data_cap = LGIO_SEG_CAP };
		size_t len = 0;
		const char *why = NULL;
		rc = login_next_pdu(&l, p.bhs, seg, LGIO_SEG_CAP, &len);
		p.data_len = (uint32_t)len;
		if (rc == 0)
			rc = net_send_pdu(fd, &p, &opts);
		if (rc == 0)
			rc = net_recv_pdu(fd, &p, &opts, &why);
		close(fd);
		if (rc) {
			st->message = why;
			return rc;
		}
		const struct bhs_login_rsp *r = (const void *)p.bhs;
		if (pdu_opcode(r) != PDU_OP_LOGIN_RSP) {
			st->message = "the target did not answer with a login response";
			return -EPROTO;
		}
		st->status_class = r->lgnr_status_class;
		st->status_detail = r->lgnr_status_detail;
		if (st->status_class == 1) {
			/* Follow the redirection, as a login would. */
			struct text_iter it;
			struct text_pair kv;
			bool found = false;
			text_iter_init(&it, seg, p.data_len);
			while (text_next(&it, &kv, &why) == 1) {
				struct disc_address a;
				if (text_key_is(&kv, "TargetAddress") &&
				    disc_parse_address(kv.value, kv.value_len, &a, &why) == 0) {
					portal = a.portal;
					found = true;
				}
			}
			if (!found) {
				st->message = "redirected without a usable TargetAddress";
				return -EPROTO;
			}
			if (++st->redirects > LGIO_MAX_REDIRECTS) {
				st->message = "too many redirections";
				return -ELOOP;
			}
			continue;
		}
		if (st->status_class != 0) {
			st->message = login_status_message(st->status_class, st->status_detail);
			rc = login_status_errno(st->status_class, st->status_detail);
			return rc ? rc : -EPROTO;
		}
		struct text_iter it;
		struct text_pair kv;
		text_iter_init(&it, seg, p.data_len);
		st->auth = NULL;
		while (text_next(&it, &kv, &why) == 1) {
			if (!text_key_is(&kv, "AuthMethod"))
				continue;
			if (kv.value_len == 4 && memcmp(kv.value, "None", 4) == 0)
				st->auth = "None";
			else if (kv.value_len == 4 && memcmp(kv.value, "CHAP", 4) == 0)
				st->auth = "CHAP";
			else
				st->auth = "unknown (not None or CHAP)";
		}
		if (!st->auth) {
			/* No AuthMethod answer: the target skipped the
			 * security stage, i.e. it requires nothing. */
			st->auth = "None";
		}
		return 0;
	}
}

int lgio_sendtargets(struct ctl_conn *c, char *out, size_t cap)
{
	static const char req[] = "SendTargets=All";
	return ctl_text(c, req, sizeof(req), out, cap);
}
