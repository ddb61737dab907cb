/*
 * client.h - client mode (`client`, or tls-client + pull): one TLS control
 * session to the server over the data plane's control rings, the pushed
 * addresses and routes, keepalive and reconnect (openvpn-wire.md §15(a)).
 *
 * main.c creates the client before the TUN device and the socket (a
 * configured `ifconfig` goes into the client's undo log), builds the data
 * plane on client_udp_setup's socket, then hands every control datagram
 * from udp_rx to client_input, calls client_run_once after every wakeup,
 * client_second once a second, and sleeps at most until
 * client_next_timeout. Once client_done says so, main.c stops the data
 * plane and calls client_free. ctrl only.
 */
#ifndef SLUICE_CLIENT_H
#define SLUICE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../../core/compiler.h"
#include "../../core/pkt.h"

struct client;
struct pipeline;
struct runcfg;

/* Allocates the client state; nothing is opened yet. */
int client_create(struct client **out, struct runcfg *rc) __must_check;
/* On exit, after the data plane is gone: session, socket, routes outside the TUN, --down. */
void client_free(struct client *c);

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
/*
 * The client's socket to the remote in use, owned by @c (a reconnect
 * replaces it); a remote that gets none is skipped for the next. Returns
 * the fd or -errno.
 */
int client_udp_setup(struct client *c);
/* Starts the control session over @pl (built on client_udp_setup's socket) and TUN @ifname. */
int client_start(struct client *c, struct pipeline *pl, const char *ifname) __must_check;

/* One control datagram from the server. Borrows @p. */
void client_input(struct client *c, const struct pkt *p, int64_t now_ns);
/* After every wakeup: session timers, pushed settings and keys, reconnect, exit. */
void client_run_once(struct client *c, int64_t now_ns);
/* Once a second: keepalive ping, ping-restart / ping-exit. */
void client_second(struct client *c, int64_t now_ns);
int64_t client_next_timeout(struct client *c, int64_t now_ns);

/* SIGTERM/SIGINT: EXIT on the control channel (cc-exit), then client_done once acked. */
void client_stop(struct client *c, int64_t now_ns);
/*
 * SIGUSR1/SIGHUP: reconnect now from a fresh UDP port, TUN kept. SIGUSR1
 * moves to the next remote unless this one just came up; @from_first
 * (SIGHUP) starts over at the first remote.
 */
void client_restart(struct client *c, int64_t now_ns, bool from_first);

/* True once the client wants the process to exit; @status gets the exit status. */
bool client_done(const struct client *c, int *status);
/* True once the tunnel came up ("Initialization Sequence Completed") at least once. */
bool client_was_up(const struct client *c);
/* For the status file: the session is established (or none was started). */
bool client_connected(const struct client *c);
/* The session's counters as "key=value" lines. */
void client_write_status(struct client *c, FILE *f);

#endif
