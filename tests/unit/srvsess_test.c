/*
 * srvsess_test.c - ctrl/server/srvsess.c (and ctrl/server/srvpush.c) against our own client
 * (ctrl/client/session.c) in memory: no sockets, a fake monotonic clock.
 *
 * A throwaway PKI is made with the openssl CLI in a private temp dir (skip,
 * exit 77, if it is missing); static keys and the tls-crypt-v2 keys are made
 * here (crypto/wkc.h wraps the client key as `openvpn --genkey` would).
 * Each case builds a client session from a config text and a server
 * (firstpkt classifier + srvsess) and shuttles datagrams through two queues:
 * until the server session exists, client datagrams go to firstpkt_classify
 * (REPLY goes back, CREATE makes the session), then to srvsess_input. The
 * clock only moves to the next timer either side asks for. The lossy cases
 * drop datagrams on a fixed splitmix64 pattern (SRVSESS_TEST_SEED picks
 * another), never two in a row in one direction, so retries stay bounded.
 * SRVSESS_TEST_VERB=1|2 shows both ends' logs.
 */
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
#include "harness.h"
#include "pki.h"

#define NS		1000000000LL
#define QMAX		256
#define DGRAM_MAX	4096

static char err[512];

/* ---- PKI and keys -------------------------------------------------------------- */

static const char pki_script[] =
	PKI_SCRIPT_HEAD
	"ca ca '/C=DE/O=Sluice Test/CN=Sluice Test CA'\n"
	"leaf server '/C=DE/O=Sluice Test/CN=ovw-server' v3_server ca 2\n"
	"leaf client '/C=DE/O=Sluice Test/CN=client1' v3_client ca 3\n"
	"printf 'alice\\nsecret\\n' > up.txt\n";

static uint8_t static_key[KEY2_LEN];		/* ta.key / tc.key */
static uint8_t v2_server_key[WKC_SERVER_KEY_LEN];

/* "OpenVPN Static key V1" text of @key (§2.4). */
static void write_static_key(const char *name, const uint8_t key[KEY2_LEN])
{
	char text[PKI_STATIC_KEY_TEXT_MAX];

	pki_static_key_text(text, key);
	pki_write(name, text);
}

/* Client key file: Kc || WKc wrapped with the server key, PEM (as openvpn --genkey). */
static void write_v2_client_key(const char *name)
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

static void make_pki(void)
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

static int64_t now = 1000 * NS;
static struct firstpkt_result fres;
static struct rig rig;			/* one at a time: big queues */

static int queue_send(void *arg, const uint8_t *buf, size_t len)
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

static struct options *options_make(const char *text)
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

static void rig_up(const struct setup *su)
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

static void rig_down(void)
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
static void to_server(const uint8_t *buf, size_t len)
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
static void deliver(void)
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

static void tick(void)
{
	session_tick(rig.cli, now);
	if (rig.srv)
		srvsess_tick(rig.srv, now);
}

static enum srvsess_state srv_state(void)
{
	return rig.srv ? srvsess_state(rig.srv) : SRVSESS_TLS;
}

/*
 * Runs both ends until @done() holds, moving the clock to the next timer
 * either side has; false if it does not hold within @max_sec seconds.
 */
static bool run(bool (*done)(void), unsigned int max_sec)
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

static bool srv_auth(void)
{
	return srv_state() == SRVSESS_AUTH;
}

static bool cli_keys(void)
{
	return session_state(rig.cli) == SESSION_KEYS_READY;
}

static bool both_keys(void)
{
	return session_state(rig.cli) == SESSION_KEYS_READY && srv_state() == SRVSESS_KEYS_READY;
}

static bool cli_over(void)
{
	return session_state(rig.cli) >= SESSION_RESTART;
}

static bool srv_over(void)
{
	return srv_state() >= SRVSESS_EXITED;
}

static bool quiet(void)
{
	return false;
}

