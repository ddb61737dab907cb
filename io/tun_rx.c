/*
 * tun_rx.c - the tun_rx loop: reads IP packets from one TUN queue, lets the
 * tun_rx op (io/send.c) pick peer, key and packet-id, and deals the packets
 * round robin to the encrypt workers' rings; with inline crypto (workers 0,
 * io/pipeline.h) it seals them itself with its crypt worker's contexts and
 * deals them straight to link_tx's ring. Also takes ctrl's in-band
 * packets (keepalive pings) from the inject ring, and a server's
 * client-to-client packets from tun_tx's fwd ring, through the same op.
 * In a server of several lanes (io.h) the op marks packets whose peer is
 * another lane's (PKT_F_LANE): they go to that lane's tun_rx through
 * lane_out[] instead of to the workers, and this loop takes the other
 * lanes' hand-overs from lane_in[] like any input ring (counted in
 * lane_pkts; a full ring: DROP_RING_FULL).
 *
 * Thread: tun_rx, one per TUN queue, started by the pipeline; its body is
 * loop_run (loop.c). Owns its io_uring, its read slots (uring.h) and every
 * packet in them; its pools' home.
 *
 * Two kinds, picked once by how the queue was opened (io/tun.c):
 *   plain    each read is one IP packet, read straight into a packet of the
 *            pool, which is passed on as it is.
 *   offload  (TUN_OFF_VNET) each read starts with a virtio-net header and
 *            may be a TCP or UDP super-packet of up to 64 KiB, or a packet
 *            whose checksum the kernel left to us. Reads go to 64 KiB
 *            buffers that stay in their slots; core/gso.c cuts each read
 *            into wire-size packets of the pool (lengths, ids, sequence
 *            numbers, checksums fixed), which then go on exactly as plain
 *            ones, each to be sealed with its own packet-id. A completed
 *            read waits in its slot (struct tun_rx_pend, in order) until
 *            the worker rings have room for its packets; a read may be cut
 *            over several turns. While reads wait, tun_rx sleeps on its
 *            doorbell until every ring is half free: a worker rings it when
 *            its dequeue crosses the half mark (crypto/worker.c), so a
 *            full pipeline costs one wake-up per half ring, and the
 *            kernel's queue holds the rest instead of our rings dropping it.
 *
 * Fixed buffers (lp.fixed_bufs, uring.h): with t->fixed_bufs the pool the
 * reads go to (pool, or gso_pool with offloads) is registered with the ring
 * at start, and each read is an IORING_OP_READ_FIXED into it, so the kernel
 * copies into pages pinned once rather than through the user mapping per
 * read. If the kernel refuses the registration, the reads stay plain.
 *
 * One turn: reap up to BURST_MAX reads, drain up to BURST_MAX packets from
 * each input ring, classify each burst (offload: each chunk of
 * TUN_RX_CHUNK packets) inside one epoch section, free what the op refused,
 * deal the rest, re-arm emptied slots (as many as the load calls for,
 * uring.h). Idle: sleep on the doorbell (inject, fwd, lanes, stop) and the reads
 * together.
 *
 * Counters (lp.thr.stats): rx_* every packet read (offload: every packet a
 * read made) or taken from a ring; tx_* every packet dealt; super_pkts and
 * super_segs the super-packets read and the packets they made;
 * drop[verdict] for the op's verdicts; DROP_RING_FULL (worker ring full);
 * DROP_OVERSIZE (a read that filled the whole buffer may have been cut, or
 * makes packets larger than a pool packet); DROP_BAD_OFFLOAD (a virtio-net
 * header we cannot honour); DROP_IO (read errors); DROP_POOL_EMPTY (plain:
 * once per refill that found the pool short; offload: per packet a read
 * could not get a buffer for); DROP_SHUTDOWN (read while stopping).
 */
#include <stdlib.h>

#include "../core/gso.h"
#include "../crypto/worker.h"
#include "loop.h"

/* Every read slot, the doorbell and shutdown cancels fit one submit. */
#define TUN_RX_SQ	128
/* Offload: packets classified and dealt at once; one 64 KiB read of 1400-byte segments is 47. */
#define TUN_RX_CHUNK	(2 * BURST_MAX)

_Static_assert(TUN_RX_SQ >= URING_RX_SLOTS + 2, "a full refill fits in one submit");

/* Offload: a completed read whose packets are not all cut and dealt yet; it keeps its slot. */
struct tun_rx_pend {
	uint32_t idx;			/* its slot: the data is in lo.rs.pkt[idx] */
	uint32_t len;			/* bytes after the virtio-net header */
	uint32_t next;			/* the next packet to cut */
	struct gso_info gi;		/* gi.nseg 0: not parsed yet */
};

