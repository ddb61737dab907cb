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
 * control channel (the foundation tests and benchmarks). With `client` (or
 * tls-client) the TLS control channel of ctrl/session.c runs over the data
 * plane's control rings: once the push is applied, ctrl configures the TUN
 * addresses and routes, then installs the exported data keys. Server mode
 * is not implemented yet (runcfg refuses it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../core/clock.h"
#include "../core/epoch.h"
#include "../core/log.h"
#include "options.h"
#include "pipeline.h"
#include "runcfg.h"
#include "script.h"
#include "session.h"

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
	/* Client mode. */
	struct session *sess;
	bool tunnel_up;			/* keys installed at least once */
	bool peer_added;
	bool addr_applied;
	int64_t up_ns;			/* when the current keys were installed */
	int64_t restart_at_ns;		/* reconnect after connect-retry; 0: none */
	int64_t exit_deadline_ns;	/* SIGTERM: wait for the EXIT ack until then */
	int exit_status;
	unsigned int failures;		/* connection attempts failed in a row */
	union sockaddr_any remote;	/* the server's resolved address */
	/* redirect-gateway: the host route to the server kept outside the tunnel. */
	bool dns_applied;		/* pushed DNS handed to the system or the up script */
	bool server_route;
	struct in_addr server_route_gw;
	bool server_route_has_gw;
	char server_route_dev[64];
};

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

/*
 * Adds the IPv4 address: @second is the netmask with topology subnet, the
 * remote end (point-to-point address) with net30/p2p.
 */
