/* SPDX-License-Identifier: MIT */
#include "proto/scsi.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* ---- byte order --------------------------------------------------------- */

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffffu);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/* ---- status ------------------------------------------------------------- */

const char *scsi_status_name(uint8_t status)
{
	switch (status) {
	case SCSI_STATUS_GOOD:                 return "GOOD";
	case SCSI_STATUS_CHECK_CONDITION:      return "CHECK CONDITION";
	case SCSI_STATUS_CONDITION_MET:        return "CONDITION MET";
	case SCSI_STATUS_BUSY:                 return "BUSY";
	case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
	case SCSI_STATUS_TASK_SET_FULL:        return "TASK SET FULL";
	case SCSI_STATUS_ACA_ACTIVE:           return "ACA ACTIVE";
	case SCSI_STATUS_TASK_ABORTED:         return "TASK ABORTED";
	}
	return "UNKNOWN";
}

bool scsi_status_retryable(uint8_t status)
{
	return status == SCSI_STATUS_BUSY || status == SCSI_STATUS_TASK_SET_FULL;
}

/* ---- CDB builders ------------------------------------------------------- */

/* Zeroes len bytes and sets the opcode; returns len or -ENOSPC. */
static int cdb_begin(uint8_t *cdb, size_t cap, size_t len, uint8_t op)
{
	if (cap < len)
		return -ENOSPC;
	memset(cdb, 0, len);
	cdb[0] = op;
	return (int)len;
}

int scsi_build_test_unit_ready(uint8_t *cdb, size_t cap)
{
	return cdb_begin(cdb, cap, 6, SCSI_OP_TEST_UNIT_READY);
}

int scsi_build_inquiry(uint8_t *cdb, size_t cap, uint16_t alloc_len)
{
	int n = cdb_begin(cdb, cap, 6, SCSI_OP_INQUIRY);
	if (n > 0)
		put16(cdb + 3, alloc_len);
	return n;
}

int scsi_build_inquiry_vpd(uint8_t *cdb, size_t cap, uint8_t page,
			   uint16_t alloc_len)
{
	int n = cdb_begin(cdb, cap, 6, SCSI_OP_INQUIRY);
	if (n > 0) {
		cdb[1] = 0x01;                          /* EVPD */
		cdb[2] = page;
		put16(cdb + 3, alloc_len);
	}
	return n;
}

int scsi_build_report_luns(uint8_t *cdb, size_t cap, uint8_t select,
			   uint32_t alloc_len)
{
	if (alloc_len < 16)
		return -EINVAL;
	int n = cdb_begin(cdb, cap, 12, SCSI_OP_REPORT_LUNS);
	if (n > 0) {
		cdb[2] = select;
		put32(cdb + 6, alloc_len);
	}
	return n;
}

int scsi_build_read_capacity10(uint8_t *cdb, size_t cap)
{
	return cdb_begin(cdb, cap, 10, SCSI_OP_READ_CAPACITY10);
}

int scsi_build_read_capacity16(uint8_t *cdb, size_t cap, uint32_t alloc_len)
{
	int n = cdb_begin(cdb, cap, 16, SCSI_OP_SERVICE_ACTION_IN16);
	if (n > 0) {
		cdb[1] = SCSI_SA_READ_CAPACITY16;
		put32(cdb + 10, alloc_len);
	}
	return n;
}

/* The 10-byte block commands share one layout: flags in byte 1, a 32-bit
 * LBA at 2, a 16-bit length at 7. */
static int cdb_block10(uint8_t *cdb, size_t cap, uint8_t op, uint64_t lba,
		       uint32_t blocks, unsigned flags, unsigned allowed)
{
	if (lba > UINT32_MAX || blocks > UINT16_MAX || (flags & ~allowed))
		return -EINVAL;
	int n = cdb_begin(cdb, cap, 10, op);
	if (n > 0) {
		cdb[1] = (uint8_t)flags;
		put32(cdb + 2, (uint32_t)lba);
		put16(cdb + 7, blocks);
	}
	return n;
}

