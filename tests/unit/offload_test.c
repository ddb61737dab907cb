/*
 * offload_test.c - TUN segmentation (core/gso.c), coalescing (core/gro.c)
 * and the checksum loops (core/csum.c), each against a deliberately naive
 * model written here (STYLE.md §10: WireGuard's "horrible_allowedips").
 *
 * 1. csum: csum_partial and csum_copy against a byte-at-a-time big-endian
 *    sum, at every length and alignment up to 300 and at random lengths.
 * 2. gso_parse table: headers the kernel never sends must be refused.
 * 3. gso, differential: random IPv4/IPv6 TCP/UDP super-packets (IP and TCP
 *    options, every flag, payloads up to 64 KiB, gso_size 1..1500) cut by
 *    gso_segment and by a naive segmenter must be identical byte for byte,
 *    and every segment must verify under a naive checksum; a partial
 *    checksum (GSO_CSUM) must be finished to the naive value.
 * 4. gro, differential: random bursts of up to 8 flows (TCP and UDP, both
 *    IP versions) with short segments, PSH, pure ACKs, FIN, ICMP,
 *    fragments, IP options, reordering and corrupted checksums. The model is
 *    the identity: every write, cut again by the naive segmenter, must give
 *    back exactly the packets that went in, none may overtake an earlier
 *    packet of its flow, and a corrupted packet must go alone and unchanged.
 * 5. gro maximality: one in-order flow of full segments makes the fewest
 *    writes GRO_SEGS_MAX and GRO_LEN_MAX allow.
 * 6. gro_csum_note (checksums verified where a packet was opened) marks
 *    exactly the packets whose checksums hold, and the coalescer trusts the
 *    mark; 4. runs half its rounds with every packet noted first.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/csum.h"
#include "../../core/gro.h"
#include "../../core/gso.h"
#include "../../core/pkt.h"
#include "../../core/proto.h"
#include "../../core/stats.h"
#include "csum_ref.h"
#include "harness.h"

static uint64_t rs = 0x5eed0ff10adULL;

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(harness_rnd(&rs) % n) : 0;
}

/* ---- the naive model: big-endian words, one at a time ------------------- */

static uint32_t nsum(const uint8_t *b, uint32_t n)
{
	return ref_sum16(b, n);
}

static uint16_t nfold(uint32_t s)
{
	return (uint16_t)~ref_fold(s);
}

static uint32_t npseudo(const uint8_t *ip, bool v6, uint8_t proto, uint32_t l4len)
{
	return (v6 ? nsum(ip + 8, 32) : nsum(ip + 12, 8)) + proto + (l4len >> 16) + (l4len & 0xffff);
}

/* Sets the transport checksum of the packet at @ip (field at l4 + @coff) the naive way. */
static void nset_l4(uint8_t *ip, bool v6, uint32_t l4, uint32_t len, uint8_t proto)
{
	uint32_t coff = proto == GSO_PROTO_TCP ? GSO_TCP_CHECK : GSO_UDP_CHECK;
	uint16_t c;

	ip[l4 + coff] = ip[l4 + coff + 1] = 0;
	c = nfold(npseudo(ip, v6, proto, len - l4) + nsum(ip + l4, len - l4));
	if (proto == GSO_PROTO_UDP && c == 0)
		c = 0xffff;
	store_be16(ip + l4 + coff, c);
}

static void nset_ip4(uint8_t *ip, uint32_t ihl)
{
	ip[10] = ip[11] = 0;
	store_be16(ip + 10, nfold(nsum(ip, ihl)));
}

static bool nverify(const uint8_t *ip, bool v6, uint32_t l4, uint32_t len, uint8_t proto)
{
	if (!v6 && nfold(nsum(ip, l4)) != 0)
		return false;
	return nfold(npseudo(ip, v6, proto, len - l4) + nsum(ip + l4, len - l4)) == 0;
}

