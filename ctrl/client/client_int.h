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
#include "../../io/io.h"
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
	int udp_fd;			/* the link's socket: UDP, or TCP when tcp */
	bool tcp;			/* the entry in use is proto tcp-client */
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
	bool occ_exit_only;		/* SIGTERM sent OCC_EXIT (no cc-exit): wait, no ack */
	bool no_remote;			/* the socket is a placeholder: no remote reached yet */
	bool ks_active;			/* our nftables table is in place (killswitch.c) */
	int64_t unreachable_since_ns;	/* no remote could be reached since then; 0 */
	int64_t inactive_start_ns;	/* inactive: the window started then */
	uint64_t inactive_bytes;	/* tunnel bytes at its start */
	/* The path watch (client_path.c). */
	int nl_fd;			/* netlink changes; -1 without */
	struct nl_route_info path;	/* the route to the server last seen */
	bool path_ok;			/* path holds a route */
	int64_t path_first_ns;		/* first change of the burst being debounced */
	int64_t path_due_ns;		/* the debounced check; 0: none */
	uint64_t path_events;
	unsigned int roams;
	int64_t probe_start_ns;
	int64_t probe_deadline_ns;	/* the probe's answer by then; 0: no probe */
	int64_t probe_next_ns;		/* OCC_REQUEST again */
	const char *probe_why;		/* CONN_WHY_* of the probe (and of its reconnect) */
	int64_t last_mono_ns, last_boot_ns;	/* the clocks at the last tick (sleep) */
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
/* What the client runs: a UDP or tcp-client entry with a remote. */
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


/* ---- client_path.c ---- */

/* Opens the netlink watch and takes the clocks (sleep detection). */
void client_path_start(struct client *c);
void client_path_stop(struct client *c);
/* The netlink socket main.c polls (mode_ops.event_fd), -1 if none. */
int client_path_fd(const struct client *c);
/* The route to the server the socket uses now (after a (re)connect). */
void client_path_remember(struct client *c);
/* Starts a probe (OCC_REQUEST, answered at once by a live peer) for @why. */
void client_probe(struct client *c, int64_t now, const char *why);
/* After every wakeup: changes read, the debounced check, the probe. */
void client_path_run(struct client *c, int64_t now);
/* Once a second: sleep detection, the probe. */
void client_path_second(struct client *c, int64_t now);
int64_t client_path_next(const struct client *c);

/* ---- client_net.c (more) ---- */

/* redirect-gateway: the host route to the server back if a link flap took it. */
void client_redirect_keep(struct client *c);

/*
 * The connection ends for @why (CONN_WHY_*): RECONNECTING, then a new
 * attempt after the pause (at least @backoff_s), or at once.
 */
void client_reconnect(struct client *c, int64_t now, const char *why, unsigned int backoff_s,
		      bool at_once);

/* ---- client_state.c ---- */

/* Moves the state people see to @st for @why (CONN_WHY_*), now. */
void client_state_set(struct client *c, enum conn_state st, const char *why);
/* The process leaves for @why with exit status @status (enum conn_exit). */
void client_exit(struct client *c, const char *why, int status);
/* Reconnect pause (connect-retry back-off, jitter), at least @backoff_s. */
void client_restart_later(struct client *c, int64_t now, unsigned int backoff_s);
/* The handshake's states from the session, CONNECTED / STALLED, remote, bytes. */
void client_conn_refresh(struct client *c, int64_t now);

/* ---- client_net.c ---- */

/* On exit: the routes on other devices (closing the TUN removes the rest). */
void client_routes_remove(struct client *c);
/* The --down command and the pushed DNS taken back (exit, or a changed push). */
void client_down(struct client *c);

#endif
