/*
 * netlink.c - a small rtnetlink client: link MTU and state, interface
 * addresses and routes, for IPv4 and IPv6. Owns one NETLINK_ROUTE socket per
 * call (nothing cached, nothing shared between calls).
 *
 * Thread: ctrl only. Each call sends one request with NLM_F_ACK and waits
 * (at most NL_TIMEOUT_SEC) for the kernel's ack to that sequence number;
 * the ack's error is the return value (0 or -errno).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "io.h"

/* The largest request here is a route: header, rtmsg and four attributes. */
#define NL_MSG_MAX	256
/* Acks are small: with NETLINK_CAP_ACK the request is not echoed back. */
#define NL_ACK_MAX	1024
/* The kernel acks at once; this only guards against a wedged rtnl lock. */
#define NL_TIMEOUT_SEC	5

struct nl_msg {
	union {
		struct nlmsghdr nh;
		uint8_t buf[NL_MSG_MAX];
	};
};

static uint32_t nl_seq;

/* Starts a request of @type with a zeroed @body_len body; returns the body. */
static void *nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, size_t body_len)
{
	memset(m, 0, sizeof(*m));
	m->nh.nlmsg_len = NLMSG_LENGTH(body_len);
	m->nh.nlmsg_type = type;
	m->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->nh.nlmsg_seq = __atomic_add_fetch(&nl_seq, 1, __ATOMIC_RELAXED);
	return NLMSG_DATA(&m->nh);
}

static int nl_attr_put(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(m->nh.nlmsg_len);
	struct rtattr *rta;

	if (off + RTA_SPACE(len) > sizeof(m->buf))
		return -EMSGSIZE;
	rta = (struct rtattr *)(m->buf + off);
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	m->nh.nlmsg_len = off + RTA_SPACE(len);
	return 0;
}

static int nl_attr_put_u32(struct nl_msg *m, uint16_t type, uint32_t v)
{
	return nl_attr_put(m, type, &v, sizeof(v));
}

/* Reads until the ack for @seq. Returns its error (0 or -errno). */
static int nl_ack_wait(int fd, uint32_t seq)
{
	union {
		struct nlmsghdr nh;
		uint8_t buf[NL_ACK_MAX];
	} r;
	struct sockaddr_nl from;

	for (;;) {
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(fd, r.buf, sizeof(r.buf), 0, (struct sockaddr *)&from,
				     &from_len);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (from.nl_pid != 0)
			continue;	/* not from the kernel */
		left = (size_t)n;
		for (h = &r.nh; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			return e->error;	/* already 0 or -errno */
		}
	}
}

/* Sends @m to the kernel and returns its ack (0 or -errno). */
static int nl_talk(struct nl_msg *m)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_SEC };
	int one = 1, fd, rc;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* Best effort: without it an ack echoes the request, which still fits. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		rc = -errno;
		goto out;
	}
	n = sendto(fd, m->buf, m->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	if (n < 0)
		rc = -errno;
	else if (n != (ssize_t)m->nh.nlmsg_len)
		rc = -EIO;
	else
		rc = nl_ack_wait(fd, m->nh.nlmsg_seq);
out:
	close(fd);
	return rc;
}

static int nl_ifindex(const char *ifname, int *index)
{
	unsigned int i;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	i = if_nametoindex(ifname);
	if (!i)
		return -ENODEV;
	*index = (int)i;
	return 0;
}

/* Address bytes for @family, or 0 for a family we do not speak. */
static size_t nl_addr_len(int family)
{
	if (family == AF_INET)
		return sizeof(struct in_addr);
	if (family == AF_INET6)
		return sizeof(struct in6_addr);
	return 0;
}

static int nl_prefix_check(int family, int prefixlen)
{
	size_t alen = nl_addr_len(family);

	if (!alen)
		return -EAFNOSUPPORT;
	if (prefixlen < 0 || prefixlen > (int)(alen * 8))
		return -EINVAL;
	return 0;
}

int nl_link_set(const char *ifname, int mtu, bool up)
{
	struct nl_msg m;
	struct ifinfomsg *ifi;
	int index, rc;

	rc = nl_ifindex(ifname, &index);
	if (rc)
		return rc;
	ifi = nl_msg_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu > 0) {
		rc = nl_attr_put_u32(&m, IFLA_MTU, (uint32_t)mtu);
		if (rc)
			return rc;
	}
	return nl_talk(&m);
}

