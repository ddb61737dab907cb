/*
 * link_rx.c - the link_rx loop: receives packets from one link (link.h; a
 * UDP socket today), has the link_rx op (io/receive.c) validate each at
 * ingress, deals data packets round robin to the decrypt workers' rings and
 * hands control packets to ctrl.
 *
 * Thread: link_rx, one per link, started by the pipeline; its body is
 * loop_run (loop.c). Owns its io_uring, its receive slots (uring.h) and
 * every packet in them; its pool's home. The link's receive ops run here.
 *
 * One turn: take what the link has left over (rx_pending, stream links),
 * reap finished reads as far as the burst has room (each becomes 0..N
 * packets through the link's rx_complete: one datagram, or with UDP GRO up
 * to LINK_RX_SEGS_MAX) and every decrypt ring has room for a read's worth,
 * classify each packet, free what the op refused, deal the data, pass the
 * control packets on, re-arm emptied slots (as many as the load calls for,
 * uring.h). Reads that wait for room wait in the kernel: link_rx sleeps on
 * its doorbell, which a decrypt worker rings when it drains a ring that was
 * more than half full, and the socket buffer holds what arrives meanwhile.
 * Idle: sleep on the reads and the doorbell (stop).
 *
 * Counters (lp.thr.stats, printed as <link>_rx, e.g. udp_rx): rx_* what the
 * link received (UDP: every datagram); tx_* every packet passed on (data
 * rings and ctrl ring); ctrl_pkts the control part of that; drop[verdict]
 * for the op's verdicts; the link's own drops (UDP: DROP_OVERSIZE, a
 * truncated datagram); DROP_RING_FULL; DROP_NO_CTRL (control packet and no
 * ctrl ring); DROP_IO (receive errors such as ICMP port unreachable on a
 * connected socket); DROP_POOL_EMPTY (once per refill that found the pool
 * short); DROP_SHUTDOWN (received while stopping).
 */
#include "link.h"
#include "loop.h"

/* Every receive slot, the doorbell and shutdown cancels fit one submit. */
#define LINK_RX_SQ	128
/* Packets one turn may hold: two GRO reads' worth, or BURST_MAX single datagrams. */
#define LINK_RX_BURST	(2 * LINK_RX_SEGS_MAX)

_Static_assert(LINK_RX_SQ >= URING_RX_SLOTS + 2, "a full refill fits in one submit");
_Static_assert(LINK_RX_BURST >= BURST_MAX, "a turn holds a burst of single datagrams");

struct link_rx_state {
	struct loop lo;			/* first: the skeleton's part */
	struct link_rx_thread *t;
	struct link *link;
	const struct link_ops *ops;
	struct pkt *burst[LINK_RX_BURST];	/* packets received this turn */
	struct pkt *ctrl[LINK_RX_BURST];	/* the control packets among them */
	unsigned int nburst;
	unsigned int segs;		/* link->rx_segs_max: packets one read may yield */
	unsigned int cursor;		/* next worker ring; moves on success only */
	unsigned int nout;
};

static void link_rx_cqe(void *arg, enum uring_op op, uint32_t idx, int res)
{
	struct link_rx_state *s = arg;
	bool keep = true;

	if (unlikely(op != URING_OP_RECV || idx >= URING_RX_SLOTS))
		return;
	if (loop_rx_cqe_exit(&s->lo, idx, res))
		return;
	s->nburst += s->ops->rx_complete(s->link, idx, s->lo.rs.pkt[idx], res,
					 &s->burst[s->nburst], LINK_RX_BURST - s->nburst, &keep,
					 &s->t->lp.thr.stats);
	uring_rx_slot_done(&s->lo.rs, idx, keep);
}

static bool link_rx_arm(void *arg, uint32_t idx, struct pkt *p)
{
	struct link_rx_state *s = arg;

	return s->ops->rx_prep(s->link, &s->lo.u, idx, p, uring_ud(URING_OP_RECV, idx));
}

/* Hands control packets to ctrl. Consumes @p[0..n). */
static void link_rx_to_ctrl(struct link_rx_state *s, struct pkt **p, unsigned int n)
{
	struct spsc *r = s->t->ctrl_out;
	struct stats *st = &s->t->lp.thr.stats;
	unsigned int i, sent = 0;

	for (i = 0; i < n; i++) {
		uint32_t len = p[i]->len;	/* read before ctrl owns it */

		if (unlikely(!r)) {
			uring_pkt_drop(p[i], DROP_NO_CTRL, st);
		} else if (spsc_enqueue_burst_quiet(r, &p[i], 1)) {
			STAT_INC(st->tx_pkts);
			STAT_ADD(st->tx_bytes, len);
			sent++;
		} else {
			uring_pkt_drop(p[i], DROP_RING_FULL, st);
		}
	}
	STAT_ADD(st->ctrl_pkts, sent);
	if (sent)
		spsc_notify(r);
}

