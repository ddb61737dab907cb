/*
 * opt_conn.c - owns the connection directives: remote, proto, ports, bind, connect-retry,
 * resolv-retry, socket buffers, tun-mtu and mssfix, mtu-disc, explicit-exit-notify, the
 * refused fragment and proxy directives, and keepalive (ping, ping-restart, ping-exit,
 * inactive). Outside a <connection> block the connection-level ones set o->ce, inside
 * one the block's own entry (c->ce); options_finalize() builds the connection list.
 *
 * Called from the ctrl thread only, through opt_dispatch() (opt_dispatch.c).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "options_int.h"

#define NPROXY	"is not supported by sluice (connect directly or use a system-wide proxy)"

/* --- connection level ------------------------------------------------------------- */

static int h_remote(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options_remote r = { .host = ARG(1), .src = d->src };
	struct options_remote *e;
	int ret;

	if (!*ARG(1))
		return ERR("remote expects a host name or address, got ''");
	if (NARGS >= 2) {
		ret = opt_get_port(d, 2, 1, &r.port, err, errlen);
		if (ret)
			return ret;
		r.has_port = true;
	}
	if (NARGS >= 3) {
		ret = opt_get_proto(d, 3, &r.proto, &r.af, err, errlen);
		if (ret)
			return ret;
		r.has_proto = true;
	}
	if (c->where == WHERE_CONN) {
		/* connection_entry_load_re(): the block's own remote. */
		c->ce->remote = r.host;
		if (r.has_port)
			c->ce->remote_port = r.port;
		if (r.has_proto) {
			c->ce->proto = r.proto;
			c->ce->af = r.af;
		}
		return 0;
	}
	e = VEC_ADD(c->o->remotes);
	if (!e)
		return -ENOMEM;
	*e = r;
	return 0;
}

static int h_proto(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	return opt_get_proto(d, 1, &c->ce->proto, &c->ce->af, err, errlen);
}

static int h_port(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	uint16_t port;
	int ret = opt_get_port(d, 1, 0, &port, err, errlen);

	if (ret)
		return ret;
	if (!strcmp(ARG(0), "port") || !strcmp(ARG(0), "lport"))
		c->ce->local_port = port;
	if (!strcmp(ARG(0), "port") || !strcmp(ARG(0), "rport"))
		c->ce->remote_port = port;
	if (!strcmp(ARG(0), "lport"))
		c->ce->has_local_port = true;
	return 0;
}

static int h_bind(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	if (NARGS && strcmp(ARG(1), "ipv6only"))
		return ERR("bind expects nothing or 'ipv6only'");
	c->ce->has_bind = true;
	c->ce->bind_ipv6_only = NARGS > 0;
	return 0;
}

static int h_nobind(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)d, (void)err, (void)errlen;
	c->ce->bind_local = false;
	return 0;
}

static int h_connect_retry(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	unsigned int v, max;
	int ret = opt_get_uint(d, 1, 0, INT_MAX, &v, err, errlen);

	if (ret)
		return ret;
	/* Kept to 16 bits, as OpenVPN does, so the exponential back-off cannot overflow. */
	if (v > 0xFFFF) {
		opt_warnf(c->o, &d->src, "connect-retry %u truncated to 65535", v);
		v = 0xFFFF;
	}
	c->ce->connect_retry = v;
	if (NARGS == 2) {
		ret = opt_get_uint(d, 2, 0, INT_MAX, &max, err, errlen);
		if (ret)
			return ret;
		c->ce->connect_retry_max = MAX(max, v);
	}
	return 0;
}

static int h_resolv_retry(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	unsigned int v;
	int ret;

	if (!strcmp(ARG(1), "infinite")) {
		c->o->resolv_retry = -1;
		return 0;
	}
	ret = opt_get_uint(d, 1, 0, INT_MAX, &v, err, errlen);
	if (!ret)
		c->o->resolv_retry = (int)v;
	return ret;
}

static int h_tun_mtu(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned int mtu, occ = 0;
	int ret = opt_get_uint(d, 1, 100, 65536, &mtu, err, errlen);	/* TUN_MTU_MIN..MAX */

	if (!ret && NARGS == 2)
		ret = opt_get_uint(d, 2, 0, 65536, &occ, err, errlen);
	if (ret)
		return ret;
	c->ce->tun_mtu = mtu;
	c->ce->occ_mtu = occ;
	return 0;
}

static int h_mssfix(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options_conn *ce = c->ce;
	unsigned int v;
	int ret;

	if (NARGS == 0) {
		ce->mssfix_default = true;
		ce->mssfix_encap = true;
		ce->mssfix_fixed = false;
		return 0;
	}
	ret = opt_get_uint(d, 1, 0, 65535, &v, err, errlen);
	if (ret)
		return ret;
	ce->mssfix = v;
	ce->mssfix_default = false;
	ce->mssfix_encap = false;
	if (ARG_IS(2, "mtu"))
		ce->mssfix_encap = true;
	else if (ARG_IS(2, "fixed"))
		ce->mssfix_fixed = true;
	else if (NARGS == 2)
		return ERR("mssfix expects 'mtu' or 'fixed' after the size");
	return 0;
}

