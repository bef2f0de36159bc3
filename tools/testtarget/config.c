/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "luns.h"
#include "proto/chap.h"

#define DEFAULT_TARGET "iqn.2026-11.org.mcsi:testtarget"

/* Pending pieces resolved once every option is known. */
struct config_state {
	const char *portals[TT_MAX_PORTALS];
	unsigned nportals;
	const char *luns[TT_MAX_TARGETS * TT_MAX_LUNS];
	unsigned lun_target[TT_MAX_TARGETS * TT_MAX_LUNS];
	unsigned nluns;
	long port;
	char *files[8];               /* config file texts, owned */
	unsigned nfiles;
};

void config_usage(FILE *out)
{
	fputs(
"usage: mcsi-testtarget [options]\n"
"An iSCSI target (RFC 7143) for testing initiators: RAM and null LUNs,\n"
"CHAP, digests, MC/S, ERL 0-2, redirection and fault injection.\n"
"\n"
"Portals and targets\n"
"  --portal ADDR[:PORT][,TPGT]  listen here (repeatable; IPv6 as [::1]:3260);\n"
"                               default 127.0.0.1, portal group 1\n"
"  --port N                     port for portals given without one (3260;\n"
"                               0 = pick a free port, see --port-file)\n"
"  --target IQN                 a target (repeatable); default " DEFAULT_TARGET "\n"
"  --alias NAME                 TargetAlias of the last target\n"
"  --lun ID:ram:SIZE[:BS][:ro]  a RAM LUN of the last target (BS 512|4096)\n"
"  --lun ID:null:SIZE[:BS]      a null LUN: reads zeros, drops writes\n"
"                               (default: --lun 0:ram:64M)\n"
"Authentication\n"
"  --chap USER:SECRET           require CHAP for normal sessions\n"
"  --mutual USER:SECRET         target credentials for mutual CHAP\n"
"  --chap-discovery             require CHAP for discovery sessions too\n"
"  --chap-algs LIST             allowed: md5,sha1,sha256,sha3-256 (all)\n"
"Negotiation limits (what the target accepts)\n"
"  --max-connections N (8)  --erl N (2)  --max-recv-dsl N (262144)\n"
"  --max-burst N (1048576)  --first-burst N (262144)  --max-r2t N (8)\n"
"  --initial-r2t yes|no (no)  --immediate-data yes|no (yes)\n"
"  --digest any|crc32c|none|prefer-crc32c (any: the initiator's order)\n"
"  --time2wait N (2)  --time2retain N (20)  --cmd-window N (128)\n"
"Behaviour\n"
"  --redirect ADDR:PORT[,permanent]  answer normal logins with a redirection\n"
"                               (temporary unless ',permanent'); logins at\n"
"                               ADDR:PORT itself are served\n"
"  --nop-interval MS            send NOP-In pings every MS milliseconds\n"
"  --fast                       benchmark mode: pre-fault RAM LUNs, io_uring\n"
"  --io auto|sync|uring         connection I/O: blocking recv()/sendmsg() or\n"
"                               io_uring (auto: io_uring with --fast)\n"
"  --control PATH               fault-injection control socket (UNIX)\n"
"  --faults FILE                fault rules to load at start (same syntax)\n"
"Process\n"
"  --pidfile FILE  --port-file FILE (bound portals, one per line)\n"
"  --config FILE                options from a file, one per line, no dashes\n"
"  -v, --verbose                more logging (repeat)\n"
"  -h, --help                   this text\n"
"Stop it with SIGTERM or SIGINT; it closes every connection and exits 0.\n",
	      out);
}

