/* SPDX-License-Identifier: MIT */
/* The C side of mcsi-microbench (see microbench_shim.h). */
#include "microbench_shim.h"

#include <isa-l/crc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fastpath/seg.h"
#include "proto/digest.h"
#include "proto/neg.h"
#include "proto/pdu.h"

#define MB_STAGE   (1u << 20)          /* staging buffer of the rx benches */
#define MB_STREAM  (4u << 20)

/* The harness's buffers, made once by mb_setup(): a benchmark process
 * runs one benchmark at a time. */
static struct {
	size_t max;
	uint8_t *data;                   /* max bytes of payload */
	uint8_t *out;                    /* rx destination */
	uint8_t *stage;                  /* rx staging */
	uint8_t *stream;                 /* canned Data-In stream */
	size_t stream_len;
	unsigned stream_n;               /* what the stream holds */
	size_t stream_pdu;
	int stream_dig;
	uint8_t hdr[SEG_HDR_MAX] __attribute__((aligned(8)));
	uint8_t bhs[PDU_BHS_LEN + 4] __attribute__((aligned(8)));
	uint8_t data_in[PDU_BHS_LEN] __attribute__((aligned(8)));
	char answer[1024];
	size_t answer_len;
	uint64_t pdus;
} mb;

int mb_setup(size_t max_len)
{
	mb.max = max_len;
	mb.data = aligned_alloc(64, max_len);
	mb.out = aligned_alloc(64, max_len);
	mb.stage = aligned_alloc(64, MB_STAGE);
	mb.stream = aligned_alloc(64, MB_STREAM);
	if (!mb.data || !mb.out || !mb.stage || !mb.stream)
		return -1;
	for (size_t i = 0; i < max_len; i++)
		mb.data[i] = (uint8_t)(i * 7 + 1);
	/* The direct receive bench leaves the kernel's copy out: the
	 * destination holds the payload already, so digests check out. */
	memcpy(mb.out, mb.data, max_len);
	memset(mb.stage, 0, MB_STAGE);
	memset(mb.stream, 0, MB_STREAM);

	struct pdu_data_in_args a = { .itt = 7, .ttt = PDU_RESERVED_TAG,
				      .len = 4096, .final = true, .has_status = true };
	pdu_build_data_in(mb.data_in, &a);
	/* A tgt-like answer to our operational offers. */
	static const char *const keys[] = {
		"HeaderDigest=None", "DataDigest=None", "MaxConnections=1",
		"InitialR2T=Yes", "ImmediateData=Yes", "MaxBurstLength=262144",
		"FirstBurstLength=65536", "DefaultTime2Wait=2",
		"DefaultTime2Retain=20", "MaxOutstandingR2T=1",
		"DataPDUInOrder=Yes", "DataSequenceInOrder=Yes",
		"ErrorRecoveryLevel=0",
	};
	mb.answer_len = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i]) + 1;
		memcpy(mb.answer + mb.answer_len, keys[i], n);
		mb.answer_len += n;
	}
	if (mb_negotiate() != 262144 || mb_pdu_check_data_in() != 0)
		return -1;
	return 0;
}

void mb_teardown(void)
{
	free(mb.data);
	free(mb.out);
	free(mb.stage);
	free(mb.stream);
	memset(&mb, 0, sizeof(mb));
}

uint32_t mb_pdu_build_scsi_cmd(uint32_t itt)
{
	static const uint8_t cdb[10] = { 0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0 };
	struct pdu_scsi_cmd_args a = {
		.lun = 1, .itt = itt, .edtl = 4096, .cdb = cdb, .cdb_len = 10,
		.read = true, .final = true, .attr = SCSI_ATTR_SIMPLE,
	};

	pdu_build_scsi_cmd(mb.bhs, &a);
	pdu_stamp_cmdsn(mb.bhs, itt, itt + 1);
	return pdu_get32(&((struct pdu_bhs *)(void *)mb.bhs)->bhs_itt);
}

int mb_pdu_check_data_in(void)
{
	struct pdu_limits lim = { .max_recv_dsl = 262144 };
	const char *why;

	return pdu_check_target_pdu(mb.data_in, &lim, &why);
}

uint32_t mb_negotiate(void)
{
	struct neg_config cfg;
	struct neg n;
	struct neg_auth auth;
	struct iscsi_params p;
	char offer[1024], ans[256];
	size_t olen = 0, alen = 0;
	const char *why;

	memset(&cfg, 0, sizeof(cfg));
	neg_wishes_default(&cfg.wishes);
	cfg.leading = true;
	cfg.auth_offer[0] = NEG_AUTHM_NONE;
	cfg.n_auth_offer = 1;
	if (neg_init(&n, &cfg, &why) < 0 ||
	    neg_offer(&n, NEG_OP, offer, sizeof(offer), &olen) < 0 ||
	    neg_recv(&n, NEG_OP, mb.answer, mb.answer_len, ans, sizeof(ans), &alen,
		     &auth, &why) < 0 ||
	    neg_finish_stage(&n, NEG_OP, &why) < 0)
		return 0;
	neg_result(&n, &p);
	return p.max_burst_length;
}

/* Four pieces, like a page-split buffer. */
static int mb_split(size_t len, struct iovec v[4])
{
	size_t q = len / 4;

	for (int i = 0; i < 4; i++)
		v[i] = (struct iovec){ mb.data + (size_t)i * q, i == 3 ? len - 3 * q : q };
	return 4;
}

