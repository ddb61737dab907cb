/*
 * mgmt_cmd.c - owns the management interface's commands (ctrl/mgmt.h):
 * splitting a line the way the config parser splits one (as stock does),
 * collecting a multi-line command (client-auth ... END), and answering
 * help, version, pid, state, status, bytecount, log, echo, hold, signal,
 * username, password, forget-passwords, verb, mute, net, load-stats,
 * exit and quit with stock's words (OpenVPN 2.6 manage.c); the server's
 * own commands (kill, client-kill, client-auth, client-auth-nt,
 * client-deny, client-pending-auth) go to the mode (mode_ops.mgmt->cmd).
 * sluice adds one: `sluice-status`, the key=value status `sluice status`
 * reads.
 *
 * Thread: ctrl only. A line is at most MGMT_LINE_MAX bytes (mgmt.c cuts
 * it); words, quotes and escapes are bounded by the config reader.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../core/log.h"
#include "config/config.h"
#include "mgmt_int.h"
#include "mode.h"
#include "status.h"

#define SLUICE_TITLE	"sluice (OpenVPN 2.6 compatible)"

/* The server's commands, answered by the mode ("not supported" elsewhere). */
static const char *const mode_cmds[] = {
	"kill", "client-kill", "client-auth", "client-auth-nt", "client-deny",
	"client-pending-auth", NULL,
};

static const char *const help_lines[] = {
	"bytecount n            : Show bytes in/out, update every n secs (0=off).",
	"echo [on|off] [N|all]  : Like log, but only show messages in echo buffer.",
	"exit|quit              : Close management session.",
	"forget-passwords       : Forget passwords entered so far.",
	"help                   : Print this message.",
	"hold [on|off|release]  : Set/show hold flag to on/off state, or",
	"                         release current hold and start tunnel.",
	"kill cn                : Kill the client instance(s) having common name cn.",
	"kill IP:port           : Kill the client instance connecting from IP:port.",
	"load-stats             : Show global server load stats.",
	"log [on|off] [N|all]   : Turn on/off realtime log display",
	"                         + show last N lines or 'all' for entire history.",
	"mute [n]               : Set log mute level to n, or show level if n is absent.",
	"net                    : (Windows only) Show network info and routing table.",
	"password type p        : Enter password p for a queried OpenVPN password.",
	"pid                    : Show process ID of the current OpenVPN process.",
	"client-auth CID KID    : Authenticate client-id/key-id CID/KID (MULTILINE)",
	"client-auth-nt CID KID : Authenticate client-id/key-id CID/KID",
	"client-deny CID KID R [CR] : Deny auth client-id/key-id CID/KID with log reason",
	"                             text R and optional client reason text CR",
	"client-pending-auth CID KID MSG timeout : Send AUTH_PENDING and INFO_PRE msg",
	"                                      to the client and wait for client-auth/client-deny",
	"client-kill CID [M]    : Kill client instance CID with message M (def=RESTART)",
	"signal s               : Send signal s to daemon,",
	"                         s = SIGHUP|SIGTERM|SIGUSR1|SIGUSR2.",
	"state [on|off] [N|all] : Like log, but show state history.",
	"status [n]             : Show current daemon status info using format #n.",
	"sluice-status          : (sluice) key=value status, as `sluice status` reads it.",
	"username type u        : Enter username u for a queried OpenVPN username.",
	"verb [n]               : Set log verbosity level to n, or show if n is absent.",
	"version [n]            : Set client's version to n or show current version of daemon.",
};

static const struct status_src *src_of(struct mgmt *m)
{
	return m->host.src(m->host.arg);
}

/* Stock's man_need: "ERROR: the 'X' command requires [at least ]N parameter[s]". */
static bool need(const struct mgmt_req *r, int n, bool at_least)
{
	int have = r->argc - 1;

	if (have == n || (at_least && have >= n))
		return true;
	mgmt_reply(r, "ERROR: the '%s' command requires %s%d parameter%s", r->argv[0],
		   at_least ? "at least " : "", n, n > 1 ? "s" : "");
	return false;
}

