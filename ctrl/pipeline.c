/*
 * pipeline.c - owns the data plane's threads, pools, rings and peer table,
 * and the stage ops io/ calls back into (l3fwd's "decide once": chosen here
 * at wiring time, stored as function pointers in each loop).
 *
 * Threads: every pipeline_* function runs on ctrl (the main thread). The
 * stage ops run on the data thread that calls them and say so.
 *
 * Wiring (W = cfg.workers):
 *   tun_rx --enc_in[i]--> enc[i] --enc_out[i]--> udp_tx --> UDP
 *   UDP --> udp_rx --dec_in[i]--> dec[i] --dec_out[i]--> tun_tx --> TUN
 *   udp_rx --udp_to_ctrl--> ctrl --ctrl_to_udp--> udp_tx
 *   ctrl --ctrl_to_tun_rx--> tun_rx (pings), tun_tx --tun_tx_to_ctrl--> ctrl (OCC)
 * Every thread (and ctrl) may free packets of every pool: each gets a
 * return ring on each pool, so no packet is ever stranded.
 *
 * Teardown: pipeline_stop asks each thread to stop, kicks its doorbell and
 * joins it; only then does pipeline_destroy free keys (epoch barrier first),
 * peers, rings and pools, so no data thread can hold a freed pointer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/epoch.h"
#include "../core/log.h"
#include "../core/mss.h"
#include "pipeline.h"

/*
 * The client an IP packet's destination (or, @src, source) address is
 * routed to, or LPM_NONE: not IPv4/IPv6, too short, or no route. Data
 * threads, inside their epoch section (@t is their snapshot).
 */
static uint32_t route_lookup(const struct lpm *t, const struct pkt *q, bool src)
{
	const uint8_t *ip = q->data;

	if (q->len >= 20 && (ip[0] >> 4) == 4) {
		uint32_t a;

		memcpy(&a, ip + (src ? 12 : 16), 4);
		return lpm_lookup4(t, a);
	}
	if (q->len >= 40 && (ip[0] >> 4) == 6)
		return lpm_lookup6(t, ip + (src ? 8 : 24));
	return LPM_NONE;
}

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
 * tun_tx, server: an authenticated packet of @pr came from an endpoint that
 * is not its current one. Record it once (seqlock, see peer.h) and wake ctrl,
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
	__atomic_store_n(&pr->float_seq, seq + 2, __ATOMIC_RELEASE);
	__atomic_fetch_add(&pl->float_events, 1, __ATOMIC_RELEASE);
	doorbell_ring(&pl->ctrl_db);
}

/*
 * tun_tx, server, for an accepted IP packet of @pr: the source must be one
 * of @pr's routes (its pool address or an iroute), as a stock server checks;
 * a destination that is another client's goes back to tun_rx when
 * client-to-client is on, everything else to the TUN (the kernel decides).
 */
static void server_inner_route(struct pipeline *pl, const struct lpm *t, struct peer *pr,
			       struct pkt *q)
{
	uint32_t dst;

	if (unlikely(route_lookup(t, q, true) != pr->id)) {
		q->verdict = DROP_BAD_SRC;
		return;
	}
	if (!pl->cfg.client_to_client)
		return;
	dst = route_lookup(t, q, false);
	if (dst != LPM_NONE && dst != pr->id)
		q->flags |= PKT_F_FWD;
}

