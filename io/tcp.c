/*
 * tcp.c - the TCP stream link (link.h) of a client: one connected TCP
 * socket to the server, carrying control and data packets each behind
 * OpenVPN's 2-byte big-endian length (openvpn-wire.md §11, io/tcpframe.h).
 *
 * Threads: link_tcp_create, set_fd and destroy run on ctrl (set-up, loops
 * stopped); the fd is ctrl's, which opened and connected it. The receive
 * ops run only on link_rx and touch only tcp_link.rx; the send ops run only
 * on link_tx and touch only tcp_link.tx (separate cache lines, one writer
 * each).
 *
 * Receive. A stream has one order, so one read is in flight at a time
 * (rx_prep queues nothing while one is: the loop's other slots stay ready
 * and unused). The read goes straight into the free tail of the link's
 * reassembly buffer (TCP_RX_BUF bytes; the slot's own packet is not used),
 * and rx_complete / rx_pending copy each whole frame into a packet of
 * l->rx_pool, as far as link_rx has room downstream; what is left (whole
 * frames waiting for room, then at most one partial frame) stays in the
 * buffer, which never grows: no read is queued while less than one frame's
 * room is free. A frame of length 0 or longer than a packet takes
 * (DROP_SHORT, DROP_OVERSIZE) ends the connection: stock restarts on it.
 *
 * Send. Writes on one stream must not overtake each other, so one send is
 * in flight at a time; the slots link_tx hands over meanwhile wait in a
 * FIFO (their packets stay in their slots) and go out, in order, as each
 * send completes. Each packet's length goes into its headroom, so a send
 * is one sendmsg with an iovec per packet of the chain (prefix and packet
 * contiguous). A short write is resubmitted from where it stopped
 * (-EINPROGRESS: the slot stays busy). After a failed send (the peer
 * reset, or the loop's shutdown cancelled it) the stream is broken: the
 * waiting slots are completed through NOPs and counted as DROP_IO, and
 * nothing more is sent until ctrl hands over a new connection.
 *
 * End of the connection. A read of 0 bytes (the peer closed) or a bad
 * frame stops reading; a bad frame also shuts the socket down both ways.
 * ctrl learns of it from the socket itself (poll for POLLRDHUP: the
 * client's keepalive tick) and reconnects with a fresh one (set_fd).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "link.h"
#include "tcpframe.h"
#include "uring.h"

/* The reassembly buffer: a 64 KiB read plus a partial frame behind it. */
#define TCP_RX_BUF	(64 * 1024 + 4096)

struct tcp_tx_slot {
	struct msghdr msg;
	struct iovec iov[LINK_SEGS_MAX];
	uint32_t left;			/* bytes still to send */
	uint64_t ud;
};

struct tcp_link {
	struct link l;			/* first: what the loops see */
	union sockaddr_any peer;	/* the connection's far end: each packet's source */
	socklen_t peer_len;
	uint32_t frame_max;		/* the longest frame a packet of the rx pool takes */
	alignas(CACHELINE) struct {	/* link_rx only */
		struct tcp_reasm r;
		bool busy;		/* a read is in flight */
		uint32_t slot;		/* ... on this slot */
		bool closed;		/* EOF or a bad frame: no more reads */
		uint8_t buf[TCP_RX_BUF];
	} rx;
	alignas(CACHELINE) struct {	/* link_tx only */
		bool busy;		/* a send is in flight (slot cur) */
		bool broken;		/* a send failed: fail the rest */
		uint32_t cur;
		uint32_t q[URING_TX_SLOTS];	/* slots waiting, FIFO */
		uint32_t qhead, qlen;
		struct tcp_tx_slot slot[URING_TX_SLOTS];
	} tx;
};

static inline struct tcp_link *tcp_of(struct link *l)
{
	return (struct tcp_link *)l;
}

/* ---- receive (link_rx) ---------------------------------------------------- */

/* link_rx: the connection ends here (a bad frame): nothing more is read or trusted. */
static void tcp_rx_fail(struct tcp_link *tl, uint8_t why, struct stats *st)
{
	STAT_INC(st->rx_pkts);
	STAT_DROP(st, why);
	tl->rx.closed = true;
	tcp_reasm_reset(&tl->rx.r);
	/* The peer sees the close; ctrl sees POLLHUP and reconnects. */
	(void)shutdown(tl->l.fd, SHUT_RDWR);
}

/* link_rx: up to @max whole frames from the buffer, each copied into a fresh packet. */
static unsigned int tcp_rx_frames(struct tcp_link *tl, struct pkt **out, unsigned int max,
				  struct stats *st)
{
	unsigned int n = 0;

