/*
 * main.c - process entry: reads the configuration, picks the mode, builds
 * the TUN device and the data plane, runs ctrl's event loop and tears
 * everything down on exit.
 *
 * Thread: the main thread is ctrl (thread id 0). It is the only thread that
 * reads config, talks to people (log, status file, signals) or frees shared
 * objects (DESIGN.md §2).
 *
 * Modes (ctrl/mode.h), chosen once from the configuration: client
 * (ctrl/client/client.c), server (ctrl/server/server.c) or the fixed-key
 * test mode (ctrl/testkey.c). main.c calls the mode only through its
 * mode_ops table and owns what they share: the process options
 * (ctrl/proc.c), the TUN device, the data plane, the event loop, the
 * signals and the status file (ctrl/status.c). A UDP server with lanes
 * (io-queues) gets its further TUN queues and sockets from ctrl/lanes.c.
 *
 * Event loop sources (epoll):
 *   signalfd   SIGTERM/SIGINT exit (the mode tells its peers first),
 *              SIGHUP/SIGUSR1 to the mode (a client reconnects from a fresh
 *              UDP port, TUN kept; a server re-reads its CRL and
 *              client-config-dir), SIGHUP also reopens the `log` file (for
 *              logrotate), SIGUSR2 writes the counters to the log
 *   timerfd    1 s tick: epoch reclamation, the status file every `status
 *              FILE N` seconds, the mode's second, the management tick, and
 *              once the TUN threads' fixed-buffer outcome (fixed_bufs_tell)
 *   ctrl fd    doorbell rung by udp_rx / tun_tx when they queue packets for ctrl
 *   management its listening socket and connections (ctrl/mgmt.c), whose
 *              `signal` command acts as the signal would
 *   metrics    the Prometheus endpoint's socket and scrapes (ctrl/metrics.c)
 * ctrl sleeps at most 1 s, or until the mode's next timeout.
 */
#include <errno.h>
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
#include "askpass.h"
#include "check.h"
#include "cli.h"
#include "client/client.h"
#include "client/creds.h"
#include "client/killswitch.h"
#include "config/options.h"
#include "config/runcfg.h"
#include "lanes.h"
#include "metrics.h"
#include "mgmt.h"
#include "mode.h"
#include "../io/pipeline.h"
#include "proc.h"
#include "sdnotify.h"
#include "server/server.h"
#include "status.h"
#include "testkey.h"

#define SLUICE_VERSION "0.1.0"

struct ctrl {
	struct runcfg *rc;
	const struct mode_ops *ops;
	void *mode;			/* the mode's state, from ops->create */
	struct pipeline *pl;
	int tun_fd;
	unsigned int tun_offload;	/* TUN_OFF_* the kernel took (io/tun.c) */
	struct lanes lanes;		/* a UDP server's TUN queues and sockets 1.. (ctrl/lanes.c) */
	int sig_fd;
	int timer_fd;
	int ep_fd;
	char ifname[64];
	bool is_stopping;
	int exit_status;
	struct proc proc;
	struct status_file status;
	struct status_src src;		/* keeps the counters; ctrl_status fills the rest */
	struct mgmt *mgmt;		/* the management interface; NULL: none */
	struct metrics *metrics;	/* `metrics ADDR PORT`; NULL: none */
	bool fixed_bufs_told;		/* uring-fixed-buffers: the TUN threads' outcome logged */
};

/* Decide once: the mode's table for this configuration (runcfg makes them exclusive). */
static const struct mode_ops *mode_pick(const struct runcfg *rc)
{
	if (rc->is_server)
		return &server_mode_ops;
	if (rc->is_client)
		return &client_mode_ops;
	return &testkey_mode_ops;
}

static const struct status_src *ctrl_status(struct ctrl *c)
{
	c->src.ops = c->ops;
	c->src.mode = c->mode;
	c->src.pl = c->pl;
	c->src.is_stopping = c->is_stopping;
	return &c->src;
}

