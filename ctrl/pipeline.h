/*
 * pipeline.h - builds, starts, stops and frees the data plane (DESIGN.md §2)
 * and is ctrl's narrow API into it: add a peer, install/retire a key slot,
 * pick the send key, inject a packet, read counters. ctrl thread only.
 */
#ifndef SLUICE_PIPELINE_H
#define SLUICE_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/lpm.h"
#include "../core/peer.h"
#include "../core/pkt.h"
#include "../core/ring.h"
#include "../crypto/comp.h"
#include "../crypto/dc.h"
#include "../crypto/worker.h"
#include "../io/io.h"

/* Packets per pool: reads in flight + four rings of PIPE_RING_SLOTS + sends in flight. */
#define PIPE_POOL_PKTS		8192
/* Ring slots between stages: ~1 ms of 1 Mpps, enough to ride out a scheduling hiccup. */
#define PIPE_RING_SLOTS		1024
#define PIPE_CTRL_RING_SLOTS	256

struct pipeline_cfg {
	bool is_server;			/* picks key halves (openvpn-wire.md §5) */
	bool single_peer;		/* client and test modes: every packet is peer 0 */
	bool client_to_client;		/* server: route between clients inside the data plane */
	uint32_t max_routes;		/* server: LPM prefixes (pool addresses + iroutes) */
	unsigned int workers;		/* crypto workers per direction, 1..IO_WORKERS_MAX */
	uint32_t max_peers;		/* peer table size */
	int tun_fd;
	int udp_fd;
	uint32_t replay_window;
	uint32_t replay_time;
	bool replay_strict;
	/*
	 * mssfix: the largest MSS a TCP SYN crossing the tunnel (either way) may
	 * announce, for inner IPv4 and IPv6 (runcfg_mss()); 0 = no clamping.
	 * Data threads read them once per burst; pipeline_set_mss() changes them.
	 */
	uint16_t mss_v4;
	uint16_t mss_v6;
};

struct pipeline {
	struct pipeline_cfg cfg;
	struct tun_rx_thread tun_rx;
	struct udp_tx_thread udp_tx;
	struct udp_rx_thread udp_rx;
	struct tun_tx_thread tun_tx;
	struct crypt_thread enc[IO_WORKERS_MAX];
	struct crypt_thread dec[IO_WORKERS_MAX];
	struct pool *tun_pool;		/* home tun_rx */
	struct pool *udp_pool;		/* home udp_rx */
	struct pool *ctrl_pool;		/* home ctrl: control packets and injected pings */
	struct spsc *ctrl_to_udp;	/* ctrl -> udp_tx: control packets out */
	struct spsc *udp_to_ctrl;	/* udp_rx -> ctrl: control packets in */
	struct spsc *ctrl_to_tun_rx;	/* ctrl -> tun_rx: in-band packets to encrypt */
	struct spsc *tun_tx_to_ctrl;	/* tun_tx -> ctrl: in-band messages (OCC) */
	struct spsc *tun_tx_to_tun_rx;	/* tun_tx -> tun_rx: client-to-client (server) */
	struct doorbell ctrl_db;	/* rung by udp_rx and tun_tx */
	struct peer_table peers;
	/* Server: tunnel prefix -> peer id, read by tun_rx (routing) and tun_tx (source check). */
	struct lpm_root routes;
	/* Bumped by tun_tx (release) after it records a peer's float_ep; ctrl compares. */
	uint32_t float_events;
	uint32_t float_seen;		/* ctrl only */
	bool started;
	/* Compression scratch, one per thread that frames: tun_rx and tun_tx only. */
	uint8_t *tun_rx_scratch;
	uint8_t *tun_tx_scratch;
};

int pipeline_create(struct pipeline **out, const struct pipeline_cfg *cfg) __must_check;
int pipeline_start(struct pipeline *pl) __must_check;
/* Stops and joins every data thread; safe to call twice. */
void pipeline_stop(struct pipeline *pl);
/* After pipeline_stop: frees peers, keys (cleansed), rings and pools. */
void pipeline_destroy(struct pipeline *pl);
/*
 * A client's reconnect from a fresh UDP port. Between pipeline_stop and
 * pipeline_start: drops every packet still queued between stages (nothing
 * sealed for the old connection may leave through the new socket) and points
 * udp_rx/udp_tx at @udp_fd. pipeline_start then runs the same threads again:
 * same thread ids (they are never reused, so no rebuild) and counters kept.
 * The caller closes the old fd. -EBUSY while started.
 */
