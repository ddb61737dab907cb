/*
 * udp_tx.c - the udp_tx loop: collects encrypted packets from the encrypt
 * workers' rings in the order tun_rx dealt them, plus ctrl's control packets,
 * and sends them on one UDP socket with IORING_OP_SENDMSG.
 *
 * Thread: udp_tx, one per UDP socket, started by ctrl. Owns its io_uring, its
 * send slots (uring.h, each with a msghdr and iovec beside the packet) and
 * every packet between its rings and the CQE of its send. The only writer of
 * peer->last_tx_ns and peer->tx_bytes.
 *
 * Order: in[cursor] is the ring whose turn it is. If it is empty its worker
 * still holds that packet, so collection stops until it arrives; packets a
 * worker refused (verdict != PKT_OK) still take their turn. Control packets
 * have no order against data (they are a different stream).
 *
 * One turn: reap every finished send (free, count), take up to BURST_MAX
 * packets (ctrl first: low rate, must not starve under a data flood) as far
 * as free send slots allow, queue their sends, enter the kernel once. Idle:
 * sleep on the doorbell (rung by the producers of in[cursor] and ctrl_in, or
 * ctrl for stop) and the sends in flight, bounded by URING_WAIT_MS.
 *
 * Counters (thr.stats): rx_* every packet taken from a ring; tx_* every
 * datagram the kernel accepted; drop[verdict] for refused packets; DROP_IO
 * for failed sends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../core/clock.h"
#include "io.h"
#include "peer.h"
#include "uring.h"

/* SQEs per turn are at most BURST_MAX sends; the rest is for shutdown cancels. */
#define UDP_TX_SQ	256

/* The kernel reads these until the CQE: never on a stack. */
struct udp_tx_slot {
	struct msghdr msg;
	struct iovec iov;
};

struct udp_tx_state {
	struct uring u;
	struct udp_tx_thread *t;
	struct uring_tx_slots ts;
	struct udp_tx_slot sl[URING_TX_SLOTS];
	struct pkt *burst[BURST_MAX];
	unsigned int cursor;		/* in[] ring whose turn it is */
	unsigned int nin;
};

