/*
 * keysel_test.c - the data-key hand-over policy (ctrl/proto/keysel.c):
 * scripted peers as stock 2.6 and the OpenVPN 3 core behave across
 * renegotiations (send key, renegotiation hold, retirement), then a random
 * walk checked against invariants: the send key and the newest key are
 * never retired, a key the peer used within KEYSEL_GRACE_NS is never
 * retired, and nothing outlives tran-window after it was replaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/proto/keysel.h"
#include "harness.h"

#define S(x)	((int64_t)((x) * 1e9))
#define HOLD	S(180)
#define TRAN	S(3600)

static struct keysel ks;
static int64_t rx[KEY_ID_COUNT];

static void reset(void)
{
	keysel_reset(&ks);
	memset(rx, 0, sizeof(rx));
}

/* A peer like stock 2.6 with young keys: it moves to a new key as soon as it has it. */
static void case_stock_peer(void)
{
	unsigned int m;

	printf("stock-like peer: moves at once\n");
	reset();
	keysel_install(&ks, 0, S(0));
	rx[0] = S(1);
	CHECK(keysel_tx(&ks, rx, S(1)) == 0, "tx before reneg");
	keysel_install(&ks, 1, S(5));
	/* The peer has not used key 1 yet: we stay on its key for up to KEYSEL_SWITCH_NS. */
	CHECK(keysel_tx(&ks, rx, S(5.5)) == 0, "tx right after install");
	rx[1] = S(5.6);
	CHECK(keysel_tx(&ks, rx, S(5.6)) == 1, "tx once the peer used key 1");
	CHECK(!keysel_hold(&ks, rx, S(5.6), HOLD), "no hold: peer is on the newest");
	m = keysel_retire(&ks, rx, 1, S(14), TRAN);
	CHECK(m == 0, "key 0 kept within grace: %x", m);
	m = keysel_retire(&ks, rx, 1, S(16), TRAN);
	CHECK(m == 1, "key 0 retired after grace: %x", m);
	CHECK(ks.live == 2, "live %x", ks.live);
}

/*
 * A peer like the OpenVPN 3 core: after the server's soft reset it keeps
 * sending on its primary until become-primary (60 s) after the new key is
 * active. We must not start another renegotiation meanwhile, and must keep
 * key 0 for decryption.
 */
static void case_ovpn3_peer(void)
{
	unsigned int m;

	printf("OpenVPN-3-like peer: moves 60 s later\n");
	reset();
	keysel_install(&ks, 0, S(0));
	rx[0] = S(4);
	keysel_install(&ks, 1, S(5));
	CHECK(keysel_tx(&ks, rx, S(6)) == 0, "tx on the peer's key first");
	rx[0] = S(7);
	CHECK(keysel_tx(&ks, rx, S(7.1)) == 1, "tx on the new key after KEYSEL_SWITCH_NS");
	CHECK(keysel_hold(&ks, rx, S(10), HOLD), "hold: peer still on key 0");
	m = keysel_retire(&ks, rx, 1, S(30), TRAN);
	CHECK(m == 0, "key 0 kept while the peer uses it: %x", m);
	rx[0] = S(64);
	CHECK(keysel_hold(&ks, rx, S(64), HOLD), "hold until the peer moves");
	rx[1] = S(65);
	CHECK(!keysel_hold(&ks, rx, S(65), HOLD), "released once the peer moved");
	CHECK(keysel_retire(&ks, rx, 1, S(70), TRAN) == 0, "key 0 within grace");
	CHECK(keysel_retire(&ks, rx, 1, S(75), TRAN) == 1, "key 0 retired");
	/* The hold is bounded. */
	reset();
	keysel_install(&ks, 0, S(0));
	rx[0] = S(1);
	keysel_install(&ks, 1, S(5));
	CHECK(keysel_hold(&ks, rx, S(5) + HOLD - 1, HOLD), "held just before the bound");
	CHECK(!keysel_hold(&ks, rx, S(5) + HOLD, HOLD), "released at the bound");
}

