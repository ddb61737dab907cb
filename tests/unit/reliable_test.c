/*
 * reliable_test.c - the control-channel reliability layer (ctrl/proto/reliable.h,
 * openvpn-wire.md §1.6, §1.7).
 *
 * Part 1, numbered cases:
 *  - payload room vs tls-mtu (frame 14 of handshake-trace.txt: 1196 bytes);
 *  - the §1.7 handshake: the client's reset and its first CONTROL_V1 are
 *    byte for byte the worked examples of §1.5, fed the server's reset;
 *  - retransmit timing 2, 4, 8, 16 ... s; send window 6; fast retransmit
 *    after 3 later acks; receive window 12; duplicates re-acked; ack arrays
 *    (4 piggybacked, 8 in P_ACK_V1, MRU filler, unknown acks ignored);
 *    wrong session ids drop the whole packet; ack queue limit; resets add
 *    no bytes to the stream.
 * Part 2, simulation: two endpoints joined by a lossy, reordering,
 * duplicating (and, with wrapping, corrupting) link with a fake clock push
 * 200 KB of pseudo-random bytes each way through ctlpkt_build + tlswrap
 * (none, tls-auth, tls-crypt) and back. Checks: both streams arrive exact
 * and in order; every received reliable packet is acked afterwards; ack
 * arrays name only received ids; send window 6 and receive window 12 hold;
 * every timer retransmission comes exactly base * 2^(n-1) after the
 * previous send of that message (fast ones earlier); no datagram exceeds
 * tls-mtu. Deterministic seeds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../crypto/tlswrap.h"
#include "../../ctrl/proto/ctlpkt.h"
#include "../../ctrl/proto/reliable.h"
#include "harness.h"

#define MS(x)	((int64_t)(x) * NSEC_PER_MSEC)
#define SEC(x)	((int64_t)(x) * NSEC_PER_SEC)

static const uint8_t SID_A[SID_LEN] = { 0x4f, 0x9b, 0xf9, 0x4c, 0x45, 0x74, 0xca, 0x1d };
static const uint8_t SID_B[SID_LEN] = { 0x01, 0x05, 0x3c, 0x6c, 0x0e, 0x93, 0x29, 0x6e };
static const uint8_t SID_X[SID_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9 };

static void rel_free(struct reliable *r)
{
	reliable_release(r);
	free(r);
}

static struct reliable *rel_new(const uint8_t *sid, unsigned int timeout_ms, size_t max_payload)
{
	struct reliable *r = malloc(sizeof(*r));

	if (!r)
		exit(1);
	reliable_init(r, 0, sid, timeout_ms, max_payload);
	return r;
}

/* A packet from the peer (own sid @sid) to @r: acks and an optional message. */
static struct ctlpkt pkt_from(const uint8_t *sid, const uint8_t *to, uint8_t op, uint32_t mid,
			      const uint32_t *acks, unsigned int n, const void *pl, size_t len)
{
	struct ctlpkt p = { .opcode = op, .mid = mid, .n_acks = (uint8_t)n };

	memcpy(p.sid, sid, SID_LEN);
	memcpy(p.peer_sid, to, SID_LEN);
	for (unsigned int i = 0; i < n; i++)
		p.acks[i] = acks[i];
	p.payload = pl;
	p.payload_len = len;
	return p;
}

/* ---------------------------------------------------------------- part 1 */

static unsigned int room_no;

#define ROOM(mtu, v6, wrap, acks, expect)	room_case(__LINE__, (mtu), (v6), (wrap), (acks), (expect))

static void room_case(int line, unsigned int mtu, bool v6, size_t wrap, unsigned int acks,
		      size_t expect)
{
	size_t got = acks == 99 ? reliable_max_payload(mtu, v6, wrap)
				: reliable_payload_room(mtu, v6, wrap, acks);

	room_no++;
	if (got != expect) {
		harness_fail(__FILE__, line, "room case %u: %zu, expected %zu", room_no, got,
			     expect);
	}
}

static void payload_room(void)
{
	ROOM(1250, false, 0, 1, 1196);		/*  1: frame 14: 1230-byte UDP, 1 ack */
	ROOM(1250, false, 0, 0, 1208);		/*  2: no acks */
	ROOM(1250, false, 0, 99, 1184);		/*  3: worst case (4 acks), no wrap */
	ROOM(1250, true, 0, 99, 1164);		/*  4: IPv6 */
	ROOM(1250, false, 28, 99, 1156);	/*  5: tls-auth SHA1 */
	ROOM(1250, false, 40, 99, 1144);	/*  6: tls-crypt / tls-auth SHA256 */
	ROOM(1250, false, 72, 99, 1112);	/*  7: tls-auth SHA512 */
	ROOM(1250, false, 8, 8, 1160);		/*  8: 8 acks */
	ROOM(100, false, 0, 99, 88);		/*  9: below 154 is 154 */
	ROOM(154, false, 80, 99, 16);		/* 10: tiny: 2.6's 16-byte floor */
	ROOM(9000, false, 0, 99, 1982);		/* 11: above 2048 is 2048 */
	ROOM(1250, false, 40 + 299, 99, 845);	/* 12: WKC_V1 with a 299-byte WKc */
}

