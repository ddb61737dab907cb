/*
 * receive.c - the inbound stage ops (WireGuard's receive.c): validating a
 * packet from the link at ingress, before a decrypt worker opens it, and accepting what
 * the workers opened, after: replay window, liveness, float, compression
 * framing, in-band messages and the server's inner routing.
 *
 * Threads and variants (pipeline_create installs one of each pair; the pair
 * shares one body, specialised at compile time, so no op branches on the
 * mode per packet):
 *
 *   receive_link_rx_client  link_rx, per packet. Every data packet is peer
 *   receive_link_rx_server  0's (client: the server stamps our own peer-id
 *                           on what it sends); the server indexes its table
 *                           by the P_DATA_V2 peer-id, inside link_rx's epoch
 *                           section (it deletes peers).
 *   receive_tun_tx_client   tun_tx, per burst, inside its epoch section.
 *   receive_tun_tx_server   The server also notes floats (an authenticated
 *                           packet from a new address) and checks and routes
 *                           the inner packet (client-to-client).
 *
 * tun_tx is the single writer of each peer's last_rx_ns, rx_bytes, rx_pkts and
 * key_rx_ns[] (relaxed stores of a value it alone computes: plain stores),
 * and of float_ep under its seqlock (peer.h); ctrl reads them. With lanes
 * (io.h) that is the tun_tx of the peer's lane: each op gets its struct
 * pipe_lane as @ctx, and link_rx refuses (DROP_LANE) a data packet whose
 * peer-id is another lane's, so no other lane's threads see it.
 */
#include "../core/mss.h"
#include "../crypto/comp.h"
#include "pipeline_int.h"

#define always_inline	inline __attribute__((always_inline))

/* ---- link_rx: validate once at ingress (STYLE.md §4.4) ------------------- */

static always_inline uint8_t receive_classify(struct pipe_lane *ln, struct pkt *p,
					      bool *is_control, const bool is_server)
{
	struct pipeline *pl = ln->pl;
	struct peer *pr;
	uint8_t op, v;

	*is_control = false;
	if (unlikely(p->len < 1))
		return DROP_SHORT;
	op = proto_opcode(p->data[0]);
	if (!proto_is_data(op)) {
		if (proto_is_control(op)) {
			*is_control = true;
			p->flags |= PKT_F_CONTROL;
			return PKT_OK;
		}
		return DROP_BAD_OPCODE;
	}
	v = dc_classify(p);
	if (v != PKT_OK)
		return v;
	if (!is_server) {
		/* The server stamps our own peer-id on what it sends us; one peer either way. */
		p->peer_id = 0;
	} else if (p->peer_id == PEER_ID_NONE) {
		/* P_DATA_V1 to a server: a lookup by address would be needed; stock clients send V2. */
		return DROP_BAD_PEER;
	} else if (unlikely(pipe_lane_of(pl, p->peer_id) != ln->index)) {
		/*
		 * Steered here against the socket's program (udp_reuseport_steer):
		 * only a GRO batch that mixes peer-ids does that. Another lane
		 * owns the peer's replay window.
		 */
		return DROP_LANE;
	}
	pr = peer_lookup(&pl->peers, p->peer_id);
	if (unlikely(!pr))
		return DROP_BAD_PEER;
	if (unlikely(!peer_key(pr, p->key_id)))
		return DROP_NO_KEY;
	return PKT_OK;
}

uint8_t receive_link_rx_client(void *ctx, struct pkt *p, bool *is_control)
{
	return receive_classify(ctx, p, is_control, false);
}

uint8_t receive_link_rx_server(void *ctx, struct pkt *p, bool *is_control)
{
	return receive_classify(ctx, p, is_control, true);
}

/* ---- tun_tx: accept what the decrypt workers opened ---------------------- */

static bool endpoint_equal(const struct pkt *q, const struct peer_endpoint *ep)
{
	const union sockaddr_any *a = &q->addr, *b = &ep->sa;

	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
	return false;
}

/*
 * Server: an authenticated packet of @pr came from an endpoint that is not
 * its current one. Record it once (seqlock, see peer.h) and wake ctrl,
 * which moves the peer there.
 */
static void float_note(struct pipeline *pl, struct peer *pr, const struct pkt *q)
{
	uint32_t seq = pr->float_seq;

	if (q->addr_len > sizeof(pr->float_ep.sa) || endpoint_equal(q, &pr->float_ep))
		return;
	__atomic_store_n(&pr->float_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&pr->float_ep.sa, &q->addr, q->addr_len);
	pr->float_ep.len = q->addr_len;
	/* Release pairs with the acquire loads in pipeline_float_next(). */
	__atomic_store_n(&pr->float_seq, seq + 2, __ATOMIC_RELEASE);
	__atomic_fetch_add(&pl->float_events, 1, __ATOMIC_RELEASE);
	doorbell_ring(&pl->ctrl_db);
}

