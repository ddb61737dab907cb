/*
 * srvpolicy.c - owns the server's per-client decisions: the address pool,
 * client-config-dir files, NCP cipher choice and the PUSH_REPLY text
 * (openvpn-wire.md §9, §15(b)). The auth-user-pass-verify script runs in
 * srvauth.c.
 *
 * Thread: ctrl only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../../core/log.h"
#include "../config/config.h"
#include "../config/options.h"
#include "srvpolicy.h"
#include "srvsess.h"

/* ---- pool ---------------------------------------------------------- */

static uint32_t cn_hash(const char *cn)
{
	uint32_t h = 2166136261u;	/* FNV-1a: only to prefer an address, never trusted */

	for (; *cn; cn++)
		h = (h ^ (uint8_t)*cn) * 16777619u;
	return h | 1;			/* 0 means "never held" */
}

int srvpool_init(struct srvpool *p, const struct options *o)
{
	memset(p, 0, sizeof(*p));
	p->net30 = o->topology == OPT_TOPOLOGY_NET30;
	p->step = p->net30 ? 4 : 1;
	if (o->has_ifconfig_pool) {
		uint32_t start = o->ifconfig_pool_start, end = o->ifconfig_pool_end;

		if (p->net30)
			start = (start + 3) & ~3u;
		p->has_v4 = true;
		p->start = start;
		p->n = end >= start ? (end - start) / p->step + 1 : 0;
		if (p->net30 && p->n && start + (p->n - 1) * 4 + 3 > end)
			p->n--;
	}
	if (o->has_ifconfig_ipv6_pool) {
		unsigned int hostbits = 128 - o->ifconfig_ipv6_pool_netbits;

		p->has_v6 = true;
		memcpy(p->v6_base, o->ifconfig_ipv6_pool_base, 16);
		p->v6_bits = o->ifconfig_ipv6_pool_netbits;
		if (!p->has_v4)
			p->n = hostbits >= 16 ? 65536 - 0x1000 : (1u << hostbits) - 2;
	}
	if (!p->n)
		return 0;
	p->used = calloc(p->n, 1);
	p->owner = calloc(p->n, sizeof(*p->owner));
	p->name = calloc(p->n, sizeof(*p->name));
	if (!p->used || !p->owner || !p->name) {
		srvpool_destroy(p);
		return -ENOMEM;
	}
	return 0;
}

void srvpool_destroy(struct srvpool *p)
{
	for (uint32_t i = 0; p->name && i < p->n; i++)
		free(p->name[i]);
	free(p->name);
	p->name = NULL;
	free(p->used);
	free(p->owner);
	p->used = NULL;
	p->owner = NULL;
	p->n = 0;
}

static void pool_name_set(struct srvpool *p, uint32_t i, const char *cn)
{
	if (p->name[i] && !strcmp(p->name[i], cn))
		return;
	free(p->name[i]);
	p->name[i] = strdup(cn);
}

static int pool_take(struct srvpool *p, uint32_t i, const char *cn, uint32_t h)
{
	p->used[i] = 1;
	p->owner[i] = h;
	pool_name_set(p, i, cn);
	return (int)i;
}

