/* SPDX-License-Identifier: MIT */
/*
 * The login state machine. Decisions are made when a complete response
 * has arrived (login_recv_pdu): the whole text of our next request is
 * built then into tx_buf, and login_next_pdu() only slices it into PDUs.
 */
#include "proto/login.h"

#include <errno.h>
#include <string.h>

#include "proto/pdu.h"
#include "proto/serial.h"
#include "proto/text.h"

enum login_phase {
	PH_SEC_AUTH,     /* AuthMethod offered */
	PH_SEC_CHAP_A,   /* CHAP_A offered */
	PH_SEC_CHAP_R,   /* our CHAP response (and challenge) sent */
	PH_SEC_DONE,     /* authentication settled, waiting for transit */
	PH_OP,           /* operational stage */
	PH_FULL,         /* full feature phase */
	PH_REDIRECT,
	PH_FAILED,
};

/* ---- status classes -------------------------------------------------- */

static const struct login_status_info {
	uint8_t cls, det;
	int err;
	bool retry;
	const char *msg;
} statuses[] = {
	{ 0, 0, 0, false, "success" },
	{ 1, 1, -EAGAIN, true, "target moved temporarily" },
	{ 1, 2, -EAGAIN, false, "target moved permanently" },
	{ 2, 0, -EPERM, false, "initiator error" },
	{ 2, 1, -EACCES, false, "authentication failed" },
	{ 2, 2, -EPERM, false, "authorization failure: access forbidden" },
	{ 2, 3, -ENOENT, false, "target not found" },
	{ 2, 4, -ENOENT, false, "target removed" },
	{ 2, 5, -EPROTONOSUPPORT, false, "unsupported iSCSI version" },
	{ 2, 6, -EUSERS, false, "too many connections" },
	{ 2, 7, -EINVAL, false, "missing parameter" },
	{ 2, 8, -EBUSY, false, "cannot include the connection in the session" },
	{ 2, 9, -EOPNOTSUPP, false, "session type not supported" },
	{ 2, 10, -ENOENT, false, "session does not exist" },
	{ 2, 11, -EINVAL, false, "invalid request during login" },
	{ 3, 0, -EIO, false, "target error" },
	{ 3, 1, -EAGAIN, true, "service unavailable, retry later" },
	{ 3, 2, -ENOBUFS, true, "target out of resources" },
};

static const struct login_status_info *status_info(uint8_t cls, uint8_t det)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i].cls == cls && statuses[i].det == det)
			return &statuses[i];
	return NULL;
}

const char *login_status_message(uint8_t status_class, uint8_t status_detail)
{
	const struct login_status_info *s = status_info(status_class, status_detail);
	if (s)
		return s->msg;
	switch (status_class) {
	case 1: return "redirection with an unknown detail";
	case 2: return "initiator error (unknown detail)";
	case 3: return "target error (unknown detail)";
	default: return "unknown login status class";
	}
}

int login_status_errno(uint8_t status_class, uint8_t status_detail)
{
	const struct login_status_info *s = status_info(status_class, status_detail);
	if (s)
		return s->err;
	return status_class == 3 ? -EIO : -EPROTO;
}

bool login_status_retryable(uint8_t status_class, uint8_t status_detail)
{
	const struct login_status_info *s = status_info(status_class, status_detail);
	return s && s->retry;
}

/* ---- helpers ----------------------------------------------------------- */

static int fail(struct login *l, int err, const char *why, int key)
{
	l->phase = PH_FAILED;
	l->tx_ready = false;
	l->awaiting = false;
	l->error = why;
	l->error_key = key;
	explicit_bzero(l->cfg.tx_buf, l->cfg.tx_cap);
	explicit_bzero(l->challenge, sizeof(l->challenge));
	return err;
}

static int fail_neg(struct login *l, int err, const char *why)
{
	return fail(l, err, why, l->neg.err_key);
}

static void warn(struct login *l, uint32_t bit, const char *what,
		 const char *detail)
{
	l->warnings |= bit;
	if (l->cfg.warn)
		l->cfg.warn(l->cfg.hook_arg, what, detail);
}

