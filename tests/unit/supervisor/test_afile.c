/* SPDX-License-Identifier: MIT */
/* Atomic replacement of control files, and bounded reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervisor/afile.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/mcsi-afile-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/file", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[512];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void slurp(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(afile_read_fd(fd, buf, cap, len), 0);
	close(fd);
}

static void test_write_modes_despite_umask(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char buf[64];
	size_t len;

	/* A hostile umask must not change the mode we ask for. */
	mode_t old = umask(0777);
	assert_int_equal(afile_write(f->path, "hello\n", 6, 0644), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	slurp(f->path, buf, sizeof(buf), &len);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "hello\n", 6);

	old = umask(0);
	assert_int_equal(afile_write(f->path, "x", 1, 0600), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	slurp(f->path, buf, sizeof(buf), &len);
	assert_int_equal(len, 1);
	/* No temporary is left behind. */
	assert_int_equal(entries(f->dir), 1);
}

static void test_replace_is_rename(void **state)
{
	struct fixture *f = *state;
	struct stat a, b;

	assert_int_equal(afile_write(f->path, "one", 3, 0644), 0);
	assert_int_equal(stat(f->path, &a), 0);
	/* A reader holding the old file keeps reading the old contents. */
	int fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(afile_write(f->path, "two!", 4, 0644), 0);
	assert_int_equal(stat(f->path, &b), 0);
	assert_true(a.st_ino != b.st_ino);
	char buf[8];
	size_t len;
	assert_int_equal(afile_read_fd(fd, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "one", 3);
	close(fd);
}

static void test_write_failures(void **state)
{
	struct fixture *f = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/missing/file", f->dir);
	assert_int_equal(afile_write(path, "x", 1, 0644), -ENOENT);
	/* Renaming over a directory fails and leaves no temporary. */
	snprintf(path, sizeof(path), "%s/adir", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(afile_write(path, "x", 1, 0644), -EISDIR);
	assert_int_equal(entries(f->dir), 1);
	rmdir(path);
}

static void test_read_bounds(void **state)
{
	struct fixture *f = *state;
	char buf[8];
	size_t len = 99;

	assert_int_equal(afile_write(f->path, "12345678", 8, 0644), 0);
	int fd = open(f->path, O_RDONLY);
	assert_int_equal(afile_read_fd(fd, buf, 8, &len), 0);
	assert_int_equal(len, 8);
	close(fd);
	fd = open(f->path, O_RDONLY);
	assert_int_equal(afile_read_fd(fd, buf, 7, &len), -EFBIG);
	close(fd);
	fd = open(f->path, O_WRONLY);
	assert_int_equal(afile_read_fd(fd, buf, 7, &len), -EBADF);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_modes_despite_umask,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_is_rename, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_bounds, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
