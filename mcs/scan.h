/* SPDX-License-Identifier: MIT */
/*
 * LUN scanning over a control connection: REPORT LUNS, then for each LUN a
 * standard INQUIRY, the unit serial number (VPD 0x80), the device
 * identification (VPD 0x83) and the capacity (READ CAPACITY 16, or 10
 * when 16 is not supported).
 */
#ifndef MCSI_MCS_SCAN_H
#define MCSI_MCS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcs/ctl.h"

#define SCAN_MAX_LUNS 256

/* What we learnt about one LUN. Strings are NUL-terminated and printable
 * (bytes from the target that are not are replaced). */
struct scan_lun {
	uint32_t lun;
	uint8_t device_type;          /* peripheral device type (0 = disk) */
	uint8_t qualifier;            /* peripheral qualifier */
	char vendor[9], product[17], revision[5];
	char serial[256];             /* VPD 0x80, "" when absent */
	char designator[300];         /* best VPD 0x83 designator, "" if none */
	uint64_t blocks;              /* number of logical blocks */
	uint32_t block_size;
	bool thin;                    /* LBPME: UNMAP is supported */
	bool has_capacity;
};

/* Scans the target. Fills up to max entries and sets *n. Returns 0, or
 * -errno from the connection (a LUN that fails a single command is still
 * listed with what is known). */
int scan_luns(struct ctl_conn *c, struct scan_lun *out, size_t max, size_t *n);

/* One LUN only. */
int scan_lun(struct ctl_conn *c, uint32_t lun, struct scan_lun *out);

/* "disk", "tape", "controller", "enclosure", ... */
const char *scan_device_type_name(uint8_t type);

#endif
