/*
 * ring.c - owns struct spsc and struct doorbell.
 *
 * spsc_create/destroy: ctrl only. Enqueue: the ring's one producer thread.
 * Dequeue: its one consumer thread. Doorbell sleep/wait: its consumer; ring:
 * any producer.
 *
 * Sleep protocol (no lost wake-up): the consumer stores sleeping = 1, then a
 * seq_cst fence, then re-reads its rings. A producer publishes its entries,
 * then a seq_cst fence, then reads sleeping. With both fences, either the
 * consumer sees the new entries or the producer sees sleeping == 1 and
 * writes the eventfd. The exchange that clears the flag runs only on that
 * slow path, so a busy pipeline costs no atomic read-modify-write.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pkt.h"
#include "ring.h"

int doorbell_init(struct doorbell *db)
{
	db->sleeping = 0;
	db->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (db->efd < 0)
		return -errno;
	return 0;
}

void doorbell_destroy(struct doorbell *db)
{
	if (db->efd >= 0)
		close(db->efd);
	db->efd = -1;
}

void doorbell_prepare_sleep(struct doorbell *db)
{
	__atomic_store_n(&db->sleeping, 1, __ATOMIC_RELAXED);
	/* Pairs with the fence in doorbell_ring(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void doorbell_cancel_sleep(struct doorbell *db)
{
	__atomic_store_n(&db->sleeping, 0, __ATOMIC_RELAXED);
}

void doorbell_clear(struct doorbell *db)
{
	uint64_t v;

	__atomic_store_n(&db->sleeping, 0, __ATOMIC_RELAXED);
	while (read(db->efd, &v, sizeof(v)) == sizeof(v))
		;
}

void doorbell_wait(struct doorbell *db, int timeout_ms)
{
	struct pollfd pfd = { .fd = db->efd, .events = POLLIN };

	poll(&pfd, 1, timeout_ms);
	doorbell_clear(db);
}

static void doorbell_write(struct doorbell *db)
{
	uint64_t one = 1;

	if (write(db->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, so the consumer wakes anyway. */
	}
}

