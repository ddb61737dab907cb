/*
 * status.c - owns the status outputs: the format of the key=value status
 * (the mode and the data plane fill in their counters), the choice between
 * it and OpenVPN's status (which the server writes: ctrl/server/server_status.c),
 * SIGUSR2's dump of the data plane's counters to the log, and the status
 * file on disk (written anew and renamed, or after user/group rewritten in
 * place).
 *
 * Thread: ctrl only. Every writer takes a FILE, so the management
 * interface and a metrics endpoint can reuse status_write on a memory
 * stream; nothing here keeps state between calls but the open file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "mode.h"
#include "proto/chan.h"
#include "../io/pipeline.h"
#include "proc.h"
#include "status.h"

void status_key_info(struct conn_info *ci, const struct chan *ch, int64_t now_ns)
{
	const struct chan_key *k = ch ? ch->pri : NULL;
	time_t now = time(NULL);

	if (!k || !k->active_ns) {
		ci->key_since = ci->next_rekey = 0;
		return;
	}
	ci->key_id = k->key_id;
	ci->key_since = now - (time_t)((now_ns - k->active_ns) / 1000000000LL);
	ci->next_rekey = ch->reneg_ns ?
			 now + (time_t)((k->active_ns + ch->reneg_ns - now_ns) / 1000000000LL) : 0;
}

/*
 * The connection's lines of the key=value status: state, its reason and
 * since when (unix seconds), the last authenticated packet, remote, tunnel
 * addresses, bytes and packets both ways, reconnects, and the data
 * channel's cipher, key id, since when that key is in use and when our
 * next renegotiation is due. An empty value is left out.
 */
static void status_conn_write(const struct status_src *src, FILE *f)
{
	const struct conn_info *ci = src->ops->conn_info(src->mode);

	fprintf(f, "role=%s\n", src->ops->name);
	fprintf(f, "pid=%d\n", (int)getpid());
	fprintf(f, "state=%s\n", src->is_stopping ? "EXITING" : conn_state_name(ci->state));
	if (ci->reason && *ci->reason)
		fprintf(f, "state_reason=%s\n", ci->reason);
	fprintf(f, "state_since=%lld\n", (long long)ci->since);
	if (ci->last_auth_rx)
		fprintf(f, "last_auth_rx=%lld\n", (long long)ci->last_auth_rx);
	if (ci->remote[0])
		fprintf(f, "remote=%s\n", ci->remote);
	if (ci->local4[0])
		fprintf(f, "tun_ipv4=%s\n", ci->local4);
	if (ci->local6[0])
		fprintf(f, "tun_ipv6=%s\n", ci->local6);
	fprintf(f, "tun_rx_bytes=%llu\ntun_tx_bytes=%llu\nreconnects=%u\n",
		(unsigned long long)ci->rx_bytes, (unsigned long long)ci->tx_bytes,
		ci->reconnects);
	fprintf(f, "tun_rx_pkts=%llu\ntun_tx_pkts=%llu\n", (unsigned long long)ci->rx_pkts,
		(unsigned long long)ci->tx_pkts);
	if (ci->cipher[0])
		fprintf(f, "cipher=%s\n", ci->cipher);
	if (ci->key_since)
		fprintf(f, "key_id=%u\nkey_since=%lld\n", ci->key_id, (long long)ci->key_since);
	if (ci->next_rekey)
		fprintf(f, "next_rekey=%lld\n", (long long)ci->next_rekey);
}

