/*
 * lpm_test.c - tests for core/lpm.c (longest-prefix match, IPv4 and IPv6).
 *
 * 1. Table cases: numbered, one T*() per line, on one table built up step
 *    by step (default route, /32 inside /24, /0, /128, edges of the address
 *    space, removal restoring the shorter match, peer removal, bad input).
 * 2. Differential: >= 10^5 random operations (insert, remove, remove peer,
 *    lookup) on v4 and v6 at once, against a linear-scan model (WireGuard's
 *    "horrible_allowedips"). Prefixes grow from a few random bases so that
 *    they nest and overlap; the small bound makes -ENOSPC happen too.
 * 3. Concurrency: reader threads look up inside epoch sections while the
 *    main thread (ctrl's role) inserts, removes and publishes. Every answer
 *    must be one that some version could give: the stable covering prefix or
 *    a flapping prefix's peer, whose id is a function of (prefix, length).
 *    Run under ASan (a version freed too early is a use-after-free) and TSan.
 *
 * Env: SLUICE_TEST_SCALE (default 1, 0.25 under TSan) scales the concurrency
 * test. Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/epoch.h"
#include "../../core/lpm.h"
#include "../../core/thread.h"
#include "harness.h"

typedef unsigned __int128 u128;

static uint32_t v4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		FATAL("bad test address %s", s);
	}
	return a.s_addr;
}

static const uint8_t *v6(const char *s)
{
	static uint8_t buf[4][16];
	static unsigned int i;
	uint8_t *b = buf[i++ & 3];

	if (inet_pton(AF_INET6, s, b) != 1) {
		FATAL("bad test address %s", s);
	}
	return b;
}

/* --- 1. table cases ---------------------------------------------------- */

static struct lpm_root tr;
static int tcase;

static void publish_or_fail(struct lpm_root *r)
{
	if (lpm_publish(r)) {
		FATAL("lpm_publish failed");
	}
}

/* Lookups see the published table: publish before each one. */
static uint32_t look4(const char *a)
{
	publish_or_fail(&tr);
	return lpm_lookup4(lpm_snapshot(&tr), v4(a));
}

static uint32_t look6(const char *a)
{
	publish_or_fail(&tr);
	return lpm_lookup6(lpm_snapshot(&tr), v6(a));
}

