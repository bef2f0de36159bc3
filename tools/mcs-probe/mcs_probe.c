/* SPDX-License-Identifier: MIT */
/*
 * mcs-probe: MC/S interop probe on the control path. Logs in one session
 * with N connections (a leading login, then non-leading logins through
 * mcs/login_nonlead.h over the portals of the session's portal group from
 * SendTargets), runs an INQUIRY on every connection with one session-wide
 * CmdSN stream, checks that our own MaxConnections bound refuses one more,
 * optionally forces one more past it to see how the target refuses it,
 * removes one connection with Logout reason 1 while the session stays up,
 * adds one again, and logs the session out. One line per step on stdout,
 * for tests/interop/test_mcs_probe.sh; with -i it stops at each checkpoint
 * ("ready <connections>") until a line arrives on stdin, so that the
 * script can look at the target's side.
 *
 * Exit: 0 when every step went as expected, 1 otherwise, 2 for usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcs/connset.h"
#include "mcs/ctl.h"
#include "mcs/login_io.h"
#include "mcs/login_nonlead.h"
#include "mcs/login_nonlead_io.h"
#include "proto/discovery.h"
#include "proto/url.h"

#define MAX_CONNS  CSET_MAX
#define RX_CAP     (NLIO_SCRATCH > (1u << 18) ? NLIO_SCRATCH : (1u << 18))

struct probe {
	struct lgio_target lead_t;
	struct ctl_conn lead;
	uint8_t *lead_rx;
	struct connset cs;
	struct nlogin_conn nc[MAX_CONNS];
	unsigned nopen;                  /* further connections open */
	uint32_t cmdsn;                  /* the session's next CmdSN */
	struct url_portal portals[NLOGIN_MAX_PORTALS];
	unsigned nportals;
	unsigned lun;
	bool interactive;
	int failures;
};

static uint32_t probe_cmdsn(void *arg)
{
	return ((struct probe *)arg)->cmdsn;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void checkpoint(struct probe *p, unsigned conns)
{
	char line[64];

	printf("ready %u\n", conns);
	fflush(stdout);
	if (p->interactive && !fgets(line, sizeof(line), stdin))
		p->interactive = false;
}

/* SendTargets on a discovery session: the portals of the target in the
 * leading login's portal group. */
static void discover(struct probe *p, const char *target, int32_t tpgt, uint8_t *rx)
{
	enum { MAX_T = 64, MAX_A = 256 };
	static char text[1u << 16];
	struct disc_target targets[MAX_T];
	struct disc_address addrs[MAX_A];
	struct disc_result res = { .targets = targets, .max_targets = MAX_T,
				   .addrs = addrs, .max_addrs = MAX_A };
	struct lgio_target t = p->lead_t;
	struct lgio_status st;
	struct ctl_conn c;
	const char *why = NULL;

	t.target_name = NULL;
	t.wishes.max_connections = 1;
	p->portals[0] = p->lead_t.portal;
	p->nportals = 1;
	if (lgio_login(&t, &c, rx, RX_CAP, &st) < 0) {
		printf("discovery: failed (%s): using the leading portal only\n",
		       st.message ? st.message : "?");
		return;
	}
	int len = lgio_sendtargets(&c, text, sizeof(text));
	ctl_logout(&c);
	ctl_close(&c);
	if (len < 0 || disc_parse_sendtargets(text, (size_t)len, &res, &why) < 0) {
		printf("discovery: no usable answer: using the leading portal only\n");
		return;
	}
	p->nportals = nlogin_portals(&res, target, tpgt, &p->lead_t.portal, p->portals,
				     NLOGIN_MAX_PORTALS);
	for (unsigned i = 0; i < p->nportals; i++) {
		char s[URL_PORTAL_STRMAX];
		url_format_portal(&p->portals[i], s, sizeof(s));
		printf("portal: %s tpgt %d\n", s, tpgt);
	}
}

/* One INQUIRY on c within the session's CmdSN stream. */
static int inquiry(struct probe *p, struct ctl_conn *c, uint8_t out[36])
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 };
	struct ctl_scsi_result res;

	c->cmdsn = p->cmdsn;
	int rc = ctl_scsi_read_retry(c, p->lun, cdb, sizeof(cdb), out, 36, &res);
	p->cmdsn = c->cmdsn;
	if (rc == 0 && (res.status != 0 || res.received < 36))
		rc = -EIO;
	return rc;
}

/* An INQUIRY on every open connection; the answers must be the same. */
static void io_round(struct probe *p, const char *when)
{
	uint8_t ref[36], got[36];
	int rc = inquiry(p, &p->lead, ref);

	if (rc < 0) {
		printf("io: %s: INQUIRY on the leading connection failed: %s\n", when,
		       strerror(-rc));
		p->failures++;
		return;
	}
	printf("io: %s: cid %u inquiry ok\n", when, p->lead.cid);
	for (unsigned i = 0; i < p->nopen; i++) {
		struct ctl_conn *c = &p->nc[i].ctl;
		rc = inquiry(p, c, got);
		if (rc < 0) {
			printf("io: %s: cid %u INQUIRY failed: %s\n", when, c->cid, strerror(-rc));
			p->failures++;
		} else if (memcmp(ref, got, sizeof(ref)) != 0) {
			printf("io: %s: cid %u INQUIRY data differs\n", when, c->cid);
			p->failures++;
		} else {
			printf("io: %s: cid %u inquiry ok\n", when, c->cid);
		}
	}
	printf("cmdsn: %u\n", p->cmdsn);
}

