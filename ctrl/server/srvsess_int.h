/*
 * srvsess_int.h - what srvsess.c (the session's life cycle over the shared
 * control channel, ctrl/proto/chan.h), srvsess_msg.c (what is said:
 * key-method 2, push, control messages, accept/reject, data keys) and
 * srvsess_token.c (the session's auth-gen-token state) share. Not an API:
 * only those three files include it. ctrl only.
 */
#ifndef SLUICE_SRVSESS_INT_H
#define SLUICE_SRVSESS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../crypto/kdf.h"
#include "../proto/chan.h"
#include "../proto/ctlmsg.h"
#include "../proto/km2.h"
#include "firstpkt.h"
#include "srvsess.h"
#include "srvtoken.h"
#include "../proto/tls.h"

#define SRVSESS_NS_PER_SEC	1000000000LL
/* A PUSH_REQUEST this soon after our last PUSH_REPLY is not answered (push.c). */
#define SRVSESS_PUSH_EXPIRY_NS	(30 * SRVSESS_NS_PER_SEC)
/* After AUTH_FAILED, give up waiting for its ack (2.6's scheduled-exit-interval). */
#define SRVSESS_REJECT_LINGER_NS	(5 * SRVSESS_NS_PER_SEC)

struct srvsess_stats {
	uint64_t push_requests;
	uint64_t push_replies;		/* PUSH_REPLY sequences sent */
};

struct srvsess {
	struct chan ch;			/* first: container_of from chan callbacks */
	const struct srvsess_cfg *cfg;
	const struct options *o;
	int64_t reject_deadline_ns;
	int64_t push_expiry_ns;		/* PUSH_REQUESTs before this are not answered */
	bool push_requested;		/* a PUSH_REQUEST arrived before the push went out */
	struct srvsess_accept acc;	/* acc.push points to push */
	char *push;
	struct srvsess_client client;	/* strings owned below */
	char *cn, *username, *password, *peer_info, *options;
	char tag[80];			/* "[CN] " for log lines */
	char occ[KM2_OPTIONS_MAX];	/* our OCC options string (key-method 2, OCC_REPLY) */
	struct session_keys keys;
	struct srvsess_stats stats;
	/* auth-gen-token (srvsess_token.c): the session's first token and its latest. */
	char *token_initial;		/* NULL: no session yet */
	char token[SRVTOKEN_LEN + 1];
	char session_id[SRVTOKEN_SID_B64_LEN + 1];
	bool token_empty_user;		/* the client's token was made for "" */
	int64_t token_renew_ns;		/* next renewal push (mono); 0: none due */
};

/* One control message out (the channel's other buffers are chan_scratch). */
extern char srvsess_msg_buf[CTLMSG_MAX];

static inline const char *srvsess_cn(const struct srvsess *s)
{
	return s->cn && *s->cn ? s->cn : "UNDEF";
}

/* srvsess.c */
void srvsess_fail(struct srvsess *s);
/* Sets the log prefix from the client's CN. */
void srvsess_tag_update(struct srvsess *s);

/* srvsess_msg.c */
/* chan_ops.record: one TLS record of plaintext from the client on @k. */
void srvsess_record(struct chan *ch, struct chan_key *k, char *rec, size_t n, int64_t now_ns);
/* Writes @text as one control message on @k (no flush); false (logged) if it cannot. */
bool srvsess_text_write(struct chan_key *k, const char *text);

/* srvsess_token.c */
/* First key: what the client's password says as a token (srvsess_client fields). */
void srvsess_token_first(struct srvsess *s);
/*
 * A renegotiation's credentials: true to go on; false when a token was
 * refused (@reason gets the client's AUTH_FAILED reason, "" for none).
 */
bool srvsess_token_reneg(struct srvsess *s, const char *user, const char *pass, char *reason,
			 size_t rlen);
/* After a renegotiation's keys: a renewed token to the client on @k. */
void srvsess_token_renew(struct srvsess *s, struct chan_key *k);
/* After a refused renegotiation: AUTH_FAILED[,@reason] on @k, then REJECTED. */
void srvsess_reneg_reject(struct srvsess *s, struct chan_key *k, const char *reason);

#endif
