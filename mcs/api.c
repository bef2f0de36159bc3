/* SPDX-License-Identifier: MIT */
/* The public API (include/mcsi/mcsi.h) over sessions and reactors. */
#include "mcsi/mcsi.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcs/erl_timer.h"
#include "mcs/quirks.h"
#include "mcs/sess_erl2.h"
#include "mcs/reactor.h"
#include "mcs/rstat.h"
#include "mcs/sess.h"
#include "mcs/sess_desc.h"
#include "mcs/sess_mcs.h"
#include "mcs/sess_rec.h"
#include "proto/scsi.h"
#include "proto/url.h"

MCSI_API void mcsi_opts_init(struct mcsi_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->queues = 1;
	o->connections = 1;
	o->queue_depth = 128;
	o->cmd_timeout_ms = 30000;
	o->nop_interval_ms = 5000;
	o->nop_timeout_ms = 5000;
	o->ua_retries = 3;
	o->max_outstanding_r2t = TASK_MAX_R2T;
	o->error_recovery_level = 2;      /* the most the target accepts */
	o->rx_readahead = 262144;
	o->coalesce_us = 500;
	o->zerocopy_send = true;
	o->replacement_timeout_ms = ERL_REPLACEMENT_MS_DEFAULT;
}

/* Known target defects (mcs/quirks.h): adjusts the session's own copy of
 * the options once, before the descriptor that every later login of the
 * session (MC/S, reinstatement, ERL 2) copies. Returns the sentence for
 * the log, or NULL. */
static const char *quirks_for(const char *url, struct mcsi_opts *o)
{
	struct url_iscsi u;
	const char *why = NULL, *perr;
	struct quirk_offer q = {
		.erl = o->error_recovery_level, .connections = o->connections,
		.time2wait = o->time2wait_s,
	};

	if (o->quirks != MCSI_QUIRKS_OFF && url_parse_iscsi(url, strlen(url), &u, &perr) == 0) {
		if (u.has_target)
			why = quirks_apply(u.target, &q);
		url_iscsi_wipe(&u);
	}
	o->error_recovery_level = q.erl;
	o->time2wait_s = q.time2wait;
	return why;
}