/* Takes both ends' keys and checks they agree. */
static void keys_match(uint8_t key_id, bool is_reneg, uint32_t peer_id)
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
static void to_auth(void)
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
static void accept_and_keys(const char *push, bool ekm)
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
static unsigned long long stat_find(const char *buf, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "ctrl.%s=", name);
	p = strstr(buf, key);
	REQUIRE(p, "no stat %s", name);
	return strtoull(p + strlen(key), NULL, 10);
}

/* A counter from srvsess_write_stats. */
static unsigned long long srv_stat(const char *name)
{
	static char buf[2048];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	REQUIRE(f, "fmemopen");
	srvsess_write_stats(rig.srv, f);
	fclose(f);
	return stat_find(buf, name);
}

/* A counter from session_write_stats (the client). */
static unsigned long long cli_stat(const char *name)
{
	static char buf[2048];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	REQUIRE(f, "fmemopen");
	session_write_stats(rig.cli, f);
	fclose(f);
	return stat_find(buf, name);
}

/* ---- cases ------------------------------------------------------------------------- */

static void case_basic(enum wrap w, const char *name)
{
	struct setup su = { .wrap = w };

	printf("basic handshake, %s\n", name);
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	CHECK(rig.copt->has_peer_id && rig.copt->peer_id == 5, "client peer-id");
	CHECK(rig.fp_drops == 0, "classifier dropped %u", rig.fp_drops);
	CHECK(srv_stat("rx_unwrap_errs") == 0 && srv_stat("rx_parse_errs") == 0,
	      "bad datagrams on a clean run");
	/* Our first packet after the stateless reset is no replay to the client. */
	CHECK(cli_stat("rx_unwrap_errs") == 0, "client unwrap errors %llu",
	      cli_stat("rx_unwrap_errs"));
	/* EXIT from the client (cc-exit was pushed). */
	CHECK(session_send_exit(rig.cli, now), "session_send_exit");
	deliver();
	CHECK(srv_state() == SRVSESS_EXITED, "server state %d after EXIT", srv_state());
	rig_down();
}

static void case_prf(void)
{
	struct setup su = { .wrap = W_NONE };

	printf("legacy PRF keys\n");
	rig_up(&su);
	to_auth();
	/* Left in AUTH, the client asks for the push; it is kept for the accept. */
	CHECK(!run(quiet, 2), "quiet");
	CHECK(srv_state() == SRVSESS_AUTH, "state %d", srv_state());
	CHECK(srv_stat("push_requests") >= 1, "push requests %llu", srv_stat("push_requests"));
	accept_and_keys(push_prf, false);
	rig_down();

	printf("legacy PRF keys, client without EKM\n");
	su.no_ekm = true;
	rig_up(&su);
	to_auth();
	CHECK(!(srvsess_client(rig.srv)->peer.iv_proto & IV_PROTO_TLS_KEY_EXPORT), "IV_PROTO %u",
	      srvsess_client(rig.srv)->peer.iv_proto);
	accept_and_keys(push_prf, false);
	rig_down();
}

static void case_reject(void)
{
	struct setup su = { .wrap = W_CRYPT };

	printf("reject\n");
	rig_up(&su);
	to_auth();
	srvsess_reject(rig.srv, "bad password");
	CHECK(srv_state() == SRVSESS_REJECTED, "server state %d after reject", srv_state());
	CHECK(run(cli_over, 10), "client did not stop");
	CHECK(session_state(rig.cli) == SESSION_FAILED, "client state %d", session_state(rig.cli));
	CHECK(run(srv_over, 10), "server did not end");
	CHECK(srv_state() == SRVSESS_FAILED, "server state %d", srv_state());
	rig_down();

	/* The AUTH_FAILED is never acknowledged: FAILED after the linger time. */
	printf("reject, client gone\n");
	rig_up(&su);
	to_auth();
	rig.drop_s2c = true;
	srvsess_reject(rig.srv, NULL);
	for (int i = 0; i < 100 && srv_state() == SRVSESS_REJECTED; i++) {
		now += NS / 2;
		srvsess_tick(rig.srv, now);
	}
	CHECK(srv_state() == SRVSESS_FAILED, "server state %d", srv_state());
	rig_down();
}

