/*
 * reliable.h - the control channel's reliability layer for one key state
 * (openvpn-wire.md §1.6; OpenVPN reliable.c + the ack handling of ssl.c).
 *
 * A pure data structure: no sockets, no TLS, no clock reads, no allocation.
 * The caller feeds parsed packets (ctlpkt_parse after tlswrap_unwrap) and
 * the current monotonic time, and drains packets to send:
 *
 *	reliable_init(r, key_id, own_sid, TLS_TIMEOUT_DEFAULT_SEC * 1000,
 *		      reliable_max_payload(TLS_MTU_DEFAULT, false, tlswrap_overhead(w, P_CONTROL_V1)));
 *	on datagram:  parse -> reliable_input(r, &pkt)
 *	              n = reliable_read(r, buf, sizeof(buf)) -> TLS engine
 *	TLS output:   reliable_write(r, P_CONTROL_V1, bytes, len) (room: reliable_send_room)
 *	then, and at reliable_next_timeout(r, now):
 *	              while (reliable_next_out(r, now, &pkt)) build, wrap, send
 *
 * The received byte stream is the payload of the P_CONTROL_V1 and
 * P_CONTROL_WKC_V1 messages in message-id order. Reset messages (3, 7, 8,
 * 10) take their place in the order but add no bytes: their payload (the
 * early-negotiation TLVs of a server reset) is for the caller to read from
 * the packet when reliable_input() reports it RELIABLE_IN_NEW.
 *
 * Threads: ctrl only. Memory: one struct reliable (about 1 KiB) per key
 * state, allocated by the caller, plus one heap buffer per message held (at
 * most 6 sent and 12 received, each up to RELIABLE_PAYLOAD_MAX): an idle
 * key state of a server's client holds none (a server keeps thousands).
 * Every queue is bounded by a constant below.
 */
#ifndef SLUICE_RELIABLE_H
#define SLUICE_RELIABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/compiler.h"
#include "../../core/proto.h"
#include "ctlpkt.h"

/* Largest message payload kept per slot: 2.6's whole control buffer. */
#define RELIABLE_PAYLOAD_MAX	TLS_CHANNEL_BUF_SIZE
/* Largest payload we send: with 4 piggybacked acks the packet fits WIRE_MAX. */
#define RELIABLE_SEND_PAYLOAD_MAX \
	(WIRE_MAX - CTL_HDR_LEN - CTL_ACK_ARRAY_LEN(CONTROL_SEND_ACK_MAX) - CTL_MID_LEN)
/*
 * Acks owed but not yet sent. A full receive window plus slack: a caller
 * that drains reliable_next_out after every datagram never needs more than
 * a few. When full, a new message is dropped unacked (the peer resends).
 */
#define RELIABLE_ACK_PENDING	16
/* Retransmit backoff stops doubling here (2.6 has no cap but hand-window). */
#define RELIABLE_TIMEOUT_MAX_NS	(3600LL * 1000000000LL)

/* What reliable_input() did with a well-formed packet (its acks are always used). */
enum reliable_in {
	RELIABLE_IN_ACK,	/* P_ACK_V1: acks only */
	RELIABLE_IN_NEW,	/* new message buffered; ack queued */
	RELIABLE_IN_DUP,	/* already received: ack queued again, not re-delivered */
	RELIABLE_IN_WINDOW,	/* id >= next expected + 12: dropped, not acked */
	RELIABLE_IN_ACKQ_FULL,	/* no room to owe another ack: dropped, not acked */
};

struct reliable_stats {
	uint64_t tx_msgs;		/* first transmissions */
	uint64_t tx_retransmits;	/* retransmissions on timeout */
	uint64_t tx_fast_retransmits;	/* after N_ACK_RETRANSMIT later acks */
	uint64_t tx_acks;		/* bare P_ACK_V1 packets */
	uint64_t rx_msgs;		/* new messages accepted */
	uint64_t rx_dups;		/* duplicates re-acked */
	uint64_t rx_window_drops;	/* beyond the receive window */
	uint64_t rx_ackq_drops;		/* ack queue full */
	uint64_t rx_bad_sid;		/* wrong session id: whole packet dropped */
	uint64_t rx_acks_unknown;	/* acks for ids not in flight (ignored) */
};

struct reliable_send_slot {
	int64_t next_try_ns;		/* INT64_MIN: never sent, due now */
	int64_t timeout_ns;		/* wait after the next transmission */
	uint32_t mid;
	uint32_t n_sent;		/* transmissions so far */
	uint16_t len;
	uint8_t opcode;
	uint8_t n_acks;			/* acks seen for later ids since the last send */
	bool is_active;			/* sent or queued, not yet acked */
	uint8_t *data;			/* @len bytes while active (heap); NULL otherwise */
};

struct reliable_recv_slot {
	uint32_t mid;
	uint16_t len;
	uint8_t opcode;
	bool is_active;			/* received, not yet consumed by reliable_read */
	uint8_t *data;			/* @len bytes while active (heap); NULL otherwise */
};

struct reliable {
	uint8_t key_id;
	bool has_peer_sid;
	uint8_t own_sid[SID_LEN];
	uint8_t peer_sid[SID_LEN];
	int64_t timeout_ns;		/* --tls-timeout: first retransmit interval */
	int64_t timeout_max_ns;		/* the back-off stops doubling here */
	size_t max_payload;		/* chunk size of reliable_write */

