/*
 * tlswrap.c - owns struct tlswrap: the keys, send replay counter and
 * receive replay window of one control-channel wrapping (openvpn-wire.md
 * §2.2 tls-auth, §2.3 tls-crypt, §2.5 tls-crypt-v2 client, §2.6 dynamic
 * tls-crypt). Wire layouts are drawn in tlswrap.h.
 *
 * Threads: ctrl only. The fetched algorithms are process-wide and
 * read-only after tlswrap_global_init(); each struct tlswrap has its own
 * EVP_MAC_CTX / EVP_CIPHER_CTX per direction, keyed once at creation. Per
 * packet only EVP_MAC_init(ctx, NULL, ...) (HMAC restarts with the key it
 * has) and the CTR IV change.
 *
 * Receive order, as 2.6's tls_crypt_unwrap/openvpn_decrypt_v1: length,
 * HMAC/tag (CRYPTO_memcmp), replay check, and only then the replay update,
 * so a forged or replayed packet never moves the window. The replay key is
 * (timestamp, packet-id), as packet_id_test's long form: a newer timestamp
 * starts a fresh window, an older one is refused.
 *
 * Send: the replay packet-id starts at 1 (EARLY_NEG_START + 1 for a
 * tls-crypt-v2 client announcing early negotiation) and grows with every
 * wrapped packet; the timestamp is the wall time of the first send. As
 * packet_id_send_update, the id may roll over only if the time has moved
 * on, taking the new time.
 *
 * Key material lives in the struct (for the dynamic tls-crypt xor) and in
 * the OpenSSL contexts; tlswrap_free cleanses both. Nothing is logged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "replay.h"
#include "tlswrap.h"

#define TLSWRAP_MAC_MAX		64	/* SHA512; also the size of a key's HMAC slot */
#define TLSWRAP_CTR_KEY_LEN	32	/* AES-256 */
#define TLSWRAP_CTR_IV_LEN	16	/* first 128 bits of the tag */
#define TLSWRAP_PLAIN_MAX	UINT16_MAX	/* a datagram; keeps lengths in an int */
/* WKc = tag 32 || encrypted (Kc 256 || metadata) || length 2. */
#define TLSWRAP_WKC_MIN		(TLS_CRYPT_TAG_SIZE + KEY2_LEN + 2)

static const char tlswrap_v2_pem_name[] = "OpenVPN tls-crypt-v2 client key";

struct tlswrap_digest {
	const char *name;
	unsigned int len;
};

enum { TW_SHA1, TW_SHA256, TW_SHA512, TW_DIGEST_MAX };

static const struct tlswrap_digest tlswrap_digests[TW_DIGEST_MAX] = {
	[TW_SHA1] = { "SHA1", 20 },
	[TW_SHA256] = { "SHA256", 32 },
	[TW_SHA512] = { "SHA512", 64 },
};

/* Fetched once (STYLE.md §4.10); read-only afterwards. */
static EVP_MAC *tw_hmac;
static EVP_MD *tw_md[TW_DIGEST_MAX];
static EVP_CIPHER *tw_ctr;

struct tlswrap {
	enum tlswrap_mode mode;
	unsigned int mac_len;		/* HMAC bytes on the wire (tls-auth H, or 32) */
	EVP_MAC_CTX *tx_mac, *rx_mac;
	EVP_CIPHER_CTX *tx_ctr, *rx_ctr;	/* tls-crypt only */
	uint32_t tx_pid;		/* last replay packet-id sent */
	uint32_t tx_time;		/* replay timestamp, fixed at the first send */
	bool has_tx_time;
	uint32_t rx_time;		/* timestamp the receive window belongs to */
	bool has_key;			/* key[] holds the static key (tls-auth/crypt) */
	uint8_t key[KEY2_LEN];
	uint8_t *wkc;			/* tls-crypt-v2 client: WKc, else NULL */
	size_t wkc_len;
	struct replay *rx_replay;	/* REPLAY_WINDOW_DEFAULT / REPLAY_TIME_DEFAULT */
};

