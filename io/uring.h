/*
 * uring.h - io_uring plumbing and burst helpers shared by the four I/O loops.
 *
 * Every function here runs on the loop's own thread: that thread creates the
 * ring and is its only submitter (IORING_SETUP_SINGLE_ISSUER). Nothing here is
 * part of ctrl's API (io.h, pipeline.h); ctrl never includes it. The loop
 * skeleton built on it is loop.h.
 *
 * user_data layout (STYLE.md §5, proxy.h __encode_userdata): the op in bits
 * 56..63, the slot index in bits 0..31. Never a pointer: a slot index stays
 * valid however late its CQE arrives.
 */
#ifndef SLUICE_IO_URING_H
#define SLUICE_IO_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/pkt.h"
#include "../core/ring.h"
#include "../core/stats.h"

/*
 * Idle wait bound. A safety net: doorbells and CQEs wake us first. Kept at
 * 100 ms: with 1 s, an exact-accounting netns test once saw a datagram sit
 * unread past its 0.5 s quiesce, so some wake-up still relies on this net
 * (to find before raising it).
 */
#define URING_WAIT_MS		100
/* Pool empty: retry the refill this soon (returns do not ring a doorbell). */
#define URING_STARVED_MS	1
/* A read failed: re-arm its slot after this long at most (no hot error loop). */
#define URING_BACKOFF_MS	10
/* Shutdown: wait this many URING_WAIT_MS rounds for cancelled SQEs. */
#define URING_DRAIN_ROUNDS	50

enum uring_op {
	URING_OP_NONE = 0,
	URING_OP_DOORBELL,	/* eventfd read on the loop's doorbell */
	URING_OP_CANCEL,	/* shutdown cancel requests */
	URING_OP_READ,		/* tun_rx */
	URING_OP_WRITE,		/* tun_tx */
	URING_OP_SEND,		/* link_tx */
	URING_OP_RECV,		/* link_rx */
};

#define URING_UD_OP_SHIFT	56

static inline uint64_t uring_ud(enum uring_op op, uint32_t slot)
{
	return ((uint64_t)op << URING_UD_OP_SHIFT) | slot;
}

static inline enum uring_op uring_ud_op(uint64_t ud)
{
	return (enum uring_op)(ud >> URING_UD_OP_SHIFT);
}

static inline uint32_t uring_ud_slot(uint64_t ud)
{
	return (uint32_t)ud;
}

/* Fixed-file indexes: the loop's socket or TUN fd, then its doorbell. */
enum uring_file {
	URING_FILE_IO = 0,
	URING_FILE_DB = 1,
};

/*
 * Fixed buffers: the packet memory of a few pools registered with the ring
 * (io_uring_register_buffers), one iovec per pool, a pool being one slab
 * (core/pool.c). The TUN driver copies each packet; with a registered
 * buffer the kernel copies into or out of pages it pinned once, at
 * registration (a bvec iterator), instead of through the user mapping of
 * each request (import and access checks, user-access copies that may
 * fault). That is all it saves for a copying driver: the per-request page
 * pinning it avoids is O_DIRECT's, not the TUN's. A pool's buffer index is
 * found through pkt->pool_id; the range check also covers a pool id reused
 * by a pool created after registration. A packet outside every registered
 * slab takes the plain op.
 */
#define URING_BUFS_MAX	4
/* The kernel's bound on one registered buffer (io_uring rsrc: SZ_1G). */
#define URING_BUF_LEN_MAX	(1ul << 30)

struct uring {
	struct io_uring ring;
	unsigned int setup_flags;	/* IORING_SETUP_* the kernel took */
	int fds[2];			/* raw fds, by enum uring_file */
	bool fixed;			/* fds registered: SQEs name them by index */
	bool db_armed;			/* the doorbell read is in flight */
	uint64_t db_val;		/* the doorbell read's target; outlives its SQE */
	unsigned int nbufs;		/* pools registered as fixed buffers */
	uintptr_t buf_lo[URING_BUFS_MAX];	/* each fixed buffer's first byte */
	uintptr_t buf_hi[URING_BUFS_MAX];	/* ... and the byte after its last */
	uint8_t buf_of_pool[POOL_MAX];	/* pool id -> fixed buffer index + 1; 0: none */
};

