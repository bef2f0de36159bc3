/* SPDX-License-Identifier: MIT */
/*
 * mcsi: a userspace iSCSI initiator (RFC 7143). The public API.
 *
 * A session (opaque mcsi_session) is one iSCSI session to one target. I/O
 * is asynchronous at the core: the caller owns a struct mcsi_cmd, fills it
 * (mcsi_prep_*()), submits it, and gets it back through its done callback
 * with the outcome in cmd->res. The blocking calls (mcsi_read() ...) are a
 * thin layer over the same path.
 *
 * Who runs the callbacks: with opts.queues >= 1 (the default) mcsi runs
 * that many reactor threads, each owning its connections, and callbacks run
 * on them: keep them short; submitting from a callback is allowed. With
 * opts.queues == 0 nothing runs in the background: the application polls
 * mcsi_get_fd() for mcsi_which_events() (or waits mcsi_next_timeout() ms)
 * and calls mcsi_service(), which runs the callbacks in its thread, like
 * libiscsi's event-loop API.
 *
 * Errors: every function returns 0 (or a count) or a negative errno. For a
 * command, the transport outcome is cmd->res.err, and the iSCSI and SCSI
 * outcome are the separate fields of struct mcsi_result:
 *   0            SCSI status GOOD
 *   -EIO         the target answered with another status (res.status,
 *                sense in res.sense), or iSCSI response "target failure"
 *   -ETIMEDOUT   no answer within the command timeout; the task was aborted;
 *                or the session was not reinstated within
 *                opts.replacement_timeout_ms
 *   -ECANCELED   aborted by a task management function, by mcsi_close(),
 *                or by a logout the target asked for before it was answered
 *   -ECONNRESET  the connection carrying the command was lost (and the
 *                session is not reinstated, or the command was outstanding
 *                across too many losses)
 *   -EPROTO      the target broke the protocol; its connection was closed
 *                (mcsi_last_error() names the defect)
 *   -ENOTCONN    the session is not (or no longer) logged in
 *   -EINVAL      the command is malformed (checked at submission)
 *   -EOPNOTSUPP  the target rejected the command as unsupported
 * Data buffers stay borrowed from submission until the done callback, for
 * writes as for reads. Written data is never copied (it is sent from the
 * caller's buffers); read data is received into the caller's buffers,
 * except for the small Data-In segments that arrive in the receive
 * read-ahead (see mcsi_opts.rx_readahead), which are copied once.
 */
#ifndef MCSI_MCSI_H
#define MCSI_MCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mcsi/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mcsi_session mcsi_session;
struct mcsi_cmd;

/* ---- events ------------------------------------------------------------ */

enum mcsi_event_type {
	MCSI_EV_SCSI_EVENT = 1,     /* target's asynchronous SCSI event, or a
				     * UNIT ATTENTION mcsi retried for the
				     * caller (sense, lun): e.g. REPORTED LUNS
				     * DATA or CAPACITY DATA HAS CHANGED */
	MCSI_EV_LOGOUT_REQUESTED,   /* target asks for a logout within param[2]
				     * s: mcsi stops sending on that connection
				     * and logs it out when its commands are
				     * done (the session, if it was the last) */
	MCSI_EV_CONN_DROP,          /* target will drop a connection */
	MCSI_EV_SESSION_DROP,       /* target will drop the whole session */
	MCSI_EV_RENEGOTIATE,        /* target asks for parameter renegotiation:
				     * mcsi runs the Text exchange itself */
	MCSI_EV_CONN_FAILED,        /* a connection was closed: err, reason */
	MCSI_EV_REJECT,             /* target rejected a PDU: code = reason */
	MCSI_EV_SESSION_LOST,       /* the last connection is gone: commands
				     * are held while mcsi reinstates the
				     * session (err: the connection's) */
	MCSI_EV_SESSION_REINSTATED, /* logged in again; held commands were
				     * issued again; param[0]: ms since lost */
	MCSI_EV_SESSION_FAILED,     /* not reinstated (replacement timeout,
				     * login refused), or (no reinstatement)
				     * connection cid failed at ERL 0 and the
				     * session with it: err; held commands
				     * failed, new ones get -ENOTCONN */
	MCSI_EV_CONN_ADDED,         /* MC/S: connection cid joined the session */
	MCSI_EV_CONN_REMOVED,       /* MC/S: connection cid logged out alone */
	MCSI_EV_CONN_RECOVERED,     /* ERL 2: failed connection cid was cleaned
				     * up and its commands moved on, nothing
				     * failed: param[0] ms from the loss,
				     * param[1] commands reassigned (TASK
				     * REASSIGN), param[2] retried or
				     * re-issued; code 1: by reinstating the
				     * CID, 2: by a Logout from a survivor */
};

