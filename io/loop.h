/*
 * loop.h - the four I/O loops (DESIGN.md §2) and the skeleton they share.
 *
 *   TUN --tun_rx--> enc ring[i]   (round robin)
 *   enc ring[i] --link_tx--> link (collected in the same order) + ctrl ring
 *   link --link_rx--> dec ring[i] (round robin) + ring to ctrl for control opcodes
 *   dec ring[i] --tun_tx--> TUN   (collected in the same order)
 * With inline crypto (io/pipeline.h) tun_rx and link_rx seal and open
 * before they deal, and their rings go to link_tx and tun_tx directly.
 *
 * The loops know packets, rings, the TUN and the link ops (link.h), not the
 * protocol: what to do with a packet is a stage op the pipeline installs
 * once at wiring time (io/send.c, io/receive.c; l3fwd's "decide once").
 * Each loop owns one io_uring created on its own thread.
 *
 * Skeleton (loop.c): loop_run() is every loop thread's body. It allocates
 * the thread's state, opens its ring, then turns until asked to stop: one
 * turn is the loop's own work (kind->turn: reap, process, refill or collect,
 * all in bursts), then one doorbell re-arm and one submit; a turn that did
 * nothing sleeps instead (doorbell protocol, ring.h). On stop it cancels
 * what is in flight, waits for those CQEs and frees the state. What stays in
 * each loop's file is only what is specific to it: its CQE handler, how it
 * arms a read or a write, and what it does with a burst.
 */
#ifndef SLUICE_IO_LOOP_H
#define SLUICE_IO_LOOP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/epoch.h"
#include "../core/pkt.h"
#include "../core/ring.h"
#include "../core/thread.h"
#include "../crypto/dc.h"
#include "io.h"
#include "uring.h"

struct link;

/*
 * Stage ops mark a refused packet with p->verdict (an enum drop_reason); the
 * loop counts drop[verdict] and frees it, so an op must not count that drop
 * itself. The same holds for packets a worker refused: the collecting loop
 * (link_tx, tun_tx) counts and frees them, and they still take their turn.
 */

/*
 * tun_rx op: for each packet just read from the TUN, pick the peer, key and
 * packet-id (p->peer_id, p->key_id, p->pid, p->addr) or set p->verdict.
 * Runs inside the thread's epoch section. Borrows the packets.
 */
typedef void (*tun_rx_classify_fn)(void *ctx, struct pkt **p, unsigned int n, struct stats *st);
/*
 * link_rx op: validates a packet at ingress (p->addr holds its source).
 * Returns PKT_OK for a data packet (to be dealt to a decrypt worker), PKT_OK
 * with *is_control set for a control packet (the loop marks it PKT_F_CONTROL
 * and hands it to ctrl), or a drop reason. Runs inside the thread's epoch
 * section when the pipeline registered one (server mode deletes peers).
 */
typedef uint8_t (*link_rx_classify_fn)(void *ctx, struct pkt *p, bool *is_control);
/*
 * tun_tx op: for each decrypted packet with verdict PKT_OK, runs the replay
 * window, strips compression framing and consumes in-band messages (ping,
 * OCC). Sets p->verdict for packets not to write; packets that must go to
 * ctrl get PKT_F_CONTROL, packets for another client (server with
 * client-to-client) PKT_F_FWD: they go back to tun_rx to be encrypted. Runs
 * inside the thread's epoch section.
 */
typedef void (*tun_tx_accept_fn)(void *ctx, struct pkt **p, unsigned int n, int64_t now_ns,
				 struct stats *st);

/* What every loop thread's struct starts with. */
struct io_loop {
	struct thread thr;		/* first: stats live here */
	struct doorbell db;		/* rung by the loop's input producers, and to stop it */
	struct epoch_reader epoch;	/* registered by the pipeline when the loop reads peers */
	unsigned int ring_flags;	/* set by the thread: IORING_SETUP_* the kernel took */
	/*
	 * Set by a TUN thread at start: pools registered as fixed buffers
	 * (uring.h), or -errno if the kernel refused them (the plain ops
	 * run); 0: none asked for.
	 */
	int fixed_bufs;
	int err;			/* set by the thread: -errno if the loop could not start */
};

