/*
 * csum.c - owns the Internet checksum loops (csum.h): a plain sum and a
 * sum fused with a copy. Pure functions; any thread.
 *
 * The loops add 64-bit words into four 64-bit accumulators and count the
 * carries out of each (2^64 is 1 modulo 2^16 - 1, so a carry is worth one);
 * the accumulators are independent, so the additions of one iteration run in
 * parallel. The tail adds what is left as 32-, 16- and 8-bit pieces; a last
 * odd byte is the first byte of a 16-bit word whose second byte is zero
 * (RFC 1071 §4.1), which in the native order is that byte's own value on a
 * little-endian machine and that value shifted up by 8 on a big-endian one.
 */
#include <string.h>

#include "csum.h"

static inline uint32_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static inline uint64_t add64(uint64_t a, uint64_t b, uint64_t *carry)
{
	uint64_t s = a + b;

	*carry += s < b;
	return s;
}

/*
 * @a plus its @carry count of 2^64 overflows, each worth 1. If that add
 * overflows too, the sum is below @carry, so one more 1 cannot wrap again.
 */
static inline uint64_t end_carry(uint64_t a, uint64_t carry)
{
	uint64_t s = a + carry;

	return s + (s < carry);
}

/* The 0..7 bytes after the last 64-bit word. */
static inline uint64_t tail_sum(const uint8_t *b, size_t len)
{
	uint64_t s = 0;

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

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *b = buf;
	uint64_t a0 = sum, a1 = 0, a2 = 0, a3 = 0, c = 0;
	uint64_t w0, w1, w2, w3;

	while (len >= 32) {
		memcpy(&w0, b, 8);
		memcpy(&w1, b + 8, 8);
		memcpy(&w2, b + 16, 8);
		memcpy(&w3, b + 24, 8);
		a0 = add64(a0, w0, &c);
		a1 = add64(a1, w1, &c);
		a2 = add64(a2, w2, &c);
		a3 = add64(a3, w3, &c);
		b += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&w0, b, 8);
		a0 = add64(a0, w0, &c);
		b += 8;
		len -= 8;
	}
	a0 = add64(a0, tail_sum(b, len), &c);
	a0 = add64(a0, a1, &c);
	a0 = add64(a0, a2, &c);
	a0 = add64(a0, a3, &c);
	return fold64(end_carry(a0, c));
}

uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum)
{
	const uint8_t *s = src;
	uint8_t *d = dst;
	uint64_t a0 = sum, a1 = 0, a2 = 0, a3 = 0, c = 0;
	uint64_t w0, w1, w2, w3;

	while (len >= 32) {
		memcpy(&w0, s, 8);
		memcpy(&w1, s + 8, 8);
		memcpy(&w2, s + 16, 8);
		memcpy(&w3, s + 24, 8);
		memcpy(d, &w0, 8);
		memcpy(d + 8, &w1, 8);
		memcpy(d + 16, &w2, 8);
		memcpy(d + 24, &w3, 8);
		a0 = add64(a0, w0, &c);
		a1 = add64(a1, w1, &c);
		a2 = add64(a2, w2, &c);
		a3 = add64(a3, w3, &c);
		s += 32;
		d += 32;
		len -= 32;
	}
	memcpy(d, s, len);
	while (len >= 8) {
		memcpy(&w0, s, 8);
		a0 = add64(a0, w0, &c);
		s += 8;
		len -= 8;
	}
	a0 = add64(a0, tail_sum(s, len), &c);
	a0 = add64(a0, a1, &c);
	a0 = add64(a0, a2, &c);
	a0 = add64(a0, a3, &c);
	return fold64(end_carry(a0, c));
}