/* tun_rx op (tun_rx thread, inside its epoch section). */
static void stage_tun_rx_classify(void *ctx, struct pkt **p, unsigned int n, struct stats *st)
{
	struct pipeline *pl = ctx;
	const struct lpm *routes = pl->cfg.single_peer ? NULL : lpm_snapshot(&pl->routes);
	uint16_t mss_v4 = __atomic_load_n(&pl->cfg.mss_v4, __ATOMIC_RELAXED);
	uint16_t mss_v6 = __atomic_load_n(&pl->cfg.mss_v6, __ATOMIC_RELAXED);
	bool has_mss = mss_v4 || mss_v6;

	(void)st;
	for (unsigned int i = 0; i < n; i++) {
		struct pkt *q = p[i];
		const struct peer_endpoint *rem;
		struct peer *pr;
		struct dc_keyslot *ks;

		if (q->verdict != PKT_OK)
			continue;
		/* Client: everything goes to the server. Server: the destination's client. */
		if (pl->cfg.single_peer)
			q->peer_id = 0;
		else if (!(q->flags & PKT_F_PING))
			q->peer_id = route_lookup(routes, q, false);
		pr = peer_lookup(&pl->peers, q->peer_id);
		if (unlikely(!pr)) {
			q->verdict = DROP_NO_ROUTE;
			continue;
		}
		q->key_id = peer_tx_key_id(pr);
		ks = peer_key(pr, q->key_id);
		if (unlikely(!ks)) {
			q->verdict = DROP_NO_KEY;
			continue;
		}
		/* Before the framing; injected pings are not IP and stay as they are. */
		if (has_mss)
			(void)mss_clamp(q->data, q->len, mss_v4, mss_v6);
		if (unlikely(peer_comp(pr))) {
			q->verdict = comp_frame(peer_comp(pr), q, pl->tun_rx_scratch);
			if (q->verdict != PKT_OK)
				continue;
		}
		if (unlikely(!dc_assign_pid(ks, &q->pid))) {
			q->verdict = DROP_PID_EXHAUSTED;
			continue;
		}
		rem = peer_remote(pr);
		if (rem) {
			q->addr = rem->sa;
			q->addr_len = rem->len;
		}
	}
}

/* udp_rx op (udp_rx thread): validate once at ingress (STYLE.md §4.4). */
static uint8_t stage_udp_rx_classify(void *ctx, struct pkt *p, bool *is_control)
{
	struct pipeline *pl = ctx;
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
	if (pl->cfg.single_peer) {
		/* The server stamps our own peer-id on what it sends us; one peer either way. */
		p->peer_id = 0;
	} else if (p->peer_id == PEER_ID_NONE) {
		/* P_DATA_V1 to a server: lookup by address comes with the server issue. */
		return DROP_BAD_PEER;
	}
	pr = peer_lookup(&pl->peers, p->peer_id);
	if (unlikely(!pr))
		return DROP_BAD_PEER;
	if (unlikely(!peer_key(pr, p->key_id)))
		return DROP_NO_KEY;
	return PKT_OK;
}

static bool is_ping(const struct pkt *p)
{
	return p->len == PING_MAGIC_LEN && !memcmp(p->data, PING_MAGIC, PING_MAGIC_LEN);
}

static bool is_occ(const struct pkt *p)
{
	return p->len > OCC_MAGIC_LEN && !memcmp(p->data, OCC_MAGIC, OCC_MAGIC_LEN);
}

/* tun_tx op (tun_tx thread, inside its epoch section): replay, then in-band messages. */
static void stage_tun_tx_accept(void *ctx, struct pkt **p, unsigned int n, int64_t now_ns,
				struct stats *st)
{
	struct pipeline *pl = ctx;
	struct peer *last_peer = NULL;
	const struct lpm *routes = pl->cfg.single_peer ? NULL : lpm_snapshot(&pl->routes);
	uint16_t mss_v4 = __atomic_load_n(&pl->cfg.mss_v4, __ATOMIC_RELAXED);
	uint16_t mss_v6 = __atomic_load_n(&pl->cfg.mss_v6, __ATOMIC_RELAXED);
	bool has_mss = mss_v4 || mss_v6;

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
		/* Single writer: tun_tx. Which key the peer sends on (ctrl's hand-over). */
		__atomic_store_n(&pr->key_last_rx_ns[q->key_id & P_KEY_ID_MASK], now_ns,
				 __ATOMIC_RELAXED);
		if (pr != last_peer) {
			/* Single writer: tun_tx. Read by ctrl for keepalive and status. */
			__atomic_store_n(&pr->last_rx_ns, now_ns, __ATOMIC_RELAXED);
			last_peer = pr;
		}
		if (routes) {
			const struct peer_endpoint *rem = peer_remote(pr);

			if (unlikely(rem && !endpoint_equal(q, rem)))
				float_note(pl, pr, q);
		}
		/* Authenticated: liveness counts even if the framing below is bad. */
		if (unlikely(peer_comp(pr))) {
			q->verdict = comp_unframe(peer_comp(pr), q, pl->tun_tx_scratch);
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
		} else if (routes) {
			server_inner_route(pl, routes, pr, q);
		}
	}
}

static int make_ring(struct spsc **r, unsigned int slots, struct doorbell *db, const char *fmt,
		     unsigned int i)
{
	char name[24];

	snprintf(name, sizeof(name), fmt, i);
	return spsc_create(r, slots, db, name);
}