/* §1.7 with the exact bytes of §1.5 (client side). */
static void handshake_bytes(void)
{
	uint8_t want[128], buf[256], srv[64];
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x01, 0x10, 0x01 };
	struct reliable *c = rel_new(SID_A, 2000, 1184);
	struct ctlpkt p, in;
	size_t n;
	int len;

	MUST(reliable_send_msg(c, P_CONTROL_HARD_RESET_CLIENT_V2, NULL, 0));
	CHECK(reliable_next_out(c, SEC(1), &p), "no reset to send");
	len = ctlpkt_build(&p, buf, sizeof(buf));
	n = harness_unhex("384f9bf94c4574ca1d0000000000", want, sizeof(want));
	CHECK(len == (int)n && !memcmp(buf, want, n), "client reset bytes");
	CHECK(!reliable_next_out(c, SEC(1), &p), "more than the reset");

	n = harness_unhex("4001053c6c0e93296e01000000004f9bf94c4574ca1d00000000", srv,
			  sizeof(srv));
	MUST(ctlpkt_parse(&in, srv, n));
	CHECK(reliable_input(c, &in) == RELIABLE_IN_NEW, "server reset not new");
	CHECK(reliable_unacked(c) == 0, "reset not acked by the server reset");
	CHECK(c->has_peer_sid && !memcmp(c->peer_sid, SID_B, SID_LEN), "peer sid not learned");
	CHECK(reliable_read(c, buf, sizeof(buf)) == 0, "reset added stream bytes");
	CHECK(reliable_write(c, P_CONTROL_V1, hello, sizeof(hello)) == sizeof(hello), "write");
	CHECK(reliable_next_out(c, SEC(1), &p), "no ClientHello");
	len = ctlpkt_build(&p, buf, sizeof(buf));
	n = harness_unhex("204f9bf94c4574ca1d010000000001053c6c0e93296e00000001160301011001", want,
			  sizeof(want));
	CHECK(len == (int)n && !memcmp(buf, want, n), "client CONTROL_V1 bytes");
	CHECK(!reliable_next_out(c, SEC(1), &p), "an extra ACK after the piggyback");
	rel_free(c);
}

/* Transmit times of one message on a dead link: 0, 2, 6, 14, 30, 62 s. */
static void retransmit_timing(void)
{
	static const int64_t want[] = { 0, 2, 6, 14, 30, 62, 126, 254 };
	struct reliable *r = rel_new(SID_A, 2000, 1000);
	int64_t start = SEC(100), now = start;
	struct ctlpkt p;

	MUST(reliable_send_msg(r, P_CONTROL_HARD_RESET_CLIENT_V2, NULL, 0));
	CHECK(reliable_next_timeout(r, now) == now, "new message not due now");
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		now = reliable_next_timeout(r, now);
		CHECK(now - start == SEC(want[i]), "send %zu at %lld ns, expected %lld s", i,
		      (long long)(now - start), (long long)want[i]);
		CHECK(i == 0 || !reliable_next_out(r, now - 1, &p), "send %zu early", i);
		CHECK(reliable_next_out(r, now, &p) && p.mid == 0 &&
		      p.opcode == P_CONTROL_HARD_RESET_CLIENT_V2, "send %zu missing", i);
		CHECK(!reliable_next_out(r, now, &p), "send %zu twice", i);
	}
	CHECK(r->stats.tx_msgs == 1 && r->stats.tx_retransmits == ARRAY_SIZE(want) - 1,
	      "stats %llu/%llu", (unsigned long long)r->stats.tx_msgs,
	      (unsigned long long)r->stats.tx_retransmits);
	/* The backoff stops doubling at an hour instead of overflowing. */
	for (int i = 0; i < 60; i++) {
		now = reliable_next_timeout(r, now);
		CHECK(reliable_next_out(r, now, &p), "late send %d", i);
	}
	CHECK(r->send[0].timeout_ns == RELIABLE_TIMEOUT_MAX_NS, "cap");
	rel_free(r);
}

