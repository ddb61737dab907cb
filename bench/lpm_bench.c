/*
 * lpm_bench.c - what a core/lpm.c lookup costs on tun_rx.
 *
 * Tables of 1k and 64k prefixes: random host routes (/32, /128) plus one
 * subnet (/24, /64) per 16 hosts, the server's ifconfig-pool and iroute
 * shape. Lookups run as tun_rx would: a burst of BURST_MAX inside one epoch
 * section with one snapshot, destinations drawn from a precomputed array
 * (hosts and addresses inside the subnets, all hits) much larger than L1.
 * Beside them, in the same run, the naive linear scan of the unit test's
 * model on the 1k table: the baseline. Also the cost of one lpm_publish()
 * (the rebuild ctrl pays per batch of changes) and the version's size.
 *
 * Warm-up, then a fixed window per line. Output: one key=value line per
 * measurement, then a Markdown table. Compare only with a baseline rerun on
 * the same machine (STYLE.md §11).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/epoch.h"
#include "../core/lpm.h"

typedef unsigned __int128 u128;

#define WARMUP_NS	(100 * NSEC_PER_MSEC)
#define WINDOW_NS	(500 * NSEC_PER_MSEC)
#define NADDR		(1u << 20)	/* 16 MiB of v6 destinations: beyond L2 */
#define NAIVE_MAX	1024

struct prefix {
	u128 addr;
	uint32_t peer;
	uint8_t plen;
};

struct result {
	const char *name;
	unsigned int family, entries;
	double mlps, ns;
	double publish_ms;
	size_t bytes;
};

static struct result results[16];
static unsigned int nresults;
static struct epoch_reader reader;
static volatile uint32_t sink;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void die(const char *what)
{
	fprintf(stderr, "lpm_bench: %s failed\n", what);
	exit(1);
}

static u128 mask_of(unsigned int bits, unsigned int plen)
{
	u128 all = bits == 32 ? (u128)UINT32_MAX : ~(u128)0;

	return plen == 0 ? 0 : (all << (bits - plen)) & all;
}

static void to_bytes(u128 a, uint8_t out[16])
{
	int i;

	for (i = 15; i >= 0; i--) {
		out[i] = (uint8_t)a;
		a >>= 8;
	}
}

/* @n prefixes of one family: hosts, every 16th a subnet. */
static struct prefix *make_prefixes(unsigned int n, int is6, uint64_t *s)
{
	struct prefix *p = calloc(n, sizeof(*p));
	unsigned int i, bits = is6 ? 128 : 32;

	if (!p)
		die("calloc");
	for (i = 0; i < n; i++) {
		u128 a = is6 ? ((u128)rnd(s) << 64 | rnd(s)) : (u128)(uint32_t)rnd(s);
		unsigned int plen = (i % 16 == 15) ? (is6 ? 64 : 24) : bits;

		p[i].plen = (uint8_t)plen;
		p[i].addr = a & mask_of(bits, plen);
		p[i].peer = i;
	}
	return p;
}

/* Destinations inside the prefixes (random host bits for subnets). */
static u128 *make_addrs(const struct prefix *p, unsigned int n, int is6, uint64_t *s)
{
	u128 *a = malloc(NADDR * sizeof(*a));
	unsigned int i, bits = is6 ? 128 : 32;

	if (!a)
		die("malloc");
	for (i = 0; i < NADDR; i++) {
		const struct prefix *e = &p[rnd(s) % n];
		u128 noise = is6 ? ((u128)rnd(s) << 64 | rnd(s)) : (u128)(uint32_t)rnd(s);

		a[i] = e->addr | (noise & ~mask_of(bits, e->plen));
	}
	return a;
}

struct lookup_ctx {
	const struct lpm_root *root;
	const struct prefix *naive;
	unsigned int naive_n;
	int is6;
	const uint32_t *a4;
	const uint8_t (*a6)[16];
};

static uint32_t naive_lookup(const struct prefix *p, unsigned int n, u128 x, unsigned int bits)
{
	uint32_t best = LPM_NONE;
	int best_len = -1;
	unsigned int i;

	for (i = 0; i < n; i++)
		if ((x & mask_of(bits, p[i].plen)) == p[i].addr && p[i].plen > best_len) {
			best = p[i].peer;
			best_len = p[i].plen;
		}
	return best;
}

