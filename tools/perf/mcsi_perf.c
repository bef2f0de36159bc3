/* SPDX-License-Identifier: MIT */
/*
 * mcsi-perf: a load generator over the public API (include/mcsi/mcsi.h).
 * Commands are resubmitted from their completion callbacks, so the steady
 * state costs no thread hand-off; worker threads only start their share
 * of the queue depth.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mcsi/mcsi.h"

static const char usage[] =
"Usage: mcsi-perf [OPTIONS] iscsi://[user[%%password]@]host[:port]/<target-iqn>/<lun>\n"
"\n"
"Runs a fixed workload against one LUN over one mcsi session and reports\n"
"IOPS, bandwidth, latency percentiles and the CPU time the process spent\n"
"per I/O.\n"
"\n"
"Workload:\n"
"  -m, --mode MODE       read, write, randread, randwrite or rw (default randread)\n"
"  -M, --mix PCT         reads in percent for rw (default 50)\n"
"  -b, --bs BYTES        I/O size, a multiple of the block size; k/m suffix (4k)\n"
"  -q, --qd N            commands in flight (default 32)\n"
"  -t, --time SECONDS    duration (default 10)\n"
"  -j, --threads N       threads that start the load (default 1)\n"
"  -s, --span BYTES      limit I/O to the first BYTES of the LUN (default all)\n"
"      --verify          stamp every written block with its LBA and a\n"
"                        generation; check every read; stop at the first\n"
"                        mismatch (exit 3). Writes first fill the span.\n"
"      --roundtrip SIZES instead of a timed load: for each size in the comma\n"
"                        list (512..64m, k/m suffix), write random bytes\n"
"                        from three uneven iovecs, read them back into five\n"
"                        and compare every byte (exit 3 on a mismatch)\n"
"Session:\n"
"  -T, --transport NAME  io_uring or epoll (default: io_uring if available)\n"
"  -H, --header-digest   require CRC32C header digests\n"
"  -D, --data-digest     require CRC32C data digests\n"
"      --coalesce US     longest receive coalescing delay (default 500, 0 off)\n"
"      --readahead BYTES receive read-ahead (default 256k; 0: never copy data)\n"
"MC/S:\n"
"  -c, --connections N   connections in the session (default 1); the\n"
"                        per-connection counters are printed at the end\n"
"      --queues N        reactor threads (default 1)\n"
"      --sched POLICY    least-queue-depth (here the default: every\n"
"                        connection carries traffic, which the test scripts\n"
"                        check), adaptive (the library's default: as many\n"
"                        connections as measurably pay, from 1 up),\n"
"                        round-robin, failover-only, weighted-paths\n"
"      --remove-at SEC   remove the newest connection after SEC seconds of\n"
"                        load (Logout reason 1 while I/O runs)\n"
"      --add-extra       after the load started, ask for one connection\n"
"                        more than the session has and report the answer\n"
"      --add-at SEC      add one connection after SEC seconds of load\n"
"      --reset-at SEC    LUN RESET after SEC seconds of load; the commands\n"
"                        it ends (-ECANCELED, -ETIMEDOUT) are counted apart\n"
"                        and issued again (use with reads)\n"
"      --replacement-timeout MS  how long a lost session is reinstated before\n"
"                        its I/O fails (default 120000; 0: fail at once)\n"
"      --erl N           ErrorRecoveryLevel to offer (default 2)\n"
"      --erl2-cleanup HOW  ERL 2: reinstate (default), logout (reason 2 from\n"
"                        a survivor, then TASK REASSIGN) or close (reason 1\n"
"                        from a survivor, commands issued again)\n"
"      --time2wait S     DefaultTime2Wait to offer (default 2; the higher of\n"
"                        the two sides' wins)\n"
"      --time2retain S   DefaultTime2Retain to offer (default 20; the lower\n"
"                        wins)\n"
"      --no-quirks       offer exactly what is asked, even to targets known\n"
"                        to crash on it (LIO: ERL 2, see docs/design/recovery.md)\n"
"  -i, --initiator IQN   initiator name\n"
"  -Q, --quiet           no per-second progress\n"
"      --debug           every library message (debug level too) to stderr\n"
"  -h, --help            this text\n"
"\n"
"Exit status: 0 success, 1 usage, 2 session or I/O error, 3 data mismatch.\n";

enum mode { M_READ, M_WRITE, M_RANDREAD, M_RANDWRITE, M_RW };

#define HIST_BUCKETS 2048

struct perf;

struct slot {
	struct mcsi_cmd cmd;
	struct iovec iov;
	uint8_t *buf;
	struct perf *p;
	uint64_t start_ns, unit;
	uint32_t gen;
	bool write;
	uint64_t rng;
};

struct perf {
	mcsi_session *s;
	uint32_t lun, block, bs_blocks;
	uint64_t units;                  /* bs-sized units in the span */
	enum mode mode;
	unsigned mix, qd, threads;
	bool verify, quiet;
	_Atomic bool stop;
	_Atomic bool resetting;          /* --reset-at: a LUN RESET runs */
	_Atomic uint64_t ios, bytes, errors, inflight, reset_ended;
	_Atomic uint64_t seq;
	_Atomic uint64_t hist[HIST_BUCKETS];
	_Atomic uint32_t *gen;           /* verify: last completed generation */
	_Atomic uint8_t *busy;           /* verify: unit has a command */
	_Atomic uint32_t next_gen;
	_Atomic bool mismatch;
	char mismatch_msg[256];
	struct slot *slots;
	int first_err;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Log-linear histogram: 64 sub-buckets per power of two of nanoseconds. */
