/* SPDX-License-Identifier: MIT */
/* kern/mpath.c: grouping by identity, failover when a path starts failing
 * mid-I/O (inline and asynchronous completions), device errors not failed
 * over, round robin, retry of a failed path, removal. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kern/mpath.h"
#include "kern/ram.h"

struct rig {
	struct kern_mpath *m;
	struct kern_backend *p[2];
	struct kern_backend *lun;
};

static void rig_up(struct rig *r, bool async, bool rr, unsigned retry_ms)
{
	struct kern_ram_opts o = { .blocks = 2048, .block_size = 512,
				   .identity = "naa.6001405abcdef", .async = async };
	struct kern_mpath_opts mo = { .round_robin = rr, .retry_ms = retry_ms };
	struct kern_backend *lun2 = NULL;

	memset(r, 0, sizeof(*r));
	assert_int_equal(kern_ram_create(&o, &r->p[0]), 0);
	assert_int_equal(kern_ram_add_path(r->p[0], &r->p[1]), 0);
	assert_int_equal(kern_mpath_create(&mo, &r->m), 0);
	assert_int_equal(kern_mpath_add(r->m, r->p[0], &r->lun), 0);
	assert_int_equal(kern_mpath_add(r->m, r->p[1], &lun2), 0);
	assert_ptr_equal(r->lun, lun2);
}

static void rig_down(struct rig *r)
{
	for (int i = 0; i < 2; i++)
		assert_int_equal(kern_mpath_remove(r->m, r->p[i]), 0);
	kern_mpath_destroy(r->m);
	for (int i = 0; i < 2; i++)
		kern_backend_destroy(r->p[i]);
}

static void test_grouping(void **state)
{
	struct rig r;
	struct kern_ram_opts o = { .blocks = 16, .block_size = 512, .identity = "naa.other" };
	struct kern_ram_opts o4k = { .blocks = 16, .block_size = 4096,
				     .identity = "naa.6001405abcdef" };
	struct kern_backend *other, *odd, *lun;
	unsigned n, up;

	(void)state;
	rig_up(&r, false, false, 0);
	assert_string_equal(r.lun->identity, "naa.6001405abcdef");
	assert_int_equal(kern_size(r.lun), 2048 * 512);
	kern_mpath_count(r.lun, &n, &up);
	assert_int_equal(n, 2);
	assert_int_equal(up, 2);
	assert_int_equal(kern_mpath_add(r.m, r.p[0], &lun), -EEXIST);

	assert_int_equal(kern_ram_create(&o, &other), 0);
	assert_int_equal(kern_mpath_add(r.m, other, &lun), 0);
	assert_ptr_not_equal(lun, r.lun);           /* another device */
	assert_int_equal(kern_ram_create(&o4k, &odd), 0);
	assert_int_equal(kern_mpath_add(r.m, odd, &lun), -EINVAL);  /* block size */
	assert_int_equal(kern_mpath_remove(r.m, odd), -ENOENT);
	assert_int_equal(kern_mpath_remove(r.m, other), 0);
	kern_backend_destroy(other);
	kern_backend_destroy(odd);
	rig_down(&r);
}

static void test_failover_inline(void **state)
{
	struct rig r;
	uint8_t w[4096], back[4096];
	unsigned n, up;

	(void)state;
	rig_up(&r, false, false, 60000);
	kern_ram_fail(r.p[0], -ECONNRESET, 10);   /* dies after 10 requests */
	for (unsigned i = 0; i < 100; i++) {
		memset(w, (int)i, sizeof(w));
		assert_int_equal(kern_pwrite(r.lun, w, sizeof(w), (i % 64) * 4096u), 0);
		assert_int_equal(kern_pread(r.lun, back, sizeof(back), (i % 64) * 4096u), 0);
		assert_memory_equal(back, w, sizeof(w));
	}
	kern_mpath_count(r.lun, &n, &up);
	assert_int_equal(up, 1);
	/* path 0 served its 10 and saw one failure; path 1 all the rest */
	assert_int_equal(kern_ram_completed(r.p[0]), 11);
	assert_int_equal(kern_ram_completed(r.p[1]), 200 - 10);
	/* with both paths down the error reaches the caller */
	kern_ram_fail(r.p[1], -ENOTCONN, 0);
	assert_int_equal(kern_flush(r.lun), -ENOTCONN);
	rig_down(&r);
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

static void batch_wait(struct batch *bt, unsigned n)
{
	pthread_mutex_lock(&bt->lock);
	while (bt->done < n)
		pthread_cond_wait(&bt->cond, &bt->lock);
	pthread_mutex_unlock(&bt->lock);
}

/* Requests queued on path 0 when it dies complete there with an error and
 * must be replayed on path 1: none may reach the caller. */
static void test_failover_async_mid_io(void **state)
{
	enum { N = 1024 };
	static uint8_t bufs[N][512];
	static struct iovec iov[N];
	static struct kern_io io[N];
	struct batch bt = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	uint8_t back[512];
	struct rig r;

	(void)state;
	rig_up(&r, true, true, 60000);
	kern_ram_fail(r.p[0], -ENOTCONN, 200);
	for (unsigned i = 0; i < N; i++) {
		memset(bufs[i], (int)(i * 7 + 1), 512);
		iov[i] = (struct iovec){ bufs[i], 512 };
		io[i] = (struct kern_io){ .op = KERN_OP_WRITE, .offset = (i % 2048) * 512u,
					  .len = 512, .iov = &iov[i], .iovcnt = 1,
					  .done = batch_done, .priv = &bt };
		assert_int_equal(kern_submit(r.lun, &io[i]), 0);
	}
	batch_wait(&bt, N);
	assert_int_equal(bt.errors, 0);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(kern_pread(r.lun, back, 512, i * 512u), 0);
		assert_memory_equal(back, bufs[i], 512);
	}
	assert_true(kern_ram_completed(r.p[0]) >= 100);   /* it did work before */
	rig_down(&r);
}

