/* SPDX-License-Identifier: MIT */
/* Text negotiation: every result function, ranges, refusals, unoffered
 * answers, target offers, duplicates, leading vs non-leading, discovery. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proto/neg.h"

#define T(s) s, sizeof(s) - 1

struct fix {
	struct neg n;
	char ans[4096];
	size_t ans_len;
	struct neg_auth auth;
	const char *why;
};

static struct neg_config config(bool leading, bool discovery)
{
	struct neg_config c;
	memset(&c, 0, sizeof(c));
	neg_wishes_default(&c.wishes);
	c.leading = leading;
	c.discovery = discovery;
	neg_params_default(&c.session);
	c.auth_offer[0] = NEG_AUTHM_NONE;
	c.n_auth_offer = 1;
	c.chap_offer[0] = 7;
	c.chap_offer[1] = 5;
	c.n_chap_offer = 2;
	return c;
}

static void start(struct fix *f, const struct neg_config *c)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(neg_init(&f->n, c, &f->why), 0);
}

static void start_leading(struct fix *f)
{
	struct neg_config c = config(true, false);
	start(f, &c);
}

/* Offers the operational keys; returns the text length, text in out. */
static size_t offer_op(struct fix *f, char *out, size_t cap)
{
	size_t len = 0;
	assert_int_equal(neg_offer(&f->n, NEG_OP, out, cap, &len), 0);
	return len;
}

static void offer_op_quiet(struct fix *f)
{
	char buf[1024];
	offer_op(f, buf, sizeof(buf));
}

static int feed(struct fix *f, enum neg_stage st, const char *t, size_t len)
{
	f->why = NULL;
	f->ans_len = 0;
	return neg_recv(&f->n, st, t, len, f->ans, sizeof(f->ans), &f->ans_len,
			&f->auth, &f->why);
}

static void assert_ans(const struct fix *f, const char *want, size_t len)
{
	assert_int_equal(f->ans_len, len);
	assert_memory_equal(f->ans, want, len);
}

static void expect_proto(struct fix *f, enum neg_stage st, const char *t,
			 size_t len, const char *why, const char *key)
{
	assert_int_equal(feed(f, st, t, len), -EPROTO);
	assert_non_null(f->why);
	assert_string_equal(f->why, why);
	if (key)
		assert_string_equal(neg_error_key(&f->n), key);
	else
		assert_null(neg_error_key(&f->n));
}

/* ---- wishes and defaults ---------------------------------------------- */

static void test_wishes(void **state)
{
	(void)state;
	struct iscsi_wishes w, d;
	const char *why = NULL;

	neg_wishes_default(&d);
	assert_int_equal(d.error_recovery_level, 2);
	assert_int_equal(d.max_connections, 1);
	assert_int_equal(d.header_digest, ISCSI_DIGEST_PREFER_NONE);
	assert_false(d.initial_r2t);
	assert_true(d.immediate_data);
	assert_true(d.data_pdu_in_order);
	assert_true(d.data_sequence_in_order);
	assert_int_equal(d.max_recv_dsl, 262144);
	assert_int_equal(d.max_burst_length, 16776192);
	assert_int_equal(d.first_burst_length, 262144);
	assert_int_equal(d.max_outstanding_r2t, 16);
	assert_int_equal(d.default_time2wait, 2);
	assert_int_equal(d.default_time2retain, 20);
	assert_int_equal(neg_wishes_check(&d, &why), 0);

	w = d; w.max_connections = 0;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);
	assert_string_equal(why, "MaxConnections outside 1-65535");
	w = d; w.error_recovery_level = 3;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);
	w = d; w.max_recv_dsl = 511;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);
	w = d; w.max_recv_dsl = 16777216;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);
	w = d; w.default_time2wait = 3601;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);
	w = d; w.max_outstanding_r2t = 65536;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);
	w = d; w.first_burst_length = 1048576; w.max_burst_length = 65536;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);
	assert_string_equal(why, "FirstBurstLength exceeds MaxBurstLength");
	w = d; w.data_digest = (enum iscsi_digest_pref)7;
	assert_int_equal(neg_wishes_check(&w, &why), -EINVAL);

	struct iscsi_params p;
	neg_params_default(&p);
	assert_true(p.initial_r2t);
	assert_int_equal(p.max_burst_length, 262144);
	assert_int_equal(p.first_burst_length, 65536);
	assert_int_equal(p.max_outstanding_r2t, 1);
	assert_int_equal(p.error_recovery_level, 0);
	assert_int_equal(p.max_xmit_dsl, 8192);
	assert_int_equal(p.tpgt, -1);

	struct neg n;
	struct neg_config c = config(true, false);
	c.wishes = w;
	assert_int_equal(neg_init(&n, &c, &why), -EINVAL);
	c = config(true, false);
	c.n_auth_offer = 0;
	assert_int_equal(neg_init(&n, &c, &why), -EINVAL);
	c = config(true, false);
	c.chap_offer[0] = 4;
	assert_int_equal(neg_init(&n, &c, &why), -EINVAL);
}

