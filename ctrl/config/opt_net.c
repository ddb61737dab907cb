/*
 * opt_net.c - owns the device, address, route and DNS directives: dev-type, topology,
 * ifconfig and ifconfig-ipv6, the persist-* flags, route and route-ipv6,
 * route-gateway, redirect-gateway / redirect-private, route-delay, route-metric,
 * pull-filter, dhcp-option and the 2.6 `dns` grammar. Addresses are checked, not
 * resolved: a configured route may name a host, a pushed one must be an address (sluice
 * has no allow-pull-fqdn). ctrl/client applies what is stored here.
 *
 * Called from the ctrl thread only, through opt_dispatch() (opt_dispatch.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "options_int.h"

/* --- device and addresses --------------------------------------------------------- */

static int h_dev_type(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "tun", "tap", "null", NULL };
	int k, ret = opt_get_word(d, 1, w, "tun, tap or null", &k, err, errlen);

	if (!ret)
		c->o->dev_type = ARG(1);
	return ret;
}

static int h_topology(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "net30", "p2p", "subnet", NULL };
	int k, ret = opt_get_word(d, 1, w, "net30, p2p or subnet", &k, err, errlen);

	if (!ret)
		c->o->topology = (enum opt_topology)k;
	return ret;
}

static int h_ifconfig(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	char p1[80], p2[80];

	/* OpenVPN takes names only with allow-pull-fqdn, which sluice does not offer. */
	if (!opt_is_ipv4(ARG(1)) || !opt_is_ipv4(ARG(2)))
		return ERR("ifconfig expects two IPv4 addresses, got '%s' '%s'",
			   opt_printable(ARG(1), p1, sizeof(p1)),
			   opt_printable(ARG(2), p2, sizeof(p2)));
	c->o->ifconfig_local = ARG(1);
	c->o->ifconfig_remote = ARG(2);
	return 0;
}

static int h_ifconfig_ipv6(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	const char *local;
	unsigned int bits;
	uint8_t addr[16];
	char p1[80], p2[80];

	if (!opt_parse_ipv6_bits(&c->o->arena, ARG(1), addr, &bits, &local) || !opt_is_ipv6(ARG(2)))
		return ERR("ifconfig-ipv6 expects ADDR/BITS and an IPv6 address, got '%s' '%s'",
			   opt_printable(ARG(1), p1, sizeof(p1)),
			   opt_printable(ARG(2), p2, sizeof(p2)));
	if (bits < 64 || bits > 124)
		return ERR("ifconfig-ipv6 expects a prefix length 64..124, got /%u", bits);
	c->o->ifconfig_ipv6_local = local;
	c->o->ifconfig_ipv6_netbits = bits;
	c->o->ifconfig_ipv6_remote = ARG(2);
	return 0;
}

/* --- routes and DNS --------------------------------------------------------------- */

/* vpn_gateway, net_gateway, remote_host: OpenVPN's is_special_addr(). */
static bool is_special_addr(const char *s)
{
	return !strcmp(s, "vpn_gateway") || !strcmp(s, "net_gateway") ||
	       !strcmp(s, "remote_host");
}

/* A host name as OpenVPN's dns_addr_safe() accepts it. */
static bool is_hostname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 255)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

/* A route word: "default" means not given (route.c is_route_parm_defined()). */
static const char *route_parm(const struct config_directive *d, int i)
{
	return d->argc > i && strcmp(ARG(i), "default") ? ARG(i) : NULL;
}

/* Names only in the config: a pushed route must be an address (no allow-pull-fqdn). */
static bool route_addr_ok(const struct opt_ctx *c, const char *s)
{
	return opt_is_ipv4(s) || is_special_addr(s) || (c->where != WHERE_PUSH && is_hostname(s));
}

static int h_route(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char *mask = route_parm(d, 2), *gw = route_parm(d, 3), *metric = route_parm(d, 4);
	struct options_route *r;
	unsigned int m;
	char p[80];

	if (!route_addr_ok(c, ARG(1)))
		return ERR("route expects a network address, got '%s'",
			   opt_printable(ARG(1), p, sizeof(p)));
	if (mask && !opt_is_ipv4(mask))
		return ERR("route expects a netmask such as 255.255.255.0, got '%s'",
			   opt_printable(mask, p, sizeof(p)));
	if (gw && !route_addr_ok(c, gw))
		return ERR("route expects a gateway address, got '%s'",
			   opt_printable(gw, p, sizeof(p)));
	if (metric && opt_get_uint(d, 4, 0, INT_MAX, &m, err, errlen))
		return -EINVAL;
	r = VEC_ADD(c->o->routes);
	if (!r)
		return -ENOMEM;
	r->network = ARG(1);
	r->netmask = mask;
	r->gateway = gw;
	r->metric = metric;
	return 0;
}

