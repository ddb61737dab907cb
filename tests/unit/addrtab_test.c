/*
 * addrtab_test.c - tests for core/addrtab.c (UDP endpoint -> peer id).
 *
 * 1. Table cases: numbered, one T() per line: v4 and v6, ports and scope
 *    ids tell endpoints apart, v4-mapped IPv6 is the same client as IPv4,
 *    replace, remove, remove by peer, bad family, the size bound.
 * 2. Differential: >= 10^5 random operations against a linear-scan model
 *    over a universe of endpoints that share addresses and ports; a v4
 *    endpoint is passed now as AF_INET, now as v4-mapped AF_INET6, while the
 *    model knows it by its universe index only.
 * 3. Concurrency: reader threads look up inside epoch sections while the
 *    main thread (ctrl's role) inserts, replaces and removes. Stable
 *    endpoints must always answer their peer; flapping ones their peer or
 *    nothing. Run under ASan and TSan.
 *
 * Env: SLUICE_TEST_SCALE (default 1, 0.25 under TSan). Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/addrtab.h"
#include "../../core/epoch.h"
#include "../../core/thread.h"
#include "harness.h"

/* Fills @sa from "a.b.c.d" or a v6 address, a port and a scope id (v6 only). */
static void ep_fill(union sockaddr_any *sa, const char *addr, uint16_t port, uint32_t scope)
{
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, addr, &sa->in4.sin_addr) == 1) {
		sa->in4.sin_family = AF_INET;
		sa->in4.sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &sa->in6.sin6_addr) == 1) {
		sa->in6.sin6_family = AF_INET6;
		sa->in6.sin6_port = htons(port);
		sa->in6.sin6_scope_id = scope;
	} else {
		FATAL("bad test address %s", addr);
	}
}

/* Main thread only: a rotating static result, so table cases read as one line. */
static const union sockaddr_any *ep(const char *addr, uint16_t port, uint32_t scope)
{
	static union sockaddr_any buf[4];
	static unsigned int i;
	union sockaddr_any *sa = &buf[i++ & 3];

	ep_fill(sa, addr, port, scope);
	return sa;
}

/* --- 1. table cases ---------------------------------------------------- */

static int tcase;

