/*
 * srvsess_client.h - the client half of fuzz_srvsess.c and the wire between
 * the two: the harness's own wrapping, reliable layer and TLS client per
 * key_id, the two in-memory datagram queues (with the history OP_REPLAY
 * resends and the losses OP_DROP asks for), and settle(), which shuttles
 * datagrams both ways until neither side has anything left to send.
 *
 * Part of the one translation unit fuzz_srvsess.c, after srvsess_fixture.h
 * (the contexts and keys it uses). Single-threaded, like the harness.
 */
#ifndef SLUICE_FUZZ_SRVSESS_CLIENT_H
#define SLUICE_FUZZ_SRVSESS_CLIENT_H

/* ---- the client and the wire ---------------------------------------------------- */

struct ckey {
	struct reliable *rel;		/* NULL: key_id not in use */
	struct tls_ctx *ctx;		/* NULL: the input's client TLS (fz.ctls) */
	struct tls_conn *tls;
	bool hs_done;
	bool km2_sent;
	bool wkc_resend;		/* tls-crypt-v2: next TLS bytes go in a WKC_V1 */
};

struct queue {
	unsigned int head, tail;
	size_t len[QMAX];
	uint8_t buf[QMAX][DGRAM_MAX];
};

struct fz {
	unsigned int wrap;		/* enum firstpkt_wrap */
	struct tls_ctx *ctls;
	struct tls_ctx *reneg_ctls;	/* renegotiations: another certificate, or NULL */
	struct srvsess_cfg cfg;
	struct srvsess *srv;
	struct tlswrap *cw;		/* the client's wrapping */
	struct ckey keys[KEY_ID_COUNT];
	uint8_t cur;			/* key_id the TLS ops use */
	uint8_t ssid[SID_LEN];		/* the server's session id (the cookie) */
	bool has_ssid;
	bool auto_km2, km2_no_push, manual_take;
	unsigned int tls_starts;
	unsigned int drop_s2c, drop_c2s;
	int64_t now;
	struct queue s2c;
	unsigned int hist_n;
	size_t hist_len[HIST];
	uint8_t hist[HIST][DGRAM_MAX];
};

static struct fz fz;
static struct firstpkt_result fres;
static uint8_t plain[DGRAM_MAX], wire[DGRAM_MAX + 512], stream[TLS_CHANNEL_BUF_SIZE];
static uint8_t rec[TLS_RECORD_MAX + 1];

static int s2c_send(void *arg, const uint8_t *buf, size_t len)
{
	struct queue *q = arg;

	if (fz.drop_s2c) {
		fz.drop_s2c--;
		return 0;
	}
	if (q->tail - q->head == QMAX || len > DGRAM_MAX)
		return -ENOBUFS;
	memcpy(q->buf[q->tail % QMAX], buf, len);
	q->len[q->tail % QMAX] = len;
	q->tail++;
	return 0;
}

static const struct session_io srv_io = { s2c_send, &fz.s2c };

static int64_t wall_ns(void)
{
	return (WALL_SEC * NS) + (fz.now - START_NS);
}

/* One datagram to the server: the classifier until the session exists. */
static void to_server(const uint8_t *buf, size_t len)
{
	union sockaddr_any src = { .in4 = { .sin_family = AF_INET, .sin_port = htons(40000) } };

	if (fz.srv) {
		srvsess_input(fz.srv, buf, len, fz.now);
		return;
	}
	src.in4.sin_addr.s_addr = htonl(0xc6120002);	/* 198.18.0.2 */
	switch (firstpkt_classify(classifiers[fz.wrap], buf, len, &src, sizeof(src.in4),
				  wall_ns(), &fres)) {
	case FIRSTPKT_REPLY:
		(void)s2c_send(&fz.s2c, fres.reply, fres.reply_len);
		break;
	case FIRSTPKT_CREATE:
		/* A valid third packet must make a session. */
		if (srvsess_create(&fz.srv, &fz.cfg, &srv_io, &fres, buf, len, fz.now))
			abort();
		break;
	default:
		break;
	}
}

/* A client datagram on the wire: kept for OP_REPLAY, maybe lost. */
static void client_send(const uint8_t *buf, size_t len)
{
	unsigned int h = fz.hist_n++ % HIST;

	fz.hist_len[h] = MIN(len, sizeof(fz.hist[h]));
	memcpy(fz.hist[h], buf, fz.hist_len[h]);
	if (fz.drop_c2s) {
		fz.drop_c2s--;
		return;
	}
	to_server(buf, len);
}

