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
 * Wiring, per lane k (one lane but in a UDP server of io-queues > 1; lane k
 * has TUN queue k, link k and the workers i of its share, see pipe_lane):
 *   TUN --> tun_rx --enc[i].in--> enc[i] --enc[i].out--> link_tx --> link
 *   link --> link_rx --dec[i].in--> dec[i] --dec[i].out--> tun_tx --> TUN
 * or with inline crypto (one worker i per lane, no worker threads, no in
 * rings; tun_rx seals and link_rx opens with worker i's contexts):
 *   TUN --> tun_rx (seal) --enc[i].out--> link_tx --> link
 *   link --> link_rx (open) --dec[i].out--> tun_tx --> TUN
 *   link_rx --ctrl_out--> ctrl --ctrl_in--> link_tx
 *   ctrl --ctrl_to_tun_rx--> tun_rx (pings), tun_tx --tun_tx_to_ctrl--> ctrl (OCC)
 *   tun_tx --c2c--> tun_rx (server with client-to-client)
 *   tun_rx --fwd[j]--> lane j's tun_rx (a packet for one of lane j's peers)
 * A peer is lane io_lane_of(id)'s (io.h): ctrl's pings go to that lane, the
 * sockets' steering program sends its data packets to that lane's link,
 * and tun_rx hands a packet the kernel read on another queue over. Each
 * lane's dealers and collectors stay in step over its own workers
 * (crypto/worker.h), so the order of each lane's packets is kept.
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
/* A lane's loop name: "sl-tun-tx" for lane 0 (as with one lane), "sl-tun-tx1" after. */
static void loop_name(char *buf, size_t len, const char *what, unsigned int lane)
{
	if (lane)
		snprintf(buf, len, "sl-%s%u", what, lane);
	else
		snprintf(buf, len, "sl-%s", what);
}

static int wire_threads(struct pipeline *pl)
{
	unsigned int w = pl->cfg.inline_crypto ? 0 : pl->cfg.workers, i;
	char name[24], what[16];	/* thread_init keeps the first 15 characters */
	int rc = 0;

	for (i = 0; !rc && i < pl->nlanes; i++) {
		struct pipe_lane *ln = &pl->lanes[i];

		loop_name(name, sizeof(name), "tun-tx", i);
		rc = add_thread(pl, &ln->tun_tx.lp.thr, &ln->tun_tx.lp.db, name,
				tun_tx_thread_main, &ln->tun_tx);
	}
	for (i = 0; !rc && i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		snprintf(what, sizeof(what), "%s-tx", pk->link->ops->name);
		loop_name(name, sizeof(name), what, i);
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

		snprintf(what, sizeof(what), "%s-rx", pk->link->ops->name);
		loop_name(name, sizeof(name), what, i);
		rc = add_thread(pl, &pk->rx.lp.thr, &pk->rx.lp.db, name, link_rx_thread_main,
				&pk->rx);
	}
	for (i = 0; !rc && i < pl->nlanes; i++) {
		struct pipe_lane *ln = &pl->lanes[i];

		loop_name(name, sizeof(name), "tun-rx", i);
		rc = add_thread(pl, &ln->tun_rx.lp.thr, &ln->tun_rx.lp.db, name,
				tun_rx_thread_main, &ln->tun_rx);
	}
	return rc;
}

