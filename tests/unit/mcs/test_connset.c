/* SPDX-License-Identifier: MIT */
/* The MC/S connection set: CIDs, states, the MaxConnections bound under
 * concurrent adds, removal, counters and snapshots; and the session's
 * CmdSN counter and window (mcs/sess.h) shared by several connections'
 * threads, with the cross-queue wake-up of connset.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcs/connset.h"
#include "mcs/sched.h"
#include "mcs/sess.h"

static struct connset CS;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const struct cset_conn *find_cid(const struct cset_snap *s, uint16_t cid)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->conn[i].cid == cid)
			return &s->conn[i];
	return NULL;
}

static void test_init_limits(void **state)
{
	(void)state;
	assert_int_equal(cset_init(&CS, 0, 1), -EINVAL);
	assert_int_equal(cset_init(&CS, 65536, 1), -EINVAL);
	assert_int_equal(cset_init(&CS, 4, 0), -EINVAL);
	assert_int_equal(cset_init(&CS, 4, CSET_MAX_QUEUES + 1), -EINVAL);
	assert_int_equal(cset_init(&CS, 4, 2), 0);
	assert_int_equal(atomic_load(&CS.limit), 4);
	/* A target may grant more than we can hold: the set caps it. */
	assert_int_equal(cset_init(&CS, 65535, 2), 0);
	assert_int_equal(atomic_load(&CS.limit), CSET_MAX);
	assert_int_equal(CS.negotiated, 65535);
}

static void test_max_connections_bound(void **state)
{
	(void)state;
	struct cset_ticket tk[4];
	struct cset_snap s;

	assert_int_equal(cset_init(&CS, 4, 1), 0);
	int lead = cset_add_lead(&CS, 0, 0);
	assert_true(lead >= 0);
	assert_int_equal(cset_add_lead(&CS, 9, 0), -EBUSY);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cset_reserve(&CS, -1, &tk[i]), 0);
		assert_int_equal(tk[i].cid, i + 1);
		assert_int_not_equal(tk[i].slot, lead);
	}
	/* Lead + 3 logging in = 4: the fifth is refused without a login. */
	assert_int_equal(cset_reserve(&CS, -1, &tk[3]), -EUSERS);
	cset_snapshot(&CS, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.used, 4);
	assert_int_equal(find_cid(&s, 0)->state, CSET_UP);
	assert_true(find_cid(&s, 0)->lead);
	assert_int_equal(find_cid(&s, 2)->state, CSET_LOGIN);

	/* A failed login frees its slot; its CID is not handed out again
	 * at once. */
	cset_cancel(&CS, tk[1].slot);
	assert_int_equal(cset_find(&CS, 2), -ENOENT);
	assert_int_equal(cset_reserve(&CS, -1, &tk[3]), 0);
	assert_int_equal(tk[3].cid, 4);
	assert_int_equal(cset_reserve(&CS, -1, &tk[1]), -EUSERS);

	assert_int_equal(cset_publish(&CS, tk[0].slot), 0);
	assert_int_equal(cset_publish(&CS, tk[0].slot), -EINVAL);   /* twice */
	assert_int_equal(cset_publish(&CS, tk[2].slot), 0);
	assert_int_equal(cset_publish(&CS, tk[3].slot), 0);
	assert_int_equal(atomic_load(&CS.nup), 4);
	assert_int_equal(cset_find(&CS, 3), tk[2].slot);
}

