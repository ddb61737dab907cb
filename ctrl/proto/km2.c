/*
 * km2.c - owns the key-method-2 message codec, the OCC options string and
 * the peer-info builder/parser (openvpn-wire.md §4).
 *
 * Threads: ctrl only, once per key_id. Pure: no I/O, no logging; the parsed
 * message comes from the peer's TLS stream and is untrusted (fuzzed by
 * tests/fuzz/fuzz_km2.c).
 *
 * Differences from OpenVPN's key_method_2_read, all stricter: a string must
 * end in its only NUL (OpenVPN overwrites the last byte with NUL and stops
 * at the first one), and username/password fields must be present. Like
 * OpenVPN, a missing peer_info field is an empty one and trailing bytes are
 * ignored.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../../core/proto.h"
#include "km2.h"

/* ---- key-method-2 message ---------------------------------------------- */

int km2_source_random(struct kdf_key_source *src, bool is_client)
{
	memset(src, 0, sizeof(*src));
	if (is_client && RAND_bytes(src->pre_master, sizeof(src->pre_master)) != 1)
		return -EIO;
	if (RAND_bytes(src->random1, sizeof(src->random1)) != 1 ||
	    RAND_bytes(src->random2, sizeof(src->random2)) != 1)
		return -EIO;
	return 0;
}

struct wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static bool wbuf_put(struct wbuf *w, const void *data, size_t len)
{
	if (len > w->cap - w->len)
		return false;
	if (len)	/* an empty string may be NULL */
		memcpy(w->p + w->len, data, len);
	w->len += len;
	return true;
}

/* u16 length including the NUL, then the bytes; "" is the bare length 0. */
static int put_string(struct wbuf *w, const char *s, size_t max_with_nul)
{
	size_t n = s ? strlen(s) : 0;
	uint8_t len[2];

	if (n && n + 1 > max_with_nul)
		return -EMSGSIZE;
	if (n)
		n++;
	store_be16(len, (uint16_t)n);
	if (!wbuf_put(w, len, 2) || !wbuf_put(w, s, n))
		return -ENOSPC;
	return 0;
}

static bool is_empty(const char *s)
{
	return !s || !*s;
}

int km2_build(uint8_t *out, size_t cap, const struct km2_msg *m, bool from_client)
{
	static const uint8_t hdr[KM2_HDR_LEN] = { 0, 0, 0, 0, KM2_METHOD };
	struct wbuf w = { .p = out, .len = 0, .cap = cap };
	int ret;

	if (!from_client && (!is_empty(m->username) || !is_empty(m->password)))
		return -EINVAL;
	if (!wbuf_put(&w, hdr, sizeof(hdr)))
		return -ENOSPC;
	if (from_client && !wbuf_put(&w, m->src.pre_master, KDF_PRE_MASTER_LEN))
		return -ENOSPC;
	if (!wbuf_put(&w, m->src.random1, KDF_RANDOM_LEN) ||
	    !wbuf_put(&w, m->src.random2, KDF_RANDOM_LEN))
		return -ENOSPC;
	ret = put_string(&w, m->options, KM2_OPTIONS_MAX);
	if (!ret)
		ret = put_string(&w, m->username, KM2_USER_PASS_MAX);
	if (!ret)
		ret = put_string(&w, m->password, KM2_USER_PASS_MAX);
	if (!ret)
		ret = put_string(&w, m->peer_info, KM2_MSG_MAX);
	if (ret)
		return ret;
	if (w.len > KM2_MSG_MAX)
		return -EMSGSIZE;
	return (int)w.len;
}

struct rbuf {
	const uint8_t *p;
	size_t left;
	const char **why;
};

static int fail(struct rbuf *r, int err, const char *why)
{
	if (r->why)
		*r->why = why;
	return err;
}

static bool rbuf_take(struct rbuf *r, void *dst, size_t len)
{
	if (len > r->left)
		return false;
	if (dst)
		memcpy(dst, r->p, len);
	r->p += len;
	r->left -= len;
	return true;
}

