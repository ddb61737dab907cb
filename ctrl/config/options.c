/*
 * options.c - OpenVPN 2.6 directives into struct options: the option table, one handler
 * per directive, the cross-option pass (options_finalize) and PUSH_REPLY application.
 * Facts come from OpenVPN 2.6's options.c (add_option, options_postprocess_*), helper.c
 * (client/server/keepalive expansion) and push.c; the code is our own.
 *
 * Called from the ctrl thread only: at startup, on SIGHUP and for each PUSH_REPLY. Pure
 * parsing: nothing is resolved, executed or logged here. The only files opened are
 * `config` includes and a test-data-key file.
 *
 * Where a directive may appear is a property of its table entry (F_* below), mirroring
 * OpenVPN's permission masks: F_CONFIG (file or command line), F_CONN (<connection>
 * block), F_PULL (PUSH_REPLY), F_PULL_ROUTE (PUSH_REPLY unless route-nopull), F_INLINE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../../crypto/statickey.h"
#include "options.h"

#define F_CONFIG	(1u << 0)
#define F_CONN		(1u << 1)
#define F_INLINE	(1u << 2)
#define F_PULL		(1u << 3)
#define F_PULL_ROUTE	(1u << 4)
#define F_REJECT	(1u << 5)	/* known to OpenVPN, refused by sluice: usage = why */
#define F_CE		(1u << 6)	/* generic field lives in struct options_conn */

/* A hostile server or config must not grow the warning list without bound. */
#define WARNINGS_MAX	256
/* OpenVPN's IFCONFIG_POOL_MAX and IFCONFIG_POOL_MIN_NETBITS. */
#define POOL_MAX	65536
#define POOL_MIN_NETBITS 16

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

/* Every list in struct options except warnings; used by free and by pull restore. */
#define OPTIONS_VECS(X) \
	X(remotes) X(conns) X(peer_fingerprints) X(routes) X(routes6) X(pull_filters) \
	X(dhcp_options) X(dns) X(setenvs) X(ignore_unknown) X(echo) X(push)

/* --- small helpers --------------------------------------------------------------- */

static void *vec_reserve(void *v, size_t n, size_t *cap, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / size)
		return NULL;
	v = realloc(v, ncap * size);
	if (v)
		*cap = ncap;
	return v;
}

/* Appends a zeroed element and returns it, or NULL when out of memory. */
#define VEC_ADD(vec) ({							\
	__typeof__((vec).v) _v = vec_reserve((vec).v, (vec).n, &(vec).cap,	\
					     sizeof(*(vec).v));		\
	__typeof__((vec).v) _e = NULL;						\
	if (_v) {								\
		(vec).v = _v;							\
		_e = &_v[(vec).n++];						\
		memset(_e, 0, sizeof(*_e));					\
	}									\
	_e;									\
})

/* A copy of @s safe to print: non-printable bytes become '?', long words are cut. */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	if (s[i] && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

static int vwarn(struct options *o, const struct config_src *src, const char *fmt, va_list ap)
{
	char msg[512], where[320], **slot;
	char *w;

	if (o->warnings.n >= WARNINGS_MAX)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (asprintf(&w, src ? "options: %s at %s" : "options: %s", msg,
		     src ? config_src_str(src, where, sizeof(where)) : "") < 0)
		return -ENOMEM;
	slot = VEC_ADD(o->warnings);
	if (!slot) {
		free(w);
		return -ENOMEM;
	}
	*slot = w;
	return 0;
}

static int __printf(3, 4) warnf(struct options *o, const struct config_src *src,
				const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vwarn(o, src, fmt, ap);
	va_end(ap);
	return ret;
}

/* "options: <msg>" for errors that belong to no line (options_finalize). */
static int __printf(3, 4) errorf(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "options: %s", msg);
	return -EINVAL;
}

#define ERR(...)	config_errf(err, errlen, &d->src, __VA_ARGS__)
#define NARGS		(d->argc - 1)
#define ARG(i)		(d->argv[(i)])
#define ARG_IS(i, s)	(d->argc > (i) && !strcmp(d->argv[(i)], (s)))

static bool parse_num(const char *s, unsigned long long lo, unsigned long long hi,
		      unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (ULLONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Argument @i as a number in lo..hi, or an error saying what was expected. */
static int get_num(const struct config_directive *d, int i, unsigned long long lo,
		   unsigned long long hi, unsigned long long *out, char *err, size_t errlen)
{
	char p[80];

	if (parse_num(ARG(i), lo, hi, out))
		return 0;
	return ERR("%s expects a number %llu..%llu, got '%s'", ARG(0), lo, hi,
		   printable(ARG(i), p, sizeof(p)));
}

static int get_uint(const struct config_directive *d, int i, unsigned int lo, unsigned int hi,
		    unsigned int *out, char *err, size_t errlen)
{
	unsigned long long v;
	int ret = get_num(d, i, lo, hi, &v, err, errlen);

	if (!ret)
		*out = (unsigned int)v;
	return ret;
}

/* Argument @i as an index into the NULL-terminated @words. */
static int get_word(const struct config_directive *d, int i, const char *const *words,
		    const char *expect, int *out, char *err, size_t errlen)
{
	char p[80];
	int k;

	for (k = 0; words[k]; k++) {
		if (!strcmp(ARG(i), words[k])) {
			*out = k;
			return 0;
		}
	}
	return ERR("%s expects %s, got '%s'", ARG(0), expect, printable(ARG(i), p, sizeof(p)));
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

static bool is_ipv6(const char *s)
{
	uint8_t a[16];

	return inet_pton(AF_INET6, s, a) == 1;
}

/* "addr/bits" (bits optional, default 128) into @addr; @local gets "addr" alone. */
static bool parse_ipv6_bits(struct config_arena *a, const char *s, uint8_t addr[16],
			    unsigned int *bits, const char **local)
{
	const char *slash = strchr(s, '/');
	unsigned long long b = 128;
	char tmp[64];
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, addr) != 1)
		return false;
	if (slash && !parse_num(slash + 1, 0, 128, &b))
		return false;
	*bits = (unsigned int)b;
	if (local) {
		*local = config_arena_strdup(a, tmp);
		if (!*local)
			return false;
	}
	return true;
}

/* vpn_gateway, net_gateway, remote_host: OpenVPN's is_special_addr(). */
static bool is_special_addr(const char *s)
{
	return !strcmp(s, "vpn_gateway") || !strcmp(s, "net_gateway") ||
	       !strcmp(s, "remote_host");
}

/* A host name as OpenVPN's dns_addr_safe() accepts it. */
static bool is_hostname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 255)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

static const char *proto_names[] = { "udp", "tcp", "tcp-client", "tcp-server" };

/* OpenVPN's proto_names[]: udp, tcp, tcp-client, tcp-server, each also with 4 or 6. */
static bool parse_proto(const char *s, enum opt_proto *proto, int *af)
{
	char base[16];
	const char *digit;
	size_t i, n;

	*af = AF_UNSPEC;
	digit = strpbrk(s, "46");
	n = strlen(s);
	if (n >= sizeof(base))
		return false;
	if (digit) {
		/* udp4, tcp6-client: the family digit follows the three-letter protocol. */
		if (digit != s + 3 || (digit[1] && digit[1] != '-'))
			return false;
		*af = *digit == '4' ? AF_INET : AF_INET6;
		memcpy(base, s, 3);
		strcpy(base + 3, digit + 1);
	} else {
		strcpy(base, s);
	}
	for (i = 0; i < ARRAY_SIZE(proto_names); i++) {
		if (!strcmp(base, proto_names[i])) {
			*proto = (enum opt_proto)i;
			return true;
		}
	}
	return false;
}

const char *options_proto_name(enum opt_proto proto)
{
	return (unsigned int)proto < ARRAY_SIZE(proto_names) ? proto_names[proto] : "?";
}

static int get_proto(const struct config_directive *d, int i, enum opt_proto *proto, int *af,
		     char *err, size_t errlen)
{
	char p[80];

	if (parse_proto(ARG(i), proto, af))
		return 0;
	return ERR("%s expects a protocol (udp, tcp, tcp-client, tcp-server, optionally with 4 "
		   "or 6 as in udp6), got '%s'", ARG(0), printable(ARG(i), p, sizeof(p)));
}

static int get_port(const struct config_directive *d, int i, unsigned int lo, uint16_t *port,
		    char *err, size_t errlen)
{
	unsigned int v;
	int ret = get_uint(d, i, lo, 65535, &v, err, errlen);

	if (!ret)
		*port = (uint16_t)v;
	return ret;
}

/* ascii2keydirection(): 0, 1, or bidirectional. */
static int get_key_direction(const struct config_directive *d, int i, int *dir, char *err,
			     size_t errlen)
{
	char p[80];

	if (!strcmp(ARG(i), "0") || !strcmp(ARG(i), "1"))
		*dir = ARG(i)[0] - '0';
	else if (!strcmp(ARG(i), "bidirectional") || !strcmp(ARG(i), "bi"))
		*dir = -1;
	else
		return ERR("%s expects a key direction 0 or 1, got '%s'", ARG(0),
			   printable(ARG(i), p, sizeof(p)));
	return 0;
}

/* Words @from.. joined by single spaces, in the arena. */
static char *join_args(struct config_arena *a, const struct config_directive *d, int from)
{
	size_t len = 1;
	char *s, *p;
	int i;

	for (i = from; i < d->argc; i++)
		len += strlen(ARG(i)) + 1;
	s = config_arena_alloc(a, len);
	if (!s)
		return NULL;
	p = s;
	for (i = from; i < d->argc; i++) {
		size_t n = strlen(ARG(i));

		if (i > from)
			*p++ = ' ';
		memcpy(p, ARG(i), n);
		p += n;
	}
	*p = '\0';
	return s;
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

/* --- role, device, addresses ------------------------------------------------------ */

static int h_mode(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "p2p", "server", NULL };
	int k, ret = get_word(d, 1, w, "p2p or server", &k, err, errlen);

	if (!ret)
		c->o->mode = k ? OPT_MODE_SERVER : OPT_MODE_P2P;
	return ret;
}

static int h_dev_type(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "tun", "tap", "null", NULL };
	int k, ret = get_word(d, 1, w, "tun, tap or null", &k, err, errlen);

	if (!ret)
		c->o->dev_type = ARG(1);
	return ret;
}

static int h_topology(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "net30", "p2p", "subnet", NULL };
	int k, ret = get_word(d, 1, w, "net30, p2p or subnet", &k, err, errlen);

	if (!ret)
		c->o->topology = (enum opt_topology)k;
	return ret;
}

static int h_ifconfig(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	char p1[80], p2[80];

	/* OpenVPN takes names only with allow-pull-fqdn, which sluice does not offer. */
	if (!is_ipv4(ARG(1)) || !is_ipv4(ARG(2)))
		return ERR("ifconfig expects two IPv4 addresses, got '%s' '%s'",
			   printable(ARG(1), p1, sizeof(p1)), printable(ARG(2), p2, sizeof(p2)));
	c->o->ifconfig_local = ARG(1);
	c->o->ifconfig_remote = ARG(2);
	return 0;
}

static int h_ifconfig_ipv6(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	const char *local;
	unsigned int bits;
	uint8_t addr[16];
	char p1[80], p2[80];

	if (!parse_ipv6_bits(&c->o->arena, ARG(1), addr, &bits, &local) || !is_ipv6(ARG(2)))
		return ERR("ifconfig-ipv6 expects ADDR/BITS and an IPv6 address, got '%s' '%s'",
			   printable(ARG(1), p1, sizeof(p1)), printable(ARG(2), p2, sizeof(p2)));
	if (bits < 64 || bits > 124)
		return ERR("ifconfig-ipv6 expects a prefix length 64..124, got /%u", bits);
	c->o->ifconfig_ipv6_local = local;
	c->o->ifconfig_ipv6_netbits = bits;
	c->o->ifconfig_ipv6_remote = ARG(2);
	return 0;
}