static void test_remove_at_run_time(void **state)
{
	(void)state;
	struct cset_ticket a, b, c;
	struct cset_snap s;

	assert_int_equal(cset_init(&CS, 3, 1), 0);
	int lead = cset_add_lead(&CS, 7, 0);
	assert_int_equal(cset_reserve(&CS, -1, &a), 0);
	assert_int_equal(cset_reserve(&CS, -1, &b), 0);
	assert_int_equal(a.cid, 8);
	cset_publish(&CS, a.slot);
	cset_publish(&CS, b.slot);

	/* Logout reason 1 for one CID: it stops taking commands at once
	 * but counts until its logout completes. */
	assert_int_equal(cset_leave(&CS, a.slot), 0);
	assert_false(cset_usable(&CS, a.slot));
	assert_int_equal(cset_leave(&CS, a.slot), -EINVAL);
	assert_int_equal(cset_reserve(&CS, -1, &c), -EUSERS);
	cset_snapshot(&CS, &s);
	assert_int_equal(find_cid(&s, 8)->state, CSET_LEAVING);
	assert_int_equal(cset_release(&CS, a.slot), 0);
	assert_int_equal(cset_release(&CS, a.slot), -EINVAL);
	assert_int_equal(cset_reserve(&CS, -1, &c), 0);
	assert_int_equal(c.cid, 10);
	cset_publish(&CS, c.slot);

	/* A failed connection also counts until released. */
	assert_int_equal(cset_fail(&CS, b.slot), CSET_UP);
	assert_int_equal(cset_fail(&CS, b.slot), CSET_FAILED);
	assert_int_equal(atomic_load(&CS.nup), 2);
	assert_int_equal(cset_reserve(&CS, -1, &a), -EUSERS);
	assert_int_equal(cset_release(&CS, b.slot), 0);

	/* The last UP connection cannot leave: that is a session logout. */
	assert_int_equal(cset_leave(&CS, c.slot), 0);
	assert_int_equal(cset_leave(&CS, lead), -EBUSY);
	assert_true(cset_usable(&CS, lead));
	assert_int_equal(cset_release(&CS, c.slot), 0);
	cset_snapshot(&CS, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.used, 1);
}

static void test_queue_assignment(void **state)
{
	(void)state;
	struct cset_ticket tk[6];

	assert_int_equal(cset_init(&CS, 8, 3), 0);
	cset_add_lead(&CS, 0, 0);
	/* Auto: the queue with the fewest connections, lowest first. */
	unsigned want[] = { 1, 2, 0, 1, 2 };
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cset_reserve(&CS, -1, &tk[i]), 0);
		assert_int_equal(tk[i].queue, want[i]);
	}
	assert_int_equal(cset_reserve(&CS, 3, &tk[5]), -EINVAL);
	assert_int_equal(cset_reserve(&CS, 2, &tk[5]), 0);
	assert_int_equal(tk[5].queue, 2);
	/* A failed connection no longer occupies its queue. */
	cset_fail(&CS, tk[0].slot);
	cset_fail(&CS, tk[3].slot);
	cset_release(&CS, tk[0].slot);
	cset_release(&CS, tk[3].slot);
	assert_int_equal(cset_reserve(&CS, -1, &tk[0]), 0);
	assert_int_equal(tk[0].queue, 1);
}

static void test_cids_wrap_and_skip_held_ones(void **state)
{
	(void)state;
	struct cset_ticket a, b, c;

	assert_int_equal(cset_init(&CS, 8, 1), 0);
	cset_add_lead(&CS, 65534, 0);
	assert_int_equal(cset_reserve(&CS, -1, &a), 0);
	assert_int_equal(cset_reserve(&CS, -1, &b), 0);
	assert_int_equal(a.cid, 65535);
	assert_int_equal(b.cid, 0);
	/* After going round the 16-bit space the counter meets CIDs still
	 * held: they are skipped. */
	atomic_store(&CS.next_cid, 65534u);
	assert_int_equal(cset_reserve(&CS, -1, &c), 0);
	assert_int_equal(c.cid, 1);
}

static void test_learned_limit(void **state)
{
	(void)state;
	struct cset_ticket a, b, c;

	assert_int_equal(cset_init(&CS, 8, 1), 0);
	cset_add_lead(&CS, 0, 0);
	cset_reserve(&CS, -1, &a);
	cset_publish(&CS, a.slot);
	cset_reserve(&CS, -1, &b);
	/* The target refused b (0x0206) although 8 were negotiated. */
	assert_int_equal(cset_learn_limit(&CS), 2);
	cset_cancel(&CS, b.slot);
	assert_int_equal(cset_reserve(&CS, -1, &c), -EUSERS);
	/* It never goes up again, nor below 1. */
	assert_int_equal(cset_learn_limit(&CS), 1);
	assert_int_equal(cset_learn_limit(&CS), 1);
}