/* Reports the negotiation warnings that appeared since `before`. */
static void warn_neg(struct login *l, uint32_t before)
{
	static const struct { uint32_t bit; const char *what; } w[] = {
		{ NEG_WARN_UNANSWERED, "target left an offer unanswered; "
				       "assuming its default" },
		{ NEG_WARN_REFUSED, "target refused a key; keeping its default" },
		{ NEG_WARN_LO_ON_NONLEAD, "target negotiates a session key on "
					  "a non-leading connection" },
		{ NEG_WARN_FIRST_BURST, "target answered FirstBurstLength above "
					"MaxBurstLength; clamped" },
		{ NEG_WARN_UNKNOWN_KEY, "target sent a key we do not know; "
					"answered NotUnderstood" },
	};
	uint32_t fresh = l->neg.warnings & ~before;
	const char *key = l->neg.warn_key >= 0 ?
		neg_key_info((enum neg_key_id)l->neg.warn_key)->name : NULL;

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (fresh & w[i].bit)
			warn(l, w[i].bit, w[i].what, key);
}

static bool name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool secret_ok(const char *s, size_t len)
{
	return s && len >= CHAP_MIN_SECRET && len <= CHAP_MAX_SECRET;
}

static bool needs_chap(const struct login *l)
{
	return l->cfg.auth == LOGIN_AUTH_CHAP || l->cfg.auth == LOGIN_AUTH_MUTUAL;
}

/* Sets up the next request: the text is tx_buf[0..tx_len). */
static void plan(struct login *l, enum login_stage csg, bool transit,
		 enum login_stage nsg)
{
	l->csg = (uint8_t)csg;
	l->transit = transit;
	l->nsg = (uint8_t)nsg;
	l->tx_off = 0;
	l->tx_ready = true;
}

/* ---- init ---------------------------------------------------------------- */

/* CHAP_A offer, strongest first except SHA-256 last: tgt (1.0.85) takes
 * "7" for SHA-1 and then refuses a SHA-256 response with 0x0200. With 7
 * last, tgt picks MD5 from this list and a target that has only SHA-256
 * still finds it. */
static const uint8_t chap_default_offer[] = {
	CHAP_SHA3_256, CHAP_SHA1, CHAP_MD5, CHAP_SHA256,
};

static int check_config(const struct login_config *c, const char **why)
{
	if (!name_ok(c->initiator_name, 223)) {
		*why = "initiator name missing, too long or not printable";
		return -EINVAL;
	}
	if (c->target_name && !name_ok(c->target_name, 223)) {
		*why = "target name empty, too long or not printable";
		return -EINVAL;
	}
	if (c->initiator_alias && !name_ok(c->initiator_alias, 255)) {
		*why = "initiator alias empty, too long or not printable";
		return -EINVAL;
	}
	if (!c->rx_buf || c->rx_cap < LOGIN_MIN_RX || !c->tx_buf ||
	    c->tx_cap < LOGIN_MIN_TX) {
		*why = "login buffers missing or too small";
		return -EINVAL;
	}
	if (c->tsih && (!c->session || !c->target_name)) {
		*why = "a non-leading login needs its session (and is never "
		       "a discovery session)";
		return -EINVAL;
	}
	if ((unsigned)c->auth > LOGIN_AUTH_MUTUAL) {
		*why = "unknown authentication mode";
		return -EINVAL;
	}
	if (c->auth != LOGIN_AUTH_NONE &&
	    (!name_ok(c->chap_name, CHAP_MAX_NAME) ||
	     !secret_ok(c->chap_secret, c->chap_secret_len))) {
		*why = "CHAP needs a name and a secret of 1-256 bytes";
		return -EINVAL;
	}
	if (c->n_chap_algs > CHAP_NUM_ALGS) {
		*why = "more CHAP algorithms than there are";
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_chap_algs; i++) {
		if (chap_digest_len((enum chap_alg)c->chap_algs[i]) == 0) {
			*why = "unknown CHAP algorithm";
			return -EINVAL;
		}
	}
	if (c->auth == LOGIN_AUTH_MUTUAL) {
		if (!secret_ok(c->target_chap_secret, c->target_chap_secret_len) ||
		    (c->target_chap_name &&
		     !name_ok(c->target_chap_name, CHAP_MAX_NAME))) {
			*why = "mutual CHAP needs the target's secret";
			return -EINVAL;
		}
		/* RFC 7143 12.1.3: a secret must not serve both directions;
		 * it also defeats reflection of our challenge. */
		if (c->target_chap_secret_len == c->chap_secret_len &&
		    memcmp(c->target_chap_secret, c->chap_secret,
			   c->chap_secret_len) == 0) {
			*why = "mutual CHAP secrets must differ between directions";
			return -EINVAL;
		}
	}
	return 0;
}

