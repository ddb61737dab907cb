/*
 * io_test.c - tests for io/: the setup helpers and the four I/O loops.
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
 * 3. TUN loops (root; skipped otherwise): in a namespace slio-<pid> made with
 *    ip netns add, a TUN from tun_open, addresses and routes (IPv4, IPv6,
 *    point-to-point, gateway, metric) set and removed with the netlink calls
 *    and checked with ip(8); then tun_rx -> tun_tx joined by one ring, with a
 *    classify op that swaps IPv4/UDP source and destination, so a datagram
 *    sent to 198.18.99.2 comes back to its sender; ctrl's inject ring and
 *    tun_tx's ctrl ring carry one packet each.
 *
 * Exit 0 pass, 1 fail, 77 skip: parts 1 and 2 passed but part 3 could not
 * run (not root, or no ip netns).
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

/* MUST for calls that return a count, an fd or a pid on success: only < 0 fails. */
#define OK(expr)								\
	do {									\
		int rc_ = (expr);						\
		if (rc_ < 0)							\
			harness_fatal(__FILE__, __LINE__, "%s = %d (%s)", #expr, rc_,	\
				      strerror(-rc_));				\
	} while (0)

static struct thread main_thr;

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void stop_thread(struct thread *t, struct doorbell *db)
{
	thread_request_stop(t);
	doorbell_kick(db);
	thread_join(t);
}

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

/* ---- 3. TUN loops in a namespace ---------------------------------------- */

#define TUN_NAME	"slio0"
#define TUN_POOL	256
#define TUN_DEADLINE_NS	(10 * NSEC_PER_SEC)

static struct tun_rx_thread trx;
static struct tun_tx_thread ttx;
static char ns_name[32];
static pid_t ns_owner;

static void ns_cleanup(void)
{
	char cmd[96];

	if (!ns_name[0] || getpid() != ns_owner)
		return;
	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", ns_name);
	if (system(cmd)) {
		/* Already gone: deleted as soon as the child entered it. */
	}
	ns_name[0] = '\0';
}

/* Runs @cmd (in this process's namespace) and looks for @needle in its output. */
static bool cmd_has(const char *cmd, const char *needle)
{
	static char out[16384];
	size_t n = 0, r;
	FILE *f = popen(cmd, "r");

	if (!f)
		return false;
	while (n < sizeof(out) - 1 && (r = fread(out + n, 1, sizeof(out) - 1 - n, f)) > 0)
		n += r;
	out[n] = '\0';
	pclose(f);
	return strstr(out, needle) != NULL;
}

static void in4(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1)
		abort();
}

static void in6(const char *s, struct in6_addr *a)
{
	if (inet_pton(AF_INET6, s, a) != 1)
		abort();
}

static void test_tun_open(void)
{
	char a[IFNAMSIZ], b[IFNAMSIZ];
	unsigned int off;
	int q1, q2;

	q1 = tun_open("sliomq0", a, true, &(unsigned int){ 0 });
	q2 = tun_open("sliomq0", b, true, &(unsigned int){ 0 });
	CHECK(q1 >= 0 && q2 >= 0, "multi-queue open/attach: %d %d", q1, q2);
	CHECK(!strcmp(a, "sliomq0") && !strcmp(b, "sliomq0"), "multi-queue names %s %s", a, b);
	CHECK(q1 < 0 || (fcntl(q1, F_GETFL) & O_NONBLOCK), "tun fd not O_NONBLOCK");
	CHECK(q1 < 0 || (fcntl(q1, F_GETFD) & FD_CLOEXEC), "tun fd not FD_CLOEXEC");
	if (q2 >= 0)
		close(q2);
	if (q1 >= 0)
		close(q1);
	q1 = tun_open("", a, false, &(unsigned int){ 0 });
	CHECK(q1 >= 0 && !strncmp(a, "tun", 3), "kernel-named tun: %d %s", q1, a);
	if (q1 >= 0)
		close(q1);
	/* Offloads: asked for all, this kernel (>= 4.x) takes the header and TSO at least. */
	off = TUN_OFF_ALL;
	q1 = tun_open("sliooff0", a, false, &off);
	CHECK(q1 >= 0 && (off & (TUN_OFF_VNET | TUN_OFF_TSO)) == (TUN_OFF_VNET | TUN_OFF_TSO),
	      "offloads: fd %d granted 0x%x", q1, off);
	CHECK(q1 < 0 || !cmd_has("command -v ethtool", "ethtool") ||
	      cmd_has("ethtool -k sliooff0", "tcp-segmentation-offload: on"), "TSO not on for sliooff0");
	if (q1 >= 0)
		close(q1);
	off = TUN_OFF_TSO;	/* TSO without the header cannot be: nothing is taken */
	q1 = tun_open("sliooff0", a, false, &off);
	CHECK(q1 >= 0 && off == 0, "offloads without a header: fd %d granted 0x%x", q1, off);
	if (q1 >= 0)
		close(q1);
}

