/* SPDX-License-Identifier: MIT */
/*
 * Opening a session from a URL: parse it, log in with the login layer
 * (mcs/login_io.h) over a blocking socket, and hand the logged-in
 * connection to the data path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcs/ctl.h"
#include "mcs/login_io.h"
#include "mcs/sess.h"

int sess_target_prepare(const char *url, const struct mcsi_opts *o,
			struct url_iscsi *u, struct lgio_target *t, char *iname,
			size_t iname_cap)
{
	const char *why = NULL;
	char host[64];

	if (url_parse_iscsi(url, strlen(url), u, &why) < 0 || !u->has_target) {
		url_iscsi_wipe(u);
		return -EINVAL;
	}
	lgio_target_init(t);
	t->portal = u->portal;
	t->target_name = u->target;
	if (o->initiator_name) {
		t->initiator_name = o->initiator_name;
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(iname, iname_cap, "iqn.2024-01.org.mcsi:%s", host);
		t->initiator_name = iname;
	}
	const char *user = u->has_user ? u->user : o->chap_user;
	const char *secret = u->has_password ? u->password : o->chap_secret;
	if (user && secret) {
		t->chap = true;
		t->chap_name = user;
		t->chap_secret = secret;
		t->chap_secret_len = strlen(secret);
		if (o->chap_target_user && o->chap_target_secret) {
			t->mutual = true;
			t->target_chap_name = o->chap_target_user;
			t->target_secret = o->chap_target_secret;
			t->target_secret_len = strlen(o->chap_target_secret);
		}
	}
	t->wishes.header_digest = o->header_digest ? ISCSI_DIGEST_CRC_ONLY : ISCSI_DIGEST_PREFER_NONE;
	t->wishes.data_digest = o->data_digest ? ISCSI_DIGEST_CRC_ONLY : ISCSI_DIGEST_PREFER_NONE;
	/* Both checked by mcsi_open(): at most TASK_MAX_R2T, ERL <= 2. At
	 * ERL >= 1 with DataSequenceInOrder=Yes, MaxOutstandingR2T must be 1
	 * (RFC 7143 13.19): a recovery R2T then re-solicits only within the
	 * last sequence, and R2Ts never arrive out of order. */
	/* Known target defects were allowed for in o by mcsi_open(). */
	t->wishes.error_recovery_level = o->error_recovery_level;
	t->wishes.max_outstanding_r2t = o->error_recovery_level >= 1 ? 1 : o->max_outstanding_r2t;
	/* MC/S: the leading login asks for as many connections as wished
	 * (the target answers with its own limit, the lower wins). */
	t->wishes.max_connections = o->connections > 1 ? o->connections : 1;
	/* ERL 2: room for reinstating a failed connection that the target
	 * still counts (LIO refuses with 0x0206 otherwise); mcsi_open() keeps
	 * the session itself to o->connections. */
	if (o->error_recovery_level >= 2)
		t->wishes.max_connections++;
	if (o->time2wait_s)
		t->wishes.default_time2wait = o->time2wait_s;
	if (o->time2retain_s)
		t->wishes.default_time2retain = o->time2retain_s;
	return 0;
}

void sess_handoff_take(struct sess_handoff *h, struct ctl_conn *c)
{
	memset(h, 0, sizeof(*h));
	h->fd = c->fd;
	h->params = c->params;
	memcpy(h->isid, c->isid, sizeof(h->isid));
	h->tsih = c->tsih;
	h->cid = c->cid;
	h->cmdsn = c->cmdsn;
	h->expcmdsn = c->expcmdsn;
	h->maxcmdsn = c->maxcmdsn;
	h->expstatsn = c->expstatsn;
	snprintf(h->peer, sizeof(h->peer), "%s", c->peer);
	c->fd = -1;
}

int sess_login_as(const char *url, const struct mcsi_opts *o, const uint8_t *isid,
		  struct sess_handoff *h, uint32_t *lun, const char **msg)
{
	struct url_iscsi u;
	struct lgio_target t;
	struct lgio_status st;
	struct ctl_conn c;
	char iname[128];
	uint8_t *rx;
	int rc;

	if ((rc = sess_target_prepare(url, o, &u, &t, iname, sizeof(iname))) < 0)
		return rc;
	if (isid)                          /* reinstatement: the same I_T nexus */
		memcpy(t.isid, isid, sizeof(t.isid));
	size_t cap = t.wishes.max_recv_dsl > LGIO_RX_MIN ? t.wishes.max_recv_dsl : LGIO_RX_MIN;
	if (!(rx = malloc(cap))) {
		url_iscsi_wipe(&u);
		return -ENOMEM;
	}
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	*lun = u.has_lun ? u.lun : 0;
	*msg = NULL;
	rc = lgio_login(&t, &c, rx, cap, &st);
	url_iscsi_wipe(&u);
	if (rc < 0) {
		*msg = st.message;
		free(rx);
		return rc;
	}
	sess_handoff_take(h, &c);
	free(rx);
	return 0;
}

int sess_login(const char *url, const struct mcsi_opts *o,
	       struct sess_handoff *h, uint32_t *lun)
{
	const char *msg = NULL;
	int rc = sess_login_as(url, o, NULL, h, lun, &msg);

	if (rc < 0 && msg)
		fprintf(stderr, "mcsi: login failed: %s\n", msg);
	return rc;
}