static void send_window(void)
{
	struct reliable *r = rel_new(SID_A, 2000, 100);
	static uint8_t big[RELIABLE_SEND_PAYLOAD_MAX + 1];
	uint8_t data[1000];
	struct ctlpkt p, in;
	uint32_t ack;

	memset(data, 7, sizeof(data));
	reliable_set_peer_sid(r, SID_B);
	CHECK(reliable_send_room(r) == 600, "room %zu", reliable_send_room(r));
	CHECK(reliable_write(r, P_CONTROL_V1, data, 1000) == 600, "write past the window");
	CHECK(reliable_send_msg(r, P_CONTROL_V1, data, 1) == -EAGAIN, "7th message queued");
	CHECK(reliable_send_room(r) == 0 && reliable_unacked(r) == 6, "full window");
	for (uint32_t mid = 0; mid < 6; mid++)
		CHECK(reliable_next_out(r, 0, &p) && p.mid == mid && p.payload_len == 100,
		      "first send of %u", mid);
	CHECK(!reliable_next_out(r, 0, &p), "more than 6 in flight");
	/* An ack for 3 frees its slot but not the window: id 6 < 0 + 6 fails. */
	ack = 3;
	in = pkt_from(SID_B, SID_A, P_ACK_V1, 0, &ack, 1, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_ACK, "ack 3");
	CHECK(reliable_unacked(r) == 5 && r->send_base == 0, "ack 3 moved the base");
	CHECK(reliable_send_msg(r, P_CONTROL_V1, data, 1) == -EAGAIN, "window is lowest-unacked + 6");
	ack = 0;
	in = pkt_from(SID_B, SID_A, P_ACK_V1, 0, &ack, 1, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_ACK && r->send_base == 1, "ack 0");
	CHECK(reliable_send_msg(r, P_CONTROL_V1, data, 1) == 0, "id 6 < 1 + 6 refused");
	CHECK(reliable_send_msg(r, P_CONTROL_V1, data, 1) == -EAGAIN, "id 7 accepted");
	/* Bad arguments. */
	CHECK(reliable_send_msg(r, P_ACK_V1, NULL, 0) == -EINVAL, "ACK as a message");
	CHECK(reliable_send_msg(r, P_DATA_V2, NULL, 0) == -EINVAL, "data as a message");
	CHECK(reliable_send_msg(r, P_CONTROL_V1, NULL, 5) == -EINVAL, "NULL payload");
	CHECK(reliable_send_msg(r, P_CONTROL_V1, big, RELIABLE_SEND_PAYLOAD_MAX + 1) == -EMSGSIZE,
	      "oversized message");
	/* The largest message, with 4 acks piggybacked, still builds. */
	{
		struct reliable *b = rel_new(SID_A, 2000, 1u << 20);
		static uint8_t out[WIRE_MAX];
		uint8_t x = 0;

		CHECK(b->max_payload == RELIABLE_SEND_PAYLOAD_MAX, "max_payload clamp");
		for (uint32_t mid = 0; mid < 4; mid++) {
			in = pkt_from(SID_B, SID_A, P_CONTROL_V1, mid, NULL, 0, &x, 1);
			CHECK(reliable_input(b, &in) == RELIABLE_IN_NEW, "mid %u", mid);
		}
		CHECK(reliable_send_msg(b, P_CONTROL_V1, big, RELIABLE_SEND_PAYLOAD_MAX) == 0, "max");
		CHECK(reliable_next_out(b, 0, &p) && p.n_acks == 4 &&
		      ctlpkt_build(&p, out, sizeof(out)) == WIRE_MAX, "largest packet");
		rel_free(b);
	}
	rel_free(r);
}

static void fast_retransmit(void)
{
	struct reliable *r = rel_new(SID_A, 2000, 100);
	uint8_t data[500];
	struct ctlpkt p, in;
	uint32_t acks[3] = { 1, 2, 3 };

	memset(data, 1, sizeof(data));
	reliable_set_peer_sid(r, SID_B);
	CHECK(reliable_write(r, P_CONTROL_V1, data, 500) == 500, "write");
	while (reliable_next_out(r, 0, &p))
		;
	/* Acks for 1 and 2: message 0 has seen two later acks, not yet due. */
	in = pkt_from(SID_B, SID_A, P_ACK_V1, 0, acks, 2, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_ACK, "acks 1, 2");
	CHECK(!reliable_next_out(r, MS(100), &p), "resent after 2 later acks");
	CHECK(reliable_next_timeout(r, MS(100)) == SEC(2), "timer moved");
	/* A re-sent (MRU) ack for 2 counts too, as in 2.6: third later ack. */
	in = pkt_from(SID_B, SID_A, P_ACK_V1, 0, acks + 1, 1, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_ACK, "ack 2 again");
	CHECK(reliable_next_timeout(r, MS(100)) == MS(100), "fast retransmit not due");
	CHECK(reliable_next_out(r, MS(100), &p) && p.mid == 0, "fast retransmit of 0");
	CHECK(r->stats.tx_fast_retransmits == 1, "fast retransmit not counted");
	CHECK(!reliable_next_out(r, MS(100), &p), "fast retransmit twice");
	/* The fast retransmit doubled the timeout: next try 4 s later. */
	CHECK(r->send[0].next_try_ns == MS(100) + SEC(4), "next try %lld",
	      (long long)r->send[0].next_try_ns);
	/* Messages 3 and 4 are still in flight; 0 and 1..2 done once acked. */
	acks[0] = 0;
	in = pkt_from(SID_B, SID_A, P_ACK_V1, 0, acks, 1, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_ACK && r->send_base == 3, "base %u",
	      r->send_base);
	/* Acks for ids never issued, or long gone, are ignored. */
	acks[0] = 77;
	acks[1] = 0;
	acks[2] = 0xffffffffu;
	in = pkt_from(SID_B, SID_A, P_ACK_V1, 0, acks, 3, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_ACK && r->send_base == 3 &&
	      reliable_unacked(r) == 2, "unknown acks changed state");
	CHECK(r->stats.rx_acks_unknown >= 4, "unknown acks not counted");
	rel_free(r);
}

