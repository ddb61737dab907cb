/*
 * mgmt.c - owns the management interface's sockets and connections
 * (ctrl/mgmt.h): the listening socket (TCP, or a Unix socket whose file it
 * removes on exit), accepting up to MGMT_CONNS_MAX clients, the password
 * prompt, line framing, every connection's bounded output queue, the
 * state, log and echo histories, the real-time notifications fed by
 * state_subscribe() and the log sink, and the hold and password queries a
 * mode makes. The commands themselves are in mgmt_cmd.c.
 *
 * Thread: ctrl only. Every fd is non-blocking and in ctrl's epoll set
 * (level-triggered, data.fd = the fd). A connection's read takes at most
 * what fits its line buffer, so one wakeup's work is bounded; its output
 * goes out when epoll says the socket is writable. While more than
 * MGMT_OUT_PAUSE bytes wait, the connection is not read (a client that
 * never reads cannot make ctrl queue without bound); past MGMT_OUT_MAX (a
 * client that stopped reading while notifications pile up) it is dropped.
 *
 * Lifetime: a connection is freed only from mgmt_on_event or mgmt_free,
 * never while a command or notification loop walks the table (closing
 * marks it; the next event or flush frees it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../core/log.h"
#include "config/config.h"
#include "config/options.h"
#include "mgmt_int.h"
#include "mode.h"
#include "state.h"
#include "status.h"

/* ---- histories --------------------------------------------------------- */

static int hist_init(struct mgmt_hist *h, size_t cap)
{
	h->line = calloc(cap, sizeof(*h->line));
	h->cap = h->line ? cap : 0;
	h->head = h->n = 0;
	return h->line ? 0 : -ENOMEM;
}

static void hist_free(struct mgmt_hist *h)
{
	for (size_t i = 0; i < h->cap; i++)
		free(h->line[i]);
	free(h->line);
	h->line = NULL;
	h->cap = h->n = 0;
}

void mgmt_hist_add(struct mgmt_hist *h, const char *line)
{
	char *copy;
	size_t slot;

	if (!h->cap || !(copy = strdup(line)))
		return;
	if (h->n == h->cap) {
		free(h->line[h->head]);
		h->line[h->head] = copy;
		h->head = (h->head + 1) % h->cap;
		return;
	}
	slot = (h->head + h->n) % h->cap;
	h->line[slot] = copy;
	h->n++;
}

const char *mgmt_hist_get(const struct mgmt_hist *h, size_t i)
{
	return i < h->n ? h->line[(h->head + i) % h->cap] : "";
}

/* ---- connections ------------------------------------------------------- */

/*
 * EPOLLIN unless paused (too much output queued) or closing; EPOLLOUT while
 * output waits, and always once closing, so the flush that frees it runs.
 */
static void conn_events(struct mgmt *m, struct mgmt_conn *c)
{
	size_t queued = c->out_len - c->out_off;
	struct epoll_event ev = { .data.fd = c->fd };

	ev.events = (c->closing || queued > MGMT_OUT_PAUSE ? 0 : EPOLLIN) |
		    (c->closing || queued ? EPOLLOUT : 0);
	if (ev.events == c->ev_mask)
		return;
	c->ev_mask = ev.events;
	(void)epoll_ctl(m->ep_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

void mgmt_conn_write(struct mgmt *m, struct mgmt_conn *c, const char *buf, size_t len)
{
	size_t queued = c->out_len - c->out_off;

	if (c->closing)
		return;
	if (queued + len > MGMT_OUT_MAX) {
		/* It stopped reading: drop it rather than queue without bound. */
		c->closing = true;
		c->out_off = c->out_len = 0;
		conn_events(m, c);
		return;
	}
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *n;

		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, queued);
			c->out_len = queued;
			c->out_off = 0;
		}
		while (cap < c->out_len + len)
			cap *= 2;
		if (cap != c->out_cap) {
			n = realloc(c->out, cap);
			if (!n) {
				c->closing = true;
				conn_events(m, c);
				return;
			}
			c->out = n;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	conn_events(m, c);
}

static void conn_vprintf(struct mgmt *m, struct mgmt_conn *c, const char *pre, const char *fmt,
			 va_list ap)
{
	char line[2048];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s", pre);
	int k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);

	if (k < 0)
		return;
	n += (size_t)k;
	if (n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	mgmt_conn_write(m, c, line, n);
}

void mgmt_conn_printf(struct mgmt *m, struct mgmt_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vprintf(m, c, "", fmt, ap);
	va_end(ap);
}

void mgmt_reply(const struct mgmt_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vprintf(r->m, r->conn, "", fmt, ap);
	va_end(ap);
}

void mgmt_conn_welcome(struct mgmt *m, struct mgmt_conn *c)
{
	mgmt_conn_printf(m, c, ">INFO:OpenVPN Management Interface Version %d -- type 'help' "
			 "for more info", MGMT_VERSION);
	/* Stock's special_state_msg: a newcomer learns what the daemon waits for. */
	if (m->holding)
		mgmt_conn_printf(m, c, ">HOLD:Waiting for hold release:%u", m->hold_wait_s);
	if (m->pw_asked)
		mgmt_conn_printf(m, c, ">PASSWORD:Need '%s' username/password", m->up_type);
}

static void conn_free(struct mgmt *m, int i)
{
	struct mgmt_conn *c = m->conns[i];

	m->conns[i] = NULL;
	(void)epoll_ctl(m->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c->block_cmd);
	free(c->block);
	OPENSSL_cleanse(c->in, sizeof(c->in));
	free(c);
	log_info("MANAGEMENT: Client disconnected");
}

/* Writes what is queued; false once the connection is gone. */
static bool conn_flush(struct mgmt *m, int i)
{
	struct mgmt_conn *c = m->conns[i];

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		conn_free(m, i);
		return false;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->closing) {
			conn_free(m, i);
			return false;
		}
	}
	conn_events(m, c);
	return true;
}

