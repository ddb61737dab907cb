/*
 * fuzz_srvsess.c - libFuzzer harness for the server's control-channel
 * session (ctrl/server/srvsess.h): reliability layer, TLS record input, the
 * client's key-method-2 message, control messages, accept/reject,
 * renegotiation and the timers, all fed hostile input.
 *
 * The harness is the client: its own wrapping (the same mode as the
 * server's, so wrapped fuzzer bytes pass the outer HMAC/tag check), a
 * struct reliable and a TLS client session per key_id, built from the
 * same pieces as ctrl/client/session.c but driven by the input. The session is
 * made as ctrl/server/server.c makes it: the client's reset goes to a firstpkt
 * classifier, its REPLY back to the client, the third packet (CREATE)
 * to srvsess_create. Everything else travels through two in-memory
 * queues; a fake monotonic clock moves only on TICK ops.
 *
 * Input: byte 0 = setup
 *   bits 0-1 wrapping: none, tls-auth, tls-crypt, tls-crypt-v2
 *   bits 2-3 stage reached before the ops run:
 *            0 session just created (third packet a bare ack, TLS not started),
 *            1 TLS handshake done (server waits for key-method 2),
 *            2 + the client's key-method 2 (server in AUTH),
 *            3 + accepted and keys taken (ACTIVE, the push went out)
 *   bits 4-5 client TLS: cert + TLS 1.3, cert + TLS 1.2, no cert + 1.3, no cert + 1.2
 *   bit  6   server: verify-client-cert optional (else require)
 *   bit  7   server: reneg-sec 20 20 (else off)
 * byte 1 = flags
 *   bit 0    the client sends its key-method 2 by itself on renegotiated keys
 *   bit 1    stage 2+: key-method 2 without IV_PROTO_REQUEST_PUSH
 *   bit 2    stage 3: legacy PRF keys (else EKM)
 *   bit 3    keys are taken only by OP_TAKE (else as soon as they are ready)
 *   bit 4    the client's TLS on renegotiated keys has another certificate (CN client2)
 * then ops, each an op byte (mod OP_COUNT) and its arguments; see enum op.
 *
 * Determinism: OpenSSL's RNG is replaced by a counter stream (RAND_METHOD)
 * reset for every input, the PKI (EC P-256, made with the OpenSSL API at
 * start) has fixed validity dates, so the same input replays the same
 * handshake byte for byte in any process. Only the replay timestamp the
 * server's wrapping stamps comes from the real clock: it changes the bytes
 * of tls-auth/tls-crypt packets, not their fate. Speed: every input replays
 * its handshake. An OpenSSL session cannot be copied, and forking a prepared
 * session per input was tried: under ASan a fork, its copy-on-write faults
 * and the hand-offs cost as much as the handshake they save (143 exec/s
 * against 415 in process, on the same loaded 2-core machine). So the client
 * starts at most TLS_STARTS_MAX per input, and OpenSSL allocates
 * outside ASan (osslmem.h: 1.5-2x, 200-400 exec/s on one core); an input
 * that leaves OpenSSL blocks behind on two runs in a row is a finding.
 *
 * The session code logs warnings to stderr for most bad inputs; unless
 * FUZZ_SRVSESS_LOG is set the harness adds -close_fd_mask=2 to the
 * arguments (libFuzzer keeps its own output and the sanitizer reports).
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* RAND_set_rand_method: the deterministic RNG */

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../core/log.h"
#include "../../crypto/tlswrap.h"
#include "../../crypto/wkc.h"
#include "../../ctrl/proto/ctlpkt.h"
#include "../../ctrl/server/firstpkt.h"
#include "../../ctrl/proto/km2.h"
#include "../../ctrl/config/options.h"
#include "../../ctrl/proto/reliable.h"
#include "../../ctrl/server/srvsess.h"
#include "../../ctrl/proto/tls.h"
#include "osslmem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS		1000000000LL
#define START_NS	(1000 * NS)
#define WALL_SEC	1500000000LL	/* firstpkt's wall clock: before the real one */
#define N_WRAPS		4
#define N_CLIENT_TLS	4
#define QMAX		64
#define HIST		16
#define DGRAM_MAX	FIRSTPKT_DGRAM_MAX
#define OPS_MAX		128
#define SETTLE_MAX	64
/* TLS handshakes the client starts per input: each costs ~1-2 ms under ASan. */
#define TLS_STARTS_MAX	3

