/* SPDX-License-Identifier: MIT */
/*
 * The session's kernel export (sessiond_export.h). "kern": one FUSE file
 * per disk LUN, <run-dir>/luns/<iqn>/lun<N>, each backed by kern/mcsi_bk
 * over this process's session; "none" when kern/ is not built in.
 */
#include "supervisor/daemon/sessiond_export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath/log.h"

int sd_export_dir(char *buf, size_t cap, const char *run_dir, const char *target)
{
	int n = snprintf(buf, cap, "%s/luns/%s", run_dir, target);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int none_create(const char *run_dir, const char *target, void **priv)
{
	(void)run_dir; (void)target;
	*priv = NULL;
	return 0;
}

static int none_attach(void *priv, mcsi_session *s, const struct lunscan_lun *luns,
		       size_t n)
{
	(void)priv; (void)s; (void)luns; (void)n;
	return 0;
}

static int none_update(void *priv, const struct lunscan_lun *luns, size_t n)
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

#ifdef MCSI_HAVE_KERN
#include <limits.h>

#include <sys/stat.h>
#include <unistd.h>

#include "kern/fs.h"
#include "kern/mcsi_bk.h"
#include "kern/mount.h"
#include "kern/nbd.h"

/* One presented LUN. */
struct kx_lun {
	uint32_t lun;
	struct kern_backend *bk;
	uint64_t size;              /* bytes, as last seen */
	char name[16];              /* "lun3" */
	bool present;               /* in the last scan */
};

struct kx {
	char who[URL_NAME_MAX + 16];
	char dir[PATH_MAX - 32];   /* leaves room for "/lun<N>" */
	mcsi_session *s;
	struct kern_fs *fs;
	struct kern_nbd *nbd;       /* NULL when it could not be started */
	char nbd_path[108];         /* <run-dir>/nbd/<pid>.sock: sun_path */
	struct kx_lun luns[LUNSCAN_MAX_LUNS];
	size_t n;
	uint32_t reported[LUNSCAN_MAX_LUNS];   /* last REPORT LUNS, for poll */
	size_t nreported;
};

static int kx_create(const char *run_dir, const char *target, void **priv)
{
	struct kx *x = calloc(1, sizeof(*x));
	int rc;

	if (!x)
		return -ENOMEM;
	snprintf(x->who, sizeof(x->who), "export %s", target);
	if ((rc = sd_export_dir(x->dir, sizeof(x->dir), run_dir, target))) {
		free(x);
		return rc;
	}
	/* The NBD socket is named by process, not by target: a UNIX socket
	 * path is short. No socket (no NBD export) if it cannot be made. */
	char d[sizeof(x->nbd_path)];
	int n = snprintf(d, sizeof(d), "%s/nbd", run_dir);
	if (n < 0 || (size_t)n >= sizeof(d) || (mkdir(d, 0700) && errno != EEXIST) ||
	    (size_t)snprintf(x->nbd_path, sizeof(x->nbd_path), "%s/%d.sock", d,
			     (int)getpid()) >= sizeof(x->nbd_path))
		x->nbd_path[0] = '\0';
	*priv = x;
	return 0;
}

static struct kx_lun *kx_find(struct kx *x, uint32_t lun)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->luns[i].lun == lun)
			return &x->luns[i];
	return NULL;
}

static void kx_path(const struct kx *x, const struct kx_lun *l, char *buf, size_t cap)
{
	if ((size_t)snprintf(buf, cap, "%s/%s", x->dir, l->name) >= cap)
		buf[0] = '\0';   /* cannot happen: dir leaves room */
}

/* Only direct-access block devices (type 0) become files. */
static bool kx_wanted(const struct lunscan_lun *l)
{
	return l->qualifier == 0 && l->device_type == 0 && l->has_capacity;
}

