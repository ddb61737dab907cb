/*
 * dc.h - the OpenVPN AEAD data channel (openvpn-wire.md §5, §6).
 *
 * A struct dc_keyslot is one key_id's data keys for one peer. ctrl builds it
 * (dc_keyslot_create), publishes it in dc_peer->keys[key_id], and retires it
 * through the epoch when it is replaced; dc_keyslot_free cleanses it.
 * Everything in it is immutable after publication except the two per-thread
 * blocks, each with exactly one writer named below.
 *
 * Wire format (§6.2):
 *   P_DATA_V2: [op<<3|kid][peer-id 3][pid 4][tag 16][ciphertext]  AAD = first 8 bytes
 *   P_DATA_V1: [op<<3|kid][pid 4][tag 16][ciphertext]             AAD = pid only
 *   nonce = pid (4, big endian) || implicit IV (8)
 */
#ifndef SLUICE_DC_H
#define SLUICE_DC_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "../core/compiler.h"
#include "../core/pkt.h"
#include "../core/proto.h"
#include "../core/stats.h"
#include "replay.h"
#include "statickey.h"

/* Crypto workers per direction; 16-core gateways run at most this many. */
#define DC_WORKERS_MAX	16

enum dc_cipher {
	DC_CIPHER_NONE = 0,
	DC_AES_128_GCM,
	DC_AES_256_GCM,
	DC_CHACHA20_POLY1305,
	DC_CIPHER_MAX
};

struct dc_keyslot {
	uint32_t gen;			/* unique per slot in this process; never reused */
	uint8_t key_id;
	enum dc_cipher cipher;
	bool is_server;			/* picks key halves (§5) */
	bool is_gcm;			/* AES-GCM: the short per-packet call sequence (dc.c) */
	bool direct;			/* the provider's functions, penc/pdec (dc.c) */
	unsigned int nworkers;
	uint8_t enc_iv[DC_IMPLICIT_IV_LEN];	/* implicit IV for sending */
	uint8_t dec_iv[DC_IMPLICIT_IV_LEN];	/* implicit IV for receiving */
	/* One context per worker and direction, keyed at create; worker w uses [w]. */
	EVP_CIPHER_CTX *enc[DC_WORKERS_MAX];
	EVP_CIPHER_CTX *dec[DC_WORKERS_MAX];
	/*
	 * The same on the direct road: the provider's own contexts, and the
	 * provider's free for them (kept here, so that freeing a slot never
	 * depends on dc.c's global table).
	 */
	void *penc[DC_WORKERS_MAX];
	void *pdec[DC_WORKERS_MAX];
	void (*pfree)(void *pctx);
	/* Written by tun_rx only: next packet-id to send (starts at 1). */
	alignas(CACHELINE) uint32_t tx_next_pid;
	/* Written by tun_tx only: the receive replay window for this key. */
	alignas(CACHELINE) struct replay rx_replay;	/* flexible: keep last */
};

/*
 * What the data channel knows of a peer: its key slots by key_id and the
 * peer-id it stamps on P_DATA_V2. io/peer.h's struct peer embeds one as its
 * first member, and the peer table ctrl publishes peers in holds pointers to
 * it, so the crypto workers look peers up without knowing io's type.
 */
struct dc_peer {
	uint32_t tx_peer_id;		/* PEER_ID_NONE: send P_DATA_V1; set before publication */
	/* Published by ctrl with release stores; read with acquire (dc_peer_key). */
	struct dc_keyslot *keys[KEY_ID_COUNT];
};

/* Peers indexed by our peer-id; slots published by ctrl, read by data threads. */
struct dc_peer_table {
	uint32_t size;
	struct dc_peer **slot;
};

/* Data threads, inside an epoch section. NULL: no such peer (now). */
static inline struct dc_peer *dc_peer_lookup(const struct dc_peer_table *t, uint32_t id)
{
	if (unlikely(id >= t->size))
		return NULL;
	/* Acquire pairs with ctrl's release when it publishes the peer. */
	return __atomic_load_n(&t->slot[id], __ATOMIC_ACQUIRE);
}

/* Data threads, inside an epoch section. NULL: no key installed for @key_id. */
static inline struct dc_keyslot *dc_peer_key(const struct dc_peer *dp, uint8_t key_id)
{
	/* Acquire pairs with ctrl's release when it installs the slot. */
	return __atomic_load_n(&dp->keys[key_id & P_KEY_ID_MASK], __ATOMIC_ACQUIRE);
}