/* ... and the 16-byte ones: a 64-bit LBA at 2, a 32-bit length at 10. */
static int cdb_block16(uint8_t *cdb, size_t cap, uint8_t op, uint64_t lba,
		       uint32_t blocks, unsigned flags, unsigned allowed)
{
	if (flags & ~allowed)
		return -EINVAL;
	int n = cdb_begin(cdb, cap, 16, op);
	if (n > 0) {
		cdb[1] = (uint8_t)flags;
		put64(cdb + 2, lba);
		put32(cdb + 10, blocks);
	}
	return n;
}

#define RW_FLAGS (SCSI_RW_FUA | SCSI_RW_DPO)

int scsi_build_read10(uint8_t *cdb, size_t cap, uint64_t lba,
		      uint32_t blocks, unsigned flags)
{
	return cdb_block10(cdb, cap, SCSI_OP_READ10, lba, blocks, flags, RW_FLAGS);
}

int scsi_build_write10(uint8_t *cdb, size_t cap, uint64_t lba,
		       uint32_t blocks, unsigned flags)
{
	return cdb_block10(cdb, cap, SCSI_OP_WRITE10, lba, blocks, flags, RW_FLAGS);
}

int scsi_build_read16(uint8_t *cdb, size_t cap, uint64_t lba,
		      uint32_t blocks, unsigned flags)
{
	return cdb_block16(cdb, cap, SCSI_OP_READ16, lba, blocks, flags, RW_FLAGS);
}

int scsi_build_write16(uint8_t *cdb, size_t cap, uint64_t lba,
		       uint32_t blocks, unsigned flags)
{
	return cdb_block16(cdb, cap, SCSI_OP_WRITE16, lba, blocks, flags,
			   RW_FLAGS);
}

int scsi_build_rw(uint8_t *cdb, size_t cap, bool write, uint64_t lba,
		  uint32_t blocks, unsigned flags)
{
	if (lba <= UINT32_MAX && blocks <= UINT16_MAX)
		return cdb_block10(cdb, cap, write ? SCSI_OP_WRITE10 :
				   SCSI_OP_READ10, lba, blocks, flags, RW_FLAGS);
	return cdb_block16(cdb, cap, write ? SCSI_OP_WRITE16 : SCSI_OP_READ16,
			   lba, blocks, flags, RW_FLAGS);
}

#define SYNC_IMMED 0x02u

int scsi_build_sync_cache10(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, bool immed)
{
	return cdb_block10(cdb, cap, SCSI_OP_SYNC_CACHE10, lba, blocks,
			   immed ? SYNC_IMMED : 0, SYNC_IMMED);
}

int scsi_build_sync_cache16(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, bool immed)
{
	return cdb_block16(cdb, cap, SCSI_OP_SYNC_CACHE16, lba, blocks,
			   immed ? SYNC_IMMED : 0, SYNC_IMMED);
}

int scsi_build_unmap(uint8_t *cdb, size_t cap, uint16_t param_len,
		     bool anchor)
{
	int n = cdb_begin(cdb, cap, 10, SCSI_OP_UNMAP);
	if (n > 0) {
		cdb[1] = anchor ? 0x01 : 0x00;
		put16(cdb + 7, param_len);
	}
	return n;
}

int scsi_build_unmap_params(uint8_t *buf, size_t cap,
			    const struct scsi_unmap_desc *d, size_t n)
{
	if (n > SCSI_UNMAP_MAX_DESC)
		return -EINVAL;
	size_t len = 8 + 16 * n;
	if (cap < len)
		return -ENOSPC;
	memset(buf, 0, len);
	/* UNMAP DATA LENGTH counts the bytes after itself. */
	put16(buf, (uint32_t)(len - 2));
	put16(buf + 2, (uint32_t)(16 * n));
	for (size_t i = 0; i < n; i++) {
		put64(buf + 8 + 16 * i, d[i].lba);
		put32(buf + 16 + 16 * i, d[i].blocks);
	}
	return (int)len;
}

int scsi_build_write_same10(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, unsigned flags)
{
	return cdb_block10(cdb, cap, SCSI_OP_WRITE_SAME10, lba, blocks, flags,
			   SCSI_WS_UNMAP | SCSI_WS_ANCHOR);
}

int scsi_build_write_same16(uint8_t *cdb, size_t cap, uint64_t lba,
			    uint32_t blocks, unsigned flags)
{
	return cdb_block16(cdb, cap, SCSI_OP_WRITE_SAME16, lba, blocks, flags,
			   SCSI_WS_UNMAP | SCSI_WS_ANCHOR | SCSI_WS_NDOB);
}

