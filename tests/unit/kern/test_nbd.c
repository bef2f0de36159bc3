/* SPDX-License-Identifier: MIT */
/* kern/nbd.c: the server on a UNIX socket, spoken to in raw bytes: the
 * handshake, writes and reads landing in a RAM backend, a bad request
 * whose payload must be drained, flush, trim, disconnect. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "kern/nbd.h"
#include "kern/nbd_proto.h"
#include "kern/ram.h"

struct rig {
	struct kern_backend *b;
	struct kern_nbd *n;
	char path[64];
	int fd;
};

static void xread(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		assert_true(r > 0);
		p += r;
		len -= (size_t)r;
	}
}

static void xwrite(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static int setup(void **state)
{
	static struct rig r;
	struct kern_ram_opts o = { .blocks = 256, .block_size = 512, .identity = "t" };
	struct kern_nbd_opts no = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(r.path, sizeof(r.path), "/tmp/kern-nbd-test.%d", (int)getpid());
	no.unix_path = r.path;
	assert_int_equal(kern_ram_create(&o, &r.b), 0);
	assert_int_equal(kern_nbd_create(&no, &r.n), 0);
	assert_int_equal(kern_nbd_add(r.n, "lun0", r.b), 0);
	assert_int_equal(kern_nbd_add(r.n, "lun0", r.b), -EEXIST);
	r.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, r.path);
	assert_int_equal(connect(r.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	close(r->fd);
	kern_nbd_destroy(r->n);
	kern_backend_destroy(r->b);
	assert_int_not_equal(access(r->path, F_OK), 0);   /* socket removed */
	return 0;
}

static void request(int fd, uint16_t type, uint64_t cookie, uint64_t off, uint32_t len)
{
	uint8_t h[28] = { 0x25, 0x60, 0x95, 0x13, 0, 0, 0, (uint8_t)type };

	put64(h + 8, cookie);
	put64(h + 16, off);
	put32(h + 24, len);
	xwrite(fd, h, sizeof(h));
}

static uint32_t reply(int fd, uint64_t cookie)
{
	uint8_t h[16], want[8];

	xread(fd, h, sizeof(h));
	assert_memory_equal(h, ((uint8_t[]){ 0x67, 0x44, 0x66, 0x98 }), 4);
	put64(want, cookie);
	assert_memory_equal(h + 8, want, 8);
	return (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
}

/* Greeting, client flags, NBD_OPT_GO "lun0" with no information
 * requests; leaves the first reply header in rep. */
static void go_lun0(int fd, uint8_t rep[20])
{
	uint8_t greet[18], cf[4] = { 0, 0, 0, 3 }, opt[16 + 12];

	xread(fd, greet, 18);
	assert_memory_equal(greet, "NBDMAGICIHAVEOPT", 16);
	xwrite(fd, cf, sizeof(cf));
	memcpy(opt, "IHAVEOPT", 8);
	put32(opt + 8, NBD_OPT_GO);
	put32(opt + 12, 10);
	memcpy(opt + 16, (uint8_t[]){ 0, 0, 0, 4, 'l', 'u', 'n', '0', 0, 0 }, 10);
	xwrite(fd, opt, 26);
	xread(fd, rep, 20);
}

static void test_session(void **state)
{
	struct rig *r = *state;
	uint8_t rep[20];
	uint8_t data[1024], back[1024];

	go_lun0(r->fd, rep);                   /* NBD_REP_INFO, export */
	assert_int_equal(rep[15], NBD_REP_INFO);
	assert_int_equal(rep[19], 12);
	xread(r->fd, data, 12);
	assert_int_equal(data[7], 0x02);       /* size 256 * 512 = 0x20000 */
	xread(r->fd, rep, sizeof(rep));        /* NBD_REP_ACK */
	assert_int_equal(rep[15], NBD_REP_ACK);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	request(r->fd, NBD_CMD_WRITE, 1, 4096, sizeof(data));
	xwrite(r->fd, data, sizeof(data));
	assert_int_equal(reply(r->fd, 1), 0);
	assert_memory_equal(kern_ram_data(r->b) + 4096, data, sizeof(data));

	request(r->fd, NBD_CMD_READ, 2, 4096, sizeof(back));
	assert_int_equal(reply(r->fd, 2), 0);
	xread(r->fd, back, sizeof(back));
	assert_memory_equal(back, data, sizeof(data));

	/* an unaligned write: its payload is drained, the stream stays in step */
	request(r->fd, NBD_CMD_WRITE, 3, 100, 300);
	xwrite(r->fd, data, 300);
	assert_int_equal(reply(r->fd, 3), NBD_EINVAL);
	request(r->fd, NBD_CMD_READ, 4, 256 * 512, 512);     /* beyond the end */
	assert_int_equal(reply(r->fd, 4), NBD_EINVAL);

	request(r->fd, NBD_CMD_FLUSH, 5, 0, 0);
	assert_int_equal(reply(r->fd, 5), 0);
	request(r->fd, NBD_CMD_TRIM, 6, 4000, 700);   /* only block 4096..4608 is whole */
	assert_int_equal(reply(r->fd, 6), 0);
	assert_int_equal(kern_ram_data(r->b)[4096 + 1], 0);
	assert_int_equal(kern_ram_data(r->b)[4608 + 1], data[512 + 1]);
	request(r->fd, NBD_CMD_WRITE_ZEROES, 7, 4608, 512);
	assert_int_equal(reply(r->fd, 7), 0);
	assert_int_equal(kern_ram_data(r->b)[4608 + 1], 0);

	request(r->fd, NBD_CMD_DISC, 8, 0, 0);
	assert_int_equal(read(r->fd, back, 1), 0);   /* the server hangs up */
}

/* An export in use cannot be removed; once its client is gone it can,
 * and a new client cannot choose it any more. */
static void test_remove(void **state)
{
	struct rig *r = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t rep[20], data[12];
	int rc = -EBUSY;

	go_lun0(r->fd, rep);
	assert_int_equal(rep[15], NBD_REP_INFO);
	xread(r->fd, data, 12);
	xread(r->fd, rep, sizeof(rep));
	assert_int_equal(rep[15], NBD_REP_ACK);
	assert_int_equal(kern_nbd_remove(r->n, "lun0"), -EBUSY);
	assert_int_equal(kern_nbd_remove(r->n, "nope"), -ENOENT);
	request(r->fd, NBD_CMD_DISC, 1, 0, 0);
	assert_int_equal(read(r->fd, data, 1), 0);
	for (int i = 0; i < 200 && rc == -EBUSY; i++) {   /* its thread ends */
		rc = kern_nbd_remove(r->n, "lun0");
		if (rc == -EBUSY)
			usleep(5000);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(kern_nbd_remove(r->n, "lun0"), -ENOENT);

	close(r->fd);
	r->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, r->path);
	assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	go_lun0(r->fd, rep);
	assert_true(rep[12] & 0x80);           /* an error reply: no such export */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