/* One more connection than the session may have, our limit bypassed:
 * how does the target answer? Leaves nothing open. */
static void force_extra(struct probe *p)
{
	struct lgio_target t = p->lead_t;
	struct lgio_status st;
	struct ctl_conn c;
	uint8_t *rx = malloc(RX_CAP);
	uint16_t cid = (uint16_t)atomic_load(&p->cs.next_cid);

	if (!rx)
		return;
	t.tsih = p->lead.tsih;
	t.cid = cid;
	int rc = nlio_login(&t, &p->lead.params, p->cmdsn, &c, rx, RX_CAP, &st);
	if (rc < 0) {
		printf("extra: cid %u refused by the target: %s (status 0x%02x%02x, %s)\n", cid,
		       st.message ? st.message : strerror(-rc), st.status_class,
		       st.status_detail, strerror(-rc));
	} else {
		uint8_t resp;
		printf("extra: cid %u accepted by the target (it does not enforce "
		       "MaxConnections)\n", cid);
		rc = nlio_logout_cid(&c, cid, p->cmdsn, &resp);
		printf("extra: cid %u logged out: %s\n", cid, rc ? strerror(-rc) : "ok");
		ctl_close(&c);
		sleep_ms(300);
	}
	free(rx);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mcs-probe [-n conns] [-w wish] [-x] [-i] [-l lun] [-t ms] [-I iqn]\n"
		"                 <portal> <target-iqn>\n"
		"  -n N   connections in the session, the leading one included (4)\n"
		"  -w N   MaxConnections to ask for (N)\n"
		"  -x     also force one connection past the limit and report the\n"
		"         target's answer\n"
		"  -i     stop at the checkpoints until a line arrives on stdin\n"
		"  -l L   LUN for the INQUIRY on each connection (0)\n"
		"  -t MS  timeout per PDU (15000)\n"
		"  -I IQN initiator name\n");
}

