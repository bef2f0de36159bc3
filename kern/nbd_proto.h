/* SPDX-License-Identifier: MIT */
/*
 * The NBD protocol, server side, as pure functions over bytes (no
 * sockets): the fixed newstyle handshake (options EXPORT_NAME, ABORT,
 * LIST, INFO, GO; everything else answered "unsupported") and the
 * transmission phase with simple replies (READ, WRITE, DISC, FLUSH, TRIM,
 * WRITE_ZEROES). All fields are big-endian on the wire. kern/nbd.c does
 * the I/O; the unit tests feed these functions bytes.
 */
#ifndef MCSI_KERN_NBD_PROTO_H
#define MCSI_KERN_NBD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NBD_MAGIC              0x4e42444d41474943ull   /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC         0x49484156454f5054ull   /* "IHAVEOPT" */
#define NBD_REP_MAGIC          0x0003e889045565a9ull
#define NBD_REQUEST_MAGIC      0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698u

/* handshake flags (server) and client flags */
#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_NO_ZEROES        (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE NBD_FLAG_FIXED_NEWSTYLE
#define NBD_FLAG_C_NO_ZEROES      NBD_FLAG_NO_ZEROES

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS        (1u << 0)
#define NBD_FLAG_READ_ONLY        (1u << 1)
#define NBD_FLAG_SEND_FLUSH       (1u << 2)
#define NBD_FLAG_SEND_FUA         (1u << 3)
#define NBD_FLAG_SEND_TRIM        (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_CAN_MULTI_CONN   (1u << 8)

enum nbd_opt {
	NBD_OPT_EXPORT_NAME = 1, NBD_OPT_ABORT = 2, NBD_OPT_LIST = 3,
	NBD_OPT_STARTTLS = 5, NBD_OPT_INFO = 6, NBD_OPT_GO = 7,
	NBD_OPT_STRUCTURED_REPLY = 8,
};

#define NBD_REP_ACK     1u
#define NBD_REP_SERVER  2u
#define NBD_REP_INFO    3u
#define NBD_REP_ERR_UNSUP     (0x80000000u | 1)
#define NBD_REP_ERR_POLICY    (0x80000000u | 2)
#define NBD_REP_ERR_INVALID   (0x80000000u | 3)
#define NBD_REP_ERR_UNKNOWN   (0x80000000u | 6)
#define NBD_REP_ERR_TOO_BIG   (0x80000000u | 9)

#define NBD_INFO_EXPORT     0u
#define NBD_INFO_BLOCK_SIZE 3u

enum nbd_cmd {
	NBD_CMD_READ = 0, NBD_CMD_WRITE = 1, NBD_CMD_DISC = 2, NBD_CMD_FLUSH = 3,
	NBD_CMD_TRIM = 4, NBD_CMD_CACHE = 5, NBD_CMD_WRITE_ZEROES = 6,
};
#define NBD_CMD_FLAG_FUA     (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE (1u << 1)

/* NBD error values (they are Linux errno numbers, fixed by the spec) */
#define NBD_EPERM      1u
#define NBD_EIO        5u
#define NBD_ENOMEM     12u
#define NBD_EINVAL     22u
#define NBD_ENOSPC     28u
#define NBD_EOVERFLOW  75u
#define NBD_ENOTSUP    95u
#define NBD_ESHUTDOWN  108u

#define NBDP_GREETING_LEN   18u     /* NBDMAGIC, IHAVEOPT, flags */
#define NBDP_OPT_HDR_LEN    16u
#define NBDP_OPT_DATA_MAX   4096u   /* larger option data: NBD_REP_ERR_TOO_BIG */
#define NBDP_REQ_LEN        28u
#define NBDP_REPLY_LEN      16u
#define NBDP_PAYLOAD_MAX    (32u << 20)  /* larger payloads: the connection ends */

/* What the handshake needs to know of one export. */
struct nbdp_export {
	const char *name;
	uint64_t size;
	uint16_t flags;             /* transmission flags (HAS_FLAGS added) */
	uint32_t min_block;         /* the device's block size */
	uint32_t pref_block;
	uint32_t max_block;         /* largest READ/WRITE payload */
};

/* Output buffer for option replies; nbdp_* functions append to it. */
struct nbdp_out {
	uint8_t *buf;
	size_t cap, len;
};

/* What to do after an option. */
enum nbdp_action {
	NBDP_CONTINUE = 0,          /* send out, read the next option */
	NBDP_TRANSMIT,              /* send out, then the transmission phase */
	NBDP_CLOSE,                 /* send out (may be empty), then close */
};

/* The 18 bytes the server sends first. */
void nbdp_greeting(uint8_t out[NBDP_GREETING_LEN]);

/* Parses the client's 4 flag bytes. Returns 0 or -EPROTO (unknown bits). */
int nbdp_client_flags(const uint8_t in[4], uint32_t *flags);

/* Parses an option header. Returns 0 or -EPROTO (bad magic). */
int nbdp_opt_header(const uint8_t in[NBDP_OPT_HDR_LEN], uint32_t *opt, uint32_t *len);

/* Appends an option reply (header + data). Returns 0 or -ENOBUFS. */
int nbdp_opt_reply(struct nbdp_out *out, uint32_t opt, uint32_t type,
		   const void *data, uint32_t len);

/* Handles option opt with its data (len <= NBDP_OPT_DATA_MAX; for larger
 * data the caller discards it and replies NBD_REP_ERR_TOO_BIG itself).
 * client_flags from nbdp_client_flags(). On NBDP_TRANSMIT, *chosen is the
 * index of the export in exps. Returns an enum nbdp_action or -ENOBUFS
 * (out too small: give it at least 1 KiB plus 8 bytes per listed name). */
int nbdp_handle_opt(const struct nbdp_export *exps, size_t nexp, uint32_t client_flags,
		    uint32_t opt, const uint8_t *data, uint32_t len,
		    struct nbdp_out *out, size_t *chosen);

struct nbdp_req {
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint64_t offset;
	uint32_t len;
};

/* Parses a request header. Returns 0 or -EPROTO (bad magic). */
int nbdp_parse_req(const uint8_t in[NBDP_REQ_LEN], struct nbdp_req *r);

/* Checks r against export e (its current size and flags). Returns 0 or
 * the NBD error to reply with. TRIM need not be aligned (the server trims
 * the aligned blocks inside the range). */
uint32_t nbdp_check_req(const struct nbdp_req *r, const struct nbdp_export *e);

/* Fills a simple reply header. */
void nbdp_simple_reply(uint8_t out[NBDP_REPLY_LEN], uint32_t error, uint64_t cookie);

/* Maps a -errno from a backend to an NBD error value. */
uint32_t nbdp_error(int err);

#endif
