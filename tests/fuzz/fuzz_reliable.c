/*
 * fuzz_reliable.c - libFuzzer harness for the reliability layer
 * (ctrl/proto/reliable.h): a sequence of packets and calls into one endpoint.
 *
 * The input is commands; the low 3 bits of each command byte pick:
 *  0 raw:    [len 2][bytes] -> ctlpkt_parse -> reliable_input
 *  1 packet: [op][mid 2][n][ack 1 each][len 1] a packet with the right
 *            session ids (or, if bit 7 of op is set, a wrong peer sid);
 *            acks are offsets from send_base - 2, the payload is a
 *            function of (mid, i) with the given length
 *  2 send:   [op][len 2] -> reliable_send_msg
 *  3 write:  [len 2] -> reliable_write
 *  4 read:   [len 2] -> reliable_read, checked against a model
 *  5 time:   [ms 2] -> clock moves on, then every due packet is drained
 *  6 drain:  drain at the current time
 *  7 sid:    the peer's sid changes (packets from a stranger)
 * Checks after every step: window invariants, acks sent only for ids
 * received, bytes read equal the model (the first copy of each message
 * id accepted as new, stream opcodes only, in id order), drained packets
 * build and parse back, piggyback <= 4 and P_ACK_V1 <= 8 acks, the next
 * timeout is consistent with what next_out returns.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../ctrl/proto/ctlpkt.h"
#include "../../ctrl/proto/reliable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODEL_MIDS	1024

static const uint8_t OWN[SID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t PEER[SID_LEN] = { 8, 7, 6, 5, 4, 3, 2, 1 };
static const uint8_t STRANGER[SID_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9 };

struct model {
	bool is_new[MODEL_MIDS];	/* accepted as RELIABLE_IN_NEW */
	bool is_received[MODEL_MIDS];	/* accepted as new or duplicate */
	uint8_t opcode[MODEL_MIDS];
	uint16_t len[MODEL_MIDS];
	uint8_t seed[MODEL_MIDS];	/* payload byte i = seed + i * 3 */
	uint32_t rd_mid;		/* model read position */
	uint16_t rd_off;
	bool is_raw_seen;		/* raw packets defeat the payload model */
	bool is_overflow;		/* ids beyond MODEL_MIDS: no more checks */
};

static struct reliable rel;
static struct model m;
static const uint8_t *peer_sid;
static int64_t now;

static uint8_t payload_byte(uint8_t seed, size_t i)
{
	return (uint8_t)(seed + i * 3);
}

static void check_invariants(void)
{
	unsigned int active = 0;

	if (rel.send_next - rel.send_base > TLS_RELIABLE_N_SEND_BUFFERS)
		abort();
	for (unsigned int i = 0; i < TLS_RELIABLE_N_SEND_BUFFERS; i++) {
		const struct reliable_send_slot *s = &rel.send[i];

		if (!s->is_active)
			continue;
		active++;
		if (s->mid - rel.send_base >= rel.send_next - rel.send_base ||
		    s->mid % TLS_RELIABLE_N_SEND_BUFFERS != i)
			abort();
	}
	if (active != reliable_unacked(&rel))
		abort();
	if (rel.send_next != rel.send_base &&
	    !rel.send[rel.send_base % TLS_RELIABLE_N_SEND_BUFFERS].is_active)
		abort();
	for (unsigned int i = 0; i < TLS_RELIABLE_N_REC_BUFFERS; i++) {
		const struct reliable_recv_slot *s = &rel.recv[i];

		if (s->is_active && (s->mid - rel.recv_next >= TLS_RELIABLE_N_REC_BUFFERS ||
				     s->mid % TLS_RELIABLE_N_REC_BUFFERS != i))
			abort();
	}
	if (rel.n_pending > RELIABLE_ACK_PENDING || rel.n_mru > RELIABLE_ACK_SIZE)
		abort();
}

static void model_input(const struct ctlpkt *p, int rc)
{
	if (rc != RELIABLE_IN_NEW && rc != RELIABLE_IN_DUP)
		return;
	if (p->mid >= MODEL_MIDS) {
		m.is_overflow = true;	/* a very long input: stop modelling */
		return;
	}
	m.is_received[p->mid] = true;
	if (rc == RELIABLE_IN_DUP)
		return;
	if (m.is_new[p->mid])
		abort();	/* accepted as new twice */
	m.is_new[p->mid] = true;
	m.opcode[p->mid] = p->opcode;
	m.len[p->mid] = (uint16_t)p->payload_len;
	m.seed[p->mid] = p->payload_len ? p->payload[0] : 0;
}

static void feed(const struct ctlpkt *p, bool is_raw)
{
	int rc = reliable_input(&rel, p);

	if (is_raw && rc == RELIABLE_IN_NEW)
		m.is_raw_seen = true;
	model_input(p, rc);
}

