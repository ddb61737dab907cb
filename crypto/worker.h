/*
 * worker.h - encrypt and decrypt worker threads (DESIGN.md §2).
 *
 * Encrypt worker i: ring from tun_rx -> dc_seal -> ring to udp_tx.
 * Decrypt worker i: ring from udp_rx -> dc_open -> ring to tun_tx.
 * A worker never drops on its own: a packet that fails keeps its place in
 * the sequence with pkt->verdict set, so the consumer, which collects from
 * the workers round robin, stays in step with the dealer. The worker takes
 * no more from its input than its output ring has room for, so its output
 * enqueue cannot fail.
 *
 * Per burst, inside one epoch section: each packet still PKT_OK gets its
 * peer (dc_peer_lookup(peers, p->peer_id)) and key slot (dc_peer_key(peer,
 * p->key_id)); none -> DROP_BAD_PEER / DROP_NO_KEY; then dc_seal with the
 * peer's tx_peer_id, or dc_open. The peers are crypto's struct dc_peer
 * (dc.h): the worker needs nothing else of a peer, so it knows no io type. Packets that arrive with a verdict pass
 * through untouched. Counters in thr.stats: rx_* every packet taken in,
 * tx_* every packet passed on still PKT_OK, drop[] each verdict this worker
 * set (the collector frees failed packets and need not count them again).
 *
 * Sleep: idle -> doorbell_prepare_sleep, re-check the input, block on db up
 * to 100 ms (the dealer rings it after an enqueue; ctrl stops a worker with
 * thread_request_stop + doorbell_kick). Output full -> re-poll after 1 ms.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include "../core/epoch.h"
#include "../core/ring.h"
#include "../core/thread.h"
#include "dc.h"

struct crypt_thread {
	struct thread thr;		/* first: stats live here */
	unsigned int index;		/* w: picks ks->enc[w] / ks->dec[w] */
	bool is_encrypt;
	struct spsc *in;		/* one producer: the dealer */
	struct spsc *out;		/* one consumer: the collector */
	struct doorbell db;		/* rung by the dealer */
	/*
	 * The dealer's doorbell, if the dealer waits for room in @in (a loop
	 * that takes input in large reads: io/tun_rx.c with offloads,
	 * io/link_rx.c): rung by the dequeue that takes the ring from more than
	 * half full to half. NULL: nobody waits.
	 */
	struct doorbell *dealer_db;
	const struct dc_peer_table *peers;
	struct epoch_reader epoch;
	/*
	 * Decrypt, when its tun_tx coalesces (core/gro.h GRO_F_*, else 0): each
	 * packet it opens gets its checksums verified here, while its plaintext
	 * is hot (gro_csum_note), not by the coalescer on tun_tx's core.
	 */
	unsigned int gro_flags;
};

/* Thread mains; arg is the struct crypt_thread (epoch reader registered by ctrl). */
void *encrypt_thread_main(void *arg);
void *decrypt_thread_main(void *arg);

/*
 * One pass over up to MIN(BURST_MAX, room in out) packets on the calling
 * thread; returns how many moved (0: input empty or output full). For tests
 * and benches.
 */
unsigned int crypt_worker_step(struct crypt_thread *ct);

/*
 * Inline crypto (io/pipeline.h, inline_crypto): seals or opens @pk[0..n) on
 * the calling thread, the dealer, with @ct's contexts, counters and epoch
 * reader; no thread runs @ct. Sets verdicts as a worker does, frees nothing.
 */
void crypt_inline_burst(struct crypt_thread *ct, struct pkt **pk, unsigned int n);

#endif
