/*
 * client.c - owns client mode (`client`, or tls-client + pull): the TLS
 * control session of ctrl/client/session.c over the data plane's control rings,
 * the UDP socket connected to the server (a reconnect replaces it), the
 * data keys handed to the pipeline, keepalive, the connect-retry back-off,
 * the reconnect and the cc-exit shutdown. What a push turns into system
 * state (addresses, routes, scripts, DNS) and its undo log are in
 * client_net.c.
 *
 * Remote failover, as stock 2.6 for UDP: the connection entries (one per
 * `remote` or <connection>, shuffled once by remote-random) are tried in
 * order, wrapping around after the last. A failed attempt (server-poll-
 * timeout, hand-window, TLS error), ping-restart, a server's RESTART or
 * SIGUSR1 moves to the next entry, except that the first restart after the
 * tunnel came up tries the same entry again (stock's no_advance) unless the
 * RESTART said [N]; SIGHUP starts over at the first entry. Each attempt
 * resolves its entry's host again and uses the entry's own settings
 * (options o->conn_cur; ctrl/client/session.c its control channel wrapping).
 *
 * Thread: ctrl only. main.c owns the event loop, the TUN device and the
 * data plane; it calls in through client_mode_ops (ctrl/mode.h).
 *
 * Timers (checked by client_run_once and client_second, reported by
 * client_next_timeout):
 *   session timers      handshake, retransmits, renegotiation (session.c)
 *   restart_at_ns       reconnect after the connect-retry pause, or at once
 *                       on SIGUSR1/SIGHUP; 0: none pending
 *   poll_deadline_ns    server-poll-timeout: no answer from this entry's
 *                       server by then, try the next at once
 *   exit_deadline_ns    SIGTERM: wait for the EXIT ack until then
 *   keepalive (1 s)     ping after `ping` idle seconds; ping-restart or
 *                       ping-exit after `ping-restart` silent seconds
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "client_int.h"
#include "../proto/handover.h"
#include "../config/options.h"
#include "../mode.h"
#include "../../io/pipeline.h"
#include "../config/runcfg.h"
#include "session.h"

#define NS_PER_SEC	1000000000LL

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


/*
 * Resolves @host (@af: AF_UNSPEC, or what proto udp4/udp6 asks for), then
 * the local side in the family the remote resolved to, and opens a UDP
 * socket connected to the remote. Returns the fd or -errno (logged).
 */
static int udp_open_to(const char *host, uint16_t port, int af, const char *lhost,
		       uint16_t lport, union sockaddr_any *remote_out)
{
	union sockaddr_any local, remote;
	socklen_t llen = 0, rlen = 0;
	int err, fd;

	err = resolve(host, port, af, &remote, &rlen);
	if (err) {
		log_warnx("udp: cannot resolve remote '%s'", host);
		return err;
	}
	err = resolve(lhost, lport, remote.sa.sa_family, &local, &llen);
	if (err) {
		log_warnx("udp: cannot resolve local '%s'", lhost ? lhost : "*");
		return err;
	}
	*remote_out = remote;
	fd = udp_open(&local, llen, &remote, rlen);
	if (fd < 0) {
		errno = -fd;
		log_warn("udp: cannot open socket %s:%u -> %s:%u", lhost ? lhost : "*", lport,
			 host, port);
		return fd;
	}
	log_info("udp: socket %s:%u connected to %s:%u", lhost ? lhost : "*", lport, host, port);
	return fd;
}

int client_udp_open(const struct runcfg *rc, union sockaddr_any *remote_out)
{
	return udp_open_to(rc->remote_host, rc->remote_port, AF_UNSPEC, rc->local_host,
			   rc->local_port, remote_out);
}

/* The connection entry in use. */
static const struct options_conn *client_ce(const struct client *c)
{
	const struct options *o = c->rc->opts;

	return &o->conns.v[o->conn_cur];
}

/* What the client runs: UDP to a remote (runcfg warned about the others). */
static bool client_conn_usable(const struct options_conn *ce)
{
	return ce->remote && ce->proto == OPT_PROTO_UDP;
}

/*
 * On to the next usable entry, the first after the last. Every entry moved
 * to counts as an attempt, skipped ones too (as stock's disabled entries).
 */
