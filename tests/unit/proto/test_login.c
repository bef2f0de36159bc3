/* SPDX-License-Identifier: MIT */
/*
 * The login machine fed whole scripted target responses: no auth, CHAP
 * one-way and mutual (expected responses computed here with libcrypto,
 * independently of chap.c), the Continue bit both ways, every status
 * class, redirects, tgt's quirks, non-leading and discovery logins.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "proto/login.h"
#include "proto/pdu.h"
#include "proto/text.h"

#define T(s) s, sizeof(s) - 1
#define INAME "iqn.2024-01.org.mcsi:host"
#define TNAME "iqn.2024-01.org.test:disk"
#define ITT 0x1000u
#define CMDSN 0x500u
#define TSIH 0xab12u

struct t {
	struct login l;
	struct login_config cfg;
	struct iscsi_params session;
	char rx[LOGIN_MAX_TEXT], tx[16384];
	uint32_t bhs[12];         /* our last request */
	char data[LOGIN_PDU_TEXT];
	size_t len;
	uint32_t rbhs[12];        /* the target's response */
	uint32_t statsn;
	enum login_event ev;
	unsigned warns;
	const uint8_t *our_challenge;  /* for the make_challenge hook */
};

static const uint8_t isid[6] = { 0x80, 0x12, 0x34, 0x56, 0x00, 0x01 };

static void count_warn(void *arg, const char *what, const char *detail)
{
	struct t *t = arg;
	(void)detail;
	assert_non_null(what);
	t->warns++;
}

static int fixed_challenge(void *arg, uint8_t *c, size_t len, uint8_t *id)
{
	struct t *t = arg;
	memcpy(c, t->our_challenge, len);
	*id = 0x42;
	return 0;
}

static struct t *setup(enum login_auth auth, const char *target)
{
	static struct t t;
	memset(&t, 0, sizeof(t));
	t.cfg.initiator_name = INAME;
	t.cfg.target_name = target;
	memcpy(t.cfg.isid, isid, 6);
	t.cfg.cid = 1;
	t.cfg.itt = ITT;
	t.cfg.cmdsn = CMDSN;
	t.cfg.expstatsn = 0;
	t.cfg.auth = auth;
	t.cfg.chap_name = "alice";
	t.cfg.chap_secret = "initiator-secret";
	t.cfg.chap_secret_len = strlen("initiator-secret");
	t.cfg.target_chap_secret = "target-secret-99";
	t.cfg.target_chap_secret_len = strlen("target-secret-99");
	t.cfg.rx_buf = t.rx;
	t.cfg.rx_cap = sizeof(t.rx);
	t.cfg.tx_buf = t.tx;
	t.cfg.tx_cap = sizeof(t.tx);
	t.cfg.warn = count_warn;
	t.cfg.make_challenge = fixed_challenge;
	t.cfg.hook_arg = &t;
	t.statsn = 0x7000;
	return &t;
}

static void start(struct t *t)
{
	assert_int_equal(login_init(&t->l, &t->cfg), 0);
}

static void next(struct t *t);

/* A normal login with its first request taken. */
static struct t *begin(enum login_auth auth)
{
	struct t *t = setup(auth, TNAME);
	start(t);
	next(t);
	return t;
}

/* Takes the next request; checks what every login request shares. */
static void next(struct t *t)
{
	assert_int_equal(login_next_pdu(&t->l, t->bhs, t->data, sizeof(t->data), &t->len), 0);
	const struct bhs_login_req *q = (const void *)t->bhs;
	assert_int_equal(q->lgn_opcode, 0x43);        /* immediate Login */
	assert_int_equal(q->lgn_version_max, 0);
	assert_int_equal(q->lgn_version_min, 0);
	assert_memory_equal(q->lgn_isid, isid, 6);
	assert_int_equal(pdu_get32(&q->lgn_itt), ITT);   /* same ITT always */
	assert_int_equal(pdu_get16(&q->lgn_cid), 1);
	assert_int_equal(pdu_get32(&q->lgn_cmdsn), CMDSN);
	assert_int_equal(pdu_dsl(t->bhs), t->len);
}

static uint8_t req_flags(const struct t *t)
{
	return ((const struct bhs_login_req *)t->bhs)->lgn_flags;
}

static void expect_text(const struct t *t, const char *want, size_t len)
{
	if (t->len != len || memcmp(t->data, want, len) != 0) {
		char got[1024], exp[1024];
		text_escape(got, sizeof(got), t->data, t->len);
		text_escape(exp, sizeof(exp), want, len);
		fail_msg("request text\n got %s\nwant %s", got, exp);
	}
}

struct rsp {
	unsigned csg, nsg;
	bool transit, cont;
	uint8_t cls, det;
	uint16_t tsih;
	const char *text;
	size_t len;
};

static int feed(struct t *t, const struct rsp *r)
{
	struct pdu_login_rsp_args a;
	memset(&a, 0, sizeof(a));
	memcpy(a.isid, isid, 6);
	a.tsih = r->tsih;
	a.itt = ITT;
	a.len = (uint32_t)r->len;
	a.csg = (enum login_stage)r->csg;
	a.nsg = (enum login_stage)r->nsg;
	a.transit = r->transit;
	a.cont = r->cont;
	a.status_class = r->cls;
	a.status_detail = r->det;
	pdu_build_login_rsp(t->rbhs, &a);
	pdu_stamp_statsn(t->rbhs, t->statsn++, CMDSN, CMDSN + 31);
	return login_recv_pdu(&t->l, t->rbhs, r->text, r->len, &t->ev);
}

/* A plain response in a stage; final=true: T with the next stage. */
static int reply(struct t *t, unsigned csg, bool transit, const char *text, size_t len)
{
	struct rsp r = { .csg = csg, .nsg = csg == 0 ? 1 : 3, .transit = transit,
			 .text = text, .len = len };
	if (transit && csg == 1)
		r.tsih = TSIH;
	return feed(t, &r);
}

