/*
 * chan.h - one OpenVPN control channel (openvpn-wire.md §1-§3, §10), shared
 * by both roles: the client's session (ctrl/client/session.c) and each
 * server session (ctrl/server/srvsess.c) embed a struct chan and give it a
 * small struct chan_ops for what differs between them (what is said once
 * TLS is up: key-method 2, push, control messages).
 *
 * The channel owns:
 *   - the wrapping: the session's static one (none, tls-auth, tls-crypt,
 *     tls-crypt-v2) and, once negotiated, dynamic tls-crypt for every
 *     packet of key_id > 0 (§2.6), each with its own replay state;
 *   - up to three key states: the primary (first or established), the next
 *     one (renegotiating) and the lame duck (the previous primary, until
 *     tran-window or the next hand-over), each with its reliability layer
 *     and TLS session;
 *   - the TLS pump: reliable stream -> TLS -> records for the role, and TLS
 *     output -> reliable messages -> wrapped datagrams out through io.send;
 *   - renegotiation from either side (§10) and the key hand-over;
 *   - the timers: retransmissions, hand-window, reneg-sec, tran-window.
 *
 * Renegotiation. Either side starts it with P_CONTROL_SOFT_RESET_V1 on the
 * successor key_id (1..7, 7 wraps to 1). A new key state starts TLS as soon
 * as any of these happens, as stock 2.6 does, so every order a peer may
 * use works:
 *   - the peer's soft reset for that key_id arrives (it answered ours, or
 *     its own crossed ours, or it started);
 *   - the peer acknowledges our soft reset (a peer such as the OpenVPN 3
 *     core answers a server's soft reset with only an ack and its
 *     ClientHello, never a soft reset of its own);
 *   - the peer's first P_CONTROL_V1 on that key_id arrives.
 * Until then only acks and those packets are taken on the new key.
 *
 * Thread: ctrl only. One set of scratch buffers serves every channel (one
 * ctrl thread; a channel never calls into another).
 */
#ifndef SLUICE_CHAN_H
#define SLUICE_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../core/compiler.h"
#include "../../core/proto.h"
#include "../../crypto/dc.h"
#include "../../crypto/kdf.h"
#include "reliable.h"
#include "tls.h"

struct chan;
struct tlswrap;

/* How a channel sends: one wrapped control datagram; 0 or a negative errno. */
struct session_io {
	int (*send)(void *arg, const uint8_t *buf, size_t len);
	void *arg;
};

/* The data keys of a negotiated key state, handed to the data plane. */
struct session_keys {
	uint8_t key_id;
	enum dc_cipher cipher;
	uint32_t tx_peer_id;		/* peer-id to stamp on P_DATA_V2, or PEER_ID_NONE */
	bool is_reneg;			/* from a renegotiation */
	uint8_t key2[KEY2_LEN];		/* EKM "EXPORTER-OpenVPN-datakeys" or the PRF */
};

/* Negotiation state of one key state. AUTH and PULL happen on the first key only. */
enum chan_ks {
	CHAN_KS_DEAD = 0,	/* free, or dropped */
	CHAN_KS_RESET_SENT,	/* our reset out: waiting for the peer (see above) */
	CHAN_KS_TLS,		/* TLS handshake */
	CHAN_KS_KM2,		/* TLS up: key-method-2 exchange */
	CHAN_KS_AUTH,		/* server: the caller decides */
	CHAN_KS_PULL,		/* first key: PUSH_REQUEST / PUSH_REPLY */
	CHAN_KS_KEYS_READY,	/* data keys derived: the caller takes them */
	CHAN_KS_ACTIVE,
};

/* How the channel ended; CHAN_LIVE while it runs. Ordered: later is more final. */
enum chan_end {
	CHAN_LIVE = 0,
	CHAN_REJECTED,		/* server: AUTH_FAILED in flight; records still read */
	CHAN_EXITED,		/* the peer sent EXIT: our ack still goes out */
	CHAN_RESTART,		/* reconnect (client) / reap (server) */
	CHAN_FAILED,		/* give up */
};