int tlswrap_global_init(void)
{
	if (!tw_hmac)
		tw_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	for (int d = 0; d < TW_DIGEST_MAX; d++) {
		if (!tw_md[d])
			tw_md[d] = EVP_MD_fetch(NULL, tlswrap_digests[d].name, NULL);
	}
	if (!tw_ctr)
		tw_ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	ERR_clear_error();
	/* SHA1 or SHA512 may be missing (FIPS); tls-crypt needs the rest. */
	if (!tw_hmac || !tw_md[TW_SHA256] || !tw_ctr) {
		tlswrap_global_cleanup();
		return -EIO;
	}
	return 0;
}

void tlswrap_global_cleanup(void)
{
	EVP_MAC_free(tw_hmac);
	tw_hmac = NULL;
	for (int d = 0; d < TW_DIGEST_MAX; d++) {
		EVP_MD_free(tw_md[d]);
		tw_md[d] = NULL;
	}
	EVP_CIPHER_free(tw_ctr);
	tw_ctr = NULL;
}

static int tlswrap_digest_find(const char *name)
{
	if (!name)
		name = "SHA1";
	for (int d = 0; d < TW_DIGEST_MAX; d++) {
		if (!strcasecmp(name, tlswrap_digests[d].name))
			return tw_md[d] ? d : -1;
	}
	return -1;
}

/* An HMAC context keyed with the first @len bytes of @key (len = digest size). */
static EVP_MAC_CTX *tlswrap_mac_new(int digest, const uint8_t *key)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(tw_hmac);

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(tw_md[digest]), 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_init(ctx, key, tlswrap_digests[digest].len, params) == 1 &&
	    EVP_MAC_CTX_get_mac_size(ctx) == tlswrap_digests[digest].len)
		return ctx;
	EVP_MAC_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

static EVP_CIPHER_CTX *tlswrap_ctr_new(const uint8_t *key)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && EVP_EncryptInit_ex2(ctx, tw_ctr, key, NULL, NULL) == 1)
		return ctx;
	EVP_CIPHER_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* The common part of every constructor: the struct and its replay window. */
static int tlswrap_alloc(struct tlswrap **out, enum tlswrap_mode mode)
{
	struct tlswrap *w;
	int rc;

	*out = NULL;
	rc = tlswrap_global_init();
	if (rc)
		return rc;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->rx_replay = malloc(replay_size(REPLAY_WINDOW_DEFAULT));
	if (!w->rx_replay) {
		free(w);
		return -ENOMEM;
	}
	replay_init(w->rx_replay, REPLAY_WINDOW_DEFAULT, REPLAY_TIME_DEFAULT, false);
	w->mode = mode;
	*out = w;
	return 0;
}

void tlswrap_free(struct tlswrap *w)
{
	if (!w)
		return;
	EVP_MAC_CTX_free(w->tx_mac);
	EVP_MAC_CTX_free(w->rx_mac);
	EVP_CIPHER_CTX_free(w->tx_ctr);
	EVP_CIPHER_CTX_free(w->rx_ctr);
	if (w->wkc) {
		OPENSSL_cleanse(w->wkc, w->wkc_len);
		free(w->wkc);
	}
	free(w->rx_replay);
	OPENSSL_cleanse(w, sizeof(*w));
	free(w);
}

int tlswrap_create_none(struct tlswrap **out)
{
	return tlswrap_alloc(out, TLSWRAP_NONE);
}

int tlswrap_create_auth(struct tlswrap **out, const uint8_t key[KEY2_LEN], int direction,
			const char *digest)
{
	/* Offsets of the HMAC slots of key halves 0 and 1 (§2.4). */
	static const size_t half_hmac[2] = { KEY_CIPHER_SLOT, KEY_HALF_LEN + KEY_CIPHER_SLOT };
	size_t tx, rx;
	struct tlswrap *w;
	int d, rc;

	*out = NULL;
	if (direction != TLSWRAP_DIR_BIDI && direction != 0 && direction != 1)
		return -EINVAL;
	rc = tlswrap_global_init();
	if (rc)
		return rc;
	d = tlswrap_digest_find(digest);
	if (d < 0)
		return -EINVAL;
	/* Direction 0 sends with half 0, 1 with half 1; none: half 0 both ways. */
	tx = direction == 1 ? half_hmac[1] : half_hmac[0];
	rx = direction == 0 ? half_hmac[1] : half_hmac[0];
	rc = tlswrap_alloc(&w, TLSWRAP_TLS_AUTH);
	if (rc)
		return rc;
	w->mac_len = tlswrap_digests[d].len;
	w->tx_mac = tlswrap_mac_new(d, key + tx);
	w->rx_mac = tlswrap_mac_new(d, key + rx);
	if (!w->tx_mac || !w->rx_mac) {
		tlswrap_free(w);
		return -EIO;
	}
	memcpy(w->key, key, KEY2_LEN);
	w->has_key = true;
	*out = w;
	return 0;
}

