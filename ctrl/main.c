/*
 * main.c - process entry: reads the configuration, builds the data plane,
 * runs ctrl's event loop and tears everything down on exit.
 *
 * Thread: the main thread is ctrl (thread id 0). It is the only thread that
 * reads config, talks to people (log, status file, signals) or frees shared
 * objects (DESIGN.md §2).
 *
 * Event loop sources (epoll):
 *   signalfd   SIGTERM/SIGINT exit, SIGHUP/SIGUSR1 (restart: not yet, logged),
 *              SIGUSR2 writes the counters to the log
 *   timerfd    1 s tick: status file, epoch reclamation
 *   ctrl_db    doorbell rung by udp_rx / tun_tx when they queue packets for ctrl
 *
 * Modes: with `test-data-key` the data plane runs with one fixed key and no
 * control channel (the foundation tests and benchmarks). The TLS control
 * channel (client and server) comes with the client and server work; until
 * then a config without a test key stops with a clear error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/epoch.h"
#include "../core/log.h"
#include "pipeline.h"
#include "runcfg.h"

#define SLUICE_VERSION "0.1.0"

struct ctrl {
	struct runcfg *rc;
	struct pipeline *pl;
	int tun_fd;
	int udp_fd;
	int sig_fd;
	int timer_fd;
	int ep_fd;
	char ifname[64];
	uint64_t ctrl_pkts;
	uint64_t inband_pkts;
	bool stopping;
};

static int resolve(const char *host, uint16_t port, int family_hint, union sockaddr_any *sa,
		   socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_family = family_hint };
	struct addrinfo *res;
	char portstr[8];
	int rc;

	snprintf(portstr, sizeof(portstr), "%u", port);
	hints.ai_flags = host ? 0 : AI_PASSIVE;
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc)
		return -EHOSTUNREACH;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int netmask_to_prefix(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int n = 0;

	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return m ? -1 : n;
}

/* Brings the TUN device up with the configured MTU and addresses (ctrl). */
static int tun_setup(struct ctrl *c)
{
	struct runcfg *rc = c->rc;
	int err;

	c->tun_fd = tun_open(rc->dev, c->ifname, false);
	if (c->tun_fd < 0) {
		errno = -c->tun_fd;
		log_warn("tun: cannot open device '%s'", rc->dev);
		return c->tun_fd;
	}
	log_info("tun: opened device %s, mtu %d", c->ifname, rc->tun_mtu);
	err = nl_link_set(c->ifname, rc->tun_mtu, true);
	if (err) {
		errno = -err;
		log_warn("tun: cannot set %s up with mtu %d", c->ifname, rc->tun_mtu);
		return err;
	}
	if (rc->has_ifconfig) {
		struct in_addr local, second;
		int plen = 32;
		const void *peer = NULL;

		if (inet_pton(AF_INET, rc->ifconfig_local, &local) != 1 ||
		    inet_pton(AF_INET, rc->ifconfig_second, &second) != 1) {
			log_warnx("tun: bad ifconfig '%s %s'", rc->ifconfig_local, rc->ifconfig_second);
			return -EINVAL;
		}
		if (rc->topology_subnet) {
			plen = netmask_to_prefix(second);
			if (plen < 0) {
				log_warnx("tun: ifconfig netmask %s is not contiguous",
					  rc->ifconfig_second);
				return -EINVAL;
			}
		} else {
			peer = &second;
		}
		log_info("tun: add address %s/%d%s%s on %s", rc->ifconfig_local, plen,
			 peer ? " peer " : "", peer ? rc->ifconfig_second : "", c->ifname);
		err = nl_addr_add(c->ifname, AF_INET, &local, plen, peer);
		if (err) {
			errno = -err;
			log_warn("tun: cannot add address %s to %s", rc->ifconfig_local, c->ifname);
			return err;
		}
	}
	return 0;
}

