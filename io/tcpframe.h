/*
 * tcpframe.h - OpenVPN's TCP framing (openvpn-wire.md §11): every packet on
 * the stream is preceded by its length as a big-endian u16. The parser here
 * is pure (no I/O, no allocation), so the stream link (io/tcp.c), its unit
 * test and the fuzz harness (tests/fuzz/fuzz_tcpframe.c) share it.
 *
 * A reassembly buffer holds bytes read from one connection that were not
 * yet handed on: whole frames still waiting for room downstream, then at
 * most one partial frame. It never grows: the reader reads only into its
 * free tail (tcp_reasm_tail), after tcp_reasm_compact moved what is left to
 * the front. A length of 0 or above the caller's maximum is an error (stock
 * restarts the connection on "Bad encapsulated packet length"): the buffer
 * is then useless and the connection must close.
 *
 * Thread: whoever owns the buffer (link_rx for the link's connections).
 */
#ifndef SLUICE_IO_TCPFRAME_H
#define SLUICE_IO_TCPFRAME_H

#include <stdint.h>
#include <string.h>

/* Bytes of the length prefix. */
#define TCP_FRAME_HDR	2

struct tcp_reasm {
	uint8_t *buf;
	uint32_t cap;			/* bytes at buf */
	uint32_t head;			/* first byte not yet handed on */
	uint32_t tail;			/* one past the last byte read */
};

enum tcp_frame_rc {
	TCPF_BAD_ZERO = -2,		/* a zero length prefix */
	TCPF_BAD_BIG = -1,		/* a length above the maximum */
	TCPF_NEED = 0,			/* no whole frame buffered */
	TCPF_FRAME = 1,			/* *frame, *len: one frame, consumed */
};

static inline void tcp_reasm_init(struct tcp_reasm *r, uint8_t *buf, uint32_t cap)
{
	r->buf = buf;
	r->cap = cap;
	r->head = r->tail = 0;
}

/*
 * The next whole frame (at most @max bytes, and @max < @r->cap - 1 so one
 * always fits): its bytes stay valid until the next compact or read.
 */
static inline enum tcp_frame_rc tcp_reasm_next(struct tcp_reasm *r, uint32_t max,
					       const uint8_t **frame, uint32_t *len)
{
	uint32_t avail = r->tail - r->head, n;

	if (avail < TCP_FRAME_HDR)
		return TCPF_NEED;
	n = (uint32_t)r->buf[r->head] << 8 | r->buf[r->head + 1];
	if (n == 0)
		return TCPF_BAD_ZERO;
	if (n > max)
		return TCPF_BAD_BIG;
	if (avail - TCP_FRAME_HDR < n)
		return TCPF_NEED;
	*frame = r->buf + r->head + TCP_FRAME_HDR;
	*len = n;
	r->head += TCP_FRAME_HDR + n;
	return TCPF_FRAME;
}

/* Moves the bytes not yet handed on to the front (usually a partial frame, or none). */
static inline void tcp_reasm_compact(struct tcp_reasm *r)
{
	uint32_t left = r->tail - r->head;

	if (left && r->head)
		memmove(r->buf, r->buf + r->head, left);
	r->head = 0;
	r->tail = left;
}

/* Where the next read goes, and how much it may take. */
static inline uint8_t *tcp_reasm_tail(const struct tcp_reasm *r, uint32_t *room)
{
	*room = r->cap - r->tail;
	return r->buf + r->tail;
}

/* @n bytes were read into the tail (@n <= the room tcp_reasm_tail gave). */
static inline void tcp_reasm_added(struct tcp_reasm *r, uint32_t n)
{
	r->tail += n;
}

/* Forgets everything (a connection closed or failed). */
static inline void tcp_reasm_reset(struct tcp_reasm *r)
{
	r->head = r->tail = 0;
}

#endif
