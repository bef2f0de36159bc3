/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes what a target's CHAP keys reach: the whole input is a CHAP_C or
 * CHAP_R value for chap_decode() and a CHAP_A answer for chap_parse_alg().
 * Oracles: results stay within the documented codes and bounds, a decoded
 * value survives a round trip through chap_encode_hex(), a parsed
 * algorithm is one we offer, and a decoded value used as challenge and
 * response verifies to 0, -EACCES or -EPROTO only.
 */
#include "proto/chap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	uint8_t out[CHAP_MAX_CHALLENGE], back[CHAP_MAX_CHALLENGE];
	char hex[2 * CHAP_MAX_CHALLENGE + 3];

	int n = chap_decode(v, size, out, sizeof(out));
	if (n != -EPROTO && n != -ENOSPC && (n < 1 || (size_t)n > sizeof(out)))
		abort();
	if (n > 0) {
		if (chap_encode_hex(out, (size_t)n, hex, sizeof(hex)) != 0)
			abort();
		if (chap_decode(hex, strlen(hex), back, sizeof(back)) != n ||
		    memcmp(out, back, (size_t)n) != 0)
			abort();
		/* A decoded value never needs more room than the text it
		 * came from. */
		if ((size_t)n > size)
			abort();
		for (unsigned i = 0; i < CHAP_NUM_ALGS; i++) {
			enum chap_alg alg = chap_offer_order[i];
			int rc = chap_verify(alg, data[0], "secret", 6, out,
					     (size_t)n, out, (size_t)n);
			if (rc != 0 && rc != -EACCES && rc != -EPROTO)
				abort();
			if (rc != -EPROTO && (size_t)n != chap_digest_len(alg))
				abort();
		}
	}

	enum chap_alg alg = (enum chap_alg)0;
	int rc = chap_parse_alg(v, size, &alg);
	if (rc == 0) {
		if (chap_digest_len(alg) == 0)
			abort();
	} else if (rc != -EPROTO || alg != 0) {
		abort();
	}
	return 0;
}
