/*
 * mgmt.h - OpenVPN's management interface (doc/management-notes.txt of
 * OpenVPN 2.6, management version 5), for both roles: `management IP PORT
 * [PW-FILE]` or `management PATH unix [PW-FILE]`, several clients at once,
 * one command per line, "SUCCESS:"/"ERROR:" replies and ">TYPE:" real-time
 * notifications in stock's exact formats, so existing tools and GUIs work.
 *
 * Two faces:
 *   main.c     mgmt_create (listens; adds its fds to ctrl's epoll set),
 *              mgmt_on_event for every epoll event it does not own,
 *              mgmt_tick once a second, mgmt_free on exit.
 *   the modes  get the interface through mode_ops.mgmt->attach (NULL when
 *              none is configured: every function below accepts NULL), ask
 *              it to hold (management-hold) and for credentials
 *              (management-query-passwords), send notifications (>CLIENT:),
 *              and answer their own commands (mode_ops.mgmt->cmd: a
 *              server's kill, client-kill, client-auth, ...).
 *
 * Never blocking ctrl: every socket is non-blocking; a connection's output
 * is bounded (MGMT_OUT_MAX: over it the connection is dropped, and over
 * MGMT_OUT_PAUSE its input is not read, so a client that only writes cannot
 * make ctrl buffer without bound); input lines are bounded (MGMT_LINE_MAX)
 * and a connection gets at most MGMT_LINES_PER_EVENT commands per wakeup.
 *
 * Thread: ctrl only.
 */
#ifndef SLUICE_MGMT_H
#define SLUICE_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"

struct mgmt;
struct mgmt_conn;
struct mgmt_req;
struct options;
struct status_src;

/* Stock's MANAGEMENT_VERSION: what `version` reports and GUIs check. */
#define MGMT_VERSION		5
#define MGMT_CONNS_MAX		16
/* A command line (stock reads 256-byte lines; long client-auth texts are blocks). */
#define MGMT_LINE_MAX		4096
/* Lines of one multi-line command (client-auth ... END). */
#define MGMT_BLOCK_MAX		(64 * 1024)
#define MGMT_OUT_PAUSE		(256 * 1024)
#define MGMT_OUT_MAX		(4 * 1024 * 1024)
#define MGMT_LINES_PER_EVENT	64
/* Stock's defaults: management-log-cache 250, 100 echo and state entries. */
#define MGMT_LOG_CACHE_DEFAULT	250
#define MGMT_HIST_MAX		100

/* What main.c lends the management interface. */
struct mgmt_host {
	/* The status sources now (mode, its ops, the data plane; pl NULL before start). */
	const struct status_src *(*src)(void *arg);
	/* As if signal @signo arrived (SIGHUP, SIGTERM, SIGUSR1, SIGUSR2). */
	void (*signal)(void *arg, int signo);
	void *arg;
};

/*
 * A mode's part of the interface (mode_ops.mgmt, ctrl/mode.h); every field
 * is optional.
 */
struct mgmt_mode_ops {
	/* The interface main.c built (NULL: none configured); the mode keeps it. */
	void (*attach)(void *m, struct mgmt *mg);
	/*
	 * A command only the mode knows (a server's kill, client-kill,
	 * client-auth, ...). Replies through mgmt_reply; false when @req is not
	 * one of its commands.
	 */
	bool (*cmd)(void *m, const struct mgmt_req *req, int64_t now_ns);
	/* `bytecount` on a server: one ">BYTECOUNT_CLI:" reply line per client. */
	void (*bytecount)(void *m, const struct mgmt_req *req);
	/* `load-stats`: the connected clients (a client: 0). */
	unsigned int (*nclients)(void *m);
};

/* One command being answered. */
struct mgmt_req {
	struct mgmt *m;
	struct mgmt_conn *conn;
	int argc;
	char **argv;			/* argv[0] is the command */
	const char *block;		/* a multi-line command's lines, each ending in '\n'; NULL */
};

/*
 * Listens as @o's `management` says (no directive: *@out NULL, 0) and adds
 * the socket to @ep_fd; connections are added as they come (epoll data.fd
 * is the fd). Reads the password file now. 0, or a negative errno (logged):
 * a socket that cannot be bound is a start-up failure, as in stock.
 */
int mgmt_create(struct mgmt **out, const struct options *o, const struct mgmt_host *host,
		int ep_fd) __must_check;
/*
 * Takes @fd (a connected, non-blocking stream socket) as one more client,
 * as if it had been accepted: the fuzz harness feeds a socketpair this way.
 * 0, -ENOSPC (MGMT_CONNS_MAX clients) or -errno; on failure @fd stays the
 * caller's.
 */
int mgmt_conn_adopt(struct mgmt *m, int fd) __must_check;
/* True if @fd is the interface's (and the event was handled). */
bool mgmt_on_event(struct mgmt *m, int fd, uint32_t events);
/* Once a second: bytecount notifications, pushed echo texts. */
void mgmt_tick(struct mgmt *m, int64_t now_ns);
/* Closes every connection and the socket (a Unix socket's file is removed). */
void mgmt_free(struct mgmt *m);

/* ---- for the modes ---- */

/*
 * management-hold (or `hold on`): true while the mode must wait before it
 * connects (start-up, and every restart), and the first call of each hold
 * tells the clients ">HOLD:Waiting for hold release:@wait_s". After `hold
 * release` it returns false once and the hold is over. ctrl is woken by the
 * command, so the mode asks again from its run op.
 */
bool mgmt_hold(struct mgmt *m, unsigned int wait_s);
/*
 * management-query-passwords: the auth-user-pass credentials of type
 * @type ("Auth"). 0 with @user and @pass filled (once given they are kept
 * for reconnects), -EAGAIN while asked (">PASSWORD:Need 'Auth'
 * username/password" sent) and not answered, -ENOENT when the interface
 * does not query passwords.
 */
int mgmt_user_pass(struct mgmt *m, const char *type, char *user, size_t ulen, char *pass,
		   size_t plen);
/* True if management-client-auth is on: the server asks before admitting a client. */
bool mgmt_client_auth(const struct mgmt *m);
/*
 * One real-time line ">@fmt..." to every connection that logged in. Lines
 * of one notification (a >CLIENT: line and its ENV lines) are never split
 * by others: everything is queued by the one ctrl thread, in order.
 */
void mgmt_notify(struct mgmt *m, const char *fmt, ...) __printf(2, 3);
/* A reply line to the command @r answers ("SUCCESS: ...", "ERROR: ...", a listing line). */
void mgmt_reply(const struct mgmt_req *r, const char *fmt, ...) __printf(2, 3);

#endif
