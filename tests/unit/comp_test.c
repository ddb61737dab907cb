/*
 * comp_test.c - compression framing (crypto/comp.c) against the byte layouts of
 * openvpn-wire.md §8: table cases, the LZ4 and LZO counters of the calling
 * thread, LZO known answers, stock's adaptive LZO heuristic on a fake clock,
 * then random round trips in every mode.
 *
 * The LZO vectors: a literal-only LZO1X stream written by hand from the
 * format (first byte 17 + n literals, then the end marker 0x11 0x00 0x00), so
 * it does not come from the library under test; and the exact bytes
 * lzo1x_1_15_compress (stock lzo.c's LZO_COMPRESS) makes of a fixed payload,
 * which a stock peer, built on the same call, produces too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/pkt.h"
#include "../../core/proto.h"
#include "../../core/stats.h"
#include "../../core/thread.h"
#include "../../crypto/comp.h"
#include "harness.h"

static struct pool *pool;
static uint8_t scratch[COMP_SCRATCH_LEN] __attribute__((aligned(64)));

static struct pkt *mk(const uint8_t *b, uint32_t n)
{
	struct pkt *p = pool_get(pool);

	memcpy(p->data, b, n);
	p->len = n;
	return p;
}

/* T(case, comp, input, expected first bytes on the wire) then the round trip. */
static void t_frame(int no, uint8_t comp, const uint8_t *in, uint32_t n, const uint8_t *head,
		    uint32_t head_len, int wire_len)
{
	struct pkt *p = mk(in, n);
	uint8_t v = comp_frame(comp, p, scratch, NULL);

	CHECK(v == PKT_OK, "case %d: frame verdict %u", no, v);
	CHECK(p->len >= head_len && !memcmp(p->data, head, head_len),
	      "case %d: framed head %02x %02x", no, p->data[0], p->len > 1 ? p->data[1] : 0);
	if (wire_len >= 0)
		CHECK(p->len == (uint32_t)wire_len, "case %d: framed len %u, want %d", no, p->len,
		      wire_len);
	v = comp_unframe(comp, p, scratch);
	CHECK(v == PKT_OK, "case %d: unframe verdict %u", no, v);
	CHECK(p->len == n && !memcmp(p->data, in, n), "case %d: round trip changed payload", no);
	pkt_free(p);
}

static void t_unframe_bad(int no, uint8_t comp, const uint8_t *in, uint32_t n)
{
	struct pkt *p = mk(in, n);
	uint8_t v = comp_unframe(comp, p, scratch);

	CHECK(v == DROP_BAD_COMP, "case %d: want DROP_BAD_COMP, got %u", no, v);
	pkt_free(p);
}

/*
 * C(case, comp, input): one frame and unframe on a registered thread must count
 * @want_c lz4_compressed and @want_d lz4_decompressed in that thread's stats.
 */
static void t_count(int no, uint8_t comp, const uint8_t *in, uint32_t n, uint64_t want_c,
		    uint64_t want_d)
{
	struct stats *st = &thread_self()->stats;
	uint64_t c0 = STAT_READ(st->lz4_compressed), d0 = STAT_READ(st->lz4_decompressed);
	struct pkt *p = mk(in, n);

	CHECK(comp_frame(comp, p, scratch, NULL) == PKT_OK &&
	      comp_unframe(comp, p, scratch) == PKT_OK, "count case %d: round trip failed", no);
	CHECK(STAT_READ(st->lz4_compressed) - c0 == want_c,
	      "count case %d: lz4_compressed +%llu, want +%llu", no,
	      (unsigned long long)(STAT_READ(st->lz4_compressed) - c0),
	      (unsigned long long)want_c);
	CHECK(STAT_READ(st->lz4_decompressed) - d0 == want_d,
	      "count case %d: lz4_decompressed +%llu, want +%llu", no,
	      (unsigned long long)(STAT_READ(st->lz4_decompressed) - d0),
	      (unsigned long long)want_d);
	pkt_free(p);
}

