/*
 * udp.c - the UDP link (link.h): opens the data-channel socket, and owns
 * the link ops that receive and send datagrams through the loops' io_uring.
 *
 * Threads: udp_open, link_udp_create and the set_fd op run on ctrl
 * (setup); the fd is ctrl's, which hands it to the link. The receive ops
 * run only on link_rx and touch only udp_link.rx; the send ops run only on
 * link_tx and touch only udp_link.tx and l->tx_batch_max (separate cache
 * lines, one writer each).
 *
 * Each slot's msghdr, iovecs and control buffer live here, beside the
 * loop's slot of the same index, because the kernel reads and writes them
 * until the CQE: never on a stack (STYLE.md §5).
 *
 * Offloads, each probed once at create (a kernel without them refuses the
 * socket option) and switched off by udp-gso no / udp-gro no:
 *   GSO  link_tx hands tx_prep a batch: a run of packets to one peer, each
 *        as long as the first but the last (link.h). One sendmsg carries
 *        them all, each packet an iovec straight from its buffer, with a
 *        UDP_SEGMENT control message of the first one's length: the kernel
 *        builds one skb and cuts it into datagrams as late as it can (on
 *        veth, at the receiving socket, or not at all if that socket takes
 *        GRO). A peer sees ordinary datagrams. A send the kernel cannot
 *        segment (-EIO, -EINVAL: no checksum offload on the route, say)
 *        turns batching off for good; its packets are counted as DROP_IO.
 *   GRO  UDP_GRO on the socket: one recvmsg may return several datagrams
 *        of one sender back to back, all of the size the UDP_GRO control
 *        message gives but the last. Reads then go to 64 KiB buffers that
 *        stay in their slots (link_rx's buf_pool), and rx_complete copies
 *        each datagram into a packet of l->rx_pool, so everything after
 *        link_rx still sees one datagram per packet.
 * Without GRO a datagram is received whole into its own packet (MSG_TRUNC
 * reports one larger than the packet, which is dropped), with no copy.
 *
 * A UDP server with lanes (io-queues, io.h) has one socket per lane, all
 * bound to its port with SO_REUSEPORT (udp_open_reuseport); a classic BPF
 * program on the group (udp_reuseport_steer) hands each P_DATA_V2 datagram
 * to the socket of its peer's lane, so a peer's packets meet one lane only.
 */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/proto.h"
#include "io.h"
#include "link.h"
#include "uring.h"

#ifndef SOL_UDP
#define SOL_UDP		17
#endif

/* Room for one control message of an int: CMSG_SPACE(sizeof(int)), 24 on LP64. */
#define UDP_CMSG_BYTES	32

/* The kernel reads and writes these until the CQE. */
struct udp_rx_slot {
	struct msghdr msg;
	struct iovec iov;
	alignas(size_t) uint8_t cmsg[UDP_CMSG_BYTES];	/* UDP_GRO: the segment size */
};

struct udp_tx_slot {
	struct msghdr msg;
	alignas(size_t) uint8_t cmsg[UDP_CMSG_BYTES];	/* UDP_SEGMENT */
	struct iovec iov[LINK_SEGS_MAX];
};

struct udp_link {
	struct link l;			/* first: what the loops see */
	bool want_gro;			/* set UDP_GRO on every fd the link gets */
	/* Multishot receive: the name and control room of every buffer (read by the kernel). */
	struct msghdr ms_msg;
	alignas(CACHELINE) struct udp_rx_slot rx[URING_RX_SLOTS];	/* link_rx only */
	alignas(CACHELINE) struct udp_tx_slot tx[URING_TX_SLOTS];	/* link_tx only */
};

/* Socket buffers: 4 MiB absorbs a burst of in-flight SQEs and a scheduler hiccup. */
#define UDP_BUF_BYTES	(4 << 20)

