/*
 * kdf.c - owns the legacy OpenVPN PRF key derivation (openvpn-wire.md §5.2).
 *
 * Threads: ctrl only, once per key_id when a peer does not negotiate tls-ekm.
 * The KDF is fetched per call: this runs a few times an hour, and a fetch
 * keeps the code free of global state.
 *
 * The PRF is TLS 1.0's (RFC 2246 §5), which OpenSSL exposes as "TLS1-PRF"
 * with the MD5-SHA1 digest: the secret is split into two halves that overlap
 * by one byte when its length is odd, P_MD5 runs on the first, P_SHA1 on the
 * second, and the outputs are XORed. OpenSSL's TLS1-PRF takes the seed in
 * parts and concatenates them, so the label is simply the first seed part,
 * which is what OpenVPN's openvpn_PRF does too.
 */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "kdf.h"

/* Seed parts of one PRF call: label, two randoms, optionally two session ids. */
#define PRF_SEED_PARTS	5

struct prf_seed {
	const uint8_t *p[PRF_SEED_PARTS];
	size_t len[PRF_SEED_PARTS];
	unsigned int n;
};

static void seed_add(struct prf_seed *s, const void *p, size_t len)
{
	s->p[s->n] = p;
	s->len[s->n] = len;
	s->n++;
}

static int prf_run(const uint8_t *secret, size_t secret_len, const struct prf_seed *seed,
		   uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[PRF_SEED_PARTS + 3], *p = params;
	EVP_KDF_CTX *kctx = NULL;
	EVP_KDF *kdf;
	unsigned int i;
	int ret = -EIO;

	if (!secret_len || !out_len)
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	if (!kdf)
		return -EIO;
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "MD5-SHA1", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret,
						 secret_len);
	/* Each SEED parameter is appended to the previous ones. */
	for (i = 0; i < seed->n; i++)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
							 (void *)seed->p[i], seed->len[i]);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		ret = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	if (ret)
		OPENSSL_cleanse(out, out_len);
	return ret;
}

int kdf_tls1_prf(const uint8_t *secret, size_t secret_len, const uint8_t *seed,
		 size_t seed_len, uint8_t *out, size_t out_len)
{
	struct prf_seed s = { .n = 0 };

	if (seed_len)
		seed_add(&s, seed, seed_len);
	return prf_run(secret, secret_len, &s, out, out_len);
}

int kdf_openvpn_prf(const struct kdf_key_source *client, const struct kdf_key_source *server,
		    const uint8_t client_sid[KDF_SID_LEN], const uint8_t server_sid[KDF_SID_LEN],
		    uint8_t key2[KEY2_LEN])
{
	uint8_t master[KDF_MASTER_LEN];
	struct prf_seed s = { .n = 0 };
	int ret;

	seed_add(&s, KDF_LABEL_MASTER, strlen(KDF_LABEL_MASTER));
	seed_add(&s, client->random1, KDF_RANDOM_LEN);
	seed_add(&s, server->random1, KDF_RANDOM_LEN);
	ret = prf_run(client->pre_master, KDF_PRE_MASTER_LEN, &s, master, sizeof(master));
	if (ret)
		goto out;

	s.n = 0;
	seed_add(&s, KDF_LABEL_EXPANSION, strlen(KDF_LABEL_EXPANSION));
	seed_add(&s, client->random2, KDF_RANDOM_LEN);
	seed_add(&s, server->random2, KDF_RANDOM_LEN);
	seed_add(&s, client_sid, KDF_SID_LEN);
	seed_add(&s, server_sid, KDF_SID_LEN);
	ret = prf_run(master, sizeof(master), &s, key2, KEY2_LEN);
out:
	OPENSSL_cleanse(master, sizeof(master));
	if (ret)
		OPENSSL_cleanse(key2, KEY2_LEN);
	return ret;
}