int login_init(struct login *l, const struct login_config *cfg)
{
	struct neg_config nc;
	const char *why = NULL;
	int rc;

	memset(l, 0, sizeof(*l));
	l->error_key = -1;
	l->phase = PH_FAILED;
	rc = check_config(cfg, &why);
	if (rc) {
		l->error = why;
		return rc;
	}
	l->cfg = *cfg;

	memset(&nc, 0, sizeof(nc));
	if (cfg->wishes)
		nc.wishes = *cfg->wishes;
	else
		neg_wishes_default(&nc.wishes);
	nc.discovery = !cfg->target_name;
	nc.leading = cfg->tsih == 0;
	if (cfg->session)
		nc.session = *cfg->session;
	else
		neg_params_default(&nc.session);
	switch (cfg->auth) {
	case LOGIN_AUTH_NONE:
		nc.auth_offer[0] = NEG_AUTHM_NONE;
		nc.n_auth_offer = 1;
		break;
	case LOGIN_AUTH_OPTIONAL:
		/* None first: LIO answers CHAP to "CHAP,None" even when it
		 * requires nothing (prior-art.md, interop lessons). */
		nc.auth_offer[0] = NEG_AUTHM_NONE;
		nc.auth_offer[1] = NEG_AUTHM_CHAP;
		nc.n_auth_offer = 2;
		break;
	default:
		nc.auth_offer[0] = NEG_AUTHM_CHAP;
		nc.n_auth_offer = 1;
		break;
	}
	if (cfg->n_chap_algs) {
		memcpy(nc.chap_offer, cfg->chap_algs, cfg->n_chap_algs);
		nc.n_chap_offer = (uint8_t)cfg->n_chap_algs;
	} else {
		memcpy(nc.chap_offer, chap_default_offer, sizeof(chap_default_offer));
		nc.n_chap_offer = sizeof(chap_default_offer);
	}
	rc = neg_init(&l->neg, &nc, &why);
	if (rc) {
		l->error = why;
		return rc;
	}

	/* The first request: who we are, where we go, how we prove it. */
	char *tx = cfg->tx_buf;
	size_t cap = cfg->tx_cap, len = 0;
	rc = neg_declare(&l->neg, NEG_INITIATOR_NAME, cfg->initiator_name, tx, cap, &len);
	if (!rc && cfg->initiator_alias)
		rc = neg_declare(&l->neg, NEG_INITIATOR_ALIAS, cfg->initiator_alias,
				 tx, cap, &len);
	if (!rc && cfg->tsih == 0)
		rc = neg_declare(&l->neg, NEG_SESSION_TYPE,
				 cfg->target_name ? "Normal" : "Discovery", tx, cap, &len);
	if (!rc && cfg->target_name)
		rc = neg_declare(&l->neg, NEG_TARGET_NAME, cfg->target_name, tx, cap, &len);
	if (!rc)
		rc = neg_offer_key(&l->neg, NEG_AUTH_METHOD, tx, cap, &len);
	if (rc) {
		l->error = "first login request does not fit tx_buf";
		return -EINVAL;
	}
	l->tx_len = len;
	l->phase = PH_SEC_AUTH;
	l->exp_statsn = cfg->expstatsn;
	l->tsih = cfg->tsih;
	l->error = NULL;
	/* With None on offer the target may end the security stage at once;
	 * with CHAP required it must not. */
	plan(l, LOGIN_STAGE_SECURITY, !needs_chap(l), LOGIN_STAGE_OPERATIONAL);
	return 0;
}

/* ---- sending ------------------------------------------------------------- */

