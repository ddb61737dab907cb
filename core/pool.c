/*
 * pool.c - owns packet memory: struct pool and every struct pkt in it.
 *
 * Threads: pool_create/destroy/add_returner/set_home are ctrl's, before the
 * data threads start or after they stop. pool_get* runs on the home thread
 * only. pkt_free runs on any thread that ctrl registered as a returner (or
 * the home thread). Return rings are sized to hold every packet of the pool,
 * so sending a packet home can never fail and never drops a buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pkt.h"
#include "ring.h"

static struct pool *pools[POOL_MAX];

struct pool *pool_by_id(uint16_t id)
{
	return id < POOL_MAX ? pools[id] : NULL;
}

static uint32_t pow2_above(uint32_t n)
{
	uint32_t v = 4;

	while (v <= n)
		v <<= 1;
	return v;
}

int pool_create(struct pool **out, uint32_t count, enum pkt_class cls, int home_tid)
{
	struct pool *pool;
	uint32_t room;
	uint16_t id;
	uint32_t i;

	for (id = 0; id < POOL_MAX && pools[id]; id++)
		;
	if (id == POOL_MAX || count == 0)
		return -ENOSPC;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->data_room = cls == PKT_CLASS_GSO ? PKT_GSO_DATA : PKT_MTU_DATA;
	room = PKT_HEADROOM + pool->data_room + PKT_TAILROOM;
	pool->stride = (sizeof(struct pkt) + room + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);
	if (posix_memalign((void **)&pool->mem, 4096, pool->stride * count))
		goto err_pool;
	pool->free = calloc(count, sizeof(*pool->free));
	if (!pool->free)
		goto err_mem;
	for (i = 0; i < count; i++) {
		struct pkt *p = (struct pkt *)(pool->mem + pool->stride * i);

		memset(p, 0, sizeof(*p));
		p->room = room;
		p->pool_id = id;
		pkt_reset(p);
		pool->free[i] = p;
	}
	pool->id = id;
	pool->count = count;
	pool->nfree = count;
	pool->home_tid = home_tid;
	pools[id] = pool;
	*out = pool;
	return 0;

err_mem:
	free(pool->mem);
err_pool:
	free(pool);
	return -ENOMEM;
}

void pool_destroy(struct pool *pool)
{
	if (!pool)
		return;
	for (int t = 0; t < THREAD_MAX; t++)
		spsc_destroy(pool->ret[t]);
	pools[pool->id] = NULL;
	free(pool->free);
	free(pool->mem);
	free(pool);
}

int pool_add_returner(struct pool *pool, int tid)
{
	char name[24];

	if (tid < 0 || tid >= THREAD_MAX)
		return -EINVAL;
	if (pool->ret[tid])
		return 0;
	snprintf(name, sizeof(name), "ret%u.%d", pool->id, tid);
	/* Sized above count: a return never fails, so no buffer is ever lost. */
	return spsc_create(&pool->ret[tid], pow2_above(pool->count), NULL, name);
}

void pool_set_home(struct pool *pool, int tid)
{
	pool->home_tid = tid;
}

static void pool_drain_returns(struct pool *pool)
{
	for (int t = 0; t < THREAD_MAX; t++) {
		struct spsc *r = pool->ret[t];

		if (!r)
			continue;
		pool->nfree += spsc_dequeue_burst(r, &pool->free[pool->nfree],
						  pool->count - pool->nfree);
	}
}

unsigned int pool_get_burst(struct pool *pool, struct pkt **p, unsigned int n)
{
	unsigned int i;

	if (pool->nfree < n)
		pool_drain_returns(pool);
	if (n > pool->nfree)
		n = pool->nfree;
	for (i = 0; i < n; i++) {
		struct pkt *q = pool->free[--pool->nfree];

		pkt_reset(q);
		q->in_use = 1;
		PKT_OWN(q);
		p[i] = q;
	}
	return n;
}

struct pkt *pool_get(struct pool *pool)
{
	struct pkt *p;

	return pool_get_burst(pool, &p, 1) ? p : NULL;
}

uint32_t pool_available(struct pool *pool)
{
	pool_drain_returns(pool);
	return pool->nfree;
}

void pkt_free(struct pkt *p)
{
	struct pool *pool = pools[p->pool_id];
	int self = thread_self_id();

#ifdef DEBUG
	if (!p->in_use)
		fatalx("pool: double free of pkt %p (pool %u)", (void *)p, p->pool_id);
	memset(p->buf, 0x6b, PKT_HEADROOM);	/* poison: stale readers see 0x6b */
#endif
	p->in_use = 0;
	if (self == pool->home_tid) {
		pool->free[pool->nfree++] = p;
		return;
	}
	if (likely(pool->ret[self] && spsc_enqueue_burst_quiet(pool->ret[self], &p, 1) == 1))
		return;
	/* Unregistered thread: a wiring bug. Count it rather than corrupt the pool. */
	__atomic_fetch_add(&pool->leaked, 1, __ATOMIC_RELAXED);
}

void pkt_free_burst(struct pkt **p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		pkt_free(p[i]);
}

#ifdef DEBUG
void pkt_owner_panic(const struct pkt *p)
{
	fatalx("pool: pkt %p owned by thread %u used by thread %d", (const void *)p, p->owner,
	       thread_self_id());
}
#endif
