/*
 * firstpkt.c - owns the stateless first-packet decision of the UDP server
 * (openvpn-wire.md §1.7, §2.5, §2.7; verdicts and their rules in
 * firstpkt.h) and the reply token bucket.
 *
 * Threads: ctrl only. struct firstpkt holds the keyed contexts (a
 * tlsfirst wrapping, the tls-crypt-v2 server key, the cookie key), the
 * reply budget and per-reason counters; nothing in it depends on which
 * clients were seen, so a datagram can only change the counters and the
 * budget.
 *
 * Order of checks, cheapest first so a flood of garbage costs one branch
 * or one MAC each: length, opcode, key_id, (WKc unwrap), wrapping
 * HMAC/tag, control packet layout, handshake rules, then for resets the
 * budget and the reply (one cookie MAC, one wrap), for third packets the
 * cookie (at most three MACs). Nothing is logged; the caller reports the
 * counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "../../core/clock.h"
#include "../../crypto/tlsfirst.h"
#include "firstpkt.h"

/* The server reset's own replay packet-id (stock 2.6 continues with 2). */
#define FIRSTPKT_REPLY_PID	1
#define FIRSTPKT_TLV_HDR_LEN	4	/* type u16, length u16 */

struct firstpkt {
	enum firstpkt_wrap wrap;
	struct tlsfirst *tf;
	struct wkc_server *wkc;		/* TLS_CRYPT_V2 only */
	struct cookie_key cookie;
	unsigned int hand_window_sec;
	struct firstpkt_budget budget;
	uint64_t counters[FIRSTPKT_REASON_MAX];
};

static const char *const firstpkt_reason_names[FIRSTPKT_REASON_MAX] = {
	[FIRSTPKT_OK_REPLY] = "reply",
	[FIRSTPKT_OK_CREATE] = "create",
	[FIRSTPKT_DROP_TRUNCATED] = "truncated",
	[FIRSTPKT_DROP_OVERSIZED] = "oversized",
	[FIRSTPKT_DROP_OPCODE] = "wrong opcode",
	[FIRSTPKT_DROP_KEY_METHOD_1] = "key-method 1",
	[FIRSTPKT_DROP_KEY_ID] = "key_id not 0",
	[FIRSTPKT_DROP_BAD_WRAP] = "bad wrap",
	[FIRSTPKT_DROP_BAD_WKC] = "bad wkc",
	[FIRSTPKT_DROP_MALFORMED] = "malformed",
	[FIRSTPKT_DROP_REPLAY] = "replay-looking",
	[FIRSTPKT_DROP_PAYLOAD] = "reset payload",
	[FIRSTPKT_DROP_NO_EARLY_NEG] = "v3 without early negotiation",
	[FIRSTPKT_DROP_NO_ACK] = "no ack of the reset",
	[FIRSTPKT_DROP_BAD_COOKIE] = "bad cookie",
	[FIRSTPKT_DROP_STALE_COOKIE] = "stale cookie",
	[FIRSTPKT_DROP_ADDR] = "address family",
	[FIRSTPKT_DROP_BUDGET] = "reply budget",
	[FIRSTPKT_DROP_INTERNAL] = "internal error",
};

const char *firstpkt_reason_name(enum firstpkt_reason reason)
{
	if ((unsigned int)reason >= FIRSTPKT_REASON_MAX)
		return "unknown";
	return firstpkt_reason_names[reason];
}

void firstpkt_budget_init(struct firstpkt_budget *b, unsigned int rate_per_sec,
			  unsigned int burst)
{
	memset(b, 0, sizeof(*b));
	if (!rate_per_sec)
		return;
	b->interval_ns = NSEC_PER_SEC / rate_per_sec;
	if (!b->interval_ns)
		b->interval_ns = 1;
	b->tolerance_ns = (int64_t)(burst ? burst - 1 : 0) * b->interval_ns;
}

