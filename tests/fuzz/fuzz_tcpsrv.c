/*
 * fuzz_tcpsrv.c - libFuzzer harness for the TCP server link's receive path
 * (io/tcp_server.c: accept, per-connection reads into its reassembly
 * buffer, frames handed on connection by connection, closes; with
 * io/tcpsrv_table.c and io/tcpframe.h), driven through its real ops on real
 * loopback sockets, the way link_rx drives them, but on this one thread.
 *
 * Input: byte 0 picks the number of clients (1..3), byte 1 seeds the sizes
 * of the writes and how many frames each call may hand on; the rest is cut
 * into chunks, each for one client (a selector byte, a length byte, then
 * that many bytes of its stream). After each write the harness calls
 * rx_complete (as if the epoll poll completed) and rx_pending, with a small
 * random room each time, until nothing moves.
 *
 * The loopback is that of a network namespace the harness makes for itself
 * (as root), and clients close with a reset (SO_LINGER 0): with a FIN, tens
 * of thousands of TIME_WAIT sockets a second used up the ephemeral ports and
 * connect failed (a harness finding in CI, not the link's); a connect broken
 * into by libFuzzer's SIGALRM is finished (cli_connect). Sends go out in
 * parts, and the closes are waited for (about 2 s at most), when the kernel
 * is slow to deliver on a loaded host.
 *
 * Invariants: the frames of each client come out exactly as a straight walk
 * of its stream finds them, in order, whole, each at most PKT_MTU_DATA, with
 * that client's address; after a zero or oversize length nothing more of
 * that client comes out and its socket sees the close; once every client
 * closed, the link has no connection open. ASan/UBSan watch the rest.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../core/pkt.h"
#include "../../core/stats.h"
#include "../../io/io.h"
#include "../../io/link.h"
#include "../../io/tcpframe.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCLI_MAX	3
#define STREAM_MAX	65536

static struct pool *pool;
static struct link *lk;
static union sockaddr_any srv;
static struct stats st;

struct cli {
	int fd;
	uint16_t port;			/* network order */
	uint8_t s[STREAM_MAX];		/* what was written */
	uint32_t written, walk;		/* bytes written; bytes the frames so far cover */
	bool bad;			/* the walk met a bad length: closed */
};

static struct cli cli[NCLI_MAX];

/*
 * The sockets live in a network namespace of this process's own, with only
 * its loopback up (root: CI and `make fuzz-long`); without root the host's
 * loopback is used, which nothing outside this process listens to.
 */
static void isolate(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "fuzz_tcpsrv: no network namespace of its own (%s): host loopback\n",
			strerror(errno));
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		abort();
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		abort();
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	union sockaddr_any lo = { .in4 = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	socklen_t len = sizeof(srv.in4);
	int lfd;

	(void)argc;
	(void)argv;
	isolate();
	if (pool_create(&pool, 64, PKT_CLASS_MTU, 0))
		abort();
	lfd = tcp_listen_open(&lo, sizeof(lo.in4));
	if (lfd < 0 || getsockname(lfd, &srv.sa, &len))
		abort();
	if (link_tcpsrv_create(&lk, lfd, 0, 8, 0))
		abort();
	lk->rx_pool = pool;
	return 0;
}

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static struct cli *cli_of(const struct pkt *p)
{
	for (int c = 0; c < NCLI_MAX; c++)
		if (cli[c].fd >= 0 && p->addr.in4.sin_port == cli[c].port)
			return &cli[c];
	return NULL;
}

/* One frame from the link: it must be the next of its client's walk. */
static void check(struct pkt *p)
{
	struct cli *c = cli_of(p);
	uint32_t want;

	if (!c || c->bad || c->walk + 2 > c->written)
		abort();
	want = (uint32_t)c->s[c->walk] << 8 | c->s[c->walk + 1];
	if (!want || want > PKT_MTU_DATA || p->len != want || c->walk + 2 + want > c->written ||
	    memcmp(p->data, c->s + c->walk + 2, want))
		abort();
	c->walk += 2 + want;
	pkt_free(p);
}

/* Marks clients whose walk reached a bad length (the link must close them). */
static void walk_bad(void)
{
	for (int c = 0; c < NCLI_MAX; c++) {
		struct cli *k = &cli[c];
		uint32_t n;

		if (k->fd < 0 || k->bad || k->walk + 2 > k->written)
			continue;
		n = (uint32_t)k->s[k->walk] << 8 | k->s[k->walk + 1];
		if (!n || n > PKT_MTU_DATA)
			k->bad = true;
	}
}

/* Runs the receive ops until a few rounds in a row move nothing. Returns frames seen. */
static unsigned int pump(uint32_t *seed)
{
	struct pkt *out[8];
	unsigned int total = 0, idle = 0;
	struct pkt *slot = NULL;

	for (int round = 0; round < 200 && idle < 3; round++) {
		unsigned int max = 1 + rnd(seed) % 8, n;
		bool keep = false;

		n = lk->ops->rx_complete(lk, 0, slot, 1, out, max, &keep, &st);
		if (!keep)
			abort();
		for (unsigned int i = 0; i < n; i++)
			check(out[i]);
		total += n;
		for (unsigned int m; (m = lk->ops->rx_pending(lk, out, max, &st)); total += m)
			for (unsigned int i = 0; i < m; i++)
				check(out[i]);
		idle = n ? 0 : idle + 1;
	}
	walk_bad();
	return total;
}

/*
 * Sends the @n bytes staged at k->s + k->written, counting each part as it
 * goes. Loopback usually takes them at once, but on a loaded machine the
 * kernel may deliver later (softirq deferred), the link's window fills and a
 * send is short: then the link is pumped and the rest sent. Returns false if
 * the connection failed (the link closed it).
 */