static void test_netlink_v4(void)
{
	struct in_addr a, peer, net, gw;

	in4("198.18.99.1", &a);
	CHECK(nl_link_set(TUN_NAME, 1400, true) == 0, "link set");
	CHECK(cmd_has("ip link show " TUN_NAME, "mtu 1400"), "mtu not 1400");
	CHECK(cmd_has("ip link show " TUN_NAME, ",UP"), "link not up");
	CHECK(nl_addr_add(TUN_NAME, AF_INET, &a, 24, NULL) == 0, "addr add");
	CHECK(nl_addr_add(TUN_NAME, AF_INET, &a, 24, NULL) == -EEXIST, "addr add twice");
	CHECK(cmd_has("ip -4 addr show dev " TUN_NAME, "inet 198.18.99.1/24"), "addr missing");

	in4("198.18.99.5", &a);
	in4("198.18.99.6", &peer);
	CHECK(nl_addr_add(TUN_NAME, AF_INET, &a, 32, &peer) == 0, "p2p addr add");
	CHECK(cmd_has("ip -4 addr show dev " TUN_NAME, "inet 198.18.99.5 peer 198.18.99.6/32"),
	      "p2p addr missing");
	CHECK(nl_addr_del(TUN_NAME, AF_INET, &a, 32) == 0, "p2p addr del");
	CHECK(!cmd_has("ip -4 addr show dev " TUN_NAME, "198.18.99.5"), "p2p addr still there");
	CHECK(nl_addr_del(TUN_NAME, AF_INET, &a, 32) == -EADDRNOTAVAIL, "p2p addr del twice");

	in4("198.18.100.0", &net);
	CHECK(nl_route_add(AF_INET, &net, 24, NULL, TUN_NAME, 0) == 0, "route add");
	CHECK(nl_route_add(AF_INET, &net, 24, NULL, TUN_NAME, 0) == -EEXIST, "route add twice");
	CHECK(cmd_has("ip -4 route", "198.18.100.0/24 dev " TUN_NAME " scope link"),
	      "route missing");
	CHECK(nl_route_del(AF_INET, &net, 24, NULL, TUN_NAME, 0) == 0, "route del");
	CHECK(!cmd_has("ip -4 route", "198.18.100.0/24"), "route still there");
	CHECK(nl_route_del(AF_INET, &net, 24, NULL, TUN_NAME, 0) == -ESRCH, "route del twice");

	in4("198.18.101.0", &net);
	in4("198.18.99.254", &gw);
	CHECK(nl_route_add(AF_INET, &net, 24, &gw, NULL, 50) == 0, "gw route add");
	CHECK(cmd_has("ip -4 route", "198.18.101.0/24 via 198.18.99.254 dev " TUN_NAME
		      " metric 50"), "gw route missing");
	CHECK(nl_route_add(AF_INET, NULL, 0, NULL, TUN_NAME, 100) == 0, "default route add");
	CHECK(cmd_has("ip -4 route", "default dev " TUN_NAME " scope link metric 100"),
	      "default route missing");
	CHECK(nl_route_del(AF_INET, NULL, 0, NULL, TUN_NAME, 100) == 0, "default route del");
	CHECK(nl_route_del(AF_INET, &net, 24, &gw, NULL, 50) == 0, "gw route del");
	CHECK(!cmd_has("ip -4 route", "198.18.101.0") && !cmd_has("ip -4 route", "default"),
	      "routes still there");
}

