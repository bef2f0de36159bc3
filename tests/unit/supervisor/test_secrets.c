/* SPDX-License-Identifier: MIT */
/* CHAP secrets: the store, the 0600 file and its refusals, protected
 * memory, and reading a secret from a pipe or a terminal (a pty). Works in
 * a mkdtemp() directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervisor/secrets.h"

static const char T1[] = "iqn.2001-04.com.example:disk1";

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/mcsi-secrets-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/secrets", f->dir);
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
		if (rmdir(p) != 0)
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void expect_secret(const struct secrets *s, enum secret_scope scope,
			  const char *target, const void *want, size_t want_len)
{
	const char *v;
	size_t len;
	assert_int_equal(secrets_get(s, scope, target, &v, &len), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(v, want, want_len);
	assert_int_equal(v[len], '\0');
}

static void test_store(void **state)
{
	(void)state;
	struct secrets *s;
	enum secret_scope scope;
	const char *target;

	assert_int_equal(secrets_create(&s), 0);
	assert_false(secrets_has(s, SECRET_INITIATOR, NULL));
	assert_string_equal(secrets_display(s, SECRET_INITIATOR, NULL), "<none>");
	assert_int_equal(secrets_set(s, SECRET_INITIATOR, NULL, "initiator-secret",
				     16), 0);
	assert_int_equal(secrets_set(s, SECRET_TARGET, "IQN.2001-04.com.Example:"
				     "Disk1", "target-secret-1", 15), 0);
	assert_int_equal(secrets_set(s, SECRET_DISCOVERY, "ignored", "disc", 4), 0);
	assert_string_equal(secrets_display(s, SECRET_INITIATOR, NULL),
			    "<specified>");
	expect_secret(s, SECRET_TARGET, T1, "target-secret-1", 15);
	expect_secret(s, SECRET_DISCOVERY, NULL, "disc", 4);
	/* Replace keeps one entry. */
	assert_int_equal(secrets_set(s, SECRET_TARGET, T1, "x\0y", 3), 0);
	expect_secret(s, SECRET_TARGET, T1, "x\0y", 3);
	assert_int_equal(secrets_count(s), 3);
	assert_int_equal(secrets_entry(s, 1, &scope, &target), 0);
	assert_int_equal(scope, SECRET_TARGET);
	assert_string_equal(target, T1);
	assert_int_equal(secrets_entry(s, 0, &scope, &target), 0);
	assert_null(target);
	assert_int_equal(secrets_entry(s, 3, &scope, &target), -ENOENT);

	char big[256];
	memset(big, 'b', sizeof(big));
	assert_int_equal(secrets_set(s, SECRET_INITIATOR, NULL, big, 0), -EINVAL);
	assert_int_equal(secrets_set(s, SECRET_INITIATOR, NULL, big, 256), -EINVAL);
	assert_int_equal(secrets_set(s, SECRET_TARGET, "bad name", big, 12),
			 -EINVAL);
	assert_int_equal(secrets_set(s, SECRET_TARGET, NULL, big, 12), -EINVAL);
	assert_int_equal(secrets_set(s, SECRET_INITIATOR, NULL, big, 255), 0);
	expect_secret(s, SECRET_INITIATOR, NULL, big, 255);

	assert_int_equal(secrets_remove(s, SECRET_TARGET, T1), 0);
	assert_int_equal(secrets_remove(s, SECRET_TARGET, T1), -ENOENT);
	assert_false(secrets_has(s, SECRET_TARGET, T1));
	expect_secret(s, SECRET_DISCOVERY, NULL, "disc", 4);

	/* Growth across several protected allocations. */
	char name[64];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "iqn.2001-04.com.example:t%d", i);
		assert_int_equal(secrets_set(s, SECRET_TARGET, name, name,
					     strlen(name)), 0);
	}
	snprintf(name, sizeof(name), "iqn.2001-04.com.example:t%d", 57);
	expect_secret(s, SECRET_TARGET, name, name, strlen(name));
	expect_secret(s, SECRET_INITIATOR, NULL, big, 255);
	secrets_destroy(s);
	secrets_destroy(NULL);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct secrets *s, *back;
	struct cfg_error err;
	struct stat st;
	char all[255];

	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (char)(i + 1);
	assert_int_equal(secrets_create(&s), 0);
	assert_int_equal(secrets_set(s, SECRET_INITIATOR, NULL, all, 255), 0);
	assert_int_equal(secrets_set(s, SECRET_TARGET, T1, "a\"b\\c\0d", 7), 0);
	assert_int_equal(secrets_set(s, SECRET_DISCOVERY, NULL, "disc-secret-1",
				     13), 0);
	/* Mode 0600 whatever the umask. */
	mode_t old = umask(0);
	assert_int_equal(secrets_save(s, f->path, &err), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());

	assert_int_equal(secrets_load(f->path, &back, &err), 0);
	assert_int_equal(secrets_count(back), 3);
	expect_secret(back, SECRET_INITIATOR, NULL, all, 255);
	expect_secret(back, SECRET_TARGET, T1, "a\"b\\c\0d", 7);
	expect_secret(back, SECRET_DISCOVERY, NULL, "disc-secret-1", 13);
	secrets_destroy(back);

	/* The file is plain text a person can edit. */
	char text[2048];
	int fd = open(f->path, O_RDONLY);
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_non_null(strstr(text, "\ntarget \"" "iqn.2001-04.com.example:disk1"
			       "\" = \"a\\\"b\\\\c\\x00d\"\n"));
	assert_non_null(strstr(text, "\ndiscovery = \"disc-secret-1\"\n"));
	assert_non_null(strstr(text, "\ninitiator = \"\\x01\\x02"));
	secrets_destroy(s);
}

