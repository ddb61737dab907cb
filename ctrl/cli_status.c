/*
 * cli_status.c - owns `sluice status [--json] [TARGET]`: a client of a
 * running instance's management interface (ctrl/mgmt.h) that asks for
 * sluice's key=value status (`sluice-status`) and prints it as a table for
 * people or as one JSON object for tools. It answers "is it up?" with its
 * exit status: 0 when the instance says CONNECTED, 1 when it runs but is
 * not up (connecting, stalled, reconnecting, ...), 2 when it cannot be
 * reached or asked (usage, no socket, no answer).
 *
 * TARGET is a Unix socket path, HOST:PORT, or a NAME for
 * /run/sluice/NAME.sock (the systemd units' socket); --config FILE takes
 * the `management` line of that configuration (and its password file).
 * Without one, the only socket in /run/sluice is used. A stock OpenVPN
 * instance has no `sluice-status`: its `state` line is shown instead.
 *
 * Thread: the main thread of a short-lived process; nothing else runs.
 * Blocking I/O with a receive timeout (--timeout, default 5 s).
 */
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../core/compiler.h"
#include "cli.h"
#include "config/config.h"
#include "config/options.h"
#include "status.h"

#define STATUS_RUN_DIR	"/run/sluice"
#define KV_MAX		4096

enum { ST_UP = 0, ST_DOWN = 1, ST_ERROR = 2 };

struct kv {
	char *key;
	char *val;
};

struct status_cli {
	bool json;
	double timeout;
	const char *target;
	const char *config;
	const char *pw_file;
	char pw_buf[256];
	char where[300];
	struct kv kv[KV_MAX];
	size_t n;
	const char *ids[KV_MAX];	/* the clients' CIDs ("17.cn") */
	char *buf;			/* what the instance said */
	size_t len;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: sluice status [--json] [--timeout SECONDS] [--password-file FILE]\n"
		"                     [--config FILE | SOCKET | HOST:PORT | NAME]\n"
		"  NAME is /run/sluice/NAME.sock; with no target, the one socket there.\n"
		"  Exit status: 0 up (CONNECTED), 1 running but not up, 2 not reachable.\n");
	return ST_ERROR;
}

/* ---- connecting --------------------------------------------------------- */

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int connect_tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int fd = -EHOSTUNREACH;

	if (getaddrinfo(host, port, &hints, &res))
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -errno;
	}
	freeaddrinfo(res);
	return fd;
}

/* The only *.sock in /run/sluice, into @out. */
static int default_socket(char *out, size_t len)
{
	DIR *d = opendir(STATUS_RUN_DIR);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > 5 && !strcmp(e->d_name + l - 5, ".sock")) {
			if (!n)
				snprintf(out, len, "%s/%s", STATUS_RUN_DIR, e->d_name);
			n++;
		}
	}
	closedir(d);
	return n == 1 ? 0 : n ? -EEXIST : -ENOENT;
}

/* --config FILE: its `management` line decides where (and which password file). */
static int target_from_config(struct status_cli *sc, char *out, size_t len)
{
	struct options *o = malloc(sizeof(*o));
	char err[512];
	int rc;

	if (!o)
		return -ENOMEM;
	options_init(o);
	rc = options_load_file(o, sc->config, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sluice status: %s\n", err);
	} else if (!o->management_addr) {
		fprintf(stderr, "sluice status: %s has no 'management' line\n", sc->config);
		rc = -ENOENT;
	} else if (o->management_unix) {
		snprintf(out, len, "%s", o->management_addr);
	} else {
		snprintf(out, len, "%s:%u", o->management_addr, o->management_port);
	}
	if (!rc && o->management_pw_file && !sc->pw_file) {
		snprintf(sc->pw_buf, sizeof(sc->pw_buf), "%s", o->management_pw_file);
		sc->pw_file = sc->pw_buf;
	}
	options_free(o);
	free(o);
	return rc;
}

