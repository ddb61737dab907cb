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
#include "server.h"
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
	/* Server mode. */
	struct server *srv;
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
	bool dns_applied;		/* pushed DNS handed to the system or the up script */
	/* What client_apply added (undo log), and the pushed settings it came from. */
	struct applied *applied;
	size_t n_applied;
	size_t cap_applied;
	char *applied_sig;
};

/*
 * One address or route client_apply added. Those on the TUN device go away
 * with it; a route on another device (the host route to the server that
 * redirect-gateway keeps outside the tunnel) is removed on exit. A push
 * that changes on reconnect takes all of them back (client_unapply).
 */
struct applied {
	int family;
	bool is_route;
	bool has_gw;
	int plen;
	int metric;
	uint8_t dst[16];		/* the address, or the route's destination */
	uint8_t gw[16];
	char dev[IFNAMSIZ];
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

/* Records what was just added (ctrl); a full log only costs the undo. */
static void applied_add(struct ctrl *c, int family, bool is_route, const void *dst, int plen,
			const void *gw, const char *dev, int metric)
{
	size_t alen = family == AF_INET ? 4 : 16;
	struct applied *a;

	if (c->n_applied == c->cap_applied) {
		size_t cap = c->cap_applied ? 2 * c->cap_applied : 16;
		struct applied *v = realloc(c->applied, cap * sizeof(*v));

		if (!v) {
			log_warnx("WARNING: out of memory: %s on %s is not recorded and will not be "
				  "removed by sluice", is_route ? "a route" : "an address", dev);
			return;
		}
		c->applied = v;
		c->cap_applied = cap;
	}
	a = &c->applied[c->n_applied++];
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->is_route = is_route;
	a->plen = plen;
	a->metric = metric;
	if (dst)
		memcpy(a->dst, dst, alen);
	if (gw) {
		memcpy(a->gw, gw, alen);
		a->has_gw = true;
	}
	snprintf(a->dev, sizeof(a->dev), "%s", dev);
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
	if (!err)
		applied_add(c, AF_INET, false, &local, plen, NULL, c->ifname, 0);
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

	if (rc->is_server) {
		c->udp_fd = server_udp_open(rc->local_host, rc->local_port);
		return c->udp_fd < 0 ? c->udp_fd : 0;
	}
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
	if (c->srv) {
		server_write_status(c->srv, f, c->rc->opts->status_version);
		goto done;
	}
	fprintf(f, "state=%s\n", c->stopping ? "EXITING" :
		!c->sess || session_state(c->sess) == SESSION_ACTIVE ? "CONNECTED" : "CONNECTING");
	fprintf(f, "ctrl.ctrl_pkts=%llu\nctrl.inband_pkts=%llu\n",
		(unsigned long long)c->ctrl_pkts, (unsigned long long)c->inband_pkts);
	if (c->sess)
		session_write_stats(c->sess, f);
	pipeline_write_stats(c->pl, f);
done:
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
		.is_server = rc->is_server || (!rc->is_client && rc->test_key_direction == 0),
		.single_peer = !rc->is_server,
		.client_to_client = rc->is_server && rc->opts->client_to_client,
		.workers = rc->workers,
		.max_peers = rc->is_server ? MAX(rc->opts->max_clients, 1u) : 1,
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
	int plen, metric, err;

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
	metric = r->metric && strcmp(r->metric, "default") ? atoi(r->metric) : 0;
	err = nl_route_add(AF_INET, &dst, plen, gw_s ? &gw : NULL, c->ifname, metric);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route: cannot add %s/%d via %s", r->network, plen, gw_s ? gw_s : c->ifname);
		return;
	}
	if (!err)
		applied_add(c, AF_INET, true, &dst, plen, gw_s ? &gw : NULL, c->ifname, metric);
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
		if (!err)
			applied_add(c, AF_INET, true, &srv, 32, has_gw ? &orig_gw : NULL, dev, 0);
	}
	for (int i = 0; i < 2; i++) {
		half.s_addr = htonl(i ? 0x80000000u : 0);
		log_info("route: %s/1 via %s dev %s (redirect-gateway def1)", inet_ntoa(half), gw_s,
			 c->ifname);
		err = nl_route_add(AF_INET, &half, 1, &gw, c->ifname, 0);
		if (err && err != -EEXIST) {
			errno = -err;
			log_warn("route: cannot add %s/1 via %s", inet_ntoa(half), gw_s);
		} else if (!err) {
			applied_add(c, AF_INET, true, &half, 1, &gw, c->ifname, 0);
		}
	}
}

