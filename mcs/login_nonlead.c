/* SPDX-License-Identifier: MIT */
/* Non-leading logins over a portal group, bounded by the connection set. */
#include "mcs/login_nonlead.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "fastpath/log.h"
#include "mcs/login_nonlead_io.h"

static int blocking_login(void *arg, const struct lgio_target *t,
			  const struct iscsi_params *session, uint32_t cmdsn,
			  struct ctl_conn *c, uint8_t *rx, size_t rx_cap,
			  struct lgio_status *st)
{
	(void)arg;
	return nlio_login(t, session, cmdsn, c, rx, rx_cap, st);
}

const struct nlogin_ops nlogin_ops_blocking = { blocking_login, NULL };

static bool same_portal(const struct url_portal *a, const struct url_portal *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

unsigned nlogin_portals(const struct disc_result *r, const char *target, int32_t tpgt,
			const struct url_portal *lead, struct url_portal *out, unsigned cap)
{
	unsigned n = 0;
	size_t tlen = strlen(target);

	if (cap == 0)
		return 0;
	out[n++] = *lead;
	if (tpgt < 0 || !r)
		return n;
	for (size_t i = 0; i < r->n_targets; i++) {
		const struct disc_target *t = &r->targets[i];
		if (t->name_len != tlen || memcmp(t->name, target, tlen) != 0)
			continue;
		for (size_t k = 0; k < t->n_addrs && n < cap; k++) {
			const struct disc_address *a = &r->addrs[t->first_addr + k];
			bool dup = false;
			if (a->tpgt != tpgt)
				continue;
			for (unsigned j = 0; j < n && !dup; j++)
				dup = same_portal(&out[j], &a->portal);
			if (!dup)
				out[n++] = a->portal;
		}
	}
	return n;
}

/* Network failures that another portal of the group may not have (the
 * caller tells a target's refusal apart by its status class). */
static bool portal_unreachable(int err)
{
	return err == -ECONNREFUSED || err == -ETIMEDOUT || err == -EHOSTUNREACH ||
	       err == -ENETUNREACH || err == -ECONNRESET || err == -ENOENT;
}

/* The target's answer is that the session has too many connections. */
static bool too_many(int rc, const struct lgio_status *st)
{
	return (rc == -EUSERS || rc == -EBUSY) && st->status_class == 2;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int nlogin_open_one(struct connset *cs, const struct nlogin_req *req,
		    const struct nlogin_ops *ops, int queue, unsigned *next,
		    struct nlogin_conn *out, struct nlogin_result *res)
{
	unsigned np = req->nportals ? req->nportals : 1;
	int rc;

	res->err = 0;
	res->message = NULL;
	memset(&res->st, 0, sizeof(res->st));
	if (!req->lead || !req->session || req->tsih == 0 || !req->cmdsn || !out->rx) {
		res->message = "incomplete request for a non-leading login";
		return res->err = -EINVAL;
	}
	rc = cset_reserve(cs, queue, &out->tk);
	if (rc < 0) {
		res->message = rc == -EUSERS
			? "the session already has MaxConnections connections"
			: rc == -EINVAL ? "no such queue" : "no room in the connection set";
		res->limit = atomic_load(&cs->limit);
		return res->err = rc;
	}
	struct lgio_target t = *req->lead;
	bool settled = req->settle_ms == 0;
	t.tsih = req->tsih;
	t.cid = out->tk.cid;
	for (unsigned tries = 0; tries < np;) {
		unsigned pi = *next % np;
		*next = pi + 1;
		t.portal = req->nportals ? req->portals[pi] : req->lead->portal;
		out->portal = pi;
		res->attempts++;
		rc = ops->login(ops->arg, &t, req->session, req->cmdsn(req->cmdsn_arg),
				&out->ctl, out->rx, out->rx_cap, &res->st);
		if (too_many(rc, &res->st) && !settled) {
			/* The target may still count a connection that just
			 * logged out (istgt drops it a moment after the
			 * response): once more before believing the limit. */
			settled = true;
			sleep_ms(req->settle_ms);
			*next = pi;
			continue;
		}
		if (rc == 0) {
			if (out->ctl.tsih != req->tsih) {
				/* login.c checks this; a fake login may not. */
				ctl_close(&out->ctl);
				cset_cancel(cs, out->tk.slot);
				res->message = "the target put the connection in another session";
				return res->err = -EPROTO;
			}
			res->opened++;
			res->limit = atomic_load(&cs->limit);
			return 0;
		}
		tries++;
		if (res->st.status_class != 0 || !portal_unreachable(rc))
			break;
	}
	switch (rc) {
	case -EUSERS:
	case -EBUSY:
		if (too_many(rc, &res->st)) {
			res->limit = cset_learn_limit(cs);
			res->message = rc == -EUSERS
				? "the target refused another connection: too many connections"
				: "the target refused another connection: cannot include it in the session";
			break;
		}
		/* fall through */
	default:
		res->message = res->st.message ? res->st.message
			       : res->st.status_class == 0 && portal_unreachable(rc)
				       ? "no portal of the portal group took the connection"
				       : "the non-leading login failed";
		break;
	}
	cset_cancel(cs, out->tk.slot);
	res->limit = atomic_load(&cs->limit);
	return res->err = rc;
}

static unsigned portal_index(const struct nlogin_req *req)
{
	for (unsigned i = 0; i < req->nportals; i++)
		if (same_portal(&req->portals[i], &req->lead->portal))
			return i;
	return req->nportals ? req->nportals - 1 : 0;
}

int nlogin_open(struct connset *cs, const struct nlogin_req *req,
		const struct nlogin_ops *ops, struct nlogin_conn *out, unsigned n,
		struct nlogin_result *res)
{
	unsigned next;

	memset(res, 0, sizeof(*res));
	if (!req->lead) {
		res->message = "incomplete request for a non-leading login";
		return res->err = -EINVAL;
	}
	/* Start after the leading connection's portal, so that the first
	 * further connection goes to another portal when there is one. */
	next = portal_index(req) + 1;
	for (unsigned i = 0; i < n; i++) {
		int rc = nlogin_open_one(cs, req, ops, -1, &next, &out[i], res);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int nlogin_drop(struct connset *cs, struct ctl_conn *via, struct nlogin_conn *nc,
		uint32_t cmdsn)
{
	int slot = nc->tk.slot;
	uint8_t response;
	int rc;

	if (cset_usable(cs, slot) && (rc = cset_leave(cs, slot)) < 0)
		return rc;
	rc = nlio_logout_cid(via ? via : &nc->ctl, nc->tk.cid, cmdsn, &response);
	ctl_close(&nc->ctl);
	if (cset_release(cs, slot) < 0)
		cset_cancel(cs, slot);
	return rc;
}
