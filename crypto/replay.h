/*
 * replay.h - OpenVPN's data-channel replay window (openvpn-wire.md §6.4,
 * RFC 6479 for the bitmap idea).
 *
 * Semantics, as stock 2.6 (packet_id.c): id 0 is never valid; with H the
 * highest id accepted so far, an id > H is accepted; an id in
 * [H - window + 1, H - 1] is accepted once; anything older is rejected.
 * Time rule: once a packet that arrived more than `time_sec` ago has id X,
 * every id <= X not yet seen is treated as seen (a packet delayed more than
 * time_sec behind a newer one is dropped). Time is counted in whole seconds
 * of the caller's clock, as OpenVPN does with `now`: a packet that arrived
 * in second t is stale from second t + time_sec + 1 on. Stock 2.6 applies
 * the rule lazily (packet_id_reap at most every SEQ_REAP_INTERVAL = 5 s), so
 * it may still accept a late packet up to 5 s after we refuse it; we apply
 * the rule exactly, which is never more permissive. Strict mode (TCP,
 * optional) and window 0 accept only ids greater than H.
 *
 * The caller checks first, verifies the AEAD tag, and only then updates:
 * a forged packet never moves the window. Owned by one thread (tun_tx):
 * no locks, no atomics.
 */
#ifndef SLUICE_REPLAY_H
#define SLUICE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"

#define REPLAY_WINDOW_DEFAULT	64
#define REPLAY_WINDOW_MAX	65536	/* OpenVPN's MAX_SEQ_BACKTRACK */
#define REPLAY_TIME_DEFAULT	15	/* seconds */
#define REPLAY_TIME_MAX		600	/* OpenVPN's MAX_TIME_BACKTRACK; larger is clamped */
/*
 * Seconds the time rule must remember: after a reap only seconds in
 * [now - time_sec, now] remain, at most REPLAY_TIME_MAX + 1 of them.
 */
#define REPLAY_SEC_SLOTS	(REPLAY_TIME_MAX + 2)

/* The newest id accepted in one second of arrival. */
struct replay_sec {
	uint32_t sec;			/* arrival second, truncated to 32 bits */
	uint32_t id;
};

struct replay {
	uint32_t highest;		/* H; 0 before the first packet */
	uint32_t floor;			/* ids <= floor are treated as seen (time rule) */
	uint32_t window;		/* packets behind H that may still arrive */
	uint32_t word_mask;		/* bitmap words - 1 (a power of two) */
	uint32_t time_sec;		/* 0 disables the time rule */
	bool strict;
	/*
	 * The time rule's memory, oldest first: one entry per arrival second
	 * whose newest id beats every earlier entry, so sec and id both
	 * strictly increase along the ring. The newest entry that has gone
	 * stale gives the floor (packet_id_reap's X). ~4.8 KiB per slot.
	 */
	uint32_t sec_head, sec_count;
	struct replay_sec sec_ring[REPLAY_SEC_SLOTS];
	uint64_t bits[];		/* bit id % (64 * words) set = id seen */
};

/* Bytes to allocate for a window of @window packets (at most REPLAY_WINDOW_MAX). */
size_t replay_size(uint32_t window);
/* Initialises @r in memory of replay_size(window) bytes. */
void replay_init(struct replay *r, uint32_t window, uint32_t time_sec, bool strict);
/* True if @pid may be accepted at @now_ns. Does not change state. */
bool replay_check(const struct replay *r, uint32_t pid, int64_t now_ns);
/* Records @pid (which passed replay_check and the tag) as seen at @now_ns. */
void replay_update(struct replay *r, uint32_t pid, int64_t now_ns);

#endif
