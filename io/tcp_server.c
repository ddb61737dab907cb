/*
 * tcp_server.c - the TCP server link (link.h, LINK_TCP_SERVER): a listening
 * socket and every connection accepted on it, each carrying control and
 * data packets behind OpenVPN's 2-byte big-endian length (openvpn-wire.md
 * §11, io/tcpframe.h). A connection's peer address is its identity: each
 * frame read from it goes up with p->addr = that address, and a packet sent
 * to that address goes down that connection, so the server's address ->
 * session logic (ctrl/server) runs unchanged over TCP.
 *
 * Threads and ownership.
 *   ctrl     link_tcpsrv_create (set-up: the epoll fd), destroy (loops
 *            stopped: closes every connection; the listening fd is ctrl's),
 *            link_tcpsrv_closed (drains the notices of closed connections)
 *            and the stats op; both under the lock.
 *   link_rx  rx_prep / rx_complete / rx_pending: accepts, reads, frames,
 *            closes; owns tsrv_link.rx and each connection's rx part
 *            (reassembly buffer, timers).
 *   link_tx  tx_prep / tx_complete / tx_idle: looks up, writes; owns
 *            tsrv_link.tx and each connection's tx part (send backlog).
 * The shared part of a connection (fd, address, generation, references,
 * open) lives in the table (tcpsrv_table.h) and is touched only under
 * tsrv_link.lock, held for bookkeeping only, never across I/O. The fd of a
 * connection stays valid while anyone holds a reference: link_rx holds one
 * from accept to its close; link_tx takes one around each write. link_rx's
 * close marks the entry closed, takes it out of the hash (no new sends find
 * it), shuts the socket down both ways and drops its reference; whoever
 * drops the last one closes the fd and frees the entry. link_tx holds no
 * reference between calls: its backlog names the entry by (index,
 * generation) and is dropped when the entry closed or was reused.
 *
 * Receive. link_rx keeps one io_uring poll (POLLIN) in flight, on the epoll
 * fd, which holds the listening socket and every connection (level
 * triggered, non-blocking). Its completion runs epoll_wait(..., 0): new
 * connections are accepted (at most cap; beyond, closed at once and
 * counted), readable ones read once each into their own reassembly buffer
 * (TSRV_RX_BUF: room for a read behind a partial frame; the buffer never
 * grows), and whole frames are copied into packets of l->rx_pool,
 * connection by connection, as far as link_rx has room (and the pool has
 * packets: a frame never is dropped for want of one, it waits, and link_rx
 * comes back within its idle wait); the rest waits for
 * rx_pending, and no poll is queued while any whole frame still waits (so
 * a full buffer is never polled). A read of 0 (EOF), a read error, a zero
 * or oversize length prefix closes the connection.
 *
 * Send. tx_prep writes the chain straight to its connection with a
 * non-blocking sendmsg (lengths in each packet's headroom); what the socket
 * does not take goes to the connection's backlog, which later writes queue
 * behind (order kept) and which every tx_prep and every link_tx turn
 * (tx_idle) flushes. A backlog over TSRV_TX_BACKLOG is a slow reader: the
 * connection is shut down (link_rx then closes it) and counted. The slot
 * itself completes through an io_uring NOP; tx_complete returns the result
 * tx_prep recorded (bytes taken, or -errno: no connection, slow reader).
 * A packet of length 0 is ctrl's close of that connection (its session
 * ended): once everything queued before it is written, the socket is shut
 * for writing (a FIN after the last byte, e.g. an AUTH_FAILED or RESTART);
 * link_rx closes it when the peer closes its side, or at the idle limit.
 *
 * Bounds: at most cap connections (max-clients + slack, set by ctrl), each
 * TSRV_RX_BUF of receive buffer and TSRV_TX_BACKLOG of backlog at most; a
 * connection that sends no whole frame within TSRV_FIRST_FRAME_S of accept
 * or nothing for idle_s (ctrl: from ping-restart) is closed; at most
 * TSRV_NOTICES close notices wait for ctrl (beyond: counted, ctrl's
 * keepalive reaps the session instead).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "io.h"
#include "tcp_server_int.h"

/* ---- receive (link_rx) ---------------------------------------------------- */

