/* SPDX-License-Identifier: MIT */
#include "faults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "luns.h"
#include "proto/pdu.h"
#include "session.h"

#define FAULT_RULES 32
#define FAULT_SENDS 16

enum fault_kind {
	FK_DROP_PDUS, FK_DROP_BYTES, FK_DROP_RANDOM, FK_DROP_RX,
	FK_CORRUPT_HD, FK_CORRUPT_DD, FK_DELAY, FK_STALL, FK_MALFORM,
	FK_LOGIN, FK_REJECT_CMD, FK_DISCARD_RX,
};

enum fault_malform {
	FM_WRONG_ITT, FM_DATASN_GAP, FM_OVERLONG, FM_BAD_OPCODE, FM_TRUNCATE,
	FM_RESIDUAL, FM_STATSN_GAP,
};

struct fault_rule {
	enum fault_kind kind;
	int opcode;                   /* -1: any */
	uint64_t after;               /* skip this many matches first */
	unsigned count;               /* applications left; 0 = forever */
	uint32_t param, param2;
	uint64_t seen;
};

enum fault_send_kind { FS_REJECT, FS_ASYNC, FS_NOP };

struct fault_send {
	enum fault_send_kind kind;
	uint8_t code;
	uint16_t p1, p2, p3;
	bool p_given;
};

struct tt_faults {
	pthread_mutex_t lock;
	struct fault_rule rules[FAULT_RULES];
	/* Written under the lock; read without it by the I/O paths as a
	 * cheap "anything to do?" test. */
	_Atomic unsigned nrules;
	struct fault_send sends[FAULT_SENDS];
	_Atomic uint64_t send_gen;    /* sends[g % FAULT_SENDS] is number g */
	char redirect[80];
	bool redirect_set, redirect_perm;
	atomic_bool stalled;
	uint64_t rng;
};

static const struct { const char *name; int op; } fault_ops[] = {
	{ "any", -1 }, { "nop-in", PDU_OP_NOP_IN }, { "scsi-rsp", PDU_OP_SCSI_RSP },
	{ "tmf-rsp", PDU_OP_TMF_RSP }, { "login-rsp", PDU_OP_LOGIN_RSP },
	{ "text-rsp", PDU_OP_TEXT_RSP }, { "data-in", PDU_OP_DATA_IN },
	{ "logout-rsp", PDU_OP_LOGOUT_RSP }, { "r2t", PDU_OP_R2T },
	{ "async", PDU_OP_ASYNC }, { "reject", PDU_OP_REJECT },
	/* initiator opcodes, for receive-side rules */
	{ "nop-out", PDU_OP_NOP_OUT }, { "scsi-cmd", PDU_OP_SCSI_CMD },
	{ "tmf", PDU_OP_TMF_REQ }, { "text", PDU_OP_TEXT_REQ },
	{ "data-out", PDU_OP_DATA_OUT }, { "logout", PDU_OP_LOGOUT_REQ },
	{ "snack", PDU_OP_SNACK },
};

static const char *const fault_malform_names[] = {
	"wrong-itt", "datasn-gap", "overlong", "bad-opcode", "truncate",
	"residual", "statsn-gap",
};

struct tt_faults *fault_create(void)
{
	struct tt_faults *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	f->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
	return f;
}

