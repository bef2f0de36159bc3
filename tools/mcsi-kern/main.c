/* SPDX-License-Identifier: MIT */
/*
 * mcsi-kern: presents LUNs to the kernel with kern/ (FUSE files, NBD
 * exports, multipath groups) and mounts them. The LUNs are RAM devices
 * (tests, benchmarks) or iSCSI LUNs given by URL.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kern/fs.h"
#include "kern/mcsi_bk.h"
#include "kern/mount.h"
#include "kern/mpath.h"
#include "kern/nbd.h"
#include "kern/ram.h"

#define MAX_LUNS 16
#define MAX_PATHS 4

static const char usage[] =
	"usage: mcsi-kern export [options]   serve LUNs until SIGINT or SIGTERM\n"
	"  --ram SIZE         a RAM LUN of SIZE bytes (K, M, G suffixes); repeatable\n"
	"  --block-size N     block size of the RAM LUNs (512)\n"
	"  --paths N          reach each RAM LUN through N multipath paths (1)\n"
	"  --round-robin      multipath: spread I/O over the healthy paths\n"
	"  --async            RAM LUNs complete on a worker thread\n"
	"  --url URL          an iSCSI LUN, iscsi://host[:port]/<iqn>/<lun>; repeatable;\n"
	"                     URLs reaching the same LUN (VPD 0x83) are its paths\n"
	"  --fs DIR           mount the LUN filesystem on DIR (files lun0, lun1, ...)\n"
	"  --nbd-unix PATH    serve NBD on a UNIX socket (exports lun0, lun1, ...)\n"
	"  --nbd-tcp PORT     serve NBD on 127.0.0.1:PORT\n"
	"  --replacement-timeout S\n"
	"                     seconds a lost iSCSI session may take to come back before\n"
	"                     its I/O fails (120, as open-iscsi); with multipath set it\n"
	"                     low (5-15) so that a dead path fails over instead of\n"
	"                     holding the I/O that long\n"
	"  --pidfile FILE     write the PID there once everything is up\n"
	"  SIGUSR1 grows every RAM LUN by its first size; SIGUSR2 fails the first\n"
	"  path of every multipath LUN (as a dropped connection would)\n"
	"usage: mcsi-kern mount LUNFILE MOUNTPOINT [--mkfs TYPE] [--type FSTYPE] [--ro]\n"
	"       mcsi-kern unmount MOUNTPOINT\n"
	"       mcsi-kern probe DEVICE\n"
	"       mcsi-kern where LUNFILE       its loop device and mountpoint\n";

struct lun {
	struct kern_backend *paths[MAX_PATHS];
	unsigned npaths;
	struct kern_backend *top;       /* what is exported */
	mcsi_session *sessions[MAX_PATHS];  /* iSCSI: one per path */
	uint64_t ram_blocks;            /* initial size, for SIGUSR1 */
	char name[16];
};

struct exporter {
	struct lun luns[MAX_LUNS];
	unsigned nluns;
	struct kern_mpath *mpath;
	struct kern_fs *fs;
	struct kern_nbd *nbd;
};

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int add_ram(struct exporter *x, uint64_t size, uint32_t bs, unsigned paths,
		   bool async)
{
	struct lun *l = &x->luns[x->nluns];
	struct kern_ram_opts o = { .blocks = size / bs, .block_size = bs,
				   .max_blocks = size / bs * 4, .async = async };
	char id[32];
	int rc;

	snprintf(id, sizeof(id), "ram.lun%u", x->nluns);
	o.identity = id;
	rc = kern_ram_create(&o, &l->paths[0]);
	for (unsigned i = 1; rc == 0 && i < paths; i++)
		rc = kern_ram_add_path(l->paths[0], &l->paths[i]);
	if (rc)
		return rc;
	l->npaths = paths;
	l->ram_blocks = o.blocks;
	x->nluns++;
	return 0;
}

/* An iSCSI LUN; a URL whose LUN has the identity (VPD 0x83) of one given
 * before becomes another path to it (multipath over portals or targets). */
