/* SPDX-License-Identifier: MIT */
#include "negotiate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum neg_rule { NEG_MIN, NEG_MAX, NEG_OR, NEG_AND, NEG_DIGEST, NEG_DECLARE_DSL,
		NEG_FIXED_NO, NEG_IRRELEVANT, NEG_LEVEL, NEG_TASKREPORT };

struct neg_key {
	const char *name;
	enum neg_rule rule;
	bool session;                 /* session-wide (leading connection) */
	uint32_t lo, hi;
	size_t field;                 /* offset in struct tt_params */
	size_t limit;                 /* offset in struct tt_limits */
};

#define P(f) offsetof(struct tt_params, f)
#define L(f) offsetof(struct tt_limits, f)
static const struct neg_key neg_keys[] = {
	/* key                       rule         session lo   hi          params                 limits */
	{ "MaxConnections",          NEG_MIN,     true,   1,   65535,      P(max_connections),    L(max_connections) },
	{ "InitialR2T",              NEG_OR,      true,   0,   1,          P(initial_r2t),        L(initial_r2t) },
	{ "ImmediateData",           NEG_AND,     true,   0,   1,          P(immediate_data),     L(immediate_data) },
	{ "MaxBurstLength",          NEG_MIN,     true,   512, 16777215,   P(max_burst),          L(max_burst) },
	{ "FirstBurstLength",        NEG_MIN,     true,   512, 16777215,   P(first_burst),        L(first_burst) },
	{ "DefaultTime2Wait",        NEG_MAX,     true,   0,   3600,       P(time2wait),          L(time2wait) },
	{ "DefaultTime2Retain",      NEG_MIN,     true,   0,   3600,       P(time2retain),        L(time2retain) },
	{ "MaxOutstandingR2T",       NEG_MIN,     true,   1,   65535,      P(max_r2t),            L(max_r2t) },
	{ "DataPDUInOrder",          NEG_OR,      true,   0,   1,          P(data_pdu_in_order),  L(data_pdu_in_order) },
	{ "DataSequenceInOrder",     NEG_OR,      true,   0,   1,          P(data_seq_in_order),  L(data_seq_in_order) },
	{ "ErrorRecoveryLevel",      NEG_MIN,     true,   0,   2,          P(erl),                L(erl) },
	{ "HeaderDigest",            NEG_DIGEST,  false,  0,   0,          P(hdr_digest),         0 },
	{ "DataDigest",              NEG_DIGEST,  false,  0,   0,          P(data_digest),        0 },
	{ "MaxRecvDataSegmentLength",NEG_DECLARE_DSL, false, 512, 16777215, P(send_dsl),          0 },
	{ "IFMarker",                NEG_FIXED_NO, false, 0,   0,          0,                     0 },
	{ "OFMarker",                NEG_FIXED_NO, false, 0,   0,          0,                     0 },
	{ "IFMarkInt",               NEG_IRRELEVANT, false, 0, 0,          0,                     0 },
	{ "OFMarkInt",               NEG_IRRELEVANT, false, 0, 0,          0,                     0 },
	{ "iSCSIProtocolLevel",      NEG_LEVEL,   true,   0,   1,          0,                     0 },
	{ "TaskReporting",           NEG_TASKREPORT, true, 0,  0,          0,                     0 },
};
#undef P
#undef L

void tgtneg_defaults(struct tt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_connections = 1;
	p->initial_r2t = true;
	p->immediate_data = true;
	p->max_burst = 262144;
	p->first_burst = 65536;
	p->time2wait = 2;
	p->time2retain = 20;
	p->max_r2t = 1;
	p->data_pdu_in_order = true;
	p->data_seq_in_order = true;
	p->erl = 0;
	p->send_dsl = 8192;
	p->recv_dsl = 8192;
}

static const struct neg_key *tgtneg_lookup(const struct text_pair *kv)
{
	for (size_t i = 0; i < sizeof(neg_keys) / sizeof(neg_keys[0]); i++)
		if (text_key_is(kv, neg_keys[i].name))
			return &neg_keys[i];
	return NULL;
}

bool tgtneg_is_operational(const struct text_pair *kv)
{
	return tgtneg_lookup(kv) != NULL;
}

static bool neg_value_is(const char *v, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(v, s, len);
}

/* Boolean and number fields are stored as bool or uint32_t. */
static uint32_t neg_get(const void *base, size_t off, enum neg_rule r)
{
	if (r == NEG_OR || r == NEG_AND || r == NEG_DIGEST)
		return *(const bool *)((const char *)base + off);
	return *(const uint32_t *)((const char *)base + off);
}