/* Brings the TUN device up with the configured MTU and addresses (ctrl). */
static int tun_setup(struct ctrl *c)
{
	struct runcfg *rc = c->rc;
	int err;

	c->tun_offload = rc->tun_offload ? TUN_OFF_ALL : 0;
	c->tun_fd = lanes_tun_open(&c->lanes, rc, c->ifname, &c->tun_offload);
	if (c->tun_fd < 0) {
		errno = -c->tun_fd;
		log_warn("tun: cannot open device '%s'", rc->dev);
		return c->tun_fd;
	}
	log_info("tun: opened device %s, mtu %d, offloads %s", c->ifname, rc->tun_mtu,
		 !rc->tun_offload ? "off (tun-offload no)" :
		 c->tun_offload & TUN_OFF_USO ? "csum tso4 tso6 uso4 uso6" :
		 c->tun_offload & TUN_OFF_TSO ? "csum tso4 tso6" :
		 c->tun_offload ? "csum" : "none (refused by the kernel)");
	err = nl_link_set(c->ifname, rc->tun_mtu, true);
	if (err) {
		errno = -err;
		log_warn("tun: cannot set %s up with mtu %d", c->ifname, rc->tun_mtu);
		return err;
	}
	if (!rc->has_ifconfig)
		return 0;
	if (c->ops->tun_ifconfig)
		return c->ops->tun_ifconfig(c->mode, c->ifname);
	return client_addr4_apply(NULL, c->ifname, rc->ifconfig_local, rc->ifconfig_second,
				  rc->topology_subnet);
}

/* The data plane on the mode's socket, its threads started once the mode attached. */
static int data_plane_start(struct ctrl *c, int udp_fd)
{
	struct runcfg *rc = c->rc;
	struct pipeline_cfg pc = {
		.workers = rc->workers,
		.inline_crypto = rc->inline_crypto,
		.tun_fd = c->tun_fd,
		.tun_offload = c->tun_offload,
		.link_offload = (rc->udp_gso ? LINK_F_GSO : 0) | (rc->udp_gro ? LINK_F_GRO : 0),
		.no_fixed_bufs = !rc->uring_fixed_bufs,
		.link_fd = udp_fd,
		.link_type = link_type_of_fd(udp_fd),
		.replay_window = rc->replay_window,
		.replay_time = rc->replay_time,
		.replay_strict = false,
	};
	int err;

	lanes_link_open(&c->lanes, rc, udp_fd);
	pc.workers = rc->workers;	/* one lane after a refusal: re-sized */
	if (rc->inline_crypto)
		log_info("pipeline: no crypto threads, tun_rx seals and link_rx opens (%s%u usable "
			 "CPU(s); 'workers N' gives N threads per direction)",
			 rc->workers_auto ? "automatic: " : "workers 0; ", rc->cpus);
	else if (rc->workers_auto)
		log_info("pipeline: %u crypto worker(s) per direction (%u usable CPUs minus the 4 "
			 "I/O threads of each of %u lane(s), at least 1 per lane; 'workers N' sets "
			 "it)", rc->workers, rc->cpus, rc->io_lanes);
	else
		log_info("pipeline: %u crypto worker(s) per direction (workers %u)", rc->workers,
			 rc->workers);
	lanes_cfg(&c->lanes, rc, &pc);
	c->ops->pipeline_cfg(c->mode, &pc);
	runcfg_mss_socket(rc, udp_fd, &pc.mss_v4, &pc.mss_v6);
	err = pipeline_create(&c->pl, &pc);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot build the data plane");
		return err;
	}
	if (pc.link_type == LINK_UDP)
		log_info("udp: gso %s, gro %s",
			 !rc->udp_gso ? "off (udp-gso no)" :
			 pipeline_link_offload(c->pl, 0) & LINK_F_GSO ? "on" : "refused by the kernel",
			 !rc->udp_gro ? "off (udp-gro no)" :
			 pipeline_link_offload(c->pl, 0) & LINK_F_GRO ? "on" : "refused by the kernel");
	err = c->ops->attach(c->mode, c->pl);
	if (err)
		return err;
	err = pipeline_start(c->pl);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot start threads");
	}
	return err;
}

/*
 * Control packets to the mode (@deliver), in-band messages counted only
 * for now; both freed here. At exit the rest is counted, not delivered.
 */
