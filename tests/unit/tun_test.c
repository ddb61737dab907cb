/*
 * tun_test.c - tests for io/'s TUN side (root; skipped otherwise): in a
 * namespace slio-<pid> made with ip netns add, a TUN from tun_open
 * (multi-queue attach, kernel-named, offloads), tun_open_queues (every
 * queue with the same flags and vnet header), addresses and routes (IPv4,
 * IPv6, point-to-point, gateway, metric) set and removed with the netlink
 * calls and checked with ip(8); then tun_rx -> tun_tx joined by one ring,
 * with a classify op that swaps IPv4/UDP source and destination, so a
 * datagram sent to 198.18.99.2 comes back to its sender; ctrl's inject ring
 * and tun_tx's ctrl ring carry one packet each. The loops read and write
 * the pool's packets through fixed buffers, the injected ones plain.
 *
 * Exit 0 pass, 1 fail, 77 skip (not root, or no ip netns).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
#include "../../core/vnet.h"
#include "../../io/io.h"
#include "../../io/link.h"
#include "../../io/loop.h"
#include "../../io/uring.h"
#include "harness.h"
#include "io_rig.h"

static struct thread main_thr;

/* ---- TUN loops in a namespace ---------------------------------------- */

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

/* tun_open_queues: one device, every queue with the same flags, header size and offloads. */
static void test_tun_queues(void)
{
	unsigned int off = TUN_OFF_ALL;
	char name[IFNAMSIZ];
	int fds[IO_LANES_MAX];
	int err = tun_open_queues("sliolq%d", name, IO_LANES_MAX, fds, &off);

	CHECK(err == 0 && !strcmp(name, "sliolq0"), "tun_open_queues: %d %s", err, name);
	CHECK(err || (off & TUN_OFF_VNET), "queues: offloads 0x%x", off);
	for (unsigned int i = 0; !err && i < IO_LANES_MAX; i++) {
		struct ifreq ifr = { 0 };
		int sz = 0;

		CHECK(!ioctl(fds[i], TUNGETIFF, &ifr) && !strcmp(ifr.ifr_name, name) &&
		      (ifr.ifr_flags & IFF_MULTI_QUEUE) && (ifr.ifr_flags & IFF_VNET_HDR),
		      "queue %u: %s flags 0x%x", i, ifr.ifr_name, (unsigned int)ifr.ifr_flags);
		CHECK(!ioctl(fds[i], TUNGETVNETHDRSZ, &sz) && sz == VNET_HDR_LEN,
		      "queue %u: vnet header size %d", i, sz);
		CHECK(fcntl(fds[i], F_GETFL) & O_NONBLOCK, "queue %u not O_NONBLOCK", i);
	}
	/* Attached to by a single-queue open: refused, the flags differ. */
	CHECK(tun_open("sliolq0", NULL, false, &(unsigned int){ 0 }) < 0, "single-queue attach");
	for (unsigned int i = 0; !err && i < IO_LANES_MAX; i++)
		close(fds[i]);
	off = 0;
	err = tun_open_queues("sliolq1", name, 2, fds, &off);
	CHECK(err == 0 && off == 0, "queues without offloads: %d 0x%x", err, off);
	for (unsigned int i = 0; !err && i < 2; i++)
		close(fds[i]);
	CHECK_INT(tun_open_queues("sliolq1", name, 0, fds, &off), -EINVAL);
	CHECK_INT(tun_open_queues("sliolq1", name, IO_LANES_MAX + 1, fds, &off), -EINVAL);
	/* A single-queue device of that name: the first attach fails, nothing is left open. */
	fds[0] = tun_open("sliolq2", NULL, false, &(unsigned int){ 0 });
	CHECK(fds[0] >= 0, "single-queue sliolq2");
	CHECK(tun_open_queues("sliolq2", name, 2, fds + 1, &off) < 0, "queues on a single-queue device");
	if (fds[0] >= 0)
		close(fds[0]);
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
	/*
	 * Fixed buffers: tun_rx reads into rxpool's; tun_tx writes rxpool's
	 * packets fixed (listed twice, around a NULL: registered once) and the
	 * injected ones of mypool plain.
	 */
	trx.fixed_bufs = true;
	ttx.write_pools[0] = s->rxpool;
	ttx.write_pools[2] = s->rxpool;
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
	/* 1 each, or -errno where the kernel refused them (the plain ops ran). */
	CHECK(trx.lp.fixed_bufs != 0 && trx.lp.fixed_bufs <= 1 && ttx.lp.fixed_bufs != 0 &&
	      ttx.lp.fixed_bufs <= 1, "fixed buffers: tun_rx %d, tun_tx %d", trx.lp.fixed_bufs,
	      ttx.lp.fixed_bufs);
	fprintf(stderr, "tun_test: tun_rx ring flags 0x%x, tun_tx ring flags 0x%x, fixed buffers "
		"%d and %d\n", trx.lp.ring_flags, ttx.lp.ring_flags, trx.lp.fixed_bufs,
		ttx.lp.fixed_bufs);
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
	OK(thread_adopt(&main_thr, "tun_test_ns"));
	CHECK(nl_link_set("lo", 0, true) == 0, "lo up");
	fd = tun_open(TUN_NAME, name, false, &(unsigned int){ 0 });
	if (fd < 0) {
		fprintf(stderr, "tun_test: tun_open: %s\n", strerror(-fd));
		return 1;
	}
	CHECK(!strcmp(name, TUN_NAME), "tun name %s", name);
	CHECK(tun_open(TUN_NAME, NULL, false, &(unsigned int){ 0 }) == -EBUSY,
	      "second single-queue attach");
	test_tun_open();
	test_tun_queues();
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
		fprintf(stderr, "tun_test: not root, TUN part skipped\n");
		return 77;
	}
	snprintf(ns_name, sizeof(ns_name), "slio-%d", (int)getpid());
	ns_owner = getpid();
	atexit(ns_cleanup);
	snprintf(cmd, sizeof(cmd), "ip netns add %s", ns_name);
	if (system(cmd)) {
		fprintf(stderr, "tun_test: ip netns add failed, TUN part skipped\n");
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
			perror("tun_test: setns");
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
	int rc;

	signal(SIGPIPE, SIG_IGN);
	OK(thread_adopt(&main_thr, "tun_test"));
	epoch_init();
	rc = test_netns();
	if (rc == 1)
		failures++;
	if (failures)
		return harness_done("tun_test");
	if (rc == 77) {
		printf("tun_test: skipped (needs root and ip netns)\n");
		return 77;
	}
	printf("tun_test: ok\n");
	return 0;
}