static bool keys_or_over(void)
{
	return both_keys() || cli_over() || srv_over();
}

static void case_reneg_client(void)
{
	struct setup su = { .wrap = W_AUTH, .cli_reneg = 5 };

	printf("client renegotiation, key_id 1..7 and wrap to 1\n");
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	for (unsigned int i = 1; i <= 8; i++) {
		uint8_t kid = i <= 7 ? (uint8_t)i : 1;
		/* Renegotiation i replaces the lame duck: the key before the previous. */
		unsigned int want = i >= 2 ? 1u << (i - 2) : 0;

		REQUIRE(run(keys_or_over, 20) && both_keys(),
			"renegotiation %u: client %d server %d", i, session_state(rig.cli),
			srv_state());
		keys_match(kid, true, 5);
		/* The lame duck before the previous key is gone once a third key is in. */
		CHECK(session_take_retired(rig.cli) == want, "client retired (reneg %u)", i);
		CHECK(srvsess_take_retired(rig.srv) == want, "server retired (reneg %u)", i);
	}
	CHECK(srv_stat("renegotiations") == 8, "renegotiations %llu", srv_stat("renegotiations"));
	CHECK(srv_stat("key_id") == 1, "key_id");
	rig_down();
}

static void case_reneg_server(enum wrap w, const char *name)
{
	struct setup su = { .wrap = w, .srv_reneg = 9, .tran_window = 5 };
	unsigned int cm = 0, sm = 0;

	printf("server renegotiation, tran-window, %s\n", name);
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	REQUIRE(run(keys_or_over, 20) && both_keys(), "renegotiation: client %d server %d",
		session_state(rig.cli), srv_state());
	keys_match(1, true, 5);
	/* Past tran-window the key_id 0 lame duck is retired on both ends. */
	CHECK(!run(quiet, 6), "quiet");
	cm = session_take_retired(rig.cli);
	sm = srvsess_take_retired(rig.srv);
	CHECK(cm == 1 && sm == 1, "retired after tran-window: client %x server %x", cm, sm);
	CHECK(srv_state() == SRVSESS_ACTIVE, "server state %d", srv_state());
	/* The next one starts reneg-sec after key_id 1 became active. */
	REQUIRE(run(keys_or_over, 20) && both_keys(), "second renegotiation");
	keys_match(2, true, 5);
	rig_down();
}

