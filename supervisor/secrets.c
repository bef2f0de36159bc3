/* SPDX-License-Identifier: MIT */
#include "supervisor/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "proto/url.h"
#include "supervisor/afile.h"

/* One record per secret. Names are not secret, but keeping whole records
 * in the protected pages keeps the bookkeeping in one place. */
struct secret_entry {
	enum secret_scope scope;
	size_t len;
	char target[URL_NAME_MAX + 1];
	char value[SECRET_MAX + 1];
};

struct secrets {
	struct secret_entry *v;   /* in secrets_mem_alloc() pages */
	size_t n, cap, bytes;
};

/* ---- protected memory ----------------------------------------------- */

static size_t page_round(size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;
	return (len + p - 1) / p * p;
}

void *secrets_mem_alloc(size_t len)
{
	size_t bytes = page_round(len ? len : 1);
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Out of core dumps is a must; out of swap is best effort, since
	 * RLIMIT_MEMLOCK is small for ordinary users. */
	if (madvise(p, bytes, MADV_DONTDUMP) != 0) {
		munmap(p, bytes);
		return NULL;
	}
	(void)mlock(p, bytes);
	return p;
}

void secrets_mem_free(void *p, size_t len)
{
	if (!p)
		return;
	size_t bytes = page_round(len ? len : 1);
	explicit_bzero(p, bytes);
	(void)munlock(p, bytes);
	munmap(p, bytes);
}

/* ---- the store ------------------------------------------------------- */

int secrets_create(struct secrets **out)
{
	struct secrets *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}

void secrets_destroy(struct secrets *s)
{
	if (!s)
		return;
	secrets_mem_free(s->v, s->bytes);
	free(s);
}

/* The normalized key of a scope: "" for the two global scopes. */
static int scope_key(enum secret_scope scope, const char *target,
		     char key[URL_NAME_MAX + 1])
{
	const char *why;
	key[0] = '\0';
	switch (scope) {
	case SECRET_INITIATOR:
	case SECRET_DISCOVERY:
		return 0;
	case SECRET_TARGET:
		if (!target)
			return -EINVAL;
		return url_name_normalize(target, strlen(target), key, &why);
	}
	return -EINVAL;
}

static struct secret_entry *lookup(const struct secrets *s,
				   enum secret_scope scope, const char *target)
{
	char key[URL_NAME_MAX + 1];

	if (scope_key(scope, target, key))
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].scope == scope && strcmp(s->v[i].target, key) == 0)
			return &s->v[i];
	return NULL;
}

static int grow(struct secrets *s)
{
	size_t cap = s->cap ? s->cap * 2 : 8;
	size_t bytes = cap * sizeof(struct secret_entry);
	struct secret_entry *v = secrets_mem_alloc(bytes);

	if (!v)
		return -ENOMEM;
	if (s->n)
		memcpy(v, s->v, s->n * sizeof(*v));
	secrets_mem_free(s->v, s->bytes);
	s->v = v;
	s->cap = cap;
	s->bytes = bytes;
	return 0;
}

int secrets_set(struct secrets *s, enum secret_scope scope, const char *target,
		const void *secret, size_t len)
{
	char key[URL_NAME_MAX + 1];

	if (len < SECRET_MIN || len > SECRET_MAX ||
	    scope_key(scope, target, key))
		return -EINVAL;
	struct secret_entry *e = lookup(s, scope, target);
	if (!e) {
		if (s->n == s->cap && grow(s))
			return -ENOMEM;
		e = &s->v[s->n++];
		e->scope = scope;
		memcpy(e->target, key, sizeof(key));
	}
	explicit_bzero(e->value, sizeof(e->value));
	memcpy(e->value, secret, len);
	e->len = len;
	return 0;
}

int secrets_remove(struct secrets *s, enum secret_scope scope,
		   const char *target)
{
	struct secret_entry *e = lookup(s, scope, target);
	if (!e)
		return -ENOENT;
	size_t i = (size_t)(e - s->v);
	memmove(e, e + 1, (s->n - i - 1) * sizeof(*e));
	s->n--;
	explicit_bzero(&s->v[s->n], sizeof(s->v[s->n]));
	return 0;
}

int secrets_get(const struct secrets *s, enum secret_scope scope,
		const char *target, const char **secret, size_t *len)
{
	const struct secret_entry *e = lookup(s, scope, target);
	if (!e)
		return -ENOENT;
	*secret = e->value;
	*len = e->len;
	return 0;
}

