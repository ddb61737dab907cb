/*
 * server.h - server mode (`mode server` / `server`): many clients on one
 * UDP socket and one TUN device (openvpn-wire.md §15(b), DESIGN.md §3).
 *
 * main.c runs it through server_mode_ops (ctrl/mode.h): the data plane
 * gets one peer slot per client; every control datagram from udp_rx goes to
 * the server's input, which answers first packets statelessly
 * (ctrl/server/firstpkt.c) and creates a session (ctrl/server/srvsess.c) only
 * for a source that proved its address. The status file is OpenVPN's
 * (status-version 1, 2 or 3). SIGTERM sends RESTART to the clients with
 * explicit-exit-notify and exits once they acknowledged it (2 s at most);
 * SIGHUP re-reads the CRL and client-config-dir, keeping the clients whose
 * settings did not change; SIGUSR1 drops every client (RESTART), as stock's
 * soft restart. ctrl only.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include "../mode.h"

struct server;

/* The server mode's operations (ctrl/mode.h). */
extern const struct mode_ops server_mode_ops;

#endif
