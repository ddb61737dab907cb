/*
 * tlswrap_test.c - control-channel wrapping (crypto/tlswrap.h,
 * openvpn-wire.md §2).
 *
 * 1. Round trips for every mode and direction (none; tls-auth SHA1/SHA256/
 *    SHA512 with directions 0<->1 and bidirectional; tls-crypt client<->
 *    server; tls-crypt-v2 client -> a server keyed with Kc; dynamic
 *    tls-crypt over none/tls-auth/tls-crypt), and mismatched keys fail.
 * 2. The exact wire bytes against an independent computation with one-shot
 *    OpenSSL calls (EVP_Q_mac, a fresh AES-256-CTR context) laid out by
 *    hand from §2.2 / §2.3 / §2.6.
 * 3. Refusals that must not change state: every single-bit flip, every
 *    truncation, replays, an old timestamp, forged packets with a newer
 *    timestamp or a far packet-id, packet-id 0, the 15 s time rule, small
 *    buffers, data opcodes; table T(case) of tlswrap_wkc_split lengths.
 * 4. tls-crypt-v2: a client key from `openvpn --genkey` when the binary
 *    exists (else that case is skipped), WKc unwrapped independently with
 *    the server key; a synthetic key otherwise; WKc appended to opcodes 10
 *    and 11 only; early negotiation packet-id 0x0f000001; bad key files.
 * tlswrap_kat_test.c has the known answers from a stock 2.6.14 server.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../core/clock.h"
#include "../../crypto/dc.h"
#include "../../crypto/tlswrap.h"
#include "../../ctrl/proto/ctlpkt.h"
#include "harness.h"
#include "pki.h"

#define SEC(s)		((int64_t)(s) * NSEC_PER_SEC)
#define T0		1700000000u	/* a unix time for the first send */

static uint8_t key[KEY2_LEN];		/* the static key of every test */

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	return harness_rnd(&rng_state);
}

/* A plain control packet: @op, key_id, own sid, one ack, mid, @pl_len payload bytes. */
static size_t make_plain(uint8_t *out, uint8_t op, uint8_t kid, size_t pl_len, uint8_t seed)
{
	static uint8_t payload[1400];
	struct ctlpkt p = { .opcode = op, .key_id = kid, .n_acks = 1, .acks = { 7 }, .mid = 8 };
	int rc;

	for (int i = 0; i < SID_LEN; i++) {
		p.sid[i] = (uint8_t)(0xa0 + i + seed);
		p.peer_sid[i] = (uint8_t)(0x50 + i);
	}
	for (size_t i = 0; i < pl_len; i++)
		payload[i] = (uint8_t)(i * 13 + seed);
	if (op != P_ACK_V1) {
		p.payload = payload;
		p.payload_len = pl_len;
	}
	rc = ctlpkt_build(&p, out, 1600);
	if (rc < 0) {
		FATAL("make_plain: %d", rc);
	}
	return (size_t)rc;
}

/* ---- independent reference computations ---- */

static size_t ref_hmac(const char *md, const uint8_t *k, size_t klen, const uint8_t *d,
		       size_t dlen, uint8_t *out)
{
	size_t outl = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, k, klen, d, dlen, out, 64, &outl)) {
		FATAL("EVP_Q_mac failed");
	}
	return outl;
}

static void ref_ctr(const uint8_t *k, const uint8_t *iv, const uint8_t *in, size_t len,
		    uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;

	if (!c || !EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, k, iv) ||
	    !EVP_EncryptUpdate(c, out, &l1, in, (int)len) || !EVP_EncryptFinal_ex(c, out + l1, &l2) ||
	    (size_t)(l1 + l2) != len) {
		FATAL("reference AES-256-CTR failed");
	}
	EVP_CIPHER_CTX_free(c);
}

/* §2.2 by hand: [op][sid][HMAC(pid||ts||op||sid||rest)][pid][ts][rest]. */
static size_t ref_auth(const char *md, const uint8_t *hkey, size_t hlen, uint32_t pid,
		       uint32_t ts, const uint8_t *plain, size_t len, uint8_t *out)
{
	static uint8_t msg[2048];
	uint8_t mac[64];
	size_t n = 0;

	store_be32(msg, pid);
	store_be32(msg + 4, ts);
	memcpy(msg + 8, plain, len);
	n = ref_hmac(md, hkey, hlen, msg, len + 8, mac);
	memcpy(out, plain, 9);
	memcpy(out + 9, mac, n);
	memcpy(out + 9 + n, msg, 8);
	memcpy(out + 17 + n, plain + 9, len - 9);
	return len + n + 8;
}

/* §2.3 by hand: [op][sid][pid][ts][tag][CTR(Ke, tag[0..16], rest)]. */
static size_t ref_crypt(const uint8_t *half, uint32_t pid, uint32_t ts, const uint8_t *plain,
			size_t len, uint8_t *out)
{
	static uint8_t msg[2048];

	memcpy(msg, plain, 9);
	store_be32(msg + 9, pid);
	store_be32(msg + 13, ts);
	memcpy(msg + 17, plain + 9, len - 9);
	memcpy(out, msg, 17);
	ref_hmac("SHA256", half + 64, 32, msg, len + 8, out + 17);
	ref_ctr(half, out + 17, plain + 9, len - 9, out + 49);
	return len + 40;
}