/* link_rx: connection @i ends; @why counts it. */
static void tsrv_rx_close(struct tsrv_link *tl, uint32_t i, uint64_t *why)
{
	struct tsrv_rxc *c = &tl->rx.c[i];
	struct tsrv_ent *e;

	if (!c->live)
		return;
	CNT_INC(*why);
	(void)epoll_ctl(tl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	free(c->buf);
	c->buf = NULL;
	c->live = false;
	pthread_mutex_lock(&tl->lock);
	e = &tl->s.tab.ent[i];
	tl->s.sh[i].open = false;
	tsrv_tab_unhash(&tl->s.tab, i);
	if (c->framed) {
		/* ctrl ends the session of this address (a reset-only probe has none). */
		if (tl->s.nlen < TSRV_NOTICES) {
			struct tsrv_notice *n =
				&tl->s.notice[(tl->s.nhead + tl->s.nlen++) % TSRV_NOTICES];

			n->sa = e->addr;
			n->len = e->addr_len;
		} else {
			CNT_INC(tl->cnt.notices_lost);
		}
	}
	/* While link_tx still writes to it, the fd must stay open: shut it instead. */
	if (tl->s.sh[i].refs > 1)
		(void)shutdown(c->fd, SHUT_RDWR);
	tsrv_put_locked(tl, i);
	pthread_mutex_unlock(&tl->lock);
	STAT_ADD(tl->cnt.open, -1);
}

/* link_rx: takes new connections, up to the cap. */
static void tsrv_rx_accept(struct tsrv_link *tl, int64_t now)
{
	for (int k = 0; k < TSRV_ACCEPTS; k++) {
		union sockaddr_any sa;
		socklen_t len = sizeof(sa);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		uint32_t i, old;
		uint8_t *buf;
		int one = 1;
		int fd = accept4(tl->l.fd, &sa.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			/*
			 * Out of fds or memory: the connection stays queued and the
			 * socket readable, so the poll would come back at once. Stop
			 * listening until the next tick (tsrv_rx_timers).
			 */
			CNT_INC(tl->cnt.accept_errors);
			if (!tl->rx.listen_off &&
			    !epoll_ctl(tl->epfd, EPOLL_CTL_DEL, tl->l.fd, NULL))
				tl->rx.listen_off = true;
			return;
		}
		buf = malloc(TSRV_RX_BUF);
		pthread_mutex_lock(&tl->lock);
		old = tsrv_tab_lookup(&tl->s.tab, &sa, len);
		i = buf && old == TSRV_NONE ? tsrv_tab_alloc(&tl->s.tab, &sa, len) : TSRV_NONE;
		if (i != TSRV_NONE) {
			tl->s.sh[i].fd = fd;
			tl->s.sh[i].refs = 1;
			tl->s.sh[i].open = true;
		}
		pthread_mutex_unlock(&tl->lock);
		ev.data.u32 = i;
		if (i == TSRV_NONE || epoll_ctl(tl->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			/* Full (or a duplicate address, or no memory): refused at once. */
			free(buf);
			CNT_INC(tl->cnt.refused);
			if (i != TSRV_NONE) {
				pthread_mutex_lock(&tl->lock);
				tl->s.sh[i].open = false;
				tsrv_put_locked(tl, i);	/* closes fd */
				pthread_mutex_unlock(&tl->lock);
			} else {
				(void)close(fd);
			}
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		tl->rx.c[i] = (struct tsrv_rxc){ .buf = buf, .accept_ns = now, .last_ns = now,
						 .fd = fd, .live = true, .addr = sa,
						 .addr_len = len };
		tcp_reasm_init(&tl->rx.c[i].r, buf, TSRV_RX_BUF);
		CNT_INC(tl->cnt.accepted);
		STAT_ADD(tl->cnt.open, 1);
	}
}

/* link_rx: one read of connection @i into its buffer's free tail. */
static void tsrv_rx_read(struct tsrv_link *tl, uint32_t i, int64_t now)
{
	struct tsrv_rxc *c = &tl->rx.c[i];
	uint32_t room;
	uint8_t *at;
	ssize_t n;

	if (!c->live)
		return;
	tcp_reasm_compact(&c->r);
	at = tcp_reasm_tail(&c->r, &room);
	if (room < tl->frame_max + TCP_FRAME_HDR)
		return;		/* whole frames still wait (rx_pending); not polled meanwhile */
	n = recv(c->fd, at, room, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tsrv_rx_close(tl, i, n == 0 ? &tl->cnt.closed_eof : &tl->cnt.closed_err);
		return;
	}
	tcp_reasm_added(&c->r, (uint32_t)n);
	c->last_ns = now;
	if (!c->queued) {
		c->queued = true;
		tl->rx.pend[tl->rx.npend++] = i;
	}
}

/* link_rx: up to @max whole frames, connection by connection, each copied into a packet. */
static unsigned int tsrv_rx_frames(struct tsrv_link *tl, struct pkt **out, unsigned int max,
				   struct stats *st)
{
	unsigned int n = 0;

	while (tl->rx.npend && n < max) {
		uint32_t i = tl->rx.pend[tl->rx.cur % tl->rx.npend];
		struct tsrv_rxc *c = &tl->rx.c[i];
		bool drained = !c->live;

		while (!drained && n < max) {
			const uint8_t *f;
			uint32_t len;
			enum tcp_frame_rc rc;
			/* A packet first: with none, the frame stays put (a stream loses nothing). */
			struct pkt *q = pool_get(tl->l.rx_pool);

			if (unlikely(!q))
				return n;
			rc = tcp_reasm_next(&c->r, tl->frame_max, &f, &len);
			if (rc != TCPF_FRAME)
				pkt_free(q);
			if (rc == TCPF_NEED) {
				drained = true;
				break;
			}
			STAT_INC(st->rx_pkts);
			if (rc != TCPF_FRAME) {
				STAT_DROP(st, rc == TCPF_BAD_ZERO ? DROP_SHORT : DROP_OVERSIZE);
				tsrv_rx_close(tl, i, &tl->cnt.closed_bad_len);
				drained = true;
				break;
			}
			STAT_ADD(st->rx_bytes, len);
			c->framed = true;
			memcpy(q->data, f, len);
			q->len = len;
			q->addr = c->addr;
			q->addr_len = c->addr_len;
			out[n++] = q;
		}
		if (drained) {
			/* Swap-remove; the cursor stays on the one moved in. */
			uint32_t at = tl->rx.cur % tl->rx.npend;

			c->queued = false;
			tl->rx.pend[at] = tl->rx.pend[--tl->rx.npend];
		} else {
			tl->rx.cur++;
		}
	}
	return n;
}

/* link_rx: closes connections that never framed or went silent; at most every tick. */
static void tsrv_rx_timers(struct tsrv_link *tl, int64_t now)
{
	if (now < tl->rx.next_tick)
		return;
	tl->rx.next_tick = now + TSRV_TICK_NS;
	if (tl->rx.listen_off) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TSRV_LISTEN_TAG };

		if (!epoll_ctl(tl->epfd, EPOLL_CTL_ADD, tl->l.fd, &ev))
			tl->rx.listen_off = false;
	}
	for (uint32_t i = 0; i < tl->s.tab.cap; i++) {
		struct tsrv_rxc *c = &tl->rx.c[i];

		if (!c->live)
			continue;
		if (!c->framed && now - c->accept_ns > TSRV_FIRST_FRAME_S * NSEC_PER_SEC)
			tsrv_rx_close(tl, i, &tl->cnt.closed_silent);
		else if (tl->idle_ns && now - c->last_ns > tl->idle_ns)
			tsrv_rx_close(tl, i, &tl->cnt.closed_idle);
	}
}

static bool tsrv_rx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			 uint64_t ud)
{
	struct tsrv_link *tl = tsrv_of(l);
	struct io_uring_sqe *sqe;

	(void)p;
	/*
	 * One poll at a time (the loop re-arms a slot only after its CQE, so a
	 * poll that ended without rx_complete, e.g. -EINTR, frees its slot
	 * here); none while whole frames wait (rx_pending hands them on).
	 */
	if ((tl->rx.busy && tl->rx.slot != slot) || tl->rx.npend)
		return false;
	sqe = uring_sqe(u);
	if (unlikely(!sqe))
		return false;
	io_uring_prep_poll_add(sqe, tl->epfd, POLLIN);
	io_uring_sqe_set_data64(sqe, ud);
	tl->rx.busy = true;
	tl->rx.slot = slot;
	return true;
}

