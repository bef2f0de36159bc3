/* SPDX-License-Identifier: MIT */
/* mcsid: options, start-up, the event loop, the configuration (mcsid.h). */
#include "supervisor/daemon/mcsid.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "mcsi/version.h"
#include "supervisor/daemon/dutil.h"

#ifndef MCSI_SESSIOND_PATH
#define MCSI_SESSIOND_PATH "/usr/libexec/mcsi/mcsi-sessiond"
#endif

static const char usage[] =
	"usage: mcsid [options]\n"
	"  --config FILE        configuration (default $MCSI_CONFIG or /etc/mcsi/mcsi.conf)\n"
	"  --run-dir DIR        sockets and session state (default /run/mcsi)\n"
	"  --sessiond PATH      the session program (default: next to mcsid, else\n"
	"                       " MCSI_SESSIOND_PATH ")\n"
	"  --allow-uid UID      let this user use the control socket too\n"
	"  --allow-group GROUP  let this group use it (socket mode 0660)\n"
	"  --socket-mode MODE   control socket permissions (octal, default 0600)\n"
	"  --no-auto-login      do not log in auto-login targets at start\n"
	"  --version, --help\n";

int mcsid_watch(struct mcsid *d, struct src *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ? -errno : 0;
}

void mcsid_unwatch(struct mcsid *d, struct src *s)
{
	if (s->fd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->fd, NULL);
}

uint32_t mcsid_random(void)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)usock_now_ms() * 2654435761u;
	return r;
}

int mcsid_config_refresh(struct mcsid *d, bool force)
{
	struct stat st;
	struct cfg *c = NULL;
	struct cfg_error err = { 0 };

	if (stat(d->cfg_path, &st) < 0)
		return -errno;
	if (!force && st.st_mtim.tv_sec == d->cfg_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == d->cfg_mtime.tv_nsec)
		return 0;
	int rc = cfg_load(d->cfg_path, &c, &err);
	if (rc) {
		log_err("configuration not reloaded: %s", err.msg);
		return rc;
	}
	cfg_destroy(d->cfg);
	d->cfg = c;
	d->cfg_mtime = st.st_mtim;
	log_info("configuration reloaded from %s", d->cfg_path);
	return 0;
}

static int parse_opts(struct mcsid_opts *o, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "sessiond", required_argument, NULL, 's' },
		{ "allow-uid", required_argument, NULL, 'u' },
		{ "allow-group", required_argument, NULL, 'g' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "no-auto-login", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool mode_set = false;
	char *end;
	int c;

	snprintf(o->run_dir, sizeof(o->run_dir), "%s", DU_RUN_DIR_DEFAULT);
	o->socket_mode = 0600;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'r': snprintf(o->run_dir, sizeof(o->run_dir), "%s", optarg); break;
		case 's': snprintf(o->sessiond, sizeof(o->sessiond), "%s", optarg); break;
		case 'n': o->no_auto_login = true; break;
		case 'u': {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg) {
				fprintf(stderr, "mcsid: --allow-uid takes a number\n");
				return 2;
			}
			o->allow_uid = (uid_t)v;
			o->allow_uid_set = true;
			break;
		}
		case 'g': {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg) {
				struct group *g = getgrnam(optarg);
				if (!g) {
					fprintf(stderr, "mcsid: no group '%s'\n", optarg);
					return 2;
				}
				v = g->gr_gid;
			}
			o->allow_gid = (gid_t)v;
			o->allow_gid_set = true;
			break;
		}
		case 'm': {
			unsigned long v = strtoul(optarg, &end, 8);
			if (*end || end == optarg || v > 0777) {
				fprintf(stderr, "mcsid: --socket-mode takes an octal mode\n");
				return 2;
			}
			o->socket_mode = (mode_t)v;
			mode_set = true;
			break;
		}
		case 'V':
			printf("mcsid (mcsi) %s\n", mcsi_version());
			return 1;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (o->allow_gid_set && !mode_set)
		o->socket_mode = 0660;
	return 0;
}

/* The session program: --sessiond, else beside our own executable (the
 * build tree, or both installed together), else the installed path. */
static void find_sessiond(struct mcsid_opts *o)
{
	char self[PATH_MAX];
	ssize_t n;

	if (o->sessiond[0])
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(o->sessiond, sizeof(o->sessiond), "%s/mcsi-sessiond", dirname(self));
		if (access(o->sessiond, X_OK) == 0)
			return;
	}
	snprintf(o->sessiond, sizeof(o->sessiond), "%s", MCSI_SESSIOND_PATH);
}

