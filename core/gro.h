/*
 * gro.h - coalescing decrypted packets into TUN super-packets (GRO done by
 * us): consecutive in-order TCP segments of one flow, or equal-size UDP
 * datagrams of one flow, become one write with a virtio-net header
 * (core/vnet.h), so the kernel takes in one skb what would have been up to
 * GRO_SEGS_MAX writes.
 *
 * tun_tx hands gro_coalesce the burst it is about to write, in order. Each
 * packet comes out either as the head of one write or chained behind a head
 * (pkt->next), with its headers pulled off so its data is its payload; the
 * caller writes head and members with one writev and frees the chain at its
 * completion. Every head gets a virtio-net header pushed in front of its
 * data: zero for a packet written as it is, a GSO header for a group.
 *
 * Which packets merge (the kernel's tcp_gro_receive / udp_gro_receive rules,
 * and tools/testing/selftests/net/gro.c): IPv4 without options or
 * fragmentation and the same TOS, TTL and DF, or IPv6 with TCP/UDP as the
 * first next header and the same traffic class, flow label and hop limit;
 * the same addresses and ports; TCP: the next sequence number, the same ACK
 * number, flags (ACK, optionally PSH or ECE) and options, payload no larger
 * than the first one's (a smaller one or one with PSH ends the group);
 * UDP: payload no larger than the first one's (a smaller one ends it).
 * Members are appended only, never prepended, and a packet of a flow that
 * cannot join that flow's group closes it, so no packet overtakes another of
 * its own flow. Packets of other flows may be written in a different order
 * relative to each other, as GRO does.
 *
 * Checksums: a group is written with NEEDS_CSUM (the kernel then trusts its
 * payload), so every packet that joins one has its IPv4 header and transport
 * checksums verified first; a packet that fails is written alone, as it is,
 * for the kernel to drop. The decrypt side may verify them earlier, while
 * the plaintext is still in its cache (gro_csum_note); a packet so marked
 * (PKT_F_CSUM_OK) is not read again.
 *
 * Pure function; any thread; no allocation.
 */
#ifndef SLUICE_GRO_H
#define SLUICE_GRO_H

#include <stdint.h>

#include "pkt.h"
#include "vnet.h"

/* Packets one write carries: iovecs per write (io/tun_tx.c), and 64 KiB of 1 KiB payloads. */
#define GRO_SEGS_MAX	64
/* Flows one burst coalesces at once; more open flows evict the oldest group. */
#define GRO_FLOWS	8
/* An IPv4 total length or IPv6 payload length: the most one super-packet holds. */
#define GRO_LEN_MAX	65535

/* What gro_coalesce may merge. */
#define GRO_F_TCP	0x01
#define GRO_F_UDP	0x02	/* needs USO on the TUN (VNET_GSO_UDP_L4 writes) */

/*
 * Groups @p[0..n) (IP packets, to be written in this order, each with at
 * least VNET_HDR_LEN bytes of headroom) into writes: stores the heads, in
 * the order of their first packet, in @out and returns how many. Consumes
 * nothing: every packet is a head or a member of one head's chain.
 */
unsigned int gro_coalesce(struct pkt **p, unsigned int n, struct pkt **out, unsigned int flags);

/*
 * Packets shorter than this are not noted: their sum is a few cycles
 * wherever it runs, and noting them would parse their headers twice (udp64
 * A/B: 1-4% more CPU per packet with every packet noted).
 */
#define GRO_NOTE_MIN	512

/*
 * Sets PKT_F_CSUM_OK on @p if gro_coalesce with @flags could merge it, it
 * has GRO_NOTE_MIN bytes or more and its checksums are right; leaves it
 * clear otherwise (the coalescer then checks, as for any packet). For the
 * thread that just opened @p (crypto/worker.c), where its bytes are hot;
 * reads @p only.
 */
void gro_csum_note(struct pkt *p, unsigned int flags);

#endif
