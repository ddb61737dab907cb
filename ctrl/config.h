/* config.h - OpenVPN 2.x config syntax: words, lines, inline blocks, argv (ctrl only). */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"

/* OpenVPN's MAX_PARMS: a directive name plus at most 15 arguments. */
#define CFG_PARMS_MAX		16
/*
 * OpenVPN reads lines of at most 256 bytes (OPTION_LINE_SIZE). Real profiles stay far below
 * 1 KiB, so allow that much and refuse anything longer with a clear error instead of
 * silently splitting the line as fgets() would.
 */
#define CFG_LINE_MAX		1024
/* A profile with inline PEM blocks; a whole system CA bundle is about 250 KiB. */
#define CFG_FILE_MAX		(4u << 20)
/* OpenVPN's max_recursive_levels for `config FILE` includes. */
#define CFG_DEPTH_MAX		10
/* "OpenVPN Static key V1": two 128-byte halves (openvpn-wire.md §2.4). */
#define CFG_STATIC_KEY_LEN	256

/*
 * Bump allocator owning every string the reader hands out. Freed in one go, and wiped
 * first, because inline blocks carry private keys.
 */
struct cfg_arena_block;

struct cfg_arena {
	struct cfg_arena_block *head;	/* newest block first */
};

/* A position in an arena; releasing to it frees everything allocated after it. */
struct cfg_arena_mark {
	struct cfg_arena_block *block;
	size_t used;
};

/* Zeroed memory from @a, or NULL when out of memory. */
void *cfg_arena_alloc(struct cfg_arena *a, size_t len);
char *cfg_arena_strdup(struct cfg_arena *a, const char *s);
/* Copies @len bytes of @s and adds a NUL. */
char *cfg_arena_memdup(struct cfg_arena *a, const char *s, size_t len);
char *cfg_arena_printf(struct cfg_arena *a, const char *fmt, ...) __printf(2, 3);
void cfg_arena_mark(const struct cfg_arena *a, struct cfg_arena_mark *m);
/* Wipes and frees everything allocated after @m was taken. */
void cfg_arena_release(struct cfg_arena *a, const struct cfg_arena_mark *m);
void cfg_arena_free(struct cfg_arena *a);

/* Where a directive came from. */
struct cfg_src {
	const char *file;	/* NULL: the command line */
	unsigned int line;
};

/* One directive: `name arg...`, or `<name>body</name>` with is_inline set. */
struct cfg_directive {
	int argc;				/* words including the name */
	char *argv[CFG_PARMS_MAX + 1];		/* arena strings, argv[argc] == NULL */
	bool is_inline;				/* argv[1] is the block body */
	struct cfg_src src;			/* line of the name (or of <name>) */
};

/*
 * Called once per directive. Returns 0 to go on, or a negative errno with @err filled,
 * which stops the reader and is passed back to its caller.
 */
typedef int (*cfg_directive_fn)(void *ctx, struct cfg_directive *d, char *err, size_t errlen);

/*
 * Splits one line into words the way OpenVPN's parse_line() does: blanks separate words,
 * `#` or `;` at the start of a word starts a comment, "double quotes" (with \\ and \"
 * escapes), 'single quotes' (no escapes), and a backslash outside single quotes escapes a
 * backslash, a double quote or a blank. Words are copied into @a. Sets d->argc (0 for a
 * blank or comment line). Returns 0 or -EINVAL with "options: ... at FILE:LINE" in @err.
 */
int cfg_parse_line(struct cfg_arena *a, const char *line, const struct cfg_src *src,
		   struct cfg_directive *d, char *err, size_t errlen);

/*
 * Reads a config text: one directive per line, a leading `--` on the name is dropped, a
 * UTF-8 BOM is skipped, and a line holding only `<name>` opens an inline block that runs
 * to the first line starting (after blanks) with `</name>`. @name must outlive @a's
 * strings (it is copied into every cfg_src); @first_line numbers the first line of @buf.
 * NUL bytes outside inline blocks are errors. Returns 0, the callback's error, or -EINVAL.
 */
int cfg_read_buffer(struct cfg_arena *a, const char *name, unsigned int first_line,
		    const char *buf, size_t len, cfg_directive_fn fn, void *ctx,
		    char *err, size_t errlen);

/*
 * Reads a command line as OpenVPN does: argv[0] is skipped; a single argument without a
 * leading `--` means `--config ARG`; otherwise every directive is `--name` followed by the
 * arguments up to the next word that starts with `--`.
 */
int cfg_read_argv(struct cfg_arena *a, int argc, char *const *argv, cfg_directive_fn fn,
		  void *ctx, char *err, size_t errlen);

/*
 * Reads a whole file (at most CFG_FILE_MAX bytes) into a malloc'd, NUL-terminated buffer.
 * Release it with cfg_file_unload(), which wipes it. Returns 0 or a negative errno.
 */
int cfg_file_load(const char *path, char **buf, size_t *len, char *err, size_t errlen);
void cfg_file_unload(char *buf, size_t len);

/*
 * Decodes an "OpenVPN Static key V1" text (openvpn-wire.md §2.4): exactly 256 bytes of hex
 * between the BEGIN and END lines; blank and `#` lines outside them are ignored.
 */
int cfg_static_key_decode(const char *text, size_t len, uint8_t key[CFG_STATIC_KEY_LEN],
			  char *err, size_t errlen);

/* "FILE:LINE" or "command line", for messages. */
const char *cfg_src_str(const struct cfg_src *src, char *buf, size_t len);

/* Formats "options: <fmt> at <src>" into @err and returns -EINVAL. */
int cfg_errf(char *err, size_t errlen, const struct cfg_src *src, const char *fmt, ...)
	__printf(4, 5);

#endif