/*
 * GCRA: a token is due every interval; up to tolerance of them may be taken
 * early (the burst). A clock that stepped back further than the bucket
 * could ever be ahead restarts it, rather than muting replies until the
 * clock catches up.
 */
bool firstpkt_budget_take(struct firstpkt_budget *b, int64_t now_ns)
{
	if (!b->interval_ns)
		return true;
	if (!b->has_tat || b->tat_ns < now_ns ||
	    b->tat_ns - now_ns > b->tolerance_ns + b->interval_ns) {
		b->tat_ns = now_ns;
		b->has_tat = true;
	}
	if (b->tat_ns - now_ns > b->tolerance_ns)
		return false;
	b->tat_ns += b->interval_ns;
	return true;
}

static int firstpkt_wrap_create(struct firstpkt *fp, const struct firstpkt_cfg *cfg)
{
	/* tls-crypt-v2 starts with a placeholder key; each packet re-keys with its Kc. */
	static const uint8_t zero[KEY2_LEN];
	int rc;

	switch (cfg->wrap) {
	case FIRSTPKT_WRAP_NONE:
		return tlsfirst_create_none(&fp->tf);
	case FIRSTPKT_WRAP_TLS_AUTH:
		if (!cfg->key)
			return -EINVAL;
		return tlsfirst_create_auth(&fp->tf, cfg->key, cfg->auth_direction,
					    cfg->auth_digest);
	case FIRSTPKT_WRAP_TLS_CRYPT:
		if (!cfg->key)
			return -EINVAL;
		return tlsfirst_create_crypt(&fp->tf, cfg->key);
	case FIRSTPKT_WRAP_TLS_CRYPT_V2:
		if (!cfg->key)
			return -EINVAL;
		rc = wkc_server_create(&fp->wkc, cfg->key);
		if (rc)
			return rc;
		return tlsfirst_create_crypt(&fp->tf, zero);
	default:
		return -EINVAL;
	}
}

int firstpkt_create(struct firstpkt **out, const struct firstpkt_cfg *cfg)
{
	uint8_t ck[COOKIE_KEY_LEN];
	struct firstpkt *fp;
	int rc;

	*out = NULL;
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	fp->wrap = cfg->wrap;
	fp->hand_window_sec = cfg->hand_window_sec ? cfg->hand_window_sec
						   : COOKIE_HAND_WINDOW_DEFAULT;
	if (!cfg->budget_unlimited)
		firstpkt_budget_init(&fp->budget,
				     cfg->budget_rate ? cfg->budget_rate
						      : FIRSTPKT_BUDGET_RATE_DEFAULT,
				     cfg->budget_burst ? cfg->budget_burst
						       : FIRSTPKT_BUDGET_BURST_DEFAULT);
	rc = firstpkt_wrap_create(fp, cfg);
	if (rc)
		goto err_free;
	if (cfg->cookie_key) {
		memcpy(ck, cfg->cookie_key, sizeof(ck));
	} else if (RAND_bytes(ck, sizeof(ck)) != 1) {
		ERR_clear_error();
		rc = -EIO;
		goto err_free;
	}
	rc = cookie_init(&fp->cookie, ck);
	OPENSSL_cleanse(ck, sizeof(ck));
	if (rc)
		goto err_free;
	*out = fp;
	return 0;

err_free:
	firstpkt_free(fp);
	return rc;
}

void firstpkt_free(struct firstpkt *fp)
{
	if (!fp)
		return;
	cookie_free(&fp->cookie);
	wkc_server_free(fp->wkc);
	tlsfirst_free(fp->tf);
	free(fp);
}

const uint64_t *firstpkt_counters(const struct firstpkt *fp)
{
	return fp->counters;
}

/* Which opcodes may start a session in this wrapping mode. */
static enum firstpkt_reason firstpkt_check_opcode(const struct firstpkt *fp, uint8_t op)
{
	bool v2 = fp->wrap == FIRSTPKT_WRAP_TLS_CRYPT_V2;

