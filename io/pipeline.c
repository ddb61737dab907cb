/*
 * pipeline.c - owns the data plane's threads, pools and rings: builds and
 * wires them, starts and stops them, and carries ctrl's side of the rings
 * (control packets in and out, in-band messages, pings, the ctrl doorbell).
 * The peer table is peers.c's, the stage ops are send.c's and receive.c's;
 * which op variant each loop runs is decided here, once, at wiring time.
 *
 * Threads: every function here runs on ctrl (the main thread).
 *
 * Wiring (W = cfg.workers):
 *   tun_rx --enc_in[i]--> enc[i] --enc_out[i]--> udp_tx --> UDP
 *   UDP --> udp_rx --dec_in[i]--> dec[i] --dec_out[i]--> tun_tx --> TUN
 *   udp_rx --udp_to_ctrl--> ctrl --ctrl_to_udp--> udp_tx
 *   ctrl --ctrl_to_tun_rx--> tun_rx (pings), tun_tx --tun_tx_to_ctrl--> ctrl (OCC)
 *   tun_tx --tun_tx_to_tun_rx--> tun_rx (server with client-to-client)
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
	rc = rc ?: pool_create(&pl->ctrl_pool, PIPE_CTRL_POOL_PKTS, PKT_CLASS_MTU, 0);
	rc = rc ?: wire_returners(pl);
	rc = rc ?: wire_rings(pl);
	if (rc)
		goto err;
	pl->tun_rx.fd = pl->tun_tx.fd = cfg->tun_fd;
	pl->udp_rx.fd = pl->udp_tx.fd = cfg->udp_fd;
	pl->tun_rx.pool = pl->tun_pool;
	pl->udp_rx.pool = pl->udp_pool;
	/* Decide once: the client or the server variant of each stage op. */
	pl->tun_rx.classify = cfg->single_peer ? send_tun_rx_client : send_tun_rx_server;
	pl->udp_rx.classify = cfg->single_peer ? receive_udp_rx_client : receive_udp_rx_server;
	pl->tun_tx.accept = cfg->single_peer ? receive_tun_tx_client : receive_tun_tx_server;
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
	peers_free_all(pl);
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

int pipeline_ctrl_fd(const struct pipeline *pl)
{
	return pl->ctrl_db.efd;
}

/* Something is queued for ctrl: control packets, in-band messages or a float. */
static bool ctrl_has_work(struct pipeline *pl)
{
	/* Acquire pairs with tun_tx's release in float_note() (receive.c). */
	return spsc_count(pl->udp_to_ctrl) || spsc_count(pl->tun_tx_to_ctrl) ||
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
	return spsc_dequeue_burst(pl->udp_to_ctrl, p, max);
}

unsigned int pipeline_inband_recv(struct pipeline *pl, struct pkt **p, unsigned int max)
{
	return spsc_dequeue_burst(pl->tun_tx_to_ctrl, p, max);
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
	if (spsc_enqueue_burst(pl->ctrl_to_udp, &p, 1) != 1) {
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
