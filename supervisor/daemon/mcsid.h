/* SPDX-License-Identifier: MIT */
/*
 * mcsid, the supervisor: owns the configuration, runs SendTargets and iSNS
 * discovery, starts one session process (mcsi-sessiond) per logged-in
 * target and restarts lost persistent ones with backoff, adopts the
 * session processes a previous mcsid left running, and serves iscsictl on
 * a UNIX socket. It never carries I/O: see docs/design/supervisor.md.
 *
 * One thread, one epoll loop, one event handled per epoll_wait() so that
 * a handler may free any object without leaving a stale pointer in the
 * batch. Timers are deadlines scanned on each turn.
 */
#ifndef MCSI_SUPERVISOR_DAEMON_MCSID_H
#define MCSI_SUPERVISOR_DAEMON_MCSID_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "proto/url.h"
#include "supervisor/backoff.h"
#include "supervisor/config.h"
#include "supervisor/ctlproto.h"
#include "supervisor/usock.h"

#define MCSID_SOCKET_NAME    "mcsid.sock"
#define MCSID_REPLY_MS       5000     /* to write a reply to a client */
#define MCSID_LOGIN_MS       120000   /* for a session process to report */
#define MCSID_PROXY_MS       90000    /* for a session process to answer */
#define MCSID_EXIT_MS        10000    /* for a logged-out one to exit */
#define MCSID_ADOPT_MS       3000     /* per session process at start */
#define MCSID_CLIENT_BUF     65536u   /* a client's request, at most */

/* What an epoll event points at: the first member of each object. */
enum src_kind { SRC_SIGNAL, SRC_LISTEN, SRC_CLIENT, SRC_LAUNCH, SRC_PIDFD,
		SRC_PROXY, SRC_DISC };
struct src {
	enum src_kind kind;
	int fd;
};
#define MCSID_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct mcsid_opts {
	const char *config;            /* --config, or NULL */
	char run_dir[PATH_MAX];
	char sessiond[PATH_MAX];       /* the session program */
	bool allow_uid_set, allow_gid_set;
	uid_t allow_uid;               /* besides root and our euid */
	gid_t allow_gid;
	mode_t socket_mode;            /* 0600; 0660 with allow_gid */
	bool no_auto_login;
};

enum ms_state {
	MS_STARTING,    /* session process launched, login under way */
	MS_UP,          /* logged in, its process serves I/O */
	MS_STOPPING,    /* logout sent to its process */
	MS_BACKOFF,     /* lost or failed; the next login is due at retry_at */
};

struct mclient;

/* One target's session as mcsid sees it. */
struct msess {
	struct msess *next;
	struct src launch;             /* STARTING: fd of the launch channel */
	struct src pidfd;              /* while a process exists, else fd -1 */
	enum ms_state state;
	char target[URL_NAME_MAX + 1];
	struct url_portal portal;      /* the portal in use or to use */
	bool portal_given;             /* named by the user: keep it */
	pid_t pid;
	char socket[108];
	char state_path[PATH_MAX];
	int64_t since;                 /* unix time of the login */
	unsigned nluns;
	bool adopted;
	bool auto_login;               /* started by auto-login: retry until up */
	struct backoff bo;
	int64_t retry_at;              /* BACKOFF: monotonic ms */
	int64_t deadline;              /* STARTING, STOPPING: monotonic ms */
	char last_error[CP_TEXT_MAX + 1];
	struct usock_rbuf rb;          /* the launch answer */
	struct mclient *waiter;        /* a client waiting for the login */
	/* STOPPING: the answer to a logout, held until the process has
	 * exited (or MCSID_EXIT_MS passed: deadline), so that a logout
	 * followed by a login of the same target finds it gone. */
	struct mclient *logout_client;
	char *logout_answer;
	int logout_answer_len;
};

/* A request forwarded to a session process. */
struct proxy {
	struct proxy *next;
	struct src src;
	struct mclient *client;        /* NULL once the client went away */
	struct msess *sess;            /* NULL once the session went away */
	enum cp_op op;
	int64_t deadline;
	struct usock_rbuf rb;
};

enum wait_kind { WAIT_NONE, WAIT_LOGIN, WAIT_PROXY, WAIT_DISCOVERY,
		 WAIT_DISCOVERY_DONE };

struct mclient {
	struct mclient *next;
	struct src src;
	pid_t pid;
	uid_t uid;
	struct usock_rbuf rb;
	enum wait_kind waiting;        /* a reply is pending */
};

struct disc_job {
	struct src src;                /* read end of the child's pipe */
	pid_t pid;                     /* 0 when none runs */
	int pidfd;
	int64_t deadline;
	struct usock_rbuf rb;
	unsigned portals_ok, portals_failed, found, added, changed;
	unsigned isns_ok, isns_failed;   /* iSNS servers */
};

struct mcsid {
	struct mcsid_opts o;
	int epfd;
	struct src sig, listen;
	char sock_path[108];
	char sessions_dir[PATH_MAX];
	char cfg_path[PATH_MAX];
	struct cfg *cfg;
	struct timespec cfg_mtime;
	struct msess *sessions;
	struct mclient *clients;
	struct proxy *proxies;
	struct disc_job disc;
	int64_t disc_next;             /* monotonic ms; 0: not scheduled */
	int64_t disc_last;             /* unix time of the last run, 0: never */
	bool stop;
	char *reply;                   /* CP_FRAME_MAX bytes of scratch */
};

