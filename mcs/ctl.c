/* SPDX-License-Identifier: MIT */
#include "mcs/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "proto/discovery.h"
#include "proto/pdu.h"
#include "proto/serial.h"

void ctl_init(struct ctl_conn *c, int fd, uint8_t *rx, size_t rx_cap)
{
	c->fd = fd;
	c->rx = rx;
	c->rx_cap = rx_cap;
	if (c->opts.timeout_ms == 0)
		c->opts.timeout_ms = 15000;
	if (c->opts.max_recv_dsl == 0 || c->opts.max_recv_dsl > rx_cap)
		c->opts.max_recv_dsl = (uint32_t)rx_cap;
}

void ctl_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* After a failed exchange: anything but a local refusal leaves the stream
 * in an unknown state. */
static int ctl_mark(struct ctl_conn *c, int rc)
{
	if (rc < 0 && rc != -EINVAL && rc != -ENOSPC)
		c->broken = true;
	return rc;
}

static uint32_t ctl_itt(struct ctl_conn *c)
{
	uint32_t itt = c->next_itt++;
	if (itt == PDU_RESERVED_TAG)
		itt = c->next_itt++;
	return itt;
}

/* Applies the sequence numbers every target PDU carries. The fields sit at
 * the same offsets (24 StatSN, 28 ExpCmdSN, 32 MaxCmdSN) in all of them. */
static void ctl_update_sn(struct ctl_conn *c, const struct pdu_bhs *h,
			  bool has_status)
{
	uint32_t statsn = pdu_get32(&h->bhs_spec2[1]);
	uint32_t exp = pdu_get32(&h->bhs_spec2[2]);
	uint32_t max = pdu_get32(&h->bhs_spec2[3]);

	if (sn_window_valid(exp, max)) {
		if (sn_gt(exp, c->expcmdsn))
			c->expcmdsn = exp;
		if (sn_gt(max, c->maxcmdsn))
			c->maxcmdsn = max;
	}
	if (has_status && sn_ge(statsn, c->expstatsn))
		c->expstatsn = statsn + 1;
}

static int ctl_send(struct ctl_conn *c, void *bhs, const void *data, uint32_t len)
{
	struct net_pdu p = { .data = (uint8_t *)data, .data_len = len };
	memcpy(p.bhs, bhs, PDU_BHS_LEN);
	return net_send_pdu(c->fd, &p, &c->opts);
}

static int ctl_recv(struct ctl_conn *c, struct net_pdu *p)
{
	const char *why = NULL;
	struct pdu_limits lim = { .max_recv_dsl = c->opts.max_recv_dsl };

	p->data = c->rx;
	p->data_cap = (uint32_t)c->rx_cap;
	int rc = net_recv_pdu(c->fd, p, &c->opts, &why);
	if (rc == 0)
		rc = pdu_check_target_pdu(p->bhs, &lim, &why);
	if (rc == -EPROTO || rc == -EBADMSG)
		log_peer_err(c->peer, "closing the connection: %s", why);
	else if (rc == -ECONNRESET)
		log_peer_err(c->peer, "the target closed the connection");
	else if (rc == -ETIMEDOUT)
		log_peer_err(c->peer, "no answer within %d ms", c->opts.timeout_ms);
	return rc;
}

/* Handles a PDU that is not the answer we wait for. Returns 0 to go on
 * waiting, or -errno. */
static int ctl_unsolicited(struct ctl_conn *c, struct net_pdu *p)
{
	const struct pdu_bhs *h = (const void *)p->bhs;

	switch (pdu_opcode(h)) {
	case PDU_OP_NOP_IN: {
		const struct bhs_nop_in *n = (const void *)h;
		uint32_t ttt = pdu_get32(&n->nopi_ttt);
		ctl_update_sn(c, h, pdu_itt(h) != PDU_RESERVED_TAG);
		if (ttt == PDU_RESERVED_TAG)
			return 0;
		/* A ping: answer with the target's TTT and LUN, as an
		 * immediate NOP-Out carrying back its data. */
		struct bhs_nop_out o;
		pdu_build_nop_out(&o, 0, PDU_RESERVED_TAG, ttt, p->data_len, true);
		memcpy(o.nopo_lun, n->nopi_lun, sizeof(o.nopo_lun));
		pdu_stamp_cmdsn(&o, c->cmdsn, c->expstatsn);
		return ctl_send(c, &o, p->data, p->data_len);
	}
	case PDU_OP_ASYNC: {
		const struct bhs_async *a = (const void *)h;
		ctl_update_sn(c, h, true);
		log_peer_info(c->peer, "async event %u (%s)", a->async_event,
			      pdu_async_event_name(a->async_event));
		if (a->async_event == ASYNC_CONN_DROP ||
		    a->async_event == ASYNC_SESSION_DROP) {
			log_peer_err(c->peer, "the target is dropping the connection");
			return -ECONNRESET;
		}
		return 0;
	}
	case PDU_OP_REJECT: {
		const struct bhs_reject *r = (const void *)h;
		ctl_update_sn(c, h, true);
		log_peer_err(c->peer, "the target rejected a PDU: %s",
			     pdu_reject_reason_name(r->rej_reason));
		return -EPROTO;
	}
	default:
		log_peer_err(c->peer, "unexpected %s on the control connection",
			     pdu_opcode_name(pdu_opcode(h)));
		return -EPROTO;
	}
}