static unsigned hist_bucket(uint64_t ns)
{
	if (ns < 64)
		return (unsigned)ns;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns);       /* >= 6 */
	unsigned b = (e - 5u) * 64u + (unsigned)((ns >> (e - 6u)) & 63u);
	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

static uint64_t hist_value(unsigned b)
{
	if (b < 64)
		return b;
	unsigned e = b / 64u + 5u, m = b % 64u;
	return ((uint64_t)(64u + m)) << (e - 6u);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void stamp(struct perf *p, struct slot *sl)
{
	for (uint32_t i = 0; i < p->bs_blocks; i++) {
		uint8_t *b = sl->buf + (size_t)i * p->block;
		uint64_t lba = sl->unit * p->bs_blocks + i;
		memcpy(b, &lba, 8);
		memcpy(b + 8, &sl->gen, 4);
		memcpy(b + 12, "mcsi", 4);
		memset(b + 16, (int)(sl->gen & 0xff), p->block - 16);
	}
}

static void check(struct perf *p, struct slot *sl, uint32_t expect_gen)
{
	for (uint32_t i = 0; i < p->bs_blocks && expect_gen; i++) {
		const uint8_t *b = sl->buf + (size_t)i * p->block;
		uint64_t lba = sl->unit * p->bs_blocks + i, got_lba;
		uint32_t got_gen;
		memcpy(&got_lba, b, 8);
		memcpy(&got_gen, b + 8, 4);
		if (got_lba != lba || got_gen != expect_gen || memcmp(b + 12, "mcsi", 4)) {
			if (!atomic_exchange(&p->mismatch, true))
				snprintf(p->mismatch_msg, sizeof(p->mismatch_msg),
					 "verify: first mismatch at LBA %llu: expected "
					 "generation %u, found LBA %llu generation %u",
					 (unsigned long long)lba, expect_gen,
					 (unsigned long long)got_lba, got_gen);
			atomic_store(&p->stop, true);
			return;
		}
	}
}

static void on_done(struct mcsi_cmd *cmd, void *priv);

static int issue(struct perf *p, struct slot *sl)
{
	bool write;
	uint64_t unit;

	switch (p->mode) {
	case M_READ: write = false; break;
	case M_WRITE: write = true; break;
	case M_RANDREAD: write = false; break;
	case M_RANDWRITE: write = true; break;
	default: write = xorshift(&sl->rng) % 100 >= p->mix; break;
	}
	if (p->mode == M_READ || p->mode == M_WRITE)
		unit = atomic_fetch_add(&p->seq, 1) % p->units;
	else
		unit = xorshift(&sl->rng) % p->units;
	if (p->verify) {
		/* One command per unit at a time, so the expected generation
		 * is known when a read completes. */
		for (uint64_t k = 0; k < p->units; k++, unit = (unit + 1) % p->units)
			if (!atomic_exchange(&p->busy[unit], 1))
				break;
	}
	sl->unit = unit;
	sl->write = write;
	sl->iov = (struct iovec){ sl->buf, (size_t)p->bs_blocks * p->block };
	uint64_t lba = unit * p->bs_blocks;
	if (write) {
		if (p->verify) {
			sl->gen = atomic_fetch_add(&p->next_gen, 1);
			stamp(p, sl);
		}
		mcsi_prep_write(&sl->cmd, p->lun, lba, p->bs_blocks, &sl->iov, 1);
	} else {
		mcsi_prep_read(&sl->cmd, p->lun, lba, p->bs_blocks, &sl->iov, 1);
	}
	sl->cmd.done = on_done;
	sl->cmd.priv = sl;
	sl->start_ns = now_ns();
	atomic_fetch_add(&p->inflight, 1);
	int rc = mcsi_submit(p->s, &sl->cmd);
	if (rc < 0) {
		atomic_fetch_sub(&p->inflight, 1);
		if (p->verify)
			atomic_store(&p->busy[unit], 0);
	}
	return rc;
}

static void on_done(struct mcsi_cmd *cmd, void *priv)
{
	struct slot *sl = priv;
	struct perf *p = sl->p;
	uint64_t lat = now_ns() - sl->start_ns;

	if (cmd->res.err && atomic_load(&p->resetting) &&
	    (cmd->res.err == -ECANCELED || cmd->res.err == -ETIMEDOUT)) {
		atomic_fetch_add(&p->reset_ended, 1);  /* the reset ended it */
	} else if (cmd->res.err) {
		if (!atomic_fetch_add(&p->errors, 1))
			p->first_err = cmd->res.err;
		atomic_store(&p->stop, true);
	} else {
		atomic_fetch_add_explicit(&p->hist[hist_bucket(lat)], 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->ios, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&p->bytes, sl->iov.iov_len, memory_order_relaxed);
		if (p->verify) {
			if (sl->write)
				atomic_store(&p->gen[sl->unit], sl->gen);
			else
				check(p, sl, atomic_load(&p->gen[sl->unit]));
		}
	}
	if (p->verify)
		atomic_store(&p->busy[sl->unit], 0);
	atomic_fetch_sub(&p->inflight, 1);
	if (!atomic_load_explicit(&p->stop, memory_order_relaxed))
		issue(p, sl);
}

struct worker { struct perf *p; unsigned first, count; };

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < w->count; i++)
		issue(w->p, &w->p->slots[w->first + i]);
	return NULL;
}

