/*
 * io.h - the device and socket set-up ctrl does itself: the TUN device,
 * rtnetlink addresses and routes, and the link's UDP socket. The data
 * plane proper (threads, rings, peers) is behind io/pipeline.h; the I/O
 * loops are io-internal (io/loop.h).
 */
#ifndef SLUICE_IO_H
#define SLUICE_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/gro.h"
#include "../core/pkt.h"

/* Crypto workers per direction, and so worker rings per loop: crypto's limit. */
#define IO_WORKERS_MAX	16

/*
 * Lanes of a UDP server's data plane (io-queues): each is a TUN queue
 * (IFF_MULTI_QUEUE) and an SO_REUSEPORT socket with their own four loops and
 * a share of the workers. A peer belongs to lane io_lane_of(peer id): its
 * packets are numbered, sealed, opened and replay-checked there only, so
 * per-peer state keeps one writer per direction (io/pipeline.c).
 */
#define IO_LANES_MAX	4

static inline unsigned int io_lane_of(uint32_t peer_id, unsigned int nlanes)
{
	return nlanes > 1 ? peer_id % nlanes : 0;
}

/* What a TUN queue was opened with (tun_open's *@offload). */
#define TUN_OFF_VNET	0x01	/* IFF_VNET_HDR: a virtio-net header on every read and write */
#define TUN_OFF_TSO	0x02	/* reads may be TCP super-packets (TSO4, TSO6) */
#define TUN_OFF_USO	0x04	/* reads may be UDP super-packets (USO4, USO6) */
#define TUN_OFF_ALL	(TUN_OFF_VNET | TUN_OFF_TSO | TUN_OFF_USO)

/* What tun_tx coalesces on a queue opened with @off (core/gro.h GRO_F_*; 0: writes as is). */
static inline unsigned int tun_gro_flags(unsigned int off)
{
	if (!(off & TUN_OFF_VNET))
		return 0;
	return GRO_F_TCP | (off & TUN_OFF_USO ? GRO_F_UDP : 0);
}

/*
 * TUN device (ctrl only). Opens or attaches @name ("" or "tun%d" picks one);
 * writes the kernel's name to @out_name (IFNAMSIZ). *@offload in: the
 * TUN_OFF_* wanted (TUN_OFF_ALL, or 0 for none); out: what the kernel took
 * (io/tun.c). Returns the fd or -errno.
 */
int tun_open(const char *name, char *out_name, bool multi_queue, unsigned int *offload);

/*
 * @n queues of one multi-queue TUN device (ctrl only; 1 <= @n <=
 * IO_LANES_MAX): the first opens or attaches @name as tun_open does with
 * IFF_MULTI_QUEUE, the others attach to it with the same flags. Every
 * queue ends with the same *@offload (in: wanted; out: taken). Fills
 * @fds[0..n-1] and returns 0, or closes what it opened and returns -errno.
 */
int tun_open_queues(const char *name, char *out_name, unsigned int n, int *fds,
		    unsigned int *offload);

/*
 * rtnetlink (ctrl only); each returns 0 or -errno (the kernel's ack, e.g.
 * -EEXIST for an address or route that is already there, -ESRCH or
 * -EADDRNOTAVAIL for one that is not). @family is AF_INET or AF_INET6; addresses
 * are struct in_addr / struct in6_addr in network order.
 * nl_link_set: sets the MTU (if @mtu > 0) and the up/down state.
 * nl_addr_add: @peer_or_null gives a point-to-point peer address.
 * nl_route_*: @dst NULL with @prefixlen 0 is the default route; @metric 0
 * leaves the kernel's default.
 */
int nl_link_set(const char *ifname, int mtu, bool up);
int nl_addr_add(const char *ifname, int family, const void *addr, int prefixlen,
		const void *peer_or_null);
int nl_addr_del(const char *ifname, int family, const void *addr, int prefixlen);
int nl_route_add(int family, const void *dst, int prefixlen, const void *gw_or_null,
		 const char *ifname_or_null, int metric);
/*
 * Asks the kernel how it reaches @dst now (ip route get): fills @gw_out
 * (address-sized) and *has_gw when the route has a gateway, and
 * @ifname_out (IFNAMSIZ) with the output device. ctrl only.
 */
int nl_route_get(int family, const void *dst, void *gw_out, bool *has_gw, char *ifname_out);

/* The kernel's route to an address, as `ip route get` shows it. */
struct nl_route_info {
	bool has_gw;
	bool has_src;
	uint8_t gw[16];			/* address-sized, network order */
	uint8_t src[16];		/* preferred source address */
	unsigned int oif;
	char ifname[16];		/* IFNAMSIZ */
};
/* nl_route_get with the preferred source and the interface index. ctrl only. */
int nl_route_lookup(int family, const void *dst, struct nl_route_info *ri);
/*
 * A non-blocking netlink socket told of link, address and route changes
 * (ctrl's path monitor). Returns the fd or -errno.
 */
int nl_monitor_open(void);
/*
 * Reads everything that arrived on @fd: the number of link, address and
 * route messages among it (an overrun counts as one), 0 if none, or -errno.
 */
int nl_monitor_drain(int fd);
int nl_route_del(int family, const void *dst, int prefixlen, const void *gw_or_null,
		 const char *ifname_or_null, int metric);

/* UDP socket (ctrl only): bound to @local (port 0 = any), connected to
 * @remote if given, with large buffers. Returns the fd or -errno. */
int udp_open(const union sockaddr_any *local, socklen_t local_len,
	     const union sockaddr_any *remote, socklen_t remote_len);

/*
 * udp_open for one socket of a UDP server's SO_REUSEPORT group (ctrl only):
 * SO_REUSEPORT is set before the bind to @local (port 0 for the first: the
 * others bind the port it got). Not connected. A kernel that refused the
 * option leaves a plain socket, and the next member's bind -EADDRINUSE.
 * Returns the fd or -errno.
 */
int udp_open_reuseport(const union sockaddr_any *local, socklen_t local_len);

/*
 * Steers a UDP server's datagrams across its SO_REUSEPORT group of @nlanes
 * sockets (ctrl only; @fd: any bound member, socket i bound i-th): a
 * P_DATA_V2 packet goes to socket io_lane_of(its peer-id), anything else
 * (control packets) where the kernel's 4-tuple hash puts it. A classic
 * BPF program (SO_ATTACH_REUSEPORT_CBPF). Returns 0 or -errno.
 */
int udp_reuseport_steer(int fd, unsigned int nlanes);

/* Listening TCP socket (ctrl only, a server's): SO_REUSEADDR, bound to @local,
 * non-blocking (io/tcp_server.c accepts from it). Returns the fd or -errno. */
int tcp_listen_open(const union sockaddr_any *local, socklen_t local_len);

#endif
