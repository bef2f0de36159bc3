/* SPDX-License-Identifier: MIT */
/*
 * Adoption: a restarted mcsid finds the session processes its
 * predecessor started (each left <pid>.json and <pid>.sock in the
 * sessions directory), checks that each is alive and is what its state
 * file says, and takes it over. Files of processes that are gone are
 * removed; their targets come back by reconnection when persistent.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "supervisor/daemon/dutil.h"
#include "supervisor/daemon/mcsid.h"

/* Removes a dead session's files; the socket only when it is ours. */
static void remove_files(struct mcsid *d, const char *state_path, const struct cp_state *st)
{
	size_t n = strlen(d->sessions_dir);
	unlink(state_path);
	if (strncmp(st->socket, d->sessions_dir, n) == 0 && st->socket[n] == '/' &&
	    !strchr(st->socket + n + 1, '/'))
		unlink(st->socket);
}

/* True if the process is a session process (its name), so that a pid
 * reused by something else is not mistaken for a hung session. */
static bool is_sessiond(pid_t pid)
{
	char path[64], comm[32];
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (du_read_file(path, comm, sizeof(comm), &len))
		return false;
	return strncmp(comm, "mcsi-sessiond", 13) == 0;
}

/* Asks the process for its status over its socket and checks that the
 * answer (and the kernel's idea of the peer) match the state file.
 * Returns 0 with *nluns, or -errno. */
static int verify(struct mcsid *d, const struct cp_state *st, unsigned *nluns)
{
	struct cp_request r = { .op = CP_OP_STATUS };
	char req[256];
	struct json_tok t[64];
	struct cp_reply rep;
	const char *why;
	char target[URL_NAME_MAX + 1];
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint64_t v = 0;
	size_t len;
	int fd, rc;

	if ((rc = usock_connect(st->socket, &fd)))
		return rc;
	rc = usock_peer(fd, &pid, &uid, &gid);
	if (rc == 0 && (pid != st->pid || (uid != 0 && uid != geteuid())))
		rc = -ESTALE;
	int n = cp_request_encode(&r, req, sizeof(req));
	if (rc == 0)
		rc = n < 0 ? n : usock_send_frame(fd, req, (size_t)n, MCSID_ADOPT_MS);
	if (rc == 0)
		rc = usock_recv_frame(fd, d->reply, CP_FRAME_MAX, &len, MCSID_ADOPT_MS);
	close(fd);
	if (rc)
		return rc;
	if (cp_reply_parse(d->reply, len, t, 64, &rep, &why) || !rep.ok ||
	    json_get_str(d->reply, t, 0, "target", target, sizeof(target)) ||
	    strcmp(target, st->target) != 0 ||
	    json_get_u64(d->reply, t, 0, "pid", INT32_MAX, &v) || v != (uint64_t)st->pid)
		return -ESTALE;
	v = 0;
	json_get_u64(d->reply, t, 0, "luns", UINT32_MAX, &v);
	*nluns = (unsigned)v;
	return 0;
}

static void gone(struct mcsid *d, const char *path, const struct cp_state *st,
		 const char *why)
{
	log_peer_warn(st->target, "session process %d is gone (%s)", (int)st->pid, why);
	remove_files(d, path, st);
	mcsid_config_refresh(d, false);
	const struct cfg_target *ct = cfg_target_find(d->cfg, st->target);
	if (!ct || !ct->persistent || sess_find(d, st->target))
		return;
	/* Persistent: it comes back through the usual reconnection. */
	struct msess *s = sess_new(d, st->target);
	if (!s)
		return;
	s->portal = st->portal;
	s->portal_given = ct->portals.n == 0;
	s->state = MS_BACKOFF;
	s->retry_at = usock_now_ms();
	snprintf(s->last_error, sizeof(s->last_error), "%s",
		 st->error[0] ? st->error : why);
}

static void adopt_one(struct mcsid *d, const char *path, const struct cp_state *st)
{
	unsigned nluns = 0;
	int pfd = pidfd_open(st->pid, 0);
	int rc;

	if (pfd < 0) {
		gone(d, path, st, st->state == CP_SESS_LOST ? "lost" : "exited");
		return;
	}
	if (st->state == CP_SESS_LOST) {
		/* It is on its way out; its exit needs no watching. */
		close(pfd);
		gone(d, path, st, "lost");
		return;
	}
	if (sess_find(d, st->target)) {
		log_peer_warn(st->target, "a second session process (%d); not adopted",
			      (int)st->pid);
		close(pfd);
		return;
	}
	if ((rc = verify(d, st, &nluns))) {
		close(pfd);
		if (is_sessiond(st->pid)) {
			log_peer_err(st->target, "session process %d does not answer (%s); "
				     "not adopted", (int)st->pid, strerror(-rc));
			return;
		}
		gone(d, path, st, "its pid now belongs to another process");
		return;
	}
	struct msess *s = sess_new(d, st->target);
	if (!s) {
		close(pfd);
		return;
	}
	s->state = MS_UP;
	s->pid = st->pid;
	s->portal = st->portal;
	const struct cfg_target *ct = cfg_target_find(d->cfg, st->target);
	s->portal_given = !ct || ct->portals.n == 0;
	snprintf(s->socket, sizeof(s->socket), "%s", st->socket);
	snprintf(s->state_path, sizeof(s->state_path), "%s", path);
	s->since = st->since;
	s->nluns = nluns;
	s->adopted = true;
	s->pidfd.fd = pfd;
	if (mcsid_watch(d, &s->pidfd)) {
		log_peer_err(st->target, "cannot watch session process %d", (int)st->pid);
		return;
	}
	log_peer_info(st->target, "adopted session process %d (%u LUNs)", (int)st->pid,
		      nluns);
}

void sess_adopt_all(struct mcsid *d)
{
	DIR *dir = opendir(d->sessions_dir);
	struct dirent *e;

	if (!dir) {
		log_warn("%s: %s", d->sessions_dir, strerror(errno));
		return;
	}
	while ((e = readdir(dir))) {
		char path[PATH_MAX], buf[4096], name[32];
		struct cp_state st;
		const char *why = NULL;
		size_t len;
		size_t n = strlen(e->d_name);

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		if (du_path(path, sizeof(path), d->sessions_dir, e->d_name) ||
		    du_read_file(path, buf, sizeof(buf), &len))
			continue;
		if (cp_state_decode(buf, len, &st, &why)) {
			log_warn("%s: %s; removed", path, why);
			unlink(path);
			continue;
		}
		snprintf(name, sizeof(name), "%d.json", (int)st.pid);
		if (strcmp(name, e->d_name) != 0) {
			log_warn("%s: names pid %d; removed", path, (int)st.pid);
			unlink(path);
			continue;
		}
		adopt_one(d, path, &st);
	}
	closedir(dir);
}