static void test_counters_and_weights(void **state)
{
	(void)state;
	struct cset_ticket a;
	struct cset_snap s;

	assert_int_equal(cset_init(&CS, 2, 2), 0);
	int lead = cset_add_lead(&CS, 0, 0);
	cset_reserve(&CS, 1, &a);
	cset_publish(&CS, a.slot);
	uint32_t g = cset_gen(&CS);
	assert_int_equal(cset_set_weight(&CS, a.slot, 5), 0);
	assert_int_not_equal(cset_gen(&CS), g);
	for (int i = 0; i < 3; i++)
		cset_submitted(&CS, a.slot);
	cset_submitted(&CS, lead);
	cset_count_cmd(&CS, a.slot);
	cset_count_cmd(&CS, a.slot);
	cset_count_bytes(&CS, a.slot, 4096, 0);
	cset_count_bytes(&CS, a.slot, 0, 512);
	cset_count_done(&CS, a.slot, 1000);
	cset_count_done(&CS, a.slot, 3000);
	cset_unsubmitted(&CS, lead);
	cset_snapshot(&CS, &s);
	const struct cset_conn *c = find_cid(&s, a.cid);
	assert_int_equal(c->queue, 1);
	assert_int_equal(c->weight, 5);
	assert_int_equal(c->depth, 1);
	assert_int_equal(c->commands, 2);
	assert_int_equal(c->bytes_in, 4096);
	assert_int_equal(c->bytes_out, 512);
	assert_int_equal(c->lat_sum_ns, 4000);
	assert_int_equal(c->lat_count, 2);
	assert_int_equal(find_cid(&s, 0)->depth, 0);
	/* The scheduler's view: membership and depth, no counters. */
	struct cset_snap v;
	cset_view(&CS, &v);
	assert_int_equal(v.n, 2);
	assert_int_equal(find_cid(&v, a.cid)->depth, 1);
	assert_int_equal(find_cid(&v, a.cid)->weight, 5);
	assert_int_equal(find_cid(&v, a.cid)->commands, 0);
	assert_int_equal(find_cid(&v, a.cid)->lat_count, 0);
	/* Depth-only refresh between membership changes. */
	cset_submitted(&CS, a.slot);
	cset_refresh_depths(&CS, &s);
	assert_int_equal(find_cid(&s, a.cid)->depth, 2);
	assert_int_equal(find_cid(&s, a.cid)->commands, 2);
	/* A reused slot starts with fresh counters. */
	cset_fail(&CS, a.slot);
	cset_release(&CS, a.slot);
	cset_reserve(&CS, 1, &a);
	cset_snapshot(&CS, &s);
	assert_int_equal(find_cid(&s, a.cid)->commands, 0);
	assert_int_equal(find_cid(&s, a.cid)->lat_count, 0);
	assert_string_equal(cset_state_name(CSET_LEAVING), "leaving");
}

/* ---- concurrency: the MaxConnections bound ------------------------------- */

#define RACERS 8

static _Atomic unsigned won;

static void *reserve_racer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 10; i++) {
		struct cset_ticket tk;
		if (cset_reserve(&CS, -1, &tk) == 0)
			atomic_fetch_add(&won, 1);
	}
	return NULL;
}

/* The snapshot's active_end (what the adaptive scheduler may use: up to
 * the active-th UP entry) is stored when the snapshot is taken, and
 * follows cset_set_active() and every state change, each of which also
 * moves the generation that makes a reactor re-read its view. */
