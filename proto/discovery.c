/* SPDX-License-Identifier: MIT */
#include "proto/discovery.h"

#include <errno.h>
#include <arpa/inet.h>
#include <string.h>

#include "proto/pdu.h"
#include "proto/text.h"

int disc_parse_address(const char *v, size_t len, struct disc_address *out,
		       const char **why)
{
	const char *comma = memchr(v, ',', len);
	size_t hp_len = comma ? (size_t)(comma - v) : len;
	uint32_t tag;

	out->tpgt = -1;
	if (comma) {
		size_t tlen = len - hp_len - 1;
		if (text_parse_u32(comma + 1, tlen, 65535, &tag)) {
			*why = "TargetAddress has a malformed portal group tag";
			return -EPROTO;
		}
		out->tpgt = (int32_t)tag;
	}
	/* url_parse_portal() refuses unbracketed IPv6 and bad ports, and
	 * canonicalizes the host so two spellings compare equal. */
	if (url_parse_portal(v, hp_len, &out->portal, why) == 0)
		return 0;
	/* tgt writes IPv6 redirect addresses without brackets, as
	 * "::1:3260": take the last group as the port when the rest is an
	 * IPv6 literal, else the whole as an address on the default port. */
	char buf[URL_HOST_MAX + 16];
	struct in6_addr a6;
	const char *colon = memrchr(v, ':', hp_len);
	if (hp_len >= sizeof(buf) - 8 || !colon || memchr(v, '[', hp_len))
		return -EPROTO;
	size_t alen = (size_t)(colon - v);
	memcpy(buf, v, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET6, buf, &a6) == 1) {
		buf[0] = '[';
		memcpy(buf + 1, v, alen);
		memcpy(buf + 1 + alen, "]", 1);
		memcpy(buf + 2 + alen, colon, hp_len - alen);
		if (url_parse_portal(buf, hp_len + 2, &out->portal, why) == 0)
			return 0;
	}
	memcpy(buf, v, hp_len);
	buf[hp_len] = '\0';
	if (inet_pton(AF_INET6, buf, &a6) == 1) {
		buf[0] = '[';
		memcpy(buf + 1, v, hp_len);
		buf[hp_len + 1] = ']';
		if (url_parse_portal(buf, hp_len + 2, &out->portal, why) == 0)
			return 0;
	}
	return -EPROTO;
}

/* RFC 7143 4.2.7: at most 223 bytes; the characters of an iSCSI name are
 * printable and never a space. Stricter checks (the iqn date) are left to
 * url_name_normalize() when the name is used: a listing is not refused
 * for one odd name. */
static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 223)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool is_refusal(const struct text_pair *p)
{
	static const char *const r[] = { "Reject", "Irrelevant", "NotUnderstood" };
	for (size_t i = 0; i < 3; i++)
		if (p->value_len == strlen(r[i]) &&
		    memcmp(p->value, r[i], p->value_len) == 0)
			return true;
	return false;
}

int disc_parse_sendtargets(const char *text, size_t len, struct disc_result *r,
			   const char **why)
{
	struct text_iter it;
	struct text_pair p;
	struct disc_target *cur = NULL;
	int rc;

	r->n_targets = 0;
	r->n_addrs = 0;
	r->skipped = 0;
	r->skipped_names = 0;
	r->bad_name = NULL;
	r->bad_name_len = 0;
	bool skipping = false;
	text_iter_init(&it, text, len);
	while ((rc = text_next(&it, &p, why)) > 0) {
		if (text_key_is(&p, "TargetName")) {
			/* One forged name (control characters meant for the
			 * operator's terminal) hides neither the others nor
			 * itself: the caller warns with it escaped. */
			skipping = !name_ok(p.value, p.value_len);
			if (skipping) {
				if (r->skipped_names++ == 0) {
					r->bad_name = p.value;
					r->bad_name_len = p.value_len;
				}
				cur = NULL;
				continue;
			}
			if (r->n_targets == r->max_targets)
				return -ENOSPC;
			cur = &r->targets[r->n_targets++];
			cur->name = p.value;
			cur->name_len = p.value_len;
			cur->first_addr = r->n_addrs;
			cur->n_addrs = 0;
		} else if (text_key_is(&p, "TargetAddress")) {
			struct disc_address a;
			const char *ignored;
			if (skipping)
				continue;
			if (!cur) {
				*why = "TargetAddress before any TargetName";
				return -EPROTO;
			}
			if (disc_parse_address(p.value, p.value_len, &a,
					       &ignored)) {
				r->skipped++;
				continue;
			}
			if (r->n_addrs == r->max_addrs)
				return -ENOSPC;
			r->addrs[r->n_addrs++] = a;
			cur->n_addrs++;
		} else if (text_key_is(&p, "SendTargets") && is_refusal(&p)) {
			*why = "target refused SendTargets";
			return -EPROTO;
		}
		/* TargetAlias and anything else: not needed to log in */
	}
	return rc;
}

int disc_build_sendtargets(void *bhs, char *data, size_t cap, size_t *len,
			   uint32_t itt, const char *what)
{
	if (!what || !*what)
		return -EINVAL;
	*len = 0;
	int rc = text_append(data, cap, len, "SendTargets", what);
	if (rc)
		return rc;
	pdu_build_text(bhs, itt, PDU_RESERVED_TAG, (uint32_t)*len, true, false);
	return 0;
}

void disc_build_continue(void *bhs, uint32_t itt, uint32_t ttt)
{
	pdu_build_text(bhs, itt, ttt, 0, true, false);
}

void disc_rx_init(struct disc_rx *rx, char *buf, size_t cap, uint32_t itt)
{
	rx->buf = buf;
	rx->cap = cap;
	rx->len = 0;
	rx->itt = itt;
	rx->ttt = PDU_RESERVED_TAG;
	rx->done = false;
}

int disc_rx_feed(struct disc_rx *rx, const void *bhs, const void *data,
		 size_t len, bool *more, const char **why)
{
	const struct bhs_text_rsp *t = bhs;

	if (rx->done)
		return -EINVAL;
	if (pdu_opcode(bhs) != PDU_OP_TEXT_RSP) {
		*why = "expected a Text response";
		return -EPROTO;
	}
	if (pdu_get32(&t->txtr_itt) != rx->itt) {
		*why = "Text response for another task";
		return -EPROTO;
	}
	if (pdu_dsl(bhs) != len) {
		*why = "Text response length does not match its data";
		return -EPROTO;
	}
	bool final = t->txtr_flags & PDU_FINAL;
	bool cont = t->txtr_flags & TEXT_CONTINUE;
	if (final && cont) {
		*why = "Text response with both F and C bits";
		return -EPROTO;
	}
	uint32_t ttt = pdu_get32(&t->txtr_ttt);
	if (!final && ttt == PDU_RESERVED_TAG) {
		*why = "partial Text response without a Target Transfer Tag";
		return -EPROTO;
	}
	if (len > rx->cap - rx->len)
		return -ENOSPC;
	if (len)
		memcpy(rx->buf + rx->len, data, len);
	rx->len += len;
	rx->ttt = ttt;
	rx->done = final;
	*more = !final;
	return 0;
}