bool secrets_has(const struct secrets *s, enum secret_scope scope,
		 const char *target)
{
	return lookup(s, scope, target) != NULL;
}

const char *secrets_display(const struct secrets *s, enum secret_scope scope,
			    const char *target)
{
	return secrets_has(s, scope, target) ? "<specified>" : "<none>";
}

size_t secrets_count(const struct secrets *s)
{
	return s->n;
}

int secrets_entry(const struct secrets *s, size_t i, enum secret_scope *scope,
		  const char **target)
{
	if (i >= s->n)
		return -ENOENT;
	*scope = s->v[i].scope;
	*target = s->v[i].scope == SECRET_TARGET ? s->v[i].target : NULL;
	return 0;
}

int secrets_check_length(size_t len, const char **why)
{
	*why = NULL;
	if (len < SECRET_MIN) {
		*why = "the CHAP secret is empty";
		return -EINVAL;
	}
	if (len > SECRET_MAX) {
		*why = "the CHAP secret is longer than 255 bytes";
		return -EINVAL;
	}
	if (len < SECRET_RECOMMENDED_MIN) {
		*why = "the CHAP secret is shorter than 12 bytes (96 bits, the "
		       "minimum RFC 7143 asks for); many targets refuse it";
		return 1;
	}
	return 0;
}

