/* SPDX-License-Identifier: MIT */
/*
 * The negotiation table and the rules that judge a target's answers.
 * docs/design/negotiation.md walks through every key.
 */
#include "proto/neg.h"

#include <errno.h>
#include <string.h>

#include "proto/text.h"

#define BOTH    (NEG_FROM_I | NEG_FROM_T)
#define ANY     (NEG_STAGE_SEC | NEG_STAGE_OP)
#define U24     16777215u

static const struct neg_key keys[NEG_NKEYS] = {
	/* key                          result           scope              senders      stages         min  max    default */
	[NEG_AUTH_METHOD]       = { "AuthMethod",         NEG_FN_LIST, NEG_SCOPE_CONN,    BOTH,       NEG_STAGE_SEC, 0, 1,      NEG_AUTHM_NONE },
	[NEG_CHAP_A]            = { "CHAP_A",             NEG_FN_LIST, NEG_SCOPE_CONN,    BOTH,       NEG_STAGE_SEC, 5, 8,      0 },
	[NEG_CHAP_I]            = { "CHAP_I",             NEG_FN_AUTH, NEG_SCOPE_CONN,    BOTH,       NEG_STAGE_SEC, 0, 255,    0 },
	[NEG_CHAP_C]            = { "CHAP_C",             NEG_FN_AUTH, NEG_SCOPE_CONN,    BOTH,       NEG_STAGE_SEC, 0, 0,      0 },
	[NEG_CHAP_N]            = { "CHAP_N",             NEG_FN_AUTH, NEG_SCOPE_CONN,    BOTH,       NEG_STAGE_SEC, 0, 0,      0 },
	[NEG_CHAP_R]            = { "CHAP_R",             NEG_FN_AUTH, NEG_SCOPE_CONN,    BOTH,       NEG_STAGE_SEC, 0, 0,      0 },
	[NEG_INITIATOR_NAME]    = { "InitiatorName",      NEG_FN_DECL, NEG_SCOPE_CONN,    NEG_FROM_I, ANY,           0, 0,      0 },
	[NEG_INITIATOR_ALIAS]   = { "InitiatorAlias",     NEG_FN_DECL, NEG_SCOPE_CONN,    NEG_FROM_I, ANY,           0, 0,      0 },
	[NEG_TARGET_NAME]       = { "TargetName",         NEG_FN_DECL, NEG_SCOPE_CONN,    BOTH,       ANY,           0, 0,      0 },
	[NEG_TARGET_ALIAS]      = { "TargetAlias",        NEG_FN_DECL, NEG_SCOPE_CONN,    NEG_FROM_T, ANY,           0, 0,      0 },
	[NEG_TARGET_ADDRESS]    = { "TargetAddress",      NEG_FN_DECL, NEG_SCOPE_CONN,    NEG_FROM_T, ANY,           0, 0,      0 },
	[NEG_TPGT]              = { "TargetPortalGroupTag", NEG_FN_DECL, NEG_SCOPE_CONN,  NEG_FROM_T, ANY,           0, 65535,  0 },
	[NEG_SESSION_TYPE]      = { "SessionType",        NEG_FN_DECL, NEG_SCOPE_SESSION, NEG_FROM_I, ANY,           0, 0,      0 },
	[NEG_SEND_TARGETS]      = { "SendTargets",        NEG_FN_DECL, NEG_SCOPE_SESSION, NEG_FROM_I, 0,             0, 0,      0 },
	[NEG_HEADER_DIGEST]     = { "HeaderDigest",       NEG_FN_LIST, NEG_SCOPE_CONN,    BOTH,       ANY,           0, 1,      NEG_DIGEST_NONE },
	[NEG_DATA_DIGEST]       = { "DataDigest",         NEG_FN_LIST, NEG_SCOPE_CONN,    BOTH,       ANY,           0, 1,      NEG_DIGEST_NONE },
	[NEG_MAX_RECV_DSL]      = { "MaxRecvDataSegmentLength", NEG_FN_DECL, NEG_SCOPE_CONN, BOTH,    ANY,           512, U24,  8192 },
	[NEG_MAX_CONNECTIONS]   = { "MaxConnections",     NEG_FN_MIN,  NEG_SCOPE_SESSION, BOTH,       ANY,           1, 65535,  1 },
	[NEG_INITIAL_R2T]       = { "InitialR2T",         NEG_FN_OR,   NEG_SCOPE_SESSION, BOTH,       ANY,           0, 1,      1 },
	[NEG_IMMEDIATE_DATA]    = { "ImmediateData",      NEG_FN_AND,  NEG_SCOPE_SESSION, BOTH,       ANY,           0, 1,      1 },
	[NEG_MAX_BURST]         = { "MaxBurstLength",     NEG_FN_MIN,  NEG_SCOPE_SESSION, BOTH,       ANY,           512, U24,  262144 },
	[NEG_FIRST_BURST]       = { "FirstBurstLength",   NEG_FN_MIN,  NEG_SCOPE_SESSION, BOTH,       ANY,           512, U24,  65536 },
	[NEG_TIME2WAIT]         = { "DefaultTime2Wait",   NEG_FN_MAX,  NEG_SCOPE_SESSION, BOTH,       ANY,           0, 3600,   2 },
	[NEG_TIME2RETAIN]       = { "DefaultTime2Retain", NEG_FN_MIN,  NEG_SCOPE_SESSION, BOTH,       ANY,           0, 3600,   20 },
	[NEG_MAX_R2T]           = { "MaxOutstandingR2T",  NEG_FN_MIN,  NEG_SCOPE_SESSION, BOTH,       ANY,           1, 65535,  1 },
	[NEG_DATA_PDU_IN_ORDER] = { "DataPDUInOrder",     NEG_FN_OR,   NEG_SCOPE_SESSION, BOTH,       ANY,           0, 1,      1 },
	[NEG_DATA_SEQ_IN_ORDER] = { "DataSequenceInOrder", NEG_FN_OR,  NEG_SCOPE_SESSION, BOTH,       ANY,           0, 1,      1 },
	[NEG_ERL]               = { "ErrorRecoveryLevel", NEG_FN_MIN,  NEG_SCOPE_SESSION, BOTH,       ANY,           0, 2,      0 },
	/* RFC 7143 13.23; we implement RFC3720 task reporting only */
	[NEG_TASK_REPORTING]    = { "TaskReporting",      NEG_FN_LIST, NEG_SCOPE_SESSION, BOTH,       ANY,           0, 2,      0 },
	/* RFC 7144: 1 stands for RFC 7143 */
	[NEG_PROTOCOL_LEVEL]    = { "iSCSIProtocolLevel", NEG_FN_MIN,  NEG_SCOPE_SESSION, BOTH,       ANY,           0, 31,     0 },
	/* RFC 7145 (iSER); never over TCP */
	[NEG_RDMA_EXTENSIONS]   = { "RDMAExtensions",     NEG_FN_AND,  NEG_SCOPE_SESSION, BOTH,       ANY,           0, 1,      0 },
	[NEG_OF_MARKER]         = { "OFMarker",           NEG_FN_OBSOLETE, NEG_SCOPE_CONN, BOTH,      ANY,           0, 1,      0 },
	[NEG_IF_MARKER]         = { "IFMarker",           NEG_FN_OBSOLETE, NEG_SCOPE_CONN, BOTH,      ANY,           0, 1,      0 },
	[NEG_OF_MARK_INT]       = { "OFMarkInt",          NEG_FN_OBSOLETE, NEG_SCOPE_CONN, BOTH,      ANY,           0, 0,      0 },
	[NEG_IF_MARK_INT]       = { "IFMarkInt",          NEG_FN_OBSOLETE, NEG_SCOPE_CONN, BOTH,      ANY,           0, 0,      0 },
};

