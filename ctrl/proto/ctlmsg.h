/*
 * ctlmsg.h - text commands on the control channel after key-method 2
 * (openvpn-wire.md §9).
 *
 * Each command is one TLS record holding printable text and a terminating
 * NUL. Like 2.6.12+ (ssl_pkt.c extract_command_buffer) the receiver splits
 * what one TLS read returned at NUL bytes, strips trailing '\r'/'\n', and
 * drops commands with other control characters. ctrl only; pure.
 */
#ifndef SLUICE_CTLMSG_H
#define SLUICE_CTLMSG_H

#include <stdbool.h>
#include <stddef.h>

#include "../../core/compiler.h"

/*
 * TLS_CHANNEL_BUF_SIZE: 2.6 writes a command from, and reads one TLS record
 * into, a 2048-byte buffer, so a longer command is cut in two at the peer.
 */
#define CTLMSG_MAX		2048	/* including the NUL */

enum ctlmsg_type {
	CTLMSG_UNKNOWN = 0,	/* well-formed text, not a command we know: warn, ignore */
	CTLMSG_INVALID,		/* control characters or no NUL: drop (2.6.12+ does) */
	CTLMSG_PUSH_REQUEST,	/* c->s */
	CTLMSG_PUSH_REPLY,	/* s->c; arg = the option list, "" for a bare PUSH_REPLY */
	CTLMSG_AUTH_FAILED,	/* s->c; arg = reason ("" if none) */
	CTLMSG_AUTH_PENDING,	/* s->c; arg = keywords */
	CTLMSG_RESTART,		/* s->c; arg = message, flags stripped */
	CTLMSG_HALT,		/* s->c; arg = message, flags stripped */
	CTLMSG_INFO,		/* arg = message */
	CTLMSG_INFO_PRE,	/* arg = message */
	CTLMSG_CR_RESPONSE,	/* c->s; arg = base64 response */
	CTLMSG_EXIT,		/* either direction (cc-exit) */
};

/* AUTH_FAILED,TEMP[advance ...] (options_util.c parse_auth_failed_temp). */
enum ctlmsg_advance {
	CTLMSG_ADVANCE_DEFAULT = 0,	/* no advance flag */
	CTLMSG_ADVANCE_NO,		/* retry the same remote */
	CTLMSG_ADVANCE_REMOTE,		/* go to the next remote entry */
	CTLMSG_ADVANCE_ADDR,		/* go to the next address */
};

struct ctlmsg {
	enum ctlmsg_type type;
	/*
	 * The whole command after stripping, NUL-terminated in the caller's
	 * buffer (e.g. "PUSH_REPLY,route ..."), and its length. For
	 * CTLMSG_INVALID it is the raw bytes and not NUL-terminated.
	 */
	const char *text;
	size_t len;
	const char *arg;		/* NUL-terminated, never NULL ("" if none) */

	/* AUTH_FAILED,TEMP[backoff N,advance no|remote|addr]:message */
	bool is_temp;
	unsigned int temp_backoff;	/* seconds, 0 = none given */
	enum ctlmsg_advance temp_advance;

	/* RESTART,[flags]msg and HALT,[flags]msg */
	bool keep_auth;			/* P: keep cached username/password */
	bool next_remote;		/* N: advance to the next remote */

	/* AUTH_PENDING,timeout N */
	bool has_timeout;
	unsigned int timeout;
};

/* Walks the commands of one TLS read. The buffer is modified in place. */
struct ctlmsg_iter {
	char *p;
	size_t left;
};

void ctlmsg_iter_init(struct ctlmsg_iter *it, char *buf, size_t len);

/*
 * Classifies the next command (empty ones are skipped, as OpenVPN does).
 * Writes NUL bytes into the buffer to terminate text and arg. Returns false
 * when no bytes are left.
 */
bool ctlmsg_next(struct ctlmsg_iter *it, struct ctlmsg *m);

/* The type's name for logs ("PUSH_REPLY", "INVALID", ...). */
const char *ctlmsg_type_name(enum ctlmsg_type t);

/*
 * Writes @text and its NUL into @out: exactly what one tls_conn_write must
 * send. Returns the length including the NUL, -EINVAL (empty text, or a
 * control character: a peer would drop it), -EMSGSIZE (over CTLMSG_MAX) or
 * -ENOSPC (@cap too small).
 */
int ctlmsg_build(char *out, size_t cap, const char *text) __must_check;
int ctlmsg_build_push_request(char *out, size_t cap) __must_check;
int ctlmsg_build_exit(char *out, size_t cap) __must_check;
/* "AUTH_FAILED" or "AUTH_FAILED,<reason>" (@reason NULL or "" for none). */
int ctlmsg_build_auth_failed(char *out, size_t cap, const char *reason) __must_check;

/*
 * @text for a log line, as stock's sanitize_control_message: session tokens
 * ("SESS_ID_..." keeps "SESS_ID"), "auth-token ..." (keeps "auth-token ") and
 * "echo ..." (keeps "echo") are cut up to the next ','. Into @out (@len
 * bytes, truncated to fit); returns @out.
 */
const char *ctlmsg_sanitize(const char *text, char *out, size_t len);

#endif