void fault_destroy(struct tt_faults *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static uint32_t fault_rand(struct tt_faults *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return (uint32_t)(f->rng >> 32);
}

/* A rule matched once more: true when it applies now. */
static bool fault_fire(struct tt_faults *f, unsigned i)
{
	struct fault_rule *r = &f->rules[i];
	if (r->seen++ < r->after)
		return false;
	if (r->count && --r->count == 0) {
		f->rules[i] = f->rules[--f->nrules];
	}
	return true;
}

void fault_tx(struct tt_conn *c, uint8_t *hdr, uint32_t len, struct fault_tx *out)
{
	struct tt_faults *f = c->srv->faults;
	int op = pdu_opcode(hdr);

	bool done = false;

	if (!f->nrules)
		return;                        /* read without the lock: a hint */
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->nrules; i++) {
		struct fault_rule *r = &f->rules[i];
		if (r->opcode >= 0 && r->opcode != op)
			continue;
		switch (r->kind) {
		case FK_DROP_PDUS:
			if (c->tx_pdus + 1 >= r->param)
				out->drop_after = true;
			continue;
		case FK_DROP_BYTES:
			if (c->tx_bytes + PDU_BHS_LEN + len >= r->param)
				out->drop_before = true;
			continue;
		case FK_DROP_RANDOM:
			if (fault_rand(f) % 1000 < r->param)
				out->drop_before = true;
			continue;
		case FK_CORRUPT_HD:
		case FK_CORRUPT_DD:
		case FK_DELAY:
		case FK_MALFORM: {
			struct fault_rule copy = *r;
			if (copy.kind == FK_CORRUPT_DD && len == 0)
				continue;
			/* Malformations that only make sense on some PDUs wait
			 * for one of those. */
			if (copy.kind == FK_MALFORM &&
			    ((copy.param == FM_DATASN_GAP && op != PDU_OP_DATA_IN && op != PDU_OP_R2T) ||
			     (copy.param == FM_RESIDUAL && op != PDU_OP_SCSI_RSP &&
			      !(op == PDU_OP_DATA_IN && (hdr[1] & DATA_IN_STATUS)))))
				continue;
			if (!fault_fire(f, i))
				continue;
			if (copy.kind == FK_CORRUPT_HD)
				out->corrupt_hd = true;
			else if (copy.kind == FK_CORRUPT_DD)
				out->corrupt_dd = true;
			else if (copy.kind == FK_DELAY)
				out->delay_ms += copy.param;
			else
				switch ((enum fault_malform)copy.param) {
				case FM_WRONG_ITT: {
					struct pdu_bhs *b = (void *)hdr;
					pdu_put32(&b->bhs_itt, pdu_itt(hdr) ^ 0x5a5a0000u);
					break;
				}
				case FM_DATASN_GAP: {
					uint32_t *sn = (uint32_t *)(void *)(hdr + 36);
					pdu_put32(sn, pdu_get32(sn) + 1);
					break;
				}
				case FM_OVERLONG:
					out->extra_len = c->p.send_dsl + 4 - len;
					break;
				case FM_BAD_OPCODE:
					hdr[0] = 0x3e;
					break;
				case FM_TRUNCATE:
					out->truncate_hdr = 20;
					out->drop_after = true;
					break;
				case FM_RESIDUAL:
					hdr[1] = (uint8_t)((hdr[1] & ~0x06u) | 0x02u);
					pdu_put32((uint32_t *)(void *)(hdr + 44), 12345);
					break;
				case FM_STATSN_GAP: {
					uint32_t *sn = (uint32_t *)(void *)(hdr + 24);
					pdu_put32(sn, pdu_get32(sn) + 7);
					break;
				}
				}
			done = true;               /* one one-shot rule per PDU */
			break;
		}
		default:
			continue;
		}
		if (done)
			break;
	}
	pthread_mutex_unlock(&f->lock);
}

enum fault_rx_action fault_rx(struct tt_conn *c, const uint8_t *bhs, unsigned *reason)
{
	struct tt_faults *f = c->srv->faults;
	int op = pdu_opcode(bhs);
	enum fault_rx_action act = FAULT_RX_NONE;

