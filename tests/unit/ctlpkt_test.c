/*
 * ctlpkt_test.c - the unwrapped control packet parser and builder
 * (ctrl/proto/ctlpkt.h, openvpn-wire.md §1.5).
 *
 * Part 1: numbered table of parse cases, T(hex bytes, expected result).
 * Part 2: the three worked examples of §1.5 (= interop/handshake-trace.txt
 *         part 3, frames 11-13): every field, and build() gives the exact bytes.
 * Part 3: the control frames of handshake-trace.txt part 1 (key_id 0):
 *         rebuilt from the printed fields, sizes must equal udp_len - 8.
 * Part 4: builder refusals and buffer limits.
 * Part 5: randomized: parse(build(p)) == p, build(parse(b)) == b, every
 *         prefix of a valid packet handled, random bytes never crash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/proto/ctlpkt.h"
#include "harness.h"

static unsigned int case_no;

static void t_parse(int line, const char *hex, int expect)
{
	uint8_t buf[512], again[512];
	struct ctlpkt p;
	size_t len = harness_unhex(hex, buf, sizeof(buf));
	int rc = ctlpkt_parse(&p, buf, len);

	case_no++;
	if (rc != expect) {
		harness_fail(__FILE__, line, "case %u: parse(%s) = %d, expected %d", case_no, hex,
			     rc, expect);
		return;
	}
	if (rc)
		return;
	/* Accepted packets are canonical: building them gives the same bytes. */
	rc = ctlpkt_build(&p, again, sizeof(again));
	if (rc != (int)len || memcmp(again, buf, len)) {
		harness_fail(__FILE__, line, "case %u: build(parse(x)) != x (rc %d)", case_no, rc);
	}
}

#define T(hex, expect)	t_parse(__LINE__, (hex), (expect))

/* Session ids of handshake-trace.txt: client 4f9b..., server 0105... */
#define CSID	"4f9bf94c4574ca1d"
#define SSID	"01053c6c0e93296e"

static void table_parse(void)
{
	T("", -EMSGSIZE);					/*  1: empty */
	T("38", -EMSGSIZE);					/*  2: opcode only */
	T("38 " CSID, -EMSGSIZE);				/*  3: no ack count */
	T("38 " CSID " 00", -EMSGSIZE);			/*  4: no message id */
	T("38 " CSID " 00 000000", -EMSGSIZE);		/*  5: message id cut */
	T("38 " CSID " 00 00000000", 0);			/*  6: client reset (§1.5) */
	T("40 " SSID " 01 00000000 " CSID " 00000000", 0);	/*  7: server reset */
	T("20 " CSID " 01 00000000 " SSID " 00000001 16030101", 0); /* 8: CONTROL_V1 */
	T("28 " CSID " 02 00000001 00000000 " SSID, 0);	/*  9: ACK 1,0 */
	T("28 " CSID " 00", -EINVAL);				/* 10: ACK without acks */
	T("28 " CSID " 00 00000000", -EINVAL);		/* 11: ... even with more bytes */
	T("28 " CSID " 01 00000000 " SSID " 00", -EMSGSIZE);	/* 12: ACK + trailing byte */
	T("28 " CSID " 01 00000000 " SSID " 00000005", -EMSGSIZE); /* 13: ACK + a "message id" */
	T("28 " CSID " 01 00000000 01053c6c0e9329", -EMSGSIZE); /* 14: peer sid cut */
	T("28 " CSID " 01 00000000", -EMSGSIZE);		/* 15: peer sid missing */
	T("28 " CSID " 02 00000001", -EMSGSIZE);		/* 16: ack ids cut */
	T("28 " CSID " 01 000000", -EMSGSIZE);		/* 17: ack id cut */
	T("20 " CSID " 09 00000000", -EINVAL);		/* 18: 9 acks */
	T("20 " CSID " ff", -EINVAL);				/* 19: 255 acks */
	T("28 " CSID " 09", -EINVAL);				/* 20: ACK with 9 acks */
	T("20 " CSID " 08 00000007 00000006 00000005 00000004 00000003 00000002 00000001 00000000 "
	  SSID " 0000000a", 0);					/* 21: 8 acks */
	T("28 " CSID " 08 00000007 00000006 00000005 00000004 00000003 00000002 00000001 00000000 "
	  SSID, 0);						/* 22: ACK with 8 acks */
	T("20 " CSID " 08 00000007 00000006 00000005 00000004 00000003 00000002 00000001 00000000 "
	  SSID " 000000", -EMSGSIZE);				/* 23: 8 acks, mid cut */
	T("20 " CSID " 01 00000000 " SSID, -EMSGSIZE);	/* 24: CONTROL without mid */
	T("20 " CSID " 01 00000000 " SSID " 000000", -EMSGSIZE); /* 25: mid cut */
	T("00 " CSID " 00 00000000", -EPROTO);		/* 26: opcode 0 */
	T("08 " CSID " 00 00000000", -EPROTO);		/* 27: HARD_RESET_CLIENT_V1 */
	T("10 " CSID " 00 00000000", -EPROTO);		/* 28: HARD_RESET_SERVER_V1 */
	T("30 " CSID " 00 00000000", -EPROTO);		/* 29: P_DATA_V1 */
	T("48 " CSID " 00 00000000", -EPROTO);		/* 30: P_DATA_V2 */
	T("60 " CSID " 00 00000000", -EPROTO);		/* 31: opcode 12 */
	T("f8 " CSID " 00 00000000", -EPROTO);		/* 32: opcode 31 */
	T("0f", -EMSGSIZE);					/* 33: short beats opcode */
	T("19 " SSID " 00 00000000", 0);			/* 34: SOFT_RESET kid 1 */
	T("1f " SSID " 00 00000000", 0);			/* 35: SOFT_RESET kid 7 */
	T("50 " CSID " 00 00000000", 0);			/* 36: HARD_RESET_CLIENT_V3 */
	T("58 " CSID " 01 00000000 " SSID " 00000001", 0);	/* 37: empty WKC_V1 */
	T("40 " SSID " 01 00000000 " CSID " 00000000 0001 0002 0001", 0); /* 38: reset + TLV */
	T("2f " CSID " 01 ffffffff " SSID, 0);		/* 39: ACK kid 7, id 2^32-1 */
	T("27 " CSID " 00 ffffffff ff", 0);			/* 40: CONTROL kid 7, max mid */
	T("20 " CSID " 01 00000000 " SSID " 00000001", 0);	/* 41: empty CONTROL_V1 */
	T("28 " CSID " 01", -EMSGSIZE);			/* 42: ACK count only */
}

