/*
 * ctlpkt.c - owns the byte layout of unwrapped control packets
 * (openvpn-wire.md §1.5; layout diagram in ctlpkt.h).
 *
 * Threads: ctrl only (pure functions, no state). The input is untrusted:
 * every field is length-checked before it is read (fuzzed by
 * tests/fuzz/fuzz_ctlpkt.c), and parse(build(p)) == p and
 * build(parse(b)) == b hold for every accepted packet.
 *
 * Stricter than 2.6 in one place: 2.6 ignores bytes after the peer session
 * id of a P_ACK_V1; no OpenVPN version sends any, so they are refused here.
 */
#include <errno.h>
#include <string.h>

#include "ctlpkt.h"

bool ctlpkt_opcode_is_valid(uint8_t opcode)
{
	switch (opcode) {
	case P_CONTROL_SOFT_RESET_V1:
	case P_CONTROL_V1:
	case P_ACK_V1:
	case P_CONTROL_HARD_RESET_CLIENT_V2:
	case P_CONTROL_HARD_RESET_SERVER_V2:
	case P_CONTROL_HARD_RESET_CLIENT_V3:
	case P_CONTROL_WKC_V1:
		return true;
	default:
		return false;
	}
}

/* Bytes from offset 0 up to the message packet-id, for @n acks. */
static size_t ctlpkt_head_len(unsigned int n)
{
	return CTL_HDR_LEN + CTL_ACK_ARRAY_LEN(n);
}

int ctlpkt_parse(struct ctlpkt *p, const uint8_t *buf, size_t len)
{
	size_t off;

	if (len < CTL_HDR_LEN + 1)
		return -EMSGSIZE;
	p->opcode = proto_opcode(buf[0]);
	p->key_id = proto_key_id(buf[0]);
	if (!ctlpkt_opcode_is_valid(p->opcode))
		return -EPROTO;
	memcpy(p->sid, buf + 1, SID_LEN);
	p->n_acks = buf[CTL_HDR_LEN];
	if (p->n_acks > RELIABLE_ACK_SIZE)
		return -EINVAL;
	if (p->opcode == P_ACK_V1 && p->n_acks == 0)
		return -EINVAL;
	off = ctlpkt_head_len(p->n_acks);
	if (len < off)
		return -EMSGSIZE;
	for (unsigned int i = 0; i < p->n_acks; i++)
		p->acks[i] = load_be32(buf + CTL_HDR_LEN + 1 + 4 * i);
	if (p->n_acks)
		memcpy(p->peer_sid, buf + off - SID_LEN, SID_LEN);
	else
		memset(p->peer_sid, 0, SID_LEN);

	if (p->opcode == P_ACK_V1) {
		if (len != off)
			return -EMSGSIZE;
		p->mid = 0;
		p->payload = NULL;
		p->payload_len = 0;
		return 0;
	}
	if (len - off < CTL_MID_LEN)
		return -EMSGSIZE;
	p->mid = load_be32(buf + off);
	off += CTL_MID_LEN;
	p->payload = buf + off;
	p->payload_len = len - off;
	return 0;
}

size_t ctlpkt_size(const struct ctlpkt *p)
{
	size_t n = ctlpkt_head_len(p->n_acks);

	if (ctlpkt_is_reliable(p->opcode))
		n += CTL_MID_LEN + p->payload_len;
	return n;
}

static bool ctlpkt_is_buildable(const struct ctlpkt *p)
{
	if (!ctlpkt_opcode_is_valid(p->opcode) || p->key_id > P_KEY_ID_MASK)
		return false;
	if (p->n_acks > RELIABLE_ACK_SIZE)
		return false;
	if (p->opcode == P_ACK_V1)
		return p->n_acks > 0 && p->payload_len == 0;
	return p->payload_len == 0 || p->payload;
}

int ctlpkt_build(const struct ctlpkt *p, uint8_t *out, size_t cap)
{
	size_t head = ctlpkt_head_len(p->n_acks);
	size_t total;

	if (!ctlpkt_is_buildable(p))
		return -EINVAL;
	total = ctlpkt_size(p);
	if (total > cap || total > WIRE_MAX)
		return -ENOBUFS;
	/* The payload first: it may live where the header goes. */
	if (ctlpkt_is_reliable(p->opcode) && p->payload_len)
		memmove(out + head + CTL_MID_LEN, p->payload, p->payload_len);
	out[0] = (uint8_t)(p->opcode << P_OPCODE_SHIFT | p->key_id);
	memcpy(out + 1, p->sid, SID_LEN);
	out[CTL_HDR_LEN] = p->n_acks;
	for (unsigned int i = 0; i < p->n_acks; i++)
		store_be32(out + CTL_HDR_LEN + 1 + 4 * i, p->acks[i]);
	if (p->n_acks)
		memcpy(out + head - SID_LEN, p->peer_sid, SID_LEN);
	if (ctlpkt_is_reliable(p->opcode))
		store_be32(out + head, p->mid);
	return (int)total;
}
