/*
 * tlswrap.h - control-channel wrapping: none, --tls-auth, --tls-crypt,
 * --tls-crypt-v2 (client side) and 2.6's dynamic tls-crypt for
 * renegotiations (openvpn-wire.md §2).
 *
 * One struct tlswrap per tls_session and wrapping (2.6 keeps a separate one,
 * with its own replay state, for the dynamic tls-crypt of key_id > 0). It
 * holds the keys, the send replay counter (packet-id from 1, timestamp fixed
 * at the first send) and the receive replay window (64 packets / 15 s on
 * (timestamp, packet-id): a newer timestamp resets the window, an older one
 * is refused).
 *
 * Plain packets, in and out, have the unwrapped layout of §1.5:
 *   [opcode|key_id][own sid 8][ack count][acks][peer sid][mid][payload]
 * Wire layouts:
 *   tls-auth:  [op][sid][HMAC H][pid 4][time 4][rest]   H = 20/32/64
 *   tls-crypt: [op][sid][pid 4][time 4][tag 32][AES-256-CTR(rest)]
 *   tls-crypt-v2 client: tls-crypt with Kc, plus WKc appended in clear to
 *              opcodes 10 (HARD_RESET_CLIENT_V3) and 11 (CONTROL_WKC_V1).
 *
 * Threads: ctrl only. Two clocks: wrap takes unix wall-clock seconds (the
 * replay timestamp on the wire), unwrap takes the monotonic ns clock of
 * core/clock.h (the replay window's 15 s time rule).
 */
#ifndef SLUICE_TLSWRAP_H
#define SLUICE_TLSWRAP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/proto.h"

enum tlswrap_mode {
	TLSWRAP_NONE,
	TLSWRAP_TLS_AUTH,
	TLSWRAP_TLS_CRYPT,		/* also tls-crypt-v2 and dynamic tls-crypt */
};

/* --tls-auth key direction; TLSWRAP_DIR_BIDI when none is given. */
#define TLSWRAP_DIR_BIDI	(-1)

/* Errors of tlswrap_wrap/unwrap, each its own counter at the caller. */
#define TLSWRAP_ERR_LEN		(-EMSGSIZE)	/* truncated, or a bad WKc trailer */
#define TLSWRAP_ERR_AUTH	(-EBADMSG)	/* HMAC or tag mismatch */
#define TLSWRAP_ERR_REPLAY	(-EALREADY)	/* replay window or old timestamp */
#define TLSWRAP_ERR_NOSPC	(-ENOBUFS)	/* the caller's buffer is too small */
#define TLSWRAP_ERR_OPCODE	(-EPROTO)	/* data opcode (6, 9), or 10/11 without a WKc */
#define TLSWRAP_ERR_PID		(-EOVERFLOW)	/* send packet-id exhausted this second */
#define TLSWRAP_ERR_CRYPTO	(-EIO)		/* OpenSSL failed */

struct tlswrap;

/* Fetches HMAC, the digests and AES-256-CTR once. Idempotent; ctrl only. */
int tlswrap_global_init(void) __must_check;
void tlswrap_global_cleanup(void);

/*
 * Constructors (ctrl only). Each returns 0, -EINVAL (bad argument or key
 * file), -ENOMEM or -EIO (OpenSSL), and calls tlswrap_global_init() itself.
 */
int tlswrap_create_none(struct tlswrap **out) __must_check;
/* @key: the 256-byte static key; @direction 0, 1 or TLSWRAP_DIR_BIDI;
 * @digest "SHA1" (NULL means SHA1), "SHA256" or "SHA512". */
int tlswrap_create_auth(struct tlswrap **out, const uint8_t key[KEY2_LEN], int direction,
			const char *digest) __must_check;
/* Client: "inverse" direction (send with key half 1); server: "normal". */
int tlswrap_create_crypt(struct tlswrap **out, const uint8_t key[KEY2_LEN],
			 bool is_server) __must_check;
/*
 * @pem: text holding a "-----BEGIN OpenVPN tls-crypt-v2 client key-----"
 * block (Kc 256 bytes || WKc). @early_neg starts the replay packet-id at
 * EARLY_NEG_START, announcing early negotiation support (§2.5).
 */
int tlswrap_create_crypt_v2_client(struct tlswrap **out, const char *pem,
				   bool early_neg) __must_check;
/*
 * Dynamic tls-crypt (§2.6): key = @ekm (the 256 bytes exported with label
 * EXPORTER-OpenVPN-dynamic-tls-crypt) xor the static key of @base when @base
 * is tls-auth or tls-crypt(-v2) (NULL or a NONE wrap: no xor); tls-crypt
 * layout, the server sends with key half 0. Fresh replay state.
 */
int tlswrap_dynamic_init(struct tlswrap **out, const struct tlswrap *base,
			 const uint8_t ekm[KEY2_LEN], bool is_server) __must_check;
/* Frees @w and cleanses its keys. NULL is fine. */
void tlswrap_free(struct tlswrap *w);

enum tlswrap_mode tlswrap_mode_get(const struct tlswrap *w);
/* Bytes tlswrap_wrap() adds to a packet with @opcode (WKc included). */
size_t tlswrap_overhead(const struct tlswrap *w, uint8_t opcode);
/* The last replay packet-id sent (0 or EARLY_NEG_START before the first). */
uint32_t tlswrap_tx_pid(const struct tlswrap *w);
/* The replay timestamp sent (0 before the first send). */
uint32_t tlswrap_tx_time(const struct tlswrap *w);

/*
 * Wraps the plain packet @in (@len >= 9 bytes) into @out (@cap bytes; must
 * not overlap @in). Takes the next replay packet-id, so every call,
 * retransmissions included, sends a new one; @wall_sec is the unix time,
 * used as the timestamp of the first send and kept after that. Returns the
 * wire length or a TLSWRAP_ERR_* value (@w unchanged then).
 */
int tlswrap_wrap(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		 uint32_t wall_sec) __must_check;

/*
 * Unwraps the received datagram @in into the plain layout in @out (@cap
 * bytes; must not overlap @in). Checks the HMAC/tag first (constant time),
 * then the replay window, and records the packet-id only after both pass.
 * In tls-crypt mode a WKc trailer on opcodes 10 and 11 is cut off first
 * (tlswrap_wkc_split). Returns the plain length or a TLSWRAP_ERR_* value;
 * a refused packet changes nothing in @w, and @out holds no plaintext.
 */
int tlswrap_unwrap(struct tlswrap *w, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		   int64_t now_ns) __must_check;

/*
 * For opcodes 10/11: the WKc is the last @wkc_len bytes of the @len-byte
 * datagram, @wkc_len read from its own last two bytes. Returns 0 (with
 * @wkc_len set) or TLSWRAP_ERR_LEN if the length is impossible.
 */
int tlswrap_wkc_split(const uint8_t *in, size_t len, size_t *wkc_len) __must_check;

/* A short name for a TLSWRAP_ERR_* value, for logs. */
const char *tlswrap_strerror(int err);

#endif
