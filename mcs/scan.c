/* SPDX-License-Identifier: MIT */
#include "mcs/scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath/log.h"
#include "proto/scsi.h"

#define SCAN_BUF 4096u

const char *scan_device_type_name(uint8_t type)
{
	return scsi_type_name(type);
}

/* Runs a data-in command; returns the bytes received (>= 0) when the
 * status is GOOD, -EIO for another status (with sense logged at debug),
 * or the connection's -errno. */
static int scan_cmd(struct ctl_conn *c, uint32_t lun, const uint8_t *cdb,
		    size_t cdb_len, uint8_t *buf, uint32_t len)
{
	struct ctl_scsi_result res;
	int rc = ctl_scsi_read_retry(c, lun, cdb, cdb_len, buf, len, &res);
	if (rc)
		return rc;
	if (res.status != SCSI_STATUS_GOOD || res.response != 0) {
		log_peer_debug(c->peer, "LUN %u: opcode 0x%02x: status 0x%02x", lun,
			       cdb[0], res.status);
		return -EIO;
	}
	return (int)res.received;
}

int scan_lun(struct ctl_conn *c, uint32_t lun, struct scan_lun *out)
{
	uint8_t cdb[SCSI_CDB_MAX];
	uint8_t *buf = malloc(SCAN_BUF);
	const char *why = NULL;
	int n, rc = 0;

	if (!buf)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	out->lun = lun;

	int cl = scsi_build_inquiry(cdb, sizeof(cdb), 96);
	n = scan_cmd(c, lun, cdb, (size_t)cl, buf, 96);
	if (n < 0) {
		rc = n == -EIO ? 0 : n;
		goto out;
	}
	struct scsi_inquiry inq;
	if (scsi_parse_inquiry(buf, (size_t)n, &inq, &why)) {
		log_peer_warn(c->peer, "LUN %u: bad INQUIRY data: %s", lun, why);
		goto out;
	}
	out->device_type = inq.device_type;
	out->qualifier = inq.qualifier;
	memcpy(out->vendor, inq.vendor, sizeof(out->vendor));
	memcpy(out->product, inq.product, sizeof(out->product));
	memcpy(out->revision, inq.revision, sizeof(out->revision));

	cl = scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x80, 255);
	n = scan_cmd(c, lun, cdb, (size_t)cl, buf, 255);
	if (n >= 0 && scsi_parse_vpd_serial(buf, (size_t)n, out->serial,
					    sizeof(out->serial), &why) < 0)
		out->serial[0] = '\0';
	else if (n < 0 && n != -EIO) {
		rc = n;
		goto out;
	}

	cl = scsi_build_inquiry_vpd(cdb, sizeof(cdb), 0x83, 1024);
	n = scan_cmd(c, lun, cdb, (size_t)cl, buf, 1024);
	if (n >= 0) {
		struct scsi_desig d;
		if (scsi_vpd83_best(buf, (size_t)n, &d, &why) == 0 &&
		    scsi_desig_format(&d, out->designator, sizeof(out->designator)) < 0)
			out->designator[0] = '\0';
	} else if (n != -EIO) {
		rc = n;
		goto out;
	}

	/* Capacity only for direct-access devices. */
	if (out->device_type != 0x00)
		goto out;
	struct scsi_capacity cap;
	cl = scsi_build_read_capacity16(cdb, sizeof(cdb), 32);
	n = scan_cmd(c, lun, cdb, (size_t)cl, buf, 32);
	if (n >= 0 && scsi_parse_read_capacity16(buf, (size_t)n, &cap, &why) == 0) {
		out->has_capacity = true;
	} else if (n == -EIO || n >= 0) {
		cl = scsi_build_read_capacity10(cdb, sizeof(cdb));
		n = scan_cmd(c, lun, cdb, (size_t)cl, buf, 8);
		if (n >= 0 && scsi_parse_read_capacity10(buf, (size_t)n, &cap, &why) == 0)
			out->has_capacity = true;
	}
	if (n < 0 && n != -EIO) {
		rc = n;
		goto out;
	}
	if (out->has_capacity) {
		out->blocks = cap.last_lba + 1;
		out->block_size = cap.block_len;
		out->thin = cap.lbpme;
	}
out:
	free(buf);
	return rc;
}

int scan_luns(struct ctl_conn *c, struct scan_lun *out, size_t max, size_t *n)
{
	uint8_t cdb[SCSI_CDB_MAX];
	uint32_t len = 8 + 8 * SCAN_MAX_LUNS, total = 0;
	uint8_t *buf = malloc(len);
	uint64_t raw[SCAN_MAX_LUNS];
	const char *why = NULL;

	*n = 0;
	if (!buf)
		return -ENOMEM;
	int cl = scsi_build_report_luns(cdb, sizeof(cdb), 0, len);
	int got = scan_cmd(c, 0, cdb, (size_t)cl, buf, len);
	int count = 0;
	if (got >= 0)
		count = scsi_parse_report_luns(buf, (size_t)got, raw, SCAN_MAX_LUNS,
					       &total, &why);
	free(buf);
	if (got < 0 && got != -EIO)
		return got;
	if (got == -EIO || count < 0) {
		/* No REPORT LUNS: LUN 0 is all we can assume. */
		if (count < 0)
			log_peer_warn(c->peer, "bad REPORT LUNS data: %s", why);
		raw[0] = 0;
		count = 1;
	}
	if (total > (uint32_t)count)
		log_peer_warn(c->peer, "the target reports %u LUNs; listing %d", total, count);
	for (int i = 0; i < count && *n < max; i++) {
		uint32_t lun;
		if (scsi_lun_decode(raw[i], &lun))
			continue;
		int rc = scan_lun(c, lun, &out[*n]);
		if (rc)
			return rc;
		(*n)++;
	}
	return 0;
}
