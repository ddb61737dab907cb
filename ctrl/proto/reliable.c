/*
 * reliable.c - owns struct reliable: message ids, send and receive windows,
 * retransmission timers and ack bookkeeping of one key state
 * (openvpn-wire.md §1.6). Threads: ctrl only; no clock reads, no malloc.
 *
 * Send side. Message ids start at 0 and a new one is issued only while
 * id < send_base + 6 (send_base = lowest unacked id), so slot mid % 6 is
 * free. A queued message is due at once; each transmission schedules the
 * next at now + timeout and doubles the timeout (2, 4, 8 ... s after the
 * first send, as reliable_send). An ack for a later id counts towards the
 * earlier messages still in flight, and once one of them has seen
 * N_ACK_RETRANSMIT such acks it is due at once (reliable_send_purge's fast
 * retransmit; acks re-sent from the peer's MRU count too, as in 2.6).
 *
 * Receive side. Ids in [recv_next, recv_next + 12) are buffered in slot
 * mid % 12, ids above are dropped unacked (the peer resends), ids below
 * recv_next or already buffered are duplicates: acked again, not stored.
 * recv_next moves only as reliable_read consumes messages, so a reader
 * that stops reading closes the window and the peer backs off.
 *
 * Acks. Every accepted message, duplicate or not, owes an ack. Owed acks go
 * out oldest first, up to 4 on a reliable packet or 8 in a P_ACK_V1, and
 * then join an MRU list of 8 whose entries fill the rest of later arrays
 * (reliable_ack_write). Acks for unknown or already acked ids are ignored.
 *
 * Id comparisons are unsigned distances from send_base / recv_next, so a
 * window is exact even across 2^32; "older than recv_next" is a plain
 * id < recv_next, as 2.6's reliable_pid_in_range2 (ids never wrap within a
 * key state: renegotiation replaces it long before), so an id far ahead is
 * a window drop, never an ack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reliable.h"

#define NS_PER_MS	1000000LL
#define RELIABLE_PAYLOAD_MIN	16	/* 2.6's floor for a tiny tls-mtu */

_Static_assert(RELIABLE_SEND_PAYLOAD_MAX <= RELIABLE_PAYLOAD_MAX, "a sent message fits its slot");
_Static_assert(RELIABLE_PAYLOAD_MAX <= UINT16_MAX, "slot lengths are 16 bits");
_Static_assert(RELIABLE_ACK_PENDING >= TLS_RELIABLE_N_REC_BUFFERS, "owe a whole window of acks");
_Static_assert(CONTROL_SEND_ACK_MAX <= RELIABLE_ACK_SIZE, "piggybacked acks fit an ack array");


void reliable_init(struct reliable *r, uint8_t key_id, const uint8_t own_sid[SID_LEN],
		   unsigned int tls_timeout_ms, size_t max_payload)
{
	memset(r, 0, sizeof(*r));
	r->key_id = key_id & P_KEY_ID_MASK;
	memcpy(r->own_sid, own_sid, SID_LEN);
	r->timeout_ns = (int64_t)(tls_timeout_ms ? tls_timeout_ms : 1) * NS_PER_MS;
	r->timeout_max_ns = RELIABLE_TIMEOUT_MAX_NS;
	if (max_payload == 0)
		max_payload = 1;
	r->max_payload = MIN(max_payload, (size_t)RELIABLE_SEND_PAYLOAD_MAX);
}

void reliable_release(struct reliable *r)
{
	for (unsigned int i = 0; i < TLS_RELIABLE_N_SEND_BUFFERS; i++) {
		free(r->send[i].data);
		r->send[i].data = NULL;
		r->send[i].is_active = false;
	}
	for (unsigned int i = 0; i < TLS_RELIABLE_N_REC_BUFFERS; i++) {
		free(r->recv[i].data);
		r->recv[i].data = NULL;
		r->recv[i].is_active = false;
	}
}

void reliable_set_peer_sid(struct reliable *r, const uint8_t sid[SID_LEN])
{
	memcpy(r->peer_sid, sid, SID_LEN);
	r->has_peer_sid = true;
}

void reliable_skip_reset(struct reliable *r)
{
	r->send_base = 1;
	r->send_next = 1;
	r->recv_next = 1;
}

