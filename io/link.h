/*
 * link.h - the seam between the data plane and its transport: the link to
 * the peers, through which data-channel and control packets leave and
 * arrive. Today one UDP socket (io/udp.c); the ops are shaped so that a
 * stream transport (TCP, with OpenVPN's 2-byte length prefix on every
 * packet) plugs in here without touching crypto, the stage ops or ctrl.
 *
 * Who calls what:
 *   ctrl      link_udp_create / link_tcp_create and link_destroy, through pipeline_create and
 *             pipeline_destroy; pipeline_link_set_fd while the loops are
 *             stopped (a client's reconnect from a fresh port).
 *   link_rx   rx_prep, rx_complete, rx_pending (io/link_rx.c), on its thread.
 *   link_tx   tx_prep, tx_complete (io/link_tx.c), on its thread.
 * A link's receive state is written only by link_rx and its send state
 * only by link_tx, each on cache lines of its own, so neither takes a lock.
 * Neither thread blocks in an op: the I/O itself goes through the loop's
 * io_uring, whose SQEs the ops prepare (the loop submits once per turn).
 *
 * Receive. link_rx keeps up to URING_RX_SLOTS reads in flight (uring.h),
 * slot i reading into a packet @p of link_rx's pool.
 *   rx_prep(l, u, slot, p, ud)  queues one read into @p: takes an SQE from
 *       @u, prepares it (including its file), tags it @ud. UDP: a recvmsg
 *       whose source address lands in p->addr. Returns false if it queued
 *       nothing (no SQE): the slot stays ready for the next turn.
 *   rx_complete(l, slot, p, res, out, max, keep, st)  a read finished with
 *       @res >= 0 bytes (the loop handles errors and shutdown). Turns the
 *       bytes into 0..@max packets at @out, each with its source in
 *       p->addr/addr_len, and counts rx_pkts/rx_bytes and its own drops in
 *       @st. *@keep says who owns @p now: true, the slot keeps it and reads
 *       into it again; false, it is one of the packets in @out. UDP: exactly
 *       one datagram, @p itself, or none (DROP_OVERSIZE: truncated); with
 *       GRO, every datagram of the read, each copied into a packet of
 *       l->rx_pool, @p kept (more than @max: DROP_OVERSIZE).
 *   rx_pending(l, out, max, st)  optional: packets left over from earlier
 *       reads. Called once per turn before the loop reaps; NULL for UDP.
 *   max >= 1 for every completion of a link without rx_pending: the loop
 *   reaps no more CQEs per turn than its burst has room for.
 *
 * Receive, multishot (optional; link_rx prefers it where the kernel takes a
 * provided-buffer ring, Linux 6.0): one request keeps receiving, one CQE
 * per datagram (or GRO batch), into buffers link_rx keeps in a ring of
 * pool packets; CQEs come in the order the socket queued the datagrams,
 * which several reads in flight cannot promise (a read the kernel hands to
 * an io-wq worker completes late: a whole GRO batch out of order is a
 * replay-window drop).
 *   rx_ms_head  bytes a buffer holds before the payload (the kernel's
 *       struct io_uring_recvmsg_out, the name and control room). link_rx
 *       starts each buffer MIN(rx_ms_head, PKT_HEADROOM) bytes before
 *       p->data, so a payload that needs no copy lands at p->data.
 *   rx_ms_arm(l, u, bgid, ud)  queues the multishot receive into buffer
 *       group @bgid, tagged @ud. false: no SQE (tried again next turn).
 *   rx_ms_complete(l, p, buf, res, out, max, keep, st)  @res bytes arrived
 *       in buffer @buf (the start of @p's); as rx_complete: *@keep true
 *       gives the buffer back to the ring, false hands @p on in @out.
 *
 * Send. link_tx keeps up to URING_TX_SLOTS sends in flight, slot i holding
 * the packet @p it sends until its CQE.
 *   tx_prep(l, u, slot, p, ud)  queues the send of @p to its destination:
 *       p->addr/addr_len, or the connected peer when addr_len is 0; with
 *       the packets chained behind it (a batch, at most tx_batch_max). UDP:
 *       a sendmsg, with GSO one sendmsg of the whole chain with UDP_SEGMENT
 *       set to the first one's length. Returns false if it queued nothing
 *       (the loop drops the chain, DROP_IO).
 *   tx_complete(l, u, slot, p, res, ud)  optional: the send on @slot
 *       finished with @res. Returns the result to count (bytes sent, or
 *       -errno: DROP_IO for each packet of the chain) and the loop frees
 *       the chain; or -EINPROGRESS when the link queued the rest of @p
 *       itself (tagged @ud), so the slot stays busy. UDP: a datagram is
 *       sent whole or not at all; a GSO send the kernel cannot segment
 *       (-EIO, -EINVAL) sets tx_batch_max to 1 for good.
 *
 * A stream link (io/tcp.c implements the client's: one connection; io/tcp_server.c
 * the server's, many connections behind one epoll fd, see its header) fits as follows. Its state holds the
 * connections (one fd each, registered with the loops' rings at an index
 * it manages) and, per connection, a reassembly buffer. rx_prep reads into
 * the slot's packet as a raw buffer on that slot's connection;
 * rx_complete walks the u16 big-endian length-prefixed frames (OpenVPN's
 * TCP framing), copies each whole frame into a fresh packet of the rx pool
 * (l->rx_pool) with the connection's address, keeps a partial frame for the
 * next read, sets *keep, and leaves what does not fit in @max for
 * rx_pending. tx_prep pushes the length into the packet's headroom
 * (PKT_HEADROOM reserves it) and writes to the connection; tx_complete
 * resubmits a short write's rest, which also keeps writes on one connection
 * in order. Still to add with it: accepting connections (a link op with its
 * own uring_op), telling ctrl about connections that open and close, and a
 * connection id in struct pkt (core/pkt.h), so a packet names its
 * connection by index rather than by the peer's address.
 *
 * Endpoints. struct peer_endpoint names where a peer is: an address (what
 * a datagram link sends to, and on a stream link the address of the
 * connection) plus the link it is on and, for a stream, the connection id.
 */
