/*
 * thread.h - thread start, stop, naming and identity.
 *
 * Every data-plane thread is a struct thread started by ctrl. Each has a
 * small dense id (0 is the main/ctrl thread) used to index per-thread tables
 * such as pool return rings. ctrl starts and joins; nothing else does.
 */
#ifndef SLUICE_THREAD_H
#define SLUICE_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "stats.h"

/* 64 threads: 16 cores x (4 I/O + 2 crypto) pipelines still fit twice over. */
#define THREAD_MAX	64

struct thread {
	struct stats stats;		/* written only by this thread */
	pthread_t pth;
	void *(*fn)(void *);
	void *arg;
	char name[16];
	int tid;
	int cpu;			/* -1: no pinning */
	bool started;
	bool stop;			/* set by ctrl, read with acquire */
	bool exited;			/* set (release) by the thread as its main returned */
	/* CPU time of the runs that ended (the thread adds its own as it exits). */
	uint64_t cpu_ns_done;
} __attribute__((aligned(CACHELINE)));

/* This thread's dense id; 0 for the main thread. */
int thread_self_id(void);
struct thread *thread_self(void);
/* Returns the thread registered under @tid, or NULL. */
struct thread *thread_by_id(int tid);

/*
 * Reserves an id and fills @t; the thread is not running yet. ctrl only.
 * Reserving before starting lets ctrl wire return rings for the id first.
 */
int thread_init(struct thread *t, const char *name, void *(*fn)(void *), void *arg, int cpu);
int thread_start(struct thread *t) __must_check;
/* Sets the stop flag; the caller then rings the thread's doorbell. */
void thread_request_stop(struct thread *t);
bool thread_should_stop(const struct thread *t);
void thread_join(struct thread *t);
/*
 * CPU time (user + system) @t has used in all its runs, in ns: the ended
 * runs plus the running one's thread CPU clock. ctrl only (it starts and
 * joins, so a run cannot begin or be reaped while it reads).
 */
uint64_t thread_cpu_used_ns(const struct thread *t);
/* Makes the calling (non-spawned) thread known under a fresh id; tests use it. */
int thread_adopt(struct thread *t, const char *name);
/* Forgets every id; tests between cases only. */
void thread_reset_ids(void);

#endif
