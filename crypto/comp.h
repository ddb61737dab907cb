/*
 * comp.h - OpenVPN compression framing of data-channel payloads
 * (openvpn-wire.md §8). The framing is chosen once per peer from the
 * configured/pushed compression option (both ends must agree; it cannot be
 * detected on the wire) and applied by tun_rx before encryption and removed
 * by tun_tx after the replay check. Pings and OCC messages are framed too.
 *
 *   mode        send (uncompressed)         send (compressed)      receive accepts
 *   NONE        payload                     -                      payload
 *   LZO_STUB    0xFA payload                -                      0xFA (0x66 LZO: dropped)
 *   LZO         0xFA payload                0x66 + LZO1X           0xFA, 0x66 LZO1X
 *   STUB        0xFB swap                   -                      0xFB swap, 0x69 LZ4 swap
 *   STUB_V2     0x50 0x00 escape if needed  -                      escape, 0x50 0x01 LZ4
 *   LZ4         0xFB swap                   0x69 swap              as STUB
 *   LZ4_V2      escape if needed            0x50 0x01 + LZ4        as STUB_V2
 * "swap": the marker replaces byte 0, which moves to the end (length + 1).
 * LZ4 and LZO are decompressed only when allowed (allow-compression != no)
 * and sent compressed only when allow-compression yes (VORACLE: it leaks
 * lengths), as 2.6 does.
 *
 * LZO is stock's lzo.c over Debian's liblzo2: lzo1x_1_15_compress for
 * payloads of COMP_THRESHOLD bytes and more, kept only when it came out
 * shorter, and lzo1x_decompress_safe (bounds-checked: hostile input fails,
 * it never writes past the scratch). With COMP_F_ADAPTIVE (`comp-lzo` or
 * `comp-lzo adaptive`), stock's adaptive heuristic decides per peer whether
 * to try at all: compression starts on; every COMP_AC_SAMPLE_SEC seconds the
 * bytes offered and what they compressed to are compared, and a sample of
 * more than COMP_AC_MIN_BYTES that saved less than COMP_AC_SAVE_PCT percent
 * turns compression off for COMP_AC_OFF_SEC seconds, after which sampling
 * starts again with compression on (lzo_adaptive_compress_test).
 *
 * Counters: each payload actually sent LZ4- (LZO-) compressed counts
 * lz4_compressed (lzo_compressed), each one expanded counts lz4_decompressed
 * (lzo_decompressed), in the stats of the calling thread's struct thread
 * (thread_self(): tun_rx and tun_tx, so the status file says
 * tun_rx.lzo_compressed and tun_tx.lzo_decompressed). Plain per-thread
 * increments, no atomics; a caller that is not a struct thread (a test, a
 * fuzzer) counts nowhere.
 */
#ifndef SLUICE_COMP_H
#define SLUICE_COMP_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/pkt.h"

enum comp_mode {
	COMP_MODE_NONE = 0,
	COMP_MODE_LZO_STUB,
	COMP_MODE_STUB,
	COMP_MODE_STUB_V2,
	COMP_MODE_LZ4,
	COMP_MODE_LZ4_V2,
	COMP_MODE_LZO,
};

/* peer->comp flag bits beside the mode (low 4 bits). */
#define COMP_F_COMPRESS		0x10	/* compress outgoing packets (allow-compression yes) */
#define COMP_F_DECOMPRESS	0x20	/* accept compressed packets (allow-compression != no) */
#define COMP_F_ADAPTIVE		0x40	/* LZO: stock's adaptive compression (comp-lzo [adaptive]) */
#define COMP_MODE_MASK		0x0f

/* Payloads shorter than this are never compressed (OpenVPN's COMPRESS_THRESHOLD). */
#define COMP_THRESHOLD		100
/* Payloads longer than this are sent uncompressed: the scratch holds no more. */
#define COMP_IN_MAX		PKT_MTU_DATA
/*
 * Output room in the scratch: a payload plus the worst-case growth of LZ4
 * (n / 255 + 16) and of LZO1X (n / 16 + 64 + 3), rounded up to a cache line
 * so the LZO work memory after it is aligned.
 */
#define COMP_SCRATCH_OUT	((COMP_IN_MAX + COMP_IN_MAX / 16 + 64 + 3 + 63) & ~63)
/* LZO1X_1_15_MEM_COMPRESS on 64-bit (32768 dictionary pointers; comp.c asserts it). */
#define COMP_LZO_WORK_LEN	(32768 * 8)
/* Scratch space a caller provides: the output room, then LZO's work memory. */
#define COMP_SCRATCH_LEN	(COMP_SCRATCH_OUT + COMP_LZO_WORK_LEN)

/* Stock's adaptive LZO constants (lzo.h AC_*). */
#define COMP_AC_SAMPLE_SEC	2	/* length of one sample */
#define COMP_AC_MIN_BYTES	1000	/* a sample smaller than this decides nothing */
#define COMP_AC_SAVE_PCT	5	/* it must save at least this much ... */
#define COMP_AC_OFF_SEC		60	/* ... or compression pauses this long */

/*
 * Adaptive LZO state of one peer's outgoing packets (stock's struct
 * lzo_adaptive_compress). Zeroed = compression on, first sample due.
 * Written by the one thread that frames the peer's packets (tun_rx).
 */
struct comp_adapt {
	int64_t next_s;		/* end of the current sample or pause (monotonic s) */
	uint32_t n_total;	/* bytes offered to LZO in this sample */
	uint32_t n_comp;	/* what they compressed to */
	bool is_off;		/* paused: the last sample saved too little */
};

/* Calls lzo_init() once at start-up (ctrl, before any data thread). 0 or -EIO. */
int comp_global_init(void);

/*
 * tun_rx: frames @p in place for @comp (mode | flags). Uses @scratch
 * (COMP_SCRATCH_LEN bytes, owned by the calling thread) when compressing,
 * and @ac (the peer's adaptive state, may be NULL: always try) with
 * COMP_F_ADAPTIVE. Returns PKT_OK or a drop reason (no headroom/tailroom).
 * Borrows @p.
 */
uint8_t comp_frame(uint8_t comp, struct pkt *p, uint8_t *scratch, struct comp_adapt *ac);
/*
 * tun_tx: removes the framing of a received payload in place. Returns
 * PKT_OK or DROP_BAD_COMP (unknown marker, LZO in the stub modes, LZ4 or LZO
 * not allowed or corrupt, result larger than the packet room). Borrows @p.
 */
uint8_t comp_unframe(uint8_t comp, struct pkt *p, uint8_t *scratch);

/*
 * The adaptive test at @now_s (lzo_adaptive_compress_test): true if LZO
 * should be tried for the next payload. Exposed for the unit test.
 */
bool comp_adapt_allow(struct comp_adapt *ac, int64_t now_s);
/* One LZO attempt: @n_total bytes in, @n_comp out (lzo_adaptive_compress_data). */
void comp_adapt_account(struct comp_adapt *ac, uint32_t n_total, uint32_t n_comp);

#endif
