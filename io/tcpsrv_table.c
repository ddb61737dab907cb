/*
 * tcpsrv_table.c - the TCP server link's connection table (tcpsrv_table.h):
 * index allocation, the free list and the address hash.
 *
 * Thread: whoever holds the link's table lock; the tests call it directly.
 * The hash mixes the address under a random seed drawn at create, and every
 * chain is bounded by the table's cap, so a sender choosing its source
 * ports can at worst make lookups linear in the (small, capped) table.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "tcpsrv_table.h"

int tsrv_tab_init(struct tsrv_tab *t, uint32_t cap, uint64_t seed)
{
	uint32_t nb = 1;

	memset(t, 0, sizeof(*t));
	if (!cap || cap > (1u << 20))
		return -EINVAL;
	while (nb < 2 * cap)
		nb <<= 1;
	t->bucket = malloc(nb * sizeof(*t->bucket));
	t->ent = calloc(cap, sizeof(*t->ent));
	if (!t->bucket || !t->ent) {
		tsrv_tab_fini(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nb; i++)
		t->bucket[i] = TSRV_NONE;
	for (uint32_t i = 0; i < cap; i++)
		t->ent[i].next = i + 1 < cap ? i + 1 : TSRV_NONE;
	t->cap = cap;
	t->mask = nb - 1;
	t->free = 0;
	t->seed = seed | 1;
	return 0;
}

void tsrv_tab_fini(struct tsrv_tab *t)
{
	free(t->bucket);
	free(t->ent);
	memset(t, 0, sizeof(*t));
}

bool tsrv_addr_eq(const union sockaddr_any *a, socklen_t alen, const union sockaddr_any *b,
		  socklen_t blen)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return alen >= sizeof(a->in4) && blen >= sizeof(b->in4) &&
		       a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return alen >= sizeof(a->in6) && blen >= sizeof(b->in6) &&
		       a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr));
	return false;
}

static bool tsrv_addr_ok(const union sockaddr_any *sa, socklen_t len)
{
	return (sa->sa.sa_family == AF_INET && len >= sizeof(sa->in4)) ||
	       (sa->sa.sa_family == AF_INET6 && len >= sizeof(sa->in6));
}

static uint32_t tsrv_hash(const struct tsrv_tab *t, const union sockaddr_any *sa)
{
	uint64_t h = t->seed;
	const uint8_t *p;
	size_t n;

	if (sa->sa.sa_family == AF_INET) {
		h ^= (uint64_t)sa->in4.sin_addr.s_addr << 16 | sa->in4.sin_port;
		h *= 0x9e3779b97f4a7c15ull;
	} else {
		p = (const uint8_t *)&sa->in6.sin6_addr;
		n = sizeof(sa->in6.sin6_addr);
		for (size_t i = 0; i < n; i++)
			h = (h ^ p[i]) * 0x100000001b3ull;
		h = (h ^ sa->in6.sin6_port ^ (uint64_t)sa->in6.sin6_scope_id << 16) *
		    0x9e3779b97f4a7c15ull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h & t->mask;
}

uint32_t tsrv_tab_lookup(const struct tsrv_tab *t, const union sockaddr_any *sa,
			 socklen_t len)
{
	uint32_t i;

	if (!tsrv_addr_ok(sa, len))
		return TSRV_NONE;
	for (i = t->bucket[tsrv_hash(t, sa)]; i != TSRV_NONE; i = t->ent[i].next)
		if (tsrv_addr_eq(&t->ent[i].addr, t->ent[i].addr_len, sa, len))
			return i;
	return TSRV_NONE;
}

uint32_t tsrv_tab_alloc(struct tsrv_tab *t, const union sockaddr_any *sa, socklen_t len)
{
	struct tsrv_ent *e;
	uint32_t i, b;

	if (!tsrv_addr_ok(sa, len) || t->free == TSRV_NONE)
		return TSRV_NONE;
	i = t->free;
	e = &t->ent[i];
	t->free = e->next;
	e->used = true;
	e->gen++;
	memset(&e->addr, 0, sizeof(e->addr));
	e->addr_len = MIN(len, (socklen_t)sizeof(e->addr));
	memcpy(&e->addr, sa, e->addr_len);
	b = tsrv_hash(t, sa);
	e->next = t->bucket[b];
	t->bucket[b] = i;
	e->hashed = true;
	t->count++;
	return i;
}

void tsrv_tab_unhash(struct tsrv_tab *t, uint32_t i)
{
	struct tsrv_ent *e = &t->ent[i];
	uint32_t *at;

	if (i >= t->cap || !e->hashed)
		return;
	for (at = &t->bucket[tsrv_hash(t, &e->addr)]; *at != TSRV_NONE; at = &t->ent[*at].next) {
		if (*at == i) {
			*at = e->next;
			break;
		}
	}
	e->hashed = false;
	e->next = TSRV_NONE;
}

void tsrv_tab_free(struct tsrv_tab *t, uint32_t i)
{
	if (i >= t->cap || !t->ent[i].used)
		return;
	tsrv_tab_unhash(t, i);
	t->ent[i].used = false;
	t->ent[i].next = t->free;
	t->free = i;
	t->count--;
}
