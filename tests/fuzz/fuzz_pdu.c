/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the header gates: the input is a PDU as it arrives, a 48-byte BHS
 * (zero-filled if the input is shorter) followed by the AHS bytes. Both
 * checkers run under several limits, then the AHS walk over what
 * TotalAHSLength claims (clipped to the input) and over the raw tail. Any
 * result other than 0 or -EPROTO with a reason, or a parse result pointing
 * outside the input, aborts.
 */
#include "proto/pdu.h"

#include <errno.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_gate(int rc, const char *why)
{
	if (rc != 0 && (rc != -EPROTO || !why || !*why))
		abort();
}

static void run_gates(const void *bhs)
{
	static const struct pdu_limits limits[] = {
		{ .max_recv_dsl = 8192, .in_login = true },
		{ .max_recv_dsl = 8192, .in_login = false },
		{ .max_recv_dsl = PDU_MAX_DSL, .in_login = false },
		{ .max_recv_dsl = 0, .in_login = false },
	};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		const char *why = NULL;
		int rc = pdu_check_target_pdu(bhs, &limits[i], &why);

		check_gate(rc, why);
		why = NULL;
		rc = pdu_check_initiator_pdu(bhs, &limits[i], &why);
		check_gate(rc, why);
	}
}

static void run_ahs(const uint8_t *ahs, size_t len)
{
	struct pdu_ahs_info info;
	const char *why = NULL;
	int rc = pdu_parse_ahs(ahs, len, &info, &why);

	check_gate(rc, why);
	if (rc != 0)
		return;
	if (info.ext_cdb) {
		if (info.ext_cdb < ahs || info.ext_cdb_len == 0 ||
		    info.ext_cdb_len > 244 ||
		    (size_t)(info.ext_cdb - ahs) + info.ext_cdb_len > len)
			abort();
	} else if (info.ext_cdb_len != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t bhs[PDU_BHS_LEN / 4] = { 0 };
	size_t head = size < PDU_BHS_LEN ? size : PDU_BHS_LEN;
	const uint8_t *tail = head ? data + head : data;
	size_t tail_len = size - head;

	if (head)
		memcpy(bhs, data, head);
	run_gates(bhs);

	size_t claimed = pdu_ahs_bytes(bhs);
	run_ahs(tail, claimed < tail_len ? claimed : tail_len);
	run_ahs(tail, tail_len);

	/* A LUN that decodes must survive a round trip. */
	const uint8_t *lun = (const uint8_t *)bhs + 8;
	uint32_t n = pdu_lun_decode(lun);
	if (n != PDU_LUN_INVALID) {
		uint8_t again[8];

		if (n > PDU_LUN_MAX)
			abort();
		pdu_put_lun(again, n);
		if (pdu_lun_decode(again) != n)
			abort();
	}
	if (!pdu_opcode_name(((const uint8_t *)bhs)[0]))
		abort();
	return 0;
}