#define T(expr, expected)							\
	do {									\
		long long got_ = (long long)(expr), exp_ = (long long)(expected);	\
		tcase++;							\
		CHECK(got_ == exp_, "case %d: %s = %lld, expected %lld", tcase,	\
		      #expr, got_, exp_);					\
	} while (0)

#define NONE	LPM_NONE

static void test_table(void)
{
	if (lpm_root_init(&tr, 10)) {
		FATAL("lpm_root_init failed");
	}
	T(look4("10.0.0.1"), NONE);
	T(look6("2001:db8::1"), NONE);
	T(lpm_insert4(&tr, v4("0.0.0.0"), 0, 1), 0);			/* default route */
	T(look4("10.0.0.1"), 1);
	T(look4("255.255.255.255"), 1);
	T(look6("2001:db8::1"), NONE);					/* families apart */
	T(lpm_insert4(&tr, v4("10.0.0.0"), 24, 2), 0);
	T(lpm_insert4(&tr, v4("10.0.0.5"), 32, 3), 0);
	T(look4("10.0.0.5"), 3);					/* /32 beats /24 */
	T(look4("10.0.0.4"), 2);
	T(look4("10.0.0.6"), 2);
	T(look4("10.0.0.255"), 2);
	T(look4("10.0.1.0"), 1);
	T(look4("9.255.255.255"), 1);
	T(lpm_remove4(&tr, v4("10.0.0.5"), 32), 0);
	T(look4("10.0.0.5"), 2);					/* shorter match back */
	T(lpm_remove4(&tr, v4("10.0.0.5"), 32), -ENOENT);
	T(lpm_insert4(&tr, v4("10.0.0.5"), 32, 3), 0);
	T(lpm_insert4(&tr, v4("10.0.0.5"), 32, 4), 0);		/* replaces the peer */
	T(look4("10.0.0.5"), 4);
	T(lpm_remove_peer(&tr, 2), 1);
	T(look4("10.0.0.6"), 1);					/* /24 gone with its peer */
	T(look4("10.0.0.5"), 4);
	T(lpm_insert4(&tr, v4("255.255.255.255"), 32, 5), 0);	/* top edge */
	T(look4("255.255.255.255"), 5);
	T(look4("255.255.255.254"), 1);
	T(lpm_insert4(&tr, v4("0.0.0.0"), 32, 6), 0);		/* bottom edge */
	T(look4("0.0.0.0"), 6);
	T(look4("0.0.0.1"), 1);
	T(lpm_insert4(&tr, v4("172.16.99.99"), 12, 7), 0);		/* host bits ignored */
	T(look4("172.31.255.255"), 7);
	T(look4("172.32.0.0"), 1);
	T(lpm_remove4(&tr, v4("172.16.0.0"), 12), 0);
	T(look4("172.31.255.255"), 1);
	T(lpm_remove4(&tr, v4("0.0.0.0"), 0), 0);			/* no default route */
	T(look4("172.31.255.255"), NONE);
	T(look4("255.255.255.255"), 5);
	T(lpm_insert4(&tr, v4("10.0.0.0"), 33, 1), -EINVAL);
	T(lpm_insert4(&tr, v4("10.0.0.0"), 8, NONE), -EINVAL);
	T(lpm_remove4(&tr, v4("10.0.0.0"), 33), -EINVAL);

	T(lpm_insert6(&tr, v6("::"), 0, 11), 0);
	T(look6("2001:db8::1"), 11);
	T(look4("1.2.3.4"), NONE);
	T(lpm_insert6(&tr, v6("2001:db8::"), 32, 12), 0);
	T(lpm_insert6(&tr, v6("2001:db8::1"), 128, 13), 0);
	T(look6("2001:db8::1"), 13);					/* /128 beats /32 */
	T(look6("2001:db8::2"), 12);
	T(look6("2001:db8::"), 12);
	T(look6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 12);
	T(look6("2001:db9::"), 11);
	T(lpm_insert6(&tr, v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 128, 14), 0);
	T(look6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 14);
	T(look6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), 11);
	T(lpm_insert6(&tr, v6("2001:db8::"), 129, 1), -EINVAL);
	T(lpm_remove6(&tr, v6("2001:db8::1"), 128), 0);
	T(look6("2001:db8::1"), 12);
	T(lpm_count(&tr), 6);
	T(lpm_insert6(&tr, v6("2001:db8:1::"), 48, 15), 0);
	T(lpm_insert6(&tr, v6("2001:db8:2::"), 48, 15), 0);
	T(lpm_insert4(&tr, v4("192.168.0.0"), 16, 15), 0);
	T(lpm_insert4(&tr, v4("192.168.1.0"), 24, 16), 0);
	T(lpm_insert4(&tr, v4("192.169.0.0"), 16, 17), -ENOSPC);	/* max 10 */
	T(lpm_insert4(&tr, v4("192.168.0.0"), 16, 18), 0);		/* replace: no room needed */
	T(look4("192.168.2.1"), 18);
	T(lpm_remove_peer(&tr, 15), 2);
	T(look6("2001:db8:1::1"), 12);
	T(look4("192.168.1.1"), 16);
	T(lpm_remove_peer(&tr, 99), 0);
	lpm_root_destroy(&tr);
}

/* --- 2. differential against a linear scan --------------------------- */

struct model_entry {
	u128 addr;		/* host bits clear */
	uint32_t peer;
	uint8_t plen, is6;
};

#define MODEL_MAX	600
#define DIFF_OPS	200000

static struct model_entry model[MODEL_MAX];
static uint32_t model_n;

static u128 mask_of(unsigned int bits, unsigned int plen)
{
	u128 all = bits == 32 ? (u128)UINT32_MAX : ~(u128)0;

	return plen == 0 ? 0 : (all << (bits - plen)) & all;
}

static int model_find(u128 addr, unsigned int plen, int is6)
{
	uint32_t i;

	for (i = 0; i < model_n; i++)
		if (model[i].addr == addr && model[i].plen == plen && model[i].is6 == is6)
			return (int)i;
	return -1;
}