/* One burst as tun_rx does it; returns a checksum of the answers. */
static uint32_t burst(const struct lookup_ctx *c, unsigned int base)
{
	uint32_t acc = 0;
	unsigned int i;

	if (c->naive) {
		for (i = 0; i < BURST_MAX; i++) {
			unsigned int k = (base + i) & (NADDR - 1);
			u128 x = c->is6 ? lpm_addr6(c->a6[k]) : (u128)ntohl(c->a4[k]);

			acc += naive_lookup(c->naive, c->naive_n, x, c->is6 ? 128 : 32);
		}
		return acc;
	}
	epoch_begin(&reader);
	const struct lpm *t = lpm_snapshot(c->root);

	if (c->is6)
		for (i = 0; i < BURST_MAX; i++)
			acc += lpm_lookup6(t, c->a6[(base + i) & (NADDR - 1)]);
	else
		for (i = 0; i < BURST_MAX; i++)
			acc += lpm_lookup4(t, c->a4[(base + i) & (NADDR - 1)]);
	epoch_end(&reader);
	return acc;
}

/* Lookups per second over the window, after a warm-up. */
static double run_window(const struct lookup_ctx *c)
{
	unsigned int base = 0;
	uint64_t n = 0;
	uint32_t acc = 0;
	int64_t t0 = clock_mono_ns(), t1;

	while (clock_mono_ns() - t0 < WARMUP_NS)
		for (int k = 0; k < 64; k++, base += BURST_MAX)
			acc += burst(c, base);
	t0 = clock_mono_ns();
	do {
		for (int k = 0; k < 64; k++, base += BURST_MAX)
			acc += burst(c, base);
		n += 64 * BURST_MAX;
		t1 = clock_mono_ns();
	} while (t1 - t0 < WINDOW_NS);
	sink = acc;
	return (double)n * 1e9 / (double)(t1 - t0);
}

static void record(const char *name, unsigned int family, unsigned int entries, double lps,
		   double publish_ms, size_t bytes)
{
	struct result *r = &results[nresults++];

	*r = (struct result){ name, family, entries, lps / 1e6, 1e9 / lps, publish_ms, bytes };
	printf("bench=lpm impl=%s family=ipv%u entries=%u burst=%u lookups_per_s=%.0f "
	       "ns_per_lookup=%.2f publish_ms=%.3f table_bytes=%zu\n", name, family, entries,
	       BURST_MAX, lps, 1e9 / lps, publish_ms, bytes);
}

static size_t version_bytes(const struct lpm *t)
{
	return sizeof(*t) + (size_t)t->n4 * 8 + (size_t)t->n6 * 20;
}

static void bench_family(int is6, uint64_t *s)
{
	static const unsigned int sizes[] = { 1024, 65536 };
	unsigned int family = is6 ? 6 : 4, z, i;

	for (z = 0; z < ARRAY_SIZE(sizes); z++) {
		unsigned int n = sizes[z];
		struct prefix *p = make_prefixes(n, is6, s);
		u128 *a = make_addrs(p, n, is6, s);
		uint32_t *a4 = malloc(NADDR * sizeof(*a4));
		uint8_t (*a6)[16] = malloc(NADDR * sizeof(*a6));
		static struct lpm_root root;
		struct lookup_ctx c = { .root = &root, .is6 = is6 };
		int64_t t0;
		double pub_ms;

		if (!a4 || !a6 || lpm_root_init(&root, n))
			die("setup");
		for (i = 0; i < NADDR; i++) {
			a4[i] = htonl((uint32_t)a[i]);
			to_bytes(a[i], a6[i]);
		}
		for (i = 0; i < n; i++) {
			uint8_t b[16];
			int err;

			to_bytes(p[i].addr, b);
			err = is6 ? lpm_insert6(&root, b, p[i].plen, p[i].peer) :
				    lpm_insert4(&root, htonl((uint32_t)p[i].addr), p[i].plen,
						p[i].peer);
			if (err)
				die("lpm_insert");
		}
		t0 = clock_mono_ns();
		if (lpm_publish(&root))
			die("lpm_publish");
		pub_ms = (double)(clock_mono_ns() - t0) / 1e6;
		c.a4 = a4;
		c.a6 = (const uint8_t (*)[16])a6;
		record("lpm", family, n, run_window(&c), pub_ms, version_bytes(lpm_snapshot(&root)));
		if (n <= NAIVE_MAX) {
			c.naive = p;
			c.naive_n = n;
			record("naive", family, n, run_window(&c), 0, (size_t)n * sizeof(*p));
		}
		epoch_barrier();
		lpm_root_destroy(&root);
		free(a6);
		free(a4);
		free(a);
		free(p);
	}
}

int main(void)
{
	uint64_t s = 0x853c49e6748fea9bULL;
	unsigned int i;

	epoch_init();
	epoch_reader_register(&reader);
	bench_family(0, &s);
	bench_family(1, &s);
	epoch_reader_unregister(&reader);

	printf("\n| impl | family | entries | Mlookups/s | ns/lookup | publish ms | table bytes |\n");
	printf("|---|---|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		printf("| %s | IPv%u | %u | %.2f | %.2f | %.3f | %zu |\n", r->name, r->family,
		       r->entries, r->mlps, r->ns, r->publish_ms, r->bytes);
	}
	return 0;
}