static void receive_window(void)
{
	struct reliable *r = rel_new(SID_A, 2000, 100);
	uint8_t buf[64], one;
	struct ctlpkt in, p;
	int rc;

	for (uint32_t mid = 12; mid-- > 0;) {
		one = (uint8_t)mid;
		in = pkt_from(SID_B, SID_A, P_CONTROL_V1, mid, NULL, 0, &one, 1);
		rc = reliable_input(r, &in);
		CHECK(rc == RELIABLE_IN_NEW, "mid %u: %d", mid, rc);
	}
	one = 12;
	in = pkt_from(SID_B, SID_A, P_CONTROL_V1, 12, NULL, 0, &one, 1);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_WINDOW, "mid 12 beyond the window accepted");
	CHECK(r->n_pending == 12, "window drop was acked (%u owed)", r->n_pending);
	in.mid = 0x80000000u;
	CHECK(reliable_input(r, &in) == RELIABLE_IN_WINDOW, "far id accepted");
	in.mid = 5;
	CHECK(reliable_input(r, &in) == RELIABLE_IN_DUP && r->n_pending == 12, "buffered dup");
	CHECK(reliable_readable(r) == 12, "readable %zu", reliable_readable(r));
	CHECK(reliable_read(r, buf, 5) == 5 && r->recv_next == 5, "partial read");
	CHECK(buf[0] == 0 && buf[4] == 4, "order");
	in.mid = 12;
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "mid 12 after the window moved");
	in.mid = 17;
	CHECK(reliable_input(r, &in) == RELIABLE_IN_WINDOW, "mid 17 = 5 + 12");
	in.mid = 2;
	CHECK(reliable_input(r, &in) == RELIABLE_IN_DUP, "old dup");
	CHECK(reliable_read(r, buf, sizeof(buf)) == 8 && buf[7] == 12, "rest");
	/* Acks: the 13 owed ids go oldest first, 8 per P_ACK_V1, then nothing. */
	CHECK(reliable_next_out(r, 0, &p) && p.opcode == P_ACK_V1 && p.n_acks == 8 &&
	      p.acks[0] == 11 && p.acks[7] == 4 && !memcmp(p.peer_sid, SID_B, SID_LEN),
	      "first ACK_V1 (%u acks, first %u)", p.n_acks, p.acks[0]);
	CHECK(reliable_next_out(r, 0, &p) && p.opcode == P_ACK_V1 && p.n_acks == 8 &&
	      p.acks[0] == 3 && p.acks[4] == 12 && p.acks[5] == 11,
	      "second ACK_V1: owed then MRU filler (%u %u %u)", p.acks[0], p.acks[4], p.acks[5]);
	CHECK(!reliable_next_out(r, 0, &p), "third ACK_V1");
	CHECK(r->stats.rx_msgs == 13 && r->stats.rx_dups == 2 && r->stats.rx_window_drops == 3,
	      "stats");
	rel_free(r);
}

static void ack_piggyback(void)
{
	struct reliable *r = rel_new(SID_A, 2000, 100);
	struct ctlpkt in, p;
	uint8_t x = 0;

	for (uint32_t mid = 0; mid < 6; mid++) {
		in = pkt_from(SID_B, SID_A, P_CONTROL_V1, mid, NULL, 0, &x, 1);
		CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "mid %u", mid);
	}
	MUST(reliable_send_msg(r, P_CONTROL_V1, &x, 1));
	CHECK(reliable_next_out(r, 0, &p) && p.opcode == P_CONTROL_V1 && p.n_acks == 4 &&
	      p.acks[0] == 0 && p.acks[3] == 3, "piggyback 4 (%u)", p.n_acks);
	CHECK(reliable_next_out(r, 0, &p) && p.opcode == P_ACK_V1 && p.n_acks == 6 &&
	      p.acks[0] == 4 && p.acks[1] == 5 && p.acks[2] == 0, "rest in ACK_V1 + filler");
	CHECK(!reliable_next_out(r, 0, &p), "nothing left");
	/* A retransmission carries MRU filler acks only, and no ACK_V1 follows. */
	CHECK(reliable_next_out(r, SEC(2), &p) && p.mid == 0 && p.n_acks == 4, "retransmit");
	CHECK(!reliable_next_out(r, SEC(2), &p), "ACK_V1 without owed acks");
	CHECK(reliable_next_timeout(r, SEC(2)) == SEC(6), "next timeout");
	rel_free(r);
}

