/* SPDX-License-Identifier: MIT */
/*
 * The control protocol spoken on mcsid's socket (iscsictl -> mcsid), on
 * each session process's socket (mcsid -> mcsi-sessiond), on the launch
 * channel (mcsid -> a new mcsi-sessiond) and in the session state files.
 *
 * Framing: a 4-byte big-endian payload length, then the payload, one JSON
 * object (json.h) of at most CP_FRAME_MAX bytes. Every request has "op";
 * every reply has "ok" and, when it is false, "errno" (a positive errno
 * value of this host) and "error" (text for people). One request, one
 * reply; a client may send the next request on the same connection.
 *
 *   {"op":"login","target":"iqn...","portal":"host:port"}
 *   {"op":"logout","target":"iqn..."}
 *   {"op":"list-sessions"}  {"op":"list-luns","target":"iqn..."}
 *   {"op":"status"}  {"op":"rescan"}  {"op":"reload"}
 *   {"op":"io","lun":1,"lba":0,"blocks":8,"write":true,"seed":7}
 *                           (session processes only: a data check)
 *
 * Pure code: encoders write into caller buffers, decoders validate
 * everything (names normalized, portals canonical, numbers in range) and
 * refuse the rest with -EPROTO and a static reason.
 */
#ifndef MCSI_SUPERVISOR_CTLPROTO_H
#define MCSI_SUPERVISOR_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/url.h"
#include "supervisor/json.h"

#define CP_HDR_LEN        4u
#define CP_FRAME_MAX      (1u << 20)
#define CP_TOKENS_MAX     16384u    /* JSON values in one message */
#define CP_TEXT_MAX       255u      /* aliases, CHAP names, messages */
#define CP_IO_MAX_BLOCKS  2048u
#define CP_IO_MAX_BYTES   (8u << 20)

/* ---- framing ------------------------------------------------------------ */

/* Writes the header of a frame of len payload bytes. */
void cp_frame_header(uint8_t hdr[CP_HDR_LEN], uint32_t len);

/* Looks for one whole frame at the start of buf (len bytes received so
 * far). Returns the bytes it occupies (header + payload) with *payload
 * (borrowed from buf) and *plen; 0 when more bytes are needed; -EMSGSIZE
 * when the header announces more than CP_FRAME_MAX; -EPROTO for an empty
 * payload. */
int cp_frame_get(const uint8_t *buf, size_t len, const uint8_t **payload,
		 uint32_t *plen);

/* ---- requests ----------------------------------------------------------- */

enum cp_op {
	CP_OP_STATUS,
	CP_OP_LIST_SESSIONS,
	CP_OP_LIST_LUNS,
	CP_OP_LOGIN,
	CP_OP_LOGOUT,
	CP_OP_RESCAN,
	CP_OP_RELOAD,
	CP_OP_IO,
	CP_OP_COUNT_,
};

struct cp_request {
	enum cp_op op;
	bool has_target, has_portal, has_lun;
	char target[URL_NAME_MAX + 1];     /* normalized */
	struct url_portal portal;          /* canonical */
	uint32_t lun;                      /* 0..URL_LUN_MAX */
	/* CP_OP_IO */
	uint64_t lba;
	uint32_t blocks;                   /* 1..CP_IO_MAX_BLOCKS */
	uint32_t seed;
	bool write;
};

/* "login", "list-luns", ...; NULL for a value out of range. */
const char *cp_op_name(enum cp_op op);

/* Serializes r (only the fields its op uses, plus lun when has_lun).
 * Returns the length written to buf (NUL-terminated) or -ENOSPC / -EINVAL
 * (r would not decode: a missing target, blocks out of range). */
int cp_request_encode(const struct cp_request *r, char *buf, size_t cap);

/* Parses and validates a request payload. Unknown members are ignored
 * (newer clients); a known member with a bad value is refused. login,
 * logout and list-luns need a target; io needs lun and blocks. Returns 0
 * or -EPROTO with *why (static). */
int cp_request_decode(const char *buf, size_t len, struct cp_request *r,
		      const char **why);

/* ---- replies -------------------------------------------------------------- */

/* {"ok":false,"errno":E,"error":"msg"} with E = -err (err is -errno).
 * Returns the length or -ENOSPC. */
int cp_reply_error(char *buf, size_t cap, int err, const char *msg);

/* Starts a successful reply ({"ok":true, ...): the caller adds members
 * and closes it with json_w_end() and json_w_finish(). */
void cp_reply_ok_begin(struct json_w *w, char *buf, size_t cap);

