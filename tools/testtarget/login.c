/* SPDX-License-Identifier: MIT */
#include "login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "conn.h"
#include "faults.h"
#include "negotiate.h"
#include "proto/pdu.h"
#include "proto/text.h"
#include "session.h"

/* Login status (class << 8 | detail), RFC 7143 section 11.13.5. */
enum {
	LS_SUCCESS = 0x0000, LS_MOVED_TEMP = 0x0101, LS_MOVED_PERM = 0x0102,
	LS_AUTH_FAILED = 0x0201, LS_FORBIDDEN = 0x0202, LS_NOT_FOUND = 0x0203,
	LS_UNSUPPORTED_VERSION = 0x0205, LS_MISSING_PARAM = 0x0207,
	LS_INVALID_REQUEST = 0x020b, LS_TARGET_ERROR = 0x0300,
	LS_OUT_OF_RESOURCES = 0x0302,
};

int login_begin(struct tt_conn *c)
{
	struct tt_login *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	tgtneg_defaults(&l->p);
	c->login = l;
	return 0;
}

void login_end(struct tt_conn *c)
{
	struct tt_login *l = c->login;
	if (!l)
		return;
	if (l->join)
		sess_put(l->join);
	free(l->initiator);
	OPENSSL_cleanse(l->challenge, sizeof(l->challenge));
	free(l);
	c->login = NULL;
}

static void login_send(struct tt_conn *c, const struct bhs_login_req *req,
		       unsigned status, bool transit, unsigned nsg, uint16_t tsih)
{
	struct tt_login *l = c->login;
	uint8_t *h = io_hdr(c, 0);
	if (!h)
		return;
	unsigned csg = (req->lgn_flags & LOGIN_CSG_MASK) >> LOGIN_CSG_SHIFT;
	struct pdu_login_rsp_args a = {
		.tsih = tsih, .itt = l->itt, .len = (uint32_t)l->rsp_len,
		.csg = (enum login_stage)csg, .nsg = (enum login_stage)nsg,
		.transit = transit,
		.status_class = (uint8_t)(status >> 8),
		.status_detail = (uint8_t)status,
	};
	memcpy(a.isid, l->isid, 6);
	pdu_build_login_rsp(h, &a);
	uint32_t exp = l->join ? atomic_load(&l->join->exp_cmdsn) : l->cmdsn;
	conn_log(c, 2, "login response: status 0x%04x csg %u transit %d nsg %u StatSN %u ExpCmdSN %u, %zu text bytes",
		 status, csg, transit, nsg, c->statsn, exp, l->rsp_len);
	pdu_stamp_statsn(h, c->statsn++, exp, exp + c->srv->cfg->lim.cmd_window - 1);
	/* The text must survive until the flush: it lives in c->login,
	 * which is freed only after the flush. */
	io_queue(c, h, l->rsp_len ? l->rsp : NULL, (uint32_t)l->rsp_len);
}

static int login_fail(struct tt_conn *c, const struct bhs_login_req *req,
		      unsigned status, const char *why)
{
	conn_log(c, 0, "login refused 0x%04x: %s", status, why);
	c->login->rsp_len = 0;
	login_send(c, req, status, false, 0, 0);
	return -EACCES;
}

static struct tt_target *login_find_target(struct tt_conn *c, const char *v, size_t len)
{
	struct tt_config *cfg = c->srv->cfg;
	for (unsigned i = 0; i < cfg->ntargets; i++) {
		const char *n = cfg->targets[i].name;
		if (strlen(n) == len && !strncasecmp(n, v, len))
			return &cfg->targets[i];
	}
	return NULL;
}

static bool value_has(const char *v, size_t len, const char *item)
{
	size_t il = strlen(item), pos = 0;
	while (pos <= len) {
		size_t e = pos;
		while (e < len && v[e] != ',')
			e++;
		if (e - pos == il && !memcmp(v + pos, item, il))
			return true;
		pos = e + 1;
	}
	return false;
}