/* RTM_NEWADDR / RTM_DELADDR: the request both share. */
static int nl_addr_msg(struct nl_msg *m, uint16_t type, uint16_t flags, const char *ifname,
		       int family, const void *addr, int prefixlen)
{
	struct ifaddrmsg *ifa;
	int index, rc;

	rc = nl_prefix_check(family, prefixlen);
	if (rc)
		return rc;
	if (!addr)
		return -EINVAL;
	rc = nl_ifindex(ifname, &index);
	if (rc)
		return rc;
	ifa = nl_msg_init(m, type, flags, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	/* A TUN has no neighbours to ask: skip IPv6 duplicate address detection. */
	if (family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	return nl_attr_put(m, IFA_LOCAL, addr, nl_addr_len(family));
}

int nl_addr_add(const char *ifname, int family, const void *addr, int prefixlen,
		const void *peer_or_null)
{
	struct nl_msg m;
	int rc;

	rc = nl_addr_msg(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifname, family, addr,
			 prefixlen);
	if (rc)
		return rc;
	/* IFA_ADDRESS is the far end on a point-to-point link, else the address itself. */
	rc = nl_attr_put(&m, IFA_ADDRESS, peer_or_null ? peer_or_null : addr,
			 nl_addr_len(family));
	if (rc)
		return rc;
	return nl_talk(&m);
}

int nl_addr_del(const char *ifname, int family, const void *addr, int prefixlen)
{
	struct nl_msg m;
	int rc;

	/* IFA_LOCAL alone: it matches a point-to-point address whatever its peer. */
	rc = nl_addr_msg(&m, RTM_DELADDR, 0, ifname, family, addr, prefixlen);
	if (rc)
		return rc;
	return nl_talk(&m);
}

static int nl_route_msg(struct nl_msg *m, uint16_t type, uint16_t flags, int family,
			const void *dst, int prefixlen, const void *gw, const char *ifname,
			int metric)
{
	size_t alen = nl_addr_len(family);
	struct rtmsg *rt;
	int index = 0, rc;

	rc = nl_prefix_check(family, prefixlen);
	if (rc)
		return rc;
	if ((!dst && prefixlen) || metric < 0)
		return -EINVAL;
	if (type == RTM_NEWROUTE && !gw && !ifname)
		return -EINVAL;		/* nowhere to send it */
	if (ifname) {
		rc = nl_ifindex(ifname, &index);
		if (rc)
			return rc;
	}
	rt = nl_msg_init(m, type, flags, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_dst_len = (uint8_t)prefixlen;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_type = RTN_UNICAST;
	if (type == RTM_NEWROUTE) {
		rt->rtm_protocol = RTPROT_BOOT;
		/* As ip(8): an IPv4 route with no gateway is on-link. */
		rt->rtm_scope = family == AF_INET && !gw ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	} else {
		rt->rtm_scope = RT_SCOPE_NOWHERE;	/* delete: match any scope */
	}
	if (dst && prefixlen)
		rc = nl_attr_put(m, RTA_DST, dst, alen);
	if (!rc && gw)
		rc = nl_attr_put(m, RTA_GATEWAY, gw, alen);
	if (!rc && ifname)
		rc = nl_attr_put_u32(m, RTA_OIF, (uint32_t)index);
	if (!rc && metric)
		rc = nl_attr_put_u32(m, RTA_PRIORITY, (uint32_t)metric);
	return rc;
}

int nl_route_add(int family, const void *dst, int prefixlen, const void *gw_or_null,
		 const char *ifname_or_null, int metric)
{
	struct nl_msg m;
	int rc;

	rc = nl_route_msg(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, family, dst, prefixlen,
			  gw_or_null, ifname_or_null, metric);
	if (rc)
		return rc;
	return nl_talk(&m);
}

int nl_route_del(int family, const void *dst, int prefixlen, const void *gw_or_null,
		 const char *ifname_or_null, int metric)
{
	struct nl_msg m;
	int rc;

	rc = nl_route_msg(&m, RTM_DELROUTE, 0, family, dst, prefixlen, gw_or_null,
			  ifname_or_null, metric);
	if (rc)
		return rc;
	return nl_talk(&m);
}

/* Reads the kernel's RTM_NEWROUTE answer to a RTM_GETROUTE with @seq. */
static int nl_route_get_reply(int fd, uint32_t seq, size_t alen, struct nl_route_info *ri)
{
	union {
		struct nlmsghdr nh;
		uint8_t buf[NL_ACK_MAX];	/* one route answer is ~100 bytes */
	} r;
	ssize_t n = recv(fd, r.buf, sizeof(r.buf), 0);
	struct nlmsghdr *h;
	size_t left;

	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	left = (size_t)n;
	for (h = &r.nh; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		struct rtmsg *rt = NLMSG_DATA(h);
		struct rtattr *a;
		int alen_left;
		unsigned int oif = 0;

		if (h->nlmsg_seq != seq)
			continue;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ? -EBADMSG :
			       e->error ? e->error : -ENOENT;
		}
		if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
			continue;
		memset(ri, 0, sizeof(*ri));
		alen_left = (int)RTM_PAYLOAD(h);
		for (a = RTM_RTA(rt); RTA_OK(a, alen_left); a = RTA_NEXT(a, alen_left)) {
			if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == alen) {
				memcpy(ri->gw, RTA_DATA(a), alen);
				ri->has_gw = true;
			} else if (a->rta_type == RTA_PREFSRC && RTA_PAYLOAD(a) == alen) {
				memcpy(ri->src, RTA_DATA(a), alen);
				ri->has_src = true;
			} else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == sizeof(uint32_t)) {
				memcpy(&oif, RTA_DATA(a), sizeof(oif));
			}
		}
		if (!oif || !if_indextoname(oif, ri->ifname))
			return -ENODEV;
		ri->oif = oif;
		return 0;
	}
	return -EBADMSG;
}