/* The counters live in the calling thread's stats; tun_rx and tun_tx are such threads. */
static void test_counters(const uint8_t *big, const uint8_t *ip, const uint8_t *esc)
{
	uint8_t allow = COMP_F_COMPRESS | COMP_F_DECOMPRESS;
	struct stats *st = &thread_self()->stats;
	uint64_t c0 = STAT_READ(st->lz4_compressed), d0 = STAT_READ(st->lz4_decompressed);
	struct pkt *p;

	t_count(40, COMP_MODE_LZ4_V2 | allow, big, 1400, 1, 1);
	t_count(41, COMP_MODE_LZ4 | allow, big, 1400, 1, 1);
	t_count(42, COMP_MODE_LZ4_V2 | allow, ip, 64, 0, 0);		/* below threshold */
	t_count(43, COMP_MODE_LZ4_V2 | COMP_F_DECOMPRESS, big, 1400, 0, 0);	/* asymmetric */
	t_count(44, COMP_MODE_STUB_V2, esc, 64, 0, 0);
	t_count(45, COMP_MODE_STUB, big, 1400, 0, 0);
	t_count(46, COMP_MODE_LZO_STUB, big, 1400, 0, 0);
	t_count(47, COMP_MODE_NONE, big, 1400, 0, 0);
	/* A refused LZ4 payload is not counted as decompressed. */
	p = mk((const uint8_t[]){ 0x50, 0x01, 0xff, 0xff, 0xff }, 5);
	CHECK(comp_unframe(COMP_MODE_LZ4_V2 | COMP_F_DECOMPRESS, p, scratch) == DROP_BAD_COMP &&
	      STAT_READ(st->lz4_decompressed) - d0 == 2, "count case 48: corrupt LZ4 counted");
	pkt_free(p);
	CHECK(STAT_READ(st->lz4_compressed) - c0 == 2, "count case 49: %llu compressed in all",
	      (unsigned long long)(STAT_READ(st->lz4_compressed) - c0));
}

/* lzo1x_1_15_compress of lzo_payload(): 160 bytes, a 49-byte text repeated. */
static const uint8_t lzo_vector[] = {
	0x00, 0x1e, 0x73, 0x6c, 0x75, 0x69, 0x63, 0x65, 0x20, 0x73, 0x65, 0x6e,
	0x64, 0x73, 0x20, 0x74, 0x68, 0x69, 0x73, 0x20, 0x6c, 0x69, 0x6e, 0x65,
	0x20, 0x74, 0x6f, 0x20, 0x61, 0x20, 0x73, 0x74, 0x6f, 0x63, 0x6b, 0x20,
	0x4f, 0x70, 0x65, 0x6e, 0x56, 0x50, 0x4e, 0x20, 0x70, 0x65, 0x65, 0x72,
	0x2e, 0x20, 0x20, 0x3b, 0xbc, 0x00, 0x00, 0x02, 0x65, 0x72, 0x2e, 0x20,
	0x73, 0x6c, 0x75, 0x69, 0x63, 0x65, 0x20, 0x73, 0x65, 0x6e, 0x64, 0x73,
	0x20, 0x74, 0x68, 0x69, 0x11, 0x00, 0x00,
};

static void lzo_payload(uint8_t out[160])
{
	static const char text[] = "sluice sends this line to a stock OpenVPN peer. ";

	for (size_t i = 0; i < 160; i++)
		out[i] = (uint8_t)text[i % (sizeof(text) - 1)];
}

/* L(case, comp, wire bytes): unframes to @want (@want_len bytes), or is refused (NULL). */
static void t_lzo_in(int no, uint8_t comp, const uint8_t *wire, uint32_t n, const uint8_t *want,
		     uint32_t want_len)
{
	struct pkt *p = mk(wire, n);
	uint8_t v = comp_unframe(comp, p, scratch);

	if (!want)
		CHECK(v == DROP_BAD_COMP, "lzo case %d: want DROP_BAD_COMP, got %u", no, v);
	else
		CHECK(v == PKT_OK && p->len == want_len && !memcmp(p->data, want, want_len),
		      "lzo case %d: verdict %u len %u, want %u bytes", no, v, p->len, want_len);
	pkt_free(p);
}

