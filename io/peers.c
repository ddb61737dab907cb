/*
 * peers.c - owns the data plane's peer table, each peer's key slots and
 * endpoint, and the server's routing table: the part of io/pipeline.h ctrl
 * calls to add and remove peers, install, pick and retire keys, move a peer
 * (float), route to it, and read its liveness.
 *
 * Thread: ctrl only. Everything a data thread reads is published, never
 * mutated (STYLE.md §3): a new key slot, endpoint or peer is built here and
 * made visible with one release store; what it replaces is unpublished and
 * handed to the epoch, which frees it (on ctrl's timer or at the barrier)
 * once no data thread is inside a section that could still hold it. If the
 * epoch cannot take it (no memory), ctrl waits for the readers and frees it
 * at once. Single-field settings (compression framing, send key_id) are
 * plain atomic stores the data threads pick up at their next burst.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/epoch.h"
#include "pipeline_int.h"

static void peer_free(struct peer *pr)
{
	for (unsigned int k = 0; k < KEY_ID_COUNT; k++)
		if (pr->dc.keys[k])
			dc_keyslot_free(pr->dc.keys[k]);
	free(pr->remote);
	free(pr);
}

static void peer_free_cb(void *obj)
{
	peer_free(obj);
}

static void keyslot_free_cb(void *obj)
{
	dc_keyslot_free(obj);
}

static void endpoint_free_cb(void *obj)
{
	free(obj);
}

/* Hands @obj to the epoch; without memory for that, waits for the readers and frees now. */
static void retire(void *obj, void (*fn)(void *))
{
	if (epoch_retire(obj, fn)) {
		epoch_barrier();
		fn(obj);
	}
}

void peers_free_all(struct pipeline *pl)
{
	for (uint32_t id = 0; pl->peers.slot && id < pl->peers.size; id++) {
		struct peer *pr = peer_lookup(&pl->peers, id);

		if (pr)
			peer_free(pr);
		pl->peers.slot[id] = NULL;
	}
}

/*
 * An endpoint on link 0, the only one today: with more links (or a stream
 * link's connections) the caller would name them.
 */
static void endpoint_init(struct peer_endpoint *ep, const union sockaddr_any *sa, socklen_t len)
{
	memset(ep, 0, sizeof(*ep));
	if (sa)
		memcpy(&ep->sa, sa, len);
	ep->len = len;
	ep->link = 0;
	ep->conn = LINK_CONN_NONE;
}

int pipeline_peer_add(struct pipeline *pl, uint32_t id, uint32_t tx_peer_id,
		      const union sockaddr_any *remote, socklen_t remote_len)
{
	struct peer *pr;

	if (id >= pl->peers.size || pl->peers.slot[id])
		return -EINVAL;
	if (remote && remote_len > sizeof(pr->remote->sa))
		return -EINVAL;
	if (posix_memalign((void **)&pr, CACHELINE, sizeof(*pr)))
		return -ENOMEM;
	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->dc.tx_peer_id = tx_peer_id;
	endpoint_init(&pr->float_ep, NULL, 0);
	if (remote) {
		pr->remote = malloc(sizeof(*pr->remote));
		if (!pr->remote) {
			free(pr);
			return -ENOMEM;
		}
		endpoint_init(pr->remote, remote, remote_len);
	}
	peer_publish(&pl->peers, id, pr);
	return 0;
}

int pipeline_key_install(struct pipeline *pl, uint32_t peer_id, uint8_t key_id,
			 enum dc_cipher cipher, const uint8_t key2[KEY2_LEN])
{
	struct peer *pr = peer_lookup(&pl->peers, peer_id);
	struct dc_keyslot *ks, *old;
	int rc;

	if (!pr || key_id >= KEY_ID_COUNT)
		return -EINVAL;
	rc = dc_keyslot_create(&ks, cipher, key2, pl->cfg.is_server, key_id, pl->cfg.workers,
			       pl->cfg.replay_window, pl->cfg.replay_time,
			       pl->cfg.replay_strict || pl->links[0].link->is_stream);
	if (rc)
		return rc;
	old = pr->dc.keys[key_id];
	/* Release pairs with the acquire in dc_peer_key(): the slot is complete when seen. */
	__atomic_store_n(&pr->dc.keys[key_id], ks, __ATOMIC_RELEASE);
	/* After the store: see peer.h, key_install_ns. */
	pr->key_install_ns[key_id] = clock_mono_ns();
	if (old)
		retire(old, keyslot_free_cb);
	return 0;
}

void pipeline_peer_set_comp(struct pipeline *pl, uint32_t peer_id, uint8_t comp)
{
	struct peer *pr = peer_lookup(&pl->peers, peer_id);

	if (pr)
		__atomic_store_n(&pr->comp, comp, __ATOMIC_RELAXED);
}

void pipeline_key_set_tx(struct pipeline *pl, uint32_t peer_id, uint8_t key_id)
{
	struct peer *pr = peer_lookup(&pl->peers, peer_id);

	/* Release pairs with the acquire in peer_tx_key_id(). */
	if (pr)
		__atomic_store_n(&pr->tx_key_id, key_id & P_KEY_ID_MASK, __ATOMIC_RELEASE);
}