/* Root may exceed net.core.[rw]mem_max (the *FORCE options); others get the cap. */
static void udp_buf_set(int fd, int force_opt, int opt)
{
	int v = UDP_BUF_BYTES;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

/* udp_open, with SO_REUSEPORT set before the bind if @reuseport. */
static int udp_open_opt(const union sockaddr_any *local, socklen_t local_len,
			const union sockaddr_any *remote, socklen_t remote_len, bool reuseport)
{
	int family, fd, rc, one = 1;

	if (local && local_len)
		family = local->sa.sa_family;
	else if (remote && remote_len)
		family = remote->sa.sa_family;
	else
		return -EINVAL;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (remote && remote_len && remote->sa.sa_family != family)
		return -EAFNOSUPPORT;
	/*
	 * Blocking on purpose: on a blocking socket an armed receive that loses
	 * the race for a datagram does not complete with -EAGAIN; io_uring polls
	 * and retries it, and after a second lost race hands it to an io_uring
	 * worker that sleeps in recvmsg until a datagram comes (its completion
	 * wakes the loop at once). Either way datagrams are not reordered
	 * between the receives in flight (seen with O_NONBLOCK under TSan).
	 * An IPv6 socket keeps the system's bindv6only: a :: bind may take IPv4.
	 */
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	udp_buf_set(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	udp_buf_set(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	/* Refused (never on Linux 3.9+): a plain socket; the group's next bind says EADDRINUSE. */
	if (reuseport)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (local && local_len && bind(fd, &local->sa, local_len) < 0)
		goto err;
	if (remote && remote_len && connect(fd, &remote->sa, remote_len) < 0)
		goto err;
	return fd;

err:
	rc = -errno;
	close(fd);
	return rc;
}

int udp_open(const union sockaddr_any *local, socklen_t local_len,
	     const union sockaddr_any *remote, socklen_t remote_len)
{
	return udp_open_opt(local, local_len, remote, remote_len, false);
}

int udp_open_reuseport(const union sockaddr_any *local, socklen_t local_len)
{
	if (!local || !local_len)
		return -EINVAL;
	return udp_open_opt(local, local_len, NULL, 0, true);
}

/*
 * The steering program. The kernel runs it on each datagram for the group
 * with the data at the UDP payload (it pulls the UDP header first) and
 * takes its result as the index of the socket, in bind order; an index
 * past the group's end falls back to the kernel's 4-tuple hash.
 *   P_DATA_V2 (opcode 9 in byte 0's top five bits): the big-endian word at
 *     0 masked to its low 24 bits is the peer-id; socket peer-id % nlanes,
 *     io_lane_of()'s lane.
 *   anything else (control packets, P_DATA_V1 of a client without a
 *     peer-id): 0xffffffff, the hash.
 * A P_DATA_V2 datagram shorter than 4 bytes makes the word load fail,
 * which ends a classic BPF program with 0: socket 0 gets it, and its
 * lane drops it as short. An empty datagram does the same at the byte load.
 */
int udp_reuseport_steer(int fd, unsigned int nlanes)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, P_OPCODE_SHIFT),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, P_DATA_V2, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PEER_ID_MASK),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, nlanes),
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };

	if (nlanes < 1 || nlanes > IO_LANES_MAX)
		return -EINVAL;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

/* ---- receive (link_rx) ---------------------------------------------------- */

/* link_rx: one recvmsg into @p, its source address into p->addr. */
static bool udp_rx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud)
{
	struct udp_rx_slot *sl = &((struct udp_link *)l)->rx[slot];
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (unlikely(!sqe))
		return false;
	sl->iov.iov_base = p->data;
	sl->iov.iov_len = pkt_data_room(p);
	memset(&sl->msg, 0, sizeof(sl->msg));
	sl->msg.msg_name = &p->addr;
	sl->msg.msg_namelen = sizeof(p->addr);
	sl->msg.msg_iov = &sl->iov;
	sl->msg.msg_iovlen = 1;
	if (l->rx_copies) {
		sl->msg.msg_control = sl->cmsg;
		sl->msg.msg_controllen = sizeof(sl->cmsg);
	}
	io_uring_prep_recvmsg(sqe, -1, &sl->msg, MSG_TRUNC);
	uring_sqe_file(u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, ud);
	return true;
}

/* The UDP_GRO segment size of a read, or 0 if it holds one datagram. */
static uint32_t udp_gro_size(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		int v;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		return v > 0 ? (uint32_t)v : 0;
	}
	return 0;
}

/*
 * GRO: copies each @seg-byte datagram (0: one datagram) of the @len bytes
 * at @data into a packet of the rx pool, with source @addr.
 */
static unsigned int udp_rx_split(struct link *l, const uint8_t *data, uint32_t len, uint32_t seg,
				 const void *addr, socklen_t addr_len, struct pkt **out,
				 unsigned int max, struct stats *st)
{
	uint32_t n = 1, got, off = 0, k = 0;

	/* An empty datagram is one packet too: the classifier counts it. */
	if (!seg || seg >= len)
		seg = len;
	if (len)
		n = (len + seg - 1) / seg;
	if (n > 1) {
		STAT_INC(st->super_pkts);
		STAT_ADD(st->super_segs, n);
	}
	STAT_ADD(st->rx_pkts, n);
	STAT_ADD(st->rx_bytes, len);
	if (unlikely(n > max)) {
		STAT_ADD(st->drop[DROP_OVERSIZE], n - max);
		n = max;
	}
	got = pool_get_burst(l->rx_pool, out, n);
	if (unlikely(got < n))
		STAT_ADD(st->drop[DROP_POOL_EMPTY], n - got);
	for (uint32_t i = 0; i < got; i++, off += seg) {
		struct pkt *q = out[i];
		uint32_t ql = MIN(seg, len - off);

		if (unlikely(ql > pkt_data_room(q))) {
			/* Larger than a packet: a jumbo peer; counted, the rest still go. */
			STAT_DROP(st, DROP_OVERSIZE);
			pkt_free(q);
			continue;
		}
		memcpy(q->data, data + off, ql);
		q->len = ql;
		memcpy(&q->addr, addr, addr_len);
		q->addr_len = addr_len;
		out[k++] = q;
	}
	return k;
}

