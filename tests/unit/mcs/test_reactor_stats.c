/* SPDX-License-Identifier: MIT */
/*
 * Per-queue statistics (mcs/reactor_stats.c, mcs/rstat.h): the sequence
 * lock never hands a reader a torn set of sums while the reactor
 * publishes from another thread, and mcsi_get_stats() counts what the
 * connections did, removed connections included.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "ft.h"
#include "mcs/rstat.h"
#include "mcs/sess_mcs.h"

static struct ft F;
static uint8_t buf[4][4096];

/* ---- the sequence lock under a racing writer ----------------------------- */

#define PUBLISHES 200000u

static struct reactor *bare;
static _Atomic bool writer_done;

static void *publisher(void *arg)
{
	(void)arg;
	for (uint64_t k = 1; k <= PUBLISHES; k++) {
		for (unsigned i = 0; i < RS_N; i++)
			bare->retired.v[i] = k * (i + 1);
		rstat_publish(bare);
	}
	atomic_store(&writer_done, true);
	return NULL;
}

/* Every field of one publication is k * (index + 1) for the same k, and k
 * never goes back; RS_CONNS is the count of live connections (none). */
static void test_seqlock_never_torn(void **state)
{
	(void)state;
	pthread_t t;
	uint64_t last = 0, reads = 0;

	bare = aligned_alloc(64, (sizeof(*bare) + 63u) & ~(size_t)63u);
	assert_non_null(bare);
	memset(bare, 0, sizeof(*bare));
	atomic_store(&writer_done, false);
	assert_int_equal(pthread_create(&t, NULL, publisher, NULL), 0);
	while (!atomic_load(&writer_done) || reads == 0) {
		struct rstat_sums s;
		rstat_read(&bare->pub, &s);
		uint64_t k = s.v[RS_COMMANDS];
		for (unsigned i = 0; i < RS_N; i++) {
			if (i == RS_CONNS)
				assert_int_equal(s.v[i], 0);
			else
				assert_int_equal(s.v[i], k * (i + 1));
		}
		assert_true(k >= last);
		last = k;
		reads++;
	}
	pthread_join(t, NULL);
	struct rstat_sums s;
	rstat_read(&bare->pub, &s);
	assert_int_equal(s.v[RS_COMMANDS], PUBLISHES);
	free(bare);
}

/* ---- through the API ------------------------------------------------------ */

/* Answers every command PDU c sent with GOOD; returns how many. */
static unsigned answer_all(struct conn *c)
{
	unsigned n = 0;

	ft_turn(&F);
	while (c->slots && xport_fake_pending(&c->xc) >= 48) {
		uint8_t in[48 * 8];
		size_t got = xport_fake_take(&c->xc, in, sizeof(in));
		for (size_t off = 0; off + 48 <= got; off += 48) {
			assert_int_equal(pdu_opcode(in + off), PDU_OP_SCSI_CMD);
			uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_SCSI_RSP, 0x80 };
			struct bhs_scsi_rsp *r = (void *)h;
			pdu_put32(&r->rsp_itt, pdu_itt(in + off));
			ft_stamp(&F, h, true);
			assert_int_equal(xport_fake_inject(&c->xc, h, 48), 0);
			n++;
		}
		ft_turn(&F);
	}
	return n;
}

static void drop_done(struct mcsi_cmd *cmd, void *priv)
{
	(void)cmd;
	(*(int *)priv)++;
}

/* Four reads over two connections: the sums count them all, and still do
 * after connection 2 is removed and freed. */
static void test_get_stats_counts_removed(void **state)
{
	(void)state;
	struct iscsi_params p;
	struct ft_cmd fc[4];
	struct mcsi_stats st;

	ft_default_params(&p);
	p.max_connections = 2;
	ft_open(&F, &p);
	ft_add_conn(&F, &F.p, 2, 41);
	for (unsigned i = 0; i < 4; i++)
		ft_submit_read(&F, &fc[i], buf[i], 512, i);
	unsigned a1 = answer_all(ft_conn_cid(&F, 1, false)), a2 = answer_all(ft_conn_cid(&F, 2, false));
	assert_int_equal(a1 + a2, 4);
	assert_true(a1 > 0 && a2 > 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fc[i].done, 1);
	assert_int_equal(mcsi_get_stats(F.s, &st), 0);
	assert_int_equal(st.commands, 4);
	assert_int_equal(st.reads, 4);
	assert_int_equal(st.pdus_in, 4);
	assert_int_equal(st.pdus_out, 4);
	assert_int_equal(st.connections, 2);
	assert_int_equal(st.queues, 1);
	assert_string_equal(st.transport, "fake");

	/* Remove connection 2 (nothing in flight): Logout, response, freed. */
	struct conn *c2 = ft_conn_cid(&F, 2, false);
	struct mcsi_cmd drop;
	int dropped = 0;
	memset(&drop, 0, sizeof(drop));
	cmd_priv(&drop)->op = CMD_OP_DROP_CONN;
	cmd_priv(&drop)->arg = (uint32_t)c2->slot;
	drop.done = drop_done;
	drop.priv = &dropped;
	reactor_count_submit(F.s->q[0]);
	reactor_submit(F.s->q[0], &drop);
	ft_turn(&F);
	uint8_t in[48];
	assert_int_equal(xport_fake_take(&c2->xc, in, sizeof(in)), 48);
	assert_int_equal(pdu_opcode(in), PDU_OP_LOGOUT_REQ);
	uint8_t h[48] __attribute__((aligned(8))) = { PDU_OP_LOGOUT_RSP, 0x80 };
	struct bhs_logout_rsp *r = (void *)h;
	pdu_put32(&r->lgor_itt, pdu_itt(in));
	ft_stamp(&F, h, true);
	assert_int_equal(xport_fake_inject(&c2->xc, h, 48), 0);
	ft_turn(&F);
	assert_int_equal(dropped, 1);
	assert_null(ft_conn_cid(&F, 2, false));
	assert_int_equal(mcsi_get_stats(F.s, &st), 0);
	assert_int_equal(st.commands, 4);            /* its commands still count */
	assert_int_equal(st.pdus_in, 5);             /* + the Logout Response */
	assert_int_equal(st.pdus_out, 5);            /* + the Logout */
	assert_int_equal(st.connections, 1);
	ft_close(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seqlock_never_torn),
		cmocka_unit_test(test_get_stats_counts_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
