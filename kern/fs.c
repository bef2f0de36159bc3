/* SPDX-License-Identifier: MIT */
/* The LUN filesystem over libfuse3's low-level API: see fs.h. */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>

#include "kern/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "kern/pool.h"
#include "kern/util.h"

#define FS_ROOT_INO 1u
#define FS_MAX_IOV  16      /* pieces of one write request from libfuse */
#define FS_MAX_BLOCK 65536u /* largest block size: read buffers are padded by 2 */

struct fs_lun {
	char *name;                 /* NULL: free slot */
	struct kern_backend *b;
	atomic_uint opens;
	uint64_t gen;               /* bumped on reuse so that old handles go stale */
};

/* One read in flight, paired with pool buffer of the same index. */
struct fs_read {
	struct kern_io io;
	struct iovec iov;
	fuse_req_t req;
	struct kern_fs *fs;
	unsigned idx;
	size_t skip, size;          /* the caller's bytes within the buffer */
};

struct kern_fs {
	struct fuse_session *se;
	char *mountpoint;
	unsigned threads;
	unsigned max_io;
	unsigned conn_id;           /* minor of the FUSE connection, for abort */
	pthread_t loop;
	bool loop_running;
	atomic_bool loop_done;
	pthread_mutex_t lock;       /* the LUN table */
	struct fs_lun *luns;
	unsigned max_luns;
	struct kern_pool *pool;
	struct fs_read *reads;
};

static struct kern_fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static fuse_ino_t lun_ino(const struct kern_fs *fs, const struct fs_lun *l)
{
	return FS_ROOT_INO + 1 + (fuse_ino_t)(l - fs->luns);
}

/* The slot of a file inode, or NULL. Caller holds fs->lock. */
static struct fs_lun *ino_lun(struct kern_fs *fs, fuse_ino_t ino)
{
	struct fs_lun *l;

	if (ino <= FS_ROOT_INO || ino - FS_ROOT_INO - 1 >= fs->max_luns)
		return NULL;
	l = &fs->luns[ino - FS_ROOT_INO - 1];
	return l->name ? l : NULL;
}

static struct fs_lun *name_lun(struct kern_fs *fs, const char *name)
{
	for (unsigned i = 0; i < fs->max_luns; i++)
		if (fs->luns[i].name && strcmp(fs->luns[i].name, name) == 0)
			return &fs->luns[i];
	return NULL;
}

static void lun_stat(struct kern_fs *fs, struct fs_lun *l, struct stat *st)
{
	struct kern_geometry g;

	kern_geometry(l->b, &g);
	memset(st, 0, sizeof(*st));
	st->st_ino = lun_ino(fs, l);
	st->st_mode = S_IFREG | (g.read_only ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)(g.blocks * g.block_size);
	st->st_blksize = (blksize_t)g.block_size;  /* kern_mount() reads it */
	st->st_blocks = (blkcnt_t)(g.blocks * g.block_size / 512);
}

static void root_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FS_ROOT_INO;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
}

/* ---- session-level operations -------------------------------------------- */

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct kern_fs *fs = userdata;

	conn->max_write = fs->max_io;
	conn->max_read = fs->max_io;
	/* The loop device submits asynchronous direct I/O: let many requests
	 * be in flight (they are background requests to the kernel). */
	conn->max_background = 128;
	conn->congestion_threshold = 96;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Splicing would add a pipe copy for memory buffers. */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
				  FUSE_CAP_SPLICE_MOVE);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct kern_fs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct fs_lun *l;

	if (parent != FS_ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	memset(&e, 0, sizeof(e));
	pthread_mutex_lock(&fs->lock);
	l = name_lun(fs, name);
	if (l) {
		lun_stat(fs, l, &e.attr);
		e.ino = e.attr.st_ino;
		e.generation = l->gen;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!l) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.attr_timeout = 0.0;    /* size can change under us: always ask */
	e.entry_timeout = 1.0;
	fuse_reply_entry(req, &e);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct kern_fs *fs = req_fs(req);
	struct stat st;
	struct fs_lun *l = NULL;

	(void)fi;
	if (ino == FS_ROOT_INO) {
		root_stat(&st);
	} else {
		pthread_mutex_lock(&fs->lock);
		l = ino_lun(fs, ino);
		if (l)
			lun_stat(fs, l, &st);
		pthread_mutex_unlock(&fs->lock);
		if (!l) {
			fuse_reply_err(req, ENOENT);
			return;
		}
	}
	fuse_reply_attr(req, &st, 0.0);
}

