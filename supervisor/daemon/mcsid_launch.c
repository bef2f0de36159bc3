/* SPDX-License-Identifier: MIT */
/* Launching session processes (mcsid_launch.h). */
#include "supervisor/daemon/mcsid_launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "supervisor/secrets.h"

#define LAUNCH_MSG_MAX 16384u

/* A configured portal as the URL code has it (the interface binding is
 * not something the session API takes yet). */
static int portal_of(const struct cfg_portal *cp, struct url_portal *out)
{
	struct cfg_portal p = *cp;
	char buf[URL_PORTAL_STRMAX];
	const char *why;

	p.iface = NULL;
	if (cfg_portal_format(&p, buf, sizeof(buf)) < 0)
		return -EINVAL;
	return url_parse_portal(buf, strlen(buf), out, &why) ? -EINVAL : 0;
}

/* MC/S: every configured portal of ct but the leading one, as
 * "host:port,host:port" for mcsi_opts.portals ("" when none). */
static void other_portals(const struct cfg_target *ct, const struct url_portal *lead,
			  char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ct->portals.n; i++) {
		struct url_portal up;
		char buf[URL_PORTAL_STRMAX];
		if (portal_of(&ct->portals.v[i], &up) ||
		    (up.port == lead->port && strcmp(up.host, lead->host) == 0) ||
		    url_format_portal(&up, buf, sizeof(buf)) < 0)
			continue;
		size_t n = strlen(buf) + (len ? 1 : 0);
		if (len + n + 1 > cap)
			break;
		snprintf(out + len, cap - len, "%s%s", len ? "," : "", buf);
		len += n;
	}
}

static int load_secrets(struct mcsid *d, struct secrets **out, char *msg, size_t cap)
{
	char path[PATH_MAX];
	struct cfg_error err = { 0 };
	int rc = secrets_path(d->cfg_path, path, sizeof(path));

	if (rc == 0)
		rc = secrets_load(path, out, &err);
	if (rc)
		snprintf(msg, cap, "%s", rc == -ENOENT ? "there is no secrets file" : err.msg);
	return rc;
}

static int copy_secret(const struct secrets *sec, enum secret_scope scope,
		       const char *target, char *dst, size_t dcap, size_t *len)
{
	const char *v;
	size_t n;
	int rc = secrets_get(sec, scope, target, &v, &n);
	if (rc)
		return rc;
	if (n >= dcap || memchr(v, 0, n))
		return -EINVAL;
	memcpy(dst, v, n);
	dst[n] = '\0';
	*len = n;
	return 0;
}

static int credentials(struct mcsid *d, const struct cfg_target *ct,
		       struct launch_spec *spec, char *msg, size_t cap)
{
	const struct cfg *c = d->cfg;
	bool mutual = ct && ct->auth == CFG_AUTH_CHAP;
	struct secrets *sec = NULL;
	int rc;

	if (c->initiator.auth != CFG_AUTH_CHAP && !mutual)
		return 0;
	if (c->initiator.auth != CFG_AUTH_CHAP) {
		snprintf(msg, cap, "mutual CHAP needs the initiator's CHAP too");
		return -EINVAL;
	}
	if ((rc = load_secrets(d, &sec, msg, cap)))
		return rc;
	spec->l.chap = true;
	snprintf(spec->l.chap_name, sizeof(spec->l.chap_name), "%s",
		 cfg_initiator_chap_name(c));
	rc = copy_secret(sec, SECRET_INITIATOR, NULL, spec->sec->chap,
			 sizeof(spec->sec->chap), &spec->sec->chap_len);
	if (rc) {
		snprintf(msg, cap, "authentication is CHAP but no usable initiator "
			 "secret is set");
		goto out;
	}
	if (mutual) {
		spec->l.mutual = true;
		snprintf(spec->l.target_chap_name, sizeof(spec->l.target_chap_name), "%s",
			 ct->chap_name ? ct->chap_name : ct->name);
		rc = copy_secret(sec, SECRET_TARGET, ct->name, spec->sec->target,
				 sizeof(spec->sec->target), &spec->sec->target_len);
		if (rc)
			snprintf(msg, cap, "mutual CHAP needs a usable secret of the target");
	}
out:
	secrets_destroy(sec);
	return rc;
}

