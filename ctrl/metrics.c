/*
 * metrics.c - owns the Prometheus endpoint (ctrl/metrics.h): the listening
 * socket, up to METRICS_CONNS_MAX scrapes at once, and the exposition
 * (text format 0.0.4) built from the key=value status every mode writes
 * (ctrl/status.c):
 *
 *   sluice_up, sluice_state{state}, sluice_state_since_seconds,
 *   sluice_last_auth_rx_seconds, sluice_reconnects_total,
 *   sluice_tunnel_bytes_total{direction}, sluice_tunnel_packets_total,
 *   sluice_key_since_seconds, sluice_next_rekey_seconds,
 *   sluice_control_events_total{event} (handshakes, renegotiations, ...),
 *   sluice_stage_packets_total / _bytes_total{stage,direction},
 *   sluice_stage_wakeups_total{stage}, sluice_drops_total{stage,reason},
 *   sluice_server_events_total{event}, sluice_server_clients,
 *   sluice_client_*{cid,cn} per client of a server,
 *   sluice_thread_cpu_seconds_total{thread} (per data-plane stage, from
 *   /proc/self/task: each stage is its own thread),
 *   sluice_stage_cpu_seconds_total{stage} (the data plane's thread CPU
 *   clocks, the crypto workers of a direction summed, runs before a
 *   reconnect included), sluice_ring_packets{ring} / _high_water_packets /
 *   _capacity_packets (each SPSC ring between two stages: queued now, the
 *   most ever queued, room); a server in lanes adds each lane's share in
 *   families of their own, sluice_lane_stage_packets_total / _bytes_total
 *   {lane,stage,direction}, sluice_lane_stage_cpu_seconds_total{lane,stage}
 *   and sluice_lane_drops_total{lane,stage,reason} (the stage families
 *   above are the sums: adding both would count each lane twice).
 *
 * A request is read until its blank line (at most METRICS_REQ_MAX bytes,
 * METRICS_DEADLINE_NS after it connected, else it is closed): GET /metrics
 * gets 200, another path 404, another method 405. The reply is queued
 * whole and written as the socket takes it; the connection closes after.
 *
 * Thread: ctrl only; every socket non-blocking, level-triggered epoll.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "config/options.h"
#include "metrics.h"
#include "state.h"
#include "status.h"

#define METRICS_REQ_MAX		4096
#define METRICS_DEADLINE_NS	(5 * 1000000000LL)

struct metrics_conn {
	int fd;
	int64_t deadline_ns;
	size_t in_len;
	char in[METRICS_REQ_MAX];
	char *out;
	size_t out_len, out_off;
	bool replying;
};

struct metrics {
	int ep_fd;
	int lfd;
	const struct status_src *(*src)(void *arg);
	void *arg;
	struct metrics_conn *conns[METRICS_CONNS_MAX];
};

/* ---- the exposition ----------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

struct kvs {
	char *buf;
	char **key, **val;
	size_t n;
};

/* The key=value status, split in place. */
static int kvs_read(const struct status_src *src, struct kvs *k)
{
	size_t len = 0, cap = 0;
	FILE *f = open_memstream(&k->buf, &len);

	k->n = 0;
	k->key = k->val = NULL;
	if (!f)
		return -ENOMEM;
	status_write(src, STATUS_FMT_KV, f);
	if (fclose(f))
		return -ENOMEM;
	for (char *l = k->buf, *nl; l && *l; l = nl) {
		char *eq;

		nl = strchr(l, '\n');
		if (nl)
			*nl++ = '\0';
		eq = strchr(l, '=');
		if (!eq)
			continue;
		if (k->n == cap) {
			char **nk, **nv;

			cap = cap ? cap * 2 : 256;
			nk = realloc(k->key, cap * sizeof(*nk));
			nv = nk ? realloc(k->val, cap * sizeof(*nv)) : NULL;
			if (nk)
				k->key = nk;
			if (!nv)
				return -ENOMEM;
			k->val = nv;
		}
		*eq = '\0';
		k->key[k->n] = l;
		k->val[k->n++] = eq + 1;
	}
	return 0;
}

static void kvs_free(struct kvs *k)
{
	free(k->buf);
	free(k->key);
	free(k->val);
}

