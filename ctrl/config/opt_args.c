/*
 * opt_args.c - the argument helpers every directive handler uses: numbers in a range,
 * keywords, IPv4 and IPv6 addresses, protocols, ports, key directions, joined words, the
 * growable lists of struct options, and the warning and error strings of the parser.
 *
 * Called from the ctrl thread only (options_int.h lists the other parser files). Pure
 * parsing: nothing is resolved, opened or logged here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "options_int.h"

/* A hostile server or config must not grow the warning list without bound. */
#define WARNINGS_MAX	256

/* --- lists, warnings and errors --------------------------------------------------- */

void *opt_vec_reserve(void *v, size_t n, size_t *cap, size_t size)
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

/* A copy of @s safe to print: non-printable bytes become '?', long words are cut. */
const char *opt_printable(const char *s, char *buf, size_t len)
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

int __printf(3, 4) opt_warnf(struct options *o, const struct config_src *src,
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
int __printf(3, 4) opt_errorf(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "options: %s", msg);
	return -EINVAL;
}

/* --- numbers and words ------------------------------------------------------------ */

bool opt_parse_num(const char *s, unsigned long long lo, unsigned long long hi,
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
int opt_get_num(const struct config_directive *d, int i, unsigned long long lo,
		unsigned long long hi, unsigned long long *out, char *err, size_t errlen)
{
	char p[80];

	if (opt_parse_num(ARG(i), lo, hi, out))
		return 0;
	return ERR("%s expects a number %llu..%llu, got '%s'", ARG(0), lo, hi,
		   opt_printable(ARG(i), p, sizeof(p)));
}

int opt_get_uint(const struct config_directive *d, int i, unsigned int lo, unsigned int hi,
		 unsigned int *out, char *err, size_t errlen)
{
	unsigned long long v;
	int ret = opt_get_num(d, i, lo, hi, &v, err, errlen);

	if (!ret)
		*out = (unsigned int)v;
	return ret;
}

/* Argument @i as an index into the NULL-terminated @words. */
int opt_get_word(const struct config_directive *d, int i, const char *const *words,
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
	return ERR("%s expects %s, got '%s'", ARG(0), expect, opt_printable(ARG(i), p, sizeof(p)));
}

/* --- addresses, protocols, ports, key directions ---------------------------------- */

bool opt_is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

bool opt_is_ipv6(const char *s)
{
	uint8_t a[16];

	return inet_pton(AF_INET6, s, a) == 1;
}

/* "addr/bits" (bits optional, default 128) into @addr; @local gets "addr" alone. */
bool opt_parse_ipv6_bits(struct config_arena *a, const char *s, uint8_t addr[16],
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
	if (slash && !opt_parse_num(slash + 1, 0, 128, &b))
		return false;
	*bits = (unsigned int)b;
	if (local) {
		*local = config_arena_strdup(a, tmp);
		if (!*local)
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

int opt_get_proto(const struct config_directive *d, int i, enum opt_proto *proto, int *af,
		  char *err, size_t errlen)
{
	char p[80];

	if (parse_proto(ARG(i), proto, af))
		return 0;
	return ERR("%s expects a protocol (udp, tcp, tcp-client, tcp-server, optionally with 4 "
		   "or 6 as in udp6), got '%s'", ARG(0), opt_printable(ARG(i), p, sizeof(p)));
}

int opt_get_port(const struct config_directive *d, int i, unsigned int lo, uint16_t *port,
		 char *err, size_t errlen)
{
	unsigned int v;
	int ret = opt_get_uint(d, i, lo, 65535, &v, err, errlen);

	if (!ret)
		*port = (uint16_t)v;
	return ret;
}

/* ascii2keydirection(): 0, 1, or bidirectional. */
int opt_get_key_direction(const struct config_directive *d, int i, int *dir, char *err,
			  size_t errlen)
{
	char p[80];

	if (!strcmp(ARG(i), "0") || !strcmp(ARG(i), "1"))
		*dir = ARG(i)[0] - '0';
	else if (!strcmp(ARG(i), "bidirectional") || !strcmp(ARG(i), "bi"))
		*dir = -1;
	else
		return ERR("%s expects a key direction 0 or 1, got '%s'", ARG(0),
			   opt_printable(ARG(i), p, sizeof(p)));
	return 0;
}

/* Words @from.. joined by single spaces, in the arena. */
char *opt_join_args(struct config_arena *a, const struct config_directive *d, int from)
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
