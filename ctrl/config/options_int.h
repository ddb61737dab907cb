/*
 * options_int.h - what the files of the options parser share. Not an API: only
 * ctrl/config/options.c and ctrl/config/opt_*.c include it; the rest of ctrl uses
 * options.h. ctrl only.
 *
 * The parser is split by concern:
 *
 *	options.c	lifecycle: defaults, the loaders, warnings, free, dump
 *	opt_dispatch.c	directive lookup and dispatch: where a directive may appear, the
 *			generic field types, unknown options, `config` includes and
 *			<connection> blocks
 *	opt_args.c	argument helpers: numbers, words, addresses, protocols, ports,
 *			key directions, and the warning and error strings
 *	opt_conn.c	connection directives (remote, proto, ports, MTU) and keepalive
 *	opt_tls.c	TLS, authentication and data channel directives
 *	opt_net.c	device, address, route and DNS directives
 *	opt_server.c	server directives and the `server` / `server-ipv6` expansion
 *	opt_proc.c	role, scripts, environment, process and sluice's own directives
 *	opt_finalize.c	options_finalize(): defaults and cross-option checks
 *	opt_push.c	PUSH_REPLY application and the state before the first push
 *
 * Each directive file keeps its handlers static and exports only its slice of the
 * directive table (struct opt_table); opt_dispatch.c looks a name up in every slice.
 * Functions shared between the files carry the opt_ prefix and are declared below, each
 * with the file that defines it; everything else stays static in its file.
 *
 * Where a directive may appear is a property of its table entry (F_* below), mirroring
 * OpenVPN's permission masks: F_CONFIG (file or command line), F_CONN (<connection>
 * block), F_PULL (PUSH_REPLY), F_PULL_ROUTE (PUSH_REPLY unless route-nopull), F_INLINE.
 */
#ifndef SLUICE_OPTIONS_INT_H
#define SLUICE_OPTIONS_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "options.h"

#define F_CONFIG	(1u << 0)
#define F_CONN		(1u << 1)
#define F_INLINE	(1u << 2)
#define F_PULL		(1u << 3)
#define F_PULL_ROUTE	(1u << 4)
#define F_REJECT	(1u << 5)	/* known to OpenVPN, refused by sluice: usage = why */
#define F_CE		(1u << 6)	/* generic field lives in struct options_conn */
#define F_SLUICE	(1u << 7)	/* sluice's own (not OpenVPN's): marked in --help */

enum opt_where { WHERE_CONFIG, WHERE_CONN, WHERE_PUSH };

struct opt_ctx {
	struct options *o;
	struct options_conn *ce;	/* target of connection-level options */
	enum opt_where where;
	int depth;			/* `config` nesting */
};

typedef int (*opt_fn)(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen);

enum opt_type { T_FN = 0, T_FLAG, T_STR, T_UINT, T_FILE };

struct opt_def {
	const char *name;
	opt_fn fn;
	const char *usage;	/* the arguments, for "expects ..." (or why, with F_REJECT) */
	unsigned int flags;
	unsigned char type;
	unsigned char min, max;	/* number of arguments after the name */
	unsigned short off;	/* field offset for the generic types */
	unsigned int lo, hi;	/* T_UINT range */
};

/* One file's slice of the directive table. Names are unique across all slices. */
struct opt_table {
	const struct opt_def *defs;
	size_t n;
};

#define OPT_TABLE(defs_)	{ .defs = (defs_), .n = ARRAY_SIZE(defs_) }

/* The directive slices, searched by opt_dispatch(); each is defined in the file named. */
extern const struct opt_table opt_conn_table;	/* opt_conn.c */
extern const struct opt_table opt_tls_table;	/* opt_tls.c */
extern const struct opt_table opt_net_table;	/* opt_net.c */
extern const struct opt_table opt_server_table;	/* opt_server.c */
extern const struct opt_table opt_proc_table;	/* opt_proc.c */

/* --- building table entries ------------------------------------------------------- */

#define OFF(field)	((unsigned short)offsetof(struct options, field))
#define CE_OFF(field)	((unsigned short)offsetof(struct options_conn, field))

#define FLAG(n, f, field) \
	{ .name = n, .flags = (f), .type = T_FLAG, .off = OFF(field) }
#define STR(n, f, field) \
	{ .name = n, .flags = (f), .type = T_STR, .min = 1, .max = 1, .off = OFF(field), \
	  .usage = "one argument" }
#define UINT(n, f, field, l, h) \
	{ .name = n, .flags = (f), .type = T_UINT, .min = 1, .max = 1, .off = OFF(field), \
	  .lo = (l), .hi = (h) }
#define CE_UINT(n, f, field, l, h) \
	{ .name = n, .flags = (f) | F_CE, .type = T_UINT, .min = 1, .max = 1, \
	  .off = CE_OFF(field), .lo = (l), .hi = (h) }
#define FILE_(n, field) \
	{ .name = n, .flags = F_CONFIG | F_INLINE, .type = T_FILE, .min = 1, .max = 1, \
	  .off = OFF(field), .usage = "FILE or an inline block" }
#define FN(n, f, mn, mx, fn_, u) \
	{ .name = n, .flags = (f), .fn = fn_, .min = mn, .max = mx, .usage = u }
#define NOOP(n, f, mn, mx) \
	{ .name = n, .flags = (f), .fn = opt_noop, .min = mn, .max = mx, .usage = "" }
#define REJECT(n, why) \
	{ .name = n, .flags = F_CONFIG | F_CONN | F_INLINE | F_REJECT, .fn = opt_reject, \
	  .max = CONFIG_PARMS_MAX, .usage = why }

