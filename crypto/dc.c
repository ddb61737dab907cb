/*
 * dc.c - owns the AEAD data channel: the fetched EVP ciphers, struct
 * dc_keyslot and the P_DATA_V1/V2 packet layout (openvpn-wire.md §5, §6.2).
 *
 * Threads: dc_global_init/cleanup and dc_keyslot_create/free are ctrl's
 * (free usually from the epoch). dc_seal runs on encrypt worker w with
 * ks->enc[w], dc_open on decrypt worker w with ks->dec[w]; each context has
 * exactly that one user, so the data path takes no lock. dc_classify runs
 * on udp_rx, dc_replay_accept on tun_tx (the replay window's one writer).
 *
 * Per packet only the nonce changes: the contexts are keyed once at create.
 * Two roads through OpenSSL 3 give the same bytes (tests/unit/kat_test.c,
 * aead_test.c run both):
 *   direct  (ks->direct; the default) the cipher's own provider functions,
 *           looked up once in dc_global_init through the public provider
 *           API (OSSL_PROVIDER_query_operation): per packet an init with
 *           the nonce, AAD, text, final, and the tag through one prebuilt
 *           OSSL_PARAM. The EVP layer wraps each of these calls with checks
 *           and, for the nonce, a parameter round trip; going to the
 *           provider saves ~55 ns a packet on AES-GCM (a third of a 64-byte
 *           seal, an eighth of 1400 bytes) and ~210 ns on ChaCha20-Poly1305
 *           (bench/dc_bench). The provider and its tables stay loaded while
 *           dc_evp holds the fetched ciphers.
 *   evp     when a function is missing (another provider) or a test asks
 *           (dc_set_direct): EVP_CIPHER_CTX. AES-GCM (ks->is_gcm) takes the
 *           short way: the whole nonce goes in with EVP_CTRL_GCM_SET_IV_FIXED
 *           and length -1 (the provider's setivfixed: all 12 bytes), AAD,
 *           text and final through EVP_Cipher, the tag through a prebuilt
 *           OSSL_PARAM; ChaCha20-Poly1305 is re-initialised with
 *           EVP_*Init_ex(ctx, NULL, NULL, NULL, nonce), which also resets
 *           the AAD/tag state.
 * Data-path failures are verdicts, never log lines, and key material is
 * never logged anywhere.
 *
 *   P_DATA_V2: [op 9<<3|kid][peer-id 3][pid 4][tag 16][ciphertext]  AAD = bytes 0..7
 *   P_DATA_V1: [op 6<<3|kid][pid 4][tag 16][ciphertext]             AAD = pid
 *   nonce = pid (4, big endian) || implicit IV (8, sender's hmac slot)
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "dc.h"

_Static_assert(DC_PID_LEN + DC_IMPLICIT_IV_LEN == DC_NONCE_LEN, "nonce = pid || implicit IV");
_Static_assert(PKT_HEADROOM >= DC_V2_OVERHEAD + 2, "headroom: TCP length + V2 header");

struct dc_cipher_info {
	const char *name;		/* OpenVPN's and OpenSSL's name */
	unsigned int key_len;
};

static const struct dc_cipher_info dc_ciphers[DC_CIPHER_MAX] = {
	[DC_AES_128_GCM] = { "AES-128-GCM", 16 },
	[DC_AES_256_GCM] = { "AES-256-GCM", 32 },
	[DC_CHACHA20_POLY1305] = { "CHACHA20-POLY1305", 32 },
};

/* A cipher's provider functions: the direct road (top of file). */
struct dc_prov {
	void *provctx;
	OSSL_FUNC_cipher_newctx_fn *newctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *einit;
	OSSL_FUNC_cipher_decrypt_init_fn *dinit;
	OSSL_FUNC_cipher_update_fn *update;
	OSSL_FUNC_cipher_final_fn *final;
	OSSL_FUNC_cipher_get_ctx_params_fn *get_params;
	OSSL_FUNC_cipher_set_ctx_params_fn *set_params;
};

/* Fetched once by dc_global_init (STYLE.md §4.10); read-only afterwards. */
static EVP_CIPHER *dc_evp[DC_CIPHER_MAX];
static struct dc_prov dc_prov[DC_CIPHER_MAX];	/* newctx NULL: no direct road */
static bool dc_direct_off;			/* dc_set_direct(false): tests */
/* Slot generations; ctrl only, but atomic so a test may create from anywhere. */
static uint32_t dc_gen_last;