/* link_rx: the datagram is @p itself, unless it did not fit; with GRO, copies. */
static unsigned int udp_rx_complete(struct link *l, uint32_t slot, struct pkt *p, int res,
				    struct pkt **out, unsigned int max, bool *keep,
				    struct stats *st)
{
	struct udp_rx_slot *sl = &((struct udp_link *)l)->rx[slot];

	/* MSG_TRUNC in: res is the datagram's real length, so either test works. */
	if (unlikely((uint32_t)res > sl->iov.iov_len || (sl->msg.msg_flags & MSG_TRUNC))) {
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, (uint32_t)res);
		STAT_DROP(st, DROP_OVERSIZE);
		*keep = true;		/* receive again into it */
		return 0;
	}
	if (l->rx_copies) {
		*keep = true;
		return udp_rx_split(l, p->data, (uint32_t)res, udp_gro_size(&sl->msg), &p->addr,
				    sl->msg.msg_namelen, out, max, st);
	}
	(void)max;	/* >= 1: see link.h */
	STAT_INC(st->rx_pkts);
	STAT_ADD(st->rx_bytes, (uint32_t)res);
	p->len = (uint32_t)res;
	p->addr_len = sl->msg.msg_namelen;
	out[0] = p;
	*keep = false;
	return 1;
}

/* link_rx: the multishot receive into the buffers of group @bgid. */
static bool udp_rx_ms_arm(struct link *l, struct uring *u, uint16_t bgid, uint64_t ud)
{
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (unlikely(!sqe))
		return false;
	/* MSG_TRUNC: payloadlen says how long a datagram too big for the buffer was. */
	io_uring_prep_recvmsg_multishot(sqe, -1, &((struct udp_link *)l)->ms_msg, MSG_TRUNC);
	uring_sqe_file(u, sqe, URING_FILE_IO);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = bgid;
	io_uring_sqe_set_data64(sqe, ud);
	return true;
}

/* The UDP_GRO segment size in a multishot buffer's control room, or 0. */
static uint32_t udp_ms_gro_size(struct io_uring_recvmsg_out *o, struct msghdr *m)
{
	for (struct cmsghdr *c = io_uring_recvmsg_cmsg_firsthdr(o, m); c;
	     c = io_uring_recvmsg_cmsg_nexthdr(o, m, c)) {
		int v;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		return v > 0 ? (uint32_t)v : 0;
	}
	return 0;
}

/* link_rx: one datagram (or GRO batch) in the buffer @buf of @p: handed on or copied out. */
static unsigned int udp_rx_ms_complete(struct link *l, struct pkt *p, void *buf, int res,
				       struct pkt **out, unsigned int max, bool *keep,
				       struct stats *st)
{
	struct udp_link *ul = (struct udp_link *)l;
	struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, res, &ul->ms_msg);
	uint8_t *payload;
	uint32_t plen;
	socklen_t alen;

	*keep = true;
	if (unlikely(!o)) {
		STAT_INC(st->rx_pkts);
		STAT_DROP(st, DROP_SHORT);
		return 0;
	}
	payload = io_uring_recvmsg_payload(o, &ul->ms_msg);
	plen = io_uring_recvmsg_payload_length(o, res, &ul->ms_msg);
	if (unlikely(o->flags & MSG_TRUNC)) {
		STAT_INC(st->rx_pkts);
		STAT_ADD(st->rx_bytes, o->payloadlen);
		STAT_DROP(st, DROP_OVERSIZE);
		return 0;
	}
	alen = MIN(o->namelen, (socklen_t)sizeof(p->addr));
	if (l->rx_copies)
		return udp_rx_split(l, payload, plen, udp_ms_gro_size(o, &ul->ms_msg),
				    io_uring_recvmsg_name(o), alen, out, max, st);
	STAT_INC(st->rx_pkts);
	STAT_ADD(st->rx_bytes, plen);
	/* The name is copied first: the packet's address field is not in the buffer. */
	memcpy(&p->addr, io_uring_recvmsg_name(o), alen);
	p->addr_len = alen;
	if (unlikely(payload != p->data)) {
		/* Placed where it does not land at p->data: move it there (never on UDP). */
		memmove(p->data, payload, plen);
	}
	p->len = plen;
	out[0] = p;
	*keep = false;
	return 1;
}