MCSI_API int mcsi_open(const char *url, const struct mcsi_opts *opts,
		       mcsi_session **out)
{
	struct mcsi_opts def;
	struct sess_handoff h;
	struct sess_rec *rec = NULL;
	uint32_t lun = 0;
	int rc;

	if (!url || !out)
		return -EINVAL;
	mcsi_opts_init(&def);
	if (opts) {
		/* An older caller's struct ends at log_priv: the fields it
		 * does not know keep their defaults. */
		size_t old = offsetof(struct mcsi_opts, replacement_timeout_ms);
		size_t pre_mcs = offsetof(struct mcsi_opts, sched_policy);
		size_t pre_erl2 = offsetof(struct mcsi_opts, erl2_cleanup);
		size_t pre_portals = offsetof(struct mcsi_opts, portals);
		size_t pre_times = offsetof(struct mcsi_opts, time2wait_s);
		if (opts->size != sizeof(*opts) && opts->size != old && opts->size != pre_mcs &&
		    opts->size != pre_erl2 && opts->size != pre_portals && opts->size != pre_times)
			return -EINVAL;
		memcpy(&def, opts, opts->size);
		def.size = sizeof(def);
	}
	opts = &def;
	/* Adaptive by default: with one connection it is least queue depth;
	 * with more, it uses as many as measurably pay (docs/perf.md). */
	enum sched_policy policy = SCHED_ADAPTIVE;
	if (opts->connections > CSET_MAX ||
	    (opts->sched_policy && sched_policy_parse(opts->sched_policy, &policy) < 0) ||
	    (opts->portals && sess_mcs_parse_portals(opts->portals, NULL, 0, NULL) < 0) ||
	    opts->max_outstanding_r2t < 1 || opts->max_outstanding_r2t > TASK_MAX_R2T)
		return -EINVAL;
	if (opts->connections == 0)
		def.connections = 1;
	if (opts->error_recovery_level > 2 || opts->time2wait_s > 3600 ||
	    opts->time2retain_s > 3600 || opts->quirks > MCSI_QUIRKS_OFF)
		return -EINVAL;
	const char *quirk = quirks_for(url, &def);
	memset(&h, 0, sizeof(h));
	h.fd = -1;
	/* One protected copy of the URL, the options and the secrets for
	 * every part that logs in again later (sess_desc.h): each takes a
	 * reference, ours goes at the end. */
	struct sess_desc *desc = NULL;
	if ((rc = sess_desc_create(url, opts, &desc)) < 0)
		return rc;
	if (opts->replacement_timeout_ms &&
	    (rc = sess_rec_create(desc, opts->replacement_timeout_ms, &rec)) < 0) {
		sess_desc_put(desc);
		return rc;
	}
	if ((rc = sess_login(url, opts, &h, &lun)) < 0) {
		sess_rec_destroy(rec);
		sess_desc_put(desc);
		return rc;
	}
	struct sess_cfg cfg = {
		.queues = opts->queues,
		.queue_depth = opts->queue_depth,
		.cmd_timeout_ms = opts->cmd_timeout_ms,
		.nop_interval_ms = opts->nop_interval_ms,
		.nop_timeout_ms = opts->nop_timeout_ms,
		.ua_retries = opts->ua_retries,
		.rx_readahead = opts->rx_readahead,
		.coalesce_us = opts->coalesce_us,
		.zerocopy = opts->zerocopy_send,
		.transport = opts->transport,
		.event = opts->event, .event_priv = opts->event_priv,
		.log = opts->log, .log_priv = opts->log_priv,
		.default_lun = lun,
		.rec = rec,
		.connections = opts->connections,
		.policy = policy,
	};
	if ((rc = sess_create(&h, &cfg, out)) < 0) {
		sess_desc_put(desc);
		return rc;
	}
	if (quirk)
		sess_log(*out, 5, "%s (mcsi_opts.quirks = MCSI_QUIRKS_OFF offers what was asked)",
			 quirk);
	/* One more connection than asked for was offered at ERL 2 (open.c):
	 * for a reinstatement only, never opened otherwise. */
	uint32_t lim = atomic_load(&(*out)->cs.limit);
	if (lim > def.connections)
		atomic_store(&(*out)->cs.limit, def.connections);
	/* MC/S: the further connections; a refusal leaves the session with
	 * what it has (sess_add_conn() logs why). */
	if (sess_mcs_create(*out, desc, &h) == 0 && opts->connections > 1) {
		unsigned n = 1 + sess_add_conns(*out, opts->connections - 1);
		if (n < opts->connections)
			sess_log(*out, 4, "MC/S: the session runs %u of the %u connections asked "
				 "for (MaxConnections %u)", n, opts->connections,
				 (*out)->params.max_connections);
	}
	/* ERL 2: a lost connection is recovered on its own (sess_erl2.h);
	 * without it the session is reinstated as at ERL 0. */
	if ((*out)->params.error_recovery_level >= 2 &&
	    sess_erl2_create(*out, desc) < 0)
		sess_log(*out, 4, "ErrorRecoveryLevel 2 without connection recovery (no memory)");
	sess_desc_put(desc);
	if (rec && (rc = sess_rec_start(*out)) < 0) {
		sess_destroy(*out);
		*out = NULL;
	}
	return rc;
}

MCSI_API int mcsi_close(mcsi_session *s)
{
	int rc;

	if (!s)
		return 0;
	rc = sess_logout(s);
	sess_destroy(s);
	return rc == -EALREADY ? 0 : rc;
}

MCSI_API uint32_t mcsi_default_lun(const mcsi_session *s)
{
	return s->cfg.default_lun;
}

MCSI_API const char *mcsi_last_error(mcsi_session *s)
{
	return s->err;
}

/* ---- commands ------------------------------------------------------------ */