struct tun_rx_thread {
	struct io_loop lp;		/* first; lp.db rung by ctrl (inject, stop), tun_tx (fwd) and
					 * the encrypt workers (room again, offload reads only) */
	int fd;				/* TUN queue, O_NONBLOCK */
	unsigned int offload;		/* TUN_OFF_* the queue was opened with (io.h) */
	struct pool *pool;		/* home: this thread */
	struct pool *gso_pool;		/* home: this thread; TUN_OFF_VNET: read buffers (64 KiB) */
	bool fixed_bufs;		/* register the pool it reads into (pool or gso_pool) */
	struct spsc *out[IO_WORKERS_MAX];	/* to encrypt workers */
	unsigned int nout;
	struct spsc *inject;		/* from ctrl: pings and other in-band packets; may be NULL */
	struct spsc *fwd;		/* from tun_tx: client-to-client packets; may be NULL */
	/*
	 * Lanes (io.h; a UDP server's): packets the op marked PKT_F_LANE go to
	 * lane_out[io_lane_of(p->peer_id, nlanes)] (another lane's tun_rx);
	 * lane_in[] are the other lanes' rings to this one. nlanes 0 or 1: none.
	 */
	struct spsc *lane_out[IO_LANES_MAX];
	struct spsc *lane_in[IO_LANES_MAX];
	unsigned int nlanes, nlane_in;
	/* Inline crypto: sealed here before the deal, out[] are link_tx's rings; NULL: workers. */
	struct crypt_thread *crypt;
	tun_rx_classify_fn classify;	/* NULL: every packet is PKT_OK */
	void *ctx;
};

struct link_tx_thread {
	struct io_loop lp;		/* first; lp.db rung by in[] and ctrl_in producers */
	struct link *link;		/* sends through link->ops (link.h) */
	struct spsc *in[IO_WORKERS_MAX];	/* from encrypt workers, collected in order */
	unsigned int nin;
	struct spsc *ctrl_in;		/* from ctrl; may be NULL */
	struct doorbell *dealer_db;	/* inline crypto: tun_rx, if it waits for room; else NULL */
	const struct dc_peer_table *peers;	/* to stamp last_tx_ns (peer.h); may be NULL */
};

struct link_rx_thread {
	struct io_loop lp;		/* first; lp.db rung to stop, and by the decrypt workers
					 * when they drain a ring it waits for */
	struct link *link;		/* receives through link->ops (link.h) */
	struct pool *pool;		/* home: this thread; what reads go to (link->rx_copies:
					 * 64 KiB buffers that stay in the slots) */
	struct spsc *out[IO_WORKERS_MAX];	/* to decrypt workers */
	unsigned int nout;
	struct spsc *ctrl_out;		/* to ctrl; may be NULL */
	/* Inline crypto: opened here before the deal, out[] are tun_tx's rings; NULL: workers. */
	struct crypt_thread *crypt;
	link_rx_classify_fn classify;	/* NULL: every packet is data */
	void *ctx;
};

struct tun_tx_thread {
	struct io_loop lp;		/* first; lp.db rung by in[] producers */
	int fd;				/* TUN queue */
	unsigned int offload;		/* TUN_OFF_* the queue was opened with (io.h) */
	struct spsc *in[IO_WORKERS_MAX];	/* from decrypt workers, collected in order */
	unsigned int nin;
	struct spsc *ctrl_out;		/* to ctrl: OCC and other in-band messages; may be NULL */
	struct spsc *fwd_out;		/* to tun_rx: packets the op marked PKT_F_FWD; may be NULL */
	struct doorbell *dealer_db;	/* inline crypto: link_rx, which waits for room; else NULL */
	/* Pools whose packets it writes, registered as fixed buffers; NULL: none (plain writes). */
	struct pool *write_pools[URING_BUFS_MAX];
	tun_tx_accept_fn accept;	/* NULL: accept as is */
	void *ctx;
};

/*
 * Thread mains (arg: the struct above). The pipeline (or a test) first
 * wires the doorbell (doorbell_init(&lp.db)), the rings (each ring's
 * consumer doorbell is the consuming thread's lp.db), the pools (home: the
 * rx thread; every thread that frees a packet registered with
 * pool_add_returner) and the epoch readers. If io_uring setup fails the
 * thread stores -errno in lp.err and returns at once. Stop:
 * thread_request_stop() then doorbell_kick(&lp.db). On return the loop has
 * freed every packet it owned; packets still queued in its rings belong to
 * whoever drains those rings at teardown.
 */
void *tun_rx_thread_main(void *arg);
void *link_tx_thread_main(void *arg);
void *link_rx_thread_main(void *arg);
void *tun_tx_thread_main(void *arg);

/* ---- the skeleton: only the loops' own files use what follows ---------- */

/* A loop thread's private state starts with this; the thread allocates it. */
struct loop {
	struct uring u;
	struct io_loop *lp;
	const struct loop_kind *k;
	bool stopping;			/* the shutdown drain runs: CQEs are counted, not used */
	union {
		struct uring_rx_slots rs;	/* rx loops: reads in flight */
		struct uring_tx_slots ts;	/* tx loops: writes in flight */
	};
};

