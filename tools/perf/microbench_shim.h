/* SPDX-License-Identifier: MIT */
/*
 * The C side of mcsi-microbench: each function does one unit of work of
 * the protocol code (encode or check a header, a login negotiation, a
 * segment cursor pass, a digest) over state prepared by mb_setup(), so
 * that the C++ benchmark driver needs no mcsi header. Return values are
 * there to keep the compiler from dropping the work.
 */
#ifndef MCSI_TOOLS_MICROBENCH_SHIM_H
#define MCSI_TOOLS_MICROBENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Prepares buffers and canned PDUs for data segments up to max_len
 * bytes. Returns 0, or -1 (allocation, or a canned input the protocol
 * code refused: the benchmarks would measure an error path). */
int mb_setup(size_t max_len);
void mb_teardown(void);

/* SCSI Command BHS for READ(10), CmdSN and ExpStatSN stamped. */
uint32_t mb_pdu_build_scsi_cmd(uint32_t itt);
/* The receive gate of one Data-In header (pdu_check_target_pdu). */
int mb_pdu_check_data_in(void);
/* A whole operational-stage negotiation: offers, a tgt-like answer,
 * closing the stage, the result. Returns the negotiated MaxBurstLength. */
uint32_t mb_negotiate(void);
/* Send side of one Data-Out PDU of len bytes from a 4-entry scatter
 * list: cursor init (digests as asked), iovec fill, advance. */
size_t mb_seg_tx(size_t len, int digests);
/* Receive side: n Data-In PDUs of len bytes each, all in one receive
 * through the staging buffer (headers parsed in place, data copied). */
uint64_t mb_seg_rx_batch(unsigned n, size_t len, int digests);
/* Receive side: one Data-In of len bytes received straight into its
 * buffer (the cursor's direct path: fill, then advance). */
uint64_t mb_seg_rx_direct(size_t len, int digests);
/* CRC32C of len bytes: mcsi's digest_crc32c(), and ISA-L's crc32_iscsi()
 * called directly (the bound). */
uint32_t mb_digest(size_t len);
uint32_t mb_isal_crc(size_t len);

#ifdef __cplusplus
}
#endif

#endif
