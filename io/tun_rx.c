/*
 * tun_rx.c - the tun_rx loop: reads IP packets from one TUN queue, lets the
 * tun_rx op (io/send.c) pick peer, key and packet-id, and deals the packets
 * round robin to the encrypt workers' rings. Also takes ctrl's in-band
 * packets (keepalive pings) from the inject ring, and a server's
 * client-to-client packets from tun_tx's fwd ring, through the same op.
 *
 * Thread: tun_rx, one per TUN queue, started by the pipeline; its body is
 * loop_run (loop.c). Owns its io_uring, its read slots (uring.h) and every
 * packet in them; its pool's home.
 *
 * One turn: reap up to BURST_MAX reads, drain up to BURST_MAX packets from
 * each input ring, classify each burst inside one epoch section, free what
 * the op refused, deal the rest, re-arm emptied slots with fresh packets (as
 * many as the load calls for, uring.h). Idle: sleep on the doorbell (inject,
 * fwd, stop) and the reads together.
 *
 * Counters (lp.thr.stats): rx_* every packet read or taken from a ring;
 * tx_* every packet dealt; drop[verdict] for the op's verdicts;
 * DROP_RING_FULL (worker ring full); DROP_OVERSIZE (a read that filled the
 * whole buffer may have been cut); DROP_IO (read errors); DROP_POOL_EMPTY
 * (once per refill that found the pool short: reads resume when packets come
 * home); DROP_SHUTDOWN (read while stopping).
 */
#include <stdlib.h>

#include "loop.h"

/* Every read slot, the doorbell and shutdown cancels fit one submit. */
#define TUN_RX_SQ	128

_Static_assert(TUN_RX_SQ >= URING_RX_SLOTS + 2, "a full refill fits in one submit");

struct tun_rx_state {
	struct loop lo;			/* first: the skeleton's part */
	struct tun_rx_thread *t;
	struct pkt *burst[BURST_MAX];	/* reads completed this turn */
	struct pkt *inj[BURST_MAX];
	unsigned int nburst;
	unsigned int cursor;		/* next worker ring; moves on success only */
	unsigned int nout;
};

static void tun_rx_cqe(void *arg, enum uring_op op, uint32_t idx, int res)
{
	struct tun_rx_state *s = arg;
	struct stats *st = &s->t->lp.thr.stats;
	struct pkt *p;

	if (unlikely(op != URING_OP_READ || idx >= URING_RX_SLOTS))
		return;
	if (loop_rx_cqe_exit(&s->lo, idx, res))
		return;
	p = s->lo.rs.pkt[idx];
	if (likely(res > 0 && (uint32_t)res < pkt_data_room(p))) {
		p->len = (uint32_t)res;
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, (uint32_t)res);
		s->burst[s->nburst++] = p;
		uring_rx_slot_done(&s->lo.rs, idx, false);
		return;
	}
	if (res > 0) {
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, (uint32_t)res);
		STAT_DROP(st, DROP_OVERSIZE);
		uring_rx_slot_done(&s->lo.rs, idx, true);	/* read again into the same packet */
		return;
	}
	/* A TUN read never returns 0: treat it as the error it would be. */
	STAT_DROP(st, DROP_IO);
	uring_rx_slot_park(&s->lo.rs, idx);
}

static bool tun_rx_arm(void *arg, uint32_t idx, struct pkt *p)
{
	struct tun_rx_state *s = arg;
	struct io_uring_sqe *sqe = uring_sqe(&s->lo.u);

	if (unlikely(!sqe))
		return false;
	io_uring_prep_read(sqe, -1, p->data, pkt_data_room(p), 0);
	uring_sqe_file(&s->lo.u, sqe, URING_FILE_IO);
	loop_sqe_commit(&s->lo, sqe, idx);
	return true;
}

/* Classifies, frees what the op refused, deals the rest. Consumes @p[0..n). */
static void tun_rx_burst(struct tun_rx_state *s, struct pkt **p, unsigned int n)
{
	struct tun_rx_thread *t = s->t;
	struct stats *st = &t->lp.thr.stats;
	unsigned int i, ok = 0;

	if (!n)
		return;
	if (t->classify) {
		epoch_begin(&t->lp.epoch);
		t->classify(t->ctx, p, n, st);
		epoch_end(&t->lp.epoch);
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
	struct stats *st = &s->t->lp.thr.stats;
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

static unsigned int tun_rx_turn(struct loop *lo)
{
	struct tun_rx_state *s = (struct tun_rx_state *)lo;
	unsigned int reaped, injected;

	s->nburst = 0;
	reaped = loop_rx_reap(lo, BURST_MAX, tun_rx_cqe);
	tun_rx_burst(s, s->burst, s->nburst);
	injected = tun_rx_ring_in(s, s->t->inject) + tun_rx_ring_in(s, s->t->fwd);
	loop_rx_refill(lo, s->t->pool, tun_rx_arm);
	return reaped + injected;
}

static bool tun_rx_has_input(const struct loop *lo)
{
	const struct tun_rx_thread *t = ((const struct tun_rx_state *)lo)->t;

	return (t->inject && spsc_count(t->inject)) || (t->fwd && spsc_count(t->fwd));
}

static int tun_rx_init(struct loop *lo)
{
	struct tun_rx_state *s = (struct tun_rx_state *)lo;

	s->t = (struct tun_rx_thread *)lo->lp;
	s->nout = MIN(s->t->nout, IO_WORKERS_MAX);
	return 0;
}

static const struct loop_kind tun_rx_kind = {
	.op = URING_OP_READ,
	.is_rx = true,
	.sq_entries = TUN_RX_SQ,
	.init = tun_rx_init,
	.turn = tun_rx_turn,
	.has_input = tun_rx_has_input,
	.cqe = tun_rx_cqe,
};

void *tun_rx_thread_main(void *arg)
{
	struct tun_rx_thread *t = arg;

	return loop_run(&t->lp, t->fd, &tun_rx_kind, sizeof(struct tun_rx_state));
}
