/*
 * aead_test.c - the AEAD data channel (crypto/dc.h) and the static key
 * parser, single-threaded.
 *
 *  1. Known answers: packets computed independently with python3-cryptography
 *     from openvpn-wire.md §5/§6.2 (recipe above kats[]) must come out of
 *     dc_seal byte for byte and open with the peer's slot. (tests/kat and
 *     kat_test.c do the same with packets captured from stock OpenVPN.)
 *  2. Round trips for every cipher, P_DATA_V2 and V1, both directions and
 *     many sizes, with byte-exact header checks.
 *  3. The AAD covers exactly what §6.2 says: every V2 header byte and the V1
 *     packet-id; the V1 opcode byte is not authenticated (as in OpenVPN).
 *  4. Every bit of the tag and ciphertext, truncation and extension: DROP_AUTH.
 *  5. Tables: dc_classify, static key files, cipher names, create arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "../../core/pkt.h"
#include "../../core/proto.h"
#include "../../crypto/dc.h"
#include "harness.h"

static struct pool *pool;
static uint8_t key2[KEY2_LEN];

static const enum dc_cipher all_ciphers[] = {
	DC_AES_128_GCM, DC_AES_256_GCM, DC_CHACHA20_POLY1305,
};

static struct pkt *pkt_with(const void *data, uint32_t len)
{
	struct pkt *p = pool_get(pool);

	if (!p) {
		FATAL("pool empty");
	}
	memcpy(p->data, data, len);
	p->len = len;
	return p;
}

static struct dc_keyslot *slot(enum dc_cipher c, bool is_server, uint8_t key_id)
{
	struct dc_keyslot *ks = NULL;
	int rc = dc_keyslot_create(&ks, c, key2, is_server, key_id, 2, 64, 15, false);

	if (rc) {
		FATAL("dc_keyslot_create(%s): %d", dc_cipher_name(c), rc);
	}
	return ks;
}

/* ---- 1. known answers ---- */

/*
 * Generated with python3-cryptography (AESGCM / ChaCha20Poly1305):
 *   key2[i] = (i * 7 + 3) & 0xff; sender half h = 0 (client) or 1 (server);
 *   key = key2[128h .. 128h + keylen), implicit IV = key2[128h + 64 .. +8);
 *   V2: hdr = [9<<3|kid][peer 3], AAD = hdr || pid; V1: hdr = [6<<3|kid], AAD = pid;
 *   nonce = pid || IV; packet = hdr || pid || tag || ciphertext.
 */
static const char kat_plain[] = "sluice KAT: the quick brown fox jumps over 13 lazy dogs";

struct kat {
	enum dc_cipher cipher;
	bool sender_is_server;
	uint8_t key_id;
	uint32_t peer_id;		/* PEER_ID_NONE: P_DATA_V1 */
	uint32_t pid;
	const char *packet;
};

#define KAT_PLAIN_LEN	(sizeof(kat_plain) - 1)

