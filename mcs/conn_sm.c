/* SPDX-License-Identifier: MIT */
/* A connection's RFC 7143 state, moved by erl_conn_step(): see conn_sm.h. */
#include "mcs/conn_sm.h"

#include <stdatomic.h>

#include "mcs/conn.h"

void conn_sm_logged_in(struct conn *c)
{
	c->rfc = ERL_S4_IN_LOGIN;
	conn_sm(c, ERL_CE_LOGIN_OK);
}

int conn_sm(struct conn *c, enum erl_cevent ev)
{
	enum erl_cstate from = c->rfc;
	struct erl_cstep step;
	int rc = erl_conn_step(&c->rfc, ev, &step);

	if (rc < 0) {
		c->rfc_illegal++;
		atomic_fetch_add(&c->sess->rfc_illegal, 1);
		sess_log(c->sess, 4, "%s: connection %u: event %s is not allowed in state %s "
			 "(RFC 7143 8.1.3, 8.2); ignored", c->peer, c->cid,
			 erl_cevent_name(ev), erl_cstate_name(from));
		return rc;
	}
	sess_log(c->sess, 7, "%s: connection %u: %s -> %s (%s, %s)", c->peer, c->cid,
		 erl_cstate_name(from), erl_cstate_name(c->rfc), erl_cevent_name(ev), step.rfc);
	return 0;
}

void conn_sm_gone(struct conn *c)
{
	if (c->rfc != ERL_S1_FREE && c->rfc != 0)
		conn_sm(c, ERL_CE_SESSION_CLOSED);
}