static const char *kv(const struct kvs *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->key[i], key))
			return k->val[i];
	return NULL;
}

/* The connection as a whole: up, state, times, tunnel traffic, the key. */
static void expo_conn(FILE *f, const struct kvs *k)
{
	const char *state = kv(k, "state") ? kv(k, "state") : "";
	const char *role = kv(k, "role") ? kv(k, "role") : "";
	static const struct { const char *key, *name, *type, *help; } g[] = {
		{ "state_since", "sluice_state_since_seconds", "gauge",
		  "Unix time of the last state change." },
		{ "last_auth_rx", "sluice_last_auth_rx_seconds", "gauge",
		  "Unix time of the last authenticated packet from the peer." },
		{ "reconnects", "sluice_reconnects_total", "counter", "Reconnects since start." },
		{ "key_since", "sluice_key_since_seconds", "gauge",
		  "Unix time the data-channel key in use became active." },
		{ "next_rekey", "sluice_next_rekey_seconds", "gauge",
		  "Unix time of the next renegotiation (reneg-sec)." },
	};

	help(f, "sluice_up", "gauge", "1 when the tunnel is up (CONNECTED).");
	fprintf(f, "sluice_up{role=\"%s\"} %d\n", role, !strcmp(state, "CONNECTED"));
	help(f, "sluice_state", "gauge", "1 for the connection's current state.");
	for (int s = 0; s < CONN_STATE_MAX; s++)
		fprintf(f, "sluice_state{state=\"%s\"} %d\n", conn_state_name((enum conn_state)s),
			!strcmp(state, conn_state_name((enum conn_state)s)));
	for (size_t i = 0; i < ARRAY_SIZE(g); i++) {
		if (!kv(k, g[i].key))
			continue;
		help(f, g[i].name, g[i].type, g[i].help);
		fprintf(f, "%s %s\n", g[i].name, kv(k, g[i].key));
	}
	if (kv(k, "tun_rx_bytes")) {
		help(f, "sluice_tunnel_bytes_total", "counter",
		     "Tunnel bytes: received plaintext, sent on the wire.");
		fprintf(f, "sluice_tunnel_bytes_total{direction=\"rx\"} %s\n"
			"sluice_tunnel_bytes_total{direction=\"tx\"} %s\n",
			kv(k, "tun_rx_bytes"), kv(k, "tun_tx_bytes") ?: "0");
		help(f, "sluice_tunnel_packets_total", "counter", "Tunnel packets.");
		fprintf(f, "sluice_tunnel_packets_total{direction=\"rx\"} %s\n"
			"sluice_tunnel_packets_total{direction=\"tx\"} %s\n",
			kv(k, "tun_rx_pkts") ?: "0", kv(k, "tun_tx_pkts") ?: "0");
	}
	if (kv(k, "cipher")) {
		help(f, "sluice_cipher_info", "gauge", "The data-channel cipher in use.");
		fprintf(f, "sluice_cipher_info{cipher=\"");
		label(f, kv(k, "cipher"));
		fprintf(f, "\"} 1\n");
	}
}

/* One family for the keys with prefix @pre ("ctrl.", "server."): an event label each. */
static void expo_events(FILE *f, const struct kvs *k, const char *pre, const char *name,
			const char *text)
{
	size_t n = strlen(pre);
	bool any = false;

	for (size_t i = 0; i < k->n; i++) {
		const char *e = k->key[i] + n;

		if (strncmp(k->key[i], pre, n) || !strcmp(e, "key_id") ||
		    !strcmp(e, "dyn_tls_crypt") || !strcmp(e, "clients_active"))
			continue;
		if (!any)
			help(f, name, "counter", text);
		any = true;
		fprintf(f, "%s{event=\"", name);
		label(f, e);
		fprintf(f, "\"} %s\n", k->val[i]);
	}
}

