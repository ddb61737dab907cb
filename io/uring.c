/*
 * uring.c - owns the setup and teardown of each I/O loop's io_uring, and the
 * bookkeeping of receive and transmit slots (see uring.h).
 *
 * Threads: every function runs on the loop thread that owns the ring; the
 * ring is created there so that thread is its single issuer.
 *
 * Setup flags, best first (proxy.c init_ring):
 *   SINGLE_ISSUER   only this thread submits, so the kernel skips locking.
 *   DEFER_TASKRUN   completions run when we enter the kernel for events, in
 *                   batches, never as an interrupt of our own work (6.1).
 *   COOP_TASKRUN    fallback (5.19): no IPI to run task work; it runs when we
 *                   next enter the kernel, which this loop does every turn.
 *   CQSIZE          the CQ holds 8x the SQ, so bounded in-flight work can
 *                   never overflow it.
 *
 * Registered resources: the loop's fd and doorbell always (fixed files),
 * and for the TUN loops the pools they read into or write from (fixed
 * buffers, uring_register_pools; uring-fixed-buffers no leaves them out).
 * Registration pins the pools' pages for the ring's life and, for a
 * process without CAP_IPC_LOCK, charges them to RLIMIT_MEMLOCK; if the
 * kernel refuses, the loop keeps the plain ops and says so in
 * io_loop.fixed_bufs (ctrl reports it; data threads do not log). Only
 * the TUN reads and the single-packet TUN writes use them: liburing 2.3
 * has no fixed-buffer writev, sendmsg or recvmsg, and the UDP receive
 * already takes its buffers from a provided-buffer ring (link_rx.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../core/clock.h"
#include "uring.h"

static const unsigned int uring_setup_tiers[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

int uring_open(struct uring *u, unsigned int sq_entries, int io_fd, int db_fd)
{
	struct io_uring_params params;
	unsigned int i;
	int rc = -EINVAL;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < ARRAY_SIZE(uring_setup_tiers); i++) {
		memset(&params, 0, sizeof(params));
		params.flags = uring_setup_tiers[i] | IORING_SETUP_CQSIZE;
		params.cq_entries = sq_entries * 8;
		rc = io_uring_queue_init_params(sq_entries, &u->ring, &params);
		/* -EINVAL: a flag this kernel lacks; anything else will not improve. */
		if (rc != -EINVAL)
			break;
	}
	if (rc)
		return rc;
	u->setup_flags = params.flags;
	u->fds[URING_FILE_IO] = io_fd;
	u->fds[URING_FILE_DB] = db_fd;
	/* Fixed files: no fd table lookup and no file refcount per SQE. */
	u->fixed = io_uring_register_files(&u->ring, u->fds, 2) == 0;
	/* A registered ring fd saves the fdget in every io_uring_enter; optional. */
	(void)io_uring_register_ring_fd(&u->ring);
	return 0;
}

/*
 * fork() copies every pinned page of a private mapping into the child at
 * once (the kernel keeps the parent's pages where the ring's pins are),
 * and ctrl forks for scripts, auth scripts and helpers: with two 19 MB
 * pools registered that took each fork from 3 ms to 43 ms here. No child
 * touches a pool before its execve, so the pools' whole pages are kept out
 * of children (MADV_DONTFORK) while they are registered, and handed back
 * (MADV_DOFORK) before ctrl frees them: the memory may be reused by malloc
 * for what a child does read (argv, env). The partial pages at the ends
 * stay shared with their neighbours, as they were. Errors are ignored: the
 * only cost is the copy. A loop whose shutdown drain never ended leaks its
 * ring on purpose (loop.c), and with it this mark on memory ctrl frees.
 */
static void uring_buf_advise(uintptr_t lo, uintptr_t hi, int advice)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (lo + page - 1) & ~(page - 1), b = hi & ~(page - 1);

	if (a < b)
		(void)madvise((void *)a, b - a, advice);
}

int uring_register_pools(struct uring *u, struct pool *const *pools, unsigned int n)
{
	struct iovec iov[URING_BUFS_MAX];
	uint16_t id[URING_BUFS_MAX];
	unsigned int k = 0, i, j;
	int rc;

	for (i = 0; i < n && k < URING_BUFS_MAX; i++) {
		const struct pool *pool = pools[i];
		size_t len;

		if (!pool)
			continue;
		for (j = 0; j < k && id[j] != pool->id; j++)
			;
		len = pool->stride * pool->count;
		/* Another entry for the same pool, or a slab above the kernel's bound: plain ops. */
		if (j < k || len > URING_BUF_LEN_MAX)
			continue;
		iov[k].iov_base = pool->mem;
		iov[k].iov_len = len;
		id[k++] = pool->id;
	}
	if (!k)
		return 0;
	rc = io_uring_register_buffers(&u->ring, iov, k);
	if (rc)
		return rc;
	for (i = 0; i < k; i++) {
		u->buf_lo[i] = (uintptr_t)iov[i].iov_base;
		u->buf_hi[i] = u->buf_lo[i] + iov[i].iov_len;
		u->buf_of_pool[id[i]] = (uint8_t)(i + 1);
		uring_buf_advise(u->buf_lo[i], u->buf_hi[i], MADV_DONTFORK);
	}
	u->nbufs = k;
	return (int)k;
}

