/*
 * pipeline.c - owns the data plane's threads, pools, rings and links: builds
 * and wires them, starts and stops them, and carries ctrl's side of the
 * rings (control packets in and out, in-band messages, pings, the ctrl
 * doorbell). The peer table is peers.c's, the stage ops are send.c's and
 * receive.c's; which op variant each loop runs is decided here, once, at
 * wiring time.
 *
 * Threads: every function here runs on ctrl (the main thread).
 *
 * Wiring (W = cfg.workers; one link today, see PIPE_LINKS_MAX):
 *   TUN --> tun_rx --enc[i].in--> enc[i] --enc[i].out--> link_tx --> link
 *   link --> link_rx --dec[i].in--> dec[i] --dec[i].out--> tun_tx --> TUN
 *   link_rx --ctrl_out--> ctrl --ctrl_in--> link_tx      (per link)
 *   ctrl --ctrl_to_tun_rx--> tun_rx (pings), tun_tx --tun_tx_to_ctrl--> ctrl (OCC)
 *   tun_tx --tun_tx_to_tun_rx--> tun_rx (server with client-to-client)
 * Every thread (and ctrl) may free packets of every pool: each gets a
 * return ring on each pool, so no packet is ever stranded.
 *
 * Teardown: pipeline_stop asks each thread to stop, kicks its doorbell and
 * joins it, producers first; only then does pipeline_destroy free keys
 * (epoch barrier first), peers, rings, pools and links, so no data thread
 * can hold a freed pointer. pipeline_destroy also undoes a partial
 * pipeline_create (its error path).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/epoch.h"
#include "../crypto/comp.h"
#include "pipeline_int.h"

static int make_ring(struct spsc **r, unsigned int slots, struct doorbell *db, const char *fmt,
		     unsigned int i)
{
	char name[24];

	snprintf(name, sizeof(name), fmt, i);
	return spsc_create(r, slots, db, name);
}

/* Reserves a thread id for @t, and lists it (start order) with the doorbell that stops it. */
static int add_thread(struct pipeline *pl, struct thread *t, struct doorbell *db, const char *name,
		      void *(*fn)(void *), void *arg)
{
	int rc = thread_init(t, name, fn, arg, -1);

	if (rc)
		return rc;
	pl->thr[pl->nthr] = t;
	pl->thr_db[pl->nthr++] = db;
	return 0;
}

/* Start order: consumers before producers, so nothing waits on a missing reader. */
static int wire_threads(struct pipeline *pl)
{
	unsigned int w = pl->cfg.workers, i;
	char name[24];		/* thread_init keeps the first 15 characters */
	int rc;

	rc = add_thread(pl, &pl->tun_tx.lp.thr, &pl->tun_tx.lp.db, "sl-tun-tx",
			tun_tx_thread_main, &pl->tun_tx);
	for (i = 0; !rc && i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		snprintf(name, sizeof(name), "sl-%s-tx", pk->link->ops->name);
		rc = add_thread(pl, &pk->tx.lp.thr, &pk->tx.lp.db, name, link_tx_thread_main,
				&pk->tx);
	}
	for (i = 0; !rc && i < w; i++) {
		snprintf(name, sizeof(name), "sl-dec%u", i);
		rc = add_thread(pl, &pl->dec[i].thr, &pl->dec[i].db, name, decrypt_thread_main,
				&pl->dec[i]);
	}
	for (i = 0; !rc && i < w; i++) {
		snprintf(name, sizeof(name), "sl-enc%u", i);
		rc = add_thread(pl, &pl->enc[i].thr, &pl->enc[i].db, name, encrypt_thread_main,
				&pl->enc[i]);
	}
	for (i = 0; !rc && i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		snprintf(name, sizeof(name), "sl-%s-rx", pk->link->ops->name);
		rc = add_thread(pl, &pk->rx.lp.thr, &pk->rx.lp.db, name, link_rx_thread_main,
				&pk->rx);
	}
	return rc ?: add_thread(pl, &pl->tun_rx.lp.thr, &pl->tun_rx.lp.db, "sl-tun-rx",
				tun_rx_thread_main, &pl->tun_rx);
}