/* The data plane's "stage.counter" keys: packets, bytes, wakeups, drops by reason. */
static void expo_stages(FILE *f, const struct kvs *k)
{
	static const struct { const char *suffix, *name, *dir; } m[] = {
		{ "rx_pkts", "sluice_stage_packets_total", "rx" },
		{ "tx_pkts", "sluice_stage_packets_total", "tx" },
		{ "rx_bytes", "sluice_stage_bytes_total", "rx" },
		{ "tx_bytes", "sluice_stage_bytes_total", "tx" },
		{ "wakeups", "sluice_stage_wakeups_total", NULL },
	};

	for (size_t j = 0; j <= ARRAY_SIZE(m); j++) {
		bool drops = j == ARRAY_SIZE(m), any = false;

		for (size_t i = 0; i < k->n; i++) {
			const char *key = k->key[i], *dot = strchr(key, '.');
			size_t sl = dot ? (size_t)(dot - key) : 0;

			if (!dot || !strncmp(key, "ctrl.", 5) || !strncmp(key, "server.", 7) ||
			    !strncmp(key, "client.", 7) || !strncmp(key, "pool.", 5) ||
			    !strncmp(key, "ring.", 5))
				continue;
			if (drops ? strncmp(dot + 1, "drop.", 5) : strcmp(dot + 1, m[j].suffix))
				continue;
			if (!any && (drops || j == 0 || j == 2 || j == 4))
				help(f, drops ? "sluice_drops_total" : m[j].name, "counter",
				     drops ? "Packets dropped, by stage and reason." :
				     j == 4 ? "Times a data-plane thread slept and woke." :
				     "Data-plane traffic by stage and direction.");
			any = true;
			if (drops)
				fprintf(f, "sluice_drops_total{stage=\"%.*s\",reason=\"%s\"} %s\n",
					(int)sl, key, dot + 6, k->val[i]);
			else if (m[j].dir)
				fprintf(f, "%s{stage=\"%.*s\",direction=\"%s\"} %s\n", m[j].name,
					(int)sl, key, m[j].dir, k->val[i]);
			else
				fprintf(f, "%s{stage=\"%.*s\"} %s\n", m[j].name, (int)sl, key,
					k->val[i]);
		}
	}
}

/* "stage.cpu_us" into seconds per stage; "ring.<name>.fill|hwm|size" per ring. */
static void expo_cpu_rings(FILE *f, const struct kvs *k)
{
	static const struct { const char *suffix, *name, *help; } r[] = {
		{ ".fill", "sluice_ring_packets", "Packets queued now in each ring between stages." },
		{ ".hwm", "sluice_ring_high_water_packets",
		  "The most packets each ring between stages has held." },
		{ ".size", "sluice_ring_capacity_packets", "Packets each ring between stages holds." },
	};
	bool any = false;

	for (size_t i = 0; i < k->n; i++) {
		const char *key = k->key[i], *dot = strchr(key, '.');

		if (!dot || strcmp(dot, ".cpu_us"))
			continue;
		if (!any)
			help(f, "sluice_stage_cpu_seconds_total", "counter",
			     "CPU time (user + system) of each data-plane stage's threads.");
		any = true;
		fprintf(f, "sluice_stage_cpu_seconds_total{stage=\"%.*s\"} %.6f\n",
			(int)(dot - key), key, strtod(k->val[i], NULL) / 1e6);
	}
	for (size_t j = 0; j < ARRAY_SIZE(r); j++) {
		size_t sl = strlen(r[j].suffix);

		any = false;
		for (size_t i = 0; i < k->n; i++) {
			const char *key = k->key[i];
			size_t n = strlen(key);

			if (strncmp(key, "ring.", 5) || n < 5 + sl || strcmp(key + n - sl, r[j].suffix))
				continue;
			if (!any)
				help(f, r[j].name, "gauge", r[j].help);
			any = true;
			fprintf(f, "%s{ring=\"", r[j].name);
			fprintf(f, "%.*s\"} %s\n", (int)(n - 5 - sl), key + 5, k->val[i]);
		}
	}
}

/*
 * A server in lanes: each lane's share of a stage, "lane<K>.<stage>.<counter>",
 * in families of their own (sluice_lane_*), so that summing the stage
 * families above never counts a lane twice.
 */