int tlswrap_create_crypt(struct tlswrap **out, const uint8_t key[KEY2_LEN], bool is_server)
{
	/* Server ("normal") sends with half 0, client ("inverse") with half 1. */
	const uint8_t *tx = key + (is_server ? 0 : KEY_HALF_LEN);
	const uint8_t *rx = key + (is_server ? KEY_HALF_LEN : 0);
	struct tlswrap *w;
	int rc;

	rc = tlswrap_alloc(&w, TLSWRAP_TLS_CRYPT);
	if (rc)
		return rc;
	w->mac_len = TLS_CRYPT_TAG_SIZE;
	w->tx_ctr = tlswrap_ctr_new(tx);
	w->rx_ctr = tlswrap_ctr_new(rx);
	w->tx_mac = tlswrap_mac_new(TW_SHA256, tx + KEY_CIPHER_SLOT);
	w->rx_mac = tlswrap_mac_new(TW_SHA256, rx + KEY_CIPHER_SLOT);
	if (!w->tx_ctr || !w->rx_ctr || !w->tx_mac || !w->rx_mac) {
		tlswrap_free(w);
		return -EIO;
	}
	memcpy(w->key, key, KEY2_LEN);
	w->has_key = true;
	*out = w;
	return 0;
}

/* Decodes the client key PEM block into @der (OPENSSL_malloc'd). */
static int tlswrap_v2_pem_read(const char *pem, unsigned char **der, long *der_len)
{
	char *name = NULL;
	BIO *bio;
	int ok;

	*der = NULL;
	bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return -ENOMEM;
	/* Skips any other PEM block, as an inline config may hold several. */
	ok = PEM_bytes_read_bio(der, der_len, &name, tlswrap_v2_pem_name, bio, NULL, NULL);
	BIO_free(bio);
	OPENSSL_free(name);
	ERR_clear_error();
	return ok == 1 ? 0 : -EINVAL;
}

int tlswrap_create_crypt_v2_client(struct tlswrap **out, const char *pem, bool early_neg)
{
	unsigned char *der = NULL;
	long der_len = 0;
	size_t wkc_len;
	struct tlswrap *w = NULL;
	int rc;

	*out = NULL;
	if (!pem)
		return -EINVAL;
	rc = tlswrap_v2_pem_read(pem, &der, &der_len);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (der_len < KEY2_LEN + TLSWRAP_WKC_MIN)
		goto out;
	wkc_len = (size_t)der_len - KEY2_LEN;
	/* The server cuts WKc off by its trailing length: it must be right. */
	if (wkc_len > TLS_CRYPT_V2_MAX_WKC_LEN || load_be16(der + der_len - 2) != wkc_len)
		goto out;
	rc = tlswrap_create_crypt(&w, der, false);
	if (rc)
		goto out;
	w->wkc = malloc(wkc_len);
	if (!w->wkc) {
		rc = -ENOMEM;
		goto err_free;
	}
	memcpy(w->wkc, der + KEY2_LEN, wkc_len);
	w->wkc_len = wkc_len;
	if (early_neg)
		w->tx_pid = EARLY_NEG_START;
	*out = w;
	goto out;

err_free:
	tlswrap_free(w);
out:
	OPENSSL_clear_free(der, der_len > 0 ? (size_t)der_len : 0);
	return rc;
}

