/* SPDX-License-Identifier: MIT */
/* The connection set: membership by CAS on per-slot state words. */
#include "mcs/connset.h"

#include <string.h>

static inline uint32_t sw_make(uint32_t gen, enum cset_state st)
{
	return gen << 8 | (uint32_t)st;
}

static inline uint32_t sw_gen(uint32_t sw)
{
	return sw >> 8;
}

/* Moves a slot from one state to another if it is in `from`; the
 * generation goes up with every transition. Returns true on success. */
static bool slot_move(struct connset *cs, int slot, enum cset_state from,
		      enum cset_state to)
{
	struct cset_slot *s = &cs->slot[slot];
	uint32_t old = atomic_load_explicit(&s->sw, memory_order_acquire);

	do {
		if (cset_state_of(old) != from)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&s->sw, &old,
			sw_make(sw_gen(old) + 1, to),
			memory_order_acq_rel, memory_order_acquire));
	atomic_fetch_add_explicit(&cs->gen, 1, memory_order_release);
	return true;
}

int cset_init(struct connset *cs, uint32_t max_conns, unsigned nqueues)
{
	if (max_conns == 0 || max_conns > 65535 || nqueues == 0 ||
	    nqueues > CSET_MAX_QUEUES)
		return -EINVAL;
	memset(cs, 0, sizeof(*cs));
	cs->negotiated = max_conns;
	cs->nqueues = nqueues;
	atomic_init(&cs->limit, max_conns < CSET_MAX ? max_conns : CSET_MAX);
	return 0;
}

/* Takes `used` one up unless that would pass the limit. */
static bool count_in(struct connset *cs)
{
	uint32_t n = atomic_load_explicit(&cs->used, memory_order_relaxed);

	do {
		if (n >= atomic_load_explicit(&cs->limit, memory_order_relaxed))
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&cs->used, &n, n + 1,
			memory_order_acq_rel, memory_order_relaxed));
	return true;
}

/* Claims a FREE slot (the caller counted it in). */
static int claim(struct connset *cs)
{
	for (unsigned i = 0; i < CSET_MAX; i++)
		if (slot_move(cs, (int)i, CSET_FREE, CSET_CLAIMED)) {
			/* Pairs with the snapshot's acquire fence: a reader
			 * that sees the fields written below also sees the
			 * new generation and reads the slot again. */
			atomic_thread_fence(memory_order_release);
			return (int)i;
		}
	return -ENOSPC;   /* not reached while limit <= CSET_MAX */
}

static bool cid_in_use(const struct connset *cs, uint16_t cid, int except)
{
	for (unsigned i = 0; i < CSET_MAX; i++) {
		const struct cset_slot *s = &cs->slot[i];
		enum cset_state st = cset_state_of(atomic_load_explicit(&s->sw,
						   memory_order_acquire));
		if ((int)i != except && st != CSET_FREE && st != CSET_CLAIMED &&
		    atomic_load_explicit(&s->cid, memory_order_relaxed) == cid)
			return true;
	}
	return false;
}

static unsigned least_populated_queue(const struct connset *cs)
{
	unsigned count[CSET_MAX_QUEUES] = { 0 }, best = 0;

	for (unsigned i = 0; i < CSET_MAX; i++) {
		const struct cset_slot *s = &cs->slot[i];
		enum cset_state st = cset_state_of(atomic_load_explicit(&s->sw,
						   memory_order_acquire));
		unsigned q = atomic_load_explicit(&s->queue, memory_order_relaxed);
		if (st != CSET_FREE && st != CSET_CLAIMED && st != CSET_FAILED &&
		    q < cs->nqueues)
			count[q]++;
	}
	for (unsigned q = 1; q < cs->nqueues; q++)
		if (count[q] < count[best])
			best = q;
	return best;
}

/* Fills a CLAIMED slot and makes it visible in state `st`. */
static void fill(struct connset *cs, int slot, uint16_t cid, unsigned queue,
		 bool lead, enum cset_state st)
{
	struct cset_slot *s = &cs->slot[slot];

	atomic_store_explicit(&s->cid, cid, memory_order_relaxed);
	atomic_store_explicit(&s->queue, (uint8_t)queue, memory_order_relaxed);
	atomic_store_explicit(&s->lead, lead, memory_order_relaxed);
	atomic_store_explicit(&s->weight, 0, memory_order_relaxed);
	atomic_store_explicit(&s->commands, 0, memory_order_relaxed);
	atomic_store_explicit(&s->bytes_in, 0, memory_order_relaxed);
	atomic_store_explicit(&s->bytes_out, 0, memory_order_relaxed);
	atomic_store_explicit(&s->lat_sum_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&s->lat_count, 0, memory_order_relaxed);
	/* depth is not reset: a submitter holding an old snapshot may still
	 * add to it, and its reactor subtracts that when it re-routes the
	 * command, so the balance stays right across reuse. */
	slot_move(cs, slot, CSET_CLAIMED, st);
}

