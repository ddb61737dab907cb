/*
 * worker.c - owns the encrypt and decrypt worker loops (DESIGN.md §2).
 *
 * Threads: encrypt_thread_main / decrypt_thread_main are the thread mains
 * of crypt_thread w; crypt_worker_step runs on that thread (or on a test's
 * or bench's only thread). Each worker has one input ring (its dealer is
 * the producer) and one output ring (its collector is the consumer).
 *
 * Order without a reorder buffer: a worker never drops. Every packet it
 * dequeues goes out in the same order, with p->verdict set if it failed,
 * so the collector, which reads the workers round robin, stays in step
 * with the dealer. The worker takes no more from its input than its output
 * can hold right now; it is the output's only producer, so the enqueue that
 * ends a step cannot come up short.
 *
 * Key slots and peers are read inside one epoch section per burst (ctrl
 * retires them through the epoch). The worker counts what it takes in
 * (rx), what it passes on intact (tx), and each verdict it sets (drop[]);
 * the collector frees failed packets.
 *
 * Inline (crypt_inline_burst): with pipeline_cfg.inline_crypto no worker
 * thread runs; the dealer (tun_rx, link_rx) calls it on its own thread with
 * the worker's contexts, counters and epoch reader, each of which then has
 * that one thread as its only user, and deals the result straight to the
 * collector's ring. The in ring and the doorbell stay unused.
 *
 * Sleep: idle (input empty) -> doorbell_prepare_sleep, re-check the input,
 * then block on the doorbell up to CRYPT_IDLE_WAIT_MS; the dealer rings it
 * after an enqueue. Output full -> nobody rings us when the collector
 * drains, so poll again after CRYPT_FULL_WAIT_MS (a rare, short stall).
 */
#include "../core/gro.h"
#include "../core/pkt.h"
#include "dc.h"
#include "worker.h"

/* Idle sleep between stop-flag checks; ctrl kicks the doorbell to stop sooner. */
#define CRYPT_IDLE_WAIT_MS	100
/* Output ring full: the collector is behind; look again soon. */
#define CRYPT_FULL_WAIT_MS	1

/* Seals or opens one packet: the loop's only difference between directions. */
#define CRYPT_FN(name) \
	bool (*name)(struct crypt_thread *, const struct dc_peer *, const struct dc_keyslot *, \
		     struct pkt *)

static bool crypt_encrypt_one(struct crypt_thread *ct, const struct dc_peer *pr,
			      const struct dc_keyslot *ks, struct pkt *p)
{
	return dc_seal(ks, ct->index, p, pr->tx_peer_id);
}

static bool crypt_decrypt_one(struct crypt_thread *ct, const struct dc_peer *pr,
			      const struct dc_keyslot *ks, struct pkt *p)
{
	(void)pr;
	if (!dc_open(ks, ct->index, p))
		return false;
	if (ct->gro_flags)
		gro_csum_note(p, ct->gro_flags);
	return true;
}

/*
 * One burst: look up the peer and key slot of each live packet (the last
 * lookup is reused, since bursts are usually one peer and one key_id) and
 * seal or open it. Runs inside the caller's epoch section.
 */
static void crypt_burst(struct crypt_thread *ct, struct pkt **pk, unsigned int n, CRYPT_FN(fn))
{
	struct stats *st = &ct->thr.stats;
	const struct dc_keyslot *ks = NULL;
	const struct dc_peer *pr = NULL;
	uint32_t last_peer = UINT32_MAX;
	uint8_t last_kid = 0xff;

	for (unsigned int i = 0; i < n; i++) {
		struct pkt *p = pk[i];

		STAT_ADD(st->rx_bytes, p->len);
		if (p->verdict != PKT_OK)
			continue;
		if (p->peer_id != last_peer || p->key_id != last_kid) {
			last_peer = p->peer_id;
			last_kid = p->key_id;
			pr = dc_peer_lookup(ct->peers, p->peer_id);
			ks = pr ? dc_peer_key(pr, p->key_id) : NULL;
		}
		if (unlikely(!pr))
			p->verdict = DROP_BAD_PEER;
		else if (unlikely(!ks))
			p->verdict = DROP_NO_KEY;
		else if (likely(fn(ct, pr, ks, p)))
			continue;
		STAT_DROP(st, p->verdict);
	}
}

