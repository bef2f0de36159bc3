/* SPDX-License-Identifier: MIT */
/*
 * Known target defects, and what mcsi offers at login to stay clear of
 * them (docs/design/recovery.md section 9). Applied to a session's login
 * wishes unless mcsi_opts.quirks is MCSI_QUIRKS_OFF. A target is known by
 * its name alone, so that the very first login already avoids the defect.
 *
 *   LIO (Linux's kernel target; targetcli names its targets
 *   iqn.2003-01.org.linux-iscsi.*), kernels 6.1 and 6.12 at least:
 *     - ERL 2: any connection lost with commands in flight frees the
 *       connection's command counter under its connection-recovery
 *       commands, and the kernel crashes when they are released. Offer
 *       ErrorRecoveryLevel 1 at most: a lost connection then costs a
 *       session reinstatement, never the target.
 *     - A session reinstatement while two connections of the old
 *       session are still closing crashes it (iscsit_stop_session):
 *       with more than one connection, DefaultTime2Wait 5 unless the
 *       caller chose one.
 *
 * Pure: no I/O, no allocation.
 */
#ifndef MCSI_MCS_QUIRKS_H
#define MCSI_MCS_QUIRKS_H

#include <stdbool.h>

/* What a login offers that a quirk may change. */
struct quirk_offer {
	unsigned erl;            /* ErrorRecoveryLevel, 0..2 */
	unsigned connections;    /* wished for the session */
	unsigned time2wait;      /* DefaultTime2Wait, s; 0: the RFC's 2 */
};

/* Adjusts *o for target (its iSCSI name). Returns a static sentence for
 * the log naming the quirk applied ("LIO: ..."), or NULL when none was
 * needed. */
const char *quirks_apply(const char *target, struct quirk_offer *o);

#endif