static void ctrl_rings_drain(struct ctrl *c, int64_t now, bool deliver)
{
	struct pkt *p[BURST_MAX];
	unsigned int n;

	while ((n = pipeline_ctrl_recv(c->pl, p, BURST_MAX))) {
		c->src.ctrl_pkts += n;
		for (unsigned int i = 0; deliver && i < n; i++)
			c->ops->input(c->mode, p[i], now);
		pkt_free_burst(p, n);
	}
	while ((n = pipeline_inband_recv(c->pl, p, BURST_MAX))) {
		c->src.inband_pkts += n;
		for (unsigned int i = 0; deliver && c->ops->inband && i < n; i++)
			c->ops->inband(c->mode, p[i], now);
		pkt_free_burst(p, n);
	}
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

/* The mode asked for the exit: a failure, ping-exit, or its peers acknowledged it. */
static void check_done(struct ctrl *c)
{
	if (c->ops->done(c->mode, &c->exit_status))
		c->is_stopping = true;
}

/* A signal, from the signalfd or the management interface's `signal` command. */
static void ctrl_signal(struct ctrl *c, int signo)
{
	if (signo == SIGUSR2) {
		status_log(ctrl_status(c));
		return;
	}
	if (signo == SIGTERM || signo == SIGINT)
		log_info("signal %s received, exiting", signo == SIGTERM ? "SIGTERM" : "SIGINT");
	if (signo == SIGHUP)
		proc_log_reopen(&c->proc);
	c->ops->signal(c->mode, signo, clock_mono_ns());
	check_done(c);
}

static void on_signal(struct ctrl *c)
{
	struct signalfd_siginfo si;

	while (read(c->sig_fd, &si, sizeof(si)) == sizeof(si))
		ctrl_signal(c, (int)si.ssi_signo);
}

static const struct status_src *mgmt_src(void *arg)
{
	return ctrl_status(arg);
}

static void mgmt_signal(void *arg, int signo)
{
	ctrl_signal(arg, signo);
}

/* The management interface (if configured) listens before the TUN device exists, as stock's. */
static int mgmt_setup(struct ctrl *c)
{
	struct mgmt_host host = { .src = mgmt_src, .signal = mgmt_signal, .arg = c };
	int err = mgmt_create(&c->mgmt, c->rc->opts, &host, c->ep_fd);

	if (!err && c->ops->mgmt && c->ops->mgmt->attach)
		c->ops->mgmt->attach(c->mode, c->mgmt);
	return err ?: metrics_create(&c->metrics, c->rc->opts, mgmt_src, c, c->ep_fd);
}

/* How long ctrl may sleep: 1 s, or less when the mode has a timer due. */
static int run_timeout_ms(struct ctrl *c)
{
	int64_t now = clock_mono_ns(), next, ms;

	next = c->ops->next_timeout(c->mode, now);
	if (next <= now)
		return 0;
	ms = (next - now + 999999) / 1000000;
	return ms > 1000 ? 1000 : (int)ms;
}

/* user/group once the mode says start-up is complete; the status file is pinned first. */
static void ids_drop_when_ready(struct ctrl *c)
{
	if (!proc_ids_pending(&c->proc) || !c->ops->initialized(c->mode))
		return;
	status_file_pin(&c->status);
	if (proc_ids_drop(&c->proc)) {
		c->exit_status = 1;
		c->is_stopping = true;
	}
}

/*
 * Once, when both TUN threads have started: a refusal of uring-fixed-buffers
 * (RLIMIT_MEMLOCK, an old kernel) at verbosity 4; the data threads do not log.
 */
static void fixed_bufs_tell(struct ctrl *c)
{
	int rx, tx;

	if (c->fixed_bufs_told || !c->pl || !c->rc->uring_fixed_bufs)
		return;
	pipeline_fixed_bufs(c->pl, &rx, &tx);
	if (!rx || !tx)
		return;
	c->fixed_bufs_told = true;
	if ((rx < 0 || tx < 0) && log_get_verbosity() >= 4)
		log_info("tun: fixed buffers refused (tun_rx %s, tun_tx %s); plain reads and writes",
			 rx < 0 ? strerror(-rx) : "ok", tx < 0 ? strerror(-tx) : "ok");
}

static void on_tick(struct ctrl *c)
{
	uint64_t ticks;

	if (read(c->timer_fd, &ticks, sizeof(ticks)) < 0)
		ticks = 0;
	epoch_poll();
	status_file_tick(&c->status, ctrl_status(c), clock_mono_ns());
	c->ops->second(c->mode, clock_mono_ns());
	mgmt_tick(c->mgmt, clock_mono_ns());
	metrics_tick(c->metrics, clock_mono_ns());
	sdnotify_tick(clock_mono_ns());
	fixed_bufs_tell(c);
	check_done(c);
}

static void run(struct ctrl *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = pipeline_ctrl_fd(c->pl) };

	epoll_ctl(c->ep_fd, EPOLL_CTL_ADD, pipeline_ctrl_fd(c->pl), &ev);
	ev.data.fd = c->ops->event_fd ? c->ops->event_fd(c->mode) : -1;
	if (ev.data.fd >= 0)
		epoll_ctl(c->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	while (!c->is_stopping) {
		struct epoll_event evs[8];
		int64_t now;
		int n = 0;

		/* ctrl sleeps whenever its rings are empty; udp_rx/tun_tx ring the doorbell. */
		if (pipeline_ctrl_prepare_sleep(c->pl))
			n = epoll_wait(c->ep_fd, evs, ARRAY_SIZE(evs), run_timeout_ms(c));
		pipeline_ctrl_wake_clear(c->pl);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == c->sig_fd)
				on_signal(c);
			else if (evs[i].data.fd == c->timer_fd)
				on_tick(c);
			else if (!mgmt_on_event(c->mgmt, evs[i].data.fd, evs[i].events))
				(void)metrics_on_event(c->metrics, evs[i].data.fd, evs[i].events);
		}
		now = clock_mono_ns();
		ctrl_rings_drain(c, now, true);
		c->ops->run(c->mode, now);
		check_done(c);
		ids_drop_when_ready(c);
	}
}