/* A parsed reply: the envelope decoded, the rest left as tokens (toks[0]
 * is the root object) for the caller to walk. */
struct cp_reply {
	bool ok;
	int err;                          /* -errno when !ok */
	char error[CP_TEXT_MAX + 1];      /* "" when ok */
	size_t ntoks;
};

/* Parses a reply payload into toks (max entries). Returns 0 whether the
 * reply says ok or not (see r->ok / r->err), or -EPROTO / -ENOSPC with
 * *why when the payload is not a well-formed reply. */
int cp_reply_parse(const char *buf, size_t len, struct json_tok *toks,
		   size_t max, struct cp_reply *r, const char **why);

/* ---- the launch message (mcsid -> a new session process) -------------------
 * Sent over an inherited socket, never on the command line or in the
 * environment, because it carries CHAP secrets. */

struct cp_launch_secrets {            /* keep in secrets_mem_alloc() memory */
	char chap[CP_TEXT_MAX + 1];       /* ours */
	size_t chap_len;
	char target[CP_TEXT_MAX + 1];     /* the target's, mutual CHAP */
	size_t target_len;
};

#define CP_PORTALS_MAX 1024u
#define CP_SCHED_MAX 32u
struct cp_launch {
	char target[URL_NAME_MAX + 1];
	struct url_portal portal;
	char initiator[URL_NAME_MAX + 1];
	char alias[CP_TEXT_MAX + 1];          /* "" for none */
	bool chap, mutual;
	char chap_name[CP_TEXT_MAX + 1];
	char target_chap_name[CP_TEXT_MAX + 1];
	bool header_digest, data_digest;      /* CRC32C required */
	/* mcsi_opts.replacement_timeout_ms; a launch without it (an older
	 * mcsid) gets CP_REPLACEMENT_MS_DEFAULT. */
	uint32_t replacement_ms;
	/* MC/S: mcsi_opts.connections (the target's max-connections in the
	 * configuration); absent (1) in the message when 1. */
	uint32_t connections;
	/* mcsi_opts.error_recovery_level, the most the session asks for
	 * (0..2); absent from the message when CP_ERL_DEFAULT. */
	uint8_t erl;
	/* mcsi_opts.time2wait_s / time2retain_s (0, absent from the
	 * message: the RFC's defaults). */
	uint16_t time2wait, time2retain;
	/* mcsi_opts.quirks = MCSI_QUIRKS_OFF (the configuration's quirks =
	 * off); "no-quirks": true in the message, absent when false. */
	bool no_quirks;
	/* MC/S: mcsi_opts.portals, the target's configured portals for a
	 * login that named none ("host:port,host:port", each checked on
	 * decode); "" (absent from the message) for none. */
	char portals[CP_PORTALS_MAX];
	/* MC/S: mcsi_opts.sched_policy (the target's scheduling in the
	 * configuration); "" (absent from the message): the default,
	 * adaptive. Lower-case letters and '-' only. */
	char sched[CP_SCHED_MAX];
};
#define CP_REPLACEMENT_MS_DEFAULT 120000u
#define CP_ERL_DEFAULT 2u

/* Serializes l and the secrets it uses into buf (which should be
 * secrets_mem_alloc() memory too). Secrets with a NUL byte are refused
 * (-EINVAL): the session API takes C strings. Returns the length or
 * -ENOSPC / -EINVAL. */
int cp_launch_encode(const struct cp_launch *l, const struct cp_launch_secrets *s,
		     char *buf, size_t cap);
/* Parses a launch message. Returns 0, or -EPROTO with *why. s is wiped
 * on failure. */
int cp_launch_decode(const char *buf, size_t len, struct cp_launch *l,
		     struct cp_launch_secrets *s, const char **why);

/* ---- session state files (<run-dir>/sessions/<pid>.json) ----------------- */

enum cp_sess_state { CP_SESS_UP, CP_SESS_LOST };

struct cp_state {
	int32_t pid;
	enum cp_sess_state state;
	char target[URL_NAME_MAX + 1];
	struct url_portal portal;
	char socket[108];                 /* sun_path */
	int64_t since;                    /* unix time of the login */
	char error[CP_TEXT_MAX + 1];      /* why it was lost, "" */
};

const char *cp_sess_state_name(enum cp_sess_state s);
/* Returns the length or -ENOSPC. */
int cp_state_encode(const struct cp_state *st, char *buf, size_t cap);
/* Returns 0 or -EPROTO with *why. */
int cp_state_decode(const char *buf, size_t len, struct cp_state *st,
		    const char **why);

#endif
