/*
 * options.h - OpenVPN 2.6 options as a typed struct (ctrl only).
 *
 * Loading is parsing only: host names, paths and scripts are stored as strings and
 * nothing is resolved, opened (except `config` includes) or executed here. Scalars are
 * last-wins, lists accumulate, as in OpenVPN. Every string belongs to o->arena and lives
 * until options_free().
 *
 * Typical use (ctrl/main.c):
 *
 *	struct options o;
 *	char err[512];
 *
 *	options_init(&o);
 *	if (options_load_argv(&o, argc, argv, err, sizeof(err)) ||
 *	    options_finalize(&o, err, sizeof(err)))
 *		fatalx("%s", err);
 *	for (i = 0; i < o.warnings.n; i++)
 *		log_warnx("%s", o.warnings.v[i]);
 *	options_warnings_clear(&o);
 *	if (o.cd && chdir(o.cd)) ...	// relative ca/cert/key paths are relative to cd
 *	...
 *	options_free(&o);
 */
#ifndef SLUICE_OPTIONS_H
#define SLUICE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* A growable array owned by struct options: v[0..n). */
#define OPTIONS_VEC(type)	struct { type *v; size_t n; size_t cap; }

#define OPT_PORT_DEFAULT	1194
#define OPT_TUN_MTU_DEFAULT	1500
#define OPT_TUN_MTU_MAX_DEFAULT	1600	/* IV_MTU a 2.6 client announces */
#define OPT_MSSFIX_DEFAULT	1492	/* with "encap" semantics (openvpn-wire.md §12) */
#define OPT_DATA_CIPHERS_DEFAULT "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305"
#define OPT_PEER_ID_MAX		0xFFFFFE	/* 0xFFFFFF means "no peer-id" on the wire */
#define OPT_WORKERS_MAX		16	/* crypto/dc.h DC_WORKERS_MAX */
#define OPT_IO_QUEUES_MAX	4	/* io/io.h IO_LANES_MAX */

enum opt_mode { OPT_MODE_P2P = 0, OPT_MODE_SERVER };
enum opt_dev_type { OPT_DEV_UNSET = 0, OPT_DEV_TUN, OPT_DEV_TAP, OPT_DEV_NULL };
/* OPT_PROTO_TCP is only seen before options_finalize(), which resolves it. */
enum opt_proto { OPT_PROTO_UDP = 0, OPT_PROTO_TCP, OPT_PROTO_TCP_CLIENT, OPT_PROTO_TCP_SERVER };
enum opt_topology { OPT_TOPOLOGY_NET30 = 0, OPT_TOPOLOGY_P2P, OPT_TOPOLOGY_SUBNET };
/* Framing per openvpn-wire.md §8. */
enum opt_comp {
	OPT_COMP_NONE = 0,	/* no framing byte at all (2.6 default) */
	OPT_COMP_LZO_STUB,	/* comp-lzo no: 0xFA */
	OPT_COMP_LZO,		/* comp-lzo [yes|adaptive], compress lzo */
	OPT_COMP_STUB,		/* compress, compress stub: 0xFB swap */
	OPT_COMP_STUB_V2,	/* compress stub-v2 */
	OPT_COMP_LZ4,		/* compress lz4 (swap) */
	OPT_COMP_LZ4_V2,	/* compress lz4-v2 */
	OPT_COMP_MIGRATE,	/* compress migrate */
};
/* UNSET is resolved by options_finalize(): no/asym as 2.6 does (see there). */
enum opt_allow_comp {
	OPT_ALLOW_COMP_UNSET = 0, OPT_ALLOW_COMP_NO, OPT_ALLOW_COMP_ASYM, OPT_ALLOW_COMP_YES
};
enum opt_ping_action { OPT_PING_NONE = 0, OPT_PING_RESTART, OPT_PING_EXIT };
enum opt_x509_type { OPT_X509_SUBJECT = 0, OPT_X509_NAME, OPT_X509_NAME_PREFIX };
enum opt_cert_tls { OPT_CERT_TLS_NONE = 0, OPT_CERT_TLS_SERVER, OPT_CERT_TLS_CLIENT };
enum opt_tls_ver { OPT_TLS_VER_UNSET = 0, OPT_TLS_VER_1_0, OPT_TLS_VER_1_1, OPT_TLS_VER_1_2,
		   OPT_TLS_VER_1_3 };
enum opt_auth_retry { OPT_AUTH_RETRY_NONE = 0, OPT_AUTH_RETRY_NOINTERACT,
		      OPT_AUTH_RETRY_INTERACT };
