/* SPDX-License-Identifier: MIT */
/*
 * proto/digest.c: the CRC32C examples of RFC 7143 appendix B.4 (as they
 * appear on the wire), the incremental form, and digest_iov() over scatter
 * lists split at odd offsets, with a starting offset and padding.
 */
#include "proto/digest.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

/* RFC 7143 B.4 "iSCSI - Read (10) Command PDU". */
static const uint8_t read10[48] = {
	0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
	0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
	0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void assert_wire(uint32_t digest, uint8_t b0, uint8_t b1, uint8_t b2,
			uint8_t b3)
{
	uint8_t wire[4];

	digest_store(wire, digest);
	assert_int_equal(wire[0], b0);
	assert_int_equal(wire[1], b1);
	assert_int_equal(wire[2], b2);
	assert_int_equal(wire[3], b3);
	assert_int_equal(digest_load(wire), digest);
}

static void test_rfc_vectors(void **state)
{
	uint8_t buf[32];
	(void)state;

	memset(buf, 0, sizeof(buf));
	assert_wire(digest_crc32c(buf, 32), 0xaa, 0x36, 0x91, 0x8a);
	assert_int_equal(digest_crc32c(buf, 32), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	assert_wire(digest_crc32c(buf, 32), 0x43, 0xab, 0xa8, 0x62);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_wire(digest_crc32c(buf, 32), 0x4e, 0x79, 0xdd, 0x46);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_wire(digest_crc32c(buf, 32), 0x5c, 0xdb, 0x3f, 0x11);
	assert_wire(digest_crc32c(read10, sizeof(read10)), 0x56, 0x3a, 0x96, 0xd9);
}

static void test_incremental(void **state)
{
	uint32_t crc = DIGEST_SEED;
	(void)state;

	/* Folding in uneven slices gives the one-shot value. */
	crc = digest_update(crc, read10, 1);
	crc = digest_update(crc, read10 + 1, 0);
	crc = digest_update(crc, read10 + 1, 22);
	crc = digest_update(crc, read10 + 23, 25);
	assert_int_equal(digest_final(crc), digest_crc32c(read10, sizeof(read10)));
	assert_int_equal(digest_crc32c(NULL, 0), 0);
}

static void test_iov_split(void **state)
{
	uint8_t inc[32];
	struct iovec iov[4];
	uint32_t out = 0;
	(void)state;

	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	/* 3 + 0 + 17 + 12 bytes, an empty element in the middle. */
	iov[0] = (struct iovec){ inc, 3 };
	iov[1] = (struct iovec){ inc + 3, 0 };
	iov[2] = (struct iovec){ inc + 3, 17 };
	iov[3] = (struct iovec){ inc + 20, 12 };
	assert_int_equal(digest_iov(iov, 4, 0, 32, 0, &out), 0);
	assert_int_equal(out, 0x46dd794e);

	/* The RFC command split at 1, 8, 21, 27, 45. */
	static const size_t cuts[] = { 0, 1, 8, 21, 27, 45, 48 };
	struct iovec v[6];
	for (int i = 0; i < 6; i++)
		v[i] = (struct iovec){ (void *)(read10 + cuts[i]),
				       cuts[i + 1] - cuts[i] };
	assert_int_equal(digest_iov(v, 6, 0, 48, 0, &out), 0);
	assert_int_equal(out, 0xd9963a56);
}

static void test_iov_offset_and_pad(void **state)
{
	uint8_t all[64] = { 0 };
	uint8_t flat[64];
	struct iovec iov[3];
	uint32_t out = 0;
	(void)state;

	for (int i = 0; i < 64; i++)
		all[i] = (uint8_t)(0x30 + i * 7);
	iov[0] = (struct iovec){ all, 5 };
	iov[1] = (struct iovec){ all + 5, 11 };
	iov[2] = (struct iovec){ all + 16, 48 };

	/* 13 bytes starting 9 bytes in (inside the second element), then
	 * three bytes of zero padding: the digest of the padded segment. */
	memcpy(flat, all + 9, 13);
	memset(flat + 13, 0, 3);
	assert_int_equal(digest_iov(iov, 3, 9, 13, 3, &out), 0);
	assert_int_equal(out, digest_crc32c(flat, 16));

	/* Offset exactly at an element boundary; a 45-byte segment. */
	memcpy(flat, all + 16, 45);
	memset(flat + 45, 0, 3);
	assert_int_equal(digest_iov(iov, 3, 16, 45, 3, &out), 0);
	assert_int_equal(out, digest_crc32c(flat, 48));

	/* An odd length ending inside the first element, padded by one. */
	memcpy(flat, all + 2, 3);
	flat[3] = 0;
	assert_int_equal(digest_iov(iov, 3, 2, 3, 1, &out), 0);
	assert_int_equal(out, digest_crc32c(flat, 4));

	/* Padding changes the value: it is covered by the digest. */
	uint32_t unpadded;
	assert_int_equal(digest_iov(iov, 3, 2, 3, 0, &unpadded), 0);
	assert_int_not_equal(unpadded, out);
}

static void test_iov_errors(void **state)
{
	uint8_t buf[8] = { 0 };
	struct iovec iov[2] = { { buf, 4 }, { buf + 4, 4 } };
	uint32_t out = 0x12345678;
	(void)state;

	assert_int_equal(digest_iov(iov, 2, 0, 9, 0, &out), -EINVAL);
	assert_int_equal(digest_iov(iov, 2, 5, 4, 0, &out), -EINVAL);
	assert_int_equal(digest_iov(iov, 2, 0, 4, 4, &out), -EINVAL);
	assert_int_equal(out, 0x12345678);
	assert_int_equal(digest_iov(iov, 2, 4, 4, 0, &out), 0);
	assert_int_equal(out, digest_crc32c(buf, 4));
	/* Zero bytes: the empty digest. */
	assert_int_equal(digest_iov(iov, 0, 0, 0, 0, &out), 0);
	assert_int_equal(out, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_vectors),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_iov_split),
		cmocka_unit_test(test_iov_offset_and_pad),
		cmocka_unit_test(test_iov_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