struct mcsi_event {
	enum mcsi_event_type type;
	uint16_t cid;               /* connection concerned */
	uint32_t lun;
	int err;                    /* MCSI_EV_CONN_FAILED: -errno */
	unsigned code;              /* reject reason, async vendor code */
	unsigned param[3];          /* async parameters (time2wait, ...) */
	const char *reason;         /* static text or NULL */
	const uint8_t *sense;       /* MCSI_EV_SCSI_EVENT: borrowed */
	size_t sense_len;
};

/* Called on a reactor thread (or in mcsi_service()). ev is borrowed for
 * the call. */
typedef void (*mcsi_event_fn)(mcsi_session *s, const struct mcsi_event *ev,
			      void *priv);
/* level: 3 error, 4 warning, 6 info, 7 debug (syslog numbers). msg has no
 * newline; every peer-supplied string in it is already escaped. */
typedef void (*mcsi_log_fn)(void *priv, int level, const char *msg);

/* ---- options ----------------------------------------------------------- */

struct mcsi_opts {
	size_t size;                /* sizeof(struct mcsi_opts) */
	const char *initiator_name; /* IQN; NULL: iqn.2024-01.org.mcsi:<host> */
	const char *transport;      /* "io_uring", "epoll", NULL: best */
	unsigned queues;            /* reactor threads; 0: application-driven */
	/* Connections per session (1): MC/S. The leading login offers this
	 * as MaxConnections; then as many non-leading logins as the target
	 * allows join the session over the portals of its portal group
	 * (fewer when the target refuses one: logged, not an error). Each
	 * queue gets its share of them (queues beyond connections are not
	 * started). */
	unsigned connections;
	unsigned queue_depth;       /* commands in flight per queue (128) */
	unsigned cmd_timeout_ms;    /* per command (30000); 0: none */
	unsigned nop_interval_ms;   /* idle time before a NOP-Out ping (5000); 0: off */
	unsigned nop_timeout_ms;    /* ping answer deadline (5000) */
	unsigned ua_retries;        /* UNIT ATTENTION retries (3) */
	/* Bytes one receive may read beyond the PDU at hand (262144). What
	 * arrives is parsed in place, so many small PDUs cost one system
	 * call; the part of a read's data found there is copied to the
	 * caller's buffer, while a data segment longer than 16 KiB is
	 * received into it directly. 0: read one header at a time and never
	 * copy data (one system call per PDU). */
	unsigned rx_readahead;
	/* Receive coalescing (io_uring): with at least 8 commands in flight
	 * on a connection, the next receive waits until about half of them
	 * should be answered (steered by what the previous receives found),
	 * at most this many microseconds (500), so that one wake-up and one
	 * system call serve many responses. It only holds responses back
	 * while the target has work queued. 0: receive at once. */
	unsigned coalesce_us;
	/* Large writes (64 KiB and more per send) leave from the caller's
	 * pages without a copy (io_uring send_zc) where the kernel offers
	 * it; not to loopback peers, which the kernel copies anyway (true). */
	bool zerocopy_send;
	/* MaxOutstandingR2T offered (16; 1..16: R2Ts tracked per command;
	 * always 1 at ErrorRecoveryLevel >= 1). */
	unsigned max_outstanding_r2t;
	/* ErrorRecoveryLevel offered (2: the highest the target accepts;
	 * more than 2: -EINVAL). At ERL 1 and above a digest error is
	 * recovered within the connection (SNACK, recovery R2T) and
	 * MaxOutstandingR2T is offered as 1 (RFC 7143 13.19); a connection
	 * lost at any level falls back to session reinstatement
	 * (replacement_timeout_ms) where nothing finer is possible. */
	unsigned error_recovery_level;
	bool header_digest;         /* ask for CRC32C header digests */
	bool data_digest;           /* ask for CRC32C data digests */
	const char *chap_user;      /* CHAP, or NULL for none */
	const char *chap_secret;
	const char *chap_target_user;   /* mutual CHAP, or NULL */
	const char *chap_target_secret;
	mcsi_event_fn event;
	void *event_priv;
	mcsi_log_fn log;            /* NULL: errors and warnings to stderr */
	void *log_priv;
	/* Session reinstatement (120000 ms, as open-iscsi's replacement
	 * timeout): when the session loses its connection(s) to a transport
	 * failure (not to a protocol violation by the target), commands are
	 * held, mcsi logs in again after DefaultTime2Wait with the same ISID
	 * (retrying with back-off) and issues every held command again as a
	 * new one. A command outstanding across more than 3 losses in a row
	 * fails with the connection's error. Past this many ms without a new
	 * login the held commands fail with -ETIMEDOUT, new ones with
	 * -ENOTCONN, and the session stays failed. 0: fail at once (no
	 * reinstatement). Callers built with an older struct (size up to
	 * log_priv) get the default. */
	unsigned replacement_timeout_ms;
	/* MC/S: which connection a new command goes to: "adaptive" (NULL,
	 * the default: least queue depth over the first k connections, k
	 * chosen by measuring completions and latency, starting at 1: more
	 * connections only where the target gains from them; the others stay
	 * logged in for failover), "least-queue-depth" (every connection:
	 * the submitter's own queue unless another connection is less busy
	 * by more than 2 commands), "round-robin", "failover-only",
	 * "weighted-paths". Unknown names: -EINVAL. */
	const char *sched_policy;
	/* ErrorRecoveryLevel 2: how a failed connection is cleaned up before
	 * its commands are reassigned (TASK REASSIGN) to a live connection:
	 * MCSI_ERL2_REINSTATE (default: the same CID logs in again on a new
	 * TCP connection, which also restores the connection count) or
	 * MCSI_ERL2_LOGOUT (Logout reason 2 for the CID from a surviving
	 * connection of the same queue), or MCSI_ERL2_CLOSE (Logout reason 1
	 * from a survivor of the same queue, then the commands are retried or
	 * issued again, never reassigned: LIO 6.1 crashes when it frees a
	 * reassigned command). Without a survivor on the queue the CID is
	 * reinstated (MCSI_ERL2_CLOSE: the session is reinstated). */
	unsigned erl2_cleanup;
	/* MC/S: more portals of the target ("host[:port],host[:port]",
	 * borrowed for mcsi_open()), for the further connections, before
	 * those of its portal group from SendTargets (which may not list
	 * them all: tgt answers an IPv4 connection with its IPv4 portals
	 * only). NULL: SendTargets' only. A malformed item: -EINVAL. */
	const char *portals;
	/* DefaultTime2Wait and DefaultTime2Retain offered, in seconds (0:
	 * the RFC's 2 and 20; more than 3600: -EINVAL). The outcome is the
	 * higher Time2Wait and the lower Time2Retain of the two sides (RFC
	 * 7143 13.15, 13.16): a longer wait before a reinstatement or a
	 * connection cleanup, a shorter time the target keeps a failed
	 * connection's tasks. LIO 6.1 needs Time2Wait 5 for a
	 * multi-connection session reinstatement (docs/design/recovery.md
	 * section 9). */
	unsigned time2wait_s, time2retain_s;
	/* Known target defects (mcs/quirks.h): MCSI_QUIRKS_AUTO (0, the
	 * default) offers what keeps such a target up (LIO, named
	 * iqn.2003-01.org.linux-iscsi.*: ErrorRecoveryLevel 1 at most, and
	 * with several connections DefaultTime2Wait 5 unless set above), and
	 * logs it; MCSI_QUIRKS_OFF offers exactly what is asked. */
	unsigned quirks;
};