static int wire_pools(struct pipeline *pl)
{
	int rc;

	rc = pool_create(&pl->tun_pool, PIPE_POOL_PKTS, PKT_CLASS_MTU, pl->tun_rx.lp.thr.tid);
	rc = rc ?: pool_create(&pl->ctrl_pool, PIPE_CTRL_POOL_PKTS, PKT_CLASS_MTU, 0);
	if (!rc && (pl->cfg.tun_offload & TUN_OFF_VNET))
		rc = pool_create(&pl->tun_gso_pool, PIPE_GSO_POOL_PKTS, PKT_CLASS_GSO,
				 pl->tun_rx.lp.thr.tid);
	for (unsigned int i = 0; !rc && i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		rc = pool_create(&pk->pool, PIPE_POOL_PKTS, PKT_CLASS_MTU, pk->rx.lp.thr.tid);
		if (!rc && pk->link->rx_copies)
			rc = pool_create(&pk->buf_pool, PIPE_GSO_POOL_PKTS, PKT_CLASS_GSO,
					 pk->rx.lp.thr.tid);
		pk->link->rx_pool = pk->pool;
		pk->rx.pool = pk->buf_pool ? pk->buf_pool : pk->pool;
	}
	if (rc)
		return rc;
	pl->tun_rx.pool = pl->tun_pool;
	pl->tun_rx.gso_pool = pl->tun_gso_pool;
	/*
	 * Fixed buffers (uring.h): tun_rx reads into its own pools; tun_tx
	 * writes decrypted packets, which are the link pools' (decrypt works
	 * in place). ctrl's pings go through tun_rx, never to the TUN.
	 */
	pl->tun_rx.fixed_bufs = !pl->cfg.no_fixed_bufs;
	for (unsigned int i = 0; !pl->cfg.no_fixed_bufs && i < pl->nlinks && i < URING_BUFS_MAX; i++)
		pl->tun_tx.write_pools[i] = pl->links[i].pool;
	/* Every thread, and ctrl (thread id 0), returns packets to every pool. */
	for (unsigned int t = 0; !rc && t <= pl->nthr; t++) {
		int tid = t < pl->nthr ? pl->thr[t]->tid : 0;

		rc = pool_add_returner(pl->tun_pool, tid);
		rc = rc ?: pool_add_returner(pl->ctrl_pool, tid);
		if (!rc && pl->tun_gso_pool)
			rc = pool_add_returner(pl->tun_gso_pool, tid);
		for (unsigned int i = 0; !rc && i < pl->nlinks; i++) {
			rc = pool_add_returner(pl->links[i].pool, tid);
			if (!rc && pl->links[i].buf_pool)
				rc = pool_add_returner(pl->links[i].buf_pool, tid);
		}
	}
	return rc;
}

/*
 * Slots of each worker ring. Every packet in a direction's worker rings
 * comes from one pool of PIPE_POOL_PKTS: the 2 * W rings together hold at
 * most half of it (the rest is for reads and sends in flight), or with many
 * workers (sized to the machine) a stalled sender would run the pool dry
 * and the dealer would drop (DROP_POOL_EMPTY) instead of waiting for ring
 * room. 1 or 2 workers keep PIPE_RING_SLOTS; 16 get 128 slots each.
 */
static unsigned int worker_ring_slots(unsigned int w)
{
	unsigned int slots = PIPE_RING_SLOTS;

	while (slots > 64 && 2 * w * slots > PIPE_POOL_PKTS / 2)
		slots /= 2;
	return slots;
}