static void session_ids(void)
{
	struct reliable *r = rel_new(SID_A, 2000, 100);
	struct reliable_stats before;
	struct ctlpkt in;
	uint32_t ack = 0;
	uint8_t x = 1;

	MUST(reliable_send_msg(r, P_CONTROL_V1, &x, 1));
	{
		struct ctlpkt p;

		CHECK(reliable_next_out(r, 0, &p), "send");
	}
	/* First packet teaches the peer sid. */
	in = pkt_from(SID_B, SID_A, P_CONTROL_V1, 0, NULL, 0, &x, 1);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "first");
	/* Ack array with the wrong peer session id: whole packet dropped. */
	before = r->stats;
	in = pkt_from(SID_B, SID_X, P_CONTROL_V1, 1, &ack, 1, &x, 1);
	CHECK(reliable_input(r, &in) == -EBADMSG, "bad peer sid in acks");
	CHECK(reliable_unacked(r) == 1 && r->n_pending == 1 && !r->recv[1].is_active,
	      "bad-sid packet changed state");
	/* Another sender: dropped. */
	in = pkt_from(SID_X, SID_A, P_CONTROL_V1, 1, &ack, 1, &x, 1);
	CHECK(reliable_input(r, &in) == -ESRCH, "foreign sender");
	CHECK(reliable_unacked(r) == 1 && r->n_pending == 1, "foreign packet changed state");
	CHECK(r->stats.rx_bad_sid == before.rx_bad_sid + 2, "bad sid not counted");
	/* Other key_id, bad opcode, oversized payload. */
	in = pkt_from(SID_B, SID_A, P_CONTROL_V1, 1, &ack, 1, &x, 1);
	in.key_id = 1;
	CHECK(reliable_input(r, &in) == -EINVAL, "other key_id");
	in.key_id = 0;
	in.opcode = P_DATA_V2;
	CHECK(reliable_input(r, &in) == -EPROTO, "data opcode");
	in.opcode = P_CONTROL_V1;
	in.payload_len = RELIABLE_PAYLOAD_MAX + 1;
	CHECK(reliable_input(r, &in) == -EMSGSIZE, "oversized");
	CHECK(reliable_unacked(r) == 1 && r->n_pending == 1, "refused packets changed state");
	in.payload_len = 1;
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW && reliable_unacked(r) == 0, "good one");
	rel_free(r);
}

static void ack_queue_limit(void)
{
	struct reliable *r = rel_new(SID_A, 2000, 100);
	struct ctlpkt in;
	uint8_t buf[32], x = 0;
	uint32_t mid;

	/* Read as we go so the window never closes: only the ack queue fills. */
	for (mid = 0; mid < RELIABLE_ACK_PENDING; mid++) {
		in = pkt_from(SID_B, SID_A, P_CONTROL_V1, mid, NULL, 0, &x, 1);
		CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "mid %u", mid);
		CHECK(reliable_read(r, buf, sizeof(buf)) == 1, "read %u", mid);
	}
	in = pkt_from(SID_B, SID_A, P_CONTROL_V1, mid, NULL, 0, &x, 1);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_ACKQ_FULL && !reliable_readable(r),
	      "17th owed ack");
	in.mid = 3;
	CHECK(reliable_input(r, &in) == RELIABLE_IN_DUP, "dup of an owed id needs no room");
	CHECK(r->stats.rx_ackq_drops == 1, "not counted");
	rel_free(r);
}

static void stream_opcodes(void)
{
	struct reliable *r = rel_new(SID_A, 2000, 100);
	static const uint8_t tlv[] = { 0, 1, 0, 2, 0, 1 };
	uint8_t buf[32];
	struct ctlpkt in;

	in = pkt_from(SID_B, SID_A, P_CONTROL_HARD_RESET_SERVER_V2, 0, NULL, 0, tlv, sizeof(tlv));
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "reset");
	in = pkt_from(SID_B, SID_A, P_CONTROL_V1, 2, NULL, 0, "cd", 2);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "control 2");
	CHECK(reliable_readable(r) == 0 && reliable_read(r, buf, sizeof(buf)) == 0,
	      "reset TLVs in the stream");
	CHECK(r->recv_next == 1, "reset not consumed");
	in = pkt_from(SID_B, SID_A, P_CONTROL_WKC_V1, 1, NULL, 0, "ab", 2);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "wkc 1");
	in = pkt_from(SID_B, SID_A, P_CONTROL_V1, 3, NULL, 0, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "empty control 3");
	in = pkt_from(SID_B, SID_A, P_CONTROL_SOFT_RESET_V1, 4, NULL, 0, NULL, 0);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "soft reset 4");
	in = pkt_from(SID_B, SID_A, P_CONTROL_V1, 5, NULL, 0, "e", 1);
	CHECK(reliable_input(r, &in) == RELIABLE_IN_NEW, "control 5");
	CHECK(reliable_readable(r) == 5, "readable %zu", reliable_readable(r));
	CHECK(reliable_read(r, buf, 3) == 3 && !memcmp(buf, "abc", 3), "first 3");
	CHECK(reliable_read(r, buf, 0) == 0, "zero read");
	CHECK(reliable_read(r, buf, sizeof(buf)) == 2 && !memcmp(buf, "de", 2), "rest");
	CHECK(r->recv_next == 6 && reliable_readable(r) == 0, "all consumed");
	rel_free(r);
}