/* What we offer in the operational stage, in this order. */
static const uint8_t op_offer_order[] = {
	NEG_HEADER_DIGEST, NEG_DATA_DIGEST, NEG_ERL, NEG_INITIAL_R2T,
	NEG_IMMEDIATE_DATA, NEG_MAX_BURST, NEG_FIRST_BURST,
	NEG_MAX_CONNECTIONS, NEG_DATA_PDU_IN_ORDER, NEG_DATA_SEQ_IN_ORDER,
	NEG_MAX_R2T, NEG_TIME2WAIT, NEG_TIME2RETAIN, NEG_MAX_RECV_DSL,
};

/* Names of list values, indexed by code. */
static const char *const digest_names[] = { "None", "CRC32C" };
static const char *const auth_names[] = { "None", "CHAP" };
static const char *const report_names[] = { "RFC3720", "ResponseFence",
					    "FastAbort" };

/* At most this many keys the table does not know in one response; each
 * costs a NotUnderstood answer and a duplicate check. */
#define NEG_MAX_UNKNOWN 64

void neg_wishes_default(struct iscsi_wishes *w)
{
	*w = (struct iscsi_wishes){
		.max_connections = 1,
		.error_recovery_level = 2,
		.header_digest = ISCSI_DIGEST_PREFER_NONE,
		.data_digest = ISCSI_DIGEST_PREFER_NONE,
		.initial_r2t = false,
		.immediate_data = true,
		.data_pdu_in_order = true,
		.data_sequence_in_order = true,
		.max_recv_dsl = 262144,
		.max_burst_length = 16776192,
		.first_burst_length = 262144,
		.max_outstanding_r2t = 16,
		.default_time2wait = 2,
		.default_time2retain = 20,
	};
}

