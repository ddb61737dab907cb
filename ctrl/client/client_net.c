/*
 * client_net.c - owns what a client's push turns into system state: the
 * TUN device's IPv4 and IPv6 addresses, pushed IPv4 and IPv6 routes,
 * redirect-gateway (def1 halves plus a host route to the server outside the
 * tunnel), --up/--down and pushed DNS, and the undo log (struct applied)
 * that takes them back when a reconnect's push differs, or on exit.
 *
 * Thread: ctrl only, called from client.c (client_apply when the keys of a
 * push are ready, client_routes_remove and client_down on exit) and from
 * main.c (client_addr4_apply for a configured `ifconfig`).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/log.h"
#include "../../io/io.h"
#include "client_int.h"
#include "../config/options.h"
#include "../config/runcfg.h"
#include "../script.h"

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
static void applied_add(struct client *c, int family, bool is_route, const void *dst, int plen,
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

int client_addr4_apply(struct client *c, const char *ifname, const char *local_s,
		       const char *second_s, bool subnet)
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
		 peer ? second_s : "", ifname);
	err = nl_addr_add(ifname, AF_INET, &local, plen, peer);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("tun: cannot add address %s to %s", local_s, ifname);
		return err;
	}
	if (!err && c)
		applied_add(c, AF_INET, false, &local, plen, NULL, ifname, 0);
	return 0;
}

/* One pushed `route NETWORK [NETMASK [GATEWAY [METRIC]]]` on the TUN device. */
static void client_route_add(struct client *c, const struct options_route *r)
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
static void client_redirect_gateway(struct client *c)
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

/*
 * redirect-gateway keeps a host route to the server outside the tunnel. A
 * link flap deletes it with the device's other routes (and then, unless
 * the server is on the link, the route to the server leads into the tunnel
 * itself). Put it back as it was made (same gateway and device); a route
 * that is still there costs one -EEXIST.
 */
void client_redirect_keep(struct client *c)
{
	int family = c->remote.sa.sa_family;
	const void *srv = family == AF_INET6 ? (const void *)&c->remote.in6.sin6_addr :
					       (const void *)&c->remote.in4.sin_addr;
	size_t alen = family == AF_INET6 ? 16 : 4;

	for (size_t i = 0; i < c->n_applied; i++) {
		const struct applied *a = &c->applied[i];
		int err;

		if (!a->is_route || a->family != family || a->plen != (int)alen * 8 ||
		    memcmp(a->dst, srv, alen) || !strcmp(a->dev, c->ifname))
			continue;
		err = nl_route_add(family, a->dst, a->plen, a->has_gw ? a->gw : NULL, a->dev,
				   a->metric);
		if (!err) {
			log_info("route: the host route to the server went with a link change; "
				 "added again via %s", a->dev);
		} else if (err != -EEXIST) {
			errno = -err;
			log_warn("route: cannot restore the host route to the server yet");
		}
		return;
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
static int client_addr6_apply(struct client *c)
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
static void client_server_route6(struct client *c)
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
static void client_route6_add(struct client *c, const char *net_s, const char *metric_s)
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

static void client_routes6_apply(struct client *c)
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
void client_routes_remove(struct client *c)
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

static void client_script_ctx(struct client *c, struct script_ctx *sc)
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
	sc->remote_port = ntohs(c->remote.sa.sa_family == AF_INET6 ? c->remote.in6.sin6_port :
				c->remote.in4.sin_port);
}

/* The --down command and the pushed DNS taken back (exit, or a changed push). */
void client_down(struct client *c)
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
static char *client_net_sig(struct client *c)
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
static void client_unapply(struct client *c)
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
int client_apply(struct client *c)
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
	err = o->ifconfig_local ? client_addr4_apply(c, c->ifname, o->ifconfig_local,
						     o->ifconfig_remote,
						     o->topology == OPT_TOPOLOGY_SUBNET) : 0;
	err = err ?: o->ifconfig_ipv6_local ? client_addr6_apply(c) : 0;
	if (err)
		return err;
	/* As stock: ADD_ROUTES only when there is a route to add. */
	if (o->routes.n || o->routes6.n || (o->redirect_gateway & OPT_RG_ENABLE))
		client_state_set(c, CONN_ADD_ROUTES, CONN_WHY_NONE);
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