enum op {
	OP_DGRAM,	/* [flags][len 2][bytes]: a datagram to the server (see op_dgram) */
	OP_TLS_DATA,	/* [len 2][bytes]: one TLS record of plaintext on the current key */
	OP_TLS_RAW,	/* [len 2][bytes]: raw TLS stream bytes on the current key */
	OP_HANDSHAKE,	/* start the client's TLS on the current key */
	OP_KM2,		/* [sel]: a well-formed client key-method 2 */
	OP_MSG,		/* [sel]: a control message from the client (table) */
	OP_ACCEPT,	/* [sel]: srvsess_accept */
	OP_REJECT,	/* [sel]: srvsess_reject */
	OP_TAKE,	/* take keys and retired key_ids */
	OP_TICK,	/* [t]: advance the clock, srvsess_tick, client retransmits */
	OP_SOFT_RESET,	/* [k]: the client renegotiates */
	OP_KEY,		/* [k]: switch the client's current key_id */
	OP_REPLAY,	/* [i]: resend an earlier client datagram */
	OP_DROP,	/* [n]: lose the next n datagrams (bit 7: client's, else server's) */
	OP_TEXT,	/* [sel]: srvsess_send_text */
	OP_QUERY,	/* stats, idle, next timeout, client strings */
	OP_COUNT
};

/* ---- deterministic RNG -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int rng_bytes(unsigned char *buf, int num)
{
	uint64_t z = 0;

	for (int i = 0; i < num; i++) {
		if (!(i & 7))
			z = rng_next();
		buf[i] = (unsigned char)(z >> (8 * (i & 7)));
	}
	return 1;
}

static int rng_seed(const void *buf, int num)
{
	(void)buf;
	(void)num;
	return 1;
}

static int rng_add(const void *buf, int num, double entropy)
{
	(void)buf;
	(void)num;
	(void)entropy;
	return 1;
}

static int rng_status(void)
{
	return 1;
}

static RAND_METHOD rng_method = {
	.seed = rng_seed,
	.bytes = rng_bytes,
	.add = rng_add,
	.pseudorand = rng_bytes,
	.status = rng_status,
};

/* ---- PKI ------------------------------------------------------------------------ */

static char *pem_ca, *pem_srv_crt, *pem_srv_key, *pem_cli_crt, *pem_cli_key;
static char *pem_cli2_crt, *pem_cli2_key;		/* another CN: "client2" */

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_srvsess: init: %s failed\n", what);
		abort();
	}
}

static void pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	must(e && X509_add_ext(x, e, -1), "X509_add_ext");
	X509_EXTENSION_free(e);
}

/* @eku NULL: a CA. Fixed dates, so the certificate is the same in every run. */
static X509 *pki_cert(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
		      EVP_PKEY *ikey, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	must(x && name, "X509_new");
	must(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"Sluice Fuzz", -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
					-1, -1, 0), "X509_NAME");
	must(X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	     X509_set_subject_name(x, name) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
	     ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20200101000000Z") &&
	     ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "20491231000000Z") &&
	     X509_set_pubkey(x, key), "X509 fields");
	X509_NAME_free(name);
	if (!eku) {
		pki_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		pki_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		pki_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		pki_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		pki_ext(x, issuer, NID_ext_key_usage, eku);
	}
	must(X509_sign(x, ikey, EVP_sha256()) > 0, "X509_sign");
	return x;
}

static char *pem_of(X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	must(b && (x ? PEM_write_bio_X509(b, x) :
		   PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)), "PEM write");
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	must(out != NULL, "strndup");
	BIO_free(b);
	return out;
}

