/*
 * link_tx.c - the link_tx loop: collects encrypted packets from the encrypt
 * workers' rings in the order tun_rx dealt them, plus ctrl's control
 * packets, and sends them on one link (link.h; a UDP socket today).
 *
 * Thread: link_tx, one per link, started by the pipeline; its body is
 * loop_run (loop.c). Owns its io_uring, its send slots (uring.h) and every
 * packet between its rings and the CQE of its send. The link's send ops run
 * here. The only writer of peer->last_tx_ns, peer->tx_bytes and tx_pkts.
 *
 * Order: in[cursor] is the ring whose turn it is. If it is empty its worker
 * still holds that packet, so collection stops until it arrives; packets a
 * worker refused (verdict != PKT_OK) still take their turn. Control packets
 * have no order against data (they are a different stream).
 *
 * One turn: reap every finished send (free, count), take up to
 * LINK_TX_BURST packets (ctrl first: low rate, must not starve under a data
 * flood) as far as free send slots allow, and queue their sends: each run of
 * packets to one endpoint that the link can send as one batch (link.h: with
 * UDP GSO, one sendmsg for up to LINK_SEGS_MAX equal-size datagrams) goes
 * out as one chain in one slot. Idle: sleep on the doorbell (rung by the
 * producers of in[cursor] and ctrl_in, or ctrl for stop) and the sends in
 * flight.
 *
 * Counters (lp.thr.stats, printed as <link>_tx, e.g. udp_tx): rx_* every
 * packet taken from a ring; tx_* every packet the kernel accepted (wire
 * bytes); super_pkts and super_segs the batched sends and the packets in
 * them; drop[verdict] for refused packets; DROP_IO for failed sends (each
 * packet of a batch).
 */
#include "../core/clock.h"
#include "link.h"
#include "loop.h"
#include "peer.h"

/* SQEs per turn are at most LINK_TX_BURST sends; the rest is for shutdown cancels. */
#define LINK_TX_SQ	256
/* Packets per turn: one full GSO batch (link.h). */
#define LINK_TX_BURST	LINK_SEGS_MAX

_Static_assert(LINK_TX_BURST <= LINK_TX_SQ / 2, "a burst of sends fits one submit");

/* The packets one send will carry (link.h), chained head to tail through pkt->next. */
struct link_tx_batch {
	struct pkt *head;		/* NULL: empty */
	struct pkt *tail;
	unsigned int n;
	uint32_t bytes;
	bool is_closed;			/* a shorter packet ended it */
};

struct link_tx_state {
	struct loop lo;			/* first: the skeleton's part */
	struct link_tx_thread *t;
	struct link *link;
	const struct link_ops *ops;
	struct link_tx_batch b;
	struct pkt *burst[LINK_TX_BURST];
	unsigned int cursor;		/* in[] ring whose turn it is */
	unsigned int nin;
};

static void link_tx_cqe(void *arg, enum uring_op op, uint32_t idx, int res,
			uint32_t flags)
{
	struct link_tx_state *s = arg;

	(void)flags;
	if (!loop_tx_cqe_valid(&s->lo, op, idx))
		return;
	/* A stream link may still have part of the packet to send (link.h). */
	if (s->ops->tx_complete) {
		res = s->ops->tx_complete(s->link, &s->lo.u, idx, s->lo.ts.pkt[idx], res,
					  uring_ud(URING_OP_SEND, idx));
		if (res == -EINPROGRESS)
			return;
	}
	loop_tx_done(&s->lo, idx, res, 0);
}

/* Queues the send of the batch in @s->b; the caller checked for a free slot. Consumes it. */
static void link_tx_flush(struct link_tx_state *s)
{
	struct link_tx_batch *b = &s->b;
	uint32_t idx;

	if (!b->head)
		return;
	idx = loop_tx_slot_take(&s->lo, b->head);
	if (b->n > 1) {
		STAT_INC(s->t->lp.thr.stats.super_pkts);
		STAT_ADD(s->t->lp.thr.stats.super_segs, b->n);
	}
	b->head = NULL;
	if (unlikely(!s->ops->tx_prep(s->link, &s->lo.u, idx, s->lo.ts.pkt[idx],
				      uring_ud(URING_OP_SEND, idx))))
		loop_tx_slot_abort(&s->lo, idx);
}

/*
 * Adds @p to the batch, or sends the batch and starts a new one with @p
 * (link.h: a run to one endpoint, each as long as the first but the last).
 * Consumes @p.
 */
