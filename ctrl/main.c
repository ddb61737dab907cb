/*
 * main.c - process entry: reads the configuration, builds the data plane,
 * runs ctrl's event loop and tears everything down on exit.
 *
 * Thread: the main thread is ctrl (thread id 0). It is the only thread that
 * reads config, talks to people (log, status file, signals) or frees shared
 * objects (DESIGN.md §2).
 *
 * Event loop sources (epoll):
 *   signalfd   SIGTERM/SIGINT exit, SIGHUP/SIGUSR1 (client: reconnect from a
 *              fresh UDP port, TUN kept),
 *              SIGUSR2 writes the counters to the log
 *   timerfd    1 s tick: status file, epoch reclamation
 *   ctrl_db    doorbell rung by udp_rx / tun_tx when they queue packets for ctrl
 *
 * Modes: with `test-data-key` the data plane runs with one fixed key and no
 * control channel (the foundation tests and benchmarks). Client mode
 * (`client`, or tls-client + pull) lives in ctrl/client/client.c, server mode
 * (`mode server` / `server`) in ctrl/server/server.c; main.c owns what they share:
 * the TUN device, the data plane, the event loop and the status file.
 *
 * Process options, in this order: `chroot` is refused and an unknown
 * `user`/`group` fails at once; `log`/`log-append` take stdout and stderr
 * (else `daemon` sends the log to syslog); `management` is a warning (not
 * implemented yet, ignored); `daemon` detaches before the first thread
 * exists, then `writepid` (the file is removed on exit, as stock); once the
 * files are read a daemon without `cd` moves to /; `user`/`group` drop
 * privileges once initialization is complete (a client: after its first
 * push is applied), keeping CAP_NET_ADMIN in ctrl for later routes, as
 * stock built with libcap-ng does. `mute` is accepted and ignored: sluice
 * does not repeat messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/epoch.h"
#include "../core/log.h"
#include "client/client.h"
#include "config/options.h"
#include "../io/pipeline.h"
#include "config/runcfg.h"
#include "server/server.h"

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
	int exit_status;
	/* Server mode. */
	struct server *srv;
	int64_t exit_deadline_ns;	/* SIGTERM: wait for the RESTART acks until then */
	/* Client mode (ctrl/client/client.c); it owns udp_fd from client_udp_setup on. */
	struct client *cl;
	/* Process options. */
	char *status_path;		/* absolute: daemon's chdir("/") must not move it */
	int status_fd;			/* after user/group: the file, rewritten in place */
	char *pid_path;			/* writepid, absolute; removed on exit as stock */
	bool ids_pending;		/* user/group: drop once initialization is complete */
	uid_t uid;
	gid_t gid;
};

#define NS_PER_SEC	1000000000LL

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
	if (rc->has_ifconfig)
		return client_addr4_apply(c->cl, c->ifname, rc->ifconfig_local,
					  rc->ifconfig_second, rc->topology_subnet);
	return 0;
}

/* The socket: the server's listening one, the client's, or test-data-key's to its remote. */
static int udp_setup(struct ctrl *c)
{
	struct runcfg *rc = c->rc;
	union sockaddr_any remote;

	if (rc->is_server)
		c->udp_fd = server_udp_open(rc->local_host, rc->local_port);
	else if (c->cl)
		c->udp_fd = client_udp_setup(c->cl);
	else
		c->udp_fd = client_udp_open(rc, &remote);
	return c->udp_fd < 0 ? c->udp_fd : 0;
}

/* What the status file says: OpenVPN's format in server mode, else the counters. */
static void status_print(struct ctrl *c, FILE *f)
{
	if (c->srv) {
		server_write_status(c->srv, f, c->rc->opts->status_version);
		return;
	}
	fprintf(f, "state=%s\n", c->stopping ? "EXITING" :
		!c->cl || client_connected(c->cl) ? "CONNECTED" : "CONNECTING");
	fprintf(f, "ctrl.ctrl_pkts=%llu\nctrl.inband_pkts=%llu\n",
		(unsigned long long)c->ctrl_pkts, (unsigned long long)c->inband_pkts);
	if (c->cl)
		client_write_status(c->cl, f);
	pipeline_write_stats(c->pl, f);
}