static void pki_make(void)
{
	EVP_PKEY *ck = EVP_EC_gen("P-256"), *sk = EVP_EC_gen("P-256");
	EVP_PKEY *lk = EVP_EC_gen("P-256"), *lk2 = EVP_EC_gen("P-256");
	X509 *ca, *srv, *cli, *cli2;

	must(ck && sk && lk && lk2, "EVP_EC_gen");
	ca = pki_cert(ck, "Sluice Fuzz CA", 1, NULL, ck, NULL);
	srv = pki_cert(sk, "fuzz-server", 2, ca, ck, "serverAuth");
	cli = pki_cert(lk, "client1", 3, ca, ck, "clientAuth");
	cli2 = pki_cert(lk2, "client2", 4, ca, ck, "clientAuth");
	pem_ca = pem_of(ca, NULL);
	pem_srv_crt = pem_of(srv, NULL);
	pem_srv_key = pem_of(NULL, sk);
	pem_cli_crt = pem_of(cli, NULL);
	pem_cli_key = pem_of(NULL, lk);
	pem_cli2_crt = pem_of(cli2, NULL);
	pem_cli2_key = pem_of(NULL, lk2);
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	X509_free(cli2);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(lk2);
}

/* ---- fixed server-side state ---------------------------------------------------- */

static uint8_t static_key[KEY2_LEN], v2_server_key[WKC_SERVER_KEY_LEN];
static char v2_pem[2048];
static const uint8_t cookie_key[COOKIE_KEY_LEN] = { 0x5e, 0x55, 0x10, 0x4e };
static const uint8_t client_sid[SID_LEN] = { 0xc1, 0x1e, 0x47, 0x5e, 0x55, 0x10, 0x4e, 0x01 };
static struct firstpkt *classifiers[N_WRAPS];
static struct tls_ctx *srv_tls[2];		/* client cert required / optional */
/* Client: cert + TLS 1.3, cert + 1.2, no cert + 1.3, no cert + 1.2, client2 + 1.3. */
static struct tls_ctx *cli_tls[N_CLIENT_TLS + 1];
static struct options srv_opt[2];		/* reneg-sec off / 20 */
static FILE *devnull;
static char long_push[4096];

/* Client key file: Kc || WKc made with the server key, PEM (as openvpn --genkey). */
static void make_v2_pem(void)
{
	static uint8_t der[KEY2_LEN + WKC_DEFAULT_LEN];
	static const uint8_t meta[9] = { WKC_META_TYPE_TIMESTAMP, 0, 0, 0, 0, 0x65, 0, 0, 1 };
	struct wkc_server *ws;
	char line[80], *p = v2_pem;

	for (int i = 0; i < KEY2_LEN; i++)
		der[i] = (uint8_t)(i * 29 + 17);
	must(!wkc_server_create(&ws, v2_server_key) &&
	     wkc_wrap(ws, der, meta, sizeof(meta), der + KEY2_LEN, WKC_DEFAULT_LEN) ==
	     WKC_DEFAULT_LEN, "wkc_wrap");
	wkc_server_free(ws);
	p += sprintf(p, "-----BEGIN OpenVPN tls-crypt-v2 client key-----\n");
	for (size_t off = 0; off < sizeof(der); off += 48) {
		size_t n = sizeof(der) - off < 48 ? sizeof(der) - off : 48;

		EVP_EncodeBlock((unsigned char *)line, der + off, (int)n);
		p += sprintf(p, "%s\n", line);
	}
	sprintf(p, "-----END OpenVPN tls-crypt-v2 client key-----\n");
}

static void make_tls(void)
{
	char err[512];

	for (int i = 0; i < 2; i++) {
		struct tls_conf tc = {
			.is_server = true,
			.ca = { pem_ca, true },
			.cert = { pem_srv_crt, true },
			.key = { pem_srv_key, true },
			.remote_cert_tls = TLS_CERT_TLS_CLIENT,
			.client_cert = i ? TLS_CLIENT_CERT_OPTIONAL : TLS_CLIENT_CERT_REQUIRE,
		};

		if (tls_ctx_create(&srv_tls[i], &tc, err, sizeof(err))) {
			fprintf(stderr, "fuzz_srvsess: %s\n", err);
			abort();
		}
	}
	for (int i = 0; i <= N_CLIENT_TLS; i++) {
		bool cert = i < 2 || i == N_CLIENT_TLS;
		struct tls_conf tc = {
			.ca = { pem_ca, true },
			.cert = { !cert ? NULL : i < 2 ? pem_cli_crt : pem_cli2_crt, true },
			.key = { !cert ? NULL : i < 2 ? pem_cli_key : pem_cli2_key, true },
			.version_max = i & 1 ? TLS_VER_1_2 : TLS_VER_DEFAULT,
			.remote_cert_tls = TLS_CERT_TLS_SERVER,
		};

		if (tls_ctx_create(&cli_tls[i], &tc, err, sizeof(err))) {
			fprintf(stderr, "fuzz_srvsess: %s\n", err);
			abort();
		}
	}
}

