/*
 * opt_server.c - owns server mode's directives and their expansion: server,
 * server-ipv6, ifconfig-pool, ifconfig-pool-persist, client-config-dir, tmp-dir,
 * client-to-client, duplicate-cn, max-clients, connect-freq-initial and push, then, for
 * options_finalize(), helper.c's expansion of `server` and `server-ipv6` into mode
 * server, tls-server, the server's own addresses, the address pools, routes and the
 * options pushed to every client (opt_push_add()).
 *
 * Called from the ctrl thread only: the handlers through opt_dispatch()
 * (opt_dispatch.c), the expansion from options_finalize() (opt_finalize.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "options_int.h"

/* OpenVPN's IFCONFIG_POOL_MAX and IFCONFIG_POOL_MIN_NETBITS. */
#define POOL_MAX	65536
#define POOL_MIN_NETBITS 16

static bool parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

/* --- directives ------------------------------------------------------------------- */

static int h_connect_freq_initial(struct opt_ctx *c, struct config_directive *d, char *err,
				  size_t errlen)
{
	int ret = opt_get_uint(d, 1, 1, INT_MAX, &c->o->connect_freq_initial_n, err, errlen);

	return ret ? ret : opt_get_uint(d, 2, 1, INT_MAX, &c->o->connect_freq_initial_sec, err,
					errlen);
}

static int h_server(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options *o = c->o;
	char p1[80], p2[80];

	if (!parse_ipv4(ARG(1), &o->server_network) || !parse_ipv4(ARG(2), &o->server_netmask) ||
	    !o->server_network || !o->server_netmask)
		return ERR("server expects NETWORK NETMASK, got '%s' '%s'",
			   opt_printable(ARG(1), p1, sizeof(p1)),
			   opt_printable(ARG(2), p2, sizeof(p2)));
	if (NARGS == 3 && strcmp(ARG(3), "nopool"))
		return ERR("server expects 'nopool' after the netmask");
	o->has_server = true;
	o->server_nopool = NARGS == 3;
	return 0;
}

static int h_server_ipv6(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	struct options *o = c->o;
	char p[80];

	if (!opt_parse_ipv6_bits(&o->arena, ARG(1), o->server_ipv6_network,
				 &o->server_ipv6_netbits, NULL))
		return ERR("server-ipv6 expects NETWORK/BITS, got '%s'",
			   opt_printable(ARG(1), p, sizeof(p)));
	if (o->server_ipv6_netbits < 64 || o->server_ipv6_netbits > 124)
		return ERR("server-ipv6 expects a prefix length 64..124, got /%u",
			   o->server_ipv6_netbits);
	o->has_server_ipv6 = true;
	return 0;
}

static int h_ifconfig_pool(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	struct options *o = c->o;

	if (!parse_ipv4(ARG(1), &o->ifconfig_pool_start) ||
	    !parse_ipv4(ARG(2), &o->ifconfig_pool_end) ||
	    (NARGS == 3 && !parse_ipv4(ARG(3), &o->ifconfig_pool_netmask)))
		return ERR("ifconfig-pool expects START END [NETMASK] as IPv4 addresses");
	if (o->ifconfig_pool_start > o->ifconfig_pool_end ||
	    o->ifconfig_pool_end - o->ifconfig_pool_start >= POOL_MAX)
		return ERR("ifconfig-pool expects START <= END and at most %d addresses",
			   POOL_MAX);
	if (NARGS == 2)
		o->ifconfig_pool_netmask = 0;
	o->has_ifconfig_pool = true;
	return 0;
}

static int h_ifconfig_pool_persist(struct opt_ctx *c, struct config_directive *d, char *err,
				   size_t errlen)
{
	c->o->ifconfig_pool_persist = ARG(1);
	return NARGS == 2 ? opt_get_uint(d, 2, 0, INT_MAX, &c->o->ifconfig_pool_persist_sec, err,
					 errlen) : 0;
}

static int h_push(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot;

	if (strchr(ARG(1), ','))
		return ERR("push expects one option without commas (PUSH_REPLY separates "
			   "options with commas)");
	(void)errlen;
	slot = VEC_ADD(c->o->push);
	if (!slot)
		return -ENOMEM;
	*slot = ARG(1);
	return 0;
}

/* --- expansion for options_finalize ----------------------------------------------- */

static const char *ipv4_str(struct options *o, uint32_t a)
{
	struct in_addr in = { .s_addr = htonl(a) };
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &in, buf, sizeof(buf));
	return config_arena_strdup(&o->arena, buf);
}

int opt_push_add(struct options *o, const char *text)
{
	const char **slot;

	if (!text)
		return -ENOMEM;
	slot = VEC_ADD(o->push);
	if (!slot)
		return -ENOMEM;
	*slot = text;
	return 0;
}

