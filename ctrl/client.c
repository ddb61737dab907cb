/*
 * client.c - owns client mode (`client`, or tls-client + pull): the TLS
 * control session of ctrl/session.c over the data plane's control rings,
 * the UDP socket connected to the server (a reconnect replaces it), the
 * data keys handed to the pipeline, keepalive, the connect-retry back-off,
 * the reconnect and the cc-exit shutdown. What a push turns into system
 * state (addresses, routes, scripts, DNS) and its undo log are in
 * client_net.c.
 *
 * Thread: ctrl only. main.c owns the event loop, the TUN device and the
 * data plane; it calls in through client.h.
 *
 * Timers (checked by client_run_once and client_second, reported by
 * client_next_timeout):
 *   session timers      handshake, retransmits, renegotiation (session.c)
 *   restart_at_ns       reconnect after the connect-retry pause, or at once
 *                       on SIGUSR1/SIGHUP; 0: none pending
 *   exit_deadline_ns    SIGTERM: wait for the EXIT ack until then
 *   keepalive (1 s)     ping after `ping` idle seconds; ping-restart or
 *                       ping-exit after `ping-restart` silent seconds
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "client_int.h"
#include "options.h"
#include "pipeline.h"
#include "runcfg.h"
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


int client_udp_open(const struct runcfg *rc, union sockaddr_any *remote_out)
{
	union sockaddr_any local, remote;
	socklen_t llen = 0, rlen = 0;
	int err, fd;

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
	*remote_out = remote;
	fd = udp_open(&local, llen, &remote, rlen);
	if (fd < 0) {
		errno = -fd;
		log_warn("udp: cannot open socket %s:%u -> %s:%u",
			 rc->local_host ? rc->local_host : "*", rc->local_port, rc->remote_host,
			 rc->remote_port);
		return fd;
	}
	log_info("udp: socket %s:%u connected to %s:%u", rc->local_host ? rc->local_host : "*",
		 rc->local_port, rc->remote_host, rc->remote_port);
	return fd;
}

int client_udp_setup(struct client *c)
{
	c->udp_fd = client_udp_open(c->rc, &c->remote);
	return c->udp_fd;
}

/* session_io.send: one control datagram to udp_tx (the socket is connected). */
static int client_ctl_send(void *arg, const uint8_t *buf, size_t len)
{
	struct client *c = arg;
	struct pkt *p = pool_get(c->pl->ctrl_pool);

	if (!p)
		return -ENOBUFS;
	if (len > pkt_data_room(p)) {
		pkt_free(p);
		return -EMSGSIZE;
	}
	memcpy(p->data, buf, len);
	p->len = (uint32_t)len;
	p->addr_len = 0;
	p->flags = PKT_F_CONTROL;
	if (spsc_enqueue_burst(c->pl->ctrl_to_udp, &p, 1) != 1) {
		pkt_free(p);
		return -ENOBUFS;
	}
	return 0;
}

/*
 * Reconnect pause, as OpenVPN's --connect-retry n [max]: n seconds for the
 * first five failures in a row, then doubling up to max (default 300), plus
 * up to 25% jitter so many clients of one server do not retry in step. A
 * tunnel that came up resets the count.
 */
static void client_restart_later(struct client *c, int64_t now)
{
	const struct options_conn *ce = &c->rc->opts->conns.v[0];
	uint64_t base = ce->connect_retry ? ce->connect_retry : 1;
	uint64_t cap = ce->connect_retry_max ? ce->connect_retry_max : 300;
	uint64_t pause_ms;
	unsigned int shift;

	c->failures++;
	shift = c->failures > 5 ? MIN(c->failures - 5, 16u) : 0;
	pause_ms = MIN(base << shift, MAX(cap, base)) * 1000;
	pause_ms += pause_ms / 4 ? (uint64_t)random() % (pause_ms / 4 + 1) : 0;
	c->restart_at_ns = now + (int64_t)pause_ms * NSEC_PER_MSEC;
	log_info("Restart pause, %.1f second(s) (attempt %u)", pause_ms / 1000.0, c->failures);
}

/*
 * A renegotiated key: publish its slot next to the old one (which keeps
 * decrypting as the lame duck) and send with it at once; the stock peer
 * accepts both. A failure here is a reconnect, like a failed handshake.
 */
static int client_reneg_install(struct client *c, struct session_keys *k)
{
	int err = pipeline_key_install(c->pl, 0, k->key_id, k->cipher, k->key2);

	OPENSSL_cleanse(k->key2, sizeof(k->key2));
	if (err) {
		errno = err < 0 ? -err : EINVAL;
		log_warn("pipeline: cannot install the renegotiated keys (key_id %u)", k->key_id);
		client_restart_later(c, clock_mono_ns());
		return 0;
	}
	pipeline_key_set_tx(c->pl, 0, k->key_id);
	log_info("TLS: new session key installed, key_id %u now used for sending", k->key_id);
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
	} else if (!err && c->pl->peers.slot[0]->tx_peer_id != k.tx_peer_id) {
		log_warnx("WARNING: the server changed our peer-id; still sending %u",
			  c->pl->peers.slot[0]->tx_peer_id);
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
	pipeline_key_set_tx(c->pl, 0, k.key_id);
	c->up_ns = clock_mono_ns();
	c->tunnel_up = true;
	c->failures = 0;
	log_info("Initialization Sequence Completed");
	return 0;
}