/* LZO: framing, known answers, hostile input, counters. */
static void test_lzo(const uint8_t *big, const uint8_t *ip)
{
	static const uint8_t hello[] = { 0x66, 17 + 11, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r',
					 'l', 'd', 0x11, 0x00, 0x00 };
	uint8_t lzo = COMP_MODE_LZO | COMP_F_COMPRESS | COMP_F_DECOMPRESS;
	struct stats *st = &thread_self()->stats;
	uint64_t c0 = STAT_READ(st->lzo_compressed), d0 = STAT_READ(st->lzo_decompressed);
	uint8_t pay[160], wire[1 + sizeof(lzo_vector)];
	const uint8_t l66[] = { 0x66 }, fa[] = { 0xFA };
	struct pkt *p;

	t_frame(60, lzo, big, 1400, l66, 1, -1);
	t_frame(61, lzo, ip, 64, fa, 1, 65);				/* below threshold */
	t_frame(62, COMP_MODE_LZO | COMP_F_DECOMPRESS, big, 1400, fa, 1, 1401);	/* asym */
	t_frame(63, COMP_MODE_LZO, big, 1400, fa, 1, 1401);		/* allow-compression no */
	t_frame(64, lzo | COMP_F_ADAPTIVE, big, 1400, l66, 1, -1);	/* adaptive starts on */
	CHECK(STAT_READ(st->lzo_compressed) - c0 == 2 && STAT_READ(st->lzo_decompressed) - d0 == 2,
	      "lzo case 65: counted %llu compressed, %llu decompressed, want 2 and 2",
	      (unsigned long long)(STAT_READ(st->lzo_compressed) - c0),
	      (unsigned long long)(STAT_READ(st->lzo_decompressed) - d0));
	/* Incompressible: sent as 0xFA + the payload, not counted. */
	{
		uint8_t noise[300];

		srand(3);
		for (size_t i = 0; i < sizeof(noise); i++)
			noise[i] = (uint8_t)rand();
		t_frame(66, lzo, noise, sizeof(noise), fa, 1, (int)sizeof(noise) + 1);
	}
	/* The bytes stock's LZO_COMPRESS makes of the fixed payload, both ways. */
	lzo_payload(pay);
	p = mk(pay, sizeof(pay));
	CHECK(comp_frame(lzo, p, scratch, NULL) == PKT_OK && p->len == 1 + sizeof(lzo_vector) &&
	      p->data[0] == 0x66 && !memcmp(p->data + 1, lzo_vector, sizeof(lzo_vector)),
	      "lzo case 67: compressed to %u bytes, not the known %zu", p->len,
	      1 + sizeof(lzo_vector));
	pkt_free(p);
	wire[0] = 0x66;
	memcpy(wire + 1, lzo_vector, sizeof(lzo_vector));
	t_lzo_in(68, COMP_MODE_LZO | COMP_F_DECOMPRESS, wire, sizeof(wire), pay, sizeof(pay));
	t_lzo_in(69, COMP_MODE_LZO | COMP_F_DECOMPRESS, hello, sizeof(hello),
		 (const uint8_t *)"hello world", 11);
	t_lzo_in(70, COMP_MODE_LZO | COMP_F_DECOMPRESS, fa, 1, fa, 0);	/* empty payload */
	/* Refused: not allowed, the stub mode, truncated, corrupt, overlong, bad marker. */
	t_lzo_in(71, COMP_MODE_LZO, hello, sizeof(hello), NULL, 0);
	t_lzo_in(72, COMP_MODE_LZO_STUB | COMP_F_DECOMPRESS, hello, sizeof(hello), NULL, 0);
	t_lzo_in(73, COMP_MODE_LZO | COMP_F_DECOMPRESS, hello, sizeof(hello) - 3, NULL, 0);
	t_lzo_in(74, COMP_MODE_LZO | COMP_F_DECOMPRESS, l66, 1, NULL, 0);
	t_lzo_in(75, COMP_MODE_LZO | COMP_F_DECOMPRESS, (const uint8_t[]){ 0x66, 0x20, 0x00 }, 3,
		 NULL, 0);
	t_lzo_in(76, COMP_MODE_LZO | COMP_F_DECOMPRESS, ip, 10, NULL, 0);	/* 0x45 */
	t_lzo_in(77, COMP_MODE_LZO | COMP_F_DECOMPRESS, ip, 0, NULL, 0);
	{
		/* 8000 bytes of 'A' (valid LZO1X): more than the packet room, refused. */
		static const uint8_t huge[] = {
			0x66, 0x02, 0x41, 0x41, 0x41, 0x41, 0x41, 0x20, [39] = 0x2a,
			0x10, 0x00, 0x0c, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41,
			0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x11, 0x00, 0x00,
		};
		/* A literal run announced longer than the input: refused, not over-read. */
		static const uint8_t runaway[] = { 0x66, 0x00, 0xff, 0x41, 0x41, 0x41 };

		t_lzo_in(78, COMP_MODE_LZO | COMP_F_DECOMPRESS, huge, sizeof(huge), NULL, 0);
		t_lzo_in(80, COMP_MODE_LZO | COMP_F_DECOMPRESS, runaway, sizeof(runaway), NULL, 0);
	}
	CHECK(STAT_READ(st->lzo_decompressed) - d0 == 4,
	      "lzo case 79: %llu decompressed in all, want 4 (refused ones not counted)",
	      (unsigned long long)(STAT_READ(st->lzo_decompressed) - d0));
}

