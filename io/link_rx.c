/*
 * link_rx.c - the link_rx loop: receives packets from one link (link.h; a
 * UDP socket today), has the link_rx op (io/receive.c) validate each at
 * ingress, deals data packets round robin to the decrypt workers' rings and
 * hands control packets to ctrl. With inline crypto (workers 0,
 * io/pipeline.h) it opens the data packets itself with its crypt worker's
 * contexts and deals them straight to tun_tx's ring, which then rings it
 * when it drains that ring (loop.h loop_tx_collect).
 *
 * Thread: link_rx, one per link, started by the pipeline; its body is
 * loop_run (loop.c). Owns its io_uring, its receive slots (uring.h) or its
 * provided-buffer ring, and every packet in them; its pool's home. The
 * link's receive ops run here.
 *
 * Two ways to receive, picked at thread start:
 *   multishot  (the link's rx_ms_* ops, and a kernel that takes a
 *              provided-buffer ring) one recvmsg that stays armed, CQEs in
 *              the socket's order, into LINK_RX_BUFS pool packets placed so
 *              a datagram lands at p->data: handed on as it is, its buffer
 *              id refilled from the pool; with GRO the buffers are 64 KiB
 *              ones that the link copies datagrams out of and that go
 *              straight back into the ring. A request that ends (ring dry,
 *              an error) is re-armed next turn; repeated errors back off.
 *   slots      up to URING_RX_SLOTS recvmsg in flight (uring.h).
 *
 * One turn: take what the link has left over (rx_pending, stream links),
 * reap finished reads as far as the burst has room (each becomes 0..N
 * packets through the link's rx_complete: one datagram, or with UDP GRO up
 * to LINK_RX_SEGS_MAX) and every decrypt ring has room for a read's worth,
 * classify each packet, free what the op refused, deal the data, pass the
 * control packets on, re-arm emptied slots (as many as the load calls for,
 * uring.h). Reads that wait for room wait in the kernel: link_rx sleeps on
 * its doorbell until every decrypt ring is half free (a worker rings it
 * when its dequeue crosses the half mark), and the socket buffer holds what
 * arrives meanwhile.
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
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../crypto/worker.h"
#include "link.h"
#include "loop.h"

/* Every receive slot, the doorbell and shutdown cancels fit one submit. */
#define LINK_RX_SQ	128
/* Packets one turn may hold: two GRO reads' worth, or BURST_MAX single datagrams. */
#define LINK_RX_BURST	(2 * LINK_RX_SEGS_MAX)

_Static_assert(LINK_RX_SQ >= URING_RX_SLOTS + 2, "a full refill fits in one submit");
_Static_assert(LINK_RX_BURST >= BURST_MAX, "a turn holds a burst of single datagrams");

/* Multishot: buffers in the provided-buffer ring (a power of two), and its group id. */
#define LINK_RX_BUFS	64
#define LINK_RX_BGID	0
/* Multishot: failed arms in a row before the next one waits URING_BACKOFF_MS. */
#define LINK_RX_MS_ERRORS	16

struct link_rx_state {
	struct loop lo;			/* first: the skeleton's part */
	struct link_rx_thread *t;
	struct link *link;
	const struct link_ops *ops;
	struct pkt *burst[LINK_RX_BURST];	/* packets received this turn */
	struct pkt *ctrl[LINK_RX_BURST];	/* the control packets among them */
	unsigned int nburst;
	unsigned int cap;		/* this turn's burst may fill up to here (stream: ring room) */
	unsigned int segs;		/* link->rx_segs_max: packets one read may yield */
	unsigned int cursor;		/* next worker ring; moves on success only */
	unsigned int nout;
	/*
	 * Multishot receive (link.h), when the link has it and the kernel took
	 * the buffer ring: one request (counted as read slot 0 armed, so the
	 * skeleton's drain cancels and waits for it), buffers by id.
	 */
	bool ms;
	bool ms_armed;
	unsigned int ms_errors;		/* failed arms or CQEs in a row */
	int64_t ms_retry_ns;		/* after LINK_RX_MS_ERRORS: no arm before this */
	struct io_uring_buf_ring *br;
	struct pkt *buf[LINK_RX_BUFS];	/* NULL: handed on, waits for a pool packet */
	uint16_t missing[LINK_RX_BUFS];
	unsigned int nmissing;
	unsigned int nadd;		/* buffers added since the last ring advance */
	uint32_t head;			/* bytes before p->data where a buffer starts */
};

/* ---- multishot: one request, a ring of buffers ---------------------------- */

