/* SPDX-License-Identifier: MIT */
#include "mcs/login_nonlead_io.h"

#include <errno.h>
#include <string.h>

int nlio_login(const struct lgio_target *t, const struct iscsi_params *session,
	       uint32_t cmdsn, struct ctl_conn *c, uint8_t *rx, size_t rx_cap,
	       struct lgio_status *st)
{
	if (t->tsih == 0 || !session || !t->target_name) {
		memset(st, 0, sizeof(*st));
		st->portal = t->portal;
		st->message = "a non-leading login needs the session's TSIH and parameters";
		c->fd = -1;
		return -EINVAL;
	}
	struct lgio_target join = *t;
	join.session = session;
	join.cmdsn = cmdsn;
	return lgio_login(&join, c, rx, rx_cap, st);
}

int nlio_logout_cid(struct ctl_conn *via, uint16_t cid, uint32_t cmdsn,
		    uint8_t *response)
{
	via->cmdsn = cmdsn;
	return ctl_logout_conn(via, LOGOUT_CLOSE_CONNECTION, cid, response);
}
