/*
 * firstpkt_test.c - the UDP server's stateless first-packet classifier
 * (ctrl/server/firstpkt.h, openvpn-wire.md §1.7, §2.5, §2.7).
 *
 * 1. For every wrapping (none, tls-auth SHA1 dir 0, tls-crypt, tls-crypt-v2)
 *    a client built from struct tlswrap (the client side of the real
 *    wrapping code) sends its reset; the reply must unwrap at that client,
 *    ack [0] its session id, carry our cookie (recomputed independently) and,
 *    for tls-crypt-v2 early negotiation, the TLV 0001 0002 0001. Then a
 *    numbered table T(datagram, verdict, reason) of every verdict: a valid
 *    third packet, the same third packet replayed (still CREATE: stateless
 *    by design; the caller's session table and the session's own replay
 *    window handle the duplicate), P_ACK_V1, ack/mid rules, forged cookie,
 *    cookie from another port/address/client sid, stale (two slots old) and
 *    previous-slot cookies, key_id, key-method 1, data and unknown opcodes,
 *    wrong opcodes for the mode, bad wrap, bad WKc, truncated, oversized,
 *    reset payload rules, replay id 0, V3 without early negotiation.
 * 2. Real bytes: frame 11 of interop/handshake-trace.txt (stock 2.6.14
 *    client reset) gets a reply laid out like frame 12, and a frame 13-style
 *    ClientHello with our cookie creates the session.
 * 3. A flood of 10^5 random datagrams (plus 10^4 per wrapped mode, many of
 *    them well-formed with random cookies) creates no session, and its
 *    replies stay within the budget.
 * 4. Reply budget with a fake clock: burst, refill, clock step back.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../core/clock.h"
#include "../../crypto/tlsfirst.h"
#include "../../crypto/tlswrap.h"
#include "../../ctrl/server/firstpkt.h"
#include "harness.h"
#include "pki.h"

#define NOW_SEC		1700000020ull		/* 10 s into a 30-second slot */
#define NOW		((int64_t)NOW_SEC * NSEC_PER_SEC)
#define SLOT_NS		(30 * NSEC_PER_SEC)

static uint8_t key[KEY2_LEN], skey[WKC_SERVER_KEY_LEN], kc[KEY2_LEN];
static const uint8_t ckey[COOKIE_KEY_LEN] = { 0xc0, 0x0c, 0x1e };
static const uint8_t csid[SID_LEN] = { 0x4f, 0x9b, 0xf9, 0x4c, 0x45, 0x74, 0xca, 0x1d };
static char v2_pem[2048];
static struct firstpkt_result res;
static struct cookie_key ref_cookie;	/* an independent key object with the same bytes */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	return harness_rnd(&rng_state);
}

static union sockaddr_any v4(const char *a, uint16_t port)
{
	union sockaddr_any s = { .in4 = { .sin_family = AF_INET, .sin_port = htons(port) } };

	inet_pton(AF_INET, a, &s.in4.sin_addr);
	return s;
}

/* Client key file: Kc || WKc wrapped with our server key, PEM-encoded. */
static void make_v2_pem(void)
{
	static uint8_t der[KEY2_LEN + TLS_CRYPT_V2_MAX_WKC_LEN];
	static const uint8_t meta[9] = { WKC_META_TYPE_TIMESTAMP, 0, 0, 0, 0, 0x65, 0, 0, 1 };
	struct wkc_server *s;
	int n;

	MUST(wkc_server_create(&s, skey));
	memcpy(der, kc, KEY2_LEN);
	n = wkc_wrap(s, kc, meta, sizeof(meta), der + KEY2_LEN, TLS_CRYPT_V2_MAX_WKC_LEN);
	MUST(n != WKC_DEFAULT_LEN);
	wkc_server_free(s);
	pki_pem_text(v2_pem, "OpenVPN tls-crypt-v2 client key", der, KEY2_LEN + (size_t)n);
}

struct mode {
	const char *name;
	enum firstpkt_wrap wrap;
	struct firstpkt *fp;
	struct tlswrap *cli;		/* the client's wrapping */
	uint8_t op_reset, op_ctl;
};

