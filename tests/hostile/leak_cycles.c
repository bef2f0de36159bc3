/* SPDX-License-Identifier: MIT */
/*
 * mcsi-leak-cycles: logs in and out of a local target many times, then
 * forces many reconnections (the test target drops the connection on the
 * first command through its fault-injection socket; the application opens
 * a new session), then drops one open session's connection many times (the
 * library reinstates it, ERL 0), and checks that the process's resident
 * memory, open file descriptors and threads stay bounded.
 *
 *   mcsi-leak-cycles --logins 10000 --reconnects 1000 --reinstatements 1000 \
 *       --control /tmp/tt.ctl iscsi://127.0.0.1:PORT/IQN/0
 *
 * Samples are taken after a warm-up (allocator caches, the first thread
 * stacks) and at the end of each phase: fds and threads must be back to
 * the warm-up count exactly, RSS may grow by at most --max-rss-growth KiB
 * (default 8192; a leak of even 100 bytes per cycle exceeds it over 10,000
 * cycles only barely, so the bound is paired with a per-cycle check that
 * compares the second half of the run with the first).
 *
 * Exit status 0 (bounded), 1 (growth or a failed cycle), 2 (usage or
 * setup), 77 (skip: no target).
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcsi/mcsi.h"
#include "leakprobe.h"

LEAKPROBE_ASAN_OPTIONS

static bool check(const char *phase, const struct leakprobe_sample *base,
		  const struct leakprobe_sample *mid, const struct leakprobe_sample *end,
		  long max_growth_kb)
{
	printf("%s: rss %ld -> %ld -> %ld KiB, fds %d -> %d -> %d, threads %d -> %d -> %d\n",
	       phase, base->rss_kb, mid->rss_kb, end->rss_kb, base->fds, mid->fds,
	       end->fds, base->threads, mid->threads, end->threads);
	bool ok = leakprobe_bounded(phase, base, mid, end, max_growth_kb);
	if (end->threads != base->threads) {
		printf("FAIL %s: threads left running (%d -> %d)\n", phase,
		       base->threads, end->threads);
		ok = false;
	}
	return ok;
}

/* The reconnects log one "connection closed" warning each: count the
 * warnings and errors and keep the last instead of printing a thousand
 * (notices and debug lines, such as the RFC state transitions, are not
 * the reason given). */
struct log_sink {
	unsigned lines;
	char last[256];
};

static void quiet_log(void *priv, int level, const char *msg)
{
	struct log_sink *l = priv;

	if (level > 4)
		return;
	l->lines++;
	snprintf(l->last, sizeof(l->last), "%s", msg);
}

struct run {
	const char *url, *control;
	struct mcsi_opts o;
	struct log_sink sink;
	long max_growth;
};

static int phase_logins(struct run *r, unsigned logins, bool *ok)
{
	unsigned warm = logins / 10 < 200 ? logins / 10 : 200;
	struct leakprobe_sample base = { 0 }, mid = { 0 }, end = { 0 };
	double t0 = leakprobe_now();

	for (unsigned i = 0; i < logins; i++) {
		if (i == warm)
			leakprobe_take(&base);
		if (i == warm + (logins - warm) / 2)
			leakprobe_take(&mid);
		mcsi_session *s = NULL;
		int rc = mcsi_open(r->url, &r->o, &s);
		if (rc) {
			printf("FAIL login %u: %s\n", i, strerror(-rc));
			return i == 0 ? 77 : 1;
		}
		rc = mcsi_close(s);
		if (rc) {
			printf("FAIL logout %u: %s\n", i, strerror(-rc));
			return 1;
		}
	}
	leakprobe_take(&end);
	printf("logins: %u cycles in %.1f s\n", logins, leakprobe_now() - t0);
	if (logins > warm && !check("logins", &base, &mid, &end, r->max_growth))
		*ok = false;
	return 0;
}

/* The connection dropped on the first command, and the application opens
 * a new session (replacement timeout 0: the library does not reinstate). */
static int phase_reconnects(struct run *r, unsigned reconnects, bool *ok)
{
	unsigned warm = reconnects / 10 < 50 ? reconnects / 10 : 50, dropped = 0;
	struct leakprobe_sample base = { 0 }, mid = { 0 }, end = { 0 };
	struct mcsi_opts o = r->o;
	uint8_t buf[4096];
	double t0 = leakprobe_now();

	/* ERL 0: at ERL 2 the library would first try to recover the
	 * connection inside the session, which is not what this phase
	 * counts. */
	o.replacement_timeout_ms = 0;
	o.error_recovery_level = 0;
	for (unsigned i = 0; i < reconnects; i++) {
		if (i == warm)
			leakprobe_take(&base);
		if (i == warm + (reconnects - warm) / 2)
			leakprobe_take(&mid);
		if (leakprobe_tt(r->control, "drop rx 0 scsi-cmd\n", NULL, 0) != 0) {
			printf("FAIL reconnect %u: the test target refused the fault\n", i);
			return 1;
		}
		mcsi_session *s = NULL;
		int rc = mcsi_open(r->url, &o, &s);
		if (rc) {
			printf("FAIL reconnect %u: login: %s\n", i, strerror(-rc));
			return 1;
		}
		struct mcsi_result res;
		rc = mcsi_read(s, 0, 0, 8, buf, sizeof(buf), &res);
		if (rc == -ECONNRESET || rc == -ENOTCONN || rc == -EPROTO)
			dropped++;
		else
			printf("reconnect %u: read gave %d, expected a lost connection\n", i, rc);
		mcsi_close(s);
	}
	leakprobe_take(&end);
	printf("reconnects: %u forced (%u seen as lost) in %.1f s; %u log lines, last: %s\n",
	       reconnects, dropped, leakprobe_now() - t0, r->sink.lines, r->sink.last);
	if (dropped != reconnects) {
		printf("FAIL reconnects: %u of %u drops not reported\n", reconnects - dropped,
		       reconnects);
		*ok = false;
	}
	if (reconnects > warm && !check("reconnects", &base, &mid, &end, r->max_growth))
		*ok = false;
	return 0;
}

