/*
 * loadgen.c - owns a control-channel load generator for OpenVPN 2.6 servers:
 * many client sessions (ctrl/client/session.c, the real client's control channel)
 * in one process, one connected UDP socket per session (its own source port),
 * epoll over all of them. A handshake is the whole client start-up: hard
 * reset, TLS, key-method 2, PUSH_REQUEST -> PUSH_REPLY and the key export;
 * its latency runs from the first reset sent to the keys being ready.
 *
 * Without --hold every established session says EXIT (cc-exit) so the
 * server frees it, and -c handshakes are kept in flight until -n were
 * started; handshakes/s = ok / (first start .. last handshake resolved).
 * With --hold the established sessions stay open (the data channel is not
 * run: server pings are read and dropped) and "ready held=N" goes to stdout;
 * SIGTERM/SIGINT or -t then sends EXIT to all of them and ends the run.
 * The results are key=value lines on stdout (bench/clients_bench.sh reads them).
 *
 * session_create() builds a TLS context (CA, cert and key parsed) per
 * session. Here that is once per slot, before the clock starts: each slot
 * parses the config with the client's own option parser (pushes are applied
 * to its options) and keeps its session, and a new handshake on the slot is
 * session_start() on a fresh socket, as a real client reconnecting does.
 * Slots: -n with --hold, 2 * -c without. Thread: main only.
 *
 * As a swarm (tests/interop/server_swarm.sh): --src-net CIDR gives each new
 * socket the next address of CIDR (the namespace must own them, e.g. as a
 * local route on lo), so hundreds of sessions come from many addresses;
 * reneg-sec in the config makes held sessions renegotiate (counted as
 * rekeys); --leave-after S with --hold makes each established session leave
 * (EXIT) after a random S/2 .. 3S/2 seconds and a new one take its slot,
 * until -t: -n sessions held at any time, connecting, renegotiating and
 * leaving. --seed makes source ports, addresses and leave times repeatable.
 *
 *   loadgen --config client.conf [-n total] [-c in-flight] [--hold]
 *           [-t max-seconds] [--hs-timeout seconds] [--src-net CIDR]
 *           [--leave-after seconds] [--seed N] [-v]
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/crypto.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/proto.h"
#include "../ctrl/config/options.h"
#include "../ctrl/client/session.h"
#include "loadgen.h"

volatile sig_atomic_t loadgen_stop;

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* session_io.send: the socket is connected, so a plain send. */
static int slot_send(void *arg, const uint8_t *buf, size_t len)
{
	struct slot *sl = arg;

	if (sl->fd < 0 || send(sl->fd, buf, len, 0) < 0) {
		sl->lg->tx_errs++;
		return sl->fd < 0 ? -ENOTCONN : -errno;
	}
	return 0;
}

/* The client's own option parser and checks, as ctrl/config/runcfg.c does them. */
static int slot_options_load(struct slot *sl, const char *path, bool is_first, char *err,
			     size_t errlen)
{
	struct options *o = &sl->o;
	int rc;

	options_init(o);
	rc = options_load_file(o, path, err, errlen);
	rc = rc ?: options_finalize(o, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; is_first && i < o->warnings.n; i++)
		log_warnx("%s", o->warnings.v[i]);
	options_warnings_clear(o);
	if (is_first && o->cd && chdir(o->cd)) {
		rc = -errno;
		snprintf(err, errlen, "options: cd %s: %s", o->cd, strerror(-rc));
		return rc;
	}
	if (o->tls_server || !(o->client || o->tls_client)) {
		snprintf(err, errlen, "loadgen: the config must be a TLS client ('client')");
		return -EINVAL;
	}
	if (o->conns.n == 0 || !o->conns.v[0].remote || o->conns.v[0].proto != OPT_PROTO_UDP) {
		snprintf(err, errlen, "loadgen: the config needs a UDP 'remote'");
		return -EINVAL;
	}
	return 0;
}

static int slot_setup(struct loadgen *lg, struct slot *sl, bool is_first, char *err,
		      size_t errlen)
{
	struct session_io io = { .send = slot_send, .arg = sl };
	int rc;

	sl->lg = lg;
	sl->fd = -1;
	sl->st = SLOT_FREE;
	sl->next_ns = INT64_MAX;
	rc = slot_options_load(sl, lg->config, is_first, err, errlen);
	if (rc)
		return rc;
	return session_create(&sl->s, &sl->o, &io, err, errlen);
}