/* Everything from the TUN device to the mode's start; ends with start-up complete. */
static int start(struct ctrl *c)
{
	int udp_fd;

	if (c->ops->create(&c->mode, c->rc)) {
		c->mode = NULL;
		log_warnx("%s: out of memory", c->ops->name);
		return -ENOMEM;
	}
	if (loop_setup(c) || mgmt_setup(c) || tun_setup(c))
		return -EIO;
	udp_fd = c->ops->udp_open(c->mode);
	if (udp_fd < 0 || data_plane_start(c, udp_fd))
		return -EIO;
	if (c->ops->start(c->mode, c->ifname, clock_mono_ns()))
		return -EIO;
	proc_chdir(&c->proc);
	/* A client drops them in run(), once its first push is applied. */
	ids_drop_when_ready(c);
	return c->is_stopping ? -EPERM : 0;
}

/* Mirrors start(); the data plane first, so nothing still runs on what the mode frees. */
static void stop(struct ctrl *c)
{
	if (c->pl) {
		pipeline_stop(c->pl);
		c->is_stopping = true;
		ctrl_rings_drain(c, 0, false);
		status_file_write(&c->status, ctrl_status(c));
		/* Every counter at exit only at verb 4 and up, as stock's end-of-run statistics. */
		if (log_get_verbosity() >= 4)
			status_log(ctrl_status(c));
		c->ops->stop(c->mode);
		pipeline_destroy(c->pl);
		c->pl = NULL;
	}
	epoch_barrier();
	if (c->mode)
		c->ops->free(c->mode);	/* socket; a client: routes outside the TUN, --down */
	/* After the mode: its last notifications (>CLIENT:DISCONNECT) still go out. */
	mgmt_free(c->mgmt);
	c->mgmt = NULL;
	metrics_free(c->metrics);
	c->metrics = NULL;
	lanes_close(&c->lanes);	/* the TUN device goes with its last queue, below */
	if (c->tun_fd >= 0) {
		/* Closing a non-persistent TUN removes the device, its addresses and routes. */
		log_info("tun: closing %s", c->ifname);
		close(c->tun_fd);
	}
	if (c->ep_fd >= 0)
		close(c->ep_fd);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	if (c->timer_fd >= 0)
		close(c->timer_fd);
	status_file_close(&c->status);
	proc_cleanup(&c->proc);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice --config FILE [--option args ...]    run as client or server\n"
		"       sluice --config FILE --check                check it, start nothing\n"
		"       sluice status [--json] [NAME|SOCKET|HOST:PORT|--config FILE]\n"
		"       sluice --help | --version\n");
}

/* Takes @flag out of @argv if it is there (it is sluice's, not a directive). */
static bool argv_take(int *argc, char **argv, const char *flag)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], flag))
			continue;
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
		(*argc)--;
		return true;
	}
	return false;
}

