/*
 * client_state.c - owns the client's state as people and tools see it
 * (ctrl/state.h): the transitions and their reasons, the reconnect (stock's
 * "SIGUSR1[soft,<reason>]" line, then the connect-retry pause), the exit
 * with its status, and the CONNECTED / STALLED verdict from the data
 * plane's last authenticated packet. client.c decides what happens; this
 * file says so and keeps struct conn_info up to date.
 *
 * Thread: ctrl only.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/clock.h"
#include "../../core/compiler.h"
#include "../../core/log.h"
#include "../../io/pipeline.h"
#include "../config/options.h"
#include "../config/runcfg.h"
#include "../status.h"
#include "client_int.h"
#include "session.h"

#define NS_PER_SEC	1000000000LL

/*
 * The remote and the tunnel addresses in the info people see: the pushed
 * ones once the push is being applied (state @st ASSIGN_IP on), so that
 * the change to @st already carries them (the management's >STATE: lines).
 */
static void client_ci_addrs(struct client *c, enum conn_state st)
{
	const struct options *o = c->rc->opts;
	bool pushed = c->tunnel_up || st == CONN_ASSIGN_IP || st == CONN_ADD_ROUTES ||
		      st == CONN_CONNECTED;
	char a[INET6_ADDRSTRLEN];

	if (c->remote.sa.sa_family) {
		bool v6 = c->remote.sa.sa_family == AF_INET6;

		inet_ntop(c->remote.sa.sa_family, v6 ? (const void *)&c->remote.in6.sin6_addr :
			  (const void *)&c->remote.in4.sin_addr, a, sizeof(a));
		snprintf(c->ci.remote_ip, sizeof(c->ci.remote_ip), "%s", a);
		c->ci.remote_port = ntohs(v6 ? c->remote.in6.sin6_port : c->remote.in4.sin_port);
		snprintf(c->ci.remote, sizeof(c->ci.remote), v6 ? "[%s]:%u" : "%s:%u", a,
			 c->ci.remote_port);
	}
	snprintf(c->ci.local4, sizeof(c->ci.local4), "%s",
		 pushed && o->ifconfig_local ? o->ifconfig_local : "");
	snprintf(c->ci.local6, sizeof(c->ci.local6), "%s",
		 pushed && o->ifconfig_ipv6_local ? o->ifconfig_ipv6_local : "");
}

void client_state_set(struct client *c, enum conn_state st, const char *why)
{
	client_ci_addrs(c, st);
	state_change(&c->ci, st, why, time(NULL));
}

/*
 * The session is polled, so it may have moved on by more than one step since
 * the last look (a fast server answers within one loop turn). Go through the
 * steps between, in stock's order (WAIT, AUTH, GET_CONFIG, AUTH_PENDING), so
 * that a management client sees each one; never go back.
 */
static void client_state_step(struct client *c, enum conn_state to)
{
	static const enum conn_state seq[] = {
		CONN_WAIT, CONN_AUTH, CONN_GET_CONFIG, CONN_AUTH_PENDING,
	};
	size_t cur = 0, i;
	bool known = false;

	if (c->ci.state == to)
		return;
	for (i = 0; i < ARRAY_SIZE(seq); i++)
		if (seq[i] == c->ci.state) {
			cur = i + 1;
			known = true;
		}
	if (!known && c->ci.state != CONN_CONNECTING && c->ci.state != CONN_RESOLVE) {
		client_state_set(c, to, CONN_WHY_NONE);
		return;
	}
	for (i = cur; i < ARRAY_SIZE(seq); i++) {
		client_state_set(c, seq[i], CONN_WHY_NONE);
		if (seq[i] == to)
			return;
	}
}

/*
 * The connection ends for @why and another attempt follows: RECONNECTING,
 * stock's "SIGUSR1[soft,<why>]" line, then the pause (@at_once: none; a
 * signal or server-poll-timeout), at least @backoff_s long.
 */
void client_reconnect(struct client *c, int64_t now, const char *why, unsigned int backoff_s,
		      bool at_once)
{
	if (strcmp(why, CONN_WHY_SIGUSR1) && strcmp(why, CONN_WHY_SIGHUP))
		log_info("SIGUSR1[soft,%s] received, process restarting", why);
	client_state_set(c, CONN_RECONNECTING, why);
	if (at_once)
		c->restart_at_ns = now;
	else
		client_restart_later(c, now, backoff_s);
}