int launch_prepare(struct mcsid *d, struct msess *s, struct launch_spec *spec,
		   char *msg, size_t cap)
{
	const struct cfg_target *ct = cfg_target_find(d->cfg, s->target);
	int rc;

	memset(spec, 0, sizeof(*spec));
	spec->sec = secrets_mem_alloc(sizeof(*spec->sec));
	spec->msg = secrets_mem_alloc(LAUNCH_MSG_MAX);
	if (!spec->sec || !spec->msg) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	snprintf(spec->l.target, sizeof(spec->l.target), "%s", s->target);
	if (!s->portal_given) {
		if (!ct || ct->portals.n == 0) {
			snprintf(msg, cap, "no portal: give <iqn>,<portal> or add one to "
				 "the configuration");
			return -EINVAL;
		}
		/* Each retry tries the next configured portal. */
		size_t i = s->bo.attempt % ct->portals.n;
		if (portal_of(&ct->portals.v[i], &s->portal)) {
			snprintf(msg, cap, "unusable portal in the configuration");
			return -EINVAL;
		}
	}
	spec->l.portal = s->portal;
	snprintf(spec->l.initiator, sizeof(spec->l.initiator), "%s",
		 d->cfg->initiator.node_name);
	if (d->cfg->initiator.alias)
		snprintf(spec->l.alias, sizeof(spec->l.alias), "%s", d->cfg->initiator.alias);
	if (ct) {
		/* The session API takes "require CRC32C" or "prefer None". */
		spec->l.header_digest = ct->header_digest == CFG_DIGEST_CRC32C;
		spec->l.data_digest = ct->data_digest == CFG_DIGEST_CRC32C;
	}
	/* The library reinstates a lost session this long before it gives
	 * up; mcsid's own re-login (backoff) only starts after that. */
	spec->l.replacement_ms = (ct ? ct->replacement_timeout : CFG_REPLACEMENT_DEFAULT) * 1000u;
	spec->l.erl = ct ? (uint8_t)ct->erl : CP_ERL_DEFAULT;
	spec->l.time2wait = ct ? (uint16_t)ct->time2wait : 0;
	spec->l.time2retain = ct ? (uint16_t)ct->time2retain : 0;
	spec->l.no_quirks = cfg_quirks_off(d->cfg, ct);
	/* MC/S: max-connections is the number of connections wished; a
	 * login that names no portal uses every portal of the target (as
	 * macOS's iscsictl): at least one connection per configured portal.
	 * The session goes round the portals of the target's portal group
	 * (SendTargets) for them. */
	spec->l.connections = ct && ct->max_connections > 1 ? ct->max_connections : 1;
	if (ct && !s->portal_given && ct->portals.n > spec->l.connections)
		spec->l.connections = (uint32_t)ct->portals.n;
	/* The other configured portals go first: SendTargets may not list
	 * them (tgt answers only with the leading portal's address family). */
	if (ct && !s->portal_given && spec->l.connections > 1)
		other_portals(ct, &s->portal, spec->l.portals, sizeof(spec->l.portals));
	if (ct && ct->sched != CFG_SCHED_ADAPTIVE)
		snprintf(spec->l.sched, sizeof(spec->l.sched), "%s", cfg_sched_name(ct->sched));
	if ((rc = credentials(d, ct, spec, msg, cap)))
		return rc;
	int n = cp_launch_encode(&spec->l, spec->sec, spec->msg, LAUNCH_MSG_MAX);
	if (n < 0) {
		snprintf(msg, cap, "cannot encode the launch message: %s", strerror(-n));
		return n;
	}
	spec->len = (size_t)n;
	return 0;
}

void launch_spec_wipe(struct launch_spec *spec)
{
	secrets_mem_free(spec->sec, sizeof(*spec->sec));
	secrets_mem_free(spec->msg, LAUNCH_MSG_MAX);
	spec->sec = NULL;
	spec->msg = NULL;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void child(const struct mcsid *d, int fd)
{
	char *argv[] = { "mcsi-sessiond", "--run-dir", (char *)d->o.run_dir,
			 "--launch-fd", "3", NULL };
	sigset_t none;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (fd == 3)
		fcntl(3, F_SETFD, 0);
	else
		dup2(fd, 3);
	close_range(4, ~0u, 0);
	execv(d->o.sessiond, argv);
	_exit(127);
}

int launch_spawn(struct mcsid *d, struct msess *s, const struct launch_spec *spec,
		 char *msg, size_t cap)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		snprintf(msg, cap, "socketpair: %s", strerror(errno));
		return rc;
	}
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(msg, cap, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0)
		child(d, sv[1]);
	close(sv[1]);
	/* Not reaped before this call (SIGCHLD waits for our loop), so the
	 * pid still names our child. */
	int pfd = pidfd_open(pid, 0);
	if (pfd < 0) {
		rc = -errno;
		snprintf(msg, cap, "pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		close(sv[0]);
		return rc;
	}
	rc = usock_send_frame(sv[0], spec->msg, spec->len, 5000);
	if (rc == 0 && fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		rc = -errno;
	if (rc) {
		snprintf(msg, cap, "the session process did not take its launch message: %s",
			 strerror(-rc));
		pidfd_send_signal(pfd, SIGKILL, NULL, 0);
		close(pfd);
		close(sv[0]);
		return rc;
	}
	s->pid = pid;
	s->launch.fd = sv[0];
	s->pidfd.fd = pfd;
	s->adopted = false;
	return 0;
}
