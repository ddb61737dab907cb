/*
 * client.h - client mode (`client`, or tls-client + pull): one TLS control
 * session to the server over the data plane's control rings, the pushed
 * addresses and routes, keepalive and reconnect (openvpn-wire.md §15(a)).
 *
 * main.c runs it through client_mode_ops (ctrl/mode.h): the client is
 * created before the TUN device (a configured `ifconfig` goes into the
 * client's undo log), opens the socket to its first usable remote, gets
 * every control datagram from udp_rx, and once it is done, main.c stops
 * the data plane and frees it (its socket, routes outside the TUN,
 * --down). ctrl only.
 */
#ifndef SLUICE_CLIENT_H
#define SLUICE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../../core/pkt.h"
#include "../mode.h"

struct client;
struct runcfg;

/* The client mode's operations (ctrl/mode.h). */
extern const struct mode_ops client_mode_ops;

/*
 * Adds the IPv4 address of `ifconfig LOCAL SECOND` to @ifname: SECOND is the
 * netmask with topology subnet, the remote end with net30/p2p. @c NULL
 * (test-data-key and server modes): nothing records it.
 */
int client_addr4_apply(struct client *c, const char *ifname, const char *local_s,
		       const char *second_s, bool subnet);
/*
 * Resolves remote (and local) of @rc and opens a UDP socket connected to
 * the remote; @remote gets its address. Returns the fd or -errno (logged).
 */
int client_udp_open(const struct runcfg *rc, union sockaddr_any *remote);

#endif