/* ---- text out of target data -------------------------------------------- */

static bool is_pad(uint8_t c)
{
	return c == ' ' || c == '\0';
}

/* Narrows [*s, *s + *n) past the padding SPC puts around ASCII fields. */
static void trim(const uint8_t **s, size_t *n, bool leading)
{
	while (leading && *n > 0 && is_pad((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_pad((*s)[*n - 1]))
		(*n)--;
}

/* For display only: fixed-size INQUIRY fields, '?' for what cannot be
 * printed. dst has room for n + 1 bytes. */
static void copy_field(char *dst, const uint8_t *src, size_t n)
{
	trim(&src, &n, true);
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[n] = '\0';
}

/* Appenders for identity strings. Each keeps room for the final NUL and
 * returns 0 or -ENOSPC. */
struct strbuf {
	char *out;
	size_t cap, pos;
};

static const char hexdig[] = "0123456789abcdef";

static int sb_putc(struct strbuf *b, char c)
{
	if (b->pos + 1 >= b->cap)
		return -ENOSPC;
	b->out[b->pos++] = c;
	return 0;
}

static int sb_str(struct strbuf *b, const char *s)
{
	for (; *s; s++)
		if (sb_putc(b, *s))
			return -ENOSPC;
	return 0;
}

static int sb_hex(struct strbuf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sb_putc(b, hexdig[p[i] >> 4]) || sb_putc(b, hexdig[p[i] & 15]))
			return -ENOSPC;
	return 0;
}

/* Injective escaping: space is '_', so a literal '_' (and '\') must be
 * escaped like any byte outside 0x21..0x7e. */
static int sb_text(struct strbuf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		int rc;
		if (c == ' ')
			rc = sb_putc(b, '_');
		else if (c > 0x20 && c < 0x7f && c != '_' && c != '\\')
			rc = sb_putc(b, (char)c);
		else
			rc = sb_putc(b, '\\') || sb_putc(b, 'x') ||
			     sb_putc(b, hexdig[c >> 4]) ||
			     sb_putc(b, hexdig[c & 15]) ? -ENOSPC : 0;
		if (rc)
			return rc;
	}
	return 0;
}

/* Terminates the string (empty after an error) and returns its length
 * or the error; no room even for the NUL is -ENOSPC. */
static int sb_end(struct strbuf *b, int rc)
{
	if (b->cap == 0)
		return rc ? rc : -ENOSPC;
	b->out[rc ? 0 : b->pos] = '\0';
	return rc ? rc : (int)b->pos;
}

/* ---- standard INQUIRY --------------------------------------------------- */

const char *scsi_type_name(uint8_t type)
{
	switch (type) {
	case SCSI_TYPE_DISK:       return "disk";
	case SCSI_TYPE_TAPE:       return "tape";
	case SCSI_TYPE_CDROM:      return "cd/dvd";
	case SCSI_TYPE_OPTICAL:    return "optical";
	case SCSI_TYPE_CHANGER:    return "medium changer";
	case SCSI_TYPE_ARRAY_CTRL: return "array controller";
	case SCSI_TYPE_ENCLOSURE:  return "enclosure";
	case SCSI_TYPE_ZBC:        return "zoned disk";
	case SCSI_TYPE_WELL_KNOWN: return "well-known lu";
	case SCSI_TYPE_UNKNOWN:    return "unknown";
	}
	return "other";
}

int scsi_parse_inquiry(const uint8_t *buf, size_t len,
		       struct scsi_inquiry *inq, const char **why)
{
	if (len < 5)
		return fail(why, "INQUIRY data shorter than its header", -EPROTO);
	size_t avail = 5u + buf[4];
	if (avail > len)
		avail = len;
	if (avail < 36)
		return fail(why, "INQUIRY data shorter than 36 bytes", -EPROTO);