static void test_table(void **state)
{
	(void)state;
	assert_int_equal(neg_key_lookup(T("MaxBurstLength")), NEG_MAX_BURST);
	assert_int_equal(neg_key_lookup(T("MaxBurstLengt")), -1);
	assert_int_equal(neg_key_lookup(T("maxburstlength")), -1);
	assert_int_equal(neg_key_info(NEG_TIME2WAIT)->fn, NEG_FN_MAX);
	assert_int_equal(neg_key_info(NEG_TIME2RETAIN)->fn, NEG_FN_MIN);
	assert_int_equal(neg_key_info(NEG_INITIAL_R2T)->fn, NEG_FN_OR);
	assert_int_equal(neg_key_info(NEG_IMMEDIATE_DATA)->fn, NEG_FN_AND);
	assert_int_equal(neg_key_info(NEG_MAX_RECV_DSL)->fn, NEG_FN_DECL);
	assert_int_equal(neg_key_info(NEG_ERL)->scope, NEG_SCOPE_SESSION);
	assert_int_equal(neg_key_info(NEG_HEADER_DIGEST)->scope, NEG_SCOPE_CONN);
	for (int k = 0; k < NEG_NKEYS; k++) {
		const struct neg_key *ki = neg_key_info((enum neg_key_id)k);
		assert_non_null(ki->name);
		assert_int_equal(neg_key_lookup(ki->name, strlen(ki->name)), k);
		assert_true(ki->def >= ki->min || ki->fn == NEG_FN_LIST);
	}
}

/* ---- offers ------------------------------------------------------------ */

static void test_offer_leading(void **state)
{
	(void)state;
	struct fix f;
	char buf[1024];

	start_leading(&f);
	size_t len = offer_op(&f, buf, sizeof(buf));
	static const char want[] =
		"HeaderDigest=None,CRC32C\0DataDigest=None,CRC32C\0"
		"ErrorRecoveryLevel=2\0InitialR2T=No\0ImmediateData=Yes\0"
		"MaxBurstLength=16776192\0FirstBurstLength=262144\0"
		"MaxConnections=1\0DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0"
		"MaxOutstandingR2T=16\0DefaultTime2Wait=2\0DefaultTime2Retain=20\0"
		"MaxRecvDataSegmentLength=262144\0";
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);
	/* never offered twice */
	assert_int_equal(offer_op(&f, buf, sizeof(buf)), 0);
	assert_int_equal(neg_state(&f.n, NEG_MAX_BURST), NEG_ST_OFFERED);
	assert_int_equal(neg_state(&f.n, NEG_MAX_RECV_DSL), NEG_ST_DONE);

	/* digest preferences */
	struct neg_config c = config(true, false);
	c.wishes.header_digest = ISCSI_DIGEST_PREFER_CRC;
	c.wishes.data_digest = ISCSI_DIGEST_CRC_ONLY;
	start(&f, &c);
	len = offer_op(&f, buf, sizeof(buf));
	static const char dig[] = "HeaderDigest=CRC32C,None\0DataDigest=CRC32C\0";
	assert_memory_equal(buf, dig, sizeof(dig) - 1);
	c.wishes.header_digest = ISCSI_DIGEST_NONE;
	start(&f, &c);
	len = offer_op(&f, buf, sizeof(buf));
	static const char none[] = "HeaderDigest=None\0DataDigest=CRC32C\0";
	assert_memory_equal(buf, none, sizeof(none) - 1);
}

static void test_offer_discovery_and_nonleading(void **state)
{
	(void)state;
	struct fix f;
	char buf[1024];

	/* discovery: no digests, no session keys */
	struct neg_config c = config(true, true);
	start(&f, &c);
	size_t len = offer_op(&f, buf, sizeof(buf));
	static const char disc[] = "MaxRecvDataSegmentLength=262144\0";
	assert_int_equal(len, sizeof(disc) - 1);
	assert_memory_equal(buf, disc, len);

	/* non-leading: connection keys only */
	c = config(false, false);
	start(&f, &c);
	len = offer_op(&f, buf, sizeof(buf));
	static const char nl[] = "HeaderDigest=None,CRC32C\0DataDigest=None,CRC32C\0"
				 "MaxRecvDataSegmentLength=262144\0";
	assert_int_equal(len, sizeof(nl) - 1);
	assert_memory_equal(buf, nl, len);
}

