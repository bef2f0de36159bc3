/* SPDX-License-Identifier: MIT */
/*
 * mcsi-leak-erl: the recovery paths of ERL 1 and ERL 2, many times over
 * in one process, must leave nothing behind (docs/design/recovery.md).
 *
 *   mcsi-leak-erl --digest-faults 200 --conn-recoveries 12 \
 *       --control /tmp/tt.ctl iscsi://127.0.0.1:PORT/IQN/0
 *
 * Phase "erl1": one session at ErrorRecoveryLevel 1 with header and data
 * digests; before each verified 64 KiB write + read the test target is told
 * to damage one PDU (in turn: a Data-In header, a Data-In data segment, a
 * SCSI Response header, and a SCSI Command it then drops as if its header
 * had been damaged: a CmdSN hole). Every fault must fire and be recovered
 * inside the connection (no connection lost).
 * Phase "erl2": one session at ErrorRecoveryLevel 2 with two connections;
 * before each verified write + read the test target closes the connection
 * that carries the next command; each loss must be recovered as a
 * connection (MCSI_EV_CONN_RECOVERED, no session loss).
 *
 * After a warm-up, in the middle and at the end of each phase: open file
 * descriptors and threads must be back to the warm-up count exactly, RSS
 * may grow by at most --max-rss-growth KiB (malloc's fragmentation settles
 * after about ten reconnections), the memory malloc has handed out by at
 * most HEAP_GROWTH_KB (glibc's count; under ASan LeakSanitizer's check at
 * exit stands in), and the task tables must be
 * empty with the configured connections up and no recovery pending. The
 * session runs application-driven (opts.queues 0), so that this thread may
 * read the reactor's task table between calls.
 *
 * Exit status 0 (bounded), 1 (growth, a leak or a failed cycle), 2 (usage
 * or setup), 77 (skip: no target).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcs/conn_erl2.h"
#include "mcs/reactor.h"
#include "mcs/sess.h"
#include "mcsi/mcsi.h"
#include "leakprobe.h"

LEAKPROBE_ASAN_OPTIONS

#define IO_LEN   65536u
#define IO_BLKS  (IO_LEN / 512u)
#define CONNS    2u
#define HEAP_GROWTH_KB 256

struct sample {
	struct leakprobe_sample p;   /* RSS, fds, threads */
	long heap_kb;                /* malloc's bytes in use (mmapped too) */
	long arena_kb;               /* malloc's heap, free parts included */
};

struct counters {
	_Atomic unsigned conn_failed, conn_recovered, session_lost;
};

static void take(struct sample *s)
{
	leakprobe_take(&s->p);
	struct mallinfo2 mi = mallinfo2();
	s->heap_kb = (long)((mi.uordblks + mi.hblkhd) / 1024);
	s->arena_kb = (long)(mi.arena / 1024);
}


/* Rules still armed at the test target ("ok N rules..."), or -1. */
static int tt_rules(const char *path)
{
	char reply[512];

	if (leakprobe_tt(path, "list\n", reply, sizeof(reply)) != 0)
		return -1;
	return atoi(reply + 3);
}

static void on_event(mcsi_session *s, const struct mcsi_event *ev, void *priv)
{
	struct counters *k = priv;

	(void)s;
	if (ev->type == MCSI_EV_CONN_FAILED)
		atomic_fetch_add(&k->conn_failed, 1);
	else if (ev->type == MCSI_EV_CONN_RECOVERED)
		atomic_fetch_add(&k->conn_recovered, 1);
	else if (ev->type == MCSI_EV_SESSION_LOST)
		atomic_fetch_add(&k->session_lost, 1);
}

static void quiet_log(void *priv, int level, const char *msg)
{
	(void)priv;
	(void)level;
	(void)msg;
}

/* Tasks allocated in the session's task tables (held ones included).
 * Application-driven: nothing else runs the reactor meanwhile. */
static uint32_t tasks_live(mcsi_session *s)
{
	uint32_t n = 0;

	for (unsigned q = 0; q < s->nq; q++)
		n += s->q[q]->tt.live;
	return n;
}

/* The session is idle and whole: no task, every connection up, no
 * recovery pending. */
static bool idle_and_whole(const char *phase, mcsi_session *s, unsigned conns)
{
	struct mcsi_conn_stats cs[8];
	int n = mcsi_get_conn_stats(s, cs, 8);
	unsigned up = 0;
	uint32_t live = tasks_live(s);
	bool pending = conn_erl2_pending(s);

	for (int i = 0; i < n && i < 8; i++)
		up += cs[i].state == 3;
	printf("%s: %u tasks in the tables, %d connections (%u up), recovery %s\n", phase,
	       live, n, up, pending ? "pending" : "none");
	if (live || n != (int)conns || up != conns || pending) {
		printf("FAIL %s: the session did not come back to its idle state\n", phase);
		return false;
	}
	return true;
}

