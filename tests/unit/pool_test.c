/*
 * pool_test.c - tests for core/pool.c and the inline helpers in core/pkt.h.
 *
 * Home-thread get/free and burst get from a partly empty pool, pkt_reset
 * state, pkt_push/pkt_pull bounds (numbered table cases), both size classes,
 * frees from another thread over the return ring, a differential run of 10^5
 * random operations against a naive model (the set of outstanding packets),
 * and a free from a thread with no return ring, which must be counted in
 * pool->leaked and leave the pool intact.
 *
 * The main thread adopts an id and is every pool's home. A helper thread
 * (registered as a returner) frees what the main thread hands it over a ring.
 *
 * Env: SLUICE_TEST_SCALE (default 1; the run is short enough for TSan as is).
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/pkt.h"
#include "../../core/ring.h"
#include "../../core/thread.h"
#include "harness.h"

static struct thread main_thr;

/*
 * The returner: a registered thread that frees every packet it dequeues from
 * its inbox, then bumps a counter the main thread waits on, so a remote free
 * is complete (sitting in the return ring) when remote_free() returns.
 */
struct returner {
	struct thread thr;
	struct spsc *inbox;
	uint64_t freed;		/* written by the returner, acquire-read by main */
};

static void *returner_main(void *arg)
{
	struct returner *rt = arg;
	struct pkt *p[BURST_MAX];

	while (!thread_should_stop(&rt->thr)) {
		unsigned int n = spsc_dequeue_burst(rt->inbox, p, BURST_MAX);

		if (!n) {
			sched_yield();
			continue;
		}
		pkt_free_burst(p, n);
		__atomic_store_n(&rt->freed, rt->freed + n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void returner_start(struct returner *rt)
{
	memset(rt, 0, sizeof(*rt));
	if (thread_init(&rt->thr, "returner", returner_main, rt, -1) ||
	    spsc_create(&rt->inbox, 1024, NULL, "inbox") || thread_start(&rt->thr)) {
		FATAL("returner setup failed");
	}
}

static void returner_stop(struct returner *rt)
{
	thread_request_stop(&rt->thr);
	thread_join(&rt->thr);
	spsc_destroy(rt->inbox);
}

/* Hands @n packets to the returner and waits until it freed them all. */
static void remote_free(struct returner *rt, struct pkt **p, unsigned int n)
{
	uint64_t want = __atomic_load_n(&rt->freed, __ATOMIC_ACQUIRE) + n;
	unsigned int off = 0;

	while (off < n)
		off += spsc_enqueue_burst(rt->inbox, p + off, n - off);
	while (__atomic_load_n(&rt->freed, __ATOMIC_ACQUIRE) < want)
		sched_yield();
}

static int pkt_is_reset(const struct pkt *p)
{
	return p->data == p->buf + PKT_HEADROOM && p->len == 0 && p->verdict == PKT_OK &&
	       p->flags == 0 && p->key_id == 0 && p->peer_id == 0 && p->pid == 0 &&
	       p->key_gen == 0 && p->addr_len == 0 && p->in_use == 1;
}

static void dirty(struct pkt *p)
{
	p->data = p->buf + 3;
	p->len = 77;
	p->verdict = 5;
	p->flags = PKT_F_CONTROL | PKT_F_V1;
	p->key_id = 7;
	p->peer_id = 1234;
	p->pid = 99;
	p->key_gen = 3;
	p->addr_len = sizeof(struct sockaddr_in);
}

static void test_home(void)
{
	struct pool *pool = NULL;
	struct pkt *p[64], *q;
	unsigned int n, i;
	uint16_t id;

	CHECK(pool_create(&pool, 40, PKT_CLASS_MTU, main_thr.tid) == 0, "pool_create");
	CHECK(pool_by_id(pool->id) == pool, "pool_by_id");
	CHECK(pool_available(pool) == 40, "fresh pool: %u available", pool_available(pool));

	q = pool_get(pool);
	CHECK(q && pkt_is_reset(q) && q->pool_id == pool->id, "pool_get: not a reset packet");
	CHECK(pool_available(pool) == 39, "after get: %u available", pool_available(pool));
	dirty(q);
	pkt_free(q);
	CHECK(q->in_use == 0, "pkt_free left in_use set");
	CHECK(pool_available(pool) == 40, "after free: %u available", pool_available(pool));
	/* The stack hands back the packet just freed, reset. */
	CHECK(pool_get(pool) == q && pkt_is_reset(q), "pkt_reset after reuse");
	pkt_free(q);

	/* Burst get from a partly empty pool. */
	n = pool_get_burst(pool, p, 30);
	CHECK(n == 30, "burst 30 of 40: got %u", n);
	n = pool_get_burst(pool, p + 30, BURST_MAX);
	CHECK(n == 10, "burst 32 of 10 left: got %u", n);
	CHECK(pool_get_burst(pool, p + 40, BURST_MAX) == 0, "burst from empty pool");
	CHECK(pool_get(pool) == NULL, "pool_get from empty pool");
	CHECK(pool_get_burst(pool, p + 40, 0) == 0, "burst of 0");
	for (i = 0; i < 40; i++)
		for (unsigned int j = i + 1; j < 40; j++)
			CHECK(p[i] != p[j], "packet %u handed out twice", i);
	pkt_free_burst(p, 40);
	CHECK(pool_available(pool) == 40, "after free_burst: %u", pool_available(pool));
	CHECK(pool->leaked == 0, "leaked %llu", (unsigned long long)pool->leaked);
	id = pool->id;
	pool_destroy(pool);
	CHECK(pool_by_id(id) == NULL, "destroy kept id %u", id);
	CHECK(pool_by_id(POOL_MAX) == NULL, "pool_by_id(POOL_MAX)");

	CHECK(pool_create(&pool, 0, PKT_CLASS_MTU, main_thr.tid) < 0, "count 0 accepted");
	pool_destroy(NULL);
}

/* pkt_push/pkt_pull table: T(op, n, ok, headroom after, len after). */
static void test_push_pull(void)
{
	enum { PUSH, PULL, SETLEN };
	static const struct {
		int op;
		uint32_t n;
		int ok;
		uint32_t head, len;
	} c[] = {
#define T(op, n, ok, head, len) { op, n, ok, head, len },
		T(PULL, 1, 0, 64, 0)		/* nothing to pull */
		T(PULL, 0, 1, 64, 0)
		T(PUSH, 0, 1, 64, 0)
		T(PUSH, 26, 1, 38, 26)		/* TCP len + header + pid + tag */
		T(PUSH, 39, 0, 38, 26)		/* one past the headroom */
		T(PUSH, 38, 1, 0, 64)		/* exactly the headroom */
		T(PUSH, 1, 0, 0, 64)
		T(PULL, 65, 0, 0, 64)		/* one past the length */
		T(PULL, 64, 1, 64, 0)
		T(SETLEN, 1500, 1, 64, 1500)
		T(PULL, 4, 1, 68, 1496)
		T(PUSH, 68, 1, 0, 1564)
		T(PUSH, 0xffffffffu, 0, 0, 1564)	/* no wrap on huge n */
		T(PULL, 0xffffffffu, 0, 0, 1564)
		T(PULL, 1564, 1, 1564, 0)
#undef T
	};
	struct pool *pool = NULL;
	struct pkt *p;

	if (pool_create(&pool, 2, PKT_CLASS_MTU, main_thr.tid) || !(p = pool_get(pool))) {
		CHECK(0, "setup");
		return;
	}
	CHECK(pkt_data_room(p) == PKT_MTU_DATA, "MTU data room %u", pkt_data_room(p));
	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		uint8_t *before = p->data, *r = NULL;
		int ok = 1;

		if (c[i].op == PUSH)
			ok = (r = pkt_push(p, c[i].n)) != NULL;
		else if (c[i].op == PULL)
			ok = (r = pkt_pull(p, c[i].n)) != NULL;
		else
			p->len = c[i].n;
		CHECK(ok == c[i].ok, "push/pull case %u: ok %d, expected %d", i + 1, ok, c[i].ok);
		CHECK(pkt_headroom(p) == c[i].head && p->len == c[i].len,
		      "push/pull case %u: headroom/len %u/%u, expected %u/%u", i + 1,
		      pkt_headroom(p), p->len, c[i].head, c[i].len);
		CHECK(!ok || c[i].op == SETLEN || r == p->data,
		      "push/pull case %u: returned pointer is not data", i + 1);
		CHECK(ok || p->data == before, "push/pull case %u: failed op moved data", i + 1);
		CHECK(pkt_headroom(p) + p->len + pkt_tailroom(p) == p->room,
		      "push/pull case %u: rooms do not add up", i + 1);
	}
	pkt_free(p);
	pool_destroy(pool);
}

/*
 * Both classes: fill each packet's whole buffer (headroom, payload, tailroom)
 * and check no neighbour's header changed. ASan catches a write past the
 * allocation; the neighbour check catches a stride that is too small.
 */
static void class_run(enum pkt_class cls, uint32_t payload)
{
	struct pool *pool = NULL;
	struct pkt *p[4];
	unsigned int i;

	if (pool_create(&pool, 4, cls, main_thr.tid) || pool_get_burst(pool, p, 4) != 4) {
		CHECK(0, "class %d setup", cls);
		return;
	}
	for (i = 0; i < 4; i++) {
		CHECK(pkt_data_room(p[i]) >= payload, "class %d: data room %u < %u", cls,
		      pkt_data_room(p[i]), payload);
		CHECK(((uintptr_t)p[i]->buf & (CACHELINE - 1)) == 0, "class %d: buf unaligned",
		      cls);
		p[i]->len = payload;
		CHECK(pkt_tailroom(p[i]) >= PKT_TAILROOM, "class %d: tailroom %u", cls,
		      pkt_tailroom(p[i]));
		memset(p[i]->data, 0xa5, payload);
		CHECK(pkt_push(p[i], PKT_HEADROOM) == p[i]->buf, "class %d: push headroom", cls);
		CHECK(p[i]->len == payload + PKT_HEADROOM, "class %d: len", cls);
		memset(p[i]->buf, 0x5a, p[i]->room);
	}
	for (i = 0; i < 4; i++)
		CHECK(p[i]->pool_id == pool->id && p[i]->in_use == 1 &&
		      p[i]->len == payload + PKT_HEADROOM,
		      "class %d: packet %u header overwritten by a neighbour", cls, i);
	pkt_free_burst(p, 4);
	CHECK(pool_available(pool) == 4, "class %d: pool not whole", cls);
	pool_destroy(pool);
}

static void test_classes(void)
{
	class_run(PKT_CLASS_MTU, PKT_MTU_DATA);
	class_run(PKT_CLASS_GSO, 65535);	/* one GSO super-packet, IP max */
}

/* Frees from another thread come home over the return ring. */
static void test_cross_thread(struct returner *rt)
{
	struct pool *pool = NULL;
	struct pkt *p[64];
	unsigned int n;

	if (pool_create(&pool, 64, PKT_CLASS_MTU, main_thr.tid) ||
	    pool_add_returner(pool, rt->thr.tid)) {
		CHECK(0, "setup");
		return;
	}
	CHECK(pool_add_returner(pool, rt->thr.tid) == 0, "second add_returner");
	CHECK(pool_add_returner(pool, -1) == -EINVAL, "add_returner(-1)");
	CHECK(pool_add_returner(pool, THREAD_MAX) == -EINVAL, "add_returner(THREAD_MAX)");

	n = pool_get_burst(pool, p, 64);
	CHECK(n == 64, "get all: %u", n);
	remote_free(rt, p, 64);
	CHECK(pool->nfree == 0, "remote frees went on the home stack directly");
	CHECK(pool->leaked == 0, "remote frees leaked");
	/* An empty stack drains the return ring: the burst is served in full. */
	n = pool_get_burst(pool, p, 48);
	CHECK(n == 48, "get after remote free: %u of 48", n);
	for (unsigned int i = 0; i < n; i++)
		CHECK(pkt_is_reset(p[i]), "returned packet %u not reset", i);
	remote_free(rt, p, 24);
	pkt_free_burst(p + 24, 24);
	CHECK(pool_available(pool) == 64, "available %u, expected 64", pool_available(pool));
	pool_destroy(pool);
}

/* A thread the pool does not know: counted, not pushed on the home stack. */
static void *stranger_main(void *arg)
{
	struct pkt **p = arg;

	pkt_free_burst(p, 3);
	return NULL;
}

static void test_unregistered(struct returner *rt)
{
	struct pool *pool = NULL;
	static struct thread known;
	struct pkt *p[8], *q[8];
	pthread_t raw;
	unsigned int n;

	if (pool_create(&pool, 8, PKT_CLASS_MTU, main_thr.tid) ||
	    pool_add_returner(pool, rt->thr.tid) || pool_get_burst(pool, p, 8) != 8) {
		CHECK(0, "setup");
		return;
	}
	/* A plain pthread (id 0), then a started thread with no return ring. */
	if (pthread_create(&raw, NULL, stranger_main, p) == 0)
		pthread_join(raw, NULL);
	if (thread_init(&known, "stranger", stranger_main, p + 3, -1) == 0 &&
	    thread_start(&known) == 0)
		thread_join(&known);
	CHECK(pool->leaked == 6, "leaked %llu, expected 6", (unsigned long long)pool->leaked);
	CHECK(pool_available(pool) == 0, "leaked packets reached the pool: %u available",
	      pool_available(pool));
	CHECK(pool_get_burst(pool, q, 8) == 0, "get from a pool whose packets all leaked");
	/* The rest still come home, and only they. */
	pkt_free(p[6]);
	pkt_free(p[7]);
	n = pool_get_burst(pool, q, 8);
	CHECK(n == 2 && ((q[0] == p[6] && q[1] == p[7]) || (q[0] == p[7] && q[1] == p[6])),
	      "after 2 home frees: got %u", n);
	pkt_free_burst(q, n);
	CHECK(pool_available(pool) == 2, "available %u, expected 2", pool_available(pool));
	pool_destroy(pool);
}

/*
 * Differential: 10^5 random operations against a naive model, the set of
 * outstanding packets (a flag per packet index). Each outstanding packet
 * carries a stamp in seq and in its payload that must survive until it is
 * freed; a packet handed out twice would show up at once.
 */
#define DIFF_COUNT	96

struct model {
	struct pkt *out[DIFF_COUNT];	/* outstanding packets, in no order */
	unsigned int nout;
	uint8_t held[DIFF_COUNT];	/* by packet index */
	uint64_t stamp;
};

static int pkt_index(const struct pool *pool, const struct pkt *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)pool->mem;

	if ((uintptr_t)p < (uintptr_t)pool->mem || off % pool->stride ||
	    off / pool->stride >= pool->count)
		return -1;
	return (int)(off / pool->stride);
}

static int model_take(struct model *m, struct pool *pool, struct pkt *p, uint64_t op)
{
	int i = pkt_index(pool, p);

	if (i < 0 || m->held[i] || !pkt_is_reset(p)) {
		CHECK(0, "diff op %llu: got %p: index %d held %d reset %d",
		      (unsigned long long)op, (void *)p, i, i >= 0 ? m->held[i] : -1,
		      pkt_is_reset(p));
		return -1;
	}
	m->held[i] = 1;
	m->out[m->nout++] = p;
	p->seq = ++m->stamp;
	memcpy(p->data, &p->seq, sizeof(p->seq));
	p->len = sizeof(p->seq);
	return 0;
}

/* Removes a random outstanding packet from the model; checks its stamp. */
static struct pkt *model_pick(struct model *m, struct pool *pool, uint64_t *seed, uint64_t op)
{
	unsigned int k = (unsigned int)(harness_rnd(seed) % m->nout);
	struct pkt *p = m->out[k];
	uint64_t v;

	m->out[k] = m->out[--m->nout];
	m->held[pkt_index(pool, p)] = 0;
	memcpy(&v, p->data, sizeof(v));
	CHECK(p->in_use == 1 && p->len == sizeof(v) && v == p->seq,
	      "diff op %llu: outstanding packet changed under its owner", (unsigned long long)op);
	return p;
}

static void test_differential(struct returner *rt)
{
	uint64_t ops = (uint64_t)(100000 * harness_scale(1.0)), op, seed = 42;
	uint64_t nget = 0, nlocal = 0, nremote = 0;
	struct pool *pool = NULL;
	struct model m;
	struct pkt *p[BURST_MAX];
	int stop = 0;

	memset(&m, 0, sizeof(m));
	if (pool_create(&pool, DIFF_COUNT, PKT_CLASS_MTU, main_thr.tid) ||
	    pool_add_returner(pool, rt->thr.tid)) {
		CHECK(0, "setup");
		return;
	}
	for (op = 0; op < ops && !stop; op++) {
		unsigned int n = (unsigned int)(harness_rnd(&seed) % (BURST_MAX + 1)), got, i;
		unsigned int avail = DIFF_COUNT - m.nout;

		switch (harness_rnd(&seed) % 8) {
		case 0:
			n = 1;
			p[0] = pool_get(pool);
			got = p[0] != NULL;
			CHECK(got == MIN(n, avail), "diff op %llu: get returned %u, %u free",
			      (unsigned long long)op, got, avail);
			for (i = 0; i < got && !stop; i++)
				stop = model_take(&m, pool, p[i], op);
			nget += got;
			break;
		case 1:
		case 2:
		case 3:	/* min(n, free), whether the free ones are home or in the ring */
			got = pool_get_burst(pool, p, n);
			CHECK(got == MIN(n, avail), "diff op %llu: get %u returned %u, %u free",
			      (unsigned long long)op, n, got, avail);
			for (i = 0; i < got && !stop; i++)
				stop = model_take(&m, pool, p[i], op);
			nget += got;
			break;
		case 4:
		case 5:	/* home frees */
			n = MIN(n, m.nout);
			for (i = 0; i < n; i++)
				p[i] = model_pick(&m, pool, &seed, op);
			if (n == 1)
				pkt_free(p[0]);
			else
				pkt_free_burst(p, n);
			nlocal += n;
			break;
		case 6:	/* remote frees, complete on return */
			n = MIN(n, m.nout);
			for (i = 0; i < n; i++)
				p[i] = model_pick(&m, pool, &seed, op);
			remote_free(rt, p, n);
			nremote += n;
			break;
		case 7:
			got = pool_available(pool);
			CHECK(got == avail, "diff op %llu: available %u, model %u",
			      (unsigned long long)op, got, avail);
			break;
		}
	}
	CHECK(pool->leaked == 0, "diff: leaked %llu", (unsigned long long)pool->leaked);
	while (m.nout)
		pkt_free(model_pick(&m, pool, &seed, op));
	CHECK(pool_available(pool) == DIFF_COUNT, "diff: pool not whole at the end");
	printf("differential: ops=%llu gets=%llu home_frees=%llu remote_frees=%llu\n",
	       (unsigned long long)op, (unsigned long long)nget, (unsigned long long)nlocal,
	       (unsigned long long)nremote);
	pool_destroy(pool);
}

/* POOL_MAX pools at most; ids are reused after destroy. */
static void test_pool_ids(void)
{
	static struct pool *pl[POOL_MAX + 1];
	unsigned int n = 0;
	int rc = 0;

	while (n <= POOL_MAX && (rc = pool_create(&pl[n], 1, PKT_CLASS_MTU, main_thr.tid)) == 0)
		n++;
	CHECK(n == POOL_MAX && rc == -ENOSPC, "created %u pools (rc %d), expected %d", n, rc,
	      POOL_MAX);
	if (n) {
		uint16_t id = pl[n / 2]->id;

		pool_destroy(pl[n / 2]);
		CHECK(pool_create(&pl[n / 2], 1, PKT_CLASS_MTU, main_thr.tid) == 0 &&
		      pl[n / 2]->id == id, "id %u not reused", id);
	}
	for (unsigned int i = 0; i < n; i++)
		pool_destroy(pl[i]);
}

int main(void)
{
	static struct returner rt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (thread_adopt(&main_thr, "main")) {
		fprintf(stderr, "thread_adopt failed\n");
		return 1;
	}
	test_home();
	test_push_pull();
	test_classes();
	returner_start(&rt);
	test_cross_thread(&rt);
	test_differential(&rt);
	returner_stop(&rt);
	test_unregistered(&rt);
	test_pool_ids();

	return harness_done("pool_test");
}