int srvpool_alloc(struct srvpool *p, const char *cn)
{
	uint32_t h = cn_hash(cn);

	/* Like ifconfig-pool-persist in memory: the same client gets its address back. */
	for (uint32_t i = 0; i < p->n; i++)
		if (!p->used[i] && p->owner[i] == h && p->name[i] && !strcmp(p->name[i], cn))
			return pool_take(p, i, cn, h);
	/* Next-fit over never-owned entries first: a freed address is not reused at once. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t k = 0; k < p->n; k++) {
			uint32_t i = (p->next + k) % p->n;

			if (!p->used[i] && (pass || !p->owner[i])) {
				p->next = (i + 1) % p->n;
				return pool_take(p, i, cn, h);
			}
		}
	}
	return -ENOSPC;
}

void srvpool_release(struct srvpool *p, uint32_t idx)
{
	if (idx < p->n)
		p->used[idx] = 0;
}

void srvpool_v4(const struct srvpool *p, uint32_t idx, const struct options *o, uint32_t *local,
		uint32_t *second)
{
	uint32_t base = p->start + idx * p->step;
	struct in_addr a;

	if (!p->has_v4) {
		*local = *second = 0;
		return;
	}
	if (p->net30) {
		*local = htonl(base + 2);
		*second = htonl(base + 1);
		return;
	}
	*local = htonl(base);
	if (o->topology == OPT_TOPOLOGY_SUBNET)
		*second = htonl(o->ifconfig_pool_netmask ? o->ifconfig_pool_netmask :
				0xffffff00u);
	else if (o->ifconfig_local && inet_pton(AF_INET, o->ifconfig_local, &a) == 1)
		*second = a.s_addr;
	else
		*second = 0;
}

void srvpool_v6(const struct srvpool *p, uint32_t idx, uint8_t addr[16])
{
	uint32_t add = idx;

	memcpy(addr, p->v6_base, 16);
	for (int i = 15; i >= 0 && add; i--) {
		uint32_t sum = addr[i] + (add & 0xff);

		addr[i] = (uint8_t)sum;
		add = (add >> 8) + (sum >> 8);
	}
}

/* The pool entry holding IPv4 @a (host order), or -1. */
static int64_t pool_index4(const struct srvpool *p, uint32_t a)
{
	uint32_t off;

	if (!p->has_v4 || a < p->start)
		return -1;
	off = a - p->start;
	if (p->net30)
		off /= 4;	/* the file names a /30 by its base (or any address in it) */
	return off < p->n ? (int64_t)off : -1;
}

int srvpool_persist_load(struct srvpool *p, const char *path)
{
	char line[512];
	unsigned int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *cn = strtok(line, ",\r\n"), *ip = strtok(NULL, ",\r\n");
		struct in_addr a;
		int64_t i;

		if (!cn || !ip || inet_pton(AF_INET, ip, &a) != 1 ||
		    (i = pool_index4(p, ntohl(a.s_addr))) < 0)
			continue;
		p->owner[i] = cn_hash(cn);
		pool_name_set(p, (uint32_t)i, cn);
		n++;
	}
	fclose(f);
	log_info("ifconfig-pool-persist: %u address(es) reserved from %s", n, path);
	return 0;
}

