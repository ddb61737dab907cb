/*
 * cookie.h - the stateless UDP server's session-id cookie
 * (openvpn-wire.md §2.7).
 *
 * A server answering a HARD_RESET_CLIENT from an unknown address keeps no
 * state: its own session id is a MAC of the client's address, the client's
 * session id and a coarse time slot, so the client's third packet (which
 * must ack the reset with that session id) proves it can receive at that
 * address. Only then does the server allocate anything.
 *
 *   sid = HMAC-SHA256(key, slot(8, big endian) || addr || client sid(8))[0..7]
 *   slot = now_sec / ((hand_window + 1) / 2)      (divisor at least 1)
 *   addr: the canonical serialisation of cookie_sockaddr_serialise():
 *         v4: 0x04 | port(2) | address(4)
 *         v6: 0x06 | port(2) | address(16) | scope id(4, big endian)
 *         (a v4-mapped v6 address serialises as v4, so a dual-stack socket
 *         and a v4 socket give one cookie; flowinfo is ignored: it may
 *         change between packets).
 *
 * A cookie is accepted in its own slot and the next one, i.e. for between
 * hand_window / 2 and hand_window seconds. Stock 2.6 accepts slot offsets
 * -2..+1 (up to 1.5 hand windows, and a slot from the future); we are
 * stricter on purpose: a 2.6 client sends its third packet within a
 * retransmit or two of the server reset. Our cookies need not match
 * OpenVPN's bytes (only the issuing server checks them).
 *
 * Threads: ctrl only. struct cookie_key owns a keyed HMAC context that is
 * restarted per call, so calls on one key must not run concurrently.
 */
#ifndef SLUICE_COOKIE_H
#define SLUICE_COOKIE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/compiler.h"
#include "../core/pkt.h"
#include "../core/proto.h"

#define COOKIE_KEY_LEN		32	/* HMAC-SHA256 key: its block-size-safe strength */
/* Longest address serialisation: 0x06 | port | v6 address | scope id. */
#define COOKIE_ADDR_MAX		(1 + 2 + 16 + 4)
#define COOKIE_HAND_WINDOW_DEFAULT	60	/* --hand-window default, seconds */

struct cookie_key {
	void *mac_ctx;			/* EVP_MAC_CTX, keyed once by cookie_init */
};

enum cookie_verdict {
	COOKIE_VALID,			/* current or previous slot */
	COOKIE_STALE,			/* two slots old: a slow or replayed handshake */
	COOKIE_INVALID,			/* forged, another address/port, or older */
};

/*
 * Keys @k with @key (COOKIE_KEY_LEN random bytes, from the caller so tests
 * are deterministic). Returns 0, -ENOMEM or -EIO (OpenSSL). ctrl only.
 */
int cookie_init(struct cookie_key *k, const uint8_t key[COOKIE_KEY_LEN]) __must_check;
/* Frees the context of @k (which may be zeroed or already freed). */
void cookie_free(struct cookie_key *k);

/* The time slot of @now_sec for @hand_window_sec (slots are (hw+1)/2 s, at least 1 s). */
uint64_t cookie_time_slot(uint64_t now_sec, unsigned int hand_window_sec);

/*
 * Writes the canonical bytes of @src (@len bytes of it are valid) into @out.
 * Returns their length, or -EAFNOSUPPORT (not v4/v6) / -EINVAL (@len short).
 */
int cookie_sockaddr_serialise(const union sockaddr_any *src, socklen_t len,
			      uint8_t out[COOKIE_ADDR_MAX]) __must_check;

/*
 * The server session id for a client with @client_sid at @src in @slot.
 * Returns 0, a cookie_sockaddr_serialise() error, or -EIO (OpenSSL).
 */
int cookie_session_id(struct cookie_key *k, uint64_t slot, const union sockaddr_any *src,
		      socklen_t len, const uint8_t client_sid[SID_LEN],
		      uint8_t out_sid[SID_LEN]) __must_check;

/*
 * Checks the session id @sid a client at @src (with @client_sid) echoed,
 * at @now_sec: constant-time compares against the current and previous
 * slot (and, for the STALE diagnosis only, the one before). An address
 * that cannot be serialised or an OpenSSL failure is COOKIE_INVALID.
 */
enum cookie_verdict cookie_check(struct cookie_key *k, uint64_t now_sec,
				 unsigned int hand_window_sec, const union sockaddr_any *src,
				 socklen_t len, const uint8_t client_sid[SID_LEN],
				 const uint8_t sid[SID_LEN]);

#endif
