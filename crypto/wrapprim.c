/*
 * wrapprim.c - owns the process-wide fetched HMAC, digests and AES-256-CTR
 * of the control-channel wrappings, and the one implementation of their
 * keying and of the tls-auth / tls-crypt packet layouts (openvpn-wire.md
 * §2.2, §2.3; contract and callers in wrapprim.h).
 *
 * Threads: ctrl only. The fetched algorithms are read-only after
 * wrapprim_global_init(); contexts made from them hold their own
 * references, so wrapprim_global_cleanup() may run before they are freed.
 *
 * Receive order, as 2.6's tls_crypt_unwrap/openvpn_decrypt_v1: length,
 * HMAC/tag (CRYPTO_memcmp), and only then plaintext to the caller; a
 * refused tls-crypt packet has its trial decryption wiped from @out.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "wrapprim.h"

struct wrapprim_digest_info {
	const char *name;
	unsigned int len;
};

static const struct wrapprim_digest_info wrapprim_digests[WRAPPRIM_DIGEST_MAX] = {
	[WRAPPRIM_SHA1] = { "SHA1", 20 },
	[WRAPPRIM_SHA256] = { "SHA256", 32 },
	[WRAPPRIM_SHA512] = { "SHA512", 64 },
};

/* Fetched once (STYLE.md §4.10); read-only afterwards. */
static EVP_MAC *wp_hmac;
static EVP_MD *wp_md[WRAPPRIM_DIGEST_MAX];
static EVP_CIPHER *wp_ctr;

int wrapprim_global_init(void)
{
	if (!wp_hmac)
		wp_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	for (int d = 0; d < WRAPPRIM_DIGEST_MAX; d++) {
		if (!wp_md[d])
			wp_md[d] = EVP_MD_fetch(NULL, wrapprim_digests[d].name, NULL);
	}
	if (!wp_ctr)
		wp_ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	ERR_clear_error();
	/* SHA1 or SHA512 may be missing (FIPS); tls-crypt, WKc and cookies need the rest. */
	if (!wp_hmac || !wp_md[WRAPPRIM_SHA256] || !wp_ctr) {
		wrapprim_global_cleanup();
		return -EIO;
	}
	return 0;
}

void wrapprim_global_cleanup(void)
{
	EVP_MAC_free(wp_hmac);
	wp_hmac = NULL;
	for (int d = 0; d < WRAPPRIM_DIGEST_MAX; d++) {
		EVP_MD_free(wp_md[d]);
		wp_md[d] = NULL;
	}
	EVP_CIPHER_free(wp_ctr);
	wp_ctr = NULL;
}

int wrapprim_digest_find(const char *name)
{
	if (!name)
		name = "SHA1";
	for (int d = 0; d < WRAPPRIM_DIGEST_MAX; d++) {
		if (!strcasecmp(name, wrapprim_digests[d].name))
			return wp_md[d] ? d : -1;
	}
	return -1;
}

unsigned int wrapprim_digest_len(enum wrapprim_digest digest)
{
	return wrapprim_digests[digest].len;
}

EVP_MAC_CTX *wrapprim_mac_new(enum wrapprim_digest digest, const uint8_t *key)
{
	unsigned int len = wrapprim_digests[digest].len;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];

	if (!wp_hmac || !wp_md[digest])
		return NULL;
	ctx = EVP_MAC_CTX_new(wp_hmac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(wp_md[digest]), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_init(ctx, key, len, params) == 1 &&
	    EVP_MAC_CTX_get_mac_size(ctx) == len)
		return ctx;
	EVP_MAC_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

EVP_CIPHER_CTX *wrapprim_ctr_new(const uint8_t *key)
{
	EVP_CIPHER_CTX *ctx;

	if (!wp_ctr)
		return NULL;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx && EVP_EncryptInit_ex2(ctx, wp_ctr, key, NULL, NULL) == 1)
		return ctx;
	EVP_CIPHER_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