static void expect_fail(struct t *t, int rc, int want_rc, const char *why)
{
	assert_int_equal(rc, want_rc);
	assert_int_equal(t->ev, LOGIN_EV_FAILED);
	assert_string_equal(login_error(&t->l) ? login_error(&t->l) : "(null)", why);
	assert_null(login_params(&t->l));
	size_t len;
	assert_int_equal(login_next_pdu(&t->l, t->bhs, t->data, sizeof(t->data), &len), -EINVAL);
}

static const char op_offer[] =
	"HeaderDigest=None,CRC32C\0DataDigest=None,CRC32C\0"
	"ErrorRecoveryLevel=2\0InitialR2T=No\0ImmediateData=Yes\0"
	"MaxBurstLength=16776192\0FirstBurstLength=262144\0"
	"MaxConnections=1\0DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0"
	"MaxOutstandingR2T=16\0DefaultTime2Wait=2\0DefaultTime2Retain=20\0"
	"MaxRecvDataSegmentLength=262144\0";

static const char op_answer[] =
	"HeaderDigest=None\0DataDigest=None\0ErrorRecoveryLevel=0\0"
	"InitialR2T=Yes\0ImmediateData=Yes\0MaxBurstLength=262144\0"
	"FirstBurstLength=65536\0MaxConnections=1\0DataPDUInOrder=Yes\0"
	"DataSequenceInOrder=Yes\0MaxOutstandingR2T=1\0DefaultTime2Wait=2\0"
	"DefaultTime2Retain=20\0";

/* Starts a login and gets through a security stage without CHAP: the
 * operational request is next. */
static void to_op(struct t *t)
{
	start(t);
	next(t);
	assert_int_equal(reply(t, 0, true, T("AuthMethod=None\0")), 0);
	assert_int_equal(t->ev, LOGIN_EV_SEND);
}

/* Starts a login up to the target's choice of CHAP: CHAP_A is next. */
static void to_chap(struct t *t)
{
	start(t);
	next(t);
	assert_int_equal(reply(t, 0, false, T("AuthMethod=CHAP\0")), 0);
	next(t);
}

/* A login without CHAP whose operational request has been taken. */
static struct t *at_op(void)
{
	struct t *t = setup(LOGIN_AUTH_NONE, TNAME);
	to_op(t);
	next(t);
	return t;
}

