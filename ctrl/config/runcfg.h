/*
 * runcfg.h - the resolved settings main.c runs with, built from the parsed
 * options (ctrl/config/options.h) after defaults and cross-checks. ctrl only.
 */
#ifndef SLUICE_RUNCFG_H
#define SLUICE_RUNCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../crypto/dc.h"

struct tls_conf;

struct runcfg {
	struct options *opts;		/* the parsed options this was built from */
	int verb;
	const char *dev;		/* "tun", "tun0", "sl0" ... */
	int tun_mtu;
	const char *local_host;		/* NULL: any */
	uint16_t local_port;
	const char *remote_host;
	uint16_t remote_port;
	bool topology_subnet;
	bool has_ifconfig;
	const char *ifconfig_local;
	const char *ifconfig_second;	/* netmask (subnet) or remote peer (net30/p2p) */
	unsigned int workers;		/* crypto workers per direction, resolved (all lanes') */
	bool workers_auto;		/* 'workers' not given: sized by runcfg_auto_workers() */
	/*
	 * No crypto threads (io/pipeline.h inline_crypto): 'workers 0', or not
	 * given on a machine of runcfg_auto_inline() CPUs. workers is then
	 * io_lanes: one worker's contexts per lane, run by its I/O threads.
	 */
	bool inline_crypto;
	unsigned int cpus;		/* usable CPUs (runcfg_usable_cpus()) */
	/*
	 * Lanes of a UDP server's data plane (io-queues, io/io.h), 1..IO_LANES_MAX;
	 * 1 for every other mode. main.c lowers it to 1 (and re-sizes automatic
	 * workers) when the kernel refuses a multi-queue TUN or the socket group.
	 */
	unsigned int io_lanes;
	bool io_lanes_auto;		/* 'io-queues' not given or auto: runcfg_auto_lanes() */
	bool tun_offload;		/* ask the TUN for its offloads (io/tun.c) */
	bool udp_gso;			/* send runs of datagrams with UDP_SEGMENT (io/udp.c) */
	bool udp_gro;			/* receive with UDP_GRO (io/udp.c) */
	bool uring_fixed_bufs;		/* TUN I/O into registered pool memory (io/uring.h) */
	uint32_t replay_window;
	uint32_t replay_time;
	const char *status_file;
	/* TLS client mode (client / tls-client + pull): the control channel runs. */
	bool is_client;
	/* Server mode (mode server / server): many clients, ctrl/server/server.c. */
	bool is_server;
	bool tcp_server;		/* ... listening on TCP (proto tcp-server), not UDP */
	/* Fixed-key test mode (test-data-key). */
	bool has_test_key;
	uint8_t test_key[KEY2_LEN];
	int test_key_direction;		/* 0: server halves, 1: client halves */
	enum dc_cipher test_cipher;
	uint32_t test_peer_id;
};

/* The CPUs this process may run on: online and in its affinity mask, at least 1. */
unsigned int runcfg_usable_cpus(void);
/*
 * The crypto workers per direction when 'workers' is not given: @cpus
 * minus the four I/O threads of each of the @lanes, at least one per lane,
 * at most DC_WORKERS_MAX.
 */
unsigned int runcfg_auto_workers(unsigned int cpus, unsigned int lanes);
/*
 * When 'workers' is not given: true if @cpus are so few that sealing and
 * opening on the I/O threads beats crypto threads (measured on 2 vCPUs: the
 * hand-overs and wake-ups cost more than the parallel crypto gains).
 */
bool runcfg_auto_inline(unsigned int cpus);
/* A UDP server's lanes when io-queues is auto: one per 8 of @cpus, 1..IO_LANES_MAX. */
unsigned int runcfg_auto_lanes(unsigned int cpus);

/* The data-channel compression framing (crypto/comp.h) for the current options. */
uint8_t runcfg_comp(const struct options *o);

/*
 * The mssfix maxima (pipeline_cfg.mss_v4/mss_v6, 0 = off) for the current
 * options, as OpenVPN 2.6 computes them (mss.c frame_calculate_mssfix) for
 * the data channel sluice runs: AEAD (packet id + tag, no CBC rounding),
 * P_DATA_V2 if @has_peer_id else V1, runcfg_comp()'s framing byte, and, for
 * "mssfix N mtu" and the default, the outer IP header of @sock_family
 * (AF_INET or AF_INET6, the UDP socket's) plus UDP.
 */
void runcfg_mss(const struct options *o, int sock_family, bool has_peer_id, uint16_t *mss_v4,
		uint16_t *mss_v6);
/*
 * runcfg_mss() for this run, with the family of the bound socket @udp_fd
 * (a server's maxima hold for all its clients, as in a stock server, where
 * they follow the socket too) and P_DATA_V2 unless a test key runs without
 * test-peer-id (2.6 servers always push a peer-id). Logs the result.
 */
void runcfg_mss_socket(const struct runcfg *rc, int udp_fd, uint16_t *mss_v4, uint16_t *mss_v6);

/* Parses argv (and --config files) into *out. On error fills @err and returns < 0. */
/*
 * The TLS settings of @o for a context of either role (ctrl/proto/tls.h):
 * files, versions, ciphers, peer checks; the server's also dh and
 * verify-client-cert. Borrows @o's strings.
 */
void runcfg_tls_conf(const struct options *o, bool is_server, struct tls_conf *tc);
int runcfg_load(struct runcfg **out, int argc, char **argv, char *err, size_t errlen);
void runcfg_free(struct runcfg *rc);

#endif
