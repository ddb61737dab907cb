/*
 * options.c - OpenVPN 2.6 directives into struct options. This file owns the lifecycle
 * of struct options: the defaults (options_init), the three loaders (file, buffer,
 * argv), the warnings, options_dump and options_free. The parser itself is split by
 * concern into opt_*.c files; options_int.h lists them and what they share. Facts come
 * from OpenVPN 2.6's options.c (add_option, options_postprocess_*), helper.c
 * (client/server/keepalive expansion) and push.c; the code is our own.
 *
 * Called from the ctrl thread only: at startup, on SIGHUP and for each PUSH_REPLY. Pure
 * parsing: nothing is resolved, executed or logged here. The only files opened are
 * `config` includes and a test-data-key file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "options_int.h"

/* --- loading ---------------------------------------------------------------------- */

void options_init(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = OPT_MODE_P2P;
	o->topology = OPT_TOPOLOGY_NET30;
	o->ce.proto = OPT_PROTO_UDP;
	o->ce.af = AF_UNSPEC;
	o->ce.local_port = OPT_PORT_DEFAULT;
	o->ce.remote_port = OPT_PORT_DEFAULT;
	o->ce.bind_local = true;
	o->ce.connect_retry = 1;
	o->ce.connect_retry_max = 300;
	o->ce.server_poll_timeout = 120;
	o->ce.tun_mtu = OPT_TUN_MTU_DEFAULT;
	o->ce.tun_mtu_max = OPT_TUN_MTU_MAX_DEFAULT;
	o->ce.mssfix_default = true;
	o->ce.mssfix_encap = true;
	o->ce.key_direction = -1;
	o->resolv_retry = -1;
	o->key_direction = -1;
	o->tls_timeout = 2;
	o->hand_window = 60;
	o->tran_window = 3600;
	o->reneg_sec = 3600;
	o->reneg_sec_min = -1;
	o->reneg_bytes = -1;
	o->auth = "SHA1";
	o->replay_window = 64;
	o->replay_time = 15;
	o->route_metric = -1;
	o->script_security = 1;
	o->verb = 1;
	o->status_interval = 60;
	o->status_version = 1;
	o->ifconfig_pool_persist_sec = 600;
	o->max_clients = 1024;
	o->test_data_key_direction = -1;
}

static void config_ctx(struct opt_ctx *c, struct options *o)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->ce = &o->ce;
	c->where = WHERE_CONFIG;
}

int options_load_file(struct options *o, const char *path, char *err, size_t errlen)
{
	struct opt_ctx c;

	config_ctx(&c, o);
	return opt_load_file(&c, path, NULL, err, errlen);
}

int options_load_buffer(struct options *o, const char *name, const char *buf, size_t len,
			char *err, size_t errlen)
{
	struct opt_ctx c;
	const char *n = config_arena_strdup(&o->arena, name);

	if (!n)
		return -ENOMEM;
	config_ctx(&c, o);
	return config_read_buffer(&o->arena, n, 1, buf, len, opt_dispatch, &c, err, errlen);
}

int options_load_argv(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
	struct opt_ctx c;

	config_ctx(&c, o);
	return config_read_argv(&o->arena, argc, argv, opt_dispatch, &c, err, errlen);
}

/* --- dump and free ---------------------------------------------------------------- */

static const char *file_str(const struct options_file *f)
{
	return !f->data ? "(none)" : f->is_inline ? "[[INLINE]]" : f->data;
}

static const char *s_or(const char *s)
{
	return s ? s : "(none)";
}

static void dump_conn(const struct options_conn *ce, size_t i, FILE *f)
{
	fprintf(f, "conn[%zu] remote %s %u proto %s%s local %s:%u bind %d float %d\n", i,
		s_or(ce->remote), ce->remote_port, options_proto_name(ce->proto),
		ce->af == AF_INET ? "4" : ce->af == AF_INET6 ? "6" : "", s_or(ce->local),
		ce->local_port, ce->bind_local, ce->is_float);
	fprintf(f, "conn[%zu] tun-mtu %u tun-mtu-max %u mssfix %u%s%s explicit-exit-notify %u "
		"connect-retry %u %u server-poll-timeout %u\n", i, ce->tun_mtu, ce->tun_mtu_max,
		ce->mssfix, ce->mssfix_encap ? " mtu" : "", ce->mssfix_fixed ? " fixed" : "",
		ce->explicit_exit_notify, ce->connect_retry, ce->connect_retry_max,
		ce->server_poll_timeout);
	fprintf(f, "conn[%zu] tls-auth %s key-direction %d tls-crypt %s tls-crypt-v2 %s\n", i,
		file_str(&ce->tls_auth), ce->key_direction, file_str(&ce->tls_crypt),
		file_str(&ce->tls_crypt_v2));
}

