/*
 * csum.c - owns the Internet checksum loops (csum.h): a plain sum and a
 * sum fused with a copy. Pure functions; any thread.
 *
 * The loops read 32 bytes at a time as four 64-bit lanes (GCC/Clang vector
 * extensions: AVX2 where the CPU has it, through an ifunc picked at load
 * time, two SSE2 halves otherwise) and add each lane's two 32-bit halves
 * into 64-bit accumulators. A one's complement sum may be taken over any
 * word size and folded afterwards (RFC 1071 §2(C)), and a 64-bit lane
 * cannot overflow before 2^31 iterations, so there is no carry to track in
 * the loop. The tail adds what is left as 32-, 16- and 8-bit pieces; a last
 * odd byte is the first byte of a 16-bit word whose second byte is zero
 * (RFC 1071 §4.1), which in the native order is that byte's own value on a
 * little-endian machine and that value shifted up by 8 on a big-endian one.
 * Measured with tests/unit/offload_test.c against a byte-at-a-time model.
 */
#include <string.h>

#include "csum.h"

typedef uint64_t csum_v4 __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
/* One copy per ISA, the best one picked when the program loads (GCC ifunc). */
#define CSUM_CLONES	__attribute__((target_clones("avx2", "default")))
#else
#define CSUM_CLONES
#endif

static inline uint32_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

/* The 0..31 bytes after the last vector: 64-bit halves summed, then the 0..7 left. */
static inline uint64_t tail_sum(const uint8_t *b, size_t len)
{
	uint64_t s = 0;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, b, 8);
		s += (v & 0xffffffffu) + (v >> 32);
		b += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t v;

		memcpy(&v, b, 4);
		s += v;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;

		memcpy(&v, b, 2);
		s += v;
		b += 2;
		len -= 2;
	}
	if (len) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s += b[0];
#else
		s += (uint32_t)b[0] << 8;
#endif
	}
	return s;
}

CSUM_CLONES
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const csum_v4 lo = { 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu };
	csum_v4 a = { 0 }, b = { 0 }, w0, w1;
	const uint8_t *p = buf;
	uint64_t s = sum;

	while (len >= 64) {
		memcpy(&w0, p, 32);
		memcpy(&w1, p + 32, 32);
		a += (w0 & lo) + (w0 >> 32);
		b += (w1 & lo) + (w1 >> 32);
		p += 64;
		len -= 64;
	}
	if (len >= 32) {
		memcpy(&w0, p, 32);
		a += (w0 & lo) + (w0 >> 32);
		p += 32;
		len -= 32;
	}
	a += b;
	s += a[0] + a[1] + a[2] + a[3] + tail_sum(p, len);
	return fold64(s);
}

CSUM_CLONES
uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum)
{
	const csum_v4 lo = { 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu };
	csum_v4 a = { 0 }, b = { 0 }, w0, w1;
	const uint8_t *s = src;
	uint8_t *d = dst;
	uint64_t t = sum;

	while (len >= 64) {
		memcpy(&w0, s, 32);
		memcpy(&w1, s + 32, 32);
		memcpy(d, &w0, 32);
		memcpy(d + 32, &w1, 32);
		a += (w0 & lo) + (w0 >> 32);
		b += (w1 & lo) + (w1 >> 32);
		s += 64;
		d += 64;
		len -= 64;
	}
	memcpy(d, s, len);
	a += b;
	t += a[0] + a[1] + a[2] + a[3] + tail_sum(s, len);
	return fold64(t);
}
