/*
 * worker_test.c - encrypt and decrypt workers (crypto/worker.h) on real
 * threads, rings, pools and the epoch.
 *
 * The main thread plays every other stage: as tun_rx it stamps NPKT packets
 * (sequence number, size and content derived from it, packet-id from the
 * client key slot) and deals them round robin to two encrypt workers; as
 * udp_tx/udp_rx it collects them round robin, checks order and the wire
 * header, forges some (one flipped byte), classifies them and deals them to
 * two decrypt workers; as tun_tx it collects those in order and checks each
 * one's verdict and plaintext. Some packets arrive already dropped, name an
 * unknown peer or a key_id with no slot: they must keep their place with
 * the right verdict. The output rings are small so the workers often find
 * them full. At the end every packet is back in the pool.
 *
 * A single-threaded part checks crypt_worker_step's "never more than the
 * output can hold" rule directly.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../core/epoch.h"
#include "../../core/pkt.h"
#include "../../core/ring.h"
#include "../../crypto/dc.h"
#include "../../crypto/worker.h"
#include "harness.h"

#define NPKT		100000u
#define NWORK		2
#define POOL_PKTS	4096
#define IN_SLOTS	256
#define OUT_SLOTS	64
#define TX_PEER_ID	3		/* the peer-id the "client" stamps; the server's index */
#define KEY_ID		1
#define STALL_NS	(20 * NSEC_PER_SEC)

static struct crypt_thread enc[NWORK], dec[NWORK];
static struct pool *pool;
static struct dc_keyslot *client_ks, *server_ks;
static struct dc_peer enc_peer, dec_peer;
static struct dc_peer *enc_slots[2], *dec_slots[TX_PEER_ID + 1];
static const struct dc_peer_table enc_peers = { .size = 2, .slot = enc_slots };
static const struct dc_peer_table dec_peers = { .size = TX_PEER_ID + 1, .slot = dec_slots };

/* What happens to packet @seq on the way. */
enum fate { FATE_OK, FATE_PREDROPPED, FATE_NO_PEER, FATE_FAR_PEER, FATE_NO_KEY, FATE_FORGED };

static enum fate fate_of(uint64_t seq)
{
	if (seq % 101 == 7)
		return FATE_PREDROPPED;
	if (seq % 1009 == 17)
		return FATE_NO_PEER;
	if (seq % 1013 == 29)
		return FATE_FAR_PEER;
	if (seq % 997 == 41)
		return FATE_NO_KEY;
	if (seq % 97 == 5)
		return FATE_FORGED;
	return FATE_OK;
}

static uint8_t verdict_of(enum fate f)
{
	static const uint8_t v[] = {
		[FATE_OK] = PKT_OK, [FATE_PREDROPPED] = DROP_NO_ROUTE,
		[FATE_NO_PEER] = DROP_BAD_PEER, [FATE_FAR_PEER] = DROP_BAD_PEER,
		[FATE_NO_KEY] = DROP_NO_KEY, [FATE_FORGED] = DROP_AUTH,
	};
	return v[f];
}

static uint32_t len_of(uint64_t seq)
{
	return 20 + (uint32_t)(seq * 7919 % 1400);
}

static uint8_t byte_of(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131 + i * 17 + (i >> 5));
}

/* tun_rx: a fresh plaintext packet for @seq. */
static void stamp(struct pkt *p, uint64_t seq)
{
	enum fate f = fate_of(seq);

	p->seq = seq;
	p->len = len_of(seq);
	for (uint32_t i = 0; i < p->len; i++)
		p->data[i] = byte_of(seq, i);
	p->peer_id = f == FATE_NO_PEER ? 1 : f == FATE_FAR_PEER ? 1000 : 0;
	p->key_id = f == FATE_NO_KEY ? 2 : KEY_ID;
	if (!dc_assign_pid(client_ks, &p->pid))
		FATAL("packet-ids exhausted");
	if (f == FATE_PREDROPPED)
		p->verdict = DROP_NO_ROUTE;
}

