/*
 * addrtab.h - UDP source endpoint (address + port) -> peer id, server mode
 * (DESIGN.md §3: "a hash by source address serves control packets and
 * floating").
 *
 * Readers: ctrl (control packets of known clients) and udp_rx (P_DATA_V1,
 * which carries no peer-id). udp_rx looks up inside its epoch section, no
 * locks; P_DATA_V2 should be indexed by peer-id and never come here.
 *
 * Design: a fixed array of shards, each an immutable open-addressing table
 * (linear probing, load <= 1/2) published on its own with one release store.
 * A key lives in exactly one shard, so readers need no snapshot across
 * shards. ctrl changes a key by building a copy of its one shard (about 16
 * keys at full size) and retiring the old shard through the epoch: O(shard),
 * not O(table). The hash is SipHash-1-3 under a random key drawn at create,
 * so remote senders cannot aim their addresses at one shard or one chain.
 *
 * Keys: IPv4, IPv6 with scope id, and v4-mapped IPv6 folded to IPv4 (a
 * dual-stack socket reports v4 clients that way). Memory: 32 bytes per slot
 * at load 1/4..1/2, so 64..128 bytes per endpoint, plus 8 bytes per shard.
 */
#ifndef SLUICE_ADDRTAB_H
#define SLUICE_ADDRTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "pkt.h"

#define ADDRTAB_NONE	UINT32_MAX	/* no peer at this endpoint */
/* Keys a shard holds on average when the table is full: a copy stays ~1 KiB. */
#define ADDRTAB_SHARD_KEYS	16

/* addr[16] | scope (4) | port (2, network order) | family (1: 4 or 6) | 0 */
struct addrtab_key {
	uint64_t w[3];
};

struct addrtab_slot {
	struct addrtab_key key;
	uint32_t peer;			/* ADDRTAB_NONE: empty slot */
	uint32_t pad;
};

/* Immutable once published; freed only through the epoch. */
struct addrtab_shard {
	uint32_t mask;			/* slots - 1, slots a power of two */
	uint32_t count;
	struct addrtab_slot slot[];
};

struct addrtab {
	uint64_t sip[2];		/* hash key; written once at create */
	uint32_t shard_mask;		/* shards - 1 */
	uint32_t max, count;		/* ctrl only */
	/* Each published by ctrl with a release store; NULL is an empty shard. */
	struct addrtab_shard **shard;
};

/* ctrl only: a table for at most @max_entries endpoints. */
int addrtab_create(struct addrtab **out, uint32_t max_entries) __must_check;
/* ctrl only, after every reader stopped. */
void addrtab_destroy(struct addrtab *t);

/*
 * ctrl only, visible to readers on return. Insert replaces the peer of a
 * known endpoint. -EAFNOSUPPORT: not AF_INET/AF_INET6; -EINVAL: peer is
 * ADDRTAB_NONE; -ENOSPC: max_entries reached; -ENOMEM.
 */
int addrtab_insert(struct addrtab *t, const union sockaddr_any *sa, uint32_t peer) __must_check;
/* ctrl only. -ENOENT if absent; -ENOMEM (the old shard stays). */
int addrtab_remove(struct addrtab *t, const union sockaddr_any *sa);
/* ctrl only: removes every endpoint of @peer; returns how many. */
uint32_t addrtab_remove_peer(struct addrtab *t, uint32_t peer);
/* ctrl only. */
uint32_t addrtab_count(const struct addrtab *t);

/*
 * Readers: udp_rx inside an epoch section, or ctrl. Peer id of @sa or
 * ADDRTAB_NONE (also for an unknown family). No allocation, no lock.
 */
uint32_t addrtab_lookup(const struct addrtab *t, const union sockaddr_any *sa);

#endif
