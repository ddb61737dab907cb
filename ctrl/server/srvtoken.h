/*
 * srvtoken.h - `auth-gen-token` session tokens in stock 2.6's format
 * (auth_token.c), so stock clients, and sluice clients, can log in again
 * with the token instead of their password, and tokens minted by a stock
 * server with the same `auth-gen-token-secret` verify here and back.
 *
 * A token is "SESS_ID_AT_" followed by the base64 (80 digits) of
 *
 *	session id 12 | initial timestamp 8 | timestamp 8 | HMAC 32
 *
 * timestamps in seconds of wall time, big-endian; the HMAC is HMAC-SHA256
 * with the secret over the username, then the first 28 bytes. The session
 * id and initial timestamp stay the same for all tokens of one session;
 * the timestamp is renewed whenever a new token goes out (after each
 * renegotiation, and every renewal period). A token verifies while its
 * timestamp is less than 2 x renewal old (and, with a lifetime, while the
 * session is younger than that), for the username it was made for, or for
 * "" when it was made for an unknown username.
 *
 * The secret is the HMAC half of stock's `struct key` (bytes 64..95 of the
 * PEM "OpenVPN auth-token server key" that `openvpn --genkey auth-token`
 * writes), or random per process without auth-gen-token-secret.
 *
 * Pure functions of their arguments (ctrl only, no logging).
 */
#ifndef SLUICE_SRVTOKEN_H
#define SLUICE_SRVTOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/compiler.h"

struct options;

#define SRVTOKEN_PREFIX		"SESS_ID_AT_"
#define SRVTOKEN_PREFIX_LEN	11
#define SRVTOKEN_SID_LEN	12	/* AUTH_TOKEN_SESSION_ID_LEN */
#define SRVTOKEN_SID_B64_LEN	16	/* its base64 digits (a multiple of 3 bytes) */
#define SRVTOKEN_HMAC_LEN	32	/* SHA-256 */
#define SRVTOKEN_DATA_LEN	(SRVTOKEN_SID_LEN + 8 + 8 + SRVTOKEN_HMAC_LEN)	/* 60 */
#define SRVTOKEN_B64_LEN	80	/* 60 bytes in base64, no padding */
#define SRVTOKEN_LEN		(SRVTOKEN_PREFIX_LEN + SRVTOKEN_B64_LEN)
#define SRVTOKEN_PEM_NAME	"OpenVPN auth-token server key"
#define SRVTOKEN_SECRET_LEN	128	/* sizeof(struct key): cipher 64, hmac 64 */

/* verify flags (AUTH_TOKEN_*): HMAC_OK alone means accepted. */
#define SRVTOKEN_HMAC_OK	0x1
#define SRVTOKEN_EXPIRED	0x2
#define SRVTOKEN_EMPTY_USER	0x4	/* made for the username "" */

struct srvtoken_key {
	uint8_t hmac[SRVTOKEN_HMAC_LEN];
};

/*
 * The secret of `auth-gen-token-secret` (a file or inline PEM), or a random
 * one without it. 0 or a negative errno with @err set.
 */
int srvtoken_key_load(struct srvtoken_key *k, const struct options *o, char *err,
		      size_t errlen) __must_check;

/* True if @pass starts with the token prefix (is_auth_token). */
bool srvtoken_is_token(const char *pass);

/*
 * Checks @token for @user at wall time @now (verify_auth_token): the
 * SRVTOKEN_* flags, 0 when it is not a token of ours (bad size, base64 or
 * HMAC), or when @initial (the session's first token, NULL: none yet)
 * names another session.
 */
unsigned int srvtoken_verify(const struct srvtoken_key *k, const char *user, const char *token,
			     int64_t now, unsigned int lifetime, unsigned int renewal,
			     const char *initial);

/*
 * A new token for @user at @now into @out (SRVTOKEN_LEN + 1 bytes):
 * continuing the session of @initial (its session id and initial
 * timestamp), or a new session when @initial is NULL; for "" when
 * @empty_user (generate_auth_token). 0 or -EINVAL (@initial malformed),
 * -EIO (no randomness).
 */
int srvtoken_generate(const struct srvtoken_key *k, const char *user, const char *initial,
		      bool empty_user, int64_t now, char *out) __must_check;

/*
 * The session id part of @token as stock puts it in $session_id (16
 * base64 digits) into @out (17 bytes); "" if @token is too short.
 */
void srvtoken_session_id(const char *token, char *out);

#endif
