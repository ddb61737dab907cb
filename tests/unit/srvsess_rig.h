/*
 * srvsess_rig.h - the in-memory rig of the srvsess tests (srvsess_test.c,
 * srvsess_flow_test.c): a throwaway PKI, a client session (ctrl/client) and
 * a server (firstpkt + srvsess) joined by two datagram queues, a fake clock
 * that jumps to the next timer, a fixed loss pattern, and stat lookups.
 * Include from one .c file, after harness.h and pki.h; a test uses the
 * parts it needs (the helpers are marked __unused).
 */
#ifndef SLUICE_TEST_SRVSESS_RIG_H
#define SLUICE_TEST_SRVSESS_RIG_H
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../../core/log.h"
#include "../../crypto/wkc.h"
#include "../../ctrl/server/firstpkt.h"
#include "../../ctrl/config/options.h"
#include "../../ctrl/client/creds.h"
#include "../../ctrl/client/session.h"
#include "../../ctrl/server/srvpush.h"
#include "../../ctrl/server/srvsess.h"
#include "../../ctrl/proto/tls.h"
#include "../../core/compiler.h"
#include "harness.h"
#include "pki.h"

#define NS		1000000000LL
#define QMAX		256
#define DGRAM_MAX	4096

static __unused char err[512];

/* ---- PKI and keys -------------------------------------------------------------- */

static const char pki_script[] =
	PKI_SCRIPT_HEAD
	"ca ca '/C=DE/O=Sluice Test/CN=Sluice Test CA'\n"
	"leaf server '/C=DE/O=Sluice Test/CN=ovw-server' v3_server ca 2\n"
	"leaf client '/C=DE/O=Sluice Test/CN=client1' v3_client ca 3\n"
	"printf 'alice\\nsecret\\n' > up.txt\n";

static __unused uint8_t static_key[KEY2_LEN];		/* ta.key / tc.key */
static __unused uint8_t v2_server_key[WKC_SERVER_KEY_LEN];

/* "OpenVPN Static key V1" text of @key (§2.4). */
static __unused void write_static_key(const char *name, const uint8_t key[KEY2_LEN])
{
	char text[PKI_STATIC_KEY_TEXT_MAX];

	pki_static_key_text(text, key);
	pki_write(name, text);
}

/* Client key file: Kc || WKc wrapped with the server key, PEM (as openvpn --genkey). */
static __unused void write_v2_client_key(const char *name)
{
	static uint8_t der[KEY2_LEN + TLS_CRYPT_V2_MAX_WKC_LEN];
	static const uint8_t meta[9] = { WKC_META_TYPE_TIMESTAMP, 0, 0, 0, 0, 0x65, 0, 0, 1 };
	static char pem[4096];
	struct wkc_server *ws;
	int n;

	REQUIRE(RAND_bytes(der, KEY2_LEN) == 1, "RAND_bytes");
	REQUIRE(!wkc_server_create(&ws, v2_server_key), "wkc_server_create");
	n = wkc_wrap(ws, der, meta, sizeof(meta), der + KEY2_LEN, TLS_CRYPT_V2_MAX_WKC_LEN);
	REQUIRE(n == WKC_DEFAULT_LEN, "wkc_wrap: %d", n);
	wkc_server_free(ws);
	pki_pem_text(pem, "OpenVPN tls-crypt-v2 client key", der, KEY2_LEN + (size_t)n);
	pki_write(name, pem);
}

static __unused void make_pki(void)
{
	pki_make("srvsess", pki_script);
	REQUIRE(RAND_bytes(static_key, sizeof(static_key)) == 1, "RAND_bytes");
	REQUIRE(RAND_bytes(v2_server_key, sizeof(v2_server_key)) == 1, "RAND_bytes");
	write_static_key("ta.key", static_key);
	write_v2_client_key("v2client.key");
}

/* ---- the two ends ----------------------------------------------------------------- */

