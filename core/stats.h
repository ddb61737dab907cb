/*
 * stats.h - per-thread counters (STYLE.md §8).
 *
 * Each thread owns one struct stats and is its only writer; ctrl reads all of
 * them to report. Writes are relaxed atomic stores of a loaded value plus one
 * (no read-modify-write instruction, no lock prefix), so they compile to plain
 * increments while staying race-free for TSan and for the reader.
 */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "compiler.h"

/* Why a packet was dropped. Keep stats_drop_name() in step. */
enum drop_reason {
	DROP_NONE = 0,
	DROP_RING_FULL,		/* next stage's ring had no room */
	DROP_POOL_EMPTY,	/* no buffer to receive into */
	DROP_SHORT,		/* shorter than its header */
	DROP_OVERSIZE,		/* longer than we accept */
	DROP_BAD_OPCODE,	/* unknown or unexpected opcode */
	DROP_NO_KEY,		/* key_id names no installed key */
	DROP_BAD_PEER,		/* peer-id unknown or wrong */
	DROP_AUTH,		/* AEAD tag did not verify */
	DROP_REPLAY,		/* replay window rejected the packet-id */
	DROP_NO_ROUTE,		/* tun packet for no peer */
	DROP_PID_EXHAUSTED,	/* send packet-id reached its limit */
	DROP_BAD_COMP,		/* unknown compression framing */
	DROP_IO,		/* a read or write failed */
	DROP_CRYPTO,		/* OpenSSL failed outside a tag check */
	DROP_NO_CTRL,		/* control packet with no ctrl ring */
	DROP_INBAND,		/* not an error: an in-band ping/OCC consumed by tun_tx */
	DROP_BAD_SRC,		/* server: inner source address not routed to that client */
	DROP_SHUTDOWN,		/* read while the loop was stopping: counted, not passed on */
	DROP_BAD_OFFLOAD,	/* a virtio-net header or GRO batch we cannot honour */
	DROP_LANE,		/* server: a data packet on another lane's socket (io.h lanes) */
	DROP_MAX
};

struct stats {
	uint64_t rx_pkts;	/* packets taken in by this stage */
	uint64_t rx_bytes;
	uint64_t tx_pkts;	/* packets passed on / written by this stage */
	uint64_t tx_bytes;
	uint64_t ctrl_pkts;	/* control packets handed to ctrl */
	uint64_t ping_pkts;	/* keepalive pings consumed */
	uint64_t occ_pkts;	/* OCC messages handed to ctrl */
	uint64_t wakeups;	/* times this thread slept and woke */
	uint64_t lz4_compressed;	/* tun_rx: payloads sent LZ4-compressed (crypto/comp.c) */
	uint64_t lz4_decompressed;	/* tun_tx: LZ4 payloads received and expanded */
	uint64_t lzo_compressed;	/* tun_rx: payloads sent LZO-compressed (crypto/comp.c) */
	uint64_t lzo_decompressed;	/* tun_tx: LZO payloads received and expanded */
	/*
	 * Offloads: super-packets this stage read, wrote, sent or received as
	 * one (TUN TSO/USO read, coalesced TUN write, UDP GSO send, UDP GRO
	 * receive), and the packets they carried. rx_/tx_pkts still count each
	 * of those packets, so the per-stage sums stay as without offloads.
	 */
	uint64_t super_pkts;
	uint64_t super_segs;
	uint64_t lane_pkts;	/* tun_rx: packets handed to another lane's tun_rx */
	uint64_t drop[DROP_MAX];
} __attribute__((aligned(CACHELINE)));

#define STAT_ADD(field, n) \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(field)		STAT_ADD(field, 1)
#define STAT_DROP(st, reason)	STAT_INC((st)->drop[(reason)])
#define STAT_READ(field)	__atomic_load_n(&(field), __ATOMIC_RELAXED)

const char *stats_drop_name(enum drop_reason r);
/* Adds a snapshot of @src into @dst. Any thread; reads relaxed. */
void stats_accumulate(struct stats *dst, const struct stats *src);
/* Prints "prefix.key=value" lines, skipping zero drop counters. */
void stats_print(FILE *f, const char *prefix, const struct stats *st);

#endif
