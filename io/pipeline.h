/*
 * pipeline.h - ctrl's one API into the data plane (DESIGN.md §2, STYLE.md §1):
 * build, start, stop and free it; add and remove peers, install, pick and
 * retire their key slots, move them (float), route to them; exchange control
 * packets and in-band messages with the link; read counters and per-peer
 * liveness. struct pipeline is opaque: only io/ knows what is inside.
 *
 * Threads: every function here is for ctrl (the main thread) only, unless
 * its comment says otherwise.
 */
#ifndef SLUICE_IO_PIPELINE_H
#define SLUICE_IO_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/compiler.h"
#include "../core/pkt.h"
#include "../core/proto.h"
#include "../crypto/dc.h"
#include "io.h"
#include "link.h"

struct pipeline;

struct pipeline_cfg {
	bool is_server;			/* picks key halves (openvpn-wire.md §5) */
	bool single_peer;		/* client and test modes: every packet is peer 0 */
	bool client_to_client;		/* server: route between clients inside the data plane */
	uint32_t max_routes;		/* server: LPM prefixes (pool addresses + iroutes) */
	unsigned int workers;		/* crypto workers per direction, 1..IO_WORKERS_MAX */
	/*
	 * No crypto threads: each lane's tun_rx seals and its link_rx opens
	 * (crypto/worker.h crypt_inline_burst) before dealing straight to
	 * link_tx and tun_tx. Needs workers == lanes: one worker's contexts per
	 * lane, run by those two loops. Fewer threads and hand-overs; for a
	 * machine with few CPUs (ctrl/config/runcfg.c decides).
	 */
	bool inline_crypto;
	uint32_t max_peers;		/* peer table size */
	int tun_fd;
	unsigned int tun_offload;	/* TUN_OFF_* tun_open granted for tun_fd (io.h) */
	/*
	 * Lanes (io.h IO_LANES_MAX; 0 or 1: one). With more, a UDP server's:
	 * lane i reads and writes TUN queue tun_fds[i] and socket link_fds[i]
	 * (all of one SO_REUSEPORT group, steered with udp_reuseport_steer);
	 * tun_fds[0] == tun_fd and link_fds[0] == link_fd. Every queue was
	 * opened with tun_offload. workers >= lanes; lane i gets an equal share.
	 */
	unsigned int lanes;
	int tun_fds[IO_LANES_MAX];
	int link_fds[IO_LANES_MAX];
	enum link_type link_type;	/* the link to the peers: LINK_UDP (0), _TCP, _TCP_SERVER */
	int link_fd;			/* its socket (ctrl keeps it; closes it after destroy) */
	uint32_t link_max_conns;	/* LINK_TCP_SERVER: connections at once (0: max_peers + 16) */
	uint32_t link_idle_s;		/* LINK_TCP_SERVER: close a connection silent this long (0: never) */
	unsigned int link_offload;	/* LINK_F_GSO | LINK_F_GRO wanted (link.h) */
	bool no_fixed_bufs;		/* uring-fixed-buffers no: plain TUN reads and writes */
	uint32_t replay_window;
	uint32_t replay_time;
	bool replay_strict;		/* always strict on a stream link (link.h) */
	/*
	 * mssfix: the largest MSS a TCP SYN crossing the tunnel (either way) may
	 * announce, for inner IPv4 and IPv6 (runcfg_mss()); 0 = no clamping.
	 * Data threads read them once per burst; pipeline_set_mss() changes them.
	 */
	uint16_t mss_v4;
	uint16_t mss_v6;
};

/* A peer's liveness and byte counts, as the data threads last wrote them. */
struct pipeline_peer_stats {
	int64_t last_rx_ns;		/* mono ns of the last authenticated packet in; 0: none */
	uint64_t rx_bytes;		/* plaintext bytes accepted */
	int64_t last_tx_ns;		/* mono ns of the last data packet sent; 0: none */
	uint64_t tx_bytes;		/* wire bytes sent */
	uint64_t rx_pkts;		/* packets accepted (as rx_bytes) */
	uint64_t tx_pkts;		/* packets sent (as tx_bytes) */
	/* Per key_id: mono ns of the last authenticated packet opened with it; 0: never. */
	int64_t key_last_rx_ns[KEY_ID_COUNT];
};

int pipeline_create(struct pipeline **out, const struct pipeline_cfg *cfg) __must_check;
int pipeline_start(struct pipeline *pl) __must_check;
/* Stops and joins every data thread; safe to call twice. */
void pipeline_stop(struct pipeline *pl);
/* After pipeline_stop: frees peers, keys (cleansed), rings and pools. */
void pipeline_destroy(struct pipeline *pl);
/*
 * Points link @link (0 today: the only one) at socket @fd: a client's
 * reconnect from a fresh UDP port. Between pipeline_stop and pipeline_start:
 * drops every packet still queued between stages (nothing sealed for the
 * old connection may leave through the new socket). pipeline_start then
 * runs the same threads again: same thread ids (they are never reused, so
 * no rebuild) and counters kept. The caller closes the old fd. A socket of
 * the other kind (a TCP entry after a UDP one) gets a new link of its type
 * (link_type_of_fd). -EBUSY while started, -EINVAL for no such link.
 */
