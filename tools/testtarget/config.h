/* SPDX-License-Identifier: MIT */
/*
 * Command line and configuration file. The file holds the same options,
 * one per line without the leading dashes ("lun 0:ram:64M"); '#' starts a
 * comment. Strings in struct tt_config point into argv or into lines the
 * config keeps until config_free().
 */
#ifndef TT_CONFIG_H
#define TT_CONFIG_H

#include <stdio.h>

#include "tt.h"

/* Parses argv into cfg (zeroed by the caller). Returns 0, 1 when --help
 * was printed, or -EINVAL after printing the problem to stderr. */
int config_parse(struct tt_config *cfg, int argc, char **argv);
/* Frees what config_parse() allocated (LUNs included). */
void config_free(struct tt_config *cfg);
void config_usage(FILE *out);

/* Parses "a.b.c.d[:port]", "[v6][:port]" or "host" with default port into
 * a portal (fd = -1). Returns 0 or -EINVAL. */
int config_parse_portal(const char *s, uint16_t default_port, struct tt_portal *pt);

#endif
