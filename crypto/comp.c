/*
 * comp.c - compression framing (see comp.h). Called by tun_rx (comp_frame)
 * and tun_tx (comp_unframe) on their own packets with their own scratch
 * buffers; no shared state, no allocation. The LZ4 and LZO counters go to
 * the calling thread's own stats, so the framing API needs no stats
 * argument. The adaptive LZO state belongs to the peer and is written by
 * tun_rx only.
 *
 * Clock: adaptive LZO reads CLOCK_MONOTONIC_COARSE (a vDSO read, no system
 * call) once per payload it might compress, as stock reads its cached `now`;
 * next to the LZO run it gates, that read is noise, and it keeps the time
 * out of the framing API.
 */
#include <errno.h>
#include <lz4.h>
#include <lzo/lzo1x.h>
#include <string.h>
#include <time.h>

#include "../core/proto.h"
#include "../core/stats.h"
#include "../core/thread.h"
#include "comp.h"

_Static_assert(COMP_LZO_WORK_LEN >= LZO1X_1_15_MEM_COMPRESS, "LZO work memory too small");
_Static_assert(COMP_SCRATCH_OUT % 64 == 0, "LZO work memory must stay aligned");

/* Counts one LZ4/LZO payload on the calling thread (comp.h); rare next to the codec. */
#define COMP_COUNT(field)							\
	do {									\
		struct thread *self_ = thread_self();				\
		if (self_)							\
			STAT_INC(self_->stats.field);				\
	} while (0)

/* Marker into byte 0, old byte 0 to the end (comp-lz4.c's "swap"). */
static uint8_t swap_in(struct pkt *p, uint8_t marker)
{
	if (unlikely(p->len == 0 || pkt_tailroom(p) < 1))
		return DROP_OVERSIZE;
	p->data[p->len] = p->data[0];
	p->data[0] = marker;
	p->len++;
	return PKT_OK;
}

static uint8_t swap_out(struct pkt *p, uint8_t *marker)
{
	if (unlikely(p->len < 2))
		return DROP_BAD_COMP;
	*marker = p->data[0];
	p->data[0] = p->data[p->len - 1];
	p->len--;
	return PKT_OK;
}

/* Compresses p's payload into scratch; true if it saved more than @min_gain bytes. */
static bool lz4_try(const struct pkt *p, uint8_t *scratch, int *out_len, uint32_t min_gain)
{
	int n;

	if (p->len < COMP_THRESHOLD)
		return false;
	n = LZ4_compress_default((const char *)p->data, (char *)scratch, (int)p->len,
				 COMP_SCRATCH_OUT);
	if (n <= 0 || (uint32_t)n + min_gain >= p->len)
		return false;
	*out_len = n;
	return true;
}

static uint8_t lz4_expand(struct pkt *p, uint32_t skip, uint8_t *scratch)
{
	uint32_t room = MIN(pkt_data_room(p), (uint32_t)COMP_SCRATCH_OUT);
	int n;

	n = LZ4_decompress_safe((const char *)p->data + skip, (char *)scratch,
				(int)(p->len - skip), (int)room);
	if (n <= 0)
		return DROP_BAD_COMP;
	p->data = p->buf + PKT_HEADROOM;
	memcpy(p->data, scratch, (size_t)n);
	p->len = (uint32_t)n;
	COMP_COUNT(lz4_decompressed);
	return PKT_OK;
}

/* ---- LZO (stock lzo.c) ---- */

int comp_global_init(void)
{
	return lzo_init() == LZO_E_OK ? 0 : -EIO;
}

bool comp_adapt_allow(struct comp_adapt *ac, int64_t now_s)
{
	if (!ac->is_off) {
		if (now_s >= ac->next_s) {
			/* Less than 5% saved on a sample big enough to tell: pause. */
			if (ac->n_total > COMP_AC_MIN_BYTES &&
			    ac->n_total - ac->n_comp < ac->n_total / (100 / COMP_AC_SAVE_PCT)) {
				ac->is_off = true;
				ac->next_s = now_s + COMP_AC_OFF_SEC;
			} else {
				ac->next_s = now_s + COMP_AC_SAMPLE_SEC;
			}
			ac->n_total = ac->n_comp = 0;
		}
	} else if (now_s >= ac->next_s) {
		ac->next_s = now_s + COMP_AC_SAMPLE_SEC;
		ac->n_total = ac->n_comp = 0;
		ac->is_off = false;
	}
	return !ac->is_off;
}