static void case_garbage(void)
{
	struct setup su = { .wrap = W_NONE };
	uint8_t buf[512];
	enum srvsess_state st;
	unsigned long long bad;

	printf("garbage to an established session\n");
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	st = srv_state();
	/* Random bytes, a truncated packet, a forged session id, an unknown key_id. */
	for (int i = 0; i < 64; i++) {
		REQUIRE(RAND_bytes(buf, sizeof(buf)) == 1, "RAND_bytes");
		srvsess_input(rig.srv, buf, (size_t)(i * 7) % sizeof(buf), now);
	}
	buf[0] = P_CONTROL_V1 << 3;
	srvsess_input(rig.srv, buf, 5, now);
	memset(buf, 0, 64);
	buf[0] = P_CONTROL_V1 << 3;		/* wrong sid, no acks, mid 2 */
	buf[13] = 2;
	srvsess_input(rig.srv, buf, 20, now);
	buf[0] = P_CONTROL_V1 << 3 | 5;		/* key_id 5 */
	srvsess_input(rig.srv, buf, 20, now);
	buf[0] = P_CONTROL_HARD_RESET_SERVER_V2 << 3;
	srvsess_input(rig.srv, buf, 14, now);
	buf[0] = P_DATA_V2 << 3;
	srvsess_input(rig.srv, buf, 40, now);
	CHECK(srv_state() == st, "state %d -> %d", st, srv_state());
	bad = srv_stat("rx_unwrap_errs") + srv_stat("rx_parse_errs") + srv_stat("rx_other_key") +
	      srv_stat("rx_reliable_drops");
	CHECK(bad == 69, "bad datagrams counted: %llu of 69", bad);
	CHECK(rig.s2c.head == rig.s2c.tail, "server answered garbage");
	/* Still alive: EXIT gets through. */
	CHECK(session_send_exit(rig.cli, now), "session_send_exit");
	deliver();
	CHECK(srv_state() == SRVSESS_EXITED, "server state %d after EXIT", srv_state());
	rig_down();

	printf("replayed and garbage datagrams, tls-crypt\n");
	su.wrap = W_CRYPT;
	rig_up(&su);
	to_auth();
	st = srv_state();
	REQUIRE(RAND_bytes(buf, sizeof(buf)) == 1, "RAND_bytes");
	buf[0] = P_CONTROL_V1 << 3;
	srvsess_input(rig.srv, buf, 300, now);
	CHECK(srv_stat("rx_unwrap_errs") == 1, "unwrap errors %llu", srv_stat("rx_unwrap_errs"));
	CHECK(srv_state() == st, "state %d -> %d", st, srv_state());
	accept_and_keys(push_ekm, true);
	rig_down();
}

static void case_lossy(enum wrap w, const char *name)
{
	struct setup su = { .wrap = w, .cli_reneg = 20 };
	int64_t start = now;

	printf("up to 40%% loss both ways, %s\n", name);
	rig_up(&su);
	rig.loss_pct = 40;
	rig.rng = getenv("SRVSESS_TEST_SEED") ? strtoull(getenv("SRVSESS_TEST_SEED"), NULL, 0) : 1;
	to_auth();
	accept_and_keys(push_ekm, true);
	REQUIRE(run(keys_or_over, 60) && both_keys(), "renegotiation: client %d server %d",
		session_state(rig.cli), srv_state());
	keys_match(1, true, 5);
	CHECK(rig.lost >= 3, "only %u of %u datagrams lost", rig.lost, rig.sent);
	printf("  %u of %u datagrams lost, %.1f s\n", rig.lost, rig.sent,
	       (double)(now - start) / NS);
	CHECK(cli_stat("rx_unwrap_errs") == 0 && srv_stat("rx_unwrap_errs") == 0,
	      "unwrap errors (client %llu server %llu)", cli_stat("rx_unwrap_errs"),
	      srv_stat("rx_unwrap_errs"));
	rig_down();
}

static void case_long_push(void)
{
	struct setup su = { .wrap = W_NONE };
	static char push[8192];
	char *p = push;

	printf("long push with push-continuation\n");
	p += sprintf(p, "%s", push_ekm);
	for (int i = 0; i < 60; i++)
		p += sprintf(p, ",route 198.19.%d.0 255.255.255.0", 100 + i);
	rig_up(&su);
	to_auth();
	accept_and_keys(push, true);
	CHECK(rig.copt->routes.n == 60, "client routes %zu", rig.copt->routes.n);
	CHECK(srv_stat("push_replies") == 1, "push replies %llu", srv_stat("push_replies"));
	rig_down();
}

static void case_send_text(void)
{
	struct setup su = { .wrap = W_NONE };

	printf("RESTART and HALT to the client\n");
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	CHECK(srvsess_send_text(rig.srv, "RESTART", now), "send RESTART");
	CHECK(run(cli_over, 10), "client ignored RESTART");
	CHECK(session_state(rig.cli) == SESSION_RESTART, "client state %d", session_state(rig.cli));
	rig_down();

	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	CHECK(srvsess_send_text(rig.srv, "HALT", now), "send HALT");
	CHECK(run(cli_over, 10), "client ignored HALT");
	CHECK(session_state(rig.cli) == SESSION_FAILED, "client state %d", session_state(rig.cli));
	rig_down();
}

