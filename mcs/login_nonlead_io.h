/* SPDX-License-Identifier: MIT */
/*
 * A non-leading login over a blocking socket, and the logout of one
 * connection, for the control path: thin entry points over lgio_login()
 * and ctl_logout_conn() with the argument checks a joining connection
 * needs.
 */
#ifndef MCSI_MCS_LOGIN_NONLEAD_IO_H
#define MCSI_MCS_LOGIN_NONLEAD_IO_H

#include <stddef.h>
#include <stdint.h>

#include "mcs/ctl.h"
#include "mcs/login_io.h"
#include "proto/neg.h"

/* Scratch nlio_login() needs in rx: the target's joined text, our text
 * and one received segment. */
#define NLIO_SCRATCH  LGIO_RX_MIN

/*
 * Logs in the connection t->cid into the session t->tsih (non-zero) at
 * t->portal, with the session's negotiated values (borrowed for the call)
 * and its current CmdSN. rx (at least NLIO_SCRATCH bytes and the wished
 * MaxRecvDataSegmentLength) is borrowed by c until ctl_close(). Returns 0
 * with c in full feature phase, or -errno as lgio_login(): notably -EUSERS
 * (0x0206 too many connections), -EBUSY (0x0208 cannot include the
 * connection), -ENOENT (0x020a session does not exist), -EAGAIN (a
 * redirection, not followed); st says why.
 */
int nlio_login(const struct lgio_target *t, const struct iscsi_params *session,
	       uint32_t cmdsn, struct ctl_conn *c, uint8_t *rx, size_t rx_cap,
	       struct lgio_status *st);

/*
 * Sends Logout reason 1 ("close the connection") for connection cid on
 * the logged-in connection via (the same connection or another of the
 * session, RFC 7143 section 11.14), immediate, with the session's
 * current CmdSN, and waits for the response. NOP-In pings met meanwhile
 * are answered. Returns 0 (the target closed or will close cid; when via
 * is cid itself only ctl_close() is left to do), -ENOENT (the target does
 * not know cid in this session), -EIO (another refusal, *response set),
 * or the transport's -errno.
 */
int nlio_logout_cid(struct ctl_conn *via, uint16_t cid, uint32_t cmdsn,
		    uint8_t *response);

#endif
