/*
 * fuzz_firstpkt.c - libFuzzer harness for the UDP server's stateless
 * first-packet classifier (ctrl/server/firstpkt.h).
 *
 * Input: byte 0 picks the wrapping (mod 4: none, tls-auth, tls-crypt,
 * tls-crypt-v2) and, in bit 2, the mode:
 *   raw:    the datagram is bytes 16.. as they are;
 *   sealed: bytes 16.. are a plain control packet; if it has an ack array,
 *           the harness writes the valid cookie for its client sid and
 *           source into the peer sid (so the CREATE path is reached), then
 *           wraps it with the matching client wrapping (WKc appended for
 *           opcodes 10/11).
 * Bytes 1..15 give the source (bit 0 of byte 1: v4 or v6; port; address)
 * and the time offset (seconds and ns, bounded).
 *
 * Invariants, checked by recomputation with an independent cookie key
 * object: CREATE only for opcodes 4/5/11, key_id 0, an ack array holding 0
 * and nothing above 1, message id <= 1, and a peer sid that is the cookie
 * of the current or previous slot; REPLY only with a reply whose own sid is
 * the current cookie. Classifiers are created once (they keep no
 * per-client state, so inputs are independent); client wrappings are
 * created per input so a crash reproduces from its input.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../core/clock.h"
#include "../../crypto/tlswrap.h"
#include "../../ctrl/server/firstpkt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_WRAPS		4
#define HDR_BYTES	16
#define HAND_WINDOW	60
#define BASE_SEC	1700000000ll

static uint8_t key[KEY2_LEN], skey[WKC_SERVER_KEY_LEN], kc[KEY2_LEN];
static const uint8_t ckey[COOKIE_KEY_LEN] = { 0xf0, 0x22 };
static char v2_pem[2048];
static struct firstpkt *fps[N_WRAPS];
static struct cookie_key ref;
static struct firstpkt_result res;

static void make_v2_pem(void)
{
	static uint8_t der[KEY2_LEN + WKC_DEFAULT_LEN];
	static const uint8_t meta[9] = { WKC_META_TYPE_TIMESTAMP, 0, 0, 0, 0, 0x65, 0, 0, 1 };
	struct wkc_server *s;
	char line[80], *p = v2_pem;

	if (wkc_server_create(&s, skey) ||
	    wkc_wrap(s, kc, meta, sizeof(meta), der + KEY2_LEN, WKC_DEFAULT_LEN) != WKC_DEFAULT_LEN)
		abort();
	wkc_server_free(s);
	memcpy(der, kc, KEY2_LEN);
	p += sprintf(p, "-----BEGIN OpenVPN tls-crypt-v2 client key-----\n");
	for (size_t off = 0; off < sizeof(der); off += 48) {
		size_t n = sizeof(der) - off < 48 ? sizeof(der) - off : 48;

		EVP_EncodeBlock((unsigned char *)line, der + off, (int)n);
		p += sprintf(p, "%s\n", line);
	}
	sprintf(p, "-----END OpenVPN tls-crypt-v2 client key-----\n");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < KEY2_LEN; i++) {
		key[i] = (uint8_t)(i * 11 + 1);
		kc[i] = (uint8_t)(i * 29 + 17);
	}
	for (int i = 0; i < WKC_SERVER_KEY_LEN; i++)
		skey[i] = (uint8_t)(i * 7 + 3);
	make_v2_pem();
	for (int w = 0; w < N_WRAPS; w++) {
		struct firstpkt_cfg cfg = {
			.wrap = (enum firstpkt_wrap)w,
			.key = w == FIRSTPKT_WRAP_TLS_CRYPT_V2 ? skey : key,
			.auth_direction = 0,
			.cookie_key = ckey,
			.hand_window_sec = HAND_WINDOW,
			.budget_unlimited = true,
		};

		if (firstpkt_create(&fps[w], &cfg))
			abort();
	}
	if (cookie_init(&ref, ckey))
		abort();
	return 0;
}

static struct tlswrap *client_create(int w)
{
	struct tlswrap *c = NULL;
	int rc;

	switch (w) {
	case FIRSTPKT_WRAP_NONE:
		rc = tlswrap_create_none(&c);
		break;
	case FIRSTPKT_WRAP_TLS_AUTH:
		rc = tlswrap_create_auth(&c, key, 1, "SHA1");
		break;
	case FIRSTPKT_WRAP_TLS_CRYPT:
		rc = tlswrap_create_crypt(&c, key, false);
		break;
	default:
		rc = tlswrap_create_crypt_v2_client(&c, v2_pem, true);
		break;
	}
	if (rc)
		abort();
	return c;
}

static socklen_t make_src(const uint8_t *h, union sockaddr_any *src)
{
	memset(src, 0, sizeof(*src));
	if (h[0] & 1) {
		src->in6.sin6_family = AF_INET6;
		memcpy(&src->in6.sin6_port, h + 1, 2);
		memcpy(src->in6.sin6_addr.s6_addr, h + 3, 8);
		src->in6.sin6_addr.s6_addr[15] = h[11];
		return sizeof(src->in6);
	}
	src->in4.sin_family = AF_INET;
	memcpy(&src->in4.sin_port, h + 1, 2);
	memcpy(&src->in4.sin_addr, h + 3, 4);
	return sizeof(src->in4);
}

/* Sealed mode: put the right cookie in, then wrap. Returns the datagram length. */
static size_t seal(int w, uint8_t *plain, size_t len, const union sockaddr_any *src,
		   socklen_t src_len, int64_t now_ns, uint8_t *out, size_t cap)
{
	size_t n_acks = len > CTL_HDR_LEN ? plain[CTL_HDR_LEN] : 0;
	size_t sid_off = CTL_HDR_LEN + 1 + 4 * n_acks;
	struct tlswrap *c = client_create(w);
	uint8_t sid[SID_LEN];
	int n;

	if (n_acks && n_acks <= RELIABLE_ACK_SIZE && len >= sid_off + SID_LEN &&
	    !cookie_session_id(&ref, cookie_time_slot((uint64_t)(now_ns / NSEC_PER_SEC),
						      HAND_WINDOW),
			       src, src_len, plain + 1, sid))
		memcpy(plain + sid_off, sid, SID_LEN);
	n = tlswrap_wrap(c, plain, len, out, cap, (uint32_t)(now_ns / NSEC_PER_SEC));
	tlswrap_free(c);
	return n < 0 ? 0 : (size_t)n;
}