static uint64_t percentile(struct perf *p, uint64_t total, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)total), n = 0;

	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		n += atomic_load(&p->hist[b]);
		if (n >= want && want)
			return hist_value(b);
	}
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}


static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s)
		return -1;
	if (*end == 'k' || *end == 'K') { v <<= 10; end++; }
	else if (*end == 'm' || *end == 'M') { v <<= 20; end++; }
	else if (*end == 'g' || *end == 'G') { v <<= 30; end++; }
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* Splits len bytes of buf into n uneven iovecs (lengths not multiples of
 * anything), so that segment and PDU boundaries fall inside them. */
static int split_iov(uint8_t *buf, size_t len, struct iovec *v, int n)
{
	size_t off = 0;
	int k = 0;

	for (int i = 0; i < n - 1 && off < len; i++) {
		size_t piece = len / (size_t)n + (size_t)(i * 7 + 3);
		if (piece > len - off)
			piece = len - off;
		v[k++] = (struct iovec){ buf + off, piece };
		off += piece;
	}
	if (off < len)
		v[k++] = (struct iovec){ buf + off, len - off };
	return k;
}

/* --roundtrip: write, read back, compare, for each size in turn, each at
 * its own LBA. Returns the exit status. */
static int roundtrip(struct perf *p, uint64_t blocks, const char *list)
{
	uint64_t lba = 0, rng = 0x243f6a8885a308d3ull;
	char *dup = strdup(list), *save = NULL;
	int status = 0;

	for (char *tok = strtok_r(dup, ",", &save); tok && !status;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t size;
		if (parse_size(tok, &size) || !size || size % p->block || size > (64u << 20)) {
			fprintf(stderr, "mcsi-perf: bad roundtrip size '%s' (block %u)\n",
				tok, p->block);
			status = 1;
			break;
		}
		uint32_t nb = (uint32_t)(size / p->block);
		if (lba + nb > blocks)
			lba = 0;
		uint8_t *w = malloc(size), *r = malloc(size);
		struct iovec wv[3], rv[5];
		struct mcsi_result res;
		if (!w || !r) {
			free(w);
			free(r);
			status = 2;
			break;
		}
		for (uint64_t i = 0; i < size; i++)
			w[i] = (uint8_t)(xorshift(&rng) >> 24);
		memset(r, 0xa5, size);
		int wn = split_iov(w, size, wv, 3), rn = split_iov(r, size, rv, 5);
		int rc = mcsi_writev(p->s, p->lun, lba, nb, wv, wn, &res);
		if (rc == 0)
			rc = mcsi_readv(p->s, p->lun, lba, nb, rv, rn, &res);
		if (rc < 0) {
			fprintf(stderr, "mcsi-perf: roundtrip %s at LBA %llu: %s (status 0x%02x, "
				"sense %x/%02x/%02x) %s\n", tok, (unsigned long long)lba,
				strerror(-rc), res.status, res.sense_key, res.asc, res.ascq,
				mcsi_last_error(p->s));
			status = 2;
		} else if (res.data_in != size) {
			fprintf(stderr, "mcsi-perf: roundtrip %s: %u bytes read back\n", tok,
				res.data_in);
			status = 3;
		} else {
			uint64_t i = 0;
			while (i < size && w[i] == r[i])
				i++;
			if (i < size) {
				fprintf(stderr, "mcsi-perf: roundtrip %s at LBA %llu: first "
					"mismatch at byte %llu\n", tok, (unsigned long long)lba,
					(unsigned long long)i);
				status = 3;
			} else {
				printf("roundtrip %s: %llu bytes ok\n", tok,
				       (unsigned long long)size);
			}
		}
		free(w);
		free(r);
		lba += nb + 8;        /* a gap, so that sizes never overlap */
	}
	free(dup);
	return status;
}

