/*
 * server_mgmt.c - owns the server's part of the management interface
 * (ctrl/mgmt.h), as stock 2.6's multi.c answers it: `kill CN` and `kill
 * IP:port` (RESTART, then the client goes), `client-kill CID [MSG]`,
 * management-client-auth's `client-auth` (with client-connect text: the
 * client-config-dir directives), `client-auth-nt`, `client-deny`,
 * `client-pending-auth`, the >CLIENT:CONNECT / ADDRESS / ESTABLISHED /
 * DISCONNECT notifications with their ENV lines (only with
 * management-client-auth, as stock), per-client >BYTECOUNT_CLI: lines and
 * the client count for load-stats.
 *
 * CIDs count up from 0 and are never reused (stock's guarantee), unlike
 * peer-ids; the status file's Client ID column is the CID too. A decision
 * is asked for once the auth script (if any) accepted the client; while it
 * is pending the session's hand-window still runs (srvsess.c), and
 * client-pending-auth may move it.
 *
 * Thread: ctrl only. A command that changes a client runs
 * server_client_check on it at once, so a decision takes effect without
 * waiting for a timer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../io/pipeline.h"
#include "../mgmt.h"
#include "server_int.h"

/* A value as it may appear in an ENV line: no control bytes (a forged newline
 * from a client's user name must not make a notification of its own). */
static void env_line(struct mgmt *m, const char *name, const char *value)
{
	char v[512];
	size_t i;

	for (i = 0; value && value[i] && i < sizeof(v) - 1; i++)
		v[i] = (unsigned char)value[i] < 0x20 || value[i] == 0x7f ? '_' : value[i];
	v[i] = '\0';
	mgmt_notify(m, "CLIENT:ENV,%s=%s", name, v);
}

static void env_u64(struct mgmt *m, const char *name, unsigned long long v)
{
	char b[24];

	snprintf(b, sizeof(b), "%llu", v);
	env_line(m, name, b);
}

/* untrusted_ip / untrusted_port of the client's address. */
static void env_addr(struct mgmt *m, const struct srv_client *c)
{
	char a[INET6_ADDRSTRLEN] = "";
	unsigned int port = 0;

	if (c->addr.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &c->addr.in4.sin_addr, a, sizeof(a));
		port = ntohs(c->addr.in4.sin_port);
	} else if (c->addr.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &c->addr.in6.sin6_addr, a, sizeof(a));
		port = ntohs(c->addr.in6.sin6_port);
	}
	env_u64(m, "untrusted_port", port);
	env_line(m, "untrusted_ip", a);
}

/* The IV_* and UV_* lines of the client's peer info, one ENV line each. */
static void env_peer_info(struct mgmt *m, const char *pi)
{
	char line[300];

	while (pi && *pi) {
		size_t n = strcspn(pi, "\n");
		char *eq;

		if (n < sizeof(line) && (!strncmp(pi, "IV_", 3) || !strncmp(pi, "UV_", 3))) {
			memcpy(line, pi, n);
			line[n] = '\0';
			eq = strchr(line, '=');
			if (eq) {
				*eq = '\0';
				env_line(m, line, eq + 1);
			}
		}
		pi += n;
		if (*pi)
			pi++;
	}
}

static void env_pool(struct mgmt *m, const struct srv_client *c)
{
	char a[INET_ADDRSTRLEN];

	if (!c->v4)
		return;
	if (c->v4_second && inet_ntop(AF_INET, &c->v4_second, a, sizeof(a)))
		env_line(m, "ifconfig_pool_netmask", a);
	inet_ntop(AF_INET, &c->v4, a, sizeof(a));
	env_line(m, "ifconfig_pool_remote_ip", a);
}

/* The ENV lines shared by every notification, then ENV,END. */
static void env_common(struct server *s, const struct srv_client *c, bool with_password)
{
	const struct srvsess_client *ci = c->sess ? srvsess_client(c->sess) : NULL;

	if (with_password && ci && ci->password && ci->password[0])
		env_line(s->mgmt, "password", ci->password);
	env_line(s->mgmt, "common_name", c->cn);
	env_addr(s->mgmt, c);
	if (ci && ci->username[0])
		env_line(s->mgmt, "username", ci->username);
	if (ci)
		env_peer_info(s->mgmt, ci->peer_info);
	env_u64(s->mgmt, "daemon_pid", (unsigned long long)getpid());
	env_u64(s->mgmt, "verb", (unsigned long long)s->o->verb);
	mgmt_notify(s->mgmt, "CLIENT:ENV,END");
}

