/* SPDX-License-Identifier: MIT */
/*
 * mcsi-sessiond: the data-plane process of one session. mcsid starts it
 * (fork + exec, in a session of its own), sends it the launch message on
 * an inherited socket (fd 3), and from then on it lives on its own: it
 * holds the mcsi session (include/mcsi/mcsi.h, the public API only), the
 * kernel export of its LUNs (sessiond_export.h), a UNIX socket and a
 * state file under <run-dir>/sessions/, and keeps serving I/O whether or
 * not mcsid runs. See docs/design/supervisor.md.
 */
#ifndef MCSI_SUPERVISOR_DAEMON_SESSIOND_H
#define MCSI_SUPERVISOR_DAEMON_SESSIOND_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mcsi/mcsi.h"
#include "proto/lunscan.h"
#include "supervisor/ctlproto.h"
#include "supervisor/json.h"

#define LUNSCAN_MAX_LUNS       256u
#define SD_HEALTH_MS      30000    /* TEST UNIT READY when idle this long */
#define SD_REQ_TIMEOUT_MS 5000

/* What the scan learnt about one LUN; strings are printable. */
struct sd_export_ops;

struct sessiond {
	pid_t pid;
	char who[URL_NAME_MAX + 40];      /* log prefix: "session[pid] iqn" */
	char run_dir[PATH_MAX];
	char sock_path[108];
	char state_path[PATH_MAX];
	struct cp_launch launch;          /* no secrets: those are gone */
	char portal[URL_PORTAL_STRMAX];
	int64_t since;                    /* unix time of the login */
	mcsi_session *s;
	struct lunscan_lun *luns;              /* LUNSCAN_MAX_LUNS entries */
	size_t nluns;
	int epfd, sigfd, lfd, evfd;
	int64_t last_check_ms;
	bool lost;
	char lost_why[CP_TEXT_MAX + 1];
	const struct sd_export_ops *exp;
	void *exp_priv;
	int64_t last_poll_ms;             /* the export's last poll */
	int64_t last_conns_ms;            /* the connections file, checked */
	uint64_t conns_hash;              /* ... and what it holds (0: none) */
	atomic_bool poll_due;             /* set by the reactor: SCSI event */
	/* The library is reinstating the session (MCSI_EV_SESSION_LOST until
	 * _REINSTATED or _FAILED): the health check does not ping, which
	 * would wait for the reinstatement. */
	atomic_bool recovering;
	char *reply;                      /* CP_FRAME_MAX bytes */
};

#define SD_CONNS_MS       1000     /* connections file refresh */

/* Writes the session's connections (MC/S: CID, state, queue, portal,
 * counters from mcsi_get_conn_stats()) as a JSON array to
 * "<state_path>.conns", which mcsid's list sessions shows. Called every
 * SD_CONNS_MS; the file is rewritten only when its content changed (an
 * idle session writes nothing). Returns 0 or -errno. (sessiond_req.c) */
int sd_write_conns(struct sessiond *d);

/* ---- sessiond_scan.c: LUNs over the public API ------------------------- */

/* REPORT LUNS (LUN 0 alone when the target does not support it), then per
 * LUN: INQUIRY, VPD 0x80 and 0x83, READ CAPACITY. Fills out[0..*n).
 * Returns 0 or the session's -errno (-ENOTCONN, ...). */
int sd_scan(mcsi_session *s, struct lunscan_lun *out, size_t max, size_t *n);
/* TEST UNIT READY: 0 when the target answered at all (any SCSI status),
 * else the transport's -errno. */
int sd_ping(mcsi_session *s, uint32_t lun);
/* The data check behind the "io" request: with write, fills blocks from
 * lba with a pattern derived from (seed, lun, lba) and writes it; without,
 * reads them back and compares. *match, *bad_lba (first mismatch).
 * Returns 0 (the I/O worked; see *match) or -errno. */
int sd_io_check(mcsi_session *s, const struct lunscan_lun *l, uint64_t lba,
		uint32_t blocks, uint32_t seed, bool write, bool *match,
		uint64_t *bad_lba);
/* Adds the LUN's members to the object being written. */
void sd_lun_json(struct json_w *w, const struct lunscan_lun *l);

/* ---- sessiond_req.c: the session socket -------------------------------- */

/* Serves one connection on the session socket: checks the peer (root or
 * our own uid), reads one request, answers it. Returns 1 when the request
 * ended the session (logout), else 0. */
int sd_serve(struct sessiond *d, int fd);
/* Scans the LUNs again and hands the new list to the export. Returns 0
 * or -errno. */
int sd_rescan(struct sessiond *d);
/* Logs out (export detached first), removes the socket and state file.
 * Returns the logout's 0 / -errno. */
int sd_logout(struct sessiond *d);
/* Writes the state file (atomically). Returns 0 or -errno. */
int sd_write_state(struct sessiond *d);

#endif