/* ---------------------------------------------------------------- part 2 */

#define SIM_BYTES	(200 * 1024)
#define SIM_MIDS	4096		/* message ids tracked per direction */
#define LINK_SLOTS	512
#define TLS_MTU		1250
#define BASE_MS		2000

static uint64_t rng;

static uint64_t rnd(void)
{
	return harness_rnd(&rng);
}

/* Byte @i of the stream sent by endpoint @dir: a fixed pseudo-random function. */
static uint8_t stream_byte(int dir, uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ULL + (uint64_t)dir * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (i & 7)));
}

struct endpoint {
	int dir;
	struct reliable *r;
	struct tlswrap *w;
	uint64_t sent;			/* own stream bytes handed to reliable_write */
	uint64_t got;			/* peer stream bytes read and verified */
	int64_t stall_until;		/* reader pauses until then */
	bool owed[SIM_MIDS];		/* received, ack not yet sent */
	bool seen[SIM_MIDS];		/* ever received */
	int64_t last_tx[SIM_MIDS];	/* send times of own messages */
	uint32_t n_tx[SIM_MIDS];
	uint64_t unwrap_drops, timer_ok, fast_ok;
};

struct datagram {
	int64_t at;
	int to;
	uint16_t len;
	uint8_t data[TLS_MTU];
};

struct sim {
	int mode;			/* 0 none, 1 tls-auth, 2 tls-crypt */
	unsigned int loss, dup, corrupt;	/* percent */
	int64_t now;
	struct endpoint ep[2];
	struct datagram link[LINK_SLOTS];
	unsigned int n_link;
	uint64_t delivered, lost;
	bool failed;
};

