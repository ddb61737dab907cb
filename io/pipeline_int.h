/*
 * pipeline_int.h - what io's pipeline files share: struct pipeline and the
 * stage ops. Not an API: only io/pipeline*.c, peers.c, send.c and receive.c
 * (and white-box tests) include it; ctrl sees io/pipeline.h only.
 *
 *   pipeline.c  build, start, stop, destroy; the wiring and the ctrl rings
 *   pipeline_stats.c  the counters ctrl reads (status dump, metrics)
 *   peers.c     the peer table, key slots, endpoints and routes (ctrl calls)
 *   send.c      outbound stage ops: tun_rx classify (client, server)
 *   receive.c   inbound stage ops: link_rx classify, tun_tx accept (client, server)
 *
 * Which variant of each op runs is decided once, in pipeline_create, from
 * cfg.single_peer (l3fwd's "decide once"): no data thread branches on the
 * mode per packet.
 */
#ifndef SLUICE_IO_PIPELINE_INT_H
#define SLUICE_IO_PIPELINE_INT_H

#include <string.h>

#include "../core/lpm.h"
#include "../core/ring.h"
#include "../crypto/worker.h"
#include "link.h"
#include "loop.h"
#include "peer.h"
#include "pipeline.h"

/*
 * Packets per pool: reads in flight + a direction's worker rings (at most half
 * the pool: worker_ring_slots() in pipeline.c) + sends in flight.
 */
#define PIPE_POOL_PKTS		8192
/* Ring slots between stages: ~1 ms of 1 Mpps, enough to ride out a scheduling hiccup. */
#define PIPE_RING_SLOTS		1024
#define PIPE_CTRL_RING_SLOTS	256
/* ctrl's own packets: control datagrams out and keepalive pings in flight at once. */
#define PIPE_CTRL_POOL_PKTS	1024
/* TUN offloads and UDP GRO: 64 KiB read buffers, one per read slot (they never leave it). */
#define PIPE_GSO_POOL_PKTS	(URING_RX_SLOTS + 8)
/*
 * Lanes (io.h): a UDP server may split its data plane into up to
 * IO_LANES_MAX, each a TUN queue and an SO_REUSEPORT socket with its own
 * tun_rx, tun_tx, link_rx and link_tx and its own share of the workers.
 * Every other mode has one. Link i is lane i's.
 */
#define PIPE_LANES_MAX		IO_LANES_MAX
#define PIPE_LINKS_MAX		PIPE_LANES_MAX
/* Threads: four loops per lane, the workers. */
#define PIPE_THREADS_MAX	(4 * PIPE_LANES_MAX + 2 * IO_WORKERS_MAX)

_Static_assert(IO_WORKERS_MAX <= DC_WORKERS_MAX, "a key slot has a context per worker");
_Static_assert(PIPE_THREADS_MAX < THREAD_MAX, "the data plane's threads and ctrl fit");

/* One link with its loops, pool and control rings. */
struct pipe_link {
	struct link *link;		/* link.h; ops chosen by cfg.link_type */
	struct link_rx_thread rx;
	struct link_tx_thread tx;
	struct pool *pool;		/* home rx: its packets */
	struct pool *buf_pool;		/* home rx: read buffers that stay in the slots (GRO); or NULL */
	unsigned int offload;		/* LINK_F_* the link got */
	struct spsc *ctrl_in;		/* ctrl -> tx: control packets out */
	struct spsc *ctrl_out;		/* rx -> ctrl: control packets in */
	/*
	 * ctrl (pipeline_stats.c): datagrams the kernel dropped at the link's
	 * socket, carried over when a reconnect replaces the socket: the
	 * sockets before this one, the last count read from it, and which
	 * socket that was (its inode; 0: none yet).
	 */
	uint64_t sock_drops_base;
	uint32_t sock_drops_last;
	uint64_t sock_ino;
};

struct pipeline;

/*
 * One lane's TUN side: its two loops, their pools and rings, and the
 * workers it deals to (enc[w0 .. w0 + nw), dec[w0 .. w0 + nw)). The stage
 * ops get the lane as their context. A packet tun_rx reads for a peer of
 * another lane (the kernel picks a TUN queue per flow, not per peer) goes
 * to that lane's tun_rx through fwd[], so a peer's packet-ids, compression
 * state and replay window each keep one writer.
 */