/* Segment @i of a super-packet, built field by field from the rules in gso.c's header. */
static uint32_t nsegment(const uint8_t *in, uint32_t len, bool v6, uint8_t proto, uint32_t l4,
			 uint32_t hlen, uint32_t mss, uint32_t nseg, uint32_t i, uint8_t *out)
{
	uint32_t off = hlen + i * mss, plen = len - off < mss ? len - off : mss;

	memcpy(out, in, hlen);
	memcpy(out + hlen, in + off, plen);
	if (v6) {
		store_be16(out + 4, (uint16_t)(hlen + plen - 40));
	} else {
		store_be16(out + 2, (uint16_t)(hlen + plen));
		store_be16(out + 4, (uint16_t)(load_be16(in + 4) + i));
		nset_ip4(out, l4);
	}
	if (proto == GSO_PROTO_TCP) {
		store_be32(out + l4 + 4, load_be32(in + l4 + 4) + i * mss);
		if (i + 1 < nseg)
			out[l4 + 13] &= (uint8_t)~(GSO_TCP_FIN | GSO_TCP_PSH);
		if (i > 0)
			out[l4 + 13] &= (uint8_t)~GSO_TCP_CWR;
	} else {
		store_be16(out + l4 + 4, (uint16_t)(hlen - l4 + plen));
	}
	nset_l4(out, v6, l4, hlen + plen, proto);
	return hlen + plen;
}

/* ---- packets of a flow ---------------------------------------------------- */

struct tflow {
	bool v6;
	uint8_t proto;
	uint8_t addr[32];	/* source then destination (4 + 4 or 16 + 16 used) */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t ipid, win;
	uint8_t tos, ttl;
	uint8_t ipopt;		/* IPv4 option bytes (multiple of 4) */
	uint8_t tcpopt;		/* TCP option bytes (multiple of 4) */
	uint8_t opt[40];
	uint16_t mss;
};

static void tflow_init(struct tflow *f, bool v6, uint8_t proto)
{
	memset(f, 0, sizeof(*f));
	f->v6 = v6;
	f->proto = proto;
	for (int i = 0; i < 32; i++)
		f->addr[i] = (uint8_t)rnd(256);
	f->sport = (uint16_t)rnd(65536);
	f->dport = (uint16_t)rnd(65536);
	f->seq = (uint32_t)harness_rnd(&rs);
	f->ack = (uint32_t)harness_rnd(&rs);
	f->ipid = (uint16_t)rnd(65536);
	f->win = (uint16_t)rnd(65536);
	f->tos = (uint8_t)(rnd(4) ? 0 : rnd(256));
	f->ttl = (uint8_t)(1 + rnd(255));
	f->tcpopt = (uint8_t)(rnd(3) ? 12 : 4 * rnd(11));
	for (int i = 0; i < 40; i++)
		f->opt[i] = (uint8_t)(rnd(3) ? 1 : rnd(256));	/* NOPs, some noise */
	f->mss = (uint16_t)(proto == GSO_PROTO_UDP ? 16 + rnd(1400) : 88 + rnd(1373));
}

/* Headers of one packet of @f carrying @plen bytes with TCP @flags; returns the header length. */
static uint32_t tflow_hdr(const struct tflow *f, uint32_t plen, uint8_t flags, uint8_t *b,
			  uint32_t *l4_out)
{
	uint32_t l4, th = f->proto == GSO_PROTO_TCP ? 20u + f->tcpopt : 8u;

	if (f->v6) {
		l4 = 40;
		store_be32(b, 6u << 28 | (uint32_t)f->tos << 20 | 0x12345);
		store_be16(b + 4, (uint16_t)(th + plen));
		b[6] = f->proto;
		b[7] = f->ttl;
		memcpy(b + 8, f->addr, 32);
	} else {
		l4 = 20u + f->ipopt;
		b[0] = (uint8_t)(0x40 | l4 / 4);
		b[1] = f->tos;
		store_be16(b + 2, (uint16_t)(l4 + th + plen));
		store_be16(b + 4, f->ipid);
		store_be16(b + 6, 0x4000);	/* DF */
		b[8] = f->ttl;
		b[9] = f->proto;
		memcpy(b + 12, f->addr, 8);
		memset(b + 20, 1, f->ipopt);	/* NOP options */
		nset_ip4(b, l4);
	}
	store_be16(b + l4, f->sport);
	store_be16(b + l4 + 2, f->dport);
	if (f->proto == GSO_PROTO_TCP) {
		store_be32(b + l4 + 4, f->seq);
		store_be32(b + l4 + 8, f->ack);
		b[l4 + 12] = (uint8_t)(th / 4 << 4);
		b[l4 + 13] = flags;
		store_be16(b + l4 + 14, f->win);
		store_be16(b + l4 + 16, 0);
		store_be16(b + l4 + 18, 0);
		memcpy(b + l4 + 20, f->opt, f->tcpopt);
	} else {
		store_be16(b + l4 + 4, (uint16_t)(8 + plen));
		store_be16(b + l4 + 6, 0);
	}
	*l4_out = l4;
	return l4 + th;
}