static void make_options(void)
{
	static const char *const text[2] = {
		"mode server\ntls-server\ndev tun\nca ca.crt\ncert s.crt\nkey s.key\ndh none\n"
		"hand-window 30\ntran-window 10\nreneg-sec 0\n",
		"mode server\ntls-server\ndev tun\nca ca.crt\ncert s.crt\nkey s.key\ndh none\n"
		"hand-window 30\ntran-window 10\nreneg-sec 20 20\n",
	};
	char err[512];

	for (int i = 0; i < 2; i++) {
		options_init(&srv_opt[i]);
		if (options_load_buffer(&srv_opt[i], "fuzz.conf", text[i], strlen(text[i]), err,
					sizeof(err)) ||
		    options_finalize(&srv_opt[i], err, sizeof(err))) {
			fprintf(stderr, "fuzz_srvsess: options: %s\n", err);
			abort();
		}
	}
}

static void make_classifiers(void)
{
	for (int w = 0; w < N_WRAPS; w++) {
		struct firstpkt_cfg fc = {
			.wrap = (enum firstpkt_wrap)w,
			.key = w == FIRSTPKT_WRAP_TLS_CRYPT_V2 ? v2_server_key :
			       w == FIRSTPKT_WRAP_NONE ? NULL : static_key,
			.auth_direction = 0,
			.cookie_key = cookie_key,
			.budget_unlimited = true,
		};

		must(!firstpkt_create(&classifiers[w], &fc), "firstpkt_create");
	}
}

/* Without FUZZ_SRVSESS_LOG: -close_fd_mask=2, unless the caller chose a mask. */
static void quiet_args(int *argc, char ***argv)
{
	static char mask[] = "-close_fd_mask=2";
	static char *args[256];

	if (getenv("FUZZ_SRVSESS_LOG") || *argc < 1 || *argc > 250)
		return;
	for (int i = 0; i < *argc; i++) {
		if (!strncmp((*argv)[i], "-close_fd_mask", 14))
			return;
		args[i] = (*argv)[i];
	}
	args[*argc] = mask;
	args[++*argc] = NULL;
	*argv = args;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	osslmem_init();
	quiet_args(argc, argv);
	log_init(getenv("FUZZ_SRVSESS_LOG") ? atoi(getenv("FUZZ_SRVSESS_LOG")) : 0, 0);
	must(RAND_set_rand_method(&rng_method), "RAND_set_rand_method");
	for (int i = 0; i < KEY2_LEN; i++)
		static_key[i] = (uint8_t)(i * 11 + 1);
	for (int i = 0; i < WKC_SERVER_KEY_LEN; i++)
		v2_server_key[i] = (uint8_t)(i * 7 + 3);
	pki_make();
	make_v2_pem();
	make_tls();
	make_options();
	make_classifiers();
	{
		char *p = long_push;

		p += sprintf(p, "ifconfig 198.19.1.2 255.255.255.0,peer-id 5,cipher AES-256-GCM,"
			     "topology subnet,ping 10,ping-restart 60");
		for (int i = 0; i < 60; i++)
			p += sprintf(p, ",route 198.19.%d.0 255.255.255.0", 100 + i);
	}
	devnull = fopen("/dev/null", "w");
	must(devnull != NULL, "fopen /dev/null");
	return 0;
}

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

/* ---- setup ------------------------------------------------------------------------ */

static const char push_ekm[] =
	"ifconfig 198.19.1.2 255.255.255.0,peer-id 5,cipher AES-256-GCM,"
	"protocol-flags cc-exit tls-ekm,key-derivation tls-ekm,topology subnet,ping 10,"
	"ping-restart 60";
static const char push_prf[] =
	"ifconfig 198.19.1.2 255.255.255.0,peer-id 5,cipher AES-256-GCM,"
	"protocol-flags cc-exit,topology subnet,ping 10,ping-restart 60";