enum srvauth_verdict server_mgmt_auth(struct server *s, struct srv_client *c, char *reason,
				      size_t rlen)
{
	reason[0] = '\0';
	if (!mgmt_client_auth(s->mgmt))
		return SRVAUTH_OK;
	switch (c->mgmt_auth) {
	case MGMT_AUTH_NONE:
		c->mgmt_auth = MGMT_AUTH_WAIT;
		c->kid = 1;
		mgmt_notify(s->mgmt, "CLIENT:CONNECT,%llu,%u", (unsigned long long)c->cid, c->kid);
		env_u64(s->mgmt, "n_clients", s->active);
		env_common(s, c, true);
		return SRVAUTH_WAIT;
	case MGMT_AUTH_OK:
		return SRVAUTH_OK;
	case MGMT_AUTH_DENY:
		snprintf(reason, rlen, "%s", c->mgmt_text ? c->mgmt_text : "");
		return SRVAUTH_FAIL;
	default:
		return SRVAUTH_WAIT;
	}
}

void server_mgmt_established(struct server *s, struct srv_client *c)
{
	char a[INET_ADDRSTRLEN];

	if (!mgmt_client_auth(s->mgmt))
		return;
	if (c->v4 && inet_ntop(AF_INET, &c->v4, a, sizeof(a)))
		mgmt_notify(s->mgmt, "CLIENT:ADDRESS,%llu,%s,1", (unsigned long long)c->cid, a);
	mgmt_notify(s->mgmt, "CLIENT:ESTABLISHED,%llu", (unsigned long long)c->cid);
	env_u64(s->mgmt, "n_clients", s->active);
	env_pool(s->mgmt, c);
	env_u64(s->mgmt, "time_unix", (unsigned long long)c->since);
	env_common(s, c, false);
}

void server_mgmt_disconnect(struct server *s, struct srv_client *c)
{
	struct pipeline_peer_stats ps = { 0 };
	unsigned long long rxb, txb;

	/* As stock: a client the management client decided on (admitted or denied) is
	 * announced gone; one that went before any decision is not. */
	if (!mgmt_client_auth(s->mgmt) ||
	    (!c->active && c->mgmt_auth != MGMT_AUTH_OK && c->mgmt_auth != MGMT_AUTH_DENY))
		return;
	if (c->peer_added)
		(void)pipeline_peer_stats(s->pl, c->id, &ps);
	srv_client_bytes(c, &ps, &rxb, &txb);
	mgmt_notify(s->mgmt, "CLIENT:DISCONNECT,%llu", (unsigned long long)c->cid);
	env_u64(s->mgmt, "bytes_sent", txb);
	env_u64(s->mgmt, "bytes_received", rxb);
	env_u64(s->mgmt, "time_duration", (unsigned long long)(time(NULL) - c->since));
	env_pool(s->mgmt, c);
	env_common(s, c, false);
}

/* ---- commands ---------------------------------------------------------- */

static struct srv_client *client_by_cid(struct server *s, const char *arg)
{
	char *end;
	unsigned long long cid = strtoull(arg, &end, 10);

	if (!*arg || *end || *arg == '-')
		return NULL;
	for (uint32_t i = 0; i < s->max; i++)
		if (s->cl[i].used && s->cl[i].cid == cid)
			return &s->cl[i];
	return NULL;
}

/* Tells the client @msg (RESTART, HALT, ...) if its channel can, then lets it go. */
static void client_kill(struct server *s, struct srv_client *c, const char *msg, int64_t now)
{
	if (msg && c->sess)
		(void)srvsess_send_text(c->sess, msg, now);
	server_client_reap(s, c, "killed by the management interface");
}

/* kill CN, or kill IP:port (stock's man_kill). */
static void cmd_kill(struct server *s, const struct mgmt_req *r, int64_t now)
{
	const char *arg = r->argv[1], *colon = strrchr(arg, ':');
	char ip[INET6_ADDRSTRLEN + 2], a[64], want[80];
	uint8_t bin[16];
	unsigned int n = 0;

	if (colon && (arg[0] == '[' || !strchr(arg, ':') || colon == strchr(arg, ':'))) {
		char *end;
		unsigned long port = strtoul(colon + 1, &end, 10);
		size_t len = (size_t)(colon - arg);

		if (!colon[1] || *end || port > 65535) {
			mgmt_reply(r, "ERROR: port number is out of range: %s", colon + 1);
			return;
		}
		if (len >= sizeof(ip)) {
			mgmt_reply(r, "ERROR: error parsing IP address: %.*s", (int)MIN(len, 64), arg);
			return;
		}
		memcpy(ip, arg, len);
		ip[len] = '\0';
		if (ip[0] == '[' && len > 2 && ip[len - 1] == ']') {
			memmove(ip, ip + 1, len - 2);
			ip[len - 2] = '\0';
		}
		if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1) {
			mgmt_reply(r, "ERROR: error parsing IP address: %s", ip);
			return;
		}
		snprintf(want, sizeof(want), strchr(ip, ':') ? "[%s]:%lu" : "%s:%lu", ip, port);
		for (uint32_t i = 0; i < s->max; i++) {
			struct srv_client *c = &s->cl[i];

			if (c->used && !strcmp(srv_addr_str(&c->addr, a, sizeof(a)), want)) {
				client_kill(s, c, "RESTART", now);
				n++;
			}
		}
		if (n)
			mgmt_reply(r, "SUCCESS: %u client(s) at address %s:%lu killed", n, ip, port);
		else
			mgmt_reply(r, "ERROR: client at address %s:%lu not found", ip, port);
		return;
	}
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];

		if (c->used && c->cn[0] && !strcmp(c->cn, arg)) {
			client_kill(s, c, "RESTART", now);
			n++;
		}
	}
	if (n)
		mgmt_reply(r, "SUCCESS: common name '%s' found, %u client(s) killed", arg, n);
	else
		mgmt_reply(r, "ERROR: common name '%s' not found", arg);
}