static const struct kat kats[] = {
	{ DC_AES_128_GCM, false, 1, 0x0a0b0c, 0x00000001, /* c2s V2 */
	  "\x49\x0a\x0b\x0c\x00\x00\x00\x01\x01\x54\x5e\x88\x9e\x01\x0a\xdf\x68\x3e\xa8\x74\x84\x95\x9c\x34\x0c\x2a\x9f\x57\x18\x68\xcf\xac\xc1\x3b\x4c\xe7\xac\x5e\x8a\xb4\xe9\x95\x04\xe5\xba\x22\x8e\x9e\x89\x6f\xcc\xed\x42\xe6\xde\xe5\x58\x23\x3f\x11\x7a\x0f\xdb\x49\x59\x8a\x8e\x8e\xdb\x7e\x95\x6b\x03\xab\x35\x46\xec\xc9\xb4" },
	{ DC_AES_128_GCM, true, 2, 0xffffff, 0x01020304, /* s2c V1 */
	  "\x32\x01\x02\x03\x04\xb1\xe9\xb5\xdd\xe0\x3a\x9f\x0e\x44\xc6\xfc\x0c\xb7\x56\xf2\x07\xce\xdf\xd8\x70\x20\xc1\x95\xfa\x59\x40\x5b\xd4\xf3\x63\x5c\x65\x8d\x0a\xc1\x4d\xf6\x74\x5a\xec\xdd\x4a\x48\xca\x84\x41\xe4\xe2\x30\x3d\xde\x16\x98\xf3\x65\x5d\xa8\x20\xf1\xf8\xe9\x5c\xa5\xc6\xe4\xac\x7c\xb1\xcc\x5a\x87" },
	{ DC_AES_128_GCM, true, 7, 0xfffffe, 0xfffffffe, /* s2c V2 */
	  "\x4f\xff\xff\xfe\xff\xff\xff\xfe\xfa\x09\x61\x47\xe2\xec\x4d\xd0\x04\x2d\x8d\xad\xa7\xfa\x3f\x20\x10\x95\xba\x22\x80\x06\x4f\xcb\x5e\xee\x1f\xff\x1b\xf0\xc4\x5d\xf8\x60\x25\xb0\x91\x31\x37\x0d\x9e\xb6\x94\xfc\x08\x7a\x30\xeb\x35\x61\x6b\x49\x07\xa4\xca\xc6\x94\xd8\x8a\xaf\x81\x71\x68\x72\xe4\x49\x32\x5b\xa5\x33\x50" },
	{ DC_AES_256_GCM, false, 1, 0x0a0b0c, 0x00000001, /* c2s V2 */
	  "\x49\x0a\x0b\x0c\x00\x00\x00\x01\xfa\x2f\x1a\x46\xf8\x47\x0b\x26\x53\xbe\xac\x32\xb4\x58\xcd\x12\x9c\x36\x38\x6b\xf5\x42\x6a\x63\x57\x78\x95\x15\x5a\xac\x04\x4e\x2c\x32\xa4\x7d\xb6\xe3\x23\x8a\xd0\xee\xf0\x73\xc1\x74\x5b\x21\x2e\x7a\x89\x10\xe9\x57\x1e\x59\xf0\xb0\xc9\xd2\x01\x81\x20\x9e\x68\xdb\x4e\xcc\xdb\x39\x2c" },
	{ DC_AES_256_GCM, true, 2, 0xffffff, 0x01020304, /* s2c V1 */
	  "\x32\x01\x02\x03\x04\x59\x54\xdb\xb2\x33\xf5\x03\x69\xcf\xe9\x9f\x2e\xe8\x17\xce\x46\xc8\x33\xfb\x2f\xa5\x9c\xa7\xf4\xfe\x45\x47\x3e\xb8\xdb\x78\x3b\x45\x6e\x07\x92\xa7\x6c\x51\x2f\x52\xc4\x0d\xf3\xfb\x42\x39\xc7\xc6\xda\x4d\x7a\x6b\xda\xf3\x1a\x66\x33\x78\xf6\x4f\xdc\x57\xbb\x2d\xf7\xd7\x0d\xc2\x26\xc0" },
	{ DC_AES_256_GCM, true, 7, 0xfffffe, 0xfffffffe, /* s2c V2 */
	  "\x4f\xff\xff\xfe\xff\xff\xff\xfe\x52\x89\xac\xc0\x13\xfc\x73\xbc\x63\x66\x35\x83\x30\xf3\x7c\x51\xe7\xea\x92\xb0\x04\xeb\xe6\x29\x06\x69\x41\xdd\xd7\x00\x23\xe9\xd2\xf1\x85\x39\xbd\x9c\x47\x34\x7e\x1b\x42\xde\x3a\xaa\x1e\x7e\x3a\x87\xb2\x2b\x67\x0c\x37\x4f\x66\xce\xf6\x3c\xb7\x20\x12\x6c\x38\xcf\x82\xf0\x67\xfe\xf8" },
	{ DC_CHACHA20_POLY1305, false, 1, 0x0a0b0c, 0x00000001, /* c2s V2 */
	  "\x49\x0a\x0b\x0c\x00\x00\x00\x01\x14\xfe\x63\x18\x59\xa6\x3d\x18\x2a\x54\x7a\x3d\x90\xab\xb4\x00\x6a\xb3\xff\x47\x3c\x63\x2f\xca\x5e\xec\x52\xb5\x3a\xc0\x51\x55\x21\x1d\x03\x78\xcf\x31\xf0\x21\x2a\x72\xdf\x6a\x8f\x4f\x94\x33\x05\x6e\xd0\x43\x16\x4e\x85\xb8\x3c\xcf\x94\xda\x72\x44\xcd\x68\xe3\x49\x99\x79\xee\xa8\xbb" },
	{ DC_CHACHA20_POLY1305, true, 2, 0xffffff, 0x01020304, /* s2c V1 */
	  "\x32\x01\x02\x03\x04\xf1\x34\xe0\x84\x0f\x1d\x64\x94\xe2\x8f\x49\xb8\xf0\xbd\xe0\xa0\x3e\x20\xa6\xaf\xb1\xfc\x4f\xa3\xde\x40\xb3\xdf\x81\xa2\xff\x70\xb0\x30\xea\x14\x2f\xcc\x0c\x1f\xe9\x8b\x39\x0c\xed\x17\xd6\x3d\x93\x7c\x91\x8e\xbc\x99\x5a\x90\xfd\x91\x3a\xec\x99\xca\xab\x3b\xe8\x82\x40\x11\x6d\x39\xfd" },
	{ DC_CHACHA20_POLY1305, true, 7, 0xfffffe, 0xfffffffe, /* s2c V2 */
	  "\x4f\xff\xff\xfe\xff\xff\xff\xfe\xe2\x75\x87\x98\x18\xeb\xd6\x5f\xce\x49\x59\xb8\x2a\x9c\x8c\x7a\x96\x4b\x2e\xb1\x9d\x41\x06\x6a\xc6\x65\xdd\x22\x68\x79\xf3\x27\x75\x63\x2f\x43\x33\x60\x65\x96\xdc\xdf\x6f\x6f\x41\x7a\x98\x6d\x8a\xb5\x83\x8a\xba\x2a\x55\x52\x97\xd6\xcf\xaf\x0f\x05\x6c\x6d\xcf\x21\xd9\x39\xe0\x11\x9f" },
};

