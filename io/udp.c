/*
 * udp.c - the UDP link (link.h): opens the data-channel socket, and owns
 * the link ops that receive and send datagrams through the loops' io_uring.
 *
 * Threads: udp_open and link_udp_create run on ctrl (setup); the fd is
 * ctrl's, which hands it to the link. The receive ops run only on link_rx
 * and touch only udp_link.rx; the send ops run only on link_tx and touch
 * only udp_link.tx (separate cache lines, one writer each).
 *
 * Each slot's msghdr and iovec live here, beside the loop's slot of the same
 * index, because the kernel reads and writes them until the CQE: never on a
 * stack (STYLE.md §5). A datagram is one packet both ways: received whole
 * (MSG_TRUNC reports one larger than the packet, which is dropped) and sent
 * whole, so there is no tx_complete and no rx_pending.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "link.h"
#include "uring.h"

/* The kernel reads and writes these until the CQE. */
struct udp_slot {
	struct msghdr msg;
	struct iovec iov;
};

struct udp_link {
	struct link l;			/* first: what the loops see */
	alignas(CACHELINE) struct udp_slot rx[URING_RX_SLOTS];	/* link_rx only */
	alignas(CACHELINE) struct udp_slot tx[URING_TX_SLOTS];	/* link_tx only */
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

int udp_open(const union sockaddr_any *local, socklen_t local_len,
	     const union sockaddr_any *remote, socklen_t remote_len)
{
	int family, fd, rc;

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

/* link_rx: one recvmsg into @p, its source address into p->addr. */
static bool udp_rx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud)
{
	struct udp_slot *sl = &((struct udp_link *)l)->rx[slot];
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
	io_uring_prep_recvmsg(sqe, -1, &sl->msg, MSG_TRUNC);
	uring_sqe_file(u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, ud);
	return true;
}

/* link_rx: the datagram is @p itself, unless it did not fit. */
static unsigned int udp_rx_complete(struct link *l, uint32_t slot, struct pkt *p, int res,
				    struct pkt **out, unsigned int max, bool *keep,
				    struct stats *st)
{
	struct udp_slot *sl = &((struct udp_link *)l)->rx[slot];

	(void)max;	/* >= 1: see link.h */
	STAT_INC(st->rx_pkts);
	STAT_ADD(st->rx_bytes, (uint32_t)res);
	/* MSG_TRUNC in: res is the datagram's real length, so either test works. */
	if (unlikely((uint32_t)res > sl->iov.iov_len || (sl->msg.msg_flags & MSG_TRUNC))) {
		STAT_DROP(st, DROP_OVERSIZE);
		*keep = true;		/* receive again into it */
		return 0;
	}
	p->len = (uint32_t)res;
	p->addr_len = sl->msg.msg_namelen;
	out[0] = p;
	*keep = false;
	return 1;
}

/* link_tx: one sendmsg of @p, to p->addr or (addr_len 0) the connected peer. */
static bool udp_tx_prep(struct link *l, struct uring *u, uint32_t slot, struct pkt *p,
			uint64_t ud)
{
	struct udp_slot *sl = &((struct udp_link *)l)->tx[slot];
	struct io_uring_sqe *sqe = uring_sqe(u);

	if (unlikely(!sqe))
		return false;
	sl->iov.iov_base = p->data;
	sl->iov.iov_len = p->len;
	memset(&sl->msg, 0, sizeof(sl->msg));
	sl->msg.msg_name = p->addr_len ? &p->addr : NULL;
	sl->msg.msg_namelen = p->addr_len;
	sl->msg.msg_iov = &sl->iov;
	sl->msg.msg_iovlen = 1;
	io_uring_prep_sendmsg(sqe, -1, &sl->msg, 0);
	uring_sqe_file(u, sqe, URING_FILE_IO);
	io_uring_sqe_set_data64(sqe, ud);
	return true;
}

static void udp_destroy(struct link *l)
{
	free(l);
}

static const struct link_ops udp_link_ops = {
	.name = "udp",
	.rx_prep = udp_rx_prep,
	.rx_complete = udp_rx_complete,
	.tx_prep = udp_tx_prep,
	.destroy = udp_destroy,
};

int link_udp_create(struct link **out, int fd, unsigned int index)
{
	struct udp_link *ul;

	if (posix_memalign((void **)&ul, CACHELINE, sizeof(*ul)))
		return -ENOMEM;
	memset(ul, 0, sizeof(*ul));
	ul->l.ops = &udp_link_ops;
	ul->l.fd = fd;
	ul->l.index = index;
	*out = &ul->l;
	return 0;
}
