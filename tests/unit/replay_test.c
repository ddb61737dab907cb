/*
 * replay_test.c - the data-channel replay window (crypto/replay.h).
 *
 * Part 1: a numbered table of edge cases. RESET(window, time_sec, strict)
 * starts a fresh window; T(pid, now, expected) checks one packet-id at
 * @now seconds and, if it is accepted, records it as a verified packet
 * would be. C(pid, now, expected) only checks (a forged packet: the tag
 * failed, so the window must not move).
 *
 * Part 2: a differential test against a deliberately naive model that keeps
 * every seen id with its arrival second and applies openvpn-wire.md §6.4
 * literally, over millions of random ids and time steps and several window
 * sizes, with a fixed seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../crypto/replay.h"
#include "harness.h"

static unsigned int case_no;
static struct replay *rp;

static void reset(uint32_t window, uint32_t time_sec, bool strict)
{
	free(rp);
	rp = malloc(replay_size(window));
	if (!rp) {
		FATAL("out of memory");
	}
	replay_init(rp, window, time_sec, strict);
}

static void t_case(int line, uint32_t pid, int64_t now_ns, bool expect, bool update)
{
	bool got = replay_check(rp, pid, now_ns);

	case_no++;
	if (got != expect) {
		harness_fail(__FILE__, line,
			     "case %u: pid %u at %lld.%09lld s: got %s, expected %s", case_no, pid,
			     (long long)(now_ns / NSEC_PER_SEC), (long long)(now_ns % NSEC_PER_SEC),
			     got ? "accept" : "reject", expect ? "accept" : "reject");
	}
	if (got != replay_check(rp, pid, now_ns)) {
		harness_fail(__FILE__, line, "case %u: replay_check changed state", case_no);
	}
	if (got && update)
		replay_update(rp, pid, now_ns);
}

#define RESET(w, t, s)	reset((w), (t), (s))
#define S(sec)		((int64_t)(sec) * NSEC_PER_SEC)
#define T(pid, now, e)	t_case(__LINE__, (pid), (now), (e), true)
#define C(pid, now, e)	t_case(__LINE__, (pid), (now), (e), false)
#define MAXID		0xFFFFFFFFu

static void table_sequence(void)
{
	RESET(64, 15, false);
	T(0, S(1), false);		/*  1: id 0 before anything */
	T(1, S(1), true);		/*  2: first packet */
	T(1, S(1), false);		/*  3: duplicate */
	T(0, S(1), false);		/*  4: id 0 after a packet */
	T(3, S(1), true);		/*  5: ahead, leaving a hole */
	T(2, S(1), true);		/*  6: the hole, once */
	T(2, S(1), false);		/*  7: ... only once */
	T(100, S(1), true);		/*  8: jump ahead */
	T(37, S(1), true);		/*  9: H - 63: oldest in the window */
	T(36, S(1), false);		/* 10: H - 64: just outside */
	T(37, S(1), false);		/* 11: duplicate at the edge */
	T(99, S(1), true);		/* 12: H - 1 */
	T(100, S(1), false);		/* 13: H itself */
	T(101, S(1), true);		/* 14: window slides by one */
	T(37, S(1), false);		/* 15: slid out (and seen) */
	T(38, S(1), true);		/* 16: new oldest in the window */
	T(1000000, S(1), true);		/* 17: jump far ahead */
	T(999937, S(1), true);		/* 18: edge after the jump */
	T(999936, S(1), false);		/* 19: just outside after the jump */
	T(101, S(1), false);		/* 20: far behind */
	T(1000000 - 1, S(1), true);	/* 21: behind H, never seen */
}

static void table_first_packet_edges(void)
{
	RESET(64, 15, false);
	T(5, S(1), true);		/* 22: first packet not 1 */
	T(1, S(1), true);		/* 23: below the first, in window */
	T(4, S(1), true);		/* 24 */
	T(5, S(1), false);		/* 25 */
	RESET(64, 15, false);
	T(64, S(1), true);		/* 26: H = 64: window 1..64 */
	T(1, S(1), true);		/* 27: H - 63 */
	T(65, S(1), true);		/* 28 */
	T(1, S(1), false);		/* 29 */
	T(2, S(1), true);		/* 30: H - 63 again */
}