/* One whole packet of @f into @b (checksums set), advancing the flow. Returns its length. */
static uint32_t tflow_pkt(struct tflow *f, uint32_t plen, uint8_t flags, uint8_t *b)
{
	uint32_t l4, hlen = tflow_hdr(f, plen, flags, b, &l4);

	for (uint32_t i = 0; i < plen; i++)
		b[hlen + i] = (uint8_t)harness_rnd(&rs);
	nset_l4(b, f->v6, l4, hlen + plen, f->proto);
	f->seq += plen + ((flags & (GSO_TCP_SYN | GSO_TCP_FIN)) ? 1 : 0);
	f->ipid++;
	return hlen + plen;
}

/* ---- 1. csum --------------------------------------------------------------- */

static void test_csum(void)
{
	static uint8_t buf[4096], dst[4096];

	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (uint8_t)harness_rnd(&rs);
	buf[100] = buf[101] = 0xff;
	for (uint32_t off = 0; off < 8; off += 2)
		for (uint32_t n = 0; n < 300; n++) {
			uint16_t want = nfold(nsum(buf + off, n));
			uint32_t init = (uint32_t)harness_rnd(&rs);

			CHECK_INT(ntohs(csum_fold(csum_partial(buf + off, n, 0))), want);
			memset(dst, 0, n + 8);
			CHECK_INT(ntohs(csum_fold(csum_copy(dst + off, buf + off, n, 0))), want);
			CHECK(!memcmp(dst + off, buf + off, n), "csum_copy copied %u bytes", n);
			/* An initial sum adds like any other piece. */
			CHECK_INT(csum_fold(csum_partial(buf + off, n, init)),
				  csum_fold(csum_add(init, csum_partial(buf + off, n, 0))));
		}
	for (int k = 0; k < 200; k++) {
		uint32_t n = rnd(4000), split = rnd(n / 2 + 1) * 2;
		uint32_t a = csum_partial(buf, split, 0), b = csum_partial(buf + split, n - split, 0);

		CHECK_INT(ntohs(csum_fold(csum_add(a, b))), nfold(nsum(buf, n)));
	}
	/* Worst case for carries: all ones. */
	memset(buf, 0xff, sizeof(buf));
	CHECK_INT(ntohs(csum_fold(csum_partial(buf, sizeof(buf), 0xffffffff))),
		  nfold(nsum(buf, sizeof(buf)) + 0xffff + 0xffff));
}

/* ---- 2. gso_parse table ---------------------------------------------------- */

static uint8_t parse_case(uint8_t flags, uint8_t type, uint16_t gso, uint16_t cs, uint16_t co,
			  const uint8_t *pkt, uint32_t len)
{
	struct vnet_hdr vh = { flags, type, 0, gso, cs, co };
	struct gso_info gi;

	return gso_parse(&vh, pkt, len, &gi);
}

