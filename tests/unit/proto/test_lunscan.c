/* SPDX-License-Identifier: MIT */
/* proto/lunscan: the scan sequence against a fake target answering with
 * tgt's captured responses, and how each kind of failure is handled. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pdu_hex.h"
#include "proto/lunscan.h"

/* tgt: LUN 0 is its controller, LUN 1 a 64 MiB disk of 512-byte blocks. */
static const char tgt_luns[] = "000000100000000000000000000000000001000000000000";
static const char tgt_inq_lun0[] =
	"0c0005123d0000024945542020202020436f6e74726f6c6c6572202020202020"
	"303030310000000000000000000000000000000000000000000004c0096001fb";
static const char tgt_inq[] =
	"000005123d00000249455420202020205649525455414c2d4449534b20202020"
	"303030310000000000000000000000000000000000000000000004c009600300"
	"0000";
static const char tgt_vpd80[] =
	"0080002420202020202020202020202020202020202020202020202020202020"
	"2020626561663131";
static const char tgt_vpd83[] =
	"0083004802010024494554202020202030303031303030310000000000000000"
	"0000000000000000000000000103000830000001000000010103001060000000"
	"000000000e00000000010001";
static const char tgt_rc16[] =
	"000000000001ffff000002000003000000000000000000000000000000000000";
static const char tgt_rc10[] = "0001ffff00000200";
/* REPORT LUNS that says 300 LUNs (2400 bytes) but carries two. */
static const char many_luns[] = "00000960000000000000000000000000";

struct fake {
	uint8_t fail_op;          /* opcode (INQUIRY: page | 0x100) that fails */
	int fail_rc;
	const char *luns;         /* REPORT LUNS answer */
	const char *inq;          /* INQUIRY answer for LUN != 0 */
	int calls;
	int warns;
	char warn[200];
};

static int fake_key(const uint8_t *cdb)
{
	return cdb[0] == 0x12 && (cdb[1] & 1) ? 0x100 | cdb[2] : cdb[0];
}

static int fake_in(void *ctx, uint32_t lun, const uint8_t *cdb, size_t cdb_len,
		   uint8_t *buf, uint32_t len)
{
	struct fake *f = ctx;
	const char *hex = NULL;
	uint8_t tmp[4096];

	assert_true(cdb_len >= 6);
	f->calls++;
	int key = fake_key(cdb);
	if (f->fail_op && (key == f->fail_op || key == (0x100 | f->fail_op)))
		return f->fail_rc;
	switch (key) {
	case 0xa0: hex = f->luns; break;
	case 0x12: hex = lun == 0 ? tgt_inq_lun0 : f->inq; break;
	case 0x180: hex = tgt_vpd80; break;
	case 0x183: hex = tgt_vpd83; break;
	case 0x9e: hex = tgt_rc16; break;
	case 0x25: hex = tgt_rc10; break;
	default: return -EIO;
	}
	size_t n = hex_decode(hex, tmp, sizeof(tmp));
	if (n > len)
		n = len;
	memcpy(buf, tmp, n);
	return (int)n;
}

static void fake_warn(void *ctx, const char *msg)
{
	struct fake *f = ctx;
	f->warns++;
	snprintf(f->warn, sizeof(f->warn), "%s", msg);
}

static const struct lunscan_ops ops = { .data_in = fake_in, .warn = fake_warn };

static struct lunscan_work *work(void)
{
	struct lunscan_work *w = malloc(sizeof(*w));
	assert_non_null(w);
	return w;
}