static void check_example(int line, const char *hex, uint8_t op, const char *sid, unsigned int n,
			  const uint32_t *acks, const char *peer, uint32_t mid, const char *payload)
{
	uint8_t buf[512], out[512], want_sid[SID_LEN], want_peer[SID_LEN], want_pl[64];
	size_t len = harness_unhex(hex, buf, sizeof(buf));
	size_t pl_len = harness_unhex(payload, want_pl, sizeof(want_pl));
	struct ctlpkt p;
	int rc;

	harness_unhex(sid, want_sid, SID_LEN);
	harness_unhex(peer, want_peer, SID_LEN);
	rc = ctlpkt_parse(&p, buf, len);
	CHECK(rc == 0, "line %d: parse failed: %d", line, rc);
	if (rc)
		return;
	CHECK(p.opcode == op && p.key_id == 0, "line %d: opcode %u/%u", line, p.opcode, p.key_id);
	CHECK(!memcmp(p.sid, want_sid, SID_LEN), "line %d: own sid", line);
	CHECK(p.n_acks == n, "line %d: %u acks, expected %u", line, p.n_acks, n);
	for (unsigned int i = 0; i < n && i < p.n_acks; i++)
		CHECK(p.acks[i] == acks[i], "line %d: ack %u = %u", line, i, p.acks[i]);
	if (n)
		CHECK(!memcmp(p.peer_sid, want_peer, SID_LEN), "line %d: peer sid", line);
	CHECK(p.mid == mid, "line %d: mid %u, expected %u", line, p.mid, mid);
	CHECK(p.payload_len == pl_len && !memcmp(p.payload, want_pl, pl_len),
	      "line %d: payload", line);
	CHECK(ctlpkt_size(&p) == len, "line %d: size", line);
	/* Build from scratch, not from the parsed struct's pointers. */
	{
		struct ctlpkt b = { .opcode = op, .n_acks = (uint8_t)n, .mid = mid };

		memcpy(b.sid, want_sid, SID_LEN);
		memcpy(b.peer_sid, want_peer, SID_LEN);
		for (unsigned int i = 0; i < n; i++)
			b.acks[i] = acks[i];
		b.payload = want_pl;
		b.payload_len = pl_len;
		rc = ctlpkt_build(&b, out, sizeof(out));
		CHECK(rc == (int)len && !memcmp(out, buf, len), "line %d: build gives other bytes",
		      line);
	}
}

