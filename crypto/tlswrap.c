/*
 * tlswrap.c - owns struct tlswrap: the keys, send replay counter and
 * receive replay window of one control-channel wrapping (openvpn-wire.md
 * §2.2 tls-auth, §2.3 tls-crypt, §2.5 tls-crypt-v2 client, §2.6 dynamic
 * tls-crypt). Wire layouts are drawn in tlswrap.h.
 *
 * Threads: ctrl only. The keying, the packet layouts and the HMAC/tag check
 * are wrapprim.c's (shared with the server's stateless tlsfirst.c); each
 * struct tlswrap has its own contexts per direction (struct wrapprim_keys),
 * keyed once at creation. What is this file's own: the send replay counter,
 * the receive replay window, the WKc trailer and dynamic tls-crypt keys.
 *
 * Receive order, as 2.6's tls_crypt_unwrap/openvpn_decrypt_v1: length,
 * HMAC/tag (CRYPTO_memcmp, in wrapprim_open), replay check, and only then
 * the replay update, so a forged or replayed packet never moves the window. The replay key is
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

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "replay.h"
#include "tlswrap.h"
#include "wrapprim.h"

/* WKc = tag 32 || encrypted (Kc 256 || metadata) || length 2. */
#define TLSWRAP_WKC_MIN		(TLS_CRYPT_TAG_SIZE + KEY2_LEN + 2)

static const char tlswrap_v2_pem_name[] = "OpenVPN tls-crypt-v2 client key";

struct tlswrap {
	struct wrapprim_keys keys;	/* mode, HMAC/tag length, contexts */
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
	return wrapprim_global_init();
}

void tlswrap_global_cleanup(void)
{
	wrapprim_global_cleanup();
}

/* The common part of every constructor: the struct and its replay window (mode none). */
static int tlswrap_alloc(struct tlswrap **out)
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
	*out = w;
	return 0;
}

void tlswrap_free(struct tlswrap *w)
{
	if (!w)
		return;
	wrapprim_keys_clear(&w->keys);
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
	return tlswrap_alloc(out);
}

/* tls-auth (@direction, @digest) or tls-crypt (@is_server) keyed from the static @key. */
static int tlswrap_create_keyed(struct tlswrap **out, enum tlswrap_mode mode,
				const uint8_t key[KEY2_LEN], int direction, const char *digest,
				bool is_server)
{
	struct tlswrap *w;
	int rc;

	*out = NULL;
	rc = tlswrap_alloc(&w);
	if (rc)
		return rc;
	if (mode == TLSWRAP_TLS_AUTH)
		rc = wrapprim_keys_auth(&w->keys, key, direction, digest);
	else
		rc = wrapprim_keys_crypt(&w->keys, key, is_server);
	if (rc) {
		tlswrap_free(w);
		return rc;
	}
	memcpy(w->key, key, KEY2_LEN);
	w->has_key = true;
	*out = w;
	return 0;
}

int tlswrap_create_auth(struct tlswrap **out, const uint8_t key[KEY2_LEN], int direction,
			const char *digest)
{
	return tlswrap_create_keyed(out, TLSWRAP_TLS_AUTH, key, direction, digest, false);
}

int tlswrap_create_crypt(struct tlswrap **out, const uint8_t key[KEY2_LEN], bool is_server)
{
	return tlswrap_create_keyed(out, TLSWRAP_TLS_CRYPT, key, TLSWRAP_DIR_BIDI, NULL, is_server);
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
	return w->keys.mode;
}

static bool tlswrap_has_wkc_trailer(uint8_t opcode)
{
	return opcode == P_CONTROL_HARD_RESET_CLIENT_V3 || opcode == P_CONTROL_WKC_V1;
}

size_t tlswrap_overhead(const struct tlswrap *w, uint8_t opcode)
{
	size_t n = wrapprim_overhead(&w->keys);

	if (w->keys.mode == TLSWRAP_TLS_CRYPT && tlswrap_has_wkc_trailer(opcode))
		n += w->wkc_len;
	return n;
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

int tlswrap_wrap(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		 uint32_t wall_sec)
{
	uint32_t pid, time;
	int rc;

	rc = wrapprim_check_ctl(in, len);
	if (rc)
		return rc;
	/* Opcodes 10/11 mean "WKc appended": only a tls-crypt-v2 client has one. */
	if (w->keys.mode == TLSWRAP_TLS_CRYPT && !w->wkc &&
	    tlswrap_has_wkc_trailer(proto_opcode(in[0])))
		return TLSWRAP_ERR_OPCODE;
	if (len + tlswrap_overhead(w, proto_opcode(in[0])) > cap)
		return TLSWRAP_ERR_NOSPC;
	if (w->keys.mode == TLSWRAP_NONE) {
		memcpy(out, in, len);
		return (int)len;
	}
	rc = tlswrap_next_pid(w, wall_sec, &pid, &time);
	if (rc)
		return rc;
	rc = wrapprim_seal(&w->keys, in, len, out, pid, time);
	if (rc < 0)
		return rc;
	if (w->wkc && tlswrap_has_wkc_trailer(proto_opcode(in[0]))) {
		memcpy(out + rc, w->wkc, w->wkc_len);
		rc += (int)w->wkc_len;
	}
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

int tlswrap_unwrap(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		   int64_t now_ns)
{
	uint32_t pid, time;
	size_t wkc_len;
	int n;

	n = wrapprim_check_ctl(in, len);
	if (n)
		return n;
	if (w->keys.mode == TLSWRAP_TLS_CRYPT && tlswrap_has_wkc_trailer(proto_opcode(in[0]))) {
		if (tlswrap_wkc_split(in, len, &wkc_len))
			return TLSWRAP_ERR_LEN;
		len -= wkc_len;
	}
	n = wrapprim_open(&w->keys, in, len, out, cap, &pid, &time);
	if (n < 0 || w->keys.mode == TLSWRAP_NONE)
		return n;
	if (!tlswrap_replay_check(w, pid, time, now_ns)) {
		/* A refused packet's plaintext must not reach the caller either. */
		OPENSSL_cleanse(out, (size_t)n);
		return TLSWRAP_ERR_REPLAY;
	}
	tlswrap_replay_update(w, pid, time, now_ns);
	return n;
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
