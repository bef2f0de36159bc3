/* SPDX-License-Identifier: MIT */
#include "tools/iscsictl/ctx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ictx_open(struct ictx *x, const struct ctl_opts *o)
{
	struct cfg_error err = { 0 };
	bool generated = false;

	memset(x, 0, sizeof(*x));
	x->opts = o;
	snprintf(x->cfg_path, sizeof(x->cfg_path), "%s", cfg_path(o->config_path));
	int rc = cfg_open(x->cfg_path, &x->cfg, &generated, &err);
	if (rc) {
		fprintf(stderr, "iscsictl: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		return rc;
	}
	if (generated)
		fprintf(stderr, "iscsictl: generated initiator name %s in %s\n",
			x->cfg->initiator.node_name, x->cfg_path);
	rc = secrets_path(x->cfg_path, x->sec_path,
			  sizeof(x->sec_path));
	if (rc) {
		fprintf(stderr, "iscsictl: secrets path: %s\n", strerror(-rc));
		cfg_destroy(x->cfg);
		x->cfg = NULL;
	}
	return rc;
}

int ictx_secrets(struct ictx *x)
{
	struct cfg_error err = { 0 };

	if (x->sec)
		return 0;
	int rc = secrets_load(x->sec_path, &x->sec, &err);
	if (rc == -ENOENT) {
		x->sec_missing = true;
		return secrets_create(&x->sec);
	}
	if (rc)
		fprintf(stderr, "iscsictl: %s\n", err.msg[0] ? err.msg : strerror(-rc));
	return rc;
}

int ictx_save_cfg(struct ictx *x)
{
	struct cfg_error err = { 0 };
	int rc = cfg_save(x->cfg, x->cfg_path, &err);
	if (rc)
		fprintf(stderr, "iscsictl: cannot save %s: %s\n", x->cfg_path,
			err.msg[0] ? err.msg : strerror(-rc));
	return rc;
}

int ictx_save_secrets(struct ictx *x)
{
	struct cfg_error err = { 0 };
	int rc = secrets_save(x->sec, x->sec_path, &err);
	if (rc)
		fprintf(stderr, "iscsictl: cannot save the secrets: %s\n",
			err.msg[0] ? err.msg : strerror(-rc));
	return rc;
}

void ictx_close(struct ictx *x)
{
	if (x->sec)
		secrets_destroy(x->sec);
	if (x->cfg)
		cfg_destroy(x->cfg);
	x->sec = NULL;
	x->cfg = NULL;
}
