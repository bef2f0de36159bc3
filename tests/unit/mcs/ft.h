/* SPDX-License-Identifier: MIT */
/*
 * A scripted fake target for the mcs unit tests: a session over the fake
 * transport, driven in application mode (no threads), with helpers that
 * parse what the initiator sent and inject target PDUs (with digests when
 * negotiated). Header-only so that each test program stays one file.
 */
#ifndef MCSI_TEST_FT_H
#define MCSI_TEST_FT_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcs/conn.h"
#include "mcs/reactor.h"
#include "mcs/sess.h"
#include "mcs/sess_desc.h"
#include "mcs/sess_mcs.h"
#include "mcs/sess_rec.h"
#include "proto/digest.h"
#include "proto/neg.h"
#include "proto/pdu.h"

struct ft_pdu {
	uint8_t bhs[48] __attribute__((aligned(8)));
	uint8_t ahs[64];
	uint32_t ahs_len;
	uint8_t data[1u << 18];
	uint32_t dsl;
};

/* What one connection sent that ft_recv_on() has not parsed yet. */
struct ft_rx {
	struct conn *c;               /* NULL: a free entry */
	uint8_t in[1u << 20];
	size_t len;
};

#define FT_CONNS 4

struct ft {
	struct mcsi_session *s;
	struct iscsi_params p;
	uint32_t statsn, expcmdsn, maxcmdsn;
	struct ft_rx rx[FT_CONNS];
	struct conn *to;              /* where ft_inject() goes; NULL: ft_conn() */
	int events[16];
	unsigned nevents;
	struct mcsi_event last_ev;
	bool batching;                /* ft_inject() collects, see ft_batch_end() */
	uint8_t batch[1u << 20];
	size_t batch_len;
};

/* Receive read-ahead of the sessions ft opens: each test program runs its
 * tests once without (0: one header per receive, nothing copied) and once
 * with (many PDUs per receive), see ft_run_both(). */
static unsigned ft_readahead;
/* Commands in flight per session (the reactor's queue depth). */
static unsigned ft_queue_depth = 8;

static inline void ft_default_params(struct iscsi_params *p)
{
	neg_params_default(p);
	p->max_recv_dsl = 8192;
	p->max_xmit_dsl = 8192;
	p->first_burst_length = 65536;
	p->max_burst_length = 262144;
	p->immediate_data = true;
	p->initial_r2t = true;
	p->max_outstanding_r2t = 1;
	p->header_digest = p->data_digest = false;
}

static inline void ft_on_event(mcsi_session *s, const struct mcsi_event *ev, void *priv)
{
	struct ft *f = priv;

	(void)s;
	if (f->nevents < 16)
		f->events[f->nevents++] = ev->type;
	f->last_ev = *ev;
	f->last_ev.sense = NULL;
}

static inline void ft_log(void *priv, int level, const char *msg)
{
	(void)priv;
	if (level <= 4 && strstr(msg, "is not allowed in state"))
		fprintf(stderr, "ft: %s\n", msg);    /* ft_close() fails the test */
}

static inline struct conn *ft_conn(struct ft *f) { return f->s->q[0]->conns[0]; }
static inline struct xport_conn *ft_xc(struct ft *f) { return &ft_conn(f)->xc; }

/* Opens a session; cfg tweaks: timeouts in ms (0 = off). */
static inline void ft_open_cfg(struct ft *f, const struct iscsi_params *p,
			       unsigned cmd_timeout, unsigned nop_interval,
			       unsigned nop_timeout)
{
	struct sess_handoff h;
	struct sess_cfg cfg = {
		.queues = 0, .queue_depth = ft_queue_depth, .cmd_timeout_ms = cmd_timeout,
		.nop_interval_ms = nop_interval, .nop_timeout_ms = nop_timeout,
		.ua_retries = 3, .transport = "fake",
		.rx_readahead = ft_readahead, .coalesce_us = 500,
		.event = ft_on_event, .event_priv = f, .log = ft_log,
	};

	memset(f, 0, sizeof(*f));
	f->p = *p;
	memset(&h, 0, sizeof(h));
	h.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	h.params = *p;
	h.cid = 1;
	h.cmdsn = h.expcmdsn = 10;
	h.maxcmdsn = 10 + 31;
	h.expstatsn = 100;
	strcpy(h.peer, "127.0.0.1:3260");
	f->statsn = 100;
	f->expcmdsn = 10;
	f->maxcmdsn = 41;
	if (sess_create(&h, &cfg, &f->s) != 0)
		abort();
}

static inline void ft_open(struct ft *f, const struct iscsi_params *p)
{
	ft_open_cfg(f, p, 0, 0, 0);
}

/* Closes the session; every RFC state machine event of its connections
 * must have been a legal one (mcs/conn_sm.h). */