static int wire_threads(struct pipeline *pl)
{
	unsigned int w = pl->cfg.workers;
	int rc;

	rc = thread_init(&pl->tun_rx.thr, "sl-tun-rx", tun_rx_thread_main, &pl->tun_rx, -1);
	rc = rc ?: thread_init(&pl->udp_tx.thr, "sl-udp-tx", udp_tx_thread_main, &pl->udp_tx, -1);
	rc = rc ?: thread_init(&pl->udp_rx.thr, "sl-udp-rx", udp_rx_thread_main, &pl->udp_rx, -1);
	rc = rc ?: thread_init(&pl->tun_tx.thr, "sl-tun-tx", tun_tx_thread_main, &pl->tun_tx, -1);
	for (unsigned int i = 0; !rc && i < w; i++) {
		char name[24];

		snprintf(name, sizeof(name), "sl-enc%u", i);
		rc = thread_init(&pl->enc[i].thr, name, encrypt_thread_main, &pl->enc[i], -1);
		snprintf(name, sizeof(name), "sl-dec%u", i);
		rc = rc ?: thread_init(&pl->dec[i].thr, name, decrypt_thread_main, &pl->dec[i], -1);
	}
	return rc;
}

static int wire_returners(struct pipeline *pl)
{
	struct pool *pools[] = { pl->tun_pool, pl->udp_pool, pl->ctrl_pool };
	int tids[4 + 2 * IO_WORKERS_MAX + 1];
	unsigned int nt = 0;
	int rc = 0;

	tids[nt++] = 0;	/* ctrl */
	tids[nt++] = pl->tun_rx.thr.tid;
	tids[nt++] = pl->udp_tx.thr.tid;
	tids[nt++] = pl->udp_rx.thr.tid;
	tids[nt++] = pl->tun_tx.thr.tid;
	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		tids[nt++] = pl->enc[i].thr.tid;
		tids[nt++] = pl->dec[i].thr.tid;
	}
	for (unsigned int p = 0; p < ARRAY_SIZE(pools); p++)
		for (unsigned int t = 0; !rc && t < nt; t++)
			rc = pool_add_returner(pools[p], tids[t]);
	return rc;
}

static int wire_rings(struct pipeline *pl)
{
	unsigned int w = pl->cfg.workers;
	int rc = 0;

	for (unsigned int i = 0; !rc && i < w; i++) {
		struct crypt_thread *e = &pl->enc[i], *d = &pl->dec[i];

		rc = doorbell_init(&e->db);
		rc = rc ?: doorbell_init(&d->db);
		rc = rc ?: make_ring(&e->in, PIPE_RING_SLOTS, &e->db, "enc_in%u", i);
		rc = rc ?: make_ring(&e->out, PIPE_RING_SLOTS, &pl->udp_tx.db, "enc_out%u", i);
		rc = rc ?: make_ring(&d->in, PIPE_RING_SLOTS, &d->db, "dec_in%u", i);
		rc = rc ?: make_ring(&d->out, PIPE_RING_SLOTS, &pl->tun_tx.db, "dec_out%u", i);
		if (rc)
			break;
		e->index = d->index = i;
		e->is_encrypt = true;
		e->peers = d->peers = &pl->peers;
		epoch_reader_register(&e->epoch);
		epoch_reader_register(&d->epoch);
		pl->tun_rx.out[i] = e->in;
		pl->udp_tx.in[i] = e->out;
		pl->udp_rx.out[i] = d->in;
		pl->tun_tx.in[i] = d->out;
	}
	if (rc)
		return rc;
	pl->tun_rx.nout = pl->udp_tx.nin = pl->udp_rx.nout = pl->tun_tx.nin = w;
	rc = make_ring(&pl->ctrl_to_udp, PIPE_CTRL_RING_SLOTS, &pl->udp_tx.db, "ctrl_udp", 0);
	rc = rc ?: make_ring(&pl->udp_to_ctrl, PIPE_RING_SLOTS, &pl->ctrl_db, "udp_ctrl", 0);
	rc = rc ?: make_ring(&pl->ctrl_to_tun_rx, PIPE_CTRL_RING_SLOTS, &pl->tun_rx.db, "ctrl_tun", 0);
	rc = rc ?: make_ring(&pl->tun_tx_to_ctrl, PIPE_CTRL_RING_SLOTS, &pl->ctrl_db, "tun_ctrl", 0);
	if (!rc && pl->cfg.client_to_client && !pl->cfg.single_peer)
		rc = make_ring(&pl->tun_tx_to_tun_rx, PIPE_RING_SLOTS, &pl->tun_rx.db, "c2c", 0);
	if (rc)
		return rc;
	pl->tun_rx.fwd = pl->tun_tx_to_tun_rx;
	pl->tun_tx.fwd_out = pl->tun_tx_to_tun_rx;
	pl->udp_tx.ctrl_in = pl->ctrl_to_udp;
	pl->udp_rx.ctrl_out = pl->udp_to_ctrl;
	pl->tun_rx.inject = pl->ctrl_to_tun_rx;
	pl->tun_tx.ctrl_out = pl->tun_tx_to_ctrl;
	return 0;
}