/*
 * After user/group dropped the privileges the file's directory may not be
 * writable any more: the file opened before is rewritten in place, as stock
 * does (a reader may see the old tail for a moment).
 */
static void status_rewrite(struct ctrl *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	status_print(c, f);
	if (fclose(f) || pwrite(c->status_fd, buf, len, 0) != (ssize_t)len ||
	    ftruncate(c->status_fd, (off_t)len))
		log_warn("status: cannot write %s", c->status_path);
	free(buf);
}

/* A new file renamed over the old one, so a reader never sees half of it. */
static void write_status(struct ctrl *c)
{
	char *tmp;
	FILE *f;

	if (!c->status_path || !c->pl)
		return;
	if (c->status_fd >= 0) {
		status_rewrite(c);
		return;
	}
	if (asprintf(&tmp, "%s.tmp", c->status_path) < 0)
		return;
	f = fopen(tmp, "w");
	if (!f) {
		log_warn("status: cannot write %s", tmp);
		free(tmp);
		return;
	}
	status_print(c, f);
	if (fclose(f) || rename(tmp, c->status_path))
		log_warn("status: cannot write %s", c->status_path);
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
		.is_server = rc->is_server || (!rc->is_client && rc->test_key_direction == 0),
		.single_peer = !rc->is_server,
		.client_to_client = rc->is_server && rc->opts->client_to_client,
		.workers = rc->workers,
		.max_peers = rc->is_server ? MAX(rc->opts->max_clients, 1u) : 1,
		.tun_fd = c->tun_fd,
		.link_fd = c->udp_fd,
		.replay_window = rc->replay_window,
		.replay_time = rc->replay_time,
		.replay_strict = false,
	};
	int err;

	runcfg_mss_socket(rc, c->udp_fd, &pc.mss_v4, &pc.mss_v6);
	err = pipeline_create(&c->pl, &pc);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot build the data plane");
		return err;
	}
	if (rc->is_client || rc->is_server) {
		/* Client: the peer and its keys come with the PUSH_REPLY (client_keys_install). */
		err = pipeline_start(c->pl);
		if (err) {
			errno = -err;
			log_warn("pipeline: cannot start threads");
		}
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
	pipeline_peer_set_comp(c->pl, 0, runcfg_comp(rc->opts));
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

/* ---- process options: log, daemon, writepid, user/group, chroot, management ---- */

/* @path against the current directory, so daemon's later chdir("/") keeps it. */
static char *abs_path(const char *path)
{
	char *cwd = path[0] == '/' ? NULL : getcwd(NULL, 0);
	char *out;

	if (!cwd)
		return strdup(path);
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		out = NULL;
	free(cwd);
	return out;
}

/*
 * `log FILE` / `log-append FILE`: stdout and stderr go to the file, as
 * stock's redirect_stdout_stderr (mode 0600; a file that cannot be opened
 * is a warning, and the log stays where it was). Relative to `cd`, which
 * runcfg_load applied.
 */
static void proc_log_open(const struct options *o)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (o->log_append ? O_APPEND : O_TRUNC);
	int fd = open(o->log, flags, S_IRUSR | S_IWUSR);

	if (fd < 0) {
		log_warn("WARNING: cannot open the log file %s", o->log);
		return;
	}
	/* dup2 clears O_CLOEXEC on 1 and 2: scripts log to the same file. */
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		log_warn("WARNING: cannot send the log to %s", o->log);
	close(fd);
}

/* user/group are looked up now, so a typo fails at start, not after the tunnel is up. */
static int proc_ids_lookup(struct ctrl *c, const struct options *o)
{
	struct passwd *pw;
	struct group *gr;

	if (o->user) {
		pw = getpwnam(o->user);
		if (!pw) {
			log_warnx("options: user '%s' not found", o->user);
			return -ENOENT;
		}
		c->uid = pw->pw_uid;
	}
	if (o->group) {
		gr = getgrnam(o->group);
		if (!gr) {
			log_warnx("options: group '%s' not found", o->group);
			return -ENOENT;
		}
		c->gid = gr->gr_gid;
	}
	c->ids_pending = o->user || o->group;
	return 0;
}

