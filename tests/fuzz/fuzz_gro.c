/*
 * fuzz_gro.c - libFuzzer harness for the TUN write coalescer (core/gro.c).
 *
 * Input byte 0: bit 0 GRO_F_TCP, bit 1 GRO_F_UDP, bit 2 "fix checksums",
 * bit 3 "note first": each packet goes through gro_csum_note (as a decrypt
 * worker does) before the coalescer, which must leave its bytes alone and
 * mark only packets whose checksums hold.
 * The rest is a burst of packets, each [length 2, big-endian][bytes], up to
 * GRO_FUZZ_BURST of them. With bit 2 the harness first sets every IPv4
 * header checksum and TCP/UDP checksum it can find to its right value,
 * so that random bytes can merge at all.
 *
 * Invariants: every packet comes out exactly once, as a head or in one
 * head's chain, no chain is longer than GRO_SEGS_MAX; every head starts with
 * a virtio-net header; a single comes out unchanged; a group's header
 * passes gso_parse with one segment per member and, cut again by
 * gso_segment, gives back exactly the packets that went in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/csum.h"
#include "../../core/gro.h"
#include "../../core/gso.h"
#include "../../core/pkt.h"
#include "../../core/proto.h"
#include "../../core/stats.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GRO_FUZZ_BURST	128

static struct pool *pool;
static uint8_t orig[GRO_FUZZ_BURST][PKT_MTU_DATA];
static uint32_t olen[GRO_FUZZ_BURST];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (pool_create(&pool, GRO_FUZZ_BURST, PKT_CLASS_MTU, 0))
		abort();
	return 0;
}

/*
 * Where the transport header of the IPv4/IPv6 packet @b (@len bytes) starts,
 * its protocol and IP version; false if @b is neither (or IPv4 with a bad
 * header length).
 */
static bool ip_walk(const uint8_t *b, uint32_t len, uint32_t *l4, uint8_t *proto, bool *v6)
{
	if (len < 20)
		return false;
	if (b[0] >> 4 == 4) {
		*l4 = (uint32_t)(b[0] & 0xf) * 4;
		*proto = b[9];
		*v6 = false;
		return *l4 >= 20 && *l4 <= len;
	}
	*l4 = 40;
	*proto = b[6];
	*v6 = true;
	return b[0] >> 4 == 6 && len >= 40;
}

static uint16_t l4_csum(const uint8_t *b, uint32_t len, uint32_t l4, uint8_t proto, bool v6)
{
	return csum_fold(csum_partial(b + l4, len - l4, csum_pseudo(b, v6, proto, len - l4)));
}

/* Sets the checksums of whatever IPv4/IPv6 TCP/UDP packet @b looks like. */
static void fix_csums(uint8_t *b, uint32_t len)
{
	uint32_t l4, coff;
	uint8_t proto;
	bool v6;

	if (!ip_walk(b, len, &l4, &proto, &v6))
		return;
	if (!v6)
		csum_store(b + 10, csum_ipv4_hdr(b, l4));
	coff = proto == GSO_PROTO_TCP ? GSO_TCP_CHECK : GSO_UDP_CHECK;
	if ((proto != GSO_PROTO_TCP && proto != GSO_PROTO_UDP) || l4 + coff + 2 > len)
		return;
	csum_store(b + l4 + coff, 0);
	csum_store(b + l4 + coff, l4_csum(b, len, l4, proto, v6));
}

/*
 * A naive second opinion on gro_csum_note's mark: an IPv4 or IPv6 header
 * whose length field matches, and a TCP or UDP checksum (and IPv4 header
 * checksum) that sums to zero.
 */
static bool note_ok(const uint8_t *b, uint32_t len)
{
	uint32_t l4;
	uint8_t proto;
	bool v6;

	if (!ip_walk(b, len, &l4, &proto, &v6))
		return false;
	if (v6 ? load_be16(b + 4) + 40u != len :
		 load_be16(b + 2) != len || csum_fold(csum_partial(b, l4, 0)) != 0)
		return false;
	if (proto != GSO_PROTO_TCP && proto != GSO_PROTO_UDP)
		return false;
	return l4_csum(b, len, l4, proto, v6) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t super[70000], seg[70000];
	struct pkt *in[GRO_FUZZ_BURST], *out[GRO_FUZZ_BURST];
	unsigned int n = 0, nout, seen = 0, flags;
	bool fix, note;

	if (size < 1)
		return 0;
	flags = data[0] & 3;
	fix = data[0] & 4;
	note = data[0] & 8;
	data++;
	size--;
	while (size >= 2 && n < GRO_FUZZ_BURST) {
		uint32_t len = load_be16(data);

		if (len > size - 2 || len > PKT_MTU_DATA)
			break;
		memcpy(orig[n], data + 2, len);
		if (fix)
			fix_csums(orig[n], len);
		olen[n++] = len;
		data += 2 + len;
		size -= 2 + len;
	}
	if (!n || pool_get_burst(pool, in, n) != n)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		memcpy(in[i]->data, orig[i], olen[i]);
		in[i]->len = olen[i];
		in[i]->seq = i;
		in[i]->verdict = 0;
		in[i]->flags = 0;
		if (note) {
			gro_csum_note(in[i], flags);
			if (in[i]->len != olen[i] || memcmp(in[i]->data, orig[i], olen[i]))
				abort();
			/* A mark on a packet whose bytes were changed in the test would be a lie. */
			if ((in[i]->flags & PKT_F_CSUM_OK) && !note_ok(orig[i], olen[i]))
				abort();
		}
	}
	nout = gro_coalesce(in, n, out, flags);
	if (nout > n)
		abort();
	for (unsigned int h = 0; h < nout; h++) {
		struct pkt *hp = out[h];
		struct vnet_hdr vh;
		struct gso_info gi;
		uint32_t len, nmem = 0, i = 0;

		if (hp->len < VNET_HDR_LEN)
			abort();
		vnet_hdr_load(&vh, hp->data);
		len = hp->len - VNET_HDR_LEN;
		memcpy(super, hp->data + VNET_HDR_LEN, len);
		for (struct pkt *q = hp; q; q = q->next) {
			if (q->verdict)
				abort();	/* seen twice */
			q->verdict = 1;
			seen++;
			nmem++;
			if (q != hp) {
				memcpy(super + len, q->data, q->len);
				len += q->len;
			}
		}
		if (nmem > GRO_SEGS_MAX)
			abort();
		if (!hp->next) {
			if (vh.flags || vh.gso_type || len != olen[hp->seq] ||
			    memcmp(super, orig[hp->seq], len))
				abort();
			continue;
		}
		if (gso_parse(&vh, super, len, &gi) != PKT_OK || gi.nseg != nmem)
			abort();
		for (struct pkt *q = hp; q; q = q->next, i++) {
			uint32_t sl = gso_segment(super, len, &gi, i, seg);

			if (sl != olen[q->seq] || memcmp(seg, orig[q->seq], sl))
				abort();
		}
	}
	if (seen != n)
		abort();
	pkt_free_burst(in, n);
	return 0;
}
