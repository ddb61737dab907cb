/*
 * kat_test.c - known-answer test of the data channel (crypto/dc.h) against
 * packets captured from stock OpenVPN 2.6 (tests/kat/gen.sh).
 *
 *   usage: kat_test [VECTORS]   (default tests/kat/vectors.txt, run from the repo root)
 *
 * One record per line: cipher= dir=c2s|s2c peer= pid= kind= key= iv= packet=
 * plain=. For each record a key2 is built in which only the sender's half
 * holds the captured key and implicit IV (openvpn-wire.md §5: the client
 * sends with half 0, the server with half 1); every other byte is filler, so
 * a slot that picks the wrong half fails the tag check. Then:
 *   - the receiver's slot classifies and opens the captured packet: the
 *     plaintext and packet-id must be the ones OpenVPN sent;
 *   - the sender's slot seals the plaintext with the captured packet-id,
 *     key_id and peer-id: the result must be byte-identical to the capture;
 *   - the capture with one tag bit flipped, and the capture opened with the
 *     sender's own slot (wrong half), must both fail with DROP_AUTH.
 * Single-threaded; the packets are plain heap buffers laid out like a pool's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/pkt.h"
#include "../../core/proto.h"
#include "../../core/stats.h"
#include "../../crypto/dc.h"
#include "harness.h"

#define KAT_DEFAULT_PATH	"tests/kat/vectors.txt"
#define KAT_KEY_MAX		64
#define KAT_PKT_ROOM		(PKT_HEADROOM + PKT_MTU_DATA + PKT_TAILROOM)

struct kat_vec {
	unsigned int line;
	char cipher[32];
	char dir[8];
	char kind[16];
	long peer;
	long pid;
	uint8_t key[KAT_KEY_MAX];
	size_t key_len;
	uint8_t iv[DC_IMPLICIT_IV_LEN];
	size_t iv_len;
	uint8_t *packet;
	size_t packet_len;
	uint8_t *plain;
	size_t plain_len;
};

/* A failed check of vector @v: report it with the vector's line and give up on the vector. */
#define KAT_CHECK(cond, v, fmt, ...)						\
	do {									\
		if (!(cond)) {							\
			harness_fail(__FILE__, __LINE__, "line %u: " fmt, (v)->line,	\
				     ##__VA_ARGS__);				\
			return false;						\
		}								\
	} while (0)

static int kat_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes @n hex digits at @s into @out (room @max). Returns bytes or -EINVAL. */
static long kat_hex_decode(const char *s, size_t n, uint8_t *out, size_t max)
{
	size_t i;

	if (n % 2 || n / 2 > max)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = kat_hex_nibble(s[2 * i]);
		int lo = kat_hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* Decodes a hex field into a fresh heap buffer. */
static int kat_hex_alloc(const char *s, size_t n, uint8_t **out, size_t *len)
{
	long r;

	*out = malloc(n / 2 + 1);
	if (!*out)
		return -ENOMEM;
	r = kat_hex_decode(s, n, *out, n / 2 + 1);
	if (r < 0)
		return (int)r;
	*len = (size_t)r;
	return 0;
}

static int kat_copy_str(char *dst, size_t room, const char *s, size_t n)
{
	if (n >= room)
		return -EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int kat_parse_long(const char *s, size_t n, long *out)
{
	char buf[16];
	char *end;

	if (kat_copy_str(buf, sizeof(buf), s, n) || n == 0)
		return -EINVAL;
	*out = strtol(buf, &end, 10);
	return *end ? -EINVAL : 0;
}

static int kat_parse_field(struct kat_vec *v, const char *name, size_t nlen,
			   const char *val, size_t vlen)
{
	long r;

#define IS(s) (nlen == sizeof(s) - 1 && !memcmp(name, s, nlen))
	if (IS("cipher"))
		return kat_copy_str(v->cipher, sizeof(v->cipher), val, vlen);
	if (IS("dir"))
		return kat_copy_str(v->dir, sizeof(v->dir), val, vlen);
	if (IS("kind"))
		return kat_copy_str(v->kind, sizeof(v->kind), val, vlen);
	if (IS("peer"))
		return kat_parse_long(val, vlen, &v->peer);
	if (IS("pid"))
		return kat_parse_long(val, vlen, &v->pid);
	if (IS("key")) {
		r = kat_hex_decode(val, vlen, v->key, sizeof(v->key));
		v->key_len = r > 0 ? (size_t)r : 0;
		return r < 0 ? (int)r : 0;
	}
	if (IS("iv")) {
		r = kat_hex_decode(val, vlen, v->iv, sizeof(v->iv));
		v->iv_len = r > 0 ? (size_t)r : 0;
		return r < 0 ? (int)r : 0;
	}
	if (IS("packet") && !v->packet)
		return kat_hex_alloc(val, vlen, &v->packet, &v->packet_len);
	if (IS("plain") && !v->plain)
		return kat_hex_alloc(val, vlen, &v->plain, &v->plain_len);
#undef IS
	return 0;	/* unknown fields are comments for humans */
}

/* Splits one record into name=value fields. */
static int kat_parse_line(struct kat_vec *v, const char *line)
{
	const char *s = line;
	int err;

	v->peer = -1;
	v->pid = -1;
	while (*s) {
		const char *eq, *end;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (!*s)
			break;
		end = s + strcspn(s, " \t\r\n");
		eq = memchr(s, '=', (size_t)(end - s));
		if (!eq)
			return -EINVAL;
		err = kat_parse_field(v, s, (size_t)(eq - s), eq + 1, (size_t)(end - eq - 1));
		if (err)
			return err;
		s = end;
	}
	if (!v->cipher[0] || !v->dir[0] || v->peer < 0 || v->pid <= 0 || !v->key_len ||
	    v->iv_len != DC_IMPLICIT_IV_LEN || !v->packet || !v->plain)
		return -EINVAL;
	return 0;
}

static void kat_vec_release(struct kat_vec *v)
{
	free(v->packet);
	free(v->plain);
	memset(v, 0, sizeof(*v));
}

/* A packet laid out like a pool's: PKT_HEADROOM before data. */
static struct pkt *kat_pkt_new(void)
{
	struct pkt *p;

	if (posix_memalign((void **)&p, CACHELINE, sizeof(*p) + KAT_PKT_ROOM))
		return NULL;
	memset(p, 0, sizeof(*p));
	p->room = KAT_PKT_ROOM;
	pkt_reset(p);
	return p;
}

static void kat_pkt_load(struct pkt *p, const uint8_t *buf, size_t len)
{
	pkt_reset(p);
	memcpy(p->data, buf, len);
	p->len = (uint32_t)len;
}

/* key2 with the sender's half holding the captured key and implicit IV. */
static void kat_key2_build(const struct kat_vec *v, bool c2s, uint8_t key2[KEY2_LEN])
{
	unsigned int half = c2s ? 0 : 128;
	unsigned int i;

	for (i = 0; i < KEY2_LEN; i++)
		key2[i] = (uint8_t)(0x5a ^ (i * 37));
	memcpy(key2 + half, v->key, v->key_len);
	memcpy(key2 + half + 64, v->iv, DC_IMPLICIT_IV_LEN);
}

static bool kat_check_open(const struct kat_vec *v, struct dc_keyslot *rx, struct pkt *p)
{
	uint8_t verdict;

	kat_pkt_load(p, v->packet, v->packet_len);
	verdict = dc_classify(p);
	KAT_CHECK(verdict == PKT_OK, v, "dc_classify: verdict %u, expected PKT_OK", verdict);
	KAT_CHECK(p->key_id == (v->packet[0] & 7), v, "classify key_id %u, expected %u",
		  p->key_id, v->packet[0] & 7);
	KAT_CHECK(!(p->flags & PKT_F_V1), v, "classify flagged a P_DATA_V2 packet as V1");
	KAT_CHECK(p->peer_id == (uint32_t)v->peer, v, "classify peer_id %u, expected %ld",
		  p->peer_id, v->peer);
	KAT_CHECK(dc_open(rx, 0, p), v, "dc_open failed (verdict %u), expected success",
		  p->verdict);
	KAT_CHECK(p->len == v->plain_len, v, "dc_open: %u bytes, expected %zu", p->len,
		  v->plain_len);
	KAT_CHECK(!memcmp(p->data, v->plain, v->plain_len), v, "dc_open: plaintext differs");
	KAT_CHECK(p->pid == (uint32_t)v->pid, v, "dc_open: pid %u, expected %ld", p->pid, v->pid);
	KAT_CHECK(p->key_gen == rx->gen, v, "dc_open: key_gen %u, expected %u", p->key_gen,
		  rx->gen);
	return true;
}

static bool kat_check_seal(const struct kat_vec *v, struct dc_keyslot *tx, struct pkt *p)
{
	size_t i;

	kat_pkt_load(p, v->plain, v->plain_len);
	p->pid = (uint32_t)v->pid;
	p->key_id = v->packet[0] & 7;
	KAT_CHECK(dc_seal(tx, 0, p, (uint32_t)v->peer), v, "dc_seal failed (verdict %u)",
		  p->verdict);
	KAT_CHECK(p->len == v->packet_len, v, "dc_seal: %u bytes, expected %zu", p->len,
		  v->packet_len);
	for (i = 0; i < v->packet_len && p->data[i] == v->packet[i]; i++)
		;
	KAT_CHECK(i == v->packet_len, v, "dc_seal: byte %zu is %02x, expected %02x", i,
		  p->data[i], v->packet[i]);
	return true;
}

/* A flipped tag bit, and the sender's own slot (wrong key half), must not open. */
static bool kat_check_reject(const struct kat_vec *v, struct dc_keyslot *rx,
			     struct dc_keyslot *tx, struct pkt *p)
{
	kat_pkt_load(p, v->packet, v->packet_len);
	p->data[P_DATA_V2_HDR_LEN + DC_PID_LEN] ^= 0x01;
	KAT_CHECK(dc_classify(p) == PKT_OK, v, "dc_classify rejected a packet with a bad tag");
	KAT_CHECK(!dc_open(rx, 0, p), v, "dc_open accepted a flipped tag bit");
	KAT_CHECK(p->verdict == DROP_AUTH, v, "bad tag: verdict %u, expected DROP_AUTH",
		  p->verdict);

	kat_pkt_load(p, v->packet, v->packet_len);
	KAT_CHECK(dc_classify(p) == PKT_OK, v, "dc_classify failed on the second load");
	KAT_CHECK(!dc_open(tx, 0, p), v, "sender's slot opened its own packet: wrong key half");
	KAT_CHECK(p->verdict == DROP_AUTH, v, "wrong half: verdict %u, expected DROP_AUTH",
		  p->verdict);
	return true;
}

static bool kat_run(const struct kat_vec *v, struct pkt *p)
{
	struct dc_keyslot *rx = NULL, *tx = NULL;
	uint8_t key2[KEY2_LEN];
	uint8_t kid;
	enum dc_cipher c;
	bool c2s, ok = false;
	int err;

	c = dc_cipher_from_name(v->cipher);
	KAT_CHECK(c != DC_CIPHER_NONE, v, "unknown cipher %s", v->cipher);
	KAT_CHECK(dc_cipher_key_len(c) == v->key_len, v, "%s key is %zu bytes, expected %u",
		  v->cipher, v->key_len, dc_cipher_key_len(c));
	KAT_CHECK(!strcmp(v->dir, "c2s") || !strcmp(v->dir, "s2c"), v, "bad dir %s", v->dir);
	KAT_CHECK(v->packet_len >= DC_V2_OVERHEAD && v->packet[0] >> 3 == P_DATA_V2, v,
		  "record is not a P_DATA_V2 packet");
	c2s = !strcmp(v->dir, "c2s");
	kid = v->packet[0] & 7;
	kat_key2_build(v, c2s, key2);

	/* c2s: the server receives (is_server) and the client sends; s2c the opposite. */
	err = dc_keyslot_create(&rx, c, key2, c2s, kid, 1, 64, 15, false);
	KAT_CHECK(!err, v, "dc_keyslot_create(receiver): %d", err);
	err = dc_keyslot_create(&tx, c, key2, !c2s, kid, 1, 64, 15, false);
	if (err) {
		harness_fail(__FILE__, __LINE__, "line %u: dc_keyslot_create(sender): %d", v->line,
			     err);
		goto out;
	}
	ok = kat_check_open(v, rx, p) && kat_check_seal(v, tx, p) &&
	     kat_check_reject(v, rx, tx, p);
out:
	if (tx)
		dc_keyslot_free(tx);
	dc_keyslot_free(rx);
	return ok;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : KAT_DEFAULT_PATH;
	unsigned int lineno = 0, n = 0, bad = 0;
	struct kat_vec v = { 0 };
	char *line = NULL;
	size_t cap = 0;
	struct pkt *p;
	FILE *f;
	int err;

	f = fopen(path, "r");
	if (!f) {
		printf("%s: cannot open %s: %s\n", argv[0], path, strerror(errno));
		return 1;
	}
	err = dc_global_init();
	p = kat_pkt_new();
	if (err || !p) {
		printf("%s: setup failed (dc_global_init %d)\n", argv[0], err);
		return 1;
	}
	/* OpenSSL's default provider has every function the direct road needs. */
	if (!dc_direct_available(DC_AES_128_GCM) || !dc_direct_available(DC_AES_256_GCM) ||
	    !dc_direct_available(DC_CHACHA20_POLY1305)) {
		printf("%s: no direct road to the provider's ciphers\n", argv[0]);
		failures++;
	}
	while (getline(&line, &cap, f) > 0) {
		bool ok;

		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0' || line[0] == '#')
			continue;
		v.line = lineno;
		n++;
		if (kat_parse_line(&v, line)) {
			printf("%s:%u: malformed record\n", path, lineno);
			failures++;
			bad++;
			kat_vec_release(&v);
			continue;
		}
		/* Both roads through OpenSSL (crypto/dc.c): the provider's functions, then EVP. */
		dc_set_direct(true);
		ok = kat_run(&v, p);
		dc_set_direct(false);
		ok = kat_run(&v, p) && ok;
		dc_set_direct(true);
		bad += !ok;
		printf("%s %2u %-17s %s key_id=%u pid=%-3ld %-5s plain=%-4zu wire=%zu\n",
		       ok ? "ok  " : "FAIL", n, v.cipher, v.dir, v.packet[0] & 7, v.pid, v.kind,
		       v.plain_len, v.packet_len);
		kat_vec_release(&v);
	}
	free(line);
	fclose(f);
	free(p);
	dc_global_cleanup();
	printf("kat: %u vectors, %u passed, %u failed\n", n, n - bad, bad);
	return n == 0 || failures ? 1 : 0;
}