/* netmask_to_netbits(): the prefix length of a contiguous mask covering @net, or -1. */
static int netmask_bits(uint32_t net, uint32_t mask)
{
	int bits;

	for (bits = 0; bits <= 32; bits++) {
		uint32_t m = bits ? ~0u << (32 - bits) : 0;

		if (m == mask)
			return (net & mask) == net && bits < 32 ? bits : -1;
	}
	return -1;
}

static int pool_set(struct options *o, uint32_t start, uint32_t end, char *err, size_t errlen)
{
	if (start > end || end - start >= POOL_MAX)
		return opt_errorf(err, errlen, "server: the address pool must hold 1..%d addresses",
				  POOL_MAX);
	o->has_ifconfig_pool = true;
	o->ifconfig_pool_start = start;
	o->ifconfig_pool_end = end;
	return 0;
}

/* helper.c's `server NETWORK NETMASK` expansion for tun (net30, p2p, subnet) and tap. */
static int server_expand_tun(struct options *o, int bits, char *err, size_t errlen)
{
	uint32_t net = o->server_network, mask = o->server_netmask, bcast = net | ~mask;
	bool pool = !o->server_nopool;
	struct options_route *r;
	int ret = 0;

	if (bits > 29)
		return opt_errorf(err, errlen, "server with dev tun needs a /29 or larger subnet");
	o->ifconfig_local = ipv4_str(o, net + 1);
	if (o->topology == OPT_TOPOLOGY_SUBNET) {
		o->ifconfig_remote = ipv4_str(o, mask);
		if (pool)
			ret = pool_set(o, net + 2, bcast - 1, err, errlen);
		o->ifconfig_pool_netmask = mask;
		if (!ret)
			ret = opt_push_add(o, config_arena_printf(&o->arena, "route-gateway %s",
								  ipv4_str(o, net + 1)));
		if (!o->route_gateway)
			o->route_gateway = ipv4_str(o, net + 2);
	} else {
		o->ifconfig_remote = ipv4_str(o, net + 2);
		if (pool)
			ret = pool_set(o, net + 4, bcast - (bits == 29 ? 0 : 4), err, errlen);
		r = ret ? NULL : VEC_ADD(o->routes);
		if (!ret && !r)
			return -ENOMEM;
		if (r) {
			r->network = ipv4_str(o, net);
			r->netmask = ipv4_str(o, mask);
		}
		if (!ret && o->client_to_client)
			ret = opt_push_add(o, config_arena_printf(&o->arena, "route %s %s",
								  ipv4_str(o, net),
								  ipv4_str(o, mask)));
		else if (!ret && o->topology == OPT_TOPOLOGY_NET30)
			ret = opt_push_add(o, config_arena_printf(&o->arena, "route %s",
								  ipv4_str(o, net + 1)));
	}
	if (ret)
		return ret;
	return opt_push_add(o, config_arena_printf(&o->arena, "topology %s",
						   o->topology == OPT_TOPOLOGY_SUBNET ? "subnet" :
						   o->topology == OPT_TOPOLOGY_P2P ? "p2p" :
						   "net30"));
}

int opt_server_expand(struct options *o, char *err, size_t errlen)
{
	uint32_t net = o->server_network, mask = o->server_netmask;
	int bits = netmask_bits(net, mask), ret;

	if (o->client)
		return opt_errorf(err, errlen, "server and client cannot be used together");
	if (!o->server_nopool && o->has_ifconfig_pool)
		return opt_errorf(err, errlen, "server already defines an ifconfig-pool, so you "
				  "can't also give ifconfig-pool");
	if (o->dev_kind != OPT_DEV_TUN && o->dev_kind != OPT_DEV_TAP)
		return opt_errorf(err, errlen, "server only makes sense with dev tun or dev tap");
	if (bits < 0)
		return opt_errorf(err, errlen, "server: network/netmask combination is invalid");
	if (bits < POOL_MIN_NETBITS)
		return opt_errorf(err, errlen, "server: the subnet must be a /%d or smaller",
				  POOL_MIN_NETBITS);
	o->mode = OPT_MODE_SERVER;
	o->tls_server = true;
	if (o->dev_kind == OPT_DEV_TUN) {
		ret = server_expand_tun(o, bits, err, errlen);
	} else {
		if (bits > 30)
			return opt_errorf(err, errlen, "server with dev tap needs a /30 or larger "
					  "subnet");
		o->ifconfig_local = ipv4_str(o, net + 1);
		o->ifconfig_remote = ipv4_str(o, mask);
		ret = o->server_nopool ? 0 : pool_set(o, net + 2, (net | ~mask) - 1, err, errlen);
		o->ifconfig_pool_netmask = mask;
		if (!ret)
			ret = opt_push_add(o, config_arena_printf(&o->arena, "route-gateway %s",
								  ipv4_str(o, net + 1)));
	}
	if (!ret && (!o->ifconfig_local || !o->ifconfig_remote))
		ret = -ENOMEM;
	return ret;
}

