/* SPDX-License-Identifier: MIT */
/*
 * mcsi-sessiond: one session's data-plane process (sessiond.h). Exit
 * status: 0 after a logout, 2 when the login failed, 3 when the session
 * was lost (the state file then says why), 1 on other errors.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "mcsi/version.h"
#include "proto/sense.h"
#include "proto/text.h"
#include "supervisor/daemon/dutil.h"
#include "supervisor/daemon/sessiond.h"
#include "supervisor/daemon/sessiond_export.h"
#include "supervisor/secrets.h"
#include "supervisor/usock.h"

enum { EXIT_LOGIN = 2, EXIT_LOST = 3 };

#define LAUNCH_MAX      16384u
#define LAUNCH_WAIT_MS  10000

static const char usage[] =
	"usage: mcsi-sessiond [--run-dir DIR] [--launch-fd N]\n"
	"Started by mcsid, which sends the session to open on the launch fd\n"
	"(default 3). Not meant to be run by hand.\n";

/* A reactor thread reports; the main loop checks the session. */
static void on_event(mcsi_session *s, const struct mcsi_event *ev, void *priv)
{
	struct sessiond *d = priv;
	uint64_t one = 1;
	(void)s;

	switch (ev->type) {
	case MCSI_EV_SCSI_EVENT: {
		/* REPORTED LUNS DATA or CAPACITY DATA HAS CHANGED, typically
		 * (an Async message, or a UNIT ATTENTION the library retried):
		 * the main loop asks the export to look. Not for the power-on
		 * or reset attention (ASC 0x29) every login brings. */
		struct sense_info si;
		if (ev->sense && sense_parse(ev->sense, ev->sense_len, &si, NULL) == 0 &&
		    si.asc == 0x29)
			break;
		log_peer_info(d->who, "SCSI event on LUN %u: rescanning", ev->lun);
		atomic_store(&d->poll_due, true);
		break;
	}
	case MCSI_EV_CONN_FAILED:
		/* The library has logged why; the main loop decides what it means. */
		log_peer_debug(d->who, "connection %u failed", ev->cid);
		break;
	case MCSI_EV_SESSION_DROP:
		log_peer_warn(d->who, "the target will drop the session");
		break;
	case MCSI_EV_SESSION_LOST:
		/* The library reinstates it; the session is lost for us only
		 * when it gives up (MCSI_EV_SESSION_FAILED, then -ENOTCONN). */
		log_peer_warn(d->who, "session lost: the library is reinstating it");
		atomic_store(&d->recovering, true);
		break;
	case MCSI_EV_SESSION_REINSTATED:
		log_peer_info(d->who, "session reinstated after %u ms", ev->param[0]);
		atomic_store(&d->recovering, false);
		break;
	case MCSI_EV_SESSION_FAILED:
		log_peer_warn(d->who, "the library gave the session up");
		atomic_store(&d->recovering, false);
		break;
	case MCSI_EV_LOGOUT_REQUESTED:
		log_peer_warn(d->who, "the target asks for a logout within %u s",
			      ev->param[2]);
		break;
	default:
		log_peer_debug(d->who, "event %d", (int)ev->type);
		return;
	}
	if (write(d->evfd, &one, sizeof(one)) < 0)
		log_peer_debug(d->who, "eventfd: %s", strerror(errno));
}

/* The library's lines, already escaped, under our prefix. */
static void on_log(void *priv, int level, const char *msg)
{
	struct sessiond *d = priv;
	enum log_level l = level <= 3 ? LOG_ERR : level == 4 ? LOG_WARN
			   : level <= 6 ? LOG_INFO : LOG_DEBUG;
	log_msg(l, d->who, "%s", msg);
}

static const char *login_error(int rc)
{
	switch (rc) {
	case -EACCES: return "authentication failed";
	case -ENOENT: return "target not found, or the portal's name does not resolve";
	case -ECONNREFUSED: return "connection refused";
	case -ETIMEDOUT: return "timed out";
	case -EPROTO: return "the target broke the login protocol";
	case -EBUSY: return "the target is busy or has too many connections";
	case -ELOOP: return "too many redirections";
	default: return strerror(-rc);
	}
}