/* A client waiting for the decision @cid/@kid, or NULL. */
static struct srv_client *client_waiting(struct server *s, const struct mgmt_req *r)
{
	struct srv_client *c = client_by_cid(s, r->argv[1]);
	char *end;
	unsigned long kid = strtoul(r->argv[2], &end, 10);

	if (!c || *end || kid != c->kid || c->mgmt_auth != MGMT_AUTH_WAIT)
		return NULL;
	return c;
}

/* client-auth / client-auth-nt / client-deny: the decision, acted on at once. */
static void cmd_decide(struct server *s, const struct mgmt_req *r, bool ok, int64_t now)
{
	struct srv_client *c = client_waiting(s, r);
	const char *what = ok ? "client-auth" : "client-deny";
	const char *text = ok ? r->block : r->argc > 4 ? r->argv[4] : NULL;

	if (!c) {
		mgmt_reply(r, "ERROR: %s command failed", what);
		return;
	}
	free(c->mgmt_text);
	c->mgmt_text = text && *text ? strdup(text) : NULL;
	c->mgmt_auth = ok ? MGMT_AUTH_OK : MGMT_AUTH_DENY;
	if (!ok)
		log_info("MULTI: %s: client-deny '%s'", c->cn, r->argv[3]);
	mgmt_reply(r, "SUCCESS: %s command succeeded", what);
	server_client_check(s, c, now);
}

static void cmd_pending(struct server *s, const struct mgmt_req *r)
{
	struct srv_client *c = client_waiting(s, r);
	char *end;
	unsigned long tmo = strtoul(r->argv[4], &end, 10);

	if (!c || *end || tmo > 0x7fffffff ||
	    srvsess_auth_pending(c->sess, (unsigned int)tmo, r->argv[3])) {
		mgmt_reply(r, "ERROR: client-pending-auth command failed. Extra parameter might "
			   "be too long");
		return;
	}
	mgmt_reply(r, "SUCCESS: client-pending-auth command succeeded");
}

static bool server_mgmt_cmd(void *m, const struct mgmt_req *r, int64_t now)
{
	struct server *s = m;
	const char *cmd = r->argv[0];
	struct srv_client *c;

	if (!now)
		now = clock_mono_ns();
	if (!strcmp(cmd, "kill")) {
		cmd_kill(s, r, now);
	} else if (!strcmp(cmd, "client-kill")) {
		c = client_by_cid(s, r->argv[1]);
		if (!c) {
			mgmt_reply(r, "ERROR: client-kill command failed");
		} else {
			client_kill(s, c, r->argc > 2 ? r->argv[2] : "RESTART", now);
			mgmt_reply(r, "SUCCESS: client-kill command succeeded");
		}
	} else if (!strcmp(cmd, "client-auth") || !strcmp(cmd, "client-auth-nt")) {
		cmd_decide(s, r, true, now);
	} else if (!strcmp(cmd, "client-deny")) {
		cmd_decide(s, r, false, now);
	} else if (!strcmp(cmd, "client-pending-auth")) {
		cmd_pending(s, r);
	} else {
		return false;
	}
	server_route_publish(s);
	return true;
}

static void server_mgmt_bytecount(void *m, const struct mgmt_req *r)
{
	struct server *s = m;

	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];
		struct pipeline_peer_stats ps;

		if (!c->used || !c->active || !pipeline_peer_stats(s->pl, c->id, &ps))
			continue;
		unsigned long long rxb, txb;

		srv_client_bytes(c, &ps, &rxb, &txb);
		mgmt_reply(r, ">BYTECOUNT_CLI:%llu,%llu,%llu", (unsigned long long)c->cid, rxb, txb);
	}
}

static unsigned int server_mgmt_nclients(void *m)
{
	const struct server *s = m;

	return s->active;
}

static void server_mgmt_attach(void *m, struct mgmt *mg)
{
	struct server *s = m;

	s->mgmt = mg;
}

const struct mgmt_mode_ops server_mgmt_ops = {
	.attach = server_mgmt_attach,
	.cmd = server_mgmt_cmd,
	.bytecount = server_mgmt_bytecount,
	.nclients = server_mgmt_nclients,
};