int srvpool_persist_save(const struct srvpool *p, const char *path)
{
	char tmp[1100], a[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	FILE *f;

	if (!p->has_v4 || !p->name)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (uint32_t i = 0; i < p->n; i++) {
		struct in_addr ip = { htonl(p->start + i * p->step) };
		uint8_t v6[16];

		if (!p->name[i])
			continue;
		a6[0] = 0;
		if (p->has_v6) {
			srvpool_v6(p, i, v6);
			inet_ntop(AF_INET6, v6, a6, sizeof(a6));
		}
		fprintf(f, "%s,%s,%s\n", p->name[i], inet_ntop(AF_INET, &ip, a, sizeof(a)), a6);
	}
	if (fclose(f) || rename(tmp, path)) {
		int e = -errno;

		unlink(tmp);
		return e;
	}
	return 0;
}

/* ---- client-config-dir ----------------------------------------------- */

struct ccd_ctx {
	const struct options *o;
	struct srv_ccd *c;
};

static int mask_bits(uint32_t mask_be)
{
	uint32_t m = ntohl(mask_be);
	int n = 0;

	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return m ? -1 : n;
}

static int ccd_push_add(struct srv_ccd *c, const char *text, const struct config_directive *d,
			char *err, size_t errlen)
{
	size_t len = strlen(c->push), add = strlen(text);

	if (strchr(text, ','))
		return config_errf(err, errlen, &d->src, "push option '%s' contains a comma", text);
	if (len + add + 2 > sizeof(c->push))
		return config_errf(err, errlen, &d->src, "too many push options");
	if (len)
		c->push[len++] = ',';
	memcpy(c->push + len, text, add + 1);
	return 0;
}

static int ccd_iroute(struct srv_ccd *c, struct config_directive *d, bool v6, char *err,
		      size_t errlen)
{
	struct srv_iroute *r;
	int plen = 32;

	if (c->n_iroutes >= SRV_IROUTES_MAX)
		return config_errf(err, errlen, &d->src, "more than %d iroutes", SRV_IROUTES_MAX);
	r = &c->iroute[c->n_iroutes];
	memset(r, 0, sizeof(*r));
	if (v6) {
		char buf[64], *slash;

		snprintf(buf, sizeof(buf), "%s", d->argv[1]);
		slash = strchr(buf, '/');
		plen = 128;
		if (slash) {
			*slash = 0;
			plen = atoi(slash + 1);
		}
		if (inet_pton(AF_INET6, buf, r->addr) != 1 || plen < 0 || plen > 128)
			return config_errf(err, errlen, &d->src,
					   "iroute-ipv6 expects NETWORK/BITS, got '%s'", d->argv[1]);
		r->family = AF_INET6;
	} else {
		uint32_t mask;

		if (inet_pton(AF_INET, d->argv[1], r->addr) != 1 ||
		    (d->argc > 2 && (inet_pton(AF_INET, d->argv[2], &mask) != 1 ||
				     (plen = mask_bits(mask)) < 0)))
			return config_errf(err, errlen, &d->src,
					   "iroute expects NETWORK [NETMASK], got '%s %s'",
					   d->argv[1], d->argc > 2 ? d->argv[2] : "");
		r->family = AF_INET;
	}
	r->plen = (unsigned int)plen;
	c->n_iroutes++;
	return 0;
}

static int ccd_directive(void *arg, struct config_directive *d, char *err, size_t errlen)
{
	struct ccd_ctx *x = arg;
	struct srv_ccd *c = x->c;
	const char *n = d->argv[0];

	if (!strcmp(n, "push") && d->argc == 2)
		return ccd_push_add(c, d->argv[1], d, err, errlen);
	if (!strcmp(n, "push-reset") && d->argc == 1) {
		c->push_reset = true;
		return 0;
	}
	if (!strcmp(n, "disable") && d->argc == 1) {
		c->disable = true;
		return 0;
	}
	if (!strcmp(n, "iroute") && (d->argc == 2 || d->argc == 3))
		return ccd_iroute(c, d, false, err, errlen);
	if (!strcmp(n, "iroute-ipv6") && d->argc == 2)
		return ccd_iroute(c, d, true, err, errlen);
	if (!strcmp(n, "ifconfig-push") && (d->argc == 3 || d->argc == 4)) {
		if (inet_pton(AF_INET, d->argv[1], &c->ifc_local) != 1 ||
		    inet_pton(AF_INET, d->argv[2], &c->ifc_second) != 1)
			return config_errf(err, errlen, &d->src,
					   "ifconfig-push expects LOCAL REMOTE-NETMASK");
		c->has_ifconfig = true;
		return 0;
	}
	if (!strcmp(n, "ifconfig-ipv6-push") && (d->argc == 2 || d->argc == 3)) {
		char buf[64], *slash;

		snprintf(buf, sizeof(buf), "%s", d->argv[1]);
		slash = strchr(buf, '/');
		if (!slash || inet_pton(AF_INET6, (*slash = 0, buf), c->ifc6) != 1)
			return config_errf(err, errlen, &d->src,
					   "ifconfig-ipv6-push expects ADDRESS/BITS");
		c->ifc6_bits = (unsigned int)atoi(slash + 1);
		c->has_ifconfig6 = true;
		return 0;
	}
	if (!strcmp(n, "echo") || !strcmp(n, "setenv") || !strcmp(n, "comp-lzo") ||
	    !strcmp(n, "compress")) {
		log_warnx("client-config-dir: '%s' at %s:%u ignored", n, d->src.file, d->src.line);
		return 0;
	}
	return config_errf(err, errlen, &d->src, "option '%s' is not supported in "
			   "client-config-dir files (or has the wrong number of arguments)", n);
}

/* A CN is used as a file name: refuse anything that could leave the directory. */
static bool ccd_name_ok(const char *cn)
{
	if (!cn[0] || !strcmp(cn, ".") || !strcmp(cn, ".."))
		return false;
	for (const char *p = cn; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20)
			return false;
	return true;
}

int srv_ccd_load(const struct options *o, const char *cn, struct srv_ccd *c, char *err,
		 size_t errlen)
{
	struct config_arena arena = { 0 };
	struct ccd_ctx x = { .o = o, .c = c };
	char path[1024], *buf = NULL;
	size_t len = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!o->client_config_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", o->client_config_dir, cn);
	if (!ccd_name_ok(cn) || access(path, R_OK)) {
		snprintf(path, sizeof(path), "%s/DEFAULT", o->client_config_dir);
		if (access(path, R_OK))
			return 0;
	}
	rc = config_file_load(path, &buf, &len, err, errlen);
	if (rc)
		return rc;
	c->found = true;
	rc = config_read_buffer(&arena, path, 1, buf, len, ccd_directive, &x, err, errlen);
	config_file_unload(buf, len);
	config_arena_free(&arena);
	return rc;
}

int srv_ccd_apply_text(const struct options *o, const char *name, const char *text,
		       struct srv_ccd *c, char *err, size_t errlen)
{
	struct config_arena arena = { 0 };
	struct ccd_ctx x = { .o = o, .c = c };
	int rc;

	rc = config_read_buffer(&arena, name, 1, text, strlen(text), ccd_directive, &x, err,
			       errlen);
	config_arena_free(&arena);
	return rc;
}

/* ---- NCP and the push ---------------------------------------------- */

static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (list && *list) {
		size_t m = strcspn(list, ":");

		if (m == n && !strncasecmp(list, name, n))
			return true;
		list += m;
		if (*list)
			list++;
	}
	return false;
}

