/*
 * wkc.c - owns the tls-crypt-v2 server key contexts and the WKc format
 * (openvpn-wire.md §2.5; layout in wkc.h).
 *
 * Threads: ctrl only. The HMAC and AES-256-CTR contexts (wrapprim.h, the
 * same primitives as tls-crypt's) are keyed once in wkc_server_create; per
 * WKc only the HMAC restarts and the CTR IV changes.
 * Unwrap order as OpenVPN's tls_crypt_v2_unwrap_client_key: length field,
 * decrypt, tag over len || plaintext, CRYPTO_memcmp; plaintext reaches the
 * caller only after the tag matched. Nothing is logged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "wkc.h"
#include "wrapprim.h"

#define WKC_KE_OFF		0
#define WKC_KA_OFF		KEY_CIPHER_SLOT	/* 64 */
#define WKC_KE_LEN		32	/* AES-256 */
#define WKC_KA_LEN		32	/* HMAC-SHA256 key, as OpenVPN takes it */
#define WKC_IV_LEN		16	/* first 128 bits of the tag */

static const char wkc_server_pem_name[] = "OpenVPN tls-crypt-v2 server key";

struct wkc_server {
	EVP_MAC_CTX *mac;
	EVP_CIPHER_CTX *ctr;
};

int wkc_server_key_parse(const char *pem, uint8_t key[WKC_SERVER_KEY_LEN])
{
	unsigned char *der = NULL;
	char *name = NULL;
	long der_len = 0;
	BIO *bio;
	int ok, rc = -EINVAL;

	if (!pem)
		return -EINVAL;
	bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return -ENOMEM;
	ok = PEM_bytes_read_bio(&der, &der_len, &name, wkc_server_pem_name, bio, NULL, NULL);
	BIO_free(bio);
	OPENSSL_free(name);
	ERR_clear_error();
	if (ok == 1 && der_len == WKC_SERVER_KEY_LEN) {
		memcpy(key, der, WKC_SERVER_KEY_LEN);
		rc = 0;
	}
	if (der)
		OPENSSL_clear_free(der, der_len > 0 ? (size_t)der_len : 0);
	return rc;
}

int wkc_server_create(struct wkc_server **out, const uint8_t key[WKC_SERVER_KEY_LEN])
{
	struct wkc_server *s;
	int rc;

	_Static_assert(WKC_KE_LEN == WRAPPRIM_CTR_KEY_LEN, "Ke is an AES-256 key");
	_Static_assert(WKC_KA_LEN == WKC_TAG_LEN, "Ka: HMAC-SHA256 takes a key as long as its output");
	*out = NULL;
	rc = wrapprim_global_init();
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mac = wrapprim_mac_new(WRAPPRIM_SHA256, key + WKC_KA_OFF);
	s->ctr = wrapprim_ctr_new(key + WKC_KE_OFF);
	if (!s->mac || !s->ctr) {
		wkc_server_free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void wkc_server_free(struct wkc_server *s)
{
	if (!s)
		return;
	/* The contexts hold the key schedule; freeing them cleanses it. */
	EVP_MAC_CTX_free(s->mac);
	EVP_CIPHER_CTX_free(s->ctr);
	free(s);
}

/* T = HMAC-SHA256(Ka, len_be || plain). */
static bool wkc_tag(struct wkc_server *s, const uint8_t len_be[WKC_LEN_LEN], const uint8_t *plain,
		    size_t plain_len, uint8_t tag[WKC_TAG_LEN])
{
	return wrapprim_mac3(s->mac, len_be, WKC_LEN_LEN, plain, plain_len, NULL, 0, tag);
}

/* AES-256-CTR(Ke, IV = tag[0..15]); encrypt and decrypt are the same. */
static bool wkc_ctr(struct wkc_server *s, const uint8_t *tag, const uint8_t *in, size_t len,
		    uint8_t *out)
{
	return wrapprim_ctr(s->ctr, tag, in, len, out);
}

int wkc_unwrap(struct wkc_server *s, const uint8_t *wkc, size_t len, struct wkc_client *c)
{
	uint8_t plain[TLS_CRYPT_V2_MAX_WKC_LEN];
	uint8_t tag[WKC_TAG_LEN];
	size_t plain_len;
	int rc = WKC_ERR_CRYPTO;

	if (len < WKC_MIN_LEN || len > TLS_CRYPT_V2_MAX_WKC_LEN || load_be16(wkc + len - 2) != len) {
		OPENSSL_cleanse(c, sizeof(*c));
		return WKC_ERR_LEN;
	}
	plain_len = len - WKC_TAG_LEN - WKC_LEN_LEN;
	if (!wkc_ctr(s, wkc, wkc + WKC_TAG_LEN, plain_len, plain) ||
	    !wkc_tag(s, wkc + len - WKC_LEN_LEN, plain, plain_len, tag))
		goto out;
	rc = WKC_ERR_AUTH;
	if (CRYPTO_memcmp(tag, wkc, WKC_TAG_LEN))
		goto out;
	memcpy(c->kc, plain, TLS_CRYPT_V2_CLIENT_KEY_LEN);
	c->meta_len = plain_len - TLS_CRYPT_V2_CLIENT_KEY_LEN;
	memcpy(c->meta, plain + TLS_CRYPT_V2_CLIENT_KEY_LEN, c->meta_len);
	rc = 0;
out:
	OPENSSL_cleanse(plain, sizeof(plain));
	if (rc)
		OPENSSL_cleanse(c, sizeof(*c));
	return rc;
}

int wkc_wrap(struct wkc_server *s, const uint8_t kc[TLS_CRYPT_V2_CLIENT_KEY_LEN],
	     const uint8_t *meta, size_t meta_len, uint8_t *out, size_t cap)
{
	uint8_t plain[TLS_CRYPT_V2_MAX_WKC_LEN];
	size_t plain_len = TLS_CRYPT_V2_CLIENT_KEY_LEN + meta_len;
	size_t len = WKC_MIN_LEN + meta_len;
	int rc = WKC_ERR_CRYPTO;

	if (meta_len > WKC_META_MAX || (meta_len && !meta))
		return -EINVAL;
	if (len > cap)
		return -ENOBUFS;
	memcpy(plain, kc, TLS_CRYPT_V2_CLIENT_KEY_LEN);
	if (meta_len)
		memcpy(plain + TLS_CRYPT_V2_CLIENT_KEY_LEN, meta, meta_len);
	store_be16(out + len - WKC_LEN_LEN, (uint16_t)len);
	if (wkc_tag(s, out + len - WKC_LEN_LEN, plain, plain_len, out) &&
	    wkc_ctr(s, out, plain, plain_len, out + WKC_TAG_LEN))
		rc = (int)len;
	OPENSSL_cleanse(plain, sizeof(plain));
	return rc;
}

bool wkc_meta_timestamp(const struct wkc_client *c, uint64_t *unix_sec)
{
	if (c->meta_len != 1 + 8 || c->meta[0] != WKC_META_TYPE_TIMESTAMP)
		return false;
	*unix_sec = (uint64_t)load_be32(c->meta + 1) << 32 | load_be32(c->meta + 5);
	return true;
}