int pipeline_link_set_fd(struct pipeline *pl, unsigned int link, int fd) __must_check;

/* The LINK_F_* offloads link @link got from the kernel (pipeline_cfg.link_offload). */
unsigned int pipeline_link_offload(const struct pipeline *pl, unsigned int link);

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
/* The peer-id @id stamps on what it sends (PEER_ID_NONE: P_DATA_V1, or no such peer). */
uint32_t pipeline_peer_tx_peer_id(const struct pipeline *pl, uint32_t id);
/* Fills @out with @id's counters; false (and @out zeroed) if there is no peer @id. */
bool pipeline_peer_stats(const struct pipeline *pl, uint32_t id, struct pipeline_peer_stats *out);
/*
 * Server over TCP: the address of a connection that closed after it carried
 * a frame (its session should end), oldest first; false if none.
 */
bool pipeline_link_closed(struct pipeline *pl, union sockaddr_any *sa, socklen_t *len);
/* The peer table's size: peer ids are 0 .. pipeline_max_peers() - 1. */
uint32_t pipeline_max_peers(const struct pipeline *pl);
/* Server routes (staged; pipeline_routes_publish makes them visible to the data threads). */
int pipeline_route_add(struct pipeline *pl, int family, const void *addr, unsigned int plen,
		       uint32_t peer_id) __must_check;
void pipeline_route_del_peer(struct pipeline *pl, uint32_t peer_id);
int pipeline_routes_publish(struct pipeline *pl) __must_check;
/* Changes the mssfix maxima (e.g. once a push changed the compression framing). */
void pipeline_set_mss(struct pipeline *pl, uint16_t mss_v4, uint16_t mss_v6);

/*
 * The ctrl doorbell: an eventfd, readable when a data thread queued control
 * packets, in-band messages or a float event for ctrl. ctrl polls it with
 * its other fds: pipeline_ctrl_prepare_sleep() before it blocks (if that
 * returns false, do not block: work is pending), pipeline_ctrl_wake_clear()
 * after it woke (either way), then pipeline_ctrl_recv/inband_recv and, in
 * server mode, pipeline_float_next.
 */
int pipeline_ctrl_fd(const struct pipeline *pl);
bool pipeline_ctrl_prepare_sleep(struct pipeline *pl);
void pipeline_ctrl_wake_clear(struct pipeline *pl);
/*
 * Up to @max control packets from the link (p->addr: their source), or
 * in-band messages from tun_tx (OCC: p->peer_id is the sender). The caller
 * owns them and frees them with pkt_free_burst.
 */
unsigned int pipeline_ctrl_recv(struct pipeline *pl, struct pkt **p, unsigned int max);
unsigned int pipeline_inband_recv(struct pipeline *pl, struct pkt **p, unsigned int max);
/*
 * Copies one control datagram into a ctrl-pool packet and queues it to the
 * link's sender. @to is the destination, NULL for a connected client socket;
 * @peer_id the peer it belongs to, PEER_ID_NONE before a session has one.
 * Returns 0, -ENOMEM (no free packet), -ENOBUFS (the link's control ring is
 * full), -EMSGSIZE (longer than a packet) or -EINVAL (@tolen too long).
 * On a TCP server link a @len of 0 closes @to's connection after what was
 * queued before it (io/link.h).
 */
int pipeline_ctrl_send(struct pipeline *pl, uint32_t peer_id, const union sockaddr_any *to,
		       socklen_t tolen, const void *buf, size_t len);
/* The longest in-band message (an OCC reply with an options string): one MTU packet. */
#define PIPE_INBAND_MAX		1400
/*
 * Sends the in-band message @msg (@len bytes, OpenVPN's ping or OCC magic
 * first) on the data channel to @peer_id, sealed like data. 0, -EMSGSIZE
 * or -ENOBUFS.
 */
int pipeline_send_inband(struct pipeline *pl, uint32_t peer_id, const void *msg, size_t len);
/* Sends a keepalive ping on the data channel to @peer_id. */
int pipeline_send_ping(struct pipeline *pl, uint32_t peer_id);
/* Frees control packets and in-band messages that arrived for ctrl (counted only). */
unsigned int pipeline_drain_ctrl(struct pipeline *pl, uint64_t *ctrl_count, uint64_t *inband_count);
/*
 * Tunnel traffic so far: bytes read from the TUN device (@from_tun) and
 * written to it (@to_tun); keepalive pings and OCC are not in them.
 */
void pipeline_tun_bytes(const struct pipeline *pl, uint64_t *from_tun, uint64_t *to_tun);
/*
 * What tun_rx and tun_tx got of uring-fixed-buffers: pools registered as
 * fixed buffers, or -errno where the kernel refused them (plain reads and
 * writes run); 0 before the thread started, or with the switch off.
 */
void pipeline_fixed_bufs(const struct pipeline *pl, int *tun_rx, int *tun_tx);

/* The lanes the pipeline runs (pipeline_cfg.lanes, or 1). */
unsigned int pipeline_lanes(const struct pipeline *pl);
/* Writes every stage's counters as "stage.counter=value" lines. */
void pipeline_write_stats(struct pipeline *pl, FILE *f);

#endif