int cset_add_lead(struct connset *cs, uint16_t lead_cid, unsigned queue)
{
	int slot;

	if (queue >= cs->nqueues)
		return -EINVAL;
	uint32_t zero = 0;
	if (!atomic_compare_exchange_strong(&cs->used, &zero, 1))
		return -EBUSY;
	slot = claim(cs);
	atomic_store_explicit(&cs->next_cid, (uint32_t)lead_cid + 1u, memory_order_relaxed);
	fill(cs, slot, lead_cid, queue, true, CSET_UP);
	atomic_fetch_add_explicit(&cs->nup, 1, memory_order_acq_rel);
	return slot;
}

int cset_reserve(struct connset *cs, int queue, struct cset_ticket *tk)
{
	int slot;
	uint16_t cid;

	if (queue >= (int)cs->nqueues)
		return -EINVAL;
	if (!count_in(cs))
		return -EUSERS;
	if ((slot = claim(cs)) < 0) {
		atomic_fetch_sub_explicit(&cs->used, 1, memory_order_acq_rel);
		return slot;
	}
	/* Each reserver draws its own numbers, so two concurrent reserves
	 * never get the same CID; the scan only matters after 65536
	 * connections, when the counter comes round to a CID still held. */
	do {
		cid = (uint16_t)atomic_fetch_add_explicit(&cs->next_cid, 1,
							  memory_order_relaxed);
	} while (cid_in_use(cs, cid, slot));
	unsigned q = queue < 0 ? least_populated_queue(cs) : (unsigned)queue;
	fill(cs, slot, cid, q, false, CSET_LOGIN);
	tk->slot = slot;
	tk->cid = cid;
	tk->queue = q;
	return 0;
}

/* Back to FREE: the generation goes up before the slot can be claimed
 * again, which is what snapshots check. */
static bool to_free(struct connset *cs, int slot, enum cset_state from)
{
	if (!slot_move(cs, slot, from, CSET_FREE))
		return false;
	atomic_fetch_sub_explicit(&cs->used, 1, memory_order_acq_rel);
	return true;
}

void cset_cancel(struct connset *cs, int slot)
{
	if (slot >= 0 && slot < (int)CSET_MAX && !to_free(cs, slot, CSET_LOGIN))
		to_free(cs, slot, CSET_FAILED);
}

int cset_publish(struct connset *cs, int slot)
{
	if (slot < 0 || slot >= (int)CSET_MAX || !slot_move(cs, slot, CSET_LOGIN, CSET_UP))
		return -EINVAL;
	atomic_fetch_add_explicit(&cs->nup, 1, memory_order_acq_rel);
	return 0;
}

int cset_leave(struct connset *cs, int slot)
{
	if (slot < 0 || slot >= (int)CSET_MAX || !cset_usable(cs, slot))
		return -EINVAL;
	/* Keep one UP connection: two removals racing for the last two
	 * cannot both win. */
	uint32_t n = atomic_load_explicit(&cs->nup, memory_order_acquire);
	do {
		if (n <= 1)
			return -EBUSY;
	} while (!atomic_compare_exchange_weak_explicit(&cs->nup, &n, n - 1,
			memory_order_acq_rel, memory_order_acquire));
	if (!slot_move(cs, slot, CSET_UP, CSET_LEAVING)) {
		atomic_fetch_add_explicit(&cs->nup, 1, memory_order_acq_rel);
		return -EINVAL;
	}
	return 0;
}

enum cset_state cset_fail(struct connset *cs, int slot)
{
	static const enum cset_state from[] = { CSET_UP, CSET_LEAVING, CSET_LOGIN };

	if (slot < 0 || slot >= (int)CSET_MAX)
		return CSET_FREE;
	for (unsigned i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		if (slot_move(cs, slot, from[i], CSET_FAILED)) {
			if (from[i] == CSET_UP)
				atomic_fetch_sub_explicit(&cs->nup, 1, memory_order_acq_rel);
			return from[i];
		}
	}
	enum cset_state st = cset_state_of(atomic_load_explicit(&cs->slot[slot].sw,
					   memory_order_acquire));
	return st == CSET_FAILED ? CSET_FAILED : CSET_FREE;
}

int cset_release(struct connset *cs, int slot)
{
	if (slot < 0 || slot >= (int)CSET_MAX)
		return -EINVAL;
	return to_free(cs, slot, CSET_LEAVING) || to_free(cs, slot, CSET_FAILED) ? 0 : -EINVAL;
}

uint32_t cset_learn_limit(struct connset *cs)
{
	/* The refused login's slot is still counted in `used`; the target
	 * holds what we have without it. */
	uint32_t have = atomic_load_explicit(&cs->used, memory_order_acquire);
	uint32_t lim = have > 1 ? have - 1 : 1;
	uint32_t cur = atomic_load_explicit(&cs->limit, memory_order_relaxed);

	while (lim < cur && !atomic_compare_exchange_weak_explicit(&cs->limit, &cur, lim,
			memory_order_acq_rel, memory_order_relaxed))
		;
	return atomic_load_explicit(&cs->limit, memory_order_acquire);
}

