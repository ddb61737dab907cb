/*
 * tun_tx.c - the tun_tx loop: collects decrypted packets from the decrypt
 * workers' rings in the order link_rx dealt them, runs the tun_tx op
 * (io/receive.c) on each burst (replay window, compression framing, in-band
 * messages) and writes the accepted packets to one TUN queue.
 *
 * Thread: tun_tx, one per TUN queue, started by the pipeline; its body is
 * loop_run (loop.c). Owns its io_uring, its write slots (uring.h) and every
 * packet between its rings and the CQE of its write. Being the single stage
 * after decrypt, its op is what may keep per-peer receive state without a
 * lock.
 *
 * Two kinds, picked once by how the queue was opened (io/tun.c):
 *   plain    one IORING_OP_WRITE (or WRITE_FIXED) per packet.
 *   offload  (TUN_OFF_VNET) the packets of a burst that go to the TUN are
 *            coalesced (core/gro.c): consecutive in-order TCP segments of a
 *            flow, and equal-size UDP datagrams of a flow where the kernel
 *            took USO, become one super-packet behind a virtio-net header,
 *            written with one IORING_OP_WRITEV of the head (header
 *            included) and the members' payloads, straight from their
 *            buffers; every other packet gets a zero header. A write slot
 *            holds the head, its chain the members, until the CQE. If the
 *            kernel refuses a coalesced write, coalescing stops for the rest
 *            of the run (those packets count as DROP_IO; TCP resends them).
 *
 * Fixed buffers (lp.fixed_bufs, uring.h): the pools in t->write_pools (the
 * pipeline names the link pools, where decrypted packets live) are
 * registered with the ring at start, and a single-packet write from one of
 * them is an IORING_OP_WRITE_FIXED. A packet of any other pool, and every
 * coalesced write (liburing 2.3 has no fixed-buffer writev), stays plain.
 *
 * Order: as link_tx, in[cursor] is the ring whose turn it is; collection
 * stops at an empty one, and refused packets still take their turn.
 *
 * One turn: reap every finished write (free, count), take up to the burst
 * (BURST_MAX; offload: TUN_TX_BURST_VNET) as far as free write slots allow,
 * run the op inside one epoch section with one clock read, write the good
 * ones, hand PKT_F_CONTROL ones to ctrl and PKT_F_FWD ones to tun_rx, free
 * the rest. Idle: sleep on the doorbell and the writes in flight.
 *
 * Counters (lp.thr.stats): rx_* every packet taken from a ring; tx_* every
 * packet written (bytes without the virtio-net header) or handed on;
 * super_pkts and super_segs the coalesced writes and the packets in them;
 * ctrl_pkts those handed to ctrl; drop[verdict] for refused packets;
 * DROP_NO_CTRL, DROP_RING_FULL for packets ctrl or tun_rx could not take;
 * DROP_IO for failed writes.
 */
#include <sys/uio.h>

#include "../core/clock.h"
#include "../core/gro.h"
#include "loop.h"

/* SQEs per turn are at most one burst of writes; the rest is for shutdown cancels. */
#define TUN_TX_SQ	256
/* Offload: packets per turn; two plain bursts give the coalescer up to ~90 KiB to work with. */
#define TUN_TX_BURST_VNET	(2 * BURST_MAX)

_Static_assert(TUN_TX_BURST_VNET <= TUN_TX_SQ / 2, "a burst of writes fits one submit");

struct tun_tx_state {
	struct loop lo;			/* first: the skeleton's part */
	struct tun_tx_thread *t;
	struct pkt *burst[TUN_TX_BURST_VNET];
	struct pkt *wr[TUN_TX_BURST_VNET];	/* this burst's packets for the TUN */
	struct pkt *heads[TUN_TX_BURST_VNET];
	unsigned int burst_max;		/* BURST_MAX, or TUN_TX_BURST_VNET with offloads */
	unsigned int gro_flags;		/* GRO_F_*; 0 once the kernel refused a coalesced write */
	unsigned int cursor;		/* in[] ring whose turn it is */
	unsigned int nin;
	uint32_t hdr;			/* bytes of virtio-net header per write: 0 or VNET_HDR_LEN */
	/* Offload: each write slot's iovecs, read by the kernel until its CQE. */
	struct iovec iov[URING_TX_SLOTS][GRO_SEGS_MAX];
};

static void tun_tx_cqe(void *arg, enum uring_op op, uint32_t idx, int res,
			uint32_t flags)
{
	struct tun_tx_state *s = arg;

	(void)flags;
	if (!loop_tx_cqe_valid(&s->lo, op, idx))
		return;
	/* EINVAL on a group: this kernel takes no GSO writes; write packets one by one. */
	if (unlikely(res == -EINVAL && s->lo.ts.pkt[idx]->next))
		s->gro_flags = 0;
	loop_tx_done(&s->lo, idx, res, s->hdr);
}