int pipeline_create(struct pipeline **out, const struct pipeline_cfg *cfg)
{
	struct pipeline *pl;
	int rc;

	if (cfg->workers < 1 || cfg->workers > IO_WORKERS_MAX || cfg->max_peers < 1)
		return -EINVAL;
	if (posix_memalign((void **)&pl, CACHELINE, sizeof(*pl)))
		return -ENOMEM;
	memset(pl, 0, sizeof(*pl));
	pl->cfg = *cfg;
	pl->ctrl_db.efd = -1;
	pl->peers.size = cfg->max_peers;
	pl->peers.slot = calloc(cfg->max_peers, sizeof(*pl->peers.slot));
	pl->tun_rx_scratch = malloc(COMP_SCRATCH_LEN);
	pl->tun_tx_scratch = malloc(COMP_SCRATCH_LEN);
	if (!pl->peers.slot || !pl->tun_rx_scratch || !pl->tun_tx_scratch) {
		rc = -ENOMEM;
		goto err;
	}
	rc = pl->cfg.single_peer ? 0 : lpm_root_init(&pl->routes, cfg->max_routes ?: 4 * cfg->max_peers);
	if (rc)
		goto err;
	rc = doorbell_init(&pl->ctrl_db);
	rc = rc ?: doorbell_init(&pl->tun_rx.db);
	rc = rc ?: doorbell_init(&pl->udp_tx.db);
	rc = rc ?: doorbell_init(&pl->udp_rx.db);
	rc = rc ?: doorbell_init(&pl->tun_tx.db);
	rc = rc ?: wire_threads(pl);
	if (rc)
		goto err;
	rc = pool_create(&pl->tun_pool, PIPE_POOL_PKTS, PKT_CLASS_MTU, pl->tun_rx.thr.tid);
	rc = rc ?: pool_create(&pl->udp_pool, PIPE_POOL_PKTS, PKT_CLASS_MTU, pl->udp_rx.thr.tid);
	rc = rc ?: pool_create(&pl->ctrl_pool, 1024, PKT_CLASS_MTU, 0);
	rc = rc ?: wire_returners(pl);
	rc = rc ?: wire_rings(pl);
	if (rc)
		goto err;
	pl->tun_rx.fd = pl->tun_tx.fd = cfg->tun_fd;
	pl->udp_rx.fd = pl->udp_tx.fd = cfg->udp_fd;
	pl->tun_rx.pool = pl->tun_pool;
	pl->udp_rx.pool = pl->udp_pool;
	pl->tun_rx.classify = stage_tun_rx_classify;
	pl->udp_rx.classify = stage_udp_rx_classify;
	pl->tun_tx.accept = stage_tun_tx_accept;
	pl->tun_rx.ctx = pl->udp_rx.ctx = pl->tun_tx.ctx = pl;
	pl->udp_tx.peers = &pl->peers;
	epoch_reader_register(&pl->tun_rx.epoch);
	epoch_reader_register(&pl->tun_tx.epoch);
	epoch_reader_register(&pl->udp_tx.epoch);
	/* Server: udp_rx's op reads peers that ctrl deletes and retires. */
	if (!cfg->single_peer)
		epoch_reader_register(&pl->udp_rx.epoch);
	*out = pl;
	return 0;
err:
	pipeline_destroy(pl);
	return rc;
}

static struct thread *all_threads(struct pipeline *pl, unsigned int i)
{
	unsigned int w = pl->cfg.workers;