#define T(expr, expected)							\
	do {									\
		long long got_ = (long long)(expr), exp_ = (long long)(expected);	\
		tcase++;							\
		CHECK(got_ == exp_, "case %d: %s = %lld, expected %lld", tcase,	\
		      #expr, got_, exp_);					\
	} while (0)

#define NONE	ADDRTAB_NONE

static void test_table(void)
{
	union sockaddr_any unix_sa = { .sa = { .sa_family = AF_UNIX } };
	struct addrtab *t;

	if (addrtab_create(&t, 6)) {
		FATAL("addrtab_create failed");
	}
	T(addrtab_lookup(t, ep("198.18.0.1", 1194, 0)), NONE);
	T(addrtab_insert(t, ep("198.18.0.1", 1194, 0), 1), 0);
	T(addrtab_lookup(t, ep("198.18.0.1", 1194, 0)), 1);
	T(addrtab_lookup(t, ep("198.18.0.1", 1195, 0)), NONE);		/* port counts */
	T(addrtab_lookup(t, ep("198.18.0.2", 1194, 0)), NONE);
	T(addrtab_lookup(t, ep("::ffff:198.18.0.1", 1194, 0)), 1);	/* v4-mapped */
	T(addrtab_lookup(t, ep("::198.18.0.1", 1194, 0)), NONE);	/* v4-compatible is v6 */
	T(addrtab_insert(t, ep("198.18.0.1", 1195, 0), 2), 0);
	T(addrtab_lookup(t, ep("198.18.0.1", 1195, 0)), 2);
	T(addrtab_lookup(t, ep("198.18.0.1", 1194, 0)), 1);
	T(addrtab_insert(t, ep("::ffff:198.18.0.1", 1194, 0), 3), 0);	/* replaces */
	T(addrtab_lookup(t, ep("198.18.0.1", 1194, 0)), 3);
	T(addrtab_count(t), 2);
	T(addrtab_insert(t, ep("2001:db8::1", 1194, 0), 4), 0);
	T(addrtab_lookup(t, ep("2001:db8::1", 1194, 0)), 4);
	T(addrtab_lookup(t, ep("2001:db8::2", 1194, 0)), NONE);
	T(addrtab_insert(t, ep("fe80::1", 1194, 2), 5), 0);
	T(addrtab_insert(t, ep("fe80::1", 1194, 3), 6), 0);
	T(addrtab_lookup(t, ep("fe80::1", 1194, 2)), 5);		/* scope counts */
	T(addrtab_lookup(t, ep("fe80::1", 1194, 3)), 6);
	T(addrtab_lookup(t, ep("fe80::1", 1194, 4)), NONE);
	T(addrtab_insert(t, ep("fe80::1", 1194, 4), 6), 0);
	T(addrtab_insert(t, ep("fe80::1", 1194, 5), 7), -ENOSPC);	/* max 6 */
	T(addrtab_insert(t, ep("fe80::1", 1194, 4), 8), 0);		/* replace needs no room */
	T(addrtab_insert(t, ep("198.18.0.9", 1, 0), NONE), -EINVAL);
	T(addrtab_insert(t, &unix_sa, 1), -EAFNOSUPPORT);
	T(addrtab_lookup(t, &unix_sa), NONE);
	T(addrtab_remove(t, &unix_sa), -ENOENT);
	T(addrtab_remove(t, ep("198.18.0.1", 1195, 0)), 0);
	T(addrtab_lookup(t, ep("198.18.0.1", 1195, 0)), NONE);
	T(addrtab_remove(t, ep("198.18.0.1", 1195, 0)), -ENOENT);
	T(addrtab_lookup(t, ep("198.18.0.1", 1194, 0)), 3);
	T(addrtab_remove_peer(t, 6), 1);
	T(addrtab_lookup(t, ep("fe80::1", 1194, 3)), NONE);
	T(addrtab_lookup(t, ep("fe80::1", 1194, 2)), 5);
	T(addrtab_remove_peer(t, 99), 0);
	T(addrtab_count(t), 4);
	T(addrtab_remove(t, ep("::ffff:198.18.0.1", 1194, 0)), 0);
	T(addrtab_lookup(t, ep("198.18.0.1", 1194, 0)), NONE);
	T(addrtab_count(t), 3);
	epoch_barrier();
	addrtab_destroy(t);
}

/* --- 2. differential against a linear scan --------------------------- */

/*
 * Universe (usable from any thread): 200 v4 endpoints (50 addresses x 4 ports), 100 v6 (50 x 2),
 * fe80::1 port 1194 under 10 scope ids.
 */
#define UNIVERSE	310
#define DIFF_MAX	160
#define DIFF_OPS	200000

static void universe_sa(unsigned int i, bool mapped, union sockaddr_any *sa)
{
	char a[64];

	if (i < 200) {
		snprintf(a, sizeof(a), mapped ? "::ffff:198.18.0.%u" : "198.18.0.%u", i % 50);
		ep_fill(sa, a, (uint16_t)(1000 + i / 50), 0);
	} else if (i < 300) {
		snprintf(a, sizeof(a), "2001:db8::%x", (i - 200) % 50);
		ep_fill(sa, a, (uint16_t)(1000 + (i - 200) / 50), 0);
	} else {
		ep_fill(sa, "fe80::1", 1194, i - 300);
	}
}

static uint32_t model[UNIVERSE];	/* peer per endpoint, NONE: absent */
static uint32_t model_n;

static void test_differential(void)
{
	uint64_t s = 0x2545f4914f6cdd1dULL;
	unsigned long ops, lookups = 0, enospc = 0;
	struct addrtab *t;
	unsigned int i;
	int bad = 0;

	if (addrtab_create(&t, DIFF_MAX)) {
		FATAL("addrtab_create failed");
	}
	for (i = 0; i < UNIVERSE; i++)
		model[i] = NONE;
	model_n = 0;
	for (ops = 0; ops < DIFF_OPS && bad < 10; ops++) {
		unsigned int op = (unsigned int)(harness_rnd(&s) % 100);
		unsigned int e = (unsigned int)(harness_rnd(&s) % UNIVERSE);
		uint32_t peer = (uint32_t)(harness_rnd(&s) % 48);
		union sockaddr_any sa;
		long long got, exp;

		universe_sa(e, harness_rnd(&s) & 1, &sa);
		if (op < 35) {
			got = addrtab_insert(t, &sa, peer);
			if (model[e] == NONE && model_n >= DIFF_MAX) {
				exp = -ENOSPC;
				enospc++;
			} else {
				model_n += model[e] == NONE;
				model[e] = peer;
				exp = 0;
			}
		} else if (op < 60) {
			got = addrtab_remove(t, &sa);
			exp = model[e] == NONE ? -ENOENT : 0;
			model_n -= model[e] != NONE;
			model[e] = NONE;
		} else if (op < 61) {
			got = addrtab_remove_peer(t, peer);
			exp = 0;
			for (i = 0; i < UNIVERSE; i++) {
				if (model[i] == peer) {
					model[i] = NONE;
					model_n--;
					exp++;
				}
			}
		} else {
			got = addrtab_lookup(t, &sa);
			exp = model[e];
			lookups++;
			if ((ops & 255) == 0)
				epoch_poll();
		}
		if (got != exp) {
			bad++;
			CHECK(0, "op %lu (kind %u, endpoint %u): got %lld, model %lld", ops, op, e,
			      got, exp);
		}
		CHECK(addrtab_count(t) == model_n, "op %lu: count %u, model %u", ops,
		      addrtab_count(t), model_n);
	}
	epoch_barrier();
	addrtab_destroy(t);
	printf("differential: %lu ops, %lu lookups, %lu ENOSPC\n", ops, lookups, enospc);
	CHECK(lookups > 50000 && enospc > 0, "differential did not exercise enough");
}

/* --- 3. concurrency --------------------------------------------------- */

/* Endpoint i is stable if i % 8 == 0 (peer i), else flapping (peer i + 1000). */
#define NREADERS	2

static bool is_stable(unsigned int i)
{
	return i % 8 == 0;
}

struct reader {
	struct thread thr;
	struct epoch_reader er;
	struct addrtab *t;
	uint64_t lookups, bad;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	uint64_t s = 0x51ed270b27ULL + (uint64_t)rd->thr.tid;
	union sockaddr_any sa[BURST_MAX];
	unsigned int e[BURST_MAX], i;

	while (!thread_should_stop(&rd->thr)) {
		for (i = 0; i < BURST_MAX; i++) {
			e[i] = (unsigned int)(harness_rnd(&s) % UNIVERSE);
			universe_sa(e[i], harness_rnd(&s) & 1, &sa[i]);
		}
		epoch_begin(&rd->er);
		for (i = 0; i < BURST_MAX; i++) {
			uint32_t got = addrtab_lookup(rd->t, &sa[i]);

			if (is_stable(e[i]) ? got != e[i] : got != NONE && got != e[i] + 1000)
				rd->bad++;
		}
		epoch_end(&rd->er);
		rd->lookups += BURST_MAX;
	}
	return NULL;
}

static void test_concurrency(void)
{
	static struct reader rd[NREADERS];
	unsigned long rounds = (unsigned long)(200000 * harness_scale(0.25)), i;
	uint64_t s = 0xfeedULL, lookups = 0, bad = 0;
	struct addrtab *t;
	union sockaddr_any sa;
	int k;

	if (addrtab_create(&t, UNIVERSE)) {
		FATAL("addrtab_create failed");
	}
	for (i = 0; i < UNIVERSE; i += 8) {
		universe_sa((unsigned int)i, false, &sa);
		CHECK(addrtab_insert(t, &sa, (uint32_t)i) == 0, "stable insert %lu", i);
	}
	for (k = 0; k < NREADERS; k++) {
		memset(&rd[k], 0, sizeof(rd[k]));
		rd[k].t = t;
		epoch_reader_register(&rd[k].er);
		if (thread_init(&rd[k].thr, "addr-reader", reader_main, &rd[k], -1) ||
		    thread_start(&rd[k].thr)) {
			FATAL("thread start failed");
		}
	}
	for (i = 0; i < rounds; i++) {
		unsigned int e = (unsigned int)(harness_rnd(&s) % UNIVERSE);
		uint64_t r = harness_rnd(&s);
		int err;

		universe_sa(e, r & 1, &sa);
		if (is_stable(e))	/* same peer again: must be a no-op */
			err = addrtab_insert(t, &sa, e);
		else if (r & 2)
			err = addrtab_insert(t, &sa, e + 1000);
		else if (r & 4)
			err = addrtab_remove(t, &sa);
		else
			err = addrtab_remove_peer(t, e + 1000) <= 1 ? 0 : -EEXIST;
		CHECK(err == 0 || err == -ENOENT, "round %lu: change failed: %d", i, err);
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
	CHECK(epoch_pending() == 0, "%lu shards never freed", epoch_pending());
	CHECK(bad == 0, "readers got %llu impossible answers", (unsigned long long)bad);
	CHECK(lookups > 0, "readers did no lookups");
	printf("concurrency: %lu changes, %llu reader lookups, %u endpoints at the end\n", rounds,
	       (unsigned long long)lookups, addrtab_count(t));
	addrtab_destroy(t);
}

int main(void)
{
	epoch_init();
	test_table();
	test_differential();
	test_concurrency();
	printf("addrtab_test: %d table cases\n", tcase);
	return harness_done("addrtab_test");
}