static void mode_init(struct mode *m, enum firstpkt_wrap wrap, bool early_neg)
{
	struct firstpkt_cfg cfg = {
		.wrap = wrap,
		.auth_direction = 0,
		.cookie_key = ckey,
		.budget_unlimited = true,
	};

	m->wrap = wrap;
	m->op_reset = P_CONTROL_HARD_RESET_CLIENT_V2;
	m->op_ctl = P_CONTROL_V1;
	switch (wrap) {
	case FIRSTPKT_WRAP_NONE:
		m->name = "none";
		MUST(tlswrap_create_none(&m->cli));
		break;
	case FIRSTPKT_WRAP_TLS_AUTH:
		m->name = "tls-auth";
		cfg.key = key;
		MUST(tlswrap_create_auth(&m->cli, key, 1, "SHA1"));
		break;
	case FIRSTPKT_WRAP_TLS_CRYPT:
		m->name = "tls-crypt";
		cfg.key = key;
		MUST(tlswrap_create_crypt(&m->cli, key, false));
		break;
	default:
		m->name = early_neg ? "tls-crypt-v2" : "tls-crypt-v2 (no early neg)";
		cfg.key = skey;
		MUST(tlswrap_create_crypt_v2_client(&m->cli, v2_pem, early_neg));
		m->op_reset = P_CONTROL_HARD_RESET_CLIENT_V3;
		m->op_ctl = P_CONTROL_WKC_V1;
		break;
	}
	MUST(firstpkt_create(&m->fp, &cfg));
}

static void mode_free(struct mode *m)
{
	firstpkt_free(m->fp);
	tlswrap_free(m->cli);
}

/* Wraps @p with the client's wrapping into @wire; returns its length. */
static size_t client_send(struct mode *m, const struct ctlpkt *p, uint8_t *wire)
{
	static uint8_t plain[WIRE_MAX];
	int n = ctlpkt_build(p, plain, sizeof(plain));

	MUST(n < 0);
	n = tlswrap_wrap(m->cli, plain, (size_t)n, wire, FIRSTPKT_DGRAM_MAX, (uint32_t)NOW_SEC);
	MUST(n < 0);
	return (size_t)n;
}

static struct ctlpkt reset_pkt(const struct mode *m)
{
	struct ctlpkt p = { .opcode = m->op_reset };

	memcpy(p.sid, csid, SID_LEN);
	return p;
}

static struct ctlpkt third_pkt(const struct mode *m, const uint8_t server_sid[SID_LEN])
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x01, 0x10, 0x01 };
	struct ctlpkt p = { .opcode = m->op_ctl, .n_acks = 1, .acks = { 0 }, .mid = 1,
			    .payload = hello, .payload_len = sizeof(hello) };

	memcpy(p.sid, csid, SID_LEN);
	memcpy(p.peer_sid, server_sid, SID_LEN);
	return p;
}

/* Sends the reset, checks the reply at the client; returns the server sid. */
static void handshake_reset(struct mode *m, const union sockaddr_any *src, uint8_t sid[SID_LEN])
{
	static uint8_t wire[FIRSTPKT_DGRAM_MAX], back[WIRE_MAX];
	static const uint8_t tlv[6] = { 0x00, 0x01, 0x00, 0x02, 0x00, 0x01 };
	struct ctlpkt p = reset_pkt(m), r;
	uint8_t expect[SID_LEN];
	size_t len = client_send(m, &p, wire);
	bool v2 = m->wrap == FIRSTPKT_WRAP_TLS_CRYPT_V2;
	int n;

	memset(sid, 0, SID_LEN);
	CHECK(firstpkt_classify(m->fp, wire, len, src, sizeof(*src), NOW, &res) == FIRSTPKT_REPLY,
	      "%s: reset: %s", m->name, firstpkt_reason_name(res.reason));
	if (res.verdict != FIRSTPKT_REPLY)
		return;
	n = tlswrap_unwrap(m->cli, res.reply, res.reply_len, back, sizeof(back), 0);
	CHECK(n > 0, "%s: reply does not unwrap at the client (%d)", m->name, n);
	if (n <= 0 || ctlpkt_parse(&r, back, (size_t)n)) {
		CHECK(0, "%s: reply does not parse", m->name);
		return;
	}
	MUST(cookie_session_id(&ref_cookie, NOW_SEC / 30, src, sizeof(*src), csid, expect));
	CHECK(r.opcode == P_CONTROL_HARD_RESET_SERVER_V2 && r.key_id == 0 && r.n_acks == 1 &&
		      r.acks[0] == 0 && !memcmp(r.peer_sid, csid, SID_LEN) && r.mid == 0,
	      "%s: reply fields", m->name);
	CHECK(!memcmp(r.sid, expect, SID_LEN), "%s: reply sid is not the cookie", m->name);
	CHECK(v2 ? r.payload_len == 6 && !memcmp(r.payload, tlv, 6) : r.payload_len == 0,
	      "%s: reply payload (%zu bytes)", m->name, r.payload_len);
	CHECK(res.early_neg == v2, "%s: early_neg", m->name);
	if (m->wrap != FIRSTPKT_WRAP_NONE)
		CHECK(tlswrap_tx_pid(m->cli) == (v2 ? EARLY_NEG_START + 1 : 1u),
		      "%s: client pid", m->name);
	memcpy(sid, r.sid, SID_LEN);
}

