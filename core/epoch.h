/*
 * epoch.h - safe retirement of objects shared with data threads (ck_epoch).
 *
 * ctrl publishes an immutable object (key slot, peer) with a release store.
 * Data threads read such pointers only between epoch_begin() and epoch_end()
 * around one burst, and never block inside. ctrl unpublishes, then calls
 * epoch_retire(); the free function runs from epoch_poll() (ctrl's timer) or
 * epoch_barrier() (shutdown) once no reader can still hold the pointer.
 */
#ifndef SLUICE_EPOCH_H
#define SLUICE_EPOCH_H

#include <ck_epoch.h>

#include "compiler.h"

/*
 * ck_epoch keeps every record it is given on its list for good (unregister
 * only marks it free), so the record lives in epoch.c, never in memory ctrl
 * frees or registers twice; a reader only points at it.
 */
struct epoch_reader {
	ck_epoch_record_t *rec;
};

/* ctrl, once at start. */
void epoch_init(void);
/* ctrl: registers a reader record for one data thread. */
void epoch_reader_register(struct epoch_reader *r);
/* ctrl: after its thread stopped; @r may then be freed or registered again. */
void epoch_reader_unregister(struct epoch_reader *r);

/*
 * TSan sees no ordering in ck_epoch (inline asm, uninstrumented libck), so
 * it would report every free of a retired object as racing with the reads of
 * a section that ended long before. Tell it what the epoch guarantees: a
 * section's accesses happen before any free the epoch runs after it ended.
 * The release is in epoch_end() before ck_epoch_end(), the acquire in
 * epoch.c before each free callback; both name the process epoch.
 */
#if defined(__SANITIZE_THREAD__)
#define EPOCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EPOCH_TSAN 1
#endif
#endif
#ifdef EPOCH_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

static inline void epoch_begin(struct epoch_reader *r)
{
	ck_epoch_begin(r->rec, NULL);
}

static inline void epoch_end(struct epoch_reader *r)
{
#ifdef EPOCH_TSAN
	__tsan_release(r->rec->global);
#endif
	ck_epoch_end(r->rec, NULL);
}

/* ctrl only: frees @obj with @fn once every reader has left its section. */
int epoch_retire(void *obj, void (*fn)(void *)) __must_check;
/* ctrl only: runs the frees that are safe now; never blocks. */
void epoch_poll(void);
/* ctrl only: waits for all readers and runs every pending free. */
void epoch_barrier(void);
/* Objects retired and not yet freed. */
unsigned long epoch_pending(void);

#endif
