/*
 * keysel.c - owns the data-key hand-over policy of one peer (keysel.h):
 * the send key, the renegotiation hold and the retirement of old keys,
 * computed from what the data plane saw the peer send. Pure; ctrl only.
 */
#include <string.h>

#include "keysel.h"

void keysel_reset(struct keysel *ks)
{
	memset(ks, 0, sizeof(*ks));
}

void keysel_install(struct keysel *ks, uint8_t key_id, int64_t now_ns)
{
	key_id &= KEY_ID_COUNT - 1;
	if (ks->live && ks->newest != key_id)
		ks->replaced_ns[ks->newest] = now_ns;
	ks->live |= 1u << key_id;
	ks->newest = key_id;
	ks->seq[key_id] = ++ks->next_seq;
	ks->installed_ns[key_id] = now_ns;
	ks->replaced_ns[key_id] = 0;
}

void keysel_remove(struct keysel *ks, uint8_t key_id)
{
	ks->live &= ~(1u << (key_id & (KEY_ID_COUNT - 1)));
}

static bool keysel_is_live(const struct keysel *ks, unsigned int k)
{
	return ks->live & (1u << k);
}

/*
 * The peer's last use of key_id @k in its current incarnation: a stamp
 * from before the key was installed belongs to an older key of that id.
 */
static int64_t keysel_rx(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT],
			 unsigned int k)
{
	return last_rx[k] >= ks->installed_ns[k] ? last_rx[k] : 0;
}

int keysel_peer_key(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT])
{
	int best = -1;

	for (unsigned int k = 0; k < KEY_ID_COUNT; k++) {
		int64_t t = keysel_rx(ks, last_rx, k);

		if (!keysel_is_live(ks, k) || !t)
			continue;
		/* Equal times (one burst): the newer key is where the peer is. */
		if (best < 0 || t > keysel_rx(ks, last_rx, (unsigned int)best) ||
		    (t == keysel_rx(ks, last_rx, (unsigned int)best) && ks->seq[k] > ks->seq[best]))
			best = (int)k;
	}
	return best;
}

uint8_t keysel_tx(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT], int64_t now_ns)
{
	uint8_t n = ks->newest;
	int p;

	if (!ks->live || keysel_rx(ks, last_rx, n) ||
	    now_ns - ks->installed_ns[n] >= KEYSEL_SWITCH_NS)
		return n;
	p = keysel_peer_key(ks, last_rx);
	return p < 0 ? n : (uint8_t)p;
}

bool keysel_hold(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT], int64_t now_ns,
		 int64_t max_ns)
{
	int p = keysel_peer_key(ks, last_rx);

	if (p < 0 || (uint8_t)p == ks->newest)
		return false;
	return now_ns - ks->installed_ns[ks->newest] < max_ns;
}

/* True if the peer sent on a key newer than @k, later than it last used @k. */
static bool keysel_moved_past(const struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT],
			      unsigned int k)
{
	int64_t used = keysel_rx(ks, last_rx, k);

	for (unsigned int j = 0; j < KEY_ID_COUNT; j++) {
		int64_t t = keysel_rx(ks, last_rx, j);

		if (keysel_is_live(ks, j) && ks->seq[j] > ks->seq[k] && t && t >= used)
			return true;
	}
	return false;
}

unsigned int keysel_retire(struct keysel *ks, const int64_t last_rx[KEY_ID_COUNT], uint8_t tx,
			   int64_t now_ns, int64_t tran_ns)
{
	unsigned int out = 0;

	for (unsigned int k = 0; k < KEY_ID_COUNT; k++) {
		int64_t last;

		if (!keysel_is_live(ks, k) || k == ks->newest || k == tx)
			continue;
		last = keysel_rx(ks, last_rx, k);
		if (last < ks->replaced_ns[k])
			last = ks->replaced_ns[k];
		if (now_ns - ks->replaced_ns[k] >= tran_ns ||
		    (keysel_moved_past(ks, last_rx, k) && now_ns - last >= KEYSEL_GRACE_NS))
			out |= 1u << k;
	}
	ks->live &= (uint8_t)~out;
	return out;
}
