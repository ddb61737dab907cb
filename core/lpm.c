/*
 * lpm.c - owns the longest-prefix-match tables (see lpm.h for the design).
 *
 * ctrl calls everything here; data threads only call the inline
 * lpm_snapshot()/lpm_lookup*() in lpm.h, inside an epoch section.
 *
 * Build: the staged prefixes of a family, sorted by (address, length), form
 * a laminar family (two prefixes are nested or disjoint), and a covering
 * prefix sorts before every prefix it covers. One sweep with a stack of the
 * prefixes still open turns them into range starts: entering a prefix starts
 * a range with its peer; passing the end of the innermost open prefix starts
 * a range with the answer of the one below it. Equal neighbours merge, so
 * each prefix adds at most two ranges.
 *
 * Lifetime: a version is one allocation with no outside pointers. After the
 * release store in lpm_publish() no reader can reach the old version from
 * the root, and readers that already hold it are inside epoch sections, so
 * epoch_retire() frees it after they leave. lpm_root_destroy() frees the
 * current version directly: it runs after every reader stopped.
 */
#include <errno.h>
#include <stdlib.h>

#include "epoch.h"
#include "lpm.h"

typedef unsigned __int128 u128;

struct lpm_open {
	u128 end;		/* last address of the prefix */
	uint32_t peer;
};

/* Range output of one family's sweep. */
struct lpm_out {
	u128 *k;
	uint32_t *v;
	uint32_t n;
};

static u128 host_mask(unsigned int bits, unsigned int plen)
{
	u128 all = bits == 32 ? (u128)UINT32_MAX : ~(u128)0;

	return plen >= bits ? 0 : all >> plen;
}

static int entry_cmp(const struct lpm_entry *e, u128 addr, unsigned int plen)
{
	if (e->addr != addr)
		return e->addr < addr ? -1 : 1;
	if (e->plen != plen)
		return e->plen < plen ? -1 : 1;
	return 0;
}

