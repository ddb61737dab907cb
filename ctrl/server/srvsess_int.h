/*
 * srvsess_int.h - what srvsess.c (transport: wrapping, reliability, TLS,
 * renegotiation, timers) and srvsess_msg.c (what is said: key-method 2,
 * push, control messages, accept/reject, data keys) share. Not an API:
 * only those two files include it. ctrl only.
 */
#ifndef SLUICE_SRVSESS_INT_H
#define SLUICE_SRVSESS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../crypto/kdf.h"
#include "../proto/ctlmsg.h"
#include "firstpkt.h"
#include "../proto/reliable.h"
#include "srvsess.h"
#include "../proto/tls.h"

#define SRVSESS_NS_PER_SEC	1000000000LL
/* A PUSH_REQUEST this soon after our last PUSH_REPLY is not answered (push.c). */
#define SRVSESS_PUSH_EXPIRY_NS	(30 * SRVSESS_NS_PER_SEC)
/* After AUTH_FAILED, give up waiting for its ack (2.6's scheduled-exit-interval). */
#define SRVSESS_REJECT_LINGER_NS	(5 * SRVSESS_NS_PER_SEC)

/* Per-key negotiation state; AUTH and PUSH happen on the first key only. */
enum srvsess_key_st {
	SRVSESS_KS_DEAD = 0,	/* free slot, or dropped */
	SRVSESS_KS_RESET_SENT,	/* renegotiation: our soft reset out, not the client's */
	SRVSESS_KS_TLS,		/* TLS handshake */
	SRVSESS_KS_KM2,		/* handshake done, waiting for the client's key-method 2 */
	SRVSESS_KS_AUTH,	/* the caller decides */
	SRVSESS_KS_PUSH,	/* accepted, PUSH_REPLY on PUSH_REQUEST */
	SRVSESS_KS_KEYS_READY,
	SRVSESS_KS_ACTIVE,
};

struct srvsess_stats {
	uint64_t rx_unwrap_errs;	/* HMAC/tag, replay, length */
	uint64_t rx_parse_errs;		/* malformed, or an opcode a client may not send */
	uint64_t rx_other_key;		/* key_id we do not run */
	uint64_t rx_reliable_drops;	/* refused by the reliability layer */
	uint64_t tx_pkts;
	uint64_t tx_errs;
	uint64_t push_requests;
	uint64_t push_replies;		/* PUSH_REPLY sequences sent */
	uint64_t renegotiations;	/* completed */
};

struct srvsess_key {
	struct tls_conn *tls;
	struct reliable *rel;		/* allocated while the slot is in use */
	enum srvsess_key_st st;
	uint8_t key_id;
	int64_t hand_deadline_ns;	/* hand-window: give up negotiating */
	int64_t active_ns;		/* keys taken: reneg-sec runs from here */
	int64_t expire_ns;		/* lame duck: tran-window ends */
	/* Key-method-2 randoms of both sides, for the legacy PRF (§5.2). */
	struct kdf_key_source cli_src;
	struct kdf_key_source srv_src;
};

struct srvsess {
	const struct srvsess_cfg *cfg;
	const struct options *o;
	struct session_io io;
	struct tlswrap *wrap;
	struct srvsess_key *pri;	/* the first or established key state */
	struct srvsess_key *nxt;	/* renegotiating, or NULL */
	struct srvsess_key *lame;	/* previous key until tran-window, or NULL */
	struct srvsess_key kbuf[3];
	enum srvsess_state state;	/* 0, or REJECTED, EXITED, FAILED */
	uint8_t retire_mask;
	int64_t now_ns;
	int64_t reneg_ns;		/* reneg-sec with the server's jitter; 0 = off */
	int64_t reject_deadline_ns;
	int64_t push_expiry_ns;		/* PUSH_REQUESTs before this are not answered */
	bool push_requested;		/* a PUSH_REQUEST arrived before the push went out */
	uint8_t sid[SID_LEN];		/* ours: the cookie */
	uint8_t peer_sid[SID_LEN];	/* the client's */
	struct srvsess_accept acc;	/* acc.push points to push */
	char *push;
	struct srvsess_client client;	/* strings owned below */
	char *cn, *username, *password, *peer_info, *options;
	struct session_keys keys;
	struct srvsess_stats stats;
};

/* One ctrl thread: the buffers every session borrows during one call. */
struct srvsess_scratch {
	uint8_t plain[FIRSTPKT_DGRAM_MAX];	/* unwrapped packet in / built packet out */
	uint8_t wire[FIRSTPKT_DGRAM_MAX];	/* wrapped packet out */
	uint8_t stream[TLS_CHANNEL_BUF_SIZE];	/* reliable stream <-> TLS; km2 out */
	char rec[TLS_RECORD_MAX + 1];		/* one TLS record of plaintext in */
	char msg[CTLMSG_MAX];			/* one control message out */
};
extern struct srvsess_scratch srvsess_scratch;

static inline const char *srvsess_cn(const struct srvsess *s)
{
	return s->cn && *s->cn ? s->cn : "UNDEF";
}

/* srvsess.c */
void srvsess_fail(struct srvsess *s);
/* Moves @k's TLS output into reliable messages while its send window has room. */
void srvsess_tls_out(struct srvsess_key *k);
/* Wraps and sends every packet @k's reliability layer has due at @now_ns. */
void srvsess_flush(struct srvsess *s, struct srvsess_key *k, int64_t now_ns);

/* srvsess_msg.c */
/* One TLS record of plaintext (in srvsess_scratch.rec) from the client on @k. */
void srvsess_record(struct srvsess *s, struct srvsess_key *k, size_t n, int64_t now_ns);

#endif
