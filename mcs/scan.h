/* SPDX-License-Identifier: MIT */
/*
 * LUN scanning over a control connection: proto/lunscan.h's sequence
 * (REPORT LUNS, INQUIRY, VPD 0x80 and 0x83, READ CAPACITY) with each
 * command run by ctl_scsi_read_retry().
 */
#ifndef MCSI_MCS_SCAN_H
#define MCSI_MCS_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "mcs/ctl.h"
#include "proto/lunscan.h"

/* Scans the target. Fills up to max entries and sets *n. Returns 0, or
 * -errno from the connection (a LUN that fails a single command is still
 * listed with what is known). */
int scan_luns(struct ctl_conn *c, struct lunscan_lun *out, size_t max, size_t *n);

/* One LUN only. */
int scan_lun(struct ctl_conn *c, uint32_t lun, struct lunscan_lun *out);

#endif
