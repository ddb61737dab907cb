/*
 * session.h - the client's side of the control channel (openvpn-wire.md
 * §15(a)): the client role over ctrl/proto/chan.h: hard reset, key-method
 * 2, PUSH_REQUEST/PUSH_REPLY, the server's messages, and the data keys.
 *
 * The caller (main.c) owns the socket path: it feeds every received
 * control datagram to session_input, calls session_tick at
 * session_next_timeout, and sends what the session hands to io->send.
 * After each call it looks at session_state(): SESSION_KEYS_READY means
 * the push was applied to the options and session_keys() is valid (once);
 * SESSION_FAILED / SESSION_RESTART mean the session is over (the reason
 * was logged). Renegotiation (either side, reneg-sec) runs inside: when a
 * new key is ready the state is SESSION_KEYS_READY again (keys.is_reneg),
 * and session_take_retired() names the old key_ids whose data keys must
 * be retired (lame duck replaced or past tran-window). ctrl thread only.
 */
#ifndef SLUICE_SESSION_H
#define SLUICE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../core/compiler.h"
#include "../../core/proto.h"
#include "../../crypto/dc.h"
#include "../proto/chan.h"

struct options;
struct session;

enum session_state {
	SESSION_RESET_SENT,	/* hard reset out, waiting for the server's */
	SESSION_TLS,		/* TLS handshake */
	SESSION_KM2,		/* our key-method-2 sent, waiting for the server's */
	SESSION_PULL,		/* PUSH_REQUEST until a complete PUSH_REPLY */
	SESSION_KEYS_READY,	/* push applied, keys exported: caller installs them */
	SESSION_ACTIVE,		/* caller took the keys */
	SESSION_RESTART,	/* RESTART, hand-window, TLS error: reconnect */
	SESSION_FAILED,		/* AUTH_FAILED, HALT, configuration: give up */
};

/*
 * Builds a session from the finalized client options @o (TLS context,
 * control-channel wrapping). Returns 0 or a negative errno with @err set.
 */
int session_create(struct session **out, struct options *o, const struct session_io *io,
		   char *err, size_t errlen) __must_check;
/* Frees @s and cleanses its key material. NULL is fine. */
void session_free(struct session *s);

/*
 * Starts (or restarts, with a fresh session id) the handshake at @now_ns,
 * with the control channel wrapping of the connection entry o->conn_cur.
 */
int session_start(struct session *s, int64_t now_ns) __must_check;
/* One control datagram from the server (the whole UDP payload). */
void session_input(struct session *s, const uint8_t *buf, size_t len, int64_t now_ns);
/* Retransmissions, PUSH_REQUEST timer, hand-window. */
void session_tick(struct session *s, int64_t now_ns);
/* When session_tick wants to run next (INT64_MAX: nothing pending). */
int64_t session_next_timeout(const struct session *s, int64_t now_ns);

enum session_state session_state(const struct session *s);
/* In SESSION_KEYS_READY: copies the keys out and moves to SESSION_ACTIVE. */
int session_take_keys(struct session *s, struct session_keys *k) __must_check;
/* Bit k set: key_id k's data keys are no longer used (retire them). Clears. */
unsigned int session_take_retired(struct session *s);
/* After SESSION_RESTART: true if the server's RESTART said [N] (next remote). Clears. */
bool session_take_next_remote(struct session *s);
/*
 * After SESSION_RESTART: true if it was an AUTH_FAILED that reconnects to
 * the same remote: TEMP, with its backoff in seconds in @backoff_s (0: none
 * given), or a refused auth-token, or auth-retry (backoff 0). Clears.
 */
bool session_take_auth_temp(struct session *s, unsigned int *backoff_s);
/*
 * True once a PUSH_REQUEST went out for the current handshake (stock's
 * GET_CONFIG moment; a 2.6 server that pushes early is answered before).
 */
bool session_pull_asked(const struct session *s);
/* "AUTH_PENDING" while the server authenticates out of band, else NULL. */
const char *session_auth_state(const struct session *s);
/* Our OCC options string (sent in key-method 2), NULL before the first. */
const char *session_occ_string(const struct session *s);
/* The last INFO_PRE / INFO text from the server ("" if none). */
const char *session_info_text(const struct session *s);
/* After SESSION_RESTART / SESSION_FAILED: why (CONN_WHY_*, ctrl/state.h). */
const char *session_end_reason(const struct session *s);
/* The control channel under the session (key states, for the data-key policy). */
struct chan *session_chan(struct session *s);
/* Sends EXIT on the control channel (cc-exit); true if it was queued. */
bool session_send_exit(struct session *s, int64_t now_ns);
/* True once everything we sent was acknowledged (e.g. the EXIT). */
bool session_idle(const struct session *s);
/* Counters for the status file. */
void session_write_stats(const struct session *s, FILE *f);

#endif
