/* SPDX-License-Identifier: MIT */
/* NBD server protocol over bytes: see nbd_proto.h. */
#include "kern/nbd_proto.h"

#include <errno.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

void nbdp_greeting(uint8_t out[NBDP_GREETING_LEN])
{
	put64(out, NBD_MAGIC);
	put64(out + 8, NBD_OPTS_MAGIC);
	put16(out + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
}

int nbdp_client_flags(const uint8_t in[4], uint32_t *flags)
{
	*flags = get32(in);
	return *flags & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)
	       ? -EPROTO : 0;
}

int nbdp_opt_header(const uint8_t in[NBDP_OPT_HDR_LEN], uint32_t *opt, uint32_t *len)
{
	if (get64(in) != NBD_OPTS_MAGIC)
		return -EPROTO;
	*opt = get32(in + 8);
	*len = get32(in + 12);
	return 0;
}

static int append(struct nbdp_out *out, const void *data, size_t len)
{
	if (out->cap - out->len < len)
		return -ENOBUFS;
	if (len)
		memcpy(out->buf + out->len, data, len);
	out->len += len;
	return 0;
}

int nbdp_opt_reply(struct nbdp_out *out, uint32_t opt, uint32_t type,
		   const void *data, uint32_t len)
{
	uint8_t h[20];

	if (out->cap - out->len < sizeof(h) + len)
		return -ENOBUFS;
	put64(h, NBD_REP_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	append(out, h, sizeof(h));
	return append(out, data, len);
}

/* An empty option reply, then the action (or -ENOBUFS). */
static int reply_then(struct nbdp_out *out, uint32_t opt, uint32_t type, int action)
{
	int rc = nbdp_opt_reply(out, opt, type, NULL, 0);

	return rc ? rc : action;
}

static uint16_t tx_flags(const struct nbdp_export *e)
{
	return (uint16_t)(e->flags | NBD_FLAG_HAS_FLAGS);
}

/* The export called name ("" is the first one), or -1. */
static long find_export(const struct nbdp_export *exps, size_t nexp,
			const uint8_t *name, uint32_t len)
{
	if (len == 0)
		return nexp ? 0 : -1;
	for (size_t i = 0; i < nexp; i++)
		if (strlen(exps[i].name) == len && memcmp(exps[i].name, name, len) == 0)
			return (long)i;
	return -1;
}

/* NBD_OPT_EXPORT_NAME: no option reply; the export data or a close. */
static int opt_export_name(const struct nbdp_export *exps, size_t nexp,
			   uint32_t cflags, const uint8_t *data, uint32_t len,
			   struct nbdp_out *out, size_t *chosen)
{
	uint8_t r[10 + 124];
	long i = find_export(exps, nexp, data, len);
	size_t n = cflags & NBD_FLAG_C_NO_ZEROES ? 10 : sizeof(r);
	int rc;

	if (i < 0)
		return NBDP_CLOSE;   /* the protocol has no way to say "unknown" here */
	memset(r, 0, sizeof(r));
	put64(r, exps[i].size);
	put16(r + 8, tx_flags(&exps[i]));
	rc = append(out, r, n);
	if (rc)
		return rc;
	*chosen = (size_t)i;
	return NBDP_TRANSMIT;
}

/* NBD_OPT_INFO and NBD_OPT_GO */
static int opt_info(const struct nbdp_export *exps, size_t nexp, uint32_t opt,
		    const uint8_t *data, uint32_t len, struct nbdp_out *out, size_t *chosen)
{
	uint32_t namelen;
	uint16_t nreq;
	bool want_bs = false;
	uint8_t info[18];
	long i;
	int rc;

	if (len < 6)
		return reply_then(out, opt, NBD_REP_ERR_INVALID, NBDP_CONTINUE);
	namelen = get32(data);
	if (namelen > len - 6)
		return reply_then(out, opt, NBD_REP_ERR_INVALID, NBDP_CONTINUE);
	nreq = get16(data + 4 + namelen);
	if ((uint32_t)nreq * 2 != len - 6 - namelen)
		return reply_then(out, opt, NBD_REP_ERR_INVALID, NBDP_CONTINUE);
	for (uint16_t k = 0; k < nreq; k++)
		if (get16(data + 6 + namelen + 2u * k) == NBD_INFO_BLOCK_SIZE)
			want_bs = true;
	i = find_export(exps, nexp, data + 4, namelen);
	if (i < 0)
		return reply_then(out, opt, NBD_REP_ERR_UNKNOWN, NBDP_CONTINUE);

	put16(info, NBD_INFO_EXPORT);
	put64(info + 2, exps[i].size);
	put16(info + 10, tx_flags(&exps[i]));
	rc = nbdp_opt_reply(out, opt, NBD_REP_INFO, info, 12);
	if (rc == 0 && want_bs) {
		put16(info, NBD_INFO_BLOCK_SIZE);
		put32(info + 2, exps[i].min_block);
		put32(info + 6, exps[i].pref_block);
		put32(info + 10, exps[i].max_block);
		rc = nbdp_opt_reply(out, opt, NBD_REP_INFO, info, 14);
	}
	if (rc == 0)
		rc = nbdp_opt_reply(out, opt, NBD_REP_ACK, NULL, 0);
	if (rc)
		return rc;
	if (opt == NBD_OPT_INFO)
		return NBDP_CONTINUE;
	*chosen = (size_t)i;
	return NBDP_TRANSMIT;
}

static int opt_list(const struct nbdp_export *exps, size_t nexp, uint32_t len,
		    struct nbdp_out *out)
{
	uint8_t item[4 + 256];

	if (len != 0)
		return reply_then(out, NBD_OPT_LIST, NBD_REP_ERR_INVALID, NBDP_CONTINUE);
	for (size_t i = 0; i < nexp; i++) {
		size_t n = strlen(exps[i].name);
		int rc;

		if (n > 256)
			continue;
		put32(item, (uint32_t)n);
		memcpy(item + 4, exps[i].name, n);
		rc = nbdp_opt_reply(out, NBD_OPT_LIST, NBD_REP_SERVER, item, (uint32_t)(4 + n));
		if (rc)
			return rc;
	}
	return reply_then(out, NBD_OPT_LIST, NBD_REP_ACK, NBDP_CONTINUE);
}

int nbdp_handle_opt(const struct nbdp_export *exps, size_t nexp, uint32_t cflags,
		    uint32_t opt, const uint8_t *data, uint32_t len,
		    struct nbdp_out *out, size_t *chosen)
{
	if (len > NBDP_OPT_DATA_MAX)
		return -EINVAL;
	/* Without fixed newstyle the client cannot take an error reply. */
	if (!(cflags & NBD_FLAG_C_FIXED_NEWSTYLE) && opt != NBD_OPT_EXPORT_NAME)
		return NBDP_CLOSE;
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		return opt_export_name(exps, nexp, cflags, data, len, out, chosen);
	case NBD_OPT_ABORT:
		return reply_then(out, opt, NBD_REP_ACK, NBDP_CLOSE);
	case NBD_OPT_LIST:
		return opt_list(exps, nexp, len, out);
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return opt_info(exps, nexp, opt, data, len, out, chosen);
	default:
		/* STARTTLS, STRUCTURED_REPLY, meta contexts, unknown */
		return reply_then(out, opt, NBD_REP_ERR_UNSUP, NBDP_CONTINUE);
	}
}

