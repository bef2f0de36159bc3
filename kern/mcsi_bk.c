/* SPDX-License-Identifier: MIT */
/* The iSCSI backend: see mcsi_bk.h. */
#include "kern/mcsi_bk.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath/log.h"
#include "kern/vpd.h"

struct mbk_cmd {
	struct mcsi_cmd cmd;
	struct kern_io *io;
	struct mbk *owner;
	uint8_t param[24];          /* UNMAP parameter list */
	struct iovec piov;
};

struct mbk {
	struct kern_backend kb;
	mcsi_session *s;
	uint32_t lun;
	char *identity;
	/* geometry, replaced as a whole by rescan */
	pthread_mutex_t geo_lock;
	struct kern_geometry geo;
	/* command pool */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct mbk_cmd *cmds;
	unsigned *free;
	unsigned nfree, count;
	void *zero_block;           /* WRITE SAME data, block_size bytes */
	struct iovec zero_iov;      /* read-only once created: shared by commands */
};

static struct mbk *to_mbk(struct kern_backend *b)
{
	return (struct mbk *)b;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static void geometry(struct kern_backend *b, struct kern_geometry *g)
{
	struct mbk *m = to_mbk(b);

	pthread_mutex_lock(&m->geo_lock);
	*g = m->geo;
	pthread_mutex_unlock(&m->geo_lock);
}

static struct mbk_cmd *cmd_get(struct mbk *m)
{
	unsigned idx;

