/*
 * wkc_test.c - tls-crypt-v2 server side (crypto/wkc.h, openvpn-wire.md §2.5).
 *
 * 1. A WKc built here by an independent computation (one-shot EVP_Q_mac and
 *    a fresh AES-256-CTR context, laid out by hand) unwraps to its Kc and
 *    metadata, and wkc_wrap reproduces its bytes exactly.
 * 2. Table of refusals T(mutation, expected error): trailing length off by
 *    one either way, below the minimum, above TLS_CRYPT_V2_MAX_WKC_LEN,
 *    flipped tag / ciphertext / length bits, a WKc from another server key.
 * 3. Keys from `openvpn --genkey tls-crypt-v2-server` / `tls-crypt-v2-client`
 *    (skipped with a message if openvpn is missing): our parser reads the
 *    server key and unwraps the client's WKc to the Kc in its key file, with
 *    a timestamp metadata close to now.
 * 4. Server key PEM parsing: missing block, wrong size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../crypto/wkc.h"
#include "harness.h"
#include "pki.h"

static uint8_t skey[WKC_SERVER_KEY_LEN], kc[KEY2_LEN];
static struct wkc_client client;

/* WKc = T || CTR(Ke, T[0..15], Kc || meta) || len, T = HMAC(Ka, len || Kc || meta). */
static size_t independent_wkc(const uint8_t *meta, size_t meta_len, uint8_t *out)
{
	uint8_t plain[1024];
	size_t len = 32 + KEY2_LEN + meta_len + 2, plen = KEY2_LEN + meta_len, maclen = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0;

	out[len - 2] = (uint8_t)(len >> 8);
	out[len - 1] = (uint8_t)len;
	memcpy(plain, out + len - 2, 2);
	memcpy(plain + 2, kc, KEY2_LEN);
	memcpy(plain + 2 + KEY2_LEN, meta, meta_len);
	EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, skey + 64, 32, plain, plen + 2, out, 32,
		  &maclen);
	EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, skey, out);
	EVP_EncryptUpdate(ctx, out + 32, &outl, plain + 2, (int)plen);
	EVP_CIPHER_CTX_free(ctx);
	if (maclen != 32 || (size_t)outl != plen)
		printf("independent_wkc: OpenSSL failed\n");
	return len;
}

static void test_independent(struct wkc_server *s)
{
	static const uint8_t meta[9] = { 0x01, 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00 };
	static uint8_t w[1100], w2[1100];
	uint64_t ts = 0;
	size_t len = independent_wkc(meta, sizeof(meta), w);
	int n;

	CHECK(len == WKC_DEFAULT_LEN, "default WKc is %zu bytes", len);
	CHECK(!wkc_unwrap(s, w, len, &client), "independent WKc refused");
	CHECK(!memcmp(client.kc, kc, KEY2_LEN), "Kc differs");
	CHECK(client.meta_len == 9 && !memcmp(client.meta, meta, 9), "metadata differs");
	CHECK(wkc_meta_timestamp(&client, &ts) && ts == 0x6553f100, "timestamp %llu",
	      (unsigned long long)ts);
	n = wkc_wrap(s, kc, meta, sizeof(meta), w2, sizeof(w2));
	CHECK(n == (int)len && !memcmp(w, w2, len), "wkc_wrap != independent bytes");
	/* No metadata, and the largest metadata. */
	len = independent_wkc(meta, 0, w);
	CHECK(len == WKC_MIN_LEN && !wkc_unwrap(s, w, len, &client) && client.meta_len == 0 &&
		      !wkc_meta_timestamp(&client, &ts),
	      "WKc without metadata");
	memset(w2, 0xab, WKC_META_MAX);
	len = independent_wkc(w2, WKC_META_MAX, w);
	CHECK(len == TLS_CRYPT_V2_MAX_WKC_LEN && !wkc_unwrap(s, w, len, &client) &&
		      client.meta_len == WKC_META_MAX && client.meta[WKC_META_MAX - 1] == 0xab,
	      "largest WKc");
	CHECK(wkc_wrap(s, kc, w2, WKC_META_MAX + 1, w, sizeof(w)) == -EINVAL, "meta too long");
	CHECK(wkc_wrap(s, kc, meta, 9, w, 298) == -ENOBUFS, "small buffer");
}

