/* SPDX-License-Identifier: MIT */
#include "proto/lunscan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/scsi.h"

__attribute__((format(printf, 3, 4)))
static void scan_warn(const struct lunscan_ops *ops, void *ctx, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (!ops->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ops->warn(ctx, msg);
}

/* Builds a CDB (cl bytes, or a negative error from the builder) and runs it. */
static int scan_in(const struct lunscan_ops *ops, void *ctx, uint32_t lun,
		   const uint8_t *cdb, int cl, uint8_t *buf, uint32_t len)
{
	if (cl < 0)
		return cl;
	return ops->data_in(ctx, lun, cdb, (size_t)cl, buf, len);
}

/* The transport's errors end the scan; a SCSI status other than GOOD
 * (-EIO) only leaves that piece unknown. */
static bool scan_fatal(int n)
{
	return n < 0 && n != -EIO;
}

static int scan_capacity(const struct lunscan_ops *ops, void *ctx, uint8_t *buf,
			 struct lunscan_lun *out)
{
	uint8_t cdb[SCSI_CDB_MAX];
	struct scsi_capacity cap;
	const char *why = NULL;

	int n = scan_in(ops, ctx, out->lun, cdb,
			scsi_build_read_capacity16(cdb, sizeof(cdb), 32), buf, 32);
	if (scan_fatal(n))
		return n;
	if (n >= 0 && scsi_parse_read_capacity16(buf, (size_t)n, &cap, &why) == 0) {
		out->has_capacity = true;
	} else {
		n = scan_in(ops, ctx, out->lun, cdb,
			    scsi_build_read_capacity10(cdb, sizeof(cdb)), buf, 8);
		if (scan_fatal(n))
			return n;
		if (n >= 0 && scsi_parse_read_capacity10(buf, (size_t)n, &cap, &why) == 0)
			out->has_capacity = true;
	}
	if (out->has_capacity) {
		out->blocks = cap.last_lba + 1;
		out->block_size = cap.block_len;
		out->thin = cap.lbpme;
	}
	return 0;
}

int lunscan_one(const struct lunscan_ops *ops, void *ctx, struct lunscan_work *w,
		uint32_t lun, struct lunscan_lun *out)
{
	uint8_t cdb[SCSI_CDB_MAX], *buf = w->buf;
	const char *why = NULL;
	struct scsi_inquiry inq;
	struct scsi_desig d;
	int n;

	memset(out, 0, sizeof(*out));
	out->lun = lun;
	n = scan_in(ops, ctx, lun, cdb, scsi_build_inquiry(cdb, sizeof(cdb), 96), buf, 96);
	if (n < 0)
		return scan_fatal(n) ? n : 0;
	if (scsi_parse_inquiry(buf, (size_t)n, &inq, &why)) {
		scan_warn(ops, ctx, "LUN %u: bad INQUIRY data: %s", lun, why);
		return 0;
	}
	out->device_type = inq.device_type;
	out->qualifier = inq.qualifier;
	memcpy(out->vendor, inq.vendor, sizeof(out->vendor));
	memcpy(out->product, inq.product, sizeof(out->product));
	memcpy(out->revision, inq.revision, sizeof(out->revision));

	n = scan_in(ops, ctx, lun, cdb, scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x80, 255),
		    buf, 255);
	if (scan_fatal(n))
		return n;
	if (n >= 0 && scsi_parse_vpd_serial(buf, (size_t)n, out->serial,
					    sizeof(out->serial), &why) < 0)
		out->serial[0] = '\0';

	n = scan_in(ops, ctx, lun, cdb, scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x83, 1024),
		    buf, 1024);
	if (scan_fatal(n))
		return n;
	if (n >= 0 && (scsi_vpd83_best(buf, (size_t)n, &d, &why) != 0 ||
		       scsi_desig_format(&d, out->designator, sizeof(out->designator)) < 0))
		out->designator[0] = '\0';

	if (out->device_type != SCSI_TYPE_DISK)
		return 0;
	return scan_capacity(ops, ctx, buf, out);
}

int lunscan_all(const struct lunscan_ops *ops, void *ctx, struct lunscan_work *w,
		struct lunscan_lun *out, size_t max, size_t *n)
{
	uint8_t cdb[SCSI_CDB_MAX];
	uint32_t len = sizeof(w->buf), total = 0;
	const char *why = NULL;
	int count = 0;

	*n = 0;
	int got = scan_in(ops, ctx, 0, cdb, scsi_build_report_luns(cdb, sizeof(cdb), 0, len),
			  w->buf, len);
	if (scan_fatal(got))
		return got;
	if (got >= 0) {
		count = scsi_parse_report_luns(w->buf, (size_t)got, w->raw, LUNSCAN_MAX_LUNS,
					       &total, &why);
		if (count < 0)
			scan_warn(ops, ctx, "bad REPORT LUNS data: %s", why);
	}
	if (got < 0 || count < 0) {
		w->raw[0] = 0;                   /* LUN 0 is all we can assume */
		count = 1;
	} else if (total > (uint32_t)count) {
		scan_warn(ops, ctx, "the target reports %u LUNs; listing %d", total, count);
	}
	for (int i = 0; i < count && *n < max; i++) {
		uint32_t lun;
		if (scsi_lun_decode(w->raw[i], &lun))
			continue;
		int rc = lunscan_one(ops, ctx, w, lun, &out[*n]);
		if (rc)
			return rc;
		(*n)++;
	}
	return 0;
}
