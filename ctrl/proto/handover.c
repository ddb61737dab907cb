/*
 * handover.c - owns the data-key hand-over of one peer in the data plane
 * (handover.h): keysel's policy applied through the pipeline API, or, for
 * the renegotiation tests' peer, the OpenVPN 3 core's own hand-over.
 *
 * Timers: none of its own; handover_tick runs after every session run
 * (at least once a second) and asks the channel to hold its renegotiation
 * one second at a time.
 *
 * Thread: ctrl only.
 */
#include "../../core/log.h"
#include "../../io/pipeline.h"
#include "chan.h"
#include "handover.h"

#define HANDOVER_NS_PER_SEC	1000000000LL

void handover_init(struct handover *h, struct pipeline *pl, uint32_t peer,
		   unsigned int hand_window_s, unsigned int tran_window_s,
		   unsigned int ovpn3_reneg_sec)
{
	unsigned int hw = hand_window_s ? hand_window_s : 60;

	h->pl = pl;
	h->peer = peer;
	h->hold_max_ns = 3 * (int64_t)hw * HANDOVER_NS_PER_SEC;
	h->tran_ns = (int64_t)(tran_window_s ? tran_window_s : 3600) * HANDOVER_NS_PER_SEC;
	h->ovpn3 = ovpn3_reneg_sec > 0;
	h->become_primary_ns = (int64_t)MIN(hw, ovpn3_reneg_sec / 2) * HANDOVER_NS_PER_SEC;
	handover_reset(h);
}

void handover_reset(struct handover *h)
{
	keysel_reset(&h->ks);
	h->has_tx = false;
	h->holding = false;
	h->o3_secondary = h->o3_old = h->o3_seen_nxt = -1;
	h->o3_promote_ns = 0;
}

static void handover_set_tx(struct handover *h, uint8_t key_id, const char *tag)
{
	if (h->has_tx && h->tx == key_id)
		return;
	pipeline_key_set_tx(h->pl, h->peer, key_id);
	if (h->has_tx)
		log_info("%sTLS: data channel key_id %u now used for sending", tag, key_id);
	h->tx = key_id;
	h->has_tx = true;
}

static void handover_retire(struct handover *h, uint8_t key_id, const char *tag)
{
	pipeline_key_retire(h->pl, h->peer, key_id);
	keysel_remove(&h->ks, key_id);
	log_info("%sTLS: data channel key_id %u retired", tag, key_id);
}

void handover_install(struct handover *h, uint8_t key_id, int64_t now_ns)
{
	keysel_install(&h->ks, key_id, now_ns);
	if (!h->has_tx) {
		handover_set_tx(h, key_id, "");
		return;
	}
	if (h->ovpn3) {
		/* A secondary that was never promoted is replaced by the newer one. */
		if (h->o3_secondary >= 0 && h->o3_secondary != key_id)
			handover_retire(h, (uint8_t)h->o3_secondary, "");
		h->o3_secondary = key_id;
		h->o3_promote_ns = now_ns + h->become_primary_ns;
		return;
	}
	/* keysel decides in handover_tick; the peer may already be on it. */
}

/* The test peer: the OpenVPN 3 core's primary/secondary (ProtoContext). */
static void handover_tick_ovpn3(struct handover *h, struct chan *ch, int64_t now_ns)
{
	/* The peer's soft reset: new_secondary_key() drops the secondary slot. */
	if (ch->nxt && ch->nxt->key_id != h->o3_seen_nxt) {
		h->o3_seen_nxt = ch->nxt->key_id;
		if (h->o3_secondary >= 0) {
			handover_retire(h, (uint8_t)h->o3_secondary, "");
			h->o3_secondary = -1;
		}
		if (h->o3_old >= 0) {
			handover_retire(h, (uint8_t)h->o3_old, "");
			h->o3_old = -1;
		}
	}
	if (h->o3_secondary >= 0 && now_ns >= h->o3_promote_ns) {
		h->o3_old = h->tx;
		handover_set_tx(h, (uint8_t)h->o3_secondary, "");
		h->o3_secondary = -1;
	}
}

void handover_tick(struct handover *h, struct chan *ch, int64_t now_ns, const char *tag)
{
	struct pipeline_peer_stats st;
	unsigned int gone;
	int peer_key;

	if (!h->has_tx || !pipeline_peer_stats(h->pl, h->peer, &st))
		return;
	if (h->ovpn3) {
		handover_tick_ovpn3(h, ch, now_ns);
		return;
	}
	handover_set_tx(h, keysel_tx(&h->ks, st.key_last_rx_ns, now_ns), tag);
	if (keysel_hold(&h->ks, st.key_last_rx_ns, now_ns, h->hold_max_ns)) {
		/* Logged once, and only when it delays a renegotiation that is due. */
		if (!h->holding && ch->reneg_ns && ch->pri && ch->pri->st == CHAN_KS_ACTIVE &&
		    now_ns >= ch->pri->active_ns + ch->reneg_ns) {
			peer_key = keysel_peer_key(&h->ks, st.key_last_rx_ns);
			log_info("%sTLS: next renegotiation waits: the peer still sends on "
				 "key_id %d, not yet on key_id %u", tag, peer_key, h->ks.newest);
			h->holding = true;
		}
		/* Renewed at least once a second; 3 s leaves room for a late tick. */
		chan_reneg_hold(ch, now_ns + 3 * HANDOVER_NS_PER_SEC);
	} else {
		h->holding = false;
		chan_reneg_hold(ch, 0);
	}
	gone = keysel_retire(&h->ks, st.key_last_rx_ns, h->tx, now_ns, h->tran_ns);
	for (uint8_t k = 0; gone; k++, gone >>= 1)
		if (gone & 1) {
			pipeline_key_retire(h->pl, h->peer, k);
			log_info("%sTLS: data channel key_id %u retired", tag, k);
		}
}