void pipeline_key_retire(struct pipeline *pl, uint32_t peer_id, uint8_t key_id)
{
	struct peer *pr = peer_lookup(&pl->peers, peer_id);
	struct dc_keyslot *old;

	if (!pr || key_id >= KEY_ID_COUNT || !pr->dc.keys[key_id])
		return;
	old = pr->dc.keys[key_id];
	__atomic_store_n(&pr->dc.keys[key_id], NULL, __ATOMIC_RELEASE);
	retire(old, keyslot_free_cb);
}

void pipeline_peer_del(struct pipeline *pl, uint32_t id)
{
	struct peer *pr = peer_lookup(&pl->peers, id);

	if (!pr)
		return;
	peer_publish(&pl->peers, id, NULL);
	retire(pr, peer_free_cb);
}

int pipeline_peer_set_remote(struct pipeline *pl, uint32_t id, const union sockaddr_any *sa,
			     socklen_t len)
{
	struct peer *pr = peer_lookup(&pl->peers, id);
	struct peer_endpoint *ep, *old;

	if (!pr || len > sizeof(ep->sa))
		return -EINVAL;
	ep = malloc(sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	endpoint_init(ep, sa, len);
	old = pr->remote;
	/* Release pairs with the acquire in peer_remote(). */
	__atomic_store_n(&pr->remote, ep, __ATOMIC_RELEASE);
	if (old)
		retire(old, endpoint_free_cb);
	return 0;
}

bool pipeline_float_next(struct pipeline *pl, uint32_t *cursor, uint32_t *id,
			 struct peer_endpoint *ep)
{
	/* Acquire pairs with tun_tx's release in float_note() (receive.c). */
	uint32_t ev = __atomic_load_n(&pl->float_events, __ATOMIC_ACQUIRE);

	if (ev == pl->float_seen || pl->cfg.single_peer)
		return false;
	for (; *cursor < pl->peers.size; (*cursor)++) {
		struct peer *pr = peer_lookup(&pl->peers, *cursor);
		uint32_t seq, again;

		if (!pr)
			continue;
		seq = __atomic_load_n(&pr->float_seq, __ATOMIC_ACQUIRE);
		if (seq == pr->float_done || (seq & 1))
			continue;
		memcpy(ep, &pr->float_ep, sizeof(*ep));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		again = __atomic_load_n(&pr->float_seq, __ATOMIC_RELAXED);
		if (again != seq)
			continue;	/* tun_tx is writing a newer one: it bumps float_events again */
		pr->float_done = seq;
		*id = (*cursor)++;
		return true;
	}
	pl->float_seen = ev;
	*cursor = 0;
	return false;
}

uint32_t pipeline_peer_tx_peer_id(const struct pipeline *pl, uint32_t id)
{
	const struct peer *pr = peer_lookup(&pl->peers, id);

	return pr ? pr->dc.tx_peer_id : PEER_ID_NONE;
}

bool pipeline_peer_stats(const struct pipeline *pl, uint32_t id, struct pipeline_peer_stats *out)
{
	const struct peer *pr = peer_lookup(&pl->peers, id);

	memset(out, 0, sizeof(*out));
	if (!pr)
		return false;
	/* Relaxed: each has one writer (tun_tx or link_tx) and stands on its own. */
	out->last_rx_ns = __atomic_load_n(&pr->last_rx_ns, __ATOMIC_RELAXED);
	out->rx_bytes = __atomic_load_n(&pr->rx_bytes, __ATOMIC_RELAXED);
	out->last_tx_ns = __atomic_load_n(&pr->last_tx_ns, __ATOMIC_RELAXED);
	out->tx_bytes = __atomic_load_n(&pr->tx_bytes, __ATOMIC_RELAXED);
	out->rx_pkts = __atomic_load_n(&pr->rx_pkts, __ATOMIC_RELAXED);
	out->tx_pkts = __atomic_load_n(&pr->tx_pkts, __ATOMIC_RELAXED);
	for (unsigned int k = 0; k < KEY_ID_COUNT; k++) {
		int64_t t = __atomic_load_n(&pr->key_rx_ns[k], __ATOMIC_RELAXED);

		out->key_last_rx_ns[k] = t > pr->key_install_ns[k] ? t : 0;
	}
	return true;
}

uint32_t pipeline_max_peers(const struct pipeline *pl)
{
	return pl->peers.size;
}

int pipeline_route_add(struct pipeline *pl, int family, const void *addr, unsigned int plen,
		       uint32_t peer_id)
{
	uint32_t a4;

	if (pl->cfg.single_peer)
		return -EINVAL;
	if (family == AF_INET) {
		memcpy(&a4, addr, 4);
		return lpm_insert4(&pl->routes, a4, plen, peer_id);
	}
	return lpm_insert6(&pl->routes, addr, plen, peer_id);
}

void pipeline_route_del_peer(struct pipeline *pl, uint32_t peer_id)
{
	if (!pl->cfg.single_peer)
		(void)lpm_remove_peer(&pl->routes, peer_id);
}

int pipeline_routes_publish(struct pipeline *pl)
{
	return pl->cfg.single_peer ? 0 : lpm_publish(&pl->routes);
}

void pipeline_set_mss(struct pipeline *pl, uint16_t mss_v4, uint16_t mss_v6)
{
	/* Relaxed: each is read once per burst and stands on its own. */
	__atomic_store_n(&pl->cfg.mss_v4, mss_v4, __ATOMIC_RELAXED);
	__atomic_store_n(&pl->cfg.mss_v6, mss_v6, __ATOMIC_RELAXED);
}
