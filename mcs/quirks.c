/* SPDX-License-Identifier: MIT */
/* Known target defects and the login offers that avoid them: quirks.h. */
#include "mcs/quirks.h"

#include <stddef.h>
#include <strings.h>

#define LIO_PREFIX "iqn.2003-01.org.linux-iscsi."
#define LIO_TIME2WAIT 5u

static bool is_lio(const char *target)
{
	return target && strncasecmp(target, LIO_PREFIX, sizeof(LIO_PREFIX) - 1) == 0;
}

const char *quirks_apply(const char *target, struct quirk_offer *o)
{
	bool erl = false, t2w = false;

	if (!is_lio(target))
		return NULL;
	if (o->erl > 1) {
		o->erl = 1;
		erl = true;
	}
	if (o->connections > 1 && o->time2wait == 0) {
		o->time2wait = LIO_TIME2WAIT;
		t2w = true;
	}
	if (erl && t2w)
		return "LIO target: ErrorRecoveryLevel 1 offered instead of 2 (LIO crashes when "
		       "a connection is recovered at ERL 2) and DefaultTime2Wait 5 (it crashes "
		       "reinstating a session whose connections are still closing)";
	if (erl)
		return "LIO target: ErrorRecoveryLevel 1 offered instead of 2 (LIO crashes when "
		       "a connection is recovered at ERL 2)";
	if (t2w)
		return "LIO target: DefaultTime2Wait 5 offered (it crashes reinstating a session "
		       "whose connections are still closing)";
	return NULL;
}