size_t mb_seg_tx(size_t len, int digests)
{
	struct iovec d[4], iov[16];
	struct seg_data sd = { d, mb_split(len, d), 0 };
	struct seg_tx t;
	size_t sent = 0;

	pdu_build_data_out(mb.hdr, 1, 7, 9, 0, 0, (uint32_t)len, true);
	if (seg_tx_init(&t, mb.hdr, 0, &sd, (uint32_t)len, digests, digests) < 0)
		return 0;
	while (!seg_tx_done(&t)) {
		int n = seg_tx_fill(&t, iov, 16);
		size_t k = 0;
		for (int i = 0; i < n; i++)
			k += iov[i].iov_len;
		sent += seg_tx_advance(&t, k);
	}
	return sent;
}

/* ---- receive ----------------------------------------------------------- */

static int mb_on_header(void *ctx, const uint8_t *hdr, uint32_t hdr_len,
			struct seg_data *dst, const char **why)
{
	static struct iovec out;

	(void)ctx;
	(void)hdr_len;
	(void)why;
	out = (struct iovec){ mb.out, pdu_dsl(hdr) };
	*dst = (struct seg_data){ &out, 1, 0 };
	return 0;
}

static int mb_on_pdu(void *ctx, const uint8_t *hdr, const char **why)
{
	(void)ctx;
	(void)hdr;
	(void)why;
	mb.pdus++;
	return 0;
}

static const struct seg_rx_ops mb_rx_ops = { .on_header = mb_on_header, .on_pdu = mb_on_pdu };

/* n Data-In PDUs of len bytes, as a target would send them. */
static int mb_stream(unsigned n, size_t len, int digests)
{
	struct iovec d = { mb.data, len }, iov[8];
	struct seg_data sd = { &d, 1, 0 };
	size_t off = 0;

	if (mb.stream_n == n && mb.stream_pdu == len && mb.stream_dig == digests)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		struct pdu_data_in_args a = { .itt = 7, .ttt = PDU_RESERVED_TAG,
					      .len = (uint32_t)len, .final = true,
					      .has_status = true };
		struct seg_tx t;
		pdu_build_data_in(mb.hdr, &a);
		if (seg_tx_init(&t, mb.hdr, 0, &sd, (uint32_t)len, digests, digests) < 0 ||
		    off + t.total > MB_STREAM)
			return -1;
		while (!seg_tx_done(&t)) {
			int k = seg_tx_fill(&t, iov, 8);
			size_t moved = 0;
			for (int j = 0; j < k; j++) {
				memcpy(mb.stream + off + moved, iov[j].iov_base, iov[j].iov_len);
				moved += iov[j].iov_len;
			}
			seg_tx_advance(&t, moved);
			off += moved;
		}
	}
	mb.stream_len = off;
	mb.stream_n = n;
	mb.stream_pdu = len;
	mb.stream_dig = digests;
	return 0;
}

uint64_t mb_seg_rx_batch(unsigned n, size_t len, int digests)
{
	static uint8_t hdr[SEG_HDR_MAX] __attribute__((aligned(8)));
	struct seg_rx r;
	struct iovec iov[4];
	const char *why;

	if (len > mb.max || mb_stream(n, len, digests) < 0 || mb.stream_len > MB_STAGE)
		return 0;
	seg_rx_init(&r, &mb_rx_ops, NULL, hdr, mb.stage, MB_STAGE, MB_STAGE,
		    digests, digests);
	/* The "system call": the whole stream lands in staging at once. */
	seg_rx_fill(&r, iov, 4);
	memcpy(iov[0].iov_base, mb.stream, mb.stream_len);
	if (seg_rx_advance(&r, mb.stream_len, &why) < 0)
		return 0;
	return r.pdus;
}

uint64_t mb_seg_rx_direct(size_t len, int digests)
{
	static uint8_t hdr[SEG_HDR_MAX] __attribute__((aligned(8)));
	struct seg_rx r;
	struct iovec iov[8];
	const char *why;
	size_t off = 0, hl = PDU_BHS_LEN + (digests ? 4u : 0u);

	if (len > mb.max || mb_stream(1, len, digests) < 0)
		return 0;
	seg_rx_init(&r, &mb_rx_ops, NULL, hdr, mb.stage, MB_STAGE, 0, digests, digests);
	/* The header first (no read-ahead), then data and tail in place:
	 * the kernel's copy is not part of the cursor, so nothing is copied
	 * here; the digest is computed over the destination. */
	seg_rx_fill(&r, iov, 8);
	memcpy(iov[0].iov_base, mb.stream, hl);
	if (seg_rx_advance(&r, hl, &why) < 0)
		return 0;
	off = hl;
	int n = seg_rx_fill(&r, iov, 8);
	size_t want = 0;
	for (int i = 0; i < n; i++) {
		size_t k = iov[i].iov_len;
		if (want + k > mb.stream_len - off)
			k = mb.stream_len - off - want;
		if (iov[i].iov_base != mb.out)          /* tail and next header */
			memcpy(iov[i].iov_base, mb.stream + off + want, k);
		want += k;
	}
	if (seg_rx_advance(&r, want, &why) < 0)
		return 0;
	return r.pdus;
}

uint32_t mb_digest(size_t len)
{
	return digest_crc32c(mb.data, len);
}

uint32_t mb_isal_crc(size_t len)
{
	return ~crc32_iscsi(mb.data, (int)len, 0xffffffffu);
}
