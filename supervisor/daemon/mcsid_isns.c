/* SPDX-License-Identifier: MIT */
/*
 * iSNS discovery (RFC 4171) through open-isns (libisns), in the discovery
 * child only: the library keeps its settings in a global (isns_config),
 * blocks in its calls and may print on stderr, none of which the daemon's
 * loop could afford; the child is disposable and asks one server at a time.
 *
 * One DevAttrQry per server: key "iSCSI Node Type = Target", asking for
 * the node names and types and for the portal groups (name, address, port,
 * tag); when the server cannot answer that at once, a DevGetNext walk of
 * the target nodes and one DevAttrQry per node (walk()). A target is
 * reachable through the portals of its portal groups; a group with a NULL
 * tag means "not through this portal" (RFC 4171 5.6.5.1) and is skipped,
 * as is a UDP port. A server that does not know our source
 * name (ISNS_SOURCE_UNKNOWN: it wants the asking node registered, so that
 * it can apply its discovery domains) gets a DevAttrReg of the initiator
 * node, the query again, and a DevDereg afterwards so that we leave no
 * entity behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libisns/isns.h>
#include <libisns/message.h>
#include <libisns/util.h>

#include "proto/discovery.h"
#include "proto/url.h"
#include "supervisor/daemon/mcsid.h"

#define ISNS_CONNECT_S   10u   /* per server; the run has its own deadline */
#define ISNS_CALL_S      20u

struct isns_sink {
	struct disc_result *res;
	char *names;           /* normalized names, NUL-terminated, back to back */
	size_t cap, used;
	size_t no_portal;
};

/* The libisns globals this client depends on: no DSA security (the server
 * is configured for none, as open-iscsi's iscsiadm expects), bounded
 * network waits, the server to ask. */
static int isns_setup(const char *server)
{
	isns_config.ic_security = 0;
	isns_config.ic_network.connect_timeout = ISNS_CONNECT_S;
	isns_config.ic_network.reconnect_timeout = 1;
	isns_config.ic_network.call_timeout = ISNS_CALL_S;
	isns_assign_string(&isns_config.ic_server_name, server);
	return isns_config.ic_server_name ? 0 : -ENOMEM;
}

/* A client of the configured server with our name as the source, whose
 * calls fail when the connection does instead of reconnecting. */
static isns_client_t *client(const char *initiator)
{
	isns_client_t *cl = isns_create_client(NULL, initiator);

	if (cl)
		isns_socket_set_disconnect_fatal(cl->ic_socket);
	return cl;
}

static int node_reg(isns_client_t *cl, const char *initiator, bool reg)
{
	isns_simple_t *m = isns_simple_create(reg ? ISNS_DEVICE_ATTRIBUTE_REGISTER
						  : ISNS_DEVICE_DEREGISTER,
					      cl->ic_source, NULL);
	if (!m)
		return ISNS_INTERNAL_ERROR;
	isns_attr_list_append_string(&m->is_operating_attrs, ISNS_TAG_ISCSI_NAME,
				     initiator);
	if (reg)
		isns_attr_list_append_uint32(&m->is_operating_attrs,
					     ISNS_TAG_ISCSI_NODE_TYPE,
					     ISNS_ISCSI_INITIATOR_MASK);
	int status = isns_client_call(cl, &m);
	isns_simple_free(m);
	return status;
}

/* The DevAttrQry for every target (name NULL) or one; on success the
 * objects of the answer are in *objs. */
