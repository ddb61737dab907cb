/*
 * thread.c - owns the table of data-plane threads and their ids.
 * ctrl (the main thread) reserves ids, starts and joins threads; a started
 * thread learns its own id through a thread-local set before its main runs.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "thread.h"

static __thread int self_id;
static __thread struct thread *self_thread;
static struct thread *threads[THREAD_MAX];
static int next_id = 1;

int thread_self_id(void)
{
	return self_id;
}

struct thread *thread_self(void)
{
	return self_thread;
}

struct thread *thread_by_id(int tid)
{
	if (tid < 0 || tid >= THREAD_MAX)
		return NULL;
	return threads[tid];
}

int thread_init(struct thread *t, const char *name, void *(*fn)(void *), void *arg, int cpu)
{
	if (next_id >= THREAD_MAX)
		return -ENOSPC;
	memset(t, 0, sizeof(*t));
	strncpy(t->name, name, sizeof(t->name) - 1);
	t->fn = fn;
	t->arg = arg;
	t->cpu = cpu;
	t->tid = next_id++;
	threads[t->tid] = t;
	return 0;
}

static void *trampoline(void *arg)
{
	struct thread *t = arg;

	self_id = t->tid;
	self_thread = t;
	pthread_setname_np(pthread_self(), t->name);
	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	void *ret = t->fn(t->arg);
	struct timespec ts;

	/* This run's CPU time into the total before the clock goes with the thread. */
	if (!clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		__atomic_store_n(&t->cpu_ns_done, __atomic_load_n(&t->cpu_ns_done, __ATOMIC_RELAXED) +
				 (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
				 __ATOMIC_RELAXED);
	/* Release: ctrl that sees exited also sees the total. */
	__atomic_store_n(&t->exited, true, __ATOMIC_RELEASE);
	return ret;
}

int thread_start(struct thread *t)
{
	int rc;

	__atomic_store_n(&t->stop, false, __ATOMIC_RELEASE);
	__atomic_store_n(&t->exited, false, __ATOMIC_RELAXED);
	rc = pthread_create(&t->pth, NULL, trampoline, t);
	if (rc)
		return -rc;
	t->started = true;
	return 0;
}

void thread_request_stop(struct thread *t)
{
	/* Pairs with the acquire load in thread_should_stop(). */
	__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
}

bool thread_should_stop(const struct thread *t)
{
	return __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE);
}

void thread_join(struct thread *t)
{
	if (!t->started)
		return;
	pthread_join(t->pth, NULL);
	t->started = false;
}

uint64_t thread_cpu_used_ns(const struct thread *t)
{
	uint64_t done;
	clockid_t cid;
	struct timespec ts;

	if (!t->started || __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&t->cpu_ns_done, __ATOMIC_RELAXED);
	done = __atomic_load_n(&t->cpu_ns_done, __ATOMIC_RELAXED);
	if (pthread_getcpuclockid(t->pth, &cid) || clock_gettime(cid, &ts))
		return done;
	/* A run that ends between the flag and the clock is missed once, never counted twice. */
	if (__atomic_load_n(&t->exited, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&t->cpu_ns_done, __ATOMIC_RELAXED);
	return done + (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int thread_adopt(struct thread *t, const char *name)
{
	int rc = thread_init(t, name, NULL, NULL, -1);

	if (rc)
		return rc;
	self_id = t->tid;
	self_thread = t;
	return 0;
}

void thread_reset_ids(void)
{
	memset(threads, 0, sizeof(threads));
	next_id = 1;
	self_id = 0;
	self_thread = NULL;
}