/* ---- helpers ---- */

static void pair_roundtrip(const char *what, struct tlswrap *tx, struct tlswrap *rx, int count)
{
	static const uint8_t ops[] = { 7, 8, 4, 5, 3, 4, 4, 5 };
	static uint8_t plain[1600], wire[2400], back[2400];

	for (int i = 0; i < count; i++) {
		uint8_t op = ops[i % sizeof(ops)];
		size_t len = make_plain(plain, op, (uint8_t)(i & 7), (size_t)(i * 37) % 1200,
					(uint8_t)i);
		int wl = tlswrap_wrap(tx, plain, len, wire, sizeof(wire), T0 + (uint32_t)i);
		int bl;

		CHECK(wl == (int)(len + tlswrap_overhead(tx, op)), "%s #%d: wrap %d", what, i, wl);
		if (wl < 0)
			return;
		bl = tlswrap_unwrap(rx, wire, (size_t)wl, back, sizeof(back), SEC(i));
		CHECK(bl == (int)len && !memcmp(back, plain, len), "%s #%d: unwrap %d (%s)", what, i,
		      bl, tlswrap_strerror(bl));
	}
}

/* The receiver refuses what @tx sends (wrong key or direction). */
static void pair_mismatch(const char *what, struct tlswrap *tx, struct tlswrap *rx)
{
	uint8_t plain[256], wire[512], back[512];
	size_t len = make_plain(plain, P_CONTROL_V1, 0, 40, 1);
	int wl = tlswrap_wrap(tx, plain, len, wire, sizeof(wire), T0);
	int bl = tlswrap_unwrap(rx, wire, (size_t)wl, back, sizeof(back), 0);

	CHECK(wl > 0 && bl == TLSWRAP_ERR_AUTH, "%s: mismatched keys gave %d", what, bl);
}

static void roundtrips(void)
{
	static const char *const digests[] = { "SHA1", "SHA256", "SHA512" };
	struct tlswrap *a, *b, *c;

	MUST(tlswrap_create_none(&a));
	MUST(tlswrap_create_none(&b));
	pair_roundtrip("none", a, b, 20);
	tlswrap_free(a);
	tlswrap_free(b);

	for (int d = 0; d < 3; d++) {
		MUST(tlswrap_create_auth(&a, key, 0, digests[d]));	/* server */
		MUST(tlswrap_create_auth(&b, key, 1, digests[d]));	/* client */
		pair_roundtrip(digests[d], a, b, 30);
		pair_roundtrip(digests[d], b, a, 30);
		MUST(tlswrap_create_auth(&c, key, 0, digests[d]));
		pair_mismatch("tls-auth 0 -> 0", a, c);		/* same direction both ends */
		tlswrap_free(c);
		MUST(tlswrap_create_auth(&c, key, TLSWRAP_DIR_BIDI, digests[d]));
		pair_mismatch("tls-auth 1 -> bidi", b, c);
		tlswrap_free(a);
		MUST(tlswrap_create_auth(&a, key, TLSWRAP_DIR_BIDI, digests[d]));
		pair_roundtrip("tls-auth bidi", a, c, 10);
		pair_roundtrip("tls-auth bidi", c, a, 10);
		tlswrap_free(a);
		tlswrap_free(b);
		tlswrap_free(c);
	}
	MUST(tlswrap_create_auth(&a, key, 0, NULL));
	CHECK(tlswrap_overhead(a, P_CONTROL_V1) == 28, "default digest is SHA1");
	tlswrap_free(a);
	CHECK(tlswrap_create_auth(&a, key, 2, NULL) == -EINVAL && !a, "direction 2 accepted");
	CHECK(tlswrap_create_auth(&a, key, 0, "MD4") == -EINVAL, "MD4 accepted");

	MUST(tlswrap_create_crypt(&a, key, true));
	MUST(tlswrap_create_crypt(&b, key, false));
	pair_roundtrip("tls-crypt s->c", a, b, 30);
	pair_roundtrip("tls-crypt c->s", b, a, 30);
	MUST(tlswrap_create_crypt(&c, key, true));
	pair_mismatch("tls-crypt server -> server", a, c);
	tlswrap_free(a);
	tlswrap_free(b);
	tlswrap_free(c);
}

/* ---- exact bytes ---- */

