/*
 * thread.c - owns the table of data-plane threads and their ids.
 * ctrl (the main thread) reserves ids, starts and joins threads; a started
 * thread learns its own id through a thread-local set before its main runs.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

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
	return t->fn(t->arg);
}

int thread_start(struct thread *t)
{
	int rc;

	__atomic_store_n(&t->stop, false, __ATOMIC_RELEASE);
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
