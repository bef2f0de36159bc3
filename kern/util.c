/* SPDX-License-Identifier: MIT */
/* Filesystem and process helpers: see util.h. */
#include "kern/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int kern_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;

	if (n == 0 || n >= sizeof(buf))
		return n ? -ENAMETOOLONG : -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, mode) != 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int kern_is_mountpoint(const char *path)
{
	struct statx sx;

	if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) != 0)
		return -errno;
	if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
	return -EOPNOTSUPP;
}

/* Undoes the octal escapes of /proc/self/mountinfo fields, in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static int copy_out(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -ENAMETOOLONG;
	strcpy(dst, src);
	return 0;
}

/* Calls fn for each mount in /proc/self/mountinfo with its (unescaped)
 * mountpoint, fs type and source, until fn returns non-zero. */
static int each_mount(int (*fn)(const char *mnt, const char *type, const char *src,
				void *arg), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f)
		return -errno;
	/* id parent maj:min root mountpoint opts [optional...] - type source super */
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *mnt = NULL, *type = NULL, *src = NULL;
		int field = 0;
		bool after_dash = false;

		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save), field++) {
			if (field == 4)
				mnt = tok;
			else if (field > 5 && !after_dash && strcmp(tok, "-") == 0)
				after_dash = true;
			else if (after_dash && !type)
				type = tok;
			else if (after_dash && !src)
				src = tok;
		}
		if (!mnt || !type || !src)
			continue;
		unescape(mnt);
		unescape(src);
		rc = fn(mnt, type, src, arg);
	}
	free(line);
	fclose(f);
	return rc;
}

struct find {
	const char *key;
	char *out1, *out2;
	size_t len1, len2;
	int rc;
};

static int match_mountpoint(const char *mnt, const char *type, const char *src, void *arg)
{
	struct find *q = arg;

	if (strcmp(mnt, q->key) != 0)
		return 0;
	/* Keep going: the last match is the mount on top. */
	q->rc = copy_out(q->out1, q->len1, src);
	if (q->rc == 0)
		q->rc = copy_out(q->out2, q->len2, type);
	return 0;
}

int kern_mount_source(const char *path, char *source, size_t source_len,
		      char *fstype, size_t fstype_len)
{
	struct find q = { path, source, fstype, source_len, fstype_len, -ENOENT };
	int rc = each_mount(match_mountpoint, &q);

	return rc ? rc : q.rc;
}

static int match_source(const char *mnt, const char *type, const char *src, void *arg)
{
	struct find *q = arg;

	(void)type;
	if (strcmp(src, q->key) != 0)
		return 0;
	q->rc = copy_out(q->out1, q->len1, mnt);
	return 1;
}

int kern_mount_target(const char *source, char *mountpoint, size_t len)
{
	struct find q = { source, mountpoint, NULL, len, 0, -ENOENT };
	int rc = each_mount(match_source, &q);

	return rc < 0 ? rc : q.rc;
}

int kern_run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -ENOMEM;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -rc;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return -EINTR;
}
