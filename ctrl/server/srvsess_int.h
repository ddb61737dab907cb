/*
 * srvsess_int.h - what srvsess.c (the session's life cycle over the shared
 * control channel, ctrl/proto/chan.h) and srvsess_msg.c (what is said:
 * key-method 2, push, control messages, accept/reject, data keys) share.
 * Not an API: only those two files include it. ctrl only.
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

#endif