static void test_device_error_not_failed_over(void **state)
{
	struct rig r;
	uint8_t buf[512];
	unsigned n, up;

	(void)state;
	rig_up(&r, false, false, 0);
	kern_ram_fail(r.p[0], -EIO, 0);            /* a medium error, not a path */
	assert_int_equal(kern_pread(r.lun, buf, 512, 0), -EIO);
	kern_mpath_count(r.lun, &n, &up);
	assert_int_equal(up, 2);
	assert_int_equal(kern_ram_completed(r.p[1]), 0);
	/* malformed requests are refused without touching a path state */
	assert_int_equal(kern_pread(r.lun, buf, 100, 0), -EIO);
	kern_ram_fail(r.p[0], 0, 0);
	assert_int_equal(kern_pread(r.lun, buf, 100, 0), -EINVAL);
	rig_down(&r);
}

static void test_round_robin(void **state)
{
	struct rig r;
	uint8_t buf[512];

	(void)state;
	rig_up(&r, false, true, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(kern_pread(r.lun, buf, 512, 0), 0);
	assert_int_equal(kern_ram_completed(r.p[0]), 5);
	assert_int_equal(kern_ram_completed(r.p[1]), 5);
	rig_down(&r);

	rig_up(&r, false, false, 0);              /* failover only: one path */
	for (int i = 0; i < 10; i++)
		assert_int_equal(kern_pread(r.lun, buf, 512, 0), 0);
	assert_int_equal(kern_ram_completed(r.p[0]), 10);
	assert_int_equal(kern_ram_completed(r.p[1]), 0);
	rig_down(&r);
}

static void test_retry_and_set_up(void **state)
{
	struct rig r;
	uint8_t buf[512];
	unsigned n, up;

	(void)state;
	rig_up(&r, false, false, 20);
	kern_ram_fail(r.p[0], -ENOTCONN, 0);
	assert_int_equal(kern_pread(r.lun, buf, 512, 0), 0);   /* on path 1 */
	kern_mpath_count(r.lun, &n, &up);
	assert_int_equal(up, 1);
	kern_ram_fail(r.p[0], 0, 0);                          /* it heals */
	assert_int_equal(kern_pread(r.lun, buf, 512, 0), 0);   /* too soon: path 1 */
	assert_int_equal(kern_ram_completed(r.p[0]), 1);
	usleep(40 * 1000);
	assert_int_equal(kern_pread(r.lun, buf, 512, 0), 0);   /* retried, works */
	assert_int_equal(kern_ram_completed(r.p[0]), 2);
	kern_mpath_count(r.lun, &n, &up);
	assert_int_equal(up, 2);

	assert_int_equal(kern_mpath_set_up(r.m, r.p[0], false), 0);
	kern_mpath_count(r.lun, &n, &up);
	assert_int_equal(up, 1);
	assert_int_equal(kern_mpath_set_up(r.m, r.p[0], true), 0);
	kern_mpath_count(r.lun, &n, &up);
	assert_int_equal(up, 2);
	rig_down(&r);
}

static void test_remove_last_path(void **state)
{
	struct rig r;
	uint8_t buf[512];
	struct kern_backend *lun;

	(void)state;
	rig_up(&r, false, false, 0);
	assert_int_equal(kern_mpath_remove(r.m, r.p[0]), 0);
	assert_int_equal(kern_pread(r.lun, buf, 512, 0), 0);
	assert_int_equal(kern_mpath_remove(r.m, r.p[1]), 0);
	assert_int_equal(kern_pread(r.lun, buf, 512, 0), -ENOTCONN);
	assert_int_equal(kern_size(r.lun), 0);
	/* a path that comes back joins the same group */
	assert_int_equal(kern_mpath_add(r.m, r.p[1], &lun), 0);
	assert_ptr_equal(lun, r.lun);
	assert_int_equal(kern_pread(r.lun, buf, 512, 0), 0);
	assert_int_equal(kern_mpath_add(r.m, r.p[0], &lun), 0);
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_failover_inline),
		cmocka_unit_test(test_failover_async_mid_io),
		cmocka_unit_test(test_device_error_not_failed_over),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_retry_and_set_up),
		cmocka_unit_test(test_remove_last_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
