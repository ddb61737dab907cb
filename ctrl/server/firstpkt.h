/*
 * firstpkt.h - the UDP server's classifier for datagrams from sources that
 * have no session yet (openvpn-wire.md §1.7, §2.5, §2.7).
 *
 * Decides, without creating any per-client state, what to do with one
 * datagram:
 *   FIRSTPKT_REPLY   a valid HARD_RESET_CLIENT_V2 (or, with tls-crypt-v2,
 *                    HARD_RESET_CLIENT_V3 + WKc announcing early
 *                    negotiation): key_id 0, message id 0, no acks, empty
 *                    payload (or a well-formed TLV list, ignored). The
 *                    result holds the wrapped HARD_RESET_SERVER_V2 to send
 *                    back: own sid = cookie, ack [0] + client sid, message
 *                    id 0, replay packet-id 1 at the current unix time, and
 *                    TLV 0001 0002 0001 (resend WKc) for an early-neg V3.
 *   FIRSTPKT_CREATE  a P_CONTROL_V1 / P_ACK_V1 (P_CONTROL_WKC_V1 with
 *                    tls-crypt-v2), key_id 0, whose ack array holds id 0
 *                    and only ids <= 1, message id <= 1 (2.6.15's rule),
 *                    and whose peer session id is our cookie for this
 *                    source and client sid in the current or previous slot.
 *                    The caller now creates the session and feeds the
 *                    same datagram to the session's own struct tlswrap
 *                    (replay protection starts there, as in stock 2.6).
 *   FIRSTPKT_DROP    anything else, with a reason (enum firstpkt_reason),
 *                    counted in struct firstpkt.
 *
 * Stateless means a replayed valid third packet classifies as CREATE again
 * (until its cookie expires): the caller looks the source up in its session
 * table first, and the session layer treats the repeat as a duplicate.
 * A HARD_RESET_CLIENT_V3 without the early-negotiation marker is dropped:
 * such a client would not resend its WKc, so only a stateful server could
 * serve it (2.6's --tls-crypt-v2 ... force-cookie behaviour).
 *
 * Wrapping is verified without replay state (see crypto/tlsfirst.h); a
 * wrapped replay packet-id 0 (never sent by OpenVPN) is a REPLAY drop.
 * Replies come out of a token bucket (struct firstpkt_budget); an empty
 * bucket is a BUDGET drop, so a flood of valid-looking resets costs bounded
 * bandwidth. Every other drop is decided before any reply work.
 *
 * Note for the session layer: the reply used the wrapping's replay id 1 at
 * the classify time; a fresh struct tlswrap for the session starts at id 1
 * too, so its first packet within the same second would look like a replay
 * to the client. Wrap-and-discard one packet first (stock 2.6 continues at 2).
 *
 * Threads: ctrl only (owns OpenSSL contexts restarted per call). Pure with
 * respect to the outside world: no sockets, no clock reads; the caller
 * passes bytes, the source address and the time.
 */
#ifndef SLUICE_FIRSTPKT_H
#define SLUICE_FIRSTPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../../core/compiler.h"
#include "../../core/pkt.h"
#include "../../core/proto.h"
#include "../../crypto/cookie.h"
#include "../../crypto/wkc.h"
#include "../proto/ctlpkt.h"

/* Largest datagram looked at: a control packet plus the largest WKc. */
#define FIRSTPKT_DGRAM_MAX	(WIRE_MAX + TLS_CRYPT_V2_MAX_WKC_LEN)
/* Server reset: hdr 9 + ack array 13 + mid 4 + TLV 6 + tls-auth SHA512 72. */
#define FIRSTPKT_REPLY_MAX	128
/* Longest TLV list a client reset may carry (2.6 clients send none). */
#define FIRSTPKT_RESET_TLV_MAX	64
/* Reply budget defaults: replies per second to unknown sources, and burst. */
#define FIRSTPKT_BUDGET_RATE_DEFAULT	100
#define FIRSTPKT_BUDGET_BURST_DEFAULT	200

enum firstpkt_wrap {
	FIRSTPKT_WRAP_NONE,
	FIRSTPKT_WRAP_TLS_AUTH,
	FIRSTPKT_WRAP_TLS_CRYPT,
	FIRSTPKT_WRAP_TLS_CRYPT_V2,
};

enum firstpkt_verdict {
	FIRSTPKT_DROP,
	FIRSTPKT_REPLY,
	FIRSTPKT_CREATE,
};