static int model_insert(u128 addr, unsigned int plen, int is6, uint32_t peer)
{
	int i = model_find(addr, plen, is6);

	if (i >= 0) {
		model[i].peer = peer;
		return 0;
	}
	if (model_n == MODEL_MAX)
		return -ENOSPC;
	model[model_n++] = (struct model_entry){ addr, peer, (uint8_t)plen, (uint8_t)is6 };
	return 0;
}

static int model_remove(u128 addr, unsigned int plen, int is6)
{
	int i = model_find(addr, plen, is6);

	if (i < 0)
		return -ENOENT;
	model[i] = model[--model_n];
	return 0;
}

static uint32_t model_remove_peer(uint32_t peer)
{
	uint32_t i = 0, n = 0;

	while (i < model_n) {
		if (model[i].peer == peer) {
			model[i] = model[--model_n];
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static uint32_t model_lookup(u128 addr, int is6)
{
	unsigned int bits = is6 ? 128 : 32;
	uint32_t i, best = LPM_NONE;
	int best_len = -1;

	for (i = 0; i < model_n; i++) {
		const struct model_entry *e = &model[i];

		if (e->is6 == is6 && (addr & mask_of(bits, e->plen)) == e->addr &&
		    e->plen > best_len) {
			best = e->peer;
			best_len = e->plen;
		}
	}
	return best;
}

static void u128_to_bytes(u128 a, uint8_t out[16])
{
	int i;

	for (i = 15; i >= 0; i--) {
		out[i] = (uint8_t)a;
		a >>= 8;
	}
}

#define NBASES	8

static u128 bases[2][NBASES];

/* An address near one of the bases, so prefixes nest and overlap. */
static u128 rand_addr(uint64_t *s, int is6)
{
	unsigned int bits = is6 ? 128 : 32;
	u128 base = bases[is6][harness_rnd(s) % NBASES];
	u128 noise = (u128)harness_rnd(s) << 64 | harness_rnd(s);
	unsigned int low = (unsigned int)(harness_rnd(s) % (bits + 1));
	u128 lowmask = low == 0 ? 0 : (~(u128)0 >> (128 - low));

	return (base & ~lowmask) ^ (noise & lowmask);
}

static unsigned int rand_plen(uint64_t *s, int is6)
{
	static const unsigned int v4_lens[] = { 0, 8, 16, 22, 24, 24, 28, 31, 32, 32, 32, 32 };
	static const unsigned int v6_lens[] = { 0, 32, 48, 56, 64, 64, 96, 127, 128, 128, 128 };
	uint64_t r = harness_rnd(s);

	if ((r & 7) == 0)
		return (unsigned int)(r >> 8) % (is6 ? 129 : 33);
	r >>= 3;
	return is6 ? v6_lens[r % ARRAY_SIZE(v6_lens)] : v4_lens[r % ARRAY_SIZE(v4_lens)];
}

static int do_insert(struct lpm_root *r, u128 a, unsigned int plen, int is6, uint32_t peer)
{
	uint8_t b[16];

	if (!is6)
		return lpm_insert4(r, htonl((uint32_t)a), plen, peer);
	u128_to_bytes(a, b);
	return lpm_insert6(r, b, plen, peer);
}

static int do_remove(struct lpm_root *r, u128 a, unsigned int plen, int is6)
{
	uint8_t b[16];

	if (!is6)
		return lpm_remove4(r, htonl((uint32_t)a), plen);
	u128_to_bytes(a, b);
	return lpm_remove6(r, b, plen);
}

static uint32_t do_lookup(const struct lpm *t, u128 a, int is6)
{
	uint8_t b[16];

	if (!is6)
		return lpm_lookup4(t, htonl((uint32_t)a));
	u128_to_bytes(a, b);
	return lpm_lookup6(t, b);
}

static void test_differential(void)
{
	static struct lpm_root r;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	unsigned long ops, lookups = 0, enospc = 0, maxn = 0;
	int i, bad = 0;

	for (i = 0; i < NBASES; i++) {
		bases[0][i] = (u128)(uint32_t)harness_rnd(&s);
		bases[1][i] = (u128)harness_rnd(&s) << 64 | harness_rnd(&s);
	}
	if (lpm_root_init(&r, MODEL_MAX)) {
		FATAL("lpm_root_init failed");
	}
	model_n = 0;
	for (ops = 0; ops < DIFF_OPS && bad < 10; ops++) {
		unsigned int op = (unsigned int)(harness_rnd(&s) % 100);
		int is6 = (int)(harness_rnd(&s) & 1), got, exp;
		unsigned int bits = is6 ? 128 : 32;
		unsigned int plen = rand_plen(&s, is6);
		u128 a = rand_addr(&s, is6) & mask_of(bits, plen);
		uint32_t peer = (uint32_t)(harness_rnd(&s) % 64);

		if (op < 30) {
			got = do_insert(&r, a, plen, is6, peer);
			exp = model_insert(a, plen, is6, peer);
			enospc += exp == -ENOSPC;
		} else if (op < 50) {
			/* Mostly remove something that is there. */
			if (model_n && (op & 1)) {
				const struct model_entry *e = &model[harness_rnd(&s) % model_n];

				a = e->addr;
				plen = e->plen;
				is6 = e->is6;
			}
			got = do_remove(&r, a, plen, is6);
			exp = model_remove(a, plen, is6);
		} else if (op < 51) {
			got = (int)lpm_remove_peer(&r, peer);
			exp = (int)model_remove_peer(peer);
		} else {
			const struct lpm *t;
			u128 x = rand_addr(&s, is6);

			if (lpm_publish(&r)) {
				CHECK(0, "lpm_publish failed");
				break;
			}
			t = lpm_snapshot(&r);
			got = (int)do_lookup(t, x, is6);
			exp = (int)model_lookup(x, is6);
			lookups++;
			if ((ops & 255) == 0)
				epoch_poll();
		}
		if (got != exp) {
			bad++;
			CHECK(0, "op %lu (kind %u, v%d, /%u): got %d, model %d", ops, op,
			      is6 ? 6 : 4, plen, got, exp);
		}
		CHECK(lpm_count(&r) == model_n, "op %lu: count %u, model %u", ops,
		      lpm_count(&r), model_n);
		if (model_n > maxn)
			maxn = model_n;
	}
	epoch_barrier();
	lpm_root_destroy(&r);
	printf("differential: %lu ops, %lu lookups, %lu ENOSPC, max %lu prefixes\n", ops, lookups,
	       enospc, maxn);
	CHECK(lookups > 50000 && enospc > 0, "differential did not exercise enough");
}

/* --- 3. concurrency --------------------------------------------------- */

/*
 * Stable prefixes never leave: 10.0.0.0/8 -> STABLE4, 2001:db8::/32 ->
 * STABLE6. Flapping prefixes come and go; each one's peer id is flap_peer()
 * of its masked address and length, so a reader can tell every answer some
 * version could give from garbage.
 */
#define STABLE4		1
#define STABLE6		2
#define NREADERS	2

static const unsigned int flap4[] = { 0, 16, 24, 28, 32 };
static const unsigned int flap6[] = { 0, 48, 64, 120, 128 };

static uint32_t flap_peer(u128 masked, unsigned int plen)
{
	uint64_t h = (uint64_t)(masked >> 64) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)masked;

	h = (h ^ plen) * 0xff51afd7ed558ccdULL;
	return (uint32_t)(h >> 33) + 16;
}

/* Addresses the readers and writer use: dense enough to nest. */
static u128 conc_addr(uint64_t *s, int is6)
{
	uint64_t r = harness_rnd(s);

	if (!is6) {
		/* 10.[0..3].[0..3].[0..63], now and then 11.0.0.x (outside the /8). */
		if ((r & 15) == 0)
			return 0x0b000000u | (uint32_t)((r >> 8) & 63);
		return 0x0a000000u | (uint32_t)((r >> 8) & 3) << 16 | (uint32_t)((r >> 10) & 3) << 8 |
		       (uint32_t)((r >> 12) & 63);
	}
	/* 2001:db8:[0..3]:[0..3]::[0..511], now and then 2001:db9::x. */
	if ((r & 15) == 0)
		return (u128)0x20010db900000000ULL << 64 | ((r >> 8) & 511);
	return (u128)(0x20010db800000000ULL | ((r >> 8) & 3) << 16 | ((r >> 10) & 3)) << 64 |
	       ((r >> 12) & 511);
}

static bool answer_ok(u128 a, int is6, uint32_t got)
{
	unsigned int bits = is6 ? 128 : 32;
	const unsigned int *lens = is6 ? flap6 : flap4;
	bool in_stable = is6 ? (a >> 96) == 0x20010db8u : (a >> 24) == 10;
	unsigned int i;

	if (got == (is6 ? STABLE6 : STABLE4))
		return in_stable;
	if (got == LPM_NONE)
		return !in_stable;
	for (i = 0; i < ARRAY_SIZE(flap4); i++)
		if (got == flap_peer(a & mask_of(bits, lens[i]), lens[i]))
			return true;
	return false;
}

struct reader {
	struct thread thr;
	struct epoch_reader er;
	struct lpm_root *root;
	uint64_t lookups, bad;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	uint64_t s = 0x51ed270b27ULL + (uint64_t)rd->thr.tid;

	while (!thread_should_stop(&rd->thr)) {
		const struct lpm *t;
		unsigned int i;

		epoch_begin(&rd->er);
		t = lpm_snapshot(rd->root);
		for (i = 0; i < BURST_MAX; i++) {
			int is6 = (int)(i & 1);
			u128 a = conc_addr(&s, is6);
			uint32_t got = do_lookup(t, a, is6);

			if (!answer_ok(a, is6, got))
				rd->bad++;
		}
		epoch_end(&rd->er);
		rd->lookups += BURST_MAX;
	}
	return NULL;
}

static void test_concurrency(void)
{
	static struct lpm_root r;
	static struct reader rd[NREADERS];
	unsigned long rounds = (unsigned long)(20000 * harness_scale(0.25)), i;
	uint64_t s = 0xfeedULL, lookups = 0, bad = 0;
	int k;

	if (lpm_root_init(&r, 4096) || lpm_insert4(&r, htonl(0x0a000000), 8, STABLE4) ||
	    lpm_insert6(&r, v6("2001:db8::"), 32, STABLE6) || lpm_publish(&r)) {
		FATAL("concurrency setup failed");
	}
	for (k = 0; k < NREADERS; k++) {
		memset(&rd[k], 0, sizeof(rd[k]));
		rd[k].root = &r;
		epoch_reader_register(&rd[k].er);
		if (thread_init(&rd[k].thr, "lpm-reader", reader_main, &rd[k], -1) ||
		    thread_start(&rd[k].thr)) {
			FATAL("thread start failed");
		}
	}
	for (i = 0; i < rounds; i++) {
		unsigned int j, n = 1 + (unsigned int)(harness_rnd(&s) % 8);

		for (j = 0; j < n; j++) {
			int is6 = (int)(harness_rnd(&s) & 1);
			unsigned int bits = is6 ? 128 : 32;
			uint64_t pick = harness_rnd(&s);
			unsigned int plen = (is6 ? flap6 : flap4)[pick % ARRAY_SIZE(flap4)];
			u128 a = conc_addr(&s, is6) & mask_of(bits, plen);
			int err;

			if (harness_rnd(&s) & 1)
				err = do_insert(&r, a, plen, is6, flap_peer(a, plen));
			else
				err = do_remove(&r, a, plen, is6);
			CHECK(err == 0 || err == -ENOENT, "round %lu: change failed: %d", i, err);
		}
		if ((i & 1023) == 0)
			lpm_remove_peer(&r, flap_peer(0, 0));
		if (lpm_publish(&r)) {
			CHECK(0, "lpm_publish failed");
			break;
		}
		if ((i & 7) == 0)
			epoch_poll();
	}
	for (k = 0; k < NREADERS; k++) {
		thread_request_stop(&rd[k].thr);
		thread_join(&rd[k].thr);
		lookups += rd[k].lookups;
		bad += rd[k].bad;
		epoch_reader_unregister(&rd[k].er);
	}
	epoch_barrier();
	CHECK(epoch_pending() == 0, "%lu versions never freed", epoch_pending());
	CHECK(bad == 0, "readers got %llu impossible answers", (unsigned long long)bad);
	CHECK(lookups > 0, "readers did no lookups");
	printf("concurrency: %lu publishes, %llu reader lookups, %u prefixes at the end\n", rounds,
	       (unsigned long long)lookups, lpm_count(&r));
	lpm_root_destroy(&r);
}

int main(void)
{
	epoch_init();
	test_table();
	test_differential();
	test_concurrency();
	printf("lpm_test: %d table cases\n", tcase);
	return harness_done("lpm_test");
}
