/* SPDX-License-Identifier: MIT */
/*
 * mcsi-ctlreq: sends one raw control-protocol request to a UNIX socket
 * (mcsid's, or a session process's) and prints the JSON reply. For tests
 * and debugging; iscsictl is the tool for people.
 *
 *   mcsi-ctlreq [--timeout MS] SOCKET '{"op":"status"}'
 *
 * Exit status: 0 when the reply says ok, 1 when it says not ok, 2 when
 * there was no usable reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor/ctlproto.h"
#include "supervisor/usock.h"

int main(int argc, char **argv)
{
	int timeout = 30000, i = 1, fd, rc;

	if (argc > 2 && strcmp(argv[1], "--timeout") == 0) {
		timeout = atoi(argv[2]);
		i = 3;
	}
	if (argc - i != 2 || timeout <= 0) {
		fprintf(stderr, "usage: mcsi-ctlreq [--timeout MS] SOCKET JSON\n");
		return 2;
	}
	const char *path = argv[i], *req = argv[i + 1];
	if ((rc = usock_connect(path, &fd))) {
		fprintf(stderr, "mcsi-ctlreq: %s: %s\n", path, strerror(-rc));
		return 2;
	}
	char *buf = malloc(CP_FRAME_MAX + 1);
	size_t len = 0;
	if (!buf)
		return 2;
	rc = usock_send_frame(fd, req, strlen(req), timeout);
	/* A refused peer gets its answer before it could send: read anyway. */
	int rrc = usock_recv_frame(fd, buf, CP_FRAME_MAX + 1, &len, timeout);
	close(fd);
	if (rrc) {
		fprintf(stderr, "mcsi-ctlreq: no reply: %s\n", strerror(-(rc ? rc : rrc)));
		free(buf);
		return 2;
	}
	printf("%s\n", buf);
	struct json_tok *t = malloc(CP_TOKENS_MAX * sizeof(*t));
	struct cp_reply r;
	const char *why = NULL;
	int st = 2;
	if (t && cp_reply_parse(buf, len, t, CP_TOKENS_MAX, &r, &why) == 0)
		st = r.ok ? 0 : 1;
	else
		fprintf(stderr, "mcsi-ctlreq: malformed reply: %s\n", why ? why : "?");
	free(t);
	free(buf);
	return st;
}
