/*
 * runcfg.c - turns the parsed options into the settings main.c runs with.
 * ctrl only. What the running daemon cannot do yet is refused here with a
 * clear error, never silently ignored.
 */
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../core/log.h"
#include "../../crypto/comp.h"
#include "../../io/io.h"
#include "options.h"
#include "../askpass.h"
#include "../proto/tls.h"
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

/* TLS client mode: what the client control channel (ctrl/client/session.c) cannot do yet. */
static int runcfg_client(struct runcfg *rc, struct options *o, char *err, size_t errlen)
{
	if (o->tls_server || !(o->client || o->tls_client)) {
		snprintf(err, errlen,
			 "options: this build runs as a TLS client ('client' or 'tls-client' + "
			 "'pull') or with 'test-data-key'; server mode is not implemented yet");
		return -ENOTSUP;
	}
	rc->is_client = true;
	return 0;
}

/* tun_rx, tun_tx, link_rx and link_tx: each lane's loops besides the workers (io/pipeline.c). */
#define RUNCFG_IO_THREADS	4
/* Automatic inline crypto on this many usable CPUs or fewer (README, 'workers'). */
#define RUNCFG_INLINE_CPUS_MAX	2
/* Automatic lanes: one per this many CPUs (a lane's 4 I/O threads and about as many workers). */
#define RUNCFG_CPUS_PER_LANE	8

static_assert(OPT_IO_QUEUES_MAX == IO_LANES_MAX, "io-queues' range is the data plane's");
static_assert(OPT_WORKERS_MAX == DC_WORKERS_MAX, "workers' range is a key slot's contexts");

unsigned int runcfg_usable_cpus(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	unsigned int n = online > 0 ? (unsigned int)online : 1;

	/* A container or taskset may allow fewer than are online. */
	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0 &&
	    (unsigned int)CPU_COUNT(&set) < n)
		n = (unsigned int)CPU_COUNT(&set);
	return n;
}

unsigned int runcfg_auto_workers(unsigned int cpus, unsigned int lanes)
{
	unsigned int io = RUNCFG_IO_THREADS * lanes;
	unsigned int n = cpus > io ? cpus - io : 0;

	n = MAX(n, MAX(lanes, 1u));
	return MIN(n, (unsigned int)DC_WORKERS_MAX);
}

bool runcfg_auto_inline(unsigned int cpus)
{
	return cpus <= RUNCFG_INLINE_CPUS_MAX;
}

unsigned int runcfg_auto_lanes(unsigned int cpus)
{
	unsigned int n = cpus / RUNCFG_CPUS_PER_LANE;

	return MIN(MAX(n, 1u), (unsigned int)IO_LANES_MAX);
}

/*
 * io-queues and workers: lanes only for a UDP server (@udp_server), an
 * explicit count elsewhere logged and ignored; automatic lanes never more
 * than the workers given; explicit ones at most that many.
 */
static int runcfg_lanes_workers(struct runcfg *rc, const struct options *o, bool udp_server,
				char *err, size_t errlen)
{
	rc->cpus = runcfg_usable_cpus();
	rc->io_lanes_auto = !o->io_queues;
	rc->io_lanes = 1;
	if (!udp_server && o->io_queues > 1)
		log_warnx("io-queues %u ignored: lanes serve a UDP server only", o->io_queues);
	else if (udp_server)
		rc->io_lanes = o->io_queues ? o->io_queues : runcfg_auto_lanes(rc->cpus);
	if (rc->io_lanes_auto && o->workers)
		rc->io_lanes = MIN(rc->io_lanes, o->workers);
	rc->workers_auto = !o->workers && !o->workers_inline;
	rc->inline_crypto = o->workers_inline || (rc->workers_auto && runcfg_auto_inline(rc->cpus));
	if (rc->inline_crypto)
		rc->workers = rc->io_lanes;
	else
		rc->workers = o->workers ? o->workers : runcfg_auto_workers(rc->cpus, rc->io_lanes);
	if (rc->workers > DC_WORKERS_MAX) {
		snprintf(err, errlen, "options: workers %u is above the maximum %d", rc->workers,
			 DC_WORKERS_MAX);
		return -EINVAL;
	}
	if (rc->workers < rc->io_lanes) {
		snprintf(err, errlen,
			 "options: workers %u is fewer than io-queues %u: each lane needs a worker",
			 rc->workers, rc->io_lanes);
		return -EINVAL;
	}
	return 0;
}

