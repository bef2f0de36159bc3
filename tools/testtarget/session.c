/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conn.h"
#include "login.h"
#include "proto/pdu.h"
#include "proto/serial.h"
#include "retain.h"

static void sess_kill_conn(struct tt_conn *c)
{
	atomic_store(&c->stop, true);
	/* Wakes the thread out of recv()/sendmsg(). */
	shutdown(c->fd, SHUT_RDWR);
	conn_wake(c);
}

void sess_put(struct tt_session *s)
{
	struct tt_server *srv = s->srv;
	pthread_mutex_lock(&srv->lock);
	bool last = --s->refs == 0;
	if (last) {
		struct tt_session **pp = &srv->sessions;
		while (*pp && *pp != s)
			pp = &(*pp)->next;
		if (*pp)
			*pp = s->next;
	}
	pthread_mutex_unlock(&srv->lock);
	if (last)
		sess_free(s);
}

void sess_free(struct tt_session *s)
{
	while (s->orphans) {                   /* never reassigned */
		struct tt_task *t = s->orphans;
		s->orphans = t->dnext;
		free(t->heap);
		free(t);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->initiator);
	free(s);
}

static struct tt_session *sess_find_tsih(struct tt_server *srv, uint16_t tsih)
{
	for (struct tt_session *s = srv->sessions; s; s = s->next)
		if (s->tsih == tsih && s->state != TT_SESS_GONE)
			return s;
	return NULL;
}