/* Sizes are the LUN's: only a "truncate" to the current size succeeds;
 * mode, owner and times are accepted and forgotten. */
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct kern_fs *fs = req_fs(req);
	struct fs_lun *l;
	struct stat st;

	(void)fi;
	if (ino == FS_ROOT_INO) {
		root_stat(&st);
		fuse_reply_attr(req, &st, 0.0);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	l = ino_lun(fs, ino);
	if (l)
		lun_stat(fs, l, &st);
	pthread_mutex_unlock(&fs->lock);
	if (!l)
		fuse_reply_err(req, ENOENT);
	else if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != st.st_size)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_attr(req, &st, 0.0);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct kern_fs *fs = req_fs(req);
	size_t cap = 4096, used = 0;
	char *buf;

	(void)fi;
	if (ino != FS_ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(cap);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	/* Entry i is ".", "..", then slot i-2; the offset of an entry is the
	 * index of the next one, so a listing resumes where it stopped. */
	for (unsigned i = (unsigned)off; i < fs->max_luns + 2; i++) {
		struct stat st;
		const char *name;
		size_t need;

		memset(&st, 0, sizeof(st));
		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = FS_ROOT_INO;
			st.st_mode = S_IFDIR;
		} else if (fs->luns[i - 2].name) {
			name = fs->luns[i - 2].name;
			st.st_ino = lun_ino(fs, &fs->luns[i - 2]);
			st.st_mode = S_IFREG;
		} else {
			continue;
		}
		need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
		if (used + need > size)
			break;
		if (used + need > cap) {
			char *nb = realloc(buf, cap * 2 > used + need ? cap * 2 : used + need);

			if (!nb)
				break;
			buf = nb;
			cap = cap * 2 > used + need ? cap * 2 : used + need;
		}
		fuse_add_direntry(req, buf + used, cap - used, name, &st, (off_t)i + 1);
		used += need;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct kern_fs *fs = req_fs(req);
	struct fs_lun *l;
	struct kern_geometry g;

	pthread_mutex_lock(&fs->lock);
	l = ino_lun(fs, ino);
	if (l)
		atomic_fetch_add(&l->opens, 1);
	pthread_mutex_unlock(&fs->lock);
	if (!l) {
		fuse_reply_err(req, ino == FS_ROOT_INO ? EISDIR : ENOENT);
		return;
	}
	kern_geometry(l->b, &g);
	if (g.read_only && (fi->flags & O_ACCMODE) != O_RDONLY) {
		atomic_fetch_sub(&l->opens, 1);
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)l;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)   /* the opener was interrupted */
		atomic_fetch_sub(&l->opens, 1);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_lun *l = (struct fs_lun *)(uintptr_t)fi->fh;

	(void)ino;
	atomic_fetch_sub(&l->opens, 1);
	fuse_reply_err(req, 0);
}

static void read_done(struct kern_io *io)
{
	struct fs_read *r = io->priv;
	struct kern_fs *fs = r->fs;
	fuse_req_t req = r->req;

	if (io->err) {
		fuse_reply_err(req, -io->err);
	} else {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(r->size);

		bv.buf[0].mem = (char *)kern_pool_buf(fs->pool, r->idx) + r->skip;
		fuse_reply_data(req, &bv, FUSE_BUF_NO_SPLICE);
	}
	kern_pool_put(fs->pool, r->idx);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct kern_fs *fs = req_fs(req);
	struct fs_lun *l = (struct fs_lun *)(uintptr_t)fi->fh;
	struct kern_geometry g;
	uint64_t dev, start, end;
	struct fs_read *r;
	int rc;

	(void)ino;
	kern_geometry(l->b, &g);
	dev = g.blocks * g.block_size;
	if (off < 0 || (uint64_t)off >= dev || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > fs->max_io)
		size = fs->max_io;
	if (size > dev - (uint64_t)off)
		size = (size_t)(dev - (uint64_t)off);
	start = (uint64_t)off & ~(uint64_t)(g.block_size - 1);
	end = ((uint64_t)off + size + g.block_size - 1) & ~(uint64_t)(g.block_size - 1);

	r = &fs->reads[kern_pool_get(fs->pool)];
	r->req = req;
	r->skip = (size_t)((uint64_t)off - start);
	r->size = size;
	r->iov.iov_base = kern_pool_buf(fs->pool, r->idx);
	r->iov.iov_len = (size_t)(end - start);
	memset(&r->io, 0, sizeof(r->io));
	r->io.op = KERN_OP_READ;
	r->io.offset = start;
	r->io.len = end - start;
	r->io.iov = &r->iov;
	r->io.iovcnt = 1;
	r->io.done = read_done;
	r->io.priv = r;
	rc = kern_submit(l->b, &r->io);
	if (rc) {
		r->io.err = rc;
		read_done(&r->io);
	}
}