size_t reliable_payload_room(unsigned int tls_mtu, bool is_ipv6, size_t wrap_overhead,
			     unsigned int n_acks)
{
	size_t mtu = MAX(MIN(tls_mtu, TLS_CHANNEL_BUF_SIZE), TLS_CHANNEL_MTU_MIN);
	size_t overhead = (is_ipv6 ? UDP6_DATAGRAM_OVERHEAD : UDP4_DATAGRAM_OVERHEAD) +
			  CTL_HDR_LEN + CTL_ACK_ARRAY_LEN(MIN(n_acks, RELIABLE_ACK_SIZE)) +
			  CTL_MID_LEN + wrap_overhead;

	if (mtu < overhead + RELIABLE_PAYLOAD_MIN)
		return RELIABLE_PAYLOAD_MIN;
	return mtu - overhead;
}

size_t reliable_max_payload(unsigned int tls_mtu, bool is_ipv6, size_t wrap_overhead)
{
	return reliable_payload_room(tls_mtu, is_ipv6, wrap_overhead, CONTROL_SEND_ACK_MAX);
}

/* ---- send side ---- */

static bool reliable_opcode_is_sendable(uint8_t opcode)
{
	return ctlpkt_opcode_is_valid(opcode) && ctlpkt_is_reliable(opcode);
}

int reliable_send_msg(struct reliable *r, uint8_t opcode, const uint8_t *payload, size_t len)
{
	struct reliable_send_slot *s;

	if (!reliable_opcode_is_sendable(opcode) || (len && !payload))
		return -EINVAL;
	if (len > RELIABLE_SEND_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (r->send_next - r->send_base >= TLS_RELIABLE_N_SEND_BUFFERS)
		return -EAGAIN;
	s = &r->send[r->send_next % TLS_RELIABLE_N_SEND_BUFFERS];
	s->mid = r->send_next++;
	s->opcode = opcode;
	s->len = (uint16_t)len;
	free(s->data);
	s->data = NULL;
	if (len) {
		s->data = malloc(len);
		if (!s->data) {
			r->send_next--;
			return -ENOMEM;
		}
		memcpy(s->data, payload, len);
	}
	s->next_try_ns = INT64_MIN;
	s->timeout_ns = r->timeout_ns;
	s->n_sent = 0;
	s->n_acks = 0;
	s->is_active = true;
	return 0;
}

size_t reliable_write(struct reliable *r, uint8_t opcode, const uint8_t *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t n = MIN(len - done, r->max_payload);

		if (reliable_send_msg(r, opcode, data + done, n))
			break;
		done += n;
	}
	return done;
}

unsigned int reliable_unacked(const struct reliable *r)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < TLS_RELIABLE_N_SEND_BUFFERS; i++)
		n += r->send[i].is_active;
	return n;
}

size_t reliable_send_room(const struct reliable *r)
{
	uint32_t used = r->send_next - r->send_base;

	return (TLS_RELIABLE_N_SEND_BUFFERS - used) * r->max_payload;
}

/* One ack from the peer: retire the message, count it for earlier ones. */
static void reliable_ack_in(struct reliable *r, uint32_t id)
{
	uint32_t pos = id - r->send_base;	/* place in the send window */
	struct reliable_send_slot *s = &r->send[id % TLS_RELIABLE_N_SEND_BUFFERS];

	if (pos >= r->send_next - r->send_base) {
		r->stats.rx_acks_unknown++;
		return;
	}
	/* An id queued but never sent cannot be acked: a forgery or a bug. */
	if (s->is_active && s->n_sent) {
		s->is_active = false;
		free(s->data);
		s->data = NULL;
	} else
		r->stats.rx_acks_unknown++;
	for (unsigned int i = 0; i < TLS_RELIABLE_N_SEND_BUFFERS; i++) {
		s = &r->send[i];
		if (s->is_active && s->n_sent && s->mid - r->send_base < pos &&
		    s->n_acks < UINT8_MAX)
			s->n_acks++;
	}
}

static void reliable_send_advance(struct reliable *r)
{
	while (r->send_base != r->send_next &&
	       !r->send[r->send_base % TLS_RELIABLE_N_SEND_BUFFERS].is_active)
		r->send_base++;
}

