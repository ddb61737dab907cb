/*
 * io_test.c - tests for io/: the setup helpers and the link loops
 * (tun_test.c has the TUN loops, tcp_test.c the TCP link).
 *
 * 1. Table cases: argument checks of tun_open, udp_open and the netlink
 *    calls that fail before anything reaches the kernel (no root needed,
 *    nothing touches the host's network); the round-robin dealer and
 *    collector against a full and an empty ring.
 * 2. Link loops over UDP links (no root): link_tx on one loopback socket
 *    sends to link_rx on another. The test thread is the encrypt workers (two rings dealt round
 *    robin, with refused packets that still take their turn) and ctrl (a
 *    control ring with per-packet destinations), and the decrypt workers and
 *    ctrl on the other side (two rings collected in order, plus ctrl_out).
 *    10000 stamped datagrams, paced by a bounded in-flight window; checks
 *    order, content, source address, exact counters, the peer's last_tx_ns,
 *    the short/oversize drops, and that every packet went home.
 * 3. Fixed buffers (uring.h): pools registered with a ring map their
 *    packets to their buffer index; a repeated or NULL pool is skipped, a
 *    packet of another pool or a range past the slab gets -1 (plain op);
 *    a registered slab is kept out of forked children until unregistered.
 *
 * Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/epoch.h"
#include "../../io/peer.h"
#include "../../core/pkt.h"
#include "../../core/ring.h"
#include "../../core/thread.h"
#include "../../io/io.h"
#include "../../io/link.h"
#include "../../io/loop.h"
#include "../../io/uring.h"
#include "harness.h"
#include "io_rig.h"

static struct thread main_thr;

/* ---- 1. table cases ------------------------------------------------------ */

static int tcase;

#define T(expr, expected)							\
	do {									\
		int got_ = (expr);						\
		tcase++;							\
		CHECK(got_ == (expected), "case %d: %s = %d, expected %d", tcase, #expr, \
		      got_, (expected));					\
	} while (0)

static void test_table(void)
{
	struct in_addr a4 = { .s_addr = htonl(0xc6126301) };	/* 198.18.99.1 */
	struct in6_addr a6 = IN6ADDR_LOOPBACK_INIT;
	union sockaddr_any v4 = { .in4 = { .sin_family = AF_INET } };
	union sockaddr_any v6 = { .in6 = { .sin6_family = AF_INET6 } };

	T(nl_link_set("", 1400, true), -EINVAL);
	T(nl_link_set("name-far-too-long", 0, true), -EINVAL);
	T(nl_link_set(NULL, 0, true), -EINVAL);
	T(nl_link_set("slio-none0", 0, true), -ENODEV);
	T(nl_addr_add("lo", AF_UNIX, &a4, 24, NULL), -EAFNOSUPPORT);
	T(nl_addr_add("lo", AF_INET, &a4, 33, NULL), -EINVAL);
	T(nl_addr_add("lo", AF_INET, &a4, -1, NULL), -EINVAL);
	T(nl_addr_add("lo", AF_INET6, &a6, 129, NULL), -EINVAL);
	T(nl_addr_add("lo", AF_INET, NULL, 24, NULL), -EINVAL);
	T(nl_addr_add("slio-none0", AF_INET, &a4, 24, NULL), -ENODEV);
	T(nl_addr_del("slio-none0", AF_INET6, &a6, 64), -ENODEV);
	T(nl_route_add(AF_INET, &a4, 24, NULL, NULL, 0), -EINVAL);
	T(nl_route_add(AF_INET, NULL, 8, NULL, "lo", 0), -EINVAL);
	T(nl_route_add(AF_INET, &a4, 24, NULL, "lo", -1), -EINVAL);
	T(nl_route_add(AF_INET, &a4, 24, NULL, "slio-none0", 0), -ENODEV);
	T(nl_route_del(AF_INET6, &a6, 200, NULL, "lo", 0), -EINVAL);
	T(nl_route_del(AF_PACKET, &a6, 8, NULL, "lo", 0), -EAFNOSUPPORT);
	T(tun_open("a-name-longer-than-15", NULL, false, &(unsigned int){ 0 }), -ENAMETOOLONG);
	T(udp_open(NULL, 0, NULL, 0), -EINVAL);
	T(udp_open(&v4, sizeof(v4.in4), &v6, sizeof(v6.in6)), -EAFNOSUPPORT);
	v4.sa.sa_family = AF_UNIX;
	T(udp_open(&v4, sizeof(v4.in4), NULL, 0), -EAFNOSUPPORT);
}