/* --- connection level ------------------------------------------------------------- */

static int h_remote(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options_remote r = { .host = ARG(1), .src = d->src };
	struct options_remote *e;
	int ret;

	if (!*ARG(1))
		return ERR("remote expects a host name or address, got ''");
	if (NARGS >= 2) {
		ret = get_port(d, 2, 1, &r.port, err, errlen);
		if (ret)
			return ret;
		r.has_port = true;
	}
	if (NARGS >= 3) {
		ret = get_proto(d, 3, &r.proto, &r.af, err, errlen);
		if (ret)
			return ret;
		r.has_proto = true;
	}
	if (c->where == WHERE_CONN) {
		/* connection_entry_load_re(): the block's own remote. */
		c->ce->remote = r.host;
		if (r.has_port)
			c->ce->remote_port = r.port;
		if (r.has_proto) {
			c->ce->proto = r.proto;
			c->ce->af = r.af;
		}
		return 0;
	}
	e = VEC_ADD(c->o->remotes);
	if (!e)
		return -ENOMEM;
	*e = r;
	return 0;
}

static int h_proto(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	return get_proto(d, 1, &c->ce->proto, &c->ce->af, err, errlen);
}

static int h_connect_freq_initial(struct opt_ctx *c, struct config_directive *d, char *err,
				  size_t errlen)
{
	int ret = get_uint(d, 1, 1, INT_MAX, &c->o->connect_freq_initial_n, err, errlen);

	return ret ? ret : get_uint(d, 2, 1, INT_MAX, &c->o->connect_freq_initial_sec, err,
				    errlen);
}

static int h_port(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	uint16_t port;
	int ret = get_port(d, 1, 0, &port, err, errlen);

	if (ret)
		return ret;
	if (!strcmp(ARG(0), "port") || !strcmp(ARG(0), "lport"))
		c->ce->local_port = port;
	if (!strcmp(ARG(0), "port") || !strcmp(ARG(0), "rport"))
		c->ce->remote_port = port;
	if (!strcmp(ARG(0), "lport"))
		c->ce->has_local_port = true;
	return 0;
}

static int h_bind(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	if (NARGS && strcmp(ARG(1), "ipv6only"))
		return ERR("bind expects nothing or 'ipv6only'");
	c->ce->has_bind = true;
	c->ce->bind_ipv6_only = NARGS > 0;
	return 0;
}

static int h_nobind(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)d, (void)err, (void)errlen;
	c->ce->bind_local = false;
	return 0;
}

static int h_connect_retry(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	unsigned int v, max;
	int ret = get_uint(d, 1, 0, INT_MAX, &v, err, errlen);

	if (ret)
		return ret;
	/* Kept to 16 bits, as OpenVPN does, so the exponential back-off cannot overflow. */
	if (v > 0xFFFF) {
		warnf(c->o, &d->src, "connect-retry %u truncated to 65535", v);
		v = 0xFFFF;
	}
	c->ce->connect_retry = v;
	if (NARGS == 2) {
		ret = get_uint(d, 2, 0, INT_MAX, &max, err, errlen);
		if (ret)
			return ret;
		c->ce->connect_retry_max = MAX(max, v);
	}
	return 0;
}

static int h_resolv_retry(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	unsigned int v;
	int ret;

	if (!strcmp(ARG(1), "infinite")) {
		c->o->resolv_retry = -1;
		return 0;
	}
	ret = get_uint(d, 1, 0, INT_MAX, &v, err, errlen);
	if (!ret)
		c->o->resolv_retry = (int)v;
	return ret;
}

static int h_tun_mtu(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned int mtu, occ = 0;
	int ret = get_uint(d, 1, 100, 65536, &mtu, err, errlen);	/* TUN_MTU_MIN..MAX */

	if (!ret && NARGS == 2)
		ret = get_uint(d, 2, 0, 65536, &occ, err, errlen);
	if (ret)
		return ret;
	c->ce->tun_mtu = mtu;
	c->ce->occ_mtu = occ;
	return 0;
}

static int h_mssfix(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options_conn *ce = c->ce;
	unsigned int v;
	int ret;

	if (NARGS == 0) {
		ce->mssfix_default = true;
		ce->mssfix_encap = true;
		ce->mssfix_fixed = false;
		return 0;
	}
	ret = get_uint(d, 1, 0, 65535, &v, err, errlen);
	if (ret)
		return ret;
	ce->mssfix = v;
	ce->mssfix_default = false;
	ce->mssfix_encap = false;
	if (ARG_IS(2, "mtu"))
		ce->mssfix_encap = true;
	else if (ARG_IS(2, "fixed"))
		ce->mssfix_fixed = true;
	else if (NARGS == 2)
		return ERR("mssfix expects 'mtu' or 'fixed' after the size");
	return 0;
}

static int h_mtu_disc(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "no", "maybe", "yes", NULL };
	int k, ret = get_word(d, 1, w, "no, maybe or yes", &k, err, errlen);

	if (!ret)
		c->ce->mtu_disc = (enum opt_mtu_disc)(k + 1);
	return ret;
}

static int h_explicit_exit_notify(struct opt_ctx *c, struct config_directive *d, char *err,
				  size_t errlen)
{
	if (NARGS == 0) {
		c->ce->explicit_exit_notify = 1;
		return 0;
	}
	return get_uint(d, 1, 0, INT_MAX, &c->ce->explicit_exit_notify, err, errlen);
}

/* --- TLS -------------------------------------------------------------------------- */

/* tls-auth/tls-crypt/tls-crypt-v2: global, or the <connection> block's own. */
static struct options_file *wrap_target(struct opt_ctx *c, const char *name)
{
	bool conn = c->where == WHERE_CONN;

	if (!strcmp(name, "tls-auth"))
		return conn ? &c->ce->tls_auth : &c->o->tls_auth;
	if (!strcmp(name, "tls-crypt"))
		return conn ? &c->ce->tls_crypt : &c->o->tls_crypt;
	return conn ? &c->ce->tls_crypt_v2 : &c->o->tls_crypt_v2;
}

static int h_tls_wrap(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options_file *f = wrap_target(c, ARG(0));
	int dir = -1, ret;

	if (!strcmp(ARG(0), "tls-auth")) {
		if (NARGS == 2 && !d->is_inline) {
			ret = get_key_direction(d, 2, &dir, err, errlen);
			if (ret)
				return ret;
		}
		if (c->where == WHERE_CONN)
			c->ce->key_direction = dir;
		else if (NARGS == 2)
			c->o->key_direction = dir;
	} else if (!strcmp(ARG(0), "tls-crypt-v2") && NARGS == 2) {
		if (!strcmp(ARG(2), "allow-noncookie"))
			c->ce->tls_crypt_v2_allow_noncookie = true;
		else if (!strcmp(ARG(2), "force-cookie"))
			c->ce->tls_crypt_v2_allow_noncookie = false;
		else
			return ERR("tls-crypt-v2 expects force-cookie or allow-noncookie after the "
				   "key");
	} else if (NARGS == 2) {
		return ERR("%s expects one key FILE or an inline block", ARG(0));
	}
	f->data = ARG(1);
	f->is_inline = d->is_inline;
	return 0;
}

static int h_key_direction(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	int dir, ret = get_key_direction(d, 1, &dir, err, errlen);

	if (ret)
		return ret;
	if (c->where == WHERE_CONN)
		c->ce->key_direction = dir;
	else
		c->o->key_direction = dir;
	return 0;
}

static int h_dh(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->o->dh.data = ARG(1);
	c->o->dh.is_inline = d->is_inline;
	c->o->dh_none = !d->is_inline && !strcmp(ARG(1), "none");
	return 0;
}

static int h_crl_verify(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	if (NARGS == 2 && strcmp(ARG(2), "dir"))
		return ERR("crl-verify expects FILE, or DIR followed by 'dir'");
	c->o->crl_verify.data = ARG(1);
	c->o->crl_verify.is_inline = d->is_inline;
	c->o->crl_verify_dir = NARGS == 2;
	return 0;
}

