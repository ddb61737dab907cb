/* config.h - OpenVPN 2.x config syntax: words, lines, inline blocks, argv (ctrl only). */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/compiler.h"

/* OpenVPN's MAX_PARMS: a directive name plus at most 15 arguments. */
#define CONFIG_PARMS_MAX		16
/*
 * OpenVPN reads lines of at most 256 bytes (OPTION_LINE_SIZE). Real profiles stay far below
 * 1 KiB, so allow that much and refuse anything longer with a clear error instead of
 * silently splitting the line as fgets() would.
 */
#define CONFIG_LINE_MAX		1024
/* A profile with inline PEM blocks; a whole system CA bundle is about 250 KiB. */
#define CONFIG_FILE_MAX		(4u << 20)
/* OpenVPN's max_recursive_levels for `config FILE` includes. */
#define CONFIG_DEPTH_MAX		10
/* "OpenVPN Static key V1": two 128-byte halves (openvpn-wire.md §2.4). */
#define CONFIG_STATIC_KEY_LEN	256

/*
 * Bump allocator owning every string the reader hands out. Freed in one go, and wiped
 * first, because inline blocks carry private keys.
 */
struct config_arena_block;

struct config_arena {
	struct config_arena_block *head;	/* newest block first */
};

/* A position in an arena; releasing to it frees everything allocated after it. */
struct config_arena_mark {
	struct config_arena_block *block;
	size_t used;
};

/* Zeroed memory from @a, or NULL when out of memory. */
void *config_arena_alloc(struct config_arena *a, size_t len);
char *config_arena_strdup(struct config_arena *a, const char *s);
/* Copies @len bytes of @s and adds a NUL. */
char *config_arena_memdup(struct config_arena *a, const char *s, size_t len);
char *config_arena_printf(struct config_arena *a, const char *fmt, ...) __printf(2, 3);
void config_arena_mark(const struct config_arena *a, struct config_arena_mark *m);
/* Wipes and frees everything allocated after @m was taken. */
void config_arena_release(struct config_arena *a, const struct config_arena_mark *m);
void config_arena_free(struct config_arena *a);

/* Where a directive came from. */
struct config_src {
	const char *file;	/* NULL: the command line */
	unsigned int line;
};

/* One directive: `name arg...`, or `<name>body</name>` with is_inline set. */
struct config_directive {
	int argc;				/* words including the name */
	char *argv[CONFIG_PARMS_MAX + 1];		/* arena strings, argv[argc] == NULL */
	bool is_inline;				/* argv[1] is the block body */
	struct config_src src;			/* line of the name (or of <name>) */
};

/*
 * Called once per directive. Returns 0 to go on, or a negative errno with @err filled,
 * which stops the reader and is passed back to its caller.
 */
typedef int (*config_directive_fn)(void *ctx, struct config_directive *d, char *err, size_t errlen);

/*
 * Splits one line into words the way OpenVPN's parse_line() does: blanks separate words,
 * `#` or `;` at the start of a word starts a comment, "double quotes" (with \\ and \"
 * escapes), 'single quotes' (no escapes), and a backslash outside single quotes escapes a
 * backslash, a double quote or a blank. Words are copied into @a. Sets d->argc (0 for a
 * blank or comment line). Returns 0 or -EINVAL with "options: ... at FILE:LINE" in @err.
 */
int config_parse_line(struct config_arena *a, const char *line, const struct config_src *src,
		      struct config_directive *d, char *err, size_t errlen);

/*
 * Reads a config text: one directive per line, a leading `--` on the name is dropped, a
 * UTF-8 BOM is skipped, and a line holding only `<name>` opens an inline block that runs
 * to the first line starting (after blanks) with `</name>`. @name must outlive @a's
 * strings (it is copied into every config_src); @first_line numbers the first line of @buf.
 * NUL bytes outside inline blocks are errors. Returns 0, the callback's error, or -EINVAL.
 */
int config_read_buffer(struct config_arena *a, const char *name, unsigned int first_line,
		       const char *buf, size_t len, config_directive_fn fn, void *ctx,
		       char *err, size_t errlen);

/*
 * Reads a command line as OpenVPN does: argv[0] is skipped; a single argument without a
 * leading `--` means `--config ARG`; otherwise every directive is `--name` followed by the
 * arguments up to the next word that starts with `--`.
 */
int config_read_argv(struct config_arena *a, int argc, char *const *argv, config_directive_fn fn,
		     void *ctx, char *err, size_t errlen);

/*
 * Reads a whole file (at most CONFIG_FILE_MAX bytes) into a malloc'd, NUL-terminated buffer.
 * Release it with config_file_unload(), which wipes it. Returns 0 or a negative errno.
 */
int config_file_load(const char *path, char **buf, size_t *len, char *err, size_t errlen);
void config_file_unload(char *buf, size_t len);

/* "FILE:LINE" or "command line", for messages. */
const char *config_src_str(const struct config_src *src, char *buf, size_t len);

/* Formats "options: <fmt> at <src>" into @err and returns -EINVAL. */
int config_errf(char *err, size_t errlen, const struct config_src *src, const char *fmt, ...)
	__printf(4, 5);

#endif
