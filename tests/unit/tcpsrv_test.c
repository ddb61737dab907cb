/*
 * tcpsrv_test.c - tests for the TCP server link (io/tcp_server.c) and its
 * connection table (io/tcpsrv_table.c).
 *
 * 1. Table: alloc / lookup / unhash / free by address (IPv4 and IPv6,
 *    port and scope distinguish), generations bump on reuse, the cap holds,
 *    a random sequence of operations agrees with a plain array model.
 * 2. Link, under the real link_rx and link_tx loops (one link, both
 *    threads, as in a server), on loopback with a cap of 4 connections:
 *    three clients each send TSRV_FRAMES frames (varied lengths, every
 *    seventh a control packet) in pieces; each frame arrives once, whole,
 *    in its client's order, on the right ring, with that client's address.
 *    Packets sent to each client's address (data rings and ctrl's ring)
 *    arrive framed on that client's socket only, in order.
 * 3. A fourth connection is taken, a fifth refused (closed at once).
 * 4. A zero length prefix closes that client's connection (it reads EOF),
 *    counted, and link_tcpsrv_closed names its address; a packet to it
 *    afterwards is counted as tx_no_conn.
 * 5. A client that stops reading while packets keep coming is closed as a
 *    slow reader once its backlog passes the cap (closed_slow).
 * 5b. ctrl's close (a zero-length packet after five control frames): the
 *    client gets the five frames, then EOF; once it closes too, no
 *    connection is left open.
 * 6. Pools: every packet home after both loops stopped.
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
#include "../../io/io.h"
#include "../../io/link.h"
#include "../../io/loop.h"
#include "../../io/tcpsrv_table.h"
#include "../../io/uring.h"
#include "harness.h"
#include "io_rig.h"

#define NCLI		3
#define TSRV_FRAMES	3000
#define CTRL_BYTE	0x38
#define WORKERS		1	/* one data ring: a client's data frames keep their order */
#define POOL_N		1024
#define DEADLINE_NS	(20 * NSEC_PER_SEC)

static struct thread main_thr;
static struct link_tx_thread ttx;
static struct link_rx_thread trx;
static struct link *lk;
static struct spsc *enc[WORKERS], *dec[WORKERS], *ctl_in, *ctl_out;
static struct pool *txpool, *rxpool;
static struct rig_rings rig;
static union sockaddr_any srv;
static int cfd[NCLI];
static union sockaddr_any caddr[NCLI];

/* ---- 1. the table -------------------------------------------------------- */

static union sockaddr_any v4(uint32_t a, uint16_t port)
{
	union sockaddr_any sa = { .in4 = { .sin_family = AF_INET, .sin_port = htons(port),
					   .sin_addr.s_addr = htonl(a) } };
	return sa;
}

static void table_basic(void)
{
	struct tsrv_tab t;
	union sockaddr_any a = v4(0x0a000001, 1000), b = v4(0x0a000001, 1001), c6 = { 0 };
	uint32_t i, j, k, gen;

	MUST(tsrv_tab_init(&t, 2, 42));
	CHECK(tsrv_tab_lookup(&t, &a, sizeof(a.in4)) == TSRV_NONE, "empty table finds nothing");
	i = tsrv_tab_alloc(&t, &a, sizeof(a.in4));
	j = tsrv_tab_alloc(&t, &b, sizeof(b.in4));
	CHECK(i != TSRV_NONE && j != TSRV_NONE && i != j, "two entries");
	CHECK(tsrv_tab_lookup(&t, &a, sizeof(a.in4)) == i, "a found");
	CHECK(tsrv_tab_lookup(&t, &b, sizeof(b.in4)) == j, "b found (the port tells them apart)");
	c6.in6.sin6_family = AF_INET6;
	c6.in6.sin6_port = htons(1000);
	c6.in6.sin6_addr.s6_addr[15] = 1;
	CHECK(tsrv_tab_alloc(&t, &c6, sizeof(c6.in6)) == TSRV_NONE, "full at the cap");
	CHECK(tsrv_tab_lookup(&t, &a, sizeof(struct sockaddr)) == TSRV_NONE ||
	      sizeof(struct sockaddr) >= sizeof(a.in4), "a short length does not match");
	gen = t.ent[i].gen;
	tsrv_tab_unhash(&t, i);
	CHECK(tsrv_tab_lookup(&t, &a, sizeof(a.in4)) == TSRV_NONE, "unhashed: not found");
	CHECK(t.count == 2, "unhashed: still allocated");
	tsrv_tab_free(&t, i);
	CHECK(t.count == 1, "freed");
	k = tsrv_tab_alloc(&t, &c6, sizeof(c6.in6));
	CHECK(k == i && t.ent[k].gen == gen + 1, "the freed entry is reused with a new generation");
	CHECK(tsrv_tab_lookup(&t, &c6, sizeof(c6.in6)) == k, "IPv6 found");
	c6.in6.sin6_scope_id = 3;
	CHECK(tsrv_tab_lookup(&t, &c6, sizeof(c6.in6)) == TSRV_NONE, "another scope is another");
	tsrv_tab_free(&t, j);
	tsrv_tab_free(&t, j);	/* twice: a no-op */
	CHECK(t.count == 1, "double free ignored");
	tsrv_tab_fini(&t);
}

