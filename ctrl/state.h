/*
 * state.h - the state of a connection as people and tools see it: OpenVPN's
 * state names (management `>STATE:`, `state` command), a reason for every
 * change, and who is told. A mode keeps one struct conn_info up to date and
 * calls state_change() on every transition; the status file, `sluice
 * status`, the management interface and metrics read it through the mode's
 * conn_info op, and the management interface subscribes to the changes.
 *
 * States (OpenVPN's names; STALLED is sluice's own):
 *   CONNECTING    a new attempt starts (after start-up or a reconnect pause)
 *   RESOLVE       resolving the remote's name
 *   WAIT          our reset is out, nothing heard from the server yet
 *   AUTH          TLS handshake and key exchange
 *   AUTH_PENDING  the server authenticates out of band (AUTH_PENDING)
 *   GET_CONFIG    PUSH_REQUEST sent, waiting for the whole PUSH_REPLY
 *   ASSIGN_IP     setting the pushed addresses
 *   ADD_ROUTES    setting the pushed routes
 *   CONNECTED     keys installed and an authenticated packet seen within the
 *                 keepalive interval
 *   STALLED       connected, but no authenticated packet for longer than the
 *                 keepalive interval (ping-restart has not fired yet)
 *   RECONNECTING  the session ended with a reason; a new attempt follows
 *   EXITING       the process is leaving (reason: signal, auth-failure, ...)
 *
 * Thread: ctrl only.
 */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum conn_state {
	CONN_CONNECTING = 0,
	CONN_RESOLVE,
	CONN_WAIT,
	CONN_AUTH,
	CONN_AUTH_PENDING,
	CONN_GET_CONFIG,
	CONN_ASSIGN_IP,
	CONN_ADD_ROUTES,
	CONN_CONNECTED,
	CONN_STALLED,
	CONN_RECONNECTING,
	CONN_EXITING,
	CONN_STATE_MAX,
};

/* Why the state changed. Strings are stock's words where stock has them. */
#define CONN_WHY_NONE		""
#define CONN_WHY_INIT		"init"
#define CONN_WHY_PING_RESTART	"ping-restart"
#define CONN_WHY_PING_EXIT	"ping-exit"
#define CONN_WHY_TLS_ERROR	"tls-error"
#define CONN_WHY_AUTH_FAILURE	"auth-failure"
#define CONN_WHY_AUTH_TEMP	"auth-temp-failure"
#define CONN_WHY_AUTH_TOKEN	"auth-failure (auth-token)"
#define CONN_WHY_SERVER_RESTART	"server-pushed-connection-reset"
#define CONN_WHY_SERVER_HALT	"server-pushed-halt"
#define CONN_WHY_SERVER_EXIT	"server-exit"
#define CONN_WHY_NETWORK	"network-change"
#define CONN_WHY_SLEEP		"sleep"
#define CONN_WHY_ROAM		"roam"
#define CONN_WHY_SIGNAL		"signal"
#define CONN_WHY_SIGHUP		"sighup"
#define CONN_WHY_SIGUSR1	"sigusr1"
#define CONN_WHY_NO_RESPONSE	"no-response"
#define CONN_WHY_CONN_RESET	"connection-reset"	/* TCP: the server closed or reset */
#define CONN_WHY_CONFIG		"config-error"
#define CONN_WHY_SEND_ERROR	"send-error"
#define CONN_WHY_INACTIVE	"inactive"
#define CONN_WHY_GAVE_UP	"connect-retry-max"

/* Exit statuses a service manager can tell apart (sluice's, documented in README). */
enum conn_exit {
	CONN_EXIT_CLEAN = 0,		/* a requested exit */
	CONN_EXIT_ERROR = 1,		/* a fatal error at run time */
	CONN_EXIT_CONFIG = 2,		/* the configuration is wrong */
	CONN_EXIT_AUTH = 3,		/* the server refused our credentials */
	CONN_EXIT_GAVE_UP = 4,		/* ping-exit, connect-retry-max, inactive */
};

/* What is known of one connection (a client's one, or a server as a whole). */
struct conn_info {
	enum conn_state state;
	const char *reason;		/* CONN_WHY_* (static), "" for none */
	time_t since;			/* wall clock of the last change */
	time_t last_auth_rx;		/* wall clock of the last authenticated packet; 0 */
	char remote[64];		/* "198.18.0.1:1194" in use, "" before */
	char local4[INET_ADDRSTRLEN];	/* tunnel IPv4, "" */
	char local6[INET6_ADDRSTRLEN];	/* tunnel IPv6, "" */
	char remote_ip[INET6_ADDRSTRLEN];	/* the server's address (management), "" */
	unsigned int remote_port;
	char local_ip[INET6_ADDRSTRLEN];	/* a server's listening address (management), "" */
	unsigned int local_port;
	uint64_t rx_bytes, tx_bytes;	/* tunnel payload (plaintext) both ways */
	uint64_t rx_pkts, tx_pkts;
	unsigned int reconnects;	/* since start */
	/* The data channel: `sluice status`, metrics ("" / 0 before the first keys). */
	char cipher[32];
	unsigned int key_id;		/* of the primary key */
	time_t key_since;		/* wall clock the primary key became active */
	time_t next_rekey;		/* wall clock of our next renegotiation; 0: none */
};

/* OpenVPN's name of @s ("CONNECTED", ...). */
const char *conn_state_name(enum conn_state s);

/* Told of every change: the management interface (>STATE:), logs. */
typedef void (*conn_state_cb)(void *arg, const struct conn_info *ci);
/* At most a few subscribers; returns 0 or -ENOSPC. */
int state_subscribe(conn_state_cb cb, void *arg);
void state_unsubscribe(conn_state_cb cb, void *arg);

/*
 * Moves @ci to @st for @why (a CONN_WHY_* string) at wall time @now,
 * logs it ("state: CONNECTED (reason)") and tells the subscribers; a
 * change to the same state with the same reason does nothing.
 */
void state_change(struct conn_info *ci, enum conn_state st, const char *why, time_t now);

#endif