/*
 * `--check`: the configuration and everything it names, as a start would
 * see them, with nothing opened; exit 0 clean, 1 with problems.
 */
static int check_only(struct runcfg *rc, int argc, char **argv)
{
	unsigned int warnings = 0, errors = check_config(rc, argc, argv, false, &warnings);

	printf("%s: %u error(s), %u warning(s)%s\n", rc->opts->config ?: "command line", errors,
	       warnings, errors ? "" : ": ready to start");
	runcfg_free(rc);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct ctrl c = { .tun_fd = -1, .sig_fd = -1, .timer_fd = -1, .ep_fd = -1,
			  .status = { .fd = -1 } };
	char err[512];
	int status = 1;
	bool checking;

	lanes_init(&c.lanes);
	if (argc < 2) {
		usage(stderr);
		return CONN_EXIT_CONFIG;
	}
	if (!strcmp(argv[1], "status"))
		return cli_status_main(argc - 2, argv + 2);
	if (!strcmp(argv[1], "--version")) {
		printf("sluice %s (OpenVPN 2.6 wire protocol)\n", SLUICE_VERSION);
		return 0;
	}
	/* After a crash or kill -9 the fail-closed table stays until this. */
	if (!strcmp(argv[1], "--kill-switch-off")) {
		log_init(1, 0);
		if (argc > 2 ? killswitch_remove(argv[2]) : killswitch_remove_all()) {
			log_warnx("kill-switch: cannot remove the nftables table(s)");
			return CONN_EXIT_ERROR;
		}
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		printf("\nEvery option is a config directive and a --flag; [sluice] marks sluice's "
		       "own.\n");
		options_help(stdout);
		return 0;
	}
	checking = argv_take(&argc, argv, "--check");
	log_init(1, 0);
	srandom((unsigned int)(getpid() ^ clock_mono_ns()));
	if (runcfg_load(&c.rc, argc, argv, err, sizeof(err))) {
		if (checking) {
			printf("error: %s\n", err);
			return 1;
		}
		log_warnx("%s", err);
		return CONN_EXIT_CONFIG;
	}
	if (checking)
		return check_only(c.rc, argc, argv);
	/* The same checks before any device, route or socket: a bad file fails here. */
	if (check_config(c.rc, argc, argv, true, NULL)) {
		log_warnx("options: the configuration has errors (above); not starting");
		runcfg_free(c.rc);
		return CONN_EXIT_CONFIG;
	}
	log_set_verbosity(c.rc->verb);
	log_set_mute((int)c.rc->opts->mute);
	log_set_timestamps(!c.rc->opts->suppress_timestamps);
	epoch_init();	/* memory only; the exit path's epoch_barrier needs it */
	c.ops = mode_pick(c.rc);
	/* What proc_setup refuses (chroot, an unknown user) is the configuration's fault. */
	status = CONN_EXIT_CONFIG;
	if (proc_setup(&c.proc, c.rc->opts) ||
	    status_file_init(&c.status, c.rc->status_file,
			     status_file_fmt(c.ops, c.rc->opts->status_version),
			     c.rc->opts->status_interval))
		goto out;
	/* Secrets are asked for now, while the terminal is still ours (stock: before daemon). */
	if (askpass_startup(c.rc->opts, err, sizeof(err)) ||
	    (c.rc->is_client && creds_startup(c.rc->opts, err, sizeof(err)))) {
		log_warnx("%s", err);
		goto out;
	}
	status = CONN_EXIT_ERROR;
	log_info("sluice %s starting", SLUICE_VERSION);
	if (proc_daemonize(&c.proc))
		goto out;
	/* After daemon: systemd watches the process that runs (Type=notify units use none). */
	sdnotify_init();
	if (dc_global_init()) {
		log_warnx("crypto: OpenSSL ciphers unavailable");
		goto out;
	}
	if (start(&c))
		goto out;
	status_file_write(&c.status, ctrl_status(&c));
	run(&c);
	status = c.exit_status;
out:
	sdnotify_stopping();
	stop(&c);
	runcfg_free(c.rc);
	askpass_forget();
	creds_forget();
	dc_global_cleanup();
	log_info("exiting with status %d", status);
	return status;
}