void options_dump(const struct options *o, FILE *f)
{
	size_t i;

	fprintf(f, "client %d pull %d tls-client %d tls-server %d mode %s\n", o->client, o->pull,
		o->tls_client, o->tls_server, o->mode == OPT_MODE_SERVER ? "server" : "p2p");
	fprintf(f, "dev %s dev-type %s topology %u ifconfig %s %s ifconfig-ipv6 %s/%u %s\n",
		s_or(o->dev), s_or(o->dev_type), o->topology, s_or(o->ifconfig_local),
		s_or(o->ifconfig_remote), s_or(o->ifconfig_ipv6_local), o->ifconfig_ipv6_netbits,
		s_or(o->ifconfig_ipv6_remote));
	for (i = 0; i < o->remotes.n; i++)
		fprintf(f, "remote %s %u%s\n", o->remotes.v[i].host, o->remotes.v[i].port,
			o->remotes.v[i].has_port ? "" : " (default port)");
	for (i = 0; i < o->conns.n; i++)
		dump_conn(&o->conns.v[i], i, f);
	fprintf(f, "ca %s cert %s key %s dh %s tls-auth %s tls-crypt %s tls-crypt-v2 %s\n",
		file_str(&o->ca), file_str(&o->cert), file_str(&o->key), file_str(&o->dh),
		file_str(&o->tls_auth), file_str(&o->tls_crypt), file_str(&o->tls_crypt_v2));
	fprintf(f, "remote-cert-tls %u verify-x509-name %s %u tls-version-min %u max %u "
		"peer-fingerprints %zu\n", o->remote_cert_tls, s_or(o->verify_x509_name),
		o->verify_x509_type, o->tls_version_min, o->tls_version_max,
		o->peer_fingerprints.n);
	fprintf(f, "cipher %s%s data-ciphers %s fallback %s auth %s comp %s allow-compression "
		"%u\n", s_or(o->cipher), o->cipher_pushed ? " (pushed)" : "", s_or(o->data_ciphers),
		s_or(o->data_ciphers_fallback), s_or(o->auth), options_comp_name(o->comp),
		o->allow_compression);
	fprintf(f, "reneg-sec %u hand-window %u tran-window %u replay-window %u %u peer-id %s%u "
		"protocol-flags 0x%x\n", o->reneg_sec, o->hand_window, o->tran_window,
		o->replay_window, o->replay_time, o->has_peer_id ? "" : "(none) ", o->peer_id,
		o->protocol_flags);
	fprintf(f, "ping %u ping-rec %u action %u keepalive %u %u\n", o->ping,
		o->ping_rec_timeout, o->ping_rec_action, o->keepalive_ping, o->keepalive_timeout);
	for (i = 0; i < o->routes.n; i++)
		fprintf(f, "route %s %s %s %s\n", o->routes.v[i].network,
			s_or(o->routes.v[i].netmask), s_or(o->routes.v[i].gateway),
			s_or(o->routes.v[i].metric));
	for (i = 0; i < o->routes6.n; i++)
		fprintf(f, "route-ipv6 %s %s\n", o->routes6.v[i].network,
			s_or(o->routes6.v[i].gateway));
	fprintf(f, "route-gateway %s redirect-gateway 0x%x\n", s_or(o->route_gateway),
		o->redirect_gateway);
	for (i = 0; i < o->dhcp_options.n; i++)
		fprintf(f, "dhcp-option %s %s\n", o->dhcp_options.v[i].type,
			s_or(o->dhcp_options.v[i].value));
	for (i = 0; i < o->push.n; i++)
		fprintf(f, "push \"%s\"\n", o->push.v[i]);
	fprintf(f, "server %d pool %d verb %u workers %u%s kill-switch %d test-key %d dir %d "
		"test-peer-id %d %u test-cipher %s\n", o->has_server, o->has_ifconfig_pool, o->verb,
		o->workers, o->workers_inline ? " (inline)" : "", o->kill_switch, o->has_test_key,
		o->test_data_key_direction, o->has_test_peer_id, o->test_peer_id, s_or(o->test_cipher));
}

void options_warnings_clear(struct options *o)
{
	size_t i;

	for (i = 0; i < o->warnings.n; i++)
		free(o->warnings.v[i]);
	o->warnings.n = 0;
}

void options_free(struct options *o)
{
	options_warnings_clear(o);
	free(o->warnings.v);
#define X(f) free(o->f.v);
	OPTIONS_VECS(X)
#undef X
	opt_pull_free(o);
	config_arena_free(&o->arena);
	explicit_bzero(o, sizeof(*o));
}