static void count_reinstated(mcsi_session *s, const struct mcsi_event *ev, void *priv)
{
	(void)s;
	if (ev->type == MCSI_EV_SESSION_REINSTATED)
		atomic_fetch_add((_Atomic unsigned *)priv, 1);
}

/* One session kept open while its connection is dropped again and again:
 * the library reinstates it each time (ERL 0) and the read that met the
 * drop succeeds; nothing may accumulate per reinstatement. */
static int phase_reinstatements(struct run *r, unsigned n, bool *ok)
{
	unsigned warm = n / 10 < 50 ? n / 10 : 50, good = 0;
	_Atomic unsigned reinstated = 0;
	struct leakprobe_sample base = { 0 }, mid = { 0 }, end = { 0 };
	struct mcsi_opts o = r->o;
	uint8_t buf[4096];
	mcsi_session *s = NULL;
	double t0 = leakprobe_now();

	o.replacement_timeout_ms = 30000;
	o.error_recovery_level = 0;          /* session reinstatement itself */
	o.event = count_reinstated;
	o.event_priv = (void *)&reinstated;
	int rc = mcsi_open(r->url, &o, &s);
	if (rc) {
		printf("FAIL reinstatements: login: %s\n", strerror(-rc));
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i == warm)
			leakprobe_take(&base);
		if (i == warm + (n - warm) / 2)
			leakprobe_take(&mid);
		if (leakprobe_tt(r->control, "drop rx 0 scsi-cmd\n", NULL, 0) != 0) {
			printf("FAIL reinstatement %u: the test target refused the fault\n", i);
			mcsi_close(s);
			return 1;
		}
		struct mcsi_result res;
		rc = mcsi_read(s, 0, 0, 8, buf, sizeof(buf), &res);
		if (rc == 0)
			good++;
		else
			printf("reinstatement %u: read gave %d (%s)\n", i, rc, strerror(-rc));
	}
	leakprobe_take(&end);
	mcsi_close(s);
	printf("reinstatements: %u drops, %u reads succeeded, %u reinstated in %.1f s\n", n,
	       good, atomic_load(&reinstated), leakprobe_now() - t0);
	if (good != n || atomic_load(&reinstated) != n) {
		printf("FAIL reinstatements: every dropped read must succeed after one "
		       "reinstatement\n");
		*ok = false;
	}
	if (n > warm && !check("reinstatements", &base, &mid, &end, r->max_growth))
		*ok = false;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "logins", required_argument, NULL, 'l' },
		{ "reconnects", required_argument, NULL, 'r' },
		{ "reinstatements", required_argument, NULL, 'i' },
		{ "control", required_argument, NULL, 'c' },
		{ "max-rss-growth", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned logins = 10000, reconnects = 1000, reinstatements = 0;
	struct run r = { .max_growth = 8192 };
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'l': logins = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': reconnects = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'i': reinstatements = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': r.control = optarg; break;
		case 'g': r.max_growth = strtol(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: mcsi-leak-cycles [--logins N] [--reconnects N] "
				"[--reinstatements N] [--control SOCKET] URL\n");
			return 2;
		}
	}
	if (optind != argc - 1 || ((reconnects || reinstatements) && !r.control)) {
		fprintf(stderr, "mcsi-leak-cycles: a URL, and --control for reconnects "
			"and reinstatements\n");
		return 2;
	}
	r.url = argv[optind];
	mcsi_opts_init(&r.o);
	r.o.cmd_timeout_ms = 5000;
	r.o.nop_interval_ms = 0;
	r.o.log = quiet_log;
	r.o.log_priv = &r.sink;

	bool ok = true;
	int rc = phase_logins(&r, logins, &ok);
	if (rc == 0 && reconnects)
		rc = phase_reconnects(&r, reconnects, &ok);
	if (rc == 0 && reinstatements)
		rc = phase_reinstatements(&r, reinstatements, &ok);
	leakprobe_tt(r.control ? r.control : "", "clear\n", NULL, 0);
	if (rc)
		return rc;
	printf("%s\n", ok ? "bounded" : "FAILED");
	return ok ? 0 : 1;
}