/*
 * Where each provider function goes in struct dc_prov. Every field is a
 * function pointer of the size of OSSL_DISPATCH's, which holds it as
 * void (*)(void) until cast back to its real type (what OpenSSL's own
 * OSSL_FUNC_cipher_*() helpers do).
 */
static const struct {
	int id;
	size_t off;
} dc_prov_slots[] = {
	{ OSSL_FUNC_CIPHER_NEWCTX, offsetof(struct dc_prov, newctx) },
	{ OSSL_FUNC_CIPHER_FREECTX, offsetof(struct dc_prov, freectx) },
	{ OSSL_FUNC_CIPHER_ENCRYPT_INIT, offsetof(struct dc_prov, einit) },
	{ OSSL_FUNC_CIPHER_DECRYPT_INIT, offsetof(struct dc_prov, dinit) },
	{ OSSL_FUNC_CIPHER_UPDATE, offsetof(struct dc_prov, update) },
	{ OSSL_FUNC_CIPHER_FINAL, offsetof(struct dc_prov, final) },
	{ OSSL_FUNC_CIPHER_GET_CTX_PARAMS, offsetof(struct dc_prov, get_params) },
	{ OSSL_FUNC_CIPHER_SET_CTX_PARAMS, offsetof(struct dc_prov, set_params) },
};
_Static_assert(sizeof(OSSL_FUNC_cipher_update_fn *) == sizeof(((OSSL_DISPATCH *)0)->function),
	       "provider function pointers are all one size");

/* Does @names (a provider's "A:B:C" list) hold @name? */
static bool dc_name_in(const char *names, const char *name)
{
	size_t n = strlen(name);

	for (const char *q = names; q; q = strchr(q, ':'), q = q ? q + 1 : NULL)
		if (!strncasecmp(q, name, n) && (q[n] == ':' || q[n] == '\0'))
			return true;
	return false;
}

/* The provider functions of cipher @c, all eight or none (dc_prov[c] zeroed). */
static void dc_prov_resolve(enum dc_cipher c)
{
	const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(dc_evp[c]);
	const OSSL_ALGORITHM *algs, *a;
	const OSSL_DISPATCH *d = NULL;
	struct dc_prov *p = &dc_prov[c];
	int no_cache = 0;

	memset(p, 0, sizeof(*p));
	algs = prov ? OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache) : NULL;
	for (a = algs; a && a->algorithm_names; a++)
		if (dc_name_in(a->algorithm_names, dc_ciphers[c].name)) {
			d = a->implementation;
			break;
		}
	for (; d && d->function_id; d++)
		for (size_t i = 0; i < ARRAY_SIZE(dc_prov_slots); i++)
			if (d->function_id == dc_prov_slots[i].id)
				memcpy((char *)p + dc_prov_slots[i].off, &d->function,
				       sizeof(d->function));
	if (algs)
		OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
	p->provctx = prov ? OSSL_PROVIDER_get0_provider_ctx(prov) : NULL;
	if (!p->provctx || !p->newctx || !p->freectx || !p->einit || !p->dinit || !p->update ||
	    !p->final || !p->get_params || !p->set_params)
		memset(p, 0, sizeof(*p));
}

int dc_global_init(void)
{
	for (int c = DC_AES_128_GCM; c < DC_CIPHER_MAX; c++) {
		if (dc_evp[c])
			continue;
		dc_evp[c] = EVP_CIPHER_fetch(NULL, dc_ciphers[c].name, NULL);
		if (dc_evp[c])
			dc_prov_resolve((enum dc_cipher)c);
	}
	ERR_clear_error();
	/* ChaCha20 may be missing (FIPS provider); the GCM pair is the minimum. */
	if (!dc_evp[DC_AES_128_GCM] || !dc_evp[DC_AES_256_GCM]) {
		dc_global_cleanup();
		return -ENOTSUP;
	}
	return 0;
}