static int ctl_scsi_read_once(struct ctl_conn *c, uint32_t lun, const uint8_t *cdb,
			      size_t cdb_len, void *buf, uint32_t len,
			      struct ctl_scsi_result *res)
{
	struct bhs_scsi_cmd cmd;
	uint32_t itt = ctl_itt(c), datasn = 0;

	memset(res, 0, sizeof(*res));
	if (cdb_len > 16)
		return -EINVAL;
	struct pdu_scsi_cmd_args a = {
		.lun = lun, .itt = itt, .edtl = len, .cdb = cdb,
		.cdb_len = (uint8_t)cdb_len, .read = len > 0, .final = true,
		.attr = SCSI_ATTR_SIMPLE,
	};
	int rc = pdu_build_scsi_cmd(&cmd, &a);
	if (rc)
		return rc;
	pdu_stamp_cmdsn(&cmd, c->cmdsn++, c->expstatsn);
	rc = ctl_send(c, &cmd, NULL, 0);
	if (rc)
		return rc;

	for (;;) {
		struct net_pdu p = { 0 };
		rc = ctl_recv(c, &p);
		if (rc)
			return rc;
		const struct pdu_bhs *h = (const void *)p.bhs;
		enum pdu_opcode op = pdu_opcode(h);
		if ((op != PDU_OP_DATA_IN && op != PDU_OP_SCSI_RSP) ||
		    pdu_itt(h) != itt) {
			if (op == PDU_OP_DATA_IN || op == PDU_OP_SCSI_RSP) {
				log_peer_err(c->peer, "response for unknown task 0x%08x",
					     pdu_itt(h));
				return -EPROTO;
			}
			rc = ctl_unsolicited(c, &p);
			if (rc)
				return rc;
			continue;
		}
		if (op == PDU_OP_DATA_IN) {
			const struct bhs_data_in *d = (const void *)h;
			uint32_t off = pdu_get32(&d->din_offset);
			if (pdu_get32(&d->din_datasn) != datasn) {
				log_peer_err(c->peer, "Data-In DataSN %u, expected %u",
					     pdu_get32(&d->din_datasn), datasn);
				return -EPROTO;
			}
			datasn++;
			if (off > len || p.data_len > len - off) {
				log_peer_err(c->peer, "Data-In beyond the expected length");
				return -EPROTO;
			}
			memcpy((uint8_t *)buf + off, p.data, p.data_len);
			if (off + p.data_len > res->received)
				res->received = off + p.data_len;
			ctl_update_sn(c, h, d->din_flags & DATA_IN_STATUS);
			if (!(d->din_flags & DATA_IN_STATUS))
				continue;
			res->status = d->din_status;
			res->residual = pdu_get32(&d->din_residual);
			res->overflow = d->din_flags & DATA_IN_OVERFLOW;
			res->underflow = d->din_flags & DATA_IN_UNDERFLOW;
			return 0;
		}
		const struct bhs_scsi_rsp *r = (const void *)h;
		ctl_update_sn(c, h, true);
		res->status = r->rsp_status;
		res->response = r->rsp_response;
		res->residual = pdu_get32(&r->rsp_residual);
		res->overflow = r->rsp_flags & SCSI_RSP_OVERFLOW;
		res->underflow = r->rsp_flags & SCSI_RSP_UNDERFLOW;
		if (p.data_len >= 2) {
			uint32_t sl = (uint32_t)p.data[0] << 8 | p.data[1];
			if (sl > p.data_len - 2) {
				log_peer_err(c->peer, "sense length past the segment");
				return -EPROTO;
			}
			if (sl > CTL_SENSE_MAX)
				sl = CTL_SENSE_MAX;
			memcpy(res->sense, p.data + 2, sl);
			res->sense_len = sl;
		}
		return 0;
	}
}

int ctl_scsi_read(struct ctl_conn *c, uint32_t lun, const uint8_t *cdb,
		  size_t cdb_len, void *buf, uint32_t len,
		  struct ctl_scsi_result *res)
{
	if (c->broken) {
		memset(res, 0, sizeof(*res));
		return -ENOTCONN;
	}
	return ctl_mark(c, ctl_scsi_read_once(c, lun, cdb, cdb_len, buf, len, res));
}

int ctl_scsi_read_retry(struct ctl_conn *c, uint32_t lun, const uint8_t *cdb,
			size_t cdb_len, void *buf, uint32_t len,
			struct ctl_scsi_result *res)
{
	int rc = 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		rc = ctl_scsi_read(c, lun, cdb, cdb_len, buf, len, res);
		if (rc)
			return rc;
		bool unit_attention = res->status == 0x02 && res->sense_len >= 3 &&
				      ((res->sense[0] & 0x7f) >= 0x72
					       ? (res->sense[1] & 0x0f)
					       : (res->sense[2] & 0x0f)) == 0x06;
		bool busy = res->status == 0x08 || res->status == 0x28;
		if (!unit_attention && !busy)
			return 0;
		if (busy)
			usleep(100000u << attempt);
	}
	return rc;
}

