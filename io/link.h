/*
 * link.h - the link to the peers: where data-channel and control packets
 * go to and come from (UDP today).
 */
#ifndef SLUICE_IO_LINK_H
#define SLUICE_IO_LINK_H

#include <stdint.h>

#include "../core/pkt.h"

/* Where a peer is: its address on the link. */
struct peer_endpoint {
	union sockaddr_any sa;
	socklen_t len;
};

#endif
