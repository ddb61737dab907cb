/*
 * server_tcp.c - server mode over TCP (proto tcp-server): the listening
 * socket, and the sessions of connections that closed. One proto per
 * process, as stock: a server listens on UDP or on TCP. The connections
 * themselves live in the data plane's link (io/tcp_server.c), named by
 * their peer's address, so the rest of the server runs as over UDP; a
 * session that ends closes its connection through server_tcp_hangup
 * (server.c, which queues it behind the session's last message).
 *
 * Thread: ctrl only.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>

#include "../../core/addrtab.h"
#include "../../core/log.h"
#include "../../io/io.h"
#include "../../io/pipeline.h"
#include "server_int.h"

/*
 * The listening TCP socket (proto tcp-server): one proto per process, as
 * stock. Returns the fd or -errno.
 */
int server_tcp_open(const char *local, uint16_t port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE,
				  .ai_family = local ? AF_UNSPEC : AF_INET };
	struct addrinfo *res;
	char portstr[8];
	const char *af;
	int fd;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if (getaddrinfo(local, portstr, &hints, &res)) {
		log_warnx("tcp: cannot resolve local '%s'", local ? local : "*");
		return -EHOSTUNREACH;
	}
	fd = tcp_listen_open((const union sockaddr_any *)res->ai_addr, res->ai_addrlen);
	af = res->ai_family == AF_INET6 ? "6" : "4";
	freeaddrinfo(res);
	if (fd < 0) {
		errno = -fd;
		log_warn("tcp: cannot listen on %s:%u", local ? local : "*", port);
		return fd;
	}
	log_info("TCPv%s_SERVER link local (bound): [AF_INET%s]%s:%u", af, *af == '6' ? "6" : "",
		 local ? local : "[undef]", port);
	log_info("Listening for incoming TCP connection on [AF_INET%s]%s:%u",
		 *af == '6' ? "6" : "", local ? local : "[undef]", port);
	return fd;
}

/* Over TCP: a client whose connection closed is gone, as stock ends its instance. */
void server_tcp_closed(struct server *s)
{
	union sockaddr_any sa;
	socklen_t len;

	while (s->pl && pipeline_link_closed(s->pl, &sa, &len)) {
		uint32_t id = addrtab_lookup(s->addrs, &sa);

		if (id == ADDRTAB_NONE || id >= s->max || !s->cl[id].used)
			continue;
		s->st.tcp_closed++;
		s->keep_conn = true;	/* already closed */
		server_client_reap(s, &s->cl[id], "Connection reset, restarting [0]");
		s->keep_conn = false;
	}
}