#define MCSI_QUIRKS_AUTO 0u
#define MCSI_QUIRKS_OFF  1u

enum { MCSI_ERL2_REINSTATE = 0, MCSI_ERL2_LOGOUT = 1, MCSI_ERL2_CLOSE = 2 };

/* Fills o with the defaults given above. */
MCSI_API void mcsi_opts_init(struct mcsi_opts *o);

/* ---- sessions ---------------------------------------------------------- */

/* Logs in to url "iscsi://[user[%password]@]host[:port]/<target-iqn>[/<lun>]"
 * and starts the data path. opts is borrowed for the call (strings are
 * copied); NULL means defaults. On success *out is a new session the caller
 * owns (release with mcsi_close()). Returns 0, -EINVAL (bad URL or options),
 * -ENOENT (name does not resolve), -ECONNREFUSED, -ETIMEDOUT, -EACCES
 * (authentication failed), -EPROTO (the target broke the login protocol),
 * -ENOSYS (no login layer linked in this build), -EOPNOTSUPP (an option
 * this build cannot honour), or another -errno. */
MCSI_API int mcsi_open(const char *url, const struct mcsi_opts *opts,
		       mcsi_session **out);

/* Waits for commands in flight (also while the session is being
 * reinstated), logs out cleanly and frees the session;
 * queued commands that never reached the target complete with -ECANCELED.
 * Must not be called from a callback. Returns 0, or the logout's -errno
 * (the session is freed either way). NULL is a no-op. */