/* udp_tx -> udp_rx: checks what encrypt made, forges if due, classifies. */
static void between(struct pkt *p, uint64_t seq)
{
	enum fate f = fate_of(seq);
	uint8_t want = f == FATE_FORGED ? PKT_OK : verdict_of(f);
	uint8_t v;

	CHECK(p->verdict == want, "seq %llu: after encrypt verdict %u, expected %u",
	      (unsigned long long)seq, p->verdict, want);
	if (p->verdict != PKT_OK)
		return;
	CHECK(p->len == len_of(seq) + DC_V2_OVERHEAD && p->data[0] == (P_DATA_V2 << 3 | KEY_ID) &&
	      proto_peer_id(p->data) == TX_PEER_ID && load_be32(p->data + 4) == seq + 1,
	      "seq %llu: wire header", (unsigned long long)seq);
	if (f == FATE_FORGED)
		p->data[4 + seq % (p->len - 4)] ^= (uint8_t)(1u << (seq % 8));
	v = dc_classify(p);
	CHECK(v == PKT_OK, "seq %llu: classify %u", (unsigned long long)seq, v);
	p->verdict = v;
}

/* tun_tx: the final verdict and plaintext. */
static void arrived(struct pkt *p, uint64_t seq)
{
	uint8_t want = verdict_of(fate_of(seq));
	uint32_t len = len_of(seq);
	uint32_t i;

	CHECK(p->verdict == want, "seq %llu: final verdict %u, expected %u",
	      (unsigned long long)seq, p->verdict, want);
	if (p->verdict != PKT_OK || want != PKT_OK)
		return;
	CHECK(p->len == len, "seq %llu: length %u, expected %u", (unsigned long long)seq, p->len,
	      len);
	for (i = 0; i < len && p->data[i] == byte_of(seq, i); i++)
		;
	CHECK(i == len, "seq %llu: plaintext differs at byte %u", (unsigned long long)seq, i);
	CHECK(p->pid == seq + 1 && p->key_gen == server_ks->gen, "seq %llu: pid %u key_gen %u",
	      (unsigned long long)seq, p->pid, p->key_gen);
}

static void crypt_setup(struct crypt_thread *ct, unsigned int i, bool is_encrypt)
{
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "t-%s%u", is_encrypt ? "enc" : "dec", i);
	rc = thread_init(&ct->thr, name, is_encrypt ? encrypt_thread_main : decrypt_thread_main,
			 ct, -1);
	ct->index = i;
	ct->is_encrypt = is_encrypt;
	ct->peers = is_encrypt ? &enc_peers : &dec_peers;
	rc = rc ?: doorbell_init(&ct->db);
	snprintf(name, sizeof(name), "in%u", i);
	rc = rc ?: spsc_create(&ct->in, IN_SLOTS, &ct->db, name);
	snprintf(name, sizeof(name), "out%u", i);
	rc = rc ?: spsc_create(&ct->out, OUT_SLOTS, NULL, name);
	rc = rc ?: pool_add_returner(pool, ct->thr.tid);
	if (rc)
		FATAL("setup of worker %s: %d", name, rc);
	epoch_reader_register(&ct->epoch);
}

static void crypt_teardown(struct crypt_thread *ct)
{
	epoch_reader_unregister(&ct->epoch);
	spsc_destroy(ct->in);
	spsc_destroy(ct->out);
	doorbell_destroy(&ct->db);
}

static void keys_setup(void)
{
	uint8_t key2[KEY2_LEN];
	int rc;

	for (unsigned int i = 0; i < KEY2_LEN; i++)
		key2[i] = (uint8_t)(i * 13 + 5);
	rc = dc_keyslot_create(&client_ks, DC_AES_256_GCM, key2, false, KEY_ID, NWORK, 64, 15,
			       false);
	rc = rc ?: dc_keyslot_create(&server_ks, DC_AES_256_GCM, key2, true, KEY_ID, NWORK, 64,
				     15, false);
	if (rc)
		FATAL("dc_keyslot_create: %d", rc);
	enc_peer.tx_peer_id = TX_PEER_ID;
	enc_peer.keys[KEY_ID] = client_ks;
	enc_slots[0] = &enc_peer;
	dec_peer.tx_peer_id = 0;
	dec_peer.keys[KEY_ID] = server_ks;
	dec_slots[TX_PEER_ID] = &dec_peer;
}

struct flow {
	uint64_t dealt;			/* plaintexts handed to encrypt */
	uint64_t forwarded;		/* collected from encrypt, handed to decrypt */
	uint64_t done;			/* collected from decrypt */
};