static void launch_reply_error(struct sessiond *d, int fd, int err, const char *msg)
{
	int n = cp_reply_error(d->reply, CP_FRAME_MAX, err, msg);
	if (n > 0)
		usock_send_frame(fd, d->reply, (size_t)n, LAUNCH_WAIT_MS);
}

/* Reads the launch message; the secrets stay in non-dumpable memory and
 * are wiped as soon as the login has used them. */
static int read_launch(struct sessiond *d, int fd, struct cp_launch_secrets *sec)
{
	char *buf = secrets_mem_alloc(LAUNCH_MAX);
	const char *why = NULL;
	size_t len = 0;
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = usock_recv_frame(fd, buf, LAUNCH_MAX, &len, LAUNCH_WAIT_MS);
	if (rc == 0 && (rc = cp_launch_decode(buf, len, &d->launch, sec, &why)))
		log_peer_err(d->who, "bad launch message: %s", why);
	else if (rc)
		log_peer_err(d->who, "no launch message: %s", strerror(-rc));
	secrets_mem_free(buf, LAUNCH_MAX);
	return rc;
}

static int login(struct sessiond *d, const struct cp_launch_secrets *sec)
{
	struct mcsi_opts o;
	char url[URL_PORTAL_STRMAX + URL_NAME_MAX + 16];

	url_format_portal(&d->launch.portal, d->portal, sizeof(d->portal));
	snprintf(url, sizeof(url), "iscsi://%s/%s", d->portal, d->launch.target);
	mcsi_opts_init(&o);
	o.initiator_name = d->launch.initiator;
	o.header_digest = d->launch.header_digest;
	o.data_digest = d->launch.data_digest;
	o.replacement_timeout_ms = d->launch.replacement_ms;
	o.error_recovery_level = d->launch.erl;
	o.time2wait_s = d->launch.time2wait;
	o.time2retain_s = d->launch.time2retain;
	o.quirks = d->launch.no_quirks ? MCSI_QUIRKS_OFF : MCSI_QUIRKS_AUTO;
	/* MC/S: the connections the configuration asks for, one reactor
	 * per connection up to the CPUs. */
	o.connections = d->launch.connections ? d->launch.connections : 1;
	o.portals = d->launch.portals[0] ? d->launch.portals : NULL;
	o.sched_policy = d->launch.sched[0] ? d->launch.sched : NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o.queues = ncpu > 0 && (unsigned long)ncpu < o.connections ? (unsigned)ncpu
								   : o.connections;
	if (d->launch.chap) {
		o.chap_user = d->launch.chap_name;
		o.chap_secret = sec->chap;
	}
	if (d->launch.mutual) {
		o.chap_target_user = d->launch.target_chap_name;
		o.chap_target_secret = sec->target;
	}
	o.event = on_event;
	o.event_priv = d;
	o.log = on_log;
	o.log_priv = d;
	return mcsi_open(url, &o, &d->s);
}

static int publish(struct sessiond *d)
{
	char dir[PATH_MAX], name[32];
	const char *why = NULL;
	int rc;

	if ((rc = du_path(dir, sizeof(dir), d->run_dir, "sessions")))
		return rc;
	if ((rc = du_dir_checked(dir, 0700, &why))) {
		log_peer_err(d->who, "%s: %s", dir, why);
		return rc;
	}
	snprintf(name, sizeof(name), "%d.sock", (int)d->pid);
	if ((rc = du_path(d->sock_path, sizeof(d->sock_path), dir, name))) {
		log_peer_err(d->who, "the socket path under %s is too long", dir);
		return rc;
	}
	snprintf(name, sizeof(name), "%d.json", (int)d->pid);
	if ((rc = du_path(d->state_path, sizeof(d->state_path), dir, name)))
		return rc;
	if ((rc = usock_listen(d->sock_path, 0600, (gid_t)-1, &d->lfd))) {
		log_peer_err(d->who, "%s: %s", d->sock_path, strerror(-rc));
		d->sock_path[0] = '\0';
		return rc;
	}
	d->since = (int64_t)time(NULL);
	if ((rc = sd_write_state(d)))
		log_peer_err(d->who, "%s: %s", d->state_path, strerror(-rc));
	return rc;
}

