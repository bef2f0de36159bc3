/* SPDX-License-Identifier: MIT */
/* A session process's socket: who may talk to it and what it answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastpath/log.h"
#include "proto/text.h"
#include "supervisor/afile.h"
#include "supervisor/daemon/sessiond.h"
#include "supervisor/daemon/sessiond_export.h"
#include "supervisor/usock.h"

int sd_write_state(struct sessiond *d)
{
	struct cp_state st = {
		.pid = d->pid,
		.state = d->lost ? CP_SESS_LOST : CP_SESS_UP,
		.portal = d->launch.portal,
		.since = d->since,
	};
	char buf[2048];

	memcpy(st.target, d->launch.target, sizeof(st.target));
	snprintf(st.socket, sizeof(st.socket), "%s", d->sock_path);
	snprintf(st.error, sizeof(st.error), "%s", d->lost ? d->lost_why : "");
	int len = cp_state_encode(&st, buf, sizeof(buf));
	if (len < 0)
		return len;
	buf[len++] = '\n';
	return afile_write(d->state_path, buf, (size_t)len, 0644);
}

/* FNV-1a over the file's bytes: enough to tell "unchanged" apart. */
static uint64_t conns_hash(const char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
	return h | 1;
}

int sd_write_conns(struct sessiond *d)
{
	struct mcsi_conn_stats cs[16];
	char path[PATH_MAX + 8], *buf = malloc(16384);
	struct json_w w;
	int n = d->s ? mcsi_get_conn_stats(d->s, cs, 16) : 0;

	d->last_conns_ms = usock_now_ms();
	if (!buf)
		return -ENOMEM;
	json_w_init(&w, buf, 16384);
	json_w_arr(&w, NULL);
	for (int i = 0; i < n && i < 16; i++) {
		json_w_obj(&w, NULL);
		json_w_u64(&w, "cid", cs[i].cid);
		json_w_str(&w, "state", mcsi_conn_state_name(cs[i].state));
		json_w_bool(&w, "lead", cs[i].lead);
		json_w_str(&w, "portal", cs[i].portal);
		json_w_u64(&w, "queue", cs[i].queue);
		json_w_u64(&w, "depth", cs[i].depth);
		json_w_u64(&w, "commands", cs[i].commands);
		json_w_u64(&w, "bytes-in", cs[i].bytes_in);
		json_w_u64(&w, "bytes-out", cs[i].bytes_out);
		json_w_u64(&w, "latency-us", cs[i].lat_count ?
			   cs[i].lat_sum_ns / cs[i].lat_count / 1000u : 0);
		/* Last: scripts match the members before it in this order. */
		json_w_bool(&w, "active", cs[i].active);
		json_w_end(&w);
	}
	json_w_end(&w);
	int len = json_w_finish(&w);
	int rc = len;
	uint64_t h = len >= 0 ? conns_hash(buf, (size_t)len) : 0;
	if (len >= 0 && h != d->conns_hash &&
	    snprintf(path, sizeof(path), "%s.conns", d->state_path) < (int)sizeof(path)) {
		rc = afile_write(path, buf, (size_t)len, 0644);
		d->conns_hash = rc < 0 ? 0 : h;
	}
	free(buf);
	return rc < 0 ? rc : 0;
}

int sd_logout(struct sessiond *d)
{
	int rc = 0;

	if (d->exp) {
		d->exp->detach(d->exp_priv, !d->lost);
		d->exp->destroy(d->exp_priv);
		d->exp = NULL;
	}
	if (d->s) {
		rc = mcsi_close(d->s);
		d->s = NULL;
	}
	if (d->sock_path[0])
		unlink(d->sock_path);
	unlink(d->state_path);
	char conns[PATH_MAX + 8];
	if (snprintf(conns, sizeof(conns), "%s.conns", d->state_path) < (int)sizeof(conns))
		unlink(conns);
	return rc;
}

static const struct lunscan_lun *find_lun(const struct sessiond *d, uint32_t lun)
{
	for (size_t i = 0; i < d->nluns; i++)
		if (d->luns[i].lun == lun)
			return &d->luns[i];
	return NULL;
}

static void write_luns(struct sessiond *d, struct json_w *w, const struct cp_request *r)
{
	json_w_arr(w, "luns");
	for (size_t i = 0; i < d->nluns; i++) {
		if (r->has_lun && d->luns[i].lun != r->lun)
			continue;
		json_w_obj(w, NULL);
		sd_lun_json(w, &d->luns[i]);
		if (d->exp)
			d->exp->describe(d->exp_priv, d->luns[i].lun, w);
		json_w_end(w);
	}
	json_w_end(w);
}