static int query(isns_client_t *cl, const char *name, isns_object_list_t *objs)
{
	static const uint32_t want[] = {
		ISNS_TAG_ISCSI_NAME, ISNS_TAG_ISCSI_NODE_TYPE,
		ISNS_TAG_PG_ISCSI_NAME, ISNS_TAG_PG_PORTAL_IP_ADDR,
		ISNS_TAG_PG_PORTAL_TCP_UDP_PORT, ISNS_TAG_PG_TAG,
	};
	isns_attr_list_t key = ISNS_ATTR_LIST_INIT;

	if (name)
		isns_attr_list_append_string(&key, ISNS_TAG_ISCSI_NAME, name);
	else
		isns_attr_list_append_uint32(&key, ISNS_TAG_ISCSI_NODE_TYPE,
					     ISNS_ISCSI_TARGET_MASK);
	isns_simple_t *q = isns_create_query(cl, &key);
	isns_attr_list_destroy(&key);
	if (!q)
		return ISNS_INTERNAL_ERROR;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		isns_query_request_attr_tag(q, want[i]);
	int status = isns_client_call(cl, &q);
	if (status == ISNS_SUCCESS)
		status = isns_query_response_get_objects(q, objs);
	isns_simple_free(q);
	return status;
}

/* Copies s (len bytes) into the sink's name space. NULL when full. */
static char *keep(struct isns_sink *k, const char *s, size_t len)
{
	if (k->cap - k->used < len + 1)
		return NULL;
	char *p = k->names + k->used;
	memcpy(p, s, len);
	p[len] = '\0';
	k->used += len + 1;
	return p;
}

/* A valid target name, normalized, once: adds it to res. Invalid names are
 * counted (and the first kept, raw, for the log: the parent escapes it). */
static int add_target(struct isns_sink *k, const char *raw)
{
	struct disc_result *r = k->res;
	char name[URL_NAME_MAX + 1];
	const char *why;
	size_t len = strnlen(raw, URL_NAME_MAX + 1);

	if (url_name_normalize(raw, len, name, &why)) {
		if (r->skipped_names++ == 0) {
			r->bad_name = keep(k, raw, len > URL_NAME_MAX ? URL_NAME_MAX : len);
			r->bad_name_len = r->bad_name ? strlen(r->bad_name) : 0;
		}
		return 0;
	}
	for (size_t i = 0; i < r->n_targets; i++)
		if (strcmp(r->targets[i].name, name) == 0)
			return 0;
	if (r->n_targets == r->max_targets)
		return -ENOSPC;
	const char *p = keep(k, name, strlen(name));
	if (!p)
		return -ENOSPC;
	r->targets[r->n_targets++] = (struct disc_target){ .name = p,
							   .name_len = strlen(p) };
	return 0;
}

/* A portal group's portal, or -EINVAL when it does not lead to the node. */
static int pg_portal(isns_object_t *pg, struct disc_address *a)
{
	struct in6_addr ip;
	uint32_t port, tag;
	char host[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 16];
	const char *why;

	if (!isns_object_get_ipaddr(pg, ISNS_TAG_PG_PORTAL_IP_ADDR, &ip) ||
	    !isns_object_get_uint32(pg, ISNS_TAG_PG_PORTAL_TCP_UDP_PORT, &port) ||
	    !isns_object_get_uint32(pg, ISNS_TAG_PG_TAG, &tag))
		return -EINVAL;
	/* RFC 4171 6.3.2: the low 16 bits are the port, bit 16 means UDP. */
	if (port == 0 || port > 0xffff || tag > 0xffff)
		return -EINVAL;
	/* IPv4 travels as ::ffff:a.b.c.d (RFC 4171 6.3.1); open-isns also
	 * answers with the older IPv4-compatible ::a.b.c.d. */
	if (IN6_IS_ADDR_V4MAPPED(&ip) || IN6_IS_ADDR_V4COMPAT(&ip)) {
		if (!inet_ntop(AF_INET, &ip.s6_addr[12], host, sizeof(host)))
			return -EINVAL;
		snprintf(s, sizeof(s), "%s:%u", host, port);
	} else {
		if (!inet_ntop(AF_INET6, &ip, host, sizeof(host)))
			return -EINVAL;
		snprintf(s, sizeof(s), "[%s]:%u", host, port);
	}
	if (url_parse_portal(s, strlen(s), &a->portal, &why))
		return -EINVAL;
	a->tpgt = (int32_t)tag;
	return 0;
}