static void test_offer_atomic(void **state)
{
	(void)state;
	struct fix f;
	char buf[1024];

	start_leading(&f);
	memcpy(buf, "A=1", 4);
	size_t len = 4;
	assert_int_equal(neg_offer(&f.n, NEG_OP, buf, 100, &len), -ENOSPC);
	assert_int_equal(len, 4);
	for (int k = 0; k < NEG_NKEYS; k++)
		assert_int_equal(neg_state(&f.n, (enum neg_key_id)k), NEG_ST_NONE);
	/* security stage has nothing of its own */
	len = 0;
	assert_int_equal(neg_offer(&f.n, NEG_SEC, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);

	/* single offers */
	len = 0;
	assert_int_equal(neg_offer_key(&f.n, NEG_AUTH_METHOD, buf, 5, &len), -ENOSPC);
	assert_int_equal(neg_state(&f.n, NEG_AUTH_METHOD), NEG_ST_NONE);
	assert_int_equal(neg_offer_key(&f.n, NEG_AUTH_METHOD, buf, sizeof(buf), &len), 0);
	assert_int_equal(neg_offer_key(&f.n, NEG_AUTH_METHOD, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(neg_offer_key(&f.n, NEG_CHAP_A, buf, sizeof(buf), &len), 0);
	assert_int_equal(neg_offer_key(&f.n, NEG_ERL, buf, sizeof(buf), &len), -EINVAL);
	static const char want[] = "AuthMethod=None\0CHAP_A=7,5\0";
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(buf, want, len);

	assert_int_equal(neg_declare(&f.n, NEG_INITIATOR_NAME, "iqn.x", buf, 8, &len), -ENOSPC);
	assert_int_equal(neg_declare(&f.n, NEG_ERL, "1", buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(neg_declare(&f.n, NEG_SESSION_TYPE, "Normal", buf, sizeof(buf), &len), 0);
	assert_int_equal(neg_declare(&f.n, NEG_SESSION_TYPE, "Normal", buf, sizeof(buf), &len), -EINVAL);
}

/* ---- answers to our offers --------------------------------------------- */

static void test_typical_answers(void **state)
{
	(void)state;
	struct fix f;
	struct iscsi_params p;

	start_leading(&f);
	offer_op_quiet(&f);
	/* what LIO answers to the default offer */
	assert_int_equal(feed(&f, NEG_OP, T(
		"HeaderDigest=None\0DataDigest=None\0ErrorRecoveryLevel=0\0"
		"InitialR2T=No\0ImmediateData=Yes\0MaxBurstLength=1048576\0"
		"FirstBurstLength=65536\0MaxConnections=1\0DataPDUInOrder=Yes\0"
		"DataSequenceInOrder=Yes\0MaxOutstandingR2T=1\0DefaultTime2Wait=2\0"
		"DefaultTime2Retain=0\0MaxRecvDataSegmentLength=65536\0"
		"TargetAlias=LIO Target\0")), 0);
	assert_int_equal(f.ans_len, 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	assert_int_equal(f.n.warnings, 0);
	neg_result(&f.n, &p);
	assert_false(p.header_digest);
	assert_false(p.data_digest);
	assert_int_equal(p.error_recovery_level, 0);
	assert_false(p.initial_r2t);
	assert_true(p.immediate_data);
	assert_int_equal(p.max_burst_length, 1048576);
	assert_int_equal(p.first_burst_length, 65536);
	assert_int_equal(p.max_connections, 1);
	assert_int_equal(p.max_outstanding_r2t, 1);
	assert_int_equal(p.default_time2wait, 2);
	assert_int_equal(p.default_time2retain, 0);
	assert_int_equal(p.max_recv_dsl, 262144);
	assert_int_equal(p.max_xmit_dsl, 65536);
	assert_int_equal(p.tpgt, -1);
}

static void test_min_max(void **state)
{
	(void)state;
	struct fix f;

	start_leading(&f);
	offer_op_quiet(&f);
	/* equal to the offer and below it are fine */
	assert_int_equal(feed(&f, NEG_OP, T("MaxBurstLength=16776192\0MaxOutstandingR2T=0x10\0"
					    "DefaultTime2Wait=3600\0")), 0);
	assert_int_equal(neg_value(&f.n, NEG_MAX_BURST), 16776192);
	assert_int_equal(neg_value(&f.n, NEG_MAX_R2T), 16);
	assert_int_equal(neg_value(&f.n, NEG_TIME2WAIT), 3600);

	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("MaxBurstLength=16777216\0"),
		     "target answered a value that is malformed or out of range",
		     "MaxBurstLength");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("MaxBurstLength=16776193\0"),
		     "target answer contradicts the key's result function (min/max)",
		     "MaxBurstLength");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("MaxOutstandingR2T=17\0"),
		     "target answer contradicts the key's result function (min/max)",
		     "MaxOutstandingR2T");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("FirstBurstLength=511\0"),
		     "target answered a value that is malformed or out of range",
		     "FirstBurstLength");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("ErrorRecoveryLevel=3\0"),
		     "target answered a value that is malformed or out of range",
		     "ErrorRecoveryLevel");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("DefaultTime2Retain=ten\0"),
		     "target answered a value that is malformed or out of range",
		     "DefaultTime2Retain");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("DefaultTime2Wait=1\0"),
		     "target answer contradicts the key's result function (min/max)",
		     "DefaultTime2Wait");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("MaxConnections=0\0"),
		     "target answered a value that is malformed or out of range",
		     "MaxConnections");
}