/*
 * Reads one u16+ string; @too_long/@bad become *why. @optional: a missing
 * length field reads as "" (peer_info only).
 */
static int get_string(struct rbuf *r, const char **out, size_t max_with_nul, bool optional,
		      const char *too_long, const char *bad)
{
	const char *s;
	size_t n;

	*out = "";
	if (r->left < 2)
		return optional && !r->left ? 0 : fail(r, -EBADMSG, bad);
	n = load_be16(r->p);
	r->p += 2;
	r->left -= 2;
	if (!n)
		return 0;
	if (n > r->left)
		return fail(r, -EBADMSG, bad);
	s = (const char *)r->p;
	if (memchr(s, '\0', n) != s + n - 1)
		return fail(r, -EBADMSG, bad);
	if (n > max_with_nul)
		return fail(r, -EMSGSIZE, too_long);
	rbuf_take(r, NULL, n);
	*out = s;
	return 0;
}

int km2_parse(struct km2_msg *m, const uint8_t *buf, size_t len, bool from_client,
	      const char **why)
{
	struct rbuf r = { .p = buf, .left = len, .why = why };
	uint8_t method;
	int ret;

	memset(m, 0, sizeof(*m));
	m->options = m->username = m->password = m->peer_info = "";
	if (why)
		*why = NULL;
	if (!rbuf_take(&r, NULL, 4) || !rbuf_take(&r, &method, 1))
		return fail(&r, -EBADMSG, "key-method 2: message too short");
	if ((method & KM2_METHOD_MASK) != KM2_METHOD)
		return fail(&r, -EBADMSG, "key-method 2: unknown key method");
	if (from_client && !rbuf_take(&r, m->src.pre_master, KDF_PRE_MASTER_LEN))
		return fail(&r, -EBADMSG, "key-method 2: truncated key source");
	if (!rbuf_take(&r, m->src.random1, KDF_RANDOM_LEN) ||
	    !rbuf_take(&r, m->src.random2, KDF_RANDOM_LEN))
		return fail(&r, -EBADMSG, "key-method 2: truncated key source");
	ret = get_string(&r, &m->options, KM2_OPTIONS_MAX, false,
			 "key-method 2: options string too long",
			 "key-method 2: bad options string");
	if (!ret)
		ret = get_string(&r, &m->username, KM2_USER_PASS_MAX, false,
				 "key-method 2: username too long", "key-method 2: bad username");
	if (!ret)
		ret = get_string(&r, &m->password, KM2_USER_PASS_MAX, false,
				 "key-method 2: password too long", "key-method 2: bad password");
	if (!ret)
		ret = get_string(&r, &m->peer_info, SIZE_MAX, true, NULL,
				 "key-method 2: bad peer info");
	if (ret) {
		OPENSSL_cleanse(&m->src, sizeof(m->src));
		m->options = m->username = m->password = m->peer_info = "";
	}
	m->len = ret ? 0 : len - r.left;
	return ret;
}

/* ---- OCC options string (options_string, calc_options_string_link_mtu) -- */

#define OCC_TUN_MTU_DEFAULT	1500
#define OCC_TAP_MTU_EXTRA	32	/* TAP_MTU_EXTRA_DEFAULT */
#define OCC_BF_CBC_OVERHEAD	16	/* 64-bit block + 64-bit IV, added by hand in 2.6 */
#define OCC_BF_CBC_KEYSIZE	128
#define OCC_PID_LEN		4	/* short-form packet-id in TLS mode */
#define OCC_TAG_LEN		16	/* OPENVPN_AEAD_TAG_LENGTH */
#define OCC_OPCODE_LEN		1	/* 2.6 computes the string before peer-id exists */
#define OCC_TCP_LEN		2
#define OCC_FRAGMENT_LEN	4
#define OCC_NAME_MAX		64