/* --verify with writes: fill the span first so every read has a known
 * generation. */
static int prefill(struct perf *p)
{
	struct slot *sl = &p->slots[0];
	for (uint64_t u = 0; u < p->units; u++) {
		sl->unit = u;
		sl->gen = atomic_fetch_add(&p->next_gen, 1);
		stamp(p, sl);
		int rc = mcsi_write(p->s, p->lun, u * p->bs_blocks, p->bs_blocks, sl->buf,
				    (size_t)p->bs_blocks * p->block, NULL);
		if (rc < 0)
			return rc;
		atomic_store(&p->gen[u], sl->gen);
	}
	return 0;
}

/* Session recovery is reported on stdout, one line per event, so that
 * tests can count reinstatements and their durations. */
static void on_event(mcsi_session *s, const struct mcsi_event *ev, void *priv)
{
	(void)s;
	(void)priv;
	switch (ev->type) {
	case MCSI_EV_SESSION_LOST:
		printf("event: session lost (%s)\n", strerror(-ev->err));
		break;
	case MCSI_EV_SESSION_REINSTATED:
		printf("event: session reinstated after %u ms\n", ev->param[0]);
		break;
	case MCSI_EV_SESSION_FAILED:
		printf("event: session failed (%s)\n", strerror(-ev->err));
		break;
	case MCSI_EV_CONN_ADDED:
		printf("event: connection %u added\n", ev->cid);
		break;
	case MCSI_EV_CONN_REMOVED:
		printf("event: connection %u removed\n", ev->cid);
		break;
	case MCSI_EV_CONN_RECOVERED:
		printf("event: connection %u recovered after %u ms by %s: %u reassigned, "
		       "%u retried or re-issued\n", ev->cid, ev->param[0],
		       ev->code == 1 ? "reinstatement" : "logout", ev->param[1], ev->param[2]);
		break;
	case MCSI_EV_CONN_FAILED:
		printf("event: connection %u failed (%s)\n", ev->cid,
		       ev->reason ? ev->reason : strerror(-ev->err));
		break;
	default:
		return;
	}
	fflush(stdout);
}