static bool send_all(struct cli *k, uint32_t n, uint32_t *seed)
{
	uint32_t end = k->written + n;

	for (int tries = 0; k->written < end && tries < 2000; tries++) {
		ssize_t r = send(k->fd, k->s + k->written, end - k->written,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r > 0) {
			k->written += (uint32_t)r;
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return false;
		pump(seed);
		if (tries > 100)
			usleep(100);
	}
	if (k->written < end)
		abort();	/* the link stopped reading a connection for good */
	return true;
}

/* True while some open client still has a whole good frame the link did not hand on. */
static bool frames_left(void)
{
	for (int c = 0; c < NCLI_MAX; c++) {
		const struct cli *k = &cli[c];
		uint32_t n;

		if (k->fd < 0 || k->bad || k->walk + 2 > k->written)
			continue;
		n = (uint32_t)k->s[k->walk] << 8 | k->s[k->walk + 1];
		if (k->walk + 2 + n <= k->written)
			return true;
	}
	return false;
}

/* Pumps until every whole frame written came out (bounded: bytes in flight on a loaded host). */
static void settle(uint32_t *seed)
{
	pump(seed);
	for (int i = 0; i < 200 && frames_left(); i++) {
		usleep(200);
		pump(seed);
	}
}

/*
 * Connects @fd to the link. libFuzzer's timeout timer (SIGALRM) can break
 * into a blocking connect (EINTR, then EALREADY while the handshake goes on:
 * once in about 2x10^6 inputs on a loaded host); a port the kernel cannot
 * give at once (EADDRNOTAVAIL) is asked again. Returns 0, or -1 with a line
 * on stderr.
 */
static int cli_connect(int fd)
{
	for (int tries = 0; tries < 1000; tries++) {
		if (!connect(fd, &srv.sa, sizeof(srv.in4)) || errno == EISCONN)
			return 0;
		if (errno != EINTR && errno != EALREADY && errno != EINPROGRESS &&
		    errno != EADDRNOTAVAIL && errno != EAGAIN)
			break;
		usleep(errno == EADDRNOTAVAIL || errno == EAGAIN ? 1000 : 50);
	}
	fprintf(stderr, "fuzz_tcpsrv: connect: %s\n", strerror(errno));
	return -1;
}

/* The link's count of open connections (its t.open counter). */
static long link_open(void)
{
	char *buf = NULL, *at;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	long n;

	if (!f)
		abort();
	lk->ops->write_stats(lk, f, "t");
	fclose(f);
	at = strstr(buf, "t.open=");
	if (!at)
		abort();
	n = strtol(at + 7, NULL, 10);
	free(buf);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed, nc;
	size_t off = 2;
	union sockaddr_any sa;
	socklen_t len;

	if (size < 2)
		return 0;
	nc = 1 + data[0] % NCLI_MAX;
	seed = data[1];
	for (uint32_t c = 0; c < NCLI_MAX; c++) {
		struct cli *k = &cli[c];

		k->fd = -1;
		k->written = k->walk = 0;
		k->bad = false;
		if (c >= nc)
			continue;
		k->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/*
		 * Closed with a reset, not a FIN: at 10^4 inputs a second, TIME_WAIT
		 * would use up the ephemeral ports and connect would fail.
		 */
		if (k->fd < 0 || setsockopt(k->fd, SOL_SOCKET, SO_LINGER,
					    &(struct linger){ .l_onoff = 1, .l_linger = 0 },
					    sizeof(struct linger)) ||
		    cli_connect(k->fd))
			abort();
		len = sizeof(sa.in4);
		if (getsockname(k->fd, &sa.sa, &len))
			abort();
		k->port = sa.in4.sin_port;
	}
	pump(&seed);
	while (off + 2 <= size) {
		struct cli *k = &cli[data[off] % nc];
		uint32_t n = data[off + 1] * 8u + rnd(&seed) % 8;

		off += 2;
		if (n > size - off)
			n = (uint32_t)(size - off);
		if (k->bad || k->written + n > STREAM_MAX) {
			off += n;
			continue;
		}
		memcpy(k->s + k->written, data + off, n);
		if (!send_all(k, n, &seed)) {
			/* The link closed it: only a bad length may do that. */
			settle(&seed);
			if (!k->bad)
				abort();
		}
		off += n;
		pump(&seed);
	}
	settle(&seed);
	/* Every whole frame before a bad length came out; a bad one closed its connection. */
	for (uint32_t c = 0; c < nc; c++) {
		struct cli *k = &cli[c];
		uint32_t n;

		if (!k->bad && k->walk + 2 <= k->written) {
			n = (uint32_t)k->s[k->walk] << 8 | k->s[k->walk + 1];
			if (k->walk + 2 + n <= k->written)
				abort();	/* a whole good frame was left behind */
		}
		close(k->fd);
	}
	/*
	 * Every close seen: nothing left open (a notice per framed client,
	 * drained). On a loaded host the resets may arrive a moment late: the
	 * link is asked again for up to about 2 s before that counts as a leak.
	 */
	for (int round = 0; round < 2000 && link_open() != 0; round++) {
		struct pkt *out[8];
		bool keep;

		if (lk->ops->rx_complete(lk, 0, NULL, 1, out, 8, &keep, &st))
			abort();	/* no client writes any more */
		if (round >= 50)
			usleep(1000);
	}
	while (link_tcpsrv_closed(lk, &sa, &len))
		;
	if (link_open() != 0)
		abort();
	return 0;
}
