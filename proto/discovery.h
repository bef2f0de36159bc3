/* SPDX-License-Identifier: MIT */
/*
 * SendTargets discovery (RFC 7143 section 4.3 and appendix C) and the
 * TargetAddress value that login redirects share with it.
 *
 * A discovery session sends one Text request "SendTargets=All" (or a
 * target name); the target answers with Text responses, the last with the
 * F bit. A response without F is followed by an empty Text request that
 * echoes its Target Transfer Tag; the Continue bit means a key=value pair
 * goes on in the next response. disc_rx_* joins the responses into the
 * caller's buffer; disc_parse_sendtargets() then reads the whole text:
 *
 *     TargetName=iqn.2001-04.com.example:disk1
 *     TargetAddress=192.0.2.1:3260,1
 *     TargetAddress=[2001:db8::1]:3260,1
 *     TargetName=iqn.2001-04.com.example:disk2     (no address: reachable
 *                                                   at the discovery portal)
 *
 * Pure code, no allocation: results borrow the response text or land in
 * caller-provided arrays.
 */
#ifndef MCSI_PROTO_DISCOVERY_H
#define MCSI_PROTO_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/url.h"

/* A TargetAddress value "host[:port][,tpgt]". */
struct disc_address {
	struct url_portal portal;  /* canonical host; port 3260 if absent */
	int32_t tpgt;              /* portal group tag, -1 if absent */
};

/* Parses a TargetAddress value of len bytes: a DNS name, a dotted IPv4
 * address or a bracketed IPv6 address, an optional ":port" (1-65535,
 * default 3260) and an optional ",tpgt" (0-65535). Returns 0, or -EPROTO
 * with *why set (static). */
int disc_parse_address(const char *v, size_t len, struct disc_address *out,
		       const char **why);

struct disc_target {
	const char *name;      /* borrowed from the text, not NUL-terminated */
	size_t name_len;
	size_t first_addr;     /* index of its first address in addrs[] */
	size_t n_addrs;        /* 0: reachable through the discovery portal */
};

struct disc_result {
	struct disc_target *targets;  /* caller's array */
	size_t max_targets, n_targets;
	struct disc_address *addrs;   /* caller's array */
	size_t max_addrs, n_addrs;
	size_t skipped;               /* TargetAddress values we could not read */
	/* Targets skipped for an invalid TargetName (empty, longer than 223
	 * bytes, a space or a control character: a peer's attempt to forge
	 * terminal output). bad_name points into the text at the first one,
	 * unescaped: pass it through text_escape() before printing it. */
	size_t skipped_names;
	const char *bad_name;
	size_t bad_name_len;
};

/*
 * Parses a complete SendTargets response text (all responses joined).
 * r->targets/max_targets and r->addrs/max_addrs must be set; the counts
 * are reset. An unreadable TargetAddress is skipped and counted (one bad
 * portal does not hide the others), and so is a target with an invalid
 * name, with its addresses (r->skipped_names, r->bad_name); keys other
 * than TargetName, TargetAddress and TargetAlias are ignored. Returns 0;
 * -EPROTO with *why for malformed text, a TargetAddress before any
 * TargetName or a refused SendTargets; -ENOSPC when an array is full (the
 * entries before it are valid).
 */
int disc_parse_sendtargets(const char *text, size_t len, struct disc_result *r,
			   const char **why);

/* Builds the Text request "SendTargets=<what>" ("All" in a discovery
 * session, a target name in a normal one): the BHS (F bit, TTT
 * 0xffffffff; CmdSN and ExpStatSN are the caller's, pdu_stamp_cmdsn()) and
 * the text into data. Returns 0, -ENOSPC (cap too small) or -EINVAL. */
int disc_build_sendtargets(void *bhs, char *data, size_t cap, size_t *len,
			   uint32_t itt, const char *what);
/* Builds the empty Text request that asks for the rest after a response
 * without the F bit (same ITT, the response's TTT). */
void disc_build_continue(void *bhs, uint32_t itt, uint32_t ttt);

/* Joins Text responses. buf (cap bytes) is borrowed for the whole
 * exchange. */
struct disc_rx {
	char *buf;
	size_t cap, len;
	uint32_t itt;
	uint32_t ttt;      /* to echo in disc_build_continue() */
	bool done;
};
void disc_rx_init(struct disc_rx *rx, char *buf, size_t cap, uint32_t itt);
/*
 * Feeds one Text response (BHS, data segment of len bytes without
 * padding). Returns 0 with *more set when the target has more to send
 * (send disc_build_continue(itt, rx->ttt)) or clear when the text in
 * rx->buf[0..rx->len) is complete; -EPROTO with *why for a PDU that is not
 * the answer (opcode, ITT, length, F with C, no TTT to continue with);
 * -ENOSPC when the text outgrows buf; -EINVAL after the end.
 */
int disc_rx_feed(struct disc_rx *rx, const void *bhs, const void *data,
		 size_t len, bool *more, const char **why);

#endif