/* ---- mcsid.c ------------------------------------------------------------ */
int mcsid_watch(struct mcsid *d, struct src *s);   /* EPOLLIN */
void mcsid_unwatch(struct mcsid *d, struct src *s);
/* Reloads the configuration when the file changed (force: always).
 * Returns 0 or -errno (the old configuration stays). */
int mcsid_config_refresh(struct mcsid *d, bool force);
uint32_t mcsid_random(void);

/* ---- mcsid_ctl.c: the control socket (cli_: its clients) -------------------------------------- */
void cli_accept(struct mcsid *d);
void cli_readable(struct mcsid *d, struct mclient *c);
/* Sends a reply (len bytes of d->reply or another buffer) and marks the
 * client idle again. */
void cli_reply(struct mcsid *d, struct mclient *c, const char *buf, int len);
void cli_reply_error(struct mcsid *d, struct mclient *c, int err, const char *msg);
/* For replies that complete later (login, proxy, discovery): replies and
 * then serves requests the client queued meanwhile. c may be freed. */
void cli_reply_async(struct mcsid *d, struct mclient *c, const char *buf, int len);
void cli_close(struct mcsid *d, struct mclient *c);
/* The session's record in list replies. */
void cli_sess_json(struct json_w *w, const struct msess *s, int64_t now);

/* ---- mcsid_sess.c: session processes --------------------------------------- */
struct msess *sess_find(struct mcsid *d, const char *target);
/* A new entry in no state yet (the caller sets it). NULL: no memory. */
struct msess *sess_new(struct mcsid *d, const char *target);
/* Starts a login (a new entry, or a BACKOFF one now); waiter (may be
 * NULL) gets the reply when the session process reports. Returns 0, or
 * -errno with msg filled and no reply sent. */
int sess_login(struct mcsid *d, const char *target, const struct url_portal *portal,
	       struct mclient *waiter, bool auto_login, char *msg, size_t cap);
/* Logout: forwards it to the process (reply to c later), or cancels a
 * pending reconnection (replied here). Returns 0, or -errno with msg. */
int sess_logout(struct mcsid *d, struct msess *s, struct mclient *c,
		char *msg, size_t cap);
void sess_launch_readable(struct mcsid *d, struct msess *s);
void sess_exited(struct mcsid *d, struct msess *s);
/* Forwards request r to the session's process; the reply goes to c.
 * Returns 0 or -errno (no reply sent). */
int sess_proxy(struct mcsid *d, struct msess *s, const struct cp_request *r,
	       struct mclient *c);
void proxy_readable(struct mcsid *d, struct proxy *p);
/* Timers: login deadlines, backoff retries, proxy deadlines. Returns the
 * ms until the next one (-1: none). */
int64_t sess_timers(struct mcsid *d, int64_t now);
/* Adopts what a previous mcsid left in sessions_dir. */
void sess_adopt_all(struct mcsid *d);
/* Logs in every auto-login target without a session. */
void sess_auto_login(struct mcsid *d);
/* A client went away: forget it wherever it waits. */
void sess_forget_client(struct mcsid *d, struct mclient *c);
void sess_free_all(struct mcsid *d);
const char *sess_state_name(enum ms_state s);

/* ---- mcsid_disc.c: SendTargets and iSNS discovery ---------------------- */
/* Starts a discovery run now unless one runs or none is configured.
 * Returns 0 (started or already running) or -errno (-ENOENT: nothing to
 * discover). */
int disc_start(struct mcsid *d);
void disc_readable(struct mcsid *d);
int64_t disc_timers(struct mcsid *d, int64_t now);
void disc_stop(struct mcsid *d);

/* ---- mcsid_isns.c (mcsid_isns_none.c without libisns): iSNS queries ------ */

struct disc_result;
/*
 * In the discovery child (it blocks, and sets libisns's global settings):
 * asks the iSNS server "host:port" for the iSCSI targets visible to
 * initiator (our node name, the query's source) and their portals. Fills
 * res as disc_parse_sendtargets() does (res->targets/max_targets and
 * res->addrs/max_addrs set by the caller; counts reset); target names are
 * normalized copies in names (cap bytes, the caller's), the first invalid
 * name raw in res->bad_name (escape it before printing). *no_portal counts
 * targets left out for want of a usable portal. Returns 0 (what fitted
 * when the arrays filled up), or -errno with *why (static text):
 * -EHOSTUNREACH (no answer), -EPROTO (the server refused), -EOPNOTSUPP
 * (built without libisns), -EINVAL, -ENOMEM.
 */
int isns_discover(const char *server, const char *initiator,
		  struct disc_result *res, char *names, size_t cap,
		  size_t *no_portal, const char **why);

/* ---- mcsid_mount.c -------------------------------------------------------- */

struct json_tok;
/* After an auto-login: if the target's configuration says auto-mount,
 * mounts its disk LUNs that hold a filesystem (luns: the token of the
 * session process's "luns" array in json), in a child process. */
void mcsid_automount(struct mcsid *d, const char *target, const char *json,
		     const struct json_tok *t, int luns);

#endif