/* A decimal number in 0..INT_MAX, as a strict atoi (bad input: -1). */
static long num(const char *s)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	v = strtol(s, &end, 10);
	return *end || v > 0x7fffffff ? -1 : v;
}

/*
 * state/log/echo: "on", "off", "all" or N (stock's man_history); the last
 * N entries, oldest first, then END.
 */
static void history(const struct mgmt_req *r, const char *parm, const char *type,
		    const struct mgmt_hist *h, bool *rt)
{
	long n = 0;

	if (!strcmp(parm, "on")) {
		*rt = true;
		mgmt_reply(r, "SUCCESS: real-time %s notification set to ON", type);
	} else if (!strcmp(parm, "off")) {
		*rt = false;
		mgmt_reply(r, "SUCCESS: real-time %s notification set to OFF", type);
	} else if (!strcmp(parm, "all") || (n = num(parm)) > 0) {
		size_t k = n > 0 && (size_t)n < h->n ? (size_t)n : h->n;

		for (size_t i = h->n - k; i < h->n; i++)
			mgmt_reply(r, "%s", mgmt_hist_get(h, i));
		mgmt_reply(r, "END");
	} else {
		mgmt_reply(r, "ERROR: %s parameter must be 'on' or 'off' or some number n or "
			   "'all'", type);
	}
}

/* Writes @fn's output into the connection, line by line ("\r\n" endings). */
static void reply_stream(const struct mgmt_req *r, void (*fn)(const struct mgmt_req *r, FILE *f,
							     const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		mgmt_reply(r, "ERROR: out of memory");
		return;
	}
	fn(r, f, arg);
	fclose(f);
	for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		mgmt_reply(r, "%s", line);
	}
	free(buf);
}

static void status_body(const struct mgmt_req *r, FILE *f, const void *arg)
{
	const struct status_src *src = src_of(r->m);
	long version = *(const long *)arg;

	if (src->ops->has_ovpn_status)
		status_write(src, version == 3 ? STATUS_FMT_OVPN_V3 : version == 2 ?
			     STATUS_FMT_OVPN_V2 : STATUS_FMT_OVPN_V1, f);
	else
		status_write(src, STATUS_FMT_OVPN_STATS, f);
}

static void kv_body(const struct mgmt_req *r, FILE *f, const void *arg)
{
	(void)arg;
	status_write(src_of(r->m), STATUS_FMT_KV, f);
	fprintf(f, "END\n");
}

void mgmt_bytecount_send(struct mgmt *m, struct mgmt_conn *c)
{
	const struct status_src *src = src_of(m);
	struct mgmt_req r = { .m = m, .conn = c };
	struct status_counters sc;
	uint64_t rx, tx;

	if (src->ops->mgmt && src->ops->mgmt->bytecount) {
		src->ops->mgmt->bytecount(src->mode, &r);
		return;
	}
	if (status_counters_read(src, &sc))
		return;
	status_link_bytes(&sc, &rx, &tx);
	mgmt_conn_printf(m, c, ">BYTECOUNT:%llu,%llu", (unsigned long long)rx,
			 (unsigned long long)tx);
	status_counters_free(&sc);
}

static void cmd_load_stats(const struct mgmt_req *r)
{
	const struct status_src *src = src_of(r->m);
	unsigned int n = src->ops->mgmt && src->ops->mgmt->nclients ?
			 src->ops->mgmt->nclients(src->mode) : 0;
	struct status_counters sc;
	uint64_t rx = 0, tx = 0;

	if (!status_counters_read(src, &sc))
		status_link_bytes(&sc, &rx, &tx);
	mgmt_reply(r, "SUCCESS: nclients=%u,bytesin=%llu,bytesout=%llu", n,
		   (unsigned long long)rx, (unsigned long long)tx);
	status_counters_free(&sc);
}