/* The process leaves for @why with exit status @status (enum conn_exit). */
void client_exit(struct client *c, const char *why, int status)
{
	client_state_set(c, CONN_EXITING, why);
	c->exit_status = status;
	c->stopping = true;
}

/*
 * Reconnect pause, as stock's socket_restart_pause with the entry in use's
 * --connect-retry n [max]: n seconds, doubling once each entry of the list
 * was tried five times since the tunnel was last up, capped at max (default
 * 300); plus up to 25% jitter so many clients of one server do not retry
 * in step.
 */
void client_restart_later(struct client *c, int64_t now, unsigned int backoff_s)
{
	const struct options_conn *ce = client_ce(c);
	int backoff = (int)(c->attempts / c->rc->opts->conns.n) - 4;
	uint64_t sec = ce->connect_retry, pause_ms;

	if (backoff > 0)
		sec = MAX(sec, 1) << MIN(backoff, 15);
	/* A server's AUTH_FAILED,TEMP[backoff N] asks for at least N s (2.6). */
	sec = MAX(sec, backoff_s);
	if (sec > ce->connect_retry_max)
		sec = ce->connect_retry_max;
	pause_ms = sec * 1000;
	pause_ms += pause_ms / 4 ? (uint64_t)random() % (pause_ms / 4 + 1) : 0;
	c->restart_at_ns = now + (int64_t)pause_ms * NSEC_PER_MSEC;
	log_info("Restart pause, %.1f second(s) (attempt %u)", pause_ms / 1000.0, c->attempts);
}

/*
 * No authenticated packet for longer than the keepalive interval (`ping`
 * with half of it again as slack for a peer that pings only when idle, or
 * half of ping-restart without `ping`): STALLED; 0 if neither is set.
 */
static int64_t client_stall_ns(const struct options *o)
{
	if (o->ping)
		return (int64_t)MAX(o->ping * 3 / 2, o->ping + 2) * NS_PER_SEC;
	return (int64_t)o->ping_rec_timeout / 2 * NS_PER_SEC;
}

/*
 * The handshake's states follow the session; once up, CONNECTED or
 * STALLED follow the data plane's last authenticated packet. The rest of
 * the info (remote, addresses, bytes) is read now too.
 */
void client_conn_refresh(struct client *c, int64_t now)
{
	const struct options *o = c->rc->opts;
	struct pipeline_peer_stats ps;
	int64_t stall = client_stall_ns(o);

	client_ci_addrs(c, c->ci.state);
	status_key_info(&c->ci, c->tunnel_up && c->sess ? session_chan(c->sess) : NULL, now);
	if (c->peer_added && pipeline_peer_stats(c->pl, 0, &ps)) {
		c->ci.rx_bytes = ps.rx_bytes;
		c->ci.tx_bytes = ps.tx_bytes;
		c->ci.rx_pkts = ps.rx_pkts;
		c->ci.tx_pkts = ps.tx_pkts;
		if (ps.last_rx_ns)
			c->ci.last_auth_rx = time(NULL) - (time_t)((now - ps.last_rx_ns) / NS_PER_SEC);
	} else {
		ps.last_rx_ns = 0;
	}
	if (c->stopping || c->restart_at_ns || c->start_pending || !c->sess ||
	    c->ci.state == CONN_EXITING || c->ci.state == CONN_RECONNECTING)
		return;
	switch (session_state(c->sess)) {
	case SESSION_RESET_SENT:
		client_state_step(c, CONN_WAIT);
		break;
	case SESSION_TLS:
	case SESSION_KM2:
		client_state_step(c, CONN_AUTH);
		break;
	case SESSION_PULL:
		/*
		 * GET_CONFIG with the first PUSH_REQUEST, as stock: a 2.6 server
		 * that pushes early is answered before, and the state goes from
		 * AUTH to ASSIGN_IP. AUTH_PENDING comes in the sequence's order.
		 */
		if (session_auth_state(c->sess))
			client_state_step(c, CONN_AUTH_PENDING);
		else if (session_pull_asked(c->sess))
			client_state_step(c, CONN_GET_CONFIG);
		else
			client_state_step(c, CONN_AUTH);
		break;
	case SESSION_ACTIVE:
		if (!c->tunnel_up || c->ci.state < CONN_CONNECTED)
			break;
		if (stall && now - MAX(ps.last_rx_ns, c->up_ns) > stall)
			client_state_set(c, CONN_STALLED, CONN_WHY_NO_RESPONSE);
		else if (c->ci.state == CONN_STALLED)
			client_state_set(c, CONN_CONNECTED, "traffic");
		break;
	default:
		break;
	}
}

