/*
 * config_rig.h - what the option tests (config_test.c, config_push_test.c)
 * share: options on the heap, loading a config text as "t.conf", loading and
 * finalizing, a warning lookup, and a client config's common lines.
 * Include from one .c file, after harness.h.
 */
#ifndef SLUICE_TEST_CONFIG_RIG_H
#define SLUICE_TEST_CONFIG_RIG_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/compiler.h"
#include "../../ctrl/config/config.h"
#include "../../ctrl/config/options.h"

#define CLIENT_BASE "dev tun\nclient\nca ca.crt\ncert c.crt\nkey c.key\n"

static char err[1024];

/* struct options is too big for a 2 KiB frame: tests keep theirs on the heap. */
static __unused struct options *opt_new(void)
{
	struct options *o = malloc(sizeof(*o));

	if (!o)
		abort();
	options_init(o);
	return o;
}

static __unused void opt_del(struct options *o)
{
	options_free(o);
	free(o);
}

/* Loads @text as "t.conf"; returns the loader's result. */
static __unused int load(struct options *o, const char *text)
{
	err[0] = '\0';
	return options_load_buffer(o, "t.conf", text, strlen(text), err, sizeof(err));
}

/* Loads and finalizes @text into a fresh struct; NULL (and err set) on failure. */
static __unused struct options *load_final(const char *text)
{
	struct options *o = opt_new();

	if (load(o, text) || options_finalize(o, err, sizeof(err))) {
		opt_del(o);
		return NULL;
	}
	return o;
}

static __unused bool has_warning(const struct options *o, const char *needle)
{
	size_t i;

	for (i = 0; i < o->warnings.n; i++)
		if (strstr(o->warnings.v[i], needle))
			return true;
	return false;
}

#endif