/* Validates, sorts and passes on this turn's packets. Consumes them. */
static void link_rx_burst(struct link_rx_state *s)
{
	struct link_rx_thread *t = s->t;
	struct stats *st = &t->lp.thr.stats;
	struct pkt **ctrl = s->ctrl;
	unsigned int i, ndata = 0, nctrl = 0;
	bool guarded = t->lp.epoch.rec && s->nburst;

	/* The op looks peers up; a server may retire one at any time. */
	if (guarded)
		epoch_begin(&t->lp.epoch);
	for (i = 0; i < s->nburst; i++) {
		struct pkt *p = s->burst[i];
		bool is_control = false;
		uint8_t v = t->classify ? t->classify(t->ctx, p, &is_control) : PKT_OK;

		p->verdict = v;
		if (unlikely(v != PKT_OK)) {
			uring_pkt_drop(p, v, st);
		} else if (unlikely(is_control)) {
			p->flags |= PKT_F_CONTROL;
			ctrl[nctrl++] = p;
		} else {
			s->burst[ndata++] = p;
		}
	}
	if (guarded)
		epoch_end(&t->lp.epoch);
	uring_pkt_deal(t->out, s->nout, &s->cursor, s->burst, ndata, st);
	if (nctrl)
		link_rx_to_ctrl(s, ctrl, nctrl);
}

/* Reads the decrypt rings have room for now (a read's worth in each), at most @max. */
static unsigned int link_rx_room(const struct link_rx_state *s, unsigned int max)
{
	return loop_room_reads(s->t->out, s->nout, s->segs, max);
}

/* While waiting for room: is there room now? */
static bool link_rx_ready(const struct loop *lo)
{
	return link_rx_room((const struct link_rx_state *)lo, 1) != 0;
}

static unsigned int link_rx_turn(struct loop *lo)
{
	struct link_rx_state *s = (struct link_rx_state *)lo;
	unsigned int pending = 0, reaped = 0, reads;

	s->nburst = 0;
	if (s->ops->rx_pending)
		s->nburst = pending = s->ops->rx_pending(s->link, s->burst, BURST_MAX,
							 &s->t->lp.thr.stats);
	/*
	 * As many reads as the burst has room for their packets (one each
	 * without GRO), and the decrypt rings too: when they are full the
	 * datagrams wait in the socket rather than be dropped here.
	 */
	reads = link_rx_room(s, MIN(BURST_MAX, (LINK_RX_BURST - s->nburst) / s->segs));
	if (reads)
		reaped = loop_rx_reap(lo, reads, link_rx_cqe);
	link_rx_burst(s);
	loop_rx_refill(lo, s->t->pool, link_rx_arm);
	if (!reads && !pending && io_uring_cq_ready(&lo->u.ring)) {
		loop_wait_room(lo, link_rx_ready);
		return 1;	/* reads are waiting: do not sleep on them, they are ready */
	}
	return reaped + pending;
}

static int link_rx_init(struct loop *lo)
{
	struct link_rx_state *s = (struct link_rx_state *)lo;

	s->t = (struct link_rx_thread *)lo->lp;
	s->link = s->t->link;
	s->ops = s->link->ops;
	s->nout = MIN(s->t->nout, IO_WORKERS_MAX);
	s->segs = MIN(MAX(s->link->rx_segs_max, 1u), (unsigned int)LINK_RX_SEGS_MAX);
	return 0;
}

static const struct loop_kind link_rx_kind = {
	.op = URING_OP_RECV,
	.is_rx = true,
	.sq_entries = LINK_RX_SQ,
	.init = link_rx_init,
	.turn = link_rx_turn,
	.has_input = NULL,		/* the doorbell only carries stop requests */
	.cqe = link_rx_cqe,
};

void *link_rx_thread_main(void *arg)
{
	struct link_rx_thread *t = arg;

	return loop_run(&t->lp, t->link->fd, &link_rx_kind, sizeof(struct link_rx_state));
}