/* The password line: stock compares in constant time and allows three tries. */
static void conn_password(struct mgmt *m, struct mgmt_conn *c, const char *line)
{
	size_t n = strlen(line) + 1;

	if (n <= sizeof(m->pw) && !CRYPTO_memcmp(line, m->pw, n)) {
		c->authed = true;
		mgmt_conn_printf(m, c, "SUCCESS: password is correct");
		mgmt_conn_welcome(m, c);
		return;
	}
	mgmt_conn_printf(m, c, "ERROR: bad password");
	if (++c->pw_tries >= 3) {
		log_warnx("MAN: client connection rejected after %d failed password attempts", 3);
		c->closing = true;
		conn_events(m, c);
		return;
	}
	mgmt_conn_write(m, c, "ENTER PASSWORD:", 15);
}

/* Complete lines of @c's input buffer to the commands; the rest stays. */
static void conn_lines(struct mgmt *m, struct mgmt_conn *c)
{
	size_t start = 0;

	for (size_t i = 0; i < c->in_len && !c->closing; i++) {
		if (c->in[i] != '\n')
			continue;
		/* Too much unread output: the rest waits until the client reads. */
		if (c->out_len - c->out_off > MGMT_OUT_PAUSE)
			break;
		c->in[i] = '\0';
		if (i > start && c->in[i - 1] == '\r')
			c->in[i - 1] = '\0';
		if (c->in_skip)
			c->in_skip = false;
		else if (memchr(c->in + start, '\0', i - start) && c->authed)
			mgmt_conn_printf(m, c, "ERROR: NUL byte in the command");
		else if (!c->authed)
			conn_password(m, c, c->in + start);
		else
			mgmt_cmd_line(m, c, c->in + start);
		start = i + 1;
	}
	if (c->closing) {
		c->in_len = 0;
		return;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == sizeof(c->in) && !memchr(c->in, '\n', c->in_len)) {
		/* No newline in a whole buffer: refuse the line, skip to its end. */
		if (!c->in_skip)
			mgmt_conn_printf(m, c, "ERROR: command too long (at most %d bytes)",
					 MGMT_LINE_MAX - 1);
		c->in_skip = true;
		c->in_len = 0;
	}
}

static void conn_read(struct mgmt *m, int i)
{
	struct mgmt_conn *c = m->conns[i];
	ssize_t n;

	if (c->in_len == sizeof(c->in)) {
		conn_lines(m, c);	/* full of lines held back: no room to read yet */
		return;
	}
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_free(m, i);
		return;
	}
	if (n < 0)
		return;
	c->in_len += (size_t)n;
	conn_lines(m, c);
}

int mgmt_conn_adopt(struct mgmt *m, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	struct mgmt_conn *c;
	int i;

	for (i = 0; i < MGMT_CONNS_MAX && m->conns[i]; i++)
		;
	c = i < MGMT_CONNS_MAX ? calloc(1, sizeof(*c)) : NULL;
	if (!c || epoll_ctl(m->ep_fd, EPOLL_CTL_ADD, fd, &ev)) {
		free(c);
		return c ? -errno : -ENOSPC;
	}
	c->fd = fd;
	c->ev_mask = EPOLLIN;
	c->authed = !m->has_pw;
	m->conns[i] = c;
	log_info("MANAGEMENT: Client connected from %s", m->where);
	if (c->authed)
		mgmt_conn_welcome(m, c);
	else
		mgmt_conn_write(m, c, "ENTER PASSWORD:", 15);
	return 0;
}

