/* SPDX-License-Identifier: MIT */
/* The transports behind struct xport_ops, over a real socketpair: io_uring
 * and epoll run the same cases (send and receive, callbacks only in reap,
 * partial sends resumed by the caller, wake-ups from another thread,
 * detach with a receive in flight, delayed receives, lazy sends), plus
 * backend selection by name. A backend the kernel refuses is skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastpath/xport.h"

struct tconn {
	struct xport_conn xc;         /* first: callbacks cast back */
	ssize_t sent, got;
	int nsend, nrecv;
};

static void on_send(struct xport_conn *xc, ssize_t res)
{
	struct tconn *t = (struct tconn *)(void *)xc;

	t->sent = res;
	t->nsend++;
}

static void on_recv(struct xport_conn *xc, ssize_t res)
{
	struct tconn *t = (struct tconn *)(void *)xc;

	t->got = res;
	t->nrecv++;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct fixture {
	struct xport *x;
	struct tconn c;
	int peer;                     /* the other end, blocking */
};

static struct fixture *setup_backend(const char *name)
{
	static struct fixture f;
	int sv[2];
	struct xport_cfg cfg = { .depth = 8 };

	memset(&f, 0, sizeof(f));
	if (xport_create(name, &cfg, &f.x) < 0)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return NULL;
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	f.peer = sv[1];
	f.c.xc.fd = sv[0];
	f.c.xc.on_send = on_send;
	f.c.xc.on_recv = on_recv;
	if (xport_attach(f.x, &f.c.xc) < 0)
		return NULL;
	return &f;
}

static void teardown_backend(struct fixture *f)
{
	xport_detach(f->x, &f->c.xc);
	close(f->c.xc.fd);
	close(f->peer);
	xport_destroy(f->x);
}

/* Waits and reaps until cond or about a second passed. */
#define RUN_UNTIL(f, cond)                                              \
	do {                                                            \
		for (int _i = 0; _i < 100 && !(cond); _i++) {           \
			assert_true(xport_wait((f)->x, 10) >= 0);       \
			xport_reap((f)->x);                             \
		}                                                       \
		assert_true(cond);                                      \
	} while (0)

static void case_roundtrip(struct fixture *f)
{
	char a[] = "hello ", b[] = "world", in[64] = { 0 };
	struct iovec sv[2] = { { a, 6 }, { b, 5 } }, rv[2] = { { in, 4 }, { in + 4, 60 } };

	assert_int_equal(xport_send(f->x, &f->c.xc, sv, 2), 0);
	assert_int_equal(xport_send(f->x, &f->c.xc, sv, 2), -EBUSY);
	/* Completions run in reap(), never in wait(). */
	assert_true(xport_wait(f->x, 100) >= 0);
	RUN_UNTIL(f, f->c.nsend == 1);
	assert_int_equal(f->c.sent, 11);
	char back[16];
	assert_int_equal(read(f->peer, back, sizeof(back)), 11);
	assert_memory_equal(back, "hello world", 11);

	assert_int_equal(xport_recv(f->x, &f->c.xc, rv, 2), 0);
	assert_int_equal(xport_recv(f->x, &f->c.xc, rv, 2), -EBUSY);
	assert_int_equal(write(f->peer, "abcdefgh", 8), 8);
	RUN_UNTIL(f, f->c.nrecv == 1);
	assert_int_equal(f->c.got, 8);
	assert_memory_equal(in, "abcdefgh", 8);

	/* End of stream. */
	assert_int_equal(xport_recv(f->x, &f->c.xc, rv, 1), 0);
	shutdown(f->peer, SHUT_WR);
	RUN_UNTIL(f, f->c.nrecv == 2);
	assert_int_equal(f->c.got, 0);
}

/* A send larger than the socket buffer completes once the peer reads:
 * whole with io_uring (MSG_WAITALL), possibly short with epoll. */
static void case_large_send(struct fixture *f)
{
	static char big[4u << 20], sink[1u << 16];
	struct iovec v = { big, sizeof(big) };
	size_t total = 0;

	memset(big, 0x5a, sizeof(big));
	fcntl(f->peer, F_SETFL, fcntl(f->peer, F_GETFL) | O_NONBLOCK);
	assert_int_equal(xport_send(f->x, &f->c.xc, &v, 1), 0);
	for (int i = 0; i < 10000 && f->c.nsend == 0; i++) {
		ssize_t n = read(f->peer, sink, sizeof(sink));
		if (n > 0)
			total += (size_t)n;
		assert_true(xport_wait(f->x, 0) >= 0);
		xport_reap(f->x);
	}
	assert_int_equal(f->c.nsend, 1);
	assert_true(f->c.sent > 0);
	/* A short send is the caller's to resume; io_uring finishes it. */
	assert_true((size_t)f->c.sent <= sizeof(big));
	ssize_t n;
	while ((n = read(f->peer, sink, sizeof(sink))) > 0)
		total += (size_t)n;
	assert_int_equal(total, (size_t)f->c.sent);
}

struct waker {
	struct xport *x;
	unsigned delay_ms;
};

static void *wake_later(void *arg)
{
	struct waker *w = arg;
	struct timespec ts = { 0, (long)w->delay_ms * 1000000L };

	nanosleep(&ts, NULL);
	xport_wake(w->x);
	return NULL;
}

static void case_wake(struct fixture *f)
{
	pthread_t th;
	struct waker w = { f->x, 50 };
	char in[8];
	struct iovec rv = { in, sizeof(in) };
	int woke = 0;

	assert_int_equal(xport_recv(f->x, &f->c.xc, &rv, 1), 0);
	uint64_t t0 = now_us();
	pthread_create(&th, NULL, wake_later, &w);
	/* Sleeps "forever" and returns on the wake-up (a wait may also end
	 * early, e.g. interrupted: the caller just waits again). */
	for (int i = 0; i < 100 && !woke; i++) {
		assert_true(xport_wait(f->x, 5000) >= 0);
		woke = xport_reap(f->x);       /* the wake-up counts */
	}
	uint64_t dt = now_us() - t0;
	pthread_join(th, NULL);
	assert_true(woke >= 1);
	assert_true(dt >= 40000 && dt < 4000000);
	assert_int_equal(f->c.nrecv, 0);
}

static void case_detach_in_flight(struct fixture *f)
{
	char in[8];
	struct iovec rv = { in, sizeof(in) };

	assert_int_equal(xport_recv(f->x, &f->c.xc, &rv, 1), 0);
	assert_true(xport_wait(f->x, 0) >= 0);
	xport_detach(f->x, &f->c.xc);
	assert_false(f->c.xc.recv_busy);
	/* io_uring shuts the socket down (nothing may stay in flight), so
	 * the peer may get EPIPE; either way no callback may come. */
	ssize_t sent = send(f->peer, "x", 1, MSG_NOSIGNAL);
	assert_true(sent == 1 || (sent < 0 && errno == EPIPE));
	for (int i = 0; i < 5; i++) {
		assert_true(xport_wait(f->x, 5) >= 0);
		xport_reap(f->x);
	}
	assert_int_equal(f->c.nrecv, 0);          /* no callback after detach */
	assert_int_equal(xport_attach(f->x, &f->c.xc), 0);
}

/* Detach while a delayed receive's delay has just run out on a silent
 * peer: the receive may only be issued after the cancel looked for it,
 * and detach must still return with nothing in flight. */
static void case_detach_delayed(struct fixture *f)
{
	char in[8];
	struct iovec rv = { in, sizeof(in) };

	for (int round = 0; round < 20; round++) {
		assert_int_equal(xport_recv_after(f->x, &f->c.xc, &rv, 1, 1000), 0);
		assert_true(xport_wait(f->x, 0) >= 0);
		usleep(2000);
		xport_detach(f->x, &f->c.xc);
		assert_false(f->c.xc.recv_busy || f->c.xc.send_busy);
		assert_int_equal(f->c.nrecv, 0);
		if (round < 19) {
			/* Each round on a new socket: the old one is shut down. */
			int sv[2];
			close(f->c.xc.fd);
			close(f->peer);
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
			fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
			f->peer = sv[1];
			f->c.xc.fd = sv[0];
			assert_int_equal(xport_attach(f->x, &f->c.xc), 0);
		}
	}
	assert_int_equal(xport_attach(f->x, &f->c.xc), 0);
}

/* A delayed receive takes what arrived meanwhile in one completion. */
static void case_recv_after(struct fixture *f)
{
	char in[64] = { 0 };
	struct iovec rv = { in, sizeof(in) };

	assert_int_equal(xport_recv_after(f->x, &f->c.xc, &rv, 1, 20000), 0);
	uint64_t t0 = now_us();
	assert_true(xport_wait(f->x, 0) >= 0);
	assert_int_equal(write(f->peer, "ab", 2), 2);
	assert_int_equal(write(f->peer, "cd", 2), 2);
	RUN_UNTIL(f, f->c.nrecv == 1);
	assert_int_equal(f->c.got, 4);
	assert_memory_equal(in, "abcd", 4);
	if (xport_can_delay(f->x))
		assert_true(now_us() - t0 >= 19000);
}

/* A lazy send's completion alone does not end a wait, the receive does
 * (or the backend's short guard); both callbacks run in one reap. */
static void case_lazy_send(struct fixture *f)
{
	char in[8], out[4] = "ping";
	struct iovec rv = { in, sizeof(in) }, sv = { out, 4 };

	assert_int_equal(xport_recv(f->x, &f->c.xc, &rv, 1), 0);
	f->c.xc.send_lazy = true;
	assert_int_equal(xport_send(f->x, &f->c.xc, &sv, 1), 0);
	f->c.xc.send_lazy = false;
	assert_int_equal(write(f->peer, "pong", 4), 4);
	RUN_UNTIL(f, f->c.nrecv == 1 && f->c.nsend == 1);
	assert_int_equal(f->c.sent, 4);
	assert_int_equal(f->c.got, 4);
	char back[4];
	assert_int_equal(read(f->peer, back, 4), 4);
}

static void run_cases(const char *name)
{
	void (*cases[])(struct fixture *) = {
		case_roundtrip, case_large_send, case_wake, case_detach_in_flight,
		case_detach_delayed, case_recv_after, case_lazy_send,
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture *f = setup_backend(name);
		if (!f) {
			print_message("%s: not available here, skipped\n", name);
			skip();
			return;
		}
		assert_string_equal(xport_name(f->x), name);
		cases[i](f);
		teardown_backend(f);
	}
}

static void test_io_uring(void **state)
{
	(void)state;
	run_cases("io_uring");
}

static void test_epoll(void **state)
{
	(void)state;
	run_cases("epoll");
}

/* A TCP connection over loopback (zero-copy sends need a TCP socket). */
static int tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return -1;
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	sv[1] = accept(l, NULL, NULL);
	close(l);
	return sv[1] < 0 ? -1 : 0;
}

