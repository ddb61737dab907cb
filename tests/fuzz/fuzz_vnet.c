/*
 * fuzz_vnet.c - libFuzzer harness for what tun_rx does with a TUN read: the
 * virtio-net header parser and the segmenter (core/gso.c).
 *
 * Input: the first 10 bytes are the virtio-net header, the rest is the
 * packet, copied to a buffer of exactly its size so ASan sees any read past
 * its end. Each segment is written to a buffer of exactly gso_seg_len()
 * bytes (ASan catches a longer write).
 *
 * Invariants: gso_segment returns gso_seg_len(); a refused header yields no
 * segments; for a TCP or UDP super-packet the segments' payloads add up to
 * the packet's and every segment carries a transport checksum that verifies
 * (and, for IPv4, a header checksum that does); a plain packet comes out
 * unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/csum.h"
#include "../../core/gso.h"
#include "../../core/pkt.h"
#include "../../core/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Enough segments to cover 64 KiB at gso_size 1 would take too long per input. */
#define FUZZ_SEGS_MAX	2048

static bool seg_csum_ok(const uint8_t *s, uint32_t len, const struct gso_info *gi)
{
	uint8_t proto = gi->kind == GSO_TCP ? GSO_PROTO_TCP : GSO_PROTO_UDP;
	uint32_t l4_len = len - gi->l4_off;

	if (!gi->is_v6 && csum_fold(csum_partial(s, gi->l4_off, 0)) != 0)
		return false;
	return csum_fold(csum_partial(s + gi->l4_off, l4_len,
				      csum_pseudo(s, gi->is_v6, proto, l4_len))) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vnet_hdr vh;
	struct gso_info gi;
	uint32_t len, payload = 0;
	uint8_t *pkt;

	if (size < VNET_HDR_LEN || size - VNET_HDR_LEN > 65535)
		return 0;
	vnet_hdr_load(&vh, data);
	len = (uint32_t)(size - VNET_HDR_LEN);
	pkt = malloc(len ? len : 1);
	if (!pkt)
		abort();
	memcpy(pkt, data + VNET_HDR_LEN, len);
	if (gso_parse(&vh, pkt, len, &gi) != PKT_OK || gi.nseg > FUZZ_SEGS_MAX) {
		free(pkt);
		return 0;
	}
	for (uint32_t i = 0; i < gi.nseg; i++) {
		uint32_t want = gso_seg_len(&gi, len, i), got;
		uint8_t *seg = malloc(want ? want : 1);

		if (!seg)
			abort();
		got = gso_segment(pkt, len, &gi, i, seg);
		if (got != want)
			abort();
		if (gi.kind == GSO_PLAIN && memcmp(seg, pkt, len))
			abort();
		if (gi.kind == GSO_TCP || gi.kind == GSO_UDP) {
			payload += got - gi.hdr_len;
			if (!seg_csum_ok(seg, got, &gi))
				abort();
		}
		free(seg);
	}
	if ((gi.kind == GSO_TCP || gi.kind == GSO_UDP) && payload != len - gi.hdr_len)
		abort();
	free(pkt);
	return 0;
}