	if (!f->nrules)
		return FAULT_RX_NONE;
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->nrules; i++) {
		struct fault_rule *r = &f->rules[i];
		if (r->opcode >= 0 && r->opcode != op)
			continue;
		if (r->kind == FK_DROP_RX) {
			if (fault_fire(f, i)) {
				act = FAULT_RX_DROP;
				break;
			}
		} else if (r->kind == FK_DISCARD_RX) {
			if (fault_fire(f, i)) {
				act = FAULT_RX_DISCARD;
				break;
			}
		} else if (r->kind == FK_REJECT_CMD) {
			unsigned why = r->param;
			if (fault_fire(f, i)) {
				*reason = why;
				act = FAULT_RX_REJECT;
				break;
			}
		}
	}
	pthread_mutex_unlock(&f->lock);
	return act;
}

bool fault_login(struct tt_server *srv, uint8_t *cls, uint8_t *detail)
{
	struct tt_faults *f = srv->faults;
	bool hit = false;
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->nrules; i++) {
		if (f->rules[i].kind != FK_LOGIN)
			continue;
		uint32_t st = f->rules[i].param;
		if (fault_fire(f, i)) {
			*cls = (uint8_t)(st >> 8);
			*detail = (uint8_t)st;
			hit = true;
		}
		break;
	}
	pthread_mutex_unlock(&f->lock);
	return hit;
}

bool fault_redirect(struct tt_server *srv, char *buf, size_t cap, bool *permanent)
{
	struct tt_faults *f = srv->faults;
	bool set;
	pthread_mutex_lock(&f->lock);
	set = f->redirect_set;
	if (set) {
		snprintf(buf, cap, "%s", f->redirect);
		*permanent = f->redirect_perm;
	}
	pthread_mutex_unlock(&f->lock);
	if (!set && srv->cfg->redirect) {
		snprintf(buf, cap, "%s", srv->cfg->redirect);
		*permanent = srv->cfg->redirect_permanent;
		set = true;
	}
	return set;
}

static void fault_send_one(struct tt_conn *c, const struct fault_send *s)
{
	uint8_t *h;
	switch (s->kind) {
	case FS_NOP:
		h = io_hdr(c, 0);
		if (!h)
			return;
		pdu_build_nop_in(h, 0, PDU_RESERVED_TAG, ++c->nop_ttt & 0x7fffffff, 0);
		conn_stamp(c, h, false);
		io_queue(c, h, NULL, 0);
		return;
	case FS_REJECT: {
		conn_reject(c, c->last_rx, (enum reject_reason)s->code);
		return;
	}
	case FS_ASYNC: {
		uint16_t p1 = s->p1, p2 = s->p2, p3 = s->p3;
		uint32_t dlen = 0;
		h = io_hdr(c, 32);
		if (!h)
			return;
		if (!s->p_given) {
			switch (s->code) {
			case ASYNC_LOGOUT_REQUEST: p3 = 10; break;
			case ASYNC_CONN_DROP:
				p1 = c->cid;
				p2 = (uint16_t)c->p.time2wait;
				p3 = (uint16_t)c->p.time2retain;
				break;
			case ASYNC_SESSION_DROP:
				p2 = (uint16_t)c->p.time2wait;
				p3 = (uint16_t)c->p.time2retain;
				break;
			case ASYNC_RENEGOTIATE: p3 = 10; break;
			default: break;
			}
		}
		uint8_t *d = h + 64;
		if (s->code == ASYNC_SCSI_EVENT) {
			/* Sense data: REPORTED LUNS DATA HAS CHANGED. */
			memset(d, 0, 20);
			d[1] = 18;
			d[2] = 0x70;
			d[4] = 0x06;
			d[9] = 10;
			d[14] = 0x3f;
			d[15] = 0x0e;
			dlen = 20;
		}
		pdu_build_async(h, 0, (enum async_event)s->code, 0, p1, p2, p3, dlen);
		conn_stamp(c, h, true);
		io_queue(c, h, dlen ? d : NULL, dlen);
		if (s->code == ASYNC_CONN_DROP)
			c->closing = true;
		else if (s->code == ASYNC_SESSION_DROP) {
			sess_close_all(c->sess, c);
			c->closing = true;
		}
		return;
	}
	}
}

