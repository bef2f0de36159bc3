/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the key=value iterator and the negotiation of arbitrary target
 * responses. Byte 0 picks the session (leading, non-leading, discovery)
 * and the digest wishes; the rest is a response text fed in the security
 * stage and, after our operational offers, in the operational stage.
 * Oracles: the iterator stays inside the buffer and only returns pairs
 * that obey the framing; negotiation returns 0, -EPROTO (with a reason)
 * or -ENOSPC; whatever it settles is within the key's range and, for
 * keys we offered, consistent with the result function.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/neg.h"
#include "proto/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_iter(const char *t, size_t len)
{
	struct text_iter it;
	struct text_pair p;
	const char *why = NULL;
	char esc[256];
	int rc;

	text_iter_init(&it, t, len);
	while ((rc = text_next(&it, &p, &why)) > 0) {
		if (p.key < t || p.value + p.value_len > t + len ||
		    p.key_len == 0 || p.key_len > TEXT_MAX_KEY ||
		    p.value_len > TEXT_MAX_VALUE || p.value[p.value_len] != '\0' ||
		    memchr(p.key, '=', p.key_len) || p.key + p.key_len + 1 != p.value)
			abort();
		uint32_t v;
		if (text_parse_u32(p.value, p.value_len, 0xffffffffu, &v) == 0 &&
		    p.value_len == 0)
			abort();
		text_escape(esc, sizeof(esc), p.value, p.value_len);
		if (strlen(esc) >= sizeof(esc))
			abort();
	}
	if (rc < 0 && (rc != -EPROTO || !why))
		abort();
}

static void check_params(const struct neg *n, const struct iscsi_params *p)
{
	const struct iscsi_wishes *w = &n->cfg.wishes;

	if (p->error_recovery_level > 2 || p->max_burst_length < 512 ||
	    p->max_burst_length > 16777215 || p->first_burst_length < 512 ||
	    p->max_connections < 1 || p->max_connections > 65535 ||
	    p->max_outstanding_r2t < 1 || p->max_outstanding_r2t > 65535 ||
	    p->default_time2wait > 3600 || p->default_time2retain > 3600 ||
	    p->max_xmit_dsl < 512 || p->max_xmit_dsl > 16777215 ||
	    p->tpgt > 65535)
		abort();
	if (n->cfg.leading && p->first_burst_length > p->max_burst_length)
		abort();
	/* offered min keys never come back above the offer */
	if (n->cfg.leading && !n->cfg.discovery &&
	    (p->max_burst_length > w->max_burst_length ||
	     p->error_recovery_level > w->error_recovery_level ||
	     p->max_outstanding_r2t > w->max_outstanding_r2t ||
	     p->default_time2wait < w->default_time2wait ||
	     (w->data_pdu_in_order && !p->data_pdu_in_order) ||
	     (!w->immediate_data && p->immediate_data)))
		abort();
	if (w->header_digest == ISCSI_DIGEST_CRC_ONLY && !n->cfg.discovery &&
	    !p->header_digest)
		abort();
	if (n->cfg.discovery && (p->header_digest || p->data_digest))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ans[16384];
	char offer[1024];
	struct neg n;
	struct neg_config c;
	struct neg_auth auth;
	const char *why = NULL;
	size_t ans_len = 0, off_len = 0;

	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const char *t = (const char *)data + 1;
	size_t len = size - 1;

	check_iter(t, len);

	memset(&c, 0, sizeof(c));
	neg_wishes_default(&c.wishes);
	c.wishes.header_digest = (enum iscsi_digest_pref)(sel & 3);
	c.wishes.data_digest = (enum iscsi_digest_pref)((sel >> 2) & 3);
	c.leading = !(sel & 0x10);
	c.discovery = c.leading && (sel & 0x20);
	neg_params_default(&c.session);
	c.session.tpgt = (sel & 0x40) ? 1 : -1;
	c.auth_offer[0] = NEG_AUTHM_NONE;
	c.auth_offer[1] = NEG_AUTHM_CHAP;
	c.n_auth_offer = 2;
	c.chap_offer[0] = 5;
	c.n_chap_offer = 1;
	if (neg_init(&n, &c, &why))
		abort();

	/* the security stage: AuthMethod and CHAP_A offered */
	if (neg_offer_key(&n, NEG_AUTH_METHOD, offer, sizeof(offer), &off_len) ||
	    neg_offer_key(&n, NEG_CHAP_A, offer, sizeof(offer), &off_len))
		abort();
	int rc = neg_recv(&n, NEG_SEC, t, len, ans, sizeof(ans), &ans_len, &auth, &why);
	if (rc != 0 && rc != -EPROTO && rc != -ENOSPC)
		abort();
	if (rc == -EPROTO && !why)
		abort();
	if (rc)
		return 0;
	if (auth.chap_c.present && (auth.chap_c.v < t || auth.chap_c.v > t + len))
		abort();
	if (neg_finish_stage(&n, NEG_SEC, &why) == 0 &&
	    neg_value(&n, NEG_CHAP_A) != 5 && neg_state(&n, NEG_CHAP_A) == NEG_ST_DONE)
		abort();

	/* the operational stage: our offers, the same text as the answer */
	off_len = 0;
	if (neg_offer(&n, NEG_OP, offer, sizeof(offer), &off_len))
		abort();
	ans_len = 0;
	rc = neg_recv(&n, NEG_OP, t, len, ans, sizeof(ans), &ans_len, &auth, &why);
	if (rc != 0 && rc != -EPROTO && rc != -ENOSPC)
		abort();
	if (rc)
		return 0;
	check_iter(ans, ans_len);
	if (neg_finish_stage(&n, NEG_OP, &why))
		return 0;
	struct iscsi_params p;
	neg_result(&n, &p);
	check_params(&n, &p);
	return 0;
}