static void client_conn_advance(struct client *c)
{
	struct options *o = c->rc->opts;

	for (size_t i = 0; i < o->conns.n; i++) {
		o->conn_cur = (o->conn_cur + 1) % o->conns.n;
		c->attempts++;
		if (client_conn_usable(client_ce(c)))
			return;
	}
}

/*
 * The entry for the next attempt, as stock's next_connection_entry: the one
 * that just came up once more (no_advance), else the next; SIGHUP (stock
 * reads the configuration again) starts over at the first.
 */
static void client_conn_next(struct client *c)
{
	struct options *o = c->rc->opts;

	if (c->restart_first) {
		c->restart_first = false;
		c->no_advance = false;
		c->attempts = 0;
		o->conn_cur = o->conns.n - 1;
		client_conn_advance(c);
	} else if (c->no_advance) {
		c->no_advance = false;
	} else {
		client_conn_advance(c);
	}
}

/* Stock's form of an address: [AF_INET]198.18.0.1:1194, [AF_INET6]2001:db8::1:1194. */
static void client_addr_str(const union sockaddr_any *sa, char *buf, size_t len)
{
	bool v6 = sa->sa.sa_family == AF_INET6;
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(sa->sa.sa_family, v6 ? (const void *)&sa->in6.sin6_addr :
		  (const void *)&sa->in4.sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "[%s]%s:%u", v6 ? "AF_INET6" : "AF_INET", ip,
		 ntohs(v6 ? sa->in6.sin6_port : sa->in4.sin_port));
}

/*
 * The socket to the entry in use, its host resolved again (DNS may have
 * changed; the socket takes the family it resolves to) and bound as the
 * entry says. An entry that gets no socket (no such name, no route) is a
 * failed attempt: the next ones are tried at once, each once.
 */
static int client_udp_setup(struct client *c)
{
	const struct options *o = c->rc->opts;
	size_t first = o->conn_cur;
	char addr[INET6_ADDRSTRLEN + 24];

	for (;;) {
		const struct options_conn *ce = client_ce(c);
		uint16_t lport = ce->has_local_port || ce->bind_local ? ce->local_port : 0;

		c->udp_fd = udp_open_to(ce->remote, ce->remote_port, ce->af, ce->local, lport,
					&c->remote);
		if (c->udp_fd >= 0)
			break;
		client_conn_advance(c);
		if (o->conn_cur == first)
			return c->udp_fd;
	}
	client_addr_str(&c->remote, addr, sizeof(addr));
	log_info("Attempting to establish connection with %s (connection %zu of %zu: remote %s %u)",
		 addr, o->conn_cur + 1, o->conns.n, client_ce(c)->remote,
		 client_ce(c)->remote_port);
	return c->udp_fd;
}

/* session_io.send: one control datagram to udp_tx (the socket is connected). */
static int client_ctl_send(void *arg, const uint8_t *buf, size_t len)
{
	struct client *c = arg;

	return pipeline_ctrl_send(c->pl, 0, NULL, 0, buf, len);
}

/*
 * Reconnect pause, as stock's socket_restart_pause with the entry in use's
 * --connect-retry n [max]: n seconds, doubling once each entry of the list
 * was tried five times since the tunnel was last up, capped at max (default
 * 300); plus up to 25% jitter so many clients of one server do not retry
 * in step.
 */
static void client_restart_later(struct client *c, int64_t now, unsigned int backoff_s)
{
	const struct options_conn *ce = client_ce(c);
	int backoff = (int)(c->attempts / c->rc->opts->conns.n) - 4;
	uint64_t sec = ce->connect_retry, pause_ms;

	if (backoff > 0)
		sec = MAX(sec, 1) << MIN(backoff, 15);
	/* A server's AUTH_FAILED,TEMP[backoff N] asks for at least N s (2.6). */
	sec = MAX(sec, backoff_s);
	if (sec > ce->connect_retry_max)
		sec = ce->connect_retry_max;
	pause_ms = sec * 1000;
	pause_ms += pause_ms / 4 ? (uint64_t)random() % (pause_ms / 4 + 1) : 0;
	c->restart_at_ns = now + (int64_t)pause_ms * NSEC_PER_MSEC;
	log_info("Restart pause, %.1f second(s) (attempt %u)", pause_ms / 1000.0, c->attempts);
}

