/* SPDX-License-Identifier: MIT */
/*
 * Text negotiation (RFC 7143 sections 6.2 and 13), driven by a table of
 * keys whose RFC result function is data (see neg.c and
 * docs/design/negotiation.md).
 *
 * The initiator's side only: we offer, the target answers; the target may
 * also offer keys of its own, which we answer with the result function
 * applied to our wish. Every answer is judged against what we offered, the
 * key's range and its result function. A peer that breaks a rule gets
 * -EPROTO with a static reason and the offending key (neg_error_key()).
 *
 * Pure code: no allocation, no I/O. struct neg is caller-allocated and
 * holds no pointer into the texts it has seen.
 */
#ifndef MCSI_PROTO_NEG_H
#define MCSI_PROTO_NEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- what the initiator wants --------------------------------------- */

enum iscsi_digest_pref {
	ISCSI_DIGEST_NONE,         /* offer "None" */
	ISCSI_DIGEST_PREFER_NONE,  /* offer "None,CRC32C" */
	ISCSI_DIGEST_PREFER_CRC,   /* offer "CRC32C,None" */
	ISCSI_DIGEST_CRC_ONLY,     /* offer "CRC32C"; a target refusing fails */
};

struct iscsi_wishes {
	uint32_t max_connections;        /* 1-65535 */
	uint32_t error_recovery_level;   /* 0-2 */
	enum iscsi_digest_pref header_digest, data_digest;
	bool initial_r2t, immediate_data;
	bool data_pdu_in_order, data_sequence_in_order;
	uint32_t max_recv_dsl;           /* 512-16777215, declared */
	uint32_t max_burst_length;       /* 512-16777215 */
	uint32_t first_burst_length;     /* 512-16777215, <= max_burst_length */
	uint32_t max_outstanding_r2t;    /* 1-65535 */
	uint32_t default_time2wait;      /* 0-3600 */
	uint32_t default_time2retain;    /* 0-3600 */
};

/*
 * Our defaults, what we offer unless told otherwise: ErrorRecoveryLevel 2
 * (the target's minimum wins, so this asks for the most the target has),
 * MaxConnections 1 (more only when the caller plans MC/S), digests
 * ISCSI_DIGEST_PREFER_NONE (None first, CRC32C accepted when the target
 * insists), InitialR2T No, ImmediateData Yes, MaxRecvDataSegmentLength
 * 262144, MaxBurstLength 16776192, FirstBurstLength 262144,
 * MaxOutstandingR2T 16, DefaultTime2Wait 2, DefaultTime2Retain 20,
 * DataPDUInOrder and DataSequenceInOrder Yes.
 */
void neg_wishes_default(struct iscsi_wishes *w);
/* Returns 0, or -EINVAL with *why set when a value is outside its RFC
 * range or FirstBurstLength exceeds MaxBurstLength. */
int neg_wishes_check(const struct iscsi_wishes *w, const char **why);

/* ---- the negotiated result ------------------------------------------ */

#define NEG_DEFAULT_MAX_DSL 8192u    /* RFC default MaxRecvDataSegmentLength */

struct iscsi_params {
	/* session-wide: negotiated on the leading connection only */
	uint32_t max_connections;
	bool initial_r2t, immediate_data;
	uint32_t max_burst_length, first_burst_length;
	uint32_t default_time2wait, default_time2retain;
	uint32_t max_outstanding_r2t;
	bool data_pdu_in_order, data_sequence_in_order;
	uint32_t error_recovery_level;
	/* per connection */
	bool header_digest, data_digest;  /* true: CRC32C */
	uint32_t max_recv_dsl;   /* ours, as declared: what we accept */
	uint32_t max_xmit_dsl;   /* the target's MaxRecvDataSegmentLength,
				  * 8192 when it never declared one (tgt) */
	int32_t tpgt;            /* TargetPortalGroupTag, -1 if not declared */
};

/* Fills p with the RFC 7143 defaults (what holds before negotiation). */
void neg_params_default(struct iscsi_params *p);

/* ---- the key table -------------------------------------------------- */