static int hex_nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One "AB:CD:...:EF" SHA-256 fingerprint (trailing blanks allowed). */
static bool parse_fingerprint(const char *s, size_t len, uint8_t out[32])
{
	size_t k;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	if (len != 32 * 3 - 1)
		return false;
	for (k = 0; k < 32; k++) {
		int hi = hex_nibble(s[3 * k]), lo = hex_nibble(s[3 * k + 1]);

		if (hi < 0 || lo < 0 || (k < 31 && s[3 * k + 2] != ':'))
			return false;
		out[k] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* peer-fingerprint: one fingerprint, or an inline block with one per line. */
static int h_peer_fingerprint(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	const char *p = ARG(1);
	unsigned int line = d->src.line + (d->is_inline ? 1 : 0);

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = p;
		struct options_fingerprint *fp;
		uint8_t sha[32];

		while (len && (*q == ' ' || *q == '\t')) {
			q++;
			len--;
		}
		if (len && *q != '#' && !(len == 1 && *q == '\r')) {
			struct config_src s = { d->src.file, line };

			if (!parse_fingerprint(q, len, sha))
				return config_errf(err, errlen, &s, "peer-fingerprint "
						   "expects a SHA-256 fingerprint AB:CD:...:EF "
						   "(32 bytes)");
			fp = VEC_ADD(c->o->peer_fingerprints);
			if (!fp)
				return -ENOMEM;
			memcpy(fp->sha256, sha, 32);
		}
		line++;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return 0;
}

static int h_remote_cert_tls(struct opt_ctx *c, struct config_directive *d, char *err,
			     size_t errlen)
{
	static const char *const w[] = { "server", "client", NULL };
	int k, ret = get_word(d, 1, w, "server or client", &k, err, errlen);

	if (!ret)
		c->o->remote_cert_tls = k ? OPT_CERT_TLS_CLIENT : OPT_CERT_TLS_SERVER;
	return ret;
}

static int h_verify_x509_name(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	static const char *const w[] = { "subject", "name", "name-prefix", NULL };
	int k = 0, ret;

	if (!*ARG(1))
		return ERR("verify-x509-name expects a non-empty name");
	if (NARGS == 2) {
		ret = get_word(d, 2, w, "subject, name or name-prefix", &k, err, errlen);
		if (ret)
			return ret;
	}
	c->o->verify_x509_name = ARG(1);
	c->o->verify_x509_type = (enum opt_x509_type)k;
	return 0;
}

static int tls_version(const char *s)
{
	static const char *const v[] = { "1.0", "1.1", "1.2", "1.3" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (!strcmp(s, v[i]))
			return (int)i + OPT_TLS_VER_1_0;
	return -1;
}

/* tls_version_parse(): an unknown version with "or-highest" means TLS 1.3 (OpenSSL 3). */
static int h_tls_version(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	bool is_min = !strcmp(ARG(0), "tls-version-min");
	bool or_highest = is_min && ARG_IS(2, "or-highest");
	int v = tls_version(ARG(1));
	char p[80];

	if (is_min && NARGS == 2 && !or_highest)
		return ERR("tls-version-min expects 'or-highest' after the version");
	if (v < 0 && or_highest)
		v = OPT_TLS_VER_1_3;
	if (v < 0)
		return ERR("%s expects 1.0, 1.1, 1.2 or 1.3, got '%s'", ARG(0),
			   printable(ARG(1), p, sizeof(p)));
	if (is_min) {
		c->o->tls_version_min = (enum opt_tls_ver)v;
		c->o->tls_version_min_or_highest = or_highest;
	} else {
		c->o->tls_version_max = (enum opt_tls_ver)v;
	}
	return 0;
}

static int h_tls_cert_profile(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	static const char *const w[] = { "insecure", "legacy", "preferred", "suiteb", NULL };
	int k, ret = get_word(d, 1, w, "insecure, legacy, preferred or suiteb", &k, err, errlen);

	if (!ret)
		c->o->tls_cert_profile = ARG(1);
	return ret;
}

static int h_verify_client_cert(struct opt_ctx *c, struct config_directive *d, char *err,
				size_t errlen)
{
	static const char *const w[] = { "require", "optional", "none", NULL };
	int k = 0, ret = NARGS ? get_word(d, 1, w, "none, optional or require", &k, err,
					  errlen) : 0;

	if (!ret)
		c->o->verify_client_cert = (enum opt_client_cert)k;
	return ret;
}

static int h_reneg_sec(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned int max, min;
	int ret = get_uint(d, 1, 0, INT_MAX, &max, err, errlen);

	if (ret)
		return ret;
	c->o->reneg_sec = max;
	if (NARGS == 2) {
		ret = get_uint(d, 2, 0, INT_MAX, &min, err, errlen);
		if (ret)
			return ret;
		c->o->reneg_sec_min = (int)min;
	}
	return 0;
}

static int h_reneg_count(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	unsigned long long v;
	int ret = get_num(d, 1, 0, INT64_MAX, &v, err, errlen);

	if (ret)
		return ret;
	if (!strcmp(ARG(0), "reneg-bytes"))
		c->o->reneg_bytes = (int64_t)v;
	else
		c->o->reneg_pkts = (int64_t)v;
	return 0;
}

/* --- authentication --------------------------------------------------------------- */

static int h_auth_user_pass(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	(void)err, (void)errlen;
	c->o->has_auth_user_pass = true;
	c->o->auth_user_pass.data = NARGS ? ARG(1) : NULL;
	c->o->auth_user_pass.is_inline = d->is_inline;
	return 0;
}

static int h_auth_retry(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "none", "nointeract", "interact", NULL };
	int k, ret = get_word(d, 1, w, "none, nointeract or interact", &k, err, errlen);

	if (!ret)
		c->o->auth_retry = (enum opt_auth_retry)k;
	return ret;
}

static int h_auth_user_pass_verify(struct opt_ctx *c, struct config_directive *d, char *err,
				   size_t errlen)
{
	static const char *const w[] = { "via-env", "via-file", NULL };
	int k, ret;

	if (NARGS < 2)
		return ERR("auth-user-pass-verify expects 'COMMAND' and via-env or via-file");
	ret = get_word(d, 2, w, "via-env or via-file", &k, err, errlen);
	if (ret)
		return ret;
	c->o->auth_user_pass_verify = ARG(1);
	c->o->auth_user_pass_verify_via_file = k == 1;
	return 0;
}

/* --- data channel ----------------------------------------------------------------- */

static int h_cipher(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->o->cipher = ARG(1);
	c->o->cipher_pushed = c->where == WHERE_PUSH;
	return 0;
}

static int h_data_ciphers(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	if (!*ARG(1) || ARG(1)[strlen(ARG(1)) - 1] == ':')
		return ERR("%s expects a ':'-separated cipher list", ARG(0));
	c->o->data_ciphers = ARG(1);
	return 0;
}

static int h_key_method(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)c;
	if (strcmp(ARG(1), "2"))
		return ERR("key-method expects 2 (key method 1 is gone since OpenVPN 2.5)");
	return 0;
}

static int h_replay_window(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	unsigned int n, t;
	int ret = get_uint(d, 1, 0, 65536, &n, err, errlen);	/* MIN/MAX_SEQ_BACKTRACK */

	if (ret)
		return ret;
	if (NARGS == 2) {
		ret = get_uint(d, 2, 0, 600, &t, err, errlen);	/* MIN/MAX_TIME_BACKTRACK */
		if (ret)
			return ret;
		c->o->replay_time = t;
	}
	c->o->replay_window = n;
	return 0;
}

static bool comp_is_real(enum opt_comp comp)
{
	return comp == OPT_COMP_LZO || comp == OPT_COMP_LZ4 || comp == OPT_COMP_LZ4_V2;
}

static int h_comp_lzo(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "yes", "no", "adaptive", NULL };
	int k = 2, ret = NARGS ? get_word(d, 1, w, "yes, no or adaptive", &k, err, errlen) : 0;

	if (ret)
		return ret;
	c->o->comp = k == 1 ? OPT_COMP_LZO_STUB : OPT_COMP_LZO;
	c->o->comp_adaptive = k == 2;
	return 0;
}

static int h_compress(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "stub", "stub-v2", "lzo", "lz4", "lz4-v2", "migrate",
					 NULL };
	static const enum opt_comp map[] = { OPT_COMP_STUB, OPT_COMP_STUB_V2, OPT_COMP_LZO,
					     OPT_COMP_LZ4, OPT_COMP_LZ4_V2, OPT_COMP_MIGRATE };
	int k = 0, ret = NARGS ? get_word(d, 1, w, "stub, stub-v2, lzo, lz4, lz4-v2 or migrate",
					  &k, err, errlen) : 0;

	if (ret)
		return ret;
	c->o->comp = map[k];
	c->o->comp_adaptive = false;
	return 0;
}

static int h_comp_noadapt(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	(void)d, (void)err, (void)errlen;
	c->o->comp_adaptive = false;
	return 0;
}

static int h_allow_compression(struct opt_ctx *c, struct config_directive *d, char *err,
			       size_t errlen)
{
	static const char *const w[] = { "no", "asym", "yes", NULL };
	int k, ret = get_word(d, 1, w, "yes, no or asym", &k, err, errlen);

	if (ret)
		return ret;
	if (k == 0 && comp_is_real(c->o->comp))
		return ERR("allow-compression no conflicts with compress/comp-lzo %s given before",
			   options_comp_name(c->o->comp));
	if (k != 0 && c->o->allow_compression == OPT_ALLOW_COMP_NO)
		return ERR("allow-compression %s after allow-compression no", ARG(1));
	c->o->allow_compression = (enum opt_allow_comp)(k + 1);
	return 0;
}

static int h_protocol_flags(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	char p[80];
	int i;

	(void)err, (void)errlen;
	for (i = 1; i < d->argc; i++) {
		if (!strcmp(ARG(i), "cc-exit"))
			c->o->protocol_flags |= OPT_PROTO_CC_EXIT;
		else if (!strcmp(ARG(i), "tls-ekm"))
			c->o->protocol_flags |= OPT_PROTO_TLS_EKM;
		else if (!strcmp(ARG(i), "dyn-tls-crypt"))
			c->o->protocol_flags |= OPT_PROTO_DYN_TLS_CRYPT;
		else
			warnf(c->o, &d->src, "unknown protocol-flags flag '%s' ignored",
			      printable(ARG(i), p, sizeof(p)));
	}
	return 0;
}

static int h_key_derivation(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	if (strcmp(ARG(1), "tls-ekm"))
		return ERR("key-derivation expects tls-ekm");
	c->o->protocol_flags |= OPT_PROTO_TLS_EKM;
	return 0;
}

static int h_peer_id(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned int v;
	int ret = get_uint(d, 1, 0, 0xFFFFFF, &v, err, errlen);

	if (ret)
		return ret;
	c->o->peer_id = v;
	c->o->has_peer_id = true;
	return 0;
}

static int h_push_continuation(struct opt_ctx *c, struct config_directive *d, char *err,
			       size_t errlen)
{
	unsigned int v;
	int ret = get_uint(d, 1, 0, 2, &v, err, errlen);

	if (!ret)
		c->o->push_continuation = (int)v;
	return ret;
}

/* --- keepalive -------------------------------------------------------------------- */

static int h_keepalive(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	int ret = get_uint(d, 1, 0, INT_MAX, &c->o->keepalive_ping, err, errlen);

	return ret ? ret : get_uint(d, 2, 0, INT_MAX, &c->o->keepalive_timeout, err, errlen);
}

static int h_ping_rec(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	int ret = get_uint(d, 1, 0, INT_MAX, &c->o->ping_rec_timeout, err, errlen);

	if (!ret)
		c->o->ping_rec_action = strcmp(ARG(0), "ping-exit") ? OPT_PING_RESTART :
								       OPT_PING_EXIT;
	return ret;
}

static int h_inactive(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned long long bytes;
	int ret = get_uint(d, 1, 0, INT_MAX, &c->o->inactive, err, errlen);

	if (!ret && NARGS == 2) {
		ret = get_num(d, 2, 0, INT64_MAX, &bytes, err, errlen);
		if (!ret)
			c->o->inactive_bytes = (int64_t)bytes;
	}
	return ret;
}

/* --- routes and DNS --------------------------------------------------------------- */

/* A route word: "default" means not given (route.c is_route_parm_defined()). */
static const char *route_parm(const struct config_directive *d, int i)
{
	return d->argc > i && strcmp(ARG(i), "default") ? ARG(i) : NULL;
}

/* Names only in the config: a pushed route must be an address (no allow-pull-fqdn). */
static bool route_addr_ok(const struct opt_ctx *c, const char *s)
{
	return is_ipv4(s) || is_special_addr(s) || (c->where != WHERE_PUSH && is_hostname(s));
}

static int h_route(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char *mask = route_parm(d, 2), *gw = route_parm(d, 3), *metric = route_parm(d, 4);
	struct options_route *r;
	unsigned int m;
	char p[80];

	if (!route_addr_ok(c, ARG(1)))
		return ERR("route expects a network address, got '%s'",
			   printable(ARG(1), p, sizeof(p)));
	if (mask && !is_ipv4(mask))
		return ERR("route expects a netmask such as 255.255.255.0, got '%s'",
			   printable(mask, p, sizeof(p)));
	if (gw && !route_addr_ok(c, gw))
		return ERR("route expects a gateway address, got '%s'",
			   printable(gw, p, sizeof(p)));
	if (metric && get_uint(d, 4, 0, INT_MAX, &m, err, errlen))
		return -EINVAL;
	r = VEC_ADD(c->o->routes);
	if (!r)
		return -ENOMEM;
	r->network = ARG(1);
	r->netmask = mask;
	r->gateway = gw;
	r->metric = metric;
	return 0;
}

static int h_route_ipv6(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char *gw = route_parm(d, 2), *metric = route_parm(d, 3);
	struct options_route6 *r;
	unsigned int bits, m;
	uint8_t addr[16];
	char p[80];

	if (!parse_ipv6_bits(&c->o->arena, ARG(1), addr, &bits, NULL))
		return ERR("route-ipv6 expects NETWORK/BITS, got '%s'",
			   printable(ARG(1), p, sizeof(p)));
	if (gw && !is_ipv6(gw))
		return ERR("route-ipv6 expects an IPv6 gateway, got '%s'",
			   printable(gw, p, sizeof(p)));
	if (metric && get_uint(d, 3, 0, INT_MAX, &m, err, errlen))
		return -EINVAL;
	r = VEC_ADD(c->o->routes6);
	if (!r)
		return -ENOMEM;
	r->network = ARG(1);
	r->gateway = gw;
	r->metric = metric;
	return 0;
}

static int h_route_gateway(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	char p[80];

	if (!strcmp(ARG(1), "dhcp")) {
		c->o->route_gateway_dhcp = true;
		return 0;
	}
	if (!route_addr_ok(c, ARG(1)))
		return ERR("route-gateway expects an address or 'dhcp', got '%s'",
			   printable(ARG(1), p, sizeof(p)));
	c->o->route_gateway = ARG(1);
	return 0;
}

