/*
 * tlsfirst.c - owns the stateless wrapping of a UDP server's first packets
 * (why it exists: tlsfirst.h). Layouts as tlswrap.c, keyed the same way;
 * the one difference is that nothing here remembers a replay packet-id.
 *
 * Threads: ctrl only. Algorithms are fetched per constructor (a few times
 * per process), the contexts keyed once; per packet only the HMAC restarts
 * and the CTR IV changes. Receive order: length, HMAC/tag (CRYPTO_memcmp),
 * and only then plaintext to the caller. Nothing is logged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "tlsfirst.h"

#define TF_MAC_MAX	64	/* SHA512 */
#define TF_CTR_KEY_LEN	32
#define TF_PLAIN_MAX	UINT16_MAX

struct tlsfirst {
	enum tlswrap_mode mode;
	unsigned int mac_len;		/* tls-auth H, or 32 for tls-crypt */
	EVP_MAC_CTX *tx_mac, *rx_mac;
	EVP_CIPHER_CTX *tx_ctr, *rx_ctr;	/* tls-crypt only */
};

/* An HMAC context with @digest keyed by the first @key_len bytes of @key. */
static EVP_MAC_CTX *tf_mac_new(const char *digest, const uint8_t *key, size_t key_len)
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[2];

	EVP_MAC_free(hmac);		/* the context keeps its own reference */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_init(ctx, key, key_len, params) == 1 &&
	    EVP_MAC_CTX_get_mac_size(ctx) == key_len)
		return ctx;
	EVP_MAC_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

static EVP_CIPHER_CTX *tf_ctr_new(const uint8_t *key)
{
	EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	EVP_CIPHER_CTX *ctx = aes ? EVP_CIPHER_CTX_new() : NULL;

	if (ctx && EVP_EncryptInit_ex2(ctx, aes, key, NULL, NULL) == 1) {
		EVP_CIPHER_free(aes);
		return ctx;
	}
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(aes);
	ERR_clear_error();
	return NULL;
}

static int tf_alloc(struct tlsfirst **out, enum tlswrap_mode mode)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->mode = mode;
	return 0;
}

void tlsfirst_free(struct tlsfirst *t)
{
	if (!t)
		return;
	EVP_MAC_CTX_free(t->tx_mac);
	EVP_MAC_CTX_free(t->rx_mac);
	EVP_CIPHER_CTX_free(t->tx_ctr);
	EVP_CIPHER_CTX_free(t->rx_ctr);
	free(t);
}

int tlsfirst_create_none(struct tlsfirst **out)
{
	return tf_alloc(out, TLSWRAP_NONE);
}

int tlsfirst_create_auth(struct tlsfirst **out, const uint8_t key[KEY2_LEN], int direction,
			 const char *digest)
{
	static const struct {
		const char *name;
		unsigned int len;
	} digests[] = { { "SHA1", 20 }, { "SHA256", 32 }, { "SHA512", 64 } };
	/* HMAC slots of key halves 0 and 1 (§2.4); direction rules of §2.2. */
	size_t tx = direction == 1 ? KEY_HALF_LEN + KEY_CIPHER_SLOT : KEY_CIPHER_SLOT;
	size_t rx = direction == 0 ? KEY_HALF_LEN + KEY_CIPHER_SLOT : KEY_CIPHER_SLOT;
	struct tlsfirst *t;
	int d, rc;

	*out = NULL;
	if (direction != TLSWRAP_DIR_BIDI && direction != 0 && direction != 1)
		return -EINVAL;
	for (d = 0; d < (int)ARRAY_SIZE(digests); d++) {
		if (!strcasecmp(digest ? digest : "SHA1", digests[d].name))
			break;
	}
	if (d == (int)ARRAY_SIZE(digests))
		return -EINVAL;
	rc = tf_alloc(&t, TLSWRAP_TLS_AUTH);
	if (rc)
		return rc;
	t->mac_len = digests[d].len;
	t->tx_mac = tf_mac_new(digests[d].name, key + tx, t->mac_len);
	t->rx_mac = tf_mac_new(digests[d].name, key + rx, t->mac_len);
	if (!t->tx_mac || !t->rx_mac) {
		tlsfirst_free(t);
		return -EIO;
	}
	*out = t;
	return 0;
}