static unsigned int tsrv_rx_complete(struct link *l, uint32_t slot, struct pkt *p, int res,
				     struct pkt **out, unsigned int max, bool *keep,
				     struct stats *st)
{
	struct tsrv_link *tl = tsrv_of(l);
	struct epoll_event ev[TSRV_EVENTS];
	int64_t now = clock_mono_ns();
	int n;

	(void)slot, (void)p, (void)res;
	*keep = true;		/* the slot's packet is never read into */
	tl->rx.busy = false;
	n = epoll_wait(tl->epfd, ev, TSRV_EVENTS, 0);
	for (int k = 0; k < n; k++) {
		if (ev[k].data.u32 == TSRV_LISTEN_TAG)
			tsrv_rx_accept(tl, now);
		else if (ev[k].data.u32 < tl->s.tab.cap)
			tsrv_rx_read(tl, ev[k].data.u32, now);
	}
	return tsrv_rx_frames(tl, out, max, st);
}

static unsigned int tsrv_rx_pending(struct link *l, struct pkt **out, unsigned int max,
				    struct stats *st)
{
	struct tsrv_link *tl = tsrv_of(l);

	tsrv_rx_timers(tl, clock_mono_ns());
	return tsrv_rx_frames(tl, out, max, st);
}

/* ---- setup and ctrl ----------------------------------------------------------- */