static void expo_lanes(FILE *f, const struct kvs *k)
{
	static const char pk[] = "Data-plane packets by lane, stage and direction.",
			  by[] = "Data-plane bytes by lane, stage and direction.";
	static const struct { const char *suffix, *name, *help, *dir; } m[] = {
		{ "rx_pkts", "sluice_lane_stage_packets_total", pk, "rx" },
		{ "tx_pkts", "sluice_lane_stage_packets_total", pk, "tx" },
		{ "rx_bytes", "sluice_lane_stage_bytes_total", by, "rx" },
		{ "tx_bytes", "sluice_lane_stage_bytes_total", by, "tx" },
		{ "cpu_us", "sluice_lane_stage_cpu_seconds_total",
		  "CPU time (user + system) of each lane's stage threads.", NULL },
		{ "drop.", "sluice_lane_drops_total", "Packets dropped, by lane, stage and reason.",
		  NULL },
	};
	const char *typed = NULL;	/* the family announced last */

	for (size_t j = 0; j < ARRAY_SIZE(m); j++) {
		bool drops = !strcmp(m[j].suffix, "drop."), cpu = !strcmp(m[j].suffix, "cpu_us");

		for (size_t i = 0; i < k->n; i++) {
			const char *key = k->key[i], *stage, *c;

			if (!status_key_is_lane(key))
				continue;
			stage = strchr(key, '.') + 1;
			c = strchr(stage, '.');
			if (!c || (drops ? strncmp(c + 1, "drop.", 5) : strcmp(c + 1, m[j].suffix)))
				continue;
			if (!typed || strcmp(typed, m[j].name))
				help(f, m[j].name, "counter", m[j].help);
			typed = m[j].name;
			fprintf(f, "%s{lane=\"%.*s\",stage=\"%.*s\"", m[j].name,
				(int)(stage - 1 - (key + 4)), key + 4, (int)(c - stage), stage);
			if (drops)
				fprintf(f, ",reason=\"%s\"} %s\n", c + 6, k->val[i]);
			else if (m[j].dir)
				fprintf(f, ",direction=\"%s\"} %s\n", m[j].dir, k->val[i]);
			else if (cpu)
				fprintf(f, "} %.6f\n", strtod(k->val[i], NULL) / 1e6);
		}
	}
}

/* A server's clients: "client.<CID>.<field>" into labelled series. */
static void expo_clients(FILE *f, const struct kvs *k)
{
	static const struct { const char *field, *name, *type, *help, *dir; } m[] = {
		{ "rx_bytes", "sluice_client_bytes_total", "counter", "Bytes per client.", "rx" },
		{ "tx_bytes", "sluice_client_bytes_total", "counter", NULL, "tx" },
		{ "rx_pkts", "sluice_client_packets_total", "counter", "Packets per client.", "rx" },
		{ "tx_pkts", "sluice_client_packets_total", "counter", NULL, "tx" },
		{ "since", "sluice_client_connected_since_seconds", "gauge",
		  "Unix time the client's tunnel came up.", NULL },
		{ "last_auth_rx", "sluice_client_last_auth_rx_seconds", "gauge",
		  "Unix time of the client's last authenticated packet.", NULL },
		{ "next_rekey", "sluice_client_next_rekey_seconds", "gauge",
		  "Unix time of the client's next renegotiation.", NULL },
	};

	for (size_t j = 0; j < ARRAY_SIZE(m); j++) {
		bool any = false;

		for (size_t i = 0; i < k->n; i++) {
			const char *key = k->key[i], *id, *field;
			char cnkey[96];

			if (strncmp(key, "client.", 7))
				continue;
			id = key + 7;
			field = strchr(id, '.');
			if (!field || strcmp(field + 1, m[j].field))
				continue;
			snprintf(cnkey, sizeof(cnkey), "client.%.*s.cn", (int)(field - id), id);
			if (!any && m[j].help)
				help(f, m[j].name, m[j].type, m[j].help);
			any = true;
			fprintf(f, "%s{cid=\"%.*s\",cn=\"", m[j].name, (int)(field - id), id);
			label(f, kv(k, cnkey) ?: "");
			if (m[j].dir)
				fprintf(f, "\",direction=\"%s", m[j].dir);
			fprintf(f, "\"} %s\n", k->val[i]);
		}
	}
	if (kv(k, "server.clients_active")) {
		help(f, "sluice_server_clients", "gauge", "Clients with data keys installed.");
		fprintf(f, "sluice_server_clients %s\n", kv(k, "server.clients_active"));
	}
}