/* Stock's adaptive test (lzo_adaptive_compress_test) on a fake clock. */
static void test_adaptive(void)
{
	struct comp_adapt ac = { 0 };

	CHECK(comp_adapt_allow(&ac, 100) && ac.next_s == 102, "adapt 1: starts on, sample to 102");
	comp_adapt_account(&ac, 1400, 1390);		/* < 5% saved */
	CHECK(comp_adapt_allow(&ac, 101), "adapt 2: on within the sample");
	comp_adapt_account(&ac, 1400, 1390);
	CHECK(!comp_adapt_allow(&ac, 102) && ac.next_s == 162, "adapt 3: off for 60 s");
	CHECK(!comp_adapt_allow(&ac, 161), "adapt 4: still off at 161");
	CHECK(comp_adapt_allow(&ac, 162) && ac.next_s == 164 && ac.n_total == 0,
	      "adapt 5: on again at 162, new sample");
	comp_adapt_account(&ac, 1400, 700);		/* 50% saved */
	CHECK(comp_adapt_allow(&ac, 164) && ac.next_s == 166, "adapt 6: stays on when it pays");
	comp_adapt_account(&ac, 900, 899);		/* too few bytes to decide */
	CHECK(comp_adapt_allow(&ac, 166), "adapt 7: a small sample decides nothing");
	comp_adapt_account(&ac, 2000, 1901);		/* 4.95% saved: 99 < 2000 / 20 */
	CHECK(!comp_adapt_allow(&ac, 168), "adapt 8: just under 5%% saved pauses");
	ac = (struct comp_adapt){ 0 };
	(void)comp_adapt_allow(&ac, 10);
	comp_adapt_account(&ac, 2000, 1900);		/* exactly 5% saved */
	CHECK(comp_adapt_allow(&ac, 12), "adapt 9: 5%% saved keeps compressing");
}