static int status_connect(struct status_cli *sc)
{
	static char t[300];
	char *colon;
	struct timeval tv = { .tv_sec = (time_t)sc->timeout,
			      .tv_usec = (suseconds_t)((sc->timeout - (time_t)sc->timeout) * 1e6) };
	int fd, rc = 0;

	if (sc->config)
		rc = target_from_config(sc, t, sizeof(t));
	else if (sc->target && (strchr(sc->target, '/') || strchr(sc->target, ':')))
		snprintf(t, sizeof(t), "%s", sc->target);
	else if (sc->target)
		snprintf(t, sizeof(t), "%s/%s.sock", STATUS_RUN_DIR, sc->target);
	else if ((rc = default_socket(t, sizeof(t))))
		fprintf(stderr, "sluice status: %s in %s; name one (sluice status NAME|SOCKET|"
			"HOST:PORT)\n", rc == -EEXIST ? "several management sockets" :
			"no management socket", STATUS_RUN_DIR);
	if (rc)
		return rc;
	snprintf(sc->where, sizeof(sc->where), "%s", t);
	colon = strrchr(t, ':');
	if (!strchr(t, '/') && colon) {
		*colon = '\0';
		fd = connect_tcp(t[0] == '[' ? t + 1 : t, colon + 1);
	} else {
		fd = connect_unix(t);
	}
	if (fd < 0) {
		fprintf(stderr, "sluice status: cannot connect to %s: %s\n", sc->where, strerror(-fd));
		return fd;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ---- talking ------------------------------------------------------------ */

/* Reads until @want is in the buffer (or the peer closed / timed out). */
static bool read_until(struct status_cli *sc, int fd, const char *want)
{
	char chunk[1536];

	for (;;) {
		ssize_t n;
		char *nb;

		if (sc->buf && memmem(sc->buf, sc->len, want, strlen(want)))
			return true;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0 || sc->len > (64u << 20))
			return false;
		nb = realloc(sc->buf, sc->len + (size_t)n + 1);
		if (!nb)
			return false;
		sc->buf = nb;
		memcpy(sc->buf + sc->len, chunk, (size_t)n);
		sc->len += (size_t)n;
		sc->buf[sc->len] = '\0';
	}
}

static bool send_line(int fd, const char *line)
{
	size_t n = strlen(line);

	return send(fd, line, n, MSG_NOSIGNAL) == (ssize_t)n &&
	       send(fd, "\n", 1, MSG_NOSIGNAL) == 1;
}

/* Answers "ENTER PASSWORD:" from the password file, if asked. */
static int login(struct status_cli *sc, int fd)
{
	char pw[256] = "", *buf = NULL, err[256];
	size_t len;

	/* The greeting is either the prompt or the >INFO: line. */
	if (!read_until(sc, fd, "\n") && !(sc->buf && strstr(sc->buf, "ENTER PASSWORD:")))
		return -EIO;
	if (!strstr(sc->buf, "ENTER PASSWORD:"))
		return 0;
	if (!sc->pw_file) {
		fprintf(stderr, "sluice status: %s asks for a password (--password-file FILE)\n",
			sc->where);
		return -EACCES;
	}
	if (config_file_load(sc->pw_file, &buf, &len, err, sizeof(err))) {
		fprintf(stderr, "sluice status: %s\n", err);
		return -EACCES;
	}
	snprintf(pw, sizeof(pw), "%.*s", (int)strcspn(buf, "\r\n"), buf);
	config_file_unload(buf, len);
	if (!send_line(fd, pw) || !read_until(sc, fd, "password is correct")) {
		fprintf(stderr, "sluice status: %s refused the password\n", sc->where);
		return -EACCES;
	}
	return 0;
}

/* The reply lines after the last command: key=value pairs, real-time lines skipped. */
static void parse_kv(struct status_cli *sc, char *start)
{
	for (char *line = start, *nl; line && *line && sc->n < KV_MAX; line = nl) {
		char *eq;

		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		eq = strchr(line, '=');
		if (line[0] == '>' || !eq)
			continue;
		*eq = '\0';
		sc->kv[sc->n].key = line;
		sc->kv[sc->n].val = eq + 1;
		sc->n++;
	}
}

static const char *get(const struct status_cli *sc, const char *key)
{
	for (size_t i = 0; i < sc->n; i++)
		if (!strcmp(sc->kv[i].key, key))
			return sc->kv[i].val;
	return NULL;
}

static long long num(const struct status_cli *sc, const char *key)
{
	const char *v = get(sc, key);

	return v ? strtoll(v, NULL, 10) : 0;
}

/* A stock instance: its `state` line (time,STATE,reason,local,remote,port,...). */
static int stock_state(struct status_cli *sc, int fd)
{
	size_t mark = sc->len;
	char *line, *f[9] = { 0 };
	int k = 0;

	if (!send_line(fd, "state") || !read_until(sc, fd, "\nEND\r\n"))
		return ST_ERROR;
	line = sc->buf + mark;
	while (*line == '>' || *line == '\r' || *line == '\n' || !strncmp(line, "ERROR", 5)) {
		line = strchr(line, '\n');
		if (!line)
			return ST_ERROR;
		line++;
	}
	line[strcspn(line, "\r\n")] = '\0';
	for (char *p = line; p && k < 9; k++) {
		f[k] = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
	}
	if (sc->json)
		printf("{\"role\":\"openvpn\",\"state\":\"%s\",\"reason\":\"%s\",\"since\":%s,"
		       "\"tun_ipv4\":\"%s\",\"remote\":\"%s\"}\n", f[1] ? f[1] : "",
		       f[2] ? f[2] : "", f[0] && *f[0] ? f[0] : "0", f[3] ? f[3] : "",
		       f[4] ? f[4] : "");
	else
		printf("OpenVPN (management %s)\n  state         %s%s%s%s\n", sc->where,
		       f[1] ? f[1] : "?", f[2] && *f[2] ? " (" : "", f[2] ? f[2] : "",
		       f[2] && *f[2] ? ")" : "");
	return f[1] && !strcmp(f[1], "CONNECTED") ? ST_UP : ST_DOWN;
}

/* ---- output ------------------------------------------------------------- */

static const char *fmt_bytes(unsigned long long b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static const char *fmt_dur(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm %02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh %02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd %02lldh", s / 86400, s % 86400 / 3600);
	return buf;
}

static const char *fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* "replay 3, auth 1" from every stage's drop counters (each lane counted once), or "none". */
static void drops_line(const struct status_cli *sc, char *out, size_t len)
{
	const char *seen[64];
	size_t ns = 0, off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sc->n; i++) {
		const char *d = strstr(sc->kv[i].key, ".drop.");
		unsigned long long sum = 0;
		bool dup = false;

		if (!d || !strcmp(sc->kv[i].val, "0") || !strncmp(sc->kv[i].key, "client.", 7) ||
		    status_key_is_lane(sc->kv[i].key))
			continue;
		d += 6;
		for (size_t k = 0; k < ns; k++)
			dup |= !strcmp(seen[k], d);
		if (dup || ns == ARRAY_SIZE(seen))
			continue;
		seen[ns++] = d;
		for (size_t k = 0; k < sc->n; k++) {
			const char *e = strstr(sc->kv[k].key, ".drop.");

			if (e && !strcmp(e + 6, d) && !status_key_is_lane(sc->kv[k].key) &&
			    strncmp(sc->kv[k].key, "client.", 7))
				sum += strtoull(sc->kv[k].val, NULL, 10);
		}
		off += (size_t)snprintf(out + off, off < len ? len - off : 0, "%s%s %llu",
					off ? ", " : "", d, sum);
	}
	if (!out[0])
		snprintf(out, len, "none");
}

/*
 * "cpu tun_rx 1.2s, encrypt 3.4s, ...; fullest ring dec_in0 900 of 1023" from the
 * data plane's <stage>.cpu_us and ring.<name>.hwm counters, or "-" when absent.
 */
static void dataplane_line(const struct status_cli *sc, char *out, size_t len)
{
	const char *worst = NULL;
	long long worst_hwm = -1, worst_size = 0;
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sc->n; i++) {
		const char *k = sc->kv[i].key, *dot = strrchr(k, '.');

		if (!dot || strcmp(dot, ".cpu_us") || strchr(k, '.') != dot)
			continue;
		off += (size_t)snprintf(out + off, off < len ? len - off : 0, "%s%.*s %.1fs",
					off ? ", " : "cpu ", (int)(dot - k), k,
					strtod(sc->kv[i].val, NULL) / 1e6);
	}
	for (size_t i = 0; i < sc->n; i++) {
		const char *k = sc->kv[i].key, *dot = strrchr(k, '.');
		char size_key[64];
		long long h, sz;

		if (strncmp(k, "ring.", 5) || !dot || strcmp(dot, ".hwm"))
			continue;
		snprintf(size_key, sizeof(size_key), "%.*s.size", (int)(dot - k), k);
		h = atoll(sc->kv[i].val);
		sz = num(sc, size_key);
		/* The fullest by share of its room. */
		if (sz > 0 && (worst_hwm < 0 || h * worst_size > worst_hwm * sz)) {
			worst = k + 5;
			worst_hwm = h;
			worst_size = sz;
		}
	}
	if (worst)
		snprintf(out + off, off < len ? len - off : 0, "%sfullest ring %.*s %lld of %lld",
			 off ? "; " : "", (int)(strrchr(worst, '.') - worst), worst, worst_hwm,
			 worst_size);
	if (!out[0])
		snprintf(out, len, "-");
}