MCSI_API int mcsi_close(mcsi_session *s);

/* The LUN given in the URL (0 if none). */
MCSI_API uint32_t mcsi_default_lun(const mcsi_session *s);

/* The last connection or session error as text ("" if none). The string
 * stays valid until the next error or mcsi_close(). */
MCSI_API const char *mcsi_last_error(mcsi_session *s);

/* ---- commands ---------------------------------------------------------- */

#define MCSI_CDB_MAX    32u
#define MCSI_SENSE_MAX  252u

enum mcsi_dir {
	MCSI_DIR_NONE = 0, MCSI_DIR_READ = 1, MCSI_DIR_WRITE = 2, MCSI_DIR_BIDI = 3,
};

/* struct mcsi_result.flags */
#define MCSI_RES_UNDERFLOW       0x01u   /* fewer bytes than expected */
#define MCSI_RES_OVERFLOW        0x02u   /* target had more than asked */
#define MCSI_RES_BIDI_UNDERFLOW  0x04u
#define MCSI_RES_BIDI_OVERFLOW   0x08u

struct mcsi_result {
	int err;                    /* see the table at the top */
	uint8_t response;           /* iSCSI response: 0 completed at target */
	uint8_t status;             /* SCSI status byte (0 GOOD, 2 CHECK CONDITION) */
	uint8_t flags;              /* MCSI_RES_* */
	uint8_t sense_key, asc, ascq;   /* decoded sense, 0 when none */
	uint16_t sense_len;
	uint32_t residual;          /* Data-In / Data-Out residual count */
	uint32_t bidi_residual;     /* read residual of a bidirectional command */
	uint32_t data_in;           /* bytes of Data-In placed in the buffers */
	uint8_t sense[MCSI_SENSE_MAX];
};

typedef void (*mcsi_cmd_fn)(struct mcsi_cmd *cmd, void *priv);

/* struct mcsi_cmd.flags */
#define MCSI_CMD_NO_UA_RETRY  0x01u     /* return UNIT ATTENTION to the caller */

/* A command, owned by the caller. From mcsi_submit() until its done
 * callback starts, mcsi owns it (and borrows the iovec arrays and the
 * buffers they point to): do not touch, move or free any of them. */
struct mcsi_cmd {
	uint32_t lun;
	uint8_t cdb[MCSI_CDB_MAX];  /* more than 16 bytes go in an AHS */
	uint8_t cdb_len;
	uint8_t dir;                /* enum mcsi_dir */
	uint8_t attr;               /* SAM task attribute: 1 SIMPLE (default) */
	uint8_t flags;              /* MCSI_CMD_* */
	const struct iovec *iov;    /* write: data out; read: buffers to fill */
	int iovcnt;
	uint32_t len;               /* bytes of iov used: the expected length */
	const struct iovec *bidi_iov;   /* bidirectional: the read buffers */
	int bidi_iovcnt;
	uint32_t bidi_len;
	uint32_t timeout_ms;        /* 0: the session's default */
	int queue;                  /* reactor to use; -1: the caller's CPU's */
	mcsi_cmd_fn done;           /* required */
	void *priv;
	struct mcsi_result res;     /* valid in and after the done callback */
	uint64_t internal[6];       /* mcsi's, while submitted */
};

/* Prepare a command (the whole struct is reset: set done/priv after).
 * The expected length is the sum of the iovec lengths; nblocks is the
 * transfer length in the CDB, so iov must hold nblocks * block size bytes.
 * READ/WRITE(10) are used when the LBA and count fit, else (16). */