/* Runs the operational stage to the end with op_answer. */
static void finish_op(struct t *t)
{
	next(t);
	assert_int_equal(req_flags(t), 0x87);   /* T, CSG 1, NSG 3 */
	expect_text(t, T(op_offer));
	assert_int_equal(reply(t, 1, true, T(op_answer)), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
}

/* ---- no authentication --------------------------------------------------- */

static void test_no_auth(void **state)
{
	(void)state;
	struct t *t = setup(LOGIN_AUTH_NONE, TNAME);
	t->cfg.initiator_alias = "host one";
	t->cfg.expstatsn = 0x99;
	start(t);

	next(t);
	/* golden BHS of the first request */
	static const uint8_t bhs0[48] = {
		0x43, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x88,
		0x80, 0x12, 0x34, 0x56, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x99,
	};
	assert_memory_equal(t->bhs, bhs0, 48);
	expect_text(t, T("InitiatorName=" INAME "\0InitiatorAlias=host one\0"
			 "SessionType=Normal\0TargetName=" TNAME "\0AuthMethod=None\0"));
	/* not our turn */
	size_t len;
	assert_int_equal(login_next_pdu(&t->l, t->bhs, t->data, sizeof(t->data), &len), -EINVAL);

	assert_int_equal(reply(t, 0, true, T("AuthMethod=None\0TargetPortalGroupTag=1\0"
					     "TargetAlias=test disk\0")), 0);
	assert_int_equal(t->ev, LOGIN_EV_SEND);
	next(t);
	assert_int_equal(pdu_get32(&((struct bhs_login_req *)t->bhs)->lgn_expstatsn), 0x7001);
	assert_int_equal(req_flags(t), 0x87);
	expect_text(t, T(op_offer));
	assert_int_equal(reply(t, 1, true, T(op_answer)), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);

	const struct iscsi_params *p = login_params(&t->l);
	assert_non_null(p);
	assert_int_equal(p->error_recovery_level, 0);
	assert_true(p->initial_r2t);
	assert_int_equal(p->max_burst_length, 262144);
	assert_int_equal(p->max_outstanding_r2t, 1);
	assert_int_equal(p->max_recv_dsl, 262144);
	assert_int_equal(p->max_xmit_dsl, 8192);   /* never declared */
	assert_int_equal(p->tpgt, 1);
	assert_int_equal(login_tsih(&t->l), TSIH);
	struct login_seq s;
	login_seq(&t->l, &s);
	assert_int_equal(s.statsn, 0x7001);
	assert_int_equal(s.exp_statsn, 0x7002);
	assert_int_equal(s.cmdsn, CMDSN);
	assert_int_equal(s.exp_cmdsn, CMDSN);
	assert_int_equal(s.max_cmdsn, CMDSN + 31);
	assert_null(login_error(&t->l));
	assert_int_equal(login_warnings(&t->l), 0);
	assert_int_equal(t->warns, 0);
	/* done: nothing more is due */
	assert_int_equal(login_recv_pdu(&t->l, t->rbhs, NULL, 0, &t->ev), -EINVAL);
	assert_non_null(login_params(&t->l));
}

static void test_security_without_transit(void **state)
{
	(void)state;
	/* the target answers None but stays; later it answers nothing at
	 * all and transits: None stands because we offered it */
	struct t *t = begin(LOGIN_AUTH_NONE);
	assert_int_equal(reply(t, 0, false, T("TargetPortalGroupTag=1\0")), 0);
	next(t);
	assert_int_equal(req_flags(t), 0x81);
	assert_int_equal(t->len, 0);
	assert_int_equal(reply(t, 0, true, "", 0), 0);
	assert_true(login_warnings(&t->l) & NEG_WARN_UNANSWERED);
	finish_op(t);
}

/* ---- tgt quirks --------------------------------------------------------- */

static void test_tgt_quirks(void **state)
{
	(void)state;
	struct t *t = begin(LOGIN_AUTH_NONE);
	assert_int_equal(reply(t, 0, true, T("AuthMethod=None\0TargetPortalGroupTag=1\0")), 0);
	next(t);
	/* tgt: digest chosen on its own among those offered, no
	 * MaxRecvDataSegmentLength, and one operational response without T
	 * that offers a key of its own */
	assert_int_equal(reply(t, 1, false, T(
		"HeaderDigest=CRC32C\0DataDigest=CRC32C\0ErrorRecoveryLevel=0\0"
		"InitialR2T=No\0ImmediateData=Yes\0MaxBurstLength=262144\0"
		"FirstBurstLength=65536\0MaxConnections=1\0DataPDUInOrder=Yes\0"
		"DataSequenceInOrder=Yes\0MaxOutstandingR2T=1\0DefaultTime2Wait=2\0"
		"DefaultTime2Retain=20\0IFMarker=Yes\0X-tgt.debug=1\0")), 0);
	assert_int_equal(t->ev, LOGIN_EV_SEND);
	next(t);
	assert_int_equal(req_flags(t), 0x87);
	expect_text(t, T("IFMarker=No\0X-tgt.debug=NotUnderstood\0"));
	assert_int_equal(reply(t, 1, true, "", 0), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
	const struct iscsi_params *p = login_params(&t->l);
	assert_true(p->header_digest);
	assert_true(p->data_digest);
	assert_false(p->initial_r2t);
	assert_int_equal(p->max_xmit_dsl, 8192);
	assert_true(login_warnings(&t->l) & NEG_WARN_UNKNOWN_KEY);
	assert_true(t->warns > 0);
}

static void test_digest_not_offered(void **state)
{
	(void)state;
	struct iscsi_wishes w;
	neg_wishes_default(&w);
	w.header_digest = ISCSI_DIGEST_NONE;
	struct t *t = setup(LOGIN_AUTH_NONE, TNAME);
	t->cfg.wishes = &w;
	to_op(t);
	next(t);
	expect_fail(t, reply(t, 1, true, T("HeaderDigest=CRC32C\0")), -EPROTO,
		    "target chose a value that was not offered");
	assert_string_equal(login_error_key(&t->l), "HeaderDigest");
}

/* ---- CHAP ------------------------------------------------------------------- */

static void digest(const EVP_MD *md, uint8_t id, const char *secret,
		   const uint8_t *c, size_t clen, uint8_t *out, unsigned *n)
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	assert_non_null(x);
	assert_int_equal(EVP_DigestInit_ex(x, md, NULL), 1);
	EVP_DigestUpdate(x, &id, 1);
	EVP_DigestUpdate(x, secret, strlen(secret));
	EVP_DigestUpdate(x, c, clen);
	assert_int_equal(EVP_DigestFinal_ex(x, out, n), 1);
	EVP_MD_CTX_free(x);
}

static size_t hex(const uint8_t *b, size_t n, char *out)
{
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 + 2 * i, "%02x", b[i]);
	return 2 + 2 * n;
}

static const uint8_t tgt_challenge[16] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

/* Up to the point where our CHAP_R has been taken with next(). */
static void chap_until_response(struct t *t, const char *alg, const EVP_MD *md)
{
	start(t);
	next(t);
	assert_int_equal(req_flags(t), t->cfg.auth == LOGIN_AUTH_OPTIONAL ? 0x81 : 0x00);
	assert_int_equal(reply(t, 0, false, T("AuthMethod=CHAP\0TargetPortalGroupTag=1\0")), 0);
	next(t);
	assert_int_equal(req_flags(t), 0x00);
	/* SHA-256 last: tgt reads 7 as SHA-1 */
	expect_text(t, t->cfg.n_chap_algs ? "CHAP_A=7,5" : "CHAP_A=8,6,5,7",
		    t->cfg.n_chap_algs ? 11 : 15);

	char text[256];
	int n = snprintf(text, sizeof(text), "CHAP_A=%s", alg) + 1;
	n += snprintf(text + n, sizeof(text) - (size_t)n, "CHAP_I=7") + 1;
	n += snprintf(text + n, sizeof(text) - (size_t)n, "CHAP_C=") ;
	n += (int)hex(tgt_challenge, sizeof(tgt_challenge), text + n) + 1;
	assert_int_equal(reply(t, 0, false, text, (size_t)n), 0);
	next(t);
	assert_int_equal(req_flags(t), 0x81);

	uint8_t r[64];
	unsigned rl;
	digest(md, 7, "initiator-secret", tgt_challenge, sizeof(tgt_challenge), r, &rl);
	char want[512];
	size_t w = (size_t)sprintf(want, "CHAP_N=alice") + 1;
	w += (size_t)sprintf(want + w, "CHAP_R=");
	w += hex(r, rl, want + w) + 1;
	if (t->cfg.auth == LOGIN_AUTH_MUTUAL) {
		w += (size_t)sprintf(want + w, "CHAP_I=66") + 1;
		w += (size_t)sprintf(want + w, "CHAP_C=");
		w += hex(t->our_challenge, CHAP_CHALLENGE_LEN, want + w) + 1;
	}
	expect_text(t, want, w);
}

