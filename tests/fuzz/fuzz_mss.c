/*
 * fuzz_mss.c - libFuzzer harness for TCP MSS clamping (core/mss.c).
 *
 * Input: bytes 0-1 and 2-3 are the IPv4 and IPv6 maxima (big-endian, 0 =
 * off), the rest is the packet, copied to a buffer of exactly its size so
 * ASan sees any read or write past the end.
 *
 * Invariants: an unchanged verdict leaves every byte alone; a change keeps
 * the one's complement sum of the whole packet (the TCP header starts at an
 * even offset, so the checksum update must cancel the MSS change there) and
 * is idempotent (a second call finds nothing above the maxima); a maximum of
 * 0xffff never changes anything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/mss.h"
#include "../../core/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t sum_all(const uint8_t *b, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	/* One's complement has two zeros; count them as one. */
	return s == 0xffff ? 0 : (uint16_t)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t max4, max6;
	uint8_t *p, *orig;
	size_t n;
	bool changed;

	if (size < 4 || size - 4 > 65535)
		return 0;
	max4 = load_be16(data);
	max6 = load_be16(data + 2);
	n = size - 4;
	p = malloc(n ? n : 1);
	orig = malloc(n ? n : 1);
	if (!p || !orig)
		abort();
	memcpy(p, data + 4, n);
	memcpy(orig, data + 4, n);
	changed = mss_clamp(p, (uint32_t)n, max4, max6);
	if (!changed && memcmp(p, orig, n))
		abort();
	if (changed && (sum_all(p, n) != sum_all(orig, n) ||
			mss_clamp(p, (uint32_t)n, max4, max6)))
		abort();
	if (mss_clamp(orig, (uint32_t)n, 0xffff, 0xffff))
		abort();
	free(p);
	free(orig);
	return 0;
}
