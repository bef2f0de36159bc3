/* SPDX-License-Identifier: MIT */
/*
 * The RFC 7143 state of a session (section 8.3, initiator's part: Q1
 * FREE, Q3 LOGGED_IN, Q4 FAILED; docs/design/recovery.md section 3),
 * moved only through erl_sess_step(). The session's working state
 * (struct mcsi_session.state: LIVE, CLOSING, CLOSED, FAILED, RECOVERING)
 * stays what the I/O path reads; each change of it that the RFC knows is
 * also an event of this machine, so the session's RFC state is always one
 * the RFC allows to follow the last. Transitions are rare (logins,
 * losses, reinstatements, close): they take the session's lock.
 */
#ifndef MCSI_MCS_SESS_SM_H
#define MCSI_MCS_SESS_SM_H

#include <stdbool.h>

#include "mcs/erl_sess.h"

struct mcsi_session;

/* Applies ev to s's RFC state; any thread. A legal event moves it and is
 * logged at debug level; an illegal one changes nothing, is logged as a
 * warning and counted in s->rfc_illegal. Returns 0 or -EINVAL. */
int sess_sm(struct mcsi_session *s, enum erl_sevent ev);

/* Applies ev only while s is in state from, under the same lock (a loss
 * that another path already counted is not counted twice). Returns true
 * when it applied ev, false (nothing logged) in any other state. */
bool sess_sm_from(struct mcsi_session *s, enum erl_sstate from, enum erl_sevent ev);

/* ERL 2: a connection of s failed (its connection-set slot is already
 * FAILED). From LOGGED_IN: LAST_CONN_LOST (N3) when no connection of s is
 * usable any more, else CONN_LOST; nothing in other states. Counting under
 * the session's lock makes exactly one of connections failing together
 * the last. Returns true when it took N3. */
bool sess_sm_conn_lost(struct mcsi_session *s);

/* The session's RFC state now (any thread). */
enum erl_sstate sess_sm_state(struct mcsi_session *s);

#endif