struct pipe_lane {
	struct tun_rx_thread tun_rx;
	struct tun_tx_thread tun_tx;
	struct pipeline *pl;
	unsigned int index;
	unsigned int w0, nw;
	struct pool *tun_pool;		/* home tun_rx */
	struct pool *tun_gso_pool;	/* home tun_rx: its read buffers with TUN offloads; or NULL */
	struct spsc *ctrl_to_tun_rx;	/* ctrl -> tun_rx: in-band packets for this lane's peers */
	struct spsc *tun_tx_to_ctrl;	/* tun_tx -> ctrl: in-band messages (OCC) */
	struct spsc *c2c;		/* tun_tx -> tun_rx: client-to-client (server); or NULL */
	struct spsc *fwd[PIPE_LANES_MAX];	/* tun_rx -> lane j's tun_rx; NULL for j == index */
	/* Compression scratch, one per thread that frames. */
	uint8_t *tun_rx_scratch;
	uint8_t *tun_tx_scratch;
};

struct pipeline {
	struct pipeline_cfg cfg;
	struct pipe_lane lanes[PIPE_LANES_MAX];
	unsigned int nlanes;
	struct pipe_link links[PIPE_LINKS_MAX];
	unsigned int nlinks;		/* == nlanes */
	struct crypt_thread enc[IO_WORKERS_MAX];
	struct crypt_thread dec[IO_WORKERS_MAX];
	/* Every thread with its doorbell, in start order (consumers before producers). */
	struct thread *thr[PIPE_THREADS_MAX];
	struct doorbell *thr_db[PIPE_THREADS_MAX];
	unsigned int nthr;
	struct pool *ctrl_pool;		/* home ctrl: control packets and injected pings */
	struct doorbell ctrl_db;	/* rung by link_rx and tun_tx */
	struct dc_peer_table peers;	/* entries are &struct peer.dc (peer.h) */
	/* Server: tunnel prefix -> peer id, read by tun_rx (routing) and tun_tx (source check). */
	struct lpm_root routes;
	/* Bumped by tun_tx (release) after it records a peer's float_ep; ctrl compares. */
	uint32_t float_events;
	uint32_t float_seen;		/* ctrl only */
	bool started;
};

/* The lane a peer's packets are numbered, sealed, opened and checked in. */
static inline unsigned int pipe_lane_of(const struct pipeline *pl, uint32_t peer_id)
{
	return io_lane_of(peer_id, pl->nlanes);
}

/*
 * The client an IP packet's destination (or, @src, source) address is
 * routed to, or LPM_NONE: not IPv4/IPv6, too short, or no route. Data
 * threads, inside their epoch section (@t is their snapshot).
 */
static inline uint32_t pipe_route_lookup(const struct lpm *t, const struct pkt *q, bool src)
{
	const uint8_t *ip = q->data;

	if (q->len >= 20 && (ip[0] >> 4) == 4) {
		uint32_t a;

		memcpy(&a, ip + (src ? 12 : 16), 4);
		return lpm_lookup4(t, a);
	}
	if (q->len >= 40 && (ip[0] >> 4) == 6)
		return lpm_lookup6(t, ip + (src ? 8 : 24));
	return LPM_NONE;
}

/* send.c: tun_rx ops (tun_rx thread, inside its epoch section). */
void send_tun_rx_client(void *ctx, struct pkt **p, unsigned int n, struct stats *st);
void send_tun_rx_server(void *ctx, struct pkt **p, unsigned int n, struct stats *st);

/* receive.c: link_rx ops (link_rx thread) and tun_tx ops (tun_tx thread, in its epoch section). */
uint8_t receive_link_rx_client(void *ctx, struct pkt *p, bool *is_control);
uint8_t receive_link_rx_server(void *ctx, struct pkt *p, bool *is_control);
void receive_tun_tx_client(void *ctx, struct pkt **p, unsigned int n, int64_t now_ns,
			   struct stats *st);
void receive_tun_tx_server(void *ctx, struct pkt **p, unsigned int n, int64_t now_ns,
			   struct stats *st);

/* peers.c: frees every peer still in the table (pipeline_destroy, threads joined). */
void peers_free_all(struct pipeline *pl);

#endif