static void tsrv_destroy(struct link *l)
{
	struct tsrv_link *tl = tsrv_of(l);

	if (tl->rx.c && tl->s.sh) {
		for (uint32_t i = 0; i < tl->s.tab.cap; i++) {
			if (tl->rx.c[i].live) {
				free(tl->rx.c[i].buf);
				(void)close(tl->s.sh[i].fd);
			}
			if (tl->tx.c)
				tsrv_tx_drop_backlog(&tl->tx.c[i]);
		}
	}
	if (tl->epfd >= 0)
		(void)close(tl->epfd);
	tsrv_tab_fini(&tl->s.tab);
	free(tl->s.sh);
	free(tl->rx.c);
	free(tl->rx.pend);
	free(tl->tx.c);
	free(tl->tx.backlog);
	pthread_mutex_destroy(&tl->lock);
	free(tl);
}

/* ctrl, loops stopped: another listening socket. */
static void tsrv_set_fd(struct link *l, int fd)
{
	struct tsrv_link *tl = tsrv_of(l);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TSRV_LISTEN_TAG };

	if (l->fd >= 0)
		(void)epoll_ctl(tl->epfd, EPOLL_CTL_DEL, l->fd, NULL);
	l->fd = fd;
	(void)epoll_ctl(tl->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void tsrv_write_stats(struct link *l, FILE *f, const char *prefix)
{
	const struct tcpsrv_counters *c = &tsrv_of(l)->cnt;

#define P(x) fprintf(f, "%s.%s=%llu\n", prefix, #x, (unsigned long long)STAT_READ(c->x))
	P(open);
	P(accepted);
	P(refused);
	P(closed_eof);
	P(closed_err);
	P(closed_bad_len);
	P(closed_silent);
	P(closed_idle);
	P(closed_slow);
	P(hangups);
	P(tx_no_conn);
	P(accept_errors);
	P(notices_lost);
#undef P
}

static const struct link_ops tsrv_link_ops = {
	.name = "tcpsrv",
	.rx_prep = tsrv_rx_prep,
	.rx_complete = tsrv_rx_complete,
	.rx_pending = tsrv_rx_pending,
	.tx_prep = tsrv_tx_prep,
	.tx_complete = tsrv_tx_complete,
	.tx_idle = tsrv_tx_idle,
	.write_stats = tsrv_write_stats,
	.set_fd = tsrv_set_fd,
	.destroy = tsrv_destroy,
};

int link_tcpsrv_create(struct link **out, int fd, unsigned int index, uint32_t max_conns,
		       uint32_t idle_s)
{
	struct tsrv_link *tl;
	uint64_t seed = 0;
	uint32_t cap = MAX(max_conns, 1u);

	if (posix_memalign((void **)&tl, CACHELINE, sizeof(*tl)))
		return -ENOMEM;
	memset(tl, 0, sizeof(*tl));
	tl->l.ops = &tsrv_link_ops;
	tl->l.index = index;
	tl->l.fd = -1;
	tl->l.is_stream = true;
	tl->l.rx_segs_max = 1;
	tl->l.tx_batch_max = LINK_SEGS_MAX;
	tl->frame_max = PKT_MTU_DATA;
	tl->idle_ns = (int64_t)idle_s * NSEC_PER_SEC;
	pthread_mutex_init(&tl->lock, NULL);
	tl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)clock_mono_ns();
	if (tl->epfd < 0 || tsrv_tab_init(&tl->s.tab, cap, seed)) {
		tsrv_destroy(&tl->l);
		return -ENOMEM;
	}
	tl->s.sh = calloc(cap, sizeof(*tl->s.sh));
	tl->rx.c = calloc(cap, sizeof(*tl->rx.c));
	tl->rx.pend = calloc(cap, sizeof(*tl->rx.pend));
	tl->tx.c = calloc(cap, sizeof(*tl->tx.c));
	tl->tx.backlog = calloc(cap, sizeof(*tl->tx.backlog));
	if (!tl->s.sh || !tl->rx.c || !tl->rx.pend || !tl->tx.c || !tl->tx.backlog) {
		tsrv_destroy(&tl->l);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cap; i++)
		tl->s.sh[i].fd = -1;
	tsrv_set_fd(&tl->l, fd);
	*out = &tl->l;
	return 0;
}

int tcp_listen_open(const union sockaddr_any *local, socklen_t local_len)
{
	int one = 1, fd, rc;

	if (!local || (local->sa.sa_family != AF_INET && local->sa.sa_family != AF_INET6))
		return -EAFNOSUPPORT;
	fd = socket(local->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &local->sa, local_len) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

bool link_tcpsrv_closed(struct link *l, union sockaddr_any *sa, socklen_t *len)
{
	struct tsrv_link *tl = tsrv_of(l);
	bool got = false;

	if (l->ops != &tsrv_link_ops)
		return false;
	pthread_mutex_lock(&tl->lock);
	if (tl->s.nlen) {
		*sa = tl->s.notice[tl->s.nhead].sa;
		*len = tl->s.notice[tl->s.nhead].len;
		tl->s.nhead = (tl->s.nhead + 1) % TSRV_NOTICES;
		tl->s.nlen--;
		got = true;
	}
	pthread_mutex_unlock(&tl->lock);
	return got;
}
