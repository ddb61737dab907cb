/*
 * client_remote.c - owns the client's way to its server: the connection
 * entries (`remote` lines and <connection> blocks) and the failover between
 * them as stock 2.6 does it, name resolution on every attempt, and the
 * socket to the server: UDP, connected, or TCP (proto tcp-client), connected
 * with connect-timeout (a reconnect replaces either, from a fresh port,
 * under the stopped data plane; the pipeline swaps its link when the kind
 * changes between entries). client.c decides when;
 * this file knows how.
 *
 * Thread: ctrl only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../io/io.h"
#include "../../io/pipeline.h"
#include "../config/options.h"
#include "../config/runcfg.h"
#include "client_int.h"

static void client_addr_str(const union sockaddr_any *sa, char *buf, size_t len);

static int resolve(const char *host, uint16_t port, int family_hint, union sockaddr_any *sa,
		   socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_family = family_hint };
	struct addrinfo *res;
	char portstr[8];
	int rc;

	snprintf(portstr, sizeof(portstr), "%u", port);
	hints.ai_flags = host ? 0 : AI_PASSIVE;
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc)
		return -EHOSTUNREACH;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}


/*
 * Resolves @host (@af: AF_UNSPEC, or what proto udp4/udp6 asks for), then
 * the local side in the family the remote resolved to, and opens a UDP
 * socket connected to the remote. Returns the fd or -errno (logged).
 */
static int udp_open_to(const char *host, uint16_t port, int af, const char *lhost,
		       uint16_t lport, union sockaddr_any *remote_out)
{
	union sockaddr_any local, remote;
	socklen_t llen = 0, rlen = 0;
	int err, fd;

	err = resolve(host, port, af, &remote, &rlen);
	if (err) {
		log_warnx("udp: cannot resolve remote '%s'", host);
		return err;
	}
	err = resolve(lhost, lport, remote.sa.sa_family, &local, &llen);
	if (err) {
		log_warnx("udp: cannot resolve local '%s'", lhost ? lhost : "*");
		return err;
	}
	*remote_out = remote;
	fd = udp_open(&local, llen, &remote, rlen);
	if (fd < 0) {
		errno = -fd;
		log_warn("udp: cannot open socket %s:%u -> %s:%u", lhost ? lhost : "*", lport,
			 host, port);
		return fd;
	}
	log_info("udp: socket %s:%u connected to %s:%u", lhost ? lhost : "*", lport, host, port);
	return fd;
}

/*
 * A signal ctrl acts on waits (main.c blocks them for its signalfd): a
 * connect in progress gives up for it, so SIGTERM is not held up to
 * connect-timeout.
 */
static bool client_signal_pending(void)
{
	sigset_t set;

	if (sigpending(&set))
		return false;
	return sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1 ||
	       sigismember(&set, SIGHUP) == 1 || sigismember(&set, SIGUSR1) == 1;
}

/*
 * TCP (proto tcp-client): resolves as udp_open_to does, then connects
 * without blocking and waits for the connection at most @timeout_s
 * (connect-timeout; stock's default 120 s applies when it is 0). ctrl
 * waits here, looking every 200 ms for a signal, which ends the attempt
 * (-EINTR: no other entry is tried; the main loop acts on it). The socket
 * is left blocking (io_uring polls it, as the UDP one). The fd or -errno
 * (logged).
 */
static int tcp_open_to(const char *host, uint16_t port, int af, const char *lhost,
		       uint16_t lport, unsigned int timeout_s, union sockaddr_any *remote_out)
{
	union sockaddr_any local, remote;
	socklen_t llen = 0, rlen = 0, elen = sizeof(int);
	int64_t deadline;
	char addr[INET6_ADDRSTRLEN + 24];
	int err, fd, one = 1, soerr = 0;

	err = resolve(host, port, af, &remote, &rlen);
	if (err) {
		log_warnx("tcp: cannot resolve remote '%s'", host);
		return err;
	}
	*remote_out = remote;
	fd = socket(remote.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lhost || lport) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (resolve(lhost, lport, remote.sa.sa_family, &local, &llen) ||
		    bind(fd, &local.sa, llen) < 0) {
			log_warn("tcp: cannot bind to %s:%u", lhost ? lhost : "*", lport);
			close(fd);
			return -EADDRNOTAVAIL;
		}
	}
	client_addr_str(&remote, addr, sizeof(addr));
	log_info("Attempting to establish TCP connection with %s", addr);
	deadline = clock_mono_ns() + (int64_t)(timeout_s ? timeout_s : 120) * 1000000000LL;
	if (connect(fd, &remote.sa, rlen) < 0 && errno != EINPROGRESS) {
		soerr = errno;
	} else {
		for (;;) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			int64_t left_ms = (deadline - clock_mono_ns()) / 1000000;

			if (left_ms <= 0) {
				soerr = ETIMEDOUT;
				break;
			}
			if (client_signal_pending()) {
				soerr = EINTR;
				break;
			}
			if (poll(&pf, 1, (int)MIN(left_ms, 200)) > 0) {
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen))
					soerr = errno;
				break;
			}
		}
	}
	if (soerr == EINTR) {
		log_info("TCP: connect to %s interrupted by a signal", addr);
		close(fd);
		return -EINTR;
	}
	if (soerr) {
		errno = soerr;
		log_warn("TCP: connect to %s failed", addr);
		close(fd);
		return -soerr;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	log_info("TCP connection established with %s", addr);
	return fd;
}