/* ---- client IPv6: ifconfig-ipv6, route-ipv6, redirect-gateway ipv6 ---- */

/* What `redirect-gateway ipv6` adds (OpenVPN's init.c): the unicast space, not ::/0. */
static const char *const rg6_nets[] = { "::/3", "2000::/4", "3000::/4", "fc00::/7" };

/* "ADDR/BITS" into the network (host bits cleared) and its length. */
static bool net6_parse(const char *s, struct in6_addr *net, int *plen)
{
	const char *slash = strchr(s, '/');
	char addr[INET6_ADDRSTRLEN];
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	long bits = 128;

	if (n >= sizeof(addr))
		return false;
	memcpy(addr, s, n);
	addr[n] = 0;
	if (inet_pton(AF_INET6, addr, net) != 1)
		return false;
	if (slash) {
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits < 0 || bits > 128)
			return false;
	}
	for (int i = 0; i < 16; i++) {
		int keep = (int)bits - 8 * i;

		if (keep <= 0)
			net->s6_addr[i] = 0;
		else if (keep < 8)
			net->s6_addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	*plen = (int)bits;
	return true;
}

static bool net6_contains(const struct in6_addr *net, int plen, const struct in6_addr *host)
{
	for (int i = 0; i < 16 && plen > 0; i++, plen -= 8) {
		uint8_t mask = plen >= 8 ? 0xff : (uint8_t)(0xff << (8 - plen));

		if ((host->s6_addr[i] & mask) != net->s6_addr[i])
			return false;
	}
	return true;
}

/*
 * The IPv6 routes of this push, in order: route-ipv6 lines, then the four of
 * redirect-gateway ipv6 (only with an IPv6 address on the tunnel, as stock).
 * False past the end.
 */
static bool client_route6_at(const struct options *o, size_t i, const char **net,
			     const char **metric)
{
	bool rg6 = (o->redirect_gateway & OPT_RG_IPV6) && o->ifconfig_ipv6_local;

	if (i < o->routes6.n) {
		*net = o->routes6.v[i].network;
		*metric = o->routes6.v[i].metric;
		return true;
	}
	i -= o->routes6.n;
	if (!rg6 || i >= ARRAY_SIZE(rg6_nets))
		return false;
	*net = rg6_nets[i];
	*metric = NULL;
	return true;
}

/* Pushed `ifconfig-ipv6 ADDR/BITS REMOTE`: the address, usable at once (no DAD). */
static int client_addr6_apply(struct ctrl *c)
{
	const struct options *o = c->rc->opts;
	struct in6_addr local;
	int err;

	if (inet_pton(AF_INET6, o->ifconfig_ipv6_local, &local) != 1) {
		log_warnx("tun: bad ifconfig-ipv6 '%s'", o->ifconfig_ipv6_local);
		return -EINVAL;
	}
	log_info("tun: add address %s/%u on %s", o->ifconfig_ipv6_local,
		 o->ifconfig_ipv6_netbits, c->ifname);
	err = nl_addr_add(c->ifname, AF_INET6, &local, (int)o->ifconfig_ipv6_netbits, NULL);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("tun: cannot add address %s to %s", o->ifconfig_ipv6_local, c->ifname);
		return err;
	}
	if (!err)
		applied_add(c, AF_INET6, false, &local, (int)o->ifconfig_ipv6_netbits, NULL,
			    c->ifname, 0);
	return 0;
}

/*
 * An IPv6 route about to go into the tunnel covers the server's own IPv6
 * address: keep a host route to it through whatever reaches it now
 * (metric 1, as stock), or the tunnel would carry its own packets.
 */
