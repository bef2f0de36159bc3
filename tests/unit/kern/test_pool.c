/* SPDX-License-Identifier: MIT */
/* kern/pool.c: buffers are distinct, aligned, reused, and get() waits. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kern/pool.h"

static void test_buffers(void **state)
{
	struct kern_pool *p;
	int a, b;

	(void)state;
	assert_int_equal(kern_pool_create(0, 100, &p), -EINVAL);
	assert_int_equal(kern_pool_create(2, 100, &p), 0);
	assert_int_equal(kern_pool_size(p), (size_t)sysconf(_SC_PAGESIZE));
	a = kern_pool_tryget(p);
	b = kern_pool_tryget(p);
	assert_true(a >= 0 && b >= 0 && a != b);
	assert_int_equal(kern_pool_tryget(p), -EAGAIN);
	assert_int_equal((uintptr_t)kern_pool_buf(p, (unsigned)a) % 4096, 0);
	memset(kern_pool_buf(p, (unsigned)a), 1, kern_pool_size(p));
	memset(kern_pool_buf(p, (unsigned)b), 2, kern_pool_size(p));
	assert_int_equal(((uint8_t *)kern_pool_buf(p, (unsigned)a))[kern_pool_size(p) - 1], 1);
	kern_pool_put(p, (unsigned)b);
	assert_int_equal(kern_pool_tryget(p), b);
	kern_pool_put(p, (unsigned)a);
	kern_pool_put(p, (unsigned)b);
	kern_pool_destroy(p);
}

static void *giver(void *arg)
{
	usleep(20000);
	kern_pool_put(arg, 0);
	return NULL;
}

static void test_get_waits(void **state)
{
	struct kern_pool *p;
	pthread_t t;

	(void)state;
	assert_int_equal(kern_pool_create(1, 4096, &p), 0);
	assert_int_equal(kern_pool_get(p), 0);
	assert_int_equal(pthread_create(&t, NULL, giver, p), 0);
	assert_int_equal(kern_pool_get(p), 0);     /* returns once the other thread gives */
	pthread_join(t, NULL);
	kern_pool_put(p, 0);
	kern_pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buffers),
		cmocka_unit_test(test_get_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
