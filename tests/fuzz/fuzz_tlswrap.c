/*
 * fuzz_tlswrap.c - libFuzzer harness for control-channel unwrapping
 * (crypto/tlswrap.h) in every mode.
 *
 * Input byte 0 picks the receiving context (mod 10): none; tls-auth SHA1
 * direction 0 / 1, SHA256 bidirectional, SHA512 direction 0; tls-crypt
 * server / client; a server keyed with a tls-crypt-v2 client's Kc; a
 * tls-crypt-v2 client; dynamic tls-crypt (server). Each has a matching
 * sender. Byte 1 bit 0 picks the mode:
 *  raw:    the rest is datagrams [len 2][bytes], each unwrapped at a clock
 *          that advances by the datagram's first byte in seconds. Random
 *          bytes exercise lengths, the WKc trailer and the tag check.
 *  sealed: the rest is records [len 1][flip 2][plain...]: the sender wraps
 *          the plain packet; if flip is non-zero, bit (flip - 1) of the
 *          wire bytes is flipped and that must be refused (flips inside a
 *          WKc, which tls-crypt does not authenticate, are skipped); then
 *          the intact packet must unwrap to the plain bytes, and once more
 *          must be a replay. So a refused packet provably changed nothing.
 * Contexts are created per input, so a crash reproduces from its input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../core/clock.h"
#include "../../crypto/tlswrap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_MODES		10
#define WKC_LEN		299

static uint8_t key[KEY2_LEN], ekm[KEY2_LEN];
static char v2_pem[2048];

/* A client key file: Kc = key, WKc of the right length (content unchecked by clients). */
static void make_v2_pem(void)
{
	uint8_t der[KEY2_LEN + WKC_LEN];
	char line[80], *s = v2_pem;

	memcpy(der, key, KEY2_LEN);
	for (int i = 0; i < WKC_LEN; i++)
		der[KEY2_LEN + i] = (uint8_t)(i * 3);
	store_be16(der + sizeof(der) - 2, WKC_LEN);
	s += sprintf(s, "-----BEGIN OpenVPN tls-crypt-v2 client key-----\n");
	for (size_t off = 0; off < sizeof(der); off += 48) {
		size_t n = sizeof(der) - off < 48 ? sizeof(der) - off : 48;

		EVP_EncodeBlock((unsigned char *)line, der + off, (int)n);
		s += sprintf(s, "%s\n", line);
	}
	sprintf(s, "-----END OpenVPN tls-crypt-v2 client key-----\n");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < KEY2_LEN; i++) {
		key[i] = (uint8_t)(i * 11 + 1);
		ekm[i] = (uint8_t)(i * 7 + 5);
	}
	make_v2_pem();
	if (tlswrap_global_init())
		abort();
	return 0;
}

/* Receiver @rx for @mode and a sender @tx whose packets it accepts. */
static void make_pair(int mode, struct tlswrap **rx, struct tlswrap **tx)
{
	struct tlswrap *base = NULL;
	int rc = 0;

	switch (mode) {
	case 0:
		rc = tlswrap_create_none(rx) || tlswrap_create_none(tx);
		break;
	case 1:
		rc = tlswrap_create_auth(rx, key, 0, "SHA1") || tlswrap_create_auth(tx, key, 1, "SHA1");
		break;
	case 2:
		rc = tlswrap_create_auth(rx, key, 1, "SHA1") || tlswrap_create_auth(tx, key, 0, "SHA1");
		break;
	case 3:
		rc = tlswrap_create_auth(rx, key, -1, "SHA256") ||
		     tlswrap_create_auth(tx, key, -1, "SHA256");
		break;
	case 4:
		rc = tlswrap_create_auth(rx, key, 0, "SHA512") ||
		     tlswrap_create_auth(tx, key, 1, "SHA512");
		break;
	case 5:
		rc = tlswrap_create_crypt(rx, key, true) || tlswrap_create_crypt(tx, key, false);
		break;
	case 6:
		rc = tlswrap_create_crypt(rx, key, false) || tlswrap_create_crypt(tx, key, true);
		break;
	case 7:
		rc = tlswrap_create_crypt(rx, key, true) ||
		     tlswrap_create_crypt_v2_client(tx, v2_pem, true);
		break;
	case 8:
		rc = tlswrap_create_crypt_v2_client(rx, v2_pem, false) ||
		     tlswrap_create_crypt(tx, key, true);
		break;
	default:
		rc = tlswrap_create_crypt(&base, key, true) ||
		     tlswrap_dynamic_init(rx, base, ekm, true) ||
		     tlswrap_dynamic_init(tx, base, ekm, false);
		tlswrap_free(base);
		break;
	}
	if (rc)
		abort();
}