int login_next_pdu(struct login *l, void *bhs, void *data, size_t cap,
		   size_t *len)
{
	struct pdu_login_args a;
	size_t n = 0;
	bool cont = false;

	if (!l->tx_ready)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	if (!l->rx_cont) {
		size_t left = l->tx_len - l->tx_off;
		uint32_t seg = LOGIN_PDU_TEXT;
		if (l->neg.max_xmit_dsl < seg)
			seg = l->neg.max_xmit_dsl;
		n = left;
		if (n > seg)
			n = seg;
		if (n > cap)
			n = cap;
		if (left && n == 0)
			return -ENOSPC;
		if (n < left) {
			/* Split after a whole pair when one fits: a pair cut
			 * in two is legal but trips some targets. */
			const char *p = l->cfg.tx_buf + l->tx_off;
			for (size_t i = n; i > 0; i--) {
				if (p[i - 1] == '\0') {
					n = i;
					break;
				}
			}
			cont = true;
		}
		memcpy(data, l->cfg.tx_buf + l->tx_off, n);
		l->tx_off += n;
	}
	/* An acknowledgement of the target's Continue bit is empty and stays
	 * in the stage; so does a request whose text goes on. */
	bool transit = !l->rx_cont && !cont && l->transit;
	a.csg = (enum login_stage)l->csg;
	a.nsg = (enum login_stage)l->nsg;
	a.transit = transit;
	a.cont = cont;
	memcpy(a.isid, l->cfg.isid, sizeof(a.isid));
	a.tsih = l->cfg.tsih;
	a.cid = l->cfg.cid;
	a.itt = l->cfg.itt;
	a.cmdsn = l->cfg.cmdsn;
	a.expstatsn = l->exp_statsn;
	a.len = (uint32_t)n;
	pdu_build_login(bhs, &a);
	*len = n;

	l->sent_cont = cont;
	if (!l->rx_cont && !cont) {
		/* our text for this round is out: it may have held CHAP_R */
		l->req_transit = l->transit;
		explicit_bzero(l->cfg.tx_buf, l->tx_len);
		l->tx_len = l->tx_off = 0;
	}
	l->tx_ready = false;
	l->awaiting = true;
	return 0;
}

/* ---- CHAP ------------------------------------------------------------------ */

static bool chap_keys(const struct neg_auth *a)
{
	return a->chap_i.present || a->chap_c.present || a->chap_n.present ||
	       a->chap_r.present;
}

static int append_hex(struct login *l, const char *key, const uint8_t *b,
		      size_t n)
{
	static_assert(CHAP_CHALLENGE_LEN <= CHAP_MAX_DIGEST, "hex buffer");
	char hex[2 * CHAP_MAX_DIGEST + 3];
	int rc = chap_encode_hex(b, n, hex, sizeof(hex));
	if (!rc)
		rc = text_append(l->cfg.tx_buf, l->cfg.tx_cap, &l->tx_len, key, hex);
	explicit_bzero(hex, sizeof(hex));
	return rc;
}

/* The target's CHAP_A, CHAP_I, CHAP_C: answer with CHAP_N, CHAP_R and, for
 * mutual CHAP, our own CHAP_I and CHAP_C. */
static int chap_answer(struct login *l, const struct neg_auth *a)
{
	uint8_t challenge[CHAP_MAX_CHALLENGE], resp[CHAP_MAX_DIGEST];
	uint32_t id;
	int n, rc;

	if (neg_state(&l->neg, NEG_CHAP_A) != NEG_ST_DONE || !a->chap_i.present ||
	    !a->chap_c.present)
		return fail(l, -EPROTO, "target did not send CHAP_A, CHAP_I and "
			    "CHAP_C", NEG_CHAP_A);
	if (a->chap_n.present || a->chap_r.present)
		return fail(l, -EPROTO, "target sent CHAP_N or CHAP_R before "
			    "being challenged", NEG_CHAP_R);
	l->alg = (enum chap_alg)neg_value(&l->neg, NEG_CHAP_A);
	if (text_parse_u32(a->chap_i.v, a->chap_i.len, 255, &id))
		return fail(l, -EPROTO, "malformed CHAP_I", NEG_CHAP_I);
	n = chap_decode(a->chap_c.v, a->chap_c.len, challenge, sizeof(challenge));
	if (n <= 0)
		return fail(l, -EPROTO, n == -ENOSPC ? "CHAP_C longer than 1024 bytes"
			    : "malformed or empty CHAP_C", NEG_CHAP_C);
	/* RFC 7143 12.1.3: our own challenge coming back, from a login
	 * before a redirection, is a reflection: answering it would hand
	 * the target the response it owes us. */
	if (l->cfg.sent_challenge && (size_t)n == CHAP_CHALLENGE_LEN &&
	    memcmp(challenge, l->cfg.sent_challenge, CHAP_CHALLENGE_LEN) == 0) {
		explicit_bzero(challenge, sizeof(challenge));
		return fail(l, -EACCES, "target sent back a CHAP challenge of ours "
			    "(reflection)", NEG_CHAP_C);
	}

	rc = chap_response(l->alg, (uint8_t)id, l->cfg.chap_secret,
			   l->cfg.chap_secret_len, challenge, (size_t)n, resp);
	if (rc)
		return fail(l, rc == -EINVAL ? -EPROTO : rc,
			    "cannot compute the CHAP response", NEG_CHAP_C);
	rc = text_append(l->cfg.tx_buf, l->cfg.tx_cap, &l->tx_len, "CHAP_N",
			 l->cfg.chap_name);
	if (!rc)
		rc = append_hex(l, "CHAP_R", resp, chap_digest_len(l->alg));
	explicit_bzero(resp, sizeof(resp));

	if (!rc && l->cfg.auth == LOGIN_AUTH_MUTUAL) {
		int (*mk)(void *, uint8_t *, size_t, uint8_t *) = l->cfg.make_challenge;
		rc = mk ? mk(l->cfg.hook_arg, l->challenge, sizeof(l->challenge), &l->chap_id)
			: chap_make_challenge(l->challenge, sizeof(l->challenge), &l->chap_id);
		if (rc)
			return fail(l, -EIO, "cannot make a CHAP challenge", -1);
		/* RFC 7143 12.1.3: a challenge must not come back at its
		 * sender; an equal pair means a reflection. */
		if ((size_t)n == sizeof(l->challenge) &&
		    memcmp(challenge, l->challenge, (size_t)n) == 0)
			return fail(l, -EACCES, "target's CHAP challenge equals ours "
				    "(reflection)", NEG_CHAP_C);
		rc = text_append_u32(l->cfg.tx_buf, l->cfg.tx_cap, &l->tx_len,
				     "CHAP_I", l->chap_id);
		if (!rc)
			rc = append_hex(l, "CHAP_C", l->challenge, sizeof(l->challenge));
		l->challenge_sent = rc == 0;
	}
	if (rc)
		return fail(l, -ENOSPC, "CHAP answer does not fit tx_buf", -1);
	l->phase = PH_SEC_CHAP_R;
	plan(l, LOGIN_STAGE_SECURITY, true, LOGIN_STAGE_OPERATIONAL);
	return 0;
}

