/*
 * peer.h - what the data plane knows of a peer (DESIGN.md §3).
 *
 * In client mode there is one peer (the server); in server mode one per
 * client, at index peer->id of the peer table. ctrl builds, publishes and
 * retires peers and their key slots (io/peers.c); data threads only read the
 * published fields, inside an epoch section. Fields a data thread writes
 * carry the name of their one writer.
 *
 * The crypto workers need only the key slots and the peer-id to stamp, so
 * those live in crypto's struct dc_peer, embedded first: the table holds
 * struct dc_peer pointers and peer_lookup() converts back at no cost. This
 * header is io's own; ctrl sees peers only through io/pipeline.h.
 */
#ifndef SLUICE_IO_PEER_H
#define SLUICE_IO_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/pkt.h"
#include "../core/proto.h"
#include "../crypto/comp.h"
#include "../crypto/dc.h"
#include "link.h"

struct peer {
	struct dc_peer dc;		/* first: the table's entries point here */
	uint32_t id;			/* our index; the peer-id we expect in P_DATA_V2 */
	uint8_t tx_key_id;		/* slot tun_rx stamps on outgoing packets */
	uint8_t comp;			/* compression framing, crypto/comp.h mode | flags */
	/* NULL: the link is connected to it. Published by ctrl (float), read with acquire. */
	struct peer_endpoint *remote;
	/*
	 * ctrl only: mono ns just after it published keys[k]. A key_rx_ns[k]
	 * not later than this may still come from the slot it replaced (tun_tx
	 * reads its clock before it looks the slot up), so it does not count.
	 */
	int64_t key_install_ns[KEY_ID_COUNT];
	/* Written by tun_tx only: mono ns of the last authenticated packet in, its bytes. */
	alignas(CACHELINE) int64_t last_rx_ns;
	uint64_t rx_bytes;
	uint64_t rx_pkts;
	/* Written by tun_tx only: last_rx_ns per key_id of the packet (0: none yet). */
	int64_t key_rx_ns[KEY_ID_COUNT];
	/*
	 * Written by tun_tx only (server): an authenticated packet came from
	 * float_ep, not from remote. A seqlock: float_seq is odd while ep is
	 * being written; ctrl copies ep between two equal even reads and then
	 * moves remote there (openvpn-wire.md: float after authentication).
	 * tun_tx writes sa and len; link and conn stay as peer_add set them.
	 */
	uint32_t float_seq;
	struct peer_endpoint float_ep;
	uint32_t float_done;		/* ctrl only: the float_seq it acted on */
	/* Written by tun_rx only: adaptive LZO of what we send it (crypto/comp.h). */
	alignas(CACHELINE) struct comp_adapt comp_ac;
	/* Written by link_tx only: mono ns of the last packet sent, bytes and packets sent (wire). */
	alignas(CACHELINE) int64_t last_tx_ns;
	uint64_t tx_bytes;
	uint64_t tx_pkts;
};

_Static_assert(offsetof(struct peer, dc) == 0, "peer_lookup converts a dc_peer pointer back");

/* Data threads (inside an epoch section) and ctrl. NULL: no such peer. */
static inline struct peer *peer_lookup(const struct dc_peer_table *t, uint32_t id)
{
	/* dc is the first member: the conversion is free, and NULL stays NULL. */
	return (struct peer *)dc_peer_lookup(t, id);
}

static inline struct dc_keyslot *peer_key(const struct peer *pr, uint8_t key_id)
{
	return dc_peer_key(&pr->dc, key_id);
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

/* ctrl only. Release pairs with the acquire in dc_peer_lookup(). */
static inline void peer_publish(struct dc_peer_table *t, uint32_t id, struct peer *pr)
{
	__atomic_store_n(&t->slot[id], pr ? &pr->dc : NULL, __ATOMIC_RELEASE);
}

#endif