static void cmd_signal(const struct mgmt_req *r)
{
	static const struct { const char *name; int signo; } sigs[] = {
		{ "SIGHUP", SIGHUP }, { "SIGINT", SIGINT }, { "SIGUSR1", SIGUSR1 },
		{ "SIGUSR2", SIGUSR2 }, { "SIGTERM", SIGTERM },
	};

	if (!need(r, 1, false))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (strcmp(r->argv[1], sigs[i].name))
			continue;
		/* The reply first: a SIGTERM may end the process before the next write. */
		mgmt_reply(r, "SUCCESS: signal %s thrown", sigs[i].name);
		r->m->host.signal(r->m->host.arg, sigs[i].signo);
		return;
	}
	mgmt_reply(r, "ERROR: signal '%s' is not a known signal type", r->argv[1]);
}

static void cmd_hold(const struct mgmt_req *r)
{
	struct mgmt *m = r->m;
	const char *p = r->argc > 1 ? r->argv[1] : NULL;

	if (!p) {
		mgmt_reply(r, "SUCCESS: hold=%d", m->hold_flag);
	} else if (!strcmp(p, "on")) {
		m->hold_flag = true;
		mgmt_reply(r, "SUCCESS: hold flag set to ON");
	} else if (!strcmp(p, "off")) {
		m->hold_flag = false;
		mgmt_reply(r, "SUCCESS: hold flag set to OFF");
	} else if (!strcmp(p, "release")) {
		if (m->holding) {
			m->released = true;
			log_info("MANAGEMENT: hold release");
		}
		mgmt_reply(r, "SUCCESS: hold release succeeded");
	} else {
		mgmt_reply(r, "ERROR: bad hold command parameter");
	}
}

/* username/password TYPE VALUE for a pending >PASSWORD:Need query. */
static void cmd_credential(const struct mgmt_req *r, bool is_user)
{
	struct mgmt *m = r->m;
	const char *what = is_user ? "username" : "password";

	if (!need(r, 2, false))
		return;
	if (!m->pw_asked) {
		mgmt_reply(r, "ERROR: no %s is currently needed at this time", what);
		return;
	}
	if (strcmp(r->argv[1], m->up_type)) {
		mgmt_reply(r, "ERROR: %s of type '%s' entered, but we need one of type '%s'", what,
			   r->argv[1], m->up_type);
		return;
	}
	if (is_user) {
		snprintf(m->user, sizeof(m->user), "%s", r->argv[2]);
		m->have_user = true;
	} else {
		snprintf(m->pass, sizeof(m->pass), "%s", r->argv[2]);
		m->have_pass = true;
	}
	OPENSSL_cleanse(r->argv[2], strlen(r->argv[2]));
	if (m->have_user && m->have_pass)
		m->pw_asked = false;
	mgmt_reply(r, "SUCCESS: '%s' %s entered, but not yet verified", m->up_type, what);
}

static void cmd_level(const struct mgmt_req *r, bool is_verb)
{
	long v;

	if (r->argc < 2) {
		if (is_verb)
			mgmt_reply(r, "SUCCESS: verb=%d", log_get_verbosity());
		else
			mgmt_reply(r, "SUCCESS: mute=%d", log_get_mute());
		return;
	}
	v = num(r->argv[1]);
	if (v < 0 || (is_verb && v > 15)) {
		mgmt_reply(r, "ERROR: %s level is out of range", is_verb ? "verb" : "mute");
		return;
	}
	if (is_verb)
		log_set_verbosity((int)v);
	else
		log_set_mute((int)v);
	mgmt_reply(r, "SUCCESS: %s level changed", is_verb ? "verb" : "mute");
}

/* A server's command: to the mode, or stock's "not supported" in other modes. */
static void cmd_mode(const struct mgmt_req *r)
{
	const struct status_src *src = src_of(r->m);
	const struct mgmt_mode_ops *mo = src->ops->mgmt;

	if (!mo || !mo->cmd || !mo->cmd(src->mode, r, 0))
		mgmt_reply(r, "ERROR: The '%s' command is not supported by the current daemon "
			   "mode", r->argv[0]);
}

