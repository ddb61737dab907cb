/*
 * lanes.h - a UDP server's data-plane lanes (io-queues, io/io.h): the
 * extra TUN queues and SO_REUSEPORT sockets ctrl opens at start, hands to
 * the pipeline and closes at exit. ctrl only (main.c), before any
 * privilege drop.
 */
#ifndef SLUICE_LANES_H
#define SLUICE_LANES_H

#include "../io/io.h"

struct pipeline_cfg;
struct runcfg;

struct lanes {
	unsigned int n;			/* lanes opened: 1 unless every queue and socket was */
	int tun_fds[IO_LANES_MAX];	/* [0] is main.c's tun_fd; [1..n) are ours */
	int link_fds[IO_LANES_MAX];	/* [0] is the mode's socket; [1..n) are ours */
};

/* One lane, nothing open. */
void lanes_init(struct lanes *ln);
/*
 * The TUN device: rc->io_lanes queues of one multi-queue device if more
 * than one, else one queue as before. A refused multi-queue open is logged
 * and falls back to one queue and rc->io_lanes = 1 (the mode then opens a
 * plain socket). Returns queue 0's fd or tun_open's -errno (not logged).
 */
int lanes_tun_open(struct lanes *ln, struct runcfg *rc, char *ifname, unsigned int *offload);
/*
 * After the mode bound @fd0 (with SO_REUSEPORT when rc->io_lanes > 1): the
 * other rc->io_lanes - 1 sockets on its address and port, then the
 * peer-id steering on the group. Any refusal is logged, closes the extra
 * sockets and TUN queues, and leaves one lane (rc->io_lanes = 1; automatic
 * workers re-sized). Never fails.
 */
void lanes_link_open(struct lanes *ln, struct runcfg *rc, int fd0);
/* Fills @pc's lanes, tun_fds and link_fds from pc->tun_fd, pc->link_fd and ours; logs them. */
void lanes_cfg(const struct lanes *ln, const struct runcfg *rc, struct pipeline_cfg *pc);
/* Closes our fds (not [0]); after pipeline_destroy, before main.c closes the TUN. */
void lanes_close(struct lanes *ln);

#endif