static void test_parse_table(void)
{
	static uint8_t b[2048];
	struct tflow f4, f6;
	uint32_t l4 = 0, n4, n6;
	const uint8_t NC = VNET_F_NEEDS_CSUM;

	tflow_init(&f4, false, GSO_PROTO_TCP);
	tflow_init(&f6, true, GSO_PROTO_TCP);
	f4.tcpopt = f6.tcpopt = 0;
	n4 = tflow_hdr(&f4, 100, GSO_TCP_ACK, b, &l4) + 100;
	CHECK_INT(parse_case(0, 0, 0, 0, 0, b, n4), PKT_OK);
	CHECK_INT(parse_case(0, 0, 0, 0, 0, b, 0), DROP_SHORT);
	CHECK_INT(parse_case(NC, 0, 0, 20, 16, b, n4), PKT_OK);
	CHECK_INT(parse_case(NC, 0, 0, 20, 16, b, 37), DROP_BAD_OFFLOAD);	/* field past the end */
	CHECK_INT(parse_case(NC, 0, 0, 0xffff, 0xffff, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 40, 20, 16, b, n4), PKT_OK);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4 | VNET_GSO_ECN, 40, 20, 16, b, n4), PKT_OK);
	CHECK_INT(parse_case(0, VNET_GSO_TCPV4, 40, 20, 16, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 0, 20, 16, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 40, 24, 16, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 40, 20, 6, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV6, 40, 20, 16, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_UDP_L4, 40, 20, 6, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_UDP, 40, 20, 6, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, 2, 40, 20, 16, b, n4), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 40, 20, 16, b, 39), DROP_BAD_OFFLOAD);
	b[l4 + 12] = 0x40;	/* data offset 16 bytes */
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 40, 20, 16, b, n4), DROP_BAD_OFFLOAD);
	b[l4 + 12] = 0xf0;	/* 60 bytes: past a 50-byte packet */
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 40, 20, 16, b, 50), DROP_BAD_OFFLOAD);
	n6 = tflow_hdr(&f6, 100, GSO_TCP_ACK, b, &l4) + 100;
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV6, 40, 40, 16, b, n6), PKT_OK);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV4, 40, 40, 16, b, n6), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV6, 40, 39, 16, b, n6), DROP_BAD_OFFLOAD);
	b[0] = 0x50;		/* IP version 5 */
	CHECK_INT(parse_case(NC, VNET_GSO_TCPV6, 40, 40, 16, b, n6), DROP_BAD_OFFLOAD);
	CHECK_INT(parse_case(0, 0, 0, 0, 0, b, n6), PKT_OK);	/* plain: copied as it is */
}

/* ---- 3. gso, differential ------------------------------------------------- */

static void test_gso_diff(unsigned int rounds)
{
	static uint8_t super[70000], got[2048], want[2048];

	for (unsigned int r = 0; r < rounds; r++) {
		struct tflow f;
		struct gso_info gi;
		struct vnet_hdr vh;
		bool v6 = rnd(2);
		uint8_t proto = rnd(3) ? GSO_PROTO_TCP : GSO_PROTO_UDP;
		uint8_t flags = GSO_TCP_ACK | (uint8_t)(rnd(2) ? GSO_TCP_PSH : 0) |
				(uint8_t)(rnd(4) ? 0 : GSO_TCP_FIN | GSO_TCP_CWR | GSO_TCP_ECE);
		uint32_t l4, hlen, len, plen, gso, nseg;

		tflow_init(&f, v6, proto);
		f.ipopt = (uint8_t)(v6 || rnd(3) ? 0 : 4 * rnd(11));
		hlen = tflow_hdr(&f, 0, flags, super, &l4);
		gso = rnd(8) ? 1 + rnd(1500) : 1 + rnd(64);
		plen = rnd(4) ? rnd(65535 - hlen + 1) : rnd(3 * gso + 1);
		if (proto == GSO_PROTO_UDP && plen > 64 * gso)
			plen = 64 * gso;	/* UDP_MAX_SEGMENTS */
		len = hlen + plen;
		for (uint32_t i = 0; i < plen; i++)
			super[hlen + i] = (uint8_t)harness_rnd(&rs);
		/* What the kernel leaves: a stale total length and a partial checksum. */
		store_be16(super + (v6 ? 4 : 2), (uint16_t)rnd(65536));
		store_be16(super + l4 + (proto == GSO_PROTO_TCP ? 16 : 6), (uint16_t)rnd(65536));
		vh = (struct vnet_hdr){ VNET_F_NEEDS_CSUM,
					proto == GSO_PROTO_UDP ? VNET_GSO_UDP_L4 :
					v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4,
					(uint16_t)rnd(65536), (uint16_t)gso, (uint16_t)l4,
					proto == GSO_PROTO_TCP ? 16 : 6 };
		REQUIRE(gso_parse(&vh, super, len, &gi) == PKT_OK, "round %u: parse refused", r);
		nseg = plen ? (plen + gso - 1) / gso : 1;
		CHECK_INT(gi.nseg, nseg);
		CHECK_INT(gi.hdr_len, hlen);
		for (uint32_t i = 0; i < gi.nseg && i < nseg; i++) {
			uint32_t gl, wl = nsegment(super, len, v6, proto, l4, hlen, gso, nseg, i, want);

			CHECK_INT(gso_seg_len(&gi, len, i), wl);
			memset(got, 0xa5, sizeof(got));
			gl = gso_segment(super, len, &gi, i, got);
			CHECK_INT(gl, wl);
			CHECK(!memcmp(got, want, wl), "round %u seg %u/%u (v6 %d proto %u gso %u)", r,
			      i, nseg, v6, proto, gso);
			CHECK(nverify(got, v6, l4, gl, proto), "round %u seg %u: checksum", r, i);
			CHECK(got[gl] == 0xa5, "round %u seg %u: wrote past its length", r, i);
		}
	}
	/* GSO_CSUM: one packet, the field holding the pseudo-header sum, finished by the copy. */
	for (unsigned int r = 0; r < rounds; r++) {
		struct tflow f;
		struct gso_info gi;
		bool v6 = rnd(2);
		uint8_t proto = rnd(2) ? GSO_PROTO_TCP : GSO_PROTO_UDP;
		uint32_t l4, len, coff = proto == GSO_PROTO_TCP ? 16 : 6;
		struct vnet_hdr vh;

		tflow_init(&f, v6, proto);
		len = tflow_pkt(&f, rnd(1400), GSO_TCP_ACK, want);
		l4 = v6 ? 40 : 20;
		memcpy(super, want, len);
		store_be16(super + l4 + coff, (uint16_t)~nfold(npseudo(super, v6, proto, len - l4)));
		vh = (struct vnet_hdr){ VNET_F_NEEDS_CSUM, 0, 0, 0, (uint16_t)l4, (uint16_t)coff };
		REQUIRE(gso_parse(&vh, super, len, &gi) == PKT_OK && gi.kind == GSO_CSUM, "csum");
		CHECK_INT(gso_segment(super, len, &gi, 0, got), len);
		CHECK(!memcmp(got, want, len), "round %u: partial checksum finished wrong", r);
	}
}