	while (n < max && !tl->rx.closed) {
		const uint8_t *f;
		uint32_t len;
		enum tcp_frame_rc rc = tcp_reasm_next(&tl->rx.r, tl->frame_max, &f, &len);
		struct pkt *q;

		if (rc == TCPF_NEED)
			break;
		if (rc != TCPF_FRAME) {
			tcp_rx_fail(tl, rc == TCPF_BAD_ZERO ? DROP_SHORT : DROP_OVERSIZE, st);
			break;
		}
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, len);
		q = pool_get(tl->l.rx_pool);
		if (unlikely(!q)) {
			STAT_DROP(st, DROP_POOL_EMPTY);
			continue;
		}
		memcpy(q->data, f, len);
		q->len = len;
		memcpy(&q->addr, &tl->peer, tl->peer_len);
		q->addr_len = tl->peer_len;
		out[n++] = q;
	}
	return n;
}

/* link_rx: one read into the buffer's free tail, if none is in flight and a frame fits. */
static bool tcp_rx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud)
{
	struct tcp_link *tl = tcp_of(l);
	struct io_uring_sqe *sqe;
	uint32_t room;
	uint8_t *at;

	(void)p;
	if (tl->rx.closed || (tl->rx.busy && tl->rx.slot != slot))
		return false;
	tcp_reasm_compact(&tl->rx.r);
	at = tcp_reasm_tail(&tl->rx.r, &room);
	/* Whole frames still wait for room downstream: rx_pending hands them on first. */
	if (room < tl->frame_max + TCP_FRAME_HDR)
		return false;
	sqe = uring_sqe(u);
	if (unlikely(!sqe))
		return false;
	io_uring_prep_recv(sqe, -1, at, room, 0);
	uring_sqe_file(u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, ud);
	tl->rx.busy = true;
	tl->rx.slot = slot;
	return true;
}

static unsigned int tcp_rx_complete(struct link *l, uint32_t slot, struct pkt *p, int res,
				    struct pkt **out, unsigned int max, bool *keep,
				    struct stats *st)
{
	struct tcp_link *tl = tcp_of(l);
	uint32_t room;

	(void)slot, (void)p;
	*keep = true;		/* the slot's packet was never read into */
	tl->rx.busy = false;
	if (res == 0) {
		/* The peer closed its side: ctrl sees POLLRDHUP. */
		tl->rx.closed = true;
		return 0;
	}
	(void)tcp_reasm_tail(&tl->rx.r, &room);
	tcp_reasm_added(&tl->rx.r, MIN((uint32_t)res, room));
	return tcp_rx_frames(tl, out, max, st);
}

static unsigned int tcp_rx_pending(struct link *l, struct pkt **out, unsigned int max,
				   struct stats *st)
{
	return tcp_rx_frames(tcp_of(l), out, max, st);
}

/* ---- send (link_tx) -------------------------------------------------------- */

static bool tcp_tx_submit(struct tcp_link *tl, struct uring *u, uint32_t slot)
{
	struct tcp_tx_slot *sl = &tl->tx.slot[slot];
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (unlikely(!sqe))
		return false;
	if (tl->tx.broken) {
		/* Completes at once; tx_complete fails the slot. */
		io_uring_prep_nop(sqe);
	} else {
		io_uring_prep_sendmsg(sqe, -1, &sl->msg, MSG_NOSIGNAL);
		uring_sqe_file(u, sqe, URING_FILE_IO);
	}
	io_uring_sqe_set_data64(sqe, sl->ud);
	tl->tx.busy = true;
	tl->tx.cur = slot;
	return true;
}

/* link_tx: the next waiting slot goes out; once broken, every waiting one completes failed. */
static void tcp_tx_next(struct tcp_link *tl, struct uring *u)
{
	tl->tx.busy = false;
	while (tl->tx.qlen) {
		uint32_t slot = tl->tx.q[tl->tx.qhead];

		tl->tx.qhead = (tl->tx.qhead + 1) % URING_TX_SLOTS;
		tl->tx.qlen--;
		(void)tcp_tx_submit(tl, u, slot);
		if (!tl->tx.broken)
			return;
	}
}