int config_parse_portal(const char *s, uint16_t default_port, struct tt_portal *pt)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *tpgt = strchr(s, ',');
	size_t hl;

	memset(pt, 0, sizeof(*pt));
	pt->fd = -1;
	pt->tpgt = 1;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e)
			return -EINVAL;
		hl = (size_t)(e - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (e[1] == ':')
			port = e + 2;
	} else {
		const char *colon = strchr(s, ':');
		const char *end = colon ? colon : (tpgt ? tpgt : s + strlen(s));
		hl = (size_t)(end - s);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (colon)
			port = colon + 1;
	}
	long p = default_port;
	if (port && *port && *port != ',') {
		char *e;
		p = strtol(port, &e, 10);
		if ((*e && *e != ',') || p < 0 || p > 65535)
			return -EINVAL;
	}
	if (tpgt) {
		char *e;
		long t = strtol(tpgt + 1, &e, 10);
		if (*e || t < 0 || t > 65535)
			return -EINVAL;
		pt->tpgt = (uint16_t)t;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)&pt->addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&pt->addr;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		pt->addrlen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		pt->addrlen = sizeof(*s6);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int config_cred(const char *v, struct tt_chap_cred *c)
{
	const char *colon = strchr(v, ':');
	if (!colon || colon == v || !colon[1] || strlen(colon + 1) > CHAP_MAX_SECRET)
		return -EINVAL;
	char *user = strndup(v, (size_t)(colon - v));
	if (!user)
		return -ENOMEM;
	c->user = user;
	c->secret = colon + 1;
	return 0;
}

static int config_yesno(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "Yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "No") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int config_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *e;
	unsigned long x = strtoul(v, &e, 0);
	if (*v == '\0' || *e || x < lo || x > hi)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

static int config_algs(const char *v, unsigned *mask)
{
	*mask = 0;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "md5"))
			*mask |= 1u << CHAP_MD5;
		else if (!strcmp(t, "sha1"))
			*mask |= 1u << CHAP_SHA1;
		else if (!strcmp(t, "sha256"))
			*mask |= 1u << CHAP_SHA256;
		else if (!strcmp(t, "sha3-256"))
			*mask |= 1u << CHAP_SHA3_256;
		else
			return -EINVAL;
	}
	return *mask ? 0 : -EINVAL;
}

static int config_file(struct tt_config *cfg, struct config_state *st, const char *path);

/* One option. Returns 0 or -EINVAL. */
static int config_opt(struct tt_config *cfg, struct config_state *st,
		      const char *name, const char *v)
{
	struct tt_limits *lim = &cfg->lim;
	struct tt_target *last = cfg->ntargets ? &cfg->targets[cfg->ntargets - 1] : NULL;

	if (!strcmp(name, "portal")) {
		if (st->nportals >= TT_MAX_PORTALS)
			return -EINVAL;
		st->portals[st->nportals++] = v;
		return 0;
	}
	if (!strcmp(name, "port")) {
		char *e;
		st->port = strtol(v, &e, 10);
		return (*e || st->port < 0 || st->port > 65535) ? -EINVAL : 0;
	}
	if (!strcmp(name, "target")) {
		if (cfg->ntargets >= TT_MAX_TARGETS)
			return -EINVAL;
		cfg->targets[cfg->ntargets++].name = v;
		return 0;
	}
	if (!strcmp(name, "alias"))
		return last ? (last->alias = v, 0) : -EINVAL;
	if (!strcmp(name, "lun")) {
		if (st->nluns >= TT_MAX_TARGETS * TT_MAX_LUNS)
			return -EINVAL;
		st->lun_target[st->nluns] = cfg->ntargets ? cfg->ntargets - 1 : 0;
		st->luns[st->nluns++] = v;
		return 0;
	}
	if (!strcmp(name, "chap"))
		return config_cred(v, &cfg->chap);
	if (!strcmp(name, "mutual"))
		return config_cred(v, &cfg->mutual);
	if (!strcmp(name, "chap-algs"))
		return config_algs(v, &cfg->chap_algs);
	if (!strcmp(name, "max-connections"))
		return config_u32(v, 1, TT_MAX_CONNS, &lim->max_connections);
	if (!strcmp(name, "erl"))
		return config_u32(v, 0, 2, &lim->erl);
	if (!strcmp(name, "max-recv-dsl"))
		return config_u32(v, 512, 16777215, &lim->max_recv_dsl);
	if (!strcmp(name, "max-burst"))
		return config_u32(v, 512, 16777215, &lim->max_burst);
	if (!strcmp(name, "first-burst"))
		return config_u32(v, 512, 16777215, &lim->first_burst);
	if (!strcmp(name, "max-r2t"))
		return config_u32(v, 1, TT_MAX_R2T, &lim->max_r2t);
	if (!strcmp(name, "initial-r2t"))
		return config_yesno(v, &lim->initial_r2t);
	if (!strcmp(name, "immediate-data"))
		return config_yesno(v, &lim->immediate_data);
	if (!strcmp(name, "time2wait"))
		return config_u32(v, 0, 3600, &lim->time2wait);
	if (!strcmp(name, "time2retain"))
		return config_u32(v, 0, 3600, &lim->time2retain);
	if (!strcmp(name, "cmd-window"))
		return config_u32(v, 1, TT_TASKS / 2, &lim->cmd_window);
	if (!strcmp(name, "digest")) {
		lim->allow_crc = lim->allow_none = true;
		lim->prefer_crc = false;
		if (!strcmp(v, "crc32c"))
			lim->allow_none = false;
		else if (!strcmp(v, "none"))
			lim->allow_crc = false;
		else if (!strcmp(v, "prefer-crc32c"))
			lim->prefer_crc = true;
		else if (strcmp(v, "any"))
			return -EINVAL;
		return 0;
	}
	if (!strcmp(name, "redirect")) {
		const char *comma = strchr(v, ',');
		cfg->redirect_permanent = comma && !strcmp(comma + 1, "permanent");
		if (comma && !cfg->redirect_permanent && strcmp(comma + 1, "temporary"))
			return -EINVAL;
		free((char *)cfg->redirect);
		cfg->redirect = comma ? strndup(v, (size_t)(comma - v)) : strdup(v);
		return cfg->redirect ? 0 : -ENOMEM;
	}
	if (!strcmp(name, "io")) {
		if (!strcmp(v, "auto"))
			cfg->io_mode = 0;
		else if (!strcmp(v, "sync"))
			cfg->io_mode = 1;
		else if (!strcmp(v, "uring"))
			cfg->io_mode = 2;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(name, "nop-interval"))
		return config_u32(v, 0, 3600000, &cfg->nop_interval_ms);
	if (!strcmp(name, "pidfile"))
		return cfg->pidfile = v, 0;
	if (!strcmp(name, "port-file"))
		return cfg->portfile = v, 0;
	if (!strcmp(name, "control"))
		return cfg->ctl_path = v, 0;
	if (!strcmp(name, "faults"))
		return cfg->fault_script = v, 0;
	if (!strcmp(name, "config"))
		return config_file(cfg, st, v);
	return -EINVAL;
}