/* ctrl, once at start: fetches the EVP ciphers (STYLE.md §4.10). */
int dc_global_init(void) __must_check;
void dc_global_cleanup(void);
/*
 * The direct road (dc.c): whether cipher @c has it, and for tests and
 * benches, whether slots created from now on take it (default: yes, where
 * available) or the EVP one. ctrl only, before workers use the slots.
 */
bool dc_direct_available(enum dc_cipher c);
void dc_set_direct(bool on);

/* "AES-256-GCM" etc. (case-insensitive) to the enum, or DC_CIPHER_NONE. */
enum dc_cipher dc_cipher_from_name(const char *name);
const char *dc_cipher_name(enum dc_cipher c);
unsigned int dc_cipher_key_len(enum dc_cipher c);

/*
 * ctrl only. Builds a slot from a 256-byte key2 (§5): the client sends with
 * half 0 (bytes 0..127) and receives with half 1; the server the opposite.
 * Cipher key = first key_len bytes of the cipher slot; implicit IV = first
 * 8 bytes of the hmac slot. @replay_window/@replay_time as --replay-window
 * (0 window = strict, see replay.h). One EVP_CIPHER_CTX per worker and
 * direction, keyed here once. Returns 0, -EINVAL (bad argument, window >
 * REPLAY_WINDOW_MAX, time > REPLAY_TIME_MAX), -ENOTSUP (cipher not available
 * or dc_global_init not run), -ENOMEM, or -EIO (OpenSSL refused the key).
 */
int dc_keyslot_create(struct dc_keyslot **out, enum dc_cipher c, const uint8_t key2[KEY2_LEN],
		      bool is_server, uint8_t key_id, unsigned int nworkers,
		      uint32_t replay_window, uint32_t replay_time, bool replay_strict) __must_check;
/* ctrl only (usually from the epoch): frees and cleanses keys and contexts. */
void dc_keyslot_free(struct dc_keyslot *ks);

/*
 * Encrypt worker @w. @p->data/len is the plaintext (already framed for
 * compression); p->pid is the packet-id tun_rx assigned. Prepends the header
 * (P_DATA_V2 with @tx_peer_id, or P_DATA_V1 if tx_peer_id == PEER_ID_NONE),
 * pid and tag in the headroom and encrypts in place. Returns false with
 * p->verdict = DROP_CRYPTO (no headroom, bad worker index, OpenSSL failure)
 * on failure. Borrows @p.
 */
bool dc_seal(const struct dc_keyslot *ks, unsigned int w, struct pkt *p, uint32_t tx_peer_id);
/*
 * Decrypt worker @w. @p->data/len is the whole wire packet as validated by
 * dc_classify. On success data/len is the plaintext, p->pid the packet-id and
 * p->key_gen = ks->gen; on failure p->verdict is DROP_AUTH (tag), DROP_SHORT
 * or DROP_CRYPTO (other OpenSSL failure, bad worker index). The data of a
 * failed packet is garbage. Does not touch the replay window. Borrows @p.
 */
bool dc_open(const struct dc_keyslot *ks, unsigned int w, struct pkt *p);

/*
 * udp_rx ingress check of a data packet (STYLE.md §4.4): opcode, length,
 * key_id. Sets p->key_id, p->flags (PKT_F_V1), and p->peer_id from a V2
 * header (PEER_ID_NONE for V1). Returns PKT_OK, DROP_BAD_OPCODE (not
 * P_DATA_V1/V2), DROP_SHORT (no room for header, pid and tag) or
 * DROP_OVERSIZE (longer than the packet's data room). Any key_id passes;
 * whether a slot is installed is the worker's question.
 */
uint8_t dc_classify(struct pkt *p);

/*
 * tun_tx, after the tag verified: replay check and update against
 * ks->rx_replay. Returns PKT_OK or DROP_REPLAY.
 */
uint8_t dc_replay_accept(struct dc_keyslot *ks, uint32_t pid, int64_t now_ns);

/*
 * tun_rx: assigns the next send packet-id for @ks, or returns false when the
 * key is worn out (>= DC_PID_REJECT): the packet must be dropped.
 */
static inline bool dc_assign_pid(struct dc_keyslot *ks, uint32_t *pid)
{
	uint32_t v = ks->tx_next_pid;

	if (unlikely(v >= DC_PID_REJECT))
		return false;
	ks->tx_next_pid = v + 1;
	*pid = v;
	return true;
}

#endif
