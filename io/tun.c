/*
 * tun.c - opens TUN queues, with the kernel's offloads where it has them.
 * Owns nothing after return: the fd is ctrl's, which hands it to a tun_rx
 * and a tun_tx thread.
 *
 * Thread: ctrl only (setup).
 *
 * Offloads (io.h TUN_OFF_*): IFF_VNET_HDR puts a virtio-net header
 * (core/vnet.h) in front of every read and write; TUNSETOFFLOAD then tells
 * the kernel what it may hand us in a read: packets with a partial checksum
 * (TUN_F_CSUM), TCP super-packets (TSO4/6) and UDP super-packets (USO4/6,
 * Linux 6.2). Each tier is tried best first; a kernel that refuses one gets
 * the next, and one that refuses even the checksum offload gets the device
 * reopened without the header, exactly as with offloads switched off. What
 * we write is not negotiated: with the header, coalesced TCP writes are
 * always accepted; coalesced UDP writes only where USO was (io/tun_tx.c).
 *
 * Multi-queue (a UDP server's lanes, io-queues): tun_open_queues opens one
 * device with IFF_MULTI_QUEUE and attaches further queues to it. The kernel
 * wants the same flags on every queue (IFF_VNET_HDR included), and the vnet
 * header size and the offloads are the device's: every queue is set to the
 * tier the first got, and a queue that takes less lowers them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../core/vnet.h"
#include "io.h"

/* Linux 6.2 uapi; Debian 12's headers predate them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4	0x20
#define TUN_F_USO6	0x40
#endif

static const struct {
	unsigned int tun_f;
	unsigned int granted;
} tun_offload_tiers[] = {
	{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
	  TUN_OFF_VNET | TUN_OFF_TSO | TUN_OFF_USO },
	{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_OFF_VNET | TUN_OFF_TSO },
	{ TUN_F_CSUM, TUN_OFF_VNET },
};

static int tun_open_flags(const char *name, char *out_name, short flags)
{
	struct ifreq ifr;
	int fd, rc;

	memset(&ifr, 0, sizeof(ifr));
	if (name && strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	/* O_NONBLOCK: io_uring arms a poll instead of parking a worker thread. */
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* IFF_NO_PI: each read and write is one bare IP packet (after the vnet header). */
	ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | flags);
	/* An existing device of that name is attached to, else one is made. */
	if (name)
		strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (out_name) {
		memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
		out_name[IFNAMSIZ - 1] = '\0';
	}
	return fd;
}

/* The best offload tier the kernel takes on @fd (opened with IFF_VNET_HDR); 0: none. */
static unsigned int tun_offload_set(int fd, unsigned int want)
{
	int sz = VNET_HDR_LEN;

	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
		return 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(tun_offload_tiers); i++) {
		unsigned int g = tun_offload_tiers[i].granted;

		if ((g & want) != g)
			continue;
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_offload_tiers[i].tun_f) == 0)
			return g;
	}
	return 0;
}

int tun_open(const char *name, char *out_name, bool multi_queue, unsigned int *offload)
{
	short mq = multi_queue ? IFF_MULTI_QUEUE : 0;
	unsigned int want = *offload;
	int fd;

	*offload = 0;
	if (want & TUN_OFF_VNET) {
		fd = tun_open_flags(name, out_name, (short)(mq | IFF_VNET_HDR));
		if (fd >= 0) {
			*offload = tun_offload_set(fd, want);
			if (*offload)
				return fd;
			/* Refused: a device we made goes with the fd; reopen it plain. */
			close(fd);
		}
	}
	return tun_open_flags(name, out_name, mq);
}

/* Sets @fds[0..n-1] (IFF_VNET_HDR queues) to one tier, the best of *@tier they all take. */
static int tun_offload_same(int *fds, unsigned int n, unsigned int *tier)
{
	for (unsigned int round = 0; round < ARRAY_SIZE(tun_offload_tiers); round++) {
		unsigned int i, g = *tier;

		for (i = 0; i < n && g == *tier; i++)
			g = tun_offload_set(fds[i], *tier);
		if (g == *tier)
			return 0;
		if (!g)
			return -EOPNOTSUPP;	/* a queue refused even the checksum */
		*tier = g;		/* lower: again from queue 0 */
	}
	return -EOPNOTSUPP;
}

int tun_open_queues(const char *name, char *out_name, unsigned int n, int *fds,
		    unsigned int *offload)
{
	unsigned int i, tier;
	char ifname[IFNAMSIZ];
	short flags;
	int err = 0;

	if (n < 1 || n > IO_LANES_MAX)
		return -EINVAL;
	fds[0] = tun_open(name, ifname, true, offload);
	if (fds[0] < 0)
		return fds[0];
	tier = *offload;
	flags = (short)(IFF_MULTI_QUEUE | (tier & TUN_OFF_VNET ? IFF_VNET_HDR : 0));
	for (i = 1; i < n && !err; i++) {
		fds[i] = tun_open_flags(ifname, NULL, flags);
		if (fds[i] < 0)
			err = fds[i];
	}
	if (!err && (tier & TUN_OFF_VNET))
		err = tun_offload_same(fds, n, &tier);
	if (err) {
		/* Queues 0..i-1 were opened but the one whose open failed (fd < 0). */
		for (unsigned int j = 0; j < i; j++)
			if (fds[j] >= 0)
				close(fds[j]);
		return err;
	}
	*offload = tier;
	if (out_name)
		memcpy(out_name, ifname, IFNAMSIZ);
	return 0;
}
