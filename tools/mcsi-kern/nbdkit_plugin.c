/* SPDX-License-Identifier: MIT */
/*
 * nbdkit-mcsi-plugin: the same backends served by nbdkit instead of the
 * hand-written server (kern/nbd.c). Kept to measure the two side by side
 * (docs/design/kern.md) and as a fallback for clients that need protocol
 * features kern/nbd.c does not have (TLS, structured replies).
 *
 *   nbdkit ./nbdkit-mcsi-plugin.so ram=256M [block-size=512]
 *   nbdkit ./nbdkit-mcsi-plugin.so url=iscsi://host/iqn/0
 */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/mcsi_bk.h"
#include "kern/ram.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* nbdkit's plugin API is callbacks without a context pointer, so the one
 * device this process serves is plugin-wide state by necessity. */
static struct plugin_state {
	int64_t ram_size;
	uint32_t block_size;
	const char *url;
	mcsi_session *session;
	struct kern_backend *b;
} st = { .block_size = 512 };

static int plug_config(const char *key, const char *value)
{
	if (strcmp(key, "ram") == 0) {
		st.ram_size = nbdkit_parse_size(value);
		return st.ram_size > 0 ? 0 : -1;
	}
	if (strcmp(key, "block-size") == 0)
		return nbdkit_parse_uint32_t("block-size", value, &st.block_size);
	if (strcmp(key, "url") == 0) {
		st.url = value;
		return 0;
	}
	nbdkit_error("unknown parameter '%s'", key);
	return -1;
}

static int plug_get_ready(void)
{
	int rc;

	if (st.url) {
		rc = mcsi_open(st.url, NULL, &st.session);
		if (rc == 0)
			rc = kern_mcsi_bk_create(st.session, mcsi_default_lun(st.session),
						 NULL, &st.b);
	} else if (st.ram_size > 0) {
		struct kern_ram_opts o = {
			.blocks = (uint64_t)st.ram_size / st.block_size,
			.block_size = st.block_size, .identity = "nbdkit.ram",
		};

		rc = kern_ram_create(&o, &st.b);
	} else {
		nbdkit_error("give ram=SIZE or url=URL");
		return -1;
	}
	if (rc) {
		nbdkit_error("cannot open the device: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static void plug_unload(void)
{
	kern_backend_destroy(st.b);
	mcsi_close(st.session);
}

static void *plug_open_conn(int readonly)
{
	(void)readonly;
	return &st;
}

static int64_t plug_get_size(void *h)
{
	(void)h;
	return (int64_t)kern_size(st.b);
}

static int plug_block_size(void *h, uint32_t *min, uint32_t *pref, uint32_t *max)
{
	struct kern_geometry g;

	(void)h;
	kern_geometry(st.b, &g);
	*min = g.block_size;
	*pref = g.block_size > 4096 ? g.block_size : 4096;
	*max = g.max_io ? g.max_io : 32u << 20;
	return 0;
}

static int yes(void *h)
{
	(void)h;
	return 1;
}

static int result(int rc)
{
	if (rc == 0)
		return 0;
	errno = -rc;
	nbdkit_error("%s", strerror(-rc));
	return -1;
}

static int plug_pread(void *h, void *buf, uint32_t count, uint64_t off, uint32_t flags)
{
	(void)h;
	(void)flags;
	return result(kern_pread(st.b, buf, count, off));
}

static int plug_pwrite(void *h, const void *buf, uint32_t count, uint64_t off,
		       uint32_t flags)
{
	(void)h;
	(void)flags;
	return result(kern_pwrite(st.b, buf, count, off));
}

static int plug_flush(void *h, uint32_t flags)
{
	(void)h;
	(void)flags;
	return result(kern_flush(st.b));
}

static int plug_trim(void *h, uint32_t count, uint64_t off, uint32_t flags)
{
	(void)h;
	(void)flags;
	return result(kern_discard(st.b, off, count, false));
}

static int plug_zero(void *h, uint32_t count, uint64_t off, uint32_t flags)
{
	(void)h;
	(void)flags;
	return result(kern_discard(st.b, off, count, true));
}

static struct nbdkit_plugin plugin = {
	.name = "mcsi",
	.version = "0.1",
	.longname = "mcsi iSCSI initiator",
	.config = plug_config,
	.config_help = "ram=SIZE [block-size=N] | url=iscsi://host/iqn/lun",
	.get_ready = plug_get_ready,
	.unload = plug_unload,
	.open = plug_open_conn,
	.get_size = plug_get_size,
	.block_size = plug_block_size,
	.can_write = yes,
	.can_flush = yes,
	.can_trim = yes,
	.can_zero = yes,
	.can_multi_conn = yes,
	.pread = plug_pread,
	.pwrite = plug_pwrite,
	.flush = plug_flush,
	.trim = plug_trim,
	.zero = plug_zero,
};

/* nbdkit looks this entry point up by name; the macro below defines it. */
struct nbdkit_plugin *plugin_init(void);
NBDKIT_REGISTER_PLUGIN(plugin)