/* ---- 4. gro, differential --------------------------------------------------- */

#define BURST	160

struct tpkt {
	uint8_t b[2048];
	uint32_t len;
	int flow;		/* -1: any flow's (fragments); -2: no flow (ICMP) */
	bool is_bad;		/* checksum broken on purpose */
};

static struct tpkt tp[BURST];

/* Position of every input packet in the output (head order, then chain order). */
static void gro_check(struct pkt **in, unsigned int n, struct pkt **out, unsigned int nout,
		      unsigned int flags, unsigned int r)
{
	static uint8_t super[70000], seg[2048];
	unsigned int pos[BURST], seen = 0, k = 0;

	memset(pos, 0xff, sizeof(pos));
	(void)in;
	for (unsigned int h = 0; h < nout; h++) {
		struct pkt *hp = out[h];
		struct vnet_hdr vh;
		struct gso_info gi;
		uint32_t len, nmem = 0;

		REQUIRE(hp->len >= VNET_HDR_LEN, "round %u: head without a virtio header", r);
		vnet_hdr_load(&vh, hp->data);
		len = hp->len - VNET_HDR_LEN;
		memcpy(super, hp->data + VNET_HDR_LEN, len);
		for (struct pkt *q = hp; q; q = q->next) {
			REQUIRE(q->seq < n && pos[q->seq] == 0xffffffffu, "round %u: packet twice", r);
			pos[q->seq] = k++;
			seen++;
			if (q != hp) {
				memcpy(super + len, q->data, q->len);
				len += q->len;
			}
			nmem++;
		}
		CHECK(nmem <= GRO_SEGS_MAX, "round %u: %u members", r, nmem);
		if (!hp->next) {
			CHECK(vh.flags == 0 && vh.gso_type == 0, "round %u: single with offload", r);
			CHECK(len == tp[hp->seq].len && !memcmp(super, tp[hp->seq].b, len),
			      "round %u: single packet %lu changed", r, (unsigned long)hp->seq);
			continue;
		}
		CHECK((super[0] >> 4 == 6 ? len - 40 : len) <= GRO_LEN_MAX, "round %u: %u bytes", r,
		      len);
		REQUIRE(gso_parse(&vh, super, len, &gi) == PKT_OK, "round %u: group header bad", r);
		CHECK(vh.gso_type != VNET_GSO_UDP_L4 || (flags & GRO_F_UDP), "round %u: UDP", r);
		CHECK_INT(gi.nseg, nmem);
		{
			unsigned int i = 0;

			for (struct pkt *q = hp; q && i < gi.nseg; q = q->next, i++) {
				const struct tpkt *t = &tp[q->seq];
				uint32_t sl = gso_segment(super, len, &gi, i, seg);

				CHECK(!t->is_bad, "round %u: corrupted packet %lu merged", r,
				      (unsigned long)q->seq);
				CHECK(sl == t->len && !memcmp(seg, t->b, sl),
				      "round %u: write %u segment %u is not packet %lu", r, h, i,
				      (unsigned long)q->seq);
			}
		}
	}
	CHECK_INT(seen, n);
	/* No packet overtakes an earlier one of its flow (or a fragment, which may be any flow's). */
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = i + 1; j < n; j++) {
			int a = tp[i].flow, b = tp[j].flow;

			if (a == -2 || b == -2 || (a != b && a != -1 && b != -1))
				continue;
			CHECK(pos[i] < pos[j], "round %u: packet %u (flow %d) after %u (flow %d)", r, i,
			      a, j, b);
		}
}