static void test_chap_one_way(void **state)
{
	(void)state;
	struct t *t = setup(LOGIN_AUTH_CHAP, TNAME);
	chap_until_response(t, "5", EVP_md5());
	assert_int_equal(reply(t, 0, true, "", 0), 0);
	finish_op(t);

	/* SHA-256 (our own CHAP_A list), and a target that wants CHAP when
	 * we also offer None */
	static const uint8_t algs[] = { CHAP_SHA256, CHAP_MD5 };
	t = setup(LOGIN_AUTH_OPTIONAL, TNAME);
	t->cfg.chap_algs = algs;
	t->cfg.n_chap_algs = 2;
	chap_until_response(t, "7", EVP_sha256());
	assert_int_equal(reply(t, 0, true, "", 0), 0);
	finish_op(t);

	/* optional CHAP, the target takes None */
	t = begin(LOGIN_AUTH_OPTIONAL);
	expect_text(t, T("InitiatorName=" INAME "\0SessionType=Normal\0TargetName=" TNAME
			 "\0AuthMethod=None,CHAP\0"));
	assert_int_equal(reply(t, 0, true, T("AuthMethod=None\0")), 0);
	finish_op(t);
}

static void test_chap_refusals(void **state)
{
	(void)state;
	struct t *t;

	/* the target fails us */
	t = setup(LOGIN_AUTH_CHAP, TNAME);
	chap_until_response(t, "5", EVP_md5());
	struct rsp r = { .cls = 2, .det = 1 };
	assert_int_equal(feed(t, &r), 0);
	assert_int_equal(t->ev, LOGIN_EV_FAILED);
	assert_string_equal(login_error(&t->l), "authentication failed");

	/* CHAP chosen but the target leaves the stage at once */
	t = begin(LOGIN_AUTH_OPTIONAL);
	expect_fail(t, reply(t, 0, true, T("AuthMethod=CHAP\0")), -EPROTO,
		    "target ended the security stage without CHAP");

	/* CHAP required, the target answers None */
	t = begin(LOGIN_AUTH_CHAP);
	expect_text(t, T("InitiatorName=" INAME "\0SessionType=Normal\0TargetName=" TNAME
			 "\0AuthMethod=CHAP\0"));
	expect_fail(t, reply(t, 0, false, T("AuthMethod=None\0")), -EACCES,
		    "target refused CHAP authentication");

	/* no challenge */
	t = setup(LOGIN_AUTH_CHAP, TNAME);
	to_chap(t);
	expect_fail(t, reply(t, 0, false, T("CHAP_A=5\0CHAP_I=1\0")), -EPROTO,
		    "target did not send CHAP_A, CHAP_I and CHAP_C");
	/* an algorithm we did not offer */
	t = setup(LOGIN_AUTH_CHAP, TNAME);
	to_chap(t);
	expect_fail(t, reply(t, 0, false, T("CHAP_A=4\0CHAP_I=1\0CHAP_C=0x01\0")), -EPROTO,
		    "target chose a value that was not offered");
	/* a bad identifier, a bad challenge */
	t = setup(LOGIN_AUTH_CHAP, TNAME);
	to_chap(t);
	expect_fail(t, reply(t, 0, false, T("CHAP_A=5\0CHAP_I=256\0CHAP_C=0x01\0")), -EPROTO,
		    "malformed CHAP_I");
	t = setup(LOGIN_AUTH_CHAP, TNAME);
	to_chap(t);
	expect_fail(t, reply(t, 0, false, T("CHAP_A=5\0CHAP_I=1\0CHAP_C=0xZZ\0")), -EPROTO,
		    "malformed or empty CHAP_C");
	/* one-way: the target answers a challenge we never sent */
	t = setup(LOGIN_AUTH_CHAP, TNAME);
	chap_until_response(t, "5", EVP_md5());
	expect_fail(t, reply(t, 0, true, T("CHAP_N=t\0CHAP_R=0x00\0")), -EPROTO,
		    "target sent CHAP_N or CHAP_R without being challenged");
}

static const uint8_t our_challenge[CHAP_CHALLENGE_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
	0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
	0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
};

static struct t *mutual(void)
{
	struct t *t = setup(LOGIN_AUTH_MUTUAL, TNAME);
	t->cfg.target_chap_name = "disk-target";
	t->our_challenge = our_challenge;
	chap_until_response(t, "5", EVP_md5());
	return t;
}

/* The target's proof: CHAP_N and CHAP_R for our challenge. */
static size_t target_proof(const char *name, const char *secret, uint8_t id,
			   char *text)
{
	uint8_t r[64];
	unsigned rl;
	digest(EVP_md5(), id, secret, our_challenge, sizeof(our_challenge), r, &rl);
	size_t n = (size_t)sprintf(text, "CHAP_N=%s", name) + 1;
	n += (size_t)sprintf(text + n, "CHAP_R=");
	return n + hex(r, rl, text + n) + 1;
}

