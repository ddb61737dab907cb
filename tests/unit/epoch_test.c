/*
 * epoch_test.c - tests for core/epoch.c (the ck_epoch wrapper).
 *
 * Reader records: a struct epoch_reader may be registered again after
 * epoch_reader_unregister(), and its memory may be freed once its thread
 * stopped (ctrl's pipeline_destroy does both). ck_epoch keeps every record it
 * was given on its list forever, so each case runs in a child process: a
 * hang (record list turned into a cycle) or a crash (scan of freed memory)
 * fails the case instead of the whole run.
 *
 * Grace: a reader parked inside its section keeps a retired object alive
 * through any number of epoch_poll() calls; once it leaves, one poll frees it.
 *
 * Stress: reader threads loop over sections, each reading the published
 * pointer (acquire) and checking the object's canaries for a while; the main
 * thread (ctrl's role) publishes new objects (release), retires the old ones
 * and polls. The free callback marks the object freed, poisons it and puts it
 * in a FIFO quarantine before reuse, so a reader that ever sees the mark, the
 * poison or a changed value caught a free inside a live section. The objects
 * are really freed after the readers stopped.
 *
 * All shared fields are accessed with atomics: TSan cannot see ck_epoch's
 * ordering (ck_pr is inline asm and libck is not instrumented), so plain
 * accesses here would be reported although the epoch orders them.
 *
 * Env: SLUICE_TEST_SCALE (default 1, 0.25 under TSan) scales iterations.
 * Exit 0 pass, 1 fail.
 */
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/epoch.h"
#include "../../core/thread.h"
#include "harness.h"

#define CHECK_MUL	0x9e3779b97f4a7c15ULL
#define POISON		0x6b6b6b6b6b6b6b6bULL

struct obj {
	uint64_t value;
	uint64_t check;		/* value * CHECK_MUL while live */
	int freed;		/* canary: set by the free callback */
	struct obj *next;	/* quarantine queue; main thread only */
};

/*
 * Freed objects wait in a FIFO quarantine before reuse, so a reader that got
 * one freed under it finds the mark, not a fresh object. Every object ever
 * made is in objs[] and freed for real at the end.
 */
#define QUARANTINE	4096

static struct obj **objs;
static unsigned long nobjs, objs_cap, nfreed;
static struct obj *q_head, *q_tail;
static unsigned long q_len;
static struct obj *published;

static struct obj *obj_alloc(void)
{
	struct obj *o;

	if (q_len > QUARANTINE) {
		o = q_head;
		q_head = o->next;
		if (!q_head)
			q_tail = NULL;
		q_len--;
		return o;
	}
	if (nobjs == objs_cap) {
		objs_cap = objs_cap ? objs_cap * 2 : 1024;
		objs = realloc(objs, objs_cap * sizeof(*objs));
	}
	o = calloc(1, sizeof(*o));
	if (!o || !objs) {
		FATAL("out of memory");
	}
	objs[nobjs++] = o;
	return o;
}

static unsigned long nretired;

static struct obj *obj_new(uint64_t v)
{
	struct obj *o = obj_alloc();

	/* Atomic: a broken epoch would have readers on it right now. */
	__atomic_store_n(&o->value, v, __ATOMIC_RELAXED);
	__atomic_store_n(&o->check, v * CHECK_MUL, __ATOMIC_RELAXED);
	__atomic_store_n(&o->freed, 0, __ATOMIC_RELAXED);
	o->next = NULL;
	return o;
}

/* The epoch's free callback: mark, poison, quarantine. */
static void obj_free(void *arg)
{
	struct obj *o = arg;

	CHECK(!__atomic_load_n(&o->freed, __ATOMIC_RELAXED), "object %llu freed twice",
	      (unsigned long long)o->value);
	__atomic_store_n(&o->freed, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&o->value, POISON, __ATOMIC_RELAXED);
	__atomic_store_n(&o->check, POISON, __ATOMIC_RELAXED);
	o->next = NULL;
	if (q_tail)
		q_tail->next = o;
	else
		q_head = o;
	q_tail = o;
	q_len++;
	nfreed++;
}