	/* Send: ids in [send_base, send_next) are queued or in flight. */
	uint32_t send_base;		/* lowest unacked message id */
	uint32_t send_next;		/* id of the next new message */
	struct reliable_send_slot send[TLS_RELIABLE_N_SEND_BUFFERS];	/* by mid % 6 */

	/* Receive: ids in [recv_next, recv_next + 12) may be buffered. */
	uint32_t recv_next;		/* next id to deliver */
	uint16_t recv_off;		/* bytes of message recv_next already read */
	struct reliable_recv_slot recv[TLS_RELIABLE_N_REC_BUFFERS];	/* by mid % 12 */

	/* Acks: owed (oldest first), and recently sent (newest first, re-sent as filler). */
	uint32_t ack_pending[RELIABLE_ACK_PENDING];
	unsigned int n_pending;
	uint32_t ack_mru[RELIABLE_ACK_SIZE];
	unsigned int n_mru;

	struct reliable_stats stats;
};

/*
 * Resets @r for key state @key_id of the session whose own id is @own_sid.
 * @r may be uninitialized memory: call reliable_release first on one that
 * was used (it holds message buffers).
 * @tls_timeout_ms: first retransmit interval (>= 1); @max_payload: chunk
 * size for reliable_write (clamped to 1..RELIABLE_SEND_PAYLOAD_MAX).
 */
void reliable_init(struct reliable *r, uint8_t key_id, const uint8_t own_sid[SID_LEN],
		   unsigned int tls_timeout_ms, size_t max_payload);
/* Caps the retransmit back-off of later messages at @max_ns (default RELIABLE_TIMEOUT_MAX_NS). */
static inline void reliable_set_timeout_max(struct reliable *r, int64_t max_ns)
{
	r->timeout_max_ns = max_ns;
}
/* Frees the message buffers @r holds; @r may be initialized again after. */
void reliable_release(struct reliable *r);
/* Fixes the peer's session id; otherwise the first accepted packet sets it. */
void reliable_set_peer_sid(struct reliable *r, const uint8_t sid[SID_LEN]);
/*
 * Right after reliable_init: message id 0 of both directions counts as
 * done, ours sent and acked, the peer's received and read. For a UDP server
 * whose reset went out before this state existed (openvpn-wire.md §2.7):
 * our next message is id 1, the next one expected is id 1, and a resent
 * peer reset is a duplicate (acked again).
 */
void reliable_skip_reset(struct reliable *r);

/*
 * Payload bytes that fit a control packet carrying @n_acks acks when the
 * whole IP datagram may be @tls_mtu bytes (clamped to 154..2048 as 2.6):
 * minus 28 (IPv4) or 48 (IPv6) for IP+UDP, @wrap_overhead
 * (tlswrap_overhead), opcode, session id, ack array and message id.
 * At least 16, as 2.6.
 */
size_t reliable_payload_room(unsigned int tls_mtu, bool is_ipv6, size_t wrap_overhead,
			     unsigned int n_acks);
/* reliable_payload_room() with the worst-case piggybacked ack array (4). */
size_t reliable_max_payload(unsigned int tls_mtu, bool is_ipv6, size_t wrap_overhead);

/*
 * Queues one reliable message (@opcode 3, 4, 7, 8, 10 or 11) with the next
 * message id. Returns 0, -EAGAIN if the send window (6) is full, -EMSGSIZE
 * if @len > RELIABLE_SEND_PAYLOAD_MAX, or -EINVAL for a bad opcode.
 */
int reliable_send_msg(struct reliable *r, uint8_t opcode, const uint8_t *payload,
		      size_t len) __must_check;
/* Queues as much of @data as the window allows, in max_payload chunks. Returns bytes taken. */
size_t reliable_write(struct reliable *r, uint8_t opcode, const uint8_t *data, size_t len);
/* Bytes reliable_write() would take now. */
size_t reliable_send_room(const struct reliable *r);
/* Messages queued or in flight and not yet acked. */
unsigned int reliable_unacked(const struct reliable *r);

/*
 * Takes one parsed packet of this key state: uses its acks, then its
 * message. Returns an enum reliable_in, or drops the whole packet with
 * -EPROTO (bad opcode), -EINVAL (other key_id), -ESRCH (sender session id
 * is not the peer's), -EBADMSG (ack array names another session id) or
 * -EMSGSIZE (payload above RELIABLE_PAYLOAD_MAX); a dropped packet
 * changes nothing but the stats.
 */
int reliable_input(struct reliable *r, const struct ctlpkt *p);
/* Copies up to @len bytes of the in-order received stream. Returns bytes copied. */
size_t reliable_read(struct reliable *r, uint8_t *buf, size_t len);
/* Bytes reliable_read() could return now. */
size_t reliable_readable(const struct reliable *r);

/*
 * The next packet to send at @now_ns, if any: a due message (new, timed
 * out, or fast retransmit; lowest id first) with up to 4 acks, else a bare
 * P_ACK_V1 with up to 8 acks while acks are owed. Acks owed go first, then
 * recently sent ones fill the array (as 2.6). @out->payload borrows @r
 * until the next call that changes @r. Returns false if nothing is due.
 */
bool reliable_next_out(struct reliable *r, int64_t now_ns, struct ctlpkt *out);
/* When reliable_next_out() has something next: @now_ns if now, INT64_MAX if idle. */
int64_t reliable_next_timeout(const struct reliable *r, int64_t now_ns);

#endif