static int login_chap_a(struct tt_conn *c, const struct text_pair *kv)
{
	struct tt_login *l = c->login;
	unsigned allowed = c->srv->cfg->chap_algs;
	char num[12], hex[2 * CHAP_CHALLENGE_LEN + 4];
	size_t pos = 0;
	enum chap_alg pick = 0;

	/* The initiator's order decides; the first one we allow wins. */
	while (pos <= kv->value_len && !pick) {
		size_t e = pos;
		while (e < kv->value_len && kv->value[e] != ',')
			e++;
		uint32_t a;
		if (!text_parse_u32(kv->value + pos, e - pos, 255, &a) &&
		    a >= CHAP_MD5 && a <= CHAP_SHA3_256 && (allowed & (1u << a)))
			pick = (enum chap_alg)a;
		pos = e + 1;
	}
	if (!pick)
		return text_append(l->rsp, sizeof(l->rsp), &l->rsp_len, "CHAP_A", "Reject");
	l->alg = pick;
	if (chap_make_challenge(l->challenge, sizeof(l->challenge), &l->chap_id))
		return -EIO;
	snprintf(num, sizeof(num), "%u", (unsigned)pick);
	if (chap_encode_hex(l->challenge, sizeof(l->challenge), hex, sizeof(hex)))
		return -EIO;
	l->chap = CHAP_WANT_R;
	if (text_append(l->rsp, sizeof(l->rsp), &l->rsp_len, "CHAP_A", num) ||
	    text_append_u32(l->rsp, sizeof(l->rsp), &l->rsp_len, "CHAP_I", l->chap_id) ||
	    text_append(l->rsp, sizeof(l->rsp), &l->rsp_len, "CHAP_C", hex))
		return -ENOSPC;
	return 0;
}

struct chap_answer {
	const struct text_pair *n, *r, *i, *c;
};

/* Checks the initiator's CHAP_N/CHAP_R and answers its challenge when it
 * sent one (mutual CHAP). Returns 0 or a login status. */
static unsigned login_chap_check(struct tt_conn *c, const struct chap_answer *ans)
{
	struct tt_login *l = c->login;
	const struct tt_config *cfg = c->srv->cfg;
	uint8_t resp[CHAP_MAX_CHALLENGE];

	if (!ans->n || !ans->r)
		return LS_AUTH_FAILED;
	if (strlen(cfg->chap.user) != ans->n->value_len ||
	    memcmp(cfg->chap.user, ans->n->value, ans->n->value_len))
		return LS_AUTH_FAILED;
	int rl = chap_decode(ans->r->value, ans->r->value_len, resp, sizeof(resp));
	if (rl < 0)
		return LS_AUTH_FAILED;
	if (chap_verify(l->alg, l->chap_id, cfg->chap.secret, strlen(cfg->chap.secret),
			l->challenge, sizeof(l->challenge), resp, (size_t)rl))
		return LS_AUTH_FAILED;
	if (!ans->i && !ans->c)
		return 0;
	if (!ans->i || !ans->c || !cfg->mutual.user)
		return LS_AUTH_FAILED;             /* mutual asked, not configured */
	uint32_t id;
	uint8_t chal[CHAP_MAX_CHALLENGE], out[CHAP_MAX_DIGEST];
	char hex[2 * CHAP_MAX_DIGEST + 4];
	if (text_parse_u32(ans->i->value, ans->i->value_len, 255, &id))
		return LS_AUTH_FAILED;
	int cl = chap_decode(ans->c->value, ans->c->value_len, chal, sizeof(chal));
	if (cl <= 0)
		return LS_AUTH_FAILED;
	/* A reflected challenge would let the initiator use us as an
	 * oracle for our own secret (RFC 7143 section 12.1.3). */
	if ((size_t)cl == sizeof(l->challenge) && !memcmp(chal, l->challenge, (size_t)cl))
		return LS_AUTH_FAILED;
	if (chap_response(l->alg, (uint8_t)id, cfg->mutual.secret, strlen(cfg->mutual.secret),
			  chal, (size_t)cl, out))
		return LS_TARGET_ERROR;
	if (chap_encode_hex(out, chap_digest_len(l->alg), hex, sizeof(hex)))
		return LS_TARGET_ERROR;
	if (text_append(l->rsp, sizeof(l->rsp), &l->rsp_len, "CHAP_N", cfg->mutual.user) ||
	    text_append(l->rsp, sizeof(l->rsp), &l->rsp_len, "CHAP_R", hex))
		return LS_TARGET_ERROR;
	return 0;
}

/* First request: identity, redirection, refusals, session checks. */
static unsigned login_first(struct tt_conn *c, const char **why)
{
	struct tt_login *l = c->login;
	const struct tt_config *cfg = c->srv->cfg;
	uint8_t cls, det;

	if (!l->initiator) {
		*why = "no InitiatorName";
		return LS_MISSING_PARAM;
	}
	if (fault_login(c->srv, &cls, &det)) {
		*why = "fault rule";
		return (unsigned)cls << 8 | det;
	}
	if (!l->discovery && !l->tgt) {
		*why = "no such TargetName";
		return LS_NOT_FOUND;
	}
	l->auth_required = cfg->chap.user && (!l->discovery || cfg->chap_discovery);
	if (l->tsih) {
		unsigned st = sess_check_join(c, l, why);
		if (st)
			return st;
	}
	return 0;
}

