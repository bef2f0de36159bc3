/* SPDX-License-Identifier: MIT */
/*
 * CRC32C header and data digests (RFC 7143 section 13.1, Castagnoli),
 * computed with Intel ISA-L. ISA-L's crc32_iscsi() returns the register
 * before the final inversion, so a digest is ~crc32_iscsi(buf, len, ~0).
 * The incremental form lets a segment cursor fold the CRC as it advances
 * over a scatter list.
 */
#ifndef MCSI_PROTO_DIGEST_H
#define MCSI_PROTO_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DIGEST_SEED 0xffffffffu

/* Running CRC: start with DIGEST_SEED, fold bytes, finish with
 * digest_final(). */
uint32_t digest_update(uint32_t crc, const void *buf, size_t len);
static inline uint32_t digest_final(uint32_t crc) { return ~crc; }

/* One-shot digest of a contiguous buffer. */
uint32_t digest_crc32c(const void *buf, size_t len);

/* Digest over len bytes of a scatter list starting off bytes into it,
 * followed by pad zero bytes (data segment padding is covered by the data
 * digest). Returns 0 and sets *out, or -EINVAL if the list is too short. */
int digest_iov(const struct iovec *iov, int iovcnt, size_t off, size_t len,
	       unsigned pad, uint32_t *out);

/* The CRC travels least significant byte first: the RFC's vector for 32
 * zero bytes reads "aa 36 91 8a" on the wire for the value 0x8a9136aa. */
void digest_store(uint8_t wire[4], uint32_t digest);
uint32_t digest_load(const uint8_t wire[4]);

#endif