#ifndef SLUICE_IO_LINK_H
#define SLUICE_IO_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/compiler.h"
#include "../core/pkt.h"
#include "../core/stats.h"

struct uring;

/* The link types the pipeline can build; cfg.link_type. */
enum link_type {
	LINK_UDP = 0,
	LINK_TCP,			/* a connected TCP socket (io/tcp.c) */
	LINK_TCP_SERVER,		/* a listening TCP socket and its connections (io/tcp_server.c) */
};

/* peer_endpoint.conn of an endpoint on a datagram link. */
#define LINK_CONN_NONE	UINT32_MAX

/* Where a peer is. */
struct peer_endpoint {
	union sockaddr_any sa;		/* its address; len 0: the link is connected to it */
	socklen_t len;
	uint16_t link;			/* index of its link in the pipeline */
	uint32_t conn;			/* stream link: its connection; else LINK_CONN_NONE */
};

struct link;

struct link_ops {
	const char *name;		/* "udp": counters print as udp_rx.* and udp_tx.* */
	bool (*rx_prep)(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud);
	unsigned int (*rx_complete)(struct link *l, uint32_t slot, struct pkt *p, int res,
				    struct pkt **out, unsigned int max, bool *keep,
				    struct stats *st);
	unsigned int (*rx_pending)(struct link *l, struct pkt **out, unsigned int max,
				   struct stats *st);
	bool (*rx_ms_arm)(struct link *l, struct uring *u, uint16_t bgid, uint64_t ud);
	unsigned int (*rx_ms_complete)(struct link *l, struct pkt *p, void *buf, int res,
				       struct pkt **out, unsigned int max, bool *keep,
				       struct stats *st);
	bool (*tx_prep)(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud);
	int (*tx_complete)(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			   int res, uint64_t ud);
	/* link_tx, optional: once per turn, packets or not (a stream link's backlogs). */
	void (*tx_idle)(struct link *l);
	/* ctrl, optional: the link's own counters, as "@prefix.name=value" lines. */
	void (*write_stats)(struct link *l, FILE *f, const char *prefix);
	/* ctrl, with both loops stopped: the link's socket is now @fd (a client's reconnect). */
	void (*set_fd)(struct link *l, int fd);
	/* ctrl, with both loops stopped: frees the link (not its fd: ctrl's). */
	void (*destroy)(struct link *l);
};