static void test_chap_mutual(void **state)
{
	(void)state;
	char text[256];
	size_t n;
	struct t *t;

	t = mutual();
	n = target_proof("disk-target", "target-secret-99", 0x42, text);
	assert_int_equal(reply(t, 0, true, text, n), 0);
	assert_int_equal(t->ev, LOGIN_EV_SEND);
	finish_op(t);

	/* a wrong response, a wrong identifier, a wrong name */
	t = mutual();
	n = target_proof("disk-target", "initiator-secret", 0x42, text);
	expect_fail(t, reply(t, 0, true, text, n), -EACCES,
		    "target failed mutual CHAP authentication");
	t = mutual();
	n = target_proof("disk-target", "target-secret-99", 0x43, text);
	expect_fail(t, reply(t, 0, true, text, n), -EACCES,
		    "target failed mutual CHAP authentication");
	t = mutual();
	n = target_proof("other", "target-secret-99", 0x42, text);
	expect_fail(t, reply(t, 0, true, text, n), -EACCES,
		    "target gave an unexpected CHAP name");
	/* the target skips its part */
	t = mutual();
	expect_fail(t, reply(t, 0, true, "", 0), -EACCES,
		    "target skipped mutual CHAP authentication");
	t = mutual();
	expect_fail(t, reply(t, 0, false, T("CHAP_N=disk-target\0")), -EACCES,
		    "target skipped mutual CHAP authentication");
	/* a malformed response */
	t = mutual();
	expect_fail(t, reply(t, 0, true, T("CHAP_N=disk-target\0CHAP_R=0x123\0")), -EACCES,
		    "target failed mutual CHAP authentication");

	/* the target skips to None after we asked for mutual CHAP */
	t = setup(LOGIN_AUTH_MUTUAL, TNAME);
	t->our_challenge = our_challenge;
	start(t);
	next(t);
	expect_fail(t, reply(t, 0, false, T("AuthMethod=None\0")), -EACCES,
		    "target refused CHAP authentication");

	/* the target's challenge is ours: a reflection */
	t = setup(LOGIN_AUTH_MUTUAL, TNAME);
	t->our_challenge = our_challenge;
	to_chap(t);
	char refl[256];
	n = (size_t)sprintf(refl, "CHAP_A=5") + 1;
	n += (size_t)sprintf(refl + n, "CHAP_I=9") + 1;
	n += (size_t)sprintf(refl + n, "CHAP_C=");
	n += hex(our_challenge, sizeof(our_challenge), refl + n) + 1;
	expect_fail(t, reply(t, 0, false, refl, n), -EACCES,
		    "target's CHAP challenge equals ours (reflection)");
}

/* A target that redirects after our mutual challenge went out, then (as the
 * next portal) offers that challenge back as its own: the login that
 * follows the redirection must refuse to answer it. */
static void test_chap_reflection_across_redirect(void **state)
{
	(void)state;
	uint8_t sent[CHAP_CHALLENGE_LEN];
	static const char addr[] = "TargetAddress=192.0.2.7:3260,1";

	struct t *t = mutual();
	struct rsp r = { .cls = 1, .det = 1, .text = addr, .len = sizeof(addr) };
	assert_int_equal(feed(t, &r), 0);
	assert_int_equal(t->ev, LOGIN_EV_REDIRECT);
	assert_true(login_sent_challenge(&t->l, sent));
	assert_memory_equal(sent, our_challenge, sizeof(sent));

	t = setup(LOGIN_AUTH_MUTUAL, TNAME);
	t->cfg.sent_challenge = sent;
	to_chap(t);
	char refl[256];
	size_t n = (size_t)sprintf(refl, "CHAP_A=5") + 1;
	n += (size_t)sprintf(refl + n, "CHAP_I=7") + 1;
	n += (size_t)sprintf(refl + n, "CHAP_C=");
	n += hex(our_challenge, sizeof(our_challenge), refl + n) + 1;
	expect_fail(t, reply(t, 0, false, refl, n), -EACCES,
		    "target sent back a CHAP challenge of ours (reflection)");
	assert_string_equal(login_error_key(&t->l), "CHAP_C");

	/* A one-way login sends no challenge: nothing to remember. */
	t = begin(LOGIN_AUTH_NONE);
	assert_int_equal(feed(t, &r), 0);
	assert_int_equal(t->ev, LOGIN_EV_REDIRECT);
	assert_false(login_sent_challenge(&t->l, sent));
}

/* ---- Continue bit ------------------------------------------------------------- */