/* A silent peer: nothing to follow, so the newest key at once, and tran-window retires. */
static void case_silent_peer(void)
{
	unsigned int m;

	printf("silent peer and tran-window\n");
	reset();
	keysel_install(&ks, 0, S(0));
	keysel_install(&ks, 1, S(5));
	CHECK(keysel_tx(&ks, rx, S(5)) == 1, "tx newest with no traffic");
	CHECK(!keysel_hold(&ks, rx, S(6), HOLD), "no hold with no traffic");
	m = keysel_retire(&ks, rx, 1, S(5) + TRAN - 1, TRAN);
	CHECK(m == 0, "kept within tran-window: %x", m);
	m = keysel_retire(&ks, rx, 1, S(5) + TRAN, TRAN);
	CHECK(m == 1, "retired at tran-window: %x", m);
	/* The key we send with is never retired, even past tran-window. */
	reset();
	keysel_install(&ks, 0, S(0));
	rx[0] = S(1);
	keysel_install(&ks, 1, S(5));
	m = keysel_retire(&ks, rx, 0, S(5) + TRAN, TRAN);
	CHECK(m == 0, "send key kept: %x", m);
}

/* key_id wraps 7 -> 1: order comes from install order, not from the id. */
static void case_wrap(void)
{
	printf("key_id wrap\n");
	reset();
	keysel_install(&ks, 0, S(0));
	for (unsigned int i = 1; i <= 8; i++) {
		uint8_t kid = i <= 7 ? (uint8_t)i : 1;
		int64_t t = S(10 * i);

		keysel_install(&ks, kid, t);
		rx[kid] = t + S(0.1);
		CHECK(keysel_tx(&ks, rx, t + S(0.1)) == kid, "tx %u", kid);
		CHECK(keysel_peer_key(&ks, rx) == kid, "peer key %u", kid);
		CHECK(!keysel_hold(&ks, rx, t + S(0.1), HOLD), "no hold at %u", kid);
		(void)keysel_retire(&ks, rx, kid, t + S(0.1), TRAN);
	}
	(void)keysel_retire(&ks, rx, 1, S(200), TRAN);
	CHECK(ks.live == 2, "only key 1 left: %x", ks.live);
}

/* Random installs, traffic and retirements against the invariants. */
static void case_random(void)
{
	int64_t now = S(1), used_at[KEY_ID_COUNT] = { 0 };
	uint8_t kid = 0;

	printf("random walk, 200000 steps\n");
	reset();
	srandom(7);
	keysel_install(&ks, 0, now);
	for (int i = 0; i < 200000; i++) {
		unsigned int m;
		uint8_t tx;
		int r = (int)(random() % 100);

		now += (int64_t)(random() % 3000) * 1000000;
		if (r < 3) {
			kid = kid >= KEY_ID_COUNT - 1 ? 1 : kid + 1;
			keysel_install(&ks, kid, now);
		} else if (r < 60) {
			/* The peer sends on some live key, mostly the newest. */
			uint8_t k = (random() % 4) ? ks.newest : (uint8_t)(random() % KEY_ID_COUNT);

			if (ks.live & (1u << k))
				rx[k] = used_at[k] = now;
		}
		tx = keysel_tx(&ks, rx, now);
		CHECK(ks.live & (1u << tx), "tx %u not live (live %x)", tx, ks.live);
		m = keysel_retire(&ks, rx, tx, now, S(600));
		CHECK(!(m & (1u << tx)), "retired the send key %u", tx);
		CHECK(!(m & (1u << ks.newest)), "retired the newest key");
		for (unsigned int k = 0; k < KEY_ID_COUNT; k++) {
			if (!(m & (1u << k)))
				continue;
			CHECK(now - used_at[k] >= KEYSEL_GRACE_NS ||
			      now - ks.replaced_ns[k] >= S(600),
			      "key %u retired %lld ns after use", k, (long long)(now - used_at[k]));
			rx[k] = 0;
			used_at[k] = 0;
		}
		for (unsigned int k = 0; k < KEY_ID_COUNT; k++)
			if ((ks.live & (1u << k)) && k != tx && k != ks.newest)
				CHECK(now - ks.replaced_ns[k] < S(600), "key %u outlived tran", k);
		if (failures > 10)
			break;
	}
}

int main(void)
{
	case_stock_peer();
	case_ovpn3_peer();
	case_silent_peer();
	case_wrap();
	case_random();
	return harness_done("keysel_test");
}