static int fz_wrap_create(void)
{
	switch (fz.wrap) {
	case FIRSTPKT_WRAP_NONE:
		return tlswrap_create_none(&fz.cw);
	case FIRSTPKT_WRAP_TLS_AUTH:
		return tlswrap_create_auth(&fz.cw, static_key, 1, NULL);
	case FIRSTPKT_WRAP_TLS_CRYPT:
		return tlswrap_create_crypt(&fz.cw, static_key, false);
	default:
		return tlswrap_create_crypt_v2_client(&fz.cw, v2_pem, true);
	}
}

static void fz_setup(uint8_t b0, uint8_t b1)
{
	memset(&fz, 0, offsetof(struct fz, s2c));
	fz.s2c.head = fz.s2c.tail = 0;
	fz.hist_n = 0;
	fz.wrap = b0 & 3;
	fz.ctls = cli_tls[(b0 >> 4) & 3];
	fz.cfg = (struct srvsess_cfg){
		.o = &srv_opt[b0 >> 7],
		.tctx = srv_tls[(b0 >> 6) & 1],
		.wrap = (enum firstpkt_wrap)fz.wrap,
		.wrap_key = fz.wrap == FIRSTPKT_WRAP_TLS_AUTH ||
			    fz.wrap == FIRSTPKT_WRAP_TLS_CRYPT ? static_key : NULL,
		.auth_direction = 0,
	};
	fz.auto_km2 = b1 & 1;
	fz.km2_no_push = b1 & 2;
	fz.manual_take = b1 & 8;
	fz.reneg_ctls = b1 & 0x10 ? cli_tls[N_CLIENT_TLS] : NULL;
	fz.now = START_NS;
	if (fz_wrap_create())
		abort();
}

/* Reset, reply, third packet: the session exists; then up to @stage. */
static void fz_stage(unsigned int stage, bool prf)
{
	struct ckey *ck = client_key_begin(0);
	struct srvsess_accept a = {
		.push = prf ? push_prf : push_ekm, .cipher = DC_AES_256_GCM, .peer_id = 5,
		.ekm = !prf,
	};

	client_flush();		/* the reset; the classifier's reply is queued */
	while (fz.s2c.head != fz.s2c.tail) {
		unsigned int h = fz.s2c.head++ % QMAX;

		client_input(fz.s2c.buf[h], fz.s2c.len[h]);
	}
	if (!fz.has_ssid)
		abort();
	if (stage == 0) {
		/* The third packet carries no TLS: a bare ack (an empty WKC_V1 for v2). */
		if (fz.wrap == FIRSTPKT_WRAP_TLS_CRYPT_V2 &&
		    !reliable_send_msg(ck->rel, P_CONTROL_WKC_V1, NULL, 0))
			ck->wkc_resend = false;
		settle();
		if (!fz.srv)
			abort();
		return;
	}
	client_tls_start(ck, 0);
	settle();
	if (!fz.srv)
		abort();
	if (stage == 1 || !ck->hs_done)
		return;
	client_km2(ck, fz.km2_no_push ? 1 : 0);
	settle();
	if (stage == 2 || srvsess_state(fz.srv) != SRVSESS_AUTH)
		return;
	if (srvsess_accept(fz.srv, &a))
		abort();
	settle();
}

static void fz_teardown(void)
{
	srvsess_free(fz.srv);
	fz.srv = NULL;
	for (int i = 0; i < KEY_ID_COUNT; i++)
		client_key_drop(&fz.keys[i]);
	tlswrap_free(fz.cw);
	fz.cw = NULL;
}

/* ---- ops ---------------------------------------------------------------------------- */

struct reader {
	const uint8_t *p;
	size_t n;
};

static unsigned int rd_u8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

/* [len 2][bytes], the length clipped to what is left. */
static const uint8_t *rd_blob(struct reader *r, size_t *len)
{
	const uint8_t *p;

	*len = rd_u8(r) << 8;
	*len |= rd_u8(r);
	if (*len > r->n)
		*len = r->n;
	p = r->p;
	r->p += *len;
	r->n -= *len;
	return p;
}

/*
 * flags bit 0: wrap with the client's wrapping (else the bytes are the
 * wire datagram); bit 1: write our session id at 1..8 and, with a valid
 * ack count, the server's after the acks; bit 2: key_id := current key.
 */
