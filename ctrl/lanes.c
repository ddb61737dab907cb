/*
 * lanes.c - owns a UDP server's extra lanes (io-queues; io/io.h, io/pipeline.h):
 * TUN queues 1.. of the multi-queue device and sockets 1.. of the
 * SO_REUSEPORT group whose socket 0 the server mode binds, and the peer-id
 * steering program on that group. Lane 0's TUN queue and socket stay
 * main.c's and the mode's, as with one lane.
 *
 * Thread: ctrl only, at start (before user/group drop the privileges) and
 * at exit.
 *
 * Nothing here fails a start: a kernel that refuses the multi-queue TUN,
 * a socket of the group or the steering program gets a warning naming
 * what it refused, and the server runs on one lane (rc->io_lanes = 1).
 * After a late refusal lane 0 keeps what it had: a multi-queue device with
 * one queue, a socket with SO_REUSEPORT in a group of one; both work as
 * plain ones. The group's sockets are indexed in bind order, and the
 * program sends a P_DATA_V2 datagram to socket peer-id % lanes (io/udp.c):
 * the sockets are bound 0, 1, 2... and never closed one by one while the
 * data plane runs (closing one moves the last into its place).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "../io/pipeline.h"
#include "config/runcfg.h"
#include "lanes.h"

void lanes_init(struct lanes *ln)
{
	ln->n = 1;
	for (unsigned int i = 0; i < IO_LANES_MAX; i++)
		ln->tun_fds[i] = ln->link_fds[i] = -1;
}

/*
 * Back to one lane: automatic workers get the I/O threads the other lanes
 * would have had; inline crypto keeps one worker's contexts, for the lane.
 */
static void lanes_single(struct runcfg *rc)
{
	rc->io_lanes = 1;
	if (rc->inline_crypto)
		rc->workers = 1;
	else if (rc->workers_auto)
		rc->workers = runcfg_auto_workers(rc->cpus, 1);
}

int lanes_tun_open(struct lanes *ln, struct runcfg *rc, char *ifname, unsigned int *offload)
{
	unsigned int want = *offload;
	int err;

	if (rc->io_lanes > 1) {
		err = tun_open_queues(rc->dev, ifname, rc->io_lanes, ln->tun_fds, offload);
		if (!err) {
			ln->n = rc->io_lanes;
			return ln->tun_fds[0];
		}
		errno = -err;
		log_warn("io-queues %u: multi-queue TUN device '%s' refused; running one lane",
			 rc->io_lanes, rc->dev);
		lanes_single(rc);
		*offload = want;
	}
	ln->tun_fds[0] = tun_open(rc->dev, ifname, false, offload);
	return ln->tun_fds[0];
}

void lanes_link_open(struct lanes *ln, struct runcfg *rc, int fd0)
{
	const char *what = "";
	union sockaddr_any a;
	socklen_t len = sizeof(a);
	int err = 0;

	ln->link_fds[0] = fd0;
	if (ln->n < 2)
		return;
	if (getsockname(fd0, &a.sa, &len) < 0) {
		err = -errno;
		what = "reading the socket's address";
	}
	/* Port 0 in the configuration: a.sa holds the port the kernel gave socket 0. */
	for (unsigned int i = 1; !err && i < ln->n; i++) {
		ln->link_fds[i] = udp_open_reuseport(&a, len);
		if (ln->link_fds[i] < 0) {
			err = ln->link_fds[i];
			what = "another socket on the port (SO_REUSEPORT)";
		}
	}
	if (!err) {
		err = udp_reuseport_steer(fd0, ln->n);
		what = "the peer-id steering program (SO_ATTACH_REUSEPORT_CBPF)";
	}
	if (!err)
		return;
	errno = -err;
	log_warn("io-queues %u: %s refused; running one lane", ln->n, what);
	lanes_close(ln);
	lanes_single(rc);
}

void lanes_cfg(const struct lanes *ln, const struct runcfg *rc, struct pipeline_cfg *pc)
{
	unsigned int per = rc->workers / ln->n;
	char why[48], share[32];

	pc->lanes = ln->n;
	for (unsigned int i = 0; i < IO_LANES_MAX; i++) {
		pc->tun_fds[i] = i >= ln->n ? -1 : i ? ln->tun_fds[i] : pc->tun_fd;
		pc->link_fds[i] = i >= ln->n ? -1 : i ? ln->link_fds[i] : pc->link_fd;
	}
	if (ln->n < 2)
		return;
	if (rc->io_lanes_auto)
		snprintf(why, sizeof(why), "io-queues auto: %u usable CPUs", rc->cpus);
	else
		snprintf(why, sizeof(why), "io-queues %u", ln->n);
	if (rc->inline_crypto) {
		log_info("pipeline: %u lanes (%s): TUN queues and SO_REUSEPORT sockets, packets "
			 "steered by peer-id; no crypto threads, each lane's I/O threads seal and "
			 "open", ln->n, why);
		return;
	}
	if (rc->workers % ln->n)
		snprintf(share, sizeof(share), "%u or %u", per, per + 1);
	else
		snprintf(share, sizeof(share), "%u", per);
	log_info("pipeline: %u lanes (%s): TUN queues and SO_REUSEPORT sockets, packets steered "
		 "by peer-id; %u crypto worker(s) per direction, %s per lane", ln->n, why,
		 rc->workers, share);
}

void lanes_close(struct lanes *ln)
{
	for (unsigned int i = 1; i < IO_LANES_MAX; i++) {
		if (ln->tun_fds[i] >= 0)
			close(ln->tun_fds[i]);
		if (ln->link_fds[i] >= 0)
			close(ln->link_fds[i]);
		ln->tun_fds[i] = ln->link_fds[i] = -1;
	}
	ln->n = 1;
}