static bool in_range(enum neg_key_id k, uint32_t v)
{
	return v >= keys[k].min && v <= keys[k].max;
}

int neg_wishes_check(const struct iscsi_wishes *w, const char **why)
{
	static const struct { uint8_t k; const char *why; } r[] = {
		{ NEG_MAX_CONNECTIONS, "MaxConnections outside 1-65535" },
		{ NEG_ERL, "ErrorRecoveryLevel outside 0-2" },
		{ NEG_MAX_RECV_DSL, "MaxRecvDataSegmentLength outside 512-16777215" },
		{ NEG_MAX_BURST, "MaxBurstLength outside 512-16777215" },
		{ NEG_FIRST_BURST, "FirstBurstLength outside 512-16777215" },
		{ NEG_MAX_R2T, "MaxOutstandingR2T outside 1-65535" },
		{ NEG_TIME2WAIT, "DefaultTime2Wait outside 0-3600" },
		{ NEG_TIME2RETAIN, "DefaultTime2Retain outside 0-3600" },
	};
	const uint32_t v[] = {
		w->max_connections, w->error_recovery_level, w->max_recv_dsl,
		w->max_burst_length, w->first_burst_length,
		w->max_outstanding_r2t, w->default_time2wait,
		w->default_time2retain,
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (!in_range(r[i].k, v[i])) {
			*why = r[i].why;
			return -EINVAL;
		}
	}
	if (w->first_burst_length > w->max_burst_length) {
		*why = "FirstBurstLength exceeds MaxBurstLength";
		return -EINVAL;
	}
	if ((unsigned)w->header_digest > ISCSI_DIGEST_CRC_ONLY ||
	    (unsigned)w->data_digest > ISCSI_DIGEST_CRC_ONLY) {
		*why = "unknown digest preference";
		return -EINVAL;
	}
	return 0;
}

void neg_params_default(struct iscsi_params *p)
{
	*p = (struct iscsi_params){
		.max_connections = 1,
		.initial_r2t = true,
		.immediate_data = true,
		.max_burst_length = 262144,
		.first_burst_length = 65536,
		.default_time2wait = 2,
		.default_time2retain = 20,
		.max_outstanding_r2t = 1,
		.data_pdu_in_order = true,
		.data_sequence_in_order = true,
		.error_recovery_level = 0,
		.max_recv_dsl = NEG_DEFAULT_MAX_DSL,
		.max_xmit_dsl = NEG_DEFAULT_MAX_DSL,
		.tpgt = -1,
	};
}

const struct neg_key *neg_key_info(enum neg_key_id id)
{
	return &keys[id];
}

int neg_key_lookup(const char *name, size_t len)
{
	for (int k = 0; k < NEG_NKEYS; k++) {
		if (strlen(keys[k].name) == len && memcmp(keys[k].name, name, len) == 0)
			return k;
	}
	return -1;
}

const char *neg_error_key(const struct neg *n)
{
	return n->err_key >= 0 ? keys[n->err_key].name : NULL;
}

/* ---- values ---------------------------------------------------------- */

static bool value_is(const char *v, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len == n && memcmp(v, s, n) == 0;
}

/* The RFC's reserved answers; never a proposed value. */
static bool is_refusal(const char *v, size_t len)
{
	return value_is(v, len, "NotUnderstood") || value_is(v, len, "Reject") ||
	       value_is(v, len, "Irrelevant");
}

static int parse_bool(const char *v, size_t len)
{
	if (value_is(v, len, "Yes"))
		return 1;
	if (value_is(v, len, "No"))
		return 0;
	return -1;
}