static void table_word_edges(void)
{
	RESET(64, 15, false);
	T(127, S(1), true);		/* 31: H at the end of word 1 */
	T(64, S(1), true);		/* 32: start of word 1 */
	T(63, S(1), false);		/* 33: word 0, outside */
	T(128, S(1), true);		/* 34: H enters word 2: word 0's bits recycled */
	T(65, S(1), true);		/* 35: H - 63 */
	T(64, S(1), false);		/* 36: slid out (and seen) */
	T(191, S(1), true);		/* 37 */
	T(128, S(1), false);		/* 38: seen */
	T(129, S(1), true);		/* 39: word 0 reused for ids 128..191 */
	T(192 + 64, S(1), true);	/* 40: jump by whole words */
	T(193, S(1), true);		/* 41: shares a bit with 65, which must be cleared */
}

static void table_window_65536(void)
{
	RESET(65536, 15, false);
	T(70000, S(1), true);		/* 42 */
	T(70000 - 65535, S(1), true);	/* 43: oldest in the window */
	T(70000 - 65536, S(1), false);	/* 44: just outside */
	T(69999, S(1), true);		/* 45 */
	T(70000 + 65536, S(1), true);	/* 46: H moves by exactly the window */
	T(70001, S(1), true);		/* 47: H - 65535 */
	T(70000, S(1), false);		/* 48: H - 65536 */
	T(70000 + 65535, S(1), true);	/* 49 */
	T(70000 + 65535, S(1), false);	/* 50 */
	T(70000 + 65536 * 3, S(1), true);	/* 51: jump: everything cleared */
	T(70000 + 65536 * 2 + 1, S(1), true);	/* 52: oldest, not a stale bit */
	T(70000 + 65536 * 2, S(1), false);	/* 53 */
}

static void table_small_windows(void)
{
	RESET(1, 15, false);
	T(10, S(1), true);		/* 54: window 1: only ids above H */
	T(9, S(1), false);		/* 55 */
	T(11, S(1), true);		/* 56 */
	RESET(0, 15, false);
	T(10, S(1), true);		/* 57: window 0 behaves as strict */
	T(9, S(1), false);		/* 58 */
	T(12, S(1), true);		/* 59 */
	T(11, S(1), false);		/* 60 */
}

static void table_max_id(void)
{
	RESET(64, 15, false);
	T(MAXID - 100, S(1), true);	/* 61 */
	T(MAXID, S(1), true);		/* 62: the largest id */
	T(MAXID, S(1), false);		/* 63: no wrap to 0 */
	T(MAXID - 63, S(1), true);	/* 64 */
	T(MAXID - 64, S(1), false);	/* 65 */
	T(MAXID - 1, S(1), true);	/* 66 */
	T(0, S(1), false);		/* 67 */
	T(1, S(1), false);		/* 68: no wraparound */
	RESET(65536, 15, false);
	T(MAXID, S(1), true);		/* 69: first packet is the largest id */
	T(MAXID - 65535, S(1), true);	/* 70 */
	T(MAXID - 65536, S(1), false);	/* 71 */
}

static void table_strict(void)
{
	RESET(64, 15, true);
	T(5, S(1), true);		/* 72 */
	T(4, S(1), false);		/* 73: behind H, even in the window */
	T(6, S(1), true);		/* 74 */
	T(6, S(1), false);		/* 75 */
	T(100, S(1), true);		/* 76: gaps are fine */
	T(99, S(1), false);		/* 77 */
	T(0, S(1), false);		/* 78 */
}

static void table_time_rule(void)
{
	RESET(64, 15, false);
	T(10, S(100), true);		/* 79: arrives at 100 s */
	T(5, S(115), true);		/* 80: 100 + 15 < 115 is false: not stale */
	T(20, S(116), true);		/* 81: above H: the time rule never applies */
	T(6, S(116), false);		/* 82: 10 arrived at 100 < 116 - 15: ids <= 10 seen */
	T(12, S(131), true);		/* 83: 116 + 15 < 131 is false: floor still 10 */
	T(11, S(132), false);		/* 84: 20 (at 116) is stale from 132 on */
	T(21, S(132), true);		/* 85 */
	RESET(64, 15, false);
	T(10, S(100) + 900000000, true);	/* 86: 100.9 s is second 100 */
	C(5, S(115) + 999999999, true);	/* 87: second 115: not stale yet */
	C(5, S(116), false);		/* 88: second 116: stale */
	C(5, S(100) + 1, true);		/* 89: the check above wrote nothing */
	C(11, S(200), true);		/* 90: above the stale id */
	RESET(64, 0, false);
	T(10, S(1), true);		/* 91: time rule off */
	T(5, S(100000), true);		/* 92 */
	RESET(64, 15, false);
	T(10, S(100), true);		/* 93 */
	T(8, S(110), true);		/* 94: 8 arrives late, at 110 */
	T(9, S(116), false);		/* 95: 10 (at 100) is stale: 9 <= 10 */
	T(12, S(120), true);		/* 96 */
	T(11, S(126), true);		/* 97: 12 (at 120) is not stale yet; floor is 10 */
}