static uint32_t iov_total(const struct iovec *iov, int cnt)
{
	uint64_t n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static void prep_common(struct mcsi_cmd *c, uint32_t lun)
{
	memset(c, 0, sizeof(*c));
	c->lun = lun;
	c->attr = 1;                                      /* SIMPLE */
	c->queue = -1;
}

static void prep_rw(struct mcsi_cmd *c, uint32_t lun, uint64_t lba,
		    uint32_t nblocks, const struct iovec *iov, int iovcnt,
		    bool write)
{
	prep_common(c, lun);
	c->iov = iov;
	c->iovcnt = iovcnt;
	c->len = iov_total(iov, iovcnt);
	c->dir = write ? MCSI_DIR_WRITE : MCSI_DIR_READ;
	/* (10) when the LBA and count fit, else (16): cannot fail with a
	 * 16-byte buffer and no flags. */
	int n = scsi_build_rw(c->cdb, sizeof(c->cdb), write, lba, nblocks, 0);
	c->cdb_len = n > 0 ? (uint8_t)n : 0;
}

MCSI_API void mcsi_prep_read(struct mcsi_cmd *c, uint32_t lun, uint64_t lba,
			     uint32_t nblocks, const struct iovec *iov, int iovcnt)
{
	prep_rw(c, lun, lba, nblocks, iov, iovcnt, false);
}

MCSI_API void mcsi_prep_write(struct mcsi_cmd *c, uint32_t lun, uint64_t lba,
			      uint32_t nblocks, const struct iovec *iov, int iovcnt)
{
	prep_rw(c, lun, lba, nblocks, iov, iovcnt, true);
}

MCSI_API void mcsi_prep_flush(struct mcsi_cmd *c, uint32_t lun)
{
	prep_common(c, lun);
	/* LBA 0, 0 blocks: the whole medium. */
	int n = scsi_build_sync_cache10(c->cdb, sizeof(c->cdb), 0, 0, false);
	c->cdb_len = n > 0 ? (uint8_t)n : 0;
	c->dir = MCSI_DIR_NONE;
}

MCSI_API void mcsi_prep_unmap(struct mcsi_cmd *c, uint32_t lun, uint64_t lba,
			      uint32_t nblocks, uint8_t param[24],
			      struct iovec *iov_store)
{
	struct scsi_unmap_desc d = { lba, nblocks };

	prep_common(c, lun);
	/* One descriptor: 8 + 16 bytes, which param holds. */
	(void)scsi_build_unmap_params(param, 24, &d, 1);
	*iov_store = (struct iovec){ param, 24 };
	int n = scsi_build_unmap(c->cdb, sizeof(c->cdb), 24, false);
	c->cdb_len = n > 0 ? (uint8_t)n : 0;
	c->dir = MCSI_DIR_WRITE;
	c->iov = iov_store;
	c->iovcnt = 1;
	c->len = 24;
}

MCSI_API int mcsi_prep_cdb(struct mcsi_cmd *c, uint32_t lun, const uint8_t *cdb,
			   size_t cdb_len, enum mcsi_dir dir,
			   const struct iovec *iov, int iovcnt)
{
	if (!cdb || cdb_len == 0 || cdb_len > MCSI_CDB_MAX || dir > MCSI_DIR_WRITE)
		return -EINVAL;
	prep_common(c, lun);
	memcpy(c->cdb, cdb, cdb_len);
	c->cdb_len = (uint8_t)cdb_len;
	c->dir = (uint8_t)dir;
	c->iov = iov;
	c->iovcnt = iovcnt;
	c->len = dir == MCSI_DIR_NONE ? 0 : iov_total(iov, iovcnt);
	c->flags = MCSI_CMD_NO_UA_RETRY;
	return 0;
}

/* The submitter's own queue: the one asked for, the reactor whose callback
 * submits (no hand-off at all), or its CPU's. The reactor then applies
 * the session's scheduling policy, which may send the command to another
 * queue's connection (reactor.c: reactor_route()). */
static unsigned pick_queue(const mcsi_session *s, struct mcsi_cmd *c)
{
	int cpu;

	if (c->queue >= 0)
		return (unsigned)c->queue % s->nq;
	uintptr_t self = (uintptr_t)pthread_self();
	for (unsigned q = 0; q < s->nq; q++)
		if (atomic_load_explicit(&s->q[q]->owner, memory_order_relaxed) == self) {
			cmd_priv(c)->flags |= CMD_F_LOCAL;
			return q;
		}
	if (s->nq == 1)
		return 0;
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : (unsigned)cpu % s->nq;
}

MCSI_API int mcsi_submit(mcsi_session *s, struct mcsi_cmd *c)
{
	if (!s || !c || !c->done)
		return -EINVAL;
	int st = atomic_load_explicit(&s->state, memory_order_acquire);
	if (st != SESS_LIVE && st != SESS_RECOVERING)
		return -ENOTCONN;
	memset(c->internal, 0, sizeof(c->internal));
	memset(&c->res, 0, sizeof(c->res));
	struct reactor *r = s->q[pick_queue(s, c)];
	reactor_count_submit(r);
	reactor_submit(r, c);
	return 0;
}

MCSI_API int mcsi_run(mcsi_session *s, struct mcsi_cmd *c)
{
	if (!s || !c)
		return -EINVAL;
	int st = atomic_load(&s->state);
	if (st != SESS_LIVE && st != SESS_RECOVERING)
		return -ENOTCONN;
	memset(c->internal, 0, sizeof(c->internal));
	memset(&c->res, 0, sizeof(c->res));
	return sess_run_cmd(s, pick_queue(s, c), c);
}

static int run_copy(mcsi_session *s, struct mcsi_cmd *c, struct mcsi_result *res)
{
	int rc = mcsi_run(s, c);

	if (res) {
		if (rc == c->res.err)
			*res = c->res;
		else {
			memset(res, 0, sizeof(*res));
			res->err = rc;
		}
	}
	return rc;
}

MCSI_API int mcsi_readv(mcsi_session *s, uint32_t lun, uint64_t lba,
			uint32_t nblocks, const struct iovec *iov, int iovcnt,
			struct mcsi_result *res)
{
	struct mcsi_cmd c;

	mcsi_prep_read(&c, lun, lba, nblocks, iov, iovcnt);
	return run_copy(s, &c, res);
}

MCSI_API int mcsi_writev(mcsi_session *s, uint32_t lun, uint64_t lba,
			 uint32_t nblocks, const struct iovec *iov, int iovcnt,
			 struct mcsi_result *res)
{
	struct mcsi_cmd c;

	mcsi_prep_write(&c, lun, lba, nblocks, iov, iovcnt);
	return run_copy(s, &c, res);
}

MCSI_API int mcsi_read(mcsi_session *s, uint32_t lun, uint64_t lba,
		       uint32_t nblocks, void *buf, size_t len,
		       struct mcsi_result *res)
{
	struct iovec v = { buf, len };

	return mcsi_readv(s, lun, lba, nblocks, &v, 1, res);
}

MCSI_API int mcsi_write(mcsi_session *s, uint32_t lun, uint64_t lba,
			uint32_t nblocks, const void *buf, size_t len,
			struct mcsi_result *res)
{
	struct iovec v = { (void *)(uintptr_t)buf, len };

	return mcsi_writev(s, lun, lba, nblocks, &v, 1, res);
}

MCSI_API int mcsi_flush(mcsi_session *s, uint32_t lun, struct mcsi_result *res)
{
	struct mcsi_cmd c;

	mcsi_prep_flush(&c, lun);
	return run_copy(s, &c, res);
}

MCSI_API int mcsi_unmap(mcsi_session *s, uint32_t lun, uint64_t lba,
			uint32_t nblocks, struct mcsi_result *res)
{
	struct mcsi_cmd c;
	uint8_t param[24];
	struct iovec v;

	mcsi_prep_unmap(&c, lun, lba, nblocks, param, &v);
	return run_copy(s, &c, res);
}

MCSI_API int mcsi_scsi(mcsi_session *s, uint32_t lun, const uint8_t *cdb,
		       size_t cdb_len, enum mcsi_dir dir, const struct iovec *iov,
		       int iovcnt, struct mcsi_result *res)
{
	struct mcsi_cmd c;
	int rc = mcsi_prep_cdb(&c, lun, cdb, cdb_len, dir, iov, iovcnt);

	return rc < 0 ? rc : run_copy(s, &c, res);
}

MCSI_API int mcsi_read_capacity(mcsi_session *s, uint32_t lun,
				uint64_t *blocks, uint32_t *block_size)
{
	uint8_t cdb[16], buf[32];
	struct iovec v = { buf, sizeof(buf) };
	struct scsi_capacity cap;
	struct mcsi_cmd c;
	int rc;

	if ((rc = scsi_build_read_capacity16(cdb, sizeof(cdb), sizeof(buf))) < 0)
		return rc;
	mcsi_prep_cdb(&c, lun, cdb, (size_t)rc, MCSI_DIR_READ, &v, 1);
	c.flags = 0;                          /* retry UNIT ATTENTION */
	if ((rc = mcsi_run(s, &c)) < 0)
		return rc;
	if (scsi_parse_read_capacity16(buf, c.res.data_in, &cap, NULL) < 0)
		return -EPROTO;
	*blocks = cap.last_lba + 1;
	*block_size = cap.block_len;
	return 0;
}

/* ---- task management ------------------------------------------------------ */

static int run_tmf(mcsi_session *s, enum tmf_function fn, uint32_t lun,
		   struct mcsi_cmd *ref)
{
	struct mcsi_cmd c;
	unsigned q = 0;

	if (!s)
		return -EINVAL;
	if (atomic_load(&s->state) != SESS_LIVE)
		return -ENOTCONN;
	memset(&c, 0, sizeof(c));
	c.lun = lun;
	if (ref) {
		/* The abort must run on the reactor that owns the task. */
		struct task *t = cmd_priv(ref)->task;
		if (!t)
			return -ENOENT;
		q = task_itt_queue(t->itt);
	}
	cmd_priv(&c)->op = CMD_OP_TMF;
	cmd_priv(&c)->arg = (uint32_t)fn;
	cmd_priv(&c)->ref = ref;
	int rc = sess_run_cmd(s, q, &c);
	/* MC/S: the target ended the affected tasks on every connection;
	 * each connection's end only once it is fenced (reactor_tmf.c). */
	if (rc == 0 && reactor_tmf_sets(fn) && atomic_load(&s->cs.used) > 1)
		rc = sess_tmf_fence(s, fn, lun, cmd_priv(&c)->sn);
	return rc;
}

MCSI_API int mcsi_abort_task(mcsi_session *s, struct mcsi_cmd *cmd)
{
	return cmd ? run_tmf(s, TMF_ABORT_TASK, cmd->lun, cmd) : -EINVAL;
}

MCSI_API int mcsi_abort_task_set(mcsi_session *s, uint32_t lun)
{
	return run_tmf(s, TMF_ABORT_TASK_SET, lun, NULL);
}

MCSI_API int mcsi_lun_reset(mcsi_session *s, uint32_t lun)
{
	return run_tmf(s, TMF_LUN_RESET, lun, NULL);
}

MCSI_API int mcsi_target_warm_reset(mcsi_session *s)
{
	return run_tmf(s, TMF_TARGET_WARM_RESET, 0, NULL);
}

/* ---- application event loop --------------------------------------------- */

MCSI_API int mcsi_get_fd(mcsi_session *s)
{
	return s->threaded ? -EINVAL : xport_pollfd(s->q[0]->x);
}

MCSI_API int mcsi_which_events(mcsi_session *s)
{
	return s->threaded ? -EINVAL : POLLIN;
}

MCSI_API int mcsi_next_timeout(mcsi_session *s)
{
	return s->threaded ? -EINVAL : reactor_next_timeout(s->q[0]);
}

MCSI_API int mcsi_service(mcsi_session *s)
{
	struct reactor *r;
	int rc;

	if (s->threaded)
		return -EINVAL;
	r = s->q[0];
	rc = reactor_turn(r, 0);
	xport_flush(r->x);
	/* The application sleeps in its own poll() now: the next
	 * submission must make the fd readable. */
	atomic_store(&r->sleeping, true);
	if (rc >= 0 && atomic_load(&s->state) == SESS_FAILED)
		return r->completions ? rc : -ENOTCONN;
	return rc;
}

/* ---- statistics ---------------------------------------------------------- */

MCSI_API int mcsi_get_stats(mcsi_session *s, struct mcsi_stats *st)
{
	/* Each queue sums its own connections (mcs/rstat.h): no thread
	 * reads another's connection list. */
	return rstat_collect(s, st);
}

/* ---- connections (MC/S) -------------------------------------------------- */

MCSI_API const char *mcsi_conn_state_name(unsigned state)
{
	return cset_state_name((enum cset_state)state);
}

MCSI_API int mcsi_get_conn_stats(mcsi_session *s, struct mcsi_conn_stats *st,
				 unsigned cap)
{
	struct cset_snap snap;

	if (!s || (cap && !st))
		return -EINVAL;
	cset_snapshot(&s->cs, &snap);
	for (unsigned i = 0; i < snap.n && i < cap; i++) {
		const struct cset_conn *c = &snap.conn[i];
		st[i] = (struct mcsi_conn_stats){
			.cid = c->cid, .state = c->state, .queue = c->queue, .lead = c->lead,
			.active = s->sched.policy == SCHED_ADAPTIVE ? sched_in_active_set(&snap, i)
								    : c->state == CSET_UP,
			.depth = c->depth, .weight = c->weight, .commands = c->commands,
			.bytes_in = c->bytes_in, .bytes_out = c->bytes_out,
			.lat_sum_ns = c->lat_sum_ns, .lat_count = c->lat_count,
		};
		snprintf(st[i].portal, sizeof(st[i].portal), "%s", sess_mcs_portal(s, c->slot));
	}
	return (int)snap.n;
}

MCSI_API int mcsi_add_connection(mcsi_session *s, const char *portal)
{
	uint16_t cid = 0;
	int rc;

	if (!s)
		return -EINVAL;
	rc = sess_add_conn(s, portal, &cid);
	return rc < 0 ? rc : (int)cid;
}

MCSI_API int mcsi_remove_connection(mcsi_session *s, uint16_t cid)
{
	return s ? sess_remove_conn(s, cid) : -EINVAL;
}