static int login_redirect(struct tt_conn *c, const struct bhs_login_req *req)
{
	struct tt_login *l = c->login;
	char addr[80], val[96];
	bool perm;

	if (l->discovery || !fault_redirect(c->srv, addr, sizeof(addr), &perm))
		return 0;
	if (!strcmp(addr, c->portal->text))
		return 0;                      /* we are the destination */
	snprintf(val, sizeof(val), "%s,%u", addr, (unsigned)c->portal->tpgt);
	l->rsp_len = 0;
	text_append(l->rsp, sizeof(l->rsp), &l->rsp_len, "TargetAddress", val);
	conn_log(c, 1, "redirecting to %s", val);
	login_send(c, req, perm ? LS_MOVED_PERM : LS_MOVED_TEMP, false, 0, 0);
	return -EAGAIN;
}

int login_pdu(struct tt_conn *c, const struct tt_rxpdu *p)
{
	struct tt_login *l = c->login;
	const struct bhs_login_req *req = (const void *)p->bhs;
	const char *why = NULL;

	if (pdu_opcode(p->bhs) != PDU_OP_LOGIN_REQ) {
		conn_log(c, 0, "%s during login", pdu_opcode_name(p->bhs[0]));
		return -EPROTO;
	}
	unsigned csg = (req->lgn_flags & LOGIN_CSG_MASK) >> LOGIN_CSG_SHIFT;
	unsigned nsg = req->lgn_flags & LOGIN_NSG_MASK;
	bool transit = req->lgn_flags & LOGIN_TRANSIT;
	bool cont = req->lgn_flags & LOGIN_CONTINUE;

	if (!l->started) {
		l->started = true;
		memcpy(l->isid, req->lgn_isid, 6);
		l->tsih = pdu_get16(&req->lgn_tsih);
		l->cid = pdu_get16(&req->lgn_cid);
		l->itt = pdu_itt(p->bhs);
		l->cmdsn = pdu_get32(&req->lgn_cmdsn);
		c->cid = l->cid;
		c->statsn = (uint32_t)(tt_now_ns() >> 10) & 0xffffff;
		if (req->lgn_version_min > 0)
			return login_fail(c, req, LS_UNSUPPORTED_VERSION, "version");
	} else if (memcmp(l->isid, req->lgn_isid, 6) || l->cid != pdu_get16(&req->lgn_cid)) {
		return login_fail(c, req, LS_INVALID_REQUEST, "ISID or CID changed");
	}
	l->itt = pdu_itt(p->bhs);
	/* The RFC keeps CmdSN constant through a login; libiscsi does not
	 * (it bumps it across the CHAP exchange). The last request's value
	 * is the one its first command follows. */
	l->cmdsn = pdu_get32(&req->lgn_cmdsn);
	c->exp_statsn = pdu_get32(&req->lgn_expstatsn);
	if (transit && cont)
		return login_fail(c, req, LS_INVALID_REQUEST, "T and C both set");
	if (l->len + p->dsl > sizeof(l->buf))
		return login_fail(c, req, LS_OUT_OF_RESOURCES, "login text too long");
	memcpy(l->buf + l->len, p->data, p->dsl);
	l->len += p->dsl;
	l->rsp_len = 0;
	if (cont) {                            /* more text follows */
		login_send(c, req, LS_SUCCESS, false, 0, 0);
		return 0;
	}

	struct text_iter it;
	struct text_pair kv;
	struct chap_answer ans = { 0 };
	struct text_pair pairs[4];
	bool first = !l->initiator && !l->tgt && !l->discovery;
	int rc;

	text_iter_init(&it, l->buf, l->len);
	while ((rc = text_next(&it, &kv, &why)) == 1) {
		char *rsp = l->rsp;
		size_t cap = sizeof(l->rsp);
		if (text_key_is(&kv, "InitiatorName")) {
			if (!l->initiator)
				l->initiator = strndup(kv.value, kv.value_len);
		} else if (text_key_is(&kv, "InitiatorAlias")) {
			continue;
		} else if (text_key_is(&kv, "SessionType")) {
			if (kv.value_len == 9 && !memcmp(kv.value, "Discovery", 9))
				l->discovery = true;
			else if (!(kv.value_len == 6 && !memcmp(kv.value, "Normal", 6)))
				return login_fail(c, req, 0x0209, "session type");
		} else if (text_key_is(&kv, "TargetName")) {
			l->tgt = login_find_target(c, kv.value, kv.value_len);
			if (!l->tgt)
				return login_fail(c, req, LS_NOT_FOUND, "unknown TargetName");
		} else if (text_key_is(&kv, "AuthMethod")) {
			const struct tt_config *cfg = c->srv->cfg;
			bool chap = value_has(kv.value, kv.value_len, "CHAP");
			bool none = value_has(kv.value, kv.value_len, "None");
			/* SessionType precedes AuthMethod in the first request. */
			bool need = cfg->chap.user && (!l->discovery || cfg->chap_discovery);
			const char *pick = "Reject";
			if (need && !chap)
				return login_fail(c, req, LS_AUTH_FAILED, "CHAP required, not offered");
			if (chap && cfg->chap.user && (need || !none)) {
				pick = "CHAP";
				l->chap = CHAP_WANT_A;
			} else if (none && !need) {
				pick = "None";
				l->auth_none = true;
			}
			if (text_append(rsp, cap, &l->rsp_len, "AuthMethod", pick))
				return login_fail(c, req, LS_TARGET_ERROR, "response full");
		} else if (text_key_is(&kv, "CHAP_A")) {
			if (l->chap != CHAP_WANT_A)
				return login_fail(c, req, LS_AUTH_FAILED, "CHAP_A out of turn");
			if (login_chap_a(c, &kv))
				return login_fail(c, req, LS_TARGET_ERROR, "CHAP_A");
		} else if (text_key_is(&kv, "CHAP_N")) {
			pairs[0] = kv;
			ans.n = &pairs[0];
		} else if (text_key_is(&kv, "CHAP_R")) {
			pairs[1] = kv;
			ans.r = &pairs[1];
		} else if (text_key_is(&kv, "CHAP_I")) {
			pairs[2] = kv;
			ans.i = &pairs[2];
		} else if (text_key_is(&kv, "CHAP_C")) {
			pairs[3] = kv;
			ans.c = &pairs[3];
		} else {
			bool leading = l->tsih == 0;
			if (tgtneg_answer(&c->srv->cfg->lim, &l->p, leading, &kv, rsp, cap, &l->rsp_len))
				return login_fail(c, req, LS_TARGET_ERROR, "response full");
		}
	}
	if (rc < 0)
		return login_fail(c, req, LS_INVALID_REQUEST, why);
	l->len = 0;

	if (first) {
		unsigned st = login_first(c, &why);
		if (st)
			return login_fail(c, req, st, why);
		rc = login_redirect(c, req);
		if (rc)
			return rc;
		/* RFC 7143 13.9: in answer to the first request of every
		 * login that names the target, leading or not. */
		if (!l->discovery && !l->tpgt_sent) {
			text_append_u32(l->rsp, sizeof(l->rsp), &l->rsp_len,
					"TargetPortalGroupTag", c->portal->tpgt);
			if (l->tgt->alias)
				text_append(l->rsp, sizeof(l->rsp), &l->rsp_len,
					    "TargetAlias", l->tgt->alias);
			l->tpgt_sent = true;
		}
	}

	if (ans.n || ans.r || ans.i || ans.c) {
		if (l->chap != CHAP_WANT_R)
			return login_fail(c, req, LS_AUTH_FAILED, "CHAP response out of turn");
		unsigned st = login_chap_check(c, &ans);
		if (st)
			return login_fail(c, req, st, "CHAP verification failed");
		l->chap = CHAP_IDLE;
		l->auth_done = true;
		conn_log(c, 1, "CHAP (%s%s) succeeded", chap_alg_name(l->alg),
			 ans.c ? ", mutual" : "");
	}
	if (l->auth_none && !l->auth_required)
		l->auth_done = true;
	if (csg != LOGIN_STAGE_SECURITY && !l->auth_done) {
		if (l->auth_required)
			return login_fail(c, req, LS_AUTH_FAILED, "security stage skipped");
		l->auth_done = true;
	}
	if (csg == LOGIN_STAGE_OPERATIONAL && !l->declared) {
		l->p.recv_dsl = c->srv->cfg->lim.max_recv_dsl;
		text_append_u32(l->rsp, sizeof(l->rsp), &l->rsp_len,
				"MaxRecvDataSegmentLength", l->p.recv_dsl);
		l->declared = true;
	}

	if (!transit || (csg == LOGIN_STAGE_SECURITY && !l->auth_done)) {
		login_send(c, req, LS_SUCCESS, false, 0, 0);
		return 0;
	}
	if (nsg != LOGIN_STAGE_FULL_FEATURE) {
		if (nsg != LOGIN_STAGE_OPERATIONAL || csg != LOGIN_STAGE_SECURITY)
			return login_fail(c, req, LS_INVALID_REQUEST, "bad stage transition");
		login_send(c, req, LS_SUCCESS, true, nsg, 0);
		return 0;
	}
	/* Into full feature phase. */
	uint16_t tsih;
	unsigned st = sess_attach(c, l, &tsih, &why);
	if (st)
		return login_fail(c, req, st, why);
	login_send(c, req, LS_SUCCESS, true, nsg, tsih);
	return 1;
}