static int h_redirect_gateway(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	static const struct { const char *name; unsigned int flag; } flags[] = {
		{ "local", OPT_RG_LOCAL }, { "autolocal", OPT_RG_AUTO_LOCAL },
		{ "def1", OPT_RG_DEF1 }, { "bypass-dhcp", OPT_RG_BYPASS_DHCP },
		{ "bypass-dns", OPT_RG_BYPASS_DNS }, { "block-local", OPT_RG_BLOCK_LOCAL },
		{ "ipv6", OPT_RG_IPV6 },
	};
	unsigned int rg = c->o->redirect_gateway;
	char p[80];
	size_t k;
	int i;

	if (rg & OPT_RG_ENABLE)
		warnf(c->o, &d->src, "redirect-gateway/redirect-private given more than once");
	rg |= OPT_RG_ENABLE;
	if (!strcmp(ARG(0), "redirect-gateway"))
		rg |= OPT_RG_REROUTE_GW;
	for (i = 1; i < d->argc; i++) {
		if (!strcmp(ARG(i), "!ipv4")) {
			rg &= ~(OPT_RG_REROUTE_GW | OPT_RG_ENABLE);
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(flags); k++)
			if (!strcmp(ARG(i), flags[k].name))
				break;
		if (k == ARRAY_SIZE(flags))
			return ERR("%s: unknown flag '%s' (local, autolocal, def1, bypass-dhcp, "
				   "bypass-dns, block-local, ipv6, !ipv4)", ARG(0),
				   printable(ARG(i), p, sizeof(p)));
		rg |= flags[k].flag;
	}
	c->o->redirect_gateway = rg;
	return 0;
}

static int h_route_delay(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	int ret = 0;

	c->o->has_route_delay = true;
	c->o->route_delay = 0;
	if (NARGS >= 1)
		ret = get_uint(d, 1, 0, INT_MAX, &c->o->route_delay, err, errlen);
	if (!ret && NARGS == 2)
		ret = get_uint(d, 2, 0, INT_MAX, &c->o->route_delay_window, err, errlen);
	return ret;
}

static int h_route_metric(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	unsigned int v;
	int ret = get_uint(d, 1, 0, INT_MAX, &v, err, errlen);

	if (!ret)
		c->o->route_metric = (int)v;
	return ret;
}

static int h_pull_filter(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	static const char *const w[] = { "accept", "ignore", "reject", NULL };
	struct options_pull_filter_rule *f;
	int k, ret = get_word(d, 1, w, "accept, ignore or reject", &k, err, errlen);

	if (ret)
		return ret;
	f = VEC_ADD(c->o->pull_filters);
	if (!f)
		return -ENOMEM;
	f->type = (enum opt_pull_filter)k;
	f->prefix = ARG(2);
	return 0;
}

static int h_dhcp_option(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	struct options_dhcp_option *o;

	(void)err, (void)errlen;
	o = VEC_ADD(c->o->dhcp_options);
	if (!o)
		return -ENOMEM;
	o->type = ARG(1);
	o->value = NARGS == 2 ? ARG(2) : NULL;
	return 0;
}

/* The 2.6 `dns` grammar, checked here and stored as text for whoever applies it. */
static int check_dns(const struct config_directive *d, bool pushed, char *err, size_t errlen)
{
	static const char *const dnssec[] = { "yes", "no", "optional", NULL };
	static const char *const transport[] = { "plain", "DoH", "DoT", NULL };
	unsigned long long prio;
	char p[80];
	int i, k;

	if (ARG_IS(1, "search-domains") && NARGS >= 2)
		return 0;
	if (!ARG_IS(1, "server") || NARGS < 4)
		return ERR("dns expects 'search-domains DOMAIN...' or 'server N KEYWORD VALUE...'");
	/* Priorities are 0..127, or -128..127 when pushed (dns_server_priority_parse()). */
	if (!parse_num(ARG(2)[0] == '-' && pushed ? ARG(2) + 1 : ARG(2), 0, 128, &prio) ||
	    (ARG(2)[0] != '-' && prio > 127))
		return ERR("dns server expects a priority %s..127, got '%s'",
			   pushed ? "-128" : "0", printable(ARG(2), p, sizeof(p)));
	if (ARG_IS(3, "address")) {
		for (i = 4; i < d->argc; i++) {
			char a[64];
			char *end;

			snprintf(a, sizeof(a), "%s", ARG(i));
			/* [addr]:port and addr:port forms are allowed; check the address. */
			end = a[0] == '[' ? strchr(a, ']') : NULL;
			if (end && (*end = '\0', is_ipv6(a + 1)))
				continue;
			if (is_ipv6(a) || is_ipv4(a))
				continue;
			end = strrchr(a, ':');
			if (end && (*end = '\0', is_ipv4(a)))
				continue;
			return ERR("dns server expects addresses, got '%s'",
				   printable(ARG(i), p, sizeof(p)));
		}
		return 0;
	}
	if (ARG_IS(3, "resolve-domains"))
		return 0;
	if (ARG_IS(3, "dnssec") && NARGS == 4)
		return get_word(d, 4, dnssec, "yes, no or optional", &k, err, errlen);
	if (ARG_IS(3, "transport") && NARGS == 4)
		return get_word(d, 4, transport, "plain, DoH or DoT", &k, err, errlen);
	if (ARG_IS(3, "sni") && NARGS == 4)
		return 0;
	return ERR("dns server expects address, resolve-domains, dnssec, transport or sni");
}

static int h_dns(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot;
	int ret = check_dns(d, c->where == WHERE_PUSH, err, errlen);

	if (ret)
		return ret;
	slot = VEC_ADD(c->o->dns);
	if (!slot)
		return -ENOMEM;
	*slot = join_args(&c->o->arena, d, 1);
	return *slot ? 0 : -ENOMEM;
}

/* --- scripts, environment, messages ----------------------------------------------- */

static int h_script(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot = !strcmp(ARG(0), "up") ? &c->o->up :
			    !strcmp(ARG(0), "down") ? &c->o->down : &c->o->route_up;

	if (*slot)
		warnf(c->o, &d->src, "%s given more than once, the last one is used", ARG(0));
	(void)err, (void)errlen;
	*slot = ARG(1);
	return 0;
}

static int h_setenv(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options *o = c->o;
	struct options_setenv *e;
	unsigned int v;

	if (!strcmp(ARG(1), "GENERIC_CONFIG"))
		return ERR("this is a generic configuration and cannot be used directly");
	if (!strcmp(ARG(1), "REMOTE_RANDOM_HOSTNAME") && NARGS == 1)
		return 0;	/* random host name prefixes are not implemented: harmless */
	if (!strcmp(ARG(1), "PUSH_PEER_INFO") && NARGS == 1) {
		o->push_peer_info = true;
		return 0;
	}
	if (!strcmp(ARG(1), "SERVER_POLL_TIMEOUT") && NARGS == 2) {
		if (get_uint(d, 2, 0, INT_MAX, &v, err, errlen))
			return -EINVAL;
		c->ce->server_poll_timeout = v;
		return 0;
	}
	if (!strcmp(ARG(1), "FORWARD_COMPATIBLE") && ARG_IS(2, "1"))
		o->forward_compatible = true;
	e = VEC_ADD(o->setenvs);
	if (!e)
		return -ENOMEM;
	e->name = ARG(1);
	e->value = NARGS == 2 ? ARG(2) : "";
	return 0;
}

static int h_ignore_unknown(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	const char **slot;
	int i;

	(void)err, (void)errlen;
	for (i = 1; i < d->argc; i++) {
		slot = VEC_ADD(c->o->ignore_unknown);
		if (!slot)
			return -ENOMEM;
		/* "ignore-unknown-option --foo" is accepted too. */
		*slot = (ARG(i)[0] == '-' && ARG(i)[1] == '-') ? ARG(i) + 2 : ARG(i);
	}
	return 0;
}

static int h_log(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->o->log = ARG(1);
	c->o->log_append = !strcmp(ARG(0), "log-append");
	return 0;
}

static int h_status(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	c->o->status_file = ARG(1);
	return NARGS == 2 ? get_uint(d, 2, 0, INT_MAX, &c->o->status_interval, err, errlen) : 0;
}

static int h_daemon(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	/* Init scripts sometimes add their own --daemon: the first name wins, as in 2.6. */
	if (c->o->daemon && NARGS) {
		warnf(c->o, &d->src, "daemon given more than once, '%.64s' ignored", ARG(1));
		return 0;
	}
	c->o->daemon = true;
	if (NARGS)
		c->o->daemon_name = ARG(1);
	return 0;
}

static int h_management(struct opt_ctx *c, struct config_directive *d, char *err,
			size_t errlen)
{
	struct options *o = c->o;
	int ret;

	o->management_unix = !strcmp(ARG(2), "unix");
	if (!o->management_unix) {
		ret = get_port(d, 2, 0, &o->management_port, err, errlen);
		if (ret)
			return ret;
	}
	o->management_addr = ARG(1);
	o->management_pw_file = NARGS == 3 ? ARG(3) : NULL;
	return 0;
}

static int h_echo(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot = VEC_ADD(c->o->echo);

	(void)err, (void)errlen;
	if (!slot)
		return -ENOMEM;
	*slot = join_args(&c->o->arena, d, 1);
	return *slot ? 0 : -ENOMEM;
}

/* --- server ----------------------------------------------------------------------- */

static int h_server(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options *o = c->o;
	char p1[80], p2[80];

	if (!parse_ipv4(ARG(1), &o->server_network) || !parse_ipv4(ARG(2), &o->server_netmask) ||
	    !o->server_network || !o->server_netmask)
		return ERR("server expects NETWORK NETMASK, got '%s' '%s'",
			   printable(ARG(1), p1, sizeof(p1)), printable(ARG(2), p2, sizeof(p2)));
	if (NARGS == 3 && strcmp(ARG(3), "nopool"))
		return ERR("server expects 'nopool' after the netmask");
	o->has_server = true;
	o->server_nopool = NARGS == 3;
	return 0;
}

static int h_server_ipv6(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	struct options *o = c->o;
	char p[80];

	if (!parse_ipv6_bits(&o->arena, ARG(1), o->server_ipv6_network,
			     &o->server_ipv6_netbits, NULL))
		return ERR("server-ipv6 expects NETWORK/BITS, got '%s'",
			   printable(ARG(1), p, sizeof(p)));
	if (o->server_ipv6_netbits < 64 || o->server_ipv6_netbits > 124)
		return ERR("server-ipv6 expects a prefix length 64..124, got /%u",
			   o->server_ipv6_netbits);
	o->has_server_ipv6 = true;
	return 0;
}

static int h_ifconfig_pool(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	struct options *o = c->o;

	if (!parse_ipv4(ARG(1), &o->ifconfig_pool_start) ||
	    !parse_ipv4(ARG(2), &o->ifconfig_pool_end) ||
	    (NARGS == 3 && !parse_ipv4(ARG(3), &o->ifconfig_pool_netmask)))
		return ERR("ifconfig-pool expects START END [NETMASK] as IPv4 addresses");
	if (o->ifconfig_pool_start > o->ifconfig_pool_end ||
	    o->ifconfig_pool_end - o->ifconfig_pool_start >= POOL_MAX)
		return ERR("ifconfig-pool expects START <= END and at most %d addresses",
			   POOL_MAX);
	if (NARGS == 2)
		o->ifconfig_pool_netmask = 0;
	o->has_ifconfig_pool = true;
	return 0;
}

