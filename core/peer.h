/*
 * peer.h - what the data plane knows of a peer (DESIGN.md §3).
 *
 * In client mode there is one peer (the server); in server mode one per
 * client, at index peer->id of the peer table. ctrl builds, publishes and
 * retires peers and their key slots; data threads only read the published
 * fields, inside an epoch section. Fields a data thread writes carry the
 * name of their one writer.
 */
#ifndef SLUICE_PEER_H
#define SLUICE_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "pkt.h"
#include "proto.h"

struct dc_keyslot;

struct peer_endpoint {
	union sockaddr_any sa;
	socklen_t len;
};

struct peer {
	uint32_t id;			/* our index; the peer-id we expect in P_DATA_V2 */
	uint32_t tx_peer_id;		/* peer-id in packets we send; PEER_ID_NONE: send P_DATA_V1 */
	/* Published by ctrl with release stores; read with acquire. */
	struct dc_keyslot *keys[KEY_ID_COUNT];
	uint8_t tx_key_id;		/* slot tun_rx stamps on outgoing packets */
	uint8_t comp;			/* compression framing, crypto/comp.h mode | flags */
	/* NULL: socket is connected. Published by ctrl (float), read with acquire. */
	struct peer_endpoint *remote;
	/* Written by tun_tx only: mono ns of the last authenticated packet in, its bytes. */
	alignas(CACHELINE) int64_t last_rx_ns;
	uint64_t rx_bytes;
	int64_t key_last_rx_ns[KEY_ID_COUNT];	/* per key_id, the same clock */
	/*
	 * Written by tun_tx only (server): an authenticated packet came from
	 * float_ep, not from remote. A seqlock: float_seq is odd while ep is
	 * being written; ctrl copies ep between two equal even reads and then
	 * moves remote there (openvpn-wire.md: float after authentication).
	 */
	uint32_t float_seq;
	struct peer_endpoint float_ep;
	uint32_t float_done;		/* ctrl only: the float_seq it acted on */
	/* Written by udp_tx only: mono ns of the last packet sent, bytes sent (wire). */
	alignas(CACHELINE) int64_t last_tx_ns;
	uint64_t tx_bytes;
};

/* Peers indexed by id; slots published by ctrl, read by data threads. */
struct peer_table {
	uint32_t size;
	struct peer **slot;
};

static inline struct peer *peer_lookup(const struct peer_table *t, uint32_t id)
{
	if (unlikely(id >= t->size))
		return NULL;
	/* Acquire pairs with ctrl's release in peer_publish(). */
	return __atomic_load_n(&t->slot[id], __ATOMIC_ACQUIRE);
}

static inline struct dc_keyslot *peer_key(const struct peer *pr, uint8_t key_id)
{
	/* Acquire pairs with ctrl's release when it installs the slot. */
	return __atomic_load_n(&pr->keys[key_id & P_KEY_ID_MASK], __ATOMIC_ACQUIRE);
}

static inline uint8_t peer_comp(const struct peer *pr)
{
	return __atomic_load_n(&pr->comp, __ATOMIC_RELAXED);
}

static inline uint8_t peer_tx_key_id(const struct peer *pr)
{
	return __atomic_load_n(&pr->tx_key_id, __ATOMIC_ACQUIRE);
}

static inline const struct peer_endpoint *peer_remote(const struct peer *pr)
{
	/* Acquire pairs with ctrl's release when it moves the peer (float). */
	return __atomic_load_n(&pr->remote, __ATOMIC_ACQUIRE);
}

/* ctrl only. */
static inline void peer_publish(struct peer_table *t, uint32_t id, struct peer *pr)
{
	__atomic_store_n(&t->slot[id], pr, __ATOMIC_RELEASE);
}

#endif