static void test_tgt_two_luns(void **state)
{
	(void)state;
	struct fake f = { .luns = tgt_luns, .inq = tgt_inq };
	struct lunscan_work *w = work();
	struct lunscan_lun l[4];
	size_t n = 9;

	assert_int_equal(lunscan_all(&ops, &f, w, l, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].lun, 0);
	assert_int_equal(l[0].device_type, 0x0c);
	assert_string_equal(l[0].product, "Controller");
	assert_false(l[0].has_capacity);          /* not a disk: not asked */
	assert_int_equal(l[1].lun, 1);
	assert_int_equal(l[1].device_type, 0);
	assert_string_equal(l[1].vendor, "IET");
	assert_string_equal(l[1].serial, "beaf11");
	assert_string_equal(l[1].designator, "naa.60000000000000000e00000000010001");
	assert_true(l[1].has_capacity);
	assert_int_equal(l[1].blocks, 0x20000);
	assert_int_equal(l[1].block_size, 512);
	assert_int_equal(f.warns, 0);
	free(w);
}

static void test_rc16_refused_falls_back(void **state)
{
	(void)state;
	struct fake f = { .luns = tgt_luns, .inq = tgt_inq, .fail_op = 0x9e, .fail_rc = -EIO };
	struct lunscan_work *w = work();
	struct lunscan_lun l;

	assert_int_equal(lunscan_one(&ops, &f, w, 1, &l), 0);
	assert_true(l.has_capacity);
	assert_int_equal(l.blocks, 0x20000);
	assert_int_equal(l.block_size, 512);
	assert_false(l.thin);
	free(w);
}

static void test_no_report_luns_means_lun0(void **state)
{
	(void)state;
	struct fake f = { .luns = tgt_luns, .inq = tgt_inq, .fail_op = 0xa0, .fail_rc = -EIO };
	struct lunscan_work *w = work();
	struct lunscan_lun l[4];
	size_t n;

	assert_int_equal(lunscan_all(&ops, &f, w, l, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].lun, 0);
	assert_int_equal(l[0].device_type, 0x0c);
	free(w);
}

static void test_transport_error_ends_scan(void **state)
{
	(void)state;
	struct fake f = { .luns = tgt_luns, .inq = tgt_inq, .fail_op = 0x80,
			  .fail_rc = -ECONNRESET };
	struct lunscan_work *w = work();
	struct lunscan_lun l[4];
	size_t n;

	assert_int_equal(lunscan_all(&ops, &f, w, l, 4, &n), -ECONNRESET);
	assert_int_equal(n, 0);
	assert_int_equal(f.calls, 3);             /* REPORT LUNS, INQUIRY, VPD 0x80 */
	f.fail_op = 0xa0;
	f.calls = 0;
	assert_int_equal(lunscan_all(&ops, &f, w, l, 4, &n), -ECONNRESET);
	assert_int_equal(f.calls, 1);
	free(w);
}

static void test_bad_inquiry_warns(void **state)
{
	(void)state;
	struct fake f = { .luns = tgt_luns, .inq = "0000" };
	struct lunscan_work *w = work();
	struct lunscan_lun l;

	assert_int_equal(lunscan_one(&ops, &f, w, 1, &l), 0);
	assert_int_equal(l.lun, 1);
	assert_string_equal(l.vendor, "");
	assert_false(l.has_capacity);
	assert_int_equal(f.warns, 1);
	assert_non_null(strstr(f.warn, "LUN 1: bad INQUIRY data"));
	free(w);
}

static void test_more_luns_than_listed(void **state)
{
	(void)state;
	struct fake f = { .luns = many_luns, .inq = tgt_inq };
	struct lunscan_work *w = work();
	struct lunscan_lun l[4];
	size_t n;

	assert_int_equal(lunscan_all(&ops, &f, w, l, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(f.warns, 1);
	assert_string_equal(f.warn, "the target reports 300 LUNs; listing 1");
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tgt_two_luns),
		cmocka_unit_test(test_rc16_refused_falls_back),
		cmocka_unit_test(test_no_report_luns_means_lun0),
		cmocka_unit_test(test_transport_error_ends_scan),
		cmocka_unit_test(test_bad_inquiry_warns),
		cmocka_unit_test(test_more_luns_than_listed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
