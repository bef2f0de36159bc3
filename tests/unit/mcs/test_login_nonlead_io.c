/* SPDX-License-Identifier: MIT */
/* The blocking non-leading login and the logout of one connection, against
 * a scripted target on a loopback socket: what the joining login carries
 * (TSIH, CID, the session's CmdSN, no SessionType), the target's refusals
 * (0x0206 too many connections, redirection), and Logout reason 1 for a
 * CID with a NOP-In ping in between and the "CID not found" answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mcs/login_nonlead_io.h"
#include "proto/pdu.h"

#define TSIH   0x0b0a
#define CID    5
#define CMDSN  0x4000u

enum script { ACCEPT, REFUSE_0206, REDIRECT };

struct target {
	int lfd;
	uint16_t port;
	enum script script;
	uint8_t logout_response;
	bool ping_first;
	pthread_t th;
	/* what it saw */
	uint8_t req1[48];
	char text1[1024];
	uint32_t text1_len;
	uint8_t logout[48];
	uint32_t nop_ttt;
	bool got_nop;
	bool ok;
};

static struct target T;
static uint8_t DATA[65536];

static int recv_pdu(int fd, struct net_pdu *p)
{
	struct net_conn_opts o = { .max_recv_dsl = sizeof(DATA), .timeout_ms = 5000 };
	const char *why = NULL;

	p->data = DATA;
	p->data_cap = sizeof(DATA);
	return net_recv_pdu(fd, p, &o, &why);
}

static int send_pdu(int fd, uint8_t *bhs, const char *text, uint32_t len)
{
	struct net_conn_opts o = { .max_recv_dsl = sizeof(DATA), .timeout_ms = 5000 };
	struct net_pdu p = { .data = (uint8_t *)(uintptr_t)text, .data_len = len };

	memcpy(p.bhs, bhs, 48);
	return net_send_pdu(fd, &p, &o);
}

static int login_rsp(int fd, const struct net_pdu *req, unsigned csg, unsigned nsg,
		     bool transit, uint8_t cls, uint8_t det, uint16_t tsih,
		     const char *text, uint32_t len, uint32_t statsn)
{
	const struct bhs_login_req *q = (const void *)req->bhs;
	struct pdu_login_rsp_args a;
	uint8_t bhs[48];

	memset(&a, 0, sizeof(a));
	memcpy(a.isid, q->lgn_isid, 6);
	a.tsih = tsih;
	a.itt = pdu_itt(q);
	a.len = len;
	a.csg = (enum login_stage)csg;
	a.nsg = (enum login_stage)nsg;
	a.transit = transit;
	a.status_class = cls;
	a.status_detail = det;
	pdu_build_login_rsp(bhs, &a);
	pdu_stamp_statsn(bhs, statsn, CMDSN, CMDSN + 63);
	return send_pdu(fd, bhs, text, len);
}

#define TXT(s) s, (uint32_t)(sizeof(s) - 1)