/* Random operations against a plain array: the table finds exactly what the model holds. */
static void table_model(void)
{
	enum { CAP = 64, KEYS = 96 };
	struct tsrv_tab t;
	uint32_t model[KEYS];	/* key -> entry or TSRV_NONE */
	uint64_t s = 7;

	MUST(tsrv_tab_init(&t, CAP, 99));
	for (int k = 0; k < KEYS; k++)
		model[k] = TSRV_NONE;
	for (int n = 0; n < 20000; n++) {
		int k = (int)(harness_rnd(&s) % KEYS);
		union sockaddr_any a = v4(0xc0a80000 + (uint32_t)(k % 7), (uint16_t)(5000 + k));
		uint32_t got = tsrv_tab_lookup(&t, &a, sizeof(a.in4));

		CHECK(got == model[k], "op %d key %d: lookup %u, model %u", n, k, got, model[k]);
		if (model[k] == TSRV_NONE) {
			uint32_t count = t.count;

			model[k] = tsrv_tab_alloc(&t, &a, sizeof(a.in4));
			CHECK((model[k] == TSRV_NONE) == (count == CAP), "alloc fails only when full");
		} else if (harness_rnd(&s) & 1) {
			tsrv_tab_free(&t, model[k]);
			model[k] = TSRV_NONE;
		} else {
			tsrv_tab_unhash(&t, model[k]);
			CHECK(tsrv_tab_lookup(&t, &a, sizeof(a.in4)) == TSRV_NONE, "unhashed");
			tsrv_tab_free(&t, model[k]);
			model[k] = TSRV_NONE;
		}
	}
	tsrv_tab_fini(&t);
}

/* ---- 2.-6. the link ----------------------------------------------------------- */

static uint8_t classify(void *ctx, struct pkt *p, bool *control)
{
	(void)ctx;
	*control = p->data[0] == CTRL_BYTE;
	return PKT_OK;
}

/* tcpsrv.NAME from the link's counters. */
static unsigned long long counter(const char *name)
{
	char *buf = NULL, key[64];
	size_t len = 0;
	unsigned long long v = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *at;

	REQUIRE(f != NULL, "open_memstream");
	lk->ops->write_stats(lk, f, "tcpsrv");
	fclose(f);
	snprintf(key, sizeof(key), "tcpsrv.%s=", name);
	at = strstr(buf, key);
	if (at)
		v = strtoull(at + strlen(key), NULL, 10);
	free(buf);
	return v;
}

static bool wait_counter(const char *name, unsigned long long want)
{
	int64_t deadline = clock_mono_ns() + 5 * NSEC_PER_SEC;

	while (counter(name) < want && clock_mono_ns() < deadline)
		sleep_us(1000);
	return counter(name) >= want;
}

static int client_connect(void)
{
	int fd, rcv = 16384;

	OK(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	OK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)));
	OK(connect(fd, &srv.sa, sizeof(srv.in4)));
	return fd;
}

