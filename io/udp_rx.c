/*
 * udp_rx.c - the udp_rx loop: receives datagrams from one UDP socket, has
 * the udp_rx op validate each at ingress, deals data packets round robin to
 * the decrypt workers' rings and hands control packets to ctrl.
 *
 * Thread: udp_rx, one per UDP socket, started by ctrl. Owns its io_uring,
 * its receive slots (uring.h, each with a msghdr and iovec beside the
 * packet) and every packet in them; its pool's home.
 *
 * One turn: reap up to BURST_MAX receives, classify each datagram, free what
 * the op refused, deal the data, pass the control packets on, re-arm emptied
 * slots (as many as the load calls for, uring.h), enter the kernel once. Idle: sleep on the receives and the
 * doorbell (stop only), bounded by URING_WAIT_MS.
 *
 * Counters (thr.stats): rx_* every datagram received; tx_* every packet
 * passed on (data rings and ctrl ring); ctrl_pkts the control part of that;
 * drop[verdict] for the op's verdicts; DROP_OVERSIZE (datagram larger than a
 * packet: MSG_TRUNC); DROP_RING_FULL; DROP_NO_CTRL (control packet and no
 * ctrl ring); DROP_IO (receive errors such as ICMP port unreachable on a
 * connected socket); DROP_POOL_EMPTY (once per refill that found the pool
 * short).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "io.h"
#include "uring.h"

/* Every receive slot, the doorbell and shutdown cancels fit one submit. */
#define UDP_RX_SQ	128

_Static_assert(UDP_RX_SQ >= URING_RX_SLOTS + 2, "a full refill fits in one submit");

/* The kernel reads and writes these until the CQE: never on a stack. */
struct udp_rx_slot {
	struct msghdr msg;
	struct iovec iov;
};

struct udp_rx_state {
	struct uring u;
	struct udp_rx_thread *t;
	struct uring_rx_slots rs;
	struct udp_rx_slot sl[URING_RX_SLOTS];
	struct pkt *burst[BURST_MAX];
	unsigned int nburst;
	unsigned int cursor;		/* next worker ring; moves on success only */
	unsigned int nout;
	bool stopping;
};

static void udp_rx_cqe(void *arg, enum uring_op op, uint32_t idx, int res)
{
	struct udp_rx_state *s = arg;
	struct stats *st = &s->t->thr.stats;
	struct udp_rx_slot *sl;
	struct pkt *p;

	if (unlikely(op != URING_OP_RECV || idx >= URING_RX_SLOTS))
		return;
	sl = &s->sl[idx];
	p = s->rs.pkt[idx];
	if (unlikely(s->stopping)) {
		/* A read that won the race with the cancel still counts, as a drop. */
		if (res > 0) {
			STAT_INC(st->rx_pkts);
			STAT_ADD(st->rx_bytes, (uint32_t)res);
			STAT_DROP(st, DROP_SHUTDOWN);
		}
		uring_rx_slot_done(&s->rs, idx, true);	/* freed with the slots */
		return;
	}
	if (unlikely(res < 0)) {
		if (res == -EAGAIN || res == -EINTR) {
			/* See uring.h: a lost race for a datagram, not an error. */
			uring_rx_slot_done(&s->rs, idx, true);
			return;
		}
		STAT_DROP(st, DROP_IO);
		uring_rx_slot_park(&s->rs, idx);
		return;
	}
	STAT_INC(st->rx_pkts);
	STAT_ADD(st->rx_bytes, (uint32_t)res);
	/* MSG_TRUNC in: res is the datagram's real length, so either test works. */
	if (unlikely((uint32_t)res > sl->iov.iov_len || (sl->msg.msg_flags & MSG_TRUNC))) {
		STAT_DROP(st, DROP_OVERSIZE);
		uring_rx_slot_done(&s->rs, idx, true);	/* receive again into it */
		return;
	}
	p->len = (uint32_t)res;
	p->addr_len = sl->msg.msg_namelen;
	s->burst[s->nburst++] = p;
	uring_rx_slot_done(&s->rs, idx, false);
}

