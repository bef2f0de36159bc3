/* SPDX-License-Identifier: MIT */
/* A session process's LUN scan and data check, over the public API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/scsi.h"
#include "proto/sense.h"
#include "supervisor/daemon/sessiond.h"

#define SCAN_BUF   4096u
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

static int scan_one(mcsi_session *s, uint32_t lun, uint8_t *buf, struct sd_lun *out)
{
	uint8_t cdb[SCSI_CDB_MAX];
	const char *why = NULL;
	int n;

	memset(out, 0, sizeof(*out));
	out->lun = lun;
	n = scsi_in(s, lun, cdb, scsi_build_inquiry(cdb, sizeof(cdb), 96), buf, 96);
	if (n < 0)
		return n == -EIO ? 0 : n;
	struct scsi_inquiry inq;
	if (scsi_parse_inquiry(buf, (size_t)n, &inq, &why))
		return 0;
	out->device_type = inq.device_type;
	out->qualifier = inq.qualifier;
	memcpy(out->vendor, inq.vendor, sizeof(out->vendor));
	memcpy(out->product, inq.product, sizeof(out->product));
	memcpy(out->revision, inq.revision, sizeof(out->revision));

	n = scsi_in(s, lun, cdb, scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x80, 255),
		    buf, 255);
	if (n < 0 && n != -EIO)
		return n;
	if (n >= 0 && scsi_parse_vpd_serial(buf, (size_t)n, out->serial,
					    sizeof(out->serial), &why) < 0)
		out->serial[0] = '\0';
	n = scsi_in(s, lun, cdb, scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x83, 1024),
		    buf, 1024);
	if (n < 0 && n != -EIO)
		return n;
	struct scsi_desig d;
	if (n >= 0 && (scsi_vpd83_best(buf, (size_t)n, &d, &why) != 0 ||
		       scsi_desig_format(&d, out->designator, sizeof(out->designator)) < 0))
		out->designator[0] = '\0';
	if (out->device_type != SCSI_TYPE_DISK)
		return 0;

	struct scsi_capacity cap;
	n = scsi_in(s, lun, cdb, scsi_build_read_capacity16(cdb, sizeof(cdb), 32), buf, 32);
	if (n >= 0 && scsi_parse_read_capacity16(buf, (size_t)n, &cap, &why) == 0) {
		out->has_capacity = true;
	} else if (n >= 0 || n == -EIO) {
		n = scsi_in(s, lun, cdb, scsi_build_read_capacity10(cdb, sizeof(cdb)), buf, 8);
		if (n >= 0 && scsi_parse_read_capacity10(buf, (size_t)n, &cap, &why) == 0)
			out->has_capacity = true;
	}
	if (n < 0 && n != -EIO)
		return n;
	if (out->has_capacity) {
		out->blocks = cap.last_lba + 1;
		out->block_size = cap.block_len;
		out->thin = cap.lbpme;
	}
	return 0;
}

int sd_scan(mcsi_session *s, struct sd_lun *out, size_t max, size_t *n)
{
	uint8_t cdb[SCSI_CDB_MAX];
	uint32_t len = 8 + 8 * SD_MAX_LUNS, total = 0;
	uint8_t *buf = malloc(len > SCAN_BUF ? len : SCAN_BUF);
	uint64_t *raw = calloc(SD_MAX_LUNS, sizeof(*raw));
	const char *why = NULL;
	int rc = 0, count = 0;

	*n = 0;
	if (!buf || !raw) {
		rc = -ENOMEM;
		goto out;
	}
	int got = scsi_in(s, 0, cdb, scsi_build_report_luns(cdb, sizeof(cdb), 0, len),
			  buf, len);
	if (got < 0 && got != -EIO) {
		rc = got;
		goto out;
	}
	if (got >= 0)
		count = scsi_parse_report_luns(buf, (size_t)got, raw, SD_MAX_LUNS,
					       &total, &why);
	if (got == -EIO || count <= 0) {
		raw[0] = 0;                      /* LUN 0 is all we can assume */
		count = 1;
	}
	for (int i = 0; i < count && *n < max; i++) {
		uint32_t lun;
		if (scsi_lun_decode(raw[i], &lun))
			continue;
		if ((rc = scan_one(s, lun, buf, &out[*n])))
			goto out;
		(*n)++;
	}
out:
	free(buf);
	free(raw);
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

int sd_io_check(mcsi_session *s, const struct sd_lun *l, uint64_t lba,
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

void sd_lun_json(struct json_w *w, const struct sd_lun *l)
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