static int h_mtu_disc(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "no", "maybe", "yes", NULL };
	int k, ret = opt_get_word(d, 1, w, "no, maybe or yes", &k, err, errlen);

	if (!ret)
		c->ce->mtu_disc = (enum opt_mtu_disc)(k + 1);
	return ret;
}

static int h_explicit_exit_notify(struct opt_ctx *c, struct config_directive *d, char *err,
				  size_t errlen)
{
	if (NARGS == 0) {
		c->ce->explicit_exit_notify = 1;
		return 0;
	}
	return opt_get_uint(d, 1, 0, INT_MAX, &c->ce->explicit_exit_notify, err, errlen);
}

/* --- keepalive -------------------------------------------------------------------- */

static int h_keepalive(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	int ret = opt_get_uint(d, 1, 0, INT_MAX, &c->o->keepalive_ping, err, errlen);

	return ret ? ret : opt_get_uint(d, 2, 0, INT_MAX, &c->o->keepalive_timeout, err, errlen);
}

static int h_ping_rec(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	int ret = opt_get_uint(d, 1, 0, INT_MAX, &c->o->ping_rec_timeout, err, errlen);

	if (!ret)
		c->o->ping_rec_action = strcmp(ARG(0), "ping-exit") ? OPT_PING_RESTART :
								       OPT_PING_EXIT;
	return ret;
}

static int h_inactive(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned long long bytes;
	int ret = opt_get_uint(d, 1, 0, INT_MAX, &c->o->inactive, err, errlen);

	if (!ret && NARGS == 2) {
		ret = opt_get_num(d, 2, 0, INT64_MAX, &bytes, err, errlen);
		if (!ret)
			c->o->inactive_bytes = (int64_t)bytes;
	}
	return ret;
}

/* --- the table -------------------------------------------------------------------- */

static const struct opt_def conn_defs[] = {
	/* Connection. */
	FN("remote", CC, 1, 3, h_remote, "HOST [PORT [PROTO]]"),
	FN("proto", CC, 1, 1, h_proto, "udp, tcp, tcp-client or tcp-server"),
	FN("port", CC, 1, 1, h_port, "PORT"),
	FN("lport", CC, 1, 1, h_port, "PORT"),
	FN("rport", CC, 1, 1, h_port, "PORT"),
	{ .name = "local", .flags = CC | F_CE, .type = T_STR, .min = 1, .max = 1,
	  .off = CE_OFF(local), .usage = "one address or name" },
	FN("bind", CC, 0, 1, h_bind, "nothing or ipv6only"),
	FN("nobind", CC, 0, 0, h_nobind, ""),
	{ .name = "float", .flags = CC | F_CE, .type = T_FLAG, .off = CE_OFF(is_float) },
	FN("connect-retry", CC, 1, 2, h_connect_retry, "SECONDS [MAX-SECONDS]"),
	UINT("connect-retry-max", CC, connect_retry_max, 0, INT_MAX),
	CE_UINT("server-poll-timeout", CC, server_poll_timeout, 0, INT_MAX),
	CE_UINT("connect-timeout", CC, server_poll_timeout, 0, INT_MAX),
	FN("resolv-retry", C, 1, 1, h_resolv_retry, "SECONDS or infinite"),
	FLAG("remote-random", C, remote_random),
	UINT("sndbuf", CP, sndbuf, 0, INT_MAX),
	UINT("rcvbuf", CP, rcvbuf, 0, INT_MAX),
	FLAG("fast-io", C, fast_io),
	NOOP("disable-dco", C, 0, 0),	/* sluice has no DCO: its own data plane always runs */
	FN("tun-mtu", CC | F_PULL, 1, 2, h_tun_mtu, "MTU [OCC-MTU]"),
	CE_UINT("tun-mtu-max", CC, tun_mtu_max, 68, 65536),
	FN("mssfix", CC, 0, 2, h_mssfix, "[BYTES [mtu|fixed]]"),
	FN("mtu-disc", CC, 1, 1, h_mtu_disc, "no, maybe or yes"),
	FN("explicit-exit-notify", CC | F_PULL, 0, 1, h_explicit_exit_notify, "[N]"),
	REJECT("fragment", "is not supported by sluice (set a smaller tun-mtu instead)"),
	REJECT("http-proxy", NPROXY),
	REJECT("http-proxy-user-pass", NPROXY),
	REJECT("socks-proxy", NPROXY),
	/* Keepalive. */
	FN("keepalive", C, 2, 2, h_keepalive, "PING-SECONDS RESTART-SECONDS"),
	UINT("ping", CP, ping, 0, INT_MAX),
	FN("ping-restart", CP, 1, 1, h_ping_rec, "SECONDS"),
	FN("ping-exit", CP, 1, 1, h_ping_rec, "SECONDS"),
	FLAG("ping-timer-rem", CP, ping_timer_rem),
	FN("inactive", CP, 1, 2, h_inactive, "SECONDS [BYTES]"),
};

const struct opt_table opt_conn_table = OPT_TABLE(conn_defs);