static void client_server_route6(struct ctrl *c)
{
	const struct in6_addr *srv = &c->remote.in6.sin6_addr;
	char dev[IFNAMSIZ + 1] = "", srv_s[INET6_ADDRSTRLEN], gw_s[INET6_ADDRSTRLEN] = "-";
	struct in6_addr gw;
	bool has_gw = false;
	int err;

	inet_ntop(AF_INET6, srv, srv_s, sizeof(srv_s));
	err = nl_route_get(AF_INET6, srv, &gw, &has_gw, dev);
	if (err || !strcmp(dev, c->ifname)) {
		log_warnx("WARNING: ROUTE6: IPv6 route overlaps with the server %s and no route to "
			  "it outside the tunnel was found; expect failure", srv_s);
		return;
	}
	if (has_gw)
		inet_ntop(AF_INET6, &gw, gw_s, sizeof(gw_s));
	log_info("route: %s/128 via %s dev %s (server, kept outside the tunnel)", srv_s, gw_s,
		 dev);
	err = nl_route_add(AF_INET6, srv, 128, has_gw ? &gw : NULL, dev, 1);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route: cannot add the IPv6 host route to the server");
	} else if (!err) {
		applied_add(c, AF_INET6, true, srv, 128, has_gw ? &gw : NULL, dev, 1);
	}
}

/* One IPv6 route into the tunnel: on a TUN the device is the route, no gateway (stock). */
static void client_route6_add(struct ctrl *c, const char *net_s, const char *metric_s)
{
	const struct options *o = c->rc->opts;
	struct in6_addr net;
	int plen, metric = 0, err;

	if (!net6_parse(net_s, &net, &plen)) {
		log_warnx("route: cannot add IPv6 route '%s'", net_s);
		return;
	}
	if (metric_s && strcmp(metric_s, "default"))
		metric = atoi(metric_s);
	else if (o->route_metric > 0)
		metric = o->route_metric;
	err = nl_route_add(AF_INET6, &net, plen, NULL, c->ifname, metric);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route: cannot add %s dev %s", net_s, c->ifname);
		return;
	}
	if (!err)
		applied_add(c, AF_INET6, true, &net, plen, NULL, c->ifname, metric);
	log_info("route: %s dev %s", net_s, c->ifname);
}

static void client_routes6_apply(struct ctrl *c)
{
	const struct options *o = c->rc->opts;
	const char *net_s, *metric_s;
	bool overlap = false;
	struct in6_addr net;
	int plen;

	if ((o->redirect_gateway & OPT_RG_IPV6) && !o->ifconfig_ipv6_local)
		log_warnx("WARNING: redirect-gateway ipv6 ignored: no ifconfig-ipv6 was pushed");
	if (!client_route6_at(o, 0, &net_s, &metric_s))
		return;
	if (!o->ifconfig_ipv6_local)
		log_warnx("WARNING: an IPv6 route is to be added, but no IPv6 is configured for "
			  "%s; the route may not work", c->ifname);
	for (size_t i = 0; c->remote.sa.sa_family == AF_INET6 &&
			   client_route6_at(o, i, &net_s, &metric_s); i++)
		if (net6_parse(net_s, &net, &plen) &&
		    net6_contains(&net, plen, &c->remote.in6.sin6_addr))
			overlap = true;
	/* Before the tunnel routes: the lookup must still see the way out. */
	if (overlap)
		client_server_route6(c);
	for (size_t i = 0; client_route6_at(o, i, &net_s, &metric_s); i++)
		client_route6_add(c, net_s, metric_s);
}

