/* SPDX-License-Identifier: MIT */
/*
 * iscsictl mount / unmount, and the unmount that logout does first.
 *
 * The session process that mcsid starts for a target presents each disk
 * LUN as a file (<run-dir>/luns/<iqn>/lun<N>, see
 * supervisor/daemon/sessiond_export.h); "list-luns" names it in "file".
 * These verbs make sure a session exists, find that file, and run kern/
 * mount.h here (loop device with direct I/O, libblkid, optional mkfs,
 * mount(2)); nothing is kept in any process, so unmount works from the
 * mountpoint alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kern/mount.h"
#include "proto/url.h"
#include "supervisor/ctlproto.h"
#include "supervisor/json.h"
#include "supervisor/usock.h"
#include "tools/iscsictl/client.h"
#include "tools/iscsictl/iscsictl.h"

#define LOGIN_WAIT_MS   150000
#define QUERY_WAIT_MS   100000
#define LUNS_MAX        256

/* What list-luns says about one LUN. */
struct mlun {
	uint32_t lun;
	char file[PATH_MAX];
	char loop[64];
	char mount[PATH_MAX];
};

/* "<iqn>[,<portal>]" or an iscsi:// URL without credentials (its LUN, if
 * any, in *lun). */
static int parse_target(const char *arg, struct cp_request *r, long *lun)
{
	int rc = client_parse_target(arg, r, false);
	if (rc == 0 && r->has_lun)
		*lun = (long)r->lun;
	return rc;
}

/* The target's LUNs as its session process presents them. Returns the
 * count, -ENOENT (no session), or another -errno (printed). */
static int list_luns(const struct cp_request *t, struct mlun *out, size_t max)
{
	struct cp_request r = *t;
	struct client_reply c;
	int rc;

	r.op = CP_OP_LIST_LUNS;
	r.has_lun = false;
	if ((rc = client_request(&r, QUERY_WAIT_MS, &c)))
		return rc;
	if (!c.r.ok) {
		rc = c.r.err;
		if (rc != -ENOENT)
			fprintf(stderr, "iscsictl: %s: %s\n", t->target, c.r.error);
		client_reply_free(&c);
		return rc ? rc : -EIO;
	}
	int arr = json_get(c.text, c.toks, 0, "luns");
	size_t n = 0;
	for (uint32_t i = 0; arr >= 0 && i < c.toks[arr].count && n < max; i++) {
		size_t e = (size_t)json_elem(c.toks, (size_t)arr, i);
		struct mlun *l = &out[n];
		uint64_t v;

		memset(l, 0, sizeof(*l));
		if (json_get_u64(c.text, c.toks, e, "lun", UINT32_MAX, &v))
			continue;
		l->lun = (uint32_t)v;
		json_get_str(c.text, c.toks, e, "file", l->file, sizeof(l->file));
		json_get_str(c.text, c.toks, e, "loop", l->loop, sizeof(l->loop));
		json_get_str(c.text, c.toks, e, "mount", l->mount, sizeof(l->mount));
		n++;
	}
	client_reply_free(&c);
	return (int)n;
}

/* Logs in through mcsid (quietly) when it holds no session to t. */
static int ensure_session(const struct cp_request *t, struct mlun *luns, size_t max)
{
	int n = list_luns(t, luns, max);

	if (n != -ENOENT)
		return n;
	struct cp_request r = *t;
	struct client_reply c;
	int rc;

	r.op = CP_OP_LOGIN;
	r.has_lun = false;
	if ((rc = client_request(&r, LOGIN_WAIT_MS, &c)))
		return rc;
	if (!c.r.ok) {
		fprintf(stderr, "iscsictl: %s: login: %s\n", t->target, c.r.error);
		rc = c.r.err ? c.r.err : -EIO;
		client_reply_free(&c);
		return rc;
	}
	client_reply_free(&c);
	return list_luns(t, luns, max);
}