static int launch_reply_ok(struct sessiond *d, int fd)
{
	struct json_w w;
	cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
	json_w_i64(&w, "pid", d->pid);
	json_w_str(&w, "socket", d->sock_path);
	json_w_str(&w, "portal", d->portal);
	json_w_i64(&w, "since", d->since);
	json_w_arr(&w, "luns");
	for (size_t i = 0; i < d->nluns; i++) {
		json_w_obj(&w, NULL);
		sd_lun_json(&w, &d->luns[i]);
		d->exp->describe(d->exp_priv, d->luns[i].lun, &w);
		json_w_end(&w);
	}
	json_w_end(&w);
	json_w_end(&w);
	int n = json_w_finish(&w);
	return n < 0 ? n : usock_send_frame(fd, d->reply, (size_t)n, LAUNCH_WAIT_MS);
}

/* Login, scan, export, socket and state file, then the answer to mcsid.
 * Returns 0 or an exit status. */
static int start(struct sessiond *d, int launch_fd)
{
	struct cp_launch_secrets *sec = secrets_mem_alloc(sizeof(*sec));
	int rc;

	if (!sec)
		return EXIT_FAILURE;
	rc = read_launch(d, launch_fd, sec);
	if (rc) {
		secrets_mem_free(sec, sizeof(*sec));
		launch_reply_error(d, launch_fd, rc, "bad launch message");
		return EXIT_FAILURE;
	}
	snprintf(d->who, sizeof(d->who), "session[%d] %s", (int)d->pid, d->launch.target);
	rc = login(d, sec);
	secrets_mem_free(sec, sizeof(*sec));
	if (rc) {
		log_peer_err(d->who, "login failed: %s", login_error(rc));
		launch_reply_error(d, launch_fd, rc, login_error(rc));
		return EXIT_LOGIN;
	}
	log_peer_info(d->who, "logged in at %s", d->portal);
	if ((rc = sd_scan(d->s, d->luns, LUNSCAN_MAX_LUNS, &d->nluns))) {
		log_peer_err(d->who, "LUN scan failed: %s", strerror(-rc));
		launch_reply_error(d, launch_fd, rc, "the LUN scan failed");
		return EXIT_LOGIN;
	}
	log_peer_info(d->who, "%zu LUNs", d->nluns);
	const struct sd_export_ops *ops = sd_export_ops_default();
	if ((rc = ops->create(d->run_dir, d->launch.target, &d->exp_priv)) == 0) {
		d->exp = ops;
		rc = ops->attach(d->exp_priv, d->s, d->luns, d->nluns);
	}
	if (rc) {
		log_peer_err(d->who, "export %s failed: %s", ops->name, strerror(-rc));
		launch_reply_error(d, launch_fd, rc, "presenting the LUNs failed");
		return EXIT_LOGIN;
	}
	if ((rc = publish(d))) {
		launch_reply_error(d, launch_fd, rc, "cannot create the session socket");
		return EXIT_FAILURE;
	}
	if ((rc = launch_reply_ok(d, launch_fd))) {
		/* mcsid went away while we logged in: we carry on, a restarted
		 * mcsid adopts us from the state file. */
		log_peer_warn(d->who, "mcsid did not take the launch answer: %s",
			      strerror(-rc));
	}
	return 0;
}

static void check_session(struct sessiond *d)
{
	d->last_check_ms = usock_now_ms();
	if (atomic_load(&d->recovering))
		return;
	int rc = sd_ping(d->s, d->nluns ? d->luns[0].lun : 0);
	if (rc == 0 || rc != -ENOTCONN) {
		if (rc)
			log_peer_debug(d->who, "TEST UNIT READY: %s", strerror(-rc));
		return;
	}
	const char *e = mcsi_last_error(d->s);
	text_escape(d->lost_why, sizeof(d->lost_why), e && e[0] ? e : "connection lost",
		    strlen(e && e[0] ? e : "connection lost"));
	d->lost = true;
	log_peer_err(d->who, "session lost: %s", d->lost_why);
}

/* Lets the export look for LUNs added, gone or resized: every
 * SD_EXPORT_POLL_MS, and at once after a SCSI event. A UNIT ATTENTION is
 * retried inside the library and not seen here, so polling is what finds
 * a change reported that way. */