int secrets_path(const char *config_path, char *buf, size_t cap)
{
	const char *env = getenv(SECRETS_ENV_PATH);
	int n;

	if (env && env[0]) {
		n = snprintf(buf, cap, "%s", env);
	} else if (!config_path) {
		n = snprintf(buf, cap, "%s", SECRETS_DEFAULT_PATH);
	} else {
		const char *slash = strrchr(config_path, '/');
		if (!slash)
			n = snprintf(buf, cap, "secrets");
		else
			n = snprintf(buf, cap, "%.*s/secrets",
				     (int)(slash - config_path), config_path);
	}
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* ---- the file --------------------------------------------------------- */

static int parse_line(struct secrets *s, const struct cfgtext_line *l,
		      char *scratch, const char *name, struct cfg_error *err)
{
	enum secret_scope scope;
	char target[URL_NAME_MAX + 1] = "";
	char shown[80];
	const char *why;
	size_t n;

	if (l->kind == CFGTEXT_SECTION)
		return cfgtext_error(err, name, l->no, "sections are not used "
				     "in the secrets file");
	if (l->name_len == 9 && memcmp(l->name, "initiator", 9) == 0) {
		scope = SECRET_INITIATOR;
	} else if (l->name_len == 9 && memcmp(l->name, "discovery", 9) == 0) {
		scope = SECRET_DISCOVERY;
	} else if (l->name_len == 6 && memcmp(l->name, "target", 6) == 0) {
		scope = SECRET_TARGET;
	} else {
		return cfgtext_error(err, name, l->no, "unknown entry '%s' "
			"(expected initiator, discovery or target \"<iqn>\")",
			cfgtext_printable(shown, sizeof(shown), l->name,
					  l->name_len));
	}
	if ((scope == SECRET_TARGET) != (l->arg != NULL))
		return cfgtext_error(err, name, l->no, scope == SECRET_TARGET ?
			"target needs its name: target \"<iqn>\" = ..." :
			"only target entries take a name");
	if (l->arg) {
		if (cfgtext_decode(l->arg, l->arg_len, scratch, &n, &why))
			return cfgtext_error(err, name, l->no, "target name: %s",
					     why);
		if (url_name_normalize(scratch, n, target, &why))
			return cfgtext_error(err, name, l->no, "invalid target "
				"name \"%s\": %s", cfgtext_printable(shown,
				sizeof(shown), scratch, n), why);
	}
	if (lookup(s, scope, target))
		return cfgtext_error(err, name, l->no, "a second secret for %s%s",
				     target[0] ? "target " :
				     scope == SECRET_INITIATOR ? "initiator" :
				     "discovery",
				     target[0] ? target : "");
	/* The value is decoded straight into protected scratch memory. */
	if (cfgtext_decode(l->value, l->value_len, scratch, &n, &why))
		return cfgtext_error(err, name, l->no, "%s", why);
	if (secrets_check_length(n, &why) < 0)
		return cfgtext_error(err, name, l->no, "%s", why);
	int rc = secrets_set(s, scope, target, scratch, n);
	explicit_bzero(scratch, n);
	if (rc == -ENOMEM)
		cfgtext_error(err, name, l->no, "out of memory");
	return rc;
}

int secrets_parse(const char *buf, size_t len, const char *name,
		  struct secrets **out, struct cfg_error *err)
{
	struct secrets *s;
	struct cfgtext_iter it;
	struct cfgtext_line l;
	const char *why;
	char *scratch = secrets_mem_alloc(CFGTEXT_MAX_LINE + 1);
	int rc = scratch ? secrets_create(&s) : -ENOMEM;

	if (rc) {
		secrets_mem_free(scratch, CFGTEXT_MAX_LINE + 1);
		return cfgtext_error(err, name, 0, "out of memory"), -ENOMEM;
	}
	cfgtext_init(&it, buf, len);
	for (;;) {
		rc = cfgtext_next(&it, &l, &why);
		if (rc) {
			cfgtext_error(err, name, l.no, "%s", why);
			break;
		}
		if (l.kind == CFGTEXT_END)
			break;
		if (l.kind != CFGTEXT_BLANK &&
		    (rc = parse_line(s, &l, scratch, name, err)))
			break;
	}
	/* The lexer's line view pointed into buf: nothing to wipe here but
	 * our own scratch. */
	secrets_mem_free(scratch, CFGTEXT_MAX_LINE + 1);
	if (rc) {
		secrets_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

int secrets_load(const char *path, struct secrets **out, struct cfg_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		cfgtext_error(err, path, 0, "%s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		cfgtext_error(err, path, 0, "%s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = cfgtext_error(err, path, 0, "not a regular file");
	} else if (st.st_mode & 077) {
		cfgtext_error(err, path, 0, "refusing to read CHAP secrets from "
			      "a file that group or others can access (mode "
			      "%04o); run: chmod 600 %s",
			      (unsigned)(st.st_mode & 07777), path);
		rc = -EPERM;
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		cfgtext_error(err, path, 0, "refusing to read CHAP secrets from "
			      "a file owned by uid %u (expected root); run: "
			      "chown root %s", (unsigned)st.st_uid, path);
		rc = -EPERM;
	}
	if (rc) {
		close(fd);
		return rc;
	}

	char *buf = secrets_mem_alloc(SECRETS_MAX_FILE);
	size_t len = 0;
	if (!buf) {
		close(fd);
		return cfgtext_error(err, path, 0, "out of memory"), -ENOMEM;
	}
	rc = afile_read_fd(fd, buf, SECRETS_MAX_FILE, &len);
	close(fd);
	if (rc == -EFBIG)
		cfgtext_error(err, path, 0, "larger than %u bytes",
			      SECRETS_MAX_FILE);
	else if (rc)
		cfgtext_error(err, path, 0, "%s", strerror(-rc));
	else
		rc = secrets_parse(buf, len, path, out, err);
	secrets_mem_free(buf, SECRETS_MAX_FILE);
	return rc;
}

static const char secrets_header[] =
	"# mcsi CHAP secrets: mode 0600, owner root. Changed by iscsictl;\n"
	"# values are quoted, any byte may be written as \\xHH.\n";

/* Appends the file's text to dst (cap bytes; dst may be NULL when cap is
 * 0) and returns the length it needs, like snprintf. */
static size_t serialize(const struct secrets *s, char *dst, size_t cap)
{
	size_t n = 0;

#define ROOM (n < cap ? cap - n : 0)
#define OUT (n < cap ? dst + n : NULL)
	n += (size_t)snprintf(OUT, ROOM, "%s", secrets_header);
	for (size_t i = 0; i < s->n; i++) {
		const struct secret_entry *e = &s->v[i];
		if (e->scope == SECRET_TARGET)
			n += (size_t)snprintf(OUT, ROOM, "target \"%s\" = ",
					      e->target);
		else
			n += (size_t)snprintf(OUT, ROOM, "%s = ",
					      e->scope == SECRET_INITIATOR ?
					      "initiator" : "discovery");
		n += cfgtext_encode(OUT, ROOM, e->value, e->len,
				    CFGTEXT_QUOTE | CFGTEXT_ESCAPE_8BIT);
		n += (size_t)snprintf(OUT, ROOM, "\n");
	}
#undef ROOM
#undef OUT
	return n;
}

int secrets_save(const struct secrets *s, const char *path,
		 struct cfg_error *err)
{
	size_t need = serialize(s, NULL, 0) + 1;
	char *buf = secrets_mem_alloc(need);
	int rc;

	if (!buf)
		return cfgtext_error(err, path, 0, "out of memory"), -ENOMEM;
	size_t len = serialize(s, buf, need);
	rc = afile_write(path, buf, len, SECRETS_FILE_MODE);
	secrets_mem_free(buf, need);
	if (rc)
		cfgtext_error(err, path, 0, "cannot save: %s", strerror(-rc));
	return rc;
}

/* ---- reading a secret from a person ----------------------------------- */

/* Reads one line into buf without echo handling. Returns the length, or
 * -ECANCELED (a held signal arrived; sfd >= 0 only on a terminal),
 * -EINVAL (too long: the rest of the line is consumed), -ENODATA (EOF
 * before any byte), -errno. */
static ssize_t read_line(int fd, int sfd, char *buf, size_t cap)
{
	size_t n = 0;
	bool too_long = false;

	for (;;) {
		if (sfd >= 0) {
			struct pollfd pf[2] = {
				{ .fd = fd, .events = POLLIN },
				{ .fd = sfd, .events = POLLIN },
			};
			if (poll(pf, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (pf[1].revents & POLLIN) {
				struct signalfd_siginfo si;
				(void)!read(sfd, &si, sizeof(si));
				return -ECANCELED;
			}
		}
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			if (n == 0 && !too_long)
				return -ENODATA;
			break;
		}
		if (c == '\n')
			break;
		if (n + 1 >= cap) {
			too_long = true;   /* keep draining to the newline */
			continue;
		}
		buf[n++] = c;
		c = 0;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return too_long ? -EINVAL : (ssize_t)n;
}

/* One prompt on a terminal, echo off, signals held. */
static ssize_t read_tty(int in_fd, int out_fd, const char *prompt, char *buf,
			size_t cap)
{
	struct termios old, quiet;
	sigset_t hold, saved;
	ssize_t rc;

	if (tcgetattr(in_fd, &old) != 0)
		return -errno;
	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGQUIT);
	sigaddset(&hold, SIGTSTP);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &hold, &saved) != 0)
		return -EIO;
	int sfd = signalfd(-1, &hold, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		rc = -errno;
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
		return rc;
	}
	if (prompt)
		(void)!write(out_fd, prompt, strlen(prompt));
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	/* TCSAFLUSH drops type-ahead that was echoed before we got here. */
	if (tcsetattr(in_fd, TCSAFLUSH, &quiet) != 0) {
		rc = -errno;
	} else {
		rc = read_line(in_fd, sfd, buf, cap);
		tcsetattr(in_fd, TCSAFLUSH, &old);
		(void)!write(out_fd, "\n", 1);
	}
	close(sfd);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return rc;
}

int secrets_read(int in_fd, int out_fd, const char *prompt, bool confirm,
		 char *buf, size_t cap, size_t *len, const char **why)
{
	bool tty = isatty(in_fd);
	ssize_t n;

	*why = NULL;
	if (cap < 2) {
		*why = "buffer too small";
		return -EINVAL;
	}
	n = tty ? read_tty(in_fd, out_fd, prompt, buf, cap)
		: read_line(in_fd, -1, buf, cap);
	if (n >= 0 && tty && confirm) {
		char *again = secrets_mem_alloc(cap);
		ssize_t m = again ? read_tty(in_fd, out_fd, "Retype to confirm: ",
					     again, cap) : -ENOMEM;
		if (m >= 0 && (m != n || memcmp(buf, again, (size_t)n) != 0))
			m = -ESRCH;  /* mapped below */
		if (m < 0)
			n = m;
		secrets_mem_free(again, cap);
	}
	if (n < 0) {
		explicit_bzero(buf, cap);
		switch (n) {
		case -ESRCH:
			*why = "the two entries differ";
			return -EINVAL;
		case -EINVAL:
			*why = "the CHAP secret is longer than 255 bytes";
			return -EINVAL;
		case -ENODATA:
			*why = "no secret given";
			return -EINVAL;
		case -ECANCELED:
			*why = "interrupted";
			return -ECANCELED;
		default:
			*why = "cannot read the secret";
			return (int)n;
		}
	}
	int rc = secrets_check_length((size_t)n, why);
	if (rc < 0 || (size_t)n > SECRET_MAX) {
		if (rc >= 0)
			*why = "the CHAP secret is longer than 255 bytes";
		explicit_bzero(buf, cap);
		return -EINVAL;
	}
	*len = (size_t)n;
	return 0;
}