static void op_dgram(struct reader *r)
{
	static uint8_t buf[DGRAM_MAX];
	unsigned int flags = rd_u8(r);
	size_t len;
	const uint8_t *p = rd_blob(r, &len);

	if (!(flags & 1)) {
		client_send(p, len);
		return;
	}
	if (len < 9 || len > sizeof(buf))
		return;
	memcpy(buf, p, len);
	if (flags & 2) {
		memcpy(buf + 1, client_sid, SID_LEN);
		if (buf[9] && buf[9] <= RELIABLE_ACK_SIZE && len >= 10 + 4u * buf[9] + SID_LEN)
			memcpy(buf + 10 + 4 * buf[9], fz.ssid, SID_LEN);
	}
	if (flags & 4)
		buf[0] = (uint8_t)((buf[0] & ~7) | fz.cur);
	client_wrap_send(buf, len);
}

/* Control messages a client might send, NUL included (sizeof). */
#define MSG(s)	{ s, sizeof(s) }
static const struct {
	const char *text;
	size_t len;
} client_msgs[] = {
	MSG("PUSH_REQUEST"), MSG("EXIT"), MSG("PUSH_REQUEST\0PUSH_REQUEST"),
	MSG("INFO_PRE,hello"), MSG("ACC,1,2,x"), MSG("CR_RESPONSE,YWJj"), MSG("RESTART"),
	MSG("AUTH_FAILED"), MSG("PUSH_REQUEST\r\n"), MSG("\x01junk"),
	MSG("PUSH_REPLY,route 1.2.3.4"), MSG(""), MSG("\0\0\0"), MSG("EXIT\0PUSH_REQUEST"),
	MSG("HALT"), MSG("PUSH_REQUEST"),
};

static void op_msg(unsigned int sel)
{
	struct ckey *ck = &fz.keys[fz.cur];

	sel %= sizeof(client_msgs) / sizeof(client_msgs[0]);
	if (ck->tls && ck->hs_done &&
	    !tls_conn_write(ck->tls, client_msgs[sel].text, client_msgs[sel].len))
		client_tls_out(ck);
}

static void op_tls_data(struct reader *r)
{
	struct ckey *ck = &fz.keys[fz.cur];
	size_t len;
	const uint8_t *p = rd_blob(r, &len);

	if (len && len <= TLS_RECORD_MAX && ck->tls && ck->hs_done &&
	    !tls_conn_write(ck->tls, p, len))
		client_tls_out(ck);
}

static void op_tls_raw(struct reader *r)
{
	struct ckey *ck = &fz.keys[fz.cur];
	size_t len;
	const uint8_t *p = rd_blob(r, &len);

	if (ck->rel)
		reliable_write(ck->rel, P_CONTROL_V1, p, len);
}

static void op_accept(unsigned int sel)
{
	static const enum dc_cipher ciphers[] = {
		DC_AES_256_GCM, DC_AES_128_GCM, DC_CHACHA20_POLY1305, DC_CIPHER_NONE,
	};
	const char *const pushes[] = { push_ekm, push_prf, long_push, "route 1.2.3.0\n,x", "" };
	struct srvsess_accept a = {
		.push = pushes[(sel & 7) % 5],
		.cipher = ciphers[(sel >> 3) & 3],
		.peer_id = sel >> 6,
		.ekm = sel & 0x20,
	};

	(void)srvsess_accept(fz.srv, &a);
}

static void op_reject(unsigned int sel)
{
	static char longest[600];
	const char *const reasons[] = { NULL, "bad password", "x\ny", longest, "", "TEMP" };

	if (!longest[0])
		memset(longest, 'r', sizeof(longest) - 1);
	srvsess_reject(fz.srv, reasons[sel % 6]);
}

static void op_text(unsigned int sel)
{
	static char longest[3000];
	const char *const texts[] = { "RESTART", "HALT", "EXIT", "RESTART,[N]", "INFO,x",
				      "bad\x02", longest };

	if (!longest[0])
		memset(longest, 't', sizeof(longest) - 1);
	(void)srvsess_send_text(fz.srv, texts[sel % 7], fz.now);
}

static void op_take(void)
{
	struct session_keys k;

	if (srvsess_state(fz.srv) == SRVSESS_KEYS_READY && srvsess_take_keys(fz.srv, &k))
		abort();
	(void)srvsess_take_retired(fz.srv);
}