static void case_hand_window(void)
{
	struct setup su = { .wrap = W_AUTH };

	printf("hand-window\n");
	rig_up(&su);
	/* The client's reset, our reply, its ClientHello: then the client hears nothing. */
	rig.drop_after_create = true;
	deliver();
	REQUIRE(rig.srv, "no server session");
	CHECK(srv_state() == SRVSESS_TLS, "state %d", srv_state());
	for (int i = 0; i < 200 && srv_state() != SRVSESS_FAILED; i++) {
		int64_t t = srvsess_next_timeout(rig.srv, now);

		REQUIRE(t != INT64_MAX, "no timer while negotiating");
		now = t > now ? t : now;
		srvsess_tick(rig.srv, now);
	}
	CHECK(srv_state() == SRVSESS_FAILED, "state %d", srv_state());
	CHECK(srv_stat("rel_tx_retransmits") >= 3, "retransmits %llu",
	      srv_stat("rel_tx_retransmits"));
	rig_down();
}

/* srvpush by itself: sizes, markers, and nothing lost. */
static void case_push_split(void)
{
	static char push[16384], joined[16384];
	struct srvpush_iter it;
	const char *m;
	char *p = push;
	int n = 0;

	printf("push splitting\n");
	srvpush_iter_init(&it, "");
	m = srvpush_next(&it);
	CHECK(m && !strcmp(m, "PUSH_REPLY"), "empty push: '%s'", m ? m : "(null)");
	CHECK(!srvpush_next(&it), "one message only");
	srvpush_iter_init(&it, "route 1.2.3.0 255.255.255.0,ping 10");
	m = srvpush_next(&it);
	CHECK(m && !strcmp(m, "PUSH_REPLY,route 1.2.3.0 255.255.255.0,ping 10"), "'%s'", m);
	CHECK(!srvpush_next(&it), "one message only");
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "%sroute 10.%d.%d.0 255.255.255.0", i ? "," : "", i / 7, i);
	CHECK(srvpush_check(push) == 0, "check");
	srvpush_iter_init(&it, push);
	joined[0] = '\0';
	while ((m = srvpush_next(&it)) != NULL) {
		const char *body = m + strlen("PUSH_REPLY,");
		const char *tail = strstr(m, ",push-continuation ");
		bool last = it.is_done;

		n++;
		CHECK(strlen(m) < SRVPUSH_BUNDLE_SIZE, "message %d is %zu bytes", n, strlen(m));
		CHECK(tail && tail[19] == (last ? '1' : '2') && !tail[20], "marker of %d: '%s'", n,
		      tail ? tail : m);
		if (tail)
			sprintf(joined + strlen(joined), "%s%.*s", joined[0] ? "," : "",
				(int)(tail - body), body);
	}
	CHECK(n >= 7, "messages %d", n);
	CHECK(!strcmp(joined, push), "options lost or reordered");
	memset(push, 'x', 1000);
	push[1000] = '\0';
	CHECK(srvpush_check(push) == -EMSGSIZE, "too long");
	CHECK(srvpush_check("ping 10,route\n1") == -EINVAL, "control character");
	CHECK(srvpush_check(NULL) == 0, "NULL");
}

/*
 * A renegotiation in each order a peer may use (openvpn-wire.md §10; chan.h),
 * with dynamic tls-crypt over tls-crypt: the client answers the server's
 * soft reset with only TLS (the OpenVPN 3 core), the server answers the
 * client's with only TLS (so the client starts on the ack of its own), and
 * both soft resets cross. Each runs twice; the keys must match every time.
 */
