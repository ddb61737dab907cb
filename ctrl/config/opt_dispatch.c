/*
 * opt_dispatch.c - owns the directive lookup and dispatch: the list of table slices (one
 * per opt_<area>.c file), where a directive may appear (its F_* flags against the
 * config, a <connection> block or a PUSH_REPLY), the generic field types (flags,
 * strings, numbers, files), unknown options (ignore-unknown-option, setenv opt,
 * FORWARD_COMPATIBLE), and the two directives that feed text back into the dispatcher:
 * `config` includes and <connection> blocks. It also holds the handlers of the NOOP()
 * and REJECT() entries every slice may use.
 *
 * Called from the ctrl thread only: by the loaders in options.c and for each pushed
 * option by opt_push.c. The only files opened here are `config` includes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "options_int.h"

/* --- handlers the slices share ---------------------------------------------------- */

int opt_noop(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)c, (void)d, (void)err, (void)errlen;
	return 0;
}

int opt_reject(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)c, (void)d, (void)err, (void)errlen;
	return -EINVAL;		/* never called: F_REJECT is handled by the dispatcher */
}

/* --- includes and <connection> blocks --------------------------------------------- */

/* Reads @path (relative to cd, as OpenVPN has already changed directory) as a config. */
int opt_load_file(struct opt_ctx *c, const char *path, const struct config_src *from,
		  char *err, size_t errlen)
{
	struct options *o = c->o;
	struct opt_ctx sub = *c;
	const char *name;
	size_t len;
	char *buf;
	int ret;

	if (c->depth >= CONFIG_DEPTH_MAX)
		return config_errf(err, errlen, from, "config files nested deeper than %d (does "
				   "'%.64s' include itself?)", CONFIG_DEPTH_MAX, path);
	if (o->cd && path[0] != '/')
		name = config_arena_printf(&o->arena, "%s/%s", o->cd, path);
	else
		name = config_arena_strdup(&o->arena, path);
	if (!name)
		return -ENOMEM;
	ret = config_file_load(name, &buf, &len, err, errlen);
	if (ret) {
		char where[320];
		size_t n = strlen(err);

		if (from && n < errlen)
			snprintf(err + n, errlen - n, " at %s",
				 config_src_str(from, where, sizeof(where)));
		return ret;
	}
	if (!o->config)
		o->config = name;
	sub.depth++;
	ret = config_read_buffer(&o->arena, name, 1, buf, len, opt_dispatch, &sub, err, errlen);
	config_file_unload(buf, len);
	return ret;
}

static int h_config(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	if (c->o->no_include)
		return ERR("config includes are disabled here");
	return opt_load_file(c, ARG(1), &d->src, err, errlen);
}

/*
 * A <connection> block starts from the connection settings given so far (OpenVPN copies
 * options->ce) and must name exactly one remote.
 */
static int h_connection(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct opt_ctx sub = { .o = c->o, .where = WHERE_CONN, .depth = c->depth };
	struct options_conn ce = c->o->ce, *e;
	int ret;

	if (!d->is_inline)
		return ERR("connection must be a <connection> ... </connection> block");
	ce.remote = NULL;
	ce.src = d->src;
	sub.ce = &ce;
	ret = config_read_buffer(&c->o->arena, d->src.file, d->src.line + 1, ARG(1),
				 strlen(ARG(1)), opt_dispatch, &sub, err, errlen);
	if (ret)
		return ret;
	if (!ce.remote)
		return ERR("<connection> block without a remote");
	e = VEC_ADD(c->o->conns);
	if (!e)
		return -ENOMEM;
	*e = ce;
	return 0;
}

/* --- the table -------------------------------------------------------------------- */

static const struct opt_def dispatch_defs[] = {
	FN("config", C, 1, 1, h_config, "FILE"),
	FN("connection", C | F_INLINE, 1, 1, h_connection, "an inline <connection> block"),
};

static const struct opt_table dispatch_table = OPT_TABLE(dispatch_defs);

