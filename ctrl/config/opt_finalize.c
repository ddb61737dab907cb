/*
 * opt_finalize.c - owns options_finalize(), the pass after loading that applies defaults
 * and checks combinations, as OpenVPN 2.6's options_postprocess_*() and helper.c do:
 * the device kind, `server` / `server-ipv6` expansion (opt_server.c), `client`, keepalive
 * into ping / ping-restart (pushed too on a server), the data-ciphers and
 * allow-compression defaults, the connection list (one entry per remote or
 * <connection> block, with tcp resolved to tcp-client or tcp-server and the mssfix
 * default), what a TLS peer must have, and decoding test-data-key.
 *
 * Called from the ctrl thread only, once per load (startup and SIGHUP). The only file
 * opened here is a test-data-key file.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "../../crypto/statickey.h"
#include "options_int.h"

/* helper_keepalive(): a server restarts after twice the timeout it pushes to clients. */
static int keepalive_expand(struct options *o, char *err, size_t errlen)
{
	unsigned int p = o->keepalive_ping, t = o->keepalive_timeout;
	int ret;

	if (!p && !t)
		return 0;
	if (!p || !t)
		return opt_errorf(err, errlen, "keepalive parameters must be > 0");
	if ((uint64_t)p * 2 > t)
		return opt_errorf(err, errlen, "keepalive %u %u: the restart timeout must be at "
				  "least twice the ping interval (10 60 is the usual choice)",
				  p, t);
	if (o->ping || o->ping_rec_timeout)
		return opt_errorf(err, errlen, "keepalive conflicts with ping, ping-restart and "
				  "ping-exit");
	o->ping = p;
	o->ping_rec_action = OPT_PING_RESTART;
	if (o->mode == OPT_MODE_P2P) {
		o->ping_rec_timeout = t;
		return 0;
	}
	o->ping_rec_timeout = t > UINT_MAX / 2 ? UINT_MAX : t * 2;
	ret = opt_push_add(o, config_arena_printf(&o->arena, "ping %u", p));
	return ret ? ret : opt_push_add(o, config_arena_printf(&o->arena, "ping-restart %u", t));
}

static int dev_kind(struct options *o, char *err, size_t errlen)
{
	const char *t = o->dev_type ? o->dev_type : o->dev;

	if (!o->dev)
		return opt_errorf(err, errlen, "dev is required (for example 'dev tun')");
	if (!strncmp(t, "tun", 3))
		o->dev_kind = OPT_DEV_TUN;
	else if (!strncmp(t, "tap", 3))
		o->dev_kind = OPT_DEV_TAP;
	else if (!strncmp(t, "null", 4))
		o->dev_kind = OPT_DEV_NULL;
	else
		return opt_errorf(err, errlen, "cannot tell whether dev '%.64s' is tun or tap; add "
				  "dev-type tun or dev-type tap", o->dev);
	return 0;
}

/*
 * 2.6 sets "stub framing only" unless some compression option was given (its test is
 * comp.flags == 0, which also holds after just "comp-lzo no"); with a real algorithm but
 * no allow-compression it decompresses without compressing (asym).
 */
static enum opt_allow_comp allow_comp_effective(const struct options *o)
{
	if (o->allow_compression != OPT_ALLOW_COMP_UNSET)
		return o->allow_compression;
	if ((o->comp == OPT_COMP_NONE || o->comp == OPT_COMP_LZO_STUB) && !o->comp_adaptive)
		return OPT_ALLOW_COMP_NO;
	return OPT_ALLOW_COMP_ASYM;
}

static void conn_apply_re(struct options_conn *ce, const struct options_remote *r)
{
	ce->remote = r->host;
	if (r->has_port)
		ce->remote_port = r->port;
	if (r->has_proto) {
		ce->proto = r->proto;
		ce->af = r->af;
	}
	ce->src = r->src;
}

