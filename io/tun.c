/*
 * tun.c - opens TUN queues. Owns nothing after return: the fd is ctrl's,
 * which hands it to a tun_rx and a tun_tx thread.
 *
 * Thread: ctrl only (setup).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "io.h"

int tun_open(const char *name, char *out_name, bool multi_queue)
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
	/* IFF_NO_PI: each read and write is one bare IP packet. */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (multi_queue)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
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
