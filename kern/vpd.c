/* SPDX-License-Identifier: MIT */
/* VPD and capacity parsers: see vpd.h. */
#include "kern/vpd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/scsi.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Designator types, best first. */
enum { DT_T10 = 1, DT_EUI64 = 2, DT_NAA = 3, DT_NAME = 8, DT_UUID = 10 };

static int rank(unsigned type)
{
	switch (type) {
	case DT_NAA: return 5;
	case DT_EUI64: return 4;
	case DT_UUID: return 3;
	case DT_NAME: return 2;
	case DT_T10: return 1;
	default: return 0;
	}
}

static int put_hex(const char *prefix, const uint8_t *d, size_t n, char *out, size_t len)
{
	size_t pl = strlen(prefix);

	if (pl + 2 * n + 1 > len)
		return -ENAMETOOLONG;
	memcpy(out, prefix, pl);
	for (size_t i = 0; i < n; i++)
		snprintf(out + pl + 2 * i, 3, "%02x", d[i]);
	return 0;
}

static int put_text(const char *prefix, const uint8_t *d, size_t n, char *out, size_t len)
{
	size_t pl = strlen(prefix), w = pl;

	/* Name strings are NUL-padded; T10 IDs space-padded. */
	while (n && (d[n - 1] == 0 || d[n - 1] == ' '))
		n--;
	if (pl + n + 1 > len)
		return -ENAMETOOLONG;
	memcpy(out, prefix, pl);
	for (size_t i = 0; i < n; i++)
		out[w++] = d[i] > 0x20 && d[i] < 0x7f ? (char)d[i] : '_';
	out[w] = '\0';
	return 0;
}

int kern_vpd83_identity(const uint8_t *page, size_t len, char *out, size_t out_len)
{
	const uint8_t *best = NULL;
	size_t end, off;
	int best_rank = 0;

	if (out_len)
		out[0] = '\0';
	if (len < 4 || page[1] != 0x83)
		return -EPROTO;
	end = 4 + ((size_t)page[2] << 8 | page[3]);
	if (end > len)
		end = len;   /* truncated by the allocation length: use what came */
	for (off = 4; off + 4 <= end; off += 4 + (size_t)page[off + 3]) {
		const uint8_t *d = page + off;
		unsigned assoc = (d[1] >> 4) & 3, type = d[1] & 0xf;

		if (off + 4 + d[3] > end)
			return -EPROTO;
		if (assoc != 0 || d[3] == 0)
			continue;   /* a port or target designator, not the LU's */
		if (rank(type) > best_rank) {
			best_rank = rank(type);
			best = d;
		}
	}
	if (!best)
		return -ENOENT;
	switch (best[1] & 0xf) {
	case DT_NAA: return put_hex("naa.", best + 4, best[3], out, out_len);
	case DT_EUI64: return put_hex("eui.", best + 4, best[3], out, out_len);
	case DT_UUID:
		/* RFC 4122 UUID designator: 2 bytes of flags, then 16 bytes */
		return best[3] == 18 ? put_hex("uuid.", best + 6, 16, out, out_len)
				     : put_hex("uuid.", best + 4, best[3], out, out_len);
	case DT_NAME: return put_text("", best + 4, best[3], out, out_len);
	default: return put_text("t10.", best + 4, best[3], out, out_len);
	}
}

int kern_parse_rc16(const uint8_t *d, size_t len, struct kern_capacity *cap)
{
	struct scsi_capacity c;

	if (scsi_parse_read_capacity16(d, len, &c, NULL))
		return -EPROTO;
	/* What a loop device and a FUSE file can present: a power of two
	 * from 512 to 1 MiB, and a block count that fits. */
	uint32_t bs = c.block_len;
	if (bs < 512 || bs > (1u << 20) || (bs & (bs - 1)) || c.last_lba == UINT64_MAX)
		return -EPROTO;
	memset(cap, 0, sizeof(*cap));
	cap->blocks = c.last_lba + 1;    /* the device returns the last LBA */
	cap->block_size = bs;
	cap->lbpme = c.lbpme;
	cap->lbprz = c.lbprz;
	return 0;
}

int kern_parse_vpdb0(const uint8_t *page, size_t len, uint32_t *max_xfer,
		     uint32_t *max_unmap, uint64_t *max_write_same)
{
	*max_xfer = *max_unmap = 0;
	*max_write_same = 0;
	if (len < 4 || page[1] != 0xb0)
		return -EPROTO;
	if (len >= 12)
		*max_xfer = be32(page + 8);
	if (len >= 24)
		*max_unmap = be32(page + 20);
	if (len >= 44)
		*max_write_same = be64(page + 36);
	return 0;
}
