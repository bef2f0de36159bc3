/* SPDX-License-Identifier: MIT */
/* STOPGAP until lgio_target carries the session: see login_nonlead_io.h. */
#include "mcs/login_nonlead_io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "proto/login.h"
#include "proto/pdu.h"
#include "proto/serial.h"

#define NLIO_TEXT_CAP  (64u * 1024)
#define NLIO_TX_CAP    (16u * 1024)
#define NLIO_SEG_CAP   (64u * 1024)

/* ITTs of a connection's control path start apart from the other
 * connections' (an ITT is unique within the session). */
static uint32_t itt_base(uint16_t cid)
{
	return 0x10000000u + ((uint32_t)cid << 12);
}

static void nlio_warn(void *arg, const char *what, const char *detail)
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

/* Runs the request/response rounds. Returns 0 with *ev the outcome, or
 * -errno with st->message set where known. */
static int rounds(struct login *l, int fd, const char *peer, const struct lgio_target *t,
		  uint8_t *seg, struct lgio_status *st, enum login_event *ev)
{
	struct net_conn_opts opts = { .max_recv_dsl = NLIO_SEG_CAP, .timeout_ms = t->timeout_ms };
	int rc = 0;

	*ev = LOGIN_EV_SEND;
	while (*ev == LOGIN_EV_SEND) {
		struct net_pdu p = { .data = seg, .data_cap = NLIO_SEG_CAP };
		const char *why = NULL;
		size_t len = 0;
		if ((rc = login_next_pdu(l, p.bhs, seg, NLIO_SEG_CAP, &len)) != 0)
			return rc;
		p.data_len = (uint32_t)len;
		if ((rc = net_send_pdu(fd, &p, &opts)) != 0) {
			log_peer_err(peer, "login: send failed: %s", strerror(-rc));
			return rc;
		}
		p.data_len = 0;
		rc = net_recv_pdu(fd, &p, &opts, &why);
		if (rc == 0) {
			struct pdu_limits lim = { .max_recv_dsl = NLIO_SEG_CAP, .in_login = true };
			rc = pdu_check_target_pdu(p.bhs, &lim, &why);
		}
		if (rc) {
			st->message = why ? why
				      : rc == -ECONNRESET ? "the target closed the connection"
				      : rc == -ETIMEDOUT ? "no answer from the target" : NULL;
			log_peer_err(peer, "login: %s", st->message ? st->message : strerror(-rc));
			return rc;
		}
		rc = login_recv_pdu(l, p.bhs, seg, p.data_len, ev);
		login_status(l, &st->status_class, &st->status_detail);
		if (rc) {
			st->message = login_error(l);
			log_peer_err(peer, "login: %s%s%s", st->message,
				     login_error_key(l) ? " in " : "",
				     login_error_key(l) ? login_error_key(l) : "");
			return rc;
		}
	}
	return 0;
}

int nlio_login(const struct lgio_target *t, const struct iscsi_params *session,
	       uint32_t cmdsn, struct ctl_conn *c, uint8_t *rx, size_t rx_cap,
	       struct lgio_status *st)
{
	char peer[URL_PORTAL_STRMAX];
	struct login l;
	enum login_event ev;
	uint32_t itt = itt_base(t->cid);

	memset(st, 0, sizeof(*st));
	st->portal = t->portal;
	c->fd = -1;
	if (t->tsih == 0 || !session || !t->target_name) {
		st->message = "a non-leading login needs the session's TSIH and parameters";
		return -EINVAL;
	}
	if (rx_cap < NLIO_SCRATCH || rx_cap < t->wishes.max_recv_dsl) {
		st->message = "scratch buffer too small";
		return -EINVAL;
	}
	url_format_portal(&t->portal, peer, sizeof(peer));
	struct login_config cfg = {
		.initiator_name = t->initiator_name,
		.initiator_alias = t->initiator_alias,
		.target_name = t->target_name,
		.tsih = t->tsih, .cid = t->cid, .itt = itt, .cmdsn = cmdsn,
		.auth = auth_mode(t),
		.chap_name = t->chap_name,
		.chap_secret = t->chap_secret,
		.chap_secret_len = t->chap_secret_len,
		.target_chap_name = t->target_chap_name,
		.target_chap_secret = t->target_secret,
		.target_chap_secret_len = t->target_secret_len,
		.wishes = &t->wishes,
		.session = session,
		.rx_buf = (char *)rx, .rx_cap = NLIO_TEXT_CAP,
		.tx_buf = (char *)rx + NLIO_TEXT_CAP, .tx_cap = NLIO_TX_CAP,
		.warn = nlio_warn, .hook_arg = peer,
	};
	memcpy(cfg.isid, t->isid, sizeof(cfg.isid));
	int rc = login_init(&l, &cfg);
	if (rc) {
		st->message = login_error(&l);
		return rc;
	}
	int fd = net_connect(&t->portal, t->timeout_ms);
	if (fd < 0) {
		log_peer_err(peer, "cannot connect: %s", strerror(-fd));
		st->message = "cannot connect to the portal";
		return fd;
	}
	rc = rounds(&l, fd, peer, t, rx + NLIO_TEXT_CAP + NLIO_TX_CAP, st, &ev);
	if (rc == 0 && ev == LOGIN_EV_REDIRECT) {
		st->message = "the target redirected a non-leading login (not followed)";
		rc = -EAGAIN;
	} else if (rc == 0 && ev == LOGIN_EV_FAILED) {
		st->message = login_error(&l);
		if (!st->message)
			st->message = login_status_message(st->status_class, st->status_detail);
		log_peer_err(peer, "connection %u refused: %s (status 0x%02x%02x)", t->cid,
			     st->message, st->status_class, st->status_detail);
		rc = login_status_errno(st->status_class, st->status_detail);
		if (rc == 0)
			rc = -EPROTO;
	}
	if (rc) {
		close(fd);
		return rc;
	}

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
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	ctl_init(c, fd, rx, rx_cap);
	st->auth = t->chap ? (t->mutual ? "CHAP (mutual)" : "CHAP") : "None";
	st->status_class = st->status_detail = 0;
	st->message = NULL;
	return 0;
}

