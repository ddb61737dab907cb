/*
 * epoch.c - owns the process epoch, ctrl's writer record and every reader
 * record. Every function here except the inline begin/end is ctrl's (the
 * main thread's).
 */
#include <errno.h>
#include <stdlib.h>

#include "epoch.h"
#include "log.h"

struct retired {
	ck_epoch_entry_t entry;		/* first: container_of is a cast */
	void *obj;
	void (*fn)(void *);
};

static ck_epoch_t global_epoch;
static ck_epoch_record_t writer;
static unsigned long pending;

void epoch_init(void)
{
	ck_epoch_init(&global_epoch);
	ck_epoch_register(&global_epoch, &writer, NULL);
}

/*
 * A record once registered stays on ck's list until exit: reuse a freed one,
 * else make one that is never freed. Registering a record twice would loop
 * the list; freeing one would leave the scan reading freed memory.
 */
void epoch_reader_register(struct epoch_reader *r)
{
	ck_epoch_record_t *rec = ck_epoch_recycle(&global_epoch, NULL);

	if (!rec) {
		if (posix_memalign((void **)&rec, CACHELINE, sizeof(*rec)))
			fatalx("epoch: out of memory for a reader record");
		ck_epoch_register(&global_epoch, rec, NULL);
	}
	r->rec = rec;
}

void epoch_reader_unregister(struct epoch_reader *r)
{
	if (!r->rec)
		return;
	ck_epoch_unregister(r->rec);
	r->rec = NULL;
}

static void retired_run(ck_epoch_entry_t *e)
{
	struct retired *r = (struct retired *)e;

#ifdef EPOCH_TSAN
	/* Pairs with the release in epoch_end() (epoch.h). */
	__tsan_acquire(&global_epoch);
#endif
	r->fn(r->obj);
	free(r);
	pending--;
}

int epoch_retire(void *obj, void (*fn)(void *))
{
	struct retired *r = malloc(sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->obj = obj;
	r->fn = fn;
	pending++;
	ck_epoch_call(&writer, &r->entry, retired_run);
	return 0;
}

void epoch_poll(void)
{
	ck_epoch_poll(&writer);
}

void epoch_barrier(void)
{
	ck_epoch_barrier(&writer);
}

unsigned long epoch_pending(void)
{
	return pending;
}
