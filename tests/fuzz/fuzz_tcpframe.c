/*
 * fuzz_tcpframe.c - libFuzzer harness for OpenVPN's TCP framing parser
 * (io/tcpframe.h), driven the way the stream link (io/tcp.c) drives it.
 *
 * Input: byte 0 picks the frame maximum (64..2048), byte 1 seeds the sizes
 * of the reads and of how many frames each turn hands on; the rest is the
 * byte stream from the peer. The stream is fed in reads into the buffer's
 * free tail (never more than it has room for, and only while a whole frame
 * of the maximum fits, as the link does), frames are taken a few at a time.
 *
 * Invariants: the frames come out exactly as a straight walk of the stream
 * finds them, in order, each within the maximum; the buffer never holds
 * more than its capacity; a zero or oversize length is reported exactly
 * where the walk meets it, and nothing after it is ever returned.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../io/tcpframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP	(4096 + 64)

static uint8_t buf[CAP];

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcp_reasm r;
	uint32_t max, seed, off = 0, walk = 0;
	const uint8_t *s;
	size_t n;
	bool done = false;

	if (size < 2)
		return 0;
	max = 64 + (uint32_t)data[0] * 8;	/* 64..2104 */
	if (max > 2048)
		max = 2048;
	seed = data[1];
	s = data + 2;
	n = size - 2;
	tcp_reasm_init(&r, buf, CAP);
	while (!done) {
		uint32_t room, take, k;
		uint8_t *at;

		tcp_reasm_compact(&r);
		at = tcp_reasm_tail(&r, &room);
		if (r.tail > r.cap)
			abort();
		if (off < n && room >= max + TCP_FRAME_HDR) {
			take = 1 + rnd(&seed) % room;
			if (take > n - off)
				take = (uint32_t)(n - off);
			memcpy(at, s + off, take);
			tcp_reasm_added(&r, take);
			off += take;
		}
		k = 1 + rnd(&seed) % 8;
		while (k--) {
			const uint8_t *f;
			uint32_t len, want;
			enum tcp_frame_rc rc = tcp_reasm_next(&r, max, &f, &len);

			if (rc == TCPF_NEED) {
				/* The walk agrees: no whole frame in what was fed. */
				if (walk + 2 <= off) {
					want = (uint32_t)s[walk] << 8 | s[walk + 1];
					if (want && want <= max && walk + 2 + want <= off)
						abort();
				}
				if (off == n)
					done = true;
				break;
			}
			if (walk + 2 > off)
				abort();
			want = (uint32_t)s[walk] << 8 | s[walk + 1];
			if (rc == TCPF_BAD_ZERO || rc == TCPF_BAD_BIG) {
				if ((rc == TCPF_BAD_ZERO) != (want == 0) ||
				    (rc == TCPF_BAD_BIG && want <= max))
					abort();
				done = true;
				break;
			}
			if (len != want || len > max || walk + 2 + len > off ||
			    memcmp(f, s + walk + 2, len))
				abort();
			walk += 2 + len;
		}
	}
	return 0;
}