	switch (op) {
	case P_CONTROL_HARD_RESET_CLIENT_V1:
	case P_CONTROL_HARD_RESET_SERVER_V1:
		return FIRSTPKT_DROP_KEY_METHOD_1;
	case P_CONTROL_HARD_RESET_CLIENT_V2:
	case P_CONTROL_V1:
	case P_ACK_V1:
		/* With tls-crypt-v2 only packets carrying a WKc can be unwrapped. */
		return v2 ? FIRSTPKT_DROP_OPCODE : FIRSTPKT_OK_REPLY;
	case P_CONTROL_HARD_RESET_CLIENT_V3:
	case P_CONTROL_WKC_V1:
		return v2 ? FIRSTPKT_OK_REPLY : FIRSTPKT_DROP_OPCODE;
	default:
		return FIRSTPKT_DROP_OPCODE;
	}
}

/* Cuts the WKc off @len, unwraps it and keys the tls-crypt part with Kc. */
static enum firstpkt_reason firstpkt_take_wkc(struct firstpkt *fp, const uint8_t *buf,
					      size_t *len, struct firstpkt_result *res)
{
	size_t wkc_len;
	int rc;

	if (*len < TLS_CRYPT_OFF_CT + 2)
		return FIRSTPKT_DROP_TRUNCATED;
	if (tlswrap_wkc_split(buf, *len, &wkc_len))
		return FIRSTPKT_DROP_BAD_WKC;
	rc = wkc_unwrap(fp->wkc, buf + *len - wkc_len, wkc_len, &res->client);
	if (rc == WKC_ERR_CRYPTO)
		return FIRSTPKT_DROP_INTERNAL;
	if (rc)
		return FIRSTPKT_DROP_BAD_WKC;
	res->has_client_key = true;
	if (tlsfirst_rekey_crypt(fp->tf, res->client.kc))
		return FIRSTPKT_DROP_INTERNAL;
	*len -= wkc_len;
	return FIRSTPKT_OK_REPLY;
}

/* Unwraps and parses; FIRSTPKT_OK_REPLY here means "go on". */
static enum firstpkt_reason firstpkt_open(struct firstpkt *fp, const uint8_t *buf, size_t len,
					  struct firstpkt_result *res)
{
	int n;

	if (len > WIRE_MAX)
		return FIRSTPKT_DROP_OVERSIZED;
	n = tlsfirst_open(fp->tf, buf, len, res->plain, sizeof(res->plain), &res->wrap_pid,
			  &res->wrap_time);
	if (n == TLSWRAP_ERR_LEN)
		return FIRSTPKT_DROP_TRUNCATED;
	if (n == TLSWRAP_ERR_AUTH)
		return FIRSTPKT_DROP_BAD_WRAP;
	if (n < 0)
		return FIRSTPKT_DROP_INTERNAL;
	/* OpenVPN never sends replay id 0; with no window to ask, refuse it here. */
	if (fp->wrap != FIRSTPKT_WRAP_NONE && res->wrap_pid == 0)
		return FIRSTPKT_DROP_REPLAY;
	switch (ctlpkt_parse(&res->pkt, res->plain, (size_t)n)) {
	case 0:
		return FIRSTPKT_OK_REPLY;
	case -EMSGSIZE:
		return FIRSTPKT_DROP_TRUNCATED;
	default:
		return FIRSTPKT_DROP_MALFORMED;
	}
}

/* True if @p[0..len) is a list of whole TLVs (§2.5), short enough to ignore. */
static bool firstpkt_tlvs_ok(const uint8_t *p, size_t len)
{
	size_t off = 0;

	if (len > FIRSTPKT_RESET_TLV_MAX)
		return false;
	while (off < len) {
		if (len - off < FIRSTPKT_TLV_HDR_LEN)
			return false;
		if (len - off - FIRSTPKT_TLV_HDR_LEN < load_be16(p + off + 2))
			return false;
		off += FIRSTPKT_TLV_HDR_LEN + load_be16(p + off + 2);
	}
	return true;
}

