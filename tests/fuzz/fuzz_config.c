/*
 * fuzz_config.c - libFuzzer harness for ctrl/config/config.c and ctrl/config/options.c. Each input is
 * used three ways: as a config file (then finalized and dumped), as NUL-separated argv
 * words, and as the option list of a PUSH_REPLY applied to a finalized client config
 * (twice, so the restore-before-a-new-reply path runs too). Includes and other file
 * reads are disabled (o->no_include), so the fuzzer cannot open files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/config/options.h"

#define ARGV_MAX	64

static const char base_client[] =
	"client\ndev tun\nremote 198.18.77.1 1194\nca ca.crt\ncert c.crt\nkey c.key\n"
	"pull-filter ignore \"route 10.\"\npull-filter reject \"dev \"\n";

static FILE *devnull;

static void fuzz_file(const uint8_t *data, size_t size)
{
	struct options *o = malloc(sizeof(*o));
	char err[256];

	if (!o)
		return;
	options_init(o);
	o->no_include = true;
	if (!options_load_buffer(o, "fuzz.conf", (const char *)data, size, err, sizeof(err)) &&
	    !options_finalize(o, err, sizeof(err)))
		options_dump(o, devnull);
	options_free(o);
	free(o);
}

static void fuzz_argv(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[ARGV_MAX + 1], *p;
	struct options *o = malloc(sizeof(*o));
	char err[256];
	int argc = 0;

	if (!copy || !o)
		goto out;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = "sluice";
	for (p = copy; p < copy + size && argc < ARGV_MAX; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	options_init(o);
	o->no_include = true;
	if (!options_load_argv(o, argc, argv, err, sizeof(err)))
		options_finalize(o, err, sizeof(err));
	options_free(o);
out:
	free(o);
	free(copy);
}

static void fuzz_push(const uint8_t *data, size_t size)
{
	struct options *o = malloc(sizeof(*o));
	char *msg = malloc(size + 12);
	char err[256];
	int cont;

	if (!o || !msg)
		goto out;
	memcpy(msg, "PUSH_REPLY,", 11);
	memcpy(msg + 11, data, size);
	options_init(o);
	o->no_include = true;
	if (options_load_buffer(o, "base", base_client, sizeof(base_client) - 1, err,
				sizeof(err)) || options_finalize(o, err, sizeof(err)))
		abort();
	options_apply_push(o, msg, size + 11, &cont, err, sizeof(err));
	options_warnings_clear(o);
	options_apply_push(o, msg, size + 11, &cont, err, sizeof(err));
	options_dump(o, devnull);
	options_pull_reset(o);
	options_free(o);
out:
	free(o);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	fuzz_file(data, size);
	fuzz_argv(data, size);
	fuzz_push(data, size);
	return 0;
}
