/* SPDX-License-Identifier: MIT */
/* iscsictl: the configuration and secrets a verb works on. */
#ifndef MCSI_ISCSICTL_CTX_H
#define MCSI_ISCSICTL_CTX_H

#include <limits.h>
#include <stdbool.h>

#include "supervisor/config.h"
#include "supervisor/secrets.h"
#include "tools/iscsictl/iscsictl.h"

struct ictx {
	const struct ctl_opts *opts;
	struct cfg *cfg;
	struct secrets *sec;           /* NULL until ictx_secrets() */
	char cfg_path[PATH_MAX];
	char sec_path[PATH_MAX];
	bool sec_missing;              /* no secrets file yet */
};

/* Loads the configuration (creating defaults and a node name when there is
 * none). Prints the error and returns -errno on failure. */
int ictx_open(struct ictx *x, const struct ctl_opts *o);
/* Loads the secrets file on first use. Returns 0 or -errno (printed). */
int ictx_secrets(struct ictx *x);
int ictx_save_cfg(struct ictx *x);
int ictx_save_secrets(struct ictx *x);
void ictx_close(struct ictx *x);

#endif