/* One report per simulation: the first failed check marks it failed. */
#define SIM_CHECK(s, cond, fmt, ...)						\
	do {									\
		if (!(cond) && !(s)->failed) {					\
			harness_fail(__FILE__, __LINE__, "sim mode %d: " fmt, (s)->mode, \
				     ##__VA_ARGS__);				\
			(s)->failed = true;					\
		}								\
	} while (0)

static void link_put(struct sim *s, int to, const uint8_t *data, size_t len)
{
	struct datagram *d;

	if (s->n_link == LINK_SLOTS || rnd() % 100 < s->loss) {
		s->lost++;
		return;
	}
	d = &s->link[s->n_link++];
	d->at = s->now + MS(1 + rnd() % 80);
	d->to = to;
	d->len = (uint16_t)len;
	memcpy(d->data, data, len);
	if (s->mode && rnd() % 100 < s->corrupt)
		d->data[rnd() % len] ^= (uint8_t)(1 << (rnd() % 8));
	if (rnd() % 100 < s->dup && s->n_link < LINK_SLOTS) {
		s->link[s->n_link] = *d;
		s->link[s->n_link++].at += MS(rnd() % 200);
	}
}

/* Checks one packet @e is about to send, then books its acks and timing. */
static void sim_check_out(struct sim *s, struct endpoint *e, const struct ctlpkt *p,
			  const struct reliable_stats *before)
{
	struct reliable *r = e->r;

	for (unsigned int i = 0; i < p->n_acks; i++) {
		SIM_CHECK(s, p->acks[i] < SIM_MIDS && e->seen[p->acks[i]],
			  "ep %d acks %u, never received", e->dir, p->acks[i]);
		if (p->acks[i] < SIM_MIDS)
			e->owed[p->acks[i]] = false;
	}
	if (p->opcode == P_ACK_V1) {
		SIM_CHECK(s, p->n_acks >= 1 && p->n_acks <= 8, "ACK_V1 with %u acks", p->n_acks);
		return;
	}
	SIM_CHECK(s, p->n_acks <= 4, "%u acks piggybacked", p->n_acks);
	SIM_CHECK(s, p->mid - r->send_base < 6, "mid %u outside window base %u", p->mid,
		  r->send_base);
	SIM_CHECK(s, p->mid < SIM_MIDS, "too many messages");
	if (p->mid >= SIM_MIDS)
		return;
	if (e->n_tx[p->mid]) {
		int64_t gap = s->now - e->last_tx[p->mid];
		int64_t want = MS(BASE_MS) << MIN(e->n_tx[p->mid] - 1, 20u);

		want = MIN(want, RELIABLE_TIMEOUT_MAX_NS);

		if (r->stats.tx_retransmits > before->tx_retransmits) {
			SIM_CHECK(s, gap == want, "ep %d mid %u send %u: gap %lld, expected %lld",
				  e->dir, p->mid, e->n_tx[p->mid], (long long)gap, (long long)want);
			e->timer_ok++;
		} else {
			SIM_CHECK(s, r->stats.tx_fast_retransmits > before->tx_fast_retransmits &&
				  gap < want, "ep %d mid %u: early resend not fast", e->dir, p->mid);
			e->fast_ok++;
		}
	}
	e->last_tx[p->mid] = s->now;
	e->n_tx[p->mid]++;
}

static void sim_emit(struct sim *s, struct endpoint *e)
{
	static uint8_t plain[2048], wire[2048];
	struct reliable_stats before = e->r->stats;
	struct ctlpkt p;

	while (reliable_next_out(e->r, s->now, &p)) {
		int len = ctlpkt_build(&p, plain, sizeof(plain));
		int wl;

		sim_check_out(s, e, &p, &before);
		before = e->r->stats;
		SIM_CHECK(s, len > 0, "build %d", len);
		if (len <= 0)
			return;
		wl = tlswrap_wrap(e->w, plain, (size_t)len, wire, sizeof(wire), 1700000000u);
		SIM_CHECK(s, wl > 0 && wl <= TLS_MTU - 28, "wire length %d above tls-mtu", wl);
		if (wl > 0 && wl <= TLS_MTU - 28)
			link_put(s, !e->dir, wire, (size_t)wl);
	}
}

/* Reads and verifies what arrived, writes more, sends what is due. */
static void sim_service(struct sim *s, struct endpoint *e)
{
	static uint8_t buf[3000];

	if (s->now >= e->stall_until) {
		size_t n;

		while ((n = reliable_read(e->r, buf, 1 + rnd() % sizeof(buf))) > 0) {
			for (size_t i = 0; i < n; i++)
				SIM_CHECK(s, buf[i] == stream_byte(!e->dir, e->got + i),
					  "ep %d: stream byte %llu wrong", e->dir,
					  (unsigned long long)(e->got + i));
			e->got += n;
			SIM_CHECK(s, e->got <= SIM_BYTES, "ep %d read past the end: %llu, recv_next %u n %zu",
				  e->dir, (unsigned long long)e->got, e->r->recv_next, n);
		}
		if (rnd() % 100 < 3)
			e->stall_until = s->now + MS(200 + rnd() % 3000);
	}
	while (e->sent < SIM_BYTES) {
		size_t chunk = (size_t)(1 + rnd() % 3000);	/* not inside MIN(): evaluated twice */
		size_t want = MIN(chunk, (size_t)(SIM_BYTES - e->sent));
		size_t k, took;

		for (k = 0; k < want; k++)
			buf[k] = stream_byte(e->dir, e->sent + k);
		took = reliable_write(e->r, P_CONTROL_V1, buf, want);
		e->sent += took;
		if (took < want)
			break;
	}
	sim_emit(s, e);
}

static void sim_deliver(struct sim *s, struct datagram *d)
{
	struct endpoint *e = &s->ep[d->to];
	static uint8_t plain[2048];
	unsigned int pending_before = e->r->n_pending, buffered = 0;
	struct ctlpkt p;
	int len, rc;

	len = tlswrap_unwrap(e->w, d->data, d->len, plain, sizeof(plain), s->now);
	if (len < 0) {
		/* Only duplicates (replay) and corrupted datagrams may fail. */
		SIM_CHECK(s, len == TLSWRAP_ERR_REPLAY || len == TLSWRAP_ERR_AUTH ||
			  len == TLSWRAP_ERR_LEN || len == TLSWRAP_ERR_OPCODE, "unwrap: %s",
			  tlswrap_strerror(len));
		e->unwrap_drops++;
		return;
	}
	rc = ctlpkt_parse(&p, plain, (size_t)len);
	SIM_CHECK(s, rc == 0, "parse %d", rc);
	if (rc)
		return;
	rc = reliable_input(e->r, &p);
	SIM_CHECK(s, rc >= 0, "reliable_input %d", rc);
	if (rc == RELIABLE_IN_NEW || rc == RELIABLE_IN_DUP) {
		SIM_CHECK(s, p.mid < SIM_MIDS, "mid %u", p.mid);
		if (p.mid < SIM_MIDS)
			e->owed[p.mid] = e->seen[p.mid] = true;
	} else if (rc == RELIABLE_IN_WINDOW) {
		SIM_CHECK(s, e->r->n_pending == pending_before, "window drop acked");
	}
	SIM_CHECK(s, rc != RELIABLE_IN_ACKQ_FULL, "ack queue overflow");
	for (unsigned int i = 0; i < TLS_RELIABLE_N_REC_BUFFERS; i++) {
		const struct reliable_recv_slot *slot = &e->r->recv[i];

		buffered += slot->is_active;
		SIM_CHECK(s, !slot->is_active || slot->mid - e->r->recv_next < 12,
			  "buffered mid %u outside window %u", slot->mid, e->r->recv_next);
	}
	SIM_CHECK(s, buffered <= 12, "buffered %u", buffered);
	s->delivered++;
}

static int64_t sim_next_event(struct sim *s)
{
	int64_t t = INT64_MAX;

	for (unsigned int i = 0; i < s->n_link; i++)
		t = MIN(t, s->link[i].at);
	for (int k = 0; k < 2; k++) {
		t = MIN(t, reliable_next_timeout(s->ep[k].r, s->now));
		if (s->ep[k].stall_until > s->now)
			t = MIN(t, s->ep[k].stall_until);
	}
	return t;
}

static bool sim_done(const struct sim *s)
{
	for (int k = 0; k < 2; k++) {
		const struct endpoint *e = &s->ep[k];

		if (e->got != SIM_BYTES || e->sent != SIM_BYTES || reliable_unacked(e->r) ||
		    e->r->n_pending)
			return false;
	}
	return true;
}

static int make_wrap(int mode, bool server, struct tlswrap **w)
{
	static uint8_t key[KEY2_LEN];

	for (int i = 0; i < KEY2_LEN; i++)
		key[i] = (uint8_t)(i * 29 + 3);
	if (mode == 1)
		return tlswrap_create_auth(w, key, server ? 0 : 1, "SHA1");
	if (mode == 2)
		return tlswrap_create_crypt(w, key, server);
	return tlswrap_create_none(w);
}

static void simulate(int mode, unsigned int loss, unsigned int dup, unsigned int corrupt,
		     uint64_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));
	uint64_t steps = 0;

	if (!s)
		exit(1);
	rng = seed;
	s->mode = mode;
	s->loss = loss;
	s->dup = dup;
	s->corrupt = corrupt;
	s->now = SEC(1);
	for (int k = 0; k < 2; k++) {
		struct endpoint *e = &s->ep[k];

		e->dir = k;
		MUST(make_wrap(mode, k == 1, &e->w));
		e->r = rel_new(k ? SID_B : SID_A, BASE_MS,
			       reliable_max_payload(TLS_MTU, false,
						    tlswrap_overhead(e->w, P_CONTROL_V1)));
	}
	sim_service(s, &s->ep[0]);
	sim_service(s, &s->ep[1]);
	while (!sim_done(s) && !s->failed) {
		int64_t t = sim_next_event(s);

		if (t == INT64_MAX || t - SEC(1) > SEC(4 * 3600) || ++steps > 5000000) {
			SIM_CHECK(s, 0, "stuck at %lld s: got %llu/%llu", (long long)(s->now / SEC(1)),
				  (unsigned long long)s->ep[0].got, (unsigned long long)s->ep[1].got);
			break;
		}
		s->now = MAX(s->now, t);
		for (unsigned int i = 0; i < s->n_link;) {
			if (s->link[i].at <= s->now) {
				struct datagram d = s->link[i];

				s->link[i] = s->link[--s->n_link];
				sim_deliver(s, &d);
			} else {
				i++;
			}
		}
		sim_service(s, &s->ep[0]);
		sim_service(s, &s->ep[1]);
	}
	for (int k = 0; k < 2 && !s->failed; k++) {
		struct endpoint *e = &s->ep[k];

		for (unsigned int m = 0; m < SIM_MIDS; m++)
			SIM_CHECK(s, !e->owed[m], "ep %d never acked mid %u", k, m);
	}
	printf("sim mode %d loss %u%% dup %u%% corrupt %u%%: %s after %.1f s simulated, "
	       "%llu delivered, %llu lost; A: %llu msgs, %llu+%llu retransmits (timer+fast), "
	       "%llu acks, %llu dups, %llu window drops, %llu unwrap drops\n",
	       mode, loss, dup, corrupt, s->failed ? "FAILED" : "ok",
	       (double)(s->now - SEC(1)) / 1e9, (unsigned long long)s->delivered,
	       (unsigned long long)s->lost, (unsigned long long)s->ep[0].r->stats.tx_msgs,
	       (unsigned long long)s->ep[0].r->stats.tx_retransmits,
	       (unsigned long long)s->ep[0].r->stats.tx_fast_retransmits,
	       (unsigned long long)s->ep[0].r->stats.tx_acks,
	       (unsigned long long)s->ep[0].r->stats.rx_dups,
	       (unsigned long long)s->ep[0].r->stats.rx_window_drops,
	       (unsigned long long)s->ep[0].unwrap_drops);
	if (loss && !s->failed) {
		const struct reliable_stats *st = &s->ep[0].r->stats;

		CHECK(st->tx_retransmits > 0 && s->ep[0].timer_ok > 0, "no timer retransmits seen");
		CHECK(st->rx_dups + s->ep[0].unwrap_drops > 0, "no duplicates seen");
	}
	for (int k = 0; k < 2; k++) {
		tlswrap_free(s->ep[k].w);
		rel_free(s->ep[k].r);
	}
	free(s);
}

int main(void)
{
	payload_room();
	handshake_bytes();
	retransmit_timing();
	send_window();
	fast_retransmit();
	receive_window();
	ack_piggyback();
	session_ids();
	ack_queue_limit();
	stream_opcodes();

	simulate(0, 0, 0, 0, 1);
	simulate(0, 10, 5, 0, 2);
	simulate(0, 30, 10, 0, 3);
	simulate(1, 10, 5, 3, 4);
	simulate(2, 10, 5, 3, 5);
	simulate(2, 25, 20, 10, 6);
	return harness_done("reliable_test");
}
