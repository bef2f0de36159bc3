/* SPDX-License-Identifier: MIT */
/*
 * mcsi-testtarget: startup, the accept / control loop and clean shutdown.
 * The only function that exits the process.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "config.h"
#include "faults.h"
#include "net.h"
#include "proto/pdu.h"
#include "retain.h"
#include "target.h"

#define MAX_CTL_CLIENTS 8

static void on_wakeup(int sig)
{
	(void)sig;                     /* only interrupts a blocking recv() */
}

static int write_text_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static void announce(struct tt_config *cfg)
{
	char list[TT_MAX_PORTALS * 80] = "";
	size_t len = 0;
	for (unsigned i = 0; i < cfg->nportals; i++) {
		printf("mcsi-testtarget: listening on %s tpgt %u\n", cfg->portals[i].text,
		       (unsigned)cfg->portals[i].tpgt);
		const char *t = cfg->portals[i].text;
		const char *colon = strrchr(t, ':');
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s %s\n",
					colon ? colon + 1 : "0", t);
	}
	for (unsigned i = 0; i < cfg->ntargets; i++)
		printf("mcsi-testtarget: target %s\n", cfg->targets[i].name);
	fflush(stdout);
	if (cfg->portfile && write_text_file(cfg->portfile, list) < 0)
		fprintf(stderr, "mcsi-testtarget: cannot write %s\n", cfg->portfile);
}

static void stop_all(struct tt_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	for (struct tt_conn *c = srv->conns; c; c = c->next) {
		atomic_store(&c->stop, true);
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	while (srv->conns) {
		if (pthread_cond_timedwait(&srv->conns_gone, &srv->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&srv->lock);
}

static void serve(struct tt_server *srv, int sfd, int ctl)
{
	struct tt_config *cfg = srv->cfg;
	int clients[MAX_CTL_CLIENTS];
	unsigned nclients = 0;

	for (;;) {
		struct pollfd pfd[TT_MAX_PORTALS + MAX_CTL_CLIENTS + 2];
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (unsigned i = 0; i < cfg->nportals; i++)
			pfd[n++] = (struct pollfd){ .fd = cfg->portals[i].fd, .events = POLLIN };
		if (ctl >= 0)
			pfd[n++] = (struct pollfd){ .fd = ctl, .events = POLLIN };
		for (unsigned i = 0; i < nclients; i++)
			pfd[n++] = (struct pollfd){ .fd = clients[i], .events = POLLIN };
		/* Also the clock of sessions retained at ERL 2. */
		if (poll(pfd, n, retain_expire(srv)) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pfd[0].revents)
			return;                /* SIGTERM / SIGINT */
		nfds_t k = 1;
		for (unsigned i = 0; i < cfg->nportals; i++, k++)
			if (pfd[k].revents & POLLIN)
				net_accept(srv, &cfg->portals[i]);
		if (ctl >= 0) {
			if ((pfd[k].revents & POLLIN) && nclients < MAX_CTL_CLIENTS) {
				int fd = accept4(ctl, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0)
					clients[nclients++] = fd;
			}
			k++;
		}
		for (unsigned i = 0; i < nclients; k++) {
			if (pfd[k].revents && net_ctl_serve(srv, clients[i]) < 0) {
				close(clients[i]);
				clients[i] = clients[--nclients];
				pfd[k].revents = 0;
				continue;
			}
			i++;
		}
	}
}

int main(int argc, char **argv)
{
	struct tt_config *cfg = calloc(1, sizeof(*cfg));
	struct tt_server srv = { 0 };
	int rc, ctl = -1;

	if (!cfg)
		return 1;
	rc = config_parse(cfg, argc, argv);
	if (rc) {
		config_free(cfg);
		free(cfg);
		return rc == 1 ? 0 : 2;
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);   /* inherited by threads */
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_wakeup };   /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	srv.cfg = cfg;
	srv.next_tsih = 1;
	pthread_mutex_init(&srv.lock, NULL);
	pthread_mutex_init(&srv.lun_lock, NULL);
	pthread_cond_init(&srv.conns_gone, NULL);
	/* Zeros for null LUNs and padding: never written, so the kernel
	 * maps its one zero page everywhere. */
	void *z = mmap(NULL, PDU_MAX_DSL + 1, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	srv.faults = fault_create();
	if (z == MAP_FAILED || !srv.faults || sfd < 0) {
		fprintf(stderr, "mcsi-testtarget: out of memory\n");
		return 1;
	}
	srv.zeros = z;
	if (cfg->fault_script) {
		unsigned line = 0;
		if (fault_load_script(&srv, cfg->fault_script, &line) < 0) {
			fprintf(stderr, "mcsi-testtarget: %s:%u: bad fault rule\n",
				cfg->fault_script, line);
			return 2;
		}
	}
	if (net_listen_all(cfg) < 0)
		return 1;
	if (cfg->ctl_path) {
		ctl = net_ctl_open(cfg->ctl_path);
		if (ctl < 0) {
			fprintf(stderr, "mcsi-testtarget: control socket %s: %s\n",
				cfg->ctl_path, strerror(-ctl));
			return 1;
		}
	}
	if (cfg->pidfile) {
		char pid[32];
		snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (write_text_file(cfg->pidfile, pid) < 0)
			fprintf(stderr, "mcsi-testtarget: cannot write %s\n", cfg->pidfile);
	}
	announce(cfg);

	serve(&srv, sfd, ctl);

	atomic_store(&srv.stopping, true);
	net_close_all(cfg);
	stop_all(&srv);
	retain_shutdown(&srv);
	if (ctl >= 0) {
		close(ctl);
		unlink(cfg->ctl_path);
	}
	if (cfg->pidfile)
		unlink(cfg->pidfile);
	pthread_mutex_lock(&srv.lock);
	bool clean = srv.conns == NULL;
	pthread_mutex_unlock(&srv.lock);
	if (clean) {
		/* Threads are gone: safe to free what they used. */
		fault_destroy(srv.faults);
		config_free(cfg);
		free(cfg);
		munmap(z, PDU_MAX_DSL + 1);
	}
	close(sfd);
	fprintf(stderr, "mcsi-testtarget: stopped\n");
	return 0;
}