static int udp_setup(struct ctrl *c)
{
	struct runcfg *rc = c->rc;
	union sockaddr_any local, remote;
	socklen_t llen = 0, rlen = 0;
	int err;

	err = resolve(rc->remote_host, rc->remote_port, AF_UNSPEC, &remote, &rlen);
	if (err) {
		log_warnx("udp: cannot resolve remote '%s'", rc->remote_host);
		return err;
	}
	err = resolve(rc->local_host, rc->local_port, remote.sa.sa_family, &local, &llen);
	if (err) {
		log_warnx("udp: cannot resolve local '%s'", rc->local_host ? rc->local_host : "*");
		return err;
	}
	c->udp_fd = udp_open(&local, llen, &remote, rlen);
	if (c->udp_fd < 0) {
		errno = -c->udp_fd;
		log_warn("udp: cannot open socket %s:%u -> %s:%u",
			 rc->local_host ? rc->local_host : "*", rc->local_port, rc->remote_host,
			 rc->remote_port);
		return c->udp_fd;
	}
	log_info("udp: socket %s:%u connected to %s:%u", rc->local_host ? rc->local_host : "*",
		 rc->local_port, rc->remote_host, rc->remote_port);
	return 0;
}

static void write_status(struct ctrl *c)
{
	char *tmp;
	FILE *f;

	if (!c->rc->status_file || !c->pl)
		return;
	if (asprintf(&tmp, "%s.tmp", c->rc->status_file) < 0)
		return;
	f = fopen(tmp, "w");
	if (!f) {
		log_warn("status: cannot write %s", tmp);
		free(tmp);
		return;
	}
	fprintf(f, "state=%s\n", c->stopping ? "EXITING" : "CONNECTED");
	fprintf(f, "ctrl.ctrl_pkts=%llu\nctrl.inband_pkts=%llu\n",
		(unsigned long long)c->ctrl_pkts, (unsigned long long)c->inband_pkts);
	pipeline_write_stats(c->pl, f);
	if (fclose(f) || rename(tmp, c->rc->status_file))
		log_warn("status: cannot write %s", c->rc->status_file);
	free(tmp);
}

static void log_stats(struct ctrl *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	pipeline_write_stats(c->pl, f);
	fclose(f);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strstr(line, "=0") || strstr(line, "=0") != line + strlen(line) - 2)
			log_info("stats: %s", line);
	free(buf);
}

static int data_plane_start(struct ctrl *c)
{
	struct runcfg *rc = c->rc;
	struct pipeline_cfg pc = {
		.is_server = rc->test_key_direction == 0,
		.single_peer = true,
		.workers = rc->workers,
		.max_peers = 1,
		.tun_fd = c->tun_fd,
		.udp_fd = c->udp_fd,
		.replay_window = rc->replay_window,
		.replay_time = rc->replay_time,
		.replay_strict = false,
	};
	int err;

	err = pipeline_create(&c->pl, &pc);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot build the data plane");
		return err;
	}
	err = pipeline_peer_add(c->pl, 0, rc->test_peer_id, NULL, 0);
	err = err ?: pipeline_key_install(c->pl, 0, 0, rc->test_cipher, rc->test_key);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot install the test key");
		return err;
	}
	pipeline_key_set_tx(c->pl, 0, 0);
	err = pipeline_start(c->pl);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot start threads");
		return err;
	}
	log_info("data plane up: %s, %u crypto worker(s) per direction, peer-id %u, test key "
		 "direction %d", dc_cipher_name(rc->test_cipher), rc->workers, rc->test_peer_id,
		 rc->test_key_direction);
	return 0;
}