/* The due message with the lowest id, or NULL. */
static struct reliable_send_slot *reliable_due(struct reliable *r, int64_t now_ns)
{
	for (uint32_t mid = r->send_base; mid != r->send_next; mid++) {
		struct reliable_send_slot *s = &r->send[mid % TLS_RELIABLE_N_SEND_BUFFERS];

		if (s->is_active && (s->next_try_ns <= now_ns || s->n_acks >= N_ACK_RETRANSMIT))
			return s;
	}
	return NULL;
}

/* ---- acks we owe ---- */

static bool reliable_ack_owe(struct reliable *r, uint32_t id)
{
	for (unsigned int i = 0; i < r->n_pending; i++) {
		if (r->ack_pending[i] == id)
			return true;
	}
	if (r->n_pending == RELIABLE_ACK_PENDING)
		return false;
	r->ack_pending[r->n_pending++] = id;
	return true;
}

/* Moves @id to the front of the MRU list (dropping the oldest if full). */
static void reliable_mru_push(struct reliable *r, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < r->n_mru && r->ack_mru[i] != id; i++)
		;
	if (i == r->n_mru && r->n_mru < RELIABLE_ACK_SIZE)
		r->n_mru++;
	if (i == RELIABLE_ACK_SIZE)
		i--;
	memmove(r->ack_mru + 1, r->ack_mru, i * sizeof(r->ack_mru[0]));
	r->ack_mru[0] = id;
}

/* Fills @out's ack array: up to @max owed acks, then MRU filler. */
static void reliable_acks_fill(struct reliable *r, struct ctlpkt *out, unsigned int max)
{
	unsigned int take = MIN(r->n_pending, max);

	/* Backwards, so the oldest owed ack ends up first. */
	for (unsigned int i = take; i-- > 0;)
		reliable_mru_push(r, r->ack_pending[i]);
	r->n_pending -= take;
	memmove(r->ack_pending, r->ack_pending + take, r->n_pending * sizeof(r->ack_pending[0]));
	out->n_acks = (uint8_t)MIN(r->n_mru, max);
	memcpy(out->acks, r->ack_mru, out->n_acks * sizeof(out->acks[0]));
	if (out->n_acks)
		memcpy(out->peer_sid, r->peer_sid, SID_LEN);
}

/* ---- receive side ---- */

static int reliable_rx_msg(struct reliable *r, const struct ctlpkt *p)
{
	bool is_ahead = p->mid - r->recv_next < TLS_RELIABLE_N_REC_BUFFERS;
	struct reliable_recv_slot *s = &r->recv[p->mid % TLS_RELIABLE_N_REC_BUFFERS];
	bool is_dup = is_ahead ? s->is_active : p->mid < r->recv_next;

	if (!is_ahead && !is_dup) {
		r->stats.rx_window_drops++;
		return RELIABLE_IN_WINDOW;
	}
	if (!reliable_ack_owe(r, p->mid)) {
		r->stats.rx_ackq_drops++;
		return RELIABLE_IN_ACKQ_FULL;
	}
	if (is_dup) {
		r->stats.rx_dups++;
		return RELIABLE_IN_DUP;
	}
	free(s->data);
	s->data = NULL;
	if (p->payload_len) {
		s->data = malloc(p->payload_len);
		if (!s->data) {
			/* Not acked after all: the peer resends it. */
			r->n_pending--;
			r->stats.rx_ackq_drops++;
			return RELIABLE_IN_ACKQ_FULL;
		}
		memcpy(s->data, p->payload, p->payload_len);
	}
	s->mid = p->mid;
	s->opcode = p->opcode;
	s->len = (uint16_t)p->payload_len;
	s->is_active = true;
	r->stats.rx_msgs++;
	return RELIABLE_IN_NEW;
}

