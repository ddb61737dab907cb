/*
 * mgmt_int.h - what ctrl/mgmt.c (sockets, connections, buffers, histories,
 * hooks) and ctrl/mgmt_cmd.c (the commands) share. Not an API: only those
 * two files include it. ctrl only.
 */
#ifndef SLUICE_MGMT_INT_H
#define SLUICE_MGMT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mgmt.h"

/* A bounded history of real-time lines (state, log, echo), oldest first. */
struct mgmt_hist {
	char **line;			/* cap slots, malloc'd strings */
	size_t cap;
	size_t head;			/* the oldest */
	size_t n;
};

struct mgmt_conn {
	int fd;
	bool authed;			/* the password was given, or none is needed */
	bool closing;			/* exit/quit or an error: close once flushed */
	bool rt_state, rt_log, rt_echo;	/* real-time notifications asked for */
	uint32_t ev_mask;		/* the epoll events registered */
	unsigned int pw_tries;
	unsigned int bytecount_s;	/* `bytecount N`; 0: off */
	int64_t bytecount_next_ns;
	bool in_skip;			/* the rest of an over-long line is dropped */
	size_t in_len;
	char in[MGMT_LINE_MAX];
	/* A multi-line command (client-auth) collects lines up to END here. */
	char *block_cmd;		/* its first line; NULL: none */
	char *block;
	size_t block_len;
	bool block_over;		/* too long: refused at END */
	char *out;			/* queued output from out_off to out_len */
	size_t out_off, out_len, out_cap;
};

struct mgmt {
	int ep_fd;
	int lfd;			/* the listening socket */
	char *unix_path;		/* removed on exit; NULL for TCP */
	char where[160];		/* "unix socket PATH" / "ADDR:PORT" for logs */
	bool has_pw;
	char pw[256];
	struct mgmt_host host;
	const struct options *o;
	struct mgmt_conn *conns[MGMT_CONNS_MAX];
	struct mgmt_hist state, log, echo;
	size_t echo_seen;		/* entries of o->echo already in the history */
	/* Hold (management-hold, `hold on|off|release`). */
	bool hold_flag;
	bool holding;			/* the mode waits for `hold release` */
	bool released;
	unsigned int hold_wait_s;
	/* management-query-passwords. */
	bool query_pw;
	bool pw_asked;
	bool have_user, have_pass;
	char up_type[32];
	char user[256];
	char pass[256];
	bool client_auth;		/* management-client-auth */
};

/* ---- mgmt.c ---- */

/* Queues @len bytes to @c (over MGMT_OUT_MAX the connection is closed). */
void mgmt_conn_write(struct mgmt *m, struct mgmt_conn *c, const char *buf, size_t len);
/* One line to @c; "\r\n" is added. */
void mgmt_conn_printf(struct mgmt *m, struct mgmt_conn *c, const char *fmt, ...) __printf(3, 4);
/* The welcome line (and a pending >HOLD:) once a connection may talk. */
void mgmt_conn_welcome(struct mgmt *m, struct mgmt_conn *c);
/* Appends @line (copied) to @h, dropping the oldest when full. */
void mgmt_hist_add(struct mgmt_hist *h, const char *line);
/* The i-th line, 0 the oldest. */
const char *mgmt_hist_get(const struct mgmt_hist *h, size_t i);
/* Stock's ">BYTECOUNT:" (client) or per-client ">BYTECOUNT_CLI:" (server) to @c now. */
void mgmt_bytecount_send(struct mgmt *m, struct mgmt_conn *c);

/* ---- mgmt_cmd.c ---- */

/* One complete input line of @c (without its newline), logged in or not. */
void mgmt_cmd_line(struct mgmt *m, struct mgmt_conn *c, char *line);

#endif
