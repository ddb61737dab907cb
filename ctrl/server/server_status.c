/*
 * server_status.c - owns server mode's status: OpenVPN's status file in
 * status-version 1 (stock's layout exactly), 2 (CSV with HEADER lines) and
 * 3 (the same, tab-separated), each with CLIENT_LIST (per-client bytes from
 * the data plane) and ROUTING_TABLE; versions 2 and 3 end with sluice's
 * counters as GLOBAL_STATS lines (sessions, reaping, auth failures, floats,
 * every first-packet verdict). The same counters as key=value lines
 * ("server.<name>=<value>") serve a metrics reader.
 *
 * Thread: ctrl only, called through ctrl/status.c (status_write), which
 * picks the format. Tests parse these lines: keep them byte for byte.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../io/pipeline.h"
#include "server_int.h"

/* One counter: "GLOBAL_STATS<sep><name><sep><value>", or with @sep 0 "server.<name>=<value>". */
static void status_counter(FILE *f, char sep, const char *name, uint64_t v)
{
	if (sep)
		fprintf(f, "GLOBAL_STATS%c%s%c%llu\n", sep, name, sep, (unsigned long long)v);
	else
		fprintf(f, "server.%s=%llu\n", name, (unsigned long long)v);
}

/* The server's counters, then one per first-packet verdict (all 0 before start-up). */
static void status_counters(struct server *s, FILE *f, char sep)
{
	const uint64_t *fc = s->fp ? firstpkt_counters(s->fp) : NULL;
	const struct server_stats *st = &s->st;

#define G(name, v) status_counter(f, sep, name, (uint64_t)(v))
	G("sessions_created", st->sessions_created);
	G("clients_connected", st->clients_connected);
	G("clients_reaped", st->clients_reaped);
	G("clients_active", s->active);
	G("auth_failed", st->auth_failed);
	G("refused_max_clients", st->refused_max_clients);
	G("floats", st->floats);
	G("restarts_same_endpoint", st->restarts_same_endpoint);
	G("inactivity_timeouts", st->inactivity_timeouts);
	G("exits", st->exits);
	G("tx_ctrl_errs", st->tx_ctrl_errs);
	for (int r = 0; r < FIRSTPKT_REASON_MAX; r++) {
		char name[64] = "firstpkt_";
		const char *n = firstpkt_reason_name((enum firstpkt_reason)r);
		size_t k = strlen(name);

		for (; *n && k < sizeof(name) - 1; n++)
			name[k++] = (*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') ? *n : '_';
		name[k] = 0;
		status_counter(f, sep, name, fc ? fc[r] : 0);
	}
#undef G
}

static void status_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* A client without certificate and username-as-common-name has none: "UNDEF" (tls_common_name). */
static const char *status_cn(const struct srv_client *c)
{
	return c->cn[0] ? c->cn : "UNDEF";
}

/* OpenVPN's layout of @version (1, 2 or 3). */
static void status_ovpn(struct server *s, FILE *f, unsigned int version)
{
	char sep = version == 3 ? '\t' : ',', now_s[32], since[32], a[64], v4[16], v6[48];
	time_t now = time(NULL);

	status_time(now, now_s, sizeof(now_s));
	if (version == 2 || version == 3) {
		fprintf(f, "TITLE%csluice (OpenVPN 2.6 compatible) server\n", sep);
		fprintf(f, "TIME%c%s%c%lld\n", sep, now_s, sep, (long long)now);
		fprintf(f, "HEADER%cCLIENT_LIST%cCommon Name%cReal Address%cVirtual Address%c"
			"Virtual IPv6 Address%cBytes Received%cBytes Sent%cConnected Since%c"
			"Connected Since (time_t)%cUsername%cClient ID%cPeer ID%c"
			"Data Channel Cipher\n", sep, sep, sep, sep, sep, sep, sep, sep, sep, sep,
			sep, sep, sep);
	} else {
		fprintf(f, "OpenVPN CLIENT LIST\nUpdated,%s\n", now_s);
		fprintf(f, "Common Name,Real Address,Bytes Received,Bytes Sent,Connected Since\n");
	}
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];
		struct pipeline_peer_stats ps = { 0 };
		unsigned long long rxb, txb;

		if (!c->used || !c->active)
			continue;
		status_time(c->since, since, sizeof(since));
		srv_addr_str(&c->addr, a, sizeof(a));
		v4[0] = v6[0] = 0;
		if (c->v4)
			inet_ntop(AF_INET, &c->v4, v4, sizeof(v4));
		if (c->has_v6)
			inet_ntop(AF_INET6, c->v6, v6, sizeof(v6));
		(void)pipeline_peer_stats(s->pl, i, &ps);	/* none yet: 0 bytes */
		rxb = ps.rx_bytes;
		txb = ps.tx_bytes;
		if (version == 2 || version == 3)
			fprintf(f, "CLIENT_LIST%c%s%c%s%c%s%c%s%c%llu%c%llu%c%s%c%lld%c%s%c%u%c%u%c%s\n",
				sep, status_cn(c), sep, a, sep, v4, sep, v6, sep, rxb, sep, txb, sep, since,
				sep, (long long)c->since, sep, c->user[0] ? c->user : "UNDEF", sep,
				c->id, sep, c->id, sep, dc_cipher_name(c->cipher));
		else
			fprintf(f, "%s,%s,%llu,%llu,%s\n", status_cn(c), a, rxb, txb, since);
	}
	if (version == 2 || version == 3)
		fprintf(f, "HEADER%cROUTING_TABLE%cVirtual Address%cCommon Name%cReal Address%c"
			"Last Ref%cLast Ref (time_t)\n", sep, sep, sep, sep, sep, sep);
	else
		fprintf(f, "ROUTING TABLE\nVirtual Address,Common Name,Real Address,Last Ref\n");
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];

		if (!c->used || !c->active || !c->v4)
			continue;
		srv_addr_str(&c->addr, a, sizeof(a));
		inet_ntop(AF_INET, &c->v4, v4, sizeof(v4));
		if (version == 2 || version == 3)
			fprintf(f, "ROUTING_TABLE%c%s%c%s%c%s%c%s%c%lld\n", sep, v4, sep, status_cn(c), sep,
				a, sep, now_s, sep, (long long)now);
		else
			fprintf(f, "%s,%s,%s,%s\n", v4, status_cn(c), a, now_s);
	}
	if (version == 2 || version == 3) {
		fprintf(f, "GLOBAL_STATS%cMax bcast/mcast queue length%c0\n", sep, sep);
		status_counters(s, f, sep);
	} else {
		/* Version 1 stays exactly stock's layout; the counters are in 2 and 3. */
		fprintf(f, "GLOBAL STATS\nMax bcast/mcast queue length,0\n");
	}
	fprintf(f, "END\n");
}

void server_write_status(struct server *s, enum status_fmt fmt, FILE *f)
{
	switch (fmt) {
	case STATUS_FMT_OVPN_V1:
		status_ovpn(s, f, 1);
		break;
	case STATUS_FMT_OVPN_V2:
		status_ovpn(s, f, 2);
		break;
	case STATUS_FMT_OVPN_V3:
		status_ovpn(s, f, 3);
		break;
	case STATUS_FMT_KV:
		status_counters(s, f, 0);
		break;
	default:
		break;
	}
}
