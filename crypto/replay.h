/*
 * replay.h - OpenVPN's data-channel replay window (openvpn-wire.md §6.4,
 * RFC 6479 for the bitmap idea).
 *
 * Semantics, as stock 2.6 (packet_id.c): id 0 is never valid; with H the
 * highest id accepted so far, an id > H is accepted; an id in
 * [H - window + 1, H - 1] is accepted once; anything older is rejected.
 * Time rule: once a packet that arrived more than `time_sec` ago has id X,
 * every id <= X not yet seen is treated as seen (a packet delayed more than
 * time_sec behind a newer one is dropped). Strict mode (TCP, optional)
 * accepts only ids greater than H.
 *
 * The caller checks first, verifies the AEAD tag, and only then updates:
 * a forged packet never moves the window. Owned by one thread (tun_tx):
 * no locks, no atomics.
 */
#ifndef SLUICE_REPLAY_H
#define SLUICE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/compiler.h"

#define REPLAY_WINDOW_DEFAULT	64
#define REPLAY_WINDOW_MAX	65536	/* OpenVPN's MAX_SEQ_BACKTRACK */
#define REPLAY_TIME_DEFAULT	15	/* seconds */

struct replay {
	uint64_t highest;		/* H; 0 before the first packet */
	uint32_t window;		/* packets behind H that may still arrive */
	uint32_t nwords;		/* bitmap words */
	int64_t time_ns;		/* time_sec in ns; 0 disables the time rule */
	uint64_t floor;			/* ids <= floor are treated as seen (time rule) */
	bool strict;
	/* Per-second maxima for the time rule: id of the newest packet seen in each second. */
	int64_t sec_ring_t[32];
	uint64_t sec_ring_id[32];
	uint32_t sec_head, sec_count;
	uint64_t bits[];		/* bit (id % (nwords * 64)) set = id seen */
};

/* Bytes to allocate for a window of @window packets. */
size_t replay_size(uint32_t window);
/* Initialises @r in memory of replay_size(window) bytes. */
void replay_init(struct replay *r, uint32_t window, uint32_t time_sec, bool strict);
/* True if @pid may be accepted at @now_ns. Does not change state. */
bool replay_check(struct replay *r, uint32_t pid, int64_t now_ns);
/* Records @pid (which passed replay_check and the tag) as seen at @now_ns. */
void replay_update(struct replay *r, uint32_t pid, int64_t now_ns);

#endif
