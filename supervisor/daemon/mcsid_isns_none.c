/* SPDX-License-Identifier: MIT */
/*
 * isns_discover() when mcsid is built without open-isns (libisns-dev was
 * not found): every configured iSNS server gets a clear failure, so that
 * the log says why iSNS discovery finds nothing.
 */
#include <errno.h>

#include "proto/discovery.h"
#include "supervisor/daemon/mcsid.h"

int isns_discover(const char *server, const char *initiator,
		  struct disc_result *res, char *names, size_t cap,
		  size_t *no_portal, const char **why)
{
	(void)server;
	(void)initiator;
	(void)names;
	(void)cap;
	res->n_targets = res->n_addrs = 0;
	*no_portal = 0;
	*why = "iSNS is not built in: this mcsid was built without open-isns "
	       "(install libisns-dev and rebuild)";
	return -EOPNOTSUPP;
}