/* True if @o still looks live to a reader. */
static int obj_live(const struct obj *o)
{
	uint64_t v = __atomic_load_n(&o->value, __ATOMIC_RELAXED);
	uint64_t c = __atomic_load_n(&o->check, __ATOMIC_RELAXED);

	return !__atomic_load_n(&o->freed, __ATOMIC_RELAXED) && c == v * CHECK_MUL;
}

static void publish(struct obj *o)
{
	/* Release pairs with the readers' acquire: the fields are set. */
	__atomic_store_n(&published, o, __ATOMIC_RELEASE);
}

/* Runs @fn in a child; a signal (SIGALRM: hang) or non-zero exit fails @name. */
static void run_child(const char *name, void (*fn)(void))
{
	int st = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		CHECK(0, "%s: fork failed", name);
		return;
	}
	if (pid == 0) {
		alarm(5);
		fn();
		_exit(0);
	}
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		CHECK(0, "%s: child killed by signal %d (%s)", name, WTERMSIG(st),
		      WTERMSIG(st) == SIGALRM ? "hung in epoch_poll/barrier" :
		      "touched a reader's freed memory");
	else
		CHECK(WEXITSTATUS(st) == 0, "%s: child exit %d", name, WEXITSTATUS(st));
}

/* Register, unregister, register the same struct again: a thread restart. */
static void reregister_case(void)
{
	static struct epoch_reader r;

	epoch_reader_register(&r);
	epoch_begin(&r);
	epoch_end(&r);
	epoch_reader_unregister(&r);
	epoch_reader_register(&r);
	epoch_begin(&r);
	epoch_end(&r);
	epoch_poll();
	epoch_barrier();
	epoch_reader_unregister(&r);
	epoch_barrier();
}

/* The memory of a stopped reader goes away, unregistered or not. */
static void freed_reader_case(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *a = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	void *b = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	struct epoch_reader *ra = a, *rb = b;

	if (a == MAP_FAILED || b == MAP_FAILED)
		_exit(2);
	epoch_reader_register(ra);
	epoch_reader_register(rb);
	epoch_begin(ra);
	epoch_end(ra);
	epoch_reader_unregister(ra);
	munmap(a, (size_t)pg);		/* unregistered, then freed */
	munmap(b, (size_t)pg);		/* freed without unregistering */
	epoch_poll();
	epoch_barrier();
}

static void test_records(void)
{
	run_child("re-register after unregister", reregister_case);
	run_child("reader memory freed after its thread stopped", freed_reader_case);
}

struct reader {
	struct thread thr;
	struct epoch_reader er;
	int park;		/* grace test: stay in the section while set */
	int inside;		/* grace test: the reader is in its section */
	uint64_t sections, reads, bad;
};

/* Grace test reader: one section, held until told to leave. */
static void *parked_main(void *arg)
{
	struct reader *r = arg;
	struct obj *o;

	epoch_begin(&r->er);
	o = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
	__atomic_store_n(&r->inside, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&r->park, __ATOMIC_ACQUIRE))
		sched_yield();
	if (!obj_live(o))
		r->bad++;
	epoch_end(&r->er);
	return NULL;
}