/* The portals of target t, from the answer's portal groups. */
static int add_portals(struct isns_sink *k, struct disc_target *t,
		       const isns_object_list_t *objs)
{
	struct disc_result *r = k->res;

	t->first_addr = r->n_addrs;
	for (unsigned i = 0; i < objs->iol_count; i++) {
		isns_object_t *o = objs->iol_data[i];
		const char *pgname;
		struct disc_address a;
		if (!isns_object_is_pg(o) ||
		    !isns_object_get_string(o, ISNS_TAG_PG_ISCSI_NAME, &pgname) ||
		    strcasecmp(pgname, t->name) != 0)
			continue;
		if (pg_portal(o, &a)) {
			r->skipped++;
			continue;
		}
		bool dup = false;
		for (size_t j = t->first_addr; j < r->n_addrs && !dup; j++)
			dup = r->addrs[j].portal.port == a.portal.port &&
			      strcmp(r->addrs[j].portal.host, a.portal.host) == 0;
		if (dup)
			continue;
		if (r->n_addrs == r->max_addrs)
			return -ENOSPC;
		r->addrs[r->n_addrs++] = a;
		t->n_addrs++;
	}
	return 0;
}

/* An answer into the SendTargets result: the targets it names that are
 * new, in its order, each with its portals from the same answer; a target
 * without a usable portal is left out (there is no discovery portal to
 * fall back on) and counted. */
static int collect(struct isns_sink *k, const isns_object_list_t *objs)
{
	struct disc_result *r = k->res;
	size_t first = r->n_targets;
	int rc = 0;

	for (unsigned i = 0; i < objs->iol_count && !rc; i++) {
		isns_object_t *o = objs->iol_data[i];
		const char *name;
		uint32_t type = 0;
		if (!isns_object_is_iscsi_node(o) ||
		    !isns_object_get_string(o, ISNS_TAG_ISCSI_NAME, &name))
			continue;
		/* Servers also answer with other nodes (ourselves) at times. */
		if (isns_object_get_uint32(o, ISNS_TAG_ISCSI_NODE_TYPE, &type) &&
		    !(type & ISNS_ISCSI_TARGET_MASK))
			continue;
		rc = add_target(k, name);
	}
	size_t n = first;
	for (size_t i = first; i < r->n_targets; i++) {
		struct disc_target t = r->targets[i];
		t.n_addrs = 0;
		int e = add_portals(k, &t, objs);
		if (t.n_addrs == 0) {
			k->no_portal++;
			r->n_addrs = t.first_addr;
		} else {
			r->targets[n++] = t;
		}
		if (e) {
			rc = e;
			break;
		}
	}
	r->n_targets = n;
	return rc;
}

/*
 * The same, one target at a time, for a server that cannot answer the
 * whole query: open-isns fails a DevAttrQry whose answer outgrows its
 * message buffer (ISNS_MAX_MESSAGE, 8 KiB: a few dozen targets) with an
 * internal error. DevGetNext walks the target nodes (RFC 4171 5.6.5.3),
 * then a DevAttrQry per name asks for its portal groups. The walk is
 * bounded: a server that keeps answering is cut off at the array size.
 */
static int walk(isns_client_t *cl, struct isns_sink *k)
{
	isns_attr_list_t scope = ISNS_ATTR_LIST_INIT;
	size_t steps = 0;
	int status = ISNS_INTERNAL_ERROR;

	isns_attr_list_append_uint32(&scope, ISNS_TAG_ISCSI_NODE_TYPE,
				     ISNS_ISCSI_TARGET_MASK);
	isns_simple_t *next = isns_create_getnext(cl, &isns_iscsi_node_template, &scope);
	while (next && steps++ < k->res->max_targets * 2) {
		isns_object_t *node = NULL;
		isns_object_list_t objs = ISNS_OBJECT_LIST_INIT;
		const char *name;
		status = isns_client_call(cl, &next);
		if (status == ISNS_SUCCESS)
			status = isns_getnext_response_get_object(next, &node);
		if (status == ISNS_NO_SUCH_ENTRY)
			status = ISNS_SUCCESS;          /* the end of the list */
		if (status != ISNS_SUCCESS || !node)
			break;
		bool full = false;
		if (isns_object_get_string(node, ISNS_TAG_ISCSI_NAME, &name)) {
			status = query(cl, name, &objs);
			full = status == ISNS_SUCCESS && collect(k, &objs) == -ENOSPC;
			isns_object_list_destroy(&objs);
		}
		isns_object_release(node);
		if (status != ISNS_SUCCESS || full)
			break;
		isns_simple_t *follow = isns_create_getnext_followup(cl, next, &scope);
		isns_simple_free(next);
		next = follow;
	}
	if (next)
		isns_simple_free(next);
	isns_attr_list_destroy(&scope);
	return status;
}