enum opt_client_cert { OPT_CLIENT_CERT_REQUIRE = 0, OPT_CLIENT_CERT_OPTIONAL,
		       OPT_CLIENT_CERT_NONE };
enum opt_pull_filter { OPT_PULL_ACCEPT = 0, OPT_PULL_IGNORE, OPT_PULL_REJECT };
enum opt_mtu_disc { OPT_MTU_DISC_UNSET = 0, OPT_MTU_DISC_NO, OPT_MTU_DISC_MAYBE,
		    OPT_MTU_DISC_YES };

/* redirect-gateway / redirect-private flags (OpenVPN's RG_*). */
#define OPT_RG_ENABLE		(1u << 0)
#define OPT_RG_REROUTE_GW	(1u << 1)	/* redirect-gateway (not -private) for IPv4 */
#define OPT_RG_LOCAL		(1u << 2)
#define OPT_RG_AUTO_LOCAL	(1u << 3)
#define OPT_RG_DEF1		(1u << 4)
#define OPT_RG_BYPASS_DHCP	(1u << 5)
#define OPT_RG_BYPASS_DNS	(1u << 6)
#define OPT_RG_BLOCK_LOCAL	(1u << 7)
#define OPT_RG_IPV6		(1u << 8)	/* "ipv6": reroute the IPv6 default route too */

/* protocol-flags / key-derivation as pushed by a 2.6 server (openvpn-wire.md §9). */
#define OPT_PROTO_CC_EXIT	(1u << 0)
#define OPT_PROTO_TLS_EKM	(1u << 1)
#define OPT_PROTO_DYN_TLS_CRYPT	(1u << 2)

/* A file option: a path, or with is_inline the text of a <name> block. */
struct options_file {
	const char *data;	/* NULL: not given */
	bool is_inline;
};

/* One `remote HOST [PORT [PROTO]]`, before options_finalize() turns it into a conn. */
struct options_remote {
	const char *host;
	uint16_t port;		/* valid if has_port */
	bool has_port;
	bool has_proto;
	enum opt_proto proto;	/* valid if has_proto */
	int af;			/* AF_UNSPEC, AF_INET (udp4...) or AF_INET6 (udp6...) */
	struct config_src src;
};

/*
 * One connection entry (OpenVPN's connection_entry): a <connection> block, or after
 * options_finalize() one remote with the global settings applied.
 */
struct options_conn {
	const char *remote;		/* NULL: no remote (listen only) */
	uint16_t remote_port;
	const char *local;		/* --local address/name, NULL = any */
	uint16_t local_port;
	bool has_local_port;		/* lport given */
	bool bind_local;		/* false after nobind, or for clients (finalize) */
	bool has_bind;			/* bind given */
	bool bind_ipv6_only;
	bool is_float;
	enum opt_proto proto;
	int af;				/* AF_UNSPEC = both */
	unsigned int connect_retry;	/* seconds, default 1 */
	unsigned int connect_retry_max;	/* back-off cap in seconds, default 300 */
	unsigned int server_poll_timeout;	/* seconds, default 120 */
	unsigned int tun_mtu;		/* default 1500 */
	unsigned int occ_mtu;		/* tun-mtu's second argument, 0 = none */
	unsigned int tun_mtu_max;	/* default 1600 */
	unsigned int mssfix;		/* 0 = off; valid after finalize */
	bool mssfix_default;		/* mssfix not set or given without a value */
	bool mssfix_encap;		/* value includes the encapsulation ("mtu") */
	bool mssfix_fixed;
	enum opt_mtu_disc mtu_disc;
	unsigned int explicit_exit_notify;	/* 0 = off; forced 0 on TCP by finalize */
	/* Control channel wrapping set inside a <connection> block (finalize fills the rest). */
	struct options_file tls_auth;
	struct options_file tls_crypt;
	struct options_file tls_crypt_v2;
	int key_direction;		/* -1 bidirectional, 0 or 1 */
	bool tls_crypt_v2_allow_noncookie;
	struct config_src src;		/* <connection> or remote line */
};

struct options_route {
	const char *network;		/* address, name, or vpn_gateway/net_gateway/remote_host */
	const char *netmask;		/* NULL = 255.255.255.255 */
	const char *gateway;		/* NULL = route-gateway / pushed gateway */
	const char *metric;		/* NULL, a number, or "default" */
};

struct options_route6 {
	const char *network;		/* addr/bits */
	const char *gateway;		/* NULL = default */
	const char *metric;
};

struct options_dhcp_option {
	const char *type;		/* DNS, DNS6, DOMAIN, DOMAIN-SEARCH, NTP, ... */
	const char *value;		/* NULL for value-less types */
};