static void exact_auth(void)
{
	static const struct { const char *md; size_t h; } mds[] = {
		{ "SHA1", 20 }, { "SHA256", 32 }, { "SHA512", 64 },
	};
	uint8_t plain[512], wire[600], want[600];

	for (int d = 0; d < 3; d++) {
		for (int dir = -1; dir <= 1; dir++) {
			struct tlswrap *w;
			/* §2.2: dir 0 sends with half 0 (bytes 64..), 1 with half 1 (192..). */
			const uint8_t *hk = key + (dir == 1 ? 192 : 64);

			MUST(tlswrap_create_auth(&w, key, dir, mds[d].md));
			for (uint32_t pid = 1; pid <= 3; pid++) {
				size_t len = make_plain(plain, pid == 1 ? 7 : 4, 0, pid * 50, 3);
				/* The wall clock moves on; the timestamp stays at the first send. */
				int wl = tlswrap_wrap(w, plain, len, wire, sizeof(wire), T0 + pid);
				size_t rl = ref_auth(mds[d].md, hk, mds[d].h, pid, T0 + 1, plain, len,
						     want);

				CHECK(wl == (int)rl && !memcmp(wire, want, rl),
				      "tls-auth %s dir %d pid %u: bytes differ", mds[d].md, dir, pid);
			}
			CHECK(tlswrap_tx_pid(w) == 3 && tlswrap_tx_time(w) == T0 + 1,
			      "tls-auth counters %u %u", tlswrap_tx_pid(w), tlswrap_tx_time(w));
			tlswrap_free(w);
		}
	}
}

static void exact_crypt(void)
{
	static uint8_t plain[1600], wire[1700], want[1700];

	for (int server = 0; server <= 1; server++) {
		struct tlswrap *w;
		/* §2.3: the server sends with half 0, the client with half 1. */
		const uint8_t *half = key + (server ? 0 : 128);

		MUST(tlswrap_create_crypt(&w, key, server));
		for (uint32_t pid = 1; pid <= 4; pid++) {
			size_t len = make_plain(plain, 4, 1, (pid - 1) * 400, 9);
			int wl = tlswrap_wrap(w, plain, len, wire, sizeof(wire), T0 + pid * 5);
			size_t rl = ref_crypt(half, pid, T0 + 5, plain, len, want);

			CHECK(wl == (int)rl && !memcmp(wire, want, rl),
			      "tls-crypt server=%d pid %u: bytes differ", server, pid);
		}
		tlswrap_free(w);
	}
}

/* ---- dynamic tls-crypt ---- */

static void dynamic(void)
{
	static uint8_t ekm[KEY2_LEN], mixed[KEY2_LEN], plain[600], wire[700], want[700];
	struct tlswrap *base_c, *base_s, *dc, *ds;

	for (int i = 0; i < KEY2_LEN; i++)
		ekm[i] = (uint8_t)(i * 31 + 5);
	for (int kind = 0; kind < 3; kind++) {
		size_t len;
		int wl;

		base_c = base_s = NULL;
		if (kind == 1) {
			MUST(tlswrap_create_auth(&base_c, key, 1, "SHA1"));
			MUST(tlswrap_create_auth(&base_s, key, 0, "SHA1"));
		} else if (kind == 2) {
			MUST(tlswrap_create_crypt(&base_c, key, false));
			MUST(tlswrap_create_crypt(&base_s, key, true));
		}
		/* §2.6: EKM xor the static key when tls-auth/tls-crypt is configured. */
		for (int i = 0; i < KEY2_LEN; i++)
			mixed[i] = ekm[i] ^ (kind ? key[i] : 0);
		MUST(tlswrap_dynamic_init(&dc, base_c, ekm, false));
		MUST(tlswrap_dynamic_init(&ds, base_s, ekm, true));
		CHECK(tlswrap_mode_get(dc) == TLSWRAP_TLS_CRYPT, "dynamic mode");
		len = make_plain(plain, P_CONTROL_SOFT_RESET_V1, 1, 0, 4);
		wl = tlswrap_wrap(ds, plain, len, wire, sizeof(wire), T0);
		/* The server sends with half 0 of the mixed key, replay id from 1. */
		CHECK(wl == (int)ref_crypt(mixed, 1, T0, plain, len, want) &&
		      !memcmp(wire, want, (size_t)wl), "dynamic kind %d: server bytes", kind);
		len = make_plain(plain, P_CONTROL_V1, 1, 300, 5);
		wl = tlswrap_wrap(dc, plain, len, wire, sizeof(wire), T0);
		CHECK(wl == (int)ref_crypt(mixed + 128, 1, T0, plain, len, want) &&
		      !memcmp(wire, want, (size_t)wl), "dynamic kind %d: client bytes", kind);
		pair_roundtrip("dynamic c->s", dc, ds, 12);
		pair_roundtrip("dynamic s->c", ds, dc, 12);
		tlswrap_free(dc);
		tlswrap_free(ds);
		tlswrap_free(base_c);
		tlswrap_free(base_s);
	}
	/* A NONE base means no xor at all. */
	MUST(tlswrap_create_none(&base_c));
	MUST(tlswrap_dynamic_init(&dc, base_c, ekm, false));
	{
		size_t len = make_plain(plain, P_ACK_V1, 2, 0, 6);
		int wl = tlswrap_wrap(dc, plain, len, wire, sizeof(wire), T0);

		CHECK(wl == (int)ref_crypt(ekm + 128, 1, T0, plain, len, want) &&
		      !memcmp(wire, want, (size_t)wl), "dynamic over none: bytes");
	}
	tlswrap_free(dc);
	tlswrap_free(base_c);
}