static int loadgen_resolve(struct loadgen *lg, const struct options *o, char *err,
			   size_t errlen)
{
	const struct options_conn *ce = &o->conns.v[0];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
	char port[8];
	int rc;

	hints.ai_family = ce->af;
	snprintf(port, sizeof(port), "%u", ce->remote_port);
	rc = getaddrinfo(ce->remote, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "loadgen: %s: %s", ce->remote, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&lg->srv, res->ai_addr, res->ai_addrlen);
	lg->srv_len = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(lg->srv_str, sizeof(lg->srv_str), "%s:%u", ce->remote, ce->remote_port);
	return 0;
}

/*
 * Source ports from the ephemeral range in turn, from a random start, instead of bind(0):
 * the kernel may hand a port to a new client that a session finished a moment ago used,
 * and OpenVPN still holds that client's instance for a few seconds after its EXIT and
 * refuses the new hard reset from the same address ("session context expire"), which
 * stalls that handshake for retransmit rounds. In turn, a port comes back only after
 * the whole range was used.
 */
static void loadgen_ports_init(struct loadgen *lg)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	unsigned int lo = 32768, hi = 60999;

	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo == 0 || hi < lo || hi > 65535) {
			lo = 32768;
			hi = 60999;
		}
		fclose(f);
	}
	lg->port_lo = lo;
	lg->port_span = hi - lo + 1;
	srand(lg->has_seed ? lg->seed : (unsigned int)(clock_mono_ns() ^ getpid()));
	lg->port_next = (unsigned int)rand() % lg->port_span;
}