static int kx_add(struct kx *x, const struct lunscan_lun *sl)
{
	struct kx_lun *l = &x->luns[x->n];
	int rc;

	if (x->n >= LUNSCAN_MAX_LUNS)
		return -ENOSPC;
	memset(l, 0, sizeof(*l));
	l->lun = sl->lun;
	snprintf(l->name, sizeof(l->name), "lun%u", sl->lun);
	if ((rc = kern_mcsi_bk_create(x->s, sl->lun, NULL, &l->bk))) {
		log_peer_warn(x->who, "LUN %u: %s", sl->lun, strerror(-rc));
		return rc;
	}
	if ((rc = kern_fs_add(x->fs, l->name, l->bk))) {
		log_peer_warn(x->who, "%s: %s", l->name, strerror(-rc));
		kern_backend_destroy(l->bk);
		return rc;
	}
	if (x->nbd && (rc = kern_nbd_add(x->nbd, l->name, l->bk)))
		log_peer_warn(x->who, "%s: no NBD export: %s", l->name, strerror(-rc));
	l->size = kern_size(l->bk);
	l->present = true;
	x->n++;
	log_peer_info(x->who, "LUN %u is %s/%s", sl->lun, x->dir, l->name);
	return 0;
}

static void kx_remember(struct kx *x, const struct lunscan_lun *luns, size_t n)
{
	x->nreported = n < LUNSCAN_MAX_LUNS ? n : LUNSCAN_MAX_LUNS;
	for (size_t i = 0; i < x->nreported; i++)
		x->reported[i] = luns[i].lun;
}

static int kx_attach(void *priv, mcsi_session *s, const struct lunscan_lun *luns, size_t n)
{
	struct kx *x = priv;
	struct kern_fs_opts fo = { .mountpoint = x->dir, .fsname = "mcsi" };
	int rc;

	x->s = s;
	if ((rc = kern_fs_create(&fo, &x->fs))) {
		log_peer_err(x->who, "LUN filesystem on %s: %s", x->dir, strerror(-rc));
		return rc;
	}
	/* The same LUNs over NBD on a UNIX socket (root only, like the run
	 * directory), for qemu, nbd-client and fio; the files do not need it. */
	struct kern_nbd_opts no = { .unix_path = x->nbd_path };
	if (x->nbd_path[0] && (rc = kern_nbd_create(&no, &x->nbd))) {
		log_peer_warn(x->who, "no NBD export on %s: %s", x->nbd_path, strerror(-rc));
		x->nbd = NULL;
	}
	/* A LUN that cannot be presented is logged and left out: the others
	 * still are, and the session stays usable through the API. */
	for (size_t i = 0; i < n; i++)
		if (kx_wanted(&luns[i]))
			kx_add(x, &luns[i]);
	kx_remember(x, luns, n);
	return 0;
}

/* After the size of l changed: the file's size, and the loop device over
 * it if there is one (the filesystem on it is not grown). */
static void kx_resized(struct kx *x, struct kx_lun *l)
{
	char path[PATH_MAX], dev[KERN_LOOP_NAME_MAX], mnt[PATH_MAX];
	uint64_t size = kern_size(l->bk);

	if (size == l->size)
		return;
	log_peer_info(x->who, "%s: capacity %llu -> %llu bytes", l->name,
		      (unsigned long long)l->size, (unsigned long long)size);
	l->size = size;
	kern_fs_changed(x->fs, l->name);
	kx_path(x, l, path, sizeof(path));
	if (kern_mount_lookup(path, dev, sizeof(dev), mnt, sizeof(mnt)) == 0 && mnt[0])
		kern_mount_resize(mnt);
}

static int kx_update(void *priv, const struct lunscan_lun *luns, size_t n)
{
	struct kx *x = priv;

	for (size_t i = 0; i < x->n; i++)
		x->luns[i].present = false;
	for (size_t i = 0; i < n; i++) {
		struct kx_lun *l = kx_find(x, luns[i].lun);

		if (!l) {
			if (kx_wanted(&luns[i]))
				kx_add(x, &luns[i]);
			continue;
		}
		l->present = true;
		if (kern_backend_rescan(l->bk) == 0)
			kx_resized(x, l);
	}
	/* LUNs gone from the target: unpublished unless still in use (then
	 * their I/O fails with the target's error until the file is closed). */
	for (size_t i = 0; i < x->n;) {
		struct kx_lun *l = &x->luns[i];
		int nrc = l->present || !x->nbd ? -ENOENT : kern_nbd_remove(x->nbd, l->name);

		if (l->present || nrc == -EBUSY || kern_fs_remove(x->fs, l->name) != 0) {
			if (nrc == 0)            /* the file is in use: keep both */
				kern_nbd_add(x->nbd, l->name, l->bk);
			i++;
			continue;
		}
		log_peer_info(x->who, "LUN %u is gone", l->lun);
		kern_backend_destroy(l->bk);
		x->luns[i] = x->luns[--x->n];
	}
	kx_remember(x, luns, n);
	return 0;
}