static void test_booleans(void **state)
{
	(void)state;
	struct fix f;

	/* offered InitialR2T=No (OR): Yes and No are both legal answers;
	 * ImmediateData=Yes (AND): likewise */
	start_leading(&f);
	offer_op_quiet(&f);
	assert_int_equal(feed(&f, NEG_OP, T("InitialR2T=Yes\0ImmediateData=No\0")), 0);
	assert_int_equal(neg_value(&f.n, NEG_INITIAL_R2T), 1);
	assert_int_equal(neg_value(&f.n, NEG_IMMEDIATE_DATA), 0);

	/* offered DataPDUInOrder=Yes (OR): the result is Yes */
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("DataPDUInOrder=No\0"),
		     "target answer contradicts the key's result function (OR/AND)",
		     "DataPDUInOrder");

	/* offered ImmediateData=No (AND): the result is No */
	struct neg_config c = config(true, false);
	c.wishes.immediate_data = false;
	c.wishes.initial_r2t = true;
	start(&f, &c);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("ImmediateData=Yes\0"),
		     "target answer contradicts the key's result function (OR/AND)",
		     "ImmediateData");
	start(&f, &c);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("InitialR2T=No\0"),
		     "target answer contradicts the key's result function (OR/AND)",
		     "InitialR2T");
	start(&f, &c);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("InitialR2T=yes\0"),
		     "target answered a boolean key with neither Yes nor No",
		     "InitialR2T");
}

static void test_lists(void **state)
{
	(void)state;
	struct fix f;
	struct iscsi_params p;

	/* tgt picks CRC32C on its own: fine when offered */
	start_leading(&f);
	offer_op_quiet(&f);
	assert_int_equal(feed(&f, NEG_OP, T("HeaderDigest=CRC32C\0DataDigest=None\0")), 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	neg_result(&f.n, &p);
	assert_true(p.header_digest);
	assert_false(p.data_digest);

	/* ... refused when we offered None only */
	struct neg_config c = config(true, false);
	c.wishes.header_digest = ISCSI_DIGEST_NONE;
	start(&f, &c);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("HeaderDigest=CRC32C\0"),
		     "target chose a value that was not offered", "HeaderDigest");

	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("DataDigest=None,CRC32C\0"),
		     "target answered a list key with more than one value", "DataDigest");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("DataDigest=MD5\0"),
		     "target chose a value that was not offered", "DataDigest");
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("DataDigest=\0"),
		     "target chose a value that was not offered", "DataDigest");

	/* AuthMethod and CHAP_A */
	char buf[256];
	size_t len = 0;
	c = config(true, false);
	c.auth_offer[0] = NEG_AUTHM_CHAP;
	c.n_auth_offer = 1;
	start(&f, &c);
	assert_int_equal(neg_offer_key(&f.n, NEG_AUTH_METHOD, buf, sizeof(buf), &len), 0);
	expect_proto(&f, NEG_SEC, T("AuthMethod=None\0"),
		     "target chose a value that was not offered", "AuthMethod");
	start(&f, &c);
	assert_int_equal(neg_offer_key(&f.n, NEG_AUTH_METHOD, buf, sizeof(buf), &len), 0);
	assert_int_equal(feed(&f, NEG_SEC, T("AuthMethod=CHAP\0")), 0);
	assert_int_equal(neg_value(&f.n, NEG_AUTH_METHOD), NEG_AUTHM_CHAP);
	assert_int_equal(neg_offer_key(&f.n, NEG_CHAP_A, buf, sizeof(buf), &len), 0);
	expect_proto(&f, NEG_SEC, T("CHAP_A=6\0"),
		     "target chose a value that was not offered", "CHAP_A");
	start(&f, &c);
	assert_int_equal(neg_offer_key(&f.n, NEG_CHAP_A, buf, sizeof(buf), &len), 0);
	assert_int_equal(feed(&f, NEG_SEC, T("CHAP_A=5\0CHAP_I=17\0CHAP_C=0xab12\0")), 0);
	assert_int_equal(neg_value(&f.n, NEG_CHAP_A), 5);
	assert_true(f.auth.chap_i.present);
	assert_int_equal(f.auth.chap_i.len, 2);
	assert_memory_equal(f.auth.chap_i.v, "17", 2);
	assert_true(f.auth.chap_c.present);
	assert_memory_equal(f.auth.chap_c.v, "0xab12", 6);
	assert_false(f.auth.chap_n.present);
	assert_false(f.auth.chap_r.present);
	start(&f, &c);
	assert_int_equal(neg_offer_key(&f.n, NEG_CHAP_A, buf, sizeof(buf), &len), 0);
	expect_proto(&f, NEG_SEC, T("CHAP_A=Reject\0"),
		     "target refused a key whose default we did not offer", "CHAP_A");
	/* CHAP_A from a target before we offered it */
	start(&f, &c);
	expect_proto(&f, NEG_SEC, T("CHAP_A=5\0"),
		     "target sent CHAP_A before we offered it", "CHAP_A");
}