struct tun_rx_state {
	struct loop lo;			/* first: the skeleton's part */
	struct tun_rx_thread *t;
	struct pkt *burst[TUN_RX_CHUNK];	/* reads completed (plain) or packets cut (offload) */
	struct pkt *inj[BURST_MAX];
	unsigned int nburst;
	unsigned int cursor;		/* next worker ring; moves on success only */
	unsigned int nout;
	/* Offload: completed reads in the order they came, as a ring of slots. */
	struct tun_rx_pend pend[URING_RX_SLOTS];
	unsigned int pend_head;
	unsigned int npend;
};

/*
 * A packet for a peer of another lane (the op set PKT_F_LANE): to that
 * lane's tun_rx, which classifies it again and deals it to its own workers.
 * Marked so it is handed over once only.
 */
static void tun_rx_hand_over(struct tun_rx_thread *t, struct pkt *p, struct stats *st)
{
	unsigned int lane = io_lane_of(p->peer_id, t->nlanes);
	struct spsc *r = lane < IO_LANES_MAX ? t->lane_out[lane] : NULL;

	p->flags = (uint8_t)((p->flags & ~PKT_F_LANE) | PKT_F_LANED);
	if (unlikely(!r || spsc_enqueue_burst(r, &p, 1) != 1)) {
		uring_pkt_drop(p, r ? DROP_RING_FULL : DROP_NO_ROUTE, st);
		return;
	}
	STAT_INC(st->lane_pkts);
}

/*
 * Classifies, frees what the op refused, hands other lanes' packets over,
 * deals the rest. Consumes @p[0..n).
 */
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
		if (unlikely(p[i]->verdict != PKT_OK))
			uring_pkt_drop(p[i], p[i]->verdict, st);
		else if (unlikely(p[i]->flags & PKT_F_LANE))
			tun_rx_hand_over(t, p[i], st);
		else
			p[ok++] = p[i];
	}
	if (t->crypt)
		crypt_inline_burst(t->crypt, p, ok);
	uring_pkt_deal(t->out, s->nout, &s->cursor, p, ok, st);
}

/* ---- plain: one packet per read, read in place --------------------------- */

static void tun_rx_cqe(void *arg, enum uring_op op, uint32_t idx, int res,
			uint32_t flags)
{
	struct tun_rx_state *s = arg;
	struct stats *st = &s->t->lp.thr.stats;
	struct pkt *p;

	(void)flags;
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
	uring_prep_read_pkt(&s->lo.u, sqe, p, p->data, pkt_data_room(p));
	uring_sqe_file(&s->lo.u, sqe, URING_FILE_IO);
	loop_sqe_commit(&s->lo, sqe, idx);
	return true;
}

/* ---- offload: a virtio-net header, then up to 64 KiB to cut --------------- */

static void tun_rx_flush(struct tun_rx_state *s)
{
	tun_rx_burst(s, s->burst, s->nburst);
	s->nburst = 0;
}

/* Counts @n packets of a read as read and dropped for @why. */
static void tun_rx_lost(struct stats *st, uint32_t n, uint8_t why)
{
	STAT_ADD(st->rx_pkts, n);
	STAT_ADD(st->drop[why], n);
}

/* Parses a pending read. Returns false if it makes nothing (counted as dropped). */
static bool tun_rx_parse(struct tun_rx_state *s, struct tun_rx_pend *e, const struct pkt *p)
{
	struct stats *st = &s->t->lp.thr.stats;
	struct vnet_hdr vh;
	uint8_t v;

	vnet_hdr_load(&vh, p->data - VNET_HDR_LEN);
	v = gso_parse(&vh, p->data, e->len, &e->gi);
	if (unlikely(v != PKT_OK)) {
		tun_rx_lost(st, 1, v);
		return false;
	}
	/* The first packet is the largest one. */
	if (unlikely(gso_seg_len(&e->gi, e->len, 0) > PKT_MTU_DATA)) {
		tun_rx_lost(st, e->gi.nseg, DROP_OVERSIZE);
		return false;
	}
	if (e->gi.nseg > 1) {
		STAT_INC(st->super_pkts);
		STAT_ADD(st->super_segs, e->gi.nseg);
	}
	return true;
}

/*
 * Cuts up to @n more packets of pending read @e into the burst (flushed in
 * chunks). Returns false if the pool ran short: the rest of the read is
 * counted as dropped.
 */