static inline void ft_close(struct ft *f)
{
	if (atomic_load(&f->s->rfc_illegal))
		abort();               /* the log line went to stderr (ft_log) */
	sess_destroy(f->s);
	f->s = NULL;
}

static inline void ft_turn(struct ft *f)
{
	for (int i = 0; i < 4; i++)
		reactor_turn(f->s->q[0], 0);
}

/* Gives the session its session-recovery state (a 60 s replacement
 * timeout) without a login thread: the test plays the logins. */
static inline void ft_attach_rec(struct ft *f)
{
	struct mcsi_opts o;
	struct sess_desc *d = NULL;
	struct sess_rec *rec = NULL;

	mcsi_opts_init(&o);
	if (sess_desc_create("iscsi://127.0.0.1:3260/iqn.2026-11.org.mcsi:t", &o, &d) != 0 ||
	    sess_rec_create(d, 60000, &rec) != 0)
		abort();
	sess_desc_put(d);              /* rec holds its own reference */
	f->s->cfg.rec = rec;
}

/* The connection on the first queue with this CID (usable: only one that
 * is UP, since a failed one and its reinstatement share the CID), or NULL. */
static inline struct conn *ft_conn_cid(struct ft *f, uint16_t cid, bool usable)
{
	struct reactor *r = f->s->q[0];

	for (unsigned i = 0; i < r->nconns; i++)
		if (r->conns[i]->cid == cid && (!usable || conn_usable(r->conns[i])))
			return r->conns[i];
	return NULL;
}

/* Adds a logged-in connection (CID cid, the session's parameters p) the
 * way a non-leading login's handoff does. Returns its slot. */
static inline int ft_add_conn(struct ft *f, const struct iscsi_params *p, uint16_t cid,
			      uint32_t maxcmdsn)
{
	struct sess_handoff h;
	struct cset_ticket tk;

	memset(&h, 0, sizeof(h));
	h.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	h.params = *p;
	h.cid = cid;
	h.expcmdsn = 10;
	h.maxcmdsn = maxcmdsn;
	h.expstatsn = 500;
	strcpy(h.peer, "127.0.0.1:3261");
	if (cset_reserve(&f->s->cs, 0, &tk) != 0 ||
	    sess_attach_conn(f->s, &h, tk.slot, tk.queue) != 0)
		abort();
	return (int)tk.slot;
}

/* The receive buffer of c, taking a free one the first time. */
static inline struct ft_rx *ft_rx_of(struct ft *f, struct conn *c)
{
	for (unsigned i = 0; i < FT_CONNS; i++)
		if (f->rx[i].c == c)
			return &f->rx[i];
	for (unsigned i = 0; i < FT_CONNS; i++)
		if (!f->rx[i].c) {
			f->rx[i].c = c;
			f->rx[i].len = 0;
			return &f->rx[i];
		}
	abort();
}

/* Forgets what c sent and not parsed (it died: its memory may be reused). */
static inline void ft_rx_forget(struct ft *f, struct conn *c)
{
	struct ft_rx *rx = ft_rx_of(f, c);

	rx->c = NULL;
	rx->len = 0;
}

/* Forgets every connection's unparsed bytes (a session was reinstated). */
static inline void ft_rx_forget_all(struct ft *f)
{
	for (unsigned i = 0; i < FT_CONNS; i++)
		f->rx[i].c = NULL, f->rx[i].len = 0;
}

/* Next PDU the initiator sent on c, or false. */
static inline bool ft_recv_on(struct ft *f, struct conn *c, struct ft_pdu *p)
{
	struct ft_rx *rx = ft_rx_of(f, c);
	uint32_t hd = f->p.header_digest ? 4 : 0, dd = f->p.data_digest ? 4 : 0;

	ft_turn(f);
	if (c->slots)
		rx->len += xport_fake_take(&c->xc, rx->in + rx->len, sizeof(rx->in) - rx->len);
	if (rx->len < 48)
		return false;
	uint32_t ahs = pdu_ahs_bytes(rx->in), dsl = pdu_dsl(rx->in);
	size_t need = 48 + ahs + hd + (dsl ? dsl + pdu_pad(dsl) + dd : 0);
	if (rx->len < need)
		return false;
	memcpy(p->bhs, rx->in, 48);
	memcpy(p->ahs, rx->in + 48, ahs);
	p->ahs_len = ahs;
	if (hd && digest_load(rx->in + 48 + ahs) != digest_crc32c(rx->in, 48 + ahs))
		abort();
	memcpy(p->data, rx->in + 48 + ahs + hd, dsl);
	p->dsl = dsl;
	memmove(rx->in, rx->in + need, rx->len - need);
	rx->len -= need;
	return true;
}

