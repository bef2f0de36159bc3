/* SPDX-License-Identifier: MIT */
/*
 * The RFC 7143 state of each connection of the data path (sections 8.1.3
 * and 8.2, docs/design/recovery.md section 2). struct conn keeps its own
 * working states (UP, DRAIN, LOGOUT, CLOSED, FAILED) for the fast checks
 * of the I/O path; every change of those, and every step of a failed
 * connection's cleanup (mcs/conn_erl2.c), is also an event of the RFC
 * machine, moved only through erl_conn_step(). So the connection's RFC
 * state is always one the RFC allows to follow the last, CLEANUP_WAIT
 * included, and an event the table calls illegal (which would be a defect
 * of ours) is logged and counted instead of being acted on.
 */
#ifndef MCSI_MCS_CONN_SM_H
#define MCSI_MCS_CONN_SM_H

#include "mcs/erl_conn.h"

struct conn;

/* A connection handed over by the login: IN_LOGIN, then LOGIN_OK (T5). */
void conn_sm_logged_in(struct conn *c);

/* Applies ev to c's RFC state on c's reactor. A legal event moves it and
 * is logged at debug level ("connection 2: LOGGED_IN -> CLEANUP_WAIT
 * (XPT_FAIL, T15)"); an illegal one changes nothing, is logged as a
 * warning and counted in c->rfc_illegal. Returns 0 or -EINVAL. */
int conn_sm(struct conn *c, enum erl_cevent ev);

/* The end of c (its memory is about to go): SESSION_CLOSED unless it is
 * FREE already (T8, T13, T18, M1, M4 as the state says). */
void conn_sm_gone(struct conn *c);

#endif
