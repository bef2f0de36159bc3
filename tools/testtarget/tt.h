/* SPDX-License-Identifier: MIT */
/*
 * mcsi-testtarget: the project's own iSCSI target (RFC 7143), used to test
 * the initiator's recovery paths and its handling of hostile input.
 *
 * Threading: the main thread accepts connections and serves the control
 * socket; every connection has its own thread that owns its socket, its
 * receive buffer, its transmit batch and its task pool. Nothing but the
 * owning thread ever writes to a socket. Session-wide state (CmdSN window,
 * connection list, unit attentions) is under the session's mutex; a
 * connection whose queued command becomes deliverable because another
 * connection advanced ExpCmdSN is woken with SIGUSR1 (see conn_wake()).
 *
 * This header holds the types shared by the target's modules; each module
 * declares its functions in its own header.
 */
#ifndef TT_H
#define TT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define TT_MAX_PORTALS     16
#define TT_MAX_TARGETS     8
#define TT_MAX_LUNS        64
#define TT_MAX_CONNS       16      /* per session; MaxConnections caps it */
#define TT_TASKS           256     /* per connection */
#define TT_TASK_BUF        4096    /* inline buffer of a task */
#define TT_TX_IOV          512
#define TT_TX_ARENA        (256u * 1024u)
#define TT_MAX_R2T         16
#define TT_RETAIN          128     /* status PDUs kept for SNACK (ERL >= 1) */
#define TT_DATAOUT_TIMEOUT_MS 1000  /* ERL >= 1: a write waiting this long for
				     * Data-Out gets a recovery R2T (LIO: 3 s) */
#define TT_LOGIN_BUF       65536

struct tt_server;
struct tt_session;
struct tt_conn;

enum tt_lun_kind { TT_LUN_RAM, TT_LUN_NULL };

struct tt_lun {
	uint32_t id;
	enum tt_lun_kind kind;
	uint32_t block_size;
	_Atomic uint64_t blocks;      /* resizable at run time */
	uint8_t *mem;                 /* RAM LUNs; never moves (reserved) */
	size_t reserved;              /* bytes of address space reserved */
	uint8_t naa[8];               /* NAA 3 (locally assigned) id */
	char serial[24];
	bool readonly;
};

struct tt_target {
	const char *name;             /* borrowed from argv or the config */
	const char *alias;
	struct tt_lun *luns[TT_MAX_LUNS];   /* by LUN number; NULL = none */
	_Atomic unsigned lun_gen;     /* bumped when the LUN set changes */
};

struct tt_portal {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint16_t tpgt;
	int fd;
	char text[64];                /* "a.b.c.d:port" or "[v6]:port" */
};

/* What the target offers and accepts at login. */
struct tt_limits {
	uint32_t max_connections;
	uint32_t erl;
	uint32_t max_recv_dsl;        /* ours, declared */
	uint32_t max_burst, first_burst, max_r2t;
	bool initial_r2t, immediate_data;
	bool data_pdu_in_order, data_seq_in_order;
	uint32_t time2wait, time2retain;
	bool allow_crc, allow_none;   /* digests we accept */
	bool prefer_crc;              /* ignore the initiator's order */
	uint32_t cmd_window;          /* MaxCmdSN - ExpCmdSN + 1 */
};

struct tt_chap_cred {
	const char *user, *secret;    /* borrowed; NULL = not configured */
};

struct tt_config {
	struct tt_portal portals[TT_MAX_PORTALS];
	unsigned nportals;
	struct tt_target targets[TT_MAX_TARGETS];
	unsigned ntargets;
	struct tt_limits lim;
	struct tt_chap_cred chap, mutual;
	bool chap_discovery;          /* require CHAP for discovery too */
	unsigned chap_algs;           /* bitmask of 1 << enum chap_alg */
	const char *pidfile, *portfile, *ctl_path, *fault_script;
	const char *redirect;         /* "addr:port" or NULL, owned */
	bool redirect_permanent;
	uint32_t nop_interval_ms;     /* unsolicited NOP-In pings, 0 = off */
	bool fast;
	int io_mode;                  /* 0 auto (io_uring with --fast), 1 sync,
				       * 2 io_uring */
	int verbose;
	char *files[8];               /* config file texts, owned */
};

/* A negotiated connection + session parameter set. */
struct tt_params {
	uint32_t max_connections, erl;
	uint32_t max_burst, first_burst, max_r2t;
	bool initial_r2t, immediate_data;
	bool data_pdu_in_order, data_seq_in_order;
	uint32_t time2wait, time2retain;
	uint32_t send_dsl;            /* initiator's MaxRecvDataSegmentLength */
	uint32_t recv_dsl;            /* ours */
	bool hdr_digest, data_digest;
};

#endif
