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
 *   STUB        0xFB swap                   -                      0xFB swap, 0x69 LZ4 swap
 *   STUB_V2     0x50 0x00 escape if needed  -                      escape, 0x50 0x01 LZ4
 *   LZ4         0xFB swap                   0x69 swap              as STUB
 *   LZ4_V2      escape if needed            0x50 0x01 + LZ4        as STUB_V2
 * "swap": the marker replaces byte 0, which moves to the end (length + 1).
 * LZ4 is decompressed only when allowed (allow-compression != no) and sent
 * compressed only when allow-compression yes (VORACLE: it leaks lengths).
 *
 * Counters: each payload actually sent LZ4-compressed counts lz4_compressed,
 * each one expanded counts lz4_decompressed, in the stats of the calling
 * thread's struct thread (thread_self(): tun_rx and tun_tx, so the status
 * file says tun_rx.lz4_compressed and tun_tx.lz4_decompressed). Plain
 * per-thread increments, no atomics; a caller that is not a struct thread
 * (a test, a fuzzer) counts nowhere.
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
};

/* peer->comp flag bits beside the mode (low 4 bits). */
#define COMP_F_COMPRESS		0x10	/* compress outgoing packets (allow-compression yes) */
#define COMP_F_DECOMPRESS	0x20	/* accept compressed packets (allow-compression != no) */
#define COMP_MODE_MASK		0x0f

/* Payloads shorter than this are never compressed (OpenVPN's COMPRESS_THRESHOLD). */
#define COMP_THRESHOLD		100
/* Scratch space a caller provides: one payload plus LZ4's worst-case growth. */
#define COMP_SCRATCH_LEN	(PKT_MTU_DATA + PKT_MTU_DATA / 255 + 16)

/*
 * tun_rx: frames @p in place for @comp (mode | flags). Uses @scratch
 * (COMP_SCRATCH_LEN bytes, owned by the calling thread) when compressing.
 * Returns PKT_OK or a drop reason (no headroom/tailroom). Borrows @p.
 */
uint8_t comp_frame(uint8_t comp, struct pkt *p, uint8_t *scratch);
/*
 * tun_tx: removes the framing of a received payload in place. Returns
 * PKT_OK or DROP_BAD_COMP (unknown marker, LZO, LZ4 not allowed or corrupt,
 * result larger than the packet room). Borrows @p.
 */
uint8_t comp_unframe(uint8_t comp, struct pkt *p, uint8_t *scratch);

#endif