/*
 * A renegotiated key: publish its slot next to the old ones, which keep
 * decrypting; handover.c moves sending to it when the server is ready and
 * retires the old keys once the server left them. A failure here is a
 * reconnect, like a failed handshake.
 */
static int client_reneg_install(struct client *c, struct session_keys *k)
{
	int err = pipeline_key_install(c->pl, 0, k->key_id, k->cipher, k->key2);

	OPENSSL_cleanse(k->key2, sizeof(k->key2));
	if (err) {
		errno = err < 0 ? -err : EINVAL;
		log_warn("pipeline: cannot install the renegotiated keys (key_id %u)", k->key_id);
		client_restart_later(c, clock_mono_ns(), 0);
		return 0;
	}
	handover_install(&c->ho, k->key_id, clock_mono_ns());
	log_info("TLS: new session key installed, key_id %u", k->key_id);
	return 0;
}

static int client_keys_install(struct client *c)
{
	struct session_keys k;
	int err;

	err = session_take_keys(c->sess, &k);
	if (!err && k.is_reneg)
		return client_reneg_install(c, &k);
	err = err ?: client_apply(c);
	if (!err && !c->peer_added) {
		err = pipeline_peer_add(c->pl, 0, k.tx_peer_id, NULL, 0);
		c->peer_added = !err;
	} else if (!err && pipeline_peer_tx_peer_id(c->pl, 0) != k.tx_peer_id) {
		log_warnx("WARNING: the server changed our peer-id; still sending %u",
			  pipeline_peer_tx_peer_id(c->pl, 0));
	}
	if (!err) {
		uint8_t comp = runcfg_comp(c->rc->opts);

		if (c->rc->opts->comp == OPT_COMP_LZO)
			log_warnx("WARNING: LZO is not supported: sending uncompressed, "
				  "dropping LZO-compressed packets");
		pipeline_peer_set_comp(c->pl, 0, comp);
	}
	if (!err) {
		/* mssfix counts the pushed compression framing and peer-id, as stock does. */
		uint16_t v4, v6;

		runcfg_mss(c->rc->opts, c->remote.sa.sa_family, k.tx_peer_id != PEER_ID_NONE, &v4,
			   &v6);
		pipeline_set_mss(c->pl, v4, v6);
	}
	err = err ?: pipeline_key_install(c->pl, 0, k.key_id, k.cipher, k.key2);
	OPENSSL_cleanse(k.key2, sizeof(k.key2));
	if (err) {
		errno = err < 0 ? -err : EINVAL;
		log_warn("pipeline: cannot install the data channel keys");
		return err;
	}
	handover_reset(&c->ho);
	handover_install(&c->ho, k.key_id, clock_mono_ns());
	c->up_ns = clock_mono_ns();
	c->tunnel_up = true;
	c->attempts = 0;
	c->no_advance = true;
	log_info("Initialization Sequence Completed");
	return 0;
}

/* Acts on the session's state after it ran. */
static void client_check(struct client *c, int64_t now)
{
	unsigned int backoff = 0;

	/* Data keys follow the server (handover.c), not the control states. */
	(void)session_take_retired(c->sess);
	switch (session_state(c->sess)) {
	case SESSION_KEYS_READY:
		if (client_keys_install(c)) {
			c->exit_status = 1;
			c->stopping = true;
		}
		break;
	case SESSION_FAILED:
		log_warnx("control channel failed, exiting");
		c->exit_status = 1;
		c->stopping = true;
		break;
	case SESSION_RESTART:
		/* AUTH_FAILED,TEMP: the same entry again unless it said advance (2.6). */
		if (session_take_auth_temp(c->sess, &backoff))
			c->no_advance = true;
		if (session_take_next_remote(c->sess))
			c->no_advance = false;
		if (!c->restart_at_ns)
			client_restart_later(c, now, backoff);
		break;
	default:
		break;
	}
}

