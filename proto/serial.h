/* SPDX-License-Identifier: MIT */
/*
 * Serial number arithmetic (RFC 1982, SERIAL_BITS = 32) for CmdSN, StatSN,
 * DataSN and R2TSN. Never compare sequence numbers with < or >.
 */
#ifndef MCSI_PROTO_SERIAL_H
#define MCSI_PROTO_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

/* a < b in serial arithmetic. Undefined (false both ways) when the two are
 * exactly 2^31 apart, as RFC 1982 says. */
static inline bool sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) < 0 && (a - b) != 0x80000000u;
}
static inline bool sn_gt(uint32_t a, uint32_t b) { return sn_lt(b, a); }
static inline bool sn_le(uint32_t a, uint32_t b) { return a == b || sn_lt(a, b); }
static inline bool sn_ge(uint32_t a, uint32_t b) { return a == b || sn_gt(a, b); }

/* The CmdSN window [exp, max] is open for sn when exp <= sn <= max. An
 * empty window is signalled by max == exp - 1 (RFC 7143 section 4.2.2.1). */
static inline bool sn_in_window(uint32_t sn, uint32_t exp, uint32_t max)
{
	return sn_ge(sn, exp) && sn_le(sn, max);
}

/* A MaxCmdSN/ExpCmdSN pair is acceptable only when MaxCmdSN >= ExpCmdSN - 1
 * (serial); otherwise the target's update must be ignored. */
static inline bool sn_window_valid(uint32_t exp, uint32_t max)
{
	return sn_ge(max, exp - 1);
}

#endif