/* ---- refusals ---- */

/*
 * Every bit flip and truncation is refused, and afterwards the original is
 * accepted once. @wkc_body: bytes before the last two that are a WKc, which
 * tls-crypt does not authenticate (the server's WKc unwrap does): skipped.
 */
static void tamper(const char *what, struct tlswrap *tx, struct tlswrap *rx, uint8_t op,
		   size_t wkc_body)
{
	static uint8_t plain[600], wire[1800], bad[1800], back[1800];
	size_t len = make_plain(plain, op, 0, op == P_ACK_V1 ? 0 : 100, 7);
	int wl = tlswrap_wrap(tx, plain, len, wire, sizeof(wire), T0);
	int rc;

	if (wl < 0) {
		CHECK(0, "%s: wrap %d", what, wl);
		return;
	}
	for (int i = 0; i < wl; i++) {
		if (wkc_body && i >= wl - 2 - (int)wkc_body && i < wl - 2)
			continue;
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, wire, (size_t)wl);
			bad[i] ^= (uint8_t)(1 << bit);
			memset(back, 0, sizeof(back));
			rc = tlswrap_unwrap(rx, bad, (size_t)wl, back, sizeof(back), 0);
			if (rc >= 0) {
				CHECK(0, "%s: flip of byte %d bit %d accepted", what, i, bit);
				return;
			}
			/* No unauthenticated plaintext may leak to the caller's buffer. */
			CHECK(op == P_ACK_V1 || !memmem(back, sizeof(back), plain + len - 40, 40),
			      "%s: flip %d/%d left plaintext in out", what, i, bit);
		}
	}
	for (int cut = 0; cut < wl; cut++) {
		/*
		 * A cut inside a random WKc body whose last two bytes happen to
		 * name exactly the bytes left after the tls-crypt part leaves that
		 * part intact: tlswrap cannot tell, the server's WKc unwrap refuses
		 * it (about one run in 200 met such a cut).
		 */
		if (wkc_body && cut >= 2 && (size_t)cut > (size_t)wl - wkc_body - 2 &&
		    ((size_t)wire[cut - 2] << 8 | wire[cut - 1]) ==
			    (size_t)cut - ((size_t)wl - wkc_body - 2))
			continue;
		rc = tlswrap_unwrap(rx, wire, (size_t)cut, back, sizeof(back), 0);
		CHECK(rc == TLSWRAP_ERR_LEN || rc == TLSWRAP_ERR_AUTH,
		      "%s: truncation to %d gave %d", what, cut, rc);
	}
	rc = tlswrap_unwrap(rx, wire, (size_t)wl, back, (size_t)len - 1, 0);
	CHECK(rc == TLSWRAP_ERR_NOSPC, "%s: small out buffer gave %d", what, rc);
	rc = tlswrap_unwrap(rx, wire, (size_t)wl, back, sizeof(back), 0);
	CHECK(rc == (int)len && !memcmp(back, plain, len), "%s: original refused after tampering: %s",
	      what, tlswrap_strerror(rc));
	rc = tlswrap_unwrap(rx, wire, (size_t)wl, back, sizeof(back), 0);
	CHECK(rc == TLSWRAP_ERR_REPLAY, "%s: replay gave %d", what, rc);
}

static void refusals_common(void)
{
	struct tlswrap *a, *b;

	MUST(tlswrap_create_auth(&a, key, 1, "SHA256"));
	MUST(tlswrap_create_auth(&b, key, 0, "SHA256"));
	tamper("tls-auth", a, b, P_CONTROL_V1, 0);
	tamper("tls-auth ack", a, b, P_ACK_V1, 0);
	tlswrap_free(a);
	tlswrap_free(b);
	MUST(tlswrap_create_crypt(&a, key, false));
	MUST(tlswrap_create_crypt(&b, key, true));
	tamper("tls-crypt", a, b, P_CONTROL_V1, 0);
	tamper("tls-crypt reset", a, b, P_CONTROL_HARD_RESET_CLIENT_V2, 0);
	tlswrap_free(a);
	tlswrap_free(b);
}

/* A hand-made tls-auth packet (SHA1, sent with half 1) with any pid/timestamp. */
static size_t forge_auth(uint32_t pid, uint32_t ts, bool good_mac, uint8_t *out)
{
	uint8_t plain[128];
	size_t len = make_plain(plain, P_CONTROL_V1, 0, 20, (uint8_t)pid);
	size_t wl = ref_auth("SHA1", key + 192, 20, pid, ts, plain, len, out);

	if (!good_mac)
		out[10] ^= 1;
	return wl;
}

#define RESET_RX()	do { tlswrap_free(rx); MUST(tlswrap_create_auth(&rx, key, 0, "SHA1")); } while (0)
#define R(pid, ts, good, now, expect)	replay_case(__LINE__, rx, (pid), (ts), (good), (now), (expect))

static unsigned int replay_no;