/* The target's answer to our challenge (mutual CHAP). */
static int chap_check_target(struct login *l, const struct neg_auth *a)
{
	uint8_t resp[CHAP_MAX_DIGEST + 1];
	int n, rc;

	if (a->chap_i.present || a->chap_c.present)
		return fail(l, -EPROTO, "target sent a second CHAP challenge",
			    NEG_CHAP_C);
	if (l->cfg.auth != LOGIN_AUTH_MUTUAL) {
		if (a->chap_n.present || a->chap_r.present)
			return fail(l, -EPROTO, "target sent CHAP_N or CHAP_R "
				    "without being challenged", NEG_CHAP_R);
		return 0;
	}
	if (!a->chap_n.present || !a->chap_r.present)
		return fail(l, -EACCES, "target skipped mutual CHAP "
			    "authentication", NEG_CHAP_R);
	if (l->cfg.target_chap_name &&
	    (a->chap_n.len != strlen(l->cfg.target_chap_name) ||
	     memcmp(a->chap_n.v, l->cfg.target_chap_name, a->chap_n.len) != 0))
		return fail(l, -EACCES, "target gave an unexpected CHAP name",
			    NEG_CHAP_N);
	n = chap_decode(a->chap_r.v, a->chap_r.len, resp, sizeof(resp));
	if (n < 0)
		return fail(l, -EPROTO, "malformed CHAP_R", NEG_CHAP_R);
	rc = chap_verify(l->alg, l->chap_id, l->cfg.target_chap_secret,
			 l->cfg.target_chap_secret_len, l->challenge,
			 sizeof(l->challenge), resp, (size_t)n);
	explicit_bzero(l->challenge, sizeof(l->challenge));
	if (rc)
		return fail(l, -EACCES, "target failed mutual CHAP "
			    "authentication", NEG_CHAP_R);
	return 0;
}

/* ---- receiving ------------------------------------------------------------- */

static int redirect(struct login *l, const struct bhs_login_rsp *r)
{
	struct text_iter it;
	struct text_pair p;
	const char *why = "redirect without a TargetAddress";
	int rc;

	text_iter_init(&it, l->cfg.rx_buf, l->rx_len);
	while ((rc = text_next(&it, &p, &why)) > 0) {
		if (!text_key_is(&p, "TargetAddress"))
			continue;
		if (disc_parse_address(p.value, p.value_len, &l->redirect, &why))
			return fail(l, -EPROTO, why, NEG_TARGET_ADDRESS);
		l->phase = PH_REDIRECT;
		l->error = login_status_message(r->lgnr_status_class,
						r->lgnr_status_detail);
		return 0;
	}
	return fail(l, -EPROTO, why, NEG_TARGET_ADDRESS);
}