/* ---- logout of one connection ---------------------------------------------- */

static int send_bhs(struct ctl_conn *c, const void *bhs, const uint8_t *data, uint32_t len)
{
	struct net_pdu p = { .data = (uint8_t *)(uintptr_t)data, .data_len = len };

	memcpy(p.bhs, bhs, PDU_BHS_LEN);
	return net_send_pdu(c->fd, &p, &c->opts);
}

static void track_sn(struct ctl_conn *c, const struct pdu_bhs *h, bool has_status)
{
	uint32_t statsn = pdu_get32(&h->bhs_spec2[1]);
	uint32_t exp = pdu_get32(&h->bhs_spec2[2]);
	uint32_t max = pdu_get32(&h->bhs_spec2[3]);

	if (sn_window_valid(exp, max)) {
		if (sn_gt(exp, c->expcmdsn))
			c->expcmdsn = exp;
		if (sn_gt(max, c->maxcmdsn))
			c->maxcmdsn = max;
	}
	if (has_status && sn_ge(statsn, c->expstatsn))
		c->expstatsn = statsn + 1;
}

int nlio_logout_cid(struct ctl_conn *via, uint16_t cid, uint32_t cmdsn,
		    uint8_t *response)
{
	struct bhs_logout_req req;
	uint32_t itt = via->next_itt++;
	int rc;

	*response = 0xff;
	pdu_build_logout(&req, LOGOUT_CLOSE_CONNECTION, itt, cid);
	pdu_stamp_cmdsn(&req, cmdsn, via->expstatsn);
	via->cmdsn = cmdsn;
	if ((rc = send_bhs(via, &req, NULL, 0)) != 0)
		return rc;
	for (int pdus = 0; pdus < 64; pdus++) {
		struct net_pdu p = { .data = via->rx, .data_cap = (uint32_t)via->rx_cap };
		struct pdu_limits lim = { .max_recv_dsl = via->opts.max_recv_dsl };
		const char *why = NULL;
		rc = net_recv_pdu(via->fd, &p, &via->opts, &why);
		if (rc == 0)
			rc = pdu_check_target_pdu(p.bhs, &lim, &why);
		if (rc) {
			log_peer_err(via->peer, "logout of connection %u: %s", cid,
				     why ? why : strerror(-rc));
			return rc;
		}
		const struct pdu_bhs *h = (const void *)p.bhs;
		if (pdu_opcode(h) == PDU_OP_NOP_IN) {
			const struct bhs_nop_in *n = (const void *)h;
			uint32_t ttt = pdu_get32(&n->nopi_ttt);
			track_sn(via, h, pdu_itt(h) != PDU_RESERVED_TAG);
			if (ttt == PDU_RESERVED_TAG)
				continue;
			struct bhs_nop_out o;
			pdu_build_nop_out(&o, 0, PDU_RESERVED_TAG, ttt, p.data_len, true);
			memcpy(o.nopo_lun, n->nopi_lun, sizeof(o.nopo_lun));
			pdu_stamp_cmdsn(&o, cmdsn, via->expstatsn);
			if ((rc = send_bhs(via, &o, p.data, p.data_len)) != 0)
				return rc;
			continue;
		}
		if (pdu_opcode(h) == PDU_OP_ASYNC) {
			track_sn(via, h, true);
			continue;
		}
		if (pdu_opcode(h) != PDU_OP_LOGOUT_RSP || pdu_itt(h) != itt) {
			log_peer_err(via->peer, "unexpected %s while logging out connection %u",
				     pdu_opcode_name(pdu_opcode(h)), cid);
			return -EPROTO;
		}
		const struct bhs_logout_rsp *r = (const void *)h;
		track_sn(via, h, true);
		*response = r->lgor_response;
		if (r->lgor_response == LOGOUT_RSP_OK)
			return 0;
		log_peer_err(via->peer, "logout of connection %u refused (response %u)", cid,
			     r->lgor_response);
		return r->lgor_response == LOGOUT_RSP_CID_NOT_FOUND ? -ENOENT : -EIO;
	}
	log_peer_err(via->peer, "no logout response for connection %u", cid);
	return -EPROTO;
}
