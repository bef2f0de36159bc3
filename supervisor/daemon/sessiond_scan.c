/* SPDX-License-Identifier: MIT */
/* A session process's LUN scan and data check, over the public API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/scsi.h"
#include "proto/sense.h"
#include "supervisor/daemon/sessiond.h"

#define CMD_TRIES  5

/* A data-in command retried on UNIT ATTENTION (tgt reports one on the
 * first command after login) and BUSY. Returns the bytes received when
 * the status is GOOD, -EIO for any other status, or the transport's
 * -errno. */
static int scsi_in(mcsi_session *s, uint32_t lun, const uint8_t *cdb, int cdb_len,
		   uint8_t *buf, uint32_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct mcsi_result res;
	int rc = -EIO;

	if (cdb_len < 0)
		return cdb_len;
	for (int i = 0; i < CMD_TRIES; i++) {
		rc = mcsi_scsi(s, lun, cdb, (size_t)cdb_len,
			       len ? MCSI_DIR_READ : MCSI_DIR_NONE, len ? &iov : NULL,
			       len ? 1 : 0, &res);
		if (rc != -EIO)
			break;
		bool ua = res.status == SCSI_STATUS_CHECK_CONDITION &&
			  res.sense_key == SENSE_KEY_UNIT_ATTENTION;
		bool busy = res.status == SCSI_STATUS_BUSY ||
			    res.status == SCSI_STATUS_TASK_SET_FULL;
		if (!ua && !busy)
			break;
	}
	return rc ? rc : (int)res.data_in;
}

/* lunscan_ops.data_in over the public API. */
static int scan_cmd(void *ctx, uint32_t lun, const uint8_t *cdb, size_t cdb_len,
		    uint8_t *buf, uint32_t len)
{
	return scsi_in(ctx, lun, cdb, (int)cdb_len, buf, len);
}

static const struct lunscan_ops scan_ops = { .data_in = scan_cmd };

int sd_scan(mcsi_session *s, struct lunscan_lun *out, size_t max, size_t *n)
{
	struct lunscan_work *w = malloc(sizeof(*w));
	*n = 0;
	if (!w)
		return -ENOMEM;
	int rc = lunscan_all(&scan_ops, s, w, out, max, n);
	free(w);
	return rc;
}

int sd_ping(mcsi_session *s, uint32_t lun)
{
	uint8_t cdb[SCSI_CDB_MAX];
	struct mcsi_result res;
	int cl = scsi_build_test_unit_ready(cdb, sizeof(cdb));
	if (cl < 0)
		return cl;
	int rc = mcsi_scsi(s, lun, cdb, (size_t)cl, MCSI_DIR_NONE, NULL, 0, &res);
	return rc == -EIO ? 0 : rc;
}

/* The pattern of one block: a readable header (so that a test can find
 * it in the target's backing file) and then bytes from a small PRNG
 * seeded by (seed, lun, lba). */
static void fill_block(uint8_t *b, uint32_t size, uint32_t seed, uint32_t lun,
		       uint64_t lba)
{
	uint64_t x = ((uint64_t)seed << 32 | lun) ^ (lba * 0x9e3779b97f4a7c15ull);
	int h = snprintf((char *)b, size, "mcsi-check seed=%u lun=%u lba=%llu\n",
			 seed, lun, (unsigned long long)lba);
	for (uint32_t i = h > 0 && (uint32_t)h < size ? (uint32_t)h : 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
}

int sd_io_check(mcsi_session *s, const struct lunscan_lun *l, uint64_t lba,
		uint32_t blocks, uint32_t seed, bool write, bool *match,
		uint64_t *bad_lba)
{
	struct mcsi_result res;
	uint32_t bs = l->block_size;
	int rc;

	*match = false;
	*bad_lba = 0;
	if (!l->has_capacity || bs == 0)
		return -EOPNOTSUPP;
	if (lba >= l->blocks || blocks > l->blocks - lba)
		return -ERANGE;
	if ((uint64_t)blocks * bs > CP_IO_MAX_BYTES)
		return -E2BIG;
	size_t len = (size_t)blocks * bs;
	uint8_t *buf = malloc(len), *want = malloc(bs);
	if (!buf || !want) {
		free(buf);
		free(want);
		return -ENOMEM;
	}
	if (write) {
		for (uint32_t i = 0; i < blocks; i++)
			fill_block(buf + (size_t)i * bs, bs, seed, l->lun, lba + i);
		rc = mcsi_write(s, l->lun, lba, blocks, buf, len, &res);
		if (rc == 0)
			rc = mcsi_flush(s, l->lun, &res);
		*match = rc == 0;
	} else {
		rc = mcsi_read(s, l->lun, lba, blocks, buf, len, &res);
		*match = rc == 0;
		for (uint32_t i = 0; rc == 0 && i < blocks; i++) {
			fill_block(want, bs, seed, l->lun, lba + i);
			if (memcmp(buf + (size_t)i * bs, want, bs) != 0) {
				*match = false;
				*bad_lba = lba + i;
				break;
			}
		}
	}
	free(buf);
	free(want);
	return rc;
}

void sd_lun_json(struct json_w *w, const struct lunscan_lun *l)
{
	json_w_u64(w, "lun", l->lun);
	json_w_str(w, "type", scsi_type_name(l->device_type));
	json_w_str(w, "vendor", l->vendor);
	json_w_str(w, "product", l->product);
	json_w_str(w, "revision", l->revision);
	json_w_str(w, "serial", l->serial);
	json_w_str(w, "designator", l->designator);
	if (l->has_capacity) {
		json_w_u64(w, "blocks", l->blocks);
		json_w_u64(w, "block-size", l->block_size);
		json_w_u64(w, "capacity-bytes", l->blocks * l->block_size);
		json_w_bool(w, "thin-provisioned", l->thin);
	}
}