/* A failed call's status in words (static). */
static const char *status_why(int status)
{
	switch (status) {
	case ISNS_SOURCE_UNKNOWN:
	case ISNS_SOURCE_ABSENT:
	case ISNS_SOURCE_UNAUTHORIZED:
		return "the server refuses our initiator name as a source";
	case ISNS_INTERNAL_ERROR:
		/* What a refused connection or a timeout comes back as. */
		return "no answer (server down, unreachable or too slow)";
	default:
		return isns_strerror((enum isns_status)status);
	}
}

int isns_discover(const char *server, const char *initiator,
		  struct disc_result *res, char *names, size_t cap,
		  size_t *no_portal, const char **why)
{
	struct isns_sink k = { .res = res, .names = names, .cap = cap };
	isns_object_list_t objs = ISNS_OBJECT_LIST_INIT;
	bool registered = false;
	int rc, status;

	res->n_targets = res->n_addrs = res->skipped = res->skipped_names = 0;
	res->bad_name = NULL;
	res->bad_name_len = 0;
	*no_portal = 0;
	if (!initiator) {
		*why = "the initiator has no node name";
		return -EINVAL;
	}
	if ((rc = isns_setup(server))) {
		*why = "out of memory";
		return rc;
	}
	/* libisns prints its own errors on stderr, unescaped and in its own
	 * words; we report through the daemon instead. */
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved >= 0 && null >= 0)
		dup2(null, STDERR_FILENO);
	isns_client_t *cl = client(initiator);
	if (!cl) {
		*why = "cannot resolve the server's address or open a socket";
		rc = -EHOSTUNREACH;
		goto out;
	}
	status = query(cl, NULL, &objs);
	if (status == ISNS_SOURCE_UNKNOWN &&
	    node_reg(cl, initiator, true) == ISNS_SUCCESS) {
		registered = true;
		isns_object_list_destroy(&objs);
		status = query(cl, NULL, &objs);
	}
	if (status == ISNS_SUCCESS) {
		rc = collect(&k, &objs);
		if (rc == -ENOSPC)
			rc = 0;     /* keep what fitted, as SendTargets does */
	} else if (status == ISNS_INTERNAL_ERROR) {
		/* Too big to answer at once, or nobody there: the walk
		 * tells which (its first call fails too when down). Its
		 * own connection: a call on one that failed never returns. */
		isns_client_destroy(cl);
		cl = client(initiator);
		status = cl ? walk(cl, &k) : ISNS_INTERNAL_ERROR;
	}
	if (status != ISNS_SUCCESS) {
		*why = status_why(status);
		rc = status == ISNS_INTERNAL_ERROR ? -EHOSTUNREACH : -EPROTO;
	}
	*no_portal = k.no_portal;
	/* Not after a failure: a call on a connection that failed does not
	 * return (the run's deadline would end it). */
	if (registered && cl && status == ISNS_SUCCESS)
		node_reg(cl, initiator, false);
	isns_object_list_destroy(&objs);
	if (cl)
		isns_client_destroy(cl);
out:
	if (saved >= 0 && null >= 0)
		dup2(saved, STDERR_FILENO);
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	return rc;
}