static int case_no;

#define T(m, buf, len, src, now, want_v, want_r)                                            \
	do {                                                                                \
		enum firstpkt_verdict v_;                                                   \
		case_no++;                                                                  \
		v_ = firstpkt_classify((m)->fp, buf, len, &(src), sizeof(src), now, &res);  \
		CHECK(v_ == (want_v) && res.reason == (want_r),                             \
		      "%s case %d: got %d/%s, want %d/%s", (m)->name, case_no, v_,         \
		      firstpkt_reason_name(res.reason), want_v, firstpkt_reason_name(want_r)); \
	} while (0)

/* Wraps @p and classifies it. */
#define TP(m, p, src, now, want_v, want_r)                                                 \
	do {                                                                                \
		size_t l_ = client_send(m, &(p), wire);                                     \
		T(m, wire, l_, src, now, want_v, want_r);                                   \
	} while (0)

static void test_mode(struct mode *m)
{
	static uint8_t wire[FIRSTPKT_DGRAM_MAX + 16], w2[FIRSTPKT_DGRAM_MAX + 16];
	union sockaddr_any src = v4("198.18.77.2", 51234), other;
	uint8_t sid[SID_LEN], badsid[SID_LEN];
	bool v2 = m->wrap == FIRSTPKT_WRAP_TLS_CRYPT_V2;
	struct ctlpkt p;
	size_t len;

	case_no = 0;
	handshake_reset(m, &src, sid);
	memcpy(badsid, sid, SID_LEN);
	badsid[0] ^= 0x80;

	/* The third packet and its variants. */
	p = third_pkt(m, sid);
	len = client_send(m, &p, wire);
	T(m, wire, len, src, NOW, FIRSTPKT_CREATE, FIRSTPKT_OK_CREATE);		/* 1 */
	CHECK(res.pkt.opcode == m->op_ctl && res.pkt.mid == 1 && res.pkt.payload_len == 6 &&
		      res.pkt.payload[0] == 0x16,
	      "%s: parsed third packet", m->name);
	CHECK(res.has_client_key == v2 && (!v2 || !memcmp(res.client.kc, kc, KEY2_LEN)),
	      "%s: client key", m->name);
	/* 2: the same datagram replayed: still CREATE (stateless; see header). */
	T(m, wire, len, src, NOW, FIRSTPKT_CREATE, FIRSTPKT_OK_CREATE);
	T(m, wire, len, src, NOW + SLOT_NS, FIRSTPKT_CREATE, FIRSTPKT_OK_CREATE);	/* 3 next slot */
	T(m, wire, len, src, NOW + 2 * SLOT_NS, FIRSTPKT_DROP, FIRSTPKT_DROP_STALE_COOKIE); /* 4 */
	T(m, wire, len, src, NOW + 3 * SLOT_NS, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_COOKIE);	/* 5 */
	other = v4("198.18.77.2", 51235);
	T(m, wire, len, other, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_COOKIE);	/* 6 other port */
	other = v4("198.18.77.6", 51234);
	T(m, wire, len, other, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_COOKIE);	/* 7 other addr */
	other.sa.sa_family = AF_UNIX;
	T(m, wire, len, other, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_ADDR);		/* 8 */
	p = third_pkt(m, badsid);
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_COOKIE);		/* 9 forged */
	p = third_pkt(m, sid);
	p.sid[3] ^= 1;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_COOKIE);		/* 10 other client */
	p = third_pkt(m, sid);
	p.n_acks = 2, p.acks[0] = 1, p.acks[1] = 0;
	TP(m, p, src, NOW, FIRSTPKT_CREATE, FIRSTPKT_OK_CREATE);		/* 11 acks 1,0 */
	p = third_pkt(m, sid);
	p.mid = 0;
	TP(m, p, src, NOW, FIRSTPKT_CREATE, FIRSTPKT_OK_CREATE);		/* 12 mid 0 */
	p = third_pkt(m, sid);
	p.n_acks = 3, p.acks[0] = 2, p.acks[1] = 1, p.acks[2] = 0;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_REPLAY);		/* 13 ack 2 */
	p = third_pkt(m, sid);
	p.mid = 2;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_REPLAY);		/* 14 mid 2 */
	p = third_pkt(m, sid);
	p.acks[0] = 1;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_NO_ACK);		/* 15 acks [1] */
	p = third_pkt(m, sid);
	p.n_acks = 0;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_NO_ACK);		/* 16 no acks */
	p = third_pkt(m, sid);
	p.key_id = 1;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_KEY_ID);		/* 17 */
	p = third_pkt(m, sid);
	p.opcode = P_ACK_V1, p.payload_len = 0;
	if (v2) {
		/* A tls-crypt-v2 client's wrapping refuses to send an ACK... as 11 only. */
		len = client_send(m, &p, wire);
		T(m, wire, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_OPCODE);	/* 18 */
	} else {
		TP(m, p, src, NOW, FIRSTPKT_CREATE, FIRSTPKT_OK_CREATE);	/* 18 P_ACK_V1 */
	}

	/* Resets. */
	p = reset_pkt(m);
	p.mid = 1;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_REPLAY);		/* 19 mid 1 */
	p = reset_pkt(m);
	p.key_id = 1;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_KEY_ID);		/* 20 */
	p = reset_pkt(m);
	p.payload = (const uint8_t *)"abc", p.payload_len = 3;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_PAYLOAD);		/* 21 junk */
	p.payload = (const uint8_t *)"\x00\x07\x00\x01\x55", p.payload_len = 5;
	TP(m, p, src, NOW, FIRSTPKT_REPLY, FIRSTPKT_OK_REPLY);			/* 22 a TLV */
	p.payload = (const uint8_t *)"\x00\x07\x00\x02\x55", p.payload_len = 5;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_PAYLOAD);		/* 23 short TLV */
	p = reset_pkt(m);
	p.n_acks = 1;
	TP(m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_PAYLOAD);		/* 24 acks */
	p = reset_pkt(m);
	TP(m, p, other, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_ADDR);		/* 25 AF_UNIX */

	/* Framing and opcodes. */
	p = reset_pkt(m);
	len = client_send(m, &p, wire);
	T(m, wire, 0, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_TRUNCATED);	/* 26 */
	T(m, wire, 5, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_TRUNCATED);	/* 27 */
	memset(w2, 0, sizeof(w2));
	w2[0] = (uint8_t)(m->op_reset << 3);
	T(m, w2, FIRSTPKT_DGRAM_MAX + 1, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_OVERSIZED); /* 28 */
	if (!v2)
		T(m, w2, WIRE_MAX + 1, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_OVERSIZED); /* 29 */
	else
		case_no++;
	memcpy(w2, wire, len);
	static const struct {
		uint8_t b0;
		enum firstpkt_reason r;
	} ops[] = {
		{ 1 << 3, FIRSTPKT_DROP_KEY_METHOD_1 }, { 2 << 3, FIRSTPKT_DROP_KEY_METHOD_1 },
		{ 3 << 3, FIRSTPKT_DROP_OPCODE },	{ 6 << 3, FIRSTPKT_DROP_OPCODE },
		{ 8 << 3, FIRSTPKT_DROP_OPCODE },	{ 9 << 3, FIRSTPKT_DROP_OPCODE },
		{ 0, FIRSTPKT_DROP_OPCODE },		{ 12 << 3, FIRSTPKT_DROP_OPCODE },
		{ 31 << 3 | 7, FIRSTPKT_DROP_OPCODE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {	/* 30..38 */
		w2[0] = ops[i].b0;
		T(m, w2, len, src, NOW, FIRSTPKT_DROP, ops[i].r);
	}
	/* 39, 40: the other family's opcodes. */
	w2[0] = (uint8_t)((v2 ? P_CONTROL_HARD_RESET_CLIENT_V2 : P_CONTROL_HARD_RESET_CLIENT_V3) << 3);
	T(m, w2, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_OPCODE);
	w2[0] = (uint8_t)((v2 ? P_CONTROL_V1 : P_CONTROL_WKC_V1) << 3);
	T(m, w2, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_OPCODE);
	if (m->wrap != FIRSTPKT_WRAP_NONE) {
		memcpy(w2, wire, len);
		w2[20] ^= 0x04;		/* in the tls-auth HMAC / tls-crypt tag */
		T(m, w2, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_WRAP);	/* 41 */
		memcpy(w2, wire, len);
		w2[2] ^= 0x01;		/* the authenticated session id */
		T(m, w2, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_WRAP);	/* 42 */
	}
	if (v2) {
		memcpy(w2, wire, len);
		w2[len - 100] ^= 0x01;	/* WKc ciphertext */
		T(m, w2, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_WKC);	/* 43 */
		memcpy(w2, wire, len);
		w2[len - 1] ^= 0x01;	/* WKc length */
		T(m, w2, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_WKC);	/* 44 */
		w2[len - 2] = 0xff;	/* WKc length above 1024 */
		T(m, w2, len, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BAD_WKC);	/* 45 */
		CHECK(!res.has_client_key, "dropped WKc left a key");
	}
}

/* tls-auth: a replay packet-id 0 (never sent by OpenVPN) is refused. */
static void test_pid0(struct mode *m)
{
	static uint8_t plain[64], wire[128];
	union sockaddr_any src = v4("198.18.77.2", 51234);
	struct tlsfirst *client_dir;
	struct ctlpkt p = reset_pkt(m);
	int n = ctlpkt_build(&p, plain, sizeof(plain));

	/* Direction 1 sends with key half 1, as the client's tls-auth does. */
	MUST(tlsfirst_create_auth(&client_dir, key, 1, "SHA1"));
	n = tlsfirst_seal(client_dir, plain, (size_t)n, wire, sizeof(wire), 0, (uint32_t)NOW_SEC);
	MUST(n < 0);
	T(m, wire, (size_t)n, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_REPLAY);
	n = tlsfirst_seal(client_dir, plain, 22, wire, sizeof(wire), 7, (uint32_t)NOW_SEC);
	T(m, wire, (size_t)n, src, NOW, FIRSTPKT_REPLY, FIRSTPKT_OK_REPLY);
	tlsfirst_free(client_dir);
}

/* The client reset of interop/handshake-trace.txt part 1, frame 11. */
static void test_trace(void)
{
	static const uint8_t frame11[] = { 0x38, 0x4f, 0x9b, 0xf9, 0x4c, 0x45, 0x74, 0xca, 0x1d,
					   0x00, 0x00, 0x00, 0x00, 0x00 };
	static uint8_t frame13[64];
	union sockaddr_any src = v4("198.18.77.2", 41234);
	uint8_t sid[SID_LEN];
	struct mode m = { 0 };
	size_t n = 0;

	mode_init(&m, FIRSTPKT_WRAP_NONE, false);
	m.name = "trace";
	case_no = 0;
	T(&m, frame11, sizeof(frame11), src, NOW, FIRSTPKT_REPLY, FIRSTPKT_OK_REPLY);
	MUST(cookie_session_id(&ref_cookie, NOW_SEC / 30, &src, sizeof(src), csid, sid));
	/* Frame 12's layout: 40 <sid> 01 00000000 4f9bf94c4574ca1d 00000000. */
	CHECK(res.reply_len == 26 && res.reply[0] == 0x40 && !memcmp(res.reply + 1, sid, 8) &&
		      !memcmp(res.reply + 9, "\x01\0\0\0\0", 5) &&
		      !memcmp(res.reply + 14, frame11 + 1, 8) && !memcmp(res.reply + 22, "\0\0\0\0", 4),
	      "trace: reply bytes");
	/* Frame 13: 20 <client sid> 01 00000000 <server sid> 00000001 16 03 01 01 10 01 ... */
	frame13[n++] = 0x20;
	memcpy(frame13 + n, frame11 + 1, 8), n += 8;
	memcpy(frame13 + n, "\x01\0\0\0\0", 5), n += 5;
	memcpy(frame13 + n, res.reply + 1, 8), n += 8;
	memcpy(frame13 + n, "\0\0\0\x01\x16\x03\x01\x01\x10\x01", 10), n += 10;
	T(&m, frame13, n, src, NOW + NSEC_PER_SEC, FIRSTPKT_CREATE, FIRSTPKT_OK_CREATE);
	CHECK(res.pkt.mid == 1 && res.pkt.payload_len == 6, "trace: third packet fields");
	mode_free(&m);
}

/* Random datagrams, half of them well-formed third packets with random cookies. */
static void flood(struct mode *m, unsigned int count)
{
	static const uint8_t b0s[] = { 0x20, 0x28, 0x38, 0x50, 0x58 };
	static uint8_t dgram[1500];
	union sockaddr_any src;
	unsigned int creates = 0, replies = 0;
	struct firstpkt_result *r = &res;

	for (unsigned int i = 0; i < count; i++) {
		size_t len = 1 + rnd() % 300;
		uint64_t x = rnd();

		for (size_t j = 0; j < len; j += 8) {
			uint64_t v = rnd();

			memcpy(dgram + j, &v, 8);
		}
		if (x & 1) {
			dgram[0] = b0s[(x >> 1) % ARRAY_SIZE(b0s)];
			if (x & 0x10 && len > 40) {
				dgram[9] = 1;				/* one ack ... */
				memset(dgram + 10, 0, 4);		/* ... of id 0 */
				memcpy(dgram + 22, "\0\0\0\x01", 4);	/* mid 1 */
			}
			if (x & 0x20 && dgram[0] == 0x38) {
				len = 14;				/* a valid reset */
				memset(dgram + 9, 0, 5);
			}
		}
		src = v4("198.18.0.0", (uint16_t)(x >> 16));
		src.in4.sin_addr.s_addr = htonl(0xc6120000u | (uint32_t)(x >> 40 & 0x1ffff));
		switch (firstpkt_classify(m->fp, dgram, len, &src, sizeof(src.in4),
					  NOW + (int64_t)i * 1000, r)) {
		case FIRSTPKT_CREATE:
			creates++;
			break;
		case FIRSTPKT_REPLY:
			replies++;
			break;
		default:
			break;
		}
	}
	CHECK(creates == 0, "%s flood: %u sessions created", m->name, creates);
	printf("firstpkt_test: %s flood of %u: %u replies, 0 creates\n", m->name, count, replies);
}

static void test_flood(void)
{
	struct firstpkt_cfg cfg = { .wrap = FIRSTPKT_WRAP_NONE, .cookie_key = ckey };
	const uint64_t *c;
	uint64_t total = 0;
	struct mode m = { .name = "none+budget" };

	/* 10^5 datagrams over 0.1 s: the default budget allows 200 + 10 replies. */
	MUST(firstpkt_create(&m.fp, &cfg));
	flood(&m, 100000);
	c = firstpkt_counters(m.fp);
	for (int i = 0; i < FIRSTPKT_REASON_MAX; i++)
		total += c[i];
	CHECK(total == 100000, "counters sum to %llu", (unsigned long long)total);
	CHECK(c[FIRSTPKT_OK_REPLY] > 0 && c[FIRSTPKT_OK_REPLY] <= 211,
	      "replies %llu above budget", (unsigned long long)c[FIRSTPKT_OK_REPLY]);
	CHECK(c[FIRSTPKT_DROP_BUDGET] > 0, "budget never hit");
	CHECK(c[FIRSTPKT_DROP_BAD_COOKIE] > 0, "no well-formed third packet in the flood");
	firstpkt_free(m.fp);
	for (int w = FIRSTPKT_WRAP_TLS_AUTH; w <= FIRSTPKT_WRAP_TLS_CRYPT_V2; w++) {
		mode_init(&m, (enum firstpkt_wrap)w, true);
		flood(&m, 10000);
		mode_free(&m);
	}
}

static void test_budget(void)
{
	struct firstpkt_budget b;
	int64_t t = 5 * NSEC_PER_SEC;
	unsigned int ok = 0;

	firstpkt_budget_init(&b, 100, 200);
	for (int i = 0; i < 1000; i++)
		ok += firstpkt_budget_take(&b, t);
	CHECK(ok == 200, "burst: %u", ok);
	CHECK(!firstpkt_budget_take(&b, t + 9 * NSEC_PER_MSEC), "token before 10 ms");
	CHECK(firstpkt_budget_take(&b, t + 10 * NSEC_PER_MSEC), "token at 10 ms");
	CHECK(!firstpkt_budget_take(&b, t + 10 * NSEC_PER_MSEC), "one token per 10 ms");
	/* A steady 1000/s offered for 10 s gets 100/s through. */
	ok = 0;
	for (int i = 1; i <= 10000; i++)
		ok += firstpkt_budget_take(&b, t + 10 * NSEC_PER_MSEC + i * NSEC_PER_MSEC);
	CHECK(ok >= 999 && ok <= 1001, "steady: %u of 10000", ok);
	/* Idle for a minute: the bucket is full again, not fuller. */
	t += 100 * NSEC_PER_SEC;
	ok = 0;
	for (int i = 0; i < 1000; i++)
		ok += firstpkt_budget_take(&b, t);
	CHECK(ok == 200, "refill: %u", ok);
	/* The clock steps back an hour: the bucket restarts instead of muting. */
	CHECK(firstpkt_budget_take(&b, t - 3600 * NSEC_PER_SEC), "clock step back");
	/* Rate 0 is unlimited; burst 0 or 1 is one token at a time. */
	firstpkt_budget_init(&b, 0, 0);
	CHECK(firstpkt_budget_take(&b, 0) && firstpkt_budget_take(&b, 0), "unlimited");
	firstpkt_budget_init(&b, 1, 1);
	CHECK(firstpkt_budget_take(&b, 0) && !firstpkt_budget_take(&b, 1), "burst 1");
	CHECK(firstpkt_budget_take(&b, NSEC_PER_SEC), "rate 1");
	/* The classifier's own budget: 2 replies, then BUDGET. */
	{
		struct firstpkt_cfg cfg = { .cookie_key = ckey, .budget_rate = 1, .budget_burst = 2 };
		struct mode m = { .name = "budget" };
		union sockaddr_any src = v4("198.18.77.2", 1);
		static const uint8_t reset[14] = { 0x38, 1, 2, 3, 4, 5, 6, 7, 8 };

		MUST(firstpkt_create(&m.fp, &cfg));
		case_no = 0;
		T(&m, reset, sizeof(reset), src, NOW, FIRSTPKT_REPLY, FIRSTPKT_OK_REPLY);
		T(&m, reset, sizeof(reset), src, NOW, FIRSTPKT_REPLY, FIRSTPKT_OK_REPLY);
		T(&m, reset, sizeof(reset), src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_BUDGET);
		T(&m, reset, sizeof(reset), src, NOW + NSEC_PER_SEC, FIRSTPKT_REPLY,
		  FIRSTPKT_OK_REPLY);
		firstpkt_free(m.fp);
	}
}

int main(void)
{
	struct mode m;
	struct firstpkt_cfg bad = { .wrap = FIRSTPKT_WRAP_TLS_CRYPT };
	struct firstpkt *fp;

	for (int i = 0; i < KEY2_LEN; i++) {
		key[i] = (uint8_t)(i * 11 + 1);
		kc[i] = (uint8_t)(i * 29 + 17);
	}
	for (int i = 0; i < WKC_SERVER_KEY_LEN; i++)
		skey[i] = (uint8_t)(i * 7 + 3);
	make_v2_pem();
	MUST(cookie_init(&ref_cookie, ckey));
	CHECK(firstpkt_create(&fp, &bad) == -EINVAL && !fp, "tls-crypt without a key");

	for (int w = FIRSTPKT_WRAP_NONE; w <= FIRSTPKT_WRAP_TLS_CRYPT_V2; w++) {
		mode_init(&m, (enum firstpkt_wrap)w, true);
		test_mode(&m);
		if (w == FIRSTPKT_WRAP_TLS_AUTH)
			test_pid0(&m);
		mode_free(&m);
	}
	/* tls-crypt-v2 client without early negotiation: no reply (firstpkt.h). */
	mode_init(&m, FIRSTPKT_WRAP_TLS_CRYPT_V2, false);
	{
		static uint8_t wire[FIRSTPKT_DGRAM_MAX];
		union sockaddr_any src = v4("198.18.77.2", 51234);
		struct ctlpkt p = reset_pkt(&m);

		case_no = 0;
		TP(&m, p, src, NOW, FIRSTPKT_DROP, FIRSTPKT_DROP_NO_EARLY_NEG);
	}
	mode_free(&m);
	test_trace();
	test_budget();
	test_flood();
	cookie_free(&ref_cookie);
	return harness_done("firstpkt_test");
}
