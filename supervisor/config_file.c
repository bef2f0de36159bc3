/* SPDX-License-Identifier: MIT */
/* The configuration file: parse, format, load, save, first-run setup. */
#include "supervisor/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/url.h"
#include "supervisor/afile.h"
#include "supervisor/config_schema.h"

/* ---- parsing ---------------------------------------------------------- */

struct parser {
	struct cfg *c;
	const char *where;
	struct cfg_error *err;
	bool in_section;
	enum cfg_section sect;
	void *base;
	unsigned seen[CFG_KEY_MAX];   /* line where each key was set, 0 if not */
	unsigned initiator_line, discovery_line;
	char *header;             /* grows while only comments were seen */
	size_t header_len;
	bool header_done;
};

static int header_add(struct parser *p, const struct cfgtext_line *l)
{
	/* The lexer drops one CR before LF; drop them all, or "\r\r\n"
	 * would lose one more on every save and load. */
	size_t len = l->text_len;
	while (len > 0 && l->text[len - 1] == '\r')
		len--;
	char *h = realloc(p->header, p->header_len + len + 2);
	if (!h)
		return -ENOMEM;
	memcpy(h + p->header_len, l->text, len);
	p->header_len += len;
	h[p->header_len++] = '\n';
	h[p->header_len] = '\0';
	p->header = h;
	return 0;
}

static int begin_section(struct parser *p, const struct cfgtext_line *l)
{
	char shown[80];
	unsigned *first = NULL;

	memset(p->seen, 0, sizeof(p->seen));
	p->in_section = true;
	if (l->name_len == 9 && memcmp(l->name, "initiator", 9) == 0) {
		p->sect = CFG_SECT_INITIATOR;
		p->base = &p->c->initiator;
		first = &p->initiator_line;
	} else if (l->name_len == 9 && memcmp(l->name, "discovery", 9) == 0) {
		p->sect = CFG_SECT_DISCOVERY;
		p->base = &p->c->discovery;
		first = &p->discovery_line;
	} else if (l->name_len == 6 && memcmp(l->name, "target", 6) == 0) {
		p->sect = CFG_SECT_TARGET;
	} else {
		return cfgtext_error(p->err, p->where, l->no, "unknown section "
			"[%s] (expected [initiator], [discovery] or "
			"[target \"<iqn>\"])", cfgtext_printable(shown,
			sizeof(shown), l->name, l->name_len));
	}
	if (first) {
		if (l->arg)
			return cfgtext_error(p->err, p->where, l->no, "[%s] takes "
					     "no name", cfg_section_name(p->sect));
		if (*first)
			return cfgtext_error(p->err, p->where, l->no, "duplicate "
					     "section [%s] (first on line %u)",
					     cfg_section_name(p->sect), *first);
		*first = l->no;
		return 0;
	}

	if (!l->arg)
		return cfgtext_error(p->err, p->where, l->no, "[target] needs "
				     "the target name: [target \"<iqn>\"]");
	char raw[CFGTEXT_MAX_LINE + 1], name[URL_NAME_MAX + 1];
	const char *why;
	size_t n;
	if (cfgtext_decode(l->arg, l->arg_len, raw, &n, &why))
		return cfgtext_error(p->err, p->where, l->no, "target name: %s",
				     why);
	if (url_name_normalize(raw, n, name, &why))
		return cfgtext_error(p->err, p->where, l->no, "invalid target "
				     "name \"%s\": %s", cfgtext_printable(shown,
				     sizeof(shown), raw, n), why);
	struct cfg_target *t = cfg_target_find(p->c, name);
	if (t)
		return cfgtext_error(p->err, p->where, l->no, "duplicate section "
				     "[target \"%s\"] (first on line %u)", name,
				     t->line);
	if (cfg_target_append(p->c, name, &t))
		return -ENOMEM;
	t->line = l->no;
	p->base = t;
	return 0;
}