static void test_gro_diff(unsigned int rounds)
{
	static struct pkt *in[BURST], *out[BURST];
	unsigned long merged = 0, groups = 0, noted = 0;
	struct pool *pool;

	MUST(pool_create(&pool, BURST, PKT_CLASS_MTU, 0));
	for (unsigned int r = 0; r < rounds; r++) {
		struct tflow fl[8];
		unsigned int nfl = 1 + rnd(8), n = 8 + rnd(BURST - 8), nout;
		unsigned int flags = rnd(4) ? GRO_F_TCP | GRO_F_UDP : rnd(2) ? GRO_F_TCP : GRO_F_UDP;

		for (unsigned int i = 0; i < nfl; i++) {
			tflow_init(&fl[i], rnd(2), rnd(3) ? GSO_PROTO_TCP : GSO_PROTO_UDP);
			if (!fl[i].v6 && !rnd(8))
				fl[i].ipopt = 8;
		}
		for (unsigned int i = 0; i < n; i++) {
			unsigned int w = rnd(nfl), kind = rnd(100);
			struct tflow *f = &fl[w];
			struct tpkt *t = &tp[i];

			t->flow = (int)w;
			t->is_bad = false;
			if (kind < 70 || f->proto == GSO_PROTO_UDP) {
				uint32_t plen = rnd(10) ? f->mss : 1 + rnd(f->mss);

				t->len = tflow_pkt(f, plen, GSO_TCP_ACK | (rnd(12) ? 0 : GSO_TCP_PSH),
						   t->b);
			} else if (kind < 80) {
				t->len = tflow_pkt(f, 0, GSO_TCP_ACK, t->b);		/* pure ACK */
			} else if (kind < 84) {
				t->len = tflow_pkt(f, rnd(100), GSO_TCP_ACK | GSO_TCP_FIN, t->b);
			} else if (kind < 88) {
				f->ack += 1 + rnd(5000);				/* new ACK */
				t->len = tflow_pkt(f, f->mss, GSO_TCP_ACK, t->b);
			} else if (kind < 92) {
				f->win = (uint16_t)rnd(65536);				/* new window */
				t->len = tflow_pkt(f, f->mss, GSO_TCP_ACK, t->b);
			} else if (kind < 96 && !f->v6) {
				/* A later IPv4 fragment of this flow: its ports are not there. */
				t->len = tflow_pkt(f, 200, GSO_TCP_ACK, t->b);
				store_be16(t->b + 6, 0x2000 | 10);
				nset_ip4(t->b, 20u + f->ipopt);
				t->flow = -1;
			} else {
				/* An ICMP echo: no flow of ours. */
				t->len = 64;
				memcpy(t->b, tp[i ? i - 1 : 0].b, 20);
				t->b[0] = 0x45;
				t->b[9] = 1;
				store_be16(t->b + 2, 64);
				store_be16(t->b + 6, 0);
				nset_ip4(t->b, 20);
				memset(t->b + 20, 8, 44);
				t->flow = -2;
			}
			if (!rnd(40) && t->flow >= 0 && t->len > 60) {
				t->b[t->len - 1] ^= 0x20;	/* corrupted: the checksum no longer holds */
				t->is_bad = true;
			}
			if (i && !rnd(15)) {		/* reordered with the one before */
				static struct tpkt tmp;

				tmp = tp[i - 1];
				tp[i - 1] = *t;
				*t = tmp;
			}
		}
		REQUIRE(pool_get_burst(pool, in, n) == n, "pool");
		for (unsigned int i = 0; i < n; i++) {
			memcpy(in[i]->data, tp[i].b, tp[i].len);
			in[i]->len = tp[i].len;
			in[i]->seq = i;
			/* Half the rounds: verified where they were opened, as a decrypt worker does. */
			if (r & 1) {
				gro_csum_note(in[i], flags);
				CHECK(!(tp[i].is_bad && (in[i]->flags & PKT_F_CSUM_OK)),
				      "round %u: corrupted packet %u marked good", r, i);
				CHECK(!memcmp(in[i]->data, tp[i].b, tp[i].len),
				      "round %u: gro_csum_note changed packet %u", r, i);
				noted += !!(in[i]->flags & PKT_F_CSUM_OK);
			}
		}
		nout = gro_coalesce(in, n, out, flags);
		CHECK(nout >= 1 && nout <= n, "round %u: %u writes for %u packets", r, nout, n);
		merged += n - nout;
		for (unsigned int h = 0; h < nout; h++)
			groups += out[h]->next != NULL;
		gro_check(in, n, out, nout, flags, r);
		pkt_free_burst(in, n);
	}
	pool_destroy(pool);
	printf("gro: %u bursts, %lu groups, %lu packets merged into them, %lu marked verified\n",
	       rounds, groups, merged, noted);
	CHECK(groups > rounds, "the random bursts formed too few groups to test anything");
	CHECK(noted > rounds, "gro_csum_note marked too few packets to test anything");
}