enum neg_key_id {
	NEG_AUTH_METHOD, NEG_CHAP_A, NEG_CHAP_I, NEG_CHAP_C, NEG_CHAP_N,
	NEG_CHAP_R,
	NEG_INITIATOR_NAME, NEG_INITIATOR_ALIAS, NEG_TARGET_NAME,
	NEG_TARGET_ALIAS, NEG_TARGET_ADDRESS, NEG_TPGT, NEG_SESSION_TYPE,
	NEG_SEND_TARGETS,
	NEG_HEADER_DIGEST, NEG_DATA_DIGEST, NEG_MAX_RECV_DSL,
	NEG_MAX_CONNECTIONS, NEG_INITIAL_R2T, NEG_IMMEDIATE_DATA,
	NEG_MAX_BURST, NEG_FIRST_BURST, NEG_TIME2WAIT, NEG_TIME2RETAIN,
	NEG_MAX_R2T, NEG_DATA_PDU_IN_ORDER, NEG_DATA_SEQ_IN_ORDER, NEG_ERL,
	NEG_TASK_REPORTING, NEG_PROTOCOL_LEVEL, NEG_RDMA_EXTENSIONS,
	NEG_OF_MARKER, NEG_IF_MARKER, NEG_OF_MARK_INT, NEG_IF_MARK_INT,
	NEG_NKEYS
};

enum neg_fn {
	NEG_FN_LIST,      /* first of the offerer's list the answerer takes */
	NEG_FN_MIN,       /* numerical, result = minimum */
	NEG_FN_MAX,       /* numerical, result = maximum */
	NEG_FN_OR,        /* boolean OR */
	NEG_FN_AND,       /* boolean AND */
	NEG_FN_DECL,      /* declarative: no answer */
	NEG_FN_AUTH,      /* CHAP exchange values, consumed by login.c */
	NEG_FN_OBSOLETE,  /* RFC 7143 13.25 marker keys */
};

enum neg_scope { NEG_SCOPE_CONN, NEG_SCOPE_SESSION /* "LO" */ };

#define NEG_FROM_I   0x1u   /* the initiator may send it */
#define NEG_FROM_T   0x2u   /* the target may send it */
#define NEG_STAGE_SEC 0x1u  /* allowed in the security stage */
#define NEG_STAGE_OP  0x2u  /* allowed in the operational stage */

struct neg_key {
	const char *name;
	uint8_t fn;          /* enum neg_fn */
	uint8_t scope;       /* enum neg_scope */
	uint8_t senders;     /* NEG_FROM_* */
	uint8_t stages;      /* NEG_STAGE_* */
	uint32_t min, max;   /* numerical range; booleans 0-1 */
	uint32_t def;        /* RFC default (list keys: value code) */
};

/* The table entry for id (never NULL for id < NEG_NKEYS). */
const struct neg_key *neg_key_info(enum neg_key_id id);
/* The id of a key name of len bytes, or -1 if the table does not know it. */
int neg_key_lookup(const char *name, size_t len);

/* Value codes of list keys. */
enum { NEG_DIGEST_NONE = 0, NEG_DIGEST_CRC32C = 1 };
enum { NEG_AUTHM_NONE = 0, NEG_AUTHM_CHAP = 1 };

/* ---- the negotiation state ------------------------------------------ */

enum neg_stage { NEG_SEC = NEG_STAGE_SEC, NEG_OP = NEG_STAGE_OP };

struct neg_config {
	struct iscsi_wishes wishes;  /* checked with neg_wishes_check() */
	bool discovery;              /* SessionType=Discovery: no digests,
				      * no session keys offered */
	bool leading;                /* false: session keys are not offered
				      * and results come from session */
	struct iscsi_params session; /* non-leading only: the session-wide
				      * values of the leading login */
	/* AuthMethod offer in preference order, NEG_AUTHM_* codes. */
	uint8_t auth_offer[2];
	uint8_t n_auth_offer;
	/* CHAP_A offer in preference order (enum chap_alg values, 5-8),
	 * normally chap_offer_order. */
	uint8_t chap_offer[4];
	uint8_t n_chap_offer;
};

/* Values of the CHAP exchange keys in one response; pointers borrow the
 * response text. */
struct neg_value_ref {
	const char *v;
	size_t len;
	bool present;
};
struct neg_auth {
	struct neg_value_ref chap_i, chap_c, chap_n, chap_r;
};

/* Warnings: tolerated deviations, reported once through neg->warnings. */
#define NEG_WARN_UNANSWERED     0x01u  /* an offer left unanswered that
					* needed an answer */
#define NEG_WARN_REFUSED        0x02u  /* Reject/Irrelevant/NotUnderstood */
#define NEG_WARN_LO_ON_NONLEAD  0x04u  /* session key offered on a
					* non-leading connection */