/* What makes one loop different from the others; a static const per loop file. */
struct loop_kind {
	enum uring_op op;		/* the loop's own I/O op (user_data) */
	bool is_rx;			/* rx slots, else tx slots */
	unsigned int sq_entries;
	/* Thread start, ring open: the loop's own state. 0 or -errno (stored in lp->err). */
	int (*init)(struct loop *lo);
	/* One pass of work; returns how much it did (0: nothing, the loop may sleep). */
	unsigned int (*turn)(struct loop *lo);
	/*
	 * Before sleeping, after the doorbell's fence: is input already queued?
	 * NULL: nothing rings this loop's doorbell but a stop request.
	 */
	bool (*has_input)(const struct loop *lo);
	/* The loop's CQE handler; also reaps the cancelled requests at shutdown. */
	void (*cqe)(void *arg, enum uring_op op, uint32_t slot, int res, uint32_t flags);
	/* Optional: after the shutdown drain, before the ring closes: the loop's own teardown. */
	void (*fini)(struct loop *lo);
};

/*
 * A loop thread's whole life on the calling thread: allocates @state_size
 * bytes of state (zeroed; it starts with struct loop), opens a ring with
 * @io_fd as its fixed file URING_FILE_IO, runs @k until the stop flag, then
 * drains and frees. Returns NULL (the thread's return value).
 */
void *loop_run(struct io_loop *lp, int io_fd, const struct loop_kind *k, size_t state_size);

/* Tags @sqe as this loop's op on slot @idx (the preparer set the file). */
static inline void loop_sqe_commit(struct loop *lo, struct io_uring_sqe *sqe, uint32_t idx)
{
	io_uring_sqe_set_data64(sqe, uring_ud(lo->k->op, idx));
}

/* rx: reaps up to @max finished reads through @fn and paces the next refill (uring.h). */
static inline unsigned int loop_rx_reap(struct loop *lo, unsigned int max,
					void (*fn)(void *arg, enum uring_op op, uint32_t slot,
						   int res, uint32_t flags))
{
	unsigned int reaped = uring_reap(&lo->u, max, fn, lo);

	uring_rx_slots_pace(&lo->rs, reaped);
	return reaped;
}

/*
 * rx CQE: the exits every read shares. While stopping, a read that won the
 * race with its cancel is counted, as a drop; -EAGAIN/-EINTR is a lost race
 * for a packet (uring.h), re-armed; other errors count DROP_IO and park the
 * slot. Returns true if it dealt with the CQE; false: @res >= 0, the
 * caller's.
 */
static inline bool loop_rx_cqe_exit(struct loop *lo, uint32_t idx, int res)
{
	struct stats *st = &lo->lp->thr.stats;

	if (unlikely(lo->stopping)) {
		if (res > 0) {
			STAT_INC(st->rx_pkts);
			STAT_ADD(st->rx_bytes, (uint32_t)res);
			STAT_DROP(st, DROP_SHUTDOWN);
		}
		uring_rx_slot_done(&lo->rs, idx, true);	/* freed with the slots */
		return true;
	}
	if (likely(res >= 0))
		return false;
	if (res == -EAGAIN || res == -EINTR) {
		uring_rx_slot_done(&lo->rs, idx, true);
		return true;
	}
	STAT_DROP(st, DROP_IO);
	uring_rx_slot_park(&lo->rs, idx);
	return true;
}

/* rx: re-arms what the load calls for, with packets from @pool (uring.h). */
static inline void loop_rx_refill(struct loop *lo, struct pool *pool,
				  bool (*arm)(void *arg, uint32_t idx, struct pkt *p))
{
	uring_rx_slots_unpark(&lo->rs);
	uring_rx_slots_refill(&lo->rs, pool, &lo->lp->thr.stats, arm, lo);
}

/*
 * rx loops that deal reads of many packets (tun_rx with offloads, link_rx):
 * how many packets the rings @out[0..nout) take now without a drop. The
 * packets are dealt round robin, so the fullest ring decides.
 */
static inline unsigned int loop_room_pkts(struct spsc *const *out, unsigned int nout)
{
	unsigned int room = ~0u;

	for (unsigned int i = 0; i < nout; i++)
		room = MIN(room, spsc_free(out[i]));
	return nout ? room * nout - (room ? nout - 1 : 0) : 0;
}

