/*
 * loop.c - owns the life of an I/O loop thread (loop.h): its state and
 * ring from start to exit, the turn-or-sleep cycle, and the shutdown drain.
 *
 * Thread: loop_run is the body of each loop thread (tun_rx, tun_tx,
 * link_rx, link_tx) and runs only there; the ring it creates has that
 * thread as its single issuer.
 *
 * One cycle: the loop's turn (reap, process, refill or collect: its own
 * work, in bursts), then one doorbell re-arm and one submit, so the kernel
 * is entered once per turn. A turn that found nothing to do sleeps instead:
 *   - a tx loop with every write slot in flight waits for their CQEs only;
 *   - otherwise it says it will sleep on its doorbell, re-checks its input
 *     rings after the fence (kind->has_input), and blocks in the kernel on
 *     the doorbell read and its own I/O together, up to URING_WAIT_MS (an rx
 *     loop whose slots are starved or parked: as long as uring.h says).
 *
 * Shutdown: the stop flag ends the cycle; the loop cancels its reads or
 * writes in flight and the doorbell read and reaps until every CQE is back
 * (URING_DRAIN_ROUNDS at most). Only then are the ring and the packets the
 * slots hold freed; if a CQE never came, the kernel may still touch them,
 * so they are leaked on purpose.
 */
#include <errno.h>
#include <stdlib.h>

#include "loop.h"

static void loop_idle(struct loop *lo)
{
	const struct loop_kind *k = lo->k;
	struct io_loop *lp = lo->lp;
	int timeout_ms = URING_WAIT_MS;

	if (k->is_rx) {
		timeout_ms = uring_rx_slots_timeout_ms(&lo->rs);
	} else if (!lo->ts.nfree) {
		/* Every slot is in flight: their CQEs wake us, not the doorbell. */
		uring_wait(&lo->u, URING_WAIT_MS);
		return;
	}
	if (k->has_input) {
		doorbell_prepare_sleep(&lp->db);
		/* Re-check after the fence: a packet enqueued before it is seen here. */
		if (k->has_input(lo) || thread_should_stop(&lp->thr)) {
			doorbell_cancel_sleep(&lp->db);
			uring_submit(&lo->u);
			return;
		}
	}
	uring_wait(&lo->u, timeout_ms);
	if (k->has_input)
		doorbell_cancel_sleep(&lp->db);
	STAT_INC(lp->thr.stats.wakeups);
}

static unsigned int loop_in_flight(const struct loop *lo)
{
	return lo->k->is_rx ? lo->rs.narmed : URING_TX_SLOTS - lo->ts.nfree;
}

/* Shutdown: cancels what is in flight and the doorbell read, waits for their CQEs. */
static bool loop_drain(struct loop *lo)
{
	lo->stopping = true;
	for (uint32_t i = 0; i < (lo->k->is_rx ? URING_RX_SLOTS : URING_TX_SLOTS); i++)
		if (lo->k->is_rx || lo->ts.pkt[i])
			uring_cancel(&lo->u, uring_ud(lo->k->op, i));
	if (lo->u.db_armed)
		uring_cancel(&lo->u, uring_ud(URING_OP_DOORBELL, 0));
	for (int r = 0; r < URING_DRAIN_ROUNDS && (loop_in_flight(lo) || lo->u.db_armed); r++) {
		uring_wait(&lo->u, URING_WAIT_MS);
		uring_reap(&lo->u, ~0u, lo->k->cqe, lo);
	}
	return !loop_in_flight(lo) && !lo->u.db_armed;
}

void *loop_run(struct io_loop *lp, int io_fd, const struct loop_kind *k, size_t state_size)
{
	struct loop *lo;
	int rc;

	lo = calloc(1, state_size);
	if (!lo) {
		__atomic_store_n(&lp->err, -ENOMEM, __ATOMIC_RELEASE);
		return NULL;
	}
	rc = uring_open(&lo->u, k->sq_entries, io_fd, lp->db.efd);
	if (rc) {
		__atomic_store_n(&lp->err, rc, __ATOMIC_RELEASE);
		free(lo);
		return NULL;
	}
	__atomic_store_n(&lp->ring_flags, lo->u.setup_flags, __ATOMIC_RELEASE);
	lo->lp = lp;
	lo->k = k;
	if (k->is_rx)
		uring_rx_slots_init(&lo->rs);
	else
		uring_tx_slots_init(&lo->ts);
	rc = k->init ? k->init(lo) : 0;
	if (rc) {
		__atomic_store_n(&lp->err, rc, __ATOMIC_RELEASE);
		uring_close(&lo->u);
		free(lo);
		return NULL;
	}

	while (!thread_should_stop(&lp->thr)) {
		unsigned int work = k->turn(lo);

		uring_doorbell_arm(&lo->u);
		if (work)
			uring_submit(&lo->u);
		else
			loop_idle(lo);
	}

	/* Not drained: the kernel may still use the slots; leak them. */
	if (!loop_drain(lo))
		return NULL;
	if (k->fini)
		k->fini(lo);
	uring_close(&lo->u);
	if (k->is_rx)
		uring_rx_slots_free(&lo->rs);
	free(lo);
	return NULL;
}