	memset(inq, 0, sizeof(*inq));
	inq->qualifier = buf[0] >> 5;
	inq->device_type = buf[0] & 0x1f;
	inq->removable = buf[1] & 0x80;
	inq->version = buf[2];
	inq->normaca = buf[3] & 0x20;
	inq->hisup = buf[3] & 0x10;
	inq->response_format = buf[3] & 0x0f;
	inq->sccs = buf[5] & 0x80;
	inq->acc = buf[5] & 0x40;
	inq->tpgs = (buf[5] >> 4) & 3;
	inq->tpc = buf[5] & 0x08;
	inq->protect = buf[5] & 0x01;
	inq->encserv = buf[6] & 0x40;
	inq->multip = buf[6] & 0x10;
	inq->cmdque = buf[7] & 0x02;
	copy_field(inq->vendor, buf + 8, 8);
	copy_field(inq->product, buf + 16, 16);
	copy_field(inq->revision, buf + 32, 4);
	return 0;
}

/* ---- VPD pages ---------------------------------------------------------- */

int scsi_vpd_page_len(const uint8_t *buf, size_t len, uint8_t page,
		      const char **why)
{
	if (len < 4)
		return fail(why, "VPD page shorter than its header", -EPROTO);
	if (buf[1] != page)
		return fail(why, "VPD page code differs from the one asked for",
			    -EPROTO);
	return 4 + (int)get16(buf + 2);
}

/* The whole page must be there: returns its end or -EPROTO/-EMSGSIZE. */
static int vpd_whole(const uint8_t *buf, size_t len, uint8_t page,
		     const char **why)
{
	int end = scsi_vpd_page_len(buf, len, page, why);
	if (end > 0 && (size_t)end > len)
		return fail(why, "VPD page truncated by the allocation length",
			    -EMSGSIZE);
	return end;
}

int scsi_parse_vpd_supported(const uint8_t *buf, size_t len,
			     struct scsi_vpd_pages *pages, const char **why)
{
	int end = vpd_whole(buf, len, SCSI_VPD_SUPPORTED, why);
	if (end < 0)
		return end;
	memset(pages, 0, sizeof(*pages));
	for (int i = 4; i < end; i++)
		pages->bits[buf[i] >> 5] |= 1u << (buf[i] & 31);
	/* Page 0x00 lists itself; a list without it is not this page. */
	if (!scsi_vpd_has(pages, SCSI_VPD_SUPPORTED))
		return fail(why, "supported VPD pages list lacks page 0x00",
			    -EPROTO);
	return 0;
}

int scsi_parse_vpd_serial(const uint8_t *buf, size_t len, char *out,
			  size_t cap, const char **why)
{
	int end = vpd_whole(buf, len, SCSI_VPD_SERIAL, why);
	if (end < 0)
		return end;
	const uint8_t *s = buf + 4;
	size_t n = (size_t)end - 4;
	trim(&s, &n, true);
	struct strbuf b = { out, cap, 0 };
	return sb_end(&b, sb_text(&b, s, n));
}

int scsi_desig_iter_init(struct scsi_desig_iter *it, const uint8_t *buf,
			 size_t len, const char **why)
{
	int end = vpd_whole(buf, len, SCSI_VPD_DEVICE_ID, why);
	if (end < 0)
		return end;
	it->buf = buf;
	it->end = (size_t)end;
	it->pos = 4;
	return 0;
}

int scsi_desig_next(struct scsi_desig_iter *it, struct scsi_desig *d,
		    const char **why)
{
	if (it->pos >= it->end)
		return 0;
	if (it->end - it->pos < 4)
		return fail(why, "designator header runs past the page", -EPROTO);
	const uint8_t *p = it->buf + it->pos;
	if (it->end - it->pos - 4 < p[3])
		return fail(why, "designator runs past the page", -EPROTO);
	d->proto = p[0] >> 4;
	d->code_set = p[0] & 0x0f;
	d->piv = p[1] & 0x80;
	d->assoc = (p[1] >> 4) & 3;
	d->type = p[1] & 0x0f;
	d->len = p[3];
	d->id = p + 4;
	it->pos += 4u + p[3];
	return 1;
}

/* True if the text has something besides padding: an identity made of
 * padding alone would be the same for every unit. */
static bool has_content(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_pad(p[i]))
			return true;
	return false;
}