void comp_adapt_account(struct comp_adapt *ac, uint32_t n_total, uint32_t n_comp)
{
	ac->n_total += n_total;
	ac->n_comp += n_comp;
}

static int64_t coarse_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/* Whether this payload gets an LZO attempt (lzo_compression_enabled + threshold). */
static bool lzo_should_try(uint8_t comp, const struct pkt *p, struct comp_adapt *ac)
{
	if (!(comp & COMP_F_COMPRESS) || p->len < COMP_THRESHOLD || p->len > COMP_IN_MAX)
		return false;
	if (!(comp & COMP_F_ADAPTIVE) || !ac)
		return true;
	return comp_adapt_allow(ac, coarse_now_s());
}

/* lzo_compress: 0x66 + LZO1X when that is shorter, else 0xFA + the payload. */
static uint8_t lzo_frame(uint8_t comp, struct pkt *p, uint8_t *scratch, struct comp_adapt *ac)
{
	lzo_uint zlen = 0;
	uint8_t *h;

	if (lzo_should_try(comp, p, ac) &&
	    lzo1x_1_15_compress(p->data, p->len, scratch, &zlen,
				scratch + COMP_SCRATCH_OUT) == LZO_E_OK) {
		if ((comp & COMP_F_ADAPTIVE) && ac)
			comp_adapt_account(ac, p->len, (uint32_t)zlen);
		if (zlen < p->len) {
			memcpy(p->data, scratch, zlen);
			p->len = (uint32_t)zlen;
			h = pkt_push(p, 1);
			if (!h)
				return DROP_OVERSIZE;
			h[0] = COMP_LZO_BYTE;
			COMP_COUNT(lzo_compressed);
			return PKT_OK;
		}
	}
	h = pkt_push(p, 1);
	if (!h)
		return DROP_OVERSIZE;
	h[0] = COMP_NO_COMPRESS_BYTE;
	return PKT_OK;
}

/* lzo_decompress of a 0x66 payload; anything malformed is refused, never overrun. */
static uint8_t lzo_expand(struct pkt *p, uint8_t *scratch)
{
	lzo_uint n = MIN(pkt_data_room(p), (uint32_t)COMP_SCRATCH_OUT);

	if (lzo1x_decompress_safe(p->data + 1, p->len - 1, scratch, &n, NULL) != LZO_E_OK ||
	    n == 0)
		return DROP_BAD_COMP;
	p->data = p->buf + PKT_HEADROOM;
	memcpy(p->data, scratch, n);
	p->len = (uint32_t)n;
	COMP_COUNT(lzo_decompressed);
	return PKT_OK;
}

static uint8_t lzo_unframe(uint8_t comp, struct pkt *p, uint8_t *scratch)
{
	if (p->len < 1)
		return DROP_BAD_COMP;
	if (p->data[0] == COMP_NO_COMPRESS_BYTE) {
		pkt_pull(p, 1);
		return PKT_OK;
	}
	if (p->data[0] == COMP_LZO_BYTE && (comp & COMP_F_DECOMPRESS))
		return lzo_expand(p, scratch);
	return DROP_BAD_COMP;
}

/* ---- LZ4 v2 framing ---- */