/*
 * Before the first thread and the TUN device: what is refused or wrong in
 * the configuration (on the terminal, like a parse error), then the log sink.
 */
static int proc_setup(struct ctrl *c)
{
	const struct options *o = c->rc->opts;

	if (o->chroot) {
		log_warnx("options: chroot is not supported by sluice");
		return -ENOTSUP;
	}
	/* Refused, not ignored: whoever asks for fail-closed must not silently get a leak. */
	if (o->kill_switch) {
		log_warnx("options: kill-switch is not implemented yet (refusing to start rather "
			  "than run without it)");
		return -ENOTSUP;
	}
	if (proc_ids_lookup(c, o))
		return -ENOENT;
	if (o->log)
		proc_log_open(o);
	else if (o->daemon)
		log_open_syslog(o->daemon_name ? o->daemon_name : "sluice");
	if (c->rc->status_file) {
		c->status_path = abs_path(c->rc->status_file);
		if (!c->status_path)
			return -ENOMEM;
	}
	return 0;
}

/* Accepted for the profiles that carry them, but not a silent no-op. */
static void proc_warn_ignored(const struct options *o)
{
	if (o->management_addr && o->management_unix)
		log_warnx("WARNING: the management interface is not implemented by sluice: "
			  "'management %s unix' is ignored", o->management_addr);
	else if (o->management_addr)
		log_warnx("WARNING: the management interface is not implemented by sluice: "
			  "'management %s %u' is ignored", o->management_addr, o->management_port);
	if (o->management_hold)
		log_warnx("WARNING: management-hold is ignored: sluice starts at once");
}

/*
 * `daemon`: detach before any thread exists (fork keeps only the caller),
 * then `writepid`. As stock's possibly_become_daemon: the directory stays
 * until the files are read (proc_chdir), stdio goes to
 * /dev/null unless `log` holds it (then only stdin does).
 */
static int proc_daemonize(struct ctrl *c)
{
	const struct options *o = c->rc->opts;
	FILE *f;
	int fd;

	if (o->daemon) {
		if (daemon(1, o->log != NULL)) {
			log_warn("daemon() failed");
			return -errno;
		}
		fd = o->log ? open("/dev/null", O_RDWR) : -1;
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			if (fd != STDIN_FILENO)
				close(fd);
		}
	}
	if (!o->writepid)
		return 0;
	c->pid_path = abs_path(o->writepid);
	f = c->pid_path ? fopen(c->pid_path, "w") : NULL;
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		if (!fclose(f))
			return 0;
	}
	log_warn("cannot write the pid file %s", o->writepid);
	free(c->pid_path);
	c->pid_path = NULL;	/* not ours to remove */
	return -EIO;
}

/*
 * Keeps CAP_NET_ADMIN, and nothing else, in this thread across setuid, as
 * stock does with libcap-ng: ctrl can still change addresses and routes
 * when a reconnect's push differs, and remove them on exit. Capabilities
 * belong to a thread: the data threads, which need none, lose them all.
 */
static int proc_keep_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int i = CAP_TO_INDEX(CAP_NET_ADMIN);

	memset(data, 0, sizeof(data));
	data[i].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	data[i].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/*
 * `user` / `group`, once initialization is complete (the TUN device, the
 * socket, the threads, and for a client the first push's addresses and
 * routes): glibc applies setgid/setuid to every thread. The status file is
 * opened first, while its directory is still writable.
 */