unsigned sess_check_join(struct tt_conn *c, struct tt_login *l, const char **why)
{
	struct tt_server *srv = c->srv;
	unsigned st = 0;

	retain_expire(srv);                    /* 0x020a once Time2Retain is over */
	pthread_mutex_lock(&srv->lock);
	struct tt_session *s = sess_find_tsih(srv, l->tsih);
	if (!s || memcmp(s->isid, l->isid, 6) || strcmp(s->initiator, l->initiator) ||
	    s->discovery != l->discovery || (!l->discovery && s->tgt != l->tgt)) {
		*why = "no such session";
		st = 0x020a;
	} else if (s->discovery) {
		*why = "discovery sessions have one connection";
		st = 0x0208;
	} else if (s->tpgt != c->portal->tpgt) {
		*why = "portal group differs from the session's";
		st = 0x0208;
	} else {
		pthread_mutex_lock(&s->lock);
		unsigned n = s->nconns;
		for (unsigned i = 0; i < s->nconns; i++)
			if (s->conns[i]->cid == l->cid)
				n--;   /* reinstatement replaces it */
		if (n >= s->p.max_connections || n >= TT_MAX_CONNS) {
			*why = "too many connections";
			st = 0x0206;
		} else {
			retain_join(s, c, l->cid);
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (!st) {
		s->refs++;
		l->join = s;
	}
	pthread_mutex_unlock(&srv->lock);
	return st;
}

static void sess_conn_params(struct tt_conn *c, const struct tt_params *sessp,
			     const struct tt_params *mine)
{
	c->p = *sessp;
	c->p.hdr_digest = mine->hdr_digest;
	c->p.data_digest = mine->data_digest;
	c->p.send_dsl = mine->send_dsl;
	c->p.recv_dsl = mine->recv_dsl;
}

static bool sess_conn_listed(struct tt_server *srv, const struct tt_conn *c)
{
	for (const struct tt_conn *x = srv->conns; x; x = x->next)
		if (x == c)
			return true;
	return false;
}

/* Connection reinstatement of a connection that is still up here (its
 * path failed without a reset): it is ended, and its thread hands its
 * unfinished tasks to the session as it goes (erl_fini()); waits (up to
 * 2 s) for that, so that a TASK REASSIGN right after this login finds
 * them. */
static void sess_end_old_cid(struct tt_server *srv, struct tt_session *s, uint16_t cid)
{
	struct tt_conn *old = NULL;
	struct timespec until;

	pthread_mutex_lock(&srv->lock);
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nconns && !old; i++)
		if (s->conns[i]->cid == cid)
			old = s->conns[i];
	if (old)
		sess_kill_conn(old);
	pthread_mutex_unlock(&s->lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	while (old && sess_conn_listed(srv, old))
		if (pthread_cond_timedwait(&srv->conns_gone, &srv->lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&srv->lock);
}

unsigned sess_attach(struct tt_conn *c, struct tt_login *l, uint16_t *tsih,
		     const char **why)
{
	struct tt_server *srv = c->srv;

	if (l->join) {
		struct tt_session *s = l->join;
		sess_end_old_cid(srv, s, l->cid);
		pthread_mutex_lock(&srv->lock);        /* for a retained one's refs */
		pthread_mutex_lock(&s->lock);
		if (s->state == TT_SESS_GONE) {
			pthread_mutex_unlock(&s->lock);
			pthread_mutex_unlock(&srv->lock);
			*why = "session went away";
			return 0x020a;
		}
		for (unsigned i = 0; i < s->nconns; i++) {
			if (s->conns[i]->cid != l->cid)
				continue;
			/* Connection reinstatement: the old one goes. */
			conn_log(c, 1, "reinstating CID %u", l->cid);
			sess_kill_conn(s->conns[i]);
			s->conns[i] = s->conns[--s->nconns];
			break;
		}
		if (s->nconns >= s->p.max_connections || s->nconns >= TT_MAX_CONNS) {
			pthread_mutex_unlock(&s->lock);
			pthread_mutex_unlock(&srv->lock);
			*why = "too many connections";
			return 0x0206;
		}
		s->conns[s->nconns++] = c;
		retain_continue(s, c);
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_unlock(&srv->lock);
		l->join = NULL;                /* the reference is the conn's now */
		c->sess = s;
		sess_conn_params(c, &s->p, &l->p);
		*tsih = s->tsih;
		return 0;
	}

	struct tt_session *s = calloc(1, sizeof(*s));
	if (!s) {
		*why = "out of memory";
		return 0x0302;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->srv = srv;
	s->tgt = l->tgt;
	s->discovery = l->discovery;
	memcpy(s->isid, l->isid, 6);
	s->initiator = l->initiator;
	l->initiator = NULL;
	s->tpgt = c->portal->tpgt;
	s->p = l->p;
	s->window = srv->cfg->lim.cmd_window;
	atomic_init(&s->exp_cmdsn, l->cmdsn);
	s->conns[0] = c;
	s->nconns = 1;
	s->refs = 1;

	struct tt_session *doomed = NULL;
	pthread_mutex_lock(&srv->lock);
	/* Session reinstatement: same initiator, ISID and target. */
	for (struct tt_session *o = srv->sessions, *nx; o; o = nx) {
		nx = o->next;
		if (o->state == TT_SESS_GONE || memcmp(o->isid, s->isid, 6) ||
		    strcmp(o->initiator, s->initiator) || o->tgt != s->tgt ||
		    o->discovery != s->discovery)
			continue;
		conn_log(c, 1, "reinstating session TSIH %u", o->tsih);
		if (o->state == TT_SESS_RETAINED) {
			retain_end(srv, o, &doomed);   /* no connection to end */
			continue;
		}
		pthread_mutex_lock(&o->lock);
		o->state = TT_SESS_GONE;
		for (unsigned i = 0; i < o->nconns; i++)
			sess_kill_conn(o->conns[i]);
		pthread_mutex_unlock(&o->lock);
	}
	do {
		s->tsih = srv->next_tsih++;
	} while (s->tsih == 0 || sess_find_tsih(srv, s->tsih));
	s->next = srv->sessions;
	srv->sessions = s;
	pthread_mutex_unlock(&srv->lock);
	while (doomed) {
		struct tt_session *o = doomed;
		doomed = o->next;
		sess_free(o);
	}

	c->sess = s;
	sess_conn_params(c, &s->p, &l->p);
	*tsih = s->tsih;
	return 0;
}

void sess_detach(struct tt_conn *c, bool failed)
{
	struct tt_session *s = c->sess;
	if (!s)
		return;
	pthread_mutex_lock(&s->srv->lock);
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nconns; i++) {
		if (s->conns[i] == c) {
			s->conns[i] = s->conns[--s->nconns];
			break;
		}
	}
	bool retained = retain_last_conn(s, c, failed);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->srv->lock);
	c->sess = NULL;
	if (!retained)
		sess_put(s);
}

void sess_close_all(struct tt_session *s, struct tt_conn *keep)
{
	pthread_mutex_lock(&s->lock);
	s->state = TT_SESS_GONE;
	for (unsigned i = 0; i < s->nconns; i++)
		if (s->conns[i] != keep)
			sess_kill_conn(s->conns[i]);
	pthread_mutex_unlock(&s->lock);
}

bool sess_close_cid(struct tt_session *s, uint16_t cid, struct tt_conn *self,
		    bool keep_tasks)
{
	bool found = false;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nconns; i++) {
		if (s->conns[i]->cid != cid)
			continue;
		found = true;
		if (s->conns[i] != self) {
			atomic_store(&s->conns[i]->drop_tasks, !keep_tasks);
			sess_kill_conn(s->conns[i]);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* ---- CmdSN ordering ---------------------------------------------------- */

static void sess_wake_others(struct tt_session *s, struct tt_conn *self)
{
	for (unsigned i = 0; i < s->nconns; i++)
		if (s->conns[i] != self && s->conns[i]->pending)
			conn_wake(s->conns[i]);
}

int sess_sequence(struct tt_conn *c, const struct tt_rxpdu *p)
{
	struct tt_session *s = c->sess;
	const struct bhs_scsi_cmd *cmd = (const void *)p->bhs;
	uint32_t sn = pdu_get32(&cmd->cmd_cmdsn);

	if (pdu_is_immediate(p->bhs))
		return 1;
	pthread_mutex_lock(&s->lock);
	uint32_t exp = atomic_load(&s->exp_cmdsn);
	uint32_t max = exp + s->window - 1;
	if (sn == exp) {
		atomic_store(&s->exp_cmdsn, exp + 1);
		if (s->nconns > 1)
			sess_wake_others(s, c);
		pthread_mutex_unlock(&s->lock);
		return 1;
	}
	if (!sn_in_window(sn, exp, max)) {
		pthread_mutex_unlock(&s->lock);
		conn_log(c, 1, "CmdSN %u outside [%u, %u]: ignored", sn, exp, max);
		return 0;
	}
	pthread_mutex_unlock(&s->lock);
	/* In the window but early: another connection (or a retry after a
	 * digest error) holds the gap. Keep a copy until it is filled. */
	size_t len = p->dsl;
	struct tt_pend *h = malloc(sizeof(*h) + len);
	if (!h)
		return -ENOMEM;
	h->next = NULL;
	h->data = NULL;
	h->cmdsn = sn;
	memcpy(h->bhs, p->bhs, 48);
	h->len = (uint32_t)len;
	memcpy(h->payload, p->data, len);
	struct tt_pend **pp = &c->pending;
	while (*pp && sn_lt((*pp)->cmdsn, sn))
		pp = &(*pp)->next;
	if (*pp && (*pp)->cmdsn == sn) {
		free(h);                       /* a duplicate */
		return 0;
	}
	h->next = *pp;
	*pp = h;
	conn_log(c, 2, "CmdSN %u held (expecting %u)", sn, exp);
	return 0;
}

bool sess_hold_data_out(struct tt_conn *c, const struct tt_rxpdu *p)
{
	uint32_t itt = pdu_itt(p->bhs);
	for (struct tt_pend *h = c->pending; h; h = h->next) {
		if (pdu_itt(h->bhs) != itt || pdu_opcode(h->bhs) != PDU_OP_SCSI_CMD)
			continue;
		struct tt_pend *d = malloc(sizeof(*d) + p->dsl);
		if (!d)
			return false;
		d->next = d->data = NULL;
		memcpy(d->bhs, p->bhs, 48);
		d->len = p->dsl;
		memcpy(d->payload, p->data, p->dsl);
		struct tt_pend **pp = &h->data;
		while (*pp)
			pp = &(*pp)->next;
		*pp = d;
		return true;
	}
	return false;
}

static void sess_free_pend(struct tt_pend *h)
{
	while (h->data) {
		struct tt_pend *d = h->data;
		h->data = d->next;
		free(d);
	}
	free(h);
}

int sess_run_pending(struct tt_conn *c)
{
	struct tt_session *s = c->sess;
	int rc = 0;

	while (c->pending && rc == 0) {
		struct tt_pend *h = c->pending;
		pthread_mutex_lock(&s->lock);
		uint32_t exp = atomic_load(&s->exp_cmdsn);
		if (h->cmdsn != exp) {
			if (sn_lt(h->cmdsn, exp)) {
				/* Already delivered by a retry: drop it. */
				c->pending = h->next;
				pthread_mutex_unlock(&s->lock);
				sess_free_pend(h);
				continue;
			}
			pthread_mutex_unlock(&s->lock);
			break;
		}
		atomic_store(&s->exp_cmdsn, exp + 1);
		if (s->nconns > 1)
			sess_wake_others(s, c);
		pthread_mutex_unlock(&s->lock);
		c->pending = h->next;

		struct tt_rxpdu p = { .bhs = h->bhs, .data = h->payload, .dsl = h->len };
		rc = conn_dispatch(c, &p);
		for (struct tt_pend *d = h->data; d && rc == 0; d = d->next) {
			struct tt_rxpdu dp = { .bhs = d->bhs, .data = d->payload, .dsl = d->len };
			rc = conn_dispatch(c, &dp);
		}
		/* Payload may be referenced by queued PDUs (NOP-In echo):
		 * flush before freeing. */
		io_flush(c);
		sess_free_pend(h);
	}
	return rc;
}

void sess_drop_pending(struct tt_conn *c)
{
	while (c->pending) {
		struct tt_pend *h = c->pending;
		c->pending = h->next;
		sess_free_pend(h);
	}
}

/* ---- unit attentions --------------------------------------------------- */

bool sess_check_ua(struct tt_session *s, struct scsi_cmd *sc)
{
	uint8_t op = sc->cdb[0];
	if (!sc->lun || op == 0x12 || op == 0xa0 || op == 0x03)
		return false;
	pthread_mutex_lock(&s->lock);
	uint8_t *ua = &s->ua[sc->lun->id];
	unsigned asc = 0;
	if (*ua & TT_UA_POWER_ON) {
		*ua &= (uint8_t)~TT_UA_POWER_ON;
		asc = ASC_POWER_ON;
	} else if (*ua & TT_UA_LUN_RESET) {
		*ua &= (uint8_t)~TT_UA_LUN_RESET;
		asc = ASC_LUN_RESET;
	} else if (*ua & TT_UA_CAPACITY) {
		*ua &= (uint8_t)~TT_UA_CAPACITY;
		asc = ASC_CAPACITY_CHANGED;
	} else if (*ua & TT_UA_LUNS_CHANGED) {
		*ua &= (uint8_t)~TT_UA_LUNS_CHANGED;
		asc = ASC_REPORTED_LUNS_CHANGED;
	}
	pthread_mutex_unlock(&s->lock);
	if (!asc)
		return false;
	scsi_set_sense(sc, SK_UNIT_ATTENTION, asc);
	return true;
}

void sess_raise_ua(struct tt_server *srv, const struct tt_target *t,
		   uint32_t lun, unsigned ua)
{
	pthread_mutex_lock(&srv->lock);
	for (struct tt_session *s = srv->sessions; s; s = s->next) {
		if (s->tgt != t || s->state == TT_SESS_GONE)
			continue;
		pthread_mutex_lock(&s->lock);
		for (uint32_t i = 0; i < TT_MAX_LUNS; i++)
			if (lun == UINT32_MAX || lun == i)
				s->ua[i] |= (uint8_t)ua;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&srv->lock);
}
