/*
 * ctlpkt.h - parse and build unwrapped control packets (openvpn-wire.md
 * §1.5), i.e. what tlswrap_unwrap() returns and tlswrap_wrap() takes:
 *
 *   offset size
 *   0      1    opcode << 3 | key_id
 *   1      8    own (sender's) session id
 *   9      1    n = number of acks (0..8)
 *   10     4*n  acked message packet-ids, big endian
 *   ..     8    peer (receiver's) session id       only if n > 0
 *   ..     4    message packet-id                  not in P_ACK_V1
 *   ..     ..   payload                            not in P_ACK_V1
 *
 * Accepted opcodes: 3, 4, 5, 7, 8, 10, 11 (P_CONTROL_WKC_V1 and
 * P_CONTROL_HARD_RESET_CLIENT_V3 after their WKc was cut off). Key-method-1
 * resets (1, 2), data opcodes and unknown opcodes are refused. Pure
 * functions, any thread; ctrl is the only user.
 */
#ifndef SLUICE_CTLPKT_H
#define SLUICE_CTLPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/compiler.h"
#include "../../core/proto.h"

struct ctlpkt {
	uint8_t opcode;
	uint8_t key_id;
	uint8_t sid[SID_LEN];		/* the sender's own session id */
	uint8_t n_acks;			/* 0..RELIABLE_ACK_SIZE */
	uint32_t acks[RELIABLE_ACK_SIZE];
	uint8_t peer_sid[SID_LEN];	/* the receiver's session id; only if n_acks > 0 */
	uint32_t mid;			/* message packet-id; 0 and unused in P_ACK_V1 */
	const uint8_t *payload;		/* borrowed: points into the parsed buffer */
	size_t payload_len;
};

/* True for the opcodes a control packet may carry (3, 4, 5, 7, 8, 10, 11). */
bool ctlpkt_opcode_is_valid(uint8_t opcode);

/* True if @opcode carries a message packet-id (everything but P_ACK_V1). */
static inline bool ctlpkt_is_reliable(uint8_t opcode)
{
	return opcode != P_ACK_V1;
}

/*
 * Parses @len bytes at @buf into @p; p->payload borrows @buf. Returns 0,
 * -EMSGSIZE (truncated, or bytes after a P_ACK_V1), -EPROTO (opcode not
 * accepted) or -EINVAL (ack count above 8, or a P_ACK_V1 without acks).
 * Never reads outside [buf, buf + len); @p is undefined on error.
 */
int ctlpkt_parse(struct ctlpkt *p, const uint8_t *buf, size_t len) __must_check;

/* Bytes ctlpkt_build() writes for @p (no validation). */
size_t ctlpkt_size(const struct ctlpkt *p);

/*
 * Writes @p into @out (at most @cap bytes). The payload may overlap @out.
 * Returns the length, -EINVAL if @p breaks a rule ctlpkt_parse() enforces
 * (or a P_ACK_V1 has a payload), or -ENOBUFS if @cap is too small.
 */
int ctlpkt_build(const struct ctlpkt *p, uint8_t *out, size_t cap) __must_check;

#endif