struct chan_key {
	struct tls_conn *tls;
	struct reliable *rel;		/* allocated while the state is in use */
	enum chan_ks st;
	uint8_t key_id;
	int64_t hand_deadline_ns;	/* hand-window: give up negotiating */
	int64_t active_ns;		/* keys taken: reneg-sec runs from here */
	int64_t expire_ns;		/* lame duck: tran-window ends */
	/* Key-method-2 randoms of both sides, for the legacy PRF (§5.2); cleansed after use. */
	struct kdf_key_source cli_src;
	struct kdf_key_source srv_src;
};

struct chan_stats {
	uint64_t rx_pkts;		/* datagrams handed to chan_input */
	uint64_t rx_unwrap_errs;	/* HMAC/tag, replay, length */
	uint64_t rx_parse_errs;		/* malformed, or an opcode this peer may not send */
	uint64_t rx_other_key;		/* key_id we do not run */
	uint64_t rx_reliable_drops;	/* refused by the reliability layer */
	uint64_t tx_pkts;
	uint64_t tx_errs;
	uint64_t renegotiations;	/* completed */
	uint64_t reneg_local;		/* started by our reneg-sec */
	uint64_t reneg_peer;		/* started by the peer's soft reset */
	uint64_t dyn_wrapped;		/* packets sent with dynamic tls-crypt */
};

/* What differs between the roles. */
struct chan_ops {
	/*
	 * TLS of @k just finished its handshake. The client sends its
	 * key-method-2 message here. Returns 0, or a negative errno to end the
	 * channel with CHAN_RESTART.
	 */
	int (*tls_up)(struct chan *c, struct chan_key *k, int64_t now_ns);
	/* One TLS record of plaintext on @k, NUL-terminated at @rec[@n]. */
	void (*record)(struct chan *c, struct chan_key *k, char *rec, size_t n, int64_t now_ns);
	/* Prefix for log lines ("[CN] " on a server, "" on a client). */
	const char *(*tag)(const struct chan *c);
};

struct chan {
	const struct chan_ops *ops;
	struct session_io io;
	struct tls_ctx *tctx;
	struct tlswrap *wrap;		/* the session's static wrapping */
	struct tlswrap *dyn;		/* dynamic tls-crypt for key_id > 0, or NULL */
	bool is_server;
	bool wkc_resend;		/* tls-crypt-v2 client: next packet is CONTROL_WKC_V1 */
	/*
	 * Tests only: answer the peer's soft reset with TLS at once and no soft
	 * reset of our own, as the OpenVPN 3 core does.
	 */
	bool answer_reset_with_tls;
	unsigned int tls_timeout_s;
	unsigned int hand_window_s;
	unsigned int tran_window_s;
	int64_t reneg_ns;		/* our reneg-sec (0 = off) */
	struct chan_key *pri;		/* the first or established key state */
	struct chan_key *nxt;		/* renegotiating, or NULL */
	struct chan_key *lame;		/* previous key until tran-window, or NULL */
	struct chan_key kbuf[3];
	enum chan_end end;
	const char *end_why;		/* CONN_WHY_* (ctrl/state.h) of the end, NULL while live */
	uint8_t retire_mask;		/* key_ids whose control state ended (chan_take_retired) */
	int64_t now_ns;			/* of the current input or tick */
	int64_t reneg_hold_ns;		/* renegotiation held back until then (chan_reneg_hold) */
	uint8_t sid[SID_LEN];		/* ours */
	uint8_t peer_sid[SID_LEN];	/* the peer's, once known */
	struct chan_stats stats;
};

/* One ctrl thread: the buffers every channel borrows during one call. */
struct chan_scratch {
	/* A datagram with a tls-crypt-v2 WKc trailer is the largest a peer sends. */
	uint8_t plain[WIRE_MAX + TLS_CRYPT_V2_MAX_WKC_LEN];	/* unwrapped in / built out */
	uint8_t wire[WIRE_MAX + TLS_CRYPT_V2_MAX_WKC_LEN];	/* wrapped packet out */
	uint8_t stream[TLS_CHANNEL_BUF_SIZE];	/* reliable stream <-> TLS; km2 out */
	char rec[TLS_RECORD_MAX + 1];	/* one TLS record of plaintext in */
};
extern struct chan_scratch chan_scratch;

/*
 * Sets up @c (zeroed by the caller's allocation) for one role. @o supplies
 * tls-timeout, hand-window and tran-window (0 = stock defaults). @wrap is
 * taken over (freed with the channel). No key state exists yet.
 */
