/*
 * keysel.h - the data-key hand-over policy of one peer, for both roles
 * (openvpn-wire.md §10): which installed key we send with, when our next
 * renegotiation may start, and when an old key may be retired.
 *
 * Peers move to a new key at different moments: stock 2.6 sends on the old
 * key until the new one's deferred-auth deadline (up to hand-window, 60 s)
 * unless the old one is young; the OpenVPN 3 core sends on its old primary
 * until become-primary (min(hand-window, reneg-sec/2), 60 s) after the new
 * key is active, and a soft reset that arrives before then throws the
 * unpromoted key away. The data plane tells us which key_id the peer last
 * sent each authenticated packet on, so the policy follows what the peer
 * does instead of guessing what it is:
 *
 *   send     on the newest key once the peer has used it, or once it was
 *            installed KEYSEL_SWITCH_NS ago (the peer has had time to install
 *            it for decryption); until then on the key the peer last used.
 *   hold     our next renegotiation while the peer's latest traffic is on a
 *            key older than the newest one, for at most the caller's bound:
 *            a soft reset would make an OpenVPN 3 peer drop the key it has
 *            not promoted yet, and starting a key nobody sends on rotates
 *            nothing.
 *   retire   an old key once the peer has moved past it and not used it for
 *            KEYSEL_GRACE_NS (late and reordered packets), or tran-window
 *            after it was replaced; never the newest key or the one we send
 *            with.
 *
 * Pure data: no clock reads, no data plane; ctrl only.
 */
#ifndef SLUICE_KEYSEL_H
#define SLUICE_KEYSEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../../core/proto.h"

#define KEYSEL_NS_PER_SEC	1000000000LL
/* Our key-method-2 reaches the peer within a round trip; 2 s covers a lossy one. */
#define KEYSEL_SWITCH_NS	(2 * KEYSEL_NS_PER_SEC)
/* Late packets on a key the peer left: the replay window's 15 s time rule, rounded down. */
#define KEYSEL_GRACE_NS		(10 * KEYSEL_NS_PER_SEC)

struct keysel {
	uint8_t live;				/* bit k: key_id k's data keys are installed */
	uint8_t newest;				/* the last installed key_id */
	uint32_t next_seq;
	uint32_t seq[KEY_ID_COUNT];		/* install order: larger is newer */
	int64_t installed_ns[KEY_ID_COUNT];
	int64_t replaced_ns[KEY_ID_COUNT];	/* a newer key was installed then; 0: newest */
};

void keysel_reset(struct keysel *ks);
/* @key_id's data keys were installed at @now_ns (replacing any older key of that id). */
void keysel_install(struct keysel *ks, uint8_t key_id, int64_t now_ns);
/* @key_id's data keys were removed. */
void keysel_remove(struct keysel *ks, uint8_t key_id);

/*
 * The live key_id the peer sent on most recently, from @last_rx (mono ns
 * of the last authenticated packet per key_id, 0 = none); -1 if none.
 */
int keysel_peer_key(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT]);
/* The key_id to send with now. */
uint8_t keysel_tx(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT], int64_t now_ns);
/*
 * True while our next renegotiation should wait: the peer still sends on
 * an older key, and the newest one is younger than @max_ns.
 */
bool keysel_hold(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT], int64_t now_ns,
		 int64_t max_ns);
/*
 * The key_ids to retire now (removed from @ks; the caller retires them in
 * the data plane). @tx: the key we send with; @tran_ns: tran-window.
 */
unsigned int keysel_retire(struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT], uint8_t tx,
			   int64_t now_ns, int64_t tran_ns);

#endif
