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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/clock.h"
#include "io.h"
#include "link.h"
#include "tcpframe.h"
#include "tcpsrv_table.h"
#include "uring.h"

#define TSRV_RX_BUF		(4 * (PKT_MTU_DATA + TCP_FRAME_HDR))
#define TSRV_TX_BACKLOG		(256 * 1024)
#define TSRV_FIRST_FRAME_S	10
#define TSRV_EVENTS		64
#define TSRV_ACCEPTS		32	/* per completion */
#define TSRV_NOTICES		256
#define TSRV_TICK_NS		(250 * NSEC_PER_MSEC)
#define TSRV_LISTEN_TAG		UINT32_MAX

_Static_assert(TSRV_RX_BUF >= 2 * (PKT_MTU_DATA + TCP_FRAME_HDR), "a read fits behind a frame");

/* A connection, as the table's shared part plus each thread's own. */
struct tsrv_shared {			/* under lock */
	int fd;
	uint32_t refs;
	bool open;			/* link_rx has not closed it */
};

struct tsrv_rxc {			/* link_rx only */
	struct tcp_reasm r;
	uint8_t *buf;
	int64_t accept_ns, last_ns;
	union sockaddr_any addr;	/* a copy of the table's, for each frame */
	socklen_t addr_len;
	int fd;
	bool live;
	bool framed;			/* a whole frame came */
	bool queued;			/* in rx.pend */
};

struct tsrv_txc {			/* link_tx only */
	uint8_t *q;
	uint32_t head, len, cap;
	uint32_t gen;
	bool listed;			/* in tx.backlog */
	bool hangup;			/* ctrl asked to close: FIN once the backlog is out */
};

/* The link's own counters, printed as tcpsrv.* (each written by one thread). */
struct tcpsrv_counters {
	uint64_t open;			/* connections open now (link_rx) */
	uint64_t accepted;		/* link_rx, and the rest down to closed_idle */
	uint64_t refused;		/* over the cap (or a duplicate address, no memory) */
	uint64_t closed_eof;		/* the peer closed */
	uint64_t closed_err;		/* a read failed (reset) */
	uint64_t closed_bad_len;	/* a zero or oversize length prefix */
	uint64_t closed_silent;		/* no whole frame within TSRV_FIRST_FRAME_S */
	uint64_t closed_idle;		/* nothing for idle_s */
	uint64_t notices_lost;		/* close notices ctrl had no room for */
	uint64_t closed_slow;		/* link_tx: backlog over TSRV_TX_BACKLOG */
	uint64_t hangups;		/* link_tx: closed at ctrl's request (its session ended) */
	uint64_t tx_no_conn;		/* link_tx: a packet for no open connection */
};

struct tsrv_notice {
	union sockaddr_any sa;
	socklen_t len;
};

struct tsrv_link {
	struct link l;			/* first: what the loops see */
	int epfd;
	uint32_t frame_max;
	int64_t idle_ns;		/* 0: no idle limit */
	pthread_mutex_t lock;
	struct {			/* under lock */
		struct tsrv_tab tab;
		struct tsrv_shared *sh;
		struct tsrv_notice notice[TSRV_NOTICES];
		uint32_t nhead, nlen;
	} s;
	alignas(CACHELINE) struct {	/* link_rx only */
		struct tsrv_rxc *c;
		uint32_t *pend;		/* connections with bytes to frame */
		uint32_t npend, cur;
		bool busy;
		uint32_t slot;
		int64_t next_tick;
	} rx;
	alignas(CACHELINE) struct {	/* link_tx only */
		struct tsrv_txc *c;
		uint32_t *backlog;
		uint32_t nbacklog;
		int res[URING_TX_SLOTS];
	} tx;
	/* Counters: each written by one thread, read relaxed by ctrl. */
	alignas(CACHELINE) struct tcpsrv_counters cnt;
};

static inline struct tsrv_link *tsrv_of(struct link *l)
{
	return (struct tsrv_link *)l;
}

#define CNT_INC(f)	STAT_INC(f)

