/*
 * wrapprim.h - the primitives of the control-channel wrappings, once
 * (openvpn-wire.md §2.2 tls-auth, §2.3 tls-crypt, §2.5 WKc, §2.7 cookies).
 *
 * Internal to crypto/: tlswrap.c (per-session wrapping with replay state),
 * tlsfirst.c (a server's stateless first-packet wrapping), wkc.c (the
 * tls-crypt-v2 client key wrap) and cookie.c (the session-id cookie) build on
 * it; nothing outside crypto/ includes it, since it exposes OpenSSL types.
 *
 * Two levels:
 *   - keyed contexts and one-shot operations: an HMAC context for one of the
 *     three digests, an AES-256-CTR context, HMAC over up to three pieces,
 *     CTR with the IV taken from a tag. The algorithms are fetched once per
 *     process (STYLE.md §4.10) and read-only afterwards.
 *   - struct wrapprim_keys: the contexts of one tls-auth or tls-crypt
 *     wrapping in both directions, keyed from a 256-byte static key with the
 *     direction rules of §2.2/§2.3, and the stateless seal/open of one
 *     packet given its replay (packet-id, timestamp). Replay windows, send
 *     counters and WKc trailers stay with the callers.
 *
 * Threads: ctrl only. Per packet only EVP_MAC_init(ctx, NULL, ...) (HMAC
 * restarts with the key it has) and the CTR IV change, so no two threads
 * may use one context. Nothing is logged; errors clear OpenSSL's queue.
 */
#ifndef SLUICE_WRAPPRIM_H
#define SLUICE_WRAPPRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "../core/compiler.h"
#include "../core/proto.h"
#include "tlswrap.h"

#define WRAPPRIM_MAC_MAX	64	/* SHA512; also the size of a key's HMAC slot */
#define WRAPPRIM_CTR_KEY_LEN	32	/* AES-256 */
#define WRAPPRIM_PLAIN_MAX	UINT16_MAX	/* a datagram; keeps lengths in an int */

enum wrapprim_digest {
	WRAPPRIM_SHA1,
	WRAPPRIM_SHA256,
	WRAPPRIM_SHA512,
	WRAPPRIM_DIGEST_MAX
};

/* Fetches HMAC, the digests and AES-256-CTR once. Idempotent; 0 or -EIO. */
int wrapprim_global_init(void) __must_check;
void wrapprim_global_cleanup(void);

/*
 * "SHA1" (also for NULL), "SHA256" or "SHA512", any case, to its digest;
 * -1 if unknown or not available here (SHA1/SHA512 may be missing in FIPS).
 * Needs wrapprim_global_init().
 */
int wrapprim_digest_find(const char *name);
/* Output bytes of @digest, which is also the HMAC key length taken. */
unsigned int wrapprim_digest_len(enum wrapprim_digest digest);

/*
 * An HMAC context with @digest keyed by the first wrapprim_digest_len()
 * bytes of @key, or NULL. Needs wrapprim_global_init(). The context holds
 * the key schedule; EVP_MAC_CTX_free cleanses it.
 */
EVP_MAC_CTX *wrapprim_mac_new(enum wrapprim_digest digest, const uint8_t *key);
/* An AES-256-CTR context keyed by WRAPPRIM_CTR_KEY_LEN bytes of @key, or NULL. */
EVP_CIPHER_CTX *wrapprim_ctr_new(const uint8_t *key);

/*
 * HMAC of @a || @b || @c (@blen, @clen may be 0) into @mac, which holds the
 * context's digest length. False if OpenSSL failed.
 */
bool wrapprim_mac3(EVP_MAC_CTX *ctx, const uint8_t *a, size_t alen, const uint8_t *b,
		   size_t blen, const uint8_t *c, size_t clen, uint8_t *mac) __must_check;
/*
 * AES-256-CTR of @len bytes (@len <= WRAPPRIM_PLAIN_MAX) with IV = the first
 * 16 bytes of @tag; encryption and decryption are the same. @in and @out
 * may be equal. False if OpenSSL failed.
 */
