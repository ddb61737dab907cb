/*
 * server_route.c - owns where server mode's packets go: a client's tunnel
 * addresses (client-config-dir `ifconfig-push` / `ifconfig-ipv6-push`, else
 * the pool, which ifconfig-pool-persist keeps in a file across restarts),
 * its routes in the data plane (its addresses as /32 and /128 plus its
 * `iroute`s, in the LPM table tun_rx routes by and tun_tx checks sources
 * against), and the server's own IPv6 address and `route` / `route-ipv6`
 * on the TUN device.
 *
 * Thread: ctrl only. Route changes are staged (pipeline_route_add and
 * _del_peer) and marked dirty; server_route_publish makes them visible to
 * the data threads in one step, from server_run and once a second, so a
 * burst of clients costs one publication. A reaped client's routes go
 * before its peer: no data thread can route to a peer that is gone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../io/io.h"
#include "../../io/pipeline.h"
#include "server_int.h"

/* ---- a client's addresses and routes ------------------------------------ */

/* Addresses from client-config-dir or the pool. */
int server_route_assign(struct server *s, struct srv_client *c)
{
	bool need_pool = (!c->ccd->has_ifconfig && s->pool.has_v4) ||
			 (!c->ccd->has_ifconfig6 && s->pool.has_v6);

	c->pool_idx = -1;
	if (need_pool) {
		int idx = srvpool_alloc(&s->pool, c->cn);

		if (idx < 0)
			return idx;
		c->pool_idx = idx;
	}
	if (c->ccd->has_ifconfig) {
		c->v4 = c->ccd->ifc_local;
		c->v4_second = c->ccd->ifc_second;
	} else if (s->pool.has_v4) {
		srvpool_v4(&s->pool, (uint32_t)c->pool_idx, s->o, &c->v4, &c->v4_second);
	}
	if (c->ccd->has_ifconfig6) {
		memcpy(c->v6, c->ccd->ifc6, 16);
		c->has_v6 = true;
	} else if (s->pool.has_v6) {
		srvpool_v6(&s->pool, (uint32_t)c->pool_idx, c->v6);
		c->has_v6 = true;
	}
	return 0;
}

int server_route_add_client(struct server *s, struct srv_client *c)
{
	int rc = 0;

	if (c->v4)
		rc = pipeline_route_add(s->pl, AF_INET, &c->v4, 32, c->id);
	if (!rc && c->has_v6)
		rc = pipeline_route_add(s->pl, AF_INET6, c->v6, 128, c->id);
	for (unsigned int i = 0; !rc && i < c->ccd->n_iroutes; i++)
		rc = pipeline_route_add(s->pl, c->ccd->iroute[i].family, c->ccd->iroute[i].addr,
					c->ccd->iroute[i].plen, c->id);
	s->routes_dirty = true;
	return rc;
}

void server_route_log_learn(const struct srv_client *c)
{
	char a[INET6_ADDRSTRLEN], name[200];

	server_client_name(c, name, sizeof(name));
	if (c->v4)
		log_info("MULTI: Learn: %s -> %s", inet_ntop(AF_INET, &c->v4, a, sizeof(a)), name);
	if (c->has_v6)
		log_info("MULTI: Learn: %s -> %s", inet_ntop(AF_INET6, c->v6, a, sizeof(a)), name);
	for (unsigned int i = 0; i < c->ccd->n_iroutes; i++)
		log_info("MULTI: internal route %s/%u -> %s",
			 inet_ntop(c->ccd->iroute[i].family, c->ccd->iroute[i].addr, a, sizeof(a)),
			 c->ccd->iroute[i].plen, name);
}

void server_route_del_client(struct server *s, struct srv_client *c)
{
	if (c->peer_added) {
		pipeline_route_del_peer(s->pl, c->id);
		s->routes_dirty = true;
	}
	if (c->pool_idx >= 0)
		srvpool_release(&s->pool, (uint32_t)c->pool_idx);
	c->pool_idx = -1;
}

void server_route_publish(struct server *s)
{
	if (s->routes_dirty && !pipeline_routes_publish(s->pl))
		s->routes_dirty = false;
}

/* ---- ifconfig-pool-persist ----------------------------------------------- */