#define C	F_CONFIG
#define CC	(F_CONFIG | F_CONN)
#define CP	(F_CONFIG | F_PULL)
#define CR	(F_CONFIG | F_PULL_ROUTE)

/* The table stores field offsets in 16 bits. */
_Static_assert(sizeof(struct options) <= USHRT_MAX, "struct options too big for opt_def.off");

/* Every list in struct options except warnings; used by free and by pull restore. */
#define OPTIONS_VECS(X) \
	X(remotes) X(conns) X(peer_fingerprints) X(routes) X(routes6) X(pull_filters) \
	X(dhcp_options) X(dns) X(setenvs) X(ignore_unknown) X(echo) X(push)

/* Room for element @n of @v (capacity *@cap, elements of @size): @v, a new array, or NULL. */
void *opt_vec_reserve(void *v, size_t n, size_t *cap, size_t size);

/* Appends a zeroed element and returns it, or NULL when out of memory. */
#define VEC_ADD(vec) ({							\
	__typeof__((vec).v) _v = opt_vec_reserve((vec).v, (vec).n, &(vec).cap,	\
						 sizeof(*(vec).v));		\
	__typeof__((vec).v) _e = NULL;						\
	if (_v) {								\
		(vec).v = _v;							\
		_e = &_v[(vec).n++];						\
		memset(_e, 0, sizeof(*_e));					\
	}									\
	_e;									\
})

/* For handlers: @d is the directive, @err/@errlen the error buffer. */
#define ERR(...)	config_errf(err, errlen, &d->src, __VA_ARGS__)
#define NARGS		(d->argc - 1)
#define ARG(i)		(d->argv[(i)])
#define ARG_IS(i, s)	(d->argc > (i) && !strcmp(d->argv[(i)], (s)))

/* --- opt_args.c ------------------------------------------------------------------- */

/* A copy of @s safe to print: non-printable bytes become '?', long words are cut. */
const char *opt_printable(const char *s, char *buf, size_t len);
/* Adds "options: <msg> at <src>" to o->warnings (at most WARNINGS_MAX). 0 or -ENOMEM. */
int __printf(3, 4) opt_warnf(struct options *o, const struct config_src *src, const char *fmt, ...);
/* "options: <msg>" into @err for errors that belong to no line. Returns -EINVAL. */
int __printf(3, 4) opt_errorf(char *err, size_t errlen, const char *fmt, ...);
/* A decimal number in lo..hi without sign or blanks. */
bool opt_parse_num(const char *s, unsigned long long lo, unsigned long long hi,
		   unsigned long long *out);
/* Argument @i as a number in lo..hi, or -EINVAL with an error saying what was expected. */
int opt_get_num(const struct config_directive *d, int i, unsigned long long lo,
		unsigned long long hi, unsigned long long *out, char *err, size_t errlen);
int opt_get_uint(const struct config_directive *d, int i, unsigned int lo, unsigned int hi,
		 unsigned int *out, char *err, size_t errlen);
/* Argument @i as an index into the NULL-terminated @words; @expect names them. */
int opt_get_word(const struct config_directive *d, int i, const char *const *words,
		 const char *expect, int *out, char *err, size_t errlen);
bool opt_is_ipv4(const char *s);
bool opt_is_ipv6(const char *s);
/* "addr/bits" (bits optional, default 128) into @addr; @local gets "addr" alone. */
bool opt_parse_ipv6_bits(struct config_arena *a, const char *s, uint8_t addr[16],
			 unsigned int *bits, const char **local);
/* Argument @i as udp, tcp, tcp-client or tcp-server, optionally with 4 or 6 (@af). */
int opt_get_proto(const struct config_directive *d, int i, enum opt_proto *proto, int *af,
		  char *err, size_t errlen);
/* Argument @i as a port lo..65535. */
int opt_get_port(const struct config_directive *d, int i, unsigned int lo, uint16_t *port,
		 char *err, size_t errlen);
/* Argument @i as a key direction: 0, 1, or -1 for bidirectional. */
int opt_get_key_direction(const struct config_directive *d, int i, int *dir, char *err,
			  size_t errlen);
/* Words @from.. joined by single spaces, in the arena; NULL when out of memory. */
char *opt_join_args(struct config_arena *a, const struct config_directive *d, int from);

/* --- the other files -------------------------------------------------------------- */

/* opt_dispatch.c: applies one directive in the context @arg (a struct opt_ctx). */
int opt_dispatch(void *arg, struct config_directive *d, char *err, size_t errlen);
/* opt_dispatch.c: reads @path (relative to --cd) as a config; @from is the include line. */
int opt_load_file(struct opt_ctx *c, const char *path, const struct config_src *from,
		  char *err, size_t errlen);
/* opt_dispatch.c: handlers of NOOP() and REJECT() entries (the latter is never called). */
int opt_noop(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen);
int opt_reject(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen);

/* opt_tls.c: whether @comp really compresses (lzo, lz4, lz4-v2), not just frames. */
bool opt_comp_is_real(enum opt_comp comp);

/* opt_server.c: helper.c's `server` and `server-ipv6` expansion, for options_finalize(). */
int opt_server_expand(struct options *o, char *err, size_t errlen);
int opt_server_ipv6_expand(struct options *o, char *err, size_t errlen);
/* opt_server.c: appends @text (NULL: out of memory) to the push list. 0 or -ENOMEM. */
int opt_push_add(struct options *o, const char *text);

/* opt_push.c: frees the state saved before the first push (options_free()). */
void opt_pull_free(struct options *o);

#endif