static void ipv6_add(const uint8_t in[16], uint32_t add, uint8_t out[16])
{
	int i;

	memcpy(out, in, 16);
	for (i = 15; i >= 0 && add; i--) {
		uint32_t sum = out[i] + (add & 0xff);

		out[i] = (uint8_t)sum;
		add = (add >> 8) + (sum >> 8);
	}
}

static const char *ipv6_str(struct options *o, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, buf, sizeof(buf));
	return config_arena_strdup(&o->arena, buf);
}

/* helper.c's `server-ipv6 NETWORK/BITS` expansion. */
int opt_server_ipv6_expand(struct options *o, char *err, size_t errlen)
{
	unsigned int bits = o->server_ipv6_netbits;
	uint8_t a[16];

	if (o->client)
		return opt_errorf(err, errlen, "server-ipv6 and client cannot be used together");
	if (o->server_nopool)
		return opt_errorf(err, errlen, "server-ipv6 is incompatible with 'nopool'");
	o->mode = OPT_MODE_SERVER;
	o->tls_server = true;
	ipv6_add(o->server_ipv6_network, 1, a);
	o->ifconfig_ipv6_local = ipv6_str(o, a);
	ipv6_add(o->server_ipv6_network, 2, a);
	o->ifconfig_ipv6_remote = ipv6_str(o, a);
	o->ifconfig_ipv6_netbits = bits;
	/* Big pools keep OpenVPN's historical +0x1000 base; small ones start at +2. */
	ipv6_add(o->server_ipv6_network, bits < 112 ? 0x1000 : 2, o->ifconfig_ipv6_pool_base);
	o->ifconfig_ipv6_pool_netbits = bits;
	o->has_ifconfig_ipv6_pool = true;
	if (!o->ifconfig_ipv6_local || !o->ifconfig_ipv6_remote)
		return -ENOMEM;
	return opt_push_add(o, "tun-ipv6");
}

/* auth-gen-token [lifetime] [renewal] [external-auth], in stock's argument order. */
static int h_auth_gen_token(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	int ret;

	c->o->auth_gen_token = true;
	c->o->auth_token_lifetime = 0;
	c->o->auth_token_renewal = 0;
	c->o->auth_token_external = false;
	for (int i = 1; i <= NARGS; i++) {
		if (!strcmp(ARG(i), "external-auth") && i >= 2) {
			c->o->auth_token_external = true;
		} else if (i <= 2) {
			ret = opt_get_uint(d, i, 0, INT_MAX, i == 1 ? &c->o->auth_token_lifetime :
					   &c->o->auth_token_renewal, err, errlen);
			if (ret)
				return ret;
		} else {
			return ERR("auth-gen-token expects [LIFETIME] [RENEWAL] [external-auth]");
		}
	}
	return 0;
}

/* --- the table -------------------------------------------------------------------- */

static const struct opt_def server_defs[] = {
	FN("connect-freq-initial", C, 2, 2, h_connect_freq_initial, "N SECONDS"),
	FN("server", C, 2, 3, h_server, "NETWORK NETMASK [nopool]"),
	FN("server-ipv6", C, 1, 1, h_server_ipv6, "NETWORK/BITS"),
	FN("ifconfig-pool", C, 2, 3, h_ifconfig_pool, "START END [NETMASK]"),
	FN("ifconfig-pool-persist", C, 1, 2, h_ifconfig_pool_persist, "FILE [SECONDS]"),
	STR("client-config-dir", C, client_config_dir),
	STR("tmp-dir", C, tmp_dir),
	FLAG("client-to-client", C, client_to_client),
	FLAG("duplicate-cn", C, duplicate_cn),
	UINT("max-clients", C, max_clients, 1, OPT_PEER_ID_MAX),
	FN("push", C, 1, 1, h_push, "\"OPTION ARGS...\" (one quoted option)"),
	FN("auth-gen-token", C, 0, 3, h_auth_gen_token, "[LIFETIME] [RENEWAL] [external-auth]"),
	{ .name = "auth-gen-token-secret", .flags = F_CONFIG | F_INLINE, .type = T_FILE, .min = 1,
	  .max = 1, .off = OFF(auth_token_secret), .usage = "FILE or an inline block" },
};

const struct opt_table opt_server_table = OPT_TABLE(server_defs);