/* Wraps the plain packet @buf with the client's wrapping and sends it. */
static void client_wrap_send(const uint8_t *buf, size_t len)
{
	int m = tlswrap_wrap(fz.cw, buf, len, wire, sizeof(wire),
			     (uint32_t)(wall_ns() / NS));

	if (m > 0)
		client_send(wire, (size_t)m);
}

/* Sends every packet the client's key states have due. True if any. */
static bool client_flush(void)
{
	bool any = false;

	for (int i = 0; i < KEY_ID_COUNT; i++) {
		struct ckey *ck = &fz.keys[i];
		struct ctlpkt p;

		while (ck->rel && reliable_next_out(ck->rel, fz.now, &p)) {
			int n = ctlpkt_build(&p, plain, sizeof(plain));

			if (n > 0)
				client_wrap_send(plain, (size_t)n);
			any = true;
		}
	}
	return any;
}

/* Moves the client's TLS output into reliable messages (WKC_V1 first if asked). */
static void client_tls_out(struct ckey *ck)
{
	size_t room;

	if (ck->wkc_resend && ck->tls && tls_conn_pending(ck->tls) &&
	    reliable_send_room(ck->rel) > 0) {
		size_t max = reliable_max_payload(TLS_MTU_DEFAULT, false,
						  tlswrap_overhead(fz.cw, P_CONTROL_WKC_V1));
		size_t n = tls_conn_output(ck->tls, stream, MIN(max, sizeof(stream)));

		if (n && !reliable_send_msg(ck->rel, P_CONTROL_WKC_V1, stream, n))
			ck->wkc_resend = false;
	}
	while (ck->tls && tls_conn_pending(ck->tls) && (room = reliable_send_room(ck->rel)) > 0) {
		size_t n = tls_conn_output(ck->tls, stream, MIN(room, sizeof(stream)));

		if (!n)
			break;
		reliable_write(ck->rel, P_CONTROL_V1, stream, n);
	}
}

static const char *const peer_infos[] = {
	"IV_VER=2.6.14\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n"
	"IV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\nIV_PROTO=990\n"
	"IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n",
	/* IV_PROTO without REQUEST_PUSH: the push waits for PUSH_REQUEST. */
	"IV_VER=2.6.14\nIV_PLAT=linux\nIV_CIPHERS=AES-256-GCM\nIV_PROTO=10\n",
	/* Neither EKM nor REQUEST_PUSH, and junk lines. */
	"IV_VER=2.5.0\nIV_PROTO=2\nnot a line\nIV_MTU=x\n=\n",
	"",
};

/* A well-formed client key-method 2 on @ck: @sel picks peer info and credentials. */
static void client_km2(struct ckey *ck, unsigned int sel)
{
	static const char *const users[4][2] = {
		{ "alice", "secret" }, { NULL, NULL }, { "mallory", "x" }, { "", "" },
	};
	struct km2_msg m = {
		.options = sel & 0x10 ? "" : "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,"
			   "proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-client",
		.username = users[(sel >> 2) & 3][0],
		.password = users[(sel >> 2) & 3][1],
		.peer_info = peer_infos[sel & 3],
	};
	int n;

	if (!ck->tls || !ck->hs_done || km2_source_random(&m.src, true))
		return;
	n = km2_build(stream, sizeof(stream), &m, true);
	if (n > 0 && !tls_conn_write(ck->tls, stream, (size_t)n))
		ck->km2_sent = true;
	client_tls_out(ck);
}

/* Feeds what arrived on @ck to its TLS session; reads and drops the server's plaintext. */
static void client_pump(struct ckey *ck, uint8_t key_id)
{
	size_t n;
	ssize_t r;

	while (ck->tls && (n = reliable_read(ck->rel, stream, sizeof(stream))) > 0)
		if (tls_conn_input(ck->tls, stream, n))
			break;
	if (ck->tls && !ck->hs_done) {
		int rc = tls_conn_handshake(ck->tls);

		if (rc == TLS_HS_DONE) {
			ck->hs_done = true;
			if (key_id && fz.auto_km2 && !ck->km2_sent)
				client_km2(ck, 0);
		} else if (rc < 0) {
			client_tls_out(ck);	/* the alert */
			tls_conn_free(ck->tls);
			ck->tls = NULL;
		}
	}
	while (ck->tls && ck->hs_done && (r = tls_conn_read(ck->tls, rec, TLS_RECORD_MAX)) != 0)
		if (r < 0)
			break;
	client_tls_out(ck);
}

