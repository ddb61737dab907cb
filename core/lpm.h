/*
 * lpm.h - longest-prefix match of a tunnel destination to a peer id
 * (DESIGN.md §3: server mode, ifconfig-push host routes and iroutes).
 *
 * Design: the published table is a flat, immutable "interval map". The
 * prefixes of one family cut the address space into disjoint ranges, each
 * with one answer (the longest covering prefix, or LPM_NONE); the table keeps
 * the ascending range starts in one array and the answers in another, and a
 * lookup is one branch-free binary search (about log2(2n + 1) loads, the top
 * levels hot in cache). No pointers inside, so one allocation holds a whole
 * version, a version is never mutated after publication, and freeing it is
 * one free(). Chosen over a path-copied multibit trie because the typical
 * load (random /32 and /128 host routes) costs a trie several nodes per
 * prefix, and over DIR-24-8 because a copy of its 32 MiB first level per
 * change is out of the question.
 *
 * Memory: each prefix adds at most two ranges: 16 bytes per IPv4 prefix and
 * 40 bytes per IPv6 prefix in the published version, plus ctrl's staging
 * list (32 bytes per prefix). During a change the old version lives on until
 * its epoch retires it. 64k prefixes: about 1 MiB (v4) or 2.5 MiB (v6).
 *
 * Writers: ctrl only. lpm_insert*() and lpm_remove*() change ctrl's private
 * staging list; lpm_publish() rebuilds the table from it (O(n)), publishes
 * it with one release store and hands the old one to epoch_retire(). ctrl
 * publishes once per batch (e.g. per event-loop turn), so a storm of client
 * connects costs one rebuild per turn, not one per client.
 *
 * Readers (tun_rx, per packet, no locks): inside epoch_begin()/epoch_end(),
 *	const struct lpm *t = lpm_snapshot(&root);
 *	peer = lpm_lookup4(t, ip->daddr);
 * One snapshot per burst is enough; it stays valid until epoch_end().
 */
#ifndef SLUICE_LPM_H
#define SLUICE_LPM_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "compiler.h"

#define LPM_NONE	UINT32_MAX	/* no prefix covers the address */
/* Nested prefixes open at once while building: one per prefix length. */
#define LPM_DEPTH_MAX	129

/* One published version. Immutable; freed only through the epoch. */
struct lpm {
	uint32_t n4, n6;		/* ranges per family, each >= 1 */
	const uint32_t *key4;		/* ascending range starts, host order; key4[0] == 0 */
	const uint32_t *val4;		/* answer for [key4[i], key4[i + 1]) */
	const unsigned __int128 *key6;	/* as key4, addresses as big integers */
	const uint32_t *val6;
	uint32_t prefixes;		/* prefixes in this version, both families */
};

/* ctrl's staging entry; v4 addresses are stored in the low 32 bits. */
struct lpm_entry {
	unsigned __int128 addr;		/* host bits clear */
	uint32_t peer;
	uint8_t plen;
};

struct lpm_set {
	struct lpm_entry *e;		/* sorted by (addr, plen) */
	uint32_t n, cap;
	uint8_t bits;			/* 32 or 128 */
};

struct lpm_root {
	struct lpm *cur;		/* published: release in lpm_publish, acquire in lpm_snapshot */
	/* ctrl only from here on. */
	struct lpm_set v4, v6;
	uint32_t max;			/* prefixes allowed, both families together */
	bool dirty;			/* staged changes not yet published */
};

/* ctrl only: publishes an empty table. @max_prefixes bounds both families together. */
int lpm_root_init(struct lpm_root *r, uint32_t max_prefixes) __must_check;
/* ctrl only, after every reader stopped: frees the current version and the staging list. */
void lpm_root_destroy(struct lpm_root *r);

/*
 * ctrl only, staged until lpm_publish(). Host bits beyond @plen are ignored.
 * Insert replaces the peer of an existing prefix. -EINVAL: plen out of range
 * or peer LPM_NONE; -ENOSPC: max_prefixes reached; -ENOMEM.
 */
int lpm_insert4(struct lpm_root *r, uint32_t addr_be, unsigned int plen,
		uint32_t peer) __must_check;
int lpm_insert6(struct lpm_root *r, const uint8_t addr[16], unsigned int plen,
		uint32_t peer) __must_check;
/* ctrl only, staged. -ENOENT if the prefix is not there, -EINVAL if plen is out of range. */
int lpm_remove4(struct lpm_root *r, uint32_t addr_be, unsigned int plen);
int lpm_remove6(struct lpm_root *r, const uint8_t addr[16], unsigned int plen);
/* ctrl only, staged: removes every prefix of @peer; returns how many. */
uint32_t lpm_remove_peer(struct lpm_root *r, uint32_t peer);
/*
 * ctrl only: builds and publishes the staged table, retires the old one.
 * Does nothing if nothing changed. On -ENOMEM readers keep the old version
 * and the changes stay staged for the next call.
 */
int lpm_publish(struct lpm_root *r) __must_check;
/* ctrl only: staged prefixes, both families. */
uint32_t lpm_count(const struct lpm_root *r);

/* Reader, inside an epoch section. Acquire pairs with the release in lpm_publish(). */
static inline const struct lpm *lpm_snapshot(const struct lpm_root *r)
{
	return __atomic_load_n(&r->cur, __ATOMIC_ACQUIRE);
}

/* Reader: peer id of the longest prefix covering @addr_be, or LPM_NONE. */
static inline uint32_t lpm_lookup4(const struct lpm *t, uint32_t addr_be)
{
	uint32_t x = be32toh(addr_be), n = t->n4;
	const uint32_t *k = t->key4;

	/* Largest i with key4[i] <= x; key4[0] == 0 makes it exist. */
	while (n > 1) {
		uint32_t half = n / 2;

		k = k[half] <= x ? k + half : k;
		n -= half;
	}
	return t->val4[k - t->key4];
}

static inline unsigned __int128 lpm_addr6(const uint8_t addr[16])
{
	uint64_t hi, lo;

	memcpy(&hi, addr, 8);
	memcpy(&lo, addr + 8, 8);
	return (unsigned __int128)be64toh(hi) << 64 | be64toh(lo);
}

static inline uint32_t lpm_lookup6(const struct lpm *t, const uint8_t addr[16])
{
	unsigned __int128 x = lpm_addr6(addr);
	const unsigned __int128 *k = t->key6;
	uint32_t n = t->n6;

	while (n > 1) {
		uint32_t half = n / 2;

		k = k[half] <= x ? k + half : k;
		n -= half;
	}
	return t->val6[k - t->key6];
}

#endif
