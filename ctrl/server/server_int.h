/*
 * server_int.h - what the files of server mode share; not an API: only
 * ctrl/server/server*.c include it. ctrl only.
 *
 *   server.c         setup and teardown, the socket, first packets and
 *                    session creation, session timers, the mode operations
 *   server_client.c  one client's life: admit (auth, CCD, cipher, push),
 *                    keys, keepalive, float, reap, explicit exit
 *   server_route.c   a client's tunnel addresses (pool or CCD), its routes
 *                    in the data plane (LPM, published in batches), the pool
 *                    file, the server's own address and routes on the TUN
 *   server_status.c  OpenVPN's status (versions 1-3) and the counters
 *   server_mgmt.c    the management interface: kill, client-kill,
 *                    client-auth/-deny/-pending-auth, >CLIENT: notifications
 *
 * A client is indexed by its peer-id, which is also its slot in the data
 * plane's peer table; control datagrams find it through the endpoint table
 * (core/addrtab.h) and must carry its session id.
 */
#ifndef SLUICE_SERVER_INT_H
#define SLUICE_SERVER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../../core/pkt.h"
#include "../../core/proto.h"
#include "../../crypto/dc.h"
#include "../config/options.h"
#include "../state.h"
#include "../status.h"
#include "../proto/handover.h"
#include "firstpkt.h"
#include "server.h"
#include "srvauth.h"
#include "srvpolicy.h"
#include "srvsess.h"
#include "srvtoken.h"

#define NS_PER_SEC	1000000000LL
/* A common name or user name as the status file and logs show it (stock: 64). */
#define CN_MAX		128

struct addrtab;
struct mgmt;
struct pipeline;
struct runcfg;
struct tls_ctx;

/* GLOBAL_STATS in the status file (server_status.c names them). */
struct server_stats {
	uint64_t sessions_created;
	uint64_t clients_connected;	/* keys installed for the first time */
	uint64_t clients_reaped;
	uint64_t auth_failed;
	uint64_t refused_max_clients;
	uint64_t floats;
	uint64_t restarts_same_endpoint;
	uint64_t tx_ctrl_errs;
	uint64_t inactivity_timeouts;
	uint64_t exits;
	uint64_t session_failures;	/* reaped: TLS error, hand-window, bad key-method 2 */
	uint64_t replaced;		/* reaped: same CN again (no duplicate-cn) or same address */
	uint64_t tcp_closed;		/* reaped: its TCP connection closed (tcp-server only) */
};

struct srv_client {
	bool used;
	bool active;			/* data keys installed */
	bool peer_added;
	uint32_t id;
	struct server *srv;
	struct srvsess *sess;
	union sockaddr_any addr;
	socklen_t addr_len;
	uint8_t sid[SID_LEN];		/* the client's session id */
	int pool_idx;			/* -1: no pool entry */
	uint32_t v4, v4_second;		/* network order; v4 0: none */
	bool has_v6;
	uint8_t v6[16];
	struct srv_ccd *ccd;
	enum dc_cipher cipher;
	char cn[CN_MAX];
	char user[CN_MAX];
	time_t since;
	int64_t up_ns;
	int64_t next_ns;		/* srvsess_next_timeout, cached */
	struct handover ho;		/* its data keys across renegotiations */
	struct srvauth *auth;		/* auth-user-pass-verify running or deferred; NULL */
	uint64_t ctrl_rx_bytes;		/* control datagrams in and out (stock counts them in */
	uint64_t ctrl_tx_bytes;		/* a client's Bytes Received / Sent) */
	uint64_t cid;			/* the management interface's client ID (never reused) */
	unsigned int kid;		/* its key ID in >CLIENT:CONNECT */
	/* management-client-auth: the decision asked for and given (server_mgmt.c). */
	enum { MGMT_AUTH_NONE = 0, MGMT_AUTH_WAIT, MGMT_AUTH_OK, MGMT_AUTH_DENY } mgmt_auth;
	char *mgmt_text;		/* client-auth's config text, or client-deny's reason */
};

struct srv_txhold;

struct server {
	struct runcfg *rc;
	struct options *o;
	struct pipeline *pl;
	int udp_fd;			/* the listening socket; -1 */
	struct firstpkt *fp;
	struct firstpkt_result *fr;
	struct srv_txhold *hold;	/* control datagrams held during one input (server.c) */
	struct tls_ctx *tctx;
	struct srvsess_cfg scfg;
	uint8_t wrap_key[KEY2_LEN];
	uint8_t v2_key[WKC_SERVER_KEY_LEN];
	struct addrtab *addrs;
	struct srv_client *cl;		/* max entries, indexed by peer-id */
	uint32_t max;			/* peer slots */
	uint32_t next_id;		/* next-fit cursor: an id is not reused at once */
	uint32_t count;			/* slots in use */
	uint32_t active;
	uint32_t auth_jobs;		/* clients with an auth script running or deferred */
	struct srvpool pool;
	bool routes_dirty;
	uint32_t float_cursor;
	int64_t next_ns;		/* earliest session timer */
	bool shutting_down;
	int64_t exit_deadline_ns;	/* SIGTERM: wait for the RESTART acks until then */
	bool is_stopping;		/* the process should exit (server_done) */
	bool keep_conn;			/* tcp-server: a reap leaves the connection open */
	bool persist;			/* ifconfig-pool-persist in use */
	int64_t persist_next_ns;
	struct server_stats st;
	struct conn_info ci;		/* the server as a whole (mode_ops.conn_info) */
	struct mgmt *mgmt;		/* the management interface, NULL: none */
	uint64_t next_cid;
	struct srvtoken_key token_key;	/* auth-gen-token's secret */
	char push[4096];
};