static int loadgen_bind(struct loadgen *lg, int fd)
{
	struct sockaddr_storage ss = { .ss_family = lg->srv.ss_family };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	if (lg->src_count) {
		sin->sin_addr.s_addr = htonl(lg->src_base + lg->src_next);
		lg->src_next = (lg->src_next + 1) % lg->src_count;
	}

	for (unsigned int i = 0; i < lg->port_span; i++) {
		uint16_t port = htons((uint16_t)(lg->port_lo + lg->port_next));

		lg->port_next = (lg->port_next + 1) % lg->port_span;
		if (ss.ss_family == AF_INET6)
			sin6->sin6_port = port;
		else
			sin->sin_port = port;
		if (!bind(fd, (struct sockaddr *)&ss, ss.ss_family == AF_INET6 ?
			  sizeof(*sin6) : sizeof(*sin)))
			return 0;
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

/* One fd per session plus a few: raise the soft limit to the hard one, set *fds to it. */
static int loadgen_rlimit(unsigned int nslots, rlim_t *fds, char *err, size_t errlen)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		snprintf(err, errlen, "loadgen: getrlimit: %s", strerror(errno));
		return -EINVAL;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)nslots + 32) {
		snprintf(err, errlen, "loadgen: %u sessions need more fds than RLIMIT_NOFILE %llu",
			 nslots, (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	*fds = rl.rlim_cur;
	return 0;
}

/* Every slot's options and session (TLS context) before the clock starts. */
int loadgen_setup(struct loadgen *lg, char *err, size_t errlen)
{
	rlim_t fds = RLIM_INFINITY;
	int rc;

	/* Without --hold a finished slot may still wait for its EXIT ack: twice -c. */
	lg->nslots = lg->hold ? lg->total : min64(lg->total, 2 * (int64_t)lg->conc);
	rc = loadgen_rlimit(lg->nslots, &fds, err, errlen);
	if (rc)
		return rc;
	lg->linger_cap = fds == RLIM_INFINITY || fds - lg->nslots - 32 > lg->total ?
			 lg->total : (unsigned int)(fds - lg->nslots - 32);
	lg->slots = calloc(lg->nslots, sizeof(*lg->slots));
	lg->free_idx = calloc(lg->nslots, sizeof(*lg->free_idx));
	lg->lat_cap = lg->total;
	lg->lat_ns = calloc(lg->lat_cap, sizeof(*lg->lat_ns));
	lg->linger = calloc(lg->linger_cap + 1, sizeof(*lg->linger));
	lg->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!lg->slots || !lg->free_idx || !lg->lat_ns || !lg->linger || lg->ep < 0) {
		snprintf(err, errlen, "loadgen: out of memory or fds");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < lg->nslots; i++) {
		rc = slot_setup(lg, &lg->slots[i], i == 0, err, errlen);
		if (rc)
			return rc;
		if (i == 0) {
			rc = loadgen_resolve(lg, &lg->slots[0].o, err, errlen);
			if (rc)
				return rc;
		}
		/* Pop order = slot order, for readable debugging. */
		lg->free_idx[lg->nslots - 1 - i] = i;
	}
	lg->nfree = lg->nslots;
	loadgen_ports_init(lg);
	return 0;
}

/*
 * A finished session's socket stays open (out of the epoll set) rather than closing:
 * the server still sends to it now and then (OpenVPN: a data packet some seconds after
 * the EXIT), and a closed port answers with ICMP port unreachable, which Linux reports
 * on the server's shared UDP socket as ECONNREFUSED on its next send, to whichever
 * client: that datagram is lost and costs a handshake a 2 s retransmit. Oldest first
 * closed when the fd budget is used up.
 */
static void loadgen_linger(struct loadgen *lg, int fd)
{
	(void)epoll_ctl(lg->ep, EPOLL_CTL_DEL, fd, NULL);
	if (!lg->linger_cap) {
		close(fd);
		return;
	}
	if (lg->linger_n == lg->linger_cap) {
		close(lg->linger[lg->linger_head]);
		lg->linger_head = (lg->linger_head + 1) % lg->linger_cap;
		lg->linger_n--;
	}
	lg->linger[(lg->linger_head + lg->linger_n++) % lg->linger_cap] = fd;
}

static void slot_release(struct slot *sl)
{
	struct loadgen *lg = sl->lg;

	if (sl->fd >= 0)
		loadgen_linger(lg, sl->fd);
	sl->fd = -1;
	sl->st = SLOT_FREE;
	sl->next_ns = INT64_MAX;
	lg->free_idx[lg->nfree++] = (unsigned int)(sl - lg->slots);
}

static void slot_fail(struct slot *sl, enum fail_reason why)
{
	struct loadgen *lg = sl->lg;

	/* Where a handshake stalled: its stage and the control channel's counters. */
	if (why == FAIL_TIMEOUT && sl->s) {
		fprintf(stderr, "loadgen: session %u timed out in state %d:\n",
			(unsigned int)(sl - lg->slots), (int)session_state(sl->s));
		session_write_stats(sl->s, stderr);
	}
	lg->fails[why]++;
	lg->inflight--;
	slot_release(sl);
}

/* EXIT (cc-exit) and wait for its ack; without cc-exit the server times the session out. */
static void slot_leave(struct slot *sl, int64_t now)
{
	struct loadgen *lg = sl->lg;

	if (!session_send_exit(sl->s, now)) {
		slot_release(sl);
		return;
	}
	sl->st = SLOT_CLOSING;
	sl->deadline_ns = now + LOADGEN_EXIT_WAIT_NS;
	lg->closing++;
}

static void slot_established(struct slot *sl, int64_t now)
{
	struct loadgen *lg = sl->lg;

	if (lg->ok == lg->lat_cap) {
		int64_t *v = realloc(lg->lat_ns, 2 * lg->lat_cap * sizeof(*v));

		if (v) {
			lg->lat_ns = v;
			lg->lat_cap *= 2;
		}
	}
	if (lg->ok < lg->lat_cap)
		lg->lat_ns[lg->ok] = now - sl->start_ns;
	lg->ok++;
	lg->inflight--;
	if (lg->hold) {
		sl->st = SLOT_HELD;
		lg->held++;
		sl->leave_ns = !lg->leave_after ? INT64_MAX : now +
			(int64_t)lg->leave_after * NSEC_PER_SEC / 2 +
			(int64_t)((double)rand() / RAND_MAX * lg->leave_after * NSEC_PER_SEC);
		return;
	}
	slot_leave(sl, now);
}

/* After every input or timer: act on the session's state, rearm the slot's timer. */
static void slot_check(struct slot *sl, int64_t now)
{
	struct loadgen *lg = sl->lg;
	enum session_state st = session_state(sl->s);
	struct session_keys k;

	if (st == SESSION_KEYS_READY && !session_take_keys(sl->s, &k)) {
		lg->rekeys += k.is_reneg;
		OPENSSL_cleanse(&k, sizeof(k));
		(void)session_take_retired(sl->s);
		if (sl->st == SLOT_HANDSHAKE)
			slot_established(sl, now);
	}
	if (st == SESSION_FAILED || st == SESSION_RESTART) {
		if (sl->st == SLOT_HANDSHAKE) {
			slot_fail(sl, st == SESSION_FAILED ? FAIL_FATAL : FAIL_RESTART);
			return;
		}
		if (sl->st == SLOT_HELD) {
			lg->held--;
			lg->lost++;
		} else if (sl->st == SLOT_CLOSING) {
			lg->closing--;
		}
		slot_release(sl);
		return;
	}
	if (sl->st == SLOT_HANDSHAKE && now >= sl->deadline_ns) {
		slot_fail(sl, FAIL_TIMEOUT);
		return;
	}
	if (sl->st == SLOT_CLOSING && (session_idle(sl->s) || now >= sl->deadline_ns)) {
		lg->closing--;
		lg->exit_unacked += !session_idle(sl->s);
		slot_release(sl);
		return;
	}
	if (sl->st == SLOT_HELD && now >= sl->leave_ns) {
		lg->held--;
		lg->left++;
		slot_leave(sl, now);
		if (sl->st == SLOT_FREE)
			return;
	}
	sl->next_ns = session_next_timeout(sl->s, now);
	if (sl->st == SLOT_HANDSHAKE || sl->st == SLOT_CLOSING)
		sl->next_ns = min64(sl->next_ns, sl->deadline_ns);
	if (sl->st == SLOT_HELD)
		sl->next_ns = min64(sl->next_ns, sl->leave_ns);
	lg->next_ns = min64(lg->next_ns, sl->next_ns);
}

/* A fresh socket (new source port) and a fresh session id on a free slot. */
static int slot_begin(struct loadgen *lg, int64_t now)
{
	struct slot *sl = &lg->slots[lg->free_idx[--lg->nfree]];
	struct epoll_event ev = { .events = EPOLLIN };

	options_pull_reset(&sl->o);
	sl->fd = socket(lg->srv.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ev.data.ptr = sl;
	if (sl->fd < 0 || loadgen_bind(lg, sl->fd) || connect(sl->fd, (struct sockaddr *)&lg->srv, lg->srv_len) ||
	    epoll_ctl(lg->ep, EPOLL_CTL_ADD, sl->fd, &ev)) {
		log_warn("loadgen: socket");
		lg->started++;
		lg->inflight++;
		slot_fail(sl, FAIL_SOCKET);
		return -1;
	}
	sl->st = SLOT_HANDSHAKE;
	sl->start_ns = now;
	sl->deadline_ns = now + (int64_t)lg->hs_timeout * NSEC_PER_SEC;
	lg->started++;
	lg->inflight++;
	if (session_start(sl->s, now)) {
		slot_fail(sl, FAIL_FATAL);
		return -1;
	}
	slot_check(sl, now);
	return 0;
}

/*
 * A slot still waiting for its EXIT's ack is given up when a handshake needs it: a
 * server that never acks the EXIT must not throttle the handshake rate (2 * -c slots).
 */
static bool loadgen_reclaim(struct loadgen *lg)
{
	for (unsigned int i = 0; lg->closing && i < lg->nslots; i++) {
		if (lg->slots[i].st == SLOT_CLOSING) {
			lg->closing--;
			lg->exit_unacked++;
			slot_release(&lg->slots[i]);
			return true;
		}
	}
	return false;
}

/* Keeps -c handshakes in flight until -n were started. */
static void loadgen_fill(struct loadgen *lg, int64_t now)
{
	while (lg->started < lg->total && lg->inflight < lg->conc &&
	       (lg->nfree || loadgen_reclaim(lg)))
		(void)slot_begin(lg, now);
}

static void slot_rx(struct slot *sl, int64_t now)
{
	struct loadgen *lg = sl->lg;
	uint8_t *buf = lg->rx_buf;

	for (int i = 0; i < LOADGEN_RX_BUDGET && sl->st != SLOT_FREE; i++) {
		ssize_t n = recv(sl->fd, buf, sizeof(lg->rx_buf), 0);
		uint8_t op;

		if (n < 0) {
			/* ECONNREFUSED: nothing listens (yet); the session retransmits. */
			if (errno != EAGAIN && errno != EINTR)
				lg->rx_errs++;
			break;
		}
		if (n == 0)
			continue;
		op = proto_opcode(buf[0]);
		if (op == P_DATA_V1 || op == P_DATA_V2) {
			lg->rx_data++;	/* server pings: the data channel is not run */
			continue;
		}
		lg->rx_ctrl++;
		session_input(sl->s, buf, (size_t)n, now);
	}
	if (sl->st != SLOT_FREE)
		slot_check(sl, now);
}

/* Runs the due timers; the earliest timer of all slots is found again. */
static void loadgen_timers(struct loadgen *lg, int64_t now)
{
	lg->next_ns = INT64_MAX;
	for (unsigned int i = 0; i < lg->nslots; i++) {
		struct slot *sl = &lg->slots[i];

		if (sl->st == SLOT_FREE)
			continue;
		if (sl->next_ns <= now) {
			session_tick(sl->s, now);
			slot_check(sl, now);
		} else {
			lg->next_ns = min64(lg->next_ns, sl->next_ns);
		}
	}
	if (lg->next_ns < now + LOADGEN_TIMER_MIN_NS)
		lg->next_ns = now + LOADGEN_TIMER_MIN_NS;
}

/* One epoll round, sleeping until @until at the latest. */
static void loadgen_poll(struct loadgen *lg, int64_t until)
{
	struct epoll_event *evs = lg->evs;
	int64_t now = clock_mono_ns(), wake = min64(lg->next_ns, until);
	int tmo = wake <= now ? 0 : (int)min64((wake - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC,
					       1000);
	int n = epoll_wait(lg->ep, evs, LOADGEN_EVENTS_MAX, tmo);

	now = clock_mono_ns();
	for (int i = 0; i < n; i++) {
		struct slot *sl = evs[i].data.ptr;

		/* A slot released earlier in this batch has no socket any more. */
		if (sl->st != SLOT_FREE)
			slot_rx(sl, now);
	}
	if (now >= lg->next_ns)
		loadgen_timers(lg, now);
}

/* Handshake phase: until -n were resolved, or -t / a signal. */
void loadgen_run(struct loadgen *lg, int64_t end_ns)
{
	lg->next_ns = INT64_MAX;
	lg->t0_ns = clock_mono_ns();
	while (!loadgen_stop && clock_mono_ns() < end_ns) {
		loadgen_fill(lg, clock_mono_ns());
		if (lg->started == lg->total && lg->inflight == 0) {
			if (!lg->hs_end_ns)
				lg->hs_end_ns = clock_mono_ns();
			if (!lg->hold && lg->closing == 0)
				break;
		}
		if (lg->hold && lg->hs_end_ns)
			break;
		loadgen_poll(lg, end_ns);
	}
	if (!lg->hs_end_ns)
		lg->hs_end_ns = clock_mono_ns();
}

/* --hold: say so on stdout, then keep answering the control channel until told. */
void loadgen_hold(struct loadgen *lg, int64_t end_ns)
{
	printf("ready held=%u failed=%u\n", lg->held,
	       lg->fails[FAIL_TIMEOUT] + lg->fails[FAIL_RESTART] + lg->fails[FAIL_FATAL] +
	       lg->fails[FAIL_SOCKET]);
	fflush(stdout);
	while (!loadgen_stop && clock_mono_ns() < end_ns) {
		/* --leave-after: a slot a session left takes a new one. */
		while (lg->leave_after && lg->nfree && !loadgen_stop)
			(void)slot_begin(lg, clock_mono_ns());
		loadgen_poll(lg, end_ns);
	}
}

/* EXIT to every established session, then wait (bounded) for the acks. */
void loadgen_shutdown(struct loadgen *lg)
{
	int64_t now = clock_mono_ns(), end = now + LOADGEN_EXIT_WAIT_NS;

	for (unsigned int i = 0; i < lg->nslots; i++) {
		struct slot *sl = &lg->slots[i];

		if (sl->st == SLOT_HANDSHAKE) {
			lg->inflight--;	/* reported as unfinished */
			slot_release(sl);
		} else if (sl->st == SLOT_HELD) {
			lg->held--;
			if (session_send_exit(sl->s, now)) {
				sl->st = SLOT_CLOSING;
				sl->deadline_ns = end;
				lg->closing++;
				slot_check(sl, now);
			} else {
				slot_release(sl);
			}
		}
	}
	loadgen_stop = 0;
	while (lg->closing && !loadgen_stop && clock_mono_ns() < end + NSEC_PER_MSEC)
		loadgen_poll(lg, end + NSEC_PER_MSEC);
}

void loadgen_free(struct loadgen *lg)
{
	for (unsigned int i = 0; lg->slots && i < lg->nslots; i++) {
		struct slot *sl = &lg->slots[i];

		if (!sl->lg)
			continue;	/* setup stopped before this slot */
		if (sl->fd >= 0)
			close(sl->fd);
		session_free(sl->s);
		options_free(&sl->o);
	}
	for (unsigned int i = 0; i < lg->linger_n; i++)
		close(lg->linger[(lg->linger_head + i) % lg->linger_cap]);
	if (lg->ep >= 0)
		close(lg->ep);
	free(lg->linger);
	free(lg->slots);
	free(lg->free_idx);
	free(lg->lat_ns);
}