/* OpenSSL name -> OpenVPN name (translate_*_name_to_openvpn). */
static const char *const name_map[][2] = {
	{ "id-aes128-GCM", "AES-128-GCM" },
	{ "id-aes192-GCM", "AES-192-GCM" },
	{ "id-aes256-GCM", "AES-256-GCM" },
	{ "ChaCha20-Poly1305", "CHACHA20-POLY1305" },
	{ "BLAKE2S-256", "BLAKE2s256" },
	{ "BLAKE2B-512", "BLAKE2b512" },
	{ "RIPEMD-160", "RIPEMD160" },
	{ "SHA2-224", "SHA224" },
	{ "SHA2-256", "SHA256" },
	{ "SHA2-384", "SHA384" },
	{ "SHA2-512", "SHA512" },
	{ "SHA2-512/224", "SHA512-224" },
	{ "SHA2-512/256", "SHA512-256" },
	{ "SHAKE-128", "SHAKE128" },
	{ "SHAKE-256", "SHAKE256" },
};

static const char *openvpn_name(const char *lib)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(name_map); i++)
		if (!strcmp(lib, name_map[i][0]))
			return name_map[i][1];
	return lib;
}

/* The sizes options_string and link-mtu need from one cipher/digest pair. */
struct occ_kt {
	char cipher[OCC_NAME_MAX];	/* "[null-cipher]" for none */
	char digest[OCC_NAME_MAX];	/* "[null-digest]" for none */
	bool is_cbc, is_aead;
	unsigned int keysize;		/* bits */
	unsigned int iv, block, md;	/* bytes */
};

/* cipher_kt_block_size: GCM etc. report 1, so ask the -CBC sibling. */
static unsigned int occ_block_size(const EVP_CIPHER *c, const char *name)
{
	char cbc[OCC_NAME_MAX];
	unsigned int block = (unsigned int)EVP_CIPHER_get_block_size(c);
	const char *dash = strrchr(name, '-');
	EVP_CIPHER *sib;

	if (!dash || strlen(dash) < 4 || (size_t)(dash - name) + 5 > sizeof(cbc))
		return block;
	memcpy(cbc, name, (size_t)(dash - name));
	strcpy(cbc + (dash - name), "-CBC");
	sib = EVP_CIPHER_fetch(NULL, cbc, NULL);
	if (sib) {
		block = (unsigned int)EVP_CIPHER_get_block_size(sib);
		EVP_CIPHER_free(sib);
	}
	return block;
}

static int occ_cipher(struct occ_kt *kt, const char *name)
{
	EVP_CIPHER *c;
	int ret = -EINVAL;

	if (!strcmp(name, "none")) {
		strcpy(kt->cipher, "[null-cipher]");
		return 0;
	}
	c = EVP_CIPHER_fetch(NULL, name, NULL);
	if (!c)
		return -EINVAL;
	kt->is_aead = EVP_CIPHER_get_flags(c) & EVP_CIPH_FLAG_AEAD_CIPHER;
	kt->is_cbc = EVP_CIPHER_get_mode(c) == EVP_CIPH_CBC_MODE;
	if (!kt->is_aead && !kt->is_cbc)
		goto out;	/* OFB/CFB and others: not offered by us */
	if (snprintf(kt->cipher, sizeof(kt->cipher), "%s",
		     openvpn_name(EVP_CIPHER_get0_name(c))) >= (int)sizeof(kt->cipher))
		goto out;
	kt->keysize = (unsigned int)EVP_CIPHER_get_key_length(c) * 8;
	kt->iv = (unsigned int)EVP_CIPHER_get_iv_length(c);
	kt->block = occ_block_size(c, kt->cipher);
	ret = 0;
out:
	EVP_CIPHER_free(c);
	return ret;
}