/* options_postprocess_mutate_ce() and the per-connection part of _verify_ce(). */
static int conn_finalize(struct options *o, struct options_conn *ce, char *err, size_t errlen)
{
	bool need_bind = ce->local || ce->has_local_port || ce->has_bind;

	if (ce->proto == OPT_PROTO_TCP && o->has_server)
		ce->proto = OPT_PROTO_TCP_SERVER;
	if (ce->proto == OPT_PROTO_TCP && o->client)
		ce->proto = OPT_PROTO_TCP_CLIENT;
	if (ce->proto == OPT_PROTO_TCP)
		return opt_errorf(err, errlen, "proto tcp is ambiguous here: use tcp-client or "
				  "tcp-server");
	/* Clients use a random source port unless told otherwise. */
	if (!need_bind && (ce->proto == OPT_PROTO_TCP_CLIENT || o->pull))
		ce->bind_local = false;
	if (ce->mssfix_default) {
		if (ce->tun_mtu == OPT_TUN_MTU_DEFAULT) {
			ce->mssfix = OPT_MSSFIX_DEFAULT;
			ce->mssfix_encap = true;
		} else {
			ce->mssfix = ce->tun_mtu;
			ce->mssfix_fixed = true;
		}
	}
	if (!ce->tls_auth.data && !ce->tls_crypt.data && !ce->tls_crypt_v2.data) {
		ce->tls_auth = o->tls_auth;
		ce->tls_crypt = o->tls_crypt;
		ce->tls_crypt_v2 = o->tls_crypt_v2;
		ce->key_direction = o->key_direction;
	}
	if (ce->proto != OPT_PROTO_UDP && ce->explicit_exit_notify) {
		opt_warnf(o, NULL, "explicit-exit-notify ignored for proto %s",
			  options_proto_name(ce->proto));
		ce->explicit_exit_notify = 0;
	}
	if (!ce->remote && ce->proto == OPT_PROTO_TCP_CLIENT)
		return opt_errorf(err, errlen, "proto tcp-client needs a remote");
	if (o->mode == OPT_MODE_SERVER && ce->proto == OPT_PROTO_TCP_CLIENT)
		return opt_errorf(err, errlen, "mode server supports proto udp or tcp-server only");
	if (ce->tls_auth.data && ce->tls_crypt.data)
		return opt_errorf(err, errlen, "tls-auth and tls-crypt are mutually exclusive");
	if (o->tls_client && ce->tls_crypt_v2.data && (ce->tls_auth.data || ce->tls_crypt.data))
		return opt_errorf(err, errlen, "tls-crypt-v2, tls-auth and tls-crypt are mutually "
				  "exclusive in client mode");
	return 0;
}

/* The list to try: the <connection> blocks, else one entry per remote, else one. */
static int conns_build(struct options *o, char *err, size_t errlen)
{
	size_t i, n = o->remotes.n ? o->remotes.n : 1;
	struct options_conn *e;
	bool any_remote = false;
	int ret;

	if (o->conns.n && o->remotes.n)
		opt_warnf(o, &o->remotes.v[0].src, "remote outside <connection> blocks is ignored");
	if (!o->conns.n) {
		for (i = 0; i < n; i++) {
			e = VEC_ADD(o->conns);
			if (!e)
				return -ENOMEM;
			*e = o->ce;
			if (o->remotes.n)
				conn_apply_re(e, &o->remotes.v[i]);
		}
	}
	for (i = 0; i < o->conns.n; i++) {
		ret = conn_finalize(o, &o->conns.v[i], err, errlen);
		if (ret)
			return ret;
		any_remote |= o->conns.v[i].remote != NULL;
	}
	if (o->conns.v[0].proto == OPT_PROTO_TCP_SERVER && o->conns.n > 1)
		return opt_errorf(err, errlen, "TCP server mode allows at most one remote");
	if (o->pull && !any_remote)
		return opt_errorf(err, errlen, "client mode needs a remote");
	return 0;
}

/* options_postprocess_verify(): what a TLS peer must have. */
static int tls_check(struct options *o, char *err, size_t errlen)
{
	bool has_cert = o->cert.data, has_key = o->key.data;

	if (o->tls_client && o->tls_server)
		return opt_errorf(err, errlen, "specify only one of tls-server and tls-client");
	if (!o->tls_client && !o->tls_server)
		return o->test_data_key.data ? 0 :
		       opt_errorf(err, errlen, "no TLS role: use client, tls-client, server or "
				  "tls-server (static-key mode is not supported)");
	if (!o->ca.data && !o->pkcs12.data && !o->peer_fingerprints.n)
		return opt_errorf(err, errlen, "you must give ca and/or peer-fingerprint");
	if (o->pkcs12.data && (has_cert || has_key))
		return opt_errorf(err, errlen, "cert and key cannot be used together with pkcs12");
	if (o->pull && !o->pkcs12.data) {
		if (has_cert != has_key)
			return opt_errorf(err, errlen, "if you use one of cert or key, you must "
					  "use them both");
		if (!has_cert && !o->has_auth_user_pass)
			return opt_errorf(err, errlen, "no client authentication: use cert/key, "
					  "pkcs12 or auth-user-pass");
	} else if (!o->pull && !o->pkcs12.data && (!has_cert || !has_key)) {
		return opt_errorf(err, errlen, "%s is required (or pkcs12)",
				  has_cert ? "key" : "cert");
	}
	if (o->tls_server && !o->dh.data)
		return opt_errorf(err, errlen, "a TLS server needs dh FILE or 'dh none'");
	if (!o->tls_server && o->dh.data) {
		opt_warnf(o, NULL, "dh ignored in tls-client mode");
		o->dh.data = NULL;
		o->dh_none = false;
	}
	return 0;
}

