/*
 * tun_tx.c - the tun_tx loop: collects decrypted packets from the decrypt
 * workers' rings in the order udp_rx dealt them, runs the tun_tx op on each
 * burst (replay window, compression framing, in-band messages) and writes
 * the accepted packets to one TUN queue with IORING_OP_WRITE.
 *
 * Thread: tun_tx, one per TUN queue, started by ctrl. Owns its io_uring, its
 * write slots (uring.h) and every packet between its rings and the CQE of
 * its write. Being the single stage after decrypt, its op is what may keep
 * per-peer receive state without a lock.
 *
 * Order: as udp_tx, in[cursor] is the ring whose turn it is; collection
 * stops at an empty one, and refused packets still take their turn.
 *
 * One turn: reap every finished write (free, count), take up to BURST_MAX
 * packets as far as free write slots allow, run the op inside one epoch
 * section with one clock read, write the good ones, hand PKT_F_CONTROL ones
 * to ctrl, free the rest, enter the kernel once. Idle: sleep on the doorbell
 * and the writes in flight, bounded by URING_WAIT_MS.
 *
 * Counters (thr.stats): rx_* every packet taken from a ring; tx_* every
 * packet written or handed to ctrl; ctrl_pkts the latter; drop[verdict] for
 * refused packets; DROP_NO_CTRL, DROP_RING_FULL for control packets ctrl
 * could not take; DROP_IO for failed writes.
 */
#include <errno.h>
#include <stdlib.h>

#include "../core/clock.h"
#include "io.h"
#include "uring.h"

/* SQEs per turn are at most BURST_MAX writes; the rest is for shutdown cancels. */
#define TUN_TX_SQ	256

struct tun_tx_state {
	struct uring u;
	struct tun_tx_thread *t;
	struct uring_tx_slots ts;
	struct pkt *burst[BURST_MAX];
	unsigned int cursor;		/* in[] ring whose turn it is */
	unsigned int nin;
};

static void tun_tx_cqe(void *arg, enum uring_op op, uint32_t idx, int res)
{
	struct tun_tx_state *s = arg;
	struct stats *st = &s->t->thr.stats;
	struct pkt *p;

	if (unlikely(op != URING_OP_WRITE || idx >= URING_TX_SLOTS || !s->ts.pkt[idx]))
		return;
	p = s->ts.pkt[idx];
	s->ts.pkt[idx] = NULL;
	s->ts.free[s->ts.nfree++] = idx;
	if (likely(res >= 0)) {
		STAT_INC(st->tx_pkts);
		STAT_ADD(st->tx_bytes, (uint32_t)res);
	} else {
		STAT_DROP(st, DROP_IO);
	}
	pkt_free(p);
}

/* Queues one write; the caller checked for a free slot. Consumes @p. */
static void tun_tx_write(struct tun_tx_state *s, struct pkt *p)
{
	uint32_t idx = s->ts.free[--s->ts.nfree];
	struct io_uring_sqe *sqe = uring_sqe(&s->u);

	if (unlikely(!sqe)) {
		s->ts.free[s->ts.nfree++] = idx;
		uring_pkt_drop(p, DROP_IO, &s->t->thr.stats);
		return;
	}
	s->ts.pkt[idx] = p;
	io_uring_prep_write(sqe, -1, p->data, p->len, 0);
	uring_sqe_file(&s->u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, uring_ud(URING_OP_WRITE, idx));
}

/* Hands one in-band message to ctrl. Consumes @p. */
static void tun_tx_to_ctrl(struct tun_tx_state *s, struct pkt *p, bool *notify)
{
	struct spsc *r = s->t->ctrl_out;
	struct stats *st = &s->t->thr.stats;
	uint32_t len = p->len;		/* read before ctrl owns it */

	if (unlikely(!r)) {
		uring_pkt_drop(p, DROP_NO_CTRL, st);
	} else if (spsc_enqueue_burst_quiet(r, &p, 1)) {
		STAT_INC(st->tx_pkts);
		STAT_ADD(st->tx_bytes, len);
		STAT_INC(st->ctrl_pkts);
		*notify = true;
	} else {
		uring_pkt_drop(p, DROP_RING_FULL, st);
	}
}

/* Hands one client-to-client packet back to tun_rx. Consumes @p. */
static void tun_tx_forward(struct tun_tx_state *s, struct pkt *p, bool *notify)
{
	struct spsc *r = s->t->fwd_out;
	struct stats *st = &s->t->thr.stats;
	uint32_t len = p->len;		/* read before tun_rx owns it */

	p->flags &= (uint8_t)~PKT_F_FWD;
	if (unlikely(!r)) {
		uring_pkt_drop(p, DROP_NO_ROUTE, st);
	} else if (spsc_enqueue_burst_quiet(r, &p, 1)) {
		STAT_INC(st->tx_pkts);
		STAT_ADD(st->tx_bytes, len);
		*notify = true;
	} else {
		uring_pkt_drop(p, DROP_RING_FULL, st);
	}
}