static void print_client(const struct status_cli *sc)
{
	long long now = (long long)time(NULL), since = num(sc, "state_since");
	long long rx = num(sc, "last_auth_rx"), ks = num(sc, "key_since");
	long long nr = num(sc, "next_rekey");
	const char *reason = get(sc, "state_reason"), *v6 = get(sc, "tun_ipv6");
	char a[64], b[64], c[64], d[256];

	printf("  state         %s%s%s%s since %s, %s ago\n", get(sc, "state"),
	       reason ? " (" : "", reason ? reason : "", reason ? ")" : "",
	       fmt_time(since, a, sizeof(a)), fmt_dur(now - since, b, sizeof(b)));
	if (rx)
		printf("  last auth rx  %s ago\n", fmt_dur(now - rx, a, sizeof(a)));
	else
		printf("  last auth rx  never\n");
	printf("  remote        %s\n", get(sc, "remote") ? get(sc, "remote") : "-");
	printf("  tunnel        %s%s%s\n", get(sc, "tun_ipv4") ? get(sc, "tun_ipv4") : "-",
	       v6 ? ", " : "", v6 ? v6 : "");
	if (get(sc, "cipher")) {
		printf("  cipher        %s", get(sc, "cipher"));
		if (ks)
			printf(", key %lld in use for %s", num(sc, "key_id"),
			       fmt_dur(now - ks, a, sizeof(a)));
		if (nr)
			printf(", next rekey in %s", fmt_dur(nr - now, b, sizeof(b)));
		printf("\n");
	}
	printf("  received      %s in %lld packets\n", fmt_bytes((unsigned long long)
	       num(sc, "tun_rx_bytes"), a, sizeof(a)), num(sc, "tun_rx_pkts"));
	printf("  sent          %s in %lld packets\n", fmt_bytes((unsigned long long)
	       num(sc, "tun_tx_bytes"), a, sizeof(a)), num(sc, "tun_tx_pkts"));
	printf("  reconnects    %lld\n", num(sc, "reconnects"));
	drops_line(sc, c, sizeof(c));
	printf("  drops         %s\n", c);
	dataplane_line(sc, d, sizeof(d));
	printf("  data plane    %s\n", d);
}

