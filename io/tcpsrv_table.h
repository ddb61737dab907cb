/*
 * tcpsrv_table.h - the connection table of the TCP server link
 * (io/tcp_server.c): a fixed array of at most @cap connections, each
 * named by its index and found by its peer's address (family, address,
 * port; IPv6 scope too) through a hash of chains. Pure bookkeeping: no
 * I/O, no lock, no allocation after create, so the link, its unit test
 * (tests/unit/tcpsrv_test.c) and the fuzz harness (tests/fuzz/fuzz_tcpsrv.c)
 * share it.
 *
 * An entry's life: tsrv_tab_alloc takes a free index and hashes it under
 * its address (an entry already there for the same address is the caller's
 * to close first: lookup before alloc); tsrv_tab_unhash takes it out of the
 * hash (no longer found, still allocated: its fd may still be in use);
 * tsrv_tab_free gives the index back. Each alloc bumps the entry's
 * generation, so a holder of (index, gen) can tell a reused entry.
 *
 * Thread: whoever holds the link's table lock (io/tcp_server.c).
 */
#ifndef SLUICE_IO_TCPSRV_TABLE_H
#define SLUICE_IO_TCPSRV_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/pkt.h"

#define TSRV_NONE	UINT32_MAX

struct tsrv_ent {
	union sockaddr_any addr;
	socklen_t addr_len;
	uint32_t gen;			/* bumped by every alloc */
	uint32_t next;			/* hash chain, or the free list */
	bool used;			/* allocated (hashed or not) */
	bool hashed;
};

struct tsrv_tab {
	uint32_t cap;			/* entries */
	uint32_t mask;			/* buckets - 1 */
	uint32_t count;			/* allocated */
	uint32_t free;			/* head of the free list */
	uint64_t seed;
	uint32_t *bucket;		/* mask + 1 chain heads */
	struct tsrv_ent *ent;		/* cap entries */
};

/* A table of @cap >= 1 entries, hashed under @seed. 0 or -ENOMEM / -EINVAL. */
int tsrv_tab_init(struct tsrv_tab *t, uint32_t cap, uint64_t seed) __must_check;
void tsrv_tab_fini(struct tsrv_tab *t);

/* True if @a and @b name the same endpoint (family, address, port, scope). */
bool tsrv_addr_eq(const union sockaddr_any *a, socklen_t alen, const union sockaddr_any *b,
		  socklen_t blen);

/* The hashed entry of @sa, or TSRV_NONE. */
uint32_t tsrv_tab_lookup(const struct tsrv_tab *t, const union sockaddr_any *sa,
			 socklen_t len);

/* A free entry for @sa, hashed; TSRV_NONE if full or @sa is not AF_INET/AF_INET6. */
uint32_t tsrv_tab_alloc(struct tsrv_tab *t, const union sockaddr_any *sa, socklen_t len);

/* Takes @i out of the hash (no-op if it is not in it). */
void tsrv_tab_unhash(struct tsrv_tab *t, uint32_t i);

/* Gives @i back (unhashes it first). */
void tsrv_tab_free(struct tsrv_tab *t, uint32_t i);

#endif