static void test_kat(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(kats); i++) {
		const struct kat *k = &kats[i];
		bool is_v1 = k->peer_id == PEER_ID_NONE;
		uint32_t wire_len = KAT_PLAIN_LEN + (is_v1 ? DC_V1_OVERHEAD : DC_V2_OVERHEAD);
		struct dc_keyslot *tx = slot(k->cipher, k->sender_is_server, k->key_id);
		struct dc_keyslot *rx = slot(k->cipher, !k->sender_is_server, k->key_id);

		for (unsigned int w = 0; w < 2; w++) {
			struct pkt *p = pkt_with(kat_plain, KAT_PLAIN_LEN);

			p->pid = k->pid;
			CHECK(dc_seal(tx, w, p, k->peer_id), "kat %u w %u: seal failed", i, w);
			CHECK(p->len == wire_len && !memcmp(p->data, k->packet, wire_len),
			      "kat %u (%s) w %u: sealed packet differs from the vector", i,
			      dc_cipher_name(k->cipher), w);
			pkt_free(p);

			p = pkt_with(k->packet, wire_len);
			CHECK(dc_classify(p) == PKT_OK, "kat %u: classify", i);
			CHECK(dc_open(rx, w, p), "kat %u (%s) w %u: open failed, verdict %u", i,
			      dc_cipher_name(k->cipher), w, p->verdict);
			CHECK(p->len == KAT_PLAIN_LEN && !memcmp(p->data, kat_plain, KAT_PLAIN_LEN),
			      "kat %u: plaintext differs", i);
			CHECK(p->pid == k->pid, "kat %u: pid %u, expected %u", i, p->pid, k->pid);
			CHECK(p->key_gen == rx->gen, "kat %u: key_gen", i);
			pkt_free(p);

			/* The sender's own slot has the other half: it must not open it. */
			p = pkt_with(k->packet, wire_len);
			CHECK(dc_classify(p) == PKT_OK, "kat %u: classify", i);
			CHECK(!dc_open(tx, w, p) && p->verdict == DROP_AUTH,
			      "kat %u: opened with the sender's half", i);
			pkt_free(p);
		}
		dc_keyslot_free(tx);
		dc_keyslot_free(rx);
	}
}

/* ---- 2. round trips ---- */