static bool check(const char *phase, const struct sample *base,
		  const struct sample *mid, const struct sample *end, long max_growth_kb)
{
	printf("%s: rss %ld -> %ld -> %ld KiB, heap in use %ld -> %ld -> %ld KiB "
	       "(arena %ld -> %ld -> %ld KiB), fds %d -> %d -> %d, threads %d -> %d -> %d\n",
	       phase, base->p.rss_kb, mid->p.rss_kb, end->p.rss_kb, base->heap_kb,
	       mid->heap_kb, end->heap_kb, base->arena_kb, mid->arena_kb, end->arena_kb,
	       base->p.fds, mid->p.fds, end->p.fds, base->p.threads, mid->p.threads,
	       end->p.threads);
	bool ok = leakprobe_bounded(phase, &base->p, &mid->p, &end->p, max_growth_kb);
	if (end->p.threads != base->p.threads || mid->p.threads != base->p.threads) {
		printf("FAIL %s: thread count changed (%d -> %d -> %d)\n", phase,
		       base->p.threads, mid->p.threads, end->p.threads);
		ok = false;
	}
	/* What malloc hands out, apart from its own fragmentation (which
	 * RSS includes until it settles): finer than RSS. */
	if (end->heap_kb - base->heap_kb > HEAP_GROWTH_KB) {
		printf("FAIL %s: memory in use grew by %ld KiB (bound %d)\n", phase,
		       end->heap_kb - base->heap_kb, HEAP_GROWTH_KB);
		ok = false;
	}
	return ok;
}

struct run {
	const char *url, *control;
	long max_growth;
	uint8_t *wbuf, *rbuf;
};

/* A verified 64 KiB write and read back at a block range of its own. */
static int io_cycle(struct run *r, mcsi_session *s, unsigned i)
{
	uint64_t lba = (uint64_t)(i % 256u) * IO_BLKS;

	for (size_t b = 0; b < IO_LEN; b++)
		r->wbuf[b] = (uint8_t)(b * 31u + i * 7u + (b >> 9));
	int rc = mcsi_write(s, 0, lba, IO_BLKS, r->wbuf, IO_LEN, NULL);
	if (rc)
		return rc;
	memset(r->rbuf, 0, IO_LEN);
	rc = mcsi_read(s, 0, lba, IO_BLKS, r->rbuf, IO_LEN, NULL);
	if (rc)
		return rc;
	return memcmp(r->wbuf, r->rbuf, IO_LEN) ? -EILSEQ : 0;
}

static mcsi_session *open_session(struct run *r, unsigned erl, struct counters *k, int *rc)
{
	struct mcsi_opts o;
	mcsi_session *s = NULL;

	mcsi_opts_init(&o);
	o.queues = 0;
	o.connections = erl == 2 ? CONNS : 1;
	o.error_recovery_level = erl;
	/* ERL 2: commands on both connections in turn, so that the drops
	 * hit both (the adaptive default keeps to the first). */
	o.sched_policy = erl == 2 ? "round-robin" : NULL;
	o.header_digest = o.data_digest = true;
	o.cmd_timeout_ms = 30000;   /* never the repair here */
	o.nop_interval_ms = 0;
	o.event = on_event;
	o.event_priv = k;
	o.log = quiet_log;
	*rc = mcsi_open(r->url, &o, &s);
	return *rc ? NULL : s;
}

static const char *const erl1_faults[] = {
	"corrupt hdigest data-in\n",
	"corrupt ddigest data-in\n",
	"corrupt hdigest scsi-rsp\n",
	"discard scsi-cmd\n",
};
#define NFAULTS (sizeof(erl1_faults) / sizeof(erl1_faults[0]))

static int phase_erl1(struct run *r, unsigned n, bool *ok)
{
	unsigned warm = n / 10 < 20 ? n / 10 : 20, fired = 0;
	struct sample base = { 0 }, mid = { 0 }, end = { 0 };
	struct counters k = { 0 };
	char reply[128];
	double t0 = leakprobe_now();
	int rc;
	mcsi_session *s = open_session(r, 1, &k, &rc);

	if (!s) {
		printf("FAIL erl1: login: %s\n", strerror(-rc));
		return rc == -ECONNREFUSED ? 77 : 2;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i == warm)
			take(&base);
		if (i == warm + (n - warm) / 2)
			take(&mid);
		if (leakprobe_tt(r->control, erl1_faults[i % NFAULTS], reply, sizeof(reply))) {
			printf("FAIL erl1 %u: the test target refused the fault (%s)\n", i, reply);
			mcsi_close(s);
			return 1;
		}
		rc = io_cycle(r, s, i);
		int left = tt_rules(r->control);
		if (left == 0)
			fired++;
		leakprobe_tt(r->control, "clear\n", reply, sizeof(reply));
		if (rc) {
			printf("FAIL erl1 %u (%s): %s\n", i, erl1_faults[i % NFAULTS],
			       strerror(-rc));
			*ok = false;
		}
	}
	take(&end);
	printf("erl1: %u digest faults (%u fired) in %.1f s; %u connections lost\n", n, fired,
	       leakprobe_now() - t0, atomic_load(&k.conn_failed));
	if (fired != n || atomic_load(&k.conn_failed) || atomic_load(&k.session_lost)) {
		printf("FAIL erl1: every fault must fire and be recovered in place\n");
		*ok = false;
	}
	if (!idle_and_whole("erl1", s, 1))
		*ok = false;
	if (n > warm && !check("erl1", &base, &mid, &end, r->max_growth))
		*ok = false;
	if ((rc = mcsi_close(s)) != 0) {
		printf("FAIL erl1: logout: %s\n", strerror(-rc));
		*ok = false;
	}
	return 0;
}

