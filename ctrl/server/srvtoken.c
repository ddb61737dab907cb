/*
 * srvtoken.c - owns the auth-gen-token format (srvtoken.h): the secret,
 * making tokens and checking them, as 2.6's auth_token.c
 * (auth_token_init_secret, generate_auth_token, verify_auth_token).
 *
 * Thread: ctrl only. The key is loaded once at server start-up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "../config/options.h"
#include "srvtoken.h"

/* A username longer than km2 allows is cut here; it cannot match a token anyway. */
#define SRVTOKEN_USER_MAX	4096

_Static_assert(SRVTOKEN_DATA_LEN % 3 == 0 && SRVTOKEN_DATA_LEN / 3 * 4 == SRVTOKEN_B64_LEN,
	       "the token's base64 has no padding");

/* ---- the secret ---- */

/* The PEM text of the option: inline, or the file read whole. */
static char *secret_text(const struct options_file *f, char *err, size_t errlen)
{
	FILE *fp;
	char *buf;
	size_t n;

	if (f->is_inline)
		return strdup(f->data);
	fp = fopen(f->data, "re");
	if (!fp) {
		snprintf(err, errlen, "options: auth-gen-token-secret: cannot open %s: %s", f->data,
			 strerror(errno));
		return NULL;
	}
	buf = calloc(1, 8192);
	n = buf ? fread(buf, 1, 8191, fp) : 0;
	fclose(fp);
	if (!buf || n == 8191) {
		snprintf(err, errlen, "options: auth-gen-token-secret: cannot read %s", f->data);
		free(buf);
		return NULL;
	}
	return buf;
}

int srvtoken_key_load(struct srvtoken_key *k, const struct options *o, char *err, size_t errlen)
{
	char *text, *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	BIO *bio;
	int rc = -EINVAL;

	if (!o->auth_token_secret.data) {
		/* generate_ephemeral_key: this process's tokens only. */
		if (RAND_bytes(k->hmac, sizeof(k->hmac)) != 1) {
			snprintf(err, errlen, "auth-gen-token: no randomness for the secret");
			return -EIO;
		}
		return 0;
	}
	text = secret_text(&o->auth_token_secret, err, errlen);
	if (!text)
		return -ENOENT;
	bio = BIO_new_mem_buf(text, -1);
	if (bio && PEM_read_bio(bio, &name, &header, &data, &len) == 1 &&
	    !strcmp(name, SRVTOKEN_PEM_NAME) && len >= SRVTOKEN_SECRET_LEN) {
		/* struct key: cipher[64], then hmac[64]; HMAC-SHA256 keys on its first 32. */
		memcpy(k->hmac, data + 64, sizeof(k->hmac));
		rc = 0;
	} else {
		snprintf(err, errlen, "options: auth-gen-token-secret: not an '%s' PEM block of "
			 "%d bytes (openvpn --genkey auth-token FILE makes one)", SRVTOKEN_PEM_NAME,
			 SRVTOKEN_SECRET_LEN);
	}
	if (data)
		OPENSSL_cleanse(data, (size_t)len);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return rc;
}

/* ---- tokens ---- */

bool srvtoken_is_token(const char *pass)
{
	return pass && !strncmp(pass, SRVTOKEN_PREFIX, SRVTOKEN_PREFIX_LEN);
}

/* The 60 bytes of @token, or false (not exactly 80 base64 digits after the prefix). */
static bool token_decode(const char *token, uint8_t out[SRVTOKEN_DATA_LEN])
{
	const char *b64 = token + SRVTOKEN_PREFIX_LEN;

	if (!srvtoken_is_token(token) || strlen(b64) != SRVTOKEN_B64_LEN)
		return false;
	return EVP_DecodeBlock(out, (const unsigned char *)b64, SRVTOKEN_B64_LEN) ==
	       SRVTOKEN_DATA_LEN;
}

