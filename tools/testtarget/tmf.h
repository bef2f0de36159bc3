/* SPDX-License-Identifier: MIT */
/* Task management functions (RFC 7143 section 11.5). */
#ifndef TT_TMF_H
#define TT_TMF_H

#include "io.h"

/* Handles a delivered TMF request and queues its response. Returns 0. */
int tmf_handle(struct tt_conn *c, const struct tt_rxpdu *p);

#endif