/* Every ring at most half full: what a waiting dealer waits for (worker.h). */
static inline bool loop_rings_half_free(struct spsc *const *out, unsigned int nout)
{
	for (unsigned int i = 0; i < nout; i++)
		if (spsc_count(out[i]) > spsc_capacity(out[i]) / 2)
			return false;
	return true;
}

/*
 * rx: reads are waiting but the rings have no room for them: sleep on the
 * loop's doorbell until @ready (re-checked after the fence) says to go on,
 * or a stop; at most URING_WAIT_MS. A worker rings the doorbell when its
 * dequeue takes its ring from more than half full to half (crypto/worker.c),
 * so a dealer that waits for every ring to be half free (@ready) is woken
 * once per half ring drained, not once per burst. The kernel's queue holds
 * what we do not read meanwhile.
 */
static inline void loop_wait_room(struct loop *lo, bool (*ready)(const struct loop *lo))
{
	struct io_loop *lp = lo->lp;

	doorbell_prepare_sleep(&lp->db);
	/* Re-check after the fence: a worker that drained before it is seen here. */
	if (ready(lo) || thread_should_stop(&lp->thr)) {
		doorbell_cancel_sleep(&lp->db);
		return;
	}
	doorbell_wait(&lp->db, URING_WAIT_MS);
	STAT_INC(lp->thr.stats.wakeups);
}

/*
 * tx: takes up to MIN(BURST_MAX, free write slots) packets from @in[0..nin)
 * in the order they were dealt (uring_pkt_collect). The caller owns them.
 * @dealer_db (inline crypto, one ring: the dealer fills in[0] itself): rung
 * when this collect takes in[0] from more than half full to half, as a
 * worker rings its dealer (crypto/worker.c), so a dealer waiting for room
 * is woken once per half ring; NULL: the workers do that.
 */
static inline unsigned int loop_tx_collect(struct loop *lo, struct spsc *const *in,
					   unsigned int nin, unsigned int *cursor,
					   struct pkt **p, unsigned int budget,
					   struct doorbell *dealer_db)
{
	unsigned int before = dealer_db ? spsc_count(in[0]) : 0;
	unsigned int n = uring_pkt_collect(in, nin, cursor, p, MIN(budget, lo->ts.nfree));

	if (unlikely(dealer_db) && before > spsc_capacity(in[0]) / 2 &&
	    before - n <= spsc_capacity(in[0]) / 2)
		doorbell_ring(dealer_db);
	return n;
}

/* tx: a free write slot for @p; the caller checked lo->ts.nfree. */
static inline uint32_t loop_tx_slot_take(struct loop *lo, struct pkt *p)
{
	uint32_t idx = lo->ts.free[--lo->ts.nfree];

	lo->ts.pkt[idx] = p;
	return idx;
}

/* Counts @p and the packets chained behind it (pkt->next) as dropped for @why, frees them. */
static inline void loop_chain_drop(struct pkt *p, uint8_t why, struct stats *st)
{
	while (p) {
		struct pkt *next = p->next;

		uring_pkt_drop(p, why, st);
		p = next;
	}
}

/* tx: the write on @idx could not be queued: the slot is free again, its packets dropped. */
static inline void loop_tx_slot_abort(struct loop *lo, uint32_t idx)
{
	struct pkt *p = lo->ts.pkt[idx];

	lo->ts.pkt[idx] = NULL;
	lo->ts.free[lo->ts.nfree++] = idx;
	loop_chain_drop(p, DROP_IO, &lo->lp->thr.stats);
}

/*
 * tx: the write on @idx is over with @res (bytes, or -errno): frees the slot
 * and its packet with the ones chained behind it, counting each packet, and
 * @res less @hdr bytes of framing that only the write carried.
 */
static inline void loop_tx_done(struct loop *lo, uint32_t idx, int res, uint32_t hdr)
{
	struct stats *st = &lo->lp->thr.stats;
	struct pkt *p = lo->ts.pkt[idx];

	lo->ts.pkt[idx] = NULL;
	lo->ts.free[lo->ts.nfree++] = idx;
	if (unlikely(res < 0)) {
		loop_chain_drop(p, DROP_IO, st);
		return;
	}
	STAT_ADD(st->tx_bytes, (uint32_t)res - MIN((uint32_t)res, hdr));
	while (p) {
		struct pkt *next = p->next;

		STAT_INC(st->tx_pkts);
		pkt_free(p);
		p = next;
	}
}

/* tx CQE: is @idx a write of ours that is in flight? */
static inline bool loop_tx_cqe_valid(const struct loop *lo, enum uring_op op, uint32_t idx)
{
	return likely(op == lo->k->op && idx < URING_TX_SLOTS && lo->ts.pkt[idx]);
}

#endif