/* What every mode takes from the options: device, addresses, workers, replay, status. */
static int runcfg_common(struct runcfg *rc, const struct options *o,
			 const struct options_conn *ce, char *err, size_t errlen)
{
	rc->verb = (int)o->verb;
	/* As OpenVPN: a bare "tun" means "the next free tunN". */
	rc->dev = !o->dev || !strcmp(o->dev, "tun") ? "tun%d" : o->dev;
	rc->tun_mtu = (int)ce->tun_mtu;
	rc->local_host = ce->local;
	rc->topology_subnet = o->topology == OPT_TOPOLOGY_SUBNET;
	rc->has_ifconfig = o->ifconfig_local != NULL;
	rc->ifconfig_local = o->ifconfig_local;
	rc->ifconfig_second = o->ifconfig_remote;
	if (runcfg_lanes_workers(rc, o, o->mode == OPT_MODE_SERVER && !o->has_test_key &&
					ce->proto == OPT_PROTO_UDP, err, errlen))
		return -EINVAL;
	rc->tun_offload = !o->no_tun_offload;
	rc->udp_gso = !o->no_udp_gso;
	rc->udp_gro = !o->no_udp_gro;
	rc->uring_fixed_bufs = !o->no_uring_fixed_bufs;
	rc->replay_window = o->replay_window;
	rc->replay_time = o->replay_time;
	rc->status_file = o->status_file;
	return 0;
}

/* Server mode: what ctrl/server/server.c cannot do yet. */
static int runcfg_server(struct runcfg *rc, struct options *o, char *err, size_t errlen)
{
	const struct options_conn *ce = o->conns.n ? &o->conns.v[0] : &o->ce;

	/* One proto per process, as stock: a server listens on UDP or on TCP. */
	if (ce->proto != OPT_PROTO_UDP && ce->proto != OPT_PROTO_TCP_SERVER) {
		snprintf(err, errlen, "options: server mode runs over udp or tcp-server");
		return -ENOTSUP;
	}
	rc->tcp_server = ce->proto == OPT_PROTO_TCP_SERVER;
	if (o->topology == OPT_TOPOLOGY_P2P && o->has_ifconfig_pool) {
		snprintf(err, errlen, "options: server mode supports topology subnet and net30");
		return -ENOTSUP;
	}
	rc->is_server = true;
	rc->local_port = ce->local_port;
	return runcfg_common(rc, o, ce, err, errlen);
}

/* A client can run a UDP or TCP entry with a remote; ctrl/client/client.c skips the others. */
static bool runcfg_conn_usable(const struct options_conn *ce)
{
	return ce->remote && (ce->proto == OPT_PROTO_UDP || ce->proto == OPT_PROTO_TCP_CLIENT);
}

static int runcfg_from_options(struct runcfg *rc, struct options *o, char *err, size_t errlen)
{
	const struct options_conn *ce;
	size_t i;
	int ret;

	if (o->mode == OPT_MODE_SERVER && !o->has_test_key)
		return runcfg_server(rc, o, err, errlen);
	/* test-data-key runs the first entry; a client the first it can run. */
	for (i = 0; !o->has_test_key && i + 1 < o->conns.n; i++)
		if (runcfg_conn_usable(&o->conns.v[i]))
			break;
	if (o->conns.n == 0 || !o->conns.v[i].remote) {
		snprintf(err, errlen, "options: %s mode needs a 'remote'",
			 o->has_test_key ? "test-data-key" : "client");
		return -EINVAL;
	}
	ce = &o->conns.v[i];
	if (ce->proto != OPT_PROTO_UDP && (o->has_test_key || ce->proto != OPT_PROTO_TCP_CLIENT)) {
		snprintf(err, errlen, "options: %s mode runs over UDP%s only",
			 o->has_test_key ? "test-data-key" : "client",
			 o->has_test_key ? "" : " or TCP (tcp-client)");
		return -ENOTSUP;
	}
	rc->local_port = ce->has_local_port || ce->bind_local ? ce->local_port : 0;
	rc->remote_host = ce->remote;
	rc->remote_port = ce->remote_port;
	ret = runcfg_common(rc, o, ce, err, errlen);
	if (ret)
		return ret;
	if (o->has_test_key)
		return runcfg_test_key(rc, o, err, errlen);
	return runcfg_client(rc, o, err, errlen);
}

