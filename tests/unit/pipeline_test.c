/*
 * pipeline_test.c - tests for io/pipeline.h (ctrl's API into the data plane)
 * and for the stage ops behind it, run on the test's own thread: the
 * pipeline is built but never started, so the test stands in for the data
 * threads, reading and writing their rings white-box (io/pipeline_int.h).
 *
 * 1. Decide once: a client pipeline installs the client variant of each
 *    stage op, a server pipeline the server variant.
 * 2. Peers: tx peer-id, max_peers, stats of a missing and a fresh peer.
 * 3. ctrl's rings: pipeline_ctrl_send (content, address, errors, a full
 *    ring), ctrl_recv/inband_recv, and prepare_sleep refusing to sleep when
 *    a control packet, an in-band message or a float is pending.
 * 4. Per-key receive stamps: a packet sealed with key_id 1 and accepted by
 *    the tun_tx op stamps key_last_rx_ns[1] (and last_rx_ns, rx_bytes);
 *    replacing the slot of key_id 1 hides the old stamp, as does a stamp
 *    whose clock read predates the new slot.
 * 5. The send ops: client (one peer, its send key) and server (routing by
 *    destination, pings by peer-id), and the link_rx classify variants.
 * 6. Lanes: a server of 2 lanes splits its workers, wires each lane's
 *    hand-over ring to the other's tun_rx; tun_rx's op marks a packet for
 *    the other lane's peer (once only) and numbers its own; link_rx refuses
 *    another lane's peer-id; a ping goes to its peer's lane; and
 *    pipeline_create refuses lanes a client, a TCP link or too few workers.
 * 7. Inline crypto: the dealers hold the workers' contexts and feed the
 *    collectors' rings (no worker threads or input rings), a seal and an
 *    open on the dealers' side, a forgery refused.
 *
 * Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/csum.h"
#include "../../core/epoch.h"
#include "../../core/gso.h"
#include "../../io/pipeline_int.h"
#include "harness.h"

/* A setup step that must succeed: 0 or a positive value, else the test ends. */
#define OK(expr)								\
	do {									\
		int rc_ = (expr);						\
		REQUIRE(rc_ >= 0, "%s = %d (%s)", #expr, rc_, strerror(-rc_));	\
	} while (0)

#define TX_PEER_ID	9
#define SRV_PEER	3

static struct pool *pool;		/* home: this thread (id 0) */
static uint8_t key_a[KEY2_LEN], key_b[KEY2_LEN];

static struct pipeline *make(bool is_server)
{
	struct pipeline_cfg cfg = {
		.is_server = is_server,
		.single_peer = !is_server,
		.workers = 1,
		.max_peers = is_server ? 8 : 1,
		.tun_fd = -1,
		.link_type = LINK_UDP,
		.link_fd = -1,
		.replay_window = 64,
		.replay_time = 15,
	};
	struct pipeline *pl;

	OK(pipeline_create(&pl, &cfg));
	return pl;
}

static struct pkt *get(void)
{
	struct pkt *p = pool_get(pool);

	if (!p) {
		fprintf(stderr, "test pool empty\n");
		exit(1);
	}
	return p;
}

/* ---- 1. decide once ------------------------------------------------------ */

static void test_ops(struct pipeline *cl, struct pipeline *srv)
{
	CHECK(cl->lanes[0].tun_rx.classify == send_tun_rx_client, "client tun_rx op");
	CHECK(cl->lanes[0].tun_tx.accept == receive_tun_tx_client, "client tun_tx op");
	CHECK(cl->links[0].rx.classify == receive_link_rx_client, "client link_rx op");
	CHECK(srv->lanes[0].tun_rx.classify == send_tun_rx_server, "server tun_rx op");
	CHECK(srv->lanes[0].tun_tx.accept == receive_tun_tx_server, "server tun_tx op");
	CHECK(srv->links[0].rx.classify == receive_link_rx_server, "server link_rx op");
	CHECK(cl->nlinks == 1 && !strcmp(cl->links[0].link->ops->name, "udp"), "one UDP link");
	CHECK(pipeline_link_set_fd(cl, 1, -1) == -EINVAL, "no link 1");
}

/* ---- 2. peers ------------------------------------------------------------ */

static void test_peers(struct pipeline *pl)
{
	struct pipeline_peer_stats ps;

	memset(&ps, 0xff, sizeof(ps));
	CHECK(pipeline_max_peers(pl) == 1, "max_peers %u", pipeline_max_peers(pl));
	CHECK(!pipeline_peer_stats(pl, 0, &ps) && ps.last_rx_ns == 0 && ps.tx_bytes == 0,
	      "stats of a missing peer");
	CHECK(pipeline_peer_tx_peer_id(pl, 0) == PEER_ID_NONE, "tx peer-id of a missing peer");
	CHECK(pipeline_peer_add(pl, 1, 0, NULL, 0) == -EINVAL, "peer beyond the table");
	OK(pipeline_peer_add(pl, 0, TX_PEER_ID, NULL, 0));
	CHECK(pipeline_peer_add(pl, 0, TX_PEER_ID, NULL, 0) == -EINVAL, "peer added twice");
	CHECK(pipeline_peer_tx_peer_id(pl, 0) == TX_PEER_ID, "tx peer-id");
	CHECK(pipeline_peer_tx_peer_id(pl, 5) == PEER_ID_NONE, "tx peer-id out of range");
	memset(&ps, 0xff, sizeof(ps));
	CHECK(pipeline_peer_stats(pl, 0, &ps) && ps.last_rx_ns == 0 && ps.last_tx_ns == 0 &&
	      ps.rx_bytes == 0 && ps.tx_bytes == 0, "stats of a fresh peer");
	for (unsigned int k = 0; k < KEY_ID_COUNT; k++)
		CHECK(ps.key_last_rx_ns[k] == 0, "fresh key stamp %u", k);
}

/* ---- 3. ctrl's rings ----------------------------------------------------- */

static void test_ctrl(struct pipeline *pl)
{
	union sockaddr_any to = { .in4 = { .sin_family = AF_INET, .sin_port = htons(1194),
					   .sin_addr.s_addr = htonl(0xc6120001) } };
	static uint8_t big[PKT_MTU_DATA + 1];
	struct spsc *out = pl->links[0].ctrl_in;	/* link_tx's end */
	struct pkt *p[BURST_MAX];
	unsigned int n, sent;
	int rc;

	CHECK(pipeline_ctrl_fd(pl) >= 0, "ctrl fd");
	CHECK(pipeline_ctrl_prepare_sleep(pl), "nothing pending: ctrl may sleep");
	pipeline_ctrl_wake_clear(pl);

	OK(pipeline_ctrl_send(pl, 4, &to, sizeof(to.in4), "hello", 5));
	OK(pipeline_ctrl_send(pl, PEER_ID_NONE, NULL, 0, "connected", 9));
	n = spsc_dequeue_burst(out, p, 4);
	CHECK(n == 2, "two control packets queued, got %u", n);
	if (n == 2) {
		CHECK(p[0]->len == 5 && !memcmp(p[0]->data, "hello", 5) && p[0]->peer_id == 4 &&
		      (p[0]->flags & PKT_F_CONTROL) && p[0]->addr_len == sizeof(to.in4) &&
		      p[0]->addr.in4.sin_port == htons(1194), "first control packet");
		CHECK(p[1]->len == 9 && p[1]->addr_len == 0 && p[1]->peer_id == PEER_ID_NONE,
		      "second control packet (connected socket: no address)");
		pkt_free_burst(p, n);
	}
	CHECK(pipeline_ctrl_send(pl, 0, NULL, 0, big, sizeof(big)) == -EMSGSIZE, "too long");
	CHECK(pipeline_ctrl_send(pl, 0, &to, sizeof(to) + 1, "x", 1) == -EINVAL, "tolen");
	for (sent = 0; (rc = pipeline_ctrl_send(pl, 0, NULL, 0, "x", 1)) == 0; sent++)
		;
	CHECK(rc == -ENOBUFS && sent == PIPE_CTRL_RING_SLOTS - 1,
	      "full ring: rc %d after %u packets", rc, sent);
	while ((n = spsc_dequeue_burst(out, p, BURST_MAX)))
		pkt_free_burst(p, n);

	/* link_rx's and tun_tx's side, as those threads would queue. */
	p[0] = get();
	CHECK(spsc_enqueue_burst(pl->links[0].ctrl_out, p, 1) == 1, "queue a control packet");
	CHECK(!pipeline_ctrl_prepare_sleep(pl), "a control packet is pending: do not sleep");
	pipeline_ctrl_wake_clear(pl);
	CHECK(pipeline_inband_recv(pl, p, 4) == 0, "no in-band message");
	CHECK(pipeline_ctrl_recv(pl, p, 4) == 1, "control packet received");
	pkt_free(p[0]);
	p[0] = get();
	CHECK(spsc_enqueue_burst(pl->lanes[0].tun_tx_to_ctrl, p, 1) == 1, "queue an in-band message");
	CHECK(!pipeline_ctrl_prepare_sleep(pl), "an in-band message is pending: do not sleep");
	pipeline_ctrl_wake_clear(pl);
	CHECK(pipeline_inband_recv(pl, p, 4) == 1, "in-band message received");
	pkt_free(p[0]);
	__atomic_fetch_add(&pl->float_events, 1, __ATOMIC_RELEASE);
	CHECK(!pipeline_ctrl_prepare_sleep(pl), "a float event is pending: do not sleep");
	pipeline_ctrl_wake_clear(pl);
	pl->float_seen = pl->float_events;
	CHECK(pipeline_ctrl_prepare_sleep(pl), "all taken: ctrl may sleep again");
	pipeline_ctrl_wake_clear(pl);
}

/* ---- 4. per-key receive stamps ------------------------------------------ */

/* A packet as the peer sends it with @sender, opened as a decrypt worker would. */
static struct pkt *received(struct pipeline *pl, struct dc_keyslot *sender, uint32_t pid)
{
	struct peer *pr = peer_lookup(&pl->peers, 0);
	struct pkt *p = get();

	memcpy(p->data, "\x45payload-bytes", 14);
	p->len = 14;
	p->pid = pid;
	CHECK(dc_seal(sender, 0, p, PEER_ID_NONE), "seal");
	p->flags = 0;
	CHECK(dc_classify(p) == PKT_OK, "classify");
	CHECK(pr && dc_open(peer_key(pr, p->key_id), 0, p), "open");
	p->peer_id = 0;
	return p;
}

static int64_t key_stamp(struct pipeline *pl, unsigned int kid)
{
	struct pipeline_peer_stats ps;

	CHECK(pipeline_peer_stats(pl, 0, &ps), "stats");
	return ps.key_last_rx_ns[kid];
}

static void test_key_stamps(struct pipeline *pl)
{
	struct pipeline_peer_stats ps;
	struct dc_keyslot *sender_a, *sender_b;
	struct stats st;
	struct pkt *p;
	int64_t now, before;

	memset(&st, 0, sizeof(st));
	/* The pipeline is the client (is_server false); the sender is the server. */
	OK(dc_keyslot_create(&sender_a, DC_AES_256_GCM, key_a, true, 1, 1, 64, 15, false));
	OK(dc_keyslot_create(&sender_b, DC_AES_256_GCM, key_b, true, 1, 1, 64, 15, false));
	OK(pipeline_key_install(pl, 0, 1, DC_AES_256_GCM, key_a));
	p = received(pl, sender_a, 1);
	now = clock_mono_ns();
	receive_tun_tx_client(&pl->lanes[0], &p, 1, now, &st);
	CHECK(p->verdict == PKT_OK && p->len == 14, "accepted: verdict %u len %u", p->verdict,
	      p->len);
	pkt_free(p);
	CHECK(pipeline_peer_stats(pl, 0, &ps) && ps.last_rx_ns == now && ps.rx_bytes == 14,
	      "last_rx_ns %lld rx_bytes %llu", (long long)ps.last_rx_ns,
	      (unsigned long long)ps.rx_bytes);
	CHECK(ps.key_last_rx_ns[1] == now, "key 1 stamp %lld, expected %lld",
	      (long long)ps.key_last_rx_ns[1], (long long)now);
	for (unsigned int k = 0; k < KEY_ID_COUNT; k++)
		CHECK(k == 1 || ps.key_last_rx_ns[k] == 0, "key %u stamp %lld", k,
		      (long long)ps.key_last_rx_ns[k]);

	/* A new slot for key_id 1: what the old one received no longer counts. */
	before = clock_mono_ns();
	OK(pipeline_key_install(pl, 0, 1, DC_AES_256_GCM, key_b));
	CHECK(key_stamp(pl, 1) == 0, "stamp of the replaced slot hidden: %lld",
	      (long long)key_stamp(pl, 1));
	/* tun_tx read its clock before the slot was published: not proof of the new key. */
	p = received(pl, sender_b, 1);
	receive_tun_tx_client(&pl->lanes[0], &p, 1, before, &st);
	CHECK(p->verdict == PKT_OK, "accepted with the new slot: verdict %u", p->verdict);
	pkt_free(p);
	CHECK(key_stamp(pl, 1) == 0, "stamp older than the install hidden: %lld",
	      (long long)key_stamp(pl, 1));
	p = received(pl, sender_b, 2);
	now = clock_mono_ns();
	receive_tun_tx_client(&pl->lanes[0], &p, 1, now, &st);
	pkt_free(p);
	CHECK(key_stamp(pl, 1) == now, "new key stamped: %lld, expected %lld",
	      (long long)key_stamp(pl, 1), (long long)now);
	/* A packet of the replaced slot (its generation) is refused, and stamps nothing. */
	p = received(pl, sender_b, 3);
	p->key_gen--;
	receive_tun_tx_client(&pl->lanes[0], &p, 1, now + 1, &st);
	CHECK(p->verdict == DROP_NO_KEY, "stale slot: verdict %u", p->verdict);
	pkt_free(p);
	CHECK(key_stamp(pl, 1) == now, "no stamp for a refused packet");
	dc_keyslot_free(sender_a);
	dc_keyslot_free(sender_b);
}

/* ---- 5. send ops and link_rx classify ------------------------------------ */

/* An IPv4 header to @dst (host order), 20 bytes, nothing after it. */
static struct pkt *ip4(uint32_t src, uint32_t dst)
{
	struct pkt *p = get();
	uint32_t a;

	memset(p->data, 0, 20);
	p->data[0] = 0x45;
	p->data[3] = 20;
	p->data[9] = 17;
	a = htonl(src);
	memcpy(p->data + 12, &a, 4);
	a = htonl(dst);
	memcpy(p->data + 16, &a, 4);
	p->len = 20;
	return p;
}

static void test_send_client(struct pipeline *pl)
{
	struct stats st;
	struct pkt *p;

	memset(&st, 0, sizeof(st));
	pipeline_key_set_tx(pl, 0, 2);
	p = ip4(0x0a000001, 0x0a000002);
	send_tun_rx_client(&pl->lanes[0], &p, 1, &st);
	CHECK(p->verdict == DROP_NO_KEY, "no send key yet: verdict %u", p->verdict);
	pkt_free(p);
	pipeline_key_set_tx(pl, 0, 1);
	p = ip4(0x0a000001, 0x0a000002);
	p->peer_id = 77;
	send_tun_rx_client(&pl->lanes[0], &p, 1, &st);
	CHECK(p->verdict == PKT_OK && p->peer_id == 0 && p->key_id == 1 && p->pid >= 1 &&
	      p->addr_len == 0, "client send: verdict %u peer %u key %u pid %u", p->verdict,
	      p->peer_id, p->key_id, p->pid);
	pkt_free(p);
}

static void test_send_server(struct pipeline *pl)
{
	union sockaddr_any ep = { .in4 = { .sin_family = AF_INET, .sin_port = htons(4000) } };
	struct stats st;
	struct pkt *p[3];
	bool is_ctl;

	memset(&st, 0, sizeof(st));
	OK(pipeline_peer_add(pl, SRV_PEER, 0, &ep, sizeof(ep.in4)));
	OK(pipeline_key_install(pl, SRV_PEER, 0, DC_CHACHA20_POLY1305, key_a));
	OK(pipeline_route_add(pl, AF_INET, &(uint32_t){ htonl(0x0a000002) }, 32, SRV_PEER));
	OK(pipeline_routes_publish(pl));
	p[0] = ip4(0x0a000001, 0x0a000002);
	p[1] = ip4(0x0a000001, 0x0a000009);
	p[2] = get();
	memcpy(p[2]->data, PING_MAGIC, PING_MAGIC_LEN);
	p[2]->len = PING_MAGIC_LEN;
	p[2]->flags = PKT_F_PING;
	p[2]->peer_id = SRV_PEER;
	send_tun_rx_server(&pl->lanes[0], p, 3, &st);
	CHECK(p[0]->verdict == PKT_OK && p[0]->peer_id == SRV_PEER && p[0]->key_id == 0 &&
	      p[0]->addr_len == sizeof(ep.in4) && p[0]->addr.in4.sin_port == htons(4000),
	      "routed to its client: verdict %u peer %u", p[0]->verdict, p[0]->peer_id);
	CHECK(p[1]->verdict == DROP_NO_ROUTE, "no route: verdict %u", p[1]->verdict);
	CHECK(p[2]->verdict == PKT_OK && p[2]->peer_id == SRV_PEER && p[2]->pid == p[0]->pid + 1,
	      "ping to its peer: verdict %u pid %u", p[2]->verdict, p[2]->pid);
	pkt_free_burst(p, 3);

	/* link_rx: P_DATA_V1 has no peer-id, so a server cannot place it. */
	p[0] = get();
	p[0]->data[0] = (uint8_t)(P_DATA_V1 << P_OPCODE_SHIFT);
	p[0]->len = DC_V1_OVERHEAD + 4;
	CHECK(receive_link_rx_server(&pl->lanes[0], p[0], &is_ctl) == DROP_BAD_PEER && !is_ctl,
	      "server: P_DATA_V1 refused");
	p[0]->data[0] = (uint8_t)(P_CONTROL_V1 << P_OPCODE_SHIFT);
	CHECK(receive_link_rx_server(&pl->lanes[0], p[0], &is_ctl) == PKT_OK && is_ctl &&
	      (p[0]->flags & PKT_F_CONTROL), "server: control packet");
	pkt_free(p[0]);
}

static void test_link_rx_client(struct pipeline *pl)
{
	struct pkt *p = get();
	bool is_ctl;

	/* P_DATA_V2 for key_id 1 with the server's idea of our peer-id: always peer 0 here. */
	p->data[0] = (uint8_t)(P_DATA_V2 << P_OPCODE_SHIFT | 1);
	p->data[1] = 0;
	p->data[2] = 0;
	p->data[3] = 5;
	p->len = DC_V2_OVERHEAD + 4;
	CHECK(receive_link_rx_client(&pl->lanes[0], p, &is_ctl) == PKT_OK && !is_ctl && p->peer_id == 0 &&
	      p->key_id == 1, "client: data packet for peer 0 (peer %u)", p->peer_id);
	p->data[0] = (uint8_t)(P_DATA_V2 << P_OPCODE_SHIFT | 6);
	CHECK(receive_link_rx_client(&pl->lanes[0], p, &is_ctl) == DROP_NO_KEY, "client: no slot for key 6");
	p->len = 0;
	CHECK(receive_link_rx_client(&pl->lanes[0], p, &is_ctl) == DROP_SHORT, "client: empty");
	pkt_free(p);
}

/* ---- 6. lanes ----------------------------------------------------------- */

static struct pipeline *make_lanes_inl(unsigned int lanes, unsigned int workers, bool server,
				       enum link_type type, bool inl, int *rc)
{
	struct pipeline_cfg cfg = {
		.is_server = server,
		.single_peer = !server,
		.workers = workers,
		.inline_crypto = inl,
		.max_peers = 8,
		.tun_fd = -1,
		.link_type = type,
		.link_fd = -1,
		.replay_window = 64,
		.replay_time = 15,
		.lanes = lanes,
		.tun_fds = { -1, -1, -1, -1 },
		.link_fds = { -1, -1, -1, -1 },
	};
	struct pipeline *pl = NULL;

	*rc = pipeline_create(&pl, &cfg);
	return pl;
}

static struct pipeline *make_lanes(unsigned int lanes, unsigned int workers, bool server,
				   enum link_type type, int *rc)
{
	return make_lanes_inl(lanes, workers, server, type, false, rc);
}

/* A P_DATA_V2 packet header for @peer_id, key 0, long enough to classify. */
static struct pkt *data_v2(uint32_t peer_id)
{
	struct pkt *p = get();

	memset(p->data, 0, DC_V2_OVERHEAD + 4);
	p->data[0] = (uint8_t)(P_DATA_V2 << P_OPCODE_SHIFT);
	p->data[1] = (uint8_t)(peer_id >> 16);
	p->data[2] = (uint8_t)(peer_id >> 8);
	p->data[3] = (uint8_t)peer_id;
	p->len = DC_V2_OVERHEAD + 4;
	return p;
}

static void test_lanes(void)
{
	union sockaddr_any ep = { .in4 = { .sin_family = AF_INET, .sin_port = htons(4000) } };
	struct pkt *p[3];
	struct stats st;
	struct pipeline *pl;
	bool is_ctl;
	int rc;

	memset(&st, 0, sizeof(st));
	pl = make_lanes(2, 1, true, LINK_UDP, &rc);
	CHECK(rc == -EINVAL && !pl, "2 lanes, 1 worker refused: %d", rc);
	pl = make_lanes(2, 2, false, LINK_UDP, &rc);
	CHECK(rc == -EINVAL && !pl, "2 lanes in a client refused: %d", rc);
	pl = make_lanes(2, 2, true, LINK_TCP_SERVER, &rc);
	CHECK(rc == -EINVAL && !pl, "2 lanes on a TCP server refused: %d", rc);
	pl = make_lanes(5, 8, true, LINK_UDP, &rc);
	CHECK(rc == -EINVAL && !pl, "5 lanes refused: %d", rc);
	pl = make_lanes(2, 3, true, LINK_UDP, &rc);
	REQUIRE(rc == 0 && pl, "2 lanes, 3 workers: %d", rc);
	CHECK(pipeline_lanes(pl) == 2 && pl->nlinks == 2, "2 lanes and links");
	CHECK(pl->lanes[0].w0 == 0 && pl->lanes[0].nw == 2 && pl->lanes[1].w0 == 2 &&
	      pl->lanes[1].nw == 1, "workers split 2 + 1");
	CHECK(pl->lanes[0].tun_rx.nout == 2 && pl->links[0].tx.nin == 2 &&
	      pl->lanes[1].tun_rx.nout == 1 && pl->links[1].rx.nout == 1 &&
	      pl->lanes[1].tun_tx.in[0] == pl->dec[2].out, "each lane's rings are its workers'");
	CHECK(pl->lanes[0].tun_rx.lane_out[1] == pl->lanes[1].tun_rx.lane_in[0] &&
	      pl->lanes[1].tun_rx.lane_out[0] == pl->lanes[0].tun_rx.lane_in[0] &&
	      pl->lanes[0].tun_rx.nlane_in == 1 && !pl->lanes[0].tun_rx.lane_out[0],
	      "hand-over rings cross");
	CHECK(pl->links[1].rx.ctx == &pl->lanes[1] && pl->lanes[1].tun_rx.ctx == &pl->lanes[1],
	      "ops get their lane");

	/* Peer 3 is lane 1's, peer 2 lane 0's. */
	OK(pipeline_peer_add(pl, 3, 0, &ep, sizeof(ep.in4)));
	OK(pipeline_peer_add(pl, 2, 0, &ep, sizeof(ep.in4)));
	OK(pipeline_key_install(pl, 3, 0, DC_AES_256_GCM, key_a));
	OK(pipeline_key_install(pl, 2, 0, DC_AES_256_GCM, key_b));
	OK(pipeline_route_add(pl, AF_INET, &(uint32_t){ htonl(0x0a000003) }, 32, 3));
	OK(pipeline_route_add(pl, AF_INET, &(uint32_t){ htonl(0x0a000002) }, 32, 2));
	OK(pipeline_routes_publish(pl));
	p[0] = ip4(0x0a000001, 0x0a000003);
	p[1] = ip4(0x0a000001, 0x0a000002);
	p[2] = ip4(0x0a000001, 0x0a000003);
	p[2]->flags = PKT_F_LANED;
	send_tun_rx_server(&pl->lanes[0], p, 3, &st);
	CHECK(p[0]->verdict == PKT_OK && (p[0]->flags & PKT_F_LANE) && p[0]->peer_id == 3 &&
	      p[0]->pid == 0, "lane 1's peer: marked, not numbered (flags %x pid %u)",
	      p[0]->flags, p[0]->pid);
	CHECK(p[1]->verdict == PKT_OK && !(p[1]->flags & PKT_F_LANE) && p[1]->pid >= 1,
	      "own peer numbered (pid %u)", p[1]->pid);
	CHECK(p[2]->verdict == DROP_NO_ROUTE, "handed over once only: verdict %u", p[2]->verdict);
	p[0]->flags = PKT_F_LANED;
	send_tun_rx_server(&pl->lanes[1], p, 1, &st);
	CHECK(p[0]->verdict == PKT_OK && p[0]->pid >= 1 && p[0]->addr_len == sizeof(ep.in4),
	      "numbered by its own lane (verdict %u pid %u)", p[0]->verdict, p[0]->pid);
	pkt_free_burst(p, 3);

	p[0] = data_v2(3);
	CHECK(receive_link_rx_server(&pl->lanes[0], p[0], &is_ctl) == DROP_LANE,
	      "link_rx of lane 0 refuses lane 1's peer");
	CHECK(receive_link_rx_server(&pl->lanes[1], p[0], &is_ctl) == PKT_OK && p[0]->peer_id == 3,
	      "link_rx of lane 1 takes it");
	pkt_free(p[0]);

	OK(pipeline_send_ping(pl, 3));
	CHECK(spsc_count(pl->lanes[1].ctrl_to_tun_rx) == 1 &&
	      spsc_count(pl->lanes[0].ctrl_to_tun_rx) == 0, "ping to peer 3's lane");
	pipeline_destroy(pl);
}

/* ---- 7. inline crypto --------------------------------------------------- */

/* Inline crypto: a client of one lane, or a server of @lanes. */
static struct pipeline *make_inline(unsigned int lanes, unsigned int workers, int *rc)
{
	return make_lanes_inl(lanes, workers, lanes > 1, LINK_UDP, true, rc);
}

/*
 * With a coalescing tun_tx (gro_flags, set from TUN_OFF_VNET), the open marks
 * a TCP segment whose checksums hold (PKT_F_CSUM_OK) while its plaintext is
 * hot, and leaves one with a wrong TCP checksum unmarked, for the
 * coalescer to send alone.
 */
static void test_inline_csum_note(struct pipeline *pl, struct dc_keyslot *peer_ks)
{
	struct crypt_thread *d = pl->links[0].rx.crypt;

	d->gro_flags = tun_gro_flags(TUN_OFF_VNET | TUN_OFF_TSO);
	CHECK(d->gro_flags == GRO_F_TCP, "TSO without USO: TCP only (%u)", d->gro_flags);
	for (unsigned int bad = 0; bad < 2; bad++) {
		const uint32_t len = GRO_NOTE_MIN + 40;
		struct pkt *p = get();
		uint8_t *ip = p->data;

		memset(ip, 0, 40);
		ip[0] = 0x45;
		store_be16(ip + 2, (uint16_t)len);
		ip[8] = 64;
		ip[9] = GSO_PROTO_TCP;
		memcpy(ip + 12, "\xc6\x13\x15\x01\xc6\x13\x15\x02", 8);
		csum_store(ip + 10, csum_ipv4_hdr(ip, 20));
		store_be16(ip + 20, 40000);
		store_be16(ip + 22, 5201);
		ip[32] = 5 << 4;
		ip[33] = GSO_TCP_ACK;
		memset(ip + 40, 'x', len - 40);
		csum_store(ip + 36, csum_fold(csum_partial(ip + 20, len - 20,
							     csum_pseudo(ip, false, GSO_PROTO_TCP,
									 len - 20))));
		ip[len - 1] ^= (uint8_t)bad;
		p->len = len;
		p->pid = 10 + bad;
		CHECK(dc_seal(peer_ks, 0, p, PEER_ID_NONE), "peer seals");
		p->flags = 0;
		CHECK(dc_classify(p) == PKT_OK, "classify");
		p->peer_id = 0;
		crypt_inline_burst(d, &p, 1);
		CHECK(p->verdict == PKT_OK && p->len == len, "opened (bad %u): %u", bad, p->verdict);
		CHECK(!!(p->flags & PKT_F_CSUM_OK) == !bad, "checksums %s: flags %#x",
		      bad ? "wrong, not marked" : "right, marked", p->flags);
		pkt_free(p);
	}
	d->gro_flags = 0;
}

/*
 * Inline crypto: no worker threads and no worker input rings; each lane's
 * tun_rx and link_rx hold worker w0's contexts and deal to the collectors'
 * rings, whose collectors ring link_rx (and tun_rx only with TUN offloads).
 * tun_rx's worker seals what the peer opens, link_rx's opens what the peer
 * sealed and refuses a forgery, each counted in the worker's counters.
 */
static void test_inline(void)
{
	struct dc_keyslot *peer_ks;
	struct pipeline *pl;
	struct pkt *p;
	int rc;

	pl = make_inline(1, 2, &rc);
	CHECK(rc == -EINVAL && !pl, "inline with 2 workers for 1 lane refused: %d", rc);
	pl = make_inline(2, 2, &rc);
	REQUIRE(rc == 0 && pl, "inline, 2 lanes: %d", rc);
	CHECK(pl->nthr == 8, "2 lanes inline: %u threads, want 8 (no workers)", pl->nthr);
	for (unsigned int k = 0; k < 2; k++) {
		struct pipe_lane *ln = &pl->lanes[k];
		struct pipe_link *pk = &pl->links[k];
		unsigned int w = ln->w0;

		CHECK(ln->nw == 1 && w == k, "lane %u: worker %u of %u", k, w, ln->nw);
		CHECK(ln->tun_rx.crypt == &pl->enc[w] && pk->rx.crypt == &pl->dec[w],
		      "lane %u: the dealers run worker %u", k, w);
		CHECK(!pl->enc[w].in && !pl->dec[w].in, "lane %u: no worker input rings", k);
		CHECK(ln->tun_rx.nout == 1 && ln->tun_rx.out[0] == pl->enc[w].out &&
		      pk->tx.in[0] == pl->enc[w].out, "lane %u: tun_rx -> link_tx", k);
		CHECK(pk->rx.nout == 1 && pk->rx.out[0] == pl->dec[w].out &&
		      ln->tun_tx.in[0] == pl->dec[w].out, "lane %u: link_rx -> tun_tx", k);
		CHECK(ln->tun_tx.dealer_db == &pk->rx.lp.db && !pk->tx.dealer_db,
		      "lane %u: tun_tx rings link_rx; without TUN offloads tun_rx never waits", k);
		CHECK(!pl->dec[w].gro_flags, "lane %u: no TUN offloads, no checksums at open", k);
	}
	pipeline_destroy(pl);

	pl = make_inline(1, 1, &rc);
	REQUIRE(rc == 0 && pl, "inline client: %d", rc);
	CHECK(pl->nthr == 4, "inline client: %u threads, want 4", pl->nthr);
	OK(pipeline_peer_add(pl, 0, TX_PEER_ID, NULL, 0));
	OK(pipeline_key_install(pl, 0, 1, DC_AES_256_GCM, key_a));
	OK(dc_keyslot_create(&peer_ks, DC_AES_256_GCM, key_a, true, 1, 1, 64, 15, false));
	/* tun_rx seals: the peer (the server's half) opens it. */
	p = get();
	memcpy(p->data, "\x45inline-bytes", 14);
	p->len = 14;
	p->pid = 7;
	p->key_id = 1;
	p->peer_id = 0;
	p->verdict = PKT_OK;
	crypt_inline_burst(pl->lanes[0].tun_rx.crypt, &p, 1);
	CHECK(p->verdict == PKT_OK && p->len > 14, "sealed inline: verdict %u len %u", p->verdict,
	      p->len);
	p->flags = 0;
	CHECK(dc_classify(p) == PKT_OK && dc_open(peer_ks, 0, p) && p->len == 14 &&
	      !memcmp(p->data, "\x45inline-bytes", 14), "the peer opens tun_rx's seal");
	pkt_free(p);
	CHECK(pl->enc[0].thr.stats.rx_pkts == 1 && pl->enc[0].thr.stats.tx_pkts == 1,
	      "encrypt counters: rx %llu tx %llu", (unsigned long long)pl->enc[0].thr.stats.rx_pkts,
	      (unsigned long long)pl->enc[0].thr.stats.tx_pkts);
	/* link_rx opens what the peer sealed; a flipped byte is refused and counted. */
	for (unsigned int forged = 0; forged < 2; forged++) {
		p = get();
		memcpy(p->data, "\x45payload-bytes", 14);
		p->len = 14;
		p->pid = 1 + forged;
		CHECK(dc_seal(peer_ks, 0, p, PEER_ID_NONE), "peer seals");
		if (forged)
			p->data[p->len - 1] ^= 1;
		p->flags = 0;
		CHECK(dc_classify(p) == PKT_OK, "classify");
		p->peer_id = 0;
		crypt_inline_burst(pl->links[0].rx.crypt, &p, 1);
		CHECK(forged ? p->verdict != PKT_OK : p->verdict == PKT_OK && p->len == 14,
		      "link_rx opens inline (forged %u): verdict %u len %u", forged, p->verdict,
		      p->len);
		pkt_free(p);
	}
	CHECK(pl->dec[0].thr.stats.rx_pkts == 2 && pl->dec[0].thr.stats.tx_pkts == 1,
	      "decrypt counters: rx %llu tx %llu", (unsigned long long)pl->dec[0].thr.stats.rx_pkts,
	      (unsigned long long)pl->dec[0].thr.stats.tx_pkts);
	test_inline_csum_note(pl, peer_ks);
	dc_keyslot_free(peer_ks);
	pipeline_destroy(pl);
}

int main(void)
{
	struct pipeline *cl, *srv;

	for (unsigned int i = 0; i < KEY2_LEN; i++) {
		key_a[i] = (uint8_t)(i * 7 + 1);
		key_b[i] = (uint8_t)(i * 11 + 3);
	}
	OK(dc_global_init());
	epoch_init();
	OK(pool_create(&pool, 512, PKT_CLASS_MTU, 0));
	cl = make(false);
	srv = make(true);
	test_ops(cl, srv);
	test_peers(cl);
	test_ctrl(cl);
	test_key_stamps(cl);
	test_send_client(cl);
	test_link_rx_client(cl);
	test_send_server(srv);
	test_lanes();
	test_inline();
	pipeline_destroy(srv);
	pipeline_destroy(cl);
	epoch_barrier();
	CHECK(pool_available(pool) == 512, "test pool: %u of 512 home", pool_available(pool));
	pool_destroy(pool);
	dc_global_cleanup();
	return harness_done("pipeline_test");
}