void dc_global_cleanup(void)
{
	for (int c = 0; c < DC_CIPHER_MAX; c++) {
		EVP_CIPHER_free(dc_evp[c]);
		dc_evp[c] = NULL;
		memset(&dc_prov[c], 0, sizeof(dc_prov[c]));
	}
}

bool dc_direct_available(enum dc_cipher c)
{
	return c > DC_CIPHER_NONE && c < DC_CIPHER_MAX && dc_prov[c].newctx;
}

void dc_set_direct(bool on)
{
	dc_direct_off = !on;
}

enum dc_cipher dc_cipher_from_name(const char *name)
{
	if (!name)
		return DC_CIPHER_NONE;
	for (int c = DC_AES_128_GCM; c < DC_CIPHER_MAX; c++)
		if (!strcasecmp(name, dc_ciphers[c].name))
			return (enum dc_cipher)c;
	return DC_CIPHER_NONE;
}

const char *dc_cipher_name(enum dc_cipher c)
{
	if (c <= DC_CIPHER_NONE || c >= DC_CIPHER_MAX)
		return "none";
	return dc_ciphers[c].name;
}

unsigned int dc_cipher_key_len(enum dc_cipher c)
{
	if (c <= DC_CIPHER_NONE || c >= DC_CIPHER_MAX)
		return 0;
	return dc_ciphers[c].key_len;
}

static size_t dc_keyslot_size(uint32_t replay_window)
{
	return offsetof(struct dc_keyslot, rx_replay) + replay_size(replay_window);
}

/* Keys one context for one direction; the nonce comes per packet. */
static EVP_CIPHER_CTX *dc_ctx_new(const EVP_CIPHER *cipher, const uint8_t *key, bool enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ok;

	if (!ctx)
		return NULL;
	if (enc)
		ok = EVP_EncryptInit_ex(ctx, cipher, NULL, key, NULL);
	else
		ok = EVP_DecryptInit_ex(ctx, cipher, NULL, key, NULL);
	/* Both AEADs default to a 12-byte nonce; say so rather than trust it. */
	if (ok)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, DC_NONCE_LEN, NULL);
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The direct road's context for one direction, keyed; NULL on failure. */
static void *dc_pctx_new(const struct dc_prov *p, const uint8_t *key, unsigned int key_len,
			 bool enc)
{
	size_t ivlen = DC_NONCE_LEN;
	/* Both AEADs default to a 12-byte nonce; say so rather than trust it. */
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen),
		OSSL_PARAM_construct_end(),
	};
	void *ctx = p->newctx(p->provctx);
	int ok;

	if (!ctx)
		return NULL;
	if (enc)
		ok = p->einit(ctx, key, key_len, NULL, 0, params);
	else
		ok = p->dinit(ctx, key, key_len, NULL, 0, params);
	if (!ok) {
		p->freectx(ctx);	/* the provider's free cleanses the key schedule */
		return NULL;
	}
	return ctx;
}

static int dc_keyslot_check_args(enum dc_cipher c, uint8_t key_id, unsigned int nworkers,
				 uint32_t replay_window, uint32_t replay_time)
{
	if (c <= DC_CIPHER_NONE || c >= DC_CIPHER_MAX)
		return -EINVAL;
	if (key_id >= KEY_ID_COUNT || nworkers == 0 || nworkers > DC_WORKERS_MAX)
		return -EINVAL;
	if (replay_window > REPLAY_WINDOW_MAX || replay_time > REPLAY_TIME_MAX)
		return -EINVAL;
	if (!dc_evp[c])
		return -ENOTSUP;
	return 0;
}