int main(int argc, char **argv)
{
	static struct probe P;
	struct probe *p = &P;
	unsigned want = 4, wish = 0;
	bool extra = false;
	int timeout = 15000, opt;
	const char *iname = "iqn.2026-11.org.mcsi:mcs-probe";
	const char *why = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n:w:xil:t:I:h")) != -1) {
		switch (opt) {
		case 'n': want = (unsigned)atoi(optarg); break;
		case 'w': wish = (unsigned)atoi(optarg); break;
		case 'x': extra = true; break;
		case 'i': p->interactive = true; break;
		case 'l': p->lun = (unsigned)atoi(optarg); break;
		case 't': timeout = atoi(optarg); break;
		case 'I': iname = optarg; break;
		default: usage(); return 2;
		}
	}
	if (argc - optind != 2 || want < 1 || want > MAX_CONNS) {
		usage();
		return 2;
	}
	lgio_target_init(&p->lead_t);
	if (url_parse_portal(argv[optind], strlen(argv[optind]), &p->lead_t.portal, &why) < 0) {
		fprintf(stderr, "mcs-probe: bad portal: %s\n", why);
		return 2;
	}
	p->lead_t.target_name = argv[optind + 1];
	p->lead_t.initiator_name = iname;
	p->lead_t.timeout_ms = timeout;
	p->lead_t.wishes.max_connections = wish ? wish : want;
	p->lead_t.wishes.error_recovery_level = 0;
	p->lead_t.wishes.max_outstanding_r2t = 1;
	p->lead_rx = malloc(RX_CAP);
	for (unsigned i = 0; i < MAX_CONNS; i++) {
		p->nc[i].rx = malloc(RX_CAP);
		p->nc[i].rx_cap = RX_CAP;
		if (!p->nc[i].rx)
			return 1;
	}
	if (!p->lead_rx)
		return 1;

	/* The leading connection. */
	struct lgio_status st;
	int rc = lgio_login(&p->lead_t, &p->lead, p->lead_rx, RX_CAP, &st);
	if (rc < 0) {
		printf("lead: login failed: %s\n", st.message ? st.message : strerror(-rc));
		return 1;
	}
	char ps[URL_PORTAL_STRMAX];
	url_format_portal(&st.portal, ps, sizeof(ps));
	p->lead_t.portal = st.portal;              /* after any redirection */
	p->cmdsn = p->lead.cmdsn;
	printf("lead: cid %u tsih 0x%04x MaxConnections %u tpgt %d portal %s\n",
	       p->lead.cid, p->lead.tsih, p->lead.params.max_connections,
	       p->lead.params.tpgt, ps);
	if (cset_init(&p->cs, p->lead.params.max_connections, 2) < 0 ||
	    cset_add_lead(&p->cs, p->lead.cid, 0) < 0)
		return 1;

	uint8_t *drx = malloc(RX_CAP);
	if (drx)
		discover(p, p->lead_t.target_name, p->lead.params.tpgt, drx);
	free(drx);

	/* The further connections. */
	struct nlogin_req req = {
		.lead = &p->lead_t, .session = &p->lead.params, .tsih = p->lead.tsih,
		.portals = p->portals, .nportals = p->nportals,
		.cmdsn = probe_cmdsn, .cmdsn_arg = p, .settle_ms = 2000,
	};
	struct nlogin_result res;
	rc = nlogin_open(&p->cs, &req, &nlogin_ops_blocking, p->nc, want - 1, &res);
	p->nopen = res.opened;
	for (unsigned i = 0; i < p->nopen; i++) {
		url_format_portal(&p->portals[p->nc[i].portal], ps, sizeof(ps));
		printf("conn: cid %u portal %s queue %u\n", p->nc[i].tk.cid, ps,
		       p->nc[i].tk.queue);
		cset_publish(&p->cs, p->nc[i].tk.slot);
	}
	if (rc < 0) {
		printf("open: stopped after %u of %u: %s (status 0x%02x%02x, %s)\n",
		       1 + p->nopen, want, res.message, res.st.status_class,
		       res.st.status_detail, strerror(-rc));
		p->failures++;
	}
	struct cset_snap snap;
	cset_snapshot(&p->cs, &snap);
	printf("session: %u connections, limit %u\n", snap.n, snap.limit);
	io_round(p, "all");
	checkpoint(p, 1 + p->nopen);

	/* One more: our own bound refuses it before any login. */
	unsigned next = 0;
	struct nlogin_conn spare = { .rx = p->nc[MAX_CONNS - 1].rx, .rx_cap = RX_CAP };
	if (1 + p->nopen >= snap.limit) {
		memset(&res, 0, sizeof(res));
		rc = nlogin_open_one(&p->cs, &req, &nlogin_ops_blocking, -1, &next, &spare, &res);
		if (rc == -EUSERS && res.attempts == 0) {
			printf("limit: refused locally: %s\n", res.message);
		} else {
			printf("limit: NOT refused locally (%d)\n", rc);
			p->failures++;
			if (rc == 0)
				nlogin_drop(&p->cs, &p->lead, &spare, p->cmdsn);
		}
	}
	if (extra)
		force_extra(p);

	/* Remove the last connection (Logout reason 1 on that connection:
	 * tgt 1.0.85 answers a logout for another CID by closing the
	 * connection it arrived on) while the session stays up. */
	if (p->nopen > 0) {
		struct nlogin_conn *nc = &p->nc[p->nopen - 1];
		uint16_t cid = nc->tk.cid;
		rc = nlogin_drop(&p->cs, NULL, nc, p->cmdsn);
		if (rc < 0) {
			printf("remove: cid %u failed: %s\n", cid, strerror(-rc));
			p->failures++;
		} else {
			printf("remove: cid %u logged out (reason 1)\n", cid);
			p->nopen--;
		}
		io_round(p, "after-remove");
		cset_snapshot(&p->cs, &snap);
		printf("session: %u connections, limit %u\n", snap.n, snap.limit);
		checkpoint(p, 1 + p->nopen);

		/* And a connection added again at run time, under a new CID. */
		memset(&res, 0, sizeof(res));
		nc = &p->nc[p->nopen];
		rc = nlogin_open_one(&p->cs, &req, &nlogin_ops_blocking, -1, &next, nc, &res);
		if (rc < 0) {
			printf("readd: failed: %s (%s)\n", res.message, strerror(-rc));
			p->failures++;
		} else {
			cset_publish(&p->cs, nc->tk.slot);
			p->nopen++;
			printf("readd: cid %u\n", nc->tk.cid);
			io_round(p, "after-readd");
		}
		cset_snapshot(&p->cs, &snap);
		printf("session: %u connections, limit %u\n", snap.n, snap.limit);
		checkpoint(p, 1 + p->nopen);
		/* LIO (6.1) must not see a session logout within 0.2 s of a
		 * connection logout. */
		sleep_ms(300);
	}

	/* Session logout on the leading connection closes them all. */
	p->lead.cmdsn = p->cmdsn;
	rc = ctl_logout(&p->lead);
	if (rc < 0) {
		printf("logout: session logout failed: %s\n", strerror(-rc));
		p->failures++;
	} else
		printf("logout: session closed\n");
	ctl_close(&p->lead);
	for (unsigned i = 0; i < p->nopen; i++)
		ctl_close(&p->nc[i].ctl);
	for (unsigned i = 0; i < MAX_CONNS; i++)
		free(p->nc[i].rx);
	free(p->lead_rx);
	printf("result: %s\n", p->failures ? "FAIL" : "ok");
	return p->failures ? 1 : 0;
}