static void worked_examples(void)
{
	static const uint32_t ack0[] = { 0 };

	/* frame 11: 38 | client sid | 00 | 00000000 */
	check_example(__LINE__, "384f9bf94c4574ca1d0000000000", P_CONTROL_HARD_RESET_CLIENT_V2,
		      CSID, 0, NULL, "", 0, "");
	/* frame 12: 40 | server sid | 01 | 00000000 | client sid | 00000000 */
	check_example(__LINE__, "4001053c6c0e93296e01000000004f9bf94c4574ca1d00000000",
		      P_CONTROL_HARD_RESET_SERVER_V2, SSID, 1, ack0, CSID, 0, "");
	/* frame 13 (first 64 bytes): the ClientHello CONTROL_V1 */
	check_example(__LINE__,
		      "204f9bf94c4574ca1d010000000001053c6c0e93296e00000001160301011001"
		      "00010c030399362165857f47bb90862d26bdaf71174b0ba71e5cd33f9438175b",
		      P_CONTROL_V1, CSID, 1, ack0, SSID, 1,
		      "16030101100100010c030399362165857f47bb90862d26bdaf71174b0ba71e5cd33f9438175b");
}

/* One line of handshake-trace.txt part 1 (key_id 0 control frames). */
struct trace_frame {
	int frame;
	unsigned int udp_len;
	uint64_t own_sid;
	unsigned int n_acks;
	uint32_t acks[4];
	uint64_t peer_sid;
	int mid;		/* -1: P_ACK_V1 */
	uint8_t opcode;
};

#define C_SID	5736452656364571165ULL
#define S_SID	73531403720141166ULL

static const struct trace_frame trace[] = {
	{ 11, 22, C_SID, 0, { 0 }, 0, 0, P_CONTROL_HARD_RESET_CLIENT_V2 },
	{ 12, 34, S_SID, 1, { 0 }, C_SID, 0, P_CONTROL_HARD_RESET_SERVER_V2 },
	{ 13, 311, C_SID, 1, { 0 }, S_SID, 1, P_CONTROL_V1 },
	{ 14, 1230, S_SID, 1, { 1 }, C_SID, 1, P_CONTROL_V1 },
	{ 15, 527, S_SID, 1, { 1 }, C_SID, 2, P_CONTROL_V1 },
	{ 16, 34, C_SID, 2, { 1, 0 }, S_SID, -1, P_ACK_V1 },
	{ 17, 1230, C_SID, 3, { 2, 1, 0 }, S_SID, 2, P_CONTROL_V1 },
	{ 18, 319, C_SID, 3, { 2, 1, 0 }, S_SID, 3, P_CONTROL_V1 },
	{ 19, 196, S_SID, 2, { 2, 1 }, C_SID, 3, P_CONTROL_V1 },
	{ 20, 42, C_SID, 4, { 3, 2, 1, 0 }, S_SID, -1, P_ACK_V1 },
	{ 21, 242, S_SID, 3, { 3, 2, 1 }, C_SID, 4, P_CONTROL_V1 },
	{ 22, 42, C_SID, 4, { 4, 3, 2, 1 }, S_SID, -1, P_ACK_V1 },
	{ 23, 346, S_SID, 3, { 3, 2, 1 }, C_SID, 5, P_CONTROL_V1 },
	{ 24, 42, C_SID, 4, { 5, 4, 3, 2 }, S_SID, -1, P_ACK_V1 },
};

