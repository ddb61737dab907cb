/*
 * mode.h - what ctrl runs: client, server or the fixed-key test mode, as one
 * table of operations that main.c picks once at start (from the resolved
 * configuration) and then calls through, never branching on the mode again
 * (STYLE.md §1, "decide once"; DPDK l3fwd's lookup-mode table).
 *
 *   client_mode_ops   ctrl/client/client.h   `client`, or tls-client + pull
 *   server_mode_ops   ctrl/server/server.h   `mode server` / `server`
 *   testkey_mode_ops  ctrl/testkey.h         `test-data-key`: one fixed key, no control channel
 *
 * main.c keeps what every mode shares: the process options (ctrl/proc.h),
 * the TUN device, the data plane, the event loop, the signals and the status
 * file (ctrl/status.h). The mode gets its state pointer back on every call.
 *
 * Call order, all on the ctrl thread:
 *   create            before the TUN device; allocates, opens nothing
 *   tun_ifconfig      the TUN device is up (only with a configured `ifconfig`)
 *   udp_open          the socket the data plane will use
 *   pipeline_cfg      the mode's part of the data plane's configuration
 *   attach            the data plane is built, its threads not running yet
 *   start             the threads run: the control plane starts
 *   mgmt->attach      after create, before the TUN device (also with no
 *                     management interface: NULL)
 *   input, run, next_timeout, second, signal, done, initialized, conn_info, write_status,
 *   mgmt->cmd, mgmt->bytecount, mgmt->nclients
 *                     from the event loop, in any order
 *   stop              the data threads have stopped, the data plane still exists
 *   free              the data plane is gone (after the epoch barrier)
 * A failure at any step skips the later steps but for stop (if the data
 * plane was built) and free (if create succeeded).
 */
#ifndef SLUICE_MODE_H
#define SLUICE_MODE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "state.h"
#include "status.h"

struct mgmt_mode_ops;
struct pipeline;
struct pipeline_cfg;
struct pkt;
struct runcfg;

struct mode_ops {
	const char *name;		/* "client", "server", "test-data-key": log prefix */
	/* The status file is OpenVPN's (status-version 1..3), not key=value. */
	bool has_ovpn_status;

	/* Allocates the mode's state into *@out; -ENOMEM. Opens nothing. */
	int (*create)(void **out, struct runcfg *rc);
	/*
	 * Optional: adds the configured `ifconfig` to TUN @ifname and records it
	 * (a client's undo log). NULL: main.c adds it, unrecorded.
	 */
	int (*tun_ifconfig)(void *m, const char *ifname);
	/* Opens the UDP socket; returns the fd (the mode owns it) or -errno, logged. */
	int (*udp_open)(void *m);
	/* Sets the mode's fields of @pc: key halves, peer table size, routing. */
	void (*pipeline_cfg)(void *m, struct pipeline_cfg *pc);
	/* The data plane is built, its threads not started. 0 or -errno, logged. */
	int (*attach)(void *m, struct pipeline *pl);
	/* The data threads run on TUN @ifname. 0 or -errno, logged. */
	int (*start)(void *m, const char *ifname, int64_t now_ns);

	/* One control datagram from udp_rx (p->addr: its source). Borrows @p. */
	void (*input)(void *m, const struct pkt *p, int64_t now_ns);
	/*
	 * Optional: one authenticated in-band message (OCC) from peer
	 * p->peer_id, already decrypted by the data plane. Borrows @p.
	 */
	void (*inband)(void *m, const struct pkt *p, int64_t now_ns);
	/*
	 * Optional, asked once after start: an fd main.c adds to its epoll set;
	 * when it is readable main.c just calls run (the mode reads it). -1: none.
	 */
	int (*event_fd)(void *m);
	/* After every wakeup: timers due, state changes acted on. */
	void (*run)(void *m, int64_t now_ns);
	/* The next time run must be called (INT64_MAX: none); main.c caps it at 1 s. */
	int64_t (*next_timeout)(void *m, int64_t now_ns);
	/* Once a second: keepalive and timeouts. */
	void (*second)(void *m, int64_t now_ns);
	/*
	 * SIGTERM/SIGINT (exit, telling the peers first), SIGHUP/SIGUSR1
	 * (restart; a client reconnects). main.c logs SIGTERM/SIGINT itself and
	 * handles SIGUSR2 (status to the log).
	 */
	void (*signal)(void *m, int signo, int64_t now_ns);
	/* True once the mode wants the process to exit; *@status gets the exit status. */
	bool (*done)(void *m, int *status);
	/* True once start-up is complete: user/group may drop the privileges now. */
	bool (*initialized)(void *m);

	/*
	 * The connection as people see it (ctrl/state.h): state and reason,
	 * since when, the last authenticated packet, remote, tunnel addresses,
	 * bytes, reconnects. Kept up to date by the mode; valid until the next
	 * call into it.
	 */
	const struct conn_info *(*conn_info)(void *m);
	/*
	 * The mode's part of the status in @fmt: key=value counters (STATUS_FMT_KV),
	 * or the whole of OpenVPN's status (STATUS_FMT_OVPN_V*; modes without
	 * has_ovpn_status write nothing for those).
	 */
	void (*write_status)(void *m, enum status_fmt fmt, FILE *f);
	/* Optional: the mode's part of the management interface (ctrl/mgmt.h). */
	const struct mgmt_mode_ops *mgmt;

	/* The data threads stopped: releases what the mode holds in the data plane. */
	void (*stop)(void *m);
	/* After the data plane is gone: everything else (socket, routes, scripts). */
	void (*free)(void *m);
};

#endif