/* Under lock: drops a reference; the last one closes the fd and frees the entry. */
static void tsrv_put_locked(struct tsrv_link *tl, uint32_t i)
{
	struct tsrv_shared *sh = &tl->s.sh[i];

	if (--sh->refs)
		return;
	(void)close(sh->fd);
	sh->fd = -1;
	tsrv_tab_free(&tl->s.tab, i);
}

static void tsrv_put(struct tsrv_link *tl, uint32_t i)
{
	pthread_mutex_lock(&tl->lock);
	tsrv_put_locked(tl, i);
	pthread_mutex_unlock(&tl->lock);
}

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

		if (fd < 0)
			return;
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
	/* One poll at a time; none while whole frames wait (rx_pending hands them on). */
	if (tl->rx.busy || tl->rx.npend)
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

/* ---- send (link_tx) -------------------------------------------------------- */

/* link_tx: a reference to connection @i if it is still (@gen, open); its fd, or -1. */
static int tsrv_tx_get(struct tsrv_link *tl, uint32_t i, uint32_t gen)
{
	int fd = -1;

	pthread_mutex_lock(&tl->lock);
	if (tl->s.tab.ent[i].used && tl->s.tab.ent[i].gen == gen && tl->s.sh[i].open) {
		tl->s.sh[i].refs++;
		fd = tl->s.sh[i].fd;
	}
	pthread_mutex_unlock(&tl->lock);
	return fd;
}

static void tsrv_tx_drop_backlog(struct tsrv_txc *c)
{
	free(c->q);
	c->q = NULL;
	c->head = c->len = c->cap = 0;
	c->hangup = false;
}

/* link_tx: ctrl's close, once nothing waits: FIN after what was written (link_rx then sees EOF). */
static void tsrv_tx_hangup(struct tsrv_link *tl, struct tsrv_txc *c, int fd)
{
	c->hangup = false;
	CNT_INC(tl->cnt.hangups);
	(void)shutdown(fd, SHUT_WR);
}

/* link_tx: appends @n bytes to @c's backlog; false if it would pass the cap. */
static bool tsrv_tx_append(struct tsrv_txc *c, const uint8_t *b, uint32_t n)
{
	if (c->len + n > TSRV_TX_BACKLOG)
		return false;
	if (c->head + c->len + n > c->cap) {
		if (c->head) {
			memmove(c->q, c->q + c->head, c->len);
			c->head = 0;
		}
		if (c->len + n > c->cap) {
			uint32_t cap = MAX(c->cap * 2, 16384u);
			uint8_t *q;

			while (cap < c->len + n)
				cap *= 2;
			q = realloc(c->q, cap);
			if (!q)
				return false;
			c->q = q;
			c->cap = cap;
		}
	}
	memcpy(c->q + c->head + c->len, b, n);
	c->len += n;
	return true;
}

static void tsrv_tx_list(struct tsrv_link *tl, uint32_t i)
{
	if (!tl->tx.c[i].listed) {
		tl->tx.c[i].listed = true;
		tl->tx.backlog[tl->tx.nbacklog++] = i;
	}
}

/* link_tx: a slow reader: shut its socket (link_rx then closes it), drop what waits. */
static void tsrv_tx_slow(struct tsrv_link *tl, struct tsrv_txc *c, int fd)
{
	(void)shutdown(fd, SHUT_RDWR);
	tsrv_tx_drop_backlog(c);
	CNT_INC(tl->cnt.closed_slow);
}

/* link_tx: writes what the backlogs hold, as far as the sockets take it. */
static void tsrv_tx_flush(struct tsrv_link *tl)
{
	for (uint32_t k = 0; k < tl->tx.nbacklog;) {
		uint32_t i = tl->tx.backlog[k];
		struct tsrv_txc *c = &tl->tx.c[i];
		int fd = c->len ? tsrv_tx_get(tl, i, c->gen) : -1;

		if (fd >= 0) {
			ssize_t n = send(fd, c->q + c->head, c->len, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n > 0) {
				c->head += (uint32_t)n;
				c->len -= (uint32_t)n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				c->len = 0;	/* broken: link_rx sees it too */
			}
			if (!c->len && c->hangup)
				tsrv_tx_hangup(tl, c, fd);
			tsrv_put(tl, i);
		} else {
			c->len = 0;		/* closed or reused */
		}
		if (c->len) {
			k++;
			continue;
		}
		tsrv_tx_drop_backlog(c);
		c->listed = false;
		tl->tx.backlog[k] = tl->tx.backlog[--tl->tx.nbacklog];
	}
}