/* Acts on the session's state after it ran. */
static void client_check(struct client *c, int64_t now)
{
	unsigned int gone = session_take_retired(c->sess);

	for (uint8_t kid = 0; gone && c->peer_added && kid < KEY_ID_COUNT; kid++) {
		if (gone & (1u << kid)) {
			pipeline_key_retire(c->pl, 0, kid);
			log_info("TLS: data channel key_id %u retired", kid);
		}
	}
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
		if (!c->restart_at_ns)
			client_restart_later(c, now);
		break;
	default:
		break;
	}
}

/* Keepalive: ping when we sent nothing for `ping` s; restart after ping-restart. */
static void client_keepalive(struct client *c, int64_t now)
{
	const struct options *o = c->rc->opts;
	struct peer *pr;
	int64_t last_tx, last_rx;

	if (!c->tunnel_up || session_state(c->sess) != SESSION_ACTIVE || !c->peer_added)
		return;
	pr = c->pl->peers.slot[0];
	last_tx = __atomic_load_n(&pr->last_tx_ns, __ATOMIC_RELAXED);
	last_rx = __atomic_load_n(&pr->last_rx_ns, __ATOMIC_RELAXED);
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
		client_restart_later(c, now);
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
	err = pipeline_set_udp_fd(c->pl, c->udp_fd);
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

static void client_restart_run(struct client *c, int64_t now)
{
	int err;

	if (!c->restart_at_ns || now < c->restart_at_ns)
		return;
	c->restart_at_ns = 0;
	err = client_udp_renew(c);
	if (err == -EAGAIN) {
		client_restart_later(c, now);
		return;
	}
	if (err) {
		c->exit_status = 1;
		c->stopping = true;
		return;
	}
	options_pull_reset(c->rc->opts);
	log_info("Attempting to establish connection with %s:%u", c->rc->remote_host,
		 c->rc->remote_port);
	if (session_start(c->sess, now)) {
		log_warnx("control channel: cannot restart the session");
		c->exit_status = 1;
		c->stopping = true;
	}
}

/* ---- the API main.c calls (client.h) -------------------------------- */

int client_create(struct client **out, struct runcfg *rc)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->rc = rc;
	c->udp_fd = -1;
	*out = c;
	return 0;
}

int client_start(struct client *c, struct pipeline *pl, const char *ifname)
{
	struct session_io io = { .send = client_ctl_send, .arg = c };
	char err[512];
	int rc;

	c->pl = pl;
	snprintf(c->ifname, sizeof(c->ifname), "%s", ifname);
	rc = session_create(&c->sess, c->rc->opts, &io, err, sizeof(err));
	if (rc) {
		log_warnx("%s", err);
		return rc;
	}
	log_info("Attempting to establish connection with %s:%u", c->rc->remote_host,
		 c->rc->remote_port);
	rc = session_start(c->sess, clock_mono_ns());
	if (rc)
		log_warnx("control channel: cannot start the session");
	return rc;
}

void client_input(struct client *c, const struct pkt *p, int64_t now)
{
	session_input(c->sess, p->data, p->len, now);
}

void client_run_once(struct client *c, int64_t now)
{
	session_tick(c->sess, now);
	client_check(c, now);
	client_restart_run(c, now);
	if (c->exit_deadline_ns && (session_idle(c->sess) || now >= c->exit_deadline_ns))
		c->stopping = true;
}

void client_second(struct client *c, int64_t now)
{
	client_keepalive(c, now);
}

int64_t client_next_timeout(struct client *c, int64_t now)
{
	int64_t next = session_next_timeout(c->sess, now);

	if (c->restart_at_ns && c->restart_at_ns < next)
		next = c->restart_at_ns;
	if (c->exit_deadline_ns && c->exit_deadline_ns < next)
		next = c->exit_deadline_ns;
	return next;
}

void client_stop(struct client *c, int64_t now)
{
	unsigned int een = c->rc->opts->conns.v[0].explicit_exit_notify;

	if (c->exit_deadline_ns || !session_send_exit(c->sess, now)) {
		if (een && c->tunnel_up && !(c->rc->opts->protocol_flags & OPT_PROTO_CC_EXIT))
			log_warnx("WARNING: explicit-exit-notify without cc-exit is not sent "
				  "(OCC_EXIT not implemented)");
		c->stopping = true;
		return;
	}
	c->exit_deadline_ns = now + (een ? (int64_t)een : 1) * NS_PER_SEC;
}

void client_restart(struct client *c, int64_t now)
{
	c->restart_at_ns = now;
}

bool client_done(const struct client *c, int *status)
{
	if (c->stopping)
		*status = c->exit_status;
	return c->stopping;
}

bool client_was_up(const struct client *c)
{
	return c->tunnel_up;
}

bool client_connected(const struct client *c)
{
	return !c->sess || session_state(c->sess) == SESSION_ACTIVE;
}

void client_write_status(struct client *c, FILE *f)
{
	if (c->sess)
		session_write_stats(c->sess, f);
}

void client_free(struct client *c)
{
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
