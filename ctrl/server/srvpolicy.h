/*
 * srvpolicy.h - what a server decides about one client once its TLS and
 * key-method-2 are in (ctrl/server/server.c, state SRVSESS_AUTH): the address
 * pool, client-config-dir files, the auth-user-pass-verify script, the data
 * cipher (NCP from IV_CIPHERS) and the PUSH_REPLY text. ctrl only.
 */
#ifndef SLUICE_SRVPOLICY_H
#define SLUICE_SRVPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/compiler.h"
#include "../../core/pkt.h"
#include "../../crypto/dc.h"
#include "../proto/km2.h"

struct options;
struct srvsess_client;

/* ---- address pool (ifconfig-pool / server, server-ipv6) ---- */

struct srvpool {
	uint32_t n;			/* entries; 0: no pool */
	uint32_t start;			/* host order: first address (subnet) or /30 block (net30) */
	uint32_t step;			/* 1 (subnet, p2p) or 4 (net30) */
	bool net30;
	bool has_v4, has_v6;
	uint8_t v6_base[16];
	unsigned int v6_bits;
	uint32_t next;			/* next-fit cursor */
	uint8_t *used;			/* n bytes */
	uint32_t *owner;		/* n hashes of the common name that last held it */
	char **name;			/* n common names (ifconfig-pool-persist), or NULL */
};

int srvpool_init(struct srvpool *p, const struct options *o) __must_check;
void srvpool_destroy(struct srvpool *p);
/* An entry for @cn, preferring the one it held last. Returns its index or -ENOSPC. */
int srvpool_alloc(struct srvpool *p, const char *cn);
void srvpool_release(struct srvpool *p, uint32_t idx);
/* The client's IPv4 address (network order) and the second ifconfig word (network order). */
void srvpool_v4(const struct srvpool *p, uint32_t idx, const struct options *o, uint32_t *local,
		uint32_t *second);
void srvpool_v6(const struct srvpool *p, uint32_t idx, uint8_t addr[16]);
/*
 * ifconfig-pool-persist FILE: "CN,IPv4[,IPv6]" lines, as stock 2.6 reads and
 * writes them. Load reserves each address for its CN (another client gets
 * it only when the pool is otherwise full); save writes every entry that
 * has an owner. Both return 0 or -errno (a missing file loads as empty).
 */
int srvpool_persist_load(struct srvpool *p, const char *path);
int srvpool_persist_save(const struct srvpool *p, const char *path);

/* ---- client-config-dir ---- */

#define SRV_IROUTES_MAX	16

struct srv_iroute {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* network order; v4 in the first 4 bytes */
	unsigned int plen;
};

struct srv_ccd {
	bool found;			/* a file was read (CN or DEFAULT) */
	bool disable;
	bool push_reset;
	bool has_ifconfig;
	uint32_t ifc_local, ifc_second;	/* network order */
	bool has_ifconfig6;
	uint8_t ifc6[16];
	unsigned int ifc6_bits;
	unsigned int n_iroutes;
	struct srv_iroute iroute[SRV_IROUTES_MAX];
	char push[1024];		/* extra push options, ',' joined */
};

/*
 * Reads client-config-dir/@cn (or DEFAULT when that is missing) into @c.
 * Returns 0 (also when there is no directory or file: c->found false), or
 * -EINVAL with @err naming file:line for a line sluice cannot apply.
 */
int srv_ccd_load(const struct options *o, const char *cn, struct srv_ccd *c, char *err,
		 size_t errlen);

/*
 * The same directives from @text (a management `client-auth` block, named
 * @name in errors), on top of what @c holds. 0 or -EINVAL with @err set.
 */
int srv_ccd_apply_text(const struct options *o, const char *name, const char *text,
		       struct srv_ccd *c, char *err, size_t errlen);

/* ---- authentication and negotiation ---- */

/* NCP: the first of data-ciphers the client can do, or DC_CIPHER_NONE. */
enum dc_cipher srv_cipher_pick(const struct options *o, const struct km2_peer *p);

/* Everything the PUSH_REPLY for one client depends on. */
struct srv_push_in {
	const struct options *o;
	const struct srv_ccd *ccd;
	const struct km2_peer *peer;
	uint32_t v4_local, v4_second;	/* network order; v4_local 0: none */
	bool has_v6;
	uint8_t v6[16];
	uint32_t peer_id;
	enum dc_cipher cipher;
	bool ekm;
	bool dyn_tls_crypt;	/* the client announced IV_PROTO_DYN_TLS_CRYPT */
	const char *auth_token;	/* auth-gen-token: pushed after peer-id; NULL: none */
};

/* Builds the options of the PUSH_REPLY into @out. Returns its length or -ENOSPC. */
int srv_push_build(char *out, size_t cap, const struct srv_push_in *in);

/* "a.b.c.d:port" / "[v6]:port" for logs and the status file. */
const char *srv_addr_str(const union sockaddr_any *sa, char *buf, size_t len);

#endif
