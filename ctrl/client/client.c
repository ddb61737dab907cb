/*
 * client.c - owns client mode (`client`, or tls-client + pull): the TLS
 * control session of ctrl/client/session.c over the data plane's control rings,
 * the UDP socket connected to the server (a reconnect replaces it), the
 * data keys handed to the pipeline, keepalive, the connect-retry back-off,
 * the reconnect and the cc-exit shutdown. What a push turns into system
 * state (addresses, routes, scripts, DNS) and its undo log are in
 * client_net.c.
 *
 * Remote failover and the socket are in client_remote.c.
 *
 * State (ctrl/state.h), as people and tools see it: CONNECTING, WAIT, AUTH,
 * AUTH_PENDING, GET_CONFIG follow the session; ASSIGN_IP, ADD_ROUTES and
 * CONNECTED the first push's application; STALLED when no authenticated
 * packet came for longer than the keepalive interval; RECONNECTING with
 * the reason of every restart (stock's "SIGUSR1[soft,<reason>]" line);
 * EXITING with the reason of the exit, whose status tells a requested exit,
 * a configuration error, an authentication failure and giving up apart
 * (enum conn_exit).
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
#include <time.h>
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

/* session_io.send: one control datagram to udp_tx (the socket is connected). */
static int client_ctl_send(void *arg, const uint8_t *buf, size_t len)
{
	struct client *c = arg;

	return pipeline_ctrl_send(c->pl, 0, NULL, 0, buf, len);
}

static void client_restart_later(struct client *c, int64_t now, unsigned int backoff_s);
static void client_conn_refresh(struct client *c, int64_t now);

void client_state_set(struct client *c, enum conn_state st, const char *why)
{
	state_change(&c->ci, st, why, time(NULL));
}

/*
 * The connection ends for @why and another attempt follows: RECONNECTING,
 * stock's "SIGUSR1[soft,<why>]" line, then the pause (@at_once: none; a
 * signal or server-poll-timeout), at least @backoff_s long.
 */
static void client_reconnect(struct client *c, int64_t now, const char *why,
			     unsigned int backoff_s, bool at_once)
{
	if (strcmp(why, CONN_WHY_SIGUSR1) && strcmp(why, CONN_WHY_SIGHUP))
		log_info("SIGUSR1[soft,%s] received, process restarting", why);
	client_state_set(c, CONN_RECONNECTING, why);
	if (at_once)
		c->restart_at_ns = now;
	else
		client_restart_later(c, now, backoff_s);
}

/* The process leaves for @why with exit status @status (enum conn_exit). */
static void client_exit(struct client *c, const char *why, int status)
{
	client_state_set(c, CONN_EXITING, why);
	c->exit_status = status;
	c->stopping = true;
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
		client_reconnect(c, clock_mono_ns(), CONN_WHY_TLS_ERROR, 0, false);
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
	if (!err)
		client_state_set(c, CONN_ASSIGN_IP, CONN_WHY_NONE);
	err = err ?: client_apply(c);
	if (!err && !c->peer_added) {
		err = pipeline_peer_add(c->pl, 0, k.tx_peer_id, NULL, 0);
		c->peer_added = !err;
	} else if (!err && pipeline_peer_tx_peer_id(c->pl, 0) != k.tx_peer_id) {
		log_warnx("WARNING: the server changed our peer-id; still sending %u",
			  pipeline_peer_tx_peer_id(c->pl, 0));
	}
	if (!err)
		pipeline_peer_set_comp(c->pl, 0, runcfg_comp(c->rc->opts));
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
	client_state_set(c, CONN_CONNECTED, c->ci.reconnects ? "reconnected" : CONN_WHY_INIT);
	return 0;
}

/* Acts on the session's state after it ran. */
static void client_check(struct client *c, int64_t now)
{
	unsigned int backoff = 0;
	const char *why;

	/* Data keys follow the server (handover.c), not the control states. */
	(void)session_take_retired(c->sess);
	switch (session_state(c->sess)) {
	case SESSION_KEYS_READY:
		if (client_keys_install(c))
			client_exit(c, CONN_WHY_CONFIG, CONN_EXIT_ERROR);
		break;
	case SESSION_FAILED:
		why = session_end_reason(c->sess);
		log_warnx("control channel failed (%s), exiting", why);
		client_exit(c, why, !strcmp(why, CONN_WHY_AUTH_FAILURE) ? CONN_EXIT_AUTH :
			    !strcmp(why, CONN_WHY_CONFIG) ? CONN_EXIT_CONFIG : CONN_EXIT_ERROR);
		break;
	case SESSION_RESTART:
		/* AUTH_FAILED,TEMP: the same entry again unless it said advance (2.6). */
		if (session_take_auth_temp(c->sess, &backoff))
			c->no_advance = true;
		if (session_take_next_remote(c->sess))
			c->no_advance = false;
		if (!c->restart_at_ns)
			client_reconnect(c, now, session_end_reason(c->sess), backoff, false);
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
			client_exit(c, CONN_WHY_PING_EXIT, CONN_EXIT_GAVE_UP);
			return;
		}
		log_warnx("Inactivity timeout (--ping-restart), restarting");
		client_reconnect(c, now, CONN_WHY_PING_RESTART, 0, false);
	}
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
	client_reconnect(c, now, CONN_WHY_NO_RESPONSE, 0, true);
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
		client_exit(c, CONN_WHY_GAVE_UP, CONN_EXIT_GAVE_UP);
		return;
	}
	c->ci.reconnects++;
	client_state_set(c, CONN_CONNECTING, c->ci.reason);
	err = client_udp_renew(c);
	if (err == -EAGAIN) {
		client_state_set(c, CONN_RECONNECTING, CONN_WHY_NETWORK);
		client_restart_later(c, now, 0);
		return;
	}
	if (err) {
		client_exit(c, CONN_WHY_SEND_ERROR, CONN_EXIT_ERROR);
		return;
	}
	options_pull_reset(c->rc->opts);
	if (session_start(c->sess, now)) {
		log_warnx("control channel: cannot restart the session");
		client_exit(c, CONN_WHY_TLS_ERROR, CONN_EXIT_ERROR);
		return;
	}
	client_state_set(c, CONN_WAIT, CONN_WHY_NONE);
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
	client_state_set(c, CONN_CONNECTING, CONN_WHY_INIT);
	rc = session_start(c->sess, now);
	if (rc)
		log_warnx("control channel: cannot start the session");
	else
		client_state_set(c, CONN_WAIT, CONN_WHY_NONE);
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
	client_conn_refresh(c, now);
	if (c->exit_deadline_ns && (session_idle(c->sess) || now >= c->exit_deadline_ns))
		c->stopping = true;
}

