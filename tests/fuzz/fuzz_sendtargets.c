/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes SendTargets: the input is a response text, parsed whole, then
 * joined again from Text responses cut at the positions its first bytes
 * name; every TargetAddress value also goes through disc_parse_address().
 * Oracles: results stay inside the arrays and the text, each target's
 * addresses are contiguous, ports are never 0, tags fit 16 bits, and the
 * joined text parses to the same result as the whole one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/discovery.h"
#include "proto/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const char *t, size_t len, struct disc_result *r)
{
	const char *why = NULL;
	int rc = disc_parse_sendtargets(t, len, r, &why);

	if (rc != 0 && rc != -EPROTO && rc != -ENOSPC)
		abort();
	if (rc == -EPROTO && !why)
		abort();
	if (r->n_targets > r->max_targets || r->n_addrs > r->max_addrs)
		abort();
	size_t next = 0;
	for (size_t i = 0; i < r->n_targets; i++) {
		const struct disc_target *d = &r->targets[i];
		if (d->name < t || d->name + d->name_len > t + len ||
		    d->name_len == 0 || d->name_len > 223 ||
		    d->first_addr != next || d->first_addr + d->n_addrs > r->n_addrs)
			abort();
		next += d->n_addrs;
	}
	/* A skipped (forged) name is reported inside the text, for escaping. */
	if (r->skipped_names &&
	    (!r->bad_name || r->bad_name < t || r->bad_name + r->bad_name_len > t + len))
		abort();
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct disc_address *a = &r->addrs[i];
		if (a->portal.port == 0 || a->tpgt > 65535 || a->tpgt < -1 ||
		    strnlen(a->portal.host, sizeof(a->portal.host)) ==
			    sizeof(a->portal.host))
			abort();
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct disc_target targets[8], targets2[8];
	static struct disc_address addrs[16], addrs2[16];
	static char joined[65536];
	struct disc_result r = { .targets = targets, .max_targets = 8,
				 .addrs = addrs, .max_addrs = 16 };
	const char *t = (const char *)data;
	const char *why;

	int rc = parse(t, size, &r);

	/* cut the same text into Text responses and join it again */
	struct disc_rx rx;
	uint32_t bhs[12];
	bool more = true;
	size_t pos = 0, step = size ? (size_t)data[0] % 97 + 1 : 1;
	disc_rx_init(&rx, joined, sizeof(joined), 9);
	while (more) {
		size_t n = size - pos < step ? size - pos : step;
		bool final = pos + n == size;
		pdu_build_text_rsp(bhs, 9, final ? PDU_RESERVED_TAG : 0x77,
				   (uint32_t)n, final, !final);
		if (disc_rx_feed(&rx, bhs, t + pos, n, &more, &why))
			abort();
		pos += n;
	}
	if (rx.len != size || (size && memcmp(joined, t, size)))
		abort();
	struct disc_result r2 = { .targets = targets2, .max_targets = 8,
				  .addrs = addrs2, .max_addrs = 16 };
	if (parse(joined, rx.len, &r2) != rc || r2.n_targets != r.n_targets ||
	    r2.n_addrs != r.n_addrs || r2.skipped != r.skipped)
		abort();

	/* the whole input as one TargetAddress value */
	struct disc_address a;
	why = NULL;
	rc = disc_parse_address(t, size, &a, &why);
	if (rc != 0 && (rc != -EPROTO || !why))
		abort();
	if (rc == 0 && (a.portal.port == 0 || a.tpgt > 65535))
		abort();
	return 0;
}
