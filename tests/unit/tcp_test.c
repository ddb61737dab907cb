/*
 * tcp_test.c - tests for the TCP stream link (io/tcp.c) under the real
 * link_tx and link_rx loops, on a TCP connection over loopback.
 *
 * 1. Order and content: TCP_TOTAL packets of varied lengths (1..1500
 *    bytes, every TCP_CTRL_EVERY-th a control packet on ctrl's ring) go
 *    through link_tx, framed, over a connection with small socket buffers
 *    (so sends are cut short and reads end mid-frame), and come out of
 *    link_rx whole, in order, each on the right ring, with the peer's
 *    address. Counters: every packet sent and received once, no drops.
 * 2. A zero length prefix written on the wire: link_rx counts DROP_SHORT
 *    and shuts the connection (the far end reads EOF).
 * 3. Pools: every packet home after both loops stopped.
 *
 * Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/epoch.h"
#include "../../core/pkt.h"
#include "../../core/ring.h"
#include "../../core/thread.h"
#include "../../io/link.h"
#include "../../io/loop.h"
#include "../../io/uring.h"
#include "harness.h"
#include "io_rig.h"

#define TCP_TOTAL	20000
#define TCP_CTRL_EVERY	97
#define TCP_CTRL_BYTE	0x38
#define TCP_WORKERS	2
#define TCP_POOL	1024
#define TCP_WINDOW	256
#define TCP_DEADLINE_NS	(20 * NSEC_PER_SEC)

static struct thread main_thr;
static struct link_tx_thread ttx;
static struct link_rx_thread trx;
static struct spsc *enc[TCP_WORKERS], *dec[TCP_WORKERS], *ctl_in, *ctl_out;
static struct pool *txpool, *rxpool;
static struct rig_rings rig;
static int tx_fd, rx_fd;
static union sockaddr_any tx_addr;
static uint64_t next_seq, sent, got, data_seq, ctrl_seq;
static unsigned int deal, collect;

static bool is_ctrl(uint64_t k)
{
	return k % TCP_CTRL_EVERY == 5;
}

/* 1..1500 bytes, at least 9 for the stamp: byte 0 kind, 1..8 sequence, then a pattern. */
static uint32_t pkt_len_of(uint64_t k)
{
	return 9 + (uint32_t)((k * 7919) % 1492);
}

static void fill(struct pkt *p, uint64_t k)
{
	uint32_t len = pkt_len_of(k);

	p->data[0] = is_ctrl(k) ? TCP_CTRL_BYTE : 0x48;
	for (int i = 0; i < 8; i++)
		p->data[1 + i] = (uint8_t)(k >> (56 - 8 * i));
	for (uint32_t i = 9; i < len; i++)
		p->data[i] = (uint8_t)(k + i);
	p->len = len;
}

static uint64_t stamp_of(const struct pkt *p)
{
	uint64_t k = 0;

	if (p->len < 9)
		return UINT64_MAX;
	for (int i = 0; i < 8; i++)
		k = k << 8 | p->data[1 + i];
	if (p->len != pkt_len_of(k))
		return UINT64_MAX;
	for (uint32_t i = 9; i < p->len; i++)
		if (p->data[i] != (uint8_t)(k + i))
			return UINT64_MAX;
	return k;
}

static uint8_t classify(void *ctx, struct pkt *p, bool *control)
{
	(void)ctx;
	*control = p->data[0] == TCP_CTRL_BYTE;
	return PKT_OK;
}