static int wire_rings(struct pipeline *pl)
{
	struct pipe_link *pk0 = &pl->links[0];
	unsigned int w = pl->cfg.workers, slots = worker_ring_slots(w);
	int rc = 0;

	for (unsigned int i = 0; !rc && i < w; i++) {
		struct crypt_thread *e = &pl->enc[i], *d = &pl->dec[i];

		rc = make_ring(&e->in, slots, &e->db, "enc_in%u", i);
		rc = rc ?: make_ring(&e->out, slots, &pk0->tx.lp.db, "enc_out%u", i);
		rc = rc ?: make_ring(&d->in, slots, &d->db, "dec_in%u", i);
		rc = rc ?: make_ring(&d->out, slots, &pl->tun_tx.lp.db, "dec_out%u", i);
		if (rc)
			break;
		e->index = d->index = i;
		e->is_encrypt = true;
		/* tun_rx with offloads and link_rx wait for room rather than drop. */
		if (pl->cfg.tun_offload & TUN_OFF_VNET)
			e->dealer_db = &pl->tun_rx.lp.db;
		d->dealer_db = &pk0->rx.lp.db;
		e->peers = d->peers = &pl->peers;
		pl->tun_rx.out[i] = e->in;
		pk0->tx.in[i] = e->out;
		pk0->rx.out[i] = d->in;
		pl->tun_tx.in[i] = d->out;
	}
	if (rc)
		return rc;
	pl->tun_rx.nout = pk0->tx.nin = pk0->rx.nout = pl->tun_tx.nin = w;
	for (unsigned int i = 0; !rc && i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		rc = make_ring(&pk->ctrl_in, PIPE_CTRL_RING_SLOTS, &pk->tx.lp.db, "ctrl_link%u", i);
		rc = rc ?: make_ring(&pk->ctrl_out, PIPE_RING_SLOTS, &pl->ctrl_db, "link%u_ctrl", i);
		pk->tx.ctrl_in = pk->ctrl_in;
		pk->rx.ctrl_out = pk->ctrl_out;
	}
	rc = rc ?: make_ring(&pl->ctrl_to_tun_rx, PIPE_CTRL_RING_SLOTS, &pl->tun_rx.lp.db,
			     "ctrl_tun", 0);
	rc = rc ?: make_ring(&pl->tun_tx_to_ctrl, PIPE_CTRL_RING_SLOTS, &pl->ctrl_db, "tun_ctrl", 0);
	if (!rc && pl->cfg.client_to_client && !pl->cfg.single_peer)
		rc = make_ring(&pl->tun_tx_to_tun_rx, PIPE_RING_SLOTS, &pl->tun_rx.lp.db, "c2c", 0);
	if (rc)
		return rc;
	pl->tun_rx.fwd = pl->tun_tx_to_tun_rx;
	pl->tun_tx.fwd_out = pl->tun_tx_to_tun_rx;
	pl->tun_rx.inject = pl->ctrl_to_tun_rx;
	pl->tun_tx.ctrl_out = pl->tun_tx_to_ctrl;
	return 0;
}

/* Decide once (l3fwd): the client or the server variant of each stage op. */
static void wire_ops(struct pipeline *pl)
{
	bool single = pl->cfg.single_peer;

	pl->tun_rx.classify = single ? send_tun_rx_client : send_tun_rx_server;
	pl->tun_tx.accept = single ? receive_tun_tx_client : receive_tun_tx_server;
	pl->tun_rx.ctx = pl->tun_tx.ctx = pl;
	epoch_reader_register(&pl->tun_rx.lp.epoch);
	epoch_reader_register(&pl->tun_tx.lp.epoch);
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		pk->rx.classify = single ? receive_link_rx_client : receive_link_rx_server;
		pk->rx.ctx = pl;
		pk->tx.peers = &pl->peers;
		epoch_reader_register(&pk->tx.lp.epoch);
		/* Server: link_rx's op reads peers that ctrl deletes and retires. */
		if (!single)
			epoch_reader_register(&pk->rx.lp.epoch);
	}
	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		epoch_reader_register(&pl->enc[i].epoch);
		epoch_reader_register(&pl->dec[i].epoch);
	}
}

