/* SPDX-License-Identifier: MIT */
#include "proto/sense.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ---- names -------------------------------------------------------------- */

const char *sense_key_name(uint8_t key)
{
	static const char *const names[16] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
		"HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION",
		"DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC",
		"COPY ABORTED", "ABORTED COMMAND", "RESERVED",
		"VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
	};
	return key < 16 ? names[key] : "UNKNOWN";
}

/* The pairs a host meets, SPC-4 Annex F spelling, sorted by ASC/ASCQ. */
static const struct sense_asc {
	uint8_t asc, ascq;
	const char *name;
} asc_table[] = {
	{ 0x00, 0x00, "NO ADDITIONAL SENSE INFORMATION" },
	{ 0x00, 0x06, "I/O PROCESS TERMINATED" },
	{ 0x00, 0x16, "OPERATION IN PROGRESS" },
	{ 0x00, 0x17, "CLEANING REQUESTED" },
	{ 0x00, 0x1d, "ATA PASS THROUGH INFORMATION AVAILABLE" },
	{ 0x02, 0x00, "NO SEEK COMPLETE" },
	{ 0x03, 0x00, "PERIPHERAL DEVICE WRITE FAULT" },
	{ 0x04, 0x00, "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE" },
	{ 0x04, 0x01, "LOGICAL UNIT IS IN PROCESS OF BECOMING READY" },
	{ 0x04, 0x02, "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED" },
	{ 0x04, 0x03, "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED" },
	{ 0x04, 0x04, "LOGICAL UNIT NOT READY, FORMAT IN PROGRESS" },
	{ 0x04, 0x05, "LOGICAL UNIT NOT READY, REBUILD IN PROGRESS" },
	{ 0x04, 0x06, "LOGICAL UNIT NOT READY, RECALCULATION IN PROGRESS" },
	{ 0x04, 0x07, "LOGICAL UNIT NOT READY, OPERATION IN PROGRESS" },
	{ 0x04, 0x08, "LOGICAL UNIT NOT READY, LONG WRITE IN PROGRESS" },
	{ 0x04, 0x09, "LOGICAL UNIT NOT READY, SELF-TEST IN PROGRESS" },
	{ 0x04, 0x0a, "LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION" },
	{ 0x04, 0x0b, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE" },
	{ 0x04, 0x0c, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE" },
	{ 0x04, 0x0d, "LOGICAL UNIT NOT READY, STRUCTURE CHECK REQUIRED" },
	{ 0x04, 0x10, "LOGICAL UNIT NOT READY, AUXILIARY MEMORY NOT ACCESSIBLE" },
	{ 0x04, 0x11, "LOGICAL UNIT NOT READY, NOTIFY (ENABLE SPINUP) REQUIRED" },
	{ 0x04, 0x12, "LOGICAL UNIT NOT READY, OFFLINE" },
	{ 0x04, 0x13, "LOGICAL UNIT NOT READY, SA CREATION IN PROGRESS" },
	{ 0x04, 0x14, "LOGICAL UNIT NOT READY, SPACE ALLOCATION IN PROGRESS" },
	{ 0x04, 0x1a, "LOGICAL UNIT NOT READY, START STOP UNIT COMMAND IN PROGRESS" },
	{ 0x04, 0x1b, "LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS" },
	{ 0x04, 0x1c, "LOGICAL UNIT NOT READY, ADDITIONAL POWER USE NOT YET GRANTED" },
	{ 0x05, 0x00, "LOGICAL UNIT DOES NOT RESPOND TO SELECTION" },
	{ 0x08, 0x00, "LOGICAL UNIT COMMUNICATION FAILURE" },
	{ 0x08, 0x01, "LOGICAL UNIT COMMUNICATION TIME-OUT" },
	{ 0x08, 0x02, "LOGICAL UNIT COMMUNICATION PARITY ERROR" },
	{ 0x0c, 0x00, "WRITE ERROR" },
	{ 0x0c, 0x02, "WRITE ERROR - AUTO REALLOCATION FAILED" },
	{ 0x0c, 0x03, "WRITE ERROR - RECOMMEND REASSIGNMENT" },
	{ 0x0c, 0x0c, "WRITE ERROR - UNEXPECTED UNSOLICITED DATA" },
	{ 0x0c, 0x0d, "WRITE ERROR - NOT ENOUGH UNSOLICITED DATA" },
	{ 0x0e, 0x00, "INVALID INFORMATION UNIT" },
	{ 0x0e, 0x01, "INFORMATION UNIT TOO SHORT" },
	{ 0x0e, 0x02, "INFORMATION UNIT TOO LONG" },
	{ 0x0e, 0x03, "INVALID FIELD IN COMMAND INFORMATION UNIT" },
	{ 0x10, 0x00, "ID CRC OR ECC ERROR" },
	{ 0x10, 0x01, "LOGICAL BLOCK GUARD CHECK FAILED" },
	{ 0x10, 0x02, "LOGICAL BLOCK APPLICATION TAG CHECK FAILED" },
	{ 0x10, 0x03, "LOGICAL BLOCK REFERENCE TAG CHECK FAILED" },
	{ 0x11, 0x00, "UNRECOVERED READ ERROR" },
	{ 0x11, 0x01, "READ RETRIES EXHAUSTED" },
	{ 0x11, 0x02, "ERROR TOO LONG TO CORRECT" },
	{ 0x11, 0x04, "UNRECOVERED READ ERROR - AUTO REALLOCATE FAILED" },
	{ 0x11, 0x13, "READ ERROR - FAILED RETRANSMISSION REQUEST" },
	{ 0x14, 0x01, "RECORD NOT FOUND" },
	{ 0x1a, 0x00, "PARAMETER LIST LENGTH ERROR" },
	{ 0x1d, 0x00, "MISCOMPARE DURING VERIFY OPERATION" },
	{ 0x20, 0x00, "INVALID COMMAND OPERATION CODE" },
	{ 0x20, 0x01, "ACCESS DENIED - INITIATOR PENDING-ENROLLED" },
	{ 0x20, 0x02, "ACCESS DENIED - NO ACCESS RIGHTS" },
	{ 0x21, 0x00, "LOGICAL BLOCK ADDRESS OUT OF RANGE" },
	{ 0x21, 0x01, "INVALID ELEMENT ADDRESS" },
	{ 0x24, 0x00, "INVALID FIELD IN CDB" },
	{ 0x25, 0x00, "LOGICAL UNIT NOT SUPPORTED" },
	{ 0x26, 0x00, "INVALID FIELD IN PARAMETER LIST" },
	{ 0x26, 0x01, "PARAMETER NOT SUPPORTED" },
	{ 0x26, 0x02, "PARAMETER VALUE INVALID" },
	{ 0x27, 0x00, "WRITE PROTECTED" },
	{ 0x27, 0x01, "HARDWARE WRITE PROTECTED" },
	{ 0x27, 0x02, "LOGICAL UNIT SOFTWARE WRITE PROTECTED" },
	{ 0x27, 0x07, "SPACE ALLOCATION FAILED WRITE PROTECT" },
	{ 0x28, 0x00, "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED" },
	{ 0x29, 0x00, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED" },
	{ 0x29, 0x01, "POWER ON OCCURRED" },
	{ 0x29, 0x02, "SCSI BUS RESET OCCURRED" },
	{ 0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED" },
	{ 0x29, 0x04, "DEVICE INTERNAL RESET" },
	{ 0x29, 0x05, "TRANSCEIVER MODE CHANGED TO SINGLE-ENDED" },
	{ 0x29, 0x06, "TRANSCEIVER MODE CHANGED TO LVD" },
	{ 0x29, 0x07, "I_T NEXUS LOSS OCCURRED" },
	{ 0x2a, 0x00, "PARAMETERS CHANGED" },
	{ 0x2a, 0x01, "MODE PARAMETERS CHANGED" },
	{ 0x2a, 0x02, "LOG PARAMETERS CHANGED" },
	{ 0x2a, 0x03, "RESERVATIONS PREEMPTED" },
	{ 0x2a, 0x04, "RESERVATIONS RELEASED" },
	{ 0x2a, 0x05, "REGISTRATIONS PREEMPTED" },
	{ 0x2a, 0x06, "ASYMMETRIC ACCESS STATE CHANGED" },
	{ 0x2a, 0x07, "IMPLICIT ASYMMETRIC ACCESS STATE TRANSITION FAILED" },
	{ 0x2a, 0x08, "PRIORITY CHANGED" },
	{ 0x2a, 0x09, "CAPACITY DATA HAS CHANGED" },
	{ 0x2a, 0x10, "TIMESTAMP CHANGED" },
	{ 0x2c, 0x00, "COMMAND SEQUENCE ERROR" },
	{ 0x2f, 0x00, "COMMANDS CLEARED BY ANOTHER INITIATOR" },
	{ 0x2f, 0x01, "COMMANDS CLEARED BY POWER LOSS NOTIFICATION" },
	{ 0x2f, 0x02, "COMMANDS CLEARED BY DEVICE SERVER" },
	{ 0x30, 0x00, "INCOMPATIBLE MEDIUM INSTALLED" },
	{ 0x31, 0x00, "MEDIUM FORMAT CORRUPTED" },
	{ 0x32, 0x00, "NO DEFECT SPARE LOCATION AVAILABLE" },
	{ 0x38, 0x07, "THIN PROVISIONING SOFT THRESHOLD REACHED" },
	{ 0x3a, 0x00, "MEDIUM NOT PRESENT" },
	{ 0x3a, 0x01, "MEDIUM NOT PRESENT - TRAY CLOSED" },
	{ 0x3a, 0x02, "MEDIUM NOT PRESENT - TRAY OPEN" },
	{ 0x3e, 0x00, "LOGICAL UNIT HAS NOT SELF-CONFIGURED YET" },
	{ 0x3e, 0x01, "LOGICAL UNIT FAILURE" },
	{ 0x3e, 0x02, "TIMEOUT ON LOGICAL UNIT" },
	{ 0x3f, 0x00, "TARGET OPERATING CONDITIONS HAVE CHANGED" },
	{ 0x3f, 0x01, "MICROCODE HAS BEEN CHANGED" },
	{ 0x3f, 0x02, "CHANGED OPERATING DEFINITION" },
	{ 0x3f, 0x03, "INQUIRY DATA HAS CHANGED" },
	{ 0x3f, 0x04, "COMPONENT DEVICE ATTACHED" },
	{ 0x3f, 0x05, "DEVICE IDENTIFIER CHANGED" },
	{ 0x3f, 0x06, "REDUNDANCY GROUP CREATED OR MODIFIED" },
	{ 0x3f, 0x07, "REDUNDANCY GROUP DELETED" },
	{ 0x3f, 0x0e, "REPORTED LUNS DATA HAS CHANGED" },
	{ 0x3f, 0x0f, "ECHO BUFFER OVERWRITTEN" },
	{ 0x3f, 0x12, "iSCSI IP ADDRESS ADDED" },
	{ 0x3f, 0x13, "iSCSI IP ADDRESS REMOVED" },
	{ 0x3f, 0x14, "iSCSI IP ADDRESS CHANGED" },
	{ 0x44, 0x00, "INTERNAL TARGET FAILURE" },
	{ 0x45, 0x00, "SELECT OR RESELECT FAILURE" },
	{ 0x47, 0x00, "SCSI PARITY ERROR" },
	{ 0x47, 0x01, "DATA PHASE CRC ERROR DETECTED" },
	{ 0x47, 0x03, "INFORMATION UNIT iuCRC ERROR DETECTED" },
	{ 0x47, 0x05, "PROTOCOL SERVICE CRC ERROR" },
	{ 0x48, 0x00, "INITIATOR DETECTED ERROR MESSAGE RECEIVED" },
	{ 0x49, 0x00, "INVALID MESSAGE ERROR" },
	{ 0x4b, 0x00, "DATA PHASE ERROR" },
	{ 0x4b, 0x02, "TOO MUCH WRITE DATA" },
	{ 0x4b, 0x03, "ACK/NAK TIMEOUT" },
	{ 0x4b, 0x04, "NAK RECEIVED" },
	{ 0x4b, 0x05, "DATA OFFSET ERROR" },
	{ 0x4b, 0x06, "INITIATOR RESPONSE TIMEOUT" },
	{ 0x4b, 0x07, "CONNECTION LOST" },
	{ 0x4c, 0x00, "LOGICAL UNIT FAILED SELF-CONFIGURATION" },
	{ 0x4e, 0x00, "OVERLAPPED COMMANDS ATTEMPTED" },
	{ 0x53, 0x02, "MEDIUM REMOVAL PREVENTED" },
	{ 0x55, 0x03, "INSUFFICIENT RESOURCES" },
	{ 0x55, 0x04, "INSUFFICIENT REGISTRATION RESOURCES" },
	{ 0x5d, 0x00, "FAILURE PREDICTION THRESHOLD EXCEEDED" },
	{ 0x5e, 0x00, "LOW POWER CONDITION ON" },
};

const char *sense_asc_name(uint8_t asc, uint8_t ascq)
{
	unsigned key = (unsigned)asc << 8 | ascq;
	size_t lo = 0, hi = sizeof(asc_table) / sizeof(asc_table[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		unsigned k = (unsigned)asc_table[mid].asc << 8 | asc_table[mid].ascq;
		if (k == key)
			return asc_table[mid].name;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

static int parse_fixed(const uint8_t *buf, size_t len, struct sense_info *s,
		       const char **why)
{
	if (len < 8)
		return fail(why, "fixed sense data shorter than 8 bytes", -EPROTO);
	/* Fields past ADDITIONAL SENSE LENGTH are not there even if the
	 * buffer runs on; fields past the buffer were cut by the sender. */
	size_t end = 8u + buf[7];
	if (end > len)
		end = len;

	s->key = buf[2] & 0x0f;
	s->filemark = buf[2] & 0x80;
	s->eom = buf[2] & 0x40;
	s->ili = buf[2] & 0x20;
	if (buf[0] & 0x80) {                            /* VALID */
		s->info_valid = true;
		s->info = get32(buf + 3);
	}
	if (end >= 12) {
		s->cmd_info_valid = true;
		s->cmd_info = get32(buf + 8);
	}
	if (end >= 14) {
		s->asc = buf[12];
		s->ascq = buf[13];
	}
	if (end >= 15)
		s->fru = buf[14];
	if (end >= 18 && (buf[15] & 0x80)) {            /* SKSV */
		s->sks_valid = true;
		memcpy(s->sks, buf + 15, 3);
	}
	return 0;
}

/* One descriptor of dl bytes after its 2-byte header. */
static int parse_desc(const uint8_t *d, size_t dl, struct sense_info *s,
		      const char **why)
{
	switch (d[0]) {
	case 0x00:                                      /* information */
		if (dl != 10)
			return fail(why, "information descriptor length not 10",
				    -EPROTO);
		s->info_valid = d[2] & 0x80;
		s->info = s->info_valid ? get64(d + 4) : 0;
		return 0;
	case 0x01:                                      /* command-specific */
		if (dl != 10)
			return fail(why, "command-specific descriptor length not 10",
				    -EPROTO);
		s->cmd_info_valid = true;
		s->cmd_info = get64(d + 4);
		return 0;
	case 0x02:                                      /* sense key specific */
		if (dl != 6)
			return fail(why, "sense key specific descriptor length not 6",
				    -EPROTO);
		s->sks_valid = d[4] & 0x80;
		memcpy(s->sks, d + 4, 3);
		return 0;
	case 0x03:                                      /* FRU */
		if (dl != 2)
			return fail(why, "FRU descriptor length not 2", -EPROTO);
		s->fru = d[3];
		return 0;
	case 0x04:                                      /* stream commands */
	case 0x05:                                      /* block commands */
		if (dl != 2)
			return fail(why, "stream/block descriptor length not 2",
				    -EPROTO);
		if (d[0] == 0x04) {
			s->filemark = d[3] & 0x80;
			s->eom = d[3] & 0x40;
		}
		s->ili = d[3] & 0x20;
		return 0;
	}
	return 0;   /* others carry nothing a host acts on */
}

static int parse_descriptor(const uint8_t *buf, size_t len,
			    struct sense_info *s, const char **why)
{
	if (len < 8)
		return fail(why, "descriptor sense data shorter than 8 bytes",
			    -EPROTO);
	s->key = buf[1] & 0x0f;
	s->asc = buf[2];
	s->ascq = buf[3];

	/* A buffer the sender cut short may end inside a descriptor: use
	 * what is whole. A complete buffer whose descriptors do not add up
	 * is malformed. */
	size_t claimed = 8u + buf[7];
	bool cut = claimed > len;
	size_t end = cut ? len : claimed;
	for (size_t pos = 8; pos < end;) {
		const uint8_t *d = buf + pos;
		if (end - pos < 2 || end - pos - 2 < d[1]) {
			if (cut)
				break;
			return fail(why, "sense descriptor runs past the data",
				    -EPROTO);
		}
		int rc = parse_desc(d, d[1], s, why);
		if (rc)
			return rc;
		pos += 2u + d[1];
	}
	return 0;
}

int sense_parse(const uint8_t *buf, size_t len, struct sense_info *s,
		const char **why)
{
	memset(s, 0, sizeof(*s));
	if (len == 0)
		return fail(why, "empty sense data", -EPROTO);
	s->response_code = buf[0] & 0x7f;
	switch (s->response_code) {
	case 0x70:
	case 0x71:
		s->deferred = s->response_code == 0x71;
		return parse_fixed(buf, len, s, why);
	case 0x72:
	case 0x73:
		s->descriptor = true;
		s->deferred = s->response_code == 0x73;
		return parse_descriptor(buf, len, s, why);
	}
	return fail(why, "unknown sense response code", -EPROTO);
}

int sense_parse_iscsi(const uint8_t *seg, size_t len, struct sense_info *s,
		      const char **why)
{
	if (len == 0)
		return fail(why, "no sense data", -ENODATA);
	if (len < 2)
		return fail(why, "SenseLength cut short", -EPROTO);
	size_t sl = (size_t)seg[0] << 8 | seg[1];
	if (sl == 0)
		return fail(why, "no sense data", -ENODATA);
	if (sl > len - 2)
		return fail(why, "data segment shorter than SenseLength", -EPROTO);
	return sense_parse(seg + 2, sl, s, why);
}

/* ---- formatting --------------------------------------------------------- */

/* Appends with snprintf at *pos; -ENOSPC once the text does not fit. */
static int append(size_t cap, size_t *pos, int n)
{
	if (n < 0 || (size_t)n >= cap - *pos) {
		*pos = cap - 1;
		return -ENOSPC;
	}
	*pos += (size_t)n;
	return 0;
}

int sense_format(const struct sense_info *s, char *buf, size_t cap)
{
	const char *asc = sense_asc_name(s->asc, s->ascq);
	size_t pos = 0;
	int rc;

	if (cap == 0)
		return -ENOSPC;
	if (asc)
		rc = append(cap, &pos,
			    snprintf(buf, cap, "%s: %s (%02x/%02x)",
				     sense_key_name(s->key), asc, s->asc, s->ascq));
	else
		rc = append(cap, &pos,
			    snprintf(buf, cap, "%s (%02x/%02x)",
				     sense_key_name(s->key), s->asc, s->ascq));
	if (!rc && s->deferred)
		rc = append(cap, &pos,
			    snprintf(buf + pos, cap - pos, " deferred"));
	if (!rc && s->info_valid)
		rc = append(cap, &pos,
			    snprintf(buf + pos, cap - pos, " info 0x%" PRIx64,
				     s->info));
	return rc ? rc : (int)pos;
}

/* ---- classification ----------------------------------------------------- */

static enum sense_class classify_not_ready(uint8_t asc, uint8_t ascq)
{
	if (asc != 0x04)
		return SENSE_NOT_READY;       /* 3a medium not present, ... */
	switch (ascq) {
	case 0x01:   /* becoming ready */
	case 0x04:   /* format in progress */
	case 0x05:   /* rebuild in progress */
	case 0x06:   /* recalculation in progress */
	case 0x07:   /* operation in progress */
	case 0x08:   /* long write in progress */
	case 0x09:   /* self-test in progress */
	case 0x0a:   /* ALUA state transition */
	case 0x13:   /* SA creation in progress */
	case 0x14:   /* space allocation in progress */
	case 0x1a:   /* START STOP UNIT in progress */
	case 0x1b:   /* sanitize in progress */
		return SENSE_NOT_READY_RETRY;
	case 0x0b:   /* target port in standby */
	case 0x0c:   /* target port unavailable */
		return SENSE_PATH_UNAVAILABLE;
	}
	return SENSE_NOT_READY;
}

static enum sense_class classify_ua(uint8_t asc, uint8_t ascq)
{
	unsigned pair = (unsigned)asc << 8 | ascq;

	switch (pair) {
	case 0x2a09:
		return SENSE_UA_CAPACITY;
	case 0x3f0e:
		return SENSE_UA_LUNS_CHANGED;
	case 0x3f03:
	case 0x3f05:
		return SENSE_UA_INQUIRY_CHANGED;
	case 0x2a06:
	case 0x2a07:
		return SENSE_UA_ALUA_CHANGED;
	}
	return SENSE_UA_RETRY;
}

enum sense_class sense_classify(const struct sense_info *s)
{
	if (s->deferred)
		return SENSE_DEFERRED;
	switch (s->key) {
	case SENSE_KEY_NO_SENSE:
	case SENSE_KEY_RECOVERED_ERROR:
	case SENSE_KEY_COMPLETED:
		return SENSE_OK;
	case SENSE_KEY_NOT_READY:
		return classify_not_ready(s->asc, s->ascq);
	case SENSE_KEY_MEDIUM_ERROR:
		return SENSE_MEDIUM_ERROR;
	case SENSE_KEY_HARDWARE_ERROR:
		return SENSE_HARDWARE_ERROR;
	case SENSE_KEY_ILLEGAL_REQUEST:
		return SENSE_ILLEGAL_REQUEST;
	case SENSE_KEY_UNIT_ATTENTION:
		return classify_ua(s->asc, s->ascq);
	case SENSE_KEY_DATA_PROTECT:
		return SENSE_DATA_PROTECT;
	case SENSE_KEY_ABORTED_COMMAND:
		return SENSE_ABORTED_RETRY;
	case SENSE_KEY_MISCOMPARE:
		return SENSE_MISCOMPARE;
	}
	return SENSE_OTHER;
}

bool sense_class_retryable(enum sense_class c)
{
	switch (c) {
	case SENSE_UA_RETRY:
	case SENSE_UA_CAPACITY:
	case SENSE_UA_LUNS_CHANGED:
	case SENSE_UA_INQUIRY_CHANGED:
	case SENSE_UA_ALUA_CHANGED:
	case SENSE_NOT_READY_RETRY:
	case SENSE_ABORTED_RETRY:
		return true;
	default:
		return false;
	}
}

const char *sense_class_name(enum sense_class c)
{
	switch (c) {
	case SENSE_OK:                 return "no error";
	case SENSE_UA_RETRY:           return "unit attention";
	case SENSE_UA_CAPACITY:        return "unit attention: capacity changed";
	case SENSE_UA_LUNS_CHANGED:    return "unit attention: LUNs changed";
	case SENSE_UA_INQUIRY_CHANGED: return "unit attention: inquiry data changed";
	case SENSE_UA_ALUA_CHANGED:    return "unit attention: access state changed";
	case SENSE_NOT_READY_RETRY:    return "not ready, becoming ready";
	case SENSE_NOT_READY:          return "not ready";
	case SENSE_PATH_UNAVAILABLE:   return "path unavailable";
	case SENSE_MEDIUM_ERROR:       return "medium error";
	case SENSE_HARDWARE_ERROR:     return "hardware error";
	case SENSE_ILLEGAL_REQUEST:    return "illegal request";
	case SENSE_DATA_PROTECT:       return "data protect";
	case SENSE_ABORTED_RETRY:      return "aborted command";
	case SENSE_MISCOMPARE:         return "miscompare";
	case SENSE_DEFERRED:           return "deferred error";
	case SENSE_OTHER:              return "other";
	}
	return "other";
}
