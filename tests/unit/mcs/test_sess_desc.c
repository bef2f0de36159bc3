/* SPDX-License-Identifier: MIT */
/* The login description a session keeps to log in again: a deep copy of
 * the URL and of every option string (secrets included) in its own pages,
 * independent of the caller's buffers, excluded from core dumps and wiped
 * on destroy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mcs/sess_desc.h"

static bool in_pages(const struct sess_desc *d, const char *p)
{
	return p >= (const char *)d->mem && p < (const char *)d->mem + d->mem_len;
}

/* /proc/self/smaps flags of the mapping that holds addr ("dd": no dump). */
static bool not_dumped(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, dd = false;

	if (!f)
		return true;                  /* no procfs: nothing to check */
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (unsigned long)addr >= lo && (unsigned long)addr < hi;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8))
			dd = strstr(line, " dd") != NULL;
	}
	fclose(f);
	return dd;
}

static void test_deep_copy(void **state)
{
	(void)state;
	char url[] = "iscsi://user%pw@127.0.0.1:3260/iqn.2026-11.org.mcsi:t/1";
	char iname[] = "iqn.2026-11.org.mcsi:init", sec[] = "secret-123456",
	     tuser[] = "tgt", tsec[] = "tsecret-123456";
	struct mcsi_opts o;
	struct sess_desc *d = NULL;

	mcsi_opts_init(&o);
	o.initiator_name = iname;
	o.chap_user = "user";
	o.chap_secret = sec;
	o.chap_target_user = tuser;
	o.chap_target_secret = tsec;
	o.queue_depth = 77;
	o.replacement_timeout_ms = 1234;
	assert_int_equal(sess_desc_create(url, &o, &d), 0);
	/* The caller's buffers may go away: the copies do not move. */
	memset(url, 'x', sizeof(url) - 1);
	memset(sec, 'x', sizeof(sec) - 1);
	memset(tsec, 'x', sizeof(tsec) - 1);
	memset(iname, 'x', sizeof(iname) - 1);
	assert_string_equal(d->url, "iscsi://user%pw@127.0.0.1:3260/iqn.2026-11.org.mcsi:t/1");
	assert_string_equal(d->opts.initiator_name, "iqn.2026-11.org.mcsi:init");
	assert_string_equal(d->opts.chap_user, "user");
	assert_string_equal(d->opts.chap_secret, "secret-123456");
	assert_string_equal(d->opts.chap_target_user, "tgt");
	assert_string_equal(d->opts.chap_target_secret, "tsecret-123456");
	assert_null(d->opts.transport);
	assert_true(in_pages(d, d->url));
	assert_true(in_pages(d, d->opts.chap_secret));
	assert_true(in_pages(d, d->opts.chap_target_secret));
	assert_int_equal(d->opts.queue_depth, 77);
	assert_int_equal(d->opts.replacement_timeout_ms, 1234);
	assert_true(not_dumped(d->mem));
	sess_desc_destroy(d);
	sess_desc_destroy(NULL);
}

static void test_no_strings(void **state)
{
	(void)state;
	struct mcsi_opts o;
	struct sess_desc *d = NULL;

	mcsi_opts_init(&o);
	assert_int_equal(sess_desc_create("iscsi://h/iqn.2026-11.a:b", &o, &d), 0);
	assert_string_equal(d->url, "iscsi://h/iqn.2026-11.a:b");
	assert_null(d->opts.initiator_name);
	assert_null(d->opts.chap_secret);
	sess_desc_destroy(d);
	assert_int_equal(sess_desc_create(NULL, &o, &d), -EINVAL);
	assert_int_equal(sess_desc_create("x", NULL, &d), -EINVAL);
}

/* One description shared by the session's parts: each holds a
 * reference; the copies stay readable until the last one is dropped;
 * sched_policy and portals are copied too (under ASan, a use after the
 * last put would be reported). */
static void test_shared_references(void **state)
{
	(void)state;
	char pol[] = "round-robin", portals[] = "10.0.0.2:3260,[::1]:3261";
	struct mcsi_opts o;
	struct sess_desc *d = NULL;

	mcsi_opts_init(&o);
	o.sched_policy = pol;
	o.portals = portals;
	o.chap_secret = "secret-123456";
	assert_int_equal(sess_desc_create("iscsi://h/iqn.2026-11.a:b", &o, &d), 0);
	memset(pol, 'x', sizeof(pol) - 1);
	memset(portals, 'x', sizeof(portals) - 1);
	assert_string_equal(d->opts.sched_policy, "round-robin");
	assert_string_equal(d->opts.portals, "10.0.0.2:3260,[::1]:3261");
	assert_true(in_pages(d, d->opts.portals));
	assert_ptr_equal(sess_desc_get(d), d);      /* e.g. session reinstatement */
	assert_ptr_equal(sess_desc_get(d), d);      /* e.g. MC/S */
	assert_int_equal(atomic_load(&d->refs), 3);
	sess_desc_put(d);                           /* the creator (mcsi_open) */
	sess_desc_put(d);
	assert_int_equal(atomic_load(&d->refs), 1);
	assert_string_equal(d->opts.chap_secret, "secret-123456");
	sess_desc_put(d);                           /* the last: wiped, freed */
	sess_desc_put(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_copy),
		cmocka_unit_test(test_no_strings),
		cmocka_unit_test(test_shared_references),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
