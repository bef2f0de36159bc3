/* SPDX-License-Identifier: MIT */
/* Scheduling decisions over connection-set snapshots. */
#include "mcs/sched.h"

#include <strings.h>

void sched_cfg_default(struct sched_cfg *cfg)
{
	cfg->policy = SCHED_LEAST_DEPTH;
	cfg->slack = SCHED_DEFAULT_SLACK;
}

static bool up(const struct cset_conn *c, int except)
{
	return c->state == CSET_UP && c->slot != except;
}

/* The entry the rotation starts at: the first whose slot is at or after
 * the cursor (entries are in slot order), wrapping to 0. */
static unsigned rot_start(const struct cset_snap *s, const struct sched_cursor *cur)
{
	for (unsigned i = 0; i < s->n; i++)
		if ((uint32_t)s->conn[i].slot >= cur->next)
			return i;
	return 0;
}

static int chosen(struct sched_cursor *cur, int slot)
{
	if (cur)
		cur->next = ((uint32_t)slot + 1u) % CSET_MAX;
	return slot;
}

/* The UP entry of least depth in rotation order (the first of equals
 * wins, so ties rotate), restricted to one queue unless queue is
 * SCHED_NO_QUEUE, or to weight `w` unless w is UINT32_MAX. Returns the
 * entry index or -1. */
static int least_depth(const struct cset_snap *s, unsigned start, unsigned queue,
		       uint32_t w, int except, unsigned end)
{
	int best = -1;

	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = (start + k) % s->n;
		const struct cset_conn *c = &s->conn[i];
		if (i >= end || !up(c, except) ||
		    (queue != SCHED_NO_QUEUE && c->queue != queue) ||
		    (w != UINT32_MAX && c->weight != w))
			continue;
		if (best < 0 || c->depth < s->conn[best].depth)
			best = (int)i;
	}
	return best;
}

/* The least weight among UP entries, UINT32_MAX when none. */
static uint32_t least_weight(const struct cset_snap *s, int except)
{
	uint32_t w = UINT32_MAX;

	for (unsigned i = 0; i < s->n; i++)
		if (up(&s->conn[i], except) && s->conn[i].weight < w)
			w = s->conn[i].weight;
	return w;
}

/* Failover order: weight, then the leading connection, then CID. */
static bool before(const struct cset_conn *a, const struct cset_conn *b)
{
	if (a->weight != b->weight)
		return a->weight < b->weight;
	if (a->lead != b->lead)
		return a->lead;
	return a->cid < b->cid;
}

static int active(const struct cset_snap *s, int except)
{
	int best = -1;

	for (unsigned i = 0; i < s->n; i++)
		if (up(&s->conn[i], except) && (best < 0 || before(&s->conn[i], &s->conn[best])))
			best = (int)i;
	return best;
}

static int pick_rr(const struct cset_snap *s, struct sched_cursor *cur)
{
	unsigned start = rot_start(s, cur);

	for (unsigned k = 0; k < s->n; k++) {
		const struct cset_conn *c = &s->conn[(start + k) % s->n];
		if (up(c, -1))
			return chosen(cur, c->slot);
	}
	return -ENOTCONN;
}

/* The entries a pick may use: [0, end). Adaptive: up to the k-th UP
 * entry (entries are in slot order), stored with the snapshot. */
static unsigned active_end(const struct cset_snap *s)
{
	return s->active_end;
}

bool sched_in_active_set(const struct cset_snap *s, unsigned i)
{
	return i < s->n && up(&s->conn[i], -1) && i < active_end(s);
}

static int pick_lqd(const struct cset_snap *s, uint32_t slack, unsigned local,
		    struct sched_cursor *cur, unsigned end)
{
	unsigned start = rot_start(s, cur);
	int loc = local == SCHED_NO_QUEUE ? -1 : least_depth(s, start, local, UINT32_MAX, -1, end);

	/* Under the slack the local queue wins whatever the others hold:
	 * no need to read their counters. */
	if (loc >= 0 && s->conn[loc].depth <= slack)
		return chosen(cur, s->conn[loc].slot);
	int all = least_depth(s, start, SCHED_NO_QUEUE, UINT32_MAX, -1, end);
	if (all < 0)
		return -ENOTCONN;
	if (loc >= 0 && s->conn[loc].depth <= s->conn[all].depth + slack)
		return chosen(cur, s->conn[loc].slot);
	return chosen(cur, s->conn[all].slot);
}

int sched_pick(const struct sched_cfg *cfg, const struct cset_snap *s,
	       unsigned local_queue, struct sched_cursor *cur)
{
	int i;

	if (s->n == 0)
		return -ENOTCONN;
	switch (cfg->policy) {
	case SCHED_ROUND_ROBIN:
		return pick_rr(s, cur);
	case SCHED_FAILOVER:
		i = active(s, -1);
		return i < 0 ? -ENOTCONN : s->conn[i].slot;
	case SCHED_WEIGHTED: {
		uint32_t w = least_weight(s, -1);
		unsigned start = rot_start(s, cur);
		/* Equal weights share the work in turn. */
		for (unsigned k = 0; k < s->n; k++) {
			const struct cset_conn *c = &s->conn[(start + k) % s->n];
			if (up(c, -1) && c->weight == w)
				return chosen(cur, c->slot);
		}
		return -ENOTCONN;
	}
	case SCHED_ADAPTIVE:
		return pick_lqd(s, cfg->slack, local_queue, cur, active_end(s));
	case SCHED_LEAST_DEPTH:
	default:
		return pick_lqd(s, cfg->slack, local_queue, cur, s->n);
	}
}

int sched_takeover(const struct sched_cfg *cfg, const struct cset_snap *s,
		   int failed_slot)
{
	int i;

	switch (cfg->policy) {
	case SCHED_FAILOVER:
		i = active(s, failed_slot);
		break;
	case SCHED_WEIGHTED: {
		uint32_t w = least_weight(s, failed_slot);
		i = w == UINT32_MAX ? -1 : least_depth(s, 0, SCHED_NO_QUEUE, w, failed_slot, s->n);
		break;
	}
	default:
		i = least_depth(s, 0, SCHED_NO_QUEUE, UINT32_MAX, failed_slot, s->n);
		break;
	}
	return i < 0 ? -ENOTCONN : s->conn[i].slot;
}

static const struct {
	enum sched_policy p;
	const char *name, *alias;
} names[] = {
	{ SCHED_LEAST_DEPTH, "least-queue-depth", "lqd" },
	{ SCHED_ROUND_ROBIN, "round-robin", "rr" },
	{ SCHED_FAILOVER, "failover-only", "failover" },
	{ SCHED_WEIGHTED, "weighted-paths", "weighted" },
	{ SCHED_ADAPTIVE, "adaptive", "auto" },
};

const char *sched_policy_name(enum sched_policy p)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].p == p)
			return names[i].name;
	return "unknown";
}

int sched_policy_parse(const char *name, enum sched_policy *out)
{
	if (!name)
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0 ||
		    strcasecmp(name, names[i].alias) == 0) {
			*out = names[i].p;
			return 0;
		}
	}
	return -EINVAL;
}
