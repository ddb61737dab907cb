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
#include <poll.h>
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
#include "killswitch.h"
#include "../proto/handover.h"
#include "../config/options.h"
#include "../mode.h"
#include "../../io/pipeline.h"
#include "../config/runcfg.h"
#include "../proto/km2.h"
#include "../proto/occ.h"
#include "session.h"

#define NS_PER_SEC	1000000000LL

/* session_io.send: one control datagram to udp_tx (the socket is connected). */
static int client_ctl_send(void *arg, const uint8_t *buf, size_t len)
{
	struct client *c = arg;

	return pipeline_ctrl_send(c->pl, 0, NULL, 0, buf, len);
}

static int client_ks_apply(struct client *c);

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
	snprintf(c->ci.cipher, sizeof(c->ci.cipher), "%s", dc_cipher_name(k.cipher));
	c->up_ns = clock_mono_ns();
	c->tunnel_up = true;
	c->attempts = 0;
	c->no_advance = true;
	log_info("Initialization Sequence Completed");
	client_state_set(c, CONN_CONNECTED, c->ci.reconnects ? "reconnected" : CONN_WHY_INIT);
	client_path_remember(c);
	/* A pushed block-ipv6 takes effect now. */
	if (c->rc->opts->block_ipv6 && client_ks_apply(c))
		log_warnx("block-ipv6: not applied");
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
		/* auth-retry nointeract|interact: try again with what we have (stock: SIGUSR1). */
		if (!strcmp(why, CONN_WHY_AUTH_FAILURE) &&
		    c->rc->opts->auth_retry != OPT_AUTH_RETRY_NONE) {
			if (!c->restart_at_ns)
				client_reconnect(c, now, why, 0, false);
			break;
		}
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

/*
 * inactive N [BYTES]: exit when the tunnel carried fewer than BYTES (any,
 * if 0) bytes in both directions over N seconds, as stock's --inactive
 * (pings do not count: they never reach the TUN device).
 */