int server_persist_load(struct server *s, char *err, size_t errlen)
{
	const struct options *o = s->o;
	int rc;

	if (!o->ifconfig_pool_persist)
		return 0;
	if (o->duplicate_cn) {
		log_warnx("WARNING: --ifconfig-pool-persist will not work with --duplicate-cn");
		return 0;
	}
	rc = srvpool_persist_load(&s->pool, o->ifconfig_pool_persist);
	if (rc) {
		snprintf(err, errlen, "ifconfig-pool-persist: cannot read %s: %s",
			 o->ifconfig_pool_persist, strerror(-rc));
		return rc;
	}
	s->persist = true;
	s->persist_next_ns = clock_mono_ns() + (int64_t)o->ifconfig_pool_persist_sec * NS_PER_SEC;
	return 0;
}

/* ifconfig-pool-persist SECONDS 0 makes the file read-only, as in stock. */
void server_persist_save(struct server *s)
{
	int rc;

	if (!s->persist || !s->o->ifconfig_pool_persist_sec)
		return;
	rc = srvpool_persist_save(&s->pool, s->o->ifconfig_pool_persist);
	if (rc) {
		errno = -rc;
		log_warn("ifconfig-pool-persist: cannot write %s", s->o->ifconfig_pool_persist);
	}
}

void server_persist_tick(struct server *s, int64_t now_ns)
{
	if (s->persist && s->o->ifconfig_pool_persist_sec && now_ns >= s->persist_next_ns) {
		server_persist_save(s);
		s->persist_next_ns = now_ns + (int64_t)s->o->ifconfig_pool_persist_sec * NS_PER_SEC;
	}
}

/* ---- the server's own address and routes on the TUN device -------------- */

static void route4_add(const char *ifname, const struct options_route *r)
{
	struct in_addr dst, mask;
	uint32_t m;
	int plen = 0, err;

	if (inet_pton(AF_INET, r->network, &dst) != 1 ||
	    inet_pton(AF_INET, r->netmask ? r->netmask : "255.255.255.255", &mask) != 1) {
		log_warnx("route: cannot add '%s %s': only numeric network/netmask supported",
			  r->network, r->netmask ? r->netmask : "");
		return;
	}
	for (m = ntohl(mask.s_addr); m & 0x80000000u; m <<= 1)
		plen++;
	dst.s_addr &= mask.s_addr;
	err = nl_route_add(AF_INET, &dst, plen, NULL, ifname,
			   r->metric && strcmp(r->metric, "default") ? atoi(r->metric) : 0);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route: cannot add %s/%d dev %s", r->network, plen, ifname);
		return;
	}
	log_info("route: %s/%d dev %s", r->network, plen, ifname);
}

static void route6_add(const char *ifname, const char *net)
{
	char buf[64], *slash;
	struct in6_addr a;
	int plen = 128, err;

	snprintf(buf, sizeof(buf), "%s", net);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		plen = atoi(slash + 1);
	}
	if (inet_pton(AF_INET6, buf, &a) != 1 || plen < 0 || plen > 128) {
		log_warnx("route-ipv6: cannot add '%s'", net);
		return;
	}
	err = nl_route_add(AF_INET6, &a, plen, NULL, ifname, 0);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route-ipv6: cannot add %s dev %s", net, ifname);
		return;
	}
	log_info("route-ipv6: %s dev %s", net, ifname);
}

int server_tun_setup(const struct options *o, const char *ifname)
{
	if (o->ifconfig_ipv6_local) {
		struct in6_addr a;
		int err;

		if (inet_pton(AF_INET6, o->ifconfig_ipv6_local, &a) != 1) {
			log_warnx("tun: bad ifconfig-ipv6 '%s'", o->ifconfig_ipv6_local);
			return -EINVAL;
		}
		log_info("tun: add address %s/%u on %s", o->ifconfig_ipv6_local,
			 o->ifconfig_ipv6_netbits, ifname);
		err = nl_addr_add(ifname, AF_INET6, &a, (int)o->ifconfig_ipv6_netbits, NULL);
		if (err && err != -EEXIST) {
			errno = -err;
			log_warn("tun: cannot add %s to %s", o->ifconfig_ipv6_local, ifname);
			return err;
		}
	}
	for (size_t i = 0; i < o->routes.n; i++)
		route4_add(ifname, &o->routes.v[i]);
	for (size_t i = 0; i < o->routes6.n; i++)
		route6_add(ifname, o->routes6.v[i].network);
	return 0;
}