static int take_pair(struct parser *p, const struct cfgtext_line *l)
{
	char shown[80], why[160];

	if (!p->in_section)
		return cfgtext_error(p->err, p->where, l->no, "key '%s' outside "
				     "of any section", cfgtext_printable(shown,
				     sizeof(shown), l->name, l->name_len));
	const struct cfg_key *keys = cfg_schema(p->sect);
	const struct cfg_key *k = cfg_key_find(p->sect, l->name, l->name_len);
	if (!k) {
		char known[256];
		cfg_key_list(p->sect, known, sizeof(known));
		return cfgtext_error(p->err, p->where, l->no, "unknown key '%s' "
				     "in [%s] (known: %s)", cfgtext_printable(
				     shown, sizeof(shown), l->name, l->name_len),
				     cfg_section_name(p->sect), known);
	}
	if (l->arg)
		return cfgtext_error(p->err, p->where, l->no, "unexpected quoted "
				     "text between '%s' and '='", k->name);
	size_t idx = (size_t)(k - keys);
	if (k->kind != CFG_K_PORTAL && p->seen[idx])
		return cfgtext_error(p->err, p->where, l->no, "duplicate key '%s' "
				     "(first on line %u)", k->name, p->seen[idx]);
	p->seen[idx] = l->no;

	char *v = malloc(l->value_len + 1);
	size_t n;
	const char *reason;
	if (!v)
		return -ENOMEM;
	int rc = cfgtext_decode(l->value, l->value_len, v, &n, &reason);
	if (rc) {
		cfgtext_error(p->err, p->where, l->no, "%s: %s", k->name, reason);
	} else {
		rc = cfg_key_set(p->base, k, v, n, why, sizeof(why));
		if (rc == -ENOMEM)
			cfgtext_error(p->err, p->where, l->no, "out of memory");
		else if (rc)
			cfgtext_error(p->err, p->where, l->no, "%s = '%s': %s",
				      k->name, cfgtext_printable(shown,
				      sizeof(shown), v, n), why);
		if (rc == -EEXIST)
			rc = -EINVAL;
	}
	free(v);
	return rc;
}

int cfg_parse(const char *buf, size_t len, const char *name, struct cfg **out,
	      struct cfg_error *err)
{
	struct parser p = { .where = name, .err = err };
	struct cfgtext_iter it;
	struct cfgtext_line l;
	const char *why;
	int rc = cfg_create(&p.c);

	if (rc)
		return cfgtext_error(err, name, 0, "out of memory"), -ENOMEM;
	cfgtext_init(&it, buf, len);
	for (;;) {
		rc = cfgtext_next(&it, &l, &why);
		if (rc) {
			cfgtext_error(err, name, l.no, "%s", why);
			break;
		}
		if (l.kind == CFGTEXT_END)
			break;
		if (l.kind == CFGTEXT_BLANK) {
			if (!p.header_done && (rc = header_add(&p, &l)))
				break;
			continue;
		}
		p.header_done = true;
		rc = l.kind == CFGTEXT_SECTION ? begin_section(&p, &l)
					       : take_pair(&p, &l);
		if (rc)
			break;
	}
	if (rc == 0)
		rc = cfg_validate_at(p.c, name, err);
	if (rc) {
		if (rc == -ENOMEM)
			cfgtext_error(err, name, 0, "out of memory");
		free(p.header);
		cfg_destroy(p.c);
		return rc;
	}
	/* Trailing blank lines of the header are layout, not content. */
	while (p.header_len > 0 && p.header[p.header_len - 1] == '\n' &&
	       (p.header_len == 1 || p.header[p.header_len - 2] == '\n'))
		p.header[--p.header_len] = '\0';
	if (p.header_len > 0)
		p.c->header = p.header;
	else
		free(p.header);
	*out = p.c;
	return 0;
}

int cfg_load(const char *path, struct cfg **out, struct cfg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t len = 0;
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		cfgtext_error(err, path, 0, "%s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		cfgtext_error(err, path, 0, "not a regular file");
		return -EINVAL;
	}
	char *buf = malloc(CFG_MAX_FILE);
	if (!buf) {
		close(fd);
		return cfgtext_error(err, path, 0, "out of memory"), -ENOMEM;
	}
	rc = afile_read_fd(fd, buf, CFG_MAX_FILE, &len);
	close(fd);
	if (rc == -EFBIG)
		cfgtext_error(err, path, 0, "larger than %u bytes", CFG_MAX_FILE);
	else if (rc)
		cfgtext_error(err, path, 0, "%s", strerror(-rc));
	else
		rc = cfg_parse(buf, len, path, out, err);
	free(buf);
	return rc;
}

/* ---- writing ---------------------------------------------------------- */

static const char default_header[] =
	"# mcsi configuration: read by mcsid, changed by iscsictl, fine to\n"
	"# edit by hand. Format and keys: docs/config.md. CHAP secrets are\n"
	"# never kept here but in the secrets file next to it (mode 0600).\n";

/* A value token, quoted when needed: malloc'd, NULL when out of memory. */
static char *token(const char *v, unsigned flags)
{
	size_t need = cfgtext_encode(NULL, 0, v, strlen(v), flags);
	char *tok = malloc(need + 1);

	if (tok)
		cfgtext_encode(tok, need + 1, v, strlen(v), flags);
	return tok;
}

