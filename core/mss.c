/*
 * mss.c - lowers the MSS option of TCP SYNs crossing the tunnel (mss.h).
 * Pure functions on a packet buffer; called per packet by tun_rx and tun_tx
 * (io/send.c and io/receive.c stage ops), by the unit test and by the fuzzer.
 *
 * Every read is checked against the packet length first, and a packet that
 * does not parse is left alone: clamping is a courtesy, the kernel that
 * receives the packet is the judge of its validity.
 */
#include "mss.h"
#include "proto.h"

/* IP and TCP layout (RFC 791, 8200, 9293): offsets into each header. */
enum {
	IPV4_HDR_MIN = 20,
	IPV4_TOT_LEN = 2,
	IPV4_FRAG = 6,
	IPV4_PROTO = 9,
	IPV4_FRAG_OFFSET_MASK = 0x1fff,
	IPV6_HDR_LEN = 40,
	IPV6_PAYLOAD_LEN = 4,
	IPV6_NEXT = 6,
	IPV6_EXT_MIN = 8,		/* every extension header is a multiple of 8 */
	IPV6_FRAG_OFFSET_MASK = 0xfff8,
	PROTO_HOPOPTS = 0,
	PROTO_TCP = 6,
	PROTO_ROUTING = 43,
	PROTO_FRAGMENT = 44,
	PROTO_DSTOPTS = 60,
	TCP_HDR_MIN = 20,
	TCP_CHECK = 16,
	TCP_DOFF = 12,
	TCP_FLAGS = 13,
	TCP_FLAG_SYN = 0x02,
	TCPOPT_EOL = 0,
	TCPOPT_NOP = 1,
	TCPOPT_MAXSEG = 2,
	TCPOLEN_MAXSEG = 4,
};

/* RFC 1624 eqn. 3: the checksum after a 16-bit word changes from @from to @to. */
static uint16_t csum_replace(uint16_t check, uint16_t from, uint16_t to)
{
	uint32_t sum = (uint16_t)~check + (uint32_t)(uint16_t)~from + to;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The MSS value at @off of the TCP header @tcp becomes @max. The checksum
 * sums big-endian 16-bit words from the start of the header, so a value at
 * an odd offset (after a lone NOP) puts its high byte in the low half of one
 * word and its low byte in the high half of the next: it counts byte-swapped.
 */
static bool mss_lower(uint8_t *tcp, uint32_t off, uint16_t max)
{
	uint16_t mss = load_be16(tcp + off);
	uint16_t from = mss, to = max;

	if (mss <= max)
		return false;
	if (off & 1) {
		from = __builtin_bswap16(from);
		to = __builtin_bswap16(to);
	}
	store_be16(tcp + off, max);
	store_be16(tcp + TCP_CHECK, csum_replace(load_be16(tcp + TCP_CHECK), from, to));
	return true;
}

/* @tcp is @len bytes from the start of a TCP header to the end of the packet. */
static bool tcp_clamp(uint8_t *tcp, uint32_t len, uint16_t max)
{
	uint32_t hlen, i;
	bool changed = false;

	if (len < TCP_HDR_MIN || !(tcp[TCP_FLAGS] & TCP_FLAG_SYN))
		return false;
	hlen = (tcp[TCP_DOFF] >> 4) * 4u;
	if (hlen <= TCP_HDR_MIN || hlen > len)
		return false;
	/* Linux's tcp_parse_options() walk: a length below 2 or past the end ends it. */
	for (i = TCP_HDR_MIN; i < hlen;) {
		uint8_t kind = tcp[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (hlen - i < 2)
			break;
		olen = tcp[i + 1];
		if (olen < 2 || olen > hlen - i)
			break;
		if (kind == TCPOPT_MAXSEG && olen == TCPOLEN_MAXSEG)
			changed |= mss_lower(tcp, i + 2, max);
		i += olen;
	}
	return changed;
}

static bool clamp_v4(uint8_t *ip, uint32_t len, uint16_t max)
{
	uint32_t ihl;

	if (len < IPV4_HDR_MIN || ip[IPV4_PROTO] != PROTO_TCP)
		return false;
	if (load_be16(ip + IPV4_TOT_LEN) != len ||
	    (load_be16(ip + IPV4_FRAG) & IPV4_FRAG_OFFSET_MASK))
		return false;
	ihl = (ip[0] & 0x0f) * 4u;
	if (ihl < IPV4_HDR_MIN || ihl > len)
		return false;
	return tcp_clamp(ip + ihl, len - ihl, max);
}

static bool clamp_v6(uint8_t *ip, uint32_t len, uint16_t max)
{
	uint32_t off = IPV6_HDR_LEN, ext;
	uint8_t next;

	if (len < IPV6_HDR_LEN || load_be16(ip + IPV6_PAYLOAD_LEN) + (uint32_t)IPV6_HDR_LEN != len)
		return false;
	next = ip[IPV6_NEXT];
	for (unsigned int n = 0; next != PROTO_TCP; n++) {
		if (n == MSS_V6_EXT_MAX || len - off < IPV6_EXT_MIN)
			return false;
		switch (next) {
		case PROTO_HOPOPTS:
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
			ext = (ip[off + 1] + 1u) * 8u;
			break;
		case PROTO_FRAGMENT:
			if (load_be16(ip + off + 2) & IPV6_FRAG_OFFSET_MASK)
				return false;
			ext = IPV6_EXT_MIN;
			break;
		default:
			return false;
		}
		if (ext > len - off)
			return false;
		next = ip[off];
		off += ext;
	}
	return tcp_clamp(ip + off, len - off, max);
}

bool mss_clamp(uint8_t *ip, uint32_t len, uint16_t max_v4, uint16_t max_v6)
{
	if (len < 1)
		return false;
	switch (ip[0] >> 4) {
	case 4:
		return max_v4 && clamp_v4(ip, len, max_v4);
	case 6:
		return max_v6 && clamp_v6(ip, len, max_v6);
	default:
		return false;
	}
}