/* io_uring zero-copy send: the callback runs once, with the whole length,
 * after the kernel's notification; the bytes arrive intact. */
static void test_io_uring_zerocopy(void **state)
{
	(void)state;
	static char big[1u << 20], sink[1u << 20];
	struct xport_cfg cfg = { .depth = 8, .zerocopy = true };
	struct xport *x;
	struct tconn c;
	int sv[2] = { -1, -1 };

	if (xport_create("io_uring", &cfg, &x) < 0) {
		skip();
		return;
	}
	assert_int_equal(tcp_pair(sv), 0);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
	memset(&c, 0, sizeof(c));
	c.xc.fd = sv[0];
	c.xc.on_send = on_send;
	c.xc.on_recv = on_recv;
	c.xc.zerocopy = true;
	assert_int_equal(xport_attach(x, &c.xc), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 31 + 7);
	struct iovec v[2] = { { big, 100000 }, { big + 100000, sizeof(big) - 100000 } };
	assert_int_equal(xport_send(x, &c.xc, v, 2), 0);
	size_t got = 0;
	/* Bounded by time, not turns: on a loaded machine the notification
	 * can take a while. */
	uint64_t until = now_us() + 10000000u;
	while ((c.nsend == 0 || got < sizeof(big)) && now_us() < until) {
		ssize_t n = read(sv[1], sink + got, sizeof(sink) - got);
		if (n > 0)
			got += (size_t)n;
		assert_true(xport_wait(x, n > 0 ? 0 : 1) >= 0);
		xport_reap(x);
	}
	assert_int_equal(c.nsend, 1);
	assert_int_equal(c.sent, (ssize_t)sizeof(big));
	assert_int_equal(got, sizeof(big));
	assert_memory_equal(sink, big, sizeof(big));
	if (c.xc.zc_sends == 0)
		print_message("zero-copy send not offered by this kernel\n");
	/* Below the threshold: an ordinary send. */
	uint64_t zc = c.xc.zc_sends;
	struct iovec small = { big, 4096 };
	assert_int_equal(xport_send(x, &c.xc, &small, 1), 0);
	for (int i = 0; i < 1000 && c.nsend == 1; i++) {
		assert_true(xport_wait(x, 1) >= 0);
		xport_reap(x);
	}
	assert_int_equal(c.nsend, 2);
	assert_int_equal(c.xc.zc_sends, zc);
	xport_detach(x, &c.xc);
	close(sv[0]);
	close(sv[1]);
	xport_destroy(x);
}