static void client_second(void *m, int64_t now)
{
	client_handover(m, now);
	client_keepalive(m, now);
	client_conn_refresh(m, now);
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

	client_state_set(c, CONN_EXITING, CONN_WHY_SIGNAL);
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
	client_reconnect(c, now, from_first ? CONN_WHY_SIGHUP : CONN_WHY_SIGUSR1, 0, true);
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

/*
 * No authenticated packet for longer than the keepalive interval (`ping`
 * with half of it again as slack for a peer that pings only when idle, or
 * half of ping-restart without `ping`): STALLED; 0 if neither is set.
 */
static int64_t client_stall_ns(const struct options *o)
{
	if (o->ping)
		return (int64_t)MAX(o->ping * 3 / 2, o->ping + 2) * NS_PER_SEC;
	return (int64_t)o->ping_rec_timeout / 2 * NS_PER_SEC;
}

/*
 * The handshake's states follow the session; once up, CONNECTED or
 * STALLED follow the data plane's last authenticated packet. The rest of
 * the info (remote, addresses, bytes) is read now too.
 */
static void client_conn_refresh(struct client *c, int64_t now)
{
	const struct options *o = c->rc->opts;
	struct pipeline_peer_stats ps;
	int64_t stall = client_stall_ns(o);
	char a[INET6_ADDRSTRLEN];

	if (c->remote.sa.sa_family) {
		bool v6 = c->remote.sa.sa_family == AF_INET6;

		inet_ntop(c->remote.sa.sa_family, v6 ? (const void *)&c->remote.in6.sin6_addr :
			  (const void *)&c->remote.in4.sin_addr, a, sizeof(a));
		snprintf(c->ci.remote_ip, sizeof(c->ci.remote_ip), "%s", a);
		c->ci.remote_port = ntohs(v6 ? c->remote.in6.sin6_port : c->remote.in4.sin_port);
		snprintf(c->ci.remote, sizeof(c->ci.remote), v6 ? "[%s]:%u" : "%s:%u", a,
			 c->ci.remote_port);
	}
	snprintf(c->ci.local4, sizeof(c->ci.local4), "%s",
		 c->tunnel_up && o->ifconfig_local ? o->ifconfig_local : "");
	snprintf(c->ci.local6, sizeof(c->ci.local6), "%s",
		 c->tunnel_up && o->ifconfig_ipv6_local ? o->ifconfig_ipv6_local : "");
	if (c->peer_added && pipeline_peer_stats(c->pl, 0, &ps)) {
		c->ci.rx_bytes = ps.rx_bytes;
		c->ci.tx_bytes = ps.tx_bytes;
		if (ps.last_rx_ns)
			c->ci.last_auth_rx = time(NULL) - (time_t)((now - ps.last_rx_ns) / NS_PER_SEC);
	} else {
		ps.last_rx_ns = 0;
	}
	if (c->stopping || c->restart_at_ns || !c->sess || c->ci.state == CONN_EXITING ||
	    c->ci.state == CONN_RECONNECTING)
		return;
	switch (session_state(c->sess)) {
	case SESSION_RESET_SENT:
		client_state_set(c, CONN_WAIT, CONN_WHY_NONE);
		break;
	case SESSION_TLS:
	case SESSION_KM2:
		client_state_set(c, CONN_AUTH, CONN_WHY_NONE);
		break;
	case SESSION_PULL:
		client_state_set(c, session_auth_state(c->sess) ? CONN_AUTH_PENDING :
				 CONN_GET_CONFIG, CONN_WHY_NONE);
		break;
	case SESSION_ACTIVE:
		if (!c->tunnel_up || c->ci.state < CONN_CONNECTED)
			break;
		if (stall && now - MAX(ps.last_rx_ns, c->up_ns) > stall)
			client_state_set(c, CONN_STALLED, CONN_WHY_NO_RESPONSE);
		else if (c->ci.state == CONN_STALLED)
			client_state_set(c, CONN_CONNECTED, "traffic");
		break;
	default:
		break;
	}
}

static const struct conn_info *client_conn_info(void *m)
{
	struct client *c = m;

	client_conn_refresh(c, clock_mono_ns());
	return &c->ci;
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
	.conn_info = client_conn_info,
	.write_status = client_write_status,
	.stop = client_mode_stop,
	.free = client_free,
};
