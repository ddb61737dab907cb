/*
 * runcfg.c - turns the parsed options into the settings main.c runs with.
 * ctrl only. What the running daemon cannot do yet is refused here with a
 * clear error, never silently ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../crypto/comp.h"
#include "options.h"
#include "runcfg.h"

/* Fixed-key test mode: the data plane with one key from test-data-key. */
static int runcfg_test_key(struct runcfg *rc, struct options *o, char *err, size_t errlen)
{
	rc->has_test_key = true;
	memcpy(rc->test_key, o->test_key, KEY2_LEN);
	rc->test_key_direction = o->test_data_key_direction;
	rc->test_cipher = dc_cipher_from_name(o->test_cipher ? o->test_cipher : "AES-256-GCM");
	if (rc->test_cipher == DC_CIPHER_NONE) {
		snprintf(err, errlen,
			 "options: test-cipher expects AES-128-GCM, AES-256-GCM or "
			 "CHACHA20-POLY1305, got '%s'", o->test_cipher);
		return -EINVAL;
	}
	rc->test_peer_id = o->has_test_peer_id ? o->test_peer_id : PEER_ID_NONE;
	return 0;
}

/* TLS client mode: what the client control channel (ctrl/session.c) cannot do yet. */
static int runcfg_client(struct runcfg *rc, struct options *o, char *err, size_t errlen)
{
	if (o->tls_server || !(o->client || o->tls_client)) {
		snprintf(err, errlen,
			 "options: this build runs as a TLS client ('client' or 'tls-client' + "
			 "'pull') or with 'test-data-key'; server mode is not implemented yet");
		return -ENOTSUP;
	}
	if (!o->ca.data || !o->cert.data || !o->key.data) {
		snprintf(err, errlen, "options: client mode needs 'ca', 'cert' and 'key' "
			 "(pkcs12 and auth-user-pass-only logins are not supported yet)");
		return -ENOTSUP;
	}
	rc->is_client = true;
	return 0;
}

/* Server mode: what ctrl/server.c cannot do yet. */
static int runcfg_server(struct runcfg *rc, struct options *o, char *err, size_t errlen)
{
	const struct options_conn *ce = o->conns.n ? &o->conns.v[0] : &o->ce;

	if (ce->proto != OPT_PROTO_UDP) {
		snprintf(err, errlen, "options: server mode runs over UDP only (proto tcp-server "
			 "is not supported yet)");
		return -ENOTSUP;
	}
	if (o->dev_kind == OPT_DEV_TAP) {
		snprintf(err, errlen, "options: dev tap is not supported (tun only)");
		return -ENOTSUP;
	}
	if (o->topology == OPT_TOPOLOGY_P2P && o->has_ifconfig_pool) {
		snprintf(err, errlen, "options: server mode supports topology subnet and net30");
		return -ENOTSUP;
	}
	rc->is_server = true;
	rc->verb = (int)o->verb;
	rc->dev = !o->dev || !strcmp(o->dev, "tun") ? "tun%d" : o->dev;
	rc->tun_mtu = (int)ce->tun_mtu;
	rc->local_host = ce->local;
	rc->local_port = ce->local_port;
	rc->topology_subnet = o->topology == OPT_TOPOLOGY_SUBNET;
	rc->has_ifconfig = o->ifconfig_local != NULL;
	rc->ifconfig_local = o->ifconfig_local;
	rc->ifconfig_second = o->ifconfig_remote;
	rc->workers = o->workers ? o->workers : 1;
	if (rc->workers > DC_WORKERS_MAX) {
		snprintf(err, errlen, "options: workers %u is above the maximum %d", rc->workers,
			 DC_WORKERS_MAX);
		return -EINVAL;
	}
	rc->replay_window = o->replay_window;
	rc->replay_time = o->replay_time;
	rc->status_file = o->status_file;
	return 0;
}