int main(void)
{
	static uint8_t ip[64], esc[64], big[1400], rnd[1500];
	const uint8_t fa[] = { 0xFA }, fb[] = { 0xFB }, e0[] = { 0x50, 0x00 };
	const uint8_t e1[] = { 0x50, 0x01 }, l4[] = { 0x69 }, x45[] = { 0x45 };
	uint8_t allow = COMP_F_COMPRESS | COMP_F_DECOMPRESS;
	static struct thread self;

	/* A registered thread, as tun_rx and tun_tx are: the LZ4 counters go to its stats. */
	MUST(thread_adopt(&self, "comp_test"));
	MUST(comp_global_init());
	MUST(pool_create(&pool, 64, PKT_CLASS_MTU, self.tid));
	memset(ip, 0, sizeof(ip));
	ip[0] = 0x45;
	memcpy(esc, ip, sizeof(esc));
	esc[0] = 0x50;
	memset(big, 0xff, sizeof(big));
	big[0] = 0x45;

	t_frame(1, COMP_MODE_NONE, ip, 64, x45, 1, 64);
	t_frame(2, COMP_MODE_LZO_STUB, ip, 64, fa, 1, 65);
	t_frame(3, COMP_MODE_STUB, ip, 64, fb, 1, 65);
	t_frame(4, COMP_MODE_STUB_V2, ip, 64, x45, 1, 64);
	t_frame(5, COMP_MODE_STUB_V2, esc, 64, e0, 2, 66);
	t_frame(6, COMP_MODE_LZ4_V2 | allow, big, 1400, e1, 2, -1);
	t_frame(7, COMP_MODE_LZ4_V2 | allow, ip, 64, x45, 1, 64);	/* below threshold */
	t_frame(8, COMP_MODE_LZ4 | allow, big, 1400, l4, 1, -1);
	t_frame(9, COMP_MODE_LZ4 | allow, ip, 64, fb, 1, 65);
	t_frame(10, COMP_MODE_LZ4_V2 | COMP_F_DECOMPRESS, big, 1400, x45, 1, 1400); /* asym */
	t_frame(11, COMP_MODE_LZ4 | COMP_F_DECOMPRESS, big, 1400, fb, 1, 1401);
	{
		/* Swap form: old byte 0 moves to the end. */
		struct pkt *p = mk(ip, 64);

		CHECK(comp_frame(COMP_MODE_STUB, p, scratch, NULL) == PKT_OK && p->data[64] == 0x45,
		      "case 12: swap did not move byte 0 to the end");
		pkt_free(p);
	}
	{
		/* A compressed v2 packet must be smaller than the original. */
		struct pkt *p = mk(big, 1400);

		CHECK(comp_frame(COMP_MODE_LZ4_V2 | allow, p, scratch, NULL) == PKT_OK && p->len < 200,
		      "case 13: 1400 bytes of 0xff compressed to %u", p->len);
		pkt_free(p);
	}
	test_counters(big, ip, esc);
	test_lzo(big, ip);
	test_adaptive();
	t_unframe_bad(20, COMP_MODE_LZO_STUB, (const uint8_t[]){ 0x66, 1, 2, 3 }, 4);
	t_unframe_bad(21, COMP_MODE_LZO_STUB, ip, 0);
	t_unframe_bad(22, COMP_MODE_LZO_STUB, ip, 10);			/* no 0xFA */
	t_unframe_bad(23, COMP_MODE_STUB, (const uint8_t[]){ 0x12, 1, 2 }, 3);
	t_unframe_bad(24, COMP_MODE_STUB, (const uint8_t[]){ 0xFB }, 1);
	t_unframe_bad(25, COMP_MODE_STUB_V2, (const uint8_t[]){ 0x50 }, 1);
	t_unframe_bad(26, COMP_MODE_STUB_V2, (const uint8_t[]){ 0x50, 0x02, 1 }, 3);
	t_unframe_bad(27, COMP_MODE_STUB_V2, (const uint8_t[]){ 0x50, 0x01, 1, 2 }, 4);
	t_unframe_bad(28, COMP_MODE_LZ4_V2 | COMP_F_DECOMPRESS,
		      (const uint8_t[]){ 0x50, 0x01, 0xff, 0xff, 0xff }, 5);	/* corrupt LZ4 */
	t_unframe_bad(29, COMP_MODE_LZ4, (const uint8_t[]){ 0x69, 0xf0, 0x45 }, 3); /* no decomp */
	t_unframe_bad(30, COMP_MODE_LZ4 | COMP_F_DECOMPRESS, (const uint8_t[]){ 0x69, 0xff, 0x45 },
		      3);
	/* Random round trips in every mode, compressible and not. */
	srand(7);
	for (int i = 0; i < 20000; i++) {
		uint8_t modes[] = { COMP_MODE_NONE, COMP_MODE_LZO_STUB, COMP_MODE_STUB,
				    COMP_MODE_STUB_V2, COMP_MODE_LZ4 | allow,
				    COMP_MODE_LZ4_V2 | allow, COMP_MODE_LZ4_V2 | COMP_F_DECOMPRESS,
				    COMP_MODE_LZO | allow, COMP_MODE_LZO | COMP_F_DECOMPRESS,
				    COMP_MODE_LZO | allow | COMP_F_ADAPTIVE };
		uint32_t n = 1 + (uint32_t)rand() % 1500;
		uint8_t comp = modes[i % sizeof(modes)];
		struct pkt *p;

		for (uint32_t k = 0; k < n; k++)
			rnd[k] = (i & 1) ? (uint8_t)rand() : (uint8_t)(k / 64);
		if (i % 5 == 0)
			rnd[0] = 0x50;
		p = mk(rnd, n);
		if (comp_frame(comp, p, scratch, NULL) != PKT_OK ||
		    comp_unframe(comp, p, scratch) != PKT_OK || p->len != n ||
		    memcmp(p->data, rnd, n)) {
			CHECK(0, "random %d: mode %#x len %u round trip failed", i, comp, n);
			pkt_free(p);
			break;
		}
		pkt_free(p);
	}
	CHECK(pool_available(pool) == 64, "pool not whole again");
	pool_destroy(pool);
	return harness_done("comp_test");
}
