/* SPDX-License-Identifier: MIT */
/* MC/S on a live session: see sess_mcs.h and docs/design/mcs.md. */
#include "mcs/sess_mcs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcs/conn.h"
#include "mcs/login_nonlead.h"
#include "mcs/login_nonlead_io.h"
#include "mcs/reactor.h"
#include "mcs/sess.h"
#include "mcs/sess_desc.h"
#include "mcs/sess_rec.h"
#include "mcs/sess_sm.h"
#include "proto/discovery.h"
#include "proto/url.h"

#define MS_NS 1000000ull

struct sess_mcs {
	struct sess_desc *desc;              /* url and options, protected */
	struct url_portal portals[NLOGIN_MAX_PORTALS];
	unsigned nportals;
	unsigned next;                       /* portal of the next join */
	pthread_mutex_t add;                 /* one join or removal at a time */
	_Atomic uint64_t last_logout_ns;
	_Atomic bool session_logout;         /* Logout reason 0 is on its way */
	char portal[CSET_MAX][SESS_PEER_MAX];
};

static uint32_t mcs_cmdsn(void *arg)
{
	return sess_cmdsn_peek(arg);
}

int sess_mcs_parse_portals(const char *list, struct url_portal *out, unsigned cap,
			   unsigned *n)
{
	const char *p = list;
	unsigned k = 0;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct url_portal one;
		const char *why = NULL;
		if (len == 0 || url_parse_portal(p, len, &one, &why) < 0)
			return -EINVAL;
		if (out && k < cap)
			out[k++] = one;
		p += len + (end ? 1 : 0);
	}
	if (n)
		*n = k;
	return 0;
}