/* Receives until the answer to itt arrives as a PDU of opcode op; what
 * comes before it (NOP-In, Async, Reject) goes to ctl_unsolicited(). The
 * answer's sequence numbers are taken. */
static int ctl_recv_answer(struct ctl_conn *c, enum pdu_opcode op, uint32_t itt,
			   struct net_pdu *p)
{
	for (;;) {
		*p = (struct net_pdu){ 0 };
		int rc = ctl_recv(c, p);
		if (rc)
			return rc;
		const struct pdu_bhs *h = (const void *)p->bhs;
		if (pdu_opcode(h) == op && pdu_itt(h) == itt) {
			ctl_update_sn(c, h, true);
			return 0;
		}
		rc = ctl_unsolicited(c, p);
		if (rc)
			return rc;
	}
}

static int ctl_text_once(struct ctl_conn *c, const char *text, size_t len,
			 char *out, size_t cap)
{
	uint32_t itt = ctl_itt(c), ttt = PDU_RESERVED_TAG;
	uint32_t seg = c->params.max_xmit_dsl ? c->params.max_xmit_dsl : 8192;
	size_t sent = 0;
	/* Our request, split with the C bit where it exceeds one PDU. */
	do {
		size_t n = len - sent > seg ? seg : len - sent;
		bool more = sent + n < len;
		struct bhs_text_req t;
		pdu_build_text(&t, itt, ttt, (uint32_t)n, !more, more);
		pdu_stamp_cmdsn(&t, c->cmdsn, c->expstatsn);
		int rc = ctl_send(c, &t, text + sent, (uint32_t)n);
		if (rc)
			return rc;
		sent += n;
		if (more) {
			/* The target acknowledges each part with an empty
			 * response carrying a TTT. */
			struct net_pdu p;
			rc = ctl_recv_answer(c, PDU_OP_TEXT_RSP, itt, &p);
			if (rc)
				return rc;
			ttt = pdu_get32(&((const struct bhs_text_rsp *)(void *)p.bhs)->txtr_ttt);
		}
	} while (sent < len);
	c->cmdsn++;

	struct disc_rx rx;
	disc_rx_init(&rx, out, cap, itt);
	for (;;) {
		struct net_pdu p;
		const char *why = NULL;
		bool more;
		int rc = ctl_recv_answer(c, PDU_OP_TEXT_RSP, itt, &p);
		if (rc)
			return rc;
		const struct bhs_text_rsp *r = (const void *)p.bhs;
		rc = disc_rx_feed(&rx, r, p.data, p.data_len, &more, &why);
		if (rc == -EPROTO)
			log_peer_err(c->peer, "closing the connection: %s", why);
		if (rc)
			return rc;
		if (!more)
			return (int)rx.len;
		/* More to come: ask for it with an empty request echoing the
		 * TTT (RFC 7143 section 11.10.4). */
		struct bhs_text_req t;
		disc_build_continue(&t, itt, rx.ttt);
		pdu_stamp_cmdsn(&t, c->cmdsn, c->expstatsn);
		rc = ctl_send(c, &t, NULL, 0);
		if (rc)
			return rc;
	}
}

int ctl_text(struct ctl_conn *c, const char *text, size_t len, char *out,
	     size_t cap)
{
	if (c->broken)
		return -ENOTCONN;
	return ctl_mark(c, ctl_text_once(c, text, len, out, cap));
}

static int ctl_logout_once(struct ctl_conn *c, enum logout_reason reason,
			   uint16_t cid, uint8_t *response)
{
	struct bhs_logout_req l;
	uint32_t itt = ctl_itt(c);

	pdu_build_logout(&l, reason, itt, cid);
	pdu_stamp_cmdsn(&l, c->cmdsn, c->expstatsn);
	int rc = ctl_send(c, &l, NULL, 0);
	if (rc)
		return rc;
	struct net_pdu p;
	rc = ctl_recv_answer(c, PDU_OP_LOGOUT_RSP, itt, &p);
	if (rc)
		return rc;
	const struct bhs_logout_rsp *r = (const void *)p.bhs;
	if (response)
		*response = r->lgor_response;
	if (r->lgor_response == LOGOUT_RSP_OK)
		return 0;
	log_peer_err(c->peer, "logout (reason %u, connection %u) refused (response %u)",
		     reason, cid, r->lgor_response);
	return r->lgor_response == LOGOUT_RSP_CID_NOT_FOUND ? -ENOENT : -EIO;
}

int ctl_logout_conn(struct ctl_conn *c, enum logout_reason reason, uint16_t cid,
		    uint8_t *response)
{
	if (response)
		*response = 0xff;
	if (c->broken)
		return -ENOTCONN;
	return ctl_mark(c, ctl_logout_once(c, reason, cid, response));
}

int ctl_logout(struct ctl_conn *c)
{
	return ctl_logout_conn(c, LOGOUT_CLOSE_SESSION, c->cid, NULL);
}