/*
 * Every slice of the directive table. A name is in one slice only (each file owns its
 * directives), so the order only decides how soon a lookup ends.
 */
static const struct opt_table *const opt_tables[] = {
	&dispatch_table, &opt_proc_table, &opt_net_table, &opt_conn_table, &opt_tls_table,
	&opt_server_table,
};

static const struct opt_def *opt_lookup(const char *name)
{
	const struct opt_table *t;
	size_t i, k;

	for (k = 0; k < ARRAY_SIZE(opt_tables); k++) {
		t = opt_tables[k];
		for (i = 0; i < t->n; i++)
			if (!strcmp(t->defs[i].name, name))
				return &t->defs[i];
	}
	return NULL;
}

/* --- --help ------------------------------------------------------------------------ */

/* What each slice is about, in the order --help lists them. */
static const struct {
	const struct opt_table *t;
	const char *title;
} help_groups[] = {
	{ &opt_conn_table, "Connection, transport and keepalive" },
	{ &opt_tls_table, "TLS, authentication and the data channel" },
	{ &opt_net_table, "Device, addresses, routes and DNS" },
	{ &opt_server_table, "Server" },
	{ &opt_proc_table, "Role, scripts, process, logging and management" },
	{ &dispatch_table, "Configuration files" },
};

/* The arguments of @d as --help shows them. */
static const char *help_args(const struct opt_def *d)
{
	switch (d->type) {
	case T_FLAG:
		return "";
	case T_UINT:
		return "N";
	case T_FILE:
		return "FILE|<inline>";
	case T_STR:
		return "ARG";
	default:
		return d->usage ? d->usage : "";
	}
}

void options_help(FILE *f)
{
	for (size_t g = 0; g < ARRAY_SIZE(help_groups); g++) {
		const struct opt_table *t = help_groups[g].t;

		fprintf(f, "\n%s:\n", help_groups[g].title);
		for (size_t i = 0; i < t->n; i++) {
			const struct opt_def *d = &t->defs[i];

			if (!(d->flags & F_CONFIG) || (d->flags & F_REJECT))
				continue;
			fprintf(f, "  --%s%s%s%s\n", d->name, *help_args(d) ? " " : "",
				help_args(d), d->flags & F_SLUICE ? "   [sluice]" : "");
		}
	}
	fprintf(f, "\nRefused (OpenVPN options sluice does not implement; start-up stops):\n");
	for (size_t g = 0; g < ARRAY_SIZE(help_groups); g++)
		for (size_t i = 0; i < help_groups[g].t->n; i++)
			if (help_groups[g].t->defs[i].flags & F_REJECT)
				fprintf(f, "  --%s %s\n", help_groups[g].t->defs[i].name,
					help_groups[g].t->defs[i].usage);
}

/* --- dispatch --------------------------------------------------------------------- */

static int opt_generic(struct opt_ctx *c, const struct opt_def *def, struct config_directive *d,
		       char *err, size_t errlen)
{
	char *base = (def->flags & F_CE) ? (char *)c->ce : (char *)c->o;
	void *field = base + def->off;
	struct options_file *f;

	switch (def->type) {
	case T_FLAG:
		*(bool *)field = true;
		return 0;
	case T_STR:
		*(const char **)field = ARG(1);
		return 0;
	case T_UINT:
		return opt_get_uint(d, 1, def->lo, def->hi, field, err, errlen);
	case T_FILE:
		f = field;
		f->data = ARG(1);
		f->is_inline = d->is_inline;
		return 0;
	}
	return -EINVAL;
}

static bool is_ignored(const struct options *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->ignore_unknown.n; i++)
		if (!strcmp(o->ignore_unknown.v[i], name))
			return true;
	return false;
}

/*
 * An option sluice does not know. Fatal in a config, unless ignore-unknown-option listed
 * it earlier, it came as `setenv opt NAME`, or setenv FORWARD_COMPATIBLE 1 was given;
 * pushed ones are only a warning, as in OpenVPN's add_option().
 */
