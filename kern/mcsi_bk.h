/* SPDX-License-Identifier: MIT */
/*
 * The backend over an iSCSI session (the public API, include/mcsi/mcsi.h):
 * every kern_io becomes one SCSI command from a pool allocated at
 * creation, submitted asynchronously; buffers are passed through, never
 * copied.
 *
 *   READ/WRITE     READ/WRITE(10 or 16)
 *   FLUSH          SYNCHRONIZE CACHE(10)
 *   UNMAP          UNMAP, one extent (only if the LUN is thin: LBPME)
 *   WRITE_ZEROES   WRITE SAME(16) of a zero block with the UNMAP bit
 *
 * Identity is the best VPD 0x83 logical-unit designator; the geometry
 * comes from READ CAPACITY(16) and the Block Limits VPD page, and is read
 * again by rescan (on CAPACITY DATA HAS CHANGED).
 */
#ifndef MCSI_KERN_MCSI_BK_H
#define MCSI_KERN_MCSI_BK_H

#include <stddef.h>
#include <stdint.h>

#include "kern/backend.h"
#include "mcsi/mcsi.h"

struct kern_mcsi_bk_opts {
	unsigned queue_depth;       /* commands in flight; 0: 256 */
};

/* A backend for LUN lun of session s (borrowed: it must outlive the
 * backend). Issues INQUIRY (VPD 0x83, 0xB0) and READ CAPACITY(16) before
 * returning. opts may be NULL. Returns 0, -ENOMEM, or the -errno of the
 * commands (-ENOTCONN, -EIO: the LUN does not answer READ CAPACITY). */
int kern_mcsi_bk_create(mcsi_session *s, uint32_t lun,
			const struct kern_mcsi_bk_opts *opts, struct kern_backend **out);

/* REPORT LUNS (SELECT REPORT 0): the LUN numbers (single-level, as
 * mcsi_cmd.lun takes them) into luns[max], count in *n. Returns 0 or
 * -errno. */
int kern_mcsi_report_luns(mcsi_session *s, uint32_t *luns, size_t max, size_t *n);

/* Parses REPORT LUNS parameter data into LUN numbers (flat and
 * peripheral addressing; other methods are skipped). Returns 0 or -EPROTO. */
int kern_parse_report_luns(const uint8_t *d, size_t len, uint32_t *luns,
			   size_t max, size_t *n);

#endif