int status_counters_read(const struct status_src *src, struct status_counters *sc)
{
	FILE *f;

	sc->buf = NULL;
	sc->len = 0;
	if (!src->pl)
		return -ENODEV;
	f = open_memstream(&sc->buf, &sc->len);
	if (!f)
		return -ENOMEM;
	pipeline_write_stats(src->pl, f);
	if (fclose(f)) {
		free(sc->buf);
		sc->buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

void status_counters_each(const struct status_counters *sc,
			  void (*fn)(void *arg, const char *name, uint64_t v), void *arg)
{
	char name[128];

	for (const char *l = sc->buf; l && *l;) {
		size_t n = strcspn(l, "\n");
		const char *eq = memchr(l, '=', n);

		if (eq && (size_t)(eq - l) < sizeof(name)) {
			memcpy(name, l, (size_t)(eq - l));
			name[eq - l] = '\0';
			fn(arg, name, strtoull(eq + 1, NULL, 10));
		}
		l += n;
		if (*l)
			l++;
	}
}

struct counter_find {
	const char *name;
	uint64_t v;
};

static void counter_find_fn(void *arg, const char *name, uint64_t v)
{
	struct counter_find *cf = arg;

	if (!strcmp(name, cf->name))
		cf->v = v;
}

uint64_t status_counter_get(const struct status_counters *sc, const char *name)
{
	struct counter_find cf = { .name = name };

	status_counters_each(sc, counter_find_fn, &cf);
	return cf.v;
}

struct link_sum {
	uint64_t rx, tx;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

bool status_key_is_lane(const char *key)
{
	size_t n;

	if (strncmp(key, "lane", 4))
		return false;
	n = strspn(key + 4, "0123456789");
	return n && key[4 + n] == '.';
}

static void link_sum_fn(void *arg, const char *name, uint64_t v)
{
	struct link_sum *ls = arg;

	if (!strncmp(name, "tun_", 4) || status_key_is_lane(name))
		return;
	if (ends_with(name, "_rx.rx_bytes"))
		ls->rx += v;
	else if (ends_with(name, "_tx.tx_bytes"))
		ls->tx += v;
}

void status_link_bytes(const struct status_counters *sc, uint64_t *rx, uint64_t *tx)
{
	struct link_sum ls = { 0 };

	status_counters_each(sc, link_sum_fn, &ls);
	*rx = ls.rx;
	*tx = ls.tx;
}

void status_counters_free(struct status_counters *sc)
{
	free(sc->buf);
	sc->buf = NULL;
}

/*
 * A stock client's status ("OpenVPN STATISTICS"): TUN/TAP bytes, the
 * link's bytes, and "Auth read bytes" (what passed the tag check).
 */
static void status_ovpn_stats(const struct status_src *src, FILE *f)
{
	struct status_counters sc;
	uint64_t lrx = 0, ltx = 0;
	char now_s[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(now_s, sizeof(now_s), "%Y-%m-%d %H:%M:%S", &tm);
	(void)status_counters_read(src, &sc);
	status_link_bytes(&sc, &lrx, &ltx);
	fprintf(f, "OpenVPN STATISTICS\nUpdated,%s\n", now_s);
	fprintf(f, "TUN/TAP read bytes,%llu\nTUN/TAP write bytes,%llu\n",
		(unsigned long long)status_counter_get(&sc, "tun_rx.rx_bytes"),
		(unsigned long long)status_counter_get(&sc, "tun_tx.tx_bytes"));
	fprintf(f, "TCP/UDP read bytes,%llu\nTCP/UDP write bytes,%llu\n",
		(unsigned long long)lrx, (unsigned long long)ltx);
	fprintf(f, "Auth read bytes,%llu\nEND\n",
		(unsigned long long)status_counter_get(&sc, "decrypt.tx_bytes"));
	status_counters_free(&sc);
}

void status_write(const struct status_src *src, enum status_fmt fmt, FILE *f)
{
	switch (fmt) {
	case STATUS_FMT_KV:
		status_conn_write(src, f);
		fprintf(f, "ctrl.ctrl_pkts=%llu\nctrl.inband_pkts=%llu\n",
			(unsigned long long)src->ctrl_pkts, (unsigned long long)src->inband_pkts);
		src->ops->write_status(src->mode, fmt, f);
		if (src->pl)
			pipeline_write_stats(src->pl, f);
		break;
	case STATUS_FMT_OVPN_V1:
	case STATUS_FMT_OVPN_V2:
	case STATUS_FMT_OVPN_V3:
		src->ops->write_status(src->mode, fmt, f);
		break;
	case STATUS_FMT_DATAPLANE:
		if (src->pl)
			pipeline_write_stats(src->pl, f);
		break;
	case STATUS_FMT_OVPN_STATS:
		status_ovpn_stats(src, f);
		break;
	}
}

/* A line "name=0" is left out: only what happened is logged. */
static bool is_zero_line(const char *line)
{
	const char *eq = strstr(line, "=0");

	return eq && eq == line + strlen(line) - 2;
}

void status_log(const struct status_src *src)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!src->pl)
		return;
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	status_write(src, STATUS_FMT_DATAPLANE, f);
	fclose(f);
	if (!buf)
		return;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!is_zero_line(line))
			log_info("stats: %s", line);
	free(buf);
}

enum status_fmt status_file_fmt(const struct mode_ops *ops, unsigned int version)
{
	if (!ops->has_ovpn_status)
		return STATUS_FMT_KV;
	return version == 3 ? STATUS_FMT_OVPN_V3 : version == 2 ? STATUS_FMT_OVPN_V2 :
	       STATUS_FMT_OVPN_V1;
}

int status_file_init(struct status_file *sf, const char *path, enum status_fmt fmt,
		     unsigned int interval_s)
{
	sf->path = NULL;
	sf->fd = -1;
	sf->fmt = fmt;
	sf->interval_s = interval_s;
	sf->next_ns = 0;
	if (!path)
		return 0;
	sf->path = proc_path_abs(path);
	return sf->path ? 0 : -ENOMEM;
}

void status_file_pin(struct status_file *sf)
{
	if (!sf->path || sf->fd >= 0)
		return;
	sf->fd = open(sf->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (sf->fd < 0)
		log_warn("status: cannot open %s", sf->path);
}

/* After status_file_pin: the same file rewritten from the start, then cut to length. */
static void status_file_rewrite(struct status_file *sf, const struct status_src *src)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	status_write(src, sf->fmt, f);
	if (fclose(f) || pwrite(sf->fd, buf, len, 0) != (ssize_t)len ||
	    ftruncate(sf->fd, (off_t)len))
		log_warn("status: cannot write %s", sf->path);
	free(buf);
}

void status_file_write(struct status_file *sf, const struct status_src *src)
{
	char *tmp;
	FILE *f;

	if (!sf->path || !src->pl)
		return;
	if (sf->fd >= 0) {
		status_file_rewrite(sf, src);
		return;
	}
	if (asprintf(&tmp, "%s.tmp", sf->path) < 0)
		return;
	f = fopen(tmp, "w");
	if (!f) {
		log_warn("status: cannot write %s", tmp);
		free(tmp);
		return;
	}
	status_write(src, sf->fmt, f);
	if (fclose(f) || rename(tmp, sf->path))
		log_warn("status: cannot write %s", sf->path);
	free(tmp);
}

void status_file_tick(struct status_file *sf, const struct status_src *src, int64_t now_ns)
{
	if (!sf->path || !sf->interval_s || now_ns < sf->next_ns)
		return;
	/* Half a tick of slack: the 1 s timer must not make "status F 1" skip beats. */
	sf->next_ns = now_ns + (int64_t)sf->interval_s * 1000000000LL - 500000000LL;
	status_file_write(sf, src);
}

void status_file_close(struct status_file *sf)
{
	if (sf->fd >= 0)
		close(sf->fd);
	sf->fd = -1;
	free(sf->path);
	sf->path = NULL;
}