/*
 * Creates the ring on the calling thread with @sq_entries SQEs and 8x as
 * many CQEs, trying SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN, then no
 * flags, and registers @io_fd and @db_fd. Returns 0 or -errno.
 */
int uring_open(struct uring *u, unsigned int sq_entries, int io_fd, int db_fd) __must_check;
void uring_close(struct uring *u);
/*
 * Registers the packet memory of @pools[0..n) (NULLs and repeats skipped, at
 * most URING_BUFS_MAX) as the ring's fixed buffers, once, before any I/O.
 * Returns how many pools were registered, or -errno from the kernel (old
 * kernel, RLIMIT_MEMLOCK, ENOMEM): then none is, and every op stays plain.
 */
int uring_register_pools(struct uring *u, struct pool *const *pools, unsigned int n);
/* Returns a fresh SQE, submitting first if the SQ is full; NULL only if that fails. */
struct io_uring_sqe *uring_sqe(struct uring *u);
/* Points @sqe at file @which (fixed index or raw fd, as registered). */
void uring_sqe_file(struct uring *u, struct io_uring_sqe *sqe, enum uring_file which);

/* The fixed buffer holding @len bytes at @buf of packet @p, or -1: none does. */
static inline int uring_pkt_buf(const struct uring *u, const struct pkt *p, const void *buf,
				uint32_t len)
{
	unsigned int b = u->buf_of_pool[p->pool_id];
	uintptr_t a = (uintptr_t)buf;

	if (likely(b) && likely(a >= u->buf_lo[b - 1] && a + len <= u->buf_hi[b - 1]))
		return (int)b - 1;
	return -1;
}

/* Preps a read of up to @len bytes into @buf, inside packet @p: fixed if it can be. */
static inline void uring_prep_read_pkt(struct uring *u, struct io_uring_sqe *sqe,
				       const struct pkt *p, void *buf, uint32_t len)
{
	int b = uring_pkt_buf(u, p, buf, len);

	if (likely(b >= 0))
		io_uring_prep_read_fixed(sqe, -1, buf, len, 0, b);
	else
		io_uring_prep_read(sqe, -1, buf, len, 0);
}

/* Preps a write of @len bytes at @buf, inside packet @p: fixed if it can be. */
static inline void uring_prep_write_pkt(struct uring *u, struct io_uring_sqe *sqe,
					const struct pkt *p, const void *buf, uint32_t len)
{
	int b = uring_pkt_buf(u, p, buf, len);

	if (likely(b >= 0))
		io_uring_prep_write_fixed(sqe, -1, buf, len, 0, b);
	else
		io_uring_prep_write(sqe, -1, buf, len, 0);
}
/* Keeps one eventfd read on the doorbell in flight (no-op if it is). */
void uring_doorbell_arm(struct uring *u);
/* Queues a cancel of the request tagged @ud. */
void uring_cancel(struct uring *u, uint64_t ud);
/* Busy path: submits and runs completions, never blocks. */
void uring_submit(struct uring *u);
/* Idle path: submits, then blocks until a CQE arrives or @timeout_ms passes. */
void uring_wait(struct uring *u, int timeout_ms);

/*
 * Reaps up to @max CQEs in one pass and advances the CQ once. The doorbell's
 * and cancels' CQEs are handled here; the loop's own go to @fn (with the
 * CQE's flags: a multishot request's buffer id and IORING_CQE_F_MORE),
 * which the compiler inlines at each call site. Returns how many went to
 * @fn.
 */
static inline unsigned int uring_reap(struct uring *u, unsigned int max,
				      void (*fn)(void *arg, enum uring_op op, uint32_t slot,
						 int res, uint32_t flags),
				      void *arg)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, work = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uint64_t ud = cqe->user_data;
		enum uring_op op = uring_ud_op(ud);

		if (likely(op >= URING_OP_READ && op <= URING_OP_RECV)) {
			fn(arg, op, uring_ud_slot(ud), cqe->res, cqe->flags);
			work++;
		} else if (op == URING_OP_DOORBELL) {
			u->db_armed = false;
		}
		/* Cancels, and liburing's own timeout CQEs on old kernels: nothing to do. */
		if (++seen == max)
			break;
	}
	io_uring_cq_advance(&u->ring, seen);
	return work;
}