static int h_route_ipv6(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char *gw = route_parm(d, 2), *metric = route_parm(d, 3);
	struct options_route6 *r;
	unsigned int bits, m;
	uint8_t addr[16];
	char p[80];

	if (!opt_parse_ipv6_bits(&c->o->arena, ARG(1), addr, &bits, NULL))
		return ERR("route-ipv6 expects NETWORK/BITS, got '%s'",
			   opt_printable(ARG(1), p, sizeof(p)));
	if (gw && !opt_is_ipv6(gw))
		return ERR("route-ipv6 expects an IPv6 gateway, got '%s'",
			   opt_printable(gw, p, sizeof(p)));
	if (metric && opt_get_uint(d, 3, 0, INT_MAX, &m, err, errlen))
		return -EINVAL;
	r = VEC_ADD(c->o->routes6);
	if (!r)
		return -ENOMEM;
	r->network = ARG(1);
	r->gateway = gw;
	r->metric = metric;
	return 0;
}

static int h_route_gateway(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	char p[80];

	if (!strcmp(ARG(1), "dhcp")) {
		c->o->route_gateway_dhcp = true;
		return 0;
	}
	if (!route_addr_ok(c, ARG(1)))
		return ERR("route-gateway expects an address or 'dhcp', got '%s'",
			   opt_printable(ARG(1), p, sizeof(p)));
	c->o->route_gateway = ARG(1);
	return 0;
}

static int h_redirect_gateway(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	static const struct { const char *name; unsigned int flag; } flags[] = {
		{ "local", OPT_RG_LOCAL }, { "autolocal", OPT_RG_AUTO_LOCAL },
		{ "def1", OPT_RG_DEF1 }, { "bypass-dhcp", OPT_RG_BYPASS_DHCP },
		{ "bypass-dns", OPT_RG_BYPASS_DNS }, { "block-local", OPT_RG_BLOCK_LOCAL },
		{ "ipv6", OPT_RG_IPV6 },
	};
	unsigned int rg = c->o->redirect_gateway;
	char p[80];
	size_t k;
	int i;

	if (rg & OPT_RG_ENABLE)
		opt_warnf(c->o, &d->src, "redirect-gateway/redirect-private given more than once");
	rg |= OPT_RG_ENABLE;
	if (!strcmp(ARG(0), "redirect-gateway"))
		rg |= OPT_RG_REROUTE_GW;
	for (i = 1; i < d->argc; i++) {
		if (!strcmp(ARG(i), "!ipv4")) {
			rg &= ~(OPT_RG_REROUTE_GW | OPT_RG_ENABLE);
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(flags); k++)
			if (!strcmp(ARG(i), flags[k].name))
				break;
		if (k == ARRAY_SIZE(flags))
			return ERR("%s: unknown flag '%s' (local, autolocal, def1, bypass-dhcp, "
				   "bypass-dns, block-local, ipv6, !ipv4)", ARG(0),
				   opt_printable(ARG(i), p, sizeof(p)));
		rg |= flags[k].flag;
	}
	c->o->redirect_gateway = rg;
	return 0;
}

static int h_route_delay(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	int ret = 0;

	c->o->has_route_delay = true;
	c->o->route_delay = 0;
	if (NARGS >= 1)
		ret = opt_get_uint(d, 1, 0, INT_MAX, &c->o->route_delay, err, errlen);
	if (!ret && NARGS == 2)
		ret = opt_get_uint(d, 2, 0, INT_MAX, &c->o->route_delay_window, err, errlen);
	return ret;
}

static int h_route_metric(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	unsigned int v;
	int ret = opt_get_uint(d, 1, 0, INT_MAX, &v, err, errlen);

	if (!ret)
		c->o->route_metric = (int)v;
	return ret;
}

static int h_pull_filter(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	static const char *const w[] = { "accept", "ignore", "reject", NULL };
	struct options_pull_filter_rule *f;
	int k, ret = opt_get_word(d, 1, w, "accept, ignore or reject", &k, err, errlen);

	if (ret)
		return ret;
	f = VEC_ADD(c->o->pull_filters);
	if (!f)
		return -ENOMEM;
	f->type = (enum opt_pull_filter)k;
	f->prefix = ARG(2);
	return 0;
}

static int h_dhcp_option(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	struct options_dhcp_option *o;

	(void)err, (void)errlen;
	o = VEC_ADD(c->o->dhcp_options);
	if (!o)
		return -ENOMEM;
	o->type = ARG(1);
	o->value = NARGS == 2 ? ARG(2) : NULL;
	return 0;
}

