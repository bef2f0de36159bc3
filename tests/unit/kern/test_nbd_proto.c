/* SPDX-License-Identifier: MIT */
/* kern/nbd_proto.c: the NBD handshake and requests, fed bytes; replies
 * compared with golden bytes written from the protocol document. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kern/nbd_proto.h"

static const struct nbdp_export exps[] = {
	{ .name = "lun0", .size = 0x40000000, .flags = NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_TRIM |
	  NBD_FLAG_SEND_WRITE_ZEROES, .min_block = 512, .pref_block = 4096,
	  .max_block = 1u << 20 },
	{ .name = "ro", .size = 8192, .flags = NBD_FLAG_READ_ONLY, .min_block = 4096,
	  .pref_block = 4096, .max_block = 65536 },
};

#define FIXED (NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)

static uint8_t outbuf[8192];

static struct nbdp_out out_new(void)
{
	struct nbdp_out o = { outbuf, sizeof(outbuf), 0 };

	memset(outbuf, 0xee, sizeof(outbuf));
	return o;
}

/* An option-reply header for opt/type/len, as the spec lays it out. */
static void rep_hdr(uint8_t *p, uint32_t opt, uint32_t type, uint32_t len)
{
	static const uint8_t magic[8] = { 0x00, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9 };

	memcpy(p, magic, 8);
	p[8] = (uint8_t)(opt >> 24); p[9] = (uint8_t)(opt >> 16);
	p[10] = (uint8_t)(opt >> 8); p[11] = (uint8_t)opt;
	p[12] = (uint8_t)(type >> 24); p[13] = (uint8_t)(type >> 16);
	p[14] = (uint8_t)(type >> 8); p[15] = (uint8_t)type;
	p[16] = (uint8_t)(len >> 24); p[17] = (uint8_t)(len >> 16);
	p[18] = (uint8_t)(len >> 8); p[19] = (uint8_t)len;
}

static void test_greeting_and_flags(void **state)
{
	static const uint8_t golden[18] = {
		'N', 'B', 'D', 'M', 'A', 'G', 'I', 'C', 'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T',
		0x00, 0x03,
	};
	uint8_t g[18], cf[4] = { 0, 0, 0, 3 };
	uint32_t flags;

	(void)state;
	nbdp_greeting(g);
	assert_memory_equal(g, golden, sizeof(g));
	assert_int_equal(nbdp_client_flags(cf, &flags), 0);
	assert_int_equal(flags, 3);
	cf[3] = 4;
	assert_int_equal(nbdp_client_flags(cf, &flags), -EPROTO);
}

static void test_opt_header(void **state)
{
	uint8_t h[16] = { 'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0, 0, 0, 7, 0, 0, 0x01, 0x02 };
	uint32_t opt, len;

	(void)state;
	assert_int_equal(nbdp_opt_header(h, &opt, &len), 0);
	assert_int_equal(opt, NBD_OPT_GO);
	assert_int_equal(len, 0x102);
	h[0] = 'X';
	assert_int_equal(nbdp_opt_header(h, &opt, &len), -EPROTO);
}

static void test_export_name(void **state)
{
	struct nbdp_out o = out_new();
	size_t chosen = 99;
	static const uint8_t golden[10] = { 0, 0, 0, 0, 0x40, 0, 0, 0, 0x00, 0x65 };

	(void)state;
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_EXPORT_NAME,
					 (const uint8_t *)"lun0", 4, &o, &chosen), NBDP_TRANSMIT);
	assert_int_equal(chosen, 0);
	assert_int_equal(o.len, 10);   /* NO_ZEROES: no 124 bytes of padding */
	assert_memory_equal(outbuf, golden, 10);

	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, NBD_FLAG_C_FIXED_NEWSTYLE,
					 NBD_OPT_EXPORT_NAME, (const uint8_t *)"ro", 2, &o,
					 &chosen), NBDP_TRANSMIT);
	assert_int_equal(chosen, 1);
	assert_int_equal(o.len, 134);
	assert_int_equal(outbuf[9], NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
	for (size_t i = 10; i < 134; i++)
		assert_int_equal(outbuf[i], 0);

	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_EXPORT_NAME,
					 (const uint8_t *)"nope", 4, &o, &chosen), NBDP_CLOSE);
	assert_int_equal(o.len, 0);
	/* the empty name is the default export */
	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_EXPORT_NAME, NULL, 0, &o,
					 &chosen), NBDP_TRANSMIT);
	assert_int_equal(chosen, 0);
}