/* Code of one list value, or -1 if we do not know it. */
static int list_code(enum neg_key_id k, const char *v, size_t len)
{
	const char *const *names;
	size_t count;

	switch (k) {
	case NEG_HEADER_DIGEST:
	case NEG_DATA_DIGEST:
		names = digest_names;
		count = 2;
		break;
	case NEG_AUTH_METHOD:
		names = auth_names;
		count = 2;
		break;
	case NEG_TASK_REPORTING:
		names = report_names;
		count = 3;
		break;
	case NEG_CHAP_A: {
		uint32_t a;
		if (text_parse_u32(v, len, 255, &a) || a < 5 || a > 8)
			return -1;
		return (int)a;
	}
	default:
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		if (value_is(v, len, names[i]))
			return (int)i;
	return -1;
}

static int list_name(enum neg_key_id k, uint32_t code, char *buf, size_t cap)
{
	const char *s;

	switch (k) {
	case NEG_HEADER_DIGEST:
	case NEG_DATA_DIGEST:
		s = digest_names[code & 1];
		break;
	case NEG_AUTH_METHOD:
		s = auth_names[code & 1];
		break;
	case NEG_TASK_REPORTING:
		s = code < 3 ? report_names[code] : "RFC3720";
		break;
	default:
		/* CHAP_A: a number */
		if (cap < 4)
			return -ENOSPC;
		buf[0] = (char)('0' + code % 10);
		buf[1] = '\0';
		return 0;
	}
	if (strlen(s) >= cap)
		return -ENOSPC;
	strcpy(buf, s);
	return 0;
}

static enum iscsi_digest_pref digest_pref(const struct neg *n,
					  enum neg_key_id k)
{
	if (n->cfg.discovery)
		return ISCSI_DIGEST_NONE;
	return k == NEG_HEADER_DIGEST ? n->cfg.wishes.header_digest
				      : n->cfg.wishes.data_digest;
}

/* The list we would offer, in order. Returns the count. */
static size_t our_list(const struct neg *n, enum neg_key_id k, uint8_t out[4])
{
	switch (k) {
	case NEG_HEADER_DIGEST:
	case NEG_DATA_DIGEST:
		switch (digest_pref(n, k)) {
		case ISCSI_DIGEST_NONE:
			out[0] = NEG_DIGEST_NONE;
			return 1;
		case ISCSI_DIGEST_PREFER_NONE:
			out[0] = NEG_DIGEST_NONE;
			out[1] = NEG_DIGEST_CRC32C;
			return 2;
		case ISCSI_DIGEST_PREFER_CRC:
			out[0] = NEG_DIGEST_CRC32C;
			out[1] = NEG_DIGEST_NONE;
			return 2;
		case ISCSI_DIGEST_CRC_ONLY:
			out[0] = NEG_DIGEST_CRC32C;
			return 1;
		}
		return 0;
	case NEG_AUTH_METHOD:
		memcpy(out, n->cfg.auth_offer, n->cfg.n_auth_offer);
		return n->cfg.n_auth_offer;
	case NEG_CHAP_A:
		memcpy(out, n->cfg.chap_offer, n->cfg.n_chap_offer);
		return n->cfg.n_chap_offer;
	case NEG_TASK_REPORTING:
		out[0] = 0;
		return 1;
	default:
		return 0;
	}
}

static uint32_t list_mask(const struct neg *n, enum neg_key_id k)
{
	uint8_t l[4];
	uint32_t m = 0;
	size_t c = our_list(n, k, l);

	for (size_t i = 0; i < c; i++)
		m |= 1u << l[i];
	return m;
}

/* Our wish for a numerical or boolean key. On a non-leading connection the
 * session keys were settled by the leading login: that value is the wish. */
static uint32_t wish(const struct neg *n, enum neg_key_id k)
{
	const struct iscsi_wishes *w = &n->cfg.wishes;

	if (!n->cfg.leading && keys[k].scope == NEG_SCOPE_SESSION)
		return n->value[k];
	switch (k) {
	case NEG_MAX_CONNECTIONS: return w->max_connections;
	case NEG_INITIAL_R2T: return w->initial_r2t;
	case NEG_IMMEDIATE_DATA: return w->immediate_data;
	case NEG_MAX_BURST: return w->max_burst_length;
	case NEG_FIRST_BURST: return w->first_burst_length;
	case NEG_TIME2WAIT: return w->default_time2wait;
	case NEG_TIME2RETAIN: return w->default_time2retain;
	case NEG_MAX_R2T: return w->max_outstanding_r2t;
	case NEG_DATA_PDU_IN_ORDER: return w->data_pdu_in_order;
	case NEG_DATA_SEQ_IN_ORDER: return w->data_sequence_in_order;
	case NEG_ERL: return w->error_recovery_level;
	case NEG_MAX_RECV_DSL: return w->max_recv_dsl;
	case NEG_PROTOCOL_LEVEL: return 1;
	default: return 0;  /* RDMAExtensions=No */
	}
}

static uint32_t apply_fn(enum neg_key_id k, uint32_t a, uint32_t b)
{
	switch (keys[k].fn) {
	case NEG_FN_MIN: return a < b ? a : b;
	case NEG_FN_MAX: return a > b ? a : b;
	case NEG_FN_OR: return a | b;
	case NEG_FN_AND: return a & b;
	default: return b;
	}
}

/* ---- setup and offers ------------------------------------------------- */

int neg_init(struct neg *n, const struct neg_config *cfg, const char **why)
{
	int rc = neg_wishes_check(&cfg->wishes, why);
	if (rc)
		return rc;
	if (cfg->n_auth_offer < 1 || cfg->n_auth_offer > 2 ||
	    cfg->n_chap_offer > 4) {
		*why = "bad AuthMethod or CHAP_A offer";
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->n_auth_offer; i++) {
		if (cfg->auth_offer[i] > NEG_AUTHM_CHAP) {
			*why = "bad AuthMethod offer";
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < cfg->n_chap_offer; i++) {
		if (cfg->chap_offer[i] < 5 || cfg->chap_offer[i] > 8) {
			*why = "bad CHAP_A offer";
			return -EINVAL;
		}
	}
	memset(n, 0, sizeof(*n));
	n->cfg = *cfg;
	for (int k = 0; k < NEG_NKEYS; k++)
		n->value[k] = keys[k].def;
	if (!cfg->leading) {
		const struct iscsi_params *s = &cfg->session;
		n->value[NEG_MAX_CONNECTIONS] = s->max_connections;
		n->value[NEG_INITIAL_R2T] = s->initial_r2t;
		n->value[NEG_IMMEDIATE_DATA] = s->immediate_data;
		n->value[NEG_MAX_BURST] = s->max_burst_length;
		n->value[NEG_FIRST_BURST] = s->first_burst_length;
		n->value[NEG_TIME2WAIT] = s->default_time2wait;
		n->value[NEG_TIME2RETAIN] = s->default_time2retain;
		n->value[NEG_MAX_R2T] = s->max_outstanding_r2t;
		n->value[NEG_DATA_PDU_IN_ORDER] = s->data_pdu_in_order;
		n->value[NEG_DATA_SEQ_IN_ORDER] = s->data_sequence_in_order;
		n->value[NEG_ERL] = s->error_recovery_level;
	}
	n->max_xmit_dsl = NEG_DEFAULT_MAX_DSL;
	n->tpgt = -1;
	n->warn_key = -1;
	n->err_key = -1;
	n->offer_key = -1;
	return 0;
}

static bool offerable(const struct neg *n, enum neg_key_id k)
{
	if (n->state[k] != NEG_ST_NONE)
		return false;
	if (k == NEG_MAX_RECV_DSL)
		return true;
	if (n->cfg.discovery)
		return false;
	if (keys[k].scope == NEG_SCOPE_SESSION)
		return n->cfg.leading;
	return true;
}

/* Formats our offer of key k into buf and returns what to remember as
 * offered[k] through *off. */
static int format_offer(const struct neg *n, enum neg_key_id k, char *buf,
			size_t cap, size_t *len, uint32_t *off)
{
	char list[40];

	switch (keys[k].fn) {
	case NEG_FN_LIST: {
		uint8_t l[4];
		size_t c = our_list(n, k, l), o = 0;
		if (c == 0)
			return -EINVAL;
		for (size_t i = 0; i < c; i++) {
			char one[16];
			if (list_name(k, l[i], one, sizeof(one)))
				return -EINVAL;
			size_t ol = strlen(one);
			if (o + ol + 2 > sizeof(list))
				return -EINVAL;
			if (i)
				list[o++] = ',';
			memcpy(list + o, one, ol);
			o += ol;
		}
		list[o] = '\0';
		*off = list_mask(n, k);
		return text_append(buf, cap, len, keys[k].name, list);
	}
	case NEG_FN_OR:
	case NEG_FN_AND:
		*off = wish(n, k);
		return text_append(buf, cap, len, keys[k].name,
				   *off ? "Yes" : "No");
	default:
		*off = wish(n, k);
		return text_append_u32(buf, cap, len, keys[k].name, *off);
	}
}

static void mark_offered(struct neg *n, enum neg_key_id k, uint32_t off)
{
	n->offered[k] = off;
	/* A declaration needs no answer: it is settled once sent. */
	n->state[k] = keys[k].fn == NEG_FN_DECL ? NEG_ST_DONE : NEG_ST_OFFERED;
}

int neg_offer(struct neg *n, enum neg_stage stage, char *buf, size_t cap,
	      size_t *len)
{
	uint32_t off[sizeof(op_offer_order)];
	bool sent[sizeof(op_offer_order)] = { false };
	size_t start = *len;

	if (stage != NEG_OP)
		return 0;
	for (size_t i = 0; i < sizeof(op_offer_order); i++) {
		enum neg_key_id k = op_offer_order[i];
		if (!offerable(n, k))
			continue;
		int rc = format_offer(n, k, buf, cap, len, &off[i]);
		if (rc) {
			*len = start;
			return rc;
		}
		sent[i] = true;
	}
	for (size_t i = 0; i < sizeof(op_offer_order); i++)
		if (sent[i])
			mark_offered(n, op_offer_order[i], off[i]);
	return 0;
}

int neg_offer_key(struct neg *n, enum neg_key_id id, char *buf, size_t cap,
		  size_t *len)
{
	uint32_t off;

	if ((id != NEG_AUTH_METHOD && id != NEG_CHAP_A) ||
	    n->state[id] != NEG_ST_NONE)
		return -EINVAL;
	int rc = format_offer(n, id, buf, cap, len, &off);
	if (rc)
		return rc;
	mark_offered(n, id, off);
	return 0;
}

int neg_declare(struct neg *n, enum neg_key_id id, const char *value,
		char *buf, size_t cap, size_t *len)
{
	if ((id != NEG_INITIATOR_NAME && id != NEG_INITIATOR_ALIAS &&
	     id != NEG_TARGET_NAME && id != NEG_SESSION_TYPE) ||
	    n->state[id] != NEG_ST_NONE)
		return -EINVAL;
	int rc = text_append(buf, cap, len, keys[id].name, value);
	if (rc)
		return rc;
	mark_offered(n, id, 0);
	return 0;
}

/* ---- judging a response ------------------------------------------------ */

static int fail(struct neg *n, int k, const char **why, const char *msg)
{
	n->err_key = k;
	*why = msg;
	return -EPROTO;
}

static void warn(struct neg *n, int k, uint32_t what)
{
	n->warnings |= what;
	n->warn_key = k;
}

/* The target answered our offer of k with value v. */
static int judge_answer(struct neg *n, enum neg_key_id k, const char *v,
			size_t len, const char **why)
{
	const struct neg_key *ki = &keys[k];
	uint32_t off = n->offered[k], x;

	n->state[k] = NEG_ST_DONE;
	if (is_refusal(v, len)) {
		/* RFC 7143 6.2: the key keeps its default. Some keys make
		 * the default unacceptable (CRC32C required, CHAP
		 * required). */
		warn(n, k, NEG_WARN_REFUSED);
		n->value[k] = ki->def;
		if (ki->fn == NEG_FN_LIST &&
		    (k == NEG_CHAP_A || !(off & (1u << ki->def))))
			return fail(n, k, why, "target refused a key whose "
				    "default we did not offer");
		return 0;
	}
	switch (ki->fn) {
	case NEG_FN_LIST: {
		if (memchr(v, ',', len))
			return fail(n, k, why, "target answered a list key "
				    "with more than one value");
		int c = list_code(k, v, len);
		if (c < 0 || !(off & (1u << c)))
			return fail(n, k, why, "target chose a value that "
				    "was not offered");
		n->value[k] = (uint32_t)c;
		return 0;
	}
	case NEG_FN_MIN:
	case NEG_FN_MAX:
		if (text_parse_u32(v, len, ki->max, &x) || x < ki->min)
			return fail(n, k, why, "target answered a value that "
				    "is malformed or out of range");
		if (ki->fn == NEG_FN_MIN ? x > off : x < off)
			return fail(n, k, why, "target answer contradicts the "
				    "key's result function (min/max)");
		n->value[k] = x;
		return 0;
	case NEG_FN_OR:
	case NEG_FN_AND: {
		int b = parse_bool(v, len);
		if (b < 0)
			return fail(n, k, why, "target answered a boolean "
				    "key with neither Yes nor No");
		if (apply_fn(k, off, (uint32_t)b) != (uint32_t)b)
			return fail(n, k, why, "target answer contradicts the "
				    "key's result function (OR/AND)");
		n->value[k] = (uint32_t)b;
		return 0;
	}
	default:
		return fail(n, k, why, "target answered a key we never offered");
	}
}

/* The target offered k=v: append our answer to ans. */
static int answer_offer(struct neg *n, enum neg_key_id k, const char *v,
			size_t len, char *ans, size_t cap, size_t *ans_len,
			const char **why)
{
	const struct neg_key *ki = &keys[k];
	bool keep = !n->cfg.leading && ki->scope == NEG_SCOPE_SESSION;
	uint32_t x, r;

	if (is_refusal(v, len))
		return fail(n, k, why, "target answered a key we never offered");
	n->state[k] = NEG_ST_DONE;
	n->target_offers++;
	n->offer_key = k;
	if (keep)
		warn(n, k, NEG_WARN_LO_ON_NONLEAD);
	switch (ki->fn) {
	case NEG_FN_LIST: {
		if (k == NEG_CHAP_A)
			return fail(n, k, why, "target sent CHAP_A before we "
				    "offered it");
		uint32_t accept = list_mask(n, k);
		const char *p = v, *end = v + len;
		while (p <= end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *e = comma ? comma : end;
			int c = list_code(k, p, (size_t)(e - p));
			if (c >= 0 && (accept & (1u << c))) {
				char name[16];
				n->value[k] = (uint32_t)c;
				list_name(k, (uint32_t)c, name, sizeof(name));
				return text_append(ans, cap, ans_len, ki->name, name);
			}
			p = e + 1;
		}
		/* Reject leaves the default: fatal when we cannot live with
		 * it (CRC32C or CHAP required). */
		if (!(accept & (1u << ki->def)))
			return fail(n, k, why, "target offered no value we accept "
				    "and the default is not acceptable");
		return text_append(ans, cap, ans_len, ki->name, "Reject");
	}
	case NEG_FN_MIN:
	case NEG_FN_MAX:
		/* RFC 7143 6.2.2: an inadmissible proposal may be answered
		 * with Reject; the key keeps its value. */
		if (text_parse_u32(v, len, ki->max, &x) || x < ki->min)
			return text_append(ans, cap, ans_len, ki->name, "Reject");
		r = apply_fn(k, wish(n, k), x);
		if (!keep)
			n->value[k] = r;
		return text_append_u32(ans, cap, ans_len, ki->name, r);
	case NEG_FN_OR:
	case NEG_FN_AND: {
		int b = parse_bool(v, len);
		if (b < 0)
			return text_append(ans, cap, ans_len, ki->name, "Reject");
		r = apply_fn(k, wish(n, k), (uint32_t)b);
		if (!keep)
			n->value[k] = r;
		return text_append(ans, cap, ans_len, ki->name, r ? "Yes" : "No");
	}
	case NEG_FN_OBSOLETE:
		/* RFC 7143 13.25: markers are gone. "No" for the booleans
		 * (allowed, and what targets that insist on a value parse),
		 * Reject for the intervals. */
		return text_append(ans, cap, ans_len, ki->name,
				   ki->max ? "No" : "Reject");
	default:
		return fail(n, k, why, "unexpected key");
	}
}

/* A declaration by the target. */
static int target_declares(struct neg *n, enum neg_key_id k, const char *v,
			   size_t len, const char **why)
{
	uint32_t x;

	if (k == NEG_TARGET_ADDRESS)
		return 0;  /* may repeat; used only by redirects and discovery */
	if (is_refusal(v, len)) {
		/* the target refused a declaration of ours */
		if (n->state[k] != NEG_ST_DONE)
			return fail(n, k, why, "target answered a key we "
				    "never offered");
		warn(n, k, NEG_WARN_REFUSED);
		return 0;
	}
	if (!(keys[k].senders & NEG_FROM_T))
		return fail(n, k, why, "target sent a key only an initiator "
			    "may send");
	if (n->target_declared & (1ull << k))
		return fail(n, k, why, "target declared a key twice");
	n->target_declared |= 1ull << k;
	switch (k) {
	case NEG_MAX_RECV_DSL:
		if (text_parse_u32(v, len, keys[k].max, &x) || x < keys[k].min)
			return fail(n, k, why, "target declared a "
				    "MaxRecvDataSegmentLength outside "
				    "512-16777215");
		n->max_xmit_dsl = x;
		return 0;
	case NEG_TPGT:
		if (text_parse_u32(v, len, 65535, &x))
			return fail(n, k, why, "target declared a malformed "
				    "TargetPortalGroupTag");
		if (!n->cfg.leading && n->cfg.session.tpgt >= 0 &&
		    (uint32_t)n->cfg.session.tpgt != x)
			return fail(n, k, why, "non-leading connection reached "
				    "another portal group than the session's");
		n->tpgt = (int32_t)x;
		return 0;
	default:
		return 0;  /* TargetAlias, TargetName: informative */
	}
}

static int unknown_key(struct neg *n, const struct text_pair *p,
		       const char **seen, size_t *seen_len, size_t *n_seen,
		       char *ans, size_t cap, size_t *ans_len, const char **why)
{
	if (is_refusal(p->value, p->value_len))
		return fail(n, -1, why, "target answered a key we never offered");
	for (size_t i = 0; i < *n_seen; i++)
		if (seen_len[i] == p->key_len &&
		    memcmp(seen[i], p->key, p->key_len) == 0)
			return fail(n, -1, why, "key appears twice in one response");
	if (*n_seen == NEG_MAX_UNKNOWN)
		return fail(n, -1, why, "too many unknown keys in one response");
	seen[*n_seen] = p->key;
	seen_len[*n_seen] = p->key_len;
	(*n_seen)++;
	warn(n, -1, NEG_WARN_UNKNOWN_KEY);

	/* RFC 7143 6.2: answer NotUnderstood (X- and X# keys included). */
	char key[TEXT_MAX_KEY + 1];
	memcpy(key, p->key, p->key_len);
	key[p->key_len] = '\0';
	return text_append(ans, cap, ans_len, key, "NotUnderstood");
}

int neg_recv(struct neg *n, enum neg_stage stage, const char *text,
	     size_t len, char *ans, size_t ans_cap, size_t *ans_len,
	     struct neg_auth *auth, const char **why)
{
	const char *seen[NEG_MAX_UNKNOWN];
	size_t seen_len[NEG_MAX_UNKNOWN], n_seen = 0;
	uint64_t in_this = 0;
	struct text_iter it;
	struct text_pair p;
	int rc;

	memset(auth, 0, sizeof(*auth));
	text_iter_init(&it, text, len);
	while ((rc = text_next(&it, &p, why)) > 0) {
		int k = neg_key_lookup(p.key, p.key_len);
		if (k < 0) {
			rc = unknown_key(n, &p, seen, seen_len, &n_seen, ans,
					 ans_cap, ans_len, why);
			if (rc)
				return rc;
			continue;
		}
		const struct neg_key *ki = &keys[k];
		if (k != NEG_TARGET_ADDRESS) {
			if (in_this & (1ull << k))
				return fail(n, k, why, "key appears twice in "
					    "one response");
			in_this |= 1ull << k;
		}
		if (!(ki->stages & (unsigned)stage))
			return fail(n, k, why, "key not allowed in this login "
				    "stage");
		switch (ki->fn) {
		case NEG_FN_AUTH: {
			struct neg_value_ref *slot =
				k == NEG_CHAP_I ? &auth->chap_i :
				k == NEG_CHAP_C ? &auth->chap_c :
				k == NEG_CHAP_N ? &auth->chap_n : &auth->chap_r;
			slot->v = p.value;
			slot->len = p.value_len;
			slot->present = true;
			rc = 0;
			break;
		}
		case NEG_FN_DECL:
			rc = target_declares(n, (enum neg_key_id)k, p.value,
					     p.value_len, why);
			break;
		default:
			if (n->state[k] == NEG_ST_DONE)
				return fail(n, k, why, "target renegotiated a "
					    "key already settled");
			if (n->state[k] == NEG_ST_OFFERED)
				rc = judge_answer(n, (enum neg_key_id)k, p.value,
						  p.value_len, why);
			else
				rc = answer_offer(n, (enum neg_key_id)k, p.value,
						  p.value_len, ans, ans_cap,
						  ans_len, why);
			break;
		}
		if (rc)
			return rc;
	}
	if (rc < 0)
		n->err_key = -1;
	return rc;
}

int neg_finish_stage(struct neg *n, enum neg_stage stage, const char **why)
{
	for (int k = 0; k < NEG_NKEYS; k++) {
		const struct neg_key *ki = &keys[k];
		if (n->state[k] != NEG_ST_OFFERED)
			continue;
		n->state[k] = NEG_ST_DONE;
		/* RFC 7143 6.2.2: OR with Yes and AND with No need no answer
		 * (LIO leaves DataPDUInOrder=Yes unanswered). */
		bool optional = (ki->fn == NEG_FN_OR && n->offered[k]) ||
				(ki->fn == NEG_FN_AND && !n->offered[k]);
		if (!optional)
			warn(n, k, NEG_WARN_UNANSWERED);
		if (ki->fn == NEG_FN_LIST) {
			/* "None" stands only if we offered it */
			if (k == NEG_CHAP_A || !(n->offered[k] & (1u << ki->def)))
				return fail(n, k, why, "target did not answer "
					    "a key whose default we did not "
					    "offer");
			n->value[k] = ki->def;
		} else {
			n->value[k] = apply_fn((enum neg_key_id)k, n->offered[k],
					       ki->def);
		}
	}
	if (stage == NEG_OP && n->cfg.leading &&
	    n->value[NEG_FIRST_BURST] > n->value[NEG_MAX_BURST]) {
		/* RFC 7143 13.14 forbids it; sending less unsolicited data
		 * than allowed is always safe. */
		n->value[NEG_FIRST_BURST] = n->value[NEG_MAX_BURST];
		warn(n, NEG_FIRST_BURST, NEG_WARN_FIRST_BURST);
	}
	return 0;
}

void neg_result(const struct neg *n, struct iscsi_params *p)
{
	const uint32_t *v = n->value;

	neg_params_default(p);
	p->max_connections = v[NEG_MAX_CONNECTIONS];
	p->initial_r2t = v[NEG_INITIAL_R2T];
	p->immediate_data = v[NEG_IMMEDIATE_DATA];
	p->max_burst_length = v[NEG_MAX_BURST];
	p->first_burst_length = v[NEG_FIRST_BURST];
	p->default_time2wait = v[NEG_TIME2WAIT];
	p->default_time2retain = v[NEG_TIME2RETAIN];
	p->max_outstanding_r2t = v[NEG_MAX_R2T];
	p->data_pdu_in_order = v[NEG_DATA_PDU_IN_ORDER];
	p->data_sequence_in_order = v[NEG_DATA_SEQ_IN_ORDER];
	p->error_recovery_level = v[NEG_ERL];
	p->header_digest = v[NEG_HEADER_DIGEST] == NEG_DIGEST_CRC32C;
	p->data_digest = v[NEG_DATA_DIGEST] == NEG_DIGEST_CRC32C;
	/* ours counts only once declared; the target's default is 8192 */
	p->max_recv_dsl = n->state[NEG_MAX_RECV_DSL] == NEG_ST_DONE ?
		n->cfg.wishes.max_recv_dsl : NEG_DEFAULT_MAX_DSL;
	p->max_xmit_dsl = n->max_xmit_dsl;
	p->tpgt = n->tpgt;
}
