/*
 * fuzz_data.c - libFuzzer harness for the data-channel receive path:
 * dc_classify -> dc_open -> dc_replay_accept on untrusted datagrams.
 *
 * Input byte 0: bits 0-1 pick the cipher (mod 3), bit 7 the mode.
 *  raw (bit 7 clear): the rest is one received datagram, opened with a fixed
 *    server key slot. Random bytes almost never pass the tag, so this mode
 *    exercises length/opcode parsing and the tag check.
 *  sealed (bit 7 set): the rest is [flags 1][payload length 1][payload]
 *    [(pid 4, time step 1) ...]. The client slot seals the payload once per
 *    pid (V1 if flags bit 0), then the packet goes down the real receive
 *    path, so the replay window sees fuzzer-chosen pids and clock steps
 *    (window and strictness from flags bits 1-3, time rule 15 s).
 * The replay window is reset for each input, so a crash reproduces from its
 * input alone. Setup runs once, in LLVMFuzzerInitialize.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/pkt.h"
#include "../../crypto/dc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pool *pool;
static struct dc_keyslot *server_ks[3], *client_ks[3];
static const uint32_t windows[] = { 64, 1, 0, 1000, REPLAY_WINDOW_MAX, 64, 128, 4096 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const enum dc_cipher ciphers[3] = {
		DC_AES_128_GCM, DC_AES_256_GCM, DC_CHACHA20_POLY1305,
	};
	uint8_t key2[KEY2_LEN];

	(void)argc;
	(void)argv;
	for (unsigned int i = 0; i < KEY2_LEN; i++)
		key2[i] = (uint8_t)(i * 11 + 1);
	if (dc_global_init() || pool_create(&pool, 4, PKT_CLASS_MTU, 0))
		abort();
	for (int c = 0; c < 3; c++) {
		/* Created with the largest window so any smaller one fits on re-init. */
		if (dc_keyslot_create(&server_ks[c], ciphers[c], key2, true, 0, 1,
				      REPLAY_WINDOW_MAX, REPLAY_TIME_DEFAULT, false) ||
		    dc_keyslot_create(&client_ks[c], ciphers[c], key2, false, 0, 1,
				      REPLAY_WINDOW_MAX, REPLAY_TIME_DEFAULT, false))
			abort();
	}
	return 0;
}

/* The receive path as udp_rx, a decrypt worker and tun_tx run it. */
static void receive(struct dc_keyslot *ks, struct pkt *p, int64_t now_ns)
{
	if (dc_classify(p) != PKT_OK)
		return;
	if (!dc_open(ks, 0, p))
		return;
	(void)dc_replay_accept(ks, p->pid, now_ns);
}

static void fuzz_raw(struct dc_keyslot *ks, const uint8_t *data, size_t size)
{
	struct pkt *p = pool_get(pool);
	/* A datagram never exceeds the buffer udp_rx receives into. */
	size_t max = p->room - PKT_HEADROOM;

	if (size > max)
		size = max;
	memcpy(p->data, data, size);
	p->len = (uint32_t)size;
	receive(ks, p, NSEC_PER_SEC);
	pkt_free(p);
}

static void fuzz_sealed(int c, const uint8_t *data, size_t size)
{
	uint8_t flags, plen;
	int64_t now = 1000 * NSEC_PER_SEC;

	if (size < 2)
		return;
	flags = data[0];
	plen = data[1];
	data += 2;
	size -= 2;
	if (plen > size)
		plen = (uint8_t)size;
	replay_init(&server_ks[c]->rx_replay, windows[(flags >> 1) & 7], REPLAY_TIME_DEFAULT,
		    flags & 0x10);
	for (size_t off = plen; off + 5 <= size; off += 5) {
		struct pkt *p = pool_get(pool);

		memcpy(p->data, data, plen);
		p->len = plen;
		p->pid = load_be32(data + off);
		now += (int64_t)data[off + 4] * 100 * NSEC_PER_MSEC;
		if (dc_seal(client_ks[c], 0, p, (flags & 1) ? PEER_ID_NONE : 7)) {
			p->flags = 0;
			receive(server_ks[c], p, now);
		}
		pkt_free(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int c;

	if (size < 1)
		return 0;
	c = (data[0] & 3) % 3;
	if (data[0] & 0x80)
		fuzz_sealed(c, data + 1, size - 1);
	else
		fuzz_raw(server_ks[c], data + 1, size - 1);
	return 0;
}