int pipeline_set_udp_fd(struct pipeline *pl, int udp_fd) __must_check;

/* Adds peer @id; @tx_peer_id is the peer-id we put in P_DATA_V2 (PEER_ID_NONE: V1). */
int pipeline_peer_add(struct pipeline *pl, uint32_t id, uint32_t tx_peer_id,
		      const union sockaddr_any *remote, socklen_t remote_len) __must_check;
/* Builds and publishes a key slot; the slot it replaces is retired through the epoch. */
int pipeline_key_install(struct pipeline *pl, uint32_t peer_id, uint8_t key_id,
			 enum dc_cipher cipher, const uint8_t key2[KEY2_LEN]) __must_check;
/* Sets the compression framing (crypto/comp.h mode | COMP_F_* flags) of @peer_id. */
void pipeline_peer_set_comp(struct pipeline *pl, uint32_t peer_id, uint8_t comp);
/* Makes @key_id the key tun_rx stamps on outgoing packets of @peer_id. */
void pipeline_key_set_tx(struct pipeline *pl, uint32_t peer_id, uint8_t key_id);
/* Unpublishes and retires the slot of @key_id. */
void pipeline_key_retire(struct pipeline *pl, uint32_t peer_id, uint8_t key_id);
/*
 * Server: unpublishes peer @id; the peer, its keys and endpoint are freed
 * through the epoch once no data thread can hold them. Its routes must be
 * removed (pipeline_routes_*) by the caller.
 */
void pipeline_peer_del(struct pipeline *pl, uint32_t id);
/* Server: moves @id to a new endpoint (float); the old one is retired through the epoch. */
int pipeline_peer_set_remote(struct pipeline *pl, uint32_t id, const union sockaddr_any *sa,
			     socklen_t len) __must_check;
/*
 * Server: the next peer that tun_tx saw authenticated at a new endpoint
 * since the last call, starting the scan at *@cursor. Returns true with
 * @id and @ep filled; false when none (cheap when tun_tx reported nothing).
 */
bool pipeline_float_next(struct pipeline *pl, uint32_t *cursor, uint32_t *id,
			 struct peer_endpoint *ep);
/* Server routes (staged; pipeline_routes_publish makes them visible to the data threads). */
int pipeline_route_add(struct pipeline *pl, int family, const void *addr, unsigned int plen,
		       uint32_t peer_id) __must_check;
void pipeline_route_del_peer(struct pipeline *pl, uint32_t peer_id);
int pipeline_routes_publish(struct pipeline *pl) __must_check;
/* Changes the mssfix maxima (e.g. once a push changed the compression framing). */
void pipeline_set_mss(struct pipeline *pl, uint16_t mss_v4, uint16_t mss_v6);
/* Sends a keepalive ping on the data channel to @peer_id. */
int pipeline_send_ping(struct pipeline *pl, uint32_t peer_id);
/* Frees control packets and in-band messages that arrived for ctrl (foundation: counted only). */
unsigned int pipeline_drain_ctrl(struct pipeline *pl, uint64_t *ctrl_count, uint64_t *inband_count);
/* What ctrl reads of a peer (single-writer fields of the data threads). */
struct pipeline_peer_stats {
	int64_t last_rx_ns;
	uint64_t rx_bytes;
	int64_t last_tx_ns;
	uint64_t tx_bytes;
	/* Mono ns of the last authenticated packet received on each key_id; 0 = never. */
	int64_t key_last_rx_ns[KEY_ID_COUNT];
};
/* Copies peer @id's counters; false if there is no such peer. */
bool pipeline_peer_stats(const struct pipeline *pl, uint32_t id, struct pipeline_peer_stats *out);
/* Writes every stage's counters as "stage.counter=value" lines. */
void pipeline_write_stats(struct pipeline *pl, FILE *f);

#endif
