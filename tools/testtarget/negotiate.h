/* SPDX-License-Identifier: MIT */
/*
 * The target side of login negotiation (RFC 7143 section 13): answering
 * the operational keys an initiator offers, with the RFC's result function
 * for each key held as data in one table.
 */
#ifndef TT_NEGOTIATE_H
#define TT_NEGOTIATE_H

#include "tt.h"
#include "proto/text.h"

/* RFC 7143 defaults, before anything is negotiated. */
void tgtneg_defaults(struct tt_params *p);

/* Answers one offered key: computes the result into *p from the offer and
 * lim, and appends the answer ("key=value", or "key=NotUnderstood",
 * "key=Irrelevant", "key=Reject") to rsp. Declarative keys with nothing
 * to answer append nothing. leading is false on a non-leading connection
 * of a session: session-wide keys are then answered with the session's
 * value, unchanged. Returns 0, or -ENOSPC when rsp is full. */
int tgtneg_answer(const struct tt_limits *lim, struct tt_params *p, bool leading,
	       const struct text_pair *kv, char *rsp, size_t cap, size_t *len);

/* Whether a key belongs to the operational stage (the security stage
 * answers only security keys and declarations). */
bool tgtneg_is_operational(const struct text_pair *kv);

#endif
