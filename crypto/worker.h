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
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include "../core/epoch.h"
#include "../core/peer.h"
#include "../core/ring.h"
#include "../core/thread.h"

struct crypt_thread {
	struct thread thr;		/* first: stats live here */
	unsigned int index;		/* w: picks ks->enc[w] / ks->dec[w] */
	bool is_encrypt;
	struct spsc *in;		/* one producer: the dealer */
	struct spsc *out;		/* one consumer: the collector */
	struct doorbell db;		/* rung by the dealer */
	const struct peer_table *peers;
	struct epoch_reader epoch;
};

/* Thread mains; arg is the struct crypt_thread. */
void *encrypt_thread_main(void *arg);
void *decrypt_thread_main(void *arg);

/* One pass over up to BURST_MAX packets; returns how many moved. For tests and benches. */
unsigned int crypt_worker_step(struct crypt_thread *ct);

#endif