static void fs_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *bufv,
			 off_t off, struct fuse_file_info *fi)
{
	struct fs_lun *l = (struct fs_lun *)(uintptr_t)fi->fh;
	struct kern_geometry g;
	struct iovec iov[FS_MAX_IOV];
	struct kern_io io;
	size_t size = fuse_buf_size(bufv), left, skip;
	uint64_t dev;
	int n = 0, rc;

	(void)ino;
	kern_geometry(l->b, &g);
	dev = g.blocks * g.block_size;
	if (off < 0 || (((uint64_t)off | size) & (g.block_size - 1))) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= dev) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	if (size > dev - (uint64_t)off)
		size = (size_t)(dev - (uint64_t)off);
	/* Point straight at libfuse's request buffer(s): no copy. We never
	 * ask for splice, so every piece is memory. */
	left = size;
	skip = bufv->off;
	for (size_t i = bufv->idx; i < bufv->count && left && n < FS_MAX_IOV; i++) {
		const struct fuse_buf *fb = &bufv->buf[i];
		size_t take;

		if (fb->flags & FUSE_BUF_IS_FD) {
			fuse_reply_err(req, EIO);
			return;
		}
		take = fb->size - skip < left ? fb->size - skip : left;
		iov[n].iov_base = (char *)fb->mem + skip;
		iov[n].iov_len = take;
		n++;
		left -= take;
		skip = 0;
	}
	if (left) {
		fuse_reply_err(req, EIO);
		return;
	}
	memset(&io, 0, sizeof(io));
	io.op = KERN_OP_WRITE;
	io.offset = (uint64_t)off;
	io.len = size;
	io.iov = iov;
	io.iovcnt = n;
	rc = kern_io_run(l->b, &io);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void fs_flush_common(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fs_lun *l = (struct fs_lun *)(uintptr_t)fi->fh;
	struct kern_geometry g;
	int rc = 0;

	kern_geometry(l->b, &g);
	if (!g.read_only)
		rc = kern_flush(l->b);
	fuse_reply_err(req, -rc);
}

static void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_flush_common(req, fi);
}

static void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	fs_flush_common(req, fi);
}

static void fs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t length, struct fuse_file_info *fi)
{
	struct fs_lun *l = (struct fs_lun *)(uintptr_t)fi->fh;
	struct kern_geometry g;
	uint64_t dev, start, end;
	int rc;

	(void)ino;
	kern_geometry(l->b, &g);
	dev = g.blocks * g.block_size;
	if (off < 0 || length <= 0 || (uint64_t)off > dev ||
	    (uint64_t)length > dev - (uint64_t)off) {
		fuse_reply_err(req, mode ? EINVAL : ENOSPC);
		return;
	}
	if (mode == 0) {        /* "allocate": every block of a LUN exists */
		fuse_reply_err(req, 0);
		return;
	}
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) &&
	    mode != FALLOC_FL_ZERO_RANGE &&
	    mode != (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	start = (uint64_t)off;
	end = start + (uint64_t)length;
	if ((start | end) & (g.block_size - 1)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (mode & FALLOC_FL_PUNCH_HOLE)
		/* A punched hole must read back as zeroes: UNMAP says so only
		 * with LBPRZ; otherwise WRITE_ZEROES (WRITE SAME with UNMAP)
		 * deallocates where it can and zeroes the rest. */
		rc = kern_discard(l->b, start, end - start,
				  !(g.can_unmap && g.unmap_zeroes));
	else
		rc = kern_discard(l->b, start, end - start, true);
	fuse_reply_err(req, -rc);
}

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.setattr = fs_setattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.release = fs_release,
	.read = fs_read,
	.write_buf = fs_write_buf,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.fallocate = fs_fallocate,
	.statfs = fs_statfs,
};