static void snap_end(unsigned want)
{
	struct cset_snap s, v;
	struct sched_cfg cfg = { SCHED_ADAPTIVE, 0 };
	struct sched_cursor cur;

	cset_snapshot(&CS, &s);
	cset_view(&CS, &v);
	assert_int_equal(s.active_end, want);
	assert_int_equal(v.active_end, want);
	cset_refresh_depths(&CS, &v);
	assert_int_equal(v.active_end, want);
	for (unsigned i = 0; i < s.n; i++)
		assert_true(sched_in_active_set(&s, i) ==
			    (i < want && s.conn[i].state == CSET_UP));
	/* Least depth never leaves [0, active_end), however deep it gets. */
	sched_cursor_init(&cur, 0);
	for (unsigned k = 0; k < 3 * s.n; k++) {
		int slot = sched_pick(&cfg, &v, SCHED_NO_QUEUE, &cur);
		unsigned i = 0;
		while (i < v.n && v.conn[i].slot != slot)
			i++;
		assert_true(i < want);
		v.conn[i].depth += 10;
	}
}

static void test_active_end_follows_set_and_states(void **state)
{
	(void)state;
	struct cset_ticket tk;
	int slot[5];

	assert_int_equal(cset_init(&CS, 8, 2), 0);
	slot[0] = cset_add_lead(&CS, 0, 0);
	for (unsigned i = 1; i < 5; i++) {
		assert_int_equal(cset_reserve(&CS, -1, &tk), 0);
		assert_int_equal(cset_publish(&CS, tk.slot), 0);
		slot[i] = tk.slot;
		assert_int_equal(slot[i], (int)i);      /* entries i = slots i */
	}
	snap_end(5);                                 /* 0: all of them */
	uint32_t g = cset_gen(&CS);
	cset_set_active(&CS, 2);
	assert_int_not_equal(cset_gen(&CS), g);
	snap_end(2);
	/* Slot 1 fails: the first two UP ones are now 0 and 2. */
	g = cset_gen(&CS);
	assert_int_equal(cset_fail(&CS, slot[1]), CSET_UP);
	assert_int_not_equal(cset_gen(&CS), g);
	snap_end(3);
	/* Its slot logs in again: LOGIN does not count... */
	assert_int_equal(cset_release(&CS, slot[1]), 0);
	assert_int_equal(cset_reserve(&CS, -1, &tk), 0);
	assert_int_equal(tk.slot, slot[1]);
	snap_end(3);
	/* ...UP does. */
	g = cset_gen(&CS);
	assert_int_equal(cset_publish(&CS, tk.slot), 0);
	assert_int_not_equal(cset_gen(&CS), g);
	snap_end(2);
	/* The lead leaves (Logout reason 1): slots 1 and 2. */
	assert_int_equal(cset_leave(&CS, slot[0]), 0);
	snap_end(3);
	cset_set_active(&CS, 3);
	snap_end(4);
	/* More than are UP: all entries. */
	cset_set_active(&CS, 9);
	snap_end(5);
	cset_set_active(&CS, 0);
	snap_end(5);
}