static void test_grace(void)
{
	static struct reader r;
	struct obj *a, *b;
	int polls;

	memset(&r, 0, sizeof(r));
	a = obj_new(1);
	publish(a);
	r.park = 1;
	epoch_reader_register(&r.er);
	if (thread_init(&r.thr, "parked", parked_main, &r, -1) || thread_start(&r.thr)) {
		CHECK(0, "thread start");
		exit(1);
	}
	while (!__atomic_load_n(&r.inside, __ATOMIC_ACQUIRE))
		sched_yield();

	b = obj_new(2);
	publish(b);
	CHECK(epoch_retire(a, obj_free) == 0, "epoch_retire");
	nretired++;
	CHECK(epoch_pending() == 1, "pending %lu, expected 1", epoch_pending());
	for (polls = 0; polls < 1000; polls++)
		epoch_poll();
	CHECK(!a->freed && epoch_pending() == 1,
	      "object freed while a reader that may hold it is in its section");

	__atomic_store_n(&r.park, 0, __ATOMIC_RELEASE);
	thread_join(&r.thr);
	for (polls = 0; polls < 10 && epoch_pending(); polls++)
		epoch_poll();
	CHECK(a->freed && epoch_pending() == 0, "not freed %d polls after the reader left",
	      polls);
	CHECK(r.bad == 0, "parked reader saw its object freed");
	epoch_reader_unregister(&r.er);

	/* barrier with no reader in a section frees everything at once. */
	publish(NULL);
	CHECK(epoch_retire(b, obj_free) == 0, "epoch_retire");
	nretired++;
	epoch_barrier();
	CHECK(b->freed && epoch_pending() == 0, "barrier left %lu pending", epoch_pending());
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t seed = 0x1234567ULL + (uint64_t)r->thr.tid;

	while (!thread_should_stop(&r->thr)) {
		unsigned int n = 1 + (unsigned int)(harness_rnd(&seed) % 16), i;
		struct obj *o;

		/* Now and then a long section, so retires pile up behind it. */
		if ((harness_rnd(&seed) & 255) == 0)
			n = 2000;
		uint64_t v;

		epoch_begin(&r->er);
		o = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
		v = __atomic_load_n(&o->value, __ATOMIC_RELAXED);
		for (i = 0; i < n; i++) {
			/* Freed, poisoned, or reused for another value: all bad. */
			if (!obj_live(o) || __atomic_load_n(&o->value, __ATOMIC_RELAXED) != v)
				r->bad++;
			__builtin_ia32_pause();
		}
		r->reads += n;
		epoch_end(&r->er);
		r->sections++;
	}
	return NULL;
}

#define NREADERS	3

static void test_stress(void)
{
	static struct reader rd[NREADERS];
	unsigned long rounds = (unsigned long)(2000000 * harness_scale(0.25));
	unsigned long i, max_pending = 0, freed0 = nfreed, freed_during;
	uint64_t sections = 0, reads = 0, bad = 0;
	int64_t t0 = clock_mono_ns();
	int k;

	publish(obj_new(1000));
	for (k = 0; k < NREADERS; k++) {
		memset(&rd[k], 0, sizeof(rd[k]));
		epoch_reader_register(&rd[k].er);
		if (thread_init(&rd[k].thr, "reader", reader_main, &rd[k], -1) ||
		    thread_start(&rd[k].thr)) {
			CHECK(0, "thread start");
			exit(1);
		}
	}
	for (i = 0; i < rounds; i++) {
		struct obj *old = published;

		publish(obj_new(1001 + i));
		if (epoch_retire(old, obj_free)) {
			CHECK(0, "epoch_retire failed");
			break;
		}
		nretired++;
		if ((i & 3) == 0)
			epoch_poll();
		if (epoch_pending() > max_pending)
			max_pending = epoch_pending();
	}
	freed_during = nfreed - freed0;
	for (k = 0; k < NREADERS; k++) {
		thread_request_stop(&rd[k].thr);
		thread_join(&rd[k].thr);
		sections += rd[k].sections;
		reads += rd[k].reads;
		bad += rd[k].bad;
		epoch_reader_unregister(&rd[k].er);
	}
	CHECK(bad == 0, "readers saw a freed object %llu times", (unsigned long long)bad);
	CHECK(freed_during > 0, "epoch_poll freed nothing in %lu rounds", rounds);
	epoch_barrier();
	CHECK(epoch_pending() == 0, "after barrier %lu pending", epoch_pending());
	/* Every retired object was freed (twice would have failed in obj_free). */
	CHECK(nfreed == nretired, "freed %lu of %lu retired objects", nfreed, nretired);
	CHECK(!published->freed, "the published object was freed");
	printf("stress: readers=%d rounds=%lu sections=%llu reads=%llu freed_by_poll=%lu "
	       "max_pending=%lu objects=%lu time_ms=%lld\n",
	       NREADERS, rounds, (unsigned long long)sections, (unsigned long long)reads,
	       freed_during, max_pending, nobjs,
	       (long long)((clock_mono_ns() - t0) / NSEC_PER_MSEC));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	epoch_init();
	test_records();		/* forks: before any thread starts */
	test_grace();
	test_stress();
	for (unsigned long i = 0; i < nobjs; i++)
		free(objs[i]);
	free(objs);

	return harness_done("epoch_test");
}
