/* SPDX-License-Identifier: MIT */
/* VPD and capacity parsers: see vpd.h. */
#include "kern/vpd.h"

#include <errno.h>
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

int kern_vpd83_identity(const uint8_t *page, size_t len, char *out, size_t out_len)
{
	struct scsi_desig d;

	if (out_len)
		out[0] = '\0';
	/* The same choice and spelling as `iscsictl list luns`, so that the
	 * identity a user sees there is the one multipath groups by. */
	int rc = scsi_vpd83_best(page, len, &d, NULL);
	if (rc)
		return rc == -ENOENT ? -ENOENT : -EPROTO;
	rc = scsi_desig_format(&d, out, out_len);
	if (rc < 0) {
		if (out_len)
			out[0] = '\0';
		return rc == -ENOSPC ? -ENAMETOOLONG : -EPROTO;
	}
	return 0;
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
