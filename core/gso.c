/*
 * gso.c - owns segmentation of TUN super-packets and completion of partial
 * checksums (gso.h). Pure functions; called by tun_rx per read, by the unit
 * test against a naive model (tests/unit/offload_test.c) and by the fuzzer.
 *
 * Segment i of a super-packet is its headers followed by payload bytes
 * [i * gso_size, (i + 1) * gso_size), with, as the kernel's own software GSO
 * makes them (tcp_gso_segment, __udp_gso_segment, inet_gso_segment):
 *   IPv4  total length of the segment, id + i, header checksum;
 *   IPv6  payload length of the segment (extension headers, if any, are
 *         copied as they are: csum_start says where the transport starts);
 *   TCP   sequence number + i * gso_size; FIN and PSH only on the last
 *         segment, CWR only on the first; full checksum;
 *   UDP   length of the segment; full checksum (0 sent as 0xffff).
 * The payload is copied and summed in one pass (csum_copy).
 */
#include "compiler.h"
#include "csum.h"
#include "gso.h"
#include "pkt.h"
#include "proto.h"
#include "stats.h"

/* Where the transport header starts and which protocol follows, per IP version. */
static bool gso_ip_ok(const struct vnet_hdr *vh, const uint8_t *pkt, uint32_t len, bool *is_v6)
{
	uint8_t ver = pkt[0] >> 4;

	if (ver == 4) {
		uint32_t ihl = (uint32_t)(pkt[0] & 0x0f) * 4;

		/* IPv4 options belong to the header every segment copies. */
		if (len < GSO_IPV4_HDR_MIN || ihl < GSO_IPV4_HDR_MIN || vh->csum_start != ihl)
			return false;
		*is_v6 = false;
		return true;
	}
	if (ver == 6) {
		/* Extension headers, if any, lie between 40 and csum_start. */
		if (len < GSO_IPV6_HDR_LEN || vh->csum_start < GSO_IPV6_HDR_LEN)
			return false;
		*is_v6 = true;
		return true;
	}
	return false;
}

/* The partial sums every segment shares (gso.h), from the super-packet's own headers. */
static void gso_sums(const uint8_t *pkt, struct gso_info *gi, uint32_t thlen)
{
	const uint8_t *th = pkt + gi->l4_off;
	uint32_t h = csum_partial(th, thlen, 0);

	gi->ip_sum = 0;
	if (!gi->is_v6) {
		gi->ip_sum = csum_partial(pkt, gi->l4_off, 0);
		gi->ip_sum = csum_sub(gi->ip_sum, csum_load(pkt + 2));	/* total length */
		gi->ip_sum = csum_sub(gi->ip_sum, csum_load(pkt + 4));	/* id */
		gi->ip_sum = csum_sub(gi->ip_sum, csum_load(pkt + 10));	/* checksum */
	}
	if (gi->kind == GSO_TCP) {
		h = csum_sub(h, csum_load32(th + 4));	/* sequence number */
		h = csum_sub(h, csum_load(th + 12));	/* data offset and flags */
		h = csum_sub(h, csum_load(th + GSO_TCP_CHECK));
	} else {
		h = csum_sub(h, csum_load(th + 4));	/* length */
		h = csum_sub(h, csum_load(th + GSO_UDP_CHECK));
	}
	/* The pseudo header but its length, which differs per segment. */
	gi->l4_sum = csum_add(h, csum_pseudo(pkt, gi->is_v6,
					     gi->kind == GSO_TCP ? GSO_PROTO_TCP : GSO_PROTO_UDP, 0));
}

uint8_t gso_parse(const struct vnet_hdr *vh, const uint8_t *pkt, uint32_t len,
		  struct gso_info *gi)
{
	uint8_t type = vh->gso_type & (uint8_t)~VNET_GSO_ECN;
	uint32_t l4 = vh->csum_start, thlen, payload;

