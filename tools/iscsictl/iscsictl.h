/* SPDX-License-Identifier: MIT */
/* iscsictl: shared declarations of the verbs. */
#ifndef MCSI_ISCSICTL_H
#define MCSI_ISCSICTL_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct ctl_opts {
	const char *config_path;   /* NULL: default or $MCSI_CONFIG */
	bool json;
	int timeout_ms;
	bool verbose;
};

/* Each verb gets the arguments after its name and returns an exit code. */
int cmd_discover(const struct ctl_opts *o, int argc, char **argv);
int cmd_probe(const struct ctl_opts *o, int argc, char **argv);
int cmd_login(const struct ctl_opts *o, int argc, char **argv);
int cmd_logout(const struct ctl_opts *o, int argc, char **argv);
int cmd_list(const struct ctl_opts *o, int argc, char **argv);
int cmd_add(const struct ctl_opts *o, int argc, char **argv);
int cmd_remove(const struct ctl_opts *o, int argc, char **argv);
int cmd_modify(const struct ctl_opts *o, int argc, char **argv);
/* cmd_mount.c: LUNs as mounted filesystems (through mcsid and kern/). */
int cmd_mount(const struct ctl_opts *o, int argc, char **argv);
int cmd_unmount(const struct ctl_opts *o, int argc, char **argv);
/* logout as the verb runs it: the target's filesystems are unmounted
 * first (written back, cache flushed), then cmd_logout(). */
int cmd_logout_unmount(const struct ctl_opts *o, int argc, char **argv);

void help_print(FILE *f, const char *verb);
/* Prints "iscsictl: <message>" to stderr. */
void ctl_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