static void test_netlink_v6(void)
{
	struct in6_addr a, net, gw;

	in6("2001:db8::1", &a);
	in6("2001:db8:1::", &net);
	in6("2001:db8::2", &gw);
	CHECK(nl_addr_add(TUN_NAME, AF_INET6, &a, 64, NULL) == 0, "v6 addr add");
	CHECK(cmd_has("ip -6 addr show dev " TUN_NAME, "inet6 2001:db8::1/64"), "v6 addr missing");
	CHECK(nl_route_add(AF_INET6, &net, 48, NULL, TUN_NAME, 10) == 0, "v6 route add");
	CHECK(cmd_has("ip -6 route", "2001:db8:1::/48 dev " TUN_NAME " metric 10"),
	      "v6 route missing");
	in6("2001:db8:2::", &net);
	CHECK(nl_route_add(AF_INET6, &net, 48, &gw, TUN_NAME, 0) == 0, "v6 gw route add");
	CHECK(cmd_has("ip -6 route", "2001:db8:2::/48 via 2001:db8::2 dev " TUN_NAME),
	      "v6 gw route missing");
	CHECK(nl_route_del(AF_INET6, &net, 48, &gw, TUN_NAME, 0) == 0, "v6 gw route del");
	in6("2001:db8:1::", &net);
	CHECK(nl_route_del(AF_INET6, &net, 48, NULL, TUN_NAME, 10) == 0, "v6 route del");
	CHECK(nl_route_del(AF_INET6, &net, 48, NULL, TUN_NAME, 10) == -ESRCH, "v6 route del twice");
	CHECK(!cmd_has("ip -6 route", "2001:db8:1::") && !cmd_has("ip -6 route", "2001:db8:2::"),
	      "v6 routes still there");
	CHECK(nl_addr_del(TUN_NAME, AF_INET6, &a, 64) == 0, "v6 addr del");
	CHECK(!cmd_has("ip -6 addr show dev " TUN_NAME, "2001:db8::1"), "v6 addr still there");
}

/* tun_rx op: swaps IPv4/UDP source and destination, refuses anything else. */
static void tun_swap_classify(void *ctx, struct pkt **p, unsigned int n, struct stats *st)
{
	(void)ctx;
	(void)st;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = p[i]->data, t[4];
		unsigned int ihl;

		if (p[i]->len < 28 || d[0] >> 4 != 4 || d[9] != IPPROTO_UDP) {
			p[i]->verdict = DROP_NO_ROUTE;
			continue;
		}
		ihl = (d[0] & 0xf) * 4u;
		if (p[i]->len < ihl + 8) {
			p[i]->verdict = DROP_SHORT;
			continue;
		}
		/* Both checksums are sums: swapping fields leaves them right. */
		memcpy(t, d + 12, 4);
		memcpy(d + 12, d + 16, 4);
		memcpy(d + 16, t, 4);
		memcpy(t, d + ihl, 2);
		memcpy(d + ihl, d + ihl + 2, 2);
		memcpy(d + ihl + 2, t, 2);
	}
}

/* tun_tx op: payloads starting "to-ctrl" are in-band messages for ctrl. */
static void tun_ctrl_accept(void *ctx, struct pkt **p, unsigned int n, int64_t now,
			    struct stats *st)
{
	(void)ctx;
	(void)st;
	(void)now;
	for (unsigned int i = 0; i < n; i++)
		if (p[i]->len >= 35 && !memcmp(p[i]->data + 28, "to-ctrl", 7))
			p[i]->flags |= PKT_F_CONTROL;
}