static int add_url(struct exporter *x, const char *url, unsigned replacement_s)
{
	struct kern_backend *b;
	struct mcsi_opts opts;
	mcsi_session *s;

	mcsi_opts_init(&opts);
	if (replacement_s)
		opts.replacement_timeout_ms = replacement_s * 1000u;
	int rc = mcsi_open(url, &opts, &s);

	if (rc) {
		fprintf(stderr, "mcsi-kern: %s: %s\n", url, strerror(-rc));
		return rc;
	}
	rc = kern_mcsi_bk_create(s, mcsi_default_lun(s), NULL, &b);
	if (rc) {
		fprintf(stderr, "mcsi-kern: %s: %s\n", url, strerror(-rc));
		mcsi_close(s);
		return rc;
	}
	struct lun *l = &x->luns[x->nluns];
	for (unsigned i = 0; i < x->nluns; i++) {
		struct lun *o = &x->luns[i];

		if (o->sessions[0] && o->npaths < MAX_PATHS && b->identity &&
		    o->paths[0]->identity && strcmp(b->identity, o->paths[0]->identity) == 0) {
			l = o;
			break;
		}
	}
	l->paths[l->npaths] = b;
	l->sessions[l->npaths++] = s;
	if (l == &x->luns[x->nluns])
		x->nluns++;
	else
		fprintf(stderr, "mcsi-kern: %s: another path to %s\n", url, b->identity);
	return 0;
}

/* Groups paths by identity; each LUN is then published once. */
static int publish(struct exporter *x, const char *fsdir, const struct kern_nbd_opts *nbd,
		   bool round_robin)
{
	struct kern_mpath_opts mo = { .round_robin = round_robin };
	int rc = kern_mpath_create(&mo, &x->mpath);

	for (unsigned i = 0; rc == 0 && i < x->nluns; i++) {
		struct lun *l = &x->luns[i];

		snprintf(l->name, sizeof(l->name), "lun%u", i);
		l->top = l->paths[0];
		if (l->npaths > 1)
			for (unsigned p = 0; rc == 0 && p < l->npaths; p++)
				rc = kern_mpath_add(x->mpath, l->paths[p], &l->top);
	}
	if (rc == 0 && fsdir) {
		struct kern_fs_opts fo = { .mountpoint = fsdir, .fsname = "mcsi" };

		rc = kern_fs_create(&fo, &x->fs);
		for (unsigned i = 0; rc == 0 && i < x->nluns; i++)
			rc = kern_fs_add(x->fs, x->luns[i].name, x->luns[i].top);
	}
	if (rc == 0 && (nbd->unix_path || nbd->tcp_port)) {
		rc = kern_nbd_create(nbd, &x->nbd);
		for (unsigned i = 0; rc == 0 && i < x->nluns; i++)
			rc = kern_nbd_add(x->nbd, x->luns[i].name, x->luns[i].top);
	}
	return rc;
}

static void teardown(struct exporter *x)
{
	kern_nbd_destroy(x->nbd);
	kern_fs_destroy(x->fs);
	for (unsigned i = 0; i < x->nluns; i++)
		for (unsigned p = 0; p < x->luns[i].npaths; p++)
			if (x->luns[i].npaths > 1)
				kern_mpath_remove(x->mpath, x->luns[i].paths[p]);
	kern_mpath_destroy(x->mpath);
	for (unsigned i = 0; i < x->nluns; i++) {
		for (unsigned p = 0; p < x->luns[i].npaths; p++) {
			kern_backend_destroy(x->luns[i].paths[p]);
			mcsi_close(x->luns[i].sessions[p]);
		}
	}
}