bool scsi_desig_valid(const struct scsi_desig *d)
{
	bool bin = d->code_set == SCSI_CS_BINARY;
	bool text = d->code_set == SCSI_CS_ASCII || d->code_set == SCSI_CS_UTF8;

	switch (d->type) {
	case SCSI_DESIG_VENDOR:
		return (bin && d->len > 0) || (text && has_content(d->id, d->len));
	case SCSI_DESIG_T10:
		/* 8 bytes of vendor name, then something that tells units
		 * apart. */
		return text && d->len > 8 && has_content(d->id + 8, d->len - 8u);
	case SCSI_DESIG_EUI64:
		return bin && (d->len == 8 || d->len == 12 || d->len == 16);
	case SCSI_DESIG_NAA:
		if (!bin || d->len == 0)
			return false;
		switch (d->id[0] >> 4) {
		case 2: case 3: case 5: return d->len == 8;
		case 6:                 return d->len == 16;
		}
		return false;
	case SCSI_DESIG_REL_PORT:
	case SCSI_DESIG_TPG:
	case SCSI_DESIG_LU_GROUP:
		return bin && d->len == 4;
	case SCSI_DESIG_MD5:
		return bin && d->len == 16;
	case SCSI_DESIG_NAME:
		/* SPC wants UTF-8, NUL-terminated, a multiple of 4 long;
		 * istgt sends neither terminator nor padding, so only the
		 * code set and a name that starts like "iqn.", "eui." or
		 * "naa." (a printable first byte) are required. */
		return d->code_set == SCSI_CS_UTF8 && d->len > 0 &&
		       d->id[0] > 0x20 && d->id[0] < 0x7f;
	case SCSI_DESIG_PROTO_PORT:
		return bin && d->len > 0;
	case SCSI_DESIG_UUID:
		return bin && d->len == 18 && d->id[0] >> 4 == 1;
	}
	return false;
}

/* Higher is a better multipath identity; 0 is none. */
static int desig_rank(const struct scsi_desig *d)
{
	if (d->assoc != SCSI_ASSOC_LU || !scsi_desig_valid(d))
		return 0;
	switch (d->type) {
	case SCSI_DESIG_NAA:
		switch (d->id[0] >> 4) {
		case 6: return 100;   /* IEEE Registered Extended */
		case 5: return 90;    /* IEEE Registered */
		case 2: return 70;    /* IEEE Extended */
		case 3: return 50;    /* locally assigned */
		}
		return 0;
	case SCSI_DESIG_EUI64:
		return d->len == 16 ? 85 : d->len == 12 ? 80 : 75;
	case SCSI_DESIG_UUID:   return 65;
	case SCSI_DESIG_NAME:   return 60;
	case SCSI_DESIG_MD5:    return 40;
	case SCSI_DESIG_T10:    return 30;
	case SCSI_DESIG_VENDOR: return 10;
	}
	return 0;
}

int scsi_vpd83_best(const uint8_t *buf, size_t len, struct scsi_desig *best,
		    const char **why)
{
	struct scsi_desig_iter it;
	struct scsi_desig d;
	int rc, best_rank = 0;

	rc = scsi_desig_iter_init(&it, buf, len, why);
	if (rc)
		return rc;
	while ((rc = scsi_desig_next(&it, &d, why)) == 1) {
		int r = desig_rank(&d);
		if (r > best_rank) {
			best_rank = r;
			*best = d;
		}
	}
	if (rc < 0)
		return rc;
	if (best_rank == 0)
		return fail(why, "no designator names the logical unit",
			    -ENOENT);
	return 0;
}

static int format_uuid(struct strbuf *b, const uint8_t *u)
{
	static const uint8_t groups[] = { 4, 2, 2, 2, 6 };
	int rc = sb_str(b, "uuid.");
	for (size_t g = 0; g < sizeof(groups) && !rc; g++) {
		if (g)
			rc = sb_putc(b, '-');
		if (!rc)
			rc = sb_hex(b, u, groups[g]);
		u += groups[g];
	}
	return rc;
}