static int kx_poll(void *priv)
{
	struct kx *x = priv;
	uint32_t now[LUNSCAN_MAX_LUNS];
	size_t n = 0;
	int rc = kern_mcsi_report_luns(x->s, now, LUNSCAN_MAX_LUNS, &n);

	if (rc)
		return rc;
	if (n != x->nreported)
		return 1;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < x->nreported && !seen; j++)
			seen = x->reported[j] == now[i];
		if (!seen)
			return 1;
	}
	for (size_t i = 0; i < x->n; i++)
		if (kern_backend_rescan(x->luns[i].bk) == 0)
			kx_resized(x, &x->luns[i]);
	return 0;
}

static void kx_describe(void *priv, uint32_t lun, struct json_w *w)
{
	struct kx *x = priv;
	struct kx_lun *l = kx_find(x, lun);
	char path[PATH_MAX], dev[KERN_LOOP_NAME_MAX] = "", mnt[PATH_MAX] = "";

	if (!l)
		return;
	kx_path(x, l, path, sizeof(path));
	json_w_str(w, "file", path);
	if (x->nbd) {
		char uri[sizeof(l->name) + sizeof(x->nbd_path) + 32];
		snprintf(uri, sizeof(uri), "nbd+unix:///%s?socket=%s", l->name, x->nbd_path);
		json_w_str(w, "nbd", uri);
	}
	if (kern_mount_lookup(path, dev, sizeof(dev), mnt, sizeof(mnt)) == 0) {
		if (dev[0])
			json_w_str(w, "loop", dev);
		if (mnt[0])
			json_w_str(w, "mount", mnt);
	}
}

static void kx_detach(void *priv, bool alive)
{
	struct kx *x = priv;

	for (size_t i = 0; i < x->n; i++) {
		struct kx_lun *l = &x->luns[i];
		char path[PATH_MAX], dev[KERN_LOOP_NAME_MAX], mnt[PATH_MAX];
		int rc;

		kx_path(x, l, path, sizeof(path));
		/* iscsictl logout unmounts first; this catches a logout by
		 * signal or through another client. A busy filesystem stays
		 * mounted (everything written back) and loses its device. */
		if (alive && kern_mount_lookup(path, dev, sizeof(dev), mnt, sizeof(mnt)) == 0 &&
		    mnt[0] && (rc = kern_unmount(mnt)))
			log_peer_warn(x->who, "unmount %s: %s", mnt, strerror(-rc));
		if (alive && (rc = kern_flush(l->bk)))
			log_peer_warn(x->who, "%s: cache flush: %s", l->name, strerror(-rc));
	}
	kern_nbd_destroy(x->nbd);          /* its clients' requests complete first */
	x->nbd = NULL;
	kern_fs_destroy(x->fs);
	x->fs = NULL;
	for (size_t i = 0; i < x->n; i++)
		kern_backend_destroy(x->luns[i].bk);
	x->n = 0;
}

static void kx_destroy(void *priv)
{
	struct kx *x = priv;

	if (x && x->fs)
		kx_detach(x, false);
	free(x);
}

static const struct sd_export_ops kern_ops = {
	.name = "kern",
	.create = kx_create,
	.attach = kx_attach,
	.update = kx_update,
	.poll = kx_poll,
	.describe = kx_describe,
	.detach = kx_detach,
	.destroy = kx_destroy,
};

const struct sd_export_ops *sd_export_ops_default(void)
{
	/* MCSI_EXPORT=none: sessions without kernel export (no FUSE, for
	 * tests of the session process alone or without /dev/fuse). */
	const char *e = getenv("MCSI_EXPORT");

	return e && strcmp(e, "none") == 0 ? &none_ops : &kern_ops;
}
#else
const struct sd_export_ops *sd_export_ops_default(void)
{
	return &none_ops;
}
#endif