/* The LUN asked for (lun < 0: the first one with a file). */
static const struct mlun *pick(const char *target, const struct mlun *luns, int n, long lun)
{
	for (int i = 0; i < n; i++)
		if (luns[i].file[0] && (lun < 0 || luns[i].lun == (uint32_t)lun))
			return &luns[i];
	if (lun < 0)
		fprintf(stderr, "iscsictl: %s presents no disk LUN as a file (is the "
				"session's export enabled?)\n", target);
	else
		fprintf(stderr, "iscsictl: %s has no LUN %ld presented as a file\n", target, lun);
	return NULL;
}

static int parse_lun(const char *s, long *lun)
{
	char *end;
	long v;

	if (strncasecmp(s, "lun", 3) == 0)
		s += 3;
	v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > (long)URL_LUN_MAX)
		return -EINVAL;
	*lun = v;
	return 0;
}

/* Both need mcsid: the session must outlive this command. */
static bool need_daemon(const char *verb)
{
	int fd, rc = client_connect(&fd);

	if (rc == 0) {
		close(fd);
		return true;
	}
	if (client_absent(rc))
		fprintf(stderr, "iscsictl: %s needs the mcsid daemon (it holds the "
				"session while the filesystem is mounted)\n", verb);
	else
		client_connect_error(rc);
	return false;
}

int cmd_mount(const struct ctl_opts *o, int argc, char **argv)
{
	struct kern_mount_req req = { 0 };
	struct kern_mount_info info;
	struct cp_request t = { 0 };
	const char *mnt = NULL;
	char defmnt[PATH_MAX];
	long lun = -1;
	bool extra = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if (strcmp(a, "--mkfs") == 0 && has_val) {
			req.mkfs_type = argv[++i];
		} else if (strcmp(a, "--type") == 0 && has_val) {
			req.fstype = argv[++i];
		} else if (strcmp(a, "--options") == 0 && has_val) {
			req.options = argv[++i];
		} else if (strcmp(a, "--ro") == 0) {
			req.read_only = true;
		} else if (a[0] == '-') {
			ctl_usage_error("mount", "unknown option '%s'", a);
			return EXIT_USAGE;
		} else if (!t.has_target) {
			if (parse_target(a, &t, &lun))
				return EXIT_USAGE;
		} else if (!mnt && a[0] != '/' && lun < 0 && parse_lun(a, &lun) == 0) {
			continue;
		} else if (!mnt) {
			mnt = a;
		} else {
			extra = true;
		}
	}
	if (!t.has_target || extra) {
		ctl_usage_error("mount", "mount takes <iqn>[,<portal>] [lun] [mountpoint] "
				"[--mkfs TYPE] [--ro]");
		return EXIT_USAGE;
	}
	if (!need_daemon("mount"))
		return EXIT_FAIL;
	struct mlun *luns = calloc(LUNS_MAX, sizeof(*luns));
	if (!luns)
		return EXIT_FAIL;
	int n = ensure_session(&t, luns, LUNS_MAX);
	const struct mlun *l = n >= 0 ? pick(t.target, luns, n, lun) : NULL;
	if (!l) {
		free(luns);
		return EXIT_FAIL;
	}
	if (!mnt) {
		snprintf(defmnt, sizeof(defmnt), "%s/%s/lun%u", KERN_MNT_ROOT, t.target, l->lun);
		mnt = defmnt;
	}
	if (l->mount[0]) {
		fprintf(stderr, "iscsictl: %s LUN %u is already mounted on %s\n", t.target,
			l->lun, l->mount);
		free(luns);
		return EXIT_FAIL;
	}
	req.lun_file = l->file;
	req.mountpoint = mnt;
	rc = kern_mount(&req, &info);
	if (rc) {
		fprintf(stderr, "iscsictl: mount %s LUN %u on %s: %s%s\n", t.target, l->lun,
			mnt, strerror(-rc),
			rc == -ENOMEDIUM ? " (no filesystem: give --mkfs TYPE to create one)"
			: rc == -EMEDIUMTYPE ? " (partitioned, or not a filesystem: not touched)"
			: "");
		free(luns);
		return EXIT_FAIL;
	}
	if (o->json)
		printf("{\"target\":\"%s\",\"lun\":%u,\"file\":\"%s\",\"loop\":\"%s\","
		       "\"mount\":\"%s\",\"fstype\":\"%s\",\"created\":%s,\"direct_io\":%s}\n",
		       t.target, l->lun, l->file, info.loop_dev, mnt, info.fstype,
		       info.created ? "true" : "false", info.direct_io ? "true" : "false");
	else
		printf("mounted %s LUN %u on %s (%s%s, %s%s)\n", t.target, l->lun, mnt,
		       info.fstype, info.created ? ", created" : "", info.loop_dev,
		       info.direct_io ? ", direct I/O" : "");
	free(luns);
	return EXIT_OK;
}