static int setup(struct mcsid *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct cfg_error err = { 0 };
	const char *why = NULL;
	struct stat st;
	bool generated = false;
	int rc;

	if ((rc = du_dir_checked(d->o.run_dir, 0755, &why))) {
		log_err("%s: %s", d->o.run_dir, why);
		return rc;
	}
	if ((rc = du_path(d->sessions_dir, sizeof(d->sessions_dir), d->o.run_dir, "sessions")) ||
	    (rc = du_path(d->sock_path, sizeof(d->sock_path), d->o.run_dir, MCSID_SOCKET_NAME))) {
		log_err("%s: path too long for a socket", d->o.run_dir);
		return rc;
	}
	if ((rc = du_dir_checked(d->sessions_dir, 0700, &why))) {
		log_err("%s: %s", d->sessions_dir, why);
		return rc;
	}
	snprintf(d->cfg_path, sizeof(d->cfg_path), "%s", cfg_path(d->o.config));
	if ((rc = cfg_open(d->cfg_path, &d->cfg, &generated, &err))) {
		log_err("%s", err.msg);
		return rc;
	}
	if (stat(d->cfg_path, &st) == 0)
		d->cfg_mtime = st.st_mtim;
	if (generated)
		log_info("generated the initiator name %s", d->cfg->initiator.node_name);
	find_sessiond(&d->o);
	if (access(d->o.sessiond, X_OK) < 0) {
		log_err("the session program %s: %s", d->o.sessiond, strerror(errno));
		return -errno;
	}
	d->reply = malloc(CP_FRAME_MAX);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!d->reply || d->epfd < 0)
		return -ENOMEM;
	d->sig.kind = SRC_SIGNAL;
	d->listen.kind = SRC_LISTEN;
	if ((rc = du_signalfd(sigs, sizeof(sigs) / sizeof(sigs[0]), &d->sig.fd)) ||
	    (rc = mcsid_watch(d, &d->sig)))
		return rc;
	gid_t gid = d->o.allow_gid_set ? d->o.allow_gid : (gid_t)-1;
	if ((rc = usock_listen(d->sock_path, d->o.socket_mode, gid, &d->listen.fd))) {
		log_err("%s: %s%s", d->sock_path, strerror(-rc),
			rc == -EADDRINUSE ? " (is another mcsid running?)" : "");
		return rc;
	}
	return mcsid_watch(d, &d->listen);
}

static void reap(struct mcsid *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == d->disc.pid && WIFSIGNALED(status))
			log_warn("discovery process %d killed by signal %d", (int)pid,
				 WTERMSIG(status));
		else if (pid != d->disc.pid)
			log_debug("process %d exited with status %d", (int)pid,
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
}

static void on_signal(struct mcsid *d)
{
	int sig;
	while ((sig = du_signal_read(d->sig.fd)) > 0) {
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: stopping", sig);
			d->stop = true;
		} else if (sig == SIGHUP) {
			mcsid_config_refresh(d, true);
		} else if (sig == SIGCHLD) {
			reap(d);
		}
	}
}

static void dispatch(struct mcsid *d, struct src *s)
{
	switch (s->kind) {
	case SRC_SIGNAL: on_signal(d); break;
	case SRC_LISTEN: cli_accept(d); break;
	case SRC_CLIENT: cli_readable(d, MCSID_OF(s, struct mclient, src)); break;
	case SRC_LAUNCH: sess_launch_readable(d, MCSID_OF(s, struct msess, launch)); break;
	case SRC_PIDFD: sess_exited(d, MCSID_OF(s, struct msess, pidfd)); break;
	case SRC_PROXY: proxy_readable(d, MCSID_OF(s, struct proxy, src)); break;
	case SRC_DISC: disc_readable(d); break;
	}
}

static int64_t min_wait(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static void loop(struct mcsid *d)
{
	while (!d->stop) {
		int64_t now = usock_now_ms();
		int64_t wait = min_wait(sess_timers(d, now), disc_timers(d, now));
		struct epoll_event ev;
		int n = epoll_wait(d->epfd, &ev, 1, wait < 0 ? -1 : wait > 60000 ? 60000 : (int)wait);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return;
		}
		if (n == 1)
			dispatch(d, ev.data.ptr);
	}
}

static void teardown(struct mcsid *d)
{
	unsigned n = 0;
	for (struct msess *s = d->sessions; s; s = s->next)
		n += s->state == MS_UP;
	while (d->clients)
		cli_close(d, d->clients);
	disc_stop(d);
	sess_free_all(d);
	if (d->listen.fd >= 0) {
		close(d->listen.fd);
		unlink(d->sock_path);
	}
	if (d->sig.fd >= 0)
		close(d->sig.fd);
	if (d->epfd >= 0)
		close(d->epfd);
	cfg_destroy(d->cfg);
	free(d->reply);
	if (n)
		log_info("stopped; %u sessions keep running", n);
}

int main(int argc, char **argv)
{
	struct mcsid d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.epfd = d.sig.fd = d.listen.fd = d.disc.src.fd = d.disc.pidfd = -1;
	if ((rc = parse_opts(&d.o, argc, argv)))
		return rc == 1 ? 0 : rc;
	signal(SIGPIPE, SIG_IGN);
	if (setup(&d)) {
		teardown(&d);
		return 1;
	}
	log_info("mcsid %s started: %s, initiator %s, control socket %s", mcsi_version(),
		 d.cfg_path, d.cfg->initiator.node_name, d.sock_path);
	sess_adopt_all(&d);
	if (!d.o.no_auto_login)
		sess_auto_login(&d);
	d.disc_next = usock_now_ms();
	du_notify("READY=1");
	loop(&d);
	du_notify("STOPPING=1");
	teardown(&d);
	return 0;
}
