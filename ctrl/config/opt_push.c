/*
 * opt_push.c - owns PUSH_REPLY application as a 2.6 client does it (OpenVPN's push.c and
 * the pull-filter logic of options.c): splitting a reply into options, pull-filter
 * accept / ignore / reject, dispatching each option with the push permissions, what
 * makes the push fail (pushed compression not allowed, pushed cipher not in
 * data-ciphers), and the snapshot of the configuration before the first push, which
 * each new reply sequence and options_pull_reset() return to.
 *
 * Called from the ctrl thread only, for each PUSH_REPLY and on reconnect. Pushed text is
 * untrusted: a bad pushed value only adds a warning, and the copy of the reply is wiped
 * because it may hold an auth-token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options_int.h"

struct options_pre_pull {
	struct options saved;		/* scalars and list lengths before the first push */
	struct options_conn *conns;	/* connection entries before the first push */
	struct config_arena_mark mark;	/* arena position before the first push */
	struct options scratch;		/* for pull_restore(), too big for the stack */
};

static int pull_snapshot(struct options *o)
{
	struct options_pre_pull *pp = calloc(1, sizeof(*pp));

	if (!pp)
		return -ENOMEM;
	if (o->conns.n) {
		pp->conns = malloc(o->conns.n * sizeof(*pp->conns));
		if (!pp->conns) {
			free(pp);
			return -ENOMEM;
		}
		memcpy(pp->conns, o->conns.v, o->conns.n * sizeof(*pp->conns));
	}
	pp->saved = *o;
	config_arena_mark(&o->arena, &pp->mark);
	o->pre_pull = pp;
	return 0;
}

/*
 * Back to the snapshot. Pushes only append to lists and overwrite scalars, so the saved
 * struct with the current arrays, cut to the saved lengths, is the state before the push;
 * the strings the pushes allocated are released with the arena.
 */
static void pull_restore(struct options *o)
{
	struct options_pre_pull *pp = o->pre_pull;
	struct options *cur = &pp->scratch;

	*cur = *o;
	*o = pp->saved;
	o->arena = cur->arena;
	o->pre_pull = pp;
	o->warnings = cur->warnings;
	o->conn_cur = cur->conn_cur;
#define X(f) o->f.v = cur->f.v; o->f.cap = cur->f.cap;
	OPTIONS_VECS(X)
#undef X
	if (o->conns.n)
		memcpy(o->conns.v, pp->conns, o->conns.n * sizeof(*pp->conns));
	config_arena_release(&o->arena, &pp->mark);
	o->push_in_progress = false;
}

void options_pull_reset(struct options *o)
{
	if (o->pre_pull)
		pull_restore(o);
	o->push_in_progress = false;
}

void opt_pull_free(struct options *o)
{
	if (o->pre_pull) {
		free(o->pre_pull->conns);
		explicit_bzero(o->pre_pull, sizeof(*o->pre_pull));
		free(o->pre_pull);
	}
}

/* The first pull-filter rule whose text starts the option decides (apply_pull_filter()). */
static enum opt_pull_filter pull_filter(const struct options *o, const char *text)
{
	size_t i;

	while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
		text++;
	for (i = 0; i < o->pull_filters.n; i++) {
		const struct options_pull_filter_rule *f = &o->pull_filters.v[i];

		if (!strncmp(text, f->prefix, strlen(f->prefix)))
			return f->type;
	}
	return OPT_PULL_ACCEPT;
}

static const char *msg_body(const char *err)
{
	return strncmp(err, "options: ", 9) ? err : err + 9;
}

static int push_one(struct opt_ctx *c, const char *text, unsigned int index, char *err,
		    size_t errlen)
{
	struct config_src src = { "PUSH_REPLY", index };
	struct config_directive d;
	char p[80];
	int ret;

	switch (pull_filter(c->o, text)) {
	case OPT_PULL_REJECT:
		return config_errf(err, errlen, &src, "pushed option '%s' rejected by pull-filter",
				   opt_printable(text, p, sizeof(p)));
	case OPT_PULL_IGNORE:
		return 0;
	case OPT_PULL_ACCEPT:
		break;
	}
	if (strlen(text) > CONFIG_LINE_MAX)
		return opt_warnf(c->o, &src, "pushed option longer than %d bytes ignored",
				 CONFIG_LINE_MAX);
	ret = config_parse_line(&c->o->arena, text, &src, &d, err, errlen);
	if (ret == -EINVAL)
		return opt_warnf(c->o, NULL, "%s (pushed option ignored)", msg_body(err));
	if (ret || !d.argc)
		return ret;
	return opt_dispatch(c, &d, err, errlen);
}

static bool in_list(const char *list, const char *item)
{
	size_t n = strlen(item);
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		/* 2.6: a leading '?' marks a cipher as optional. */
		if (len && *p == '?') {
			p++;
			len--;
		}
		if (len == n && !strncasecmp(p, item, n))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* What makes a 2.6 client fail the push (init.c do_deferred_options(), ssl_ncp.c). */
static int push_check(struct options *o, char *err, size_t errlen)
{
	char p[80];

	if (o->allow_compression == OPT_ALLOW_COMP_NO && opt_comp_is_real(o->comp))
		return opt_errorf(err, errlen, "server pushed compression settings that are not "
				  "allowed (%s, but allow-compression is no)",
				  options_comp_name(o->comp));
	if (o->cipher_pushed && !in_list(o->data_ciphers, o->cipher))
		return opt_errorf(err, errlen, "server pushed cipher '%s', which is not in "
				  "data-ciphers %s", opt_printable(o->cipher, p, sizeof(p)),
				  o->data_ciphers);
	return 0;
}

int options_apply_push(struct options *o, const char *msg, size_t len, int *continuation,
		       char *err, size_t errlen)
{
	struct opt_ctx c = { .o = o, .where = WHERE_PUSH };
	unsigned int index = 0;
	char ebuf[512] = "options: out of memory";
	const char *nul;
	char *copy, *p;
	int ret = 0;

	*continuation = 0;
	if (!o->is_finalized)
		return opt_errorf(err, errlen, "PUSH_REPLY before options_finalize()");
	nul = memchr(msg, '\0', len);
	if (nul)
		len = (size_t)(nul - msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (len < 10 || memcmp(msg, "PUSH_REPLY", 10) || (len > 10 && msg[10] != ','))
		return opt_errorf(err, errlen, "not a PUSH_REPLY message");
	msg += MIN(len, 11);
	len -= MIN(len, 11);
	if (!o->push_in_progress) {
		if (o->pre_pull)
			pull_restore(o);
		else
			ret = pull_snapshot(o);
		if (ret)
			return ret;
	}
	o->push_in_progress = false;
	o->push_continuation = 0;
	c.ce = o->conns.n ? &o->conns.v[MIN(o->conn_cur, o->conns.n - 1)] : &o->ce;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, msg, len);
	copy[len] = '\0';
	for (p = copy; p && !ret; ) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		ret = push_one(&c, p, ++index, ebuf, sizeof(ebuf));
		p = comma ? comma + 1 : NULL;
	}
	explicit_bzero(copy, len);	/* auth-token */
	free(copy);
	if (!ret)
		ret = push_check(o, ebuf, sizeof(ebuf));
	if (ret) {
		snprintf(err, errlen, "%s", ebuf);
		return ret;
	}
	*continuation = o->push_continuation;
	o->push_in_progress = o->push_continuation == 2;
	return 0;
}