static void test_go_with_block_size(void **state)
{
	/* name "lun0", 1 information request: NBD_INFO_BLOCK_SIZE */
	static const uint8_t data[] = { 0, 0, 0, 4, 'l', 'u', 'n', '0', 0, 1, 0, 3 };
	uint8_t golden[20 + 12 + 20 + 14 + 20];
	uint8_t *p = golden;
	struct nbdp_out o = out_new();
	size_t chosen = 99;

	(void)state;
	rep_hdr(p, NBD_OPT_GO, NBD_REP_INFO, 12);
	p += 20;
	memcpy(p, (uint8_t[]){ 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0x00, 0x65 }, 12);
	p += 12;
	rep_hdr(p, NBD_OPT_GO, NBD_REP_INFO, 14);
	p += 20;
	memcpy(p, (uint8_t[]){ 0, 3, 0, 0, 2, 0, 0, 0, 0x10, 0, 0, 0x10, 0, 0 }, 14);
	p += 14;
	rep_hdr(p, NBD_OPT_GO, NBD_REP_ACK, 0);

	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_GO, data, sizeof(data), &o,
					 &chosen), NBDP_TRANSMIT);
	assert_int_equal(chosen, 0);
	assert_int_equal(o.len, sizeof(golden));
	assert_memory_equal(outbuf, golden, sizeof(golden));

	/* INFO: the same replies, but the haggling goes on */
	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_INFO, data, sizeof(data), &o,
					 &chosen), NBDP_CONTINUE);
	assert_int_equal(o.len, sizeof(golden));
	assert_int_equal(outbuf[11], NBD_OPT_INFO);
}

static void test_go_errors(void **state)
{
	static const uint8_t unknown[] = { 0, 0, 0, 1, 'x', 0, 0 };
	static const uint8_t bad_count[] = { 0, 0, 0, 1, 'x', 0, 2, 0, 3 };
	static const uint8_t long_name[] = { 0, 0, 0, 9, 'x', 0, 0 };
	uint8_t golden[20];
	struct nbdp_out o = out_new();
	size_t chosen;

	(void)state;
	rep_hdr(golden, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, 0);
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_GO, unknown, sizeof(unknown),
					 &o, &chosen), NBDP_CONTINUE);
	assert_int_equal(o.len, 20);
	assert_memory_equal(outbuf, golden, 20);

	rep_hdr(golden, NBD_OPT_GO, NBD_REP_ERR_INVALID, 0);
	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_GO, bad_count,
					 sizeof(bad_count), &o, &chosen), NBDP_CONTINUE);
	assert_memory_equal(outbuf, golden, 20);
	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_GO, long_name,
					 sizeof(long_name), &o, &chosen), NBDP_CONTINUE);
	assert_memory_equal(outbuf, golden, 20);
	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_GO, unknown, 3, &o, &chosen),
			 NBDP_CONTINUE);
	assert_memory_equal(outbuf, golden, 20);

	/* a client without fixed newstyle cannot take an error reply */
	o = out_new();
	assert_int_equal(nbdp_handle_opt(exps, 2, 0, NBD_OPT_GO, unknown, sizeof(unknown), &o,
					 &chosen), NBDP_CLOSE);
	assert_int_equal(o.len, 0);
}

static void test_list_abort_unsupported(void **state)
{
	uint8_t golden[20 + 8 + 20 + 6 + 20];
	struct nbdp_out o = out_new();
	size_t chosen;

	(void)state;
	rep_hdr(golden, NBD_OPT_LIST, NBD_REP_SERVER, 8);
	memcpy(golden + 20, (uint8_t[]){ 0, 0, 0, 4, 'l', 'u', 'n', '0' }, 8);
	rep_hdr(golden + 28, NBD_OPT_LIST, NBD_REP_SERVER, 6);
	memcpy(golden + 48, (uint8_t[]){ 0, 0, 0, 2, 'r', 'o' }, 6);
	rep_hdr(golden + 54, NBD_OPT_LIST, NBD_REP_ACK, 0);
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_LIST, NULL, 0, &o, &chosen),
			 NBDP_CONTINUE);
	assert_int_equal(o.len, sizeof(golden));
	assert_memory_equal(outbuf, golden, sizeof(golden));

	o = out_new();
	rep_hdr(golden, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ERR_UNSUP, 0);
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_STRUCTURED_REPLY, NULL, 0, &o,
					 &chosen), NBDP_CONTINUE);
	assert_memory_equal(outbuf, golden, 20);

	o = out_new();
	rep_hdr(golden, 0x1234, NBD_REP_ERR_UNSUP, 0);
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, 0x1234, NULL, 0, &o, &chosen),
			 NBDP_CONTINUE);
	assert_memory_equal(outbuf, golden, 20);

	o = out_new();
	rep_hdr(golden, NBD_OPT_ABORT, NBD_REP_ACK, 0);
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_ABORT, NULL, 0, &o, &chosen),
			 NBDP_CLOSE);
	assert_memory_equal(outbuf, golden, 20);

	/* no room: -ENOBUFS, never an overflow */
	o = (struct nbdp_out){ outbuf, 30, 0 };
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_LIST, NULL, 0, &o, &chosen),
			 -ENOBUFS);
	assert_true(o.len <= 30);
	assert_int_equal(nbdp_handle_opt(exps, 2, FIXED, NBD_OPT_GO, NULL,
					 NBDP_OPT_DATA_MAX + 1, &o, &chosen), -EINVAL);
}