static void track_statsn(struct login *l, const struct bhs_login_rsp *r)
{
	uint32_t statsn = pdu_get32(&r->lgnr_statsn);
	uint32_t exp = pdu_get32(&r->lgnr_expcmdsn);
	uint32_t max = pdu_get32(&r->lgnr_maxcmdsn);

	/* RFC 7143 11.13.4: the first response sets the connection's
	 * StatSN, each later one is one more. Some targets get it wrong
	 * during login: warn and follow them. */
	if (l->have_statsn && statsn != l->exp_statsn)
		warn(l, LOGIN_WARN_STATSN, "unexpected StatSN in login "
		     "response; resynchronized", NULL);
	l->have_statsn = true;
	l->statsn = statsn;
	l->exp_statsn = statsn + 1;
	if (sn_window_valid(exp, max)) {
		l->exp_cmdsn = exp;
		l->max_cmdsn = max;
	}
}

static int finish(struct login *l, const struct bhs_login_rsp *r)
{
	const char *why = NULL;
	uint32_t before = l->neg.warnings;
	uint16_t tsih = pdu_get16(&r->lgnr_tsih);

	if (neg_finish_stage(&l->neg, NEG_OP, &why))
		return fail_neg(l, -EPROTO, why);
	warn_neg(l, before);
	if (l->cfg.tsih == 0 && tsih == 0)
		return fail(l, -EPROTO, "target ended the login without a TSIH", -1);
	if (l->cfg.tsih != 0 && tsih != l->cfg.tsih)
		return fail(l, -EPROTO, "target changed the TSIH of a "
			    "non-leading login", -1);
	l->tsih = tsih;
	neg_result(&l->neg, &l->params);
	if (l->cfg.target_name && l->params.tpgt < 0)
		warn(l, LOGIN_WARN_NO_TPGT, "target did not declare its "
		     "TargetPortalGroupTag", NULL);
	l->phase = PH_FULL;
	explicit_bzero(l->challenge, sizeof(l->challenge));
	return 0;
}

/* A complete response text in the security stage. */
static int security(struct login *l, const struct neg_auth *a, bool t)
{
	switch (l->phase) {
	case PH_SEC_AUTH:
		if (chap_keys(a))
			return fail(l, -EPROTO, "target sent CHAP keys before "
				    "choosing CHAP", NEG_CHAP_C);
		if (neg_state(&l->neg, NEG_AUTH_METHOD) == NEG_ST_OFFERED) {
			if (!t)
				break;  /* no choice yet: ask again */
			/* unanswered at transit: None, if we offered it */
			const char *why = NULL;
			uint32_t before = l->neg.warnings;
			if (neg_finish_stage(&l->neg, NEG_SEC, &why))
				return fail_neg(l, -EPROTO, why);
			warn_neg(l, before);
		}
		if (neg_value(&l->neg, NEG_AUTH_METHOD) == NEG_AUTHM_CHAP) {
			if (t)
				return fail(l, -EPROTO, "target ended the security "
					    "stage without CHAP", NEG_AUTH_METHOD);
			if (neg_offer_key(&l->neg, NEG_CHAP_A, l->cfg.tx_buf,
					  l->cfg.tx_cap, &l->tx_len))
				return fail(l, -ENOSPC, "CHAP_A does not fit tx_buf", -1);
			l->phase = PH_SEC_CHAP_A;
			plan(l, LOGIN_STAGE_SECURITY, false, LOGIN_STAGE_OPERATIONAL);
			return 0;
		}
		if (needs_chap(l))
			return fail(l, -EACCES, "target skipped authentication",
				    NEG_AUTH_METHOD);
		l->phase = PH_SEC_DONE;
		break;
	case PH_SEC_CHAP_A:
		return chap_answer(l, a);
	case PH_SEC_CHAP_R: {
		int rc = chap_check_target(l, a);
		if (rc)
			return rc;
		l->phase = PH_SEC_DONE;
		break;
	}
	default:  /* PH_SEC_DONE */
		if (chap_keys(a))
			return fail(l, -EPROTO, "unexpected CHAP key after "
				    "authentication", NEG_CHAP_R);
		break;
	}
	plan(l, LOGIN_STAGE_SECURITY, l->phase == PH_SEC_DONE || !needs_chap(l),
	     LOGIN_STAGE_OPERATIONAL);
	return 0;
}