static int phase_erl2(struct run *r, unsigned n, bool *ok)
{
	unsigned warm = n / 4, failed_io = 0;
	struct sample base = { 0 }, mid = { 0 }, end = { 0 };
	struct counters k = { 0 };
	char reply[128];
	double t0 = leakprobe_now();
	int rc;
	mcsi_session *s = open_session(r, 2, &k, &rc);

	if (!s) {
		printf("FAIL erl2: login: %s\n", strerror(-rc));
		return rc == -ECONNREFUSED ? 77 : 2;
	}
	if (mcsi_get_conn_stats(s, NULL, 0) != (int)CONNS) {
		printf("FAIL erl2: %d connections, not %u\n", mcsi_get_conn_stats(s, NULL, 0),
		       CONNS);
		mcsi_close(s);
		return 2;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i == warm)
			take(&base);
		if (i == warm + (n - warm) / 2)
			take(&mid);
		unsigned before = atomic_load(&k.conn_recovered);
		if (leakprobe_tt(r->control, "drop rx 0 scsi-cmd\n", reply, sizeof(reply))) {
			printf("FAIL erl2 %u: the test target refused the fault (%s)\n", i, reply);
			mcsi_close(s);
			return 1;
		}
		rc = io_cycle(r, s, i);
		if (rc) {
			printf("FAIL erl2 %u: %s\n", i, strerror(-rc));
			failed_io++;
		}
		/* The recovery ends with the CID reinstated: wait for it (the
		 * command may have been retried elsewhere before). */
		for (double until = leakprobe_now() + 10; atomic_load(&k.conn_recovered) == before &&
		     leakprobe_now() < until;) {
			mcsi_service(s);
			usleep(5000);
		}
		for (double until = leakprobe_now() + 5;
		     mcsi_get_conn_stats(s, NULL, 0) != (int)CONNS && leakprobe_now() < until;) {
			mcsi_service(s);
			usleep(5000);
		}
	}
	/* Let the last reinstated connection settle (its ping). */
	for (double until = leakprobe_now() + 2; (tasks_live(s) || conn_erl2_pending(s)) &&
	     leakprobe_now() < until;) {
		mcsi_service(s);
		usleep(5000);
	}
	take(&end);
	printf("erl2: %u connections dropped, %u lost, %u recovered, %u session losses in "
	       "%.1f s\n", n, atomic_load(&k.conn_failed), atomic_load(&k.conn_recovered),
	       atomic_load(&k.session_lost), leakprobe_now() - t0);
	if (failed_io || atomic_load(&k.conn_recovered) != n || atomic_load(&k.session_lost)) {
		printf("FAIL erl2: every drop must be recovered as a connection, I/O intact\n");
		*ok = false;
	}
	if (!idle_and_whole("erl2", s, CONNS))
		*ok = false;
	if (n > warm && !check("erl2", &base, &mid, &end, r->max_growth))
		*ok = false;
	if ((rc = mcsi_close(s)) != 0) {
		printf("FAIL erl2: logout: %s\n", strerror(-rc));
		*ok = false;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "digest-faults", required_argument, NULL, 'd' },
		{ "conn-recoveries", required_argument, NULL, 'c' },
		{ "control", required_argument, NULL, 'C' },
		{ "max-rss-growth", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned faults = 200, recoveries = 12;
	struct run r = { .max_growth = 8192 };
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': faults = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': recoveries = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'C': r.control = optarg; break;
		case 'g': r.max_growth = strtol(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: mcsi-leak-erl [--digest-faults N] "
				"[--conn-recoveries N] [--max-rss-growth KIB] --control SOCKET URL\n");
			return 2;
		}
	}
	if (optind != argc - 1 || !r.control) {
		fprintf(stderr, "mcsi-leak-erl: a URL and --control (the test target's)\n");
		return 2;
	}
	r.url = argv[optind];
	r.wbuf = malloc(IO_LEN);
	r.rbuf = malloc(IO_LEN);
	if (!r.wbuf || !r.rbuf)
		return 2;

	bool ok = true;
	char reply[128];
	int rc = 0;
	if (faults)
		rc = phase_erl1(&r, faults, &ok);
	if (rc == 0 && recoveries)
		rc = phase_erl2(&r, recoveries, &ok);
	leakprobe_tt(r.control, "clear\n", reply, sizeof(reply));
	free(r.wbuf);
	free(r.rbuf);
	if (rc)
		return rc;
	printf("%s\n", ok ? "bounded" : "FAILED");
	return ok ? 0 : 1;
}