static void put_sid(uint8_t *out, uint64_t v)
{
	for (int i = SID_LEN - 1; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static void trace_frames(void)
{
	static uint8_t payload[1500], buf[1600];

	/* The printed decimal ids are the §1.5 example bytes. */
	{
		uint8_t a[SID_LEN], b[SID_LEN];

		put_sid(a, C_SID);
		harness_unhex(CSID, b, SID_LEN);
		CHECK(!memcmp(a, b, SID_LEN), "client sid decimal != hex");
		put_sid(a, S_SID);
		harness_unhex(SSID, b, SID_LEN);
		CHECK(!memcmp(a, b, SID_LEN), "server sid decimal != hex");
	}
	for (size_t i = 0; i < ARRAY_SIZE(trace); i++) {
		const struct trace_frame *f = &trace[i];
		size_t wire = f->udp_len - 8;
		struct ctlpkt p = { .opcode = f->opcode, .n_acks = (uint8_t)f->n_acks }, q;
		size_t head;
		int rc;

		put_sid(p.sid, f->own_sid);
		put_sid(p.peer_sid, f->peer_sid);
		memcpy(p.acks, f->acks, sizeof(f->acks));
		p.mid = f->mid < 0 ? 0 : (uint32_t)f->mid;
		head = ctlpkt_size(&p);
		/* Resets and acks have no payload: the header is the whole datagram. */
		if (f->opcode != P_CONTROL_V1) {
			CHECK(head == wire, "frame %d: %zu bytes, udp payload %zu", f->frame, head,
			      wire);
			continue;
		}
		CHECK(head < wire, "frame %d: header %zu >= %zu", f->frame, head, wire);
		if (head >= wire)
			continue;
		for (size_t k = 0; k < wire - head; k++)
			payload[k] = (uint8_t)(k * 7 + i);
		p.payload = payload;
		p.payload_len = wire - head;
		rc = ctlpkt_build(&p, buf, sizeof(buf));
		CHECK(rc == (int)wire, "frame %d: built %d, expected %zu", f->frame, rc, wire);
		rc = ctlpkt_parse(&q, buf, wire);
		CHECK(rc == 0 && q.opcode == P_CONTROL_V1 && q.mid == p.mid &&
		      q.n_acks == p.n_acks && q.payload_len == wire - head &&
		      !memcmp(q.payload, payload, q.payload_len) &&
		      !memcmp(q.peer_sid, p.peer_sid, SID_LEN),
		      "frame %d: round trip", f->frame);
	}
	/* Frame 14: a full server flight chunk carries 1196 TLS bytes. */
	CHECK(trace[3].udp_len - 8 - 26 == 1196, "frame 14 payload");
}

static void builder_limits(void)
{
	uint8_t buf[256], pl[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct ctlpkt p = { .opcode = P_CONTROL_V1, .n_acks = 2, .acks = { 5, 4 }, .mid = 9 };
	int rc, full;

	p.payload = pl;
	p.payload_len = sizeof(pl);
	full = ctlpkt_build(&p, buf, sizeof(buf));
	CHECK(full == (int)(CTL_HDR_LEN + CTL_ACK_ARRAY_LEN(2) + 4 + 8), "full size %d", full);
	for (int cap = 0; cap < full; cap++) {
		memset(buf, 0xee, sizeof(buf));
		rc = ctlpkt_build(&p, buf, (size_t)cap);
		CHECK(rc == -ENOBUFS, "cap %d: %d", cap, rc);
		CHECK(buf[0] == 0xee, "cap %d: wrote on refusal", cap);
	}
	CHECK(ctlpkt_build(&p, buf, (size_t)full) == full, "exact cap");

	p.n_acks = 9;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == -EINVAL, "9 acks built");
	p.n_acks = 2;
	p.key_id = 8;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == -EINVAL, "key_id 8 built");
	p.key_id = 0;
	p.opcode = P_DATA_V2;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == -EINVAL, "data opcode built");
	p.opcode = P_CONTROL_HARD_RESET_CLIENT_V1;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == -EINVAL, "key-method 1 built");
	p.opcode = P_ACK_V1;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == -EINVAL, "ACK with payload built");
	p.payload_len = 0;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == (int)(CTL_HDR_LEN + CTL_ACK_ARRAY_LEN(2)),
	      "ACK size");
	p.n_acks = 0;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == -EINVAL, "ACK without acks built");
	p.opcode = P_CONTROL_V1;
	p.payload = NULL;
	p.payload_len = 3;
	CHECK(ctlpkt_build(&p, buf, sizeof(buf)) == -EINVAL, "NULL payload built");

	/* In place: payload already sitting where the header goes. */
	memcpy(buf, pl, sizeof(pl));
	p.payload = buf;
	p.payload_len = sizeof(pl);
	p.n_acks = 1;
	rc = ctlpkt_build(&p, buf, sizeof(buf));
	CHECK(rc == (int)(CTL_HDR_LEN + CTL_ACK_ARRAY_LEN(1) + 4 + 8) &&
	      !memcmp(buf + rc - 8, pl, 8), "in-place build");
}