	/* Start order: consumers before producers, so nothing waits on a missing reader. */
	switch (i) {
	case 0: return &pl->tun_tx.thr;
	case 1: return &pl->udp_tx.thr;
	default: break;
	}
	i -= 2;
	if (i < w)
		return &pl->dec[i].thr;
	i -= w;
	if (i < w)
		return &pl->enc[i].thr;
	i -= w;
	if (i == 0)
		return &pl->udp_rx.thr;
	if (i == 1)
		return &pl->tun_rx.thr;
	return NULL;
}

static struct doorbell *thread_doorbell(struct pipeline *pl, struct thread *t)
{
	if (t == &pl->tun_rx.thr)
		return &pl->tun_rx.db;
	if (t == &pl->udp_tx.thr)
		return &pl->udp_tx.db;
	if (t == &pl->udp_rx.thr)
		return &pl->udp_rx.db;
	if (t == &pl->tun_tx.thr)
		return &pl->tun_tx.db;
	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		if (t == &pl->enc[i].thr)
			return &pl->enc[i].db;
		if (t == &pl->dec[i].thr)
			return &pl->dec[i].db;
	}
	return NULL;
}

int pipeline_start(struct pipeline *pl)
{
	struct thread *t;
	int rc;

	for (unsigned int i = 0; (t = all_threads(pl, i)); i++) {
		rc = thread_start(t);
		if (rc) {
			pipeline_stop(pl);
			return rc;
		}
	}
	pl->started = true;
	return 0;
}

void pipeline_stop(struct pipeline *pl)
{
	struct thread *t;

	/* Producers first, so consumers drain what is already queued. */
	for (int i = 4 + 2 * (int)pl->cfg.workers - 1; i >= 0; i--) {
		t = all_threads(pl, (unsigned int)i);
		if (!t || !t->started)
			continue;
		thread_request_stop(t);
		doorbell_kick(thread_doorbell(pl, t));
		thread_join(t);
	}
	pl->started = false;
}

static void peer_free(struct peer *pr)
{
	for (unsigned int k = 0; k < KEY_ID_COUNT; k++)
		if (pr->keys[k])
			dc_keyslot_free(pr->keys[k]);
	free(pr->remote);
	free(pr);
}

static void keyslot_free_cb(void *obj)
{
	dc_keyslot_free(obj);
}

static void free_ring_pkts(struct spsc *r)
{
	struct pkt *p[BURST_MAX];
	unsigned int n;

	if (!r)
		return;
	while ((n = spsc_dequeue_burst(r, p, BURST_MAX)))
		pkt_free_burst(p, n);
}

/*
 * With every thread joined, ctrl may stand in as the consumer of any ring
 * (the join and the later pthread_create order the accesses).
 */
int pipeline_set_udp_fd(struct pipeline *pl, int udp_fd)
{
	if (pl->started)
		return -EBUSY;
	for (unsigned int i = 0; i < pl->cfg.workers && i < IO_WORKERS_MAX; i++) {
		free_ring_pkts(pl->enc[i].in);
		free_ring_pkts(pl->enc[i].out);
		free_ring_pkts(pl->dec[i].in);
		free_ring_pkts(pl->dec[i].out);
	}
	free_ring_pkts(pl->ctrl_to_udp);
	free_ring_pkts(pl->udp_to_ctrl);
	free_ring_pkts(pl->ctrl_to_tun_rx);
	free_ring_pkts(pl->tun_tx_to_ctrl);
	free_ring_pkts(pl->tun_tx_to_tun_rx);
	pl->cfg.udp_fd = udp_fd;
	pl->udp_rx.fd = pl->udp_tx.fd = udp_fd;
	return 0;
}