/* ---- lifecycle ----------------------------------------------------------- */

static void *loop_main(void *arg)
{
	struct kern_fs *fs = arg;
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	if (cfg) {
		fuse_loop_cfg_set_max_threads(cfg, fs->threads);
		fuse_loop_cfg_set_idle_threads(cfg, fs->threads / 2 ? fs->threads / 2 : 1);
		fuse_loop_cfg_set_clone_fd(cfg, 1);
		fuse_session_loop_mt(fs->se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	atomic_store(&fs->loop_done, true);
	return NULL;
}

static int fs_session(struct kern_fs *fs, const struct kern_fs_opts *o)
{
	char opts[256];
	char *argv[4];
	struct fuse_args args;

	snprintf(opts, sizeof(opts), "fsname=%s,subtype=mcsi,max_read=%u%s",
		 o->fsname ? o->fsname : "mcsi", fs->max_io,
		 o->allow_other ? ",allow_other" : "");
	argv[0] = (char *)"mcsi";
	argv[1] = (char *)"-o";
	argv[2] = opts;
	argv[3] = NULL;
	args.argc = 3;
	args.argv = argv;
	args.allocated = 0;
	fs->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->se)
		return -EINVAL;
	if (fuse_session_mount(fs->se, fs->mountpoint) != 0)
		return -EIO;
	return 0;
}

/* A FUSE filesystem whose server died (a session process that crashed or
 * was killed) stays mounted and answers ENOTCONN to everything; left
 * there, the next session for the same target could never present its
 * LUNs. Nothing can be served through such a mount any more: detach it. */
static void fs_detach_dead(const char *mountpoint)
{
	struct stat st;

	if (stat(mountpoint, &st) == 0 || errno != ENOTCONN)
		return;
	if (umount2(mountpoint, MNT_DETACH) == 0)
		log_warn("kern: %s: detached the LUN filesystem of a session process that "
			 "died", mountpoint);
}

int kern_fs_create(const struct kern_fs_opts *o, struct kern_fs **out)
{
	struct kern_fs *fs;
	struct stat st;
	int rc;

	if (!o->mountpoint || !*o->mountpoint || (o->fsname && strchr(o->fsname, ',')))
		return -EINVAL;
	fs_detach_dead(o->mountpoint);
	rc = kern_mkdirs(o->mountpoint, 0755);
	if (rc)
		return rc;
	rc = kern_is_mountpoint(o->mountpoint);
	if (rc != 0)
		return rc > 0 ? -EBUSY : rc;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->threads = o->threads ? o->threads : 32;
	fs->max_io = o->max_io ? o->max_io : 1u << 20;
	fs->max_luns = o->max_luns ? o->max_luns : 256;
	pthread_mutex_init(&fs->lock, NULL);
	fs->mountpoint = strdup(o->mountpoint);
	fs->luns = calloc(fs->max_luns, sizeof(*fs->luns));
	rc = fs->mountpoint && fs->luns ? 0 : -ENOMEM;
	if (rc == 0)
		rc = kern_pool_create(o->read_buffers ? o->read_buffers : 64,
				      fs->max_io + 2 * FS_MAX_BLOCK, &fs->pool);
	if (rc == 0) {
		fs->reads = calloc(kern_pool_count(fs->pool), sizeof(*fs->reads));
		rc = fs->reads ? 0 : -ENOMEM;
	}
	for (unsigned i = 0; rc == 0 && i < kern_pool_count(fs->pool); i++) {
		fs->reads[i].fs = fs;
		fs->reads[i].idx = i;
	}
	if (rc == 0)
		rc = fs_session(fs, o);
	if (rc == 0) {
		rc = -pthread_create(&fs->loop, NULL, loop_main, fs);
		fs->loop_running = rc == 0;
	}
	/* Only now: stat() of the root is a FUSE request the loop answers. */
	if (rc == 0 && stat(fs->mountpoint, &st) == 0)
		fs->conn_id = minor(st.st_dev);
	if (rc) {
		log_err("kern: cannot mount the LUN filesystem on %s: %s", o->mountpoint,
			strerror(-rc));
		kern_fs_destroy(fs);
		return rc;
	}
	*out = fs;
	return 0;
}

/* Waits up to ms for the session loop to end. */
static bool loop_wait(struct kern_fs *fs, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10; i++) {
		if (atomic_load(&fs->loop_done))
			return true;
		usleep(10000);
	}
	return atomic_load(&fs->loop_done);
}