/* ---- send (link_tx) -------------------------------------------------------- */

/* link_tx: one sendmsg of @p (and its chain), to p->addr or (addr_len 0) the connected peer. */
static bool udp_tx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud)
{
	struct udp_tx_slot *sl = &((struct udp_link *)l)->tx[slot];
	struct io_uring_sqe *sqe = uring_sqe(u);
	unsigned int n = 0;

	if (unlikely(!sqe))
		return false;
	for (struct pkt *q = p; q && n < LINK_SEGS_MAX; q = q->next, n++) {
		sl->iov[n].iov_base = q->data;
		sl->iov[n].iov_len = q->len;
	}
	memset(&sl->msg, 0, sizeof(sl->msg));
	sl->msg.msg_name = p->addr_len ? &p->addr : NULL;
	sl->msg.msg_namelen = p->addr_len;
	sl->msg.msg_iov = sl->iov;
	sl->msg.msg_iovlen = n;
	if (n > 1) {
		struct cmsghdr *c = (struct cmsghdr *)sl->cmsg;
		uint16_t seg = (uint16_t)p->len;

		sl->msg.msg_control = sl->cmsg;
		sl->msg.msg_controllen = CMSG_SPACE(sizeof(seg));
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
	io_uring_prep_sendmsg(sqe, -1, &sl->msg, 0);
	uring_sqe_file(u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, ud);
	return true;
}

/* link_tx: a GSO send the kernel could not segment turns batching off for good. */
static int udp_tx_complete(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			   int res, uint64_t ud)
{
	(void)u, (void)slot, (void)ud;
	if (unlikely(res < 0 && p->next) &&
	    (res == -EIO || res == -EINVAL || res == -EOPNOTSUPP || res == -ENOPROTOOPT))
		l->tx_batch_max = 1;
	return res;
}

/* ---- setup (ctrl) ----------------------------------------------------------- */

static void udp_destroy(struct link *l)
{
	free(l);
}

static void udp_set_fd(struct link *l, int fd);

static const struct link_ops udp_link_ops = {
	.name = "udp",
	.rx_prep = udp_rx_prep,
	.rx_complete = udp_rx_complete,
	.rx_ms_arm = udp_rx_ms_arm,
	.rx_ms_complete = udp_rx_ms_complete,
	.tx_prep = udp_tx_prep,
	.tx_complete = udp_tx_complete,
	.set_fd = udp_set_fd,
	.destroy = udp_destroy,
};

static void udp_set_fd(struct link *l, int fd)
{
	struct udp_link *ul = (struct udp_link *)l;
	int one = 1;

	l->fd = fd;
	/* A fresh socket of a kernel that took it before: only a failure here turns it off. */
	if (ul->want_gro && l->rx_copies && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)))
		l->rx_copies = false, l->rx_segs_max = 1;
	/*
	 * Each multishot buffer: io_uring_recvmsg_out, the name, the GRO control message.
	 * The name's room is rounded up to 8 bytes: the control message right after it is
	 * a struct cmsghdr, 8-byte aligned (a 28-byte sockaddr_in6 left it at offset 44).
	 */
	ul->ms_msg.msg_namelen = (sizeof(union sockaddr_any) + 7) & ~(size_t)7;
	ul->ms_msg.msg_controllen = l->rx_copies ? CMSG_SPACE(sizeof(int)) : 0;
	l->rx_ms_head = (uint32_t)(sizeof(struct io_uring_recvmsg_out) + ul->ms_msg.msg_namelen +
				   ul->ms_msg.msg_controllen);
}

int link_udp_create(struct link **out, int fd, unsigned int index, unsigned int flags,
		    unsigned int *flags_out)
{
	struct udp_link *ul;
	int zero = 0;

	if (posix_memalign((void **)&ul, CACHELINE, sizeof(*ul)))
		return -ENOMEM;
	memset(ul, 0, sizeof(*ul));
	ul->l.ops = &udp_link_ops;
	ul->l.index = index;
	ul->l.rx_segs_max = 1;
	ul->l.tx_batch_max = 1;
	*flags_out = 0;
	/* A kernel without UDP GSO (before 4.18) does not know the option. */
	if ((flags & LINK_F_GSO) && !setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero))) {
		ul->l.tx_batch_max = LINK_SEGS_MAX;
		*flags_out |= LINK_F_GSO;
	}
	if (flags & LINK_F_GRO) {
		ul->want_gro = true;
		ul->l.rx_copies = true;
		ul->l.rx_segs_max = LINK_RX_SEGS_MAX;
	}
	udp_set_fd(&ul->l, fd);
	if (ul->l.rx_copies)
		*flags_out |= LINK_F_GRO;
	*out = &ul->l;
	return 0;
}