static void test_refusals(void **state)
{
	(void)state;
	struct fix f;
	struct iscsi_params p;

	/* Reject / Irrelevant / NotUnderstood leave the default */
	start_leading(&f);
	offer_op_quiet(&f);
	assert_int_equal(feed(&f, NEG_OP, T(
		"MaxBurstLength=Reject\0ErrorRecoveryLevel=NotUnderstood\0"
		"FirstBurstLength=Irrelevant\0ImmediateData=Reject\0"
		"HeaderDigest=Reject\0MaxRecvDataSegmentLength=NotUnderstood\0")), 0);
	assert_int_equal(f.ans_len, 0);
	assert_true(f.n.warnings & NEG_WARN_REFUSED);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	neg_result(&f.n, &p);
	assert_int_equal(p.max_burst_length, 262144);
	assert_int_equal(p.error_recovery_level, 0);
	assert_int_equal(p.first_burst_length, 65536);
	assert_true(p.immediate_data);
	assert_false(p.header_digest);
	assert_int_equal(p.max_recv_dsl, 262144);   /* we still accept ours */

	/* a required CRC32C refused: the default None was not offered */
	struct neg_config c = config(true, false);
	c.wishes.data_digest = ISCSI_DIGEST_CRC_ONLY;
	start(&f, &c);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("DataDigest=Reject\0"),
		     "target refused a key whose default we did not offer", "DataDigest");

	/* a refusal for a key nobody offered is a protocol error */
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("MaxBurstLength=Irrelevant\0"),
		     "target answered a key we never offered", "MaxBurstLength");
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("TargetAlias=Reject\0"),
		     "target answered a key we never offered", "TargetAlias");
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("X-foo=NotUnderstood\0"),
		     "target answered a key we never offered", NULL);
}

static void test_unanswered(void **state)
{
	(void)state;
	struct fix f;
	struct iscsi_params p;

	/* nothing answered: each key takes fn(offer, default) */
	struct neg_config c = config(true, false);
	c.wishes.immediate_data = false;
	c.wishes.max_burst_length = 4096;
	c.wishes.first_burst_length = 4096;
	c.wishes.default_time2wait = 0;
	start(&f, &c);
	offer_op_quiet(&f);
	assert_int_equal(feed(&f, NEG_OP, "", 0), 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	assert_true(f.n.warnings & NEG_WARN_UNANSWERED);
	neg_result(&f.n, &p);
	assert_false(p.header_digest);                /* None was offered */
	assert_int_equal(p.error_recovery_level, 0);  /* min(2, 0) */
	assert_true(p.initial_r2t);                   /* No OR Yes */
	assert_false(p.immediate_data);               /* No AND Yes */
	assert_int_equal(p.max_burst_length, 4096);   /* min(4096, 262144) */
	assert_int_equal(p.first_burst_length, 4096);
	assert_int_equal(p.max_outstanding_r2t, 1);   /* min(16, 1) */
	assert_int_equal(p.default_time2wait, 2);     /* max(0, 2) */
	assert_int_equal(p.default_time2retain, 20);
	assert_int_equal(neg_state(&f.n, NEG_ERL), NEG_ST_DONE);

	/* CRC32C required and unanswered */
	c = config(true, false);
	c.wishes.header_digest = ISCSI_DIGEST_CRC_ONLY;
	start(&f, &c);
	offer_op_quiet(&f);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), -EPROTO);
	assert_string_equal(f.why, "target did not answer a key whose default we did not offer");
	assert_string_equal(neg_error_key(&f.n), "HeaderDigest");

	/* AuthMethod unanswered: None stands only if offered */
	char buf[128];
	size_t len = 0;
	c = config(true, false);
	start(&f, &c);
	assert_int_equal(neg_offer_key(&f.n, NEG_AUTH_METHOD, buf, sizeof(buf), &len), 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_SEC, &f.why), 0);
	assert_int_equal(neg_value(&f.n, NEG_AUTH_METHOD), NEG_AUTHM_NONE);
	c.auth_offer[0] = NEG_AUTHM_CHAP;
	start(&f, &c);
	assert_int_equal(neg_offer_key(&f.n, NEG_AUTH_METHOD, buf, sizeof(buf), &len), 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_SEC, &f.why), -EPROTO);
	assert_string_equal(neg_error_key(&f.n), "AuthMethod");
}