#define NEG_WARN_FIRST_BURST    0x08u  /* FirstBurstLength > MaxBurstLength
					* answered; clamped */
#define NEG_WARN_UNKNOWN_KEY    0x10u  /* answered NotUnderstood */

enum neg_key_state { NEG_ST_NONE, NEG_ST_OFFERED, NEG_ST_DONE };

struct neg {
	struct neg_config cfg;
	uint8_t state[NEG_NKEYS];     /* enum neg_key_state */
	uint32_t offered[NEG_NKEYS];  /* value offered; list keys: mask */
	uint32_t value[NEG_NKEYS];    /* current value / result */
	uint64_t target_declared;     /* bit per key the target declared */
	uint32_t max_xmit_dsl;
	int32_t tpgt;
	uint32_t target_offers;       /* offers of the target we answered */
	int offer_key;                /* the latest of them, or -1 */
	uint32_t warnings;            /* NEG_WARN_* seen so far */
	int warn_key;                 /* key of the latest warning, or -1 */
	int err_key;                  /* key of the latest error, or -1 */
};

/* Initializes n for one login. cfg is copied. Returns 0 or -EINVAL with
 * *why set (wishes out of range, bad AuthMethod offer). */
int neg_init(struct neg *n, const struct neg_config *cfg, const char **why);

/*
 * Appends our offers for a stage to buf (length *len, capacity cap): in
 * NEG_OP the digests and MaxRecvDataSegmentLength, plus the session keys
 * on a leading normal login; keys already negotiated (for instance
 * answered to a target's offer) are never offered again. All or nothing:
 * returns 0, or -ENOSPC with buf, *len and n unchanged.
 */
int neg_offer(struct neg *n, enum neg_stage stage, char *buf, size_t cap,
	      size_t *len);
/* Appends one offer (NEG_AUTH_METHOD or NEG_CHAP_A, security stage).
 * Returns 0, -ENOSPC (nothing appended) or -EINVAL (not offerable now). */
int neg_offer_key(struct neg *n, enum neg_key_id id, char *buf, size_t cap,
		  size_t *len);
/* Appends a declaration of ours (InitiatorName, InitiatorAlias,
 * TargetName, SessionType) and remembers it, so that a target answering it
 * with NotUnderstood is tolerated. value is copied into buf. Returns 0,
 * -ENOSPC or -EINVAL (not one of those keys, or declared already). */
int neg_declare(struct neg *n, enum neg_key_id id, const char *value,
		char *buf, size_t cap, size_t *len);

/*
 * Judges one complete response text (all Continue-bit segments joined)
 * received in stage. Answers the target's own offers and unknown keys
 * (NotUnderstood) by appending to ans (length *ans_len, capacity
 * ans_cap). CHAP exchange values are returned in *auth (cleared first).
 * Returns 0; -EPROTO with *why set and neg_error_key() naming the key for
 * malformed text, a duplicate key, a renegotiation, an answer never
 * offered, out of range or contrary to the result function; -ENOSPC when
 * the answers do not fit.
 */
int neg_recv(struct neg *n, enum neg_stage stage, const char *text,
	     size_t len, char *ans, size_t ans_cap, size_t *ans_len,
	     struct neg_auth *auth, const char **why);

/*
 * Closes a stage when the target transits out of it: an offer left
 * unanswered takes the value the result function gives with the key's
 * default as the answer (RFC 7143: OR with Yes and AND with No need no
 * answer, and raise no warning), else with NEG_WARN_UNANSWERED; a list
 * key whose default we did not offer fails. At the end of NEG_OP the cross-key rules are applied
 * (FirstBurstLength <= MaxBurstLength). Returns 0 or -EPROTO with *why.
 */
int neg_finish_stage(struct neg *n, enum neg_stage stage, const char **why);

/* The negotiated parameters (valid after neg_finish_stage(NEG_OP)). */
void neg_result(const struct neg *n, struct iscsi_params *p);

static inline uint32_t neg_value(const struct neg *n, enum neg_key_id id)
{
	return n->value[id];
}
static inline enum neg_key_state neg_state(const struct neg *n,
					   enum neg_key_id id)
{
	return (enum neg_key_state)n->state[id];
}
/* Name of the key behind the latest -EPROTO, or NULL (unknown key). */
const char *neg_error_key(const struct neg *n);

#endif
