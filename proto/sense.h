/* SPDX-License-Identifier: MIT */
/*
 * SCSI sense data (SPC-4 4.5): fixed (0x70/0x71) and descriptor
 * (0x72/0x73) formats, the names of sense keys and of the common
 * ASC/ASCQ pairs, and a classification that tells a host what to do
 * with a CHECK CONDITION.
 *
 * Sense data comes from the target: every length is checked against the
 * buffer and malformed data gives -EPROTO with *why set to a static reason
 * (why may be NULL). Pure code: no I/O, no allocation.
 */
#ifndef MCSI_PROTO_SENSE_H
#define MCSI_PROTO_SENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sense_key {
	SENSE_KEY_NO_SENSE        = 0x0,
	SENSE_KEY_RECOVERED_ERROR = 0x1,
	SENSE_KEY_NOT_READY       = 0x2,
	SENSE_KEY_MEDIUM_ERROR    = 0x3,
	SENSE_KEY_HARDWARE_ERROR  = 0x4,
	SENSE_KEY_ILLEGAL_REQUEST = 0x5,
	SENSE_KEY_UNIT_ATTENTION  = 0x6,
	SENSE_KEY_DATA_PROTECT    = 0x7,
	SENSE_KEY_BLANK_CHECK     = 0x8,
	SENSE_KEY_VENDOR_SPECIFIC = 0x9,
	SENSE_KEY_COPY_ABORTED    = 0xa,
	SENSE_KEY_ABORTED_COMMAND = 0xb,
	SENSE_KEY_VOLUME_OVERFLOW = 0xd,
	SENSE_KEY_MISCOMPARE      = 0xe,
	SENSE_KEY_COMPLETED       = 0xf,
};

#define SENSE_MAX_LEN 252u   /* SPC-4: ADDITIONAL SENSE LENGTH <= 244 */

struct sense_info {
	uint8_t response_code;   /* 0x70..0x73 */
	bool descriptor;         /* 0x72/0x73 */
	bool deferred;           /* 0x71/0x73: about an earlier command */
	uint8_t key, asc, ascq;  /* asc/ascq 0 when the data ends before them */
	bool info_valid;         /* INFORMATION is set (e.g. the failing LBA) */
	uint64_t info;
	bool cmd_info_valid;     /* COMMAND-SPECIFIC INFORMATION is present */
	uint64_t cmd_info;
	bool sks_valid;          /* SENSE KEY SPECIFIC with SKSV set */
	uint8_t sks[3];          /* bytes as sent, SKSV bit included */
	uint8_t fru;             /* FIELD REPLACEABLE UNIT CODE */
	bool filemark, eom, ili; /* fixed format byte 2 / stream descriptor */
};

/* Parses sense data of len bytes (the buffer a target sent, which may be
 * shorter than ADDITIONAL SENSE LENGTH says: only len bytes are read).
 * Fixed format needs the 8-byte header; ASC/ASCQ, FRU and the sense-key
 * specific bytes are taken when present. Descriptor format needs 8 bytes;
 * descriptors are walked within both len and ADDITIONAL SENSE LENGTH, the
 * information, command-specific, sense-key specific and stream commands
 * descriptors are decoded and others skipped. Returns 0, or -EPROTO for
 * a short header, an unknown response code (including vendor-specific
 * 0x7f), a descriptor that overruns a complete sense buffer, or a known
 * descriptor of the wrong length. */
int sense_parse(const uint8_t *buf, size_t len, struct sense_info *s,
		const char **why);

/* Parses the data segment of an iSCSI SCSI Response (RFC 7143 11.4.7):
 * a 2-byte SenseLength, the sense data, then any response data. Returns
 * 0, -ENODATA when there is no sense data (an empty segment or SenseLength
 * 0: istgt answers CHECK CONDITION without sense), or -EPROTO (segment
 * shorter than 2 + SenseLength, or sense_parse()'s errors). */
int sense_parse_iscsi(const uint8_t *seg, size_t len, struct sense_info *s,
		      const char **why);

/* Static names: "UNIT ATTENTION", ...; "RESERVED" for 0xc, "UNKNOWN"
 * above 0xf. */
const char *sense_key_name(uint8_t key);
/* Static SPC name of an ASC/ASCQ pair from a table of the common ones
 * ("POWER ON, RESET, OR BUS DEVICE RESET OCCURRED"), or NULL. */
const char *sense_asc_name(uint8_t asc, uint8_t ascq);

/* Writes "KEY: ASC NAME (aa/qq)" (or "KEY (aa/qq)" for a pair not in the
 * table), plus " deferred" and " info 0x..." when they apply, into buf,
 * NUL-terminated. Returns the length, or -ENOSPC (buf then holds a
 * truncated string). */
int sense_format(const struct sense_info *s, char *buf, size_t cap);

/* What a host does about a CHECK CONDITION. */
enum sense_class {
	SENSE_OK,                /* no error: NO SENSE, RECOVERED ERROR,
				  * COMPLETED; the command's data is good */
	SENSE_UA_RETRY,          /* unit attention (power on, reset, mode
				  * parameters, ...): send again */
	SENSE_UA_CAPACITY,       /* 2a/09: read the capacity, send again */
	SENSE_UA_LUNS_CHANGED,   /* 3f/0e: REPORT LUNS, send again */
	SENSE_UA_INQUIRY_CHANGED,/* 3f/03, 3f/05: re-identify, send again */
	SENSE_UA_ALUA_CHANGED,   /* 2a/06, 2a/07: re-check access states */
	SENSE_NOT_READY_RETRY,   /* becoming ready, operation in progress,
				  * ALUA transition: send again after a pause */
	SENSE_NOT_READY,         /* needs START UNIT, an operator or media */
	SENSE_PATH_UNAVAILABLE,  /* 04/0b standby, 04/0c unavailable: this
				  * path cannot serve, use another */
	SENSE_MEDIUM_ERROR,      /* unrecovered read/write: data lost */
	SENSE_HARDWARE_ERROR,
	SENSE_ILLEGAL_REQUEST,   /* the command is wrong for this LU */
	SENSE_DATA_PROTECT,      /* write protected, space allocation failed */
	SENSE_ABORTED_RETRY,     /* ABORTED COMMAND: the target gave up (CRC,
				  * timeouts, ...): send again */
	SENSE_MISCOMPARE,
	SENSE_DEFERRED,          /* an earlier command failed (a cached write
				  * lost): report it, this one was not run */
	SENSE_OTHER,
};
enum sense_class sense_classify(const struct sense_info *s);
/* True when sending the same command again (after the class's action) is
 * the right thing: the unit attentions, NOT_READY_RETRY, ABORTED_RETRY. */
bool sense_class_retryable(enum sense_class c);
/* Static name ("unit attention: capacity changed"). */
const char *sense_class_name(enum sense_class c);

#endif