static void conn_accept(struct mgmt *m)
{
	static const char busy[] = "ERROR: too many management connections\r\n";
	int fd;

	for (int k = 0; k < MGMT_CONNS_MAX; k++) {
		fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (mgmt_conn_adopt(m, fd)) {
			(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
		}
	}
}

bool mgmt_on_event(struct mgmt *m, int fd, uint32_t events)
{
	if (!m)
		return false;
	if (fd == m->lfd) {
		conn_accept(m);
		return true;
	}
	for (int i = 0; i < MGMT_CONNS_MAX; i++) {
		struct mgmt_conn *c = m->conns[i];

		if (!c || c->fd != fd)
			continue;
		if ((events & EPOLLOUT) && !conn_flush(m, i))
			return true;
		/* Lines held back while the output was paused. */
		if ((events & EPOLLOUT) && c->in_len && c->out_len - c->out_off <= MGMT_OUT_PAUSE)
			conn_lines(m, c);
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(m, i);
		if (m->conns[i] && m->conns[i]->closing)
			(void)conn_flush(m, i);
		return true;
	}
	return false;
}

/* ---- notifications ----------------------------------------------------- */

enum notify_kind { NOTIFY_ALL, NOTIFY_STATE, NOTIFY_LOG, NOTIFY_ECHO };

/* ">@type:@text\r\n" (@type NULL: @text is the whole line) to the connections that want it. */
static void notify_line(struct mgmt *m, enum notify_kind kind, const char *type,
			const char *text)
{
	for (int i = 0; i < MGMT_CONNS_MAX; i++) {
		struct mgmt_conn *c = m->conns[i];

		if (!c || !c->authed || c->closing)
			continue;
		if ((kind == NOTIFY_STATE && !c->rt_state) || (kind == NOTIFY_LOG && !c->rt_log) ||
		    (kind == NOTIFY_ECHO && !c->rt_echo))
			continue;
		mgmt_conn_write(m, c, ">", 1);
		if (type) {
			mgmt_conn_write(m, c, type, strlen(type));
			mgmt_conn_write(m, c, ":", 1);
		}
		mgmt_conn_write(m, c, text, strlen(text));
		mgmt_conn_write(m, c, "\r\n", 2);
	}
}

void mgmt_notify(struct mgmt *m, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!m)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	notify_line(m, NOTIFY_ALL, NULL, line);
}

/* A history entry, and the real-time line ">@type:@entry" to those who asked for it. */
static void notify_hist(struct mgmt *m, struct mgmt_hist *h, enum notify_kind kind,
			const char *type, const char *entry)
{
	mgmt_hist_add(h, entry);
	notify_line(m, kind, type, entry);
}

/*
 * Stock's words for a change: CONNECTED says SUCCESS, a signal its name;
 * the steps of a connection attempt carry none (sluice keeps its own
 * reasons in the status file and `sluice status`).
 */
static const char *state_reason(const struct mgmt *m, const struct conn_info *ci)
{
	const char *r = ci->reason ? ci->reason : "";
	const struct options *o = m->o;

	switch (ci->state) {
	case CONN_CONNECTED:
		return "SUCCESS";
	case CONN_CONNECTING:
	case CONN_RESOLVE:
	case CONN_WAIT:
	case CONN_AUTH:
	case CONN_GET_CONFIG:
	case CONN_ASSIGN_IP:
	case CONN_ADD_ROUTES:
		return "";
	default:
		break;
	}
	if (!strcmp(r, CONN_WHY_SIGUSR1))
		return "SIGUSR1";
	if (!strcmp(r, CONN_WHY_SIGHUP))
		return "SIGHUP";
	/* A client that tells its server (explicit-exit-notify): stock's words for it. */
	if (!strcmp(r, CONN_WHY_SIGNAL) && o->pull && o->conns.n &&
	    o->conns.v[o->conn_cur < o->conns.n ? o->conn_cur : 0].explicit_exit_notify)
		return "exit-with-notification";
	if (!strcmp(r, CONN_WHY_SIGNAL))
		return "SIGTERM";
	return r;
}