static bool tun_rx_cut(struct tun_rx_state *s, struct tun_rx_pend *e, const struct pkt *p,
		       uint32_t n)
{
	struct stats *st = &s->t->lp.thr.stats;
	uint32_t end = e->next + n;

	while (e->next < end) {
		unsigned int want, got;

		if (s->nburst == TUN_RX_CHUNK)
			tun_rx_flush(s);
		want = MIN(end - e->next, TUN_RX_CHUNK - s->nburst);
		got = pool_get_burst(s->t->pool, &s->burst[s->nburst], want);
		for (unsigned int k = 0; k < got; k++, e->next++) {
			struct pkt *q = s->burst[s->nburst++];

			q->len = gso_segment(p->data, e->len, &e->gi, e->next, q->data);
			STAT_INC(st->rx_pkts);
			STAT_ADD(st->rx_bytes, q->len);
		}
		if (unlikely(got < want)) {
			tun_rx_lost(st, e->gi.nseg - e->next, DROP_POOL_EMPTY);
			return false;
		}
	}
	return true;
}

/*
 * Works through the pending reads in order, cutting as many packets as the
 * worker rings take now (a read may be cut over several turns). Returns true
 * if reads are left waiting for room.
 */
static bool tun_rx_drain(struct tun_rx_state *s)
{
	uint32_t room = loop_room_pkts(s->t->out, s->nout);

	while (s->npend) {
		struct tun_rx_pend *e = &s->pend[s->pend_head];
		struct pkt *p = s->lo.rs.pkt[e->idx];
		uint32_t n;
		bool whole = true;

		if (!e->gi.nseg && !tun_rx_parse(s, e, p))
			goto done;
		n = MIN(e->gi.nseg - e->next, room);
		if (!n)
			break;
		room -= n;
		whole = tun_rx_cut(s, e, p, n);
		if (whole && e->next < e->gi.nseg)
			break;		/* the rings are full: the rest waits */
done:
		/* The buffer stays with the slot: everything was copied out of it. */
		uring_rx_slot_release(&s->lo.rs, e->idx);
		s->pend_head = (s->pend_head + 1) % URING_RX_SLOTS;
		s->npend--;
	}
	tun_rx_flush(s);
	return s->npend != 0;
}

static void tun_rx_cqe_vnet(void *arg, enum uring_op op, uint32_t idx, int res,
			uint32_t flags)
{
	struct tun_rx_state *s = arg;
	struct stats *st = &s->t->lp.thr.stats;
	struct tun_rx_pend *e;
	struct pkt *p;

	(void)flags;
	if (unlikely(op != URING_OP_READ || idx >= URING_RX_SLOTS))
		return;
	if (loop_rx_cqe_exit(&s->lo, idx, res))
		return;
	p = s->lo.rs.pkt[idx];
	if (unlikely(res <= VNET_HDR_LEN || (uint32_t)res >= VNET_HDR_LEN + pkt_data_room(p))) {
		if (res > 0)
			tun_rx_lost(st, 1, res <= VNET_HDR_LEN ? DROP_SHORT : DROP_OVERSIZE);
		else
			STAT_DROP(st, DROP_IO);
		uring_rx_slot_done(&s->lo.rs, idx, true);
		return;
	}
	/* Kept in its slot until its packets are cut and dealt (tun_rx_drain). */
	e = &s->pend[(s->pend_head + s->npend++) % URING_RX_SLOTS];
	e->idx = idx;
	e->len = (uint32_t)res - VNET_HDR_LEN;
	e->next = 0;
	e->gi.nseg = 0;
	uring_rx_slot_hold(&s->lo.rs);
}

static bool tun_rx_arm_vnet(void *arg, uint32_t idx, struct pkt *p)
{
	struct tun_rx_state *s = arg;
	struct io_uring_sqe *sqe = uring_sqe(&s->lo.u);

	if (unlikely(!sqe))
		return false;
	/* The header lands in the headroom, so the IP header is where a pool packet's is. */
	uring_prep_read_pkt(&s->lo.u, sqe, p, p->data - VNET_HDR_LEN,
			    VNET_HDR_LEN + pkt_data_room(p));
	uring_sqe_file(&s->lo.u, sqe, URING_FILE_IO);
	loop_sqe_commit(&s->lo, sqe, idx);
	return true;
}

static bool tun_rx_has_input(const struct loop *lo);

/* While reads wait for room: every ring half free again, or another input. */
static bool tun_rx_ready(const struct loop *lo)
{
	const struct tun_rx_state *s = (const struct tun_rx_state *)lo;

	return loop_rings_half_free(s->t->out, s->nout) || tun_rx_has_input(lo);
}

/* ---- the turn, shared ------------------------------------------------------ */