/* What every link's state starts with. */
struct link {
	const struct link_ops *ops;
	int fd;				/* ctrl's; registered by the loops at their start */
	unsigned int index;		/* in the pipeline's links */
	struct pool *rx_pool;		/* link_rx's pool, for links that copy frames out */
	/*
	 * Receive: the most packets one rx_complete yields (link_rx keeps that
	 * much room in its burst for each read it reaps). 1 for a datagram
	 * read as it is; LINK_RX_SEGS_MAX with UDP GRO. Set at create, ctrl.
	 */
	unsigned int rx_segs_max;
	/*
	 * A byte stream (TCP): one read and one send in flight at a time, frames
	 * left over come through rx_pending, and the data channel's replay check
	 * is strict (packets cannot be reordered on the way). Set at create.
	 */
	bool is_stream;
	/* Receive: true if reads go to buffers of their own (link_rx's buf_pool), copied out. */
	bool rx_copies;
	/* Receive, multishot: bytes before the payload in a buffer (the ops above). */
	uint32_t rx_ms_head;
	/*
	 * Send: the most packets one tx_prep takes as a chain (pkt->next); 1:
	 * one at a time. link_tx chains a batch by the rule of LINK_SEGS_MAX.
	 * Set at create; lowered to 1 by link_tx's own tx_complete if the
	 * kernel refuses a batch (link_tx only after start).
	 */
	unsigned int tx_batch_max;
};

/*
 * A batch (one tx_prep, one read): up to LINK_SEGS_MAX packets and
 * LINK_BATCH_BYTES in all. A send batch is a run of packets to one
 * endpoint, each as long as the first but the last, which may be shorter:
 * what one UDP_SEGMENT send carries (the kernel's UDP_MAX_SEGMENTS: 64 on
 * older kernels, 128 on newer ones), and what a stream link can write in
 * one go.
 */
#define LINK_SEGS_MAX		64
#define LINK_BATCH_BYTES	65000
/*
 * A receive batch: the most datagrams one UDP GRO read returns. A sender's
 * GSO skb reaches a GRO socket whole, so up to that kernel's
 * UDP_MAX_SEGMENTS (128 on newer kernels); GRO itself stops at 64.
 */
#define LINK_RX_SEGS_MAX	128

/* link_udp_create @flags */
#define LINK_F_GSO	0x01	/* send runs to one peer with one UDP_SEGMENT sendmsg */
#define LINK_F_GRO	0x02	/* receive with UDP_GRO, split into datagrams in link_rx */

/*
 * ctrl: a UDP link on @fd (bound; connected in client mode), with the
 * offloads of @flags the kernel has (io/udp.c probes them; *@flags_out
 * says which it got). 0 or -ENOMEM.
 */
int link_udp_create(struct link **out, int fd, unsigned int index, unsigned int flags,
		    unsigned int *flags_out) __must_check;

/*
 * ctrl: a TCP link on @fd, a connected stream socket (a client's; io/tcp.c).
 * 0 or -ENOMEM.
 */
int link_tcp_create(struct link **out, int fd, unsigned int index) __must_check;

/*
 * ctrl: a TCP server link on @fd, a listening stream socket (io/tcp_server.c):
 * at most @max_conns connections at once; one silent for @idle_s seconds
 * (0: never) is closed. A control packet of length 0 sent to a
 * connection's address closes that connection once what was sent before it
 * is written (ctrl's hang-up when a session ends). 0 or -ENOMEM.
 */
int link_tcpsrv_create(struct link **out, int fd, unsigned int index, uint32_t max_conns,
		       uint32_t idle_s) __must_check;

/*
 * ctrl: the address of a connection of a TCP server link @l that closed
 * after it carried a frame, oldest first; false if none (or @l is another
 * kind of link).
 */
bool link_tcpsrv_closed(struct link *l, union sockaddr_any *sa, socklen_t *len);

/*
 * The link type a socket calls for: LINK_TCP_SERVER for a listening stream
 * socket, LINK_TCP for a connected one, else LINK_UDP.
 */
enum link_type link_type_of_fd(int fd);

/* ctrl, with both loops stopped: the link's socket is now @fd. */
static inline void link_set_fd(struct link *l, int fd)
{
	l->ops->set_fd(l, fd);
}

/* ctrl, with both loops stopped. NULL is a no-op. */
static inline void link_destroy(struct link *l)
{
	if (l)
		l->ops->destroy(l);
}

#endif
