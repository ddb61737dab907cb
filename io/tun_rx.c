/*
 * tun_rx.c - the tun_rx loop: reads IP packets from one TUN queue, lets the
 * tun_rx op pick peer, key and packet-id, and deals the packets round robin
 * to the encrypt workers' rings. Also takes ctrl's in-band packets (keepalive
 * pings) from the inject ring through the same op.
 *
 * Thread: tun_rx, one per TUN queue, started by ctrl. Owns its io_uring, its
 * read slots (uring.h) and every packet in them; its pool's home.
 *
 * One turn: reap up to BURST_MAX reads, drain up to BURST_MAX injected
 * packets, classify each burst inside one epoch section, free what the op
 * refused, deal the rest, re-arm emptied slots with fresh packets (as many as
 * the load calls for, uring.h), and enter the kernel once. Idle: sleep on the doorbell (inject, stop) and the
 * reads together, bounded by URING_WAIT_MS.
 *
 * Counters (thr.stats): rx_* every packet read or injected; tx_* every packet
 * dealt; drop[verdict] for the op's verdicts; DROP_RING_FULL (worker ring
 * full); DROP_OVERSIZE (a read that filled the whole buffer may have been
 * cut); DROP_IO (read errors); DROP_POOL_EMPTY (once per refill that found
 * the pool short: reads resume when packets come home).
 */
#include <errno.h>
#include <stdlib.h>

#include "io.h"
#include "uring.h"

/* Every read slot, the doorbell and shutdown cancels fit one submit. */
#define TUN_RX_SQ	128

_Static_assert(TUN_RX_SQ >= URING_RX_SLOTS + 2, "a full refill fits in one submit");

struct tun_rx_state {
	struct uring u;
	struct tun_rx_thread *t;
	struct uring_rx_slots rs;
	struct pkt *burst[BURST_MAX];	/* reads completed this turn */
	struct pkt *inj[BURST_MAX];
	unsigned int nburst;
	unsigned int cursor;		/* next worker ring; moves on success only */
	unsigned int nout;
	bool stopping;
};

static void tun_rx_cqe(void *arg, enum uring_op op, uint32_t idx, int res)
{
	struct tun_rx_state *s = arg;
	struct stats *st = &s->t->thr.stats;
	struct pkt *p;

	if (unlikely(op != URING_OP_READ || idx >= URING_RX_SLOTS))
		return;
	p = s->rs.pkt[idx];
	if (unlikely(s->stopping)) {
		/* A read that won the race with the cancel still counts, as a drop. */
		if (res > 0) {
			STAT_INC(st->rx_pkts);
			STAT_ADD(st->rx_bytes, (uint32_t)res);
			STAT_DROP(st, DROP_SHUTDOWN);
		}
		uring_rx_slot_done(&s->rs, idx, true);	/* freed with the slots */
		return;
	}
	if (likely(res > 0 && (uint32_t)res < pkt_data_room(p))) {
		p->len = (uint32_t)res;
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, (uint32_t)res);
		s->burst[s->nburst++] = p;
		uring_rx_slot_done(&s->rs, idx, false);
		return;
	}
	if (res > 0) {
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, (uint32_t)res);
		STAT_DROP(st, DROP_OVERSIZE);
		uring_rx_slot_done(&s->rs, idx, true);	/* read again into the same packet */
		return;
	}
	if (res == -EAGAIN || res == -EINTR) {
		/* See uring.h: a lost race for a packet, not an error. */
		uring_rx_slot_done(&s->rs, idx, true);
		return;
	}
	STAT_DROP(st, DROP_IO);
	uring_rx_slot_park(&s->rs, idx);
}

static bool tun_rx_arm(void *arg, uint32_t idx, struct pkt *p)
{
	struct tun_rx_state *s = arg;
	struct io_uring_sqe *sqe = uring_sqe(&s->u);

	if (unlikely(!sqe))
		return false;
	io_uring_prep_read(sqe, -1, p->data, pkt_data_room(p), 0);
	uring_sqe_file(&s->u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, uring_ud(URING_OP_READ, idx));
	return true;
}