/* Next initiator PDU on the first connection, or false. */
static inline bool ft_recv(struct ft *f, struct ft_pdu *p)
{
	return ft_recv_on(f, ft_conn(f), p);
}

/* Whether an event of this type was reported since the session opened. */
static inline bool ft_saw(const struct ft *f, int type)
{
	for (unsigned i = 0; i < f->nevents; i++)
		if (f->events[i] == type)
			return true;
	return false;
}

static inline void ft_inject(struct ft *f, const void *bhs, const void *data, uint32_t len)
{
	uint8_t buf[48 + 4 + (1u << 18) + 8];
	size_t n = 48;
	uint8_t h[48];

	memcpy(h, bhs, 48);
	pdu_set_dsl(h, len);
	memcpy(buf, h, 48);
	if (f->p.header_digest) {
		digest_store(buf + n, digest_crc32c(buf, 48));
		n += 4;
	}
	if (len) {
		memcpy(buf + n, data, len);
		memset(buf + n + len, 0, pdu_pad(len));
		n += len + pdu_pad(len);
		if (f->p.data_digest) {
			digest_store(buf + n, digest_crc32c(buf + n - len - pdu_pad(len),
							     len + pdu_pad(len)));
			n += 4;
		}
	}
	if (f->batching) {
		if (f->batch_len + n > sizeof(f->batch))
			abort();
		memcpy(f->batch + f->batch_len, buf, n);
		f->batch_len += n;
		return;
	}
	if (xport_fake_inject(f->to ? &f->to->xc : ft_xc(f), buf, n) != 0)
		abort();
	ft_turn(f);
}

/* The PDU builders below inject into c from now on (NULL: ft_conn()). */
static inline void ft_on(struct ft *f, struct conn *c)
{
	f->to = c;
}

/* PDUs injected between these two arrive together, as one stream. */
static inline void ft_batch_begin(struct ft *f)
{
	f->batching = true;
	f->batch_len = 0;
}

static inline void ft_batch_end(struct ft *f)
{
	f->batching = false;
	if (xport_fake_inject(f->to ? &f->to->xc : ft_xc(f), f->batch, f->batch_len) != 0)
		abort();
	ft_turn(f);
}

/* StatSN / ExpCmdSN / MaxCmdSN at their common place; status PDUs use
 * up a StatSN. */
static inline void ft_stamp(struct ft *f, uint8_t *h, bool status)
{
	struct pdu_bhs *b = (struct pdu_bhs *)h;

	pdu_put32(&b->bhs_spec2[1], status ? f->statsn++ : f->statsn);
	pdu_put32(&b->bhs_spec2[2], f->expcmdsn);
	pdu_put32(&b->bhs_spec2[3], f->maxcmdsn);
}

static inline void ft_data_in(struct ft *f, uint32_t itt, uint32_t datasn,
			      uint32_t off, const void *data, uint32_t len,
			      uint8_t flags, uint8_t status, uint32_t residual)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_DATA_IN, flags };
	struct bhs_data_in *d = (void *)h;

	pdu_put32(&d->din_itt, itt);
	pdu_put32(&d->din_ttt, PDU_RESERVED_TAG);
	ft_stamp(f, h, flags & DATA_IN_STATUS);
	d->din_status = status;
	pdu_put32(&d->din_datasn, datasn);
	pdu_put32(&d->din_offset, off);
	pdu_put32(&d->din_residual, residual);
	ft_inject(f, h, data, len);
}

static inline void ft_rsp(struct ft *f, uint32_t itt, uint8_t status, uint8_t flags,
			  uint32_t residual, const uint8_t *sense, uint16_t sense_len)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_SCSI_RSP, (uint8_t)(0x80 | flags) };
	struct bhs_scsi_rsp *r = (void *)h;
	uint8_t data[2 + 252];

	pdu_put32(&r->rsp_itt, itt);
	r->rsp_status = status;
	ft_stamp(f, h, true);
	pdu_put32(&r->rsp_residual, residual);
	data[0] = (uint8_t)(sense_len >> 8);
	data[1] = (uint8_t)sense_len;
	if (sense_len)
		memcpy(data + 2, sense, sense_len);
	ft_inject(f, h, data, sense_len ? 2u + sense_len : 0);
}

static inline void ft_r2t(struct ft *f, uint32_t itt, uint32_t ttt, uint32_t r2tsn,
			  uint32_t off, uint32_t len)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_R2T, 0x80 };
	struct bhs_r2t *r = (void *)h;

	pdu_put32(&r->r2t_itt, itt);
	pdu_put32(&r->r2t_ttt, ttt);
	ft_stamp(f, h, false);
	pdu_put32(&r->r2t_r2tsn, r2tsn);
	pdu_put32(&r->r2t_offset, off);
	pdu_put32(&r->r2t_desired, len);
	ft_inject(f, h, NULL, 0);
}

