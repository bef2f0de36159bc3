/* SPDX-License-Identifier: MIT */
#include "discovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "conn.h"
#include "proto/pdu.h"
#include "proto/text.h"

/* A growable text buffer for the whole response (control path only). */
struct dtext {
	char *buf;
	size_t len, cap;
};

static int dtext_add(struct dtext *d, const char *key, const char *value)
{
	size_t need = strlen(key) + strlen(value) + 2;
	if (d->len + need > d->cap) {
		size_t cap = (d->cap ? d->cap * 2 : 4096) + need;
		char *b = realloc(d->buf, cap);
		if (!b)
			return -ENOMEM;
		d->buf = b;
		d->cap = cap;
	}
	return text_append(d->buf, d->cap, &d->len, key, value);
}

/* The address an initiator should use for portal pt: its own text, or the
 * address this connection arrived on when the portal is a wildcard. */
static void discovery_addr(const struct tt_conn *c, const struct tt_portal *pt,
			   char *out, size_t cap)
{
	bool wild = false;
	if (pt->addr.ss_family == AF_INET)
		wild = ((const struct sockaddr_in *)&pt->addr)->sin_addr.s_addr == INADDR_ANY;
	else if (pt->addr.ss_family == AF_INET6)
		wild = IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&pt->addr)->sin6_addr);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	if (!wild || getsockname(c->fd, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(out, cap, "%s,%u", pt->text, (unsigned)pt->tpgt);
		return;
	}
	unsigned port;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, cap, "[%s]:%u,%u", host, port, (unsigned)pt->tpgt);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, cap, "%s:%u,%u", host, port, (unsigned)pt->tpgt);
	}
}

static int discovery_target(struct tt_conn *c, struct dtext *d, const struct tt_target *t)
{
	const struct tt_config *cfg = c->srv->cfg;
	char addr[96];
	int rc = dtext_add(d, "TargetName", t->name);
	for (unsigned i = 0; i < cfg->nportals && !rc; i++) {
		discovery_addr(c, &cfg->portals[i], addr, sizeof(addr));
		rc = dtext_add(d, "TargetAddress", addr);
	}
	return rc;
}

static int discovery_sendtargets(struct tt_conn *c, struct dtext *d,
				 const struct text_pair *kv)
{
	struct tt_config *cfg = c->srv->cfg;
	struct tt_session *s = c->sess;
	int rc = 0;

	if (kv->value_len == 3 && !memcmp(kv->value, "All", 3)) {
		for (unsigned i = 0; i < cfg->ntargets && !rc; i++)
			rc = discovery_target(c, d, &cfg->targets[i]);
		return rc;
	}
	if (kv->value_len == 0) {
		/* Normal session: the session's own target. */
		return s->tgt ? discovery_target(c, d, s->tgt) : 0;
	}
	for (unsigned i = 0; i < cfg->ntargets && !rc; i++) {
		const char *n = cfg->targets[i].name;
		if (strlen(n) == kv->value_len && !strncasecmp(n, kv->value, kv->value_len))
			rc = discovery_target(c, d, &cfg->targets[i]);
	}
	return rc;
}

static void discovery_send_chunk(struct tt_conn *c, uint32_t itt)
{
	size_t left = c->text_len - c->text_off;
	uint32_t n = (uint32_t)(left < c->p.send_dsl ? left : c->p.send_dsl);
	bool more = left > n;
	uint8_t *h = io_hdr(c, 0);
	if (!h)
		return;
	if (more)
		c->text_ttt = (c->text_ttt + 1) & 0x7fffffff;
	pdu_build_text_rsp(h, itt, more ? c->text_ttt : PDU_RESERVED_TAG, n,
			   !more, more);
	conn_stamp(c, h, true);
	/* c->text stays allocated until the next request, past the flush. */
	io_queue(c, h, n ? c->text + c->text_off : NULL, n);
	c->text_off += n;
}

int discovery_text(struct tt_conn *c, const struct tt_rxpdu *p)
{
	const struct bhs_text_req *r = (const void *)p->bhs;
	uint32_t itt = pdu_itt(p->bhs), ttt = pdu_get32(&r->txt_ttt);
	struct dtext d = { 0 };
	struct text_iter it;
	struct text_pair kv;
	const char *why;
	int rc;

	if (ttt != PDU_RESERVED_TAG) {
		if (!c->text || ttt != c->text_ttt || c->text_off >= c->text_len) {
			conn_reject(c, p->bhs, REJECT_INVALID_PDU_FIELD);
			return 0;
		}
		discovery_send_chunk(c, itt);
		return 0;
	}
	if (r->txt_flags & TEXT_CONTINUE) {
		/* We never need requests that long. */
		conn_reject(c, p->bhs, REJECT_CMD_NOT_SUPPORTED);
		return 0;
	}
	text_iter_init(&it, p->data, p->dsl);
	while ((rc = text_next(&it, &kv, &why)) == 1) {
		if (text_key_is(&kv, "SendTargets")) {
			rc = discovery_sendtargets(c, &d, &kv);
		} else {
			char key[TEXT_MAX_KEY + 1];
			size_t kl = kv.key_len < TEXT_MAX_KEY ? kv.key_len : TEXT_MAX_KEY;
			memcpy(key, kv.key, kl);
			key[kl] = '\0';
			rc = dtext_add(&d, key, "NotUnderstood");
		}
		if (rc)
			break;
	}
	if (rc < 0) {
		free(d.buf);
		if (rc == -EPROTO) {
			conn_reject(c, p->bhs, REJECT_PROTOCOL_ERROR);
			return 0;
		}
		return rc;
	}
	/* The previous response may still be in the batch: flush first. */
	io_flush(c);
	free(c->text);
	c->text = d.buf;
	c->text_len = d.len;
	c->text_off = 0;
	discovery_send_chunk(c, itt);
	return 0;
}