int scsi_desig_format(const struct scsi_desig *d, char *out, size_t cap)
{
	struct strbuf b = { out, cap, 0 };
	const uint8_t *p = d->id;
	size_t n = d->len;
	int rc;

	if (!scsi_desig_valid(d))
		return sb_end(&b, -EINVAL);
	switch (d->type) {
	case SCSI_DESIG_NAA:
		rc = sb_str(&b, "naa.") || sb_hex(&b, p, n) ? -ENOSPC : 0;
		break;
	case SCSI_DESIG_EUI64:
		rc = sb_str(&b, "eui.") || sb_hex(&b, p, n) ? -ENOSPC : 0;
		break;
	case SCSI_DESIG_MD5:
		rc = sb_str(&b, "md5.") || sb_hex(&b, p, n) ? -ENOSPC : 0;
		break;
	case SCSI_DESIG_UUID:
		rc = format_uuid(&b, p + 2);
		break;
	case SCSI_DESIG_T10:
		trim(&p, &n, false);
		rc = sb_str(&b, "t10.") || sb_text(&b, p, n) ? -ENOSPC : 0;
		break;
	case SCSI_DESIG_NAME:
		/* Up to the terminator; it carries its own "iqn." etc. */
		n = strnlen((const char *)p, n);
		trim(&p, &n, false);
		rc = sb_text(&b, p, n);
		break;
	case SCSI_DESIG_VENDOR:
		if (d->code_set == SCSI_CS_BINARY) {
			rc = sb_str(&b, "vs.") || sb_hex(&b, p, n) ? -ENOSPC : 0;
		} else {
			trim(&p, &n, false);
			rc = sb_str(&b, "vs.") || sb_text(&b, p, n) ? -ENOSPC : 0;
		}
		break;
	default:
		rc = -EINVAL;
		break;
	}
	return sb_end(&b, rc);
}

/* ---- REPORT LUNS -------------------------------------------------------- */

int scsi_parse_report_luns(const uint8_t *buf, size_t len, uint64_t *luns,
			   size_t max, uint32_t *total, const char **why)
{
	if (len < 8)
		return fail(why, "REPORT LUNS data shorter than its header",
			    -EPROTO);
	uint32_t list = get32(buf);
	if (list % 8)
		return fail(why, "LUN LIST LENGTH not a multiple of 8", -EPROTO);
	*total = list / 8;

	size_t n = (len - 8) / 8;
	if (n > *total)
		n = *total;
	if (n > max)
		n = max;
	if (n > INT_MAX)
		n = INT_MAX;
	for (size_t i = 0; i < n; i++)
		luns[i] = get64(buf + 8 + 8 * i);
	return (int)n;
}

int scsi_lun_decode(uint64_t raw, uint32_t *lun)
{
	/* Second to fourth levels must be empty for a single-level LUN. */
	if (raw & 0xffffffffffffull)
		return -EOPNOTSUPP;
	uint32_t first = (uint32_t)(raw >> 48);
	switch (scsi_lun_method(raw)) {
	case SCSI_LUN_PERIPHERAL:
		if (first & 0x3f00)         /* a bus number: another level */
			return -EOPNOTSUPP;
		*lun = first & 0xff;
		return 0;
	case SCSI_LUN_FLAT:
		*lun = first & 0x3fff;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* ---- READ CAPACITY ------------------------------------------------------ */

int scsi_parse_read_capacity10(const uint8_t *buf, size_t len,
			       struct scsi_capacity *c, const char **why)
{
	if (len < 8)
		return fail(why, "READ CAPACITY(10) data shorter than 8 bytes",
			    -EPROTO);
	memset(c, 0, sizeof(*c));
	c->last_lba = get32(buf);
	c->block_len = get32(buf + 4);
	c->blocks_per_phys = 1;
	c->need_rc16 = c->last_lba == UINT32_MAX;
	if (c->block_len == 0)
		return fail(why, "READ CAPACITY block length 0", -EPROTO);
	return 0;
}

int scsi_parse_read_capacity16(const uint8_t *buf, size_t len,
			       struct scsi_capacity *c, const char **why)
{
	if (len < 12)
		return fail(why, "READ CAPACITY(16) data shorter than 12 bytes",
			    -EPROTO);
	memset(c, 0, sizeof(*c));
	c->last_lba = get64(buf);
	c->block_len = get32(buf + 8);
	c->blocks_per_phys = 1;
	if (len >= 16) {
		if (buf[12] & 0x01)                         /* PROT_EN */
			c->prot_type = (uint8_t)(((buf[12] >> 1) & 7) + 1);
		c->blocks_per_phys = 1u << (buf[13] & 0x0f);
		c->lbpme = buf[14] & 0x80;
		c->lbprz = buf[14] & 0x40;
		c->lowest_aligned = (uint16_t)(get16(buf + 14) & 0x3fff);
	}
	if (c->block_len == 0)
		return fail(why, "READ CAPACITY block length 0", -EPROTO);
	return 0;
}