static void setup(void)
{
	union sockaddr_any lo = { .in4 = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	socklen_t len = sizeof(srv.in4);
	int lfd;

	OK(lfd = tcp_listen_open(&lo, sizeof(lo.in4)));
	OK(getsockname(lfd, &srv.sa, &len));
	CHECK(link_type_of_fd(lfd) == LINK_TCP_SERVER, "a listening socket is a TCP server link");
	OK(link_tcpsrv_create(&lk, lfd, 0, 4, 0));
	ttx.link = trx.link = lk;
	/* ctl_out holds every ctrl frame: none dropped. */
	rig = (struct rig_rings){ .enc = enc, .dec = dec, .nw = WORKERS, .ctl_out_n = 2048,
				  .pool_n = POOL_N };
	rig_wire(&ttx, &trx, &rig, main_thr.tid);
	ctl_in = rig.ctl_in;
	ctl_out = rig.ctl_out;
	txpool = rig.txpool;
	rxpool = rig.rxpool;
	trx.pool = lk->rx_pool = rxpool;
	trx.classify = classify;
}

static bool is_ctrl_k(uint32_t k)
{
	return k % 7 == 3;
}

/* Frame k of client c: byte 0 kind, 1 client, 2..5 k, then a pattern; 6..1500 bytes. */
static uint32_t frame_len(int c, uint32_t k)
{
	return 6 + (k * 7919 + (uint32_t)c * 31) % 1495;
}

static uint32_t frame_fill(uint8_t *b, int c, uint32_t k)
{
	uint32_t len = frame_len(c, k);

	b[0] = is_ctrl_k(k) ? CTRL_BYTE : 0x48;
	b[1] = (uint8_t)c;
	b[2] = (uint8_t)(k >> 24), b[3] = (uint8_t)(k >> 16), b[4] = (uint8_t)(k >> 8);
	b[5] = (uint8_t)k;
	for (uint32_t i = 6; i < len; i++)
		b[i] = (uint8_t)(k + i + (uint32_t)c);
	return len;
}

static uint32_t next_k[NCLI][2];	/* [client][control]: the next frame expected */
static uint32_t got_frames;

static void take(struct pkt *p)
{
	uint8_t want[1600];
	int c = p->len >= 6 ? p->data[1] : -1;

	if (c < 0 || c >= NCLI) {
		CHECK(0, "frame with no client byte (len %u)", p->len);
	} else {
		bool ctrl = p->data[0] == CTRL_BYTE;
		uint32_t *nk = &next_k[c][ctrl];
		uint32_t k = *nk, len;

		while (is_ctrl_k(k) != ctrl)
			k++;
		len = frame_fill(want, c, k);
		*nk = k + 1;
		CHECK(p->len == len && !memcmp(p->data, want, len), "client %d frame %u differs", c, k);
		CHECK(p->addr_len == sizeof(struct sockaddr_in) &&
		      p->addr.in4.sin_port == caddr[c].in4.sin_port, "client %d: wrong source", c);
	}
	got_frames++;
	pkt_free(p);
}

/* Data rings in turn may reorder a client's frames between rings: collect per ring in order. */
static void drain_rx(void)
{
	struct pkt *p;

	for (int i = 0; i < WORKERS; i++)
		while (spsc_dequeue_burst(dec[i], &p, 1))
			take(p);
	while (spsc_dequeue_burst(ctl_out, &p, 1))
		take(p);
}

static void clients_send(void)
{
	static uint8_t buf[TSRV_FRAMES * 1502 / 8];
	int64_t deadline = clock_mono_ns() + DEADLINE_NS;

	for (int c = 0; c < NCLI; c++) {
		uint32_t k = 0;

		while (k < TSRV_FRAMES) {
			uint32_t n = 0;

			/* A batch of frames, written in odd-sized pieces. */
			while (k < TSRV_FRAMES && n + 1502 <= sizeof(buf)) {
				uint32_t len = frame_fill(buf + n + 2, c, k++);

				buf[n] = (uint8_t)(len >> 8);
				buf[n + 1] = (uint8_t)len;
				n += len + 2;
			}
			for (uint32_t off = 0; off < n;) {
				uint32_t piece = MIN(n - off, 777u + off % 1000);
				ssize_t w = send(cfd[c], buf + off, piece, MSG_DONTWAIT);

				if (w > 0)
					off += (uint32_t)w;
				else
					sleep_us(100);
				drain_rx();
				REQUIRE(clock_mono_ns() < deadline, "sending timed out");
			}
		}
	}
	while (got_frames < NCLI * TSRV_FRAMES && clock_mono_ns() < deadline) {
		drain_rx();
		sleep_us(200);
	}
	drain_rx();
	CHECK(got_frames == NCLI * TSRV_FRAMES, "received %u of %d frames", got_frames,
	      NCLI * TSRV_FRAMES);
}

/*
 * Sends are checked per client in order; data goes through one ring (enc[0])
 * so its order is defined, ctrl packets through ctl_in (their own order).
 */
static bool send_to(int c, uint32_t k)
{
	bool ctrl = is_ctrl_k(k);

	struct pkt *p = pool_get(txpool);

	if (!p)
		return false;
	p->len = frame_fill(p->data, c, k);
	p->addr = caddr[c];
	p->addr_len = sizeof(caddr[c].in4);
	p->verdict = PKT_OK;
	if (spsc_enqueue_burst(ctrl ? ctl_in : enc[0], &p, 1) != 1) {
		pkt_free(p);
		return false;
	}
	return true;
}

/*
 * Reads frames from client @c until @n arrived; checks each, and that data
 * and control frames each keep their order (the two are separate streams).
 */
static void client_expect(int c, uint32_t n)
{
	static uint8_t buf[4096];
	uint32_t have = 0, k = 0, last[2] = { 0, 0 };
	bool seen[2] = { false, false };
	int64_t deadline = clock_mono_ns() + 5 * NSEC_PER_SEC;

	while (k < n && clock_mono_ns() < deadline) {
		struct pollfd pf = { .fd = cfd[c], .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		r = recv(cfd[c], buf + have, sizeof(buf) - have, 0);
		if (r <= 0)
			break;
		have += (uint32_t)r;
		for (;;) {
			uint8_t want[1600];
			uint32_t len, wl, fk;
			bool ctrl;

			if (have < 2)
				break;
			len = (uint32_t)buf[0] << 8 | buf[1];
			if (have < len + 2)
				break;
			REQUIRE(len >= 6, "client %d: a frame of %u bytes", c, len);
			fk = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 |
			     buf[7];
			ctrl = buf[2] == CTRL_BYTE;
			wl = frame_fill(want, c, fk);
			CHECK(len == wl && !memcmp(buf + 2, want, wl),
			      "client %d: sent frame %u differs", c, fk);
			CHECK(!seen[ctrl] || fk > last[ctrl], "client %d: frame %u after %u", c, fk,
			      last[ctrl]);
			seen[ctrl] = true;
			last[ctrl] = fk;
			k++;
			memmove(buf, buf + len + 2, have - len - 2);
			have -= len + 2;
		}
	}
	CHECK(k == n, "client %d received %u of %u frames", c, k, n);
}

static void server_send(void)
{
	for (int c = 0; c < NCLI; c++) {
		uint32_t k = 0;
		int64_t deadline = clock_mono_ns() + 5 * NSEC_PER_SEC;

		while (k < 200 && clock_mono_ns() < deadline) {
			if (send_to(c, k))
				k++;
			else
				sleep_us(100);
		}
	}
}

/* Every client gets its 200 frames. */
static void clients_check(void)
{
	for (int c = 0; c < NCLI; c++)
		client_expect(c, 200);
}

static bool reads_eof(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint8_t b[256];
	int64_t deadline = clock_mono_ns() + (int64_t)ms * NSEC_PER_MSEC;

	while (clock_mono_ns() < deadline) {
		ssize_t r;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

static void cap_and_bad_frame(void)
{
	static const uint8_t zero[2];
	union sockaddr_any sa;
	socklen_t len;
	int fourth, fifth;

	fourth = client_connect();
	CHECK(wait_counter("accepted", NCLI + 1), "the fourth connection is taken");
	fifth = client_connect();
	CHECK(wait_counter("refused", 1), "the fifth connection is refused (cap 4)");
	CHECK(reads_eof(fifth, 2000), "the refused connection is closed");
	CHECK(!reads_eof(fourth, 100), "the fourth stays open");
	close(fifth);
	close(fourth);
	CHECK(wait_counter("closed_eof", 1), "the fourth's close is counted");

	CHECK(write(cfd[0], zero, 2) == 2, "write a zero prefix");
	CHECK(wait_counter("closed_bad_len", 1), "a zero prefix closes the connection");
	CHECK(reads_eof(cfd[0], 2000), "client 0 reads EOF after its zero prefix");
	CHECK(link_tcpsrv_closed(lk, &sa, &len) && sa.in4.sin_port == caddr[0].in4.sin_port,
	      "ctrl hears of client 0's close");
	CHECK(!link_tcpsrv_closed(lk, &sa, &len), "and of nothing else (the fourth sent no frame)");
	CHECK(send_to(0, 3), "queue a packet to the closed client");
	CHECK(wait_counter("tx_no_conn", 1), "a packet to a closed connection is counted");
}

/* Client 1 stops reading; the server keeps sending until the backlog cap closes it. */
static void slow_reader(void)
{
	int64_t deadline = clock_mono_ns() + 10 * NSEC_PER_SEC;
	uint32_t k = 0;

	while (counter("closed_slow") < 1 && clock_mono_ns() < deadline) {
		if (send_to(1, k))
			k++;
		else
			sleep_us(200);
	}
	CHECK(counter("closed_slow") == 1, "a reader that stopped is closed (sent %u packets)", k);
	deadline = clock_mono_ns() + 5 * NSEC_PER_SEC;
	while (counter("closed_eof") + counter("closed_err") < 2 && clock_mono_ns() < deadline)
		sleep_us(1000);
	CHECK(counter("closed_eof") + counter("closed_err") == 2,
	      "link_rx closed the slow reader's connection");
	while (counter("open") != 1 && clock_mono_ns() < deadline)
		sleep_us(1000);
	CHECK(counter("open") == 1, "one connection left open (client 2)");
	fprintf(stderr, "tcpsrv_test: slow reader closed after %u packets\n", k);
}

/* ctrl's close: frames queued before a zero-length packet arrive, then the FIN. */
static void hangup(void)
{
	static uint8_t b[4096];
	struct pkt *p;
	uint32_t have = 0, frames = 0;
	int64_t deadline = clock_mono_ns() + 5 * NSEC_PER_SEC;
	bool eof = false;

	for (uint32_t k = 3; k < 3 + 7 * 5; k += 7)	/* five ctrl frames, through ctl_in */
		REQUIRE(send_to(2, k), "queue a ctrl frame");
	p = pool_get(txpool);
	REQUIRE(p, "a packet");
	p->len = 0;
	p->addr = caddr[2];
	p->addr_len = sizeof(caddr[2].in4);
	REQUIRE(spsc_enqueue_burst(ctl_in, &p, 1) == 1, "queue the close");
	while (!eof && clock_mono_ns() < deadline) {
		struct pollfd pf = { .fd = cfd[2], .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		r = recv(cfd[2], b + have, sizeof(b) - have, 0);
		if (r <= 0) {
			eof = r == 0;
			break;
		}
		have += (uint32_t)r;
		while (have >= 2 && have >= 2u + (b[0] << 8 | b[1])) {
			uint32_t len = (uint32_t)(b[0] << 8 | b[1]);

			frames++;
			memmove(b, b + 2 + len, have - 2 - len);
			have -= 2 + len;
		}
	}
	CHECK(frames == 5 && have == 0, "client 2 got %u of 5 frames before the close", frames);
	CHECK(eof, "client 2 reads EOF after ctrl's close");
	CHECK(wait_counter("hangups", 1), "hangups %llu", counter("hangups"));
	close(cfd[2]);
	cfd[2] = -1;
	deadline = clock_mono_ns() + 5 * NSEC_PER_SEC;
	while (counter("open") && clock_mono_ns() < deadline)
		sleep_us(1000);
	CHECK(counter("open") == 0, "no connection left open");
}

int main(void)
{
	socklen_t len;

	signal(SIGPIPE, SIG_IGN);
	table_basic();
	table_model();

	OK(thread_adopt(&main_thr, "tcpsrv_test"));
	epoch_init();
	setup();
	OK(thread_start(&trx.lp.thr));
	OK(thread_start(&ttx.lp.thr));
	for (int c = 0; c < NCLI; c++) {
		cfd[c] = client_connect();
		len = sizeof(caddr[c].in4);
		OK(getsockname(cfd[c], &caddr[c].sa, &len));
	}
	CHECK(wait_counter("accepted", NCLI), "three connections accepted");
	clients_send();
	server_send();
	clients_check();
	cap_and_bad_frame();
	slow_reader();
	hangup();
	stop_thread(&ttx.lp.thr, &ttx.lp.db);
	stop_thread(&trx.lp.thr, &trx.lp.db);
	CHECK(ttx.lp.err == 0 && trx.lp.err == 0, "loop errors %d %d", ttx.lp.err, trx.lp.err);
	for (int i = DROP_RING_FULL; i < DROP_MAX; i++)
		if (STAT_READ(trx.lp.thr.stats.drop[i]))
			fprintf(stderr, "tcpsrv_test: link_rx drop[%s] %llu\n", stats_drop_name(i),
				(unsigned long long)STAT_READ(trx.lp.thr.stats.drop[i]));
	drain_rx();
	CHECK(pool_available(txpool) == POOL_N, "tx pool: %u of %d home", pool_available(txpool),
	      POOL_N);
	pool_set_home(rxpool, main_thr.tid);
	CHECK(pool_available(rxpool) == POOL_N, "rx pool: %u of %d home", pool_available(rxpool),
	      POOL_N);
	for (int c = 0; c < NCLI; c++)
		if (cfd[c] >= 0)
			close(cfd[c]);
	close(lk->fd);
	link_destroy(lk);
	rig_unwire(&rig);
	return harness_done("tcpsrv_test");
}