static uint16_t ip_csum(const uint8_t *h, unsigned int len)
{
	uint32_t sum = 0;

	for (unsigned int i = 0; i < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4/UDP packet 198.18.99.1:5000 -> 198.18.99.2:6000, UDP checksum off. */
static void tun_build(struct pkt *p, const char *payload)
{
	size_t plen = strlen(payload);
	uint8_t *d = p->data;
	uint16_t csum;

	memset(d, 0, 28);
	d[0] = 0x45;
	d[2] = (uint8_t)((28 + plen) >> 8);
	d[3] = (uint8_t)(28 + plen);
	d[8] = 64;
	d[9] = IPPROTO_UDP;
	in4("198.18.99.1", (struct in_addr *)(d + 12));
	in4("198.18.99.2", (struct in_addr *)(d + 16));
	csum = ip_csum(d, 20);
	d[10] = (uint8_t)(csum >> 8);
	d[11] = (uint8_t)csum;
	d[20] = 5000 >> 8;
	d[21] = 5000 & 0xff;
	d[22] = 6000 >> 8;
	d[23] = 6000 & 0xff;
	d[24] = (uint8_t)((8 + plen) >> 8);
	d[25] = (uint8_t)(8 + plen);
	memcpy(d + 28, payload, plen);
	p->len = (uint32_t)(28 + plen);
}

/* Waits for one datagram on @fd and checks its payload and source. */
static void tun_expect(int fd, const char *payload)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	char buf[256];
	ssize_t n;

	if (poll(&pfd, 1, 5000) != 1) {
		CHECK(0, "no echo of \"%s\" through tun_rx -> tun_tx", payload);
		return;
	}
	n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
	CHECK(n == (ssize_t)strlen(payload) && !memcmp(buf, payload, strlen(payload)),
	      "echo payload: %zd bytes", n);
	CHECK(from.sin_port == htons(6000) && from.sin_addr.s_addr == htonl(0xc6126302),
	      "echo source %s:%u", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
}

struct tun_side {
	struct spsc *loop, *inject, *ctl;
	struct pool *rxpool, *mypool;
	int sock;
};

static void tun_setup(struct tun_side *s, int fd)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(5000) };

	trx.fd = ttx.fd = fd;
	OK(doorbell_init(&trx.lp.db));
	OK(doorbell_init(&ttx.lp.db));
	OK(thread_init(&trx.lp.thr, "tun_rx", tun_rx_thread_main, &trx, -1));
	OK(thread_init(&ttx.lp.thr, "tun_tx", tun_tx_thread_main, &ttx, -1));
	OK(pool_create(&s->rxpool, TUN_POOL, PKT_CLASS_MTU, trx.lp.thr.tid));
	OK(pool_add_returner(s->rxpool, ttx.lp.thr.tid));
	OK(pool_add_returner(s->rxpool, main_thr.tid));
	OK(pool_create(&s->mypool, 16, PKT_CLASS_MTU, main_thr.tid));
	OK(pool_add_returner(s->mypool, trx.lp.thr.tid));
	OK(pool_add_returner(s->mypool, ttx.lp.thr.tid));
	OK(spsc_create(&s->loop, 256, &ttx.lp.db, "loop"));
	OK(spsc_create(&s->inject, 16, &trx.lp.db, "inject"));
	OK(spsc_create(&s->ctl, 16, NULL, "ctl"));
	trx.pool = s->rxpool;
	trx.out[0] = ttx.in[0] = s->loop;
	trx.nout = ttx.nin = 1;
	trx.inject = s->inject;
	trx.classify = tun_swap_classify;
	ttx.ctrl_out = s->ctl;
	ttx.accept = tun_ctrl_accept;
	epoch_reader_register(&trx.lp.epoch);
	epoch_reader_register(&ttx.lp.epoch);

	in4("198.18.99.1", &me.sin_addr);
	OK(s->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	OK(bind(s->sock, (struct sockaddr *)&me, sizeof(me)));
}

static void tun_inject(struct tun_side *s, const char *payload)
{
	struct pkt *p = pool_get(s->mypool);

	if (!p) {
		CHECK(0, "test pool empty");
		return;
	}
	tun_build(p, payload);
	if (spsc_enqueue_burst(s->inject, &p, 1) != 1) {
		CHECK(0, "inject ring full");
		pkt_free(p);
	}
}

static void tun_expect_ctrl(struct tun_side *s)
{
	int64_t deadline = clock_mono_ns() + TUN_DEADLINE_NS;
	struct pkt *p = NULL;

	while (!spsc_dequeue_burst(s->ctl, &p, 1) && clock_mono_ns() < deadline)
		sleep_us(1000);
	CHECK(p && (p->flags & PKT_F_CONTROL) && p->len >= 35 &&
	      !memcmp(p->data + 28, "to-ctrl", 7), "no in-band packet on tun_tx's ctrl ring");
	if (p)
		pkt_free(p);
}

static void tun_check(struct tun_side *s)
{
	const struct stats *r = &trx.lp.thr.stats, *t = &ttx.lp.thr.stats;
	uint64_t refused = r->drop[DROP_NO_ROUTE];

	CHECK(trx.lp.err == 0 && ttx.lp.err == 0, "loop start errors %d %d", trx.lp.err,
	      ttx.lp.err);
	CHECK(r->rx_pkts >= 3 && r->rx_pkts == r->tx_pkts + refused,
	      "tun_rx rx %llu tx %llu refused %llu", (unsigned long long)r->rx_pkts,
	      (unsigned long long)r->tx_pkts, (unsigned long long)refused);
	CHECK(t->rx_pkts == r->tx_pkts, "tun_tx rx %llu, tun_rx tx %llu",
	      (unsigned long long)t->rx_pkts, (unsigned long long)r->tx_pkts);
	CHECK(t->tx_pkts == t->rx_pkts && t->ctrl_pkts == 1,
	      "tun_tx tx %llu (ctrl %llu) of rx %llu", (unsigned long long)t->tx_pkts,
	      (unsigned long long)t->ctrl_pkts, (unsigned long long)t->rx_pkts);
	CHECK(r->drop[DROP_IO] == 0 && t->drop[DROP_IO] == 0 && r->drop[DROP_RING_FULL] == 0,
	      "io/ring drops");
	CHECK(pool_available(s->mypool) == 16, "test pool: %u of 16 home",
	      pool_available(s->mypool));
	pool_set_home(s->rxpool, main_thr.tid);
	CHECK(pool_available(s->rxpool) == TUN_POOL, "tun_rx pool: %u of %d home",
	      pool_available(s->rxpool), TUN_POOL);
	fprintf(stderr, "io_test: tun_rx ring flags 0x%x, tun_tx ring flags 0x%x\n",
		trx.lp.ring_flags, ttx.lp.ring_flags);
}

static void test_tun_loops(int fd)
{
	static struct tun_side s;
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(6000) };
	int64_t deadline;

	tun_setup(&s, fd);
	OK(thread_start(&trx.lp.thr));
	OK(thread_start(&ttx.lp.thr));

	in4("198.18.99.2", &dst.sin_addr);
	CHECK(sendto(s.sock, "hello-tun", 9, 0, (struct sockaddr *)&dst, sizeof(dst)) == 9,
	      "sendto 198.18.99.2: %s", strerror(errno));
	tun_expect(s.sock, "hello-tun");
	tun_inject(&s, "inject-1");
	tun_expect(s.sock, "inject-1");
	tun_inject(&s, "to-ctrl");
	tun_expect_ctrl(&s);

	/* Let stray kernel packets (if any) finish their trip before counting. */
	deadline = clock_mono_ns() + TUN_DEADLINE_NS;
	while ((STAT_READ(ttx.lp.thr.stats.rx_pkts) != STAT_READ(trx.lp.thr.stats.tx_pkts) ||
		STAT_READ(ttx.lp.thr.stats.tx_pkts) != STAT_READ(ttx.lp.thr.stats.rx_pkts)) &&
	       clock_mono_ns() < deadline)
		sleep_us(1000);
	stop_thread(&trx.lp.thr, &trx.lp.db);
	stop_thread(&ttx.lp.thr, &ttx.lp.db);
	tun_check(&s);
}