/* MC/S: how many connections the session has, and in *active how many
 * of them new commands go to (the adaptive policy's active set). */
static unsigned conns_active(struct perf *p, unsigned *active)
{
	struct mcsi_conn_stats cs[16];
	int n = mcsi_get_conn_stats(p->s, cs, 16);

	*active = 0;
	for (int i = 0; i < n && i < 16; i++)
		*active += cs[i].active;
	return n > 0 ? (unsigned)n : 0;
}

/* MC/S: one line per connection of the session. */
static void print_conns(struct perf *p)
{
	struct mcsi_conn_stats cs[16];
	int n = mcsi_get_conn_stats(p->s, cs, 16);

	for (int i = 0; i < n && i < 16; i++)
		printf("conn cid %u queue %u %s%s commands %llu bytes_in %llu bytes_out %llu "
		       "lat %.1f us portal %s%s\n", cs[i].cid, cs[i].queue,
		       mcsi_conn_state_name(cs[i].state), cs[i].lead ? " lead" : "",
		       (unsigned long long)cs[i].commands, (unsigned long long)cs[i].bytes_in,
		       (unsigned long long)cs[i].bytes_out,
		       cs[i].lat_count ? (double)cs[i].lat_sum_ns / (double)cs[i].lat_count / 1e3
				       : 0.0, cs[i].portal, cs[i].active ? " active" : "");
}

/* MC/S: the seconds at each number of connections in use (sampled once
 * a second) and their mean, e.g. "in use 1:37 2:2 3:1 mean 1.10". */
static void print_in_use(const uint64_t in_use[17])
{
	uint64_t n = 0, sum = 0;

	printf("in use");
	for (unsigned k = 0; k <= 16; k++) {
		if (!in_use[k])
			continue;
		printf(" %u:%llu", k, (unsigned long long)in_use[k]);
		n += in_use[k];
		sum += k * in_use[k];
	}
	printf(" mean %.2f\n", n ? (double)sum / (double)n : 0.0);
}

/* MC/S: removes the connection with the highest CID (never the last). */
static void remove_newest(struct perf *p)
{
	struct mcsi_conn_stats cs[16];
	int n = mcsi_get_conn_stats(p->s, cs, 16), best = -1;

	for (int i = 0; i < n && i < 16; i++)
		if (cs[i].state == 3 && !cs[i].lead && (best < 0 || cs[i].cid > cs[best].cid))
			best = i;
	if (best < 0) {
		printf("remove: no connection to remove\n");
		return;
	}
	uint64_t t0 = now_ns();
	int rc = mcsi_remove_connection(p->s, cs[best].cid);
	printf("remove: connection %u: %s\n", cs[best].cid, rc ? strerror(-rc) : "ok");
	/* The session pauses its commands during a removal: how long. */
	printf("remove: took %.1f ms\n", (double)(now_ns() - t0) / 1e6);
	fflush(stdout);
}

/* A LUN RESET under load: every command it ends comes back once, with
 * -ECANCELED (on any connection), and the session goes on. */
static void lun_reset(struct perf *p)
{
	uint64_t t0 = now_ns();

	atomic_store(&p->resetting, true);
	int rc = mcsi_lun_reset(p->s, p->lun);
	printf("reset: LUN RESET: %s\n", rc ? strerror(-rc) : "ok");
	printf("reset: took %.1f ms\n", (double)(now_ns() - t0) / 1e6);
	fflush(stdout);
	/* Stragglers: commands the reset ended complete by its return. */
	atomic_store(&p->resetting, false);
}