/* A zero-copy send whose data the peer never takes: the send completes
 * (all queued) but the kernel's notification only comes when the data is
 * freed. Closing the connection must not wait for TCP to give up. */
static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "detach hung on a zero-copy notification\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	(void)w;
	_exit(1);
}

static void test_io_uring_zerocopy_detach(void **state)
{
	(void)state;
	static char big[1u << 20];
	struct xport_cfg cfg = { .depth = 8, .zerocopy = true };
	struct xport *x;
	struct tconn c;
	int sv[2] = { -1, -1 }, small = 4096, large = 4 << 20;

	if (xport_create("io_uring", &cfg, &x) < 0) {
		skip();
		return;
	}
	assert_int_equal(tcp_pair(sv), 0);
	/* The peer's window stays small and shut: the data waits in our
	 * send queue, where only the kernel's freeing ends the send. */
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &large, sizeof(large)) < 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &large, sizeof(large));
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	memset(&c, 0, sizeof(c));
	c.xc.fd = sv[0];
	c.xc.on_send = on_send;
	c.xc.on_recv = on_recv;
	c.xc.zerocopy = true;
	assert_int_equal(xport_attach(x, &c.xc), 0);
	struct iovec v = { big, sizeof(big) };
	assert_int_equal(xport_send(x, &c.xc, &v, 1), 0);
	for (int i = 0; i < 200 && !c.xc.zc_notif_wait && c.nsend == 0; i++) {
		assert_true(xport_wait(x, 10) >= 0);
		xport_reap(x);
	}
	if (c.xc.zc_sends == 0 || !c.xc.zc_notif_wait) {
		print_message("no zero-copy send left waiting for its notification here\n");
		xport_detach(x, &c.xc);
		close(sv[0]);
		close(sv[1]);
		xport_destroy(x);
		skip();
		return;
	}
	signal(SIGALRM, on_alarm);
	alarm(10);
	xport_detach(x, &c.xc);
	alarm(0);
	assert_false(c.xc.send_busy);
	assert_int_equal(c.nsend, 0);             /* no callback after detach */
	close(sv[0]);
	close(sv[1]);
	xport_destroy(x);
}

static void test_create_by_name(void **state)
{
	(void)state;
	struct xport *x;
	struct xport_cfg cfg = { .depth = 4 };

	assert_int_equal(xport_create("nope", &cfg, &x), -ENOENT);
	assert_int_equal(xport_create("fake", &cfg, &x), 0);
	assert_string_equal(xport_name(x), "fake");
	xport_destroy(x);
	/* The default is io_uring where the kernel allows it, else epoll. */
	assert_int_equal(xport_create(NULL, &cfg, &x), 0);
	assert_true(!strcmp(xport_name(x), "io_uring") || !strcmp(xport_name(x), "epoll"));
	xport_destroy(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_uring),
		cmocka_unit_test(test_epoll),
		cmocka_unit_test(test_io_uring_zerocopy),
		cmocka_unit_test(test_io_uring_zerocopy_detach),
		cmocka_unit_test(test_create_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