int dc_keyslot_create(struct dc_keyslot **out, enum dc_cipher c, const uint8_t key2[KEY2_LEN],
		      bool is_server, uint8_t key_id, unsigned int nworkers,
		      uint32_t replay_window, uint32_t replay_time, bool replay_strict)
{
	/* §5: the client sends with half 0 and receives with half 1; the server the opposite. */
	const uint8_t *tx_half = key2 + (is_server ? KEY_HALF_LEN : 0);
	const uint8_t *rx_half = key2 + (is_server ? 0 : KEY_HALF_LEN);
	struct dc_keyslot *ks;
	size_t size;
	int rc;

	rc = dc_keyslot_check_args(c, key_id, nworkers, replay_window, replay_time);
	if (rc)
		return rc;
	size = dc_keyslot_size(replay_window);
	if (posix_memalign((void **)&ks, CACHELINE, size))
		return -ENOMEM;
	memset(ks, 0, size);
	ks->gen = __atomic_add_fetch(&dc_gen_last, 1, __ATOMIC_RELAXED);
	ks->key_id = key_id;
	ks->cipher = c;
	ks->is_gcm = c == DC_AES_128_GCM || c == DC_AES_256_GCM;
	ks->is_server = is_server;
	ks->nworkers = nworkers;
	/* Implicit IV = first 8 bytes of the sender's hmac slot. */
	memcpy(ks->enc_iv, tx_half + KEY_CIPHER_SLOT, DC_IMPLICIT_IV_LEN);
	memcpy(ks->dec_iv, rx_half + KEY_CIPHER_SLOT, DC_IMPLICIT_IV_LEN);
	/* Before the contexts: dc_keyslot_free reads the window to size its cleanse. */
	replay_init(&ks->rx_replay, replay_window, replay_time, replay_strict);
	ks->tx_next_pid = 1;
	ks->direct = dc_prov[c].newctx && !dc_direct_off;
	ks->pfree = ks->direct ? dc_prov[c].freectx : NULL;
	for (unsigned int w = 0; w < nworkers; w++) {
		/* Cipher key = first key_len bytes of the cipher slot. */
		if (ks->direct) {
			ks->penc[w] = dc_pctx_new(&dc_prov[c], tx_half, dc_ciphers[c].key_len, true);
			ks->pdec[w] = dc_pctx_new(&dc_prov[c], rx_half, dc_ciphers[c].key_len, false);
			if (!ks->penc[w] || !ks->pdec[w])
				goto err_free;
			continue;
		}
		ks->enc[w] = dc_ctx_new(dc_evp[c], tx_half, true);
		if (!ks->enc[w])
			goto err_free;
		ks->dec[w] = dc_ctx_new(dc_evp[c], rx_half, false);
		if (!ks->dec[w])
			goto err_free;
	}
	*out = ks;
	return 0;

err_free:
	ERR_clear_error();
	dc_keyslot_free(ks);
	return -EIO;
}

void dc_keyslot_free(struct dc_keyslot *ks)
{
	if (!ks)
		return;
	for (unsigned int w = 0; w < DC_WORKERS_MAX; w++) {
		/* EVP_CIPHER_CTX_free and the provider's freectx cleanse the key schedule. */
		EVP_CIPHER_CTX_free(ks->enc[w]);
		EVP_CIPHER_CTX_free(ks->dec[w]);
		if (ks->penc[w])
			ks->pfree(ks->penc[w]);
		if (ks->pdec[w])
			ks->pfree(ks->pdec[w]);
	}
	OPENSSL_cleanse(ks, dc_keyslot_size(ks->rx_replay.window));
	free(ks);
}

static inline void dc_nonce(uint8_t nonce[DC_NONCE_LEN], uint32_t pid, const uint8_t *iv)
{
	store_be32(nonce, pid);
	memcpy(nonce + DC_PID_LEN, iv, DC_IMPLICIT_IV_LEN);
}

/* A data-path OpenSSL failure: counted through the verdict, the error queue dropped. */
static bool dc_fail(struct pkt *p, uint8_t verdict)
{
	ERR_clear_error();
	p->verdict = verdict;
	return false;
}

/* AES-GCM, one packet in place: the short road (see the top of this file). */
static bool dc_gcm_seal(EVP_CIPHER_CTX *ctx, uint8_t *nonce, const uint8_t *aad, int aad_len,
			uint8_t *text, int len, uint8_t *tag)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, DC_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};

	return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, nonce) > 0 &&
	       EVP_Cipher(ctx, NULL, aad, (unsigned int)aad_len) >= 0 &&
	       EVP_Cipher(ctx, text, text, (unsigned int)len) >= 0 &&
	       EVP_Cipher(ctx, NULL, NULL, 0) >= 0 && EVP_CIPHER_CTX_get_params(ctx, p) > 0;
}

