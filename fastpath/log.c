/* SPDX-License-Identifier: MIT */
#include "fastpath/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int log_enabled(enum log_level lvl)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *env = getenv("MCSI_LOG");
	int threshold = LOG_INFO;

	if (env) {
		for (int i = 0; i < 4; i++)
			if (strcmp(env, names[i]) == 0)
				threshold = i;
	}
	return (int)lvl <= threshold;
}

void log_msg(enum log_level lvl, const char *peer, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };
	char line[1024];
	int n = 0;

	if (!log_enabled(lvl))
		return;
	n = snprintf(line, sizeof(line), "mcsi: %s: ", tags[lvl]);
	if (peer && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s: ", peer);
	if (n < (int)sizeof(line)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* One write per line so that lines from threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}