static uint8_t frame_v2(uint8_t comp, struct pkt *p, uint8_t *scratch)
{
	int n;
	uint8_t *h;

	if ((comp & COMP_MODE_MASK) == COMP_MODE_LZ4_V2 && (comp & COMP_F_COMPRESS) &&
	    lz4_try(p, scratch, &n, 2)) {
		memcpy(p->data, scratch, (size_t)n);
		p->len = (uint32_t)n;
		h = pkt_push(p, 2);
		if (!h)
			return DROP_OVERSIZE;
		h[0] = COMP_V2_ESC;
		h[1] = COMP_V2_LZ4;
		COMP_COUNT(lz4_compressed);
		return PKT_OK;
	}
	/* Escape only a payload that would read as a v2 header. */
	if (p->len && p->data[0] == COMP_V2_ESC) {
		h = pkt_push(p, 2);
		if (!h)
			return DROP_OVERSIZE;
		h[0] = COMP_V2_ESC;
		h[1] = COMP_V2_NONE;
	}
	return PKT_OK;
}

uint8_t comp_frame(uint8_t comp, struct pkt *p, uint8_t *scratch, struct comp_adapt *ac)
{
	uint8_t *h;
	int n;

	switch (comp & COMP_MODE_MASK) {
	case COMP_MODE_NONE:
		return PKT_OK;
	case COMP_MODE_LZO_STUB:
		h = pkt_push(p, 1);
		if (!h)
			return DROP_OVERSIZE;
		h[0] = COMP_NO_COMPRESS_BYTE;
		return PKT_OK;
	case COMP_MODE_LZO:
		return lzo_frame(comp, p, scratch, ac);
	case COMP_MODE_STUB:
		return swap_in(p, COMP_NO_COMPRESS_SWAP);
	case COMP_MODE_LZ4:
		if ((comp & COMP_F_COMPRESS) && lz4_try(p, scratch, &n, 0)) {
			memcpy(p->data, scratch, (size_t)n);
			p->len = (uint32_t)n;
			if (swap_in(p, COMP_LZ4_SWAP) != PKT_OK)
				return DROP_OVERSIZE;
			COMP_COUNT(lz4_compressed);
			return PKT_OK;
		}
		return swap_in(p, COMP_NO_COMPRESS_SWAP);
	case COMP_MODE_STUB_V2:
	case COMP_MODE_LZ4_V2:
		return frame_v2(comp, p, scratch);
	default:
		return DROP_BAD_COMP;
	}
}

static uint8_t unframe_v2(uint8_t comp, struct pkt *p, uint8_t *scratch)
{
	if (p->len == 0 || p->data[0] != COMP_V2_ESC)
		return PKT_OK;
	if (p->len < 2)
		return DROP_BAD_COMP;
	switch (p->data[1]) {
	case COMP_V2_NONE:
		pkt_pull(p, 2);
		return PKT_OK;
	case COMP_V2_LZ4:
		if (!(comp & COMP_F_DECOMPRESS))
			return DROP_BAD_COMP;
		return lz4_expand(p, 2, scratch);
	default:
		return DROP_BAD_COMP;	/* 0x02 LZO, 0x03 Snappy: never sent by 2.6 */
	}
}

uint8_t comp_unframe(uint8_t comp, struct pkt *p, uint8_t *scratch)
{
	uint8_t marker, v;

	switch (comp & COMP_MODE_MASK) {
	case COMP_MODE_NONE:
		return PKT_OK;
	case COMP_MODE_LZO_STUB:
		if (p->len < 1 || p->data[0] != COMP_NO_COMPRESS_BYTE)
			return DROP_BAD_COMP;	/* 0x66 is LZO: not in comp-lzo no */
		pkt_pull(p, 1);
		return PKT_OK;
	case COMP_MODE_LZO:
		return lzo_unframe(comp, p, scratch);
	case COMP_MODE_STUB:
	case COMP_MODE_LZ4:
		v = swap_out(p, &marker);
		if (v != PKT_OK)
			return v;
		if (marker == COMP_NO_COMPRESS_SWAP)
			return PKT_OK;
		if (marker == COMP_LZ4_SWAP && (comp & COMP_F_DECOMPRESS))
			return lz4_expand(p, 0, scratch);
		return DROP_BAD_COMP;
	case COMP_MODE_STUB_V2:
	case COMP_MODE_LZ4_V2:
		return unframe_v2(comp, p, scratch);
	default:
		return DROP_BAD_COMP;
	}
}