static inline void ft_nop_in(struct ft *f, uint32_t itt, uint32_t ttt, uint32_t lun)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_NOP_IN, 0x80 };
	struct bhs_nop_in *n = (void *)h;

	pdu_put_lun(n->nopi_lun, lun);
	pdu_put32(&n->nopi_itt, itt);
	pdu_put32(&n->nopi_ttt, ttt);
	ft_stamp(f, h, itt != PDU_RESERVED_TAG);
	ft_inject(f, h, NULL, 0);
}

static inline void ft_simple_rsp(struct ft *f, uint8_t op, uint32_t itt, uint8_t response)
{
	uint8_t h[48] __attribute__((aligned(8))) = { op, 0x80, response };

	pdu_put32(&((struct pdu_bhs *)h)->bhs_itt, itt);
	ft_stamp(f, h, true);
	ft_inject(f, h, NULL, 0);
}

static inline void ft_async(struct ft *f, uint8_t event, uint16_t p3,
			    const uint8_t *sense, uint16_t sense_len)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_ASYNC, 0x80 };
	struct bhs_async *a = (void *)h;
	uint8_t data[2 + 64];

	pdu_put32(&a->async_itt, PDU_RESERVED_TAG);
	ft_stamp(f, h, true);
	a->async_event = event;
	if (event == ASYNC_CONN_DROP)        /* Parameter1: the CID dropped */
		pdu_put16(&a->async_param1, (f->to ? f->to : ft_conn(f))->cid);
	pdu_put16(&a->async_param3, p3);
	data[0] = (uint8_t)(sense_len >> 8);
	data[1] = (uint8_t)sense_len;
	if (sense_len)
		memcpy(data + 2, sense, sense_len);
	ft_inject(f, h, data, sense_len ? 2u + sense_len : 0);
}

static inline void ft_text_rsp(struct ft *f, uint32_t itt, uint32_t ttt, bool final,
			       const char *text, uint32_t len)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_TEXT_RSP, final ? 0x80 : 0 };
	struct bhs_text_rsp *r = (void *)h;

	pdu_put32(&r->txtr_itt, itt);
	pdu_put32(&r->txtr_ttt, ttt);
	ft_stamp(f, h, true);
	ft_inject(f, h, text, len);
}

static inline void ft_reject(struct ft *f, uint8_t reason, const uint8_t *rejected)
{
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_REJECT, 0x80, reason };

	pdu_put32(&((struct pdu_bhs *)h)->bhs_itt, PDU_RESERVED_TAG);
	ft_stamp(f, h, true);
	ft_inject(f, h, rejected, 48);
}

/* Commands. */
struct ft_cmd {
	struct mcsi_cmd c;
	struct iovec v;
	int done;
};

static inline void ft_done(struct mcsi_cmd *c, void *priv)
{
	(void)c;
	((struct ft_cmd *)priv)->done++;
}

static inline void ft_submit_read(struct ft *f, struct ft_cmd *fc, void *buf,
				  uint32_t len, uint64_t lba)
{
	fc->v = (struct iovec){ buf, len };
	fc->done = 0;
	mcsi_prep_read(&fc->c, 0, lba, len / 512, &fc->v, 1);
	fc->c.done = ft_done;
	fc->c.priv = fc;
	if (mcsi_submit(f->s, &fc->c) != 0)
		abort();
	ft_turn(f);
}

static inline void ft_submit_write(struct ft *f, struct ft_cmd *fc, const void *buf,
				   uint32_t len, uint64_t lba)
{
	fc->v = (struct iovec){ (void *)(uintptr_t)buf, len };
	fc->done = 0;
	mcsi_prep_write(&fc->c, 0, lba, len / 512, &fc->v, 1);
	fc->c.done = ft_done;
	fc->c.priv = fc;
	if (mcsi_submit(f->s, &fc->c) != 0)
		abort();
	ft_turn(f);
}

static inline uint32_t ft_bhs32(const struct ft_pdu *p, unsigned off)
{
	uint32_t v;

	memcpy(&v, p->bhs + off, 4);
	return be32toh(v);
}

/* Runs the group without and with receive read-ahead (needs cmocka.h). */
static inline int ft_run_both_n(const struct CMUnitTest *tests, size_t n)
{
	ft_readahead = 0;
	int rc = _cmocka_run_group_tests("no read-ahead", tests, n, NULL, NULL);
	ft_readahead = 65536;
	rc |= _cmocka_run_group_tests("read-ahead", tests, n, NULL, NULL);
	return rc;
}
#define ft_run_both(tests) ft_run_both_n(tests, sizeof(tests) / sizeof((tests)[0]))

#endif