/* The server reset: ack [0] + client sid, message id 0 (§1.7), wrapped. */
static enum firstpkt_reason firstpkt_build_reply(struct firstpkt *fp,
						 const uint8_t sid[SID_LEN], uint32_t wall_sec,
						 struct firstpkt_result *res)
{
	uint8_t tlv[6], plain[FIRSTPKT_REPLY_MAX];
	struct ctlpkt r = {
		.opcode = P_CONTROL_HARD_RESET_SERVER_V2,
		.n_acks = 1,
		.acks = { 0 },
		.mid = 0,
	};
	int n;

	memcpy(r.sid, sid, SID_LEN);
	memcpy(r.peer_sid, res->pkt.sid, SID_LEN);
	if (res->early_neg) {
		store_be16(tlv, TLV_TYPE_EARLY_NEG_FLAGS);
		store_be16(tlv + 2, 2);
		store_be16(tlv + 4, EARLY_NEG_FLAG_RESEND_WKC);
		r.payload = tlv;
		r.payload_len = sizeof(tlv);
	}
	n = ctlpkt_build(&r, plain, sizeof(plain));
	if (n < 0)
		return FIRSTPKT_DROP_INTERNAL;
	n = tlsfirst_seal(fp->tf, plain, (size_t)n, res->reply, sizeof(res->reply),
			  FIRSTPKT_REPLY_PID, wall_sec);
	if (n < 0)
		return FIRSTPKT_DROP_INTERNAL;
	res->reply_len = (size_t)n;
	return FIRSTPKT_OK_REPLY;
}

static enum firstpkt_reason firstpkt_reset(struct firstpkt *fp, const union sockaddr_any *src,
					   socklen_t src_len, int64_t now_ns,
					   struct firstpkt_result *res)
{
	const struct ctlpkt *p = &res->pkt;
	uint32_t wall_sec = (uint32_t)(now_ns / NSEC_PER_SEC);
	uint8_t addr[COOKIE_ADDR_MAX], sid[SID_LEN];

	if (p->n_acks)
		return FIRSTPKT_DROP_PAYLOAD;
	/* 2.6.22 ignores resets whose message id is not 0. */
	if (p->mid != 0)
		return FIRSTPKT_DROP_REPLAY;
	if (p->payload_len && !firstpkt_tlvs_ok(p->payload, p->payload_len))
		return FIRSTPKT_DROP_PAYLOAD;
	if (p->opcode == P_CONTROL_HARD_RESET_CLIENT_V3) {
		res->early_neg = (res->wrap_pid & EARLY_NEG_MASK) == EARLY_NEG_START;
		if (!res->early_neg)
			return FIRSTPKT_DROP_NO_EARLY_NEG;
	}
	if (cookie_sockaddr_serialise(src, src_len, addr) < 0)
		return FIRSTPKT_DROP_ADDR;
	if (!firstpkt_budget_take(&fp->budget, now_ns))
		return FIRSTPKT_DROP_BUDGET;
	if (cookie_session_id(&fp->cookie, cookie_time_slot(wall_sec, fp->hand_window_sec), src,
			      src_len, p->sid, sid))
		return FIRSTPKT_DROP_INTERNAL;
	return firstpkt_build_reply(fp, sid, wall_sec, res);
}

/* The client's second packet: acks our reset with our cookie (§2.7). */
static enum firstpkt_reason firstpkt_third(struct firstpkt *fp, const union sockaddr_any *src,
					   socklen_t src_len, int64_t now_ns,
					   struct firstpkt_result *res)
{
	const struct ctlpkt *p = &res->pkt;
	uint8_t addr[COOKIE_ADDR_MAX];
	bool acks_reset = false;