bool wrapprim_mac3(EVP_MAC_CTX *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
		   size_t blen, const uint8_t *c, size_t clen, uint8_t *mac)
{
	size_t outl = 0, want = EVP_MAC_CTX_get_mac_size(ctx);

	if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(ctx, a, alen) != 1 ||
	    (blen && EVP_MAC_update(ctx, b, blen) != 1) ||
	    (clen && EVP_MAC_update(ctx, c, clen) != 1) ||
	    EVP_MAC_final(ctx, mac, &outl, want) != 1 || outl != want) {
		ERR_clear_error();
		return false;
	}
	return true;
}

bool wrapprim_ctr(EVP_CIPHER_CTX *ctx, const uint8_t *tag, const uint8_t *in, size_t len,
		  uint8_t *out)
{
	int outl = 0;

	if (EVP_EncryptInit_ex2(ctx, NULL, NULL, tag, NULL) != 1 ||
	    (len && EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) != 1) ||
	    (size_t)outl != len) {
		ERR_clear_error();
		return false;
	}
	return true;
}

int wrapprim_keys_auth(struct wrapprim_keys *k, const uint8_t key[KEY2_LEN], int direction,
		       const char *digest)
{
	/* Offsets of the HMAC slots of key halves 0 and 1 (§2.4). */
	static const size_t half_hmac[2] = { KEY_CIPHER_SLOT, KEY_HALF_LEN + KEY_CIPHER_SLOT };
	size_t tx, rx;
	int d, rc;

	memset(k, 0, sizeof(*k));
	if (direction != TLSWRAP_DIR_BIDI && direction != 0 && direction != 1)
		return -EINVAL;
	rc = wrapprim_global_init();
	if (rc)
		return rc;
	d = wrapprim_digest_find(digest);
	if (d < 0)
		return -EINVAL;
	/* Direction 0 sends with half 0, 1 with half 1; none: half 0 both ways. */
	tx = direction == 1 ? half_hmac[1] : half_hmac[0];
	rx = direction == 0 ? half_hmac[1] : half_hmac[0];
	k->tx_mac = wrapprim_mac_new(d, key + tx);
	k->rx_mac = wrapprim_mac_new(d, key + rx);
	if (!k->tx_mac || !k->rx_mac) {
		wrapprim_keys_clear(k);
		return -EIO;
	}
	k->mode = TLSWRAP_TLS_AUTH;
	k->mac_len = wrapprim_digests[d].len;
	return 0;
}

int wrapprim_keys_crypt(struct wrapprim_keys *k, const uint8_t key[KEY2_LEN], bool is_server)
{
	/* Server ("normal") sends with half 0, client ("inverse") with half 1. */
	const uint8_t *tx = key + (is_server ? 0 : KEY_HALF_LEN);
	const uint8_t *rx = key + (is_server ? KEY_HALF_LEN : 0);
	int rc;

	memset(k, 0, sizeof(*k));
	rc = wrapprim_global_init();
	if (rc)
		return rc;
	k->tx_ctr = wrapprim_ctr_new(tx);
	k->rx_ctr = wrapprim_ctr_new(rx);
	k->tx_mac = wrapprim_mac_new(WRAPPRIM_SHA256, tx + KEY_CIPHER_SLOT);
	k->rx_mac = wrapprim_mac_new(WRAPPRIM_SHA256, rx + KEY_CIPHER_SLOT);
	if (!k->tx_ctr || !k->rx_ctr || !k->tx_mac || !k->rx_mac) {
		wrapprim_keys_clear(k);
		return -EIO;
	}
	k->mode = TLSWRAP_TLS_CRYPT;
	k->mac_len = TLS_CRYPT_TAG_SIZE;
	return 0;
}