/* link_tx: frames @p's chain and writes it to its connection (or its backlog). */
static int tsrv_tx_write(struct tsrv_link *tl, struct pkt *p)
{
	struct iovec iov[LINK_SEGS_MAX];
	struct msghdr msg = { .msg_iov = iov };
	struct tsrv_txc *c;
	uint32_t i, gen = 0, sent = 0, payload = 0;
	bool hangup = false;
	ssize_t n;
	int fd = -1;

	pthread_mutex_lock(&tl->lock);
	i = tsrv_tab_lookup(&tl->s.tab, &p->addr, p->addr_len);
	if (i != TSRV_NONE && tl->s.sh[i].open) {
		tl->s.sh[i].refs++;
		fd = tl->s.sh[i].fd;
		gen = tl->s.tab.ent[i].gen;
	}
	pthread_mutex_unlock(&tl->lock);
	if (fd < 0) {
		CNT_INC(tl->cnt.tx_no_conn);
		return -ENOTCONN;
	}
	c = &tl->tx.c[i];
	if (c->gen != gen) {
		tsrv_tx_drop_backlog(c);	/* the entry's previous connection's */
		c->gen = gen;
	}
	for (struct pkt *q = p; q && msg.msg_iovlen < LINK_SEGS_MAX; q = q->next) {
		if (!q->len) {
			/* ctrl's close (link.h); as the shortest packet it ends any chain. */
			hangup = true;
			break;
		}
		if (unlikely(pkt_headroom(q) < TCP_FRAME_HDR || q->len > UINT16_MAX)) {
			tsrv_put(tl, i);
			return -EINVAL;
		}
		q->data[-2] = (uint8_t)(q->len >> 8);
		q->data[-1] = (uint8_t)q->len;
		iov[msg.msg_iovlen].iov_base = q->data - TCP_FRAME_HDR;
		iov[msg.msg_iovlen++].iov_len = q->len + TCP_FRAME_HDR;
		payload += q->len;
	}
	if (!c->len && msg.msg_iovlen) {
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			int err = -errno;

			tsrv_put(tl, i);
			return err;
		}
		sent = n > 0 ? (uint32_t)n : 0;
	}
	/* The rest, in order, behind what already waits. */
	for (size_t v = 0; v < msg.msg_iovlen; v++) {
		uint32_t vl = (uint32_t)iov[v].iov_len;

		if (sent >= vl) {
			sent -= vl;
			continue;
		}
		if (!tsrv_tx_append(c, (uint8_t *)iov[v].iov_base + sent, vl - sent)) {
			tsrv_tx_slow(tl, c, fd);
			tsrv_put(tl, i);
			return -ENOBUFS;
		}
		sent = 0;
	}
	if (c->len)
		tsrv_tx_list(tl, i);
	if (hangup && c->len)
		c->hangup = true;
	else if (hangup)
		tsrv_tx_hangup(tl, c, fd);
	tsrv_put(tl, i);
	return (int)payload;
}

static bool tsrv_tx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			 uint64_t ud)
{
	struct tsrv_link *tl = tsrv_of(l);
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (unlikely(!sqe))
		return false;	/* nothing written: the loop drops the chain */
	tsrv_tx_flush(tl);
	tl->tx.res[slot] = tsrv_tx_write(tl, p);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, ud);
	return true;
}

static int tsrv_tx_complete(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			    int res, uint64_t ud)
{
	(void)u, (void)p, (void)ud;
	if (res < 0)
		return res;
	return tsrv_of(l)->tx.res[slot];
}

static void tsrv_tx_idle(struct link *l)
{
	struct tsrv_link *tl = tsrv_of(l);

	if (tl->tx.nbacklog)
		tsrv_tx_flush(tl);
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