static void write_status(struct sessiond *d, struct json_w *w)
{
	struct mcsi_stats st;

	json_w_i64(w, "pid", d->pid);
	json_w_str(w, "target", d->launch.target);
	json_w_str(w, "portal", d->portal);
	json_w_str(w, "state", d->lost ? "lost" : "up");
	json_w_i64(w, "since", d->since);
	json_w_u64(w, "luns", d->nluns);
	json_w_str(w, "export", d->exp ? d->exp->name : "none");
	if (d->s && mcsi_get_stats(d->s, &st) == 0) {
		json_w_obj(w, "stats");
		json_w_u64(w, "commands", st.commands);
		json_w_u64(w, "reads", st.reads);
		json_w_u64(w, "writes", st.writes);
		json_w_u64(w, "bytes-in", st.bytes_in);
		json_w_u64(w, "bytes-out", st.bytes_out);
		json_w_u64(w, "connections", st.connections);
		json_w_str(w, "transport", st.transport ? st.transport : "");
		json_w_end(w);
	}
}

int sd_rescan(struct sessiond *d)
{
	size_t n = 0;
	struct lunscan_lun *fresh = calloc(LUNSCAN_MAX_LUNS, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	int rc = sd_scan(d->s, fresh, LUNSCAN_MAX_LUNS, &n);
	if (rc == 0) {
		memcpy(d->luns, fresh, n * sizeof(*fresh));
		d->nluns = n;
		if (d->exp)
			rc = d->exp->update(d->exp_priv, d->luns, d->nluns);
		log_peer_info(d->who, "rescan: %zu LUNs", n);
	}
	free(fresh);
	return rc;
}

/* Builds the reply to r in d->reply. Returns its length, or -errno for
 * an error reply (with *msg, static, or NULL for strerror). */
static int answer(struct sessiond *d, const struct cp_request *r, bool *ended,
		  const char **msg)
{
	struct json_w w;
	int rc;

	switch (r->op) {
	case CP_OP_STATUS:
	case CP_OP_LIST_SESSIONS:
		cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
		write_status(d, &w);
		break;
	case CP_OP_RESCAN:
		if ((rc = sd_rescan(d)))
			return rc;
		/* Answer with the new list. */
		/* fall through */
	case CP_OP_LIST_LUNS:
		if (r->has_target && strcmp(r->target, d->launch.target) != 0) {
			*msg = "this session process serves another target";
			return -ENOENT;
		}
		cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
		json_w_str(&w, "target", d->launch.target);
		json_w_str(&w, "portal", d->portal);
		json_w_i64(&w, "pid", d->pid);
		write_luns(d, &w, r);
		break;
	case CP_OP_LOGOUT:
		if (strcmp(r->target, d->launch.target) != 0) {
			*msg = "this session process serves another target";
			return -ENOENT;
		}
		log_peer_info(d->who, "logging out");
		rc = sd_logout(d);
		*ended = true;
		if (rc && rc != -ENOTCONN) {
			*msg = "the target did not acknowledge the logout";
			return rc;
		}
		cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
		break;
	case CP_OP_IO: {
		const struct lunscan_lun *l = find_lun(d, r->lun);
		bool match;
		uint64_t bad;
		if (!l) {
			*msg = "no such LUN";
			return -ENOENT;
		}
		rc = sd_io_check(d->s, l, r->lba, r->blocks, r->seed, r->write, &match, &bad);
		if (rc)
			return rc;
		cp_reply_ok_begin(&w, d->reply, CP_FRAME_MAX);
		json_w_bool(&w, "match", match);
		if (!match)
			json_w_u64(&w, "mismatch-lba", bad);
		json_w_u64(&w, "bytes", (uint64_t)r->blocks * l->block_size);
		break;
	}
	default:
		*msg = "not a request for a session process";
		return -EOPNOTSUPP;
	}
	json_w_end(&w);
	return json_w_finish(&w);
}

int sd_serve(struct sessiond *d, int fd)
{
	char req[4096];
	size_t len = 0;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const char *why = NULL, *msg = NULL;
	struct cp_request r;
	bool ended = false;
	int n;

	if (usock_peer(fd, &pid, &uid, &gid) < 0)
		return 0;
	if (uid != 0 && uid != geteuid()) {
		log_peer_warn(d->who, "refused a connection from pid %d uid %u", (int)pid,
			      (unsigned)uid);
		n = cp_reply_error(d->reply, CP_FRAME_MAX, -EACCES,
				   "permission denied: only root may use a session socket");
		if (n > 0)
			usock_send_frame(fd, d->reply, (size_t)n, SD_REQ_TIMEOUT_MS);
		return 0;
	}
	n = usock_recv_frame(fd, req, sizeof(req), &len, SD_REQ_TIMEOUT_MS);
	if (n < 0)
		return 0;
	if (cp_request_decode(req, len, &r, &why) < 0) {
		char esc[128];
		log_peer_warn(d->who, "bad request from pid %d: %s (%s)", (int)pid, why,
			      text_escape(esc, sizeof(esc), req, len < 60 ? len : 60));
		n = cp_reply_error(d->reply, CP_FRAME_MAX, -EPROTO, why);
	} else {
		n = answer(d, &r, &ended, &msg);
		if (n < 0)
			n = cp_reply_error(d->reply, CP_FRAME_MAX, n, msg);
	}
	if (n > 0)
		usock_send_frame(fd, d->reply, (size_t)n, SD_REQ_TIMEOUT_MS);
	return ended ? 1 : 0;
}
