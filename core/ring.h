/*
 * ring.h - single-producer/single-consumer packet rings and doorbells.
 *
 * A struct spsc carries struct pkt pointers from exactly one producer thread
 * to exactly one consumer thread (STYLE.md §3). The default backend is a thin
 * wrapper over ck_ring's spsc functions; building with -DRING_C11 swaps in a
 * C11-atomics ring with the same contract, because TSan does not model ck_pr's
 * fences. N slots hold N - 1 packets.
 *
 * A struct doorbell belongs to a consumer thread, which may read several
 * rings. The consumer announces that it will sleep (doorbell_prepare_sleep),
 * re-checks its rings, then blocks on the eventfd. A producer rings only when
 * the flag says the consumer sleeps, so a busy pipeline makes no syscalls.
 */
#ifndef SLUICE_RING_H
#define SLUICE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

#ifndef RING_C11
#include <ck_ring.h>
#endif

struct pkt;

struct doorbell {
	int efd;			/* eventfd, EFD_NONBLOCK */
	int sleeping;			/* 1 while the consumer may block */
} __attribute__((aligned(CACHELINE)));

struct spsc {
#ifdef RING_C11
	_Alignas(CACHELINE) unsigned int head;	/* consumer index */
	_Alignas(CACHELINE) unsigned int tail;	/* producer index */
	_Alignas(CACHELINE) unsigned int mask;
	void **slot;
#else
	struct ck_ring ring;		/* ck pads producer and consumer apart */
	struct ck_ring_buffer *buf;
#endif
	unsigned int size;		/* slots, a power of two >= 4 */
	struct doorbell *db;		/* the consumer's doorbell, may be NULL */
	char name[24];
	/*
	 * The most packets the ring held just after an enqueue (its high-water
	 * mark). Written by the producer only when it rises, so it costs one
	 * compare per burst and a store a few times in the ring's life; read
	 * relaxed by ctrl for the counters.
	 */
	unsigned int hwm;
};

int doorbell_init(struct doorbell *db) __must_check;
void doorbell_destroy(struct doorbell *db);
/*
 * Consumer: says it is about to sleep. Returns with a full fence done; the
 * caller must re-check its rings and call doorbell_cancel_sleep() if any
 * has work, else block in doorbell_wait() (or on an io_uring read of efd).
 */
void doorbell_prepare_sleep(struct doorbell *db);
void doorbell_cancel_sleep(struct doorbell *db);
/* Consumer: blocks up to @timeout_ms for a ring, then clears the flag. */
void doorbell_wait(struct doorbell *db, int timeout_ms);
/* Consumer: drains the eventfd counter after an io_uring read of it. */
void doorbell_clear(struct doorbell *db);
/* Producer (any thread): wakes the consumer if it said it sleeps. */
void doorbell_ring(struct doorbell *db);
/* Wakes the consumer unconditionally (stop requests, ctrl only). */
void doorbell_kick(struct doorbell *db);

/* ctrl only. @slots must be a power of two >= 4. */
int spsc_create(struct spsc **out, unsigned int slots, struct doorbell *consumer_db,
		const char *name) __must_check;
void spsc_destroy(struct spsc *r);

/*
 * Producer: enqueues up to @n packets in order and returns how many went in.
 * Ownership of those moves to the consumer; the rest stay the caller's.
 * Rings the consumer's doorbell if anything went in.
 */
unsigned int spsc_enqueue_burst(struct spsc *r, struct pkt **p, unsigned int n) __must_check;
/* Producer: enqueues without ringing; pair with spsc_notify() after a batch. */
unsigned int spsc_enqueue_burst_quiet(struct spsc *r, struct pkt **p, unsigned int n) __must_check;
void spsc_notify(struct spsc *r);
/* Consumer: dequeues up to @n packets in order; the caller owns them. */
unsigned int spsc_dequeue_burst(struct spsc *r, struct pkt **p, unsigned int n);
/* Either side: packets queued now (a snapshot). */
unsigned int spsc_count(const struct spsc *r);
/* Any thread: the high-water mark (struct spsc.hwm), a relaxed snapshot. */
static inline unsigned int spsc_hwm(const struct spsc *r)
{
	return __atomic_load_n(&r->hwm, __ATOMIC_RELAXED);
}
/* Producer: room left now (a lower bound for the producer). */
unsigned int spsc_free(const struct spsc *r);
static inline unsigned int spsc_capacity(const struct spsc *r)
{
	return r->size - 1;
}

#endif
