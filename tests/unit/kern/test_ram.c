/* SPDX-License-Identifier: MIT */
/* kern/ram.c: the RAM backend's data, limits, resize, paths and faults. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kern/ram.h"

static struct kern_backend *ram(uint64_t blocks, uint32_t bs, bool async)
{
	struct kern_ram_opts o = { .blocks = blocks, .block_size = bs,
				   .max_blocks = blocks * 2, .identity = "naa.test",
				   .async = async };
	struct kern_backend *b = NULL;

	assert_int_equal(kern_ram_create(&o, &b), 0);
	return b;
}

static void test_bad_options(void **state)
{
	struct kern_ram_opts o = { .blocks = 8, .block_size = 1000 };
	struct kern_backend *b = NULL;

	(void)state;
	assert_int_equal(kern_ram_create(&o, &b), -EINVAL);
	o.block_size = 512;
	o.blocks = 0;
	assert_int_equal(kern_ram_create(&o, &b), -EINVAL);
	o.blocks = 8;
	o.max_blocks = 4;
	assert_int_equal(kern_ram_create(&o, &b), -EINVAL);
	assert_null(b);
}

static void test_geometry_identity(void **state)
{
	struct kern_backend *b = ram(64, 4096, false);
	struct kern_geometry g;

	(void)state;
	kern_geometry(b, &g);
	assert_int_equal(g.blocks, 64);
	assert_int_equal(g.block_size, 4096);
	assert_true(g.can_unmap);
	assert_true(g.unmap_zeroes);
	assert_int_equal(kern_size(b), 64 * 4096);
	assert_string_equal(b->identity, "naa.test");
	kern_backend_destroy(b);
}

static void test_scatter_roundtrip(void **state)
{
	struct kern_backend *b = ram(16, 512, false);
	uint8_t a[512], c[1024], back[1536];
	struct iovec w[2] = { { a, sizeof(a) }, { c, sizeof(c) } };
	struct kern_io io = { .op = KERN_OP_WRITE, .offset = 1024, .len = 1536,
			      .iov = w, .iovcnt = 2 };

	(void)state;
	memset(a, 0xa5, sizeof(a));
	for (size_t i = 0; i < sizeof(c); i++)
		c[i] = (uint8_t)i;
	assert_int_equal(kern_io_run(b, &io), 0);
	assert_memory_equal(kern_ram_data(b) + 1024, a, 512);
	assert_memory_equal(kern_ram_data(b) + 1536, c, 1024);
	assert_int_equal(kern_pread(b, back, sizeof(back), 1024), 0);
	assert_memory_equal(back, a, 512);
	assert_memory_equal(back + 512, c, 1024);
	assert_int_equal(kern_ram_completed(b), 2);
	kern_backend_destroy(b);
}

static void test_limits(void **state)
{
	struct kern_backend *b = ram(16, 512, false);
	uint8_t buf[1024] = { 0 };

	(void)state;
	assert_int_equal(kern_pread(b, buf, 512, 100), -EINVAL);       /* unaligned */
	assert_int_equal(kern_pread(b, buf, 100, 0), -EINVAL);
	assert_int_equal(kern_pread(b, buf, 1024, 15 * 512), -EINVAL); /* crosses the end */
	assert_int_equal(kern_pwrite(b, buf, 512, 16 * 512), -ENOSPC); /* starts beyond */
	assert_int_equal(kern_pread(b, buf, 512, 15 * 512), 0);
	assert_int_equal(kern_flush(b), 0);
	kern_backend_destroy(b);
}

static void test_unmap_and_zeroes(void **state)
{
	struct kern_backend *b = ram(64, 512, false);
	uint8_t buf[64 * 512];

	(void)state;
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(kern_pwrite(b, buf, sizeof(buf), 0), 0);
	assert_int_equal(kern_discard(b, 512, 1024, false), 0);
	assert_int_equal(kern_discard(b, 4096, 512, true), 0);
	assert_int_equal(kern_pread(b, buf, sizeof(buf), 0), 0);
	assert_int_equal(buf[511], 0xff);
	for (size_t i = 512; i < 1536; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[1536], 0xff);
	assert_int_equal(buf[4095], 0xff);
	assert_int_equal(buf[4096], 0);
	assert_int_equal(buf[4607], 0);
	assert_int_equal(buf[4608], 0xff);
	kern_backend_destroy(b);
}