/* AES-GCM open: 1 good, 0 bad tag, -1 another failure. */
static int dc_gcm_open(EVP_CIPHER_CTX *ctx, uint8_t *nonce, const uint8_t *aad, int aad_len,
		       uint8_t *text, int len, uint8_t *tag)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, DC_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};

	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, nonce) <= 0 ||
	    EVP_CIPHER_CTX_set_params(ctx, p) <= 0 ||
	    EVP_Cipher(ctx, NULL, aad, (unsigned int)aad_len) < 0 ||
	    EVP_Cipher(ctx, text, text, (unsigned int)len) < 0)
		return -1;
	/* The final call checks the tag: 0 it holds, -1 it does not. */
	return EVP_Cipher(ctx, NULL, NULL, 0) >= 0;
}

/*
 * The direct road, one packet in place (top of file): seals (@enc) or opens
 * the @len bytes at @text, the tag at @tag. 1 done, 0 bad tag (open), -1
 * another failure.
 */
static int dc_direct(const struct dc_prov *pv, void *ctx, bool enc, const uint8_t *nonce,
		     const uint8_t *aad, size_t aad_len, uint8_t *text, size_t len, uint8_t *tag)
{
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, DC_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};
	size_t outl;
	int ok;

	/* Opening takes the expected tag first; sealing reads it out after the final. */
	if (enc)
		ok = pv->einit(ctx, NULL, 0, nonce, DC_NONCE_LEN, NULL);
	else
		ok = pv->dinit(ctx, NULL, 0, nonce, DC_NONCE_LEN, NULL) && pv->set_params(ctx, p);
	/* An update with no output buffer takes AAD; both AEADs finalise with no output. */
	if (!ok || !pv->update(ctx, NULL, &outl, aad_len, aad, aad_len) ||
	    !pv->update(ctx, text, &outl, len, text, len) || outl != len)
		return -1;
	if (!enc)
		return pv->final(ctx, text + len, &outl, 0) ? 1 : 0;	/* checks the tag */
	return pv->final(ctx, text + len, &outl, 0) && pv->get_params(ctx, p) ? 1 : -1;
}

bool dc_seal(const struct dc_keyslot *ks, unsigned int w, struct pkt *p, uint32_t tx_peer_id)
{
	bool is_v1 = tx_peer_id == PEER_ID_NONE;
	uint32_t hdr_len = is_v1 ? P_DATA_V1_HDR_LEN : P_DATA_V2_HDR_LEN;
	uint32_t aad_len = is_v1 ? DC_PID_LEN : P_DATA_V2_HDR_LEN + DC_PID_LEN;
	EVP_CIPHER_CTX *ctx;
	uint8_t nonce[DC_NONCE_LEN];
	uint32_t plain_len = p->len;
	uint8_t *hdr, *aad, *tag, *ct;
	int outl, finl;

	if (unlikely(w >= ks->nworkers))
		return dc_fail(p, DROP_CRYPTO);
	hdr = pkt_push(p, hdr_len + DC_PID_LEN + DC_TAG_LEN);
	if (unlikely(!hdr))
		return dc_fail(p, DROP_CRYPTO);
	if (is_v1)
		hdr[0] = (uint8_t)(P_DATA_V1 << P_OPCODE_SHIFT | ks->key_id);
	else
		store_be32(hdr, (uint32_t)(P_DATA_V2 << P_OPCODE_SHIFT | ks->key_id) << 24 |
					(tx_peer_id & PEER_ID_MASK));
	store_be32(hdr + hdr_len, p->pid);
	/* The AAD ends with the pid: V2 covers the whole header, V1 only the pid. */
	aad = hdr + hdr_len + DC_PID_LEN - aad_len;
	tag = hdr + hdr_len + DC_PID_LEN;
	ct = tag + DC_TAG_LEN;
	dc_nonce(nonce, p->pid, ks->enc_iv);

	if (likely(ks->direct)) {
		if (unlikely(dc_direct(&dc_prov[ks->cipher], ks->penc[w], true, nonce, aad, aad_len,
				       ct, plain_len, tag) <= 0))
			return dc_fail(p, DROP_CRYPTO);
		return true;
	}
	ctx = ks->enc[w];
	if (likely(ks->is_gcm)) {
		if (unlikely(!dc_gcm_seal(ctx, nonce, aad, (int)aad_len, ct, (int)plain_len, tag)))
			return dc_fail(p, DROP_CRYPTO);
		return true;
	}
	if (unlikely(!EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) ||
		     !EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) ||
		     !EVP_EncryptUpdate(ctx, ct, &outl, ct, (int)plain_len) ||
		     !EVP_EncryptFinal_ex(ctx, ct + outl, &finl) ||
		     !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, DC_TAG_LEN, tag)))
		return dc_fail(p, DROP_CRYPTO);
	return true;
}

