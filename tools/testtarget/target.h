/* SPDX-License-Identifier: MIT */
/*
 * Run-time objects of the test target: the server, sessions, connections
 * and tasks. See tt.h for the threading model.
 */
#ifndef TT_TARGET_H
#define TT_TARGET_H

#include "tt.h"
#include "scsi.h"

struct tt_faults;

struct tt_server {
	struct tt_config *cfg;
	pthread_mutex_t lock;         /* sessions, conns, tsih */
	struct tt_session *sessions;
	struct tt_conn *conns;
	pthread_cond_t conns_gone;    /* signalled as connections end */
	uint16_t next_tsih;
	atomic_bool stopping;
	const uint8_t *zeros;         /* PDU_MAX_DSL bytes of zeros (mapped) */
	struct tt_faults *faults;
	pthread_mutex_t lun_lock;     /* LUN add / resize */
};

/* Unit attentions pending for one I_T nexus, per LUN. */
enum tt_ua {
	TT_UA_POWER_ON = 1u << 0,
	TT_UA_LUNS_CHANGED = 1u << 1,
	TT_UA_CAPACITY = 1u << 2,
	TT_UA_LUN_RESET = 1u << 3,
};

/* A session's life (retain.h has the transitions). */
enum tt_sess_state {
	TT_SESS_LIVE = 0,             /* connections, or a login creating it */
	TT_SESS_RETAINED,             /* ERL 2: its last connection failed; kept
				       * for continuation until retain_until */
	TT_SESS_GONE,                 /* closed, reinstated or expired: no
				       * login joins it any more */
};

struct tt_session {
	struct tt_session *next;
	struct tt_server *srv;
	pthread_mutex_t lock;
	struct tt_target *tgt;        /* NULL for discovery */
	bool discovery;
	uint8_t isid[6];
	uint16_t tsih, tpgt;
	char *initiator;              /* owned */
	struct tt_params p;           /* session-wide values */
	_Atomic uint32_t exp_cmdsn;
	uint32_t window;
	struct tt_conn *conns[TT_MAX_CONNS];
	unsigned nconns;
	unsigned refs;                /* connections + pending logins */
	uint8_t ua[TT_MAX_LUNS];      /* enum tt_ua bits */
	/* Written under lock, and under srv->lock too when RETAINED is
	 * entered or left (retain.c); read under either. */
	enum tt_sess_state state;
	struct tt_task *orphans;      /* ERL 2: tasks of failed connections,
				       * heap copies awaiting TASK REASSIGN */
	/* TT_SESS_RETAINED: the end of DefaultTime2Retain, and the last
	 * connection's CID and next StatSN (a continuation with that CID
	 * goes on counting from there). */
	uint64_t retained_at, retain_until;
	uint16_t retain_cid;
	uint32_t retain_statsn;
};

/* A command PDU held until its CmdSN comes up (MC/S reordering), with the
 * unsolicited Data-Out PDUs that arrived for it meanwhile. */
struct tt_pend {
	struct tt_pend *next;
	struct tt_pend *data;         /* follow-up Data-Out PDUs, in order */
	uint32_t cmdsn;
	uint8_t bhs[48];
	uint32_t len;
	uint8_t payload[];
};

struct tt_r2t {
	uint32_t ttt, r2tsn, off, len, got, datasn;
	bool active;
};

enum tt_task_state { TASK_FREE, TASK_DATA_OUT, TASK_DONE };

struct tt_task {
	struct tt_task *next;         /* free list / release list */
	struct tt_task *hnext;        /* ITT hash chain */
	enum tt_task_state state;
	uint32_t itt, cmdsn, lun_id, edtl;
	uint16_t index, gen;
	bool r_bit, w_bit;
	uint8_t cdb[16];
	struct scsi_cmd sc;
	/* Data-Out bookkeeping */
	uint32_t xfer;                /* bytes the command will take */
	uint32_t got;                 /* bytes placed */
	bool unsol_open;              /* unsolicited sequence not finished */
	uint32_t unsol_datasn, unsol_high;
	uint32_t next_off;            /* next offset to solicit */
	uint32_t r2tsn;
	struct tt_r2t r2t[TT_MAX_R2T];
	unsigned r2t_active;
	uint32_t holes_off[8], holes_len[8];   /* ERL 1: to solicit again */
	unsigned nholes;
	uint64_t dout_ns;             /* last Data-Out progress (ERL >= 1 timeout) */
	bool dout_timed_out;          /* late unsolicited data is dropped */
	/* Data-In bookkeeping */
	uint32_t datasn;              /* Data-In / R2T PDUs sent */
	uint32_t din_dsl;             /* Data-In segment size it was cut with */
	uint32_t statsn;              /* ERL >= 1: StatSN of its status */
	struct tt_task *dnext;        /* ERL >= 1: done FIFO, orphans */
	uint64_t retain_until;        /* ERL 2 orphan: Time2Retain end */
	uint8_t *heap;                /* large Data-Out buffer, owned */
	uint8_t buf[TT_TASK_BUF];
};

enum tt_conn_state { CONN_LOGIN, CONN_FFP, CONN_LOGGED_OUT };

struct tt_login;

struct tt_conn {
	struct tt_conn *next;         /* server list */
	struct tt_server *srv;
	struct tt_session *sess;
	const struct tt_portal *portal;
	int fd;
	pthread_t thread;
	uint16_t cid;
	char peer[64];
	enum tt_conn_state state;
	struct tt_params p;
	uint32_t statsn, exp_statsn;
	atomic_bool stop;
	bool closing;                 /* leave the loop after the flush */
	bool keep_tasks;              /* logout reason 2: keep for reassign */
	atomic_bool drop_tasks;       /* closed by a logout on another CID */
	/* receive */
	uint8_t *rx;
	size_t rx_cap, rx_len, rx_pos;
	/* transmit batch */
	struct iovec iov[TT_TX_IOV];
	int niov;
	uint8_t *arena;
	size_t arena_used;
	/* tasks */
	struct tt_task *tasks;
	struct tt_task *free_tasks;
	struct tt_task *hash[TT_TASKS];
	struct tt_task *release;      /* free after the next flush */
	struct tt_pend *pending;      /* sorted by CmdSN */
	struct tt_task *done_head, *done_tail;  /* ERL >= 1, by StatSN */
	/* text (SendTargets) continuation */
	char *text;
	size_t text_len, text_off;
	uint32_t text_ttt;
	struct tt_login *login;
	/* ERL >= 1: recent status PDUs for Status SNACK */
	struct tt_retained {
		uint32_t statsn;
		uint32_t len;             /* 48 + data */
		uint8_t pdu[48 + 2 + SCSI_SENSE_LEN + 2];
	} *retain;
	/* fault injection counters */
	uint64_t tx_pdus, tx_bytes;   /* since login, for faults */
	int rcv_timeout_ms;           /* last SO_RCVTIMEO set */
	struct tt_uring *ring;        /* --fast: io_uring transport, or NULL */
	uint32_t nop_ttt;
	uint64_t fault_gen;           /* fault sends already done */
	uint8_t last_rx[48];          /* last command header, for Reject */
	uint64_t last_rx_ns;
	uint64_t dout_scan_ns;        /* next Data-Out timeout scan */
};

#endif