static int complete(struct login *l, const struct bhs_login_rsp *r,
		    enum login_event *event)
{
	struct neg_auth auth;
	const char *why = NULL;
	unsigned flags = r->lgnr_flags;
	bool t = flags & LOGIN_TRANSIT;
	enum login_stage nsg = (enum login_stage)(flags & LOGIN_NSG_MASK);
	enum neg_stage st = l->csg == LOGIN_STAGE_SECURITY ? NEG_SEC : NEG_OP;
	uint32_t before = l->neg.warnings;
	int rc;

	if (++l->rounds > LOGIN_MAX_ROUNDS)
		return fail(l, -EPROTO, "login did not finish within 32 rounds", -1);
	if (t && !l->req_transit)
		return fail(l, -EPROTO, "target set the Transit bit without "
			    "ours", -1);
	if (t && nsg > l->nsg)
		return fail(l, -EPROTO, "target moved to a later stage than "
			    "we asked", -1);

	/* Answers to the target's offers open our next request. */
	l->tx_len = 0;
	uint32_t offers = l->neg.target_offers;
	rc = neg_recv(&l->neg, st, l->cfg.rx_buf, l->rx_len, l->cfg.tx_buf,
		      l->cfg.tx_cap, &l->tx_len, &auth, &why);
	l->rx_len = 0;
	if (rc == -EPROTO && l->neg.err_key == NEG_AUTH_METHOD && needs_chap(l))
		return fail(l, -EACCES, "target refused CHAP authentication",
			    NEG_AUTH_METHOD);
	if (rc == -ENOSPC)
		return fail(l, rc, "answers to the target do not fit tx_buf", -1);
	if (rc)
		return fail_neg(l, rc, why);
	warn_neg(l, before);

	if (st == NEG_SEC) {
		rc = security(l, &auth, t);
		if (rc)
			return rc;
		if (t) {
			if (l->phase != PH_SEC_DONE)
				return fail(l, -EACCES, "target left the security "
					    "stage before authentication "
					    "completed", -1);
			before = l->neg.warnings;
			if (neg_finish_stage(&l->neg, NEG_SEC, &why))
				return fail_neg(l, -EPROTO, why);
			warn_neg(l, before);
			if (neg_offer(&l->neg, NEG_OP, l->cfg.tx_buf, l->cfg.tx_cap,
				      &l->tx_len))
				return fail(l, -ENOSPC, "operational offers do not "
					    "fit tx_buf", -1);
			l->phase = PH_OP;
			plan(l, LOGIN_STAGE_OPERATIONAL, true,
			     LOGIN_STAGE_FULL_FEATURE);
		}
		*event = LOGIN_EV_SEND;
		return 0;
	}

	/* operational stage */
	if (t) {
		/* Nobody waits for NotUnderstood answers; an offer of a key
		 * we know would be settled differently on either side. */
		if (l->neg.target_offers != offers)
			return fail(l, -EPROTO, "target offered keys in its final "
				    "login response", l->neg.offer_key);
		l->tx_len = 0;
		rc = finish(l, r);
		if (rc)
			return rc;
		*event = LOGIN_EV_DONE;
		return 0;
	}
	/* No transit yet (tgt does this once when it offers keys of its
	 * own): answer, and ask again. */
	plan(l, LOGIN_STAGE_OPERATIONAL, true, LOGIN_STAGE_FULL_FEATURE);
	*event = LOGIN_EV_SEND;
	return 0;
}