static unsigned int deal(struct flow *fl)
{
	unsigned int moved = 0;

	while (fl->dealt < NPKT && spsc_free(enc[fl->dealt % NWORK].in)) {
		struct pkt *p = pool_get(pool);

		if (!p)
			break;
		stamp(p, fl->dealt);
		/* Only producer and room checked: cannot fail. */
		if (spsc_enqueue_burst(enc[fl->dealt % NWORK].in, &p, 1) != 1)
			FATAL("enqueue to encrypt failed");
		fl->dealt++;
		moved++;
	}
	return moved;
}

static unsigned int forward(struct flow *fl)
{
	unsigned int moved = 0;
	struct pkt *p;

	while (fl->forwarded < fl->dealt && spsc_free(dec[fl->forwarded % NWORK].in) &&
	       spsc_dequeue_burst(enc[fl->forwarded % NWORK].out, &p, 1)) {
		CHECK(p->seq == fl->forwarded, "encrypt out of order: seq %llu, expected %llu",
		      (unsigned long long)p->seq, (unsigned long long)fl->forwarded);
		between(p, fl->forwarded);
		if (spsc_enqueue_burst(dec[fl->forwarded % NWORK].in, &p, 1) != 1)
			FATAL("enqueue to decrypt failed");
		fl->forwarded++;
		moved++;
	}
	return moved;
}

static unsigned int collect(struct flow *fl)
{
	unsigned int moved = 0;
	struct pkt *p;

	while (fl->done < fl->forwarded &&
	       spsc_dequeue_burst(dec[fl->done % NWORK].out, &p, 1)) {
		CHECK(p->seq == fl->done, "decrypt out of order: seq %llu, expected %llu",
		      (unsigned long long)p->seq, (unsigned long long)fl->done);
		arrived(p, fl->done);
		pkt_free(p);
		fl->done++;
		moved++;
	}
	return moved;
}

static void run_pipeline(void)
{
	struct flow fl = { 0 };
	int64_t last_progress = clock_mono_ns();

	while (fl.done < NPKT) {
		unsigned int moved = deal(&fl) + forward(&fl) + collect(&fl);

		if (moved) {
			last_progress = clock_mono_ns();
			continue;
		}
		if (clock_mono_ns() - last_progress > STALL_NS)
			FATAL("stalled: dealt %llu forwarded %llu done %llu",
			      (unsigned long long)fl.dealt, (unsigned long long)fl.forwarded,
			      (unsigned long long)fl.done);
		sched_yield();
	}
}

static void check_stats(void)
{
	uint64_t rx = 0, tx = 0, want_tx = 0, bad_peer = 0, no_key = 0, auth = 0;
	uint64_t want_bad_peer = 0, want_no_key = 0, want_auth = 0;

	for (uint64_t s = 0; s < NPKT; s++) {
		enum fate f = fate_of(s);

		want_bad_peer += f == FATE_NO_PEER || f == FATE_FAR_PEER;
		want_no_key += f == FATE_NO_KEY;
		want_auth += f == FATE_FORGED;
		want_tx += f == FATE_OK;
	}
	for (int i = 0; i < NWORK; i++) {
		CHECK(enc[i].thr.stats.rx_pkts == NPKT / NWORK, "enc%d rx %llu", i,
		      (unsigned long long)enc[i].thr.stats.rx_pkts);
		rx += dec[i].thr.stats.rx_pkts;
		tx += dec[i].thr.stats.tx_pkts;
		bad_peer += enc[i].thr.stats.drop[DROP_BAD_PEER];
		no_key += enc[i].thr.stats.drop[DROP_NO_KEY];
		auth += dec[i].thr.stats.drop[DROP_AUTH];
	}
	CHECK(rx == NPKT, "decrypt rx %llu", (unsigned long long)rx);
	CHECK(tx == want_tx, "decrypt tx %llu, expected %llu", (unsigned long long)tx,
	      (unsigned long long)want_tx);
	CHECK(bad_peer == want_bad_peer && no_key == want_no_key && auth == want_auth,
	      "drops: bad_peer %llu/%llu no_key %llu/%llu auth %llu/%llu",
	      (unsigned long long)bad_peer, (unsigned long long)want_bad_peer,
	      (unsigned long long)no_key, (unsigned long long)want_no_key,
	      (unsigned long long)auth, (unsigned long long)want_auth);
	printf("worker: %u packets, %llu ok, %llu bad_peer, %llu no_key, %llu auth; "
	       "enc wakeups %llu+%llu dec wakeups %llu+%llu\n", NPKT, (unsigned long long)tx,
	       (unsigned long long)bad_peer, (unsigned long long)no_key, (unsigned long long)auth,
	       (unsigned long long)enc[0].thr.stats.wakeups,
	       (unsigned long long)enc[1].thr.stats.wakeups,
	       (unsigned long long)dec[0].thr.stats.wakeups,
	       (unsigned long long)dec[1].thr.stats.wakeups);
}