int wrapprim_keys_rekey_crypt(struct wrapprim_keys *k, const uint8_t key[KEY2_LEN],
			      bool is_server)
{
	const uint8_t *tx = key + (is_server ? 0 : KEY_HALF_LEN);
	const uint8_t *rx = key + (is_server ? KEY_HALF_LEN : 0);

	if (k->mode != TLSWRAP_TLS_CRYPT)
		return -EINVAL;
	/* NULL cipher and params: the contexts keep AES-256-CTR and SHA256. */
	if (EVP_EncryptInit_ex2(k->tx_ctr, NULL, tx, NULL, NULL) != 1 ||
	    EVP_EncryptInit_ex2(k->rx_ctr, NULL, rx, NULL, NULL) != 1 ||
	    EVP_MAC_init(k->tx_mac, tx + KEY_CIPHER_SLOT, TLS_CRYPT_TAG_SIZE, NULL) != 1 ||
	    EVP_MAC_init(k->rx_mac, rx + KEY_CIPHER_SLOT, TLS_CRYPT_TAG_SIZE, NULL) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

void wrapprim_keys_clear(struct wrapprim_keys *k)
{
	EVP_MAC_CTX_free(k->tx_mac);
	EVP_MAC_CTX_free(k->rx_mac);
	EVP_CIPHER_CTX_free(k->tx_ctr);
	EVP_CIPHER_CTX_free(k->rx_ctr);
	memset(k, 0, sizeof(*k));
}

size_t wrapprim_overhead(const struct wrapprim_keys *k)
{
	return k->mode == TLSWRAP_NONE ? 0 : k->mac_len + TLS_WRAP_PID_LEN;
}

int wrapprim_check_ctl(const uint8_t *in, size_t len)
{
	if (len < CTL_HDR_LEN || len > WRAPPRIM_PLAIN_MAX)
		return TLSWRAP_ERR_LEN;
	if (proto_is_data(proto_opcode(in[0])))
		return TLSWRAP_ERR_OPCODE;
	return 0;
}

/* tls-auth: [op][sid][HMAC][pid][time][rest], HMAC over pid||time||op||sid||rest. */
static int wrapprim_auth_seal(struct wrapprim_keys *k, const uint8_t *in, size_t len,
			      uint8_t *out, uint32_t pid, uint32_t time)
{
	uint8_t *pidp = out + CTL_HDR_LEN + k->mac_len;
	uint8_t mac[WRAPPRIM_MAC_MAX];

	store_be32(pidp, pid);
	store_be32(pidp + 4, time);
	memcpy(pidp + TLS_WRAP_PID_LEN, in + CTL_HDR_LEN, len - CTL_HDR_LEN);
	if (!wrapprim_mac3(k->tx_mac, pidp, TLS_WRAP_PID_LEN, in, CTL_HDR_LEN, in + CTL_HDR_LEN,
			   len - CTL_HDR_LEN, mac))
		return TLSWRAP_ERR_CRYPTO;
	memcpy(out + CTL_HDR_LEN, mac, k->mac_len);
	return (int)(len + k->mac_len + TLS_WRAP_PID_LEN);
}

/* tls-crypt: [op][sid][pid][time][tag][CTR(rest)], tag over header(17)||rest. */
static int wrapprim_crypt_seal(struct wrapprim_keys *k, const uint8_t *in, size_t len,
			       uint8_t *out, uint32_t pid, uint32_t time)
{
	size_t body = len - CTL_HDR_LEN;
	uint8_t *tag = out + TLS_CRYPT_OFF_TAG;

	store_be32(out + TLS_CRYPT_OFF_PID, pid);
	store_be32(out + TLS_CRYPT_OFF_PID + 4, time);
	if (!wrapprim_mac3(k->tx_mac, out, TLS_CRYPT_OFF_TAG, in + CTL_HDR_LEN, body, NULL, 0,
			   tag) ||
	    !wrapprim_ctr(k->tx_ctr, tag, in + CTL_HDR_LEN, body, out + TLS_CRYPT_OFF_CT))
		return TLSWRAP_ERR_CRYPTO;
	return (int)(TLS_CRYPT_OFF_CT + body);
}

int wrapprim_seal(struct wrapprim_keys *k, const uint8_t *in, size_t len, uint8_t *out,
		  uint32_t pid, uint32_t time)
{
	memcpy(out, in, CTL_HDR_LEN);
	switch (k->mode) {
	case TLSWRAP_TLS_AUTH:
		return wrapprim_auth_seal(k, in, len, out, pid, time);
	case TLSWRAP_TLS_CRYPT:
		return wrapprim_crypt_seal(k, in, len, out, pid, time);
	default:
		memcpy(out + CTL_HDR_LEN, in + CTL_HDR_LEN, len - CTL_HDR_LEN);
		return (int)len;
	}
}

static int wrapprim_auth_open(struct wrapprim_keys *k, const uint8_t *in, size_t len,
			      uint8_t *out, size_t cap, const uint8_t **pidp)
{
	size_t hdr = CTL_HDR_LEN + k->mac_len + TLS_WRAP_PID_LEN;
	uint8_t mac[WRAPPRIM_MAC_MAX];

	if (len < hdr)
		return TLSWRAP_ERR_LEN;
	if (len - k->mac_len - TLS_WRAP_PID_LEN > cap)
		return TLSWRAP_ERR_NOSPC;
	*pidp = in + CTL_HDR_LEN + k->mac_len;
	if (!wrapprim_mac3(k->rx_mac, *pidp, TLS_WRAP_PID_LEN, in, CTL_HDR_LEN, in + hdr,
			   len - hdr, mac))
		return TLSWRAP_ERR_CRYPTO;
	if (CRYPTO_memcmp(mac, in + CTL_HDR_LEN, k->mac_len))
		return TLSWRAP_ERR_AUTH;
	memcpy(out, in, CTL_HDR_LEN);
	memcpy(out + CTL_HDR_LEN, in + hdr, len - hdr);
	return (int)(len - k->mac_len - TLS_WRAP_PID_LEN);
}

static int wrapprim_crypt_open(struct wrapprim_keys *k, const uint8_t *in, size_t len,
			       uint8_t *out, size_t cap, const uint8_t **pidp)
{
	const uint8_t *tag = in + TLS_CRYPT_OFF_TAG;
	uint8_t mac[WRAPPRIM_MAC_MAX];
	size_t body;
	int rc = TLSWRAP_ERR_CRYPTO;

	if (len < TLS_CRYPT_OFF_CT)
		return TLSWRAP_ERR_LEN;
	body = len - TLS_CRYPT_OFF_CT;
	if (CTL_HDR_LEN + body > cap)
		return TLSWRAP_ERR_NOSPC;
	*pidp = in + TLS_CRYPT_OFF_PID;
	if (!wrapprim_ctr(k->rx_ctr, tag, in + TLS_CRYPT_OFF_CT, body, out + CTL_HDR_LEN) ||
	    !wrapprim_mac3(k->rx_mac, in, TLS_CRYPT_OFF_TAG, out + CTL_HDR_LEN, body, NULL, 0,
			   mac))
		goto err;
	rc = TLSWRAP_ERR_AUTH;
	if (CRYPTO_memcmp(mac, tag, TLS_CRYPT_TAG_SIZE))
		goto err;
	memcpy(out, in, CTL_HDR_LEN);
	return (int)(CTL_HDR_LEN + body);

err:
	/* Unauthenticated plaintext must not reach the caller. */
	OPENSSL_cleanse(out + CTL_HDR_LEN, body);
	return rc;
}

int wrapprim_open(struct wrapprim_keys *k, const uint8_t *in, size_t len, uint8_t *out,
		  size_t cap, uint32_t *pid, uint32_t *time)
{
	const uint8_t *pidp = NULL;
	int rc;

	*pid = 0;
	*time = 0;
	switch (k->mode) {
	case TLSWRAP_TLS_AUTH:
		rc = wrapprim_auth_open(k, in, len, out, cap, &pidp);
		break;
	case TLSWRAP_TLS_CRYPT:
		rc = wrapprim_crypt_open(k, in, len, out, cap, &pidp);
		break;
	default:
		if (len > cap)
			return TLSWRAP_ERR_NOSPC;
		memcpy(out, in, len);
		return (int)len;
	}
	if (rc >= 0) {
		*pid = load_be32(pidp);
		*time = load_be32(pidp + 4);
	}
	return rc;
}