void uring_close(struct uring *u)
{
	/*
	 * Drop the registered files first: the ring's own teardown runs later in
	 * a kernel worker, and until then it would keep the UDP socket (and its
	 * port) alive after the daemon exited, so a restart could not bind.
	 * The fixed buffers likewise: until that worker ran, the pools' pages
	 * would stay pinned and charged to RLIMIT_MEMLOCK after ctrl freed the
	 * pools, and a restarted pipeline could be refused its own. Callers
	 * drained every request first (loop.c), so nothing uses them now.
	 */
	if (u->nbufs) {
		io_uring_unregister_buffers(&u->ring);
		for (unsigned int i = 0; i < u->nbufs; i++)
			uring_buf_advise(u->buf_lo[i], u->buf_hi[i], MADV_DOFORK);
	}
	if (u->fixed)
		io_uring_unregister_files(&u->ring);
	io_uring_queue_exit(&u->ring);
}

struct io_uring_sqe *uring_sqe(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (unlikely(!sqe)) {
		/* SQ full: hand the kernel what we have and take a fresh one. */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

void uring_sqe_file(struct uring *u, struct io_uring_sqe *sqe, enum uring_file which)
{
	if (u->fixed) {
		sqe->fd = (int)which;
		sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		sqe->fd = u->fds[which];
	}
}

void uring_doorbell_arm(struct uring *u)
{
	struct io_uring_sqe *sqe;

	if (u->db_armed)
		return;
	sqe = uring_sqe(u);
	if (unlikely(!sqe))
		return;		/* retried next turn; the wait timeout covers us */
	io_uring_prep_read(sqe, -1, &u->db_val, sizeof(u->db_val), 0);
	uring_sqe_file(u, sqe, URING_FILE_DB);
	io_uring_sqe_set_data64(sqe, uring_ud(URING_OP_DOORBELL, 0));
	u->db_armed = true;
}

void uring_cancel(struct uring *u, uint64_t ud)
{
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (unlikely(!sqe))
		return;		/* the drain's bounded wait gives up on it */
	io_uring_prep_cancel64(sqe, ud, 0);
	io_uring_sqe_set_data64(sqe, uring_ud(URING_OP_CANCEL, 0));
}

void uring_submit(struct uring *u)
{
	/*
	 * Also enters for events: under DEFER_TASKRUN nothing completes until
	 * we do. Errors (-EINTR, -EBUSY) are retried on the next turn.
	 */
	(void)io_uring_submit_and_get_events(&u->ring);
}

void uring_wait(struct uring *u, int timeout_ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long long)(timeout_ms % 1000) * NSEC_PER_MSEC,
	};
	struct io_uring_cqe *cqe;

	/* -ETIME and -EINTR just end the wait; the loop re-checks everything. */
	(void)io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
}

void uring_rx_slots_init(struct uring_rx_slots *rs)
{
	memset(rs, 0, sizeof(*rs));
	for (uint32_t i = 0; i < URING_RX_SLOTS; i++)
		rs->ready[rs->nready++] = URING_RX_SLOTS - 1 - i;
	rs->want = URING_RX_MIN;
}

void uring_rx_slot_park(struct uring_rx_slots *rs, uint32_t idx)
{
	/* Errors are rare: reading the clock here costs the data path nothing. */
	if (!rs->nparked)
		rs->unpark_ns = clock_mono_ns() + URING_BACKOFF_MS * NSEC_PER_MSEC;
	rs->narmed--;
	rs->parked[rs->nparked++] = idx;
}

void uring_rx_slots_unpark(struct uring_rx_slots *rs)
{
	if (likely(!rs->nparked) || clock_mono_ns() < rs->unpark_ns)
		return;
	while (rs->nparked)
		rs->ready[rs->nready++] = rs->parked[--rs->nparked];
}

int uring_rx_slots_timeout_ms(const struct uring_rx_slots *rs)
{
	if (rs->starved)
		return URING_STARVED_MS;
	if (rs->nparked)
		return URING_BACKOFF_MS;
	return URING_WAIT_MS;
}

void uring_rx_slots_free(struct uring_rx_slots *rs)
{
	for (unsigned int i = 0; i < URING_RX_SLOTS; i++) {
		if (rs->pkt[i])
			pkt_free(rs->pkt[i]);
		rs->pkt[i] = NULL;
	}
	rs->nready = 0;
	rs->nparked = 0;
}

void uring_tx_slots_init(struct uring_tx_slots *ts)
{
	memset(ts, 0, sizeof(*ts));
	for (uint32_t i = 0; i < URING_TX_SLOTS; i++)
		ts->free[ts->nfree++] = URING_TX_SLOTS - 1 - i;
}