MCSI_API void mcsi_prep_read(struct mcsi_cmd *c, uint32_t lun, uint64_t lba,
			     uint32_t nblocks, const struct iovec *iov, int iovcnt);
MCSI_API void mcsi_prep_write(struct mcsi_cmd *c, uint32_t lun, uint64_t lba,
			      uint32_t nblocks, const struct iovec *iov, int iovcnt);
/* SYNCHRONIZE CACHE(10) over the whole LUN. */
MCSI_API void mcsi_prep_flush(struct mcsi_cmd *c, uint32_t lun);
/* UNMAP of one extent. param is a caller buffer of 24 bytes that holds the
 * parameter list until completion (written here); one iovec in iov_store. */
MCSI_API void mcsi_prep_unmap(struct mcsi_cmd *c, uint32_t lun, uint64_t lba,
			      uint32_t nblocks, uint8_t param[24],
			      struct iovec *iov_store);
/* Any CDB (1..32 bytes), data in the given direction. Returns 0 or -EINVAL. */
MCSI_API int mcsi_prep_cdb(struct mcsi_cmd *c, uint32_t lun, const uint8_t *cdb,
			   size_t cdb_len, enum mcsi_dir dir,
			   const struct iovec *iov, int iovcnt);

/* Queues c. Returns 0: done will be called exactly once (possibly before
 * mcsi_submit() returns, on another thread). While the session is being
 * reinstated, c waits. Returns -EINVAL (malformed: no done callback,
 * lengths, direction) or -ENOTCONN (session closing or failed) without
 * calling done. Any thread. */
MCSI_API int mcsi_submit(mcsi_session *s, struct mcsi_cmd *c);

/* ---- blocking calls ----------------------------------------------------
 * Each returns cmd.res.err (0 or -errno, table above) and copies the
 * result into *res when res is not NULL. They must not be called from a
 * callback. With opts.queues == 0 they drive mcsi_service() themselves. */
MCSI_API int mcsi_read(mcsi_session *s, uint32_t lun, uint64_t lba,
		       uint32_t nblocks, void *buf, size_t len,
		       struct mcsi_result *res);
MCSI_API int mcsi_write(mcsi_session *s, uint32_t lun, uint64_t lba,
			uint32_t nblocks, const void *buf, size_t len,
			struct mcsi_result *res);
MCSI_API int mcsi_readv(mcsi_session *s, uint32_t lun, uint64_t lba,
			uint32_t nblocks, const struct iovec *iov, int iovcnt,
			struct mcsi_result *res);
MCSI_API int mcsi_writev(mcsi_session *s, uint32_t lun, uint64_t lba,
			 uint32_t nblocks, const struct iovec *iov, int iovcnt,
			 struct mcsi_result *res);
MCSI_API int mcsi_flush(mcsi_session *s, uint32_t lun, struct mcsi_result *res);
MCSI_API int mcsi_unmap(mcsi_session *s, uint32_t lun, uint64_t lba,
			uint32_t nblocks, struct mcsi_result *res);
/* Raw CDB pass-through; UNIT ATTENTION is returned, not retried. */
MCSI_API int mcsi_scsi(mcsi_session *s, uint32_t lun, const uint8_t *cdb,
		       size_t cdb_len, enum mcsi_dir dir, const struct iovec *iov,
		       int iovcnt, struct mcsi_result *res);
/* Runs c (prepared by the caller; done and priv are overwritten) and
 * waits for it. */
MCSI_API int mcsi_run(mcsi_session *s, struct mcsi_cmd *c);
/* READ CAPACITY(16): number of blocks and block size. */
MCSI_API int mcsi_read_capacity(mcsi_session *s, uint32_t lun,
				uint64_t *blocks, uint32_t *block_size);

/* ---- task management (blocking) ----------------------------------------
 * Return 0 when the target reports the function complete, -ENOENT (task
 * or LUN unknown to the target), -EOPNOTSUPP, -EPERM (not authorized),
 * -ETIMEDOUT, or -ENOTCONN. Aborted commands complete with -ECANCELED. */