	gi->kind = GSO_PLAIN;
	gi->is_v6 = false;
	gi->l4_off = 0;
	gi->csum_off = 0;
	gi->hdr_len = 0;
	gi->gso_size = 0;
	gi->nseg = 1;
	if (unlikely(len == 0))
		return DROP_SHORT;
	if (type == VNET_GSO_NONE) {
		if (!(vh->flags & VNET_F_NEEDS_CSUM))
			return PKT_OK;
		/* The field and everything summed must lie inside the packet. */
		if ((uint32_t)vh->csum_start + vh->csum_offset + 2 > len)
			return DROP_BAD_OFFLOAD;
		gi->kind = GSO_CSUM;
		gi->l4_off = vh->csum_start;
		gi->csum_off = vh->csum_offset;
		return PKT_OK;
	}
	if (!(vh->flags & VNET_F_NEEDS_CSUM) || vh->gso_size == 0 ||
	    !gso_ip_ok(vh, pkt, len, &gi->is_v6))
		return DROP_BAD_OFFLOAD;
	if (type == VNET_GSO_TCPV4 || type == VNET_GSO_TCPV6) {
		if ((type == VNET_GSO_TCPV6) != gi->is_v6 || vh->csum_offset != GSO_TCP_CHECK)
			return DROP_BAD_OFFLOAD;
		if (!gi->is_v6 && pkt[9] != GSO_PROTO_TCP)
			return DROP_BAD_OFFLOAD;
		if (l4 + GSO_TCP_HDR_MIN > len)
			return DROP_BAD_OFFLOAD;
		thlen = (uint32_t)(pkt[l4 + 12] >> 4) * 4;
		if (thlen < GSO_TCP_HDR_MIN || l4 + thlen > len)
			return DROP_BAD_OFFLOAD;
		gi->kind = GSO_TCP;
	} else if (type == VNET_GSO_UDP_L4) {
		if (vh->csum_offset != GSO_UDP_CHECK || l4 + GSO_UDP_HDR_LEN > len)
			return DROP_BAD_OFFLOAD;
		if (!gi->is_v6 && pkt[9] != GSO_PROTO_UDP)
			return DROP_BAD_OFFLOAD;
		thlen = GSO_UDP_HDR_LEN;
		gi->kind = GSO_UDP;
	} else {
		return DROP_BAD_OFFLOAD;	/* UFO and unknown types */
	}
	gi->l4_off = (uint16_t)l4;
	gi->hdr_len = (uint16_t)(l4 + thlen);
	gi->gso_size = vh->gso_size;
	payload = len - gi->hdr_len;
	gi->nseg = payload ? (payload + gi->gso_size - 1) / gi->gso_size : 1;
	gso_sums(pkt, gi, thlen);
	return PKT_OK;
}

/* A whole packet, its partial checksum (if any) finished on the way. */
static uint32_t gso_copy_one(const uint8_t *pkt, uint32_t len, const struct gso_info *gi,
			     uint8_t *out)
{
	uint32_t sum;
	uint16_t c;

	if (gi->kind == GSO_PLAIN) {
		memcpy(out, pkt, len);
		return len;
	}
	/* The field holds the pseudo-header sum; the rest is summed from csum_start. */
	memcpy(out, pkt, gi->l4_off);
	sum = csum_copy(out + gi->l4_off, pkt + gi->l4_off, len - gi->l4_off, 0);
	c = csum_fold(sum);
	csum_store(out + gi->l4_off + gi->csum_off, c ? c : 0xffff);
	return len;
}

uint32_t gso_segment(const uint8_t *pkt, uint32_t len, const struct gso_info *gi, uint32_t i,
		     uint8_t *out)
{
	uint32_t hlen = gi->hdr_len, l4 = gi->l4_off, off, plen, l4_len, sum;
	bool last = i + 1 == gi->nseg;
	uint8_t *th;
	uint16_t c, v;

	if (gi->kind == GSO_PLAIN || gi->kind == GSO_CSUM)
		return gso_copy_one(pkt, len, gi, out);
	off = hlen + i * gi->gso_size;
	plen = gso_seg_len(gi, len, i) - hlen;
	l4_len = hlen - l4 + plen;
	memcpy(out, pkt, hlen);
	th = out + l4;
	/*
	 * Every field that differs is built in a register in wire order, stored,
	 * and added to the shared sums as that value: reading back bytes just
	 * stored costs a failed store-to-load forward each.
	 */
	if (gi->is_v6) {
		csum_store(out + 4, htons((uint16_t)(hlen + plen - GSO_IPV6_HDR_LEN)));
	} else {
		uint16_t tot = htons((uint16_t)(hlen + plen));
		uint16_t id = htons((uint16_t)(load_be16(pkt + 4) + i));

		csum_store(out + 2, tot);
		csum_store(out + 4, id);
		csum_store(out + 10, csum_fold(csum_add(csum_add(gi->ip_sum, tot), id)));
	}
	sum = csum_add(gi->l4_sum, htonl(l4_len));
	if (gi->kind == GSO_TCP) {
		uint8_t fw[2] = { pkt[l4 + 12], pkt[l4 + 13] };
		uint32_t seq = htonl(load_be32(pkt + l4 + 4) + i * gi->gso_size);
		uint16_t w;

		if (!last)
			fw[1] &= (uint8_t)~(GSO_TCP_FIN | GSO_TCP_PSH);
		if (i)
			fw[1] &= (uint8_t)~GSO_TCP_CWR;
		memcpy(&w, fw, 2);
		memcpy(th + 4, &seq, 4);
		th[13] = fw[1];
		sum = csum_add(csum_add(sum, seq), w);
	} else {
		uint16_t ul = htons((uint16_t)l4_len);

		csum_store(th + 4, ul);
		sum = csum_add(sum, ul);
	}
	sum = csum_add(sum, csum_copy(out + hlen, pkt + off, plen, 0));
	c = csum_fold(sum);
	v = gi->kind == GSO_TCP ? GSO_TCP_CHECK : GSO_UDP_CHECK;
	if (gi->kind == GSO_UDP && c == 0)
		c = 0xffff;	/* RFC 768: 0 means "no checksum" */
	csum_store(th + v, c);
	return hlen + plen;
}