/* Queues one write of @p and its chain; the caller checked for a free slot. Consumes them. */
static void tun_tx_write(struct tun_tx_state *s, struct pkt *p)
{
	uint32_t idx = loop_tx_slot_take(&s->lo, p);
	struct io_uring_sqe *sqe = uring_sqe(&s->lo.u);
	unsigned int n = 0;

	if (unlikely(!sqe)) {
		loop_tx_slot_abort(&s->lo, idx);
		return;
	}
	if (likely(!p->next)) {
		uring_prep_write_pkt(&s->lo.u, sqe, p, p->data, p->len);
	} else {
		struct iovec *iov = s->iov[idx];

		for (struct pkt *q = p; q && n < GRO_SEGS_MAX; q = q->next, n++) {
			iov[n].iov_base = q->data;
			iov[n].iov_len = q->len;
		}
		io_uring_prep_writev(sqe, -1, iov, n, 0);
		STAT_INC(s->t->lp.thr.stats.super_pkts);
		STAT_ADD(s->t->lp.thr.stats.super_segs, n);
	}
	uring_sqe_file(&s->lo.u, sqe, URING_FILE_IO);
	loop_sqe_commit(&s->lo, sqe, idx);
}

/* Writes @p[0..n): plain, one by one; offload, coalesced behind virtio-net headers. */
static void tun_tx_flush(struct tun_tx_state *s, struct pkt **p, unsigned int n)
{
	if (!s->hdr) {
		for (unsigned int i = 0; i < n; i++)
			tun_tx_write(s, p[i]);
		return;
	}
	n = gro_coalesce(p, n, s->heads, s->gro_flags);
	for (unsigned int i = 0; i < n; i++)
		tun_tx_write(s, s->heads[i]);
}

/* Hands @p to the ring @r of another thread (ctrl, tun_rx). Consumes @p. */
static void tun_tx_hand_on(struct tun_tx_state *s, struct spsc *r, struct pkt *p,
			   uint8_t no_ring, bool *notify)
{
	struct stats *st = &s->t->lp.thr.stats;
	uint32_t len = p->len;		/* read before the other thread owns it */

	if (unlikely(!r)) {
		uring_pkt_drop(p, no_ring, st);
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
	struct stats *st = &t->lp.thr.stats;
	bool notify = false, fwd = false;
	unsigned int i, nwr = 0;

	for (i = 0; i < n; i++) {
		PKT_OWN(p[i]);		/* DEBUG: ours from here */
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, p[i]->len);
	}
	if (t->accept) {
		epoch_begin(&t->lp.epoch);
		t->accept(t->ctx, p, n, clock_mono_ns(), st);
		epoch_end(&t->lp.epoch);
	}
	for (i = 0; i < n; i++) {
		if (unlikely(p[i]->verdict != PKT_OK)) {
			uring_pkt_drop(p[i], p[i]->verdict, st);
		} else if (unlikely(p[i]->flags & PKT_F_CONTROL)) {
			bool sent = false;

			tun_tx_hand_on(s, t->ctrl_out, p[i], DROP_NO_CTRL, &sent);
			if (sent)
				STAT_INC(st->ctrl_pkts);
			notify |= sent;
		} else if (unlikely(p[i]->flags & PKT_F_FWD)) {
			p[i]->flags &= (uint8_t)~PKT_F_FWD;
			tun_tx_hand_on(s, t->fwd_out, p[i], DROP_NO_ROUTE, &fwd);
		} else {
			s->wr[nwr++] = p[i];
		}
	}
	tun_tx_flush(s, s->wr, nwr);
	if (notify)
		spsc_notify(t->ctrl_out);
	if (fwd)
		spsc_notify(t->fwd_out);
}

static unsigned int tun_tx_turn(struct loop *lo)
{
	struct tun_tx_state *s = (struct tun_tx_state *)lo;
	unsigned int reaped, took;

	reaped = uring_reap(&lo->u, ~0u, tun_tx_cqe, s);
	took = loop_tx_collect(lo, s->t->in, s->nin, &s->cursor, s->burst, s->burst_max,
			       s->t->dealer_db);
	if (took)
		tun_tx_burst(s, s->burst, took);
	return reaped + took;
}

static bool tun_tx_has_input(const struct loop *lo)
{
	const struct tun_tx_state *s = (const struct tun_tx_state *)lo;

	return s->nin && spsc_count(s->t->in[s->cursor]);
}

static int tun_tx_init(struct loop *lo)
{
	struct tun_tx_state *s = (struct tun_tx_state *)lo;

	s->t = (struct tun_tx_thread *)lo->lp;
	s->nin = MIN(s->t->nin, IO_WORKERS_MAX);
	s->burst_max = BURST_MAX;
	if (s->t->offload & TUN_OFF_VNET) {
		s->burst_max = TUN_TX_BURST_VNET;
		s->hdr = VNET_HDR_LEN;
		s->gro_flags = tun_gro_flags(s->t->offload);
	}
	/* Relaxed: ctrl reads it for its report only, after the thread started. */
	if (s->t->write_pools[0])
		__atomic_store_n(&lo->lp->fixed_bufs,
				 uring_register_pools(&lo->u, s->t->write_pools, URING_BUFS_MAX),
				 __ATOMIC_RELAXED);
	return 0;
}

static const struct loop_kind tun_tx_kind = {
	.op = URING_OP_WRITE,
	.is_rx = false,
	.sq_entries = TUN_TX_SQ,
	.init = tun_tx_init,
	.turn = tun_tx_turn,
	.has_input = tun_tx_has_input,
	.cqe = tun_tx_cqe,
};

void *tun_tx_thread_main(void *arg)
{
	struct tun_tx_thread *t = arg;

	return loop_run(&t->lp, t->fd, &tun_tx_kind, sizeof(struct tun_tx_state));
}
