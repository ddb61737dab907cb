/*
 * srvsess.h - the server's control channel for one client (openvpn-wire.md
 * §15(b)): everything after the stateless three-way handshake of
 * ctrl/server/firstpkt.c created the client. TLS (server side) over the
 * reliability layer, the client's key-method-2 message and our answer,
 * the caller's accept/reject decision, PUSH_REQUEST -> PUSH_REPLY (split
 * with push-continuation when long), data keys from EKM or the legacy PRF,
 * renegotiation from either side (client soft reset, our reneg-sec) with a
 * lame-duck key until tran-window, EXIT from the client, and our own
 * control messages (RESTART, HALT, AUTH_FAILED, EXIT) to it.
 *
 * The caller (ctrl/server/server.c) owns the sockets and the client's address:
 * it feeds each control datagram from the client to srvsess_input, calls
 * srvsess_tick at srvsess_next_timeout, and sends what io->send hands it
 * to the client's current address. After each call it looks at
 * srvsess_state():
 *   SRVSESS_AUTH        the client's key-method-2 arrived: read
 *                       srvsess_client(), decide, then srvsess_accept()
 *                       or srvsess_reject() (may be called at once).
 *   SRVSESS_KEYS_READY  the push went out (first key) or a renegotiation
 *                       finished: srvsess_take_keys() (once).
 *   SRVSESS_REJECTED    srvsess_reject() was called: keep feeding input
 *                       and ticks until FAILED (AUTH_FAILED acknowledged,
 *                       or 5 s passed); nothing to decide.
 *   SRVSESS_EXITED      the client sent EXIT: reap it now.
 *   SRVSESS_FAILED      hand-window, TLS error, rejected and told: reap.
 * SRVSESS_TLS, SRVSESS_PUSH and SRVSESS_ACTIVE need nothing from the caller
 * (a renegotiation runs inside ACTIVE until its keys are KEYS_READY).
 * srvsess_take_retired() names key_ids whose data keys to retire.
 *
 * hand-window (o->hand_window) runs from srvsess_create until the first
 * keys are ready, so a decision left pending in SRVSESS_AUTH also ends in
 * FAILED; o->reneg_sec (less 2.6's per-client jitter of up to 10%, or down
 * to reneg-sec's second argument) starts our renegotiation, o->tran_window
 * ends the lame duck. A PUSH_REQUEST within 30 s of our last PUSH_REPLY is
 * not answered; a later one gets the same reply again (keys unchanged).
 * Bad datagrams (unwrap or parse failure, unknown key_id, wrong session id)
 * are counted in the stats and change nothing.
 *
 * Thread: ctrl only.
 */
#ifndef SLUICE_SRVSESS_H
#define SLUICE_SRVSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../core/compiler.h"
#include "../../core/proto.h"
#include "../../crypto/dc.h"
#include "firstpkt.h"
#include "../proto/km2.h"
#include "../proto/chan.h"

struct options;
struct tls_ctx;
struct srvsess;
struct srvtoken_key;

/* Shared by every session of one server; the caller keeps it alive. */
struct srvsess_cfg {
	/* Finalized server options: tls-timeout, hand-window, reneg-sec, tran-window, OCC. */
	const struct options *o;
	struct tls_ctx *tctx;		/* tls-server context */
	enum firstpkt_wrap wrap;	/* same wrapping as the firstpkt classifier */
	/* tls-auth / tls-crypt static key (256 bytes); tls-crypt-v2 uses fr->client. */
	const uint8_t *wrap_key;
	int auth_direction;		/* tls-auth: 0, 1 or TLSWRAP_DIR_BIDI */
	const char *auth_digest;	/* tls-auth: NULL = SHA1 */
	/* auth-gen-token's secret (srvtoken.h); NULL: tokens are not issued or taken. */
	const struct srvtoken_key *token_key;
};

enum srvsess_state {
	SRVSESS_TLS,		/* TLS handshake, then waiting for the client's km2 */
	SRVSESS_AUTH,		/* client km2 in: caller decides (accept / reject) */
	SRVSESS_PUSH,		/* accepted: PUSH_REPLY goes out on PUSH_REQUEST */
	SRVSESS_KEYS_READY,	/* caller installs the keys */
	SRVSESS_ACTIVE,
	SRVSESS_REJECTED,	/* srvsess_reject: AUTH_FAILED in flight, FAILED once acked */
	SRVSESS_EXITED,		/* client sent EXIT */
	SRVSESS_FAILED,		/* over; the reason was logged */
};

/* What the client told us, valid from SRVSESS_AUTH until srvsess_free. */
struct srvsess_client {
	const char *common_name;	/* certificate CN, "" without a client cert */
	const char *username;		/* "" when none sent */
	const char *password;		/* cleansed when the session is freed */
	const char *peer_info;		/* raw IV_* lines, "" when none */
	const char *options;		/* the client's OCC options string */
	struct km2_peer peer;		/* parsed peer info */
	/*
	 * auth-gen-token: the password was a token (has_token) and what
	 * srvtoken_verify said of it (SRVTOKEN_* flags); for the script's
	 * environment, stock's $session_state ("Initial", "Authenticated",
	 * "Expired", "Invalid", ...) and $session_id, NULL without auth-gen-token.
	 */
	bool has_token;
	unsigned int token_flags;
	const char *session_state;
	const char *session_id;
};

