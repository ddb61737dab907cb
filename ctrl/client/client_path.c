/*
 * client_path.c - owns the client's watch on its path to the server:
 *   - netlink link, address and route changes, debounced: a burst of them
 *     (an interface flapping, DHCP renewing) leads to one path check after
 *     it settles;
 *   - roaming, at once on every change (not debounced: it costs no
 *     handshake, and packets from a vanished address are lost): a new
 *     source address for the server means the socket is connected again
 *     from it; the session and its keys stay, and the server floats us
 *     after our next authenticated packet, which the probe sends;
 *   - the debounced path check: the kernel's route to the server now
 *     against the last one. A new device or gateway, or a route that came
 *     back, is probed. A change that leaves the route as it was does
 *     nothing. With redirect-gateway the host route to the server outside
 *     the tunnel is put back if a flap took it away;
 *   - sleep and wake: CLOCK_BOOTTIME running ahead of CLOCK_MONOTONIC
 *     means the machine slept; the peer is probed at once instead of
 *     waiting out ping-restart;
 *   - the probe: OCC_REQUEST on the data channel, which a live peer (stock
 *     or sluice) answers at once with an authenticated OCC_REPLY. No answer
 *     within CLIENT_PROBE_NS: a reconnect at once, with the probe's reason.
 *
 * Timers: path_due_ns (the debounced check), probe_deadline_ns (the
 * probe's answer), probe_next_ns (OCC_REQUEST again, once a second).
 *
 * Thread: ctrl only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../io/io.h"
#include "../../io/pipeline.h"
#include "../config/options.h"
#include "../config/runcfg.h"
#include "../proto/occ.h"
#include "client_int.h"

#define NS_PER_SEC		1000000000LL
#define NS_PER_MS		1000000LL
/* A burst of changes settles when none came for this long... */
#define CLIENT_PATH_QUIET_NS	(500 * NS_PER_MS)
/* ...or this long after its first one, whichever comes first. */
#define CLIENT_PATH_MAX_WAIT_NS	(3 * NS_PER_SEC)
/* A live peer answers OCC_REQUEST within a round trip; 3 s allows for loss. */
#define CLIENT_PROBE_NS		(3 * NS_PER_SEC)
/* BOOTTIME ahead of MONOTONIC by more than this since the last tick: a sleep. */
#define CLIENT_SLEEP_MIN_NS	(2 * NS_PER_SEC)

static bool addr_equal(int family, const void *a, const void *b)
{
	return !memcmp(a, b, family == AF_INET6 ? 16 : 4);
}

static const void *sa_addr(const union sockaddr_any *sa)
{
	return sa->sa.sa_family == AF_INET6 ? (const void *)&sa->in6.sin6_addr :
					      (const void *)&sa->in4.sin_addr;
}