int nl_route_lookup(int family, const void *dst, struct nl_route_info *ri)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_SEC };
	size_t alen = nl_addr_len(family);
	struct nl_msg m;
	struct rtmsg *rt;
	int fd, rc;

	if (!alen || !dst)
		return -EINVAL;
	rt = nl_msg_init(&m, RTM_GETROUTE, 0, sizeof(*rt));
	m.nh.nlmsg_flags = NLM_F_REQUEST;	/* the answer is the route, not an ack */
	rt->rtm_family = (uint8_t)family;
	rt->rtm_dst_len = (uint8_t)(alen * 8);
	rc = nl_attr_put(&m, RTA_DST, dst, alen);
	if (rc)
		return rc;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    sendto(fd, m.buf, m.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		rc = -errno;
	else
		rc = nl_route_get_reply(fd, m.nh.nlmsg_seq, alen, ri);
	close(fd);
	return rc;
}

int nl_route_get(int family, const void *dst, void *gw_out, bool *has_gw, char *ifname_out)
{
	struct nl_route_info ri;
	int rc = nl_route_lookup(family, dst, &ri);

	if (rc)
		return rc;
	*has_gw = ri.has_gw;
	if (ri.has_gw)
		memcpy(gw_out, ri.gw, nl_addr_len(family));
	memcpy(ifname_out, ri.ifname, IFNAMSIZ);
	return 0;
}

int nl_monitor_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			     RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

int nl_monitor_drain(int fd)
{
	static union {
		struct nlmsghdr nh;
		uint8_t buf[8192];
	} r;	/* ctrl only */
	int events = 0;

	for (int reads = 0; reads < 64; reads++) {
		ssize_t n = recv(fd, r.buf, sizeof(r.buf), 0);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0) {
			if (errno == EAGAIN)
				return events;
			/* ENOBUFS: the kernel dropped messages; something changed. */
			if (errno == ENOBUFS)
				return events + 1;
			return events ? events : -errno;
		}
		left = (size_t)n;
		for (h = &r.nh; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
			switch (h->nlmsg_type) {
			case RTM_NEWLINK: case RTM_DELLINK:
			case RTM_NEWADDR: case RTM_DELADDR:
			case RTM_NEWROUTE: case RTM_DELROUTE:
				events++;
				break;
			default:
				break;
			}
	}
	return events;
}