/* How the caller accepted the client. */
struct srvsess_accept {
	const char *push;	/* options for PUSH_REPLY, ',' separated, no "PUSH_REPLY," */
	enum dc_cipher cipher;	/* the negotiated data cipher */
	uint32_t peer_id;	/* our peer-id for this client (also pushed in @push) */
	bool ekm;		/* keys from EKM (push has "key-derivation tls-ekm") */
	bool dyn_tls_crypt;	/* renegotiations wrapped with dynamic tls-crypt (§2.6) */
};

/*
 * Creates the session for the client whose third packet @dgram (@len
 * bytes) firstpkt classified as CREATE into @fr, at @now_ns (monotonic).
 * Our session id is the cookie the client echoed, the client's is
 * fr->pkt.sid; message id 0 of each side counts as sent and acked. The
 * wrapping is created here (tls-crypt-v2: from fr->client), one replay id
 * skipped for the stateless reply, and @dgram is then processed like any
 * later datagram. Returns 0 or a negative errno.
 */
int srvsess_create(struct srvsess **out, const struct srvsess_cfg *cfg,
		   const struct session_io *io, const struct firstpkt_result *fr,
		   const uint8_t *dgram, size_t len, int64_t now_ns) __must_check;
void srvsess_free(struct srvsess *s);

void srvsess_input(struct srvsess *s, const uint8_t *buf, size_t len, int64_t now_ns);
void srvsess_tick(struct srvsess *s, int64_t now_ns);
int64_t srvsess_next_timeout(const struct srvsess *s, int64_t now_ns);
enum srvsess_state srvsess_state(const struct srvsess *s);

const struct srvsess_client *srvsess_client(const struct srvsess *s);
/*
 * In SRVSESS_AUTH. @a is copied (push too). The PUSH_REPLY goes out now if
 * the client asked already or announced IV_PROTO_REQUEST_PUSH (state
 * KEYS_READY), else on its PUSH_REQUEST (state PUSH). Returns 0, -EAGAIN
 * (not in AUTH), -EINVAL (no cipher, or a control character in @push),
 * -EMSGSIZE (a push option too long for one message) or -ENOMEM.
 */
int srvsess_accept(struct srvsess *s, const struct srvsess_accept *a) __must_check;
/* In SRVSESS_AUTH: AUTH_FAILED[,@reason] to the client, state REJECTED, then FAILED. */
void srvsess_reject(struct srvsess *s, const char *reason);
/*
 * In SRVSESS_AUTH, while the decision waits (deferred authentication): as
 * 2.6's send_auth_pending_messages, "AUTH_PENDING,timeout N" to a client
 * that announced IV_PROTO_AUTH_PENDING_KW (bare "AUTH_PENDING" otherwise),
 * then "INFO_PRE,@extra". N is @timeout_s capped at max(reneg-sec / 2,
 * hand-window) less the time the session has run; the first key's
 * hand-window moves to N from now. Returns 0, -EAGAIN (not in AUTH) or
 * -EINVAL (@extra unprintable or too long).
 */
int srvsess_auth_pending(struct srvsess *s, unsigned int timeout_s, const char *extra);
/*
 * auth-gen-token (srvsess_token.c). srvsess_token_issue makes the
 * session's next token at wall time @now (the first one starts the session
 * id; later ones keep it, as stock's generate_auth_token), readable with
 * srvsess_token() until the next issue ("" before the first); it also sets
 * the client's session_id. The caller puts it in the PUSH_REPLY
 * ("auth-token ..."). Renegotiations check the client's token themselves
 * and send a renewed one after the new keys, and srvsess_token_tick sends
 * one every renewal period when that is shorter than reneg-sec. 0, -EINVAL
 * (tokens off) or -EIO.
 */
int srvsess_token_issue(struct srvsess *s, int64_t now);
const char *srvsess_token(const struct srvsess *s);
/* Forgets the session's tokens (a refused token: the next login starts over). */
void srvsess_token_wipe(struct srvsess *s);
/* Once a second: the renewal timer (@now_ns monotonic, @now wall). */
void srvsess_token_tick(struct srvsess *s, int64_t now_ns, int64_t now);
/* In SRVSESS_KEYS_READY: copies the keys (tx_peer_id = accept's peer_id). */
int srvsess_take_keys(struct srvsess *s, struct session_keys *k) __must_check;
unsigned int srvsess_take_retired(struct srvsess *s);
/*
 * Sends a control message ("RESTART", "HALT", "EXIT", ...) on the primary
 * key once the client's key-method 2 is in; false if it cannot.
 */
bool srvsess_send_text(struct srvsess *s, const char *text, int64_t now_ns);
/* True once everything we sent was acknowledged. */
bool srvsess_idle(const struct srvsess *s);
/* Our OCC options string (key-method 2), NULL before it was sent. */
const char *srvsess_occ_string(const struct srvsess *s);
/* The control channel under the session (key states, for the data-key policy). */
struct chan *srvsess_chan(struct srvsess *s);
void srvsess_write_stats(const struct srvsess *s, FILE *f);

#endif
