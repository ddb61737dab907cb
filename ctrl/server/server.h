/*
 * server.h - server mode (`mode server` / `server`): many clients on one
 * UDP socket and one TUN device (openvpn-wire.md §15(b), DESIGN.md §3).
 *
 * main.c builds the data plane with one peer slot per client, then hands
 * every control datagram from udp_rx to server_input and calls
 * server_run at least every server_next_timeout and once a second
 * (server_second: keepalive, reaping, float). ctrl only.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../../core/compiler.h"
#include "../../core/pkt.h"

struct options;
struct pipeline;
struct server;

/* Checks the options and loads keys and certificates; @err says what is wrong. */
int server_create(struct server **out, struct options *o, struct pipeline *pl, char *err,
		  size_t errlen) __must_check;
void server_free(struct server *s);

/* One control datagram (p->addr: its source). Borrows @p. */
void server_input(struct server *s, const struct pkt *p, int64_t now_ns);
/* Session timers due, floats, route publication. */
void server_run(struct server *s, int64_t now_ns);
/* Once a second: keepalive pings and timeouts. */
void server_second(struct server *s, int64_t now_ns);
int64_t server_next_timeout(struct server *s, int64_t now_ns);

/* SIGTERM: tells clients (RESTART with explicit-exit-notify). True if anything was sent. */
bool server_shutdown(struct server *s, int64_t now_ns);
/* True once the shutdown messages were acknowledged. */
bool server_idle(const struct server *s);

/* The OpenVPN status file (status-version 1, 2 or 3) plus GLOBAL_STATS counters. */
void server_write_status(struct server *s, FILE *f, unsigned int version);
/* Connected clients (keys installed). */
unsigned int server_clients(const struct server *s);

/* The server's IPv6 address and its `route` / `route-ipv6` on the TUN device. */
int server_tun_setup(const struct options *o, const char *ifname);
/* The listening UDP socket (local address or any, port). Returns the fd or -errno. */
int server_udp_open(const char *local, uint16_t port);

#endif
