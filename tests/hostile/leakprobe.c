/* SPDX-License-Identifier: MIT */
/* Process probes and test-target control for the leak checks: leakprobe.h. */
#include "leakprobe.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

long leakprobe_status(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

int leakprobe_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;   /* the directory stream itself */
}

double leakprobe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void leakprobe_take(struct leakprobe_sample *s)
{
	s->rss_kb = leakprobe_status("VmRSS");
	s->fds = leakprobe_fds();
	s->threads = (int)leakprobe_status("Threads");
}

bool leakprobe_bounded(const char *phase, const struct leakprobe_sample *base,
		       const struct leakprobe_sample *mid,
		       const struct leakprobe_sample *end, long max_growth_kb)
{
	bool ok = true;
	long growth = end->rss_kb - base->rss_kb;
	long first = mid->rss_kb - base->rss_kb, second = end->rss_kb - mid->rss_kb;

	if (end->fds != base->fds || mid->fds != base->fds) {
		printf("FAIL %s: open file descriptors changed (%d -> %d -> %d)\n", phase,
		       base->fds, mid->fds, end->fds);
		ok = false;
	}
	if (growth > max_growth_kb) {
		printf("FAIL %s: RSS grew by %ld KiB (bound %ld)\n", phase, growth,
		       max_growth_kb);
		ok = false;
	}
	if (second > 1024 && first > 1024 && second * 2 > first * 3) {
		printf("FAIL %s: RSS still growing (%ld KiB, then %ld KiB)\n", phase,
		       first, second);
		ok = false;
	}
	return ok;
}

int leakprobe_tt(const char *path, const char *cmd, char *reply, size_t cap)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char own[128];
	int fd, rc = -1;

	if (!reply || cap == 0) {
		reply = own;
		cap = sizeof(own);
	}
	reply[0] = '\0';
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd)) {
		ssize_t n = read(fd, reply, cap - 1);
		if (n > 0) {
			reply[n] = '\0';
			rc = strncmp(reply, "ok", 2) == 0 ? 0 : -1;
		}
	}
	close(fd);
	return rc;
}
