/* SPDX-License-Identifier: MIT */
/*
 * mcsi-hostile-client: drives one session through the public API against a
 * (possibly hostile) target for tests/interop/test_hostile_*.sh, and
 * optionally a second, healthy session in the same process whose data is
 * verified all along: a misbehaving peer must not disturb another session.
 *
 * Every line it prints is for the test to grep; mcsi's own log lines (with
 * the peer's address and the reason) go to stderr as usual.
 *
 * Exit status: 0 every I/O succeeded, 1 an I/O failed (the expected outcome
 * against a hostile target), 2 the session could not be opened, 3 the
 * healthy session saw an error or wrong data, 4 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcsi/mcsi.h"

static const char usage[] =
"usage: mcsi-hostile-client [options] URL\n"
"  --op verify|read|write|open   what to run on URL (default verify:\n"
"                                write a pattern, read it back, compare)\n"
"  --iterations N                rounds of --op (default 4)\n"
"  --blocks N                    blocks per command (default 16)\n"
"  --timeout MS                  command timeout (default 3000)\n"
"  --nop MS                      NOP-Out interval (default 0: off)\n"
"  --pause MS                    sleep between rounds (default 0)\n"
"  --healthy URL                 a second session, verified meanwhile\n"
"  --hold MS                     keep the healthy session busy at least\n"
"                                this long (default 1000)\n"
"  --chap USER:SECRET, --mutual USER:SECRET   CHAP credentials\n"
"  --digest                      ask for header and data digests\n";

struct healthy {
	mcsi_session *s;
	uint32_t block;
	_Atomic bool stop;
	uint64_t verified, errors, mismatches;
	char first_error[256];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Stamps each block with its LBA, the round and a tag, so that a block
 * written elsewhere, by another round or by another session, shows. */
static void fill(uint8_t *buf, uint64_t lba, uint32_t nblocks, uint32_t block,
		 uint32_t round, uint32_t tag)
{
	for (uint32_t b = 0; b < nblocks; b++) {
		uint8_t *p = buf + (size_t)b * block;
		for (uint32_t i = 0; i < block; i += 4) {
			uint32_t v = (uint32_t)(lba + b) * 2654435761u ^ round * 40503u ^
				     tag ^ i;
			memcpy(p + i, &v, 4);
		}
		snprintf((char *)p, 48, "lba=%llu round=%u tag=%u",
			 (unsigned long long)(lba + b), round, tag);
	}
}

static void *healthy_run(void *arg)
{
	struct healthy *h = arg;
	const uint32_t n = 8;
	size_t len = (size_t)n * h->block;
	uint8_t *w = malloc(len), *r = malloc(len);
	uint32_t round = 0;

	if (!w || !r) {
		h->errors++;
		goto out;
	}
	while (!atomic_load(&h->stop)) {
		uint64_t lba = (round * 37u) % 1024u * n;
		struct mcsi_result res;
		fill(w, lba, n, h->block, round, 0x4ea1);
		int rc = mcsi_write(h->s, 0, lba, n, w, len, &res);
		if (rc == 0)
			rc = mcsi_read(h->s, 0, lba, n, r, len, &res);
		if (rc) {
			if (!h->errors++)
				snprintf(h->first_error, sizeof(h->first_error), "%s (%s)",
					 strerror(-rc), mcsi_last_error(h->s));
		} else if (memcmp(w, r, len) != 0) {
			if (!h->mismatches++)
				snprintf(h->first_error, sizeof(h->first_error),
					 "data mismatch at LBA %llu", (unsigned long long)lba);
		} else {
			h->verified++;
		}
		round++;
	}
out:
	free(w);
	free(r);
	return NULL;
}