/* The 2.6 `dns` grammar, checked here and stored as text for whoever applies it. */
static int check_dns(const struct config_directive *d, bool pushed, char *err, size_t errlen)
{
	static const char *const dnssec[] = { "yes", "no", "optional", NULL };
	static const char *const transport[] = { "plain", "DoH", "DoT", NULL };
	unsigned long long prio;
	char p[80];
	int i, k;

	if (ARG_IS(1, "search-domains") && NARGS >= 2)
		return 0;
	if (!ARG_IS(1, "server") || NARGS < 4)
		return ERR("dns expects 'search-domains DOMAIN...' or 'server N KEYWORD VALUE...'");
	/* Priorities are 0..127, or -128..127 when pushed (dns_server_priority_parse()). */
	if (!opt_parse_num(ARG(2)[0] == '-' && pushed ? ARG(2) + 1 : ARG(2), 0, 128, &prio) ||
	    (ARG(2)[0] != '-' && prio > 127))
		return ERR("dns server expects a priority %s..127, got '%s'",
			   pushed ? "-128" : "0", opt_printable(ARG(2), p, sizeof(p)));
	if (ARG_IS(3, "address")) {
		for (i = 4; i < d->argc; i++) {
			char a[64];
			char *end;

			snprintf(a, sizeof(a), "%s", ARG(i));
			/* [addr]:port and addr:port forms are allowed; check the address. */
			end = a[0] == '[' ? strchr(a, ']') : NULL;
			if (end && (*end = '\0', opt_is_ipv6(a + 1)))
				continue;
			if (opt_is_ipv6(a) || opt_is_ipv4(a))
				continue;
			end = strrchr(a, ':');
			if (end && (*end = '\0', opt_is_ipv4(a)))
				continue;
			return ERR("dns server expects addresses, got '%s'",
				   opt_printable(ARG(i), p, sizeof(p)));
		}
		return 0;
	}
	if (ARG_IS(3, "resolve-domains"))
		return 0;
	if (ARG_IS(3, "dnssec") && NARGS == 4)
		return opt_get_word(d, 4, dnssec, "yes, no or optional", &k, err, errlen);
	if (ARG_IS(3, "transport") && NARGS == 4)
		return opt_get_word(d, 4, transport, "plain, DoH or DoT", &k, err, errlen);
	if (ARG_IS(3, "sni") && NARGS == 4)
		return 0;
	return ERR("dns server expects address, resolve-domains, dnssec, transport or sni");
}

static int h_dns(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot;
	int ret = check_dns(d, c->where == WHERE_PUSH, err, errlen);

	if (ret)
		return ret;
	slot = VEC_ADD(c->o->dns);
	if (!slot)
		return -ENOMEM;
	*slot = opt_join_args(&c->o->arena, d, 1);
	return *slot ? 0 : -ENOMEM;
}

/* --- the table -------------------------------------------------------------------- */

static const struct opt_def net_defs[] = {
	/* Device and addresses. */
	STR("dev", C, dev),
	FN("dev-type", C, 1, 1, h_dev_type, "tun, tap or null"),
	STR("dev-node", C, dev_node),
	FN("topology", CP, 1, 1, h_topology, "net30, p2p or subnet"),
	FN("ifconfig", CP, 2, 2, h_ifconfig, "LOCAL REMOTE-OR-NETMASK"),
	FN("ifconfig-ipv6", CP, 2, 2, h_ifconfig_ipv6, "ADDR/BITS REMOTE"),
	NOOP("tun-ipv6", CP, 0, 0),	/* ignored by 2.6 too; server-ipv6 still pushes it */
	UINT("txqueuelen", C, txqueuelen, 0, INT_MAX),
	FLAG("persist-tun", CP, persist_tun),
	FLAG("persist-key", CP, persist_key),
	FLAG("persist-local-ip", C, persist_local_ip),
	FLAG("persist-remote-ip", C, persist_remote_ip),
	/* Routes and DNS. */
	FN("route", CR, 1, 4, h_route, "NETWORK [NETMASK [GATEWAY [METRIC]]]"),
	FN("route-ipv6", CR, 1, 3, h_route_ipv6, "NETWORK/BITS [GATEWAY [METRIC]]"),
	FN("route-gateway", CP, 1, 1, h_route_gateway, "ADDRESS or dhcp"),
	FN("redirect-gateway", CR, 0, CONFIG_PARMS_MAX - 1, h_redirect_gateway, "[FLAG...]"),
	FN("redirect-private", CR, 0, CONFIG_PARMS_MAX - 1, h_redirect_gateway, "[FLAG...]"),
	FLAG("route-nopull", C, route_nopull),
	FN("route-delay", CP, 0, 2, h_route_delay, "[SECONDS [WINDOW]]"),
	FN("route-metric", C, 1, 1, h_route_metric, "METRIC"),
	FLAG("block-ipv6", CR, block_ipv6),
	FLAG("block-outside-dns", CR, block_outside_dns),
	FN("pull-filter", C, 2, 2, h_pull_filter, "accept|ignore|reject TEXT"),
	FN("dhcp-option", CR, 1, 2, h_dhcp_option, "TYPE [VALUE]"),
	FN("dns", CR, 1, CONFIG_PARMS_MAX - 1, h_dns, "search-domains ... or server N ..."),
};

const struct opt_table opt_net_table = OPT_TABLE(net_defs);