/* CPU time of every thread (each data-plane stage has its own), by its name. */
static void expo_threads(FILE *f)
{
	long hz = sysconf(_SC_CLK_TCK);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool any = false;

	while (d && hz > 0 && (e = readdir(d))) {
		char path[64], line[512], *name, *rp;
		unsigned long long ut, st;
		FILE *s;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/stat", e->d_name);
		s = fopen(path, "r");
		if (!s)
			continue;
		if (!fgets(line, sizeof(line), s) || !(name = strchr(line, '(')) ||
		    !(rp = strrchr(line, ')')) ||
		    sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			   &st) != 2) {
			fclose(s);
			continue;
		}
		fclose(s);
		*rp = '\0';
		if (!any)
			help(f, "sluice_thread_cpu_seconds_total", "counter",
			     "CPU time (user + system) of each thread: ctrl and every data-plane stage.");
		any = true;
		fprintf(f, "sluice_thread_cpu_seconds_total{thread=\"");
		label(f, name + 1);
		fprintf(f, "\",tid=\"%s\"} %.2f\n", e->d_name, (double)(ut + st) / (double)hz);
	}
	if (d)
		closedir(d);
}

static int exposition(struct metrics *mx, char **body, size_t *len)
{
	const struct status_src *src = mx->src(mx->arg);
	struct kvs k;
	FILE *f;

	*body = NULL;
	if (kvs_read(src, &k)) {
		kvs_free(&k);
		return -ENOMEM;
	}
	f = open_memstream(body, len);
	if (!f) {
		kvs_free(&k);
		return -ENOMEM;
	}
	expo_conn(f, &k);
	expo_events(f, &k, "ctrl.", "sluice_control_events_total",
		    "Control-channel events (packets, renegotiations, handshakes, ...).");
	expo_events(f, &k, "server.", "sluice_server_events_total",
		    "Server events (sessions, reaping, auth failures, first-packet verdicts).");
	expo_stages(f, &k);
	expo_cpu_rings(f, &k);
	expo_lanes(f, &k);
	expo_clients(f, &k);
	expo_threads(f);
	kvs_free(&k);
	return fclose(f) ? -ENOMEM : 0;
}

/* ---- HTTP --------------------------------------------------------------- */