static int runcfg_from_options(struct runcfg *rc, struct options *o, char *err, size_t errlen)
{
	const struct options_conn *ce;

	if (o->mode == OPT_MODE_SERVER && !o->has_test_key)
		return runcfg_server(rc, o, err, errlen);
	if (o->conns.n == 0 || !o->conns.v[0].remote) {
		snprintf(err, errlen, "options: %s mode needs a 'remote'",
			 o->has_test_key ? "test-data-key" : "client");
		return -EINVAL;
	}
	ce = &o->conns.v[0];
	if (ce->proto != OPT_PROTO_UDP) {
		snprintf(err, errlen, "options: %s mode runs over UDP only",
			 o->has_test_key ? "test-data-key" : "client");
		return -ENOTSUP;
	}
	if (o->dev_kind == OPT_DEV_TAP) {
		snprintf(err, errlen, "options: dev tap is not supported (tun only)");
		return -ENOTSUP;
	}
	rc->verb = (int)o->verb;
	/* As OpenVPN: a bare "tun" means "the next free tunN". */
	rc->dev = !o->dev || !strcmp(o->dev, "tun") ? "tun%d" : o->dev;
	rc->tun_mtu = (int)ce->tun_mtu;
	rc->local_host = ce->local;
	rc->local_port = ce->has_local_port || ce->bind_local ? ce->local_port : 0;
	rc->remote_host = ce->remote;
	rc->remote_port = ce->remote_port;
	rc->topology_subnet = o->topology == OPT_TOPOLOGY_SUBNET;
	rc->has_ifconfig = o->ifconfig_local != NULL;
	rc->ifconfig_local = o->ifconfig_local;
	rc->ifconfig_second = o->ifconfig_remote;
	rc->workers = o->workers ? o->workers : 1;
	if (rc->workers > DC_WORKERS_MAX) {
		snprintf(err, errlen, "options: workers %u is above the maximum %d", rc->workers,
			 DC_WORKERS_MAX);
		return -EINVAL;
	}
	rc->replay_window = o->replay_window;
	rc->replay_time = o->replay_time;
	rc->status_file = o->status_file;
	if (o->has_test_key)
		return runcfg_test_key(rc, o, err, errlen);
	return runcfg_client(rc, o, err, errlen);
}

uint8_t runcfg_comp(const struct options *o)
{
	uint8_t mode;

	switch (o->comp) {
	case OPT_COMP_LZO_STUB:
	case OPT_COMP_LZO:	/* framed as the stub; LZO-compressed packets are dropped */
		mode = COMP_MODE_LZO_STUB;
		break;
	case OPT_COMP_STUB:
		mode = COMP_MODE_STUB;
		break;
	case OPT_COMP_STUB_V2:
		mode = COMP_MODE_STUB_V2;
		break;
	case OPT_COMP_LZ4:
		mode = COMP_MODE_LZ4;
		break;
	case OPT_COMP_LZ4_V2:
		mode = COMP_MODE_LZ4_V2;
		break;
	default:
		return COMP_MODE_NONE;
	}
	if (o->allow_compression == OPT_ALLOW_COMP_YES)
		mode |= COMP_F_COMPRESS | COMP_F_DECOMPRESS;
	else if (o->allow_compression == OPT_ALLOW_COMP_ASYM)
		mode |= COMP_F_DECOMPRESS;
	return mode;
}

int runcfg_load(struct runcfg **out, int argc, char **argv, char *err, size_t errlen)
{
	struct runcfg *rc = calloc(1, sizeof(*rc));
	struct options *o = calloc(1, sizeof(*o));
	int ret;

	if (!rc || !o) {
		free(rc);
		free(o);
		snprintf(err, errlen, "options: out of memory");
		return -ENOMEM;
	}
	options_init(o);
	rc->opts = o;
	ret = options_load_argv(o, argc, argv, err, errlen);
	ret = ret ?: options_finalize(o, err, errlen);
	if (!ret) {
		for (size_t i = 0; i < o->warnings.n; i++)
			log_warnx("%s", o->warnings.v[i]);
		options_warnings_clear(o);
		if (o->cd && chdir(o->cd)) {
			snprintf(err, errlen, "options: cd %s: %s", o->cd, strerror(errno));
			ret = -errno;
		}
	}
	ret = ret ?: runcfg_from_options(rc, o, err, errlen);
	if (ret) {
		runcfg_free(rc);
		return ret;
	}
	*out = rc;
	return 0;
}

void runcfg_free(struct runcfg *rc)
{
	if (!rc)
		return;
	if (rc->opts) {
		options_free(rc->opts);
		free(rc->opts);
	}
	OPENSSL_cleanse(rc->test_key, sizeof(rc->test_key));
	free(rc);
}