static void fill(uint8_t *b, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

static void check_header(const struct pkt *p, const struct dc_keyslot *tx, uint32_t peer_id,
			 uint32_t pid, uint32_t plain_len, const char *what)
{
	if (peer_id == PEER_ID_NONE) {
		CHECK(p->len == plain_len + DC_V1_OVERHEAD, "%s: V1 length %u", what, p->len);
		CHECK(p->data[0] == (P_DATA_V1 << 3 | tx->key_id), "%s: V1 byte 0 %02x", what,
		      p->data[0]);
		CHECK(load_be32(p->data + 1) == pid, "%s: V1 pid", what);
	} else {
		CHECK(p->len == plain_len + DC_V2_OVERHEAD, "%s: V2 length %u", what, p->len);
		CHECK(p->data[0] == (P_DATA_V2 << 3 | tx->key_id), "%s: V2 byte 0 %02x", what,
		      p->data[0]);
		CHECK(p->data[1] == (uint8_t)(peer_id >> 16) && p->data[2] == (uint8_t)(peer_id >> 8) &&
		      p->data[3] == (uint8_t)peer_id, "%s: V2 peer-id bytes", what);
		CHECK(load_be32(p->data + 4) == pid, "%s: V2 pid", what);
	}
	CHECK(p->data == p->buf + PKT_HEADROOM - (p->len - plain_len),
	      "%s: header not built in the headroom", what);
}

static void roundtrip_one(struct dc_keyslot *tx, struct dc_keyslot *rx, uint32_t peer_id,
			  uint32_t len, uint32_t pid)
{
	static uint8_t plain[PKT_MTU_DATA];
	char what[96];
	struct pkt *p;
	uint8_t verdict;

	snprintf(what, sizeof(what), "%s %s %s len %u pid %u", dc_cipher_name(tx->cipher),
		 tx->is_server ? "s2c" : "c2s", peer_id == PEER_ID_NONE ? "V1" : "V2", len, pid);
	fill(plain, len, pid);
	p = pkt_with(plain, len);
	p->pid = pid;
	CHECK(dc_seal(tx, pid & 1, p, peer_id), "%s: seal failed", what);
	check_header(p, tx, peer_id, pid, len, what);
	if (len >= 16)
		CHECK(memcmp(p->data + p->len - len, plain, 16), "%s: not encrypted", what);
	p->flags = 0;
	verdict = dc_classify(p);
	CHECK(verdict == PKT_OK, "%s: classify %u", what, verdict);
	CHECK(p->key_id == tx->key_id, "%s: classify key_id %u", what, p->key_id);
	CHECK(p->peer_id == (peer_id == PEER_ID_NONE ? PEER_ID_NONE : peer_id),
	      "%s: classify peer_id %06x", what, p->peer_id);
	CHECK(!!(p->flags & PKT_F_V1) == (peer_id == PEER_ID_NONE), "%s: classify V1 flag", what);
	p->pid = 0;
	CHECK(dc_open(rx, (pid >> 1) & 1, p), "%s: open failed, verdict %u", what, p->verdict);
	CHECK(p->len == len && !memcmp(p->data, plain, len), "%s: plaintext differs", what);
	CHECK(p->pid == pid && p->key_gen == rx->gen, "%s: pid/key_gen", what);
	pkt_free(p);
}

static void test_roundtrip(void)
{
	static const uint32_t lens[] = { 0, 1, 15, 16, 17, 64, 100, 512, 1400, 1500,
					 PKT_MTU_DATA - DC_V2_OVERHEAD };
	static const uint32_t peers[] = { 0, 1, 0x123456, 0xFFFFFE, PEER_ID_NONE };

	for (unsigned int c = 0; c < ARRAY_SIZE(all_ciphers); c++) {
		for (int srv = 0; srv < 2; srv++) {
			struct dc_keyslot *tx = slot(all_ciphers[c], srv, (uint8_t)(c + srv * 3));
			struct dc_keyslot *rx = slot(all_ciphers[c], !srv, (uint8_t)(c + srv * 3));
			struct dc_keyslot *same = slot(all_ciphers[c], srv, 0);
			uint32_t pid = 1;
			struct pkt *p;

			for (unsigned int l = 0; l < ARRAY_SIZE(lens); l++)
				for (unsigned int q = 0; q < ARRAY_SIZE(peers); q++)
					roundtrip_one(tx, rx, peers[q], lens[l], pid++);
			roundtrip_one(tx, rx, 7, 100, DC_PID_REJECT - 1);
			roundtrip_one(tx, rx, 7, 100, 0xFFFFFFFF);

			/* A slot with the same direction holds the wrong half. */
			p = pkt_with("hello world, wrong way", 22);
			p->pid = 5;
			CHECK(dc_seal(tx, 0, p, 3), "seal");
			CHECK(dc_classify(p) == PKT_OK, "classify");
			CHECK(!dc_open(same, 0, p) && p->verdict == DROP_AUTH,
			      "%s: same-direction slot opened a packet", dc_cipher_name(tx->cipher));
			pkt_free(p);
			dc_keyslot_free(tx);
			dc_keyslot_free(rx);
			dc_keyslot_free(same);
		}
	}
}

/* ---- 3./4. what the tag covers ---- */

static struct pkt *sealed(struct dc_keyslot *tx, uint32_t peer_id, uint32_t len)
{
	uint8_t plain[256];
	struct pkt *p;

	fill(plain, len, 9);
	p = pkt_with(plain, len);
	p->pid = 77;
	if (!dc_seal(tx, 0, p, peer_id)) {
		FATAL("seal failed");
	}
	if (dc_classify(p) != PKT_OK) {
		FATAL("classify failed");
	}
	return p;
}

/* Opens a copy of @orig with byte @at XORed with @mask; returns the verdict. */
static uint8_t open_flipped(struct dc_keyslot *rx, const struct pkt *orig, uint32_t at,
			    uint8_t mask, int32_t len_delta)
{
	struct pkt *p = pkt_with(orig->data, orig->len);
	uint8_t v;

	p->flags = orig->flags;
	p->data[at] ^= mask;
	p->len = (uint32_t)((int32_t)p->len + len_delta);
	v = dc_open(rx, 1, p) ? PKT_OK : p->verdict;
	pkt_free(p);
	return v;
}

static void test_aad_and_flips(void)
{
	for (unsigned int c = 0; c < ARRAY_SIZE(all_ciphers); c++) {
		struct dc_keyslot *tx = slot(all_ciphers[c], false, 3);
		struct dc_keyslot *rx = slot(all_ciphers[c], true, 3);
		const char *name = dc_cipher_name(all_ciphers[c]);
		struct pkt *v2 = sealed(tx, 0x010203, 40);
		struct pkt *v1 = sealed(tx, PEER_ID_NONE, 40);
		uint8_t v;

		CHECK(open_flipped(rx, v2, 0, 0, 0) == PKT_OK, "%s: untouched V2", name);
		CHECK(open_flipped(rx, v1, 0, 0, 0) == PKT_OK, "%s: untouched V1", name);
		/* V2: AAD = opcode, peer-id, pid. */
		for (uint32_t b = 0; b < 8; b++)
			for (unsigned int bit = 0; bit < 8; bit++) {
				v = open_flipped(rx, v2, b, (uint8_t)(1u << bit), 0);
				CHECK(v == DROP_AUTH, "%s: V2 header byte %u bit %u: verdict %u",
				      name, b, bit, v);
			}
		/* V1: only the pid is authenticated; the opcode byte is not (OpenVPN too). */
		for (uint32_t b = 1; b < 5; b++)
			for (unsigned int bit = 0; bit < 8; bit++) {
				v = open_flipped(rx, v1, b, (uint8_t)(1u << bit), 0);
				CHECK(v == DROP_AUTH, "%s: V1 pid byte %u bit %u: verdict %u",
				      name, b, bit, v);
			}
		v = open_flipped(rx, v1, 0, 0x01, 0);
		CHECK(v == PKT_OK, "%s: V1 opcode byte is not in the AAD: verdict %u", name, v);
		/* Every bit of tag and ciphertext, both formats. */
		for (uint32_t b = 8; b < v2->len; b++)
			for (unsigned int bit = 0; bit < 8; bit++) {
				v = open_flipped(rx, v2, b, (uint8_t)(1u << bit), 0);
				CHECK(v == DROP_AUTH, "%s: V2 byte %u bit %u: verdict %u", name, b,
				      bit, v);
			}
		for (uint32_t b = 5; b < v1->len; b++)
			for (unsigned int bit = 0; bit < 8; bit++) {
				v = open_flipped(rx, v1, b, (uint8_t)(1u << bit), 0);
				CHECK(v == DROP_AUTH, "%s: V1 byte %u bit %u: verdict %u", name, b,
				      bit, v);
			}
		/* Truncated, extended, down to nothing but the header. */
		CHECK(open_flipped(rx, v2, 0, 0, -1) == DROP_AUTH, "%s: truncated", name);
		CHECK(open_flipped(rx, v2, 0, 0, 1) == DROP_AUTH, "%s: extended", name);
		CHECK(open_flipped(rx, v2, 0, 0, -40) == DROP_AUTH, "%s: no ciphertext", name);
		CHECK(open_flipped(rx, v2, 0, 0, -41) == DROP_SHORT, "%s: no room for tag", name);
		CHECK(open_flipped(rx, v1, 0, 0, -41) == DROP_SHORT, "%s: V1 no room", name);
		pkt_free(v2);
		pkt_free(v1);
		dc_keyslot_free(tx);
		dc_keyslot_free(rx);
	}
}

/* Seal/open refuse what would be out of bounds. */
static void test_seal_limits(void)
{
	struct dc_keyslot *tx = slot(DC_AES_256_GCM, false, 0);
	struct pkt *p = pkt_with("abc", 3);

	CHECK(!dc_seal(tx, 2, p, 0) && p->verdict == DROP_CRYPTO, "worker index past nworkers");
	p->verdict = PKT_OK;
	p->data = p->buf + DC_V2_OVERHEAD - 1;
	memcpy(p->data, "abc", 3);
	CHECK(!dc_seal(tx, 0, p, 0) && p->verdict == DROP_CRYPTO, "no headroom");
	p->verdict = PKT_OK;
	p->data = p->buf + DC_V2_OVERHEAD;
	CHECK(dc_seal(tx, 0, p, 0) && p->data == p->buf, "exact headroom");
	p->verdict = PKT_OK;
	CHECK(!dc_open(tx, 5, p) && p->verdict == DROP_CRYPTO, "open: worker index");
	pkt_free(p);
	dc_keyslot_free(tx);
}

/* ---- 5. tables ---- */

static unsigned int classify_no;

static void classify_case(int line, const uint8_t *hdr, uint32_t hdr_len, uint32_t len,
			  uint8_t want, int want_kid, uint32_t want_peer, int want_v1)
{
	struct pkt *p = pool_get(pool);
	uint8_t v;

	classify_no++;
	memset(p->data, 0xa5, len);
	memcpy(p->data, hdr, MIN(hdr_len, len));
	p->len = len;
	p->flags = PKT_F_V1;		/* stale flag: V2 must clear it */
	v = dc_classify(p);
	if (v != want) {
		harness_fail(__FILE__, line, "classify case %u: verdict %u (%s), expected %u (%s)",
			     classify_no, v, stats_drop_name(v), want, stats_drop_name(want));
	} else if (v == PKT_OK && (p->key_id != want_kid || p->peer_id != want_peer ||
				   !!(p->flags & PKT_F_V1) != want_v1)) {
		harness_fail(__FILE__, line,
			     "classify case %u: key_id %u peer %06x v1 %d, expected %d %06x %d",
			     classify_no, p->key_id, p->peer_id, !!(p->flags & PKT_F_V1), want_kid,
			     want_peer, want_v1);
	}
	pkt_free(p);
}

#define H(...)		(const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define TC(hdr, len, want, kid, peer, v1) classify_case(__LINE__, hdr, len, want, kid, peer, v1)
#define ROOM		(PKT_MTU_DATA)

static void test_classify(void)
{
	TC(H(0x48), 0, DROP_SHORT, 0, 0, 0);			/*  1: empty */
	TC(H(0x48), 1, DROP_SHORT, 0, 0, 0);			/*  2: opcode only */
	TC(H(0x48, 0, 0, 1), 23, DROP_SHORT, 0, 0, 0);		/*  3: V2, no room for tag */
	TC(H(0x48, 0, 0, 1), 24, PKT_OK, 0, 1, 0);		/*  4: V2, empty payload */
	TC(H(0x30), 20, DROP_SHORT, 0, 0, 0);			/*  5: V1 short */
	TC(H(0x30), 21, PKT_OK, 0, PEER_ID_NONE, 1);		/*  6: V1, empty payload */
	TC(H(0x49, 0xab, 0xcd, 0xef), 100, PKT_OK, 1, 0xabcdef, 0);	/*  7 */
	TC(H(0x4a, 0, 0, 0), 100, PKT_OK, 2, 0, 0);		/*  8 */
	TC(H(0x4b, 0, 0, 0), 100, PKT_OK, 3, 0, 0);		/*  9 */
	TC(H(0x4c, 0, 0, 0), 100, PKT_OK, 4, 0, 0);		/* 10 */
	TC(H(0x4d, 0, 0, 0), 100, PKT_OK, 5, 0, 0);		/* 11 */
	TC(H(0x4e, 0, 0, 0), 100, PKT_OK, 6, 0, 0);		/* 12 */
	TC(H(0x4f, 0xff, 0xff, 0xff), 100, PKT_OK, 7, PEER_ID_NONE, 0);	/* 13: V2, no peer-id */
	TC(H(0x31), 100, PKT_OK, 1, PEER_ID_NONE, 1);		/* 14: V1 key_id 1 */
	TC(H(0x37), 100, PKT_OK, 7, PEER_ID_NONE, 1);		/* 15: V1 key_id 7 */
	TC(H(0x20), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 16: P_CONTROL_V1 */
	TC(H(0x28), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 17: P_ACK_V1 */
	TC(H(0x38), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 18: HARD_RESET_CLIENT_V2 */
	TC(H(0x00), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 19: opcode 0 */
	TC(H(0x50), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 20: opcode 10 */
	TC(H(0x58), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 21: opcode 11 */
	TC(H(0x60), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 22: opcode 12 */
	TC(H(0xf8), 100, DROP_BAD_OPCODE, 0, 0, 0);		/* 23: opcode 31 */
	TC(H(0x48, 0, 0, 9), ROOM, PKT_OK, 0, 9, 0);		/* 24: the whole data room */
	TC(H(0x48, 0, 0, 9), ROOM + 1, DROP_OVERSIZE, 0, 0, 0);	/* 25: past the data room */
	TC(H(0x30), ROOM, PKT_OK, 0, PEER_ID_NONE, 1);		/* 26 */
	TC(H(0x30), ROOM + 1, DROP_OVERSIZE, 0, 0, 0);		/* 27 */
}

#define KEY_LINES \
	"000102030405060708090a0b0c0d0e0f\n" \
	"101112131415161718191a1b1c1d1e1f\n" \
	"202122232425262728292a2b2c2d2e2f\n" \
	"303132333435363738393a3b3c3d3e3f\n" \
	"404142434445464748494a4b4c4d4e4f\n" \
	"505152535455565758595a5b5c5d5e5f\n" \
	"606162636465666768696a6b6c6d6e6f\n" \
	"707172737475767778797a7b7c7d7e7f\n" \
	"808182838485868788898a8b8c8d8e8f\n" \
	"909192939495969798999a9b9c9d9e9f\n" \
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\n" \
	"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n" \
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf\n" \
	"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf\n" \
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeef\n"
#define KEY_LAST "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n"
#define KBEGIN	"-----BEGIN OpenVPN Static key V1-----\n"
#define KEND	"-----END OpenVPN Static key V1-----\n"

static unsigned int key_no;

/*
 * One static key text: the verdict, the 256 bytes (or zeros after a refusal),
 * and for a refusal the reason dc_static_key_parse_msg() gives (@why is a
 * substring of it, "" for a good key).
 */
static void key_case(int line, const char *text, int want, const char *why)
{
	uint8_t out[KEY2_LEN];
	char msg[160] = "";
	int rc;

	key_no++;
	memset(out, 0x5a, sizeof(out));
	rc = dc_static_key_parse_msg(text, out, msg, sizeof(msg));
	if (rc != want) {
		harness_fail(__FILE__, line, "key case %u: rc %d, expected %d (%s)", key_no, rc,
			     want, msg);
		return;
	}
	if (rc && !strstr(msg, why)) {
		harness_fail(__FILE__, line, "key case %u: message '%s', expected '%s' in it",
			     key_no, msg, why);
	}
	for (unsigned int i = 0; i < KEY2_LEN; i++) {
		uint8_t expect = rc ? 0 : (uint8_t)i;

		if (out[i] != expect) {
			harness_fail(__FILE__, line, "key case %u: byte %u is %02x, expected %02x",
				     key_no, i, out[i], expect);
			return;
		}
	}
	/* The verdict-only entry is the same parser. */
	if (dc_static_key_parse(text, out) != want) {
		harness_fail(__FILE__, line, "key case %u: dc_static_key_parse disagrees", key_no);
	}
}

#define TK(head, body, last, tail, want, why) key_case(__LINE__, head body last tail, want, why)
#define GENKEY_HEAD "#\n# 2048 bit OpenVPN static key\n#\n"
#define NO_BEGIN	"no '-----BEGIN OpenVPN Static key V1-----' line"
#define NO_END		"no '-----END OpenVPN Static key V1-----' line"
#define ODD_DIGITS	"odd number of hex digits"

static void test_static_key(void)
{
	char msg[160];

	TK("", KBEGIN KEY_LINES, KEY_LAST, KEND, 0, "");			/*  1: bare */
	TK(GENKEY_HEAD, KBEGIN KEY_LINES, KEY_LAST, KEND, 0, "");		/*  2: as --genkey writes */
	TK("junk before\n\n", KBEGIN KEY_LINES, KEY_LAST, KEND "trailing junk", 0, "");	/*  3 */
	TK("", KBEGIN "# note\n\n" KEY_LINES, KEY_LAST, KEND, 0, "");	/*  4: comment, blank inside */
	TK("", KBEGIN KEY_LINES, "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF\r\n", KEND, 0, "");	/*  5: upper, CRLF */
	TK("", KBEGIN KEY_LINES, "f0f1f2f3 f4f5f6f7\tf8f9fafbfcfdfeff\n", KEND, 0, "");	/*  6: spaces */
	TK("", KBEGIN KEY_LINES, KEY_LAST, "-----END OpenVPN Static key V1-----", 0, "");	/*  7: no NL */
	TK("", KBEGIN KEY_LINES, "", KEND, -EINVAL, "fewer than 256 bytes");	/*  8: 15 lines */
	TK("", KBEGIN KEY_LINES, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n00\n", KEND, -EINVAL,
	   "more than 256 bytes on line 18");					/*  9: 257 bytes */
	TK("", KBEGIN KEY_LINES, KEY_LAST "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n", KEND, -EINVAL,
	   "more than 256 bytes on line 18");					/* 10: 17 lines */
	TK("", KBEGIN KEY_LINES, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeXf\n", KEND, -EINVAL,
	   "non-hex character on line 17");					/* 11: bad hex */
	TK("", KBEGIN KEY_LINES, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfef\n", KEND, -EINVAL,
	   ODD_DIGITS);								/* 12: odd digits */
	TK("", KBEGIN KEY_LINES, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfe f\n", KEND, -EINVAL,
	   ODD_DIGITS " (a byte split by a blank or a line end) on line 17");	/* 13: split byte */
	TK("", KBEGIN KEY_LINES, KEY_LAST, "", -EINVAL, NO_END);		/* 14: no END */
	TK("", KEY_LINES, KEY_LAST, KEND, -EINVAL, NO_BEGIN);			/* 15: no BEGIN */
	TK("", "-----BEGIN OpenVPN Static key V2-----\n" KEY_LINES, KEY_LAST, KEND, -EINVAL,
	   NO_BEGIN);								/* 16 */
	TK("", "", "", "", -EINVAL, NO_BEGIN);					/* 17: empty */
	TK("", KBEGIN, "", KEND, -EINVAL, "fewer than 256 bytes");		/* 18: no data */
	TK("", KBEGIN KEY_LINES, "0x0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n", KEND, -EINVAL,
	   "non-hex character on line 17");					/* 19: 0x */
	TK(GENKEY_HEAD, KBEGIN "g" KEY_LINES, KEY_LAST, KEND, -EINVAL,
	   "static key: non-hex character on line 5");				/* 20: after a header */
	CHECK(dc_static_key_parse(NULL, key2) == -EINVAL, "NULL text");
	CHECK(dc_static_key_parse_msg(NULL, key2, msg, sizeof(msg)) == -EINVAL &&
	      !strcmp(msg, "static key: no text"), "NULL text: %s", msg);
	/* A short buffer truncates the message; a NULL one is fine. */
	CHECK(dc_static_key_parse_msg("x", key2, msg, 8) == -EINVAL && !strcmp(msg, "static "),
	      "short message buffer: '%s'", msg);
	CHECK(dc_static_key_parse_msg("x", key2, NULL, 0) == -EINVAL, "NULL message buffer");
}

static void test_names_and_args(void)
{
	struct dc_keyslot *ks = NULL;
	uint32_t pid;

	CHECK(dc_cipher_from_name("AES-128-GCM") == DC_AES_128_GCM, "name");
	CHECK(dc_cipher_from_name("aes-256-gcm") == DC_AES_256_GCM, "name, lower case");
	CHECK(dc_cipher_from_name("ChaCha20-Poly1305") == DC_CHACHA20_POLY1305, "name");
	CHECK(dc_cipher_from_name("AES-192-GCM") == DC_CIPHER_NONE, "AES-192-GCM");
	CHECK(dc_cipher_from_name("AES-256-CBC") == DC_CIPHER_NONE, "CBC");
	CHECK(dc_cipher_from_name("") == DC_CIPHER_NONE, "empty name");
	CHECK(dc_cipher_from_name(NULL) == DC_CIPHER_NONE, "NULL name");
	CHECK(dc_cipher_key_len(DC_AES_128_GCM) == 16, "key len");
	CHECK(dc_cipher_key_len(DC_AES_256_GCM) == 32, "key len");
	CHECK(dc_cipher_key_len(DC_CHACHA20_POLY1305) == 32, "key len");
	CHECK(dc_cipher_key_len(DC_CIPHER_NONE) == 0, "key len none");
	CHECK(!strcmp(dc_cipher_name(DC_AES_256_GCM), "AES-256-GCM"), "name of");

	CHECK(dc_keyslot_create(&ks, DC_CIPHER_NONE, key2, false, 0, 1, 64, 15, false) == -EINVAL,
	      "cipher none");
	CHECK(dc_keyslot_create(&ks, DC_CIPHER_MAX, key2, false, 0, 1, 64, 15, false) == -EINVAL,
	      "cipher max");
	CHECK(dc_keyslot_create(&ks, DC_AES_128_GCM, key2, false, 8, 1, 64, 15, false) == -EINVAL,
	      "key_id 8");
	CHECK(dc_keyslot_create(&ks, DC_AES_128_GCM, key2, false, 0, 0, 64, 15, false) == -EINVAL,
	      "0 workers");
	CHECK(dc_keyslot_create(&ks, DC_AES_128_GCM, key2, false, 0, DC_WORKERS_MAX + 1, 64, 15,
				false) == -EINVAL, "too many workers");
	CHECK(dc_keyslot_create(&ks, DC_AES_128_GCM, key2, false, 0, 1, REPLAY_WINDOW_MAX + 1, 15,
				false) == -EINVAL, "window too big");
	CHECK(dc_keyslot_create(&ks, DC_AES_128_GCM, key2, false, 0, 1, 64, REPLAY_TIME_MAX + 1,
				false) == -EINVAL, "time too big");

	/* Biggest slot, all workers; generations differ; pids and replay through the slot. */
	CHECK(dc_keyslot_create(&ks, DC_CHACHA20_POLY1305, key2, true, 7, DC_WORKERS_MAX,
				REPLAY_WINDOW_MAX, REPLAY_TIME_MAX, false) == 0, "largest slot");
	if (ks) {
		struct dc_keyslot *ks2 = slot(DC_AES_128_GCM, false, 0);

		CHECK(ks2->gen != ks->gen && ks->gen != 0, "generations");
		CHECK(dc_assign_pid(ks, &pid) && pid == 1, "first pid is 1");
		CHECK(dc_assign_pid(ks, &pid) && pid == 2, "second pid is 2");
		ks->tx_next_pid = DC_PID_REJECT - 1;
		CHECK(dc_assign_pid(ks, &pid) && pid == DC_PID_REJECT - 1, "last pid");
		CHECK(!dc_assign_pid(ks, &pid), "worn-out key refuses");
		CHECK(dc_replay_accept(ks, 0, 1) == DROP_REPLAY, "pid 0");
		CHECK(dc_replay_accept(ks, 5, 1) == PKT_OK, "pid 5");
		CHECK(dc_replay_accept(ks, 5, 1) == DROP_REPLAY, "pid 5 again");
		CHECK(dc_replay_accept(ks, 4, 1) == PKT_OK, "pid 4");
		dc_keyslot_free(ks);
		dc_keyslot_free(ks2);
	}
	dc_keyslot_free(NULL);
}

int main(void)
{
	int rc;

	for (unsigned int i = 0; i < KEY2_LEN; i++)
		key2[i] = (uint8_t)(i * 7 + 3);
	rc = dc_global_init();
	if (rc) {
		printf("%s:%d: dc_global_init: %d\n", __FILE__, __LINE__, rc);
		return 1;
	}
	rc = pool_create(&pool, 64, PKT_CLASS_MTU, 0);
	if (rc) {
		printf("%s:%d: pool_create: %d\n", __FILE__, __LINE__, rc);
		return 1;
	}
	CHECK(dc_direct_available(DC_AES_128_GCM) && dc_direct_available(DC_AES_256_GCM) &&
	      dc_direct_available(DC_CHACHA20_POLY1305), "no direct road to the provider");
	/* Both roads through OpenSSL (crypto/dc.c): the provider's functions, then EVP. */
	for (int road = 0; road < 2; road++) {
		struct dc_keyslot *ks;

		dc_set_direct(road == 0);
		ks = slot(DC_AES_256_GCM, false, 0);
		CHECK(ks->direct == (road == 0), "road %d: slot direct=%d", road, ks->direct);
		dc_keyslot_free(ks);
		test_kat();
		test_roundtrip();
		test_aad_and_flips();
		test_seal_limits();
		/* Forged and cut packets are traffic: nothing left in OpenSSL's error queue. */
		CHECK(ERR_peek_error() == 0, "road %d: error queue not empty: %lu", road,
		      ERR_peek_error());
	}
	dc_set_direct(true);
	test_classify();
	test_static_key();
	test_names_and_args();
	CHECK(pool_available(pool) == 64, "packets leaked: %u of 64 free", pool_available(pool));
	pool_destroy(pool);
	dc_global_cleanup();
	printf("aead_test: %u classify cases, %u key cases\n", classify_no, key_no);
	return harness_done("aead_test");
}
