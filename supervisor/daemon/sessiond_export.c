/* SPDX-License-Identifier: MIT */
/* The default export: LUNs stay reachable only through the session. */
#include "supervisor/daemon/sessiond_export.h"

static int none_create(const char *target, void **priv)
{
	(void)target;
	*priv = NULL;
	return 0;
}

static int none_attach(void *priv, mcsi_session *s, const struct sd_lun *luns,
		       size_t n)
{
	(void)priv; (void)s; (void)luns; (void)n;
	return 0;
}

static int none_update(void *priv, const struct sd_lun *luns, size_t n)
{
	(void)priv; (void)luns; (void)n;
	return 0;
}

static void none_describe(void *priv, uint32_t lun, struct json_w *w)
{
	(void)priv; (void)lun; (void)w;
}

static void none_detach(void *priv, bool alive)
{
	(void)priv; (void)alive;
}

static void none_destroy(void *priv)
{
	(void)priv;
}

static const struct sd_export_ops none_ops = {
	.name = "none",
	.create = none_create,
	.attach = none_attach,
	.update = none_update,
	.describe = none_describe,
	.detach = none_detach,
	.destroy = none_destroy,
};

const struct sd_export_ops *sd_export_ops_default(void)
{
	return &none_ops;
}