static void replay_case(int line, struct tlswrap *rx, uint32_t pid, uint32_t ts, bool good,
			int64_t now, int expect)
{
	uint8_t wire[256], back[256];
	size_t wl = forge_auth(pid, ts, good, wire);
	int rc = tlswrap_unwrap(rx, wire, wl, back, sizeof(back), now);

	replay_no++;
	if ((rc > 0 ? 0 : rc) != expect) {
		harness_fail(__FILE__, line, "replay case %u: pid %u ts %u: got %s, expected %s",
			     replay_no, pid, ts, rc > 0 ? "ok" : tlswrap_strerror(rc),
			     tlswrap_strerror(expect));
	}
}

static void replay_table(void)
{
	struct tlswrap *rx = NULL;
	const int OK = 0, REPLAY = TLSWRAP_ERR_REPLAY, AUTH = TLSWRAP_ERR_AUTH;

	RESET_RX();
	R(1, T0, true, 0, OK);				/*  1: first packet */
	R(1, T0, true, 0, REPLAY);			/*  2: replayed */
	R(0, T0, true, 0, REPLAY);			/*  3: packet-id 0 */
	R(3, T0, true, 0, OK);				/*  4: ahead */
	R(2, T0, true, 0, OK);				/*  5: the hole */
	R(2, T0, true, 0, REPLAY);			/*  6: hole again */
	R(1000, T0, false, 0, AUTH);			/*  7: forged, far ahead */
	R(5, T0, true, 0, OK);				/*  8: window did not move */
	R(4, T0, true, 0, OK);				/*  9: ... so 4 still fits */
	R(9, T0 + 100, false, 0, AUTH);			/* 10: forged newer timestamp */
	R(6, T0, true, 0, OK);				/* 11: timestamp did not move */
	R(70, T0, true, 0, OK);				/* 12: jump: H = 70 */
	R(7, T0, true, 0, OK);				/* 13: 70 - 63: last in window */
	R(6, T0, true, 0, REPLAY);			/* 14: seen (and outside) */
	R(1, T0 - 1, true, 0, REPLAY);			/* 15: older timestamp */
	R(1, T0 + 1, true, 0, OK);			/* 16: newer timestamp resets */
	R(70, T0, true, 0, REPLAY);			/* 17: the old timestamp is gone */
	R(2, T0 + 1, true, 0, OK);			/* 18: new window works */
	R(1, T0 + 1, true, 0, REPLAY);			/* 19: ... and remembers */
	R(0, T0 + 2, true, 0, REPLAY);			/* 20: id 0 even with new time */
	R(3, T0 + 1, true, 0, OK);			/* 21: id 0 did not move time */
	RESET_RX();
	R(10, T0, true, SEC(0), OK);			/* 22: time rule: 10 at 0 s */
	R(5, T0, true, SEC(15), OK);			/* 23: 15 s later: still fine */
	R(4, T0, true, SEC(16), REPLAY);		/* 24: 16 s: 10 is stale, ids <= 10 seen */
	R(11, T0, true, SEC(16), OK);			/* 25: newer still fine */
	R(0xffffffffu, T0, true, SEC(16), OK);		/* 26: max id */
	R(0xfffffffeu, T0, true, SEC(16), OK);		/* 27: max id - 1 */
	tlswrap_free(rx);
}

static void misc_refusals(void)
{
	uint8_t plain[64], wire[256], back[256];
	struct tlswrap *w;
	size_t len;
	int rc;

	MUST(tlswrap_create_crypt(&w, key, false));
	len = make_plain(plain, P_CONTROL_V1, 0, 8, 1);
	for (size_t cap = 0; cap < len + 40; cap++) {
		rc = tlswrap_wrap(w, plain, len, wire, cap, T0);
		CHECK(rc == TLSWRAP_ERR_NOSPC, "wrap cap %zu gave %d", cap, rc);
	}
	CHECK(tlswrap_tx_pid(w) == 0 && tlswrap_tx_time(w) == 0, "refused wrap moved counters");
	CHECK(tlswrap_wrap(w, plain, 8, wire, sizeof(wire), T0) == TLSWRAP_ERR_LEN, "8-byte wrap");
	plain[0] = P_DATA_V2 << 3;
	CHECK(tlswrap_wrap(w, plain, len, wire, sizeof(wire), T0) == TLSWRAP_ERR_OPCODE,
	      "data opcode wrapped");
	wire[0] = P_DATA_V1 << 3;
	memset(wire + 1, 0, 100);
	CHECK(tlswrap_unwrap(w, wire, 100, back, sizeof(back), 0) == TLSWRAP_ERR_OPCODE,
	      "data opcode unwrapped");
	CHECK(tlswrap_tx_pid(w) == 0, "refused wrap moved the packet-id");
	plain[0] = P_CONTROL_WKC_V1 << 3;
	CHECK(tlswrap_wrap(w, plain, len, wire, sizeof(wire), T0) == TLSWRAP_ERR_OPCODE,
	      "WKC_V1 wrapped without a WKc");
	plain[0] = P_CONTROL_HARD_RESET_CLIENT_V3 << 3;
	CHECK(tlswrap_wrap(w, plain, len, wire, sizeof(wire), T0) == TLSWRAP_ERR_OPCODE,
	      "V3 reset wrapped without a WKc");
	/* A wrap of just the 9-byte header is legal (the parser refuses it later). */
	plain[0] = P_CONTROL_V1 << 3;
	CHECK(tlswrap_wrap(w, plain, 9, wire, sizeof(wire), T0) == 49, "9-byte wrap");
	tlswrap_free(w);
	CHECK(!strcmp(tlswrap_strerror(TLSWRAP_ERR_AUTH), "bad hmac"), "strerror");
}