/* link_tx: frames @p's chain (length into each headroom) and sends it, or queues it. */
static bool tcp_tx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud)
{
	struct tcp_link *tl = tcp_of(l);
	struct tcp_tx_slot *sl = &tl->tx.slot[slot];
	unsigned int n = 0;
	uint32_t total = 0;

	if (tl->tx.broken)
		return false;
	for (struct pkt *q = p; q && n < LINK_SEGS_MAX; q = q->next, n++) {
		if (unlikely(pkt_headroom(q) < TCP_FRAME_HDR || q->len > UINT16_MAX || !q->len))
			return false;
		q->data[-2] = (uint8_t)(q->len >> 8);
		q->data[-1] = (uint8_t)q->len;
		sl->iov[n].iov_base = q->data - TCP_FRAME_HDR;
		sl->iov[n].iov_len = q->len + TCP_FRAME_HDR;
		total += q->len + TCP_FRAME_HDR;
	}
	memset(&sl->msg, 0, sizeof(sl->msg));
	sl->msg.msg_iov = sl->iov;
	sl->msg.msg_iovlen = n;
	sl->left = total;
	sl->ud = ud;
	if (tl->tx.busy) {
		tl->tx.q[(tl->tx.qhead + tl->tx.qlen) % URING_TX_SLOTS] = slot;
		tl->tx.qlen++;
		return true;
	}
	return tcp_tx_submit(tl, u, slot);
}

/* Skips @n sent bytes of @sl's iovecs. */
static void tcp_tx_advance(struct tcp_tx_slot *sl, uint32_t n)
{
	while (n && sl->msg.msg_iovlen) {
		struct iovec *v = sl->msg.msg_iov;

		if (n < v->iov_len) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			return;
		}
		n -= (uint32_t)v->iov_len;
		sl->msg.msg_iov++;
		sl->msg.msg_iovlen--;
	}
}

static int tcp_tx_complete(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			   int res, uint64_t ud)
{
	struct tcp_link *tl = tcp_of(l);
	struct tcp_tx_slot *sl = &tl->tx.slot[slot];
	uint32_t sent = 0;

	(void)p, (void)ud;
	if (tl->tx.broken)
		return res < 0 ? res : -EPIPE;	/* a NOP of a failed stream */
	if (res < 0 || (res == 0 && sl->left)) {
		tl->tx.broken = true;
		tcp_tx_next(tl, u);
		return res < 0 ? res : -EPIPE;
	}
	if ((uint32_t)res < sl->left) {
		sl->left -= (uint32_t)res;
		tcp_tx_advance(sl, (uint32_t)res);
		if (tcp_tx_submit(tl, u, slot))
			return -EINPROGRESS;
		tl->tx.broken = true;
		tcp_tx_next(tl, u);
		return -EIO;
	}
	for (struct pkt *q = p; q; q = q->next)
		sent += q->len;
	tl->tx.busy = false;
	tcp_tx_next(tl, u);
	return (int)sent;
}

/* ---- setup (ctrl) ----------------------------------------------------------- */

static void tcp_destroy(struct link *l)
{
	free(l);
}

/* ctrl, loops stopped: a fresh connection, so fresh state on both sides. */
static void tcp_set_fd(struct link *l, int fd)
{
	struct tcp_link *tl = tcp_of(l);
	int one = 1;

	l->fd = fd;
	tcp_reasm_init(&tl->rx.r, tl->rx.buf, sizeof(tl->rx.buf));
	tl->rx.busy = tl->rx.closed = false;
	tl->tx.busy = tl->tx.broken = false;
	tl->tx.qhead = tl->tx.qlen = 0;
	tl->peer_len = sizeof(tl->peer);
	if (getpeername(fd, &tl->peer.sa, &tl->peer_len))
		tl->peer_len = 0;
	/* Control packets are small and latency bound; link_tx batches data itself. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static const struct link_ops tcp_link_ops = {
	.name = "tcp",
	.rx_prep = tcp_rx_prep,
	.rx_complete = tcp_rx_complete,
	.rx_pending = tcp_rx_pending,
	.tx_prep = tcp_tx_prep,
	.tx_complete = tcp_tx_complete,
	.set_fd = tcp_set_fd,
	.destroy = tcp_destroy,
};

int link_tcp_create(struct link **out, int fd, unsigned int index)
{
	struct tcp_link *tl;

	if (posix_memalign((void **)&tl, CACHELINE, sizeof(*tl)))
		return -ENOMEM;
	memset(tl, 0, sizeof(*tl));
	tl->l.ops = &tcp_link_ops;
	tl->l.index = index;
	tl->l.is_stream = true;
	tl->l.rx_segs_max = 1;
	tl->l.tx_batch_max = LINK_SEGS_MAX;
	tl->frame_max = PKT_MTU_DATA;
	tcp_set_fd(&tl->l, fd);
	*out = &tl->l;
	return 0;
}

enum link_type link_type_of_fd(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (!getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) && type == SOCK_STREAM) {
		int acc = 0;

		len = sizeof(acc);
		if (!getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) && acc)
			return LINK_TCP_SERVER;
		return LINK_TCP;
	}
	return LINK_UDP;
}