/* ---- server.c ---- */

/* One control datagram to @sa through udp_tx. 0 or -errno; a full ring is counted. */
int server_send_to(struct server *s, const union sockaddr_any *sa, socklen_t len,
		   const uint8_t *buf, size_t n);

/* ---- server_client.c ---- */

/* "CN/address" (UNDEF before the TLS handshake named it) for logs. */
const char *server_client_name(const struct srv_client *c, char *buf, size_t len);
/* A free slot (next fit), or NULL. */
struct srv_client *server_client_alloc(struct server *s);
/* Frees everything of @c and its slot; logs "<name> <why>" unless @why is NULL. */
void server_client_reap(struct server *s, struct srv_client *c, const char *why);
/* Acts on the session's state (admit, keys, exit, failure) until it settles. */
void server_client_check(struct server *s, struct srv_client *c, int64_t now_ns);
/* Peers tun_tx saw authenticated at a new address: their endpoint moves there. */
void server_floats(struct server *s);
/* Once a second: keepalive pings and ping-restart reaping. */
void server_keepalive(struct server *s, int64_t now_ns);
/* SIGTERM: RESTART to every client (explicit-exit-notify). True if anything was sent. */
bool server_shutdown(struct server *s, int64_t now_ns);
/* tcp-server (server_tcp.c): the listening socket (fd or -errno); sessions of closed connections. */
int server_tcp_open(const char *local, uint16_t port);
void server_tcp_closed(struct server *s);
/* tcp-server: closes @sa's connection once what was sent to it is written (else no-op). */
void server_tcp_hangup(struct server *s, const union sockaddr_any *sa, socklen_t len);
/* True once the shutdown messages were acknowledged. */
bool server_idle(const struct server *s);

/* ---- server_route.c ---- */

/* The client's tunnel addresses from client-config-dir or the pool; -ENOSPC. */
int server_route_assign(struct server *s, struct srv_client *c);
/* Its addresses and iroutes into the data plane's staged routes (published later). */
int server_route_add_client(struct server *s, struct srv_client *c);
/* Its routes out of the data plane, its pool entry back (on reap). */
void server_route_del_client(struct server *s, struct srv_client *c);
/* Logs what the client's addresses and iroutes route to it ("MULTI: Learn"). */
void server_route_log_learn(const struct srv_client *c);
/* Makes staged route changes visible to the data threads, if any. */
void server_route_publish(struct server *s);
/* ifconfig-pool-persist: reads the file at start; rewrites it when due and at exit. */
int server_persist_load(struct server *s, char *err, size_t errlen);
void server_persist_save(struct server *s);
void server_persist_tick(struct server *s, int64_t now_ns);
/* The server's IPv6 address and its `route` / `route-ipv6` on TUN @ifname. */
int server_tun_setup(const struct options *o, const char *ifname);

/* ---- server_mgmt.c ---- */

/* The server's part of the management interface (mode_ops.mgmt). */
extern const struct mgmt_mode_ops server_mgmt_ops;
/*
 * management-client-auth, after the auth script: >CLIENT:CONNECT on the
 * first call, then the decision. SRVAUTH_FAIL leaves the reason for the
 * client in @reason (@rlen bytes, "" for none).
 */
enum srvauth_verdict server_mgmt_auth(struct server *s, struct srv_client *c, char *reason,
				      size_t rlen);
/* The client's keys are in for the first time: >CLIENT:ADDRESS and ESTABLISHED. */
void server_mgmt_established(struct server *s, struct srv_client *c);
/* The client goes (before its state is freed): >CLIENT:DISCONNECT once it was decided on. */
void server_mgmt_disconnect(struct server *s, struct srv_client *c);

/* ---- server_status.c ---- */

/* OpenVPN's status, @fmt STATUS_FMT_OVPN_V1..3; key=value counters for STATUS_FMT_KV. */
void server_write_status(struct server *s, enum status_fmt fmt, FILE *f);

/*
 * A client's bytes as stock reports them (status CLIENT_LIST, >BYTECOUNT_CLI,
 * bytes_received/bytes_sent): the data plane's and its control datagrams.
 */
static inline void srv_client_bytes(const struct srv_client *c,
				    const struct pipeline_peer_stats *ps, unsigned long long *rx,
				    unsigned long long *tx)
{
	*rx = (unsigned long long)(ps->rx_bytes + c->ctrl_rx_bytes);
	*tx = (unsigned long long)(ps->tx_bytes + c->ctrl_tx_bytes);
}

#endif