static void udp_tx_cqe(void *arg, enum uring_op op, uint32_t idx, int res)
{
	struct udp_tx_state *s = arg;
	struct stats *st = &s->t->thr.stats;
	struct pkt *p;

	if (unlikely(op != URING_OP_SEND || idx >= URING_TX_SLOTS || !s->ts.pkt[idx]))
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

/* Queues one send; the caller checked for a free slot. Consumes @p. */
static void udp_tx_send(struct udp_tx_state *s, struct pkt *p)
{
	uint32_t idx = s->ts.free[--s->ts.nfree];
	struct udp_tx_slot *sl = &s->sl[idx];
	struct io_uring_sqe *sqe = uring_sqe(&s->u);

	if (unlikely(!sqe)) {
		s->ts.free[s->ts.nfree++] = idx;
		uring_pkt_drop(p, DROP_IO, &s->t->thr.stats);
		return;
	}
	sl->iov.iov_base = p->data;
	sl->iov.iov_len = p->len;
	memset(&sl->msg, 0, sizeof(sl->msg));
	/* No address: the socket is connected (client mode). */
	sl->msg.msg_name = p->addr_len ? &p->addr : NULL;
	sl->msg.msg_namelen = p->addr_len;
	sl->msg.msg_iov = &sl->iov;
	sl->msg.msg_iovlen = 1;
	s->ts.pkt[idx] = p;
	io_uring_prep_sendmsg(sqe, -1, &sl->msg, 0);
	uring_sqe_file(&s->u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, uring_ud(URING_OP_SEND, idx));
}

/*
 * Sends the good packets of @p[0..n), frees the rest. With @stamp, marks
 * each data packet's peer as just sent to (one clock read per burst, one
 * lookup per change of peer). Consumes @p[0..n).
 */
static void udp_tx_burst(struct udp_tx_state *s, struct pkt **p, unsigned int n, bool stamp)
{
	struct udp_tx_thread *t = s->t;
	struct stats *st = &t->thr.stats;
	uint32_t last_peer = UINT32_MAX;
	struct peer *pr = NULL;
	int64_t now = 0;
	unsigned int i;

	if (!n)
		return;
	stamp = stamp && t->peers;
	if (stamp) {
		now = clock_mono_ns();
		epoch_begin(&t->epoch);
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
		if (stamp && pr)
			__atomic_store_n(&pr->tx_bytes, pr->tx_bytes + p[i]->len, __ATOMIC_RELAXED);
		udp_tx_send(s, p[i]);
	}
	if (stamp)
		epoch_end(&t->epoch);
}

/* Takes what free send slots allow, ctrl first. Returns packets taken. */
static unsigned int udp_tx_collect(struct udp_tx_state *s)
{
	struct udp_tx_thread *t = s->t;
	unsigned int budget = MIN(BURST_MAX, s->ts.nfree);
	unsigned int n, took = 0;

	if (t->ctrl_in && budget) {
		n = spsc_dequeue_burst(t->ctrl_in, s->burst, budget);
		udp_tx_burst(s, s->burst, n, false);
		budget -= n;
		took += n;
	}
	if (budget) {
		n = uring_pkt_collect(t->in, s->nin, &s->cursor, s->burst, budget);
		udp_tx_burst(s, s->burst, n, true);
		took += n;
	}
	return took;
}

static bool udp_tx_has_input(const struct udp_tx_state *s)
{
	const struct udp_tx_thread *t = s->t;

	return (s->nin && spsc_count(t->in[s->cursor])) ||
	       (t->ctrl_in && spsc_count(t->ctrl_in));
}

static void udp_tx_idle(struct udp_tx_state *s)
{
	struct udp_tx_thread *t = s->t;

	if (!s->ts.nfree) {
		/* Every slot is in flight: their CQEs wake us, not the doorbell. */
		uring_wait(&s->u, URING_WAIT_MS);
		return;
	}
	doorbell_prepare_sleep(&t->db);
	/* Re-check after the fence: a packet enqueued before it is seen here. */
	if (udp_tx_has_input(s) || thread_should_stop(&t->thr)) {
		doorbell_cancel_sleep(&t->db);
		uring_submit(&s->u);
		return;
	}
	uring_wait(&s->u, URING_WAIT_MS);
	doorbell_cancel_sleep(&t->db);
	STAT_INC(t->thr.stats.wakeups);
}

/* Shutdown: cancels what is in flight, waits for every CQE (frees the packets). */
static bool udp_tx_drain(struct udp_tx_state *s)
{
	for (uint32_t i = 0; i < URING_TX_SLOTS; i++)
		if (s->ts.pkt[i])
			uring_cancel(&s->u, uring_ud(URING_OP_SEND, i));
	if (s->u.db_armed)
		uring_cancel(&s->u, uring_ud(URING_OP_DOORBELL, 0));
	for (int r = 0; r < URING_DRAIN_ROUNDS &&
			(s->ts.nfree < URING_TX_SLOTS || s->u.db_armed); r++) {
		uring_wait(&s->u, URING_WAIT_MS);
		uring_reap(&s->u, ~0u, udp_tx_cqe, s);
	}
	return s->ts.nfree == URING_TX_SLOTS && !s->u.db_armed;
}

void *udp_tx_thread_main(void *arg)
{
	struct udp_tx_thread *t = arg;
	struct udp_tx_state *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		__atomic_store_n(&t->err, -ENOMEM, __ATOMIC_RELEASE);
		return NULL;
	}
	rc = uring_open(&s->u, UDP_TX_SQ, t->fd, t->db.efd);
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

		reaped = uring_reap(&s->u, ~0u, udp_tx_cqe, s);
		took = udp_tx_collect(s);
		uring_doorbell_arm(&s->u);
		if (reaped || took)
			uring_submit(&s->u);
		else
			udp_tx_idle(s);
	}

	/* Not drained: the kernel may still read the slots; leak them. */
	if (!udp_tx_drain(s))
		return NULL;
	uring_close(&s->u);
	free(s);
	return NULL;
}