static int create_links(struct pipeline *pl)
{
	int rc = -EINVAL;

	if (pl->cfg.link_type == LINK_UDP)
		rc = link_udp_create(&pl->links[0].link, pl->cfg.link_fd, 0,
				     pl->cfg.link_offload, &pl->links[0].offload);
	else if (pl->cfg.link_type == LINK_TCP)
		rc = link_tcp_create(&pl->links[0].link, pl->cfg.link_fd, 0);
	else if (pl->cfg.link_type == LINK_TCP_SERVER)
		rc = link_tcpsrv_create(&pl->links[0].link, pl->cfg.link_fd, 0,
					pl->cfg.link_max_conns ?: pl->cfg.max_peers + 16,
					pl->cfg.link_idle_s);
	if (rc)
		return rc;
	pl->nlinks = 1;
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		pl->links[i].rx.link = pl->links[i].tx.link = pl->links[i].link;
		rc = doorbell_init(&pl->links[i].rx.lp.db);
		rc = rc ?: doorbell_init(&pl->links[i].tx.lp.db);
		if (rc)
			return rc;
	}
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
	rc = cfg->single_peer ? 0 : lpm_root_init(&pl->routes, cfg->max_routes ?: 4 * cfg->max_peers);
	rc = rc ?: create_links(pl);
	rc = rc ?: comp_global_init();	/* LZO's start-up check, before any thread frames */
	rc = rc ?: doorbell_init(&pl->ctrl_db);
	rc = rc ?: doorbell_init(&pl->tun_rx.lp.db);
	rc = rc ?: doorbell_init(&pl->tun_tx.lp.db);
	for (unsigned int i = 0; !rc && i < cfg->workers; i++) {
		rc = doorbell_init(&pl->enc[i].db);
		rc = rc ?: doorbell_init(&pl->dec[i].db);
	}
	rc = rc ?: wire_threads(pl);
	rc = rc ?: wire_pools(pl);
	rc = rc ?: wire_rings(pl);
	if (rc)
		goto err;
	pl->tun_rx.fd = pl->tun_tx.fd = cfg->tun_fd;
	pl->tun_rx.offload = pl->tun_tx.offload = cfg->tun_offload;
	wire_ops(pl);
	*out = pl;
	return 0;
err:
	pipeline_destroy(pl);
	return rc;
}

