/* SPDX-License-Identifier: MIT */
#ifndef MCSI_VERSION_H
#define MCSI_VERSION_H

#define MCSI_VERSION_STRING "0.1.0"

/* Symbols of the public API carry default visibility; everything else in
 * libmcsi.so is hidden (the library is built with -fvisibility=hidden). */
#define MCSI_API __attribute__((visibility("default")))

/* The library's version, e.g. "0.1.0". Returns a static string. */
MCSI_API const char *mcsi_version(void);

#endif
