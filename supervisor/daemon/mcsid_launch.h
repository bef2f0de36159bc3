/* SPDX-License-Identifier: MIT */
/*
 * Launching a session process: what to log in to and with which
 * credentials (from the configuration and the secrets file), and the
 * fork + exec that puts the process in a session of its own, so that
 * neither mcsid's death nor a signal to its process group reaches it.
 * The launch message, CHAP secrets included, goes over a socket the
 * child inherits as fd 3: never argv, never the environment.
 */
#ifndef MCSI_SUPERVISOR_DAEMON_MCSID_LAUNCH_H
#define MCSI_SUPERVISOR_DAEMON_MCSID_LAUNCH_H

#include <stddef.h>

#include "supervisor/daemon/mcsid.h"

struct launch_spec {
	struct cp_launch l;
	struct cp_launch_secrets *sec;   /* secrets_mem_alloc() memory */
	char *msg;                       /* the encoded message, same */
	size_t len;
};

/* Fills spec for s: the portal (the user's, else the configured ones in
 * turn across retries), our name, CHAP from the configuration and the
 * secrets file, the digest offer. Returns 0, or -errno with msg. Always
 * call launch_spec_wipe() afterwards. */
int launch_prepare(struct mcsid *d, struct msess *s, struct launch_spec *spec,
		   char *msg, size_t cap);
/* Starts the session process and hands it the message; sets s->pid,
 * s->launch.fd (non-blocking) and s->pidfd.fd. Returns 0 or -errno with
 * msg. */
int launch_spawn(struct mcsid *d, struct msess *s, const struct launch_spec *spec,
		 char *msg, size_t cap);
/* Wipes and frees the secrets; safe on a spec launch_prepare() failed. */
void launch_spec_wipe(struct launch_spec *spec);

#endif