static void conn_close(struct metrics *mx, int i)
{
	struct metrics_conn *c = mx->conns[i];

	mx->conns[i] = NULL;
	(void)epoll_ctl(mx->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

/* The whole request is in: queue the answer and wait for the socket to take it. */
static void conn_answer(struct metrics *mx, struct metrics_conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->fd };
	char *body = NULL, *hdr = NULL;
	size_t blen = 0;
	int code = 200, n;
	const char *why = "OK";

	if (strncmp(c->in, "GET ", 4)) {
		code = 405;
		why = "Method Not Allowed";
	} else if (strncmp(c->in + 4, "/metrics ", 9) && strncmp(c->in + 4, "/metrics?", 9)) {
		code = 404;
		why = "Not Found";
	} else if (exposition(mx, &body, &blen)) {
		code = 500;
		why = "Internal Server Error";
	}
	if (code != 200) {
		free(body);
		body = strdup(why);
		blen = body ? strlen(body) : 0;
	}
	n = asprintf(&hdr, "HTTP/1.0 %d %s\r\nContent-Type: text/plain; version=0.0.4; "
		     "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     code, why, blen);
	c->out = n < 0 ? NULL : malloc((size_t)n + blen);
	if (c->out) {
		memcpy(c->out, hdr, (size_t)n);
		if (blen)
			memcpy(c->out + n, body, blen);
		c->out_len = (size_t)n + blen;
	}
	free(hdr);
	free(body);
	c->replying = true;
	(void)epoll_ctl(mx->ep_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_event(struct metrics *mx, int i, uint32_t events)
{
	struct metrics_conn *c = mx->conns[i];
	ssize_t n;

	if (c->replying) {
		while (c->out && c->out_off < c->out_len) {
			n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n <= 0) {
				if (n < 0 && errno == EAGAIN)
					return;
				break;
			}
			c->out_off += (size_t)n;
		}
		conn_close(mx, i);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		conn_close(mx, i);
		return;
	}
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	if (strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n"))
		conn_answer(mx, c);
	else if (c->in_len == sizeof(c->in) - 1)
		conn_close(mx, i);	/* a request larger than any scrape sends */
}

static void conn_accept(struct metrics *mx)
{
	struct epoll_event ev = { .events = EPOLLIN };

	for (int k = 0; k < METRICS_CONNS_MAX; k++) {
		struct metrics_conn *c;
		int fd = accept4(mx->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

		if (fd < 0)
			return;
		for (i = 0; i < METRICS_CONNS_MAX && mx->conns[i]; i++)
			;
		c = i < METRICS_CONNS_MAX ? calloc(1, sizeof(*c)) : NULL;
		ev.data.fd = fd;
		if (!c || epoll_ctl(mx->ep_fd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);	/* busy: the scraper retries */
			free(c);
			continue;
		}
		c->fd = fd;
		c->deadline_ns = clock_mono_ns() + METRICS_DEADLINE_NS;
		mx->conns[i] = c;
	}
}

bool metrics_on_event(struct metrics *mx, int fd, uint32_t events)
{
	if (!mx)
		return false;
	if (fd == mx->lfd) {
		conn_accept(mx);
		return true;
	}
	for (int i = 0; i < METRICS_CONNS_MAX; i++) {
		if (mx->conns[i] && mx->conns[i]->fd == fd) {
			conn_event(mx, i, events);
			return true;
		}
	}
	return false;
}

void metrics_tick(struct metrics *mx, int64_t now_ns)
{
	for (int i = 0; mx && i < METRICS_CONNS_MAX; i++)
		if (mx->conns[i] && now_ns > mx->conns[i]->deadline_ns)
			conn_close(mx, i);
}

int metrics_create(struct metrics **out, const struct options *o,
		   const struct status_src *(*src)(void *arg), void *arg, int ep_fd)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
				  AI_NUMERICSERV };
	struct epoll_event ev = { .events = EPOLLIN };
	struct addrinfo *res;
	struct metrics *mx;
	char port[8];
	int one = 1, rc;

	*out = NULL;
	if (!o->metrics_addr)
		return 0;
	mx = calloc(1, sizeof(*mx));
	if (!mx)
		return -ENOMEM;
	mx->ep_fd = ep_fd;
	mx->src = src;
	mx->arg = arg;
	snprintf(port, sizeof(port), "%u", o->metrics_port);
	rc = getaddrinfo(o->metrics_addr, port, &hints, &res);
	if (rc) {
		log_warnx("metrics: cannot resolve '%s': %s", o->metrics_addr, gai_strerror(rc));
		free(mx);
		return -EINVAL;
	}
	mx->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	rc = mx->lfd < 0 ? -errno : 0;
	if (!rc)
		(void)setsockopt(mx->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!rc && (bind(mx->lfd, res->ai_addr, res->ai_addrlen) || listen(mx->lfd, 16)))
		rc = -errno;
	freeaddrinfo(res);
	ev.data.fd = mx->lfd;
	if (!rc && epoll_ctl(ep_fd, EPOLL_CTL_ADD, mx->lfd, &ev))
		rc = -errno;
	if (rc) {
		errno = -rc;
		log_warn("metrics: cannot listen on %s:%u", o->metrics_addr, o->metrics_port);
		if (mx->lfd >= 0)
			close(mx->lfd);
		free(mx);
		return rc;
	}
	log_info("metrics: Prometheus endpoint on http://%s:%u/metrics", o->metrics_addr,
		 o->metrics_port);
	*out = mx;
	return 0;
}

void metrics_free(struct metrics *mx)
{
	if (!mx)
		return;
	for (int i = 0; i < METRICS_CONNS_MAX; i++)
		if (mx->conns[i])
			conn_close(mx, i);
	(void)epoll_ctl(mx->ep_fd, EPOLL_CTL_DEL, mx->lfd, NULL);
	close(mx->lfd);
	free(mx);
}