/* Keepalive: ping when we sent nothing for `ping` s; restart after ping-restart. */
static void client_keepalive(struct client *c, int64_t now)
{
	const struct options *o = c->rc->opts;
	struct pipeline_peer_stats ps;
	int64_t last_tx, last_rx;

	if (!c->tunnel_up || session_state(c->sess) != SESSION_ACTIVE || !c->peer_added ||
	    !pipeline_peer_stats(c->pl, 0, &ps))
		return;
	last_tx = ps.last_tx_ns;
	last_rx = ps.last_rx_ns;
	if (last_tx < c->up_ns)
		last_tx = c->up_ns;
	if (last_rx < c->up_ns)
		last_rx = c->up_ns;
	if (o->ping && now - last_tx >= (int64_t)o->ping * NS_PER_SEC)
		(void)pipeline_send_ping(c->pl, 0);
	if (o->ping_rec_timeout && !c->restart_at_ns &&
	    now - last_rx >= (int64_t)o->ping_rec_timeout * NS_PER_SEC) {
		if (o->ping_rec_action == OPT_PING_EXIT) {
			log_warnx("Inactivity timeout (--ping-exit), exiting");
			c->exit_status = 1;
			c->stopping = true;
			return;
		}
		log_warnx("Inactivity timeout (--ping-restart), restarting");
		client_restart_later(c, now, 0);
	}
}

/* Runs the pending reconnect: pushed options forgotten, fresh handshake. */
/*
 * A reconnect comes from a fresh UDP port, as stock's does: a stock server
 * keeps the old address/port's instance until it times out and ignores a
 * new handshake from it meanwhile. The data threads stop while the socket
 * changes under them (the socket is registered with their rings); the old
 * peer goes with its keys, and packets sealed with them are dropped. The TUN
 * device, its addresses and routes stay (client_apply decides after the
 * push). The address is resolved again, as stock does.
 */
static int client_udp_renew(struct client *c)
{
	union sockaddr_any local;
	socklen_t llen = sizeof(local);
	int err;

	pipeline_stop(c->pl);
	if (c->peer_added) {
		pipeline_peer_del(c->pl, 0);
		c->peer_added = false;
	}
	if (c->udp_fd >= 0)
		close(c->udp_fd);
	c->udp_fd = -1;
	if (client_udp_setup(c) < 0)
		return -EAGAIN;	/* the data plane stays stopped until the next attempt */
	err = pipeline_link_set_fd(c->pl, 0, c->udp_fd);
	err = err ?: pipeline_start(c->pl);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot restart the data plane on the new socket");
		return err;
	}
	if (!getsockname(c->udp_fd, &local.sa, &llen))
		log_info("udp: reconnecting from local port %u",
			 ntohs(local.sa.sa_family == AF_INET6 ? local.in6.sin6_port :
			       local.in4.sin_port));
	return 0;
}

/* This attempt's server-poll-timeout, if the entry has one. */
static void client_poll_arm(struct client *c, int64_t now)
{
	unsigned int spt = client_ce(c)->server_poll_timeout;

	c->poll_deadline_ns = spt ? now + (int64_t)spt * NS_PER_SEC : 0;
}

/*
 * server-poll-timeout: not a single packet from the server of this entry
 * in time. As stock, the next entry is tried at once, without the pause.
 */
static void client_poll_check(struct client *c, int64_t now)
{
	if (!c->poll_deadline_ns || now < c->poll_deadline_ns)
		return;
	c->poll_deadline_ns = 0;
	if (c->restart_at_ns || session_state(c->sess) != SESSION_RESET_SENT)
		return;
	log_info("Server poll timeout, restarting");
	c->restart_at_ns = now;
}

static void client_restart_run(struct client *c, int64_t now)
{
	const struct options *o = c->rc->opts;
	int err;

	if (!c->restart_at_ns || now < c->restart_at_ns)
		return;
	c->restart_at_ns = 0;
	c->poll_deadline_ns = 0;
	client_conn_next(c);
	if (o->connect_retry_max &&
	    c->attempts > (uint64_t)o->conns.n * o->connect_retry_max) {
		log_warnx("All connections have been connect-retry-max (%u) times unsuccessful, "
			  "exiting", o->connect_retry_max);
		c->exit_status = 1;
		c->stopping = true;
		return;
	}
	err = client_udp_renew(c);
	if (err == -EAGAIN) {
		client_restart_later(c, now, 0);
		return;
	}
	if (err) {
		c->exit_status = 1;
		c->stopping = true;
		return;
	}
	options_pull_reset(c->rc->opts);
	if (session_start(c->sess, now)) {
		log_warnx("control channel: cannot restart the session");
		c->exit_status = 1;
		c->stopping = true;
		return;
	}
	client_poll_arm(c, now);
}