static int occ_digest(struct occ_kt *kt, const char *name)
{
	EVP_MD *md;
	int n;

	/* init_key_type: AEAD ciphers ignore --auth. */
	if (!strcmp(name, "none") || kt->is_aead) {
		strcpy(kt->digest, "[null-digest]");
		return 0;
	}
	md = EVP_MD_fetch(NULL, name, NULL);
	if (!md)
		return -EINVAL;
	kt->md = (unsigned int)EVP_MD_get_size(md);
	n = snprintf(kt->digest, sizeof(kt->digest), "%s", openvpn_name(EVP_MD_get0_name(md)));
	EVP_MD_free(md);
	return n < (int)sizeof(kt->digest) ? 0 : -EINVAL;
}

/* calculate_crypto_overhead(kt, pid, occ = true) */
static unsigned int occ_crypto_overhead(const struct occ_kt *kt)
{
	unsigned int n = kt->is_cbc ? 0 : OCC_PID_LEN;

	if (kt->is_aead)
		return n + OCC_TAG_LEN + kt->iv + kt->block;
	if (kt->is_cbc)
		n += kt->block + kt->iv;
	return n + kt->md;
}

static unsigned int occ_link_mtu(const struct km2_occ *o, const struct occ_kt *kt,
				 unsigned int tun_mtu, bool is_bf)
{
	unsigned int extra = o->tun_mtu_extra ? o->tun_mtu_extra :
			     o->is_tap ? OCC_TAP_MTU_EXTRA : 0;
	unsigned int payload = tun_mtu + extra;
	unsigned int hdr = OCC_OPCODE_LEN + occ_crypto_overhead(kt);

	if (o->comp_v1_framing)
		payload += 1;
	if (o->fragment)
		payload += OCC_FRAGMENT_LEN;
	if (kt->is_cbc)
		payload += OCC_PID_LEN;	/* CBC encrypts the packet-id with the payload */
	if (o->proto != KM2_PROTO_UDP)
		hdr += OCC_TCP_LEN;
	return payload + hdr + (is_bf ? OCC_BF_CBC_OVERHEAD : 0);
}

static const char *occ_proto_name(enum km2_proto p)
{
	switch (p) {
	case KM2_PROTO_TCP_CLIENT:
		return "TCPv4_CLIENT";
	case KM2_PROTO_TCP_SERVER:
		return "TCPv4_SERVER";
	default:
		return "UDPv4";
	}
}

int km2_occ_build(char *out, size_t cap, const struct km2_occ *o)
{
	unsigned int tun_mtu = o->tun_mtu ? o->tun_mtu : OCC_TUN_MTU_DEFAULT;
	bool is_bf = !o->cipher || !strcmp(o->cipher, "BF-CBC");
	struct occ_kt kt = { .keysize = 0 };
	const char *keydir = "";
	int n, ret;

	if ((unsigned int)o->proto > KM2_PROTO_TCP_SERVER ||
	    (unsigned int)o->key_direction > KM2_KEYDIR_1)
		return -EINVAL;
	ret = occ_cipher(&kt, is_bf ? "none" : o->cipher);
	if (!ret)
		ret = occ_digest(&kt, o->auth ? o->auth : "SHA1");
	if (ret)
		return ret;
	if (is_bf) {
		strcpy(kt.cipher, "BF-CBC");
		kt.keysize = OCC_BF_CBC_KEYSIZE;
	}
	if (o->key_direction != KM2_KEYDIR_NONE)
		keydir = o->key_direction == KM2_KEYDIR_1 ? ",keydir 1" : ",keydir 0";
	n = snprintf(out, cap,
		     "V4,dev-type %s,link-mtu %u,tun-mtu %u,proto %s%s%s%s%s%s,auth %s,keysize %u"
		     "%s,key-method 2,%s",
		     o->is_tap ? "tap" : "tun", occ_link_mtu(o, &kt, tun_mtu, is_bf),
		     o->occ_mtu ? o->occ_mtu : tun_mtu, occ_proto_name(o->proto),
		     o->comp ? ",comp-lzo" : "", o->fragment ? ",mtu-dynamic" : "", keydir,
		     o->announce_cipher ? ",cipher " : "", o->announce_cipher ? kt.cipher : "",
		     kt.digest, kt.keysize, o->tls_auth ? ",tls-auth" : "",
		     o->is_server ? "tls-server" : "tls-client");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	if (n + 1 > KM2_OPTIONS_MAX)
		return -EINVAL;
	return n;
}

