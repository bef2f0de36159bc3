/* SPDX-License-Identifier: MIT */
/* kern/vpd.c: identity from VPD 0x83 pages, READ CAPACITY(16) and Block
 * Limits parsing, on pages laid out as SPC-4/SBC-3 describe them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kern/vpd.h"

/* A page as tgt sends it: a T10 vendor ID, then an NAA (IEEE registered
 * extended) designator for the LU, then a target port designator. */
static const uint8_t page_tgt[] = {
	0x00, 0x83, 0x00, 0x2c,
	0x02, 0x01, 0x00, 0x0c, 'I', 'E', 'T', ' ', ' ', ' ', ' ', ' ', 'd', 'i', 's', 'k',
	0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12,
	0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12,
	0x01, 0x14, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
};

static void test_naa_wins(void **state)
{
	char id[64];

	(void)state;
	assert_int_equal(kern_vpd83_identity(page_tgt, sizeof(page_tgt), id, sizeof(id)), 0);
	assert_string_equal(id, "naa.6001405abcdef0123456789abcdef012");
	assert_int_equal(kern_vpd83_identity(page_tgt, sizeof(page_tgt), id, 20), -ENAMETOOLONG);
}

static void test_other_designators(void **state)
{
	static const uint8_t t10_only[] = {
		0x00, 0x83, 0x00, 0x10,
		0x02, 0x01, 0x00, 0x0c, 'I', 'E', 'T', ' ', ' ', ' ', ' ', ' ', 'v', 'o', 'l', 0x01,
	};
	/* a T10 vendor ID with nothing past the vendor name names nothing */
	static const uint8_t t10_empty[] = {
		0x00, 0x83, 0x00, 0x10,
		0x02, 0x01, 0x00, 0x0c, 'I', 'E', 'T', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
	};
	static const uint8_t eui[] = {
		0x00, 0x83, 0x00, 0x0c,
		0x01, 0x02, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
	};
	static const uint8_t name[] = {
		0x00, 0x83, 0x00, 0x14,
		0x03, 0x08, 0x00, 0x10, 'i', 'q', 'n', '.', 'x', ':', 'l', 'u', 'n', '1', 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t port_only[] = {
		0x00, 0x83, 0x00, 0x08, 0x01, 0x14, 0x00, 0x04, 0, 0, 0, 1,
	};
	char id[64];

	(void)state;
	assert_int_equal(kern_vpd83_identity(t10_only, sizeof(t10_only), id, sizeof(id)), 0);
	assert_string_equal(id, "t10.IET_____vol\\x01");
	assert_int_equal(kern_vpd83_identity(t10_empty, sizeof(t10_empty), id, sizeof(id)),
			 -ENOENT);
	assert_int_equal(kern_vpd83_identity(eui, sizeof(eui), id, sizeof(id)), 0);
	assert_string_equal(id, "eui.0102030405060708");
	assert_int_equal(kern_vpd83_identity(name, sizeof(name), id, sizeof(id)), 0);
	assert_string_equal(id, "iqn.x:lun1");
	assert_int_equal(kern_vpd83_identity(port_only, sizeof(port_only), id, sizeof(id)),
			 -ENOENT);
}

static void test_malformed(void **state)
{
	uint8_t bad[sizeof(page_tgt)];
	char id[64];

	(void)state;
	memcpy(bad, page_tgt, sizeof(bad));
	bad[1] = 0x80;                               /* another page */
	assert_int_equal(kern_vpd83_identity(bad, sizeof(bad), id, sizeof(id)), -EPROTO);
	assert_string_equal(id, "");
	memcpy(bad, page_tgt, sizeof(bad));
	bad[4 + 3] = 0x40;                           /* descriptor runs past the page */
	assert_int_equal(kern_vpd83_identity(bad, sizeof(bad), id, sizeof(id)), -EPROTO);
	assert_int_equal(kern_vpd83_identity(page_tgt, 3, id, sizeof(id)), -EPROTO);
	/* a page cut by the allocation length is refused, not half used: the
	 * identity must not depend on how much of the page was asked for */
	assert_int_equal(kern_vpd83_identity(page_tgt, 20, id, sizeof(id)), -EPROTO);
	assert_string_equal(id, "");
}

static void test_rc16(void **state)
{
	static const uint8_t d[32] = {
		0, 0, 0, 0, 0, 0x3f, 0xff, 0xff,   /* last LBA 0x3fffff */
		0, 0, 0x10, 0x00,                  /* 4096 */
		0, 0, 0xc0, 0,                     /* LBPME, LBPRZ */
	};
	struct kern_capacity c;
	uint8_t bad[32];

	(void)state;
	assert_int_equal(kern_parse_rc16(d, sizeof(d), &c), 0);
	assert_int_equal(c.blocks, 0x400000);
	assert_int_equal(c.block_size, 4096);
	assert_true(c.lbpme);
	assert_true(c.lbprz);
	assert_int_equal(kern_parse_rc16(d, 12, &c), 0);
	assert_false(c.lbpme);
	assert_int_equal(kern_parse_rc16(d, 11, &c), -EPROTO);
	memcpy(bad, d, sizeof(bad));
	bad[10] = 0x11;                            /* 4352: not a power of two */
	assert_int_equal(kern_parse_rc16(bad, sizeof(bad), &c), -EPROTO);
}

static void test_block_limits(void **state)
{
	uint8_t p[64] = { 0, 0xb0, 0, 0x3c };
	uint32_t xfer, unmap;
	uint64_t ws;

	(void)state;
	p[8 + 2] = 0x08;                           /* max transfer 0x800 blocks */
	p[20 + 1] = 0x01;                          /* max unmap 0x10000 */
	p[36 + 6] = 0x10;                          /* max write same 0x1000 */
	assert_int_equal(kern_parse_vpdb0(p, sizeof(p), &xfer, &unmap, &ws), 0);
	assert_int_equal(xfer, 0x800);
	assert_int_equal(unmap, 0x10000);
	assert_int_equal(ws, 0x1000);
	assert_int_equal(kern_parse_vpdb0(p, 16, &xfer, &unmap, &ws), 0);
	assert_int_equal(unmap, 0);
	p[1] = 0xb1;
	assert_int_equal(kern_parse_vpdb0(p, sizeof(p), &xfer, &unmap, &ws), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_naa_wins),
		cmocka_unit_test(test_other_designators),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rc16),
		cmocka_unit_test(test_block_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