int login_recv_pdu(struct login *l, const void *bhs, const void *data,
		   size_t len, enum login_event *event)
{
	const struct bhs_login_rsp *r = bhs;
	const char *why = NULL;
	struct pdu_limits lim = { .max_recv_dsl = LOGIN_MAX_TEXT, .in_login = true };

	*event = LOGIN_EV_FAILED;
	if (!l->awaiting)
		return -EINVAL;
	l->awaiting = false;
	if (pdu_check_target_pdu(bhs, &lim, &why))
		return fail(l, -EPROTO, why, -1);
	if (pdu_opcode(bhs) != PDU_OP_LOGIN_RSP)
		return fail(l, -EPROTO, "expected a Login response", -1);
	if (pdu_dsl(bhs) != len)
		return fail(l, -EINVAL, "data length does not match the BHS", -1);
	if (pdu_get32(&r->lgnr_itt) != l->cfg.itt)
		return fail(l, -EPROTO, "Login response for another ITT", -1);
	/* A refusal may carry a zero ISID (tgt does): judge it by its
	 * status alone. */
	if (r->lgnr_status_class == 0 &&
	    memcmp(r->lgnr_isid, l->cfg.isid, sizeof(r->lgnr_isid)) != 0)
		return fail(l, -EPROTO, "Login response for another ISID", -1);
	if (++l->pdus > 4 * LOGIN_MAX_ROUNDS + LOGIN_MAX_TEXT / 512)
		return fail(l, -EPROTO, "too many login PDUs", -1);
	l->status_class = r->lgnr_status_class;
	l->status_detail = r->lgnr_status_detail;
	/* StatSN is valid only with status class 0 (RFC 7143 11.13.4):
	 * tgt sends 0 in its refusals. */
	if (l->status_class == 0)
		track_statsn(l, r);
	bool moved = l->status_class == 1 &&
		(l->status_detail == 1 || l->status_detail == 2);
	if (l->status_class != 0 && !moved) {
		fail(l, 0, login_status_message(l->status_class,
						l->status_detail), -1);
		return 0;
	}
	if (len > l->cfg.rx_cap - l->rx_len || len > LOGIN_MAX_TEXT - l->rx_len)
		return fail(l, -EPROTO, "target's login text exceeds our buffer", -1);
	if (len)
		memcpy(l->cfg.rx_buf + l->rx_len, data, len);
	l->rx_len += len;
	if (moved) {
		int rc = redirect(l, r);
		if (rc == 0)
			*event = LOGIN_EV_REDIRECT;
		return rc;
	}

	unsigned flags = r->lgnr_flags;
	if (((flags & LOGIN_CSG_MASK) >> LOGIN_CSG_SHIFT) != l->csg)
		return fail(l, -EPROTO, "target answered in another login stage", -1);
	if (l->sent_cont) {
		/* our text goes on: the target acknowledges, nothing more */
		if (len || (flags & (LOGIN_TRANSIT | LOGIN_CONTINUE)))
			return fail(l, -EPROTO, "target answered a partial login "
				    "request with more than an acknowledgement", -1);
		l->tx_ready = true;
		*event = LOGIN_EV_SEND;
		return 0;
	}
	l->rx_cont = flags & LOGIN_CONTINUE;
	if (l->rx_cont) {
		if (len == 0)
			return fail(l, -EPROTO, "empty login response with the "
				    "Continue bit", -1);
		l->tx_ready = true;
		*event = LOGIN_EV_SEND;
		return 0;
	}
	return complete(l, r, event);
}

/* ---- results ------------------------------------------------------------------ */

const struct iscsi_params *login_params(const struct login *l)
{
	return l->phase == PH_FULL ? &l->params : NULL;
}

uint16_t login_tsih(const struct login *l)
{
	return l->tsih;
}

void login_seq(const struct login *l, struct login_seq *s)
{
	s->statsn = l->statsn;
	s->exp_statsn = l->exp_statsn;
	s->cmdsn = l->cfg.cmdsn;
	s->exp_cmdsn = l->exp_cmdsn;
	s->max_cmdsn = l->max_cmdsn;
}

void login_status(const struct login *l, uint8_t *status_class,
		  uint8_t *status_detail)
{
	*status_class = l->status_class;
	*status_detail = l->status_detail;
}

const char *login_error(const struct login *l)
{
	return l->phase == PH_FAILED ? l->error : NULL;
}

const char *login_error_key(const struct login *l)
{
	return l->phase == PH_FAILED && l->error_key >= 0 ?
		neg_key_info((enum neg_key_id)l->error_key)->name : NULL;
}

uint32_t login_warnings(const struct login *l)
{
	return l->warnings;
}

bool login_sent_challenge(const struct login *l, uint8_t *out)
{
	if (l->phase != PH_REDIRECT || !l->challenge_sent)
		return false;
	memcpy(out, l->challenge, CHAP_CHALLENGE_LEN);
	return true;
}

const struct disc_address *login_redirect(const struct login *l,
					  bool *permanent)
{
	if (l->phase != PH_REDIRECT)
		return NULL;
	if (permanent)
		*permanent = l->status_detail == 2;
	return &l->redirect;
}