void chan_init(struct chan *c, const struct chan_ops *ops, const struct session_io *io,
	       struct tls_ctx *tctx, struct tlswrap *wrap, bool is_server,
	       unsigned int tls_timeout_s, unsigned int hand_window_s,
	       unsigned int tran_window_s);
/* Frees key states, wrappings and the TLS sessions; cleanses the keys. */
void chan_release(struct chan *c);
/* Replaces the static wrapping (client: another connection entry); drops dyn. */
void chan_set_wrap(struct chan *c, struct tlswrap *wrap);
/* Drops every key state and ends nothing: for a client's fresh start. */
void chan_reset(struct chan *c);

/*
 * Starts key state @key_id in a free buffer at @now_ns: fresh reliability
 * layer, hand-window from now, and @reset_op queued as message 0 unless it
 * is 0 (the server's first key, whose reset went out statelessly).
 * Returns the key state, or NULL (out of memory, reset not queued).
 */
struct chan_key *chan_key_begin(struct chan *c, uint8_t key_id, uint8_t reset_op,
				int64_t now_ns);
/* Creates @k's TLS session and moves it to CHAN_KS_TLS; 0 or -ENOMEM. */
int chan_key_tls_start(struct chan *c, struct chan_key *k);

/*
 * The channel is over (@why); frees the TLS sessions, nothing more is said.
 * chan_end gives the reason "tls-error"; chan_end_for names it (CONN_WHY_*).
 */
void chan_end(struct chan *c, enum chan_end why);
void chan_end_for(struct chan *c, enum chan_end why, const char *reason);

/* One control datagram from the peer (the whole payload of the link packet). */
void chan_input(struct chan *c, const uint8_t *buf, size_t len, int64_t now_ns);
/* Retransmissions, hand-window, reneg-sec, tran-window. */
void chan_tick(struct chan *c, int64_t now_ns);
/* When chan_tick wants to run next (INT64_MAX: nothing pending). */
int64_t chan_next_timeout(const struct chan *c, int64_t now_ns);

/* Runs TLS of @k on what arrived and sends what it produced. */
void chan_pump(struct chan *c, struct chan_key *k, int64_t now_ns);
/* Moves TLS output of @k into reliable messages and sends what is due. */
void chan_send(struct chan *c, struct chan_key *k, int64_t now_ns);
/* Writes @len bytes of plaintext as one TLS record on @k (no flush); 0 or <0. */
int chan_write(struct chan_key *k, const void *buf, size_t len) __must_check;

/*
 * Starts a renegotiation of the successor of the primary key_id, ours
 * (reneg-sec) or the peer's. -EBUSY when one runs or the primary is not
 * active, -EAGAIN while chan_reneg_hold holds it back.
 */
int chan_reneg_begin(struct chan *c, int64_t now_ns, bool ours);
/*
 * Our next renegotiation waits until @until_ns (e.g. the peer still sends
 * on the key_id it would reuse). 0 releases it.
 */
void chan_reneg_hold(struct chan *c, int64_t until_ns);
/* The key_id our next renegotiation would use. */
uint8_t chan_key_id_next(uint8_t key_id);

/*
 * The state the caller sees: KEYS_READY when the next key's keys are
 * ready, else the primary's state.
 */
enum chan_ks chan_key_state(const struct chan *c);
/*
 * The caller took the keys of the ready key state: a renegotiated key
 * becomes the primary (the old primary the lame duck, the older lame duck
 * ends), and the primary is ACTIVE from now. Returns the key state.
 */
struct chan_key *chan_keys_taken(struct chan *c);
/* Bit k set: key_id k's control state ended (lame duck replaced or expired). Clears. */
unsigned int chan_take_retired(struct chan *c);

/*
 * Dynamic tls-crypt (§2.6): exports the key from the primary (key_id 0)
 * TLS session and wraps every later packet of key_id > 0 with it. 0 or <0.
 */
int chan_dyn_enable(struct chan *c) __must_check;

/* True once everything we sent on the primary was acknowledged. */
bool chan_idle(const struct chan *c);
/* Counters as "ctrl.name=value" lines (the status file). */
void chan_write_stats(const struct chan *c, FILE *f);

#endif