/* Single-threaded: a step never takes more than the output can hold, and keeps order. */
static void test_step_bounds(void)
{
	static struct crypt_thread ct;
	struct pkt *p[40];
	unsigned int n;
	int rc;

	ct.is_encrypt = true;
	ct.index = 0;
	ct.peers = &enc_peers;
	rc = spsc_create(&ct.in, 64, NULL, "step-in");
	rc = rc ?: spsc_create(&ct.out, 4, NULL, "step-out");
	if (rc)
		FATAL("spsc_create: %d", rc);
	epoch_reader_register(&ct.epoch);
	for (unsigned int i = 0; i < 40; i++) {
		p[i] = pool_get(pool);
		if (!p[i])
			FATAL("pool empty");
		stamp(p[i], 1000000 + i);
		p[i]->verdict = PKT_OK;
		p[i]->peer_id = 0;
		p[i]->key_id = KEY_ID;
	}
	CHECK(spsc_enqueue_burst(ct.in, p, 40) == 40, "enqueue 40");
	n = crypt_worker_step(&ct);
	CHECK(n == 3, "first step moved %u, expected 3 (out holds 3)", n);
	n = crypt_worker_step(&ct);
	CHECK(n == 0, "step with a full output moved %u", n);
	for (unsigned int done = 0; done < 40;) {
		struct pkt *q;

		while (spsc_dequeue_burst(ct.out, &q, 1)) {
			CHECK(q->seq == 1000000 + done && q->verdict == PKT_OK,
			      "step order: seq %llu verdict %u at %u", (unsigned long long)q->seq,
			      q->verdict, done);
			pkt_free(q);
			done++;
		}
		n = crypt_worker_step(&ct);
		CHECK(n <= 3 && (n || done == 40), "step moved %u with %u done", n, done);
	}
	CHECK(ct.thr.stats.rx_pkts == 40 && ct.thr.stats.tx_pkts == 40, "step stats");
	epoch_reader_unregister(&ct.epoch);
	spsc_destroy(ct.in);
	spsc_destroy(ct.out);
}

int main(void)
{
	int rc;

	rc = dc_global_init();
	if (rc)
		FATAL("dc_global_init: %d", rc);
	epoch_init();
	rc = pool_create(&pool, POOL_PKTS, PKT_CLASS_MTU, 0);
	if (rc)
		FATAL("pool_create: %d", rc);
	keys_setup();
	for (unsigned int i = 0; i < NWORK; i++) {
		crypt_setup(&enc[i], i, true);
		crypt_setup(&dec[i], i, false);
	}
	for (unsigned int i = 0; i < NWORK; i++) {
		rc = thread_start(&enc[i].thr);
		rc = rc ?: thread_start(&dec[i].thr);
		if (rc)
			FATAL("thread_start: %d", rc);
	}
	run_pipeline();
	for (unsigned int i = 0; i < NWORK; i++) {
		struct crypt_thread *ts[2] = { &enc[i], &dec[i] };

		for (int k = 0; k < 2; k++) {
			thread_request_stop(&ts[k]->thr);
			doorbell_kick(&ts[k]->db);
			thread_join(&ts[k]->thr);
		}
	}
	check_stats();
	test_step_bounds();
	CHECK(pool_available(pool) == POOL_PKTS, "pool has %u of %u packets back",
	      pool_available(pool), POOL_PKTS);
	CHECK(pool->leaked == 0, "pool leaked %llu", (unsigned long long)pool->leaked);
	for (unsigned int i = 0; i < NWORK; i++) {
		crypt_teardown(&enc[i]);
		crypt_teardown(&dec[i]);
	}
	dc_keyslot_free(client_ks);
	dc_keyslot_free(server_ks);
	pool_destroy(pool);
	dc_global_cleanup();
	return harness_done("worker_test");
}
