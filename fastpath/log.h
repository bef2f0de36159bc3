/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event on stderr (the journal picks it up under
 * systemd), prefixed with the level and, for events about a target, the
 * peer's address. Peer-supplied strings must go through text_escape()
 * before they reach a format string argument.
 *
 * The threshold comes from MCSI_LOG (error, warn, info, debug; default
 * info), read at each call so that there is no global state; logging is
 * never on the I/O fast path.
 */
#ifndef MCSI_FASTPATH_LOG_H
#define MCSI_FASTPATH_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* peer may be NULL. */
void log_msg(enum log_level lvl, const char *peer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int log_enabled(enum log_level lvl);

#define log_err(...)   log_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_peer_err(peer, ...)   log_msg(LOG_ERR, peer, __VA_ARGS__)
#define log_peer_warn(peer, ...)  log_msg(LOG_WARN, peer, __VA_ARGS__)
#define log_peer_info(peer, ...)  log_msg(LOG_INFO, peer, __VA_ARGS__)
#define log_peer_debug(peer, ...) log_msg(LOG_DEBUG, peer, __VA_ARGS__)

#endif