int pipeline_start(struct pipeline *pl)
{
	int rc;

	for (unsigned int i = 0; i < pl->nthr; i++) {
		rc = thread_start(pl->thr[i]);
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
	/* Producers first, so consumers drain what is already queued. */
	for (unsigned int i = pl->nthr; i-- > 0;) {
		struct thread *t = pl->thr[i];

		if (!t->started)
			continue;
		thread_request_stop(t);
		doorbell_kick(pl->thr_db[i]);
		thread_join(t);
	}
	pl->started = false;
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
static void free_queued(struct pipeline *pl)
{
	for (unsigned int i = 0; i < pl->cfg.workers && i < IO_WORKERS_MAX; i++) {
		free_ring_pkts(pl->enc[i].in);
		free_ring_pkts(pl->enc[i].out);
		free_ring_pkts(pl->dec[i].in);
		free_ring_pkts(pl->dec[i].out);
	}
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		free_ring_pkts(pl->links[i].ctrl_in);
		free_ring_pkts(pl->links[i].ctrl_out);
	}
	free_ring_pkts(pl->ctrl_to_tun_rx);
	free_ring_pkts(pl->tun_tx_to_ctrl);
	free_ring_pkts(pl->tun_tx_to_tun_rx);
}

/*
 * A client's remote list mixes udp and tcp entries: link @link becomes one of
 * the type @fd calls for, the loops stopped. Read buffers for UDP GRO exist
 * only if the pipeline was built on a GRO link; without them GRO stays off.
 */
static int link_replace(struct pipeline *pl, unsigned int link, int fd)
{
	struct pipe_link *pk = &pl->links[link];
	enum link_type type = link_type_of_fd(fd);
	unsigned int flags = pl->cfg.link_offload & (pk->buf_pool ? ~0u : ~(unsigned int)LINK_F_GRO);
	struct link *nl;
	unsigned int off = 0;
	int rc;

	if (type == LINK_TCP_SERVER)
		return -EINVAL;		/* a server's link is set up once, at create */
	rc = type == LINK_TCP ? link_tcp_create(&nl, fd, link) :
				link_udp_create(&nl, fd, link, flags, &off);
	if (rc)
		return rc;
	nl->rx_pool = pk->pool;
	link_destroy(pk->link);
	pk->link = pk->rx.link = pk->tx.link = nl;
	pk->rx.pool = nl->rx_copies ? pk->buf_pool : pk->pool;
	pk->offload = off;
	if (link == 0) {
		pl->cfg.link_fd = fd;
		pl->cfg.link_type = type;
	}
	return 0;
}

int pipeline_link_set_fd(struct pipeline *pl, unsigned int link, int fd)
{
	if (pl->started)
		return -EBUSY;
	if (link >= pl->nlinks)
		return -EINVAL;
	free_queued(pl);
	if (link_type_of_fd(fd) != (pl->links[link].link->is_stream ? LINK_TCP : LINK_UDP))
		return link_replace(pl, link, fd);
	/* The loops register the fd with their rings when they start again. */
	link_set_fd(pl->links[link].link, fd);
	if (link == 0)
		pl->cfg.link_fd = fd;
	return 0;
}

unsigned int pipeline_link_offload(const struct pipeline *pl, unsigned int link)
{
	return link < pl->nlinks ? pl->links[link].offload : 0;
}

static void doorbell_free(struct doorbell *db)
{
	/* 0: never initialised (memset); the pipeline's eventfds are never fd 0. */
	if (db->efd > 0)
		doorbell_destroy(db);
}

void pipeline_destroy(struct pipeline *pl)
{
	unsigned int w;

	if (!pl)
		return;
	if (pl->started)
		pipeline_stop(pl);
	w = pl->cfg.workers <= IO_WORKERS_MAX ? pl->cfg.workers : 0;
	peers_free_all(pl);
	epoch_barrier();
	free_queued(pl);
	for (unsigned int i = 0; i < w; i++) {
		spsc_destroy(pl->enc[i].in);
		spsc_destroy(pl->enc[i].out);
		spsc_destroy(pl->dec[i].in);
		spsc_destroy(pl->dec[i].out);
		doorbell_free(&pl->enc[i].db);
		doorbell_free(&pl->dec[i].db);
	}
	for (unsigned int i = 0; i < PIPE_LINKS_MAX; i++) {
		struct pipe_link *pk = &pl->links[i];

		spsc_destroy(pk->ctrl_in);
		spsc_destroy(pk->ctrl_out);
		pool_destroy(pk->pool);
		pool_destroy(pk->buf_pool);
		doorbell_free(&pk->rx.lp.db);
		doorbell_free(&pk->tx.lp.db);
		link_destroy(pk->link);
	}
	spsc_destroy(pl->tun_tx_to_tun_rx);
	spsc_destroy(pl->ctrl_to_tun_rx);
	spsc_destroy(pl->tun_tx_to_ctrl);
	pool_destroy(pl->tun_pool);
	pool_destroy(pl->tun_gso_pool);
	pool_destroy(pl->ctrl_pool);
	doorbell_free(&pl->ctrl_db);
	doorbell_free(&pl->tun_rx.lp.db);
	doorbell_free(&pl->tun_tx.lp.db);
	if (!pl->cfg.single_peer)
		lpm_root_destroy(&pl->routes);
	free(pl->peers.slot);
	free(pl->tun_rx_scratch);
	free(pl->tun_tx_scratch);
	free(pl);
}

int pipeline_send_ping(struct pipeline *pl, uint32_t peer_id)
{
	return pipeline_send_inband(pl, peer_id, PING_MAGIC, PING_MAGIC_LEN);
}

int pipeline_send_inband(struct pipeline *pl, uint32_t peer_id, const void *msg, size_t len)
{
	struct pkt *p;

	if (len > PIPE_INBAND_MAX)
		return -EMSGSIZE;
	p = pool_get(pl->ctrl_pool);
	if (!p)
		return -ENOBUFS;
	memcpy(p->data, msg, len);
	p->len = (uint32_t)len;
	p->peer_id = peer_id;
	p->flags = PKT_F_PING;
	if (spsc_enqueue_burst(pl->ctrl_to_tun_rx, &p, 1) != 1) {
		pkt_free(p);
		return -ENOBUFS;
	}
	return 0;
}

int pipeline_ctrl_fd(const struct pipeline *pl)
{
	return pl->ctrl_db.efd;
}

/* Something is queued for ctrl: control packets, in-band messages or a float. */
static bool ctrl_has_work(struct pipeline *pl)
{
	for (unsigned int i = 0; i < pl->nlinks; i++)
		if (spsc_count(pl->links[i].ctrl_out))
			return true;
	/* Acquire pairs with tun_tx's release in float_note() (receive.c). */
	return spsc_count(pl->tun_tx_to_ctrl) ||
	       __atomic_load_n(&pl->float_events, __ATOMIC_ACQUIRE) != pl->float_seen;
}

bool pipeline_ctrl_prepare_sleep(struct pipeline *pl)
{
	doorbell_prepare_sleep(&pl->ctrl_db);
	/* Re-check after the fence: what was queued before it is seen here. */
	if (ctrl_has_work(pl)) {
		doorbell_cancel_sleep(&pl->ctrl_db);
		return false;
	}
	return true;
}

void pipeline_ctrl_wake_clear(struct pipeline *pl)
{
	doorbell_clear(&pl->ctrl_db);
}

unsigned int pipeline_ctrl_recv(struct pipeline *pl, struct pkt **p, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < pl->nlinks && n < max; i++)
		n += spsc_dequeue_burst(pl->links[i].ctrl_out, p + n, max - n);
	return n;
}