/* xorshift64*: deterministic and good enough for test data. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	return harness_rnd(&rng_state);
}

static const uint8_t valid_ops[] = { 3, 4, 5, 7, 8, 10, 11 };

static void random_packet(struct ctlpkt *p, uint8_t *payload)
{
	memset(p, 0, sizeof(*p));
	p->opcode = valid_ops[rnd() % sizeof(valid_ops)];
	p->key_id = (uint8_t)(rnd() & 7);
	for (int i = 0; i < SID_LEN; i++)
		p->sid[i] = (uint8_t)rnd();
	p->n_acks = (uint8_t)(rnd() % (RELIABLE_ACK_SIZE + 1));
	if (p->opcode == P_ACK_V1 && !p->n_acks)
		p->n_acks = 1;
	for (int i = 0; i < p->n_acks; i++)
		p->acks[i] = (uint32_t)rnd();
	if (p->n_acks)
		for (int i = 0; i < SID_LEN; i++)
			p->peer_sid[i] = (uint8_t)rnd();
	if (p->opcode != P_ACK_V1) {
		p->mid = (uint32_t)rnd();
		p->payload_len = rnd() % 4 ? rnd() % 64 : rnd() % 1300;
		for (size_t i = 0; i < p->payload_len; i++)
			payload[i] = (uint8_t)rnd();
		p->payload = payload;
	}
}

static bool same_packet(const struct ctlpkt *a, const struct ctlpkt *b)
{
	return a->opcode == b->opcode && a->key_id == b->key_id &&
	       !memcmp(a->sid, b->sid, SID_LEN) && a->n_acks == b->n_acks &&
	       !memcmp(a->acks, b->acks, a->n_acks * sizeof(a->acks[0])) &&
	       (!a->n_acks || !memcmp(a->peer_sid, b->peer_sid, SID_LEN)) && a->mid == b->mid &&
	       a->payload_len == b->payload_len &&
	       (!a->payload_len || !memcmp(a->payload, b->payload, a->payload_len));
}

static void randomized(void)
{
	static uint8_t payload[1400], buf[1600];
	unsigned int bad = 0;

	for (int iter = 0; iter < 20000 && bad < 5; iter++) {
		struct ctlpkt p, q;
		int len, rc;

		random_packet(&p, payload);
		len = ctlpkt_build(&p, buf, sizeof(buf));
		if (len != (int)ctlpkt_size(&p) || ctlpkt_parse(&q, buf, (size_t)len) ||
		    !same_packet(&p, &q)) {
			harness_fail(__FILE__, __LINE__, "iteration %d: round trip failed (len %d)",
				     iter, len);
			bad++;
			continue;
		}
		/* Every proper prefix: an ACK never parses; others parse iff mid is whole. */
		for (int cut = 0; cut < len; cut += 1 + (int)(rnd() % 7)) {
			size_t need = ctlpkt_size(&p) - p.payload_len;

			rc = ctlpkt_parse(&q, buf, (size_t)cut);
			if ((rc == 0) != (p.opcode != P_ACK_V1 && (size_t)cut >= need)) {
				harness_fail(__FILE__, __LINE__,
					     "iteration %d: prefix %d of %d: rc %d", iter, cut, len,
					     rc);
				bad++;
				break;
			}
		}
	}
	/* Random bytes: no crash (ASan watches reads), accepted ones are canonical. */
	for (int iter = 0; iter < 200000; iter++) {
		uint8_t raw[96], again[128];
		size_t len = rnd() % sizeof(raw);
		struct ctlpkt q;

		for (size_t i = 0; i < len; i++)
			raw[i] = (uint8_t)rnd();
		if (len > CTL_HDR_LEN && rnd() % 2)
			raw[CTL_HDR_LEN] = (uint8_t)(rnd() % 10);	/* plausible ack count */
		if (len && rnd() % 2)
			raw[0] = (uint8_t)(valid_ops[rnd() % sizeof(valid_ops)] << 3 | (raw[0] & 7));
		if (ctlpkt_parse(&q, raw, len))
			continue;
		if (ctlpkt_build(&q, again, sizeof(again)) != (int)len || memcmp(again, raw, len)) {
			harness_fail(__FILE__, __LINE__, "random packet not canonical");
			break;
		}
	}
}

int main(void)
{
	table_parse();
	worked_examples();
	trace_frames();
	builder_limits();
	randomized();
	printf("ctlpkt_test: %u table cases\n", case_no);
	return harness_done("ctlpkt_test");
}