static void case_reneg_orders(void)
{
	static const struct {
		const char *name;
		struct setup su;
		unsigned int cli_local, srv_local;
	} cases[] = {
		{ "server starts, client answers with TLS only",
		  { .wrap = W_CRYPT, .srv_reneg = 9, .cli_ovpn3 = true }, 0, 2 },
		{ "client starts, server answers with TLS only",
		  { .wrap = W_CRYPT, .cli_reneg = 9, .srv_ack_only = true }, 2, 0 },
		{ "both start at once (crossing soft resets)",
		  { .wrap = W_CRYPT, .cli_reneg = 9, .srv_reneg = 9, .srv_exact = true }, 2, 2 },
	};
	static const char push_dyn[] =
		"ifconfig 198.19.1.2 255.255.255.0,peer-id 5,cipher AES-256-GCM,"
		"protocol-flags cc-exit tls-ekm dyn-tls-crypt,topology subnet";

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct srvsess_accept a = {
			.push = push_dyn, .cipher = DC_AES_256_GCM, .peer_id = 5, .ekm = true,
			.dyn_tls_crypt = true,
		};

		printf("renegotiation order: %s\n", cases[i].name);
		rig_up(&cases[i].su);
		to_auth();
		CHECK(srvsess_client(rig.srv)->peer.iv_proto & IV_PROTO_DYN_TLS_CRYPT,
		      "client did not announce dyn-tls-crypt");
		srvsess_chan(rig.srv)->answer_reset_with_tls = cases[i].su.srv_ack_only;
		REQUIRE(!srvsess_accept(rig.srv, &a), "srvsess_accept");
		REQUIRE(run(cli_keys, 60), "client never got keys (state %d)", session_state(rig.cli));
		keys_match(0, false, 5);
		for (uint8_t kid = 1; kid <= 2; kid++) {
			REQUIRE(run(keys_or_over, 20) && both_keys(), "renegotiation %u: client %d "
			     "server %d", kid, session_state(rig.cli), srv_state());
			keys_match(kid, true, 5);
		}
		CHECK(cli_stat("reneg_local") == cases[i].cli_local, "client started %llu",
		      cli_stat("reneg_local"));
		CHECK(srv_stat("reneg_local") == cases[i].srv_local, "server started %llu",
		      srv_stat("reneg_local"));
		CHECK(cli_stat("dyn_tls_crypt") == 1 && srv_stat("dyn_tls_crypt") == 1,
		      "dynamic tls-crypt off");
		CHECK(cli_stat("dyn_wrapped") > 0 && srv_stat("dyn_wrapped") > 0,
		      "no packet wrapped with dynamic tls-crypt: client %llu server %llu",
		      cli_stat("dyn_wrapped"), srv_stat("dyn_wrapped"));
		CHECK(cli_stat("rx_unwrap_errs") == 0 && srv_stat("rx_unwrap_errs") == 0,
		      "unwrap errors: client %llu server %llu", cli_stat("rx_unwrap_errs"),
		      srv_stat("rx_unwrap_errs"));
		rig_down();
	}
}

/*
 * Deferred authentication: AUTH_PENDING,timeout N and INFO_PRE to our
 * client (it announces AUTH_PENDING_KW), which must wait past its own
 * hand-window for the decision, then AUTH_FAILED,TEMP, then a success.
 */