static int h_ifconfig_pool_persist(struct opt_ctx *c, struct config_directive *d, char *err,
				   size_t errlen)
{
	c->o->ifconfig_pool_persist = ARG(1);
	return NARGS == 2 ? get_uint(d, 2, 0, INT_MAX, &c->o->ifconfig_pool_persist_sec, err,
				     errlen) : 0;
}

static int h_push(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot;

	if (strchr(ARG(1), ','))
		return ERR("push expects one option without commas (PUSH_REPLY separates "
			   "options with commas)");
	(void)errlen;
	slot = VEC_ADD(c->o->push);
	if (!slot)
		return -ENOMEM;
	*slot = ARG(1);
	return 0;
}

/* --- sluice ----------------------------------------------------------------------- */

static int h_test_data_key(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	int dir = -1;

	if (NARGS == 2 && (d->is_inline || get_key_direction(d, 2, &dir, err, errlen) ||
			   dir < 0))
		return ERR("test-data-key expects FILE [0|1] or an inline block");
	c->o->test_data_key.data = ARG(1);
	c->o->test_data_key.is_inline = d->is_inline;
	c->o->test_data_key_direction = dir;
	return 0;
}

static int h_test_peer_id(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	int ret = get_uint(d, 1, 0, OPT_PEER_ID_MAX, &c->o->test_peer_id, err, errlen);

	if (!ret)
		c->o->has_test_peer_id = true;
	return ret;
}

static int h_noop(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)c, (void)d, (void)err, (void)errlen;
	return 0;
}

static int h_reject(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)c, (void)d, (void)err, (void)errlen;
	return -EINVAL;		/* never called: F_REJECT is handled by the dispatcher */
}

/* --- includes and <connection> blocks --------------------------------------------- */

static int opt_dispatch(void *arg, struct config_directive *d, char *err, size_t errlen);

/* Reads @path (relative to cd, as OpenVPN has already changed directory) as a config. */
static int load_file(struct opt_ctx *c, const char *path, const struct config_src *from,
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
	return load_file(c, ARG(1), &d->src, err, errlen);
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
	{ .name = n, .flags = (f), .fn = h_noop, .min = mn, .max = mx, .usage = "" }
#define REJECT(n, why) \
	{ .name = n, .flags = F_CONFIG | F_CONN | F_INLINE | F_REJECT, .fn = h_reject, \
	  .max = CONFIG_PARMS_MAX, .usage = why }

#define C	F_CONFIG
#define CC	(F_CONFIG | F_CONN)
#define CP	(F_CONFIG | F_PULL)
#define CR	(F_CONFIG | F_PULL_ROUTE)
#define NPROXY	"is not supported by sluice (connect directly or use a system-wide proxy)"

static const struct opt_def opt_table[] = {
	/* Role. */
	FLAG("client", C, client),
	FLAG("pull", C, pull),
	FLAG("tls-client", C, tls_client),
	FLAG("tls-server", C, tls_server),
	FN("mode", C, 1, 1, h_mode, "p2p or server"),
	FN("config", C, 1, 1, h_config, "FILE"),
	FN("connection", C | F_INLINE, 1, 1, h_connection, "an inline <connection> block"),
	/* Device and addresses. */
	STR("dev", C, dev),
	FN("dev-type", C, 1, 1, h_dev_type, "tun, tap or null"),
	STR("dev-node", C, dev_node),
	FN("topology", CP, 1, 1, h_topology, "net30, p2p or subnet"),
	FN("ifconfig", CP, 2, 2, h_ifconfig, "LOCAL REMOTE-OR-NETMASK"),
	FN("ifconfig-ipv6", CP, 2, 2, h_ifconfig_ipv6, "ADDR/BITS REMOTE"),
	NOOP("tun-ipv6", CP, 0, 0),	/* ignored by 2.6 too; server-ipv6 still pushes it */
	UINT("txqueuelen", C, txqueuelen, 0, INT_MAX),
	FLAG("persist-tun", CP, persist_tun),
	FLAG("persist-key", CP, persist_key),
	FLAG("persist-local-ip", C, persist_local_ip),
	FLAG("persist-remote-ip", C, persist_remote_ip),
	/* Connection. */
	FN("remote", CC, 1, 3, h_remote, "HOST [PORT [PROTO]]"),
	FN("proto", CC, 1, 1, h_proto, "udp, tcp, tcp-client or tcp-server"),
	FN("port", CC, 1, 1, h_port, "PORT"),
	FN("lport", CC, 1, 1, h_port, "PORT"),
	FN("rport", CC, 1, 1, h_port, "PORT"),
	{ .name = "local", .flags = CC | F_CE, .type = T_STR, .min = 1, .max = 1,
	  .off = CE_OFF(local), .usage = "one address or name" },
	FN("bind", CC, 0, 1, h_bind, "nothing or ipv6only"),
	FN("nobind", CC, 0, 0, h_nobind, ""),
	{ .name = "float", .flags = CC | F_CE, .type = T_FLAG, .off = CE_OFF(is_float) },
	FN("connect-retry", CC, 1, 2, h_connect_retry, "SECONDS [MAX-SECONDS]"),
	UINT("connect-retry-max", CC, connect_retry_max, 0, INT_MAX),
	CE_UINT("server-poll-timeout", CC, server_poll_timeout, 0, INT_MAX),
	CE_UINT("connect-timeout", CC, server_poll_timeout, 0, INT_MAX),
	FN("resolv-retry", C, 1, 1, h_resolv_retry, "SECONDS or infinite"),
	FLAG("remote-random", C, remote_random),
	UINT("sndbuf", CP, sndbuf, 0, INT_MAX),
	UINT("rcvbuf", CP, rcvbuf, 0, INT_MAX),
	FLAG("fast-io", C, fast_io),
	NOOP("disable-dco", C, 0, 0),
	FN("connect-freq-initial", C, 2, 2, h_connect_freq_initial, "N SECONDS"),	/* sluice has no DCO: its own data plane always runs */
	FN("tun-mtu", CC | F_PULL, 1, 2, h_tun_mtu, "MTU [OCC-MTU]"),
	CE_UINT("tun-mtu-max", CC, tun_mtu_max, 68, 65536),
	FN("mssfix", CC, 0, 2, h_mssfix, "[BYTES [mtu|fixed]]"),
	FN("mtu-disc", CC, 1, 1, h_mtu_disc, "no, maybe or yes"),
	FN("explicit-exit-notify", CC | F_PULL, 0, 1, h_explicit_exit_notify, "[N]"),
	REJECT("fragment", "is not supported by sluice (set a smaller tun-mtu instead)"),
	REJECT("http-proxy", NPROXY),
	REJECT("http-proxy-user-pass", NPROXY),
	REJECT("socks-proxy", NPROXY),
	/* TLS. */
	FILE_("ca", ca),
	FILE_("cert", cert),
	FILE_("key", key),
	FILE_("extra-certs", extra_certs),
	FILE_("pkcs12", pkcs12),
	FN("dh", C | F_INLINE, 1, 1, h_dh, "FILE, none or an inline block"),
	FN("crl-verify", C | F_INLINE, 1, 2, h_crl_verify, "FILE [dir] or an inline block"),
	FN("peer-fingerprint", C | F_INLINE, 1, 1, h_peer_fingerprint,
	   "a SHA-256 fingerprint or an inline block"),
	FN("tls-auth", CC | F_INLINE, 1, 2, h_tls_wrap, "FILE [0|1] or an inline block"),
	FN("tls-crypt", CC | F_INLINE, 1, 1, h_tls_wrap, "FILE or an inline block"),
	FN("tls-crypt-v2", CC | F_INLINE, 1, 2, h_tls_wrap,
	   "FILE [force-cookie|allow-noncookie] or an inline block"),
	FN("key-direction", CC, 1, 1, h_key_direction, "0 or 1"),
	FN("remote-cert-tls", C, 1, 1, h_remote_cert_tls, "server or client"),
	FN("verify-x509-name", C, 1, 2, h_verify_x509_name, "NAME [subject|name|name-prefix]"),
	FN("tls-version-min", C, 1, 2, h_tls_version, "1.0|1.1|1.2|1.3 [or-highest]"),
	FN("tls-version-max", C, 1, 1, h_tls_version, "1.0|1.1|1.2|1.3"),
	STR("tls-cipher", C, tls_cipher),
	STR("tls-ciphersuites", C, tls_ciphersuites),
	STR("tls-groups", C, tls_groups),
	FN("tls-cert-profile", C, 1, 1, h_tls_cert_profile, "insecure|legacy|preferred|suiteb"),
	FN("verify-client-cert", C, 0, 1, h_verify_client_cert, "[none|optional|require]"),
	UINT("tls-timeout", C, tls_timeout, 0, INT_MAX),
	UINT("hand-window", C, hand_window, 0, INT_MAX),
	UINT("tran-window", C, tran_window, 0, INT_MAX),
	FN("reneg-sec", C, 1, 2, h_reneg_sec, "SECONDS [MIN-SECONDS]"),
	FN("reneg-bytes", C, 1, 1, h_reneg_count, "BYTES"),
	FN("reneg-pkts", C, 1, 1, h_reneg_count, "PACKETS"),
	FLAG("tls-exit", C, tls_exit),
	FLAG("single-session", C, single_session),
	FLAG("push-peer-info", C, push_peer_info),
	REJECT("secret", "(static-key mode) is not supported by sluice; use TLS"),
	/* Authentication. */
	FN("auth-user-pass", C | F_INLINE, 0, 1, h_auth_user_pass, "[FILE] or an inline block"),
	FLAG("auth-nocache", C, auth_nocache),
	FN("auth-retry", C, 1, 1, h_auth_retry, "none, nointeract or interact"),
	FN("auth-user-pass-verify", C, 1, 2, h_auth_user_pass_verify,
	   "'COMMAND' via-env|via-file"),
	FLAG("username-as-common-name", C, username_as_common_name),
	STR("auth-token", CP, auth_token),
	STR("auth-token-user", CP, auth_token_user),
	/* Data channel. */
	FN("cipher", CP, 1, 1, h_cipher, "CIPHER"),
	FN("data-ciphers", C, 1, 1, h_data_ciphers, "CIPHER[:CIPHER...]"),
	FN("ncp-ciphers", C, 1, 1, h_data_ciphers, "CIPHER[:CIPHER...]"),
	STR("data-ciphers-fallback", C, data_ciphers_fallback),
	STR("auth", C, auth),
	FN("key-method", C, 1, 1, h_key_method, "2"),
	REJECT("keysize", "was removed in OpenVPN 2.6 and is not supported"),
	FN("replay-window", C, 1, 2, h_replay_window, "N [SECONDS]"),
	FLAG("mute-replay-warnings", C, mute_replay_warnings),
	FN("comp-lzo", CP, 0, 1, h_comp_lzo, "[yes|no|adaptive]"),
	FN("compress", CP, 0, 1, h_compress, "[stub|stub-v2|lzo|lz4|lz4-v2|migrate]"),
	FN("comp-noadapt", CP, 0, 0, h_comp_noadapt, ""),
	FN("allow-compression", C, 1, 1, h_allow_compression, "yes, no or asym"),
	FN("protocol-flags", CP, 1, CONFIG_PARMS_MAX - 1, h_protocol_flags, "FLAG..."),
	FN("key-derivation", CP, 1, 1, h_key_derivation, "tls-ekm"),
	FN("peer-id", CP, 1, 1, h_peer_id, "ID"),
	FN("push-continuation", F_PULL, 1, 1, h_push_continuation, "1 or 2"),
	/* Keepalive. */
	FN("keepalive", C, 2, 2, h_keepalive, "PING-SECONDS RESTART-SECONDS"),
	UINT("ping", CP, ping, 0, INT_MAX),
	FN("ping-restart", CP, 1, 1, h_ping_rec, "SECONDS"),
	FN("ping-exit", CP, 1, 1, h_ping_rec, "SECONDS"),
	FLAG("ping-timer-rem", CP, ping_timer_rem),
	FN("inactive", CP, 1, 2, h_inactive, "SECONDS [BYTES]"),
	/* Routes and DNS. */
	FN("route", CR, 1, 4, h_route, "NETWORK [NETMASK [GATEWAY [METRIC]]]"),
	FN("route-ipv6", CR, 1, 3, h_route_ipv6, "NETWORK/BITS [GATEWAY [METRIC]]"),
	FN("route-gateway", CP, 1, 1, h_route_gateway, "ADDRESS or dhcp"),
	FN("redirect-gateway", CR, 0, CONFIG_PARMS_MAX - 1, h_redirect_gateway, "[FLAG...]"),
	FN("redirect-private", CR, 0, CONFIG_PARMS_MAX - 1, h_redirect_gateway, "[FLAG...]"),
	FLAG("route-nopull", C, route_nopull),
	FN("route-delay", CP, 0, 2, h_route_delay, "[SECONDS [WINDOW]]"),
	FN("route-metric", C, 1, 1, h_route_metric, "METRIC"),
	FLAG("block-ipv6", CR, block_ipv6),
	FLAG("block-outside-dns", CR, block_outside_dns),
	FN("pull-filter", C, 2, 2, h_pull_filter, "accept|ignore|reject TEXT"),
	FN("dhcp-option", CR, 1, 2, h_dhcp_option, "TYPE [VALUE]"),
	FN("dns", CR, 1, CONFIG_PARMS_MAX - 1, h_dns, "search-domains ... or server N ..."),
	/* Scripts and environment. */
	UINT("script-security", C, script_security, 0, 3),
	FN("up", C, 1, 1, h_script, "'COMMAND' (quote a command with arguments)"),
	FN("down", C, 1, 1, h_script, "'COMMAND' (quote a command with arguments)"),
	FN("route-up", C, 1, 1, h_script, "'COMMAND' (quote a command with arguments)"),
	FLAG("down-pre", C, down_pre),
	FN("setenv", C, 1, 2, h_setenv, "NAME [VALUE]"),
	FN("ignore-unknown-option", C, 1, CONFIG_PARMS_MAX - 1, h_ignore_unknown, "OPTION..."),
	/* Process. */
	UINT("verb", CP, verb, 0, 11),
	UINT("mute", CP, mute, 0, INT_MAX),
	FLAG("suppress-timestamps", C, suppress_timestamps),
	FN("log", C, 1, 1, h_log, "FILE"),
	FN("log-append", C, 1, 1, h_log, "FILE"),
	FN("status", C, 1, 2, h_status, "FILE [SECONDS]"),
	UINT("status-version", C, status_version, 1, 3),
	STR("writepid", C, writepid),
	FN("daemon", C, 0, 1, h_daemon, "[PROGRAM-NAME]"),
	STR("user", C, user),
	STR("group", C, group),
	STR("cd", C, cd),
	STR("chroot", C, chroot),
	FN("management", C, 2, 3, h_management, "ADDRESS PORT [PW-FILE] or PATH unix [PW-FILE]"),
	FLAG("management-hold", C, management_hold),
	FN("echo", CP, 0, CONFIG_PARMS_MAX - 1, h_echo, "[TEXT...]"),
	/* Server. */
	FN("server", C, 2, 3, h_server, "NETWORK NETMASK [nopool]"),
	FN("server-ipv6", C, 1, 1, h_server_ipv6, "NETWORK/BITS"),
	FN("ifconfig-pool", C, 2, 3, h_ifconfig_pool, "START END [NETMASK]"),
	FN("ifconfig-pool-persist", C, 1, 2, h_ifconfig_pool_persist, "FILE [SECONDS]"),
	STR("client-config-dir", C, client_config_dir),
	STR("tmp-dir", C, tmp_dir),
	FLAG("client-to-client", C, client_to_client),
	FLAG("duplicate-cn", C, duplicate_cn),
	UINT("max-clients", C, max_clients, 1, OPT_PEER_ID_MAX),
	FN("push", C, 1, 1, h_push, "\"OPTION ARGS...\" (one quoted option)"),
	/* sluice. */
	UINT("workers", C, workers, 1, OPT_WORKERS_MAX),
	FLAG("kill-switch", C, kill_switch),
	FLAG("test-no-ekm", C, test_no_ekm),
	FN("test-data-key", C | F_INLINE, 1, 2, h_test_data_key, "FILE [0|1] or an inline block"),
	FN("test-peer-id", C, 1, 1, h_test_peer_id, "ID"),
	STR("test-cipher", C, test_cipher),
};

/* The table stores field offsets in 16 bits. */
_Static_assert(sizeof(struct options) <= USHRT_MAX, "struct options too big for opt_def.off");

static const struct opt_def *opt_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (!strcmp(opt_table[i].name, name))
			return &opt_table[i];
	return NULL;
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
		return get_uint(d, 1, def->lo, def->hi, field, err, errlen);
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
	const char *name = printable(ARG(0), p, sizeof(p));

	if (c->where == WHERE_PUSH)
		return warnf(c->o, &d->src, "ignoring unsupported pushed option '%s'", name);
	if (setenv_opt || c->o->forward_compatible || is_ignored(c->o, ARG(0)))
		return warnf(c->o, &d->src, "ignoring unsupported option '%s'", name);
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
			ret = warnf(c->o, &d->src, "option '%s' cannot be pushed, ignored", name);
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
		ret = warnf(c->o, &d->src, "option '%s' does not apply to the <connection> blocks "
			    "before it", name);
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

static int opt_dispatch(void *arg, struct config_directive *d, char *err, size_t errlen)
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
		return warnf(c->o, NULL, "%s (pushed option ignored)", err + strlen("options: "));
	return ret;
}