static bool is_mode_cmd(const char *name)
{
	for (size_t i = 0; mode_cmds[i]; i++)
		if (!strcmp(name, mode_cmds[i]))
			return true;
	return false;
}

static void dispatch(struct mgmt_req *r)
{
	struct mgmt *m = r->m;
	struct mgmt_conn *c = r->conn;
	const char *cmd = r->argv[0];
	const char *p1 = r->argc > 1 ? r->argv[1] : NULL;
	const char *p2 = r->argc > 2 ? r->argv[2] : NULL;
	long n;

	if (!strcmp(cmd, "exit") || !strcmp(cmd, "quit")) {
		c->closing = true;
	} else if (!strcmp(cmd, "help")) {
		mgmt_reply(r, "Management Interface for %s", SLUICE_TITLE);
		mgmt_reply(r, "Commands:");
		for (size_t i = 0; i < ARRAY_SIZE(help_lines); i++)
			mgmt_reply(r, "%s", help_lines[i]);
		mgmt_reply(r, "END");
	} else if (!strcmp(cmd, "version")) {
		if (p1)
			return;	/* the client's version: stock takes it silently */
		mgmt_reply(r, "OpenVPN Version: %s", SLUICE_TITLE);
		mgmt_reply(r, "Management Version: %d", MGMT_VERSION);
		mgmt_reply(r, "END");
	} else if (!strcmp(cmd, "pid")) {
		mgmt_reply(r, "SUCCESS: pid=%d", (int)getpid());
	} else if (!strcmp(cmd, "signal")) {
		cmd_signal(r);
	} else if (!strcmp(cmd, "load-stats")) {
		cmd_load_stats(r);
	} else if (!strcmp(cmd, "status")) {
		n = p1 ? num(p1) : 0;
		reply_stream(r, status_body, &n);
	} else if (!strcmp(cmd, "sluice-status")) {
		reply_stream(r, kv_body, NULL);
	} else if (!strcmp(cmd, "verb") || !strcmp(cmd, "mute")) {
		cmd_level(r, cmd[0] == 'v');
	} else if (!strcmp(cmd, "state")) {
		history(r, p1 ? p1 : "1", "state", &m->state, &c->rt_state);
		if (p2)
			history(r, p2, "state", &m->state, &c->rt_state);
	} else if (!strcmp(cmd, "log") || !strcmp(cmd, "echo")) {
		bool is_log = cmd[0] == 'l';

		if (!need(r, 1, true))
			return;
		history(r, p1, cmd, is_log ? &m->log : &m->echo, is_log ? &c->rt_log : &c->rt_echo);
		if (p2)
			history(r, p2, cmd, is_log ? &m->log : &m->echo,
				is_log ? &c->rt_log : &c->rt_echo);
	} else if (!strcmp(cmd, "username") || !strcmp(cmd, "password")) {
		cmd_credential(r, cmd[0] == 'u');
	} else if (!strcmp(cmd, "forget-passwords")) {
		m->have_user = m->have_pass = false;
		OPENSSL_cleanse(m->user, sizeof(m->user));
		OPENSSL_cleanse(m->pass, sizeof(m->pass));
		mgmt_reply(r, "SUCCESS: Passwords were forgotten");
	} else if (!strcmp(cmd, "net")) {
		mgmt_reply(r, "ERROR: Sorry, this command is currently only implemented on Windows");
	} else if (!strcmp(cmd, "hold")) {
		cmd_hold(r);
	} else if (!strcmp(cmd, "bytecount")) {
		if (!need(r, 1, false))
			return;
		n = num(p1);
		c->bytecount_s = n > 0 ? (unsigned int)MIN(n, 86400) : 0;
		c->bytecount_next_ns = 0;
		mgmt_reply(r, "SUCCESS: bytecount interval changed");
	} else if (is_mode_cmd(cmd)) {
		int want = !strcmp(cmd, "client-pending-auth") ? 4 :
			   !strcmp(cmd, "client-deny") ? 3 : !strncmp(cmd, "client-auth", 11) ?
			   2 : 1;
		bool at_least = !strcmp(cmd, "client-kill") || !strcmp(cmd, "client-deny");

		if (need(r, want, at_least))
			cmd_mode(r);
	} else {
		mgmt_reply(r, "ERROR: unknown command, enter 'help' for more options");
	}
}