static int tun_addr_apply(struct ctrl *c, const char *local_s, const char *second_s,
			  bool subnet)
{
	struct in_addr local, second;
	int plen = 32, err;
	const void *peer = NULL;

	if (!local_s || !second_s || inet_pton(AF_INET, local_s, &local) != 1 ||
	    inet_pton(AF_INET, second_s, &second) != 1) {
		log_warnx("tun: bad ifconfig '%s %s'", local_s ? local_s : "",
			  second_s ? second_s : "");
		return -EINVAL;
	}
	if (subnet) {
		plen = netmask_to_prefix(second);
		if (plen < 0) {
			log_warnx("tun: ifconfig netmask %s is not contiguous", second_s);
			return -EINVAL;
		}
	} else {
		peer = &second;
	}
	log_info("tun: add address %s/%d%s%s on %s", local_s, plen, peer ? " peer " : "",
		 peer ? second_s : "", c->ifname);
	err = nl_addr_add(c->ifname, AF_INET, &local, plen, peer);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("tun: cannot add address %s to %s", local_s, c->ifname);
		return err;
	}
	return 0;
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
	if (rc->has_ifconfig)
		return tun_addr_apply(c, rc->ifconfig_local, rc->ifconfig_second,
				      rc->topology_subnet);
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
	c->remote = remote;
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
	fprintf(f, "state=%s\n", c->stopping ? "EXITING" :
		!c->sess || session_state(c->sess) == SESSION_ACTIVE ? "CONNECTED" : "CONNECTING");
	fprintf(f, "ctrl.ctrl_pkts=%llu\nctrl.inband_pkts=%llu\n",
		(unsigned long long)c->ctrl_pkts, (unsigned long long)c->inband_pkts);
	if (c->sess)
		session_write_stats(c->sess, f);
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
		.is_server = !rc->is_client && rc->test_key_direction == 0,
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
	if (rc->is_client) {
		/* The peer and its keys come with the PUSH_REPLY (client_keys_install). */
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

/* ---- client mode ---------------------------------------------------- */

/* session_io.send: one control datagram to udp_tx (the socket is connected). */
static int client_ctl_send(void *arg, const uint8_t *buf, size_t len)
{
	struct ctrl *c = arg;
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

/* One pushed `route NETWORK [NETMASK [GATEWAY [METRIC]]]` on the TUN device. */
static void client_route_add(struct ctrl *c, const struct options_route *r)
{
	const struct options *o = c->rc->opts;
	const char *gw_s = r->gateway ? r->gateway : o->route_gateway;
	struct in_addr dst, mask, gw;
	int plen, err;

	if (inet_pton(AF_INET, r->network, &dst) != 1 ||
	    inet_pton(AF_INET, r->netmask ? r->netmask : "255.255.255.255", &mask) != 1 ||
	    (plen = netmask_to_prefix(mask)) < 0) {
		log_warnx("route: cannot add '%s %s': only numeric network/netmask supported",
			  r->network, r->netmask ? r->netmask : "");
		return;
	}
	if (gw_s && (!strcmp(gw_s, "vpn_gateway") || inet_pton(AF_INET, gw_s, &gw) != 1))
		gw_s = NULL;
	dst.s_addr &= mask.s_addr;
	err = nl_route_add(AF_INET, &dst, plen, gw_s ? &gw : NULL, c->ifname,
			   r->metric && strcmp(r->metric, "default") ? atoi(r->metric) : 0);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route: cannot add %s/%d via %s", r->network, plen, gw_s ? gw_s : c->ifname);
		return;
	}
	log_info("route: %s/%d via %s dev %s", r->network, plen, gw_s ? gw_s : "-", c->ifname);
}

/*
 * redirect-gateway: keep the server reachable outside the tunnel with a host
 * route through whatever reaches it now, then send everything else into the
 * tunnel with the two halves 0/1 and 128/1 (def1: the existing default route
 * stays, just less specific, so nothing is deleted and exit restores all).
 */
static void client_redirect_gateway(struct ctrl *c)
{
	struct options *o = c->rc->opts;
	const char *gw_s = o->route_gateway;
	struct in_addr gw, half;
	char dev[IFNAMSIZ + 1] = "";
	int err;

	if (!(o->redirect_gateway & OPT_RG_REROUTE_GW) && !(o->redirect_gateway & OPT_RG_DEF1)) {
		log_warnx("WARNING: redirect-gateway flags %#x not applied (only def1 style is "
			  "supported)", o->redirect_gateway);
		return;
	}
	if (!gw_s && o->topology != OPT_TOPOLOGY_SUBNET)
		gw_s = o->ifconfig_remote;
	if (!gw_s || inet_pton(AF_INET, gw_s, &gw) != 1) {
		log_warnx("WARNING: redirect-gateway: no usable route-gateway pushed; not applied");
		return;
	}
	if (c->remote.sa.sa_family == AF_INET && !(o->redirect_gateway & OPT_RG_LOCAL)) {
		struct in_addr srv = c->remote.in4.sin_addr;
		bool has_gw = false;
		struct in_addr orig_gw = { 0 };

		err = nl_route_get(AF_INET, &srv, &orig_gw, &has_gw, dev);
		if (err || !strcmp(dev, c->ifname)) {
			log_warnx("WARNING: redirect-gateway: no route to the server %s outside the "
				  "tunnel; not applied", inet_ntoa(srv));
			return;
		}
		log_info("route: %s/32 via %s dev %s (server, kept outside the tunnel)",
			 inet_ntoa(srv), has_gw ? inet_ntoa(orig_gw) : "-", dev);
		err = nl_route_add(AF_INET, &srv, 32, has_gw ? &orig_gw : NULL, dev, 0);
		if (err && err != -EEXIST) {
			errno = -err;
			log_warn("route: cannot add the host route to the server; redirect-gateway "
				 "not applied");
			return;
		}
		if (!err) {
			c->server_route = true;
			c->server_route_gw = orig_gw;
			c->server_route_has_gw = has_gw;
			snprintf(c->server_route_dev, sizeof(c->server_route_dev), "%s", dev);
		}
	}
	for (int i = 0; i < 2; i++) {
		half.s_addr = htonl(i ? 0x80000000u : 0);
		log_info("route: %s/1 via %s dev %s (redirect-gateway def1)", inet_ntoa(half), gw_s,
			 c->ifname);
		err = nl_route_add(AF_INET, &half, 1, &gw, c->ifname, 0);
		if (err && err != -EEXIST) {
			errno = -err;
			log_warn("route: cannot add %s/1 via %s", inet_ntoa(half), gw_s);
		}
	}
	if (o->redirect_gateway & OPT_RG_IPV6)
		log_warnx("WARNING: redirect-gateway ipv6 not applied (IPv6 in the tunnel is not "
			  "supported yet)");
}

/* Removes the host route to the server that redirect-gateway added. */
static void client_routes_remove(struct ctrl *c)
{
	struct in_addr srv;

	if (!c->server_route)
		return;
	srv = c->remote.in4.sin_addr;
	log_info("route: delete %s/32 dev %s", inet_ntoa(srv), c->server_route_dev);
	nl_route_del(AF_INET, &srv, 32, c->server_route_has_gw ? &c->server_route_gw : NULL,
		     c->server_route_dev, 0);
	c->server_route = false;
}

static void client_script_ctx(struct ctrl *c, struct script_ctx *sc)
{
	static char ip[INET6_ADDRSTRLEN];

	ip[0] = 0;
	if (c->remote.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &c->remote.in4.sin_addr, ip, sizeof(ip));
	else if (c->remote.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &c->remote.in6.sin6_addr, ip, sizeof(ip));
	sc->dev = c->ifname;
	sc->tun_mtu = c->rc->tun_mtu;
	sc->remote_ip = ip[0] ? ip : NULL;
	sc->remote_port = c->rc->remote_port;
}

/* Applies the pushed ifconfig and routes before any data key is used. */
static int client_apply(struct ctrl *c)
{
	struct options *o = c->rc->opts;
	int err;

	if (c->addr_applied)
		return 0;
	if (!o->ifconfig_local) {
		log_warnx("OPTIONS ERROR: the server pushed no 'ifconfig'; cannot configure %s",
			  c->ifname);
		return -EINVAL;
	}
	if (o->topology == OPT_TOPOLOGY_P2P && !o->ifconfig_remote) {
		log_warnx("OPTIONS ERROR: topology p2p without a remote address");
		return -EINVAL;
	}
	err = tun_addr_apply(c, o->ifconfig_local, o->ifconfig_remote,
			     o->topology == OPT_TOPOLOGY_SUBNET);
	if (err)
		return err;
	for (size_t i = 0; i < o->routes.n; i++)
		client_route_add(c, &o->routes.v[i]);
	if (o->redirect_gateway & OPT_RG_ENABLE)
		client_redirect_gateway(c);
	{
		struct script_ctx sc;
		bool up_ran = false;

		client_script_ctx(c, &sc);
		if (o->up) {
			err = script_run(o, "up", o->up, &sc);
			if (err) {
				log_warnx("ERROR: the --up command failed; not bringing the tunnel up");
				return err < 0 ? err : -ECANCELED;
			}
			up_ran = true;
		}
		script_dns_apply(o, &sc, up_ran);
		c->dns_applied = true;
	}
	c->addr_applied = true;
	return 0;
}

/*
 * Reconnect pause, as OpenVPN's --connect-retry n [max]: n seconds for the
 * first five failures in a row, then doubling up to max (default 300), plus
 * up to 25% jitter so many clients of one server do not retry in step. A
 * tunnel that came up resets the count.
 */
static void client_restart_later(struct ctrl *c, int64_t now)
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
static int client_reneg_install(struct ctrl *c, struct session_keys *k)
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

static int client_keys_install(struct ctrl *c)
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
static void client_check(struct ctrl *c, int64_t now)
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
static void client_keepalive(struct ctrl *c, int64_t now)
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
static void client_restart_run(struct ctrl *c, int64_t now)
{
	if (!c->restart_at_ns || now < c->restart_at_ns)
		return;
	c->restart_at_ns = 0;
	/* The old session's keys die with it: nothing is sent with them any more. */
	for (uint8_t kid = 0; c->peer_added && kid < KEY_ID_COUNT; kid++)
		pipeline_key_retire(c->pl, 0, kid);
	options_pull_reset(c->rc->opts);
	log_info("Attempting to establish connection with %s:%u", c->rc->remote_host,
		 c->rc->remote_port);
	if (session_start(c->sess, now)) {
		log_warnx("control channel: cannot restart the session");
		c->exit_status = 1;
		c->stopping = true;
	}
}

/* Control packets and in-band messages queued for ctrl. */
static void ctrl_rings_drain(struct ctrl *c, int64_t now)
{
	struct pkt *p[BURST_MAX];
	unsigned int n;

	if (!c->sess) {
		pipeline_drain_ctrl(c->pl, &c->ctrl_pkts, &c->inband_pkts);
		return;
	}
	while ((n = spsc_dequeue_burst(c->pl->udp_to_ctrl, p, BURST_MAX))) {
		c->ctrl_pkts += n;
		for (unsigned int i = 0; i < n; i++)
			session_input(c->sess, p[i]->data, p[i]->len, now);
		pkt_free_burst(p, n);
	}
	/* In-band OCC messages: counted only for now. */
	while ((n = spsc_dequeue_burst(c->pl->tun_tx_to_ctrl, p, BURST_MAX))) {
		c->inband_pkts += n;
		pkt_free_burst(p, n);
	}
}

/* SIGTERM in client mode: EXIT on the control channel (cc-exit), then wait for its ack. */
static void client_stop(struct ctrl *c, int64_t now)
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

/* Client work after every wakeup: session timers, keepalive, reconnect, exit. */
static void client_run_once(struct ctrl *c, int64_t now)
{
	session_tick(c->sess, now);
	client_check(c, now);
	client_restart_run(c, now);
	if (c->exit_deadline_ns && (session_idle(c->sess) || now >= c->exit_deadline_ns))
		c->stopping = true;
}

static int client_start(struct ctrl *c)
{
	struct session_io io = { .send = client_ctl_send, .arg = c };
	char err[512];
	int rc;

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
			if (c->sess)
				client_stop(c, clock_mono_ns());
			else
				c->stopping = true;
			break;
		case SIGUSR2:
			log_stats(c);
			break;
		case SIGHUP:
		case SIGUSR1:
			if (c->sess) {
				log_info("%s[soft] received, process restarting",
					 si.ssi_signo == SIGHUP ? "SIGHUP" : "SIGUSR1");
				c->restart_at_ns = clock_mono_ns();
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

	if (!c->sess)
		return 1000;
	next = session_next_timeout(c->sess, now);
	if (c->restart_at_ns && c->restart_at_ns < next)
		next = c->restart_at_ns;
	if (c->exit_deadline_ns && c->exit_deadline_ns < next)
		next = c->exit_deadline_ns;
	if (next <= now)
		return 0;
	ms = (next - now + 999999) / 1000000;
	return ms > 1000 ? 1000 : (int)ms;
}

static void run(struct ctrl *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = c->pl->ctrl_db.efd };

	epoll_ctl(c->ep_fd, EPOLL_CTL_ADD, c->pl->ctrl_db.efd, &ev);
	while (!c->stopping) {
		struct epoll_event evs[8];
		int64_t now;
		int n;

		/* ctrl sleeps whenever its rings are empty; udp_rx/tun_tx ring the doorbell. */
		doorbell_prepare_sleep(&c->pl->ctrl_db);
		if (spsc_count(c->pl->udp_to_ctrl) || spsc_count(c->pl->tun_tx_to_ctrl)) {
			doorbell_cancel_sleep(&c->pl->ctrl_db);
			n = 0;
		} else {
			n = epoll_wait(c->ep_fd, evs, ARRAY_SIZE(evs), run_timeout_ms(c));
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
				if (c->sess)
					client_keepalive(c, clock_mono_ns());
			}
		}
		now = clock_mono_ns();
		ctrl_rings_drain(c, now);
		if (c->sess)
			client_run_once(c, now);
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
	srandom((unsigned int)(getpid() ^ clock_mono_ns()));
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
	if (c.rc->is_client) {
		if (client_start(&c))
			goto out;
	} else {
		log_info("Initialization Sequence Completed");
	}
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
		pipeline_destroy(c.pl);
	}
	session_free(c.sess);
	epoch_barrier();
	if (c.udp_fd >= 0)
		close(c.udp_fd);
	client_routes_remove(&c);
	if (c.dns_applied || (c.addr_applied && c.rc && c.rc->opts->down)) {
		struct script_ctx sc;

		client_script_ctx(&c, &sc);
		if (c.dns_applied && !c.rc->opts->up)
			script_dns_remove(c.rc->opts, &sc);
		if (c.rc->opts->down)
			script_run(c.rc->opts, "down", c.rc->opts->down, &sc);
	}
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