static int proc_ids_drop(struct ctrl *c)
{
	const struct options *o = c->rc->opts;
	bool keep = false;

	c->ids_pending = false;
	if (c->status_path) {
		c->status_fd = open(c->status_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (c->status_fd < 0)
			log_warn("status: cannot open %s", c->status_path);
	}
	if (setgroups(0, NULL)) {
		log_warn("setgroups() failed");
		return -EPERM;
	}
	if (o->group && setgid(c->gid)) {
		log_warn("setgid('%s') failed", o->group);
		return -EPERM;
	}
	if (o->group)
		log_info("GID set to %s", o->group);
	if (!o->user)
		return 0;
	keep = !prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (setuid(c->uid)) {
		log_warn("setuid('%s') failed", o->user);
		return -EPERM;
	}
	log_info("UID set to %s", o->user);
	if (keep && !proc_keep_net_admin())
		log_info("Capabilities retained: CAP_NET_ADMIN");
	else
		log_warn("WARNING: cannot retain CAP_NET_ADMIN: a reconnect cannot change "
			 "addresses or routes, nor remove them on exit");
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

/* daemon without cd: stock's postponed chdir("/"), once the files were read. */
static void proc_chdir(struct ctrl *c)
{
	const struct options *o = c->rc->opts;

	if (o->daemon && !o->cd && chdir("/"))
		log_warn("cannot change directory to /");
}

/* Control packets and in-band messages queued for ctrl. */
static void ctrl_rings_drain(struct ctrl *c, int64_t now)
{
	struct pkt *p[BURST_MAX];
	unsigned int n;

	if (!c->cl && !c->srv) {
		pipeline_drain_ctrl(c->pl, &c->ctrl_pkts, &c->inband_pkts);
		return;
	}
	while ((n = pipeline_ctrl_recv(c->pl, p, BURST_MAX))) {
		c->ctrl_pkts += n;
		for (unsigned int i = 0; i < n; i++) {
			if (c->srv)
				server_input(c->srv, p[i], now);
			else
				client_input(c->cl, p[i], now);
		}
		pkt_free_burst(p, n);
	}
	/* In-band OCC messages: counted only for now. */
	while ((n = pipeline_inband_recv(c->pl, p, BURST_MAX))) {
		c->inband_pkts += n;
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

/* The client asked for the exit: a failure, ping-exit, or its EXIT was acknowledged. */
static void client_check_done(struct ctrl *c)
{
	if (c->cl && client_done(c->cl, &c->exit_status))
		c->stopping = true;
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
			if (c->cl) {
				client_stop(c->cl, clock_mono_ns());
				client_check_done(c);
			} else if (c->srv && !c->exit_deadline_ns &&
				   server_shutdown(c->srv, clock_mono_ns())) {
				c->exit_deadline_ns = clock_mono_ns() + 2 * NS_PER_SEC;
			} else {
				c->stopping = true;
			}
			break;
		case SIGUSR2:
			log_stats(c);
			break;
		case SIGHUP:
		case SIGUSR1:
			if (c->cl) {
				log_info("%s[soft] received, process restarting",
					 si.ssi_signo == SIGHUP ? "SIGHUP" : "SIGUSR1");
				client_restart(c->cl, clock_mono_ns(), si.ssi_signo == SIGHUP);
				break;
			}
			log_info("signal %d ignored: restart needs a control channel", si.ssi_signo);
			break;
		default:
			log_info("signal %d ignored: restart needs a control channel", si.ssi_signo);
			break;
		}
	}
}

/* How long ctrl may sleep: 1 s, or less when the session has a timer due. */
static int run_timeout_ms(struct ctrl *c)
{
	int64_t now = clock_mono_ns(), next = INT64_MAX, ms;

	if (c->srv)
		next = server_next_timeout(c->srv, now);
	else if (!c->cl)
		return 1000;
	else
		next = client_next_timeout(c->cl, now);
	if (c->exit_deadline_ns && c->exit_deadline_ns < next)
		next = c->exit_deadline_ns;
	if (next <= now)
		return 0;
	ms = (next - now + 999999) / 1000000;
	return ms > 1000 ? 1000 : (int)ms;
}

static void run(struct ctrl *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = pipeline_ctrl_fd(c->pl) };

	epoll_ctl(c->ep_fd, EPOLL_CTL_ADD, pipeline_ctrl_fd(c->pl), &ev);
	while (!c->stopping) {
		struct epoll_event evs[8];
		int64_t now;
		int n;

		/* ctrl sleeps whenever its rings are empty; udp_rx/tun_tx ring the doorbell. */
		if (pipeline_ctrl_prepare_sleep(c->pl))
			n = epoll_wait(c->ep_fd, evs, ARRAY_SIZE(evs), run_timeout_ms(c));
		else
			n = 0;
		pipeline_ctrl_wake_clear(c->pl);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == c->sig_fd) {
				on_signal(c);
			} else if (evs[i].data.fd == c->timer_fd) {
				uint64_t ticks;

				if (read(c->timer_fd, &ticks, sizeof(ticks)) < 0)
					ticks = 0;
				epoch_poll();
				write_status(c);
				if (c->cl) {
					client_second(c->cl, clock_mono_ns());
					client_check_done(c);
				}
				if (c->srv)
					server_second(c->srv, clock_mono_ns());
			}
		}
		now = clock_mono_ns();
		ctrl_rings_drain(c, now);
		if (c->cl) {
			client_run_once(c->cl, now);
			client_check_done(c);
			if (c->ids_pending && client_was_up(c->cl) && proc_ids_drop(c)) {
				c->exit_status = 1;
				c->stopping = true;
			}
		}
		if (c->srv) {
			server_run(c->srv, now);
			if (c->exit_deadline_ns &&
			    (server_idle(c->srv) || now >= c->exit_deadline_ns))
				c->stopping = true;
		}
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
	struct ctrl c = { .tun_fd = -1, .udp_fd = -1, .sig_fd = -1, .timer_fd = -1, .ep_fd = -1,
			  .status_fd = -1 };
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
	srandom((unsigned int)(getpid() ^ clock_mono_ns()));
	rc = runcfg_load(&c.rc, argc, argv, err, sizeof(err));
	if (rc) {
		log_warnx("%s", err);
		return 1;
	}
	log_set_verbosity(c.rc->verb);
	epoch_init();	/* memory only; the exit path's epoch_barrier needs it */
	if (proc_setup(&c))
		goto out;
	log_info("sluice %s starting", SLUICE_VERSION);
	proc_warn_ignored(c.rc->opts);
	if (proc_daemonize(&c))
		goto out;
	if (dc_global_init()) {
		log_warnx("crypto: OpenSSL ciphers unavailable");
		goto out;
	}
	if (c.rc->is_client && client_create(&c.cl, c.rc)) {
		log_warnx("client: out of memory");
		goto out;
	}
	if (loop_setup(&c) || tun_setup(&c) || udp_setup(&c) || data_plane_start(&c))
		goto out;
	if (c.cl) {
		if (client_start(c.cl, c.pl, c.ifname))
			goto out;
	} else if (c.rc->is_server) {
		rc = server_create(&c.srv, c.rc->opts, c.pl, err, sizeof(err));
		if (rc) {
			log_warnx("%s", err);
			goto out;
		}
		if (server_tun_setup(c.rc->opts, c.ifname))
			goto out;
		log_info("Initialization Sequence Completed");
	} else {
		log_info("Initialization Sequence Completed");
	}
	proc_chdir(&c);
	/* A client drops them in run(), once its first push is applied. */
	if (!c.cl && c.ids_pending && proc_ids_drop(&c))
		goto out;
	write_status(&c);
	run(&c);
	status = c.exit_status;
out:
	if (c.pl) {
		pipeline_stop(c.pl);
		c.stopping = true;
		pipeline_drain_ctrl(c.pl, &c.ctrl_pkts, &c.inband_pkts);
		write_status(&c);
		log_stats(&c);
		server_free(c.srv);
		c.srv = NULL;
		pipeline_destroy(c.pl);
	}
	epoch_barrier();
	if (c.cl)
		client_free(c.cl);	/* its socket, routes outside the TUN, --down */
	else if (c.udp_fd >= 0)
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
	if (c.status_fd >= 0)
		close(c.status_fd);
	free(c.status_path);
	/* As stock: removed on exit; after user/group this may fail, silently. */
	if (c.pid_path)
		unlink(c.pid_path);
	free(c.pid_path);
	runcfg_free(c.rc);
	dc_global_cleanup();
	log_info("exiting with status %d", status);
	return status;
}