/* ---- peer info ----------------------------------------------------------- */

/* A value we put on an IV_ line: printable, no ',' (some servers split on it). */
static bool value_ok(const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == ',')
			return false;
	return true;
}

static bool name_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Length of a valid "NAME=value" line starting at @s (to '\n' or end), or 0. */
static size_t line_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && name_char((unsigned char)s[i]))
		i++;
	if (!i || i >= len || s[i] != '=')
		return 0;
	for (i++; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return len;
}

static bool extra_ok(const char *extra)
{
	const char *p = extra, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl || !line_valid(p, (size_t)(nl - p)))
			return false;
		p = nl + 1;
	}
	return true;
}

static bool cipher_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list, *end;

	while (*p) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) == n && !strncasecmp(p, name, n))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static const char *const comp_lines[] = {
	[KM2_COMP_STUBS] = "IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n",
	/* LZ4 and LZO both built in: no IV_LZO_STUB (comp_generate_peer_info_string). */
	[KM2_COMP_ALL] = "IV_LZ4=1\nIV_LZ4v2=1\nIV_LZO=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n",
	[KM2_COMP_NONE] = "",
};

int km2_peer_info_build(char *out, size_t cap, const struct km2_peer_info *pi)
{
	const char *ver = pi->version ? pi->version : KM2_IV_VER_DEFAULT;
	const char *plat = pi->platform ? pi->platform : "linux";
	const char *extra = pi->extra ? pi->extra : "";
	char mtu[32] = "";
	bool ncp;
	int n;

	if ((pi->iv_proto & ~IV_PROTO_KNOWN_26) || (pi->iv_proto & IV_PROTO_NCP_P2P) ||
	    (unsigned int)pi->comp > KM2_COMP_NONE || !pi->ciphers || !*pi->ciphers ||
	    !*ver || !*plat)
		return -EINVAL;
	if (!value_ok(ver) || !value_ok(plat) || !value_ok(pi->ciphers) || !extra_ok(extra))
		return -EINVAL;
	if (pi->mtu)
		snprintf(mtu, sizeof(mtu), "IV_MTU=%u\n", pi->mtu);
	ncp = cipher_listed(pi->ciphers, "AES-128-GCM") && cipher_listed(pi->ciphers, "AES-256-GCM");
	n = snprintf(out, cap, "IV_VER=%s\nIV_PLAT=%s\nIV_TCPNL=1\n%s%sIV_CIPHERS=%s\nIV_PROTO=%u\n%s%s",
		     ver, plat, mtu, ncp ? "IV_NCP=2\n" : "", pi->ciphers, pi->iv_proto,
		     comp_lines[pi->comp], extra);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* Strict decimal: digits only, no sign, fits in unsigned int. */
static bool parse_uint(const char *s, size_t len, unsigned int *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 10)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > UINT_MAX)
		return false;
	*out = (unsigned int)v;
	return true;
}

static bool copy_value(char *dst, size_t cap, const char *v, size_t len)
{
	if (len >= cap)
		return false;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return true;
}

/* Known names; each bit records "already set" so the first line wins. */
enum pi_key {
	PI_VER, PI_PLAT, PI_PROTO, PI_NCP, PI_MTU, PI_CIPHERS, PI_TCPNL, PI_LZ4, PI_LZ4V2,
	PI_LZO, PI_LZO_STUB, PI_COMP_STUB, PI_COMP_STUBV2, PI_KEYS
};

