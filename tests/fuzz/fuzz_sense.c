/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the parsers of what a target sends about its logical units. The
 * first input byte picks the parser (mod 6): sense data, an iSCSI SCSI
 * Response data segment, VPD 0x83, REPORT LUNS, standard INQUIRY, or the
 * small ones (VPD 0x00 and 0x80, READ CAPACITY 10/16); the rest is the
 * buffer. Oracles: only documented error codes, a reason with every
 * -EPROTO, designators inside the buffer, identity strings printable and
 * NUL-terminated at their returned length, counts within what the buffer
 * can hold.
 */
#include "proto/scsi.h"
#include "proto/sense.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_err(int rc, const char *why)
{
	if (rc == -EPROTO)
		check(why && *why);
}

static void check_printable(const char *s, int len)
{
	check(len >= 0 && strlen(s) == (size_t)len);
	for (int i = 0; i < len; i++)
		check(s[i] > 0x20 && s[i] < 0x7f);
}

static void fuzz_sense(const uint8_t *p, size_t n, bool iscsi)
{
	struct sense_info s;
	const char *why = NULL;
	char text[40];
	int rc = iscsi ? sense_parse_iscsi(p, n, &s, &why)
		       : sense_parse(p, n, &s, &why);

	check(rc == 0 || rc == -EPROTO || (iscsi && rc == -ENODATA));
	check_err(rc, why);
	if (rc)
		return;
	check(s.response_code >= 0x70 && s.response_code <= 0x73);
	check(s.key <= 0xf);
	check(s.descriptor == (s.response_code >= 0x72));
	int len = sense_format(&s, text, sizeof(text));
	check(len == -ENOSPC || (len > 0 && (size_t)len < sizeof(text)));
	check(strlen(text) < sizeof(text));
	enum sense_class c = sense_classify(&s);
	check(c <= SENSE_OTHER);
	check(sense_class_name(c) != NULL);
	(void)sense_class_retryable(c);
}

static void fuzz_vpd83_walk(const uint8_t *p, size_t n)
{
	struct scsi_desig_iter it;
	struct scsi_desig d;
	const char *why = NULL;
	char small[24], big[4 * 255 + 16];
	int rc = scsi_desig_iter_init(&it, p, n, &why);

	check(rc == 0 || rc == -EPROTO || rc == -EMSGSIZE);
	check_err(rc, why);
	if (rc)
		return;
	while ((rc = scsi_desig_next(&it, &d, &why)) == 1) {
		check(d.id >= p + 4 && d.id + d.len <= p + n);
		int len = scsi_desig_format(&d, big, sizeof(big));
		check(len == -EINVAL || len >= 0);
		check(len != -EINVAL || !scsi_desig_valid(&d) ||
		      d.type == SCSI_DESIG_REL_PORT || d.type == SCSI_DESIG_TPG ||
		      d.type == SCSI_DESIG_LU_GROUP ||
		      d.type == SCSI_DESIG_PROTO_PORT);
		if (len >= 0)
			check_printable(big, len);
		int slen = scsi_desig_format(&d, small, sizeof(small));
		check(slen == len || (slen == -ENOSPC && len >= (int)sizeof(small)));
	}
	check(rc == 0 || rc == -EPROTO);
	check_err(rc, why);
}

static void fuzz_vpd83(const uint8_t *p, size_t n)
{
	struct scsi_desig d;
	const char *why = NULL;
	char big[4 * 255 + 16];

	fuzz_vpd83_walk(p, n);
	int rc = scsi_vpd83_best(p, n, &d, &why);
	check(rc == 0 || rc == -ENOENT || rc == -EPROTO || rc == -EMSGSIZE);
	check_err(rc, why);
	if (rc == 0) {
		check(d.assoc == SCSI_ASSOC_LU && scsi_desig_valid(&d));
		int len = scsi_desig_format(&d, big, sizeof(big));
		check(len > 0);
		check_printable(big, len);
	}
}

static void fuzz_luns(const uint8_t *p, size_t n)
{
	uint64_t luns[16];
	uint32_t total = 0, lun;
	const char *why = NULL;
	int rc = scsi_parse_report_luns(p, n, luns, 16, &total, &why);

	check(rc >= 0 || rc == -EPROTO);
	check_err(rc, why);
	if (rc < 0)
		return;
	check(rc <= 16 && (size_t)rc <= (n - 8) / 8 && (uint32_t)rc <= total);
	for (int i = 0; i < rc; i++) {
		int d = scsi_lun_decode(luns[i], &lun);
		check(d == -EOPNOTSUPP || (d == 0 && lun < 16384));
	}
}

static void fuzz_inquiry(const uint8_t *p, size_t n)
{
	struct scsi_inquiry inq;
	const char *why = NULL;
	int rc = scsi_parse_inquiry(p, n, &inq, &why);

	check(rc == 0 || rc == -EPROTO);
	check_err(rc, why);
	if (rc)
		return;
	check(strlen(inq.vendor) <= 8 && strlen(inq.product) <= 16 &&
	      strlen(inq.revision) <= 4);
	check(inq.qualifier < 8 && inq.device_type < 32 && inq.tpgs < 4);
	check(scsi_type_name(inq.device_type) != NULL);
}

static void fuzz_small(const uint8_t *p, size_t n)
{
	struct scsi_vpd_pages pages;
	struct scsi_capacity c;
	const char *why = NULL;
	char serial[64];
	int rc;

	rc = scsi_parse_vpd_supported(p, n, &pages, &why);
	check(rc == 0 || rc == -EPROTO || rc == -EMSGSIZE);
	check_err(rc, why);
	check(rc != 0 || scsi_vpd_has(&pages, 0));
	rc = scsi_parse_vpd_serial(p, n, serial, sizeof(serial), &why);
	check(rc >= 0 || rc == -ENOSPC || rc == -EPROTO || rc == -EMSGSIZE);
	check_err(rc, why);
	if (rc >= 0)
		check_printable(serial, rc);
	rc = scsi_parse_read_capacity10(p, n, &c, &why);
	check(rc == 0 || rc == -EPROTO);
	check_err(rc, why);
	check(rc != 0 || (c.block_len > 0 && c.blocks_per_phys == 1));
	rc = scsi_parse_read_capacity16(p, n, &c, &why);
	check(rc == 0 || rc == -EPROTO);
	check_err(rc, why);
	check(rc != 0 || (c.block_len > 0 && c.blocks_per_phys > 0 &&
			  c.blocks_per_phys <= 32768 && c.prot_type <= 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;

	switch (data[0] % 6) {
	case 0: fuzz_sense(p, n, false); break;
	case 1: fuzz_sense(p, n, true); break;
	case 2: fuzz_vpd83(p, n); break;
	case 3: fuzz_luns(p, n); break;
	case 4: fuzz_inquiry(p, n); break;
	case 5: fuzz_small(p, n); break;
	}
	return 0;
}