static bool udp_rx_arm(void *arg, uint32_t idx, struct pkt *p)
{
	struct udp_rx_state *s = arg;
	struct udp_rx_slot *sl = &s->sl[idx];
	struct io_uring_sqe *sqe = uring_sqe(&s->u);

	if (unlikely(!sqe))
		return false;
	sl->iov.iov_base = p->data;
	sl->iov.iov_len = pkt_data_room(p);
	memset(&sl->msg, 0, sizeof(sl->msg));
	sl->msg.msg_name = &p->addr;
	sl->msg.msg_namelen = sizeof(p->addr);
	sl->msg.msg_iov = &sl->iov;
	sl->msg.msg_iovlen = 1;
	io_uring_prep_recvmsg(sqe, -1, &sl->msg, MSG_TRUNC);
	uring_sqe_file(&s->u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, uring_ud(URING_OP_RECV, idx));
	return true;
}

/* Hands control packets to ctrl. Consumes @p[0..n). */
static void udp_rx_to_ctrl(struct udp_rx_state *s, struct pkt **p, unsigned int n)
{
	struct spsc *r = s->t->ctrl_out;
	struct stats *st = &s->t->thr.stats;
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

/* Validates, sorts and passes on this turn's datagrams. Consumes them. */
static void udp_rx_burst(struct udp_rx_state *s)
{
	struct udp_rx_thread *t = s->t;
	struct stats *st = &t->thr.stats;
	struct pkt *ctrl[BURST_MAX];
	unsigned int i, ndata = 0, nctrl = 0;
	bool guarded = t->epoch.rec && s->nburst;

	/* The op looks peers up; a server may retire one at any time. */
	if (guarded)
		epoch_begin(&t->epoch);
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
		epoch_end(&t->epoch);
	uring_pkt_deal(t->out, s->nout, &s->cursor, s->burst, ndata, st);
	if (nctrl)
		udp_rx_to_ctrl(s, ctrl, nctrl);
}

/* Shutdown: cancels the receives and the doorbell read, waits for their CQEs. */
static bool udp_rx_drain(struct udp_rx_state *s)
{
	s->stopping = true;
	for (uint32_t i = 0; i < URING_RX_SLOTS; i++)
		uring_cancel(&s->u, uring_ud(URING_OP_RECV, i));
	if (s->u.db_armed)
		uring_cancel(&s->u, uring_ud(URING_OP_DOORBELL, 0));
	for (int r = 0; r < URING_DRAIN_ROUNDS && (s->rs.narmed || s->u.db_armed); r++) {
		uring_wait(&s->u, URING_WAIT_MS);
		uring_reap(&s->u, ~0u, udp_rx_cqe, s);
	}
	return !s->rs.narmed && !s->u.db_armed;
}

void *udp_rx_thread_main(void *arg)
{
	struct udp_rx_thread *t = arg;
	struct udp_rx_state *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s) {
		__atomic_store_n(&t->err, -ENOMEM, __ATOMIC_RELEASE);
		return NULL;
	}
	rc = uring_open(&s->u, UDP_RX_SQ, t->fd, t->db.efd);
	if (rc) {
		__atomic_store_n(&t->err, rc, __ATOMIC_RELEASE);
		free(s);
		return NULL;
	}
	__atomic_store_n(&t->ring_flags, s->u.setup_flags, __ATOMIC_RELEASE);
	s->t = t;
	s->nout = MIN(t->nout, IO_WORKERS_MAX);
	uring_rx_slots_init(&s->rs);

	while (!thread_should_stop(&t->thr)) {
		unsigned int reaped;

		s->nburst = 0;
		reaped = uring_reap(&s->u, BURST_MAX, udp_rx_cqe, s);
		uring_rx_slots_pace(&s->rs, reaped);
		udp_rx_burst(s);
		uring_rx_slots_unpark(&s->rs);
		uring_rx_slots_refill(&s->rs, t->pool, &t->thr.stats, udp_rx_arm, s);
		uring_doorbell_arm(&s->u);
		if (reaped) {
			uring_submit(&s->u);
			continue;
		}
		/* No input rings: the doorbell only carries stop requests. */
		uring_wait(&s->u, uring_rx_slots_timeout_ms(&s->rs));
		STAT_INC(t->thr.stats.wakeups);
	}

	/* Not drained: the kernel may still write into the slots; leak them. */
	if (!udp_rx_drain(s))
		return NULL;
	uring_close(&s->u);
	uring_rx_slots_free(&s->rs);
	free(s);
	return NULL;
}