void fault_conn_init(struct tt_conn *c)
{
	struct tt_faults *f = c->srv->faults;
	pthread_mutex_lock(&f->lock);
	c->fault_gen = f->send_gen;        /* only what is asked from now on */
	pthread_mutex_unlock(&f->lock);
}

void fault_poll(struct tt_conn *c)
{
	struct tt_faults *f = c->srv->faults;
	if (c->fault_gen == f->send_gen && !f->stalled)
		return;
	pthread_mutex_lock(&f->lock);
	while (f->stalled) {
		/* Stall: hold everything until "unstall". */
		pthread_mutex_unlock(&f->lock);
		if (atomic_load(&c->stop))
			return;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&f->lock);
	}
	if (c->fault_gen + FAULT_SENDS < f->send_gen)
		c->fault_gen = f->send_gen - FAULT_SENDS;
	while (c->fault_gen < f->send_gen) {
		struct fault_send s = f->sends[c->fault_gen % FAULT_SENDS];
		c->fault_gen++;
		pthread_mutex_unlock(&f->lock);
		fault_send_one(c, &s);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- the line protocol ------------------------------------------------- */

static int fault_opcode(const char *s)
{
	for (size_t i = 0; i < sizeof(fault_ops) / sizeof(fault_ops[0]); i++)
		if (!strcmp(fault_ops[i].name, s))
			return fault_ops[i].op;
	return -2;
}

static bool fault_num(const char *s, uint32_t *out)
{
	char *e;
	if (!s)
		return false;
	unsigned long v = strtoul(s, &e, 0);
	if (*s == '\0' || *e)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Parses "[OP] [after N] [count K]" from tok[i..]. */
static int fault_tail(char **tok, int n, int i, struct fault_rule *r)
{
	r->opcode = -1;
	for (; i < n; i++) {
		uint32_t v;
		int op = fault_opcode(tok[i]);
		if (op != -2) {
			r->opcode = op;
		} else if (!strcmp(tok[i], "after") && i + 1 < n && fault_num(tok[i + 1], &v)) {
			r->after = v;
			i++;
		} else if (!strcmp(tok[i], "count") && i + 1 < n && fault_num(tok[i + 1], &v)) {
			r->count = v;
			i++;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static void fault_wake_all(struct tt_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	for (struct tt_conn *c = srv->conns; c; c = c->next)
		if (c->state == CONN_FFP)
			conn_wake(c);
	pthread_mutex_unlock(&srv->lock);
}

static int fault_lun(struct tt_server *srv, char **tok, int n, char *out, size_t cap)
{
	uint32_t ti;
	if (n < 3 || !fault_num(tok[1], &ti) || ti >= srv->cfg->ntargets) {
		snprintf(out, cap, "err target index");
		return -EINVAL;
	}
	struct tt_target *t = &srv->cfg->targets[ti];
	int rc;
	const char *why = "";
	pthread_mutex_lock(&srv->lun_lock);
	if (!strcmp(tok[0], "lun-add")) {
		rc = lun_add_spec(t, tok[2], false, &why);
		if (!rc)
			sess_raise_ua(srv, t, UINT32_MAX, TT_UA_LUNS_CHANGED);
	} else {
		uint32_t id;
		uint64_t size;
		if (n < 4 || !fault_num(tok[2], &id) || id >= TT_MAX_LUNS || !t->luns[id] ||
		    lun_parse_size(tok[3], &size)) {
			pthread_mutex_unlock(&srv->lun_lock);
			snprintf(out, cap, "err usage: lun-resize TARGET LUN SIZE");
			return -EINVAL;
		}
		rc = lun_resize(t->luns[id], size);
		why = rc == -ENOSPC ? "beyond the LUN's reservation" : "bad size";
		if (!rc)
			sess_raise_ua(srv, t, id, TT_UA_CAPACITY);
	}
	pthread_mutex_unlock(&srv->lun_lock);
	if (rc)
		snprintf(out, cap, "err %s", why);
	else
		snprintf(out, cap, "ok");
	return rc ? -EINVAL : 0;
}

static int fault_queue_send(struct tt_server *srv, const struct fault_send *s)
{
	struct tt_faults *f = srv->faults;
	pthread_mutex_lock(&f->lock);
	f->sends[f->send_gen % FAULT_SENDS] = *s;
	f->send_gen++;
	pthread_mutex_unlock(&f->lock);
	fault_wake_all(srv);
	return 0;
}

int fault_command(struct tt_server *srv, const char *line, char *out, size_t cap)
{
	struct tt_faults *f = srv->faults;
	char buf[256], *tok[12];
	int n = 0;
	struct fault_rule r = { 0 };
	uint32_t v, v2;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *save, *t = strtok_r(buf, " \t", &save); t && n < 12;
	     t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (n == 0 || tok[0][0] == '#') {
		snprintf(out, cap, "ok");
		return 0;
	}
	const char *cmd = tok[0];

	if (!strcmp(cmd, "drop") && n >= 3 && fault_num(tok[2], &v)) {
		r.param = v;
		if (!strcmp(tok[1], "pdus"))
			r.kind = FK_DROP_PDUS;
		else if (!strcmp(tok[1], "bytes"))
			r.kind = FK_DROP_BYTES;
		else if (!strcmp(tok[1], "random"))
			r.kind = FK_DROP_RANDOM;
		else if (!strcmp(tok[1], "rx"))
			r.kind = FK_DROP_RX, r.after = v, r.count = 1;
		else
			goto bad;
		if (fault_tail(tok, n, 3, &r))
			goto bad;
	} else if (!strcmp(cmd, "corrupt") && n >= 2) {
		if (!strcmp(tok[1], "hdigest"))
			r.kind = FK_CORRUPT_HD;
		else if (!strcmp(tok[1], "ddigest"))
			r.kind = FK_CORRUPT_DD;
		else
			goto bad;
		r.count = 1;
		if (fault_tail(tok, n, 2, &r))
			goto bad;
	} else if (!strcmp(cmd, "delay") && n >= 2 && fault_num(tok[1], &v)) {
		r.kind = FK_DELAY;
		r.param = v;
		r.count = 1;
		if (fault_tail(tok, n, 2, &r))
			goto bad;
	} else if (!strcmp(cmd, "stall") || !strcmp(cmd, "unstall")) {
		pthread_mutex_lock(&f->lock);
		f->stalled = cmd[0] == 's';
		pthread_mutex_unlock(&f->lock);
		fault_wake_all(srv);
		snprintf(out, cap, "ok");
		return 0;
	} else if (!strcmp(cmd, "malform") && n >= 2) {
		size_t k;
		for (k = 0; k < sizeof(fault_malform_names) / sizeof(fault_malform_names[0]); k++)
			if (!strcmp(fault_malform_names[k], tok[1]))
				break;
		if (k == sizeof(fault_malform_names) / sizeof(fault_malform_names[0]))
			goto bad;
		r.kind = FK_MALFORM;
		r.param = (uint32_t)k;
		r.count = 1;
		if (fault_tail(tok, n, 2, &r))
			goto bad;
	} else if (!strcmp(cmd, "login-refuse") && n >= 3 && fault_num(tok[1], &v) &&
		   fault_num(tok[2], &v2)) {
		r.kind = FK_LOGIN;
		r.param = (v & 0xff) << 8 | (v2 & 0xff);
		r.count = 1;
		if (fault_tail(tok, n, 3, &r))
			goto bad;
	} else if (!strcmp(cmd, "discard")) {
		r.kind = FK_DISCARD_RX;
		r.count = 1;
		if (fault_tail(tok, n, 1, &r))
			goto bad;
	} else if (!strcmp(cmd, "reject-cmd") && n >= 2 && fault_num(tok[1], &v)) {
		r.kind = FK_REJECT_CMD;
		r.param = v;
		r.count = 1;
		if (fault_tail(tok, n, 2, &r))
			goto bad;
	} else if (!strcmp(cmd, "redirect") && n >= 2) {
		pthread_mutex_lock(&f->lock);
		f->redirect_set = strcmp(tok[1], "off") != 0;
		snprintf(f->redirect, sizeof(f->redirect), "%s", tok[1]);
		f->redirect_perm = n >= 3 && !strcmp(tok[2], "permanent");
		pthread_mutex_unlock(&f->lock);
		snprintf(out, cap, "ok");
		return 0;
	} else if (!strcmp(cmd, "reject") && n >= 2 && fault_num(tok[1], &v)) {
		struct fault_send s = { .kind = FS_REJECT, .code = (uint8_t)v };
		fault_queue_send(srv, &s);
		snprintf(out, cap, "ok");
		return 0;
	} else if (!strcmp(cmd, "async") && n >= 2 && fault_num(tok[1], &v)) {
		struct fault_send s = { .kind = FS_ASYNC, .code = (uint8_t)v };
		uint32_t p[3];
		if (n >= 5 && fault_num(tok[2], &p[0]) && fault_num(tok[3], &p[1]) &&
		    fault_num(tok[4], &p[2])) {
			s.p1 = (uint16_t)p[0];
			s.p2 = (uint16_t)p[1];
			s.p3 = (uint16_t)p[2];
			s.p_given = true;
		}
		fault_queue_send(srv, &s);
		snprintf(out, cap, "ok");
		return 0;
	} else if (!strcmp(cmd, "nop-in")) {
		struct fault_send s = { .kind = FS_NOP };
		fault_queue_send(srv, &s);
		snprintf(out, cap, "ok");
		return 0;
	} else if (!strcmp(cmd, "lun-add") || !strcmp(cmd, "lun-resize")) {
		return fault_lun(srv, tok, n, out, cap);
	} else if (!strcmp(cmd, "clear")) {
		pthread_mutex_lock(&f->lock);
		f->nrules = 0;
		f->stalled = false;
		f->redirect_set = false;
		pthread_mutex_unlock(&f->lock);
		snprintf(out, cap, "ok");
		return 0;
	} else if (!strcmp(cmd, "list")) {
		pthread_mutex_lock(&f->lock);
		int w = snprintf(out, cap, "ok %u rules%s", f->nrules, f->stalled ? ", stalled" : "");
		for (unsigned i = 0; i < f->nrules && w > 0 && (size_t)w < cap; i++)
			w += snprintf(out + w, cap - (size_t)w, "; kind %d op %d after %llu count %u param %u",
				      f->rules[i].kind, f->rules[i].opcode,
				      (unsigned long long)f->rules[i].after, f->rules[i].count,
				      f->rules[i].param);
		pthread_mutex_unlock(&f->lock);
		return 0;
	} else {
		goto bad;
	}
	pthread_mutex_lock(&f->lock);
	if (f->nrules >= FAULT_RULES) {
		pthread_mutex_unlock(&f->lock);
		snprintf(out, cap, "err too many rules");
		return -EINVAL;
	}
	f->rules[f->nrules++] = r;
	pthread_mutex_unlock(&f->lock);
	snprintf(out, cap, "ok");
	return 0;
bad:
	snprintf(out, cap, "err bad command (see docs/testtarget.md)");
	return -EINVAL;
}

int fault_load_script(struct tt_server *srv, const char *path, unsigned *lineno)
{
	FILE *fp = fopen(path, "r");
	char line[256], out[256];
	if (!fp)
		return -errno;
	*lineno = 0;
	while (fgets(line, sizeof(line), fp)) {
		(*lineno)++;
		line[strcspn(line, "\r\n")] = '\0';
		if (fault_command(srv, line, out, sizeof(out)) < 0) {
			fclose(fp);
			return -EINVAL;
		}
	}
	fclose(fp);
	return 0;
}