/* HMAC(secret, username || session id || initial timestamp || timestamp). */
static void token_hmac(const struct srvtoken_key *k, const char *user, const uint8_t *data,
		       uint8_t out[SRVTOKEN_HMAC_LEN])
{
	static uint8_t msg[SRVTOKEN_USER_MAX + SRVTOKEN_DATA_LEN];	/* ctrl only */
	size_t ulen = strnlen(user, SRVTOKEN_USER_MAX);
	unsigned int olen = 0;

	memcpy(msg, user, ulen);
	memcpy(msg + ulen, data, SRVTOKEN_DATA_LEN - SRVTOKEN_HMAC_LEN);
	if (!HMAC(EVP_sha256(), k->hmac, sizeof(k->hmac), msg,
		  ulen + SRVTOKEN_DATA_LEN - SRVTOKEN_HMAC_LEN, out, &olen))
		memset(out, 0, SRVTOKEN_HMAC_LEN);	/* matches no token */
	OPENSSL_cleanse(msg, sizeof(msg));
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void store_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

unsigned int srvtoken_verify(const struct srvtoken_key *k, const char *user, const char *token,
			     int64_t now, unsigned int lifetime, unsigned int renewal,
			     const char *initial)
{
	uint8_t d[SRVTOKEN_DATA_LEN], mac[SRVTOKEN_HMAC_LEN];
	uint64_t ts_initial, ts;
	unsigned int ret;

	if (!token_decode(token, d))
		return 0;
	token_hmac(k, user, d, mac);
	if (!CRYPTO_memcmp(mac, d + SRVTOKEN_DATA_LEN - SRVTOKEN_HMAC_LEN, sizeof(mac))) {
		ret = SRVTOKEN_HMAC_OK;
	} else {
		token_hmac(k, "", d, mac);
		if (CRYPTO_memcmp(mac, d + SRVTOKEN_DATA_LEN - SRVTOKEN_HMAC_LEN, sizeof(mac)))
			return 0;
		ret = SRVTOKEN_HMAC_OK | SRVTOKEN_EMPTY_USER;
	}
	ts_initial = load_be64(d + SRVTOKEN_SID_LEN);
	ts = load_be64(d + SRVTOKEN_SID_LEN + 8);
	/* Within the renegotiation window, not from the future, within the lifetime. */
	if (now < 0 || (uint64_t)now < ts || (uint64_t)now >= ts + 2 * (uint64_t)renewal)
		ret |= SRVTOKEN_EXPIRED;
	if (ts < ts_initial)
		ret |= SRVTOKEN_EXPIRED;
	if (lifetime && now >= 0 && (uint64_t)now > ts_initial + lifetime)
		ret |= SRVTOKEN_EXPIRED;
	/* The session id must not change within one session (prefix and id compared). */
	if (initial && CRYPTO_memcmp(initial, token, SRVTOKEN_PREFIX_LEN + SRVTOKEN_SID_B64_LEN))
		ret = 0;
	return ret;
}

int srvtoken_generate(const struct srvtoken_key *k, const char *user, const char *initial,
		      bool empty_user, int64_t now, char *out)
{
	uint8_t d[SRVTOKEN_DATA_LEN], old[SRVTOKEN_DATA_LEN];

	store_be64(d + SRVTOKEN_SID_LEN + 8, (uint64_t)now);
	if (initial) {
		/* The session id and initial timestamp of the session's first token. */
		if (!token_decode(initial, old))
			return -EINVAL;
		memcpy(d, old, SRVTOKEN_SID_LEN + 8);
		OPENSSL_cleanse(old, sizeof(old));
	} else {
		if (RAND_bytes(d, SRVTOKEN_SID_LEN) != 1)
			return -EIO;
		store_be64(d + SRVTOKEN_SID_LEN, (uint64_t)now);
	}
	token_hmac(k, empty_user ? "" : user, d, d + SRVTOKEN_DATA_LEN - SRVTOKEN_HMAC_LEN);
	memcpy(out, SRVTOKEN_PREFIX, SRVTOKEN_PREFIX_LEN);
	EVP_EncodeBlock((unsigned char *)out + SRVTOKEN_PREFIX_LEN, d, SRVTOKEN_DATA_LEN);
	out[SRVTOKEN_LEN] = '\0';
	OPENSSL_cleanse(d, sizeof(d));
	return 0;
}

void srvtoken_session_id(const char *token, char *out)
{
	out[0] = '\0';
	if (srvtoken_is_token(token) && strlen(token) >= SRVTOKEN_PREFIX_LEN + SRVTOKEN_SID_B64_LEN) {
		memcpy(out, token + SRVTOKEN_PREFIX_LEN, SRVTOKEN_SID_B64_LEN);
		out[SRVTOKEN_SID_B64_LEN] = '\0';
	}
}
