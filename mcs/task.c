/* SPDX-License-Identifier: MIT */
#include "mcs/task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pdu.h"

int task_table_init(struct task_table *tt, uint32_t n, unsigned queue)
{
	memset(tt, 0, sizeof(*tt));
	if (n == 0 || n > TASK_MAX_SLOTS || queue >= TASK_MAX_QUEUES)
		return -EINVAL;
	tt->tasks = calloc(n, sizeof(*tt->tasks));
	tt->free = calloc(n, sizeof(*tt->free));
	if (!tt->tasks || !tt->free) {
		task_table_fini(tt);
		return -ENOMEM;
	}
	tt->n = n;
	tt->queue = queue;
	/* Pop order = slot order, so tests see predictable ITTs. */
	for (uint32_t i = 0; i < n; i++) {
		tt->free[i] = n - 1 - i;
		tt->tasks[i].itt = queue << TASK_SLOT_BITS | i;
	}
	tt->nfree = n;
	return 0;
}

void task_table_fini(struct task_table *tt)
{
	free(tt->tasks);
	free(tt->free);
	memset(tt, 0, sizeof(*tt));
}

void task_renew_itt(struct task *t)
{
	uint32_t low = t->itt & ((1u << TASK_GEN_SHIFT) - 1u);
	uint32_t gen = (t->itt >> TASK_GEN_SHIFT) + 1u;

	t->itt = (gen << TASK_GEN_SHIFT) | low;
	if (t->itt == PDU_RESERVED_TAG)   /* never hand out 0xffffffff */
		t->itt = low;
}

struct task *task_alloc(struct task_table *tt, enum task_kind kind)
{
	struct task *t;
	uint32_t itt;

	if (tt->nfree == 0)
		return NULL;
	t = &tt->tasks[tt->free[--tt->nfree]];
	itt = t->itt;
	memset(t, 0, sizeof(*t));
	t->itt = itt;
	task_renew_itt(t);
	t->kind = (uint8_t)kind;
	t->state = TASK_QUEUED;
	tt->live++;
	return t;
}

void task_free(struct task_table *tt, struct task *t)
{
	t->state = TASK_FREE;
	tt->free[tt->nfree++] = (uint32_t)(t - tt->tasks);
	tt->live--;
}