int cset_find(const struct connset *cs, uint16_t cid)
{
	for (unsigned i = 0; i < CSET_MAX; i++) {
		const struct cset_slot *s = &cs->slot[i];
		enum cset_state st = cset_state_of(atomic_load_explicit(&s->sw,
						   memory_order_acquire));
		if (st != CSET_FREE && st != CSET_CLAIMED &&
		    atomic_load_explicit(&s->cid, memory_order_relaxed) == cid)
			return (int)i;
	}
	return -ENOENT;
}

int cset_set_weight(struct connset *cs, int slot, uint32_t weight)
{
	if (slot < 0 || slot >= (int)CSET_MAX)
		return -EINVAL;
	atomic_store_explicit(&cs->slot[slot].weight, weight, memory_order_relaxed);
	atomic_fetch_add_explicit(&cs->gen, 1, memory_order_release);
	return 0;
}

void cset_set_active(struct connset *cs, uint32_t k)
{
	/* Called every scan: write the line the submitters read only when
	 * k moves. One writer (queue 0's reactor). */
	if (atomic_load_explicit(&cs->active, memory_order_relaxed) == k)
		return;
	atomic_store_explicit(&cs->active, k, memory_order_relaxed);
	atomic_fetch_add_explicit(&cs->gen, 1, memory_order_release);
}

/* Reads one slot as a sequence-lock reader (with its traffic counters
 * when `counters`). Returns false for a slot that holds no connection. */
static bool read_slot(const struct cset_slot *s, struct cset_conn *c, bool counters)
{
	for (;;) {
		uint32_t sw = atomic_load_explicit(&s->sw, memory_order_acquire);
		enum cset_state st = cset_state_of(sw);
		if (st == CSET_FREE || st == CSET_CLAIMED)
			return false;
		c->state = (uint8_t)st;
		c->cid = atomic_load_explicit(&s->cid, memory_order_relaxed);
		c->queue = atomic_load_explicit(&s->queue, memory_order_relaxed);
		c->lead = atomic_load_explicit(&s->lead, memory_order_relaxed);
		c->weight = atomic_load_explicit(&s->weight, memory_order_relaxed);
		c->depth = atomic_load_explicit(&s->depth, memory_order_relaxed);
		if (counters) {
			c->commands = atomic_load_explicit(&s->commands, memory_order_relaxed);
			c->bytes_in = atomic_load_explicit(&s->bytes_in, memory_order_relaxed);
			c->bytes_out = atomic_load_explicit(&s->bytes_out, memory_order_relaxed);
			c->lat_sum_ns = atomic_load_explicit(&s->lat_sum_ns, memory_order_relaxed);
			c->lat_count = atomic_load_explicit(&s->lat_count, memory_order_relaxed);
		} else {
			c->commands = c->bytes_in = c->bytes_out = 0;
			c->lat_sum_ns = c->lat_count = 0;
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->sw, memory_order_relaxed) == sw)
			return true;
	}
}

static void snap(const struct connset *cs, struct cset_snap *out, bool counters)
{
	out->gen = atomic_load_explicit(&cs->gen, memory_order_acquire);
	out->negotiated = cs->negotiated;
	out->limit = atomic_load_explicit(&cs->limit, memory_order_relaxed);
	out->used = atomic_load_explicit(&cs->used, memory_order_relaxed);
	out->active = atomic_load_explicit(&cs->active, memory_order_relaxed);
	out->nqueues = cs->nqueues;
	out->n = 0;
	for (unsigned i = 0; i < CSET_MAX; i++) {
		struct cset_conn *c = &out->conn[out->n];
		if (read_slot(&cs->slot[i], c, counters)) {
			c->slot = (int)i;
			out->n++;
		}
	}
	out->active_end = cset_snap_active_end(out);
}

unsigned cset_snap_active_end(const struct cset_snap *s)
{
	uint32_t seen = 0;

	if (!s->active)
		return s->n;
	for (unsigned i = 0; i < s->n; i++)
		if (s->conn[i].state == CSET_UP && ++seen == s->active)
			return i + 1;
	return s->n;
}

void cset_snapshot(const struct connset *cs, struct cset_snap *out)
{
	snap(cs, out, true);
}

void cset_view(const struct connset *cs, struct cset_snap *out)
{
	snap(cs, out, false);
}

void cset_refresh_depths(const struct connset *cs, struct cset_snap *s)
{
	for (unsigned i = 0; i < s->n; i++)
		s->conn[i].depth = atomic_load_explicit(&cs->slot[s->conn[i].slot].depth,
							memory_order_relaxed);
}

const char *cset_state_name(enum cset_state st)
{
	switch (st) {
	case CSET_FREE: return "free";
	case CSET_CLAIMED: return "claimed";
	case CSET_LOGIN: return "login";
	case CSET_UP: return "up";
	case CSET_LEAVING: return "leaving";
	case CSET_FAILED: return "failed";
	}
	return "unknown";
}
