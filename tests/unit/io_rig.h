/*
 * io_rig.h - what the io/ loop tests (io_test, tun_test, tcp_test) share:
 * a check for calls that return a count, an fd or a pid, a sleep, and the
 * stop of a loop thread. Include after harness.h, from one .c file.
 */
#ifndef SLUICE_TEST_IO_RIG_H
#define SLUICE_TEST_IO_RIG_H

#include <string.h>
#include <time.h>

#include "../../core/thread.h"
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

#endif