/*
 * Receive slots (tun_rx, link_rx): up to URING_RX_SLOTS reads in flight, each
 * into a packet of the loop's pool. A slot not in flight is ready (armed at
 * the next refill; it may still need a packet) or parked (its read failed;
 * re-armed URING_BACKOFF_MS later, so a dead fd cannot spin the thread while
 * the other slots keep receiving).
 *
 * How many are armed follows the load. Every armed read on an fd is woken by
 * every arriving packet (io_uring's poll is not exclusive for reads) and all
 * but one fail and re-arm: with 64 always armed, the UDP receive loop spent
 * 28 us of CPU per datagram at 10 kpps, against 2.6 us with one (kernel
 * 6.18). So a turn arms about twice what the last turn consumed, between
 * URING_RX_MIN and URING_RX_SLOTS (5.7 us per datagram at 10 kpps): a burst
 * doubles it each turn, and when traffic falls off the armed reads are not
 * re-armed.
 *
 * -EAGAIN is not an error here. ctrl opens the fds O_NONBLOCK, and a read
 * that io_uring ends up retrying from its worker pool then comes back with
 * -EAGAIN (seen on 6.18 with 64 receives armed on one busy socket). The slot
 * is simply re-armed.
 */
#define URING_RX_SLOTS	64	/* two bursts in flight while the loop works on a third */
#define URING_RX_MIN	4	/* armed when idle: few reads to wake per packet */

struct uring_rx_slots {
	struct pkt *pkt[URING_RX_SLOTS];	/* NULL: waits for a pool packet */
	uint32_t ready[URING_RX_SLOTS];
	uint32_t parked[URING_RX_SLOTS];
	unsigned int nready;
	unsigned int nparked;
	unsigned int narmed;
	unsigned int want;		/* reads to keep armed, URING_RX_MIN..URING_RX_SLOTS */
	int64_t unpark_ns;		/* CLOCK_MONOTONIC */
	bool starved;			/* the last refill found the pool short */
};

void uring_rx_slots_init(struct uring_rx_slots *rs);
/* A slot's CQE came back: ready again, with its packet if @keep, else empty. */
static inline void uring_rx_slot_done(struct uring_rx_slots *rs, uint32_t idx, bool keep)
{
	if (!keep)
		rs->pkt[idx] = NULL;
	rs->narmed--;
	rs->ready[rs->nready++] = idx;
}
/*
 * A slot's read completed but the loop still works on what it read: the
 * slot is neither armed nor ready until uring_rx_slot_release (the loop
 * holds at most URING_RX_SLOTS of them, so nothing is lost or bounded
 * elsewhere). While held, its packet stays in rs->pkt[idx].
 */
static inline void uring_rx_slot_hold(struct uring_rx_slots *rs)
{
	rs->narmed--;
}

/* A held slot is ready again, with its packet. */
static inline void uring_rx_slot_release(struct uring_rx_slots *rs, uint32_t idx)
{
	rs->ready[rs->nready++] = idx;
}

/* Sets how many reads to keep armed from the @done reads this turn consumed. */
static inline void uring_rx_slots_pace(struct uring_rx_slots *rs, unsigned int done)
{
	rs->want = MIN(URING_RX_SLOTS, MAX(URING_RX_MIN, 2 * done));
}
/* A slot's read failed: keep its packet, re-arm it after a back-off. */
void uring_rx_slot_park(struct uring_rx_slots *rs, uint32_t idx);
/* Makes parked slots ready once their back-off has passed. */
void uring_rx_slots_unpark(struct uring_rx_slots *rs);
/* How long an idle loop may sleep before these slots need it. */
int uring_rx_slots_timeout_ms(const struct uring_rx_slots *rs);
/* Shutdown, nothing in flight: frees every packet the slots hold. */
void uring_rx_slots_free(struct uring_rx_slots *rs);

/*
 * Arms ready slots, with packets from @pool where they need one, until
 * rs->want reads are in flight. @arm returns false if it got no SQE (the slot
 * stays ready). Counts DROP_POOL_EMPTY once per refill that found the pool
 * short. Packets taken and not used go straight back.
 */
