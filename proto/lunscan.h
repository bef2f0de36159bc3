/* SPDX-License-Identifier: MIT */
/*
 * What a LUN is, asked in the usual order: REPORT LUNS (LUN 0 alone when
 * the target does not support it), then for each LUN a standard INQUIRY,
 * the unit serial number (VPD 0x80), the device identification (VPD 0x83)
 * and, for disks, the capacity (READ CAPACITY 16, or 10 when 16 fails).
 *
 * Pure code: the caller runs each command through ops->data_in (a control
 * connection, the public API, a test fake) and lends the workspace.
 */
#ifndef MCSI_PROTO_LUNSCAN_H
#define MCSI_PROTO_LUNSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LUNSCAN_MAX_LUNS 256u

/* What we learnt about one LUN. Strings are NUL-terminated and printable
 * (bytes from the target that are not are replaced). */
struct lunscan_lun {
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

struct lunscan_ops {
	/* Runs one data-in command of cdb_len bytes on lun into buf (len
	 * bytes). Returns the bytes received when the SCSI status is GOOD,
	 * -EIO for any other status (the LUN is listed with what is known),
	 * or another -errno, which ends the scan with that error. */
	int (*data_in)(void *ctx, uint32_t lun, const uint8_t *cdb, size_t cdb_len,
		       uint8_t *buf, uint32_t len);
	/* Optional: a malformed answer from the target, already formatted
	 * (the target's bytes are not in it). */
	void (*warn)(void *ctx, const char *msg);
};

/* The caller's workspace (about 6 KiB: keep it off small stacks). */
struct lunscan_work {
	uint8_t buf[8 + 8 * LUNSCAN_MAX_LUNS];
	uint64_t raw[LUNSCAN_MAX_LUNS];
};

/* One LUN: fills *out. Returns 0 or the -errno of ops->data_in. */
int lunscan_one(const struct lunscan_ops *ops, void *ctx, struct lunscan_work *w,
		uint32_t lun, struct lunscan_lun *out);

/* Every LUN the target reports, up to max: fills out[0..*n). Returns 0 or
 * the -errno of ops->data_in. */
int lunscan_all(const struct lunscan_ops *ops, void *ctx, struct lunscan_work *w,
		struct lunscan_lun *out, size_t max, size_t *n);

#endif