/*
 * Dealer and collector on three rings of capacity 3, ring 1 full: the dealer
 * drops at the full ring without moving on; the collector stops at the first
 * empty ring whose turn it is.
 */
static void test_deal_collect(void)
{
	struct spsc *r[3];
	struct pool *pool;
	struct pkt *p[8], *q[8];
	struct stats st;
	unsigned int deal = 0, coll = 0, i, n;

	memset(&st, 0, sizeof(st));
	OK(pool_create(&pool, 16, PKT_CLASS_MTU, main_thr.tid));
	for (i = 0; i < 3; i++)
		OK(spsc_create(&r[i], 4, NULL, "deal"));
	CHECK(pool_get_burst(pool, p, 8) == 8, "pool");
	for (i = 0; i < 8; i++)
		p[i]->seq = i;
	CHECK(spsc_enqueue_burst(r[1], p, 3) == 3, "prefill");	/* seq 0..2 fill ring 1 */
	uring_pkt_deal(r, 3, &deal, &p[3], 3, &st);		/* 3 -> r0; 4, 5 dropped */
	CHECK(deal == 1 && st.tx_pkts == 1 && st.drop[DROP_RING_FULL] == 2,
	      "deal into a full ring: cursor %u tx %llu drops %llu", deal,
	      (unsigned long long)st.tx_pkts, (unsigned long long)st.drop[DROP_RING_FULL]);
	CHECK(spsc_dequeue_burst(r[1], q, 1) == 1 && q[0]->seq == 0, "ring 1 head");
	pkt_free(q[0]);
	uring_pkt_deal(r, 3, &deal, &p[6], 2, &st);		/* 6 -> r1, 7 -> r2 */
	CHECK(deal == 0 && st.tx_pkts == 3, "deal wraps: cursor %u tx %llu", deal,
	      (unsigned long long)st.tx_pkts);
	n = uring_pkt_collect(r, 3, &coll, q, 8);		/* 3, 1, 7, then r0 empty */
	CHECK(n == 3 && coll == 0 && q[0]->seq == 3 && q[1]->seq == 1 && q[2]->seq == 7,
	      "collect in deal order: n %u cursor %u", n, coll);
	pkt_free_burst(q, n);
	n = uring_pkt_collect(r, 3, &coll, q, 8);
	CHECK(n == 0 && coll == 0, "collect stops at an empty ring: n %u cursor %u", n, coll);
	for (i = 0; i < 3; i++) {
		while (spsc_dequeue_burst(r[i], q, 1))
			pkt_free(q[0]);
		spsc_destroy(r[i]);
	}
	CHECK(pool_available(pool) == 16, "deal pool: %u of 16 home", pool_available(pool));
	pool_destroy(pool);
}

/*
 * Inline crypto: a collector that takes its ring from more than half full
 * to half rings the dealer (loop_tx_collect's dealer_db), and only then: a
 * collect that stays above half, or starts at half, does not.
 */