int tlswrap_dynamic_init(struct tlswrap **out, const struct tlswrap *base,
			 const uint8_t ekm[KEY2_LEN], bool is_server)
{
	uint8_t key[KEY2_LEN];
	int rc;

	memcpy(key, ekm, KEY2_LEN);
	if (base && base->has_key) {
		for (unsigned int i = 0; i < KEY2_LEN; i++)
			key[i] ^= base->key[i];
	}
	rc = tlswrap_create_crypt(out, key, is_server);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

enum tlswrap_mode tlswrap_mode_get(const struct tlswrap *w)
{
	return w->mode;
}

static bool tlswrap_has_wkc_trailer(uint8_t opcode)
{
	return opcode == P_CONTROL_HARD_RESET_CLIENT_V3 || opcode == P_CONTROL_WKC_V1;
}

size_t tlswrap_overhead(const struct tlswrap *w, uint8_t opcode)
{
	switch (w->mode) {
	case TLSWRAP_TLS_AUTH:
		return w->mac_len + TLS_WRAP_PID_LEN;
	case TLSWRAP_TLS_CRYPT:
		return TLS_CRYPT_OVERHEAD + (tlswrap_has_wkc_trailer(opcode) ? w->wkc_len : 0);
	default:
		return 0;
	}
}

uint32_t tlswrap_tx_pid(const struct tlswrap *w)
{
	return w->tx_pid;
}

uint32_t tlswrap_tx_time(const struct tlswrap *w)
{
	return w->has_tx_time ? w->tx_time : 0;
}

/* The (packet-id, timestamp) the next packet carries; @w is not changed. */
static int tlswrap_next_pid(const struct tlswrap *w, uint32_t wall_sec, uint32_t *pid,
			    uint32_t *time)
{
	*time = w->has_tx_time ? w->tx_time : wall_sec;
	if (w->tx_pid != UINT32_MAX) {
		*pid = w->tx_pid + 1;
		return 0;
	}
	if (wall_sec <= *time)
		return TLSWRAP_ERR_PID;
	*pid = 1;
	*time = wall_sec;
	return 0;
}

/* HMAC of up to three pieces into @mac; false if OpenSSL failed. */
static bool tlswrap_mac3(EVP_MAC_CTX *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
			 size_t blen, const uint8_t *c, size_t clen, uint8_t mac[TLSWRAP_MAC_MAX])
{
	size_t outl = 0;

	if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(ctx, a, alen) != 1 ||
	    (blen && EVP_MAC_update(ctx, b, blen) != 1) ||
	    (clen && EVP_MAC_update(ctx, c, clen) != 1) ||
	    EVP_MAC_final(ctx, mac, &outl, TLSWRAP_MAC_MAX) != 1) {
		ERR_clear_error();
		return false;
	}
	return true;
}