static void test_optional_answers(void **state)
{
	(void)state;
	struct fix f;
	struct iscsi_params p;

	/* LIO answers everything but DataPDUInOrder=Yes and
	 * DataSequenceInOrder=Yes (OR with Yes): no warning, result Yes */
	start_leading(&f);
	offer_op_quiet(&f);
	assert_int_equal(feed(&f, NEG_OP, T(
		"HeaderDigest=None\0DataDigest=None\0MaxConnections=1\0InitialR2T=No\0"
		"ImmediateData=Yes\0MaxRecvDataSegmentLength=262144\0"
		"MaxBurstLength=1048576\0FirstBurstLength=65536\0DefaultTime2Wait=2\0"
		"DefaultTime2Retain=20\0MaxOutstandingR2T=1\0ErrorRecoveryLevel=2\0")), 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	assert_int_equal(f.n.warnings, 0);
	neg_result(&f.n, &p);
	assert_true(p.data_pdu_in_order);
	assert_true(p.data_sequence_in_order);
	assert_int_equal(p.error_recovery_level, 2);
}

static void test_first_burst_clamp(void **state)
{
	(void)state;
	struct fix f;
	struct iscsi_params p;

	start_leading(&f);
	offer_op_quiet(&f);
	assert_int_equal(feed(&f, NEG_OP, T("MaxBurstLength=65536\0FirstBurstLength=262144\0")), 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	assert_true(f.n.warnings & NEG_WARN_FIRST_BURST);
	neg_result(&f.n, &p);
	assert_int_equal(p.first_burst_length, 65536);
	assert_int_equal(p.max_burst_length, 65536);
}

/* ---- the target's own offers ------------------------------------------- */

static void test_target_offers(void **state)
{
	(void)state;
	struct fix f;
	char buf[1024];

	/* the target offers first (say in the security stage): we answer
	 * with the result function and never offer those keys again */
	start_leading(&f);
	assert_int_equal(feed(&f, NEG_SEC, T(
		"MaxOutstandingR2T=64\0MaxBurstLength=1048576\0InitialR2T=Yes\0"
		"ImmediateData=No\0DefaultTime2Wait=5\0DefaultTime2Retain=60\0"
		"HeaderDigest=CRC32C,None\0DataDigest=CRC32C\0ErrorRecoveryLevel=1\0"
		"TaskReporting=ResponseFence,RFC3720\0iSCSIProtocolLevel=2\0"
		"RDMAExtensions=Yes\0MaxConnections=0x4\0")), 0);
	static const char want[] =
		"MaxOutstandingR2T=16\0MaxBurstLength=1048576\0InitialR2T=Yes\0"
		"ImmediateData=No\0DefaultTime2Wait=5\0DefaultTime2Retain=20\0"
		"HeaderDigest=CRC32C\0DataDigest=CRC32C\0ErrorRecoveryLevel=1\0"
		"TaskReporting=RFC3720\0iSCSIProtocolLevel=1\0RDMAExtensions=No\0"
		"MaxConnections=1\0";
	assert_ans(&f, want, sizeof(want) - 1);
	size_t len = offer_op(&f, buf, sizeof(buf));
	static const char rest[] = "FirstBurstLength=262144\0DataPDUInOrder=Yes\0"
		"DataSequenceInOrder=Yes\0MaxRecvDataSegmentLength=262144\0";
	assert_int_equal(len, sizeof(rest) - 1);
	assert_memory_equal(buf, rest, len);
	assert_int_equal(feed(&f, NEG_OP, T("FirstBurstLength=65536\0")), 0);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	struct iscsi_params p;
	neg_result(&f.n, &p);
	assert_int_equal(p.max_outstanding_r2t, 16);
	assert_int_equal(p.max_burst_length, 1048576);
	assert_true(p.initial_r2t);
	assert_false(p.immediate_data);
	assert_int_equal(p.default_time2wait, 5);
	assert_int_equal(p.default_time2retain, 20);
	assert_true(p.header_digest);
	assert_true(p.data_digest);
	assert_int_equal(p.error_recovery_level, 1);

	/* inadmissible proposals are answered Reject */
	struct neg_config c = config(true, false);
	c.wishes.header_digest = ISCSI_DIGEST_NONE;
	start(&f, &c);
	assert_int_equal(feed(&f, NEG_OP, T(
		"MaxBurstLength=100\0InitialR2T=Maybe\0HeaderDigest=CRC32C,MD5\0"
		"DefaultTime2Wait=3601\0TaskReporting=FastAbort\0OFMarker=Yes\0"
		"IFMarkInt=2048~8192\0IFMarker=No\0OFMarkInt=Reject\0")), -EPROTO);
	/* the last one is a refusal of a key never offered */
	static const char rej[] =
		"MaxBurstLength=Reject\0InitialR2T=Reject\0HeaderDigest=Reject\0"
		"DefaultTime2Wait=Reject\0TaskReporting=Reject\0OFMarker=No\0"
		"IFMarkInt=Reject\0IFMarker=No\0";
	assert_ans(&f, rej, sizeof(rej) - 1);
	assert_int_equal(neg_value(&f.n, NEG_MAX_BURST), 262144);

	/* a Reject would leave a default we cannot live with */
	c = config(true, false);
	c.wishes.data_digest = ISCSI_DIGEST_CRC_ONLY;
	start(&f, &c);
	expect_proto(&f, NEG_SEC, T("DataDigest=None\0"),
		     "target offered no value we accept and the default is not acceptable",
		     "DataDigest");

	/* a target renegotiating a key it offered */
	start_leading(&f);
	assert_int_equal(feed(&f, NEG_OP, T("MaxBurstLength=1048576\0")), 0);
	expect_proto(&f, NEG_OP, T("MaxBurstLength=1048576\0"),
		     "target renegotiated a key already settled", "MaxBurstLength");
	/* or answering twice */
	start_leading(&f);
	offer_op_quiet(&f);
	assert_int_equal(feed(&f, NEG_OP, T("ErrorRecoveryLevel=0\0")), 0);
	expect_proto(&f, NEG_OP, T("ErrorRecoveryLevel=0\0"),
		     "target renegotiated a key already settled", "ErrorRecoveryLevel");
}

static void test_discovery_answers(void **state)
{
	(void)state;
	struct fix f;
	struct neg_config c = config(true, true);
	start(&f, &c);
	offer_op_quiet(&f);
	/* a discovery session answers digests None whatever the wishes */
	assert_int_equal(feed(&f, NEG_OP, T("HeaderDigest=CRC32C,None\0DataDigest=CRC32C\0"
					    "MaxRecvDataSegmentLength=32768\0")), 0);
	static const char want[] = "HeaderDigest=None\0DataDigest=Reject\0";
	assert_ans(&f, want, sizeof(want) - 1);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	struct iscsi_params p;
	neg_result(&f.n, &p);
	assert_false(p.header_digest);
	assert_false(p.data_digest);
	assert_int_equal(p.max_xmit_dsl, 32768);
}

static void test_non_leading(void **state)
{
	(void)state;
	struct fix f;
	struct neg_config c = config(false, false);
	c.session.max_burst_length = 65536;
	c.session.error_recovery_level = 1;
	c.session.initial_r2t = false;
	c.session.tpgt = 3;
	start(&f, &c);
	offer_op_quiet(&f);
	/* tgt offers session keys on a non-leading connection: we answer
	 * with what the session settled and keep the session's values */
	assert_int_equal(feed(&f, NEG_OP, T(
		"TargetPortalGroupTag=3\0HeaderDigest=None\0DataDigest=None\0"
		"MaxBurstLength=262144\0ErrorRecoveryLevel=2\0InitialR2T=No\0")), 0);
	static const char want[] = "MaxBurstLength=65536\0ErrorRecoveryLevel=1\0InitialR2T=No\0";
	assert_ans(&f, want, sizeof(want) - 1);
	assert_true(f.n.warnings & NEG_WARN_LO_ON_NONLEAD);
	assert_int_equal(neg_finish_stage(&f.n, NEG_OP, &f.why), 0);
	struct iscsi_params p;
	neg_result(&f.n, &p);
	assert_int_equal(p.max_burst_length, 65536);
	assert_int_equal(p.error_recovery_level, 1);
	assert_false(p.initial_r2t);
	assert_int_equal(p.tpgt, 3);
	/* the target offers a lower value: the answer is legal (min), the
	 * session keeps its value */
	start(&f, &c);
	assert_int_equal(feed(&f, NEG_OP, T("MaxBurstLength=4096\0")), 0);
	static const char low[] = "MaxBurstLength=4096\0";
	assert_ans(&f, low, sizeof(low) - 1);
	assert_int_equal(neg_value(&f.n, NEG_MAX_BURST), 65536);

	/* a different portal group */
	start(&f, &c);
	expect_proto(&f, NEG_SEC, T("TargetPortalGroupTag=4\0"),
		     "non-leading connection reached another portal group than the session's",
		     "TargetPortalGroupTag");
}

/* ---- declarations, unknown keys, duplicates ---------------------------- */

static void test_declarations(void **state)
{
	(void)state;
	struct fix f;
	struct iscsi_params p;
	char buf[256];
	size_t len = 0;

	start_leading(&f);
	assert_int_equal(neg_declare(&f.n, NEG_INITIATOR_ALIAS, "host", buf, sizeof(buf), &len), 0);
	assert_int_equal(feed(&f, NEG_SEC, T("TargetPortalGroupTag=1\0TargetAlias=disk\0"
					     "InitiatorAlias=NotUnderstood\0"
					     "TargetAddress=10.0.0.1:3260,1\0"
					     "TargetAddress=10.0.0.2:3260,1\0")), 0);
	assert_true(f.n.warnings & NEG_WARN_REFUSED);
	assert_int_equal(f.ans_len, 0);
	assert_int_equal(feed(&f, NEG_OP, T("MaxRecvDataSegmentLength=0x200\0")), 0);
	neg_result(&f.n, &p);
	assert_int_equal(p.tpgt, 1);
	assert_int_equal(p.max_xmit_dsl, 512);
	assert_int_equal(p.max_recv_dsl, 8192);  /* not declared by us yet */

	expect_proto(&f, NEG_OP, T("MaxRecvDataSegmentLength=512\0"),
		     "target declared a key twice", "MaxRecvDataSegmentLength");
	start_leading(&f);
	assert_int_equal(feed(&f, NEG_SEC, T("TargetAlias=a\0")), 0);
	expect_proto(&f, NEG_OP, T("TargetAlias=a\0"), "target declared a key twice",
		     "TargetAlias");

	start_leading(&f);
	expect_proto(&f, NEG_OP, T("MaxRecvDataSegmentLength=511\0"),
		     "target declared a MaxRecvDataSegmentLength outside 512-16777215",
		     "MaxRecvDataSegmentLength");
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("MaxRecvDataSegmentLength=16777216\0"),
		     "target declared a MaxRecvDataSegmentLength outside 512-16777215",
		     "MaxRecvDataSegmentLength");
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("TargetPortalGroupTag=65536\0"),
		     "target declared a malformed TargetPortalGroupTag",
		     "TargetPortalGroupTag");
	start_leading(&f);
	expect_proto(&f, NEG_SEC, T("InitiatorName=iqn.x\0"),
		     "target sent a key only an initiator may send", "InitiatorName");
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("SessionType=Normal\0"),
		     "target sent a key only an initiator may send", "SessionType");
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("AuthMethod=None\0"),
		     "key not allowed in this login stage", "AuthMethod");
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("CHAP_R=0x00\0"),
		     "key not allowed in this login stage", "CHAP_R");
}