/* state_subscribe: stock's nine fields, into the history and to `state on` clients. */
static void mgmt_on_state(void *arg, const struct conn_info *ci)
{
	struct mgmt *m = arg;
	bool addr = ci->state == CONN_ASSIGN_IP || ci->state == CONN_CONNECTED;
	bool up = ci->state == CONN_CONNECTED;
	char port[12] = "", lport[12] = "", entry[512];

	if (up && ci->remote_port)
		snprintf(port, sizeof(port), "%u", ci->remote_port);
	if (up && ci->local_port)
		snprintf(lport, sizeof(lport), "%u", ci->local_port);
	/* The tunnel's IPv6 address is a ninth field only when there is one (as stock). */
	snprintf(entry, sizeof(entry), "%lld,%s,%s,%s,%s,%s,%s,%s%s%s", (long long)ci->since,
		 conn_state_name(ci->state), state_reason(m, ci), addr ? ci->local4 : "",
		 up ? ci->remote_ip : "", port, up ? ci->local_ip : "", lport,
		 addr && ci->local6[0] ? "," : "", addr ? ci->local6 : "");
	notify_hist(m, &m->state, NOTIFY_STATE, "STATE", entry);
	if (ci->reason && !strcmp(ci->reason, CONN_WHY_AUTH_FAILURE) &&
	    (ci->state == CONN_EXITING || ci->state == CONN_RECONNECTING)) {
		/* The credentials given were refused: ask again next time. */
		mgmt_notify(m, "PASSWORD:Verification Failed: '%s'",
			    m->up_type[0] ? m->up_type : "Auth");
		m->have_user = m->have_pass = false;
		OPENSSL_cleanse(m->pass, sizeof(m->pass));
	}
}

/* The log sink: stock's flags I(nfo), W(arning), D(ebug), F(atal). */
static void mgmt_on_log(void *arg, int pri, const char *msg)
{
	struct mgmt *m = arg;
	char entry[1100];
	const char *flag = pri <= LOG_CRIT ? "F" : pri <= LOG_WARNING ? "W" :
			   pri >= LOG_DEBUG ? "D" : "I";

	snprintf(entry, sizeof(entry), "%lld,%s,%s", (long long)time(NULL), flag, msg);
	notify_hist(m, &m->log, NOTIFY_LOG, "LOG", entry);
}

/* Pushed (or configured) `echo` texts, as they appear in the options. */
static void echo_poll(struct mgmt *m)
{
	char entry[1100];

	if (m->o->echo.n < m->echo_seen)
		m->echo_seen = 0;	/* a reconnect forgot the pushed ones */
	for (; m->echo_seen < m->o->echo.n; m->echo_seen++) {
		snprintf(entry, sizeof(entry), "%lld,%s", (long long)time(NULL),
			 m->o->echo.v[m->echo_seen]);
		notify_hist(m, &m->echo, NOTIFY_ECHO, "ECHO", entry);
	}
}

void mgmt_tick(struct mgmt *m, int64_t now_ns)
{
	if (!m)
		return;
	echo_poll(m);
	for (int i = 0; i < MGMT_CONNS_MAX; i++) {
		struct mgmt_conn *c = m->conns[i];

		if (!c || !c->bytecount_s || !c->authed || now_ns < c->bytecount_next_ns)
			continue;
		c->bytecount_next_ns = now_ns + (int64_t)c->bytecount_s * 1000000000LL;
		mgmt_bytecount_send(m, c);
	}
}

/* ---- what the modes ask ------------------------------------------------ */

bool mgmt_hold(struct mgmt *m, unsigned int wait_s)
{
	if (!m)
		return false;
	if (m->released) {
		m->released = false;
		m->holding = false;
		return false;
	}
	if (!m->hold_flag && !m->holding)
		return false;
	if (!m->holding) {
		m->holding = true;
		m->hold_wait_s = wait_s;
		log_info("MANAGEMENT: waiting for hold release");
		mgmt_notify(m, "HOLD:Waiting for hold release:%u", wait_s);
	}
	return true;
}

int mgmt_user_pass(struct mgmt *m, const char *type, char *user, size_t ulen, char *pass,
		   size_t plen)
{
	if (!m || !m->query_pw)
		return -ENOENT;
	if (m->have_user && m->have_pass) {
		snprintf(user, ulen, "%s", m->user);
		snprintf(pass, plen, "%s", m->pass);
		return 0;
	}
	if (!m->pw_asked) {
		m->pw_asked = true;
		snprintf(m->up_type, sizeof(m->up_type), "%s", type);
		mgmt_notify(m, "PASSWORD:Need '%s' username/password", type);
	}
	return -EAGAIN;
}

bool mgmt_client_auth(const struct mgmt *m)
{
	return m && m->client_auth;
}

/* ---- setup ------------------------------------------------------------- */

