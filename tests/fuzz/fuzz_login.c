/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the login machine with arbitrary sequences of target responses.
 *
 * Input: byte 0 picks the login (bits 0-1 auth mode, bit 2 discovery,
 * bit 3 non-leading, bits 4-5 header digest wish, bit 6 a small data cap
 * so that our text travels with the Continue bit). Then records, one per
 * response:
 *   [0] flags byte as on the wire (T, C, CSG, NSG)
 *   [1] status class   [2] status detail
 *   [3] bit 0 wrong ITT, bit 1 wrong ISID, bit 2 TSIH = ours/0x1234,
 *       bit 3 skip a StatSN, bit 4 raw: the next 48 bytes are the BHS
 *   [4..5] data length, little endian (cut to what is left)
 *   data
 * Mutual CHAP uses a fixed challenge and id so that seeds can carry a
 * valid target response (target secret "target-secret-99").
 *
 * Oracles: every return is 0 or one of the documented errors with a
 * reason; requests never carry T and C together, never exceed 8192 bytes
 * of text, always the same ITT and CmdSN; a finished login has sane
 * parameters and a non-zero TSIH.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/login.h"
#include "proto/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 1 };

static int fixed_challenge(void *arg, uint8_t *c, size_t len, uint8_t *id)
{
	(void)arg;
	memset(c, 0xa5, len);
	*id = 0x42;
	return 0;
}

static void check_request(const uint32_t *bhs, size_t len)
{
	const struct bhs_login_req *q = (const void *)bhs;
	if (q->lgn_opcode != 0x43 || len > LOGIN_PDU_TEXT || pdu_dsl(bhs) != len ||
	    pdu_get32(&q->lgn_itt) != 0x10 || pdu_get32(&q->lgn_cmdsn) != 7 ||
	    ((q->lgn_flags & LOGIN_TRANSIT) && (q->lgn_flags & LOGIN_CONTINUE)))
		abort();
}

static void check_done(const struct login *l)
{
	const struct iscsi_params *p = login_params(l);
	if (!p || login_tsih(l) == 0 || p->error_recovery_level > 2 ||
	    p->max_xmit_dsl < 512 || p->max_xmit_dsl > 16777215 ||
	    p->first_burst_length > p->max_burst_length ||
	    p->max_recv_dsl != 262144 || login_error(l))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char rx[LOGIN_MAX_TEXT], tx[LOGIN_MIN_TX], out[LOGIN_PDU_TEXT];
	static struct login l;
	struct login_config cfg;
	struct iscsi_params session;
	struct iscsi_wishes w;
	uint32_t bhs[12], rbhs[12];
	uint32_t statsn = 100;
	enum login_event ev = LOGIN_EV_SEND;

	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	memset(&cfg, 0, sizeof(cfg));
	neg_wishes_default(&w);
	w.header_digest = (enum iscsi_digest_pref)((sel >> 4) & 3);
	neg_params_default(&session);
	session.tpgt = 1;
	cfg.initiator_name = "iqn.2024-01.org.mcsi:fuzz";
	cfg.target_name = (sel & 4) && !(sel & 8) ? NULL : "iqn.2024-01.org.test:t";
	memcpy(cfg.isid, isid, 6);
	cfg.tsih = (sel & 8) ? 0x1234 : 0;
	cfg.session = (sel & 8) ? &session : NULL;
	cfg.cid = 2;
	cfg.itt = 0x10;
	cfg.cmdsn = 7;
	cfg.auth = (enum login_auth)(sel & 3);
	cfg.chap_name = "alice";
	cfg.chap_secret = "initiator-secret";
	cfg.chap_secret_len = 16;
	cfg.target_chap_secret = "target-secret-99";
	cfg.target_chap_secret_len = 16;
	cfg.wishes = &w;
	cfg.rx_buf = rx;
	cfg.rx_cap = sizeof(rx);
	cfg.tx_buf = tx;
	cfg.tx_cap = sizeof(tx);
	cfg.make_challenge = fixed_challenge;
	if (login_init(&l, &cfg))
		abort();
	size_t cap = (sel & 0x40) ? 100 : sizeof(out);

	size_t pos = 1;
	while (ev == LOGIN_EV_SEND && size - pos >= 6) {
		size_t len;
		if (login_next_pdu(&l, bhs, out, cap, &len))
			abort();
		check_request(bhs, len);

		const uint8_t *r = data + pos;
		pos += 6;
		size_t dl = (size_t)r[4] | (size_t)r[5] << 8;
		if (r[3] & 0x10) {
			if (size - pos < 48)
				break;
			memcpy(rbhs, data + pos, 48);
			pos += 48;
		} else {
			struct pdu_login_rsp_args a;
			memset(&a, 0, sizeof(a));
			memcpy(a.isid, isid, 6);
			if (r[3] & 2)
				a.isid[0] ^= 1;
			a.itt = (r[3] & 1) ? 0x11 : 0x10;
			a.tsih = (r[3] & 4) ? 0x1234 : 0;
			a.transit = r[0] & LOGIN_TRANSIT;
			a.cont = r[0] & LOGIN_CONTINUE;
			a.csg = (enum login_stage)((r[0] & LOGIN_CSG_MASK) >> LOGIN_CSG_SHIFT);
			a.nsg = (enum login_stage)(r[0] & LOGIN_NSG_MASK);
			a.status_class = r[1];
			a.status_detail = r[2];
			pdu_build_login_rsp(rbhs, &a);
			if (r[3] & 8)
				statsn += 3;
			pdu_stamp_statsn(rbhs, statsn++, 7, 40);
		}
		if (dl > size - pos)
			dl = size - pos;
		if (!(r[3] & 0x10))
			pdu_set_dsl(rbhs, (uint32_t)dl);
		int rc = login_recv_pdu(&l, rbhs, data + pos, dl, &ev);
		pos += dl;
		if (rc != 0 && rc != -EPROTO && rc != -EACCES && rc != -ENOSPC &&
		    rc != -EINVAL)
			abort();
		if (rc && (ev != LOGIN_EV_FAILED || !login_error(&l)))
			abort();
		if (ev == LOGIN_EV_DONE)
			check_done(&l);
		if (ev == LOGIN_EV_REDIRECT && !login_redirect(&l, NULL))
			abort();
		if (ev == LOGIN_EV_FAILED && !login_error(&l))
			abort();
	}
	return 0;
}
