/* SPDX-License-Identifier: MIT */
/*
 * Services the target asks for with an Asynchronous Message: a logout
 * (event 1) and parameter renegotiation (event 4).
 *
 * A requested logout drains the connection: no new command goes out on
 * it, and once its commands are answered (or the target's deadline has
 * come) it logs out: the connection alone when the session keeps another
 * one, else the whole session. Commands never sent fail with -ECANCELED.
 *
 * Renegotiation is a Text Request exchange (RFC 7143 11.9.1): we offer
 * nothing and answer with empty requests while the target has more to
 * say. The only key a target can usefully declare in full feature phase is
 * its MaxRecvDataSegmentLength, which limits our Data-Out and immediate
 * data from then on; other keys are logged and left alone.
 */
#include "mcs/conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mcs/conn_erl2.h"
#include "mcs/conn_sm.h"
#include "mcs/reactor.h"
#include "mcs/sess_sm.h"
#include "proto/pdu.h"
#include "proto/text.h"

#define SVC_MS_NS        1000000ull
#define SVC_TEXT_ROUNDS  16u         /* Text Requests per exchange at most */
#define SVC_TEXT_MS      10000u

/* Whether the session keeps another connection: from the connection set,
 * which any thread may read (other reactors' connections are theirs). */
static bool other_usable(const struct conn *c)
{
	const struct connset *cs = &c->sess->cs;

	for (unsigned i = 0; i < CSET_MAX; i++)
		if ((int)i != c->slot && cset_usable(cs, (int)i))
			return true;
	return false;
}

void conn_logout_requested(struct conn *c, unsigned secs)
{
	if (c->state != CONN_UP)
		return;
	conn_sm(c, ERL_CE_LOGOUT_ASKED);
	/* Parameter3 0 would leave no time at all: take one second. */
	reactor_conn_leave(c->r, c, c->r->now + (uint64_t)(secs ? secs : 1) * 1000 * SVC_MS_NS);
}

static void svc_logout_done(struct task *t, int err)
{
	struct conn *c = t->conn;
	struct mcsi_session *s = c->sess;

	if (err || t->tmf_response)
		sess_log(s, 4, "%s: logout of connection %u failed (%d, response %u)",
			 c->peer, c->cid, err, t->tmf_response);
	if (t->tmf_fn == LOGOUT_CLOSE_CONNECTION) {
		/* MC/S: this connection alone is gone; the session goes on. */
		reactor_conn_left(c, err ? err : (t->tmf_response ? -EIO : 0));
	} else {
		/* The session ended cleanly at the target's request. */
		int live = SESS_LIVE;
		if (atomic_compare_exchange_strong(&s->state, &live, SESS_CLOSED))
			sess_sm(s, ERL_SE_CLOSED);
	}
}

void conn_svc_poll(struct conn *c)
{
	if (c->state != CONN_DRAIN)
		return;
	if (c->inflight > 0 && c->r->now < c->logout_by_ns)
		return;
	enum logout_reason why = other_usable(c) ? LOGOUT_CLOSE_CONNECTION
						 : LOGOUT_CLOSE_SESSION;
	int rc = reactor_logout(c->r, c, why, svc_logout_done, NULL);
	if (rc < 0)
		conn_fail(c, rc, "cannot log out as the target asked (%d)", rc);
}

bool conn_logout_closed(struct conn *c)
{
	struct task_table *tt = &c->r->tt;

	if (c->state != CONN_LOGOUT || c->inflight > 0)
		return false;
	for (uint32_t i = 0; i < tt->n; i++) {
		struct task *t = &tt->tasks[i];
		if (t->conn != c || t->kind != TASK_LOGOUT || t->state != TASK_ACTIVE ||
		    t->tmf_fn != LOGOUT_CLOSE_CONNECTION || (t->ref_itt & CONN_ERL2_OTHER_CID))
			continue;
		sess_log(c->sess, 4, "%s: the target closed connection %u without a Logout "
			 "Response; nothing was in flight on it, so it counts as logged out",
			 c->peer, c->cid);
		t->tmf_response = LOGOUT_RSP_OK;
		reactor_finish(c->r, t, 0);
		if (c->state != CONN_CLOSED)
			conn_closed(c);
		return true;
	}
	return false;
}

void conn_renegotiate(struct conn *c)
{
	struct task *t;

	if (c->text || !conn_usable(c))
		return;
	if (!(t = task_alloc(&c->r->tt, TASK_TEXT))) {
		/* The RFC's other answer to the request. */
		conn_logout_requested(c, 1);
		return;
	}
	t->text_ttt = PDU_RESERVED_TAG;
	t->deadline_ns = c->r->now + SVC_TEXT_MS * SVC_MS_NS;
	c->text = t;
	conn_queue_cmd(c, t);
}

/* Applies what the target declared; nothing needs an answer from us. */
static void text_apply(struct conn *c, const uint8_t *seg, uint32_t len)
{
	struct text_iter it;
	struct text_pair p;
	const char *why = NULL;
	char key[TEXT_MAX_KEY * 4 + 1];
	uint32_t v;
	int rc;

	text_iter_init(&it, seg, len);
	while ((rc = text_next(&it, &p, &why)) > 0) {
		if (text_key_is(&p, "MaxRecvDataSegmentLength") &&
		    text_parse_u32(p.value, p.value_len, PDU_MAX_DSL, &v) == 0 &&
		    v >= 512) {
			c->params.max_xmit_dsl = v;
			sess_log(c->sess, 6, "%s: target's MaxRecvDataSegmentLength now %u",
				 c->peer, v);
			continue;
		}
		sess_log(c->sess, 6, "%s: renegotiation key %s left alone", c->peer,
			 text_escape(key, sizeof(key), p.key, p.key_len));
	}
	if (rc < 0)
		sess_log(c->sess, 4, "%s: renegotiation text ignored: %s", c->peer, why);
}

int conn_text_rsp(struct conn *c, const struct bhs_text_rsp *r, const char **why)
{
	struct task *t = task_lookup(&c->r->tt, pdu_get32(&r->txtr_itt));

	if (!t || t != c->text || t->state != TASK_ACTIVE) {
		*why = "Text Response for unknown ITT";
		return -EPROTO;
	}
	text_apply(c, c->scratch, pdu_dsl(r));
	if (r->txtr_flags & PDU_FINAL) {
		c->text = NULL;
		reactor_finish(c->r, t, 0);
		return 0;
	}
	/* The target has more: answer with an empty request and its TTT. */
	if (t->text_rounds >= SVC_TEXT_ROUNDS) {
		*why = "renegotiation does not end";
		return -EPROTO;
	}
	t->text_ttt = pdu_get32(&r->txtr_ttt);
	conn_queue_cmd(c, t);
	return 0;
}