void pipeline_destroy(struct pipeline *pl)
{
	unsigned int w;

	if (!pl)
		return;
	if (pl->started)
		pipeline_stop(pl);
	w = pl->cfg.workers <= IO_WORKERS_MAX ? pl->cfg.workers : 0;
	for (uint32_t id = 0; pl->peers.slot && id < pl->peers.size; id++)
		if (pl->peers.slot[id])
			peer_free(pl->peers.slot[id]);
	epoch_barrier();
	for (unsigned int i = 0; i < w; i++) {
		free_ring_pkts(pl->enc[i].in);
		free_ring_pkts(pl->enc[i].out);
		free_ring_pkts(pl->dec[i].in);
		free_ring_pkts(pl->dec[i].out);
		spsc_destroy(pl->enc[i].in);
		spsc_destroy(pl->enc[i].out);
		spsc_destroy(pl->dec[i].in);
		spsc_destroy(pl->dec[i].out);
		if (pl->enc[i].db.efd > 0)
			doorbell_destroy(&pl->enc[i].db);
		if (pl->dec[i].db.efd > 0)
			doorbell_destroy(&pl->dec[i].db);
	}
	free_ring_pkts(pl->ctrl_to_udp);
	free_ring_pkts(pl->udp_to_ctrl);
	free_ring_pkts(pl->ctrl_to_tun_rx);
	free_ring_pkts(pl->tun_tx_to_ctrl);
	free_ring_pkts(pl->tun_tx_to_tun_rx);
	spsc_destroy(pl->tun_tx_to_tun_rx);
	spsc_destroy(pl->ctrl_to_udp);
	spsc_destroy(pl->udp_to_ctrl);
	spsc_destroy(pl->ctrl_to_tun_rx);
	spsc_destroy(pl->tun_tx_to_ctrl);
	pool_destroy(pl->tun_pool);
	pool_destroy(pl->udp_pool);
	pool_destroy(pl->ctrl_pool);
	if (pl->ctrl_db.efd > 0)
		doorbell_destroy(&pl->ctrl_db);
	if (pl->tun_rx.db.efd > 0)
		doorbell_destroy(&pl->tun_rx.db);
	if (pl->udp_tx.db.efd > 0)
		doorbell_destroy(&pl->udp_tx.db);
	if (pl->udp_rx.db.efd > 0)
		doorbell_destroy(&pl->udp_rx.db);
	if (pl->tun_tx.db.efd > 0)
		doorbell_destroy(&pl->tun_tx.db);
	if (!pl->cfg.single_peer)
		lpm_root_destroy(&pl->routes);
	free(pl->peers.slot);
	free(pl->tun_rx_scratch);
	free(pl->tun_tx_scratch);
	free(pl);
}

int pipeline_peer_add(struct pipeline *pl, uint32_t id, uint32_t tx_peer_id,
		      const union sockaddr_any *remote, socklen_t remote_len)
{
	struct peer *pr;

	if (id >= pl->peers.size || pl->peers.slot[id])
		return -EINVAL;
	if (posix_memalign((void **)&pr, CACHELINE, sizeof(*pr)))
		return -ENOMEM;
	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->tx_peer_id = tx_peer_id;
	if (remote) {
		pr->remote = calloc(1, sizeof(*pr->remote));
		if (!pr->remote) {
			free(pr);
			return -ENOMEM;
		}
		memcpy(&pr->remote->sa, remote, remote_len);
		pr->remote->len = remote_len;
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
			       pl->cfg.replay_window, pl->cfg.replay_time, pl->cfg.replay_strict);
	if (rc)
		return rc;
	old = pr->keys[key_id];
	/* Release pairs with the acquire in peer_key(): the slot is complete when seen. */
	__atomic_store_n(&pr->keys[key_id], ks, __ATOMIC_RELEASE);
	if (old && epoch_retire(old, keyslot_free_cb)) {
		/* No memory to defer: wait for readers, then free now. */
		epoch_barrier();
		dc_keyslot_free(old);
	}
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

	if (pr)
		__atomic_store_n(&pr->tx_key_id, key_id & P_KEY_ID_MASK, __ATOMIC_RELEASE);
}

void pipeline_key_retire(struct pipeline *pl, uint32_t peer_id, uint8_t key_id)
{
	struct peer *pr = peer_lookup(&pl->peers, peer_id);
	struct dc_keyslot *old;

	if (!pr || key_id >= KEY_ID_COUNT || !pr->keys[key_id])
		return;
	old = pr->keys[key_id];
	__atomic_store_n(&pr->keys[key_id], NULL, __ATOMIC_RELEASE);
	if (epoch_retire(old, keyslot_free_cb)) {
		epoch_barrier();
		dc_keyslot_free(old);
	}
}

static void peer_free_cb(void *obj)
{
	peer_free(obj);
}

static void endpoint_free_cb(void *obj)
{
	free(obj);
}

void pipeline_peer_del(struct pipeline *pl, uint32_t id)
{
	struct peer *pr = peer_lookup(&pl->peers, id);

	if (!pr)
		return;
	peer_publish(&pl->peers, id, NULL);
	if (epoch_retire(pr, peer_free_cb)) {
		epoch_barrier();
		peer_free(pr);
	}
}

