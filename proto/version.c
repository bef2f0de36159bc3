/* SPDX-License-Identifier: MIT */
#include "mcsi/version.h"

MCSI_API const char *mcsi_version(void)
{
	return MCSI_VERSION_STRING;
}