unsigned int pipeline_inband_recv(struct pipeline *pl, struct pkt **p, unsigned int max)
{
	return spsc_dequeue_burst(pl->tun_tx_to_ctrl, p, max);
}

/*
 * To link 0, the only one today. With more links the packet would go to the
 * link its endpoint names (struct peer_endpoint.link).
 */
bool pipeline_link_closed(struct pipeline *pl, union sockaddr_any *sa, socklen_t *len)
{
	return pl->nlinks && link_tcpsrv_closed(pl->links[0].link, sa, len);
}

int pipeline_ctrl_send(struct pipeline *pl, uint32_t peer_id, const union sockaddr_any *to,
		       socklen_t tolen, const void *buf, size_t len)
{
	struct pkt *p;

	if (to && tolen > sizeof(p->addr))
		return -EINVAL;
	p = pool_get(pl->ctrl_pool);
	if (!p)
		return -ENOMEM;
	if (len > pkt_data_room(p)) {
		pkt_free(p);
		return -EMSGSIZE;
	}
	memcpy(p->data, buf, len);
	p->len = (uint32_t)len;
	p->peer_id = peer_id;
	p->flags = PKT_F_CONTROL;
	if (to) {
		memcpy(&p->addr, to, tolen);
		p->addr_len = tolen;
	}
	if (spsc_enqueue_burst(pl->links[0].ctrl_in, &p, 1) != 1) {
		pkt_free(p);
		return -ENOBUFS;
	}
	return 0;
}

unsigned int pipeline_drain_ctrl(struct pipeline *pl, uint64_t *ctrl_count, uint64_t *inband_count)
{
	struct pkt *p[BURST_MAX];
	unsigned int n, total = 0;

	while ((n = pipeline_ctrl_recv(pl, p, BURST_MAX))) {
		*ctrl_count += n;
		total += n;
		pkt_free_burst(p, n);
	}
	while ((n = pipeline_inband_recv(pl, p, BURST_MAX))) {
		*inband_count += n;
		total += n;
		pkt_free_burst(p, n);
	}
	return total;
}

/* A link's name in the counters: link 0 keeps the plain one ("udp": udp_rx.*, udp_tx.*). */
static void link_name(char *buf, size_t len, const struct pipe_link *pk)
{
	if (pk->link->index == 0)
		snprintf(buf, len, "%s", pk->link->ops->name);
	else
		snprintf(buf, len, "%s%u", pk->link->ops->name, pk->link->index);
}

void pipeline_tun_bytes(const struct pipeline *pl, uint64_t *from_tun, uint64_t *to_tun)
{
	*from_tun = STAT_READ(pl->tun_rx.lp.thr.stats.rx_bytes);
	*to_tun = STAT_READ(pl->tun_tx.lp.thr.stats.tx_bytes);
}

void pipeline_fixed_bufs(const struct pipeline *pl, int *tun_rx, int *tun_tx)
{
	/* Relaxed: a report; each thread stores it once, at start (tun_rx.c, tun_tx.c). */
	*tun_rx = __atomic_load_n(&pl->tun_rx.lp.fixed_bufs, __ATOMIC_RELAXED);
	*tun_tx = __atomic_load_n(&pl->tun_tx.lp.fixed_bufs, __ATOMIC_RELAXED);
}