/* The first line of `management ... PW-FILE`, as stock reads it. */
static int read_password(struct mgmt *m, const char *path)
{
	char *buf;
	size_t len;
	char err[256];

	if (!strcmp(path, "stdin")) {
		log_warnx("management: a password from stdin is not supported; give a file");
		return -ENOTSUP;
	}
	if (config_file_load(path, &buf, &len, err, sizeof(err))) {
		log_warnx("management: cannot read the password file %s: %s", path, err);
		return -EIO;
	}
	snprintf(m->pw, sizeof(m->pw), "%.*s", (int)strcspn(buf, "\r\n"), buf);
	config_file_unload(buf, len);
	m->has_pw = true;
	return 0;
}

static int listen_unix(struct mgmt *m, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("management: socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path));
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0)
		return -errno;
	(void)unlink(path);	/* a stale socket of an earlier run */
	if (bind(m->lfd, (struct sockaddr *)&sun, sizeof(sun)) || listen(m->lfd, 8)) {
		log_warn("management: cannot listen on unix socket %s", path);
		return -errno;
	}
	m->unix_path = strdup(path);
	snprintf(m->where, sizeof(m->where), "%s", path);
	log_info("MANAGEMENT: unix domain socket listening on %s", path);
	return 0;
}

static int listen_tcp(struct mgmt *m, const char *addr, uint16_t port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
				  AI_NUMERICSERV };
	struct addrinfo *res;
	char ps[8], a[INET6_ADDRSTRLEN] = "?";
	int one = 1, rc;

	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(addr, ps, &hints, &res);
	if (rc) {
		log_warnx("management: cannot resolve '%s': %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	m->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	rc = m->lfd < 0 ? -errno : 0;
	if (!rc)
		(void)setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!rc && (bind(m->lfd, res->ai_addr, res->ai_addrlen) || listen(m->lfd, 8)))
		rc = -errno;
	if (res->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, a, sizeof(a));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, a, sizeof(a));
	snprintf(m->where, sizeof(m->where), "[AF_INET%s]%s:%u",
		 res->ai_family == AF_INET6 ? "6" : "", a, port);
	freeaddrinfo(res);
	if (rc) {
		errno = -rc;
		log_warn("management: cannot listen on %s:%u", addr, port);
		return rc;
	}
	log_info("MANAGEMENT: TCP Socket listening on %s", m->where);
	return 0;
}

int mgmt_create(struct mgmt **out, const struct options *o, const struct mgmt_host *host,
		int ep_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct mgmt *m;
	int rc;

	*out = NULL;
	if (!o->management_addr)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ep_fd = ep_fd;
	m->lfd = -1;
	m->host = *host;
	m->o = o;
	m->hold_flag = o->management_hold;
	m->query_pw = o->management_query_passwords;
	m->client_auth = o->management_client_auth;
	rc = hist_init(&m->state, MGMT_HIST_MAX);
	rc = rc ?: hist_init(&m->echo, MGMT_HIST_MAX);
	rc = rc ?: hist_init(&m->log, o->management_log_cache ?: MGMT_LOG_CACHE_DEFAULT);
	if (!rc && o->management_pw_file)
		rc = read_password(m, o->management_pw_file);
	if (!rc)
		rc = o->management_unix ? listen_unix(m, o->management_addr) :
		     listen_tcp(m, o->management_addr, o->management_port);
	ev.data.fd = m->lfd;
	if (!rc && epoll_ctl(ep_fd, EPOLL_CTL_ADD, m->lfd, &ev))
		rc = -errno;
	if (!rc)
		rc = state_subscribe(mgmt_on_state, m);
	if (rc) {
		mgmt_free(m);
		return rc;
	}
	log_set_sink(mgmt_on_log, m);
	*out = m;
	return 0;
}

void mgmt_free(struct mgmt *m)
{
	if (!m)
		return;
	log_set_sink(NULL, NULL);
	state_unsubscribe(mgmt_on_state, m);
	for (int i = 0; i < MGMT_CONNS_MAX; i++) {
		if (!m->conns[i])
			continue;
		/* What is queued may still go out (a last notification), without waiting. */
		m->conns[i]->closing = true;
		(void)conn_flush(m, i);
		if (m->conns[i])
			conn_free(m, i);
	}
	if (m->lfd >= 0) {
		(void)epoll_ctl(m->ep_fd, EPOLL_CTL_DEL, m->lfd, NULL);
		close(m->lfd);
	}
	if (m->unix_path)
		(void)unlink(m->unix_path);
	free(m->unix_path);
	hist_free(&m->state);
	hist_free(&m->log);
	hist_free(&m->echo);
	OPENSSL_cleanse(m->pw, sizeof(m->pw));
	OPENSSL_cleanse(m->pass, sizeof(m->pass));
	free(m);
}