static int put_section(FILE *f, enum cfg_section s, const void *base)
{
	char buf[URL_PORTAL_STRMAX + 32];
	int rc = 0;

	for (const struct cfg_key *k = cfg_schema(s); k->name && !rc; k++) {
		const char *field = (const char *)base + k->off;
		if (k->kind == CFG_K_PORTAL) {
			const struct cfg_portals *ps = (const void *)field;
			for (size_t i = 0; i < ps->n; i++)
				if (cfg_portal_format(&ps->v[i], buf, sizeof(buf)) > 0)
					fprintf(f, "%s = %s\n", k->name, buf);
		} else if (k->kind == CFG_K_NAME || k->kind == CFG_K_TEXT) {
			const char *v = *(char *const *)(const void *)field;
			char *tok = v ? token(v, 0) : NULL;
			if (v && !tok)
				rc = -ENOMEM;
			else if (tok)
				fprintf(f, "%s = %s\n", k->name, tok);
			free(tok);
		} else if (cfg_key_get(base, k, buf, sizeof(buf)) == 0 && buf[0]) {
			/* Unset (quirks): the absent key says it. */
			fprintf(f, "%s = %s\n", k->name, buf);
		}
	}
	return rc;
}

int cfg_format(const struct cfg *c, char **out, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	int rc;

	if (!f)
		return -ENOMEM;
	fputs(c->header ? c->header : default_header, f);
	fputs("\n[initiator]\n", f);
	rc = put_section(f, CFG_SECT_INITIATOR, &c->initiator);
	if (!rc) {
		fputs("\n[discovery]\n", f);
		rc = put_section(f, CFG_SECT_DISCOVERY, &c->discovery);
	}
	for (size_t i = 0; i < c->n_targets && !rc; i++) {
		const struct cfg_target *t = &c->targets[i];
		char *tok = token(t->name, CFGTEXT_QUOTE);
		if (!tok) {
			rc = -ENOMEM;
			break;
		}
		fprintf(f, "\n[target %s]\n", tok);
		free(tok);
		rc = put_section(f, CFG_SECT_TARGET, t);
	}
	if (ferror(f))
		rc = -ENOMEM;
	if (fclose(f) != 0 || !buf)
		rc = -ENOMEM;
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = size;
	return 0;
}

static int make_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n == 0 || n >= sizeof(dir))
		return -ENOENT;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return mkdir(dir, 0755) == 0 ? 0 : -errno;
}

int cfg_save(const struct cfg *c, const char *path, struct cfg_error *err)
{
	char *buf;
	size_t len;
	int rc = cfg_validate_at(c, NULL, err);

	if (rc)
		return rc;
	rc = cfg_format(c, &buf, &len);
	if (rc)
		return cfgtext_error(err, path, 0, "out of memory"), rc;
	rc = afile_write(path, buf, len, CFG_FILE_MODE);
	/* First run: /etc/mcsi may not exist yet (one level only). */
	if (rc == -ENOENT && make_parent(path) == 0)
		rc = afile_write(path, buf, len, CFG_FILE_MODE);
	free(buf);
	if (rc)
		cfgtext_error(err, path, 0, "cannot save: %s", strerror(-rc));
	return rc;
}

/* ---- first run -------------------------------------------------------- */

int cfg_format_node_name(char *buf, size_t cap, const char *hostname,
			 const uint8_t rnd[4])
{
	char host[65];
	size_t n = 0;

	/* The short name: the domain adds length, not uniqueness. */
	for (const char *p = hostname; *p && *p != '.' && n < 64; p++) {
		char ch = *p;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '-';
		host[n++] = ch;
	}
	host[n] = '\0';
	int w = snprintf(buf, cap, "%s%s-%02x%02x%02x%02x", CFG_NODE_NAME_PREFIX,
			 n ? host : "host", rnd[0], rnd[1], rnd[2], rnd[3]);
	return (w < 0 || (size_t)w >= cap) ? -ENOSPC : 0;
}

int cfg_generate_node_name(struct cfg *c)
{
	char host[256], name[URL_NAME_MAX + 1];
	uint8_t rnd[4];

	if (c->initiator.node_name)
		return 0;
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	int rc = cfg_format_node_name(name, sizeof(name), host, rnd);
	if (rc)
		return rc;
	c->initiator.node_name = strdup(name);
	return c->initiator.node_name ? 1 : -ENOMEM;
}

int cfg_open(const char *path, struct cfg **out, bool *generated,
	     struct cfg_error *err)
{
	struct cfg *c = NULL;
	int rc = cfg_load(path, &c, err);

	if (generated)
		*generated = false;
	if (rc == -ENOENT)
		rc = cfg_create(&c);
	if (rc == -ENOMEM)
		cfgtext_error(err, path, 0, "out of memory");
	if (rc)
		return rc;
	rc = cfg_generate_node_name(c);
	if (rc < 0) {
		cfgtext_error(err, path, 0, "cannot generate a node name: %s",
			      strerror(-rc));
	} else if (rc == 1) {
		rc = cfg_save(c, path, err);
		if (rc == 0 && generated)
			*generated = true;
	}
	if (rc) {
		cfg_destroy(c);
		return rc;
	}
	*out = c;
	return 0;
}