/* "prefix.cpu_us=": CPU time of a stage's thread(s), from their thread CPU clocks. */
static void cpu_print(FILE *f, const char *prefix, struct thread *const *t, unsigned int n)
{
	uint64_t ns = 0;

	for (unsigned int i = 0; i < n; i++)
		ns += thread_cpu_used_ns(t[i]);
	fprintf(f, "%s.cpu_us=%llu\n", prefix, (unsigned long long)(ns / 1000));
}

/* "ring.<name>.fill|hwm|size=": packets queued now, the most ever queued, and the room. */
static void ring_print(FILE *f, const struct spsc *r)
{
	if (!r)
		return;
	fprintf(f, "ring.%s.fill=%u\nring.%s.hwm=%u\nring.%s.size=%u\n", r->name, spsc_count(r),
		r->name, spsc_hwm(r), r->name, spsc_capacity(r));
}

void pipeline_write_stats(struct pipeline *pl, FILE *f)
{
	struct stats enc = { 0 }, dec = { 0 };
	struct thread *enc_t[IO_WORKERS_MAX], *dec_t[IO_WORKERS_MAX], *t;
	char name[16], key[32];
	int rx, tx;

	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		stats_accumulate(&enc, &pl->enc[i].thr.stats);
		stats_accumulate(&dec, &pl->dec[i].thr.stats);
		enc_t[i] = &pl->enc[i].thr;
		dec_t[i] = &pl->dec[i].thr;
	}
	stats_print(f, "tun_rx", &pl->tun_rx.lp.thr.stats);
	t = &pl->tun_rx.lp.thr;
	cpu_print(f, "tun_rx", &t, 1);
	stats_print(f, "encrypt", &enc);
	cpu_print(f, "encrypt", enc_t, pl->cfg.workers);
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		link_name(name, sizeof(name), &pl->links[i]);
		snprintf(key, sizeof(key), "%s_tx", name);
		stats_print(f, key, &pl->links[i].tx.lp.thr.stats);
		t = &pl->links[i].tx.lp.thr;
		cpu_print(f, key, &t, 1);
	}
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		link_name(name, sizeof(name), &pl->links[i]);
		snprintf(key, sizeof(key), "%s_rx", name);
		stats_print(f, key, &pl->links[i].rx.lp.thr.stats);
		t = &pl->links[i].rx.lp.thr;
		cpu_print(f, key, &t, 1);
		if (pl->links[i].link->ops->write_stats)
			pl->links[i].link->ops->write_stats(pl->links[i].link, f, name);
	}
	stats_print(f, "decrypt", &dec);
	cpu_print(f, "decrypt", dec_t, pl->cfg.workers);
	stats_print(f, "tun_tx", &pl->tun_tx.lp.thr.stats);
	t = &pl->tun_tx.lp.thr;
	cpu_print(f, "tun_tx", &t, 1);
	/* Pools registered as fixed buffers, -errno if refused, 0 if off (uring.h). */
	pipeline_fixed_bufs(pl, &rx, &tx);
	fprintf(f, "tun_rx.fixed_bufs=%d\ntun_tx.fixed_bufs=%d\n", rx, tx);
	fprintf(f, "pool.tun.leaked=%lu\n", (unsigned long)pl->tun_pool->leaked);
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		link_name(name, sizeof(name), &pl->links[i]);
		fprintf(f, "pool.%s.leaked=%lu\n", name, (unsigned long)pl->links[i].pool->leaked);
	}
	fprintf(f, "pool.ctrl.leaked=%lu\n", (unsigned long)pl->ctrl_pool->leaked);
	for (unsigned int i = 0; i < pl->cfg.workers; i++) {
		ring_print(f, pl->enc[i].in);
		ring_print(f, pl->enc[i].out);
		ring_print(f, pl->dec[i].in);
		ring_print(f, pl->dec[i].out);
	}
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		ring_print(f, pl->links[i].ctrl_in);
		ring_print(f, pl->links[i].ctrl_out);
	}
	ring_print(f, pl->ctrl_to_tun_rx);
	ring_print(f, pl->tun_tx_to_ctrl);
	ring_print(f, pl->tun_tx_to_tun_rx);
}