/* Seals or opens @pk[0..n) in one epoch section and counts them. */
static void crypt_run(struct crypt_thread *ct, struct pkt **pk, unsigned int n, CRYPT_FN(fn))
{
	struct stats *st = &ct->thr.stats;

	STAT_ADD(st->rx_pkts, n);
	epoch_begin(&ct->epoch);
	crypt_burst(ct, pk, n, fn);
	epoch_end(&ct->epoch);
	for (unsigned int i = 0; i < n; i++)
		if (pk[i]->verdict == PKT_OK) {
			STAT_INC(st->tx_pkts);
			STAT_ADD(st->tx_bytes, pk[i]->len);
		}
}

void crypt_inline_burst(struct crypt_thread *ct, struct pkt **pk, unsigned int n)
{
	if (n)
		crypt_run(ct, pk, n, ct->is_encrypt ? crypt_encrypt_one : crypt_decrypt_one);
}

static unsigned int crypt_step(struct crypt_thread *ct, CRYPT_FN(fn))
{
	struct stats *st = &ct->thr.stats;
	unsigned int room = spsc_free(ct->out);	/* once: MIN() would read it twice */
	struct pkt *pk[BURST_MAX];
	unsigned int n, done;
	unsigned int queued = ct->dealer_db ? spsc_count(ct->in) : 0;

	n = MIN((unsigned int)BURST_MAX, room);
	if (!n)
		return 0;
	n = spsc_dequeue_burst(ct->in, pk, n);
	if (!n)
		return 0;
	/*
	 * A dealer waits for room only while a ring is more than half full, and
	 * until every ring is half free: ring it when this dequeue crosses the
	 * half mark. The fence in doorbell_ring pairs with its
	 * doorbell_prepare_sleep, so it either sees the room we just made or we
	 * see that it sleeps.
	 */
	if (unlikely(queued > spsc_capacity(ct->in) / 2) &&
	    queued - n <= spsc_capacity(ct->in) / 2)
		doorbell_ring(ct->dealer_db);
	crypt_run(ct, pk, n, fn);
	/* We are out's only producer and measured its room above: this takes all n. */
	done = spsc_enqueue_burst(ct->out, pk, n);
	if (unlikely(done < n)) {
		/* Broken wiring (a second producer); keep the pool whole at least. */
		for (unsigned int i = done; i < n; i++)
			STAT_DROP(st, DROP_RING_FULL);
		pkt_free_burst(pk + done, n - done);
	}
	return n;
}

unsigned int crypt_worker_step(struct crypt_thread *ct)
{
	return crypt_step(ct, ct->is_encrypt ? crypt_encrypt_one : crypt_decrypt_one);
}

static void crypt_idle(struct crypt_thread *ct)
{
	if (spsc_count(ct->in)) {
		/* Work waits but the output is full: the collector will drain it. */
		doorbell_wait(&ct->db, CRYPT_FULL_WAIT_MS);
		return;
	}
	doorbell_prepare_sleep(&ct->db);
	/* Re-check after the fence: the dealer may have enqueued before it saw the flag. */
	if (spsc_count(ct->in) || thread_should_stop(&ct->thr)) {
		doorbell_cancel_sleep(&ct->db);
		return;
	}
	doorbell_wait(&ct->db, CRYPT_IDLE_WAIT_MS);
	STAT_INC(ct->thr.stats.wakeups);
}

static void *crypt_thread_loop(struct crypt_thread *ct, CRYPT_FN(fn))
{
	while (!thread_should_stop(&ct->thr)) {
		if (!crypt_step(ct, fn))
			crypt_idle(ct);
	}
	return NULL;
}

void *encrypt_thread_main(void *arg)
{
	return crypt_thread_loop(arg, crypt_encrypt_one);
}

void *decrypt_thread_main(void *arg)
{
	return crypt_thread_loop(arg, crypt_decrypt_one);
}
