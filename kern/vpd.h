/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the SCSI data kern/ needs to present a LUN (pure functions
 * over bytes, fed by kern/mcsi_bk.c and by the unit tests): the identity
 * of a LUN for multipath, from the Device Identification VPD page (0x83),
 * and READ CAPACITY(16) data.
 */
#ifndef MCSI_KERN_VPD_H
#define MCSI_KERN_VPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The identity of a LUN for multipath: the designator proto/scsi.h's
 * scsi_vpd83_best() picks from a whole VPD 0x83 page, formatted by
 * scsi_desig_format() ("naa.<hex>", "eui.<hex>", "uuid.<...>", a SCSI name
 * string, "t10.<text>", ...). Returns 0, -ENOENT (no valid logical-unit
 * designator), -EPROTO (malformed or truncated page; out stays ""), or
 * -ENAMETOOLONG (out too small). */
int kern_vpd83_identity(const uint8_t *page, size_t len, char *out, size_t out_len);

struct kern_capacity {
	uint64_t blocks;
	uint32_t block_size;
	bool lbpme;                 /* thin provisioned: UNMAP works */
	bool lbprz;                 /* unmapped blocks read as zeroes */
};

/* Parses READ CAPACITY(16) parameter data (at least 32 bytes; 16 are
 * accepted with lbpme/lbprz false). Returns 0 or -EPROTO (short, block
 * size not a power of two in 512..1 MiB). */
int kern_parse_rc16(const uint8_t *d, size_t len, struct kern_capacity *cap);

/* Block Limits VPD page (0xB0): the largest transfer and UNMAP extent in
 * blocks (0: no limit reported). Returns 0 or -EPROTO. */
int kern_parse_vpdb0(const uint8_t *page, size_t len, uint32_t *max_xfer,
		     uint32_t *max_unmap, uint64_t *max_write_same);

#endif