static int split_cred(char *arg, const char **user, const char **secret)
{
	char *c = strchr(arg, ':');
	if (!c)
		return -1;
	*c = '\0';
	*user = arg;
	*secret = c + 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "op", required_argument, NULL, 'o' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "nop", required_argument, NULL, 'N' },
		{ "pause", required_argument, NULL, 'p' },
		{ "healthy", required_argument, NULL, 'H' },
		{ "hold", required_argument, NULL, 'h' },
		{ "chap", required_argument, NULL, 'c' },
		{ "mutual", required_argument, NULL, 'm' },
		{ "digest", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *op = "verify", *healthy_url = NULL;
	unsigned iterations = 4, blocks = 16, hold = 1000, pause = 0;
	struct mcsi_opts o;
	int c;

	mcsi_opts_init(&o);
	o.cmd_timeout_ms = 3000;
	o.nop_interval_ms = 0;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'o': op = optarg; break;
		case 'n': iterations = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': blocks = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': o.cmd_timeout_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'N': o.nop_interval_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'H': healthy_url = optarg; break;
		case 'p': pause = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h': hold = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c':
			if (split_cred(optarg, &o.chap_user, &o.chap_secret))
				goto bad;
			break;
		case 'm':
			if (split_cred(optarg, &o.chap_target_user, &o.chap_target_secret))
				goto bad;
			break;
		case 'd': o.header_digest = o.data_digest = true; break;
		default: goto bad;
		}
	}
	if (optind != argc - 1 || blocks == 0 || blocks > 65536)
		goto bad;

	/* The healthy session first, busy before the attack starts. */
	struct healthy h = { 0 };
	pthread_t ht;
	bool have_healthy = false;
	uint64_t started = now_ms();
	if (healthy_url) {
		struct mcsi_opts ho;
		uint64_t nb;
		mcsi_opts_init(&ho);
		ho.cmd_timeout_ms = 10000;
		int rc = mcsi_open(healthy_url, &ho, &h.s);
		if (rc == 0)
			rc = mcsi_read_capacity(h.s, 0, &nb, &h.block);
		if (rc) {
			printf("healthy: cannot open: %s\n", strerror(-rc));
			mcsi_close(h.s);
			return 3;
		}
		if (pthread_create(&ht, NULL, healthy_run, &h) != 0) {
			mcsi_close(h.s);
			return 3;
		}
		have_healthy = true;
	}

	int status = 0;
	mcsi_session *s = NULL;
	int rc = mcsi_open(argv[optind], &o, &s);
	if (rc) {
		printf("open: failed: %s (%d)\n", strerror(-rc), rc);
		status = 2;
		goto healthy_end;
	}
	printf("open: ok\n");
	if (strcmp(op, "open") == 0)
		goto done;

	uint64_t nblocks = 0;
	uint32_t block = 512;
	rc = mcsi_read_capacity(s, 0, &nblocks, &block);
	if (rc) {
		printf("io: read capacity: error %s\n", strerror(-rc));
		status = 1;
		goto done;
	}
	size_t len = (size_t)blocks * block;
	uint8_t *w = malloc(len), *r = malloc(len);
	if (!w || !r) {
		free(w);
		free(r);
		status = 1;
		goto done;
	}
	for (unsigned i = 0; i < iterations && status == 0; i++) {
		uint64_t lba = (uint64_t)i * blocks % (nblocks > blocks ? nblocks - blocks : 1);
		struct mcsi_result res;
		bool do_write = strcmp(op, "write") == 0 || strcmp(op, "verify") == 0;
		bool do_read = strcmp(op, "read") == 0 || strcmp(op, "verify") == 0;
		fill(w, lba, blocks, block, i, 0xe71);
		if (do_write) {
			rc = mcsi_write(s, 0, lba, blocks, w, len, &res);
			if (rc) {
				printf("io %u: write error %s (%d)\n", i, strerror(-rc), rc);
				status = 1;
				break;
			}
		}
		if (do_read) {
			memset(r, 0xa5, len);
			rc = mcsi_read(s, 0, lba, blocks, r, len, &res);
			if (rc) {
				printf("io %u: read error %s (%d)\n", i, strerror(-rc), rc);
				status = 1;
				break;
			}
			if (do_write && memcmp(w, r, len) != 0) {
				printf("io %u: read back differs\n", i);
				status = 1;
				break;
			}
		}
		printf("io %u: ok\n", i);
		if (pause)
			usleep(pause * 1000u);
	}
	free(w);
	free(r);
done:
	printf("last_error: %s\n", mcsi_last_error(s));
	struct mcsi_stats st;
	if (mcsi_get_stats(s, &st) == 0)
		printf("stats: pdus_in %llu nops_in %llu timeouts %llu\n",
		       (unsigned long long)st.pdus_in, (unsigned long long)st.nops_in,
		       (unsigned long long)st.timeouts);
	rc = mcsi_close(s);
	printf("close: %s\n", rc ? strerror(-rc) : "ok");
healthy_end:
	if (have_healthy) {
		while (now_ms() - started < hold)
			usleep(20000);
		atomic_store(&h.stop, true);
		pthread_join(ht, NULL);
		printf("healthy: verified %llu errors %llu mismatches %llu%s%s\n",
		       (unsigned long long)h.verified, (unsigned long long)h.errors,
		       (unsigned long long)h.mismatches, h.first_error[0] ? ": " : "",
		       h.first_error);
		mcsi_close(h.s);
		if (h.errors || h.mismatches || h.verified == 0)
			status = 3;
	}
	return status;
bad:
	fputs(usage, stderr);
	return 4;
}
