/*
 * mss.h - TCP MSS clamping of tunnel packets (OpenVPN's --mssfix).
 *
 * A SYN or SYN-ACK that crosses the tunnel announces the MSS of its own
 * interface; without clamping, full-size segments plus the encapsulation
 * exceed the path MTU. OpenVPN 2.6 (mss.c) therefore lowers the MSS option of
 * every SYN in both directions (read from and written to the TUN) to a value
 * derived from --mssfix; ctrl/config/runcfg.c computes that value, this file only
 * rewrites packets. Pure functions: no state, any thread.
 */
#ifndef SLUICE_MSS_H
#define SLUICE_MSS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * If @ip (@len bytes, one IPv4 or IPv6 packet) is a TCP segment with SYN set
 * whose MSS option is above the maximum for its family (@max_v4 or @max_v6;
 * 0 = leave that family alone), lowers the option to the maximum and updates
 * the TCP checksum incrementally (RFC 1624). Returns true if it changed the
 * packet. Safe on any bytes: never reads or writes outside [ip, ip + len).
 *
 * What it looks at, as OpenVPN does: the IP length field must equal @len;
 * IPv4 with header options and the first fragment (offset 0) are handled,
 * later fragments are not (no TCP header). IPv6 follows hop-by-hop,
 * routing, destination-options and first-fragment extension headers (up to
 * MSS_V6_EXT_MAX of them) to find TCP; OpenVPN itself only handles TCP as the
 * first next header. The options walk stops at EOL or at a malformed option.
 * Cost for a packet that is not a TCP SYN: a handful of byte compares.
 */
bool mss_clamp(uint8_t *ip, uint32_t len, uint16_t max_v4, uint16_t max_v6);

/* Extension headers mss_clamp() walks before giving up on an IPv6 packet. */
#define MSS_V6_EXT_MAX	4

#endif