static void test_resize(void **state)
{
	struct kern_backend *b = ram(8, 512, false);
	uint8_t buf[512];

	(void)state;
	memset(buf, 7, sizeof(buf));
	assert_int_equal(kern_pwrite(b, buf, 512, 7 * 512), 0);
	assert_int_equal(kern_pwrite(b, buf, 512, 8 * 512), -ENOSPC);
	assert_int_equal(kern_ram_resize(b, 16), 0);
	assert_int_equal(kern_size(b), 16 * 512);
	assert_int_equal(kern_pwrite(b, buf, 512, 15 * 512), 0);
	assert_int_equal(kern_ram_resize(b, 17), -EINVAL);   /* beyond the reservation */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(kern_pread(b, buf, 512, 7 * 512), 0);
	assert_int_equal(buf[0], 7);
	kern_backend_destroy(b);
}

static void test_paths_share_store(void **state)
{
	struct kern_backend *b = ram(8, 512, false), *p2 = NULL;
	uint8_t w[512], r[512];

	(void)state;
	assert_int_equal(kern_ram_add_path(b, &p2), 0);
	assert_string_equal(p2->identity, b->identity);
	memset(w, 0x3c, sizeof(w));
	assert_int_equal(kern_pwrite(b, w, 512, 0), 0);
	kern_backend_destroy(b);          /* the store lives on for p2 */
	assert_int_equal(kern_pread(p2, r, 512, 0), 0);
	assert_memory_equal(r, w, 512);
	kern_backend_destroy(p2);
}

static void test_fail_inline(void **state)
{
	struct kern_backend *b = ram(8, 512, false);
	uint8_t buf[512] = { 0 };

	(void)state;
	kern_ram_fail(b, -ENOTCONN, 2);
	assert_int_equal(kern_pread(b, buf, 512, 0), 0);
	assert_int_equal(kern_pread(b, buf, 512, 0), 0);
	assert_int_equal(kern_pread(b, buf, 512, 0), -ENOTCONN);
	assert_int_equal(kern_flush(b), -ENOTCONN);
	kern_ram_fail(b, 0, 0);
	assert_int_equal(kern_pread(b, buf, 512, 0), 0);
	kern_ram_fail(b, -EIO, 0);
	assert_int_equal(kern_pwrite(b, buf, 512, 0), -EIO);
	kern_backend_destroy(b);
}

struct batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned done, errors;
};

static void batch_done(struct kern_io *io)
{
	struct batch *bt = io->priv;

	pthread_mutex_lock(&bt->lock);
	bt->done++;
	if (io->err)
		bt->errors++;
	pthread_cond_signal(&bt->cond);
	pthread_mutex_unlock(&bt->lock);
}

static void test_async_many(void **state)
{
	enum { N = 256 };
	struct kern_backend *b = ram(N, 512, true);
	struct batch bt = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	static uint8_t bufs[N][512];
	struct iovec iov[N];
	struct kern_io io[N];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		memset(bufs[i], (int)i, 512);
		iov[i] = (struct iovec){ bufs[i], 512 };
		io[i] = (struct kern_io){ .op = KERN_OP_WRITE, .offset = i * 512u, .len = 512,
					  .iov = &iov[i], .iovcnt = 1, .done = batch_done,
					  .priv = &bt };
		assert_int_equal(kern_submit(b, &io[i]), 0);
	}
	pthread_mutex_lock(&bt.lock);
	while (bt.done < N)
		pthread_cond_wait(&bt.cond, &bt.lock);
	pthread_mutex_unlock(&bt.lock);
	assert_int_equal(bt.errors, 0);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(kern_ram_data(b)[i * 512 + 17], (uint8_t)i);
	/* A failing async path refuses new requests at submission. */
	kern_ram_fail(b, -ECONNRESET, 0);
	io[0].done = batch_done;
	assert_int_equal(kern_submit(b, &io[0]), -ECONNRESET);
	kern_backend_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_geometry_identity),
		cmocka_unit_test(test_scatter_roundtrip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_unmap_and_zeroes),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_paths_share_store),
		cmocka_unit_test(test_fail_inline),
		cmocka_unit_test(test_async_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
