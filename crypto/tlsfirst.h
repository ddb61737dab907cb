/*
 * tlsfirst.h - stateless tls-auth / tls-crypt unwrap and wrap for the first
 * packets of a UDP server session (openvpn-wire.md §2.2, §2.3, §2.7).
 *
 * Why not struct tlswrap: its unwrap records the replay packet-id in the
 * wrapping's window. A server classifying datagrams from unknown sources
 * has no per-client window yet, and one shared window would let client A's
 * (timestamp, packet-id) refuse client B's first packets. Stock 2.6 sets
 * CO_IGNORE_PACKET_ID on its standalone wrapping for exactly this check;
 * the session's own struct tlswrap (created after the cookie check) then
 * processes the packet again "for real", with replay protection.
 *
 * Same wire layouts, keys and directions as tlswrap.h (and its TLSWRAP_ERR_*
 * values): both are built on the one implementation in wrapprim.c. The
 * server direction only for tls-crypt. tls-crypt-v2: create
 * with any key, then tlsfirst_rekey_crypt() with the client's Kc per packet
 * (no allocation). WKc trailers are the caller's business.
 *
 * Threads: ctrl only; contexts restart per call, so no concurrent calls on
 * one struct tlsfirst.
 */
#ifndef SLUICE_TLSFIRST_H
#define SLUICE_TLSFIRST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/proto.h"
#include "tlswrap.h"

struct tlsfirst;

/* Constructors: as tlswrap_create_*; 0, -EINVAL, -ENOMEM or -EIO. */
int tlsfirst_create_none(struct tlsfirst **out) __must_check;
int tlsfirst_create_auth(struct tlsfirst **out, const uint8_t key[KEY2_LEN], int direction,
			 const char *digest) __must_check;
/* tls-crypt, server ("normal") direction: receive with half 1, send with half 0. */
int tlsfirst_create_crypt(struct tlsfirst **out, const uint8_t key[KEY2_LEN]) __must_check;
/* Re-keys a tls-crypt @t with @key (a tls-crypt-v2 Kc). 0 or -EINVAL/-EIO. */
int tlsfirst_rekey_crypt(struct tlsfirst *t, const uint8_t key[KEY2_LEN]) __must_check;
/* Frees @t (keys live only in the OpenSSL contexts). NULL is fine. */
void tlsfirst_free(struct tlsfirst *t);

enum tlswrap_mode tlsfirst_mode_get(const struct tlsfirst *t);

/*
 * Verifies and unwraps the @len-byte datagram @in (no WKc) into @out (@cap
 * bytes, no overlap) without any replay check; returns the plain length and
 * the replay (@pid, @time) (0, 0 in mode none), or a TLSWRAP_ERR_* value
 * (then @out holds no plaintext).
 */
int tlsfirst_open(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		  uint32_t *pid, uint32_t *time) __must_check;

/*
 * Wraps the plain packet @in into @out with the given replay @pid and
 * @time. Returns the wire length or a TLSWRAP_ERR_* value.
 */
int tlsfirst_seal(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		  uint32_t pid, uint32_t time) __must_check;

#endif