static void *target_main(void *arg)
{
	struct target *t = arg;
	struct net_pdu p;
	int fd = accept(t->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (recv_pdu(fd, &p))
		goto out;
	memcpy(t->req1, p.bhs, 48);
	t->text1_len = p.data_len < sizeof(t->text1) ? p.data_len : sizeof(t->text1);
	memcpy(t->text1, p.data, t->text1_len);
	if (t->script == REFUSE_0206) {
		login_rsp(fd, &p, 0, 0, false, 2, 6, 0, NULL, 0, 0);
		t->ok = true;
		goto out;
	}
	if (t->script == REDIRECT) {
		login_rsp(fd, &p, 0, 0, false, 1, 1, 0, TXT("TargetAddress=127.0.0.1:3260,1\0"), 0);
		t->ok = true;
		goto out;
	}
	if (login_rsp(fd, &p, 0, 1, true, 0, 0, TSIH,
		      TXT("AuthMethod=None\0TargetPortalGroupTag=1\0"), 7))
		goto out;
	if (recv_pdu(fd, &p))
		goto out;
	if (login_rsp(fd, &p, 1, 3, true, 0, 0, TSIH,
		      TXT("HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=65536\0"), 8))
		goto out;
	/* Full feature phase: wait for the logout. */
	if (recv_pdu(fd, &p))
		goto out;
	memcpy(t->logout, p.bhs, 48);
	uint32_t itt = pdu_itt(p.bhs);
	uint8_t bhs[48];
	if (t->ping_first) {
		pdu_build_nop_in(bhs, 0, PDU_RESERVED_TAG, 0x77, 0);
		pdu_stamp_statsn(bhs, 9, CMDSN, CMDSN + 63);
		if (send_pdu(fd, bhs, NULL, 0) || recv_pdu(fd, &p))
			goto out;
		t->got_nop = pdu_opcode(p.bhs) == PDU_OP_NOP_OUT;
		t->nop_ttt = pdu_get32(&((struct bhs_nop_out *)(void *)p.bhs)->nopo_ttt);
	}
	pdu_build_logout_rsp(bhs, itt, (enum logout_response)t->logout_response, 0, 0);
	pdu_stamp_statsn(bhs, 9, CMDSN, CMDSN + 63);
	t->ok = send_pdu(fd, bhs, NULL, 0) == 0;
out:
	close(fd);
	return NULL;
}

static void target_start(enum script s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(&T, 0, sizeof(T));
	T.script = s;
	T.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(T.lfd >= 0);
	assert_int_equal(bind(T.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(T.lfd, 4), 0);
	assert_int_equal(getsockname(T.lfd, (struct sockaddr *)&a, &len), 0);
	T.port = ntohs(a.sin_port);
}

static void target_run(void)
{
	assert_int_equal(pthread_create(&T.th, NULL, target_main, &T), 0);
}

static void target_join(void)
{
	pthread_join(T.th, NULL);
	close(T.lfd);
}

static struct iscsi_params SESSION;

static void lead_target(struct lgio_target *t)
{
	lgio_target_init(t);
	t->target_name = "iqn.2026-01.test:t";
	t->initiator_name = "iqn.2026-01.test:i";
	strcpy(t->portal.host, "127.0.0.1");
	t->portal.port = T.port;
	t->tsih = TSIH;
	t->cid = CID;
	t->timeout_ms = 5000;
	t->wishes.max_recv_dsl = 65536;
	neg_params_default(&SESSION);
	SESSION.max_connections = 4;
	SESSION.tpgt = 1;
}

static bool text_has(const char *text, uint32_t len, const char *kv)
{
	size_t n = strlen(kv);

	for (uint32_t i = 0; i + n <= len; i++)
		if ((i == 0 || text[i - 1] == '\0') && memcmp(text + i, kv, n) == 0)
			return true;
	return false;
}

static void test_join_and_logout_one_cid(void **state)
{
	(void)state;
	struct lgio_target t;
	struct lgio_status st;
	struct ctl_conn c;
	uint8_t *rx = malloc(NLIO_SCRATCH);

	target_start(ACCEPT);
	T.ping_first = true;
	T.logout_response = LOGOUT_RSP_OK;
	target_run();
	lead_target(&t);
	assert_int_equal(nlio_login(&t, &SESSION, CMDSN, &c, rx, NLIO_SCRATCH, &st), 0);
	assert_null(st.message);
	/* The joining login: immediate, same ISID and TSIH, our CID, the
	 * session's CmdSN, and no SessionType (that is the leading one's). */
	const struct bhs_login_req *q = (const void *)T.req1;
	assert_int_equal(q->lgn_opcode, PDU_OP_LOGIN_REQ | PDU_IMMEDIATE);
	assert_memory_equal(q->lgn_isid, t.isid, 6);
	assert_int_equal(pdu_get16(&q->lgn_tsih), TSIH);
	assert_int_equal(pdu_get16(&q->lgn_cid), CID);
	assert_int_equal(pdu_get32(&q->lgn_cmdsn), CMDSN);
	assert_true(text_has(T.text1, T.text1_len, "TargetName=iqn.2026-01.test:t"));
	assert_true(text_has(T.text1, T.text1_len, "InitiatorName=iqn.2026-01.test:i"));
	assert_false(text_has(T.text1, T.text1_len, "SessionType="));
	assert_int_equal(c.tsih, TSIH);
	assert_int_equal(c.cid, CID);
	assert_int_equal(c.expstatsn, 9);
	assert_int_equal(c.params.max_xmit_dsl, 65536);
	assert_int_equal(c.params.max_connections, 4);   /* the session's */

	/* Logout reason 1 for CID 5, answering a ping on the way. */
	uint8_t resp;
	assert_int_equal(nlio_logout_cid(&c, CID, CMDSN + 3, &resp), 0);
	assert_int_equal(resp, LOGOUT_RSP_OK);
	ctl_close(&c);
	target_join();
	assert_true(T.ok);
	assert_true(T.got_nop);
	assert_int_equal(T.nop_ttt, 0x77);
	const struct bhs_logout_req *l = (const void *)T.logout;
	assert_int_equal(l->lgo_opcode, PDU_OP_LOGOUT_REQ | PDU_IMMEDIATE);
	assert_int_equal(l->lgo_reason, 0x80 | LOGOUT_CLOSE_CONNECTION);   /* F bit */
	assert_int_equal(pdu_get16(&l->lgo_cid), CID);
	assert_int_equal(pdu_get32(&l->lgo_cmdsn), CMDSN + 3);
	assert_int_equal(pdu_get32(&l->lgo_expstatsn), 9);
	free(rx);
}

static void test_logout_unknown_cid(void **state)
{
	(void)state;
	struct lgio_target t;
	struct lgio_status st;
	struct ctl_conn c;
	uint8_t *rx = malloc(NLIO_SCRATCH);
	uint8_t resp;

	target_start(ACCEPT);
	T.logout_response = LOGOUT_RSP_CID_NOT_FOUND;
	target_run();
	lead_target(&t);
	assert_int_equal(nlio_login(&t, &SESSION, CMDSN, &c, rx, NLIO_SCRATCH, &st), 0);
	assert_int_equal(nlio_logout_cid(&c, 42, CMDSN, &resp), -ENOENT);
	assert_int_equal(resp, LOGOUT_RSP_CID_NOT_FOUND);
	ctl_close(&c);
	target_join();
	assert_int_equal(pdu_get16(&((struct bhs_logout_req *)(void *)T.logout)->lgo_cid), 42);
	free(rx);
}

static void test_refusals(void **state)
{
	(void)state;
	struct lgio_target t;
	struct lgio_status st;
	struct ctl_conn c;
	uint8_t *rx = malloc(NLIO_SCRATCH);

	target_start(REFUSE_0206);
	target_run();
	lead_target(&t);
	assert_int_equal(nlio_login(&t, &SESSION, CMDSN, &c, rx, NLIO_SCRATCH, &st), -EUSERS);
	assert_string_equal(st.message, "too many connections");
	assert_int_equal(st.status_class, 2);
	assert_int_equal(st.status_detail, 6);
	assert_int_equal(c.fd, -1);
	target_join();

	target_start(REDIRECT);
	target_run();
	lead_target(&t);
	assert_int_equal(nlio_login(&t, &SESSION, CMDSN, &c, rx, NLIO_SCRATCH, &st), -EAGAIN);
	assert_string_equal(st.message, "the target redirected a non-leading login (not followed)");
	target_join();

	/* Misuse: no session, no TSIH, small scratch. */
	lead_target(&t);
	assert_int_equal(nlio_login(&t, NULL, CMDSN, &c, rx, NLIO_SCRATCH, &st), -EINVAL);
	t.tsih = 0;
	assert_int_equal(nlio_login(&t, &SESSION, CMDSN, &c, rx, NLIO_SCRATCH, &st), -EINVAL);
	t.tsih = TSIH;
	assert_int_equal(nlio_login(&t, &SESSION, CMDSN, &c, rx, 4096, &st), -EINVAL);
	free(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_and_logout_one_cid),
		cmocka_unit_test(test_logout_unknown_cid),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