	pthread_mutex_lock(&m->lock);
	while (m->nfree == 0)
		pthread_cond_wait(&m->freed, &m->lock);
	idx = m->free[--m->nfree];
	pthread_mutex_unlock(&m->lock);
	return &m->cmds[idx];
}

static void cmd_put(struct mbk *m, struct mbk_cmd *c)
{
	pthread_mutex_lock(&m->lock);
	m->free[m->nfree++] = (unsigned)(c - m->cmds);
	pthread_cond_signal(&m->freed);
	pthread_mutex_unlock(&m->lock);
}

static void cmd_done(struct mcsi_cmd *cmd, void *priv)
{
	struct mbk_cmd *c = priv;
	struct kern_io *io = c->io;
	int err = cmd->res.err;

	(void)cmd;
	if (err == 0 && io->op == KERN_OP_READ && (cmd->res.flags & MCSI_RES_UNDERFLOW))
		err = -EIO;   /* fewer blocks than asked: never hand back stale bytes */
	if (err == -EIO && cmd->res.sense_key == 0x6 && cmd->res.asc == 0x2a &&
	    cmd->res.ascq == 0x09)
		log_info("kern: LUN %u: capacity data has changed", c->owner->lun);
	cmd_put(c->owner, c);
	io->err = err;
	io->done(io);
}

static int submit(struct kern_backend *b, struct kern_io *io)
{
	struct mbk *m = to_mbk(b);
	struct kern_geometry g;
	struct mbk_cmd *c;
	uint64_t lba;
	uint32_t nblocks;
	uint8_t cdb[16];
	int rc;

	geometry(b, &g);
	rc = kern_io_check(io, &g);
	if (rc)
		return rc;
	lba = io->offset / g.block_size;
	if (io->len / g.block_size > UINT32_MAX)
		return -EINVAL;
	nblocks = (uint32_t)(io->len / g.block_size);
	c = cmd_get(m);
	c->io = io;
	switch (io->op) {
	case KERN_OP_READ:
		mcsi_prep_read(&c->cmd, m->lun, lba, nblocks, io->iov, io->iovcnt);
		break;
	case KERN_OP_WRITE:
		mcsi_prep_write(&c->cmd, m->lun, lba, nblocks, io->iov, io->iovcnt);
		break;
	case KERN_OP_FLUSH:
		mcsi_prep_flush(&c->cmd, m->lun);
		break;
	case KERN_OP_UNMAP:
		if (!g.can_unmap) {
			cmd_put(m, c);
			return -EOPNOTSUPP;
		}
		mcsi_prep_unmap(&c->cmd, m->lun, lba, nblocks, c->param, &c->piov);
		break;
	default:   /* KERN_OP_WRITE_ZEROES: WRITE SAME(16), UNMAP bit */
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x93;
		cdb[1] = g.can_unmap ? 0x08 : 0;
		put_be64(cdb + 2, lba);
		put_be32(cdb + 10, nblocks);
		rc = mcsi_prep_cdb(&c->cmd, m->lun, cdb, sizeof(cdb), MCSI_DIR_WRITE,
				   &m->zero_iov, 1);
		if (rc) {
			cmd_put(m, c);
			return rc;
		}
		break;
	}
	c->cmd.done = cmd_done;
	c->cmd.priv = c;
	rc = mcsi_submit(m->s, &c->cmd);
	if (rc)
		cmd_put(m, c);
	return rc;
}

/* INQUIRY with EVPD for page into buf; returns the bytes received. */
static int inquiry_vpd(struct mbk *m, uint8_t page, uint8_t *buf, uint16_t len)
{
	uint8_t cdb[6] = { 0x12, 0x01, page, (uint8_t)(len >> 8), (uint8_t)len, 0 };
	struct iovec v = { buf, len };
	struct mcsi_result res;
	int rc;

	memset(buf, 0, len);
	rc = mcsi_scsi(m->s, m->lun, cdb, sizeof(cdb), MCSI_DIR_READ, &v, 1, &res);
	return rc ? rc : (int)res.data_in;
}

static int read_geometry(struct mbk *m, struct kern_geometry *g)
{
	uint8_t cdb[16] = { 0x9e, 0x10 }, d[32], b0[64];
	struct iovec v = { d, sizeof(d) };
	struct kern_capacity cap;
	struct mcsi_result res;
	uint32_t max_xfer, max_unmap;
	uint64_t max_ws;
	int rc, n;

	put_be32(cdb + 10, sizeof(d));
	rc = mcsi_scsi(m->s, m->lun, cdb, sizeof(cdb), MCSI_DIR_READ, &v, 1, &res);
	if (rc == 0)
		rc = kern_parse_rc16(d, res.data_in, &cap);
	if (rc) {
		/* READ CAPACITY(16) is optional before SBC-3: the library's
		 * call falls back to (10). */
		memset(&cap, 0, sizeof(cap));
		rc = mcsi_read_capacity(m->s, m->lun, &cap.blocks, &cap.block_size);
		if (rc)
			return rc;
	}
	memset(g, 0, sizeof(*g));
	g->blocks = cap.blocks;
	g->block_size = cap.block_size;
	g->can_unmap = cap.lbpme;
	g->unmap_zeroes = cap.lbprz;
	n = inquiry_vpd(m, 0xb0, b0, sizeof(b0));
	if (n > 0 && kern_parse_vpdb0(b0, (size_t)n, &max_xfer, &max_unmap, &max_ws) == 0) {
		uint64_t lim = max_unmap;

		if (max_xfer && (uint64_t)max_xfer * cap.block_size <= UINT32_MAX)
			g->max_io = max_xfer * cap.block_size;
		if (max_ws && (!lim || max_ws < lim))
			lim = max_ws;
		if (lim)
			g->max_unmap = lim * cap.block_size;
	}
	if (!g->max_unmap)
		g->max_unmap = (uint64_t)UINT32_MAX / cap.block_size * cap.block_size;
	return 0;
}

static int rescan(struct kern_backend *b)
{
	struct mbk *m = to_mbk(b);
	struct kern_geometry g;
	int rc = read_geometry(m, &g);

	if (rc == 0) {
		pthread_mutex_lock(&m->geo_lock);
		if (g.blocks != m->geo.blocks)
			log_info("kern: LUN %u: %llu -> %llu blocks", m->lun,
				 (unsigned long long)m->geo.blocks,
				 (unsigned long long)g.blocks);
		if (g.block_size == m->geo.block_size)
			m->geo = g;
		else
			rc = -EIO;   /* a new block size is a new device */
		pthread_mutex_unlock(&m->geo_lock);
	}
	return rc;
}

static void destroy(struct kern_backend *b)
{
	struct mbk *m = to_mbk(b);

	pthread_cond_destroy(&m->freed);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->geo_lock);
	free(m->zero_block);
	free(m->cmds);
	free(m->free);
	free(m->identity);
	free(m);
}