bool wrapprim_ctr(EVP_CIPHER_CTX *ctx, const uint8_t *tag, const uint8_t *in, size_t len,
		  uint8_t *out) __must_check;

/* The keyed contexts of one wrapping, both directions. Zeroed = mode none. */
struct wrapprim_keys {
	enum tlswrap_mode mode;
	unsigned int mac_len;		/* HMAC bytes on the wire: tls-auth H, or 32 */
	EVP_MAC_CTX *tx_mac, *rx_mac;
	EVP_CIPHER_CTX *tx_ctr, *rx_ctr;	/* tls-crypt only */
};

/*
 * tls-auth (§2.2): @direction 0 sends with key half 0's HMAC slot and
 * receives with half 1's, 1 the reverse, TLSWRAP_DIR_BIDI uses half 0 both
 * ways; @digest as wrapprim_digest_find(). 0, -EINVAL (bad direction or
 * digest) or -EIO; on error @k is left zeroed.
 */
int wrapprim_keys_auth(struct wrapprim_keys *k, const uint8_t key[KEY2_LEN], int direction,
		       const char *digest) __must_check;
/*
 * tls-crypt (§2.3): the server ("normal") sends with half 0 and receives
 * with half 1, the client ("inverse") the reverse. 0 or -EIO; on error @k is
 * left zeroed.
 */
int wrapprim_keys_crypt(struct wrapprim_keys *k, const uint8_t key[KEY2_LEN],
			bool is_server) __must_check;
/* Re-keys a tls-crypt @k in place (no allocation). 0, -EINVAL (not tls-crypt) or -EIO. */
int wrapprim_keys_rekey_crypt(struct wrapprim_keys *k, const uint8_t key[KEY2_LEN],
			      bool is_server) __must_check;
/* Frees the contexts (which cleanses their keys) and zeroes @k (mode none). */
void wrapprim_keys_clear(struct wrapprim_keys *k);

/* Bytes wrapprim_seal() adds: HMAC or tag plus the replay (packet-id, timestamp). */
size_t wrapprim_overhead(const struct wrapprim_keys *k);

/*
 * Checks what both directions check first: @len in [CTL_HDR_LEN,
 * WRAPPRIM_PLAIN_MAX] (TLSWRAP_ERR_LEN) and a control opcode
 * (TLSWRAP_ERR_OPCODE). Returns 0 or that error.
 */
int wrapprim_check_ctl(const uint8_t *in, size_t len) __must_check;

/*
 * Wraps the plain packet @in (@len bytes, wrapprim_check_ctl() passed) into
 * @out, which holds @len + wrapprim_overhead() bytes and does not overlap
 * @in, with the replay @pid and @time. Returns the wire length or
 * TLSWRAP_ERR_CRYPTO. Layouts (tlswrap.h):
 *   tls-auth:  [op][sid][HMAC(pid||time||op||sid||rest)][pid][time][rest]
 *   tls-crypt: [op][sid][pid][time][tag = HMAC(op..time||rest)][CTR(rest)]
 */
int wrapprim_seal(struct wrapprim_keys *k, const uint8_t *in, size_t len, uint8_t *out,
		  uint32_t pid, uint32_t time) __must_check;

/*
 * Verifies and unwraps the datagram @in (@len bytes, wrapprim_check_ctl()
 * passed, any WKc trailer already cut off) into @out (@cap bytes, no
 * overlap): length, then HMAC/tag compared in constant time, and only then
 * plaintext. No replay check. Returns the plain length and sets @pid and
 * @time (0, 0 in mode none), or a TLSWRAP_ERR_* value with @pid, @time 0
 * and no plaintext in @out.
 */
int wrapprim_open(struct wrapprim_keys *k, const uint8_t *in, size_t len, uint8_t *out,
		  size_t cap, uint32_t *pid, uint32_t *time) __must_check;

#endif
