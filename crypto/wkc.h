/*
 * wkc.h - tls-crypt-v2, server side: the server key and the client's
 * wrapped key WKc (openvpn-wire.md §2.5; OpenVPN doc/tls-crypt-v2.txt).
 *
 *   server key: PEM "OpenVPN tls-crypt-v2 server key", 128 bytes:
 *               Ke = bytes 0..31 (AES-256-CTR), Ka = bytes 64..95 (HMAC-SHA256)
 *   WKc = T(32) || AES-256-CTR(Ke, IV = T[0..15], Kc(256) || metadata) || len(2)
 *   T   = HMAC-SHA256(Ka, len || Kc || metadata), len = the whole WKc, big endian
 *   metadata = type(1) || bytes: 0x00 user data, 0x01 timestamp (8 bytes, BE)
 *
 * The WKc travels in clear after the client's tls-crypt-wrapped
 * HARD_RESET_CLIENT_V3 / CONTROL_WKC_V1 (tlswrap_wkc_split cuts it off); it
 * is not secret from the network, so an authenticated WKc only proves the
 * server issued it, not that the sender holds Kc.
 *
 * Threads: ctrl only. struct wkc_server owns keyed contexts that are
 * restarted per call, so calls on one server key must not run concurrently.
 */
#ifndef SLUICE_WKC_H
#define SLUICE_WKC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/proto.h"

#define WKC_SERVER_KEY_LEN	128	/* cipher slot 64 || hmac slot 64 */
#define WKC_TAG_LEN		32	/* HMAC-SHA256 */
#define WKC_LEN_LEN		2	/* trailing big-endian total length */
/* WKc without metadata: tag || Kc || len. */
#define WKC_MIN_LEN		(WKC_TAG_LEN + TLS_CRYPT_V2_CLIENT_KEY_LEN + WKC_LEN_LEN)
/* OpenVPN's TLS_CRYPT_V2_MAX_METADATA_LEN: what fits under TLS_CRYPT_V2_MAX_WKC_LEN. */
#define WKC_META_MAX		(TLS_CRYPT_V2_MAX_WKC_LEN - WKC_MIN_LEN)	/* 734 */
#define WKC_META_TYPE_USER	0x00
#define WKC_META_TYPE_TIMESTAMP	0x01	/* openvpn --genkey's default: 8-byte unix time */
/* Default WKc: 290 + type byte + 8-byte timestamp. */
#define WKC_DEFAULT_LEN		(WKC_MIN_LEN + 1 + 8)	/* 299 */

/* Errors of wkc_unwrap, each its own counter at the caller. */
#define WKC_ERR_LEN		(-EMSGSIZE)	/* length field wrong, or out of bounds */
#define WKC_ERR_AUTH		(-EBADMSG)	/* tag mismatch */
#define WKC_ERR_CRYPTO		(-EIO)		/* OpenSSL failed */

struct wkc_server;

/* An unwrapped client key. */
struct wkc_client {
	uint8_t kc[TLS_CRYPT_V2_CLIENT_KEY_LEN];	/* a static key, §2.4 layout */
	size_t meta_len;		/* whole metadata, type byte included; may be 0 */
	uint8_t meta[WKC_META_MAX];	/* meta[0] is the type when meta_len > 0 */
};

/*
 * Decodes the "OpenVPN tls-crypt-v2 server key" PEM block in @pem (other
 * blocks are skipped) into @key. Returns 0 or -EINVAL (missing block or not
 * 128 bytes).
 */
int wkc_server_key_parse(const char *pem, uint8_t key[WKC_SERVER_KEY_LEN]) __must_check;

/* Keys a server context with @key. Returns 0, -ENOMEM or -EIO. ctrl only. */
int wkc_server_create(struct wkc_server **out, const uint8_t key[WKC_SERVER_KEY_LEN]) __must_check;
/* Frees @s and cleanses its keys. NULL is fine. */
void wkc_server_free(struct wkc_server *s);

/*
 * Unwraps the @len-byte WKc at @wkc into @c: checks that the trailing
 * length equals @len and that WKC_MIN_LEN <= len <= TLS_CRYPT_V2_MAX_WKC_LEN,
 * decrypts, and compares the tag in constant time. Returns 0 or a WKC_ERR_*
 * value; on error @c holds no key bytes (it is cleansed).
 */
int wkc_unwrap(struct wkc_server *s, const uint8_t *wkc, size_t len,
	       struct wkc_client *c) __must_check;

/*
 * Wraps @kc with @meta_len (<= WKC_META_MAX) metadata bytes @meta (type byte
 * first) into @out (@cap bytes), as `openvpn --genkey tls-crypt-v2-client`
 * does. Returns the WKc length, -EINVAL, -ENOBUFS or WKC_ERR_CRYPTO.
 */
int wkc_wrap(struct wkc_server *s, const uint8_t kc[TLS_CRYPT_V2_CLIENT_KEY_LEN],
	     const uint8_t *meta, size_t meta_len, uint8_t *out, size_t cap) __must_check;

/* True (with @unix_sec) if @c carries a timestamp metadata (type 0x01, 8 bytes). */
bool wkc_meta_timestamp(const struct wkc_client *c, uint64_t *unix_sec);

#endif