static void test_concurrent_adds_never_exceed_the_limit(void **state)
{
	(void)state;
	pthread_t th[RACERS];

	for (int round = 0; round < 50; round++) {
		struct cset_snap s;
		assert_int_equal(cset_init(&CS, 11, 4), 0);
		cset_add_lead(&CS, 0, 0);
		atomic_store(&won, 0);
		for (int i = 0; i < RACERS; i++)
			pthread_create(&th[i], NULL, reserve_racer, NULL);
		for (int i = 0; i < RACERS; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(atomic_load(&won), 10);
		cset_snapshot(&CS, &s);
		assert_int_equal(s.n, 11);
		for (unsigned i = 0; i < s.n; i++)
			for (unsigned j = i + 1; j < s.n; j++)
				assert_int_not_equal(s.conn[i].cid, s.conn[j].cid);
	}
}

/* ---- concurrency: snapshots during churn ------------------------------------ */

static _Atomic bool churn_stop;
static _Atomic uint8_t cid_queue[65536];
static _Atomic unsigned bad_snaps, snaps;

/* Fewer CIDs than the 16-bit space in all, so that no CID comes round
 * again and the table above stays exact. */
#define CHURN_CYCLES 20000

static void *churner(void *arg)
{
	unsigned q = (unsigned)(uintptr_t)arg;

	for (unsigned n = 0; n < CHURN_CYCLES && !atomic_load(&churn_stop); n++) {
		struct cset_ticket tk;
		if (cset_reserve(&CS, (int)q, &tk) < 0) {
			sched_yield();
			continue;
		}
		atomic_store_explicit(&cid_queue[tk.cid], (uint8_t)q, memory_order_relaxed);
		cset_publish(&CS, tk.slot);
		if (cset_leave(&CS, tk.slot) < 0)
			cset_fail(&CS, tk.slot);
		cset_release(&CS, tk.slot);
	}
	return NULL;
}

static void *snapper(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_stop)) {
		struct cset_snap s;
		cset_snapshot(&CS, &s);
		atomic_fetch_add(&snaps, 1);
		for (unsigned i = 0; i < s.n; i++) {
			const struct cset_conn *c = &s.conn[i];
			bool bad = c->state == CSET_FREE || c->state == CSET_CLAIMED;
			/* An UP entry was published after its queue was
			 * recorded: the two must agree. */
			if (c->state == CSET_UP && !c->lead &&
			    atomic_load_explicit(&cid_queue[c->cid], memory_order_relaxed) != c->queue)
				bad = true;
			if (c->lead && (c->cid != 0 || c->queue != 0))
				bad = true;
			for (unsigned j = i + 1; j < s.n; j++)
				bad |= s.conn[j].cid == c->cid;
			if (bad)
				atomic_fetch_add(&bad_snaps, 1);
		}
	}
	return NULL;
}

static void test_snapshots_consistent_during_churn(void **state)
{
	(void)state;
	pthread_t ch[3], sn[2];

	assert_int_equal(cset_init(&CS, 6, 4), 0);
	cset_add_lead(&CS, 0, 0);
	atomic_store(&churn_stop, false);
	for (unsigned i = 0; i < 3; i++)
		pthread_create(&ch[i], NULL, churner, (void *)(uintptr_t)(i + 1));
	for (unsigned i = 0; i < 2; i++)
		pthread_create(&sn[i], NULL, snapper, NULL);
	uint64_t end = now_ms() + 400;
	while (now_ms() < end && atomic_load(&CS.next_cid) < 3 * CHURN_CYCLES)
		assert_true(atomic_load(&CS.used) <= 6);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(ch[i], NULL);
	atomic_store(&churn_stop, true);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(sn[i], NULL);
	assert_true(atomic_load(&snaps) > 100);
	assert_int_equal(atomic_load(&bad_snaps), 0);
	assert_int_equal(atomic_load(&CS.used), 1);
	assert_int_equal(atomic_load(&CS.nup), 1);
}

/* ---- concurrency: CmdSN and the shared window ----------------------------- */

#define CONNS   4
#define PER     3000u
#define START   0xfffff000u          /* crosses the 32-bit wrap */

struct submitter {
	unsigned q;
	uint32_t sn[PER];
	_Atomic bool woken;
	bool lost;
};

static struct mcsi_session *S;
static struct submitter SUB[CONNS];
static _Atomic uint32_t reserved;

/* One connection's reactor: takes CmdSNs while the window is open, and
 * sleeps on its wake flag when it is closed (as a reactor would in its
 * transport wait), with a deadline that catches a lost wake-up. */
static void *submit_thread(void *arg)
{
	struct submitter *me = arg;

	for (unsigned i = 0; i < PER;) {
		uint32_t sn;
		if (sess_cmdsn_reserve(S, &sn) == 0) {
			me->sn[i++] = sn;
			atomic_fetch_add(&reserved, 1);
			continue;
		}
		cset_window_wait(&CS, me->q);
		if (sess_cmdsn_reserve(S, &sn) == 0) {
			me->sn[i++] = sn;
			atomic_fetch_add(&reserved, 1);
			continue;
		}
		uint64_t deadline = now_ms() + 5000;
		while (!atomic_exchange(&me->woken, false)) {
			if (now_ms() > deadline) {
				me->lost = true;
				return NULL;
			}
			sched_yield();
		}
	}
	return NULL;
}