#define W(len_field, total, expect)	wkc_case(__LINE__, (len_field), (total), (expect))

static void wkc_case(int line, unsigned int field, size_t total, int expect)
{
	static uint8_t buf[2048];
	size_t n = 0;
	int rc;

	memset(buf, 0, sizeof(buf));
	if (total >= 2)
		store_be16(buf + total - 2, (uint16_t)field);
	rc = tlswrap_wkc_split(buf, total, &n);
	if (rc != expect || (!rc && n != field)) {
		harness_fail(__FILE__, line,
			     "wkc_split(len field %u, %zu bytes) = %d/%zu, expected %d", field,
			     total, rc, n, expect);
	}
}

static void wkc_table(void)
{
	const int L = TLSWRAP_ERR_LEN;

	W(0, 0, L);			/* 1: empty */
	W(2, 50, L);			/* 2: < 49 + 2 */
	W(2, 51, 0);			/* 3: smallest */
	W(0, 100, L);			/* 4: length 0 */
	W(1, 100, L);			/* 5: length 1 */
	W(51, 100, 0);			/* 6: leaves exactly 49 */
	W(52, 100, L);			/* 7: leaves 48 */
	W(299, 348, 0);			/* 8: default WKc, empty packet */
	W(1024, 1073, 0);		/* 9: max WKc */
	W(1025, 1200, L);		/* 10: above max */
	W(65535, 2000, L);		/* 11: absurd */
}

/* ---- tls-crypt-v2 ---- */

/* A PEM block behind a comment line, which readers must skip. */
static void b64_pem(const uint8_t *der, size_t len, const char *name, char *out)
{
	pki_pem_text(out + sprintf(out, "# comment\n"), name, der, len);
}

static size_t b64_unpem(const char *pem, const char *name, uint8_t *der)
{
	static char b64[8192];
	char begin[128];
	const char *s;
	size_t n = 0;
	int len;

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", name);
	s = strstr(pem, begin);
	if (!s)
		return 0;
	s = strchr(s, '\n');
	for (; s && *s && *s != '-'; s++)
		if (*s != '\n' && *s != '\r')
			b64[n++] = *s;
	b64[n] = 0;
	len = EVP_DecodeBlock(der, (unsigned char *)b64, (int)n);
	while (n && b64[n - 1] == '=') {	/* DecodeBlock counts padding as zeros */
		n--;
		len--;
	}
	return len > 0 ? (size_t)len : 0;
}

/* §2.5: WKc = T || CTR(Ke, T[0..16], Kc || metadata) || len, T = HMAC(Ka, len || Kc || md). */
static bool wkc_unwrap_ref(const uint8_t *srv, const uint8_t *wkc, size_t wlen, uint8_t *kc)
{
	static uint8_t pt[1024], msg[1100];
	uint8_t tag[64];
	size_t body = wlen - 34;

	if (wlen < 34 + KEY2_LEN || load_be16(wkc + wlen - 2) != wlen)
		return false;
	ref_ctr(srv, wkc, wkc + 32, body, pt);
	memcpy(msg, wkc + wlen - 2, 2);
	memcpy(msg + 2, pt, body);
	ref_hmac("SHA256", srv + 64, 32, msg, body + 2, tag);
	memcpy(kc, pt, KEY2_LEN);
	return !memcmp(tag, wkc, 32);
}

/* The other direction: build a client key from Kc, metadata and a server key. */
static size_t wkc_wrap_ref(const uint8_t *srv, const uint8_t *kc, const uint8_t *md, size_t mlen,
			   uint8_t *wkc)
{
	static uint8_t msg[1100];
	size_t wlen = 32 + KEY2_LEN + mlen + 2;

	store_be16(msg, (uint16_t)wlen);
	memcpy(msg + 2, kc, KEY2_LEN);
	memcpy(msg + 2 + KEY2_LEN, md, mlen);
	ref_hmac("SHA256", srv + 64, 32, msg, 2 + KEY2_LEN + mlen, wkc);
	ref_ctr(srv, wkc, msg + 2, KEY2_LEN + mlen, wkc + 32);
	store_be16(wkc + wlen - 2, (uint16_t)wlen);
	return wlen;
}

