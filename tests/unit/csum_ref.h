/*
 * csum_ref.h - the naive Internet checksum (RFC 1071) the unit tests check
 * core/'s checksum code against: big-endian 16-bit words one at a time, an
 * odd last byte padded with zero, the carries folded at the end. Slow and
 * obviously right; shared by mss_test.c and offload_test.c.
 */
#ifndef SLUICE_TESTS_CSUM_REF_H
#define SLUICE_TESTS_CSUM_REF_H

#include <stdint.h>

/* The sum of @n bytes as big-endian words, unfolded. */
static inline uint32_t ref_sum16(const uint8_t *b, uint32_t n)
{
	uint32_t s = 0;

	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

/* @s folded to 16 bits, not complemented. */
static inline uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

#endif