static int unmount_one(const char *mnt)
{
	int rc = kern_unmount(mnt);

	if (rc) {
		fprintf(stderr, "iscsictl: unmount %s: %s%s\n", mnt, strerror(-rc),
			rc == -EBUSY ? " (in use; everything is written back)" : "");
		return EXIT_FAIL;
	}
	printf("unmounted %s\n", mnt);
	return EXIT_OK;
}

/* Unmounts every mounted LUN of t (or only lun when >= 0). Returns an
 * exit code; no session is not an error. */
static int unmount_target(const struct cp_request *t, long lun, bool quiet)
{
	struct mlun *luns = calloc(LUNS_MAX, sizeof(*luns));
	int n, rc = EXIT_OK, done = 0;

	if (!luns)
		return EXIT_FAIL;
	n = list_luns(t, luns, LUNS_MAX);
	if (n == -ENOENT) {
		free(luns);
		if (!quiet)
			fprintf(stderr, "iscsictl: no session to %s\n", t->target);
		return quiet ? EXIT_OK : EXIT_FAIL;
	}
	for (int i = 0; i < n; i++) {
		if (!luns[i].mount[0] || (lun >= 0 && luns[i].lun != (uint32_t)lun))
			continue;
		done++;
		if (unmount_one(luns[i].mount) != EXIT_OK)
			rc = EXIT_FAIL;
	}
	free(luns);
	if (n < 0)
		return EXIT_FAIL;
	if (done == 0 && !quiet) {
		fprintf(stderr, "iscsictl: nothing of %s is mounted\n", t->target);
		return EXIT_FAIL;
	}
	return rc;
}

int cmd_unmount(const struct ctl_opts *o, int argc, char **argv)
{
	struct cp_request t = { 0 };
	struct stat st;
	long lun = -1;
	(void)o;

	if (argc < 1 || argc > 2) {
		ctl_usage_error("unmount", "unmount takes a mountpoint, or "
				"<iqn>[,<portal>] [lun]");
		return EXIT_USAGE;
	}
	if (argc == 1 && (argv[0][0] == '/' || argv[0][0] == '.' ||
			  (stat(argv[0], &st) == 0 && S_ISDIR(st.st_mode))))
		return unmount_one(argv[0]);
	if (parse_target(argv[0], &t, &lun))
		return EXIT_USAGE;
	if (argc == 2 && parse_lun(argv[1], &lun)) {
		ctl_usage_error("unmount", "'%s' is not a LUN number", argv[1]);
		return EXIT_USAGE;
	}
	if (!need_daemon("unmount"))
		return EXIT_FAIL;
	return unmount_target(&t, lun, false);
}

int cmd_logout_unmount(const struct ctl_opts *o, int argc, char **argv)
{
	struct cp_request t = { 0 };
	long lun = -1;
	int fd;

	/* Only when there is something to unmount through mcsid: the rest
	 * (usage errors, no daemon) is cmd_logout's to report. */
	if (argc == 1 && parse_target(argv[0], &t, &lun) == 0 && client_connect(&fd) == 0) {
		close(fd);
		if (unmount_target(&t, -1, true) != EXIT_OK) {
			fprintf(stderr, "iscsictl: not logging out of %s: a filesystem on it "
					"could not be unmounted\n", t.target);
			return EXIT_FAIL;
		}
	}
	return cmd_logout(o, argc, argv);
}
