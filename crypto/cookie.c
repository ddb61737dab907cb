/*
 * cookie.c - owns the stateless server's session-id cookie: the keyed HMAC
 * context, the canonical address serialisation and the slot arithmetic
 * (formula and rationale in cookie.h, openvpn-wire.md §2.7).
 *
 * Threads: ctrl only; the HMAC context (wrapprim.h) is restarted per call
 * with the key it was initialised with (EVP_MAC_init with a NULL key), so no
 * key bytes are kept outside OpenSSL. Nothing is logged.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cookie.h"
#include "wrapprim.h"

#define COOKIE_MAC_LEN		32	/* SHA-256 output; the cookie is its first SID_LEN bytes */
#define COOKIE_TAG_V4		0x04
#define COOKIE_TAG_V6		0x06

int cookie_init(struct cookie_key *k, const uint8_t key[COOKIE_KEY_LEN])
{
	_Static_assert(COOKIE_KEY_LEN == COOKIE_MAC_LEN, "HMAC-SHA256 takes a 32-byte key here");
	k->mac_ctx = NULL;
	if (wrapprim_global_init())
		return -EIO;
	k->mac_ctx = wrapprim_mac_new(WRAPPRIM_SHA256, key);
	return k->mac_ctx ? 0 : -EIO;
}

void cookie_free(struct cookie_key *k)
{
	EVP_MAC_CTX_free(k->mac_ctx);
	k->mac_ctx = NULL;
}

uint64_t cookie_time_slot(uint64_t now_sec, unsigned int hand_window_sec)
{
	uint64_t len = ((uint64_t)hand_window_sec + 1) / 2;

	/* --hand-window 0 would divide by zero: one-second slots instead. */
	return now_sec / (len ? len : 1);
}

static bool cookie_is_v4_mapped(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a->s6_addr, prefix, sizeof(prefix));
}

int cookie_sockaddr_serialise(const union sockaddr_any *src, socklen_t len,
			      uint8_t out[COOKIE_ADDR_MAX])
{
	const struct sockaddr_in6 *s6 = &src->in6;

	if (len < sizeof(sa_family_t))
		return -EINVAL;
	switch (src->sa.sa_family) {
	case AF_INET:
		if (len < sizeof(struct sockaddr_in))
			return -EINVAL;
		out[0] = COOKIE_TAG_V4;
		memcpy(out + 1, &src->in4.sin_port, 2);
		memcpy(out + 3, &src->in4.sin_addr, 4);
		return 7;
	case AF_INET6:
		if (len < sizeof(struct sockaddr_in6))
			return -EINVAL;
		memcpy(out + 1, &s6->sin6_port, 2);
		if (cookie_is_v4_mapped(&s6->sin6_addr)) {
			out[0] = COOKIE_TAG_V4;
			memcpy(out + 3, s6->sin6_addr.s6_addr + 12, 4);
			return 7;
		}
		out[0] = COOKIE_TAG_V6;
		memcpy(out + 3, s6->sin6_addr.s6_addr, 16);
		store_be32(out + 19, s6->sin6_scope_id);
		return COOKIE_ADDR_MAX;
	default:
		return -EAFNOSUPPORT;
	}
}

/* The cookie for already-serialised address bytes. */
static int cookie_compute(struct cookie_key *k, uint64_t slot, const uint8_t *addr,
			  size_t addr_len, const uint8_t client_sid[SID_LEN],
			  uint8_t out_sid[SID_LEN])
{
	uint8_t slot_be[8], mac[COOKIE_MAC_LEN];

	store_be32(slot_be, (uint32_t)(slot >> 32));
	store_be32(slot_be + 4, (uint32_t)slot);
	if (!k->mac_ctx || !wrapprim_mac3(k->mac_ctx, slot_be, sizeof(slot_be), addr, addr_len,
					  client_sid, SID_LEN, mac))
		return -EIO;
	memcpy(out_sid, mac, SID_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int cookie_session_id(struct cookie_key *k, uint64_t slot, const union sockaddr_any *src,
		      socklen_t len, const uint8_t client_sid[SID_LEN], uint8_t out_sid[SID_LEN])
{
	uint8_t addr[COOKIE_ADDR_MAX];
	int n = cookie_sockaddr_serialise(src, len, addr);

	if (n < 0)
		return n;
	return cookie_compute(k, slot, addr, (size_t)n, client_sid, out_sid);
}

/* True if @sid is the cookie of @slot; constant time in the sid bytes. */
static bool cookie_matches(struct cookie_key *k, uint64_t slot, const uint8_t *addr,
			   size_t addr_len, const uint8_t client_sid[SID_LEN],
			   const uint8_t sid[SID_LEN])
{
	uint8_t expect[SID_LEN];

	if (cookie_compute(k, slot, addr, addr_len, client_sid, expect))
		return false;
	return CRYPTO_memcmp(expect, sid, SID_LEN) == 0;
}

enum cookie_verdict cookie_check(struct cookie_key *k, uint64_t now_sec,
				 unsigned int hand_window_sec, const union sockaddr_any *src,
				 socklen_t len, const uint8_t client_sid[SID_LEN],
				 const uint8_t sid[SID_LEN])
{
	uint64_t slot = cookie_time_slot(now_sec, hand_window_sec);
	uint8_t addr[COOKIE_ADDR_MAX];
	int n = cookie_sockaddr_serialise(src, len, addr);

	if (n < 0)
		return COOKIE_INVALID;
	if (cookie_matches(k, slot, addr, (size_t)n, client_sid, sid))
		return COOKIE_VALID;
	if (slot >= 1 && cookie_matches(k, slot - 1, addr, (size_t)n, client_sid, sid))
		return COOKIE_VALID;
	/* Diagnosis only: tells a slow client from a forger in the counters. */
	if (slot >= 2 && cookie_matches(k, slot - 2, addr, (size_t)n, client_sid, sid))
		return COOKIE_STALE;
	return COOKIE_INVALID;
}