/* --- loading ---------------------------------------------------------------------- */

void options_init(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = OPT_MODE_P2P;
	o->topology = OPT_TOPOLOGY_NET30;
	o->ce.proto = OPT_PROTO_UDP;
	o->ce.af = AF_UNSPEC;
	o->ce.local_port = OPT_PORT_DEFAULT;
	o->ce.remote_port = OPT_PORT_DEFAULT;
	o->ce.bind_local = true;
	o->ce.connect_retry = 1;
	o->ce.connect_retry_max = 300;
	o->ce.server_poll_timeout = 120;
	o->ce.tun_mtu = OPT_TUN_MTU_DEFAULT;
	o->ce.tun_mtu_max = OPT_TUN_MTU_MAX_DEFAULT;
	o->ce.mssfix_default = true;
	o->ce.mssfix_encap = true;
	o->ce.key_direction = -1;
	o->resolv_retry = -1;
	o->key_direction = -1;
	o->tls_timeout = 2;
	o->hand_window = 60;
	o->tran_window = 3600;
	o->reneg_sec = 3600;
	o->reneg_sec_min = -1;
	o->reneg_bytes = -1;
	o->auth = "SHA1";
	o->replay_window = 64;
	o->replay_time = 15;
	o->route_metric = -1;
	o->script_security = 1;
	o->verb = 1;
	o->status_interval = 60;
	o->status_version = 1;
	o->ifconfig_pool_persist_sec = 600;
	o->max_clients = 1024;
	o->test_data_key_direction = -1;
}

static void config_ctx(struct opt_ctx *c, struct options *o)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->ce = &o->ce;
	c->where = WHERE_CONFIG;
}

int options_load_file(struct options *o, const char *path, char *err, size_t errlen)
{
	struct opt_ctx c;

	config_ctx(&c, o);
	return load_file(&c, path, NULL, err, errlen);
}

int options_load_buffer(struct options *o, const char *name, const char *buf, size_t len,
			char *err, size_t errlen)
{
	struct opt_ctx c;
	const char *n = config_arena_strdup(&o->arena, name);

	if (!n)
		return -ENOMEM;
	config_ctx(&c, o);
	return config_read_buffer(&o->arena, n, 1, buf, len, opt_dispatch, &c, err, errlen);
}

int options_load_argv(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
	struct opt_ctx c;

	config_ctx(&c, o);
	return config_read_argv(&o->arena, argc, argv, opt_dispatch, &c, err, errlen);
}

/* --- options_finalize ------------------------------------------------------------- */

static const char *ipv4_str(struct options *o, uint32_t a)
{
	struct in_addr in = { .s_addr = htonl(a) };
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &in, buf, sizeof(buf));
	return config_arena_strdup(&o->arena, buf);
}

static int push_add(struct options *o, const char *text)
{
	const char **slot;

	if (!text)
		return -ENOMEM;
	slot = VEC_ADD(o->push);
	if (!slot)
		return -ENOMEM;
	*slot = text;
	return 0;
}

/* netmask_to_netbits(): the prefix length of a contiguous mask covering @net, or -1. */
static int netmask_bits(uint32_t net, uint32_t mask)
{
	int bits;

	for (bits = 0; bits <= 32; bits++) {
		uint32_t m = bits ? ~0u << (32 - bits) : 0;

		if (m == mask)
			return (net & mask) == net && bits < 32 ? bits : -1;
	}
	return -1;
}

static int pool_set(struct options *o, uint32_t start, uint32_t end, char *err, size_t errlen)
{
	if (start > end || end - start >= POOL_MAX)
		return errorf(err, errlen, "server: the address pool must hold 1..%d addresses",
			      POOL_MAX);
	o->has_ifconfig_pool = true;
	o->ifconfig_pool_start = start;
	o->ifconfig_pool_end = end;
	return 0;
}

/* helper.c's `server NETWORK NETMASK` expansion for tun (net30, p2p, subnet) and tap. */
static int server_expand_tun(struct options *o, int bits, char *err, size_t errlen)
{
	uint32_t net = o->server_network, mask = o->server_netmask, bcast = net | ~mask;
	bool pool = !o->server_nopool;
	struct options_route *r;
	int ret = 0;

	if (bits > 29)
		return errorf(err, errlen, "server with dev tun needs a /29 or larger subnet");
	o->ifconfig_local = ipv4_str(o, net + 1);
	if (o->topology == OPT_TOPOLOGY_SUBNET) {
		o->ifconfig_remote = ipv4_str(o, mask);
		if (pool)
			ret = pool_set(o, net + 2, bcast - 1, err, errlen);
		o->ifconfig_pool_netmask = mask;
		if (!ret)
			ret = push_add(o, config_arena_printf(&o->arena, "route-gateway %s",
							      ipv4_str(o, net + 1)));
		if (!o->route_gateway)
			o->route_gateway = ipv4_str(o, net + 2);
	} else {
		o->ifconfig_remote = ipv4_str(o, net + 2);
		if (pool)
			ret = pool_set(o, net + 4, bcast - (bits == 29 ? 0 : 4), err, errlen);
		r = ret ? NULL : VEC_ADD(o->routes);
		if (!ret && !r)
			return -ENOMEM;
		if (r) {
			r->network = ipv4_str(o, net);
			r->netmask = ipv4_str(o, mask);
		}
		if (!ret && o->client_to_client)
			ret = push_add(o, config_arena_printf(&o->arena, "route %s %s",
							      ipv4_str(o, net), ipv4_str(o, mask)));
		else if (!ret && o->topology == OPT_TOPOLOGY_NET30)
			ret = push_add(o, config_arena_printf(&o->arena, "route %s",
							      ipv4_str(o, net + 1)));
	}
	if (ret)
		return ret;
	return push_add(o, config_arena_printf(&o->arena, "topology %s",
					       o->topology == OPT_TOPOLOGY_SUBNET ? "subnet" :
					       o->topology == OPT_TOPOLOGY_P2P ? "p2p" : "net30"));
}