static void setup(void)
{
	union sockaddr_any lo = { .in4 = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	socklen_t len = sizeof(lo.in4);
	int lfd, small = 8192;

	OK(lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	OK(bind(lfd, &lo.sa, sizeof(lo.in4)));
	OK(listen(lfd, 1));
	OK(getsockname(lfd, &lo.sa, &len));
	OK(tx_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	/* Small buffers: sends are cut short, reads end in the middle of frames. */
	OK(setsockopt(tx_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)));
	OK(connect(tx_fd, &lo.sa, sizeof(lo.in4)));
	OK(rx_fd = accept(lfd, NULL, NULL));
	OK(setsockopt(rx_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	close(lfd);
	len = sizeof(tx_addr.in4);
	OK(getsockname(tx_fd, &tx_addr.sa, &len));
	CHECK(link_type_of_fd(tx_fd) == LINK_TCP, "a stream socket is a TCP link");

	OK(link_tcp_create(&ttx.link, tx_fd, 0));
	OK(link_tcp_create(&trx.link, rx_fd, 0));
	rig = (struct rig_rings){ .enc = enc, .dec = dec, .nw = TCP_WORKERS, .ctl_out_n = 256,
				  .pool_n = TCP_POOL };
	rig_wire(&ttx, &trx, &rig, main_thr.tid);
	ctl_in = rig.ctl_in;
	ctl_out = rig.ctl_out;
	txpool = rig.txpool;
	rxpool = rig.rxpool;
	trx.pool = trx.link->rx_pool = rxpool;
	trx.classify = classify;
}

static bool send_one(void)
{
	struct pkt *p = pool_get(txpool);

	if (!p)
		return false;
	fill(p, next_seq);
	if (is_ctrl(next_seq)) {
		if (spsc_enqueue_burst(ctl_in, &p, 1) != 1) {
			pkt_free(p);
			return false;
		}
	} else {
		if (spsc_enqueue_burst(enc[deal], &p, 1) != 1) {
			pkt_free(p);
			return false;
		}
		deal = (deal + 1) % TCP_WORKERS;
	}
	next_seq++;
	sent++;
	return true;
}

static void take(struct pkt *p, bool ctrl)
{
	uint64_t k = stamp_of(p);
	uint64_t *expect = ctrl ? &ctrl_seq : &data_seq;

	CHECK(k != UINT64_MAX, "frame with a bad length or content (len %u)", p->len);
	CHECK(k == *expect, "%s seq %llu, expected %llu", ctrl ? "ctrl" : "data",
	      (unsigned long long)k, (unsigned long long)*expect);
	CHECK(p->addr_len == sizeof(struct sockaddr_in) &&
	      p->addr.in4.sin_port == tx_addr.in4.sin_port, "source is not the peer");
	do {
		(*expect)++;
	} while (is_ctrl(*expect) != ctrl);
	got++;
	pkt_free(p);
}

static bool receive(void)
{
	struct pkt *p;
	bool progress = false;

	while (spsc_dequeue_burst(dec[collect], &p, 1)) {
		take(p, false);
		collect = (collect + 1) % TCP_WORKERS;
		progress = true;
	}
	while (spsc_dequeue_burst(ctl_out, &p, 1)) {
		take(p, true);
		progress = true;
	}
	return progress;
}

static void pump(void)
{
	int64_t deadline = clock_mono_ns() + TCP_DEADLINE_NS;

	data_seq = is_ctrl(0) ? 1 : 0;
	ctrl_seq = 5;
	while (got < TCP_TOTAL && clock_mono_ns() < deadline) {
		bool progress = receive();

		while (next_seq < TCP_TOTAL && sent - got < TCP_WINDOW && send_one())
			progress = true;
		if (!progress)
			sleep_us(50);
	}
	CHECK(got == TCP_TOTAL, "received %llu of %d frames", (unsigned long long)got, TCP_TOTAL);
}

/* A zero length prefix on the wire: counted, and the connection is shut. */
static void bad_frame(void)
{
	static const uint8_t zero[2];
	struct pollfd pf = { .fd = tx_fd, .events = POLLIN };
	int64_t deadline = clock_mono_ns() + 5 * NSEC_PER_SEC;
	uint8_t b;

	CHECK(write(tx_fd, zero, sizeof(zero)) == 2, "write the bad prefix");
	while (STAT_READ(trx.lp.thr.stats.drop[DROP_SHORT]) < 1 && clock_mono_ns() < deadline)
		sleep_us(1000);
	CHECK(STAT_READ(trx.lp.thr.stats.drop[DROP_SHORT]) == 1, "drop[short] %llu",
	      (unsigned long long)STAT_READ(trx.lp.thr.stats.drop[DROP_SHORT]));
	CHECK(poll(&pf, 1, 2000) == 1 && read(tx_fd, &b, 1) == 0,
	      "the link shut the connection after the bad frame");
}

static void check_counters(void)
{
	const struct stats *t = &ttx.lp.thr.stats, *r = &trx.lp.thr.stats;

	CHECK(t->tx_pkts == TCP_TOTAL, "link_tx tx_pkts %llu", (unsigned long long)t->tx_pkts);
	CHECK(t->drop[DROP_IO] == 0, "link_tx drop[io] %llu", (unsigned long long)t->drop[DROP_IO]);
	CHECK(r->rx_pkts == TCP_TOTAL + 1, "link_rx rx_pkts %llu", (unsigned long long)r->rx_pkts);
	CHECK(r->tx_pkts == TCP_TOTAL, "link_rx tx_pkts %llu", (unsigned long long)r->tx_pkts);
	for (int i = DROP_RING_FULL; i < DROP_MAX; i++) {
		if (i == DROP_SHORT)
			continue;
		CHECK(r->drop[i] == 0, "link_rx drop[%s] %llu", stats_drop_name(i),
		      (unsigned long long)r->drop[i]);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	OK(thread_adopt(&main_thr, "tcp_test"));
	epoch_init();
	setup();
	OK(thread_start(&trx.lp.thr));
	OK(thread_start(&ttx.lp.thr));
	pump();
	stop_thread(&ttx.lp.thr, &ttx.lp.db);
	bad_frame();
	stop_thread(&trx.lp.thr, &trx.lp.db);
	CHECK(ttx.lp.err == 0 && trx.lp.err == 0, "loop errors %d %d", ttx.lp.err, trx.lp.err);
	fprintf(stderr, "tcp_test: link_tx sends %llu (chains of %llu packets), link_rx wakeups %llu\n",
		(unsigned long long)ttx.lp.thr.stats.super_pkts,
		(unsigned long long)ttx.lp.thr.stats.super_segs,
		(unsigned long long)trx.lp.thr.stats.wakeups);
	check_counters();
	CHECK(pool_available(txpool) == TCP_POOL, "tx pool: %u of %d home",
	      pool_available(txpool), TCP_POOL);
	pool_set_home(rxpool, main_thr.tid);
	CHECK(pool_available(rxpool) == TCP_POOL, "rx pool: %u of %d home",
	      pool_available(rxpool), TCP_POOL);
	rig_unwire(&rig);
	doorbell_destroy(&ttx.lp.db);
	doorbell_destroy(&trx.lp.db);
	link_destroy(ttx.link);
	link_destroy(trx.link);
	close(tx_fd);
	close(rx_fd);
	if (failures)
		return harness_done("tcp_test");
	printf("tcp_test: ok\n");
	return 0;
}
