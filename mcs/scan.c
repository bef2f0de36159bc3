/* SPDX-License-Identifier: MIT */
#include "mcs/scan.h"

#include <errno.h>
#include <stdlib.h>

#include "fastpath/log.h"
#include "proto/scsi.h"

/* lunscan_ops.data_in over the control connection. */
static int scan_cmd(void *ctx, uint32_t lun, const uint8_t *cdb, size_t cdb_len,
		    uint8_t *buf, uint32_t len)
{
	struct ctl_conn *c = ctx;
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

static void scan_warn(void *ctx, const char *msg)
{
	struct ctl_conn *c = ctx;
	log_peer_warn(c->peer, "%s", msg);
}

static const struct lunscan_ops scan_ops = { .data_in = scan_cmd, .warn = scan_warn };

int scan_lun(struct ctl_conn *c, uint32_t lun, struct lunscan_lun *out)
{
	struct lunscan_work *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	int rc = lunscan_one(&scan_ops, c, w, lun, out);
	free(w);
	return rc;
}

int scan_luns(struct ctl_conn *c, struct lunscan_lun *out, size_t max, size_t *n)
{
	struct lunscan_work *w = malloc(sizeof(*w));
	*n = 0;
	if (!w)
		return -ENOMEM;
	int rc = lunscan_all(&scan_ops, c, w, out, max, n);
	free(w);
	return rc;
}
