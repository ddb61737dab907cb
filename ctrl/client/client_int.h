/*
 * client_int.h - what client.c (session, keys, keepalive, reconnect, the
 * socket) and client_net.c (what a push turns into system state, and its
 * undo log) share. Not an API: only those two files include it. ctrl only.
 */
#ifndef SLUICE_CLIENT_INT_H
#define SLUICE_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/pkt.h"
#include "../proto/handover.h"
#include "../state.h"
#include "client.h"

struct applied;
struct session;

struct client {
	struct runcfg *rc;
	struct pipeline *pl;
	struct session *sess;
	char ifname[64];		/* the TUN device (main.c opened it) */
	int udp_fd;
	union sockaddr_any remote;	/* the server's resolved address */
	bool stopping;			/* the process should exit (client_done) */
	int exit_status;
	bool tunnel_up;			/* keys installed at least once */
	bool peer_added;
	struct handover ho;		/* data keys across renegotiations */
	struct conn_info ci;		/* the state people see (ctrl/state.h) */
	bool addr_applied;
	int64_t up_ns;			/* when the current keys were installed */
	int64_t restart_at_ns;		/* reconnect after connect-retry; 0: none */
	int64_t exit_deadline_ns;	/* SIGTERM: wait for the EXIT ack until then */
	int64_t poll_deadline_ns;	/* server-poll-timeout of this attempt; 0: none */
	/*
	 * Remote failover (stock's next_connection_entry): the entries moved to
	 * since the tunnel was last up (the back-off and connect-retry-max count
	 * them); no_advance: the entry just came up, so the next restart tries
	 * it once more first; restart_first: SIGHUP, start over at the first.
	 */
	unsigned int attempts;
	bool no_advance;
	bool restart_first;
	bool dns_applied;		/* pushed DNS handed to the system or the up script */
	/*
	 * The management interface (client_mgmt.c): an attempt waits while
	 * held (management-hold) or while credentials are asked for
	 * (management-query-passwords); start_pending: the first attempt waits.
	 */
	struct mgmt *mgmt;
	bool held;
	bool hold_done;
	bool start_pending;
	/* What client_apply added (undo log), and the pushed settings it came from. */
	struct applied *applied;
	size_t n_applied;
	size_t cap_applied;
	char *applied_sig;
};
/*
 * Applies the pushed ifconfig, routes, redirect-gateway, --up and DNS before
 * any data key is used; a reconnect with the same push keeps what is there.
 */
int client_apply(struct client *c);
/* ---- client_remote.c ---- */

/* The connection entry in use (o->conn_cur). */
const struct options_conn *client_ce(const struct client *c);
/* What the client runs: a UDP entry with a remote. */
bool client_conn_usable(const struct options_conn *ce);
/* On to the next usable entry; each one moved to counts as an attempt. */
void client_conn_advance(struct client *c);
/* The entry for the next attempt (stock's next_connection_entry). */
void client_conn_next(struct client *c);
/* The socket to the entry in use, or the next ones that get one. The fd or -errno. */
int client_udp_setup(struct client *c);
/*
 * A reconnect's fresh socket under the stopped data plane (the old peer
 * goes); -EAGAIN: no entry got a socket, the data plane stays stopped.
 */
int client_udp_renew(struct client *c);

/* ---- client_mgmt.c ---- */

/* The client's part of the management interface (mode_ops.mgmt). */
extern const struct mgmt_mode_ops client_mgmt_ops;
/*
 * Before an attempt: true while it must wait for `hold release` (the first
 * call of a hold says so with @wait_s) or for the credentials; then the
 * credentials are in the session. Asked again after every wakeup.
 */
bool client_mgmt_wait(struct client *c, unsigned int wait_s);

/* ---- client.c ---- */

/* Moves the state people see to @st for @why (CONN_WHY_*), now. */
void client_state_set(struct client *c, enum conn_state st, const char *why);
/* On exit: the routes on other devices (closing the TUN removes the rest). */
void client_routes_remove(struct client *c);
/* The --down command and the pushed DNS taken back (exit, or a changed push). */
void client_down(struct client *c);

#endif