int nbdp_parse_req(const uint8_t in[NBDP_REQ_LEN], struct nbdp_req *r)
{
	if (get32(in) != NBD_REQUEST_MAGIC)
		return -EPROTO;
	r->flags = get16(in + 4);
	r->type = get16(in + 6);
	r->cookie = get64(in + 8);
	r->offset = get64(in + 16);
	r->len = get32(in + 24);
	return 0;
}

static bool inside(const struct nbdp_req *r, uint64_t size)
{
	return r->offset <= size && r->len <= size - r->offset;
}

uint32_t nbdp_check_req(const struct nbdp_req *r, const struct nbdp_export *e)
{
	uint64_t mask = e->min_block ? e->min_block - 1 : 0;
	bool ro = e->flags & NBD_FLAG_READ_ONLY;

	if (r->flags & ~(uint32_t)(NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE))
		return NBD_EINVAL;
	if ((r->flags & NBD_CMD_FLAG_FUA) && !(e->flags & NBD_FLAG_SEND_FUA))
		return NBD_EINVAL;
	switch (r->type) {
	case NBD_CMD_READ:
	case NBD_CMD_WRITE:
		if (r->len == 0 || r->len > e->max_block || ((r->offset | r->len) & mask))
			return NBD_EINVAL;
		if (r->type == NBD_CMD_WRITE && ro)
			return NBD_EPERM;
		if (!inside(r, e->size))
			return r->type == NBD_CMD_WRITE ? NBD_ENOSPC : NBD_EINVAL;
		return 0;
	case NBD_CMD_FLUSH:
		return 0;
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		if (!(e->flags & (r->type == NBD_CMD_TRIM ? NBD_FLAG_SEND_TRIM
					: NBD_FLAG_SEND_WRITE_ZEROES)))
			return NBD_EINVAL;
		if (ro)
			return NBD_EPERM;
		if (r->len == 0)
			return NBD_EINVAL;
		if (!inside(r, e->size))
			return NBD_ENOSPC;
		if (r->type == NBD_CMD_WRITE_ZEROES && ((r->offset | r->len) & mask))
			return NBD_EINVAL;
		return 0;
	default:
		return NBD_EINVAL;
	}
}

void nbdp_simple_reply(uint8_t out[NBDP_REPLY_LEN], uint32_t error, uint64_t cookie)
{
	put32(out, NBD_SIMPLE_REPLY_MAGIC);
	put32(out + 4, error);
	put64(out + 8, cookie);
}

uint32_t nbdp_error(int err)
{
	switch (err) {
	case 0: return 0;
	case -EPERM: case -EROFS: return NBD_EPERM;
	case -ENOMEM: return NBD_ENOMEM;
	case -EINVAL: return NBD_EINVAL;
	case -ENOSPC: return NBD_ENOSPC;
	case -EOVERFLOW: return NBD_EOVERFLOW;
	case -EOPNOTSUPP: return NBD_ENOTSUP;
	case -ESHUTDOWN: return NBD_ESHUTDOWN;
	default: return NBD_EIO;
	}
}