/* On exit: the routes on other devices (closing the TUN removes the rest). */
static void client_routes_remove(struct ctrl *c)
{
	char dst[INET6_ADDRSTRLEN];

	for (size_t i = c->n_applied; i-- > 0;) {
		const struct applied *a = &c->applied[i];

		if (!a->is_route || !strcmp(a->dev, c->ifname))
			continue;
		inet_ntop(a->family, a->dst, dst, sizeof(dst));
		log_info("route: delete %s/%d dev %s", dst, a->plen, a->dev);
		nl_route_del(a->family, a->dst, a->plen, a->has_gw ? a->gw : NULL, a->dev,
			     a->metric);
	}
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

/* The --down command and the pushed DNS taken back (exit, or a changed push). */
static void client_down(struct ctrl *c)
{
	const struct options *o = c->rc->opts;
	struct script_ctx sc;

	if (!c->dns_applied && !(c->addr_applied && o->down))
		return;
	client_script_ctx(c, &sc);
	if (c->dns_applied && !o->up)
		script_dns_remove(o, &sc);
	if (o->down)
		script_run(o, "down", o->down, &sc);
	c->dns_applied = false;
}

/*
 * Everything of a push that client_apply turns into system state, as one
 * string: a reconnect whose push gives the same string keeps what is there.
 */
static char *client_net_sig(struct ctrl *c)
{
	const struct options *o = c->rc->opts;
	char srv[INET6_ADDRSTRLEN] = "";
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

#define S(x) ((x) ? (x) : "-")
	if (!f)
		return NULL;
	if (c->remote.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &c->remote.in6.sin6_addr, srv, sizeof(srv));
	else if (c->remote.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &c->remote.in4.sin_addr, srv, sizeof(srv));
	fprintf(f, "remote %s\ntopology %d\nifconfig %s %s\nifconfig-ipv6 %s/%u %s\n", srv,
		o->topology, S(o->ifconfig_local), S(o->ifconfig_remote),
		S(o->ifconfig_ipv6_local), o->ifconfig_ipv6_netbits, S(o->ifconfig_ipv6_remote));
	fprintf(f, "route-gateway %s\nredirect-gateway %#x\n", S(o->route_gateway),
		o->redirect_gateway);
	for (i = 0; i < o->routes.n; i++)
		fprintf(f, "route %s %s %s %s\n", S(o->routes.v[i].network),
			S(o->routes.v[i].netmask), S(o->routes.v[i].gateway),
			S(o->routes.v[i].metric));
	for (i = 0; i < o->routes6.n; i++)
		fprintf(f, "route-ipv6 %s %s %s\n", S(o->routes6.v[i].network),
			S(o->routes6.v[i].gateway), S(o->routes6.v[i].metric));
	for (i = 0; i < o->dhcp_options.n; i++)
		fprintf(f, "dhcp-option %s %s\n", S(o->dhcp_options.v[i].type),
			S(o->dhcp_options.v[i].value));
	for (i = 0; i < o->dns.n; i++)
		fprintf(f, "dns %s\n", o->dns.v[i]);
#undef S
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * A reconnect's push changed the network settings: remove every address and
 * route the previous one added (newest first) and run --down, so the new
 * settings start from a clean device. --down sees the new push's values
 * here (the old ones are gone with the reconnect); its device is right.
 */
static void client_unapply(struct ctrl *c)
{
	char dst[INET6_ADDRSTRLEN];

	for (size_t i = c->n_applied; i-- > 0;) {
		const struct applied *a = &c->applied[i];
		int err;

		inet_ntop(a->family, a->dst, dst, sizeof(dst));
		log_info("%s: delete %s/%d dev %s", a->is_route ? "route" : "tun", dst, a->plen,
			 a->dev);
		if (a->is_route)
			err = nl_route_del(a->family, a->dst, a->plen, a->has_gw ? a->gw : NULL,
					   a->dev, a->metric);
		else
			err = nl_addr_del(a->dev, a->family, a->dst, a->plen);
		if (err && err != -ESRCH && err != -EADDRNOTAVAIL) {
			errno = -err;
			log_warn("cannot delete %s/%d", dst, a->plen);
		}
	}
	c->n_applied = 0;
	client_down(c);
	c->addr_applied = false;
}

/*
 * Applies the pushed ifconfig and routes before any data key is used. On a
 * reconnect the TUN device stays (as with stock's persist-tun): the same
 * push keeps its addresses and routes, a different one replaces them.
 */
static int client_apply(struct ctrl *c)
{
	struct options *o = c->rc->opts;
	char *sig = client_net_sig(c);
	int err;

	if (c->addr_applied && sig && c->applied_sig && !strcmp(sig, c->applied_sig)) {
		log_info("Preserving previous TUN/TAP instance: %s", c->ifname);
		free(sig);
		return 0;
	}
	/* applied_sig: a push was applied before, maybe halfway (a failed --up). */
	if (c->applied_sig) {
		log_info("NOTE: Pulled options changed on restart, reconfiguring %s", c->ifname);
		client_unapply(c);
	}
	free(c->applied_sig);
	c->applied_sig = sig ? sig : strdup("");
	if (!o->ifconfig_local && !o->ifconfig_ipv6_local) {
		log_warnx("OPTIONS ERROR: the server pushed no 'ifconfig'; cannot configure %s",
			  c->ifname);
		return -EINVAL;
	}
	if (o->ifconfig_local && o->topology == OPT_TOPOLOGY_P2P && !o->ifconfig_remote) {
		log_warnx("OPTIONS ERROR: topology p2p without a remote address");
		return -EINVAL;
	}
	err = o->ifconfig_local ? tun_addr_apply(c, o->ifconfig_local, o->ifconfig_remote,
						 o->topology == OPT_TOPOLOGY_SUBNET) : 0;
	err = err ?: o->ifconfig_ipv6_local ? client_addr6_apply(c) : 0;
	if (err)
		return err;
	for (size_t i = 0; i < o->routes.n; i++)
		client_route_add(c, &o->routes.v[i]);
	if (o->redirect_gateway & OPT_RG_ENABLE)
		client_redirect_gateway(c);
	client_routes6_apply(c);
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
/*
 * A reconnect comes from a fresh UDP port, as stock's does: a stock server
 * keeps the old address/port's instance until it times out and ignores a
 * new handshake from it meanwhile. The data threads stop while the socket
 * changes under them (the socket is registered with their rings); the old
 * peer goes with its keys, and packets sealed with them are dropped. The TUN
 * device, its addresses and routes stay (client_apply decides after the
 * push). The address is resolved again, as stock does.
 */
static int client_udp_renew(struct ctrl *c)
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
	if (udp_setup(c))
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

static void client_restart_run(struct ctrl *c, int64_t now)
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

/* Control packets and in-band messages queued for ctrl. */
static void ctrl_rings_drain(struct ctrl *c, int64_t now)
{
	struct pkt *p[BURST_MAX];
	unsigned int n;

	if (!c->sess && !c->srv) {
		pipeline_drain_ctrl(c->pl, &c->ctrl_pkts, &c->inband_pkts);
		return;
	}
	while ((n = spsc_dequeue_burst(c->pl->udp_to_ctrl, p, BURST_MAX))) {
		c->ctrl_pkts += n;
		for (unsigned int i = 0; i < n; i++) {
			if (c->srv)
				server_input(c->srv, p[i], now);
			else
				session_input(c->sess, p[i]->data, p[i]->len, now);
		}
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
			else if (c->srv && !c->exit_deadline_ns &&
				 server_shutdown(c->srv, clock_mono_ns()))
				c->exit_deadline_ns = clock_mono_ns() + 2 * NS_PER_SEC;
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

	if (c->srv)
		next = server_next_timeout(c->srv, now);
	else if (!c->sess)
		return 1000;
	else
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
		if (spsc_count(c->pl->udp_to_ctrl) || spsc_count(c->pl->tun_tx_to_ctrl) ||
		    __atomic_load_n(&c->pl->float_events, __ATOMIC_ACQUIRE) != c->pl->float_seen) {
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
				if (c->srv)
					server_second(c->srv, clock_mono_ns());
			}
		}
		now = clock_mono_ns();
		ctrl_rings_drain(c, now);
		if (c->sess)
			client_run_once(c, now);
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
	session_free(c.sess);
	epoch_barrier();
	if (c.udp_fd >= 0)
		close(c.udp_fd);
	client_routes_remove(&c);
	client_down(&c);
	free(c.applied);
	free(c.applied_sig);
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