static void test_refuses_open_modes(void **state)
{
	struct fixture *f = *state;
	struct secrets *s = NULL;
	struct cfg_error err;
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0601, 0700 };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		put_file(f->path, "initiator = \"sup3r-s3cret-1\"\n", modes[i]);
		int rc = secrets_load(f->path, &s, &err);
		if (modes[i] == 0700) {  /* owner bits do not matter */
			assert_int_equal(rc, 0);
			secrets_destroy(s);
			continue;
		}
		assert_int_equal(rc, -EPERM);
		assert_non_null(strstr(err.msg, "chmod 600"));
		assert_non_null(strstr(err.msg, f->path));
		assert_null(strstr(err.msg, "sup3r"));
	}
	char want[16];
	put_file(f->path, "initiator = x\n", 0644);
	assert_int_equal(secrets_load(f->path, &s, &err), -EPERM);
	snprintf(want, sizeof(want), "(mode 0644)");
	assert_non_null(strstr(err.msg, want));

	/* Another owner is refused too (root can make one). */
	if (geteuid() == 0) {
		put_file(f->path, "initiator = x\n", 0600);
		assert_int_equal(chown(f->path, 4321, 4321), 0);
		assert_int_equal(secrets_load(f->path, &s, &err), -EPERM);
		assert_non_null(strstr(err.msg, "uid 4321"));
	}
	unlink(f->path);
	assert_int_equal(secrets_load(f->path, &s, &err), -ENOENT);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(secrets_load(f->path, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "regular"));
	rmdir(f->path);
}

static void test_parse_errors(void **state)
{
	(void)state;
	static const struct { const char *text; unsigned line; const char *msg; }
	bad[] = {
		{ "# c\ninitiator = \"sup3r-s3cret-1\n", 2, "closing quote" },
		{ "initiator = \"sup3r-s3cret-1\"\ninitiator = \"sup3r-other\"\n",
		  2, "second secret for initiator" },
		{ "target \"iqn.2001-04.com.example:a\" = sup3r-s3cret-1\n"
		  "target \"IQN.2001-04.com.example:A\" = sup3r-s3cret-1\n", 2,
		  "second secret for target iqn.2001-04.com.example:a" },
		{ "\n\ntarget = sup3r-s3cret-1\n", 3, "needs its name" },
		{ "initiator \"iqn.2001-04.com.example:a\" = sup3r-s3cret-1\n", 1,
		  "only target entries" },
		{ "target \"sup3r\" = sup3r-s3cret-1\n", 1, "invalid target name" },
		{ "[initiator]\n", 1, "sections are not used" },
		{ "chap = sup3r-s3cret-1\n", 1, "unknown entry 'chap'" },
		{ "initiator = \"\"\n", 1, "empty" },
		{ "initiator = \"sup3r\\q\"\n", 1, "unknown escape" },
		{ "discovery = sup3r\x01s3cret\n", 1, "control character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct secrets *s = NULL;
		struct cfg_error err;
		int rc = secrets_parse(bad[i].text, strlen(bad[i].text), "sec", &s,
				       &err);
		assert_int_equal(rc, -EINVAL);
		assert_null(s);
		assert_int_equal(err.line, bad[i].line);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg,
				 bad[i].msg);
		/* No message ever quotes a secret. */
		assert_null(strstr(err.msg, "s3cret"));
	}
	/* 256 bytes, written with escapes, is over the limit. */
	char text[2048] = "initiator = \"";
	for (int i = 0; i < 256; i++)
		strcat(text, "\\x41");
	strcat(text, "\"\n");
	struct secrets *s = NULL;
	struct cfg_error err;
	assert_int_equal(secrets_parse(text, strlen(text), "sec", &s, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "longer than 255"));
}