struct options_pull_filter_rule {
	enum opt_pull_filter type;
	const char *prefix;		/* compared with strncmp(), as OpenVPN does */
};

struct options_setenv {
	const char *name;
	const char *value;		/* "" if none */
};

struct options_fingerprint {
	uint8_t sha256[32];
};

struct options_pre_pull;

struct options {
	struct config_arena arena;

	/* Role. `client` = pull + tls-client, `server` = mode server + tls-server (finalize). */
	bool client;
	bool pull;
	bool tls_client;
	bool tls_server;
	enum opt_mode mode;

	/* Device and addresses. */
	const char *dev;
	const char *dev_type;
	enum opt_dev_type dev_kind;	/* from dev/dev-type, set by finalize */
	const char *dev_node;
	enum opt_topology topology;
	unsigned int txqueuelen;	/* 0 = kernel default */
	const char *ifconfig_local;
	const char *ifconfig_remote;	/* remote address (net30/p2p) or netmask (subnet) */
	const char *ifconfig_ipv6_local;	/* without /bits */
	unsigned int ifconfig_ipv6_netbits;
	const char *ifconfig_ipv6_remote;
	bool persist_tun;
	bool persist_key;
	bool persist_local_ip;
	bool persist_remote_ip;

	/*
	 * Connections. ce holds the settings given outside <connection> blocks; conns the
	 * blocks. options_finalize() replaces conns by the list to try in order (one per
	 * remote, or one listen-only entry). ctrl sets conn_cur to the entry in use: pushed
	 * tun-mtu and explicit-exit-notify are applied there.
	 */
	struct options_conn ce;
	OPTIONS_VEC(struct options_remote) remotes;
	OPTIONS_VEC(struct options_conn) conns;
	size_t conn_cur;
	bool remote_random;
	int resolv_retry;		/* seconds, -1 = infinite (default) */
	unsigned int connect_retry_max;	/* connection attempts, 0 = unlimited */
	unsigned int sndbuf, rcvbuf;	/* 0 = system default */
	bool fast_io;

	/* TLS. */
	struct options_file ca, cert, key, extra_certs, dh, pkcs12, crl_verify;
	bool crl_verify_dir;
	bool has_askpass;		/* askpass: the key passphrase is asked for at start-up */
	const char *askpass_file;	/* askpass FILE: its first line; NULL = the terminal */
	bool dh_none;			/* "dh none" (ECDH only) */
	OPTIONS_VEC(struct options_fingerprint) peer_fingerprints;
	struct options_file tls_auth, tls_crypt, tls_crypt_v2;	/* outside <connection> */
	int key_direction;		/* -1 bidirectional (default), 0 or 1 */
	enum opt_cert_tls remote_cert_tls;
	const char *verify_x509_name;
	enum opt_x509_type verify_x509_type;
	enum opt_tls_ver tls_version_min;
	bool tls_version_min_or_highest;
	enum opt_tls_ver tls_version_max;
	const char *tls_cipher, *tls_ciphersuites, *tls_groups, *tls_cert_profile;
	enum opt_client_cert verify_client_cert;
	unsigned int tls_timeout;	/* 2 */
	unsigned int hand_window;	/* 60 */
	unsigned int tran_window;	/* 3600 */
	unsigned int reneg_sec;		/* 3600, 0 = off */
	int reneg_sec_min;		/* reneg-sec's second argument, -1 = not given */
	int64_t reneg_bytes;		/* -1 = not given */
	int64_t reneg_pkts;		/* 0 = off */
	bool tls_exit;
	bool single_session;
	bool push_peer_info;

	/* Authentication. auth_user_pass.data NULL with has_auth_user_pass: ask (stdin). */
	bool has_auth_user_pass;
	struct options_file auth_user_pass;
	bool auth_nocache;
	enum opt_auth_retry auth_retry;
	const char *auth_user_pass_verify;	/* server script */
	bool auth_user_pass_verify_via_file;
	const char *tmp_dir;		/* tmp-dir: where via-file credentials go; NULL = $TMPDIR or /tmp */
	bool username_as_common_name;
	const char *auth_token;		/* pushed */
	const char *auth_token_user;	/* pushed */

	/* Data channel. */
	const char *cipher;		/* --cipher, or the cipher the server pushed */
	bool cipher_pushed;
	const char *data_ciphers;	/* ':'-separated, default set by finalize */
	const char *data_ciphers_fallback;
	const char *auth;		/* HMAC digest for CBC / tls-auth, default SHA1 */
	unsigned int replay_window;	/* 64 */
	unsigned int replay_time;	/* 15 */
	bool mute_replay_warnings;
	enum opt_comp comp;
	bool comp_adaptive;
	enum opt_allow_comp allow_compression;
	uint32_t protocol_flags;	/* OPT_PROTO_*, pushed */
	bool has_peer_id;
	uint32_t peer_id;		/* pushed */
	int push_continuation;		/* of the last PUSH_REPLY message */

