/*
 * send.c - the outbound stage ops (WireGuard's send.c): what tun_rx does
 * with a burst of packets read from the TUN, injected by ctrl (keepalive
 * pings) or handed back by tun_tx (client-to-client) before an encrypt
 * worker seals them: pick the peer, its send key and packet-id, clamp the
 * TCP MSS, add the compression framing and name the destination.
 *
 * Thread: tun_rx runs every function here (@ctx: its struct pipe_lane),
 * once per burst, inside its epoch section (the peers, key slots, endpoints
 * and routes it reads are retired through the epoch). pipeline_create installs one of the two variants:
 *
 *   send_tun_rx_client  client and test modes: everything goes to peer 0,
 *                       so its key slot, framing and endpoint are looked up
 *                       once per burst (STYLE.md §4.3).
 *   send_tun_rx_server  server: each packet's peer comes from the routing
 *                       table (its destination address); an injected ping
 *                       names its peer. Lookups are reused while consecutive
 *                       packets go to the same peer.
 *                       With lanes (io.h), a packet for a peer of another
 *                       lane is only marked PKT_F_LANE: tun_rx hands it to
 *                       that lane, whose op numbers it.
 *
 * Verdicts: DROP_NO_ROUTE (no peer), DROP_NO_KEY (the peer has no send key
 * yet), DROP_PID_EXHAUSTED (the key is worn out: renegotiation is overdue),
 * or comp_frame's. tun_rx counts and frees what an op refused.
 */
#include "../core/mss.h"
#include "../crypto/comp.h"
#include "pipeline_int.h"

/* What every packet of one burst shares. */
struct send_burst {
	uint16_t mss_v4;
	uint16_t mss_v6;
	bool has_mss;
	uint8_t *scratch;		/* tun_rx's compression scratch */
};

static inline void send_burst_init(struct send_burst *b, struct pipe_lane *ln)
{
	struct pipeline *pl = ln->pl;

	b->mss_v4 = __atomic_load_n(&pl->cfg.mss_v4, __ATOMIC_RELAXED);
	b->mss_v6 = __atomic_load_n(&pl->cfg.mss_v6, __ATOMIC_RELAXED);
	b->has_mss = b->mss_v4 || b->mss_v6;
	b->scratch = ln->tun_rx_scratch;
}

/*
 * One packet whose peer and key are known: clamp, frame, number, address.
 * Sets q->verdict on failure. Borrows @q.
 */
static inline void send_prepare(const struct send_burst *b, struct pkt *q, struct dc_keyslot *ks,
				uint8_t comp, struct peer *pr, const struct peer_endpoint *rem)
{
	/* Before the framing; injected pings are not IP and stay as they are. */
	if (b->has_mss)
		(void)mss_clamp(q->data, q->len, b->mss_v4, b->mss_v6);
	if (unlikely(comp)) {
		q->verdict = comp_frame(comp, q, b->scratch, &pr->comp_ac);
		if (q->verdict != PKT_OK)
			return;
	}
	if (unlikely(!dc_assign_pid(ks, &q->pid))) {
		q->verdict = DROP_PID_EXHAUSTED;
		return;
	}
	/* NULL: the link is connected to the peer (client), no address needed. */
	if (rem) {
		q->addr = rem->sa;
		q->addr_len = rem->len;
	}
}

/* Marks every live packet of the burst with @verdict. */
static void send_refuse_all(struct pkt **p, unsigned int n, uint8_t verdict)
{
	for (unsigned int i = 0; i < n; i++)
		if (p[i]->verdict == PKT_OK)
			p[i]->verdict = verdict;
}

void send_tun_rx_client(void *ctx, struct pkt **p, unsigned int n, struct stats *st)
{
	struct pipe_lane *ln = ctx;
	struct pipeline *pl = ln->pl;
	struct peer *pr = peer_lookup(&pl->peers, 0);
	const struct peer_endpoint *rem;
	struct dc_keyslot *ks;
	struct send_burst b;
	uint8_t kid, comp;

	(void)st;
	if (unlikely(!pr)) {
		send_refuse_all(p, n, DROP_NO_ROUTE);
		return;
	}
	kid = peer_tx_key_id(pr);
	ks = peer_key(pr, kid);
	if (unlikely(!ks)) {
		send_refuse_all(p, n, DROP_NO_KEY);
		return;
	}
	comp = peer_comp(pr);
	rem = peer_remote(pr);
	send_burst_init(&b, ln);
	for (unsigned int i = 0; i < n; i++) {
		struct pkt *q = p[i];

		if (q->verdict != PKT_OK)
			continue;
		/* The server stamps its own peer-id on what it sends us: one peer either way. */
		q->peer_id = 0;
		q->key_id = kid;
		send_prepare(&b, q, ks, comp, pr, rem);
	}
}

void send_tun_rx_server(void *ctx, struct pkt **p, unsigned int n, struct stats *st)
{
	struct pipe_lane *ln = ctx;
	struct pipeline *pl = ln->pl;
	const struct lpm *routes = lpm_snapshot(&pl->routes);
	/* LPM_NONE (no route) is also "no lookup yet": both mean pr == NULL. */
	uint32_t last_id = LPM_NONE;
	const struct peer_endpoint *rem = NULL;
	struct dc_keyslot *ks = NULL;
	struct peer *pr = NULL;
	uint8_t kid = 0, comp = 0;
	bool foreign = false;
	struct send_burst b;

	(void)st;
	send_burst_init(&b, ln);
	for (unsigned int i = 0; i < n; i++) {
		struct pkt *q = p[i];

		if (q->verdict != PKT_OK)
			continue;
		/* A ping from ctrl names its peer; anything else goes where its destination is. */
		if (!(q->flags & PKT_F_PING))
			q->peer_id = pipe_route_lookup(routes, q, false);
		if (q->peer_id != last_id) {
			last_id = q->peer_id;
			foreign = pipe_lane_of(pl, q->peer_id) != ln->index;
			pr = peer_lookup(&pl->peers, q->peer_id);
			if (pr && !foreign) {
				kid = peer_tx_key_id(pr);
				ks = peer_key(pr, kid);
				comp = peer_comp(pr);
				rem = peer_remote(pr);
			}
		}
		if (unlikely(!pr)) {
			q->verdict = DROP_NO_ROUTE;
			continue;
		}
		/* Another lane's peer: its tun_rx numbers it (handed over once only). */
		if (unlikely(foreign)) {
			if (q->flags & PKT_F_LANED)
				q->verdict = DROP_NO_ROUTE;
			else
				q->flags |= PKT_F_LANE;
			continue;
		}
		if (unlikely(!ks)) {
			q->verdict = DROP_NO_KEY;
			continue;
		}
		q->key_id = kid;
		send_prepare(&b, q, ks, comp, pr, rem);
	}
}