/* Exercises one client key (PEM text); @srv (128 bytes) may be NULL. */
static void v2_client(const char *what, const char *pem, const uint8_t *srv)
{
	static const char cli_name[] = "OpenVPN tls-crypt-v2 client key";
	static uint8_t der[2048], kc[KEY2_LEN], plain[600], wire[2000], back[2000], want[2000];
	size_t der_len = b64_unpem(pem, cli_name, der), wkc_len = der_len - KEY2_LEN, len;
	struct tlswrap *cli, *cli2, *srvw;
	int wl, bl;

	CHECK(der_len > KEY2_LEN, "%s: test could not decode the key", what);
	if (der_len <= KEY2_LEN)
		return;
	if (srv) {
		CHECK(wkc_unwrap_ref(srv, der + KEY2_LEN, wkc_len, kc) && !memcmp(kc, der, KEY2_LEN),
		      "%s: WKc does not unwrap to Kc with the server key", what);
	}
	MUST(tlswrap_create_crypt_v2_client(&cli, pem, true));
	MUST(tlswrap_create_crypt_v2_client(&cli2, pem, false));
	MUST(tlswrap_create_crypt(&srvw, der, true));	/* the server, keyed with Kc */
	CHECK(tlswrap_tx_pid(cli) == EARLY_NEG_START && tlswrap_tx_pid(cli2) == 0, "%s: start pid",
	      what);
	CHECK(tlswrap_overhead(cli, P_CONTROL_HARD_RESET_CLIENT_V3) == 40 + wkc_len &&
	      tlswrap_overhead(cli, P_CONTROL_WKC_V1) == 40 + wkc_len &&
	      tlswrap_overhead(cli, P_CONTROL_V1) == 40, "%s: overhead", what);

	/* HARD_RESET_CLIENT_V3 = tls-crypt(Kc) || WKc, replay id 0x0f000001. */
	len = make_plain(plain, P_CONTROL_HARD_RESET_CLIENT_V3, 0, 0, 1);
	plain[CTL_HDR_LEN] = 0;				/* no acks on a client reset */
	len = CTL_HDR_LEN + 1 + 4;
	store_be32(plain + CTL_HDR_LEN + 1, 0);
	wl = tlswrap_wrap(cli, plain, len, wire, sizeof(wire), T0);
	ref_crypt(der + 128, EARLY_NEG_START + 1, T0, plain, len, want);
	CHECK(wl == (int)(len + 40 + wkc_len) && !memcmp(wire, want, len + 40) &&
	      !memcmp(wire + len + 40, der + KEY2_LEN, wkc_len), "%s: V3 bytes", what);
	CHECK(load_be32(wire + 9) == 0x0f000001, "%s: early-neg pid %08x", what,
	      load_be32(wire + 9));
	bl = tlswrap_unwrap(srvw, wire, (size_t)wl, back, sizeof(back), 0);
	CHECK(bl == (int)len && !memcmp(back, plain, len), "%s: server unwrap of V3: %s", what,
	      tlswrap_strerror(bl));

	/* CONTROL_WKC_V1 carries WKc again; CONTROL_V1 and ACK_V1 do not. */
	len = make_plain(plain, P_CONTROL_WKC_V1, 0, 400, 2);
	wl = tlswrap_wrap(cli, plain, len, wire, sizeof(wire), T0 + 9);
	CHECK(wl == (int)(len + 40 + wkc_len) && !memcmp(wire + len + 40, der + KEY2_LEN, wkc_len),
	      "%s: WKC_V1 trailer", what);
	CHECK(load_be32(wire + 9) == 0x0f000002 && load_be32(wire + 13) == T0,
	      "%s: second pid/time", what);
	bl = tlswrap_unwrap(srvw, wire, (size_t)wl, back, sizeof(back), 0);
	CHECK(bl == (int)len && !memcmp(back, plain, len), "%s: server unwrap of WKC_V1", what);
	len = make_plain(plain, P_CONTROL_V1, 0, 100, 3);
	wl = tlswrap_wrap(cli, plain, len, wire, sizeof(wire), T0);
	CHECK(wl == (int)(len + 40), "%s: CONTROL_V1 got a trailer", what);
	tamper("tls-crypt-v2 CONTROL_V1", cli, srvw, P_CONTROL_V1, 0);
	tamper("tls-crypt-v2 WKC_V1", cli, srvw, P_CONTROL_WKC_V1, wkc_len - 2);

	/* Without early negotiation: replay ids from 1, old-style V3 works too. */
	len = make_plain(plain, P_CONTROL_V1, 0, 10, 4);
	wl = tlswrap_wrap(cli2, plain, len, wire, sizeof(wire), T0);
	CHECK(wl > 0 && load_be32(wire + 9) == 1, "%s: pid without early-neg", what);
	pair_roundtrip("tls-crypt-v2 s->c", srvw, cli2, 10);
	tlswrap_free(cli);
	tlswrap_free(cli2);
	tlswrap_free(srvw);
}

