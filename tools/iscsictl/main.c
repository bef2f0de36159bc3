/* SPDX-License-Identifier: MIT */
/* iscsictl: the command line of the mcsi initiator. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcsi/version.h"
#include "tools/iscsictl/iscsictl.h"

void ctl_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fputs("iscsictl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'iscsictl help%s%s')\n", verb ? " " : "",
		verb ? verb : "");
}

struct verb {
	const char *name;
	int (*fn)(const struct ctl_opts *, int, char **);
};

static const struct verb verbs[] = {
	{ "discover", cmd_discover }, { "probe", cmd_probe },
	{ "login", cmd_login },       { "logout", cmd_logout_unmount },
	{ "list", cmd_list },         { "add", cmd_add },
	{ "remove", cmd_remove },     { "modify", cmd_modify },
	{ "mount", cmd_mount },       { "unmount", cmd_unmount },
};

int main(int argc, char **argv)
{
	struct ctl_opts o = { .timeout_ms = 15000 };
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o.verbose = true;
			setenv("MCSI_LOG", "debug", 1);
		} else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
			o.config_path = argv[++i];
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 100 || v > 600000) {
				ctl_usage_error(NULL, "--timeout takes 100 to 600000 ms");
				return EXIT_USAGE;
			}
			o.timeout_ms = (int)v;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help_print(stdout, NULL);
			return EXIT_OK;
		} else if (strcmp(a, "--version") == 0) {
			printf("iscsictl (mcsi) %s\n", mcsi_version());
			return EXIT_OK;
		} else {
			ctl_usage_error(NULL, "unknown option '%s'", a);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		help_print(stderr, NULL);
		return EXIT_USAGE;
	}
	const char *name = argv[i];
	/* Global options may also follow the verb's arguments. */
	int n = 0;
	char **rest = argv + i + 1;
	for (int j = i + 1; j < argc; j++) {
		if (strcmp(argv[j], "--json") == 0)
			o.json = true;
		else if (strcmp(argv[j], "--config") == 0 && j + 1 < argc)
			o.config_path = argv[++j];
		else
			rest[n++] = argv[j];
	}
	if (strcmp(name, "help") == 0) {
		help_print(stdout, n > 0 ? rest[0] : NULL);
		return EXIT_OK;
	}
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		if (strcmp(verbs[v].name, name) == 0) {
			if (n > 0 && (strcmp(rest[0], "--help") == 0 ||
				      strcmp(rest[0], "-h") == 0)) {
				help_print(stdout, name);
				return EXIT_OK;
			}
			return verbs[v].fn(&o, n, rest);
		}
	}
	ctl_usage_error(NULL, "unknown verb '%s'", name);
	return EXIT_USAGE;
}
