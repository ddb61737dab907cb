/*
 * tcp_server_tx.c - the send side of the TCP server link (io/tcp_server.c
 * has the design): tx_prep writes each chain straight to its connection,
 * non-blocking and in order behind the connection's backlog; tx_idle and
 * every tx_prep flush the backlogs; a zero-length packet is ctrl's close.
 *
 * Thread: link_tx only (and tsrv_tx_drop_backlog at destroy, loops
 * stopped). Touches tsrv_link.tx and each connection's tx part; the shared
 * part only under the lock, holding a reference around each write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp_server_int.h"

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

void tsrv_tx_drop_backlog(struct tsrv_txc *c)
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
		if (!p->len) {
			CNT_INC(tl->cnt.hangups);	/* ctrl's close of a connection already gone */
			return 0;
		}
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

bool tsrv_tx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
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

int tsrv_tx_complete(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			    int res, uint64_t ud)
{
	(void)u, (void)p, (void)ud;
	if (res < 0)
		return res;
	return tsrv_of(l)->tx.res[slot];
}

void tsrv_tx_idle(struct link *l)
{
	struct tsrv_link *tl = tsrv_of(l);

	if (tl->tx.nbacklog)
		tsrv_tx_flush(tl);
}
