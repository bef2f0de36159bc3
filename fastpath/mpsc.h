/* SPDX-License-Identifier: MIT */
/*
 * Intrusive multi-producer, single-consumer queue (after Dmitry Vyukov's
 * design): any thread pushes with one atomic exchange, the owning reactor
 * pops without locks. Nodes live inside the caller's objects, so queuing
 * never allocates.
 */
#ifndef MCSI_FASTPATH_MPSC_H
#define MCSI_FASTPATH_MPSC_H

#include <stdatomic.h>
#include <stddef.h>

struct mpsc_node {
	_Atomic(struct mpsc_node *) next;
};

struct mpsc {
	_Atomic(struct mpsc_node *) head;   /* producers swing this */
	struct mpsc_node *tail;             /* consumer only */
	struct mpsc_node stub;
};

static inline void mpsc_init(struct mpsc *q)
{
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
	atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
	q->tail = &q->stub;
}

/* Any thread. */
static inline void mpsc_push(struct mpsc *q, struct mpsc_node *n)
{
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	struct mpsc_node *prev = atomic_exchange_explicit(&q->head, n,
							  memory_order_acq_rel);
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* Consumer only. Returns NULL when empty, or when a producer is between
 * its two steps (the node shows up on the next pop). */
static inline struct mpsc_node *mpsc_pop(struct mpsc *q)
{
	struct mpsc_node *tail = q->tail;
	struct mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);

	if (tail == &q->stub) {
		if (!next)
			return NULL;
		q->tail = next;
		tail = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next) {
		q->tail = next;
		return tail;
	}
	if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
		return NULL;
	mpsc_push(q, &q->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next) {
		q->tail = next;
		return tail;
	}
	return NULL;
}

/* Consumer only: true when nothing is queued (racy against producers,
 * which is fine for deciding whether to sleep after announcing it). */
static inline int mpsc_empty(struct mpsc *q)
{
	return q->tail == &q->stub &&
	       atomic_load_explicit(&q->stub.next, memory_order_acquire) == NULL &&
	       atomic_load_explicit(&q->head, memory_order_acquire) == &q->stub;
}

#endif