int tlsfirst_create_crypt(struct tlsfirst **out, const uint8_t key[KEY2_LEN])
{
	/* Server, "normal" direction: send with half 0, receive with half 1. */
	const uint8_t *tx = key, *rx = key + KEY_HALF_LEN;
	struct tlsfirst *t;
	int rc;

	rc = tf_alloc(&t, TLSWRAP_TLS_CRYPT);
	if (rc)
		return rc;
	t->mac_len = TLS_CRYPT_TAG_SIZE;
	t->tx_ctr = tf_ctr_new(tx);
	t->rx_ctr = tf_ctr_new(rx);
	t->tx_mac = tf_mac_new("SHA256", tx + KEY_CIPHER_SLOT, TLS_CRYPT_TAG_SIZE);
	t->rx_mac = tf_mac_new("SHA256", rx + KEY_CIPHER_SLOT, TLS_CRYPT_TAG_SIZE);
	if (!t->tx_ctr || !t->rx_ctr || !t->tx_mac || !t->rx_mac) {
		tlsfirst_free(t);
		return -EIO;
	}
	*out = t;
	return 0;
}

int tlsfirst_rekey_crypt(struct tlsfirst *t, const uint8_t key[KEY2_LEN])
{
	const uint8_t *tx = key, *rx = key + KEY_HALF_LEN;

	if (t->mode != TLSWRAP_TLS_CRYPT)
		return -EINVAL;
	if (EVP_EncryptInit_ex2(t->tx_ctr, NULL, tx, NULL, NULL) != 1 ||
	    EVP_EncryptInit_ex2(t->rx_ctr, NULL, rx, NULL, NULL) != 1 ||
	    EVP_MAC_init(t->tx_mac, tx + KEY_CIPHER_SLOT, TLS_CRYPT_TAG_SIZE, NULL) != 1 ||
	    EVP_MAC_init(t->rx_mac, rx + KEY_CIPHER_SLOT, TLS_CRYPT_TAG_SIZE, NULL) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

enum tlswrap_mode tlsfirst_mode_get(const struct tlsfirst *t)
{
	return t->mode;
}

static bool tf_mac3(EVP_MAC_CTX *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
		    size_t blen, const uint8_t *c, size_t clen, uint8_t mac[TF_MAC_MAX])
{
	size_t outl = 0;

	if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(ctx, a, alen) != 1 ||
	    (blen && EVP_MAC_update(ctx, b, blen) != 1) ||
	    (clen && EVP_MAC_update(ctx, c, clen) != 1) ||
	    EVP_MAC_final(ctx, mac, &outl, TF_MAC_MAX) != 1) {
		ERR_clear_error();
		return false;
	}
	return true;
}

static bool tf_ctr(EVP_CIPHER_CTX *ctx, const uint8_t *tag, const uint8_t *in, size_t len,
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

/* tls-auth: [op][sid][HMAC][pid][time][rest], HMAC over pid||time||op||sid||rest. */
static int tf_auth_open(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out,
			size_t cap, const uint8_t **pidp)
{
	size_t hdr = CTL_HDR_LEN + t->mac_len + TLS_WRAP_PID_LEN;
	uint8_t mac[TF_MAC_MAX];

	if (len < hdr)
		return TLSWRAP_ERR_LEN;
	if (len - t->mac_len - TLS_WRAP_PID_LEN > cap)
		return TLSWRAP_ERR_NOSPC;
	*pidp = in + CTL_HDR_LEN + t->mac_len;
	if (!tf_mac3(t->rx_mac, *pidp, TLS_WRAP_PID_LEN, in, CTL_HDR_LEN, in + hdr, len - hdr, mac))
		return TLSWRAP_ERR_CRYPTO;
	if (CRYPTO_memcmp(mac, in + CTL_HDR_LEN, t->mac_len))
		return TLSWRAP_ERR_AUTH;
	memcpy(out, in, CTL_HDR_LEN);
	memcpy(out + CTL_HDR_LEN, in + hdr, len - hdr);
	return (int)(len - t->mac_len - TLS_WRAP_PID_LEN);
}

/* tls-crypt: [op][sid][pid][time][tag][CTR(rest)], tag over header(17)||rest. */
static int tf_crypt_open(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out,
			 size_t cap, const uint8_t **pidp)
{
	const uint8_t *tag = in + TLS_CRYPT_OFF_TAG;
	uint8_t mac[TF_MAC_MAX];
	size_t body;
	int rc = TLSWRAP_ERR_CRYPTO;

	if (len < TLS_CRYPT_OFF_CT)
		return TLSWRAP_ERR_LEN;
	body = len - TLS_CRYPT_OFF_CT;
	if (CTL_HDR_LEN + body > cap)
		return TLSWRAP_ERR_NOSPC;
	*pidp = in + TLS_CRYPT_OFF_PID;
	if (!tf_ctr(t->rx_ctr, tag, in + TLS_CRYPT_OFF_CT, body, out + CTL_HDR_LEN) ||
	    !tf_mac3(t->rx_mac, in, TLS_CRYPT_OFF_TAG, out + CTL_HDR_LEN, body, NULL, 0, mac))
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

int tlsfirst_open(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		  uint32_t *pid, uint32_t *time)
{
	const uint8_t *pidp = NULL;
	int rc;

	*pid = 0;
	*time = 0;
	if (len < CTL_HDR_LEN || len > TF_PLAIN_MAX)
		return TLSWRAP_ERR_LEN;
	if (proto_is_data(proto_opcode(in[0])))
		return TLSWRAP_ERR_OPCODE;
	switch (t->mode) {
	case TLSWRAP_TLS_AUTH:
		rc = tf_auth_open(t, in, len, out, cap, &pidp);
		break;
	case TLSWRAP_TLS_CRYPT:
		rc = tf_crypt_open(t, in, len, out, cap, &pidp);
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

int tlsfirst_seal(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		  uint32_t pid, uint32_t time)
{
	size_t body = len - CTL_HDR_LEN, over;
	uint8_t mac[TF_MAC_MAX];
	uint8_t *pidp;

	if (len < CTL_HDR_LEN || len > TF_PLAIN_MAX)
		return TLSWRAP_ERR_LEN;
	if (proto_is_data(proto_opcode(in[0])))
		return TLSWRAP_ERR_OPCODE;
	over = t->mode == TLSWRAP_NONE ? 0 : t->mac_len + TLS_WRAP_PID_LEN;
	if (len + over > cap)
		return TLSWRAP_ERR_NOSPC;
	memcpy(out, in, CTL_HDR_LEN);
	switch (t->mode) {
	case TLSWRAP_TLS_AUTH:
		pidp = out + CTL_HDR_LEN + t->mac_len;
		store_be32(pidp, pid);
		store_be32(pidp + 4, time);
		memcpy(pidp + TLS_WRAP_PID_LEN, in + CTL_HDR_LEN, body);
		if (!tf_mac3(t->tx_mac, pidp, TLS_WRAP_PID_LEN, in, CTL_HDR_LEN, in + CTL_HDR_LEN,
			     body, mac))
			return TLSWRAP_ERR_CRYPTO;
		memcpy(out + CTL_HDR_LEN, mac, t->mac_len);
		break;
	case TLSWRAP_TLS_CRYPT:
		store_be32(out + TLS_CRYPT_OFF_PID, pid);
		store_be32(out + TLS_CRYPT_OFF_PID + 4, time);
		if (!tf_mac3(t->tx_mac, out, TLS_CRYPT_OFF_TAG, in + CTL_HDR_LEN, body, NULL, 0,
			     mac))
			return TLSWRAP_ERR_CRYPTO;
		memcpy(out + TLS_CRYPT_OFF_TAG, mac, TLS_CRYPT_TAG_SIZE);
		if (!tf_ctr(t->tx_ctr, mac, in + CTL_HDR_LEN, body, out + TLS_CRYPT_OFF_CT))
			return TLSWRAP_ERR_CRYPTO;
		break;
	default:
		memcpy(out + CTL_HDR_LEN, in + CTL_HDR_LEN, body);
		break;
	}
	return (int)(len + over);
}