static void addr_str(int family, const void *a, char *buf, size_t len)
{
	if (!inet_ntop(family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void client_path_start(struct client *c)
{
	c->nl_fd = nl_monitor_open();
	if (c->nl_fd < 0) {
		errno = -c->nl_fd;
		log_warn("path: cannot watch network changes (netlink); reconnects follow "
			 "keepalive only");
	}
	c->last_mono_ns = clock_mono_ns();
	c->last_boot_ns = clock_boot_ns();
}

void client_path_stop(struct client *c)
{
	if (c->nl_fd >= 0)
		close(c->nl_fd);
	c->nl_fd = -1;
}

int client_path_fd(const struct client *c)
{
	return c->nl_fd;
}

/* The path the socket uses now, remembered for the next comparison. */
void client_path_remember(struct client *c)
{
	c->path_ok = !nl_route_lookup(c->remote.sa.sa_family, sa_addr(&c->remote), &c->path);
}

static void client_probe_send(struct client *c, int64_t now)
{
	uint8_t buf[OCC_MAGIC_LEN + 1];
	int n = occ_build(buf, sizeof(buf), OCC_REQUEST, NULL);

	if (n > 0)
		(void)pipeline_send_inband(c->pl, 0, buf, (size_t)n);
	c->probe_next_ns = now + NS_PER_SEC;
}

void client_probe(struct client *c, int64_t now, const char *why)
{
	if (!c->peer_added || c->restart_at_ns || c->stopping)
		return;
	if (!c->probe_deadline_ns)
		log_info("probe: asking the server for an answer (%s)", why);
	c->probe_why = why;
	c->probe_start_ns = now;
	c->probe_deadline_ns = now + CLIENT_PROBE_NS;
	client_probe_send(c, now);
}

/* The probe's answer came (any authenticated packet after it started), or its time is up. */
static void client_probe_check(struct client *c, int64_t now)
{
	struct pipeline_peer_stats ps;

	if (!c->probe_deadline_ns)
		return;
	if (!c->peer_added || c->restart_at_ns || c->stopping) {
		c->probe_deadline_ns = 0;
		return;
	}
	if (pipeline_peer_stats(c->pl, 0, &ps) && ps.last_rx_ns > c->probe_start_ns) {
		log_info("probe: the server answered after %lld ms (%s)",
			 (long long)((ps.last_rx_ns - c->probe_start_ns) / NS_PER_MS), c->probe_why);
		c->probe_deadline_ns = 0;
		if (c->ci.state == CONN_STALLED)
			client_state_set(c, CONN_CONNECTED, c->probe_why);
		return;
	}
	if (now >= c->probe_deadline_ns) {
		log_warnx("probe: no answer from the server in %lld s (%s)",
			  (long long)(CLIENT_PROBE_NS / NS_PER_SEC), c->probe_why);
		c->probe_deadline_ns = 0;
		client_reconnect(c, now, c->probe_why, 0, true);
		return;
	}
	if (now >= c->probe_next_ns)
		client_probe_send(c, now);
}

/*
 * The socket's source address is gone or no longer the one the kernel
 * picks for the server: connect it again, so the next packets leave from
 * the new address. The session, its keys and peer-id stay; the server
 * floats us after our next authenticated packet, which the probe sends.
 */
static void client_roam(struct client *c, int64_t now, const struct nl_route_info *ri,
			const union sockaddr_any *old)
{
	const struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	socklen_t rlen = c->remote.sa.sa_family == AF_INET6 ? sizeof(c->remote.in6) :
							      sizeof(c->remote.in4);
	int family = c->remote.sa.sa_family;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	addr_str(family, sa_addr(old), a, sizeof(a));
	addr_str(family, ri->src, b, sizeof(b));
	if (c->tcp) {
		/* A TCP connection cannot move: a fresh one from the new address. */
		log_info("roam: local address %s -> %s on %s, new TCP connection", a, b,
			 ri->ifname);
		client_reconnect(c, now, CONN_WHY_NETWORK, 0, true);
		return;
	}
	/* AF_UNSPEC dissolves the association and the source address the kernel fixed. */
	if (connect(c->udp_fd, &unspec, sizeof(unspec)) < 0 ||
	    connect(c->udp_fd, &c->remote.sa, rlen) < 0) {
		log_warn("roam: cannot move the socket from %s to %s", a, b);
		client_reconnect(c, now, CONN_WHY_NETWORK, 0, true);
		return;
	}
	log_info("roam: local address %s -> %s on %s, session kept", a, b, ri->ifname);
	c->roams++;
	client_probe(c, now, CONN_WHY_ROAM);
}

/*
 * A roam is cheap (the socket is re-pointed; no handshake) and every
 * packet sent from a vanished address is lost, so the source address is
 * looked at on every change at once, without the debounce. True if it
 * moved (and the socket with it).
 */
static bool client_path_roam_check(struct client *c, int64_t now)
{
	const struct options_conn *ce = client_ce(c);
	int family = c->remote.sa.sa_family;
	struct nl_route_info ri;
	union sockaddr_any local;
	socklen_t llen = sizeof(local);

	if (!c->peer_added || c->restart_at_ns || c->stopping || ce->local)
		return false;
	/* A route into our own tunnel is no path (redirect-gateway lost its host route). */
	if (nl_route_lookup(family, sa_addr(&c->remote), &ri) || !ri.has_src ||
	    !strcmp(ri.ifname, c->ifname) || getsockname(c->udp_fd, &local.sa, &llen) ||
	    local.sa.sa_family != family || addr_equal(family, sa_addr(&local), ri.src))
		return false;
	c->path = ri;
	c->path_ok = true;
	client_roam(c, now, &ri, &local);
	return true;
}

/* The debounced check: what changed on the way to the server, and what to do. */
static void client_path_check(struct client *c, int64_t now)
{
	const struct options_conn *ce = client_ce(c);
	int family = c->remote.sa.sa_family;
	struct nl_route_info ri;
	union sockaddr_any local;
	socklen_t llen = sizeof(local);
	bool was_ok = c->path_ok;
	int rc;

	if (!c->peer_added || c->restart_at_ns || c->stopping)
		return;
	/* redirect-gateway's host route to the server first: a flap may have taken it. */
	client_redirect_keep(c);
	rc = nl_route_lookup(family, sa_addr(&c->remote), &ri);
	if (!rc && !strcmp(ri.ifname, c->ifname))
		rc = -ENETUNREACH;	/* only through our own tunnel: no path */
	if (rc) {
		if (was_ok)
			log_warnx("path: no route to the server outside the tunnel now; waiting "
				  "for one");
		c->path_ok = false;
		return;
	}
	if (ri.has_src && !ce->local && !getsockname(c->udp_fd, &local.sa, &llen) &&
	    local.sa.sa_family == family && !addr_equal(family, sa_addr(&local), ri.src)) {
		c->path = ri;
		c->path_ok = true;
		client_roam(c, now, &ri, &local);
		return;
	}
	if (was_ok && ri.oif == c->path.oif && ri.has_gw == c->path.has_gw &&
	    (!ri.has_gw || addr_equal(family, ri.gw, c->path.gw))) {
		log_debug("path: network changed, the way to the server did not");
		return;
	}
	c->path = ri;
	c->path_ok = true;
	log_info("path: the route to the server changed (now via %s)", ri.ifname);
	client_probe(c, now, CONN_WHY_NETWORK);
}

/* Sleep: BOOTTIME ran ahead of MONOTONIC (or the test hook says so). */
static void client_sleep_check(struct client *c, int64_t now)
{
	const struct options *o = c->rc->opts;
	int64_t boot = clock_boot_ns(), slept;

	slept = (boot - c->last_boot_ns) - (now - c->last_mono_ns);
	c->last_boot_ns = boot;
	c->last_mono_ns = now;
	if (o->test_sleep_hook && !access(o->test_sleep_hook, F_OK)) {
		FILE *f = fopen(o->test_sleep_hook, "r");
		long sec = 0;

		if (f) {
			if (fscanf(f, "%ld", &sec) != 1)
				sec = 0;
			fclose(f);
		}
		unlink(o->test_sleep_hook);
		slept += (int64_t)sec * NS_PER_SEC;
	}
	if (slept < CLIENT_SLEEP_MIN_NS)
		return;
	log_info("sleep: the machine slept for about %lld s; checking the tunnel now",
		 (long long)(slept / NS_PER_SEC));
	if (c->restart_at_ns && !c->stopping)
		c->restart_at_ns = now;		/* a pending reconnect need not wait any more */
	else
		client_probe(c, now, CONN_WHY_SLEEP);
}

void client_path_run(struct client *c, int64_t now)
{
	if (c->nl_fd >= 0 && nl_monitor_drain(c->nl_fd) > 0) {
		if (!c->path_due_ns)
			c->path_first_ns = now;
		c->path_due_ns = MIN(now + CLIENT_PATH_QUIET_NS,
				     c->path_first_ns + CLIENT_PATH_MAX_WAIT_NS);
		c->path_events++;
		(void)client_path_roam_check(c, now);
	}
	if (c->path_due_ns && now >= c->path_due_ns) {
		c->path_due_ns = 0;
		client_path_check(c, now);
	}
	client_probe_check(c, now);
}

void client_path_second(struct client *c, int64_t now)
{
	client_sleep_check(c, now);
	client_probe_check(c, now);
}

int64_t client_path_next(const struct client *c)
{
	int64_t t = INT64_MAX;

	if (c->path_due_ns)
		t = c->path_due_ns;
	if (c->probe_deadline_ns)
		t = MIN(t, MIN(c->probe_deadline_ns, c->probe_next_ns));
	return t;
}