static void test_request(void **state)
{
	static const uint8_t h[28] = {
		0x25, 0x60, 0x95, 0x13, 0x00, 0x01, 0x00, 0x01,
		1, 2, 3, 4, 5, 6, 7, 8,
		0, 0, 0, 0, 0, 0, 0x10, 0x00,
		0, 0, 0x10, 0x00,
	};
	struct nbdp_req r;
	uint8_t bad[28];

	(void)state;
	assert_int_equal(nbdp_parse_req(h, &r), 0);
	assert_int_equal(r.flags, NBD_CMD_FLAG_FUA);
	assert_int_equal(r.type, NBD_CMD_WRITE);
	assert_int_equal(r.cookie, 0x0102030405060708ull);
	assert_int_equal(r.offset, 4096);
	assert_int_equal(r.len, 4096);
	memcpy(bad, h, sizeof(bad));
	bad[3] = 0x14;
	assert_int_equal(nbdp_parse_req(bad, &r), -EPROTO);
}

static void test_check_req(void **state)
{
	const struct nbdp_export *e = &exps[0], *ro = &exps[1];
	struct nbdp_req r = { .type = NBD_CMD_READ, .offset = 0, .len = 4096 };

	(void)state;
	assert_int_equal(nbdp_check_req(&r, e), 0);
	r.offset = 100;
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);     /* unaligned */
	r.offset = e->size - 512;
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);     /* crosses the end */
	r.type = NBD_CMD_WRITE;
	assert_int_equal(nbdp_check_req(&r, e), NBD_ENOSPC);
	r.offset = 0;
	r.len = (1u << 20) + 512;
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);     /* above max_block */
	r.len = 0;
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);
	r.len = 4096;
	assert_int_equal(nbdp_check_req(&r, ro), NBD_EPERM);
	r.flags = NBD_CMD_FLAG_FUA;                              /* not advertised */
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);
	r.flags = 0x80;
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);
	r.flags = 0;
	r.type = NBD_CMD_TRIM;
	r.offset = 100;
	r.len = 1000;                                            /* trim may be unaligned */
	assert_int_equal(nbdp_check_req(&r, e), 0);
	assert_int_equal(nbdp_check_req(&r, ro), NBD_EINVAL);    /* not advertised there */
	r.type = NBD_CMD_WRITE_ZEROES;
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);     /* zeroes must be aligned */
	r.offset = 512;
	r.len = 1024;
	assert_int_equal(nbdp_check_req(&r, e), 0);
	r.type = NBD_CMD_FLUSH;
	assert_int_equal(nbdp_check_req(&r, ro), 0);
	r.type = NBD_CMD_CACHE;
	assert_int_equal(nbdp_check_req(&r, e), NBD_EINVAL);
}

static void test_reply_and_errors(void **state)
{
	static const uint8_t golden[16] = {
		0x67, 0x44, 0x66, 0x98, 0, 0, 0, 5, 8, 7, 6, 5, 4, 3, 2, 1,
	};
	uint8_t out[16];

	(void)state;
	nbdp_simple_reply(out, NBD_EIO, 0x0807060504030201ull);
	assert_memory_equal(out, golden, sizeof(golden));
	assert_int_equal(nbdp_error(0), 0);
	assert_int_equal(nbdp_error(-EROFS), NBD_EPERM);
	assert_int_equal(nbdp_error(-ENOSPC), NBD_ENOSPC);
	assert_int_equal(nbdp_error(-EOPNOTSUPP), NBD_ENOTSUP);
	assert_int_equal(nbdp_error(-ENOTCONN), NBD_EIO);
	assert_int_equal(nbdp_error(-EINVAL), NBD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_and_flags),
		cmocka_unit_test(test_opt_header),
		cmocka_unit_test(test_export_name),
		cmocka_unit_test(test_go_with_block_size),
		cmocka_unit_test(test_go_errors),
		cmocka_unit_test(test_list_abort_unsupported),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_check_req),
		cmocka_unit_test(test_reply_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
