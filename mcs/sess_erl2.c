/* SPDX-License-Identifier: MIT */
/* ERL 2 connection recovery, the session's part: see sess_erl2.h. */
#include "mcs/sess_erl2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcs/ctl.h"
#include "mcs/login_io.h"
#include "mcs/login_nonlead_io.h"
#include "mcs/reactor.h"
#include "mcs/sess_desc.h"
#include "mcs/sess_mcs.h"
#include "proto/url.h"

static void *erl2_main(void *arg);

int sess_erl2_create(struct mcsi_session *s, struct sess_desc *d)
{
	struct sess_erl2 *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;
	int rc;

	if (!e)
		return -ENOMEM;
	e->desc = sess_desc_get(d);
	e->s = s;
	e->prefer_logout = d->opts.erl2_cleanup == MCSI_ERL2_LOGOUT;
	e->close_only = d->opts.erl2_cleanup == MCSI_ERL2_CLOSE;
	for (unsigned i = 0; i < ERL2_EPS; i++)
		e->ep[i].h.fd = -1;
	pthread_mutex_init(&e->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&e->thread, NULL, erl2_main, e)) != 0) {
		sess_desc_put(e->desc);
		pthread_mutex_destroy(&e->m);
		pthread_cond_destroy(&e->cv);
		free(e);
		return -rc;
	}
	e->started = true;
	s->erl2 = e;
	return 0;
}

void sess_erl2_stop(struct mcsi_session *s)
{
	struct sess_erl2 *e = s->erl2;

	if (!e || !e->started)
		return;
	pthread_mutex_lock(&e->m);
	e->stop = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->m);
	pthread_join(e->thread, NULL);
	e->started = false;
}

void sess_erl2_destroy(struct mcsi_session *s)
{
	struct sess_erl2 *e = s->erl2;

	if (!e)
		return;
	sess_erl2_stop(s);
	for (unsigned i = 0; i < ERL2_EPS; i++)
		if (e->ep[i].h.fd >= 0)
			close(e->ep[i].h.fd);
	sess_desc_put(e->desc);
	pthread_mutex_destroy(&e->m);
	pthread_cond_destroy(&e->cv);
	free(e);
	s->erl2 = NULL;
}

void sess_erl2_request_login(struct mcsi_session *s, struct erl2_ep *ep)
{
	struct sess_erl2 *e = s->erl2;

	pthread_mutex_lock(&e->m);
	atomic_store(&ep->login_done, false);
	ep->login_want = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->m);
}

void sess_erl2_request_add(struct mcsi_session *s)
{
	struct sess_erl2 *e = s->erl2;

	pthread_mutex_lock(&e->m);
	e->add++;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->m);
}

int sess_erl2_take_login(struct mcsi_session *s, struct erl2_ep *ep,
			 struct sess_handoff *h, const char **msg)
{
	struct sess_erl2 *e = s->erl2;
	int rc;

	pthread_mutex_lock(&e->m);
	atomic_store(&ep->login_done, false);
	rc = ep->login_rc;
	*msg = ep->login_msg;
	*h = ep->h;
	ep->h.fd = -1;
	pthread_mutex_unlock(&e->m);
	return rc;
}

/* ---- the login thread -------------------------------------------------------- */

/* Logs in the connection cid again (same ISID and TSIH: RFC 7143 6.3.4, an
 * implicit logout of the old one) at portal, or at the session's URL
 * portal when portal does not parse. Blocking. */
static int erl2_login(struct sess_erl2 *e, uint16_t cid, const char *portal,
		      struct sess_handoff *h, const char **msg)
{
	struct mcsi_session *s = e->s;
	struct url_iscsi u;
	struct lgio_target t;
	struct lgio_status st;
	struct ctl_conn cc;
	struct url_portal p;
	const char *why = NULL;
	char iname[128];
	int rc;

	*msg = NULL;
	if ((rc = sess_target_prepare(e->desc->url, &e->desc->opts, &u, &t, iname,
				      sizeof(iname))) < 0)
		return rc;
	memcpy(t.isid, s->isid, sizeof(t.isid));
	t.tsih = s->tsih;
	t.cid = cid;
	if (!t.timeout_ms || t.timeout_ms > ERL2_LOGIN_TIMEOUT_MS)
		t.timeout_ms = ERL2_LOGIN_TIMEOUT_MS;
	if (portal[0] && url_parse_portal(portal, strlen(portal), &p, &why) == 0)
		t.portal = p;
	size_t cap = t.wishes.max_recv_dsl > NLIO_SCRATCH ? t.wishes.max_recv_dsl : NLIO_SCRATCH;
	uint8_t *rx = malloc(cap);
	if (!rx) {
		url_iscsi_wipe(&u);
		return -ENOMEM;
	}
	memset(&cc, 0, sizeof(cc));
	cc.fd = -1;
	rc = nlio_login(&t, &s->params, sess_cmdsn_peek(s), &cc, rx, cap, &st);
	url_iscsi_wipe(&u);
	if (rc == 0) {
		sess_handoff_take(h, &cc);       /* the reactor owns the fd now */
	} else {
		*msg = st.message;
		if (cc.fd >= 0)
			close(cc.fd);
	}
	free(rx);
	return rc;
}

static void erl2_wake(struct mcsi_session *s, unsigned owner)
{
	if (owner && owner <= s->nq && s->q[owner - 1])
		xport_wake(s->q[owner - 1]->x);
}

static void *erl2_main(void *arg)
{
	struct sess_erl2 *e = arg;

	pthread_mutex_lock(&e->m);
	while (!e->stop) {
		struct erl2_ep *ep = NULL;
		for (unsigned i = 0; i < ERL2_EPS && !ep; i++)
			if (e->ep[i].login_want)
				ep = &e->ep[i];
		if (!ep && e->add) {
			e->add--;
			pthread_mutex_unlock(&e->m);
			int rc = sess_add_conn(e->s, NULL, NULL);
			pthread_mutex_lock(&e->m);
			if (rc < 0)
				sess_log(e->s, 4, "connection recovery: no connection added in place "
					 "of the one logged out (%d)", rc);
			continue;
		}
		if (!ep) {
			pthread_cond_wait(&e->cv, &e->m);
			continue;
		}
		ep->login_want = false;
		ep->login_busy = true;
		uint16_t cid = ep->cid;
		char portal[SESS_PEER_MAX];
		memcpy(portal, ep->portal, sizeof(portal));
		pthread_mutex_unlock(&e->m);
		struct sess_handoff h;
		const char *msg = NULL;
		memset(&h, 0, sizeof(h));
		h.fd = -1;
		int rc = erl2_login(e, cid, portal, &h, &msg);
		pthread_mutex_lock(&e->m);
		ep->login_busy = false;
		if (ep->h.fd >= 0)
			close(ep->h.fd);
		ep->h = h;
		ep->login_rc = rc;
		ep->login_msg = msg;
		atomic_store(&ep->login_done, true);
		erl2_wake(e->s, atomic_load(&ep->owner));
	}
	pthread_mutex_unlock(&e->m);
	return NULL;
}