static int server_expand(struct options *o, char *err, size_t errlen)
{
	uint32_t net = o->server_network, mask = o->server_netmask;
	int bits = netmask_bits(net, mask), ret;

	if (o->client)
		return errorf(err, errlen, "server and client cannot be used together");
	if (!o->server_nopool && o->has_ifconfig_pool)
		return errorf(err, errlen, "server already defines an ifconfig-pool, so you "
			      "can't also give ifconfig-pool");
	if (o->dev_kind != OPT_DEV_TUN && o->dev_kind != OPT_DEV_TAP)
		return errorf(err, errlen, "server only makes sense with dev tun or dev tap");
	if (bits < 0)
		return errorf(err, errlen, "server: network/netmask combination is invalid");
	if (bits < POOL_MIN_NETBITS)
		return errorf(err, errlen, "server: the subnet must be a /%d or smaller",
			      POOL_MIN_NETBITS);
	o->mode = OPT_MODE_SERVER;
	o->tls_server = true;
	if (o->dev_kind == OPT_DEV_TUN) {
		ret = server_expand_tun(o, bits, err, errlen);
	} else {
		if (bits > 30)
			return errorf(err, errlen, "server with dev tap needs a /30 or larger "
				      "subnet");
		o->ifconfig_local = ipv4_str(o, net + 1);
		o->ifconfig_remote = ipv4_str(o, mask);
		ret = o->server_nopool ? 0 : pool_set(o, net + 2, (net | ~mask) - 1, err, errlen);
		o->ifconfig_pool_netmask = mask;
		if (!ret)
			ret = push_add(o, config_arena_printf(&o->arena, "route-gateway %s",
							      ipv4_str(o, net + 1)));
	}
	if (!ret && (!o->ifconfig_local || !o->ifconfig_remote))
		ret = -ENOMEM;
	return ret;
}

static void ipv6_add(const uint8_t in[16], uint32_t add, uint8_t out[16])
{
	int i;

	memcpy(out, in, 16);
	for (i = 15; i >= 0 && add; i--) {
		uint32_t sum = out[i] + (add & 0xff);

		out[i] = (uint8_t)sum;
		add = (add >> 8) + (sum >> 8);
	}
}

static const char *ipv6_str(struct options *o, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, buf, sizeof(buf));
	return config_arena_strdup(&o->arena, buf);
}

/* helper.c's `server-ipv6 NETWORK/BITS` expansion. */
static int server_ipv6_expand(struct options *o, char *err, size_t errlen)
{
	unsigned int bits = o->server_ipv6_netbits;
	uint8_t a[16];

	if (o->client)
		return errorf(err, errlen, "server-ipv6 and client cannot be used together");
	if (o->server_nopool)
		return errorf(err, errlen, "server-ipv6 is incompatible with 'nopool'");
	o->mode = OPT_MODE_SERVER;
	o->tls_server = true;
	ipv6_add(o->server_ipv6_network, 1, a);
	o->ifconfig_ipv6_local = ipv6_str(o, a);
	ipv6_add(o->server_ipv6_network, 2, a);
	o->ifconfig_ipv6_remote = ipv6_str(o, a);
	o->ifconfig_ipv6_netbits = bits;
	/* Big pools keep OpenVPN's historical +0x1000 base; small ones start at +2. */
	ipv6_add(o->server_ipv6_network, bits < 112 ? 0x1000 : 2, o->ifconfig_ipv6_pool_base);
	o->ifconfig_ipv6_pool_netbits = bits;
	o->has_ifconfig_ipv6_pool = true;
	if (!o->ifconfig_ipv6_local || !o->ifconfig_ipv6_remote)
		return -ENOMEM;
	return push_add(o, "tun-ipv6");
}

/* helper_keepalive(): a server restarts after twice the timeout it pushes to clients. */
static int keepalive_expand(struct options *o, char *err, size_t errlen)
{
	unsigned int p = o->keepalive_ping, t = o->keepalive_timeout;
	int ret;

	if (!p && !t)
		return 0;
	if (!p || !t)
		return errorf(err, errlen, "keepalive parameters must be > 0");
	if ((uint64_t)p * 2 > t)
		return errorf(err, errlen, "keepalive %u %u: the restart timeout must be at least "
			      "twice the ping interval (10 60 is the usual choice)", p, t);
	if (o->ping || o->ping_rec_timeout)
		return errorf(err, errlen, "keepalive conflicts with ping, ping-restart and "
			      "ping-exit");
	o->ping = p;
	o->ping_rec_action = OPT_PING_RESTART;
	if (o->mode == OPT_MODE_P2P) {
		o->ping_rec_timeout = t;
		return 0;
	}
	o->ping_rec_timeout = t > UINT_MAX / 2 ? UINT_MAX : t * 2;
	ret = push_add(o, config_arena_printf(&o->arena, "ping %u", p));
	return ret ? ret : push_add(o, config_arena_printf(&o->arena, "ping-restart %u", t));
}

static int dev_kind(struct options *o, char *err, size_t errlen)
{
	const char *t = o->dev_type ? o->dev_type : o->dev;

	if (!o->dev)
		return errorf(err, errlen, "dev is required (for example 'dev tun')");
	if (!strncmp(t, "tun", 3))
		o->dev_kind = OPT_DEV_TUN;
	else if (!strncmp(t, "tap", 3))
		o->dev_kind = OPT_DEV_TAP;
	else if (!strncmp(t, "null", 4))
		o->dev_kind = OPT_DEV_NULL;
	else
		return errorf(err, errlen, "cannot tell whether dev '%.64s' is tun or tap; add "
			      "dev-type tun or dev-type tap", o->dev);
	return 0;
}

/*
 * 2.6 sets "stub framing only" unless some compression option was given (its test is
 * comp.flags == 0, which also holds after just "comp-lzo no"); with a real algorithm but
 * no allow-compression it decompresses without compressing (asym).
 */
static enum opt_allow_comp allow_comp_effective(const struct options *o)
{
	if (o->allow_compression != OPT_ALLOW_COMP_UNSET)
		return o->allow_compression;
	if ((o->comp == OPT_COMP_NONE || o->comp == OPT_COMP_LZO_STUB) && !o->comp_adaptive)
		return OPT_ALLOW_COMP_NO;
	return OPT_ALLOW_COMP_ASYM;
}

const char *options_comp_name(enum opt_comp comp)
{
	static const char *const names[] = {
		"none", "comp-lzo no", "lzo", "stub", "stub-v2", "lz4", "lz4-v2", "migrate",
	};

	return (unsigned int)comp < ARRAY_SIZE(names) ? names[comp] : "?";
}

static void conn_apply_re(struct options_conn *ce, const struct options_remote *r)
{
	ce->remote = r->host;
	if (r->has_port)
		ce->remote_port = r->port;
	if (r->has_proto) {
		ce->proto = r->proto;
		ce->af = r->af;
	}
	ce->src = r->src;
}

/* options_postprocess_mutate_ce() and the per-connection part of _verify_ce(). */
static int conn_finalize(struct options *o, struct options_conn *ce, char *err, size_t errlen)
{
	bool need_bind = ce->local || ce->has_local_port || ce->has_bind;

	if (ce->proto == OPT_PROTO_TCP && o->has_server)
		ce->proto = OPT_PROTO_TCP_SERVER;
	if (ce->proto == OPT_PROTO_TCP && o->client)
		ce->proto = OPT_PROTO_TCP_CLIENT;
	if (ce->proto == OPT_PROTO_TCP)
		return errorf(err, errlen, "proto tcp is ambiguous here: use tcp-client or "
			      "tcp-server");
	/* Clients use a random source port unless told otherwise. */
	if (!need_bind && (ce->proto == OPT_PROTO_TCP_CLIENT || o->pull))
		ce->bind_local = false;
	if (ce->mssfix_default) {
		if (ce->tun_mtu == OPT_TUN_MTU_DEFAULT) {
			ce->mssfix = OPT_MSSFIX_DEFAULT;
			ce->mssfix_encap = true;
		} else {
			ce->mssfix = ce->tun_mtu;
			ce->mssfix_fixed = true;
		}
	}
	if (!ce->tls_auth.data && !ce->tls_crypt.data && !ce->tls_crypt_v2.data) {
		ce->tls_auth = o->tls_auth;
		ce->tls_crypt = o->tls_crypt;
		ce->tls_crypt_v2 = o->tls_crypt_v2;
		ce->key_direction = o->key_direction;
	}
	if (ce->proto != OPT_PROTO_UDP && ce->explicit_exit_notify) {
		warnf(o, NULL, "explicit-exit-notify ignored for proto %s",
		      options_proto_name(ce->proto));
		ce->explicit_exit_notify = 0;
	}
	if (!ce->remote && ce->proto == OPT_PROTO_TCP_CLIENT)
		return errorf(err, errlen, "proto tcp-client needs a remote");
	if (o->mode == OPT_MODE_SERVER && ce->proto == OPT_PROTO_TCP_CLIENT)
		return errorf(err, errlen, "mode server supports proto udp or tcp-server only");
	if (ce->tls_auth.data && ce->tls_crypt.data)
		return errorf(err, errlen, "tls-auth and tls-crypt are mutually exclusive");
	if (o->tls_client && ce->tls_crypt_v2.data && (ce->tls_auth.data || ce->tls_crypt.data))
		return errorf(err, errlen, "tls-crypt-v2, tls-auth and tls-crypt are mutually "
			      "exclusive in client mode");
	return 0;
}

/* The list to try: the <connection> blocks, else one entry per remote, else one. */
static int conns_build(struct options *o, char *err, size_t errlen)
{
	size_t i, n = o->remotes.n ? o->remotes.n : 1;
	struct options_conn *e;
	bool any_remote = false;
	int ret;

	if (o->conns.n && o->remotes.n)
		warnf(o, &o->remotes.v[0].src, "remote outside <connection> blocks is ignored");
	if (!o->conns.n) {
		for (i = 0; i < n; i++) {
			e = VEC_ADD(o->conns);
			if (!e)
				return -ENOMEM;
			*e = o->ce;
			if (o->remotes.n)
				conn_apply_re(e, &o->remotes.v[i]);
		}
	}
	for (i = 0; i < o->conns.n; i++) {
		ret = conn_finalize(o, &o->conns.v[i], err, errlen);
		if (ret)
			return ret;
		any_remote |= o->conns.v[i].remote != NULL;
	}
	if (o->conns.v[0].proto == OPT_PROTO_TCP_SERVER && o->conns.n > 1)
		return errorf(err, errlen, "TCP server mode allows at most one remote");
	if (o->pull && !any_remote)
		return errorf(err, errlen, "client mode needs a remote");
	return 0;
}

/* options_postprocess_verify(): what a TLS peer must have. */
static int tls_check(struct options *o, char *err, size_t errlen)
{
	bool has_cert = o->cert.data, has_key = o->key.data;

	if (o->tls_client && o->tls_server)
		return errorf(err, errlen, "specify only one of tls-server and tls-client");
	if (!o->tls_client && !o->tls_server)
		return o->test_data_key.data ? 0 :
		       errorf(err, errlen, "no TLS role: use client, tls-client, server or "
			      "tls-server (static-key mode is not supported)");
	if (!o->ca.data && !o->pkcs12.data && !o->peer_fingerprints.n)
		return errorf(err, errlen, "you must give ca and/or peer-fingerprint");
	if (o->pkcs12.data && (has_cert || has_key))
		return errorf(err, errlen, "cert and key cannot be used together with pkcs12");
	if (o->pull && !o->pkcs12.data) {
		if (has_cert != has_key)
			return errorf(err, errlen, "if you use one of cert or key, you must use "
				      "them both");
		if (!has_cert && !o->has_auth_user_pass)
			return errorf(err, errlen, "no client authentication: use cert/key, "
				      "pkcs12 or auth-user-pass");
	} else if (!o->pull && !o->pkcs12.data && (!has_cert || !has_key)) {
		return errorf(err, errlen, "%s is required (or pkcs12)", has_cert ? "key" : "cert");
	}
	if (o->tls_server && !o->dh.data)
		return errorf(err, errlen, "a TLS server needs dh FILE or 'dh none'");
	if (!o->tls_server && o->dh.data) {
		warnf(o, NULL, "dh ignored in tls-client mode");
		o->dh.data = NULL;
		o->dh_none = false;
	}
	return 0;
}