int pipeline_peer_set_remote(struct pipeline *pl, uint32_t id, const union sockaddr_any *sa,
			     socklen_t len)
{
	struct peer *pr = peer_lookup(&pl->peers, id);
	struct peer_endpoint *ep, *old;

	if (!pr || len > sizeof(ep->sa))
		return -EINVAL;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	memcpy(&ep->sa, sa, len);
	ep->len = len;
	old = pr->remote;
	__atomic_store_n(&pr->remote, ep, __ATOMIC_RELEASE);
	if (old && epoch_retire(old, endpoint_free_cb)) {
		epoch_barrier();
		free(old);
	}
	return 0;
}

bool pipeline_float_next(struct pipeline *pl, uint32_t *cursor, uint32_t *id,
			 struct peer_endpoint *ep)
{
	uint32_t ev = __atomic_load_n(&pl->float_events, __ATOMIC_ACQUIRE);

	if (ev == pl->float_seen || pl->cfg.single_peer)
		return false;
	for (; *cursor < pl->peers.size; (*cursor)++) {
		struct peer *pr = pl->peers.slot[*cursor];
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
	__atomic_store_n(&pl->cfg.mss_v4, mss_v4, __ATOMIC_RELAXED);
	__atomic_store_n(&pl->cfg.mss_v6, mss_v6, __ATOMIC_RELAXED);
}

int pipeline_send_ping(struct pipeline *pl, uint32_t peer_id)
{
	struct pkt *p = pool_get(pl->ctrl_pool);

	if (!p)
		return -ENOBUFS;
	memcpy(p->data, PING_MAGIC, PING_MAGIC_LEN);
	p->len = PING_MAGIC_LEN;
	p->peer_id = peer_id;
	p->flags = PKT_F_PING;
	if (spsc_enqueue_burst(pl->ctrl_to_tun_rx, &p, 1) != 1) {
		pkt_free(p);
		return -ENOBUFS;
	}
	return 0;
}

unsigned int pipeline_drain_ctrl(struct pipeline *pl, uint64_t *ctrl_count, uint64_t *inband_count)
{
	struct pkt *p[BURST_MAX];
	unsigned int n, total = 0;

	while ((n = spsc_dequeue_burst(pl->udp_to_ctrl, p, BURST_MAX))) {
		*ctrl_count += n;
		total += n;
		pkt_free_burst(p, n);
	}
	while ((n = spsc_dequeue_burst(pl->tun_tx_to_ctrl, p, BURST_MAX))) {
		*inband_count += n;
		total += n;
		pkt_free_burst(p, n);
	}
	return total;
}

void pipeline_write_stats(struct pipeline *pl, FILE *f)
{
	struct stats enc = { 0 }, dec = { 0 };

	stats_print(f, "tun_rx", &pl->tun_rx.thr.stats);
	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		stats_accumulate(&enc, &pl->enc[i].thr.stats);
		stats_accumulate(&dec, &pl->dec[i].thr.stats);
	}
	stats_print(f, "encrypt", &enc);
	stats_print(f, "udp_tx", &pl->udp_tx.thr.stats);
	stats_print(f, "udp_rx", &pl->udp_rx.thr.stats);
	stats_print(f, "decrypt", &dec);
	stats_print(f, "tun_tx", &pl->tun_tx.thr.stats);
	fprintf(f, "pool.tun.leaked=%lu\npool.udp.leaked=%lu\npool.ctrl.leaked=%lu\n",
		(unsigned long)pl->tun_pool->leaked, (unsigned long)pl->udp_pool->leaked,
		(unsigned long)pl->ctrl_pool->leaked);
}

bool pipeline_peer_stats(const struct pipeline *pl, uint32_t id, struct pipeline_peer_stats *out)
{
	const struct peer *pr = id < pl->peers.size ? pl->peers.slot[id] : NULL;

	if (!pr)
		return false;
	out->last_rx_ns = __atomic_load_n(&pr->last_rx_ns, __ATOMIC_RELAXED);
	out->rx_bytes = __atomic_load_n(&pr->rx_bytes, __ATOMIC_RELAXED);
	out->last_tx_ns = __atomic_load_n(&pr->last_tx_ns, __ATOMIC_RELAXED);
	out->tx_bytes = __atomic_load_n(&pr->tx_bytes, __ATOMIC_RELAXED);
	for (unsigned int k = 0; k < KEY_ID_COUNT; k++)
		out->key_last_rx_ns[k] = __atomic_load_n(&pr->key_last_rx_ns[k], __ATOMIC_RELAXED);
	return true;
}
