/*
 * gso.h - cutting a TUN super-packet into wire-size packets in user space
 * (TSO/USO done by us instead of a NIC), and completing the partial
 * checksum of a packet the kernel left for us to finish.
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD (io/tun.c), the kernel hands tun_rx
 * TCP segments of up to 64 KiB and packets whose transport checksum it did
 * not compute, each behind a virtio-net header (core/vnet.h). Every packet
 * that leaves through the tunnel must be a complete, ordinary IP packet,
 * because the peer (a stock OpenVPN too) writes it to a TUN without offloads
 * where the kernel checks everything. So tun_rx asks gso_parse what a read
 * is and how many packets it makes, then has gso_segment write each one into
 * a packet of its own, with lengths, IPv4 ids, TCP sequence numbers and
 * flags and all checksums fixed, as the kernel's tcp_gso_segment and
 * __udp_gso_segment would have made them; each is then sealed as its own
 * OpenVPN packet with its own packet-id.
 *
 * Pure functions on byte buffers: no state, any thread. Safe on any bytes
 * (tests/fuzz/fuzz_vnet.c): gso_parse rejects what gso_segment could not
 * handle, and gso_segment never reads outside the packet or writes more than
 * gso_seg_len() bytes.
 */
#ifndef SLUICE_GSO_H
#define SLUICE_GSO_H

#include <stdbool.h>
#include <stdint.h>

#include "vnet.h"

enum gso_kind {
	GSO_PLAIN = 0,		/* an ordinary packet: copied as it is */
	GSO_CSUM,		/* one packet whose transport checksum is partial */
	GSO_TCP,		/* a TCP super-packet (TSO4/TSO6) */
	GSO_UDP,		/* a UDP super-packet (USO4/USO6) */
};

/* What gso_parse found; gso_segment's instructions. */
struct gso_info {
	uint8_t kind;		/* enum gso_kind */
	bool is_v6;
	uint16_t l4_off;	/* transport header: csum_start */
	uint16_t csum_off;	/* GSO_CSUM: the checksum field, from l4_off */
	uint16_t hdr_len;	/* GSO_TCP/UDP: network + transport headers of each packet */
	uint16_t gso_size;	/* GSO_TCP/UDP: payload bytes per packet (the last may have less) */
	uint32_t nseg;		/* packets the read makes; 1 for PLAIN and CSUM */
	/*
	 * GSO_TCP/UDP, partial sums (csum.h) of what every packet shares: the
	 * IPv4 header without its length, id and checksum; the transport
	 * header without its sequence number, flags, length and checksum, plus
	 * the pseudo header's addresses and protocol. gso_segment adds what
	 * differs per packet, so it never reads back bytes it just wrote.
	 */
	uint32_t ip_sum;
	uint32_t l4_sum;
};

/* IP and transport fields the offload code reads and writes (RFC 791, 8200, 9293, 768). */
enum {
	GSO_IPV4_HDR_MIN = 20,
	GSO_IPV6_HDR_LEN = 40,
	GSO_PROTO_TCP = 6,
	GSO_PROTO_UDP = 17,
	GSO_TCP_HDR_MIN = 20,
	GSO_TCP_CHECK = 16,
	GSO_UDP_HDR_LEN = 8,
	GSO_UDP_CHECK = 6,
	GSO_TCP_FIN = 0x01,
	GSO_TCP_SYN = 0x02,
	GSO_TCP_RST = 0x04,
	GSO_TCP_PSH = 0x08,
	GSO_TCP_ACK = 0x10,
	GSO_TCP_URG = 0x20,
	GSO_TCP_ECE = 0x40,
	GSO_TCP_CWR = 0x80,
};

/*
 * Reads the virtio-net header @vh of the @len-byte packet at @pkt (IP header
 * first). Fills @gi and returns 0, or returns an enum drop_reason:
 * DROP_BAD_OFFLOAD for a header that does not describe the packet (offsets
 * outside it, a GSO type that does not match its IP version or transport,
 * UFO) or DROP_SHORT for an empty packet. Finds the header lengths itself:
 * the kernel's hdr_len is only its linear part.
 */
uint8_t gso_parse(const struct vnet_hdr *vh, const uint8_t *pkt, uint32_t len,
		  struct gso_info *gi);

/* Bytes of packet @i (0 .. gi->nseg - 1) that gso_segment writes. */
static inline uint32_t gso_seg_len(const struct gso_info *gi, uint32_t len, uint32_t i)
{
	uint32_t off, rest;

	if (gi->kind == GSO_PLAIN || gi->kind == GSO_CSUM)
		return len;
	off = gi->hdr_len + i * gi->gso_size;
	rest = len - off;
	return gi->hdr_len + (rest < gi->gso_size ? rest : gi->gso_size);
}

/*
 * Writes packet @i of the packet at @pkt (@len bytes, as gso_parse
 * described it in @gi) to @out, which has room for gso_seg_len() bytes and
 * does not overlap @pkt. Returns its length. Complete checksums, always.
 */
uint32_t gso_segment(const uint8_t *pkt, uint32_t len, const struct gso_info *gi, uint32_t i,
		     uint8_t *out);

#endif