_Static_assert(CONFIG_STATIC_KEY_LEN == KEY2_LEN, "test_key holds one static key");

/* Decodes @text with the one static key parser, as "options: static key: <why>" on error. */
static int test_key_decode(struct options *o, const char *text, char *err, size_t errlen)
{
	char why[128];

	if (dc_static_key_parse_msg(text, o->test_key, why, sizeof(why)))
		return errorf(err, errlen, "%s", why);
	return 0;
}

static int test_key_load(struct options *o, char *err, size_t errlen)
{
	const struct options_file *f = &o->test_data_key;
	const char *path = f->data;
	char *buf = NULL;
	size_t len;
	int ret;

	if (o->test_data_key_direction < 0)
		o->test_data_key_direction = o->mode == OPT_MODE_SERVER || o->tls_server ? 0 : 1;
	if (f->is_inline)
		return test_key_decode(o, f->data, err, errlen);
	if (o->no_include)
		return errorf(err, errlen, "test-data-key: reading files is disabled here");
	if (o->cd && path[0] != '/')
		path = config_arena_printf(&o->arena, "%s/%s", o->cd, path);
	if (!path)
		return -ENOMEM;
	ret = config_file_load(path, &buf, &len, err, errlen);
	if (!ret)
		ret = test_key_decode(o, buf, err, errlen);
	config_file_unload(buf, len);
	return ret;
}

int options_finalize(struct options *o, char *err, size_t errlen)
{
	int ret;

	if (o->is_finalized)
		return errorf(err, errlen, "options_finalize called twice");
	ret = dev_kind(o, err, errlen);
	if (!ret && o->has_server_ipv6)
		ret = server_ipv6_expand(o, err, errlen);
	if (!ret && o->has_server)
		ret = server_expand(o, err, errlen);
	if (ret)
		return ret;
	if (o->client) {
		o->pull = true;
		o->tls_client = true;
	}
	ret = keepalive_expand(o, err, errlen);
	if (ret)
		return ret;
	if (o->mode == OPT_MODE_SERVER) {
		if (!o->tls_server)
			return errorf(err, errlen, "mode server needs tls-server (or server)");
		if (o->pull)
			return errorf(err, errlen, "pull cannot be used with mode server");
		if (o->dev_kind != OPT_DEV_TUN && o->dev_kind != OPT_DEV_TAP)
			return errorf(err, errlen, "mode server only works with dev tun or tap");
	}
	if (!o->data_ciphers)
		o->data_ciphers = OPT_DATA_CIPHERS_DEFAULT;
	o->allow_compression = allow_comp_effective(o);
	if (o->allow_compression == OPT_ALLOW_COMP_NO && comp_is_real(o->comp))
		return errorf(err, errlen, "compression %s is not allowed: allow-compression no",
			      options_comp_name(o->comp));
	ret = conns_build(o, err, errlen);
	if (!ret)
		ret = tls_check(o, err, errlen);
	if (!ret && o->test_data_key.data)
		ret = test_key_load(o, err, errlen);
	if (ret)
		return ret;
	o->has_test_key = o->test_data_key.data != NULL;
	o->is_finalized = true;
	return 0;
}

/* --- PUSH_REPLY ------------------------------------------------------------------- */

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
				   printable(text, p, sizeof(p)));
	case OPT_PULL_IGNORE:
		return 0;
	case OPT_PULL_ACCEPT:
		break;
	}
	if (strlen(text) > CONFIG_LINE_MAX)
		return warnf(c->o, &src, "pushed option longer than %d bytes ignored",
			     CONFIG_LINE_MAX);
	ret = config_parse_line(&c->o->arena, text, &src, &d, err, errlen);
	if (ret == -EINVAL)
		return warnf(c->o, NULL, "%s (pushed option ignored)", msg_body(err));
	if (ret || !d.argc)
		return ret;
	return opt_dispatch(c, &d, err, errlen);
}

/* What makes a 2.6 client fail the push (init.c do_deferred_options(), ssl_ncp.c). */
static int push_check(struct options *o, char *err, size_t errlen)
{
	char p[80];

	if (o->allow_compression == OPT_ALLOW_COMP_NO && comp_is_real(o->comp))
		return errorf(err, errlen, "server pushed compression settings that are not "
			      "allowed (%s, but allow-compression is no)",
			      options_comp_name(o->comp));
	if (o->cipher_pushed && !in_list(o->data_ciphers, o->cipher))
		return errorf(err, errlen, "server pushed cipher '%s', which is not in "
			      "data-ciphers %s", printable(o->cipher, p, sizeof(p)),
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
		return errorf(err, errlen, "PUSH_REPLY before options_finalize()");
	nul = memchr(msg, '\0', len);
	if (nul)
		len = (size_t)(nul - msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (len < 10 || memcmp(msg, "PUSH_REPLY", 10) || (len > 10 && msg[10] != ','))
		return errorf(err, errlen, "not a PUSH_REPLY message");
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

/* --- dump and free ---------------------------------------------------------------- */

static const char *file_str(const struct options_file *f)
{
	return !f->data ? "(none)" : f->is_inline ? "[[INLINE]]" : f->data;
}

static const char *s_or(const char *s)
{
	return s ? s : "(none)";
}

static void dump_conn(const struct options_conn *ce, size_t i, FILE *f)
{
	fprintf(f, "conn[%zu] remote %s %u proto %s%s local %s:%u bind %d float %d\n", i,
		s_or(ce->remote), ce->remote_port, options_proto_name(ce->proto),
		ce->af == AF_INET ? "4" : ce->af == AF_INET6 ? "6" : "", s_or(ce->local),
		ce->local_port, ce->bind_local, ce->is_float);
	fprintf(f, "conn[%zu] tun-mtu %u tun-mtu-max %u mssfix %u%s%s explicit-exit-notify %u "
		"connect-retry %u %u server-poll-timeout %u\n", i, ce->tun_mtu, ce->tun_mtu_max,
		ce->mssfix, ce->mssfix_encap ? " mtu" : "", ce->mssfix_fixed ? " fixed" : "",
		ce->explicit_exit_notify, ce->connect_retry, ce->connect_retry_max,
		ce->server_poll_timeout);
	fprintf(f, "conn[%zu] tls-auth %s key-direction %d tls-crypt %s tls-crypt-v2 %s\n", i,
		file_str(&ce->tls_auth), ce->key_direction, file_str(&ce->tls_crypt),
		file_str(&ce->tls_crypt_v2));
}

void options_dump(const struct options *o, FILE *f)
{
	size_t i;

	fprintf(f, "client %d pull %d tls-client %d tls-server %d mode %s\n", o->client, o->pull,
		o->tls_client, o->tls_server, o->mode == OPT_MODE_SERVER ? "server" : "p2p");
	fprintf(f, "dev %s dev-type %s topology %u ifconfig %s %s ifconfig-ipv6 %s/%u %s\n",
		s_or(o->dev), s_or(o->dev_type), o->topology, s_or(o->ifconfig_local),
		s_or(o->ifconfig_remote), s_or(o->ifconfig_ipv6_local), o->ifconfig_ipv6_netbits,
		s_or(o->ifconfig_ipv6_remote));
	for (i = 0; i < o->remotes.n; i++)
		fprintf(f, "remote %s %u%s\n", o->remotes.v[i].host, o->remotes.v[i].port,
			o->remotes.v[i].has_port ? "" : " (default port)");
	for (i = 0; i < o->conns.n; i++)
		dump_conn(&o->conns.v[i], i, f);
	fprintf(f, "ca %s cert %s key %s dh %s tls-auth %s tls-crypt %s tls-crypt-v2 %s\n",
		file_str(&o->ca), file_str(&o->cert), file_str(&o->key), file_str(&o->dh),
		file_str(&o->tls_auth), file_str(&o->tls_crypt), file_str(&o->tls_crypt_v2));
	fprintf(f, "remote-cert-tls %u verify-x509-name %s %u tls-version-min %u max %u "
		"peer-fingerprints %zu\n", o->remote_cert_tls, s_or(o->verify_x509_name),
		o->verify_x509_type, o->tls_version_min, o->tls_version_max,
		o->peer_fingerprints.n);
	fprintf(f, "cipher %s%s data-ciphers %s fallback %s auth %s comp %s allow-compression "
		"%u\n", s_or(o->cipher), o->cipher_pushed ? " (pushed)" : "", s_or(o->data_ciphers),
		s_or(o->data_ciphers_fallback), s_or(o->auth), options_comp_name(o->comp),
		o->allow_compression);
	fprintf(f, "reneg-sec %u hand-window %u tran-window %u replay-window %u %u peer-id %s%u "
		"protocol-flags 0x%x\n", o->reneg_sec, o->hand_window, o->tran_window,
		o->replay_window, o->replay_time, o->has_peer_id ? "" : "(none) ", o->peer_id,
		o->protocol_flags);
	fprintf(f, "ping %u ping-rec %u action %u keepalive %u %u\n", o->ping,
		o->ping_rec_timeout, o->ping_rec_action, o->keepalive_ping, o->keepalive_timeout);
	for (i = 0; i < o->routes.n; i++)
		fprintf(f, "route %s %s %s %s\n", o->routes.v[i].network,
			s_or(o->routes.v[i].netmask), s_or(o->routes.v[i].gateway),
			s_or(o->routes.v[i].metric));
	for (i = 0; i < o->routes6.n; i++)
		fprintf(f, "route-ipv6 %s %s\n", o->routes6.v[i].network,
			s_or(o->routes6.v[i].gateway));
	fprintf(f, "route-gateway %s redirect-gateway 0x%x\n", s_or(o->route_gateway),
		o->redirect_gateway);
	for (i = 0; i < o->dhcp_options.n; i++)
		fprintf(f, "dhcp-option %s %s\n", o->dhcp_options.v[i].type,
			s_or(o->dhcp_options.v[i].value));
	for (i = 0; i < o->push.n; i++)
		fprintf(f, "push \"%s\"\n", o->push.v[i]);
	fprintf(f, "server %d pool %d verb %u workers %u kill-switch %d test-key %d dir %d "
		"test-peer-id %d %u test-cipher %s\n", o->has_server, o->has_ifconfig_pool, o->verb,
		o->workers, o->kill_switch, o->has_test_key, o->test_data_key_direction,
		o->has_test_peer_id, o->test_peer_id, s_or(o->test_cipher));
}

void options_warnings_clear(struct options *o)
{
	size_t i;

	for (i = 0; i < o->warnings.n; i++)
		free(o->warnings.v[i]);
	o->warnings.n = 0;
}

void options_free(struct options *o)
{
	options_warnings_clear(o);
	free(o->warnings.v);
#define X(f) free(o->f.v);
	OPTIONS_VECS(X)
#undef X
	if (o->pre_pull) {
		free(o->pre_pull->conns);
		explicit_bzero(o->pre_pull, sizeof(*o->pre_pull));
		free(o->pre_pull);
	}
	config_arena_free(&o->arena);
	explicit_bzero(o, sizeof(*o));
}