/* Runs the op on @p[0..n) and sends each packet where it belongs. Consumes them. */
static void tun_tx_burst(struct tun_tx_state *s, struct pkt **p, unsigned int n)
{
	struct tun_tx_thread *t = s->t;
	struct stats *st = &t->thr.stats;
	bool notify = false, fwd = false;
	unsigned int i;

	for (i = 0; i < n; i++) {
		PKT_OWN(p[i]);		/* DEBUG: ours from here */
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, p[i]->len);
	}
	if (t->accept) {
		epoch_begin(&t->epoch);
		t->accept(t->ctx, p, n, clock_mono_ns(), st);
		epoch_end(&t->epoch);
	}
	for (i = 0; i < n; i++) {
		if (unlikely(p[i]->verdict != PKT_OK))
			uring_pkt_drop(p[i], p[i]->verdict, st);
		else if (unlikely(p[i]->flags & PKT_F_CONTROL))
			tun_tx_to_ctrl(s, p[i], &notify);
		else if (unlikely(p[i]->flags & PKT_F_FWD))
			tun_tx_forward(s, p[i], &fwd);
		else
			tun_tx_write(s, p[i]);
	}
	if (notify)
		spsc_notify(t->ctrl_out);
	if (fwd)
		spsc_notify(t->fwd_out);
}

static void tun_tx_idle(struct tun_tx_state *s)
{
	struct tun_tx_thread *t = s->t;

	if (!s->ts.nfree) {
		/* Every slot is in flight: their CQEs wake us, not the doorbell. */
		uring_wait(&s->u, URING_WAIT_MS);
		return;
	}
	doorbell_prepare_sleep(&t->db);
	/* Re-check after the fence: a packet enqueued before it is seen here. */
	if ((s->nin && spsc_count(t->in[s->cursor])) || thread_should_stop(&t->thr)) {
		doorbell_cancel_sleep(&t->db);
		uring_submit(&s->u);
		return;
	}
	uring_wait(&s->u, URING_WAIT_MS);
	doorbell_cancel_sleep(&t->db);
	STAT_INC(t->thr.stats.wakeups);
}

/* Shutdown: cancels what is in flight, waits for every CQE (frees the packets). */
static bool tun_tx_drain(struct tun_tx_state *s)
{
	for (uint32_t i = 0; i < URING_TX_SLOTS; i++)
		if (s->ts.pkt[i])
			uring_cancel(&s->u, uring_ud(URING_OP_WRITE, i));
	if (s->u.db_armed)
		uring_cancel(&s->u, uring_ud(URING_OP_DOORBELL, 0));
	for (int r = 0; r < URING_DRAIN_ROUNDS &&
			(s->ts.nfree < URING_TX_SLOTS || s->u.db_armed); r++) {
		uring_wait(&s->u, URING_WAIT_MS);
		uring_reap(&s->u, ~0u, tun_tx_cqe, s);
	}
	return s->ts.nfree == URING_TX_SLOTS && !s->u.db_armed;
}

void *tun_tx_thread_main(void *arg)
{
	struct tun_tx_thread *t = arg;
	struct tun_tx_state *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		__atomic_store_n(&t->err, -ENOMEM, __ATOMIC_RELEASE);
		return NULL;
	}
	rc = uring_open(&s->u, TUN_TX_SQ, t->fd, t->db.efd);
	if (rc) {
		__atomic_store_n(&t->err, rc, __ATOMIC_RELEASE);
		free(s);
		return NULL;
	}
	__atomic_store_n(&t->ring_flags, s->u.setup_flags, __ATOMIC_RELEASE);
	s->t = t;
	s->nin = MIN(t->nin, IO_WORKERS_MAX);
	uring_tx_slots_init(&s->ts);

	while (!thread_should_stop(&t->thr)) {
		unsigned int reaped, took;

		reaped = uring_reap(&s->u, ~0u, tun_tx_cqe, s);
		took = uring_pkt_collect(t->in, s->nin, &s->cursor, s->burst,
					 MIN(BURST_MAX, s->ts.nfree));
		if (took)
			tun_tx_burst(s, s->burst, took);
		uring_doorbell_arm(&s->u);
		if (reaped || took)
			uring_submit(&s->u);
		else
			tun_tx_idle(s);
	}

	/* Not drained: the kernel may still read the slots; leak them. */
	if (!tun_tx_drain(s))
		return NULL;
	uring_close(&s->u);
	free(s);
	return NULL;
}