/*
 * One burst from a ring that feeds tun_rx besides the TUN (ctrl's inject,
 * tun_tx's fwd, another lane's hand-over). A hand-over is not counted in
 * rx_*: the lane that read it did, so the sums over the lanes stay right.
 */
static unsigned int tun_rx_ring_in(struct tun_rx_state *s, struct spsc *r, bool count)
{
	struct stats *st = &s->t->lp.thr.stats;
	unsigned int i, n;

	if (!r)
		return 0;
	n = spsc_dequeue_burst(r, s->inj, BURST_MAX);
	for (i = 0; i < n; i++) {
		PKT_OWN(s->inj[i]);	/* DEBUG: ours from here */
		if (!count)
			continue;
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, s->inj[i]->len);
	}
	tun_rx_burst(s, s->inj, n);
	return n;
}

/* Every ring besides the TUN: ctrl's inject, tun_tx's fwd, the other lanes' hand-overs. */
static unsigned int tun_rx_rings_in(struct tun_rx_state *s)
{
	const struct tun_rx_thread *t = s->t;
	unsigned int n = tun_rx_ring_in(s, t->inject, true) + tun_rx_ring_in(s, t->fwd, true);

	for (unsigned int i = 0; i < t->nlane_in && i < IO_LANES_MAX; i++)
		n += tun_rx_ring_in(s, t->lane_in[i], false);
	return n;
}

static unsigned int tun_rx_turn(struct loop *lo)
{
	struct tun_rx_state *s = (struct tun_rx_state *)lo;
	unsigned int reaped, injected;

	s->nburst = 0;
	reaped = loop_rx_reap(lo, BURST_MAX, tun_rx_cqe);
	tun_rx_burst(s, s->burst, s->nburst);
	injected = tun_rx_rings_in(s);
	loop_rx_refill(lo, s->t->pool, tun_rx_arm);
	return reaped + injected;
}

static unsigned int tun_rx_turn_vnet(struct loop *lo)
{
	struct tun_rx_state *s = (struct tun_rx_state *)lo;
	unsigned int reaped, injected;
	bool waiting;

	s->nburst = 0;
	/* Reads wait in their slots, so reaping more than there is room for loses nothing. */
	reaped = loop_rx_reap(lo, BURST_MAX, tun_rx_cqe_vnet);
	waiting = tun_rx_drain(s);
	injected = tun_rx_rings_in(s);
	loop_rx_refill(lo, s->t->gso_pool, tun_rx_arm_vnet);
	if (waiting) {
		loop_wait_room(lo, tun_rx_ready);
		return 1;	/* go round again: the waiting reads come first */
	}
	return reaped + injected;
}

static bool tun_rx_has_input(const struct loop *lo)
{
	const struct tun_rx_thread *t = ((const struct tun_rx_state *)lo)->t;

	if ((t->inject && spsc_count(t->inject)) || (t->fwd && spsc_count(t->fwd)))
		return true;
	for (unsigned int i = 0; i < t->nlane_in && i < IO_LANES_MAX; i++)
		if (spsc_count(t->lane_in[i]))
			return true;
	return false;
}

static int tun_rx_init(struct loop *lo)
{
	struct tun_rx_state *s = (struct tun_rx_state *)lo;

	s->t = (struct tun_rx_thread *)lo->lp;
	s->nout = MIN(s->t->nout, IO_WORKERS_MAX);
	if ((s->t->offload & TUN_OFF_VNET) && !s->t->gso_pool)
		return -EINVAL;
	if (s->t->fixed_bufs) {
		/* Only the reads' own pool: cut packets, inject and fwd ones are never read into. */
		struct pool *rd = s->t->offload & TUN_OFF_VNET ? s->t->gso_pool : s->t->pool;

		/* Relaxed: ctrl reads it for its report only, after the thread started. */
		__atomic_store_n(&lo->lp->fixed_bufs, uring_register_pools(&lo->u, &rd, 1),
				 __ATOMIC_RELAXED);
	}
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

static const struct loop_kind tun_rx_kind_vnet = {
	.op = URING_OP_READ,
	.is_rx = true,
	.sq_entries = TUN_RX_SQ,
	.init = tun_rx_init,
	.turn = tun_rx_turn_vnet,
	.has_input = tun_rx_has_input,
	.cqe = tun_rx_cqe_vnet,
};

void *tun_rx_thread_main(void *arg)
{
	struct tun_rx_thread *t = arg;
	const struct loop_kind *k = t->offload & TUN_OFF_VNET ? &tun_rx_kind_vnet : &tun_rx_kind;

	return loop_run(&t->lp, t->fd, k, sizeof(struct tun_rx_state));
}
