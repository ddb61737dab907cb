/*
 * tcp_server_int.h - the TCP server link's state, shared by its receive and
 * setup side (io/tcp_server.c, which describes the design: threads,
 * ownership, bounds) and its send side (io/tcp_server_tx.c). Private to
 * those two files.
 */
#ifndef SLUICE_IO_TCP_SERVER_INT_H
#define SLUICE_IO_TCP_SERVER_INT_H

#include <pthread.h>
#include <unistd.h>

#include "../core/clock.h"
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
	uint64_t accept_errors;		/* accept failed (fds, memory): paused a tick */
	uint64_t closed_slow;		/* link_tx: backlog over TSRV_TX_BACKLOG */
	uint64_t hangups;		/* link_tx: ctrl's closes (its session ended; also of one gone) */
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
		bool listen_off;	/* accept failed: listening socket out of epoll */
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
static inline void tsrv_put_locked(struct tsrv_link *tl, uint32_t i)
{
	struct tsrv_shared *sh = &tl->s.sh[i];

	if (--sh->refs)
		return;
	(void)close(sh->fd);
	sh->fd = -1;
	tsrv_tab_free(&tl->s.tab, i);
}

static inline void tsrv_put(struct tsrv_link *tl, uint32_t i)
{
	pthread_mutex_lock(&tl->lock);
	tsrv_put_locked(tl, i);
	pthread_mutex_unlock(&tl->lock);
}

/* link_tx (tcp_server_tx.c): the send ops; drop_backlog also at destroy (loops stopped). */
bool tsrv_tx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p, uint64_t ud);
int tsrv_tx_complete(struct link *l, struct uring *u, uint32_t slot, struct pkt *p, int res,
		     uint64_t ud);
void tsrv_tx_idle(struct link *l);
void tsrv_tx_drop_backlog(struct tsrv_txc *c);

#endif