/* ---- 5. gro maximality ------------------------------------------------------- */

static void test_gro_max(void)
{
	static struct pkt *in[BURST], *out[BURST];
	static const struct { bool v6; uint16_t mss; unsigned int n, writes; } cases[] = {
		{ false, 1448, 100, 3 },	/* 45 x 1448 + 52 < 65535: 45 per write */
		{ true, 1428, 45, 1 },		/* 45 x 1428 + 32 < 65535 (payload length) */
		{ true, 1428, 46, 2 },
		{ false, 536, 150, 3 },		/* 64 members at most */
		{ false, 1000, 64, 1 },
		{ false, 1000, 65, 2 },
	};
	struct pool *pool;

	MUST(pool_create(&pool, BURST, PKT_CLASS_MTU, 0));
	for (unsigned int c = 0; c < ARRAY_SIZE(cases); c++) {
		struct tflow f;
		unsigned int n = cases[c].n, nout;

		tflow_init(&f, cases[c].v6, GSO_PROTO_TCP);
		f.tcpopt = 12;
		REQUIRE(pool_get_burst(pool, in, n) == n, "pool");
		for (unsigned int i = 0; i < n; i++) {
			tp[i].len = in[i]->len = tflow_pkt(&f, cases[c].mss, GSO_TCP_ACK, tp[i].b);
			memcpy(in[i]->data, tp[i].b, tp[i].len);
			tp[i].flow = 0;
			tp[i].is_bad = false;
			in[i]->seq = i;
		}
		nout = gro_coalesce(in, n, out, GRO_F_TCP);
		CHECK(nout == cases[c].writes, "case %u: %u writes, want %u", c, nout,
		      cases[c].writes);
		gro_check(in, n, out, nout, GRO_F_TCP, 1000 + c);
		pkt_free_burst(in, n);
	}
	pool_destroy(pool);
}

/* ---- 6. checksums verified on the decrypt side ------------------------------ */

/*
 * Four full segments of one flow, the third corrupted. Unmarked, or marked
 * by gro_csum_note, the third must go alone (three writes). Marked good by
 * hand, all four merge: the coalescer trusts the mark and does not read the
 * bytes again, which is the point of making it.
 */