static void on_signal(struct exporter *x, int sig)
{
	for (unsigned i = 0; i < x->nluns; i++) {
		struct lun *l = &x->luns[i];

		if (sig == SIGUSR1 && l->ram_blocks) {
			struct kern_geometry g;

			kern_geometry(l->paths[0], &g);
			if (kern_ram_resize(l->paths[0], g.blocks + l->ram_blocks) == 0 && x->fs)
				kern_fs_changed(x->fs, l->name);
		} else if (sig == SIGUSR2 && l->npaths > 1 && l->ram_blocks) {
			kern_ram_fail(l->paths[0], -ENOTCONN, 0);
		}
	}
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ram", required_argument, NULL, 'r' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "paths", required_argument, NULL, 'p' },
		{ "round-robin", no_argument, NULL, 'R' },
		{ "async", no_argument, NULL, 'a' },
		{ "url", required_argument, NULL, 'u' },
		{ "fs", required_argument, NULL, 'f' },
		{ "nbd-unix", required_argument, NULL, 'U' },
		{ "nbd-tcp", required_argument, NULL, 'T' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "replacement-timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	static struct exporter x;
	struct kern_nbd_opts nbd = { 0 };
	uint64_t sizes[MAX_LUNS];
	const char *urls[MAX_LUNS], *fsdir = NULL, *pidfile = NULL;
	unsigned nsizes = 0, nurls = 0, paths = 1, replacement_s = 0;
	uint32_t bs = 512;
	char *end;
	bool rr = false, async = false;
	sigset_t set;
	int c, rc = 0, sig;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (nsizes + nurls >= MAX_LUNS || parse_size(optarg, &sizes[nsizes]))
				goto bad;
			nsizes++;
			break;
		case 'b': bs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'p': paths = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'R': rr = true; break;
		case 'a': async = true; break;
		case 'u':
			if (nsizes + nurls >= MAX_LUNS)
				goto bad;
			urls[nurls++] = optarg;
			break;
		case 'f': fsdir = optarg; break;
		case 'U': nbd.unix_path = optarg; break;
		case 'T': nbd.tcp_port = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'P': pidfile = optarg; break;
		case 't':
			replacement_s = (unsigned)strtoul(optarg, &end, 10);
			if (*end || replacement_s == 0 || replacement_s > 86400)
				goto bad;
			break;
		default: goto bad;
		}
	}
	if (optind != argc || paths < 1 || paths > MAX_PATHS || nsizes + nurls == 0)
		goto bad;
	/* Signals are taken by sigwait() below, never by the I/O threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (unsigned i = 0; rc == 0 && i < nsizes; i++)
		rc = add_ram(&x, sizes[i], bs, paths, async);
	for (unsigned i = 0; rc == 0 && i < nurls; i++)
		rc = add_url(&x, urls[i], replacement_s);
	if (rc == 0)
		rc = publish(&x, fsdir, &nbd, rr);
	if (rc == 0 && pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
			rc = -EIO;
	}
	while (rc == 0 && sigwait(&set, &sig) == 0 && sig != SIGINT && sig != SIGTERM)
		on_signal(&x, sig);
	if (rc)
		fprintf(stderr, "mcsi-kern: %s\n", strerror(-rc));
	teardown(&x);
	if (pidfile)
		unlink(pidfile);
	return rc ? 1 : 0;
bad:
	fputs(usage, stderr);
	return 2;
}

static int cmd_mount(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mkfs", required_argument, NULL, 'm' },
		{ "type", required_argument, NULL, 't' },
		{ "ro", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct kern_mount_req req = { 0 };
	struct kern_mount_info info;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': req.mkfs_type = optarg; break;
		case 't': req.fstype = optarg; break;
		case 'r': req.read_only = true; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return 2;
	}
	req.lun_file = argv[optind];
	req.mountpoint = argv[optind + 1];
	rc = kern_mount(&req, &info);
	if (rc) {
		fprintf(stderr, "mcsi-kern: mount %s: %s\n", req.lun_file, strerror(-rc));
		return 1;
	}
	printf("%s %s %s block_size=%u direct_io=%d created=%d\n", info.loop_dev,
	       req.mountpoint, info.fstype, info.block_size, info.direct_io, info.created);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "mount") == 0)
		return cmd_mount(argc - 1, argv + 1);
	if (strcmp(argv[1], "unmount") == 0 && argc == 3) {
		rc = kern_unmount(argv[2]);
		if (rc)
			fprintf(stderr, "mcsi-kern: unmount %s: %s\n", argv[2], strerror(-rc));
		return rc ? 1 : 0;
	}
	if (strcmp(argv[1], "probe") == 0 && argc == 3) {
		char type[64];

		rc = kern_probe(argv[2], type, sizeof(type));
		if (rc < 0) {
			fprintf(stderr, "mcsi-kern: probe %s: %s\n", argv[2], strerror(-rc));
			return 1;
		}
		printf("%s\n", rc == KERN_PROBE_EMPTY ? "empty" : type);
		return 0;
	}
	if (strcmp(argv[1], "where") == 0 && argc == 3) {
		char dev[KERN_LOOP_NAME_MAX], mnt[4096];

		rc = kern_mount_lookup(argv[2], dev, sizeof(dev), mnt, sizeof(mnt));
		if (rc) {
			fprintf(stderr, "mcsi-kern: where %s: %s\n", argv[2], strerror(-rc));
			return 1;
		}
		printf("%s %s\n", *dev ? dev : "-", *mnt ? mnt : "-");
		return 0;
	}
	fputs(usage, stderr);
	return 2;
}