int client_udp_open(const struct runcfg *rc, union sockaddr_any *remote_out)
{
	return udp_open_to(rc->remote_host, rc->remote_port, AF_UNSPEC, rc->local_host,
			   rc->local_port, remote_out);
}

/* The connection entry in use. */
const struct options_conn *client_ce(const struct client *c)
{
	const struct options *o = c->rc->opts;

	return &o->conns.v[o->conn_cur];
}

/* What the client runs: UDP or TCP to a remote (runcfg warned about the others). */
bool client_conn_usable(const struct options_conn *ce)
{
	return ce->remote && (ce->proto == OPT_PROTO_UDP || ce->proto == OPT_PROTO_TCP_CLIENT);
}

/*
 * On to the next usable entry, the first after the last. Every entry moved
 * to counts as an attempt, skipped ones too (as stock's disabled entries).
 */
void client_conn_advance(struct client *c)
{
	struct options *o = c->rc->opts;

	for (size_t i = 0; i < o->conns.n; i++) {
		o->conn_cur = (o->conn_cur + 1) % o->conns.n;
		c->attempts++;
		if (client_conn_usable(client_ce(c)))
			return;
	}
}

/*
 * The entry for the next attempt, as stock's next_connection_entry: the one
 * that just came up once more (no_advance), else the next; SIGHUP (stock
 * reads the configuration again) starts over at the first.
 */
void client_conn_next(struct client *c)
{
	struct options *o = c->rc->opts;

	if (c->restart_first) {
		c->restart_first = false;
		c->no_advance = false;
		c->attempts = 0;
		o->conn_cur = o->conns.n - 1;
		client_conn_advance(c);
	} else if (c->no_advance) {
		c->no_advance = false;
	} else {
		client_conn_advance(c);
	}
}

/* Stock's form of an address: [AF_INET]198.18.0.1:1194, [AF_INET6]2001:db8::1:1194. */
static void client_addr_str(const union sockaddr_any *sa, char *buf, size_t len)
{
	bool v6 = sa->sa.sa_family == AF_INET6;
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(sa->sa.sa_family, v6 ? (const void *)&sa->in6.sin6_addr :
		  (const void *)&sa->in4.sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "[%s]%s:%u", v6 ? "AF_INET6" : "AF_INET", ip,
		 ntohs(v6 ? sa->in6.sin6_port : sa->in4.sin_port));
}

/*
 * The socket to the entry in use, its host resolved again (DNS may have
 * changed; the socket takes the family it resolves to) and bound as the
 * entry says. An entry that gets no socket (no such name, no route) is a
 * failed attempt: the next ones are tried at once, each once.
 */
int client_udp_setup(struct client *c)
{
	const struct options *o = c->rc->opts;
	size_t first = o->conn_cur;
	char addr[INET6_ADDRSTRLEN + 24];

	for (;;) {
		const struct options_conn *ce = client_ce(c);
		uint16_t lport = ce->has_local_port || ce->bind_local ? ce->local_port : 0;

		c->tcp = ce->proto == OPT_PROTO_TCP_CLIENT;
		if (c->tcp)
			c->udp_fd = tcp_open_to(ce->remote, ce->remote_port, ce->af, ce->local,
						lport, ce->server_poll_timeout, &c->remote);
		else
			c->udp_fd = udp_open_to(ce->remote, ce->remote_port, ce->af, ce->local,
						lport, &c->remote);
		if (c->udp_fd >= 0)
			break;
		if (c->udp_fd == -EINTR)
			return c->udp_fd;
		client_conn_advance(c);
		if (o->conn_cur == first)
			return c->udp_fd;
	}
	client_addr_str(&c->remote, addr, sizeof(addr));
	log_info("Attempting to establish connection with %s (connection %zu of %zu: remote %s %u)",
		 addr, o->conn_cur + 1, o->conns.n, client_ce(c)->remote,
		 client_ce(c)->remote_port);
	return c->udp_fd;
}

/*
 * A reconnect comes from a fresh UDP port, as stock's does: a stock server
 * keeps the old address/port's instance until it times out and ignores a
 * new handshake from it meanwhile. The data threads stop while the socket
 * changes under them (the socket is registered with their rings); the old
 * peer goes with its keys, and packets sealed with them are dropped. The TUN
 * device, its addresses and routes stay (client_apply decides after the
 * push). The address is resolved again, as stock does.
 */
int client_udp_renew(struct client *c)
{
	union sockaddr_any local;
	socklen_t llen = sizeof(local);
	int err;

	pipeline_stop(c->pl);
	if (c->peer_added) {
		pipeline_peer_del(c->pl, 0);
		c->peer_added = false;
	}
	if (c->udp_fd >= 0)
		close(c->udp_fd);
	c->udp_fd = -1;
	if (client_udp_setup(c) < 0)
		return -EAGAIN;	/* the data plane stays stopped until the next attempt */
	err = pipeline_link_set_fd(c->pl, 0, c->udp_fd);
	err = err ?: pipeline_start(c->pl);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot restart the data plane on the new socket");
		return err;
	}
	if (!getsockname(c->udp_fd, &local.sa, &llen))
		log_info("%s: reconnecting from local port %u", c->tcp ? "tcp" : "udp",
			 ntohs(local.sa.sa_family == AF_INET6 ? local.in6.sin6_port :
			       local.in4.sin_port));
	return 0;
}