static void test_refusals(struct wkc_server *s, struct wkc_server *other)
{
	static const uint8_t meta[9] = { 0x01, 1, 2, 3, 4, 5, 6, 7, 8 };
	static uint8_t good[1100], w[1100];
	size_t glen = independent_wkc(meta, sizeof(meta), good), len;
	int n = 0, rc;

#define T(mutate, expect)                                                              \
	do {                                                                            \
		n++;                                                                    \
		memcpy(w, good, sizeof(w));                                             \
		len = glen;                                                             \
		mutate;                                                                 \
		memset(&client, 0x5a, sizeof(client));                                  \
		rc = wkc_unwrap(s, w, len, &client);                                    \
		CHECK(rc == (expect), "refusal case %d: got %d want %d", n, rc, expect); \
		if (rc)                                                                 \
			CHECK(client.kc[0] == 0 && client.meta_len == 0,                \
			      "refusal case %d left key bytes", n);                     \
	} while (0)

	T((void)0, 0);							/* 1 */
	T(w[len - 1]++, WKC_ERR_LEN);					/* 2 len + 1 */
	T(w[len - 1]--, WKC_ERR_LEN);					/* 3 len - 1 */
	/* 4: one metadata byte cut, length field fixed: the length is authenticated. */
	T((len = len - 1, w[len - 2] = good[glen - 2], w[len - 1] = (uint8_t)len), WKC_ERR_AUTH);
	T((len = WKC_MIN_LEN - 1, w[len - 2] = 0, w[len - 1] = (uint8_t)len), WKC_ERR_LEN);
									/* 5 below minimum */
	T((len = 1025, w[len - 2] = 4, w[len - 1] = 1), WKC_ERR_LEN);	/* 6 above 1024 */
	T((len = 0), WKC_ERR_LEN);					/* 7 (no read at len-2) */
	T(w[0] ^= 1, WKC_ERR_AUTH);					/* 8 tag */
	T(w[31] ^= 0x80, WKC_ERR_AUTH);					/* 9 tag end */
	T(w[32] ^= 1, WKC_ERR_AUTH);					/* 10 ciphertext Kc */
	T(w[glen - 3] ^= 1, WKC_ERR_AUTH);				/* 11 ciphertext meta */
	/* 12: one byte cut, length field high byte lost: disagrees with the size. */
	T((len = glen - 1, w[len - 2] = 0, w[len - 1] = (uint8_t)len), WKC_ERR_LEN);
#undef T
	CHECK(wkc_unwrap(other, good, glen, &client) == WKC_ERR_AUTH, "another server key");
	/* Every single-bit flip of the default WKc is refused. */
	for (size_t bit = 0; bit < glen * 8; bit++) {
		memcpy(w, good, glen);
		w[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		if (!wkc_unwrap(s, w, glen, &client)) {
			CHECK(0, "bit %zu flip accepted", bit);
			break;
		}
	}
}

/* 3: keys from the real openvpn binary. */
static void test_openvpn(void)
{
	char cmd[512];
	uint8_t key[WKC_SERVER_KEY_LEN];
	unsigned char *der = NULL;
	char *name = NULL, *pem;
	struct wkc_server *s = NULL;
	long der_len = 0;
	uint64_t ts = 0;
	BIO *bio;

	if (system("command -v openvpn >/dev/null 2>&1")) {
		printf("wkc_test: openvpn not found, skipping the openvpn --genkey cases\n");
		return;
	}
	pki_dir_make("wkc");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openvpn --genkey tls-crypt-v2-server s.key >/dev/null 2>&1 && "
		 "openvpn --genkey tls-crypt-v2-client c.key --tls-crypt-v2 s.key >/dev/null 2>&1",
		 pki_dir);
	if (system(cmd)) {
		CHECK(0, "openvpn --genkey failed");
		goto out;
	}
	pem = pki_slurp("s.key");
	CHECK(pem && !wkc_server_key_parse(pem, key), "server key from openvpn");
	CHECK(!wkc_server_create(&s, key), "server create");
	pem = pki_slurp("c.key");
	bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
	if (!bio || PEM_bytes_read_bio(&der, &der_len, &name, "OpenVPN tls-crypt-v2 client key",
				       bio, NULL, NULL) != 1) {
		CHECK(0, "client key from openvpn unreadable");
		BIO_free(bio);
		goto out;
	}
	BIO_free(bio);
	CHECK(der_len == KEY2_LEN + WKC_DEFAULT_LEN, "client key is %ld bytes", der_len);
	CHECK(s && !wkc_unwrap(s, der + KEY2_LEN, (size_t)der_len - KEY2_LEN, &client),
	      "openvpn's WKc refused");
	CHECK(!memcmp(client.kc, der, KEY2_LEN), "openvpn's Kc differs");
	CHECK(wkc_meta_timestamp(&client, &ts) && ts + 86400 > (uint64_t)time(NULL) &&
		      ts < (uint64_t)time(NULL) + 86400,
	      "openvpn's metadata timestamp %llu", (unsigned long long)ts);
	printf("wkc_test: openvpn --genkey keys: ok\n");
out:
	OPENSSL_free(der);
	OPENSSL_free(name);
	wkc_server_free(s);
}

static void test_parse(void)
{
	static const char wrong_name[] =
		"-----BEGIN OpenVPN tls-crypt-v2 client key-----\nAAAA\n"
		"-----END OpenVPN tls-crypt-v2 client key-----\n";
	static const char short_key[] =
		"-----BEGIN OpenVPN tls-crypt-v2 server key-----\nAAAA\n"
		"-----END OpenVPN tls-crypt-v2 server key-----\n";
	uint8_t key[WKC_SERVER_KEY_LEN];

	CHECK(wkc_server_key_parse(wrong_name, key) == -EINVAL, "client key as server key");
	CHECK(wkc_server_key_parse(short_key, key) == -EINVAL, "3-byte server key");
	CHECK(wkc_server_key_parse("", key) == -EINVAL, "empty");
	CHECK(wkc_server_key_parse(NULL, key) == -EINVAL, "NULL");
}

int main(void)
{
	struct wkc_server *s, *other;
	uint8_t okey[WKC_SERVER_KEY_LEN];

	for (int i = 0; i < WKC_SERVER_KEY_LEN; i++) {
		skey[i] = (uint8_t)(i * 13 + 7);
		okey[i] = (uint8_t)(i * 5 + 1);
	}
	for (int i = 0; i < KEY2_LEN; i++)
		kc[i] = (uint8_t)(i * 31 + 3);
	if (wkc_server_create(&s, skey) || wkc_server_create(&other, okey)) {
		printf("wkc_server_create failed\n");
		return 1;
	}
	test_independent(s);
	test_refusals(s, other);
	test_parse();
	test_openvpn();
	wkc_server_free(s);
	wkc_server_free(other);
	wkc_server_free(NULL);
	return harness_done("wkc_test");
}
