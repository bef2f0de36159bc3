/* SPDX-License-Identifier: MIT */
/* UNIX control sockets: listening with permissions, stale sockets, peer
 * credentials, whole frames blocking and accumulated. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervisor/ctlproto.h"
#include "supervisor/usock.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/mcsi-usock-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_listen_mode_and_stale(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int lfd, lfd2, cfd;

	assert_int_equal(usock_listen(f->path, 0600, (gid_t)-1, &lfd), 0);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	/* Somebody answers: refused, and the socket file is kept. */
	assert_int_equal(usock_listen(f->path, 0600, (gid_t)-1, &lfd2), -EADDRINUSE);
	assert_int_equal(lstat(f->path, &st), 0);
	/* A client connects and the server sees its credentials. */
	assert_int_equal(usock_connect(f->path, &cfd), 0);
	int sfd = accept(lfd, NULL, NULL);
	assert_true(sfd >= 0);
	pid_t pid;
	uid_t uid;
	gid_t gid;
	assert_int_equal(usock_peer(sfd, &pid, &uid, &gid), 0);
	assert_int_equal(pid, getpid());
	assert_int_equal(uid, geteuid());
	close(sfd);
	close(cfd);
	/* A dead daemon's socket is replaced, with the new mode. */
	close(lfd);
	assert_int_equal(usock_listen(f->path, 0660, (gid_t)-1, &lfd), 0);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	close(lfd);
	unlink(f->path);
	assert_int_equal(usock_connect(f->path, &cfd), -ENOENT);
	/* Not a socket: left alone. */
	int fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(usock_listen(f->path, 0600, (gid_t)-1, &lfd), -EEXIST);
	assert_int_equal(usock_connect(f->path, &cfd), -ECONNREFUSED);
	unlink(f->path);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(usock_listen(longp, 0600, (gid_t)-1, &lfd), -ENAMETOOLONG);
}

static void test_frames(void **state)
{
	int sv[2];
	char buf[64];
	size_t len;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(usock_send_frame(sv[0], "{\"op\":\"status\"}", 15, 1000), 0);
	assert_int_equal(usock_recv_frame(sv[1], buf, sizeof(buf), &len, 1000), 0);
	assert_int_equal(len, 15);
	assert_string_equal(buf, "{\"op\":\"status\"}");
	/* Nothing there: the deadline. */
	assert_int_equal(usock_recv_frame(sv[1], buf, sizeof(buf), &len, 50), -ETIMEDOUT);
	/* Bigger than the caller's buffer (which needs room for a NUL). */
	assert_int_equal(usock_send_frame(sv[0], "0123456789", 10, 1000), 0);
	assert_int_equal(usock_recv_frame(sv[1], buf, 10, &len, 1000), -EMSGSIZE);
	assert_int_equal(usock_send_frame(sv[0], "", 0, 1000), -EMSGSIZE);
	/* A frame cut short by EOF. */
	int sv2[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
	uint8_t hdr[4];
	cp_frame_header(hdr, 20);
	assert_int_equal(write(sv2[0], hdr, 4), 4);
	assert_int_equal(write(sv2[0], "abc", 3), 3);
	close(sv2[0]);
	assert_int_equal(usock_recv_frame(sv2[1], buf, sizeof(buf), &len, 1000), -ECONNRESET);
	close(sv2[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_rbuf(void **state)
{
	int sv[2];
	uint8_t store[64];
	struct usock_rbuf rb = { .buf = store, .cap = sizeof(store) };
	char *p;
	uint32_t len;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(usock_rbuf_fill(sv[1], &rb), -EAGAIN);
	/* Two frames, the second arriving in pieces. */
	assert_int_equal(usock_send_frame(sv[0], "{}", 2, 1000), 0);
	uint8_t hdr[4];
	cp_frame_header(hdr, 3);
	assert_int_equal(write(sv[0], hdr, 4), 4);
	assert_int_equal(write(sv[0], "[1", 2), 2);
	assert_true(usock_rbuf_fill(sv[1], &rb) > 0);
	assert_int_equal(usock_rbuf_frame(&rb, &p, &len), 1);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "{}", 2);
	usock_rbuf_consume(&rb, CP_HDR_LEN + len);
	assert_int_equal(usock_rbuf_frame(&rb, &p, &len), 0);
	assert_int_equal(write(sv[0], "]", 1), 1);
	assert_int_equal(usock_rbuf_fill(sv[1], &rb), 1);
	assert_int_equal(usock_rbuf_frame(&rb, &p, &len), 1);
	assert_memory_equal(p, "[1]", 3);
	usock_rbuf_consume(&rb, CP_HDR_LEN + len);
	assert_int_equal(rb.len, 0);
	/* A full buffer and an oversized header. */
	cp_frame_header(hdr, CP_FRAME_MAX + 1);
	assert_int_equal(write(sv[0], hdr, 4), 4);
	assert_true(usock_rbuf_fill(sv[1], &rb) > 0);
	assert_int_equal(usock_rbuf_frame(&rb, &p, &len), -EMSGSIZE);
	rb.len = rb.cap;
	assert_int_equal(usock_rbuf_fill(sv[1], &rb), -EMSGSIZE);
	rb.len = 0;
	close(sv[0]);
	assert_int_equal(usock_rbuf_fill(sv[1], &rb), 0);   /* EOF */
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_listen_mode_and_stale, setup, teardown),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_rbuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