static void test_unknown_and_duplicates(void **state)
{
	(void)state;
	struct fix f;

	start_leading(&f);
	assert_int_equal(feed(&f, NEG_OP, T("X-com.example.foo=bar\0Foo=1\0X#bar=2\0")), 0);
	static const char want[] = "X-com.example.foo=NotUnderstood\0Foo=NotUnderstood\0"
				   "X#bar=NotUnderstood\0";
	assert_ans(&f, want, sizeof(want) - 1);
	assert_true(f.n.warnings & NEG_WARN_UNKNOWN_KEY);

	start_leading(&f);
	expect_proto(&f, NEG_OP, T("Foo=1\0Bar=2\0Foo=1\0"),
		     "key appears twice in one response", NULL);
	start_leading(&f);
	offer_op_quiet(&f);
	expect_proto(&f, NEG_OP, T("MaxBurstLength=512\0MaxBurstLength=512\0"),
		     "key appears twice in one response", "MaxBurstLength");
	start_leading(&f);
	expect_proto(&f, NEG_SEC, T("CHAP_C=0x01\0CHAP_C=0x01\0"),
		     "key appears twice in one response", "CHAP_C");

	/* too many unknown keys */
	char big[4096];
	size_t len = 0;
	for (int i = 0; i < 65; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "K%d=1", i) + 1;
	start_leading(&f);
	expect_proto(&f, NEG_OP, big, len, "too many unknown keys in one response", NULL);

	/* malformed text */
	start_leading(&f);
	expect_proto(&f, NEG_OP, T("MaxBurstLength=512"),
		     "key=value pair not terminated by NUL", NULL);

	/* answers that do not fit */
	start_leading(&f);
	f.ans_len = 0;
	assert_int_equal(neg_recv(&f.n, NEG_OP, T("Foo=1\0"), f.ans, 10, &f.ans_len,
				  &f.auth, &f.why), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wishes),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_offer_leading),
		cmocka_unit_test(test_offer_discovery_and_nonleading),
		cmocka_unit_test(test_offer_atomic),
		cmocka_unit_test(test_typical_answers),
		cmocka_unit_test(test_min_max),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_unanswered),
		cmocka_unit_test(test_optional_answers),
		cmocka_unit_test(test_first_burst_clamp),
		cmocka_unit_test(test_target_offers),
		cmocka_unit_test(test_discovery_answers),
		cmocka_unit_test(test_non_leading),
		cmocka_unit_test(test_declarations),
		cmocka_unit_test(test_unknown_and_duplicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