void doorbell_ring(struct doorbell *db)
{
	/* Pairs with the fence in doorbell_prepare_sleep(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (likely(!__atomic_load_n(&db->sleeping, __ATOMIC_RELAXED)))
		return;
	if (__atomic_exchange_n(&db->sleeping, 0, __ATOMIC_ACQ_REL))
		doorbell_write(db);
}

void doorbell_kick(struct doorbell *db)
{
	doorbell_write(db);
}

int spsc_create(struct spsc **out, unsigned int slots, struct doorbell *consumer_db,
		const char *name)
{
	struct spsc *r;

	if (slots < 4 || (slots & (slots - 1)))
		return -EINVAL;
	if (posix_memalign((void **)&r, CACHELINE, sizeof(*r)))
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
#ifdef RING_C11
	r->slot = calloc(slots, sizeof(void *));
	if (!r->slot) {
		free(r);
		return -ENOMEM;
	}
	r->mask = slots - 1;
#else
	if (posix_memalign((void **)&r->buf, CACHELINE, slots * sizeof(*r->buf))) {
		free(r);
		return -ENOMEM;
	}
	memset(r->buf, 0, slots * sizeof(*r->buf));
	ck_ring_init(&r->ring, slots);
#endif
	r->size = slots;
	r->db = consumer_db;
	strncpy(r->name, name ? name : "ring", sizeof(r->name) - 1);
	*out = r;
	return 0;
}

void spsc_destroy(struct spsc *r)
{
	if (!r)
		return;
#ifdef RING_C11
	free(r->slot);
#else
	free(r->buf);
#endif
	free(r);
}

/* Producer: @fill packets are queued after its enqueue; raises the high-water mark. */
static inline void note_fill(struct spsc *r, unsigned int fill)
{
	if (unlikely(fill > r->hwm))
		__atomic_store_n(&r->hwm, fill, __ATOMIC_RELAXED);
}

#ifdef RING_C11
unsigned int spsc_enqueue_burst_quiet(struct spsc *r, struct pkt **p, unsigned int n)
{
	unsigned int tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	/* Acquire pairs with the consumer's release of head: slots are free. */
	unsigned int head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	unsigned int room = r->mask - (tail - head);
	unsigned int i;

	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		r->slot[(tail + i) & r->mask] = p[i];
	/* Release pairs with the consumer's acquire of tail. */
	__atomic_store_n(&r->tail, tail + n, __ATOMIC_RELEASE);
	note_fill(r, tail + n - head);
	return n;
}

unsigned int spsc_dequeue_burst(struct spsc *r, struct pkt **p, unsigned int n)
{
	unsigned int head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	/* Acquire pairs with the producer's release of tail. */
	unsigned int tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	unsigned int have = tail - head;
	unsigned int i;

	if (n > have)
		n = have;
	for (i = 0; i < n; i++)
		p[i] = r->slot[(head + i) & r->mask];
	/* Release pairs with the producer's acquire of head. */
	__atomic_store_n(&r->head, head + n, __ATOMIC_RELEASE);
	return n;
}

unsigned int spsc_count(const struct spsc *r)
{
	return __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
}
#else
/*
 * Bursts on ck_ring's own SPSC protocol (ck_ring.h _ck_ring_enqueue_sp and
 * _ck_ring_dequeue_sc, same fields, same fences), one index update per
 * burst instead of per packet: the other side's cache line moves once per
 * burst. Indices run free; (index & mask) is the slot, a ring holds mask
 * entries. The slot takes the pointer value itself (STYLE.md §3).
 */
unsigned int spsc_enqueue_burst_quiet(struct spsc *r, struct pkt **p, unsigned int n)
{
	struct ck_ring *ring = &r->ring;
	unsigned int mask = ring->mask;
	unsigned int consumer = ck_pr_load_uint(&ring->c_head);
	unsigned int producer = ring->p_tail;
	unsigned int room = mask - ((producer - consumer) & mask);

	if (n > room)
		n = room;
	if (!n)
		return 0;
	for (unsigned int i = 0; i < n; i++)
		r->buf[(producer + i) & mask].value = p[i];
	/* The slots before the index that publishes them (pairs with the consumer's load fence). */
	ck_pr_fence_store();
	ck_pr_store_uint(&ring->p_tail, producer + n);
	note_fill(r, producer + n - consumer);
	return n;
}

unsigned int spsc_dequeue_burst(struct spsc *r, struct pkt **p, unsigned int n)
{
	struct ck_ring *ring = &r->ring;
	unsigned int mask = ring->mask;
	unsigned int consumer = ring->c_head;
	unsigned int producer = ck_pr_load_uint(&ring->p_tail);
	unsigned int have = producer - consumer;

	if (n > have)
		n = have;
	if (!n)
		return 0;
	/* Serialise with our snapshot of the producer index (pairs with its store fence). */
	ck_pr_fence_load();
	for (unsigned int i = 0; i < n; i++)
		p[i] = r->buf[(consumer + i) & mask].value;
	/* The copies are done before the slots are handed back. */
	ck_pr_fence_store();
	ck_pr_store_uint(&ring->c_head, consumer + n);
	return n;
}

unsigned int spsc_count(const struct spsc *r)
{
	return ck_ring_size(&r->ring);
}
#endif

unsigned int spsc_free(const struct spsc *r)
{
	return spsc_capacity(r) - spsc_count(r);
}

void spsc_notify(struct spsc *r)
{
	if (r->db)
		doorbell_ring(r->db);
}

unsigned int spsc_enqueue_burst(struct spsc *r, struct pkt **p, unsigned int n)
{
	unsigned int done = spsc_enqueue_burst_quiet(r, p, n);

	if (done)
		spsc_notify(r);
	return done;
}