static void test_gro_note(void)
{
	static struct pkt *in[4], *out[4];
	struct pool *pool;

	MUST(pool_create(&pool, 8, PKT_CLASS_MTU, 0));
	for (unsigned int mode = 0; mode < 3; mode++) {
		struct tflow f;
		unsigned int nout;

		tflow_init(&f, mode == 1, GSO_PROTO_TCP);
		f.mss = 1400;
		REQUIRE(pool_get_burst(pool, in, 4) == 4, "pool");
		for (unsigned int i = 0; i < 4; i++) {
			tp[i].len = in[i]->len = tflow_pkt(&f, f.mss, GSO_TCP_ACK, tp[i].b);
			tp[i].flow = 0;
			tp[i].is_bad = i == 2;
			if (tp[i].is_bad)
				tp[i].b[tp[i].len - 1] ^= 0x01;
			memcpy(in[i]->data, tp[i].b, tp[i].len);
			in[i]->seq = i;
			if (mode == 1)
				gro_csum_note(in[i], GRO_F_TCP);
			if (mode == 2)
				in[i]->flags |= PKT_F_CSUM_OK;
		}
		if (mode == 1)
			CHECK(in[0]->flags & in[1]->flags & in[3]->flags & PKT_F_CSUM_OK &&
			      !(in[2]->flags & PKT_F_CSUM_OK), "gro_csum_note marked the wrong ones");
		nout = gro_coalesce(in, 4, out, GRO_F_TCP);
		CHECK(nout == (mode == 2 ? 1u : 3u), "mode %u: %u writes", mode, nout);
		if (mode < 2)
			gro_check(in, 4, out, nout, GRO_F_TCP, 2000 + mode);
		pkt_free_burst(in, 4);
	}
	/*
	 * A UDP checksum field of 0 ("none" in IPv4, invalid in IPv6) goes alone
	 * and unchanged: in a group its segment would come back with 0xffff.
	 */
	for (unsigned int v6 = 0; v6 < 2; v6++) {
		struct tflow f;
		unsigned int nout;

		tflow_init(&f, v6, GSO_PROTO_UDP);
		f.mss = 600;
		REQUIRE(pool_get_burst(pool, in, 3) == 3, "pool");
		for (unsigned int i = 0; i < 3; i++) {
			tp[i].len = in[i]->len = tflow_pkt(&f, f.mss, 0, tp[i].b);
			tp[i].flow = 0;
			tp[i].is_bad = i == 1;
			if (tp[i].is_bad)
				memset(tp[i].b + (v6 ? 40 : 20) + GSO_UDP_CHECK, 0, 2);
			memcpy(in[i]->data, tp[i].b, tp[i].len);
			in[i]->seq = i;
			gro_csum_note(in[i], GRO_F_UDP);
		}
		CHECK(!(in[1]->flags & PKT_F_CSUM_OK), "v6 %u: a zero UDP checksum noted", v6);
		nout = gro_coalesce(in, 3, out, GRO_F_UDP);
		CHECK(nout == 3, "v6 %u: zero UDP checksum: %u writes, want 3", v6, nout);
		gro_check(in, 3, out, nout, GRO_F_UDP, 3000 + v6);
		pkt_free_burst(in, 3);
	}
	/* Short packets are left to the coalescer: noting them would parse them twice. */
	{
		struct tflow f;
		struct pkt *p;

		tflow_init(&f, false, GSO_PROTO_UDP);
		REQUIRE(pool_get_burst(pool, &p, 1) == 1, "pool");
		p->len = tflow_pkt(&f, GRO_NOTE_MIN - 29, 0, p->data);
		CHECK(p->len == GRO_NOTE_MIN - 1, "a %u-byte datagram", p->len);
		gro_csum_note(p, GRO_F_TCP | GRO_F_UDP);
		CHECK(!(p->flags & PKT_F_CSUM_OK), "a datagram under GRO_NOTE_MIN was noted");
		p->len = tflow_pkt(&f, GRO_NOTE_MIN - 28, 0, p->data);
		gro_csum_note(p, GRO_F_TCP | GRO_F_UDP);
		CHECK(p->flags & PKT_F_CSUM_OK, "a datagram of GRO_NOTE_MIN bytes was not noted");
		pkt_free(p);
	}
	pool_destroy(pool);
}

int main(void)
{
	double scale = harness_scale(0.2);

	test_csum();
	test_parse_table();
	test_gso_diff((unsigned int)(3000 * scale));
	test_gro_diff((unsigned int)(3000 * scale));
	test_gro_max();
	test_gro_note();
	return harness_done("offload_test");
}