/* AES-256-CTR of @len bytes with IV = the first 16 bytes of @tag. */
static bool tlswrap_ctr(EVP_CIPHER_CTX *ctx, const uint8_t *tag, const uint8_t *in, size_t len,
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
static int tlswrap_auth_seal(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t *pidp = out + CTL_HDR_LEN + w->mac_len;
	uint8_t mac[TLSWRAP_MAC_MAX];

	memcpy(out, in, CTL_HDR_LEN);
	memcpy(pidp + TLS_WRAP_PID_LEN, in + CTL_HDR_LEN, len - CTL_HDR_LEN);
	if (!tlswrap_mac3(w->tx_mac, pidp, TLS_WRAP_PID_LEN, in, CTL_HDR_LEN, in + CTL_HDR_LEN,
			  len - CTL_HDR_LEN, mac))
		return TLSWRAP_ERR_CRYPTO;
	memcpy(out + CTL_HDR_LEN, mac, w->mac_len);
	return (int)(len + w->mac_len + TLS_WRAP_PID_LEN);
}

/* tls-crypt: [op][sid][pid][time][tag][CTR(rest)], tag over header(17)||rest. */
static int tlswrap_crypt_seal(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t body = len - CTL_HDR_LEN;
	uint8_t *tag = out + TLS_CRYPT_OFF_TAG;

	memcpy(out, in, CTL_HDR_LEN);
	if (!tlswrap_mac3(w->tx_mac, out, TLS_CRYPT_OFF_TAG, in + CTL_HDR_LEN, body, NULL, 0,
			  tag) ||
	    !tlswrap_ctr(w->tx_ctr, tag, in + CTL_HDR_LEN, body, out + TLS_CRYPT_OFF_CT))
		return TLSWRAP_ERR_CRYPTO;
	len = TLS_CRYPT_OFF_CT + body;
	if (w->wkc && tlswrap_has_wkc_trailer(proto_opcode(in[0]))) {
		memcpy(out + len, w->wkc, w->wkc_len);
		len += w->wkc_len;
	}
	return (int)len;
}

int tlswrap_wrap(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		 uint32_t wall_sec)
{
	uint32_t pid, time;
	uint8_t *pidp;
	int rc;

	if (len < CTL_HDR_LEN || len > TLSWRAP_PLAIN_MAX)
		return TLSWRAP_ERR_LEN;
	if (proto_is_data(proto_opcode(in[0])))
		return TLSWRAP_ERR_OPCODE;
	/* Opcodes 10/11 mean "WKc appended": only a tls-crypt-v2 client has one. */
	if (w->mode == TLSWRAP_TLS_CRYPT && !w->wkc && tlswrap_has_wkc_trailer(proto_opcode(in[0])))
		return TLSWRAP_ERR_OPCODE;
	if (len + tlswrap_overhead(w, proto_opcode(in[0])) > cap)
		return TLSWRAP_ERR_NOSPC;
	if (w->mode == TLSWRAP_NONE) {
		memcpy(out, in, len);
		return (int)len;
	}
	rc = tlswrap_next_pid(w, wall_sec, &pid, &time);
	if (rc)
		return rc;
	pidp = out + CTL_HDR_LEN + (w->mode == TLSWRAP_TLS_AUTH ? w->mac_len : 0);
	store_be32(pidp, pid);
	store_be32(pidp + 4, time);
	if (w->mode == TLSWRAP_TLS_AUTH)
		rc = tlswrap_auth_seal(w, in, len, out);
	else
		rc = tlswrap_crypt_seal(w, in, len, out);
	if (rc < 0)
		return rc;
	w->tx_pid = pid;
	w->tx_time = time;
	w->has_tx_time = true;
	return rc;
}

/* packet_id_test, long form: does (@time, @pid) pass the receive window? */
static bool tlswrap_replay_check(const struct tlswrap *w, uint32_t pid, uint32_t time,
				 int64_t now_ns)
{
	if (pid == 0 || time < w->rx_time)
		return false;
	if (time > w->rx_time)
		return true;
	return replay_check(w->rx_replay, pid, now_ns);
}

static void tlswrap_replay_update(struct tlswrap *w, uint32_t pid, uint32_t time, int64_t now_ns)
{
	if (time != w->rx_time) {
		replay_init(w->rx_replay, REPLAY_WINDOW_DEFAULT, REPLAY_TIME_DEFAULT, false);
		w->rx_time = time;
	}
	replay_update(w->rx_replay, pid, now_ns);
}

static int tlswrap_auth_open(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out,
			     size_t cap, int64_t now_ns)
{
	const uint8_t *pidp = in + CTL_HDR_LEN + w->mac_len;
	size_t hdr = CTL_HDR_LEN + w->mac_len + TLS_WRAP_PID_LEN;
	uint8_t mac[TLSWRAP_MAC_MAX];
	uint32_t pid, time;

	if (len < hdr)
		return TLSWRAP_ERR_LEN;
	if (len - w->mac_len - TLS_WRAP_PID_LEN > cap)
		return TLSWRAP_ERR_NOSPC;
	if (!tlswrap_mac3(w->rx_mac, pidp, TLS_WRAP_PID_LEN, in, CTL_HDR_LEN, in + hdr, len - hdr,
			  mac))
		return TLSWRAP_ERR_CRYPTO;
	if (CRYPTO_memcmp(mac, in + CTL_HDR_LEN, w->mac_len))
		return TLSWRAP_ERR_AUTH;
	pid = load_be32(pidp);
	time = load_be32(pidp + 4);
	if (!tlswrap_replay_check(w, pid, time, now_ns))
		return TLSWRAP_ERR_REPLAY;
	tlswrap_replay_update(w, pid, time, now_ns);
	memcpy(out, in, CTL_HDR_LEN);
	memcpy(out + CTL_HDR_LEN, in + hdr, len - hdr);
	return (int)(len - w->mac_len - TLS_WRAP_PID_LEN);
}

static int tlswrap_crypt_open(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out,
			      size_t cap, int64_t now_ns)
{
	const uint8_t *tag = in + TLS_CRYPT_OFF_TAG;
	uint8_t mac[TLSWRAP_MAC_MAX];
	size_t body, wkc_len;
	uint32_t pid, time;
	int rc = TLSWRAP_ERR_CRYPTO;

	if (tlswrap_has_wkc_trailer(proto_opcode(in[0]))) {
		if (tlswrap_wkc_split(in, len, &wkc_len))
			return TLSWRAP_ERR_LEN;
		len -= wkc_len;
	}
	if (len < TLS_CRYPT_OFF_CT)
		return TLSWRAP_ERR_LEN;
	body = len - TLS_CRYPT_OFF_CT;
	if (CTL_HDR_LEN + body > cap)
		return TLSWRAP_ERR_NOSPC;
	if (!tlswrap_ctr(w->rx_ctr, tag, in + TLS_CRYPT_OFF_CT, body, out + CTL_HDR_LEN) ||
	    !tlswrap_mac3(w->rx_mac, in, TLS_CRYPT_OFF_TAG, out + CTL_HDR_LEN, body, NULL, 0, mac))
		goto err;
	rc = TLSWRAP_ERR_AUTH;
	if (CRYPTO_memcmp(mac, tag, TLS_CRYPT_TAG_SIZE))
		goto err;
	pid = load_be32(in + TLS_CRYPT_OFF_PID);
	time = load_be32(in + TLS_CRYPT_OFF_PID + 4);
	rc = TLSWRAP_ERR_REPLAY;
	if (!tlswrap_replay_check(w, pid, time, now_ns))
		goto err;
	tlswrap_replay_update(w, pid, time, now_ns);
	memcpy(out, in, CTL_HDR_LEN);
	return (int)(CTL_HDR_LEN + body);

err:
	/* Unauthenticated plaintext must not reach the caller. */
	OPENSSL_cleanse(out + CTL_HDR_LEN, body);
	return rc;
}

int tlswrap_unwrap(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		   int64_t now_ns)
{
	if (len < CTL_HDR_LEN || len > TLSWRAP_PLAIN_MAX)
		return TLSWRAP_ERR_LEN;
	if (proto_is_data(proto_opcode(in[0])))
		return TLSWRAP_ERR_OPCODE;
	switch (w->mode) {
	case TLSWRAP_TLS_AUTH:
		return tlswrap_auth_open(w, in, len, out, cap, now_ns);
	case TLSWRAP_TLS_CRYPT:
		return tlswrap_crypt_open(w, in, len, out, cap, now_ns);
	default:
		if (len > cap)
			return TLSWRAP_ERR_NOSPC;
		memcpy(out, in, len);
		return (int)len;
	}
}

int tlswrap_wkc_split(const uint8_t *in, size_t len, size_t *wkc_len)
{
	size_t n;

	if (len < TLS_CRYPT_OFF_CT + 2)
		return TLSWRAP_ERR_LEN;
	n = load_be16(in + len - 2);
	/* The tls-crypt part before it needs its 49-byte header. */
	if (n < 2 || n > TLS_CRYPT_V2_MAX_WKC_LEN || n > len - TLS_CRYPT_OFF_CT)
		return TLSWRAP_ERR_LEN;
	*wkc_len = n;
	return 0;
}

const char *tlswrap_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case TLSWRAP_ERR_LEN:
		return "bad length";
	case TLSWRAP_ERR_AUTH:
		return "bad hmac";
	case TLSWRAP_ERR_REPLAY:
		return "replay";
	case TLSWRAP_ERR_NOSPC:
		return "buffer too small";
	case TLSWRAP_ERR_OPCODE:
		return "data opcode";
	case TLSWRAP_ERR_PID:
		return "packet-id exhausted";
	case TLSWRAP_ERR_CRYPTO:
		return "crypto library error";
	default:
		return "unknown error";
	}
}
