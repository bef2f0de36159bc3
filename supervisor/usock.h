/* SPDX-License-Identifier: MIT */
/*
 * UNIX stream sockets for the control protocol (ctlproto.h): listening
 * with checked permissions, the peer's credentials, and moving whole
 * frames, blocking with a deadline or accumulated without blocking.
 */
#ifndef MCSI_SUPERVISOR_USOCK_H
#define MCSI_SUPERVISOR_USOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * Listens on path with the socket file created at mode (umask 0177 while
 * binding, so it never exists with wider permissions) and, when gid is not
 * (gid_t)-1, given to that group. An existing socket file that nobody
 * answers on is replaced (a crashed daemon's); one that answers gives
 * -EADDRINUSE; anything else at path gives -EEXIST. -ENAMETOOLONG past
 * sun_path. The fd is non-blocking and close-on-exec. Returns 0 and *out,
 * or -errno.
 */
int usock_listen(const char *path, mode_t mode, gid_t gid, int *out);

/* Connects to path (blocking socket, close-on-exec). Returns 0 and *out,
 * or -errno: -ENOENT (no socket file), -ECONNREFUSED (nobody listens),
 * -EACCES (file permissions), -ENAMETOOLONG. */
int usock_connect(const char *path, int *out);

/* The peer's pid, uid and gid as the kernel recorded them at connect.
 * Returns 0 or -errno. */
int usock_peer(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/* Sends one frame (header + len payload bytes), waiting at most
 * timeout_ms for the socket to take it (blocking or not). Returns 0,
 * -ETIMEDOUT, -EPIPE, -EMSGSIZE (len 0 or over CP_FRAME_MAX), -errno. */
int usock_send_frame(int fd, const void *payload, size_t len, int timeout_ms);

/* Receives one frame into buf (cap > payload, NUL-terminated), waiting at
 * most timeout_ms in all. Returns 0 with *len, -ECONNRESET (EOF; also in
 * the middle of a frame), -ETIMEDOUT, -EMSGSIZE (bigger than cap - 1 or
 * CP_FRAME_MAX), -EPROTO (empty frame), -errno. */
int usock_recv_frame(int fd, char *buf, size_t cap, size_t *len, int timeout_ms);

/* Accumulates received bytes on a non-blocking socket. */
struct usock_rbuf {
	uint8_t *buf;
	size_t cap, len;
};

/* Reads what is available (one read() call). Returns the bytes read
 * (> 0), 0 at EOF, -EAGAIN, -EMSGSIZE when buf is full, or -errno. */
int usock_rbuf_fill(int fd, struct usock_rbuf *rb);
/* A complete frame at the start of rb: returns 1 with *payload (borrowed,
 * not NUL-terminated) and *len, 0 when incomplete, -EMSGSIZE / -EPROTO
 * as cp_frame_get(). Consume it with
 * usock_rbuf_consume(rb, CP_HDR_LEN + len) once done with the payload. */
int usock_rbuf_frame(struct usock_rbuf *rb, char **payload, uint32_t *len);
void usock_rbuf_consume(struct usock_rbuf *rb, size_t n);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t usock_now_ms(void);

#endif
