/*
 * config.c - the OpenVPN 2.x config syntax, without any meaning attached: splitting lines
 * into words (parse_line() in OpenVPN's options.c), reading a whole text with inline
 * <name>...</name> blocks, reading argv and loading files. options.c and the opt_*.c
 * files give the directives meaning (options_int.h); crypto/statickey.c decodes static
 * key texts.
 *
 * Called from the ctrl thread only (startup, SIGHUP reload, PUSH_REPLY). No threads, no
 * sockets, no logging: every error goes into the caller's buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Most profiles fit one block; big inline CA bundles get a block of their own. */
#define ARENA_BLOCK_SIZE	4096
#define ARENA_ALIGN		(sizeof(max_align_t))

struct config_arena_block {
	struct config_arena_block *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

void *config_arena_alloc(struct config_arena *a, size_t len)
{
	struct config_arena_block *b = a->head;
	size_t need = (len + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	void *p;

	if (need < len)
		return NULL;
	if (!b || b->size - b->used < need) {
		size_t size = need > ARENA_BLOCK_SIZE ? need : ARENA_BLOCK_SIZE;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, len);
	return p;
}

char *config_arena_memdup(struct config_arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = config_arena_alloc(a, len + 1);
	if (p)
		memcpy(p, s, len);
	return p;
}

char *config_arena_strdup(struct config_arena *a, const char *s)
{
	return config_arena_memdup(a, s, strlen(s));
}

char *config_arena_printf(struct config_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = config_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void config_arena_mark(const struct config_arena *a, struct config_arena_mark *m)
{
	m->block = a->head;
	m->used = a->head ? a->head->used : 0;
}

void config_arena_release(struct config_arena *a, const struct config_arena_mark *m)
{
	while (a->head && a->head != m->block) {
		struct config_arena_block *b = a->head;

		a->head = b->next;
		explicit_bzero(b->data, b->used);
		free(b);
	}
	if (a->head && a->head->used > m->used) {
		explicit_bzero(a->head->data + m->used, a->head->used - m->used);
		a->head->used = m->used;
	}
}

void config_arena_free(struct config_arena *a)
{
	struct config_arena_mark none = { NULL, 0 };

	config_arena_release(a, &none);
}

const char *config_src_str(const struct config_src *src, char *buf, size_t len)
{
	if (!src || !src->file)
		snprintf(buf, len, "command line");
	else
		snprintf(buf, len, "%s:%u", src->file, src->line);
	return buf;
}

int config_errf(char *err, size_t errlen, const struct config_src *src, const char *fmt, ...)
{
	char where[320];
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "options: %s at %s", msg,
			 config_src_str(src, where, sizeof(where)));
	return -EINVAL;
}

/* OpenVPN's space(): isspace() in the C locale, plus the terminating NUL. */
static bool is_blank(unsigned char c)
{
	return c == '\0' || c == ' ' || (c >= '\t' && c <= '\r');
}

enum word_state { W_INITIAL, W_QUOTED, W_UNQUOTED, W_SQUOTED };

/* True if only blanks or a comment remain at @c. */
static bool rest_is_empty(const char *c)
{
	while (*c && is_blank((unsigned char)*c))
		c++;
	return *c == '\0' || *c == '#' || *c == ';';
}

/*
 * The state machine of OpenVPN's parse_line(), quirks included: a comment starts only where
 * a word could start, the closing quote ends a word even without a blank after it, and the
 * line's NUL counts as a blank. Words are built in @out, which holds strlen(line) + 1 bytes;
 * that always suffices because every word's terminator replaces the input byte that ended
 * it (a blank, a closing quote, or the final NUL).
 */
static int split_words(const char *line, char *out, const struct config_src *src,
		       struct config_directive *d, char *err, size_t errlen)
{
	enum word_state state = W_INITIAL;
	const char *c = line;
	char *word = out;
	bool backslash = false;
	int n = 0;

	do {
		char in = *c, ch = 0;
		bool done = false;

		if (!backslash && in == '\\' && state != W_SQUOTED) {
			backslash = true;
			continue;
		}
		switch (state) {
		case W_INITIAL:
			if (is_blank((unsigned char)in))
				break;
			if (in == ';' || in == '#')
				goto out;
			if (!backslash && in == '"')
				state = W_QUOTED;
			else if (!backslash && in == '\'')
				state = W_SQUOTED;
			else {
				ch = in;
				state = W_UNQUOTED;
			}
			break;
		case W_UNQUOTED:
			if (!backslash && is_blank((unsigned char)in))
				done = true;
			else
				ch = in;
			break;
		case W_QUOTED:
			if (!backslash && in == '"')
				done = true;
			else
				ch = in;
			break;
		case W_SQUOTED:
			if (in == '\'')
				done = true;
			else
				ch = in;
			break;
		}
		if (backslash && ch && !(ch == '\\' || ch == '"' || is_blank((unsigned char)ch)))
			return config_errf(err, errlen, src,
					   "bad backslash escape '\\%c' (use \\\\ for one)", ch);
		backslash = false;
		if (ch)
			*out++ = ch;
		if (done) {
			*out++ = '\0';
			d->argv[n++] = word;
			word = out;
			state = W_INITIAL;
			if (n == CONFIG_PARMS_MAX) {
				if (*c && !rest_is_empty(c + 1))
					return config_errf(err, errlen, src,
							   "too many arguments (at most %d)",
							   CONFIG_PARMS_MAX - 1);
				goto out;
			}
		}
	} while (*c++ != '\0');
out:
	if (state == W_QUOTED)
		return config_errf(err, errlen, src, "no closing quotation (\")");
	if (state == W_SQUOTED)
		return config_errf(err, errlen, src, "no closing single quotation (')");
	if (state != W_INITIAL)
		return config_errf(err, errlen, src, "backslash at end of line");
	d->argc = n;
	d->argv[n] = NULL;
	return 0;
}

int config_parse_line(struct config_arena *a, const char *line, const struct config_src *src,
		      struct config_directive *d, char *err, size_t errlen)
{
	char *out;

	memset(d, 0, sizeof(*d));
	d->src = *src;
	out = config_arena_alloc(a, strlen(line) + 1);
	if (!out)
		return -ENOMEM;
	return split_words(line, out, src, d, err, errlen);
}

/* OpenVPN's bypass_doubledash(): `--name` in a file means `name`. */
static void drop_doubledash(struct config_directive *d)
{
	char *name = d->argv[0];

	if (strlen(name) >= 3 && name[0] == '-' && name[1] == '-')
		d->argv[0] = name + 2;
}

struct text {
	const char *buf;
	size_t len;
	size_t pos;		/* start of the next line */
	unsigned int line;	/* number of the next line */
};

/* Returns the next line (without its '\n') and advances, or false at the end. */
static bool next_line(struct text *t, const char **start, size_t *len, bool *has_nl)
{
	const char *p, *nl;

	if (t->pos >= t->len)
		return false;
	p = t->buf + t->pos;
	nl = memchr(p, '\n', t->len - t->pos);
	*start = p;
	*len = nl ? (size_t)(nl - p) : t->len - t->pos;
	*has_nl = nl != NULL;
	t->pos += *len + (nl ? 1 : 0);
	t->line++;
	return true;
}

static bool starts_with_tag(const char *p, size_t len, const char *tag, size_t taglen)
{
	while (len && is_blank((unsigned char)*p) && *p) {
		p++;
		len--;
	}
	return len >= taglen && !memcmp(p, tag, taglen);
}

/*
 * The body of <name> ... </name>: every byte of the lines in between, exactly as written
 * (OpenVPN's read_inline_file()). The closing tag is found at the start of a line after
 * leading blanks, and anything after it on that line is ignored, as in OpenVPN.
 */
static int read_inline(struct config_arena *a, struct text *t, struct config_directive *d,
		       char *err, size_t errlen)
{
	const char *name = d->argv[0];
	size_t body_start = t->pos, body_end = t->pos;
	const char *p;
	size_t len, taglen;
	char *tag;
	bool nl;

	tag = config_arena_printf(a, "</%s>", name);
	if (!tag)
		return -ENOMEM;
	taglen = strlen(tag);
	for (;;) {
		size_t at = t->pos;

		if (!next_line(t, &p, &len, &nl))
			return config_errf(err, errlen, &d->src, "inline block <%s> has no %s",
					   name, tag);
		if (starts_with_tag(p, len, tag, taglen))
			break;
		if (memchr(p, '\0', len)) {
			struct config_src s = { d->src.file, t->line - 1 };

			return config_errf(err, errlen, &s, "NUL byte in inline block <%s>", name);
		}
		body_end = at + len + (nl ? 1 : 0);
	}
	d->argv[1] = config_arena_memdup(a, t->buf + body_start, body_end - body_start);
	if (!d->argv[1])
		return -ENOMEM;
	d->argv[2] = NULL;
	d->argc = 2;
	d->is_inline = true;
	return 0;
}

static bool is_inline_open(const struct config_directive *d)
{
	const char *w = d->argv[0];
	size_t n = strlen(w);

	return d->argc == 1 && n >= 2 && w[0] == '<' && w[n - 1] == '>';
}

/* One line of @t: its directive (and inline block) handed to @fn. */
static int read_one(struct config_arena *a, const char *name, struct text *t,
		    config_directive_fn fn, void *ctx, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX + 2];
	struct config_directive d;
	struct config_src src;
	const char *p;
	size_t len;
	bool nl;
	int ret;

	next_line(t, &p, &len, &nl);
	src.file = name;
	src.line = t->line - 1;
	if (len > CONFIG_LINE_MAX)
		return config_errf(err, errlen, &src, "line too long (more than %d bytes)",
				   CONFIG_LINE_MAX);
	if (memchr(p, '\0', len))
		return config_errf(err, errlen, &src, "NUL byte in line");
	memcpy(line, p, len);
	/* The newline stays, as with fgets(): "a\<newline>" ends a word with a newline. */
	if (nl)
		line[len++] = '\n';
	line[len] = '\0';
	ret = config_parse_line(a, line, &src, &d, err, errlen);
	if (ret || d.argc == 0)
		return ret;
	drop_doubledash(&d);
	if (is_inline_open(&d)) {
		d.argv[0][strlen(d.argv[0]) - 1] = '\0';
		d.argv[0]++;
		ret = read_inline(a, t, &d, err, errlen);
		if (ret)
			return ret;
	}
	return fn(ctx, &d, err, errlen);
}

int config_read_buffer(struct config_arena *a, const char *name, unsigned int first_line,
		       const char *buf, size_t len, config_directive_fn fn, void *ctx,
		       char *err, size_t errlen)
{
	struct text t = { buf, len, 0, first_line };
	int ret;

	if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
		t.pos = 3;
	while (t.pos < t.len) {
		ret = read_one(a, name, &t, fn, ctx, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static bool is_dashdash(const char *s)
{
	return s[0] == '-' && s[1] == '-';
}

int config_read_argv(struct config_arena *a, int argc, char *const *argv, config_directive_fn fn,
		     void *ctx, char *err, size_t errlen)
{
	struct config_src cmdline = { NULL, 0 };
	struct config_directive d;
	int i, j, ret;

	if (argc == 2 && !is_dashdash(argv[1])) {
		memset(&d, 0, sizeof(d));
		d.argc = 2;
		d.argv[0] = config_arena_strdup(a, "config");
		d.argv[1] = config_arena_strdup(a, argv[1]);
		if (!d.argv[0] || !d.argv[1])
			return -ENOMEM;
		return fn(ctx, &d, err, errlen);
	}
	for (i = 1; i < argc; i += j) {
		memset(&d, 0, sizeof(d));
		if (!is_dashdash(argv[i]))
			return config_errf(err, errlen, &cmdline, "'%s' is not an --option "
					   "(every directive starts with '--')", argv[i]);
		d.argv[0] = config_arena_strdup(a, argv[i] + 2);
		if (!d.argv[0])
			return -ENOMEM;
		for (j = 1; j < CONFIG_PARMS_MAX && i + j < argc; j++) {
			if (is_dashdash(argv[i + j]))
				break;
			d.argv[j] = config_arena_strdup(a, argv[i + j]);
			if (!d.argv[j])
				return -ENOMEM;
		}
		d.argc = j;
		ret = fn(ctx, &d, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int config_file_load(const char *path, char **bufp, size_t *lenp, char *err, size_t errlen)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL, *nbuf;
	int fd, ret;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "options: cannot open '%s': %s", path, strerror(-ret));
		return ret;
	}
	for (;;) {
		if (!buf || cap - len < 2) {
			if (cap > CONFIG_FILE_MAX) {
				snprintf(err, errlen, "options: '%s' is larger than %u bytes", path,
					 CONFIG_FILE_MAX);
				ret = -EFBIG;
				goto err_free;
			}
			cap = buf ? cap * 2 : cap;
			nbuf = malloc(cap);
			if (!nbuf) {
				ret = -ENOMEM;
				goto err_free;
			}
			if (buf) {
				memcpy(nbuf, buf, len);
				config_file_unload(buf, len);
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "options: cannot read '%s': %s", path,
				 strerror(-ret));
			goto err_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;

err_free:
	if (buf)
		config_file_unload(buf, len);
	close(fd);
	return ret;
}

void config_file_unload(char *buf, size_t len)
{
	if (!buf)
		return;
	explicit_bzero(buf, len);
	free(buf);
}