static void client_inactive_check(struct client *c, int64_t now)
{
	const struct options *o = c->rc->opts;
	uint64_t in, out;

	if (!o->inactive || !c->tunnel_up)
		return;
	pipeline_tun_bytes(c->pl, &out, &in);
	if (!c->inactive_start_ns ||
	    in + out - c->inactive_bytes > (uint64_t)(o->inactive_bytes > 0 ? o->inactive_bytes : 0)) {
		c->inactive_start_ns = now;
		c->inactive_bytes = in + out;
		return;
	}
	if (now - c->inactive_start_ns >= (int64_t)o->inactive * NS_PER_SEC) {
		log_warnx("Inactivity timeout (--inactive), exiting");
		client_exit(c, CONN_WHY_INACTIVE, CONN_EXIT_GAVE_UP);
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

	if (!c->restart_at_ns || now < c->restart_at_ns || client_mgmt_wait(c, 1))
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
		/* resolv-retry: how long the remotes may stay unreachable (-1: for ever). */
		if (!c->unreachable_since_ns)
			c->unreachable_since_ns = now;
		if (o->resolv_retry >= 0 &&
		    now - c->unreachable_since_ns >= (int64_t)o->resolv_retry * NS_PER_SEC) {
			log_warnx("no remote could be reached for resolv-retry %d s, exiting",
				  o->resolv_retry);
			client_exit(c, CONN_WHY_GAVE_UP, CONN_EXIT_GAVE_UP);
			return;
		}
		client_state_set(c, CONN_RECONNECTING, CONN_WHY_NETWORK);
		client_restart_later(c, now, 0);
		return;
	}
	c->unreachable_since_ns = 0;
	c->no_remote = false;
	if (client_ks_apply(c)) {
		client_exit(c, CONN_WHY_CONFIG, CONN_EXIT_ERROR);
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
	c->nl_fd = -1;
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

/*
 * The socket to the first usable remote; the client owns it (a reconnect
 * replaces it). With no route to any remote yet (or no name resolving), a
 * placeholder socket lets the data plane start; the first attempt then
 * waits and retries as a reconnect does (resolv-retry bounds it).
 */
static int client_udp_open_first(void *m)
{
	struct client *c = m;
	int fd = client_udp_setup(c);

	if (fd >= 0)
		return fd;
	log_warnx("no remote can be reached yet; retrying (resolv-retry %s)",
		  c->rc->opts->resolv_retry < 0 ? "infinite" : "set");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	c->udp_fd = fd;
	c->no_remote = true;
	return fd;
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

/* The first attempt, once the management interface lets it go (0 while it waits). */
static int client_first_attempt(struct client *c, int64_t now)
{
	int rc;

	if (!c->start_pending || client_mgmt_wait(c, 0))
		return 0;
	c->start_pending = false;
	rc = session_start(c->sess, now);
	if (rc)
		log_warnx("control channel: cannot start the session");
	else
		client_state_set(c, CONN_WAIT, CONN_WHY_NONE);
	client_poll_arm(c, clock_mono_ns());
	return rc;
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
	client_path_start(c);
	if (client_ks_apply(c))
		return -EIO;
	client_state_set(c, CONN_CONNECTING, CONN_WHY_INIT);
	if (c->no_remote) {
		c->unreachable_since_ns = now;
		client_reconnect(c, now, CONN_WHY_NETWORK, 0, false);
		return 0;
	}
	c->start_pending = true;
	return client_first_attempt(c, now);
}

/* The netlink socket of the path watch: main.c wakes us when it is readable. */
static int client_event_fd(void *m)
{
	return client_path_fd(m);
}

static void client_input(void *m, const struct pkt *p, int64_t now)
{
	struct client *c = m;

	session_input(c->sess, p->data, p->len, now);
}

/*
 * An authenticated OCC message from the server (ctrl/proto/occ.h):
 * OCC_REQUEST gets our options string, OCC_EXIT is the server leaving
 * (stock: SIGUSR1 remote-exit). An OCC_REPLY is the answer to our probe;
 * the data plane already counted it as traffic.
 */
static void client_inband(void *m, const struct pkt *p, int64_t now)
{
	struct client *c = m;
	uint8_t buf[OCC_MAGIC_LEN + 1 + KM2_OPTIONS_MAX];
	int n;

	if (!c->peer_added)
		return;
	switch (occ_parse(p->data, p->len)) {
	case OCC_REQUEST:
		n = occ_build(buf, sizeof(buf), OCC_REPLY, session_occ_string(c->sess));
		if (n > 0)
			(void)pipeline_send_inband(c->pl, 0, buf, (size_t)n);
		break;
	case OCC_EXIT:
		if (!c->restart_at_ns && !c->stopping)
			client_reconnect(c, now, CONN_WHY_SERVER_EXIT, 0, false);
		break;
	default:
		break;
	}
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

	if (c->start_pending) {
		if (client_first_attempt(c, now))
			client_exit(c, CONN_WHY_TLS_ERROR, CONN_EXIT_ERROR);
		return;
	}
	client_handover(c, now);
	client_path_run(c, now);
	session_tick(c->sess, now);
	client_check(c, now);
	client_poll_check(c, now);
	client_restart_run(c, now);
	client_conn_refresh(c, now);
	/* An OCC_EXIT is not acknowledged: it goes out once a second until the deadline. */
	if (c->exit_deadline_ns && ((!c->occ_exit_only && session_idle(c->sess)) ||
				    now >= c->exit_deadline_ns))
		c->stopping = true;
}

/*
 * TCP: the server closed or reset the connection, or the link shut it on a
 * bad frame (io/tcp.c). The socket says so (the data threads read it; this
 * only polls). A fresh connection after the connect-retry pause, as stock's
 * "Connection reset, restarting".
 */
static void client_tcp_check(struct client *c, int64_t now)
{
	struct pollfd pf = { .fd = c->udp_fd, .events = POLLRDHUP };

	if (!c->tcp || c->udp_fd < 0 || c->restart_at_ns || c->stopping || c->start_pending)
		return;
	if (poll(&pf, 1, 0) <= 0 || !(pf.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return;
	log_warnx("Connection reset, restarting [0]");
	client_reconnect(c, now, CONN_WHY_CONN_RESET, 0, false);
}

static void client_second(void *m, int64_t now)
{
	client_tcp_check(m, now);
	client_handover(m, now);
	client_path_second(m, now);
	client_keepalive(m, now);
	client_inactive_check(m, now);
	client_conn_refresh(m, now);
}

static int64_t client_next_timeout(void *m, int64_t now)
{
	struct client *c = m;
	int64_t next = c->start_pending ? INT64_MAX : session_next_timeout(c->sess, now);

	/* While held, the management interface's command wakes ctrl, not a timer. */
	if (c->restart_at_ns && !c->held && c->restart_at_ns < next)
		next = c->restart_at_ns;
	if (c->poll_deadline_ns && c->poll_deadline_ns < next)
		next = c->poll_deadline_ns;
	if (c->exit_deadline_ns && c->exit_deadline_ns < next)
		next = c->exit_deadline_ns;
	return MIN(next, client_path_next(c));
}

/*
 * kill-switch / block-ipv6 (killswitch.c): the table follows the remote in
 * use, before the first packet to it leaves. A table that cannot be set is
 * fatal: fail-closed was asked for.
 */
static int client_ks_apply(struct client *c)
{
	const struct options *o = c->rc->opts;
	int rc;

	if (!o->kill_switch && !o->block_ipv6)
		return 0;
	rc = killswitch_apply(c->ifname, c->no_remote ? NULL : &c->remote, c->no_remote ? 0 : 1,
			      o->kill_switch, o->block_ipv6);
	if (rc) {
		log_warnx("kill-switch: cannot set the nftables table (is nft installed?)");
		return rc;
	}
	if (!c->ks_active)
		log_info("kill-switch: %s%s%s on %s", o->kill_switch ? "only the tunnel and the "
			 "server may be reached" : "", o->kill_switch && o->block_ipv6 ? "; " : "",
			 o->block_ipv6 ? "IPv6 blocked" : "", c->ifname);
	c->ks_active = true;
	return 0;
}

/* OCC_EXIT on the data channel (explicit-exit-notify without cc-exit); true if queued. */
static bool client_occ_exit(struct client *c)
{
	uint8_t buf[OCC_MAGIC_LEN + 1];
	int n = occ_build(buf, sizeof(buf), OCC_EXIT, NULL);

	if (n < 0 || pipeline_send_inband(c->pl, 0, buf, (size_t)n))
		return false;
	log_info("SENT OCC_EXIT");
	return true;
}

/* SIGTERM/SIGINT: EXIT on the control channel (cc-exit), then done once acked. */
static void client_stop(struct client *c, int64_t now)
{
	/* explicit-exit-notify is UDP's: over TCP the closed connection tells the server. */
	unsigned int een = c->tcp ? 0 : client_ce(c)->explicit_exit_notify;

	client_state_set(c, CONN_EXITING, CONN_WHY_SIGNAL);
	if (c->exit_deadline_ns || !session_send_exit(c->sess, now)) {
		/* A server without cc-exit learns it from OCC_EXIT on the data channel. */
		if (een && c->tunnel_up && c->peer_added && !c->exit_deadline_ns &&
		    client_occ_exit(c)) {
			c->exit_deadline_ns = now + (int64_t)MIN(een, 2u) * NS_PER_SEC;
			c->occ_exit_only = true;
			return;
		}
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
	client_path_stop(c);
	/* Fail-closed stays after anything but a requested exit (or sluice --kill-switch-off). */
	if (c->ks_active && c->rc->opts->kill_switch && c->exit_status)
		log_warnx("kill-switch: left in place (exit status %d); remove it with "
			  "'sluice --kill-switch-off %s'", c->exit_status, c->ifname);
	else if (c->ks_active && !killswitch_remove(c->ifname))
		log_info("kill-switch: removed from %s", c->ifname);
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
	.inband = client_inband,
	.event_fd = client_event_fd,
	.run = client_run_once,
	.next_timeout = client_next_timeout,
	.second = client_second,
	.signal = client_signal,
	.done = client_done,
	.initialized = client_was_up,
	.conn_info = client_conn_info,
	.write_status = client_write_status,
	.mgmt = &client_mgmt_ops,
	.stop = client_mode_stop,
	.free = client_free,
};