static int opt_unknown(struct opt_ctx *c, struct config_directive *d, bool setenv_opt,
		       char *err, size_t errlen)
{
	char p[80];
	const char *name = opt_printable(ARG(0), p, sizeof(p));

	if (c->where == WHERE_PUSH)
		return opt_warnf(c->o, &d->src, "ignoring unsupported pushed option '%s'", name);
	if (setenv_opt || c->o->forward_compatible || is_ignored(c->o, ARG(0)))
		return opt_warnf(c->o, &d->src, "ignoring unsupported option '%s'", name);
	return ERR("unsupported option '%s'", name);
}

/* Where @def may appear. Returns 0 to apply it, 1 to skip it (warned), or an error. */
static int opt_allowed(struct opt_ctx *c, const struct opt_def *def, struct config_directive *d,
		       char *err, size_t errlen)
{
	const char *name = ARG(0);
	int n = NARGS, ret;

	if (c->where == WHERE_PUSH) {
		if (!(def->flags & (F_PULL | F_PULL_ROUTE)) ||
		    ((def->flags & F_PULL_ROUTE) && c->o->route_nopull)) {
			ret = opt_warnf(c->o, &d->src, "option '%s' cannot be pushed, ignored",
					name);
			return ret ? ret : 1;
		}
	} else if (def->flags & F_REJECT) {
		return ERR("%s %s", name, def->usage);
	} else if (c->where == WHERE_CONN && !(def->flags & F_CONN)) {
		return ERR("option '%s' is not allowed in a <connection> block", name);
	} else if (c->where == WHERE_CONFIG && !(def->flags & F_CONFIG)) {
		return ERR("option '%s' can only be pushed by a server", name);
	}
	if (d->is_inline && !(def->flags & F_INLINE))
		return ERR("option '%s' cannot be an inline <%s> block", name, name);
	if (c->where == WHERE_CONFIG && (def->flags & F_CONN) && c->o->conns.n) {
		ret = opt_warnf(c->o, &d->src, "option '%s' does not apply to the <connection> "
				"blocks before it", name);
		if (ret)
			return ret;
	}
	if (n >= def->min && n <= def->max)
		return 0;
	if (def->max == 0)
		return ERR("%s takes no arguments, got %d", name, n);
	if (def->type == T_UINT)
		return ERR("%s expects a number %u..%u, got %d arguments", name, def->lo, def->hi,
			   n);
	return ERR("%s expects %s, got %d argument%s", name, def->usage, n, n == 1 ? "" : "s");
}

int opt_dispatch(void *arg, struct config_directive *d, char *err, size_t errlen)
{
	struct opt_ctx *c = arg;
	const struct opt_def *def;
	bool setenv_opt = false;
	int ret, i;

	/* `setenv opt NAME ...`: NAME is optional, an unknown one only warns. */
	if (c->where != WHERE_PUSH && d->argc >= 2 && !strcmp(ARG(0), "setenv") &&
	    !strcmp(ARG(1), "opt")) {
		if (d->argc == 2)
			return ERR("setenv opt expects an option after 'opt'");
		for (i = 2; i <= d->argc; i++)
			d->argv[i - 2] = d->argv[i];
		d->argc -= 2;
		setenv_opt = true;
	}
	def = opt_lookup(ARG(0));
	if (!def)
		return opt_unknown(c, d, setenv_opt, err, errlen);
	ret = opt_allowed(c, def, d, err, errlen);
	if (ret == 0)
		ret = def->fn ? def->fn(c, d, err, errlen) : opt_generic(c, def, d, err, errlen);
	if (ret > 0)
		return 0;
	/* A bad pushed value is logged and skipped by OpenVPN, not fatal. */
	if (ret == -EINVAL && c->where == WHERE_PUSH)
		return opt_warnf(c->o, NULL, "%s (pushed option ignored)",
				 err + strlen("options: "));
	return ret;
}