static void check_create(const union sockaddr_any *src, socklen_t src_len, int64_t now_ns)
{
	const struct ctlpkt *p = &res.pkt;
	bool has0 = false;

	if (p->opcode != P_CONTROL_V1 && p->opcode != P_ACK_V1 && p->opcode != P_CONTROL_WKC_V1)
		abort();
	if (p->key_id != 0 || p->n_acks == 0 || (p->opcode != P_ACK_V1 && p->mid > 1))
		abort();
	for (unsigned int i = 0; i < p->n_acks; i++) {
		if (p->acks[i] > 1)
			abort();
		has0 |= p->acks[i] == 0;
	}
	if (!has0)
		abort();
	if (cookie_check(&ref, (uint64_t)(now_ns / NSEC_PER_SEC), HAND_WINDOW, src, src_len,
			 p->sid, p->peer_sid) != COOKIE_VALID)
		abort();
}

static void check_reply(const union sockaddr_any *src, socklen_t src_len, int64_t now_ns)
{
	uint8_t sid[SID_LEN];

	if (!res.reply_len || res.reply_len > FIRSTPKT_REPLY_MAX ||
	    proto_opcode(res.reply[0]) != P_CONTROL_HARD_RESET_SERVER_V2)
		abort();
	if (cookie_session_id(&ref, cookie_time_slot((uint64_t)(now_ns / NSEC_PER_SEC),
						     HAND_WINDOW),
			      src, src_len, res.pkt.sid, sid) ||
	    memcmp(sid, res.reply + 1, SID_LEN))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t plain[FIRSTPKT_DGRAM_MAX], wire[FIRSTPKT_DGRAM_MAX + 2048];
	union sockaddr_any src;
	socklen_t src_len;
	const uint8_t *dg;
	int64_t now_ns;
	size_t len;
	int w;

	if (size < HDR_BYTES)
		return 0;
	w = data[0] % N_WRAPS;
	src_len = make_src(data + 1, &src);
	now_ns = (BASE_SEC + load_be16(data + 12) % 600) * NSEC_PER_SEC +
		 (int64_t)(load_be16(data + 14) % 1000) * NSEC_PER_MSEC;
	dg = data + HDR_BYTES;
	len = size - HDR_BYTES;
	if (data[0] & 4) {
		if (len > WIRE_MAX)
			return 0;
		memcpy(plain, dg, len);
		len = seal(w, plain, len, &src, src_len, now_ns, wire, sizeof(wire));
		dg = wire;
	}
	switch (firstpkt_classify(fps[w], dg, len, &src, src_len, now_ns, &res)) {
	case FIRSTPKT_CREATE:
		check_create(&src, src_len, now_ns);
		break;
	case FIRSTPKT_REPLY:
		check_reply(&src, src_len, now_ns);
		break;
	default:
		if (res.reason < FIRSTPKT_DROP_TRUNCATED || res.reason >= FIRSTPKT_REASON_MAX ||
		    res.has_client_key)
			abort();
		break;
	}
	return 0;
}