struct queue {
	unsigned int head, tail;
	bool last_lost;			/* never lose two in a row: bounded retries */
	size_t len[QMAX];
	uint8_t buf[QMAX][DGRAM_MAX];
};

struct rig {
	struct options *copt, *sopt;
	struct session *cli;
	struct firstpkt *fp;
	struct tls_ctx *stctx;
	struct srvsess_cfg cfg;
	struct srvsess *srv;
	struct queue c2s, s2c;
	bool drop_s2c;			/* lose everything the server sends */
	bool drop_after_create;		/* ... from the moment the session exists */
	unsigned int loss_pct;		/* lose this share of datagrams both ways */
	uint64_t rng;			/* deterministic loss pattern */
	unsigned int lost, sent;
	unsigned int fp_drops;
};

static __unused int64_t now = 1000 * NS;
static __unused struct firstpkt_result fres;
static __unused struct rig rig;			/* one at a time: big queues */

static __unused int queue_send(void *arg, const uint8_t *buf, size_t len)
{
	struct queue *q = arg;

	REQUIRE(len <= DGRAM_MAX, "datagram of %zu bytes", len);
	if (q == &rig.s2c && rig.drop_s2c)
		return 0;
	rig.sent++;
	if (rig.loss_pct) {
		/* splitmix64: a fixed, well-spread loss pattern. */
		uint64_t z = (rig.rng += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		if (!q->last_lost && (z ^ (z >> 31)) % 100 < rig.loss_pct) {
			q->last_lost = true;
			rig.lost++;
			return 0;
		}
		q->last_lost = false;
	}
	if (q->tail - q->head == QMAX)
		return -ENOBUFS;
	memcpy(q->buf[q->tail % QMAX], buf, len);
	q->len[q->tail % QMAX] = len;
	q->tail++;
	return 0;
}

static const struct session_io cli_io = { queue_send, &rig.c2s };
static const struct session_io srv_io = { queue_send, &rig.s2c };

enum wrap { W_NONE, W_AUTH, W_CRYPT, W_V2 };

struct setup {
	enum wrap wrap;
	unsigned int cli_reneg, srv_reneg;	/* 0 = off */
	unsigned int tran_window;		/* 0 = default */
	bool no_ekm;				/* client does not announce EKM */
	bool cli_ovpn3;				/* client answers soft resets with TLS only */
	bool srv_ack_only;			/* server answers soft resets with TLS only */
	bool srv_exact;				/* server reneg-sec without jitter */
	const char *up;				/* client's auth file (default up.txt) */
};

static __unused struct options *options_make(const char *text)
{
	struct options *o = malloc(sizeof(*o));

	REQUIRE(o, "malloc");
	options_init(o);
	REQUIRE(!options_load_buffer(o, "t.conf", text, strlen(text), err, sizeof(err)) &&
		!options_finalize(o, err, sizeof(err)), "options: %s\n%s", err, text);
	return o;
}

static const char *wrap_line(enum wrap w, bool server)
{
	static char line[256];

	switch (w) {
	case W_AUTH:
		snprintf(line, sizeof(line), "tls-auth %s %d\n", pki_path("ta.key"),
			 server ? 0 : 1);
		return line;
	case W_CRYPT:
		snprintf(line, sizeof(line), "tls-crypt %s\n", pki_path("ta.key"));
		return line;
	case W_V2:
		if (server)
			return "";	/* the classifier and srvsess get the keys directly */
		snprintf(line, sizeof(line), "tls-crypt-v2 %s\n", pki_path("v2client.key"));
		return line;
	default:
		return "";
	}
}

static __unused void rig_up(const struct setup *su)
{
	static const enum firstpkt_wrap fw[] = {
		[W_NONE] = FIRSTPKT_WRAP_NONE, [W_AUTH] = FIRSTPKT_WRAP_TLS_AUTH,
		[W_CRYPT] = FIRSTPKT_WRAP_TLS_CRYPT, [W_V2] = FIRSTPKT_WRAP_TLS_CRYPT_V2,
	};
	static const uint8_t cookie_key[COOKIE_KEY_LEN] = { 0x5e, 0x55 };
	static char text[2048];
	char tw[64] = "";
	struct firstpkt_cfg fc = {
		.wrap = fw[su->wrap],
		.key = su->wrap == W_V2 ? v2_server_key : su->wrap == W_NONE ? NULL : static_key,
		.auth_direction = 0,
		.cookie_key = cookie_key,
		.budget_unlimited = true,
	};
	struct tls_conf tc = {
		.is_server = true,
		.ca = { pki_path("ca.crt"), false },
		.cert = { pki_path("server.crt"), false },
		.key = { pki_path("server.key"), false },
		.remote_cert_tls = TLS_CERT_TLS_CLIENT,
	};

	memset(&rig, 0, sizeof(rig));
	if (su->tran_window)
		snprintf(tw, sizeof(tw), "tran-window %u\n", su->tran_window);
	snprintf(text, sizeof(text),
		 "client\ndev tun\nremote 198.18.0.1 1194\nca %s\ncert %s\nkey %s\n"
		 "remote-cert-tls server\nauth-user-pass %s\nreneg-sec %u\n%s%s%s%s",
		 pki_path("ca.crt"), pki_path("client.crt"), pki_path("client.key"),
		 pki_path(su->up ? su->up : "up.txt"), su->cli_reneg, tw, wrap_line(su->wrap, false),
		 su->no_ekm ? "test-no-ekm\n" : "", su->cli_ovpn3 ? "test-reneg-ovpn3\n" : "");
	rig.copt = options_make(text);
	snprintf(text, sizeof(text),
		 "mode server\ntls-server\ndev tun\nca %s\ncert %s\nkey %s\ndh none\n"
		 "reneg-sec %u %u\n%s%s",
		 pki_path("ca.crt"), pki_path("server.crt"), pki_path("server.key"), su->srv_reneg,
		 su->srv_exact ? su->srv_reneg : su->srv_reneg * 9 / 10, tw,
		 wrap_line(su->wrap, true));
	rig.sopt = options_make(text);
	REQUIRE(!session_create(&rig.cli, rig.copt, &cli_io, err, sizeof(err)), "client: %s", err);
	REQUIRE(!tls_ctx_create(&rig.stctx, &tc, err, sizeof(err)), "server TLS: %s", err);
	REQUIRE(!firstpkt_create(&rig.fp, &fc), "firstpkt_create");
	rig.cfg = (struct srvsess_cfg){
		.o = rig.sopt,
		.tctx = rig.stctx,
		.wrap = fc.wrap,
		.wrap_key = su->wrap == W_AUTH || su->wrap == W_CRYPT ? static_key : NULL,
		.auth_direction = 0,
	};
	REQUIRE(!session_start(rig.cli, now), "session_start");
}

static __unused void rig_down(void)
{
	srvsess_free(rig.srv);
	session_free(rig.cli);
	firstpkt_free(rig.fp);
	tls_ctx_put(rig.stctx);
	options_free(rig.copt);
	options_free(rig.sopt);
	free(rig.copt);
	free(rig.sopt);
	rig.srv = NULL;
	rig.cli = NULL;
	creds_forget();	/* the client's credentials live for the process; each case has its own */
}

/* One client datagram to the server side. */
static __unused void to_server(const uint8_t *buf, size_t len)
{
	union sockaddr_any src = { .in4 = { .sin_family = AF_INET, .sin_port = htons(40000) } };
	int64_t wall = (int64_t)time(NULL) * NS;

	if (rig.srv) {
		srvsess_input(rig.srv, buf, len, now);
		return;
	}
	inet_pton(AF_INET, "198.18.0.2", &src.in4.sin_addr);
	switch (firstpkt_classify(rig.fp, buf, len, &src, sizeof(src.in4), wall, &fres)) {
	case FIRSTPKT_REPLY:
		REQUIRE(!queue_send(&rig.s2c, fres.reply, fres.reply_len), "queue full");
		break;
	case FIRSTPKT_CREATE:
		rig.drop_s2c = rig.drop_after_create;
		REQUIRE(!srvsess_create(&rig.srv, &rig.cfg, &srv_io, &fres, buf, len, now),
			"srvsess_create");
		break;
	default:
		rig.fp_drops++;
		break;
	}
}

/* Delivers queued datagrams both ways until both queues are empty. */
static __unused void deliver(void)
{
	for (int i = 0; i < 100000; i++) {
		bool any = false;

		if (rig.c2s.head != rig.c2s.tail) {
			unsigned int h = rig.c2s.head++ % QMAX;

			to_server(rig.c2s.buf[h], rig.c2s.len[h]);
			any = true;
		}
		if (rig.s2c.head != rig.s2c.tail) {
			unsigned int h = rig.s2c.head++ % QMAX;

			session_input(rig.cli, rig.s2c.buf[h], rig.s2c.len[h], now);
			any = true;
		}
		if (!any)
			return;
	}
	REQUIRE(0, "datagrams never stop");
}

static __unused void tick(void)
{
	session_tick(rig.cli, now);
	if (rig.srv)
		srvsess_tick(rig.srv, now);
}

static __unused enum srvsess_state srv_state(void)
{
	return rig.srv ? srvsess_state(rig.srv) : SRVSESS_TLS;
}

/*
 * Runs both ends until @done() holds, moving the clock to the next timer
 * either side has; false if it does not hold within @max_sec seconds.
 */
static __unused bool run(bool (*done)(void), unsigned int max_sec)
{
	int64_t end = now + (int64_t)max_sec * NS;

	for (int i = 0; i < 20000; i++) {
		int64_t t;

		deliver();
		if (done())
			return true;
		t = session_next_timeout(rig.cli, now);
		if (rig.srv && srvsess_next_timeout(rig.srv, now) < t)
			t = srvsess_next_timeout(rig.srv, now);
		if (t > end)
			return false;
		if (t > now)
			now = t;
		tick();
	}
	return false;
}

static __unused bool srv_auth(void)
{
	return srv_state() == SRVSESS_AUTH;
}

static __unused bool cli_keys(void)
{
	return session_state(rig.cli) == SESSION_KEYS_READY;
}

static __unused bool both_keys(void)
{
	return session_state(rig.cli) == SESSION_KEYS_READY && srv_state() == SRVSESS_KEYS_READY;
}

static __unused bool cli_over(void)
{
	return session_state(rig.cli) >= SESSION_RESTART;
}

static __unused bool srv_over(void)
{
	return srv_state() >= SRVSESS_EXITED;
}

static __unused bool quiet(void)
{
	return false;
}

/* Takes both ends' keys and checks they agree. */
static __unused void keys_match(uint8_t key_id, bool is_reneg, uint32_t peer_id)
{
	struct session_keys ck, sk;

	REQUIRE(!session_take_keys(rig.cli, &ck), "client keys");
	REQUIRE(!srvsess_take_keys(rig.srv, &sk), "server keys");
	CHECK(!memcmp(ck.key2, sk.key2, KEY2_LEN), "key2 differs (key_id %u)", key_id);
	CHECK(ck.key_id == key_id && sk.key_id == key_id, "key_id %u/%u, expected %u",
	      ck.key_id, sk.key_id, key_id);
	CHECK(ck.is_reneg == is_reneg && sk.is_reneg == is_reneg, "is_reneg %d/%d", ck.is_reneg,
	      sk.is_reneg);
	CHECK(ck.cipher == DC_AES_256_GCM && sk.cipher == DC_AES_256_GCM, "cipher %d/%d",
	      ck.cipher, sk.cipher);
	CHECK(ck.tx_peer_id == peer_id && sk.tx_peer_id == peer_id, "peer-id %u/%u",
	      ck.tx_peer_id, sk.tx_peer_id);
	CHECK(session_state(rig.cli) == SESSION_ACTIVE, "client state %d", session_state(rig.cli));
	CHECK(srv_state() == SRVSESS_ACTIVE, "server state %d", srv_state());
}

static const char push_ekm[] =
	"ifconfig 198.19.1.2 255.255.255.0,peer-id 5,cipher AES-256-GCM,"
	"protocol-flags cc-exit tls-ekm,key-derivation tls-ekm,topology subnet,ping 10,"
	"ping-restart 60";
static const char push_prf[] =
	"ifconfig 198.19.1.2 255.255.255.0,peer-id 5,cipher AES-256-GCM,"
	"protocol-flags cc-exit,topology subnet,ping 10,ping-restart 60";

/* Handshake up to the server's AUTH; checks what the client told. */
static __unused void to_auth(void)
{
	const struct srvsess_client *c;

	REQUIRE(run(srv_auth, 60), "server never reached AUTH (state %d, client %d)", srv_state(),
		session_state(rig.cli));
	c = srvsess_client(rig.srv);
	CHECK(!strcmp(c->common_name, "client1"), "CN '%s'", c->common_name);
	CHECK(!strcmp(c->username, "alice") && !strcmp(c->password, "secret"),
	      "user '%s' pass '%s'", c->username, c->password);
	CHECK(c->peer.has_ciphers && strstr(c->peer.ciphers, "AES-256-GCM"), "IV_CIPHERS '%s'",
	      c->peer.ciphers);
	CHECK(strstr(c->peer_info, "IV_PROTO=") != NULL, "peer info '%s'", c->peer_info);
	CHECK(c->peer.iv_proto & IV_PROTO_REQUEST_PUSH, "IV_PROTO %u", c->peer.iv_proto);
	CHECK(strstr(c->options, ",tls-client") != NULL, "options '%s'", c->options);
}

/* Accepts with @push; both ends reach their keys; returns after taking them. */
static __unused void accept_and_keys(const char *push, bool ekm)
{
	struct srvsess_accept a = {
		.push = push, .cipher = DC_AES_256_GCM, .peer_id = 5, .ekm = ekm,
	};

	REQUIRE(!srvsess_accept(rig.srv, &a), "srvsess_accept");
	/* The client asked for a push in IV_PROTO: it went out at once. */
	CHECK(srv_state() == SRVSESS_KEYS_READY, "server state %d after accept", srv_state());
	REQUIRE(run(cli_keys, 60), "client never got keys (state %d)", session_state(rig.cli));
	keys_match(0, false, 5);
	CHECK(!!(rig.copt->protocol_flags & OPT_PROTO_TLS_EKM) == ekm, "client flags %x",
	      rig.copt->protocol_flags);
}

/* The value of "ctrl.@name=" in the stats text @buf. */
static __unused unsigned long long stat_find(const char *buf, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "ctrl.%s=", name);
	p = strstr(buf, key);
	REQUIRE(p, "no stat %s", name);
	return strtoull(p + strlen(key), NULL, 10);
}

/* A counter from srvsess_write_stats. */
static __unused unsigned long long srv_stat(const char *name)
{
	static char buf[2048];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	REQUIRE(f, "fmemopen");
	srvsess_write_stats(rig.srv, f);
	fclose(f);
	return stat_find(buf, name);
}

/* A counter from session_write_stats (the client). */
static __unused unsigned long long cli_stat(const char *name)
{
	static char buf[2048];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	REQUIRE(f, "fmemopen");
	session_write_stats(rig.cli, f);
	fclose(f);
	return stat_find(buf, name);
}

static __unused bool keys_or_over(void)
{
	return both_keys() || cli_over() || srv_over();
}

#endif