static void link_rx_buf_add(struct link_rx_state *s, uint16_t bid, struct pkt *p)
{
	io_uring_buf_ring_add(s->br, p->data - s->head, s->head + pkt_data_room(p), bid,
			      io_uring_buf_ring_mask(LINK_RX_BUFS), (int)s->nadd++);
}

/* Gives the kernel what was added this turn: one release store. */
static void link_rx_buf_commit(struct link_rx_state *s)
{
	if (s->nadd)
		io_uring_buf_ring_advance(s->br, (int)s->nadd);
	s->nadd = 0;
}

static void link_rx_cqe_ms(struct link_rx_state *s, int res, uint32_t flags)
{
	struct stats *st = &s->t->lp.thr.stats;
	unsigned int bid;
	struct pkt *p;
	bool keep = true;

	if (!(flags & IORING_CQE_F_MORE)) {
		s->ms_armed = false;
		s->lo.rs.narmed = 0;
	}
	if (!(flags & IORING_CQE_F_BUFFER)) {
		/* -ENOBUFS: the ring ran dry; it is re-armed once buffers are back. */
		if (res < 0 && res != -ENOBUFS && !s->lo.stopping) {
			STAT_DROP(st, DROP_IO);
			s->ms_errors++;
		}
		return;
	}
	bid = flags >> IORING_CQE_BUFFER_SHIFT;
	p = bid < LINK_RX_BUFS ? s->buf[bid] : NULL;
	if (unlikely(!p))
		return;
	if (unlikely(s->lo.stopping)) {
		STAT_INC(st->rx_pkts);
		STAT_DROP(st, DROP_SHUTDOWN);
		return;		/* freed with the ring's buffers */
	}
	s->ms_errors = 0;
	s->nburst += s->ops->rx_ms_complete(s->link, p, p->data - s->head, res,
					    &s->burst[s->nburst], LINK_RX_BURST - s->nburst, &keep,
					    st);
	if (keep) {
		link_rx_buf_add(s, (uint16_t)bid, p);
	} else {
		s->buf[bid] = NULL;
		s->missing[s->nmissing++] = (uint16_t)bid;
	}
}

/* Puts pool packets where buffers were handed on, then (re)arms the receive if it ended. */
static void link_rx_ms_refill(struct link_rx_state *s)
{
	struct stats *st = &s->t->lp.thr.stats;

	if (s->nmissing) {
		struct pkt *fresh[LINK_RX_BUFS];
		unsigned int got = pool_get_burst(s->t->pool, fresh, s->nmissing);

		if (unlikely(got < s->nmissing))
			STAT_DROP(st, DROP_POOL_EMPTY);
		for (unsigned int i = 0; i < got; i++) {
			uint16_t bid = s->missing[--s->nmissing];

			s->buf[bid] = fresh[i];
			link_rx_buf_add(s, bid, fresh[i]);
		}
	}
	link_rx_buf_commit(s);
	/* The idle wait comes back soon while buffers are short or arming backs off. */
	s->lo.rs.starved = s->nmissing != 0;
	if (s->ms_armed || s->nmissing == LINK_RX_BUFS)
		return;
	if (unlikely(s->ms_errors >= LINK_RX_MS_ERRORS)) {
		int64_t now = clock_mono_ns();

		if (!s->ms_retry_ns) {
			s->ms_retry_ns = now + URING_BACKOFF_MS * NSEC_PER_MSEC;
		} else if (now >= s->ms_retry_ns) {
			s->ms_retry_ns = 0;
			s->ms_errors = 0;
		}
		s->lo.rs.starved = true;
		if (s->ms_retry_ns)
			return;
	}
	if (s->ops->rx_ms_arm(s->link, &s->lo.u, LINK_RX_BGID, uring_ud(URING_OP_RECV, 0))) {
		s->ms_armed = true;
		s->lo.rs.narmed = 1;
	}
}

/* Registers the buffer ring and fills it; an error leaves the link on read slots. */
static int link_rx_ms_init(struct link_rx_state *s)
{
	struct io_uring_buf_reg reg = { .ring_entries = LINK_RX_BUFS, .bgid = LINK_RX_BGID };
	unsigned int got;
	int rc;

	if (posix_memalign((void **)&s->br, 4096, LINK_RX_BUFS * sizeof(struct io_uring_buf)))
		return -ENOMEM;
	memset(s->br, 0, LINK_RX_BUFS * sizeof(struct io_uring_buf));
	io_uring_buf_ring_init(s->br);
	reg.ring_addr = (unsigned long)s->br;
	rc = io_uring_register_buf_ring(&s->lo.u.ring, &reg, 0);
	if (rc) {
		free(s->br);
		s->br = NULL;
		return rc;
	}
	s->head = MIN(s->link->rx_ms_head, (uint32_t)PKT_HEADROOM);
	got = pool_get_burst(s->t->pool, s->buf, LINK_RX_BUFS);
	for (uint16_t bid = 0; bid < LINK_RX_BUFS; bid++) {
		if (bid < got)
			link_rx_buf_add(s, bid, s->buf[bid]);
		else
			s->missing[s->nmissing++] = bid;
	}
	link_rx_buf_commit(s);
	return 0;
}