static void test_collect_rings_dealer(void)
{
	static struct loop lo;		/* large: not on the stack */
	struct doorbell db;
	struct spsc *r;
	struct pool *pool;
	struct pkt *p[8], *q[8];
	struct pollfd pfd;
	unsigned int cur = 0, n;

	memset(&lo, 0, sizeof(lo));
	lo.ts.nfree = 8;
	OK(doorbell_init(&db));
	OK(pool_create(&pool, 16, PKT_CLASS_MTU, main_thr.tid));
	OK(spsc_create(&r, 8, NULL, "inl"));		/* 7 packets; half is 3 */
	CHECK(pool_get_burst(pool, p, 7) == 7, "pool");
	CHECK(spsc_enqueue_burst(r, p, 7) == 7, "fill");
	pfd = (struct pollfd){ .fd = db.efd, .events = POLLIN };

	db.sleeping = 1;				/* the dealer waits for room */
	n = loop_tx_collect(&lo, &r, 1, &cur, q, 2, &db);	/* 7 -> 5: above half */
	pkt_free_burst(q, n);
	CHECK(n == 2 && poll(&pfd, 1, 0) == 0 && db.sleeping, "7 -> 5: not rung");
	n = loop_tx_collect(&lo, &r, 1, &cur, q, 2, &db);	/* 5 -> 3: crosses half */
	pkt_free_burst(q, n);
	CHECK(n == 2 && poll(&pfd, 1, 0) == 1 && !db.sleeping, "5 -> 3: the dealer rung");
	doorbell_clear(&db);
	db.sleeping = 1;
	n = loop_tx_collect(&lo, &r, 1, &cur, q, 8, &db);	/* 3 -> 0: was not above half */
	pkt_free_burst(q, n);
	CHECK(n == 3 && poll(&pfd, 1, 0) == 0, "3 -> 0: not rung");
	n = loop_tx_collect(&lo, &r, 1, &cur, q, 8, NULL);	/* no dealer: nothing to ring */
	CHECK(n == 0, "empty");
	spsc_destroy(r);
	doorbell_destroy(&db);
	CHECK(pool_available(pool) == 16, "pool: %u of 16 home", pool_available(pool));
	pool_destroy(pool);
}

/* ---- 2. link loops over UDP ----------------------------------------------- */

#define UDP_TOTAL	10000	/* datagrams through udp_tx */
#define UDP_CTRL_EVERY	100	/* every 100th (k % 100 == 50) goes via ctrl_in */
#define UDP_REFUSE_EVERY 1000	/* after k % 1000 == 7, a refused packet takes a turn */
#define UDP_WINDOW	256	/* datagrams in flight at most... */
#define UDP_TRUESIZE	4096	/* ...and no more than the receive buffer holds at this each */
#define UDP_WORKERS	2
#define UDP_POOL	1024
#define UDP_DEADLINE_NS	(60 * NSEC_PER_SEC)
#define UDP_CTRL_BYTE	0x20

static struct link_tx_thread utx;
static struct link_rx_thread urx;

/* Datagrams in a row of the same length: 1, or 8 to give UDP GSO runs to batch. */
static unsigned int udp_run = 1;

/* Lengths 9..1408 with a seq-derived pattern, so a mix-up shows. */
static uint32_t udp_len(uint64_t seq)
{
	return 9 + (uint32_t)((seq / udp_run * 37) % 1400);
}

