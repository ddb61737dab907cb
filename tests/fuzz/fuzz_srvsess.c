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
 * Files: the fixed world (RNG, PKI, contexts, options) is srvsess_fixture.h,
 * the client half and the wire srvsess_client.h; this file holds the setup,
 * the stages and the ops. The three are one translation unit.
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

#include "srvsess_fixture.h"

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

#include "srvsess_client.h"


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