/* ---- the mode operations main.c calls (ctrl/mode.h) ------------------ */

/* remote-random: the list shuffled once, before the first attempt (stock's init_connection_list). */
static void client_conns_shuffle(struct options *o)
{
	for (size_t i = o->conns.n; i > 1; i--) {
		size_t j = (size_t)random() % i;
		struct options_conn t = o->conns.v[i - 1];

		o->conns.v[i - 1] = o->conns.v[j];
		o->conns.v[j] = t;
	}
}

/* Before the TUN device: a configured `ifconfig` goes into the client's undo log. */
static int client_create(void **out, struct runcfg *rc)
{
	struct client *c = calloc(1, sizeof(*c));
	struct options *o = rc->opts;

	if (!c)
		return -ENOMEM;
	c->rc = rc;
	c->udp_fd = -1;
	if (o->remote_random)
		client_conns_shuffle(o);
	/* The first usable entry, counted as the first attempt as stock counts it. */
	o->conn_cur = o->conns.n - 1;
	client_conn_advance(c);
	*out = c;
	return 0;
}

static int client_tun_ifconfig(void *m, const char *ifname)
{
	struct client *c = m;
	const struct runcfg *rc = c->rc;

	return client_addr4_apply(c, ifname, rc->ifconfig_local, rc->ifconfig_second,
				  rc->topology_subnet);
}

/* The socket to the first usable remote; the client owns it (a reconnect replaces it). */
static int client_udp_open_first(void *m)
{
	return client_udp_setup(m);
}

/* One peer (the server, slot 0), the client's key halves. */
static void client_pipeline_cfg(void *m, struct pipeline_cfg *pc)
{
	(void)m;
	pc->is_server = false;
	pc->single_peer = true;
	pc->client_to_client = false;
	pc->max_peers = 1;
}

/* The peer and its keys come with the PUSH_REPLY (client_keys_install). */
static int client_attach(void *m, struct pipeline *pl)
{
	struct client *c = m;

	c->pl = pl;
	return 0;
}

static int client_start(void *m, const char *ifname, int64_t now)
{
	struct client *c = m;
	struct session_io io = { .send = client_ctl_send, .arg = c };
	char err[512];
	int rc;

	handover_init(&c->ho, c->pl, 0, c->rc->opts->hand_window, c->rc->opts->tran_window,
		      c->rc->opts->test_reneg_ovpn3 ? (c->rc->opts->reneg_sec ?: 3600) : 0);
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	rc = session_create(&c->sess, c->rc->opts, &io, err, sizeof(err));
	if (rc) {
		log_warnx("%s", err);
		return rc;
	}
	rc = session_start(c->sess, now);
	if (rc)
		log_warnx("control channel: cannot start the session");
	client_poll_arm(c, clock_mono_ns());
	return rc;
}

static void client_input(void *m, const struct pkt *p, int64_t now)
{
	struct client *c = m;

	session_input(c->sess, p->data, p->len, now);
}

/* The data keys' hand-over, before the session's timers may renegotiate. */
static void client_handover(struct client *c, int64_t now)
{
	if (c->tunnel_up && c->peer_added && !c->restart_at_ns)
		handover_tick(&c->ho, session_chan(c->sess), now, "");
}

static void client_run_once(void *m, int64_t now)
{
	struct client *c = m;

	client_handover(c, now);
	session_tick(c->sess, now);
	client_check(c, now);
	client_poll_check(c, now);
	client_restart_run(c, now);
	if (c->exit_deadline_ns && (session_idle(c->sess) || now >= c->exit_deadline_ns))
		c->stopping = true;
}

static void client_second(void *m, int64_t now)
{
	client_handover(m, now);
	client_keepalive(m, now);
}

