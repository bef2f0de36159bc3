/* SPDX-License-Identifier: MIT */
/*
 * Text requests in full feature phase: SendTargets (RFC 7143 section
 * 13.24 and appendix C) with TargetAddress lines per portal and portal
 * group tag, split into several Text Responses when longer than the
 * initiator's MaxRecvDataSegmentLength.
 */
#ifndef TT_DISCOVERY_H
#define TT_DISCOVERY_H

#include "io.h"

/* Handles a delivered Text Request and queues the response. Returns 0 or
 * -ENOMEM. */
int discovery_text(struct tt_conn *c, const struct tt_rxpdu *p);

#endif