static void table_time_rule_2(void)
{
	RESET(64, 15, false);
	T(10, S(100), true);		/*  98 */
	T(20, S(105), true);		/*  99 */
	T(30, S(110), true);		/* 100 */
	T(15, S(116), true);		/* 101: only 10 is stale */
	T(9, S(116), false);		/* 102 */
	T(25, S(121), true);		/* 103: 20 (at 105) is stale from 121 on; 25 > 20 */
	T(24, S(121), true);		/* 104: 30 (at 110) is not stale yet */
	T(19, S(121), false);		/* 105: 19 <= 20 */
	T(28, S(126), false);		/* 106: 30 (at 110) stale: 28 <= 30 */
	T(31, S(126), true);		/* 107 */
	C(29, S(126), false);		/* 108 */
	RESET(64, 600, false);
	T(10, S(1000), true);		/* 109: time_sec at its maximum */
	T(5, S(1600), true);		/* 110 */
	T(4, S(1601), false);		/* 111 */
	RESET(64, 100000, false);
	T(10, S(1000), true);		/* 112: time_sec clamped to 600 */
	T(5, S(1601), false);		/* 113 */
}

/* ---- differential test ---- */

#define NAIVE_SLOTS	(1u << 18)	/* > REPLAY_WINDOW_MAX: no collision inside a window */

/* Seen ids with their arrival second, in a direct map keyed by the id. */
struct naive {
	uint32_t window, time_sec;
	bool strict;
	uint32_t highest;
	uint32_t id[NAIVE_SLOTS];
	int64_t sec[NAIVE_SLOTS];
};

static bool naive_seen(const struct naive *m, uint32_t id)
{
	return m->id[id % NAIVE_SLOTS] == id;
}

static unsigned long naive_time_rejects;

static bool naive_check(const struct naive *m, uint32_t pid, int64_t now_ns)
{
	int64_t now = now_ns / NSEC_PER_SEC;

	if (pid == 0)
		return false;
	if (pid > m->highest)
		return true;
	if (m->strict || m->window == 0 || (uint64_t)m->highest - pid >= m->window)
		return false;
	if (naive_seen(m, pid))
		return false;
	/* §6.4: an id that arrived more than time_sec ago makes every id below it seen. */
	for (uint64_t y = pid; m->time_sec && y <= m->highest; y++)
		if (naive_seen(m, (uint32_t)y) && m->sec[y % NAIVE_SLOTS] + m->time_sec < now) {
			naive_time_rejects++;
			return false;
		}
	return true;
}