/* Index of (addr, plen) in @s, or where it would go; *found says which. */
static uint32_t set_find(const struct lpm_set *s, u128 addr, unsigned int plen, bool *found)
{
	uint32_t lo = 0, hi = s->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (entry_cmp(&s->e[mid], addr, plen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->n && entry_cmp(&s->e[lo], addr, plen) == 0;
	return lo;
}

static int set_grow(struct lpm_set *s, uint32_t max)
{
	uint32_t cap = s->cap ? s->cap * 2 : 64;
	struct lpm_entry *e;

	if (cap > max)
		cap = max;
	e = realloc(s->e, (size_t)cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->e = e;
	s->cap = cap;
	return 0;
}

static int lpm_insert(struct lpm_root *r, struct lpm_set *s, u128 addr, unsigned int plen,
		      uint32_t peer)
{
	bool found;
	uint32_t i;
	int err;

	if (plen > s->bits || peer == LPM_NONE)
		return -EINVAL;
	addr &= ~host_mask(s->bits, plen);
	i = set_find(s, addr, plen, &found);
	if (found) {
		if (s->e[i].peer != peer) {
			s->e[i].peer = peer;
			r->dirty = true;
		}
		return 0;
	}
	if (lpm_count(r) >= r->max)
		return -ENOSPC;
	if (s->n == s->cap && (err = set_grow(s, r->max)))
		return err;
	memmove(&s->e[i + 1], &s->e[i], (size_t)(s->n - i) * sizeof(s->e[0]));
	s->e[i] = (struct lpm_entry){ .addr = addr, .peer = peer, .plen = (uint8_t)plen };
	s->n++;
	r->dirty = true;
	return 0;
}

static int lpm_remove(struct lpm_root *r, struct lpm_set *s, u128 addr, unsigned int plen)
{
	bool found;
	uint32_t i;

	if (plen > s->bits)
		return -EINVAL;
	addr &= ~host_mask(s->bits, plen);
	i = set_find(s, addr, plen, &found);
	if (!found)
		return -ENOENT;
	memmove(&s->e[i], &s->e[i + 1], (size_t)(s->n - i - 1) * sizeof(s->e[0]));
	s->n--;
	r->dirty = true;
	return 0;
}

int lpm_insert4(struct lpm_root *r, uint32_t addr_be, unsigned int plen, uint32_t peer)
{
	return lpm_insert(r, &r->v4, be32toh(addr_be), plen, peer);
}

int lpm_insert6(struct lpm_root *r, const uint8_t addr[16], unsigned int plen, uint32_t peer)
{
	return lpm_insert(r, &r->v6, lpm_addr6(addr), plen, peer);
}

int lpm_remove4(struct lpm_root *r, uint32_t addr_be, unsigned int plen)
{
	return lpm_remove(r, &r->v4, be32toh(addr_be), plen);
}

int lpm_remove6(struct lpm_root *r, const uint8_t addr[16], unsigned int plen)
{
	return lpm_remove(r, &r->v6, lpm_addr6(addr), plen);
}

static uint32_t set_remove_peer(struct lpm_set *s, uint32_t peer)
{
	uint32_t i, j = 0;

	for (i = 0; i < s->n; i++)
		if (s->e[i].peer != peer)
			s->e[j++] = s->e[i];
	i = s->n - j;
	s->n = j;
	return i;
}

uint32_t lpm_remove_peer(struct lpm_root *r, uint32_t peer)
{
	uint32_t n = set_remove_peer(&r->v4, peer) + set_remove_peer(&r->v6, peer);

	if (n)
		r->dirty = true;
	return n;
}

uint32_t lpm_count(const struct lpm_root *r)
{
	return r->v4.n + r->v6.n;
}

/* Starts a range at @start answering @peer, merging with its neighbours. */
static void out_emit(struct lpm_out *o, u128 start, uint32_t peer)
{
	if (o->n && o->k[o->n - 1] == start) {
		o->v[o->n - 1] = peer;
		if (o->n >= 2 && o->v[o->n - 2] == peer)
			o->n--;
		return;
	}
	if (o->n && o->v[o->n - 1] == peer)
		return;
	o->k[o->n] = start;
	o->v[o->n++] = peer;
}

/* Closes open prefixes that end before @next (all of them if @all). */
static uint32_t sweep_close(struct lpm_out *o, struct lpm_open *stk, uint32_t sp, u128 next,
			    bool all, u128 top)
{
	while (sp && (all || stk[sp - 1].end < next)) {
		u128 end = stk[--sp].end;

		if (end != top)
			out_emit(o, end + 1, sp ? stk[sp - 1].peer : LPM_NONE);
	}
	return sp;
}

/* Ranges of @s into @o (room for 2n + 1). @stk has LPM_DEPTH_MAX slots. */
static void set_build(const struct lpm_set *s, struct lpm_out *o, struct lpm_open *stk)
{
	u128 top = host_mask(s->bits, 0);
	uint32_t i, sp = 0;

	o->n = 0;
	out_emit(o, 0, LPM_NONE);
	for (i = 0; i < s->n; i++) {
		const struct lpm_entry *e = &s->e[i];

		sp = sweep_close(o, stk, sp, e->addr, false, top);
		out_emit(o, e->addr, e->peer);
		/* Nested prefixes have distinct lengths: sp stays below bits + 1. */
		stk[sp].end = e->addr | host_mask(s->bits, e->plen);
		stk[sp++].peer = e->peer;
	}
	sweep_close(o, stk, sp, 0, true, top);
}

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* Lays out one version for @n4 and @n6 ranges; returns NULL on ENOMEM. */
static struct lpm *version_alloc(uint32_t n4, uint32_t n6)
{
	size_t off6 = align_up(sizeof(struct lpm), 16);
	size_t offk4 = off6 + (size_t)n6 * sizeof(u128);
	size_t offv4 = offk4 + (size_t)n4 * 4;
	size_t offv6 = offv4 + (size_t)n4 * 4;
	size_t size = align_up(offv6 + (size_t)n6 * 4, CACHELINE);
	uint8_t *mem = aligned_alloc(CACHELINE, size);
	struct lpm *t = (struct lpm *)mem;

	if (!mem)
		return NULL;
	t->n4 = n4;
	t->n6 = n6;
	t->key6 = (const u128 *)(mem + off6);
	t->key4 = (const uint32_t *)(mem + offk4);
	t->val4 = (const uint32_t *)(mem + offv4);
	t->val6 = (const uint32_t *)(mem + offv6);
	return t;
}

/* Builds a version from the staged sets; NULL on ENOMEM. */
static struct lpm *lpm_build(const struct lpm_root *r)
{
	uint32_t cap = 2 * MAX(r->v4.n, r->v6.n) + 1;
	struct lpm_out o4, o6;
	struct lpm_open *stk;
	struct lpm *t = NULL;
	uint32_t i;

	stk = malloc(LPM_DEPTH_MAX * sizeof(*stk));
	o4.k = malloc((size_t)cap * sizeof(u128));
	o6.k = malloc((size_t)cap * sizeof(u128));
	o4.v = malloc((size_t)cap * 4);
	o6.v = malloc((size_t)cap * 4);
	if (!stk || !o4.k || !o6.k || !o4.v || !o6.v)
		goto out;
	set_build(&r->v4, &o4, stk);
	set_build(&r->v6, &o6, stk);
	t = version_alloc(o4.n, o6.n);
	if (!t)
		goto out;
	for (i = 0; i < o4.n; i++)
		((uint32_t *)t->key4)[i] = (uint32_t)o4.k[i];
	memcpy((void *)t->val4, o4.v, (size_t)o4.n * 4);
	memcpy((void *)t->key6, o6.k, (size_t)o6.n * sizeof(u128));
	memcpy((void *)t->val6, o6.v, (size_t)o6.n * 4);
	t->prefixes = lpm_count(r);
out:
	free(o6.v);
	free(o4.v);
	free(o6.k);
	free(o4.k);
	free(stk);
	return t;
}

static void version_free(void *obj)
{
	free(obj);
}

int lpm_publish(struct lpm_root *r)
{
	struct lpm *t, *old;

	if (!r->dirty)
		return 0;
	t = lpm_build(r);
	if (!t)
		return -ENOMEM;
	old = r->cur;
	/* Release pairs with the acquire in lpm_snapshot(): the version is built. */
	__atomic_store_n(&r->cur, t, __ATOMIC_RELEASE);
	r->dirty = false;
	if (epoch_retire(old, version_free)) {
		/* No memory to queue it: wait out the readers instead. */
		epoch_barrier();
		free(old);
	}
	return 0;
}

int lpm_root_init(struct lpm_root *r, uint32_t max_prefixes)
{
	memset(r, 0, sizeof(*r));
	r->v4.bits = 32;
	r->v6.bits = 128;
	r->max = max_prefixes;
	r->cur = lpm_build(r);
	return r->cur ? 0 : -ENOMEM;
}

void lpm_root_destroy(struct lpm_root *r)
{
	free(r->cur);
	free(r->v4.e);
	free(r->v6.e);
	memset(r, 0, sizeof(*r));
}