static int wire_pools(struct pipeline *pl)
{
	int rc;

	rc = pool_create(&pl->ctrl_pool, PIPE_CTRL_POOL_PKTS, PKT_CLASS_MTU, 0);
	for (unsigned int i = 0; !rc && i < pl->nlanes; i++) {
		struct pipe_lane *ln = &pl->lanes[i];

		rc = pool_create(&ln->tun_pool, PIPE_POOL_PKTS, PKT_CLASS_MTU,
				 ln->tun_rx.lp.thr.tid);
		if (!rc && (pl->cfg.tun_offload & TUN_OFF_VNET))
			rc = pool_create(&ln->tun_gso_pool, PIPE_GSO_POOL_PKTS, PKT_CLASS_GSO,
					 ln->tun_rx.lp.thr.tid);
		ln->tun_rx.pool = ln->tun_pool;
		ln->tun_rx.gso_pool = ln->tun_gso_pool;
	}
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
	/*
	 * Fixed buffers (uring.h): tun_rx reads into its own pools; tun_tx
	 * writes decrypted packets, which are its lane's link pool's (decrypt
	 * works in place). ctrl's pings go through tun_rx, never to the TUN.
	 */
	for (unsigned int i = 0; i < pl->nlanes; i++) {
		pl->lanes[i].tun_rx.fixed_bufs = !pl->cfg.no_fixed_bufs;
		if (!pl->cfg.no_fixed_bufs)
			pl->lanes[i].tun_tx.write_pools[0] = pl->links[i].pool;
	}
	/*
	 * Every thread, and ctrl (thread id 0), returns packets to every pool.
	 * (With lanes, a tighter map is possible: a lane's threads see only
	 * its own pools and the ones tun_rx hands over.)
	 */
	for (unsigned int t = 0; !rc && t <= pl->nthr; t++) {
		int tid = t < pl->nthr ? pl->thr[t]->tid : 0;

		rc = pool_add_returner(pl->ctrl_pool, tid);
		for (unsigned int i = 0; !rc && i < pl->nlanes; i++) {
			rc = pool_add_returner(pl->lanes[i].tun_pool, tid);
			if (!rc && pl->lanes[i].tun_gso_pool)
				rc = pool_add_returner(pl->lanes[i].tun_gso_pool, tid);
		}
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

/* Lane @ln's workers, tun_rx, tun_tx and link @pk, wired in step (crypto/worker.h). */
static int wire_lane_workers(struct pipeline *pl, struct pipe_lane *ln, struct pipe_link *pk,
			     unsigned int slots)
{
	int rc = 0;

	for (unsigned int j = 0; !rc && j < ln->nw; j++) {
		unsigned int i = ln->w0 + j;
		struct crypt_thread *e = &pl->enc[i], *d = &pl->dec[i];

		rc = make_ring(&e->out, slots, &pk->tx.lp.db, "enc_out%u", i);
		rc = rc ?: make_ring(&d->out, slots, &ln->tun_tx.lp.db, "dec_out%u", i);
		if (!rc && !pl->cfg.inline_crypto) {
			rc = make_ring(&e->in, slots, &e->db, "enc_in%u", i);
			rc = rc ?: make_ring(&d->in, slots, &d->db, "dec_in%u", i);
		}
		if (rc)
			break;
		e->index = d->index = i;
		e->is_encrypt = true;
		e->peers = d->peers = &pl->peers;
		d->gro_flags = tun_gro_flags(pl->cfg.tun_offload);
		pk->tx.in[j] = e->out;
		ln->tun_tx.in[j] = d->out;
		/*
		 * tun_rx with offloads and link_rx wait for room rather than drop;
		 * whoever drains their rings rings them: the workers, or inline the
		 * collectors.
		 */
		if (pl->cfg.inline_crypto) {
			/* The dealers run worker i and fill the collectors' rings themselves. */
			ln->tun_rx.crypt = e;
			ln->tun_rx.out[j] = e->out;
			pk->rx.crypt = d;
			pk->rx.out[j] = d->out;
			if (pl->cfg.tun_offload & TUN_OFF_VNET)
				pk->tx.dealer_db = &ln->tun_rx.lp.db;
			ln->tun_tx.dealer_db = &pk->rx.lp.db;
		} else {
			ln->tun_rx.out[j] = e->in;
			pk->rx.out[j] = d->in;
			if (pl->cfg.tun_offload & TUN_OFF_VNET)
				e->dealer_db = &ln->tun_rx.lp.db;
			d->dealer_db = &pk->rx.lp.db;
		}
	}
	ln->tun_rx.nout = pk->tx.nin = pk->rx.nout = ln->tun_tx.nin = ln->nw;
	return rc;
}

/* A lane's rings besides the workers': ctrl's, client-to-client, the hand-overs out. */
static int wire_lane_rings(struct pipeline *pl, struct pipe_lane *ln)
{
	unsigned int k = ln->index;
	char fmt[24];
	int rc;

	/* Lane 0's keep the names they have with one lane. */
	rc = make_ring(&ln->ctrl_to_tun_rx, PIPE_CTRL_RING_SLOTS, &ln->tun_rx.lp.db,
		       k ? "ctrl_tun%u" : "ctrl_tun", k);
	rc = rc ?: make_ring(&ln->tun_tx_to_ctrl, PIPE_CTRL_RING_SLOTS, &pl->ctrl_db,
			     k ? "tun_ctrl%u" : "tun_ctrl", k);
	if (!rc && pl->cfg.client_to_client && !pl->cfg.single_peer)
		rc = make_ring(&ln->c2c, PIPE_RING_SLOTS, &ln->tun_rx.lp.db, k ? "c2c%u" : "c2c", k);
	for (unsigned int j = 0; !rc && j < pl->nlanes; j++) {
		struct tun_rx_thread *to = &pl->lanes[j].tun_rx;

		if (j == k)
			continue;
		snprintf(fmt, sizeof(fmt), "lane%u_%%u", k);
		rc = make_ring(&ln->fwd[j], PIPE_RING_SLOTS, &to->lp.db, fmt, j);
		if (rc)
			break;
		ln->tun_rx.lane_out[j] = ln->fwd[j];
		to->lane_in[to->nlane_in++] = ln->fwd[j];
	}
	if (rc)
		return rc;
	ln->tun_rx.nlanes = pl->nlanes;
	ln->tun_rx.fwd = ln->c2c;
	ln->tun_tx.fwd_out = ln->c2c;
	ln->tun_rx.inject = ln->ctrl_to_tun_rx;
	ln->tun_tx.ctrl_out = ln->tun_tx_to_ctrl;
	return 0;
}

static int wire_rings(struct pipeline *pl)
{
	unsigned int slots = worker_ring_slots(pl->cfg.workers);
	int rc = 0;

	for (unsigned int k = 0; !rc && k < pl->nlanes; k++)
		rc = wire_lane_workers(pl, &pl->lanes[k], &pl->links[k], slots);
	for (unsigned int i = 0; !rc && i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		rc = make_ring(&pk->ctrl_in, PIPE_CTRL_RING_SLOTS, &pk->tx.lp.db, "ctrl_link%u", i);
		rc = rc ?: make_ring(&pk->ctrl_out, PIPE_RING_SLOTS, &pl->ctrl_db, "link%u_ctrl", i);
		pk->tx.ctrl_in = pk->ctrl_in;
		pk->rx.ctrl_out = pk->ctrl_out;
	}
	for (unsigned int k = 0; !rc && k < pl->nlanes; k++)
		rc = wire_lane_rings(pl, &pl->lanes[k]);
	return rc;
}

/* Decide once (l3fwd): the client or the server variant of each stage op. */
static void wire_ops(struct pipeline *pl)
{
	bool single = pl->cfg.single_peer;

	for (unsigned int i = 0; i < pl->nlanes; i++) {
		struct pipe_lane *ln = &pl->lanes[i];

		ln->tun_rx.classify = single ? send_tun_rx_client : send_tun_rx_server;
		ln->tun_tx.accept = single ? receive_tun_tx_client : receive_tun_tx_server;
		ln->tun_rx.ctx = ln->tun_tx.ctx = ln;
		ln->tun_rx.fd = ln->tun_tx.fd = pl->nlanes > 1 ? pl->cfg.tun_fds[i] : pl->cfg.tun_fd;
		ln->tun_rx.offload = ln->tun_tx.offload = pl->cfg.tun_offload;
		epoch_reader_register(&ln->tun_rx.lp.epoch);
		epoch_reader_register(&ln->tun_tx.lp.epoch);
	}
	for (unsigned int i = 0; i < pl->nlinks; i++) {
		struct pipe_link *pk = &pl->links[i];

		pk->rx.classify = single ? receive_link_rx_client : receive_link_rx_server;
		pk->rx.ctx = &pl->lanes[i];
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

/* Link @i on socket @fd, of the pipeline's link type. */
static int create_link(struct pipeline *pl, unsigned int i, int fd)
{
	struct pipe_link *pk = &pl->links[i];

	if (pl->cfg.link_type == LINK_UDP)
		return link_udp_create(&pk->link, fd, i, pl->cfg.link_offload, &pk->offload);
	if (pl->cfg.link_type == LINK_TCP)
		return link_tcp_create(&pk->link, fd, i);
	if (pl->cfg.link_type == LINK_TCP_SERVER)
		return link_tcpsrv_create(&pk->link, fd, i,
					  pl->cfg.link_max_conns ?: pl->cfg.max_peers + 16,
					  pl->cfg.link_idle_s);
	return -EINVAL;
}

/*
 * Lanes: one, but for a UDP server given more (each with its TUN queue and
 * socket), and never more than the workers can share. Each lane's link,
 * share of the workers, scratch and doorbells.
 */
static int create_lanes(struct pipeline *pl)
{
	const struct pipeline_cfg *cfg = &pl->cfg;
	unsigned int n = cfg->lanes > 1 ? cfg->lanes : 1, w0 = 0;
	int rc;

	if (n > 1 && (n > PIPE_LANES_MAX || n > cfg->workers || cfg->single_peer ||
		      cfg->link_type != LINK_UDP || cfg->tun_fds[0] != cfg->tun_fd ||
		      cfg->link_fds[0] != cfg->link_fd))
		return -EINVAL;
	/* Inline crypto: each lane's two dealers run exactly one worker's contexts. */
	if (cfg->inline_crypto && cfg->workers != n)
		return -EINVAL;
	pl->nlanes = pl->nlinks = n;
	for (unsigned int i = 0; i < n; i++) {
		struct pipe_lane *ln = &pl->lanes[i];

		ln->pl = pl;
		ln->index = i;
		ln->w0 = w0;
		ln->nw = cfg->workers / n + (i < cfg->workers % n);
		w0 += ln->nw;
		ln->tun_rx_scratch = malloc(COMP_SCRATCH_LEN);
		ln->tun_tx_scratch = malloc(COMP_SCRATCH_LEN);
		if (!ln->tun_rx_scratch || !ln->tun_tx_scratch)
			return -ENOMEM;
		rc = create_link(pl, i, n > 1 ? cfg->link_fds[i] : cfg->link_fd);
		if (rc)
			return rc;
		pl->links[i].rx.link = pl->links[i].tx.link = pl->links[i].link;
		rc = doorbell_init(&pl->links[i].rx.lp.db);
		rc = rc ?: doorbell_init(&pl->links[i].tx.lp.db);
		rc = rc ?: doorbell_init(&ln->tun_rx.lp.db);
		rc = rc ?: doorbell_init(&ln->tun_tx.lp.db);
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
	if (!pl->peers.slot) {
		rc = -ENOMEM;
		goto err;
	}
	rc = cfg->single_peer ? 0 : lpm_root_init(&pl->routes, cfg->max_routes ?: 4 * cfg->max_peers);
	rc = rc ?: create_lanes(pl);
	rc = rc ?: comp_global_init();	/* LZO's start-up check, before any thread frames */
	rc = rc ?: doorbell_init(&pl->ctrl_db);
	for (unsigned int i = 0; !rc && !cfg->inline_crypto && i < cfg->workers; i++) {
		rc = doorbell_init(&pl->enc[i].db);
		rc = rc ?: doorbell_init(&pl->dec[i].db);
	}
	rc = rc ?: wire_threads(pl);
	rc = rc ?: wire_pools(pl);
	rc = rc ?: wire_rings(pl);
	if (rc)
		goto err;
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

/* @fn on each of a lane's rings besides the workers' (NULL ones included). */
static void lane_rings_each(struct pipe_lane *ln, void (*fn)(struct spsc *r))
{
	fn(ln->ctrl_to_tun_rx);
	fn(ln->tun_tx_to_ctrl);
	fn(ln->c2c);
	for (unsigned int j = 0; j < PIPE_LANES_MAX; j++)
		fn(ln->fwd[j]);
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
	for (unsigned int k = 0; k < PIPE_LANES_MAX; k++)
		lane_rings_each(&pl->lanes[k], free_ring_pkts);
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
	for (unsigned int k = 0; k < PIPE_LANES_MAX; k++) {
		struct pipe_lane *ln = &pl->lanes[k];

		lane_rings_each(ln, spsc_destroy);
		pool_destroy(ln->tun_pool);
		pool_destroy(ln->tun_gso_pool);
		doorbell_free(&ln->tun_rx.lp.db);
		doorbell_free(&ln->tun_tx.lp.db);
		free(ln->tun_rx_scratch);
		free(ln->tun_tx_scratch);
	}
	pool_destroy(pl->ctrl_pool);
	doorbell_free(&pl->ctrl_db);
	if (!pl->cfg.single_peer)
		lpm_root_destroy(&pl->routes);
	free(pl->peers.slot);
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
	/* To the tun_rx of the peer's lane, which alone numbers its packets. */
	if (spsc_enqueue_burst(pl->lanes[pipe_lane_of(pl, peer_id)].ctrl_to_tun_rx, &p, 1) != 1) {
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
	for (unsigned int k = 0; k < pl->nlanes; k++)
		if (spsc_count(pl->lanes[k].tun_tx_to_ctrl))
			return true;
	return __atomic_load_n(&pl->float_events, __ATOMIC_ACQUIRE) != pl->float_seen;
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
	unsigned int n = 0;

	for (unsigned int k = 0; k < pl->nlanes && n < max; k++)
		n += spsc_dequeue_burst(pl->lanes[k].tun_tx_to_ctrl, p + n, max - n);
	return n;
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
