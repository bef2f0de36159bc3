/* SPDX-License-Identifier: MIT */
/* kern/backend.c: request checks, the blocking wrapper, discard splitting
 * and its zero-buffer fallback, through a recording fake backend. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kern/backend.h"

/* A fake that records every request and completes inline. */
struct fake {
	struct kern_backend kb;
	struct kern_geometry g;
	bool no_write_zeroes;
	int submit_rc;
	unsigned n;
	struct { uint8_t op; uint64_t off, len; int nonzero; } log[64];
};

static int fake_submit(struct kern_backend *b, struct kern_io *io)
{
	struct fake *f = (struct fake *)b;

	if (f->submit_rc)
		return f->submit_rc;
	if (f->n < 64) {
		f->log[f->n].op = io->op;
		f->log[f->n].off = io->offset;
		f->log[f->n].len = io->len;
		f->log[f->n].nonzero = 0;
		for (int i = 0; io->op == KERN_OP_WRITE && i < io->iovcnt; i++)
			for (size_t k = 0; k < io->iov[i].iov_len; k++)
				f->log[f->n].nonzero |= ((uint8_t *)io->iov[i].iov_base)[k];
		f->n++;
	}
	io->err = kern_io_check(io, &f->g);
	if (io->err == 0 && io->op == KERN_OP_WRITE_ZEROES && f->no_write_zeroes)
		io->err = -EOPNOTSUPP;
	io->done(io);
	return 0;
}

static void fake_geometry(struct kern_backend *b, struct kern_geometry *g)
{
	*g = ((struct fake *)b)->g;
}

static void fake_destroy(struct kern_backend *b)
{
	(void)b;
}

static const struct kern_backend_ops fake_ops = {
	.submit = fake_submit, .geometry = fake_geometry, .destroy = fake_destroy,
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->kb.ops = &fake_ops;
	f->g.blocks = 1024;
	f->g.block_size = 512;
	f->g.can_unmap = true;
}

static void nop_done(struct kern_io *io)
{
	(void)io;
}

static void test_check(void **state)
{
	struct kern_geometry g = { .blocks = 8, .block_size = 512, .max_io = 2048 };
	uint8_t buf[4096];
	struct iovec v = { buf, 512 };
	struct kern_io io = { .op = KERN_OP_READ, .offset = 0, .len = 512, .iov = &v,
			      .iovcnt = 1, .done = nop_done };

	(void)state;
	assert_int_equal(kern_io_check(&io, &g), 0);
	io.len = 1024;            /* iovec holds less than len */
	assert_int_equal(kern_io_check(&io, &g), -EINVAL);
	v.iov_len = 4096;
	io.len = 4096;            /* above max_io */
	assert_int_equal(kern_io_check(&io, &g), -EINVAL);
	v.iov_len = io.len = 512;
	io.offset = 8 * 512;
	assert_int_equal(kern_io_check(&io, &g), -EINVAL);
	io.op = KERN_OP_WRITE;
	assert_int_equal(kern_io_check(&io, &g), -ENOSPC);
	g.read_only = true;
	io.offset = 0;
	assert_int_equal(kern_io_check(&io, &g), -EPERM);
	io.op = 99;
	assert_int_equal(kern_io_check(&io, &g), -EINVAL);
	io.op = KERN_OP_FLUSH;
	assert_int_equal(kern_io_check(&io, &g), 0);
	io.done = NULL;
	assert_int_equal(kern_io_check(&io, &g), -EINVAL);
}

static void test_path_errors(void **state)
{
	(void)state;
	assert_true(kern_err_is_path(-ENOTCONN));
	assert_true(kern_err_is_path(-ECONNRESET));
	assert_true(kern_err_is_path(-ETIMEDOUT));
	assert_false(kern_err_is_path(-EIO));
	assert_false(kern_err_is_path(-EINVAL));
	assert_false(kern_err_is_path(0));
}

static void test_run_submit_error(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	f.submit_rc = -ENOTCONN;
	assert_int_equal(kern_flush(&f.kb), -ENOTCONN);
}

static void test_discard_pieces(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	f.g.max_unmap = 4096;
	assert_int_equal(kern_discard(&f.kb, 512, 10240, false), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.log[0].op, KERN_OP_UNMAP);
	assert_int_equal(f.log[0].off, 512);
	assert_int_equal(f.log[0].len, 4096);
	assert_int_equal(f.log[2].off, 512 + 8192);
	assert_int_equal(f.log[2].len, 2048);
	f.g.can_unmap = false;
	assert_int_equal(kern_discard(&f.kb, 0, 512, false), -EOPNOTSUPP);
}

static void test_zeroes_fallback(void **state)
{
	struct fake f;

	(void)state;
	fake_init(&f);
	f.no_write_zeroes = true;
	f.g.max_io = 1024;
	assert_int_equal(kern_discard(&f.kb, 0, 2560, true), 0);
	/* one refused WRITE_ZEROES, then zero-filled writes of max_io */
	assert_int_equal(f.n, 4);
	assert_int_equal(f.log[0].op, KERN_OP_WRITE_ZEROES);
	for (unsigned i = 1; i < 4; i++) {
		assert_int_equal(f.log[i].op, KERN_OP_WRITE);
		assert_int_equal(f.log[i].nonzero, 0);
	}
	assert_int_equal(f.log[3].off, 2048);
	assert_int_equal(f.log[3].len, 512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_path_errors),
		cmocka_unit_test(test_run_submit_error),
		cmocka_unit_test(test_discard_pieces),
		cmocka_unit_test(test_zeroes_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