/* cmd must be in flight on s. */
MCSI_API int mcsi_abort_task(mcsi_session *s, struct mcsi_cmd *cmd);
MCSI_API int mcsi_abort_task_set(mcsi_session *s, uint32_t lun);
MCSI_API int mcsi_lun_reset(mcsi_session *s, uint32_t lun);
MCSI_API int mcsi_target_warm_reset(mcsi_session *s);

/* ---- application event loop (opts.queues == 0) -------------------------
 * Poll mcsi_get_fd() for mcsi_which_events() with a timeout of
 * mcsi_next_timeout() ms, then call mcsi_service() (whether or not the fd
 * was ready). With reactor threads these return -EINVAL. */
MCSI_API int mcsi_get_fd(mcsi_session *s);
MCSI_API int mcsi_which_events(mcsi_session *s);      /* POLLIN */
MCSI_API int mcsi_next_timeout(mcsi_session *s);      /* ms, -1: none */
/* Moves I/O forward without sleeping and runs due callbacks and timers.
 * Returns the number of completions, or -errno if the session failed. */
MCSI_API int mcsi_service(mcsi_session *s);

/* ---- statistics -------------------------------------------------------- */

struct mcsi_stats {
	uint64_t commands, reads, writes;
	uint64_t bytes_in, bytes_out;       /* payload */
	uint64_t pdus_in, pdus_out;
	uint64_t syscalls_send, syscalls_recv;  /* or SQEs with io_uring */
	uint64_t r2ts, nops_out, nops_in, retries, timeouts;
	unsigned connections, queues;
	const char *transport;              /* static */
};

/* Sums the counters of every connection, removed ones included (each
 * queue publishes its own sums on request, mcs/rstat.h: no lock on the
 * I/O path, no reads of another thread's connections). Waits up to
 * 100 ms per queue for fresh sums; from a callback it does not wait and
 * other queues' sums are as of their last publication. With
 * opts.queues == 0 call it from the thread that drives the session.
 * Returns 0. */
MCSI_API int mcsi_get_stats(mcsi_session *s, struct mcsi_stats *st);

/* ---- connections (MC/S) ------------------------------------------------ */

#define MCSI_PORTAL_MAX 272

struct mcsi_conn_stats {
	uint16_t cid;
	uint8_t state;              /* 2 login, 3 up, 4 leaving, 5 failed */
	uint8_t queue;              /* reactor that owns it */
	bool lead;                  /* the leading connection */
	/* New commands may go to it: UP, and with policy "adaptive" one of
	 * the connections the scheduler currently uses (the others stay
	 * logged in for failover). */
	bool active;
	uint32_t depth;             /* commands routed to it, not finished */
	uint32_t weight;            /* scheduling weight */
	uint64_t commands;          /* command PDUs sent */
	uint64_t bytes_in, bytes_out;       /* payload */
	uint64_t lat_sum_ns, lat_count;     /* completed commands' latency */
	char portal[MCSI_PORTAL_MAX];       /* "host:port" */
};

/* A static name for mcsi_conn_stats.state ("up", "leaving", ...). */
MCSI_API const char *mcsi_conn_state_name(unsigned state);

/* Copies the session's connections (at most cap, in no set order) into
 * st; counters are racy but monotonic. Any thread. Returns how many
 * connections the session has (may exceed cap) or -EINVAL. */
MCSI_API int mcsi_get_conn_stats(mcsi_session *s, struct mcsi_conn_stats *st,
				 unsigned cap);

/* Opens one more connection to the session's target (a non-leading
 * login: same session, new CID) at portal "host[:port]", or with NULL at
 * the next portal of the target's portal group. Blocking; not from a
 * callback. Returns the new CID (>= 0) or -errno: -EUSERS (MaxConnections
 * reached, ours or the target's), -EBUSY (the target cannot take it),
 * -ENOTCONN, -EINVAL, or the login's error; the session is unchanged
 * then. */
MCSI_API int mcsi_add_connection(mcsi_session *s, const char *portal);

/* Removes connection cid: no new commands go to it, its queued ones move
 * to the other connections, those in flight on it finish, then it logs
 * out (reason "close the connection"). Blocking; not from a callback.
 * Returns 0, -ENOENT (no such CID), -EBUSY (the last connection: use
 * mcsi_close()), -ENOTCONN, or the logout's -errno (the connection is
 * closed either way). */
MCSI_API int mcsi_remove_connection(mcsi_session *s, uint16_t cid);

#ifdef __cplusplus
}
#endif

#endif