	/* Keepalive. keepalive is expanded into ping/ping_rec by finalize. */
	unsigned int keepalive_ping, keepalive_timeout;
	unsigned int ping;		/* send a ping after this many idle seconds, 0 = off */
	unsigned int ping_rec_timeout;	/* restart/exit after this many silent seconds */
	enum opt_ping_action ping_rec_action;
	bool ping_timer_rem;
	unsigned int inactive;		/* seconds, 0 = off */
	int64_t inactive_bytes;

	/* Routes and DNS. */
	OPTIONS_VEC(struct options_route) routes;
	OPTIONS_VEC(struct options_route6) routes6;
	const char *route_gateway;
	bool route_gateway_dhcp;
	unsigned int redirect_gateway;	/* OPT_RG_* */
	bool route_nopull;
	bool has_route_delay;
	unsigned int route_delay, route_delay_window;
	int route_metric;		/* -1 = not given */
	bool block_ipv6;
	bool block_outside_dns;		/* Windows only; accepted and ignored */
	OPTIONS_VEC(struct options_pull_filter_rule) pull_filters;
	OPTIONS_VEC(struct options_dhcp_option) dhcp_options;
	OPTIONS_VEC(const char *) dns;	/* `dns ...` directives, words joined by spaces */

	/* Scripts and environment. */
	unsigned int script_security;	/* 1 */
	const char *up, *down, *route_up;
	bool down_pre;
	OPTIONS_VEC(struct options_setenv) setenvs;
	OPTIONS_VEC(const char *) ignore_unknown;
	bool forward_compatible;	/* setenv FORWARD_COMPATIBLE 1 */

	/* Process. */
	unsigned int verb;		/* 1 */
	unsigned int mute;
	bool suppress_timestamps;
	const char *log;
	bool log_append;
	const char *status_file;
	unsigned int status_interval;	/* 60 */
	unsigned int status_version;	/* 1 */
	const char *writepid;
	bool daemon;
	const char *daemon_name;
	const char *user, *group, *cd, *chroot;
	const char *management_addr;	/* address, or socket path with management_unix */
	uint16_t management_port;
	bool management_unix;
	const char *management_pw_file;
	bool management_hold;
	bool management_query_passwords;
	bool management_client_auth;
	unsigned int management_log_cache;	/* 0: stock's 250 */
	OPTIONS_VEC(const char *) echo;	/* pushed `echo` texts */

	/* Server. */
	bool has_server;
	uint32_t server_network, server_netmask;	/* host byte order */
	bool server_nopool;
	bool has_server_ipv6;
	uint8_t server_ipv6_network[16];
	unsigned int server_ipv6_netbits;
	bool has_ifconfig_pool;
	uint32_t ifconfig_pool_start, ifconfig_pool_end, ifconfig_pool_netmask;
	bool has_ifconfig_ipv6_pool;
	uint8_t ifconfig_ipv6_pool_base[16];
	unsigned int ifconfig_ipv6_pool_netbits;
	const char *ifconfig_pool_persist;
	unsigned int ifconfig_pool_persist_sec;
	const char *client_config_dir;
	bool client_to_client;
	bool duplicate_cn;
	unsigned int max_clients;	/* 1024 */
	/* connect-freq-initial N SEC: stateless replies to new clients; 0 = sluice default. */
	unsigned int connect_freq_initial_n, connect_freq_initial_sec;
	OPTIONS_VEC(const char *) push;	/* options sent in PUSH_REPLY, in order */
	bool auth_gen_token;		/* auth-gen-token [lifetime] [renewal] [external-auth] */
	unsigned int auth_token_lifetime;	/* seconds a session's tokens live, 0 = no limit */
	unsigned int auth_token_renewal;	/* token renewal period; finalize: reneg-sec if 0 */
	bool auth_token_external;	/* external-auth: the script runs for tokens too */
	struct options_file auth_token_secret;	/* auth-gen-token-secret; NULL = random */