static int64_t client_next_timeout(void *m, int64_t now)
{
	struct client *c = m;
	int64_t next = session_next_timeout(c->sess, now);

	if (c->restart_at_ns && c->restart_at_ns < next)
		next = c->restart_at_ns;
	if (c->poll_deadline_ns && c->poll_deadline_ns < next)
		next = c->poll_deadline_ns;
	if (c->exit_deadline_ns && c->exit_deadline_ns < next)
		next = c->exit_deadline_ns;
	return next;
}

/* SIGTERM/SIGINT: EXIT on the control channel (cc-exit), then done once acked. */
static void client_stop(struct client *c, int64_t now)
{
	unsigned int een = client_ce(c)->explicit_exit_notify;

	if (c->exit_deadline_ns || !session_send_exit(c->sess, now)) {
		if (een && c->tunnel_up && !(c->rc->opts->protocol_flags & OPT_PROTO_CC_EXIT))
			log_warnx("WARNING: explicit-exit-notify without cc-exit is not sent "
				  "(OCC_EXIT not implemented)");
		c->stopping = true;
		return;
	}
	c->exit_deadline_ns = now + (een ? (int64_t)een : 1) * NS_PER_SEC;
}

/*
 * SIGUSR1/SIGHUP: reconnect now from a fresh UDP port, TUN kept. SIGUSR1
 * moves to the next remote unless this one just came up; @from_first
 * (SIGHUP) starts over at the first remote.
 */
static void client_restart(struct client *c, int64_t now, bool from_first)
{
	c->restart_at_ns = now;
	c->restart_first |= from_first;
}

static void client_signal(void *m, int signo, int64_t now)
{
	struct client *c = m;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		client_stop(c, now);
		break;
	case SIGHUP:
	case SIGUSR1:
		log_info("%s[soft] received, process restarting",
			 signo == SIGHUP ? "SIGHUP" : "SIGUSR1");
		client_restart(c, now, signo == SIGHUP);
		break;
	default:
		break;
	}
}

/* A failure, ping-exit, connect-retry-max, or the EXIT was acknowledged. */
static bool client_done(void *m, int *status)
{
	struct client *c = m;

	if (c->stopping)
		*status = c->exit_status;
	return c->stopping;
}

/* user/group wait for the first push's addresses and routes (the tunnel came up once). */
static bool client_was_up(void *m)
{
	const struct client *c = m;

	return c->tunnel_up;
}

/* The session is established (or none was started). */
static const char *client_state(void *m)
{
	const struct client *c = m;

	if (c->sess && session_auth_state(c->sess))
		return session_auth_state(c->sess);	/* the server authenticates out of band */
	return !c->sess || session_state(c->sess) == SESSION_ACTIVE ? "CONNECTED" : "CONNECTING";
}

/* key=value: the session's counters. */
static void client_write_status(void *m, enum status_fmt fmt, FILE *f)
{
	struct client *c = m;

	if (fmt == STATUS_FMT_KV && c->sess)
		session_write_stats(c->sess, f);
}

/* The peer and its keys go with the data plane. */
static void client_mode_stop(void *m)
{
	(void)m;
}

/* After the data plane is gone: session, socket, routes outside the TUN, --down. */
static void client_free(void *m)
{
	struct client *c = m;

	if (!c)
		return;
	session_free(c->sess);
	if (c->udp_fd >= 0)
		close(c->udp_fd);
	client_routes_remove(c);
	client_down(c);
	free(c->applied);
	free(c->applied_sig);
	free(c);
}

const struct mode_ops client_mode_ops = {
	.name = "client",
	.has_ovpn_status = false,
	.create = client_create,
	.tun_ifconfig = client_tun_ifconfig,
	.udp_open = client_udp_open_first,
	.pipeline_cfg = client_pipeline_cfg,
	.attach = client_attach,
	.start = client_start,
	.input = client_input,
	.run = client_run_once,
	.next_timeout = client_next_timeout,
	.second = client_second,
	.signal = client_signal,
	.done = client_done,
	.initialized = client_was_up,
	.state = client_state,
	.write_status = client_write_status,
	.stop = client_mode_stop,
	.free = client_free,
};
