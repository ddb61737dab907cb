/*
 * epoch.c - owns the process epoch and ctrl's writer record. Every function
 * here except the inline begin/end is ctrl's (the main thread's).
 */
#include <errno.h>
#include <stdlib.h>

#include "epoch.h"

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

void epoch_reader_register(struct epoch_reader *r)
{
	ck_epoch_register(&global_epoch, &r->rec, NULL);
}

void epoch_reader_unregister(struct epoch_reader *r)
{
	ck_epoch_unregister(&r->rec);
}

static void retired_run(ck_epoch_entry_t *e)
{
	struct retired *r = (struct retired *)e;

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