/* auth-gen-token: 2.6's checks (options_postprocess_verify) and its renewal default. */
static int auth_token_check(struct options *o, char *err, size_t errlen)
{
	if (!o->auth_gen_token)
		return 0;
	if (o->mode != OPT_MODE_SERVER)
		return opt_errorf(err, errlen, "auth-gen-token requires mode server");
	if (!o->reneg_sec)
		return opt_errorf(err, errlen, "auth-gen-token needs a non-infinite reneg-sec");
	/* The default first, then the check, as stock (mutate before verify). */
	if (!o->auth_token_renewal)
		o->auth_token_renewal = o->reneg_sec;
	if (o->auth_token_renewal < 2 * o->hand_window)
		return opt_errorf(err, errlen, "auth-gen-token renewal time needs to be at least "
				  "two times hand-window (%u)", o->hand_window);
	return 0;
}

_Static_assert(CONFIG_STATIC_KEY_LEN == KEY2_LEN, "test_key holds one static key");

/* Decodes @text with the one static key parser, as "options: static key: <why>" on error. */
static int test_key_decode(struct options *o, const char *text, char *err, size_t errlen)
{
	char why[128];

	if (dc_static_key_parse_msg(text, o->test_key, why, sizeof(why)))
		return opt_errorf(err, errlen, "%s", why);
	return 0;
}

static int test_key_load(struct options *o, char *err, size_t errlen)
{
	const struct options_file *f = &o->test_data_key;
	const char *path = f->data;
	char *buf = NULL;
	size_t len;
	int ret;

	if (o->test_data_key_direction < 0)
		o->test_data_key_direction = o->mode == OPT_MODE_SERVER || o->tls_server ? 0 : 1;
	if (f->is_inline)
		return test_key_decode(o, f->data, err, errlen);
	if (o->no_include)
		return opt_errorf(err, errlen, "test-data-key: reading files is disabled here");
	if (o->cd && path[0] != '/')
		path = config_arena_printf(&o->arena, "%s/%s", o->cd, path);
	if (!path)
		return -ENOMEM;
	ret = config_file_load(path, &buf, &len, err, errlen);
	if (!ret)
		ret = test_key_decode(o, buf, err, errlen);
	config_file_unload(buf, len);
	return ret;
}

int options_finalize(struct options *o, char *err, size_t errlen)
{
	int ret;

	if (o->is_finalized)
		return opt_errorf(err, errlen, "options_finalize called twice");
	ret = dev_kind(o, err, errlen);
	if (!ret && o->has_server_ipv6)
		ret = opt_server_ipv6_expand(o, err, errlen);
	if (!ret && o->has_server)
		ret = opt_server_expand(o, err, errlen);
	if (ret)
		return ret;
	if (o->client) {
		o->pull = true;
		o->tls_client = true;
	}
	ret = keepalive_expand(o, err, errlen);
	if (ret)
		return ret;
	if (o->mode == OPT_MODE_SERVER) {
		if (!o->tls_server)
			return opt_errorf(err, errlen, "mode server needs tls-server (or server)");
		if (o->pull)
			return opt_errorf(err, errlen, "pull cannot be used with mode server");
		if (o->dev_kind != OPT_DEV_TUN && o->dev_kind != OPT_DEV_TAP)
			return opt_errorf(err, errlen, "mode server only works with dev tun or "
					  "tap");
	}
	ret = auth_token_check(o, err, errlen);
	if (ret)
		return ret;
	if (!o->data_ciphers)
		o->data_ciphers = OPT_DATA_CIPHERS_DEFAULT;
	o->allow_compression = allow_comp_effective(o);
	if (o->allow_compression == OPT_ALLOW_COMP_NO && opt_comp_is_real(o->comp))
		return opt_errorf(err, errlen, "compression %s is not allowed: allow-compression "
				  "no", options_comp_name(o->comp));
	ret = conns_build(o, err, errlen);
	if (!ret)
		ret = tls_check(o, err, errlen);
	if (!ret && o->test_data_key.data)
		ret = test_key_load(o, err, errlen);
	if (ret)
		return ret;
	o->has_test_key = o->test_data_key.data != NULL;
	o->is_finalized = true;
	return 0;
}