int reliable_input(struct reliable *r, const struct ctlpkt *p)
{
	bool is_reliable = ctlpkt_is_reliable(p->opcode);

	if (!ctlpkt_opcode_is_valid(p->opcode) || p->n_acks > RELIABLE_ACK_SIZE)
		return -EPROTO;
	if (p->key_id != r->key_id)
		return -EINVAL;
	if (is_reliable && p->payload_len > RELIABLE_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (r->has_peer_sid && memcmp(p->sid, r->peer_sid, SID_LEN)) {
		r->stats.rx_bad_sid++;
		return -ESRCH;
	}
	/* 2.6: "ACK read BAD SESSION-ID" drops the whole packet. */
	if (p->n_acks && memcmp(p->peer_sid, r->own_sid, SID_LEN)) {
		r->stats.rx_bad_sid++;
		return -EBADMSG;
	}
	if (!r->has_peer_sid)
		reliable_set_peer_sid(r, p->sid);
	for (unsigned int i = 0; i < p->n_acks; i++)
		reliable_ack_in(r, p->acks[i]);
	reliable_send_advance(r);
	if (!is_reliable)
		return RELIABLE_IN_ACK;
	return reliable_rx_msg(r, p);
}

/* Messages whose payload belongs to the TLS byte stream. */
static bool reliable_is_stream(uint8_t opcode)
{
	return opcode == P_CONTROL_V1 || opcode == P_CONTROL_WKC_V1;
}

size_t reliable_read(struct reliable *r, uint8_t *buf, size_t len)
{
	size_t done = 0;

	for (;;) {
		struct reliable_recv_slot *s = &r->recv[r->recv_next % TLS_RELIABLE_N_REC_BUFFERS];

		if (!s->is_active)
			break;
		if (reliable_is_stream(s->opcode)) {
			size_t n = MIN((size_t)(s->len - r->recv_off), len - done);

			if (n)	/* an empty message has no payload buffer */
				memcpy(buf + done, s->data + r->recv_off, n);
			done += n;
			r->recv_off = (uint16_t)(r->recv_off + n);
			if (r->recv_off < s->len)
				break;
		}
		s->is_active = false;
		free(s->data);
		s->data = NULL;
		r->recv_off = 0;
		r->recv_next++;
	}
	return done;
}

size_t reliable_readable(const struct reliable *r)
{
	size_t n = 0;
	uint16_t off = r->recv_off;

	for (uint32_t mid = r->recv_next;; mid++) {
		const struct reliable_recv_slot *s = &r->recv[mid % TLS_RELIABLE_N_REC_BUFFERS];

		if (!s->is_active || s->mid != mid)
			break;
		if (reliable_is_stream(s->opcode))
			n += s->len - off;
		off = 0;
	}
	return n;
}

/* ---- output ---- */

static void reliable_out_head(const struct reliable *r, struct ctlpkt *out)
{
	memset(out, 0, sizeof(*out));
	out->key_id = r->key_id;
	memcpy(out->sid, r->own_sid, SID_LEN);
}

/* Books one transmission of @s at @now_ns: next try and doubled timeout. */
static void reliable_sent(struct reliable *r, struct reliable_send_slot *s, int64_t now_ns)
{
	if (s->n_sent == 0)
		r->stats.tx_msgs++;
	else if (s->next_try_ns > now_ns)
		r->stats.tx_fast_retransmits++;
	else
		r->stats.tx_retransmits++;
	s->n_sent++;
	s->n_acks = 0;
	s->next_try_ns = now_ns + s->timeout_ns;
	s->timeout_ns = MIN(s->timeout_ns * 2, r->timeout_max_ns);
}

bool reliable_next_out(struct reliable *r, int64_t now_ns, struct ctlpkt *out)
{
	struct reliable_send_slot *s = reliable_due(r, now_ns);

	reliable_out_head(r, out);
	if (s) {
		out->opcode = s->opcode;
		out->mid = s->mid;
		out->payload = s->data;
		out->payload_len = s->len;
		reliable_acks_fill(r, out, CONTROL_SEND_ACK_MAX);
		reliable_sent(r, s, now_ns);
		return true;
	}
	if (!r->n_pending)
		return false;
	out->opcode = P_ACK_V1;
	reliable_acks_fill(r, out, RELIABLE_ACK_SIZE);
	r->stats.tx_acks++;
	return true;
}

int64_t reliable_next_timeout(const struct reliable *r, int64_t now_ns)
{
	int64_t t = INT64_MAX;

	if (r->n_pending)
		return now_ns;
	for (unsigned int i = 0; i < TLS_RELIABLE_N_SEND_BUFFERS; i++) {
		const struct reliable_send_slot *s = &r->send[i];

		if (!s->is_active)
			continue;
		if (s->n_acks >= N_ACK_RETRANSMIT || s->next_try_ns <= now_ns)
			return now_ns;
		t = MIN(t, s->next_try_ns);
	}
	return t;
}