/* MC/S: asks for one more connection than the session has. */
static void extra_connection(struct perf *p)
{
	int rc = mcsi_add_connection(p->s, NULL);

	if (rc >= 0)
		printf("extra: connection %d added\n", rc);
	else
		printf("extra: refused (%s)\n", strerror(-rc));
	fflush(stdout);
}

/* --debug: every library message, debug included, to stderr. */
static void log_all(void *priv, int level, const char *msg)
{
	(void)priv;
	fprintf(stderr, "mcsi[%d]: %s\n", level, msg);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mode", 1, 0, 'm' }, { "mix", 1, 0, 'M' }, { "bs", 1, 0, 'b' },
		{ "qd", 1, 0, 'q' }, { "time", 1, 0, 't' }, { "threads", 1, 0, 'j' },
		{ "span", 1, 0, 's' }, { "verify", 0, 0, 'V' }, { "transport", 1, 0, 'T' },
		{ "header-digest", 0, 0, 'H' }, { "data-digest", 0, 0, 'D' },
		{ "initiator", 1, 0, 'i' }, { "quiet", 0, 0, 'Q' }, { "help", 0, 0, 'h' },
		{ "coalesce", 1, 0, 'C' }, { "readahead", 1, 0, 'R' },
		{ "roundtrip", 1, 0, 'X' }, { "replacement-timeout", 1, 0, 'P' },
		{ "erl", 1, 0, 'E' }, { "connections", 1, 0, 'c' }, { "queues", 1, 0, 'U' },
		{ "sched", 1, 0, 'S' }, { "remove-at", 1, 0, 'Y' }, { "reset-at", 1, 0, 'K' }, { "add-extra", 0, 0, 'A' },
		{ "add-at", 1, 0, 'Z' }, { "erl2-cleanup", 1, 0, 'G' }, { "debug", 0, 0, 'W' },
		{ "time2wait", 1, 0, '2' }, { "time2retain", 1, 0, '3' },
		{ "no-quirks", 0, 0, '4' },
		{ 0, 0, 0, 0 },
	};
	static struct perf P = { .mode = M_RANDREAD, .mix = 50, .qd = 32, .threads = 1 };
	struct perf *p = &P;
	struct mcsi_opts o;
	uint64_t bs = 4096, span = 0, secs = 10;
	const char *roundtrip_list = NULL;
	uint64_t remove_at = 0, add_at = 0, reset_at = 0;
	bool add_extra = false;
	int c, rc;

	mcsi_opts_init(&o);
	o.event = on_event;
	/* Not the library's default (adaptive): the interop scripts run
	 * mcsi-perf -c N to exercise every connection. */
	o.sched_policy = "least-queue-depth";
	while ((c = getopt_long(argc, argv, "m:M:b:q:t:j:s:T:HDi:Qhc:", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "read")) p->mode = M_READ;
			else if (!strcmp(optarg, "write")) p->mode = M_WRITE;
			else if (!strcmp(optarg, "randread")) p->mode = M_RANDREAD;
			else if (!strcmp(optarg, "randwrite")) p->mode = M_RANDWRITE;
			else if (!strcmp(optarg, "rw")) p->mode = M_RW;
			else goto bad;
			break;
		case 'M': p->mix = (unsigned)atoi(optarg); if (p->mix > 100) goto bad; break;
		case 'b': if (parse_size(optarg, &bs) || !bs) goto bad; break;
		case 'q': p->qd = (unsigned)atoi(optarg); if (!p->qd) goto bad; break;
		case 't': secs = strtoull(optarg, NULL, 0); if (!secs) goto bad; break;
		case 'j': p->threads = (unsigned)atoi(optarg); if (!p->threads) goto bad; break;
		case 's': if (parse_size(optarg, &span)) goto bad; break;
		case 'V': p->verify = true; break;
		case 'T': o.transport = optarg; break;
		case 'H': o.header_digest = true; break;
		case 'D': o.data_digest = true; break;
		case 'i': o.initiator_name = optarg; break;
		case 'C': o.coalesce_us = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'R': {
			uint64_t ra;
			if (parse_size(optarg, &ra) || ra > (1u << 20)) goto bad;
			o.rx_readahead = (unsigned)ra;
			break;
		}
		case 'Q': p->quiet = true; break;
		case 'W': o.log = log_all; break;
		case 'P': o.replacement_timeout_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'E': o.error_recovery_level = (unsigned)strtoul(optarg, NULL, 0); break;
		case '2': o.time2wait_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case '3': o.time2retain_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case '4': o.quirks = MCSI_QUIRKS_OFF; break;
		case 'G':
			if (!strcmp(optarg, "reinstate"))
				o.erl2_cleanup = MCSI_ERL2_REINSTATE;
			else if (!strcmp(optarg, "logout"))
				o.erl2_cleanup = MCSI_ERL2_LOGOUT;
			else if (!strcmp(optarg, "close"))
				o.erl2_cleanup = MCSI_ERL2_CLOSE;
			else
				goto bad;
			break;
		case 'c': o.connections = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'U': o.queues = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': o.sched_policy = optarg; break;
		case 'Y': remove_at = strtoull(optarg, NULL, 0); break;
		case 'K': reset_at = strtoull(optarg, NULL, 0); break;
		case 'A': add_extra = true; break;
		case 'Z': add_at = strtoull(optarg, NULL, 0); break;
		case 'X': roundtrip_list = optarg; break;
		case 'h': printf(usage); return 0;
		default: goto bad;
		}
	}
	if (optind != argc - 1)
		goto bad;
	if (p->threads > p->qd)
		p->threads = p->qd;
	o.queue_depth = p->qd + 8;
	if ((rc = mcsi_open(argv[optind], &o, &p->s)) < 0) {
		fprintf(stderr, "mcsi-perf: cannot open %s: %s\n", argv[optind], strerror(-rc));
		return 2;
	}
	p->lun = mcsi_default_lun(p->s);
	uint64_t blocks;
	if ((rc = mcsi_read_capacity(p->s, p->lun, &blocks, &p->block)) < 0 || !p->block) {
		fprintf(stderr, "mcsi-perf: READ CAPACITY failed: %s\n", strerror(-rc));
		mcsi_close(p->s);
		return 2;
	}
	if (roundtrip_list) {
		rc = roundtrip(p, blocks, roundtrip_list);
		mcsi_close(p->s);
		return rc;
	}
	if (bs % p->block || bs > (64u << 20)) {
		fprintf(stderr, "mcsi-perf: --bs must be a multiple of the block size %u\n", p->block);
		mcsi_close(p->s);
		return 1;
	}
	p->bs_blocks = (uint32_t)(bs / p->block);
	uint64_t lun_bytes = blocks * p->block;
	p->units = (span && span < lun_bytes ? span : lun_bytes) / bs;
	if (!p->units) {
		fprintf(stderr, "mcsi-perf: the LUN is smaller than one I/O\n");
		mcsi_close(p->s);
		return 1;
	}
	p->slots = calloc(p->qd, sizeof(*p->slots));
	if (p->verify) {
		p->gen = calloc(p->units, sizeof(*p->gen));
		p->busy = calloc(p->units, 1);
		atomic_store(&p->next_gen, 1);
	}
	for (unsigned i = 0; i < p->qd; i++) {
		struct slot *sl = &p->slots[i];
		sl->p = p;
		sl->rng = 0x9e3779b97f4a7c15ull * (i + 1);
		/* Pre-fault the buffers: a first touch costs more than an I/O. */
		if (posix_memalign((void **)&sl->buf, 4096, bs))
			return 2;
		memset(sl->buf, 0, bs);
	}
	if (p->verify && p->mode != M_READ && p->mode != M_RANDREAD && (rc = prefill(p)) < 0) {
		fprintf(stderr, "mcsi-perf: verify prefill failed: %s (%s)\n", strerror(-rc),
			mcsi_last_error(p->s));
		mcsi_close(p->s);
		return 2;
	}
	printf("mcsi-perf: %s, bs %llu, qd %u, %llu s, LUN %u: %llu blocks of %u\n",
	       argv[optind], (unsigned long long)bs, p->qd, (unsigned long long)secs,
	       p->lun, (unsigned long long)blocks, p->block);
	double cpu0 = cpu_seconds();
	uint64_t t0 = now_ns(), last_ios = 0;
	pthread_t th[64];
	struct worker w[64];
	unsigned nth = p->threads > 64 ? 64 : p->threads, first = 0;
	for (unsigned i = 0; i < nth; i++) {
		w[i] = (struct worker){ p, first, p->qd / nth + (i < p->qd % nth) };
		first += w[i].count;
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (unsigned i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	/* MC/S: the seconds spent at each number of connections in use. */
	uint64_t in_use[17] = { 0 };
	unsigned all_max = 0;
	for (uint64_t sec = 1; sec <= secs && !atomic_load(&p->stop); sec++) {
		uint64_t until = t0 + sec * 1000000000ull;
		while (now_ns() < until && !atomic_load(&p->stop))
			usleep(100000);
		uint64_t ios = atomic_load(&p->ios);
		unsigned act, all = conns_active(p, &act);
		in_use[act < 16 ? act : 16]++;
		all_max = all > all_max ? all : all_max;
		if (!p->quiet) {
			printf("[%3llus] %9llu IOPS %9.1f MiB/s", (unsigned long long)sec,
			       (unsigned long long)(ios - last_ios),
			       (double)(ios - last_ios) * (double)bs / 1048576.0);
			if (all > 1)
				printf("  connections in use %u of %u", act, all);
			printf("\n");
		}
		fflush(stdout);
		last_ios = ios;
		if (add_extra && sec == 1)
			extra_connection(p);
		if (remove_at && sec == remove_at)
			remove_newest(p);
		if (reset_at && sec == reset_at)
			lun_reset(p);
		if (add_at && sec == add_at)
			extra_connection(p);
	}
	atomic_store(&p->stop, true);
	while (atomic_load(&p->inflight) > 0)
		usleep(1000);
	double el = (double)(now_ns() - t0) / 1e9;
	double cpu = cpu_seconds() - cpu0;
	uint64_t ios = atomic_load(&p->ios);
	struct mcsi_stats st;
	mcsi_get_stats(p->s, &st);
	printf("ios %llu  IOPS %.0f  MiB/s %.1f  lat p50 %.1f us  p99 %.1f us  p99.9 %.1f us\n",
	       (unsigned long long)ios, (double)ios / el,
	       (double)atomic_load(&p->bytes) / el / 1048576.0,
	       (double)percentile(p, ios, 0.50) / 1e3, (double)percentile(p, ios, 0.99) / 1e3,
	       (double)percentile(p, ios, 0.999) / 1e3);
	printf("cpu %.2f s  %.2f us/io  transport %s  send calls %llu  recv calls %llu  "
	       "PDUs in %llu out %llu\n",
	       cpu, ios ? cpu * 1e6 / (double)ios : 0.0, st.transport,
	       (unsigned long long)st.syscalls_send, (unsigned long long)st.syscalls_recv,
	       (unsigned long long)st.pdus_in, (unsigned long long)st.pdus_out);
	print_conns(p);
	if (all_max > 1)
		print_in_use(in_use);
	if (reset_at)
		printf("reset: %llu commands ended by the reset, issued again\n",
		       (unsigned long long)atomic_load(&p->reset_ended));
	int status = 0;
	if (atomic_load(&p->errors)) {
		fprintf(stderr, "mcsi-perf: %llu I/O errors, first %s (%s)\n",
			(unsigned long long)atomic_load(&p->errors), strerror(-p->first_err),
			mcsi_last_error(p->s));
		status = 2;
	}
	if (atomic_load(&p->mismatch)) {
		fprintf(stderr, "mcsi-perf: %s\n", p->mismatch_msg);
		status = 3;
	} else if (p->verify) {
		printf("verify: no mismatch\n");
	}
	mcsi_close(p->s);
	return status;
bad:
	fprintf(stderr, usage);
	return 1;
}