static void test_paths_and_lengths(void **state)
{
	(void)state;
	char buf[64];
	const char *why;

	unsetenv(SECRETS_ENV_PATH);
	assert_int_equal(secrets_path(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, SECRETS_DEFAULT_PATH);
	assert_int_equal(secrets_path("/srv/x/mcsi.conf", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/x/secrets");
	assert_int_equal(secrets_path("/mcsi.conf", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/secrets");
	assert_int_equal(secrets_path("mcsi.conf", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "secrets");
	setenv(SECRETS_ENV_PATH, "/run/keys/chap", 1);
	assert_int_equal(secrets_path("/srv/x/mcsi.conf", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/keys/chap");
	assert_int_equal(secrets_path(NULL, buf, 8), -ENAMETOOLONG);
	unsetenv(SECRETS_ENV_PATH);

	assert_int_equal(secrets_check_length(0, &why), -EINVAL);
	assert_int_equal(secrets_check_length(1, &why), 1);
	assert_non_null(strstr(why, "12 bytes"));
	assert_int_equal(secrets_check_length(11, &why), 1);
	assert_int_equal(secrets_check_length(12, &why), 0);
	assert_null(why);
	assert_int_equal(secrets_check_length(255, &why), 0);
	assert_int_equal(secrets_check_length(256, &why), -EINVAL);
}

/* /proc/self/smaps flags the mapping "dd": not in core dumps. */
static void test_mem_not_dumped(void **state)
{
	(void)state;
	char *p = secrets_mem_alloc(100);
	char line[512];
	bool in = false, found = false;

	assert_non_null(p);
	assert_int_equal(p[99], 0);
	memset(p, 'k', 100);
	FILE *fp = fopen("/proc/self/smaps", "r");
	if (!fp) {
		secrets_mem_free(p, 100);
		skip();
	}
	uintptr_t at = (uintptr_t)p;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long lo, hi;
		/* Mapping lines start with a lowercase hex range; field
		 * lines with a capitalized name. */
		if (((line[0] >= '0' && line[0] <= '9') ||
		     (line[0] >= 'a' && line[0] <= 'f')) &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			in = lo <= at && at < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			found = strstr(line, " dd") != NULL;
	}
	fclose(fp);
	assert_true(found);
	secrets_mem_free(p, 100);
	secrets_mem_free(NULL, 0);
}

static int pipe_with(const char *text)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
	close(fds[1]);
	return fds[0];
}

static void test_read_pipe(void **state)
{
	(void)state;
	char *buf = secrets_mem_alloc(SECRET_MAX + 1);
	size_t len = 0;
	const char *why;

	int fd = pipe_with("secret-123456\nshort\r\n\n");
	assert_int_equal(secrets_read(fd, -1, "unused", true, buf, SECRET_MAX + 1,
				      &len, &why), 0);
	assert_int_equal(len, 13);
	assert_string_equal(buf, "secret-123456");
	assert_null(why);
	assert_int_equal(secrets_read(fd, -1, NULL, false, buf, SECRET_MAX + 1,
				      &len, &why), 0);
	assert_string_equal(buf, "short");
	assert_non_null(strstr(why, "shorter than 12"));
	assert_int_equal(secrets_read(fd, -1, NULL, false, buf, SECRET_MAX + 1,
				      &len, &why), -EINVAL);
	assert_non_null(strstr(why, "empty"));
	assert_int_equal(secrets_read(fd, -1, NULL, false, buf, SECRET_MAX + 1,
				      &len, &why), -EINVAL);
	assert_non_null(strstr(why, "no secret"));
	close(fd);

	/* Too long: refused, buffer wiped, the next line still readable. */
	char text[600];
	memset(text, 'z', 300);
	strcpy(text + 300, "\nnext-secret-1\n");
	fd = pipe_with(text);
	assert_int_equal(secrets_read(fd, -1, NULL, false, buf, SECRET_MAX + 1,
				      &len, &why), -EINVAL);
	assert_non_null(strstr(why, "longer than 255"));
	for (size_t i = 0; i <= SECRET_MAX; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(secrets_read(fd, -1, NULL, false, buf, SECRET_MAX + 1,
				      &len, &why), 0);
	assert_string_equal(buf, "next-secret-1");
	close(fd);
	/* Exactly 255 fits; an EOF without newline ends the line. */
	memset(text, 'y', 255);
	text[255] = '\0';
	fd = pipe_with(text);
	assert_int_equal(secrets_read(fd, -1, NULL, false, buf, SECRET_MAX + 1,
				      &len, &why), 0);
	assert_int_equal(len, 255);
	close(fd);
	secrets_mem_free(buf, SECRET_MAX + 1);
}

/* ---- a terminal: a pty, the reader in a thread ------------------------ */

struct tty_job {
	int slave;
	bool confirm;
	int rc;
	size_t len;
	const char *why;
	char buf[SECRET_MAX + 1];
};

static void *tty_reader(void *arg)
{
	struct tty_job *j = arg;
	j->rc = secrets_read(j->slave, j->slave, "CHAP secret: ", j->confirm,
			     j->buf, sizeof(j->buf), &j->len, &j->why);
	return NULL;
}

static void nap(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static bool echo_on(int fd)
{
	struct termios t;
	assert_int_equal(tcgetattr(fd, &t), 0);
	return (t.c_lflag & ECHO) != 0;
}

/* Reads what the "terminal" shows until want appears (5 s at most). */
static void wait_output(int master, char *seen, size_t cap, size_t *n,
			const char *want)
{
	for (int i = 0; i < 2500 && !strstr(seen, want); i++) {
		struct pollfd pf = { .fd = master, .events = POLLIN };
		if (poll(&pf, 1, 2) == 1) {
			ssize_t r = read(master, seen + *n, cap - *n - 1);
			if (r > 0) {
				*n += (size_t)r;
				seen[*n] = '\0';
			}
		}
	}
	if (!strstr(seen, want))
		fail_msg("terminal never showed '%s' (saw '%s')", want, seen);
}

static void type_when_quiet(int master, int slave, const char *line)
{
	for (int i = 0; i < 2500 && echo_on(slave); i++)
		nap();
	assert_false(echo_on(slave));
	assert_int_equal(write(master, line, strlen(line)),
			 (ssize_t)strlen(line));
}

static void test_read_tty(void **state)
{
	(void)state;
	int master, slave;
	pthread_t th;
	char seen[1024] = "";
	size_t n = 0;

	if (openpty(&master, &slave, NULL, NULL, NULL) != 0)
		skip();
	struct tty_job *j = calloc(1, sizeof(*j));
	j->slave = slave;
	j->confirm = true;
	assert_true(echo_on(slave));
	assert_int_equal(pthread_create(&th, NULL, tty_reader, j), 0);
	wait_output(master, seen, sizeof(seen), &n, "CHAP secret: ");
	type_when_quiet(master, slave, "pty-secret-0001\n");
	wait_output(master, seen, sizeof(seen), &n, "Retype to confirm: ");
	type_when_quiet(master, slave, "pty-secret-0001\n");
	pthread_join(th, NULL);
	assert_int_equal(j->rc, 0);
	assert_string_equal(j->buf, "pty-secret-0001");
	assert_int_equal(j->len, 15);
	/* Echo is back on, and the secret never reached the screen. */
	assert_true(echo_on(slave));
	wait_output(master, seen, sizeof(seen), &n, "confirm: \r\n");
	assert_null(strstr(seen, "pty-secret"));

	/* Two entries that differ. */
	memset(j, 0, sizeof(*j));
	j->slave = slave;
	j->confirm = true;
	n = 0;
	seen[0] = '\0';
	assert_int_equal(pthread_create(&th, NULL, tty_reader, j), 0);
	wait_output(master, seen, sizeof(seen), &n, "CHAP secret: ");
	type_when_quiet(master, slave, "pty-secret-0001\n");
	wait_output(master, seen, sizeof(seen), &n, "Retype to confirm: ");
	type_when_quiet(master, slave, "pty-secret-0002\n");
	pthread_join(th, NULL);
	assert_int_equal(j->rc, -EINVAL);
	assert_non_null(strstr(j->why, "differ"));
	assert_int_equal(j->buf[0], 0);

	free(j);
	close(slave);
	close(master);
}

/* Ctrl-C at the prompt: the read ends, the terminal is restored, the
 * signal does not kill us. */
static void test_read_tty_interrupted(void **state)
{
	(void)state;
	int master, slave;
	pthread_t th;
	sigset_t set, old;
	char seen[256] = "";
	size_t n = 0;

	if (openpty(&master, &slave, NULL, NULL, NULL) != 0)
		skip();
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	struct tty_job *j = calloc(1, sizeof(*j));
	j->slave = slave;
	assert_int_equal(pthread_create(&th, NULL, tty_reader, j), 0);
	wait_output(master, seen, sizeof(seen), &n, "CHAP secret: ");
	for (int i = 0; i < 2500 && echo_on(slave); i++)
		nap();
	assert_int_equal(write(master, "half-typed", 10), 10);
	kill(getpid(), SIGINT);
	pthread_join(th, NULL);
	assert_int_equal(j->rc, -ECANCELED);
	assert_true(echo_on(slave));
	for (size_t i = 0; i <= SECRET_MAX; i++)
		assert_int_equal(j->buf[i], 0);
	/* The signal was taken by the reader, so unblocking is harmless. */
	sigset_t pending;
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGINT));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(j);
	close(slave);
	close(master);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_store), T(test_save_load), T(test_refuses_open_modes),
		T(test_parse_errors), T(test_paths_and_lengths),
		T(test_mem_not_dumped), T(test_read_pipe), T(test_read_tty),
		T(test_read_tty_interrupted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
