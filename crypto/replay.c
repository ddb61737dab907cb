/*
 * replay.c - owns struct replay, the receive replay window of one key slot.
 *
 * Threads: replay_size/replay_init run on ctrl while it builds a key slot;
 * replay_check/replay_update run on tun_tx only, after the decrypt worker
 * verified the tag (dc_replay_accept). One writer, so no atomics.
 *
 * Two pieces of state reproduce OpenVPN 2.6's packet_id_rec:
 *
 *  - The sequence window is an RFC 6479 bitmap: a power of two of 64-bit
 *    words with at least one word more than the window needs, so moving H
 *    forward clears whole words and never a bit that is still inside the
 *    window. packet_id_rec keeps one time_t per slot in a circular list; a
 *    bit is enough here because the times live in the ring below.
 *
 *  - The time rule (packet_id_reap) marks as seen every id <= X, where X is
 *    the highest id whose arrival second t has t + time_sec < now. Only the
 *    newest id per arrival second can ever be that X, and only if it beats
 *    every id that arrived in an earlier second (otherwise the earlier,
 *    larger id goes stale first and covers it). So a ring of (second, id)
 *    with both strictly increasing holds all the rule needs; the newest
 *    stale entry is the floor. replay_check finds it by binary search
 *    without writing, replay_update pops stale entries into r->floor.
 */
#include <string.h>

#include "../core/clock.h"
#include "replay.h"

static uint32_t replay_words(uint32_t window)
{
	uint32_t need = (window + 63) / 64 + 1;
	uint32_t words = 2;

	while (words < need)
		words <<= 1;
	return words;
}

size_t replay_size(uint32_t window)
{
	if (window > REPLAY_WINDOW_MAX)
		window = REPLAY_WINDOW_MAX;
	return sizeof(struct replay) + (size_t)replay_words(window) * sizeof(uint64_t);
}

void replay_init(struct replay *r, uint32_t window, uint32_t time_sec, bool strict)
{
	uint32_t words;

	if (window > REPLAY_WINDOW_MAX)
		window = REPLAY_WINDOW_MAX;
	if (time_sec > REPLAY_TIME_MAX)
		time_sec = REPLAY_TIME_MAX;
	words = replay_words(window);
	memset(r, 0, sizeof(*r) + (size_t)words * sizeof(uint64_t));
	r->window = window;
	r->word_mask = words - 1;
	r->time_sec = time_sec;
	r->strict = strict;
}

/* Whole seconds, as OpenVPN's `now`; 32 bits wrap after 136 years of uptime. */
static inline uint32_t replay_sec_of(int64_t now_ns)
{
	return (uint32_t)(now_ns / NSEC_PER_SEC);
}

static inline const struct replay_sec *replay_sec_at(const struct replay *r, uint32_t k)
{
	uint32_t i = r->sec_head + k;

	if (i >= REPLAY_SEC_SLOTS)
		i -= REPLAY_SEC_SLOTS;
	return &r->sec_ring[i];
}

/* packet_id_reap's test: t + time_backtrack < now. */
static inline bool replay_sec_is_stale(const struct replay *r, const struct replay_sec *e,
				       uint32_t now)
{
	return (int32_t)(now - e->sec) > (int32_t)r->time_sec;
}

/* The floor as a reap at second @now would leave it; no writes. */
static uint32_t replay_floor_at(const struct replay *r, uint32_t now)
{
	uint32_t lo = 1, hi = r->sec_count;

	if (likely(!r->time_sec || !hi || !replay_sec_is_stale(r, replay_sec_at(r, 0), now)))
		return r->floor;
	/* Stale entries form a prefix: find its end. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (replay_sec_is_stale(r, replay_sec_at(r, mid), now))
			lo = mid + 1;
		else
			hi = mid;
	}
	return MAX(r->floor, replay_sec_at(r, lo - 1)->id);
}

static inline bool replay_bit_test(const struct replay *r, uint32_t id)
{
	return r->bits[(id >> 6) & r->word_mask] >> (id & 63) & 1;
}

bool replay_check(const struct replay *r, uint32_t pid, int64_t now_ns)
{
	uint32_t diff;

	if (unlikely(pid == 0))
		return false;
	if (likely(pid > r->highest))
		return true;
	if (r->strict)
		return false;
	diff = r->highest - pid;
	if (diff >= r->window)
		return false;
	if (replay_bit_test(r, pid))
		return false;
	return pid > replay_floor_at(r, replay_sec_of(now_ns));
}

/* Moves H up to @pid, clearing the words that come into the window. */
static void replay_advance(struct replay *r, uint32_t pid)
{
	uint32_t cur = r->highest >> 6;
	uint32_t n = (pid >> 6) - cur;

	if (n > r->word_mask) {
		memset(r->bits, 0, ((size_t)r->word_mask + 1) * sizeof(uint64_t));
	} else {
		for (uint32_t i = 1; i <= n; i++)
			r->bits[(cur + i) & r->word_mask] = 0;
	}
	r->highest = pid;
}

static void replay_reap(struct replay *r, uint32_t now)
{
	while (r->sec_count && replay_sec_is_stale(r, replay_sec_at(r, 0), now)) {
		r->floor = MAX(r->floor, replay_sec_at(r, 0)->id);
		if (++r->sec_head == REPLAY_SEC_SLOTS)
			r->sec_head = 0;
		r->sec_count--;
	}
}

static void replay_remember(struct replay *r, uint32_t pid, uint32_t now)
{
	struct replay_sec *e;
	uint32_t i;

	if (r->sec_count) {
		e = (struct replay_sec *)replay_sec_at(r, r->sec_count - 1);
		/* Same second (or a clock that stepped back): keep one entry. */
		if ((int32_t)(now - e->sec) <= 0) {
			e->id = MAX(e->id, pid);
			return;
		}
		/* An earlier second holds a larger id: it covers this one. */
		if (pid <= e->id)
			return;
	} else if (pid <= r->floor) {
		return;
	}
	if (unlikely(r->sec_count == REPLAY_SEC_SLOTS)) {
		/* Not reachable after a reap with time_sec <= REPLAY_TIME_MAX; fail strict. */
		r->floor = MAX(r->floor, replay_sec_at(r, 0)->id);
		if (++r->sec_head == REPLAY_SEC_SLOTS)
			r->sec_head = 0;
		r->sec_count--;
	}
	i = r->sec_head + r->sec_count;
	if (i >= REPLAY_SEC_SLOTS)
		i -= REPLAY_SEC_SLOTS;
	r->sec_ring[i].sec = now;
	r->sec_ring[i].id = pid;
	r->sec_count++;
}

void replay_update(struct replay *r, uint32_t pid, int64_t now_ns)
{
	uint32_t now = replay_sec_of(now_ns);

	if (unlikely(pid == 0))
		return;
	if (pid > r->highest)
		replay_advance(r, pid);
	r->bits[(pid >> 6) & r->word_mask] |= (uint64_t)1 << (pid & 63);
	if (r->time_sec) {
		replay_reap(r, now);
		replay_remember(r, pid, now);
	}
}