/* The CIDs of "client.<CID>.cn" lines, in order. */
static size_t client_ids(const struct status_cli *sc, const char **ids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->n && n < max; i++) {
		const char *k = sc->kv[i].key;

		if (!strncmp(k, "client.", 7) && strstr(k, ".cn") && !strcmp(strstr(k, ".cn"), ".cn"))
			ids[n++] = k + 7;
	}
	return n;
}

/* client.<CID>.<field> of the CID that @idkey starts with ("17.cn"). */
static const char *cget(const struct status_cli *sc, const char *idkey, const char *field)
{
	char key[128];

	snprintf(key, sizeof(key), "client.%.*s.%s", (int)strcspn(idkey, "."), idkey, field);
	return get(sc, key);
}

static void print_server(struct status_cli *sc)
{
	long long now = (long long)time(NULL), since = num(sc, "state_since");
	const char **ids = sc->ids, *v4, *ci;
	size_t n = client_ids(sc, ids, KV_MAX);
	char a[64], b[64], c[64], d[64], dp[256];

	printf("  state         %s since %s, %s ago\n", get(sc, "state"),
	       fmt_time(since, a, sizeof(a)), fmt_dur(now - since, b, sizeof(b)));
	printf("  clients       %lld connected, %zu sessions (%lld created, %lld auth failures)\n",
	       num(sc, "server.clients_active"), n, num(sc, "server.sessions_created"),
	       num(sc, "server.auth_failed"));
	drops_line(sc, c, sizeof(c));
	printf("  drops         %s\n", c);
	dataplane_line(sc, dp, sizeof(dp));
	printf("  data plane    %s\n", dp);
	if (!n)
		return;
	printf("\n  %-5s %-20s %-22s %-15s %-12s %-17s %-8s %-10s %-10s %s\n", "CID", "COMMON NAME",
	       "REAL ADDRESS", "TUNNEL", "STATE", "CIPHER", "SINCE", "RECEIVED", "SENT",
	       "LAST RX");
	for (size_t i = 0; i < n; i++) {
		long long s = atoll(cget(sc, ids[i], "since") ?: "0");
		long long rx = atoll(cget(sc, ids[i], "last_auth_rx") ?: "0");

		v4 = cget(sc, ids[i], "tun_ipv4");
		ci = cget(sc, ids[i], "cipher");
		printf("  %-5.*s %-20s %-22s %-15s %-12s %-17s %-8s %-10s %-10s %s\n",
		       (int)strcspn(ids[i], "."), ids[i], cget(sc, ids[i], "cn"),
		       cget(sc, ids[i], "real"), v4 ? v4 : "-",
		       cget(sc, ids[i], "state"), ci ? ci : "-",
		       s ? fmt_dur(now - s, a, sizeof(a)) : "-",
		       fmt_bytes(strtoull(cget(sc, ids[i], "rx_bytes") ?: "0", NULL, 10), b,
				 sizeof(b)),
		       fmt_bytes(strtoull(cget(sc, ids[i], "tx_bytes") ?: "0", NULL, 10), c,
				 sizeof(c)),
		       rx ? fmt_dur(now - rx, d, sizeof(d)) : "-");
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_val(const char *v)
{
	size_t n = strlen(v);

	if (n && n < 19 && strspn(v, "0123456789") == n && (v[0] != '0' || n == 1))
		fputs(v, stdout);
	else
		json_str(v);
}

/* One object: top-level keys, "drops", "counters" (data plane), "server", "clients". */
static void print_json(struct status_cli *sc)
{
	const char **ids = sc->ids;
	size_t n = client_ids(sc, ids, KV_MAX);
	char drops[1024];
	bool first = true;

	printf("{");
	for (size_t i = 0; i < sc->n; i++) {
		if (strchr(sc->kv[i].key, '.'))
			continue;
		printf("%s", first ? "" : ",");
		first = false;
		json_str(sc->kv[i].key);
		putchar(':');
		json_val(sc->kv[i].val);
	}
	printf(",\"drops\":{");
	drops_line(sc, drops, sizeof(drops));
	first = true;
	for (char *p = strcmp(drops, "none") ? drops : NULL, *q; p && *p; p = q) {
		char *sp = strchr(p, ' ');

		q = strstr(p, ", ");
		if (q) {
			*q = '\0';
			q += 2;
		}
		if (!sp)
			break;
		*sp = '\0';
		printf("%s", first ? "" : ",");
		first = false;
		json_str(p);
		printf(":%s", sp + 1);
	}
	printf("},\"counters\":{");
	first = true;
	for (size_t i = 0; i < sc->n; i++) {
		const char *k = sc->kv[i].key;

		if (!strchr(k, '.') || !strncmp(k, "client.", 7))
			continue;
		printf("%s", first ? "" : ",");
		first = false;
		json_str(k);
		putchar(':');
		json_val(sc->kv[i].val);
	}
	printf("},\"clients\":[");
	for (size_t c = 0; c < n; c++) {
		size_t idlen = strcspn(ids[c], ".");

		printf("%s{\"cid\":%.*s", c ? "," : "", (int)idlen, ids[c]);
		for (size_t i = 0; i < sc->n; i++) {
			const char *k = sc->kv[i].key;

			if (strncmp(k, "client.", 7) || strncmp(k + 7, ids[c], idlen) ||
			    k[7 + idlen] != '.')
				continue;
			putchar(',');
			json_str(k + 8 + idlen);
			putchar(':');
			json_val(sc->kv[i].val);
		}
		printf("}");
	}
	printf("]}\n");
}

int cli_status_main(int argc, char **argv)
{
	struct status_cli *sc = calloc(1, sizeof(*sc));
	const char *state, *role;
	int fd, rc = ST_ERROR;
	size_t mark;

	if (!sc)
		return ST_ERROR;
	sc->timeout = 5;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			sc->json = true;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			sc->config = argv[++i];
		else if (!strcmp(argv[i], "--password-file") && i + 1 < argc)
			sc->pw_file = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			sc->timeout = atof(argv[++i]) > 0 ? atof(argv[i]) : 5;
		else if (argv[i][0] != '-' && !sc->target)
			sc->target = argv[i];
		else
			goto out_usage;
	}
	fd = status_connect(sc);
	if (fd < 0)
		goto out;
	if (login(sc, fd))
		goto out_close;
	mark = sc->len;
	if (!send_line(fd, "sluice-status") || !read_until(sc, fd, "\nEND\r\n")) {
		fprintf(stderr, "sluice status: no answer from %s\n", sc->where);
		goto out_close;
	}
	if (strstr(sc->buf + mark, "ERROR: unknown command")) {
		rc = stock_state(sc, fd);
		goto out_close;
	}
	parse_kv(sc, sc->buf + mark);
	state = get(sc, "state");
	role = get(sc, "role");
	rc = state && !strcmp(state, "CONNECTED") ? ST_UP : ST_DOWN;
	if (sc->json) {
		print_json(sc);
	} else {
		printf("sluice %s, pid %lld (management %s)\n", role ? role : "?", num(sc, "pid"),
		       sc->where);
		if (role && !strcmp(role, "server"))
			print_server(sc);
		else
			print_client(sc);
	}
out_close:
	(void)send_line(fd, "quit");
	close(fd);
out:
	free(sc->buf);
	free(sc);
	return rc;
out_usage:
	free(sc);
	return usage();
}