static void v2_bad_keys(const uint8_t *srv)
{
	static const char cli_name[] = "OpenVPN tls-crypt-v2 client key";
	static uint8_t der[1400];
	uint8_t md[9] = { 1, 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00 };
	static char pem[4096];
	struct tlswrap *w = (struct tlswrap *)1;
	size_t wl;

	memcpy(der, key, KEY2_LEN);
	wl = wkc_wrap_ref(srv, key, md, sizeof(md), der + KEY2_LEN);
	b64_pem(der, KEY2_LEN + wl, "OpenVPN tls-crypt-v2 server key", pem);
	CHECK(tlswrap_create_crypt_v2_client(&w, pem, false) == -EINVAL && !w, "wrong PEM name");
	der[KEY2_LEN + wl - 1] ^= 1;
	b64_pem(der, KEY2_LEN + wl, cli_name, pem);
	CHECK(tlswrap_create_crypt_v2_client(&w, pem, false) == -EINVAL, "bad WKc length field");
	der[KEY2_LEN + wl - 1] ^= 1;
	b64_pem(der, KEY2_LEN + 100, cli_name, pem);
	CHECK(tlswrap_create_crypt_v2_client(&w, pem, false) == -EINVAL, "short WKc");
	b64_pem(der, KEY2_LEN, cli_name, pem);
	CHECK(tlswrap_create_crypt_v2_client(&w, pem, false) == -EINVAL, "no WKc");
	CHECK(tlswrap_create_crypt_v2_client(&w, "garbage", false) == -EINVAL, "garbage");
	CHECK(tlswrap_create_crypt_v2_client(&w, "", false) == -EINVAL, "empty");
	CHECK(tlswrap_create_crypt_v2_client(&w, NULL, false) == -EINVAL, "NULL");
	/* A longer metadata block is fine as long as the length field agrees. */
	{
		static uint8_t bigmd[700];

		memset(bigmd, 0x42, sizeof(bigmd));
		bigmd[0] = 0;
		wl = wkc_wrap_ref(srv, key, bigmd, sizeof(bigmd), der + KEY2_LEN);
		b64_pem(der, KEY2_LEN + wl, cli_name, pem);
		v2_client("synthetic big metadata", pem, srv);
	}
}

static void v2(void)
{
	static const char cli_name[] = "OpenVPN tls-crypt-v2 client key";
	static uint8_t srv[128], der[600];
	uint8_t md[9] = { 1, 0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00 };
	static char pem[4096];
	const char *cli_pem = NULL, *srv_pem = NULL;
	char cmd[512];
	size_t wl;

	/* Synthetic: a server key of our own, WKc made by the reference code. */
	for (int i = 0; i < 128; i++)
		srv[i] = (uint8_t)(i * 5 + 77);
	memcpy(der, key, KEY2_LEN);
	wl = wkc_wrap_ref(srv, key, md, sizeof(md), der + KEY2_LEN);
	CHECK(wl == 299, "default WKc is 299 bytes, made %zu", wl);
	b64_pem(der, KEY2_LEN + wl, cli_name, pem);
	v2_client("synthetic", pem, srv);
	v2_bad_keys(srv);

	/* Real: keys from the openvpn binary, if there is one. */
	if (access("/usr/sbin/openvpn", X_OK)) {
		printf("SKIP tls-crypt-v2 with openvpn --genkey: no /usr/sbin/openvpn\n");
		return;
	}
	pki_dir_make("tlswrap");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && /usr/sbin/openvpn --genkey tls-crypt-v2-server srv.key >/dev/null 2>&1 && "
		 "/usr/sbin/openvpn --tls-crypt-v2 srv.key --genkey tls-crypt-v2-client cli.key "
		 ">/dev/null 2>&1", pki_dir);
	if (system(cmd) == 0) {
		cli_pem = pki_slurp("cli.key");
		srv_pem = pki_slurp("srv.key");
	}
	CHECK(cli_pem && srv_pem, "openvpn --genkey tls-crypt-v2 failed");
	if (cli_pem && srv_pem) {
		uint8_t sk[256];
		size_t skl = b64_unpem(srv_pem, "OpenVPN tls-crypt-v2 server key", sk);
		size_t cl = b64_unpem(cli_pem, cli_name, der);

		CHECK(skl == 128, "server key is %zu bytes", skl);
		CHECK(cl == KEY2_LEN + 299, "openvpn client key is %zu bytes", cl);
		v2_client("openvpn --genkey", cli_pem, skl == 128 ? sk : NULL);
		printf("tls-crypt-v2 with openvpn --genkey: WKc %zu bytes\n", cl - KEY2_LEN);
	}
}

/* The static key arrives as text; make sure the file format path works. */
static void load_key(void)
{
	static char text[PKI_STATIC_KEY_TEXT_MAX];
	uint8_t bytes[KEY2_LEN];

	for (int i = 0; i < KEY2_LEN; i++)
		bytes[i] = (uint8_t)((i * 73 + 11) & 0xff);
	pki_static_key_text(text, bytes);
	MUST(dc_static_key_parse(text, key));
	CHECK(key[0] == 11 && key[1] == 84 && !memcmp(key, bytes, KEY2_LEN), "static key parse");
}

int main(void)
{
	MUST(tlswrap_global_init());
	load_key();
	roundtrips();
	exact_auth();
	exact_crypt();
	dynamic();
	refusals_common();
	replay_table();
	misc_refusals();
	wkc_table();
	v2();
	(void)rnd;
	tlswrap_global_cleanup();
	return harness_done("tlswrap_test");
}
