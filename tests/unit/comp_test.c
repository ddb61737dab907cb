/*
 * comp_test.c - compression framing (crypto/comp.c) against the byte layouts of
 * openvpn-wire.md §8: table cases, the LZ4 counters of the calling thread, then
 * random round trips in every mode.
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
static uint8_t scratch[COMP_SCRATCH_LEN];

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
	uint8_t v = comp_frame(comp, p, scratch);

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

	CHECK(comp_frame(comp, p, scratch) == PKT_OK && comp_unframe(comp, p, scratch) == PKT_OK,
	      "count case %d: round trip failed", no);
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

int main(void)
{
	static uint8_t ip[64], esc[64], big[1400], rnd[1500];
	const uint8_t fa[] = { 0xFA }, fb[] = { 0xFB }, e0[] = { 0x50, 0x00 };
	const uint8_t e1[] = { 0x50, 0x01 }, l4[] = { 0x69 }, x45[] = { 0x45 };
	uint8_t allow = COMP_F_COMPRESS | COMP_F_DECOMPRESS;
	static struct thread self;

	/* A registered thread, as tun_rx and tun_tx are: the LZ4 counters go to its stats. */
	MUST(thread_adopt(&self, "comp_test"));
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

		CHECK(comp_frame(COMP_MODE_STUB, p, scratch) == PKT_OK && p->data[64] == 0x45,
		      "case 12: swap did not move byte 0 to the end");
		pkt_free(p);
	}
	{
		/* A compressed v2 packet must be smaller than the original. */
		struct pkt *p = mk(big, 1400);

		CHECK(comp_frame(COMP_MODE_LZ4_V2 | allow, p, scratch) == PKT_OK && p->len < 200,
		      "case 13: 1400 bytes of 0xff compressed to %u", p->len);
		pkt_free(p);
	}
	test_counters(big, ip, esc);
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
				    COMP_MODE_LZ4_V2 | allow, COMP_MODE_LZ4_V2 | COMP_F_DECOMPRESS };
		uint32_t n = 1 + (uint32_t)rand() % 1500;
		uint8_t comp = modes[i % sizeof(modes)];
		struct pkt *p;

		for (uint32_t k = 0; k < n; k++)
			rnd[k] = (i & 1) ? (uint8_t)rand() : (uint8_t)(k / 64);
		if (i % 5 == 0)
			rnd[0] = 0x50;
		p = mk(rnd, n);
		if (comp_frame(comp, p, scratch) != PKT_OK ||
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
