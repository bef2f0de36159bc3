/* SPDX-License-Identifier: MIT */
/* Mount and unmount of LUNs: see mount.h. */
#include "kern/mount.h"

#include <blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "kern/util.h"

static bool safe_name(const char *s)
{
	if (!s || !*s || strlen(s) > 20)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int copy_value(blkid_probe pr, const char *name, char *type, size_t len)
{
	const char *v = NULL;

	if (blkid_probe_lookup_value(pr, name, &v, NULL) != 0 || !v)
		return -ENOENT;
	snprintf(type, len, "%s", v);
	return 0;
}

int kern_probe(const char *dev, char *type, size_t type_len)
{
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	const char *usage = NULL;
	int rc;

	if (!pr)
		return errno ? -errno : -ENOENT;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	rc = blkid_do_safeprobe(pr);
	type[0] = '\0';
	if (rc == 1) {
		rc = KERN_PROBE_EMPTY;
	} else if (rc == -2) {
		rc = -EUCLEAN;
	} else if (rc < 0) {
		rc = -EIO;
	} else if (copy_value(pr, "PTTYPE", type, type_len) == 0) {
		rc = KERN_PROBE_PARTITIONED;
	} else if (copy_value(pr, "TYPE", type, type_len) == 0) {
		rc = blkid_probe_lookup_value(pr, "USAGE", &usage, NULL) == 0 && usage &&
		     strcmp(usage, "filesystem") == 0 ? KERN_PROBE_FS : KERN_PROBE_OTHER;
	} else {
		rc = KERN_PROBE_OTHER;
	}
	blkid_free_probe(pr);
	return rc;
}

static int run_mkfs(const char *type, const char *dev)
{
	char prog[32];
	char *argv[4];
	int argc = 0, rc;

	snprintf(prog, sizeof(prog), "mkfs.%s", type);
	argv[argc++] = prog;
	if (strncmp(type, "ext", 3) == 0)
		argv[argc++] = (char *)"-q";
	argv[argc++] = (char *)dev;
	argv[argc] = NULL;
	log_info("kern: creating a %s filesystem on %s", type, dev);
	rc = kern_run(argv);
	if (rc != 0) {
		log_err("kern: %s %s failed (%d)", prog, dev, rc);
		return -ENOEXEC;
	}
	return 0;
}

/* Decides what to mount: an existing filesystem, or a new one. */
static int prepare_fs(const struct kern_mount_req *req, const char *dev,
		      struct kern_mount_info *info)
{
	char found[64];
	int rc = kern_probe(dev, found, sizeof(found));

	if (rc == KERN_PROBE_EMPTY && req->mkfs_type) {
		rc = run_mkfs(req->mkfs_type, dev);
		if (rc)
			return rc;
		info->created = true;
		rc = kern_probe(dev, found, sizeof(found));
	}
	switch (rc) {
	case KERN_PROBE_FS:
		break;
	case KERN_PROBE_EMPTY:
		if (req->fstype)
			break;   /* the caller knows better than blkid */
		log_err("kern: %s has no filesystem (ask for one with --mkfs TYPE)",
			req->lun_file);
		return -ENOMEDIUM;
	case KERN_PROBE_PARTITIONED:
	case KERN_PROBE_OTHER:
		log_err("kern: %s holds a %s signature, not a filesystem: not mounted",
			req->lun_file, found);
		return -EMEDIUMTYPE;
	default:
		if (rc == -EUCLEAN)
			log_err("kern: %s has conflicting signatures: not mounted",
				req->lun_file);
		return rc;
	}
	if (strlen(req->fstype ? req->fstype : found) >= sizeof(info->fstype))
		return -ENAMETOOLONG;
	strcpy(info->fstype, req->fstype ? req->fstype : found);
	return 0;
}

int kern_mount(const struct kern_mount_req *req, struct kern_mount_info *out)
{
	struct kern_mount_info info;
	struct stat st;
	int lfd, rc;

	memset(&info, 0, sizeof(info));
	if (!req->lun_file || !req->mountpoint ||
	    (req->mkfs_type && !safe_name(req->mkfs_type)) ||
	    (req->fstype && !safe_name(req->fstype)))
		return -EINVAL;
	if (stat(req->lun_file, &st) != 0)
		return -errno;
	info.block_size = req->block_size ? req->block_size
			  : S_ISREG(st.st_mode) && st.st_blksize >= 512 &&
			    st.st_blksize <= 4096 ? (uint32_t)st.st_blksize : 512;
	rc = kern_mkdirs(req->mountpoint, 0755);
	if (rc)
		return rc;
	if (kern_is_mountpoint(req->mountpoint) == 1) {
		log_err("kern: something is already mounted on %s", req->mountpoint);
		return -EBUSY;
	}
	lfd = kern_loop_attach(req->lun_file, info.block_size, req->read_only,
			       info.loop_dev, &info.direct_io);
	if (lfd < 0)
		return lfd;
	rc = prepare_fs(req, info.loop_dev, &info);
	if (rc == 0 && mount(info.loop_dev, req->mountpoint, info.fstype,
			     req->read_only ? MS_RDONLY : 0, req->options) != 0) {
		rc = -errno;
		log_err("kern: mount %s (%s) on %s: %s", info.loop_dev, info.fstype,
			req->mountpoint, strerror(-rc));
	}
	if (rc)
		kern_loop_detach(info.loop_dev);
	/* Autoclear: from here the mount alone keeps the device attached. */
	close(lfd);
	if (rc == 0) {
		log_info("kern: %s mounted on %s (%s, %s, block size %u%s)", req->lun_file,
			 req->mountpoint, info.fstype, info.loop_dev, info.block_size,
			 info.direct_io ? ", direct I/O" : "");
		if (out)
			*out = info;
	}
	return rc;
}

static int flush_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int kern_unmount(const char *mountpoint)
{
	char canon[PATH_MAX], source[PATH_MAX], fstype[64], backing[PATH_MAX];
	bool loop;
	int fd, rc;

	if (!realpath(mountpoint, canon))
		return -errno;
	rc = kern_mount_source(canon, source, sizeof(source), fstype, sizeof(fstype));
	if (rc)
		return rc;
	loop = kern_loop_backing_file(source, backing, sizeof(backing)) == 0;
	/* Write back everything first, so that a busy unmount still leaves
	 * the data on the LUN. */
	fd = open(canon, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (syncfs(fd) != 0)
			log_warn("kern: syncfs %s: %s", canon, strerror(errno));
		close(fd);
	}
	if (umount2(canon, 0) != 0) {
		rc = -errno;
		log_err("kern: umount %s: %s", canon, strerror(-rc));
		return rc;
	}
	if (!loop)
		return 0;
	rc = kern_loop_detach(source);
	if (rc)
		log_warn("kern: detach %s: %s", source, strerror(-rc));
	rc = flush_file(backing);
	if (rc)
		log_err("kern: cache flush of %s failed: %s", backing, strerror(-rc));
	else
		log_info("kern: %s unmounted, %s detached, %s flushed", canon, source, backing);
	return rc;
}

int kern_mount_resize(const char *mountpoint)
{
	char canon[PATH_MAX], source[PATH_MAX], fstype[64];
	int rc;

	if (!realpath(mountpoint, canon))
		return -errno;
	rc = kern_mount_source(canon, source, sizeof(source), fstype, sizeof(fstype));
	return rc ? rc : kern_loop_set_capacity(source);
}

int kern_mount_lookup(const char *lun_file, char *loop_dev, size_t loop_len,
		      char *mountpoint, size_t mnt_len)
{
	char want[PATH_MAX], dev[KERN_LOOP_NAME_MAX + 8], back[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	loop_dev[0] = mountpoint[0] = '\0';
	if (!realpath(lun_file, want))
		return -errno;
	d = opendir("/sys/block");
	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "loop", 4) != 0 || strlen(e->d_name) > KERN_LOOP_NAME_MAX)
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
		if (kern_loop_backing_file(dev, back, sizeof(back)) != 0 ||
		    strcmp(back, want) != 0)
			continue;
		if (strlen(dev) >= loop_len) {
			rc = -ENAMETOOLONG;
			break;
		}
		strcpy(loop_dev, dev);
		rc = kern_mount_target(dev, mountpoint, mnt_len);
		if (rc == -ENOENT)
			rc = 0;
		break;
	}
	closedir(d);
	return rc;
}
