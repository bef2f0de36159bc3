/* SPDX-License-Identifier: MIT */
/*
 * What the leak checks (leak_cycles.c, leak_erl.c) read of their own
 * process and how they steer the test target: /proc/self status fields and
 * open descriptors, a monotonic clock, one command to mcsi-testtarget's
 * control socket. Under ASan a small quarantine makes RSS meaningful
 * (LEAKPROBE_ASAN_OPTIONS in each program: the hook must live in the
 * executable).
 */
#ifndef MCSI_TESTS_LEAKPROBE_H
#define MCSI_TESTS_LEAKPROBE_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define LEAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_ASAN 1
#endif
#endif

#ifdef LEAK_ASAN
/* A small quarantine, so that freed memory is reused and RSS means
 * something under ASan too (ASAN_OPTIONS from the environment still
 * overrides this). */
#define LEAKPROBE_ASAN_OPTIONS                                                   \
	const char *__asan_default_options(void);                               \
	const char *__asan_default_options(void)                                \
	{                                                                       \
		return "quarantine_size_mb=4:thread_local_quarantine_size_kb=64"; \
	}
#else
#define LEAKPROBE_ASAN_OPTIONS
#endif

/* What every leak check samples of its process. */
struct leakprobe_sample {
	long rss_kb;
	int fds, threads;
};

/* Fills s from /proc/self (a field it cannot read is -1). */
void leakprobe_take(struct leakprobe_sample *s);

/* The verdicts both checks share over a phase's samples, taken after its
 * warm-up (base), halfway (mid) and at its end: open descriptors back to
 * the base count, RSS grown by at most max_growth_kb, and RSS not still
 * growing (a steady leak grows in both halves, allocator warm-up only in
 * the first). Prints one FAIL line per broken bound, naming phase; true
 * when all hold. The thread count is each program's own check. */
bool leakprobe_bounded(const char *phase, const struct leakprobe_sample *base,
		       const struct leakprobe_sample *mid,
		       const struct leakprobe_sample *end, long max_growth_kb);

/* A numeric field of /proc/self/status ("VmRSS" in kB, "Threads"), or -1. */
long leakprobe_status(const char *name);

/* Open file descriptors of this process, or -1. */
int leakprobe_fds(void);

/* Seconds on the monotonic clock. */
double leakprobe_now(void);

/* Sends cmd (one line) to the test target's control socket at path; its
 * answer goes to reply (cap bytes, may be NULL). Returns 0 when the answer
 * starts with "ok", -1 otherwise. */
int leakprobe_tt(const char *path, const char *cmd, char *reply, size_t cap);

#endif