static void udp_fill(struct pkt *p, uint8_t kind, uint64_t seq)
{
	uint32_t len = udp_len(seq);

	p->data[0] = kind;
	for (int i = 0; i < 8; i++)
		p->data[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
	for (uint32_t i = 9; i < len; i++)
		p->data[i] = (uint8_t)(seq + i);
	p->len = len;
}

/* Returns the stamp, or UINT64_MAX if length or pattern are wrong. */
static uint64_t udp_check(const struct pkt *p)
{
	uint64_t seq = 0;

	if (p->len < 9)
		return UINT64_MAX;
	for (int i = 0; i < 8; i++)
		seq = seq << 8 | p->data[1 + i];
	if (p->len != udp_len(seq))
		return UINT64_MAX;
	for (uint32_t i = 9; i < p->len; i++)
		if (p->data[i] != (uint8_t)(seq + i))
			return UINT64_MAX;
	return seq;
}

static uint8_t udp_classify(void *ctx, struct pkt *p, bool *is_control)
{
	(void)ctx;
	if (p->len == 0)
		return DROP_SHORT;
	*is_control = p->data[0] == UDP_CTRL_BYTE;
	return PKT_OK;
}

struct udp_side {
	struct spsc *enc[UDP_WORKERS], *ctl_in, *dec[UDP_WORKERS], *ctl_out;
	struct pool *txpool, *rxpool, *bufpool;
	unsigned int flags;		/* LINK_F_* asked for */
	union sockaddr_any rx_addr, tx_addr;
	struct peer peer;
	struct dc_peer *slot[1];
	struct dc_peer_table peers;
	unsigned int deal, collect;	/* round-robin cursors of the test's "workers" */
	unsigned int window;		/* datagrams in flight at most */
	uint64_t next, sent_dgrams, sent_bytes, refused;
	uint64_t got_data, got_ctrl, data_seq, ctrl_seq;
};

static void udp_setup(struct udp_side *u)
{
	union sockaddr_any lo = { .in4 = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	socklen_t len = sizeof(u->rx_addr.in4);
	unsigned int got;
	int v = 0, rx_fd, tx_fd;

	OK(rx_fd = udp_open(&lo, sizeof(lo.in4), NULL, 0));
	OK(getsockname(rx_fd, &u->rx_addr.sa, &len));
	OK(tx_fd = udp_open(&lo, sizeof(lo.in4), &u->rx_addr, sizeof(u->rx_addr.in4)));
	len = sizeof(u->tx_addr.in4);
	OK(getsockname(tx_fd, &u->tx_addr.sa, &len));
	len = sizeof(v);
	OK(getsockopt(rx_fd, SOL_SOCKET, SO_RCVBUF, &v, &len));
	/* One link per socket here: the test sends from one to the other. */
	OK(link_udp_create(&urx.link, rx_fd, 0, u->flags, &got));
	CHECK(got == u->flags, "rx link offloads 0x%x of 0x%x", got, u->flags);
	OK(link_udp_create(&utx.link, tx_fd, 0, u->flags, &got));
	CHECK(got == u->flags, "tx link offloads 0x%x of 0x%x", got, u->flags);
	CHECK(geteuid() != 0 || v >= 4 << 20, "udp_open: SO_RCVBUF %d, expected >= 4 MiB as root", v);
	/* Without root the buffer is capped by rmem_max: pace so it never overflows. */
	u->window = MIN(UDP_WINDOW, MAX(16, v / UDP_TRUESIZE));

	OK(doorbell_init(&utx.lp.db));
	OK(doorbell_init(&urx.lp.db));
	/*
	 * Pinned: loopback queues each datagram on the sending CPU's backlog, so
	 * a sender that migrates under load can see its datagrams reordered by
	 * the kernel. One CPU keeps the wire order the order udp_tx sent in.
	 */
	OK(thread_init(&utx.lp.thr, "link_tx", link_tx_thread_main, &utx, 0));
	OK(thread_init(&urx.lp.thr, "link_rx", link_rx_thread_main, &urx, -1));
	OK(pool_create(&u->txpool, UDP_POOL, PKT_CLASS_MTU, main_thr.tid));
	OK(pool_add_returner(u->txpool, utx.lp.thr.tid));
	OK(pool_create(&u->rxpool, UDP_POOL, PKT_CLASS_MTU, urx.lp.thr.tid));
	OK(pool_add_returner(u->rxpool, main_thr.tid));
	for (int i = 0; i < UDP_WORKERS; i++) {
		OK(spsc_create(&u->enc[i], 512, &utx.lp.db, "enc"));
		OK(spsc_create(&u->dec[i], 1024, NULL, "dec"));
		utx.in[i] = u->enc[i];
		urx.out[i] = u->dec[i];
	}
	OK(spsc_create(&u->ctl_in, 128, &utx.lp.db, "ctl_in"));
	OK(spsc_create(&u->ctl_out, 256, NULL, "ctl_out"));
	utx.nin = urx.nout = UDP_WORKERS;
	utx.ctrl_in = u->ctl_in;
	urx.ctrl_out = u->ctl_out;
	urx.pool = urx.link->rx_pool = u->rxpool;
	if (urx.link->rx_copies) {
		/* GRO: reads go to 64 KiB buffers of their own, datagrams are copied out. */
		OK(pool_create(&u->bufpool, URING_RX_SLOTS + 8, PKT_CLASS_GSO, urx.lp.thr.tid));
		urx.pool = u->bufpool;
	}
	urx.classify = udp_classify;

	u->peer.id = 0;
	u->slot[0] = &u->peer.dc;
	u->peers.size = 1;
	u->peers.slot = u->slot;
	utx.peers = &u->peers;
	epoch_reader_register(&utx.lp.epoch);
}

/* Deals @p to the worker ring whose turn it is (never full here). */
static void udp_deal(struct udp_side *u, struct pkt *p)
{
	if (spsc_enqueue_burst(u->enc[u->deal], &p, 1) != 1) {
		CHECK(0, "enc ring %u full", u->deal);
		pkt_free(p);
		return;
	}
	u->deal = (u->deal + 1) % UDP_WORKERS;
}

static bool udp_send_one(struct udp_side *u)
{
	uint64_t k = u->next;
	struct pkt *p = pool_get(u->txpool);

	if (!p)
		return false;
	if (k % UDP_CTRL_EVERY == 50) {
		udp_fill(p, UDP_CTRL_BYTE, k);
		p->addr = u->rx_addr;	/* exercises msg_name on the connected socket */
		p->addr_len = sizeof(u->rx_addr.in4);
		if (spsc_enqueue_burst(u->ctl_in, &p, 1) != 1) {
			pkt_free(p);
			return false;
		}
	} else {
		udp_fill(p, 0x48, k);
		udp_deal(u, p);
	}
	u->sent_dgrams++;
	u->sent_bytes += udp_len(k);
	if (k % UDP_REFUSE_EVERY == 7) {
		p = pool_get(u->txpool);
		if (p) {
			udp_fill(p, 0x48, k);
			p->verdict = DROP_NO_KEY;	/* a worker's refusal keeps its turn */
			udp_deal(u, p);
			u->refused++;
		}
	}
	u->next++;
	return true;
}

static void udp_take(struct udp_side *u, struct pkt *p, bool is_ctrl)
{
	uint64_t seq = udp_check(p);
	uint64_t *expect = is_ctrl ? &u->ctrl_seq : &u->data_seq;

	CHECK(seq != UINT64_MAX, "datagram with bad length or pattern (len %u)", p->len);
	CHECK(seq == *expect, "%s seq %llu, expected %llu", is_ctrl ? "ctrl" : "data",
	      (unsigned long long)seq, (unsigned long long)*expect);
	CHECK(is_ctrl == (p->data[0] == UDP_CTRL_BYTE), "seq %llu on the wrong ring",
	      (unsigned long long)seq);
	CHECK(!is_ctrl || (p->flags & PKT_F_CONTROL), "ctrl packet without PKT_F_CONTROL");
	CHECK(p->addr_len == sizeof(struct sockaddr_in) &&
	      p->addr.in4.sin_port == u->tx_addr.in4.sin_port,
	      "source address not udp_tx's socket (len %u)", p->addr_len);
	/* Next expected: the following stamp of the same kind. */
	do {
		(*expect)++;
	} while ((*expect % UDP_CTRL_EVERY == 50) != is_ctrl);
	if (is_ctrl)
		u->got_ctrl++;
	else
		u->got_data++;
	pkt_free(p);
}

static bool udp_receive(struct udp_side *u)
{
	struct pkt *p;
	bool progress = false;

	while (spsc_dequeue_burst(u->dec[u->collect], &p, 1)) {
		udp_take(u, p, false);
		u->collect = (u->collect + 1) % UDP_WORKERS;
		progress = true;
	}
	while (spsc_dequeue_burst(u->ctl_out, &p, 1)) {
		udp_take(u, p, true);
		progress = true;
	}
	return progress;
}

static void udp_pump(struct udp_side *u)
{
	int64_t deadline = clock_mono_ns() + UDP_DEADLINE_NS;

	u->ctrl_seq = 50;
	while (u->got_data + u->got_ctrl < UDP_TOTAL && clock_mono_ns() < deadline) {
		bool progress = udp_receive(u);

		while (u->next < UDP_TOTAL &&
		       u->sent_dgrams - (u->got_data + u->got_ctrl) < u->window &&
		       udp_send_one(u))
			progress = true;
		if (!progress)
			sleep_us(50);
	}
	CHECK(u->got_data + u->got_ctrl == UDP_TOTAL, "received %llu of %d datagrams",
	      (unsigned long long)(u->got_data + u->got_ctrl), UDP_TOTAL);
	CHECK(u->got_ctrl == UDP_TOTAL / UDP_CTRL_EVERY, "ctrl datagrams %llu",
	      (unsigned long long)u->got_ctrl);
}

/* A zero-length and an oversize datagram from a plain socket. */
static void udp_send_junk(struct udp_side *u)
{
	static uint8_t big[3000];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int64_t deadline = clock_mono_ns() + 10 * NSEC_PER_SEC;

	OK(fd);
	CHECK(sendto(fd, big, 0, 0, &u->rx_addr.sa, sizeof(u->rx_addr.in4)) == 0, "send empty");
	CHECK(sendto(fd, big, sizeof(big), 0, &u->rx_addr.sa, sizeof(u->rx_addr.in4)) ==
	      (ssize_t)sizeof(big), "send oversize");
	close(fd);
	while ((STAT_READ(urx.lp.thr.stats.drop[DROP_SHORT]) < 1 ||
		STAT_READ(urx.lp.thr.stats.drop[DROP_OVERSIZE]) < 1) && clock_mono_ns() < deadline)
		sleep_us(1000);
	while (STAT_READ(utx.lp.thr.stats.tx_pkts) < UDP_TOTAL && clock_mono_ns() < deadline)
		sleep_us(1000);
}

static void udp_check_counters(struct udp_side *u)
{
	const struct stats *t = &utx.lp.thr.stats, *r = &urx.lp.thr.stats;
	uint64_t ctrl = UDP_TOTAL / UDP_CTRL_EVERY;

	CHECK(t->rx_pkts == UDP_TOTAL + u->refused, "udp_tx rx_pkts %llu",
	      (unsigned long long)t->rx_pkts);
	CHECK(t->tx_pkts == UDP_TOTAL, "udp_tx tx_pkts %llu", (unsigned long long)t->tx_pkts);
	CHECK(t->tx_bytes == u->sent_bytes, "udp_tx tx_bytes %llu, expected %llu",
	      (unsigned long long)t->tx_bytes, (unsigned long long)u->sent_bytes);
	CHECK(u->refused == UDP_TOTAL / UDP_REFUSE_EVERY && t->drop[DROP_NO_KEY] == u->refused,
	      "udp_tx drop[no_key] %llu, refused %llu", (unsigned long long)t->drop[DROP_NO_KEY],
	      (unsigned long long)u->refused);
	CHECK(t->drop[DROP_IO] == 0, "udp_tx drop[io] %llu", (unsigned long long)t->drop[DROP_IO]);
	CHECK(r->rx_pkts == UDP_TOTAL + 2, "udp_rx rx_pkts %llu", (unsigned long long)r->rx_pkts);
	CHECK(r->rx_bytes == u->sent_bytes + 3000, "udp_rx rx_bytes %llu, expected %llu",
	      (unsigned long long)r->rx_bytes, (unsigned long long)u->sent_bytes + 3000);
	CHECK(r->tx_pkts == UDP_TOTAL, "udp_rx tx_pkts %llu", (unsigned long long)r->tx_pkts);
	CHECK(r->ctrl_pkts == ctrl, "udp_rx ctrl_pkts %llu", (unsigned long long)r->ctrl_pkts);
	CHECK(r->drop[DROP_SHORT] == 1 && r->drop[DROP_OVERSIZE] == 1,
	      "udp_rx drop[short] %llu drop[oversize] %llu",
	      (unsigned long long)r->drop[DROP_SHORT], (unsigned long long)r->drop[DROP_OVERSIZE]);
	for (int i = DROP_RING_FULL; i < DROP_MAX; i++) {
		if (i == DROP_SHORT || i == DROP_OVERSIZE)
			continue;
		CHECK(r->drop[i] == 0, "udp_rx drop[%s] %llu", stats_drop_name(i),
		      (unsigned long long)r->drop[i]);
	}
	CHECK(u->peer.last_tx_ns > 0 && u->peer.last_tx_ns <= clock_mono_ns(),
	      "peer last_tx_ns %lld", (long long)u->peer.last_tx_ns);
}

/* After both loops stopped: every packet is home, none leaked. */
static void udp_check_pools(struct udp_side *u)
{
	CHECK(pool_available(u->txpool) == UDP_POOL, "tx pool: %u of %d home",
	      pool_available(u->txpool), UDP_POOL);
	pool_set_home(u->rxpool, main_thr.tid);
	CHECK(pool_available(u->rxpool) == UDP_POOL, "rx pool: %u of %d home",
	      pool_available(u->rxpool), UDP_POOL);
	CHECK(u->txpool->leaked == 0 && u->rxpool->leaked == 0, "pool leaks");
	if (u->bufpool) {
		pool_set_home(u->bufpool, main_thr.tid);
		CHECK(pool_available(u->bufpool) == URING_RX_SLOTS + 8, "read buffers: %u home",
		      pool_available(u->bufpool));
	}
}

static void udp_teardown(struct udp_side *u)
{
	epoch_reader_unregister(&utx.lp.epoch);
	for (int i = 0; i < UDP_WORKERS; i++) {
		spsc_destroy(u->enc[i]);
		spsc_destroy(u->dec[i]);
	}
	spsc_destroy(u->ctl_in);
	spsc_destroy(u->ctl_out);
	pool_destroy(u->txpool);
	pool_destroy(u->rxpool);
	pool_destroy(u->bufpool);
	doorbell_destroy(&utx.lp.db);
	doorbell_destroy(&urx.lp.db);
	close(utx.link->fd);
	close(urx.link->fd);
	link_destroy(utx.link);
	link_destroy(urx.link);
}

/* @flags: LINK_F_GSO | LINK_F_GRO, or 0 for one datagram per send and read. */
static void test_udp(unsigned int flags)
{
	static struct udp_side u;

	memset(&u, 0, sizeof(u));
	memset(&utx, 0, sizeof(utx));
	memset(&urx, 0, sizeof(urx));
	u.flags = flags;
	udp_run = flags ? 8 : 1;
	udp_setup(&u);
	OK(thread_start(&urx.lp.thr));
	OK(thread_start(&utx.lp.thr));
	udp_pump(&u);
	udp_send_junk(&u);
	udp_receive(&u);
	stop_thread(&utx.lp.thr, &utx.lp.db);
	stop_thread(&urx.lp.thr, &urx.lp.db);
	CHECK(utx.lp.err == 0 && urx.lp.err == 0, "loop start errors %d %d", utx.lp.err,
	      urx.lp.err);
	fprintf(stderr, "io_test: link_tx ring flags 0x%x, link_rx ring flags 0x%x, wakeups %llu/%llu\n",
		utx.lp.ring_flags, urx.lp.ring_flags, (unsigned long long)utx.lp.thr.stats.wakeups,
		(unsigned long long)urx.lp.thr.stats.wakeups);
	udp_check_counters(&u);
	if (flags) {
		/* Runs of equal datagrams went out batched and came in as GRO reads. */
		CHECK(utx.lp.thr.stats.super_pkts > 0 && urx.lp.thr.stats.super_pkts > 0,
		      "GSO sends %llu, GRO reads %llu",
		      (unsigned long long)utx.lp.thr.stats.super_pkts,
		      (unsigned long long)urx.lp.thr.stats.super_pkts);
		fprintf(stderr, "io_test: GSO %llu sends of %llu datagrams, GRO %llu reads of %llu\n",
			(unsigned long long)utx.lp.thr.stats.super_pkts,
			(unsigned long long)utx.lp.thr.stats.super_segs,
			(unsigned long long)urx.lp.thr.stats.super_pkts,
			(unsigned long long)urx.lp.thr.stats.super_segs);
	}
	udp_check_pools(&u);
	udp_teardown(&u);
}

/*
 * 1 if the mapping holding @addr is kept out of children ("dc" in its
 * smaps VmFlags: MADV_DONTFORK), 0 if not, -1 if smaps does not say.
 */
static int vma_dontfork(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			rc = strstr(line, " dc") != NULL;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void test_fixed_bufs(void)
{
	struct pool *a, *b, *c;
	struct pkt *pa, *pb, *pc;
	struct uring u;
	int rc;

	OK(pool_create(&a, 16, PKT_CLASS_MTU, main_thr.tid));
	OK(pool_create(&b, 4, PKT_CLASS_GSO, main_thr.tid));
	OK(pool_create(&c, 4, PKT_CLASS_MTU, main_thr.tid));
	rc = uring_open(&u, 8, -1, -1);
	if (rc) {
		fprintf(stderr, "io_test: no io_uring (%s), fixed buffers skipped\n", strerror(-rc));
		goto out;
	}
	rc = uring_register_pools(&u, (struct pool *[]){ a, NULL, b, a }, 4);
	if (rc < 0) {
		/* Refused (RLIMIT_MEMLOCK without CAP_IPC_LOCK): the plain ops must still run. */
		fprintf(stderr, "io_test: fixed buffers refused (%s)\n", strerror(-rc));
		CHECK(u.nbufs == 0, "refused, yet %u registered", u.nbufs);
	} else {
		CHECK(rc == 2 && u.nbufs == 2, "registered %d (%u), want 2", rc, u.nbufs);
	}
	pa = pool_get(a);
	pb = pool_get(b);
	pc = pool_get(c);
	OK(!pa || !pb || !pc ? -1 : 0);
	if (rc == 2) {
		CHECK(uring_pkt_buf(&u, pa, pa->data, pkt_data_room(pa)) == 0, "pool a");
		CHECK(uring_pkt_buf(&u, pb, pb->data - 12, 12 + pkt_data_room(pb)) == 1, "pool b");
		/* The last packet of a, to its last byte. */
		CHECK(uring_pkt_buf(&u, pa, a->mem + a->stride * a->count - 1, 1) == 0, "a's end");
		CHECK(uring_pkt_buf(&u, pa, a->mem + a->stride * a->count - 1, 2) == -1,
		      "past a's end");
	}
	CHECK(uring_pkt_buf(&u, pc, pc->data, pkt_data_room(pc)) == -1, "unregistered pool c");
	/* Registered slabs stay out of forked children, and come back when unregistered. */
	if (rc == 2)
		CHECK(vma_dontfork(b->mem + 4096) == 1, "pool b not MADV_DONTFORK while registered");
	pkt_free(pa);
	pkt_free(pb);
	pkt_free(pc);
	uring_close(&u);
	CHECK(vma_dontfork(b->mem + 4096) == 0, "pool b still MADV_DONTFORK after close");
out:
	pool_destroy(a);
	pool_destroy(b);
	pool_destroy(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	OK(thread_adopt(&main_thr, "io_test"));
	epoch_init();
	test_table();
	test_deal_collect();
	test_collect_rings_dealer();
	test_fixed_bufs();
	test_udp(0);
	test_udp(LINK_F_GSO | LINK_F_GRO);
	return harness_done("io_test");
}