/*
 * Server, for an accepted IP packet of @pr: the source must be one of @pr's
 * routes (its pool address or an iroute), as a stock server checks; a
 * destination that is another client's goes back to tun_rx when
 * client-to-client is on, everything else to the TUN (the kernel decides).
 */
static void server_inner_route(struct pipeline *pl, const struct lpm *t, struct peer *pr,
			       struct pkt *q)
{
	uint32_t dst;

	if (unlikely(pipe_route_lookup(t, q, true) != pr->id)) {
		q->verdict = DROP_BAD_SRC;
		return;
	}
	if (!pl->cfg.client_to_client)
		return;
	dst = pipe_route_lookup(t, q, false);
	if (dst != LPM_NONE && dst != pr->id)
		q->flags |= PKT_F_FWD;
}

static bool is_ping(const struct pkt *p)
{
	return p->len == PING_MAGIC_LEN && !memcmp(p->data, PING_MAGIC, PING_MAGIC_LEN);
}

static bool is_occ(const struct pkt *p)
{
	return p->len > OCC_MAGIC_LEN && !memcmp(p->data, OCC_MAGIC, OCC_MAGIC_LEN);
}

/* Replay window, liveness, float, framing, then in-band messages and inner routing. */
static always_inline void receive_accept(struct pipe_lane *ln, struct pkt **p, unsigned int n,
					 int64_t now_ns, struct stats *st, const bool is_server)
{
	struct pipeline *pl = ln->pl;
	const struct lpm *routes = is_server ? lpm_snapshot(&pl->routes) : NULL;
	uint16_t mss_v4 = __atomic_load_n(&pl->cfg.mss_v4, __ATOMIC_RELAXED);
	uint16_t mss_v6 = __atomic_load_n(&pl->cfg.mss_v6, __ATOMIC_RELAXED);
	bool has_mss = mss_v4 || mss_v6;
	struct peer *last_peer = NULL;
	uint8_t last_kid = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct pkt *q = p[i];
		struct dc_keyslot *ks;
		struct peer *pr;

		if (q->verdict != PKT_OK)
			continue;
		pr = peer_lookup(&pl->peers, q->peer_id);
		ks = pr ? peer_key(pr, q->key_id) : NULL;
		/* The slot that opened the packet may have been replaced since. */
		if (unlikely(!ks || ks->gen != q->key_gen)) {
			q->verdict = DROP_NO_KEY;
			continue;
		}
		q->verdict = dc_replay_accept(ks, q->pid, now_ns);
		if (q->verdict != PKT_OK)
			continue;
		/* Single writer: tun_tx. Plaintext bytes, read by ctrl for the status file. */
		__atomic_store_n(&pr->rx_bytes, pr->rx_bytes + q->len, __ATOMIC_RELAXED);
		__atomic_store_n(&pr->rx_pkts, pr->rx_pkts + 1, __ATOMIC_RELAXED);
		if (pr != last_peer || q->key_id != last_kid) {
			/* Single writer: tun_tx. Read by ctrl (keepalive, status, key hand-over). */
			__atomic_store_n(&pr->last_rx_ns, now_ns, __ATOMIC_RELAXED);
			__atomic_store_n(&pr->key_rx_ns[q->key_id & P_KEY_ID_MASK], now_ns,
					 __ATOMIC_RELAXED);
			last_peer = pr;
			last_kid = q->key_id;
		}
		if (is_server) {
			const struct peer_endpoint *rem = peer_remote(pr);

			if (unlikely(rem && !endpoint_equal(q, rem)))
				float_note(pl, pr, q);
		}
		/* Authenticated: liveness counts even if the framing below is bad. */
		if (unlikely(peer_comp(pr))) {
			/* The decrypt side verified the bytes at data before the framing moved it. */
			q->flags &= (uint8_t)~PKT_F_CSUM_OK;
			q->verdict = comp_unframe(peer_comp(pr), q, ln->tun_tx_scratch);
			if (q->verdict != PKT_OK)
				continue;
		}
		/* Pings (0x2a...) and OCC (0x28...) are not IP: mss_clamp leaves them. */
		if (has_mss)
			(void)mss_clamp(q->data, q->len, mss_v4, mss_v6);
		if (unlikely(is_ping(q))) {
			STAT_INC(st->ping_pkts);
			q->verdict = DROP_INBAND;
		} else if (unlikely(is_occ(q))) {
			STAT_INC(st->occ_pkts);
			q->flags |= PKT_F_CONTROL;
		} else if (is_server) {
			server_inner_route(pl, routes, pr, q);
		}
	}
}

void receive_tun_tx_client(void *ctx, struct pkt **p, unsigned int n, int64_t now_ns,
			   struct stats *st)
{
	receive_accept(ctx, p, n, now_ns, st, false);
}

void receive_tun_tx_server(void *ctx, struct pkt **p, unsigned int n, int64_t now_ns,
			   struct stats *st)
{
	receive_accept(ctx, p, n, now_ns, st, true);
}