static const char *const pi_names[PI_KEYS] = {
	[PI_VER] = "IV_VER", [PI_PLAT] = "IV_PLAT", [PI_PROTO] = "IV_PROTO",
	[PI_NCP] = "IV_NCP", [PI_MTU] = "IV_MTU", [PI_CIPHERS] = "IV_CIPHERS",
	[PI_TCPNL] = "IV_TCPNL", [PI_LZ4] = "IV_LZ4", [PI_LZ4V2] = "IV_LZ4v2",
	[PI_LZO] = "IV_LZO", [PI_LZO_STUB] = "IV_LZO_STUB", [PI_COMP_STUB] = "IV_COMP_STUB",
	[PI_COMP_STUBV2] = "IV_COMP_STUBv2",
};

static bool pi_flag(const char *v, size_t len)
{
	return len == 1 && v[0] == '1';
}

/* Applies one valid NAME=value line; false if its value is malformed. */
static bool pi_apply(struct km2_peer *p, enum pi_key k, const char *v, size_t len)
{
	switch (k) {
	case PI_VER:
		return copy_value(p->version, sizeof(p->version), v, len);
	case PI_PLAT:
		return copy_value(p->platform, sizeof(p->platform), v, len);
	case PI_PROTO:
		return (p->has_proto = parse_uint(v, len, &p->iv_proto));
	case PI_NCP:
		return parse_uint(v, len, &p->iv_ncp);
	case PI_MTU:
		return parse_uint(v, len, &p->mtu);
	case PI_CIPHERS:
		return (p->has_ciphers = copy_value(p->ciphers, sizeof(p->ciphers), v, len));
	case PI_TCPNL:
		p->tcpnl = pi_flag(v, len);
		return true;
	case PI_LZ4:
		p->lz4 = pi_flag(v, len);
		return true;
	case PI_LZ4V2:
		p->lz4v2 = pi_flag(v, len);
		return true;
	case PI_LZO:
		p->lzo = pi_flag(v, len);
		return true;
	case PI_LZO_STUB:
		p->lzo_stub = pi_flag(v, len);
		return true;
	case PI_COMP_STUB:
		p->comp_stub = pi_flag(v, len);
		return true;
	case PI_COMP_STUBV2:
		p->comp_stubv2 = pi_flag(v, len);
		return true;
	default:
		return true;
	}
}

static void pi_line(struct km2_peer *p, const char *s, size_t len, unsigned int *seen)
{
	const char *eq;
	size_t nlen;
	unsigned int k;

	if (!len)
		return;		/* the final '\n' or a blank line */
	if (!line_valid(s, len)) {
		p->bad_lines++;
		return;
	}
	eq = memchr(s, '=', len);
	nlen = (size_t)(eq - s);
	for (k = 0; k < PI_KEYS; k++) {
		if (strlen(pi_names[k]) != nlen || memcmp(pi_names[k], s, nlen))
			continue;
		if (*seen & (1u << k))
			return;
		*seen |= 1u << k;
		if (!pi_apply(p, k, eq + 1, len - nlen - 1))
			p->bad_lines++;
		return;
	}
}

void km2_peer_info_parse(struct km2_peer *p, const char *pi)
{
	unsigned int seen = 0;
	const char *nl;

	memset(p, 0, sizeof(*p));
	if (!pi)
		return;
	while (*pi) {
		nl = strchr(pi, '\n');
		if (!nl)
			nl = pi + strlen(pi);
		pi_line(p, pi, (size_t)(nl - pi), &seen);
		pi = *nl ? nl + 1 : nl;
	}
}

int km2_peer_info_get(const char *pi, const char *name, char *val, size_t cap)
{
	size_t nlen = strlen(name), len;
	const char *nl;

	if (!pi || !nlen)
		return -ENOENT;
	while (*pi) {
		nl = strchr(pi, '\n');
		if (!nl)
			nl = pi + strlen(pi);
		len = (size_t)(nl - pi);
		if (len > nlen && !memcmp(pi, name, nlen) && pi[nlen] == '=') {
			if (!copy_value(val, cap, pi + nlen + 1, len - nlen - 1))
				return -ENOSPC;
			return (int)(len - nlen - 1);
		}
		pi = *nl ? nl + 1 : nl;
	}
	return -ENOENT;
}