static bool portal_eq(const struct url_portal *a, const struct url_portal *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Appends p unless m has it already (or is full). */
static void mcs_portal_add(struct sess_mcs *m, const struct url_portal *p)
{
	for (unsigned i = 0; i < m->nportals; i++)
		if (portal_eq(&m->portals[i], p))
			return;
	if (m->nportals < NLOGIN_MAX_PORTALS)
		m->portals[m->nportals++] = *p;
}

/* SendTargets on a discovery session at the leading portal: the portals
 * of the target in the leading login's portal group, added after those
 * already known. */
static void mcs_discover(struct mcsi_session *s, const struct lgio_target *lead)
{
	enum { MAX_T = 64, MAX_A = 256, TEXT = 1u << 16 };
	struct sess_mcs *m = s->mcs;
	struct disc_target *targets = calloc(MAX_T, sizeof(*targets));
	struct disc_address *addrs = calloc(MAX_A, sizeof(*addrs));
	char *text = malloc(TEXT);
	uint8_t *rx = malloc(LGIO_RX_MIN);
	struct disc_result res = { .targets = targets, .max_targets = MAX_T,
				   .addrs = addrs, .max_addrs = MAX_A };
	struct lgio_target t = *lead;
	struct lgio_status st;
	struct ctl_conn c;
	const char *why = NULL;

	if (!targets || !addrs || !text || !rx)
		goto out;
	t.target_name = NULL;
	t.wishes.max_connections = 1;
	if (lgio_login(&t, &c, rx, LGIO_RX_MIN, &st) < 0) {
		sess_log(s, 6, "MC/S: discovery failed (%s): further connections use the "
			 "leading portal", st.message ? st.message : "?");
		goto out;
	}
	int len = lgio_sendtargets(&c, text, TEXT);
	ctl_logout(&c);
	ctl_close(&c);
	if (len < 0 || disc_parse_sendtargets(text, (size_t)len, &res, &why) < 0) {
		sess_log(s, 6, "MC/S: no usable SendTargets answer: further connections "
			 "use the leading portal");
		goto out;
	}
	struct url_portal group[NLOGIN_MAX_PORTALS];
	unsigned ng = nlogin_portals(&res, lead->target_name, s->params.tpgt,
				     &lead->portal, group, NLOGIN_MAX_PORTALS);
	for (unsigned i = 0; i < ng; i++)
		mcs_portal_add(m, &group[i]);
out:
	free(targets);
	free(addrs);
	free(text);
	free(rx);
}

int sess_mcs_create(struct mcsi_session *s, struct sess_desc *d,
		    const struct sess_handoff *h)
{
	struct sess_mcs *m = calloc(1, sizeof(*m));
	const struct mcsi_opts *o = &d->opts;

	if (!m)
		return -ENOMEM;
	m->desc = sess_desc_get(d);
	pthread_mutex_init(&m->add, NULL);
	int lead_slot = cset_find(&s->cs, h->cid);
	if (lead_slot >= 0)
		snprintf(m->portal[lead_slot], sizeof(m->portal[0]), "%s", h->peer);
	s->mcs = m;
	struct lgio_target lead;
	struct url_iscsi u;
	char iname[128];
	if (sess_target_prepare(m->desc->url, &m->desc->opts, &u, &lead, iname,
				sizeof(iname)) < 0)
		return -EINVAL;
	m->portals[0] = lead.portal;
	m->nportals = 1;
	/* The caller's portals first (the configuration's, for a login
	 * that named none), then the portal group's from SendTargets. */
	struct url_portal given[NLOGIN_MAX_PORTALS];
	unsigned ngiven = 0;
	if (o->portals &&
	    sess_mcs_parse_portals(o->portals, given, NLOGIN_MAX_PORTALS, &ngiven) == 0)
		for (unsigned i = 0; i < ngiven; i++)
			mcs_portal_add(m, &given[i]);
	if (o->connections > 1)
		mcs_discover(s, &lead);
	url_iscsi_wipe(&u);
	m->next = 1;                 /* after the leading portal */
	return 0;
}

void sess_mcs_destroy(struct mcsi_session *s)
{
	struct sess_mcs *m = s->mcs;

	if (!m)
		return;
	sess_desc_put(m->desc);
	pthread_mutex_destroy(&m->add);
	free(m);
	s->mcs = NULL;
}

const char *sess_mcs_portal(const struct mcsi_session *s, int slot)
{
	if (!s->mcs || slot < 0 || slot >= (int)CSET_MAX)
		return "";
	return s->mcs->portal[slot];
}

int sess_attach_conn(struct mcsi_session *s, const struct sess_handoff *h,
		     int slot, unsigned queue)
{
	struct reactor_add a = { .h = h, .slot = slot };
	struct mcsi_cmd cmd;

	if (s->mcs)
		snprintf(s->mcs->portal[slot], sizeof(s->mcs->portal[0]), "%s", h->peer);
	memset(&cmd, 0, sizeof(cmd));
	cmd_priv(&cmd)->op = CMD_OP_ADD_CONN;
	cmd_priv(&cmd)->ptr = &a;
	int rc = sess_run_cmd(s, queue, &cmd);
	if (rc < 0)
		cset_cancel(&s->cs, slot);
	return rc;
}

/* Hands a logged-in further connection to its reactor. */
static int mcs_attach(struct mcsi_session *s, struct nlogin_conn *nc)
{
	struct sess_handoff h;

	memset(&h, 0, sizeof(h));
	h.fd = nc->ctl.fd;
	h.params = nc->ctl.params;
	memcpy(h.isid, nc->ctl.isid, sizeof(h.isid));
	h.tsih = nc->ctl.tsih;
	h.cid = nc->ctl.cid;
	h.cmdsn = nc->ctl.cmdsn;
	h.expcmdsn = nc->ctl.expcmdsn;
	h.maxcmdsn = nc->ctl.maxcmdsn;
	h.expstatsn = nc->ctl.expstatsn;
	snprintf(h.peer, sizeof(h.peer), "%s", nc->ctl.peer);
	nc->ctl.fd = -1;             /* the reactor owns it now */
	return sess_attach_conn(s, &h, nc->tk.slot, nc->tk.queue);
}

int sess_add_conn(struct mcsi_session *s, const char *portal, uint16_t *cid)
{
	struct sess_mcs *m = s->mcs;
	struct url_portal one;
	struct lgio_target lead;
	struct url_iscsi u;
	struct nlogin_result res;
	struct nlogin_conn nc;
	const char *why = NULL;
	char iname[128];
	int rc;

	if (!m)
		return -EINVAL;
	if (atomic_load(&s->state) != SESS_LIVE)
		return -ENOTCONN;
	if (portal && url_parse_portal(portal, strlen(portal), &one, &why) < 0)
		return -EINVAL;
	pthread_mutex_lock(&m->add);
	if ((rc = sess_target_prepare(m->desc->url, &m->desc->opts, &u, &lead, iname,
				      sizeof(iname))) < 0) {
		pthread_mutex_unlock(&m->add);
		return rc;
	}
	memcpy(lead.isid, s->isid, sizeof(lead.isid));
	lead.portal = m->portals[0];
	struct nlogin_req req = {
		.lead = &lead, .session = &s->params, .tsih = s->tsih,
		.portals = portal ? &one : m->portals, .nportals = portal ? 1 : m->nportals,
		.cmdsn = mcs_cmdsn, .cmdsn_arg = s, .settle_ms = SESS_MCS_SETTLE_MS,
	};
	unsigned zero = 0, *next = portal ? &zero : &m->next;
	size_t cap = lead.wishes.max_recv_dsl > NLIO_SCRATCH ? lead.wishes.max_recv_dsl
							      : NLIO_SCRATCH;
	memset(&nc, 0, sizeof(nc));
	memset(&res, 0, sizeof(res));
	nc.ctl.fd = -1;
	nc.rx = malloc(cap);
	nc.rx_cap = cap;
	if (!nc.rx) {
		url_iscsi_wipe(&u);
		pthread_mutex_unlock(&m->add);
		return -ENOMEM;
	}
	rc = nlogin_open_one(&s->cs, &req, &nlogin_ops_blocking, -1, next, &nc, &res);
	url_iscsi_wipe(&u);
	if (rc < 0) {
		sess_log(s, 4, "MC/S: connection not added (the session goes on with %u): %s "
			 "(status 0x%02x%02x, limit %u)",
			 atomic_load(&s->cs.nup), res.message ? res.message : strerror(-rc),
			 res.st.status_class, res.st.status_detail, res.limit);
	} else {
		uint16_t got = nc.tk.cid;
		if ((rc = mcs_attach(s, &nc)) == 0) {
			sess_log(s, 6, "MC/S: connection %u added at %s on queue %u", got,
				 nc.ctl.peer, nc.tk.queue);
			if (cid)
				*cid = got;
		} else {
			sess_log(s, 4, "MC/S: connection %u logged in but could not start (%d)",
				 got, rc);
		}
	}
	free(nc.rx);
	pthread_mutex_unlock(&m->add);
	return rc;
}

unsigned sess_add_conns(struct mcsi_session *s, unsigned n)
{
	unsigned opened = 0;

	while (opened < n && sess_add_conn(s, NULL, NULL) == 0)
		opened++;
	return opened;
}

/* Whether the peer of fd has closed its side (its FIN arrived): from the
 * TCP state, since our own side may be shut down already (the io_uring
 * transport shuts a socket down when it detaches it), so that a read
 * would say end of stream at once. */
static bool mcs_peer_closed(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return true;
	return ti.tcpi_state != TCP_ESTABLISHED && ti.tcpi_state != TCP_FIN_WAIT1 &&
	       ti.tcpi_state != TCP_FIN_WAIT2 && ti.tcpi_state != TCP_SYN_SENT &&
	       ti.tcpi_state != TCP_SYN_RECV;
}

/* Waits (bounded) for the target to close a connection that logged out,
 * on fd, a duplicate of its socket; then closes fd. istgt clears the
 * session's queued commands before it closes the socket, so its close
 * says that clearing is over. */
static void mcs_await_close(int fd, unsigned ms)
{
	uint64_t until = sess_now_ns() + ms * MS_NS;
	struct timespec step = { 0, 200000 };        /* 200 µs */

	(void)shutdown(fd, SHUT_WR);                 /* our FIN, if not sent */
	while (!mcs_peer_closed(fd) && sess_now_ns() < until)
		nanosleep(&step, NULL);
	close(fd);
}

/* Runs CMD_OP_QUIESCE on every queue: each answers once it has no
 * command with a CmdSN in flight (the session is paused). */
static int mcs_quiesce(struct mcsi_session *s)
{
	int rc = 0;

	for (unsigned q = 0; q < s->nq; q++) {
		struct mcsi_cmd cmd;
		memset(&cmd, 0, sizeof(cmd));
		cmd_priv(&cmd)->op = CMD_OP_QUIESCE;
		int r = sess_run_cmd(s, q, &cmd);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

/* Ends the pause: every queue whose commands waited goes on. */
static void mcs_resume(struct mcsi_session *s)
{
	uint64_t m = cset_resume(&s->cs);

	for (unsigned q = 0; q < s->nq; q++)
		if (s->q[q] && (m & (1ull << q)))
			reactor_window_kick(s->q[q]);
}

int sess_remove_conn(struct mcsi_session *s, uint16_t cid)
{
	struct sess_mcs *m = s->mcs;
	struct reactor_drop d = { .fd = -1 };
	struct mcsi_cmd cmd;
	int slot, rc;

	if (atomic_load(&s->state) != SESS_LIVE)
		return -ENOTCONN;
	if ((slot = cset_find(&s->cs, cid)) < 0)
		return -ENOENT;
	if (!cset_usable(&s->cs, slot))
		return -ENOTCONN;
	/* The last usable connection is the session's: refuse before the
	 * reactor is asked (cset_leave() there would refuse too). */
	if (atomic_load(&s->cs.nup) <= 1)
		return -EBUSY;
	if (m)
		pthread_mutex_lock(&m->add);
	/* The whole session pauses: no new CmdSN, and what is in flight on
	 * every connection is answered before the Logout goes out; it
	 * resumes once the target closed the connection (section 7). Then
	 * the Logout's CmdSN is the target's ExpCmdSN too. */
	cset_pause(&s->cs);
	uint64_t t0 = sess_now_ns();
	if ((rc = mcs_quiesce(s)) < 0)
		sess_log(s, 4, "MC/S: removing connection %u: the session's commands did "
			 "not drain (%s); logging it out anyway", cid, strerror(-rc));
	unsigned q = atomic_load(&s->cs.slot[slot].queue);
	memset(&cmd, 0, sizeof(cmd));
	cmd_priv(&cmd)->op = CMD_OP_DROP_CONN;
	cmd_priv(&cmd)->arg = (uint32_t)slot;
	cmd_priv(&cmd)->ptr = &d;
	rc = sess_run_cmd(s, q, &cmd);
	if (d.fd >= 0)
		mcs_await_close(d.fd, SESS_MCS_CLOSE_WAIT_MS);
	mcs_resume(s);
	uint64_t paused_us = (sess_now_ns() - t0) / 1000u;
	if (m)
		pthread_mutex_unlock(&m->add);
	if (rc == 0)
		sess_log(s, 6, "MC/S: connection %u logged out (the session paused %llu us)",
			 cid, (unsigned long long)paused_us);
	else
		sess_log(s, 4, "MC/S: removing connection %u: %s", cid, strerror(-rc));
	return rc;
}

void sess_conn_logged_out(struct mcsi_session *s)
{
	if (s->mcs)
		atomic_store(&s->mcs->last_logout_ns, sess_now_ns());
}

bool sess_mcs_logging_out(const struct mcsi_session *s)
{
	return s->mcs && atomic_load(&s->mcs->session_logout);
}

void sess_mcs_logout_others(struct mcsi_session *s)
{
	if (!s->mcs)
		return;
	/* One at a time, the newest first (the leading connection, on
	 * queue 0, carries the session Logout); a removal that fails leaves
	 * the rest to the session Logout, as before. */
	for (unsigned n = 0; n < CSET_MAX && atomic_load(&s->cs.nup) > 1; n++) {
		struct cset_snap v;
		int best = -1;
		cset_view(&s->cs, &v);
		for (unsigned i = 0; i < v.n; i++)
			if (v.conn[i].state == CSET_UP &&
			    (best < 0 || v.conn[i].cid > v.conn[best].cid))
				best = (int)i;
		if (best < 0)
			return;
		int rc = sess_remove_conn(s, v.conn[best].cid);
		if (rc < 0 && rc != -ENOENT && rc != -ENOTCONN)
			return;
	}
}

void sess_mcs_logout_gap(struct mcsi_session *s)
{
	if (!s->mcs)
		return;
	atomic_store(&s->mcs->session_logout, true);
	uint64_t last = atomic_load(&s->mcs->last_logout_ns);
	uint64_t until = last + SESS_MCS_LOGOUT_GAP_MS * MS_NS, now = sess_now_ns();
	if (last && now < until)
		usleep((useconds_t)((until - now) / 1000u));
}

/* Drops every connection of the session but c, each on its own reactor. */
static void mcs_drop_others(struct conn *c)
{
	struct mcsi_session *s = c->sess;

	for (unsigned q = 0; q < s->nq; q++) {
		struct reactor *r = s->q[q];
		if (!r)
			continue;
		if (r != c->r) {
			reactor_request(r, REACTOR_REQ_FAIL_ALL);
			continue;
		}
		for (unsigned i = 0; i < r->nconns; i++)
			if (r->conns[i] != c)
				conn_fail(r->conns[i], -ECONNRESET, "the session is lost: "
					  "connection %u failed at ErrorRecoveryLevel %u", c->cid,
					  c->sess->params.error_recovery_level);
	}
}

bool sess_conn_lost(struct conn *c, int err, const char *reason)
{
	struct mcsi_session *s = c->sess;
	enum cset_state was = cset_fail(&s->cs, c->slot);
	int st = atomic_load(&s->state);

	if (st == SESS_FAILED || st == SESS_CLOSED)
		return false;
	if (was == CSET_LEAVING && c->inflight == 0) {
		/* It was logging out with nothing outstanding: no CmdSN can be
		 * missing at the target. The session keeps the others. */
		c->reap = true;
		return false;
	}
	/* ERL 0 (and 1): a connection's loss is the session's (section 6). */
	bool held = sess_rec_lost(c, err, reason);
	if (!held) {
		int from = st;
		if ((st == SESS_LIVE || st == SESS_CLOSING) &&
		    atomic_compare_exchange_strong(&s->state, &from, SESS_FAILED)) {
			if (sess_sm_state(s) != ERL_Q4_FAILED)   /* N3; ERL 2 may have */
				sess_sm(s, ERL_SE_LAST_CONN_LOST);
			sess_error(s, "%s: connection %u failed at ErrorRecoveryLevel %u: the "
				   "session failed (%s)", c->peer, c->cid,
				   s->params.error_recovery_level, reason);
			struct mcsi_event ev = {
				.type = MCSI_EV_SESSION_FAILED, .cid = c->cid, .err = err,
				.reason = "a connection failed below ErrorRecoveryLevel 2",
			};
			sess_event(s, &ev);
		}
	}
	mcs_drop_others(c);
	return held;
}