/* client-auth CID KID: the lines up to END are its config text. */
static bool block_start(struct mgmt *m, struct mgmt_conn *c, const struct mgmt_req *r,
			const char *line)
{
	const struct status_src *src = src_of(m);

	/* Only a mode that answers client-auth collects its text (stock: "not supported"). */
	if (strcmp(r->argv[0], "client-auth") || r->argc != 3 || !src->ops->mgmt ||
	    !src->ops->mgmt->cmd)
		return false;
	if (num(r->argv[1]) < 0) {
		mgmt_reply(r, "ERROR: cannot parse CID");
		return true;
	}
	if (num(r->argv[2]) < 0) {
		mgmt_reply(r, "ERROR: cannot parse KID");
		return true;
	}
	c->block_cmd = strdup(line);
	c->block_len = 0;
	c->block_over = false;
	if (!c->block_cmd)
		mgmt_reply(r, "ERROR: out of memory");
	return true;
}

/* One line of a block; at END the command runs with the block. */
static void block_line(struct mgmt *m, struct mgmt_conn *c, const char *line)
{
	struct config_arena arena = { 0 };
	struct config_directive d;
	struct config_src src = { .file = "management", .line = 1 };
	struct mgmt_req r = { .m = m, .conn = c };
	char err[256];
	size_t n = strlen(line);
	char *nb;

	if (strcmp(line, "END")) {
		if (c->block_len + n + 2 > MGMT_BLOCK_MAX) {
			c->block_over = true;
			return;
		}
		nb = realloc(c->block, c->block_len + n + 2);
		if (!nb) {
			c->block_over = true;
			return;
		}
		c->block = nb;
		memcpy(c->block + c->block_len, line, n);
		c->block_len += n;
		c->block[c->block_len++] = '\n';
		c->block[c->block_len] = '\0';
		return;
	}
	if (c->block_over) {
		mgmt_conn_printf(m, c, "ERROR: client-auth text too long");
	} else if (!config_parse_line(&arena, c->block_cmd, &src, &d, err, sizeof(err))) {
		r.argc = d.argc;
		r.argv = d.argv;
		r.block = c->block ? c->block : "";
		cmd_mode(&r);
	}
	config_arena_free(&arena);
	free(c->block_cmd);
	free(c->block);
	c->block_cmd = NULL;
	c->block = NULL;
	c->block_len = 0;
}

void mgmt_cmd_line(struct mgmt *m, struct mgmt_conn *c, char *line)
{
	struct config_arena arena = { 0 };
	struct config_directive d;
	struct config_src src = { .file = "management", .line = 1 };
	struct mgmt_req r = { .m = m, .conn = c };
	char err[256];

	if (c->block_cmd) {
		block_line(m, c, line);
		return;
	}
	if (config_parse_line(&arena, line, &src, &d, err, sizeof(err))) {
		mgmt_conn_printf(m, c, "ERROR: cannot parse the command");
	} else if (d.argc > 0) {
		if (strcmp(d.argv[0], "password") && strcmp(d.argv[0], "username"))
			log_debug("MANAGEMENT: CMD '%.200s'", line);
		r.argc = d.argc;
		r.argv = d.argv;
		if (!block_start(m, c, &r, line))
			dispatch(&r);
	}
	config_arena_free(&arena);
}