static void fuzz_raw(struct tlswrap *rx, const uint8_t *p, size_t n)
{
	static uint8_t out[70000];
	int64_t now = NSEC_PER_SEC;

	while (n >= 2) {
		size_t len = load_be16(p);
		int rc;

		p += 2;
		n -= 2;
		if (len > n)
			len = n;
		if (len)
			now += (int64_t)p[0] * NSEC_PER_SEC;
		rc = tlswrap_unwrap(rx, p, len, out, sizeof(out), now);
		if (rc > (int)len)
			abort();
		p += len;
		n -= len;
	}
}

static void fuzz_sealed(struct tlswrap *rx, struct tlswrap *tx, const uint8_t *p, size_t n)
{
	static uint8_t wire[4096], bad[4096], back[4096];
	uint32_t wall = 1700000000u;

	while (n >= 3) {
		size_t len = p[0], wkc = 0;
		unsigned int flip = load_be16(p + 1);
		int wl, rc;

		p += 3;
		n -= 3;
		if (len > n)
			len = n;
		wl = tlswrap_wrap(tx, p, len, wire, sizeof(wire), wall++);
		if (wl < 0)
			goto next;
		if (tlswrap_mode_get(tx) == TLSWRAP_TLS_CRYPT)
			wkc = tlswrap_overhead(tx, proto_opcode(p[0])) - TLS_CRYPT_OVERHEAD;
		/* Opcodes 10/11 without a WKc are malformed for a tls-crypt receiver. */
		if (tlswrap_mode_get(rx) == TLSWRAP_TLS_CRYPT && !wkc &&
		    (proto_opcode(p[0]) == P_CONTROL_HARD_RESET_CLIENT_V3 ||
		     proto_opcode(p[0]) == P_CONTROL_WKC_V1))
			goto next;
		if (flip && tlswrap_mode_get(rx) != TLSWRAP_NONE) {
			size_t byte = ((flip - 1) / 8) % (size_t)wl;

			/* WKc bytes before its length field are not covered by the tag. */
			if (!(wkc && byte >= (size_t)wl - wkc && byte < (size_t)wl - 2)) {
				memcpy(bad, wire, (size_t)wl);
				bad[byte] ^= (uint8_t)(1 << ((flip - 1) % 8));
				rc = tlswrap_unwrap(rx, bad, (size_t)wl, back, sizeof(back), 0);
				if (rc >= 0)
					abort();
			}
		}
		rc = tlswrap_unwrap(rx, wire, (size_t)wl, back, sizeof(back), 0);
		/* Server-keyed receivers strip WKc; a client receiver sees none. */
		if (rc != (int)len || memcmp(back, p, len))
			abort();
		rc = tlswrap_unwrap(rx, wire, (size_t)wl, back, sizeof(back), 0);
		if (tlswrap_mode_get(rx) != TLSWRAP_NONE && rc != TLSWRAP_ERR_REPLAY)
			abort();
next:
		p += len;
		n -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlswrap *rx, *tx;

	if (size < 2)
		return 0;
	make_pair(data[0] % N_MODES, &rx, &tx);
	if (data[1] & 1)
		fuzz_sealed(rx, tx, data + 2, size - 2);
	else
		fuzz_raw(rx, data + 2, size - 2);
	tlswrap_free(rx);
	tlswrap_free(tx);
	return 0;
}