bool dc_open(const struct dc_keyslot *ks, unsigned int w, struct pkt *p)
{
	bool is_v1 = p->flags & PKT_F_V1;
	uint32_t hdr_len = is_v1 ? P_DATA_V1_HDR_LEN : P_DATA_V2_HDR_LEN;
	uint32_t aad_len = is_v1 ? DC_PID_LEN : P_DATA_V2_HDR_LEN + DC_PID_LEN;
	uint32_t overhead = hdr_len + DC_PID_LEN + DC_TAG_LEN;
	EVP_CIPHER_CTX *ctx;
	uint8_t nonce[DC_NONCE_LEN];
	uint8_t *aad, *tag, *ct;
	uint32_t pid, ct_len;
	int outl, finl;

	if (unlikely(w >= ks->nworkers))
		return dc_fail(p, DROP_CRYPTO);
	if (unlikely(p->len < overhead)) {
		p->verdict = DROP_SHORT;
		return false;
	}
	pid = load_be32(p->data + hdr_len);
	aad = p->data + hdr_len + DC_PID_LEN - aad_len;
	tag = p->data + hdr_len + DC_PID_LEN;
	ct = tag + DC_TAG_LEN;
	ct_len = p->len - overhead;
	dc_nonce(nonce, pid, ks->dec_iv);

	if (likely(ks->direct || ks->is_gcm)) {
		int ok = ks->direct ? dc_direct(&dc_prov[ks->cipher], ks->pdec[w], false, nonce, aad,
						aad_len, ct, ct_len, tag)
				    : dc_gcm_open(ks->dec[w], nonce, aad, (int)aad_len, ct,
						  (int)ct_len, tag);

		if (unlikely(ok < 0))
			return dc_fail(p, DROP_CRYPTO);
		if (unlikely(!ok)) {
			p->verdict = DROP_AUTH;
			return false;
		}
		goto opened;
	}
	ctx = ks->dec[w];
	if (unlikely(!EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) ||
		     !EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) ||
		     !EVP_DecryptUpdate(ctx, ct, &outl, ct, (int)ct_len) ||
		     !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, DC_TAG_LEN, tag)))
		return dc_fail(p, DROP_CRYPTO);
	/* A bad tag is traffic, not an incident: no error queue to drain. */
	if (unlikely(EVP_DecryptFinal_ex(ctx, ct + outl, &finl) <= 0)) {
		p->verdict = DROP_AUTH;
		return false;
	}
opened:
	p->data = ct;
	p->len = ct_len;
	p->pid = pid;
	p->key_gen = ks->gen;
	return true;
}

uint8_t dc_classify(struct pkt *p)
{
	uint8_t op;

	if (unlikely(p->len < 1))
		return DROP_SHORT;
	op = proto_opcode(p->data[0]);
	p->key_id = proto_key_id(p->data[0]);
	if (op == P_DATA_V2) {
		if (unlikely(p->len < DC_V2_OVERHEAD))
			return DROP_SHORT;
		p->flags &= (uint8_t)~PKT_F_V1;
		p->peer_id = proto_peer_id(p->data);
	} else if (op == P_DATA_V1) {
		if (unlikely(p->len < DC_V1_OVERHEAD))
			return DROP_SHORT;
		p->flags |= PKT_F_V1;
		p->peer_id = PEER_ID_NONE;
	} else {
		return DROP_BAD_OPCODE;
	}
	if (unlikely(p->len > pkt_data_room(p)))
		return DROP_OVERSIZE;
	return PKT_OK;
}

uint8_t dc_replay_accept(struct dc_keyslot *ks, uint32_t pid, int64_t now_ns)
{
	if (!replay_check(&ks->rx_replay, pid, now_ns))
		return DROP_REPLAY;
	replay_update(&ks->rx_replay, pid, now_ns);
	return PKT_OK;
}