static void client_tls_start(struct ckey *ck, uint8_t key_id)
{
	if (ck->tls || !ck->rel || fz.tls_starts >= TLS_STARTS_MAX ||
	    tls_conn_create(&ck->tls, ck->ctx ? ck->ctx : fz.ctls))
		return;
	fz.tls_starts++;
	ck->hs_done = false;
	ck->km2_sent = false;
	client_pump(ck, key_id);
}

static void client_key_drop(struct ckey *ck)
{
	tls_conn_free(ck->tls);
	if (ck->rel)
		reliable_release(ck->rel);
	free(ck->rel);
	memset(ck, 0, sizeof(*ck));
}

/* Starts key state @key_id with our reset (hard for 0, soft otherwise). */
static struct ckey *client_key_begin(uint8_t key_id)
{
	struct ckey *ck = &fz.keys[key_id];
	uint8_t op = key_id ? P_CONTROL_SOFT_RESET_V1 :
		     fz.wrap == FIRSTPKT_WRAP_TLS_CRYPT_V2 ? P_CONTROL_HARD_RESET_CLIENT_V3 :
		     P_CONTROL_HARD_RESET_CLIENT_V2;

	/* Like a client's lame duck: only the key before this one stays. */
	for (int i = 0; i < KEY_ID_COUNT; i++)
		if (i == key_id || i != fz.cur)
			client_key_drop(&fz.keys[i]);
	fz.cur = key_id;
	if (key_id)
		ck->ctx = fz.reneg_ctls;
	ck->rel = calloc(1, sizeof(*ck->rel));
	if (!ck->rel)
		abort();
	reliable_init(ck->rel, key_id, client_sid, TLS_TIMEOUT_DEFAULT_SEC * 1000,
		      reliable_max_payload(TLS_MTU_DEFAULT, false,
					   tlswrap_overhead(fz.cw, P_CONTROL_V1)));
	if (fz.has_ssid)
		reliable_set_peer_sid(ck->rel, fz.ssid);
	if (reliable_send_msg(ck->rel, op, NULL, 0))
		abort();
	return ck;
}

/* One datagram from the server. */
static void client_input(const uint8_t *buf, size_t len)
{
	struct ckey *ck;
	struct ctlpkt p;
	int n = tlswrap_unwrap(fz.cw, buf, len, plain, sizeof(plain), fz.now);
	int rc;

	if (n < 0 || ctlpkt_parse(&p, plain, (size_t)n))
		return;
	ck = &fz.keys[p.key_id];
	/* The server renegotiates: answer with our soft reset. */
	if (!ck->rel && p.opcode == P_CONTROL_SOFT_RESET_V1 && p.key_id)
		ck = client_key_begin(p.key_id);
	if (!ck->rel)
		return;
	rc = reliable_input(ck->rel, &p);
	if (rc < 0)
		return;
	if (rc == RELIABLE_IN_NEW && !p.key_id && p.opcode == P_CONTROL_HARD_RESET_SERVER_V2) {
		memcpy(fz.ssid, p.sid, SID_LEN);
		fz.has_ssid = true;
		ck->wkc_resend = fz.wrap == FIRSTPKT_WRAP_TLS_CRYPT_V2;
	}
	if (rc == RELIABLE_IN_NEW && p.key_id && p.opcode == P_CONTROL_SOFT_RESET_V1)
		client_tls_start(ck, p.key_id);
	client_pump(ck, p.key_id);
}

/* Takes the keys once ready, as ctrl/server/server.c does after every call. */
static void server_poll(void)
{
	struct session_keys k;

	if (!fz.srv || fz.manual_take || srvsess_state(fz.srv) != SRVSESS_KEYS_READY)
		return;
	if (srvsess_take_keys(fz.srv, &k))
		abort();
	(void)srvsess_take_retired(fz.srv);
}

/* Shuttles datagrams both ways until neither side has anything to send. */
static void settle(void)
{
	for (int i = 0; i < SETTLE_MAX; i++) {
		bool any = client_flush();

		while (fz.s2c.head != fz.s2c.tail) {
			unsigned int h = fz.s2c.head++ % QMAX;

			client_input(fz.s2c.buf[h], fz.s2c.len[h]);
			any = true;
		}
		server_poll();
		if (!any)
			return;
	}
}

#endif