	for (unsigned int i = 0; i < p->n_acks; i++) {
		/* 2.6.15: anything above 1 is not part of the three-way handshake. */
		if (p->acks[i] > 1)
			return FIRSTPKT_DROP_REPLAY;
		acks_reset |= p->acks[i] == 0;
	}
	if (!acks_reset)
		return FIRSTPKT_DROP_NO_ACK;
	if (ctlpkt_is_reliable(p->opcode) && p->mid > 1)
		return FIRSTPKT_DROP_REPLAY;
	if (cookie_sockaddr_serialise(src, src_len, addr) < 0)
		return FIRSTPKT_DROP_ADDR;
	switch (cookie_check(&fp->cookie, (uint64_t)(now_ns / NSEC_PER_SEC), fp->hand_window_sec,
			     src, src_len, p->sid, p->peer_sid)) {
	case COOKIE_VALID:
		return FIRSTPKT_OK_CREATE;
	case COOKIE_STALE:
		return FIRSTPKT_DROP_STALE_COOKIE;
	default:
		return FIRSTPKT_DROP_BAD_COOKIE;
	}
}

static enum firstpkt_reason firstpkt_decide(struct firstpkt *fp, const uint8_t *buf, size_t len,
					    const union sockaddr_any *src, socklen_t src_len,
					    int64_t now_ns, struct firstpkt_result *res)
{
	enum firstpkt_reason r;
	uint8_t op;

	if (len < 1)
		return FIRSTPKT_DROP_TRUNCATED;
	if (len > FIRSTPKT_DGRAM_MAX)
		return FIRSTPKT_DROP_OVERSIZED;
	op = proto_opcode(buf[0]);
	r = firstpkt_check_opcode(fp, op);
	if (r != FIRSTPKT_OK_REPLY)
		return r;
	if (proto_key_id(buf[0]) != 0)
		return FIRSTPKT_DROP_KEY_ID;
	if (fp->wrap == FIRSTPKT_WRAP_TLS_CRYPT_V2) {
		r = firstpkt_take_wkc(fp, buf, &len, res);
		if (r != FIRSTPKT_OK_REPLY)
			return r;
	}
	r = firstpkt_open(fp, buf, len, res);
	if (r != FIRSTPKT_OK_REPLY)
		return r;
	if (op == P_CONTROL_HARD_RESET_CLIENT_V2 || op == P_CONTROL_HARD_RESET_CLIENT_V3)
		return firstpkt_reset(fp, src, src_len, now_ns, res);
	return firstpkt_third(fp, src, src_len, now_ns, res);
}

enum firstpkt_verdict firstpkt_classify(struct firstpkt *fp, const uint8_t *buf, size_t len,
					const union sockaddr_any *src, socklen_t src_len,
					int64_t now_ns, struct firstpkt_result *res)
{
	enum firstpkt_reason r;

	res->reply_len = 0;
	res->wrap_pid = 0;
	res->wrap_time = 0;
	res->early_neg = false;
	res->has_client_key = false;
	memset(&res->pkt, 0, sizeof(res->pkt));
	if (now_ns < 0)
		now_ns = 0;
	r = firstpkt_decide(fp, buf, len, src, src_len, now_ns, res);
	fp->counters[r]++;
	res->reason = r;
	if (r == FIRSTPKT_OK_REPLY)
		res->verdict = FIRSTPKT_REPLY;
	else if (r == FIRSTPKT_OK_CREATE)
		res->verdict = FIRSTPKT_CREATE;
	else
		res->verdict = FIRSTPKT_DROP;
	/* A dropped datagram leaves no key material behind. */
	if (res->verdict == FIRSTPKT_DROP && res->has_client_key) {
		OPENSSL_cleanse(&res->client, sizeof(res->client));
		res->has_client_key = false;
	}
	return res->verdict;
}