static void link_tx_add(struct link_tx_state *s, struct pkt *p)
{
	struct link_tx_batch *b = &s->b;
	const struct pkt *h = b->head;

	p->next = NULL;
	if (h && !b->is_closed && b->n < s->link->tx_batch_max && p->len <= h->len &&
	    b->bytes + p->len <= LINK_BATCH_BYTES && p->addr_len == h->addr_len &&
	    !memcmp(&p->addr, &h->addr, h->addr_len)) {
		b->tail->next = p;
		b->tail = p;
		b->n++;
		b->bytes += p->len;
		b->is_closed = p->len < h->len;
		return;
	}
	link_tx_flush(s);
	b->head = b->tail = p;
	b->n = 1;
	b->bytes = p->len;
	b->is_closed = false;
}

/*
 * Sends the good packets of @p[0..n), frees the rest. With @stamp, marks
 * each data packet's peer as just sent to (one clock read per burst, one
 * lookup per change of peer). Consumes @p[0..n).
 */
static void link_tx_burst(struct link_tx_state *s, struct pkt **p, unsigned int n, bool stamp)
{
	struct link_tx_thread *t = s->t;
	struct stats *st = &t->lp.thr.stats;
	uint32_t last_peer = UINT32_MAX;
	struct peer *pr = NULL;
	int64_t now = 0;
	unsigned int i;

	if (!n)
		return;
	stamp = stamp && t->peers;
	if (stamp) {
		now = clock_mono_ns();
		epoch_begin(&t->lp.epoch);
	}
	for (i = 0; i < n; i++) {
		PKT_OWN(p[i]);		/* DEBUG: ours from here */
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, p[i]->len);
		if (unlikely(p[i]->verdict != PKT_OK)) {
			uring_pkt_drop(p[i], p[i]->verdict, st);
			continue;
		}
		if (stamp && p[i]->peer_id != last_peer) {
			pr = peer_lookup(t->peers, p[i]->peer_id);
			last_peer = p[i]->peer_id;
			/* Single writer (this thread); ctrl reads it relaxed. */
			if (pr)
				__atomic_store_n(&pr->last_tx_ns, now, __ATOMIC_RELAXED);
		}
		if (stamp && pr) {
			__atomic_store_n(&pr->tx_bytes, pr->tx_bytes + p[i]->len, __ATOMIC_RELAXED);
			__atomic_store_n(&pr->tx_pkts, pr->tx_pkts + 1, __ATOMIC_RELAXED);
		}
		link_tx_add(s, p[i]);
	}
	link_tx_flush(s);
	if (stamp)
		epoch_end(&t->lp.epoch);
}

/* Takes what free send slots allow, ctrl first. Returns packets taken. */
static unsigned int link_tx_collect(struct link_tx_state *s)
{
	struct link_tx_thread *t = s->t;
	unsigned int budget = MIN(LINK_TX_BURST, s->lo.ts.nfree);
	unsigned int n, took = 0;

	if (t->ctrl_in && budget) {
		n = spsc_dequeue_burst(t->ctrl_in, s->burst, budget);
		link_tx_burst(s, s->burst, n, false);
		budget -= n;
		took += n;
	}
	if (budget) {
		n = loop_tx_collect(&s->lo, t->in, s->nin, &s->cursor, s->burst, budget,
				    t->dealer_db);
		link_tx_burst(s, s->burst, n, true);
		took += n;
	}
	return took;
}

static unsigned int link_tx_turn(struct loop *lo)
{
	struct link_tx_state *s = (struct link_tx_state *)lo;
	unsigned int reaped = uring_reap(&lo->u, ~0u, link_tx_cqe, s);

	if (s->ops->tx_idle)
		s->ops->tx_idle(s->link);

	return reaped + link_tx_collect(s);
}

static bool link_tx_has_input(const struct loop *lo)
{
	const struct link_tx_state *s = (const struct link_tx_state *)lo;
	const struct link_tx_thread *t = s->t;

	return (s->nin && spsc_count(t->in[s->cursor])) ||
	       (t->ctrl_in && spsc_count(t->ctrl_in));
}

static int link_tx_init(struct loop *lo)
{
	struct link_tx_state *s = (struct link_tx_state *)lo;

	s->t = (struct link_tx_thread *)lo->lp;
	s->link = s->t->link;
	s->ops = s->link->ops;
	s->nin = MIN(s->t->nin, IO_WORKERS_MAX);
	return 0;
}

static const struct loop_kind link_tx_kind = {
	.op = URING_OP_SEND,
	.is_rx = false,
	.sq_entries = LINK_TX_SQ,
	.init = link_tx_init,
	.turn = link_tx_turn,
	.has_input = link_tx_has_input,
	.cqe = link_tx_cqe,
};

void *link_tx_thread_main(void *arg)
{
	struct link_tx_thread *t = arg;

	return loop_run(&t->lp, t->link->fd, &link_tx_kind, sizeof(struct link_tx_state));
}