static const struct kern_backend_ops mbk_ops = {
	.submit = submit,
	.geometry = geometry,
	.rescan = rescan,
	.destroy = destroy,
};

int kern_mcsi_bk_create(mcsi_session *s, uint32_t lun,
			const struct kern_mcsi_bk_opts *o, struct kern_backend **out)
{
	struct mbk *m = calloc(1, sizeof(*m));
	uint8_t page[1024];                 /* as much VPD 0x83 as the LUN scan asks */
	char id[300];
	int rc, n;

	if (!m)
		return -ENOMEM;
	m->kb.ops = &mbk_ops;
	m->s = s;
	m->lun = lun;
	m->count = o && o->queue_depth ? o->queue_depth : 256;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->geo_lock, NULL);
	pthread_cond_init(&m->freed, NULL);
	m->cmds = calloc(m->count, sizeof(*m->cmds));
	m->free = calloc(m->count, sizeof(*m->free));
	rc = m->cmds && m->free ? read_geometry(m, &m->geo) : -ENOMEM;
	if (rc == 0) {
		m->zero_block = calloc(1, m->geo.block_size);
		m->zero_iov.iov_base = m->zero_block;
		m->zero_iov.iov_len = m->geo.block_size;
		rc = m->zero_block ? 0 : -ENOMEM;
	}
	if (rc) {
		destroy(&m->kb);
		return rc;
	}
	for (unsigned i = 0; i < m->count; i++) {
		m->cmds[i].owner = m;
		m->free[i] = i;
	}
	m->nfree = m->count;
	n = inquiry_vpd(m, 0x83, page, sizeof(page));
	if (n <= 0 || kern_vpd83_identity(page, (size_t)n, id, sizeof(id)) != 0) {
		/* No designator: this LUN is never grouped with another. */
		snprintf(id, sizeof(id), "mcsi.%p.lun%u", (void *)s, lun);
		log_warn("kern: LUN %u has no VPD 0x83 designator: no multipath", lun);
	}
	m->identity = strdup(id);
	if (!m->identity) {
		destroy(&m->kb);
		return -ENOMEM;
	}
	m->kb.identity = m->identity;
	*out = &m->kb;
	return 0;
}

int kern_parse_report_luns(const uint8_t *d, size_t len, uint32_t *luns,
			   size_t max, size_t *n)
{
	size_t list;

	*n = 0;
	if (len < 8)
		return -EPROTO;
	list = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
	if (list % 8)
		return -EPROTO;
	if (list > len - 8)
		list = (len - 8) & ~(size_t)7;   /* truncated by allocation length */
	for (size_t off = 8; off < 8 + list && *n < max; off += 8) {
		const uint8_t *e = d + off;

		switch (e[0] >> 6) {
		case 0:   /* peripheral: bus 0 only */
			if (e[0] == 0)
				luns[(*n)++] = e[1];
			break;
		case 1:   /* flat space */
			luns[(*n)++] = (uint32_t)(e[0] & 0x3f) << 8 | e[1];
			break;
		default:
			break;
		}
	}
	return 0;
}

int kern_mcsi_report_luns(mcsi_session *s, uint32_t *luns, size_t max, size_t *n)
{
	uint8_t cdb[12] = { 0xa0 };
	uint32_t alloc = 8 + 8 * 256;
	uint8_t *d = calloc(1, alloc);
	struct iovec v = { d, alloc };
	struct mcsi_result res;
	int rc;

	if (!d)
		return -ENOMEM;
	put_be32(cdb + 6, alloc);
	rc = mcsi_scsi(s, 0, cdb, sizeof(cdb), MCSI_DIR_READ, &v, 1, &res);
	if (rc == 0)
		rc = kern_parse_report_luns(d, res.data_in, luns, max, n);
	free(d);
	return rc;
}