static int loop_setup(struct ctrl *c)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	/* Blocked before any thread starts, so only ctrl's signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	c->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->sig_fd < 0 || c->timer_fd < 0 || c->ep_fd < 0)
		return -errno;
	timerfd_settime(c->timer_fd, 0, &its, NULL);
	ev.data.fd = c->sig_fd;
	epoll_ctl(c->ep_fd, EPOLL_CTL_ADD, c->sig_fd, &ev);
	ev.data.fd = c->timer_fd;
	epoll_ctl(c->ep_fd, EPOLL_CTL_ADD, c->timer_fd, &ev);
	return 0;
}

static void on_signal(struct ctrl *c)
{
	struct signalfd_siginfo si;

	while (read(c->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %s received, exiting",
				 si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			c->stopping = true;
			break;
		case SIGUSR2:
			log_stats(c);
			break;
		default:
			log_info("signal %d ignored: restart needs a control channel", si.ssi_signo);
			break;
		}
	}
}

static void run(struct ctrl *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = c->pl->ctrl_db.efd };

	epoll_ctl(c->ep_fd, EPOLL_CTL_ADD, c->pl->ctrl_db.efd, &ev);
	while (!c->stopping) {
		struct epoll_event evs[8];
		int n;

		/* ctrl sleeps whenever its rings are empty; udp_rx/tun_tx ring the doorbell. */
		doorbell_prepare_sleep(&c->pl->ctrl_db);
		if (spsc_count(c->pl->udp_to_ctrl) || spsc_count(c->pl->tun_tx_to_ctrl)) {
			doorbell_cancel_sleep(&c->pl->ctrl_db);
			n = 0;
		} else {
			n = epoll_wait(c->ep_fd, evs, ARRAY_SIZE(evs), 1000);
		}
		doorbell_clear(&c->pl->ctrl_db);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == c->sig_fd) {
				on_signal(c);
			} else if (evs[i].data.fd == c->timer_fd) {
				uint64_t ticks;

				if (read(c->timer_fd, &ticks, sizeof(ticks)) < 0)
					ticks = 0;
				epoch_poll();
				write_status(c);
			}
		}
		pipeline_drain_ctrl(c->pl, &c->ctrl_pkts, &c->inband_pkts);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice --config FILE [--option args ...]\n"
		"       sluice --version\n"
		"Every OpenVPN-style directive is also a --flag. See README.md.\n");
}

int main(int argc, char **argv)
{
	struct ctrl c = { .tun_fd = -1, .udp_fd = -1, .sig_fd = -1, .timer_fd = -1, .ep_fd = -1 };
	char err[512];
	int rc, status = 1;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("sluice %s (OpenVPN 2.6 wire protocol)\n", SLUICE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	log_init(1, 0);
	rc = runcfg_load(&c.rc, argc, argv, err, sizeof(err));
	if (rc) {
		log_warnx("%s", err);
		return 1;
	}
	log_set_verbosity(c.rc->verb);
	log_info("sluice %s starting", SLUICE_VERSION);
	if (dc_global_init()) {
		log_warnx("crypto: OpenSSL ciphers unavailable");
		goto out;
	}
	epoch_init();
	if (loop_setup(&c) || tun_setup(&c) || udp_setup(&c) || data_plane_start(&c))
		goto out;
	log_info("Initialization Sequence Completed");
	write_status(&c);
	run(&c);
	status = 0;
out:
	if (c.pl) {
		pipeline_stop(c.pl);
		c.stopping = true;
		pipeline_drain_ctrl(c.pl, &c.ctrl_pkts, &c.inband_pkts);
		write_status(&c);
		log_stats(&c);
		pipeline_destroy(c.pl);
	}
	epoch_barrier();
	if (c.udp_fd >= 0)
		close(c.udp_fd);
	if (c.tun_fd >= 0) {
		/* Closing a non-persistent TUN removes the device, its addresses and routes. */
		log_info("tun: closing %s", c.ifname);
		close(c.tun_fd);
	}
	if (c.ep_fd >= 0)
		close(c.ep_fd);
	if (c.sig_fd >= 0)
		close(c.sig_fd);
	if (c.timer_fd >= 0)
		close(c.timer_fd);
	runcfg_free(c.rc);
	dc_global_cleanup();
	log_info("exiting with status %d", status);
	return status;
}