static void neg_set(void *base, size_t off, enum neg_rule r, uint32_t v)
{
	if (r == NEG_OR || r == NEG_AND || r == NEG_DIGEST)
		*(bool *)((char *)base + off) = v != 0;
	else
		*(uint32_t *)((char *)base + off) = v;
}

static int neg_bool(const char *v, size_t len, uint32_t *out)
{
	if (neg_value_is(v, len, "Yes"))
		*out = 1;
	else if (neg_value_is(v, len, "No"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

/* Picks the digest from the initiator's list: its first value that we
 * accept, or CRC32C whenever offered if we prefer it. */
static int neg_digest(const struct tt_limits *lim, const char *v, size_t len,
		      const char **pick)
{
	bool crc = false, none = false;
	const char *first = NULL;
	size_t pos = 0;
	while (pos <= len) {
		size_t e = pos;
		while (e < len && v[e] != ',')
			e++;
		const char *item = v + pos;
		size_t il = e - pos;
		if (neg_value_is(item, il, "CRC32C") && lim->allow_crc) {
			crc = true;
			if (!first)
				first = "CRC32C";
		} else if (neg_value_is(item, il, "None") && lim->allow_none) {
			none = true;
			if (!first)
				first = "None";
		}
		pos = e + 1;
	}
	if (lim->prefer_crc && crc)
		first = "CRC32C";
	(void)none;
	if (!first)
		return -EINVAL;
	*pick = first;
	return 0;
}

int tgtneg_answer(const struct tt_limits *lim, struct tt_params *p, bool leading,
	       const struct text_pair *kv, char *rsp, size_t cap, size_t *len)
{
	char key[TEXT_MAX_KEY + 1];
	char val[32];
	const struct neg_key *k = tgtneg_lookup(kv);

	size_t kl = kv->key_len < TEXT_MAX_KEY ? kv->key_len : TEXT_MAX_KEY;
	memcpy(key, kv->key, kl);
	key[kl] = '\0';
	if (!k)
		return text_append(rsp, cap, len, key, "NotUnderstood");

	switch (k->rule) {
	case NEG_FIXED_NO:
		return text_append(rsp, cap, len, key, "No");
	case NEG_IRRELEVANT:
		return text_append(rsp, cap, len, key, "Irrelevant");
	case NEG_LEVEL: {
		uint32_t lvl;
		if (text_parse_u32(kv->value, kv->value_len, 0xffff, &lvl))
			return text_append(rsp, cap, len, key, "Reject");
		return text_append_u32(rsp, cap, len, key, lvl < 1 ? lvl : 1);
	}
	case NEG_TASKREPORT:
		return text_append(rsp, cap, len, key, "RFC3720");
	case NEG_DECLARE_DSL: {
		uint32_t v;
		if (text_parse_u32(kv->value, kv->value_len, 16777215, &v) || v < 512)
			return text_append(rsp, cap, len, key, "Reject");
		p->send_dsl = v;
		return 0;                      /* declarative: no answer */
	}
	case NEG_DIGEST: {
		const char *pick;
		if (neg_digest(lim, kv->value, kv->value_len, &pick))
			return text_append(rsp, cap, len, key, "Reject");
		neg_set(p, k->field, k->rule, pick[0] == 'C');
		return text_append(rsp, cap, len, key, pick);
	}
	default:
		break;
	}

	uint32_t offer, ours = neg_get(lim, k->limit, k->rule), res;
	bool is_bool = k->rule == NEG_OR || k->rule == NEG_AND;
	int bad = is_bool ? neg_bool(kv->value, kv->value_len, &offer)
			  : text_parse_u32(kv->value, kv->value_len, k->hi, &offer);
	if (bad || (!is_bool && offer < k->lo))
		return text_append(rsp, cap, len, key, "Reject");
	if (k->session && !leading) {
		/* A non-leading login cannot change session-wide values. */
		res = neg_get(p, k->field, k->rule);
	} else {
		switch (k->rule) {
		case NEG_MIN: res = offer < ours ? offer : ours; break;
		case NEG_MAX: res = offer > ours ? offer : ours; break;
		case NEG_OR:  res = offer || ours; break;
		case NEG_AND: res = offer && ours; break;
		default:      res = offer; break;
		}
		neg_set(p, k->field, k->rule, res);
		if (p->first_burst > p->max_burst)
			p->first_burst = p->max_burst;
	}
	if (is_bool)
		return text_append(rsp, cap, len, key, res ? "Yes" : "No");
	snprintf(val, sizeof(val), "%u", res);
	return text_append(rsp, cap, len, key, val);
}
