/*
 * ring_test.c - tests for core/ring.c: struct spsc and struct doorbell.
 *
 * Single thread: numbered table cases (capacity, burst stops at full, order,
 * count/free, invalid sizes), a differential run against a naive counter
 * model through many wraparounds (also across the 32-bit index wrap), and
 * the doorbell's ring/quiet/notify/kick rules.
 *
 * Two threads (ck regressions/ck_ring/validate/ck_ring_spsc.c): a producer
 * stamps p->seq and p->owner on pool packets and sends random bursts; the
 * consumer checks and rewrites the stamp, frees the packets home over the
 * pool's return ring and sleeps on its doorbell whenever the ring is empty.
 * Then a no-lost-wake-up stress: single-packet hand-offs to a consumer that
 * always sleeps with a 2 s timeout; any wait over 1 s means a lost wake-up.
 *
 * Env: SLUICE_TEST_SCALE (default 1, 0.1 under TSan) scales iterations.
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/clock.h"
#include "../../core/pkt.h"
#include "../../core/ring.h"
#include "../../core/thread.h"
#include "harness.h"

static uint64_t scaled(uint64_t n, uint64_t floor)
{
	uint64_t v = (uint64_t)((double)n * harness_scale(0.1));

	return v < floor ? floor : v;
}

static void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static void sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* True if the eventfd has a count, without consuming it. */
static int efd_ready(const struct doorbell *db)
{
	struct pollfd pfd = { .fd = db->efd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/*
 * Table cases on one ring. The ring never dereferences what it carries, so
 * the single-thread cases send numbered tokens instead of real packets;
 * DEQ checks that tokens come out in the order they went in.
 */
static struct spsc *tr;
static struct doorbell tdb;
static unsigned int tin, tout;	/* next token to enqueue / to expect */
static int tcase;

static struct pkt *tok(unsigned int v)
{
	return (struct pkt *)(uintptr_t)(0x10000 + (uintptr_t)v * CACHELINE);
}

static void t_reset(int line, unsigned int slots)
{
	int rc;

	spsc_destroy(tr);
	tr = NULL;
	tin = tout = 0;
	tcase++;
	rc = spsc_create(&tr, slots, &tdb, "table");
	if (rc) {
		harness_fatal(__FILE__, line, "case %d: spsc_create(%u) = %d, expected 0", tcase,
			      slots, rc);
	}
}

static struct pkt *tbuf[1024];

static void t_enq(int line, unsigned int n, unsigned int want)
{
	struct pkt **p = tbuf;
	unsigned int i, got;

	tcase++;
	for (i = 0; i < n; i++)
		p[i] = tok(tin + i);
	got = spsc_enqueue_burst(tr, p, n);
	tin += got;
	if (got != want) {
		harness_fail(__FILE__, line, "case %d: enqueue %u returned %u, expected %u", tcase,
			     n, got, want);
	}
}

static void t_deq(int line, unsigned int n, unsigned int want)
{
	struct pkt **p = tbuf;
	unsigned int i, got;

	tcase++;
	got = spsc_dequeue_burst(tr, p, n);
	if (got != want) {
		harness_fail(__FILE__, line, "case %d: dequeue %u returned %u, expected %u", tcase,
			     n, got, want);
	}
	for (i = 0; i < got; i++, tout++) {
		if (p[i] != tok(tout)) {
			harness_fail(__FILE__, line,
				     "case %d: slot %u out of order, expected token %u", tcase, i,
				     tout);
			break;
		}
	}
}

static void t_cnt(int line, unsigned int count, unsigned int room)
{
	unsigned int c = spsc_count(tr), f = spsc_free(tr);

	tcase++;
	if (c != count || f != room) {
		harness_fail(__FILE__, line, "case %d: count/free %u/%u, expected %u/%u", tcase, c,
			     f, count, room);
	}
}

#define RESET(slots)	t_reset(__LINE__, slots)
#define ENQ(n, want)	t_enq(__LINE__, n, want)
#define DEQ(n, want)	t_deq(__LINE__, n, want)
#define CNT(c, f)	t_cnt(__LINE__, c, f)

static void test_table(void)
{
	CHECK(doorbell_init(&tdb) == 0, "doorbell_init failed");

	RESET(4);	CNT(0, 3);
	DEQ(1, 0);	DEQ(0, 0);	ENQ(0, 0);	CNT(0, 3);
	ENQ(1, 1);	CNT(1, 2);
	ENQ(5, 2);	CNT(3, 0);	/* burst stops at full: 4 slots hold 3 */
	ENQ(1, 0);	ENQ(32, 0);	CNT(3, 0);
	DEQ(2, 2);	CNT(1, 2);
	ENQ(2, 2);	CNT(3, 0);
	DEQ(32, 3);	CNT(0, 3);
	DEQ(32, 0);

	RESET(8);	ENQ(7, 7);	ENQ(1, 0);	CNT(7, 0);
	DEQ(1, 1);	ENQ(2, 1);	DEQ(7, 7);	CNT(0, 7);
	ENQ(3, 3);	DEQ(2, 2);	ENQ(6, 6);	CNT(7, 0);	DEQ(8, 7);

	RESET(256);	ENQ(32, 32);	ENQ(300, 223);	CNT(255, 0);
	DEQ(200, 200);	CNT(55, 200);	ENQ(100, 100);	CNT(155, 100);
	DEQ(300, 155);	CNT(0, 255);
	CHECK(spsc_hwm(tr) == 255, "high-water mark %u, expected 255", spsc_hwm(tr));

	/* The high-water mark: the most queued just after an enqueue; dequeues never lower it. */
	RESET(64);	CHECK(spsc_hwm(tr) == 0, "fresh ring: high-water mark %u", spsc_hwm(tr));
	ENQ(10, 10);	DEQ(8, 8);	ENQ(5, 5);	CNT(7, 56);
	CHECK(spsc_hwm(tr) == 10, "high-water mark %u, expected 10", spsc_hwm(tr));
	ENQ(6, 6);	DEQ(13, 13);
	CHECK(spsc_hwm(tr) == 13, "high-water mark %u, expected 13", spsc_hwm(tr));

	RESET(1024);	ENQ(1024, 1023);	CNT(1023, 0);	DEQ(1, 1);
	ENQ(1024, 1);	DEQ(1024, 1023);	CNT(0, 1023);

	spsc_destroy(tr);
	tr = NULL;
	doorbell_destroy(&tdb);
}

/* spsc_create() accepts exactly the powers of two >= 4. */
static void test_sizes(void)
{
	static const struct {
		unsigned int slots;
		int rc;
	} c[] = {
#define T(slots, rc) { slots, rc },
		T(0, -EINVAL)
		T(1, -EINVAL)
		T(2, -EINVAL)
		T(3, -EINVAL)
		T(4, 0)
		T(5, -EINVAL)
		T(6, -EINVAL)
		T(7, -EINVAL)
		T(8, 0)
		T(12, -EINVAL)
		T(100, -EINVAL)
		T(255, -EINVAL)
		T(256, 0)
		T(1000, -EINVAL)
		T(4096, 0)
		T(65536, 0)
		T(0x80000001u, -EINVAL)
		T(UINT_MAX, -EINVAL)
#undef T
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		struct spsc *r = NULL;
		int rc = spsc_create(&r, c[i].slots, NULL, "size");

		CHECK(rc == c[i].rc, "size case %u: spsc_create(%u) = %d, expected %d", i + 1,
		      c[i].slots, rc, c[i].rc);
		if (rc == 0) {
			CHECK(spsc_capacity(r) == c[i].slots - 1,
			      "size case %u: capacity %u, expected %u", i + 1, spsc_capacity(r),
			      c[i].slots - 1);
			CHECK(spsc_count(r) == 0 && spsc_free(r) == c[i].slots - 1,
			      "size case %u: new ring not empty", i + 1);
			spsc_destroy(r);
		}
	}
	spsc_destroy(NULL);
}

/* Moves both indices of an empty ring to @v, to cross the 32-bit wrap quickly. */
static void ring_set_index(struct spsc *r, unsigned int v)
{
#ifdef RING_C11
	r->head = v;
	r->tail = v;
#else
	r->ring.c_head = v;
	r->ring.p_head = v;
	r->ring.p_tail = v;
#endif
}

/*
 * Differential: random bursts against a naive model (two counters). The
 * tokens carry their sequence number, so order, loss and duplication all
 * show up as a mismatch.
 */
static void wrap_run(unsigned int slots, unsigned int start, uint64_t ops, uint64_t seed)
{
	struct pkt *p[BURST_MAX * 2];
	struct spsc *r = NULL;
	uint64_t in = 0, out = 0;
	uint64_t op;

	if (spsc_create(&r, slots, NULL, "wrap")) {
		CHECK(0, "spsc_create(%u) failed", slots);
		return;
	}
	ring_set_index(r, start);
	for (op = 0; op < ops; op++) {
		unsigned int n = (unsigned int)(harness_rnd(&seed) % (ARRAY_SIZE(p) + 1));
		unsigned int held = (unsigned int)(in - out), want, got, i;

		if (harness_rnd(&seed) & 1) {
			want = MIN(n, slots - 1 - held);
			for (i = 0; i < n; i++)
				p[i] = tok((unsigned int)(in + i));
			got = spsc_enqueue_burst(r, p, n);
			in += got;
			CHECK(got == want, "wrap %u@%#x op %llu: enqueue %u got %u, expected %u",
			      slots, start, (unsigned long long)op, n, got, want);
		} else {
			want = MIN(n, held);
			got = spsc_dequeue_burst(r, p, n);
			CHECK(got == want, "wrap %u@%#x op %llu: dequeue %u got %u, expected %u",
			      slots, start, (unsigned long long)op, n, got, want);
			for (i = 0; i < got; i++, out++)
				if (p[i] != tok((unsigned int)out)) {
					CHECK(0, "wrap %u@%#x op %llu: token %u out of order",
					      slots, start, (unsigned long long)op, i);
					goto out;
				}
		}
		held = (unsigned int)(in - out);
		if (spsc_count(r) != held || spsc_free(r) != slots - 1 - held) {
			CHECK(0, "wrap %u@%#x op %llu: count/free %u/%u, expected %u/%u", slots,
			      start, (unsigned long long)op, spsc_count(r), spsc_free(r), held,
			      slots - 1 - held);
			goto out;
		}
	}
	/* Many laps around the slots, and (from start) across the index wrap. */
	CHECK(in / slots >= 8, "wrap %u: only %llu laps", slots,
	      (unsigned long long)(in / slots));
out:
	spsc_destroy(r);
}

static void test_wrap(void)
{
	uint64_t ops = scaled(200000, 20000);

	wrap_run(4, 0, ops, 1);
	wrap_run(8, 0, ops, 2);
	wrap_run(64, 0, ops, 3);
	wrap_run(4, UINT_MAX - 2, ops, 4);
	wrap_run(64, UINT_MAX - 40, ops, 5);
	wrap_run(1024, UINT_MAX - 700, ops, 6);
}

/* Producers ring only a sleeping consumer, and only when something went in. */
static void test_doorbell_rules(void)
{
	struct pkt *p[4] = { tok(0), tok(1), tok(2), tok(3) };
	struct pkt *q[4];
	struct spsc *r = NULL;
	struct doorbell db;
	int64_t t0;

	if (doorbell_init(&db) || spsc_create(&r, 4, &db, "bell")) {
		CHECK(0, "doorbell/ring setup failed");
		return;
	}
	CHECK(db.efd >= 0 && db.sleeping == 0, "fresh doorbell: efd %d sleeping %d", db.efd,
	      db.sleeping);

	CHECK(spsc_enqueue_burst(r, p, 1) == 1, "enqueue");
	CHECK(!efd_ready(&db), "rang a consumer that was not sleeping");

	doorbell_prepare_sleep(&db);
	CHECK(db.sleeping == 1, "prepare_sleep did not set the flag");
	CHECK(spsc_enqueue_burst_quiet(r, p + 1, 1) == 1, "enqueue_quiet");
	CHECK(!efd_ready(&db) && db.sleeping == 1, "quiet enqueue rang");
	spsc_notify(r);
	CHECK(efd_ready(&db), "notify did not ring a sleeping consumer");
	CHECK(db.sleeping == 0, "ring did not clear the flag");
	t0 = clock_mono_ns();
	doorbell_wait(&db, 5000);
	CHECK(clock_mono_ns() - t0 < NSEC_PER_SEC, "wait blocked although rung");
	CHECK(!efd_ready(&db) && db.sleeping == 0, "wait did not drain the eventfd");

	/* Full ring: nothing went in, so no ring either. */
	CHECK(spsc_enqueue_burst(r, p + 2, 2) == 1, "fill");
	doorbell_prepare_sleep(&db);
	CHECK(spsc_enqueue_burst(r, p + 3, 1) == 0, "enqueue into a full ring");
	CHECK(!efd_ready(&db) && db.sleeping == 1, "failed enqueue rang");
	doorbell_cancel_sleep(&db);
	CHECK(db.sleeping == 0, "cancel_sleep did not clear the flag");

	/* Not sleeping: enqueue rings nothing, even after a dequeue made room. */
	CHECK(spsc_dequeue_burst(r, q, 4) == 3, "drain");
	CHECK(spsc_enqueue_burst(r, p, 1) == 1 && !efd_ready(&db), "rang an awake consumer");

	/* Timeout path: returns, clears the flag. */
	doorbell_prepare_sleep(&db);
	t0 = clock_mono_ns();
	doorbell_wait(&db, 20);
	CHECK(clock_mono_ns() - t0 >= 15 * NSEC_PER_MSEC, "wait(20 ms) returned early");
	CHECK(db.sleeping == 0, "timed-out wait left the flag set");

	doorbell_kick(&db);
	CHECK(efd_ready(&db), "kick did not ring");
	doorbell_clear(&db);
	CHECK(!efd_ready(&db), "clear did not drain");

	spsc_destroy(r);
	doorbell_destroy(&db);
	CHECK(db.efd == -1, "destroy did not forget the eventfd");
}

/* Two threads through the real ring; see the file comment. */
struct xfer {
	struct thread prod, cons;
	struct doorbell db;
	struct pool *pool;
	struct spsc *ring;
	uint64_t total;		/* packets to pass */
	unsigned int pauses;	/* producer pauses for a sleeping consumer */
	unsigned int single;	/* 1: one packet per hand-off, consumer always sleeps */
	int asleep;		/* consumer is in doorbell_wait (test-only flag) */
	int abort;		/* either side gave up */
	uint64_t received;	/* consumer progress, read by the producer */
	/* Results, read after join. */
	uint64_t sent, bad_seq, bad_owner, bad_data, bad_inuse;
	uint64_t waits, slept_ns, long_waits, cancels, pauses_done;
};

static struct xfer xf;

#define LONG_WAIT_NS	NSEC_PER_SEC
#define XFER_DEADLINE	(120 * NSEC_PER_SEC)

/* Producer: waits until the consumer said it sleeps, then a little more. */
static void xfer_pause(struct xfer *x)
{
	int64_t end = clock_mono_ns() + 10 * NSEC_PER_SEC;

	while (!__atomic_load_n(&x->asleep, __ATOMIC_ACQUIRE)) {
		if (clock_mono_ns() > end || __atomic_load_n(&x->abort, __ATOMIC_RELAXED)) {
			__atomic_store_n(&x->abort, 1, __ATOMIC_RELAXED);
			return;
		}
		sleep_ns(100 * 1000);
	}
	sleep_ns(5 * NSEC_PER_MSEC);
	x->pauses_done++;
}

/* Producer: stamps and sends; keeps what the ring refused for the next try. */
static void *xfer_producer(void *arg)
{
	struct xfer *x = arg;
	struct pkt *stage[BURST_MAX];
	unsigned int nstage = 0, off = 0, next_pause = 1;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, seq = 0;
	uint16_t me = (uint16_t)thread_self_id();

	while (x->sent < x->total && !__atomic_load_n(&x->abort, __ATOMIC_RELAXED)) {
		if (off == nstage) {
			unsigned int want = 1 + (unsigned int)(harness_rnd(&seed) % BURST_MAX), i;

			if (x->single) {
				/* Hand-off k+1 only once k arrived, at a random moment. */
				for (i = 0; __atomic_load_n(&x->received, __ATOMIC_ACQUIRE) < seq &&
				     !__atomic_load_n(&x->abort, __ATOMIC_RELAXED); i++)
					if (i % 1024 == 1023)
						sched_yield();	/* the consumer may need this CPU */
					else
						cpu_relax();
				switch (harness_rnd(&seed) & 3) {
				case 1:
					for (i = harness_rnd(&seed) % 256; i; i--)
						cpu_relax();
					break;
				case 2:
					sched_yield();
					break;
				case 3:
					for (i = harness_rnd(&seed) % 4096; i; i--)
						cpu_relax();
					break;
				}
				want = 1;
			} else if (next_pause <= x->pauses &&
				   seq >= next_pause * x->total / (x->pauses + 1)) {
				xfer_pause(x);
				next_pause++;
			}
			want = (unsigned int)MIN((uint64_t)want, x->total - seq);
			nstage = pool_get_burst(x->pool, stage, want);
			off = 0;
			if (!nstage) {
				sched_yield();	/* packets are on their way home */
				continue;
			}
			for (i = 0; i < nstage; i++) {
				struct pkt *p = stage[i];

				if (p->in_use != 1)
					x->bad_inuse++;
				p->seq = seq;
				p->owner = me;
				memcpy(p->data, &seq, sizeof(seq));
				p->len = sizeof(seq);
				seq++;
			}
		}
		off += spsc_enqueue_burst(x->ring, stage + off, nstage - off);
		if (off == nstage)
			x->sent += nstage;
	}
	return NULL;
}

static void xfer_check(struct xfer *x, struct pkt *p, uint16_t me)
{
	uint64_t want = x->received, data;

	if (p->seq != want)
		x->bad_seq++;
	if (p->owner != (uint16_t)x->prod.tid)
		x->bad_owner++;
	memcpy(&data, p->data, sizeof(data));
	if (p->len != sizeof(data) || data != p->seq)
		x->bad_data++;
	if (p->in_use != 1)
		x->bad_inuse++;
	p->owner = me;
	__atomic_store_n(&x->received, want + 1, __ATOMIC_RELEASE);
}

/* Consumer: announce, re-check, block; count how and how long it slept. */
static void xfer_sleep(struct xfer *x)
{
	struct thread *self = thread_self();
	int64_t t0, dt;

	doorbell_prepare_sleep(&x->db);
	if (spsc_count(x->ring)) {
		doorbell_cancel_sleep(&x->db);
		x->cancels++;
		return;
	}
	__atomic_store_n(&x->asleep, 1, __ATOMIC_RELEASE);
	t0 = clock_mono_ns();
	doorbell_wait(&x->db, 2000);
	dt = clock_mono_ns() - t0;
	__atomic_store_n(&x->asleep, 0, __ATOMIC_RELAXED);
	STAT_INC(self->stats.wakeups);
	x->waits++;
	x->slept_ns += (uint64_t)dt;
	if (dt > LONG_WAIT_NS)
		x->long_waits++;
}

static void *xfer_consumer(void *arg)
{
	struct xfer *x = arg;
	struct pkt *p[BURST_MAX];
	uint64_t seed = 0xd1b54a32d192ed03ULL;
	uint16_t me = (uint16_t)thread_self_id();
	int64_t deadline = clock_mono_ns() + XFER_DEADLINE;
	unsigned int idle = 0;

	while (x->received < x->total) {
		unsigned int want = 1 + (unsigned int)(harness_rnd(&seed) % BURST_MAX);
		unsigned int n = spsc_dequeue_burst(x->ring, p, want), i;

		if (n) {
			for (i = 0; i < n; i++)
				xfer_check(x, p[i], me);
			pkt_free_burst(p, n);
			idle = 0;
			continue;
		}
		if (__atomic_load_n(&x->abort, __ATOMIC_RELAXED))
			break;
		/* A real stage spins briefly before it sleeps; the stress never spins. */
		if (!x->single && ++idle < 64) {
			cpu_relax();
			continue;
		}
		idle = 0;
		xfer_sleep(x);
		if (x->long_waits > 3 || clock_mono_ns() > deadline) {
			__atomic_store_n(&x->abort, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	return NULL;
}

static int xfer_run(const char *name, unsigned int slots, uint32_t pool_count, uint64_t total,
		    unsigned int pauses, unsigned int single)
{
	struct xfer *x = &xf;
	int64_t t0, dt;
	uint32_t avail;
	unsigned int fails = failures;

	thread_reset_ids();
	memset(x, 0, sizeof(*x));
	x->total = total;
	x->pauses = pauses;
	x->single = single;
	if (thread_init(&x->prod, "producer", xfer_producer, x, -1) ||
	    thread_init(&x->cons, "consumer", xfer_consumer, x, -1) || doorbell_init(&x->db) ||
	    spsc_create(&x->ring, slots, &x->db, "xfer") ||
	    pool_create(&x->pool, pool_count, PKT_CLASS_MTU, x->prod.tid) ||
	    pool_add_returner(x->pool, x->cons.tid)) {
		CHECK(0, "%s: setup failed", name);
		exit(1);
	}
	t0 = clock_mono_ns();
	if (thread_start(&x->cons) || thread_start(&x->prod)) {
		CHECK(0, "%s: thread_start failed", name);
		exit(1);
	}
	thread_join(&x->prod);
	thread_join(&x->cons);
	dt = clock_mono_ns() - t0;

	CHECK(!x->abort, "%s: aborted (producer or consumer stuck) after %llu of %llu", name,
	      (unsigned long long)x->received, (unsigned long long)total);
	CHECK(x->sent == total && x->received == total, "%s: sent %llu received %llu of %llu",
	      name, (unsigned long long)x->sent, (unsigned long long)x->received,
	      (unsigned long long)total);
	CHECK(x->bad_seq == 0, "%s: %llu packets lost, duplicated or reordered", name,
	      (unsigned long long)x->bad_seq);
	CHECK(x->bad_owner == 0, "%s: %llu packets with a foreign owner stamp", name,
	      (unsigned long long)x->bad_owner);
	CHECK(x->bad_data == 0, "%s: %llu packets with corrupt payload", name,
	      (unsigned long long)x->bad_data);
	CHECK(x->bad_inuse == 0, "%s: %llu packets not marked in use", name,
	      (unsigned long long)x->bad_inuse);
	CHECK(x->pauses_done == pauses, "%s: producer paused %llu times, expected %u", name,
	      (unsigned long long)x->pauses_done, pauses);
	CHECK(x->waits >= pauses, "%s: consumer slept %llu times, expected at least %u", name,
	      (unsigned long long)x->waits, pauses);
	CHECK(STAT_READ(x->cons.stats.wakeups) == x->waits, "%s: stats.wakeups %llu != %llu",
	      name, (unsigned long long)STAT_READ(x->cons.stats.wakeups),
	      (unsigned long long)x->waits);
	CHECK(x->long_waits == 0, "%s: %llu waits over 1 s: lost wake-up", name,
	      (unsigned long long)x->long_waits);
	/* Everything went home; the producer has stopped, so ctrl may count. */
	avail = pool_available(x->pool);
	CHECK(avail == pool_count, "%s: pool has %u of %u packets back", name, avail, pool_count);
	CHECK(x->pool->leaked == 0, "%s: %llu leaked frees", name,
	      (unsigned long long)x->pool->leaked);

	printf("%s: slots=%u pool=%u pkts=%llu time_ms=%lld waits=%llu cancels=%llu "
	       "slept_ms=%.1f long_waits=%llu pauses=%llu %s\n",
	       name, slots, pool_count, (unsigned long long)total, (long long)(dt / NSEC_PER_MSEC),
	       (unsigned long long)x->waits, (unsigned long long)x->cancels,
	       (double)x->slept_ns / NSEC_PER_MSEC, (unsigned long long)x->long_waits,
	       (unsigned long long)x->pauses_done, failures == fails ? "ok" : "FAIL");

	pool_destroy(x->pool);
	spsc_destroy(x->ring);
	doorbell_destroy(&x->db);
	return failures == fails;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_table();
	test_sizes();
	test_wrap();
	test_doorbell_rules();
	printf("single-thread: %d table cases, %u failures\n", tcase, failures);

	/* Several million packets; a tiny ring and pool make both sides block often. */
	xfer_run("spsc-256", 256, 1024, scaled(8000000, 100000), 5, 0);
	xfer_run("spsc-4", 4, 48, scaled(1000000, 50000), 3, 0);
	/* No lost wake-up: every hand-off meets a consumer on its way to sleep. */
	xfer_run("bell-stress", 64, 64, scaled(50000, 2000), 0, 1);

	return harness_done("ring_test");
}