static bool config_flag(struct tt_config *cfg, const char *name)
{
	if (!strcmp(name, "fast"))
		cfg->fast = true;
	else if (!strcmp(name, "chap-discovery"))
		cfg->chap_discovery = true;
	else if (!strcmp(name, "verbose"))
		cfg->verbose++;
	else
		return false;
	return true;
}

static int config_file(struct tt_config *cfg, struct config_state *st, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f || st->nfiles >= 8) {
		fprintf(stderr, "mcsi-testtarget: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -EINVAL;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = malloc((size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		free(text);
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	text[size] = '\0';
	st->files[st->nfiles++] = text;
	unsigned lineno = 0;
	for (char *save, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *name = line + strspn(line, " \t");
		if (!*name)
			continue;
		char *sp = name + strcspn(name, " \t");
		char *val = sp;
		if (*sp) {
			*sp = '\0';
			val = sp + 1 + strspn(sp + 1, " \t");
			char *end = val + strlen(val);
			while (end > val && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
				*--end = '\0';
		}
		if (config_flag(cfg, name) && !*val)
			continue;
		if (config_opt(cfg, st, name, val)) {
			fprintf(stderr, "mcsi-testtarget: %s:%u: bad option '%s'\n", path, lineno, name);
			return -EINVAL;
		}
	}
	return 0;
}

static void config_defaults(struct tt_config *cfg)
{
	struct tt_limits *l = &cfg->lim;
	l->max_connections = 8;
	l->erl = 2;
	l->max_recv_dsl = 262144;
	l->max_burst = 1048576;
	l->first_burst = 262144;
	l->max_r2t = 8;
	l->initial_r2t = false;
	l->immediate_data = true;
	l->data_pdu_in_order = true;
	l->data_seq_in_order = true;
	l->time2wait = 2;
	l->time2retain = 20;
	l->allow_crc = l->allow_none = true;
	l->cmd_window = 128;
	cfg->chap_algs = 1u << CHAP_MD5 | 1u << CHAP_SHA1 | 1u << CHAP_SHA256 |
			 1u << CHAP_SHA3_256;
}

static int config_finish(struct tt_config *cfg, struct config_state *st)
{
	if (cfg->ntargets == 0)
		cfg->targets[cfg->ntargets++].name = DEFAULT_TARGET;
	if (st->nportals == 0)
		st->portals[st->nportals++] = "127.0.0.1";
	for (unsigned i = 0; i < st->nportals; i++) {
		if (config_parse_portal(st->portals[i], (uint16_t)st->port, &cfg->portals[i])) {
			fprintf(stderr, "mcsi-testtarget: bad portal '%s'\n", st->portals[i]);
			return -EINVAL;
		}
	}
	cfg->nportals = st->nportals;
	if (st->nluns == 0) {
		st->luns[0] = "0:ram:64M";
		st->lun_target[0] = 0;
		st->nluns = 1;
	}
	for (unsigned i = 0; i < st->nluns; i++) {
		const char *why = "";
		int rc = lun_add_spec(&cfg->targets[st->lun_target[i]], st->luns[i],
				      cfg->fast, &why);
		if (rc) {
			fprintf(stderr, "mcsi-testtarget: --lun %s: %s\n", st->luns[i], why);
			return -EINVAL;
		}
	}
	if (cfg->mutual.user && !cfg->chap.user) {
		fprintf(stderr, "mcsi-testtarget: --mutual needs --chap\n");
		return -EINVAL;
	}
	if (cfg->lim.first_burst > cfg->lim.max_burst)
		cfg->lim.first_burst = cfg->lim.max_burst;
	return 0;
}

int config_parse(struct tt_config *cfg, int argc, char **argv)
{
	static const char *const flags[] = { "fast", "chap-discovery", "verbose", NULL };
	static const char *const valued[] = {
		"portal", "port", "target", "alias", "lun", "chap", "mutual", "chap-algs",
		"max-connections", "erl", "max-recv-dsl", "max-burst", "first-burst",
		"max-r2t", "initial-r2t", "immediate-data", "time2wait", "time2retain",
		"cmd-window", "digest", "redirect", "io", "nop-interval", "pidfile",
		"port-file", "control", "faults", "config", NULL,
	};
	struct config_state *st = calloc(1, sizeof(*st));
	int rc = 0;

	if (!st)
		return -ENOMEM;
	st->port = 3260;
	config_defaults(cfg);
	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			config_usage(stdout);
			rc = 1;
			break;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "-vv")) {
			cfg->verbose += (int)strlen(a) - 1;
			continue;
		}
		if (strncmp(a, "--", 2)) {
			fprintf(stderr, "mcsi-testtarget: unexpected argument '%s'\n", a);
			rc = -EINVAL;
			break;
		}
		char name[64];
		const char *eq = strchr(a + 2, '='), *v;
		size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nl >= sizeof(name)) {
			rc = -EINVAL;
			break;
		}
		memcpy(name, a + 2, nl);
		name[nl] = '\0';
		bool is_flag = false, known = false;
		for (int f = 0; flags[f]; f++)
			is_flag |= !strcmp(flags[f], name);
		for (int f = 0; valued[f] && !is_flag; f++)
			known |= !strcmp(valued[f], name);
		if (!is_flag && !known) {
			fprintf(stderr, "mcsi-testtarget: unknown option --%s (see --help)\n", name);
			rc = -EINVAL;
			break;
		}
		if (is_flag && !eq) {
			config_flag(cfg, name);
			continue;
		}
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			fprintf(stderr, "mcsi-testtarget: --%s needs a value\n", name);
			rc = -EINVAL;
			break;
		}
		if (config_opt(cfg, st, name, v)) {
			fprintf(stderr, "mcsi-testtarget: bad option --%s %s (see --help)\n", name, v);
			rc = -EINVAL;
		}
	}
	if (rc == 0)
		rc = config_finish(cfg, st);
	/* Strings from config files stay referenced by cfg. */
	for (unsigned i = 0; i < st->nfiles; i++)
		cfg->files[i] = st->files[i];
	free(st);
	return rc;
}

void config_free(struct tt_config *cfg)
{
	for (unsigned i = 0; i < cfg->ntargets; i++)
		lun_destroy_all(&cfg->targets[i]);
	free((char *)cfg->chap.user);
	free((char *)cfg->mutual.user);
	free((char *)cfg->redirect);
	for (unsigned i = 0; i < 8; i++)
		free(cfg->files[i]);
}