static void naive_update(struct naive *m, uint32_t pid, int64_t now_ns)
{
	if (pid > m->highest)
		m->highest = pid;
	m->id[pid % NAIVE_SLOTS] = pid;
	m->sec[pid % NAIVE_SLOTS] = now_ns / NSEC_PER_SEC;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: fixed seed, same sequence on every run. */
static uint64_t rng(void)
{
	return harness_rnd(&rng_state);
}

static uint32_t clamp_id(int64_t v)
{
	if (v < 0)
		return 0;
	if (v > (int64_t)MAXID)
		return MAXID;
	return (uint32_t)v;
}

struct diff_cfg {
	uint32_t window, time_sec;
	bool strict;
	uint32_t first;			/* primes H */
	int64_t step_ns;		/* time advances by up to this per packet */
	unsigned int iters;
	unsigned int far_pct;		/* chance (%) of a backward step up to 2 windows */
};

/* Ids near H, around both window edges, far behind, far ahead, 0 and the maximum. */
static uint32_t diff_next_id(const struct diff_cfg *c, uint32_t h)
{
	uint64_t r = rng() % 100;
	int64_t w = c->window ? c->window : 64;

	if (r < 45)
		return clamp_id((int64_t)h + 1 + (int64_t)(rng() % 3));
	if (r < 70)
		return clamp_id((int64_t)h - (int64_t)(rng() % 48));
	if (r < 80)
		return clamp_id((int64_t)h - w + 2 - (int64_t)(rng() % 4));
	if (r < 80 + c->far_pct)
		return clamp_id((int64_t)h - (int64_t)(rng() % (uint64_t)(2 * w)));
	if (r < 98)
		return clamp_id((int64_t)h - (int64_t)(rng() % 200));
	if (r < 99)
		return clamp_id((int64_t)h + (int64_t)(rng() % (uint64_t)(3 * w)));
	return (rng() & 1) ? 0 : clamp_id((int64_t)h + 1);
}

static int64_t diff_next_time(const struct diff_cfg *c, int64_t now)
{
	/* Mostly small steps; now and then a pause of up to 40 s. */
	if (rng() % 2000 == 0)
		return now + (int64_t)(rng() % (uint64_t)S(40));
	return now + (int64_t)(rng() % (uint64_t)c->step_ns);
}

static void diff_run(const struct diff_cfg *c, struct naive *m)
{
	int64_t now = S(1000) + 123456789;
	unsigned long accepted = 0, mismatches = 0;

	naive_time_rejects = 0;

	RESET(c->window, c->time_sec, c->strict);
	memset(m, 0, sizeof(*m));
	m->window = c->window;
	m->time_sec = c->time_sec;
	m->strict = c->strict;
	replay_update(rp, c->first, now);
	naive_update(m, c->first, now);
	for (unsigned int i = 0; i < c->iters; i++) {
		uint32_t pid = diff_next_id(c, m->highest);
		bool got, want;

		now = diff_next_time(c, now);
		got = replay_check(rp, pid, now);
		want = naive_check(m, pid, now);
		if (got != want) {
			if (mismatches++ < 10)
				harness_fail(__FILE__, __LINE__,
					     "window %u time %u strict %d iter %u: pid %u (H %u) "
					     "at %lld ns: got %s, expected %s",
					     c->window, c->time_sec, c->strict, i, pid, m->highest,
					     (long long)now, got ? "accept" : "reject",
					     want ? "accept" : "reject");
		}
		/* 1 in 20 accepted ids is "forged": checked, never recorded. */
		if (want && rng() % 20) {
			replay_update(rp, pid, now);
			naive_update(m, pid, now);
			accepted++;
		}
	}
	printf("replay diff: window=%u time=%u strict=%d iters=%u accepted=%lu "
	       "time_rule_rejects=%lu mismatches=%lu\n", c->window, c->time_sec, c->strict,
	       c->iters, accepted, naive_time_rejects, mismatches);
}

static const struct diff_cfg diff_cfgs[] = {
	/* window, time, strict, first, step_ns, iters, far_pct */
	{ 64, 15, false, 1, 400 * NSEC_PER_MSEC, 1000000, 10 },
	{ 64, 15, false, 1, 2 * NSEC_PER_MSEC, 1000000, 10 },
	{ 100, 2, false, 1, 60 * NSEC_PER_MSEC, 1000000, 10 },
	{ 1000, 3, false, 1, 10 * NSEC_PER_MSEC, 1000000, 10 },
	{ 4096, 1, false, 1, 1 * NSEC_PER_MSEC, 500000, 5 },
	{ 65536, 15, false, 1, 1 * NSEC_PER_MSEC, 1000000, 1 },
	{ 65536, 1, false, 70000, 100000, 1000000, 1 },
	{ 64, 15, true, 1, 400 * NSEC_PER_MSEC, 300000, 10 },
	{ 0, 15, false, 1, 400 * NSEC_PER_MSEC, 300000, 10 },
	{ 256, 0, false, 1, 400 * NSEC_PER_MSEC, 500000, 10 },
	{ 128, 3, false, MAXID - 300000, 30 * NSEC_PER_MSEC, 500000, 10 },
};

int main(void)
{
	struct naive *m = malloc(sizeof(*m));

	if (!m) {
		printf("%s:%d: out of memory\n", __FILE__, __LINE__);
		return 1;
	}
	table_sequence();
	table_first_packet_edges();
	table_word_edges();
	table_window_65536();
	table_small_windows();
	table_max_id();
	table_strict();
	table_time_rule();
	table_time_rule_2();
	printf("replay table: %u cases\n", case_no);
	for (unsigned int i = 0; i < ARRAY_SIZE(diff_cfgs); i++)
		diff_run(&diff_cfgs[i], m);
	free(m);
	free(rp);
	return harness_done("replay_test");
}
