/*
 * server_status.c - owns server mode's status: OpenVPN's status file in
 * status-version 1 (stock's layout exactly), 2 (CSV with HEADER lines) and
 * 3 (the same, tab-separated), each with CLIENT_LIST (per-client bytes from
 * the data plane) and ROUTING_TABLE; versions 2 and 3 end with sluice's
 * counters as GLOBAL_STATS lines (sessions, reaping, auth failures, floats,
 * every first-packet verdict). The same counters as key=value lines
 * ("server.<name>=<value>") serve a metrics reader. The Client ID column
 * is the management interface's CID (`client-kill CID`), the Peer ID the
 * data channel's peer-id.
 *
 * Thread: ctrl only, called through ctrl/status.c (status_write), which
 * picks the format. Tests parse these lines: keep them byte for byte.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../core/clock.h"
#include "../../io/pipeline.h"
#include "../config/runcfg.h"
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
	G("session_failures", st->session_failures);
	G("replaced", st->replaced);
	G("tx_ctrl_errs", st->tx_ctrl_errs);
	if (s->rc->tcp_server)
		G("tcp_closed", st->tcp_closed);
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

/*
 * "Last Ref": the client's last authenticated packet (its real last
 * activity; our own keepalive pings to it do not count), in wall-clock
 * seconds; the connection time before any.
 */
static time_t status_last_ref(const struct server *s, const struct srv_client *c, time_t now)
{
	struct pipeline_peer_stats ps = { 0 };
	int64_t last, mono = clock_mono_ns();

	(void)pipeline_peer_stats(s->pl, c->id, &ps);
	last = ps.last_rx_ns;
	if (last <= 0 || last > mono)
		return c->since;
	return now - (time_t)((mono - last) / 1000000000LL);
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
		srv_client_bytes(c, &ps, &rxb, &txb);
		if (version == 2 || version == 3)
			fprintf(f, "CLIENT_LIST%c%s%c%s%c%s%c%s%c%llu%c%llu%c%s%c%lld%c%s%c%llu%c%u%c%s\n",
				sep, status_cn(c), sep, a, sep, v4, sep, v6, sep, rxb, sep, txb, sep, since,
				sep, (long long)c->since, sep, c->user[0] ? c->user : "UNDEF", sep,
				(unsigned long long)c->cid, sep, c->id, sep, dc_cipher_name(c->cipher));
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
		char ref_s[32];
		time_t ref;

		if (!c->used || !c->active || !c->v4)
			continue;
		srv_addr_str(&c->addr, a, sizeof(a));
		inet_ntop(AF_INET, &c->v4, v4, sizeof(v4));
		ref = status_last_ref(s, c, now);
		status_time(ref, ref_s, sizeof(ref_s));
		if (version == 2 || version == 3)
			fprintf(f, "ROUTING_TABLE%c%s%c%s%c%s%c%s%c%lld\n", sep, v4, sep, status_cn(c), sep,
				a, sep, ref_s, sep, (long long)ref);
		else
			fprintf(f, "%s,%s,%s,%s\n", v4, status_cn(c), a, ref_s);
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

/*
 * key=value, one block per client ("client.<CID>.<key>"), for `sluice
 * status` and metrics: who, from where, its tunnel addresses, since when,
 * the last authenticated packet, bytes and packets, cipher and key times.
 */
static void status_clients_kv(struct server *s, FILE *f)
{
	int64_t now_ns = clock_mono_ns();
	time_t now = time(NULL);
	char a[64], v4[16], v6[48];

	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];
		struct pipeline_peer_stats ps = { 0 };
		struct conn_info ci = { 0 };
		unsigned long long id = (unsigned long long)c->cid;

		if (!c->used)
			continue;
		(void)pipeline_peer_stats(s->pl, i, &ps);
		if (c->active)
			status_key_info(&ci, srvsess_chan(c->sess), now_ns);
		v4[0] = v6[0] = 0;
		if (c->v4)
			inet_ntop(AF_INET, &c->v4, v4, sizeof(v4));
		if (c->has_v6)
			inet_ntop(AF_INET6, c->v6, v6, sizeof(v6));
		fprintf(f, "client.%llu.cn=%s\nclient.%llu.real=%s\nclient.%llu.peer_id=%u\n",
			id, c->cn[0] ? c->cn : "UNDEF", id, srv_addr_str(&c->addr, a, sizeof(a)), id,
			c->id);
		fprintf(f, "client.%llu.state=%s\n", id, c->active ? "CONNECTED" :
			c->mgmt_auth == MGMT_AUTH_WAIT || c->auth ? "AUTH_PENDING" : "AUTH");
		if (c->user[0])
			fprintf(f, "client.%llu.username=%s\n", id, c->user);
		if (v4[0])
			fprintf(f, "client.%llu.tun_ipv4=%s\n", id, v4);
		if (v6[0])
			fprintf(f, "client.%llu.tun_ipv6=%s\n", id, v6);
		if (!c->active)
			continue;
		fprintf(f, "client.%llu.since=%lld\nclient.%llu.cipher=%s\n", id,
			(long long)c->since, id, dc_cipher_name(c->cipher));
		if (ps.last_rx_ns)
			fprintf(f, "client.%llu.last_auth_rx=%lld\n", id,
				(long long)(now - (time_t)((now_ns - ps.last_rx_ns) / NS_PER_SEC)));
		fprintf(f, "client.%llu.rx_bytes=%llu\nclient.%llu.tx_bytes=%llu\n"
			"client.%llu.rx_pkts=%llu\nclient.%llu.tx_pkts=%llu\n",
			id, (unsigned long long)ps.rx_bytes, id, (unsigned long long)ps.tx_bytes,
			id, (unsigned long long)ps.rx_pkts, id, (unsigned long long)ps.tx_pkts);
		if (ci.key_since)
			fprintf(f, "client.%llu.key_id=%u\nclient.%llu.key_since=%lld\n", id,
				ci.key_id, id, (long long)ci.key_since);
		if (ci.next_rekey)
			fprintf(f, "client.%llu.next_rekey=%lld\n", id, (long long)ci.next_rekey);
	}
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
		status_clients_kv(s, f);
		break;
	default:
		break;
	}
}