enum firstpkt_reason {
	FIRSTPKT_OK_REPLY,		/* verdict REPLY */
	FIRSTPKT_OK_CREATE,		/* verdict CREATE */
	FIRSTPKT_DROP_TRUNCATED,	/* too short for its opcode or wrapping */
	FIRSTPKT_DROP_OVERSIZED,	/* above FIRSTPKT_DGRAM_MAX / WIRE_MAX */
	FIRSTPKT_DROP_OPCODE,		/* data, server, soft-reset, unknown, or wrong for the mode */
	FIRSTPKT_DROP_KEY_METHOD_1,	/* opcodes 1 and 2: 2.6 refuses key-method 1 */
	FIRSTPKT_DROP_KEY_ID,		/* a session starts with key_id 0 */
	FIRSTPKT_DROP_BAD_WRAP,		/* tls-auth HMAC / tls-crypt tag mismatch */
	FIRSTPKT_DROP_BAD_WKC,		/* WKc length or tag */
	FIRSTPKT_DROP_MALFORMED,	/* unwrapped bytes are no valid control packet */
	FIRSTPKT_DROP_REPLAY,		/* replay id 0, reset mid != 0, ids > 1: not a handshake */
	FIRSTPKT_DROP_PAYLOAD,		/* reset with acks or a payload that is no TLV list */
	FIRSTPKT_DROP_NO_EARLY_NEG,	/* V3 reset without the 0x0f000000 marker */
	FIRSTPKT_DROP_NO_ACK,		/* third packet without an ack of message id 0 */
	FIRSTPKT_DROP_BAD_COOKIE,	/* forged, other address/port or client sid */
	FIRSTPKT_DROP_STALE_COOKIE,	/* our cookie, but two slots old */
	FIRSTPKT_DROP_ADDR,		/* source is not v4/v6 */
	FIRSTPKT_DROP_BUDGET,		/* reply budget exhausted */
	FIRSTPKT_DROP_INTERNAL,		/* OpenSSL failed */
	FIRSTPKT_REASON_MAX
};

/* GCRA token bucket (integer ns); ctrl only. */
struct firstpkt_budget {
	int64_t interval_ns;		/* ns per token; 0 = unlimited */
	int64_t tolerance_ns;		/* (burst - 1) * interval */
	int64_t tat_ns;			/* theoretical arrival time of the next token */
	bool has_tat;
};

struct firstpkt_cfg {
	enum firstpkt_wrap wrap;
	/* TLS_AUTH / TLS_CRYPT: the 256-byte static key; TLS_CRYPT_V2: the
	 * 128-byte server key (wkc_server_key_parse); NONE: unused. */
	const uint8_t *key;
	int auth_direction;		/* tls-auth: 0, 1 or TLSWRAP_DIR_BIDI */
	const char *auth_digest;	/* tls-auth: NULL = SHA1 */
	const uint8_t *cookie_key;	/* COOKIE_KEY_LEN bytes; NULL = random */
	unsigned int hand_window_sec;	/* 0 = COOKIE_HAND_WINDOW_DEFAULT */
	unsigned int budget_rate;	/* replies per second; 0 = default */
	unsigned int budget_burst;	/* 0 = default */
	bool budget_unlimited;		/* tests only: no reply budget */
};

struct firstpkt_result {
	enum firstpkt_verdict verdict;
	enum firstpkt_reason reason;
	/* REPLY: the wrapped server reset to send to the source. */
	size_t reply_len;
	uint8_t reply[FIRSTPKT_REPLY_MAX];
	/* REPLY and CREATE: the parsed (unwrapped) packet; payload points into plain. */
	struct ctlpkt pkt;
	uint32_t wrap_pid, wrap_time;	/* replay id of the packet (0, 0 for NONE) */
	bool early_neg;			/* REPLY: V3 with the early-negotiation marker */
	bool has_client_key;		/* tls-crypt-v2: client holds Kc/metadata */
	struct wkc_client client;
	uint8_t plain[FIRSTPKT_DGRAM_MAX];
};

struct firstpkt;

/* Creates a classifier. 0, -EINVAL (bad cfg), -ENOMEM or -EIO. ctrl only. */
int firstpkt_create(struct firstpkt **out, const struct firstpkt_cfg *cfg) __must_check;
/* Frees @fp and its keys. NULL is fine. */
void firstpkt_free(struct firstpkt *fp);

/*
 * Classifies the @len-byte datagram @buf from @src (@src_len bytes) at
 * @now_ns, unix wall-clock ns (cookie slots, the reply's replay timestamp,
 * the reply budget). Fills @res (large: keep it off the stack) and counts
 * its reason. Borrows @buf; never keeps a pointer to it.
 */
enum firstpkt_verdict firstpkt_classify(struct firstpkt *fp, const uint8_t *buf, size_t len,
					const union sockaddr_any *src, socklen_t src_len,
					int64_t now_ns, struct firstpkt_result *res);

/* Per-reason counters of @fp (FIRSTPKT_REASON_MAX entries). */
const uint64_t *firstpkt_counters(const struct firstpkt *fp);
/* A short name for @reason, for logs and stats. */
const char *firstpkt_reason_name(enum firstpkt_reason reason);

/* Token bucket: @rate_per_sec tokens per second, @burst at most; rate 0 = unlimited. */
void firstpkt_budget_init(struct firstpkt_budget *b, unsigned int rate_per_sec,
			  unsigned int burst);
/* Takes one token at @now_ns (any clock, as long as the caller keeps it). */
bool firstpkt_budget_take(struct firstpkt_budget *b, int64_t now_ns);

#endif