static void cmd_packet(const uint8_t **d, size_t *n)
{
	static uint8_t pl[256];
	struct ctlpkt p = { 0 };
	uint8_t op, n_acks, len;

	if (*n < 4)
		return;
	op = (*d)[0];
	p.opcode = (uint8_t)(3 + (op & 0x7f) % 9);	/* 3..11, some invalid on purpose */
	p.mid = load_be16(*d + 1);
	n_acks = (*d)[3] % (RELIABLE_ACK_SIZE + 1);
	*d += 4;
	*n -= 4;
	if (*n < (size_t)n_acks + 1)
		return;
	p.n_acks = n_acks;
	for (unsigned int i = 0; i < n_acks; i++)
		p.acks[i] = rel.send_base - 2 + (*d)[i];
	len = (*d)[n_acks];
	*d += n_acks + 1;
	*n -= n_acks + 1;
	memcpy(p.sid, peer_sid, SID_LEN);
	memcpy(p.peer_sid, op & 0x80 ? STRANGER : OWN, SID_LEN);
	if (p.opcode == P_ACK_V1 && !p.n_acks)
		return;
	for (unsigned int i = 0; i < len; i++)
		pl[i] = payload_byte((uint8_t)p.mid, i);
	if (p.opcode != P_ACK_V1) {
		p.payload = pl;
		p.payload_len = len;
	}
	feed(&p, false);
}

static void cmd_raw(const uint8_t **d, size_t *n)
{
	struct ctlpkt p;
	size_t len;

	if (*n < 2)
		return;
	len = load_be16(*d);
	*d += 2;
	*n -= 2;
	if (len > *n)
		len = *n;
	if (!ctlpkt_parse(&p, *d, len))
		feed(&p, true);
	*d += len;
	*n -= len;
}

static void cmd_read(size_t want)
{
	static uint8_t buf[8192];
	size_t got;

	if (want > sizeof(buf))
		want = sizeof(buf);
	got = reliable_read(&rel, buf, want);
	if (got > want)
		abort();
	for (size_t i = 0; i < got && !m.is_raw_seen && !m.is_overflow; i++) {
		/* Skip model messages that add no bytes. */
		while (m.rd_mid < MODEL_MIDS && m.is_new[m.rd_mid] &&
		       ((m.opcode[m.rd_mid] != P_CONTROL_V1 && m.opcode[m.rd_mid] != P_CONTROL_WKC_V1) ||
			m.rd_off == m.len[m.rd_mid])) {
			m.rd_mid++;
			m.rd_off = 0;
		}
		if (m.rd_mid >= MODEL_MIDS || !m.is_new[m.rd_mid] ||
		    buf[i] != payload_byte(m.seed[m.rd_mid], m.rd_off))
			abort();
		m.rd_off++;
	}
}

static void drain(void)
{
	static uint8_t buf[WIRE_MAX];
	struct ctlpkt p, q;
	int64_t t = reliable_next_timeout(&rel, now);
	bool any = false;

	if (t < now)
		abort();
	for (int guard = 0; reliable_next_out(&rel, now, &p); guard++) {
		int len;

		if (guard > 64)
			abort();	/* next_out must run dry at a fixed time */
		any = true;
		if (p.n_acks > (p.opcode == P_ACK_V1 ? RELIABLE_ACK_SIZE : CONTROL_SEND_ACK_MAX))
			abort();
		for (unsigned int i = 0; i < p.n_acks && !m.is_overflow; i++)
			if (p.acks[i] >= MODEL_MIDS || !m.is_received[p.acks[i]])
				abort();	/* acked something never received */
		if (p.opcode != P_ACK_V1 && p.mid - rel.send_base >= TLS_RELIABLE_N_SEND_BUFFERS)
			abort();
		len = ctlpkt_build(&p, buf, sizeof(buf));
		if (len <= 0 || ctlpkt_parse(&q, buf, (size_t)len))
			abort();
	}
	/* next_timeout said "now" iff something went out. */
	if (any != (t == now))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t src[4096];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)i;
	reliable_release(&rel);	/* the last input's buffers (static storage starts zeroed) */
	reliable_init(&rel, 0, OWN, 2000, 100 + (size ? data[0] : 0) * 4);
	memset(&m, 0, sizeof(m));
	peer_sid = PEER;
	reliable_set_peer_sid(&rel, PEER);
	now = NSEC_PER_SEC;
	while (size) {
		uint8_t cmd = data[0];

		data++;
		size--;
		switch (cmd & 7) {
		case 0:
			cmd_raw(&data, &size);
			break;
		case 1:
			cmd_packet(&data, &size);
			break;
		case 2:
			if (size >= 3) {
				size_t len = load_be16(data + 1) % (RELIABLE_PAYLOAD_MAX + 2);
				int rc = reliable_send_msg(&rel, data[0] % 16, src, MIN(len, sizeof(src)));

				if (rc && rc != -EAGAIN && rc != -EINVAL && rc != -EMSGSIZE)
					abort();
				data += 3;
				size -= 3;
			}
			break;
		case 3:
			if (size >= 2) {
				size_t len = MIN((size_t)load_be16(data), sizeof(src));

				if (reliable_write(&rel, P_CONTROL_V1, src, len) > len)
					abort();
				data += 2;
				size -= 2;
			}
			break;
		case 4:
			if (size >= 2) {
				cmd_read(load_be16(data));
				data += 2;
				size -= 2;
			}
			break;
		case 5:
			if (size >= 2) {
				now += (int64_t)load_be16(data) * NSEC_PER_MSEC;
				data += 2;
				size -= 2;
			}
			drain();
			break;
		case 6:
			drain();
			break;
		default:
			peer_sid = peer_sid == PEER ? STRANGER : PEER;
			break;
		}
		check_invariants();
	}
	return 0;
}