static void case_auth_pending(void)
{
	/* Both caps are max(reneg-sec / 2, hand-window): 1800 s here. */
	struct setup su = { .wrap = W_CRYPT, .cli_reneg = 3600, .srv_reneg = 3600 };
	struct srvsess_accept a = {
		.push = push_ekm, .cipher = DC_AES_256_GCM, .peer_id = 5, .ekm = true,
	};
	unsigned int backoff = 0;

	printf("AUTH_PENDING, INFO_PRE, then accepted after the client's hand-window\n");
	rig_up(&su);
	to_auth();
	CHECK(srvsess_client(rig.srv)->peer.iv_proto & IV_PROTO_AUTH_PENDING_KW,
	      "client did not announce AUTH_PENDING_KW");
	CHECK(srvsess_auth_pending(rig.srv, 100, "CR_TEXT:R,E:Enter code") == 0,
	      "srvsess_auth_pending");
	CHECK(srvsess_auth_pending(rig.srv, 100, "bad\x01extra") == -EINVAL, "bad extra taken");
	/* 70 s: beyond the client's hand-window of 60 s, within the 100 s asked for. */
	CHECK(!run(cli_over, 70), "client gave up during AUTH_PENDING (state %d)",
	      session_state(rig.cli));
	CHECK(session_auth_state(rig.cli) && !strcmp(session_auth_state(rig.cli), "AUTH_PENDING"),
	      "client auth state");
	CHECK(!strcmp(session_info_text(rig.cli), "CR_TEXT:R,E:Enter code"), "info '%s'",
	      session_info_text(rig.cli));
	CHECK(cli_stat("auth_pending") == 1, "auth_pending %llu", cli_stat("auth_pending"));
	REQUIRE(!srvsess_accept(rig.srv, &a), "srvsess_accept");
	REQUIRE(run(cli_keys, 20), "client never got keys (state %d)", session_state(rig.cli));
	keys_match(0, false, 5);
	CHECK(!session_auth_state(rig.cli), "AUTH_PENDING still shown");
	rig_down();

	printf("AUTH_FAILED,TEMP[backoff 7,advance remote]\n");
	rig_up(&su);
	to_auth();
	srvsess_reject(rig.srv, "TEMP[backoff 7,advance remote]: busy");
	REQUIRE(run(cli_over, 20), "client did not stop (state %d)", session_state(rig.cli));
	CHECK(session_state(rig.cli) == SESSION_RESTART, "client state %d, expected RESTART",
	      session_state(rig.cli));
	CHECK(session_take_auth_temp(rig.cli, &backoff) && backoff == 7, "TEMP backoff %u",
	      backoff);
	CHECK(session_take_next_remote(rig.cli), "advance remote not taken");
	rig_down();
}

/*
 * Control characters in what a client says about itself become '_' before
 * anything (scripts, files, status, logs) sees them, as stock remaps them.
 */
static void case_remap(void)
{
	struct setup su = { .wrap = W_NONE, .up = "up-ctl.txt" };
	const struct srvsess_client *c;
	FILE *f = fopen(pki_path("up-ctl.txt"), "w");

	printf("control characters in the username and password\n");
	REQUIRE(f, "cannot write up-ctl.txt");
	fputs("ali\001ce\tbob\033[31m\nsec\177ret\r\n", f);
	fclose(f);
	rig_up(&su);
	REQUIRE(run(srv_auth, 60), "server never reached AUTH");
	c = srvsess_client(rig.srv);
	CHECK(!strcmp(c->username, "ali_ce_bob_[31m"), "username '%s'", c->username);
	CHECK(!strcmp(c->password, "sec_ret"), "password '%s'", c->password);
	CHECK(!strchr(c->peer_info, '\r') && !strchr(c->peer_info, '\t'), "peer info kept a "
	      "control character");
	rig_down();
}

int main(void)
{
	make_pki();
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(getenv("SRVSESS_TEST_VERB") ? atoi(getenv("SRVSESS_TEST_VERB")) : 0, 0);
	case_push_split();
	case_basic(W_NONE, "no wrapping");
	case_basic(W_AUTH, "tls-auth");
	case_basic(W_CRYPT, "tls-crypt");
	case_basic(W_V2, "tls-crypt-v2");
	case_prf();
	case_reject();
	case_reneg_client();
	case_reneg_server(W_NONE, "no wrapping");
	case_reneg_server(W_V2, "tls-crypt-v2");
	case_reneg_orders();
	case_auth_pending();
	case_remap();
	case_garbage();
	case_lossy(W_NONE, "no wrapping");
	case_lossy(W_CRYPT, "tls-crypt");
	case_lossy(W_V2, "tls-crypt-v2");
	case_long_push();
	case_send_text();
	case_hand_window();
	return harness_done("srvsess_test");
}