static void poll_export(struct sessiond *d)
{
	d->last_poll_ms = usock_now_ms();
	atomic_store(&d->poll_due, false);
	if (!d->exp || !d->exp->poll || d->lost)
		return;
	int rc = d->exp->poll(d->exp_priv);
	if (rc == 1 && (rc = sd_rescan(d)))
		log_peer_warn(d->who, "rescan: %s", strerror(-rc));
	else if (rc < 0)
		log_peer_debug(d->who, "LUN poll: %s", strerror(-rc));
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Serves until a logout, a stop signal or the session's loss. Returns
 * the exit status. */
static int run(struct sessiond *d)
{
	if (add_fd(d->epfd, d->sigfd) || add_fd(d->epfd, d->lfd) ||
	    add_fd(d->epfd, d->evfd))
		return EXIT_FAILURE;
	d->last_check_ms = d->last_poll_ms = usock_now_ms();
	for (;;) {
		struct epoll_event ev;
		int64_t now = usock_now_ms();
		int64_t left = d->last_check_ms + SD_HEALTH_MS - now;
		int64_t pleft = d->last_poll_ms + SD_EXPORT_POLL_MS - now;
		int64_t cleft = d->last_conns_ms + SD_CONNS_MS - now;
		if (pleft < left)
			left = pleft;
		if (cleft < left)
			left = cleft;
		if (cleft <= 0)
			sd_write_conns(d);
		int n = epoll_wait(d->epfd, &ev, 1, left < 0 ? 0 : (int)left);
		if (n < 0 && errno != EINTR)
			return EXIT_FAILURE;
		if (n <= 0) {
			if (usock_now_ms() >= d->last_check_ms + SD_HEALTH_MS)
				check_session(d);
		} else if (ev.data.fd == d->sigfd) {
			int sig = du_signal_read(d->sigfd);
			if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
				log_peer_info(d->who, "signal %d: logging out", sig);
				sd_logout(d);
				return EXIT_SUCCESS;
			}
		} else if (ev.data.fd == d->evfd) {
			uint64_t cnt;
			if (read(d->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				return EXIT_FAILURE;
			check_session(d);
			if (atomic_load(&d->poll_due))
				poll_export(d);
		} else if (ev.data.fd == d->lfd) {
			int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				int ended = sd_serve(d, fd);
				close(fd);
				if (ended) {
					log_peer_info(d->who, "logged out");
					return EXIT_SUCCESS;
				}
			}
		}
		if (!d->lost && usock_now_ms() >= d->last_poll_ms + SD_EXPORT_POLL_MS)
			poll_export(d);
		if (d->lost) {
			if (d->exp) {
				d->exp->detach(d->exp_priv, false);
				d->exp->destroy(d->exp_priv);
				d->exp = NULL;
			}
			mcsi_close(d->s);
			d->s = NULL;
			unlink(d->sock_path);
			int rc = sd_write_state(d);
			if (rc)
				log_peer_err(d->who, "%s: %s", d->state_path, strerror(-rc));
			return EXIT_LOST;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "launch-fd", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const int sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP };
	struct sessiond d;
	int launch_fd = 3, c, rc;

	memset(&d, 0, sizeof(d));
	d.epfd = d.sigfd = d.lfd = d.evfd = -1;
	snprintf(d.run_dir, sizeof(d.run_dir), "%s", DU_RUN_DIR_DEFAULT);
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			snprintf(d.run_dir, sizeof(d.run_dir), "%s", optarg);
			break;
		case 'l':
			launch_fd = atoi(optarg);
			break;
		case 'V':
			printf("mcsi-sessiond (mcsi) %s\n", mcsi_version());
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind != argc || launch_fd < 0) {
		fputs(usage, stderr);
		return EXIT_FAILURE;
	}
	d.pid = getpid();
	snprintf(d.who, sizeof(d.who), "session[%d]", (int)d.pid);
	signal(SIGPIPE, SIG_IGN);
	d.luns = calloc(LUNSCAN_MAX_LUNS, sizeof(*d.luns));
	d.reply = malloc(CP_FRAME_MAX);
	d.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!d.luns || !d.reply || d.evfd < 0 || d.epfd < 0 ||
	    du_signalfd(sigs, sizeof(sigs) / sizeof(sigs[0]), &d.sigfd)) {
		log_peer_err(d.who, "cannot start: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	rc = start(&d, launch_fd);
	close(launch_fd);
	if (rc == 0)
		rc = run(&d);
	else
		sd_logout(&d);
	if (d.s)
		mcsi_close(d.s);
	free(d.luns);
	free(d.reply);
	return rc;
}