uint8_t runcfg_comp(const struct options *o)
{
	uint8_t mode;

	switch (o->comp) {
	case OPT_COMP_LZO_STUB:
		mode = COMP_MODE_LZO_STUB;
		break;
	case OPT_COMP_LZO:	/* comp-lzo [yes|adaptive], compress lzo */
		mode = COMP_MODE_LZO | (o->comp_adaptive ? COMP_F_ADAPTIVE : 0);
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

/* Header sizes in OpenVPN's mssfix arithmetic (mss.c, socket.h datagram_overhead). */
#define MSS_INNER_HDRS		40	/* inner IPv4 + TCP, no options (RFC 879) */
#define MSS_INNER_V6_EXTRA	20	/* an inner IPv6 header is 20 bytes longer */
#define MSS_TCP_LEN_PREFIX	2	/* proto tcp: the 16-bit packet length */
#define MSS_OUTER_IPV4		20
#define MSS_OUTER_IPV6		40
#define MSS_OUTER_UDP		8
#define MSS_OUTER_TCP		20

/* Bytes the compression framing adds to an uncompressed packet (comp.h table). */
static int comp_framing_len(const struct options *o)
{
	switch (runcfg_comp(o) & COMP_MODE_MASK) {
	case COMP_MODE_LZO_STUB:
	case COMP_MODE_LZO:
	case COMP_MODE_STUB:
	case COMP_MODE_LZ4:
		return 1;
	default:
		return 0;	/* none, or v2 framing: only an escape, which OpenVPN ignores */
	}
}

void runcfg_mss(const struct options *o, int sock_family, bool has_peer_id, uint16_t *mss_v4,
		uint16_t *mss_v6)
{
	const struct options_conn *ce = o->conns.n ? &o->conns.v[o->conn_cur] : &o->ce;
	bool is_tcp = ce->proto != OPT_PROTO_UDP;
	int mss, overhead;

	*mss_v4 = *mss_v6 = 0;
	if (!ce->mssfix)
		return;
	if (ce->mssfix_fixed) {
		/* "mssfix N fixed" (and tun-mtu N): N is the inner IP packet. */
		mss = (int)ce->mssfix - MSS_INNER_HDRS;
	} else {
		overhead = has_peer_id ? DC_V2_OVERHEAD : DC_V1_OVERHEAD;
		if (is_tcp)
			overhead += MSS_TCP_LEN_PREFIX;
		/* "mtu" (the default 1492 too): N also holds the outer IP and UDP/TCP headers. */
		if (ce->mssfix_encap)
			overhead += (sock_family == AF_INET6 ? MSS_OUTER_IPV6 : MSS_OUTER_IPV4) +
				    (is_tcp ? MSS_OUTER_TCP : MSS_OUTER_UDP);
		mss = (int)ce->mssfix - overhead - comp_framing_len(o) - MSS_INNER_HDRS;
	}
	/*
	 * An mssfix too small for the overhead: OpenVPN's unsigned arithmetic
	 * wraps it to a maximum near 65535 (clamps nothing) or, at exactly the
	 * overhead, to 0 (every MSS becomes 0). Off is the sane reading of both.
	 */
	if (mss > 0)
		*mss_v4 = (uint16_t)mss;
	if (mss > MSS_INNER_V6_EXTRA)
		*mss_v6 = (uint16_t)(mss - MSS_INNER_V6_EXTRA);
}

void runcfg_mss_socket(const struct runcfg *rc, int udp_fd, uint16_t *mss_v4, uint16_t *mss_v6)
{
	struct sockaddr_storage ss = { .ss_family = AF_INET };
	socklen_t len = sizeof(ss);
	bool has_peer_id = !rc->has_test_key || rc->test_peer_id != PEER_ID_NONE;

	if (getsockname(udp_fd, (struct sockaddr *)&ss, &len))
		ss.ss_family = AF_INET;
	runcfg_mss(rc->opts, ss.ss_family, has_peer_id, mss_v4, mss_v6);
	if (*mss_v4 || *mss_v6)
		log_info("mssfix: TCP MSS clamped to %u (IPv4) and %u (IPv6) in the tunnel",
			 *mss_v4, *mss_v6);
	else
		log_info("mssfix: off");
}

/*
 * Options sluice parses but does not act on yet, each named once at start-up
 * so that nothing an operator set is silently dropped.
 */
static void runcfg_warn_unimplemented(const struct options *o)
{
	static const char pre[] = "WARNING: not implemented yet, ignored:";

	for (size_t i = 0; (o->client || o->tls_client) && o->conns.n > 1 && i < o->conns.n; i++)
		if (!runcfg_conn_usable(&o->conns.v[i]))
			log_warnx("%s connection %zu of %zu (remote %s, proto %s): sluice runs over "
				  "UDP only, it is skipped", pre, i + 1, o->conns.n,
				  o->conns.v[i].remote ? o->conns.v[i].remote : "none",
				  options_proto_name(o->conns.v[i].proto));
	if (o->reneg_bytes > 0 || o->reneg_pkts > 0)
		log_warnx("%s reneg-bytes / reneg-pkts (reneg-sec still applies)", pre);
	if (o->inactive && (o->mode == OPT_MODE_SERVER))
		log_warnx("%s inactive (on a server)", pre);
	if (o->route_up)
		log_warnx("%s route-up (use --up)", pre);
	if (o->down_pre)
		log_warnx("%s down-pre", pre);
	if (o->has_route_delay)
		log_warnx("%s route-delay", pre);
	if (o->block_ipv6 && o->mode == OPT_MODE_SERVER)
		log_warnx("%s block-ipv6 on a server (push it to the clients)", pre);
	if (o->sndbuf || o->rcvbuf)
		log_warnx("%s sndbuf / rcvbuf (sluice sizes its socket buffers itself)", pre);
	if (o->txqueuelen)
		log_warnx("%s txqueuelen", pre);
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
		runcfg_warn_unimplemented(o);
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

void runcfg_tls_conf(const struct options *o, bool is_server, struct tls_conf *tc)
{
	*tc = (struct tls_conf){
		.is_server = is_server,
		.ca = { o->ca.data, o->ca.is_inline },
		.cert = { o->cert.data, o->cert.is_inline },
		.key = { o->key.data, o->key.is_inline },
		.pkcs12 = { o->pkcs12.data, o->pkcs12.is_inline },
		.extra_certs = { o->extra_certs.data, o->extra_certs.is_inline },
		.crl = { o->crl_verify.data, o->crl_verify.is_inline },
		.version_min = (enum tls_ver)o->tls_version_min,
		.version_max = (enum tls_ver)o->tls_version_max,
		.cipher_list = o->tls_cipher,
		.ciphersuites = o->tls_ciphersuites,
		.groups = o->tls_groups,
		.cert_profile = o->tls_cert_profile,
		.remote_cert_tls = (enum tls_cert_tls)o->remote_cert_tls,
		.verify_x509_name = o->verify_x509_name,
		.verify_x509_type = (enum tls_x509_type)o->verify_x509_type,
		.passphrase = askpass_key_passphrase,
	};
	if (!is_server)
		return;
	tc->dh = (struct tls_pem){ o->dh_none ? NULL : o->dh.data, o->dh.is_inline };
	tc->client_cert = (enum tls_client_cert)o->verify_client_cert;
}