/* Aborts the FUSE connection: wakes the session loop even while the file
 * is still held open (by a loop device that outlives us). */
static void fs_abort(struct kern_fs *fs)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", fs->conn_id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT &&
	    mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL) == 0)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			log_warn("kern: cannot abort FUSE connection %u", fs->conn_id);
		close(fd);
	}
}

void kern_fs_destroy(struct kern_fs *fs)
{
	if (!fs)
		return;
	if (fs->se) {
		fuse_session_exit(fs->se);
		if (fs->loop_running) {
			/* A lazy unmount ends the connection once nothing holds
			 * the mount; if something still does, abort it. */
			umount2(fs->mountpoint, MNT_DETACH);
			if (!loop_wait(fs, 2000))
				fs_abort(fs);
			pthread_join(fs->loop, NULL);
		}
		/* Quiet once the connection is gone; frees libfuse's copy of
		 * the mountpoint either way. */
		fuse_session_unmount(fs->se);
	}
	/* Reads still in the backend complete into a dead session: harmless,
	 * but their buffers must come back before the pool goes. */
	if (fs->pool)
		for (unsigned i = 0; i < kern_pool_count(fs->pool); i++)
			(void)kern_pool_get(fs->pool);
	if (fs->se)
		fuse_session_destroy(fs->se);
	kern_pool_destroy(fs->pool);
	for (unsigned i = 0; fs->luns && i < fs->max_luns; i++)
		free(fs->luns[i].name);
	free(fs->luns);
	free(fs->reads);
	free(fs->mountpoint);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

int kern_fs_add(struct kern_fs *fs, const char *name, struct kern_backend *b)
{
	struct kern_geometry g;
	struct fs_lun *slot = NULL;
	int rc = 0;

	kern_geometry(b, &g);
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) > 255 ||
	    (g.max_io && g.max_io < fs->max_io) || g.block_size > FS_MAX_BLOCK)
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	if (name_lun(fs, name)) {
		rc = -EEXIST;
	} else {
		for (unsigned i = 0; i < fs->max_luns && !slot; i++)
			if (!fs->luns[i].name)
				slot = &fs->luns[i];
		if (!slot)
			rc = -ENOSPC;
	}
	if (rc == 0) {
		slot->name = strdup(name);
		if (!slot->name) {
			rc = -ENOMEM;
		} else {
			slot->b = b;
			slot->gen++;
			atomic_store(&slot->opens, 0);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int kern_fs_remove(struct kern_fs *fs, const char *name)
{
	struct fs_lun *l;
	char *gone = NULL;
	int rc = 0;

	pthread_mutex_lock(&fs->lock);
	l = name_lun(fs, name);
	if (!l) {
		rc = -ENOENT;
	} else if (atomic_load(&l->opens)) {
		rc = -EBUSY;
	} else {
		gone = l->name;
		l->name = NULL;
		l->b = NULL;
	}
	pthread_mutex_unlock(&fs->lock);
	if (gone) {
		fuse_lowlevel_notify_inval_entry(fs->se, FS_ROOT_INO, gone, strlen(gone));
		free(gone);
	}
	return rc;
}

int kern_fs_changed(struct kern_fs *fs, const char *name)
{
	struct fs_lun *l;
	fuse_ino_t ino = 0;

	pthread_mutex_lock(&fs->lock);
	l = name_lun(fs, name);
	if (l)
		ino = lun_ino(fs, l);
	pthread_mutex_unlock(&fs->lock);
	if (!l)
		return -ENOENT;
	/* -ENOENT: the kernel has no inode cached, nothing to drop. */
	(void)fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	return 0;
}

const char *kern_fs_mountpoint(const struct kern_fs *fs)
{
	return fs->mountpoint;
}