static inline void uring_rx_slots_refill(struct uring_rx_slots *rs, struct pool *pool,
					 struct stats *st,
					 bool (*arm)(void *arg, uint32_t idx, struct pkt *p),
					 void *arg)
{
	struct pkt *fresh[URING_RX_SLOTS];
	unsigned int todo, i, need = 0, got = 0, used = 0;

	rs->starved = false;
	if (rs->narmed >= rs->want || !rs->nready)
		return;
	todo = MIN(rs->want - rs->narmed, rs->nready);
	for (i = 0; i < todo; i++)
		need += !rs->pkt[rs->ready[rs->nready - 1 - i]];
	if (need) {
		got = pool_get_burst(pool, fresh, need);
		if (unlikely(got < need)) {
			rs->starved = true;
			STAT_DROP(st, DROP_POOL_EMPTY);
		}
	}
	while (todo--) {
		uint32_t idx = rs->ready[rs->nready - 1];

		if (!rs->pkt[idx]) {
			if (used == got)
				break;
			rs->pkt[idx] = fresh[used++];
		}
		if (unlikely(!arm(arg, idx, rs->pkt[idx])))
			break;
		rs->nready--;
		rs->narmed++;
	}
	if (unlikely(used < got))
		pkt_free_burst(&fresh[used], got - used);
}

/*
 * Transmit slots (link_tx, tun_tx): up to URING_TX_SLOTS sends in flight, each
 * holding the packet it sends until its CQE. Bounds what one loop gives the
 * kernel, so the CQ (8x the SQ) can never overflow.
 */
#define URING_TX_SLOTS	256

struct uring_tx_slots {
	struct pkt *pkt[URING_TX_SLOTS];	/* NULL: free */
	uint32_t free[URING_TX_SLOTS];
	unsigned int nfree;
};

void uring_tx_slots_init(struct uring_tx_slots *ts);

/* Counts a packet dropped for @verdict (an enum drop_reason) and frees it. Consumes @p. */
static inline void uring_pkt_drop(struct pkt *p, uint8_t verdict, struct stats *st)
{
	STAT_DROP(st, verdict < DROP_MAX ? verdict : DROP_NONE);
	pkt_free(p);
}

/*
 * Deals @p[0..n) to @out[0..nout) round robin from *@cursor. The cursor moves
 * only past a ring that took its packet, so the collector, which reads the
 * rings in the same order, never waits on a ring that missed its turn. A
 * full ring drops the packet (DROP_RING_FULL). Consumes every packet; rings
 * the consumers once per burst. Counts tx_pkts/tx_bytes for what went in.
 */
static inline void uring_pkt_deal(struct spsc *const *out, unsigned int nout,
				  unsigned int *cursor, struct pkt **p, unsigned int n,
				  struct stats *st)
{
	unsigned int c = *cursor, i, sent = 0;
	uint32_t touched = 0;
	uint64_t bytes = 0;

	if (unlikely(nout == 0)) {
		for (i = 0; i < n; i++)
			uring_pkt_drop(p[i], DROP_RING_FULL, st);
		return;
	}
	for (i = 0; i < n; i++) {
		uint32_t len = p[i]->len;	/* read before the ring owns it */

		if (likely(spsc_enqueue_burst_quiet(out[c], &p[i], 1))) {
			touched |= 1u << c;
			sent++;
			bytes += len;
			if (++c == nout)
				c = 0;
		} else {
			uring_pkt_drop(p[i], DROP_RING_FULL, st);
		}
	}
	*cursor = c;
	STAT_ADD(st->tx_pkts, sent);
	STAT_ADD(st->tx_bytes, bytes);
	for (c = 0; touched; c++, touched >>= 1)
		if (touched & 1)
			spsc_notify(out[c]);
}

/*
 * Collects up to @max packets from @in[0..nin) strictly round robin from
 * *@cursor, stopping at the first empty ring: its worker still holds the
 * packet whose turn it is. Returns how many; the caller owns them.
 */
static inline unsigned int uring_pkt_collect(struct spsc *const *in, unsigned int nin,
					     unsigned int *cursor, struct pkt **p,
					     unsigned int max)
{
	unsigned int c = *cursor, n = 0;

	if (unlikely(nin == 0))
		return 0;
	if (nin == 1)
		return spsc_dequeue_burst(in[0], p, max);
	while (n < max && spsc_dequeue_burst(in[c], &p[n], 1)) {
		n++;
		if (++c == nin)
			c = 0;
	}
	*cursor = c;
	return n;
}

#endif