	/* sluice. */
	unsigned int workers;		/* crypto workers per direction, 0 = auto */
	bool workers_inline;		/* 'workers 0': no crypto threads, the I/O threads seal/open */
	unsigned int io_queues;		/* io-queues N: a UDP server's lanes, 0 = auto */
	const char *metrics_addr;	/* `metrics ADDR PORT`: Prometheus endpoint; NULL: none */
	uint16_t metrics_port;
	/* tun-offload / udp-gso / udp-gro no: switch that offload off (README, io/tun.c, io/udp.c). */
	bool no_tun_offload;
	bool no_udp_gso;
	bool no_udp_gro;
	bool no_uring_fixed_bufs;	/* uring-fixed-buffers no: plain TUN reads/writes (io/uring.h) */
	bool kill_switch;
	bool test_no_ekm;		/* tests only: do not announce TLS_KEY_EXPORT (legacy PRF) */
	bool test_no_dyn_tls_crypt;	/* tests only: do not announce DYN_TLS_CRYPT */
	/*
	 * Tests only: renegotiate as the OpenVPN 3 core does (no soft reset of
	 * our own; a new key is sent on only become-primary seconds after it
	 * is ready, and a soft reset before that replaces it).
	 */
	bool test_reneg_ovpn3;
	/*
	 * Tests only: a file whose appearance tells the client the machine
	 * slept for the number of seconds it holds (read and removed).
	 */
	const char *test_sleep_hook;
	struct options_file test_data_key;
	int test_data_key_direction;	/* -1 until finalize picks 0 (server) or 1 (client) */
	bool has_test_key;		/* test_key holds the decoded key (finalize) */
	uint8_t test_key[CONFIG_STATIC_KEY_LEN];
	bool has_test_peer_id;
	uint32_t test_peer_id;
	const char *test_cipher;

	/* Bookkeeping. */
	const char *config;		/* first config file */
	bool no_include;		/* open no file: refuse `config FILE` and a
					 * test-data-key path (fuzzing, untrusted text) */
	bool is_finalized;
	OPTIONS_VEC(char *) warnings;	/* malloc'd; see options_warnings_clear() */
	struct options_pre_pull *pre_pull;	/* state before the first PUSH_REPLY */
	bool push_in_progress;		/* last PUSH_REPLY said push-continuation 2 */
};

/* Defaults as in OpenVPN 2.6's init_options(). Cannot fail. */
void options_init(struct options *o);

/* Frees every string, list and warning, wiping the arena (it holds inline keys). */
void options_free(struct options *o);

/*
 * Loaders. Each returns 0, or a negative errno with @err set to one line such as
 * "options: unsupported option 'foo' at client.ovpn:12". On error @o holds what was read
 * before the error and must still be freed. Relative `config` paths are taken relative
 * to --cd when one was given earlier (OpenVPN changes directory while parsing).
 */
int options_load_file(struct options *o, const char *path, char *err, size_t errlen);
int options_load_buffer(struct options *o, const char *name, const char *buf, size_t len,
			char *err, size_t errlen);
int options_load_argv(struct options *o, int argc, char **argv, char *err, size_t errlen);

/*
 * Cross-option checks and defaults, once after loading: `client` and `server` (and
 * server-ipv6) expansion, keepalive expansion (pushing ping/ping-restart on a server),
 * tcp -> tcp-client/tcp-server, the connection list, mssfix and compression defaults,
 * data-ciphers default, decoding test-data-key. Returns 0 or -EINVAL with @err set.
 */
int options_finalize(struct options *o, char *err, size_t errlen);

/*
 * Applies one "PUSH_REPLY[,option,...]" control message (it ends at @len or at a NUL;
 * a trailing CR/LF is dropped) the way a 2.6 client does: options a server may push are applied,
 * unknown or not-pushable ones and bad values only add a warning to o->warnings, pull
 * filters are honoured. The first message of a reply sequence first restores the state
 * before the previous push, so each reply starts from the configuration. *continuation
 * gets the push-continuation value (2: more messages follow, 1 or 0: complete).
 * Returns -EINVAL with @err set, and the push must be treated as failed, when a pull
 * filter rejects an option, the pushed compression is not allowed by allow-compression,
 * or the pushed cipher is not in data-ciphers. Call after options_finalize().
 */
int options_apply_push(struct options *o, const char *msg, size_t len, int *continuation,
		       char *err, size_t errlen);

/* Forgets everything pushed (for a reconnect): back to the finalized configuration. */
void options_pull_reset(struct options *o);

/* Frees the collected warnings once ctrl has logged them. */
void options_warnings_clear(struct options *o);

/* The main fields, one per line, for debugging (never prints inline key material). */
void options_dump(const struct options *o, FILE *f);

/* `sluice --help`: every directive sluice takes, grouped, sluice's own marked. */
void options_help(FILE *f);

const char *options_proto_name(enum opt_proto proto);
const char *options_comp_name(enum opt_comp comp);

#endif