/* After the drain: the kernel no longer touches the buffers. */
static void link_rx_fini(struct loop *lo)
{
	struct link_rx_state *s = (struct link_rx_state *)lo;

	if (!s->ms)
		return;
	(void)io_uring_unregister_buf_ring(&lo->u.ring, LINK_RX_BGID);
	for (unsigned int i = 0; i < LINK_RX_BUFS; i++)
		if (s->buf[i])
			pkt_free(s->buf[i]);
	free(s->br);
}

/* ---- read slots: one recvmsg per slot ------------------------------------- */

static void link_rx_cqe(void *arg, enum uring_op op, uint32_t idx, int res,
			uint32_t flags)
{
	struct link_rx_state *s = arg;
	bool keep = true;

	if (unlikely(op != URING_OP_RECV || idx >= URING_RX_SLOTS))
		return;
	if (s->ms) {
		link_rx_cqe_ms(s, res, flags);
		return;
	}
	if (loop_rx_cqe_exit(&s->lo, idx, res))
		return;
	s->nburst += s->ops->rx_complete(s->link, idx, s->lo.rs.pkt[idx], res,
					 &s->burst[s->nburst], s->cap - s->nburst, &keep,
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
	if (t->crypt)
		crypt_inline_burst(t->crypt, s->burst, ndata);
	uring_pkt_deal(t->out, s->nout, &s->cursor, s->burst, ndata, st);
	if (nctrl)
		link_rx_to_ctrl(s, ctrl, nctrl);
}

/* Reads the decrypt rings have room for now, @s->segs packets each, at most @max. */
static unsigned int link_rx_room(const struct link_rx_state *s, unsigned int max)
{
	return MIN(max, loop_room_pkts(s->t->out, s->nout) / s->segs);
}

/* While reads wait for room: every decrypt ring half free again. */
static bool link_rx_ready(const struct loop *lo)
{
	const struct link_rx_state *s = (const struct link_rx_state *)lo;

	return loop_rings_half_free(s->t->out, s->nout);
}

static unsigned int link_rx_turn(struct loop *lo)
{
	struct link_rx_state *s = (struct link_rx_state *)lo;
	unsigned int pending = 0, reaped = 0, reads;

	s->nburst = 0;
	s->cap = LINK_RX_BURST;
	if (s->ops->rx_pending) {
		/*
		 * A stream: frames left over first, then one read's frames, both
		 * only as many as the decrypt rings take now (the rest waits in
		 * the link's buffer, and behind it in the socket).
		 */
		unsigned int room = link_rx_room(s, BURST_MAX);

		s->nburst = pending = s->ops->rx_pending(s->link, s->burst, room,
							 &s->t->lp.thr.stats);
		s->cap = s->nburst + room - pending;
	}
	/*
	 * As many reads as the burst has room for their packets (one each
	 * without GRO), and the decrypt rings too: when they are full the
	 * datagrams wait in the socket rather than be dropped here.
	 */
	reads = link_rx_room(s, MIN(BURST_MAX, (LINK_RX_BURST - s->nburst) / s->segs));
	if (s->cap == s->nburst)
		reads = 0;
	if (reads)
		reaped = loop_rx_reap(lo, reads, link_rx_cqe);
	link_rx_burst(s);
	if (s->ms)
		link_rx_ms_refill(s);
	else
		loop_rx_refill(lo, s->t->pool, link_rx_arm);
	if (!reads && !pending && (io_uring_cq_ready(&lo->u.ring) || s->cap == s->nburst)) {
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
	/* Multishot where the link and the kernel have it; read slots otherwise. */
	s->ms = s->ops->rx_ms_arm && s->ops->rx_ms_complete && link_rx_ms_init(s) == 0;
	if (s->ms)
		link_rx_ms_refill(s);
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
	.fini = link_rx_fini,
};

void *link_rx_thread_main(void *arg)
{
	struct link_rx_thread *t = arg;

	return loop_run(&t->lp, t->link->fd, &link_rx_kind, sizeof(struct link_rx_state));
}