static void deliver(uint32_t exp, uint32_t max)
{
	if (!sess_window_update(S, exp, max))
		return;
	uint64_t m = cset_window_opened(&CS);
	for (unsigned q = 0; q < CONNS; q++)
		if (m & (1ull << q))
			atomic_store(&SUB[q].woken, true);
}

static int cmp_sn(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a - START, y = *(const uint32_t *)b - START;
	return x < y ? -1 : x > y;
}

static void test_cmdsn_window_shared_by_connections(void **state)
{
	(void)state;
	pthread_t th[CONNS];
	static uint32_t all[CONNS * PER];

	S = calloc(1, sizeof(*S));
	assert_non_null(S);
	atomic_init(&S->cmdsn, START);
	/* Window [START, START + 3]: four commands may go. */
	atomic_init(&S->window, (uint64_t)START << 32 | (START + 3u));
	assert_int_equal(cset_init(&CS, CONNS, CONNS), 0);
	atomic_store(&reserved, 0);
	for (unsigned q = 0; q < CONNS; q++) {
		SUB[q].q = q;
		atomic_store(&SUB[q].woken, false);
		SUB[q].lost = false;
		pthread_create(&th[q], NULL, submit_thread, &SUB[q]);
	}

	/* The target: whenever everything it allowed was taken, it checks
	 * that no CmdSN beyond MaxCmdSN was, then opens the window by a few
	 * from "some connection", mixing in stale and invalid pairs that
	 * must change nothing. */
	uint32_t max = START + 3u, total = CONNS * PER;
	unsigned step = 0;
	uint64_t deadline = now_ms() + 20000;
	while (atomic_load(&reserved) < total) {
		uint32_t allowed = max - START + 1u;
		uint32_t r = atomic_load(&reserved);
		assert_true(r <= allowed);
		assert_true(now_ms() < deadline);
		if (r < allowed && r < total) {
			sched_yield();
			continue;
		}
		uint32_t exp = max - 2u;
		deliver(exp - 5u, max - 3u);            /* stale: ignored */
		deliver(exp + 10u, exp);                /* MaxCmdSN < ExpCmdSN - 1 */
		assert_int_equal(sess_win_max(atomic_load(&S->window)), max);
		max += 1u + step++ % 7u;
		deliver(exp, max);
	}
	for (unsigned q = 0; q < CONNS; q++) {
		pthread_join(th[q], NULL);
		assert_false(SUB[q].lost);
		/* Each connection's CmdSNs go up (serial arithmetic). */
		for (unsigned i = 1; i < PER; i++)
			assert_true(sn_lt(SUB[q].sn[i - 1], SUB[q].sn[i]));
		memcpy(all + q * PER, SUB[q].sn, sizeof(SUB[q].sn));
	}
	/* Together: every CmdSN from START on exactly once, no gap. */
	qsort(all, CONNS * PER, sizeof(all[0]), cmp_sn);
	for (uint32_t i = 0; i < CONNS * PER; i++)
		assert_int_equal(all[i], START + i);
	assert_int_equal(sess_cmdsn_peek(S), START + CONNS * PER);
	free(S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_limits),
		cmocka_unit_test(test_max_connections_bound),
		cmocka_unit_test(test_remove_at_run_time),
		cmocka_unit_test(test_queue_assignment),
		cmocka_unit_test(test_cids_wrap_and_skip_held_ones),
		cmocka_unit_test(test_learned_limit),
		cmocka_unit_test(test_counters_and_weights),
		cmocka_unit_test(test_active_end_follows_set_and_states),
		cmocka_unit_test(test_concurrent_adds_never_exceed_the_limit),
		cmocka_unit_test(test_snapshots_consistent_during_churn),
		cmocka_unit_test(test_cmdsn_window_shared_by_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
