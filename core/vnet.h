/*
 * vnet.h - the virtio-net header a TUN device opened with IFF_VNET_HDR puts
 * in front of every packet it hands us, and expects in front of every packet
 * we write (linux/virtio_net.h, struct virtio_net_hdr; virtio 1.2 §5.1.6).
 *
 *   [flags 1][gso_type 1][hdr_len 2][gso_size 2][csum_start 2][csum_offset 2]
 *
 * The 16-bit fields are in the host's byte order: a TUN device uses the
 * legacy (native-endian) layout unless TUNSETVNETLE says otherwise, and we
 * never say so. Read and written with memcpy, never through a cast.
 *
 *   flags NEEDS_CSUM   the transport checksum is partial: the field at
 *                      csum_start + csum_offset holds the pseudo-header sum,
 *                      the rest is still to be added from csum_start on.
 *   gso_type           NONE, or the packet is a super-packet to be cut into
 *                      gso_size-byte payloads behind copies of its headers.
 *   hdr_len            a hint only: the kernel fills in the length of its
 *                      linear part, so readers find the headers themselves.
 */
#ifndef SLUICE_VNET_H
#define SLUICE_VNET_H

#include <stdint.h>
#include <string.h>

#define VNET_HDR_LEN		10

#define VNET_F_NEEDS_CSUM	0x01
#define VNET_F_DATA_VALID	0x02

#define VNET_GSO_NONE		0
#define VNET_GSO_TCPV4		1
#define VNET_GSO_UDP		3	/* UFO, fragmentation: never negotiated */
#define VNET_GSO_TCPV6		4
#define VNET_GSO_UDP_L4		5	/* USO (Linux 6.2) */
#define VNET_GSO_ECN		0x80

struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

static inline void vnet_hdr_load(struct vnet_hdr *h, const uint8_t *b)
{
	h->flags = b[0];
	h->gso_type = b[1];
	memcpy(&h->hdr_len, b + 2, 2);
	memcpy(&h->gso_size, b + 4, 2);
	memcpy(&h->csum_start, b + 6, 2);
	memcpy(&h->csum_offset, b + 8, 2);
}

static inline void vnet_hdr_store(uint8_t *b, const struct vnet_hdr *h)
{
	b[0] = h->flags;
	b[1] = h->gso_type;
	memcpy(b + 2, &h->hdr_len, 2);
	memcpy(b + 4, &h->gso_size, 2);
	memcpy(b + 6, &h->csum_start, 2);
	memcpy(b + 8, &h->csum_offset, 2);
}

#endif
