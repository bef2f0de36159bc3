/* SPDX-License-Identifier: MIT */
/* Every user-typed form: iSCSI names, portals, "<iqn>,<portal>" and
 * iscsi:// URLs. Besides not crashing, what parses must be stable: a
 * normalized name normalizes to itself, a formatted portal parses back to
 * the same host and port, and every refusal comes with a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
	char again[URL_NAME_MAX + 1];
	const char *why = NULL;
	size_t len = strlen(name);

	if (len == 0 || len > URL_NAME_MAX)
		abort();
	if (url_name_normalize(name, len, again, &why) != 0 ||
	    strcmp(again, name) != 0)
		abort();
	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			abort();
}

static void check_portal(const struct url_portal *p)
{
	char buf[URL_PORTAL_STRMAX];
	struct url_portal q;
	const char *why = NULL;
	int n = url_format_portal(p, buf, sizeof(buf));

	if (n <= 0 || url_parse_portal(buf, (size_t)n, &q, &why) != 0 ||
	    strcmp(q.host, p->host) != 0 || q.port != p->port ||
	    q.kind != p->kind || p->port == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char name[URL_NAME_MAX + 1];
	struct url_portal p;
	struct url_target t;
	struct url_iscsi u;
	const char *why = NULL;

	if (url_name_normalize(s, size, name, &why) == 0)
		check_name(name);
	else if (!why || name[0] != '\0')
		abort();

	why = NULL;
	if (url_parse_portal(s, size, &p, &why) == 0)
		check_portal(&p);
	else if (!why)
		abort();

	why = NULL;
	if (url_parse_target(s, size, &t, &why) == 0) {
		check_name(t.name);
		if (t.has_portal)
			check_portal(&t.portal);
	} else if (!why) {
		abort();
	}

	why = NULL;
	if (url_parse_iscsi(s, size, &u, &why) == 0) {
		check_portal(&u.portal);
		if (u.has_target)
			check_name(u.target);
		if (u.has_lun && (!u.has_target || u.lun > URL_LUN_MAX))
			abort();
		if (u.has_password && (!u.has_user || u.password[0] == '\0'))
			abort();
		url_iscsi_wipe(&u);
	} else if (!why || u.has_password || u.password[0] != '\0') {
		abort();
	}
	return 0;
}
