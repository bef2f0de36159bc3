/* SPDX-License-Identifier: MIT */
#include "mcs/erl_rec.h"

#include <errno.h>
#include <string.h>

int erl_rec_start(struct erl_rec *r, const struct erl_rec_cfg *cfg, uint64_t now)
{
	if (cfg->erl > 2)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->cst = ERL_S8_CLEANUP_WAIT;
	erl_clock_start(&r->clock, now, cfg->time2wait_s, cfg->time2retain_s,
			cfg->replacement_ms);
	return 0;
}

void erl_rec_async(struct erl_rec *r, uint64_t now, uint16_t t2w, uint16_t t2r)
{
	erl_clock_async(&r->clock, now, t2w, t2r);
}

void erl_rec_logout_times(struct erl_rec *r, uint64_t now, uint16_t t2w, uint16_t t2r)
{
	erl_clock_logout(&r->clock, now, t2w, t2r);
}

static void earliest(uint64_t *when, uint64_t t, uint64_t now)
{
	if (t > now && (*when == 0 || t < *when))
		*when = t;
}

enum erl_rec_do erl_rec_poll(struct erl_rec *r, uint64_t now, unsigned survivors,
			     uint64_t *when)
{
	uint64_t not_before;

	*when = 0;
	if (r->cst == ERL_S1_FREE)
		return ERL_DO_NOTHING;
	if (!r->replacement_told) {
		if (erl_clock_replaced(&r->clock, now)) {
			r->replacement_told = true;
			return ERL_DO_REPLACEMENT;
		}
		earliest(when, r->clock.replace_until, now);
	}
	if (r->cst == ERL_R2_IN_CLEANUP)
		return ERL_DO_NOTHING;   /* the exchange has its own timeout */
	/* Time2Retain is over and nothing was cleaned up (M1): the target
	 * dropped the connection's state. With survivors its tasks go on
	 * there; without, session recovery carries on. */
	if (survivors > 0 && r->clock.retain_until) {
		if (now >= r->clock.retain_until) {
			erl_conn_step(&r->cst, ERL_CE_STATE_TIMEOUT, NULL);
			return ERL_DO_DROP_TASKS;
		}
		earliest(when, r->clock.retain_until, now);
	}
	not_before = r->clock.wait_until > r->next_try ? r->clock.wait_until : r->next_try;
	if (now < not_before) {
		earliest(when, not_before, now);
		return ERL_DO_NOTHING;
	}
	struct erl_fail_facts f = {
		.erl = r->cfg.erl,
		.survivors = survivors,
		.retained = erl_clock_retained(&r->clock, now),
		.prefer_logout = r->cfg.prefer_logout,
		.reinstate_failed = r->reinstate_failed,
	};
	r->how = erl_recovery_plan(&f);
	erl_conn_step(&r->cst, ERL_CE_CLEANUP_START, NULL);
	r->attempts++;
	switch (r->how) {
	case ERL_REC_LOGOUT_CLOSE:
		return ERL_DO_LOGOUT_CLOSE;
	case ERL_REC_LOGOUT_RECOVERY:
		return ERL_DO_LOGOUT_RECOVERY;
	case ERL_REC_CONN_REINSTATE:
		return ERL_DO_REINSTATE_CONN;
	case ERL_REC_SESSION_REINSTATE:
	default:
		return ERL_DO_REINSTATE_SESSION;
	}
}

int erl_rec_result(struct erl_rec *r, uint64_t now, enum erl_rec_outcome res,
		   uint32_t expcmdsn, struct erl_cleanup_facts *facts)
{
	if (r->cst != ERL_R2_IN_CLEANUP)
		return -EINVAL;
	if (res != ERL_RES_OK && res != ERL_RES_CID_UNKNOWN) {
		erl_conn_step(&r->cst, ERL_CE_CLEANUP_FAIL, NULL);
		if (res == ERL_RES_REFUSED) {
			/* Do not ask again what the target refused. */
			if (r->how == ERL_REC_CONN_REINSTATE)
				r->reinstate_failed = true;
			if (r->how == ERL_REC_LOGOUT_RECOVERY)
				r->cfg.prefer_logout = false;
		}
		r->next_try = now + erl_backoff_ns(r->attempts - 1u, r->cfg.retry_min_ms,
						   r->cfg.retry_max_ms);
		return -EAGAIN;
	}
	bool session = r->how == ERL_REC_SESSION_REINSTATE;
	erl_conn_step(&r->cst, session ? ERL_CE_SESSION_CLOSED : ERL_CE_CLEANUP_OK, NULL);
	*facts = (struct erl_cleanup_facts){
		.erl = r->cfg.erl,
		.cleaned = true,
		.new_session = session,
		.tasks_kept = !session && res == ERL_RES_OK && r->cfg.erl >= 2 &&
			      (r->how == ERL_REC_LOGOUT_RECOVERY ||
			       r->how == ERL_REC_CONN_REINSTATE),
		.retained = erl_clock_retained(&r->clock, now),
		.expcmdsn = expcmdsn,
		.max_reissues = r->cfg.max_reissues,
	};
	return 0;
}

void erl_rec_drop_facts(const struct erl_rec *r, uint32_t session_expcmdsn,
			struct erl_cleanup_facts *facts)
{
	*facts = (struct erl_cleanup_facts){
		.erl = r->cfg.erl,
		.cleaned = true,
		.expcmdsn = session_expcmdsn,
		.max_reissues = r->cfg.max_reissues,
	};
}
