/* SPDX-License-Identifier: MIT */
#include "proto/digest.h"

#include <errno.h>
#include <isa-l/crc.h>

uint32_t digest_update(uint32_t crc, const void *buf, size_t len)
{
	/* ISA-L takes an int length; fold huge buffers in slices. */
	const unsigned char *p = buf;
	while (len > 0) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;
		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= (size_t)n;
	}
	return crc;
}

uint32_t digest_crc32c(const void *buf, size_t len)
{
	return digest_final(digest_update(DIGEST_SEED, buf, len));
}

int digest_iov(const struct iovec *iov, int iovcnt, size_t off, size_t len,
	       unsigned pad, uint32_t *out)
{
	static const uint8_t zeros[4];
	uint32_t crc = DIGEST_SEED;

	if (pad > 3)
		return -EINVAL;
	for (int i = 0; i < iovcnt && len > 0; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		crc = digest_update(crc, (const uint8_t *)iov[i].iov_base + off, n);
		len -= n;
		off = 0;
	}
	if (len > 0)
		return -EINVAL;
	crc = digest_update(crc, zeros, pad);
	*out = digest_final(crc);
	return 0;
}

void digest_store(uint8_t wire[4], uint32_t digest)
{
	wire[0] = (uint8_t)digest;
	wire[1] = (uint8_t)(digest >> 8);
	wire[2] = (uint8_t)(digest >> 16);
	wire[3] = (uint8_t)(digest >> 24);
}

uint32_t digest_load(const uint8_t wire[4])
{
	return (uint32_t)wire[0] | (uint32_t)wire[1] << 8 |
	       (uint32_t)wire[2] << 16 | (uint32_t)wire[3] << 24;
}
