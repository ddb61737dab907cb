/*
 * io_rig.h - what the io/ loop tests (io_test, tun_test, tcp_test) share:
 * a check for calls that return a count, an fd or a pid, a sleep, and the
 * stop of a loop thread. Include after harness.h, from one .c file.
 */
#ifndef SLUICE_TEST_IO_RIG_H
#define SLUICE_TEST_IO_RIG_H

#include <string.h>
#include <time.h>

#include "../../core/pkt.h"
#include "../../core/ring.h"
#include "../../core/thread.h"
#include "../../io/loop.h"
#include "harness.h"

/* MUST for calls that return a count, an fd or a pid on success: only < 0 fails. */
#define OK(expr)								\
	do {									\
		int rc_ = (expr);						\
		if (rc_ < 0)							\
			harness_fatal(__FILE__, __LINE__, "%s = %d (%s)", #expr, rc_,	\
				      strerror(-rc_));				\
	} while (0)

static inline void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Asks a loop thread to stop, wakes it and joins it. */
static inline void stop_thread(struct thread *t, struct doorbell *db)
{
	thread_request_stop(t);
	doorbell_kick(db);
	thread_join(t);
}

/* What rig_wire builds around one link_tx and one link_rx thread. */
struct rig_rings {
	struct spsc **enc, **dec;	/* @nw each: the workers' data rings */
	unsigned int nw;
	struct spsc *ctl_in, *ctl_out;	/* ctrl's rings */
	unsigned int ctl_out_n;		/* ctl_out's size */
	struct pool *txpool, *rxpool;	/* @pool_n packets each */
	unsigned int pool_n;
};

/*
 * Wires @ttx and @trx (their links already set) as the pipeline would: the
 * doorbells, the threads (not started), a send pool owned by @owner and a
 * receive pool owned by link_rx, both returned to by the other side, the
 * workers' rings and ctrl's rings of @r.
 */
static inline void rig_wire(struct link_tx_thread *ttx, struct link_rx_thread *trx,
			    struct rig_rings *r, int owner)
{
	OK(doorbell_init(&ttx->lp.db));
	OK(doorbell_init(&trx->lp.db));
	OK(thread_init(&ttx->lp.thr, "link_tx", link_tx_thread_main, ttx, -1));
	OK(thread_init(&trx->lp.thr, "link_rx", link_rx_thread_main, trx, -1));
	OK(pool_create(&r->txpool, r->pool_n, PKT_CLASS_MTU, owner));
	OK(pool_add_returner(r->txpool, ttx->lp.thr.tid));
	OK(pool_create(&r->rxpool, r->pool_n, PKT_CLASS_MTU, trx->lp.thr.tid));
	OK(pool_add_returner(r->rxpool, owner));
	for (unsigned int i = 0; i < r->nw; i++) {
		OK(spsc_create(&r->enc[i], 512, &ttx->lp.db, "enc"));
		OK(spsc_create(&r->dec[i], 1024, NULL, "dec"));
		ttx->in[i] = r->enc[i];
		trx->out[i] = r->dec[i];
	}
	OK(spsc_create(&r->ctl_in, 128, &ttx->lp.db, "ctl_in"));
	OK(spsc_create(&r->ctl_out, r->ctl_out_n, NULL, "ctl_out"));
	ttx->nin = trx->nout = r->nw;
	ttx->ctrl_in = r->ctl_in;
	trx->ctrl_out = r->ctl_out;
}

/* Frees what rig_wire made for @r (the threads joined, their packets home). */
static inline void rig_unwire(struct rig_rings *r)
{
	for (unsigned int i = 0; i < r->nw; i++) {
		spsc_destroy(r->enc[i]);
		spsc_destroy(r->dec[i]);
	}
	spsc_destroy(r->ctl_in);
	spsc_destroy(r->ctl_out);
	pool_destroy(r->txpool);
	pool_destroy(r->rxpool);
}

#endif