/* The namespace child: everything here runs inside slio-<pid>. */
static int netns_child(void)
{
	char name[IFNAMSIZ];
	int fd;

	thread_reset_ids();
	OK(thread_adopt(&main_thr, "io_test_ns"));
	CHECK(nl_link_set("lo", 0, true) == 0, "lo up");
	fd = tun_open(TUN_NAME, name, false, &(unsigned int){ 0 });
	if (fd < 0) {
		fprintf(stderr, "io_test: tun_open: %s\n", strerror(-fd));
		return 1;
	}
	CHECK(!strcmp(name, TUN_NAME), "tun name %s", name);
	CHECK(tun_open(TUN_NAME, NULL, false, &(unsigned int){ 0 }) == -EBUSY,
	      "second single-queue attach");
	test_tun_open();
	test_netlink_v4();
	test_netlink_v6();
	test_tun_loops(fd);
	close(fd);
	return failures ? 1 : 0;
}

/* Returns 0 pass, 1 fail, 77 skipped. */
static int test_netns(void)
{
	char cmd[128], path[64], c = 0;
	int sync[2], status, nsfd;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "io_test: not root, TUN part skipped\n");
		return 77;
	}
	snprintf(ns_name, sizeof(ns_name), "slio-%d", (int)getpid());
	ns_owner = getpid();
	atexit(ns_cleanup);
	snprintf(cmd, sizeof(cmd), "ip netns add %s", ns_name);
	if (system(cmd)) {
		fprintf(stderr, "io_test: ip netns add failed, TUN part skipped\n");
		ns_name[0] = '\0';
		return 77;
	}
	OK(pipe(sync));
	fflush(NULL);
	pid = fork();
	OK(pid);
	if (pid == 0) {
		close(sync[0]);
		snprintf(path, sizeof(path), "/run/netns/%s", ns_name);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
			perror("io_test: setns");
			_exit(1);
		}
		close(nsfd);
		if (write(sync[1], &c, 1) != 1)
			_exit(1);
		close(sync[1]);
		_exit(netns_child());
	}
	close(sync[1]);
	/* Once the child is inside, the name can go: the namespace dies with it. */
	if (read(sync[0], &c, 1) != 1)
		CHECK(0, "netns child did not start");
	close(sync[0]);
	ns_cleanup();
	OK(waitpid(pid, &status, 0));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(void)
{
	int ns_rc;

	signal(SIGPIPE, SIG_IGN);
	OK(thread_adopt(&main_thr, "io_test"));
	epoch_init();
	test_table();
	test_deal_collect();
	test_udp(0);
	test_udp(LINK_F_GSO | LINK_F_GRO);
	ns_rc = test_netns();
	if (ns_rc == 1)
		failures++;
	if (failures)
		return harness_done("io_test");
	if (ns_rc == 77) {
		printf("io_test: UDP parts ok; TUN part skipped (needs root and ip netns)\n");
		return 77;
	}
	printf("io_test: ok\n");
	return 0;
}