static void test_continue_outgoing(void **state)
{
	(void)state;
	struct t *t = begin(LOGIN_AUTH_NONE);
	/* the target declares a small MaxRecvDataSegmentLength and sends
	 * unknown keys whose NotUnderstood answers make our text long */
	char text[2048], want[4096];
	size_t n = (size_t)sprintf(text, "AuthMethod=None") + 1;
	n += (size_t)sprintf(text + n, "MaxRecvDataSegmentLength=512") + 1;
	size_t w = 0;
	for (int i = 0; i < 16; i++) {
		n += (size_t)sprintf(text + n, "X-com.example.long-vendor-key-number-%02d=1", i) + 1;
		w += (size_t)sprintf(want + w, "X-com.example.long-vendor-key-number-%02d=NotUnderstood", i) + 1;
	}
	memcpy(want + w, op_offer, sizeof(op_offer) - 1);
	w += sizeof(op_offer) - 1;
	assert_int_equal(reply(t, 0, true, text, n), 0);

	char got[4096];
	size_t g = 0;
	int pdus = 0;
	for (;;) {
		next(t);
		pdus++;
		assert_true(t->len <= 512);
		memcpy(got + g, t->data, t->len);
		g += t->len;
		if (!(req_flags(t) & LOGIN_CONTINUE))
			break;
		assert_int_equal(req_flags(t), 0x44);   /* C, CSG 1, no T */
		assert_int_equal(t->data[t->len - 1], '\0');  /* whole pairs */
		assert_int_equal(reply(t, 1, false, "", 0), 0);
		assert_int_equal(t->ev, LOGIN_EV_SEND);
	}
	assert_int_equal(req_flags(t), 0x87);
	assert_int_equal(pdus, 3);
	assert_int_equal(g, w);
	assert_memory_equal(got, want, w);
	assert_int_equal(reply(t, 1, true, T(op_answer)), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
	assert_int_equal(login_params(&t->l)->max_xmit_dsl, 512);

	/* a small cap splits inside a pair; the target must only ack */
	t = setup(LOGIN_AUTH_NONE, TNAME);
	start(t);
	assert_int_equal(login_next_pdu(&t->l, t->bhs, t->data, 10, &t->len), 0);
	assert_int_equal(t->len, 10);
	assert_memory_equal(t->data, "InitiatorN", 10);
	assert_int_equal(req_flags(t), 0x40);
	expect_fail(t, reply(t, 0, false, T("AuthMethod=None\0")), -EPROTO,
		    "target answered a partial login request with more than an acknowledgement");
	t = setup(LOGIN_AUTH_NONE, TNAME);
	start(t);
	assert_int_equal(login_next_pdu(&t->l, t->bhs, t->data, 0, &t->len), -ENOSPC);
}

static void test_continue_incoming(void **state)
{
	(void)state;
	struct t *t = at_op();
	/* op_answer in three pieces, split inside pairs */
	size_t len = sizeof(op_answer) - 1, a = 40, b = 170;
	struct rsp r = { .csg = 1, .cont = true, .text = op_answer, .len = a };
	assert_int_equal(feed(t, &r), 0);
	assert_int_equal(t->ev, LOGIN_EV_SEND);
	next(t);
	assert_int_equal(t->len, 0);
	assert_int_equal(req_flags(t), 0x04);   /* empty, CSG 1 */
	r.text = op_answer + a;
	r.len = b - a;
	assert_int_equal(feed(t, &r), 0);
	next(t);
	assert_int_equal(t->len, 0);
	struct rsp last = { .csg = 1, .nsg = 3, .transit = true, .tsih = TSIH,
			    .text = op_answer + b, .len = len - b };
	assert_int_equal(feed(t, &last), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
	assert_int_equal(login_params(&t->l)->max_outstanding_r2t, 1);

	/* an empty piece with C would never end */
	t = begin(LOGIN_AUTH_NONE);
	struct rsp empty = { .csg = 0, .cont = true };
	expect_fail(t, feed(t, &empty), -EPROTO,
		    "empty login response with the Continue bit");

	/* more than the buffer */
	t = setup(LOGIN_AUTH_NONE, TNAME);
	t->cfg.rx_cap = LOGIN_MIN_RX;
	start(t);
	next(t);
	static char big[5000];
	memset(big, 'a', sizeof(big));
	struct rsp piece = { .csg = 0, .cont = true, .text = big, .len = sizeof(big) };
	assert_int_equal(feed(t, &piece), 0);
	next(t);
	expect_fail(t, feed(t, &piece), -EPROTO, "target's login text exceeds our buffer");
}

/* ---- status classes and redirects --------------------------------------------- */

static void test_status_classes(void **state)
{
	(void)state;
	static const struct { uint8_t cls, det; const char *msg; int err; bool retry; } s[] = {
		{ 2, 0, "initiator error", -EPERM, false },
		{ 2, 1, "authentication failed", -EACCES, false },
		{ 2, 2, "authorization failure: access forbidden", -EPERM, false },
		{ 2, 3, "target not found", -ENOENT, false },
		{ 2, 4, "target removed", -ENOENT, false },
		{ 2, 5, "unsupported iSCSI version", -EPROTONOSUPPORT, false },
		{ 2, 6, "too many connections", -EUSERS, false },
		{ 2, 7, "missing parameter", -EINVAL, false },
		{ 2, 8, "cannot include the connection in the session", -EBUSY, false },
		{ 2, 9, "session type not supported", -EOPNOTSUPP, false },
		{ 2, 10, "session does not exist", -ENOENT, false },
		{ 2, 11, "invalid request during login", -EINVAL, false },
		{ 2, 99, "initiator error (unknown detail)", -EPROTO, false },
		{ 3, 0, "target error", -EIO, false },
		{ 3, 1, "service unavailable, retry later", -EAGAIN, true },
		{ 3, 2, "target out of resources", -ENOBUFS, true },
		{ 3, 7, "target error (unknown detail)", -EIO, false },
		{ 1, 3, "redirection with an unknown detail", -EPROTO, false },
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		struct t *t = begin(LOGIN_AUTH_NONE);
		struct rsp r = { .cls = s[i].cls, .det = s[i].det };
		assert_int_equal(feed(t, &r), 0);
		assert_int_equal(t->ev, LOGIN_EV_FAILED);
		assert_string_equal(login_error(&t->l), s[i].msg);
		uint8_t c, d;
		login_status(&t->l, &c, &d);
		assert_int_equal(c, s[i].cls);
		assert_int_equal(d, s[i].det);
		assert_int_equal(login_status_errno(c, d), s[i].err);
		assert_int_equal(login_status_retryable(c, d), s[i].retry);
		assert_null(login_redirect(&t->l, NULL));
	}
	assert_string_equal(login_status_message(0, 0), "success");
	assert_int_equal(login_status_errno(0, 0), 0);
	assert_true(login_status_retryable(1, 1));
	assert_false(login_status_retryable(1, 2));
	assert_string_equal(login_status_message(9, 0), "unknown login status class");
}

static void test_redirect(void **state)
{
	(void)state;
	struct t *t = begin(LOGIN_AUTH_NONE);
	struct rsp r = { .cls = 1, .det = 1, .text = "TargetAddress=[2001:db8::5]:3261,2",
			 .len = sizeof("TargetAddress=[2001:db8::5]:3261,2") };
	assert_int_equal(feed(t, &r), 0);
	assert_int_equal(t->ev, LOGIN_EV_REDIRECT);
	bool perm = true;
	const struct disc_address *a = login_redirect(&t->l, &perm);
	assert_non_null(a);
	assert_false(perm);
	assert_string_equal(a->portal.host, "2001:db8::5");
	assert_int_equal(a->portal.port, 3261);
	assert_int_equal(a->tpgt, 2);
	assert_null(login_error(&t->l));

	/* permanent, in the operational stage, IPv4 without a port */
	t = at_op();
	struct rsp p = { .csg = 1, .cls = 1, .det = 2, .text = "TargetAddress=192.0.2.7",
			 .len = sizeof("TargetAddress=192.0.2.7") };
	assert_int_equal(feed(t, &p), 0);
	assert_int_equal(t->ev, LOGIN_EV_REDIRECT);
	a = login_redirect(&t->l, &perm);
	assert_true(perm);
	assert_string_equal(a->portal.host, "192.0.2.7");
	assert_int_equal(a->portal.port, 3260);
	assert_int_equal(a->tpgt, -1);

	/* without an address, with a bad one */
	t = begin(LOGIN_AUTH_NONE);
	struct rsp none = { .cls = 1, .det = 1 };
	expect_fail(t, feed(t, &none), -EPROTO, "redirect without a TargetAddress");
	t = begin(LOGIN_AUTH_NONE);
	struct rsp bad = { .cls = 1, .det = 1, .text = "TargetAddress=zz::1:3260",
			   .len = sizeof("TargetAddress=zz::1:3260") };
	assert_int_equal(feed(t, &bad), -EPROTO);
	assert_string_equal(login_error_key(&t->l), "TargetAddress");
}

/* ---- protocol errors ------------------------------------------------------------- */

static void test_protocol_errors(void **state)
{
	(void)state;
	struct t *t;

	/* wrong ITT, wrong ISID */
	t = begin(LOGIN_AUTH_NONE);
	struct rsp r = { .csg = 0, .nsg = 1, .transit = true, .text = "AuthMethod=None",
			 .len = sizeof("AuthMethod=None") };
	struct pdu_login_rsp_args a = { .itt = ITT + 1, .csg = LOGIN_STAGE_SECURITY };
	memcpy(a.isid, isid, 6);
	pdu_build_login_rsp(t->rbhs, &a);
	expect_fail(t, login_recv_pdu(&t->l, t->rbhs, NULL, 0, &t->ev), -EPROTO,
		    "Login response for another ITT");
	t = begin(LOGIN_AUTH_NONE);
	a.itt = ITT;
	a.isid[5] = 9;
	pdu_build_login_rsp(t->rbhs, &a);
	expect_fail(t, login_recv_pdu(&t->l, t->rbhs, NULL, 0, &t->ev), -EPROTO,
		    "Login response for another ISID");
	/* a length that does not match */
	t = begin(LOGIN_AUTH_NONE);
	a.isid[5] = 1;
	pdu_build_login_rsp(t->rbhs, &a);
	expect_fail(t, login_recv_pdu(&t->l, t->rbhs, "x", 1, &t->ev), -EINVAL,
		    "data length does not match the BHS");
	/* not a login response */
	t = begin(LOGIN_AUTH_NONE);
	pdu_build_nop_in(t->rbhs, 0, ITT, PDU_RESERVED_TAG, 0);
	assert_int_equal(login_recv_pdu(&t->l, t->rbhs, NULL, 0, &t->ev), -EPROTO);
	assert_int_equal(t->ev, LOGIN_EV_FAILED);

	/* T without ours: we sent CHAP_A with T=0 */
	t = begin(LOGIN_AUTH_CHAP);
	expect_fail(t, reply(t, 0, true, T("AuthMethod=CHAP\0")), -EPROTO,
		    "target set the Transit bit without ours");
	/* another stage than ours */
	t = begin(LOGIN_AUTH_NONE);
	expect_fail(t, reply(t, 1, false, "", 0), -EPROTO,
		    "target answered in another login stage");
	/* further than we asked: NSG 3 from the security stage */
	t = begin(LOGIN_AUTH_NONE);
	r.nsg = 3;
	expect_fail(t, feed(t, &r), -EPROTO, "target moved to a later stage than we asked");
	/* no TSIH at the end of a leading login */
	t = at_op();
	struct rsp z = { .csg = 1, .nsg = 3, .transit = true, .text = op_answer,
			 .len = sizeof(op_answer) - 1 };
	expect_fail(t, feed(t, &z), -EPROTO, "target ended the login without a TSIH");
	/* a known key offered in the final response */
	t = at_op();
	assert_int_equal(reply(t, 1, false, T(op_answer)), 0);
	next(t);
	expect_fail(t, reply(t, 1, true, T("IFMarker=Yes\0")), -EPROTO,
		    "target offered keys in its final login response");
	assert_string_equal(login_error_key(&t->l), "IFMarker");
	/* ... but unknown keys there are only warned about */
	t = at_op();
	assert_int_equal(reply(t, 1, true, T("X-late=1\0HeaderDigest=None\0")), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
	/* a target that never ends */
	t = setup(LOGIN_AUTH_NONE, TNAME);
	to_op(t);
	int rc = 0;
	for (int i = 0; i < 40 && rc == 0 && t->ev == LOGIN_EV_SEND; i++) {
		next(t);
		rc = reply(t, 1, false, "", 0);
	}
	expect_fail(t, rc, -EPROTO, "login did not finish within 32 rounds");
	/* renegotiation through the target's own offer */
	t = at_op();
	assert_int_equal(reply(t, 1, false, T("ErrorRecoveryLevel=0\0")), 0);
	next(t);
	expect_fail(t, reply(t, 1, false, T("ErrorRecoveryLevel=0\0")), -EPROTO,
		    "target renegotiated a key already settled");
	assert_string_equal(login_error_key(&t->l), "ErrorRecoveryLevel");
	/* a duplicate key */
	t = begin(LOGIN_AUTH_NONE);
	expect_fail(t, reply(t, 0, true, T("AuthMethod=None\0AuthMethod=None\0")), -EPROTO,
		    "key appears twice in one response");
}

static void test_statsn_warning(void **state)
{
	(void)state;
	struct t *t = at_op();
	t->statsn += 5;   /* some targets skip during login: warn, go on */
	assert_int_equal(reply(t, 1, true, T(op_answer)), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
	assert_true(login_warnings(&t->l) & LOGIN_WARN_STATSN);
	struct login_seq s;
	login_seq(&t->l, &s);
	assert_int_equal(s.statsn, 0x7006);
	assert_int_equal(s.exp_statsn, 0x7007);
}

/* ---- discovery and non-leading logins --------------------------------------------- */

static void test_discovery(void **state)
{
	(void)state;
	struct t *t = setup(LOGIN_AUTH_NONE, NULL);
	start(t);
	next(t);
	expect_text(t, T("InitiatorName=" INAME "\0SessionType=Discovery\0AuthMethod=None\0"));
	assert_int_equal(reply(t, 0, true, T("AuthMethod=None\0")), 0);
	next(t);
	expect_text(t, T("MaxRecvDataSegmentLength=262144\0"));
	assert_int_equal(reply(t, 1, true, T("MaxRecvDataSegmentLength=32768\0")), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
	const struct iscsi_params *p = login_params(&t->l);
	assert_false(p->header_digest);
	assert_int_equal(p->max_xmit_dsl, 32768);
	/* discovery sessions declare no portal group: no warning */
	assert_false(login_warnings(&t->l) & LOGIN_WARN_NO_TPGT);
}

static void test_non_leading(void **state)
{
	(void)state;
	struct t *t = setup(LOGIN_AUTH_NONE, TNAME);
	neg_params_default(&t->session);
	t->session.max_burst_length = 1048576;
	t->session.error_recovery_level = 1;
	t->session.immediate_data = false;
	t->session.tpgt = 1;
	t->cfg.session = &t->session;
	t->cfg.tsih = TSIH;
	start(t);
	next(t);
	assert_int_equal(pdu_get16(&((struct bhs_login_req *)t->bhs)->lgn_tsih), TSIH);
	expect_text(t, T("InitiatorName=" INAME "\0TargetName=" TNAME "\0AuthMethod=None\0"));
	assert_int_equal(reply(t, 0, true, T("AuthMethod=None\0TargetPortalGroupTag=1\0")), 0);
	next(t);
	expect_text(t, T("HeaderDigest=None,CRC32C\0DataDigest=None,CRC32C\0"
			 "MaxRecvDataSegmentLength=262144\0"));
	/* tgt sends session keys on the non-leading connection, without T */
	assert_int_equal(reply(t, 1, false, T("HeaderDigest=None\0DataDigest=CRC32C\0"
					      "MaxBurstLength=262144\0ImmediateData=Yes\0")), 0);
	next(t);
	expect_text(t, T("MaxBurstLength=262144\0ImmediateData=No\0"));
	assert_int_equal(reply(t, 1, true, "", 0), 0);
	assert_int_equal(t->ev, LOGIN_EV_DONE);
	const struct iscsi_params *p = login_params(&t->l);
	assert_int_equal(p->max_burst_length, 1048576);   /* the session's */
	assert_int_equal(p->error_recovery_level, 1);
	assert_false(p->immediate_data);
	assert_true(p->data_digest);
	assert_int_equal(login_tsih(&t->l), TSIH);
	assert_true(login_warnings(&t->l) & NEG_WARN_LO_ON_NONLEAD);

	/* the TSIH must not change */
	t = setup(LOGIN_AUTH_NONE, TNAME);
	neg_params_default(&t->session);
	t->cfg.session = &t->session;
	t->cfg.tsih = 0x55;
	to_op(t);
	next(t);
	expect_fail(t, reply(t, 1, true, "", 0), -EPROTO,
		    "target changed the TSIH of a non-leading login");
}

static void test_config_errors(void **state)
{
	(void)state;
	static const char *const why[] = {
		"initiator name missing, too long or not printable",
		"login buffers missing or too small",
		"CHAP needs a name and a secret of 1-256 bytes",
		"mutual CHAP needs the target's secret",
		"mutual CHAP secrets must differ between directions",
		"a non-leading login needs its session (and is never a discovery session)",
		"target name empty, too long or not printable",
		"FirstBurstLength exceeds MaxBurstLength",
		"unknown CHAP algorithm",
	};
	static const uint8_t bad_alg[] = { 4 };
	struct iscsi_wishes w;
	neg_wishes_default(&w);
	w.first_burst_length = w.max_burst_length + 1;
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		struct t *t = setup(LOGIN_AUTH_NONE, TNAME);
		switch (i) {
		case 0: t->cfg.initiator_name = ""; break;
		case 1: t->cfg.tx_cap = 100; break;
		case 2: t->cfg.auth = LOGIN_AUTH_CHAP; t->cfg.chap_secret = NULL; break;
		case 3: t->cfg.auth = LOGIN_AUTH_MUTUAL; t->cfg.target_chap_secret_len = 0; break;
		case 4:
			t->cfg.auth = LOGIN_AUTH_MUTUAL;
			t->cfg.target_chap_secret = "initiator-secret";
			t->cfg.target_chap_secret_len = strlen("initiator-secret");
			break;
		case 5: t->cfg.tsih = 1; break;
		case 6: t->cfg.target_name = "bad\nname"; break;
		case 7: t->cfg.wishes = &w; break;
		case 8: t->cfg.chap_algs = bad_alg; t->cfg.n_chap_algs = 1; break;
		}
		assert_int_equal(login_init(&t->l, &t->cfg), -EINVAL);
		assert_string_equal(login_error(&t->l), why[i]);
		size_t len;
		assert_int_equal(login_next_pdu(&t->l, t->bhs, t->data, sizeof(t->data), &len),
				 -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_auth),
		cmocka_unit_test(test_security_without_transit),
		cmocka_unit_test(test_tgt_quirks),
		cmocka_unit_test(test_digest_not_offered),
		cmocka_unit_test(test_chap_one_way),
		cmocka_unit_test(test_chap_refusals),
		cmocka_unit_test(test_chap_mutual),
		cmocka_unit_test(test_chap_reflection_across_redirect),
		cmocka_unit_test(test_continue_outgoing),
		cmocka_unit_test(test_continue_incoming),
		cmocka_unit_test(test_status_classes),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_statsn_warning),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_non_leading),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