/* t 0: to the server's next timer (at most 200 s); bit 7: t & 127 s; else t * 50 ms. */
static void op_tick(unsigned int t)
{
	int64_t next = srvsess_next_timeout(fz.srv, fz.now);

	if (!t)
		fz.now = next > fz.now && next - fz.now < 200 * NS ? next : fz.now + 200 * NS;
	else if (t & 0x80)
		fz.now += (int64_t)(t & 0x7f) * NS;
	else
		fz.now += (int64_t)t * (NS / 20);
	srvsess_tick(fz.srv, fz.now);
}

/*
 * k bit 3: the successor of the current key_id (as a client would), else
 * k & 7; bit 4: TLS with client2's certificate, bit 5: without one (the
 * server refuses a CN change).
 */
static void op_soft_reset(unsigned int k)
{
	unsigned int next = fz.cur >= KEY_ID_COUNT - 1 ? 1u : fz.cur + 1u;
	struct ckey *ck = client_key_begin((uint8_t)(k & 8 ? next : k & 7));

	if (k & 0x30)
		ck->ctx = cli_tls[k & 0x10 ? N_CLIENT_TLS : 2];
}

static void op_query(void)
{
	const struct srvsess_client *c = srvsess_client(fz.srv);
	/* strlen: ASan checks every string the caller may read. */
	volatile size_t n = strlen(c->common_name) + strlen(c->username) +
			    strlen(c->password) + strlen(c->peer_info) + strlen(c->options);

	(void)n;
	srvsess_write_stats(fz.srv, devnull);
	(void)srvsess_next_timeout(fz.srv, fz.now);
	(void)srvsess_idle(fz.srv);
}

static void op_run(unsigned int op, struct reader *r)
{
	unsigned int a;

	switch (op) {
	case OP_DGRAM:
		op_dgram(r);
		break;
	case OP_TLS_DATA:
		op_tls_data(r);
		break;
	case OP_TLS_RAW:
		op_tls_raw(r);
		break;
	case OP_HANDSHAKE:
		client_tls_start(&fz.keys[fz.cur], fz.cur);
		break;
	case OP_KM2:
		client_km2(&fz.keys[fz.cur], rd_u8(r));
		break;
	case OP_MSG:
		op_msg(rd_u8(r));
		break;
	case OP_ACCEPT:
		op_accept(rd_u8(r));
		break;
	case OP_REJECT:
		op_reject(rd_u8(r));
		break;
	case OP_TAKE:
		op_take();
		break;
	case OP_TICK:
		op_tick(rd_u8(r));
		break;
	case OP_SOFT_RESET:
		op_soft_reset(rd_u8(r));
		break;
	case OP_KEY:
		fz.cur = rd_u8(r) & 7;
		break;
	case OP_REPLAY:
		a = rd_u8(r);
		if (fz.hist_n)
			to_server(fz.hist[a % MIN(fz.hist_n, HIST)],
				  fz.hist_len[a % MIN(fz.hist_n, HIST)]);
		break;
	case OP_DROP:
		a = rd_u8(r);
		if (a & 0x80)
			fz.drop_c2s += a & 7;
		else
			fz.drop_s2c += a & 7;
		break;
	case OP_TEXT:
		op_text(rd_u8(r));
		break;
	default:
		op_query();
		break;
	}
}

static void fz_one(const uint8_t *data, size_t size)
{
	struct reader r = { data + 2, size - 2 };

	rng_state = 0;
	fz_setup(data[0], data[1]);
	fz_stage((data[0] >> 2) & 3, data[1] & 4);
	/* EXITED / FAILED: ctrl/server/server.c reaps the session; so do we. */
	for (int i = 0; i < OPS_MAX && r.n && srvsess_state(fz.srv) < SRVSESS_EXITED; i++) {
		op_run(rd_u8(&r) % OP_COUNT, &r);
		settle();
	}
	fz_teardown();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long live;

	if (size < 2)
		return 0;
	live = osslmem_live();
	fz_one(data, size);
	if (osslmem_live() > live) {
		/* OpenSSL cached something, or an OpenSSL object leaked: a leak grows again. */
		live = osslmem_live();
		fz_one(data, size);
		if (osslmem_live() > live)
			osslmem_leak_abort("fuzz_srvsess", osslmem_live() - live);
	}
	return 0;
}
