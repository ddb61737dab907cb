/*
 * csum.h - the Internet checksum (RFC 1071) for IP, TCP and UDP headers and
 * payloads, as TUN segmentation (core/gso.c) and coalescing (core/gro.c)
 * compute and verify it.
 *
 * Sums are kept in the machine's byte order, as Linux keeps its __wsum: a
 * buffer is summed as native 16-bit words, the pseudo header adds its
 * protocol and length as big-endian values, and the folded result is stored
 * with a native 16-bit store, which puts the right bytes on the wire on
 * either endianness (RFC 1071 §2(B)). A partial sum is a 32-bit one's
 * complement accumulator; partial sums of pieces at even offsets add up with
 * csum_add.
 *
 * Pure functions; any thread.
 */
#ifndef SLUICE_CSUM_H
#define SLUICE_CSUM_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The one's complement sum of @len bytes at @buf (an even offset of the range) plus @sum. */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);
/* csum_partial() of @src while copying it to @dst: one pass over the bytes. */
uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum);

static inline uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint32_t s = a + b;

	return s + (s < a);
}

/* @a less @b: one's complement subtraction is the addition of the complement. */
static inline uint32_t csum_sub(uint32_t a, uint32_t b)
{
	return csum_add(a, ~b);
}

/* The 16-bit complemented checksum of a partial sum: what a header carries. */
static inline uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The pseudo header (RFC 9293 §3.1, RFC 8200 §8.1) of a transport segment of
 * @l4_len bytes with protocol @proto, its addresses taken from the IPv4 or
 * IPv6 header at @ip.
 */
static inline uint32_t csum_pseudo(const uint8_t *ip, bool is_v6, uint8_t proto, uint32_t l4_len)
{
	uint32_t sum = csum_partial(ip + (is_v6 ? 8 : 12), is_v6 ? 32 : 8, 0);

	sum = csum_add(sum, htonl(l4_len));
	return csum_add(sum, htonl(proto));
}

/* A 32-bit field at @p in the native order, as a partial sum sees it (any alignment). */
static inline uint32_t csum_load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Reads and writes a checksum field (native order, any alignment). */
static inline uint16_t csum_load(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static inline void csum_store(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* The IPv4 header checksum of the @hlen-byte header at @ip, computed with its field zeroed. */
static inline uint16_t csum_ipv4_hdr(uint8_t *ip, uint32_t hlen)
{
	csum_store(ip + 10, 0);
	return csum_fold(csum_partial(ip, hlen, 0));
}

#endif