enum dc_cipher srv_cipher_pick(const struct options *o, const struct km2_peer *p)
{
	const char *list = o->data_ciphers ? o->data_ciphers : "AES-256-GCM:AES-128-GCM";
	char name[64];

	while (*list) {
		size_t m = strcspn(list, ":");

		if (m < sizeof(name)) {
			enum dc_cipher c;

			memcpy(name, list, m);
			name[m] = 0;
			c = dc_cipher_from_name(name);
			if (c != DC_CIPHER_NONE &&
			    (p->has_ciphers ? list_has(p->ciphers, name) :
			     p->iv_ncp >= 2 && (c == DC_AES_128_GCM ||
						c == DC_AES_256_GCM)))
				return c;
		}
		list += m;
		if (*list)
			list++;
	}
	if (!p->has_ciphers && o->data_ciphers_fallback)
		return dc_cipher_from_name(o->data_ciphers_fallback);
	return DC_CIPHER_NONE;
}

struct pushbuf {
	char *out;
	size_t cap, len;
	bool full;
};

static void push_add(struct pushbuf *b, const char *fmt, ...) __printf(2, 3);

static void push_add(struct pushbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	if (b->len && b->len + 1 < b->cap)
		b->out[b->len++] = ',';
	va_start(ap, fmt);
	n = vsnprintf(b->out + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->full = true;
	else
		b->len += (size_t)n;
}

/*
 * A pushed `route NET MASK` / `route-ipv6 NET/BITS` that is one of the
 * client's own iroutes is left out of its push, as a stock server does: the
 * client must not send its own site into the tunnel.
 */
static bool push_is_own_iroute(const char *opt, const struct srv_ccd *ccd)
{
	char net[64] = "", mask[64] = "";
	uint8_t a[16] = { 0 };
	uint32_t m;
	int plen = -1;
	int v6 = !strncmp(opt, "route-ipv6 ", 11);

	if (!ccd->n_iroutes || (!v6 && strncmp(opt, "route ", 6)))
		return false;
	if (v6) {
		char *slash;

		if (sscanf(opt + 11, "%63s", net) != 1 || !(slash = strchr(net, '/')))
			return false;
		*slash = 0;
		plen = atoi(slash + 1);
		if (inet_pton(AF_INET6, net, a) != 1)
			return false;
	} else {
		int n = sscanf(opt + 6, "%63s %63s", net, mask);

		if (n < 1 || inet_pton(AF_INET, net, a) != 1)
			return false;
		if (n < 2 || inet_pton(AF_INET, mask, &m) != 1)
			m = 0xffffffffu;
		plen = mask_bits(m);
	}
	for (unsigned int i = 0; i < ccd->n_iroutes; i++) {
		const struct srv_iroute *r = &ccd->iroute[i];

		if (r->family == (v6 ? AF_INET6 : AF_INET) && (int)r->plen == plen &&
		    !memcmp(r->addr, a, v6 ? 16 : 4))
			return true;
	}
	return false;
}

int srv_push_build(char *out, size_t cap, const struct srv_push_in *in)
{
	const struct options *o = in->o;
	struct pushbuf b = { .out = out, .cap = cap };
	char a[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN];
	unsigned int proto = in->peer->iv_proto;

	out[0] = 0;
	/* Admin and generated options first, then the client's own file, as stock orders them. */
	if (!in->ccd->push_reset)
		for (size_t i = 0; i < o->push.n; i++)
			if (!push_is_own_iroute(o->push.v[i], in->ccd))
				push_add(&b, "%s", o->push.v[i]);
	if (in->ccd->push[0])
		push_add(&b, "%s", in->ccd->push);
	if (in->has_v6) {
		inet_ntop(AF_INET6, in->v6, a, sizeof(a));
		push_add(&b, "ifconfig-ipv6 %s/%u %s", a, in->ccd->has_ifconfig6 ?
			 in->ccd->ifc6_bits : o->ifconfig_ipv6_netbits,
			 o->ifconfig_ipv6_local ? o->ifconfig_ipv6_local : "::");
	}
	if (in->v4_local) {
		inet_ntop(AF_INET, &in->v4_local, a, sizeof(a));
		inet_ntop(AF_INET, &in->v4_second, s, sizeof(s));
		push_add(&b, "ifconfig %s %s", a, s);
	}
	if (proto & IV_PROTO_DATA_V2)
		push_add(&b, "peer-id %u", in->peer_id);
	/* prepare_push_reply's place for it: after peer-id, before cipher. */
	if (in->auth_token && *in->auth_token)
		push_add(&b, "auth-token %s", in->auth_token);
	push_add(&b, "cipher %s", dc_cipher_name(in->cipher));
	/*
	 * As 2.6's prepare_push_reply: cc-exit and tls-ekm for clients that
	 * take protocol-flags (bit 7), dyn-tls-crypt for those that announced
	 * it (bit 9), and key-derivation for EKM clients without protocol-flags.
	 */
	if ((proto & IV_PROTO_CC_EXIT_NOTIFY) || in->dyn_tls_crypt)
		push_add(&b, "protocol-flags%s%s%s",
			 proto & IV_PROTO_CC_EXIT_NOTIFY ? " cc-exit" : "",
			 in->ekm && (proto & IV_PROTO_CC_EXIT_NOTIFY) ? " tls-ekm" : "",
			 in->dyn_tls_crypt ? " dyn-tls-crypt" : "");
	if (in->ekm && !(proto & IV_PROTO_CC_EXIT_NOTIFY))
		push_add(&b, "key-derivation tls-ekm");
	if (in->peer->mtu)
		push_add(&b, "tun-mtu %u", o->conns.n ? o->conns.v[0].tun_mtu : 1500);
	return b.full ? -ENOSPC : (int)b.len;
}

const char *srv_addr_str(const union sockaddr_any *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &sa->in4.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(sa->in4.sin_port));
	} else if (sa->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &sa->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sa->in6.sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}