/* Classifies, frees what the op refused, deals the rest. Consumes @p[0..n). */
static void tun_rx_burst(struct tun_rx_state *s, struct pkt **p, unsigned int n)
{
	struct tun_rx_thread *t = s->t;
	struct stats *st = &t->thr.stats;
	unsigned int i, ok = 0;

	if (!n)
		return;
	if (t->classify) {
		epoch_begin(&t->epoch);
		t->classify(t->ctx, p, n, st);
		epoch_end(&t->epoch);
	}
	for (i = 0; i < n; i++) {
		if (likely(p[i]->verdict == PKT_OK))
			p[ok++] = p[i];
		else
			uring_pkt_drop(p[i], p[i]->verdict, st);
	}
	uring_pkt_deal(t->out, s->nout, &s->cursor, p, ok, st);
}

/* One burst from a ring that feeds tun_rx besides the TUN (ctrl's inject, tun_tx's fwd). */
static unsigned int tun_rx_ring_in(struct tun_rx_state *s, struct spsc *r)
{
	struct stats *st = &s->t->thr.stats;
	unsigned int i, n;

	if (!r)
		return 0;
	n = spsc_dequeue_burst(r, s->inj, BURST_MAX);
	for (i = 0; i < n; i++) {
		PKT_OWN(s->inj[i]);	/* DEBUG: ours from here */
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, s->inj[i]->len);
	}
	tun_rx_burst(s, s->inj, n);
	return n;
}

static unsigned int tun_rx_inject(struct tun_rx_state *s)
{
	return tun_rx_ring_in(s, s->t->inject) + tun_rx_ring_in(s, s->t->fwd);
}

static void tun_rx_idle(struct tun_rx_state *s)
{
	struct tun_rx_thread *t = s->t;

	doorbell_prepare_sleep(&t->db);
	/* Re-check after the fence: an inject enqueued before it is seen here. */
	if ((t->inject && spsc_count(t->inject)) || (t->fwd && spsc_count(t->fwd)) ||
	    thread_should_stop(&t->thr)) {
		doorbell_cancel_sleep(&t->db);
		uring_submit(&s->u);
		return;
	}
	uring_wait(&s->u, uring_rx_slots_timeout_ms(&s->rs));
	doorbell_cancel_sleep(&t->db);
	STAT_INC(t->thr.stats.wakeups);
}

/* Shutdown: cancels the reads and the doorbell read, waits for their CQEs. */
static bool tun_rx_drain(struct tun_rx_state *s)
{
	s->stopping = true;
	for (uint32_t i = 0; i < URING_RX_SLOTS; i++)
		uring_cancel(&s->u, uring_ud(URING_OP_READ, i));
	if (s->u.db_armed)
		uring_cancel(&s->u, uring_ud(URING_OP_DOORBELL, 0));
	for (int r = 0; r < URING_DRAIN_ROUNDS && (s->rs.narmed || s->u.db_armed); r++) {
		uring_wait(&s->u, URING_WAIT_MS);
		uring_reap(&s->u, ~0u, tun_rx_cqe, s);
	}
	return !s->rs.narmed && !s->u.db_armed;
}

void *tun_rx_thread_main(void *arg)
{
	struct tun_rx_thread *t = arg;
	struct tun_rx_state *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		__atomic_store_n(&t->err, -ENOMEM, __ATOMIC_RELEASE);
		return NULL;
	}
	rc = uring_open(&s->u, TUN_RX_SQ, t->fd, t->db.efd);
	if (rc) {
		__atomic_store_n(&t->err, rc, __ATOMIC_RELEASE);
		free(s);
		return NULL;
	}
	__atomic_store_n(&t->ring_flags, s->u.setup_flags, __ATOMIC_RELEASE);
	s->t = t;
	s->nout = MIN(t->nout, IO_WORKERS_MAX);
	uring_rx_slots_init(&s->rs);

	while (!thread_should_stop(&t->thr)) {
		unsigned int reaped, injected;

		s->nburst = 0;
		reaped = uring_reap(&s->u, BURST_MAX, tun_rx_cqe, s);
		uring_rx_slots_pace(&s->rs, reaped);
		tun_rx_burst(s, s->burst, s->nburst);
		injected = tun_rx_inject(s);
		uring_rx_slots_unpark(&s->rs);
		uring_rx_slots_refill(&s->rs, t->pool, &t->thr.stats, tun_rx_arm, s);
		uring_doorbell_arm(&s->u);
		if (reaped || injected)
			uring_submit(&s->u);
		else
			tun_rx_idle(s);
	}

	/* Not drained: the kernel may still write into the slots; leak them. */
	if (!tun_rx_drain(s))
		return NULL;
	uring_close(&s->u);
	uring_rx_slots_free(&s->rs);
	free(s);
	return NULL;
}
